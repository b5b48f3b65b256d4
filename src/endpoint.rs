//! ArangoDB endpoint strings: `tcp://host:port`, `http+tcp://…`, `ssl://…`, `http+ssl://…`,
//! `tcp://[::1]:port` and `unix:///path`, as arangod and arangosh accept them.

use std::fmt;
use std::str::FromStr;

/// How an endpoint is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Plain TCP (HTTP).
    Tcp { host: String, port: u16 },
    /// TLS over TCP (HTTPS).
    Ssl { host: String, port: u16 },
    /// A Unix domain socket path.
    Unix { path: String },
}

/// A parsed endpoint; `Display` gives back the canonical ArangoDB form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub transport: Transport,
}

/// Why an endpoint string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid endpoint '{input}': {reason} (expected e.g. tcp://127.0.0.1:8529, ssl://host:8529 or unix:///path)"
)]
pub struct EndpointError {
    pub input: String,
    pub reason: &'static str,
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| EndpointError {
            input: input.to_string(),
            reason,
        };
        let s = input.trim();
        let (scheme, rest) = s.split_once("://").ok_or_else(|| err("missing scheme"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme == "unix" || scheme == "http+unix" {
            if rest.is_empty() {
                return Err(err("missing socket path"));
            }
            return Ok(Endpoint {
                transport: Transport::Unix {
                    path: rest.to_string(),
                },
            });
        }
        let tls = match scheme.as_str() {
            "tcp" | "http+tcp" | "http" => false,
            "ssl" | "http+ssl" | "https" => true,
            _ => return Err(err("unknown scheme")),
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| err("unclosed '[' in IPv6 address"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p,
                None if after.is_empty() => "8529",
                None => return Err(err("unexpected text after IPv6 address")),
            };
            (h.to_string(), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p),
                None => (rest.to_string(), "8529"),
            }
        };
        if host.is_empty() {
            return Err(err("missing host"));
        }
        let port: u16 = port.parse().map_err(|_| err("invalid port"))?;
        let transport = if tls {
            Transport::Ssl { host, port }
        } else {
            Transport::Tcp { host, port }
        };
        Ok(Endpoint { transport })
    }
}

impl Endpoint {
    /// Host and port for TCP-based endpoints.
    pub fn host_port(&self) -> Option<(&str, u16)> {
        match &self.transport {
            Transport::Tcp { host, port } | Transport::Ssl { host, port } => Some((host, *port)),
            Transport::Unix { .. } => None,
        }
    }

    /// The `http://` or `https://` base URL for this endpoint (TCP endpoints only).
    pub fn base_url(&self) -> Option<String> {
        let (scheme, host, port) = match &self.transport {
            Transport::Tcp { host, port } => ("http", host, port),
            Transport::Ssl { host, port } => ("https", host, port),
            Transport::Unix { .. } => return None,
        };
        let (host, port) = resolve_alias(host, *port);
        Some(format!("{scheme}://{}:{port}", bracket(&host)))
    }
}

/// Host aliases of this process: `host:port` → the address really dialled. The demo maps the
/// documentation's `leader.domain.org:8529` and `follower.domain.org:8530` to its two local servers, for the
/// shell and the follower's applier alike.
type HostPort = (String, u16);
static ALIASES: std::sync::RwLock<Vec<(HostPort, HostPort)>> = std::sync::RwLock::new(Vec::new());

/// Makes every connection to `from` (host, port) go to `to` instead.
pub fn add_host_alias(from: (&str, u16), to: (&str, u16)) {
    let mut a = ALIASES.write().unwrap_or_else(|p| p.into_inner());
    a.retain(|(f, _)| !(f.0.eq_ignore_ascii_case(from.0) && f.1 == from.1));
    a.push(((from.0.to_string(), from.1), (to.0.to_string(), to.1)));
}

fn resolve_alias(host: &str, port: u16) -> (String, u16) {
    let a = ALIASES.read().unwrap_or_else(|p| p.into_inner());
    a.iter()
        .find(|(f, _)| f.0.eq_ignore_ascii_case(host) && f.1 == port)
        .map(|(_, t)| t.clone())
        .unwrap_or_else(|| (host.to_string(), port))
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.transport {
            Transport::Tcp { host, port } => write!(f, "tcp://{}:{port}", bracket(host)),
            Transport::Ssl { host, port } => write!(f, "ssl://{}:{port}", bracket(host)),
            Transport::Unix { path } => write!(f, "unix://{path}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_arangodb_accepts() {
        let e: Endpoint = "tcp://127.0.0.1:8529".parse().unwrap();
        assert_eq!(e.host_port(), Some(("127.0.0.1", 8529)));
        assert_eq!(e.base_url().unwrap(), "http://127.0.0.1:8529");
        let e: Endpoint = "http+tcp://leader.domain.org:8529".parse().unwrap();
        assert_eq!(e.to_string(), "tcp://leader.domain.org:8529");
        let e: Endpoint = "tcp://[::1]:0".parse().unwrap();
        assert_eq!(e.host_port(), Some(("::1", 0)));
        assert_eq!(e.to_string(), "tcp://[::1]:0");
        let e: Endpoint = "ssl://example.org:8530".parse().unwrap();
        assert_eq!(e.base_url().unwrap(), "https://example.org:8530");
        let e: Endpoint = "unix:///tmp/arangod.sock".parse().unwrap();
        assert_eq!(e.to_string(), "unix:///tmp/arangod.sock");
    }

    #[test]
    fn refuses_bad_endpoints_with_a_reason() {
        for bad in [
            "127.0.0.1:8529",
            "ftp://x:1",
            "tcp://:8529",
            "tcp://h:99999",
            "tcp://[::1",
        ] {
            let e = bad.parse::<Endpoint>().unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
