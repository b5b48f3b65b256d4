//! The metrics facade: every layer records into `metrics` handles (counters, gauges, histograms); a
//! server or proxy owns one [`Registry`] (a Prometheus recorder of `metrics-exporter-prometheus`, not
//! installed globally, so the demo's leader and follower in one process keep their own figures) and
//! renders it at `/_admin/metrics/v2` in Prometheus' text format.
//!
//! Handles default to no-ops: a store, client or applier built without a registry records nothing.
//! Counters and histograms are registered once and kept; gauges are set at scrape time only (from the
//! state they describe) and a gauge not set in the last scrape is dropped from the next, so a database
//! or follower that went away stops being reported.

use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use metrics_util::MetricKindMask;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

static META: Metadata<'static> = Metadata::new("arangorepl", Level::INFO, None);

/// Histogram buckets in seconds: 50 µs to 60 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0, 30.0, 60.0,
];

/// One server's (or proxy's) metrics.
pub struct Registry {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    described: Mutex<HashSet<&'static str>>,
    started: Instant,
}

impl Registry {
    pub fn new() -> Arc<Registry> {
        let recorder = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .expect("static buckets are valid")
            // gauges are set at every scrape; one nobody set since the last scrape is gone
            .idle_timeout(MetricKindMask::GAUGE, Some(Duration::from_millis(1)))
            .build_recorder();
        let handle = recorder.handle();
        Arc::new(Registry {
            recorder,
            handle,
            described: Mutex::default(),
            started: Instant::now(),
        })
    }

    /// Seconds since the registry (its server) started.
    pub fn uptime(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
        let labels: Vec<Label> = labels
            .iter()
            .map(|(k, v)| Label::new(*k, v.to_string()))
            .collect();
        Key::from_parts(name, labels)
    }

    /// Gives `name` its `# HELP` line (once).
    fn describe(&self, name: &'static str, help: &'static str, kind: Kind) {
        let mut d = self.described.lock().unwrap_or_else(|p| p.into_inner());
        if d.insert(name) {
            let help = SharedString::const_str(help);
            match kind {
                Kind::Counter => self.recorder.describe_counter(name.into(), None, help),
                Kind::Gauge => self.recorder.describe_gauge(name.into(), None, help),
                Kind::Histogram => self.recorder.describe_histogram(name.into(), None, help),
            }
        }
    }

    pub fn counter(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
    ) -> Counter {
        self.describe(name, help, Kind::Counter);
        self.recorder
            .register_counter(&Self::key(name, labels), &META)
    }

    /// A gauge, to be set now (see the module's note on gauges).
    pub fn gauge(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
    ) -> Gauge {
        self.describe(name, help, Kind::Gauge);
        self.recorder
            .register_gauge(&Self::key(name, labels), &META)
    }

    /// A histogram of seconds (buckets from 50 µs to 60 s).
    pub fn histogram(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
    ) -> Histogram {
        self.describe(name, help, Kind::Histogram);
        self.recorder
            .register_histogram(&Self::key(name, labels), &META)
    }

    /// Moves the values histograms collected since the last upkeep into their buckets. Histogram
    /// handles keep every value until then, so this must run often (see [`Registry::keep_up`]).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Runs [`Registry::upkeep`] every second on the current runtime, until the task is aborted: a
    /// follower applying 100,000 changes per second holds at most a second of their latencies.
    pub fn keep_up(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let r = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                r.upkeep();
            }
        })
    }

    /// Everything in Prometheus' text format (version 0.0.4), the process's own figures set now.
    pub fn render(&self) -> String {
        record_process(self);
        self.upkeep();
        self.handle.render()
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// A counter of milliseconds (ArangoDB's time counters) that loses no fraction: durations add up in
/// nanoseconds, and the counter shows the whole milliseconds of the sum (a chunk applied in 0.3 ms
/// counts, three of them make a millisecond).
#[derive(Clone)]
pub struct Millis {
    counter: Counter,
    nanos: Arc<std::sync::atomic::AtomicU64>,
}

impl Millis {
    pub fn add(&self, d: Duration) {
        let n = d.as_nanos().min(u64::MAX as u128) as u64;
        let total = self
            .nanos
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed)
            .saturating_add(n);
        self.counter.absolute(total / 1_000_000);
    }
}

