//! Hosting appliers: the follower's applier control (spec §2) — `applier-config`, `applier-start`,
//! `applier-stop`, `applier-state`, `applier-state-all`, `sync`, `make-follower` — per database, for any
//! [`Follower`]. `arangorepl serve` hosts them over its store, `arangorepl proxy` over a
//! [`RemoteFollower`](crate::replication::remote::RemoteFollower); both answer with what this module
//! returns. The configuration (with the leader password) and the resumable state are kept by the
//! follower; the live state (phase, progress, counters, last error) is in memory.

use crate::error::{ArangoError, ArangoResult, codes};
use crate::metrics::Registry;
use crate::replication::applier::{Control, Start, reported_sync, run as run_applier};
use crate::replication::config::ApplierConfig;
use crate::replication::follower::{Follower, GLOBAL_APPLIER};
use crate::replication::initial_sync::SyncResult;
use crate::replication::leader_client::LeaderClient;
use crate::replication::state::{ApplierState, Phase};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// What a host of appliers provides.
pub trait Host: Clone + Send + Sync + 'static {
    type F: Follower + Clone;
    /// The follower the appliers write into.
    fn follower(&self) -> Self::F;
    /// The `server` part of `applier-state`: `{"version", "serverId"}`.
    fn server_json(&self) -> Value;
    /// The databases there are (for `applier-state-all` and `autoStart`).
    fn databases(&self) -> impl Future<Output = ArangoResult<Vec<String>>> + Send;
}

/// The applier commands a host answers.
pub fn is_command(command: &str) -> bool {
    matches!(
        command,
        "applier-config"
            | "applier-state"
            | "applier-state-all"
            | "applier-start"
            | "applier-stop"
            | "sync"
            | "make-follower"
            | "make-slave"
    )
}

/// Whether `method` is one `command` takes.
pub fn method_allowed(command: &str, method: &str) -> bool {
    match command {
        "applier-config" => method == "GET" || method == "PUT",
        "applier-state" => method == "GET" || method == "DELETE",
        "applier-state-all" => method == "GET",
        _ => method == "PUT",
    }
}

/// A request body as JSON, with ArangoDB's error for an empty or broken one.
pub fn body_json(bytes: &[u8]) -> ArangoResult<Value> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ArangoError::with_message(
            codes::HTTP_CORRUPTED_JSON,
            "invalid JSON object: the request body is empty",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ArangoError::with_message(
            codes::HTTP_CORRUPTED_JSON,
            format!("invalid JSON object: {e}"),
        )
    })
}

/// One database's applier.
#[derive(Default)]
pub struct Slot {
    pub ctl: Arc<Control>,
    /// The configuration, once loaded from the store.
    config: Mutex<Option<ApplierConfig>>,
    /// A one-shot `sync` owns the slot.
    busy: AtomicBool,
    /// The running applier.
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Serialises start, stop, forget and make-follower.
    control: tokio::sync::Mutex<()>,
}

