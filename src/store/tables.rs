//! The redb tables and the meta keys: the whole on-disk layout in one place.

use redb::TableDefinition;

/// Small values: format version, server id, clock, id counter, log floor and size.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Database name → `DatabaseDef` (JSON).
pub const DATABASES: TableDefinition<&str, &[u8]> = TableDefinition::new("databases");
/// Collection id → `CollectionDef` (JSON), including its secondary index definitions.
pub const COLLECTIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("collections");
/// Collection id → (document count, key generator last value).
pub const COLL_STATS: TableDefinition<u64, (u64, u64)> = TableDefinition::new("coll_stats");
/// (collection id, `_key`) → document (JSON).
pub const DOCS: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("docs");
/// (collection id, index id, canonical values) → `_key` of the document holding them.
pub const UNIQUE: TableDefinition<(u64, u64, &[u8]), &str> = TableDefinition::new("unique");
/// Tick → log record (see `store::log`).
pub const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");

pub const META_FORMAT: &str = "format";
pub const META_SERVER_ID: &str = "server_id";
pub const META_GUID_PREFIX: &str = "guid_prefix";
pub const META_CLOCK: &str = "clock";
pub const META_NEXT_ID: &str = "next_id";
/// Every marker with a tick above this is still in the log.
pub const META_LOG_FLOOR: &str = "log_floor";
/// Total bytes of log records (for size-based retention).
pub const META_LOG_BYTES: &str = "log_bytes";

/// The on-disk format this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;
