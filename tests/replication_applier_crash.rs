//! The applier through crashes and outages: the follower killed (`kill -9`) mid-batch and
//! mid-transaction, the leader killed and down for a while, a log pruned below the follower's position
//! with each `requireFromPresent`/`autoResync` combination, a leader that lost changes its follower had
//! applied (its machine crashed before they reached the disk), stop/start under load, and a make-follower
//! cut short.

mod common;

use common::api::Api;
use common::repl::*;
use common::server::Server;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Waits until every collection of the leader's `_system` matches the follower's.
fn docs(n: usize, tag: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"_key": format!("{tag}{i}"), "n": i, "pad": "y".repeat(60)}))
        .collect()
}

#[test]
fn a_follower_killed_mid_batch_and_mid_transaction_applies_everything_exactly_once() {
    let l = Server::start(&[]);
    let la = Api::new(&l);
    let mut f = Server::start(&[]);
    let dir = f.keep_dir().unwrap();
    let fa = Api::new(&f);
    for c in ["a", "b"] {
        assert_eq!(la.post("/_api/collection", json!({"name": c})).status, 200);
    }
    let r = make_follower(&fa, "_system", &l, json!({"chunkSize": 16384}));
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    // a backlog the follower applies in many small chunks: batches, transactions with removals,
    // truncates and single writes
    let writer = {
        let la = Api::new(&l);
        std::thread::spawn(move || {
            for round in 0..6 {
                let r = la.post(
                    "/_api/document/a",
                    Value::Array(docs(1000, &format!("r{round}_"))),
                );
                assert!(r.status < 300);
                let removes: Vec<String> = (0..200).map(|i| format!("r{round}_{i}")).collect();
                trx(&la, "_system", "b", docs(2000, &format!("t{round}_")), &[]);
                trx(
                    &la,
                    "_system",
                    "a",
                    docs(500, &format!("x{round}_")),
                    &removes,
                );
                for i in 0..20 {
                    let r = la.patch(
                        &format!("/_api/document/a/r{round}_{}", 500 + i),
                        json!({"changed": round}),
                    );
                    assert!(r.status < 300);
                }
                if round == 3 {
                    assert_eq!(la.put("/_api/collection/b/truncate", json!({})).status, 200);
                }
            }
        })
    };
    // kill the follower at several moments while it catches up, and start it again
    let mut rng = 0x9e3779b97f4a7c15u64;
    for _ in 0..4 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(150 + rng % 400));
        f.kill9();
        f = Server::start_in(dir.path(), &[]);
    }
    writer.join().unwrap();
    let fa = Api::new(&f);
    // autoStart resumed it after every restart
    wait_converged(&la, &fa, "_system", 60);
    let s = state(&fa, "_system")["state"].clone();
    assert_eq!(s["running"], true, "{s}");
    assert_eq!(s["lastError"]["errorNum"], 0, "{s}");
    // nothing applied twice: document counts and checksums (with revisions) are the leader's, and
    // the position stored with the data is the leader's last tick once everything is in
    let last = la.get("/_api/replication/logger-state").body["state"]["lastLogTick"].clone();
    wait_for("the follower's position", 20, || {
        state(&fa, "_system")["state"]["lastProcessedContinuousTick"] == last
    });
    assert_eq!(
        fa.get("/_api/collection/a/count").body["count"],
        la.get("/_api/collection/a/count").body["count"]
    );
}

