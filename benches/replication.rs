//! Benchmark of the leader's replication API over loopback: prints figures, asserts only that the data
//! arrived complete.
//!
//! `cargo bench --bench replication` (or `scripts/bench-replication.sh`). Loads `BENCH_DOCS` documents of
//! about 200 bytes (default 1,000,000) in batches of 1,000, then measures
//! 1. a dump of the collection through a batch (`useEnvelope=false`, `BENCH_CHUNK` bytes per request,
//!    default 8 MiB): docs/s and MB/s;
//! 2. a tail of the whole log from before the load (same chunk size): markers/s and MB/s;
//! 3. long-poll delivery: `BENCH_WRITES` single inserts (default 10,000) at `BENCH_RATE` per second
//!    (default 1,000) while a follower-like client long-polls `/_api/wal/tail`; latency from the write's
//!    acknowledgement (and, as an upper bound, from its send) to the tail receiving it, p50/p99.

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Client, env_usize, header, percentile, start_server};

fn main() {
    let docs = env_usize("BENCH_DOCS", 1_000_000);
    let chunk = env_usize("BENCH_CHUNK", 8 << 20);
    let writes = env_usize("BENCH_WRITES", 10_000);
    let rate = env_usize("BENCH_RATE", 1_000).max(1);
    let (mut server, ep, _dir) = start_server(&[]);
    let addr = ep.as_str();
    let mut c = Client::new(addr);
    let (_, _, b) = c.send_full("GET", "/_api/wal/lastTick", b"");
    let start_tick: u64 = json_str(&b, "tick").parse().expect("tick");
    c.send("POST", "/_api/collection", r#"{"name":"bench"}"#);

    // load, two clients in parallel
    let t = Instant::now();
    let per = docs.div_ceil(1000);
    std::thread::scope(|s| {
        for w in 0..2 {
            s.spawn(move || {
                let mut c = Client::new(addr);
                for b in (w..per).step_by(2) {
                    let n = 1000.min(docs - b * 1000);
                    let mut body = String::with_capacity(n * 210);
                    body.push('[');
                    for i in 0..n {
                        let k = b * 1000 + i;
                        if i > 0 {
                            body.push(',');
                        }
                        body.push_str(&format!(
                            r#"{{"_key":"doc{k:08}","name":"user-{k:08}","email":"user{k}@example.org","age":{},"tags":["alpha","beta"],"address":{{"city":"Köln","zip":"{:05}"}},"score":{}}}"#,
                            k % 97,
                            k % 100_000,
                            k * 7 % 1000
                        ));
                    }
                    body.push(']');
                    let (st, _) = c.send("POST", "/_api/document/bench", &body);
                    assert!(st < 300, "load: {st}");
                }
            });
        }
    });
    println!(
        "loaded {docs} documents in {:.1} s ({:.0} docs/s)",
        t.elapsed().as_secs_f64(),
        docs as f64 / t.elapsed().as_secs_f64()
    );

    // 1. dump
    let (_, _, b) = c.send_full("POST", "/_api/replication/batch", br#"{"ttl":600}"#);
    let batch = json_str(&b, "id");
    let t = Instant::now();
    let (mut n, mut bytes, mut requests) = (0usize, 0usize, 0usize);
    loop {
        let (st, h, body) = c.send_full(
            "GET",
            &format!(
                "/_api/replication/dump?collection=bench&batchId={batch}&useEnvelope=false&chunkSize={chunk}"
            ),
            b"",
        );
        assert!(st == 200 || st == 204, "dump: {st}");
        requests += 1;
        bytes += body.len();
        n += body.iter().filter(|b| **b == b'\n').count();
        if header(&h, "x-arango-replication-checkmore") != "true" {
            break;
        }
    }
    let el = t.elapsed().as_secs_f64();
    assert_eq!(n, docs, "the dump returned every document");
    println!(
        "dump: {n} docs, {:.1} MB in {requests} requests: {:.0} docs/s, {:.1} MB/s",
        bytes as f64 / 1e6,
        n as f64 / el,
        bytes as f64 / 1e6 / el
    );
    c.send("DELETE", &format!("/_api/replication/batch/{batch}"), "");

    // 2. tail of the whole log
    let t = Instant::now();
    let (mut markers, mut bytes, mut requests, mut from) = (0usize, 0usize, 0usize, start_tick);
    loop {
        let (st, h, body) = c.send_full(
            "PUT",
            &format!(
                "/_api/wal/tail?from={from}&chunkSize={chunk}&serverId=4711&includeSystem=false"
            ),
            b"[]",
        );
        requests += 1;
        if st == 204 {
            break;
        }
        assert_eq!(st, 200, "tail");
        bytes += body.len();
        markers += body.iter().filter(|b| **b == b'\n').count();
        from = header(&h, "x-arango-replication-lastscanned")
            .parse()
            .expect("lastscanned");
        if header(&h, "x-arango-replication-checkmore") != "true" {
            break;
        }
    }
    let el = t.elapsed().as_secs_f64();
    assert!(markers > docs, "every insert was tailed");
    println!(
        "tail: {markers} markers, {:.1} MB in {requests} requests: {:.0} markers/s, {:.1} MB/s",
        bytes as f64 / 1e6,
        markers as f64 / el,
        bytes as f64 / 1e6 / el
    );

    // 3. long-poll delivery latency
    let (_, _, b) = c.send_full("GET", "/_api/wal/lastTick", b"");
    let mut from: u64 = json_str(&b, "tick").parse().expect("tick");
    let sent: Arc<Mutex<HashMap<String, (Instant, Instant)>>> = Arc::default();
    let received: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    std::thread::scope(|s| {
        let rec = received.clone();
        s.spawn(move || {
            let mut c = Client::new(addr);
            let mut seen = 0;
            while seen < writes {
                let (st, h, body) = c.send_full(
                    "PUT",
                    &format!("/_api/wal/tail?from={from}&serverId=4712&longPollTimeout=5"),
                    b"[]",
                );
                let now = Instant::now();
                if st == 200 {
                    let mut r = rec.lock().unwrap();
                    for line in body.split(|b| *b == b'\n').filter(|l| l.len() > 1) {
                        if let Some(k) = key_of_marker(line) {
                            r.insert(k, now);
                            seen += 1;
                        }
                    }
                }
                from = header(&h, "x-arango-replication-lastscanned")
                    .parse()
                    .unwrap_or(from);
            }
        });
        let snt = sent.clone();
        s.spawn(move || {
            let mut c = Client::new(addr);
            let t0 = Instant::now();
            for i in 0..writes {
                let due = t0 + Duration::from_secs_f64(i as f64 / rate as f64);
                if let Some(d) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(d);
                }
                let key = format!("lp{i}");
                let before = Instant::now();
                let (st, _) = c.send(
                    "POST",
                    "/_api/document/bench",
                    &format!(r#"{{"_key":"{key}","v":{i}}}"#),
                );
                assert!(st < 300);
                snt.lock().unwrap().insert(key, (before, Instant::now()));
            }
        });
    });
    let sent = sent.lock().unwrap();
    let received = received.lock().unwrap();
    let (mut from_ack, mut from_send) = (Vec::new(), Vec::new());
    for (k, (before, ack)) in sent.iter() {
        let got = received[k];
        from_ack.push(got.saturating_duration_since(*ack));
        from_send.push(got.saturating_duration_since(*before));
    }
    from_ack.sort();
    from_send.sort();
    println!(
        "long-poll delivery, {writes} writes at {rate}/s: after the acknowledgement p50 {:.3} ms, p99 {:.3} ms; \
         after the send (upper bound) p50 {:.3} ms, p99 {:.3} ms",
        percentile(&from_ack, 0.5),
        percentile(&from_ack, 0.99),
        percentile(&from_send, 0.5),
        percentile(&from_send, 0.99)
    );
    let _ = server.kill();
    let _ = server.wait();
}

/// A string attribute of a small JSON body.
fn json_str(body: &[u8], name: &str) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).expect("JSON body");
    v[name].as_str().expect("string attribute").to_string()
}

/// The `_key` of a 2300 marker line.
fn key_of_marker(line: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    (v["type"] == 2300).then(|| v["data"]["_key"].as_str().map(String::from))?
}
