db._useDatabase("_system");
require("@arangodb/replication").syncGlobal({
  endpoint: "tcp://leader.domain.org:8529",
  username: "myuser",
  password: "mypasswd",
  verbose: false
});
