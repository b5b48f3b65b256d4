//! The follower's applier control endpoints (spec §2): `applier-config`, `sync` and `applier-state`, per
//! database. The configuration (with the leader password) and the applier's resumable state are kept in
//! the store; the live state (phase, progress, counters, last error) is in memory.

use crate::error::{ArangoError, ArangoResult, codes};
use crate::replication::config::ApplierConfig;
use crate::replication::initial_sync::initial_sync;
use crate::replication::leader_client::LeaderClient;
use crate::replication::state::{ApplierState, Phase};
use crate::server::follower::LocalFollower;
use crate::server::http::{ApiError, ApiResult, Ctx, Params, body_json, json, method_not_allowed};
use crate::server::leader::server_info;
use crate::server::{Shared, VERSION};
use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// One database's applier.
#[derive(Default)]
pub struct Slot {
    pub state: Mutex<ApplierState>,
    /// The configuration, once loaded from the store.
    config: Mutex<Option<ApplierConfig>>,
    /// A sync (or, later, the continuous applier) owns the slot.
    busy: AtomicBool,
}

/// The appliers of all databases.
#[derive(Default)]
pub struct Appliers {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Appliers {
    pub fn slot(&self, db: &str) -> Arc<Slot> {
        lock(&self.slots).entry(db.to_string()).or_default().clone()
    }
}

/// Releases a slot when the work that owns it ends, however it ends.
struct Busy(Arc<Slot>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::Release);
    }
}

fn running_error() -> ApiError {
    ApiError(ArangoError::new(codes::REPLICATION_RUNNING))
}

/// Records progress in the state, and in the log when the configuration asks for `verbose`.
fn progress(slot: &Slot, db: &str, verbose: bool, text: String) {
    if verbose {
        tracing::info!("replication applier for database '{db}': {text}");
    } else {
        tracing::debug!("replication applier for database '{db}': {text}");
    }
    lock(&slot.state).progress(text);
}

/// The stored configuration of `db` (defaults if none).
async fn load_config(st: &Shared, slot: &Slot, db: &str) -> ArangoResult<ApplierConfig> {
    if let Some(c) = lock(&slot.config).clone() {
        return Ok(c);
    }
    let f = LocalFollower { st: st.clone() };
    let record = crate::replication::follower::Follower::load_applier(&f, db).await?;
    let c = match record.as_ref().and_then(|r| r.get("config")) {
        Some(v) => ApplierConfig::from_stored_json(v, db)?,
        // nothing configured yet: ArangoDB shows no database either
        None => ApplierConfig::defaults(""),
    };
    *lock(&slot.config) = Some(c.clone());
    Ok(c)
}

async fn save_config(st: &Shared, slot: &Slot, db: &str, c: &ApplierConfig) -> ArangoResult<()> {
    let f = LocalFollower { st: st.clone() };
    let mut record = crate::replication::follower::Follower::load_applier(&f, db)
        .await?
        .unwrap_or_else(|| json!({}));
    record["config"] = c.to_stored_json();
    crate::replication::follower::Follower::save_applier(&f, db, Some(record)).await?;
    *lock(&slot.config) = Some(c.clone());
    Ok(())
}

/// `/_api/replication/<command>` on the follower side; `None` when `command` is not one of them.
pub async fn command(
    st: &Shared,
    ctx: &Ctx,
    method: &Method,
    command: &str,
    p: &Params,
    body: &Bytes,
) -> Option<ApiResult> {
    let known = matches!(
        command,
        "applier-config" | "applier-state" | "applier-state-all" | "sync"
    );
    if !known {
        return None;
    }
    Some(run_command(st, ctx, method, command, p, body).await)
}