impl Slot {
    /// Whether the continuous applier (or its initial sync) is running.
    pub fn running(&self) -> bool {
        lock(&self.task).as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the applier and waits for it to end.
    async fn stop(&self) {
        let task = lock(&self.task).take();
        if let Some(t) = task {
            if !t.is_finished() {
                self.ctl.state().phase = Phase::Shutdown;
            }
            self.ctl.request_stop();
            let _ = t.await;
        }
    }
}

/// The appliers of all databases.
#[derive(Default)]
pub struct Appliers {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    /// The server-level applier's slot (`global=true`), once used.
    global: Mutex<Option<Arc<Slot>>>,
    /// The hosting server's metrics, if it keeps any.
    registry: Option<Arc<Registry>>,
    counters: crate::metrics::Replication,
    /// A private CA the appliers trust for `ssl://` leaders.
    ca_file: Option<std::path::PathBuf>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Appliers {
    /// Appliers that record into `registry` and trust `ca_file` (PEM) for `ssl://` leaders besides the
    /// system's roots.
    pub fn new(registry: Arc<Registry>, ca_file: Option<std::path::PathBuf>) -> Self {
        Appliers {
            slots: Mutex::default(),
            global: Mutex::default(),
            counters: crate::metrics::Replication::register(&registry),
            registry: Some(registry),
            ca_file,
        }
    }

    /// A database is gone: its applier stops, and its slot goes with the configuration it cached, so a
    /// database created later under that name starts with defaults (the follower dropped the stored
    /// record with the database).
    pub async fn database_dropped(&self, db: &str) {
        let slot = lock(&self.slots).remove(db);
        if let Some(s) = slot {
            let _g = s.control.lock().await;
            s.stop().await;
        }
    }

    /// The server-level applier's slot.
    pub fn global_slot(&self) -> Arc<Slot> {
        lock(&self.global)
            .get_or_insert_with(|| {
                Arc::new(Slot {
                    ctl: Arc::new(Control::with_metrics(
                        self.counters.clone(),
                        None,
                        self.ca_file.clone(),
                    )),
                    ..Slot::default()
                })
            })
            .clone()
    }

    /// Whether the server-level applier runs or syncs.
    fn global_active(&self) -> bool {
        lock(&self.global)
            .as_ref()
            .is_some_and(|g| g.running() || g.busy.load(Ordering::Acquire))
    }

    /// The databases whose own applier runs or syncs.
    fn active_databases(&self) -> Vec<String> {
        let mut v: Vec<String> = lock(&self.slots)
            .iter()
            .filter(|(_, s)| s.running() || s.busy.load(Ordering::Acquire))
            .map(|(d, _)| d.clone())
            .collect();
        v.sort();
        v
    }

    pub fn slot(&self, db: &str) -> Arc<Slot> {
        // databases the server-level applier dropped take their appliers' cached configurations along
        let global = lock(&self.global).clone();
        if let Some(g) = global {
            let mut slots = lock(&self.slots);
            for d in g.ctl.take_dropped() {
                slots.remove(&d);
            }
        }
        lock(&self.slots)
            .entry(db.to_string())
            .or_insert_with(|| {
                Arc::new(Slot {
                    ctl: Arc::new(Control::with_metrics(
                        self.counters.clone(),
                        self.registry.clone().map(|r| (r, db.to_string())),
                        self.ca_file.clone(),
                    )),
                    ..Slot::default()
                })
            })
            .clone()
    }

    /// Sets the per-database applier gauges (at scrape time): running, lag, ticks behind, last applied
    /// tick and resyncs, for every database whose applier was configured or used since the start.
    pub fn record_metrics(&self, r: &Registry) {
        let slots: Vec<(String, Arc<Slot>)> = lock(&self.slots)
            .iter()
            .map(|(d, s)| (d.clone(), s.clone()))
            .collect();
        for (db, slot) in slots {
            let running = slot.running();
            let configured = lock(&slot.config)
                .as_ref()
                .is_some_and(|c| !c.endpoint.is_empty());
            let s = slot.ctl.state();
            // databases nobody replicates into are left out
            if !running && !configured && s.started.is_none() && s.last_applied_continuous_tick == 0
            {
                continue;
            }
            let labels = [("database", db.as_str())];
            r.gauge(
                "arangorepl_replication_applier_running",
                "1 while the database's replication applier runs (initial sync or tailing), else 0",
                &labels,
            )
            .set(if running { 1.0 } else { 0.0 });
            r.gauge(
                "arangorepl_replication_applier_lag_seconds",
                "How long ago the leader committed the oldest change this follower has not applied \
                 yet; 0 when it has applied everything the leader had; NaN when not tailing",
                &labels,
            )
            .set(s.lag_seconds().unwrap_or(f64::NAN));
            r.gauge(
                "arangorepl_replication_applier_ticks_behind",
                "The leader's last tick minus the last tick this follower processed",
                &labels,
            )
            .set(s.ticks_behind() as f64);
            r.gauge(
                "arangorepl_replication_applier_last_applied_tick",
                "The last leader tick this follower applied",
                &labels,
            )
            .set(s.last_applied_continuous_tick as f64);
            r.counter(
                "arangorepl_replication_applier_resyncs_total",
                "Initial synchronizations the applier ran again after falling behind (autoResync)",
                &labels,
            )
            .absolute(s.total_resyncs);
        }
    }

    /// Stops every running applier (server shutdown).
    pub async fn stop_all(&self) {
        let mut slots: Vec<Arc<Slot>> = lock(&self.slots).values().cloned().collect();
        slots.extend(lock(&self.global).clone());
        for s in slots {
            s.stop().await;
        }
    }
}

/// Releases a slot when the sync that owns it ends, however it ends.
struct Busy(Arc<Slot>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::Release);
    }
}

