//! Store benchmark: prints figures, asserts nothing.
//!
//! `cargo bench --bench store` (or `scripts/bench-store.sh`). Sizes can be reduced for a quick run with
//! `BENCH_DOCS` (bulk documents, default 1,000,000) and `BENCH_SINGLE` (single inserts, default 20,000).
//! The data directory is a fresh temporary directory under `BENCH_DIR` (default: the system temp dir).

use arangorepl::store::{CollectionOptions, LogQuery, Store, StoreConfig, WriteOptions};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak and current resident set size in MiB, from /proc (Linux).
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn doc(i: usize) -> Value {
    // ~200 bytes once stored with _key, _id and _rev
    json!({
        "name": format!("user-{i:08}"),
        "email": format!("user{i}@example.org"),
        "age": i % 97,
        "active": i.is_multiple_of(3),
        "tags": ["alpha", "beta", "gamma"],
        "address": {"city": "Köln", "zip": format!("{:05}", i % 100_000)},
    })
}

fn main() {
    let bulk_docs = env_usize("BENCH_DOCS", 1_000_000);
    let single = env_usize("BENCH_SINGLE", 20_000);
    let base = std::env::var("BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    std::fs::create_dir_all(&base).expect("bench dir");
    let dir = tempfile::tempdir_in(&base).expect("temp dir");
    let mut config = StoreConfig::default();
    if let Some(mb) = std::env::var("BENCH_CACHE_MB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        config.cache_bytes = mb << 20;
    }
    let store = Store::open(dir.path(), config).expect("open store");
    store
        .create_collection("_system", CollectionOptions::new("bulk"))
        .expect("collection");
    let o = WriteOptions::default();
    println!(
        "store benchmark: {bulk_docs} bulk documents, {single} single inserts, data in {}",
        dir.path().display()
    );

    // 1. Bulk load in batches of 1,000.
    let mut bytes = 0usize;
    let mut peak_rss = 0f64;
    let wall = Instant::now();
    let mut in_store = Duration::ZERO;
    let mut i = 0;
    while i < bulk_docs {
        let n = 1000.min(bulk_docs - i);
        let batch: Vec<Value> = (i..i + n).map(doc).collect();
        bytes += batch
            .iter()
            .map(|d| serde_json::to_vec(d).map(|v| v.len()).unwrap_or(0))
            .sum::<usize>();
        let t = Instant::now();
        let res = store
            .insert("_system", "bulk", batch, &o, None)
            .expect("bulk insert");
        in_store += t.elapsed();
        assert!(res.iter().all(|r| r.is_ok()));
        i += n;
        if i % 50_000 < 1000 {
            peak_rss = peak_rss.max(rss_mib().1);
        }
    }
    let t = Instant::now();
    store.sync().expect("sync");
    in_store += t.elapsed();
    let el = in_store.as_secs_f64();
    let stored = store
        .snapshot()
        .unwrap()
        .raw_document(store.collection("_system", "bulk").unwrap().id, "500")
        .unwrap()
        .map(|d| d.len())
        .unwrap_or(0);
    println!(
        "bulk insert: {bulk_docs} docs in {el:.2} s in the store = {:.0} docs/s, {:.1} MB/s of input JSON (stored document ~{stored} bytes); {:.0} docs/s counting the benchmark's own document building; RSS during load peak {peak_rss:.0} MiB",
        bulk_docs as f64 / el,
        bytes as f64 / el / 1e6,
        bulk_docs as f64 / wall.elapsed().as_secs_f64(),
    );

    // 2. Log read.
    let t = Instant::now();
    let mut from = 0;
    let mut markers = 0usize;
    let mut log_bytes = 0usize;
    loop {
        let c = store
            .read_log(&LogQuery::after(from).budget(10_000, usize::MAX))
            .expect("read log");
        markers += c.records.len();
        log_bytes += c.records.iter().map(|r| r.json.len()).sum::<usize>();
        from = c.last_scanned;
        if !c.has_more {
            break;
        }
    }
    let el = t.elapsed().as_secs_f64();
    println!(
        "log read: {markers} markers in {:.2} s = {:.0} markers/s, {:.1} MB/s",
        el,
        markers as f64 / el,
        log_bytes as f64 / el / 1e6
    );

    // 3. Single-document inserts, sequential.
    store
        .create_collection("_system", CollectionOptions::new("single"))
        .expect("collection");
    let t = Instant::now();
    for i in 0..single {
        store
            .insert_one("_system", "single", doc(i), &o)
            .expect("insert");
    }
    let el = t.elapsed().as_secs_f64();
    println!(
        "single inserts, default durability (synced within 100 ms), 1 writer: {:.0} ops/s",
        single as f64 / el
    );
    let sync = WriteOptions {
        wait_for_sync: true,
        ..WriteOptions::default()
    };
    let n = (single / 10).max(100);
    let t = Instant::now();
    for i in 0..n {
        store
            .insert_one("_system", "single", doc(i), &sync)
            .expect("insert");
    }
    let el = t.elapsed().as_secs_f64();
    println!(
        "single inserts, waitForSync, 1 writer: {:.0} ops/s ({:.2} ms each)",
        n as f64 / el,
        el * 1000.0 / n as f64
    );

    // 4. Concurrent single inserts (16 threads): group commit at work.
    for (label, opts, per_thread) in [
        ("default durability", o.clone(), single / 16),
        ("waitForSync", sync.clone(), n / 4),
    ] {
        let t = Instant::now();
        let lat = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|sc| {
            for _ in 0..16 {
                let (s, opts, lat) = (&store, &opts, &lat);
                sc.spawn(move || {
                    let mut mine = Vec::with_capacity(per_thread);
                    for i in 0..per_thread {
                        let t = Instant::now();
                        s.insert_one("_system", "single", doc(i), opts)
                            .expect("insert");
                        mine.push(t.elapsed());
                    }
                    lat.lock().unwrap().extend(mine);
                });
            }
        });
        let el = t.elapsed().as_secs_f64();
        let mut lat = lat.into_inner().unwrap();
        lat.sort();
        let p = |q: f64| {
            lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
                .copied()
                .unwrap_or(Duration::ZERO)
        };
        println!(
            "single inserts, {label}, 16 writers: {:.0} ops/s, p50 {:.2} ms, p99 {:.2} ms",
            (per_thread * 16) as f64 / el,
            p(0.5).as_secs_f64() * 1000.0,
            p(0.99).as_secs_f64() * 1000.0
        );
    }
    let (hwm, now) = rss_mib();
    println!("RSS: peak {hwm:.0} MiB over the whole run, now {now:.0} MiB");
    let size = std::fs::metadata(store.path())
        .map(|m| m.len())
        .unwrap_or(0);
    println!("data file: {:.0} MiB", size as f64 / (1 << 20) as f64);
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
