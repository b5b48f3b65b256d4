//! Watching real `arangorepl serve` processes (and a proxy): `GET /_admin/metrics/v2` scraped and parsed
//! with a Prometheus text-format parser, every metric name the documentation lists present with figures
//! that match what the servers did; the applier's `lagSeconds`; authentication and
//! `--server.export-metrics-api`; the `--log.*` options (topics, file, JSON).

mod common;

use common::api::{Api, Resp, assert_error};
use common::repl::*;
use common::server::Server;
use prometheus_parse::{Sample, Scrape, Value as PValue};
use reqwest::Method;
use serde_json::{Value, json};

/// ArangoDB's replication counters, as the issue and ArangoDB's documentation name them.
const ARANGODB_NAMES: &[&str] = &[
    "arangodb_replication_dump_requests_total",
    "arangodb_replication_dump_bytes_received_total",
    "arangodb_replication_dump_documents_total",
    "arangodb_replication_dump_request_time_total",
    "arangodb_replication_dump_apply_time_total",
    "arangodb_replication_initial_sync_keys_requests_total",
    "arangodb_replication_initial_sync_docs_requests_total",
    "arangodb_replication_initial_sync_docs_requested_total",
    "arangodb_replication_initial_sync_docs_inserted_total",
    "arangodb_replication_initial_sync_docs_removed_total",
    "arangodb_replication_initial_sync_bytes_received_total",
    "arangodb_replication_initial_chunks_requests_time_total",
    "arangodb_replication_initial_keys_requests_time_total",
    "arangodb_replication_initial_docs_requests_time_total",
    "arangodb_replication_initial_insert_apply_time_total",
    "arangodb_replication_initial_remove_apply_time_total",
    "arangodb_replication_tailing_requests_total",
    "arangodb_replication_tailing_follow_tick_failures_total",
    "arangodb_replication_tailing_markers_total",
    "arangodb_replication_tailing_documents_total",
    "arangodb_replication_tailing_removals_total",
    "arangodb_replication_tailing_bytes_received_total",
    "arangodb_replication_failed_connects_total",
    "arangodb_replication_tailing_request_time_total",
    "arangodb_replication_tailing_apply_time_total",
];

fn scrape(api: &Api) -> Scrape {
    let r = api.req(Method::GET, "/_admin/metrics/v2", None, &[]);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain")),
        "{:?}",
        r.header("content-type")
    );
    let lines = r.text.lines().map(|l| Ok(l.to_string()));
    Scrape::parse(lines).expect("the answer parses as Prometheus' text format")
}

fn samples<'a>(s: &'a Scrape, name: &str) -> Vec<&'a Sample> {
    s.samples.iter().filter(|x| x.metric == name).collect()
}

/// The value of the one sample of `name` whose labels include `labels`.
fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = samples(s, name)
        .into_iter()
        .filter(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            PValue::Counter(v) | PValue::Gauge(v) | PValue::Untyped(v) => *v,
            PValue::Histogram(h) => h.iter().map(|b| b.count).fold(0.0, f64::max),
            PValue::Summary(_) => f64::NAN,
        })
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {} samples", found.len());
    found[0]
}

fn has(s: &Scrape, name: &str) -> bool {
    !samples(s, name).is_empty()
}

/// A user with `grant` (`rw`, `ro`) on `_system`: no administrator unless `rw`.
fn create_user(api: &Api, user: &str, pw: &str, grant: &str) {
    let r = api.post("/_api/user", json!({"user": user, "passwd": pw}));
    assert_eq!(r.status, 201, "{}", r.body);
    let r = api.put(
        &format!("/_api/user/{user}/database/_system"),
        json!({"grant": grant}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

fn keys_of(n: usize, tag: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"_key": format!("{tag}{i}"), "n": i}))
        .collect()
}

