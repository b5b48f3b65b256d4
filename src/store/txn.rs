//! Stream transactions: begin, operations, commit, abort.
//!
//! A transaction reads from the snapshot taken at `begin` plus its own writes, which it keeps in an
//! overlay; nobody else sees them. Commit hands the overlay to the writer, which checks that no document
//! the transaction touched was changed meanwhile (else 1200, write-write conflict) and that unique index
//! entries are still free (else 1210), then writes data and markers — begin, operations, commit with the
//! transaction's id — in one redb transaction. Abort just drops the overlay: nothing reaches data or log.

use crate::error::{ArangoError, ArangoResult, codes};
use crate::store::catalog::{Catalog, CollectionDef};
use crate::store::clock::Clock;
use crate::store::docs::{CollStats, DocAccess, DocResult, WriteOptions};
use crate::store::writer::WriteCtx;
use crate::store::{DocOp, Snapshot};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Collections a transaction declares, by name.
#[derive(Debug, Clone, Default)]
pub struct TrxCollections {
    pub read: Vec<String>,
    pub write: Vec<String>,
    pub exclusive: Vec<String>,
}

/// Transaction options.
#[derive(Debug, Clone, Default)]
pub struct TrxOptions {
    /// Make the commit durable before acknowledging it.
    pub wait_for_sync: bool,
}

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrxStatus {
    Running,
    Committed,
    Aborted,
}

impl TrxStatus {
    /// ArangoDB's status string.
    pub fn as_str(self) -> &'static str {
        match self {
            TrxStatus::Running => "running",
            TrxStatus::Committed => "committed",
            TrxStatus::Aborted => "aborted",
        }
    }
}

/// A change to a unique index entry made by the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
enum UniqueChange {
    Removed(String),
    Set(String),
}

type DocKey = (u64, String);

/// At most this many snapshot reads are kept for the writes that follow them.
const SEEN_LIMIT: usize = 8192;

/// A running transaction, locked by the request working on it.
type SharedTrx = Arc<Mutex<StreamTrx>>;

/// A running stream transaction.
pub(crate) struct StreamTrx {
    id: u64,
    db: String,
    writable: HashSet<u64>,
    pub wait_for_sync: bool,
    snap: Snapshot,
    docs: BTreeMap<DocKey, Option<Vec<u8>>>,
    base: HashMap<DocKey, Option<Vec<u8>>>,
    /// Snapshot reads not yet in `base`: a write usually follows the read that checked its key, and
    /// takes its base from here instead of reading the snapshot again.
    seen: std::cell::RefCell<HashMap<DocKey, Option<Vec<u8>>>>,
    unique: BTreeMap<(u64, u64, Vec<u8>), UniqueChange>,
    stats: HashMap<u64, CollStats>,
    stats_base: HashMap<u64, CollStats>,
    ops: Vec<(u16, String, String, Vec<u8>)>,
    last_used: Instant,
}

impl StreamTrx {
    pub fn begin(
        id: u64,
        db: &str,
        cols: &TrxCollections,
        opts: &TrxOptions,
        snap: Snapshot,
    ) -> ArangoResult<Self> {
        let catalog: Arc<Catalog> = snap.catalog().clone();
        catalog.database(db)?;
        let mut writable = HashSet::new();
        for name in &cols.read {
            catalog.collection(db, name)?;
        }
        for name in cols.write.iter().chain(&cols.exclusive) {
            writable.insert(catalog.collection(db, name)?.id);
        }
        Ok(StreamTrx {
            id,
            db: db.to_string(),
            writable,
            wait_for_sync: opts.wait_for_sync,
            snap,
            docs: BTreeMap::new(),
            base: HashMap::new(),
            seen: Default::default(),
            unique: BTreeMap::new(),
            stats: HashMap::new(),
            stats_base: HashMap::new(),
            ops: Vec::new(),
            last_used: Instant::now(),
        })
    }

    fn collection(&self, name: &str) -> ArangoResult<CollectionDef> {
        self.snap.catalog().collection(&self.db, name).cloned()
    }