#[test]
fn the_leader_killed_and_down_for_a_while() {
    let mut l = Server::start(&[]);
    let ldir = l.keep_dir().unwrap();
    let port = l.port();
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    follow(&la, &fa, &l, json!({}));
    let r = la.req(
        Method::POST,
        "/_api/document/c?waitForSync=true",
        Some(&Value::Array(docs(300, "before")).to_string()),
        &[],
    );
    assert!(r.status < 300);
    wait_converged(&la, &fa, "_system", 20);
    l.kill9();
    // the follower notices and keeps trying
    wait_for("failed connects", 20, || {
        state(&fa, "_system")["state"]["progress"]["failedConnects"]
            .as_u64()
            .unwrap_or(0)
            >= 2
    });
    let s = state(&fa, "_system")["state"].clone();
    assert_eq!(s["running"], true, "{s}");
    assert!(s["totalFailedConnects"].as_u64().unwrap() >= 2, "{s}");
    std::thread::sleep(Duration::from_secs(1));
    let l = Server::start_at(ldir.path(), port, &[]);
    let la = Api::new(&l);
    // acknowledged durable writes survived the leader's crash, and the follower resumes by itself
    assert_eq!(la.get("/_api/collection/c/count").body["count"], 300);
    let r = la.post("/_api/document/c", Value::Array(docs(200, "after")));
    assert!(r.status < 300);
    wait_converged(&la, &fa, "_system", 30);
    let s = state(&fa, "_system")["state"].clone();
    assert_eq!(s["running"], true, "{s}");
    assert_eq!(s["progress"]["failedConnects"], 0, "{s}");

    // a leader that answers 503 (shutting down) is retried too
    let mut l = l;
    l.terminate();
    let l = Server::start_at(ldir.path(), port, &[]);
    let la = Api::new(&l);
    let r = la.post("/_api/document/c", Value::Array(docs(10, "last")));
    assert!(r.status < 300);
    wait_converged(&la, &fa, "_system", 30);
}

/// A leader started with `args` on a directory that outlives it (for restarts on its port), and a
/// follower of its `_system` with collection `c`.
fn leader_with_follower(args: &[&str], extra: Value) -> (Server, tempfile::TempDir, u16, Server) {
    let mut l = Server::start(args);
    let ldir = l.keep_dir().unwrap();
    let port = l.port();
    let f = Server::start(&[]);
    follow(&Api::new(&l), &Api::new(&f), &l, extra);
    (l, ldir, port, f)
}

