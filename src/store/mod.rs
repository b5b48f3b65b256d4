//! The durable embedded store (redb): databases, collections, documents, indexes, stream transactions and
//! the replication log, where every committed change is a marker with a tick, written in the same redb
//! transaction as the change itself.
//!
//! Writes go through one writer thread that groups concurrent writes into one commit ([`writer`]); reads
//! use redb snapshots and never wait for writers. Nothing here does network I/O; async callers use
//! `spawn_blocking` (or the async waits offered here).

pub mod catalog;
pub mod clock;
mod ddl;
pub mod docs;
pub mod index;
mod journal;
pub mod keygen;
pub mod log;
pub mod names;
mod snapshot;
mod tables;
mod txn;
mod writer;

pub use catalog::{
    Catalog, CollectionDef, CollectionOptions, CollectionType, DatabaseDef, IndexDef, KeyGenerator,
    KeyOptions, PropertiesChange,
};
pub use docs::{
    CollStats, DocRenderer, DocResult, OverwriteMode, RawReplica, ReplicaOutcome, UniqueValues,
    WriteOptions, check_stored_layout, fingerprint_of, stored_rev, unique_values,
};
pub use log::{LogChunk, LogQuery, LogRecord, MarkerFilter, RawRecord, marker};
pub use snapshot::Snapshot;
pub(crate) use txn::StreamTrx;
pub use txn::{TrxCollections, TrxOptions, TrxStatus};

use crate::error::{ArangoError, ArangoResult, codes};
use catalog::{unknown_collection, unknown_database};
pub use ddl::Change;
use ddl::*;
use redb::{ReadableDatabase, ReadableTable};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tables::*;
use writer::{Job, WriteCtx, make_job};

/// Maps a storage-engine failure to an internal error that says what failed.
pub(crate) fn storage(e: impl std::fmt::Display) -> ArangoError {
    ArangoError::internal(format!("storage error: {e}"))
}

/// Store settings. Defaults are documented in the README.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Make every commit durable before acknowledging it (default false: only `waitForSync` writes and
    /// collections with `waitForSync` are synced at once; the rest within `sync_interval`).
    pub sync_every_commit: bool,
    /// Longest time a non-`waitForSync` write stays volatile (default 100 ms).
    pub sync_interval: Duration,
    /// Markers older than this may be pruned (default 24 h).
    pub log_max_age: Duration,
    /// The log is pruned from its start while it is bigger than this (default 1 GiB).
    pub log_max_bytes: u64,
    /// How often retention runs (default 1 s).
    pub prune_interval: Duration,
    /// redb page cache size (default 48 MiB).
    pub cache_bytes: usize,
    /// Idle time after which an unfinished stream transaction is aborted (default 60 s).
    pub trx_idle_timeout: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            sync_every_commit: false,
            sync_interval: Duration::from_millis(100),
            log_max_age: Duration::from_secs(24 * 3600),
            log_max_bytes: 1 << 30,
            prune_interval: Duration::from_secs(1),
            cache_bytes: 48 << 20,
            trx_idle_timeout: Duration::from_secs(60),
        }
    }
}

/// A hold on the log: markers after `tick` are kept while the hold lives.
#[derive(Debug, Clone, Copy)]
struct Hold {
    tick: u64,
    expires: Instant,
}

/// State shared by the store handle and the writer thread.
pub(crate) struct Shared {
    pub db: redb::Database,
    pub catalog: RwLock<Arc<Catalog>>,
    pub clock: clock::Clock,
    pub next_id: AtomicU64,
    pub server_id: u64,
    pub guid_prefix: String,
    pub committed: tokio::sync::watch::Sender<u64>,
    pub log_floor: AtomicU64,
    /// The replication log's size in bytes as of the last commit.
    pub log_bytes: AtomicU64,
    holds: Mutex<HashMap<u64, Hold>>,
    pub config: StoreConfig,
    /// The store's history gaps (see [`tables::GAPS`]), oldest first.
    gaps: Vec<(u64, u64)>,
    /// Where the writer records its commits (no-ops until a server attaches its registry).
    pub metrics: std::sync::OnceLock<crate::metrics::Store>,
}

impl Shared {
    /// The highest tick retention may prune: below every live hold.
    pub fn prune_limit(&self, last_tick: u64) -> u64 {
        let mut holds = self.holds.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        holds.retain(|_, h| h.expires > now);
        holds
            .values()
            .map(|h| h.tick)
            .min()
            .unwrap_or(last_tick)
            .min(last_tick)
    }

    pub fn set_log_floor(&self, floor: u64) {
        self.log_floor.fetch_max(floor, Ordering::AcqRel);
    }

    fn new_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::AcqRel)
    }
}

struct Inner {
    shared: Arc<Shared>,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    trx: txn::Registry,
    path: PathBuf,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
    }
}

/// A handle to an open store; clones share it. The store closes (with a final durable commit) when the
/// last handle is dropped.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// The data file inside a store directory.
pub const DATA_FILE: &str = "arangorepl.redb";

