//! The server-level (global) replication applier between real `arangorepl serve` processes: one
//! applier for every database, databases created and dropped on the leader followed, its refusals next
//! to the databases' own appliers, `autoStart`, and exactly-once across follower crashes.

mod common;

use common::api::{Api, assert_error};
use common::repl::*;
use common::rng::Rng;
use common::server::Server;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

fn create_db(api: &Api, db: &str) {
    let r = api.post("/_api/database", json!({"name": db}));
    assert_eq!(r.status, 201, "{}", r.body);
}

fn create_collection(api: &Api, db: &str, name: &str) {
    let r = api.post(
        &format!("/_db/{}/_api/collection", enc(db)),
        json!({"name": name}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

fn last_tick(api: &Api) -> u64 {
    api.get("/_api/replication/logger-state").body["state"]["lastLogTick"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Waits until the leader's log no longer holds the tick `gone`.
fn wait_pruned(la: &Api, gone: u64) {
    wait_for("the log to be pruned", 30, || {
        la.get("/_api/wal/range").body["tickMin"]
            .as_str()
            .map(|t| t.parse::<u64>().unwrap())
            .unwrap_or(0)
            > gone
    });
}

#[test]
fn the_server_level_applier_follows_every_database_created_and_dropped() {
    let l = Server::start(&[]);
    let mut f = Server::start(&[]);
    let dir = f.keep_dir().unwrap();
    let la = Api::new(&l);
    create_db(&la, "tenant-1");
    create_collection(&la, "tenant-1", "docs");
    insert_many(
        &la,
        "tenant-1",
        "docs",
        (0..500).map(|i| json!({"_key": format!("k{i}")})).collect(),
    );
    let fa = Api::new(&f);
    // a database the leader does not have goes with the initial sync
    create_db(&fa, "only-here");

    // only in _system
    let r = fa.req(
        Method::PUT,
        "/_db/only-here/_api/replication/make-follower?global=true",
        Some(&global_config(&l, json!({})).to_string()),
        &[],
    );
    assert_error(&r, 403, 11);
    let r = global(&fa, "make-follower", global_config(&l, json!({})));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    assert_eq!(r.body["state"]["lastError"]["errorNum"], 0, "{}", r.body);
    assert!(r.body.get("database").is_none(), "{}", r.body);
    wait_server_converged(&la, &fa, 30);
    assert!(!databases(&fa).contains(&"only-here".to_string()));

    // the password never shows; the configuration has autoStart and no database
    let p = fa
        .get("/_db/_system/_api/replication/applier-config?global=true")
        .body;
    assert!(p.get("password").is_none(), "{p}");
    assert_eq!(p["autoStart"], true, "{p}");
    assert_eq!(p["username"], "root", "{p}");

    // while it runs, no database's own applier may start, sync or be set up, nor a second
    // server-level sync
    let r = make_follower(&fa, "tenant-1", &l, json!({}));
    assert_error(&r, 400, 1411);
    assert!(
        r.body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("server-level")
    );
    assert_error(&applier(&fa, "tenant-1", "applier-start"), 400, 1411);
    assert_error(&sync(&fa, "tenant-1", &l, json!({})), 400, 1411);
    assert_error(
        &global(&fa, "sync", global_config(&l, json!({}))),
        400,
        1411,
    );

    // a database created on the leader, with a collection, an index and 10,000 documents, a stream
    // transaction in it; one dropped; changes in _system
    create_db(&la, "tenant-2");
    create_collection(&la, "tenant-2", "orders");
    let r = la.post(
        "/_db/tenant-2/_api/index?collection=orders",
        json!({"type": "persistent", "fields": ["n"], "unique": true}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    insert_many(
        &la,
        "tenant-2",
        "orders",
        (0..10_000)
            .map(|i| json!({"_key": format!("o{i}"), "n": i}))
            .collect(),
    );
    trx(
        &la,
        "tenant-2",
        "orders",
        vec![json!({"_key": "t1", "n": -1})],
        &["o1".to_string(), "o2".to_string()],
    );
    let r = la.delete("/_api/database/tenant-1");
    assert_eq!(r.status, 200, "{}", r.body);
    create_collection(&la, "_system", "inSystem");
    insert_many(&la, "_system", "inSystem", vec![json!({"_key": "s"})]);
    wait_server_converged(&la, &fa, 30);
    assert!(!databases(&fa).contains(&"tenant-1".to_string()));
    let s = global_state(&fa)["state"].clone();
    assert_eq!(s["running"], true, "{s}");
    assert!(s["totalDocuments"].as_u64().unwrap() >= 10_001, "{s}");

    // a database dropped and created again under the same name starts empty
    la.delete("/_api/database/tenant-2");
    create_db(&la, "tenant-2");
    create_collection(&la, "tenant-2", "fresh");
    wait_server_converged(&la, &fa, 30);
    assert_eq!(
        collection_names(&fa, "tenant-2"),
        collection_names(&la, "tenant-2")
    );

    // stop, changes meanwhile, start again (from the stored position)
    let r = global(&fa, "applier-stop", json!({}));
    assert_eq!(r.body["state"]["running"], false, "{}", r.body);
    create_db(&la, "tenant-3");
    create_collection(&la, "tenant-3", "c");
    insert_many(&la, "tenant-3", "c", vec![json!({"_key": "a"})]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!databases(&fa).contains(&"tenant-3".to_string()));
    // while it is stopped, a database's own applier may run; then the server-level one may not start
    create_db(&fa, "own");
    create_db(&la, "own");
    let r = make_follower(&fa, "own", &l, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = global(&fa, "applier-start", json!({}));
    assert_error(&r, 400, 1411);
    assert!(
        r.body["errorMessage"].as_str().unwrap().contains("'own'"),
        "{}",
        r.body
    );
    applier(&fa, "own", "applier-stop");
    let r = global(&fa, "applier-start", json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    wait_server_converged(&la, &fa, 30);

    // killed, changes while it is down, started again: autoStart resumes where it was
    f.kill9();
    create_db(&la, "tenant-4");
    create_collection(&la, "tenant-4", "c");
    insert_many(
        &la,
        "tenant-4",
        "c",
        (0..100).map(|i| json!({"_key": format!("d{i}")})).collect(),
    );
    la.delete("/_api/database/tenant-3");
    let f = Server::start_in(dir.path(), &[]);
    let fa = Api::new(&f);
    wait_server_converged(&la, &fa, 30);
    let s = global_state(&fa)["state"].clone();
    assert_eq!(s["running"], true, "{s}");
    assert_eq!(s["lastError"]["errorNum"], 0, "{s}");
    // database 'own' keeps its own applier's autoStart, but the server-level one runs: not both
    assert_eq!(state(&fa, "own")["state"]["running"], false);
    let last = la.get("/_api/replication/logger-state").body["state"]["lastLogTick"].clone();
    wait_for("the follower's position", 20, || {
        global_state(&fa)["state"]["lastProcessedContinuousTick"] == last
    });
    assert!(
        global_state(&fa)["state"].get("password").is_none()
            && !global_state(&fa).to_string().contains("\"pw\"")
    );

    // forget: stopped, configuration back to defaults
    let r = fa.req(
        Method::DELETE,
        "/_db/_system/_api/replication/applier-state?global=true",
        None,
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"]["running"], false, "{}", r.body);
    let r = global(&fa, "applier-start", json!({}));
    assert_error(&r, 400, 1410);
}

/// Leader changes at random over several databases (databases created and dropped, collections
/// created, dropped and truncated, documents inserted, replaced and removed, stream transactions) while
/// the follower's server-level applier tails them and the follower is killed at random moments: at the
/// end every database's collections and checksums are the leader's. Seeds: `GLOBAL_TAIL_SEEDS=a..b`.
#[test]
fn randomized_server_level_tailing_with_follower_crashes_leaves_every_database_equal() {
    let seeds = std::env::var("GLOBAL_TAIL_SEEDS").unwrap_or_else(|_| "1..3".into());
    let (a, b) = seeds.split_once("..").expect("GLOBAL_TAIL_SEEDS=a..b");
    for seed in a.parse::<u64>().unwrap()..b.parse::<u64>().unwrap() {
        eprintln!("seed {seed}");
        randomized_round(seed);
    }
}

fn randomized_round(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let l = Server::start(&[]);
    let la = Api::new(&l);
    let mut f = Server::start(&[]);
    let dir = f.keep_dir().unwrap();
    let r = global(
        &Api::new(&f),
        "make-follower",
        global_config(&l, json!({"chunkSize": 16384})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let names = ["d0", "d1", "d2", "d3"];
    let colls = ["a", "b", "c"];
    let mut n = 0u64;
    for step in 0..12 {
        for _ in 0..25 {
            n += 1;
            let live = databases(&la);
            let db = *rng.pick(&names).unwrap();
            let exists = live.iter().any(|d| d == db);
            if !exists {
                create_db(&la, db);
                continue;
            }
            let coll = *rng.pick(&colls).unwrap();
            let base = format!("/_db/{db}/_api");
            let has = collection_names(&la, db).iter().any(|c| c == coll);
            match rng.below(20) {
                0 => {
                    la.delete(&format!("/_api/database/{db}"));
                }
                1 if has => {
                    la.delete(&format!("{base}/collection/{coll}"));
                }
                2 if has => {
                    la.put(&format!("{base}/collection/{coll}/truncate"), json!({}));
                }
                _ if !has => create_collection(&la, db, coll),
                3..=5 => trx(
                    &la,
                    db,
                    coll,
                    (0..rng.below(50))
                        .map(|i| json!({"_key": format!("k{}", rng.below(300)), "v": n, "i": i}))
                        .collect(),
                    &(0..rng.below(10))
                        .map(|_| format!("k{}", rng.below(300)))
                        .collect::<Vec<_>>(),
                ),
                6 => {
                    la.req(
                        Method::DELETE,
                        &format!("{base}/document/{coll}"),
                        Some(
                            &json!(
                                (0..20)
                                    .map(|_| format!("k{}", rng.below(300)))
                                    .collect::<Vec<_>>()
                            )
                            .to_string(),
                        ),
                        &[],
                    );
                }
                _ => {
                    let docs: Vec<Value> = (0..1 + rng.below(200))
                        .map(|_| json!({"_key": format!("k{}", rng.below(300)), "v": n}))
                        .collect();
                    let r = la.post(
                        &format!("{base}/document/{coll}?overwriteMode=replace"),
                        Value::Array(docs),
                    );
                    assert!(r.status < 300, "{}", r.body);
                }
            }
        }
        if step % 3 == 1 {
            std::thread::sleep(Duration::from_millis(rng.below(200)));
            f.kill9();
            f = Server::start_in(dir.path(), &[]);
        }
    }
    let fa = Api::new(&f);
    wait_server_converged(&la, &fa, 60);
    let s = global_state(&fa)["state"].clone();
    assert_eq!(s["running"], true, "seed {seed}: {s}");
    assert_eq!(s["lastError"]["errorNum"], 0, "seed {seed}: {s}");
    let picture = server_picture(&fa);
    let documents: u64 = picture
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, c)| c["count"].as_u64().unwrap_or(0)))
        .sum();
    eprintln!(
        "seed {seed}: {} databases, {documents} documents, {} markers applied since the last restart",
        picture.len(),
        s["totalEvents"]
    );
    assert!(
        picture.len() > 1 && documents > 0,
        "seed {seed}: {picture:?}"
    );
}

/// The server-level applier's position pruned from the leader's log: with `requireFromPresent` and
/// without `autoResync` it stops with 1414; with `autoResync` it syncs every database again (databases
/// created and dropped meanwhile included) and goes on tailing.
#[test]
fn a_pruned_log_stops_the_server_level_applier_or_resyncs_every_database() {
    let args = ["--replication.log-max-size", "1"];
    let mut l = Server::start(&args);
    let ldir = l.keep_dir().unwrap();
    let port = l.port();
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    create_db(&la, "early");
    create_collection(&la, "early", "c");
    let r = global(
        &fa,
        "make-follower",
        global_config(
            &l,
            json!({"requireFromPresent": true, "autoResync": false, "autoStart": false}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    wait_server_converged(&la, &fa, 30);
    let r = global(&fa, "applier-stop", json!({}));
    assert_eq!(r.body["state"]["running"], false, "{}", r.body);
    // meanwhile: a database dropped, one created with data, and enough writes to prune the log
    la.delete("/_api/database/early");
    create_db(&la, "late");
    create_collection(&la, "late", "c");
    let gone = last_tick(&la);
    for i in 0..6 {
        insert_many(
            &la,
            "late",
            "c",
            (0..1000)
                .map(|k| json!({"_key": format!("b{i}_{k}"), "pad": "x".repeat(60)}))
                .collect(),
        );
    }
    l.terminate();
    let l = Server::start_at(ldir.path(), port, &args);
    let la = Api::new(&l);
    insert_many(&la, "late", "c", vec![json!({"_key": "z"})]);
    wait_pruned(&la, gone);
    let r = global(&fa, "applier-start", json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("1414", 20, || {
        global_state(&fa)["state"]["lastError"]["errorNum"] == 1414
    });
    assert_eq!(global_state(&fa)["state"]["running"], false);
    assert!(databases(&fa).contains(&"early".to_string()));

    // with autoResync: every database synced again
    let r = global(&fa, "make-follower", global_config(&l, json!({})));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = global(&fa, "applier-stop", json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let p = fa.req(
        Method::PUT,
        "/_db/_system/_api/replication/applier-config?global=true",
        Some(r#"{"requireFromPresent": true, "autoResync": true, "autoResyncRetries": 2}"#),
        &[],
    );
    assert_eq!(p.status, 200, "{}", p.body);
    create_db(&la, "later");
    create_collection(&la, "later", "c");
    let gone = last_tick(&la);
    for i in 0..6 {
        insert_many(
            &la,
            "later",
            "c",
            (0..1000)
                .map(|k| json!({"_key": format!("c{i}_{k}"), "pad": "x".repeat(60)}))
                .collect(),
        );
    }
    la.delete("/_api/database/late");
    let mut l = l;
    l.terminate();
    let l = Server::start_at(ldir.path(), port, &args);
    let la = Api::new(&l);
    insert_many(&la, "later", "c", vec![json!({"_key": "z"})]);
    wait_pruned(&la, gone);
    let r = global(&fa, "applier-start", json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    wait_server_converged(&la, &fa, 30);
    let s = global_state(&fa)["state"].clone();
    assert_eq!(s["totalResyncs"], 1, "{s}");
    assert_eq!(s["running"], true, "{s}");
    assert_eq!(s["lastError"]["errorNum"], 0, "{s}");
    insert_many(&la, "later", "c", vec![json!({"_key": "after-resync"})]);
    wait_server_converged(&la, &fa, 20);
}

/// The server-level applier's filters apply in every database: `restrictType`/`restrictCollections`
/// by collection name, and `includeSystem` with `_users` (a user created on the leader can log in to
/// the follower).
#[test]
fn the_server_level_applier_filters_collections_in_every_database() {
    let l = Server::start(&[]);
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    let r = global(
        &fa,
        "make-follower",
        global_config(
            &l,
            json!({"restrictType": "exclude", "restrictCollections": ["secret"], "includeSystem": true}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    for db in ["one", "two"] {
        create_db(&la, db);
        for c in ["shared", "secret"] {
            create_collection(&la, db, c);
            insert_many(&la, db, c, vec![json!({"_key": "k"})]);
        }
    }
    let r = la.post(
        "/_api/user",
        json!({"user": "tenant-admin", "passwd": "t0p"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    for db in ["one", "two"] {
        wait_for("the shared collection", 20, || {
            databases(&fa).contains(&db.to_string())
                && fa.get(&format!("/_db/{db}/_api/document/shared/k")).status == 200
        });
        assert!(!collection_names(&fa, db).contains(&"secret".to_string()));
    }
    wait_for("the user on the follower", 20, || {
        Api::new(&f)
            .as_user("tenant-admin", "t0p")
            .get("/_api/version")
            .status
            == 200
    });
}
