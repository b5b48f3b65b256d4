//! The continuous replication applier (spec §5): after an initial sync (or from a given tick, or from
//! where it stopped) it tails the leader's log and applies every change, until stopped or until an
//! error that retrying cannot fix.
//!
//! Each `wal/tail` answer is applied as one atomic step on the follower together with the applier's
//! progress ([`Follower::apply_changes`]), so a crash at any moment loses either both or neither: nothing
//! is applied twice, nothing is skipped. Operations of a leader transaction (2200 … 2201) are buffered in
//! memory and applied at its commit, in the same step as the progress that says so; `safeResumeTick`
//! never passes the begin of a transaction not yet applied, so a restart fetches it again.
//!
//! Beyond ArangoDB: when the leader honours `longPollTimeout` (an arangorepl leader), an idle applier
//! waits on the leader instead of sleeping, and sees a new write as soon as it commits.

use crate::error::{ArangoError, ArangoResult, codes};
use crate::replication::config::{ApplierConfig, RestrictType};
use crate::replication::filter::excluded;
use crate::replication::follower::{
    Applied, ChangesFailed, Follower, GLOBAL_APPLIER, TailChange, global_position_record,
};
use crate::replication::initial_sync::{SyncResult, initial_sync, initial_sync_global};
use crate::replication::leader_client::{LeaderClient, TailChunk};
use crate::replication::state::{ApplierState, PersistedState, Phase};
use crate::replication::wire::{TailMarker, line_ranges};
use crate::tick::Tick;
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// ArangoDB's polling bounds (spec §5.5).
const MIN_WAIT: Duration = Duration::from_millis(250);
const MAX_WAIT: Duration = Duration::from_secs(60);
/// How long an idle applier asks an arangorepl leader to hold a `wal/tail` request.
const LONG_POLL: Duration = Duration::from_secs(20);
/// A tailing run shorter than this that ends in a resync counts as a failure in a row (spec §5.6).
const SHORT_RUN: Duration = Duration::from_secs(120);
/// Offending markers are quoted in error messages up to this many bytes.
const QUOTE_BYTES: usize = 1024;
/// How often the server-level applier stores its server-wide position while changes flow (each
/// database's own position is stored with its changes; this one only shortens a restart's re-read).
const SERVER_POSITION_EVERY: Duration = Duration::from_secs(1);

/// The live control of one applier: its state (what `applier-state` shows) and its stop signal.
pub struct Control {
    state: Mutex<ApplierState>,
    stop: watch::Sender<bool>,
    /// ArangoDB's replication counters of the hosting server (no-ops by default).
    pub metrics: crate::metrics::Replication,
    /// Where the apply-latency histogram is registered, and the database it is labelled with: on first
    /// use, so that only databases that replicate show one.
    registry: Option<(Arc<crate::metrics::Registry>, String)>,
    latency: std::sync::OnceLock<::metrics::Histogram>,
    /// A private CA for `ssl://` leaders (`--replication.ssl-cafile`).
    pub ca_file: Option<std::path::PathBuf>,
    /// Databases the server-level applier dropped, for its host to forget their appliers.
    dropped: Mutex<Vec<String>>,
}

impl Default for Control {
    fn default() -> Self {
        Control::with_metrics(crate::metrics::Replication::default(), None, None)
    }
}

impl Control {
    /// A control counting into `metrics`, with its apply-latency histogram in `registry` (labelled
    /// with the database), trusting `ca_file` for `ssl://` leaders.
    pub fn with_metrics(
        metrics: crate::metrics::Replication,
        registry: Option<(Arc<crate::metrics::Registry>, String)>,
        ca_file: Option<std::path::PathBuf>,
    ) -> Self {
        Control {
            state: Mutex::default(),
            stop: watch::channel(false).0,
            metrics,
            registry,
            latency: std::sync::OnceLock::new(),
            ca_file,
            dropped: Mutex::default(),
        }
    }