impl Store {
    /// Opens (or creates) the store in directory `dir`.
    pub fn open(dir: impl AsRef<Path>, config: StoreConfig) -> ArangoResult<Store> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| {
            ArangoError::internal(format!(
                "cannot create database directory '{}': {e}",
                dir.display()
            ))
        })?;
        let path = dir.join(DATA_FILE);
        let db = redb::Database::builder()
            .set_cache_size(config.cache_bytes)
            .create(&path)
            .map_err(|e| {
                ArangoError::internal(format!("cannot open store '{}': {e}", path.display()))
            })?;
        // The store holds password hashes (`_users`): readable by its owner only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        }
        // writes acknowledged without fsync before a crash: back from the journal
        let replayed = journal::replay(dir, &db)?;
        if replayed > 0 {
            tracing::info!("store: replayed {replayed} write groups from the journal");
        }
        let journal = journal::Journal::open(dir)?;
        let (catalog, meta, log_bytes, last_tick) = Self::load_or_init(&db)?;
        let floor = meta.get(META_LOG_FLOOR).copied().unwrap_or(0);
        let server_id = meta.get(META_SERVER_ID).copied().unwrap_or(1);
        let journal_seq = meta.get(META_JOURNAL_SEQ).copied().unwrap_or(0);
        let guid_prefix = format!(
            "h{:012X}",
            meta.get(META_GUID_PREFIX).copied().unwrap_or(0) & 0xFFFF_FFFF_FFFF
        );
        let clock =
            clock::Clock::starting_after(meta.get(META_CLOCK).copied().unwrap_or(0).max(last_tick));
        let gaps = Self::record_gap(&db, last_tick, clock.next())?;
        let (committed, _) = tokio::sync::watch::channel(last_tick);
        let shared = Arc::new(Shared {
            db,
            catalog: RwLock::new(Arc::new(catalog)),
            clock,
            next_id: AtomicU64::new(meta.get(META_NEXT_ID).copied().unwrap_or(100)),
            server_id,
            guid_prefix,
            committed,
            log_floor: AtomicU64::new(floor),
            metrics: std::sync::OnceLock::new(),
            log_bytes: AtomicU64::new(log_bytes),
            holds: Mutex::new(HashMap::new()),
            config,
            gaps,
        });
        let (tx, rx) = mpsc::channel();
        let wshared = shared.clone();
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer::run(wshared, rx, log_bytes, last_tick, journal, journal_seq))
            .map_err(|e| ArangoError::internal(format!("cannot start the store writer: {e}")))?;
        Ok(Store {
            inner: Arc::new(Inner {
                shared,
                jobs: Mutex::new(Some(tx)),
                writer: Mutex::new(Some(handle)),
                trx: txn::Registry::default(),
                path,
            }),
        })
    }

    /// Stores this start's history gap — the ticks after the last one the store has (`last`) and before
    /// the first it hands out now (`first`) — and returns all of them. A new store has none.
    fn record_gap(db: &redb::Database, last: u64, first: u64) -> ArangoResult<Vec<(u64, u64)>> {
        let txn = db.begin_write().map_err(storage)?;
        let mut out = Vec::new();
        {
            let mut t = txn.open_table(GAPS).map_err(storage)?;
            if last > 0 && first > last + 1 {
                t.insert(last, first).map_err(storage)?;
            }
            for item in t.iter().map_err(storage)? {
                let (k, v) = item.map_err(storage)?;
                out.push((k.value(), v.value()));
            }
        }
        txn.commit().map_err(storage)?;
        Ok(out)
    }

    /// Reads the catalog and meta values, creating a fresh store (with `_system`) if the file is new.
    #[allow(clippy::type_complexity)]
    fn load_or_init(
        db: &redb::Database,
    ) -> ArangoResult<(Catalog, HashMap<String, u64>, u64, u64)> {
        let txn = db.begin_write().map_err(storage)?;
        let mut meta_vals = HashMap::new();
        let mut catalog = Catalog::default();
        let (log_bytes, last_tick);
        {
            let mut meta = txn.open_table(META).map_err(storage)?;
            if meta.get(META_FORMAT).map_err(storage)?.is_none() {
                let start = clock::physical(clock::now_ms());
                meta.insert(META_FORMAT, FORMAT_VERSION).map_err(storage)?;
                // ArangoDB server ids are 48-bit-ish decimal numbers; never 0.
                meta.insert(
                    META_SERVER_ID,
                    (keygen::random_u64() & 0xFFFF_FFFF_FFFF).max(1),
                )
                .map_err(storage)?;
                meta.insert(META_GUID_PREFIX, keygen::random_u64())
                    .map_err(storage)?;
                meta.insert(META_CLOCK, start).map_err(storage)?;
                meta.insert(META_NEXT_ID, 100).map_err(storage)?;
                meta.insert(META_LOG_FLOOR, start).map_err(storage)?;
                meta.insert(META_LOG_BYTES, 0).map_err(storage)?;
                let sys = DatabaseDef {
                    id: 1,
                    name: names::SYSTEM_DATABASE.into(),
                };
                let mut dbs = txn.open_table(DATABASES).map_err(storage)?;
                let bytes =
                    serde_json::to_vec(&sys).map_err(|e| ArangoError::internal(e.to_string()))?;
                dbs.insert(sys.name.as_str(), bytes.as_slice())
                    .map_err(storage)?;
            }
            let format = meta
                .get(META_FORMAT)
                .map_err(storage)?
                .map(|g| g.value())
                .unwrap_or(0);
            if format != FORMAT_VERSION {
                return Err(ArangoError::internal(format!(
                    "store format {format} is not supported by this build (expected {FORMAT_VERSION})"
                )));
            }
            for item in meta.iter().map_err(storage)? {
                let (k, v) = item.map_err(storage)?;
                meta_vals.insert(k.value().to_string(), v.value());
            }
            {
                let t = COLLECTIONS;
                txn.open_table(t).map_err(storage)?;
            }
            txn.open_table(DOCS).map_err(storage)?;
            txn.open_table(UNIQUE).map_err(storage)?;
            txn.open_table(INDEX).map_err(storage)?;
            let dbs = txn.open_table(DATABASES).map_err(storage)?;
            for item in dbs.iter().map_err(storage)? {
                let (_, v) = item.map_err(storage)?;
                let def: DatabaseDef = serde_json::from_slice(v.value())
                    .map_err(|e| ArangoError::internal(format!("corrupt database entry: {e}")))?;
                catalog.add_database(def);
            }
            let colls = txn.open_table(COLLECTIONS).map_err(storage)?;
            for item in colls.iter().map_err(storage)? {
                let (_, v) = item.map_err(storage)?;
                let def: CollectionDef = serde_json::from_slice(v.value())
                    .map_err(|e| ArangoError::internal(format!("corrupt collection entry: {e}")))?;
                catalog.add_collection(def);
            }
            // counters written before fingerprints existed get one now
            {
                let mut docs_t = txn.open_table(DOCS).map_err(storage)?;
                for cid in catalog.collections.keys().copied().collect::<Vec<_>>() {
                    let stats = docs_t
                        .get(stats_key(cid).as_slice())
                        .map_err(storage)?
                        .map(|g| g.value().to_vec());
                    let Some(stats) = stats.filter(|s| decode_fingerprint(s).is_none()) else {
                        continue;
                    };
                    let mut fp = 0u64;
                    let r = coll_range(cid);
                    for item in docs_t
                        .range(r.start.as_slice()..r.end.as_slice())
                        .map_err(storage)?
                    {
                        let (k, v) = item.map_err(storage)?;
                        fp ^= docs::stored_fingerprint(key_of(k.value()), v.value()).unwrap_or(0);
                    }
                    let (count, last) = decode_stats(&stats);
                    docs_t
                        .insert(
                            stats_key(cid).as_slice(),
                            encode_stats_with(count, last, Some(fp)).as_slice(),
                        )
                        .map_err(storage)?;
                }
            }
            // stores made before secondary indexes were kept get their entries now
            if !meta_vals.contains_key(META_SECONDARY) {
                let docs_t = txn.open_table(DOCS).map_err(storage)?;
                let mut index_t = txn.open_table(INDEX).map_err(storage)?;
                for def in catalog.collections.values() {
                    for idx in index::secondary_indexes(def) {
                        let wanted = docs::top_level_fields(&idx.fields);
                        let r = coll_range(def.id);
                        for item in docs_t
                            .range(r.start.as_slice()..r.end.as_slice())
                            .map_err(storage)?
                        {
                            let (k, v) = item.map_err(storage)?;
                            let key = key_of(k.value());
                            if let Some(entry) =
                                index::secondary_entry(def.id, &idx, &wanted, key, v.value())?
                            {
                                index_t
                                    .insert(entry.as_slice(), key.as_bytes())
                                    .map_err(storage)?;
                            }
                        }
                    }
                }
                meta.insert(META_SECONDARY, 1).map_err(storage)?;
                meta_vals.insert(META_SECONDARY.to_string(), 1);
            }
            let log = txn.open_table(LOG).map_err(storage)?;
            let floor = meta_vals.get(META_LOG_FLOOR).copied().unwrap_or(0);
            last_tick = snapshot::last_tick_of(&log)?.unwrap_or(0).max(floor);
            log_bytes = meta_vals.get(META_LOG_BYTES).copied().unwrap_or(0);
        }
        txn.commit().map_err(storage)?;
        Ok((catalog, meta_vals, log_bytes, last_tick))
    }

    /// The data file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// This server's id (stable for the life of the store).
    pub fn server_id(&self) -> u64 {
        self.inner.shared.server_id
    }

    /// The current catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.shared()
            .catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Records the writer's commits into `m` from now on (once; later calls change nothing).
    pub fn attach_metrics(&self, m: crate::metrics::Store) {
        let _ = self.shared().metrics.set(m);
    }

    /// The replication log's size in bytes (what retention counts).
    pub fn log_bytes(&self) -> u64 {
        self.shared().log_bytes.load(Ordering::Relaxed)
    }

    /// Live log holds (batches and followers keeping markers from being pruned).
    pub fn hold_count(&self) -> usize {
        let now = Instant::now();
        self.shared()
            .holds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|h| h.expires > now)
            .count()
    }

    /// A fresh value from the server's clock (for ids of batches and the like).
    pub fn new_tick_value(&self) -> u64 {
        self.shared().clock.next()
    }

    /// Runs `f` in the writer and waits for the commit.
    fn submit<T: Send + 'static>(
        &self,
        sync: bool,
        exclusive: bool,
        f: impl for<'a> FnOnce(&mut WriteCtx<'a>) -> ArangoResult<T> + Send + 'static,
    ) -> ArangoResult<T> {
        self.enqueue(sync, exclusive, false, true, f).wait()
    }

    /// Hands `f` to the writer; the answer arrives after the commit, on a channel made for blocking
    /// (`blocking`) or for async callers.
    fn enqueue<T: Send + 'static>(
        &self,
        sync: bool,
        exclusive: bool,
        relaxed: bool,
        blocking: bool,
        f: impl for<'a> FnOnce(&mut WriteCtx<'a>) -> ArangoResult<T> + Send + 'static,
    ) -> Pending<T> {
        let (mut job, waiter) = if blocking {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let job = make_job(f, sync, exclusive, move |res| {
                let _ = tx.send(res);
            });
            (job, Waiter::Blocking(rx))
        } else {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let job = make_job(f, sync, exclusive, move |res| {
                let _ = tx.send(res);
            });
            (job, Waiter::Async(rx))
        };
        job.relaxed = relaxed;
        let sender = self
            .inner
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(sender) = sender else {
            return Pending::Ready(Err(ArangoError::new(codes::SHUTTING_DOWN)));
        };
        if sender.send(job).is_err() {
            return Pending::Ready(Err(ArangoError::internal("the store's writer has stopped")));
        }
        Pending::Wait(waiter)
    }

    // ----- databases -------------------------------------------------------------------------------

    /// Creates a database (marker 1100).
    pub fn create_database(&self, name: &str) -> ArangoResult<DatabaseDef> {
        names::validate_database_name(name)?;
        let name = name.to_string();
        self.submit(true, true, move |ctx| {
            if ctx.catalog.database(&name).is_ok() {
                return Err(ArangoError::with_message(
                    codes::ARANGO_DUPLICATE_NAME,
                    format!("duplicate database name '{name}'"),
                ));
            }
            let def = DatabaseDef {
                id: ctx.shared.new_id(),
                name: name.clone(),
            };
            ctx.save_database(&def)?;
            let data = serde_json::to_vec(&serde_json::json!({
                "database": def.id, "id": def.id.to_string(), "name": def.name
            }))
            .map_err(|e| ArangoError::internal(e.to_string()))?;
            ctx.append(marker::DATABASE_CREATE, 0, &name, "", Some(&data))?;
            Ok(def)
        })
    }

    /// Drops a database with all its data (marker 1101). `_system` cannot be dropped.
    pub fn drop_database(&self, name: &str) -> ArangoResult<()> {
        if name == names::SYSTEM_DATABASE {
            return Err(ArangoError::with_message(
                codes::FORBIDDEN,
                "the _system database cannot be dropped",
            ));
        }
        let name = name.to_string();
        self.submit(true, true, move |ctx| {
            ctx.catalog.database(&name)?;
            ctx.erase_database(&name)?;
            ctx.put_applier(&name, None)?;
            ctx.append(marker::DATABASE_DROP, 0, &name, "", None)?;
            Ok(())
        })
    }

    /// Database names, sorted.
    pub fn databases(&self) -> Vec<String> {
        self.catalog()
            .databases
            .iter()
            .filter(|(_, d)| d.def.is_some())
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The database definition or 1228.
    pub fn database(&self, name: &str) -> ArangoResult<DatabaseDef> {
        self.catalog().database(name).cloned()
    }

    // ----- collections -----------------------------------------------------------------------------

    /// Creates a collection (marker 2000). Keeps a wanted id/`globallyUniqueId` when they are free.
    pub fn create_collection(
        &self,
        db: &str,
        opts: CollectionOptions,
    ) -> ArangoResult<CollectionDef> {
        names::validate_collection_name(&opts.name)?;
        let db = db.to_string();
        let sync = opts.wait_for_sync;
        self.submit(sync, true, move |ctx| ddl_create_collection(ctx, &db, opts))
    }

    /// Drops a collection (marker 2001). System collections need `allow_system`.
    pub fn drop_collection(&self, db: &str, name: &str, allow_system: bool) -> ArangoResult<()> {
        let (db, name) = (db.to_string(), name.to_string());
        self.submit(true, true, move |ctx| {
            ddl_drop_collection(ctx, &db, &name, allow_system)
        })
    }

    /// Renames a collection (marker 2002).
    pub fn rename_collection(
        &self,
        db: &str,
        name: &str,
        new_name: &str,
    ) -> ArangoResult<CollectionDef> {
        names::validate_collection_name(new_name)?;
        let (db, name, new_name) = (db.to_string(), name.to_string(), new_name.to_string());
        self.submit(true, true, move |ctx| {
            ddl_rename_collection(ctx, &db, &name, &new_name)
        })
    }

    /// Changes collection properties (marker 2003 with the full new definition).
    pub fn change_collection(
        &self,
        db: &str,
        name: &str,
        change: PropertiesChange,
    ) -> ArangoResult<CollectionDef> {
        let (db, name) = (db.to_string(), name.to_string());
        self.submit(true, true, move |ctx| {
            ddl_change_collection(ctx, &db, &name, change)
        })
    }

    /// Removes all documents of a collection (marker 2004); indexes and the key generator stay.
    pub fn truncate_collection(&self, db: &str, name: &str) -> ArangoResult<()> {
        let (db, name) = (db.to_string(), name.to_string());
        self.submit(true, true, move |ctx| {
            ddl_truncate_collection(ctx, &db, &name)
        })
    }

    /// The collection's definition (resolving name, id or `globallyUniqueId`).
    pub fn collection(&self, db: &str, ident: &str) -> ArangoResult<CollectionDef> {
        self.catalog().collection(db, ident).cloned()
    }

    /// Properties in ArangoDB's shape, with the key generator's current `lastValue`.
    pub fn collection_properties(&self, db: &str, ident: &str) -> ArangoResult<Value> {
        let snap = self.snapshot()?;
        let def = snap.catalog().collection(db, ident)?;
        Ok(def.properties_json(snap.stats(def.id)?.last_value))
    }

    // ----- indexes ---------------------------------------------------------------------------------

    /// Creates an index unless an identical one exists (marker 2100). Returns the index and whether it
    /// was newly created. A unique index over duplicate values fails with 1210 and leaves nothing.
    pub fn ensure_index(
        &self,
        db: &str,
        coll: &str,
        spec: &Value,
    ) -> ArangoResult<(IndexDef, bool)> {
        let (want_id, want_name, idx) = IndexDef::from_json(spec)?;
        let (db, coll) = (db.to_string(), coll.to_string());
        self.submit(true, true, move |ctx| {
            ddl_ensure_index(ctx, &db, &coll, want_id, want_name, idx)
        })
    }

    /// Drops a secondary index (marker 2101). The primary and edge indexes cannot be dropped.
    pub fn drop_index(&self, db: &str, coll: &str, iid: u64) -> ArangoResult<()> {
        let (db, coll) = (db.to_string(), coll.to_string());
        self.submit(true, true, move |ctx| ddl_drop_index(ctx, &db, &coll, iid))
    }

    // ----- documents -------------------------------------------------------------------------------

    fn doc_batch(
        &self,
        db: &str,
        coll: &str,
        items: Vec<Value>,
        opts: &WriteOptions,
        trx: Option<u64>,
        op: DocOp,
    ) -> ArangoResult<Vec<ArangoResult<DocResult>>> {
        self.start_documents(db, coll, items, opts, trx, op, true)
            .wait()
    }

    /// A batch of document writes for async callers: the JSON work runs on the calling thread, the
    /// writer only stores, and the caller awaits the commit without occupying a thread.
    pub async fn write_documents(
        &self,
        db: &str,
        coll: &str,
        items: Vec<Value>,
        opts: &WriteOptions,
        trx: Option<u64>,
        op: DocOp,
    ) -> ArangoResult<Vec<ArangoResult<DocResult>>> {
        self.start_documents(db, coll, items, opts, trx, op, false)
            .wait_async()
            .await
    }

    #[allow(clippy::too_many_arguments)]
    fn start_documents(
        &self,
        db: &str,
        coll: &str,
        mut items: Vec<Value>,
        opts: &WriteOptions,
        trx: Option<u64>,
        op: DocOp,
        blocking: bool,
    ) -> Pending<Vec<ArangoResult<DocResult>>> {
        if let Some(id) = trx {
            return Pending::Ready(self.inner.trx.with(id, db, |t| {
                t.run_ops(coll, items, opts, op, &self.shared().clock)
            }));
        }
        let def = match self.catalog().collection(db, coll) {
            Ok(d) => d.clone(),
            Err(e) => return Pending::Ready(Err(e)),
        };
        let sync = opts.wait_for_sync || def.wait_for_sync;
        let opts = opts.clone();
        let cid = def.id;
        // Plain inserts do their JSON work here, on the caller's thread, not in the writer.
        let prepared: Option<Vec<ArangoResult<docs::PreparedInsert>>> =
            (op == DocOp::Insert && docs::can_prepare(&opts)).then(|| {
                std::mem::take(&mut items)
                    .into_iter()
                    .map(|d| docs::prepare_insert(&def, &self.shared().clock, d, &opts))
                    .collect()
            });
        self.enqueue(sync, false, false, blocking, move |ctx| {
            // The collection may have changed since (an index added, say): the writer's view decides.
            let def = match ctx.catalog.collections.get(&cid) {
                Some(d) if *d == def => def,
                Some(d) => d.clone(),
                None => return Err(unknown_collection(&def.name)),
            };
            let clock = &ctx.shared.clock;
            let mut out = Vec::with_capacity(items.len());
            match prepared {
                Some(prepared) => {
                    for p in prepared {
                        out.push(p.and_then(|p| docs::insert_prepared(ctx, &def, clock, p)));
                    }
                }
                None => {
                    for item in items {
                        out.push(op.apply(ctx, &def, clock, item, &opts));
                    }
                }
            }
            ctx.flush_markers(None)?;
            Ok(out)
        })
    }

    /// Inserts the documents of an array as `feed` parses them: `feed` hands each to the callback it is
    /// given, and the writer stores them in batches while the next are parsed and prepared (on this
    /// thread, which blocks while the writer is behind). Each document gets its own result, as with
    /// [`Store::insert`]; when `feed` fails (the array is not valid JSON), nothing is stored and its error
    /// is returned.
    pub fn insert_streamed(
        &self,
        db: &str,
        coll: &str,
        opts: &WriteOptions,
        feed: impl FnOnce(&mut dyn FnMut(Value)) -> ArangoResult<()>,
    ) -> ArangoResult<Vec<ArangoResult<DocResult>>> {
        let def = self.catalog().collection(db, coll)?.clone();
        if !docs::can_prepare(opts) {
            let mut items = Vec::new();
            feed(&mut |v| items.push(v))?;
            return self.doc_batch(db, coll, items, opts, None, DocOp::Insert);
        }
        const BATCH: usize = 256;
        let sync = opts.wait_for_sync || def.wait_for_sync;
        let cid = def.id;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Feed<ArangoResult<docs::PreparedInsert>>>(2);
        let expected = def.clone();
        // alone in its commit, so that a body found broken half-way leaves nothing behind
        let pending = self.enqueue(sync, true, false, true, move |ctx| {
            let def = match ctx.catalog.collections.get(&cid) {
                Some(d) if *d == expected => expected,
                Some(d) => d.clone(),
                None => return Err(unknown_collection(&expected.name)),
            };
            let clock = &ctx.shared.clock;
            let mut out = Vec::new();
            while let Some(batch) = next_batch(&rx, "the documents to insert")? {
                for p in batch {
                    out.push(p.and_then(|p| docs::insert_prepared(ctx, &def, clock, p)));
                }
            }
            ctx.flush_markers(None)?;
            Ok(out)
        });
        let clock = &self.shared().clock;
        let mut batch = Vec::with_capacity(BATCH);
        let mut writer_gone = false;
        let fed = feed(&mut |v| {
            if writer_gone {
                return;
            }
            batch.push(docs::prepare_insert(&def, clock, v, opts));
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                writer_gone = tx.send(Feed::Batch(full)).is_err();
            }
        });
        let last = match fed {
            Ok(()) => {
                if !batch.is_empty() {
                    let _ = tx.send(Feed::Batch(batch));
                }
                Feed::End
            }
            Err(e) => Feed::Failed(e),
        };
        let _ = tx.send(last);
        drop(tx);
        pending.wait()
    }

    /// Inserts documents; each gets its own result (batch semantics: errors don't stop the rest).
    pub fn insert(
        &self,
        db: &str,
        coll: &str,
        docs: Vec<Value>,
        opts: &WriteOptions,
        trx: Option<u64>,
    ) -> ArangoResult<Vec<ArangoResult<DocResult>>> {
        self.doc_batch(db, coll, docs, opts, trx, DocOp::Insert)
    }

    /// Replaces documents (each carries `_key`).
    pub fn replace(
        &self,
        db: &str,
        coll: &str,
        docs: Vec<Value>,
        opts: &WriteOptions,
        trx: Option<u64>,
    ) -> ArangoResult<Vec<ArangoResult<DocResult>>> {
        self.doc_batch(db, coll, docs, opts, trx, DocOp::Replace)
    }

    /// Updates (merges into) documents (each carries `_key`).
    pub fn update(
        &self,
        db: &str,
        coll: &str,
        patches: Vec<Value>,
        opts: &WriteOptions,
        trx: Option<u64>,
    ) -> ArangoResult<Vec<ArangoResult<DocResult>>> {
        self.doc_batch(db, coll, patches, opts, trx, DocOp::Update)
    }

    /// Removes documents given by key or by `{_key[, _rev]}`.
    pub fn remove(
        &self,
        db: &str,
        coll: &str,
        selectors: Vec<Value>,
        opts: &WriteOptions,
        trx: Option<u64>,
    ) -> ArangoResult<Vec<ArangoResult<DocResult>>> {
        self.doc_batch(db, coll, selectors, opts, trx, DocOp::Remove)
    }

    /// Single-document insert.
    pub fn insert_one(
        &self,
        db: &str,
        coll: &str,
        doc: Value,
        opts: &WriteOptions,
    ) -> ArangoResult<DocResult> {
        single(self.insert(db, coll, vec![doc], opts, None)?)
    }

    /// Single-document replace.
    pub fn replace_one(
        &self,
        db: &str,
        coll: &str,
        doc: Value,
        opts: &WriteOptions,
    ) -> ArangoResult<DocResult> {
        single(self.replace(db, coll, vec![doc], opts, None)?)
    }

    /// Single-document update.
    pub fn update_one(
        &self,
        db: &str,
        coll: &str,
        patch: Value,
        opts: &WriteOptions,
    ) -> ArangoResult<DocResult> {
        single(self.update(db, coll, vec![patch], opts, None)?)
    }

    /// Single-document remove.
    pub fn remove_one(
        &self,
        db: &str,
        coll: &str,
        selector: Value,
        opts: &WriteOptions,
    ) -> ArangoResult<DocResult> {
        single(self.remove(db, coll, vec![selector], opts, None)?)
    }

    /// Reads a document (1202 if missing), inside a stream transaction if `trx` is given.
    pub fn document(
        &self,
        db: &str,
        coll: &str,
        key: &str,
        trx: Option<u64>,
    ) -> ArangoResult<Value> {
        let found = match trx {
            Some(id) => self.inner.trx.with(id, db, |t| t.read(coll, key))?,
            None => {
                let snap = self.snapshot()?;
                let def = snap.catalog().collection(db, coll)?;
                snap.document(def.id, key)?
            }
        };
        found.ok_or_else(|| ArangoError::new(codes::ARANGO_DOCUMENT_NOT_FOUND))
    }

    /// Number of documents, inside a stream transaction if `trx` is given.
    pub fn count(&self, db: &str, coll: &str, trx: Option<u64>) -> ArangoResult<u64> {
        match trx {
            Some(id) => self.inner.trx.with(id, db, |t| t.count(coll)),
            None => {
                let snap = self.snapshot()?;
                let def = snap.catalog().collection(db, coll)?;
                Ok(snap.stats(def.id)?.count)
            }
        }
    }

    /// A consistent read-only view of everything committed so far.
    pub fn snapshot(&self) -> ArangoResult<Snapshot> {
        // under the catalog lock: a commit that changes the catalog publishes it before the lock is
        // released, so the read transaction and the catalog belong together
        let guard = self
            .shared()
            .catalog
            .read()
            .unwrap_or_else(|p| p.into_inner());
        let txn = self.shared().db.begin_read().map_err(storage)?;
        let catalog = guard.clone();
        drop(guard);
        Ok(Snapshot::new(txn, catalog))
    }

    // ----- stream transactions ---------------------------------------------------------------------

    /// Begins a stream transaction; returns its id.
    pub fn begin_transaction(
        &self,
        db: &str,
        collections: &TrxCollections,
        opts: &TrxOptions,
    ) -> ArangoResult<u64> {
        self.inner.trx.expire(self.shared().config.trx_idle_timeout);
        let snap = self.snapshot()?;
        let id = self.shared().clock.next();
        let t = txn::StreamTrx::begin(id, db, collections, opts, snap)?;
        self.inner.trx.insert(id, t);
        Ok(id)
    }

    /// Commits a stream transaction atomically (begin, operations and commit markers with its id).
    pub fn commit_transaction(&self, id: u64) -> ArangoResult<TrxStatus> {
        let res = self.start_commit(id, true)?.wait();
        self.finish_commit(id, res)
    }

    /// [`Store::commit_transaction`] for async callers: awaits the writer without occupying a thread
    /// (a commit is a request's whole work, and each thread hop costs it latency on a busy machine).
    pub async fn commit_transaction_async(&self, id: u64) -> ArangoResult<TrxStatus> {
        let res = self.start_commit(id, false)?.wait_async().await;
        self.finish_commit(id, res)
    }

    fn start_commit(&self, id: u64, blocking: bool) -> ArangoResult<Pending<()>> {
        let (changes, sync) = self.inner.trx.take(id)?;
        Ok(if changes.is_empty() {
            Pending::Ready(Ok(()))
        } else {
            self.enqueue(sync, true, false, blocking, move |ctx| changes.apply(ctx))
        })
    }

    fn finish_commit(&self, id: u64, res: ArangoResult<()>) -> ArangoResult<TrxStatus> {
        let status = if res.is_ok() {
            TrxStatus::Committed
        } else {
            TrxStatus::Aborted
        };
        self.inner.trx.finish(id, status);
        res.map(|_| status)
    }

    /// Aborts a stream transaction: nothing of it reaches data or log.
    pub fn abort_transaction(&self, id: u64) -> ArangoResult<TrxStatus> {
        self.inner.trx.take(id)?;
        self.inner.trx.finish(id, TrxStatus::Aborted);
        Ok(TrxStatus::Aborted)
    }

    // ----- query transactions (AQL writes) ------------------------------------------------------------

    /// A transaction of one AQL query that writes `write`: a stream transaction nobody else can address.
    /// The query reads its snapshot and writes into it; [`Store::commit_query_transaction`] makes the
    /// writes one atomic commit, one transaction in the replication log.
    pub(crate) fn begin_query_transaction(
        &self,
        db: &str,
        write: &[String],
    ) -> ArangoResult<txn::StreamTrx> {
        let snap = self.snapshot()?;
        let id = self.shared().clock.next();
        let cols = TrxCollections {
            write: write.to_vec(),
            ..Default::default()
        };
        txn::StreamTrx::begin(id, db, &cols, &TrxOptions::default(), snap)
    }

    /// Commits a query's transaction (see [`Store::begin_query_transaction`]); nothing is written when
    /// it changed nothing.
    pub(crate) fn commit_query_transaction(&self, mut t: txn::StreamTrx) -> ArangoResult<()> {
        let sync = t.wait_for_sync;
        let changes = t.take_changes();
        if changes.is_empty() {
            return Ok(());
        }
        self.enqueue(sync, true, false, true, move |ctx| changes.apply(ctx))
            .wait()
    }

    /// Runs `f` inside the running stream transaction `id` of database `db` (an AQL query sent with
    /// `x-arango-trx-id`), with the clock its writes take revisions from.
    pub(crate) fn with_transaction<T>(
        &self,
        id: u64,
        db: &str,
        f: impl FnOnce(&mut txn::StreamTrx, &clock::Clock) -> ArangoResult<T>,
    ) -> ArangoResult<T> {
        self.inner.trx.with(id, db, |t| f(t, &self.shared().clock))
    }

    /// The clock revisions and ticks come from.
    pub(crate) fn clock(&self) -> &clock::Clock {
        &self.shared().clock
    }

    /// The status of a running or recently finished stream transaction (1655 if unknown).
    pub fn transaction_status(&self, id: u64) -> ArangoResult<TrxStatus> {
        self.inner.trx.status(id)
    }

    /// Ids and statuses of the running stream transactions of database `db`.
    pub fn running_transactions(&self, db: &str) -> Vec<(u64, String)> {
        self.inner.trx.running(db)
    }

    // ----- checksum --------------------------------------------------------------------------------

    /// The collection checksum (decimal u64), equal on any two stores holding the same documents.
    pub fn checksum(
        &self,
        db: &str,
        coll: &str,
        with_revisions: bool,
        with_data: bool,
    ) -> ArangoResult<u64> {
        Ok(self
            .checksum_and_revision(db, coll, with_revisions, with_data)?
            .0)
    }

    /// The checksum and the collection revision (newest `_rev`, `"0"` when empty), from one snapshot.
    pub fn checksum_and_revision(
        &self,
        db: &str,
        coll: &str,
        with_revisions: bool,
        with_data: bool,
    ) -> ArangoResult<(u64, String)> {
        let snap = self.snapshot()?;
        let def = snap.catalog().collection(db, coll)?;
        snap.checksum_and_revision(def.id, with_revisions, with_data)
    }

    // ----- follower side ---------------------------------------------------------------------------

    /// Applies a leader's documents and removals to a collection in one atomic, logged transaction, as a
    /// follower does ("leader wins", see `docs::apply_replica`). Not durable at return; see [`Store::sync`].
    pub fn apply_replica(
        &self,
        db: &str,
        coll: &str,
        ops: Vec<ReplicaOp>,
    ) -> ArangoResult<ReplicaStats> {
        let guid = self.catalog().collection(db, coll)?.guid.clone();
        let changes = ops
            .into_iter()
            .map(|op| Change::Document {
                guid: guid.clone(),
                op,
            })
            .collect();
        self.apply_changes(db, changes, None).map_err(|(_, e)| e)
    }

    /// Applies a follower's changes from its leader's log — documents and catalog changes, in order — in
    /// one atomic, logged transaction, together with the applier record `record` (when given: its name
    /// and JSON), so that what was applied and how far the applier got can never disagree. On failure nothing is applied
    /// and the error comes with the index of the change that failed (if one did). Durable at return
    /// only when a catalog change was among them; otherwise on disk within a second (not the configured
    /// sync interval: a follower that loses them in a crash resumes from the position stored with them,
    /// and its leader sends them again); see [`Store::sync`].
    pub fn apply_changes(
        &self,
        db: &str,
        changes: Vec<Change>,
        record: Option<(String, Vec<u8>)>,
    ) -> Result<ReplicaStats, (Option<usize>, ArangoError)> {
        let catalog_change = changes.iter().any(|c| !c.is_document());
        let (pending, failed_at) =
            self.start_changes(db, Source::All(changes), catalog_change, record, true);
        pending.wait().map_err(|e| failed_change(&failed_at, e))
    }

    /// [`Store::apply_changes`] for async callers: awaits the commit without occupying a thread.
    pub async fn apply_changes_async(
        &self,
        db: &str,
        changes: Vec<Change>,
        record: Option<(String, Vec<u8>)>,
    ) -> Result<ReplicaStats, (Option<usize>, ArangoError)> {
        let catalog_change = changes.iter().any(|c| !c.is_document());
        let (pending, failed_at) =
            self.start_changes(db, Source::All(changes), catalog_change, record, false);
        pending
            .wait_async()
            .await
            .map_err(|e| failed_change(&failed_at, e))
    }

    /// [`Store::apply_changes`] with the changes handed over in batches as the caller prepares them: the
    /// writer applies each batch while the caller (this thread) prepares the next, and commits them all
    /// as one transaction with `record` after the last. `catalog_change` says whether any change is not a
    /// document. A batch that could not be prepared (`Err((index, error))`, the index counted over all
    /// changes) ends it: nothing is applied, and the error comes back with that index.
    pub fn apply_changes_streamed(
        &self,
        db: &str,
        catalog_change: bool,
        record: Option<(String, Vec<u8>)>,
        batches: impl Iterator<Item = Result<Vec<Change>, (usize, ArangoError)>>,
    ) -> Result<ReplicaStats, (Option<usize>, ArangoError)> {
        // two batches in flight: one being applied, one ready
        let (tx, rx) = std::sync::mpsc::sync_channel::<Feed<Change>>(2);
        let (pending, failed_at) =
            self.start_changes(db, Source::Feed(rx), catalog_change, record, true);
        for b in batches {
            let last = b.is_err();
            let sent = tx.send(match b {
                Ok(v) => Feed::Batch(v),
                Err((i, e)) => {
                    // unless the writer failed first: that failure is the one to report
                    let _ = failed_at.compare_exchange(
                        u64::MAX,
                        i as u64,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                    Feed::Failed(e)
                }
            });
            // a writer that stopped reading has failed already: its answer says why
            if sent.is_err() || last {
                break;
            }
        }
        let _ = tx.send(Feed::End);
        drop(tx);
        pending.wait().map_err(|e| failed_change(&failed_at, e))
    }

    fn start_changes(
        &self,
        db: &str,
        source: Source,
        catalog_change: bool,
        record: Option<(String, Vec<u8>)>,
        blocking: bool,
    ) -> (Pending<ReplicaStats>, Arc<AtomicU64>) {
        let failed_at = Arc::new(AtomicU64::new(u64::MAX));
        let at = failed_at.clone();
        let db = db.to_string();
        // a follower's documents may wait longer for the disk: after a crash the leader sends them again
        let relaxed = !catalog_change;
        let pending = self.enqueue(catalog_change, true, relaxed, blocking, move |ctx| {
            ctx.catalog.database(&db)?;
            let mut st = ReplicaStats::default();
            let mut last = None;
            let mut apply = |ctx: &mut WriteCtx<'_>, offset: usize, changes: Vec<Change>| {
                for (i, c) in changes.into_iter().enumerate() {
                    if let Err(e) = ddl::apply_change(ctx, &db, c, &mut last, &mut st) {
                        at.store((offset + i) as u64, Ordering::Release);
                        return Err(e);
                    }
                }
                Ok(())
            };
            match source {
                Source::All(changes) => apply(ctx, 0, changes)?,
                Source::Feed(rx) => {
                    let mut offset = 0;
                    while let Some(v) = next_batch(&rx, "the changes to apply")? {
                        let n = v.len();
                        apply(ctx, offset, v)?;
                        offset += n;
                    }
                }
            }
            ctx.flush_markers(None)?;
            if let Some((name, r)) = &record {
                ctx.put_applier(name, Some(r))?;
            }
            Ok(st)
        });
        (pending, failed_at)
    }

    /// A collection's document count and fingerprint (see [`docs::fingerprint_of`]), from one snapshot.
    pub fn fingerprint(&self, db: &str, coll: &str) -> ArangoResult<(u64, Option<u64>)> {
        let snap = self.snapshot()?;
        let cid = snap.catalog().collection(db, coll)?.id;
        Ok((snap.stats(cid)?.count, snap.fingerprint(cid)?))
    }

    /// The stored applier record of a database (configuration and state, JSON), if any.
    pub fn applier_record(&self, db: &str) -> ArangoResult<Option<Vec<u8>>> {
        let txn = self.shared().db.begin_read().map_err(storage)?;
        let t = match txn.open_table(tables::APPLIER) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(storage(e)),
        };
        Ok(t.get(db).map_err(storage)?.map(|g| g.value().to_vec()))
    }

    /// Stores (durably) or with `None` deletes a database's applier record.
    pub fn set_applier_record(&self, db: &str, value: Option<Vec<u8>>) -> ArangoResult<()> {
        let db = db.to_string();
        self.submit(true, false, move |ctx| {
            ctx.put_applier(&db, value.as_deref())
        })
    }

    // ----- replication log -------------------------------------------------------------------------

    /// The latest committed tick.
    pub fn last_tick(&self) -> u64 {
        *self.shared().committed.borrow()
    }

    /// Every marker with a tick above this is still in the log.
    pub fn log_floor(&self) -> u64 {
        self.shared().log_floor.load(Ordering::Acquire)
    }

    /// True if `tick` lies in one of the store's history gaps: a reader positioned there has changes
    /// this store lost (a crash took them before they reached the disk).
    pub fn lost_position(&self, tick: u64) -> bool {
        self.shared()
            .gaps
            .iter()
            .any(|&(last, first)| last < tick && tick < first)
    }

    /// Whether a reader at `from` can continue from this log: nothing after `from` was pruned, and
    /// `from` is part of this store's history (`frompresent` of the replication API).
    pub fn from_present(&self, from: u64) -> bool {
        from >= self.log_floor() && !self.lost_position(from)
    }

    /// The first tick still in the log, if any.
    pub fn first_tick(&self) -> ArangoResult<Option<u64>> {
        self.snapshot()?.first_tick()
    }

    /// Reads markers after `q.from` (see [`LogQuery`]).
    pub fn read_log(&self, q: &LogQuery<'_>) -> ArangoResult<LogChunk> {
        let last = self.last_tick();
        let mut chunk = self.snapshot()?.read_log(q)?;
        chunk.last_tick = chunk.last_tick.max(last);
        Ok(chunk)
    }

    /// Waits until a tick above `after` is committed or `timeout` passes; returns the latest tick.
    pub async fn wait_for_tick(&self, after: u64, timeout: Duration) -> u64 {
        let mut rx = self.shared().committed.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            match rx.wait_for(|t| *t > after).await {
                Ok(v) => *v,
                Err(_) => after,
            }
        })
        .await;
        waited.unwrap_or_else(|_| *self.shared().committed.borrow())
    }

    /// Keeps markers after `tick` from being pruned for `ttl`; returns the hold's id.
    pub fn hold_log(&self, tick: u64, ttl: Duration) -> u64 {
        let id = self.shared().clock.next();
        let hold = Hold {
            tick,
            expires: Instant::now() + ttl,
        };
        self.shared()
            .holds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, hold);
        id
    }

    /// Extends a hold (and optionally moves its tick forward); false if it expired or never existed.
    pub fn extend_hold(&self, id: u64, ttl: Duration, tick: Option<u64>) -> bool {
        let mut holds = self
            .shared()
            .holds
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match holds.get_mut(&id) {
            Some(h) if h.expires > Instant::now() => {
                h.expires = Instant::now() + ttl;
                if let Some(t) = tick {
                    h.tick = h.tick.max(t);
                }
                true
            }
            _ => false,
        }
    }

    /// Releases a hold; false if unknown.
    pub fn release_hold(&self, id: u64) -> bool {
        self.shared()
            .holds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)
            .is_some()
    }

    /// Runs retention now. With `force_all`, prunes everything live holds allow, regardless of age and
    /// size (for tests and operators). Returns the log floor afterwards.
    pub fn prune_log(&self, force_all: bool) -> ArangoResult<u64> {
        let limit = self.shared().prune_limit(self.last_tick());
        if let Some(floor) = self.submit(false, true, writer::prune_job(limit, force_all))? {
            self.shared().set_log_floor(floor);
        }
        Ok(self.log_floor())
    }

    /// The configuration the store was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.shared().config
    }

    /// Makes everything committed so far durable.
    pub fn sync(&self) -> ArangoResult<()> {
        self.submit(true, false, |_| Ok(()))
    }
}

