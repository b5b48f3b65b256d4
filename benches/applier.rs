//! Benchmark of the continuous applier between two local `arangorepl serve` processes: prints figures,
//! asserts only that the follower ends up with every change.
//!
//! `cargo bench --bench applier` (or `scripts/bench-applier.sh`).
//! 1. Catch-up: `BENCH_OPS` document markers (default 1,000,000: inserts in batches of 1,000, a tenth of
//!    them updated again) wait in the leader's log; the applier starts — apply rate and follower RSS.
//! 2. Steady state: a writer makes `BENCH_RATE` single-document writes per second (default 2,000) on the
//!    leader for `BENCH_SECS` seconds (default 60) — lag from the leader's acknowledgement (and from the
//!    write's send) to the change being visible on the follower, p50/p99/max, per 10-second window too;
//!    once with the leader's long-poll and once with ArangoDB-style polling
//!    (`--replication.long-poll false` on the leader, default polling settings on the follower).
//!
//! Visibility is observed on the follower's own replication log, which a change enters in the same
//! store transaction that makes it visible (read with a long-poll, so the observer waits with it).
//! `BENCH_SHOW_LATE=<ms>` lists when the writes later than that were sent.

#[path = "support/mod.rs"]
mod support;

use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Client, cpu_secs, env_usize, header, percentile, start_proxy, start_server, vm_mib};

fn doc(k: usize, round: usize) -> String {
    format!(
        r#"{{"_key":"doc{k:08}","name":"user-{k:08}","email":"user{k}@example.org","age":{},"round":{round},"tags":["alpha","beta"],"address":{{"city":"Köln","zip":"{:05}"}}}}"#,
        k % 97,
        k % 100_000
    )
}

fn json(b: &[u8]) -> Value {
    serde_json::from_slice(b).unwrap_or(Value::Null)
}

fn state(c: &mut Client) -> Value {
    let (_, b) = c.send("GET", "/_api/replication/applier-state", "");
    json(&b)
}

