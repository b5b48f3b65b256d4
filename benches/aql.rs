//! Benchmark of AQL on `arangorepl serve` over HTTP: prints figures, asserts only the results' sizes.
//!
//! `cargo bench --bench aql` (or `scripts/bench-aql.sh`). One collection of `BENCH_DOCS` documents
//! (default 1,000,000, about 200 bytes each, a unique persistent index on `u`), then:
//! `FILTER d.u == @u` through the index (target p50 ≤ 0.5 ms), a full scan with a non-indexed `FILTER`
//! (target ≥ 1,000,000 docs/s), `COLLECT WITH COUNT INTO` of all (≤ 0.6 s), `LIMIT 1000` (the
//! server's peak RSS over its resident size before the query, ≤ 64 MB), and 10,000 `INSERT`s in one
//! query (≥ 100,000 docs/s).

#[path = "support/mod.rs"]
mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::{Client, env_usize, percentile, start_server, sync_doc, vm_mib};

fn run(c: &mut Client, q: &str) -> (Value, Duration) {
    let t = Instant::now();
    let (st, b) = c.send(
        "POST",
        "/_api/cursor",
        &format!(r#"{{"query":{},"batchSize":1000000}}"#, Value::from(q)),
    );
    let d = t.elapsed();
    assert_eq!(st, 201, "{}", String::from_utf8_lossy(&b));
    (serde_json::from_slice(&b).unwrap_or(Value::Null), d)
}

/// Runs `q` three times: the last result, and the median time with the three times (the machine is
/// shared: one run can meet another tenant's load).
fn run3(c: &mut Client, q: &str) -> (Value, Duration, String) {
    let mut times = Vec::new();
    let mut last = Value::Null;
    for _ in 0..3 {
        let (v, d) = run(c, q);
        last = v;
        times.push(d);
    }
    let shown = times
        .iter()
        .map(|d| format!("{:.2}", d.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(" / ");
    times.sort();
    (last, times[1], shown)
}

fn main() {
    let docs = env_usize("BENCH_DOCS", 1_000_000);
    // BENCH_CACHE: the store's page cache (`--store.cache-size`, bytes; default the server's 48 MiB)
    let cache = std::env::var("BENCH_CACHE").ok();
    let mut extra = Vec::new();
    if let Some(c) = &cache {
        extra.extend(["--store.cache-size", c.as_str()]);
    }
    let (mut server, ep, _dir) = start_server(&extra);
    if let Some(c) = &cache {
        println!("store cache: {c} bytes");
    }
    let pid = server.id();
    let mut c = Client::new(&ep);
    c.send("POST", "/_api/collection", r#"{"name":"c"}"#);
    c.send(
        "POST",
        "/_api/index?collection=c",
        r#"{"type":"persistent","fields":["u"],"unique":true}"#,
    );
    let t = Instant::now();
    std::thread::scope(|s| {
        for w in 0..2 {
            let ep = ep.as_str();
            s.spawn(move || {
                let mut c = Client::new(ep);
                for b in (w..docs.div_ceil(1000)).step_by(2) {
                    let (lo, hi) = (b * 1000, ((b + 1) * 1000).min(docs));
                    let body =
                        format!("[{}]", (lo..hi).map(sync_doc).collect::<Vec<_>>().join(","));
                    let (st, _) = c.send("POST", "/_api/document/c", &body);
                    assert!(st < 300);
                }
            });
        }
    });
    println!(
        "loaded {docs} documents in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let probes = env_usize("BENCH_PROBES", 5);
    let mut lat = Vec::new();
    for i in 0..probes {
        let u = (i * 7919) % docs;
        let (v, d) = run(&mut c, &format!("FOR d IN c FILTER d.u == {u} RETURN d"));
        assert_eq!(v["result"].as_array().map(Vec::len), Some(1));
        lat.push(d);
    }
    lat.sort();
    println!(
        "FILTER d.u == <u> (unique persistent index on u): p50 {:.3} ms over {probes} queries (target <= 0.5 ms)",
        percentile(&lat, 0.5)
    );
    let (v, d, all) = run3(
        &mut c,
        "FOR d IN c FILTER d.age == 3 AND d.active RETURN d._key",
    );
    println!(
        "full scan with a non-indexed FILTER: {} rows, {:.2} s = {:.0} docs/s, median of 3 runs ({all} s) (target >= 1,000,000)",
        v["result"].as_array().map_or(0, Vec::len),
        d.as_secs_f64(),
        docs as f64 / d.as_secs_f64()
    );
    let (v, d) = run(&mut c, "FOR d IN c COLLECT WITH COUNT INTO n RETURN n");
    assert_eq!(v["result"][0], docs);
    println!(
        "COLLECT WITH COUNT INTO of all: {:.3} s (target <= 0.6 s; the collection's count)",
        d.as_secs_f64()
    );
    let (v, d, all) = run3(
        &mut c,
        "FOR d IN c FILTER d.u >= 0 COLLECT WITH COUNT INTO n RETURN n",
    );
    assert_eq!(v["result"][0], docs);
    println!(
        "COLLECT WITH COUNT INTO after a FILTER (every document read): {:.2} s, median of 3 ({all} s)",
        d.as_secs_f64()
    );
    let (v, d, all) = run3(
        &mut c,
        "FOR d IN c COLLECT active = d.active AGGREGATE n = COUNT(1), age = AVERAGE(d.age) RETURN {active, n, age}",
    );
    assert_eq!(v["result"].as_array().map(Vec::len), Some(2));
    println!(
        "COLLECT by a group with COUNT and AVERAGE: {:.2} s, median of 3 ({all} s)",
        d.as_secs_f64()
    );
    // the peak resident size from here on: Linux resets VmHWM to the current size on "5"
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let baseline = vm_mib(pid, "VmRSS:");
    let (v, d) = run(&mut c, "FOR d IN c LIMIT 1000 RETURN d");
    assert_eq!(v["result"].as_array().map(Vec::len), Some(1000));
    println!(
        "FOR d IN c LIMIT 1000 RETURN d: {:.1} ms; server peak RSS {:.1} MiB over the {:.1} MiB before the query (target <= 64 MB)",
        d.as_secs_f64() * 1000.0,
        vm_mib(pid, "VmHWM:") - baseline,
        baseline
    );
    c.send("POST", "/_api/collection", r#"{"name":"w"}"#);
    let (v, d, all) = run3(
        &mut c,
        "FOR i IN 1..10000 INSERT {i, name: CONCAT('name-', i), active: i % 2 == 0} INTO w",
    );
    assert_eq!(v["extra"]["stats"]["writesExecuted"], 10000);
    println!(
        "10,000 INSERTs in one query: {:.1} ms = {:.0} docs/s, median of 3 ({all} s) (target >= 100,000)",
        d.as_secs_f64() * 1000.0,
        10000.0 / d.as_secs_f64()
    );
    let _ = server.kill();
    let _ = server.wait();
}
