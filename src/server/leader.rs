//! The leader side of replication (spec §1): logger state, batches (pinned snapshots), inventory,
//! dump, incremental-sync keys, and the bookkeeping of the followers a leader serves.
//!
//! A batch is a store [`Snapshot`] plus a log hold: everything a follower reads through it (inventory,
//! dump, keys) comes from one point in time, and the log after that point is kept until the batch ends
//! or expires. Followers seen by tail calls are tracked per database with their last served tick, and
//! hold the log the same way until they expire.

use crate::error::{ArangoError, codes};
use crate::replication::filter::excluded;
use crate::replication::keys::RangeBuilder;
use crate::replication::wire::{
    self, BatchCreated, DatabaseInventory, FirstTick, InventoryCollection, KeysCreated,
    LoggerState, LoggerStateState, ReplicationClient, ServerInfo, TickRange,
};
use crate::server::http::{ApiError, ApiResult, Ctx, Params, bad, body_json_or_empty, json};
use crate::server::{Shared, blocking};
use crate::store::{DocRenderer, LogQuery, Snapshot, Store, stored_rev};
use crate::tick::Tick;
use axum::body::Bytes;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

/// Default lifetime of a batch and of a follower's registration (seconds), as ArangoDB.
pub const DEFAULT_TTL: Duration = Duration::from_secs(7200);
/// Dump chunks: default and largest size in bytes (a chunk always holds at least one document).
pub const DUMP_DEFAULT_CHUNK: usize = 128 << 10;
pub const DUMP_MAX_CHUNK: usize = 128 << 20;
/// Keys per range of incremental sync: default (also for values below 100) and maximum.
pub const KEYS_DEFAULT_CHUNK: usize = 5000;
pub const KEYS_MAX_CHUNK: usize = 20_000;
/// `quick=true` answers only the count above this many documents.
pub const QUICK_KEYS_LIMIT: u64 = 1_000_000;
/// A `type=docs` answer stops after about this many bytes when the follower pages with `offset`.
const DOCS_RESPONSE_LIMIT: usize = 8 << 20;

/// Where a dump of one collection in one batch stands.
#[derive(Default)]
struct DumpCursor {
    /// The last key sent.
    after: Option<String>,
    /// ArangoDB's chunk counter (the `lastincluded` header of dumps).
    chunk: u64,
}

/// A snapshot context.
pub struct Batch {
    pub id: u64,
    pub snapshot: Snapshot,
    /// The snapshot's tick (`lastTick`).
    pub tick: u64,
    hold: u64,
    life: Mutex<(Duration, Instant)>,
    dumps: Mutex<HashMap<u64, DumpCursor>>,
}

impl Batch {
    fn expired(&self) -> bool {
        lock(&self.life).1 <= Instant::now()
    }
}

/// A follower the leader has served.
struct Client {
    server_id: String,
    syncer_id: String,
    client_info: String,
    time: SystemTime,
    expires: SystemTime,
    expires_at: Instant,
    last_served: u64,
    hold: u64,
}

