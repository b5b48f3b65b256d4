    db._useDatabase("_system");
    require("@arangodb/replication").applier.state();
