//! The replication core's [`Follower`] over this server's store: what an applier hosted in
//! `arangorepl serve` writes into. Store calls run on the blocking pool.

use crate::error::{ArangoError, ArangoResult, codes};
use crate::replication::follower::{
    Applied, ChangesFailed, Documents, Follower, LocalCollection, TailChange,
    global_position_record,
};
use crate::replication::keys::RangeBuilder;
use crate::replication::wire::KeyRange;
use crate::replication::wire::line_ranges;
use crate::server::Shared;
use crate::store::{
    Change, CollectionDef, CollectionOptions, PropertiesChange, RawReplica, ReplicaOp,
    ReplicaStats, check_stored_layout, unique_values,
};
use serde_json::{Map, Value};

/// The local store as a follower.
#[derive(Clone)]
pub struct LocalFollower {
    pub st: Shared,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ArangoResult<T> + Send + 'static,
) -> ArangoResult<T> {
    crate::server::blocking(f).await.map_err(|e| e.0)
}

/// Parses one line of a dump body: a bare document or a `{"type":2300,"data":…}` envelope; removal
/// envelopes (`2302`, from old leaders) become removals. A document already laid out as the store keeps
/// it is only checked, not parsed (but for the attributes its unique indexes read), and stored as it came.
fn parse_line(line: &bytes::Bytes, coll: &CollectionDef) -> ArangoResult<ReplicaOp> {
    match stored_as_is(line, coll)? {
        Some(op) => Ok(op),
        None => op_of(parse_object(line)?),
    }
}

/// A document laid out as the store keeps it, to be stored as it came (with its unique index values
/// when the collection has unique indexes); `None` when it is laid out otherwise.
fn stored_as_is(line: &bytes::Bytes, coll: &CollectionDef) -> ArangoResult<Option<ReplicaOp>> {
    let Some((key, rev)) = check_stored_layout(line, &coll.name) else {
        return Ok(None);
    };
    let unique = if coll.indexes.iter().any(|i| i.unique) {
        Some(unique_values(coll, line)?)
    } else {
        None
    };
    Ok(Some(ReplicaOp::Raw(RawReplica {
        line: line.clone(),
        key,
        rev,
        unique,
    })))
}

fn parse_object(line: &[u8]) -> ArangoResult<Map<String, Value>> {
    serde_json::from_slice(line).map_err(|e| {
        ArangoError::with_message(
            codes::REPLICATION_INVALID_RESPONSE,
            format!("invalid dump line from the leader: {e}"),
        )
    })
}

fn op_of(mut v: Map<String, Value>) -> ArangoResult<ReplicaOp> {
    if v.contains_key("_key") {
        return Ok(ReplicaOp::Upsert(v));
    }
    let mtype = v.get("type").and_then(Value::as_u64);
    match (mtype, v.remove("data")) {
        (Some(2300 | 2301), Some(Value::Object(d))) => Ok(ReplicaOp::Upsert(d)),
        (Some(2302), Some(Value::Object(d))) => match d.get("_key") {
            Some(Value::String(k)) => Ok(ReplicaOp::Remove(k.clone())),
            _ => Err(bad_line()),
        },
        (Some(2302), None) => match v.get("key") {
            Some(Value::String(k)) => Ok(ReplicaOp::Remove(k.clone())),
            _ => Err(bad_line()),
        },
        _ => Err(bad_line()),
    }
}

fn bad_line() -> ArangoError {
    ArangoError::with_message(
        codes::REPLICATION_INVALID_RESPONSE,
        "invalid dump line from the leader: neither a document nor a document marker",
    )
}

/// Up to this many changes are prepared on the caller's thread (see `apply_changes`).
const INLINE_CHANGES: usize = 64;

/// Changes go to the store's writer in batches of this many when a chunk is large (see `apply_changes`).
const STREAM_BATCH: usize = 512;

