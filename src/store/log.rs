//! The replication log: marker types, the on-disk record format, and the JSON markers in ArangoDB's shape.
//!
//! Each record is stored under its tick with a small binary header (type, transaction id, database,
//! collection `globallyUniqueId`) followed by the marker exactly as `/_api/wal/tail` sends it, so tailing
//! filters on the header and copies the JSON bytes without parsing them.

use crate::error::{ArangoError, ArangoResult};

/// Marker types (`TRI_replication_operation_e`).
pub mod marker {
    pub const DATABASE_CREATE: u16 = 1100;
    pub const DATABASE_DROP: u16 = 1101;
    pub const COLLECTION_CREATE: u16 = 2000;
    pub const COLLECTION_DROP: u16 = 2001;
    pub const COLLECTION_RENAME: u16 = 2002;
    pub const COLLECTION_CHANGE: u16 = 2003;
    pub const COLLECTION_TRUNCATE: u16 = 2004;
    pub const INDEX_CREATE: u16 = 2100;
    pub const INDEX_DROP: u16 = 2101;
    pub const TRANSACTION_BEGIN: u16 = 2200;
    pub const TRANSACTION_COMMIT: u16 = 2201;
    pub const TRANSACTION_ABORT: u16 = 2202;
    pub const DOCUMENT_UPSERT: u16 = 2300;
    pub const DOCUMENT_REMOVE: u16 = 2302;
}

/// One marker of the replication log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub tick: u64,
    pub mtype: u16,
    /// Transaction id, 0 for a standalone operation.
    pub tid: u64,
    /// Database name.
    pub db: String,
    /// Collection `globallyUniqueId` ("" for database and transaction markers).
    pub cuid: String,
    /// The marker as one compact JSON object (no trailing newline).
    pub json: Vec<u8>,
}

impl LogRecord {
    /// The marker parsed as JSON.
    pub fn to_value(&self) -> ArangoResult<serde_json::Value> {
        serde_json::from_slice(&self.json).map_err(|e| {
            ArangoError::internal(format!("corrupt log record at tick {}: {e}", self.tick))
        })
    }

    /// Whether this marker belongs to a multi-operation transaction that continues after it.
    pub fn inside_transaction(&self) -> bool {
        self.tid != 0
            && self.mtype != marker::TRANSACTION_COMMIT
            && self.mtype != marker::TRANSACTION_ABORT
    }
}

/// Builds the marker JSON with ArangoDB's attribute order for each type (spec §1.13).
pub fn marker_json(
    tick: u64,
    mtype: u16,
    db: &str,
    cuid: &str,
    tid: u64,
    data: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + data.map_or(0, |d| d.len()));
    write_marker(&mut out, tick, mtype, db, cuid, tid, data);
    out
}

fn write_marker(
    out: &mut Vec<u8>,
    tick: u64,
    mtype: u16,
    db: &str,
    cuid: &str,
    tid: u64,
    data: Option<&[u8]>,
) {
    use marker::*;
    use std::io::Write as _;
    // Writing into a Vec cannot fail; numbers and escaped strings go straight into the buffer.
    let push_str = |out: &mut Vec<u8>, key: &str, val: &str| {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        let _ = serde_json::to_writer(&mut *out, val);
    };
    let push_tid = |out: &mut Vec<u8>| {
        let _ = write!(out, ",\"tid\":\"{tid}\"");
    };
    let push_type = |out: &mut Vec<u8>| {
        let _ = write!(out, ",\"type\":{mtype}");
    };
    let push_data = |out: &mut Vec<u8>| {
        if let Some(d) = data {
            out.extend_from_slice(b",\"data\":");
            out.extend_from_slice(d);
        }
    };
    let _ = write!(out, "{{\"tick\":\"{tick}\"");
    match mtype {
        DATABASE_CREATE | DATABASE_DROP => {
            push_type(out);
            push_str(out, "db", db);
            push_data(out);
        }
        COLLECTION_CREATE | COLLECTION_RENAME | COLLECTION_CHANGE => {
            push_str(out, "db", db);
            push_str(out, "cuid", cuid);
            push_type(out);
            push_data(out);
        }
        TRANSACTION_BEGIN | TRANSACTION_COMMIT | TRANSACTION_ABORT => {
            push_type(out);
            push_tid(out);
            push_str(out, "db", db);
        }
        DOCUMENT_UPSERT | DOCUMENT_REMOVE => {
            push_type(out);
            push_str(out, "db", db);
            push_str(out, "cuid", cuid);
            push_tid(out);
            push_data(out);
        }
        _ => {
            // collection drop/truncate, index create/drop
            push_type(out);
            push_str(out, "db", db);
            push_str(out, "cuid", cuid);
            push_data(out);
        }
    }
    out.push(b'}');
}

