//! `arangorepl proxy`: in front of an ArangoDB that no longer has the replication applier (3.12.10+), it
//! answers what that server lost — `applier-config`, `applier-start`/`-stop`/`-state`/`-state-all`,
//! `sync`, `make-follower`/`make-slave`, and `wal/open-transactions` — running the appliers with a
//! [`RemoteFollower`] that writes into the upstream, and forwards every other request unchanged
//! (method, path, query, headers, streamed bodies; status, headers and streamed body back).
//!
//! Its own endpoints need what ArangoDB's need — administrator rights (read-write) on the database — and
//! that is asked of the upstream with the caller's own credentials. Configurations (with the leader's
//! password) are kept under `--database.directory` in files of mode 0600; positions are kept in the
//! upstream, in each database's `_arangorepl` collection, committed with the data.

use crate::client::{ConnectOptions, Connection, Credentials, encode};
use crate::endpoint::Endpoint;
use crate::error::{ArangoError, ArangoResult, codes};
use crate::replication::host::{self, Appliers, Host};
use crate::replication::remote::{RemoteFollower, Target};
use crate::replication::wire::{LoggerState, WalLastTick, WalRange};
use crate::service::{Handle, Ready, Stop};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What `arangorepl proxy` needs to run.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub endpoint: Endpoint,
    pub upstream: Endpoint,
    /// How the appliers authenticate with the upstream (a user with administrator rights, or a
    /// superuser JWT from the upstream's secret).
    pub credentials: Credentials,
    /// Where configurations are kept.
    pub directory: PathBuf,
    /// Start the appliers whose configuration has `autoStart` when the proxy starts.
    pub auto_start: bool,
    /// `--server.export-metrics-api` (default true): `GET /_admin/metrics[/v2]` answers with the
    /// upstream's metrics and the proxy's own; false: 404.
    pub export_metrics: bool,
    /// `--ssl.*`: what an `ssl://` endpoint serves with.
    pub tls: Option<crate::tls::TlsOptions>,
    /// `--replication.ssl-cafile`: a private CA the appliers trust for `ssl://` leaders.
    pub replication_ca: Option<PathBuf>,
    /// `--upstream.ssl-cafile`: a private CA to trust for an `ssl://` upstream.
    pub upstream_ca: Option<PathBuf>,
}

struct ProxyState {
    /// For forwarding and rights checks: carries the caller's credentials, never its own.
    upstream: Connection,
    follower: RemoteFollower,
    appliers: Appliers,
    jobs: Jobs,
    metrics: Arc<crate::metrics::Registry>,
    http_metrics: crate::metrics::Http,
    export_metrics: bool,
}

/// The async jobs of the proxy's own endpoints (`x-arango-async`); `/_api/job/<id>` of other ids goes
/// to the upstream.
#[derive(Default)]
struct Jobs {
    map: Arc<std::sync::Mutex<JobMap>>,
}

type JobMap = std::collections::HashMap<String, Option<Stored>>;

/// A finished job's response.
struct Stored {
    status: StatusCode,
    headers: HeaderMap,
    body: axum::body::Bytes,
    finished: std::time::Instant,
}

