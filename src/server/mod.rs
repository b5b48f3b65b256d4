//! `arangorepl serve`: ArangoDB's HTTP API over a store (axum on tokio).
//!
//! Requests first lose their `/_db/<name>` prefix (the database goes into the request context), then are
//! authenticated, optionally turned into async jobs (`x-arango-async`), and finally routed. Store calls run
//! on the blocking pool; no lock is held across network I/O.

mod admin;
pub mod applier;
mod aql;
pub mod auth;
mod collections;
pub mod databases;
mod documents;
pub mod follower;
pub mod http;
mod import;
mod indexes;
mod jobs;
pub mod leader;
pub mod metrics;
mod misc;
mod replication;
mod restore;
mod simple;
mod transactions;
mod users;
mod wal;

use crate::endpoint::{Endpoint, Transport};
use crate::error::{ArangoError, ArangoResult, codes};
use crate::store::{Store, StoreConfig, names};
use auth::Auth;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post, put};
use http::{Access, ApiError, Ctx};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tower_http::compression::Predicate;
use tower_http::compression::predicate::{NotForContentType, SizeAbove};

/// The version we report: an ArangoDB 3.11 that real arangosh and followers (3.8–3.11) accept.
pub const VERSION: &str = crate::ARANGODB_VERSION;

/// What `arangorepl serve` needs to run.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub endpoint: Endpoint,
    pub directory: PathBuf,
    pub authentication: bool,
    pub jwt_secret: Option<String>,
    pub root_password: String,
    /// Send collection fingerprints with `POST /_api/replication/keys` (beyond ArangoDB).
    pub offer_fingerprints: bool,
    /// Start the appliers whose configuration has `autoStart` at boot (`--replication.auto-start`).
    pub auto_start: bool,
    /// Honour `longPollTimeout` on `wal/tail` (false: answer at once, exactly as ArangoDB).
    pub long_poll: bool,
    /// `--compat.arangodb-version`: the ArangoDB version to answer as (default [`VERSION`]). From 3.12.10
    /// on, the endpoints ArangoDB removed then (the applier, `sync`, `make-follower`, `logger-follow`,
    /// `wal/open-transactions`) answer 404 as that server does.
    pub compat_version: Option<String>,
    /// `--compat.restore-api`: false answers arangorestore's endpoints (`restore-collection`,
    /// `restore-indexes`, `restore-data`) with 404, as a server without them would.
    pub restore_api: bool,
    /// `--server.export-metrics-api` (default true): `GET /_admin/metrics[/v2]` answers; false: 404.
    pub export_metrics: bool,
    /// `--ssl.*`: what an `ssl://` endpoint serves with.
    pub tls: Option<crate::tls::TlsOptions>,
    /// Further `--server.endpoint` values: the same server on more endpoints (say `tcp://` and `ssl://`).
    pub more_endpoints: Vec<Endpoint>,
    /// `--replication.ssl-cafile`: a private CA the appliers trust for `ssl://` leaders.
    pub replication_ca: Option<PathBuf>,
    pub store: StoreConfig,
}

/// Shared by all handlers.
pub struct AppState {
    pub store: Store,
    pub auth: Auth,
    pub jobs: jobs::Jobs,
    pub cursors: simple::Cursors,
    pub leader: leader::Leader,
    pub appliers: applier::Appliers,
    pub offer_fingerprints: bool,
    pub long_poll: bool,
    /// The ArangoDB version this server answers as.
    pub version: String,
    /// Answer as ArangoDB 3.12.10+: no applier endpoints (see [`ServeConfig::compat_version`]).
    pub without_applier: bool,
    /// See [`ServeConfig::restore_api`].
    pub restore_api: bool,
    /// `PUT /_admin/server/mode {"mode": "readonly"}`: data writes are refused.
    pub read_only: std::sync::atomic::AtomicBool,
    /// Turns true once, when the server begins to stop: availability answers 503, long-polls end.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    /// The server's metrics (`/_admin/metrics/v2`).
    pub metrics: Arc<crate::metrics::Registry>,
    pub http_metrics: crate::metrics::Http,
    /// See [`ServeConfig::export_metrics`].
    pub export_metrics: bool,
}

