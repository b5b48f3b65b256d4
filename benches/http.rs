//! HTTP benchmark of `arangorepl serve`: prints figures, asserts nothing.
//!
//! `cargo bench --bench http` (or `scripts/bench-http.sh`). Starts a release server on a free loopback port
//! with a temporary directory; client and server share the machine. Sizes: `BENCH_SINGLE` single inserts
//! per client (default 2,000 × 16 clients), `BENCH_BATCHES` batches of 1,000 (default 200), `BENCH_READS`
//! reads per client (default 5,000 × 16).

#[path = "support/mod.rs"]
mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{Client, env_usize, percentile, rss_mib, start_server};

fn doc(i: usize) -> Value {
    json!({"name": format!("user-{i:08}"), "email": format!("user{i}@example.org"), "age": i % 97,
           "tags": ["alpha", "beta"], "address": {"city": "Köln", "zip": format!("{:05}", i % 100_000)}})
}

fn concurrent(
    addr: &str,
    clients: usize,
    per: usize,
    f: impl Fn(&mut Client, usize, usize) + Sync,
) -> (f64, Vec<Duration>) {
    let lat = std::sync::Mutex::new(Vec::with_capacity(clients * per));
    let start = Instant::now();
    std::thread::scope(|s| {
        for c in 0..clients {
            let (lat, f) = (&lat, &f);
            s.spawn(move || {
                let mut client = Client::new(addr);
                let mut mine = Vec::with_capacity(per);
                for i in 0..per {
                    let t = Instant::now();
                    f(&mut client, c, i);
                    mine.push(t.elapsed());
                }
                lat.lock().unwrap().extend(mine);
            });
        }
    });
    let el = start.elapsed().as_secs_f64();
    let mut l = lat.into_inner().unwrap();
    l.sort();
    ((clients * per) as f64 / el, l)
}