fn running_error() -> ArangoError {
    ArangoError::new(codes::REPLICATION_RUNNING)
}

/// In an applier record: make-follower's initial sync has not finished yet. The applier's first stored
/// position replaces the record without it.
const SYNC_PENDING: &str = "syncPending";

/// Starts the appliers whose stored configuration has `autoStart` (spec §5.2): the server-level one, or
/// else each database's (the two never run over the same database); one whose make-follower was cut
/// short by a shutdown or crash runs its initial sync again.
pub async fn auto_start<H: Host>(h: &H, appliers: &Appliers) {
    if auto_start_one(h, &appliers.global_slot(), GLOBAL_APPLIER).await {
        let configured = async {
            let mut v = Vec::new();
            for db in h.databases().await.unwrap_or_default() {
                let slot = appliers.slot(&db);
                if load_config(h, &slot, &db)
                    .await
                    .is_ok_and(|c| c.auto_start && !c.endpoint.is_empty())
                {
                    v.push(db);
                }
            }
            v
        };
        for db in configured.await {
            tracing::warn!(
                "the replication applier of database '{db}' has autoStart, but the server-level \
                 replication applier runs: it is not started"
            );
        }
        return;
    }
    let dbs = match h.databases().await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("cannot list the databases for autoStart: {}", e.message);
            return;
        }
    };
    for db in dbs {
        auto_start_one(h, &appliers.slot(&db), &db).await;
    }
}

/// Starts the applier kept under `record` (a database's, or [`GLOBAL_APPLIER`]) if its configuration
/// says `autoStart`; whether it started.
async fn auto_start_one<H: Host>(h: &H, slot: &Arc<Slot>, record: &str) -> bool {
    let global = record == GLOBAL_APPLIER;
    let who = crate::replication::applier::who(if global { "" } else { record });
    let f = h.follower();
    // one read of the record: the configuration, and whether make-follower's sync was cut short
    let loaded = async {
        let stored = crate::replication::follower::Follower::load_applier(&f, record).await?;
        let config = config_of(slot, stored.as_ref(), if global { "" } else { record })?;
        let pending = stored.is_some_and(|r| r.get(SYNC_PENDING) == Some(&Value::Bool(true)));
        Ok::<_, ArangoError>((config, pending))
    };
    let (config, pending) = match loaded.await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("cannot read the configuration of the {who}: {e}");
            return false;
        }
    };
    if !config.auto_start || config.endpoint.is_empty() {
        return false;
    }
    // a make-follower whose initial sync never finished (the server went down) starts over
    let start = if pending { Start::Sync } else { Start::Resume };
    let _g = slot.control.lock().await;
    match start_applier(h, slot, config, start, global) {
        Ok(()) => {
            tracing::info!("{who} started (autoStart)");
            true
        }
        Err(e) => {
            tracing::warn!("cannot start the {who}: {}", e.message);
            false
        }
    }
}

/// Launches the applier task (with `global`, the server-level one); the caller holds `slot.control`.
fn start_applier<H: Host>(
    h: &H,
    slot: &Arc<Slot>,
    mut config: ApplierConfig,
    start: Start,
    global: bool,
) -> ArangoResult<()> {
    if slot.busy.load(Ordering::Acquire) {
        return Err(ArangoError::with_message(
            codes::LOCKED,
            "cannot start the applier while an initial sync is running",
        ));
    }
    if config.endpoint.is_empty() {
        return Err(ArangoError::with_message(
            codes::REPLICATION_INVALID_APPLIER_CONFIGURATION,
            "no endpoint configured",
        ));
    }
    if global {
        // it asks the leader in `_system`
        config.database = "_system".into();
    } else if config.database.is_empty() {
        return Err(ArangoError::with_message(
            codes::REPLICATION_INVALID_APPLIER_CONFIGURATION,
            "no database configured",
        ));
    }
    if slot.running() {
        return Ok(());
    }
    slot.ctl.reset_stop();
    {
        let mut s = slot.ctl.state();
        s.phase = if start == Start::Sync {
            Phase::Initial
        } else {
            Phase::Running
        };
        s.last_error = None;
        s.failed_connects = 0;
    }
    slot.ctl.progress(
        if global { "" } else { &config.database },
        config.verbose,
        if start == Start::Sync {
            "applier started: initial synchronization".to_string()
        } else {
            "applier started".to_string()
        },
    );
    let follower = h.follower();
    let ctl = slot.ctl.clone();
    let task = tokio::spawn(run_applier(follower, config, ctl, start, global));
    *lock(&slot.task) = Some(task);
    Ok(())
}