/// How a counter set's field is made: registered, or a no-op.
trait Make {
    fn make(r: &Registry, name: &'static str, help: &'static str) -> Self;
    fn noop() -> Self;
}

impl Make for Counter {
    fn make(r: &Registry, name: &'static str, help: &'static str) -> Self {
        r.counter(name, help, &[])
    }
    fn noop() -> Self {
        Counter::noop()
    }
}

impl Make for Millis {
    fn make(r: &Registry, name: &'static str, help: &'static str) -> Self {
        Millis {
            counter: r.counter(name, help, &[]),
            nanos: Arc::default(),
        }
    }
    fn noop() -> Self {
        Millis {
            counter: Counter::noop(),
            nanos: Arc::default(),
        }
    }
}

impl Default for Millis {
    fn default() -> Self {
        <Millis as Make>::noop()
    }
}

macro_rules! counter_set {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ident = $metric:literal => $help:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            $(#[doc = $help] pub $field: $ty,)*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $($field: <$ty as Make>::noop(),)* }
            }
        }

        impl $name {
            /// The counters registered in `r`.
            pub fn register(r: &Registry) -> Self {
                $name { $($field: <$ty as Make>::make(r, $metric, $help),)* }
            }
        }
    };
}

counter_set! {
    /// ArangoDB's replication counters, under their names and with their meanings (times in
    /// milliseconds), summed over all appliers and one-shot syncs of the server.
    Replication {
        dump_requests: Counter = "arangodb_replication_dump_requests_total" =>
            "Number of dump requests of the initial synchronization",
        dump_bytes_received: Counter = "arangodb_replication_dump_bytes_received_total" =>
            "Bytes received in dump answers of the initial synchronization",
        dump_documents: Counter = "arangodb_replication_dump_documents_total" =>
            "Documents received in dump answers of the initial synchronization",
        dump_request_time: Millis = "arangodb_replication_dump_request_time_total" =>
            "Milliseconds spent waiting for dump answers",
        dump_apply_time: Millis = "arangodb_replication_dump_apply_time_total" =>
            "Milliseconds spent applying dump answers on the follower",
        initial_sync_keys_requests: Counter = "arangodb_replication_initial_sync_keys_requests_total" =>
            "Number of key requests of the incremental initial synchronization",
        initial_sync_docs_requests: Counter = "arangodb_replication_initial_sync_docs_requests_total" =>
            "Number of document requests of the incremental initial synchronization",
        initial_sync_docs_requested: Counter = "arangodb_replication_initial_sync_docs_requested_total" =>
            "Documents requested by the incremental initial synchronization",
        initial_sync_docs_inserted: Counter = "arangodb_replication_initial_sync_docs_inserted_total" =>
            "Documents inserted or replaced by the incremental initial synchronization",
        initial_sync_docs_removed: Counter = "arangodb_replication_initial_sync_docs_removed_total" =>
            "Documents removed by the incremental initial synchronization",
        initial_sync_bytes_received: Counter = "arangodb_replication_initial_sync_bytes_received_total" =>
            "Bytes received by the incremental initial synchronization's key and document requests",
        initial_chunks_requests_time: Millis = "arangodb_replication_initial_chunks_requests_time_total" =>
            "Milliseconds spent waiting for the key ranges (chunks) of the incremental synchronization",
        initial_keys_requests_time: Millis = "arangodb_replication_initial_keys_requests_time_total" =>
            "Milliseconds spent waiting for key requests of the incremental synchronization",
        initial_docs_requests_time: Millis = "arangodb_replication_initial_docs_requests_time_total" =>
            "Milliseconds spent waiting for document requests of the incremental synchronization",
        initial_insert_apply_time: Millis = "arangodb_replication_initial_insert_apply_time_total" =>
            "Milliseconds spent inserting documents in the incremental synchronization",
        initial_remove_apply_time: Millis = "arangodb_replication_initial_remove_apply_time_total" =>
            "Milliseconds spent removing documents in the incremental synchronization",
        tailing_requests: Counter = "arangodb_replication_tailing_requests_total" =>
            "Number of requests for the leader's log (wal/tail)",
        tailing_follow_tick_failures: Counter = "arangodb_replication_tailing_follow_tick_failures_total" =>
            "Times the leader no longer had the tick the applier asked for",
        tailing_markers: Counter = "arangodb_replication_tailing_markers_total" =>
            "Markers received from the leader's log",
        tailing_documents: Counter = "arangodb_replication_tailing_documents_total" =>
            "Document inserts and replacements received from the leader's log",
        tailing_removals: Counter = "arangodb_replication_tailing_removals_total" =>
            "Document removals received from the leader's log",
        tailing_bytes_received: Counter = "arangodb_replication_tailing_bytes_received_total" =>
            "Bytes received from the leader's log",
        failed_connects: Counter = "arangodb_replication_failed_connects_total" =>
            "Requests to a leader that got no answer",
        tailing_request_time: Millis = "arangodb_replication_tailing_request_time_total" =>
            "Milliseconds spent waiting for the leader's log",
        tailing_apply_time: Millis = "arangodb_replication_tailing_apply_time_total" =>
            "Milliseconds spent applying the leader's log on the follower",
    }
}