fn last_tick(c: &mut Client) -> u64 {
    let (_, b) = c.send("GET", "/_api/replication/logger-state", "");
    json(&b)["state"]["lastLogTick"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

type Proc = (std::process::Child, String, tempfile::TempDir);

/// A leader with collection `c`, a follower that synced it, and the tick to tail from. With
/// `BENCH_VIA=proxy` the follower is a server answering as ArangoDB 3.12.10 (no applier) and the
/// applier runs in an `arangorepl proxy` in front of it: `control` is where the applier is driven, the
/// follower is where the data lands.
struct Pair {
    leader: Proc,
    follower: Proc,
    proxy: Option<Proc>,
    from: u64,
}

impl Pair {
    fn control(&self) -> &str {
        self.proxy.as_ref().map_or(&self.follower.1, |p| &p.1)
    }

    /// The process running the applier.
    fn applier_pid(&self) -> u32 {
        self.proxy
            .as_ref()
            .map_or(self.follower.0.id(), |p| p.0.id())
    }

    fn stop(mut self) {
        for p in [
            Some(&mut self.leader),
            Some(&mut self.follower),
            self.proxy.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            let _ = p.0.kill();
            let _ = p.0.wait();
        }
    }
}

fn via_proxy() -> bool {
    std::env::var("BENCH_VIA").is_ok_and(|v| v == "proxy")
}

fn pair(leader_args: &[&str]) -> Pair {
    let leader = start_server(leader_args);
    // BENCH_FOLLOWER_ARGS: extra options for the follower (e.g. "--store.cache-size 33554432")
    let mut extra = std::env::var("BENCH_FOLLOWER_ARGS").unwrap_or_default();
    if via_proxy() {
        extra.push_str(" --compat.arangodb-version 3.12.10");
    }
    let follower = start_server(&extra.split_whitespace().collect::<Vec<_>>());
    let proxy = via_proxy().then(|| start_proxy(&follower.1));
    let mut l = Client::new(&leader.1);
    l.send("POST", "/_api/collection", r#"{"name":"c"}"#);
    let mut p = Pair {
        leader,
        follower,
        proxy,
        from: 0,
    };
    let mut f = Client::new(p.control());
    let (st, b) = f.send(
        "PUT",
        "/_api/replication/sync",
        &format!(
            r#"{{"endpoint":"{}"}}"#,
            support::replication_endpoint(&p.leader.1)
        ),
    );
    assert_eq!(st, 200, "sync: {}", String::from_utf8_lossy(&b));
    p.from = json(&b)["lastLogTick"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("lastLogTick");
    p
}

fn configure(f: &mut Client, leader: &str, extra: &str) {
    let (st, b) = f.send(
        "PUT",
        "/_api/replication/applier-config",
        &format!(
            r#"{{"endpoint":"{}"{extra}}}"#,
            support::replication_endpoint(leader)
        ),
    );
    assert_eq!(st, 200, "config: {}", String::from_utf8_lossy(&b));
}

fn catch_up(ops: usize) {
    let pair = pair(&[]);
    let (lep, from) = (pair.leader.1.clone(), pair.from);
    let mut l = Client::new(&lep);
    let inserts = ops * 10 / 11;
    let t = Instant::now();
    std::thread::scope(|s| {
        for w in 0..2 {
            let lep = lep.clone();
            s.spawn(move || {
                let mut c = Client::new(&lep);
                for b in (w..inserts.div_ceil(1000)).step_by(2) {
                    let body = format!(
                        "[{}]",
                        (b * 1000..((b + 1) * 1000).min(inserts))
                            .map(|k| doc(k, 0))
                            .collect::<Vec<_>>()
                            .join(",")
                    );
                    let (st, _) = c.send("POST", "/_api/document/c", &body);
                    assert!(st < 300, "load {st}");
                }
            });
        }
    });
    // a tenth of the documents written again
    let updates = ops - inserts;
    for b in 0..updates.div_ceil(1000) {
        let body = format!(
            "[{}]",
            (b * 1000..((b + 1) * 1000).min(updates))
                .map(|k| doc(k * 10 % inserts.max(1), 1))
                .collect::<Vec<_>>()
                .join(",")
        );
        let (st, _) = l.send("POST", "/_api/document/c?overwriteMode=replace", &body);
        assert!(st < 300, "update {st}");
    }
    let leader_tick = last_tick(&mut l);
    println!(
        "catch-up: {ops} document markers ({inserts} inserts, {updates} replacements) on the leader in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let mut f = Client::new(pair.control());
    let mut data = Client::new(&pair.follower.1);
    // BENCH_APPLIER_CONFIG: extra applier configuration, e.g. ',"chunkSize":524288'
    configure(
        &mut f,
        &lep,
        &std::env::var("BENCH_APPLIER_CONFIG").unwrap_or_default(),
    );
    let fpid = pair.applier_pid();
    let dpid = pair.follower.0.id();
    let rss_before = vm_mib(fpid, "VmRSS:");
    let (f_cpu, l_cpu, d_cpu) = (cpu_secs(fpid), cpu_secs(pair.leader.0.id()), cpu_secs(dpid));
    let t = Instant::now();
    let (st, b) = f.send(
        "PUT",
        &format!("/_api/replication/applier-start?from={from}"),
        "",
    );
    assert_eq!(st, 200, "start: {}", String::from_utf8_lossy(&b));
    let mut peak = 0.0f64;
    loop {
        let s = state(&mut f);
        peak = peak.max(vm_mib(fpid, "VmRSS:"));
        let done = s["state"]["lastProcessedContinuousTick"]
            .as_str()
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0);
        if done >= leader_tick {
            break;
        }
        assert_eq!(
            s["state"]["lastError"]["errorNum"], 0,
            "applier failed: {s}"
        );
        assert!(t.elapsed() < Duration::from_secs(600), "catch-up too slow");
        std::thread::sleep(Duration::from_millis(20));
    }
    let secs = t.elapsed().as_secs_f64();
    let (f_cpu, l_cpu) = (cpu_secs(fpid) - f_cpu, cpu_secs(pair.leader.0.id()) - l_cpu);
    if via_proxy() {
        println!(
            "  CPU of the upstream the proxy writes into: {:.1} s",
            cpu_secs(dpid) - d_cpu
        );
    }
    let (_, b) = data.send("GET", "/_api/collection/c/count", "");
    assert_eq!(json(&b)["count"].as_u64(), Some(inserts as u64));
    let s = state(&mut f);
    println!(
        "catch-up apply{}: {ops} markers in {secs:.2} s: {:.0} ops/s; {} RSS {rss_before:.1} MiB before, \
         peak {:.1} MiB (sampled), VmHWM {:.1} MiB; CPU follower {f_cpu:.1} s, leader {l_cpu:.1} s; \
         {} requests, average apply {:.1} ms, fetch {:.1} ms",
        if via_proxy() {
            " through the proxy"
        } else {
            ""
        },
        ops as f64 / secs,
        if via_proxy() { "proxy" } else { "follower" },
        peak,
        vm_mib(fpid, "VmHWM:"),
        s["state"]["totalRequests"],
        s["state"]["averageApplyTime"].as_f64().unwrap_or(0.0) * 1000.0,
        s["state"]["averageFetchTime"].as_f64().unwrap_or(0.0) * 1000.0,
    );
    pair.stop();
}

/// Microseconds since 1970 of an arangorepl tick (milliseconds << 20, the microsecond in bits 10-19).
fn tick_micros(t: u64) -> u64 {
    (t >> 20) * 1000 + ((t & 0xF_FFFF) >> 10).min(999)
}

/// The tick of every steady-state write (`w<i>`) in the log of the server at `ep` after `from`.
fn write_ticks(ep: &str, mut from: u64) -> HashMap<String, u64> {
    let mut c = Client::new(ep);
    let mut out = HashMap::new();
    loop {
        let (_, h, body) = c.send_full(
            "GET",
            &format!("/_api/wal/tail?from={from}&chunkSize=8388608"),
            b"",
        );
        for line in body.split(|b| *b == b'\n').filter(|l| l.len() > 1) {
            let m = json(line);
            if let (Some(k), Some(t)) = (m["data"]["_key"].as_str(), m["tick"].as_str())
                && k.starts_with('w')
                && let Ok(t) = t.parse::<u64>()
            {
                out.entry(k.to_string()).or_insert(t);
            }
        }
        let inc: u64 = header(&h, "x-arango-replication-lastincluded")
            .parse()
            .unwrap_or(0);
        if header(&h, "x-arango-replication-checkmore") != "true" || inc <= from {
            return out;
        }
        from = inc;
    }
}

/// Per write, the follower's tick of its apply minus the leader's tick of the write, sorted — lag
/// stamped inside the servers, as PostgreSQL's benchmark stamps it (`ts` at the insert on the
/// publisher, `apply_ts` by a trigger on the subscriber, both before their commits). Both servers run
/// on this machine's clock. Empty when the ticks carry no microseconds (an older build).
fn server_stamps(lep: &str, leader_from: u64, fep: &str, follower_from: u64) -> Vec<Duration> {
    let leader = write_ticks(lep, leader_from);
    let follower = write_ticks(fep, follower_from);
    let mut lags: Vec<Duration> = leader
        .iter()
        .filter_map(|(k, lt)| {
            let ft = follower.get(k)?;
            Some(Duration::from_micros(
                tick_micros(*ft).saturating_sub(tick_micros(*lt)),
            ))
        })
        .collect();
    lags.sort();
    lags
}

/// (sum in seconds, count) of the `_system` applier's apply-latency histogram, from the metrics.
fn apply_latency(c: &mut Client) -> (f64, f64) {
    let (_, b) = c.send("GET", "/_admin/metrics/v2", "");
    let text = String::from_utf8_lossy(&b);
    let get = |suffix: &str| {
        let name = format!(
            "arangorepl_replication_applier_apply_latency_seconds_{suffix}{{database=\"_system\"}} "
        );
        text.lines()
            .find_map(|l| l.strip_prefix(&name))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (get("sum"), get("count"))
}

fn steady(label: &str, leader_args: &[&str], follower_config: &str, rate: usize, secs: usize) {
    let pair = pair(leader_args);
    let (lep, fep, from) = (pair.leader.1.clone(), pair.follower.1.clone(), pair.from);
    let mut f = Client::new(pair.control());
    configure(&mut f, &lep, follower_config);
    let (st, _) = f.send(
        "PUT",
        &format!("/_api/replication/applier-start?from={from}"),
        "",
    );
    assert_eq!(st, 200);
    std::thread::sleep(Duration::from_millis(500));
    let latency_before = apply_latency(&mut f);
    // where both logs stand before the writes (for the server-side stamps below)
    let follower_from = last_tick(&mut Client::new(&fep));
    let leader_from = last_tick(&mut Client::new(&lep));
    // sized up front: growing a map of 100,000+ keys while the observer holds it stalls the observer for
    // tens of milliseconds, which showed up as lag (at exactly 57,344 and 114,688 writes: the map's growth
    // points)
    let seen: Arc<Mutex<HashMap<String, Instant>>> =
        Arc::new(Mutex::new(HashMap::with_capacity(rate * secs + 1024)));
    let stop = Arc::new(AtomicBool::new(false));
    // the observer: long-polls the follower's own log
    let observer = {
        let (seen, stop, fep) = (seen.clone(), stop.clone(), fep.clone());
        let mut from = follower_from;
        std::thread::spawn(move || {
            let mut c = Client::new(&fep);
            while !stop.load(Ordering::Relaxed) {
                let (_, h, body) = c.send_full(
                    "PUT",
                    &format!("/_api/wal/tail?from={from}&chunkSize=1048576&longPollTimeout=1"),
                    b"[]",
                );
                let now = Instant::now();
                let inc: u64 = header(&h, "x-arango-replication-lastincluded")
                    .parse()
                    .unwrap_or(0);
                if inc > from {
                    from = inc;
                }
                let mut s = seen.lock().unwrap();
                for line in body.split(|b| *b == b'\n').filter(|l| l.len() > 1) {
                    let m = json(line);
                    if let Some(k) = m["data"]["_key"].as_str() {
                        s.entry(k.to_string()).or_insert(now);
                    }
                }
            }
        })
    };
    let mut l = Client::new(&lep);
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let total = rate * secs;
    let mut sent = Vec::with_capacity(total);
    let t0 = Instant::now();
    for i in 0..total {
        let due = t0 + interval * i as u32;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let send = Instant::now();
        let (st, _) = l.send(
            "POST",
            "/_api/document/c",
            &format!(r#"{{"_key":"w{i}","i":{i},"pad":"0123456789abcdef0123456789abcdef"}}"#),
        );
        assert!(st < 300, "write {st}");
        sent.push((send, Instant::now()));
    }
    let behind = t0.elapsed().as_secs_f64() - secs as f64;
    // everything must arrive
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap().len() < total {
        assert!(
            Instant::now() < deadline,
            "only {} of {total} writes reached the follower: {}",
            seen.lock().unwrap().len(),
            state(&mut f)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let _ = observer.join();
    let latency_after = apply_latency(&mut f);
    let stamps = server_stamps(&lep, leader_from, &fep, follower_from);
    let seen = seen.lock().unwrap();
    let mut after_ack = Vec::with_capacity(total);
    let mut after_send = Vec::with_capacity(total);
    let mut windows: Vec<Vec<Duration>> = vec![Vec::new(); secs.div_ceil(10)];
    for (i, (send, ack)) in sent.iter().enumerate() {
        let v = seen[&format!("w{i}")];
        let lag = v.saturating_duration_since(*ack);
        after_ack.push(lag);
        after_send.push(v.saturating_duration_since(*send));
        let w = (send.duration_since(t0).as_secs() as usize / 10).min(windows.len() - 1);
        windows[w].push(lag);
    }
    // BENCH_SHOW_LATE=<ms>: when the writes later than that were sent (one line per 100 ms), to match
    // them with server-side events
    if let Some(limit) = std::env::var("BENCH_SHOW_LATE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
    {
        let mut last = f64::MIN;
        for (i, (send, ack)) in sent.iter().enumerate() {
            let lag = seen[&format!("w{i}")]
                .saturating_duration_since(*ack)
                .as_secs_f64()
                * 1000.0;
            let at = send.duration_since(t0).as_secs_f64() * 1000.0;
            if lag > limit && at - last > 100.0 {
                println!("  late: write {i} sent at {at:.1} ms: lag {lag:.1} ms");
                last = at;
            }
        }
    }
    after_ack.sort();
    after_send.sort();
    let p = |v: &[Duration]| {
        format!(
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            percentile(v, 0.50),
            percentile(v, 0.99),
            v.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        )
    };
    println!(
        "steady state{}, {label}: {total} single-document writes at {rate}/s for {secs} s (writer {behind:.2} s behind schedule)",
        if via_proxy() {
            " through the proxy"
        } else {
            ""
        }
    );
    println!(
        "  lag after the leader's acknowledgement: {}",
        p(&after_ack)
    );
    println!(
        "  lag after the write was sent:           {}",
        p(&after_send)
    );
    let over = |ms: u64| {
        after_ack
            .iter()
            .filter(|d| **d > Duration::from_millis(ms))
            .count()
    };
    println!(
        "  writes seen later than 2 / 5 / 10 / 20 ms after their acknowledgement: {} / {} / {} / {}",
        over(2),
        over(5),
        over(10),
        over(20)
    );
    let per_window: Vec<String> = windows
        .iter_mut()
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.sort();
            format!("{:.2}/{:.2}", percentile(w, 0.5), percentile(w, 0.99))
        })
        .collect();
    println!("  p50/p99 ms per 10 s window: {}", per_window.join("  "));
    // the applier's own figure (leader commit to follower apply, from the metrics) next to the
    // observer's
    let mean =
        |v: &[Duration]| v.iter().map(Duration::as_secs_f64).sum::<f64>() * 1000.0 / v.len() as f64;
    let (sum, count) = (
        latency_after.0 - latency_before.0,
        latency_after.1 - latency_before.1,
    );
    if count > 0.0 {
        let own = sum / count * 1000.0;
        println!(
            "  apply latency from the metrics (leader commit to follower apply, {count} changes): mean {own:.2} ms; \
             the observer's mean after the acknowledgement {:.2} ms, after the send {:.2} ms (difference {:+.2} ms)",
            mean(&after_ack),
            mean(&after_send),
            own - mean(&after_send)
        );
    }
    // BENCH_STAMPS_OUT=FILE: the stamped figures under peer-arangorepl.sh's labels
    if let Ok(path) = std::env::var("BENCH_STAMPS_OUT")
        && !stamps.is_empty()
    {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let text = format!(
            "peer-arangorepl: steady_lag_p50_ms: {:.3}\npeer-arangorepl: steady_lag_p99_ms: {:.3}\n\
             peer-arangorepl: steady_lag_max_ms: {:.3}\npeer-arangorepl: steady_lag_rows: {}\n",
            percentile(&stamps, 0.50),
            percentile(&stamps, 0.99),
            stamps.last().map_or(0.0, |d| ms(*d)),
            stamps.len()
        );
        std::fs::write(&path, text).expect("BENCH_STAMPS_OUT");
    }
    if !stamps.is_empty() {
        println!(
            "  lag from server-side stamps (the leader's tick of each write to the follower's tick of \
             its apply, both taken before their commits, as PostgreSQL's ts and apply_ts; {} writes): {}",
            stamps.len(),
            p(&stamps)
        );
    }
    let st = state(&mut f);
    println!(
        "  applier: {} requests to the leader, average fetch {:.2} ms, average apply {:.2} ms",
        st["state"]["totalRequests"],
        st["state"]["averageFetchTime"].as_f64().unwrap_or(0.0) * 1000.0,
        st["state"]["averageApplyTime"].as_f64().unwrap_or(0.0) * 1000.0
    );
    println!(
        "  follower RSS {:.1} MiB, leader RSS {:.1} MiB{}",
        vm_mib(pair.follower.0.id(), "VmRSS:"),
        vm_mib(pair.leader.0.id(), "VmRSS:"),
        match &pair.proxy {
            Some(p) => format!(
                ", proxy RSS {:.1} MiB (peak {:.1} MiB)",
                vm_mib(p.0.id(), "VmRSS:"),
                vm_mib(p.0.id(), "VmHWM:")
            ),
            None => String::new(),
        }
    );
    pair.stop();
}

fn main() {
    let ops = env_usize("BENCH_OPS", 1_000_000);
    let rate = env_usize("BENCH_RATE", 2_000);
    let secs = env_usize("BENCH_SECS", 60);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "catchup" {
        catch_up(ops);
    }
    if only == "stamped" {
        // the long-poll steady state alone (scripts/compare-stamped.sh)
        steady("long-poll", &[], "", rate, secs);
    }
    if only.is_empty() || only == "lag" {
        steady("long-poll", &[], "", rate, secs);
        // ArangoDB's polling: the leader answers at once, the follower sleeps idleMinWaitTime (0.5 s
        // default), adaptively longer
        steady(
            "ArangoDB-style polling",
            &["--replication.long-poll", "false"],
            "",
            rate,
            secs.min(20),
        );
    }
}
