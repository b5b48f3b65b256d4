//! The follower's requests to a leader (spec §4), on top of the project's one HTTP client: every URL under
//! `/_db/<configured database>/`, authentication from the applier configuration, connection retries, async
//! jobs for the keys protocol, and every failure mapped to the replication error numbers (1400 no response,
//! 1401 invalid response, 1402 leader error, 1403 incompatible leader, 1405 loop).

use crate::client::{ConnectOptions, Connection, Credentials, Response, TransportError, encode};
use crate::error::{ArangoError, ArangoResult, codes};
use crate::replication::config::ApplierConfig;
use crate::replication::wire::{self, BatchCreated, Inventory, KeyRange, KeysCreated, LoggerState};
use bytes::Bytes;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counters a caller can show (`failedConnects`, `totalRequests`).
#[derive(Debug, Default)]
pub struct ClientStats {
    pub requests: AtomicU64,
    pub failed_connects: AtomicU64,
    /// Consecutive failures (reset by a response).
    pub consecutive_failures: AtomicU64,
}

/// One chunk of a dump.
#[derive(Debug, Clone)]
pub struct DumpChunk {
    pub body: Bytes,
    pub check_more: bool,
    pub last_included: u64,
}

/// One answer of `PUT wal/tail` (spec §1.10).
#[derive(Debug, Clone)]
pub struct TailChunk {
    pub body: Bytes,
    pub check_more: bool,
    pub from_present: bool,
    pub last_included: u64,
    pub last_scanned: u64,
    pub last_tick: u64,
    /// The leader held the request open waiting for a commit (an arangorepl leader's long-poll).
    pub long_poll: bool,
}

/// A connection to the leader of one database.
#[derive(Clone)]
pub struct LeaderClient {
    conn: Connection,
    database: String,
    endpoint: String,
    own_server_id: u64,
    max_retries: u64,
    retry_wait: Duration,
    job_wait: Duration,
    request_timeout: Duration,
    /// Tails and asks for open transactions of every database (`global=true`, from `_system`).
    global: bool,
    pub stats: Arc<ClientStats>,
    /// ArangoDB's replication counters of the server hosting this client (no-ops by default).
    pub metrics: crate::metrics::Replication,
}

impl LeaderClient {
    /// A client for the configuration's endpoint, database and credentials.
    pub fn new(config: &ApplierConfig, own_server_id: u64) -> ArangoResult<Self> {
        Self::with_ca(config, own_server_id, None)
    }

    /// [`LeaderClient::new`] trusting a private CA (`ca_file`, PEM) besides the system's roots for an
    /// `ssl://` leader.
    pub fn with_ca(
        config: &ApplierConfig,
        own_server_id: u64,
        ca_file: Option<&std::path::Path>,
    ) -> ArangoResult<Self> {
        let endpoint = config.parsed_endpoint()?;
        let credentials = if !config.username.is_empty() {
            Credentials::Basic {
                username: config.username.clone(),
                password: config.password.clone(),
            }
        } else if !config.jwt.is_empty() {
            Credentials::Jwt(config.jwt.clone())
        } else {
            Credentials::None
        };
        let opts = ConnectOptions {
            credentials,
            connect_timeout: Duration::from_secs_f64(config.connect_timeout),
            request_timeout: Duration::from_secs_f64(config.request_timeout),
            verify_tls: true,
            ca_file: ca_file.map(std::path::Path::to_path_buf),
        };
        Ok(LeaderClient {
            conn: Connection::new(&endpoint, &opts)?,
            database: config.database.clone(),
            endpoint: config.endpoint.clone(),
            own_server_id,
            max_retries: config.max_connect_retries,
            retry_wait: Duration::from_secs_f64(config.connection_retry_wait_time),
            job_wait: Duration::from_secs_f64(config.initial_sync_max_wait_time),
            request_timeout: opts.request_timeout,
            global: false,
            stats: Arc::default(),
            metrics: crate::metrics::Replication::default(),
        })
    }

    /// Counts this client's requests into `m` (and lets the sync and applier using it count theirs).
    pub fn with_metrics(mut self, m: crate::metrics::Replication) -> Self {
        self.metrics = m;
        self
    }

    /// The same client tailing the log of every database (the server-level applier's; `database` must
    /// be `_system`).
    pub fn global(mut self) -> Self {
        self.global = true;
        self
    }

