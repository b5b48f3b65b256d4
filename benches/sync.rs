//! Benchmark of the initial sync between two local `arangorepl serve` processes: prints figures, asserts
//! only that the follower ends up with every document.
//!
//! `cargo bench --bench sync` (or `scripts/bench-sync.sh`). Loads `BENCH_DOCS` documents of about 200
//! bytes (default 1,000,000) into 4 collections on the leader (one with a unique index), then measures a
//! full sync into an empty follower (docs/s, MB/s, share of time waiting for the leader, follower peak
//! RSS) and an incremental re-sync of the unchanged data; and, in this process, the store's raw bulk-insert
//! rate for the same documents.

#[path = "support/mod.rs"]
mod support;

use arangorepl::store::{CollectionOptions, Store, StoreConfig, WriteOptions};
use serde_json::Value;
use std::time::Instant;
use support::{
    COLLECTIONS, Client, cpu_secs, env_usize, load_sync_data, start_server, sync_doc as doc,
    vm_mib as vm,
};

fn main() {
    let docs = env_usize("BENCH_DOCS", 1_000_000);
    let per = docs / COLLECTIONS.len();
    // BENCH_SERVER_ARGS: extra options for both servers (e.g. "--store.cache-size 268435456")
    let extra = std::env::var("BENCH_SERVER_ARGS").unwrap_or_default();
    let extra: Vec<&str> = extra.split_whitespace().collect();
    let (mut leader, lep, _ld) = start_server(&extra);
    let (mut follower, fep, _fd) = start_server(&extra);
    let t = Instant::now();
    let bytes = load_sync_data(&lep, docs);
    println!(
        "leader loaded with {docs} documents ({:.0} MB of JSON) in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    // full sync
    let mut f = Client::new(&fep);
    let sync_body = format!(
        r#"{{"endpoint":"{}","includeSystem":false,"restrictType":"include","restrictCollections":["c0","c1","c2","c3"]}}"#,
        support::replication_endpoint(&lep)
    );
    let fpid = follower.id();
    // BENCH_PROFILE=1: name the processes and pause, so a profiler can attach to the follower
    if std::env::var("BENCH_PROFILE").is_ok() {
        println!("follower pid {fpid}, leader pid {}", leader.id());
        std::thread::sleep(std::time::Duration::from_secs(3));
    }
    let rss_before = vm(fpid, "VmRSS:");
    let (lpid, f_cpu, l_cpu) = (leader.id(), cpu_secs(fpid), cpu_secs(leader.id()));
    let t = Instant::now();
    let (st, body) = f.send("PUT", "/_api/replication/sync", &sync_body);
    let full = t.elapsed().as_secs_f64();
    assert_eq!(st, 200, "sync: {}", String::from_utf8_lossy(&body));
    let (f_cpu, l_cpu) = (cpu_secs(fpid) - f_cpu, cpu_secs(lpid) - l_cpu);
    let mut total = 0u64;
    for c in COLLECTIONS {
        let (_, b) = f.send("GET", &format!("/_api/collection/{c}/count"), "");
        let v: Value = serde_json::from_slice(&b).unwrap();
        total += v["count"].as_u64().unwrap_or(0);
    }
    assert_eq!(
        total as usize,
        per * COLLECTIONS.len(),
        "every document arrived"
    );
    let (_, b) = f.send("GET", "/_api/replication/applier-state", "");
    let state: Value = serde_json::from_slice(&b).unwrap();
    let wait = state["state"]["totalFetchTime"].as_f64().unwrap_or(0.0);
    println!(
        "full sync: {total} docs in {full:.2} s: {:.0} docs/s, {:.1} MB/s; waiting for the leader {:.0} % of the time; \
         follower RSS {:.1} MiB before, peak {:.1} MiB",
        total as f64 / full,
        bytes as f64 / 1e6 / full,
        wait / full * 100.0,
        rss_before,
        vm(fpid, "VmHWM:")
    );
    println!(
        "  CPU during the full sync: follower {f_cpu:.2} s, leader {l_cpu:.2} s (2 cores shared)"
    );

    // incremental re-sync of the unchanged data
    if std::env::var("BENCH_PROFILE").is_ok() {
        println!("incremental next");
        std::thread::sleep(std::time::Duration::from_secs(3));
    }
    let inc_body = sync_body.replace(
        "\"includeSystem\"",
        "\"incremental\":true,\"includeSystem\"",
    );
    let (f_cpu, l_cpu) = (cpu_secs(fpid), cpu_secs(lpid));
    let t = Instant::now();
    let (st, body) = f.send("PUT", "/_api/replication/sync", &inc_body);
    let inc = t.elapsed().as_secs_f64();
    let (f_cpu, l_cpu) = (cpu_secs(fpid) - f_cpu, cpu_secs(lpid) - l_cpu);
    assert_eq!(st, 200, "sync: {}", String::from_utf8_lossy(&body));
    println!(
        "incremental re-sync of the unchanged {total} docs: {inc:.2} s ({:.1} % of the full sync)",
        inc / full * 100.0
    );
    println!("  CPU during the incremental sync: follower {f_cpu:.2} s, leader {l_cpu:.2} s");
    let _ = leader.kill();
    let _ = follower.kill();
    let _ = leader.wait();
    let _ = follower.wait();

    // the store's raw bulk-insert rate for the same documents (batches of 10,000, one collection each)
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    for c in COLLECTIONS {
        store
            .create_collection("_system", CollectionOptions::new(c))
            .unwrap();
    }
    store
        .ensure_index(
            "_system",
            "c0",
            &serde_json::json!({"type":"persistent","fields":["u"],"unique":true}),
        )
        .unwrap();
    let parsed: Vec<Vec<Value>> = (0..docs.div_ceil(10_000))
        .map(|b| {
            (b * 10_000..((b + 1) * 10_000).min(per * COLLECTIONS.len()))
                .map(|k| serde_json::from_str(&doc(k)).unwrap())
                .collect()
        })
        .collect();
    let t = Instant::now();
    let mut n = 0;
    for (b, batch) in parsed.into_iter().enumerate() {
        let coll = COLLECTIONS[(b * 10_000 / per.max(1)).min(3)];
        n += batch.len();
        store
            .insert("_system", coll, batch, &WriteOptions::default(), None)
            .unwrap();
    }
    store.sync().unwrap();
    let raw = n as f64 / t.elapsed().as_secs_f64();
    println!(
        "store raw bulk insert of the same documents: {raw:.0} docs/s; the sync reached {:.0} % of it",
        total as f64 / full / raw * 100.0
    );
}