/// `items` turned into the store's changes by `f`, in batches of [`STREAM_BATCH`] for
/// [`Store::apply_changes_streamed`](crate::store::Store::apply_changes_streamed); the first failure
/// (with its index among `items`) ends them.
fn batches<I: Iterator>(
    items: I,
    mut f: impl FnMut(I::Item) -> ArangoResult<Change>,
) -> impl Iterator<Item = Result<Vec<Change>, (usize, ArangoError)>> {
    let mut items = items.enumerate().peekable();
    std::iter::from_fn(move || {
        items.peek()?;
        let mut out = Vec::with_capacity(STREAM_BATCH);
        for (i, item) in items.by_ref().take(STREAM_BATCH) {
            match f(item) {
                Ok(c) => out.push(c),
                Err(e) => return Some(Err((i, e))),
            }
        }
        Some(Ok(out))
    })
}

/// Turns the leader's changes into the store's, against the catalog as it is now, and notes whether
/// any touches `_users` (whose changes reload the users).
struct Preparer {
    catalog: std::sync::Arc<crate::store::Catalog>,
    db: String,
    users_guid: Option<String>,
    users: bool,
}

impl Preparer {
    fn new(st: &Shared, db: &str) -> Preparer {
        let catalog = st.store.catalog();
        let users_guid = (db == crate::store::names::SYSTEM_DATABASE)
            .then(|| {
                catalog
                    .collection(db, "_users")
                    .ok()
                    .map(|c| c.guid.clone())
            })
            .flatten();
        Preparer {
            catalog,
            db: db.to_string(),
            users_guid,
            users: false,
        }
    }

    fn change(&mut self, c: TailChange) -> ArangoResult<Change> {
        let (catalog, db) = (&self.catalog, &self.db);
        let names = |guid: &str| catalog.collection(db, guid).ok().filter(|c| c.guid == guid);
        let c = store_change(c, &names)?;
        if db == crate::store::names::SYSTEM_DATABASE {
            self.users |= match &c {
                Change::Document { guid, .. }
                | Change::Truncate { guid }
                | Change::DropCollection { guid } => Some(guid) == self.users_guid.as_ref(),
                Change::CreateCollection { opts, .. } => opts.name == "_users",
                _ => false,
            };
        }
        Ok(c)
    }
}

/// The store's form of a change from the leader's log; `names` finds a collection by guid as it is here
/// (its name recognises documents laid out as the store keeps them; its unique indexes' values are then
/// read here, not in the store's writer).
fn store_change<'c>(
    change: TailChange,
    names: &dyn Fn(&str) -> Option<&'c CollectionDef>,
) -> ArangoResult<Change> {
    Ok(match change {
        TailChange::CreateCollection(data) => {
            let mut opts = CollectionOptions::from_json(&data)?;
            opts.id = None;
            opts.guid = match data.get("globallyUniqueId") {
                Some(Value::String(g)) if !g.is_empty() => Some(g.clone()),
                _ => Some(opts.name.clone()),
            };
            let indexes = crate::replication::wire::created_indexes(data.get("indexes"));
            Change::CreateCollection { opts, indexes }
        }
        TailChange::DropCollection { cuid } => Change::DropCollection { guid: cuid },
        TailChange::RenameCollection { cuid, name } => {
            Change::RenameCollection { guid: cuid, name }
        }
        TailChange::ChangeCollection { cuid, data } => Change::ChangeCollection {
            guid: cuid,
            change: PropertiesChange::from_json(&data)?,
        },
        TailChange::TruncateCollection { cuid } => Change::Truncate { guid: cuid },
        TailChange::CreateIndex { cuid, data } => Change::EnsureIndex {
            guid: cuid,
            spec: data,
        },
        TailChange::DropIndex { cuid, id } => Change::DropIndex {
            guid: cuid,
            id: id.rsplit('/').next().and_then(|i| i.parse().ok()),
        },
        TailChange::Upsert { cuid, doc } => {
            let raw = match names(&cuid) {
                Some(coll) => stored_as_is(&doc, coll)?,
                None => None,
            };
            let op = match raw {
                Some(op) => op,
                None => ReplicaOp::Upsert(parse_object(&doc)?),
            };
            Change::Document { guid: cuid, op }
        }
        TailChange::Remove { cuid, key } => Change::Document {
            guid: cuid,
            op: ReplicaOp::Remove(key),
        },
    })
}

