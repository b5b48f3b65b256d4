db._useDatabase("_system");
require("@arangodb/replication").applier.start("40694126");
