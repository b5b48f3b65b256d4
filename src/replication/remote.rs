//! [`RemoteFollower`]: the replication core's follower over HTTP, writing into any ArangoDB (3.8–3.12.x,
//! single server or coordinator) or `arangorepl serve` — what `arangorepl proxy` hosts its appliers with.
//!
//! - Collections and indexes are created the way arangorestore creates them
//!   (`PUT /_api/replication/restore-collection`, `restore-indexes`), so names, types, key options and
//!   `globallyUniqueId`s survive; a target without those endpoints gets the collection and index APIs.
//! - The initial sync writes dump chunks with `restore-data` as they came (or, without it, document
//!   arrays with `isRestore=true`), keeping `_key` and `_rev`.
//! - Each tailed chunk is applied in **one stream transaction** on the target, together with the
//!   applier's position, which lives in the system collection `_arangorepl` of that database: data and
//!   position commit together, so nothing is applied twice or skipped across a crash of this process or
//!   of the target. Catalog changes (which ArangoDB cannot run inside a transaction) are applied between
//!   transactions; each is idempotent, so repeating one after a crash changes nothing.
//! - Leader wins: documents replace whatever has their key, and a document that collides with another
//!   on a unique index makes that one go, inside the same transaction.
//! - The configuration with its secrets (leader password, JWT) stays on this machine, in a file of mode
//!   0600 under the host's directory; the target holds the position and the configuration without them.

use crate::client::{ConnectOptions, Connection, Credentials, Response, encode};
use crate::endpoint::Endpoint;
use crate::error::{ArangoError, ArangoResult, codes};
use crate::replication::config::ApplierConfig;
use crate::replication::follower::{
    Applied, ChangesFailed, Documents, Follower, GLOBAL_APPLIER, LocalCollection, TailChange,
};
use crate::replication::initial_sync::KEYS_CHUNK;
use crate::replication::keys::RangeBuilder;
use crate::replication::leader_client::LeaderClient;
use crate::replication::wire::{KeyRange, created_indexes, is_implicit_index, line_ranges};
use bytes::Bytes;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The system collection holding a RemoteFollower's applier record in each database it writes into.
pub const POSITION_COLLECTION: &str = "_arangorepl";
/// The record's document key.
const POSITION_KEY: &str = "applier";
/// The server-level applier's record, in `_system`.
const GLOBAL_POSITION_KEY: &str = "global-applier";
/// The server-level applier's position in one database (see [`global_position_record`]).
const GLOBAL_DB_POSITION_KEY: &str = "global-position";

/// Where an applier record lives on the target: its database and document key.
fn record_place(name: &str) -> (&str, &'static str) {
    if name == GLOBAL_APPLIER {
        ("_system", GLOBAL_POSITION_KEY)
    } else if let Some(db) = name
        .strip_prefix(GLOBAL_APPLIER)
        .and_then(|r| r.strip_prefix('/'))
    {
        (db, GLOBAL_DB_POSITION_KEY)
    } else {
        (name, POSITION_KEY)
    }
}
/// The key of the collection aliases (see [`Inner::aliases`]).
const ALIASES_KEY: &str = "names";
/// Requests outside a transaction are tried this often while the target is down or busy (about 30 s in
/// all); the applier retries beyond that as it does for its leader.
const ATTEMPTS: u32 = 16;
const TRX_HEADER: &str = "x-arango-trx-id";

/// How to reach the target.
#[derive(Clone)]
pub struct Target {
    pub endpoint: Endpoint,
    pub credentials: Credentials,
    pub request_timeout: Duration,
    /// A private CA (PEM) to trust for an `ssl://` target besides the system's roots.
    pub ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({}, {:?})", self.endpoint, self.credentials)
    }
}

/// The follower side of replication, over HTTP.
#[derive(Clone)]
pub struct RemoteFollower(Arc<Inner>);

struct Inner {
    target: Target,
    conn: Connection,
    server_id: AtomicU64,
    /// Where configurations with their secrets are kept (mode 0600).
    configs: PathBuf,
    /// The configuration last written per database (the applier hands it over with every chunk).
    written: Mutex<HashMap<String, Value>>,
    /// Collection names by `(database, globallyUniqueId)`.
    names: Mutex<HashMap<(String, String), String>>,
    /// Collections created without arangorestore's endpoints lack the leader's `globallyUniqueId`: their
    /// names by the leader's id, per database, kept in `_arangorepl/names` (loaded once).
    aliases: tokio::sync::Mutex<HashMap<String, HashMap<String, String>>>,
    /// Databases whose `_arangorepl` collection is known to exist.
    ensured: Mutex<HashSet<String>>,
    /// Whether the target has arangorestore's endpoints: 0 unknown, 1 yes, 2 no.
    restore_api: AtomicU8,
    /// What the applier's progress should tell once.
    notice: Mutex<Option<String>>,
    /// Key contexts on the target by `(database, collection)`, for paging its keys.
    keys: tokio::sync::Mutex<HashMap<(String, String), KeysContext>>,
}

