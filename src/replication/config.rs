//! The applier configuration (spec §2.1): every attribute with ArangoDB's name, type, default and
//! validation; merging a PUT body into the stored configuration; the public form (never the password or
//! the JWT) and the stored form (with them).

use crate::endpoint::Endpoint;
use crate::error::{ArangoError, ArangoResult, codes};
use serde_json::{Map, Value, json};

/// `restrictType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestrictType {
    #[default]
    None,
    Include,
    Exclude,
}

impl RestrictType {
    pub fn as_str(self) -> &'static str {
        match self {
            RestrictType::None => "",
            RestrictType::Include => "include",
            RestrictType::Exclude => "exclude",
        }
    }
}

/// An applier's configuration.
#[derive(Clone, PartialEq)]
pub struct ApplierConfig {
    pub endpoint: String,
    pub database: String,
    pub username: String,
    pub password: String,
    pub jwt: String,
    /// Seconds.
    pub request_timeout: f64,
    /// Seconds.
    pub connect_timeout: f64,
    pub ignore_errors: u64,
    pub max_connect_retries: u64,
    pub lock_timeout_retries: u64,
    pub ssl_protocol: u64,
    /// Bytes; 0 means 2 MiB, below 16 KiB means 16 KiB (see [`ApplierConfig::chunk_bytes`]).
    pub chunk_size: u64,
    pub skip_create_drop: bool,
    pub auto_start: bool,
    pub adaptive_polling: bool,
    pub auto_resync: bool,
    pub auto_resync_retries: u64,
    pub max_packet_size: u64,
    pub include_system: bool,
    pub include_foxx_queues: bool,
    pub require_from_present: bool,
    pub verbose: bool,
    pub incremental: bool,
    pub restrict_type: RestrictType,
    pub restrict_collections: Vec<String>,
    /// Seconds.
    pub connection_retry_wait_time: f64,
    /// Seconds.
    pub initial_sync_max_wait_time: f64,
    /// Seconds.
    pub idle_min_wait_time: f64,
    /// Seconds.
    pub idle_max_wait_time: f64,
}

impl std::fmt::Debug for ApplierConfig {
    // the public form only: no password, no JWT
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApplierConfig({})", self.to_public_json())
    }
}

/// What a pass-through attribute must hold.
#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Number,
    Text,
    TextOrNumber,
}

/// Attributes a client may send besides the configuration itself, which ArangoDB accepts and ignores:
/// arangosh passes its `sync` options through (`async`, `progress`, `waitForSyncTimeout`), older
/// clients send barrier options, cluster followers their leader's id. A value of the wrong type is
/// still an error.
const PASS_THROUGH: &[(&str, Kind)] = &[
    ("async", Kind::Bool),
    ("progress", Kind::Bool),
    ("waitForSyncTimeout", Kind::Number),
    ("keepBarrier", Kind::Bool),
    ("barrierId", Kind::TextOrNumber),
    ("force32mode", Kind::Bool),
    ("global", Kind::Bool),
    ("leaderId", Kind::Text),
];

/// Checks a pass-through attribute's type; `None` if `k` is not one.
fn pass_through(k: &str, v: &Value) -> Option<ArangoResult<()>> {
    let (_, kind) = PASS_THROUGH.iter().find(|(n, _)| *n == k)?;
    let ok = v.is_null()
        || match kind {
            Kind::Bool => v.is_boolean(),
            Kind::Number => v.is_number(),
            Kind::Text => v.is_string(),
            Kind::TextOrNumber => v.is_string() || v.is_number(),
        };
    let what = match kind {
        Kind::Bool => "a boolean",
        Kind::Number => "a number",
        Kind::Text => "a string",
        Kind::TextOrNumber => "a string or a number",
    };
    Some(if ok {
        Ok(())
    } else {
        Err(invalid(k, &format!("expecting {what}")))
    })
}

fn invalid(attr: &str, why: &str) -> ArangoError {
    ArangoError::with_message(
        codes::REPLICATION_INVALID_APPLIER_CONFIGURATION,
        format!("invalid value for <{attr}>: {why}"),
    )
}