/// The trait's account of what the store did.
fn applied(s: ReplicaStats) -> Applied {
    Applied {
        inserted: s.inserted,
        replaced: s.replaced,
        unchanged: s.unchanged,
        removed: s.removed,
    }
}

impl LocalFollower {
    /// Applies one catalog change to a collection named here by `collection`, exactly as the applier
    /// applies the leader's marker for it (see [`Store::apply_changes`](crate::store::Store::apply_changes)).
    async fn apply_to(
        &self,
        db: &str,
        collection: &str,
        change: impl FnOnce(String) -> TailChange + Send + 'static,
    ) -> ArangoResult<()> {
        let (st, db, coll) = (self.st.clone(), db.to_string(), collection.to_string());
        blocking(move || {
            let guid = st.store.collection(&db, &coll)?.guid;
            let c = store_change(change(guid), &|_| None)?;
            st.store
                .apply_changes(&db, vec![c], None)
                .map(|_| ())
                .map_err(|(_, e)| e)
        })
        .await
    }
}

impl Follower for LocalFollower {
    fn server_id(&self) -> u64 {
        self.st.store.server_id()
    }

    async fn database_exists(&self, db: &str) -> ArangoResult<bool> {
        Ok(self.st.store.catalog().database(db).is_ok())
    }

    async fn database_names(&self) -> ArangoResult<Vec<String>> {
        Ok(self.st.store.catalog().database_names())
    }

    async fn create_database(&self, db: &str) -> ArangoResult<()> {
        let (st, db) = (self.st.clone(), db.to_string());
        blocking(move || {
            st.store.create_database(&db)?;
            crate::server::databases::ensure_system_collections(&st.store, &db)
        })
        .await
    }

    async fn drop_database(&self, db: &str) -> ArangoResult<()> {
        if db == crate::store::names::SYSTEM_DATABASE {
            return Err(ArangoError::with_message(
                codes::FORBIDDEN,
                "the _system database cannot be dropped",
            ));
        }
        let (st, db) = (self.st.clone(), db.to_string());
        blocking(move || {
            st.store.drop_database(&db)?;
            // the server-level applier's position in it goes too (harmless if left: a database
            // created later under that name has only newer ticks)
            st.store
                .set_applier_record(&global_position_record(&db), None)
        })
        .await
    }