struct KeysContext {
    client: LeaderClient,
    batch: String,
    id: String,
    ranges: Vec<KeyRange>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A failure to reach the target, or an answer that says it is not available: worth retrying.
fn unavailable(endpoint: &str, what: impl std::fmt::Display) -> ArangoError {
    ArangoError::with_message(
        codes::REPLICATION_NO_RESPONSE,
        format!("the follower's target ArangoDB at {endpoint} is not available: {what}"),
    )
}

fn transient_status(status: u16) -> bool {
    matches!(status, 502..=504)
}

/// The id in `GET /_api/replication/server-id` (`{"serverId": "<u64>"}`; 0 if absent).
fn server_id_of(v: &Value) -> u64 {
    v.get("serverId")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Strips the secrets from an applier record before it leaves this machine.
fn without_secrets(record: &Value) -> Value {
    let mut r = record.clone();
    if let Some(Value::Object(c)) = r.get_mut("config") {
        c.remove("password");
        c.remove("jwt");
    }
    r
}

/// The `conflicting key: <key>` at the end of a unique-constraint error message.
fn conflicting_key(message: &str) -> Option<&str> {
    let at = message.rfind("conflicting key: ")?;
    let k = message[at + "conflicting key: ".len()..].trim();
    (!k.is_empty()).then_some(k)
}

/// The file holding a database's configuration.
fn config_file(dir: &std::path::Path, db: &str) -> PathBuf {
    dir.join(format!("applier-{}.json", encode(db)))
}

/// Writes `bytes` to `path` through a temporary file of mode 0600, durably.
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// One document operation of a transaction.
enum DocOp {
    Upsert(Bytes),
    Remove(String),
}

impl RemoteFollower {
    /// Connects to the target (its server id is asked for at once: a target that cannot be reached is an
    /// error here). Configurations are kept under `configs`.
    pub async fn connect(target: Target, configs: PathBuf) -> ArangoResult<Self> {
        let opts = ConnectOptions {
            credentials: target.credentials.clone(),
            request_timeout: target.request_timeout,
            ca_file: target.ca_file.clone(),
            ..ConnectOptions::default()
        };
        let conn = Connection::new(&target.endpoint, &opts)?;
        std::fs::create_dir_all(&configs).map_err(|e| {
            ArangoError::internal(format!(
                "cannot create the directory '{}': {e}",
                configs.display()
            ))
        })?;
        let f = RemoteFollower(Arc::new(Inner {
            target,
            conn,
            server_id: AtomicU64::new(0),
            configs,
            written: Mutex::default(),
            names: Mutex::default(),
            ensured: Mutex::default(),
            restore_api: AtomicU8::new(0),
            notice: Mutex::default(),
            aliases: Default::default(),
            keys: Default::default(),
        }));
        // a target that is down now is waited for later, by the applier's retries
        if let Err(e) = f.refresh_server_id(false).await {
            tracing::warn!("{}", e.message);
        }
        Ok(f)
    }

    /// Asks the target for its server id.
    async fn refresh_server_id(&self, retry: bool) -> ArangoResult<u64> {
        let r = self
            .send(
                Method::GET,
                "_system",
                "/_api/replication/server-id",
                None,
                None,
                retry,
            )
            .await?;
        if r.status >= 400 {
            return Err(self.error_of(&r, "asking for the server id"));
        }
        let id = r.json().map(|v| server_id_of(&v)).unwrap_or(0);
        self.0.server_id.store(id, Ordering::Relaxed);
        Ok(id)
    }

    fn endpoint(&self) -> String {
        self.0.target.endpoint.to_string()
    }

    /// One request to the target; with `retry`, transport failures and 502–504 are tried again for a
    /// while. Any status comes back.
    async fn send(
        &self,
        method: Method,
        db: &str,
        path: &str,
        body: Option<Bytes>,
        trx: Option<&str>,
        retry: bool,
    ) -> ArangoResult<Response> {
        let url = Connection::db_path(db, path);
        let headers: Vec<(&str, &str)> = trx.map(|t| (TRX_HEADER, t)).into_iter().collect();
        let mut wait = Duration::from_millis(100);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let r = self
                .0
                .conn
                .request(method.clone(), &url, body.clone(), &headers, None)
                .await;
            let err = match r {
                Ok(r) if !transient_status(r.status) => return Ok(r),
                Ok(r) => match r.arango_error() {
                    Some(e) => unavailable(
                        &self.endpoint(),
                        format!("HTTP {}: {}", r.status, e.message),
                    ),
                    None => unavailable(&self.endpoint(), format!("HTTP {}", r.status)),
                },
                Err(e) => unavailable(&self.endpoint(), e),
            };
            if !retry || attempt >= ATTEMPTS {
                return Err(err);
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(3));
        }
    }

    /// The target's error for an error status (503 and a lost transaction are "not available").
    fn error_of(&self, r: &Response, what: &str) -> ArangoError {
        let e = r.arango_error().unwrap_or_else(|| {
            ArangoError::with_message(codes::HTTP_SERVER_ERROR, format!("HTTP {}", r.status))
        });
        if r.status == 503 || e.error_num == codes::TRANSACTION_NOT_FOUND {
            return unavailable(&self.endpoint(), format!("{what}: {}", e.message));
        }
        ArangoError::with_message(
            e.error_num,
            format!(
                "{what} on the follower's target {}: {}",
                self.endpoint(),
                e.message
            ),
        )
    }

    /// A request whose answer must be 2xx JSON.
    async fn json(
        &self,
        method: Method,
        db: &str,
        path: &str,
        body: Option<Bytes>,
    ) -> ArangoResult<Value> {
        let r = self.send(method, db, path, body, None, true).await?;
        if r.status >= 400 {
            let what = path.split('?').next().unwrap_or(path);
            return Err(self.error_of(&r, what));
        }
        r.json().map_err(|e| {
            ArangoError::with_message(
                codes::REPLICATION_INVALID_RESPONSE,
                format!("{e} from {}", self.endpoint()),
            )
        })
    }

    /// A client for the target's own leader API (its keys, for incremental sync).
    fn keys_client(&self, db: &str) -> ArangoResult<LeaderClient> {
        let mut c = ApplierConfig::defaults(db);
        c.endpoint = self.0.target.endpoint.to_string();
        match &self.0.target.credentials {
            Credentials::Basic { username, password } => {
                c.username = username.clone();
                c.password = password.clone();
            }
            Credentials::Jwt(t) => c.jwt = t.clone(),
            Credentials::None => {}
        }
        c.max_connect_retries = 10;
        c.connection_retry_wait_time = 1.0;
        LeaderClient::new(&c, 0)
    }

    /// Lists the target's collections and learns their names by `globallyUniqueId`.
    async fn list(&self, db: &str) -> ArangoResult<Vec<Value>> {
        let aliases = self.aliases(db).await?;
        let v = self
            .json(
                Method::GET,
                db,
                "/_api/collection?excludeSystem=false",
                None,
            )
            .await?;
        let list = match v.get("result") {
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        let mut names = lock(&self.0.names);
        names.retain(|(d, _), _| d != db);
        for c in &list {
            if let (Some(g), Some(n)) = (
                c.get("globallyUniqueId").and_then(Value::as_str),
                c.get("name").and_then(Value::as_str),
            ) {
                names.insert((db.to_string(), g.to_string()), n.to_string());
            }
        }
        for (cuid, name) in aliases {
            if list
                .iter()
                .any(|c| c.get("name").and_then(Value::as_str) == Some(&name))
            {
                names.insert((db.to_string(), cuid), name);
            }
        }
        Ok(list)
    }

    /// The aliases of `db` (see [`Inner::aliases`]), read from the target the first time.
    async fn aliases(&self, db: &str) -> ArangoResult<HashMap<String, String>> {
        let mut all = self.0.aliases.lock().await;
        if let Some(a) = all.get(db) {
            return Ok(a.clone());
        }
        let r = self
            .send(
                Method::GET,
                db,
                &format!("/_api/document/{POSITION_COLLECTION}/{ALIASES_KEY}"),
                None,
                None,
                true,
            )
            .await?;
        let found: HashMap<String, String> = match r.status {
            s if s < 400 => r
                .json()
                .ok()
                .and_then(|v| serde_json::from_value(v.get("collections")?.clone()).ok())
                .unwrap_or_default(),
            404 => HashMap::new(),
            _ => return Err(self.error_of(&r, "reading the collection aliases")),
        };
        all.insert(db.to_string(), found.clone());
        Ok(found)
    }

    /// Changes the aliases of `db` and stores them in the target.
    async fn set_alias(&self, db: &str, cuid: &str, name: Option<&str>) -> ArangoResult<()> {
        let mut current = self.aliases(db).await?;
        let changed = match name {
            Some(n) => current.insert(cuid.to_string(), n.to_string()).as_deref() != Some(n),
            None => current.remove(cuid).is_some(),
        };
        if !changed {
            return Ok(());
        }
        self.ensure_position_collection(db).await?;
        let doc = json!({"_key": ALIASES_KEY, "collections": current});
        self.json(
            Method::POST,
            db,
            &format!("/_api/document/{POSITION_COLLECTION}?overwriteMode=replace&waitForSync=true"),
            Some(Bytes::from(doc.to_string())),
        )
        .await?;
        self.0.aliases.lock().await.insert(db.to_string(), current);
        self.forget_names(db);
        Ok(())
    }

    /// The leader's id of a collection the target has under another `globallyUniqueId`.
    async fn alias_of(&self, db: &str, name: &str) -> Option<String> {
        let a = self.aliases(db).await.ok()?;
        a.into_iter().find(|(_, n)| n == name).map(|(c, _)| c)
    }

    /// The target's name of the collection the leader calls `cuid`.
    async fn name_of(&self, db: &str, cuid: &str) -> ArangoResult<String> {
        let key = (db.to_string(), cuid.to_string());
        if let Some(n) = lock(&self.0.names).get(&key) {
            return Ok(n.clone());
        }
        self.list(db).await?;
        lock(&self.0.names).get(&key).cloned().ok_or_else(|| {
            ArangoError::with_message(
                codes::ARANGO_DATA_SOURCE_NOT_FOUND,
                format!(
                    "collection with globallyUniqueId '{cuid}' not found on the follower's target"
                ),
            )
        })
    }

    fn forget_names(&self, db: &str) {
        lock(&self.0.names).retain(|(d, _), _| d != db);
    }

    /// Whether an answer says the target has no such replication command (ArangoDB before the
    /// restore endpoints, or a server that removed them).
    fn missing_command(r: &Response) -> bool {
        r.status == 404
            || r.status == 405
            || (r.status == 400
                && r.arango_error()
                    .is_some_and(|e| e.message.contains("invalid command")))
    }

    fn restore_api(&self) -> bool {
        self.0.restore_api.load(Ordering::Relaxed) != 2
    }

    fn no_restore_api(&self, what: &str) {
        if self.0.restore_api.swap(2, Ordering::Relaxed) != 2 {
            let text = format!(
                "the follower's target {} has no {what}: using the collection, index and document APIs \
                 instead (collection ids are not kept)",
                self.endpoint()
            );
            tracing::warn!("{text}");
            *lock(&self.0.notice) = Some(text);
        }
    }

    /// `PUT /_api/replication/<command><query>` of arangorestore's endpoints: `true` when done, `false`
    /// when the target has no such endpoint (from then on none is asked for again).
    async fn try_restore(
        &self,
        db: &str,
        command: &str,
        query: &str,
        body: Bytes,
        what: &str,
    ) -> ArangoResult<bool> {
        if !self.restore_api() {
            return Ok(false);
        }
        let path = format!("/_api/replication/{command}{query}");
        let r = self
            .send(Method::PUT, db, &path, Some(body), None, true)
            .await?;
        if r.status < 400 {
            self.0.restore_api.store(1, Ordering::Relaxed);
            return Ok(true);
        }
        if !Self::missing_command(&r) {
            return Err(self.error_of(&r, what));
        }
        self.no_restore_api(&format!("PUT /_api/replication/{command}"));
        Ok(false)
    }

    /// Creates a collection from the leader's parameters (dropping one of the same name first).
    async fn restore_collection(&self, db: &str, parameters: &Value) -> ArangoResult<()> {
        let name = parameters
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut params = parameters.clone();
        let indexes = created_indexes(
            params
                .as_object_mut()
                .and_then(|o| o.remove("indexes"))
                .as_ref(),
        );
        let body = json!({"parameters": params, "indexes": indexes});
        if self
            .try_restore(
                db,
                "restore-collection",
                "?overwrite=true&force=false",
                Bytes::from(body.to_string()),
                &format!("creating collection '{name}'"),
            )
            .await?
        {
            self.forget_names(db);
            return Ok(());
        }
        // the collection API: drop a namesake, create, then the indexes
        self.drop_named(db, &name).await?;
        let mut body = serde_json::Map::new();
        for k in [
            "name",
            "type",
            "waitForSync",
            "keyOptions",
            "schema",
            "computedValues",
            "cacheEnabled",
            "isSystem",
        ] {
            if let Some(v) = parameters.get(k).filter(|v| !v.is_null()) {
                body.insert(k.to_string(), v.clone());
            }
        }
        if name.starts_with('_') {
            body.insert("isSystem".into(), Value::Bool(true));
        }
        self.json(
            Method::POST,
            db,
            "/_api/collection",
            Some(Bytes::from(Value::Object(body).to_string())),
        )
        .await?;
        self.forget_names(db);
        if let Some(guid) = parameters
            .get("globallyUniqueId")
            .and_then(Value::as_str)
            .filter(|g| !g.is_empty())
        {
            self.set_alias(db, guid, Some(&name)).await?;
        }
        for idx in &indexes {
            self.create_index(db, &name, idx).await?;
        }
        Ok(())
    }

    async fn create_index(&self, db: &str, collection: &str, spec: &Value) -> ArangoResult<()> {
        if is_implicit_index(spec) {
            return Ok(());
        }
        let body = json!({"parameters": {"name": collection}, "indexes": [spec]});
        if self
            .try_restore(
                db,
                "restore-indexes",
                "?force=false",
                Bytes::from(body.to_string()),
                &format!("creating an index on '{collection}'"),
            )
            .await?
        {
            return Ok(());
        }
        let mut spec = spec.clone();
        if let Some(o) = spec.as_object_mut() {
            o.remove("id");
            o.remove("selectivityEstimate");
            o.remove("figures");
        }
        self.json(
            Method::POST,
            db,
            &format!("/_api/index?collection={}", encode(collection)),
            Some(Bytes::from(spec.to_string())),
        )
        .await
        .map(|_| ())
    }

    /// Drops a collection by name; a missing one is fine.
    async fn drop_named(&self, db: &str, name: &str) -> ArangoResult<()> {
        let r = self
            .send(
                Method::DELETE,
                db,
                &format!("/_api/collection/{}?isSystem=true", encode(name)),
                None,
                None,
                true,
            )
            .await?;
        self.forget_names(db);
        match r.status {
            s if s < 400 => Ok(()),
            404 => Ok(()),
            _ => Err(self.error_of(&r, &format!("dropping collection '{name}'"))),
        }
    }

    /// Creates `_arangorepl` in `db` unless known to exist.
    async fn ensure_position_collection(&self, db: &str) -> ArangoResult<()> {
        if lock(&self.0.ensured).contains(db) {
            return Ok(());
        }
        let body = json!({"name": POSITION_COLLECTION, "isSystem": true, "waitForSync": false});
        let r = self
            .send(
                Method::POST,
                db,
                "/_api/collection",
                Some(Bytes::from(body.to_string())),
                None,
                true,
            )
            .await?;
        let exists = r
            .arango_error()
            .is_some_and(|e| e.error_num == codes::ARANGO_DUPLICATE_NAME);
        if r.status >= 400 && !exists {
            return Err(self.error_of(&r, &format!("creating collection '{POSITION_COLLECTION}'")));
        }
        lock(&self.0.ensured).insert(db.to_string());
        Ok(())
    }

    /// Keeps the configuration (with its secrets) on this machine, when it changed.
    /// A database the target dropped: the configuration kept here for its applier (with its
    /// password) goes too, so that a database created later under that name starts with defaults.
    pub fn database_dropped(&self, db: &str) {
        let _ = std::fs::remove_file(config_file(&self.0.configs, db));
        lock(&self.0.written).remove(db);
    }

    fn keep_config(&self, db: &str, record: &Value) -> ArangoResult<()> {
        let Some(config) = record.get("config") else {
            return Ok(());
        };
        if lock(&self.0.written).get(db) == Some(config) {
            return Ok(());
        }
        let bytes = serde_json::to_vec_pretty(config).unwrap_or_default();
        write_private(&config_file(&self.0.configs, db), &bytes).map_err(|e| {
            ArangoError::internal(format!(
                "cannot store the applier configuration of '{db}': {e}"
            ))
        })?;
        lock(&self.0.written).insert(db.to_string(), config.clone());
        Ok(())
    }

    /// The databases with a configuration kept here (for `autoStart` at the host's start).
    pub fn configured_databases(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&self.0.configs) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if let Some(enc) = n
                    .strip_prefix("applier-")
                    .and_then(|r| r.strip_suffix(".json"))
                {
                    let name = percent_encoding::percent_decode_str(enc)
                        .decode_utf8_lossy()
                        .into_owned();
                    // the server-level applier's is no database's
                    if !name.starts_with(GLOBAL_APPLIER) {
                        out.push(name);
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// Writes documents (leader wins) with `isRestore`, in transaction `trx` if given. Errors name the
    /// position of the offending document in `docs`.
    async fn upsert(
        &self,
        db: &str,
        collection: &str,
        docs: &[Bytes],
        trx: Option<&str>,
    ) -> Result<Applied, (Option<usize>, ArangoError)> {
        let mut applied = Applied::default();
        if docs.is_empty() {
            return Ok(applied);
        }
        let path = format!(
            "/_api/document/{}?overwriteMode=replace&isRestore=true&waitForSync=false",
            encode(collection)
        );
        let body = array_of(docs);
        let r = self
            .send(Method::POST, db, &path, Some(body), trx, trx.is_none())
            .await
            .map_err(|e| (None, e))?;
        if r.status >= 400 {
            return Err((
                None,
                self.error_of(&r, &format!("writing documents into '{collection}'")),
            ));
        }
        let items: Vec<Value> = serde_json::from_slice(&r.body).map_err(|e| {
            (
                None,
                ArangoError::with_message(
                    codes::REPLICATION_INVALID_RESPONSE,
                    format!("invalid answer of the target: {e}"),
                ),
            )
        })?;
        for (i, item) in items.iter().enumerate() {
            if item.get("error") == Some(&Value::Bool(true)) {
                let num = item.get("errorNum").and_then(Value::as_i64).unwrap_or(0);
                let msg = item
                    .get("errorMessage")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                if num == codes::ARANGO_UNIQUE_CONSTRAINT_VIOLATED
                    && let Some(other) = conflicting_key(&msg)
                {
                    // leader wins: the document in the way goes, then this one is written
                    let doc = &docs[i];
                    self.remove(db, collection, &[other.to_string()], trx)
                        .await
                        .map_err(|(_, e)| (Some(i), e))?;
                    let again =
                        Box::pin(self.upsert(db, collection, std::slice::from_ref(doc), trx))
                            .await
                            .map_err(|(_, e)| (Some(i), e))?;
                    applied.removed += 1;
                    applied.add(again);
                    continue;
                }
                return Err((
                    Some(i),
                    ArangoError::with_message(
                        num,
                        format!(
                            "writing a document into '{collection}' on the follower's target: {msg}"
                        ),
                    ),
                ));
            }
            if item.get("_oldRev").is_some() {
                applied.replaced += 1;
            } else {
                applied.inserted += 1;
            }
        }
        Ok(applied)
    }

    /// Removes documents by key (missing ones are fine), in transaction `trx` if given.
    async fn remove(
        &self,
        db: &str,
        collection: &str,
        keys: &[String],
        trx: Option<&str>,
    ) -> Result<Applied, (Option<usize>, ArangoError)> {
        let mut applied = Applied::default();
        if keys.is_empty() {
            return Ok(applied);
        }
        let path = format!("/_api/document/{}?waitForSync=false", encode(collection));
        let body = Bytes::from(serde_json::to_vec(keys).unwrap_or_default());
        let r = self
            .send(Method::DELETE, db, &path, Some(body), trx, trx.is_none())
            .await
            .map_err(|e| (None, e))?;
        if r.status >= 400 {
            return Err((
                None,
                self.error_of(&r, &format!("removing documents from '{collection}'")),
            ));
        }
        let items: Vec<Value> = serde_json::from_slice(&r.body).unwrap_or_default();
        for (i, item) in items.iter().enumerate() {
            if item.get("error") == Some(&Value::Bool(true)) {
                let num = item.get("errorNum").and_then(Value::as_i64).unwrap_or(0);
                if num == codes::ARANGO_DOCUMENT_NOT_FOUND {
                    continue;
                }
                let msg = item
                    .get("errorMessage")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                return Err((
                    Some(i),
                    ArangoError::with_message(
                        num,
                        format!(
                            "removing a document from '{collection}' on the follower's target: {msg}"
                        ),
                    ),
                ));
            }
            applied.removed += 1;
        }
        Ok(applied)
    }

    async fn begin(&self, db: &str, write: &[String]) -> ArangoResult<String> {
        let body = json!({"collections": {"write": write}, "waitForSync": false});
        let r = self
            .send(
                Method::POST,
                db,
                "/_api/transaction/begin",
                Some(Bytes::from(body.to_string())),
                None,
                false,
            )
            .await?;
        if r.status >= 400 {
            return Err(self.error_of(&r, "beginning a transaction"));
        }
        let v = r.json().unwrap_or(Value::Null);
        v.get("result")
            .and_then(|r| r.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ArangoError::with_message(
                    codes::REPLICATION_INVALID_RESPONSE,
                    "the target began a transaction without an id",
                )
            })
    }

    async fn finish(&self, db: &str, id: &str, commit: bool) -> ArangoResult<()> {
        let method = if commit { Method::PUT } else { Method::DELETE };
        let r = self
            .send(
                method,
                db,
                &format!("/_api/transaction/{}", encode(id)),
                None,
                None,
                false,
            )
            .await?;
        if r.status >= 400 {
            return Err(self.error_of(
                &r,
                if commit {
                    "committing a transaction"
                } else {
                    "aborting a transaction"
                },
            ));
        }
        Ok(())
    }

    /// Runs document operations (and, with `record`, the position: its document key and value) in one
    /// stream transaction.
    async fn transaction(
        &self,
        db: &str,
        ops: Vec<(usize, String, DocOp)>,
        record: Option<(&str, &Value)>,
    ) -> Result<Applied, ChangesFailed> {
        let fail = |index: Option<usize>, error: ArangoError| ChangesFailed { index, error };
        let mut write: Vec<String> = Vec::new();
        for (_, c, _) in &ops {
            if !write.contains(c) {
                write.push(c.clone());
            }
        }
        if record.is_some() {
            write.push(POSITION_COLLECTION.to_string());
        }
        if write.is_empty() {
            return Ok(Applied::default());
        }
        let id = self.begin(db, &write).await.map_err(|e| fail(None, e))?;
        let outcome = async {
            let mut applied = Applied::default();
            let mut i = 0;
            while i < ops.len() {
                // a run of the same operation on the same collection goes in one request
                let (_, coll, first) = &ops[i];
                let upsert = matches!(first, DocOp::Upsert(_));
                let mut j = i;
                while j < ops.len()
                    && ops[j].1 == *coll
                    && matches!(ops[j].2, DocOp::Upsert(_)) == upsert
                {
                    j += 1;
                }
                let run = &ops[i..j];
                let r = if upsert {
                    let docs: Vec<Bytes> = run
                        .iter()
                        .filter_map(|(_, _, o)| match o {
                            DocOp::Upsert(d) => Some(d.clone()),
                            _ => None,
                        })
                        .collect();
                    self.upsert(db, coll, &docs, Some(&id)).await
                } else {
                    let keys: Vec<String> = run
                        .iter()
                        .filter_map(|(_, _, o)| match o {
                            DocOp::Remove(k) => Some(k.clone()),
                            _ => None,
                        })
                        .collect();
                    self.remove(db, coll, &keys, Some(&id)).await
                };
                match r {
                    Ok(a) => applied.add(a),
                    Err((at, e)) => return Err(fail(at.map(|k| run[k].0), e)),
                }
                i = j;
            }
            if let Some((key, rec)) = record {
                let mut doc = without_secrets(rec);
                doc["_key"] = json!(key);
                let path = format!(
                    "/_api/document/{POSITION_COLLECTION}?overwriteMode=replace&waitForSync=false"
                );
                let r = self
                    .send(
                        Method::POST,
                        db,
                        &path,
                        Some(Bytes::from(doc.to_string())),
                        Some(&id),
                        false,
                    )
                    .await
                    .map_err(|e| fail(None, e))?;
                if r.status >= 400 {
                    return Err(fail(
                        None,
                        self.error_of(&r, "storing the applier's position"),
                    ));
                }
            }
            Ok(applied)
        }
        .await;
        match outcome {
            Ok(a) => {
                self.finish(db, &id, true)
                    .await
                    .map_err(|e| fail(None, e))?;
                Ok(a)
            }
            Err(f) => {
                let _ = self.finish(db, &id, false).await;
                Err(f)
            }
        }
    }

    /// Applies one catalog change.
    async fn catalog_change(&self, db: &str, change: TailChange) -> ArangoResult<()> {
        match change {
            TailChange::CreateCollection(data) => {
                let guid = data
                    .get("globallyUniqueId")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if !guid.is_empty() && self.name_of(db, guid).await.is_ok() {
                    return Ok(()); // created before (a repeated marker)
                }
                self.restore_collection(db, &data).await
            }
            TailChange::DropCollection { cuid } => match self.name_of(db, &cuid).await {
                Ok(name) => {
                    self.drop_named(db, &name).await?;
                    self.set_alias(db, &cuid, None).await
                }
                Err(_) => Ok(()),
            },
            TailChange::RenameCollection { cuid, name } => {
                let old = self.name_of(db, &cuid).await?;
                if old == name {
                    return Ok(());
                }
                self.json(
                    Method::PUT,
                    db,
                    &format!("/_api/collection/{}/rename", encode(&old)),
                    Some(Bytes::from(json!({"name": name}).to_string())),
                )
                .await?;
                self.forget_names(db);
                if self.alias_of(db, &old).await.is_some() {
                    self.set_alias(db, &cuid, Some(&name)).await?;
                }
                Ok(())
            }
            TailChange::ChangeCollection { cuid, data } => {
                let name = self.name_of(db, &cuid).await?;
                self.change_collection(db, &name, &data).await
            }
            TailChange::TruncateCollection { cuid } => {
                let name = self.name_of(db, &cuid).await?;
                self.truncate_collection(db, &name).await
            }
            TailChange::CreateIndex { cuid, data } => {
                let name = self.name_of(db, &cuid).await?;
                self.ensure_index(db, &name, &data).await
            }
            TailChange::DropIndex { cuid, id } => {
                let name = match self.name_of(db, &cuid).await {
                    Ok(n) => n,
                    Err(_) => return Ok(()),
                };
                self.drop_index(db, &name, &id).await
            }
            TailChange::Upsert { .. } | TailChange::Remove { .. } => Ok(()),
        }
    }

    /// The target's key context of a collection, created afresh with `fresh`.
    async fn keys_context<'a>(
        &self,
        map: &'a mut HashMap<(String, String), KeysContext>,
        db: &str,
        collection: &str,
        fresh: bool,
    ) -> ArangoResult<&'a KeysContext> {
        let key = (db.to_string(), collection.to_string());
        if fresh && let Some(old) = map.remove(&key) {
            let _ = old.client.delete_keys(&old.id).await;
            let _ = old.client.delete_batch(&old.batch).await;
        }
        if !map.contains_key(&key) {
            let client = self.keys_client(db)?;
            let (batch, _) = client.create_batch(600).await?;
            let keys = client.create_keys(&batch.id, collection, u64::MAX).await?;
            let id = keys.id.clone().unwrap_or_default();
            let ranges = if keys.count == 0 {
                Vec::new()
            } else {
                client.key_ranges(&id).await?
            };
            map.insert(
                key.clone(),
                KeysContext {
                    client,
                    batch: batch.id,
                    id,
                    ranges,
                },
            );
        }
        Ok(&map[&key])
    }
}

/// `[doc, doc, …]` from JSON documents as they are.
fn array_of(docs: &[Bytes]) -> Bytes {
    let mut out = Vec::with_capacity(docs.iter().map(|d| d.len() + 1).sum::<usize>() + 2);
    out.push(b'[');
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(d);
    }
    out.push(b']');
    Bytes::from(out)
}

