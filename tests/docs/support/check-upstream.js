// With `arangorepl demo --follower proxy`, after the page's snippets and check-follows.js: the data is in
// the server behind the proxy, read there directly; that server has no applier of its own.
var internal = require("internal");
arango.reconnect("tcp://upstream.domain.org:8531", "_system", "root", "");
print("upstream version: " + db._version());
var r = arango.GET_RAW("/_api/replication/applier-state");
print("upstream applier-state: HTTP " + r.code);
arango.reconnect("tcp://leader.domain.org:8529", "_system", "myuser", "mypasswd");
db.test.insert({ _key: "read-upstream" });
var leaderCount = db.test.count();
arango.reconnect("tcp://upstream.domain.org:8531", "_system", "root", "");
for (var i = 0; i < 300 && db.test.exists("read-upstream") === false; ++i) {
  internal.sleep(0.05);
}
print("upstream has read-upstream: " + (db.test.exists("read-upstream") !== false));
print("upstream test count: " + db.test.count() + " (leader " + leaderCount + ")");
print("upstream written_after_setup: " + db.written_after_setup.count() + " documents");