/// The leader's replication state: live batches and known followers.
#[derive(Default)]
pub struct Leader {
    batches: Mutex<HashMap<u64, Arc<Batch>>>,
    /// By (database, follower key).
    clients: Mutex<HashMap<(String, String), Client>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Leader {
    /// Opens a batch on a new snapshot; its log hold starts at the snapshot's tick.
    pub fn create_batch(&self, store: &Store, ttl: Duration) -> Result<Arc<Batch>, ApiError> {
        let snapshot = store.snapshot()?;
        let tick = snapshot.tick()?;
        let hold = store.hold_log(tick, ttl);
        let batch = Arc::new(Batch {
            id: store.new_tick_value(),
            snapshot,
            tick,
            hold,
            life: Mutex::new((ttl, Instant::now() + ttl)),
            dumps: Mutex::new(HashMap::new()),
        });
        lock(&self.batches).insert(batch.id, batch.clone());
        Ok(batch)
    }

    /// A live batch; an expired one is ended on the way.
    pub fn batch(&self, store: &Store, id: u64) -> Option<Arc<Batch>> {
        let mut batches = lock(&self.batches);
        let b = batches.get(&id)?.clone();
        if b.expired() {
            batches.remove(&id);
            store.release_hold(b.hold);
            return None;
        }
        Some(b)
    }

    /// Extends a batch to now + max(its ttl, `ttl`).
    pub fn extend_batch(&self, store: &Store, id: u64, ttl: Option<Duration>) -> bool {
        let Some(b) = self.batch(store, id) else {
            return false;
        };
        let mut life = lock(&b.life);
        let ttl = ttl.map_or(life.0, |t| t.max(life.0));
        *life = (life.0, Instant::now() + ttl);
        store.extend_hold(b.hold, ttl, None)
    }

    pub fn end_batch(&self, store: &Store, id: u64) -> bool {
        match lock(&self.batches).remove(&id) {
            Some(b) => {
                store.release_hold(b.hold);
                !b.expired()
            }
            None => false,
        }
    }

    /// Records that a follower was served `tick` in `db`, and holds the log after it.
    pub fn track_client(
        &self,
        store: &Store,
        db: &str,
        server_id: Option<&str>,
        syncer_id: Option<&str>,
        client_info: Option<&str>,
        tick: u64,
    ) {
        fn nonzero(s: Option<&str>) -> Option<&str> {
            s.map(str::trim).filter(|s| !s.is_empty() && *s != "0")
        }
        let (server_id, syncer_id) = (nonzero(server_id), nonzero(syncer_id));
        let Some(key) = syncer_id.or(server_id) else {
            return;
        };
        let now = SystemTime::now();
        let mut clients = lock(&self.clients);
        let entry = clients.entry((db.to_string(), key.to_string()));
        let c = entry.or_insert_with(|| Client {
            server_id: String::new(),
            syncer_id: String::new(),
            client_info: String::new(),
            time: now,
            expires: now,
            expires_at: Instant::now(),
            last_served: tick,
            hold: 0,
        });
        c.server_id = server_id.unwrap_or("").to_string();
        c.syncer_id = syncer_id.unwrap_or("0").to_string();
        if let Some(i) = client_info {
            c.client_info = i.to_string();
        }
        c.time = now;
        c.expires = now + DEFAULT_TTL;
        c.expires_at = Instant::now() + DEFAULT_TTL;
        c.last_served = tick;
        if c.hold == 0 || !store.extend_hold(c.hold, DEFAULT_TTL, Some(tick)) {
            c.hold = store.hold_log(tick, DEFAULT_TTL);
        }
    }

    /// The followers known in `db`.
    fn clients_of(&self, db: &str) -> Vec<ReplicationClient> {
        let clients = lock(&self.clients);
        let mut out: Vec<_> = clients
            .iter()
            .filter(|((d, _), c)| d == db && c.expires_at > Instant::now())
            .map(|(_, c)| ReplicationClient {
                syncer_id: c.syncer_id.clone(),
                server_id: c.server_id.clone(),
                client_info: c.client_info.clone(),
                time: crate::time::utc_string(c.time),
                expires: crate::time::utc_string(c.expires),
                last_served_tick: Tick(c.last_served),
            })
            .collect();
        out.sort_by(|a, b| (&a.server_id, &a.syncer_id).cmp(&(&b.server_id, &b.syncer_id)));
        out
    }

    /// Ends expired batches and forgets expired followers (their log holds go with them).
    pub fn sweep(&self, store: &Store) {
        lock(&self.batches).retain(|_, b| {
            let keep = !b.expired();
            if !keep {
                store.release_hold(b.hold);
            }
            keep
        });
        let now = Instant::now();
        lock(&self.clients).retain(|_, c| {
            let keep = c.expires_at > now;
            if !keep {
                store.release_hold(c.hold);
            }
            keep
        });
    }

    /// Sets the gauges of the followers this leader serves (at scrape time): the last tick served to
    /// each, and how long ago.
    pub fn record_metrics(&self, r: &crate::metrics::Registry) {
        let now = Instant::now();
        let clients = lock(&self.clients);
        for ((db, key), c) in clients.iter().filter(|(_, c)| c.expires_at > now) {
            let labels = [("database", db.as_str()), ("follower", key.as_str())];
            r.gauge(
                "arangorepl_replication_follower_last_served_tick",
                "The last tick this leader served to a follower",
                &labels,
            )
            .set(c.last_served as f64);
            let age = SystemTime::now()
                .duration_since(c.time)
                .unwrap_or_default()
                .as_secs_f64();
            r.gauge(
                "arangorepl_replication_follower_age_seconds",
                "Seconds since this leader last served a follower",
                &labels,
            )
            .set(age);
        }
        r.gauge(
            "arangorepl_replication_dump_batches",
            "Live dump batches (initial synchronizations in progress)",
            &[],
        )
        .set(lock(&self.batches).len() as f64);
    }

    /// Number of live batches (for tests and figures).
    pub fn batch_count(&self) -> usize {
        lock(&self.batches).len()
    }
}

// ----- helpers ----------------------------------------------------------------------------------------

/// Inventory, dump, keys, batches and WAL access need admin rights, or `rw` on the database.
pub fn require_replication(ctx: &Ctx) -> Result<(), ApiError> {
    if ctx.superuser || ctx.access >= crate::server::http::Access::ReadWrite {
        Ok(())
    } else {
        Err(ApiError(ArangoError::with_message(
            codes::FORBIDDEN,
            format!(
                "forbidden: replication in database '{}' needs administrator rights or read-write access",
                ctx.db
            ),
        )))
    }
}

pub fn server_info(st: &Shared, engine: bool) -> ServerInfo {
    ServerInfo {
        version: st.version.clone(),
        server_id: st.store.server_id().to_string(),
        engine: engine.then(|| "rocksdb".to_string()),
    }
}

fn logger_state(st: &Shared, db: &str) -> LoggerState {
    LoggerState {
        state: LoggerStateState::at(st.store.last_tick()),
        server: server_info(st, true),
        clients: st.leader.clients_of(db),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn method_not_allowed(method: &Method, command: &str) -> ApiError {
    crate::server::http::method_not_allowed(method, &format!("/_api/replication/{command}"))
}

/// 501 for `/_api/replication/revisions/*`: followers then use the keys protocol.
pub fn revisions_unsupported() -> ApiError {
    ApiError(ArangoError::with_message(
        codes::NOT_IMPLEMENTED,
        "this collection doesn't support revision-based replication",
    ))
}

fn batch_not_found(msg: &str) -> ApiError {
    ApiError(ArangoError::with_message(codes::CURSOR_NOT_FOUND, msg))
}

/// A response in the dump content type with replication headers.
pub fn dump_response(body: Vec<u8>, headers: &[(&'static str, String)]) -> Response {
    let status = if body.is_empty() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::OK
    };
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(wire::header::DUMP_CONTENT_TYPE),
    );
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(*k, v);
        }
    }
    r
}

fn ttl_of(body: &Bytes) -> Result<Option<Duration>, ApiError> {
    let v = body_json_or_empty(body)?;
    let Value::Object(m) = v else {
        return Err(bad("invalid JSON: expecting an object with 'ttl'"));
    };
    match m.get("ttl") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let secs = n.as_f64().unwrap_or(0.0);
            Ok((secs > 0.0 && secs.is_finite())
                .then(|| Duration::from_secs_f64(secs.min(365.0 * 86_400.0))))
        }
        Some(_) => Err(bad("invalid 'ttl': expecting a number of seconds")),
    }
}

