//! Catalog changes as steps inside a writer transaction: the public [`Store`](super::Store) methods run
//! each alone, and a follower's [`Store::apply_changes`](super::Store::apply_changes) runs many of them,
//! with documents, in one transaction.

use super::catalog::{CollectionDef, CollectionOptions, IndexDef, PropertiesChange};
use super::docs::{self, CollStats};
use super::writer::WriteCtx;
use super::{build_unique, collection_marker_data, marker, names};
use crate::error::{ArangoError, ArangoResult, codes};
use crate::store::catalog::CollectionType;
use std::sync::atomic::Ordering;

pub(crate) fn ddl_create_collection(
    ctx: &mut WriteCtx<'_>,
    db: &str,
    opts: CollectionOptions,
) -> ArangoResult<CollectionDef> {
    ctx.catalog.database(db)?;
    if ctx
        .catalog
        .collection(db, &opts.name)
        .is_ok_and(|c| c.name == opts.name)
    {
        return Err(ArangoError::with_message(
            codes::ARANGO_DUPLICATE_NAME,
            format!(
                "duplicate name: a collection named '{}' already exists",
                opts.name
            ),
        ));
    }
    let id = match opts.id {
        Some(id) if id != 0 && !ctx.catalog.collections.contains_key(&id) => {
            ctx.shared.next_id.fetch_max(id + 1, Ordering::AcqRel);
            id
        }
        _ => ctx.shared.new_id(),
    };
    let is_system = names::is_system_name(&opts.name);
    let guid = match opts.guid {
        Some(g) if ctx.catalog.collection(db, &g).is_err() => g,
        _ if is_system => opts.name.clone(),
        _ => format!("{}/{id}", ctx.shared.guid_prefix),
    };
    let def = CollectionDef {
        id,
        db: db.to_string(),
        name: opts.name,
        guid,
        ctype: opts.ctype,
        is_system,
        wait_for_sync: opts.wait_for_sync,
        key_options: opts.key_options,
        schema: opts.schema,
        cache_enabled: opts.cache_enabled,
        computed_values: opts.computed_values,
        indexes: Vec::new(),
    };
    ctx.save_collection(&def)?;
    docs::DocAccess::set_stats(ctx, id, CollStats::default())?;
    let data = collection_marker_data(&def, 0)?;
    ctx.append(marker::COLLECTION_CREATE, 0, db, &def.guid, Some(&data))?;
    Ok(def)
}

pub(crate) fn ddl_drop_collection(
    ctx: &mut WriteCtx<'_>,
    db: &str,
    name: &str,
    allow_system: bool,
) -> ArangoResult<()> {
    let def = ctx.catalog.collection(db, name)?.clone();
    if def.is_system && !allow_system {
        return Err(ArangoError::with_message(
            codes::FORBIDDEN,
            format!(
                "cannot drop system collection '{}' without isSystem=true",
                def.name
            ),
        ));
    }
    ctx.erase_collection(def.id)?;
    ctx.append(marker::COLLECTION_DROP, 0, db, &def.guid, None)?;
    Ok(())
}

pub(crate) fn ddl_rename_collection(
    ctx: &mut WriteCtx<'_>,
    db: &str,
    name: &str,
    new_name: &str,
) -> ArangoResult<CollectionDef> {
    let mut def = ctx.catalog.collection(db, name)?.clone();
    if def.is_system || names::is_system_name(new_name) {
        return Err(ArangoError::with_message(
            codes::FORBIDDEN,
            "system collections cannot be renamed, and no collection can be renamed to a system name",
        ));
    }
    if def.name == new_name {
        return Ok(def);
    }
    if ctx
        .catalog
        .collection(db, new_name)
        .is_ok_and(|c| c.name == new_name)
    {
        return Err(ArangoError::with_message(
            codes::ARANGO_DUPLICATE_NAME,
            format!("duplicate name: a collection named '{new_name}' already exists"),
        ));
    }
    ctx.catalog.remove_collection(def.id);
    def.name = new_name.to_string();
    ctx.save_collection(&def)?;
    let data = serde_json::to_vec(&serde_json::json!({ "name": new_name }))
        .map_err(|e| ArangoError::internal(e.to_string()))?;
    ctx.append(marker::COLLECTION_RENAME, 0, db, &def.guid, Some(&data))?;
    Ok(def)
}

