//! Benchmark of the server-level initial sync (`sync?global=true`, the shell's `syncGlobal`) between two
//! local `arangorepl serve` processes: prints figures, asserts only that the follower ends up with every
//! document of every database.
//!
//! `cargo bench --bench global_sync` (or `scripts/bench-global-sync.sh`). One leader gets `BENCH_DBS`
//! databases (default 100) of `BENCH_DOCS_PER_DB` documents (default 10,000, about 200 bytes each, a
//! unique index on `u`), another leader one database holding as many documents in one collection. It
//! measures the server-level sync of the first into an empty follower and the per-database sync of the
//! second into another empty follower, and prints both rates and their ratio (issue target: ≥ 0.8).
//! Then the server-level applier tails from that sync: the catch-up of a database created on the leader
//! with 10,000 documents (target ≤ 1 s), and the lag of `BENCH_PROBES` (500) single writes, each
//! awaited on the follower, against the same with the database's own applier.

#[path = "support/mod.rs"]
mod support;

use serde_json::Value;
use std::time::Instant;
use support::{Client, cpu_secs, env_usize, start_server, sync_doc, vm_mib as vm};

/// Creates `db` with collection `c` (unique index on `u`) and loads documents `lo..hi` into it.
fn load(ep: &str, db: &str, lo: usize, hi: usize) {
    let mut c = Client::new(ep);
    let (st, b) = c.send("POST", "/_api/database", &format!(r#"{{"name":"{db}"}}"#));
    assert_eq!(st, 201, "{}", String::from_utf8_lossy(&b));
    c.send(
        "POST",
        &format!("/_db/{db}/_api/collection"),
        r#"{"name":"c"}"#,
    );
    c.send(
        "POST",
        &format!("/_db/{db}/_api/index?collection=c"),
        r#"{"type":"persistent","fields":["u"],"unique":true}"#,
    );
    let mut k = lo;
    while k < hi {
        let end = (k + 1000).min(hi);
        let body = format!("[{}]", (k..end).map(sync_doc).collect::<Vec<_>>().join(","));
        let (st, b) = c.send("POST", &format!("/_db/{db}/_api/document/c"), &body);
        assert!(st < 300, "{}", String::from_utf8_lossy(&b));
        k = end;
    }
}

fn count(ep: &str, db: &str) -> u64 {
    let (_, b) = Client::new(ep).send("GET", &format!("/_db/{db}/_api/collection/c/count"), "");
    let v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
    v["count"].as_u64().unwrap_or(0)
}

fn main() {
    let dbs = env_usize("BENCH_DBS", 100);
    let per = env_usize("BENCH_DOCS_PER_DB", 10_000);
    let total = dbs * per;
    let (leader, lep, _ld) = start_server(&[]);
    let (big_leader, bep, _bd) = start_server(&[]);
    let t = Instant::now();
    std::thread::scope(|s| {
        for w in 0..2 {
            let lep = lep.as_str();
            s.spawn(move || {
                for d in (w..dbs).step_by(2) {
                    load(lep, &format!("tenant{d:03}"), d * per, (d + 1) * per);
                }
            });
        }
    });
    load(&bep, "big", 0, total);
    println!(
        "leaders loaded: {dbs} databases of {per} documents, and one database of {total}, in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let body = |ep: &str| {
        format!(
            r#"{{"endpoint":"{}","includeSystem":false,"restrictType":"include","restrictCollections":["c"]}}"#,
            support::replication_endpoint(ep)
        )
    };

    // per-database sync of the large database into an empty follower
    let (mut pf, pep, _pd) = start_server(&[]);
    let mut c = Client::new(&pep);
    c.send("POST", "/_api/database", r#"{"name":"big"}"#);
    let (ppid, cpu0) = (pf.id(), cpu_secs(pf.id()));
    let t = Instant::now();
    let (st, b) = c.send("PUT", "/_db/big/_api/replication/sync", &body(&bep));
    let single = t.elapsed().as_secs_f64();
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    assert_eq!(count(&pep, "big"), total as u64);
    let single_rate = total as f64 / single;
    println!(
        "per-database sync of one database of {total} documents: {single:.2} s = {single_rate:.0} docs/s (follower CPU {:.1} s, peak RSS {:.1} MiB)",
        cpu_secs(ppid) - cpu0,
        vm(ppid, "VmHWM:")
    );
    let _ = pf.kill();
    let _ = pf.wait();

    // server-level sync of the many small databases into another empty follower
    let (gf, gep, _gd) = start_server(&[]);
    let mut c = Client::new(&gep);
    let (gpid, cpu0) = (gf.id(), cpu_secs(gf.id()));
    let t = Instant::now();
    let (st, b) = c.send("PUT", "/_api/replication/sync?global=true", &body(&lep));
    let global = t.elapsed().as_secs_f64();
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    for d in 0..dbs {
        assert_eq!(count(&gep, &format!("tenant{d:03}")), per as u64);
    }
    let rate = total as f64 / global;
    println!(
        "server-level sync of {dbs} databases of {per} documents: {global:.2} s = {rate:.0} docs/s (follower CPU {:.1} s, peak RSS {:.1} MiB)",
        cpu_secs(gpid) - cpu0,
        vm(gpid, "VmHWM:")
    );
    println!(
        "server-level / per-database rate: {:.2} (target >= 0.8)",
        rate / single_rate
    );

    // the server-level applier tails from the sync's tick
    let tick = serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null)["lastLogTick"]
        .as_str()
        .unwrap_or("0")
        .to_string();
    let (st, b) = c.send(
        "PUT",
        "/_api/replication/applier-config?global=true",
        &format!(
            r#"{{"endpoint":"{}","includeSystem":false}}"#,
            support::replication_endpoint(&lep)
        ),
    );
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    let (st, b) = c.send(
        "PUT",
        &format!("/_api/replication/applier-start?global=true&from={tick}"),
        "",
    );
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    // catch-up of a database created on the leader with 10,000 documents
    let mut lc = Client::new(&lep);
    let new_docs = 10_000;
    let t = Instant::now();
    load(&lep, "fresh", total, total + new_docs);
    let written = t.elapsed().as_secs_f64();
    while count(&gep, "fresh") < new_docs as u64 {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let caught_up = t.elapsed().as_secs_f64();
    println!(
        "catch-up of a database created on the leader with {new_docs} documents: on the follower {caught_up:.3} s after its creation, {:.3} s after the leader's last write (target <= 1 s)",
        caught_up - written
    );
    // lag: single documents written one after the other into one database, each awaited on the follower
    let probes = env_usize("BENCH_PROBES", 500);
    let lag = |lc: &mut Client, tag: &str| {
        let mut fc = Client::new(&gep);
        let mut lat = Vec::with_capacity(probes);
        for i in 0..probes {
            let t = Instant::now();
            let (st, _) = lc.send(
                "POST",
                "/_db/fresh/_api/document/c",
                &format!(r#"{{"_key":"{tag}{i}","u":"{tag}{i}"}}"#),
            );
            assert!(st < 300);
            let path = format!("/_db/fresh/_api/document/c/{tag}{i}");
            while fc.send("GET", &path, "").0 != 200 {
                std::thread::sleep(std::time::Duration::from_micros(100));
            }
            lat.push(t.elapsed());
        }
        lat.sort();
        (
            support::percentile(&lat, 0.5),
            support::percentile(&lat, 0.99),
            support::percentile(&lat, 1.0),
        )
    };
    let (g50, g99, gmax) = lag(&mut lc, "g");
    println!(
        "lag, server-level applier ({probes} single writes, each awaited on the follower): p50 {g50:.2} ms, p99 {g99:.2} ms, max {gmax:.2} ms"
    );
    // the same with the database's own applier
    let (st, _) = c.send("PUT", "/_api/replication/applier-stop?global=true", "");
    assert_eq!(st, 200);
    let (st, b) = c.send(
        "PUT",
        "/_db/fresh/_api/replication/make-follower",
        &format!(
            r#"{{"endpoint":"{}","includeSystem":false}}"#,
            support::replication_endpoint(&lep)
        ),
    );
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    let (d50, d99, dmax) = lag(&mut lc, "d");
    println!(
        "lag, the database's own applier (the same writes): p50 {d50:.2} ms, p99 {d99:.2} ms, max {dmax:.2} ms; server-level / own p50: {:.2}",
        g50 / d50
    );
    for mut p in [gf, leader, big_leader] {
        let _ = p.kill();
        let _ = p.wait();
    }
}