/// Records the follower named in the request's `serverId`/`syncerId`/`clientInfo` as served `tick`.
pub fn track(st: &Shared, ctx: &Ctx, p: &Params, tick: u64) {
    st.leader.track_client(
        &st.store,
        &ctx.db,
        p.str("serverId"),
        p.str("syncerId"),
        p.str("clientInfo"),
        tick,
    );
}

fn batch_id(p: &Params) -> Result<Option<u64>, ApiError> {
    p.u64("batchId")
}

// ----- /_api/replication/<command> --------------------------------------------------------------------

/// `/_api/replication/<command>` on the leader side. `None` when `command` is not a leader command.
pub async fn command(
    st: &Shared,
    ctx: &Ctx,
    method: &Method,
    command: &str,
    p: &Params,
    body: &Bytes,
) -> Option<ApiResult> {
    let get = method == Method::GET;
    Some(match command {
        "logger-state" if get => Ok(json(StatusCode::OK, &to_json(&logger_state(st, &ctx.db)))),
        "logger-first-tick" if get => first_tick(st).await,
        "logger-tick-ranges" if get => tick_ranges(st).await,
        "logger-last" if get => logger_last(st, ctx, p).await,
        "server-id" if get => Ok(json(
            StatusCode::OK,
            &json!({"serverId": st.store.server_id().to_string()}),
        )),
        "determine-open-transactions" if get => Ok(dump_response(
            Vec::new(),
            &[
                (wire::header::LAST_TICK, "0".into()),
                (wire::header::FROM_PRESENT, "true".into()),
            ],
        )),
        "batch" if method == Method::POST => create_batch(st, ctx, p, body).await,
        "inventory" if get => inventory(st, ctx, p).await,
        "dump" if get => dump(st, ctx, p).await,
        "keys" if method == Method::POST => create_keys(st, ctx, p).await,
        "revisions" => Err(revisions_unsupported()),
        "logger-state"
        | "logger-first-tick"
        | "logger-tick-ranges"
        | "logger-last"
        | "server-id"
        | "determine-open-transactions"
        | "batch"
        | "inventory"
        | "dump"
        | "keys" => Err(method_not_allowed(method, command)),
        _ => return None,
    })
}

