// After the syncCollection snippets: the follower's `test` equals the leader's.
var internal = require("internal");
var replication = require("@arangodb/replication");
// the async snippet's job (`id`) may still run: wait for its result (a fetched result is gone: 404)
for (var i = 0; i < 300; ++i) {
  var done;
  try { done = replication.getSyncResult(id) !== false; } catch (e) { done = e.errorNum === 404 || e.code === 404; }
  if (done) { break; }
  internal.sleep(0.05);
}
var follower = db.test.checksum(true, true);
var followerCount = db.test.count();
arango.reconnect("tcp://leader.domain.org:8529", "_system", "myuser", "mypasswd");
var leader = db.test.checksum(true, true);
print("test: follower " + followerCount + " documents, checksums equal: " + (leader.checksum === follower.checksum));
