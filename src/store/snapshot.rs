//! A consistent, read-only view of the store: one redb read transaction plus the catalog of its time.
//! Reads never block writers; a snapshot can be held as long as a reader needs it (a replication batch,
//! a stream transaction).

use crate::error::ArangoResult;
use crate::store::catalog::Catalog;
use crate::store::clock::{rev_from_string, rev_to_string};
use crate::store::docs::{CollStats, parse_doc, parse_doc_in};
use crate::store::index::document_checksum;
use crate::store::log::{self, LogChunk, LogQuery, LogRecord, RawRecord, marker};
use crate::store::storage;
use crate::store::tables::*;
use redb::{ReadTransaction, ReadableTable};
use serde_json::{Map, Value};
use std::sync::Arc;

/// A point-in-time view of the store; clones share it.
pub struct Snapshot {
    txn: Arc<ReadTransaction>,
    catalog: Arc<Catalog>,
    /// The documents table, opened on first use (a query reads it once per document).
    docs: std::sync::OnceLock<redb::ReadOnlyTable<&'static [u8], &'static [u8]>>,
}

impl Clone for Snapshot {
    fn clone(&self) -> Self {
        Snapshot {
            txn: self.txn.clone(),
            catalog: self.catalog.clone(),
            docs: std::sync::OnceLock::new(),
        }
    }
}

impl Snapshot {
    pub(crate) fn new(txn: ReadTransaction, catalog: Arc<Catalog>) -> Self {
        Snapshot {
            txn: Arc::new(txn),
            catalog,
            docs: std::sync::OnceLock::new(),
        }
    }

    /// The catalog as of the snapshot.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The collection's name as of the snapshot ("" if unknown).
    fn name_of(&self, cid: u64) -> &str {
        self.catalog
            .collections
            .get(&cid)
            .map(|c| c.name.as_str())
            .unwrap_or("")
    }

    fn docs_table(&self) -> ArangoResult<&redb::ReadOnlyTable<&'static [u8], &'static [u8]>> {
        if let Some(t) = self.docs.get() {
            return Ok(t);
        }
        let t = self.txn.open_table(DOCS).map_err(storage)?;
        Ok(self.docs.get_or_init(|| t))
    }

    /// A document's stored JSON bytes (`_id` as stored; see `docs::document_bytes_in`).
    pub fn raw_document(&self, cid: u64, key: &str) -> ArangoResult<Option<Vec<u8>>> {
        // The empty key addresses the collection's counters, never a document.
        if key.is_empty() {
            return Ok(None);
        }
        let t = self.docs_table()?;
        Ok(t.get(doc_key(cid, key).as_slice())
            .map_err(storage)?
            .map(|g| g.value().to_vec()))
    }

    /// Whether a document exists (without copying it).
    pub fn contains_document(&self, cid: u64, key: &str) -> ArangoResult<bool> {
        if key.is_empty() {
            return Ok(false);
        }
        let t = self.docs_table()?;
        Ok(t.get(doc_key(cid, key).as_slice())
            .map_err(storage)?
            .is_some())
    }

    /// A document, parsed.
    pub fn document(&self, cid: u64, key: &str) -> ArangoResult<Option<Value>> {
        match self.raw_document(cid, key)? {
            Some(b) => Ok(Some(Value::Object(parse_doc_in(&b, self.name_of(cid))?))),
            None => Ok(None),
        }
    }

    /// Calls `f(key, json)` for each document of a collection in key order (byte-wise); stops early when
    /// `f` returns `false`.
    pub fn for_each_raw(
        &self,
        cid: u64,
        mut f: impl FnMut(&str, &[u8]) -> bool,
    ) -> ArangoResult<()> {
        let t = self.docs_table()?;
        let r = coll_range(cid);
        for item in t
            .range(r.start.as_slice()..r.end.as_slice())
            .map_err(storage)?
        {
            let (k, v) = item.map_err(storage)?;
            if !f(key_of(k.value()), v.value()) {
                break;
            }
        }
        Ok(())
    }

    /// Like [`Snapshot::for_each_raw`] over the keys in `from..to` (`None`: from the first, to the
    /// last).
    pub fn for_each_raw_between(
        &self,
        cid: u64,
        from: Option<&str>,
        to: Option<&str>,
        mut f: impl FnMut(&str, &[u8]) -> bool,
    ) -> ArangoResult<()> {
        let t = self.docs_table()?;
        let r = coll_range(cid);
        let start = from.map_or(r.start, |k| doc_key(cid, k));
        let end = to.map_or(r.end, |k| doc_key(cid, k));
        if start >= end {
            return Ok(());
        }
        for item in t.range(start.as_slice()..end.as_slice()).map_err(storage)? {
            let (k, v) = item.map_err(storage)?;
            if !f(key_of(k.value()), v.value()) {
                break;
            }
        }
        Ok(())
    }