impl AppState {
    /// True once the server has begun to stop.
    pub fn is_stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves when the server begins to stop.
    pub async fn stopping(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|v| *v).await;
    }
}

pub type Shared = Arc<AppState>;

/// Whether ArangoDB `version` no longer has the replication applier (removed in 3.12.10).
pub fn applier_removed_in(version: &str) -> bool {
    let mut parts = version
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let v = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    v >= (3, 12, 10)
}

/// Checks a `--compat.arangodb-version` value: `major.minor.patch` of ArangoDB 3.x.
pub fn check_compat_version(version: &str) -> ArangoResult<()> {
    let parts: Vec<&str> = version.split('.').collect();
    let ok = parts.len() == 3
        && parts[0] == "3"
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(ArangoError::bad_parameter(format!(
            "invalid --compat.arangodb-version '{version}': expecting an ArangoDB version 3.x.y"
        )))
    }
}

/// Runs a blocking store call on tokio's blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ArangoResult<T> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError),
        Err(e) => Err(ApiError(ArangoError::internal(format!(
            "request handler failed: {e}"
        )))),
    }
}

/// Strips `/_db/<name>` and records the database (percent-decoded) for the later stages.
fn split_database(mut req: Request) -> Request {
    let path = req.uri().path().to_string();
    let (db, rest) = match path.strip_prefix("/_db/") {
        Some(after) => {
            let (enc, rest) = after.split_once('/').map_or((after, ""), |(a, b)| (a, b));
            let db = percent_encoding::percent_decode_str(enc)
                .decode_utf8_lossy()
                .into_owned();
            (db, format!("/{rest}"))
        }
        None => (names::SYSTEM_DATABASE.to_string(), path),
    };
    let pq = match req.uri().query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest,
    };
    if let Ok(uri) = pq.parse() {
        *req.uri_mut() = uri;
    }
    req.extensions_mut().insert(DbName(db));
    req
}

#[derive(Clone)]
struct DbName(String);

/// The one middleware every request passes: size check, authentication and context, async jobs, and
/// ArangoDB's envelope for errors produced below the handlers. (One layer, not several: each layer
/// costs every request.)
async fn front_door(State(st): State<Shared>, req: Request, next: Next) -> Response {
    let head = req.method() == axum::http::Method::HEAD;
    let announced = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY as u64) {
        return ApiError(ArangoError::with_message(
            codes::HTTP_REQUEST_TOO_LARGE,
            format!("request entity too large: the body may have at most {MAX_BODY} bytes"),
        ))
        .into_response();
    }
    let class = crate::metrics::route_class(req.uri().path());
    let began = std::time::Instant::now();
    let resp = authenticate(&st, req, next).await;
    let resp = envelope_errors(resp, head).await;
    st.http_metrics
        .record(class, resp.status().as_u16(), began.elapsed());
    resp
}

