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
use crate::replication::follower::{Applied, ChangesFailed, Follower, TailChange};
use crate::replication::initial_sync::{SyncResult, initial_sync};
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
        }
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
        let who = if db.is_empty() {
            "server-level replication applier".to_string()
        } else {
            format!("replication applier for database '{db}'")
        };
        if verbose {
            tracing::info!("{who}: {text}");
        } else {
            tracing::debug!("{who}: {text}");
        }
        self.state().progress(text);
    }
}

/// An initial sync that reports to `ctl` as it goes (progress, with the leader's consecutive failed
/// connects): the applier's and the one-shot `sync`'s. Its documents are not counted in the state's
/// `totalDocuments`/`totalRemovals`, which count tailed markers only (as ArangoDB's).
pub async fn reported_sync<F: Follower + Clone>(
    follower: &F,
    leader: &LeaderClient,
    config: &ApplierConfig,
    ctl: &Arc<Control>,
) -> ArangoResult<SyncResult> {
    let report = {
        let (ctl, db, verbose) = (ctl.clone(), config.database.clone(), config.verbose);
        let stats = leader.stats.clone();
        move |text: String| {
            ctl.state().failed_connects = stats.consecutive_failures.load(Ordering::Relaxed);
            ctl.progress(&db, verbose, text)
        }
    };
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

/// Stores `tick` as the position to tail from (`applier-start?from=<tick>`) before the applier runs:
/// a stop before anything arrives still leaves a position, and a later start without a tick resumes
/// there. The leader's server id is left open; the first handshake records it.
pub async fn store_start_tick<F: Follower>(
    follower: &F,
    config: &ApplierConfig,
    tick: u64,
) -> ArangoResult<()> {
    let state = PersistedState {
        server_id: String::new(),
        last_processed_continuous_tick: Tick(tick),
        last_applied_continuous_tick: Tick(tick),
        safe_resume_tick: Tick(tick),
    };
    follower
        .apply_changes(&config.database, Vec::new(), record(config, Some(&state)))
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
/// `lastError`, progress `applier shut down`).
pub async fn run<F: Follower + Clone>(
    follower: F,
    config: ApplierConfig,
    ctl: Arc<Control>,
    start: Start,
) {
    let db = config.database.clone();
    let outcome = match LeaderClient::with_ca(&config, follower.server_id(), ctl.ca_file.as_deref())
    {
        Ok(leader) => {
            let leader = leader.with_metrics(ctl.metrics.clone());
            let mut a = Applier {
                follower,
                leader,
                config,
                ctl: ctl.clone(),
                base_requests: 0,
                base_failed: 0,
                failed_answers: Default::default(),
                names: HashMap::new(),
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
            tracing::info!("replication applier for database '{db}' stopped");
        }
        Err(e) => {
            tracing::warn!(
                "replication applier for database '{db}' stopped: {}",
                e.message
            );
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

/// A `wal/tail` body turned into changes (see `Applier::parse_chunk`).
struct Parsed {
    body: Bytes,
    changes: Vec<TailChange>,
    /// Each change's marker in `body`.
    lines: Vec<Range<usize>>,
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

/// A parsed chunk being applied on a task of its own.
struct InFlight {
    task: tokio::task::JoinHandle<Result<Applied, ChangesFailed>>,
    parsed: Parsed,
    /// The position after it.
    pos: Position,
    check_more: bool,
    learned_ms: f64,
    started: Instant,
}

/// One leader transaction being received.
struct OpenTrx {
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
    fn db(&self) -> &str {
        &self.config.database
    }

    fn progress(&self, text: String) {
        self.ctl
            .progress(&self.config.database, self.config.verbose, text);
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
                "replication applier for database '{}': {} — starting a resync (autoResync)",
                self.db(),
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
        let res = tokio::select! {
            r = reported_sync(&self.follower, &self.leader, &self.config, &ctl) => r,
            _ = ctl.stopped() => Err(stopped()),
        };
        self.count_requests();
        let tick = res?.last_log_tick;
        self.progress("applier started tailing".into());
        Ok(tick)
    }

    async fn save_record(&self, state: Option<&PersistedState>) -> ArangoResult<()> {
        self.follower
            .save_applier(self.db(), Some(record(&self.config, state)))
            .await
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
            "replication applier for database '{}': {msg}. Continuing, as requireFromPresent is false: changes may be missing",
            self.db()
        );
        Ok(())
    }

    /// Where to begin (spec §5.4).
    async fn position(&self, start: Start) -> ArangoResult<Position> {
        let leader_id = self.handshake().await?;
        let record = self.follower.load_applier(self.db()).await?;
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
        // an apply sent off is booked before the applier stops
        let settled = self.settle(&mut inflight).await;
        res.and(settled)
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
            }
            if worked || check_more {
                inactive_cycles = 0;
                continue;
            }
            if chunk.long_poll {
                // the leader already waited for us
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
    async fn persist(&self, p: &Position) -> ArangoResult<()> {
        let rec = record(&self.config, Some(&p.persisted()));
        self.follower
            .apply_changes(self.db(), Vec::new(), rec)
            .await
            .map_err(|f| f.error)?;
        self.set_ticks(p);
        Ok(())
    }

    /// The name of the collection a marker is about, for `restrictCollections`.
    async fn collection_name(&mut self, cuid: &str) -> Option<String> {
        if let Some(n) = self.names.get(cuid) {
            return Some(n.clone());
        }
        // local collections share their guid with the leader's; the leader's inventory knows the rest
        if let Ok(local) = self.follower.collections(self.db()).await {
            for c in local {
                self.names.insert(c.globally_unique_id, c.name);
            }
        }
        if !self.names.contains_key(cuid)
            && let Ok((batch, _)) = self.leader.create_batch(300).await
        {
            if let Ok(inv) = self
                .leader
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
            let _ = self.leader.delete_batch(&batch.id).await;
        }
        self.names.get(cuid).cloned()
    }

    /// Whether the follower's own filter leaves a marker of this collection out (spec §5.10).
    async fn skip(&mut self, cuid: &str, name_in_marker: Option<&str>) -> bool {
        let c = &self.config;
        if c.restrict_collections.is_empty()
            || (c.restrict_type == RestrictType::None && c.include_system)
        {
            return false;
        }
        let name = match name_in_marker {
            Some(n) => Some(n.to_string()),
            None => self.collection_name(cuid).await,
        };
        let Some(name) = name else { return false };
        let c = &self.config;
        (name.starts_with('_') && !c.include_system)
            || !c.restriction_allows(&name)
            || excluded(&name, true, c.include_foxx_queues)
    }

    /// Turns one `wal/tail` body into the changes to apply (the transactions it completes, the changes
    /// outside transactions) and moves the position past its markers. `learned_ms` is when the request
    /// that brought it went out (the lag of leaders whose ticks carry no time).
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
        let mut changes: Vec<TailChange> = Vec::new();
        let mut lines: Vec<Range<usize>> = Vec::new();
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
            let change: Option<TailChange> = match m.mtype {
                // a per-database applier does not create or drop databases; views are not kept
                1100 | 1101 | 2110 | 2111 | 2112 => {
                    skipped = true;
                    None
                }
                _ if marker_db.is_some_and(|d| d != self.db())
                    && !matches!(m.mtype, 2200..=2202) =>
                {
                    skipped = true;
                    None
                }
                2200 => {
                    open.insert(
                        tid,
                        OpenTrx {
                            changes: Vec::new(),
                            lines: Vec::new(),
                        },
                    );
                    None
                }
                2201 => match open.remove(&tid) {
                    Some(t) => {
                        changes.extend(t.changes);
                        lines.extend(t.lines);
                        None
                    }
                    None => return Err(self.marker_error(unexpected_trx(tid), line)),
                },
                2202 => match open.remove(&tid) {
                    Some(_) => None,
                    None => return Err(self.marker_error(unexpected_trx(tid), line)),
                },
                2300..=2302 => {
                    if self.skip(cuid, None).await {
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
                    if self.config.skip_create_drop || self.skip(cuid, name.as_deref()).await {
                        skipped = true;
                        None
                    } else {
                        Some(TailChange::CreateCollection(d))
                    }
                }
                2001 => {
                    if self.config.skip_create_drop || self.skip(cuid, None).await {
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
                    if self.config.skip_create_drop || self.skip(cuid, None).await {
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
                    if self.skip(cuid, None).await {
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
                } else {
                    changes.push(c);
                    lines.push(range);
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
        // while this chunk is applied, the lag counts from its first new change's commit
        let since = ticks.first().map(|&first| {
            let now = unix_ms();
            commit_ms(first, now).unwrap_or(learned_ms).min(now)
        });
        Ok(Parsed {
            body: body.clone(),
            n_changes: changes.len(),
            changes,
            lines,
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

    /// The lag counts from `since` (a parsed chunk's first new change's commit) until it is applied.
    fn note_pending(&self, since: Option<f64>) {
        if let Some(since) = since {
            let mut s = self.ctl.state();
            s.pending_since_ms = Some(s.pending_since_ms.map_or(since, |v| v.min(since)));
        }
    }

    /// Applies a parsed chunk (with `p`, the position after it) on this task, retrying or leaving out
    /// changes as the configuration says; returns how many markers it held.
    async fn apply_parsed(&mut self, mut parsed: Parsed, p: &Position) -> ArangoResult<u64> {
        let started = Instant::now();
        let mut changes = std::mem::take(&mut parsed.changes);
        let mut ignore = self.config.ignore_errors;
        let mut retries = 0u64;
        let may_retry = self.follower.may_be_unavailable();
        loop {
            let rec = record(&self.config, Some(&p.persisted()));
            // a copy is kept only when an error may be ignored, or the follower may be unavailable for a
            // while, and the rest applied again
            let batch = if ignore > 0 || may_retry {
                changes.clone()
            } else {
                std::mem::take(&mut changes)
            };
            let applied = self.follower.apply_changes(self.db(), batch, rec).await;
            if let Some(n) = self.follower.take_notice() {
                self.progress(n);
            }
            match applied {
                Ok(_) => break,
                Err(f) if may_retry && f.index.is_none() && is_retryable(&f.error) => {
                    // the follower is down or restarted: once it answers again, the position it holds
                    // tells whether this chunk committed before the failure
                    self.retry_after(&mut retries, "applying changes on the follower", f.error)
                        .await?;
                    if let Ok(rec) = self.follower.load_applier(self.db()).await
                        && stored_state(rec.as_ref())
                            .is_some_and(|s| s.last_applied_continuous_tick.0 == p.applied)
                    {
                        break;
                    }
                }
                Err(f) => {
                    let index = f.index;
                    let e = self.apply_error(&parsed, f);
                    match index {
                        Some(i) if ignore > 0 => {
                            ignore -= 1;
                            tracing::warn!(
                                "replication applier for database '{}': ignoring an error ({} more may be ignored): {}",
                                self.db(),
                                ignore,
                                e.message
                            );
                            changes.remove(i);
                            parsed.lines.remove(i);
                        }
                        _ => return Err(e),
                    }
                }
            }
        }
        let n = parsed.markers;
        self.applied(&parsed, p, started.elapsed());
        Ok(n)
    }

    /// An apply's failure, with the offending marker quoted.
    fn apply_error(&self, parsed: &Parsed, f: ChangesFailed) -> ArangoError {
        let line = f
            .index
            .and_then(|i| parsed.lines.get(i))
            .map(|r| &parsed.body[r.clone()]);
        match line {
            Some(l) => self.marker_error(f.error, l),
            None => f.error,
        }
    }

    /// Counts an applied chunk (`p`: the position after it) and shows its position in the state.
    fn applied(&self, parsed: &Parsed, p: &Position, apply_time: Duration) {
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
        if self.config.verbose {
            tracing::info!(
                "replication applier for database '{}': applied {} changes of {markers} markers up to tick {} in {:.1} ms",
                self.db(),
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
        let (follower, db) = (self.follower.clone(), self.db().to_string());
        let changes = std::mem::take(&mut parsed.changes);
        let rec = record(&self.config, Some(&p.persisted()));
        InFlight {
            task: tokio::spawn(async move { follower.apply_changes(&db, changes, rec).await }),
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
        done: Result<Result<Applied, ChangesFailed>, tokio::task::JoinError>,
    ) -> ArangoResult<()> {
        if let Some(n) = self.follower.take_notice() {
            self.progress(n);
        }
        match done {
            Ok(Ok(_)) => {}
            Ok(Err(failed)) => return Err(self.apply_error(&f.parsed, failed)),
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