fn single(mut v: Vec<ArangoResult<DocResult>>) -> ArangoResult<DocResult> {
    v.pop().unwrap_or_else(|| {
        Err(ArangoError::internal(
            "no result for a single-document operation",
        ))
    })
}

/// `data` of 2000/2003 markers: the collection properties plus its secondary indexes.
pub(crate) fn collection_marker_data(
    def: &CollectionDef,
    last_value: u64,
) -> ArangoResult<Vec<u8>> {
    let mut props = def.properties_json(last_value);
    if let Value::Object(m) = &mut props {
        m.insert(
            "indexes".into(),
            Value::Array(
                def.indexes
                    .iter()
                    .map(IndexDef::to_inventory_json)
                    .collect(),
            ),
        );
    }
    serde_json::to_vec(&props).map_err(|e| ArangoError::internal(e.to_string()))
}

/// Fills a new unique index from the collection's documents; 1210 on the first duplicate.
pub(crate) fn build_unique(
    ctx: &mut WriteCtx<'_>,
    def: &CollectionDef,
    idx: &IndexDef,
) -> ArangoResult<()> {
    // (index key, document key) of every indexed document, packed into one buffer (a few tens of bytes
    // per document instead of two allocations and a hash-table slot), then sorted: equal index keys
    // meet, and the entries go into the index in its own order, one B-tree page after the other
    let mut buf: Vec<u8> = Vec::new();
    let mut entries: Vec<(usize, u32, u32)> = Vec::new();
    // only the attributes the index reads are parsed out of each document
    let wanted = docs::top_level_fields(&idx.fields);
    ctx.scan_documents(def.id, |key, bytes| {
        let doc = docs::partial_stored(&wanted, key, bytes)?;
        if let Some(k) = index::index_key(idx, &doc) {
            entries.push((buf.len(), k.len() as u32, key.len() as u32));
            buf.extend_from_slice(&k);
            buf.extend_from_slice(key.as_bytes());
        }
        Ok(())
    })?;
    let index_key = |e: &(usize, u32, u32)| &buf[e.0..e.0 + e.1 as usize];
    let doc_key = |e: &(usize, u32, u32)| {
        let at = e.0 + e.1 as usize;
        std::str::from_utf8(&buf[at..at + e.2 as usize]).unwrap_or_default()
    };
    // stable: of equal index keys, the document found first in key order comes first
    entries.sort_by(|a, b| index_key(a).cmp(index_key(b)));
    if let Some(w) = entries
        .windows(2)
        .find(|w| index_key(&w[0]) == index_key(&w[1]))
    {
        return Err(ArangoError::with_message(
            codes::ARANGO_UNIQUE_CONSTRAINT_VIOLATED,
            index::violation_message(&idx.name, &idx.itype, &idx.fields, doc_key(&w[0])),
        ));
    }
    for e in &entries {
        docs::DocAccess::unique_put(ctx, def.id, idx.id, index_key(e), doc_key(e))?;
    }
    Ok(())
}