    pub fn run_ops(
        &mut self,
        coll: &str,
        items: Vec<Value>,
        opts: &WriteOptions,
        op: DocOp,
        clock: &Clock,
    ) -> ArangoResult<Vec<ArangoResult<DocResult>>> {
        let def = self.collection(coll)?;
        if !self.writable.contains(&def.id) {
            return Err(ArangoError::with_message(
                codes::TRANSACTION_UNREGISTERED_COLLECTION,
                format!(
                    "collection not used in transaction: '{}' was not declared for writing when the transaction began",
                    def.name
                ),
            ));
        }
        self.wait_for_sync |= opts.wait_for_sync || def.wait_for_sync;
        if op == DocOp::Insert && crate::store::docs::can_prepare(opts) {
            // serialized straight from the body, as the document API's batches are
            return Ok(items
                .into_iter()
                .map(|item| {
                    crate::store::docs::prepare_insert(&def, clock, item, opts)
                        .and_then(|p| crate::store::docs::insert_prepared(self, &def, clock, p))
                })
                .collect());
        }
        Ok(items
            .into_iter()
            .map(|item| op.apply(self, &def, clock, item, opts))
            .collect())
    }

    pub fn read(&self, coll: &str, key: &str) -> ArangoResult<Option<Value>> {
        let def = self.collection(coll)?;
        match self.get(def.id, key)? {
            Some(b) => Ok(Some(Value::Object(crate::store::docs::parse_doc_in(
                &b, &def.name,
            )?))),
            None => Ok(None),
        }
    }

    pub fn count(&mut self, coll: &str) -> ArangoResult<u64> {
        let def = self.collection(coll)?;
        Ok(self.stats(def.id)?.count)
    }

    /// The snapshot the transaction reads (beneath its own writes).
    pub fn snapshot(&self) -> &Snapshot {
        &self.snap
    }

