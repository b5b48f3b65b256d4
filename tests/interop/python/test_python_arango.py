"""python-arango (the official Python driver) against two real `arangorepl serve` processes.

scripts/interop.sh starts the servers and passes their URLs in ARANGOREPL_LEADER / ARANGOREPL_FOLLOWER
(root password in ARANGOREPL_PASSWORD). Every test goes through the driver's public API only.
"""

import os
import time
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families
from arango import ArangoClient
from arango.exceptions import (
    AQLQueryExecuteError,
    CollectionListError,
    DocumentInsertError,
    TransactionCommitError,
    UserGetError,
    ViewGetError,
)

LEADER = os.environ["ARANGOREPL_LEADER"]
FOLLOWER = os.environ["ARANGOREPL_FOLLOWER"]
PASSWORD = os.environ.get("ARANGOREPL_PASSWORD", "pw")



def unique(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def client():
    c = ArangoClient(hosts=LEADER)
    yield c
    c.close()


@pytest.fixture(scope="module")
def sys_db(client):
    return client.db("_system", username="root", password=PASSWORD, verify=True)


@pytest.fixture()
def db(client, sys_db):
    name = unique("db")
    assert sys_db.create_database(name) is True
    yield client.db(name, username="root", password=PASSWORD)
    sys_db.delete_database(name)


@pytest.fixture()
def col(db):
    return db.create_collection("c")


def test_databases(client, sys_db):
    name = unique("db")
    assert sys_db.create_database(name) is True
    assert sys_db.has_database(name)
    assert name in sys_db.databases()
    props = client.db(name, username="root", password=PASSWORD).properties()
    assert props["name"] == name and props["system"] is False
    assert sys_db.delete_database(name) is True
    assert not sys_db.has_database(name)
    # a database that does not exist: root hears so (404 / 1228); a user who could not access a
    # database of that name gets the answer for no access (401 / 11)
    missing = unique("missing")
    with pytest.raises(CollectionListError) as err:
        client.db(missing, username="root", password=PASSWORD).collections()
    assert err.value.http_code == 404 and err.value.error_code == 1228
    user = unique("user")
    sys_db.create_user(user, "pw2")
    with pytest.raises(CollectionListError) as err:
        client.db(missing, username=user, password="pw2").collections()
    assert err.value.http_code == 401 and err.value.error_code == 11
    sys_db.delete_user(user)


def test_collections(db):
    col = db.create_collection("things", sync=False)
    assert db.has_collection("things")
    names = [c["name"] for c in db.collections()]
    assert "things" in names and "_graphs" in names
    props = col.properties()
    assert props["name"] == "things" and props["sync"] is False
    assert col.configure(sync=True)["sync"] is True
    col.insert_many([{"_key": str(i)} for i in range(10)])
    assert col.count() == 10
    assert isinstance(col.revision(), str)
    assert isinstance(col.checksum(), str)
    assert col.info()["name"] == "things"
    assert col.compact()["name"] == "things"
    col.rename("renamed")
    assert db.has_collection("renamed") and not db.has_collection("things")
    assert col.truncate() is True
    assert col.count() == 0
    assert db.delete_collection("renamed") is True
    edges = db.create_collection("edges", edge=True)
    assert edges.properties()["edge"] is True


def test_documents(col):
    meta = col.insert({"_key": "a", "v": 1}, return_new=True)
    assert meta["_key"] == "a" and meta["new"]["v"] == 1
    assert col.get("a")["v"] == 1
    assert col.get("c/a")["v"] == 1
    assert col.get({"_key": "a"})["v"] == 1
    assert col.has("a") and not col.has("zz")
    assert col["a"]["v"] == 1
    results = col.insert_many([{"_key": "b"}, {"_key": "a"}, {"_key": "d"}])
    assert isinstance(results[1], DocumentInsertError) and results[1].error_code == 1210
    assert [d["_key"] for d in col.get_many(["a", "b", "d"])] == ["a", "b", "d"]
    col.update({"_key": "a", "w": 2})
    doc = col.get("a")
    assert doc["v"] == 1 and doc["w"] == 2
    col.replace({"_key": "a", "z": 3})
    assert "v" not in col.get("a")
    col.update_many([{"_key": "b", "u": 1}, {"_key": "d", "u": 2}])
    assert col.get("d")["u"] == 2
    col.replace_many([{"_key": "b", "r": 1}])
    assert col.get("b")["r"] == 1 and "u" not in col.get("b")
    assert col.insert({"_key": "a", "o": 1}, overwrite=True)["_key"] == "a"
    assert col.get("a")["o"] == 1
    assert col.delete("a")["_key"] == "a"
    assert col.get("a") is None
    assert col.delete("a", ignore_missing=True) is False
    assert col.delete_many(["b", "d"])
    assert col.count() == 0
    with pytest.raises(DocumentInsertError) as err:
        col.insert({"_key": "bad key with spaces"})
    assert err.value.error_code == 1221


def test_import(col):
    # python-arango halts on the first error unless told otherwise (complete=true)
    result = col.import_bulk([{"_key": "x", "v": 1}, {"_key": "y"}], details=True)
    assert result["created"] == 2 and result["errors"] == 0
    result = col.import_bulk([{"_key": "x", "v": 2}, {"_key": "z"}], on_duplicate="update")
    assert result["updated"] == 1 and result["created"] == 1
    assert col.get("x")["v"] == 2
    result = col.import_bulk([{"_key": "x"}, {"_key": "q"}], on_duplicate="ignore")
    assert result["ignored"] == 1 and result["created"] == 1
    result = col.import_bulk(
        [{"_key": "x"}, {"_key": "w"}], on_duplicate="error", details=True, halt_on_error=False
    )
    assert result["errors"] == 1 and result["created"] == 1
    assert "unique constraint violated" in result["details"][0]
    with pytest.raises(DocumentInsertError) as err:
        col.import_bulk([{"_key": "new"}, {"_key": "x"}], halt_on_error=True)
    assert err.value.error_code == 1210
    assert not col.has("new")
    result = col.import_bulk([{"_key": "only"}], overwrite=True)
    assert result["created"] == 1 and col.count() == 1
    batches = col.import_bulk([{"_key": f"k{i}"} for i in range(10)], batch_size=4)
    assert sum(b["created"] for b in batches) == 10


def test_indexes(col):
    col.insert_many([{"_key": str(i), "u": i, "h": i % 2} for i in range(20)])
    unique_index = col.add_index({"type": "persistent", "fields": ["u"], "unique": True})
    assert unique_index["type"] == "persistent" and unique_index["unique"] is True
    half = col.add_index({"type": "persistent", "fields": ["h"]})
    indexes = col.indexes()
    assert [i["type"] for i in indexes] == ["primary", "persistent", "persistent"]
    assert [i["selectivity"] for i in indexes] == [1, 1, 0.1]
    assert col.get_index(half["id"])["fields"] == ["h"]
    assert col.delete_index(half["id"]) is True
    assert len(col.indexes()) == 2
    with pytest.raises(DocumentInsertError) as err:
        col.insert({"u": 1})
    assert err.value.error_code == 1210


def test_users(sys_db, db):
    name = unique("user")
    user = sys_db.create_user(name, "secret", active=True, extra={"team": "a"})
    assert user["username"] == name and user["extra"] == {"team": "a"}
    assert sys_db.has_user(name)
    assert name in [u["username"] for u in sys_db.users()]
    assert sys_db.update_user(name, active=False)["active"] is False
    assert sys_db.replace_user(name, "other", active=True, extra={"team": "b"})["extra"] == {"team": "b"}
    assert sys_db.update_permission(name, "ro", db.name) is True
    assert sys_db.permission(name, db.name) == "ro"
    db.create_collection("perm")
    assert sys_db.update_permission(name, "rw", db.name, "perm") is True
    assert sys_db.permission(name, db.name, "perm") == "rw"
    full = sys_db.permissions(name)[db.name]
    assert full["permission"] == "ro" and full["collections"]["perm"] == "rw"
    assert sys_db.reset_permission(name, db.name, "perm") is True
    assert sys_db.permission(name, db.name, "perm") == "ro"
    assert sys_db.delete_user(name) is True
    with pytest.raises(UserGetError) as err:
        sys_db.user(name)
    assert err.value.error_code == 1703


def test_stream_transactions(db, col):
    txn = db.begin_transaction(write=col.name, read=col.name)
    assert txn.transaction_status() == "running"
    assert [t["id"] for t in db.list_transactions()] == [txn.transaction_id]
    txn.collection(col.name).insert({"_key": "t1"})
    assert txn.collection(col.name).count() == 1
    assert col.count() == 0
    assert txn.commit_transaction() is True
    assert col.count() == 1
    txn = db.begin_transaction(write=col.name)
    txn.collection(col.name).insert({"_key": "t2"})
    assert txn.abort_transaction() is True
    assert not col.has("t2")
    assert db.list_transactions() == []
    txn = db.begin_transaction(write=col.name)
    with pytest.raises(DocumentInsertError) as err:
        txn.collection(col.name).insert({"_key": "t1"})
    assert err.value.error_code == 1210
    assert txn.abort_transaction() is True
    with pytest.raises(TransactionCommitError):
        txn.commit_transaction()


def test_admin(sys_db):
    assert sys_db.version().startswith("3.")
    assert sys_db.details()["server-version"] == sys_db.version()
    assert sys_db.engine()["name"] == "rocksdb"
    assert sys_db.status()["server_info"]["role"] == "SINGLE"
    assert sys_db.time().year >= 2024
    assert sys_db.echo()["requestType"] == "GET"
    assert sys_db.role() == "SINGLE"
    assert sys_db.mode() == "default"
    assert sys_db.check_availability() == "default"
    assert sys_db.required_db_version() == "31104"
    assert sys_db.license()["license"] == "none"
    assert sys_db.tasks() == []
    levels = sys_db.log_levels()
    assert "replication" in levels
    assert sys_db.set_log_levels(replication="DEBUG")["replication"] == "DEBUG"
    assert sys_db.reset_log_levels()["replication"] == levels["replication"]
    assert "messages" in sys_db.read_log_entries()
    assert sys_db.wal.flush(sync=True, garbage_collect=True) is True
    assert sys_db.wal.properties()["sync_interval"] > 0
    assert sys_db.wal.transactions()["count"] == 0
    assert "tick" in sys_db.wal.last_tick()
    assert "tick_min" in sys_db.wal.tick_ranges()


REPLICATION_COUNTERS = [
    "dump_requests", "dump_bytes_received", "dump_documents", "dump_request_time", "dump_apply_time",
    "initial_sync_keys_requests", "initial_sync_docs_requests", "initial_sync_docs_requested",
    "initial_sync_docs_inserted", "initial_sync_docs_removed", "initial_sync_bytes_received",
    "initial_chunks_requests_time", "initial_keys_requests_time", "initial_docs_requests_time",
    "initial_insert_apply_time", "initial_remove_apply_time", "tailing_requests",
    "tailing_follow_tick_failures", "tailing_markers", "tailing_documents", "tailing_removals",
    "tailing_bytes_received", "failed_connects", "tailing_request_time", "tailing_apply_time",
]


def test_metrics_parse_with_prometheus_own_parser(sys_db):
    # python-arango's metrics() reads /_admin/metrics/v2; Prometheus' Python client parses it
    text = sys_db.metrics()
    families = list(text_string_to_metric_families(text))
    names = [f.name for f in families]
    assert len(names) == len(set(names)), "a family appears twice"
    by_name = {f.name: f for f in families}
    for n in REPLICATION_COUNTERS:
        f = by_name["arangodb_replication_" + n]
        assert f.type == "counter", n
        assert [s.name for s in f.samples] == ["arangodb_replication_" + n + "_total"]
    assert by_name["arangorepl_store_commit_seconds"].type == "histogram"
    assert by_name["arangorepl_process_resident_memory_bytes"].samples[0].value > 0
    # the earlier tests' requests are counted, by route class and status
    requests = by_name["arangorepl_http_requests"].samples
    assert any(s.labels["class"] == "document" and s.value >= 1 for s in requests), requests


def test_views(db):
    assert db.views() == []
    with pytest.raises(ViewGetError) as err:
        db.view("none")
    assert err.value.error_code == 1203


def test_replication_end_to_end(client):
    leader = client.db("_system", username="root", password=PASSWORD)
    name = unique("repl")
    col = leader.create_collection(name)
    col.import_bulk([{"_key": str(i), "v": i} for i in range(1000)])
    repl = leader.replication
    assert repl.logger_state()["state"]["running"] is True
    assert int(repl.logger_first_tick()) > 0
    assert int(repl.server_id()) > 0
    batch = repl.create_dump_batch(ttl=60)
    inventory = repl.inventory(batch["id"], include_system=False)
    assert name in [c["parameters"]["name"] for c in inventory["collections"]]
    everything = repl.inventory(batch["id"], all_databases=True)
    assert "_system" in everything["databases"]
    dump = repl.dump(name, batch_id=batch["id"], deserialize=True)
    assert len(dump["content"][0]) == 1000
    assert repl.extend_dump_batch(batch["id"], ttl=120) is True
    assert repl.delete_dump_batch(batch["id"]) is True

    follower_client = ArangoClient(hosts=FOLLOWER)
    follower = follower_client.db("_system", username="root", password=PASSWORD)
    endpoint = LEADER.replace("http://", "tcp://")
    synced = follower.replication.synchronize(
        endpoint=endpoint, username="root", password=PASSWORD, include_system=False
    )
    assert name in [c["name"] for c in synced["collections"]]
    assert follower.collection(name).count() == 1000
    config = follower.replication.set_applier_config(
        endpoint=endpoint,
        username="root",
        password=PASSWORD,
        include_system=False,
        idle_min_wait_time=0.2,
        idle_max_wait_time=0.5,
    )
    assert config["endpoint"] == endpoint and "password" not in config
    state = follower.replication.start_applier(last_tick=synced["last_log_tick"])
    assert state["state"]["running"] is True
    col.insert({"_key": "live", "v": "tailed"})
    col.delete("0")
    deadline = time.time() + 20
    while time.time() < deadline and not follower.collection(name).has("live"):
        time.sleep(0.1)
    assert follower.collection(name).get("live")["v"] == "tailed"
    assert not follower.collection(name).has("0")
    assert follower.collection(name).get("5")["_rev"] == col.get("5")["_rev"]
    state = follower.replication.applier_state()
    assert state["state"]["running"] is True and state["state"]["last_error"]["error_num"] == 0
    stopped = follower.replication.stop_applier()
    assert stopped["state"]["running"] is False
    follower_client.close()


def test_collection_reads_that_send_aql(col):
    col.insert_many([{"_key": k, "v": i % 2, "n": i} for i, k in enumerate("abcde")])
    assert [d["_key"] for d in col.all()] == list("abcde")
    assert [d["_key"] for d in col.all(skip=1, limit=2)] == ["b", "c"]
    assert sorted(d["_key"] for d in col.find({"v": 1})) == ["b", "d"]
    assert [d["_key"] for d in col.find({"v": 0}, skip=1, limit=1)] == ["c"]
    assert list(col.ids()) == [f"c/{k}" for k in "abcde"]
    assert list(col.keys()) == list("abcde")
    assert col.random()["_key"] in "abcde"
    assert sorted(d["_key"] for d in col.find_in_range("n", 1, 3)) == ["b", "c"]
    assert [d["_key"] for d in col.find_in_range("n", 0, 5, skip=1, limit=2)] == ["b", "c"]


def test_aql_cursor_batches_counts_and_errors(db, col):
    col.insert_many([{"_key": f"k{i:02}", "n": i} for i in range(25)])
    cursor = db.aql.execute(
        "FOR d IN @@c FILTER d.n >= @min SORT d.n DESC RETURN d.n",
        bind_vars={"@c": "c", "min": 5},
        batch_size=4,
        count=True,
    )
    assert cursor.count() == 20
    assert list(cursor) == list(range(24, 4, -1))
    cursor = db.aql.execute(
        "FOR d IN c SORT d.n LIMIT 2, 3 RETURN d._key", full_count=True
    )
    assert list(cursor) == ["k02", "k03", "k04"]
    assert cursor.statistics()["fullCount"] == 25
    rows = list(
        db.aql.execute(
            "FOR d IN c COLLECT odd = d.n % 2 AGGREGATE total = SUM(d.n) RETURN {odd, total}"
        )
    )
    assert rows == [{"odd": 0, "total": 156}, {"odd": 1, "total": 144}]
    with pytest.raises(AQLQueryExecuteError) as e:
        db.aql.execute("FOR d IN c RETRN d")
    assert e.value.error_code == 1501
    with pytest.raises(AQLQueryExecuteError) as e:
        db.aql.execute("FOR d IN missing RETURN d")
    assert e.value.error_code == 1203
    with pytest.raises(AQLQueryExecuteError) as e:
        db.aql.execute("RETURN NO_SUCH_FUNCTION(1)")
    assert e.value.error_code == 1540
    with pytest.raises(AQLQueryExecuteError) as e:
        db.aql.execute("RETURN @a", bind_vars={"a": 1, "b": 2})
    assert e.value.error_code == 1552
    parsed = db.aql.validate("FOR d IN c FILTER d.n == @n RETURN d")
    assert parsed["collections"] == ["c"] and parsed["bind_vars"] == ["n"]
    plan = db.aql.explain("FOR d IN c RETURN d")
    assert [n["type"] for n in plan["nodes"]][:2] == ["SingletonNode", "EnumerateCollectionNode"]


def test_collection_writes_that_send_aql(db, col):
    col.insert_many([{"_key": k, "v": i % 2, "n": i} for i, k in enumerate("abcde")])
    assert col.update_match({"v": 1}, {"seen": True}) == 2
    assert sorted(d["_key"] for d in col.find({"seen": True})) == ["b", "d"]
    assert col.update_match({"v": 0}, {"n": None}, keep_none=False, limit=1) == 1
    assert "n" not in col.get("a")
    assert col.replace_match({"seen": True}, {"v": 9}, limit=1) == 1
    assert col.get("b") == {"_key": "b", "_id": col.name + "/b", "_rev": col.get("b")["_rev"], "v": 9}
    assert col.delete_match({"v": 0}, sync=True) == 3
    assert sorted(col.keys()) == ["b", "d"]
    # AQL writes with NEW/OLD, OPTIONS and UPSERT
    cursor = db.aql.execute(
        "FOR i IN 1..3 INSERT {_key: CONCAT('x', i), i} INTO @@c RETURN NEW._key",
        bind_vars={"@c": col.name},
    )
    assert list(cursor) == ["x1", "x2", "x3"]
    assert cursor.statistics()["modified"] == 3
    rows = db.aql.execute(
        "FOR i IN [1, 1] UPSERT {_key: 'u'} INSERT {_key: 'u', hits: 1} UPDATE {hits: OLD.hits + 1} IN @@c RETURN NEW.hits",
        bind_vars={"@c": col.name},
    )
    assert list(rows) == [1, 2]
    with pytest.raises(AQLQueryExecuteError) as e:
        db.aql.execute("FOR i IN 1..3 INSERT {_key: 'same'} INTO @@c", bind_vars={"@c": col.name})
    assert e.value.error_code == 1210
    assert not col.has("same")
    # in a stream transaction
    txn = db.begin_transaction(write=col.name)
    txn.aql.execute("INSERT {_key: 't'} INTO @@c", bind_vars={"@c": col.name})
    assert not col.has("t")
    assert txn.commit_transaction() is True
    assert col.has("t")