/// Where a follower's changes come from: all at once, or in batches as they are prepared.
enum Source {
    All(Vec<Change>),
    Feed(std::sync::mpsc::Receiver<Feed<Change>>),
}

/// One message to a writer job that takes its input in batches as the caller prepares them (see
/// [`Store::apply_changes_streamed`], [`Store::insert_streamed`]).
enum Feed<T> {
    Batch(Vec<T>),
    /// The caller could not go on: the job fails with this error and its writes are rolled back.
    Failed(ArangoError),
    End,
}

/// The next batch of a streamed writer job, `None` at its end; `what` names the input in the error for
/// a caller that went away half-way (it panicked), which also rolls the job back.
fn next_batch<T>(
    rx: &std::sync::mpsc::Receiver<Feed<T>>,
    what: &str,
) -> ArangoResult<Option<Vec<T>>> {
    match rx.recv() {
        Ok(Feed::Batch(v)) => Ok(Some(v)),
        Ok(Feed::End) => Ok(None),
        Ok(Feed::Failed(e)) => Err(e),
        Err(_) => Err(ArangoError::internal(format!(
            "{what} stopped arriving half-way"
        ))),
    }
}

/// How a caller waits for the writer's answer.
enum Waiter<T> {
    Blocking(std::sync::mpsc::Receiver<ArangoResult<T>>),
    Async(tokio::sync::oneshot::Receiver<ArangoResult<T>>),
}