/// Authentication and the per-request context.
async fn authenticate(st: &Shared, mut req: Request, next: Next) -> Response {
    let db = req
        .extensions()
        .get::<DbName>()
        .map(|d| d.0.clone())
        .unwrap_or_else(|| names::SYSTEM_DATABASE.to_string());
    let path = req.uri().path().to_string();
    // load balancers ask for availability without credentials, as of ArangoDB
    let open_path = path.starts_with("/_open/") || path == "/_admin/server/availability";
    let identity = if !st.auth.enabled || open_path {
        None
    } else {
        let header = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        match st.auth.authenticate(header) {
            Ok(id) => Some(id),
            Err(e) => {
                let mut r = e.into_response();
                r.headers_mut().insert(
                    "www-authenticate",
                    HeaderValue::from_static("Basic, realm=\"ArangoDB\""),
                );
                return r;
            }
        }
    };
    if st.store.catalog().database(&db).is_err() {
        // ArangoDB's rule: with authentication on, a user who would have no access to a database of
        // that name is not told whether it exists (the answer a request without access gets; the
        // same words, so the two cannot be told apart); anyone else hears that it is not there.
        let may_know = match &identity {
            None => true,
            Some(id) => id.superuser_token || st.auth.access(&id.user, &db) != Access::None,
        };
        if st.auth.enabled && !open_path && !may_know {
            return auth::unauthorized().into_response();
        }
        return ApiError(crate::store::database_not_found(&db)).into_response();
    }
    if st.read_only.load(std::sync::atomic::Ordering::Relaxed) && is_data_write(&req) {
        return ApiError(ArangoError::with_message(
            codes::ARANGO_READ_ONLY,
            "read only: the server is in read-only mode (PUT /_admin/server/mode)",
        ))
        .into_response();
    }
    let (user, superuser, access) = match &identity {
        None => ("root".to_string(), true, Access::ReadWrite),
        Some(id) if id.superuser_token => (id.user.clone(), true, Access::ReadWrite),
        Some(id) => (
            id.user.clone(),
            st.auth.access(&id.user, names::SYSTEM_DATABASE) == Access::ReadWrite,
            st.auth.access(&id.user, &db),
        ),
    };
    // Some calls need only a valid login, not access to the request's database.
    let self_service =
        path == "/_api/version" || path == "/_api/database/user" || path.starts_with("/_api/user");
    if access == Access::None && !open_path && !self_service {
        // the same words as for a database that does not exist
        return auth::unauthorized().into_response();
    }
    let trx = match req
        .headers()
        .get("x-arango-trx-id")
        .map(|v| v.to_str().map(|s| s.trim().parse::<u64>()))
    {
        None => None,
        Some(Ok(Ok(id))) => Some(id),
        Some(_) => {
            return ApiError(ArangoError::with_message(
                codes::TRANSACTION_NOT_FOUND,
                "transaction not found: invalid x-arango-trx-id",
            ))
            .into_response();
        }
    };
    req.extensions_mut().insert(Ctx {
        db,
        user,
        superuser,
        access,
        trx,
    });
    jobs::dispatch(st, req, next).await
}

/// Requests that change data, refused in read-only mode.
fn is_data_write(req: &Request) -> bool {
    use axum::http::Method;
    let m = req.method();
    if m == Method::GET || m == Method::HEAD || m == Method::OPTIONS {
        return false;
    }
    let p = req.uri().path();
    let onlyget = req
        .uri()
        .query()
        .is_some_and(|q| q.contains("onlyget=true"));
    (p.starts_with("/_api/document") && !onlyget)
        || p.starts_with("/_api/collection")
        || p.starts_with("/_api/index")
        || p.starts_with("/_api/import")
        || p.starts_with("/_api/database")
        || p == "/_api/transaction/begin"
}

/// What ArangoDB 3.12.10+ answers for an endpoint it removed: unknown path.
pub fn removed_path(path: &str) -> ApiError {
    ApiError(ArangoError::with_message(
        codes::HTTP_NOT_FOUND,
        format!("unknown path '{path}'"),
    ))
}

/// 404 in ArangoDB's envelope for unknown paths.
async fn not_found(req: Request) -> Response {
    ApiError(ArangoError::with_message(
        codes::HTTP_NOT_FOUND,
        format!("unknown path '{}'", req.uri().path()),
    ))
    .into_response()
}

/// 405 in ArangoDB's envelope for a known path with a wrong verb.
async fn wrong_method(req: Request) -> Response {
    http::method_not_allowed(req.method(), req.uri().path()).into_response()
}

/// Rejections produced below our handlers (body too large, bad path encoding, …) come as plain text;
/// clients expect ArangoDB's envelope for every error.
async fn envelope_errors(resp: Response, head: bool) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if status.as_u16() < 400 || is_json || head || resp.headers().contains_key("x-arango-async-id")
    {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 << 10)
        .await
        .unwrap_or_default();
    let reason = String::from_utf8_lossy(&text).trim().to_string();
    let num = match status.as_u16() {
        413 => codes::HTTP_REQUEST_TOO_LARGE,
        400 => codes::HTTP_BAD_PARAMETER,
        n => n as i64,
    };
    let msg = if reason.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        reason
    };
    let mut r =
        ApiError(ArangoError::with_message(num, msg).with_status(status.as_u16())).into_response();
    for (k, v) in parts.headers.iter() {
        if k != "content-type" && k != "content-length" {
            r.headers_mut().insert(k.clone(), v.clone());
        }
    }
    r
}

