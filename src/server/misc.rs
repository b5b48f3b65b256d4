//! Server-level endpoints: version, role, engine, server id, and `POST /_open/auth` (JWT login).

use crate::error::{ArangoError, codes};
use crate::server::Shared;
use crate::server::http::{ApiError, ApiResult, bad, body_object, json, ok_with};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde_json::json;

/// `GET /_api/version[?details=true]`
pub async fn version(State(st): State<Shared>, RawQuery(q): RawQuery) -> ApiResult {
    let details = crate::server::http::Params::parse(q.as_deref()).bool("details", false);
    let mut v = json!({"server": "arango", "version": st.version, "license": "community"});
    if details {
        v["details"] = json!({
            "architecture": "64bit",
            "engine": "rocksdb",
            "mode": "server",
            "role": "SINGLE",
            "server-version": st.version,
            "host": "arangorepl",
        });
    }
    Ok(json(StatusCode::OK, &v))
}

/// `GET /_admin/server/role`
pub async fn role() -> ApiResult {
    Ok(ok_with(
        StatusCode::OK,
        json!({"role": "SINGLE", "mode": "default"}),
    ))
}

/// `GET /_admin/server/id`
pub async fn server_id(State(st): State<Shared>) -> ApiResult {
    Ok(ok_with(
        StatusCode::OK,
        json!({"id": st.store.server_id().to_string()}),
    ))
}

/// `GET /_api/engine`: RocksDB-shaped, so clients take the RocksDB code paths.
pub async fn engine() -> ApiResult {
    Ok(json(
        StatusCode::OK,
        &json!({
            "name": "rocksdb",
            "supports": {
                "alternativeIndexes": false,
                "dfdb": false,
                "indexes": ["primary", "edge", "persistent", "hash", "skiplist"],
            }
        }),
    ))
}

/// `POST /_open/auth {"username","password"}` → `{"jwt": …}`.
pub async fn login(State(st): State<Shared>, body: Bytes) -> ApiResult {
    let b = body_object(&body)?;
    let user = b
        .get("username")
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad("expecting attribute 'username'"))?
        .to_string();
    let pass = b
        .get("password")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let st2 = st.clone();
    let token = crate::server::blocking(move || Ok(st2.auth.login(&user, &pass))).await?;
    match token {
        Some(jwt) => Ok(json(StatusCode::OK, &json!({"jwt": jwt}))),
        None => Ok(json(
            StatusCode::UNAUTHORIZED,
            &json!({"code": 401, "error": true, "errorMessage": "Wrong credentials", "errorNum": 401}),
        )),
    }
}

/// `GET /_api/view`: arangorepl has no views (arangosearch), so the list is empty.
pub async fn views() -> ApiResult {
    Ok(ok_with(StatusCode::OK, json!({"result": []})))
}

/// `GET|DELETE /_api/view/<name>[/<properties|rename>]`: no view exists.
pub async fn unknown_view(
    axum::extract::Path(parts): axum::extract::Path<Vec<String>>,
) -> ApiResult {
    let name = parts.first().cloned().unwrap_or_default();
    Err(ApiError(ArangoError::with_message(
        codes::ARANGO_DATA_SOURCE_NOT_FOUND,
        format!("collection or view not found: view '{name}' does not exist"),
    )))
}

/// `POST /_api/view`: views (arangosearch, search-alias) need a search engine arangorepl has not got.
pub async fn create_view() -> ApiResult {
    Err(ApiError(ArangoError::with_message(
        codes::NOT_IMPLEMENTED,
        "views are not supported by arangorepl (no arangosearch engine)",
    )))
}
