//! AQL over HTTP: `POST /_api/cursor` (then `PUT|POST|DELETE /_api/cursor/<id>` in `simple.rs`),
//! `POST /_api/query` (parse), `POST /_api/explain` (the plan's nodes), `GET /_api/query/current|slow`
//! and `DELETE /_api/query/<id>`.

use crate::aql;
use crate::error::{ArangoError, codes};
use crate::server::http::{ApiError, ApiResult, Ctx, bad, body_object, ok_with};
use crate::server::{Shared, blocking};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use std::time::Instant;

fn query_of(b: &Map<String, Value>) -> Result<String, ApiError> {
    match b.get("query") {
        Some(Value::String(q)) => Ok(q.clone()),
        _ => Err(ApiError(ArangoError::with_message(
            codes::QUERY_EMPTY,
            "query is empty",
        ))),
    }
}

fn bind_of(b: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    match b.get("bindVars") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(ApiError(ArangoError::with_message(
            codes::QUERY_BIND_PARAMETERS_INVALID,
            "bindVars must be an object",
        ))),
    }
}

/// `POST /_api/cursor {"query", "bindVars", "batchSize", "count", "ttl", "options"}`
pub async fn cursor(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    ctx.require_read()?;
    let b = body_object(&body)?;
    let query = query_of(&b)?;
    let bind = bind_of(&b)?;
    let batch = match b.get("batchSize") {
        None | Some(Value::Null) => 1000,
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => n.min(1_000_000) as usize,
            _ => return Err(bad("expecting non-zero value for <batchSize>")),
        },
    };
    let count = b.get("count").and_then(Value::as_bool).unwrap_or(false);
    // ttl: seconds an unused cursor lives; options.stream is accepted (the result is computed before
    // the first batch either way, so a streaming cursor behaves as a plain one)
    let ttl = match b.get("ttl") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            Some(t) if t > 0.0 && t.is_finite() => Some(std::time::Duration::from_secs_f64(t)),
            _ => return Err(bad("expecting a positive number for <ttl>")),
        },
    };
    let full_count = b
        .get("options")
        .and_then(|o| o.get("fullCount"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let started = Instant::now();
    let prepared = aql::prepare(&query, bind)?;
    if !prepared.writes.is_empty() {
        ctx.require_write()?;
    }
    for c in &prepared.reads {
        ctx.require_collection(&st.auth, c, false)?;
    }
    for c in &prepared.writes {
        ctx.require_collection(&st.auth, c, true)?;
    }
    let (st2, db, trx) = (st.clone(), ctx.db.clone(), ctx.trx);
    blocking(move || {
        let out = aql::execute(&st2.store, &db, &prepared, full_count, trx)?;
        let n = out.result.len() as u64;
        let (id, docs, more, count) =
            crate::server::simple::open_buffered(&st2, out.snapshot, out.result, batch, count, ttl)?;
        let mut stats = json!({
            "writesExecuted": out.writes_executed, "writesIgnored": out.writes_ignored,
            "scannedFull": out.scanned_full,
            "scannedIndex": out.scanned_index, "cursorsCreated": 0, "cursorsRearmed": 0, "cacheHits": 0,
            "cacheMisses": 0, "filtered": out.filtered, "httpRequests": 0,
            "executionTime": started.elapsed().as_secs_f64(), "peakMemoryUsage": 0,
        });
        if full_count {
            stats["fullCount"] = json!(out.full_count.unwrap_or(n));
        }
        let mut v = json!({"result": docs, "hasMore": more, "cached": false,
                           "extra": {"warnings": [], "stats": stats}});
        if more {
            v["id"] = json!(id.to_string());
        }
        if let Some(c) = count {
            v["count"] = json!(c);
        }
        Ok(ok_with(StatusCode::CREATED, v))
    })
    .await
}

/// `POST /_api/query {"query"}`: parses it; the collections and bind parameters it names.
pub async fn parse(
    State(_st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    ctx.require_read()?;
    let b = body_object(&body)?;
    let query = query_of(&b)?;
    let (collections, bind_vars) = aql::parse_only(&query)?;
    Ok(ok_with(
        StatusCode::OK,
        json!({"parsed": true, "collections": collections, "bindVars": bind_vars, "ast": []}),
    ))
}

/// `POST /_api/explain {"query", "bindVars"}`: the plan's nodes, one per operation.
pub async fn explain(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    ctx.require_read()?;
    let b = body_object(&body)?;
    let query = query_of(&b)?;
    let prepared = aql::prepare(&query, bind_of(&b)?)?;
    let (st2, db) = (st.clone(), ctx.db.clone());
    blocking(move || {
        let snap = st2.store.snapshot()?;
        let plan = aql::explain(&snap, &db, &prepared)?;
        Ok(ok_with(
            StatusCode::OK,
            json!({"plan": plan, "cacheable": true, "warnings": [],
                   "stats": {"rulesExecuted": 0, "rulesSkipped": 0, "plansCreated": 1}}),
        ))
    })
    .await
}

/// `GET /_api/query/current` and `/slow`: queries run to the end before they answer, so none is
/// running or kept.
pub async fn list(Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require_read()?;
    Ok(crate::server::http::json(StatusCode::OK, &json!([])))
}

/// `DELETE /_api/query/<id>`: no query runs long enough here to be killed.
pub async fn kill(Extension(ctx): Extension<Ctx>, Path(id): Path<String>) -> ApiResult {
    ctx.require_read()?;
    Err(ApiError(ArangoError::with_message(
        codes::QUERY_NOT_FOUND,
        format!("query ID not found: {id}"),
    )))
}