/// The request body limit (larger bodies get 413).
pub const MAX_BODY: usize = 256 << 20;

/// Builds the whole application as a service.
pub fn app(state: Shared) -> Router {
    Router::new()
        .route(
            "/_api/version",
            get(misc::version).put(misc::version).post(misc::version),
        )
        .route("/_admin/server/role", get(misc::role))
        .route("/_admin/server/id", get(misc::server_id))
        .route("/_api/engine", get(misc::engine))
        .route("/_open/auth", post(misc::login))
        .route(
            "/_api/database",
            get(databases::list).post(databases::create),
        )
        .route("/_api/database/current", get(databases::current))
        .route("/_api/database/user", get(databases::user_databases))
        .route("/_api/database/{name}", delete(databases::drop))
        .route(
            "/_api/collection",
            get(collections::list).post(collections::create),
        )
        .route(
            "/_api/collection/{name}",
            get(collections::info).delete(collections::drop),
        )
        .route(
            "/_api/collection/{name}/{what}",
            get(collections::get_detail).put(collections::put_detail),
        )
        .route(
            "/_api/document/{coll}",
            post(documents::insert)
                .put(documents::replace_many)
                .patch(documents::update_many)
                .delete(documents::remove_many),
        )
        .route(
            "/_api/document/{coll}/{key}",
            get(documents::read)
                .head(documents::head)
                .put(documents::replace_one)
                .patch(documents::update_one)
                .delete(documents::remove_one),
        )
        .route("/_api/index", get(indexes::list).post(indexes::create))
        .route("/_api/import", post(import::import))
        .route(
            "/_api/index/{coll}/{id}",
            get(indexes::get_one).delete(indexes::drop),
        )
        .route(
            "/_api/transaction",
            get(transactions::list).post(transactions::javascript),
        )
        .route("/_api/transaction/begin", post(transactions::begin))
        .route(
            "/_api/transaction/{id}",
            get(transactions::status)
                .put(transactions::commit)
                .delete(transactions::abort),
        )
        .route("/_api/simple/all", put(simple::all))
        .route("/_api/simple/any", put(simple::any_doc))
        .route("/_api/simple/first-example", put(simple::first_example))
        .route("/_api/simple/by-example", put(simple::by_example))
        .route("/_api/cursor", post(aql::cursor))
        .route("/_api/explain", post(aql::explain))
        .route("/_api/query", post(aql::parse))
        .route("/_api/query/current", get(aql::list))
        .route("/_api/query/slow", get(aql::list).delete(aql::list))
        .route("/_api/query/{id}", delete(aql::kill))
        .route("/_api/view", get(misc::views).post(misc::create_view))
        .route(
            "/_api/view/{name}",
            get(misc::unknown_view).delete(misc::unknown_view),
        )
        .route(
            "/_api/view/{name}/{what}",
            get(misc::unknown_view)
                .put(misc::unknown_view)
                .patch(misc::unknown_view),
        )
        .route(
            "/_api/cursor/{id}",
            put(simple::next_batch)
                .post(simple::next_batch)
                .delete(simple::drop_cursor),
        )
        .route("/_api/user", get(users::list).post(users::create))
        .route(
            "/_api/user/{user}",
            get(users::get_one)
                .put(users::replace)
                .patch(users::modify)
                .delete(users::remove),
        )
        .route("/_api/user/{user}/database", get(users::databases))
        .route(
            "/_api/user/{user}/database/{db}",
            get(users::database_level)
                .put(users::grant)
                .delete(users::revoke),
        )
        .route(
            "/_api/user/{user}/database/{db}/{coll}",
            get(users::collection_level)
                .put(users::grant_collection)
                .delete(users::revoke_collection),
        )
        .route("/_api/replication/{cmd}", any(replication::command))
        .route(
            "/_api/replication/{cmd}/{id}",
            any(replication::command_with_id),
        )
        .route(
            "/_api/replication/{cmd}/{id}/{*rest}",
            any(replication::too_deep),
        )
        .route("/_api/wal", any(wal::no_command))
        .route("/_api/wal/{cmd}", any(wal::command))
        .route("/_admin/wal/flush", put(admin::wal_flush))
        .route(
            "/_admin/wal/properties",
            get(admin::wal_properties).put(admin::wal_properties),
        )
        .route("/_admin/wal/transactions", get(admin::wal_transactions))
        .route("/_admin/status", get(admin::status))
        .route("/_admin/metrics", get(metrics::metrics))
        .route("/_admin/metrics/v2", get(metrics::metrics))
        .route("/_admin/time", get(admin::time))
        .route("/_admin/echo", any(admin::echo))
        .route("/_admin/echo/{*rest}", any(admin::echo))
        .route(
            "/_admin/log/level",
            get(admin::log_level)
                .put(admin::set_log_level)
                .delete(admin::reset_log_level),
        )
        .route("/_admin/log/entries", get(admin::log_entries))
        .route("/_admin/log", get(admin::log_columns))
        .route(
            "/_admin/server/mode",
            get(admin::server_mode).put(admin::set_server_mode),
        )
        .route("/_admin/server/availability", get(admin::availability))
        .route(
            "/_admin/database/target-version",
            get(admin::target_version),
        )
        .route(
            "/_admin/license",
            get(admin::license).put(admin::set_license),
        )
        .route("/_admin/auth/reload", get(admin::auth_reload))
        .route("/_api/tasks", get(admin::tasks).post(admin::create_task))
        .route(
            "/_api/tasks/{id}",
            get(admin::task).delete(admin::task).put(admin::create_task),
        )
        .route("/_api/job", put(jobs::missing_id))
        .route(
            "/_api/job/{id}",
            get(jobs::status).put(jobs::fetch).delete(jobs::remove),
        )
        .route("/_api/job/{id}/cancel", put(jobs::cancel))
        .method_not_allowed_fallback(wrong_method)
        .fallback(any(not_found))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), front_door))
        // `Content-Encoding: gzip|deflate` request bodies are decoded before the handlers read them
        // (the body limit applies to the decoded size); answers of 1 KiB or more are compressed for
        // clients that accept it.
        .layer(tower_http::decompression::RequestDecompressionLayer::new())
        .layer(
            tower_http::compression::CompressionLayer::new().compress_when(
                SizeAbove::new(1024)
                    .and(NotForContentType::GRPC)
                    .and(NotForContentType::IMAGES)
                    .and(NotForContentType::SSE),
            ),
        )
        .with_state(state)
}