/// `/_api/replication/<command>/<id>` on the leader side.
pub async fn command_with_id(
    st: &Shared,
    ctx: &Ctx,
    method: &Method,
    command: &str,
    id: &str,
    p: &Params,
    body: &Bytes,
) -> Option<ApiResult> {
    Some(match (command, method.clone()) {
        ("batch", Method::PUT) => extend_batch(st, ctx, id, p, body),
        ("batch", Method::DELETE) => end_batch(st, ctx, id),
        ("batch", _) => Err(method_not_allowed(method, command)),
        ("keys", Method::GET) => key_ranges(st, ctx, id, p).await,
        ("keys", Method::PUT) => keys_chunk(st, ctx, id, p, body).await,
        ("keys", Method::DELETE) => require_replication(ctx)
            .map(|_| crate::server::http::ok_with(StatusCode::ACCEPTED, json!({"id": id}))),
        ("keys", _) => Err(method_not_allowed(method, command)),
        ("revisions", _) => Err(revisions_unsupported()),
        _ => return None,
    })
}

async fn first_tick(st: &Shared) -> ApiResult {
    let s = st.clone();
    let first = blocking(move || s.store.first_tick()).await?;
    Ok(json(
        StatusCode::OK,
        &to_json(&FirstTick {
            first_tick: first.map(Tick),
        }),
    ))
}

async fn tick_ranges(st: &Shared) -> ApiResult {
    let s = st.clone();
    let first = blocking(move || s.store.first_tick()).await?;
    let last = st.store.last_tick();
    let range = TickRange {
        datafile: "/replication-log".into(),
        status: "open".into(),
        tick_min: Tick(first.unwrap_or(last)),
        tick_max: Tick(last),
    };
    Ok(json(StatusCode::OK, &to_json(&vec![range])))
}

/// `GET logger-last?tickStart=&tickEnd=`: the markers of the database in `[tickStart, tickEnd]`, as a
/// JSON array (at most 100,000).
/// A marker in the legacy form of `logger-follow` / `logger-last`: the database by id, the collection as
/// `cid` and `cname` (resolved in the current catalog; the `cuid` stays where no collection matches).
fn legacy_marker(m: Value, cat: &crate::store::Catalog) -> Value {
    let Value::Object(mut m) = m else {
        return m;
    };
    let mut out = serde_json::Map::new();
    for k in ["tick", "type"] {
        if let Some(v) = m.remove(k) {
            out.insert(k.into(), v);
        }
    }
    let db = m.remove("db").and_then(|v| v.as_str().map(str::to_string));
    if let Some(db) = &db {
        let id = cat.database(db).map(|d| d.id.to_string()).ok();
        out.insert("database".into(), json!(id.unwrap_or_else(|| db.clone())));
    }
    if let Some(v) = m.remove("tid") {
        out.insert("tid".into(), v);
    }
    let is_document = matches!(out.get("type").and_then(Value::as_u64), Some(2300 | 2302));
    if let Some(cuid) = m.remove("cuid") {
        let found = db
            .as_deref()
            .zip(cuid.as_str())
            .and_then(|(db, g)| cat.collection(db, g).ok());
        match found {
            Some(c) => {
                if !is_document {
                    out.insert("cuid".into(), cuid);
                }
                out.insert("cid".into(), json!(c.id.to_string()));
                if is_document {
                    out.insert("cname".into(), json!(c.name));
                }
            }
            None => {
                out.insert("cuid".into(), cuid);
            }
        }
    }
    out.extend(m);
    Value::Object(out)
}

