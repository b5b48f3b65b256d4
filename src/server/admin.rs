//! `/_admin/...` endpoints that drivers and arangosh call: the write-ahead log (flush, properties,
//! transactions), status, time, echo, log levels and entries, server mode and availability, target
//! version, license, user reload, and `/_api/tasks` (no server-side JavaScript: an empty list).

use crate::error::{ArangoError, codes};
use crate::logging;
use crate::server::http::{ApiError, ApiResult, Ctx, Params, bad, body_json, json, ok_with};
use crate::server::{Shared, blocking};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use std::sync::atomic::Ordering;

/// `PUT /_admin/wal/flush[?waitForSync=…&waitForCollector=…]`: everything committed is made durable.
pub async fn wal_flush(State(st): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require_superuser()?;
    let store = st.store.clone();
    blocking(move || store.sync()).await?;
    Ok(ok_with(StatusCode::OK, json!({})))
}

/// `GET|PUT /_admin/wal/properties`: the log's settings in ArangoDB's shape; a PUT changes nothing
/// (the store's log is configured at start) and answers the settings in force.
pub async fn wal_properties(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    ctx.require_superuser()?;
    if !body.is_empty() {
        let b = body_json(&body)?;
        if !b.is_object() {
            return Err(bad("expecting a JSON object with the log's properties"));
        }
    }
    let c = st.store.config();
    Ok(ok_with(
        StatusCode::OK,
        json!({
            "allowOversizeEntries": true,
            "logfileSize": c.log_max_bytes,
            "historicLogfiles": 0,
            "reserveLogfiles": 0,
            "syncInterval": c.sync_interval.as_millis() as u64,
            "throttleWait": 0,
            "throttleWhenPending": 0,
        }),
    ))
}

/// `GET /_admin/wal/transactions`: the running stream transactions of the database.
pub async fn wal_transactions(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult {
    ctx.require_read()?;
    let n = st.store.running_transactions(&ctx.db).len();
    Ok(ok_with(
        StatusCode::OK,
        json!({"runningTransactions": n, "minLastCollected": null, "minLastSealed": null}),
    ))
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn mode_name(st: &Shared) -> &'static str {
    if st.read_only.load(Ordering::Relaxed) {
        "readonly"
    } else {
        "default"
    }
}

/// `GET /_admin/status`
pub async fn status(State(st): State<Shared>) -> ApiResult {
    let read_only = st.read_only.load(Ordering::Relaxed);
    let host = host_name();
    let id = st.store.server_id().to_string();
    Ok(json(
        StatusCode::OK,
        &json!({
            "server": "arango",
            "version": st.version,
            "pid": std::process::id(),
            "license": "community",
            "mode": "server",
            "operationMode": "server",
            "foxxApi": false,
            "host": host,
            "hostname": host,
            "serverInfo": {
                "progress": {"phase": "in wait", "feature": "", "recoveryTick": 0},
                "maintenance": false,
                "role": "SINGLE",
                "writeOpsEnabled": !read_only,
                "readOnly": read_only,
                "persistedId": id,
                "serverId": id,
                "state": if st.is_stopping() { "SHUTDOWN" } else { "SERVING" },
            },
        }),
    ))
}

/// `GET /_admin/time`: seconds since the epoch with microseconds.
pub async fn time() -> ApiResult {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_micros() as f64 / 1e6);
    Ok(ok_with(StatusCode::OK, json!({"time": t})))
}

