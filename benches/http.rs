//! HTTP benchmark of `arangorepl serve`: prints figures, asserts nothing.
//!
//! `cargo bench --bench http` (or `scripts/bench-http.sh`). Starts a release server on a free loopback port
//! with a temporary directory; client and server share the machine. Sizes: `BENCH_SINGLE` single inserts
//! per client (default 2,000 × 16 clients), `BENCH_BATCHES` batches of 1,000 (default 200), `BENCH_READS`
//! reads per client (default 5,000 × 16).

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A minimal keep-alive HTTP/1.1 client, so the load generator costs little next to the server it
/// measures (both share the machine).
struct Client {
    addr: String,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    fn new(addr: &str) -> Client {
        Client {
            addr: addr.to_string(),
            conn: None,
        }
    }

    /// Sends a request, returns (status, body).
    fn send(&mut self, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
        if self.conn.is_none() {
            let s = TcpStream::connect(&self.addr).expect("connect");
            s.set_nodelay(true).ok();
            self.conn = Some(BufReader::new(s));
        }
        let conn = self.conn.as_mut().unwrap();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        conn.get_mut().write_all(req.as_bytes()).expect("write");
        let mut line = String::new();
        conn.read_line(&mut line).expect("status line");
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let mut len = 0usize;
        loop {
            line.clear();
            conn.read_line(&mut line).expect("header");
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut buf = vec![0u8; len];
        conn.read_exact(&mut buf).expect("body");
        (status, buf)
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

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

fn main() {
    let single = env_usize("BENCH_SINGLE", 2000);
    let batches = env_usize("BENCH_BATCHES", 200);
    let reads = env_usize("BENCH_READS", 5000);
    let dir = tempfile::tempdir().expect("temp dir");
    // BENCH_ADDR=host:port measures a server started elsewhere (e.g. under a profiler).
    let external = std::env::var("BENCH_ADDR").ok();
    let mut server = Command::new(env!("CARGO_BIN_EXE_arangorepl"))
        .args([
            "serve",
            "--server.endpoint",
            "tcp://127.0.0.1:0",
            "--server.authentication",
            "false",
            "--log.level",
            "warning",
            "--database.directory",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start server");
    let ep = match external {
        Some(a) => a,
        None => {
            let mut line = String::new();
            BufReader::new(server.stdout.take().unwrap())
                .read_line(&mut line)
                .expect("endpoint line");
            line.split("tcp://")
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .expect("endpoint")
                .to_string()
        }
    };
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
    std::thread::sleep(Duration::from_millis(500));
    println!("server RSS after the load: {:.1} MiB", rss_mib(pid));
    let _ = server.kill();
    let _ = server.wait();
}