counter_set! {
    /// The store's write path.
    StoreCounters {
        commits: Counter = "arangorepl_store_commits_total" =>
            "Write transactions committed by the store (one per group of writes)",
        writes: Counter = "arangorepl_store_writes_total" =>
            "Write operations (jobs) committed by the store",
        synced_commits: Counter = "arangorepl_store_synced_commits_total" =>
            "Commits made durable with an fsync, including the periodic sync",
        failed_commits: Counter = "arangorepl_store_failed_commits_total" =>
            "Write transactions rolled back or failed",
    }
}

/// What the store records.
#[derive(Clone)]
pub struct Store {
    pub counters: StoreCounters,
    /// Seconds from the beginning of a group's transaction to its commit (fsync included).
    pub commit_seconds: Histogram,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            counters: StoreCounters::default(),
            commit_seconds: Histogram::noop(),
        }
    }
}

impl Store {
    pub fn register(r: &Registry) -> Self {
        Store {
            counters: StoreCounters::register(r),
            commit_seconds: r.histogram(
                "arangorepl_store_commit_seconds",
                "Seconds from the beginning of a write transaction to its commit",
                &[],
            ),
        }
    }
}

/// The classes requests are counted by (a label of bounded cardinality, unlike paths), each with the
/// path prefixes it covers, in matching order (`/_admin/metrics` before `/_admin`); `other` takes the rest.
const CLASSES: &[(&str, &[&str])] = &[
    ("document", &["/_api/document"]),
    ("collection", &["/_api/collection"]),
    ("index", &["/_api/index"]),
    ("import", &["/_api/import"]),
    (
        "query",
        &[
            "/_api/cursor",
            "/_api/simple",
            "/_api/query",
            "/_api/explain",
        ],
    ),
    ("transaction", &["/_api/transaction"]),
    ("database", &["/_api/database"]),
    ("user", &["/_api/user"]),
    ("replication", &["/_api/replication"]),
    ("wal", &["/_api/wal"]),
    ("job", &["/_api/job"]),
    ("metrics", &["/_admin/metrics"]),
    ("admin", &["/_admin"]),
    ("auth", &["/_open"]),
    ("version", &["/_api/version"]),
    ("other", &[]),
];

/// A request's route class (an index into the classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteClass(usize);

impl RouteClass {
    pub fn name(self) -> &'static str {
        CLASSES[self.0].0
    }
}

/// The class of a request path (without `/_db/<name>`).
pub fn route_class(path: &str) -> RouteClass {
    let under = |p: &&str| {
        path.strip_prefix(*p)
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
    };
    RouteClass(
        CLASSES
            .iter()
            .position(|(_, prefixes)| prefixes.iter().any(under))
            .unwrap_or(CLASSES.len() - 1),
    )
}

/// The HTTP figures: requests by class and status, latency by class.
pub struct Http {
    registry: Arc<Registry>,
    latency: Vec<Histogram>,
    requests: RwLock<HashMap<(RouteClass, u16), Counter>>,
}

impl Http {
    pub fn new(registry: Arc<Registry>) -> Self {
        let latency = CLASSES
            .iter()
            .map(|(c, _)| {
                registry.histogram(
                    "arangorepl_http_request_duration_seconds",
                    "Seconds from a request's arrival to its answer's head (long-polls included)",
                    &[("class", c)],
                )
            })
            .collect();
        Http {
            registry,
            latency,
            requests: RwLock::default(),
        }
    }

