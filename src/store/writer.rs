//! The single writer: one thread owns every redb write transaction.
//!
//! Callers submit jobs; the writer runs as many waiting jobs as it can in one transaction (group commit)
//! and commits once, then answers each caller. A job that asked for `waitForSync` makes its group's commit
//! durable (`Durability::Immediate`); other groups commit without fsync and a durable commit follows within
//! the configured sync interval. Jobs that may fail half-way (catalog changes, transaction commits) run
//! alone and roll back their transaction on failure, so a rejected request leaves nothing behind.

use crate::error::{ArangoError, ArangoResult};
use crate::store::catalog::{Catalog, CollectionDef};
use crate::store::docs::{self, CollStats, DocAccess};
use crate::store::index;
use crate::store::journal::{Journal, Redo, T};
use crate::store::log::{self, marker};
use crate::store::tables::*;
use crate::store::{Shared, storage};
use redb::{Durability, ReadableTable, Table, WriteTransaction};
use std::cell::OnceCell;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How many jobs at most share one commit.
const MAX_GROUP: usize = 512;

/// What a job hands back: how to answer its caller once the commit outcome is known, and whether its
/// writes must be rolled back.
pub(crate) struct Finished {
    /// Called after the commit: `None` if the job's own outcome stands, `Some(err)` if the group failed.
    pub reply: Box<dyn FnOnce(Option<ArangoError>) + Send>,
    pub rollback: bool,
}

pub(crate) type JobFn = Box<dyn for<'a> FnOnce(&mut WriteCtx<'a>) -> Finished + Send>;

/// A unit of work for the writer.
pub(crate) struct Job {
    pub run: JobFn,
    pub sync: bool,
    pub exclusive: bool,
    /// Its writes may wait [`RELAXED_SYNC`] for the disk instead of the configured sync interval: they
    /// can be made again after a crash (a follower's applied changes, which the leader still has and
    /// whose position is stored with them; log pruning).
    pub relaxed: bool,
}

/// How long writes of relaxed jobs may stay off the disk.
pub(crate) const RELAXED_SYNC: Duration = Duration::from_secs(1);

/// A document marker waiting for the end of its job (to decide standalone vs. transaction).
struct PendingMarker {
    mtype: u16,
    /// Index into `WriteCtx::pending_colls` (database, collection guid): batches share one entry.
    coll: usize,
    data: Vec<u8>,
}

/// Everything a job can touch: the open tables of the group's transaction and the working catalog.
/// Tables are opened on first use: every table a commit touches costs it work in redb.
pub(crate) struct WriteCtx<'t> {
    txn: &'t WriteTransaction,
    docs: OnceCell<Table<'t, &'static [u8], &'static [u8]>>,
    unique: OnceCell<Table<'t, &'static [u8], &'static str>>,
    index: OnceCell<Table<'t, &'static [u8], &'static [u8]>>,
    log: OnceCell<Table<'t, u64, &'static [u8]>>,
    collections: OnceCell<Table<'t, u64, &'static [u8]>>,
    databases: OnceCell<Table<'t, &'static str, &'static [u8]>>,
    meta: OnceCell<Table<'t, &'static str, u64>>,
    stats_cache: std::collections::BTreeMap<u64, CollStats>,
    /// Collection fingerprints changed in this transaction (`None`: unknown, an old store's counters).
    fp_cache: std::collections::BTreeMap<u64, Option<u64>>,
    pending: Vec<PendingMarker>,
    pending_colls: Vec<(String, String)>,
    pub catalog: &'t mut Catalog,
    pub catalog_changed: bool,
    pub shared: &'t Shared,
    pub log_bytes: u64,
    pub last_tick: u64,
    /// Markers of this group not yet inserted into the LOG table, and the first one's tick.
    log_buf: Vec<u8>,
    log_buf_first: u64,
    /// Every table change of the group, for the journal (see `store::journal`).
    redo: Redo,
}

/// A LOG value is closed before it would grow beyond this. redb stores a value larger than a page in a
/// power-of-two run of pages, so values kept just under 64 KiB waste little space.
const LOG_VALUE_BYTES: usize = (64 << 10) - 512;

/// Generates `name()` (shared) and `name_mut()` accessors that open a table on first use.
macro_rules! lazy_table {
    ($get:ident, $get_mut:ident, $field:ident, $def:expr, $k:ty, $v:ty) => {
        #[allow(dead_code)]
        fn $get(&self) -> ArangoResult<&Table<'t, $k, $v>> {
            if self.$field.get().is_none() {
                let t = self.txn.open_table($def).map_err(storage)?;
                let _ = self.$field.set(t);
            }
            self.$field
                .get()
                .ok_or_else(|| ArangoError::internal("table not open"))
        }
        fn $get_mut(&mut self) -> ArangoResult<&mut Table<'t, $k, $v>> {
            if self.$field.get().is_none() {
                let t = self.txn.open_table($def).map_err(storage)?;
                let _ = self.$field.set(t);
            }
            self.$field
                .get_mut()
                .ok_or_else(|| ArangoError::internal("table not open"))
        }
    };
}
impl<'t> WriteCtx<'t> {
    /// Deletes a document, answering what was there.
    pub(crate) fn delete_returning(
        &mut self,
        cid: u64,
        key: &str,
    ) -> ArangoResult<Option<Vec<u8>>> {
        let k = doc_key(cid, key);
        let old = self
            .docs_mut()?
            .remove(k.as_slice())
            .map_err(storage)?
            .map(|g| g.value().to_vec());
        self.redo.del(T::Docs, &k);
        self.fingerprint_change(cid, key, old.as_deref(), None)?;
        self.secondary_change(cid, key, old.as_deref(), None)?;
        Ok(old)
    }