pub(crate) fn ddl_change_collection(
    ctx: &mut WriteCtx<'_>,
    db: &str,
    name: &str,
    change: PropertiesChange,
) -> ArangoResult<CollectionDef> {
    let mut def = ctx.catalog.collection(db, name)?.clone();
    if let Some(w) = change.wait_for_sync {
        def.wait_for_sync = w;
    }
    if let Some(s) = change.schema {
        def.schema = s;
    }
    if let Some(c) = change.cache_enabled {
        def.cache_enabled = c;
    }
    if let Some(c) = change.computed_values {
        def.computed_values = c;
    }
    ctx.save_collection(&def)?;
    let last = docs::DocAccess::stats(ctx, def.id)?.last_value;
    let data = collection_marker_data(&def, last)?;
    ctx.append(marker::COLLECTION_CHANGE, 0, db, &def.guid, Some(&data))?;
    Ok(def)
}

pub(crate) fn ddl_truncate_collection(
    ctx: &mut WriteCtx<'_>,
    db: &str,
    name: &str,
) -> ArangoResult<()> {
    let def = ctx.catalog.collection(db, name)?.clone();
    ctx.clear_documents(def.id)?;
    ctx.append(marker::COLLECTION_TRUNCATE, 0, db, &def.guid, None)?;
    Ok(())
}

pub(crate) fn ddl_ensure_index(
    ctx: &mut WriteCtx<'_>,
    db: &str,
    coll: &str,
    want_id: Option<u64>,
    want_name: Option<String>,
    mut idx: IndexDef,
) -> ArangoResult<(IndexDef, bool)> {
    let mut def = ctx.catalog.collection(db, coll)?.clone();
    if let Some(existing) = def.indexes.iter().find(|i| i.same_definition(&idx))
        && want_name.as_ref().is_none_or(|n| *n == existing.name)
    {
        return Ok((existing.clone(), false));
    }
    if let Some(n) = &want_name
        && (n == "primary" || n == "edge" || def.indexes.iter().any(|i| &i.name == n))
    {
        return Err(ArangoError::with_message(
            codes::ARANGO_DUPLICATE_NAME,
            format!("duplicate value: an index named '{n}' already exists"),
        ));
    }
    idx.id = match want_id {
        Some(id) if id > 1 && !def.indexes.iter().any(|i| i.id == id) => {
            ctx.shared.next_id.fetch_max(id + 1, Ordering::AcqRel);
            id
        }
        _ => ctx.shared.new_id(),
    };
    idx.name = want_name.unwrap_or_else(|| format!("idx_{}", idx.id));
    if idx.unique {
        build_unique(ctx, &def, &idx)?;
    }
    def.indexes.push(idx.clone());
    if let Some(sec) = crate::store::index::secondary_indexes(&def)
        .into_iter()
        .find(|s| s.iid == idx.id)
    {
        ctx.build_secondary(def.id, &sec)?;
    }
    ctx.save_collection(&def)?;
    let data = serde_json::to_vec(&idx.to_inventory_json())
        .map_err(|e| ArangoError::internal(e.to_string()))?;
    ctx.append(marker::INDEX_CREATE, 0, db, &def.guid, Some(&data))?;
    Ok((idx, true))
}