/// The outcome of a store call that may still be waiting for its commit.
enum Pending<T> {
    Ready(ArangoResult<T>),
    Wait(Waiter<T>),
}

fn writer_gone() -> ArangoError {
    ArangoError::internal("the store's writer failed before answering")
}

impl<T: Send + 'static> Pending<T> {
    /// Blocks until the outcome is known.
    fn wait(self) -> ArangoResult<T> {
        match self {
            Pending::Ready(r) => r,
            Pending::Wait(Waiter::Blocking(rx)) => rx.recv().map_err(|_| writer_gone())?,
            Pending::Wait(Waiter::Async(rx)) => rx.blocking_recv().map_err(|_| writer_gone())?,
        }
    }

    /// Awaits the outcome without occupying a runtime thread.
    async fn wait_async(self) -> ArangoResult<T> {
        match self {
            Pending::Ready(r) => r,
            Pending::Wait(Waiter::Async(rx)) => rx.await.map_err(|_| writer_gone())?,
            Pending::Wait(Waiter::Blocking(rx)) => tokio::task::spawn_blocking(move || rx.recv())
                .await
                .map_err(|_| writer_gone())?
                .map_err(|_| writer_gone())?,
        }
    }
}

/// Which document operation a batch performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocOp {
    Insert,
    Replace,
    Update,
    Remove,
}