    /// `&global=true` for a server-level client.
    fn global_param(&self) -> &'static str {
        if self.global { "&global=true" } else { "" }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    /// The same connection and credentials, for another of the leader's databases.
    pub fn for_database(&self, db: &str) -> LeaderClient {
        let mut c = self.clone();
        c.database = db.to_string();
        c.global = false;
        c
    }

    fn url(&self, path: &str) -> String {
        Connection::db_path(&self.database, path)
    }

    fn no_response(&self, e: &TransportError) -> ArangoError {
        ArangoError::with_message(
            codes::REPLICATION_NO_RESPONSE,
            format!("no response from leader at {}: {e}", self.endpoint),
        )
    }

    fn invalid(&self, what: &str) -> ArangoError {
        ArangoError::with_message(
            codes::REPLICATION_INVALID_RESPONSE,
            format!("invalid response from leader at {}: {what}", self.endpoint),
        )
    }

    /// The leader answered with an error status.
    fn leader_error(&self, path: &str, r: &Response) -> ArangoError {
        let detail = match r.arango_error() {
            Some(e) if r.status == 401 => format!(
                "HTTP 401 (check the username and password configured for the leader, and that database \
                 '{}' exists there: a leader with authentication answers both alike): {}",
                self.database, e.message
            ),
            Some(e) => format!("HTTP {}, errorNum {}: {}", r.status, e.error_num, e.message),
            None => format!("HTTP {}", r.status),
        };
        let path = path.split('?').next().unwrap_or(path);
        ArangoError::with_message(
            codes::REPLICATION_LEADER_ERROR,
            format!(
                "got invalid response from leader at {} for URL {path}: {detail}",
                self.endpoint
            ),
        )
    }

