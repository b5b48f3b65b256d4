require("@arangodb/replication").setupReplication(configuration);