/// Results nobody fetched are forgotten after this long (as the server's).
const JOB_TTL: Duration = Duration::from_secs(3600);

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, JobMap> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `work` in the background; answers 202 at once, with the job's id when the result is kept.
    async fn start(
        self: &Jobs,
        work: impl std::future::Future<Output = Response> + Send + 'static,
        keep: bool,
    ) -> Response {
        // ids far from anything an upstream hands out (its ticks), and never reused
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let id = format!("{}", (nanos ^ (n << 48)) | (1 << 62));
        if keep {
            let mut jobs = self.lock();
            jobs.retain(|_, j| j.as_ref().is_none_or(|d| d.finished.elapsed() < JOB_TTL));
            jobs.insert(id.clone(), None);
        }
        let map = self.map.clone();
        let job_id = id.clone();
        tokio::spawn(async move {
            let resp = work.await;
            if !keep {
                return;
            }
            let (parts, body) = resp.into_parts();
            let body = axum::body::to_bytes(body, 64 << 20)
                .await
                .unwrap_or_default();
            let mut jobs = map.lock().unwrap_or_else(|p| p.into_inner());
            // a job deleted while it ran stays deleted
            if let Some(slot) = jobs.get_mut(&job_id) {
                *slot = Some(Stored {
                    status: parts.status,
                    headers: parts.headers,
                    body,
                    finished: std::time::Instant::now(),
                });
            }
        });
        let mut r = (StatusCode::ACCEPTED, Body::empty()).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        if keep && let Ok(v) = HeaderValue::from_str(&id) {
            r.headers_mut().insert("x-arango-async-id", v);
        }
        r
    }

    /// `/_api/job/<id>[/cancel]` for one of ours; `None` for any other id.
    fn answer(&self, method: &axum::http::Method, id: &str, cancel: bool) -> Option<Response> {
        use axum::http::Method;
        let mut jobs = self.lock();
        let done = jobs.get(id)?.is_some();
        let empty = |status: StatusCode| {
            let mut r = (status, Body::empty()).into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            r
        };
        Some(match (method, cancel) {
            (&Method::PUT, true) => {
                if !done {
                    jobs.remove(id);
                }
                json_response(StatusCode::OK, &json!({"result": !done}))
            }
            (&Method::GET, false) => empty(if done {
                StatusCode::OK
            } else {
                StatusCode::NO_CONTENT
            }),
            (&Method::PUT, false) if !done => empty(StatusCode::NO_CONTENT),
            (&Method::PUT, false) => {
                let Some(Some(d)) = jobs.remove(id) else {
                    return None;
                };
                let mut r = (d.status, d.body).into_response();
                *r.headers_mut() = d.headers;
                if let Ok(v) = HeaderValue::from_str(id) {
                    r.headers_mut().insert("x-arango-async-id", v);
                }
                r
            }
            (&Method::DELETE, false) => {
                jobs.remove(id);
                json_response(
                    StatusCode::OK,
                    &json!({"error": false, "code": 200, "result": true}),
                )
            }
            _ => error_response(&ArangoError::with_message(
                codes::HTTP_METHOD_NOT_ALLOWED,
                format!("method {method} not supported for '/_api/job/{id}'"),
            )),
        })
    }
}

/// The proxy as the host of its appliers.
#[derive(Clone)]
struct ProxyHost(Arc<ProxyState>);

impl Host for ProxyHost {
    type F = RemoteFollower;

    fn follower(&self) -> RemoteFollower {
        self.0.follower.clone()
    }

    fn server_json(&self) -> Value {
        use crate::replication::follower::Follower;
        json!({
            "version": crate::ARANGODB_VERSION,
            "serverId": self.0.follower.server_id().to_string(),
        })
    }

    async fn databases(&self) -> ArangoResult<Vec<String>> {
        Ok(self.0.follower.configured_databases())
    }
}

/// The headers that belong to one connection, not to the request or response they come with.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// 503: the upstream gave no answer.
fn upstream_down(what: &str, e: crate::client::TransportError) -> ArangoError {
    ArangoError::with_message(codes::HTTP_SERVICE_UNAVAILABLE, format!("{what}: {e}"))
}

fn error_response(e: &ArangoError) -> Response {
    let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &e.to_envelope())
}

fn ok_json<T: serde::Serialize>(v: &T) -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::to_value(v).unwrap_or(Value::Null),
    )
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// `/_db/<name>/rest` → (`name`, `/rest`); without the prefix the database is `_system`.
fn split_database(path: &str) -> (String, String) {
    match path.strip_prefix("/_db/") {
        Some(after) => {
            let (enc, rest) = after.split_once('/').unwrap_or((after, ""));
            let db = percent_encoding::percent_decode_str(enc)
                .decode_utf8_lossy()
                .into_owned();
            (db, format!("/{rest}"))
        }
        None => ("_system".to_string(), path.to_string()),
    }
}

/// A query parameter's value.
fn param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

