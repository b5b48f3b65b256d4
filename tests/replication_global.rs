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

/// A stream transaction in `db` writing `docs` into `coll` and removing `removes`, committed.
fn trx(api: &Api, db: &str, coll: &str, docs: Vec<Value>, removes: &[String]) {
    let base = format!("/_db/{}/_api", enc(db));
    let r = api.post(
        &format!("{base}/transaction/begin"),
        json!({"collections": {"write": [coll]}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["result"]["id"].as_str().unwrap().to_string();
    let h = [("x-arango-trx-id", id.as_str())];
    let r = api.req(
        Method::POST,
        &format!("{base}/document/{coll}"),
        Some(&Value::Array(docs).to_string()),
        &h,
    );
    assert!(r.status < 300, "{}", r.body);
    if !removes.is_empty() {
        let r = api.req(
            Method::DELETE,
            &format!("{base}/document/{coll}"),
            Some(&json!(removes).to_string()),
            &h,
        );
        assert!(r.status < 300, "{}", r.body);
    }
    let r = api.req(
        Method::PUT,
        &format!("{base}/transaction/{id}"),
        Some(""),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
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
