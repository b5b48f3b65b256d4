//! Randomized differential test of the applier: a seeded generator issues random operations on a leader
//! (documents, multi-document transactions, 1,000-document batches, collection create/drop/rename/
//! truncate, index create/drop) while a follower applies them and is killed (`kill -9`) and restarted at
//! random moments; at the end every collection of the follower equals the leader's.
//!
//! CI runs the seeds below; `scripts/random-replication.sh` runs many more (`REPL_SEEDS=first..last`,
//! `REPL_OPS=<operations per seed>`).

mod common;

use common::api::Api;
use common::repl::*;
use common::rng::Rng;
use common::server::Server;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

fn doc(rng: &mut Rng, key: &str) -> Value {
    json!({"_key": key, "v": rng.next() % 1000, "s": "z".repeat((rng.below(5) * 20) as usize),
           "uk": format!("u-{key}")})
}

fn run_seed(seed: u64, ops: usize) {
    let l = Server::start(&[]);
    let la = Api::new(&l);
    let mut f = Server::start(&[]);
    let dir = f.keep_dir().unwrap();
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut colls: Vec<String> = vec!["c0".into()];
    let mut next_coll = 1;
    assert_eq!(
        la.post("/_api/collection", json!({"name": "c0"})).status,
        200
    );
    let body = json!({"endpoint": endpoint(&l), "username": "root", "password": "pw",
                      "connectionRetryWaitTime": 0.25, "idleMinWaitTime": 0.25,
                      "idleMaxWaitTime": 0.5, "chunkSize": 16384});
    let r = Api::new(&f).put("/_api/replication/make-follower", body);
    assert_eq!(r.body["state"]["running"], true, "seed {seed}: {}", r.body);
    let mut kills = 0;
    let key = |rng: &mut Rng| format!("k{}", rng.below(60));
    for op in 0..ops {
        let c = rng.pick(&colls).cloned();
        match (rng.below(100), c) {
            (0..=34, Some(c)) => {
                let k = key(&mut rng);
                let d = doc(&mut rng, &k);
                la.req(
                    Method::POST,
                    &format!("/_api/document/{c}?overwriteMode=replace"),
                    Some(&d.to_string()),
                    &[],
                );
            }
            (35..=44, Some(c)) => {
                la.patch(
                    &format!("/_api/document/{c}/{}", key(&mut rng)),
                    json!({"p": rng.next() % 7}),
                );
            }
            (45..=54, Some(c)) => {
                la.delete(&format!("/_api/document/{c}/{}", key(&mut rng)));
            }
            (55..=64, Some(c)) => {
                // a multi-document transaction over one or two collections, sometimes aborted
                let c2 = rng.pick(&colls).cloned().unwrap_or(c.clone());
                let r = la.post(
                    "/_api/transaction/begin",
                    json!({"collections": {"write": [c.clone(), c2.clone()]}}),
                );
                if r.status != 201 {
                    continue;
                }
                let id = r.body["result"]["id"].as_str().unwrap().to_string();
                let h = [("x-arango-trx-id", id.as_str())];
                for _ in 0..rng.below(8) + 2 {
                    let target = if rng.below(2) == 0 { &c } else { &c2 };
                    if rng.below(4) == 0 {
                        la.req(
                            Method::DELETE,
                            &format!("/_api/document/{target}/{}", key(&mut rng)),
                            None,
                            &h,
                        );
                    } else {
                        let k = key(&mut rng);
                        let d = doc(&mut rng, &k);
                        la.req(
                            Method::POST,
                            &format!("/_api/document/{target}?overwriteMode=replace"),
                            Some(&d.to_string()),
                            &h,
                        );
                    }
                }
                if rng.below(5) == 0 {
                    la.delete(&format!("/_api/transaction/{id}"));
                } else {
                    la.req(
                        Method::PUT,
                        &format!("/_api/transaction/{id}"),
                        Some(""),
                        &[],
                    );
                }
            }
            (65..=69, Some(c)) => {
                let base = rng.below(1000);
                let batch: Vec<Value> = (0..1000)
                    .map(|i| doc(&mut rng, &format!("b{base}_{i}")))
                    .collect();
                la.req(
                    Method::POST,
                    &format!("/_api/document/{c}?overwriteMode=replace"),
                    Some(&Value::Array(batch).to_string()),
                    &[],
                );
            }
            (70..=75, _) => {
                let name = format!("c{next_coll}");
                next_coll += 1;
                let edge = rng.below(4) == 0;
                let r = la.post(
                    "/_api/collection",
                    json!({"name": name, "type": if edge { 3 } else { 2 }}),
                );
                if r.status == 200 && !edge {
                    colls.push(name);
                }
            }
            (76..=78, Some(c)) if colls.len() > 1 => {
                la.delete(&format!("/_api/collection/{c}"));
                colls.retain(|x| *x != c);
            }
            (79..=81, Some(c)) => {
                let name = format!("c{next_coll}");
                next_coll += 1;
                let r = la.put(
                    &format!("/_api/collection/{c}/rename"),
                    json!({"name": name}),
                );
                if r.status == 200 {
                    colls.retain(|x| *x != c);
                    colls.push(name);
                }
            }
            (82..=84, Some(c)) => {
                la.put(&format!("/_api/collection/{c}/truncate"), json!({}));
            }
            (85..=89, Some(c)) => {
                let unique = rng.below(2) == 0;
                let field = if unique { "uk" } else { "v" };
                la.post(
                    &format!("/_api/index?collection={c}"),
                    json!({"type": "persistent", "fields": [field], "unique": unique}),
                );
            }
            (90..=93, Some(c)) => {
                let r = la.get(&format!("/_api/index?collection={c}"));
                let ids: Vec<String> = r.body["indexes"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter(|i| i["type"] == "persistent")
                            .filter_map(|i| i["id"].as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(id) = rng.pick(&ids) {
                    la.delete(&format!("/_api/index/{id}"));
                }
            }
            (94..=96, _) => {
                kills += 1;
                // the follower crashes and comes back
                std::thread::sleep(Duration::from_millis(rng.below(60)));
                f.kill9();
                f = Server::start_in(dir.path(), &[]);
            }
            _ => std::thread::sleep(Duration::from_millis(rng.below(20))),
        }
        if op % 50 == 0 {
            std::thread::sleep(Duration::from_millis(rng.below(50)));
        }
    }
    let fa = Api::new(&f);
    // a failure names the seed (the panic message follows it)
    eprintln!("seed {seed}: {ops} operations issued, waiting for the follower");
    wait_converged(&la, &fa, "_system", 60);
    let s = state(&fa, "_system")["state"].clone();
    assert_eq!(s["lastError"]["errorNum"], 0, "seed {seed}: {s}");
    let docs: u64 = picture(&la, "_system")
        .iter()
        .map(|(_, p)| p["count"].as_u64().unwrap_or(0))
        .sum();
    eprintln!(
        "seed {seed}: {ops} operations, {kills} follower crashes, {} collections, {docs} documents \
         converged",
        picture(&la, "_system").len()
    );
}

fn seeds_from_env() -> Option<(Vec<u64>, usize)> {
    let spec = std::env::var("REPL_SEEDS").ok()?;
    let ops = std::env::var("REPL_OPS")
        .ok()
        .and_then(|o| o.parse().ok())
        .unwrap_or(400);
    let seeds = match spec.split_once("..") {
        Some((a, b)) => (a.parse().unwrap()..=b.parse().unwrap()).collect(),
        None => spec.split(',').map(|s| s.trim().parse().unwrap()).collect(),
    };
    Some((seeds, ops))
}

#[test]
fn random_operations_converge_seed_1() {
    if let Some((seeds, ops)) = seeds_from_env() {
        for s in seeds {
            eprintln!("seed {s}");
            run_seed(s, ops);
        }
        return;
    }
    run_seed(1, 300);
}

#[test]
fn random_operations_converge_seed_2() {
    if seeds_from_env().is_none() {
        run_seed(2, 300);
    }
}

#[test]
fn random_operations_converge_seed_3() {
    if seeds_from_env().is_none() {
        run_seed(3, 300);
    }
}