impl DocOp {
    pub(crate) fn apply(
        self,
        acc: &mut impl docs::DocAccess,
        def: &CollectionDef,
        clock: &clock::Clock,
        item: Value,
        opts: &WriteOptions,
    ) -> ArangoResult<DocResult> {
        match self {
            DocOp::Insert => docs::insert(acc, def, clock, item, opts),
            DocOp::Replace => docs::replace(acc, def, clock, item, opts),
            DocOp::Update => docs::update(acc, def, clock, item, opts),
            DocOp::Remove => docs::remove(acc, def, &item, opts),
        }
    }
}

/// One change a follower applies (see [`Store::apply_replica`]).
#[derive(Debug, Clone)]
pub enum ReplicaOp {
    /// Insert or replace with the leader's `_key` and `_rev`.
    Upsert(serde_json::Map<String, Value>),
    /// Insert or replace with a line already checked by [`docs::check_stored_layout`], stored as it is.
    Raw(RawReplica),
    /// Remove by key (a missing document is fine).
    Remove(String),
}

/// What [`Store::apply_replica`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplicaStats {
    pub inserted: u64,
    pub replaced: u64,
    pub unchanged: u64,
    /// Removals, including local documents that stood in the way of a unique index value.
    pub removed: u64,
}

impl ReplicaStats {
    pub(crate) fn count(&mut self, (outcome, removed): (ReplicaOutcome, u64)) {
        self.removed += removed;
        match outcome {
            ReplicaOutcome::Inserted => self.inserted += 1,
            ReplicaOutcome::Replaced => self.replaced += 1,
            ReplicaOutcome::Unchanged => self.unchanged += 1,
        }
    }
}

/// The error of a failed [`Store::apply_changes`], with the index of the change that caused it.
fn failed_change(at: &AtomicU64, e: ArangoError) -> (Option<usize>, ArangoError) {
    let i = at.load(Ordering::Acquire);
    ((i != u64::MAX).then_some(i as usize), e)
}

/// Error 1228 for unknown databases, re-exported for the layers above.
pub fn database_not_found(name: &str) -> ArangoError {
    unknown_database(name)
}
