//! What real clients (python-arango, arangojs, arangoimport, arangosh) send and expect, each test sending
//! the client's own request to a real `arangorepl serve`: databases that do not exist, transactions per
//! database, inventories, compaction, index estimates, compressed bodies, bulk import, the admin
//! endpoints, users' collection grants, read-only mode, views, and a prompt shutdown.

mod common;

use common::api::{Api, Resp, assert_error};
use common::repl::{applier, follow, make_follower, state, wait_for};
use common::server::Server;
use reqwest::Method;
use serde_json::{Value, json};
use std::io::Write;
use std::time::{Duration, Instant};

fn server() -> (Server, Api) {
    let s = Server::start(&[]);
    let a = Api::new(&s);
    (s, a)
}

#[test]
fn databases_that_do_not_exist_are_not_guessable() {
    let (_s, a) = server();
    // python-arango's requests for a database that is not there, by a user without access to such a
    // name: 401 / 11, the answer for a database without access
    assert_eq!(a.post("/_api/database", json!({"name": "d"})).status, 201);
    let r = a.post("/_api/user", json!({"user": "u", "passwd": "p"}));
    assert_eq!(r.status, 201, "{}", r.body);
    let u = a.as_user("u", "p");
    for (m, path) in [
        (
            Method::GET,
            "/_db/missing/_api/replication/dump?collection=c",
        ),
        (Method::GET, "/_db/missing/_api/wal/tail"),
        (Method::GET, "/_db/missing/_api/database"),
        (Method::GET, "/_db/missing/_api/collection"),
    ] {
        let r = u.req(m, path, None, &[]);
        assert_error(&r, 401, 11);
    }
    let r = u.req(Method::HEAD, "/_db/missing/_api/document/c/k", None, &[]);
    assert_eq!(r.status, 401);
    // exactly the answer for a database that exists but is off limits
    let exists = u.get("/_db/d/_api/collection");
    let missing = u.get("/_db/missing/_api/collection");
    assert_error(&exists, 401, 11);
    assert_eq!(exists.body, missing.body);
    // a user who would have access to a database of that name (root: every name) hears that it is
    // not there, as from ArangoDB
    assert_error(&a.get("/_db/missing/_api/collection"), 404, 1228);
    a.put("/_api/user/u/database/*", json!({"grant": "ro"}));
    assert_error(&u.get("/_db/missing/_api/collection"), 404, 1228);
    // without authentication too
    let open = Server::start(&["--server.authentication", "false"]);
    let r = Api::new(&open).get("/_db/missing/_api/collection");
    assert_error(&r, 404, 1228);
}