#[test]
fn a_scrape_holds_every_listed_metric_with_the_figures_of_what_happened() {
    let l = Server::start(&[]);
    let f = Server::start(&[]);
    let (la, fa) = (Api::new(&l), Api::new(&f));

    // before any replication: every ArangoDB counter is there, at 0
    let s = scrape(&fa);
    for n in ARANGODB_NAMES {
        assert_eq!(value(&s, n, &[]), 0.0, "{n}");
    }

    // a full initial sync and tailing of _system
    follow(&la, &fa, &l, json!({}));
    insert_many(&la, "_system", "c", keys_of(300, "a"));
    // an incremental sync of a second database, where the follower holds documents to remove
    for api in [&la, &fa] {
        let r = api.post("/_api/database", json!({"name": "inc"}));
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = la.post("/_db/inc/_api/collection", json!({"name": "k"}));
    assert_eq!(r.status, 200, "{}", r.body);
    insert_many(&la, "inc", "k", keys_of(2000, "k"));
    let r = sync(&fa, "inc", &l, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    insert_many(&la, "inc", "k", keys_of(100, "new"));
    insert_many(&fa, "inc", "k", keys_of(10, "gone"));
    let r = sync(&fa, "inc", &l, json!({"incremental": true}));
    assert_eq!(r.status, 200, "{}", r.body);
    // tailing: inserts and removals
    for i in 0..5 {
        let r = la.delete(&format!("/_api/document/c/a{i}"));
        assert!(r.status < 300, "{}", r.body);
    }
    wait_converged(&la, &fa, "_system", 30);

    let st = state(&fa, "_system");
    let s = scrape(&fa);
    for n in ARANGODB_NAMES {
        assert!(has(&s, n), "{n} missing");
    }
    let v = |n: &str| value(&s, n, &[]);
    assert!(v("arangodb_replication_dump_requests_total") >= 1.0);
    assert!(v("arangodb_replication_dump_bytes_received_total") > 0.0);
    assert!(v("arangodb_replication_dump_documents_total") >= 2000.0);
    assert!(v("arangodb_replication_tailing_requests_total") >= 1.0);
    assert!(v("arangodb_replication_tailing_bytes_received_total") > 0.0);
    assert!(v("arangodb_replication_tailing_documents_total") >= 300.0);
    assert!(v("arangodb_replication_tailing_removals_total") >= 5.0);
    assert!(
        v("arangodb_replication_tailing_markers_total")
            >= v("arangodb_replication_tailing_documents_total")
                + v("arangodb_replication_tailing_removals_total")
    );
    assert_eq!(
        v("arangodb_replication_tailing_documents_total"),
        st["state"]["totalDocuments"].as_f64().unwrap()
    );
    assert!(v("arangodb_replication_initial_sync_keys_requests_total") >= 1.0);
    assert!(v("arangodb_replication_initial_sync_docs_requests_total") >= 1.0);
    assert_eq!(
        v("arangodb_replication_initial_sync_docs_requested_total"),
        100.0
    );
    assert_eq!(
        v("arangodb_replication_initial_sync_docs_inserted_total"),
        100.0
    );
    assert_eq!(
        v("arangodb_replication_initial_sync_docs_removed_total"),
        10.0
    );
    assert!(v("arangodb_replication_initial_sync_bytes_received_total") > 0.0);
    assert_eq!(v("arangodb_replication_failed_connects_total"), 0.0);
    assert_eq!(
        v("arangodb_replication_tailing_follow_tick_failures_total"),
        0.0
    );

    // ours, per database
    let db = [("database", "_system")];
    assert_eq!(
        value(&s, "arangorepl_replication_applier_running", &db),
        1.0
    );
    let lag = value(&s, "arangorepl_replication_applier_lag_seconds", &db);
    assert!((0.0..5.0).contains(&lag), "lag {lag}");
    assert!(value(&s, "arangorepl_replication_applier_ticks_behind", &db) >= 0.0);
    let applied: f64 = st["state"]["lastAppliedContinuousTick"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let shown = value(&s, "arangorepl_replication_applier_last_applied_tick", &db);
    assert!(shown >= applied * (1.0 - 1e-12), "{shown} vs {applied}");
    assert_eq!(
        value(&s, "arangorepl_replication_applier_resyncs_total", &db),
        0.0
    );
    assert!(
        value(
            &s,
            "arangorepl_replication_applier_apply_latency_seconds",
            &db
        ) >= 1.0
    );
    // a database nobody replicates into shows no applier figures
    assert!(
        samples(&s, "arangorepl_replication_applier_running")
            .iter()
            .all(|x| x.labels.get("database") != Some("inc")
                || value(
                    &s,
                    "arangorepl_replication_applier_running",
                    &[("database", "inc")]
                ) == 0.0)
    );

    // the applier state shows the lag too: a number while tailing, null when stopped
    assert!(st["state"]["lagSeconds"].is_number(), "{st}");
    // store, HTTP and process figures
    assert!(v("arangorepl_store_commits_total") > 0.0);
    assert!(v("arangorepl_store_writes_total") >= v("arangorepl_store_commits_total"));
    assert!(v("arangorepl_store_commit_seconds") >= 1.0);
    assert!(v("arangorepl_process_resident_memory_bytes") > 1e6);
    assert!(v("arangorepl_process_open_fds") > 3.0);
    assert!(v("arangorepl_process_uptime_seconds") > 0.0);
    assert!(
        value(
            &s,
            "arangorepl_http_requests_total",
            &[("class", "replication"), ("status", "200")]
        ) >= 1.0
    );
    assert!(
        value(
            &s,
            "arangorepl_http_request_duration_seconds",
            &[("class", "document")]
        ) >= 1.0
    );

    // the leader: its log, the follower it serves
    let s = scrape(&la);
    let v = |n: &str| value(&s, n, &[]);
    let last: f64 = la.get("/_api/wal/lastTick").body["tick"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(v("arangorepl_replication_log_last_tick") >= last * (1.0 - 1e-12));
    assert!(v("arangorepl_replication_log_first_tick") > 0.0);
    assert!(v("arangorepl_replication_log_bytes") > 0.0);
    assert!(v("arangorepl_replication_log_holds") >= 1.0);
    let served = samples(&s, "arangorepl_replication_follower_last_served_tick");
    assert!(
        served
            .iter()
            .any(|x| x.labels.get("database") == Some("_system")),
        "{served:?}"
    );
    assert!(has(&s, "arangorepl_replication_follower_age_seconds"));

    let r = applier(&fa, "_system", "applier-stop");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["state"]["lagSeconds"].is_null(), "{}", r.body);
    let s = scrape(&fa);
    assert_eq!(
        value(&s, "arangorepl_replication_applier_running", &db),
        0.0
    );
    assert!(value(&s, "arangorepl_replication_applier_lag_seconds", &db).is_nan());
}

#[test]
fn only_administrators_read_the_metrics_and_the_api_can_be_turned_off() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    create_user(&api, "bob", "pw2", "ro");
    let bob = api.as_user("bob", "pw2");
    let r: Resp = bob.req(Method::GET, "/_admin/metrics/v2", None, &[]);
    assert_error(&r, 403, 11);
    assert!(!r.text.contains("arangodb_"), "{}", r.text);
    let r = api.as_user("root", "wrong").get("/_admin/metrics/v2");
    assert_eq!(r.status, 401);
    let r = api.req(Method::POST, "/_admin/metrics/v2", Some(""), &[]);
    assert_error(&r, 405, 405);
    // every handle form: with a database prefix too, and the same refusal there for a non-administrator
    let r = api.get("/_db/_system/_admin/metrics/v2");
    assert_eq!(r.status, 200);
    assert!(
        r.text
            .contains("arangodb_replication_tailing_requests_total")
    );
    assert_error(
        &bob.req(Method::GET, "/_db/_system/_admin/metrics/v2", None, &[]),
        403,
        11,
    );
    // the old path answers the same text
    let r = api.get("/_admin/metrics");
    assert_eq!(r.status, 200);
    assert!(
        r.text
            .contains("arangodb_replication_tailing_requests_total")
    );

    let off = Server::start(&["--server.export-metrics-api", "false"]);
    let r = Api::new(&off).get("/_admin/metrics/v2");
    assert_error(&r, 404, 404);
}

#[test]
fn the_proxy_serves_the_upstreams_metrics_with_its_appliers_figures_once_each() {
    let leader = Server::start(&[]);
    let upstream = Server::start(&["--compat.arangodb-version", "3.12.10"]);
    let proxy = Server::proxy(&upstream, &[]);
    let (la, ua, pa) = (Api::new(&leader), Api::new(&upstream), Api::new(&proxy));
    follow(&la, &pa, &leader, json!({}));
    insert_many(&la, "_system", "c", keys_of(200, "p"));
    wait_converged(&la, &ua, "_system", 30);

    let r = pa.get("/_admin/metrics/v2");
    assert_eq!(r.status, 200, "{}", r.text);
    // each family once (a scrape with a family twice is refused by Prometheus)
    let mut types: Vec<&str> = r
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let n = types.len();
    types.sort();
    types.dedup();
    assert_eq!(types.len(), n, "a family appears twice");
    let s = scrape(&pa);
    for n in ARANGODB_NAMES {
        assert!(has(&s, n), "{n} missing");
    }
    // the proxy's applier did the work, and its figures are the ones shown
    assert!(value(&s, "arangodb_replication_tailing_documents_total", &[]) >= 200.0);
    let db = [("database", "_system")];
    assert_eq!(
        value(&s, "arangorepl_replication_applier_running", &db),
        1.0
    );
    // the upstream's own figures come along (its store, its log)
    assert!(value(&s, "arangorepl_store_commits_total", &[]) > 0.0);
    assert!(has(&s, "arangorepl_replication_log_last_tick"));
    assert!(
        value(
            &s,
            "arangorepl_http_requests_total",
            &[("class", "replication"), ("status", "200")]
        ) >= 1.0
    );

    // who may read them is the upstream's decision
    create_user(&ua, "eve", "pw3", "ro");
    let r = pa.as_user("eve", "pw3").get("/_admin/metrics/v2");
    assert_error(&r, 403, 11);
    let off = Server::proxy(&upstream, &["--server.export-metrics-api", "false"]);
    assert_error(&Api::new(&off).get("/_admin/metrics/v2"), 404, 404);
}

#[test]
fn log_options_pick_topics_levels_a_file_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("follower.log");
    let out = format!("file://{}", log.display());
    let leader = Server::start(&[]);
    let f = Server::start(&[
        "--log.level",
        "replication=debug",
        "--log.output",
        &out,
        "--log.use-json-format",
        "true",
    ]);
    let (la, fa) = (Api::new(&leader), Api::new(&f));
    let levels = fa.get("/_admin/log/level").body;
    assert_eq!(levels["replication"], "DEBUG", "{levels}");
    assert_eq!(levels["general"], "WARNING", "{levels}");
    follow(&la, &fa, &leader, json!({"verbose": true}));
    insert_many(&la, "_system", "c", keys_of(10, "l"));
    wait_converged(&la, &fa, "_system", 30);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["topic"] == "replication" && l["level"] == "INFO"),
        "{text}"
    );
    for l in &lines {
        assert!(l["time"].is_string() && l["pid"].is_number(), "{l}");
        assert!(
            [
                "replication",
                "general",
                "engines",
                "authentication",
                "requests"
            ]
            .contains(&l["topic"].as_str().unwrap())
        );
        // the general topic stays at WARNING
        assert!(l["topic"] != "general" || l["level"] == "WARNING" || l["level"] == "ERROR");
    }
    assert!(!text.contains("\"pw\"") && !text.contains(":pw@"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // a topic that does not exist is refused, naming the known ones
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_arangorepl"))
        .args([
            "serve",
            "--log.level",
            "replikation=debug",
            "--database.directory",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("replikation") && err.contains("replication"),
        "{err}"
    );
}