    async fn collections(&self, db: &str) -> ArangoResult<Vec<LocalCollection>> {
        let (st, db) = (self.st.clone(), db.to_string());
        blocking(move || {
            let snap = st.store.snapshot()?;
            let mut out = Vec::new();
            for c in snap.catalog().collections_of(&db)? {
                out.push(LocalCollection {
                    id: c.id,
                    name: c.name.clone(),
                    globally_unique_id: c.guid.clone(),
                    collection_type: c.ctype.number(),
                    is_system: c.is_system,
                    count: snap.stats(c.id)?.count,
                    indexes: c.indexes.iter().map(|i| i.to_inventory_json()).collect(),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn create_collection(&self, db: &str, parameters: &Value) -> ArangoResult<()> {
        let mut opts = CollectionOptions::from_json(parameters)?;
        // the leader's id may be taken here; its globallyUniqueId is what identifies the collection
        opts.id = None;
        let (st, db) = (self.st.clone(), db.to_string());
        blocking(move || st.store.create_collection(&db, opts).map(|_| ())).await
    }

    async fn drop_collection(&self, db: &str, name: &str) -> ArangoResult<()> {
        let (st, db, name) = (self.st.clone(), db.to_string(), name.to_string());
        blocking(move || match st.store.drop_collection(&db, &name, true) {
            Err(e) if e.error_num == codes::ARANGO_DATA_SOURCE_NOT_FOUND => Ok(()),
            r => r,
        })
        .await
    }

    async fn truncate_collection(&self, db: &str, name: &str) -> ArangoResult<()> {
        let (st, db2, name2) = (self.st.clone(), db.to_string(), name.to_string());
        blocking(move || st.store.truncate_collection(&db2, &name2)).await?;
        Ok(())
    }

    async fn change_collection(
        &self,
        db: &str,
        name: &str,
        parameters: &Value,
    ) -> ArangoResult<()> {
        let data = parameters.clone();
        self.apply_to(db, name, move |cuid| TailChange::ChangeCollection {
            cuid,
            data,
        })
        .await
    }

    async fn ensure_index(&self, db: &str, collection: &str, spec: &Value) -> ArangoResult<()> {
        let data = spec.clone();
        self.apply_to(db, collection, move |cuid| TailChange::CreateIndex {
            cuid,
            data,
        })
        .await
    }

    async fn drop_index(&self, db: &str, collection: &str, id: &str) -> ArangoResult<()> {
        let id = id.to_string();
        match self
            .apply_to(db, collection, move |cuid| TailChange::DropIndex {
                cuid,
                id,
            })
            .await
        {
            Err(e) if e.error_num == codes::ARANGO_DATA_SOURCE_NOT_FOUND => Ok(()),
            r => r,
        }
    }

    async fn apply_documents(
        &self,
        db: &str,
        collection: &str,
        docs: Documents,
    ) -> ArangoResult<Applied> {
        let (st, db2, coll) = (self.st.clone(), db.to_string(), collection.to_string());
        let stats = blocking(move || {
            let def = st.store.collection(&db2, &coll)?;
            let ops = match docs {
                Documents::Lines(body) => {
                    // parsed in batches, each applied by the store's writer while the next is parsed
                    let lines = batches(line_ranges(&body), |r| {
                        Ok(Change::Document {
                            guid: def.guid.clone(),
                            op: parse_line(&body.slice(r), &def)?,
                        })
                    });
                    return st
                        .store
                        .apply_changes_streamed(&db2, false, None, lines)
                        .map_err(|(_, e)| e);
                }
                Documents::Parsed(v) => v
                    .into_iter()
                    .map(|d| match d {
                        Value::Object(m) => op_of(m),
                        _ => Err(bad_line()),
                    })
                    .collect::<ArangoResult<Vec<_>>>()?,
            };
            st.store.apply_replica(&db2, &coll, ops)
        })
        .await?;
        Ok(applied(stats))
    }

    async fn remove_documents(
        &self,
        db: &str,
        collection: &str,
        keys: Vec<String>,
    ) -> ArangoResult<Applied> {
        let (st, db2, coll) = (self.st.clone(), db.to_string(), collection.to_string());
        let stats = blocking(move || {
            st.store.apply_replica(
                &db2,
                &coll,
                keys.into_iter().map(ReplicaOp::Remove).collect(),
            )
        })
        .await?;
        Ok(applied(stats))
    }

    async fn key_revisions(
        &self,
        db: &str,
        collection: &str,
        after: Option<String>,
        limit: usize,
    ) -> ArangoResult<Vec<(String, String)>> {
        let (st, db, coll) = (self.st.clone(), db.to_string(), collection.to_string());
        blocking(move || {
            let snap = st.store.snapshot()?;
            let def = snap.catalog().collection(&db, &coll)?.clone();
            let mut out = Vec::with_capacity(limit.min(1 << 16));
            let after = after.as_deref().unwrap_or("");
            snap.for_each_key_rev(def.id, after, false, |k, r| {
                out.push((k.to_string(), r.to_string()));
                out.len() < limit
            })?;
            Ok(out)
        })
        .await
    }

    async fn key_ranges(
        &self,
        db: &str,
        collection: &str,
        chunk_size: usize,
    ) -> ArangoResult<Vec<KeyRange>> {
        let (st, db, coll) = (self.st.clone(), db.to_string(), collection.to_string());
        blocking(move || {
            let snap = st.store.snapshot()?;
            let def = snap.catalog().collection(&db, &coll)?.clone();
            let mut ranges = RangeBuilder::new(chunk_size);
            snap.for_each_key_rev(def.id, "", true, |k, r| {
                ranges.add(k, r);
                true
            })?;
            Ok(ranges.finish())
        })
        .await
    }

    async fn fingerprint(&self, db: &str, collection: &str) -> ArangoResult<(u64, Option<u64>)> {
        let (st, db, coll) = (self.st.clone(), db.to_string(), collection.to_string());
        blocking(move || st.store.fingerprint(&db, &coll)).await
    }

    /// Also the moment a sync's `_users` take effect: reloading them while the sync truncates and refills
    /// the collection left the follower without users for a while (its clients got 401).
    async fn flush(&self) -> ArangoResult<()> {
        let st = self.st.clone();
        blocking(move || {
            st.store.sync()?;
            st.auth.reload()
        })
        .await
    }

    async fn load_applier(&self, db: &str) -> ArangoResult<Option<Value>> {
        let (st, db) = (self.st.clone(), db.to_string());
        blocking(move || {
            Ok(st
                .store
                .applier_record(&db)?
                .and_then(|b| serde_json::from_slice(&b).ok()))
        })
        .await
    }

    async fn save_applier(&self, db: &str, record: Option<Value>) -> ArangoResult<()> {
        let (st, db) = (self.st.clone(), db.to_string());
        let bytes = record.map(|r| serde_json::to_vec(&r).unwrap_or_default());
        blocking(move || st.store.set_applier_record(&db, bytes)).await
    }

    async fn apply_changes(
        &self,
        db: &str,
        changes: Vec<TailChange>,
        record_name: &str,
        record: Value,
    ) -> Result<Applied, ChangesFailed> {
        let bytes = (
            record_name.to_string(),
            serde_json::to_vec(&record).unwrap_or_default(),
        );
        let small = changes.len() <= INLINE_CHANGES;
        let catalog_change = changes
            .iter()
            .any(|c| !matches!(c, TailChange::Upsert { .. } | TailChange::Remove { .. }));
        let failed = |(index, error)| ChangesFailed { index, error };
        // a few changes (a follower keeping up) are prepared here and awaited without a thread hop; a
        // catch-up chunk is prepared on the blocking pool in batches, each applied by the store's writer
        // while the next is prepared
        let (stats, users_touched) = if small {
            let mut prep = Preparer::new(&self.st, db);
            let out = changes
                .into_iter()
                .enumerate()
                .map(|(i, c)| prep.change(c).map_err(|e| (i, e)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|(i, error)| ChangesFailed {
                    index: Some(i),
                    error,
                })?;
            let stats = self
                .st
                .store
                .apply_changes_async(db, out, Some(bytes))
                .await
                .map_err(failed)?;
            (stats, prep.users)
        } else {
            let st = self.st.clone();
            let db2 = db.to_string();
            crate::server::blocking(move || {
                let mut prep = Preparer::new(&st, &db2);
                let stats = st.store.apply_changes_streamed(
                    &db2,
                    catalog_change,
                    Some(bytes),
                    batches(changes.into_iter(), |c| prep.change(c)),
                );
                Ok(stats.map(|s| (s, prep.users)).map_err(failed))
            })
            .await
            .map_err(|e| ChangesFailed {
                index: None,
                error: e.0,
            })??
        };
        if users_touched {
            let _ = self.st.auth.reload();
        }
        Ok(applied(stats))
    }
}
