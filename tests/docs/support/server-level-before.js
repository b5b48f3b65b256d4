// Before the server-level page's sync snippets: the leader has a database of its own, the follower one
// the leader does not have.
arango.reconnect("tcp://leader.domain.org:8529", "_system", "root", "");
db._createDatabase("tenant");
db._useDatabase("tenant");
db._create("orders");
db.orders.insert([{ _key: "o1", total: 10 }, { _key: "o2", total: 20 }, { _key: "o3", total: 30 }]);
db._useDatabase("_system");

arango.reconnect("tcp://follower.domain.org:8530", "_system", "root", "");
db._createDatabase("stale");
print("follower databases before: " + JSON.stringify(db._databases()));