    /// Counts one answered request.
    pub fn record(&self, class: RouteClass, status: u16, took: Duration) {
        self.latency[class.0].record(took.as_secs_f64());
        let key = (class, status);
        let hit = self
            .requests
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        let counter = match hit {
            Some(c) => c,
            None => {
                let c = self.registry.counter(
                    "arangorepl_http_requests_total",
                    "HTTP requests answered, by route class and status code",
                    &[("class", class.name()), ("status", &status.to_string())],
                );
                self.requests
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(key, c.clone());
                c
            }
        };
        counter.increment(1);
    }
}

/// An upstream server's metrics text followed by `ours`, leaving out the upstream's families that `ours`
/// has too (a scrape must not hold one family twice; the proxy's own figures replace the upstream's).
pub fn merged(upstream: &str, ours: &str) -> String {
    let families: HashSet<&str> = ours
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|r| r.split_whitespace().next())
        .collect();
    let ours_too = |name: &str| {
        families.contains(name)
            || ["_bucket", "_sum", "_count"]
                .iter()
                .any(|s| name.strip_suffix(s).is_some_and(|b| families.contains(b)))
    };
    let mut out = String::with_capacity(upstream.len() + ours.len() + 1);
    for line in upstream.lines() {
        let name = match line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
        {
            Some(r) => r.split_whitespace().next(),
            None if line.starts_with('#') => None,
            None => line.split(['{', ' ', '\t']).next(),
        };
        if name.is_some_and(|n| !n.is_empty() && ours_too(n)) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(ours);
    out
}

/// The process's resident set size in bytes, and its open file descriptors (Linux; `None` elsewhere).
pub fn process_figures() -> (Option<u64>, Option<u64>) {
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
            // SAFETY: sysconf has no preconditions
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            Some(pages * page.max(1) as u64)
        });
    let fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as u64);
    (rss, fds)
}

/// The content type of [`Registry::render`]'s text, as ArangoDB answers it.
pub const CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// Sets the process gauges (RSS, open files, uptime).
fn record_process(r: &Registry) {
    let (rss, fds) = process_figures();
    if let Some(v) = rss {
        r.gauge(
            "arangorepl_process_resident_memory_bytes",
            "Resident set size of the process in bytes",
            &[],
        )
        .set(v as f64);
    }
    if let Some(v) = fds {
        r.gauge(
            "arangorepl_process_open_fds",
            "Open file descriptors of the process",
            &[],
        )
        .set(v as f64);
    }
    r.gauge(
        "arangorepl_process_uptime_seconds",
        "Seconds since the server started",
        &[],
    )
    .set(r.uptime());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_drained_by_upkeep_and_merged_families_appear_once() {
        let r = Registry::new();
        let h = r.histogram("t_seconds", "test", &[]);
        for i in 0..1000 {
            h.record(i as f64 / 1e4);
        }
        r.upkeep();
        let text = r.render();
        assert!(text.contains("t_seconds_count 1000"), "{text}");
        // the upstream's own family of the same name is left out; its others stay
        let upstream =
            "# TYPE t_seconds histogram\nt_seconds_count 5\n# TYPE other gauge\nother 1\n";
        let m = merged(upstream, &text);
        assert_eq!(m.matches("# TYPE t_seconds histogram").count(), 1, "{m}");
        assert!(
            m.contains("other 1") && !m.contains("t_seconds_count 5"),
            "{m}"
        );
        let ms = Millis::default();
        for _ in 0..3 {
            ms.add(Duration::from_micros(400));
        }
        assert_eq!(
            ms.nanos.load(std::sync::atomic::Ordering::Relaxed),
            1_200_000
        );
    }

    #[test]
    fn paths_fall_into_their_route_classes() {
        for (path, class) in [
            ("/_api/document/c/k", "document"),
            ("/_api/documents", "other"),
            ("/_api/cursor", "query"),
            ("/_api/explain", "query"),
            ("/_admin/metrics/v2", "metrics"),
            ("/_admin/status", "admin"),
            ("/_open/auth", "auth"),
            ("/_api/version", "version"),
            ("/", "other"),
        ] {
            assert_eq!(route_class(path).name(), class, "{path}");
        }
    }
}