/// The stored configuration of `db` (defaults if none).
async fn load_config<H: Host>(h: &H, slot: &Slot, db: &str) -> ArangoResult<ApplierConfig> {
    if let Some(c) = lock(&slot.config).clone() {
        return Ok(c);
    }
    let f = h.follower();
    let record = crate::replication::follower::Follower::load_applier(&f, db).await?;
    // the server-level applier's record has no database of its own
    let db = if db == GLOBAL_APPLIER { "" } else { db };
    config_of(slot, record.as_ref(), db)
}

/// The configuration in an applier record (defaults if none), kept as the slot's.
fn config_of(slot: &Slot, record: Option<&Value>, db: &str) -> ArangoResult<ApplierConfig> {
    let c = match record.and_then(|r| r.get("config")) {
        Some(v) => ApplierConfig::from_stored_json(v, db)?,
        // nothing configured yet: ArangoDB shows no database either
        None => ApplierConfig::defaults(""),
    };
    *lock(&slot.config) = Some(c.clone());
    Ok(c)
}

async fn save_config<H: Host>(h: &H, slot: &Slot, db: &str, c: &ApplierConfig) -> ArangoResult<()> {
    let f = h.follower();
    let mut record = crate::replication::follower::Follower::load_applier(&f, db)
        .await?
        .unwrap_or_else(|| json!({}));
    record["config"] = c.to_stored_json();
    crate::replication::follower::Follower::save_applier(&f, db, Some(record)).await?;
    *lock(&slot.config) = Some(c.clone());
    Ok(())
}

/// Runs an applier command (`is_command`) for database `db`, whose method the caller checked
/// (`method_allowed`) and whose caller has administrator rights; `from` is `applier-start`'s tick.
/// Returns the JSON answer (status 200).
#[allow(clippy::too_many_arguments)]
pub async fn command<H: Host>(
    h: &H,
    appliers: &Appliers,
    db: &str,
    method: &str,
    command: &str,
    from: Option<u64>,
    global: bool,
    body: &[u8],
) -> ArangoResult<Value> {
    if global {
        if db != "_system" {
            return Err(ArangoError::with_message(
                codes::FORBIDDEN,
                "global inventory can only be created from within _system database",
            ));
        }
        let slot = appliers.global_slot();
        let refuse = || refuse_while_databases_replicate(appliers);
        return match (command, method) {
            ("sync", _) => sync_global(h, appliers, body).await,
            ("applier-config", "GET") => {
                let c = load_config(h, &slot, GLOBAL_APPLIER).await?;
                Ok(c.to_public_json())
            }
            // the server-level applier has no database of its own
            ("applier-config", _) => put_config(h, &slot, GLOBAL_APPLIER, "", body).await,
            ("applier-state", "GET") => state_json(h, &slot, GLOBAL_APPLIER).await,
            ("applier-state", _) => forget_applier(h, &slot, GLOBAL_APPLIER).await,
            ("applier-start", _) => start_command(h, &slot, GLOBAL_APPLIER, from, refuse).await,
            ("applier-stop", _) => stop_command(h, &slot, GLOBAL_APPLIER).await,
            ("make-follower" | "make-slave", _) => {
                make_follower(h, &slot, GLOBAL_APPLIER, body, refuse).await
            }
            _ => Err(ArangoError::with_message(
                codes::HTTP_BAD_PARAMETER,
                format!("'{command}' has no server-level form (global=true)"),
            )),
        };
    }
    if matches!(
        command,
        "applier-start" | "sync" | "make-follower" | "make-slave"
    ) && appliers.global_active()
    {
        return Err(ArangoError::with_message(
            codes::REPLICATION_RUNNING,
            format!(
                "cannot {} the replication applier of database '{db}': the server-level (global) \
                 replication applier is running or synchronizing every database; stop it first \
                 (globalApplier.stop() in _system)",
                if command == "sync" {
                    "run a sync for"
                } else {
                    "start"
                }
            ),
        ));
    }
    let st = h;
    let slot = appliers.slot(db);
    match (command, method) {
        ("applier-config", "GET") => {
            let c = load_config(st, &slot, db).await?;
            Ok(c.to_public_json())
        }
        ("applier-config", _) => put_config(st, &slot, db, db, body).await,
        ("applier-state", "GET") => state_response(st, &slot, db).await,
        ("applier-state", _) => forget_applier(st, &slot, db).await,
        ("applier-state-all", _) => {
            if db != "_system" {
                return Err(ArangoError::with_message(
                    codes::FORBIDDEN,
                    "global inventory can only be fetched from within _system database",
                ));
            }
            let mut all = serde_json::Map::new();
            for name in h.databases().await? {
                let s = appliers.slot(&name);
                all.insert(name.clone(), state_json(h, &s, &name).await?);
            }
            Ok(Value::Object(all))
        }
        ("applier-start", _) => start_command(st, &slot, db, from, || Ok(())).await,
        ("applier-stop", _) => stop_command(st, &slot, db).await,
        ("make-follower" | "make-slave", _) => make_follower(st, &slot, db, body, || Ok(())).await,
        _ => sync(st, slot, db, body).await,
    }
}