    /// The transaction's own versions of collection `cid`'s documents, in key order (`None`: removed).
    pub fn overlay(&self, cid: u64) -> Vec<(String, Option<Vec<u8>>)> {
        self.docs
            .range((cid, String::new())..(cid + 1, String::new()))
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Document `key` of collection `cid` as the transaction sees it.
    pub fn raw_document(&self, cid: u64, key: &str) -> ArangoResult<Option<Vec<u8>>> {
        self.get(cid, key)
    }

    /// Keeps the snapshot's version of a document before its first write (the commit checks it is still
    /// the committed one).
    fn remember_base(&mut self, k: &DocKey) -> ArangoResult<()> {
        if !self.base.contains_key(k) {
            let b = match self.seen.get_mut().remove(k) {
                Some(b) => b,
                None => self.snap.raw_document(k.0, &k.1)?,
            };
            self.base.insert(k.clone(), b);
        }
        Ok(())
    }

    /// Moves out what the writer needs to commit.
    pub(crate) fn take_changes(&mut self) -> Changes {
        Changes {
            tid: self.id,
            docs: std::mem::take(&mut self.docs),
            base: std::mem::take(&mut self.base),
            unique: std::mem::take(&mut self.unique),
            stats: std::mem::take(&mut self.stats),
            stats_base: std::mem::take(&mut self.stats_base),
            ops: std::mem::take(&mut self.ops),
        }
    }
}

impl DocAccess for StreamTrx {
    fn get(&self, cid: u64, key: &str) -> ArangoResult<Option<Vec<u8>>> {
        let k = (cid, key.to_string());
        if let Some(v) = self.docs.get(&k) {
            return Ok(v.clone());
        }
        let v = self.snap.raw_document(cid, key)?;
        if !self.base.contains_key(&k) {
            let mut seen = self.seen.borrow_mut();
            // reads that no write follows must not pile up
            if seen.len() >= SEEN_LIMIT {
                seen.clear();
            }
            seen.insert(k, v.clone());
        }
        Ok(v)
    }
    fn put(&mut self, cid: u64, key: &str, doc: &[u8]) -> ArangoResult<()> {
        let k = (cid, key.to_string());
        self.remember_base(&k)?;
        self.docs.insert(k, Some(doc.to_vec()));
        Ok(())
    }
    fn put_new(&mut self, cid: u64, key: &str, doc: &[u8]) -> ArangoResult<bool> {
        let k = (cid, key.to_string());
        match self.docs.get(&k) {
            Some(Some(_)) => return Ok(false),
            Some(None) => {}
            // not written here yet: the snapshot's version (none, for the insert to go on) is the base
            None => {
                if let std::collections::hash_map::Entry::Vacant(e) = self.base.entry(k.clone()) {
                    if self.snap.contains_document(cid, key)? {
                        return Ok(false);
                    }
                    let seen = self.seen.get_mut();
                    if !seen.is_empty() {
                        seen.remove(&k);
                    }
                    e.insert(None);
                }
            }
        }
        self.docs.insert(k, Some(doc.to_vec()));
        Ok(true)
    }
    fn delete(&mut self, cid: u64, key: &str) -> ArangoResult<()> {
        let k = (cid, key.to_string());
        self.remember_base(&k)?;
        self.docs.insert(k, None);
        Ok(())
    }
    fn unique_get(&self, cid: u64, iid: u64, val: &[u8]) -> ArangoResult<Option<String>> {
        match self.unique.get(&(cid, iid, val.to_vec())) {
            Some(UniqueChange::Set(k)) => Ok(Some(k.clone())),
            Some(UniqueChange::Removed(_)) => Ok(None),
            None => self.snap.unique_get(cid, iid, val),
        }
    }
    fn unique_put(&mut self, cid: u64, iid: u64, val: &[u8], key: &str) -> ArangoResult<()> {
        self.unique
            .insert((cid, iid, val.to_vec()), UniqueChange::Set(key.to_string()));
        Ok(())
    }
    fn unique_delete(&mut self, cid: u64, iid: u64, val: &[u8], key: &str) -> ArangoResult<()> {
        if self.unique_get(cid, iid, val)?.as_deref() == Some(key) {
            self.unique.insert(
                (cid, iid, val.to_vec()),
                UniqueChange::Removed(key.to_string()),
            );
        }
        Ok(())
    }
    fn stats(&mut self, cid: u64) -> ArangoResult<CollStats> {
        if let Some(s) = self.stats.get(&cid) {
            return Ok(*s);
        }
        let s = self.snap.stats(cid)?;
        self.stats_base.insert(cid, s);
        self.stats.insert(cid, s);
        Ok(s)
    }
    fn set_stats(&mut self, cid: u64, stats: CollStats) -> ArangoResult<()> {
        self.stats(cid)?;
        self.stats.insert(cid, stats);
        Ok(())
    }
    fn log_doc(&mut self, coll: &CollectionDef, mtype: u16, data: Vec<u8>) -> ArangoResult<()> {
        self.ops
            .push((mtype, coll.db.clone(), coll.guid.clone(), data));
        Ok(())
    }
}

/// A transaction's writes, ready for the writer.
pub(crate) struct Changes {
    tid: u64,
    docs: BTreeMap<DocKey, Option<Vec<u8>>>,
    base: HashMap<DocKey, Option<Vec<u8>>>,
    unique: BTreeMap<(u64, u64, Vec<u8>), UniqueChange>,
    stats: HashMap<u64, CollStats>,
    stats_base: HashMap<u64, CollStats>,
    ops: Vec<(u16, String, String, Vec<u8>)>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Validates against the committed state and writes everything (run by the writer, alone in its
    /// redb transaction, which is rolled back if this fails).
    pub fn apply(self, ctx: &mut WriteCtx<'_>) -> ArangoResult<()> {
        let mut last = None;
        for (cid, _) in self.docs.keys() {
            if last != Some(*cid) && !ctx.catalog.collections.contains_key(cid) {
                return Err(ArangoError::with_message(
                    codes::ARANGO_DATA_SOURCE_NOT_FOUND,
                    "collection or view not found: a collection used by the transaction was dropped",
                ));
            }
            last = Some(*cid);
        }
        // Each write answers what it replaced: the version the transaction read first, unless another
        // commit changed it since (one tree walk per document; the redb transaction is rolled back
        // on the conflict, this job being exclusive).
        for (k, v) in &self.docs {
            let (cid, key) = (k.0, k.1.as_str());
            let old = match v {
                Some(b) => ctx.put_replacing(cid, key, b)?,
                None => ctx.delete_returning(cid, key)?,
            };
            if self.base.get(k).is_some_and(|base| *base != old) {
                return Err(ArangoError::with_message(
                    codes::ARANGO_CONFLICT,
                    format!(
                        "write-write conflict: document '{key}' was changed by another operation after the transaction began"
                    ),
                ));
            }
        }
        for ((cid, iid, val), ch) in &self.unique {
            if let UniqueChange::Removed(k) = ch {
                ctx.unique_delete(*cid, *iid, val, k)?;
            }
        }
        for ((cid, iid, val), ch) in &self.unique {
            if let UniqueChange::Set(k) = ch {
                if let Some(other) = ctx.unique_get(*cid, *iid, val)?
                    && &other != k
                    && !self.docs.contains_key(&(*cid, other.clone()))
                {
                    let idx = ctx
                        .catalog
                        .collections
                        .get(cid)
                        .and_then(|c| c.indexes.iter().find(|i| i.id == *iid));
                    let msg = match idx {
                        Some(i) => crate::store::index::violation_message(
                            &i.name, &i.itype, &i.fields, &other,
                        ),
                        None => format!("unique constraint violated; conflicting key: {other}"),
                    };
                    return Err(ArangoError::with_message(
                        codes::ARANGO_UNIQUE_CONSTRAINT_VIOLATED,
                        msg,
                    ));
                }
                ctx.unique_put(*cid, *iid, val, k)?;
            }
        }
        for (cid, s) in &self.stats {
            let base = self.stats_base.get(cid).copied().unwrap_or_default();
            let mut cur = ctx.stats(*cid)?;
            cur.count = (cur.count as i64 + (s.count as i64 - base.count as i64)).max(0) as u64;
            cur.last_value = cur.last_value.max(s.last_value);
            ctx.set_stats(*cid, cur)?;
        }
        for (mtype, db, cuid, data) in self.ops {
            ctx.queue_marker(mtype, &db, &cuid, data);
        }
        ctx.flush_markers(Some(self.tid))?;
        Ok(())
    }
}

/// Running transactions, plus the outcome of recently finished ones (for status queries).
#[derive(Default)]
pub(crate) struct Registry {
    /// id → (database, transaction)
    running: Mutex<HashMap<u64, (String, SharedTrx)>>,
    finished: Mutex<BTreeMap<u64, TrxStatus>>,
}

fn trx_not_found(id: u64) -> ArangoError {
    ArangoError::with_message(
        codes::TRANSACTION_NOT_FOUND,
        format!("transaction '{id}' not found"),
    )
}

impl Registry {
    pub fn insert(&self, id: u64, t: StreamTrx) {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (t.db.clone(), Arc::new(Mutex::new(t))));
    }

