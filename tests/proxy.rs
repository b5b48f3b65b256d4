//! `arangorepl proxy` in front of an upstream that answers as ArangoDB 3.12.10 (`arangorepl serve
//! --compat.arangodb-version 3.12.10`, which has no applier): the removed API answered by the proxy, the
//! appliers writing into the upstream with the RemoteFollower, everything else forwarded; crashes of the
//! proxy and of the upstream; direct writes into the upstream (leader wins); rights and secrets.

mod common;

use common::api::{Api, assert_error};
use common::repl::{
    drop_a_followed_database, enc, endpoint, global, global_config, global_state, insert_many,
    make_follower, picture, wait_converged, wait_for, wait_server_converged,
};
use common::server::Server;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

const COMPAT: &[&str] = &["--compat.arangodb-version", "3.12.10"];

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/arangodb/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Leader, upstream (3.12.10) and a proxy in front of the upstream.
fn trio() -> (Server, Server, Server) {
    let leader = Server::start(&[]);
    let upstream = Server::start(COMPAT);
    let proxy = Server::proxy(&upstream, &[]);
    (leader, upstream, proxy)
}

/// The 2300/2302 markers of collection `coll` in a server's log after `from`.
fn document_markers(api: &Api, db: &str, coll: &str, from: u64) -> u64 {
    let props = api.get(&format!(
        "/_db/{}/_api/collection/{coll}/properties",
        enc(db)
    ));
    let cuid = props.body["globallyUniqueId"].as_str().unwrap().to_string();
    let mut n = 0;
    let mut tick = from;
    loop {
        let r = api.get(&format!(
            "/_db/{}/_api/wal/tail?from={tick}&chunkSize=8388608",
            enc(db)
        ));
        assert!(r.status == 200 || r.status == 204, "{}", r.text);
        for line in r.text.lines().filter(|l| !l.is_empty()) {
            let m: Value = serde_json::from_str(line).unwrap();
            if m["cuid"] == cuid.as_str() && matches!(m["type"].as_u64(), Some(2300 | 2302)) {
                n += 1;
            }
        }
        let last: u64 = r
            .header("x-arango-replication-lastincluded")
            .unwrap()
            .parse()
            .unwrap();
        if r.header("x-arango-replication-checkmore") != Some("true") || last == 0 {
            return n;
        }
        tick = last;
    }
}

