//! What the replication core needs from the follower side. The applier and the initial sync write only
//! through this trait; `arangorepl serve` implements it over its store, and an implementation that writes
//! into a remote ArangoDB over HTTP can stand in its place — nothing here assumes the follower is local.

use crate::error::{ArangoError, ArangoResult};
use crate::replication::wire::KeyRange;
use bytes::Bytes;
use serde_json::Value;
use std::future::Future;

/// A follower collection as the sync sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalCollection {
    pub id: u64,
    pub name: String,
    pub globally_unique_id: String,
    /// 2 = document, 3 = edge.
    pub collection_type: u64,
    pub is_system: bool,
    pub count: u64,
    /// Secondary indexes in inventory form (`id` without collection prefix).
    pub indexes: Vec<Value>,
}

/// Documents to apply: a dump body (one JSON document per line, bare or in a `{"type":2300,"data":…}`
/// envelope), or documents already parsed.
#[derive(Debug, Clone)]
pub enum Documents {
    Lines(Bytes),
    Parsed(Vec<Value>),
}

/// What applying documents did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub inserted: u64,
    pub replaced: u64,
    pub unchanged: u64,
    pub removed: u64,
}

impl Applied {
    pub fn add(&mut self, o: Applied) {
        self.inserted += o.inserted;
        self.replaced += o.replaced;
        self.unchanged += o.unchanged;
        self.removed += o.removed;
    }

    /// Documents that were written (inserted or replaced).
    pub fn written(&self) -> u64 {
        self.inserted + self.replaced
    }
}

/// One change from the leader's log in the follower's terms (markers 2000–2004, 2100/2101, 2300/2302).
/// Collections are named by `cuid`, the `globallyUniqueId` a follower shares with its leader.
#[derive(Debug, Clone)]
pub enum TailChange {
    /// 2000: the leader's full collection definition (with `globallyUniqueId` and `indexes`).
    CreateCollection(Value),
    /// 2001; a missing collection is fine.
    DropCollection { cuid: String },
    /// 2002.
    RenameCollection { cuid: String, name: String },
    /// 2003: the full new definition.
    ChangeCollection { cuid: String, data: Value },
    /// 2004.
    TruncateCollection { cuid: String },
    /// 2100: the index definition (an index with its id or name but another definition makes way).
    CreateIndex { cuid: String, data: Value },
    /// 2101: the index id (`<id>` or `<collection>/<id>`); a missing index is fine.
    DropIndex { cuid: String, id: String },
    /// 2300: the complete document as the leader sent it (JSON bytes).
    Upsert { cuid: String, doc: Bytes },
    /// 2302: removal by key; a missing document is fine.
    Remove { cuid: String, key: String },
}

/// Why [`Follower::apply_changes`] applied nothing: the error, and which change caused it if one did.
#[derive(Debug, Clone)]
pub struct ChangesFailed {
    pub index: Option<usize>,
    pub error: ArangoError,
}

/// The record name under which a follower keeps the server-level applier's configuration and state
/// (`load_applier`/`save_applier`). No database is called so: database names cannot contain `/`.
pub const GLOBAL_APPLIER: &str = "/global";

/// The record name under which the server-level applier keeps, in database `db`, the tick up to which
/// it applied that database's changes: stored with those changes, in the same atomic step, so that a
/// restart from the server-wide position skips what this database already has.
pub fn global_position_record(db: &str) -> String {
    format!("{GLOBAL_APPLIER}/{db}")
}