    /// The databases the server-level applier dropped since the last call.
    pub fn take_dropped(&self) -> Vec<String> {
        std::mem::take(&mut *self.dropped.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Seconds from a change's commit on the leader to its apply here, for every change applied (see
    /// [`ApplierState::lag_seconds`]).
    pub fn latency(&self) -> &::metrics::Histogram {
        self.latency.get_or_init(|| match &self.registry {
            Some((r, db)) => r.histogram(
                "arangorepl_replication_applier_apply_latency_seconds",
                "Seconds from the leader's commit of a change to its apply on this follower, for \
                 every change applied",
                &[("database", db)],
            ),
            None => ::metrics::Histogram::noop(),
        })
    }

    pub fn state(&self) -> MutexGuard<'_, ApplierState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks a running applier to stop (it notices within milliseconds, even inside a request).
    pub fn request_stop(&self) {
        self.stop.send_replace(true);
    }

    /// Clears a previous stop request before a new run.
    pub fn reset_stop(&self) {
        self.stop.send_replace(false);
    }

    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Resolves once a stop was requested.
    pub async fn stopped(&self) {
        let mut rx = self.stop.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Sleeps `d` unless stopped first; false if stopped.
    async fn sleep(&self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => !self.stopping(),
            _ = self.stopped() => false,
        }
    }

    /// Records a progress message, logged at INFO with `verbose`.
    pub fn progress(&self, db: &str, verbose: bool, text: String) {
        let who = who(db);
        if verbose {
            tracing::info!("{who}: {text}");
        } else {
            tracing::debug!("{who}: {text}");
        }
        self.state().progress(text);
    }
}

/// Who an applier is in log lines and errors (`db` empty: the server-level one).
pub fn who(db: &str) -> String {
    if db.is_empty() {
        "server-level replication applier".to_string()
    } else {
        format!("replication applier for database '{db}'")
    }
}

/// An initial sync that reports to `ctl` as it goes (progress, with the leader's consecutive failed
/// connects): the applier's and the one-shot `sync`'s — of `config.database`, or with `global` of every
/// database (`leader` then a client of the leader's `_system`). Its documents are not counted in the
/// state's `totalDocuments`/`totalRemovals`, which count tailed markers only (as ArangoDB's).
pub async fn reported_sync<F: Follower + Clone>(
    follower: &F,
    leader: &LeaderClient,
    config: &ApplierConfig,
    ctl: &Arc<Control>,
    global: bool,
) -> ArangoResult<SyncResult> {
    let report = {
        let db = if global { "" } else { &config.database };
        let (ctl, db, verbose) = (ctl.clone(), db.to_string(), config.verbose);
        let stats = leader.stats.clone();
        move |text: String| {
            ctl.state().failed_connects = stats.consecutive_failures.load(Ordering::Relaxed);
            ctl.progress(&db, verbose, text)
        }
    };
    if global {
        let res = initial_sync_global(follower, leader, config, &report).await?;
        tracing::info!(
            "server-level initial sync from {}: {} collections, {} documents in {:.1} s, up to tick {}",
            config.endpoint,
            res.collections.len(),
            res.documents_fetched,
            res.elapsed.as_secs_f64(),
            res.last_log_tick
        );
        return Ok(res);
    }
    let res = initial_sync(follower, leader, config, &report).await?;
    tracing::info!(
        "initial sync of database '{}' from {}: {} documents in {:.1} s, up to tick {}",
        config.database,
        config.endpoint,
        res.documents_fetched,
        res.elapsed.as_secs_f64(),
        res.last_log_tick
    );
    Ok(res)
}

/// How a run begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Initial sync first, then tail from its `lastLogTick` (make-follower).
    Sync,
    /// Tail from this tick (exclusive), forgetting any stored position (`applier-start?from=`).
    From(u64),
    /// Tail from the stored position (`applier-start`, `autoStart`).
    Resume,
}

/// The applier record a follower keeps: configuration and progress.
pub fn record(config: &ApplierConfig, state: Option<&PersistedState>) -> Value {
    let mut r = json!({ "config": config.to_stored_json() });
    if let Some(s) = state {
        r["state"] = serde_json::to_value(s).unwrap_or(Value::Null);
    }
    r
}

/// Stores `tick` as the position to tail from (`applier-start?from=<tick>`) before the applier runs,
/// in the applier record `record_name` (a database's, or [`GLOBAL_APPLIER`]): a stop before anything
/// arrives still leaves a position, and a later start without a tick resumes there. The leader's
/// server id is left open; the first handshake records it.
pub async fn store_start_tick<F: Follower>(
    follower: &F,
    record_name: &str,
    config: &ApplierConfig,
    tick: u64,
) -> ArangoResult<()> {
    let state = PersistedState {
        server_id: String::new(),
        last_processed_continuous_tick: Tick(tick),
        last_applied_continuous_tick: Tick(tick),
        safe_resume_tick: Tick(tick),
    };
    let db = if record_name == GLOBAL_APPLIER {
        "_system"
    } else {
        record_name
    };
    follower
        .apply_changes(db, Vec::new(), record_name, record(config, Some(&state)))
        .await
        .map(|_| ())
        .map_err(|f| f.error)
}

/// The stored progress in an applier record.
pub fn stored_state(record: Option<&Value>) -> Option<PersistedState> {
    record
        .and_then(|r| r.get("state"))
        .and_then(|s| serde_json::from_value(s.clone()).ok())
}

/// `PUT wal/tail` from the position's fetch tick, as the configuration asks.
async fn tail_request(
    leader: &LeaderClient,
    config: &ApplierConfig,
    p: &Position,
    long_poll: Option<Duration>,
) -> ArangoResult<TailChunk> {
    leader
        .tail(
            p.fetch_tick,
            p.last_scanned,
            config.chunk_bytes(),
            config.include_system,
            config.include_foxx_queues,
            long_poll,
        )
        .await
}

fn is_retryable(e: &ArangoError) -> bool {
    e.error_num == codes::REPLICATION_NO_RESPONSE || e.error_num == codes::REPLICATION_LEADER_ERROR
}

/// Runs the applier until it is stopped or fails; the outcome is in `ctl`'s state (phase `inactive`,
/// `lastError`, progress `applier shut down`). With `global` it is the server-level applier: it tails
/// the log of every database (`config.database` is then `_system`, where it asks).
pub async fn run<F: Follower + Clone>(
    follower: F,
    config: ApplierConfig,
    ctl: Arc<Control>,
    start: Start,
    global: bool,
) {
    let db = if global {
        String::new()
    } else {
        config.database.clone()
    };
    let outcome = match LeaderClient::with_ca(&config, follower.server_id(), ctl.ca_file.as_deref())
    {
        Ok(leader) => {
            let mut leader = leader.with_metrics(ctl.metrics.clone());
            if global {
                leader = leader.global();
            }
            let mut a = Applier {
                follower,
                leader,
                config,
                ctl: ctl.clone(),
                base_requests: 0,
                base_failed: 0,
                failed_answers: Default::default(),
                names: HashMap::new(),
                global,
                db_ticks: HashMap::new(),
                server_saved: Instant::now(),
                unsaved: None,
                saved: None,
                epochs: HashMap::new(),
            };
            {
                let s = ctl.state();
                a.base_requests = s.total_requests;
                a.base_failed = s.total_failed_connects;
            }
            a.run(start).await
        }
        Err(e) => Err(e),
    };
    let mut s = ctl.state();
    s.phase = Phase::Inactive;
    match outcome {
        Ok(()) => {
            drop(s);
            ctl.progress(&db, false, "applier shut down".into());
            tracing::info!("{} stopped", who(&db));
        }
        Err(e) => {
            tracing::warn!("{} stopped: {}", who(&db), e.message);
            s.set_error(e);
            drop(s);
            ctl.progress(&db, false, "applier shut down".into());
        }
    }
}

struct Applier<F> {
    follower: F,
    leader: LeaderClient,
    config: ApplierConfig,
    ctl: Arc<Control>,
    base_requests: u64,
    base_failed: u64,
    /// Retried error answers of the leader (transport failures are counted by the client).
    failed_answers: std::sync::atomic::AtomicU64,
    /// Collection names by `globallyUniqueId`, for `restrictCollections` (spec §5.10).
    names: HashMap<String, String>,
    /// The server-level applier (every database's changes, and databases created and dropped).
    global: bool,
    /// Server-level: the tick up to which each database had its changes applied when the run began
    /// (stored with them); a restart from the server-wide position skips what a database already has.
    db_ticks: HashMap<String, u64>,
    /// Server-level: when the server-wide position was last stored.
    server_saved: Instant,
    /// Server-level: a position applied but not stored as the server-wide one yet.
    unsaved: Option<Position>,
    /// Server-level: the server-wide position last stored.
    saved: Option<PersistedState>,
    /// Server-level: per database, the tick of the last create or drop marker the applier began to
    /// apply, stored (as `epochs`) in the server-wide record before the database is touched. A restart
    /// skips that database's older markers: they were of a database dropped since, or made way for.
    epochs: HashMap<String, u64>,
}

/// Where tailing stands (spec §5.4).
#[derive(Debug, Default, Clone)]
struct Position {
    leader_id: String,
    fetch_tick: u64,
    last_scanned: u64,
    first_regular: u64,
    processed: u64,
    applied: u64,
    safe: u64,
}

impl Position {
    fn persisted(&self) -> PersistedState {
        PersistedState {
            server_id: self.leader_id.clone(),
            last_processed_continuous_tick: Tick(self.processed),
            last_applied_continuous_tick: Tick(self.applied),
            safe_resume_tick: Tick(self.safe),
        }
    }
}

/// What the server-level applier does to a database itself (markers 1100 and 1101).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DbAction {
    /// Create it, dropping one of that name first.
    Create,
    Drop,
}

/// Changes of one database, applied in one atomic step with an applier record.
struct Group {
    db: String,
    /// Server-level: what happens to the database before its changes, and the marker that says so.
    action: Option<(DbAction, Range<usize>)>,
    changes: Vec<TailChange>,
    /// Each change's marker in the body.
    lines: Vec<Range<usize>>,
    /// The tick of its last change (server-level: the database's position after it).
    tick: u64,
    /// The applier record stored with it, and its name (set when the chunk is parsed to its end).
    record: Option<(String, Value)>,
    /// The tick the stored record says was applied (how a retry tells whether it committed).
    applied_tick: u64,
}

impl Group {
    fn new(db: &str) -> Self {
        Group {
            db: db.to_string(),
            action: None,
            changes: Vec::new(),
            lines: Vec::new(),
            tick: 0,
            record: None,
            applied_tick: 0,
        }
    }
}

/// A `wal/tail` body turned into changes (see `Applier::parse_chunk`).
struct Parsed {
    body: Bytes,
    /// In order; a database applier's chunk is one group.
    groups: Vec<Group>,
    n_changes: usize,
    markers: u64,
    documents: u64,
    removals: u64,
    excluded_ops: u64,
    /// The ticks of its new markers (for the apply-latency histogram).
    ticks: Vec<u64>,
    /// When its first new change was committed (the lag counts from there until it is applied).
    since: Option<f64>,
    /// Only document changes: the next chunk may be parsed while this one is applied (a collection
    /// created, renamed or dropped changes what the next one's parse sees).
    documents_only: bool,
    parse_time: Duration,
}

/// A parsed chunk being applied on a task of its own (a failure says in which group).
struct InFlight {
    task: tokio::task::JoinHandle<Result<Applied, (usize, ChangesFailed)>>,
    parsed: Parsed,
    /// The position after it.
    pos: Position,
    check_more: bool,
    learned_ms: f64,
    started: Instant,
}

/// One leader transaction being received.
struct OpenTrx {
    /// Its database (a transaction lives in one).
    db: String,
    changes: Vec<TailChange>,
    lines: Vec<Range<usize>>,
}

