db._useDatabase("_system");
require("@arangodb/replication").syncCollection("test", {
  endpoint: "tcp://leader.domain.org:8529",
  username: "myuser",
  password: "mypasswd"
});