/// The follower's side of replication. Every method is a unit of its own: when it returns `Ok`, its
/// change is applied (atomically for document batches).
pub trait Follower: Send + Sync + 'static {
    /// The follower server's id (a leader with the same id is this server: error 1405).
    fn server_id(&self) -> u64;

    /// Whether the follower may be unreachable for a while (a remote one): the applier then retries
    /// what failed for that reason, as it retries its leader, instead of stopping.
    fn may_be_unavailable(&self) -> bool {
        false
    }

    /// Something the follower had to do differently, once, for the applier's progress (a remote
    /// follower without arangorestore's endpoints says it uses the collection API instead).
    fn take_notice(&self) -> Option<String> {
        None
    }

    /// Whether the database exists on the follower.
    fn database_exists(&self, db: &str) -> impl Future<Output = ArangoResult<bool>> + Send;

    /// The names of the follower's databases (for a server-level sync).
    fn database_names(&self) -> impl Future<Output = ArangoResult<Vec<String>>> + Send;

    /// Creates a database with the follower's system collections (a server-level sync, or a leader's
    /// database-create marker).
    fn create_database(&self, db: &str) -> impl Future<Output = ArangoResult<()>> + Send;

    /// Drops a database and everything in it (never `_system`).
    fn drop_database(&self, db: &str) -> impl Future<Output = ArangoResult<()>> + Send;

    /// The database's collections.
    fn collections(
        &self,
        db: &str,
    ) -> impl Future<Output = ArangoResult<Vec<LocalCollection>>> + Send;

    /// Creates a collection from the leader's parameters, keeping its `globallyUniqueId`.
    fn create_collection(
        &self,
        db: &str,
        parameters: &Value,
    ) -> impl Future<Output = ArangoResult<()>> + Send;

    /// Drops a collection (system collections too).
    fn drop_collection(
        &self,
        db: &str,
        name: &str,
    ) -> impl Future<Output = ArangoResult<()>> + Send;

    /// Removes all documents of a collection.
    fn truncate_collection(
        &self,
        db: &str,
        name: &str,
    ) -> impl Future<Output = ArangoResult<()>> + Send;

    /// Applies the leader's collection parameters to an existing collection (full property update).
    fn change_collection(
        &self,
        db: &str,
        name: &str,
        parameters: &Value,
    ) -> impl Future<Output = ArangoResult<()>> + Send;

    /// Creates an index from the leader's definition (keeping its id and name); an index with the same
    /// id or name but another definition is dropped first.
    fn ensure_index(
        &self,
        db: &str,
        collection: &str,
        spec: &Value,
    ) -> impl Future<Output = ArangoResult<()>> + Send;

    /// Drops an index by id; a missing index is fine.
    fn drop_index(
        &self,
        db: &str,
        collection: &str,
        id: &str,
    ) -> impl Future<Output = ArangoResult<()>> + Send;

    /// Upserts documents keeping the leader's `_key` and `_rev` ("leader wins", spec §5.9), atomically.
    fn apply_documents(
        &self,
        db: &str,
        collection: &str,
        docs: Documents,
    ) -> impl Future<Output = ArangoResult<Applied>> + Send;

    /// Removes documents by key, atomically; missing keys are fine.
    fn remove_documents(
        &self,
        db: &str,
        collection: &str,
        keys: Vec<String>,
    ) -> impl Future<Output = ArangoResult<Applied>> + Send;

    /// Up to `limit` `(key, _rev)` pairs of a collection in byte-wise key order, after `after`.
    fn key_revisions(
        &self,
        db: &str,
        collection: &str,
        after: Option<String>,
        limit: usize,
    ) -> impl Future<Output = ArangoResult<Vec<(String, String)>>> + Send;

    /// The collection's keys cut into ranges of `chunk_size` keys with their chunk hashes, exactly as a
    /// leader computes them for the keys protocol (see [`crate::replication::keys::RangeBuilder`]).
    fn key_ranges(
        &self,
        db: &str,
        collection: &str,
        chunk_size: usize,
    ) -> impl Future<Output = ArangoResult<Vec<KeyRange>>> + Send;

    /// The collection's document count and, if the follower keeps one, the fingerprint of its
    /// `(_key, _rev)` pairs as an arangorepl leader reports it with `POST keys`.
    fn fingerprint(
        &self,
        db: &str,
        collection: &str,
    ) -> impl Future<Output = ArangoResult<(u64, Option<u64>)>> + Send;

    /// Makes everything applied so far durable.
    fn flush(&self) -> impl Future<Output = ArangoResult<()>> + Send;

    /// The stored applier record (configuration and state) of a database.
    fn load_applier(&self, db: &str) -> impl Future<Output = ArangoResult<Option<Value>>> + Send;

    /// Stores (durably) or with `None` removes a database's applier record.
    fn save_applier(
        &self,
        db: &str,
        record: Option<Value>,
    ) -> impl Future<Output = ArangoResult<()>> + Send;

    /// Applies changes from the leader's log in order, all or nothing, and stores the applier record
    /// `record` (configuration and progress) under `record_name` (`db`, [`GLOBAL_APPLIER`] or
    /// [`global_position_record`]`(db)`) in the same atomic step — so a crash can never separate what
    /// was applied from the progress that says so.
    fn apply_changes(
        &self,
        db: &str,
        changes: Vec<TailChange>,
        record_name: &str,
        record: Value,
    ) -> impl Future<Output = Result<Applied, ChangesFailed>> + Send;
}