/// A leader whose log keeps (almost) nothing; the follower stopped at a tick that is then pruned.
fn pruned_gap(extra: Value) -> (Server, Server, tempfile::TempDir) {
    let args = ["--replication.log-max-size", "1"];
    let (mut l, ldir, port, f) = leader_with_follower(&args, extra);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    assert!(
        la.post("/_api/document/c", Value::Array(docs(100, "a")))
            .status
            < 300
    );
    wait_converged(&la, &fa, "_system", 20);
    let r = applier(&fa, "_system", "applier-stop");
    let stopped_at: u64 = r.body["state"]["lastAppliedContinuousTick"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    for i in 0..6 {
        assert!(
            la.post(
                "/_api/document/c",
                Value::Array(docs(1000, &format!("b{i}_")))
            )
            .status
                < 300
        );
    }
    // a restart forgets the follower's hold on the log, which is then pruned past its position
    l.terminate();
    let l = Server::start_at(ldir.path(), port, &args);
    let la = Api::new(&l);
    assert!(la.post("/_api/document/c", json!({"_key": "z"})).status < 300);
    wait_for("the log to be pruned", 30, || {
        let first = la.get("/_api/wal/range").body["tickMin"]
            .as_str()
            .map(|t| t.parse::<u64>().unwrap())
            .unwrap_or(0);
        first > stopped_at + 1
    });
    (l, f, ldir)
}

#[test]
fn a_pruned_log_stops_the_applier_with_1414_when_required() {
    let (_l, f, _d) = pruned_gap(json!({"requireFromPresent": true, "autoResync": false}));
    let fa = Api::new(&f);
    let r = applier(&fa, "_system", "applier-start");
    assert_eq!(r.status, 200);
    let mut last = Value::Null;
    let deadline = Instant::now() + Duration::from_secs(20);
    while last["state"]["lastError"]["errorNum"] != 1414 {
        assert!(Instant::now() < deadline, "no 1414: {last}");
        std::thread::sleep(Duration::from_millis(50));
        last = state(&fa, "_system");
    }
    let s = state(&fa, "_system")["state"].clone();
    assert_eq!(s["phase"], "inactive", "{s}");
    assert!(
        s["lastError"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("is not present (anymore?) on leader"),
        "{s}"
    );
    // the useless position was forgotten: a plain start now says there is no start tick
    let r = applier(&fa, "_system", "applier-start");
    assert_eq!(r.status, 200);
    wait_for("1413", 20, || {
        state(&fa, "_system")["state"]["lastError"]["errorNum"] == 1413
    });
}

#[test]
fn a_pruned_log_is_resynced_with_auto_resync() {
    let (l, f, _d) =
        pruned_gap(json!({"requireFromPresent": true, "autoResync": true, "autoResyncRetries": 2}));
    let (la, fa) = (Api::new(&l), Api::new(&f));
    let r = applier(&fa, "_system", "applier-start");
    assert_eq!(r.status, 200);
    wait_converged(&la, &fa, "_system", 30);
    let s = state(&fa, "_system")["state"].clone();
    assert_eq!(s["totalResyncs"], 1, "{s}");
    assert_eq!(s["running"], true, "{s}");
    assert_eq!(s["lastError"]["errorNum"], 0, "{s}");
    // and tailing goes on after the resync
    assert!(
        la.post("/_api/document/c", json!({"_key": "after-resync"}))
            .status
            < 300
    );
    wait_converged(&la, &fa, "_system", 20);
}

#[test]
fn a_pruned_log_is_skipped_without_require_from_present() {
    let (l, f, _d) = pruned_gap(json!({"requireFromPresent": false, "autoResync": false}));
    let (la, fa) = (Api::new(&l), Api::new(&f));
    let r = applier(&fa, "_system", "applier-start");
    assert_eq!(r.status, 200);
    assert!(
        la.post("/_api/document/c", json!({"_key": "after-gap"}))
            .status
            < 300
    );
    wait_for("the write after the gap", 20, || {
        fa.get("/_api/document/c/after-gap").status == 200
    });
    let s = state(&fa, "_system")["state"].clone();
    assert_eq!(s["running"], true, "{s}");
    assert_eq!(s["lastError"]["errorNum"], 0, "{s}");
    assert_eq!(s["totalResyncs"], 0, "{s}");
}

#[test]
fn stop_and_start_while_the_leader_is_busy() {
    let l = Server::start(&[]);
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    follow(&la, &fa, &l, json!({}));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (la, stop) = (Api::new(&l), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let r = la.post(
                        "/_api/document/c",
                        json!({"_key": format!("w{w}_{i}"), "i": i}),
                    );
                    assert!(r.status < 300);
                    if i % 7 == 0 {
                        trx(&la, "_system", "c", docs(20, &format!("w{w}t{i}_")), &[]);
                    }
                    i += 1;
                }
            })
        })
        .collect();
    for _ in 0..6 {
        std::thread::sleep(Duration::from_millis(200));
        let r = applier(&fa, "_system", "applier-stop");
        assert_eq!(r.body["state"]["running"], false, "{}", r.body);
        std::thread::sleep(Duration::from_millis(100));
        let r = applier(&fa, "_system", "applier-start");
        assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    wait_converged(&la, &fa, "_system", 30);
    assert_eq!(state(&fa, "_system")["state"]["lastError"]["errorNum"], 0);
}

#[test]
fn a_make_follower_cut_short_syncs_again_after_restart() {
    let l = Server::start(&[]);
    let la = Api::new(&l);
    assert_eq!(
        la.post("/_api/collection", json!({"name": "c"})).status,
        200
    );
    for i in 0..20 {
        assert!(
            la.post(
                "/_api/document/c",
                Value::Array(docs(5000, &format!("p{i}_")))
            )
            .status
                < 300
        );
    }
    let mut f = Server::start(&[]);
    let dir = f.keep_dir().unwrap();
    let fa = Api::new(&f);
    let r = fa.req(
        Method::PUT,
        "/_api/replication/make-follower",
        Some(
            &json!({"endpoint": endpoint(&l), "username": "root", "password": "pw",
                    "chunkSize": 65536})
            .to_string(),
        ),
        &[("x-arango-async", "store")],
    );
    assert_eq!(r.status, 202);
    wait_for("the initial sync to begin", 20, || {
        state(&fa, "_system")["state"]["phase"] == "initial"
    });
    std::thread::sleep(Duration::from_millis(100));
    f.kill9();
    let f = Server::start_in(dir.path(), &[]);
    let fa = Api::new(&f);
    wait_converged(&la, &fa, "_system", 60);
    assert!(la.post("/_api/document/c", json!({"_key": "later"})).status < 300);
    wait_converged(&la, &fa, "_system", 20);
    assert_eq!(state(&fa, "_system")["state"]["running"], true);
}

