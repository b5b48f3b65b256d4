//! Async jobs: a request with `x-arango-async: store` is answered at once with 202 and an id; the work runs
//! in the background and its complete response is kept until fetched with `PUT /_api/job/<id>`.
//! `x-arango-async: true` runs the request and discards the result.

use crate::error::{ArangoError, codes};
use crate::server::Shared;
use crate::server::http::{ApiError, ApiResult, Params, json, ok_with, raw_json};
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A finished job's response.
struct Done {
    status: StatusCode,
    headers: HeaderMap,
    body: axum::body::Bytes,
    finished: Instant,
    stamp: u64,
}

enum Job {
    Pending,
    Done(Done),
}

/// Jobs by id.
#[derive(Default)]
pub struct Jobs {
    map: Mutex<BTreeMap<u64, Job>>,
}

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Job>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets results nobody fetched within `ttl`.
    pub fn expire(&self, ttl: Duration) {
        self.lock().retain(|_, j| match j {
            Job::Done(d) => d.finished.elapsed() < ttl,
            Job::Pending => true,
        });
    }
}

/// Runs a request, or turns it into a job when it carries `x-arango-async`.
pub async fn dispatch(st: &Shared, req: Request, next: Next) -> Response {
    let mode = req
        .headers()
        .get("x-arango-async")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_ascii_lowercase());
    let store = match mode.as_deref() {
        Some("store") => true,
        Some("true") => false,
        _ => return next.run(req).await,
    };
    let id = st.store.new_tick_value();
    if store {
        st.jobs.lock().insert(id, Job::Pending);
    }
    let st2 = st.clone();
    tokio::spawn(async move {
        let resp = next.run(req).await;
        if !store {
            return;
        }
        let (parts, body) = resp.into_parts();
        let body = axum::body::to_bytes(body, crate::server::MAX_BODY)
            .await
            .unwrap_or_default();
        let done = Done {
            status: parts.status,
            headers: parts.headers,
            body,
            finished: Instant::now(),
            stamp: crate::store::clock::now_ms() / 1000,
        };
        let mut jobs = st2.jobs.lock();
        // A job deleted while running is not resurrected.
        if jobs.contains_key(&id) {
            jobs.insert(id, Job::Done(done));
        }
    });
    let mut r = (StatusCode::ACCEPTED, Body::empty()).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain"));
    if store && let Ok(v) = HeaderValue::from_str(&id.to_string()) {
        r.headers_mut().insert("x-arango-async-id", v);
    }
    r
}

fn not_found() -> ApiError {
    ApiError(ArangoError::new(codes::HTTP_NOT_FOUND))
}

fn empty(status: StatusCode) -> Response {
    let mut r = (status, Body::empty()).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain"));
    r
}

fn ids(jobs: &BTreeMap<u64, Job>, done: bool, limit: usize) -> Vec<String> {
    jobs.iter()
        .filter(|(_, j)| matches!(j, Job::Done(_)) == done)
        .take(limit)
        .map(|(id, _)| id.to_string())
        .collect()
}

/// `GET /_api/job/<id>` (200 done, 204 pending, 404 unknown) and `GET /_api/job/done|pending`.
pub async fn status(
    State(st): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let limit = Params::parse(q.as_deref())
        .u64("count")?
        .map_or(usize::MAX, |n| n as usize);
    let jobs = st.jobs.lock();
    match id.as_str() {
        "done" => {
            return Ok(raw_json(
                StatusCode::OK,
                serde_json::to_vec(&ids(&jobs, true, limit)).unwrap_or_default(),
            ));
        }
        "pending" => {
            return Ok(raw_json(
                StatusCode::OK,
                serde_json::to_vec(&ids(&jobs, false, limit)).unwrap_or_default(),
            ));
        }
        _ => {}
    }
    let num: u64 = id.parse().map_err(|_| not_found())?;
    match jobs.get(&num) {
        Some(Job::Done(_)) => Ok(empty(StatusCode::OK)),
        Some(Job::Pending) => Ok(empty(StatusCode::NO_CONTENT)),
        None => Err(not_found()),
    }
}

/// `PUT /_api/job/<id>`: the stored response with `x-arango-async-id`, once; 204 while pending.
pub async fn fetch(State(st): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let num: u64 = id.parse().map_err(|_| not_found())?;
    let mut jobs = st.jobs.lock();
    match jobs.get(&num) {
        None => Err(not_found()),
        Some(Job::Pending) => Ok(empty(StatusCode::NO_CONTENT)),
        Some(Job::Done(_)) => {
            let Some(Job::Done(d)) = jobs.remove(&num) else {
                return Err(not_found());
            };
            let mut r = (d.status, d.body).into_response();
            *r.headers_mut() = d.headers;
            if let Ok(v) = HeaderValue::from_str(&id) {
                r.headers_mut().insert("x-arango-async-id", v);
            }
            Ok(r)
        }
    }
}

/// `DELETE /_api/job/<id>|all|expired?stamp=<unix seconds>`
pub async fn remove(
    State(st): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let mut jobs = st.jobs.lock();
    match id.as_str() {
        "all" => jobs.clear(),
        "expired" => {
            let stamp = Params::parse(q.as_deref())
                .u64("stamp")?
                .ok_or_else(|| crate::server::http::bad("expecting parameter 'stamp'"))?;
            jobs.retain(|_, j| !matches!(j, Job::Done(d) if d.stamp < stamp));
        }
        _ => {
            let num: u64 = id.parse().map_err(|_| not_found())?;
            jobs.remove(&num).ok_or_else(not_found)?;
        }
    }
    Ok(ok_with(StatusCode::OK, json!({"result": true})))
}

/// `PUT /_api/job/<id>/cancel`: a job that has not finished is dropped (its work may still complete).
pub async fn cancel(State(st): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let num: u64 = id.parse().map_err(|_| not_found())?;
    let mut jobs = st.jobs.lock();
    match jobs.get(&num) {
        Some(Job::Pending) => {
            jobs.remove(&num);
            Ok(json(StatusCode::OK, &json!({"result": true})))
        }
        Some(Job::Done(_)) => Ok(json(StatusCode::OK, &json!({"result": false}))),
        None => Err(not_found()),
    }
}

/// `PUT /_api/job` without an id.
pub async fn missing_id() -> ApiResult {
    Err(ApiError(ArangoError::new(codes::HTTP_BAD_PARAMETER)))
}
