//! Initial synchronisation between two real `arangorepl serve` processes: full and incremental sync,
//! filters, the applier configuration, and failures (leader down, wrong password, loops, bad input,
//! concurrent syncs, a follower killed mid-sync).

mod common;

use common::api::{Api, Resp, assert_error};
use common::repl::*;
use common::rng::Rng;
use common::server::Server;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[test]
fn full_sync_copies_everything_exactly() {
    let l = Server::start(&[]);
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    let db = "Ünïcødé-Daten";
    assert_eq!(la.post("/_api/database", json!({"name": db})).status, 201);
    assert_eq!(fa.post("/_api/database", json!({"name": db})).status, 201);
    let d = format!("/_db/{}", enc(db));
    la.post(
        &format!("{d}/_api/collection"),
        json!({"name": "docs", "waitForSync": true}),
    );
    la.post(
        &format!("{d}/_api/collection"),
        json!({"name": "edges", "type": 3}),
    );
    la.post(
        &format!("{d}/_api/collection"),
        json!({"name": "auto", "keyOptions": {"type": "autoincrement"}}),
    );
    // _graphs and _jobs exist in every database, as in ArangoDB
    for spec in [
        json!({"type": "hash", "fields": ["email"], "unique": true, "sparse": true, "name": "byEmail"}),
        json!({"type": "skiplist", "fields": ["age", "name"], "name": "byAge"}),
        json!({"type": "persistent", "fields": ["n"], "unique": true}),
    ] {
        let r = la.post(&format!("{d}/_api/index?collection=docs"), spec);
        assert_eq!(r.status, 201, "{}", r.body);
    }
    insert_many(
        &la,
        db,
        "docs",
        (0..100_000)
            .map(|i| {
                let mut d = json!({"_key": format!("k{i:06}"), "n": i, "age": i % 90,
                                   "name": format!("näme {i}"), "nested": {"a": [1, 2, {"b": i}]}});
                if i % 3 == 0 {
                    d["email"] = json!(format!("u{i}@example.org"));
                }
                d
            })
            .collect(),
    );
    insert_many(
        &la,
        db,
        "edges",
        (0..2000)
            .map(|i| json!({"_from": format!("docs/k{:06}", i), "_to": format!("docs/k{:06}", i + 1)}))
            .collect(),
    );
    insert_many(&la, db, "auto", (0..100).map(|i| json!({"i": i})).collect());
    insert_many(
        &la,
        db,
        "_graphs",
        vec![json!({"_key": "g", "edgeDefinitions": []})],
    );
    insert_many(&la, db, "_jobs", vec![json!({"_key": "j"})]);
    la.post(
        "/_api/user",
        json!({"user": "alice", "passwd": "wonderland"}),
    );
    // the follower has data of its own that the sync must replace
    fa.post(&format!("{d}/_api/collection"), json!({"name": "docs"}));
    insert_many(&fa, db, "docs", vec![json!({"_key": "stale"})]);
    fa.post(&format!("{d}/_api/collection"), json!({"name": "onlyHere"}));

    let t = Instant::now();
    let r = sync(&fa, db, &l, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    eprintln!("full sync of 100,000+ documents: {:?}", t.elapsed());
    let names: Vec<&str> = r.body["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"docs") && names.contains(&"_graphs"));
    assert!(
        !names.contains(&"_jobs"),
        "foxx queues are left out by default"
    );
    let tick: u64 = r.body["lastLogTick"].as_str().unwrap().parse().unwrap();
    assert!(tick > 0);
    for c in ["docs", "edges", "auto", "_graphs"] {
        assert_eq!(fingerprint(&la, db, c), fingerprint(&fa, db, c), "{c}");
    }
    let fnames = collection_names(&fa, db);
    assert_eq!(
        fa.get(&format!("{d}/_api/document/_jobs/j")).status,
        404,
        "the follower's own _jobs stays as it was"
    );
    assert!(
        fnames.contains(&"onlyHere".to_string()),
        "collections the leader does not have are left alone"
    );
    assert_eq!(fa.get(&format!("{d}/_api/document/docs/stale")).status, 404);
    let doc = fa.get(&format!("{d}/_api/document/docs/k000003"));
    assert_eq!(
        doc.body,
        la.get(&format!("{d}/_api/document/docs/k000003")).body
    );
    // the follower knows the leader's users now (the _system database was not synced: alice is absent)
    assert_eq!(
        fa.as_user("alice", "wonderland")
            .get("/_api/version")
            .status,
        401
    );
    let st = state(&fa, db);
    assert_eq!(st["state"]["phase"], "inactive");
    assert_eq!(st["state"]["lastError"]["errorNum"], 0);
    assert!(
        st["state"]["progress"]["message"]
            .as_str()
            .unwrap()
            .contains("finished")
    );

    // with the foxx queues
    let r = sync(&fa, db, &l, json!({"includeFoxxQueues": true}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(fingerprint(&la, db, "_jobs"), fingerprint(&fa, db, "_jobs"));

    // _system with its users: afterwards alice can log in on the follower
    let r = sync(&fa, "_system", &l, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        fa.as_user("alice", "wonderland")
            .get("/_api/version")
            .status,
        200
    );
}

#[test]
fn incremental_sync_fetches_only_what_differs() {
    let l = Server::start(&[]);
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    let db = "inc";
    la.post("/_api/database", json!({"name": db}));
    fa.post("/_api/database", json!({"name": db}));
    let d = "/_db/inc";
    la.post(&format!("{d}/_api/collection"), json!({"name": "c"}));
    la.post(
        &format!("{d}/_api/index?collection=c"),
        json!({"type": "persistent", "fields": ["u"], "unique": true}),
    );
    insert_many(
        &la,
        db,
        "c",
        (0..12_000)
            .map(|i| json!({"_key": format!("k{i:05}"), "u": i, "v": "x"}))
            .collect(),
    );
    // what the last sync wrote and removed (its closing progress message)
    let written = |fa: &Api| last_sync(fa, db).0;
    let removed = |fa: &Api| last_sync(fa, db).1;
    let inc = json!({"incremental": true});
    let same = |fa: &Api| assert_eq!(fingerprint(&la, db, "c"), fingerprint(fa, db, "c"));

    // empty follower: everything comes over
    let r = sync(&fa, db, &l, inc.clone());
    assert_eq!(r.status, 200, "{}", r.body);
    same(&fa);
    assert_eq!(written(&fa), 12_000);

    // the same: nothing travels
    assert_eq!(sync(&fa, db, &l, inc.clone()).status, 200);
    same(&fa);
    assert_eq!(
        written(&fa),
        0,
        "an unchanged collection transfers no documents"
    );

    // fewer on the follower
    for i in (0..12_000).step_by(100) {
        fa.delete(&format!("{d}/_api/document/c/k{i:05}"));
    }
    assert_eq!(sync(&fa, db, &l, inc.clone()).status, 200);
    same(&fa);
    assert_eq!(written(&fa), 120);

    // more on the follower (before, inside and after the leader's key range)
    insert_many(
        &fa,
        db,
        "c",
        vec![
            json!({"_key": "a-first", "u": -100}),
            json!({"_key": "k05000x", "u": -101}),
            json!({"_key": "zzz", "u": -102}),
        ],
    );
    assert_eq!(sync(&fa, db, &l, inc.clone()).status, 200);
    same(&fa);
    assert_eq!(written(&fa), 0);
    assert_eq!(removed(&fa), 3);

    // different values under the same keys
    for i in 0..50 {
        fa.patch(
            &format!("{d}/_api/document/c/k{:05}", i * 200),
            json!({"v": "changed"}),
        );
    }
    assert_eq!(sync(&fa, db, &l, inc.clone()).status, 200);
    same(&fa);
    assert_eq!(written(&fa), 50);

    // different keys: the follower's collection holds other documents entirely
    fa.put(&format!("{d}/_api/collection/c/truncate"), json!({}));
    insert_many(
        &fa,
        db,
        "c",
        (0..500)
            .map(|i| json!({"_key": format!("other{i}"), "u": -1000 - i}))
            .collect(),
    );
    assert_eq!(sync(&fa, db, &l, inc.clone()).status, 200);
    same(&fa);

    // unique values swapped between two documents on the leader
    la.patch(&format!("{d}/_api/document/c/k00001"), json!({"u": -1}));
    la.patch(&format!("{d}/_api/document/c/k00002"), json!({"u": 1}));
    la.patch(&format!("{d}/_api/document/c/k00001"), json!({"u": 2}));
    let r = sync(&fa, db, &l, inc.clone());
    assert_eq!(r.status, 200, "{}", r.body);
    same(&fa);
    assert_eq!(fa.get(&format!("{d}/_api/document/c/k00001")).body["u"], 2);

    // the leader's collection emptied
    la.put(&format!("{d}/_api/collection/c/truncate"), json!({}));
    assert_eq!(sync(&fa, db, &l, inc).status, 200);
    same(&fa);
}

#[test]
fn without_fingerprints_unchanged_collections_are_compared_by_key_ranges() {
    // a leader that answers exactly as ArangoDB (no fingerprints)
    let l = Server::start(&["--replication.fingerprints", "false"]);
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    la.post("/_api/collection", json!({"name": "c"}));
    insert_many(
        &la,
        "_system",
        "c",
        (0..12_000)
            .map(|i| json!({"_key": format!("k{i:05}")}))
            .collect(),
    );
    let bid = la.post("/_api/replication/batch", json!({"ttl": 30})).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let k = la.post(
        &format!("/_api/replication/keys?collection=c&batchId={bid}"),
        json!(null),
    );
    assert!(k.body.get("fingerprint").is_none(), "{}", k.body);
    let opts = json!({"incremental": true, "includeSystem": false});
    assert_eq!(sync(&fa, "_system", &l, opts.clone()).status, 200);
    let written = |fa: &Api| last_sync(fa, "_system").0;
    let r = sync(&fa, "_system", &l, opts.clone());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(written(&fa), 0);
    let msg = state(&fa, "_system")["state"]["progress"]["message"].to_string();
    assert!(msg.contains("finished"), "{msg}");
    // one changed document: found through the ranges
    fa.patch("/_api/document/c/k00042", json!({"x": 1}));
    assert_eq!(sync(&fa, "_system", &l, opts).status, 200);
    assert_eq!(written(&fa), 1);
    assert_eq!(
        fingerprint(&la, "_system", "c"),
        fingerprint(&fa, "_system", "c")
    );
}

#[test]
fn restrictions_system_collections_and_skip_create_drop() {
    let l = Server::start(&[]);
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    for c in ["a", "b", "c"] {
        la.post("/_api/collection", json!({"name": c}));
        insert_many(&la, "_system", c, vec![json!({"_key": "x"})]);
    }
    // _jobs exists on both (every database has it); only its documents may travel
    la.post("/_api/document/_jobs", json!({"_key": "job"}));
    let has = |name: &str| collection_names(&fa, "_system").contains(&name.to_string());
    let has_job = |fa: &Api| fa.get("/_api/document/_jobs/job").status == 200;
    let r = sync(
        &fa,
        "_system",
        &l,
        json!({"restrictType": "include", "restrictCollections": ["a", "b"], "includeSystem": false}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["collections"].as_array().unwrap().len(), 2);
    assert!(has("a") && has("b") && !has("c"));
    fa.delete("/_api/collection/a");
    fa.delete("/_api/collection/b");
    let r = sync(
        &fa,
        "_system",
        &l,
        json!({"restrictType": "exclude", "restrictCollections": ["a"], "includeSystem": false}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!has("a") && has("b") && has("c") && !has_job(&fa));
    // includeFoxxQueues brings _jobs along
    let r = sync(
        &fa,
        "_system",
        &l,
        json!({"includeFoxxQueues": true, "restrictType": "include", "restrictCollections": ["_jobs"]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(has_job(&fa));
    // skipCreateDrop: existing collections are filled, missing ones are an error
    let r = sync(
        &fa,
        "_system",
        &l,
        json!({"skipCreateDrop": true, "restrictType": "include", "restrictCollections": ["b"]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = sync(
        &fa,
        "_system",
        &l,
        json!({"skipCreateDrop": true, "restrictType": "include", "restrictCollections": ["a"]}),
    );
    assert_error(&r, 404, 1203);
    // invalid restrictions
    assert_error(
        &sync(&fa, "_system", &l, json!({"restrictType": "include"})),
        400,
        1410,
    );
    assert_error(
        &sync(
            &fa,
            "_system",
            &l,
            json!({"restrictType": "sometimes", "restrictCollections": ["a"]}),
        ),
        400,
        1410,
    );
}

#[test]
fn applier_configuration_is_validated_merged_and_keeps_secrets() {
    let f = Server::start(&[]);
    let fa = Api::new(&f);
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/arangodb/replication-applier-config-get.3.11.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let got = fa.get("/_api/replication/applier-config");
    assert_eq!(got.status, 200);
    let ours: Vec<&String> = got.body.as_object().unwrap().keys().collect();
    let theirs: Vec<&String> = fixture.as_object().unwrap().keys().collect();
    assert_eq!(ours, theirs, "same attributes in the same order");
    for (k, v) in fixture.as_object().unwrap() {
        if k != "endpoint" && k != "database" && k != "username" {
            assert_eq!(&got.body[k], v, "default of {k}");
        }
    }
    let put = fa.put(
        "/_api/replication/applier-config",
        json!({"endpoint": "tcp://127.0.0.1:1", "username": "replicator", "password": "s3cret!",
               "chunkSize": 4194304, "autoStart": false}),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    assert!(!put.body.to_string().contains("s3cret"));
    let put2 = fa.put("/_api/replication/applier-config", json!({"verbose": true}));
    assert_eq!(
        put2.body["chunkSize"], 4194304,
        "merged into the stored configuration"
    );
    assert_eq!(put2.body["username"], "replicator");
    assert_eq!(put2.body["verbose"], true);
    for bad in [
        json!({"chunkSize": "x"}),
        json!({"autoResync": "yes"}),
        json!({"restrictType": "include"}),
        json!({"endpoint": "nonsense"}),
        json!({"connectTimeout": -1}),
        json!({"noSuchAttribute": true}),
    ] {
        let r = fa.put("/_api/replication/applier-config", bad.clone());
        assert_error(&r, 400, 1410);
        assert!(
            r.body["errorMessage"].as_str().unwrap().contains('<'),
            "{bad}: names the attribute"
        );
    }
    assert_error(
        &fa.req(
            Method::PUT,
            "/_api/replication/applier-config",
            Some("{nope"),
            &[],
        ),
        400,
        600,
    );
    assert_eq!(fa.get("/_api/replication/applier-config").body, put2.body);
    // the server-level applier's configuration is its own, kept beside the database's
    let global_defaults = fa.get("/_api/replication/applier-config?global=true");
    assert_eq!(global_defaults.status, 200, "{}", global_defaults.body);
    assert!(global_defaults.body.get("endpoint").is_none());
    assert!(global_defaults.body.get("database").is_none());
    let gput = fa.req(
        Method::PUT,
        "/_api/replication/applier-config?global=true",
        Some(
            &json!({"endpoint": "tcp://127.0.0.1:2", "username": "everything", "password": "gl0bal!",
                    "autoStart": true, "includeSystem": false})
            .to_string(),
        ),
        &[],
    );
    assert_eq!(gput.status, 200, "{}", gput.body);
    assert!(!gput.body.to_string().contains("gl0bal"));
    assert!(
        gput.body.get("database").is_none(),
        "no database of its own: {}",
        gput.body
    );
    assert_eq!(gput.body["username"], "everything");
    assert_eq!(
        fa.get("/_api/replication/applier-config").body["username"],
        "replicator"
    );
    assert_error(
        &fa.req(
            Method::PUT,
            "/_api/replication/applier-config?global=true",
            Some(r#"{"chunkSize": "x"}"#),
            &[],
        ),
        400,
        1410,
    );
    assert_eq!(
        fa.post("/_api/database", json!({"name": "other"})).status,
        201
    );
    assert_error(
        &fa.get("/_db/other/_api/replication/applier-config?global=true"),
        403,
        11,
    );
    let gstate = fa.get("/_api/replication/applier-state?global=true");
    assert_eq!(
        gstate.body["endpoint"], "tcp://127.0.0.1:2",
        "{}",
        gstate.body
    );
    assert_eq!(gstate.body["state"]["running"], false);
    // it starts with that configuration (the leader is not there: it retries) and stops
    let started = fa.req(
        Method::PUT,
        "/_api/replication/applier-start?global=true",
        None,
        &[],
    );
    assert_eq!(started.status, 200, "{}", started.body);
    assert_eq!(started.body["endpoint"], "tcp://127.0.0.1:2");
    let stopped = fa.req(
        Method::PUT,
        "/_api/replication/applier-stop?global=true",
        None,
        &[],
    );
    assert_eq!(stopped.body["state"]["running"], false, "{}", stopped.body);
    assert!(!stopped.body.to_string().contains("gl0bal"));
    // persisted across a restart, and the password is not in the server's output
    let mut f = f;
    let dir = f.keep_dir().unwrap();
    f.terminate();
    let f2 = Server::start_in(dir.path(), &[]);
    let fa2 = Api::new(&f2);
    assert_eq!(fa2.get("/_api/replication/applier-config").body, put2.body);
    assert_eq!(
        fa2.get("/_api/replication/applier-config?global=true").body,
        gput.body
    );
    // forgetting the server-level applier leaves the database's alone
    let forgot = fa2.delete("/_api/replication/applier-state?global=true");
    assert_eq!(forgot.status, 200, "{}", forgot.body);
    assert!(
        fa2.get("/_api/replication/applier-config?global=true")
            .body
            .get("endpoint")
            .is_none()
    );
    assert_eq!(fa2.get("/_api/replication/applier-config").body, put2.body);
    let st = fa2.get("/_api/replication/applier-state").body.to_string();
    assert!(!st.contains("s3cret"));
    // forget: back to defaults
    let r = fa2.delete("/_api/replication/applier-state");
    assert_eq!(r.status, 200);
    assert!(
        fa2.get("/_api/replication/applier-config")
            .body
            .get("endpoint")
            .is_none()
    );
}

#[test]
fn failures_are_clear_and_leave_the_follower_usable() {
    let mut l = Server::start(&[]);
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    la.post("/_api/database", json!({"name": "d"}));
    fa.post("/_api/database", json!({"name": "d"}));
    la.post("/_db/d/_api/collection", json!({"name": "big"}));
    insert_many(
        &la,
        "d",
        "big",
        (0..60_000)
            .map(|i| json!({"_key": format!("b{i:06}"), "pad": "p".repeat(100)}))
            .collect(),
    );
    // wrong password: a 401 from the leader, said so
    let r = sync(&fa, "d", &l, json!({"password": "wrong"}));
    assert_error(&r, 500, 1402);
    assert!(r.body["errorMessage"].as_str().unwrap().contains("401"));
    assert!(!r.body["errorMessage"].as_str().unwrap().contains("wrong"));
    // the follower itself as leader
    assert_error(&sync(&fa, "d", &f, json!({})), 500, 1405);
    // a database the follower does not have / the leader does not have
    assert_error(&sync(&fa, "nope", &l, json!({})), 404, 1228);
    fa.post("/_api/database", json!({"name": "onlyfollower"}));
    let r = sync(&fa, "onlyfollower", &l, json!({}));
    assert_error(&r, 500, 1402);
    // no endpoint, bad attributes
    let r = fa.put("/_db/d/_api/replication/sync", json!({"username": "root"}));
    assert_error(&r, 400, 400);
    assert_error(
        &sync(&fa, "d", &l, json!({"incremental": "yes"})),
        400,
        1410,
    );
    // an unreachable leader: retried, then 1400
    let t = Instant::now();
    let r = fa.put(
        "/_db/d/_api/replication/sync",
        json!({"endpoint": "tcp://127.0.0.1:1", "maxConnectRetries": 2, "connectionRetryWaitTime": 0.1}),
    );
    assert_error(&r, 500, 1400);
    assert!(t.elapsed() >= Duration::from_millis(200));

    // a second sync while one runs: 28 (locked); the applier's configuration may change meanwhile (the
    // sync runs on its own), and an applier start waits for the sync to end
    let job = fa.req(
        Method::PUT,
        "/_db/d/_api/replication/sync",
        Some(&json!({"endpoint": endpoint(&l), "username": "root", "password": "pw", "chunkSize": 16384}).to_string()),
        &[("x-arango-async", "store")],
    );
    assert_eq!(job.status, 202);
    let id = job.header("x-arango-async-id").unwrap().to_string();
    std::thread::sleep(Duration::from_millis(50));
    let second = sync(&fa, "d", &l, json!({}));
    assert_error(&second, 500, 28);
    let cfg = fa.put(
        "/_db/d/_api/replication/applier-config",
        json!({"endpoint": endpoint(&l), "username": "root", "password": "pw", "verbose": true}),
    );
    assert_eq!(cfg.status, 200, "{}", cfg.body);
    let started = fa.put("/_db/d/_api/replication/applier-start", json!({}));
    assert_eq!(started.status, 200, "{}", started.body);
    let done = wait_job(&fa, "d", &id);
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(started.body["state"]["running"], true, "{}", started.body);
    // the start came after the sync: the applier resumes from the position the sync stored
    let stopped = fa.put("/_db/d/_api/replication/applier-stop", json!({}));
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    let forgot = fa.req(
        Method::DELETE,
        "/_db/d/_api/replication/applier-state",
        None,
        &[],
    );
    assert_eq!(forgot.status, 200, "{}", forgot.body);

    // the leader dies during a sync: a clear error, a usable follower, and a later sync succeeds
    let job = fa.req(
        Method::PUT,
        "/_db/d/_api/replication/sync",
        Some(
            &json!({"endpoint": endpoint(&l), "username": "root", "password": "pw",
                     "chunkSize": 16384, "maxConnectRetries": 1, "connectionRetryWaitTime": 0.2,
                     "connectTimeout": 1, "requestTimeout": 5})
            .to_string(),
        ),
        &[("x-arango-async", "store")],
    );
    let id = job.header("x-arango-async-id").unwrap().to_string();
    std::thread::sleep(Duration::from_millis(30));
    let dir = l.keep_dir().unwrap();
    l.kill9();
    let failed = wait_job(&fa, "d", &id);
    if failed.status != 200 {
        assert_error(&failed, 500, 1400);
        let st = state(&fa, "d");
        assert_eq!(st["state"]["lastError"]["errorNum"], 1400);
    }
    assert_eq!(fa.get("/_db/d/_api/collection").status, 200);
    assert_eq!(
        fa.post("/_db/d/_api/collection", json!({"name": "mine"}))
            .status,
        200
    );
    let l2 = Server::start_in(dir.path(), &[]);
    let r = sync(&fa, "d", &l2, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        fingerprint(&Api::new(&l2), "d", "big"),
        fingerprint(&fa, "d", "big")
    );
}

fn wait_job(api: &Api, db: &str, id: &str) -> Resp {
    for _ in 0..3000 {
        let r = api.req(Method::PUT, &format!("/_db/{db}/_api/job/{id}"), None, &[]);
        if r.status != 204 {
            return r;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("job {id} did not finish");
}

#[test]
fn a_follower_killed_during_a_sync_syncs_again_after_restart() {
    let l = Server::start(&[]);
    let mut f = Server::start(&[]);
    let la = Api::new(&l);
    la.post("/_api/collection", json!({"name": "c"}));
    la.post(
        "/_api/index?collection=c",
        json!({"type": "persistent", "fields": ["u"], "unique": true}),
    );
    insert_many(
        &la,
        "_system",
        "c",
        (0..50_000)
            .map(|i| json!({"_key": format!("c{i:06}"), "u": i, "pad": "q".repeat(80)}))
            .collect(),
    );
    let fa = Api::new(&f);
    let job = fa.req(
        Method::PUT,
        "/_api/replication/sync",
        Some(&json!({"endpoint": endpoint(&l), "username": "root", "password": "pw", "chunkSize": 16384, "includeSystem": false}).to_string()),
        &[("x-arango-async", "store")],
    );
    assert_eq!(job.status, 202);
    std::thread::sleep(Duration::from_millis(150));
    let dir = f.keep_dir().unwrap();
    f.kill9();
    let f2 = Server::start_in(dir.path(), &[]);
    let fa2 = Api::new(&f2);
    for incremental in [false, true] {
        let r = sync(
            &fa2,
            "_system",
            &l,
            json!({"incremental": incremental, "includeSystem": false}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            fingerprint(&la, "_system", "c"),
            fingerprint(&fa2, "_system", "c")
        );
    }
}

/// `sync` with `global=true` (the shell's `syncGlobal`): every database of the leader, in one snapshot;
/// the follower's databases and collections the leader does not have go; refused outside `_system` and
/// while a database's own applier runs.
#[test]
fn server_level_sync_copies_every_database_and_drops_what_the_leader_lacks() {
    let l = Server::start(&[]);
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    let dbs = ["tenant-a", "Ünïcødé-Kunde", "tenant-c"];
    for (n, db) in dbs.iter().enumerate() {
        assert_eq!(la.post("/_api/database", json!({"name": db})).status, 201);
        let d = format!("/_db/{}", enc(db));
        la.post(&format!("{d}/_api/collection"), json!({"name": "docs"}));
        la.post(
            &format!("{d}/_api/collection"),
            json!({"name": "edges", "type": 3}),
        );
        let r = la.post(
            &format!("{d}/_api/index?collection=docs"),
            json!({"type": "persistent", "fields": ["u"], "unique": true}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        insert_many(
            &la,
            db,
            "docs",
            (0..2000 * (n + 1))
                .map(|i| json!({"_key": format!("k{i}"), "u": i, "db": db}))
                .collect(),
        );
        insert_many(
            &la,
            db,
            "edges",
            (0..50)
                .map(|i| json!({"_from": format!("docs/k{i}"), "_to": format!("docs/k{}", i + 1)}))
                .collect(),
        );
    }
    la.post("/_api/collection", json!({"name": "inSystem"}));
    insert_many(&la, "_system", "inSystem", vec![json!({"_key": "s"})]);
    // the follower: a database the leader does not have, and in a shared one a collection of its own
    // and other documents
    assert_eq!(
        fa.post("/_api/database", json!({"name": "stale"})).status,
        201
    );
    assert_eq!(
        fa.post("/_api/database", json!({"name": "tenant-a"}))
            .status,
        201
    );
    fa.post("/_db/tenant-a/_api/collection", json!({"name": "extra"}));
    fa.post("/_db/tenant-a/_api/collection", json!({"name": "docs"}));
    insert_many(&fa, "tenant-a", "docs", vec![json!({"_key": "mine"})]);

    // only in _system, and with an endpoint
    let put = |db: &str, body: Value| {
        fa.req(
            Method::PUT,
            &format!("/_db/{}/_api/replication/sync?global=true", enc(db)),
            Some(&body.to_string()),
            &[],
        )
    };
    let config = json!({"endpoint": endpoint(&l), "username": "root", "password": "pw"});
    assert_error(&put("tenant-a", config.clone()), 403, 11);
    assert_error(&put("_system", json!({"username": "root"})), 400, 400);

    let r = put("_system", config.clone());
    assert_eq!(r.status, 200, "{}", r.body);
    let tick: u64 = r.body["lastLogTick"].as_str().unwrap().parse().unwrap();
    assert!(tick > 0);
    let names: Vec<&str> = r.body["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for c in ["docs", "edges", "inSystem"] {
        assert!(names.contains(&c), "{names:?}");
    }

    assert_eq!(databases(&fa), databases(&la));
    assert!(!databases(&fa).contains(&"stale".to_string()));
    for db in dbs.iter().chain(&["_system"]) {
        assert_eq!(picture(&la, db), picture(&fa, db), "database {db}");
    }
    assert!(!collection_names(&fa, "tenant-a").contains(&"extra".to_string()));
    let doc = fa.get("/_db/tenant-a/_api/document/docs/mine");
    assert_eq!(doc.status, 404, "{}", doc.body);

    // again: nothing changes, the same picture
    let r = put("_system", config.clone());
    assert_eq!(r.status, 200, "{}", r.body);
    for db in &dbs {
        assert_eq!(picture(&la, db), picture(&fa, db), "database {db}");
    }

    // a database's own applier running: the server-level sync is refused, saying which one runs
    let r = make_follower(&fa, "tenant-c", &l, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = put("_system", config);
    assert_error(&r, 400, 1411);
    assert!(
        r.body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("'tenant-c'"),
        "{}",
        r.body
    );
}

/// Random changes to a server's databases: databases and collections created and dropped, documents
/// inserted (with a unique index), replaced and removed.
fn scramble(a: &Api, rng: &mut Rng, ops: usize, tag: &str) {
    for _ in 0..ops {
        let dbs: Vec<String> = databases(a);
        let db = dbs[rng.below(dbs.len() as u64) as usize].clone();
        let colls: Vec<String> = collection_names(a, &db)
            .into_iter()
            .filter(|c| !c.starts_with('_'))
            .collect();
        let d = format!("/_db/{}", enc(&db));
        match rng.below(10) {
            0 => {
                let name = format!("db{}-{tag}", rng.below(6));
                a.post("/_api/database", json!({"name": name}));
            }
            1 if db != "_system" && rng.below(3) == 0 => {
                a.delete(&format!("/_api/database/{}", enc(&db)));
            }
            2 => {
                let name = format!("c{}", rng.below(5));
                if a.post(&format!("{d}/_api/collection"), json!({"name": name}))
                    .status
                    < 300
                {
                    a.post(
                        &format!("{d}/_api/index?collection={name}"),
                        json!({"type": "persistent", "fields": ["u"], "unique": true, "sparse": true}),
                    );
                }
            }
            3 if !colls.is_empty() && rng.below(2) == 0 => {
                let c = &colls[rng.below(colls.len() as u64) as usize];
                a.delete(&format!("{d}/_api/collection/{c}"));
            }
            _ if !colls.is_empty() => {
                let c = &colls[rng.below(colls.len() as u64) as usize];
                let n = 1 + rng.below(200);
                let docs: Vec<Value> = (0..n)
                    .map(|_| {
                        let k = rng.below(400);
                        // unique values that collide now and then, and differ between the servers
                        json!({"_key": format!("k{k}"), "v": rng.below(1000), "tag": tag,
                               "u": if rng.below(4) == 0 { json!(format!("u{}", rng.below(300))) } else { Value::Null }})
                    })
                    .collect();
                match rng.below(3) {
                    0 => {
                        let keys: Vec<Value> = docs.iter().map(|d| d["_key"].clone()).collect();
                        a.req(
                            Method::DELETE,
                            &format!("{d}/_api/document/{c}"),
                            Some(&Value::Array(keys).to_string()),
                            &[],
                        );
                    }
                    _ => {
                        a.post(
                            &format!("{d}/_api/document/{c}?overwriteMode=replace"),
                            Value::Array(docs),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

/// Randomized server-level syncs: the leader and the follower both change at random between rounds
/// (the follower's own changes must go), full and incremental syncs alternate, and one round kills the
/// follower in the middle of its sync; after each sync every database is equal on both.
#[test]
fn randomized_server_level_syncs_leave_every_database_equal() {
    let seeds: Vec<u64> = std::env::var("GLOBAL_SYNC_SEEDS")
        .ok()
        .and_then(|s| {
            let (a, b) = s.split_once("..")?;
            Some((a.parse().ok()?..=b.parse().ok()?).collect())
        })
        .unwrap_or_else(|| vec![1, 2]);
    // what the comparisons covered, so that a generator gone quiet does not pass unnoticed
    let (mut other_dbs, mut collections) = (0, 0);
    for seed in seeds {
        let l = Server::start(&[]);
        let la = Api::new(&l);
        let mut f = Server::start(&[]);
        let dir = f.keep_dir().unwrap();
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let config = |incremental: bool| {
            json!({"endpoint": endpoint(&l), "username": "root", "password": "pw",
                   "includeSystem": false, "incremental": incremental, "chunkSize": 16384})
        };
        for round in 0..5 {
            scramble(&la, &mut rng, 40, "leader");
            scramble(&Api::new(&f), &mut rng, 15, "follower");
            let fa = Api::new(&f);
            if round == 2 {
                // killed while it syncs: the next sync puts everything right
                let job = fa.req(
                    Method::PUT,
                    "/_api/replication/sync?global=true",
                    Some(&config(false).to_string()),
                    &[("x-arango-async", "store")],
                );
                assert_eq!(job.status, 202);
                std::thread::sleep(Duration::from_millis(20 + rng.below(80)));
                f.kill9();
                f = Server::start_in(dir.path(), &[]);
            }
            let fa = Api::new(&f);
            let incremental = rng.below(2) == 0;
            let r = fa.req(
                Method::PUT,
                "/_api/replication/sync?global=true",
                Some(&config(incremental).to_string()),
                &[],
            );
            assert_eq!(r.status, 200, "seed {seed} round {round}: {}", r.body);
            assert_eq!(databases(&la), databases(&fa), "seed {seed} round {round}");
            for db in databases(&la) {
                let pic = picture(&la, &db);
                assert_eq!(
                    pic,
                    picture(&fa, &db),
                    "seed {seed} round {round} (incremental {incremental}): database {db}"
                );
                other_dbs += usize::from(db != "_system");
                collections += pic.len();
            }
        }
    }
    assert!(
        other_dbs >= 5 && collections >= 20,
        "the random changes covered too little: {other_dbs} databases besides _system, {collections} collections compared"
    );
}
