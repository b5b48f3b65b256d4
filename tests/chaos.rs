//! Chaos test: a leader and a follower (`arangorepl serve` processes) under a mixed load — single writes
//! with and without `waitForSync`, batches, stream transactions, removes, collections created and
//! dropped, indexes — while the leader, the follower or both are killed with SIGKILL at random moments
//! and restarted. After every round each acknowledged write must be on the leader, and the follower,
//! once caught up, must hold exactly the leader's data (count and checksum with revisions and data).
//!
//! After every round, with everything quiet, each collection's document counter must also agree with the
//! documents it holds, on both sides.
//!
//! This file has its own `main` (harness = false). `CHAOS_ROUNDS` (default 3: the slice `cargo test`
//! runs), `CHAOS_SEED` and `CHAOS_VICTIM` (`leader`, `follower`, `both`, or `none` for no kills) set it
//! up; `scripts/chaos.sh` runs 100 rounds and prints the same lines.

mod common;

use common::api::{Api, Resp};
use common::repl::{make_follower, state};
use common::server::Server;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A tiny deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What the leader acknowledged: per collection, key → `_rev` (`None`: acknowledged as removed).
#[derive(Default)]
struct Acked {
    colls: BTreeMap<String, BTreeMap<String, Option<String>>>,
    writes: u64,
    /// Drops (key `None`) and removes that were sent but not acknowledged (cut off by a kill): either
    /// outcome is right.
    maybe: BTreeSet<(String, Option<String>)>,
}

/// A request that may fail (the server is killed under it): `None` then.
fn send(
    api: &Api,
    m: Method,
    path: &str,
    body: Option<String>,
    h: &[(&str, &str)],
) -> Option<Resp> {
    api.try_req(m, path, body.as_deref(), h)
}

fn ok(r: &Option<Resp>) -> bool {
    r.as_ref().is_some_and(|r| r.status < 300)
}

fn body(r: &Option<Resp>) -> Value {
    r.as_ref().map(|r| r.body.clone()).unwrap_or(Value::Null)
}

/// One operation of the load against the leader; acknowledged effects go into `acked`.
fn operate(api: &Api, rng: &mut Rng, n: u64, acked: &Mutex<Acked>) {
    let colls: Vec<String> = acked.lock().unwrap().colls.keys().cloned().collect();
    let coll = colls[rng.below(colls.len() as u64) as usize].clone();
    let key = |i: u64| format!("k{n}_{i}");
    match rng.below(20) {
        // a new collection, or an old one dropped (never the first)
        0 if colls.len() < 4 => {
            let name = format!("c{n}");
            let r = send(
                api,
                Method::POST,
                "/_api/collection",
                Some(json!({"name": name}).to_string()),
                &[],
            );
            if ok(&r) {
                acked.lock().unwrap().colls.insert(name, BTreeMap::new());
            }
        }
        1 if colls.len() > 1 && coll != "c0" => {
            acked.lock().unwrap().maybe.insert((coll.clone(), None));
            let r = send(
                api,
                Method::DELETE,
                &format!("/_api/collection/{coll}"),
                None,
                &[],
            );
            if ok(&r) {
                acked.lock().unwrap().colls.remove(&coll);
            }
        }
        2 => {
            let spec = json!({"type": "persistent", "fields": [format!("f{}", rng.below(3))]});
            let _ = send(
                api,
                Method::POST,
                &format!("/_api/index?collection={coll}"),
                Some(spec.to_string()),
                &[],
            );
        }
        3..=5 => {
            // a batch
            let docs: Vec<Value> = (0..10).map(|i| json!({"_key": key(i), "n": n})).collect();
            let r = send(
                api,
                Method::POST,
                &format!("/_api/document/{coll}"),
                Some(Value::Array(docs).to_string()),
                &[],
            );
            if ok(&r)
                && let Some(items) = body(&r).as_array()
            {
                let mut a = acked.lock().unwrap();
                for it in items {
                    if let (Some(k), Some(rev)) = (it["_key"].as_str(), it["_rev"].as_str()) {
                        a.colls
                            .entry(coll.clone())
                            .or_default()
                            .insert(k.into(), Some(rev.into()));
                        a.writes += 1;
                    }
                }
            }
        }
        6..=7 => {
            // a stream transaction: inserts and the removal of an acknowledged document
            let victim = {
                let a = acked.lock().unwrap();
                a.colls.get(&coll).and_then(|m| {
                    let live: Vec<&String> = m
                        .iter()
                        .filter(|(_, v)| v.is_some())
                        .map(|(k, _)| k)
                        .collect();
                    (!live.is_empty()).then(|| live[(n as usize) % live.len()].clone())
                })
            };
            let r = send(
                api,
                Method::POST,
                "/_api/transaction/begin",
                Some(json!({"collections": {"write": [coll.clone()]}}).to_string()),
                &[],
            );
            let Some(id) = body(&r)["result"]["id"].as_str().map(str::to_string) else {
                return;
            };
            let h = [("x-arango-trx-id", id.as_str())];
            let mut revs = Vec::new();
            for i in 0..3 {
                let r = send(
                    api,
                    Method::POST,
                    &format!("/_api/document/{coll}"),
                    Some(json!({"_key": key(i), "trx": true}).to_string()),
                    &h,
                );
                if !ok(&r) {
                    return;
                }
                revs.push((key(i), body(&r)["_rev"].as_str().unwrap_or("").to_string()));
            }
            if let Some(v) = &victim {
                let r = send(
                    api,
                    Method::DELETE,
                    &format!("/_api/document/{coll}/{v}"),
                    None,
                    &h,
                );
                if !ok(&r) {
                    return;
                }
            }
            if let Some(v) = &victim {
                acked
                    .lock()
                    .unwrap()
                    .maybe
                    .insert((coll.clone(), Some(v.clone())));
            }
            let r = send(
                api,
                Method::PUT,
                &format!("/_api/transaction/{id}"),
                Some(String::new()),
                &[],
            );
            if ok(&r) {
                let mut a = acked.lock().unwrap();
                let m = a.colls.entry(coll.clone()).or_default();
                for (k, rev) in revs {
                    m.insert(k, Some(rev));
                }
                if let Some(v) = victim {
                    m.insert(v, None);
                }
                a.writes += 4;
            }
        }
        r => {
            // a single write, durable now and then
            let sync = if r == 8 { "?waitForSync=true" } else { "" };
            let doc = json!({"_key": key(0), "n": n, "pad": "z".repeat(40)});
            let r = send(
                api,
                Method::POST,
                &format!("/_api/document/{coll}{sync}"),
                Some(doc.to_string()),
                &[],
            );
            if ok(&r)
                && let Some(rev) = body(&r)["_rev"].as_str()
            {
                let mut a = acked.lock().unwrap();
                a.colls
                    .entry(coll.clone())
                    .or_default()
                    .insert(key(0), Some(rev.into()));
                a.writes += 1;
            }
        }
    }
}

