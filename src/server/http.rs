//! HTTP plumbing shared by all handlers: ArangoDB's error envelope as a response, JSON bodies, query
//! parameters, and the per-request context (database, user, access level).

use crate::error::{ArangoError, codes};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;

/// An ArangoDB error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub ArangoError);

impl From<ArangoError> for ApiError {
    fn from(e: ArangoError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json(status, &self.0.to_envelope())
    }
}

pub type ApiResult = Result<Response, ApiError>;

/// A JSON response with ArangoDB's content type.
pub fn json(status: StatusCode, v: &Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    raw_json(status, body)
}

/// A response from already serialized JSON.
pub fn raw_json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// `{"error": false, "code": <status>, ...fields}` as ArangoDB wraps most results.
pub fn ok_with(status: StatusCode, fields: Value) -> Response {
    let mut m = serde_json::Map::new();
    m.insert("error".into(), Value::Bool(false));
    m.insert("code".into(), Value::from(status.as_u16()));
    if let Value::Object(f) = fields {
        m.extend(f);
    }
    json(status, &Value::Object(m))
}

/// `{"error": false, "code": <status>, "result": <v>}`.
pub fn result(status: StatusCode, v: Value) -> Response {
    ok_with(status, serde_json::json!({ "result": v }))
}

/// Parses a JSON request body; an empty or malformed body is error 600 with the parser's reason.
pub fn body_json(bytes: &Bytes) -> Result<Value, ApiError> {
    crate::replication::host::body_json(bytes).map_err(ApiError)
}

/// Like [`body_json`], but an empty body is `{}`.
pub fn body_json_or_empty(bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        Ok(Value::Object(Default::default()))
    } else {
        body_json(bytes)
    }
}

/// Requires a JSON object body.
pub fn body_object(bytes: &Bytes) -> Result<serde_json::Map<String, Value>, ApiError> {
    match body_json(bytes)? {
        Value::Object(m) => Ok(m),
        _ => Err(bad("expecting a JSON object as body")),
    }
}

/// Error 400 (bad parameter) with a message.
pub fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(ArangoError::with_message(codes::HTTP_BAD_PARAMETER, msg))
}

/// Query parameters with ArangoDB's boolean spellings.
#[derive(Debug, Default, Clone)]
pub struct Params(pub HashMap<String, String>);

impl Params {
    pub fn parse(query: Option<&str>) -> Self {
        let mut m = HashMap::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            m.insert(dec(k), dec(v));
        }
        Params(m)
    }

    pub fn str(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(|s| s.as_str())
    }

    /// `true`/`yes`/`on`/`1` (also an empty value, as in `?waitForSync`) are true.
    pub fn bool(&self, k: &str, default: bool) -> bool {
        match self.0.get(k).map(|s| s.to_ascii_lowercase()) {
            None => default,
            Some(v) => matches!(v.as_str(), "true" | "yes" | "on" | "1" | "y" | ""),
        }
    }

    /// An unsigned number; a value that is not one is error 400.
    pub fn u64(&self, k: &str) -> Result<Option<u64>, ApiError> {
        match self.0.get(k) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                bad(format!(
                    "invalid value for parameter '{k}': expecting a number, got '{v}'"
                ))
            }),
        }
    }
}

/// Access to a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    None,
    ReadOnly,
    ReadWrite,
}

impl Access {
    pub fn parse(s: &str) -> Option<Access> {
        match s {
            "rw" => Some(Access::ReadWrite),
            "ro" => Some(Access::ReadOnly),
            "none" => Some(Access::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Access::ReadWrite => "rw",
            Access::ReadOnly => "ro",
            Access::None => "none",
        }
    }
}

/// Who is asking, and in which database.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The database of the request (`/_db/<name>/`, `_system` without prefix).
    pub db: String,
    /// The authenticated user (`root` when authentication is off).
    pub user: String,
    /// Admin rights: `rw` on `_system`, or a superuser token.
    pub superuser: bool,
    /// The user's access to `db`.
    pub access: Access,
    /// The stream transaction given in `x-arango-trx-id`.
    pub trx: Option<u64>,
}

impl Ctx {
    pub fn require_read(&self) -> Result<(), ApiError> {
        if self.access >= Access::ReadOnly {
            Ok(())
        } else {
            Err(forbidden())
        }
    }

    pub fn require_write(&self) -> Result<(), ApiError> {
        if self.access >= Access::ReadWrite {
            Ok(())
        } else {
            Err(forbidden())
        }
    }

    /// Read (or write) access to one collection: its own level where one is granted, else the
    /// database's. Administrators keep the database's level.
    pub fn require_collection(
        &self,
        auth: &crate::server::auth::Auth,
        coll: &str,
        write: bool,
    ) -> Result<(), ApiError> {
        let need = if write {
            Access::ReadWrite
        } else {
            Access::ReadOnly
        };
        let level = if !auth.enabled || self.superuser {
            self.access
        } else {
            auth.collection_access(&self.user, &self.db, coll)
        };
        if level >= need {
            Ok(())
        } else {
            Err(forbidden())
        }
    }

    pub fn require_superuser(&self) -> Result<(), ApiError> {
        if self.superuser {
            Ok(())
        } else {
            Err(forbidden())
        }
    }
}

/// 405 in ArangoDB's envelope for a known path asked with a verb it does not take.
pub fn method_not_allowed(method: &axum::http::Method, path: &str) -> ApiError {
    ApiError(ArangoError::with_message(
        codes::HTTP_METHOD_NOT_ALLOWED,
        format!("method {method} not supported for '{path}'"),
    ))
}

pub fn forbidden() -> ApiError {
    ApiError(ArangoError::with_message(
        codes::FORBIDDEN,
        "forbidden: insufficient permissions for this operation",
    ))
}

/// The `_rev` of an `If-Match` / `If-None-Match` header (quotes removed).
pub fn etag(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
}
