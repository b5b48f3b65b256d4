// The page's tick "40694126" lies before the leader's first tick: with requireFromPresent: true the applier
// must stop with 1414 (start tick not present) instead of skipping what it cannot fetch.
var internal = require("internal");
var replication = require("@arangodb/replication");
replication.applier.stop();
replication.applier.properties({ requireFromPresent: true, autoResync: false });
replication.applier.start("40694126");
var state;
for (var i = 0; i < 300; ++i) {
  state = replication.applier.state().state;
  if (!state.running && state.lastError.errorNum !== 0) { break; }
  internal.sleep(0.05);
}
print("running: " + state.running + ", errorNum: " + state.lastError.errorNum);
print("message: " + state.lastError.errorMessage);
