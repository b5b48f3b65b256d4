//! The replication core's [`Follower`] over this server's store: what an applier hosted in
//! `arangorepl serve` writes into. Store calls run on the blocking pool.

use crate::error::{ArangoError, ArangoResult, codes};
use crate::replication::follower::{
    Applied, ChangesFailed, Documents, Follower, LocalCollection, TailChange,
};
use crate::replication::keys::RangeBuilder;
use crate::replication::wire::KeyRange;
use crate::server::Shared;
use crate::store::{
    Change, CollectionOptions, PropertiesChange, RawReplica, ReplicaOp, check_stored_layout,
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

/// Parses a dump body: bare documents or `{"type":2300,"data":…}` envelopes; removal envelopes
/// (`2302`, from old leaders) become removals. Documents already laid out as the store keeps them are
/// only checked, not parsed, and stored as they came (`with_values`: parse them anyway, for unique
/// indexes).
fn parse_lines(
    body: &bytes::Bytes,
    collection: &str,
    with_values: bool,
) -> ArangoResult<Vec<ReplicaOp>> {
    let mut ops = Vec::new();
    let mut start = 0;
    while start < body.len() {
        let end = body[start..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(body.len(), |p| start + p);
        let line = &body[start..end];
        let range = (start, end);
        start = end + 1;
        if line.len() < 2 {
            continue;
        }
        if let Some((key, rev)) = check_stored_layout(line, collection) {
            let doc = if with_values {
                Some(serde_json::from_slice(line).map_err(|e| {
                    ArangoError::with_message(
                        codes::REPLICATION_INVALID_RESPONSE,
                        format!("invalid dump line from the leader: {e}"),
                    )
                })?)
            } else {
                None
            };
            ops.push(ReplicaOp::Raw(RawReplica {
                line: body.slice(range.0..range.1),
                key,
                rev,
                doc,
            }));
            continue;
        }
        let v: Map<String, Value> = serde_json::from_slice(line).map_err(|e| {
            ArangoError::with_message(
                codes::REPLICATION_INVALID_RESPONSE,
                format!("invalid dump line from the leader: {e}"),
            )
        })?;
        ops.push(op_of(v)?);
    }
    Ok(ops)
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

/// The store's form of a change from the leader's log; `names` maps a collection guid to its current name
/// here (to recognise documents laid out as the store keeps them).
fn store_change(
    change: TailChange,
    names: &dyn Fn(&str) -> Option<String>,
) -> ArangoResult<Change> {
    let index_id = |id: &str| id.rsplit('/').next().and_then(|i| i.parse::<u64>().ok());
    Ok(match change {
        TailChange::CreateCollection(data) => {
            let mut opts = CollectionOptions::from_json(&data)?;
            opts.id = None;
            opts.guid = match data.get("globallyUniqueId") {
                Some(Value::String(g)) if !g.is_empty() => Some(g.clone()),
                _ => Some(opts.name.clone()),
            };
            let indexes = match data.get("indexes") {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter(|i| {
                        !matches!(
                            i.get("type").and_then(Value::as_str),
                            Some("primary" | "edge")
                        )
                    })
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            };
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
            // an id that is no number names no index here
            id: index_id(&id).unwrap_or(0),
        },
        TailChange::Upsert { cuid, doc } => {
            let raw = names(&cuid).and_then(|n| check_stored_layout(&doc, &n));
            let op = match raw {
                Some((key, rev)) => ReplicaOp::Raw(RawReplica {
                    line: doc,
                    key,
                    rev,
                    doc: None,
                }),
                None => match serde_json::from_slice::<Value>(&doc) {
                    Ok(Value::Object(m)) => op_of(m)?,
                    _ => return Err(bad_line()),
                },
            };
            Change::Document { guid: cuid, op }
        }
        TailChange::Remove { cuid, key } => Change::Document {
            guid: cuid,
            op: ReplicaOp::Remove(key),
        },
    })
}

impl LocalFollower {
    fn users_changed(&self, db: &str, collection: &str) {
        if db == crate::store::names::SYSTEM_DATABASE && collection == "_users" {
            let _ = self.st.auth.reload();
        }
    }
}

impl Follower for LocalFollower {
    fn server_id(&self) -> u64 {
        self.st.store.server_id()
    }

    async fn database_exists(&self, db: &str) -> ArangoResult<bool> {
        Ok(self.st.store.catalog().database(db).is_ok())
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
        self.users_changed(db, name);
        Ok(())
    }

    async fn change_collection(
        &self,
        db: &str,
        name: &str,
        parameters: &Value,
    ) -> ArangoResult<()> {
        let change = PropertiesChange::from_json(parameters)?;
        let (st, db, name) = (self.st.clone(), db.to_string(), name.to_string());
        blocking(move || {
            // nothing to change: no catalog write, no marker
            let def = st.store.collection(&db, &name)?;
            if !change.changes(&def) {
                return Ok(());
            }
            st.store.change_collection(&db, &name, change).map(|_| ())
        })
        .await
    }

    async fn ensure_index(&self, db: &str, collection: &str, spec: &Value) -> ArangoResult<()> {
        let (st, db, coll, spec) = (
            self.st.clone(),
            db.to_string(),
            collection.to_string(),
            spec.clone(),
        );
        blocking(move || {
            let def = st.store.collection(&db, &coll)?;
            let (want_id, want_name, wanted) = crate::store::IndexDef::from_json(&spec)?;
            // an index with the same id or name but another definition makes way
            for i in &def.indexes {
                let same_id = want_id == Some(i.id);
                let same_name = want_name.as_deref() == Some(i.name.as_str());
                if (same_id || same_name) && !i.same_definition(&wanted) {
                    st.store.drop_index(&db, &coll, i.id)?;
                }
            }
            st.store.ensure_index(&db, &coll, &spec).map(|_| ())
        })
        .await
    }

    async fn drop_index(&self, db: &str, collection: &str, id: &str) -> ArangoResult<()> {
        let Some(iid) = id.rsplit('/').next().and_then(|i| i.parse::<u64>().ok()) else {
            return Ok(());
        };
        let (st, db, coll) = (self.st.clone(), db.to_string(), collection.to_string());
        blocking(move || match st.store.drop_index(&db, &coll, iid) {
            Err(e)
                if e.error_num == codes::ARANGO_INDEX_NOT_FOUND
                    || e.error_num == codes::ARANGO_DATA_SOURCE_NOT_FOUND =>
            {
                Ok(())
            }
            r => r,
        })
        .await
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
            let unique = def.indexes.iter().any(|i| i.unique);
            let ops = match docs {
                Documents::Lines(body) => parse_lines(&body, &def.name, unique)?,
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
        self.users_changed(db, collection);
        Ok(Applied {
            inserted: stats.inserted,
            replaced: stats.replaced,
            unchanged: stats.unchanged,
            removed: stats.removed,
        })
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
        self.users_changed(db, collection);
        Ok(Applied {
            removed: stats.removed,
            ..Applied::default()
        })
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

    async fn flush(&self) -> ArangoResult<()> {
        let st = self.st.clone();
        blocking(move || st.store.sync()).await
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
        record: Value,
    ) -> Result<Applied, ChangesFailed> {
        let bytes = serde_json::to_vec(&record).unwrap_or_default();
        let small = changes.len() <= INLINE_CHANGES;
        let (st, db2) = (self.st.clone(), db.to_string());
        let prepare = move || {
            let catalog = st.store.catalog();
            let names = |guid: &str| {
                catalog
                    .collection(&db2, guid)
                    .ok()
                    .filter(|c| c.guid == guid)
                    .map(|c| c.name.clone())
            };
            let mut out = Vec::with_capacity(changes.len());
            for (i, c) in changes.into_iter().enumerate() {
                let c = store_change(c, &names).map_err(|error| ChangesFailed {
                    index: Some(i),
                    error,
                })?;
                out.push(c);
            }
            let users = db2 == crate::store::names::SYSTEM_DATABASE && {
                let g = catalog
                    .collection(&db2, "_users")
                    .ok()
                    .map(|c| c.guid.clone());
                out.iter().any(|c| match c {
                    Change::Document { guid, .. }
                    | Change::Truncate { guid }
                    | Change::DropCollection { guid } => Some(guid) == g.as_ref(),
                    Change::CreateCollection { opts, .. } => opts.name == "_users",
                    _ => false,
                })
            };
            Ok::<_, ChangesFailed>((out, users))
        };
        let failed = |(index, error)| ChangesFailed { index, error };
        // a few changes (a follower keeping up) are prepared here and awaited without a thread hop;
        // a catch-up chunk is parsed and applied on the blocking pool
        let (stats, users_touched) = if small {
            let (out, users) = prepare()?;
            let stats = self
                .st
                .store
                .apply_changes_async(db, out, Some(bytes))
                .await
                .map_err(failed)?;
            (stats, users)
        } else {
            let st = self.st.clone();
            let db2 = db.to_string();
            crate::server::blocking(move || {
                Ok(prepare().and_then(|(out, users)| {
                    st.store
                        .apply_changes(&db2, out, Some(bytes))
                        .map(|s| (s, users))
                        .map_err(failed)
                }))
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
        Ok(Applied {
            inserted: stats.inserted,
            replaced: stats.replaced,
            unchanged: stats.unchanged,
            removed: stats.removed,
        })
    }
}
