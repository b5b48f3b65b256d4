//! `/_api/index`: list, create (idempotent), read and drop indexes.

use crate::error::{ArangoError, codes};
use crate::server::http::{ApiError, ApiResult, Ctx, Params, body_json, ok_with};
use crate::server::{Shared, blocking};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

fn collection_param(q: &Option<String>) -> Result<String, ApiError> {
    Params::parse(q.as_deref())
        .str("collection")
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApiError(ArangoError::new(codes::ARANGO_COLLECTION_PARAMETER_MISSING)))
}

/// `GET /_api/index?collection=<name>`
pub async fn list(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    ctx.require_read()?;
    let def = st.store.collection(&ctx.db, &collection_param(&q)?)?;
    let indexes = def.all_indexes_json();
    let identifiers: Map<String, Value> = indexes
        .iter()
        .map(|i| (i["id"].as_str().unwrap_or("").to_string(), i.clone()))
        .collect();
    Ok(ok_with(
        StatusCode::OK,
        json!({"indexes": indexes, "identifiers": identifiers}),
    ))
}

/// `POST /_api/index?collection=<name>`: 201 if created, 200 if an identical index existed.
pub async fn create(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    ctx.require_write()?;
    let coll = collection_param(&q)?;
    let spec = body_json(&body)?;
    let def = st.store.collection(&ctx.db, &coll)?;
    let (st2, db, id) = (st.clone(), ctx.db.clone(), def.id.to_string());
    let (idx, created) = blocking(move || st2.store.ensure_index(&db, &id, &spec)).await?;
    let mut v = idx.to_json(&def.name);
    v["isNewlyCreated"] = json!(created);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(ok_with(status, v))
}

fn find(def: &crate::store::CollectionDef, id: &str) -> Result<Value, ApiError> {
    let want = format!("{}/{id}", def.name);
    def.all_indexes_json()
        .into_iter()
        .find(|i| i["id"] == want.as_str() || i["name"] == id)
        .ok_or_else(|| {
            ApiError(ArangoError::with_message(
                codes::ARANGO_INDEX_NOT_FOUND,
                format!("index not found: {want}"),
            ))
        })
}

/// `GET /_api/index/<collection>/<id-or-name>`
pub async fn get_one(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((coll, id)): Path<(String, String)>,
) -> ApiResult {
    ctx.require_read()?;
    let def = st.store.collection(&ctx.db, &coll)?;
    Ok(ok_with(StatusCode::OK, find(&def, &id)?))
}

/// `DELETE /_api/index/<collection>/<id-or-name>`
pub async fn drop(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((coll, id)): Path<(String, String)>,
) -> ApiResult {
    ctx.require_write()?;
    let def = st.store.collection(&ctx.db, &coll)?;
    let idx = find(&def, &id)?;
    let full = idx["id"].as_str().unwrap_or("").to_string();
    let num: u64 = full
        .rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| ApiError(ArangoError::new(codes::ARANGO_INDEX_HANDLE_BAD)))?;
    let (st2, db, cid) = (st.clone(), ctx.db.clone(), def.id.to_string());
    blocking(move || st2.store.drop_index(&db, &cid, num)).await?;
    Ok(ok_with(StatusCode::OK, json!({"id": full})))
}