    /// The first and the last document key of a collection.
    pub fn key_bounds(&self, cid: u64) -> ArangoResult<Option<(String, String)>> {
        let t = self.docs_table()?;
        let r = coll_range(cid);
        let mut range = t
            .range(r.start.as_slice()..r.end.as_slice())
            .map_err(storage)?;
        let first = match range.next() {
            Some(item) => key_of(item.map_err(storage)?.0.value()).to_string(),
            None => return Ok(None),
        };
        let last = match range.next_back() {
            Some(item) => key_of(item.map_err(storage)?.0.value()).to_string(),
            None => first.clone(),
        };
        Ok(Some((first, last)))
    }

    /// Like [`Snapshot::for_each_raw`], starting at the first key `>= from` (`inclusive`) or `> from`;
    /// `from` "" starts at the beginning.
    pub fn for_each_raw_from(
        &self,
        cid: u64,
        from: &str,
        inclusive: bool,
        mut f: impl FnMut(&str, &[u8]) -> bool,
    ) -> ArangoResult<()> {
        let t = self.docs_table()?;
        let r = coll_range(cid);
        let start = doc_key(cid, from);
        for item in t
            .range(start.as_slice()..r.end.as_slice())
            .map_err(storage)?
        {
            let (k, v) = item.map_err(storage)?;
            let key = key_of(k.value());
            if key.is_empty() || (!inclusive && key == from) {
                continue;
            }
            if !f(key, v.value()) {
                break;
            }
        }
        Ok(())
    }

    /// Calls `f(key, _rev)` for the documents from `from` on (see [`Snapshot::for_each_raw_from`]) until
    /// it returns `false`; a stored document without `_rev` is an internal error.
    pub fn for_each_key_rev(
        &self,
        cid: u64,
        from: &str,
        inclusive: bool,
        mut f: impl FnMut(&str, &str) -> bool,
    ) -> ArangoResult<()> {
        let mut err = None;
        self.for_each_raw_from(
            cid,
            from,
            inclusive,
            |key, raw| match crate::store::docs::stored_rev(raw) {
                Some(rev) => f(key, rev),
                None => {
                    err = Some(crate::error::ArangoError::internal(format!(
                        "stored document '{key}' has no _rev"
                    )));
                    false
                }
            },
        )?;
        err.map_or(Ok(()), Err)
    }

    /// Documents of a collection whose key is greater than `after` (`None`: from the start), at most
    /// `limit` of them, in key order — for paging through big collections.
    pub fn documents_after(
        &self,
        cid: u64,
        after: Option<&str>,
        limit: usize,
    ) -> ArangoResult<Vec<Value>> {
        let t = self.docs_table()?;
        let mut out = Vec::new();
        let r = coll_range(cid);
        let start = after.map_or(r.start, |k| doc_key(cid, k));
        for item in t
            .range(start.as_slice()..r.end.as_slice())
            .map_err(storage)?
        {
            let (k, v) = item.map_err(storage)?;
            if Some(key_of(k.value())) == after {
                continue;
            }
            if out.len() >= limit {
                break;
            }
            out.push(Value::Object(parse_doc_in(v.value(), self.name_of(cid))?));
        }
        Ok(out)
    }

