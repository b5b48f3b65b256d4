// After the page's snippets: the applier runs, and a write on the leader reaches the follower.
var internal = require("internal");
var replication = require("@arangodb/replication");
function waitFor(what, check) {
  for (var i = 0; i < 300; ++i) {
    if (check()) { return; }
    internal.sleep(0.05);
  }
  throw new Error("timed out waiting for " + what);
}
waitFor("the applier to run", function () { return replication.applier.state().state.running; });
var state = replication.applier.state().state;
print("applier running: " + state.running + ", lastError: " + state.lastError.errorNum);

arango.reconnect("tcp://leader.domain.org:8529", "_system", "myuser", "mypasswd");
db._create("written_after_setup");
db.written_after_setup.insert([{ _key: "a", n: 1 }, { _key: "b", n: 2 }]);
db.test.insert({ _key: "written-on-the-leader" });
var leaderCount = db.test.count();

arango.reconnect("tcp://follower.domain.org:8530", "_system", "root", "");
waitFor("the follower to have the new data", function () {
  var c = db._collection("written_after_setup");
  return c !== null && c.count() === 2 && db.test.exists("written-on-the-leader") !== false;
});
print("follower has written_after_setup: " + db.written_after_setup.count() + " documents");
print("follower test count: " + db.test.count() + " (leader " + leaderCount + ")");