    lazy_table!(docs_t, docs_mut, docs, DOCS, &'static [u8], &'static [u8]);
    lazy_table!(
        unique_t,
        unique_mut,
        unique,
        UNIQUE,
        &'static [u8],
        &'static str
    );
    lazy_table!(
        index_t,
        index_mut,
        index,
        INDEX,
        &'static [u8],
        &'static [u8]
    );
    lazy_table!(log_t, log_mut, log, LOG, u64, &'static [u8]);
    lazy_table!(
        collections_t,
        collections_mut,
        collections,
        COLLECTIONS,
        u64,
        &'static [u8]
    );
    lazy_table!(
        databases_t,
        databases_mut,
        databases,
        DATABASES,
        &'static str,
        &'static [u8]
    );
    lazy_table!(meta_t, meta_mut, meta, META, &'static str, u64);

    fn open(
        txn: &'t WriteTransaction,
        catalog: &'t mut Catalog,
        shared: &'t Shared,
        log_bytes: u64,
        last_tick: u64,
        journaled: bool,
        bufs: &mut Buffers,
    ) -> ArangoResult<Self> {
        Ok(WriteCtx {
            txn,
            docs: OnceCell::new(),
            unique: OnceCell::new(),
            index: OnceCell::new(),
            log: OnceCell::new(),
            collections: OnceCell::new(),
            databases: OnceCell::new(),
            meta: OnceCell::new(),
            stats_cache: std::collections::BTreeMap::new(),
            fp_cache: std::collections::BTreeMap::new(),
            pending: Vec::new(),
            pending_colls: Vec::new(),
            catalog,
            catalog_changed: false,
            shared,
            log_bytes,
            last_tick,
            log_buf: std::mem::take(&mut bufs.log),
            log_buf_first: 0,
            redo: Redo::new(journaled, std::mem::take(&mut bufs.redo)),
        })
    }

    /// Appends one marker with a fresh tick; returns the tick.
    pub fn append(
        &mut self,
        mtype: u16,
        tid: u64,
        db: &str,
        cuid: &str,
        data: Option<&[u8]>,
    ) -> ArangoResult<u64> {
        let tick = self.shared.clock.next();
        let size = 128 + db.len() * 2 + cuid.len() * 2 + data.map_or(0, |d| d.len());
        if !self.log_buf.is_empty() && self.log_buf.len() + size > LOG_VALUE_BYTES {
            self.flush_log()?;
        }
        if self.log_buf.is_empty() {
            self.log_buf_first = tick;
        }
        log::encode_into(&mut self.log_buf, tick, mtype, tid, db, cuid, data);
        self.last_tick = tick;
        Ok(tick)
    }

    /// Inserts the buffered markers as one LOG value.
    fn flush_log(&mut self) -> ArangoResult<()> {
        if self.log_buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.log_buf);
        let first = self.log_buf_first;
        self.log_mut()?
            .insert(first, buf.as_slice())
            .map_err(storage)?;
        self.redo.put(T::Log, &first.to_be_bytes(), &buf);
        self.log_bytes += buf.len() as u64;
        self.log_buf = buf;
        self.log_buf.clear();
        Ok(())
    }

    /// Writes the document markers collected by the current job: alone if there is one, wrapped in
    /// begin/commit with a fresh transaction id if there are several (or `tid` is given).
    /// Stores (or with `None` removes) a database's applier record.
    pub fn put_applier(&mut self, db: &str, value: Option<&[u8]>) -> ArangoResult<()> {
        let mut t = self.txn.open_table(APPLIER).map_err(storage)?;
        match value {
            Some(v) => {
                t.insert(db, v).map_err(storage)?;
                self.redo.put(T::Applier, db.as_bytes(), v);
            }
            None => {
                t.remove(db).map_err(storage)?;
                self.redo.del(T::Applier, db.as_bytes());
            }
        }
        Ok(())
    }

    pub fn flush_markers(&mut self, tid: Option<u64>) -> ArangoResult<()> {
        let pending = std::mem::take(&mut self.pending);
        let colls = std::mem::take(&mut self.pending_colls);
        if pending.is_empty() {
            return Ok(());
        }
        if pending.len() == 1 && tid.is_none() {
            let m = &pending[0];
            let (db, cuid) = &colls[m.coll];
            self.append(m.mtype, 0, db, cuid, Some(&m.data))?;
            return Ok(());
        }
        let tid = tid.unwrap_or_else(|| self.shared.clock.next());
        let db = &colls[pending[0].coll].0;
        self.append(marker::TRANSACTION_BEGIN, tid, db, "", None)?;
        for m in &pending {
            let (db, cuid) = &colls[m.coll];
            self.append(m.mtype, tid, db, cuid, Some(&m.data))?;
        }
        self.append(marker::TRANSACTION_COMMIT, tid, db, "", None)?;
        Ok(())
    }

    /// Queues a document marker for [`flush_markers`](Self::flush_markers).
    pub fn queue_marker(&mut self, mtype: u16, db: &str, cuid: &str, data: Vec<u8>) {
        let coll = match self.pending_colls.last() {
            Some((d, c)) if d == db && c == cuid => self.pending_colls.len() - 1,
            _ => {
                self.pending_colls.push((db.to_string(), cuid.to_string()));
                self.pending_colls.len() - 1
            }
        };
        self.pending.push(PendingMarker { mtype, coll, data });
    }

    /// Drops the markers a failed job queued.
    pub fn discard_markers(&mut self) {
        self.pending.clear();
        self.pending_colls.clear();
    }

    /// Persists a collection definition (catalog entry) in this transaction.
    pub fn save_collection(&mut self, def: &CollectionDef) -> ArangoResult<()> {
        let bytes = serde_json::to_vec(def).map_err(|e| ArangoError::internal(e.to_string()))?;
        self.collections_mut()?
            .insert(def.id, bytes.as_slice())
            .map_err(storage)?;
        self.redo.put(T::Collections, &def.id.to_be_bytes(), &bytes);
        self.catalog.add_collection(def.clone());
        self.catalog_changed = true;
        Ok(())
    }

    /// Removes a collection with all its documents, unique index entries and counters.
    pub fn erase_collection(&mut self, cid: u64) -> ArangoResult<()> {
        self.clear_documents(cid)?;
        self.docs_mut()?
            .remove(stats_key(cid).as_slice())
            .map_err(storage)?;
        self.redo.del(T::Docs, &stats_key(cid));
        self.stats_cache.remove(&cid);
        self.fp_cache.remove(&cid);
        self.collections_mut()?.remove(cid).map_err(storage)?;
        self.redo.del(T::Collections, &cid.to_be_bytes());
        self.catalog.remove_collection(cid);
        self.catalog_changed = true;
        Ok(())
    }

    /// Deletes all documents and unique entries of a collection and sets its count to 0.
    pub fn clear_documents(&mut self, cid: u64) -> ArangoResult<()> {
        let range = coll_range(cid);
        let r = range.start.as_slice()..range.end.as_slice();
        self.docs_mut()?
            .retain_in(r.clone(), |_, _| false)
            .map_err(storage)?;
        self.unique_mut()?
            .retain_in(r.clone(), |_, _| false)
            .map_err(storage)?;
        self.index_mut()?
            .retain_in(r, |_, _| false)
            .map_err(storage)?;
        self.redo.del_range(T::Docs, &range.start, &range.end);
        self.redo.del_range(T::Unique, &range.start, &range.end);
        self.redo.del_range(T::Index, &range.start, &range.end);
        let mut s = self.stats(cid)?;
        s.count = 0;
        self.fp_cache.insert(cid, Some(0));
        self.set_stats(cid, s)
    }

    /// Reads a collection's stored counters once into both caches (entries already cached stay).
    fn load_counters(&mut self, cid: u64) -> ArangoResult<()> {
        if self.stats_cache.contains_key(&cid) && self.fp_cache.contains_key(&cid) {
            return Ok(());
        }
        let stored = self
            .docs_t()?
            .get(stats_key(cid).as_slice())
            .map_err(storage)?
            .map(|g| g.value().to_vec());
        let (count, last_value) = stored.as_deref().map(decode_stats).unwrap_or_default();
        self.stats_cache
            .entry(cid)
            .or_insert(CollStats { count, last_value });
        self.fp_cache
            .entry(cid)
            .or_insert_with(|| stored_fingerprint(stored.as_deref()));
        Ok(())
    }

    /// Folds a document change into its collection's fingerprint (`old`/`new`: the stored versions).
    fn fingerprint_change(
        &mut self,
        cid: u64,
        key: &str,
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> ArangoResult<()> {
        let mut delta = Some(0u64);
        for d in [old, new].into_iter().flatten() {
            delta = delta
                .zip(docs::stored_fingerprint(key, d))
                .map(|(a, b)| a ^ b);
        }
        self.load_counters(cid)?;
        if let Some(slot) = self.fp_cache.get_mut(&cid) {
            *slot = slot.zip(delta).map(|(a, b)| a ^ b);
        }
        Ok(())
    }

    /// Deletes the entries of one index.
    pub fn clear_index(&mut self, cid: u64, iid: u64) -> ArangoResult<()> {
        let r = index_range(cid, iid);
        self.unique_mut()?
            .retain_in(r.start.as_slice()..r.end.as_slice(), |_, _| false)
            .map_err(storage)?;
        self.index_mut()?
            .retain_in(r.start.as_slice()..r.end.as_slice(), |_, _| false)
            .map_err(storage)?;
        self.redo.del_range(T::Unique, &r.start, &r.end);
        self.redo.del_range(T::Index, &r.start, &r.end);
        Ok(())
    }

    /// Fills secondary index `idx` of collection `cid` from its documents.
    pub fn build_secondary(&mut self, cid: u64, idx: &index::Secondary) -> ArangoResult<()> {
        let wanted = docs::top_level_fields(&idx.fields);
        let mut entries = Vec::new();
        self.scan_documents(cid, |key, bytes| {
            if let Some(k) = index::secondary_entry(cid, idx, &wanted, key, bytes)? {
                entries.push((k, key.to_string()));
            }
            Ok(())
        })?;
        entries.sort();
        for (k, key) in entries {
            self.index_mut()?
                .insert(k.as_slice(), key.as_bytes())
                .map_err(storage)?;
            self.redo.put(T::Index, &k, key.as_bytes());
        }
        Ok(())
    }

    /// Moves a document's secondary index entries from its old version to its new one.
    fn secondary_change(
        &mut self,
        cid: u64,
        key: &str,
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> ArangoResult<()> {
        let idxs = match self.catalog.collections.get(&cid) {
            Some(def) if index::has_secondary(def) => index::secondary_indexes(def),
            _ => return Ok(()),
        };
        let wanted = docs::top_level_fields(idxs.iter().flat_map(|i| &i.fields));
        let parse = |b: &[u8]| docs::partial_stored(&wanted, key, b);
        let old_doc = old.map(parse).transpose()?;
        let new_doc = new.map(parse).transpose()?;
        for idx in &idxs {
            let o = old_doc
                .as_ref()
                .and_then(|d| index::secondary_values(idx, d));
            let n = new_doc
                .as_ref()
                .and_then(|d| index::secondary_values(idx, d));
            if o == n {
                continue;
            }
            if let Some(o) = o {
                let k = secondary_key(cid, idx.iid, &o, key);
                self.index_mut()?.remove(k.as_slice()).map_err(storage)?;
                self.redo.del(T::Index, &k);
            }
            if let Some(n) = n {
                let k = secondary_key(cid, idx.iid, &n, key);
                self.index_mut()?
                    .insert(k.as_slice(), key.as_bytes())
                    .map_err(storage)?;
                self.redo.put(T::Index, &k, key.as_bytes());
            }
        }
        Ok(())
    }

    /// Calls `f` for every document of a collection (raw JSON), in key order.
    pub fn scan_documents(
        &self,
        cid: u64,
        mut f: impl FnMut(&str, &[u8]) -> ArangoResult<()>,
    ) -> ArangoResult<()> {
        let r = coll_range(cid);
        for item in self
            .docs_t()?
            .range(r.start.as_slice()..r.end.as_slice())
            .map_err(storage)?
        {
            let (k, v) = item.map_err(storage)?;
            f(key_of(k.value()), v.value())?;
        }
        Ok(())
    }

    pub fn save_database(&mut self, def: &crate::store::catalog::DatabaseDef) -> ArangoResult<()> {
        let bytes = serde_json::to_vec(def).map_err(|e| ArangoError::internal(e.to_string()))?;
        self.databases_mut()?
            .insert(def.name.as_str(), bytes.as_slice())
            .map_err(storage)?;
        self.redo.put(T::Databases, def.name.as_bytes(), &bytes);
        self.catalog.add_database(def.clone());
        self.catalog_changed = true;
        Ok(())
    }

    pub fn erase_database(&mut self, name: &str) -> ArangoResult<()> {
        let ids: Vec<u64> = self
            .catalog
            .databases
            .get(name)
            .map(|d| d.by_name.values().copied().collect())
            .unwrap_or_default();
        for cid in ids {
            self.erase_collection(cid)?;
        }
        self.databases_mut()?.remove(name).map_err(storage)?;
        self.redo.del(T::Databases, name.as_bytes());
        self.catalog.databases.remove(name);
        self.catalog_changed = true;
        Ok(())
    }

    /// Writes counters and meta values at the end of a group. The clock needs no saving (the log's last
    /// tick bounds it on restart); the id counter changes with the catalog only; the log size is saved
    /// with durable commits (after a crash it may lag by the last interval's markers: retention only).
    fn finish(&mut self, durable: bool, seq: u64) -> ArangoResult<()> {
        self.flush_log()?;
        // every group says which it is, journaled or not: replaying skips what the store holds
        self.meta_mut()?
            .insert(META_JOURNAL_SEQ, seq)
            .map_err(storage)?;
        self.redo
            .put(T::Meta, META_JOURNAL_SEQ.as_bytes(), &seq.to_be_bytes());
        let touched: Vec<u64> = self
            .stats_cache
            .keys()
            .chain(self.fp_cache.keys())
            .copied()
            .collect();
        for cid in &touched {
            self.load_counters(*cid)?;
        }
        let stats = std::mem::take(&mut self.stats_cache);
        let fps = std::mem::take(&mut self.fp_cache);
        for (cid, s) in stats {
            if self.catalog.collections.contains_key(&cid) {
                let fp = fps.get(&cid).copied().flatten();
                let value = encode_stats_with(s.count, s.last_value, fp);
                self.docs_mut()?
                    .insert(stats_key(cid).as_slice(), value.as_slice())
                    .map_err(storage)?;
                self.redo.put(T::Docs, &stats_key(cid), &value);
            }
        }

        if self.catalog_changed {
            let next_id = self
                .shared
                .next_id
                .load(std::sync::atomic::Ordering::Acquire);
            self.meta_mut()?
                .insert(META_NEXT_ID, next_id)
                .map_err(storage)?;
            self.redo
                .put(T::Meta, META_NEXT_ID.as_bytes(), &next_id.to_be_bytes());
        }
        if durable || self.catalog_changed {
            let bytes = self.log_bytes;
            self.meta_mut()?
                .insert(META_LOG_BYTES, bytes)
                .map_err(storage)?;
            self.redo
                .put(T::Meta, META_LOG_BYTES.as_bytes(), &bytes.to_be_bytes());
        }
        Ok(())
    }

    /// Prunes the log from its start: whole LOG values whose markers all have ticks ≤ `limit`, while
    /// `over(last tick of the value, log bytes)` says the log is too old or too big, never cutting a
    /// transaction in two. Returns the new floor, if it moved.
    pub fn prune(
        &mut self,
        limit: u64,
        over: impl Fn(u64, u64) -> bool,
        max_values: usize,
    ) -> ArangoResult<Option<u64>> {
        self.flush_log()?;
        let mut cut: Option<(u64, u64, u64)> = None; // (key, last tick, bytes freed) at a transaction boundary
        let mut freed = 0u64;
        for (seen, item) in self.log_t()?.range(..=limit).map_err(storage)?.enumerate() {
            let (k, v) = item.map_err(storage)?;
            let (key, raw) = (k.value(), v.value());
            let mut last: Option<(u64, bool)> = None;
            for e in log::entries(key, raw) {
                let e = e?;
                last = Some((e.tick, e.inside_transaction()));
            }
            let Some((last_tick, inside)) = last else {
                continue;
            };
            if last_tick > limit
                || !over(last_tick, self.log_bytes.saturating_sub(freed))
                || seen >= max_values
            {
                break;
            }
            freed += raw.len() as u64;
            if !inside {
                cut = Some((key, last_tick, freed));
            }
        }
        let Some((key, tick, bytes)) = cut else {
            return Ok(None);
        };
        self.log_mut()?
            .retain_in(..=key, |_, _| false)
            .map_err(storage)?;
        self.redo
            .del_range(T::Log, &0u64.to_be_bytes(), &key.to_be_bytes());
        self.log_bytes = self.log_bytes.saturating_sub(bytes);
        self.meta_mut()?
            .insert(META_LOG_FLOOR, tick)
            .map_err(storage)?;
        self.redo
            .put(T::Meta, META_LOG_FLOOR.as_bytes(), &tick.to_be_bytes());
        Ok(Some(tick))
    }
}

impl DocAccess for WriteCtx<'_> {
    fn get(&self, cid: u64, key: &str) -> ArangoResult<Option<Vec<u8>>> {
        // The empty key addresses the collection's counters, never a document.
        if key.is_empty() {
            return Ok(None);
        }
        Ok(self
            .docs_t()?
            .get(doc_key(cid, key).as_slice())
            .map_err(storage)?
            .map(|g| g.value().to_vec()))
    }
    fn put(&mut self, cid: u64, key: &str, doc: &[u8]) -> ArangoResult<()> {
        self.put_replacing(cid, key, doc).map(|_| ())
    }
    fn put_replacing(&mut self, cid: u64, key: &str, doc: &[u8]) -> ArangoResult<Option<Vec<u8>>> {
        let k = doc_key(cid, key);
        let old = self
            .docs_mut()?
            .insert(k.as_slice(), doc)
            .map_err(storage)?
            .map(|g| g.value().to_vec());
        self.redo.put(T::Docs, &k, doc);
        self.fingerprint_change(cid, key, old.as_deref(), Some(doc))?;
        self.secondary_change(cid, key, old.as_deref(), Some(doc))?;
        Ok(old)
    }
    fn delete(&mut self, cid: u64, key: &str) -> ArangoResult<()> {
        self.delete_returning(cid, key).map(|_| ())
    }
    fn unique_get(&self, cid: u64, iid: u64, val: &[u8]) -> ArangoResult<Option<String>> {
        Ok(self
            .unique_t()?
            .get(unique_key(cid, iid, val).as_slice())
            .map_err(storage)?
            .map(|g| g.value().to_string()))
    }
    fn unique_put(&mut self, cid: u64, iid: u64, val: &[u8], key: &str) -> ArangoResult<()> {
        let k = unique_key(cid, iid, val);
        self.unique_mut()?
            .insert(k.as_slice(), key)
            .map_err(storage)?;
        self.redo.put(T::Unique, &k, key.as_bytes());
        Ok(())
    }
    fn unique_claim(
        &mut self,
        cid: u64,
        iid: u64,
        val: &[u8],
        key: &str,
    ) -> ArangoResult<Option<String>> {
        let k = unique_key(cid, iid, val);
        let table = self.unique_mut()?;
        let old = table
            .insert(k.as_slice(), key)
            .map_err(storage)?
            .map(|g| g.value().to_string());
        match old {
            Some(other) if other != key => {
                // another document's value: it stays theirs, nothing changed
                table
                    .insert(k.as_slice(), other.as_str())
                    .map_err(storage)?;
                Ok(Some(other))
            }
            Some(_) => Ok(None),
            None => {
                self.redo.put(T::Unique, &k, key.as_bytes());
                Ok(None)
            }
        }
    }
    fn unique_delete(&mut self, cid: u64, iid: u64, val: &[u8], key: &str) -> ArangoResult<()> {
        let owned = self.unique_get(cid, iid, val)?;
        if owned.as_deref() == Some(key) {
            let k = unique_key(cid, iid, val);
            self.unique_mut()?.remove(k.as_slice()).map_err(storage)?;
            self.redo.del(T::Unique, &k);
        }
        Ok(())
    }
    fn stats(&mut self, cid: u64) -> ArangoResult<CollStats> {
        if let Some(s) = self.stats_cache.get(&cid) {
            return Ok(*s);
        }
        self.load_counters(cid)?;
        Ok(self.stats_cache.get(&cid).copied().unwrap_or_default())
    }
    fn set_stats(&mut self, cid: u64, stats: CollStats) -> ArangoResult<()> {
        self.stats_cache.insert(cid, stats);
        Ok(())
    }
    fn log_doc(&mut self, coll: &CollectionDef, mtype: u16, data: Vec<u8>) -> ArangoResult<()> {
        self.queue_marker(mtype, &coll.db, &coll.guid, data);
        Ok(())
    }
    fn put_new(&mut self, cid: u64, key: &str, doc: &[u8]) -> ArangoResult<bool> {
        let k = doc_key(cid, key);
        let old = self
            .docs_mut()?
            .insert(k.as_slice(), doc)
            .map_err(storage)?
            .map(|g| g.value().to_vec());
        match old {
            None => {
                self.redo.put(T::Docs, &k, doc);
                self.fingerprint_change(cid, key, None, Some(doc))?;
                self.secondary_change(cid, key, None, Some(doc))?;
                Ok(true)
            }
            Some(old) => {
                // the existing document stays: nothing changed
                self.docs_mut()?
                    .insert(k.as_slice(), old.as_slice())
                    .map_err(storage)?;
                Ok(false)
            }
        }
    }
    fn exists(&self, cid: u64, key: &str) -> ArangoResult<bool> {
        if key.is_empty() {
            return Ok(false);
        }
        Ok(self
            .docs_t()?
            .get(doc_key(cid, key).as_slice())
            .map_err(storage)?
            .is_some())
    }
}

/// Writer-side state that lives across groups.
struct WriterState {
    working: Catalog,
    log_bytes: u64,
    last_tick: u64,
    dirty: bool,
    /// Only relaxed jobs wrote since the last durable commit.
    relaxed_dirty: bool,
    last_sync: Instant,
    last_prune: Instant,
    /// Non-durable groups are written here before they commit (see `store::journal`).
    journal: Journal,
    /// A relaxed group wrote without the journal since the last durable commit: the next other group
    /// is made durable, so the journal never holds groups that follow one it lacks.
    unjournaled: bool,
    /// The sequence number of the last committed group (stored with each group, see `store::journal`).
    seq: u64,
    bufs: Buffers,
}

/// The buffers a group writes its log value and its journal record into, kept from one group to the
/// next: growing fresh ones for every group of a bulk load cost the writer a tenth of its time (page
/// faults, copies, and the allocator returning the memory in between).
#[derive(Default)]
pub(crate) struct Buffers {
    log: Vec<u8>,
    redo: Vec<u8>,
}

impl Buffers {
    /// Buffers above this capacity are not kept (a huge transaction's memory is given back).
    const KEEP: usize = 16 << 20;

    fn keep(slot: &mut Vec<u8>, buf: Vec<u8>) {
        if buf.capacity() <= Self::KEEP {
            *slot = buf;
        }
    }
}

/// The writer loop; returns when every sender is gone, after a final durable commit.
pub(crate) fn run(
    shared: Arc<Shared>,
    rx: Receiver<Job>,
    log_bytes: u64,
    last_tick: u64,
    journal: Journal,
    seq: u64,
) {
    let mut st = WriterState {
        working: (**shared.catalog.read().unwrap_or_else(|p| p.into_inner())).clone(),
        log_bytes,
        last_tick,
        dirty: false,
        relaxed_dirty: false,
        last_sync: Instant::now(),
        last_prune: Instant::now(),
        journal,
        unjournaled: false,
        seq,
        bufs: Buffers::default(),
    };
    let tick_every = shared
        .config
        .sync_interval
        .min(Duration::from_millis(250))
        .max(Duration::from_millis(1));
    let mut deferred: Option<Job> = None;
    let mut last_group = 1usize;
    loop {
        let first = match deferred.take() {
            Some(j) => Some(j),
            None => match rx.recv_timeout(tick_every) {
                Ok(j) => Some(j),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            },
        };
        if let Some(first) = first {
            let mut group = vec![first];
            if !group[0].exclusive {
                let mut yielded = last_group < 2;
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(j) if j.exclusive => {
                            deferred = Some(j);
                            break;
                        }
                        Ok(j) => group.push(j),
                        // With several writers about, let them hand in what they are preparing: one
                        // yield, no timed wait, so a lone writer loses nothing.
                        Err(_) if !yielded => {
                            yielded = true;
                            std::thread::yield_now();
                        }
                        Err(_) => break,
                    }
                }
            }
            last_group = group.len();
            run_group(&shared, &mut st, group);
        }
        let since = st.last_sync.elapsed();
        if (st.dirty && since >= shared.config.sync_interval)
            || (st.relaxed_dirty && since >= RELAXED_SYNC.max(shared.config.sync_interval))
        {
            sync_now(&shared, &mut st);
        }
        if st.last_prune.elapsed() >= shared.config.prune_interval {
            st.last_prune = Instant::now();
            let limit = shared.prune_limit(st.last_tick);
            let floor_of = shared.clone();
            let mut job = make_job(prune_job(limit, false), false, true, move |res| match res {
                Ok(Some(floor)) => floor_of.set_log_floor(floor),
                Ok(None) => {}
                Err(e) => tracing::error!("log pruning failed: {e}"),
            });
            job.relaxed = true;
            run_group(&shared, &mut st, vec![job]);
        }
    }
    if let Some(j) = deferred {
        run_group(&shared, &mut st, vec![j]);
    }
    if st.dirty || st.relaxed_dirty {
        sync_now(&shared, &mut st);
    }
}

