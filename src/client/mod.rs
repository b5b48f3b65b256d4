//! The project's one ArangoDB HTTP connection (async, reqwest): endpoint to base URL, authentication (HTTP
//! Basic, or a JWT as bearer token), per-database URLs, timeouts, and ArangoDB's error envelope turned into
//! an [`ArangoError`]. The replication core's `LeaderClient` and the shell build on it.

use crate::endpoint::{Endpoint, Transport};
use crate::error::{ArangoError, codes};
use bytes::Bytes;
use reqwest::Method;
use std::time::Duration;

/// How requests authenticate.
#[derive(Clone, Default)]
pub enum Credentials {
    #[default]
    None,
    /// HTTP Basic (sent whenever the user name is non-empty; the password may be empty).
    Basic { username: String, password: String },
    /// `Authorization: bearer <jwt>`.
    Jwt(String),
}

impl std::fmt::Debug for Credentials {
    // never prints a secret
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::None => write!(f, "None"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credentials::Jwt(_) => write!(f, "Jwt(***)"),
        }
    }
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub credentials: Credentials,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Verify the server's TLS certificate (on by default) against the system's roots and `ca_file`.
    pub verify_tls: bool,
    /// A PEM file of further CA certificates to trust (a private CA).
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            credentials: Credentials::None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(600),
            verify_tls: true,
            ca_file: None,
        }
    }
}

/// A response: status, headers, body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| format!("invalid JSON in response: {e}"))
    }

    /// ArangoDB's error envelope of an error response, if the body is one.
    pub fn arango_error(&self) -> Option<ArangoError> {
        let v = self.json().ok()?;
        let num = v.get("errorNum")?.as_i64()?;
        let msg = v
            .get("errorMessage")
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_string();
        Some(ArangoError::with_message(num, msg).with_status(self.status))
    }
}

/// Why a request got no HTTP response.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    #[error("could not connect to {endpoint}: {reason}")]
    Connect { endpoint: String, reason: String },
    #[error("timed out waiting for a response from {endpoint}")]
    Timeout { endpoint: String },
    #[error("request to {endpoint} failed: {reason}")]
    Other { endpoint: String, reason: String },
}

impl TransportError {
    /// As ArangoDB's "no response" (1400), for callers that report it so.
    pub fn to_arango(&self) -> ArangoError {
        ArangoError::with_message(codes::REPLICATION_NO_RESPONSE, self.to_string())
    }
}

/// Installs the TLS crypto provider once per process (ring; no C toolchain beyond ring's).
pub fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A connection to one ArangoDB-compatible server.
#[derive(Clone)]
pub struct Connection {
    http: reqwest::Client,
    base: String,
    endpoint: String,
    credentials: Credentials,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.credentials)
            .finish()
    }
}

impl Connection {
    pub fn new(endpoint: &Endpoint, opts: &ConnectOptions) -> Result<Connection, ArangoError> {
        let base = match &endpoint.transport {
            Transport::Unix { .. } => {
                return Err(ArangoError::bad_parameter(format!(
                    "unix:// endpoints are not supported by this client: {endpoint}"
                )));
            }
            _ => endpoint.base_url().ok_or_else(|| {
                ArangoError::bad_parameter(format!("invalid endpoint {endpoint}"))
            })?,
        };
        install_tls_provider();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.request_timeout)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .tls_danger_accept_invalid_certs(!opts.verify_tls);
        if let Some(path) = &opts.ca_file {
            let unreadable = |e: &dyn std::fmt::Display| {
                ArangoError::bad_parameter(format!(
                    "cannot read the CA file '{}': {e}",
                    path.display()
                ))
            };
            let pem = std::fs::read(path).map_err(|e| unreadable(&e))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| unreadable(&e))?;
            if certs.is_empty() {
                return Err(unreadable(&"it holds no PEM certificate"));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| ArangoError::internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Connection {
            http,
            base,
            endpoint: endpoint.to_string(),
            credentials: opts.credentials.clone(),
        })
    }

    /// The endpoint as configured (for messages).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `/_db/<database>/<path>` with the database name percent-encoded.
    pub fn db_path(database: &str, path: &str) -> String {
        format!("/_db/{}{path}", encode(database))
    }

    /// Sends a request; `path` includes the query string. Any HTTP status is a response; only a missing
    /// response is an error.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        headers: &[(&str, &str)],
        timeout: Option<Duration>,
    ) -> Result<Response, TransportError> {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        r = match &self.credentials {
            Credentials::None => r,
            Credentials::Basic { username, password } => r.basic_auth(username, Some(password)),
            Credentials::Jwt(t) => r.bearer_auth(t),
        };
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(t) = timeout {
            r = r.timeout(t);
        }
        if let Some(b) = body {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                r = r.header("content-type", "application/json");
            }
            r = r.body(b);
        }
        let classify = |e: reqwest::Error| transport_error(&self.endpoint, e);
        let resp = r.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(classify)?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// A JWT (HS256) over `payload`, signed with `secret`, as ArangoDB issues and accepts them.
pub fn sign_jwt(secret: &[u8], payload: &serde_json::Value) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac};
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    let signing = format!("{header}.{payload}");
    let sig = match Hmac::<sha2::Sha256>::new_from_slice(secret) {
        Ok(mut m) => {
            m.update(signing.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    };
    format!("{signing}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// A superuser token for a server whose JWT secret is `secret` (what ArangoDB's own servers use
/// among themselves): full rights, no user.
pub fn superuser_jwt(secret: &[u8], issuer_id: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    sign_jwt(
        secret,
        &serde_json::json!({"server_id": issuer_id, "iss": "arangodb", "iat": now}),
    )
}

impl Connection {
    /// Sends a request as it came from someone else (a proxy's client): its own headers (and so its own
    /// credentials, not this connection's), its body streamed; the response comes back unread, to be
    /// streamed on.
    pub async fn forward(
        &self,
        method: Method,
        path_and_query: &str,
        headers: reqwest::header::HeaderMap,
        body: reqwest::Body,
    ) -> Result<reqwest::Response, TransportError> {
        let r = self
            .http
            .request(method, format!("{}{path_and_query}", self.base))
            .headers(headers)
            .body(body);
        r.send()
            .await
            .map_err(|e| transport_error(&self.endpoint, e))
    }
}

/// A value percent-encoded for a URL path segment or query parameter.
pub fn encode(s: &str) -> percent_encoding::PercentEncode<'_> {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
}

/// Why a request to `endpoint` got no response.
fn transport_error(endpoint: &str, e: reqwest::Error) -> TransportError {
    let endpoint = endpoint.to_string();
    if e.is_timeout() {
        TransportError::Timeout { endpoint }
    } else if e.is_connect() {
        TransportError::Connect {
            endpoint,
            reason: root_cause(&e),
        }
    } else {
        TransportError::Other {
            endpoint,
            reason: root_cause(&e),
        }
    }
}

/// The innermost error message (reqwest wraps hyper wraps io).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