/// One client, one request at a time: the round trips a remote applier makes per chunk (begin, the
/// documents, its position, commit), each step's latency, next to a request that does nothing.
fn trx_cycle(addr: &str, cycles: usize) {
    if cycles == 0 {
        return;
    }
    let mut cl = Client::new(addr);
    cl.send("POST", "/_api/collection", r#"{"name":"trxpos"}"#);
    let mut steps: Vec<Vec<Duration>> = (0..5).map(|_| Vec::with_capacity(cycles)).collect();
    let begin = r#"{"collections":{"write":["bench","trxpos"]},"waitForSync":false}"#;
    let start = Instant::now();
    for i in 0..cycles {
        let t = Instant::now();
        let (st, _) = cl.send("GET", "/_api/version", "");
        assert_eq!(st, 200);
        steps[0].push(t.elapsed());
        let t = Instant::now();
        let (st, b) = cl.send("POST", "/_api/transaction/begin", begin);
        assert!(st < 300, "begin: {st}");
        steps[1].push(t.elapsed());
        let v: Value = serde_json::from_slice(&b).unwrap();
        let id = v["result"]["id"].as_str().unwrap().to_string();
        let h = [("x-arango-trx-id", id.as_str())];
        let body = Value::Array(vec![json!({"_key": format!("t{i}"), "d": doc(i)})]).to_string();
        let t = Instant::now();
        let (st, _, _) = cl.send_with(
            "POST",
            "/_api/document/bench?overwriteMode=replace&isRestore=true&waitForSync=false",
            &h,
            body.as_bytes(),
        );
        assert!(st < 300, "documents: {st}");
        steps[2].push(t.elapsed());
        let pos =
            json!({"_key": "applier", "lastAppliedContinuousTick": i.to_string()}).to_string();
        let t = Instant::now();
        let (st, _, _) = cl.send_with(
            "POST",
            "/_api/document/trxpos?overwriteMode=replace&waitForSync=false",
            &h,
            pos.as_bytes(),
        );
        assert!(st < 300, "position: {st}");
        steps[3].push(t.elapsed());
        let t = Instant::now();
        let (st, _) = cl.send("PUT", &format!("/_api/transaction/{id}"), "");
        assert_eq!(st, 200, "commit");
        steps[4].push(t.elapsed());
    }
    let el = start.elapsed().as_secs_f64();
    for s in &mut steps {
        s.sort();
    }
    let names = [
        "no-op (version)",
        "begin",
        "documents",
        "position",
        "commit",
    ];
    let parts: Vec<String> = names
        .iter()
        .zip(&steps)
        .map(|(n, s)| format!("{n} {:.3}/{:.3}", percentile(s, 0.5), percentile(s, 0.99)))
        .collect();
    println!(
        "stream-transaction cycle, 1 client: {:.0} cycles/s; ms p50/p99: {}",
        cycles as f64 / el,
        parts.join(", ")
    );
}

fn main() {
    let single = env_usize("BENCH_SINGLE", 2000);
    let batches = env_usize("BENCH_BATCHES", 200);
    let reads = env_usize("BENCH_READS", 5000);
    // BENCH_SERVER_ARGS: extra server options (e.g. "--store.cache-size 16777216")
    let extra = std::env::var("BENCH_SERVER_ARGS").unwrap_or_default();
    let (mut server, ep, _dir) = start_server(&extra.split_whitespace().collect::<Vec<_>>());
    let pid = server.id();
    std::thread::sleep(Duration::from_millis(300));
    println!(
        "http benchmark against {ep}; server RSS at rest: {:.1} MiB",
        rss_mib(pid)
    );
    let addr = ep.as_str();
    Client::new(addr).send("POST", "/_api/collection", r#"{"name":"bench"}"#);

    // 1. single inserts, 16 concurrent clients, keep-alive; bodies are built before the clock starts so
    //    the load generator spends its share of the CPU on sending, not on JSON
    let singles: Vec<Vec<String>> = (0..16)
        .map(|c| {
            (0..single)
                .map(|i| json!({"_key": format!("s{c}-{i}"), "d": doc(i)}).to_string())
                .collect()
        })
        .collect();
    let (ops, lat) = concurrent(addr, 16, single, |cl, c, i| {
        let (st, _) = cl.send("POST", "/_api/document/bench", &singles[c][i]);
        assert!(st < 300, "insert: {st}");
    });
    drop(singles);
    println!(
        "single inserts, 16 clients: {ops:.0} ops/s, p50 {:.2} ms, p99 {:.2} ms",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );

    // 2. batch inserts of 1,000 documents, 2 clients
    let bodies: Vec<String> = (0..batches)
        .map(|b| Value::Array((0..1000).map(|i| doc(b * 1000 + i)).collect()).to_string())
        .collect();
    let (bps, _) = concurrent(addr, 2, batches / 2, |cl, c, i| {
        let (st, _) = cl.send(
            "POST",
            "/_api/document/bench",
            &bodies[c * (batches / 2) + i],
        );
        assert!(st < 300, "batch: {st}");
    });
    println!(
        "batch inserts (1,000 docs per request, 2 clients): {:.0} docs/s",
        bps * 1000.0
    );

    // 3. reads by key, 16 clients
    let (rps, lat) = concurrent(addr, 16, reads, |cl, c, i| {
        let (st, _) = cl.send(
            "GET",
            &format!("/_api/document/bench/s{c}-{}", i % single.max(1)),
            "",
        );
        assert_eq!(st, 200);
    });
    println!(
        "reads by key, 16 clients: {rps:.0} ops/s, p50 {:.2} ms, p99 {:.2} ms",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    trx_cycle(addr, env_usize("BENCH_TRX", 2000));
    std::thread::sleep(Duration::from_millis(500));
    println!("server RSS after the load: {:.1} MiB", rss_mib(pid));
    let _ = server.kill();
    let _ = server.wait();
}
