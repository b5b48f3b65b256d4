//! Shared by the benchmarks: a minimal keep-alive HTTP/1.1 client (so the load generator costs little
//! next to the server it measures, both sharing the machine), a server starter, and small helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A minimal keep-alive HTTP/1.1 client, so the load generator costs little next to the server it
/// measures (both share the machine).
pub struct Client {
    addr: String,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    pub fn new(addr: &str) -> Client {
        Client {
            addr: addr.to_string(),
            conn: None,
        }
    }

    /// Sends a request, returns (status, body).
    pub fn send(&mut self, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
        let (status, _, body) = self.send_full(method, path, body.as_bytes());
        (status, body)
    }

    /// Sends a request, returns (status, headers with lower-case names, body).
    pub fn send_full(
        &mut self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        self.send_with(method, path, &[], body)
    }

    /// Sends a request with extra headers, returns (status, headers with lower-case names, body).
    pub fn send_with(
        &mut self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        if self.conn.is_none() {
            let s = TcpStream::connect(&self.addr).expect("connect");
            s.set_nodelay(true).ok();
            self.conn = Some(BufReader::new(s));
        }
        let conn = self.conn.as_mut().unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut req = head.into_bytes();
        req.extend_from_slice(body);
        conn.get_mut().write_all(&req).expect("write");
        let mut line = String::new();
        conn.read_line(&mut line).expect("status line");
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let mut len = 0usize;
        let mut headers = Vec::new();
        loop {
            line.clear();
            conn.read_line(&mut line).expect("header");
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
                if k == "content-length" {
                    len = v.parse().unwrap_or(0);
                }
                headers.push((k, v));
            }
        }
        let mut buf = vec![0u8; len];
        conn.read_exact(&mut buf).expect("body");
        (status, headers, buf)
    }
}

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A `/proc/<pid>/status` memory figure (`VmRSS:`, `VmHWM:`, …) in MiB.
pub fn vm_mib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

pub fn rss_mib(pid: u32) -> f64 {
    vm_mib(pid, "VmRSS:")
}

/// CPU seconds (user + system) a process has used so far.
pub fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

pub fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Starts a release `arangorepl serve` without authentication on a free port (or uses `BENCH_ADDR`);
/// returns the child, the `host:port` and the temporary directory (kept alive by the caller).
pub fn start_server(extra: &[&str]) -> (Child, String, tempfile::TempDir) {
    let mut args = vec![
        "serve",
        "--server.endpoint",
        "tcp://127.0.0.1:0",
        "--server.authentication",
        "false",
    ];
    args.extend_from_slice(extra);
    launch(&args, true)
}

/// Starts a release `arangorepl proxy` in front of the server at `upstream` (`host:port`).
pub fn start_proxy(upstream: &str) -> (Child, String, tempfile::TempDir) {
    let up = format!("tcp://{upstream}");
    launch(
        &[
            "proxy",
            "--server.endpoint",
            "tcp://127.0.0.1:0",
            "--upstream.endpoint",
            &up,
        ],
        false,
    )
}

/// The binary the benchmark starts: `BENCH_BIN` (another build, to compare two in turns) or this one.
pub fn binary() -> String {
    std::env::var("BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_arangorepl").to_string())
}