fn truthy(v: Option<String>) -> bool {
    matches!(v.as_deref(), Some("true" | "1" | "yes" | "on" | ""))
}

/// The user a request authenticates as (`None` for none, `Some("")` for a superuser JWT), read from its
/// `Authorization` header — the upstream checks the credentials themselves.
fn caller(headers: &HeaderMap) -> Option<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = h.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("basic") {
        let raw = STANDARD.decode(rest.trim()).ok()?;
        let s = String::from_utf8(raw).ok()?;
        return Some(s.split_once(':').map_or(s.clone(), |(u, _)| u.to_string()));
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        let payload = rest.trim().split('.').nth(1)?;
        let v: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        return Some(
            v.get("preferred_username")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        );
    }
    None
}

impl ProxyState {
    /// `GET path` from the upstream with the caller's own `Authorization`; no answer is 503, its
    /// message starting with `what`.
    async fn get_as_caller(
        &self,
        path: &str,
        headers: &HeaderMap,
        what: &str,
    ) -> Result<crate::client::Response, ArangoError> {
        let auth: Vec<(&str, &str)> = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| ("authorization", v))
            .into_iter()
            .collect();
        self.upstream
            .request(reqwest::Method::GET, path, None, &auth, None)
            .await
            .map_err(|e| upstream_down(what, e))
    }

    /// Administrator rights (read-write) on `db`, asked of the upstream with the caller's credentials.
    async fn authorize(&self, db: &str, headers: &HeaderMap) -> Result<(), ArangoError> {
        let user = caller(headers);
        let path = match user.as_deref() {
            Some(u) if !u.is_empty() => Connection::db_path(
                db,
                &format!("/_api/user/{}/database/{}", encode(u), encode(db)),
            ),
            // no user (no credentials, or a superuser token): what the upstream lets it see
            _ => Connection::db_path(db, "/_api/database/current"),
        };
        let r = self
            .get_as_caller(&path, headers, "cannot check the caller's rights")
            .await?;
        if r.status == 401 {
            return Err(ArangoError::with_message(
                codes::HTTP_UNAUTHORIZED,
                "not authorized to execute this request",
            ));
        }
        if r.status >= 400 {
            return Err(r.arango_error().unwrap_or_else(|| {
                ArangoError::with_message(codes::FORBIDDEN, "forbidden").with_status(403)
            }));
        }
        let level = match user.as_deref() {
            Some(u) if !u.is_empty() => r
                .json()
                .ok()
                .and_then(|v| v.get("result").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default(),
            _ => "rw".to_string(),
        };
        if level != "rw" {
            return Err(ArangoError::with_message(
                codes::FORBIDDEN,
                format!(
                    "forbidden: replication in database '{db}' needs administrator rights (read-write \
                     access) on the upstream server"
                ),
            ));
        }
        Ok(())
    }

    /// `GET /_admin/metrics[/v2]`: the upstream's metrics (asked with the caller's credentials, so the
    /// upstream decides who may read them) followed by the proxy's own: its appliers, HTTP and process.
    async fn metrics_answer(&self, req: Request) -> Response {
        if !self.export_metrics {
            return error_response(&ArangoError::with_message(
                codes::HTTP_NOT_FOUND,
                "the metrics API is turned off on this proxy (--server.export-metrics-api false)",
            ));
        }
        let pq = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        let r = match self
            .get_as_caller(&pq, req.headers(), "cannot read the upstream's metrics")
            .await
        {
            Ok(r) => r,
            Err(e) => return error_response(&e),
        };
        if r.status != 200 {
            let mut out = (
                StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_GATEWAY),
                r.body.clone(),
            )
                .into_response();
            if let Some(ct) = r
                .header("content-type")
                .and_then(|v| HeaderValue::from_str(v).ok())
            {
                out.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            return out;
        }
        let upstream = String::from_utf8_lossy(&r.body).into_owned();
        let reg = &self.metrics;
        self.appliers.record_metrics(reg);
        let text = crate::metrics::merged(&upstream, &reg.render());
        let mut out = (StatusCode::OK, text).into_response();
        out.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
        );
        out
    }

    /// One of our own endpoints.
    async fn local(self: &Arc<Self>, db: &str, command: &str, req: Request) -> Response {
        let method = req.method().as_str().to_string();
        if !host::method_allowed(command, &method) {
            return error_response(&ArangoError::with_message(
                codes::HTTP_METHOD_NOT_ALLOWED,
                format!("method {method} not supported for '/_api/replication/{command}'"),
            ));
        }
        if let Err(e) = self.authorize(db, req.headers()).await {
            return error_response(&e);
        }
        let query = req.uri().query().map(str::to_string);
        let from = match param(query.as_deref(), "from") {
            None => None,
            Some(v) => match v.parse::<u64>() {
                Ok(t) => Some(t),
                Err(_) => {
                    return error_response(&ArangoError::with_message(
                        codes::HTTP_BAD_PARAMETER,
                        format!(
                            "invalid value for parameter 'from': expecting a number, got '{v}'"
                        ),
                    ));
                }
            },
        };
        let global = truthy(param(query.as_deref(), "global"));
        let asynchronous = req
            .headers()
            .get("x-arango-async")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase());
        let body = match axum::body::to_bytes(req.into_body(), 64 << 20).await {
            Ok(b) => b,
            Err(e) => return error_response(&ArangoError::bad_parameter(e.to_string())),
        };
        let run = {
            let (st, db, command) = (self.clone(), db.to_string(), command.to_string());
            async move {
                match host::command(
                    &ProxyHost(st.clone()),
                    &st.appliers,
                    &db,
                    &method,
                    &command,
                    from.filter(|_| command == "applier-start"),
                    global,
                    &body,
                )
                .await
                {
                    Ok(v) => json_response(StatusCode::OK, &v),
                    Err(e) => error_response(&e),
                }
            }
        };
        match asynchronous.as_deref() {
            // an async job, as ArangoDB runs one (arangosh's `sync({async: true})` sends it)
            Some("store") => self.jobs.start(run, true).await,
            Some("true") => self.jobs.start(run, false).await,
            _ => run.await,
        }
    }

    /// Forwards a request unchanged and streams the answer back.
    async fn forward(&self, req: Request) -> Result<Response, ArangoError> {
        let (parts, body) = req.into_parts();
        let pq = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &parts.headers {
            // the length is kept: the body then goes on with it, not chunked (which older ArangoDB
            // servers do not take in requests)
            if !HOP_BY_HOP.contains(&k.as_str()) || k == header::CONTENT_LENGTH {
                headers.append(k.clone(), v.clone());
            }
        }
        let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes())
            .map_err(|e| ArangoError::bad_parameter(e.to_string()))?;
        let body = reqwest::Body::wrap_stream(body.into_data_stream());
        let r = self
            .upstream
            .forward(method, &pq, headers, body)
            .await
            .map_err(|e| upstream_down("the upstream server does not answer", e))?;
        let mut out = Response::builder().status(r.status().as_u16());
        if let Some(h) = out.headers_mut() {
            for (k, v) in r.headers() {
                if !HOP_BY_HOP.contains(&k.as_str()) || k == header::CONTENT_LENGTH {
                    h.append(k.clone(), v.clone());
                }
            }
        }
        out.body(Body::from_stream(r.bytes_stream()))
            .map_err(|e| ArangoError::internal(e.to_string()))
    }

    /// One of the leader endpoints an upstream may lack (ArangoDB 3.12.10 has no
    /// `wal/open-transactions`; a later one may lose the logger endpoints), derived from what it still
    /// has: `wal/range` and `wal/lastTick`, asked with the caller's credentials.
    async fn derived(
        &self,
        db: &str,
        what: Derived,
        parts: &axum::http::request::Parts,
    ) -> Response {
        let query = parts.uri.query().map(str::to_string);
        let source = match what {
            Derived::LoggerState => "/_api/wal/lastTick",
            _ => "/_api/wal/range",
        };
        let path = Connection::db_path(db, source);
        let r = match self
            .get_as_caller(&path, &parts.headers, "the upstream server does not answer")
            .await
        {
            Ok(r) => r,
            Err(e) => return error_response(&e),
        };
        if r.status >= 400 {
            return error_response(&r.arango_error().unwrap_or_else(|| {
                ArangoError::with_message(codes::HTTP_SERVER_ERROR, format!("HTTP {}", r.status))
            }));
        }
        let invalid = |e: serde_json::Error| {
            error_response(&ArangoError::with_message(
                codes::HTTP_SERVER_ERROR,
                format!("unexpected answer of the upstream's {source}: {e}"),
            ))
        };
        match what {
            Derived::LoggerState => match serde_json::from_slice::<WalLastTick>(&r.body) {
                Ok(last) => ok_json(&LoggerState::from_last_tick(&last)),
                Err(e) => invalid(e),
            },
            Derived::FirstTick | Derived::TickRanges | Derived::OpenTransactions => {
                let range = match serde_json::from_slice::<WalRange>(&r.body) {
                    Ok(r) => r,
                    Err(e) => return invalid(e),
                };
                match what {
                    Derived::FirstTick => ok_json(&range.first_tick()),
                    Derived::TickRanges => ok_json(&range.tick_ranges()),
                    _ => open_transactions(&range, query.as_deref()),
                }
            }
        }
    }
}