/// `/_admin/echo` (any verb): the request as the server saw it.
pub async fn echo(Extension(ctx): Extension<Ctx>, req: Request) -> ApiResult {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, crate::server::MAX_BODY)
        .await
        .map_err(|e| bad(format!("cannot read the request body: {e}")))?;
    let headers: Map<String, Value> = parts
        .headers
        .iter()
        .filter(|(k, _)| k.as_str() != "authorization")
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
            )
        })
        .collect();
    let params: Map<String, Value> = Params::parse(parts.uri.query())
        .0
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let path = parts.uri.path().to_string();
    let suffix: Vec<Value> = path
        .trim_start_matches("/_admin/echo")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| Value::String(s.to_string()))
        .collect();
    Ok(json(
        StatusCode::OK,
        &json!({
            "authorized": true,
            "user": ctx.user,
            "isAdminUser": ctx.superuser,
            "database": ctx.db,
            "url": parts.uri.to_string(),
            "protocol": "http",
            "portType": "tcp",
            "internals": {},
            "prefix": "/_admin/echo",
            "headers": headers,
            "requestType": parts.method.as_str(),
            "requestBody": String::from_utf8_lossy(&body),
            "parameters": params,
            "cookies": {},
            "suffix": suffix.clone(),
            "rawSuffix": suffix,
            "path": path,
        }),
    ))
}

/// `GET /_admin/log/level`
pub async fn log_level(Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require_superuser()?;
    Ok(json(StatusCode::OK, &logging::levels()))
}

/// `PUT /_admin/log/level {"<topic>": "<level>", …}` (or one level for every topic): changes the
/// server's log filter now.
pub async fn set_log_level(Extension(ctx): Extension<Ctx>, body: Bytes) -> ApiResult {
    ctx.require_superuser()?;
    let b = body_json(&body)?;
    let v = logging::set_levels(&b).map_err(bad)?;
    Ok(json(StatusCode::OK, &v))
}

/// `DELETE /_admin/log/level`: the levels the server started with.
pub async fn reset_log_level(Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require_superuser()?;
    Ok(json(StatusCode::OK, &logging::reset_levels()))
}

/// The kept log entries chosen by `upto`/`level`, `start`, `search`, `sort`, `offset`, `size`, and the
/// number that matched before `offset`/`size`.
fn select_entries(q: &Params) -> Result<(usize, Vec<logging::Entry>), ApiError> {
    let level_of = |k: &str| -> Result<Option<usize>, ApiError> {
        match q.str(k) {
            None => Ok(None),
            Some(s) => s
                .parse::<usize>()
                .ok()
                .filter(|n| *n < logging::LEVELS.len())
                .or_else(|| logging::parse_level(s))
                .map(Some)
                .ok_or_else(|| bad(format!("unknown log level '{s}' in '{k}'"))),
        }
    };
    let (upto, exact) = (level_of("upto")?, level_of("level")?);
    if upto.is_some() && exact.is_some() {
        return Err(bad("'upto' and 'level' exclude each other"));
    }
    let upto = upto.unwrap_or(if exact.is_none() { 3 } else { 5 });
    let start = q.u64("start")?.unwrap_or(0);
    let search = q.str("search").map(str::to_lowercase);
    let mut v: Vec<logging::Entry> = logging::entries()
        .into_iter()
        .filter(|e| match exact {
            Some(l) => e.level == l,
            None => e.level <= upto,
        })
        .filter(|e| e.id >= start)
        .filter(|e| {
            search
                .as_ref()
                .is_none_or(|s| e.message.to_lowercase().contains(s))
        })
        .collect();
    if q.str("sort") == Some("desc") {
        v.reverse();
    }
    let total = v.len();
    let offset = q.u64("offset")?.unwrap_or(0) as usize;
    let size = q.u64("size")?.map_or(usize::MAX, |n| n as usize);
    Ok((total, v.into_iter().skip(offset).take(size).collect()))
}

/// `GET /_admin/log/entries`
pub async fn log_entries(Extension(ctx): Extension<Ctx>, RawQuery(q): RawQuery) -> ApiResult {
    ctx.require_superuser()?;
    let (total, v) = select_entries(&Params::parse(q.as_deref()))?;
    let messages: Vec<Value> = v
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "topic": e.topic,
                "level": logging::LEVELS[e.level],
                "date": crate::time::utc_string(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(e.time)
                ),
                "message": e.message,
            })
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &json!({"total": total, "messages": messages}),
    ))
}