/// Every acknowledged write that the leader does not show (missing, other `_rev`, or back after a
/// remove).
fn lost_writes(api: &Api, acked: &Acked) -> Vec<String> {
    let mut lost = Vec::new();
    for (coll, docs) in &acked.colls {
        if docs.is_empty() {
            continue;
        }
        let keys: Vec<&String> = docs.keys().collect();
        let r = api.put(&format!("/_api/document/{coll}?onlyget=true"), json!(keys));
        let got = r.body.as_array().cloned().unwrap_or_default();
        if r.status == 404 && acked.maybe.contains(&(coll.clone(), None)) {
            continue;
        }
        if got.len() != keys.len() {
            lost.push(format!("{coll}: lookup failed: {}", r.body));
            continue;
        }
        for ((key, rev), doc) in docs.iter().zip(got) {
            let maybe_removed = acked.maybe.contains(&(coll.clone(), Some(key.clone())));
            match rev {
                Some(_) if maybe_removed && doc.get("error").is_some() => {}
                Some(rev) if doc["_rev"].as_str() != Some(rev) => {
                    lost.push(format!("{coll}/{key} (acknowledged as {rev}): {doc}"))
                }
                None if doc.get("error").is_none() => {
                    lost.push(format!("{coll}/{key} acknowledged as removed: {doc}"))
                }
                _ => {}
            }
        }
    }
    lost
}

/// Non-system collections with count and checksum (revisions and data).
fn picture(api: &Api) -> BTreeMap<String, (Value, Value)> {
    let r = api.get("/_api/collection?excludeSystem=true");
    let mut out = BTreeMap::new();
    for c in r.body["result"].as_array().cloned().unwrap_or_default() {
        let name = c["name"].as_str().unwrap_or("").to_string();
        let count = api.get(&format!("/_api/collection/{name}/count")).body["count"].clone();
        let sum = api
            .get(&format!(
                "/_api/collection/{name}/checksum?withRevisions=true&withData=true"
            ))
            .body["checksum"]
            .clone();
        out.insert(name, (count, sum));
    }
    out
}