fn run_group(shared: &Shared, st: &mut WriterState, group: Vec<Job>) {
    let relaxed = group.iter().all(|j| j.relaxed);
    let sync = shared.config.sync_every_commit
        || group.iter().any(|j| j.sync)
        || (!relaxed && st.unjournaled);
    // what a commit without fsync needs before it may happen (relaxed groups go without)
    let journaled = !sync && !relaxed;
    let seq = st.seq + 1;
    let began = Instant::now();
    let jobs = group.len() as u64;
    let metrics = shared.metrics.get();
    let mut txn = match shared.db.begin_write() {
        Ok(t) => t,
        Err(e) => {
            // The jobs are dropped unrun: their callers see the closed reply channel as an error.
            drop(group);
            tracing::error!("cannot begin write transaction: {}", storage(e));
            return;
        }
    };
    let _ = txn.set_durability(if sync {
        Durability::Immediate
    } else {
        Durability::None
    });
    let mut finished = Vec::with_capacity(group.len());
    let mut rollback = false;
    let mut outcome: Option<(u64, u64, bool, Vec<u8>, bool)> = None;
    let mut group_err: Option<ArangoError> = None;
    {
        match WriteCtx::open(
            &txn,
            &mut st.working,
            shared,
            st.log_bytes,
            st.last_tick,
            journaled,
            &mut st.bufs,
        ) {
            Ok(mut ctx) => {
                for job in group {
                    let f = (job.run)(&mut ctx);
                    rollback |= f.rollback;
                    finished.push(f);
                    if rollback {
                        break;
                    }
                }
                if !rollback {
                    match ctx.finish(sync, seq) {
                        Ok(()) => {
                            outcome = Some((
                                ctx.log_bytes,
                                ctx.last_tick,
                                ctx.catalog_changed,
                                ctx.redo.take(),
                                ctx.redo.wrote(),
                            ))
                        }
                        Err(e) => {
                            rollback = true;
                            group_err = Some(e);
                        }
                    }
                }
                Buffers::keep(&mut st.bufs.log, std::mem::take(&mut ctx.log_buf));
            }
            Err(e) => {
                rollback = true;
                group_err = Some(e);
            }
        }
    }
    let reset_catalog = |st: &mut WriterState| {
        st.working = (**shared.catalog.read().unwrap_or_else(|p| p.into_inner())).clone();
    };
    if rollback {
        let _ = txn.abort();
        if let Some(m) = metrics {
            m.counters.failed_commits.increment(1);
        }
        reset_catalog(st);
        let err = group_err.unwrap_or_else(|| {
            ArangoError::internal("write aborted together with a failed operation")
        });
        for f in finished {
            (f.reply)(if f.rollback { None } else { Some(err.clone()) });
        }
        return;
    }
    let (log_bytes, last_tick, catalog_changed, mut redo, wrote) =
        outcome.unwrap_or((st.log_bytes, st.last_tick, false, Vec::new(), false));
    // A commit without fsync is journaled first: from here on a process crash cannot take it, and
    // nobody has seen or been told of it yet. A durable commit needs no journal, nor do relaxed groups
    // (a follower's applied changes, which it fetches again together with the position stored with
    // them; log pruning): skipping them keeps a follower's apply path as fast as before.
    let journal_before = st.journal.len();
    let appended = if journaled {
        st.journal.append(seq, &mut redo)
    } else {
        Ok(())
    };
    Buffers::keep(&mut st.bufs.redo, redo);
    if let Err(e) = appended {
        let _ = txn.abort();
        reset_catalog(st);
        tracing::error!("{e}");
        for f in finished {
            (f.reply)(Some(e.clone()));
        }
        return;
    }
    // A commit that changes the catalog becomes visible together with its catalog: snapshots take the
    // catalog and begin their read under the catalog lock (see `Store::snapshot`), so none can see the
    // new data with the old catalog.
    let mut published = catalog_changed.then(|| {
        (
            Arc::new(st.working.clone()),
            shared.catalog.write().unwrap_or_else(|p| p.into_inner()),
        )
    });
    match txn.commit() {
        Ok(()) => {
            st.seq = seq;
            st.log_bytes = log_bytes;
            st.last_tick = last_tick;
            if let Some((cat, mut guard)) = published.take() {
                *guard = cat;
            }
            if sync {
                st.dirty = false;
                st.relaxed_dirty = false;
                st.last_sync = Instant::now();
                st.journal.clear();
                st.unjournaled = false;
            } else if relaxed {
                st.unjournaled |= wrote;
                st.relaxed_dirty = true;
            } else {
                st.dirty = true;
            }
            shared
                .log_bytes
                .store(log_bytes, std::sync::atomic::Ordering::Relaxed);
            shared.committed.send_replace(last_tick);
            for f in finished {
                (f.reply)(None);
            }
            if let Some(m) = metrics {
                m.commit_seconds.record(began.elapsed().as_secs_f64());
                m.counters.commits.increment(1);
                m.counters.writes.increment(jobs);
                if sync {
                    m.counters.synced_commits.increment(1);
                }
            }
        }
        Err(e) => {
            drop(published);
            if let Some(m) = metrics {
                m.counters.failed_commits.increment(1);
            }
            reset_catalog(st);
            st.journal.undo(journal_before);
            let err = storage(e);
            tracing::error!("commit failed: {err}");
            for f in finished {
                (f.reply)(Some(err.clone()));
            }
        }
    }
}