/// A leader that loses its last changes after its follower applied them, as a power loss does: the
/// leader is killed, its journal (what makes a process crash lose nothing) is removed, and with a 60 s
/// sync interval the last writes have not reached redb's disk state — usually. The store may make
/// them durable sooner, which loses nothing and so tests nothing here (a commit right after a group
/// that bypassed the journal is made durable, for one; under a loaded machine about one run in four
/// found the last writes kept, and which commit made them durable there is not pinned down): the
/// scenario is then set up again, up to five times.
fn leader_loses_applied_changes(extra: Value) -> (Server, Server, tempfile::TempDir) {
    for _ in 0..5 {
        if let Some(set) = try_leader_loses_applied_changes(extra.clone()) {
            return set;
        }
    }
    panic!("the leader never lost its last writes in five tries");
}

fn try_leader_loses_applied_changes(extra: Value) -> Option<(Server, Server, tempfile::TempDir)> {
    let args = ["--store.sync-interval", "60000"];
    // durable from here on: the collection and a first batch
    let (mut l, ldir, port, f) = leader_with_follower(&args, extra);
    let (la, fa) = (Api::new(&l), Api::new(&f));
    let sync = la.post(
        "/_api/document/c?waitForSync=true",
        Value::Array(docs(50, "kept")),
    );
    assert!(sync.status < 300, "{}", sync.body);
    // not yet on the leader's disk, but applied by the follower
    let r = la.post("/_api/document/c", Value::Array(docs(40, "lost")));
    assert!(r.status < 300, "{}", r.body);
    wait_converged(&la, &fa, "_system", 20);
    assert_eq!(fa.get("/_api/collection/c/count").body["count"], 90);
    l.kill9();
    std::fs::remove_file(ldir.path().join("arangorepl.journal")).unwrap();
    let l = Server::start_at(ldir.path(), port, &args);
    let la = Api::new(&l);
    let count = la.get("/_api/collection/c/count").body["count"].clone();
    if count != 50 {
        // the last writes were made durable after all: nothing lost, nothing to test here
        assert_eq!(count, 90);
        return None;
    }
    // the leader goes on; the follower must not put these on top of the 40 the leader lost
    let r = la.post("/_api/document/c", Value::Array(docs(10, "new")));
    assert!(r.status < 300, "{}", r.body);
    Some((l, f, ldir))
}

#[test]
fn a_follower_ahead_of_its_leader_stops_with_1414() {
    let (l, f, _dir) = leader_loses_applied_changes(json!({}));
    let fa = Api::new(&f);
    wait_for("the applier to stop", 30, || {
        state(&fa, "_system")["state"]["running"] == false
    });
    let s = state(&fa, "_system")["state"].clone();
    assert_eq!(s["lastError"]["errorNum"], 1414, "{s}");
    assert!(
        s["lastError"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("lost changes this follower had already applied"),
        "{s}"
    );
    // and it did not apply the leader's new writes on top of the lost ones
    assert_eq!(fa.get("/_api/document/c/new0").status, 404);
    drop(l);
}

#[test]
fn a_follower_ahead_of_its_leader_resyncs_with_auto_resync() {
    let (l, f, _dir) = leader_loses_applied_changes(json!({"autoResync": true}));
    let (la, fa) = (Api::new(&l), Api::new(&f));
    wait_for("a resync", 30, || {
        state(&fa, "_system")["state"]["totalResyncs"]
            .as_u64()
            .unwrap_or(0)
            >= 1
    });
    wait_converged(&la, &fa, "_system", 30);
    assert_eq!(fa.get("/_api/collection/c/count").body["count"], 60);
    assert_eq!(fa.get("/_api/document/c/lost0").status, 404);
    assert_eq!(state(&fa, "_system")["state"]["running"], true);
}