/// Appends one marker to a LOG value: `tick u64 | len u32 | type u16 | tid u64 | db_len u16 | db |
/// cuid_len u16 | cuid | json`. A LOG value holds the markers of one commit (split at about 1 MiB),
/// keyed by its first tick, so a commit costs one redb insert however many markers it has.
pub(crate) fn encode_into(
    v: &mut Vec<u8>,
    tick: u64,
    mtype: u16,
    tid: u64,
    db: &str,
    cuid: &str,
    data: Option<&[u8]>,
) {
    v.extend_from_slice(&tick.to_le_bytes());
    let len_at = v.len();
    v.extend_from_slice(&[0u8; 4]);
    v.extend_from_slice(&mtype.to_le_bytes());
    v.extend_from_slice(&tid.to_le_bytes());
    v.extend_from_slice(&(db.len() as u16).to_le_bytes());
    v.extend_from_slice(db.as_bytes());
    v.extend_from_slice(&(cuid.len() as u16).to_le_bytes());
    v.extend_from_slice(cuid.as_bytes());
    write_marker(v, tick, mtype, db, cuid, tid, data);
    let len = (v.len() - len_at - 4) as u32;
    v[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
}

/// A zero-copy view of one marker in a LOG value.
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    pub tick: u64,
    pub mtype: u16,
    pub tid: u64,
    pub db: &'a [u8],
    pub cuid: &'a [u8],
    pub json: &'a [u8],
}

impl RawRecord<'_> {
    pub fn to_record(&self) -> LogRecord {
        LogRecord {
            tick: self.tick,
            mtype: self.mtype,
            tid: self.tid,
            db: String::from_utf8_lossy(self.db).into_owned(),
            cuid: String::from_utf8_lossy(self.cuid).into_owned(),
            json: self.json.to_vec(),
        }
    }

    /// Whether this marker belongs to a transaction that continues after it.
    pub fn inside_transaction(&self) -> bool {
        self.tid != 0
            && self.mtype != marker::TRANSACTION_COMMIT
            && self.mtype != marker::TRANSACTION_ABORT
    }

    /// Whether this is a transaction's begin, commit or abort marker.
    pub fn is_transaction_frame(&self) -> bool {
        matches!(
            self.mtype,
            marker::TRANSACTION_BEGIN | marker::TRANSACTION_COMMIT | marker::TRANSACTION_ABORT
        )
    }
}

/// Iterates the markers of a LOG value (`key` is its first tick, for error messages).
pub(crate) struct Entries<'a> {
    key: u64,
    rest: &'a [u8],
}

pub(crate) fn entries(key: u64, value: &[u8]) -> Entries<'_> {
    Entries { key, rest: value }
}

impl<'a> Iterator for Entries<'a> {
    type Item = ArangoResult<RawRecord<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let key = self.key;
        let corrupt = || ArangoError::internal(format!("corrupt log value at tick {key}"));
        let raw = self.rest;
        let parsed = (|| {
            let tick = raw
                .get(0..8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)?;
            let len = raw
                .get(8..12)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)? as usize;
            let body = raw.get(12..12 + len)?;
            let mtype = u16::from_le_bytes([*body.first()?, *body.get(1)?]);
            let tid = body
                .get(2..10)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)?;
            let dl = u16::from_le_bytes([*body.get(10)?, *body.get(11)?]) as usize;
            let db = body.get(12..12 + dl)?;
            let at = 12 + dl;
            let cl = u16::from_le_bytes([*body.get(at)?, *body.get(at + 1)?]) as usize;
            let cuid = body.get(at + 2..at + 2 + cl)?;
            let json = body.get(at + 2 + cl..)?;
            Some((
                RawRecord {
                    tick,
                    mtype,
                    tid,
                    db,
                    cuid,
                    json,
                },
                12 + len,
            ))
        })();
        match parsed {
            Some((rec, used)) => {
                self.rest = &raw[used..];
                Some(Ok(rec))
            }
            None => {
                self.rest = &[];
                Some(Err(corrupt()))
            }
        }
    }
}

