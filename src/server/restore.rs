//! arangorestore's endpoints: `PUT /_api/replication/restore-collection`, `restore-indexes` and
//! `restore-data`. They create collections keeping their id, `globallyUniqueId`, type and key options,
//! create indexes keeping their ids and names, and write documents keeping `_key` and `_rev` — what
//! arangorestore sends, and what the replication core's `RemoteFollower` sends to any ArangoDB.

use crate::error::{ArangoError, codes};
use crate::replication::follower::{Documents, Follower};
use crate::replication::wire::created_indexes;
use crate::server::follower::LocalFollower;
use crate::server::http::{
    ApiError, ApiResult, Ctx, Params, bad, body_json, json, method_not_allowed,
};
use crate::server::leader::require_replication;
use crate::server::{Shared, blocking};
use crate::store::CollectionOptions;
use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

/// `/_api/replication/restore-*`; `None` when `command` is not one of them.
pub async fn command(
    st: &Shared,
    ctx: &Ctx,
    method: &Method,
    command: &str,
    p: &Params,
    body: &Bytes,
) -> Option<ApiResult> {
    if !matches!(
        command,
        "restore-collection" | "restore-indexes" | "restore-data"
    ) {
        return None;
    }
    if *method != Method::PUT {
        return Some(Err(method_not_allowed(
            method,
            &format!("/_api/replication/{command}"),
        )));
    }
    Some(run(st, ctx, command, p, body).await)
}

async fn run(st: &Shared, ctx: &Ctx, command: &str, p: &Params, body: &Bytes) -> ApiResult {
    require_replication(ctx)?;
    if st.read_only.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(ApiError(ArangoError::new(codes::ARANGO_READ_ONLY)));
    }
    match command {
        "restore-collection" => {
            let (parameters, indexes) = definition(body)?;
            restore_collection(st, &ctx.db, parameters, indexes, p.bool("overwrite", false))
                .await?;
        }
        "restore-indexes" => {
            let (parameters, indexes) = definition(body)?;
            let name = collection_name(&parameters)?;
            let (s, db) = (st.clone(), ctx.db.clone());
            blocking(move || {
                for idx in &indexes {
                    s.store.ensure_index(&db, &name, idx)?;
                }
                Ok(())
            })
            .await?;
        }
        _ => {
            let Some(name) = p.0.get("collection").filter(|c| !c.is_empty()) else {
                return Err(bad("invalid collection parameter: 'collection' is missing"));
            };
            ctx.require_collection(&st.auth, name, true)?;
            let f = LocalFollower { st: st.clone() };
            f.apply_documents(&ctx.db, name, Documents::Lines(body.clone()))
                .await
                .map_err(|e| {
                    // a line that is neither a document nor a document marker is the client's error
                    if e.error_num == codes::REPLICATION_INVALID_RESPONSE {
                        bad(e.message.replace("from the leader", "in the request body"))
                    } else {
                        ApiError(e)
                    }
                })?;
        }
    }
    Ok(json(StatusCode::OK, &json!({"result": true})))
}

/// `{"parameters": {…}, "indexes": [ … ]}`.
fn definition(body: &Bytes) -> Result<(Value, Vec<Value>), ApiError> {
    let v = body_json(body)?;
    let parameters = match v.get("parameters") {
        Some(p @ Value::Object(_)) => p.clone(),
        _ => {
            return Err(bad(
                "invalid JSON: expecting an object with attribute 'parameters'",
            ));
        }
    };
    let indexes = match v.get("indexes") {
        None | Some(Value::Null) | Some(Value::Array(_)) => created_indexes(v.get("indexes")),
        Some(_) => return Err(bad("invalid JSON: 'indexes' must be an array")),
    };
    Ok((parameters, indexes))
}

fn collection_name(parameters: &Value) -> Result<String, ApiError> {
    match parameters.get("name") {
        Some(Value::String(n)) if !n.is_empty() => Ok(n.clone()),
        _ => Err(ApiError(ArangoError::with_message(
            codes::ARANGO_ILLEGAL_NAME,
            "illegal name: expecting string attribute 'name' in 'parameters'",
        ))),
    }
}

/// Creates the collection as described (an existing one goes first with `overwrite`, else error 1207;
/// a system collection that exists is emptied instead), then its indexes.
async fn restore_collection(
    st: &Shared,
    db: &str,
    parameters: Value,
    indexes: Vec<Value>,
    overwrite: bool,
) -> Result<(), ApiError> {
    let name = collection_name(&parameters)?;
    let opts = CollectionOptions::from_json(&parameters)?;
    let (s, db) = (st.clone(), db.to_string());
    blocking(move || {
        let create = match s.store.collection(&db, &name) {
            Ok(existing) if !overwrite => {
                let _ = existing;
                return Err(ArangoError::with_message(
                    codes::ARANGO_DUPLICATE_NAME,
                    format!(
                        "duplicate name: collection '{name}' exists; restore it with overwrite=true"
                    ),
                ));
            }
            Ok(existing) if existing.is_system => {
                s.store.truncate_collection(&db, &name)?;
                false
            }
            Ok(_) => {
                s.store.drop_collection(&db, &name, true)?;
                true
            }
            Err(e) if e.error_num == codes::ARANGO_DATA_SOURCE_NOT_FOUND => true,
            Err(e) => return Err(e),
        };
        if create {
            s.store.create_collection(&db, opts)?;
        }
        for idx in &indexes {
            s.store.ensure_index(&db, &name, idx)?;
        }
        Ok(())
    })
    .await
}