/// The refusal of a server-level sync or applier while a database's own applier runs or syncs (their
/// changes would be overwritten, or applied twice).
fn refuse_while_databases_replicate(appliers: &Appliers) -> ArangoResult<()> {
    let active = appliers.active_databases();
    if active.is_empty() {
        return Ok(());
    }
    Err(ArangoError::with_message(
        codes::REPLICATION_RUNNING,
        format!(
            "cannot replicate every database: the replication applier of database(s) {} is running or \
             synchronizing; stop it first (applier.stop() in that database)",
            active
                .iter()
                .map(|d| format!("'{d}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

/// `PUT applier-start` of the applier kept under `record` (a database's, or [`GLOBAL_APPLIER`]), from
/// `from` or its stored position; `refuse` adds refusals of its own, decided under the control lock.
async fn start_command<H: Host>(
    h: &H,
    slot: &Arc<Slot>,
    record: &str,
    from: Option<u64>,
    refuse: impl Fn() -> ArangoResult<()>,
) -> ArangoResult<Value> {
    if from == Some(0) {
        return Err(ArangoError::with_message(
            codes::HTTP_BAD_PARAMETER,
            "invalid value for parameter 'from': expecting a tick greater than 0",
        ));
    }
    let global = record == GLOBAL_APPLIER;
    // A one-shot sync in progress (e.g. `sync({async: true})` just before) is waited for: the
    // applier then tails from where the caller asked, after the sync's data is in.
    loop {
        let _g = slot.control.lock().await;
        if slot.busy.load(Ordering::Acquire) {
            drop(_g);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        }
        let c = load_config(h, slot, record).await?;
        if !slot.running() {
            refuse()?;
        }
        // a running applier goes on as it is; otherwise the start tick is stored first
        if let Some(tick) = from
            && !slot.running()
            && !c.endpoint.is_empty()
            && (global || !c.database.is_empty())
        {
            let f = h.follower();
            crate::replication::applier::store_start_tick(&f, record, &c, tick).await?;
        }
        start_applier(h, slot, c, from.map_or(Start::Resume, Start::From), global)?;
        break;
    }
    state_json(h, slot, record).await
}

/// `PUT applier-stop` of the applier kept under `record`.
async fn stop_command<H: Host>(h: &H, slot: &Arc<Slot>, record: &str) -> ArangoResult<Value> {
    let _g = slot.control.lock().await;
    slot.stop().await;
    state_json(h, slot, record).await
}

/// `PUT applier-config` for the applier kept under `record` (`request_db`: the database the request
/// went to, empty for the server-level applier): the body merged into the stored configuration. A
/// one-shot sync uses its own configuration: only a running applier refuses changes.
async fn put_config<H: Host>(
    h: &H,
    slot: &Slot,
    record: &str,
    request_db: &str,
    body: &[u8],
) -> ArangoResult<Value> {
    let v = body_json(body)?;
    let _g = slot.control.lock().await;
    if slot.running() {
        return Err(running_error());
    }
    let mut c = load_config(h, slot, record).await?;
    c.merge(&v, request_db)?;
    if record == GLOBAL_APPLIER {
        // it has no database of its own, whatever the body says
        c.database.clear();
    }
    if v.get("endpoint").is_some() && c.endpoint.is_empty() {
        return Err(ArangoError::with_message(
            codes::REPLICATION_INVALID_APPLIER_CONFIGURATION,
            "invalid value for <endpoint>: it must not be empty",
        ));
    }
    save_config(h, slot, record, &c).await?;
    Ok(c.to_public_json())
}

/// `DELETE applier-state` for the applier kept under `record`: stop, then the stored configuration and
/// state go, the configuration is back to defaults. Refused while a one-shot sync runs.
async fn forget_applier<H: Host>(h: &H, slot: &Slot, record: &str) -> ArangoResult<Value> {
    let _g = slot.control.lock().await;
    if slot.busy.load(Ordering::Acquire) {
        return Err(running_error());
    }
    slot.stop().await;
    forget(h, slot, record).await?;
    state_json(h, slot, record).await
}

/// Deletes the stored configuration and state; the configuration is back to defaults.
async fn forget<H: Host>(h: &H, slot: &Slot, db: &str) -> ArangoResult<()> {
    let f = h.follower();
    crate::replication::follower::Follower::save_applier(&f, db, None).await?;
    *lock(&slot.config) = Some(ApplierConfig::defaults(""));
    *slot.ctl.state() = ApplierState::default();
    Ok(())
}

/// A `sync` or `make-follower` body on defaults; `endpoint` is required.
fn body_config(db: &str, body: &[u8]) -> ArangoResult<(ApplierConfig, Value)> {
    let v = body_json(body)?;
    let mut config = ApplierConfig::defaults(db);
    config.merge(&v, db)?;
    if config.endpoint.is_empty() {
        return Err(ArangoError::with_message(
            codes::HTTP_BAD_PARAMETER,
            "<endpoint> must be a valid endpoint",
        ));
    }
    Ok((config, v))
}

/// `PUT make-follower` of the applier kept under `db` (a database's, or [`GLOBAL_APPLIER`]): stop and
/// forget, store the configuration (with `autoStart` unless the body says otherwise), then initial sync
/// and tailing in the background. Answers once the initial sync is over, with the applier state (its
/// `lastError` tells of a failed sync). `refuse` adds refusals of its own, under the control lock.
async fn make_follower<H: Host>(
    st: &H,
    slot: &Arc<Slot>,
    db: &str,
    body: &[u8],
    refuse: impl Fn() -> ArangoResult<()>,
) -> ArangoResult<Value> {
    let global = db == GLOBAL_APPLIER;
    // the server-level applier's configuration has no database of its own
    let (mut config, v) = body_config(if global { "" } else { db }, body)?;
    if global {
        config.database.clear();
    }
    config.skip_create_drop = false;
    if v.get("autoStart").is_none() {
        config.auto_start = true;
    }
    {
        let _g = slot.control.lock().await;
        if slot.busy.load(Ordering::Acquire) {
            return Err(ArangoError::with_message(
                codes::LOCKED,
                "cannot set up replication while an initial sync is running",
            ));
        }
        refuse()?;
        slot.stop().await;
        forget(st, slot, db).await?;
        let f = st.follower();
        let mut rec = crate::replication::applier::record(&config, None);
        rec[SYNC_PENDING] = Value::Bool(true);
        crate::replication::follower::Follower::save_applier(&f, db, Some(rec)).await?;
        *lock(&slot.config) = Some(config.clone());
        start_applier(st, slot, config, Start::Sync, global)?;
    }
    loop {
        let initial = slot.ctl.state().phase == Phase::Initial;
        if !initial || !slot.running() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    state_response(st, slot, db).await
}

async fn state_json<H: Host>(st: &H, slot: &Slot, db: &str) -> ArangoResult<Value> {
    let c = load_config(st, slot, db).await?;
    let server = st.server_json();
    let state = slot.ctl.state().state_json();
    let mut v = json!({
        "state": state,
        "server": server,
    });
    if !c.endpoint.is_empty() {
        v["endpoint"] = json!(c.endpoint);
    }
    if !c.database.is_empty() {
        v["database"] = json!(c.database);
    }
    Ok(v)
}

async fn state_response<H: Host>(st: &H, slot: &Slot, db: &str) -> ArangoResult<Value> {
    state_json(st, slot, db).await
}

/// Claims `slot` for a one-shot sync (`what` names it in the refusal of a second one). Decided under the
/// control lock, so a sync and an applier start cannot both go ahead; `refuse` adds refusals of its own
/// under that lock.
async fn claim_for_sync(
    slot: &Arc<Slot>,
    what: &str,
    refuse: impl FnOnce() -> ArangoResult<()>,
) -> ArangoResult<Busy> {
    let _g = slot.control.lock().await;
    if slot.running() {
        return Err(running_error());
    }
    refuse()?;
    if slot
        .busy
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(ArangoError::with_message(
            codes::LOCKED,
            format!("another {what} is running"),
        ));
    }
    Ok(Busy(slot.clone()))
}

/// Runs a claimed one-shot sync on a task of its own (a client that hangs up does not cut it short),
/// the slot's state telling of it: phase, the leader's request counters, and a failure's error and
/// progress (`db`: the database it reports for, empty for the server-level one; `who`: the sync's name
/// in the log).
async fn run_one_shot<Fut>(
    busy: Busy,
    leader: LeaderClient,
    db: String,
    who: String,
    sync: impl FnOnce(Arc<Control>, LeaderClient) -> Fut + Send + 'static,
) -> ArangoResult<SyncResult>
where
    Fut: Future<Output = ArangoResult<SyncResult>> + Send + 'static,
{
    let task = tokio::spawn(async move {
        let ctl = busy.0.ctl.clone();
        {
            let mut s = ctl.state();
            s.phase = Phase::Initial;
            s.last_error = None;
        }
        let r = sync(ctl.clone(), leader.clone()).await;
        {
            let mut s = ctl.state();
            s.phase = Phase::Inactive;
            s.total_requests += leader.stats.requests.load(Ordering::Relaxed);
            s.total_failed_connects += leader.stats.failed_connects.load(Ordering::Relaxed);
        }
        if let Err(e) = &r {
            ctl.state().set_error(e.clone());
            ctl.progress(&db, false, format!("initial sync failed: {}", e.message));
            tracing::warn!("{who} failed: {}", e.message);
        }
        drop(busy);
        r
    });
    task.await
        .map_err(|e| ArangoError::internal(format!("sync task failed: {e}")))?
}

/// `PUT sync?global=true` (in `_system`): the initial sync of every database, as `syncGlobal` asks.
/// Refused while a database's own applier runs or syncs (their changes would be overwritten).
async fn sync_global<H: Host>(h: &H, appliers: &Appliers, body: &[u8]) -> ArangoResult<Value> {
    let (mut config, _) = body_config("_system", body)?;
    // the leader's databases are asked for in `_system`, each database's data in that database
    config.database = "_system".into();
    let slot = appliers.global_slot();
    let busy = claim_for_sync(&slot, "server-level initial sync", || {
        refuse_while_databases_replicate(appliers)
    })
    .await?;
    let follower = h.follower();
    let leader = LeaderClient::with_ca(&config, follower.server_id(), slot.ctl.ca_file.as_deref())?
        .with_metrics(slot.ctl.metrics.clone());
    let who = "server-level initial sync".to_string();
    let res =
        run_one_shot(
            busy,
            leader,
            String::new(),
            who,
            move |ctl, leader| async move {
                reported_sync(&follower, &leader, &config, &ctl, true).await
            },
        )
        .await;
    // the databases the sync dropped take their appliers' cached configurations with them
    if let Ok(live) = h.databases().await {
        let gone: Vec<String> = lock(&appliers.slots)
            .keys()
            .filter(|d| !live.contains(d))
            .cloned()
            .collect();
        for d in gone {
            appliers.database_dropped(&d).await;
        }
    }
    Ok(res?.to_json())
}

/// `PUT sync`: a one-shot initial sync with the body's configuration (on defaults, not the stored one).
async fn sync<H: Host>(st: &H, slot: Arc<Slot>, db: &str, body: &[u8]) -> ArangoResult<Value> {
    let (config, _) = body_config(db, body)?;
    let busy = claim_for_sync(&slot, "initial sync of this database", || Ok(())).await?;
    let follower = st.follower();
    let leader = LeaderClient::with_ca(&config, follower.server_id(), slot.ctl.ca_file.as_deref())?
        .with_metrics(slot.ctl.metrics.clone());
    let who = format!("initial sync of database '{db}'");
    let res =
        run_one_shot(
            busy,
            leader,
            db.to_string(),
            who,
            move |ctl, leader| async move {
                reported_sync(&follower, &leader, &config, &ctl, false).await
            },
        )
        .await?;
    Ok(res.to_json())
}