    fn get(&self, id: u64) -> ArangoResult<Arc<Mutex<StreamTrx>>> {
        if let Some(t) = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return Ok(t.1.clone());
        }
        match self
            .finished
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            Some(s) => Err(ArangoError::with_message(
                codes::TRANSACTION_DISALLOWED_OPERATION,
                format!(
                    "transaction '{id}' is not running any more (it was {})",
                    s.as_str()
                ),
            )),
            None => Err(trx_not_found(id)),
        }
    }

    /// Runs `f` on a running transaction of database `db`.
    pub fn with<T>(
        &self,
        id: u64,
        db: &str,
        f: impl FnOnce(&mut StreamTrx) -> ArangoResult<T>,
    ) -> ArangoResult<T> {
        let t = self.get(id)?;
        let mut t = t.lock().unwrap_or_else(|p| p.into_inner());
        if t.db != db {
            return Err(trx_not_found(id));
        }
        t.last_used = Instant::now();
        f(&mut t)
    }

    /// Removes a running transaction (waiting for an operation in progress) and returns its changes and
    /// whether its commit must be durable.
    pub fn take(&self, id: u64) -> ArangoResult<(Changes, bool)> {
        let arc = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)
            .map(|(_, t)| t);
        let Some(arc) = arc else {
            return Err(self.get(id).err().unwrap_or_else(|| trx_not_found(id)));
        };
        let mut t = arc.lock().unwrap_or_else(|p| p.into_inner());
        Ok((t.take_changes(), t.wait_for_sync))
    }

    pub fn finish(&self, id: u64, status: TrxStatus) {
        let mut f = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        f.insert(id, status);
        while f.len() > 10_000 {
            let Some((&oldest, _)) = f.iter().next() else {
                break;
            };
            f.remove(&oldest);
        }
    }

    pub fn status(&self, id: u64) -> ArangoResult<TrxStatus> {
        if self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&id)
        {
            return Ok(TrxStatus::Running);
        }
        self.finished
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .copied()
            .ok_or_else(|| trx_not_found(id))
    }

    /// The running transactions of database `db`: (id, status).
    pub fn running(&self, db: &str) -> Vec<(u64, String)> {
        let mut v: Vec<(u64, String)> = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, (d, _))| d == db)
            .map(|(id, _)| (*id, "running".to_string()))
            .collect();
        v.sort();
        v
    }

    /// Aborts transactions idle for longer than `timeout`.
    pub fn expire(&self, timeout: Duration) {
        let now = Instant::now();
        let expired: Vec<u64> = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, (_, t))| {
                t.try_lock()
                    .is_ok_and(|t| now.duration_since(t.last_used) > timeout)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if self.take(id).is_ok() {
                tracing::info!("stream transaction {id} aborted after being idle for {timeout:?}");
                self.finish(id, TrxStatus::Aborted);
            }
        }
    }
}
