//! The redb tables and the meta keys: the whole on-disk layout in one place.

use redb::TableDefinition;

/// Small values: format version, server id, clock, id counter, log floor and size.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Database name → `DatabaseDef` (JSON).
pub const DATABASES: TableDefinition<&str, &[u8]> = TableDefinition::new("databases");
/// Collection id → `CollectionDef` (JSON), including its secondary index definitions.
pub const COLLECTIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("collections");
/// collection id (8 bytes big-endian) ++ `_key` → document (JSON). Plain byte keys sort like the tuple
/// (collection, key) and compare faster than redb tuples. The bare collection id (an empty `_key`, which
/// no document can have) holds the collection's counters (count, key generator value, and the fingerprint
/// of its `(_key, _rev)` pairs), so a document write touches one table, not two.
pub const DOCS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("docs");
/// collection id ++ index id (8 bytes each, big-endian) ++ canonical values → `_key` of the document.
pub const UNIQUE: TableDefinition<&[u8], &str> = TableDefinition::new("unique");
/// collection id ++ index id (8 bytes each, big-endian) ++ the indexed values in sortable form (see
/// `index::sortable`) ++ `_key` → nothing: the entries of non-unique persistent indexes and of edge
/// collections' `_from` and `_to`, in the order of their values.
pub const INDEX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("index");
/// The INDEX ids of an edge collection's `_from` and `_to` entries (no real index has them).
pub const EDGE_FROM_IID: u64 = u64::MAX - 1;
pub const EDGE_TO_IID: u64 = u64::MAX;
/// Set once the INDEX table holds the entries of every secondary index (stores made before it existed
/// get them built when they open).
pub const META_SECONDARY: &str = "secondary_indexes";
/// Tick → log record (see `store::log`).
pub const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
/// Database name → the replication applier's stored configuration and state (JSON; holds the leader
/// password, so the store file stays private). Created on first use.
pub const APPLIER: TableDefinition<&str, &[u8]> = TableDefinition::new("applier");

/// The ticks between the last one a store had when it opened (key) and the first it handed out after
/// (value), for every start: ticks strictly inside were never part of this store's history since (lost in
/// a crash, or never issued). A follower whose position lies there has changes its leader lost.
pub const GAPS: TableDefinition<u64, u64> = TableDefinition::new("gaps");

pub const META_FORMAT: &str = "format";
pub const META_SERVER_ID: &str = "server_id";
pub const META_GUID_PREFIX: &str = "guid_prefix";
pub const META_CLOCK: &str = "clock";
pub const META_NEXT_ID: &str = "next_id";
/// Every marker with a tick above this is still in the log.
pub const META_LOG_FLOOR: &str = "log_floor";
/// Total bytes of log records (for size-based retention).
pub const META_LOG_BYTES: &str = "log_bytes";
/// The number of the last write group committed (each group writes it with its changes): replaying the
/// journal skips the groups the store already holds.
pub const META_JOURNAL_SEQ: &str = "journal_seq";

/// The on-disk format this build writes and reads.
pub const FORMAT_VERSION: u64 = 2;

/// The DOCS key of a document.
pub fn doc_key(cid: u64, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + key.len());
    k.extend_from_slice(&cid.to_be_bytes());
    k.extend_from_slice(key.as_bytes());
    k
}

/// The `_key` part of a DOCS key.
pub fn key_of(doc_key: &[u8]) -> &str {
    std::str::from_utf8(doc_key.get(8..).unwrap_or_default()).unwrap_or("")
}

/// The DOCS key range of one collection's documents (its counters excluded), also the UNIQUE key range
/// of all its indexes.
pub fn coll_range(cid: u64) -> std::ops::Range<Vec<u8>> {
    let mut start = cid.to_be_bytes().to_vec();
    start.push(0);
    start..(cid + 1).to_be_bytes().to_vec()
}

/// The DOCS key of a collection's counters.
pub fn stats_key(cid: u64) -> [u8; 8] {
    cid.to_be_bytes()
}

/// Counters as stored: document count and key generator last value, little-endian.
pub fn encode_stats(count: u64, last_value: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&count.to_le_bytes());
    b[8..].copy_from_slice(&last_value.to_le_bytes());
    b
}

/// Counters with the collection's fingerprint (see `docs::fingerprint_of`) after them.
pub fn encode_stats_with(count: u64, last_value: u64, fingerprint: Option<u64>) -> Vec<u8> {
    let mut b = encode_stats(count, last_value).to_vec();
    if let Some(f) = fingerprint {
        b.extend_from_slice(&f.to_le_bytes());
    }
    b
}

/// The fingerprint stored after the counters; `None` for counters written without one.
pub fn decode_fingerprint(b: &[u8]) -> Option<u64> {
    b.get(16..24)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_le_bytes)
}

/// A collection's fingerprint from its stored counters: no counters yet means a new, empty collection.
pub fn stored_fingerprint(counters: Option<&[u8]>) -> Option<u64> {
    counters.map_or(Some(0), decode_fingerprint)
}

/// The inverse of [`encode_stats`] (zeros for anything malformed).
pub fn decode_stats(b: &[u8]) -> (u64, u64) {
    let word = |r: std::ops::Range<usize>| {
        b.get(r)
            .and_then(|s| s.try_into().ok())
            .map(u64::from_le_bytes)
            .unwrap_or(0)
    };
    (word(0..8), word(8..16))
}

/// The UNIQUE key of an index value.
pub fn unique_key(cid: u64, iid: u64, val: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(16 + val.len());
    k.extend_from_slice(&cid.to_be_bytes());
    k.extend_from_slice(&iid.to_be_bytes());
    k.extend_from_slice(val);
    k
}

/// The INDEX key of one entry.
pub fn secondary_key(cid: u64, iid: u64, values: &[u8], key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(16 + values.len() + key.len());
    k.extend_from_slice(&cid.to_be_bytes());
    k.extend_from_slice(&iid.to_be_bytes());
    k.extend_from_slice(values);
    k.extend_from_slice(key.as_bytes());
    k
}

/// The UNIQUE (and INDEX) key range of one index.
pub fn index_range(cid: u64, iid: u64) -> std::ops::Range<Vec<u8>> {
    let start = unique_key(cid, iid, &[]);
    let end = if iid == u64::MAX {
        (cid + 1).to_be_bytes().to_vec()
    } else {
        unique_key(cid, iid + 1, &[])
    };
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_keys_sort_like_tuples() {
        assert!(doc_key(1, "zzz") < doc_key(2, ""));
        assert!(doc_key(1, "a") < doc_key(1, "ab"));
        assert!(coll_range(1).contains(&doc_key(1, "x")));
        assert!(!coll_range(1).contains(&stats_key(1).to_vec()));
        assert!(!coll_range(1).contains(&doc_key(2, "x")));
        assert_eq!(decode_stats(&encode_stats(7, 9)), (7, 9));
        assert_eq!(key_of(&doc_key(300, "k:1")), "k:1");
        let r = index_range(3, 4);
        assert!(r.contains(&unique_key(3, 4, b"[1]")) && !r.contains(&unique_key(3, 5, b"")));
    }
}