pub(crate) fn ddl_drop_index(
    ctx: &mut WriteCtx<'_>,
    db: &str,
    coll: &str,
    iid: u64,
) -> ArangoResult<()> {
    let mut def = ctx.catalog.collection(db, coll)?.clone();
    if iid == 0 || (iid == 1 && def.ctype == CollectionType::Edge) {
        return Err(ArangoError::with_message(
            codes::FORBIDDEN,
            "the primary and edge indexes cannot be dropped",
        ));
    }
    let Some(pos) = def.indexes.iter().position(|i| i.id == iid) else {
        return Err(ArangoError::with_message(
            codes::ARANGO_INDEX_NOT_FOUND,
            format!("index not found: {}/{iid}", def.name),
        ));
    };
    def.indexes.remove(pos);
    ctx.clear_index(def.id, iid)?;
    ctx.save_collection(&def)?;
    let data = serde_json::to_vec(&serde_json::json!({ "id": iid.to_string() }))
        .map_err(|e| ArangoError::internal(e.to_string()))?;
    ctx.append(marker::INDEX_DROP, 0, db, &def.guid, Some(&data))?;
    Ok(())
}

/// One change a follower applies from its leader's log (see [`Store::apply_changes`](super::Store::apply_changes)).
/// Collections are named by their `globallyUniqueId`, which a follower shares with its leader.
#[derive(Debug, Clone)]
pub enum Change {
    /// Marker 2000: the leader's collection parameters (with its `globallyUniqueId`) and indexes.
    CreateCollection {
        opts: CollectionOptions,
        indexes: Vec<serde_json::Value>,
    },
    /// Marker 2001; a missing collection is fine.
    DropCollection { guid: String },
    /// Marker 2002.
    RenameCollection { guid: String, name: String },
    /// Marker 2003.
    ChangeCollection {
        guid: String,
        change: PropertiesChange,
    },
    /// Marker 2004.
    Truncate { guid: String },
    /// Marker 2100: an index with the same id or name but another definition makes way.
    EnsureIndex {
        guid: String,
        spec: serde_json::Value,
    },
    /// Marker 2101; a missing collection or index is fine, and so is an id that is no number (`None`),
    /// which names no index here.
    DropIndex { guid: String, id: Option<u64> },
    /// Markers 2300/2302.
    Document { guid: String, op: super::ReplicaOp },
}

impl Change {
    pub fn is_document(&self) -> bool {
        matches!(self, Change::Document { .. })
    }
}

fn by_guid(ctx: &WriteCtx<'_>, db: &str, guid: &str) -> ArangoResult<CollectionDef> {
    let def = ctx.catalog.collection(db, guid)?;
    if def.guid != guid {
        return Err(super::catalog::unknown_collection(guid));
    }
    Ok(def.clone())
}

fn missing_ok(r: ArangoResult<()>) -> ArangoResult<()> {
    match r {
        Err(e)
            if e.error_num == codes::ARANGO_DATA_SOURCE_NOT_FOUND
                || e.error_num == codes::ARANGO_INDEX_NOT_FOUND =>
        {
            Ok(())
        }
        r => r,
    }
}

/// Creates an index as the leader defined it: an index with the same id or name but another definition
/// is dropped first; an identical one is kept.
fn ensure_leader_index(
    ctx: &mut WriteCtx<'_>,
    db: &str,
    def: &CollectionDef,
    spec: &serde_json::Value,
) -> ArangoResult<()> {
    let (want_id, want_name, wanted) = IndexDef::from_json(spec)?;
    for i in &def.indexes {
        let same_id = want_id == Some(i.id);
        let same_name = want_name.as_deref() == Some(i.name.as_str());
        if (same_id || same_name) && !i.same_definition(&wanted) {
            ddl_drop_index(ctx, db, &def.name, i.id)?;
        }
    }
    ddl_ensure_index(ctx, db, &def.name, want_id, want_name, wanted).map(|_| ())
}