/// A JSON number for seconds: whole values as integers (`600`), others as floats (`2.5`).
fn seconds(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

impl ApplierConfig {
    /// ArangoDB's defaults for an applier of `database`.
    pub fn defaults(database: &str) -> Self {
        ApplierConfig {
            endpoint: String::new(),
            database: database.to_string(),
            username: String::new(),
            password: String::new(),
            jwt: String::new(),
            request_timeout: 600.0,
            connect_timeout: 10.0,
            ignore_errors: 0,
            max_connect_retries: 100,
            lock_timeout_retries: 0,
            ssl_protocol: 0,
            chunk_size: 0,
            skip_create_drop: false,
            auto_start: false,
            adaptive_polling: true,
            auto_resync: false,
            auto_resync_retries: 2,
            max_packet_size: 536_870_912,
            include_system: true,
            include_foxx_queues: false,
            require_from_present: true,
            verbose: false,
            incremental: false,
            restrict_type: RestrictType::None,
            restrict_collections: Vec::new(),
            connection_retry_wait_time: 15.0,
            initial_sync_max_wait_time: 300.0,
            idle_min_wait_time: 1.0,
            idle_max_wait_time: 2.5,
        }
    }

    /// Merges a request body into this configuration, as a PUT of `applier-config` or `sync` does:
    /// attributes given replace the current ones; `database` is reset to `request_db` when absent; the
    /// password (JWT) is taken only together with a user name (without one). A wrong type or value, or an
    /// attribute ArangoDB does not know, is error 1410 naming it. Nothing changes on error.
    pub fn merge(&mut self, body: &Value, request_db: &str) -> ArangoResult<()> {
        let obj = body.as_object().ok_or_else(|| {
            ArangoError::with_message(
                codes::REPLICATION_INVALID_APPLIER_CONFIGURATION,
                "invalid replication applier configuration: expecting a JSON object",
            )
        })?;
        let mut c = self.clone();
        for (k, v) in obj {
            c.set(k, v, obj)?;
        }
        if !matches!(obj.get("database"), Some(Value::String(s)) if !s.is_empty()) {
            c.database = request_db.to_string();
        }
        c.validate()?;
        *self = c;
        Ok(())
    }

    fn set(&mut self, k: &str, v: &Value, obj: &Map<String, Value>) -> ArangoResult<()> {
        let string = |v: &Value| -> ArangoResult<String> {
            match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(invalid(k, "expecting a string")),
            }
        };
        let boolean = |v: &Value| -> ArangoResult<bool> {
            v.as_bool()
                .ok_or_else(|| invalid(k, "expecting true or false"))
        };
        let count = |v: &Value| -> ArangoResult<u64> {
            match v {
                Value::Number(n) => n
                    .as_u64()
                    .or_else(|| {
                        n.as_f64()
                            .filter(|f| *f >= 0.0 && f.is_finite())
                            .map(|f| f as u64)
                    })
                    .ok_or_else(|| invalid(k, "expecting a non-negative number")),
                _ => Err(invalid(k, "expecting a non-negative number")),
            }
        };
        let secs = |v: &Value| -> ArangoResult<f64> {
            match v.as_f64() {
                Some(f) if f > 0.0 && f.is_finite() => Ok(f),
                _ => Err(invalid(k, "expecting a positive number of seconds")),
            }
        };
        match k {
            "endpoint" => self.endpoint = string(v)?,
            "database" => self.database = string(v)?,
            "username" => {
                self.username = string(v)?;
                if !self.username.is_empty() {
                    self.password = match obj.get("password") {
                        None | Some(Value::Null) => String::new(),
                        Some(p) => {
                            string(p).map_err(|_| invalid("password", "expecting a string"))?
                        }
                    };
                }
            }
            "password" => {
                string(v)?;
            }
            "jwt" => {
                let has_user =
                    matches!(obj.get("username"), Some(Value::String(u)) if !u.is_empty());
                if !has_user {
                    self.jwt = string(v)?;
                }
            }
            "requestTimeout" => self.request_timeout = secs(v)?,
            "connectTimeout" => self.connect_timeout = secs(v)?,
            "ignoreErrors" => {
                self.ignore_errors = match v {
                    Value::Bool(true) => u64::MAX,
                    Value::Bool(false) => 0,
                    _ => count(v)?,
                }
            }
            "maxConnectRetries" => self.max_connect_retries = count(v)?,
            "lockTimeoutRetries" => self.lock_timeout_retries = count(v)?,
            "sslProtocol" => self.ssl_protocol = count(v)?,
            "chunkSize" => self.chunk_size = count(v)?,
            "skipCreateDrop" => self.skip_create_drop = boolean(v)?,
            "autoStart" => self.auto_start = boolean(v)?,
            "adaptivePolling" => self.adaptive_polling = boolean(v)?,
            "autoResync" => self.auto_resync = boolean(v)?,
            "autoResyncRetries" => self.auto_resync_retries = count(v)?,
            "maxPacketSize" => {
                self.max_packet_size = count(v)?;
                if self.max_packet_size == 0 {
                    return Err(invalid(k, "expecting a positive number of bytes"));
                }
            }
            "includeSystem" => self.include_system = boolean(v)?,
            "includeFoxxQueues" => self.include_foxx_queues = boolean(v)?,
            "requireFromPresent" => self.require_from_present = boolean(v)?,
            "verbose" => self.verbose = boolean(v)?,
            "incremental" => self.incremental = boolean(v)?,
            "restrictType" => {
                self.restrict_type = match string(v)?.as_str() {
                    "" | "none" => RestrictType::None,
                    "include" => RestrictType::Include,
                    "exclude" => RestrictType::Exclude,
                    other => {
                        return Err(invalid(
                            k,
                            &format!("'{other}' (use \"include\", \"exclude\" or \"\")"),
                        ));
                    }
                }
            }
            "restrictCollections" => match v {
                Value::Array(a) => {
                    let mut names = Vec::with_capacity(a.len());
                    for e in a {
                        match e {
                            Value::String(s) => names.push(s.clone()),
                            _ => return Err(invalid(k, "expecting an array of collection names")),
                        }
                    }
                    self.restrict_collections = names;
                }
                _ => return Err(invalid(k, "expecting an array of collection names")),
            },
            "connectionRetryWaitTime" => self.connection_retry_wait_time = secs(v)?,
            "initialSyncMaxWaitTime" => self.initial_sync_max_wait_time = secs(v)?,
            "idleMinWaitTime" => self.idle_min_wait_time = secs(v)?,
            "idleMaxWaitTime" => self.idle_max_wait_time = secs(v)?,
            other => match pass_through(other, v) {
                Some(r) => r?,
                None => {
                    return Err(ArangoError::with_message(
                        codes::REPLICATION_INVALID_APPLIER_CONFIGURATION,
                        format!(
                            "unknown attribute <{other}> in the replication applier configuration"
                        ),
                    ));
                }
            },
        }
        Ok(())
    }

    /// The checks of a complete configuration (the endpoint may still be empty: `applier-start` and
    /// `sync` check it when they need it).
    pub fn validate(&self) -> ArangoResult<()> {
        if !self.endpoint.is_empty() {
            self.parsed_endpoint()?;
        }
        let restricted = self.restrict_type != RestrictType::None;
        if restricted == self.restrict_collections.is_empty() {
            return Err(ArangoError::with_message(
                codes::REPLICATION_INVALID_APPLIER_CONFIGURATION,
                "invalid value for <restrictCollections> or <restrictType>: collections must be given \
                 exactly when restrictType is \"include\" or \"exclude\"",
            ));
        }
        if self.idle_min_wait_time > self.idle_max_wait_time {
            return Err(invalid(
                "idleMinWaitTime",
                "must not be greater than idleMaxWaitTime",
            ));
        }
        Ok(())
    }

    /// The endpoint, parsed (1410 if it is empty or malformed).
    pub fn parsed_endpoint(&self) -> ArangoResult<Endpoint> {
        if self.endpoint.is_empty() {
            return Err(ArangoError::with_message(
                codes::REPLICATION_INVALID_APPLIER_CONFIGURATION,
                "no endpoint configured",
            ));
        }
        self.endpoint
            .parse::<Endpoint>()
            .map_err(|e| invalid("endpoint", &e.to_string()))
    }

    /// The chunk size sent to the leader: 0 → 2 MiB, at least 16 KiB.
    pub fn chunk_bytes(&self) -> u64 {
        match self.chunk_size {
            0 => 2 << 20,
            n => n.max(16 << 10),
        }
    }

    /// Whether a collection passes `restrictType`/`restrictCollections`.
    pub fn restriction_allows(&self, name: &str) -> bool {
        let listed = self.restrict_collections.iter().any(|c| c == name);
        match self.restrict_type {
            RestrictType::None => true,
            RestrictType::Include => listed,
            RestrictType::Exclude => !listed,
        }
    }

    /// What `GET applier-config` shows: no password, no JWT; empty endpoint, database and user omitted.
    pub fn to_public_json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in [
            ("endpoint", &self.endpoint),
            ("database", &self.database),
            ("username", &self.username),
        ] {
            if !v.is_empty() {
                m.insert(k.into(), json!(v));
            }
        }
        let rest = json!({
            "requestTimeout": seconds(self.request_timeout),
            "connectTimeout": seconds(self.connect_timeout),
            "ignoreErrors": self.ignore_errors,
            "maxConnectRetries": self.max_connect_retries,
            "lockTimeoutRetries": self.lock_timeout_retries,
            "sslProtocol": self.ssl_protocol,
            "chunkSize": self.chunk_size,
            "skipCreateDrop": self.skip_create_drop,
            "autoStart": self.auto_start,
            "adaptivePolling": self.adaptive_polling,
            "autoResync": self.auto_resync,
            "autoResyncRetries": self.auto_resync_retries,
            "maxPacketSize": self.max_packet_size,
            "includeSystem": self.include_system,
            "includeFoxxQueues": self.include_foxx_queues,
            "requireFromPresent": self.require_from_present,
            "verbose": self.verbose,
            "incremental": self.incremental,
            "restrictType": self.restrict_type.as_str(),
            "restrictCollections": self.restrict_collections,
            "connectionRetryWaitTime": seconds(self.connection_retry_wait_time),
            "initialSyncMaxWaitTime": seconds(self.initial_sync_max_wait_time),
            "idleMinWaitTime": seconds(self.idle_min_wait_time),
            "idleMaxWaitTime": seconds(self.idle_max_wait_time),
        });
        if let Value::Object(r) = rest {
            m.extend(r);
        }
        Value::Object(m)
    }

    /// The stored form: the public form plus the secrets (kept only in the follower's private store file).
    pub fn to_stored_json(&self) -> Value {
        let mut v = self.to_public_json();
        v["endpoint"] = json!(self.endpoint);
        v["database"] = json!(self.database);
        v["username"] = json!(self.username);
        v["password"] = json!(self.password);
        v["jwt"] = json!(self.jwt);
        v
    }

    /// Reads the stored form back.
    pub fn from_stored_json(v: &Value, database: &str) -> ArangoResult<Self> {
        let mut c = ApplierConfig::defaults(database);
        let obj = v.as_object().ok_or_else(|| {
            ArangoError::with_message(
                codes::REPLICATION_INVALID_APPLIER_STATE,
                "stored applier configuration is not an object",
            )
        })?;
        for (k, val) in obj {
            c.set(k, val, obj)?;
        }
        c.password = obj
            .get("password")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        c.jwt = obj
            .get("jwt")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if c.database.is_empty() {
            c.database = database.to_string();
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_render_like_arangodb() {
        let c = ApplierConfig::defaults("_system");
        let v = c.to_public_json();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys[0], "database");
        assert_eq!(v["requestTimeout"], json!(600));
        assert_eq!(v["idleMaxWaitTime"], json!(2.5));
        assert_eq!(v["restrictType"], "");
        assert!(v.get("password").is_none() && v.get("jwt").is_none());
    }

    #[test]
    fn merge_keeps_stored_values_and_hides_secrets() {
        let mut c = ApplierConfig::defaults("db");
        c.merge(
            &json!({"endpoint": "tcp://127.0.0.1:8529", "username": "u", "password": "secret",
                    "chunkSize": 4194304, "autoStart": true}),
            "db",
        )
        .unwrap();
        c.merge(&json!({"verbose": true}), "db").unwrap();
        assert_eq!(c.chunk_size, 4_194_304);
        assert!(c.auto_start && c.verbose);
        assert_eq!(c.password, "secret");
        let shown = c.to_public_json().to_string();
        assert!(!shown.contains("secret"));
        assert!(!format!("{c:?}").contains("secret"));
        let back = ApplierConfig::from_stored_json(&c.to_stored_json(), "db").unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn bad_values_are_1410_and_change_nothing() {
        let mut c = ApplierConfig::defaults("db");
        let before = c.clone();
        for bad in [
            json!({"chunkSize": "big"}),
            json!({"autoStart": 1}),
            json!({"restrictType": "maybe"}),
            json!({"restrictType": "include"}),
            json!({"restrictCollections": ["a"]}),
            json!({"endpoint": "foo://bar"}),
            json!({"idleMinWaitTime": 0}),
            json!({"noSuchThing": 1}),
            json!([1]),
        ] {
            let e = c.merge(&bad, "db").unwrap_err();
            assert_eq!(e.error_num, 1410, "{bad}");
            assert_eq!(c, before);
        }
        c.merge(
            &json!({"async": true, "restrictType": "include", "restrictCollections": ["a"]}),
            "db",
        )
        .unwrap();
        assert!(c.restriction_allows("a") && !c.restriction_allows("b"));
    }

    #[test]
    fn chunk_sizes() {
        let mut c = ApplierConfig::defaults("db");
        assert_eq!(c.chunk_bytes(), 2 << 20);
        c.chunk_size = 100;
        assert_eq!(c.chunk_bytes(), 16 << 10);
    }
}