/// A dump line as the document it carries (`None` for a removal marker, with its key).
fn dump_line(line: &[u8]) -> ArangoResult<Result<Bytes, String>> {
    let v: Value = serde_json::from_slice(line).map_err(|e| {
        ArangoError::with_message(
            codes::REPLICATION_INVALID_RESPONSE,
            format!("invalid dump line from the leader: {e}"),
        )
    })?;
    if v.get("_key").is_some() {
        return Ok(Ok(Bytes::copy_from_slice(line)));
    }
    let data = v.get("data");
    match v.get("type").and_then(Value::as_u64) {
        Some(2300 | 2301) if data.is_some_and(Value::is_object) => Ok(Ok(Bytes::from(
            data.map(Value::to_string).unwrap_or_default(),
        ))),
        Some(2302) => match data
            .and_then(|d| d.get("_key"))
            .or_else(|| v.get("key"))
            .and_then(Value::as_str)
        {
            Some(k) => Ok(Err(k.to_string())),
            None => Err(ArangoError::with_message(
                codes::REPLICATION_INVALID_RESPONSE,
                "invalid dump line: removal without a key",
            )),
        },
        _ => Err(ArangoError::with_message(
            codes::REPLICATION_INVALID_RESPONSE,
            "invalid dump line from the leader: neither a document nor a document marker",
        )),
    }
}