/// `GET /_api/replication/logger-last?tickStart=&tickEnd=`: the markers with `tickStart < tick <=
/// tickEnd` in the legacy marker form, as a JSON array.
async fn logger_last(st: &Shared, ctx: &Ctx, p: &Params) -> ApiResult {
    require_replication(ctx)?;
    let start = p.u64("tickStart")?.unwrap_or(0);
    let end = p.u64("tickEnd")?.unwrap_or(u64::MAX);
    if start > end {
        return Err(bad("invalid tickStart/tickEnd values"));
    }
    let (s, db) = (st.clone(), ctx.db.clone());
    let chunk = blocking(move || {
        s.store.read_log(
            &LogQuery::after(start)
                .until(end)
                .in_database(&db)
                .budget(100_000, usize::MAX),
        )
    })
    .await?;
    let cat = st.store.catalog();
    let mut out = Vec::with_capacity(chunk.records.len());
    for r in &chunk.records {
        let m: Value = serde_json::from_slice(&r.json)
            .map_err(|e| ApiError(ArangoError::internal(format!("stored marker: {e}"))))?;
        out.push(legacy_marker(m, &cat));
    }
    Ok(json(StatusCode::OK, &Value::Array(out)))
}

async fn create_batch(st: &Shared, ctx: &Ctx, p: &Params, body: &Bytes) -> ApiResult {
    require_replication(ctx)?;
    let ttl = ttl_of(body)?.unwrap_or(DEFAULT_TTL);
    let s = st.clone();
    let batch = blocking(move || s.leader.create_batch(&s.store, ttl).map_err(|e| e.0)).await?;
    track(st, ctx, p, batch.tick);
    let resp = BatchCreated {
        id: batch.id.to_string(),
        last_tick: Tick(batch.tick),
        state: p
            .bool("state", false)
            .then(|| logger_state(st, &ctx.db))
            .map(|mut s| {
                s.state = LoggerStateState::at(batch.tick.max(st.store.last_tick()));
                s
            }),
    };
    Ok(json(StatusCode::OK, &to_json(&resp)))
}

fn parse_id(id: &str) -> Result<u64, ApiError> {
    id.parse()
        .map_err(|_| batch_not_found(&format!("batch '{id}' not found")))
}

