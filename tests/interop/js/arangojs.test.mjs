// arangojs (the official JavaScript driver) against a real `arangorepl serve`.
// scripts/interop.sh starts the server and passes its URL in ARANGOREPL_LEADER (root password in
// ARANGOREPL_PASSWORD). Every test goes through the driver's public API only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Database } from "arangojs";

const url = process.env.ARANGOREPL_LEADER;
const auth = { username: "root", password: process.env.ARANGOREPL_PASSWORD ?? "pw" };
const system = new Database({ url, auth });

const unique = (prefix) => `${prefix}_${randomUUID().slice(0, 8)}`;

async function withDatabase(fn) {
  const name = unique("js");
  const db = await system.createDatabase(name);
  try {
    await fn(db);
  } finally {
    await system.dropDatabase(name);
  }
}

async function rejectsWith(promise, errorNum, code) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.errorNum, errorNum, String(e));
    if (code !== undefined) assert.equal(e.code, code, String(e));
    return true;
  });
}

test("databases", async () => {
  const name = unique("js");
  const db = await system.createDatabase(name);
  assert.ok((await system.listDatabases()).includes(name));
  assert.equal(await db.exists(), true);
  const info = await db.get();
  assert.equal(info.name, name);
  assert.equal(info.isSystem, false);
  assert.equal(await system.dropDatabase(name), true);
  assert.equal(await db.exists(), false);
  // a database that does not exist: root hears so; a user without access gets 401 / 11
  await rejectsWith(system.database(unique("missing")).listCollections(), 1228, 404);
  const user = unique("user");
  await system.createUser(user, { passwd: "pw2" });
  const stranger = new Database({ url, databaseName: unique("missing"), auth: { username: user, password: "pw2" } });
  await rejectsWith(stranger.listCollections(), 11, 401);
  await system.removeUser(user);
});

test("collections", async () => {
  await withDatabase(async (db) => {
    const col = await db.createCollection("things", { waitForSync: false });
    const names = (await db.listCollections(false)).map((c) => c.name);
    assert.ok(names.includes("things") && names.includes("_graphs"));
    assert.equal((await col.properties()).waitForSync, false);
    assert.equal((await col.properties({ waitForSync: true })).waitForSync, true);
    await col.saveAll(Array.from({ length: 10 }, (_, i) => ({ _key: String(i) })));
    assert.equal((await col.count()).count, 10);
    assert.equal(typeof (await col.revision()).revision, "string");
    assert.equal(typeof (await col.checksum()).checksum, "string");
    assert.equal((await col.figures()).name, "things");
    assert.equal((await col.compact()).name, "things");
    assert.equal(await col.recalculateCount(), true);
    await col.rename("renamed");
    assert.equal(await db.collection("renamed").exists(), true);
    assert.equal(await db.collection("things").exists(), false);
    await col.truncate();
    assert.equal((await col.count()).count, 0);
    await col.drop();
    assert.equal(await col.exists(), false);
    const edges = await db.createEdgeCollection("edges");
    assert.equal((await edges.get()).type, 3);
  });
});

test("documents", async () => {
  await withDatabase(async (db) => {
    const col = await db.createCollection("c");
    const meta = await col.save({ _key: "a", v: 1 }, { returnNew: true });
    assert.equal(meta.new.v, 1);
    assert.equal((await col.document("a")).v, 1);
    assert.equal((await col.document("c/a")).v, 1);
    assert.equal((await col.document({ _key: "a" })).v, 1);
    assert.equal(await col.documentExists("a"), true);
    assert.equal(await col.documentExists("zz"), false);
    assert.equal(await col.document("zz", { graceful: true }), null);
    const many = await col.saveAll([{ _key: "b" }, { _key: "a" }, { _key: "d" }]);
    assert.equal(many[1].error, true);
    assert.equal(many[1].errorNum, 1210);
    assert.deepEqual((await col.documents(["a", "b", "d"])).map((d) => d._key), ["a", "b", "d"]);
    await col.update("a", { w: 2 });
    assert.deepEqual([(await col.document("a")).v, (await col.document("a")).w], [1, 2]);
    await col.replace("a", { z: 3 });
    assert.equal((await col.document("a")).v, undefined);
    await col.updateAll([{ _key: "b", u: 1 }, { _key: "d", u: 2 }]);
    assert.equal((await col.document("d")).u, 2);
    await col.replaceAll([{ _key: "b", r: 1 }]);
    assert.equal((await col.document("b")).u, undefined);
    await col.save({ _key: "a", o: 1 }, { overwriteMode: "update" });
    assert.equal((await col.document("a")).o, 1);
    const old = await col.document("a");
    await col.update("a", { p: 1 });
    await rejectsWith(col.update("a", { q: 1 }, { ifMatch: old._rev }), 1200, 412);
    await col.remove("a");
    assert.equal(await col.documentExists("a"), false);
    await col.removeAll(["b", "d"]);
    assert.equal((await col.count()).count, 0);
    await rejectsWith(col.save({ _key: "bad key" }), 1221, 400);
  });
});