/// Applies one change inside the writer's transaction; document changes count in `st`.
pub(crate) fn apply_change(
    ctx: &mut WriteCtx<'_>,
    db: &str,
    change: Change,
    last: &mut Option<CollectionDef>,
    st: &mut super::ReplicaStats,
) -> ArangoResult<()> {
    if !change.is_document() {
        // catalog changes keep their place among the documents in this server's own log
        ctx.flush_markers(None)?;
        *last = None;
    }
    match change {
        Change::Document { guid, op } => {
            let def = match last.take() {
                Some(d) if d.guid == guid => d,
                _ => by_guid(ctx, db, &guid)?,
            };
            let clock = &ctx.shared.clock;
            match op {
                super::ReplicaOp::Upsert(doc) => {
                    st.count(docs::apply_replica(ctx, &def, clock, doc)?);
                }
                super::ReplicaOp::Raw(r) if def.ctype == CollectionType::Document => {
                    st.count(docs::apply_replica_raw(ctx, &def, clock, r)?);
                }
                super::ReplicaOp::Raw(r) => {
                    let doc = docs::parse_doc(&r.line)?;
                    st.count(docs::apply_replica(ctx, &def, clock, doc)?);
                }
                super::ReplicaOp::Remove(key) => {
                    let key = serde_json::Value::String(key);
                    match docs::remove(ctx, &def, &key, &super::WriteOptions::default()) {
                        Ok(_) => st.removed += 1,
                        Err(e) if e.error_num == codes::ARANGO_DOCUMENT_NOT_FOUND => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            *last = Some(def);
        }
        Change::CreateCollection { mut opts, indexes } => {
            let guid = opts.guid.clone().unwrap_or_default();
            let existing = ctx.catalog.collection(db, &guid).ok().cloned();
            let def = match existing {
                Some(d) if d.guid == guid && d.ctype == opts.ctype => d,
                other => {
                    if let Some(d) = other.filter(|d| d.guid == guid) {
                        // same collection, other type: the leader's definition wins
                        ddl_drop_collection(ctx, db, &d.name, true)?;
                    }
                    let mut keep = None;
                    if let Ok(d) = ctx.catalog.collection(db, &opts.name).cloned()
                        && d.name == opts.name
                    {
                        if d.is_system {
                            ctx.clear_documents(d.id)?;
                            keep = Some(d);
                        } else {
                            ddl_drop_collection(ctx, db, &d.name, true)?;
                        }
                    }
                    match keep {
                        Some(d) => d,
                        None => {
                            opts.id = None;
                            ddl_create_collection(ctx, db, opts)?
                        }
                    }
                }
            };
            for spec in &indexes {
                let def = ctx.catalog.collection(db, &def.guid)?.clone();
                ensure_leader_index(ctx, db, &def, spec)?;
            }
        }
        Change::DropCollection { guid } => {
            if let Ok(def) = by_guid(ctx, db, &guid) {
                ddl_drop_collection(ctx, db, &def.name, true)?;
            }
        }
        Change::RenameCollection { guid, name } => {
            let def = by_guid(ctx, db, &guid)?;
            if def.name != name {
                names::validate_collection_name(&name)?;
                ddl_rename_collection(ctx, db, &def.name, &name)?;
            }
        }
        Change::ChangeCollection { guid, change } => {
            let def = by_guid(ctx, db, &guid)?;
            if change.changes(&def) {
                ddl_change_collection(ctx, db, &def.name, change)?;
            }
        }
        Change::Truncate { guid } => {
            let def = by_guid(ctx, db, &guid)?;
            ddl_truncate_collection(ctx, db, &def.name)?;
        }
        Change::EnsureIndex { guid, spec } => {
            let def = by_guid(ctx, db, &guid)?;
            ensure_leader_index(ctx, db, &def, &spec)?;
        }
        Change::DropIndex { guid, id } => {
            if let (Ok(def), Some(id)) = (by_guid(ctx, db, &guid), id) {
                missing_ok(ddl_drop_index(ctx, db, &def.name, id))?;
            }
        }
    }
    Ok(())
}
