db._useDatabase("_system");
require("@arangodb/replication").globalApplier.start("40694126");
