//! `/_api/collection`: list, create, read (info, properties, count, figures, checksum, revision), change
//! (truncate, properties, rename, load, unload) and drop.

use crate::error::{ArangoError, codes};
use crate::server::http::{
    ApiError, ApiResult, Ctx, Params, body_json, body_json_or_empty, ok_with,
};
use crate::server::{Shared, blocking};
use crate::store::{CollectionDef, CollectionOptions, PropertiesChange};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

fn base(def: &CollectionDef) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(def.id.to_string()));
    m.insert("name".into(), json!(def.name));
    m.insert("status".into(), json!(3));
    m.insert("type".into(), json!(def.ctype.number()));
    m.insert("isSystem".into(), json!(def.is_system));
    m.insert("globallyUniqueId".into(), json!(def.guid));
    m
}

fn with_properties(
    st: &Shared,
    ctx: &Ctx,
    def: &CollectionDef,
) -> Result<Map<String, Value>, ApiError> {
    let mut m = base(def);
    if let Value::Object(p) = st
        .store
        .collection_properties(&ctx.db, &def.id.to_string())?
    {
        for (k, v) in p {
            if !matches!(k.as_str(), "cid" | "deleted" | "planId") {
                m.insert(k, v);
            }
        }
    }
    m.insert("statusString".into(), json!("loaded"));
    Ok(m)
}

/// `GET /_api/collection[?excludeSystem=true]`
pub async fn list(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    ctx.require_read()?;
    let exclude = Params::parse(q.as_deref()).bool("excludeSystem", false);
    let cat = st.store.catalog();
    let list: Vec<Value> = cat
        .collections_of(&ctx.db)?
        .into_iter()
        .filter(|c| !(exclude && c.is_system))
        .map(|c| Value::Object(base(c)))
        .collect();
    Ok(ok_with(StatusCode::OK, json!({"result": list})))
}

/// `POST /_api/collection`
pub async fn create(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    ctx.require_write()?;
    let opts = CollectionOptions::from_json(&body_json(&body)?)?;
    let (st2, db) = (st.clone(), ctx.db.clone());
    let def = blocking(move || st2.store.create_collection(&db, opts)).await?;
    Ok(ok_with(
        StatusCode::OK,
        Value::Object(with_properties(&st, &ctx, &def)?),
    ))
}

/// `GET /_api/collection/<name>`
pub async fn info(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(name): Path<String>,
) -> ApiResult {
    ctx.require_read()?;
    let def = st.store.collection(&ctx.db, &name)?;
    Ok(ok_with(StatusCode::OK, Value::Object(base(&def))))
}

/// `DELETE /_api/collection/<name>[?isSystem=true]`
pub async fn drop(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    ctx.require_write()?;
    let is_system = Params::parse(q.as_deref()).bool("isSystem", false);
    let def = st.store.collection(&ctx.db, &name)?;
    let (st2, db, id) = (st.clone(), ctx.db.clone(), def.id.to_string());
    blocking(move || st2.store.drop_collection(&db, &id, is_system)).await?;
    Ok(ok_with(StatusCode::OK, json!({"id": def.id.to_string()})))
}

