//! Benchmark of `arangorepl proxy` in front of a server answering as ArangoDB 3.12.10: prints figures,
//! asserts only that every document arrives.
//!
//! `cargo bench --bench proxy` (or `scripts/bench-proxy.sh`, which also runs the applier benchmark through
//! the proxy). In one run, on the same leader (`BENCH_DOCS` documents of about 200 bytes in 4
//! collections, one with a unique index, as `scripts/bench-sync.sh`):
//! 1. the initial sync into a local follower (`arangorepl serve`'s own applier), and the same sync
//!    through the proxy into its upstream — both rates and their ratio, the proxy's peak RSS;
//! 2. `BENCH_READS` single-document reads (default 20,000), alternately straight from the upstream and
//!    through the proxy: p50/p99 of each and what forwarding adds.

#[path = "support/mod.rs"]
mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::{
    COLLECTIONS, Client, env_usize, load_sync_data, percentile, start_proxy, start_server, vm_mib,
};

/// A full sync of the benchmark's collections from `leader` through `control`; documents counted on
/// `data`. Returns the seconds it took.
fn full_sync(leader: &str, control: &str, data: &str, docs: usize) -> f64 {
    let mut f = Client::new(control);
    let body = format!(
        r#"{{"endpoint":"tcp://{leader}","includeSystem":false,"restrictType":"include","restrictCollections":["c0","c1","c2","c3"]}}"#
    );
    let t = Instant::now();
    let (st, b) = f.send("PUT", "/_api/replication/sync", &body);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(st, 200, "sync: {}", String::from_utf8_lossy(&b));
    let mut d = Client::new(data);
    let mut total = 0;
    for c in COLLECTIONS {
        let (_, b) = d.send("GET", &format!("/_api/collection/{c}/count"), "");
        let v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
        total += v["count"].as_u64().unwrap_or(0) as usize;
    }
    assert_eq!(total, docs / 4 * 4, "every document arrived");
    secs
}

fn main() {
    let docs = env_usize("BENCH_DOCS", 1_000_000);
    let reads = env_usize("BENCH_READS", 20_000);
    let (mut leader, lep, _ld) = start_server(&[]);
    let t = Instant::now();
    let bytes = load_sync_data(&lep, docs);
    println!(
        "leader loaded with {docs} documents ({:.0} MB of JSON) in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    // 1. the same sync, into a local follower and through the proxy
    let (mut follower, fep, _fd) = start_server(&[]);
    let local = full_sync(&lep, &fep, &fep, docs);
    let local_peak = vm_mib(follower.id(), "VmHWM:");
    let _ = follower.kill();
    let _ = follower.wait();
    let (mut upstream, uep, _ud) = start_server(&["--compat.arangodb-version", "3.12.10"]);
    let (mut proxy, pep, _pd) = start_proxy(&uep);
    let remote = full_sync(&lep, &pep, &uep, docs);
    let n = (docs / 4 * 4) as f64;
    println!(
        "full sync into a local follower: {:.0} docs/s ({local:.2} s), follower peak RSS {local_peak:.1} MiB",
        n / local
    );
    println!(
        "full sync through the proxy into a 3.12.10 upstream: {:.0} docs/s ({remote:.2} s): {:.0} % of the local sync; \
         proxy peak RSS {:.1} MiB, upstream peak RSS {:.1} MiB",
        n / remote,
        local / remote * 100.0,
        vm_mib(proxy.id(), "VmHWM:"),
        vm_mib(upstream.id(), "VmHWM:")
    );

    // 2. what forwarding adds to a request
    let (mut direct, mut through) = (Client::new(&uep), Client::new(&pep));
    let per = docs / 4;
    let (mut a, mut b) = (Vec::with_capacity(reads), Vec::with_capacity(reads));
    for i in 0..reads {
        let path = format!("/_api/document/c1/doc{:08}", per + (i * 7919) % per.max(1));
        for (c, out) in [(&mut direct, &mut a), (&mut through, &mut b)] {
            let t = Instant::now();
            let (st, _) = c.send("GET", &path, "");
            out.push(t.elapsed());
            assert_eq!(st, 200);
        }
    }
    a.sort();
    b.sort();
    let (a50, b50) = (percentile(&a, 0.5), percentile(&b, 0.5));
    println!(
        "single-document reads ({reads} each): straight from the upstream p50 {a50:.3} ms, p99 {:.3} ms; \
         through the proxy p50 {b50:.3} ms, p99 {:.3} ms; forwarding adds {:.3} ms at p50",
        percentile(&a, 0.99),
        percentile(&b, 0.99),
        b50 - a50
    );
    println!(
        "proxy RSS after the reads {:.1} MiB (peak {:.1} MiB)",
        vm_mib(proxy.id(), "VmRSS:"),
        vm_mib(proxy.id(), "VmHWM:")
    );
    std::thread::sleep(Duration::from_millis(10));
    for c in [&mut leader, &mut upstream, &mut proxy] {
        let _ = c.kill();
        let _ = c.wait();
    }
}
