//! Benchmark of `GET /_admin/metrics/v2`: how long a scrape takes on a follower replicating
//! `BENCH_DBS` databases (default 100, each with its own running applier) and on its leader. Prints
//! figures; asserts only that every applier runs and every scrape answers 200.
//!
//! `cargo bench --bench metrics` (or `scripts/bench-metrics.sh`). `BENCH_SCRAPES` (default 300).

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};
use support::{Client, env_usize, percentile, start_server};

fn scrapes(label: &str, ep: &str, n: usize) {
    let mut c = Client::new(ep);
    // one to warm up (connection, first registration of the gauges)
    let (st, b) = c.send("GET", "/_admin/metrics/v2", "");
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    let mut took = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let t = Instant::now();
        let (st, b) = c.send("GET", "/_admin/metrics/v2", "");
        took.push(t.elapsed());
        assert_eq!(st, 200);
        bytes = b.len();
    }
    took.sort();
    let lines = String::from_utf8_lossy(&c.send("GET", "/_admin/metrics/v2", "").1)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count();
    println!(
        "{label}: {n} scrapes of {bytes} bytes ({lines} samples): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&took, 0.5),
        percentile(&took, 0.99),
        took.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dbs = env_usize("BENCH_DBS", 100);
    let n = env_usize("BENCH_SCRAPES", 300);
    let (mut leader, lep, _ldir) = start_server(&[]);
    let (mut follower, fep, _fdir) = start_server(&[]);
    let (mut l, mut f) = (Client::new(&lep), Client::new(&fep));
    let names: Vec<String> = (0..dbs).map(|i| format!("tenant{i:03}")).collect();
    for name in &names {
        let (st, _) = l.send("POST", "/_api/database", &format!(r#"{{"name":"{name}"}}"#));
        assert_eq!(st, 201);
        let (st, _) = f.send("POST", "/_api/database", &format!(r#"{{"name":"{name}"}}"#));
        assert_eq!(st, 201);
        let (st, _) = l.send(
            "POST",
            &format!("/_db/{name}/_api/collection"),
            r#"{"name":"c"}"#,
        );
        assert_eq!(st, 200);
        let docs: Vec<String> = (0..100).map(|k| format!(r#"{{"_key":"k{k}"}}"#)).collect();
        l.send(
            "POST",
            &format!("/_db/{name}/_api/document/c"),
            &format!("[{}]", docs.join(",")),
        );
    }
    let t = Instant::now();
    for name in &names {
        let (st, b) = f.send(
            "PUT",
            &format!("/_db/{name}/_api/replication/make-follower"),
            &format!(
                r#"{{"endpoint":"tcp://{lep}","database":"{name}","idleMinWaitTime":0.5,"idleMaxWaitTime":1}}"#
            ),
        );
        assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    }
    println!(
        "{dbs} databases of 100 documents each set up as followers in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // a little traffic for every applier
    for name in &names {
        l.send(
            "POST",
            &format!("/_db/{name}/_api/document/c"),
            r#"{"_key":"later"}"#,
        );
    }
    std::thread::sleep(Duration::from_secs(2));
    scrapes(&format!("follower with {dbs} running appliers"), &fep, n);
    scrapes(&format!("leader serving {dbs} followers"), &lep, n);
    let _ = leader.kill();
    let _ = follower.kill();
}
