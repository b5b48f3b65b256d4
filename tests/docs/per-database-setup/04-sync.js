db._useDatabase("_system");
require("@arangodb/replication").sync({
  endpoint: "tcp://leader.domain.org:8529",
  username: "myuser",
  password: "mypasswd",
  verbose: false
});