    /// Calls `f` with the document key of each entry of secondary index `iid` of collection `cid` whose
    /// values (in `index::sortable` form) lie in `from..to` (`to`: to the index's end), ascending or
    /// descending, until `f` returns `false`.
    pub fn for_each_index_entry(
        &self,
        cid: u64,
        iid: u64,
        from: &[u8],
        to: Option<&[u8]>,
        descending: bool,
        mut f: impl FnMut(&str) -> bool,
    ) -> ArangoResult<()> {
        let t = self.txn.open_table(INDEX).map_err(storage)?;
        let lo = secondary_key(cid, iid, from, "");
        let hi = match to {
            Some(to) => secondary_key(cid, iid, to, ""),
            None => index_range(cid, iid).end,
        };
        if lo >= hi {
            return Ok(());
        }
        let range = t.range(lo.as_slice()..hi.as_slice()).map_err(storage)?;
        if descending {
            for item in range.rev() {
                let (_, v) = item.map_err(storage)?;
                if !f(std::str::from_utf8(v.value()).unwrap_or("")) {
                    break;
                }
            }
        } else {
            for item in range {
                let (_, v) = item.map_err(storage)?;
                if !f(std::str::from_utf8(v.value()).unwrap_or("")) {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Calls `f` with each document of a collection, parsed (with `_id`), in key order, until it
    /// returns `false`.
    pub fn for_each_document(
        &self,
        cid: u64,
        mut f: impl FnMut(Map<String, Value>) -> bool,
    ) -> ArangoResult<()> {
        let mut err = None;
        let name = self.name_of(cid);
        self.for_each_raw(cid, |_, b| match parse_doc_in(b, name) {
            Ok(d) => f(d),
            Err(e) => {
                err = Some(e);
                false
            }
        })?;
        match err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// All documents of a collection, parsed, in key order.
    pub fn documents(&self, cid: u64) -> ArangoResult<Vec<Map<String, Value>>> {
        let mut out = Vec::new();
        self.for_each_document(cid, |d| {
            out.push(d);
            true
        })?;
        Ok(out)
    }

    /// Document count and key generator state.
    pub fn stats(&self, cid: u64) -> ArangoResult<CollStats> {
        let t = self.docs_table()?;
        Ok(t.get(stats_key(cid).as_slice())
            .map_err(storage)?
            .map(|g| {
                let (count, last_value) = decode_stats(g.value());
                CollStats { count, last_value }
            })
            .unwrap_or_default())
    }

    /// The collection's fingerprint: the XOR of `docs::fingerprint_of(_key, _rev)` over its documents.
    pub fn fingerprint(&self, cid: u64) -> ArangoResult<Option<u64>> {
        let t = self.docs_table()?;
        let counters = t.get(stats_key(cid).as_slice()).map_err(storage)?;
        Ok(stored_fingerprint(counters.as_ref().map(|g| g.value())))
    }

    /// The key holding a unique index value.
    pub fn unique_get(&self, cid: u64, iid: u64, val: &[u8]) -> ArangoResult<Option<String>> {
        let t = self.txn.open_table(UNIQUE).map_err(storage)?;
        Ok(t.get(unique_key(cid, iid, val).as_slice())
            .map_err(storage)?
            .map(|g| g.value().to_string()))
    }

    /// Number of unique index entries of an index (for checks and figures).
    pub fn unique_entries(&self, cid: u64, iid: u64) -> ArangoResult<u64> {
        let t = self.txn.open_table(UNIQUE).map_err(storage)?;
        let mut n = 0;
        let r = index_range(cid, iid);
        for item in t
            .range(r.start.as_slice()..r.end.as_slice())
            .map_err(storage)?
        {
            item.map_err(storage)?;
            n += 1;
        }
        Ok(n)
    }

    /// XOR of the per-document checksums: independent of insertion order.
    pub fn checksum(&self, cid: u64, with_revisions: bool, with_data: bool) -> ArangoResult<u64> {
        Ok(self
            .checksum_and_revision(cid, with_revisions, with_data)?
            .0)
    }

    /// The checksum and the collection revision (its newest `_rev`, `"0"` when empty) from one scan.
    pub fn checksum_and_revision(
        &self,
        cid: u64,
        with_revisions: bool,
        with_data: bool,
    ) -> ArangoResult<(u64, String)> {
        let mut sum = 0u64;
        let mut newest = 0u64;
        let mut err = None;
        self.for_each_raw(cid, |_, b| match parse_doc(b) {
            Ok(d) => {
                sum ^= document_checksum(&d, with_revisions, with_data);
                if let Some(r) = d
                    .get("_rev")
                    .and_then(Value::as_str)
                    .and_then(rev_from_string)
                {
                    newest = newest.max(r);
                }
                true
            }
            Err(e) => {
                err = Some(e);
                false
            }
        })?;
        match err {
            Some(e) => Err(e),
            None => Ok((
                sum,
                if newest == 0 {
                    "0".into()
                } else {
                    rev_to_string(newest)
                },
            )),
        }
    }

    /// The first tick in the log.
    pub fn first_tick(&self) -> ArangoResult<Option<u64>> {
        let t = self.txn.open_table(LOG).map_err(storage)?;
        Ok(t.first().map_err(storage)?.map(|(k, _)| k.value()))
    }

    /// The last tick in the log.
    pub fn last_log_tick(&self) -> ArangoResult<Option<u64>> {
        let t = self.txn.open_table(LOG).map_err(storage)?;
        last_tick_of(&t)
    }

    /// The snapshot's tick: its newest log marker, or the log floor when retention emptied the log. A
    /// reader that has everything of this snapshot continues tailing after this tick.
    pub fn tick(&self) -> ArangoResult<u64> {
        let t = self.txn.open_table(LOG).map_err(storage)?;
        let meta = self.txn.open_table(META).map_err(storage)?;
        let floor = meta
            .get(META_LOG_FLOOR)
            .map_err(storage)?
            .map(|g| g.value())
            .unwrap_or(0);
        Ok(last_tick_of(&t)?.unwrap_or(0).max(floor))
    }

    /// Reads markers per the query (see [`LogQuery`]).
    pub fn read_log(&self, q: &LogQuery<'_>) -> ArangoResult<LogChunk> {
        let mut records = Vec::new();
        let mut chunk = self.scan_log(q, |e| records.push(e.to_record()))?;
        chunk.records = records;
        Ok(chunk)
    }

    /// Reads markers per the query, appending each as one line (`json\n`) to `out` — the body of a
    /// `/_api/wal/tail` response, without an intermediate copy.
    pub fn read_log_lines(&self, q: &LogQuery<'_>, out: &mut Vec<u8>) -> ArangoResult<LogChunk> {
        self.scan_log(q, |e| {
            out.extend_from_slice(e.json);
            out.push(b'\n');
        })
    }

    /// The scan behind [`Snapshot::read_log`]: calls `emit` for each marker the query selects.
    fn scan_log(
        &self,
        q: &LogQuery<'_>,
        mut emit: impl FnMut(&RawRecord<'_>),
    ) -> ArangoResult<LogChunk> {
        let t = self.txn.open_table(LOG).map_err(storage)?;
        let mut chunk = LogChunk {
            last_scanned: q.from,
            last_tick: last_tick_of(&t)?.unwrap_or(0),
            ..LogChunk::default()
        };
        if q.from >= q.to {
            return Ok(chunk);
        }
        // The value holding the first wanted marker may start at or before `from`.
        let start = t
            .range(..=q.from)
            .map_err(storage)?
            .next_back()
            .transpose()
            .map_err(storage)?
            .map(|(k, _)| k.value())
            .unwrap_or(0);
        let mut bytes = 0usize;
        let mut scanned = 0usize;
        let mut full = false;
        // With a filter: the begin marker of the current transaction, held back until an operation of it
        // is kept, and whether it was emitted.
        let mut pending_begin: Option<LogRecord> = None;
        let mut begin_emitted = false;
        let mut out = |e: &RawRecord<'_>, chunk: &mut LogChunk, bytes: &mut usize| {
            *bytes += e.json.len();
            chunk.count += 1;
            chunk.last_included = e.tick;
            emit(e);
        };
        for item in t.range(start..=q.to).map_err(storage)? {
            let (k, v) = item.map_err(storage)?;
            for e in log::entries(k.value(), v.value()) {
                let e = e?;
                if e.tick <= q.from {
                    continue;
                }
                if e.tick > q.to {
                    return Ok(chunk);
                }
                if full {
                    chunk.has_more = true;
                    return Ok(chunk);
                }
                chunk.last_scanned = e.tick;
                scanned += 1;
                let inside = q.whole_transactions && e.inside_transaction();
                if q.db.is_some_and(|db| e.db != db.as_bytes()) {
                    // another database's markers: scanned, not emitted; a long run of them still ends
                    // the chunk so one request never scans the whole log
                    full = !inside && scanned >= SCAN_LIMIT;
                    continue;
                }
                let emitted = match q.filter {
                    None => {
                        out(&e, &mut chunk, &mut bytes);
                        true
                    }
                    Some(keep) => match e.mtype {
                        marker::TRANSACTION_BEGIN => {
                            pending_begin = Some(e.to_record());
                            begin_emitted = false;
                            false
                        }
                        marker::TRANSACTION_COMMIT | marker::TRANSACTION_ABORT => {
                            let was = begin_emitted;
                            if was {
                                out(&e, &mut chunk, &mut bytes);
                            }
                            pending_begin = None;
                            begin_emitted = false;
                            was
                        }
                        _ if keep(&e) => {
                            if e.tid != 0
                                && let Some(b) = pending_begin.take()
                            {
                                let view = RawRecord {
                                    tick: b.tick,
                                    mtype: b.mtype,
                                    tid: b.tid,
                                    db: b.db.as_bytes(),
                                    cuid: b.cuid.as_bytes(),
                                    json: &b.json,
                                };
                                out(&view, &mut chunk, &mut bytes);
                                begin_emitted = true;
                            }
                            out(&e, &mut chunk, &mut bytes);
                            true
                        }
                        _ => false,
                    },
                };
                if emitted || !inside {
                    full = !inside
                        && (chunk.count >= q.max_count
                            || bytes >= q.max_bytes
                            || scanned >= SCAN_LIMIT);
                }
            }
        }
        Ok(chunk)
    }
}

/// At most this many markers are looked at per read (ending at a transaction boundary), however many
/// a filter drops.
const SCAN_LIMIT: usize = 1 << 20;

/// The tick of the last marker in the LOG table.
pub(crate) fn last_tick_of(
    t: &impl ReadableTable<u64, &'static [u8]>,
) -> ArangoResult<Option<u64>> {
    let Some((k, v)) = t.last().map_err(storage)? else {
        return Ok(None);
    };
    let mut last = None;
    for e in log::entries(k.value(), v.value()) {
        last = Some(e?.tick);
    }
    Ok(last)
}
