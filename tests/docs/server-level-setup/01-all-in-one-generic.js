require("@arangodb/replication").setupReplicationGlobal(configuration);