/// `GET /_api/collection/<name>/<properties|count|figures|checksum|revision>`
pub async fn get_detail(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((name, what)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    ctx.require_read()?;
    let p = Params::parse(q.as_deref());
    let def = st.store.collection(&ctx.db, &name)?;
    let mut m = with_properties(&st, &ctx, &def)?;
    match what.as_str() {
        "properties" => {}
        "count" => {
            let (st2, db, id, trx) = (st.clone(), ctx.db.clone(), def.id.to_string(), ctx.trx);
            let n = blocking(move || st2.store.count(&db, &id, trx)).await?;
            m.insert("count".into(), json!(n));
        }
        "figures" => {
            let (st2, db, id) = (st.clone(), ctx.db.clone(), def.id.to_string());
            let n = blocking(move || st2.store.count(&db, &id, None)).await?;
            let indexes: Vec<Value> = def
                .all_indexes_json()
                .into_iter()
                .map(|i| json!({"type": i["type"], "id": i["id"], "count": n}))
                .collect();
            m.insert("count".into(), json!(n));
            m.insert(
                "figures".into(),
                json!({
                    "indexes": {"count": indexes.len(), "size": 0},
                    "documentsSize": 0,
                    "cacheInUse": false,
                    "cacheSize": 0,
                    "cacheUsage": 0,
                    "engine": {"documents": n, "indexes": indexes},
                }),
            );
        }
        "checksum" => {
            let (wr, wd) = (p.bool("withRevisions", false), p.bool("withData", false));
            let (st2, db, id) = (st.clone(), ctx.db.clone(), def.id.to_string());
            let (sum, rev) =
                blocking(move || st2.store.checksum_and_revision(&db, &id, wr, wd)).await?;
            m.insert("checksum".into(), json!(sum.to_string()));
            m.insert("revision".into(), json!(rev));
        }
        "revision" => {
            let (st2, db, id) = (st.clone(), ctx.db.clone(), def.id.to_string());
            let (_, rev) =
                blocking(move || st2.store.checksum_and_revision(&db, &id, false, false)).await?;
            m.insert("revision".into(), json!(rev));
        }
        "shards" | "responsibleShard" => {
            return Err(ApiError(ArangoError::with_message(
                codes::CLUSTER_UNSUPPORTED,
                "shards exist only in a cluster",
            )));
        }
        other => {
            return Err(ApiError(ArangoError::with_message(
                codes::HTTP_NOT_FOUND,
                format!("unknown collection sub-path '{other}'"),
            )));
        }
    }
    Ok(ok_with(StatusCode::OK, Value::Object(m)))
}

/// `PUT /_api/collection/<name>/<truncate|properties|rename|load|unload|…>`
pub async fn put_detail(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((name, what)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let def = st.store.collection(&ctx.db, &name)?;
    let (st2, db, id) = (st.clone(), ctx.db.clone(), def.id.to_string());
    let def = match what.as_str() {
        "truncate" => {
            ctx.require_write()?;
            blocking(move || st2.store.truncate_collection(&db, &id)).await?;
            def
        }
        "properties" => {
            ctx.require_write()?;
            let ch = PropertiesChange::from_json(&body_json(&body)?)?;
            blocking(move || st2.store.change_collection(&db, &id, ch)).await?
        }
        "rename" => {
            ctx.require_write()?;
            let b = body_json(&body)?;
            let new = b["name"]
                .as_str()
                .ok_or_else(|| {
                    ApiError(ArangoError::with_message(
                        codes::ARANGO_ILLEGAL_NAME,
                        "illegal name: expecting string attribute 'name'",
                    ))
                })?
                .to_string();
            blocking(move || st2.store.rename_collection(&db, &id, &new)).await?
        }
        "load" | "unload" | "loadIndexesIntoMemory" | "compact" | "recalculateCount" => {
            ctx.require_read()?;
            body_json_or_empty(&body)?;
            def
        }
        other => {
            return Err(ApiError(ArangoError::with_message(
                codes::HTTP_NOT_FOUND,
                format!("unknown collection operation '{other}'"),
            )));
        }
    };
    let mut m = with_properties(&st, &ctx, &def)?;
    if what == "load" || what == "unload" {
        m.insert(
            "count".into(),
            json!(st.store.count(&ctx.db, &def.id.to_string(), None)?),
        );
    }
    if what == "loadIndexesIntoMemory" {
        return Ok(ok_with(StatusCode::OK, json!({"result": true})));
    }
    if what == "recalculateCount" {
        // counts are exact here: nothing to recalculate
        let count = st.store.count(&ctx.db, &def.id.to_string(), None)?;
        return Ok(ok_with(
            StatusCode::OK,
            json!({"result": true, "count": count}),
        ));
    }
    if what == "compact" {
        // the short form, as GET /_api/collection/<name>
        return Ok(ok_with(StatusCode::OK, Value::Object(base(&def))));
    }
    Ok(ok_with(StatusCode::OK, Value::Object(m)))
}