fn extend_batch(st: &Shared, ctx: &Ctx, id: &str, p: &Params, body: &Bytes) -> ApiResult {
    require_replication(ctx)?;
    let ttl = ttl_of(body)?;
    let id = parse_id(id)?;
    if !st.leader.extend_batch(&st.store, id, ttl) {
        return Err(batch_not_found("batch not found (it may have expired)"));
    }
    if let Some(b) = st.leader.batch(&st.store, id) {
        track(st, ctx, p, b.tick);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn end_batch(st: &Shared, ctx: &Ctx, id: &str) -> ApiResult {
    require_replication(ctx)?;
    if st.leader.end_batch(&st.store, parse_id(id)?) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(batch_not_found("batch not found (it may have expired)"))
    }
}

/// The batch named by `batchId` (404/1600 when missing or unknown).
fn need_batch(st: &Shared, p: &Params) -> Result<Arc<Batch>, ApiError> {
    let id = batch_id(p)?.ok_or_else(|| batch_not_found("batchId not specified"))?;
    st.leader
        .batch(&st.store, id)
        .ok_or_else(|| batch_not_found("context was not found"))
}

/// The collections and views of `db` as of a snapshot.
pub fn database_inventory(
    snap: &Snapshot,
    db: &str,
    include_system: bool,
    include_foxx_queues: bool,
    only: Option<&str>,
) -> crate::error::ArangoResult<DatabaseInventory> {
    let cat = snap.catalog();
    let props = cat.database(db)?.properties_json();
    let mut collections = Vec::new();
    for c in cat.collections_of(db)? {
        if excluded(&c.name, include_system, include_foxx_queues) {
            continue;
        }
        if only.is_some_and(|o| o != c.name && o != c.guid && o != c.id.to_string()) {
            continue;
        }
        let stats = snap.stats(c.id)?;
        collections.push(InventoryCollection {
            indexes: c.indexes.iter().map(|i| i.to_inventory_json()).collect(),
            parameters: c.properties_json(stats.last_value),
        });
    }
    Ok(DatabaseInventory {
        properties: Some(props),
        collections,
        views: Vec::new(),
    })
}

async fn inventory(st: &Shared, ctx: &Ctx, p: &Params) -> ApiResult {
    require_replication(ctx)?;
    let global = p.bool("global", false);
    if global && ctx.db != crate::store::names::SYSTEM_DATABASE {
        return Err(ApiError(ArangoError::with_message(
            codes::FORBIDDEN,
            "global inventory can only be created from within _system database",
        )));
    }
    let batch = need_batch(st, p)?;
    let include_system = p.bool("includeSystem", true);
    let foxx = p.bool("includeFoxxQueues", false);
    let only = p
        .str("collection")
        .filter(|c| !c.is_empty())
        .map(String::from);
    let db = ctx.db.clone();
    let tick = st.store.last_tick();
    let value = blocking(move || {
        let snap = &batch.snapshot;
        let state = to_json(&LoggerStateState::at(batch.tick));
        if global {
            let mut dbs = serde_json::Map::new();
            for name in snap.catalog().database_names() {
                let inv = database_inventory(snap, &name, include_system, foxx, None)?;
                // each database as ArangoDB lists it: its id and name first
                let id = snap.catalog().database(&name)?.id.to_string();
                let mut entry = serde_json::Map::new();
                entry.insert("id".into(), json!(id));
                entry.insert("name".into(), json!(name));
                if let Value::Object(m) = to_json(&inv) {
                    entry.extend(m);
                }
                dbs.insert(name, Value::Object(entry));
            }
            Ok(json!({"databases": dbs, "state": state, "tick": Tick(tick)}))
        } else {
            let inv = database_inventory(snap, &db, include_system, foxx, only.as_deref())?;
            let mut v = to_json(&inv);
            v["state"] = state;
            v["tick"] = to_json(&Tick(tick));
            Ok(v)
        }
    })
    .await?;
    Ok(json(StatusCode::OK, &value))
}

/// Resolves the `collection` parameter of dump/keys in the batch's snapshot.
fn snapshot_collection(
    batch: &Batch,
    db: &str,
    ident: &str,
) -> Result<crate::store::CollectionDef, ApiError> {
    batch
        .snapshot
        .catalog()
        .collection(db, ident)
        .cloned()
        .map_err(ApiError)
}

fn need_collection_param(p: &Params) -> Result<String, ApiError> {
    match p.str("collection") {
        Some(c) if !c.is_empty() => Ok(c.to_string()),
        _ => Err(bad("invalid collection parameter")),
    }
}

async fn dump(st: &Shared, ctx: &Ctx, p: &Params) -> ApiResult {
    require_replication(ctx)?;
    let coll = need_collection_param(p)?;
    let id = batch_id(p)?.ok_or_else(|| {
        ApiError(
            ArangoError::with_message(
                codes::HTTP_BAD_PARAMETER,
                "replication dump - request misses batchId",
            )
            .with_status(404),
        )
    })?;
    let batch = st.leader.batch(&st.store, id).ok_or_else(|| {
        ApiError(
            ArangoError::with_message(
                codes::HTTP_BAD_PARAMETER,
                "replication dump - unable to find context (it could be expired)",
            )
            .with_status(404),
        )
    })?;
    let def = snapshot_collection(&batch, &ctx.db, &coll)?;
    let chunk_size = p.u64("chunkSize")?.map_or(DUMP_DEFAULT_CHUNK, |c| {
        (c as usize).clamp(1, DUMP_MAX_CHUNK)
    });
    let envelope = p.bool("useEnvelope", true);
    let (body, more, counter) = blocking(move || {
        let mut dumps = lock(&batch.dumps);
        let cursor = dumps.entry(def.id).or_default();
        if cursor.chunk == 0 {
            cursor.chunk = 1;
        }
        let render = DocRenderer::new(&def.name);
        let mut body = Vec::with_capacity(chunk_size.min(DUMP_MAX_CHUNK) + 4096);
        let mut last: Option<String> = None;
        let mut more = false;
        let mut err = None;
        let mut visit = |key: &str, raw: &[u8]| {
            if body.len() >= chunk_size {
                more = true;
                return false;
            }
            match render.render(raw) {
                Ok(doc) => {
                    if envelope {
                        body.extend_from_slice(br#"{"type":2300,"data":"#);
                        body.extend_from_slice(&doc);
                        body.extend_from_slice(b"}\n");
                    } else {
                        body.extend_from_slice(&doc);
                        body.push(b'\n');
                    }
                    last = Some(key.to_string());
                    true
                }
                Err(e) => {
                    err = Some(e);
                    false
                }
            }
        };
        let after = cursor.after.as_deref().unwrap_or("");
        batch
            .snapshot
            .for_each_raw_from(def.id, after, false, &mut visit)?;
        if let Some(e) = err {
            return Err(e);
        }
        if body.is_empty() {
            dumps.remove(&def.id);
            return Ok((body, false, 0));
        }
        let counter = if more {
            cursor.chunk += 1;
            cursor.after = last;
            cursor.chunk
        } else {
            let c = cursor.chunk;
            dumps.remove(&def.id);
            c
        };
        Ok((body, more, counter))
    })
    .await?;
    Ok(dump_response(
        body,
        &[
            (wire::header::CHECK_MORE, more.to_string()),
            (wire::header::LAST_INCLUDED, counter.to_string()),
        ],
    ))
}

async fn create_keys(st: &Shared, ctx: &Ctx, p: &Params) -> ApiResult {
    require_replication(ctx)?;
    let coll = need_collection_param(p)?;
    let batch = need_batch(st, p)?;
    let def = snapshot_collection(&batch, &ctx.db, &coll)?;
    let quick = p.bool("quick", false);
    let b = batch.clone();
    let (count, fingerprint) = blocking(move || {
        Ok((
            b.snapshot.stats(def.id)?.count,
            b.snapshot.fingerprint(def.id)?,
        ))
    })
    .await?;
    let resp = if quick && count > QUICK_KEYS_LIMIT {
        KeysCreated {
            id: None,
            count,
            tick: None,
            fingerprint: None,
        }
    } else {
        KeysCreated {
            id: Some(format!("{}-{}", batch.id, def.id)),
            count,
            tick: Some(Tick(batch.tick)),
            fingerprint: fingerprint
                .filter(|_| st.offer_fingerprints)
                .map(|f| f.to_string()),
        }
    };
    Ok(json(StatusCode::OK, &to_json(&resp)))
}

/// Resolves `<batchId>-<cid>`.
fn keys_context(
    st: &Shared,
    ctx: &Ctx,
    id: &str,
) -> Result<(Arc<Batch>, crate::store::CollectionDef), ApiError> {
    let (b, c) = id
        .split_once('-')
        .and_then(|(b, c)| Some((b.parse::<u64>().ok()?, c.parse::<u64>().ok()?)))
        .ok_or_else(|| {
            bad(format!(
                "invalid keys id '{id}': expecting <batchId>-<collectionId>"
            ))
        })?;
    let batch = st
        .leader
        .batch(&st.store, b)
        .ok_or_else(|| batch_not_found("context was not found"))?;
    let def = snapshot_collection(&batch, &ctx.db, &c.to_string())?;
    Ok((batch, def))
}

fn keys_chunk_size(p: &Params) -> Result<usize, ApiError> {
    Ok(match p.u64("chunkSize")? {
        None => KEYS_DEFAULT_CHUNK,
        Some(c) if c < 100 => KEYS_DEFAULT_CHUNK,
        Some(c) => (c as usize).min(KEYS_MAX_CHUNK),
    })
}

fn rev_of(key: &str, raw: &[u8]) -> crate::error::ArangoResult<String> {
    stored_rev(raw)
        .map(String::from)
        .ok_or_else(|| ArangoError::internal(format!("stored document '{key}' has no _rev")))
}

/// `GET keys/<id>?chunkSize=`: ranges of `chunkSize` keys with their hashes.
async fn key_ranges(st: &Shared, ctx: &Ctx, id: &str, p: &Params) -> ApiResult {
    require_replication(ctx)?;
    let (batch, def) = keys_context(st, ctx, id)?;
    let size = keys_chunk_size(p)?;
    let ranges = blocking(move || {
        let mut ranges = RangeBuilder::new(size);
        batch.snapshot.for_each_key_rev(def.id, "", true, |k, r| {
            ranges.add(k, r);
            true
        })?;
        Ok(ranges.finish())
    })
    .await?;
    Ok(json(StatusCode::OK, &to_json(&ranges)))
}

/// `PUT keys/<id>?type=keys|docs&chunk=&chunkSize=&low=[&offset=]`.
async fn keys_chunk(st: &Shared, ctx: &Ctx, id: &str, p: &Params, body: &Bytes) -> ApiResult {
    require_replication(ctx)?;
    let docs = match p.str("type") {
        Some("keys") => false,
        Some("docs") => true,
        _ => return Err(bad("invalid 'type' value")),
    };
    let (batch, def) = keys_context(st, ctx, id)?;
    let size = keys_chunk_size(p)?;
    let chunk = p.u64("chunk")?.unwrap_or(0) as usize;
    let low = p.str("low").filter(|l| !l.is_empty()).map(String::from);
    let offset = p.u64("offset")?;
    let positions: Vec<usize> = if docs {
        match crate::server::http::body_json(body)? {
            Value::Array(a) => a
                .iter()
                .map(|v| v.as_u64().map(|n| n as usize))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("invalid body: expecting an array of positions"))?,
            _ => return Err(bad("invalid body: expecting an array of positions")),
        }
    } else {
        Vec::new()
    };
    let body = blocking(move || {
        let render = DocRenderer::new(&def.name);
        let mut out = b"[".to_vec();
        let mut first = true;
        let mut sep = |out: &mut Vec<u8>| {
            if !first {
                out.push(b',');
            }
            first = false;
        };
        let mut skip = if low.is_some() {
            0
        } else {
            chunk.saturating_mul(size)
        };
        let mut pos = 0usize; // position within the chunk
        let mut want = positions.iter().copied().peekable();
        let mut emitted = 0usize;
        let mut err = None;
        let mut visit = |key: &str, raw: &[u8]| {
            if skip > 0 {
                skip -= 1;
                return true;
            }
            if pos >= size {
                return false;
            }
            let here = pos;
            pos += 1;
            if !docs {
                match rev_of(key, raw) {
                    Ok(rev) => {
                        sep(&mut out);
                        let _ = serde_json::to_writer(&mut out, &(key, rev));
                    }
                    Err(e) => {
                        err = Some(e);
                        return false;
                    }
                }
                return true;
            }
            while want.peek().is_some_and(|w| *w < here) {
                want.next();
            }
            if want.peek() != Some(&here) {
                return want.peek().is_some();
            }
            want.next();
            sep(&mut out);
            if offset.is_some_and(|o| (emitted as u64) < o) {
                out.extend_from_slice(b"null");
            } else {
                match render.render(raw) {
                    Ok(d) => out.extend_from_slice(&d),
                    Err(e) => {
                        err = Some(e);
                        return false;
                    }
                }
            }
            emitted += 1;
            // paged answers stop after about 8 MiB; the follower asks again with a larger offset
            !(offset.is_some() && out.len() >= DOCS_RESPONSE_LIMIT)
        };
        let low = low.as_deref().unwrap_or("");
        batch
            .snapshot
            .for_each_raw_from(def.id, low, true, &mut visit)?;
        if let Some(e) = err {
            return Err(e);
        }
        out.push(b']');
        Ok(out)
    })
    .await?;
    Ok(crate::server::http::raw_json(StatusCode::OK, body))
}