impl Follower for RemoteFollower {
    fn server_id(&self) -> u64 {
        self.0.server_id.load(Ordering::Relaxed)
    }

    fn may_be_unavailable(&self) -> bool {
        true
    }

    fn take_notice(&self) -> Option<String> {
        lock(&self.0.notice).take()
    }

    async fn database_exists(&self, db: &str) -> ArangoResult<bool> {
        if self.0.server_id.load(Ordering::Relaxed) == 0 {
            self.refresh_server_id(true).await?;
        }
        let r = self
            .send(Method::GET, db, "/_api/database/current", None, None, true)
            .await?;
        match r.status {
            s if s < 400 => Ok(true),
            404 => Ok(false),
            _ => Err(self.error_of(&r, &format!("looking up database '{db}'"))),
        }
    }

    async fn database_names(&self) -> ArangoResult<Vec<String>> {
        let v = self
            .json(Method::GET, "_system", "/_api/database", None)
            .await?;
        Ok(v.get("result")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn create_database(&self, db: &str) -> ArangoResult<()> {
        let body = serde_json::to_vec(&serde_json::json!({ "name": db }))
            .map_err(|e| ArangoError::internal(e.to_string()))?;
        self.json(Method::POST, "_system", "/_api/database", Some(body.into()))
            .await?;
        Ok(())
    }

    async fn drop_database(&self, db: &str) -> ArangoResult<()> {
        self.json(
            Method::DELETE,
            "_system",
            &format!("/_api/database/{}", encode(db)),
            None,
        )
        .await?;
        self.database_dropped(db);
        Ok(())
    }

    async fn collections(&self, db: &str) -> ArangoResult<Vec<LocalCollection>> {
        let list = self.list(db).await?;
        let mut out = Vec::new();
        for c in list {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if name.is_empty() || name == POSITION_COLLECTION {
                continue;
            }
            let count = self
                .json(
                    Method::GET,
                    db,
                    &format!("/_api/collection/{}/count", encode(&name)),
                    None,
                )
                .await?
                .get("count")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let alias = self.alias_of(db, &name).await;
            out.push(LocalCollection {
                id: c
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
                globally_unique_id: alias.unwrap_or_else(|| {
                    c.get("globallyUniqueId")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                }),
                collection_type: c.get("type").and_then(Value::as_u64).unwrap_or(2),
                is_system: c
                    .get("isSystem")
                    .and_then(Value::as_bool)
                    .unwrap_or(name.starts_with('_')),
                count,
                indexes: Vec::new(),
                name,
            });
        }
        Ok(out)
    }

    async fn create_collection(&self, db: &str, parameters: &Value) -> ArangoResult<()> {
        self.restore_collection(db, parameters).await
    }

    async fn drop_collection(&self, db: &str, name: &str) -> ArangoResult<()> {
        self.drop_named(db, name).await
    }

    async fn truncate_collection(&self, db: &str, name: &str) -> ArangoResult<()> {
        self.json(
            Method::PUT,
            db,
            &format!("/_api/collection/{}/truncate", encode(name)),
            None,
        )
        .await
        .map(|_| ())
    }

    async fn change_collection(
        &self,
        db: &str,
        name: &str,
        parameters: &Value,
    ) -> ArangoResult<()> {
        let mut body = serde_json::Map::new();
        for k in ["waitForSync", "schema", "computedValues", "cacheEnabled"] {
            if let Some(v) = parameters.get(k) {
                body.insert(k.to_string(), v.clone());
            }
        }
        if body.is_empty() {
            return Ok(());
        }
        self.json(
            Method::PUT,
            db,
            &format!("/_api/collection/{}/properties", encode(name)),
            Some(Bytes::from(Value::Object(body).to_string())),
        )
        .await
        .map(|_| ())
    }

    async fn ensure_index(&self, db: &str, collection: &str, spec: &Value) -> ArangoResult<()> {
        self.create_index(db, collection, spec).await
    }

    async fn drop_index(&self, db: &str, collection: &str, id: &str) -> ArangoResult<()> {
        let iid = id.rsplit('/').next().unwrap_or(id);
        let r = self
            .send(
                Method::DELETE,
                db,
                &format!("/_api/index/{}/{}", encode(collection), encode(iid)),
                None,
                None,
                true,
            )
            .await?;
        match r.status {
            s if s < 400 => Ok(()),
            404 => Ok(()),
            _ => Err(self.error_of(&r, &format!("dropping index '{id}' of '{collection}'"))),
        }
    }

    async fn apply_documents(
        &self,
        db: &str,
        collection: &str,
        docs: Documents,
    ) -> ArangoResult<Applied> {
        match docs {
            Documents::Lines(body) => {
                let lines = line_ranges(&body).count() as u64;
                if self
                    .try_restore(
                        db,
                        "restore-data",
                        &format!("?collection={}&force=false", encode(collection)),
                        body.clone(),
                        &format!("restoring documents of '{collection}'"),
                    )
                    .await?
                {
                    return Ok(Applied {
                        inserted: lines,
                        ..Applied::default()
                    });
                }
                let mut docs = Vec::new();
                let mut removals = Vec::new();
                for r in line_ranges(&body) {
                    match dump_line(&body[r])? {
                        Ok(d) => docs.push(d),
                        Err(k) => removals.push(k),
                    }
                }
                let mut a = self
                    .remove(db, collection, &removals, None)
                    .await
                    .map_err(|(_, e)| e)?;
                a.add(
                    self.upsert(db, collection, &docs, None)
                        .await
                        .map_err(|(_, e)| e)?,
                );
                Ok(a)
            }
            Documents::Parsed(v) => {
                let docs: Vec<Bytes> = v.iter().map(|d| Bytes::from(d.to_string())).collect();
                self.upsert(db, collection, &docs, None)
                    .await
                    .map_err(|(_, e)| e)
            }
        }
    }

    async fn remove_documents(
        &self,
        db: &str,
        collection: &str,
        keys: Vec<String>,
    ) -> ArangoResult<Applied> {
        self.remove(db, collection, &keys, None)
            .await
            .map_err(|(_, e)| e)
    }

    async fn key_revisions(
        &self,
        db: &str,
        collection: &str,
        after: Option<String>,
        limit: usize,
    ) -> ArangoResult<Vec<(String, String)>> {
        let mut map = self.0.keys.lock().await;
        let ctx = self
            .keys_context(&mut map, db, collection, after.is_none())
            .await?;
        let after = after.unwrap_or_default();
        let mut out = Vec::new();
        for (i, range) in ctx.ranges.iter().enumerate() {
            if range.high.as_bytes() <= after.as_bytes() && !after.is_empty() {
                continue;
            }
            let pairs = ctx.client.chunk_keys(&ctx.id, i, &range.low).await?;
            out.extend(
                pairs
                    .into_iter()
                    .filter(|(k, _)| after.is_empty() || k.as_bytes() > after.as_bytes()),
            );
            if out.len() >= limit {
                break;
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    async fn key_ranges(
        &self,
        db: &str,
        collection: &str,
        chunk_size: usize,
    ) -> ArangoResult<Vec<KeyRange>> {
        if chunk_size == KEYS_CHUNK {
            let mut map = self.0.keys.lock().await;
            return Ok(self
                .keys_context(&mut map, db, collection, true)
                .await?
                .ranges
                .clone());
        }
        let mut b = RangeBuilder::new(chunk_size);
        let mut after = None;
        loop {
            let page = self
                .key_revisions(db, collection, after.clone(), 10_000)
                .await?;
            for (k, r) in &page {
                b.add(k, r);
            }
            if page.len() < 10_000 {
                break;
            }
            after = page.last().map(|(k, _)| k.clone());
        }
        Ok(b.finish())
    }

    async fn fingerprint(&self, db: &str, collection: &str) -> ArangoResult<(u64, Option<u64>)> {
        let v = self
            .json(
                Method::GET,
                db,
                &format!("/_api/collection/{}/count", encode(collection)),
                None,
            )
            .await?;
        Ok((v.get("count").and_then(Value::as_u64).unwrap_or(0), None))
    }

    async fn flush(&self) -> ArangoResult<()> {
        // key contexts of an incremental sync are no longer needed
        let mut map = self.0.keys.lock().await;
        for (_, c) in map.drain() {
            let _ = c.client.delete_keys(&c.id).await;
            let _ = c.client.delete_batch(&c.batch).await;
        }
        Ok(())
    }

    async fn load_applier(&self, db: &str) -> ArangoResult<Option<Value>> {
        let (target_db, key) = record_place(db);
        let r = self
            .send(
                Method::GET,
                target_db,
                &format!("/_api/document/{POSITION_COLLECTION}/{key}"),
                None,
                None,
                true,
            )
            .await?;
        let mut record = match r.status {
            s if s < 400 => {
                let mut v = r.json().unwrap_or(Value::Null);
                if let Some(o) = v.as_object_mut() {
                    o.retain(|k, _| !k.starts_with('_'));
                }
                Some(v)
            }
            404 => None,
            _ => return Err(self.error_of(&r, "reading the applier's position")),
        };
        // the configuration with its secrets is the one kept here
        let kept = std::fs::read(config_file(&self.0.configs, db))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        if let Some(c) = kept {
            lock(&self.0.written).insert(db.to_string(), c.clone());
            record.get_or_insert_with(|| json!({}))["config"] = c;
        }
        Ok(record)
    }

    async fn save_applier(&self, db: &str, record: Option<Value>) -> ArangoResult<()> {
        let file = config_file(&self.0.configs, db);
        let (target_db, key) = record_place(db);
        match record {
            None => {
                let _ = std::fs::remove_file(&file);
                lock(&self.0.written).remove(db);
                let r = self
                    .send(
                        Method::DELETE,
                        target_db,
                        &format!("/_api/document/{POSITION_COLLECTION}/{key}"),
                        None,
                        None,
                        true,
                    )
                    .await?;
                if r.status >= 400 && r.status != 404 {
                    return Err(self.error_of(&r, "removing the applier's position"));
                }
                Ok(())
            }
            Some(rec) => {
                self.keep_config(db, &rec)?;
                self.ensure_position_collection(target_db).await?;
                let mut doc = without_secrets(&rec);
                doc["_key"] = json!(key);
                self.json(
                    Method::POST,
                    target_db,
                    &format!("/_api/document/{POSITION_COLLECTION}?overwriteMode=replace&waitForSync=true"),
                    Some(Bytes::from(doc.to_string())),
                )
                .await
                .map(|_| ())
            }
        }
    }

    async fn apply_changes(
        &self,
        db: &str,
        changes: Vec<TailChange>,
        record_name: &str,
        record: Value,
    ) -> Result<Applied, ChangesFailed> {
        let fail = |index: Option<usize>, error: ArangoError| ChangesFailed { index, error };
        let (record_db, key) = record_place(record_name);
        if record_db != db {
            // a stream transaction holds one database
            return Err(fail(
                None,
                ArangoError::internal(format!(
                    "the applier record '{record_name}' cannot be stored with changes of database '{db}'"
                )),
            ));
        }
        self.keep_config(record_name, &record)
            .map_err(|e| fail(None, e))?;
        self.ensure_position_collection(db)
            .await
            .map_err(|e| fail(None, e))?;
        let mut applied = Applied::default();
        let mut ops: Vec<(usize, String, DocOp)> = Vec::new();
        for (i, change) in changes.into_iter().enumerate() {
            match change {
                TailChange::Upsert { cuid, doc } => {
                    let name = self
                        .name_of(db, &cuid)
                        .await
                        .map_err(|e| fail(Some(i), e))?;
                    ops.push((i, name, DocOp::Upsert(doc)));
                }
                TailChange::Remove { cuid, key } => {
                    let name = self
                        .name_of(db, &cuid)
                        .await
                        .map_err(|e| fail(Some(i), e))?;
                    ops.push((i, name, DocOp::Remove(key)));
                }
                ddl => {
                    // what came before commits first; catalog changes are not transactional
                    if !ops.is_empty() {
                        applied.add(self.transaction(db, std::mem::take(&mut ops), None).await?);
                    }
                    self.catalog_change(db, ddl)
                        .await
                        .map_err(|e| fail(Some(i), e))?;
                }
            }
        }
        applied.add(self.transaction(db, ops, Some((key, &record))).await?);
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_id_answer_of_arangodb_parses() {
        let v: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/arangodb/replication-server-id.3.11.json"
        ))
        .unwrap();
        assert!(server_id_of(&v) > 0);
        assert_eq!(server_id_of(&json!({})), 0);
    }

    #[test]
    fn secrets_stay_here() {
        let r = json!({"config": {"endpoint": "tcp://x:1", "username": "u", "password": "p", "jwt": "t"}, "state": {}});
        let s = without_secrets(&r);
        assert_eq!(s["config"]["username"], "u");
        assert!(s["config"].get("password").is_none() && s["config"].get("jwt").is_none());
    }

    #[test]
    fn conflicting_key_is_read_from_the_message() {
        let m = "unique constraint violated - in index idx_1 of type persistent over '\"a\"'; conflicting key: k1";
        assert_eq!(conflicting_key(m), Some("k1"));
        assert_eq!(conflicting_key("unique constraint violated"), None);
    }

    #[test]
    fn dump_lines_in_every_form() {
        assert!(dump_line(br#"{"_key":"a","x":1}"#).unwrap().is_ok());
        let d = dump_line(br#"{"type":2300,"data":{"_key":"b"}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(&d[..], br#"{"_key":"b"}"#);
        assert_eq!(
            dump_line(br#"{"type":2302,"data":{"_key":"c"}}"#).unwrap(),
            Err("c".to_string())
        );
        assert!(dump_line(b"[1]").is_err());
    }

    #[test]
    fn arrays_are_joined_as_they_are() {
        let a = array_of(&[Bytes::from_static(b"{\"a\":1}"), Bytes::from_static(b"{}")]);
        assert_eq!(&a[..], b"[{\"a\":1},{}]");
    }
}
