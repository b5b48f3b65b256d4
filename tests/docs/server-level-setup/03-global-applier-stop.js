db._useDatabase("_system");
require("@arangodb/replication").globalApplier.stop();