#[test]
fn the_removed_api_is_back_through_the_proxy_and_data_lands_upstream() {
    let (leader, upstream, proxy) = trio();
    let (la, ua, pa) = (Api::new(&leader), Api::new(&upstream), Api::new(&proxy));

    // the upstream answers as 3.12.10: no applier
    assert_eq!(ua.get("/_api/version").body["version"], "3.12.10");
    for cmd in ["applier-state", "applier-config"] {
        let r = ua.get(&format!("/_api/replication/{cmd}"));
        assert_error(&r, 404, 404);
    }
    let r = ua.req(
        Method::PUT,
        "/_api/replication/make-follower",
        Some("{}"),
        &[],
    );
    assert_error(&r, 404, 404);
    assert_error(&ua.get("/_api/wal/open-transactions?from=1&to=2"), 404, 404);

    // the leader's data, with a unique index
    la.post("/_api/collection", json!({"name": "c"}));
    let r = la.post(
        "/_api/index?collection=c",
        json!({"type": "persistent", "fields": ["u"], "unique": true, "name": "byU"}),
    );
    assert!(r.status < 300, "{}", r.body);
    insert_many(
        &la,
        "_system",
        "c",
        (0..2000)
            .map(|i| json!({"_key": format!("k{i}"), "u": i}))
            .collect(),
    );

    // make-follower through the proxy
    let r = make_follower(&pa, "_system", &leader, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    assert!(
        r.body.get("endpoint").is_some() && !r.body.to_string().contains("\"pw\""),
        "{}",
        r.body
    );
    wait_converged(&la, &ua, "_system", 30);

    // tailing: documents, a stream transaction, catalog changes
    insert_many(
        &la,
        "_system",
        "c",
        (2000..2500)
            .map(|i| json!({"_key": format!("k{i}"), "u": i}))
            .collect(),
    );
    let t = la.post(
        "/_api/transaction/begin",
        json!({"collections": {"write": ["c"]}}),
    );
    let tid = t.body["result"]["id"].as_str().unwrap().to_string();
    for i in 0..10 {
        let r = la.req(
            Method::PATCH,
            &format!("/_api/document/c/k{i}"),
            Some(&json!({"v": "in trx"}).to_string()),
            &[("x-arango-trx-id", &tid)],
        );
        assert!(r.status < 300, "{}", r.body);
    }
    la.req(Method::PUT, &format!("/_api/transaction/{tid}"), None, &[]);
    la.delete("/_api/document/c/k100");
    la.post("/_api/collection", json!({"name": "d", "type": 3}));
    la.post(
        "/_api/document/d",
        json!({"_key": "e1", "_from": "c/k1", "_to": "c/k2"}),
    );
    la.post("/_api/collection", json!({"name": "gone"}));
    la.post("/_api/document/gone", json!({"_key": "x"}));
    la.delete("/_api/collection/gone");
    la.put("/_api/collection/d/rename", json!({"name": "edges"}));
    wait_converged(&la, &ua, "_system", 30);
    assert_eq!(
        ua.get("/_api/document/c/k5").body["v"],
        "in trx",
        "read directly from the upstream"
    );
    assert_eq!(ua.get("/_api/document/c/k100").status, 404);

    // the applier's state through the proxy: running, no secrets, ArangoDB's shapes
    let s = pa.get("/_api/replication/applier-state");
    assert_eq!(s.body["state"]["running"], true, "{}", s.body);
    common::same_shape(
        &s.body,
        &fixture("replication-applier-state-running.3.11.json"),
        "state",
    );
    let c = pa.get("/_api/replication/applier-config");
    assert!(c.body.get("password").is_none(), "{}", c.body);
    common::same_shape(
        &c.body,
        &fixture("replication-applier-config-get.3.11.json"),
        "config",
    );
    // the position is in the upstream, without the password
    let pos = ua.get("/_api/document/_arangorepl/applier");
    assert_eq!(pos.status, 200, "{}", pos.body);
    assert!(!pos.text.contains("\"password\""), "{}", pos.text);
    assert!(pos.body["state"]["lastAppliedContinuousTick"].is_string());
    // the configuration with the password stays with the proxy, mode 0600
    let file = proxy.dir.join("appliers/applier-%5Fsystem.json");
    let meta = std::fs::metadata(&file).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(&file).unwrap().contains("\"pw\""));

    // everything else is forwarded unchanged
    let direct = ua.get("/_api/document/c/k7");
    let through = pa.get("/_api/document/c/k7");
    assert_eq!(
        (through.status, &through.body),
        (direct.status, &direct.body)
    );
    assert_eq!(through.header("etag"), direct.header("etag"));
    let r = pa.get("/_api/document/c/nope");
    assert_error(&r, 404, 1202);
    assert_eq!(pa.get("/_api/version").body["version"], "3.12.10");
    let r = pa.post("/_api/collection", json!({"name": "local"}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ua.get("/_api/collection/local").status, 200);
    // and open-transactions, which 3.12.10 lacks, is derived from wal/range
    let range = ua.get("/_api/wal/range").body;
    let min: u64 = range["tickMin"].as_str().unwrap().parse().unwrap();
    let max: u64 = range["tickMax"].as_str().unwrap().parse().unwrap();
    let r = pa.get(&format!("/_api/wal/open-transactions?from={min}&to={max}"));
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(r.header("x-arango-replication-frompresent"), Some("true"));
    assert_eq!(r.header("x-arango-replication-lastincluded"), Some("0"));
    if min > 2 {
        let r = pa.get("/_api/wal/open-transactions?from=1&to=2");
        assert_eq!(r.header("x-arango-replication-frompresent"), Some("false"));
    }
    assert_error(&pa.get("/_api/wal/open-transactions?from=5&to=2"), 400, 400);
}

#[test]
fn the_proxys_endpoints_need_the_callers_rights_on_the_upstream() {
    let (_leader, upstream, proxy) = trio();
    let (ua, pa) = (Api::new(&upstream), Api::new(&proxy));
    // a user with read-only access to _system
    let r = ua.post(
        "/_api/user",
        json!({"user": "reader", "passwd": "r", "active": true}),
    );
    assert!(r.status < 300, "{}", r.body);
    ua.put("/_api/user/reader/database/_system", json!({"grant": "ro"}));
    let none = Api {
        auth: None,
        ..Api::new(&proxy)
    };
    assert_error(&none.get("/_api/replication/applier-state"), 401, 401);
    assert_error(
        &pa.as_user("root", "wrong")
            .get("/_api/replication/applier-config"),
        401,
        401,
    );
    let r = pa.as_user("reader", "r").req(
        Method::PUT,
        "/_api/replication/applier-config",
        Some(r#"{"endpoint":"tcp://127.0.0.1:1"}"#),
        &[],
    );
    assert_error(&r, 403, 11);
    assert_eq!(pa.get("/_api/replication/applier-config").status, 200);
    // bad input gets ArangoDB's errors and changes nothing
    let r = pa.req(
        Method::PUT,
        "/_api/replication/applier-config",
        Some("{nope"),
        &[],
    );
    assert_error(&r, 400, 600);
    let r = pa.req(
        Method::POST,
        "/_api/replication/applier-start",
        Some(""),
        &[],
    );
    assert_error(&r, 405, 405);
    let r = pa.req(
        Method::PUT,
        "/_api/replication/applier-start?from=abc",
        Some(""),
        &[],
    );
    assert_error(&r, 400, 400);
    let r = pa.req(
        Method::PUT,
        "/_api/replication/applier-config",
        Some(r#"{"requestTimeout":"x"}"#),
        &[],
    );
    assert!(r.status >= 400, "{}", r.body);
    assert!(!proxy.dir.join("appliers/applier-%5Fsystem.json").exists());
}

/// A proxy in front of `upstream` whose directory outlives it, so it can be started again on its port.
fn restartable_proxy(upstream: &Server) -> (tempfile::TempDir, Server, u16) {
    let pdir = tempfile::tempdir().unwrap();
    let proxy = Server::proxy_at(pdir.path(), 0, upstream, &[]);
    let port = proxy.port();
    (pdir, proxy, port)
}

#[test]
fn kill9_of_the_proxy_while_tailing_applies_everything_exactly_once() {
    let leader = Server::start(&[]);
    let upstream = Server::start(COMPAT);
    let (pdir, mut proxy, port) = restartable_proxy(&upstream);
    let (la, ua) = (Api::new(&leader), Api::new(&upstream));
    la.post("/_api/collection", json!({"name": "c"}));
    let r = make_follower(&Api::new(&proxy), "_system", &leader, json!({}));
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    wait_converged(&la, &ua, "_system", 30);
    let from: u64 = ua.get("/_api/wal/lastTick").body["tick"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // the leader writes (single documents, arrays, transactions) while the proxy is killed twice
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, written) = (stop.clone(), written.clone());
        let base = leader.url.clone();
        std::thread::spawn(move || {
            let api = Api {
                c: reqwest::blocking::Client::new(),
                base,
                auth: Some(("root".into(), "pw".into())),
                bearer: None,
            };
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let docs: Vec<Value> = (0..20)
                    .map(|j| json!({"_key": format!("w{i}-{j}"), "n": i}))
                    .collect();
                let r = api.post("/_api/document/c", Value::Array(docs));
                assert!(r.status < 300, "{}", r.body);
                api.patch(
                    &format!("/_api/document/c/w{i}-0"),
                    json!({"touched": true}),
                );
                if i.is_multiple_of(3) {
                    api.delete(&format!("/_api/document/c/w{i}-1"));
                }
                i += 1;
                written.store(i, Ordering::Relaxed);
            }
        })
    };
    for round in 0..2 {
        let at = written.load(Ordering::Relaxed);
        wait_for("the leader to write", 30, || {
            written.load(Ordering::Relaxed) > at + 30
        });
        proxy.kill9();
        std::thread::sleep(std::time::Duration::from_millis(200 + 300 * round));
        proxy = Server::proxy_at(pdir.path(), port, &upstream, &[]);
    }
    let at = written.load(Ordering::Relaxed);
    wait_for("the leader to write", 30, || {
        written.load(Ordering::Relaxed) > at + 20
    });
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    wait_converged(&la, &ua, "_system", 60);
    let pa = Api::new(&proxy);
    assert_eq!(
        pa.get("/_api/replication/applier-state").body["state"]["running"],
        true
    );

    // exactly once: the upstream logged as many document operations of `c` as the leader did
    let leader_from: u64 = 0;
    let on_leader = document_markers(&la, "_system", "c", leader_from);
    let on_upstream = document_markers(&ua, "_system", "c", from);
    assert_eq!(
        on_upstream, on_leader,
        "the upstream applied a different number of document operations than the leader made"
    );
    assert_eq!(picture(&la, "_system"), picture(&ua, "_system"));
}

#[test]
fn an_upstream_restarted_under_load_is_waited_for() {
    let leader = Server::start(&[]);
    let udir = tempfile::tempdir().unwrap();
    let mut upstream = Server::start_at(udir.path(), 0, COMPAT);
    let uport = upstream.port();
    let proxy = Server::proxy(&upstream, &[]);
    let la = Api::new(&leader);
    la.post("/_api/collection", json!({"name": "c"}));
    let r = make_follower(&Api::new(&proxy), "_system", &leader, json!({}));
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    for round in 0..3 {
        insert_many(
            &la,
            "_system",
            "c",
            (0..300)
                .map(|i| json!({"_key": format!("r{round}-{i}"), "i": i}))
                .collect(),
        );
        upstream.kill9();
        // writes while the upstream is down wait in the leader's log
        insert_many(
            &la,
            "_system",
            "c",
            (0..300)
                .map(|i| json!({"_key": format!("down{round}-{i}"), "i": i}))
                .collect(),
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
        upstream = Server::start_at(udir.path(), uport, COMPAT);
    }
    let ua = Api::new(&upstream);
    wait_converged(&la, &ua, "_system", 90);
    let s = Api::new(&proxy).get("/_api/replication/applier-state");
    assert_eq!(s.body["state"]["running"], true, "{}", s.body);
    assert_eq!(ua.get("/_api/collection/c/count").body["count"], 1800);
}

#[test]
fn the_leader_wins_over_writes_made_directly_in_the_upstream() {
    let (leader, upstream, proxy) = trio();
    let (la, ua) = (Api::new(&leader), Api::new(&upstream));
    la.post("/_api/collection", json!({"name": "c"}));
    la.post(
        "/_api/index?collection=c",
        json!({"type": "persistent", "fields": ["email"], "unique": true}),
    );
    la.post("/_api/document/c", json!({"_key": "a", "email": "a@x"}));
    let r = make_follower(&Api::new(&proxy), "_system", &leader, json!({}));
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    wait_converged(&la, &ua, "_system", 30);
    // someone writes into the upstream directly: a document the leader will write too, and one holding
    // a unique value the leader will give to another key
    ua.post("/_api/document/c", json!({"_key": "b", "email": "mine@x"}));
    ua.post(
        "/_api/document/c",
        json!({"_key": "squatter", "email": "c@x"}),
    );
    ua.patch("/_api/document/c/a", json!({"email": "changed@x"}));
    la.post("/_api/document/c", json!({"_key": "b", "email": "b@x"}));
    la.post("/_api/document/c", json!({"_key": "c", "email": "c@x"}));
    la.patch("/_api/document/c/a", json!({"n": 1}));
    wait_for("the leader's documents upstream", 30, || {
        ua.get("/_api/document/c/c").status == 200 && ua.get("/_api/document/c/a").body["n"] == 1
    });
    assert_eq!(ua.get("/_api/document/c/b").body["email"], "b@x");
    assert_eq!(ua.get("/_api/document/c/c").body["email"], "c@x");
    assert_eq!(ua.get("/_api/document/c/squatter").status, 404);
    assert_eq!(ua.get("/_api/document/c/a").body["email"], "a@x");
    let s = Api::new(&proxy).get("/_api/replication/applier-state");
    assert_eq!(s.body["state"]["running"], true, "{}", s.body);
}

#[test]
fn arangorestores_endpoints_keep_what_they_are_given() {
    let s = Server::start(COMPAT);
    let api = Api::new(&s);
    let params = json!({"name": "r", "type": 3, "id": "4242", "globallyUniqueId": "guid-r",
                        "keyOptions": {"type": "autoincrement", "allowUserKeys": true, "increment": 5, "offset": 0}});
    let body = json!({"parameters": params, "indexes": [
        {"id": "77", "type": "persistent", "fields": ["a"], "unique": true, "name": "byA"}]});
    let r = api.put("/_api/replication/restore-collection", body.clone());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["result"], true);
    let p = api.get("/_api/collection/r/properties").body;
    assert_eq!(p["globallyUniqueId"], "guid-r");
    assert_eq!(p["type"], 3);
    assert_eq!(p["keyOptions"]["type"], "autoincrement");
    let idx = api.get("/_api/index/r/77");
    assert_eq!(idx.body["name"], "byA", "{}", idx.body);
    // exists: 1207 without overwrite, replaced with it
    assert_error(
        &api.put("/_api/replication/restore-collection", body.clone()),
        409,
        1207,
    );
    let r = api.put("/_api/replication/restore-collection?overwrite=true", body);
    assert_eq!(r.status, 200, "{}", r.body);
    // documents keep _key and _rev, in both line forms
    let lines = concat!(
        r#"{"_key":"1","_from":"x/1","_to":"x/2","_rev":"_hYjZT1K---","a":1}"#,
        "\n",
        r#"{"type":2300,"data":{"_key":"2","_from":"x/1","_to":"x/3","_rev":"_hYjZT1L---","a":2}}"#,
        "\n"
    );
    let r = api.req(
        Method::PUT,
        "/_api/replication/restore-data?collection=r",
        Some(lines),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(api.get("/_api/document/r/1").body["_rev"], "_hYjZT1K---");
    assert_eq!(api.get("/_api/document/r/2").body["a"], 2);
    let r = api.put(
        "/_api/replication/restore-indexes",
        json!({"parameters": {"name": "r"}, "indexes": [{"type": "persistent", "fields": ["b"], "name": "byB"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // bad input
    assert_error(
        &api.req(
            Method::PUT,
            "/_api/replication/restore-data?collection=r",
            Some("[1,2]\n"),
            &[],
        ),
        400,
        400,
    );
    assert_error(
        &api.req(
            Method::PUT,
            "/_api/replication/restore-data?collection=nope",
            Some("{}\n"),
            &[],
        ),
        404,
        1203,
    );
    assert_error(
        &api.put("/_api/replication/restore-collection", json!({"x": 1})),
        400,
        400,
    );
    assert_error(
        &api.req(
            Method::PUT,
            "/_api/replication/restore-collection",
            Some("{"),
            &[],
        ),
        400,
        600,
    );
    assert_error(&api.get("/_api/replication/restore-data"), 405, 405);
    assert_eq!(api.get("/_api/collection/r/count").body["count"], 2);
    let _ = endpoint(&s);
}

#[test]
fn an_incremental_sync_through_the_proxy_fetches_only_what_differs() {
    let (leader, upstream, proxy) = trio();
    let (la, ua, pa) = (Api::new(&leader), Api::new(&upstream), Api::new(&proxy));
    la.post("/_api/collection", json!({"name": "c"}));
    insert_many(
        &la,
        "_system",
        "c",
        (0..12_000)
            .map(|i| json!({"_key": format!("k{i:05}"), "i": i}))
            .collect(),
    );
    let r = common::repl::sync(&pa, "_system", &leader, json!({"includeSystem": false}));
    assert_eq!(r.status, 200, "{}", r.body);
    wait_converged(&la, &ua, "_system", 10);
    // the leader changes a little; the upstream has a document of its own
    la.patch("/_api/document/c/k00007", json!({"changed": true}));
    la.delete("/_api/document/c/k06000");
    la.post("/_api/document/c", json!({"_key": "k99999"}));
    ua.post("/_api/document/c", json!({"_key": "only-upstream"}));
    let r = common::repl::sync(
        &pa,
        "_system",
        &leader,
        json!({"includeSystem": false, "incremental": true}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(picture(&la, "_system"), picture(&ua, "_system"));
    assert_eq!(ua.get("/_api/document/c/only-upstream").status, 404);
    assert_eq!(ua.get("/_api/document/c/k00007").body["changed"], true);
    // only the differing documents came over (the sync's last progress message counts them)
    let (written, _) = common::repl::last_sync(&pa, "_system");
    assert!(written <= 2, "{written} written");
}

#[test]
fn a_3_12_10_leader_is_followed_into_a_3_12_10_upstream() {
    // both sides answer as 3.12.10: the leader has no wal/open-transactions, which a resuming applier
    // asks for (it then reads the leader's wal/range)
    let leader = Server::start(COMPAT);
    let upstream = Server::start(COMPAT);
    let proxy = Server::proxy(&upstream, &[]);
    let (la, ua, pa) = (Api::new(&leader), Api::new(&upstream), Api::new(&proxy));
    la.post("/_api/collection", json!({"name": "c"}));
    let r = make_follower(&pa, "_system", &leader, json!({}));
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    insert_many(
        &la,
        "_system",
        "c",
        (0..100).map(|i| json!({"_key": format!("a{i}")})).collect(),
    );
    wait_converged(&la, &ua, "_system", 30);
    let r = common::repl::applier(&pa, "_system", "applier-stop");
    assert_eq!(r.body["state"]["running"], false, "{}", r.body);
    insert_many(
        &la,
        "_system",
        "c",
        (0..100).map(|i| json!({"_key": format!("b{i}")})).collect(),
    );
    let r = common::repl::applier(&pa, "_system", "applier-start");
    assert_eq!(r.status, 200, "{}", r.body);
    wait_converged(&la, &ua, "_system", 30);
    let s = pa.get("/_api/replication/applier-state").body;
    assert_eq!(s["state"]["running"], true, "{s}");
    assert_eq!(s["state"]["lastError"]["errorNum"], 0, "{s}");
    // the leader endpoints a 3.12.10 upstream lacks are derived by the proxy
    let range = ua.get("/_api/wal/range").body;
    let r = pa.get(&format!(
        "/_api/wal/open-transactions?from={}&to={}",
        range["tickMin"].as_str().unwrap(),
        range["tickMax"].as_str().unwrap()
    ));
    assert_eq!(r.status, 204);
}

/// Names and document checksums of a database's own collections (what survives without
/// arangorestore's endpoints: not the ids).
fn contents(api: &Api) -> Vec<(String, Value, Value)> {
    let mut out: Vec<(String, Value, Value)> = common::repl::collection_names(api, "_system")
        .into_iter()
        .filter(|n| !n.starts_with('_'))
        .map(|n| {
            let sum = api.get(&format!(
                "/_api/collection/{n}/checksum?withRevisions=true&withData=true"
            ));
            let count = api.get(&format!("/_api/collection/{n}/count")).body["count"].clone();
            (n, sum.body["checksum"].clone(), count)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn an_upstream_without_arangorestores_endpoints_gets_the_collection_api() {
    let leader = Server::start(&[]);
    let upstream = Server::start(&[
        "--compat.arangodb-version",
        "3.12.10",
        "--compat.restore-api",
        "false",
    ]);
    let (pdir, mut proxy, port) = restartable_proxy(&upstream);
    let (la, ua) = (Api::new(&leader), Api::new(&upstream));
    assert_error(
        &ua.put(
            "/_api/replication/restore-collection",
            json!({"parameters": {"name": "x"}}),
        ),
        404,
        404,
    );
    la.post("/_api/collection", json!({"name": "c"}));
    la.post(
        "/_api/index?collection=c",
        json!({"type": "persistent", "fields": ["u"], "unique": true}),
    );
    insert_many(
        &la,
        "_system",
        "c",
        (0..500)
            .map(|i| json!({"_key": format!("k{i}"), "u": i}))
            .collect(),
    );
    let r = make_follower(&Api::new(&proxy), "_system", &leader, json!({}));
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    let converged = |what: &str| {
        wait_for(what, 30, || contents(&la) == contents(&ua));
    };
    converged("the initial sync");
    let idx = ua.get("/_api/index?collection=c").body;
    assert!(idx.to_string().contains("\"unique\":true"), "{idx}");
    // tailing finds the collections by the names the proxy kept for them
    insert_many(
        &la,
        "_system",
        "c",
        (500..600)
            .map(|i| json!({"_key": format!("k{i}"), "u": i}))
            .collect(),
    );
    la.post("/_api/collection", json!({"name": "d"}));
    la.post("/_api/document/d", json!({"_key": "x"}));
    la.put("/_api/collection/d/rename", json!({"name": "e"}));
    la.post("/_api/document/e", json!({"_key": "y"}));
    converged("tailing");
    // a restarted proxy reads those names back from the upstream
    proxy.kill9();
    proxy = Server::proxy_at(pdir.path(), port, &upstream, &[]);
    la.post("/_api/document/e", json!({"_key": "z"}));
    la.delete("/_api/document/c/k1");
    converged("tailing after the restart");
    let s = Api::new(&proxy).get("/_api/replication/applier-state").body;
    assert_eq!(s["state"]["running"], true, "{s}");
    assert_eq!(s["state"]["lastError"]["errorNum"], 0, "{s}");
    la.delete("/_api/collection/e");
    converged("the drop");
}

#[test]
fn kill9_of_the_proxy_during_the_initial_sync_syncs_again_after_restart() {
    let leader = Server::start(&[]);
    let upstream = Server::start(COMPAT);
    let (pdir, mut proxy, port) = restartable_proxy(&upstream);
    let (la, ua) = (Api::new(&leader), Api::new(&upstream));
    la.post("/_api/collection", json!({"name": "c"}));
    insert_many(
        &la,
        "_system",
        "c",
        (0..60_000)
            .map(|i| json!({"_key": format!("k{i}"), "pad": "0123456789abcdef0123456789abcdef"}))
            .collect(),
    );
    let pa = Api::new(&proxy);
    let r = pa.req(
        Method::PUT,
        "/_api/replication/make-follower",
        Some(
            &json!({"endpoint": endpoint(&leader), "username": "root", "password": "pw",
                    "chunkSize": 16384, "connectionRetryWaitTime": 0.25})
            .to_string(),
        ),
        &[("x-arango-async", "store")],
    );
    // an async job of the proxy's own
    assert_eq!(r.status, 202, "{}", r.text);
    let job = r.header("x-arango-async-id").unwrap().to_string();
    assert_eq!(pa.get(&format!("/_api/job/{job}")).status, 204, "pending");
    wait_for("the initial sync to copy something", 30, || {
        ua.get("/_api/collection/c/count").body["count"]
            .as_u64()
            .unwrap_or(0)
            > 0
    });
    proxy.kill9();
    let copied = ua.get("/_api/collection/c/count").body["count"]
        .as_u64()
        .unwrap_or(0);
    proxy = Server::proxy_at(pdir.path(), port, &upstream, &[]);
    wait_converged(&la, &ua, "_system", 60);
    assert!(la.post("/_api/document/c", json!({"_key": "later"})).status < 300);
    wait_converged(&la, &ua, "_system", 20);
    let s = Api::new(&proxy).get("/_api/replication/applier-state").body;
    assert_eq!(s["state"]["running"], true, "{s}");
    assert!(
        copied < 60_000,
        "the sync was cut short at {copied} documents"
    );
}

#[test]
fn an_async_sync_through_the_proxy_is_a_job_of_the_proxys_own() {
    let (leader, upstream, proxy) = trio();
    let (la, ua, pa) = (Api::new(&leader), Api::new(&upstream), Api::new(&proxy));
    la.post("/_api/collection", json!({"name": "c"}));
    la.post("/_api/document/c", json!({"_key": "a"}));
    let body = json!({"endpoint": endpoint(&leader), "username": "root", "password": "pw",
                      "includeSystem": false})
    .to_string();
    let r = pa.req(
        Method::PUT,
        "/_api/replication/sync",
        Some(&body),
        &[("x-arango-async", "store")],
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let job = r.header("x-arango-async-id").unwrap().to_string();
    let mut result = None;
    wait_for("the sync job", 30, || {
        let r = pa.req(Method::PUT, &format!("/_api/job/{job}"), None, &[]);
        if r.status == 200 {
            result = Some(r);
            true
        } else {
            assert_eq!(r.status, 204, "{}", r.text);
            false
        }
    });
    let r = result.unwrap();
    assert_eq!(r.header("x-arango-async-id"), Some(job.as_str()));
    assert!(r.body["lastLogTick"].is_string(), "{}", r.body);
    assert_eq!(ua.get("/_api/document/c/a").status, 200);
    // fetched once; other job ids are the upstream's
    assert_error(
        &pa.req(Method::PUT, &format!("/_api/job/{job}"), None, &[]),
        404,
        404,
    );
    let r = ua.req(
        Method::PUT,
        "/_api/document/c/a",
        Some("{}"),
        &[("x-arango-async", "store")],
    );
    let theirs = r.header("x-arango-async-id").unwrap().to_string();
    wait_for("the upstream's job", 10, || {
        pa.req(Method::PUT, &format!("/_api/job/{theirs}"), None, &[])
            .status
            == 202
    });
}

#[test]
fn the_appliers_write_with_a_token_from_the_upstreams_jwt_secret() {
    let leader = Server::start(&[]);
    let upstream = Server::start(&[
        "--compat.arangodb-version",
        "3.12.10",
        "--server.jwt-secret",
        "upstream-secret",
    ]);
    let keyfile = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(keyfile.path(), "upstream-secret\n").unwrap();
    let proxy = Server::proxy(
        &upstream,
        &[
            "--upstream.jwt-secret-keyfile",
            keyfile.path().to_str().unwrap(),
        ],
    );
    let (la, ua) = (Api::new(&leader), Api::new(&upstream));
    la.post("/_api/collection", json!({"name": "c"}));
    la.post("/_api/document/c", json!({"_key": "a"}));
    let r = make_follower(&Api::new(&proxy), "_system", &leader, json!({}));
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    wait_converged(&la, &ua, "_system", 30);
}

#[test]
fn forwarding_keeps_bodies_encodings_and_headers() {
    let upstream = Server::start(COMPAT);
    let proxy = Server::proxy(&upstream, &[]);
    let (ua, pa) = (Api::new(&upstream), Api::new(&proxy));
    ua.post("/_api/collection", json!({"name": "c"}));
    // a large body goes through with its length
    let docs: Vec<Value> = (0..20_000)
        .map(|i| json!({"_key": format!("k{i}"), "pad": "x".repeat(100)}))
        .collect();
    let r = pa.post("/_api/document/c", Value::Array(docs));
    assert_eq!(r.status, 202, "{}", r.text.len());
    assert_eq!(ua.get("/_api/collection/c/count").body["count"], 20_000);
    // a compressed request body, and a compressed answer, pass as they are
    let raw = |base: &str, path: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>| {
        let mut rq = reqwest::blocking::Client::new()
            .request(
                if body.is_some() {
                    Method::POST
                } else {
                    Method::GET
                },
                format!("{base}{path}"),
            )
            .basic_auth("root", Some("pw"));
        for (k, v) in headers {
            rq = rq.header(*k, *v);
        }
        if let Some(b) = body {
            rq = rq.body(b);
        }
        let r = rq.send().unwrap();
        let status = r.status().as_u16();
        let enc = r
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap().to_string());
        (status, enc, r.bytes().unwrap().to_vec())
    };
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(br#"{"_key":"zipped","v":1}"#).unwrap();
        e.finish().unwrap()
    };
    let (st, _, _) = raw(
        &proxy.url,
        "/_api/document/c",
        &[
            ("content-encoding", "gzip"),
            ("content-type", "application/json"),
        ],
        Some(gz),
    );
    assert!(st < 300, "{st}");
    assert_eq!(ua.get("/_api/document/c/zipped").body["v"], 1);
    ua.post(
        "/_api/document/c",
        json!({"_key": "big", "pad": "y".repeat(8000)}),
    );
    let (s1, e1, b1) = raw(
        &upstream.url,
        "/_api/document/c/big",
        &[("accept-encoding", "gzip")],
        None,
    );
    let (s2, e2, b2) = raw(
        &proxy.url,
        "/_api/document/c/big",
        &[("accept-encoding", "gzip")],
        None,
    );
    assert_eq!((s1, &e1), (s2, &e2));
    assert_eq!(e2.as_deref(), Some("gzip"));
    assert_eq!(b1, b2);
    // HEAD and conditional requests with their headers
    let head = pa.req(Method::HEAD, "/_api/document/c/k1", None, &[]);
    assert_eq!(head.status, 200);
    let etag = head.header("etag").unwrap().to_string();
    let r = pa.req(
        Method::GET,
        "/_api/document/c/k1",
        None,
        &[("if-none-match", &etag)],
    );
    assert_eq!(r.status, 304);
    // the upstream gone: ArangoDB's envelope, 503
    drop(upstream);
    let r = pa.get("/_api/version");
    assert_error(&r, 503, 503);
}

/// Through the proxy, the server-level sync copies every leader database into the real server (databases
/// created through its `/_api/database`), and the server-level applier's configuration is kept in the
/// upstream's `_system` without its password.
#[test]
fn server_level_sync_and_configuration_through_the_proxy() {
    let (leader, upstream, proxy) = trio();
    let (la, ua, pa) = (Api::new(&leader), Api::new(&upstream), Api::new(&proxy));
    assert_eq!(
        la.post("/_api/database", json!({"name": "tenant"})).status,
        201
    );
    la.post("/_db/tenant/_api/collection", json!({"name": "orders"}));
    let r = la.post(
        "/_db/tenant/_api/document/orders",
        json!([{"_key": "a", "n": 1}, {"_key": "b", "n": 2}]),
    );
    assert!(r.status < 300, "{}", r.body);
    let config = json!({"endpoint": leader.url.replace("http://", "tcp://"), "username": "root",
                        "password": "pw", "includeSystem": false});
    let r = pa.put("/_api/replication/sync?global=true", config.clone());
    assert_eq!(r.status, 200, "{}", r.body);
    let count = ua.get("/_db/tenant/_api/collection/orders/count");
    assert_eq!(count.body["count"], 2, "{}", count.body);

    let put = pa.put("/_api/replication/applier-config?global=true", config);
    assert_eq!(put.status, 200, "{}", put.body);
    assert!(!put.body.to_string().contains("\"pw\""), "{}", put.body);
    let got = pa.get("/_api/replication/applier-config?global=true");
    assert_eq!(got.body, put.body);
    // kept in the upstream's _system, without the password
    let kept = ua.get("/_api/document/_arangorepl/global-applier");
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert!(!kept.body.to_string().contains("\"pw\""), "{}", kept.body);
    // the database's own configuration is another one
    assert!(
        pa.get("/_api/replication/applier-config")
            .body
            .get("endpoint")
            .is_none()
    );
}

/// A database dropped through the proxy takes its applier and the configuration the proxy kept for it
/// (with its password): created again, it starts with defaults.
#[test]
fn a_database_dropped_through_the_proxy_takes_its_applier_with_it() {
    let (leader, _upstream, proxy) = trio();
    let (la, pa) = (Api::new(&leader), Api::new(&proxy));
    drop_a_followed_database(&la, &pa, &leader, "gone");
}

/// The server-level applier through the proxy: `setupReplicationGlobal`'s request, databases created
/// and dropped on the leader created and dropped in the upstream through `/_api/database`, every
/// database's changes applied, and the proxy killed twice while the leader writes: the upstream ends
/// with every database as the leader has it, and the applier started again by itself (autoStart).
#[test]
fn the_server_level_applier_through_the_proxy_follows_every_database() {
    let leader = Server::start(&[]);
    let upstream = Server::start(COMPAT);
    let (pdir, mut proxy, port) = restartable_proxy(&upstream);
    let (la, ua) = (Api::new(&leader), Api::new(&upstream));
    let create = |db: &str| {
        assert_eq!(la.post("/_api/database", json!({"name": db})).status, 201);
        let r = la.post(
            &format!("/_db/{}/_api/collection", enc(db)),
            json!({"name": "orders"}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    };
    create("tenant-a");
    let r = global(
        &Api::new(&proxy),
        "make-follower",
        global_config(&leader, json!({})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    wait_server_converged(&la, &ua, 30);
    for round in 0..3 {
        let db = format!("tenant-{round}");
        create(&db);
        insert_many(
            &la,
            &db,
            "orders",
            (0..300)
                .map(|i| json!({"_key": format!("o{i}"), "round": round}))
                .collect(),
        );
        insert_many(
            &la,
            "tenant-a",
            "orders",
            (0..50)
                .map(|i| json!({"_key": format!("r{round}-{i}")}))
                .collect(),
        );
        if round == 1 {
            assert_eq!(la.delete("/_api/database/tenant-0").status, 200);
        }
        proxy.kill9();
        std::thread::sleep(std::time::Duration::from_millis(100 + 200 * round));
        proxy = Server::proxy_at(pdir.path(), port, &upstream, &[]);
    }
    wait_server_converged(&la, &ua, 60);
    let s = global_state(&Api::new(&proxy))["state"].clone();
    assert_eq!(s["running"], true, "{s}");
    assert_eq!(s["lastError"]["errorNum"], 0, "{s}");
    // each database keeps the server-level position with its data; the password stays in the proxy
    let pos = ua.get("/_db/tenant-a/_api/document/_arangorepl/global-position");
    assert_eq!(pos.status, 200, "{}", pos.body);
    let kept = ua.get("/_api/document/_arangorepl/global-applier");
    assert!(!kept.body.to_string().contains("\"pw\""), "{}", kept.body);
}