/// Opens the store, binds the endpoint, prints it, and serves until SIGINT/SIGTERM.
pub fn run(config: ServeConfig) -> ArangoResult<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("serve")
        .build()
        .map_err(|e| ArangoError::internal(format!("cannot start the runtime: {e}")))?;
    rt.block_on(serve(config, None, Box::pin(shutdown_signal())))
}

pub use crate::service::{Handle as ServerHandle, Ready};

/// Starts a server on its own threads in this process; returns once it listens. It ignores signals
/// (the process owning it decides when it stops) and prints nothing.
pub fn spawn(config: ServeConfig) -> ArangoResult<ServerHandle> {
    crate::service::spawn("serve", move |ready, stop| serve(config, Some(ready), stop))
}

async fn serve(
    config: ServeConfig,
    ready: Option<Ready>,
    stop: crate::service::Stop,
) -> ArangoResult<()> {
    if let Transport::Unix { .. } = &config.endpoint.transport {
        return Err(ArangoError::bad_parameter(
            "unix:// endpoints are not supported by arangorepl serve; use tcp:// or ssl://",
        ));
    }
    // a bad certificate or option is reported before the store is opened
    let tls = config
        .tls
        .as_ref()
        .map(crate::tls::server_config)
        .transpose()?;
    let store = {
        let dir = config.directory.clone();
        let sc = config.store.clone();
        tokio::task::spawn_blocking(move || Store::open(dir, sc))
            .await
            .map_err(|e| ArangoError::internal(e.to_string()))??
    };
    let auth = {
        let (s, c) = (store.clone(), config.clone());
        tokio::task::spawn_blocking(move || {
            for db in s.databases() {
                databases::ensure_system_collections(&s, &db)?;
            }
            Auth::load(
                s,
                c.authentication,
                c.jwt_secret.as_deref(),
                &c.root_password,
            )
        })
        .await
        .map_err(|e| ArangoError::internal(e.to_string()))??
    };
    let registry = crate::metrics::Registry::new();
    let upkeep = registry.keep_up();
    store.attach_metrics(crate::metrics::Store::register(&registry));
    let state = Arc::new(AppState {
        store: store.clone(),
        auth,
        jobs: jobs::Jobs::default(),
        cursors: simple::Cursors::default(),
        leader: leader::Leader::default(),
        appliers: applier::Appliers::new(registry.clone(), config.replication_ca.clone()),
        http_metrics: crate::metrics::Http::new(registry.clone()),
        metrics: registry,
        export_metrics: config.export_metrics,
        offer_fingerprints: config.offer_fingerprints,
        long_poll: config.long_poll,
        version: config
            .compat_version
            .clone()
            .unwrap_or_else(|| VERSION.to_string()),
        without_applier: config
            .compat_version
            .as_deref()
            .is_some_and(applier_removed_in),
        restore_api: config.restore_api,
        read_only: std::sync::atomic::AtomicBool::new(false),
        shutdown: tokio::sync::watch::channel(false).0,
    });
    let (listener, shown) = crate::service::listen(&config.endpoint, tls.as_ref()).await?;
    let mut more = Vec::new();
    let mut more_shown = Vec::new();
    for ep in &config.more_endpoints {
        let (l, s) = crate::service::listen(ep, tls.as_ref()).await?;
        more.push(l);
        more_shown.push(s);
    }
    match ready {
        Some(tx) => {
            let _ = tx.send(Ok(shown.clone()));
        }
        // One line with the bound endpoint: tests read it.
        None => {
            println!(
                "arangorepl serve: listening on {shown} (database directory {})",
                config.directory.display()
            );
            for s in &more_shown {
                println!("arangorepl serve: also listening on {s}");
            }
        }
    }
    tracing::info!("server id {}, version {}", store.server_id(), state.version);
    let housekeeping = {
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                st.jobs.expire(Duration::from_secs(3600));
                st.cursors.expire(Duration::from_secs(300));
                st.leader.sweep(&st.store);
            }
        })
    };
    if config.auto_start {
        let st = state.clone();
        tokio::spawn(async move { applier::auto_start(&st).await });
    }
    let app = tower::ServiceExt::map_request(app(state.clone()), split_database);
    let service = axum::ServiceExt::<Request>::into_make_service(app);
    // In-flight requests are waited for, but long-polls end at once: a follower waiting on
    // `wal/tail` must not hold the shutdown for its whole timeout.
    let begin_stop = {
        let st = state.clone();
        async move {
            stop.await;
            st.shutdown.send_replace(true);
        }
    };
    // the further endpoints serve the same application, and stop with the first
    let mut others = Vec::new();
    for bound in more {
        let (service, st) = (service.clone(), state.clone());
        others.push(tokio::spawn(async move {
            let stop = async move { st.stopping().await };
            if let Err(e) = crate::service::serve_on!(bound, service, stop) {
                tracing::error!("server error: {e}");
            }
        }));
    }
    let served = crate::service::serve_on!(listener, service, begin_stop);
    for o in others {
        let _ = o.await;
    }
    served.map_err(|e| ArangoError::internal(format!("server error: {e}")))?;
    housekeeping.abort();
    upkeep.abort();
    state.appliers.stop_all().await;
    tracing::info!("shutting down: flushing the store");
    drop(state);
    tokio::task::spawn_blocking(move || {
        let r = store.sync();
        drop(store);
        r
    })
    .await
    .map_err(|e| ArangoError::internal(e.to_string()))??;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// `201` if the write was synced, `202` otherwise (ArangoDB's convention for document writes).
pub fn write_status(synced: bool) -> StatusCode {
    if synced {
        StatusCode::CREATED
    } else {
        StatusCode::ACCEPTED
    }
}