test("import", async () => {
  await withDatabase(async (db) => {
    const col = await db.createCollection("c");
    let r = await col.import([{ _key: "x", v: 1 }, { _key: "y" }], { details: true });
    assert.equal(r.created, 2);
    r = await col.import([{ _key: "x", v: 2 }, { _key: "z" }], { onDuplicate: "update" });
    assert.deepEqual([r.updated, r.created], [1, 1]);
    assert.equal((await col.document("x")).v, 2);
    // the list form: attribute names first
    r = await col.import([["_key", "v"], ["l1", 1], ["l2", 2]]);
    assert.equal(r.created, 2);
    assert.equal((await col.document("l2")).v, 2);
    // a buffer of lines
    r = await col.import(Buffer.from('{"_key":"b1"}\n\n{"_key":"b2"}\n'), { type: "documents" });
    assert.deepEqual([r.created, r.empty], [2, 1]);
    r = await col.import([{ _key: "x" }, { _key: "w" }], { details: true });
    assert.deepEqual([r.errors, r.created], [1, 1]);
    assert.match(r.details[0], /unique constraint violated/);
    await rejectsWith(col.import([{ _key: "new" }, { _key: "x" }], { complete: true }), 1210, 409);
    assert.equal(await col.documentExists("new"), false);
    r = await col.import([{ _key: "only" }], { overwrite: true });
    assert.equal((await col.count()).count, 1);
  });
});

test("indexes", async () => {
  await withDatabase(async (db) => {
    const col = await db.createCollection("c");
    await col.saveAll(Array.from({ length: 20 }, (_, i) => ({ u: i, h: i % 2 })));
    const u = await col.ensureIndex({ type: "persistent", fields: ["u"], unique: true });
    assert.equal(u.isNewlyCreated, true);
    assert.equal((await col.ensureIndex({ type: "persistent", fields: ["u"], unique: true })).isNewlyCreated, false);
    const h = await col.ensureIndex({ type: "persistent", fields: ["h"], name: "halves" });
    const list = await col.indexes();
    assert.deepEqual(list.map((i) => i.type), ["primary", "persistent", "persistent"]);
    assert.deepEqual(list.map((i) => i.selectivityEstimate), [1, 1, 0.1]);
    assert.equal((await col.index("halves")).id, h.id);
    await col.dropIndex(h.id);
    assert.equal((await col.indexes()).length, 2);
    await rejectsWith(col.save({ u: 1 }), 1210, 409);
  });
});

test("users", async () => {
  await withDatabase(async (db) => {
    const name = unique("user");
    const user = await system.createUser(name, { passwd: "secret", extra: { team: "a" } });
    assert.equal(user.user, name);
    assert.deepEqual((await system.getUser(name)).extra, { team: "a" });
    assert.ok((await system.listUsers()).some((u) => u.user === name));
    assert.equal((await system.updateUser(name, { active: false })).active, false);
    assert.deepEqual((await system.replaceUser(name, { passwd: "other", extra: { team: "b" } })).extra, { team: "b" });
    await db.createCollection("perm");
    await system.setUserAccessLevel(name, { database: db.name }, "ro");
    assert.equal(await system.getUserAccessLevel(name, { database: db.name }), "ro");
    await system.setUserAccessLevel(name, { database: db.name, collection: "perm" }, "rw");
    assert.equal(await system.getUserAccessLevel(name, { database: db.name, collection: "perm" }), "rw");
    const full = await system.getUserDatabases(name, true);
    assert.equal(full[db.name].permission, "ro");
    assert.equal(full[db.name].collections.perm, "rw");
    await system.clearUserAccessLevel(name, { database: db.name, collection: "perm" });
    assert.equal(await system.getUserAccessLevel(name, { database: db.name, collection: "perm" }), "ro");
    await system.removeUser(name);
    await rejectsWith(system.getUser(name), 1703, 404);
  });
});

