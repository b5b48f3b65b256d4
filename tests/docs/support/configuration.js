// The page's first block calls setupReplication(configuration); this is the configuration it describes.
var configuration = {
  endpoint: "tcp://leader.domain.org:8529",
  username: "myuser",
  password: "mypasswd"
};