/// Decides which markers a reader gets (database, transaction frames aside); see [`LogQuery::filter`].
pub type MarkerFilter<'a> = &'a (dyn Fn(&RawRecord<'_>) -> bool + Sync);

/// What to read from the log.
#[derive(Clone)]
pub struct LogQuery<'a> {
    /// Only markers with a tick greater than this (exclusive).
    pub from: u64,
    /// Only markers with a tick up to this (inclusive).
    pub to: u64,
    /// Only markers of this database (`None`: all databases).
    pub db: Option<&'a str>,
    /// Stop after this many markers (a transaction in progress is completed first if `whole_transactions`).
    pub max_count: usize,
    /// Stop once this many JSON bytes were collected (same rule).
    pub max_bytes: usize,
    /// Never end a chunk inside a transaction (its begin, operations and commit come together).
    pub whole_transactions: bool,
    /// Keeps only the markers this accepts. Transaction begin and commit markers are not offered to it:
    /// a transaction's begin is emitted just before its first kept operation, its commit only if its
    /// begin was, so a reader never sees an empty transaction.
    pub filter: Option<MarkerFilter<'a>>,
}

impl<'a> LogQuery<'a> {
    /// Everything after `from`, all databases, whole transactions, no budget.
    pub fn after(from: u64) -> Self {
        LogQuery {
            from,
            to: u64::MAX,
            db: None,
            max_count: usize::MAX,
            max_bytes: usize::MAX,
            whole_transactions: true,
            filter: None,
        }
    }

    /// Only markers up to `to` (inclusive).
    pub fn until(mut self, to: u64) -> Self {
        self.to = to;
        self
    }

    /// Keeps only markers `f` accepts (see [`LogQuery::filter`]).
    pub fn filtered(mut self, f: MarkerFilter<'a>) -> Self {
        self.filter = Some(f);
        self
    }

    /// Restricts to one database.
    pub fn in_database(mut self, db: &'a str) -> Self {
        self.db = Some(db);
        self
    }

    /// Sets the count and byte budget.
    pub fn budget(mut self, max_count: usize, max_bytes: usize) -> Self {
        self.max_count = max_count;
        self.max_bytes = max_bytes;
        self
    }
}

/// A chunk of the log.
#[derive(Debug, Clone, Default)]
pub struct LogChunk {
    pub records: Vec<LogRecord>,
    /// The highest tick looked at (≥ the last record's tick when markers of other databases were skipped).
    pub last_scanned: u64,
    /// The latest committed tick of the whole log when the chunk was read.
    pub last_tick: u64,
    /// Whether markers after `last_scanned` (within `to`) exist.
    pub has_more: bool,
    /// How many markers were emitted.
    pub count: usize,
    /// The tick of the last emitted marker, 0 if none.
    pub last_included: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[u8]) -> serde_json::Value {
        serde_json::from_slice(v).unwrap()
    }

    #[test]
    fn marker_shapes_match_arangodb() {
        let m = marker_json(
            196,
            marker::DOCUMENT_UPSERT,
            "_system",
            "hE0E3D7BE511D/119",
            0,
            Some(br#"{"_key":"194","_id":"users/194","_rev":"_XUJFD3C---","value":"test"}"#),
        );
        assert_eq!(
            String::from_utf8(m).unwrap(),
            r#"{"tick":"196","type":2300,"db":"_system","cuid":"hE0E3D7BE511D/119","tid":"0","data":{"_key":"194","_id":"users/194","_rev":"_XUJFD3C---","value":"test"}}"#
        );
        let m = marker_json(
            189495,
            marker::COLLECTION_DROP,
            "_system",
            "h3A468B5B7C1A/71947",
            0,
            None,
        );
        assert_eq!(
            String::from_utf8(m).unwrap(),
            r#"{"tick":"189495","type":2001,"db":"_system","cuid":"h3A468B5B7C1A/71947"}"#
        );
        let m = marker_json(3651, marker::TRANSACTION_BEGIN, "_system", "", 556, None);
        assert_eq!(
            String::from_utf8(m).unwrap(),
            r#"{"tick":"3651","type":2200,"tid":"556","db":"_system"}"#
        );
        let m = marker_json(
            385,
            marker::COLLECTION_RENAME,
            "_system",
            "hD/135",
            0,
            Some(br#"{"name":"other"}"#),
        );
        assert_eq!(
            String::from_utf8(m).unwrap(),
            r#"{"tick":"385","db":"_system","cuid":"hD/135","type":2002,"data":{"name":"other"}}"#
        );
        let m = marker_json(3453, marker::DATABASE_DROP, "te\"st", "", 0, None);
        assert_eq!(parse(&m)["db"], "te\"st");
    }

    #[test]
    fn records_round_trip() {
        let json = marker_json(
            7,
            marker::DOCUMENT_REMOVE,
            "db",
            "h1/2",
            9,
            Some(br#"{"_key":"k","_rev":"_a"}"#),
        );
        let data: &[u8] = br#"{"_key":"k","_rev":"_a"}"#;
        let mut raw = Vec::new();
        encode_into(
            &mut raw,
            7,
            marker::DOCUMENT_REMOVE,
            9,
            "db",
            "h1/2",
            Some(data),
        );
        encode_into(&mut raw, 8, marker::TRANSACTION_COMMIT, 9, "db", "", None);
        let all: Vec<_> = entries(7, &raw).collect::<ArangoResult<_>>().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[1].tick, all[1].mtype, all[1].inside_transaction()),
            (8, 2201, false)
        );
        let r = all[0].to_record();
        assert_eq!(
            (r.mtype, r.tid, r.db.as_str(), r.cuid.as_str()),
            (2302, 9, "db", "h1/2")
        );
        assert_eq!(r.json, json);
        assert!(r.inside_transaction());
        assert!(entries(7, &raw[..5]).next().unwrap().is_err());
    }
}