/// A durable empty commit: makes all earlier non-durable commits durable.
fn sync_now(shared: &Shared, st: &mut WriterState) {
    let result = shared
        .db
        .begin_write()
        .map_err(storage)
        .and_then(|mut txn| {
            let _ = txn.set_durability(Durability::Immediate);
            {
                let mut meta = txn.open_table(META).map_err(storage)?;
                meta.insert(META_LOG_BYTES, st.log_bytes).map_err(storage)?;
            }
            txn.commit().map_err(storage)
        });
    match result {
        Ok(()) => {
            if let Some(m) = shared.metrics.get() {
                m.counters.synced_commits.increment(1);
            }
            st.dirty = false;
            st.relaxed_dirty = false;
            st.last_sync = Instant::now();
            st.journal.clear();
            st.unjournaled = false;
        }
        Err(e) => tracing::error!("periodic sync failed: {e}"),
    }
}

/// Wraps a typed job: `on_done` receives the job's result, or the group's error if the commit failed.
/// Exclusive jobs roll back when they fail.
pub(crate) fn make_job<T: Send + 'static>(
    f: impl for<'a> FnOnce(&mut WriteCtx<'a>) -> ArangoResult<T> + Send + 'static,
    sync: bool,
    exclusive: bool,
    on_done: impl FnOnce(ArangoResult<T>) + Send + 'static,
) -> Job {
    Job {
        relaxed: false,
        run: Box::new(move |ctx: &mut WriteCtx<'_>| {
            let res = f(ctx);
            let failed = res.is_err();
            if failed {
                ctx.discard_markers();
            }
            // Non-exclusive jobs validate before they write, so their errors leave nothing to undo —
            // except storage errors, which poison the transaction.
            let rollback = failed
                && (exclusive
                    || matches!(&res, Err(e) if e.error_num == crate::error::codes::INTERNAL));
            Finished {
                reply: Box::new(move |group_err| {
                    on_done(match group_err {
                        Some(e) => Err(e),
                        None => res,
                    })
                }),
                rollback,
            }
        }),
        sync,
        exclusive,
    }
}

/// One prune pass (up to 100,000 markers); returns the new floor if it moved.
pub(crate) fn prune_job(
    limit: u64,
    force_all: bool,
) -> impl for<'a> FnOnce(&mut WriteCtx<'a>) -> ArangoResult<Option<u64>> + Send {
    move |ctx: &mut WriteCtx<'_>| {
        let max_age_ms = ctx.shared.config.log_max_age.as_millis() as u64;
        let max_bytes = ctx.shared.config.log_max_bytes;
        let now = crate::store::clock::now_ms();
        let over = |tick: u64, bytes: u64| {
            force_all
                || crate::store::clock::millis_of(tick).saturating_add(max_age_ms) < now
                || bytes > max_bytes
        };
        let mut floor = None;
        for _ in 0..5 {
            match ctx.prune(limit, over, 2_000)? {
                Some(f) => floor = Some(f),
                None => break,
            }
        }
        Ok(floor)
    }
}
