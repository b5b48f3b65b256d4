//! Benchmark of the server-level initial sync (`sync?global=true`, the shell's `syncGlobal`) between two
//! local `arangorepl serve` processes: prints figures, asserts only that the follower ends up with every
//! document of every database.
//!
//! `cargo bench --bench global_sync` (or `scripts/bench-global-sync.sh`). One leader gets `BENCH_DBS`
//! databases (default 100) of `BENCH_DOCS_PER_DB` documents (default 10,000, about 200 bytes each, a
//! unique index on `u`), another leader one database holding as many documents in one collection. It
//! measures the server-level sync of the first into an empty follower and the per-database sync of the
//! second into another empty follower, and prints both rates and their ratio (issue target: ≥ 0.8).

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
    for mut p in [gf, leader, big_leader] {
        let _ = p.kill();
        let _ = p.wait();
    }
}
