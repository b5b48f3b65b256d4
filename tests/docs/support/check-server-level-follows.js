// After the whole server-level page: the server-level applier runs (the page's last start), the follower
// has the leader's databases; a database created on the leader with a collection and documents appears
// on the follower, and a dropped one disappears, without another syncGlobal.
var internal = require("internal");
var replication = require("@arangodb/replication");
function waitFor(what, check) {
  for (var i = 0; i < 600; ++i) {
    if (check()) { return; }
    internal.sleep(0.05);
  }
  throw new Error("timed out waiting for " + what + ": " + JSON.stringify(replication.globalApplier.state()));
}
function has(name) { return db._databases().indexOf(name) !== -1; }
// -1 while the database or collection is not there (the page's start from an old tick replays the
// leader's log, which drops and creates its databases again on the way)
function count(dbName, coll) {
  var n = -1;
  try {
    db._useDatabase(dbName);
    var c = db._collection(coll);
    n = c === null ? -1 : c.count();
  } catch (e) {
    n = -1;
  }
  db._useDatabase("_system");
  return n;
}
db._useDatabase("_system");
waitFor("the leader's databases on the follower", function () {
  return has("tenant") && !has("stale") && count("tenant", "orders") === 3;
});
var state = replication.globalApplier.state().state;
print("global applier running: " + state.running + ", lastError: " + state.lastError.errorNum);

arango.reconnect("tcp://leader.domain.org:8529", "_system", "root", "");
db._createDatabase("tenant3");
db._useDatabase("tenant3");
db._create("invoices");
var docs = [];
for (var i = 0; i < 1000; ++i) { docs.push({ _key: "inv" + i, amount: i }); }
db.invoices.insert(docs);
db._useDatabase("_system");
db._dropDatabase("tenant");

arango.reconnect("tcp://follower.domain.org:8530", "_system", "root", "");
waitFor("the new database and the drop on the follower", function () {
  return has("tenant3") && !has("tenant") && count("tenant3", "invoices") === 1000;
});
print("follower databases after: " + JSON.stringify(db._databases().sort()));
print("tenant3 invoices: " + count("tenant3", "invoices"));
var props = replication.globalApplier.properties();
print("password shown: " + (JSON.stringify(props).indexOf("mypasswd") !== -1 || JSON.stringify(replication.globalApplier.state()).indexOf("mypasswd") !== -1));
replication.globalApplier.stop();