/// The next `wal/tail` request, sent ahead. Dropped unanswered (the applier stops or fails), it is
/// abandoned: a request left running would keep retrying and, answered by a restarted leader, hold
/// the leader's log for a follower that no longer reads it.
struct Prefetch(tokio::task::JoinHandle<ArangoResult<TailChunk>>);

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::future::Future for Prefetch {
    type Output = Result<ArangoResult<TailChunk>, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

use crate::time::unix_millis as unix_ms;

/// When the leader committed the change at `tick`, in milliseconds since 1970 — for leaders whose ticks
/// are hybrid logical clock values: arangorepl's carry the millisecond (`tick >> 20`) and the
/// microsecond within it (bits 10–19); `None` for ticks that are not (ArangoDB's are log sequence
/// numbers). `now` is this clock's reading, for the plausibility check.
pub fn commit_ms(tick: u64, now: f64) -> Option<f64> {
    let ms = (tick >> 20) as f64;
    let us = ((tick & 0xF_FFFF) >> 10).min(999) as f64;
    // a plausible clock reading: within the last 20 years, and not ahead of this clock by a day
    (tick > 0 && ms > now - 20.0 * 365.0 * 86_400_000.0 && ms < now + 86_400_000.0)
        .then_some(ms + us / 1000.0)
}

/// A stop request cut the run short.
fn stopped() -> ArangoError {
    ArangoError::new(codes::REPLICATION_APPLIER_STOPPED)
}

impl<F: Follower + Clone> Applier<F> {
    /// The database it asks the leader in (`_system` for the server-level applier).
    fn db(&self) -> &str {
        &self.config.database
    }

    /// The database it replicates, empty for the server-level applier (log lines, progress).
    fn scope(&self) -> &str {
        if self.global { "" } else { self.db() }
    }

    /// Its record: configuration and (with `state`) position; the server-level applier's has no
    /// database of its own, and carries the databases' epochs.
    fn record(&self, state: Option<&PersistedState>) -> Value {
        if !self.global {
            return record(&self.config, state);
        }
        let mut c = self.config.clone();
        c.database.clear();
        let mut r = record(&c, state);
        if !self.epochs.is_empty() {
            let epochs: serde_json::Map<String, Value> = self
                .epochs
                .iter()
                .map(|(d, t)| (d.clone(), json!(t.to_string())))
                .collect();
            r["epochs"] = Value::Object(epochs);
        }
        r
    }

    /// Server-level: the server-wide position `state` is stored; epochs it has passed are forgotten.
    fn server_stored(&mut self, state: PersistedState) {
        let safe = state.safe_resume_tick.0;
        self.epochs.retain(|_, t| *t > safe);
        self.saved = Some(state);
    }

    /// Where its configuration and position are kept.
    fn record_name(&self) -> &str {
        if self.global {
            GLOBAL_APPLIER
        } else {
            self.db()
        }
    }

    fn progress(&self, text: String) {
        self.ctl.progress(self.scope(), self.config.verbose, text);
    }

    /// Copies the leader client's counters into the state.
    fn count_requests(&self) {
        let st = &self.leader.stats;
        let mut s = self.ctl.state();
        s.total_requests = self.base_requests + st.requests.load(Ordering::Relaxed);
        s.total_failed_connects = self.base_failed
            + st.failed_connects.load(Ordering::Relaxed)
            + self.failed_answers.load(Ordering::Relaxed);
    }

    async fn run(&mut self, start: Start) -> ArangoResult<()> {
        let mut start = start;
        let mut short_fails = 0u64;
        loop {
            if let Start::Sync = start {
                let mut retries = 0u64;
                loop {
                    match self.sync().await {
                        Ok(tick) => {
                            start = Start::From(tick);
                            break;
                        }
                        Err(_) if self.ctl.stopping() => return Ok(()),
                        // a follower that is not available for a while: the sync starts over
                        Err(e) if self.follower.may_be_unavailable() && is_retryable(&e) => {
                            self.retry_after(&mut retries, "the initial synchronization", e)
                                .await?
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            {
                let mut s = self.ctl.state();
                s.phase = Phase::Running;
                s.started.get_or_insert_with(SystemTime::now);
            }
            let began = Instant::now();
            let e = match self.tail(start).await {
                Ok(()) => return Ok(()),
                Err(_) if self.ctl.stopping() => return Ok(()),
                Err(e) => e,
            };
            let resync = matches!(
                e.error_num,
                codes::REPLICATION_START_TICK_NOT_PRESENT
                    | codes::ARANGO_DATA_SOURCE_NOT_FOUND
                    | codes::REPLICATION_NO_START_TICK
            );
            if !resync {
                return Err(e);
            }
            // the stored position is of no use any more
            self.save_record(None).await?;
            {
                let mut s = self.ctl.state();
                s.last_applied_continuous_tick = 0;
                s.last_processed_continuous_tick = 0;
                s.safe_resume_tick = 0;
            }
            if !self.config.auto_resync {
                return Err(e);
            }
            if began.elapsed() < SHORT_RUN {
                short_fails += 1;
            } else {
                short_fails = 0;
            }
            if short_fails > self.config.auto_resync_retries {
                return Err(ArangoError::with_message(
                    e.error_num,
                    format!(
                        "{} (gave up after {} automatic resyncs in a row: autoResyncRetries is {})",
                        e.message,
                        short_fails - 1,
                        self.config.auto_resync_retries
                    ),
                ));
            }
            tracing::warn!(
                "{}: {} — starting a resync (autoResync)",
                who(self.scope()),
                e.message
            );
            self.ctl.state().total_resyncs += 1;
            start = Start::Sync;
        }
    }

    /// The initial sync of a `Start::Sync` (phase `initial`); returns the tick to tail from.
    async fn sync(&mut self) -> ArangoResult<u64> {
        self.ctl.state().phase = Phase::Initial;
        let ctl = self.ctl.clone();
        if self.global {
            // positions of an earlier run would skip changes of the new one
            self.forget_database_positions().await?;
        }
        let res = tokio::select! {
            r = reported_sync(&self.follower, &self.leader, &self.config, &ctl, self.global) => r,
            _ = ctl.stopped() => Err(stopped()),
        };
        self.count_requests();
        let tick = res?.last_log_tick;
        self.progress("applier started tailing".into());
        Ok(tick)
    }

    async fn save_record(&self, state: Option<&PersistedState>) -> ArangoResult<()> {
        self.follower
            .save_applier(self.record_name(), Some(self.record(state)))
            .await
    }

    /// Server-level: removes the position kept in each database (a new run starts from a sync or a
    /// given tick).
    async fn forget_database_positions(&mut self) -> ArangoResult<()> {
        self.db_ticks.clear();
        for db in self.follower.database_names().await? {
            let name = global_position_record(&db);
            if self.follower.load_applier(&name).await?.is_some() {
                self.follower.save_applier(&name, None).await?;
            }
        }
        Ok(())
    }

    /// Server-level: reads the position kept in each database.
    async fn load_database_positions(&mut self) -> ArangoResult<()> {
        self.db_ticks.clear();
        for db in self.follower.database_names().await? {
            let rec = self
                .follower
                .load_applier(&global_position_record(&db))
                .await?;
            if let Some(s) = stored_state(rec.as_ref()) {
                self.db_ticks.insert(db, s.last_applied_continuous_tick.0);
            }
        }
        Ok(())
    }

    /// Waits after a failed request to the leader (spec §5.5); fails once the retries are used up.
    async fn retry_after(&self, retries: &mut u64, what: &str, e: ArangoError) -> ArangoResult<()> {
        *retries += 1;
        if e.error_num == codes::REPLICATION_LEADER_ERROR {
            self.failed_answers.fetch_add(1, Ordering::Relaxed);
        }
        self.count_requests();
        self.ctl.state().failed_connects = *retries;
        if *retries > self.config.max_connect_retries {
            return Err(ArangoError::with_message(
                e.error_num,
                format!(
                    "{} (giving up after {} attempts: maxConnectRetries is {})",
                    e.message, retries, self.config.max_connect_retries
                ),
            ));
        }
        self.progress(format!(
            "{what} failed: {}. will retry now. retries left: {}",
            e.message,
            self.config.max_connect_retries - *retries + 1
        ));
        let wait = match self.config.connection_retry_wait_time {
            w if w <= 0.0 => Duration::from_secs(30),
            w => Duration::from_secs_f64(w).max(MIN_WAIT),
        };
        if !self.ctl.sleep(wait).await {
            return Err(stopped());
        }
        Ok(())
    }

    /// The handshake (spec §5.3) with retries.
    async fn handshake(&self) -> ArangoResult<String> {
        let mut retries = 0;
        loop {
            self.progress("fetching leader state information".into());
            let r = tokio::select! {
                r = self.leader.logger_state_once() => r,
                _ = self.ctl.stopped() => return Err(stopped()),
            };
            match r {
                Ok(s) => {
                    self.count_requests();
                    let mut st = self.ctl.state();
                    st.failed_connects = 0;
                    // known from now on, not only after the first tail answer (a long-poll on an idle
                    // leader can take its whole timeout)
                    st.last_available_continuous_tick = s.state.last_log_tick.0;
                    drop(st);
                    return Ok(s.server.server_id);
                }
                Err(e) if is_retryable(&e) => {
                    self.retry_after(&mut retries, "fetching leader state information", e)
                        .await?
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The `requireFromPresent` rule (spec §5.6) for a gap before `tick`.
    fn gap(&self, tick: u64, last_tick: u64) -> ArangoResult<()> {
        let msg = format!(
            "required ongoing tick value '{tick}' is not present (anymore?) on leader at {}. Last tick \
             available on leader is '{last_tick}'. Either the leader pruned its log past it (let it keep \
             more: arangorepl's --replication.log-max-age and --replication.log-max-size), or the leader \
             lost changes this follower had already applied (a crash of its machine before they reached \
             its disk). A full resync is needed (autoResync does it by itself)",
            self.config.endpoint
        );
        if self.config.require_from_present {
            return Err(ArangoError::with_message(
                codes::REPLICATION_START_TICK_NOT_PRESENT,
                msg,
            ));
        }
        tracing::warn!(
            "{}: {msg}. Continuing, as requireFromPresent is false: changes may be missing",
            who(self.scope())
        );
        Ok(())
    }

    /// Where to begin (spec §5.4).
    async fn position(&mut self, start: Start) -> ArangoResult<Position> {
        let leader_id = self.handshake().await?;
        let record = self.follower.load_applier(self.record_name()).await?;
        let stored = stored_state(record.as_ref());
        if let Some(s) = &stored {
            let mine: u64 = s.server_id.parse().unwrap_or(0);
            let theirs: u64 = leader_id.parse().unwrap_or(0);
            if mine != 0 && theirs != 0 && mine != theirs {
                return Err(ArangoError::with_message(
                    codes::REPLICATION_LEADER_CHANGE,
                    format!(
                        "the leader at {} is server {theirs}, but this applier's state is from server {mine}: \
                         the leader has changed. Run a new initial sync (make-follower or sync), or forget the \
                         applier state first",
                        self.config.endpoint
                    ),
                ));
            }
        }
        let mut p = Position {
            leader_id,
            ..Position::default()
        };
        let (mut from, safe) = match start {
            Start::From(t) => (t, 0),
            _ => match &stored {
                Some(s) => {
                    p.applied = s.last_applied_continuous_tick.0;
                    p.processed = p.applied;
                    (s.last_applied_continuous_tick.0, s.safe_resume_tick.0)
                }
                None => (0, 0),
            },
        };
        if from == 0 {
            return Err(ArangoError::with_message(
                codes::REPLICATION_NO_START_TICK,
                "no start tick: this applier has no stored position to resume from. Run an initial sync \
                 first (make-follower, or sync and then applier-start with from=<lastLogTick>)",
            ));
        }
        if self.global {
            self.saved = stored.clone();
            self.epochs.clear();
            match start {
                Start::Resume => {
                    if let Some(Value::Object(e)) = record.as_ref().and_then(|r| r.get("epochs")) {
                        for (db, t) in e {
                            if let Some(t) = t.as_str().and_then(|t| t.parse().ok()) {
                                self.epochs.insert(db.clone(), t);
                            }
                        }
                    }
                    self.load_database_positions().await?
                }
                _ => self.forget_database_positions().await?,
            }
        }
        p.safe = safe;
        let mut fetch = safe;
        if safe == 0 || safe != from {
            if safe > 0 {
                // never resume inside a transaction
                from = safe;
            }
            let r = tokio::select! {
                r = self.leader.open_transactions(safe, from) => r,
                _ = self.ctl.stopped() => return Err(stopped()),
            };
            self.count_requests();
            let (present, last_included) = r?;
            if !present && safe > 0 {
                self.gap(safe, 0)?;
            }
            fetch = if last_included > 0 {
                last_included
            } else {
                from
            };
        }
        p.fetch_tick = fetch;
        p.first_regular = from;
        p.last_scanned = safe;
        self.set_ticks(&p);
        Ok(p)
    }

    /// Fetches one `wal/tail` chunk, aborted by a stop.
    async fn fetch(&self, p: &Position, long_poll: bool) -> ArangoResult<TailChunk> {
        let wait = long_poll.then(|| {
            LONG_POLL.min(Duration::from_secs_f64(self.config.request_timeout / 2.0).max(MIN_WAIT))
        });
        let f = tail_request(&self.leader, &self.config, p, wait);
        tokio::select! {
            r = f => r,
            _ = self.ctl.stopped() => Err(stopped()),
        }
    }

    /// The tailing loop (spec §5.4–5.5).
    async fn tail(&mut self, start: Start) -> ArangoResult<()> {
        let mut inflight = None;
        let res = self.tail_loop(start, &mut inflight).await;
        // an apply sent off is booked before the applier stops, and (server-level) the server-wide
        // position stored
        let settled = self.settle(&mut inflight).await;
        let saved = self.persist_unsaved().await;
        res.and(settled).and(saved)
    }

    async fn tail_loop(
        &mut self,
        start: Start,
        inflight: &mut Option<InFlight>,
    ) -> ArangoResult<()> {
        // a chunk of documents is applied while the next one is parsed, unless a failed apply may be
        // retried or partly ignored (which needs the chunk's changes on this task)
        let pipelined = self.config.ignore_errors == 0 && !self.follower.may_be_unavailable();
        let mut p = self.position(start).await?;
        self.ctl.state().pending_since_ms = None;
        let use_tick = matches!(start, Start::From(_));
        self.progress(format!(
            "fetching leader log from tick {}, last scanned tick {}, first regular tick {}, open \
             transactions: 0, chunk size {}",
            p.fetch_tick,
            p.last_scanned,
            p.first_regular,
            self.config.chunk_bytes()
        ));
        if use_tick {
            // the start tick survives a restart even before anything arrives
            p.applied = p.first_regular;
            p.processed = p.first_regular;
            p.safe = p.first_regular;
            self.persist(&p).await?;
        }
        let mut open: HashMap<u64, OpenTrx> = HashMap::new();
        let mut retries = 0u64;
        let mut inactive_cycles = 0u64;
        // ask for the long-poll until the leader shows it does not offer it
        let mut long_poll = true;
        let mut prefetched: Option<Prefetch> = None;
        let mut fetch_started = Instant::now();
        loop {
            if self.ctl.stopping() {
                return Ok(());
            }
            let asked_long_poll = prefetched.is_none() && long_poll;
            let r = match prefetched.take() {
                Some(mut h) => loop {
                    let prefetch_failed = |e: tokio::task::JoinError| {
                        ArangoError::internal(format!("prefetch failed: {e}"))
                    };
                    // an apply in flight is booked as soon as it is done, while the answer is awaited
                    let Some(f) = inflight.as_mut() else {
                        break tokio::select! {
                            r = &mut h => r.unwrap_or_else(|e| Err(prefetch_failed(e))),
                            _ = self.ctl.stopped() => Err(stopped()),
                        };
                    };
                    let next = tokio::select! {
                        done = &mut f.task => Err(done),
                        r = &mut h => Ok(r.unwrap_or_else(|e| Err(prefetch_failed(e)))),
                        _ = self.ctl.stopped() => Ok(Err(stopped())),
                    };
                    match next {
                        Ok(r) => break r,
                        Err(done) => {
                            let f = inflight.take().expect("an apply in flight");
                            self.finished(f, done)?;
                        }
                    }
                },
                None => {
                    self.settle(inflight).await?;
                    fetch_started = Instant::now();
                    self.fetch(&p, long_poll).await
                }
            };
            let chunk = match r {
                Ok(c) => {
                    if retries > 0 {
                        retries = 0;
                        self.ctl.state().failed_connects = 0;
                    }
                    c
                }
                Err(e) if is_retryable(&e) => {
                    // (what was sent off is booked before the wait)
                    self.settle(inflight).await?;
                    self.retry_after(&mut retries, "fetching leader log", e)
                        .await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let fetch_time = fetch_started.elapsed();
            self.count_requests();
            if chunk.long_poll {
                long_poll = true;
            } else if asked_long_poll {
                long_poll = false;
            }
            // the bookkeeping of spec §5.4
            let mut check_more = chunk.check_more;
            p.last_scanned = chunk.last_scanned;
            if chunk.last_included == 0 && chunk.last_scanned > p.fetch_tick {
                p.fetch_tick = chunk.last_scanned - 1;
            }
            let asked_from = p.fetch_tick;
            let worked = chunk.last_included > p.fetch_tick;
            if worked {
                p.fetch_tick = chunk.last_included;
            } else {
                check_more = false;
            }
            let bump = !check_more && chunk.last_tick > chunk.last_included;
            {
                let mut s = self.ctl.state();
                s.last_available_continuous_tick = chunk.last_tick;
                if !chunk.long_poll || worked {
                    // a held long-poll is waiting, not fetching
                    s.total_fetch_time += fetch_time.as_secs_f64();
                    s.fetch_count += 1;
                    self.ctl.metrics.tailing_request_time.add(fetch_time);
                }
            }
            // when the oldest change not applied yet was committed, as far as this chunk tells
            let learned_ms = unix_ms() - fetch_time.as_secs_f64() * 1000.0;
            if !chunk.from_present && asked_from > 0 {
                self.ctl.metrics.tailing_follow_tick_failures.increment(1);
                self.gap(asked_from, chunk.last_tick)?;
                open.clear();
            }
            let applied_before = p.applied;
            // (an error drops the request sent ahead, which abandons it)
            let parsed = self
                .parse_chunk(&chunk.body, &mut p, &mut open, learned_ms)
                .await?;
            // the chunk before goes first: changes apply in order
            self.settle(inflight).await?;
            // the next request goes out while this chunk is applied: at once when there is more, and
            // as a long-poll when the leader holds requests until its next commit (a change that
            // commits during the apply is then on its way already); not before the chunk before is
            // applied, so that no more than two chunks are held at a time
            let wait_next = !check_more && long_poll && chunk.long_poll;
            if check_more || wait_next {
                let (leader, config) = (self.leader.clone(), self.config.clone());
                let next = Position {
                    fetch_tick: p.fetch_tick,
                    last_scanned: p.last_scanned,
                    ..Position::default()
                };
                fetch_started = Instant::now();
                let hold = wait_next.then_some(LONG_POLL);
                prefetched = Some(Prefetch(tokio::spawn(async move {
                    tail_request(&leader, &config, &next, hold).await
                })));
            }
            self.note_pending(parsed.since);
            let markers = parsed.markers;
            if markers > 0 && pipelined && parsed.documents_only {
                *inflight = Some(self.apply_in_flight(parsed, &p, check_more, learned_ms));
            } else {
                if markers > 0 {
                    let pos = p.clone();
                    self.apply_parsed(parsed, &pos).await?;
                }
                self.after_apply(check_more, p.applied, learned_ms);
            }
            if markers == 0 && bump {
                p.processed = p.processed.max(chunk.last_tick);
                if open.is_empty() {
                    if p.safe == 0 {
                        p.safe = chunk.last_tick;
                    }
                    if p.applied == 0 {
                        p.applied = p.processed;
                    }
                }
                self.set_ticks(&p);
            }
            if markers == 0 && p.applied != applied_before {
                self.persist(&p).await?;
            } else if markers == 0 && self.global && (self.unsaved.is_some() || inflight.is_some())
            {
                // the leader has nothing more: a good moment to store the server-wide position
                self.settle(inflight).await?;
                self.persist_unsaved().await?;
            }
            if worked || check_more {
                inactive_cycles = 0;
                continue;
            }
            if chunk.long_poll || long_poll {
                // the leader already waited for us, or (an answer to a request sent ahead without the
                // wait, empty because what it had was filtered out) the next request waits there
                continue;
            }
            self.settle(inflight).await?;
            inactive_cycles += 1;
            let wait = self.idle_wait(inactive_cycles);
            if !self.ctl.sleep(wait).await {
                return Ok(());
            }
        }
    }

    /// The idle sleep of spec §5.5.
    fn idle_wait(&self, inactive_cycles: u64) -> Duration {
        let min = Duration::from_secs_f64(self.config.idle_min_wait_time.max(0.0)).max(MIN_WAIT);
        if !self.config.adaptive_polling {
            return min.min(MAX_WAIT);
        }
        let mut wait = min;
        if inactive_cycles > 60 {
            wait *= 5;
        } else if inactive_cycles > 30 {
            wait *= 3;
        }
        if inactive_cycles > 15 {
            wait *= 2;
        }
        let max = Duration::from_secs_f64(self.config.idle_max_wait_time.max(0.0));
        wait.min(max.max(min)).min(MAX_WAIT)
    }

    fn set_ticks(&self, p: &Position) {
        let mut s = self.ctl.state();
        s.last_applied_continuous_tick = p.applied;
        s.last_processed_continuous_tick = p.processed;
        s.safe_resume_tick = p.safe;
    }

    /// Stores the position alone (nothing to apply).
    async fn persist(&mut self, p: &Position) -> ArangoResult<()> {
        let rec = self.record(Some(&p.persisted()));
        self.follower
            .apply_changes(self.db(), Vec::new(), self.record_name(), rec)
            .await
            .map_err(|f| f.error)?;
        self.set_ticks(p);
        if self.global {
            self.server_saved = Instant::now();
            self.unsaved = None;
            self.server_stored(p.persisted());
        }
        Ok(())
    }

    /// Server-level: stores the server-wide position if one applied is not stored yet.
    async fn persist_unsaved(&mut self) -> ArangoResult<()> {
        match self.unsaved.take() {
            Some(p) => self.persist(&p).await,
            None => Ok(()),
        }
    }

    /// The name of the collection of database `db` a marker is about, for `restrictCollections`.
    async fn collection_name(&mut self, db: &str, cuid: &str) -> Option<String> {
        if let Some(n) = self.names.get(cuid) {
            return Some(n.clone());
        }
        // local collections share their guid with the leader's; the leader's inventory knows the rest
        if let Ok(local) = self.follower.collections(db).await {
            for c in local {
                self.names.insert(c.globally_unique_id, c.name);
            }
        }
        let leader = self.leader.for_database(db);
        if !self.names.contains_key(cuid)
            && let Ok((batch, _)) = leader.create_batch(300).await
        {
            if let Ok(inv) = leader
                .inventory(&batch.id, true, self.config.include_foxx_queues)
                .await
            {
                for c in inv.database.collections {
                    let p = &c.parameters;
                    if let (Some(Value::String(g)), Some(Value::String(n))) =
                        (p.get("globallyUniqueId"), p.get("name"))
                    {
                        self.names.insert(g.clone(), n.clone());
                    }
                }
            }
            let _ = leader.delete_batch(&batch.id).await;
        }
        self.names.get(cuid).cloned()
    }

    /// Whether the follower's own filter leaves a marker of this collection of database `db` out
    /// (spec §5.10).
    async fn skip(&mut self, db: &str, cuid: &str, name_in_marker: Option<&str>) -> bool {
        let c = &self.config;
        if c.restrict_collections.is_empty()
            || (c.restrict_type == RestrictType::None && c.include_system)
        {
            return false;
        }
        let name = match name_in_marker {
            Some(n) => Some(n.to_string()),
            None => self.collection_name(db, cuid).await,
        };
        let Some(name) = name else { return false };
        let c = &self.config;
        (name.starts_with('_') && !c.include_system)
            || !c.restriction_allows(&name)
            || excluded(&name, true, c.include_foxx_queues)
    }

    /// Turns one `wal/tail` body into the changes to apply (the transactions it completes, the changes
    /// outside transactions), in groups of one database each with the applier record to store with
    /// them, and moves the position past its markers. `learned_ms` is when the request that brought it
    /// went out (the lag of leaders whose ticks carry no time).
    async fn parse_chunk(
        &mut self,
        body: &Bytes,
        p: &mut Position,
        open: &mut HashMap<u64, OpenTrx>,
        learned_ms: f64,
    ) -> ArangoResult<Parsed> {
        let started = Instant::now();
        let mut ticks = Vec::new();
        let mut documents_only = true;
        let mut groups: Vec<Group> = Vec::new();
        if !self.global {
            groups.push(Group::new(self.db()));
        }
        let (mut markers, mut documents, mut removals, mut excluded_ops) = (0u64, 0u64, 0u64, 0u64);
        for range in line_ranges(body) {
            let line = &body[range.clone()];
            let m: TailMarker<'_> = serde_json::from_slice(line).map_err(|e| {
                self.marker_error(
                    ArangoError::with_message(
                        codes::REPLICATION_INVALID_RESPONSE,
                        format!(
                            "invalid marker from leader at {}: {e}",
                            self.config.endpoint
                        ),
                    ),
                    line,
                )
            })?;
            markers += 1;
            let tick = m.tick.map_or(0, |t| t.0);
            let tid = m.tid.map_or(0, |t| t.0);
            let cuid = m.cuid.as_deref().or(m.cid.as_deref()).unwrap_or("");
            let data = || -> ArangoResult<Value> {
                match m.data {
                    Some(raw) => serde_json::from_str(raw.get()).map_err(|e| {
                        ArangoError::with_message(
                            codes::REPLICATION_INVALID_RESPONSE,
                            format!("invalid marker data: {e}"),
                        )
                    }),
                    None => Ok(Value::Null),
                }
            };
            let in_trx = |tid: u64| tid != 0;
            let mut skipped = false;
            let marker_db = m.db.as_deref().or(m.database.as_deref());
            // the database the change is for: the applier's own, or (server-level) the marker's
            let db: String = match (self.global, marker_db) {
                (false, _) => self.db().to_string(),
                (true, Some(d)) if !d.is_empty() => d.to_string(),
                (true, _) if matches!(m.mtype, 1100 | 1101) => String::new(),
                (true, _) => {
                    return Err(self.marker_error(
                        ArangoError::with_message(
                            codes::REPLICATION_INVALID_RESPONSE,
                            "a marker of the server-level log names no database",
                        ),
                        line,
                    ));
                }
            };
            let change: Option<TailChange> = match m.mtype {
                1100 | 1101 if self.global => {
                    // the database's name is in the marker's data, or its `db`
                    let d = data().map_err(|e| self.marker_error(e, line))?;
                    let name = d
                        .get("name")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| db.clone());
                    if name.is_empty() || name == "_system" {
                        skipped = true;
                    } else if self.applied_before(&name, tick) {
                        // a restart's re-read: done before, or overtaken by a later create or drop
                    } else {
                        let action = if m.mtype == 1100 {
                            DbAction::Create
                        } else {
                            DbAction::Drop
                        };
                        let mut g = Group::new(&name);
                        g.action = Some((action, range.clone()));
                        g.tick = tick;
                        groups.push(g);
                        documents_only = false;
                    }
                    None
                }
                // a database applier does not create or drop databases; views are not kept
                1100 | 1101 | 2110 | 2111 | 2112 => {
                    skipped = true;
                    None
                }
                _ if !self.global
                    && marker_db.is_some_and(|d| d != self.db())
                    && !matches!(m.mtype, 2200..=2202) =>
                {
                    skipped = true;
                    None
                }
                2200 => {
                    open.insert(
                        tid,
                        OpenTrx {
                            db: db.clone(),
                            changes: Vec::new(),
                            lines: Vec::new(),
                        },
                    );
                    None
                }
                2201 => match open.remove(&tid) {
                    Some(t) => {
                        // a restart's re-read: the database has the transaction already
                        if !self.applied_before(&t.db, tick) {
                            for (c, r) in t.changes.into_iter().zip(t.lines) {
                                push_change(&mut groups, &t.db, c, r, tick);
                            }
                        }
                        None
                    }
                    None => return Err(self.marker_error(unexpected_trx(tid), line)),
                },
                2202 => match open.remove(&tid) {
                    Some(_) => None,
                    None => return Err(self.marker_error(unexpected_trx(tid), line)),
                },
                2300..=2302 => {
                    if self.skip(&db, cuid, None).await {
                        skipped = true;
                        None
                    } else if m.mtype == 2302 {
                        removals += 1;
                        let key = m
                            .data
                            .and_then(|d| serde_json::from_str::<Value>(d.get()).ok())
                            .and_then(|d| {
                                d.get("_key").and_then(Value::as_str).map(str::to_string)
                            });
                        match key {
                            Some(key) => Some(TailChange::Remove {
                                cuid: cuid.to_string(),
                                key,
                            }),
                            None => {
                                return Err(self.marker_error(bad_document(), line));
                            }
                        }
                    } else {
                        documents += 1;
                        match m.data {
                            Some(raw) => {
                                let s = raw.get().as_bytes();
                                // the document is a slice of the body: no copy
                                let off = s.as_ptr() as usize - body.as_ptr() as usize;
                                Some(TailChange::Upsert {
                                    cuid: cuid.to_string(),
                                    doc: body.slice(off..off + s.len()),
                                })
                            }
                            None => return Err(self.marker_error(bad_document(), line)),
                        }
                    }
                }
                2000 => {
                    let d = data().map_err(|e| self.marker_error(e, line))?;
                    let name = d.get("name").and_then(Value::as_str).map(str::to_string);
                    if let (Some(n), Some(g)) =
                        (&name, d.get("globallyUniqueId").and_then(Value::as_str))
                    {
                        self.names.insert(g.to_string(), n.clone());
                    }
                    if self.config.skip_create_drop || self.skip(&db, cuid, name.as_deref()).await {
                        skipped = true;
                        None
                    } else {
                        Some(TailChange::CreateCollection(d))
                    }
                }
                2001 => {
                    if self.config.skip_create_drop || self.skip(&db, cuid, None).await {
                        skipped = true;
                        None
                    } else {
                        Some(TailChange::DropCollection {
                            cuid: cuid.to_string(),
                        })
                    }
                }
                2002 => {
                    let d = data().map_err(|e| self.marker_error(e, line))?;
                    let name = d
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    if self.config.skip_create_drop || self.skip(&db, cuid, None).await {
                        skipped = true;
                        None
                    } else {
                        self.names.insert(cuid.to_string(), name.clone());
                        Some(TailChange::RenameCollection {
                            cuid: cuid.to_string(),
                            name,
                        })
                    }
                }
                2003 | 2004 | 2100 | 2101 => {
                    if m.mtype == 2004 && !open.is_empty() {
                        return Err(self.marker_error(
                            ArangoError::with_message(
                                codes::REPLICATION_UNEXPECTED_TRANSACTION,
                                "cannot truncate a collection while a transaction is open",
                            ),
                            line,
                        ));
                    }
                    if self.skip(&db, cuid, None).await {
                        skipped = true;
                        None
                    } else {
                        let cuid = cuid.to_string();
                        let d = data().map_err(|e| self.marker_error(e, line))?;
                        Some(match m.mtype {
                            2003 => TailChange::ChangeCollection { cuid, data: d },
                            2004 => TailChange::TruncateCollection { cuid },
                            2100 => TailChange::CreateIndex { cuid, data: d },
                            _ => TailChange::DropIndex {
                                cuid,
                                id: match d.get("id") {
                                    Some(Value::String(s)) => s.clone(),
                                    Some(v) => v.to_string(),
                                    None => String::new(),
                                },
                            },
                        })
                    }
                }
                other => {
                    return Err(self.marker_error(
                        ArangoError::with_message(
                            codes::REPLICATION_UNEXPECTED_MARKER,
                            format!("unexpected marker type {other}"),
                        ),
                        line,
                    ));
                }
            };
            if let Some(c) = change {
                documents_only &=
                    matches!(c, TailChange::Upsert { .. } | TailChange::Remove { .. });
                if matches!(m.mtype, 2300..=2302) && in_trx(tid) {
                    match open.get_mut(&tid) {
                        Some(t) => {
                            t.changes.push(c);
                            t.lines.push(range);
                        }
                        None => return Err(self.marker_error(unexpected_trx(tid), line)),
                    }
                } else if !self.applied_before(&db, tick) {
                    push_change(&mut groups, &db, c, range, tick);
                }
            }
            // the position after this marker (spec §5.4 step 8)
            if tick > p.first_regular && tick > p.processed {
                p.processed = tick;
                ticks.push(tick);
            }
            p.applied = p.applied.max(p.processed);
            if skipped {
                excluded_ops += 1;
            } else if open.is_empty() {
                p.safe = p.processed;
            }
        }
        self.seal(&mut groups, p, markers);
        // while this chunk is applied, the lag counts from its first new change's commit
        let since = ticks.first().map(|&first| {
            let now = unix_ms();
            commit_ms(first, now).unwrap_or(learned_ms).min(now)
        });
        Ok(Parsed {
            body: body.clone(),
            n_changes: groups.iter().map(|g| g.changes.len()).sum(),
            groups,
            markers,
            documents,
            removals,
            excluded_ops,
            ticks,
            since,
            documents_only,
            parse_time: started.elapsed(),
        })
    }

    /// Server-level: whether the marker of database `db` at `tick` is one a restart skips: the database
    /// had it applied before this run began, or the marker is older than the database's last create or
    /// drop that began to be applied (it was of a database dropped since, or made way for).
    fn applied_before(&self, db: &str, tick: u64) -> bool {
        self.global
            && (self.db_ticks.get(db).is_some_and(|&t| tick <= t)
                || self.epochs.get(db).is_some_and(|&t| tick < t))
    }

    /// Gives a parsed chunk's groups the applier records to store with them (`p`: the position after
    /// the chunk). A database applier stores its position with its changes. The server-level one
    /// stores each database's own position with that database's changes, and the server-wide
    /// position after them, at most every [`SERVER_POSITION_EVERY`] (and with every database created
    /// or dropped); a restart from an older one skips what each database already has.
    fn seal(&mut self, groups: &mut Vec<Group>, p: &Position, markers: u64) {
        if !self.global {
            for g in groups.iter_mut() {
                g.record = Some((g.db.clone(), self.record(Some(&p.persisted()))));
                g.applied_tick = p.applied;
            }
            return;
        }
        for g in groups.iter_mut() {
            if matches!(g.action, Some((DbAction::Drop, _))) {
                // the database is gone, and its position with it
                continue;
            }
            let state = PersistedState {
                server_id: p.leader_id.clone(),
                last_processed_continuous_tick: Tick(g.tick),
                last_applied_continuous_tick: Tick(g.tick),
                safe_resume_tick: Tick(g.tick),
            };
            g.record = Some((global_position_record(&g.db), json!({ "state": state })));
            g.applied_tick = g.tick;
        }
        if markers == 0 {
            return;
        }
        let actions = groups.iter().any(|g| g.action.is_some());
        if actions || self.server_saved.elapsed() >= SERVER_POSITION_EVERY {
            let mut g = Group::new("_system");
            g.record = Some((
                GLOBAL_APPLIER.to_string(),
                self.record(Some(&p.persisted())),
            ));
            g.applied_tick = p.applied;
            groups.push(g);
            self.server_saved = Instant::now();
        }
    }

    /// The lag counts from `since` (a parsed chunk's first new change's commit) until it is applied.
    fn note_pending(&self, since: Option<f64>) {
        if let Some(since) = since {
            let mut s = self.ctl.state();
            s.pending_since_ms = Some(s.pending_since_ms.map_or(since, |v| v.min(since)));
        }
    }

    /// Applies a parsed chunk (with `p`, the position after it) on this task, group by group,
    /// retrying or leaving out changes as the configuration says; returns how many markers it held.
    async fn apply_parsed(&mut self, mut parsed: Parsed, p: &Position) -> ArangoResult<u64> {
        let started = Instant::now();
        let mut ignore = self.config.ignore_errors;
        for gi in 0..parsed.groups.len() {
            self.apply_action(&parsed, gi).await?;
            let g = &mut parsed.groups[gi];
            let Some((name, rec)) = g.record.clone() else {
                continue;
            };
            let (db, applied_tick) = (g.db.clone(), g.applied_tick);
            let mut changes = std::mem::take(&mut g.changes);
            let mut retries = 0u64;
            let may_retry = self.follower.may_be_unavailable();
            loop {
                // a copy is kept only when an error may be ignored, or the follower may be unavailable
                // for a while, and the rest applied again
                let batch = if ignore > 0 || may_retry {
                    changes.clone()
                } else {
                    std::mem::take(&mut changes)
                };
                let applied = self
                    .follower
                    .apply_changes(&db, batch, &name, rec.clone())
                    .await;
                if let Some(n) = self.follower.take_notice() {
                    self.progress(n);
                }
                match applied {
                    Ok(_) => break,
                    Err(f) if may_retry && f.index.is_none() && is_retryable(&f.error) => {
                        // the follower is down or restarted: once it answers again, the position it
                        // holds tells whether this group committed before the failure
                        self.retry_after(&mut retries, "applying changes on the follower", f.error)
                            .await?;
                        if let Ok(stored) = self.follower.load_applier(&name).await
                            && stored_state(stored.as_ref())
                                .is_some_and(|s| s.last_applied_continuous_tick.0 == applied_tick)
                        {
                            break;
                        }
                    }
                    Err(f) => {
                        let index = f.index;
                        let e = self.apply_error(&parsed, gi, f);
                        match index {
                            Some(i) if ignore > 0 => {
                                ignore -= 1;
                                tracing::warn!(
                                    "{}: ignoring an error ({} more may be ignored): {}",
                                    who(self.scope()),
                                    ignore,
                                    e.message
                                );
                                changes.remove(i);
                                parsed.groups[gi].lines.remove(i);
                            }
                            _ => return Err(e),
                        }
                    }
                }
            }
        }
        let n = parsed.markers;
        self.applied(&parsed, p, started.elapsed());
        Ok(n)
    }

    /// Server-level: creates or drops a group's database, as its marker says (a database of that name
    /// makes way for a created one; a missing one is fine for a drop).
    async fn apply_action(&mut self, parsed: &Parsed, gi: usize) -> ArangoResult<()> {
        let g = &parsed.groups[gi];
        let Some((action, line)) = g.action.clone() else {
            return Ok(());
        };
        // the epoch is stored before the database is touched: a restart after the drop (or the
        // re-creation) must not apply the old database's markers to what is there now
        self.epochs.insert(g.db.clone(), g.tick);
        let rec = self.record(self.saved.as_ref());
        let mut retries = 0u64;
        loop {
            let r = async {
                self.follower
                    .save_applier(GLOBAL_APPLIER, Some(rec.clone()))
                    .await?;
                let exists = self.follower.database_exists(&g.db).await?;
                if exists {
                    self.follower.drop_database(&g.db).await?;
                }
                if action == DbAction::Create {
                    self.follower.create_database(&g.db).await?;
                }
                Ok::<_, ArangoError>(exists)
            }
            .await;
            match r {
                Ok(existed) => {
                    if existed {
                        self.ctl
                            .dropped
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(g.db.clone());
                    }
                    let what = match (action, existed) {
                        (DbAction::Create, false) => "created database",
                        (DbAction::Create, true) => "created database (anew)",
                        (DbAction::Drop, true) => "dropped database",
                        (DbAction::Drop, false) => "database to drop was gone already:",
                    };
                    self.progress(format!("{what} '{}'", g.db));
                    return Ok(());
                }
                Err(e) if self.follower.may_be_unavailable() && is_retryable(&e) => {
                    self.retry_after(&mut retries, "changing databases on the follower", e)
                        .await?
                }
                Err(e) => return Err(self.marker_error(e, &parsed.body[line])),
            }
        }
    }

    /// An apply's failure in group `gi`, with the offending marker quoted.
    fn apply_error(&self, parsed: &Parsed, gi: usize, f: ChangesFailed) -> ArangoError {
        let line = f
            .index
            .and_then(|i| parsed.groups.get(gi)?.lines.get(i))
            .map(|r| &parsed.body[r.clone()]);
        match line {
            Some(l) => self.marker_error(f.error, l),
            None => f.error,
        }
    }

    /// Counts an applied chunk (`p`: the position after it) and shows its position in the state.
    fn applied(&mut self, parsed: &Parsed, p: &Position, apply_time: Duration) {
        let elapsed = parsed.parse_time + apply_time;
        self.record_latency(&parsed.ticks);
        let Parsed {
            markers,
            documents,
            removals,
            excluded_ops,
            ..
        } = *parsed;
        {
            let m = &self.ctl.metrics;
            m.tailing_markers.increment(markers);
            m.tailing_documents.increment(documents);
            m.tailing_removals.increment(removals);
            m.tailing_apply_time.add(elapsed);
            let mut s = self.ctl.state();
            s.total_events += markers;
            s.total_documents += documents;
            s.total_removals += removals;
            s.total_operations_excluded += excluded_ops;
            s.total_apply_time += elapsed.as_secs_f64();
            s.apply_count += 1;
        }
        self.set_ticks(p);
        if self.global {
            let stored = parsed.groups.iter().find_map(|g| match &g.record {
                Some((name, rec)) if name == GLOBAL_APPLIER => stored_state(Some(rec)),
                _ => None,
            });
            self.unsaved = match stored {
                Some(state) => {
                    self.server_stored(state);
                    None
                }
                None => Some(p.clone()),
            };
        }
        if self.config.verbose {
            tracing::info!(
                "{}: applied {} changes of {markers} markers up to tick {} in {:.1} ms",
                who(self.scope()),
                parsed.n_changes,
                p.applied,
                elapsed.as_secs_f64() * 1000.0
            );
        }
    }

    /// Starts applying a parsed chunk of documents on a task of its own, so that the next chunk is
    /// parsed meanwhile (`p`: the position after it; `check_more`/`learned_ms`: what its answer said).
    fn apply_in_flight(
        &self,
        mut parsed: Parsed,
        p: &Position,
        check_more: bool,
        learned_ms: f64,
    ) -> InFlight {
        let follower = self.follower.clone();
        // (database, changes, record and its name) of each group
        type Work = (String, Vec<TailChange>, Option<(String, Value)>);
        let groups: Vec<Work> = parsed
            .groups
            .iter_mut()
            .map(|g| {
                (
                    g.db.clone(),
                    std::mem::take(&mut g.changes),
                    g.record.clone(),
                )
            })
            .collect();
        InFlight {
            task: tokio::spawn(async move {
                let mut applied = Applied::default();
                for (gi, (db, changes, rec)) in groups.into_iter().enumerate() {
                    let Some((name, rec)) = rec else { continue };
                    let a = follower
                        .apply_changes(&db, changes, &name, rec)
                        .await
                        .map_err(|f| (gi, f))?;
                    applied.add(a);
                }
                Ok(applied)
            }),
            parsed,
            pos: p.clone(),
            check_more,
            learned_ms,
            started: Instant::now(),
        }
    }

    /// Waits for the apply in flight, if any, and books it as [`apply_parsed`](Self::apply_parsed) does.
    async fn settle(&mut self, inflight: &mut Option<InFlight>) -> ArangoResult<()> {
        let Some(mut f) = inflight.take() else {
            return Ok(());
        };
        let done = (&mut f.task).await;
        self.finished(f, done)
    }

    fn finished(
        &mut self,
        f: InFlight,
        done: Result<Result<Applied, (usize, ChangesFailed)>, tokio::task::JoinError>,
    ) -> ArangoResult<()> {
        if let Some(n) = self.follower.take_notice() {
            self.progress(n);
        }
        match done {
            Ok(Ok(_)) => {}
            Ok(Err((gi, failed))) => return Err(self.apply_error(&f.parsed, gi, failed)),
            Err(e) => {
                return Err(ArangoError::internal(format!(
                    "applying changes failed: {e}"
                )));
            }
        }
        self.applied(&f.parsed, &f.pos, f.started.elapsed());
        self.after_apply(f.check_more, f.pos.applied, f.learned_ms);
        Ok(())
    }

    /// The lag once a chunk is applied (`applied`: the position's tick after it).
    fn after_apply(&self, check_more: bool, applied: u64, learned_ms: f64) {
        let mut s = self.ctl.state();
        s.pending_since_ms = if !check_more {
            // the leader had nothing more for this database
            None
        } else {
            // the next change was committed no earlier than the newest one applied (an arangorepl
            // leader's ticks tell when), and before this answer came
            Some(
                commit_ms(applied, unix_ms())
                    .unwrap_or(learned_ms)
                    .min(learned_ms),
            )
        };
    }

    /// Records, for each marker of the chunk just applied, the seconds since the leader committed it
    /// (from its tick when the leader's ticks tell; else since the follower learned of the chunk).
    fn record_latency(&self, ticks: &[u64]) {
        let now = unix_ms();
        let learned = self.ctl.state().pending_since_ms.unwrap_or(now);
        let h = self.ctl.latency();
        for &t in ticks {
            let since = commit_ms(t, now).unwrap_or(learned);
            h.record(((now - since) / 1000.0).max(0.0));
        }
    }

    /// Adds the offending marker to an error's message.
    fn marker_error(&self, e: ArangoError, line: &[u8]) -> ArangoError {
        let mut cut = line.len().min(QUOTE_BYTES);
        while cut > 0 && std::str::from_utf8(&line[..cut]).is_err() {
            cut -= 1;
        }
        let quoted = String::from_utf8_lossy(&line[..cut]);
        ArangoError::with_message(
            e.error_num,
            format!("{}, offending marker: {quoted}", e.message),
        )
    }
}

/// Adds a change of database `db` (at `tick`) to the last group if it is that database's (and not its
/// drop), else to a new one.
fn push_change(groups: &mut Vec<Group>, db: &str, c: TailChange, line: Range<usize>, tick: u64) {
    let g = match groups.last_mut() {
        Some(g) if g.db == db && !matches!(g.action, Some((DbAction::Drop, _))) => g,
        _ => {
            groups.push(Group::new(db));
            groups.last_mut().expect("a group")
        }
    };
    g.changes.push(c);
    g.lines.push(line);
    g.tick = g.tick.max(tick);
}

fn unexpected_trx(tid: u64) -> ArangoError {
    ArangoError::with_message(
        codes::REPLICATION_UNEXPECTED_TRANSACTION,
        format!("unexpected transaction {tid}"),
    )
}

fn bad_document() -> ArangoError {
    ArangoError::with_message(
        codes::REPLICATION_INVALID_RESPONSE,
        "invalid document marker: missing data or _key",
    )
}