/// Runs `arangorepl <args> --log.level warning --database.directory <temp>`; reads the bound endpoint
/// from its first line (or takes `BENCH_ADDR` for a server, when `may_be_elsewhere`).
fn launch(args: &[&str], may_be_elsewhere: bool) -> (Child, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let tls = tls().filter(|_| args.first() == Some(&"serve"));
    let tls_args: Vec<String> = match tls {
        Some(t) => vec![
            "--server.endpoint".into(),
            "ssl://127.0.0.1:0".into(),
            "--ssl.keyfile".into(),
            t.keyfile.clone(),
            "--replication.ssl-cafile".into(),
            t.cafile.clone(),
        ],
        None => Vec::new(),
    };
    let mut server = Command::new(binary())
        .args(args)
        .args(&tls_args)
        .args(["--log.level", "warning", "--database.directory"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start server");
    // BENCH_ADDR=host:port measures a server started elsewhere (e.g. under a profiler).
    let ep = match std::env::var("BENCH_ADDR")
        .ok()
        .filter(|_| may_be_elsewhere)
    {
        Some(a) => a,
        None => {
            let mut out = BufReader::new(server.stdout.take().unwrap());
            // the `host:port` after `scheme` on the next line the server prints
            let mut next_endpoint = |scheme: &str| {
                let mut line = String::new();
                out.read_line(&mut line).expect("endpoint line");
                line.split(scheme)
                    .nth(1)
                    .and_then(|s| s.split_whitespace().next())
                    .expect("endpoint")
                    .to_string()
            };
            let ep = next_endpoint("tcp://");
            if tls.is_some() {
                let ssl = next_endpoint("ssl://");
                SSL_OF
                    .lock()
                    .unwrap()
                    .insert(ep.clone(), format!("ssl://{ssl}"));
            }
            ep
        }
    };
    std::thread::sleep(Duration::from_millis(300));
    (server, ep, dir)
}

/// `BENCH_TLS=1`: every server also listens on an `ssl://` endpoint with a certificate of a throw-away
/// CA (made here), its appliers trust that CA, and [`replication_endpoint`] names the `ssl://` one — so
/// replication runs over TLS while the benchmark's own client stays on plain TCP.
pub struct Tls {
    _dir: tempfile::TempDir,
    pub keyfile: String,
    pub cafile: String,
}

pub fn tls() -> Option<&'static Tls> {
    static TLS: std::sync::OnceLock<Option<Tls>> = std::sync::OnceLock::new();
    TLS.get_or_init(|| {
        std::env::var("BENCH_TLS")
            .is_ok_and(|v| v == "1" || v == "true")
            .then(make_tls)
    })
    .as_ref()
}

fn make_tls() -> Tls {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "bench CA");
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let p = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = p.signed_by(&key, &issuer).unwrap();
    let keyfile = dir.path().join("server.pem");
    let cafile = dir.path().join("ca.pem");
    std::fs::write(&keyfile, format!("{}{}", cert.pem(), key.serialize_pem())).unwrap();
    std::fs::write(&cafile, ca_pem).unwrap();
    Tls {
        keyfile: keyfile.display().to_string(),
        cafile: cafile.display().to_string(),
        _dir: dir,
    }
}

static SSL_OF: std::sync::Mutex<std::collections::BTreeMap<String, String>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// The endpoint a follower replicates from for the server at `ep` (`host:port`): `tcp://ep`, or its
/// `ssl://` endpoint with `BENCH_TLS=1`.
pub fn replication_endpoint(ep: &str) -> String {
    SSL_OF
        .lock()
        .unwrap()
        .get(ep)
        .cloned()
        .unwrap_or_else(|| format!("tcp://{ep}"))
}

/// A header's value from [`Client::send_full`]'s list.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// The initial-sync benchmarks' collections (`c0` has a unique index).
pub const COLLECTIONS: [&str; 4] = ["c0", "c1", "c2", "c3"];

/// One of the initial-sync benchmarks' documents (about 200 bytes).
pub fn sync_doc(k: usize) -> String {
    format!(
        r#"{{"_key":"doc{k:08}","name":"user-{k:08}","email":"user{k}@example.org","age":{},"active":{},"tags":["alpha","beta","gamma"],"address":{{"city":"Köln","zip":"{:05}"}},"u":{k}}}"#,
        k % 97,
        k.is_multiple_of(3),
        k % 100_000
    )
}

/// Creates [`COLLECTIONS`] on the server at `ep` and loads `docs` documents into them (two clients,
/// batches of 1,000); returns the bytes of JSON sent.
pub fn load_sync_data(ep: &str, docs: usize) -> usize {
    let per = docs / COLLECTIONS.len();
    let mut l = Client::new(ep);
    for c in COLLECTIONS {
        l.send("POST", "/_api/collection", &format!(r#"{{"name":"{c}"}}"#));
    }
    l.send(
        "POST",
        "/_api/index?collection=c0",
        r#"{"type":"persistent","fields":["u"],"unique":true}"#,
    );
    let mut bytes = 0usize;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|w| {
                s.spawn(move || {
                    let mut c = Client::new(ep);
                    let mut bytes = 0;
                    for (ci, coll) in COLLECTIONS.iter().enumerate() {
                        for b in (w..per.div_ceil(1000)).step_by(2) {
                            let lo = ci * per + b * 1000;
                            let hi = (lo + 1000).min((ci + 1) * per);
                            let body = format!(
                                "[{}]",
                                (lo..hi).map(sync_doc).collect::<Vec<_>>().join(",")
                            );
                            bytes += body.len();
                            let (st, _) = c.send("POST", &format!("/_api/document/{coll}"), &body);
                            assert!(st < 300, "load {st}");
                        }
                    }
                    bytes
                })
            })
            .collect();
        for h in handles {
            bytes += h.join().unwrap();
        }
    });
    bytes
}