/// The leader endpoints the proxy derives when its upstream lacks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Derived {
    LoggerState,
    FirstTick,
    TickRanges,
    OpenTransactions,
}

impl Derived {
    fn of(path: &str) -> Option<Derived> {
        Some(match path {
            "/_api/replication/logger-state" => Derived::LoggerState,
            "/_api/replication/logger-first-tick" => Derived::FirstTick,
            "/_api/replication/logger-tick-ranges" => Derived::TickRanges,
            "/_api/wal/open-transactions" => Derived::OpenTransactions,
            _ => return None,
        })
    }
}

/// `wal/open-transactions?from&to` as a RocksDB server answers: `[]` with 204, `frompresent` from the
/// log's range.
fn open_transactions(range: &WalRange, query: Option<&str>) -> Response {
    let tick = |name: &str| param(query, name).and_then(|v| v.parse::<u64>().ok());
    let (Some(from), Some(to)) = (tick("from"), tick("to")) else {
        return error_response(&ArangoError::with_message(
            codes::HTTP_BAD_PARAMETER,
            "invalid from/to values: expecting 'from' and 'to' ticks",
        ));
    };
    if from > to || to == 0 {
        return error_response(&ArangoError::with_message(
            codes::HTTP_BAD_PARAMETER,
            "invalid from/to values: 'from' must not be after 'to'",
        ));
    }
    let mut resp = (StatusCode::NO_CONTENT, "").into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-arango-dump"),
    );
    h.insert(
        "x-arango-replication-frompresent",
        HeaderValue::from_static(if range.has(from) { "true" } else { "false" }),
    );
    h.insert(
        "x-arango-replication-lastincluded",
        HeaderValue::from_static("0"),
    );
    resp
}