    /// One request with connection retries (`maxConnectRetries` attempts after the first, waiting
    /// `connectionRetryWaitTime` between them). Returns the response whatever its status.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        headers: &[(&str, &str)],
    ) -> ArangoResult<Response> {
        let url = self.url(path);
        let mut attempt = 0u64;
        loop {
            match self
                .attempt(method.clone(), &url, body.clone(), headers, None)
                .await
            {
                Ok(r) => return Ok(r),
                Err(e) => {
                    attempt += 1;
                    if attempt > self.max_retries {
                        return Err(self.no_response(&e));
                    }
                    tokio::time::sleep(self.retry_wait).await;
                }
            }
        }
    }

    /// One request, counted in the statistics (a transport failure as a failed connect).
    async fn attempt(
        &self,
        method: Method,
        url: &str,
        body: Option<Bytes>,
        headers: &[(&str, &str)],
        timeout: Option<Duration>,
    ) -> Result<Response, TransportError> {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let r = self.conn.request(method, url, body, headers, timeout).await;
        match &r {
            Ok(_) => self.stats.consecutive_failures.store(0, Ordering::Relaxed),
            Err(_) => {
                self.metrics.failed_connects.increment(1);
                self.stats.failed_connects.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .consecutive_failures
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        r
    }

    /// One attempt, no retries (the applier's loop has its own backoff). Error statuses become 1402.
    pub async fn send_once(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        timeout: Option<Duration>,
    ) -> ArangoResult<Response> {
        let r = self
            .attempt(method, &self.url(path), body, &[], timeout)
            .await
            .map_err(|e| self.no_response(&e))?;
        if r.status >= 400 {
            return Err(self.leader_error(path, &r));
        }
        Ok(r)
    }

    /// `GET logger-state`, one attempt, checked (the applier's handshake, spec §5.3).
    pub async fn logger_state_once(&self) -> ArangoResult<LoggerState> {
        let path = self.logger_state_path();
        let r = self
            .attempt(Method::GET, &self.url(&path), None, &[], None)
            .await
            .map_err(|e| self.no_response(&e))?;
        self.checked_logger_state(&path, r).await
    }

    fn logger_state_path(&self) -> String {
        format!(
            "/_api/replication/logger-state?serverId={}",
            self.own_server_id
        )
    }

    /// The logger state in `r` (derived when the leader has no `logger-state`), checked.
    async fn checked_logger_state(&self, path: &str, r: Response) -> ArangoResult<LoggerState> {
        let s = if r.status == 404 {
            self.derived_logger_state().await?
        } else if r.status >= 400 {
            return Err(self.leader_error(path, &r));
        } else {
            self.parse(path, &r.body)?
        };
        self.check_leader(&s)?;
        Ok(s)
    }

    /// The logger state of a leader without `logger-state` (it may be gone from ArangoDB 3.12.10+),
    /// derived from `wal/lastTick`.
    async fn derived_logger_state(&self) -> ArangoResult<LoggerState> {
        let path = "/_api/wal/lastTick";
        let r = self.send_once(Method::GET, path, None, None).await?;
        let last: wire::WalLastTick = self.parse(path, &r.body)?;
        Ok(LoggerState::from_last_tick(&last))
    }

    fn tick_header(&self, r: &Response, name: &str) -> ArangoResult<u64> {
        match r.header(name) {
            Some(v) => v
                .parse()
                .map_err(|_| self.invalid(&format!("invalid {name} header: '{v}'"))),
            None => Err(self.invalid(&format!("{name} header is missing"))),
        }
    }

    /// `GET wal/open-transactions` (spec §5.4): whether the leader still has `from`, and the last
    /// included tick (always 0 with RocksDB and arangorepl leaders).
    pub async fn open_transactions(&self, from: u64, to: u64) -> ArangoResult<(bool, u64)> {
        let path = format!(
            "/_api/wal/open-transactions?serverId={}&from={from}&to={to}{}",
            self.own_server_id,
            self.global_param()
        );
        let r = self
            .attempt(Method::GET, &self.url(&path), None, &[], None)
            .await
            .map_err(|e| self.no_response(&e))?;
        if r.status == 404 {
            // gone from ArangoDB 3.12.10: RocksDB never has open transactions in its log, and whether
            // `from` is still there is what `wal/range` says
            let path = "/_api/wal/range";
            let r = self.send_once(Method::GET, path, None, None).await?;
            let range: wire::WalRange = self.parse(path, &r.body)?;
            return Ok((range.has(from), 0));
        }
        if r.status >= 400 {
            return Err(self.leader_error(&path, &r));
        }
        let present = r.header(wire::header::FROM_PRESENT) != Some("false");
        let last = r
            .header(wire::header::LAST_INCLUDED)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok((present, last))
    }

    /// One `PUT wal/tail` (spec §1.10, §4); `long_poll` asks an arangorepl leader to wait that long
    /// for a commit when there is nothing new (other leaders ignore it).
    #[allow(clippy::too_many_arguments)]
    pub async fn tail(
        &self,
        from: u64,
        last_scanned: u64,
        chunk_size: u64,
        include_system: bool,
        include_foxx_queues: bool,
        long_poll: Option<Duration>,
    ) -> ArangoResult<TailChunk> {
        let mut path = format!(
            "/_api/wal/tail?chunkSize={chunk_size}&from={from}&lastScanned={last_scanned}&serverId={}&includeSystem={include_system}&includeFoxxQueues={include_foxx_queues}{}",
            self.own_server_id,
            self.global_param()
        );
        let mut timeout = None;
        if let Some(d) = long_poll {
            path.push_str(&format!("&longPollTimeout={:.3}", d.as_secs_f64()));
            // the request may legitimately take as long as the wait, plus the usual allowance
            timeout = Some(d + self.request_timeout);
        }
        let r = self
            .send_once(Method::PUT, &path, Some(Bytes::from_static(b"[]")), timeout)
            .await?;
        self.metrics.tailing_requests.increment(1);
        self.metrics
            .tailing_bytes_received
            .increment(r.body.len() as u64);
        let check_more = match r.header(wire::header::CHECK_MORE) {
            Some(v) => v == "true",
            None => return Err(self.invalid("x-arango-replication-checkmore header is missing")),
        };
        let last_included = self.tick_header(&r, wire::header::LAST_INCLUDED)?;
        let last_tick = self.tick_header(&r, wire::header::LAST_TICK)?;
        let last_scanned = r
            .header(wire::header::LAST_SCANNED)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(TailChunk {
            check_more,
            from_present: r.header(wire::header::FROM_PRESENT) != Some("false"),
            last_included,
            last_scanned,
            last_tick,
            long_poll: r.header(wire::header::LONG_POLL).is_some(),
            body: r.body,
        })
    }

    /// A request whose answer must be a success; error statuses become 1402.
    async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        headers: &[(&str, &str)],
    ) -> ArangoResult<Response> {
        let r = self.send(method, path, body, headers).await?;
        if r.status >= 400 {
            return Err(self.leader_error(path, &r));
        }
        Ok(r)
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> ArangoResult<T> {
        let r = self.ok(method, path, body, &[]).await?;
        self.parse(path, &r.body)
    }

    fn parse<T: DeserializeOwned>(&self, path: &str, body: &[u8]) -> ArangoResult<T> {
        serde_json::from_slice(body).map_err(|e| {
            self.invalid(&format!(
                "{} answered unexpected JSON: {e}",
                path.split('?').next().unwrap_or(path)
            ))
        })
    }

    /// Checks a leader's state as a follower must before copying from it: major version 3, a server id,
    /// and not this very server.
    pub fn check_leader(&self, state: &LoggerState) -> ArangoResult<()> {
        let major = state
            .server
            .version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u64>().ok());
        if major != Some(3) {
            return Err(ArangoError::with_message(
                codes::REPLICATION_LEADER_INCOMPATIBLE,
                format!(
                    "leader at {} has version {}, but only 3.x leaders are supported",
                    self.endpoint, state.server.version
                ),
            ));
        }
        let id: u64 = state.server.server_id.parse().unwrap_or(0);
        if id == 0 {
            return Err(self.invalid("leader server id is missing or zero"));
        }
        if id == self.own_server_id {
            return Err(ArangoError::with_message(
                codes::REPLICATION_LOOP,
                format!(
                    "the leader at {} is this server itself (server id {id}): refusing to replicate from \
                     myself",
                    self.endpoint
                ),
            ));
        }
        Ok(())
    }

    /// `GET logger-state`, checked.
    pub async fn logger_state(&self) -> ArangoResult<LoggerState> {
        let path = self.logger_state_path();
        let r = self.send(Method::GET, &path, None, &[]).await?;
        self.checked_logger_state(&path, r).await
    }

    /// `POST batch?state=true`; the state is checked (and fetched separately from leaders before 3.8).
    pub async fn create_batch(&self, ttl: u64) -> ArangoResult<(BatchCreated, LoggerState)> {
        let b: BatchCreated = self
            .json(
                Method::POST,
                &format!(
                    "/_api/replication/batch?serverId={}&state=true",
                    self.own_server_id
                ),
                Some(Bytes::from(format!("{{\"ttl\":{ttl}}}"))),
            )
            .await?;
        let state = match b.state.clone() {
            Some(s) => {
                self.check_leader(&s)?;
                s
            }
            None => self.logger_state().await?,
        };
        Ok((b, state))
    }

    pub async fn extend_batch(&self, id: &str, ttl: u64) -> ArangoResult<()> {
        self.ok(
            Method::PUT,
            &format!(
                "/_api/replication/batch/{id}?serverId={}",
                self.own_server_id
            ),
            Some(Bytes::from(format!("{{\"ttl\":{ttl}}}"))),
            &[],
        )
        .await
        .map(|_| ())
    }

    pub async fn delete_batch(&self, id: &str) -> ArangoResult<()> {
        self.ok(
            Method::DELETE,
            &format!(
                "/_api/replication/batch/{id}?serverId={}",
                self.own_server_id
            ),
            None,
            &[],
        )
        .await
        .map(|_| ())
    }

    pub async fn inventory(
        &self,
        batch: &str,
        include_system: bool,
        include_foxx_queues: bool,
    ) -> ArangoResult<Inventory> {
        let r = self
            .ok(
                Method::GET,
                &format!(
                    "/_api/replication/inventory?serverId={}&batchId={batch}&includeSystem={include_system}&includeFoxxQueues={include_foxx_queues}",
                    self.own_server_id
                ),
                None,
                &[],
            )
            .await?;
        let v: Value = self.parse("/_api/replication/inventory", &r.body)?;
        let Some(colls) = v.get("collections").and_then(Value::as_array) else {
            return Err(self.invalid("collections section is missing in inventory"));
        };
        for c in colls {
            if !c.get("parameters").is_some_and(Value::is_object) {
                return Err(
                    self.invalid("collection parameters declaration is invalid in response")
                );
            }
            if !c.get("indexes").is_some_and(Value::is_array) {
                return Err(self.invalid("collection indexes declaration is invalid in response"));
            }
        }
        serde_json::from_value(v).map_err(|e| self.invalid(&format!("inventory: {e}")))
    }

    /// The names of the leader's databases in a snapshot (`GET inventory?global=true`, asked in
    /// `_system`), `_system` first.
    pub async fn database_names(
        &self,
        batch: &str,
        include_system: bool,
        include_foxx_queues: bool,
    ) -> ArangoResult<Vec<String>> {
        let r = self
            .ok(
                Method::GET,
                &format!(
                    "/_api/replication/inventory?serverId={}&batchId={batch}&global=true&includeSystem={include_system}&includeFoxxQueues={include_foxx_queues}",
                    self.own_server_id
                ),
                None,
                &[],
            )
            .await?;
        let inv: crate::replication::wire::GlobalInventory =
            self.parse("/_api/replication/inventory", &r.body)?;
        let mut names = Vec::new();
        for (key, entry) in &inv.databases {
            // each entry names its database; the key is the name too on every leader we know
            let name = entry.get("name").and_then(Value::as_str).unwrap_or(key);
            if name.is_empty() {
                return Err(self.invalid("database name is missing in global inventory"));
            }
            names.push(name.to_string());
        }
        names.sort_by(|a, b| (a != "_system", a).cmp(&(b != "_system", b)));
        Ok(names)
    }

    /// One chunk of a collection dump (`collection` is the leader's globallyUniqueId or id).
    pub async fn dump(
        &self,
        batch: &str,
        collection: &str,
        chunk_size: u64,
        from: u64,
        to: u64,
        include_system: bool,
    ) -> ArangoResult<DumpChunk> {
        let enc = encode(collection);
        let path = format!(
            "/_api/replication/dump?collection={enc}&batchId={batch}&includeSystem={include_system}&useEnvelope=false&serverId={}&from={from}&to={to}&chunkSize={chunk_size}",
            self.own_server_id
        );
        let started = Instant::now();
        let r = self.ok(Method::GET, &path, None, &[]).await?;
        let m = &self.metrics;
        m.dump_requests.increment(1);
        m.dump_request_time.add(started.elapsed());
        m.dump_bytes_received.increment(r.body.len() as u64);
        let check_more = r.header(wire::header::CHECK_MORE) == Some("true");
        let last_included = match r.header(wire::header::LAST_INCLUDED) {
            Some(v) => v
                .parse()
                .map_err(|_| self.invalid("invalid x-arango-replication-lastincluded header"))?,
            None if r.status == 204 => 0,
            None => return Err(self.invalid("x-arango-replication-lastincluded header is missing")),
        };
        Ok(DumpChunk {
            body: r.body,
            check_more,
            last_included,
        })
    }

    /// Runs a request as an async job on the leader (`x-arango-async: store`) and polls for its result,
    /// backing off as ArangoDB's followers do, for at most `initialSyncMaxWaitTime` (or `min_wait`).
    async fn as_job(
        &self,
        method: Method,
        path: &str,
        min_wait: Duration,
    ) -> ArangoResult<Response> {
        let r = self
            .ok(method, path, None, &[("x-arango-async", "store")])
            .await?;
        let Some(id) = r.header("x-arango-async-id").map(String::from) else {
            return Err(self.invalid("async job id is missing (x-arango-async-id)"));
        };
        let started = Instant::now();
        let budget = self.job_wait.max(min_wait);
        loop {
            let waited = started.elapsed();
            let pause = match waited.as_secs() {
                0 => Duration::from_millis(if waited < Duration::from_millis(200) {
                    5
                } else {
                    100
                }),
                1..5 => Duration::from_millis(200),
                5..20 => Duration::from_millis(500),
                20..60 => Duration::from_secs(1),
                _ => Duration::from_secs(2),
            };
            tokio::time::sleep(pause).await;
            let f = self
                .send(Method::PUT, &format!("/_api/job/{id}"), None, &[])
                .await?;
            if f.header("x-arango-async-id").is_some() {
                if f.status >= 400 {
                    return Err(self.leader_error(path, &f));
                }
                return Ok(f);
            }
            if f.status == 404 {
                return Err(ArangoError::with_message(
                    codes::REPLICATION_NO_RESPONSE,
                    format!("job not found on leader at {}", self.endpoint),
                ));
            }
            if started.elapsed() > budget {
                return Err(ArangoError::with_message(
                    codes::REPLICATION_NO_RESPONSE,
                    format!(
                        "timed out waiting for response from leader at {}",
                        self.endpoint
                    ),
                ));
            }
        }
    }

    /// `POST keys` (as an async job, `quick=true` first as ArangoDB's followers do).
    pub async fn create_keys(
        &self,
        batch: &str,
        collection: &str,
        to: u64,
    ) -> ArangoResult<KeysCreated> {
        let enc = encode(collection);
        let base = format!(
            "/_api/replication/keys?collection={enc}&to={to}&serverId={}&batchId={batch}",
            self.own_server_id
        );
        let r = self
            .as_job(Method::POST, &format!("{base}&quick=true"), Duration::ZERO)
            .await?;
        let k: KeysCreated = self.parse("/_api/replication/keys", &r.body)?;
        if k.id.is_some() {
            return Ok(k);
        }
        // too many documents for a quick answer: ask again, with a budget that grows with the count
        let wait = Duration::from_secs(180).max(Duration::from_micros(80 * k.count));
        let r = self.as_job(Method::POST, &base, wait).await?;
        let k: KeysCreated = self.parse("/_api/replication/keys", &r.body)?;
        if k.id.is_none() {
            return Err(self.invalid("keys id is missing in response"));
        }
        Ok(k)
    }

    pub async fn key_ranges(&self, keys_id: &str) -> ArangoResult<Vec<KeyRange>> {
        let started = Instant::now();
        let r = self
            .json(
                Method::GET,
                &format!(
                    "/_api/replication/keys/{keys_id}?chunkSize={}&serverId={}",
                    crate::replication::initial_sync::KEYS_CHUNK,
                    self.own_server_id
                ),
                None,
            )
            .await;
        self.metrics
            .initial_chunks_requests_time
            .add(started.elapsed());
        r
    }

    /// The `[key, rev]` pairs of one range.
    pub async fn chunk_keys(
        &self,
        keys_id: &str,
        chunk: usize,
        low: &str,
    ) -> ArangoResult<Vec<(String, String)>> {
        let low = encode(low);
        let path = format!(
            "/_api/replication/keys/{keys_id}?type=keys&chunk={chunk}&chunkSize=5000&low={low}&serverId={}",
            self.own_server_id
        );
        let m = &self.metrics;
        self.keys_request(
            &path,
            None,
            &m.initial_sync_keys_requests,
            &m.initial_keys_requests_time,
        )
        .await
    }

    /// A `PUT keys/<id>` of the incremental sync, counted in its request and time counters and in the
    /// bytes it received.
    async fn keys_request<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<Bytes>,
        requests: &::metrics::Counter,
        time: &crate::metrics::Millis,
    ) -> ArangoResult<T> {
        let started = Instant::now();
        let r = self.ok(Method::PUT, path, body, &[]).await?;
        requests.increment(1);
        time.add(started.elapsed());
        self.metrics
            .initial_sync_bytes_received
            .increment(r.body.len() as u64);
        self.parse(path, &r.body)
    }

    /// Documents at `positions` of one range; the first `offset` come back as null.
    pub async fn chunk_docs(
        &self,
        keys_id: &str,
        chunk: usize,
        low: &str,
        positions: &[usize],
        offset: usize,
    ) -> ArangoResult<Vec<Value>> {
        let low = encode(low);
        let body =
            serde_json::to_vec(positions).map_err(|e| ArangoError::internal(e.to_string()))?;
        let path = format!(
            "/_api/replication/keys/{keys_id}?type=docs&chunk={chunk}&chunkSize=5000&low={low}&offset={offset}&serverId={}",
            self.own_server_id
        );
        let m = &self.metrics;
        let docs = self
            .keys_request(
                &path,
                Some(Bytes::from(body)),
                &m.initial_sync_docs_requests,
                &m.initial_docs_requests_time,
            )
            .await?;
        m.initial_sync_docs_requested
            .increment(positions.len().saturating_sub(offset) as u64);
        Ok(docs)
    }

    pub async fn delete_keys(&self, keys_id: &str) -> ArangoResult<()> {
        self.ok(
            Method::DELETE,
            &format!(
                "/_api/replication/keys/{keys_id}?serverId={}",
                self.own_server_id
            ),
            None,
            &[],
        )
        .await
        .map(|_| ())
    }
}