/// `GET /_admin/log`: the same entries in the older column form.
pub async fn log_columns(Extension(ctx): Extension<Ctx>, RawQuery(q): RawQuery) -> ApiResult {
    ctx.require_superuser()?;
    let (total, v) = select_entries(&Params::parse(q.as_deref()))?;
    Ok(json(
        StatusCode::OK,
        &json!({
            "lid": v.iter().map(|e| e.id).collect::<Vec<_>>(),
            "topic": v.iter().map(|e| e.topic).collect::<Vec<_>>(),
            "level": v.iter().map(|e| e.level).collect::<Vec<_>>(),
            "timestamp": v.iter().map(|e| e.time as u64).collect::<Vec<_>>(),
            "text": v.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
            "totalAmount": total,
        }),
    ))
}

/// `GET /_admin/server/mode`
pub async fn server_mode(State(st): State<Shared>) -> ApiResult {
    Ok(ok_with(StatusCode::OK, json!({"mode": mode_name(&st)})))
}

/// `PUT /_admin/server/mode {"mode": "default"|"readonly"}`: in read-only mode, writes to documents,
/// collections, indexes and databases are refused with 1004.
pub async fn set_server_mode(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    ctx.require_superuser()?;
    let b = body_json(&body)?;
    let ro = match b.get("mode").and_then(Value::as_str) {
        Some("readonly") => true,
        Some("default") => false,
        _ => {
            return Err(bad(
                "expecting attribute 'mode' with \"default\" or \"readonly\"",
            ));
        }
    };
    st.read_only.store(ro, Ordering::Relaxed);
    tracing::info!("server mode set to {} by '{}'", mode_name(&st), ctx.user);
    Ok(ok_with(StatusCode::OK, json!({"mode": mode_name(&st)})))
}

/// `GET /_admin/server/availability`: 200 while serving (no authentication needed, for load
/// balancers), 503 once shutting down.
pub async fn availability(State(st): State<Shared>) -> ApiResult {
    if st.is_stopping() {
        return Err(ApiError(ArangoError::new(codes::SHUTTING_DOWN)));
    }
    Ok(ok_with(StatusCode::OK, json!({"mode": mode_name(&st)})))
}

/// `GET /_admin/database/target-version`: the data format version of the version we report (3.11.4 →
/// "31104").
pub async fn target_version(State(st): State<Shared>) -> ApiResult {
    let mut parts = st.version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    Ok(ok_with(
        StatusCode::OK,
        json!({"version": (a * 10000 + b * 100 + c).to_string()}),
    ))
}

/// `GET /_admin/license`: a Community Edition has none.
pub async fn license() -> ApiResult {
    Ok(json(StatusCode::OK, &json!({"license": "none"})))
}

/// `PUT /_admin/license`: licenses are an Enterprise Edition feature.
pub async fn set_license() -> ApiResult {
    Err(ApiError(ArangoError::with_message(
        codes::NOT_IMPLEMENTED,
        "licenses are not supported: arangorepl reports itself as a Community Edition",
    )))
}

/// `GET /_admin/auth/reload`: re-reads the users collection.
pub async fn auth_reload(State(st): State<Shared>, Extension(ctx): Extension<Ctx>) -> ApiResult {
    ctx.require_superuser()?;
    let st2 = st.clone();
    blocking(move || st2.auth.reload()).await?;
    Ok(ok_with(StatusCode::OK, json!({})))
}

/// `GET /_api/tasks`: no tasks can exist (there is no server-side JavaScript).
pub async fn tasks() -> ApiResult {
    Ok(json(StatusCode::OK, &json!([])))
}

/// `GET|DELETE /_api/tasks/<id>`
pub async fn task(Path(id): Path<String>) -> ApiResult {
    Err(ApiError(ArangoError::with_message(
        codes::TASK_NOT_FOUND,
        format!("task '{id}' not found"),
    )))
}

/// `POST /_api/tasks`, `PUT /_api/tasks/<id>`: tasks run JavaScript on the server, which arangorepl has
/// not got.
pub async fn create_task() -> ApiResult {
    Err(ApiError(ArangoError::with_message(
        codes::NOT_IMPLEMENTED,
        "tasks are not supported: arangorepl runs no JavaScript on the server",
    )))
}
