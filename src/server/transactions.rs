//! Stream transactions: `POST /_api/transaction/begin`, `GET|PUT|DELETE /_api/transaction/<id>`,
//! `GET /_api/transaction`.

use crate::error::{ArangoError, codes};
use crate::server::Shared;
use crate::server::http::{ApiError, ApiResult, Ctx, bad, body_object, ok_with, result};
use crate::store::{TrxCollections, TrxOptions, TrxStatus};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

fn names(v: Option<&Value>, what: &str) -> Result<Vec<String>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("collections.{what} must hold collection names")))
            })
            .collect(),
        Some(_) => Err(bad(format!(
            "collections.{what} must be a string or an array of strings"
        ))),
    }
}

fn parse_id(id: &str) -> Result<u64, ApiError> {
    id.parse().map_err(|_| {
        ApiError(ArangoError::with_message(
            codes::TRANSACTION_NOT_FOUND,
            format!("transaction '{id}' not found"),
        ))
    })
}

fn answer(id: u64, status: TrxStatus) -> Value {
    json!({"id": id.to_string(), "status": status.as_str()})
}

/// `POST /_api/transaction/begin`
pub async fn begin(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    ctx.require_write()?;
    let b = body_object(&body)?;
    let cols = match b.get("collections") {
        Some(Value::Object(c)) => TrxCollections {
            read: names(c.get("read"), "read")?,
            write: names(c.get("write"), "write")?,
            exclusive: names(c.get("exclusive"), "exclusive")?,
        },
        _ => {
            return Err(bad(
                "missing 'collections' attribute: expecting {\"collections\": {\"read\": [...], \"write\": [...]}}",
            ));
        }
    };
    let opts = TrxOptions {
        wait_for_sync: b
            .get("waitForSync")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    };
    // opening a snapshot reads nothing from disk: no thread of its own needed
    let id = st.store.begin_transaction(&ctx.db, &cols, &opts)?;
    Ok(result(StatusCode::CREATED, answer(id, TrxStatus::Running)))
}

/// `GET /_api/transaction/<id>`
pub async fn status(
    State(st): State<Shared>,
    Extension(_ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let id = parse_id(&id)?;
    let s = st.store.transaction_status(id)?;
    Ok(result(StatusCode::OK, answer(id, s)))
}

/// `PUT /_api/transaction/<id>`: commit.
pub async fn commit(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require_write()?;
    let id = parse_id(&id)?;
    let s = st.store.commit_transaction_async(id).await?;
    Ok(result(StatusCode::OK, answer(id, s)))
}

/// `DELETE /_api/transaction/<id>`: abort.
pub async fn abort(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require_write()?;
    let id = parse_id(&id)?;
    let s = st.store.abort_transaction(id)?;
    Ok(result(StatusCode::OK, answer(id, s)))
}

/// `GET /_api/transaction`
pub async fn list(State(st): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require_read()?;
    let t: Vec<Value> = st
        .store
        .running_transactions(&ctx.db)
        .into_iter()
        .map(|(id, s)| json!({"id": id.to_string(), "state": s}))
        .collect();
    Ok(ok_with(StatusCode::OK, json!({"transactions": t})))
}

/// `POST /_api/transaction`: JavaScript transactions need a server-side JavaScript engine we do not have.
pub async fn javascript() -> ApiResult {
    Err(ApiError(ArangoError::with_message(
        codes::NOT_IMPLEMENTED,
        "JavaScript transactions are not supported by arangorepl; use a stream transaction (POST /_api/transaction/begin)",
    )))
}
