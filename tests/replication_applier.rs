//! The continuous applier between real `arangorepl serve` processes: make-follower, every kind of write
//! on the leader, transactions, crashes of either side, the leader going away, a pruned log with each
//! `requireFromPresent`/`autoResync` combination, filters, conflicts, control endpoints and errors.

mod common;

use common::api::{Api, assert_error};
use common::repl::*;
use common::server::Server;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// Collections and their fingerprints, in name order.
/// Waits until the follower shows what the leader shows; panics with both after `secs`.
fn create_db(api: &Api, db: &str) {
    let r = api.post("/_api/database", json!({"name": db}));
    assert_eq!(r.status, 201, "{}", r.body);
}

fn create_coll(api: &Api, db: &str, body: Value) {
    let r = api.post(&format!("/_db/{}/_api/collection", enc(db)), body);
    assert_eq!(r.status, 200, "{}", r.body);
}

fn docs(n: usize, tag: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"_key": format!("{tag}{i}"), "n": i, "tag": tag, "pad": "x".repeat(40)}))
        .collect()
}

/// A stream transaction on the leader: begin, the given document inserts, then commit or abort.
fn stream_trx(api: &Api, db: &str, colls: &[&str], inserts: &[(&str, Vec<Value>)], commit: bool) {
    let base = format!("/_db/{}/_api/transaction", enc(db));
    let r = api.post(
        &format!("{base}/begin"),
        json!({"collections": {"write": colls}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["result"]["id"].as_str().unwrap().to_string();
    for (c, d) in inserts {
        let r = api.req(
            Method::POST,
            &format!("/_db/{}/_api/document/{c}", enc(db)),
            Some(&Value::Array(d.clone()).to_string()),
            &[("x-arango-trx-id", &id)],
        );
        assert!(r.status < 300, "{}", r.body);
    }
    let r = if commit {
        api.req(Method::PUT, &format!("{base}/{id}"), Some(""), &[])
    } else {
        api.delete(&format!("{base}/{id}"))
    };
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn make_follower_then_every_kind_of_write_converges() {
    let l = Server::start(&[]);
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    let db = "app";
    create_db(&la, db);
    create_db(&fa, db);
    create_coll(&la, db, json!({"name": "users"}));
    insert_many(&la, db, "users", docs(2000, "u"));

    // make-follower as an async job, as arangosh runs it
    let r = fa.req(
        Method::PUT,
        &format!("/_db/{db}/_api/replication/make-follower"),
        Some(
            &json!({"endpoint": endpoint(&l), "username": "root", "password": "pw",
                    "database": db, "idleMinWaitTime": 0.25, "idleMaxWaitTime": 0.5, "verbose": true})
            .to_string(),
        ),
        &[("x-arango-async", "store")],
    );
    assert_eq!(r.status, 202);
    let job = r.header("x-arango-async-id").unwrap().to_string();
    let mut done = None;
    wait_for("make-follower job", 60, || {
        let r = fa.req(Method::PUT, &format!("/_api/job/{job}"), Some(""), &[]);
        let fin = r.header("x-arango-async-id").is_some();
        if fin {
            done = Some(r);
        }
        fin
    });
    let done = done.unwrap();
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["state"]["running"], true, "{}", done.body);
    assert_eq!(done.body["state"]["phase"], "running");
    assert_eq!(done.body["state"]["lastError"]["errorNum"], 0);
    assert!(!done.body.to_string().contains("\"pw\""));
    // the stored configuration has autoStart
    let cfg = fa.get(&format!("/_db/{db}/_api/replication/applier-config"));
    assert_eq!(cfg.body["autoStart"], true);
    assert!(cfg.body.get("password").is_none());
    wait_converged(&la, &fa, db, 30);

    // every kind of write
    let d = format!("/_db/{db}/_api/document");
    assert!(
        la.post(&format!("{d}/users"), json!({"_key": "single", "v": 1}))
            .status
            < 300
    );
    assert!(
        la.patch(&format!("{d}/users/u1"), json!({"patched": true}))
            .status
            < 300
    );
    assert!(
        la.put(&format!("{d}/users/u2"), json!({"replaced": true}))
            .status
            < 300
    );
    assert!(la.delete(&format!("{d}/users/u3")).status < 300);
    insert_many(&la, db, "users", docs(1000, "b"));
    create_coll(&la, db, json!({"name": "orders", "waitForSync": true}));
    create_coll(&la, db, json!({"name": "links", "type": 3}));
    stream_trx(
        &la,
        db,
        &["users", "orders"],
        &[("users", docs(50, "t")), ("orders", docs(30, "o"))],
        true,
    );
    stream_trx(
        &la,
        db,
        &["users"],
        &[("users", docs(20, "aborted"))],
        false,
    );
    assert!(
        la.post(
            &format!("{d}/links"),
            json!({"_from": "users/u0", "_to": "orders/o1"})
        )
        .status
            < 300
    );
    let r = la.post(
        &format!("/_db/{db}/_api/index?collection=users"),
        json!({"type": "persistent", "fields": ["email"], "unique": true, "sparse": true,
               "name": "byEmail"}),
    );
    assert!(r.status < 300, "{}", r.body);
    for (k, e) in [("e1", "one@x"), ("e2", "two@x")] {
        assert!(
            la.post(&format!("{d}/users"), json!({"_key": k, "email": e}))
                .status
                < 300
        );
    }
    let r = la.post(
        &format!("/_db/{db}/_api/index?collection=orders"),
        json!({"type": "persistent", "fields": ["tag"]}),
    );
    let dropped_index = r.body["id"].as_str().unwrap().to_string();
    let r = la.put(
        &format!("/_db/{db}/_api/collection/orders/properties"),
        json!({"waitForSync": false}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    create_coll(&la, db, json!({"name": "temp"}));
    insert_many(&la, db, "temp", docs(10, "x"));
    let r = la.put(
        &format!("/_db/{db}/_api/collection/temp/rename"),
        json!({"name": "renamed"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    create_coll(&la, db, json!({"name": "gone"}));
    insert_many(&la, db, "gone", docs(10, "g"));
    assert_eq!(
        la.delete(&format!("/_db/{db}/_api/collection/gone")).status,
        200
    );
    assert_eq!(
        la.put(
            &format!("/_db/{db}/_api/collection/orders/truncate"),
            json!({})
        )
        .status,
        200
    );
    insert_many(&la, db, "orders", docs(5, "after"));
    assert_eq!(
        la.delete(&format!("/_db/{db}/_api/index/{dropped_index}"))
            .status,
        200
    );
    wait_converged(&la, &fa, db, 30);
    assert_eq!(
        collection_names(&fa, db)
            .into_iter()
            .filter(|n| !n.starts_with('_'))
            .collect::<Vec<_>>(),
        vec!["links", "orders", "renamed", "users"]
    );
    let s = state(&fa, db)["state"].clone();
    assert_eq!(s["running"], true);
    assert!(s["totalEvents"].as_u64().unwrap() > 1000, "{s}");
    assert!(s["totalDocuments"].as_u64().unwrap() >= 1000, "{s}");
    assert!(s["totalRemovals"].as_u64().unwrap() >= 1, "{s}");
    assert!(s["ticksBehind"].is_u64(), "{s}");
    for k in [
        "lastAppliedContinuousTick",
        "lastProcessedContinuousTick",
        "lastAvailableContinuousTick",
        "safeResumeTick",
    ] {
        assert!(s[k].is_string(), "{k}: {s}");
    }

    // a dropped leader database: the applier keeps retrying, then stops with the reason
    let r = fa.put(
        &format!("/_db/{db}/_api/replication/applier-stop"),
        json!({}),
    );
    assert_eq!(r.body["state"]["running"], false);
    assert_eq!(r.body["state"]["phase"], "inactive");
    let r = fa.put(
        &format!("/_db/{db}/_api/replication/applier-config"),
        json!({"maxConnectRetries": 2, "connectionRetryWaitTime": 0.25}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(la.delete(&format!("/_api/database/{db}")).status, 200);
    let r = applier(&fa, db, "applier-start");
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("the applier to give up", 30, || {
        state(&fa, db)["state"]["phase"] == "inactive"
    });
    let s = state(&fa, db)["state"].clone();
    assert_eq!(s["lastError"]["errorNum"], 1402, "{s}");
    assert!(
        s["lastError"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("database not found"),
        "{s}"
    );
    assert!(s["totalFailedConnects"].as_u64().unwrap() >= 2, "{s}");
    // the follower keeps its data
    assert_eq!(
        fa.get(&format!("/_db/{db}/_api/collection/users/count"))
            .body["count"],
        json!(3052)
    );
}

#[test]
fn transactions_are_applied_whole() {
    let l = Server::start(&[]);
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    let db = "_system";
    create_coll(&la, db, json!({"name": "t"}));
    let r = make_follower(&fa, db, &l, json!({}));
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    let reader = {
        let fa = Api::new(&f);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s2 = stop.clone();
        let h = std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !s2.load(std::sync::atomic::Ordering::Relaxed) {
                let c = fa.get("/_api/collection/t/count").body["count"]
                    .as_u64()
                    .unwrap();
                seen.push(c);
            }
            seen
        });
        (stop, h)
    };
    for i in 0..5 {
        stream_trx(
            &la,
            db,
            &["t"],
            &[("t", docs(3000, &format!("r{i}_")))],
            true,
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_converged(&la, &fa, db, 30);
    reader.0.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = reader.1.join().unwrap();
    assert!(seen.len() > 5);
    assert!(
        seen.iter().all(|c| c % 3000 == 0),
        "a reader saw part of a transaction: {:?}",
        seen.iter().filter(|c| *c % 3000 != 0).collect::<Vec<_>>()
    );
    // chunks of documents are applied while the next is fetched: an idle applier still shows the last
    // one applied (it is booked when done, not when the next chunk comes)
    let last: u64 = la.get("/_api/wal/lastTick").body["tick"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let applied = |s: &Value| -> u64 {
        s["state"]["lastAppliedContinuousTick"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0)
    };
    wait_for(
        "the idle applier to show the last change applied",
        10,
        || applied(&state(&fa, db)) >= last,
    );
    assert_eq!(state(&fa, db)["state"]["totalDocuments"], 15000);
}

#[test]
fn control_endpoints_and_errors() {
    let l = Server::start(&[]);
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    let db = "_system";
    // nothing configured
    let r = applier(&fa, db, "applier-start");
    assert_error(&r, 400, 1410);
    // configured, but never synced: no start tick, reported later in the state
    let r = fa.put(
        "/_api/replication/applier-config",
        json!({"endpoint": endpoint(&l), "username": "root", "password": "pw",
               "connectionRetryWaitTime": 0.25}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = applier(&fa, db, "applier-start");
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("1413", 20, || {
        state(&fa, db)["state"]["lastError"]["errorNum"] == 1413
    });
    // wrong password: the handshake fails with the leader's 401, retried, then given up
    let r = fa.put(
        "/_api/replication/applier-config",
        json!({"maxConnectRetries": 1, "username": "root", "password": "secret-pw"}),
    );
    assert_eq!(r.status, 200);
    let tick = la.get("/_api/replication/logger-state").body["state"]["lastLogTick"]
        .as_str()
        .unwrap()
        .to_string();
    let r = applier(&fa, db, &format!("applier-start?from={tick}"));
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("401 to stop the applier", 20, || {
        state(&fa, db)["state"]["phase"] == "inactive"
    });
    let s = state(&fa, db);
    assert_eq!(s["state"]["lastError"]["errorNum"], 1402, "{s}");
    assert!(s.to_string().contains("401"), "{s}");
    assert!(!s.to_string().contains("secret-pw"));
    // right password, explicit start tick
    let r = fa.put(
        "/_api/replication/applier-config",
        json!({"username": "root", "password": "pw", "maxConnectRetries": 100}),
    );
    assert_eq!(r.status, 200);
    create_coll(&la, db, json!({"name": "late"}));
    let r = applier(&fa, db, &format!("applier-start?from={tick}"));
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    // starting again is a no-op; configuring or syncing while running is refused
    assert_eq!(applier(&fa, db, "applier-start").status, 200);
    let r = fa.put("/_api/replication/applier-config", json!({"verbose": true}));
    assert_error(&r, 400, 1411);
    let r = fa.put(
        "/_api/replication/sync",
        json!({"endpoint": endpoint(&l), "username": "root", "password": "pw"}),
    );
    assert_error(&r, 400, 1411);
    let r = fa.put("/_api/replication/applier-start?from=abc", json!({}));
    assert_eq!(r.status, 400);
    wait_converged(&la, &fa, db, 20);
    // stop, then resume from the stored position
    let r = applier(&fa, db, "applier-stop");
    assert_eq!(r.body["state"]["phase"], "inactive");
    assert_eq!(r.body["state"]["progress"]["message"], "applier shut down");
    insert_many(&la, db, "late", docs(100, "l"));
    let r = applier(&fa, db, "applier-start");
    assert_eq!(r.body["state"]["running"], true);
    wait_converged(&la, &fa, db, 20);
    // applier-state-all, only in _system
    let all = fa.get("/_api/replication/applier-state-all");
    assert_eq!(all.body["_system"]["state"]["running"], true);
    // forget: stopped, configuration back to defaults
    let r = fa.delete("/_api/replication/applier-state");
    assert_eq!(r.status, 200);
    assert_eq!(r.body["state"]["running"], false);
    assert!(r.body.get("endpoint").is_none(), "{}", r.body);
    let cfg = fa.get("/_api/replication/applier-config").body;
    assert!(cfg.get("endpoint").is_none(), "{cfg}");
    // method and body errors
    let r = fa.get("/_api/replication/applier-start");
    assert_error(&r, 405, 405);
    let r = fa.req(
        Method::PUT,
        "/_api/replication/make-follower",
        Some("{bad json"),
        &[],
    );
    assert_error(&r, 400, 600);
    let r = fa.put(
        "/_api/replication/make-slave",
        json!({"database": "_system"}),
    );
    assert_error(&r, 400, 400);
}

#[test]
fn conflicts_are_won_by_the_leader() {
    let l = Server::start(&[]);
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    let db = "_system";
    create_coll(&la, db, json!({"name": "c"}));
    let r = la.post(
        "/_api/index?collection=c",
        json!({"type": "persistent", "fields": ["email"], "unique": true}),
    );
    assert!(r.status < 300);
    let r = make_follower(&fa, db, &l, json!({}));
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    // local writes on the follower that the leader contradicts
    assert!(
        fa.post(
            "/_api/document/c",
            json!({"_key": "a", "email": "x@y", "local": true})
        )
        .status
            < 300
    );
    assert!(
        fa.post("/_api/document/c", json!({"_key": "b", "email": "b@y"}))
            .status
            < 300
    );
    assert!(
        fa.post("/_api/document/c", json!({"_key": "gone", "email": "g@y"}))
            .status
            < 300
    );
    // the leader's "a" replaces the follower's; "z" takes b's unique value, so b goes
    assert!(
        la.post("/_api/document/c", json!({"_key": "a", "email": "a@y"}))
            .status
            < 300
    );
    assert!(
        la.post("/_api/document/c", json!({"_key": "z", "email": "b@y"}))
            .status
            < 300
    );
    // removing what the follower never had is fine
    assert!(la.post("/_api/document/c", json!({"_key": "r"})).status < 300);
    assert!(la.delete("/_api/document/c/r").status < 300);
    wait_for("the leader's documents", 20, || {
        fa.get("/_api/document/c/z").status == 200
    });
    assert_eq!(fa.get("/_api/document/c/a").body["email"], "a@y");
    assert!(fa.get("/_api/document/c/a").body.get("local").is_none());
    assert_eq!(fa.get("/_api/document/c/b").status, 404);
    assert_eq!(state(&fa, db)["state"]["lastError"]["errorNum"], 0);
    // "gone" exists only on the follower: it stays (the leader never spoke of it)
    assert_eq!(fa.get("/_api/document/c/gone").status, 200);
}

#[test]
fn filters_decide_what_is_applied() {
    let l = Server::start(&[]);
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    let db = "_system";
    for c in ["keep", "skip"] {
        create_coll(&la, db, json!({"name": c}));
    }
    let r = make_follower(
        &fa,
        db,
        &l,
        json!({"restrictType": "include", "restrictCollections": ["keep"], "includeSystem": false}),
    );
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    insert_many(&la, db, "keep", docs(10, "k"));
    insert_many(&la, db, "skip", docs(10, "s"));
    // a user made on the leader lives in _users: not replicated without includeSystem
    let r = la.post("/_api/user", json!({"user": "ann", "passwd": "x"}));
    assert_eq!(r.status, 201, "{}", r.body);
    create_coll(&la, db, json!({"name": "latecomer"}));
    insert_many(&la, db, "keep", docs(1, "last"));
    wait_for("keep", 20, || {
        fa.get("/_api/collection/keep/count").body["count"] == 11
    });
    assert_eq!(fa.get("/_api/collection/skip").status, 404);
    assert_eq!(fa.get("/_api/collection/latecomer").status, 404);
    assert_eq!(fa.get("/_api/user/ann").status, 404);
    let s = state(&fa, db)["state"].clone();
    assert!(s["totalOperationsExcluded"].as_u64().unwrap() >= 11, "{s}");

    // includeSystem: users follow
    let f2 = Server::start(&[]);
    let f2a = Api::new(&f2);
    let r = make_follower(&f2a, db, &l, json!({"includeSystem": true}));
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    let r = la.post("/_api/user", json!({"user": "bob", "passwd": "y"}));
    assert_eq!(r.status, 201);
    wait_for("bob on the follower", 20, || {
        f2a.get("/_api/user/bob").status == 200
    });
    // and can log in there
    wait_for("bob's login", 20, || {
        f2a.as_user("bob", "y").get("/_api/version").status == 200
    });
    // Foxx queues only with includeFoxxQueues
    let f3 = Server::start(&[]);
    let f3a = Api::new(&f3);
    let r = make_follower(
        &f3a,
        db,
        &l,
        json!({"includeSystem": true, "includeFoxxQueues": true}),
    );
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    // every database has them (as in ArangoDB): only their documents differ
    for c in ["_jobs", "_queues"] {
        assert!(
            la.post(&format!("/_api/document/{c}"), json!({"_key": "j1"}))
                .status
                < 300
        );
    }
    insert_many(&la, db, "keep", docs(1, "marker"));
    for c in ["_jobs", "_queues"] {
        wait_for(
            "Foxx queues on the follower that asked for them",
            20,
            || f3a.get(&format!("/_api/document/{c}/j1")).status == 200,
        );
    }
    wait_for("the marker document", 20, || {
        f2a.get("/_api/document/keep/marker0").status == 200
    });
    for c in ["_jobs", "_queues"] {
        assert_eq!(f2a.get(&format!("/_api/document/{c}/j1")).status, 404);
    }
}

#[test]
fn an_apply_error_stops_the_applier_unless_ignored() {
    let l = Server::start(&[]);
    let (la, db) = (Api::new(&l), "_system");
    create_coll(&la, db, json!({"name": "x"}));
    for ignore in [0, 1] {
        let f = Server::start(&[]);
        let fa = Api::new(&f);
        let r = make_follower(&fa, db, &l, json!({"ignoreErrors": ignore}));
        assert_eq!(r.body["state"]["running"], true, "{}", r.body);
        // a collection only the follower has takes the name the leader renames to
        create_coll(&fa, db, json!({"name": format!("taken{ignore}")}));
        let r = la.put(
            "/_api/collection/x/rename",
            json!({"name": format!("taken{ignore}")}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let r = la.put(
            &format!("/_api/collection/taken{ignore}/rename"),
            json!({"name": "x"}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            la.post(
                "/_api/document/x",
                json!({"_key": format!("after{ignore}")})
            )
            .status
                < 300
        );
        if ignore == 0 {
            wait_for("the applier to stop", 20, || {
                state(&fa, db)["state"]["phase"] == "inactive"
            });
            let e = state(&fa, db)["state"]["lastError"].clone();
            assert_eq!(e["errorNum"], 1207, "{e}");
            assert!(
                e["errorMessage"]
                    .as_str()
                    .unwrap()
                    .contains("offending marker: {"),
                "{e}"
            );
        } else {
            // the failed rename is skipped, the rest applied
            wait_for("the write after the failed rename", 20, || {
                fa.get("/_api/document/x/after1").status == 200
            });
            assert_eq!(state(&fa, db)["state"]["lastError"]["errorNum"], 0);
        }
    }
}

/// A dropped database takes its applier with it: the applier stops, and a database created later under
/// the same name starts with the default configuration (no endpoint, no credentials kept anywhere).
#[test]
fn a_dropped_database_takes_its_applier_and_configuration_with_it() {
    let l = Server::start(&[]);
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    drop_a_followed_database(&la, &fa, &l, "gone");
    // nothing to start from: the old position went with the database
    let r = applier(&fa, "gone", "applier-start");
    assert!(r.status >= 400, "{}", r.body);

    // the same through a server-level sync that drops a database the leader does not have
    assert_eq!(
        fa.post("/_api/database", json!({"name": "mine"})).status,
        201
    );
    let r = fa.put(
        "/_db/mine/_api/replication/applier-config",
        json!({"endpoint": endpoint(&l), "username": "root", "password": "pw"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = fa.req(
        Method::PUT,
        "/_api/replication/sync?global=true",
        Some(&json!({"endpoint": endpoint(&l), "username": "root", "password": "pw", "includeSystem": false}).to_string()),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        fa.post("/_api/database", json!({"name": "mine"})).status,
        201
    );
    let config = fa.get("/_db/mine/_api/replication/applier-config");
    assert!(config.body.get("endpoint").is_none(), "{}", config.body);
}