/// The number of documents each non-system collection really holds (a full read, not the counter).
fn documents(api: &Api) -> BTreeMap<String, usize> {
    picture(api)
        .keys()
        .map(|c| {
            let r = api.put(
                "/_api/simple/all",
                json!({"collection": c, "batchSize": 10_000_000}),
            );
            (c.clone(), r.body["result"].as_array().map_or(0, Vec::len))
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args
        .iter()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"chaos".contains(a.as_str()))
    {
        return;
    }
    let rounds: u64 = std::env::var("CHAOS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut rng = Rng(seed);
    let mut leader = Server::start(&[]);
    let ldir = leader.keep_dir().unwrap();
    let lport = leader.port();
    let mut follower = Server::start(&[]);
    let fdir = follower.keep_dir().unwrap();
    let fport = follower.port();
    let la = Api::new(&leader);
    assert_eq!(
        la.post("/_api/collection", json!({"name": "c0"})).status,
        200
    );
    let r = make_follower(
        &Api::new(&follower),
        "_system",
        &leader,
        json!({"includeSystem": false, "connectionRetryWaitTime": 0.2, "maxConnectRetries": 1000}),
    );
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    let acked = Arc::new(Mutex::new(Acked::default()));
    acked
        .lock()
        .unwrap()
        .colls
        .insert("c0".into(), BTreeMap::new());
    let started = Instant::now();
    let mut total_lost = 0usize;
    for round in 0..rounds {
        // the load runs while the kill happens
        let stop = Arc::new(AtomicBool::new(false));
        let load = {
            let (stop, acked) = (stop.clone(), acked.clone());
            let url = leader.url.clone();
            let mut lrng = Rng(rng.next());
            std::thread::spawn(move || {
                arangorepl::client::install_tls_provider();
                let api = Api {
                    c: reqwest::blocking::Client::builder()
                        .timeout(Duration::from_secs(10))
                        .build()
                        .unwrap(),
                    base: url,
                    auth: Some(("root".into(), "pw".into())),
                    bearer: None,
                };
                let mut n = round * 1_000_000;
                while !stop.load(Ordering::Relaxed) {
                    operate(&api, &mut lrng, n, &acked);
                    n += 1;
                }
            })
        };
        std::thread::sleep(Duration::from_millis(200 + rng.below(800)));
        let pick = ["leader", "follower", "both"][rng.below(3) as usize];
        // CHAOS_VICTIM=leader|follower|both kills only that one
        let forced = std::env::var("CHAOS_VICTIM").ok();
        let victim = match forced.as_deref() {
            Some("leader") => "leader",
            Some("follower") => "follower",
            Some("both") => "both",
            Some("none") => "none",
            _ => pick,
        };
        if victim == "leader" || victim == "both" {
            leader.kill9();
        }
        if victim == "follower" || victim == "both" {
            follower.kill9();
        }
        stop.store(true, Ordering::Relaxed);
        load.join().unwrap();
        if victim == "leader" || victim == "both" {
            leader = Server::start_at(ldir.path(), lport, &[]);
        }
        if victim == "follower" || victim == "both" {
            follower = Server::start_at(fdir.path(), fport, &[]);
        }
        let la = Api::new(&leader);
        let fa = Api::new(&follower);
        let a = acked.lock().unwrap();
        let lost = lost_writes(&la, &a);
        total_lost += lost.len();
        assert!(
            lost.is_empty(),
            "round {round}: acknowledged writes lost: {lost:?}"
        );
        // the follower catches up by itself (autoStart) and then holds the leader's data
        let t = Instant::now();
        let converged = loop {
            let (l, f) = (picture(&la), picture(&fa));
            if l == f {
                break true;
            }
            if t.elapsed() > Duration::from_secs(60) {
                eprintln!(
                    "round {round} (killed {victim})\nleader {l:?} (documents really there: {:?})\nfollower {f:?} (documents really there: {:?})\nstate {}",
                    documents(&la),
                    documents(&fa),
                    state(&fa, "_system")
                );
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(converged, "round {round}: the follower did not converge");
        // all quiet now: on both sides every counter agrees with its collection's documents
        for (side, api) in [("leader", &la), ("follower", &fa)] {
            let counted: BTreeMap<String, usize> = picture(api)
                .into_iter()
                .map(|(c, (n, _))| (c, n.as_u64().unwrap_or(0) as usize))
                .collect();
            let real = documents(api);
            assert_eq!(
                counted, real,
                "round {round} (killed {victim}): the {side}'s counters disagree with its documents"
            );
        }
        println!(
            "chaos round {round}: killed {victim}, {} writes acknowledged so far, 0 lost, follower converged in {:.2} s",
            a.writes,
            t.elapsed().as_secs_f64()
        );
    }
    println!(
        "chaos: {rounds} rounds (seed {seed}) in {:.0} s, {} writes acknowledged, {total_lost} lost",
        started.elapsed().as_secs_f64(),
        acked.lock().unwrap().writes
    );
}
