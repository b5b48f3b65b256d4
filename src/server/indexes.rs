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

/// How many documents the selectivity estimate looks at (the first ones in key order).
const ESTIMATE_SAMPLE: usize = 10_000;

/// The share of distinct values among `values` (1 when there are none), as ArangoDB's estimates.
fn distinct_share(values: &[String]) -> f64 {
    if values.is_empty() {
        return 1.0;
    }
    let distinct: std::collections::HashSet<&String> = values.iter().collect();
    distinct.len() as f64 / values.len() as f64
}

/// Adds `selectivityEstimate` where ArangoDB reports one: 1 for the primary and unique indexes; for
/// the edge index and non-unique persistent indexes with `estimates`, the share of distinct values
/// among the first documents (a sample; sparse indexes skip documents without all fields).
fn with_estimates(
    st: &Shared,
    def: &crate::store::CollectionDef,
    mut indexes: Vec<Value>,
) -> Result<Vec<Value>, ApiError> {
    let needs_sample = indexes
        .iter()
        .any(|i| i["unique"] != true && (i["type"] == "edge" || i["estimates"] != false));
    let sample = if needs_sample {
        st.store
            .snapshot()?
            .documents_after(def.id, None, ESTIMATE_SAMPLE)?
    } else {
        Vec::new()
    };
    for i in indexes.iter_mut() {
        let estimate = if i["unique"] == true {
            Some(1.0)
        } else if i["type"] == "edge" {
            let froms: Vec<String> = sample.iter().map(|d| d["_from"].to_string()).collect();
            Some(distinct_share(&froms))
        } else if i["estimates"] != false {
            let fields: Vec<&str> = i["fields"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let sparse = i["sparse"] == true;
            let values: Vec<String> = sample
                .iter()
                .filter_map(|d| {
                    let vals: Vec<&Value> = fields
                        .iter()
                        .map(|f| f.split('.').fold(d, |v, part| &v[part]))
                        .collect();
                    if sparse && vals.iter().any(|v| v.is_null()) {
                        return None;
                    }
                    Some(serde_json::to_string(&vals).unwrap_or_default())
                })
                .collect();
            Some(distinct_share(&values))
        } else {
            None
        };
        if let (Some(e), Value::Object(m)) = (estimate, i) {
            m.insert("selectivityEstimate".into(), json!(e));
        }
    }
    Ok(indexes)
}

/// `GET /_api/index?collection=<name>`
pub async fn list(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    ctx.require_read()?;
    let def = st.store.collection(&ctx.db, &collection_param(&q)?)?;
    let (st2, def2) = (st.clone(), def.clone());
    let indexes =
        blocking(move || with_estimates(&st2, &def2, def2.all_indexes_json()).map_err(|e| e.0))
            .await?;
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
    let idx = find(&def, &id)?;
    let st2 = st.clone();
    let mut v = blocking(move || with_estimates(&st2, &def, vec![idx]).map_err(|e| e.0)).await?;
    Ok(ok_with(StatusCode::OK, v.pop().unwrap_or(Value::Null)))
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