#[test]
fn transactions_are_listed_per_database_and_inventories_name_their_databases() {
    let (_s, a) = server();
    assert_eq!(
        a.post("/_api/database", json!({"name": "other"})).status,
        201
    );
    for db in ["_system", "other"] {
        let r = a.post(&format!("/_db/{db}/_api/collection"), json!({"name": "c"}));
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let t1 = a.post(
        "/_api/transaction/begin",
        json!({"collections": {"write": ["c"]}}),
    );
    let t2 = a.post(
        "/_db/other/_api/transaction/begin",
        json!({"collections": {"write": ["c"]}}),
    );
    let (id1, id2) = (
        t1.body["result"]["id"].clone(),
        t2.body["result"]["id"].clone(),
    );
    let l1 = a.get("/_api/transaction").body["transactions"].clone();
    let l2 = a.get("/_db/other/_api/transaction").body["transactions"].clone();
    assert_eq!(l1, json!([{"id": id1, "state": "running"}]));
    assert_eq!(l2, json!([{"id": id2, "state": "running"}]));
    let w = a.get("/_db/other/_admin/wal/transactions");
    assert_eq!(w.body["runningTransactions"], 1, "{}", w.body);

    // the global inventory: each database with its id and name
    let b = a.post("/_api/replication/batch", json!({"ttl": 30}));
    let id = b.body["id"].as_str().unwrap().to_string();
    let inv = a.get(&format!(
        "/_api/replication/inventory?global=true&batchId={id}"
    ));
    assert_eq!(inv.status, 200, "{}", inv.body);
    for db in ["_system", "other"] {
        let e = &inv.body["databases"][db];
        assert_eq!(e["name"], db, "{e}");
        let current = a.get(&format!("/_db/{db}/_api/database/current"));
        assert_eq!(e["id"], current.body["result"]["id"], "{e}");
        assert!(e["collections"].is_array(), "{e}");
    }
}

#[test]
fn compaction_answers_the_short_form_and_indexes_have_estimates() {
    let (_s, a) = server();
    a.post("/_api/collection", json!({"name": "c"}));
    let docs: Vec<Value> = (0..100)
        .map(|i| json!({"_key": format!("k{i}"), "u": i, "half": i % 2}))
        .collect();
    assert_eq!(a.post("/_api/document/c", Value::Array(docs)).status, 202);
    let short = a.get("/_api/collection/c");
    let compact = a.put("/_api/collection/c/compact", json!({}));
    assert_eq!(compact.status, 200, "{}", compact.body);
    assert_eq!(compact.body, short.body);

    let r = a.post(
        "/_api/index?collection=c",
        json!({"type": "persistent", "fields": ["u"], "unique": true}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = a.post(
        "/_api/index?collection=c",
        json!({"type": "persistent", "fields": ["half"]}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let half_id = r.body["id"].as_str().unwrap().to_string();
    let list = a.get("/_api/index?collection=c");
    let est: Vec<f64> = list.body["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["selectivityEstimate"].as_f64().expect("an estimate"))
        .collect();
    // primary, unique, and two distinct values among 100 documents
    assert_eq!(est, vec![1.0, 1.0, 0.02]);
    let one = a.get(&format!("/_api/index/{half_id}"));
    assert_eq!(one.body["selectivityEstimate"], 0.02, "{}", one.body);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn compressed_bodies_are_decoded_and_answers_compressed_on_request() {
    let (s, a) = server();
    a.post("/_api/collection", json!({"name": "c"}));
    let client = reqwest::blocking::Client::builder().build().unwrap();
    let send = |body: Vec<u8>, encoding: &str| {
        client
            .post(format!("{}/_api/document/c", s.url))
            .basic_auth("root", Some("pw"))
            .header("content-encoding", encoding)
            .body(body)
            .send()
            .unwrap()
    };
    let r = send(gzip(br#"{"_key": "g", "v": 1}"#), "gzip");
    assert_eq!(r.status(), 202);
    let r = send(deflate(br#"{"_key": "d", "v": 2}"#), "deflate");
    assert_eq!(r.status(), 202);
    assert_eq!(a.get("/_api/document/c/g").body["v"], 1);
    assert_eq!(a.get("/_api/document/c/d").body["v"], 2);
    // a body that is not what it claims: ArangoDB's envelope, nothing written
    let r = send(b"not gzip at all".to_vec(), "gzip");
    assert_eq!(r.status(), 400);
    let v: Value = r.json().unwrap();
    assert_eq!(v["error"], true, "{v}");
    assert_eq!(a.get("/_api/collection/c/count").body["count"], 2);

    // a large answer comes compressed to a client that accepts it, and plain to one that does not
    let docs: Vec<Value> = (0..200)
        .map(|i| json!({"_key": format!("x{i}"), "pad": "p".repeat(50)}))
        .collect();
    a.post("/_api/document/c", Value::Array(docs));
    let big = |accept: Option<&str>| {
        let mut r = client
            .put(format!("{}/_api/simple/all", s.url))
            .basic_auth("root", Some("pw"))
            .body(json!({"collection": "c", "batchSize": 1000}).to_string());
        if let Some(enc) = accept {
            r = r.header("accept-encoding", enc);
        }
        r.send().unwrap()
    };
    let zipped = big(Some("gzip"));
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let raw = zipped.bytes().unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&raw[..]), &mut text).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["result"].as_array().unwrap().len(), 202);
    let plain = big(None);
    assert!(plain.headers().get("content-encoding").is_none());
}

fn import(a: &Api, query: &str, body: &str) -> Resp {
    a.req(
        Method::POST,
        &format!("/_api/import?{query}"),
        Some(body),
        &[],
    )
}

#[test]
fn import_takes_every_body_form_and_option() {
    let (_s, a) = server();
    a.post("/_api/collection", json!({"name": "c"}));
    let before = a.get("/_api/replication/logger-state").body["state"]["lastLogTick"]
        .as_str()
        .unwrap()
        .to_string();

    // documents: one object per line, empty lines counted, bad lines reported with their position
    let r = import(
        &a,
        "collection=c&type=documents&details=true",
        "{\"_key\":\"a\",\"v\":1}\n\n{\"_key\":\"b\",\"v\":2}\n[1,2]\n{\"_key\":\"a\"}\n",
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (
            &r.body["created"],
            &r.body["errors"],
            &r.body["empty"],
            &r.body["updated"],
            &r.body["ignored"]
        ),
        (&json!(2), &json!(2), &json!(1), &json!(0), &json!(0)),
        "{}",
        r.body
    );
    let details: Vec<String> = serde_json::from_value(r.body["details"].clone()).unwrap();
    assert!(
        details[0].starts_with("at position 4: invalid JSON type"),
        "{details:?}"
    );
    assert!(
        details[1].starts_with(
            "at position 5: creating document failed with error 'unique constraint violated"
        ),
        "{details:?}"
    );

    // array, with each onDuplicate
    let r = import(
        &a,
        "collection=c&type=array&onDuplicate=update",
        r#"[{"_key":"a","w":9},{"_key":"c"}]"#,
    );
    assert_eq!(
        (r.body["created"].clone(), r.body["updated"].clone()),
        (json!(1), json!(1)),
        "{}",
        r.body
    );
    let doc = a.get("/_api/document/c/a").body;
    assert_eq!((doc["v"].clone(), doc["w"].clone()), (json!(1), json!(9)));
    let r = import(
        &a,
        "collection=c&type=auto&onDuplicate=replace",
        r#"[{"_key":"a","z":1}]"#,
    );
    assert_eq!(r.body["updated"], 1, "{}", r.body);
    assert_eq!(a.get("/_api/document/c/a").body.get("v"), None);
    let r = import(
        &a,
        "collection=c&type=auto&onDuplicate=ignore",
        "{\"_key\":\"a\",\"q\":1}\n{\"_key\":\"d\"}",
    );
    assert_eq!(
        (r.body["ignored"].clone(), r.body["created"].clone()),
        (json!(1), json!(1)),
        "{}",
        r.body
    );
    assert_eq!(a.get("/_api/document/c/a").body.get("q"), None);

    // the list form: attribute names first, null values left out
    let r = import(
        &a,
        "collection=c",
        "[\"_key\",\"x\",\"y\"]\n[\"l1\",1,null]\n[\"l2\",2,\"t\"]\n[\"l3\",3]\n",
    );
    assert_eq!(
        (r.body["created"].clone(), r.body["errors"].clone()),
        (json!(2), json!(1)),
        "{}",
        r.body
    );
    let l1 = a.get("/_api/document/c/l1").body;
    assert_eq!((l1["x"].clone(), l1.get("y").cloned()), (json!(1), None));

    // complete: one failure and nothing is kept
    let count = |a: &Api| {
        a.get("/_api/collection/c/count").body["count"]
            .as_u64()
            .unwrap()
    };
    let n = count(&a);
    let r = import(
        &a,
        "collection=c&type=array&complete=true",
        r#"[{"_key":"new1"},{"_key":"a"}]"#,
    );
    assert_error(&r, 409, 1210);
    assert_eq!(count(&a), n);

    // overwrite: the collection is emptied first
    let r = import(
        &a,
        "collection=c&type=array&overwrite=true&waitForSync=true",
        r#"[{"_key":"only"}]"#,
    );
    assert_eq!(r.body["created"], 1, "{}", r.body);
    assert_eq!(count(&a), 1);

    // edges with prefixes
    a.post("/_api/collection", json!({"name": "e", "type": 3}));
    let r = import(
        &a,
        "collection=e&type=documents&fromPrefix=v&toPrefix=w/",
        "{\"_from\":\"1\",\"_to\":\"2\"}\n{\"_from\":\"x/3\",\"_to\":\"4\"}",
    );
    assert_eq!(r.body["created"], 2, "{}", r.body);
    let all = a.put("/_api/simple/all", json!({"collection": "e"})).body["result"].clone();
    let mut pairs: Vec<(String, String)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["_from"].as_str().unwrap().into(),
                d["_to"].as_str().unwrap().into(),
            )
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        vec![("v/1".into(), "w/2".into()), ("x/3".into(), "w/4".into())]
    );

    // bad requests change nothing
    assert_error(&import(&a, "type=array", "[]"), 400, 1204);
    assert_error(&import(&a, "collection=nope&type=array", "[]"), 404, 1203);
    assert_error(
        &import(&a, "collection=c&type=array", "{\"not\": \"an array\"}"),
        400,
        400,
    );
    assert_error(&import(&a, "collection=c&type=array", "[{"), 400, 600);
    assert_error(
        &import(&a, "collection=c&type=array&onDuplicate=merge", "[]"),
        400,
        400,
    );
    assert_eq!(count(&a), 1);

    // imported documents are in the replication log like any write
    let log = a.get(&format!("/_api/replication/logger-last?tickStart={before}"));
    let inserted: Vec<&Value> = log
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] == 2300 && m["data"]["_key"] == "only")
        .collect();
    assert_eq!(inserted.len(), 1, "{}", log.body);
}

#[test]
fn logger_last_shows_the_legacy_markers_after_the_start_tick() {
    let (_s, a) = server();
    a.post("/_api/collection", json!({"name": "c"}));
    a.post("/_api/document/c", json!({"_key": "x"}));
    let tick = a.get("/_api/replication/logger-state").body["state"]["lastLogTick"]
        .as_str()
        .unwrap()
        .to_string();
    let t = a.post(
        "/_api/transaction/begin",
        json!({"collections": {"write": ["c"]}}),
    );
    let id = t.body["result"]["id"].as_str().unwrap().to_string();
    let h = [("x-arango-trx-id", id.as_str())];
    a.req(Method::PATCH, "/_api/document/c/x", Some(r#"{"u":1}"#), &h);
    a.req(
        Method::POST,
        "/_api/document/c",
        Some(r#"{"_key":"y"}"#),
        &h,
    );
    assert_eq!(
        a.put(&format!("/_api/transaction/{id}"), json!({})).status,
        200
    );
    let r = a.get(&format!("/_api/replication/logger-last?tickStart={tick}"));
    let types: Vec<u64> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_u64().unwrap())
        .collect();
    assert_eq!(types, vec![2200, 2300, 2300, 2201], "{}", r.body);
    let cid = a.get("/_api/collection/c").body["id"].clone();
    let doc = &r.body[1];
    assert_eq!(
        (doc["cid"].clone(), doc["cname"].clone()),
        (cid, json!("c")),
        "{doc}"
    );
    assert_eq!(
        doc["database"],
        a.get("/_api/database/current").body["result"]["id"]
    );
    assert_eq!(doc["tid"], json!(id));
    // tickEnd is inclusive
    let first = r.body[0]["tick"].as_str().unwrap();
    let r2 = a.get(&format!(
        "/_api/replication/logger-last?tickStart={tick}&tickEnd={first}"
    ));
    assert_eq!(r2.body.as_array().unwrap().len(), 1);
}

#[test]
fn admin_endpoints_answer_as_arangodb() {
    let (s, a) = server();
    let t = a.get("/_admin/time");
    assert!(t.body["time"].as_f64().unwrap() > 1.7e9, "{}", t.body);
    let st = a.get("/_admin/status");
    assert_eq!(st.body["server"], "arango");
    assert_eq!(st.body["serverInfo"]["role"], "SINGLE");
    assert_eq!(st.body["serverInfo"]["readOnly"], false);
    let e = a.req(Method::POST, "/_admin/echo?x=1", Some("hello"), &[]);
    assert_eq!(
        (
            e.body["requestType"].clone(),
            e.body["requestBody"].clone(),
            e.body["parameters"]["x"].clone()
        ),
        (json!("POST"), json!("hello"), json!("1")),
        "{}",
        e.body
    );
    assert!(
        e.body["headers"].get("authorization").is_none(),
        "{}",
        e.body
    );
    assert_eq!(
        a.req(
            Method::PUT,
            "/_admin/wal/flush?waitForSync=true&waitForCollector=true",
            Some(""),
            &[]
        )
        .status,
        200
    );
    let p = a.get("/_admin/wal/properties");
    assert_eq!(p.body["syncInterval"], 100, "{}", p.body);
    assert_eq!(
        a.get("/_admin/database/target-version").body["version"],
        "31104"
    );
    assert_eq!(a.get("/_admin/license").body["license"], "none");
    assert_error(&a.put("/_admin/license", json!("x")), 501, 9);
    assert_eq!(a.get("/_api/tasks").body, json!([]));
    assert_error(&a.post("/_api/tasks", json!({"command": "1"})), 501, 9);
    assert_error(&a.get("/_api/tasks/nope"), 404, 1852);
    assert_eq!(a.get("/_admin/auth/reload").status, 200);
    // availability needs no credentials
    let open = reqwest::blocking::get(format!("{}/_admin/server/availability", s.url)).unwrap();
    assert_eq!(open.status(), 200);
    // other admin endpoints do
    let anon = reqwest::blocking::get(format!("{}/_admin/status", s.url)).unwrap();
    assert_eq!(anon.status(), 401);
    // non-admins may not flush or change levels
    a.post("/_api/user", json!({"user": "u", "passwd": "p"}));
    a.put("/_api/user/u/database/_system", json!({"grant": "ro"}));
    assert_error(
        &a.as_user("u", "p")
            .req(Method::PUT, "/_admin/wal/flush", Some(""), &[]),
        403,
        11,
    );
}

#[test]
fn log_levels_change_the_filter_live_and_entries_are_kept() {
    let (_s, a) = server();
    // the test servers start at --log.level warning
    let levels = a.get("/_admin/log/level").body;
    assert_eq!(levels["replication"], "WARNING", "{levels}");
    let marker = |a: &Api, mode: &str| {
        let r = a.put("/_admin/server/mode", json!({"mode": mode}));
        assert_eq!(r.body["mode"], mode, "{}", r.body);
    };
    let seen = |a: &Api, what: &str| -> bool {
        let r = a.get(&format!("/_admin/log/entries?search={what}"));
        r.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["message"].as_str().unwrap().contains(what))
    };
    // at error level the mode change's info line is not logged
    let r = a.put("/_admin/log/level", json!({"general": "error"}));
    assert_eq!(r.body["general"], "ERROR", "{}", r.body);
    marker(&a, "readonly");
    assert!(!seen(&a, "readonly"));
    // at info it is
    let r = a.put("/_admin/log/level", json!({"general": "info"}));
    assert_eq!(r.body["general"], "INFO", "{}", r.body);
    marker(&a, "default");
    assert!(seen(&a, "set to default"));
    // and back to what the server started with
    let r = a.req(Method::DELETE, "/_admin/log/level", None, &[]);
    assert_eq!(r.body["general"], "WARNING", "{}", r.body);
    let r = a.put("/_admin/log/level", json!("debug"));
    assert_eq!(r.body["replication"], "DEBUG");
    assert_error(
        &a.put("/_admin/log/level", json!({"general": "loud"})),
        400,
        400,
    );
    let old = a.get("/_admin/log?upto=info");
    assert!(
        old.body["totalAmount"].as_u64().unwrap() >= 1,
        "{}",
        old.body
    );
    assert_eq!(
        old.body["lid"].as_array().unwrap().len(),
        old.body["text"].as_array().unwrap().len()
    );
}

#[test]
fn read_only_mode_refuses_writes_until_switched_back() {
    let (_s, a) = server();
    a.post("/_api/collection", json!({"name": "c"}));
    a.post("/_api/document/c", json!({"_key": "k"}));
    assert_eq!(
        a.put("/_admin/server/mode", json!({"mode": "readonly"}))
            .status,
        200
    );
    assert_eq!(
        a.get("/_admin/server/availability").body["mode"],
        "readonly"
    );
    assert_error(&a.post("/_api/document/c", json!({})), 403, 1004);
    assert_error(&a.post("/_api/collection", json!({"name": "d"})), 403, 1004);
    assert_error(
        &a.req(
            Method::POST,
            "/_api/import?collection=c&type=array",
            Some("[{}]"),
            &[],
        ),
        403,
        1004,
    );
    // reads go on
    assert_eq!(a.get("/_api/document/c/k").status, 200);
    assert_eq!(
        a.put("/_api/document/c?onlyget=true", json!(["k"])).status,
        200
    );
    assert_error(
        &a.put("/_admin/server/mode", json!({"mode": "sideways"})),
        400,
        400,
    );
    assert_eq!(
        a.put("/_admin/server/mode", json!({"mode": "default"}))
            .status,
        200
    );
    assert_eq!(a.post("/_api/document/c", json!({})).status, 202);
}

#[test]
fn views_answer_as_a_server_without_any_and_system_collections_exist() {
    let (_s, a) = server();
    assert_eq!(a.get("/_api/view").body["result"], json!([]));
    assert_error(&a.get("/_api/view/v"), 404, 1203);
    assert_error(&a.get("/_api/view/v/properties"), 404, 1203);
    assert_error(&a.delete("/_api/view/v"), 404, 1203);
    assert_error(
        &a.post("/_api/view", json!({"name": "v", "type": "arangosearch"})),
        501,
        9,
    );
    assert_eq!(
        a.post("/_api/database", json!({"name": "fresh"})).status,
        201
    );
    for db in ["_system", "fresh"] {
        let names: Vec<String> = a.get(&format!("/_db/{db}/_api/collection")).body["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        for c in [
            "_analyzers",
            "_graphs",
            "_aqlfunctions",
            "_queues",
            "_jobs",
            "_apps",
            "_appbundles",
            "_frontend",
        ] {
            assert!(names.contains(&c.to_string()), "{db}: {names:?}");
        }
        let count = a.get(&format!("/_db/{db}/_api/collection/_graphs/count"));
        assert_eq!(count.body["count"], 0);
    }
}

#[test]
fn collection_grants_are_stored_shown_and_enforced() {
    let (_s, a) = server();
    // a user with rights on a database other than _system (rw on _system makes an administrator)
    assert_eq!(a.post("/_api/database", json!({"name": "d"})).status, 201);
    a.post("/_db/d/_api/collection", json!({"name": "open"}));
    a.post("/_db/d/_api/collection", json!({"name": "closed"}));
    a.post("/_api/user", json!({"user": "u", "passwd": "p"}));
    a.put("/_api/user/u/database/d", json!({"grant": "rw"}));
    let r = a.put("/_api/user/u/database/d/closed", json!({"grant": "ro"}));
    assert_eq!(r.body["d/closed"], "ro", "{}", r.body);
    assert_eq!(a.get("/_api/user/u/database/d/closed").body["result"], "ro");
    assert_eq!(a.get("/_api/user/u/database/d/open").body["result"], "rw");
    let full = a.get("/_api/user/u/database?full=true").body["result"]["d"].clone();
    assert_eq!(full["permission"], "rw", "{full}");
    assert_eq!(full["collections"]["closed"], "ro", "{full}");
    assert_eq!(full["collections"]["open"], "rw", "{full}");
    let u = a.as_user("u", "p");
    assert_eq!(u.post("/_db/d/_api/document/open", json!({})).status, 202);
    assert_error(&u.post("/_db/d/_api/document/closed", json!({})), 403, 11);
    a.post("/_db/d/_api/document/closed", json!({"_key": "k"}));
    assert_eq!(u.get("/_db/d/_api/document/closed/k").status, 200);
    // "none" closes reads too
    a.put("/_api/user/u/database/d/closed", json!({"grant": "none"}));
    assert_error(&u.get("/_db/d/_api/document/closed/k"), 403, 11);
    assert_eq!(a.delete("/_api/user/u/database/d/closed").status, 202);
    assert_eq!(u.post("/_db/d/_api/document/closed", json!({})).status, 202);
    assert_error(
        &a.put("/_api/user/u/database/d/nope", json!({"grant": "ro"})),
        404,
        1203,
    );
}

#[test]
fn a_leader_with_a_long_polling_follower_stops_at_once() {
    let mut leader = Server::start(&[]);
    let follower = Server::start(&[]);
    let (la, fa) = (Api::new(&leader), Api::new(&follower));
    follow(&la, &fa, &leader, json!({}));
    // a second long-poll straight from a client, as any follower sends it
    let tick = la.get("/_api/replication/logger-state").body["state"]["lastLogTick"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!(
        "{}/_api/wal/tail?from={tick}&longPollTimeout=60",
        leader.url
    );
    let poll = std::thread::spawn(move || {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(90))
            .build()
            .unwrap()
            .get(url)
            .basic_auth("root", Some("pw"))
            .send()
            .map(|r| r.status().as_u16())
    });
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    assert_eq!(leader.terminate(), Some(0));
    let took = t.elapsed();
    println!(
        "leader with long-polls stopped in {:.2} s",
        took.as_secs_f64()
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // a long-poll that had arrived was answered (empty), not cut off
    if let Ok(code) = poll.join().unwrap() {
        assert_eq!(code, 204);
    }
}

#[test]
fn the_applier_state_after_start_restart_and_a_sync() {
    let leader = Server::start(&[]);
    let follower = Server::start(&[]);
    let (la, fa) = (Api::new(&leader), Api::new(&follower));
    la.post("/_api/collection", json!({"name": "c"}));
    let docs: Vec<Value> = (0..50).map(|i| json!({"_key": format!("d{i}")})).collect();
    la.post("/_api/document/c", Value::Array(docs));
    let r = make_follower(&fa, "_system", &leader, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    // the continuous counters do not count the initial sync's 50 documents
    let s = state(&fa, "_system");
    assert_eq!(s["state"]["totalDocuments"], 0, "{s}");
    // the leader's tick is known right after the start, on an idle leader too
    let last = la.get("/_api/replication/logger-state").body["state"]["lastLogTick"].clone();
    wait_for("lastAvailableContinuousTick", 5, || {
        state(&fa, "_system")["state"]["lastAvailableContinuousTick"] == last
    });
    la.post("/_api/document/c", json!({"_key": "tailed"}));
    wait_for("the tailed document", 10, || {
        state(&fa, "_system")["state"]["totalDocuments"] == 1
    });
    assert_eq!(applier(&fa, "_system", "applier-stop").status, 200);
    assert_eq!(
        state(&fa, "_system")["state"]["progress"]["message"],
        "applier shut down"
    );
    assert_eq!(applier(&fa, "_system", "applier-start").status, 200);
    let msg = state(&fa, "_system")["state"]["progress"]["message"].clone();
    assert_ne!(msg, "applier shut down");
}

#[test]
fn an_applier_started_at_a_tick_resumes_there_after_a_stop() {
    let leader = Server::start(&[]);
    let follower = Server::start(&[]);
    let (la, fa) = (Api::new(&leader), Api::new(&follower));
    la.post("/_api/collection", json!({"name": "c"}));
    let r = common::repl::sync(
        &fa,
        "_system",
        &leader,
        json!({"waitForSyncTimeout": 30, "progress": true}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let tick = r.body["lastLogTick"].as_str().unwrap().to_string();
    // a wrong type for an option ArangoDB ignores is still an error
    let bad = common::repl::sync(
        &fa,
        "_system",
        &leader,
        json!({"waitForSyncTimeout": "soon"}),
    );
    assert_error(&bad, 400, 1410);
    let cfg = fa.put(
        "/_api/replication/applier-config",
        json!({"endpoint": common::repl::endpoint(&leader), "username": "root", "password": "pw", "idleMinWaitTime": 0.2, "idleMaxWaitTime": 0.5}),
    );
    assert_eq!(cfg.status, 200, "{}", cfg.body);
    // start at the tick, stop at once, start without a tick: it resumes from the stored tick
    let r = fa.req(
        Method::PUT,
        &format!("/_api/replication/applier-start?from={tick}"),
        Some(""),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(applier(&fa, "_system", "applier-stop").status, 200);
    la.post("/_api/document/c", json!({"_key": "after"}));
    let r = applier(&fa, "_system", "applier-start");
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("the document written while stopped", 10, || {
        fa.get("/_api/document/c/after").status == 200
    });
    assert_eq!(state(&fa, "_system")["state"]["lastError"]["errorNum"], 0);
}