// in _system: arangojs lists transactions without a database prefix, i.e. those of _system
test("stream transactions", async () => {
  const db = system;
  const col = await db.createCollection(unique("trx"));
  try {
    const trx = await db.beginTransaction({ write: col });
    await trx.step(() => col.save({ _key: "t1" }));
    assert.equal(await col.documentExists("t1"), false);
    assert.deepEqual((await db.listTransactions()).map((t) => t.id), [trx.id]);
    assert.equal((await trx.commit()).status, "committed");
    assert.equal(await col.documentExists("t1"), true);
    const t2 = await db.beginTransaction({ write: [col] });
    await t2.step(() => col.save({ _key: "t2" }));
    assert.equal((await t2.abort()).status, "aborted");
    assert.equal(await col.documentExists("t2"), false);
    assert.deepEqual(await db.listTransactions(), []);
    const t3 = await db.beginTransaction({ write: [col] });
    await rejectsWith(t3.step(() => col.save({ _key: "t1" })), 1210, 409);
    await t3.abort();
  } finally {
    await col.drop();
  }
});

test("administration", async () => {
  const v = await system.version(true);
  assert.equal(v.server, "arango");
  assert.equal(v.details.role, "SINGLE");
  assert.equal((await system.engine()).name, "rocksdb");
  assert.ok((await system.time()) > 1.7e9);
  assert.equal((await system.status()).serverInfo.role, "SINGLE");
  assert.equal(await system.availability(), "default");
  const levels = await system.getLogLevel();
  assert.ok("replication" in levels);
  assert.equal((await system.setLogLevel({ replication: "debug" })).replication, "DEBUG");
  await system.setLogLevel({ replication: levels.replication });
  assert.ok(Array.isArray((await system.getLogEntries({ upto: "info" })).messages));
  assert.equal((await system.getLicense()).license, "none");
  assert.deepEqual(await system.listViews(), []);
  await rejectsWith(system.view("none").get(), 1203, 404);
  await rejectsWith(system.createView("v", { type: "arangosearch" }), 9, 501);
  // replication endpoints through the driver's generic route
  const state = await system.route("/_api/replication/logger-state").get();
  assert.equal(state.parsedBody.state.running, true);
});

test("aql", async () => {
  await withDatabase(async (db) => {
    const { aql } = await import("arangojs");
    const col = await db.createCollection("people");
    await col.saveAll(Array.from({ length: 30 }, (_, i) => ({ _key: `p${i}`, age: 20 + (i % 10), name: `n${i}` })));
    // the aql template binds values and the collection
    const min = 25;
    let cursor = await db.query(aql`FOR p IN ${col} FILTER p.age >= ${min} SORT p.age DESC, p._key RETURN p.name`, { batchSize: 4, count: true });
    assert.equal(cursor.count, 15);
    const names = await cursor.all();
    assert.equal(names.length, 15);
    assert.equal(names[0], "n19");
    cursor = await db.query("FOR p IN people COLLECT age = p.age WITH COUNT INTO n SORT age LIMIT 2 RETURN { age, n }");
    assert.deepEqual(await cursor.all(), [{ age: 20, n: 3 }, { age: 21, n: 3 }]);
    cursor = await db.query("FOR p IN people SORT p._key LIMIT 1, 2 RETURN p._key", {}, { fullCount: true });
    assert.deepEqual(await cursor.all(), ["p1", "p10"]);
    assert.equal(cursor.extra.stats.fullCount, 30);
    // a cursor left open can be killed
    cursor = await db.query("FOR i IN 1..100 RETURN i", {}, { batchSize: 10 });
    assert.equal(cursor.hasNext, true);
    await cursor.kill();
    await rejectsWith(db.query("FOR p IN people RETURN MISSING_FN(p)"), 1540, 404);
    await rejectsWith(db.query("FOR p IN people FILTER RETURN p"), 1501, 400);
    await rejectsWith(db.query(aql`FOR p IN nowhere RETURN p`), 1203, 404);
    const parsed = await db.parse("FOR p IN people FILTER p.age == @a RETURN p");
    assert.deepEqual(parsed.collections, ["people"]);
    assert.deepEqual(parsed.bindVars, ["a"]);
    // writes with NEW, found through a persistent index; a query in a stream transaction; a failed
    // query changes nothing
    await col.ensureIndex({ type: "persistent", fields: ["age"] });
    cursor = await db.query(aql`FOR p IN ${col} FILTER p.age == 29 UPDATE p WITH { senior: true } IN ${col} RETURN NEW.senior`);
    assert.deepEqual(await cursor.all(), [true, true, true]);
    assert.equal(cursor.extra.stats.writesExecuted, 3);
    assert.equal(cursor.extra.stats.scannedFull, 0);
    const trx = await db.beginTransaction({ write: [col] });
    await trx.step(() => db.query(aql`INSERT { _key: "t1" } INTO ${col}`));
    assert.equal(await col.documentExists("t1"), false);
    await trx.commit();
    assert.equal(await col.documentExists("t1"), true);
    await rejectsWith(db.query(aql`FOR k IN ["p1", "nope"] REMOVE k IN ${col}`), 1202, 404);
    assert.equal(await col.documentExists("p1"), true);
  });
});