async fn run_command(
    st: &Shared,
    ctx: &Ctx,
    method: &Method,
    command: &str,
    p: &Params,
    body: &Bytes,
) -> ApiResult {
    let allowed = match command {
        "applier-config" => *method == Method::GET || *method == Method::PUT,
        "applier-state" => *method == Method::GET || *method == Method::DELETE,
        "applier-state-all" => *method == Method::GET,
        _ => *method == Method::PUT,
    };
    if !allowed {
        return Err(method_not_allowed(
            method,
            &format!("/_api/replication/{command}"),
        ));
    }
    ctx.require_superuser()?;
    if p.bool("global", false) {
        return Err(ApiError(ArangoError::with_message(
            codes::NOT_IMPLEMENTED,
            "global (server-level) replication is not supported by arangorepl: configure one applier per \
             database instead",
        )));
    }
    let db = ctx.db.as_str();
    let slot = st.appliers.slot(db);
    match (command, method.clone()) {
        ("applier-config", Method::GET) => {
            let c = load_config(st, &slot, db).await?;
            Ok(json(StatusCode::OK, &c.to_public_json()))
        }
        ("applier-config", _) => {
            let v = body_json(body)?;
            if slot.busy.load(Ordering::Acquire) {
                return Err(running_error());
            }
            let mut c = load_config(st, &slot, db).await?;
            c.merge(&v, db)?;
            if v.get("endpoint").is_some() && c.endpoint.is_empty() {
                return Err(ApiError(ArangoError::with_message(
                    codes::REPLICATION_INVALID_APPLIER_CONFIGURATION,
                    "invalid value for <endpoint>: it must not be empty",
                )));
            }
            save_config(st, &slot, db, &c).await?;
            Ok(json(StatusCode::OK, &c.to_public_json()))
        }
        ("applier-state", Method::GET) => state_response(st, &slot, db).await,
        ("applier-state", _) => {
            // forget: the stored configuration and state go, the configuration is back to defaults
            if slot.busy.load(Ordering::Acquire) {
                return Err(running_error());
            }
            let f = LocalFollower { st: st.clone() };
            crate::replication::follower::Follower::save_applier(&f, db, None).await?;
            *lock(&slot.config) = Some(ApplierConfig::defaults(""));
            *lock(&slot.state) = ApplierState::default();
            state_response(st, &slot, db).await
        }
        ("applier-state-all", _) => {
            if db != crate::store::names::SYSTEM_DATABASE {
                return Err(ApiError(ArangoError::with_message(
                    codes::FORBIDDEN,
                    "global inventory can only be fetched from within _system database",
                )));
            }
            let mut all = serde_json::Map::new();
            for name in st.store.catalog().database_names() {
                let s = st.appliers.slot(&name);
                all.insert(name.clone(), state_json(st, &s, &name).await?);
            }
            Ok(json(StatusCode::OK, &Value::Object(all)))
        }
        _ => sync(st, slot, db, body).await,
    }
}

async fn state_json(st: &Shared, slot: &Slot, db: &str) -> ArangoResult<Value> {
    let c = load_config(st, slot, db).await?;
    let mut server = serde_json::to_value(server_info(st, false)).unwrap_or(Value::Null);
    server["version"] = json!(VERSION);
    let mut v = json!({
        "state": lock(&slot.state).state_json(),
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

async fn state_response(st: &Shared, slot: &Slot, db: &str) -> ApiResult {
    Ok(json(StatusCode::OK, &state_json(st, slot, db).await?))
}

/// `PUT sync`: a one-shot initial sync with the body's configuration (on defaults, not the stored one).
async fn sync(st: &Shared, slot: Arc<Slot>, db: &str, body: &Bytes) -> ApiResult {
    let v = body_json(body)?;
    let mut config = ApplierConfig::defaults(db);
    config.merge(&v, db)?;
    if config.endpoint.is_empty() {
        return Err(ApiError(ArangoError::with_message(
            codes::HTTP_BAD_PARAMETER,
            "<endpoint> must be a valid endpoint",
        )));
    }
    if slot
        .busy
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(running_error());
    }
    let busy = Busy(slot.clone());
    let follower = LocalFollower { st: st.clone() };
    let leader = LeaderClient::new(&config, st.store.server_id())?;
    let db = db.to_string();
    // the sync runs on its own task: a client that hangs up does not cut it short
    let task = tokio::spawn(async move {
        let _busy = busy;
        {
            let mut s = lock(&slot.state);
            s.phase = Phase::Initial;
            s.last_error = None;
        }
        let report = {
            let (slot, db, verbose) = (slot.clone(), db.clone(), config.verbose);
            let stats = leader.stats.clone();
            move |text: String| {
                lock(&slot.state).failed_connects =
                    stats.consecutive_failures.load(Ordering::Relaxed);
                progress(&slot, &db, verbose, text)
            }
        };
        let r = initial_sync(&follower, &leader, &config, &report).await;
        let mut s = lock(&slot.state);
        s.phase = Phase::Inactive;
        s.total_requests += leader.stats.requests.load(Ordering::Relaxed);
        s.total_failed_connects += leader.stats.failed_connects.load(Ordering::Relaxed);
        match &r {
            Ok(res) => {
                s.total_documents += res.applied.written();
                s.total_removals += res.applied.removed;
                // the sync's time: waiting for the leader vs. everything else
                let wait = res.leader_wait.as_secs_f64();
                s.total_fetch_time += wait;
                s.fetch_count += 1;
                s.total_apply_time += (res.elapsed.as_secs_f64() - wait).max(0.0);
                s.apply_count += 1;
                tracing::info!(
                    "initial sync of database '{db}' from {}: {} documents in {:.1} s",
                    config.endpoint,
                    res.documents_fetched,
                    res.elapsed.as_secs_f64()
                );
            }
            Err(e) => {
                s.set_error(e.clone());
                s.progress(format!("initial sync failed: {}", e.message));
                tracing::warn!("initial sync of database '{db}' failed: {}", e.message);
            }
        }
        r
    });
    let res = task
        .await
        .map_err(|e| ApiError(ArangoError::internal(format!("sync task failed: {e}"))))??;
    Ok(json(StatusCode::OK, &res.to_json()))
}