async fn handle(State(st): State<Arc<ProxyState>>, req: Request) -> Response {
    let (_, rest) = split_database(req.uri().path());
    let class = crate::metrics::route_class(&rest);
    let began = std::time::Instant::now();
    let r = route(&st, req).await;
    st.http_metrics
        .record(class, r.status().as_u16(), began.elapsed());
    r
}

async fn route(st: &Arc<ProxyState>, req: Request) -> Response {
    let (db, rest) = split_database(req.uri().path());
    if (rest == "/_admin/metrics" || rest == "/_admin/metrics/v2")
        && req.method() == axum::http::Method::GET
    {
        return st.metrics_answer(req).await;
    }
    if let Some(cmd) = rest.strip_prefix("/_api/replication/")
        && !cmd.contains('/')
        && host::is_command(cmd)
    {
        let cmd = cmd.to_string();
        return st.local(&db, &cmd, req).await;
    }
    if let Some(job) = rest.strip_prefix("/_api/job/") {
        let (id, cancel) = match job.strip_suffix("/cancel") {
            Some(id) => (id, true),
            None => (job, false),
        };
        if let Some(r) = st.jobs.answer(req.method(), id, cancel) {
            return r;
        }
    }
    if let Some(what) = Derived::of(&rest).filter(|_| req.method() == axum::http::Method::GET) {
        // forwarded first: an upstream that still has it answers itself
        let (parts, _) = req.into_parts();
        return match st
            .forward(Request::from_parts(parts.clone(), Body::empty()))
            .await
        {
            Ok(r) if r.status() != StatusCode::NOT_FOUND => r,
            Ok(_) => st.derived(&db, what, &parts).await,
            Err(e) => error_response(&e),
        };
    }
    // a database dropped upstream takes its applier with it, as on `arangorepl serve`
    let dropped = (db == "_system" && req.method() == axum::http::Method::DELETE)
        .then(|| rest.strip_prefix("/_api/database/"))
        .flatten()
        .filter(|n| !n.is_empty() && !n.contains('/'))
        .map(|n| {
            percent_encoding::percent_decode_str(n)
                .decode_utf8_lossy()
                .into_owned()
        });
    match st.forward(req).await {
        Ok(r) => {
            if let Some(name) = dropped
                && r.status().is_success()
            {
                st.appliers.database_dropped(&name).await;
                st.follower.database_dropped(&name);
            }
            r
        }
        Err(e) => error_response(&e),
    }
}

