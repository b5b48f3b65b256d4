// After the server-level page's sync snippets: the follower has the leader's databases, and not its own;
// a database created on the leader and one dropped there follow with the next syncGlobal.
var internal = require("internal");
var replication = require("@arangodb/replication");
function waitFor(what, check) {
  for (var i = 0; i < 300; ++i) {
    if (check()) { return; }
    internal.sleep(0.05);
  }
  throw new Error("timed out waiting for " + what);
}
function has(name) { return db._databases().indexOf(name) !== -1; }
db._useDatabase("_system");
waitFor("the leader's database on the follower", function () {
  if (!has("tenant") || has("stale")) { return false; }
  db._useDatabase("tenant");
  var c = db._collection("orders");
  var done = c !== null && c.count() === 3;
  db._useDatabase("_system");
  return done;
});
waitFor("the async sync to end", function () {
  return replication.globalApplier.state().state.phase === "inactive";
});
print("follower databases: " + JSON.stringify(db._databases().sort()));
var props = replication.globalApplier.properties();
print("global applier endpoint: " + props.endpoint + ", password shown: " + (JSON.stringify(props).indexOf("mypasswd") !== -1));

arango.reconnect("tcp://leader.domain.org:8529", "_system", "root", "");
db._createDatabase("tenant2");
db._useDatabase("tenant2");
db._create("items").insert({ _key: "i1" });
db._useDatabase("_system");
db._dropDatabase("tenant");

arango.reconnect("tcp://follower.domain.org:8530", "_system", "root", "");
var r = replication.syncGlobal({ endpoint: "tcp://leader.domain.org:8529", username: "myuser", password: "mypasswd" });
print("second syncGlobal up to tick " + r.lastLogTick);
print("follower databases after: " + JSON.stringify(db._databases().sort()));
db._useDatabase("tenant2");
print("tenant2 items: " + db.items.count());