/// Runs the proxy until Ctrl-C or SIGTERM.
pub fn run(config: ProxyConfig) -> ArangoResult<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ArangoError::internal(format!("cannot start the runtime: {e}")))?;
    let signals: Stop = Box::pin(async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending().await,
                }
            } => {}
        }
    });
    rt.block_on(serve(config, None, signals))
}

/// Starts a proxy on its own threads in this process (the demo's); returns once it listens.
pub fn spawn(config: ProxyConfig) -> ArangoResult<Handle> {
    crate::service::spawn("proxy", move |ready, stop| serve(config, Some(ready), stop))
}

async fn serve(config: ProxyConfig, ready: Option<Ready>, stop: Stop) -> ArangoResult<()> {
    let tls = config
        .tls
        .as_ref()
        .map(crate::tls::server_config)
        .transpose()?;
    let upstream = Connection::new(
        &config.upstream,
        &ConnectOptions {
            credentials: Credentials::None,
            request_timeout: Duration::from_secs(3600),
            ca_file: config.upstream_ca.clone(),
            ..ConnectOptions::default()
        },
    )?;
    let follower = RemoteFollower::connect(
        Target {
            endpoint: config.upstream.clone(),
            credentials: config.credentials.clone(),
            request_timeout: Duration::from_secs(600),
            ca_file: config.upstream_ca.clone(),
        },
        config.directory.join("appliers"),
    )
    .await?;
    let registry = crate::metrics::Registry::new();
    let upkeep = registry.keep_up();
    let st = Arc::new(ProxyState {
        upstream,
        follower,
        appliers: Appliers::new(registry.clone(), config.replication_ca.clone()),
        jobs: Jobs::default(),
        http_metrics: crate::metrics::Http::new(registry.clone()),
        metrics: registry,
        export_metrics: config.export_metrics,
    });
    let (listener, shown) = crate::service::listen(&config.endpoint, tls.as_ref()).await?;
    match ready {
        Some(tx) => {
            let _ = tx.send(Ok(shown.clone()));
        }
        // one line with the bound endpoint: tests read it
        None => println!(
            "arangorepl proxy: listening on {shown} (upstream {}, database directory {})",
            config.upstream,
            config.directory.display()
        ),
    }
    if config.auto_start {
        let h = ProxyHost(st.clone());
        tokio::spawn(async move { host::auto_start(&h, &h.0.appliers).await });
    }
    let app = axum::Router::new().fallback(handle).with_state(st.clone());
    let served = crate::service::serve_on!(listener, app, stop);
    upkeep.abort();
    served.map_err(|e| ArangoError::internal(e.to_string()))?;
    st.appliers.stop_all().await;
    Ok(())
}
