//! `arangorepl demo`: a leader and a follower server in this process, the documentation's host names
//! mapped to them, the documentation's user on the leader, a small example collection, and the shell
//! connected to the follower — so the documented snippets can be pasted as they are.

use crate::client::{ConnectOptions, Connection, Credentials};
use crate::endpoint::{Endpoint, Transport, add_host_alias};
use crate::error::{ArangoError, ArangoResult};
use crate::server::{self, ServeConfig, ServerHandle};
use crate::shell::{self, Extras, ShellArgs};
use crate::store::StoreConfig;
use bytes::Bytes;
use reqwest::Method;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The documentation's names: the leader, the follower, and the user the snippets log in with.
pub const LEADER_HOST: (&str, u16) = ("leader.domain.org", 8529);
pub const FOLLOWER_HOST: (&str, u16) = ("follower.domain.org", 8530);
/// The leader of the server-level page's snippets (`tcp://127.0.0.1:8529`, root without a password):
/// in the demo, the demo's leader too.
pub const PAGE_LEADER: (&str, u16) = ("127.0.0.1", 8529);
/// With `--follower proxy`: the server behind the proxy, where the data lands.
pub const UPSTREAM_HOST: (&str, u16) = ("upstream.domain.org", 8531);
pub const DEMO_USER: &str = "myuser";
pub const DEMO_PASSWORD: &str = "mypasswd";

/// Where the two servers keep their data.
enum Dirs {
    Temporary(PathBuf),
    Given(PathBuf),
}

impl Dirs {
    fn root(&self) -> &Path {
        match self {
            Dirs::Temporary(p) | Dirs::Given(p) => p,
        }
    }
}

impl Drop for Dirs {
    fn drop(&mut self) {
        if let Dirs::Temporary(p) = self {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

fn temp_root() -> ArangoResult<PathBuf> {
    let base = std::env::temp_dir();
    for i in 0..1000u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let p = base.join(format!(
            "arangorepl-demo-{}-{:x}{i}",
            std::process::id(),
            nanos
        ));
        if std::fs::create_dir(&p).is_ok() {
            return Ok(p);
        }
    }
    Err(ArangoError::internal(
        "cannot create a temporary directory for the demo",
    ))
}

fn start(dir: PathBuf, compat_version: Option<&str>) -> ArangoResult<ServerHandle> {
    server::spawn(ServeConfig {
        endpoint: "tcp://127.0.0.1:0".parse().expect("a valid endpoint"),
        directory: dir,
        authentication: true,
        jwt_secret: None,
        root_password: String::new(),
        offer_fingerprints: true,
        auto_start: true,
        long_poll: true,
        compat_version: compat_version.map(str::to_string),
        restore_api: true,
        export_metrics: true,
        tls: None,
        replication_ca: None,
        more_endpoints: Vec::new(),
        store: StoreConfig::default(),
    })
}

fn port_of(e: &Endpoint) -> u16 {
    match &e.transport {
        Transport::Tcp { port, .. } | Transport::Ssl { port, .. } => *port,
        Transport::Unix { .. } => 0,
    }
}

/// The documentation's user on the leader (with access to `_system`), and a small collection `test`
/// in its `_system` database. Both are left alone if they exist (a reused `--database.directory`).
fn seed_leader(leader: &Endpoint) -> ArangoResult<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ArangoError::internal(e.to_string()))?;
    let conn = Connection::new(
        leader,
        &ConnectOptions {
            credentials: Credentials::Basic {
                username: "root".into(),
                password: String::new(),
            },
            ..ConnectOptions::default()
        },
    )?;
    let send = |method: Method, path: &str, body: serde_json::Value| -> ArangoResult<u16> {
        let r = rt
            .block_on(conn.request(
                method,
                path,
                Some(Bytes::from(body.to_string())),
                &[],
                Some(Duration::from_secs(30)),
            ))
            .map_err(|e| e.to_arango())?;
        if r.status >= 400 && r.status != 409 {
            return Err(r.arango_error().unwrap_or_else(|| {
                ArangoError::internal(format!("the leader answered {}", r.status))
            }));
        }
        Ok(r.status)
    };
    send(
        Method::POST,
        "/_db/_system/_api/user",
        serde_json::json!({"user": DEMO_USER, "passwd": DEMO_PASSWORD, "active": true}),
    )?;
    send(
        Method::PUT,
        &format!("/_db/_system/_api/user/{DEMO_USER}/database/_system"),
        serde_json::json!({"grant": "rw"}),
    )?;
    // every database, also those created later: the server-level page replicates them all as this user
    send(
        Method::PUT,
        &format!("/_db/_system/_api/user/{DEMO_USER}/database/*"),
        serde_json::json!({"grant": "rw"}),
    )?;
    let created = send(
        Method::POST,
        "/_db/_system/_api/collection",
        serde_json::json!({"name": "test"}),
    )?;
    if created != 409 {
        let docs: Vec<serde_json::Value> = [
            ("leader", "the server all writes go to"),
            ("follower", "applies the leader's changes"),
            ("applier", "copies, then tails the leader's log"),
        ]
        .iter()
        .map(|(k, v)| serde_json::json!({"_key": k, "what": v}))
        .collect();
        send(
            Method::POST,
            "/_db/_system/_api/document/test?waitForSync=true",
            serde_json::Value::Array(docs),
        )?;
    }
    Ok(())
}

/// What answers as the documentation's follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FollowerKind {
    /// An `arangorepl serve` with its own applier.
    #[default]
    Serve,
    /// An `arangorepl proxy` in front of a server that answers as ArangoDB 3.12.10 (no applier of its
    /// own): the proxy runs the applier, the data lands in the server behind it.
    Proxy,
}

/// The follower: a server, or a proxy in front of a 3.12.10-like server (returned too, to keep it up).
fn start_follower(
    root: &Path,
    kind: FollowerKind,
) -> ArangoResult<(ServerHandle, Option<ServerHandle>)> {
    match kind {
        FollowerKind::Serve => Ok((start(root.join("follower"), None)?, None)),
        FollowerKind::Proxy => {
            let upstream = start(root.join("upstream"), Some("3.12.10"))?;
            add_host_alias(UPSTREAM_HOST, ("127.0.0.1", port_of(&upstream.endpoint)));
            let proxy = crate::proxy::spawn(crate::proxy::ProxyConfig {
                endpoint: "tcp://127.0.0.1:0".parse().expect("a valid endpoint"),
                upstream: Endpoint {
                    transport: Transport::Tcp {
                        host: "127.0.0.1".into(),
                        port: port_of(&upstream.endpoint),
                    },
                },
                credentials: Credentials::Basic {
                    username: "root".into(),
                    password: String::new(),
                },
                directory: root.join("proxy"),
                auto_start: true,
                export_metrics: true,
                tls: None,
                replication_ca: None,
                upstream_ca: None,
            })?;
            Ok((proxy, Some(upstream)))
        }
    }
}

/// Runs the demo: servers up, names mapped, leader seeded, then the shell (REPL or script).
pub fn run(mut args: ShellArgs, directory: Option<PathBuf>, kind: FollowerKind) -> ExitCode {
    let dirs = match directory {
        Some(d) => Dirs::Given(d),
        None => match temp_root() {
            Ok(p) => Dirs::Temporary(p),
            Err(e) => {
                eprintln!("arangorepl demo: {}", e.message);
                return ExitCode::FAILURE;
            }
        },
    };
    // The leader's name is mapped before the follower starts: a kept follower resumes its applier
    // (autoStart) at once, and its first connect must reach the leader, not the real host name.
    let servers = start(dirs.root().join("leader"), None).and_then(|l| {
        add_host_alias(LEADER_HOST, ("127.0.0.1", port_of(&l.endpoint)));
        // the server-level page's leader is ArangoDB's default address
        add_host_alias(PAGE_LEADER, ("127.0.0.1", port_of(&l.endpoint)));
        let (f, upstream) = start_follower(dirs.root(), kind)?;
        add_host_alias(FOLLOWER_HOST, ("127.0.0.1", port_of(&f.endpoint)));
        Ok((l, (f, upstream)))
    });
    let (leader, (follower, upstream)) = match servers {
        Ok(s) => s,
        Err(e) => {
            eprintln!("arangorepl demo: cannot start the servers: {}", e.message);
            return ExitCode::FAILURE;
        }
    };
    let (lport, fport) = (port_of(&leader.endpoint), port_of(&follower.endpoint));
    if let Err(e) = seed_leader(&leader.endpoint) {
        eprintln!("arangorepl demo: cannot prepare the leader: {}", e.message);
        return ExitCode::FAILURE;
    }
    let data = match &dirs {
        Dirs::Temporary(_) => "temporary data".to_string(),
        Dirs::Given(p) => format!("data in {}", p.display()),
    };
    let extras = Extras {
        intro: vec![
            format!(
                "leader   tcp://{}:{} is 127.0.0.1:{lport} (user '{DEMO_USER}' with the documentation's password; collection 'test' in _system; {data}); so is tcp://{}:{} in this demo",
                LEADER_HOST.0, LEADER_HOST.1, PAGE_LEADER.0, PAGE_LEADER.1
            ),
            match &upstream {
                None => format!(
                    "follower tcp://{}:{} is 127.0.0.1:{fport} (this shell is connected to it as root)",
                    FOLLOWER_HOST.0, FOLLOWER_HOST.1
                ),
                Some(u) => format!(
                    "follower tcp://{}:{} is an arangorepl proxy at 127.0.0.1:{fport} (this shell is connected to it as root) in front of tcp://{}:{}, a server answering as ArangoDB 3.12.10 (no applier of its own) at 127.0.0.1:{}, where the data lands",
                    FOLLOWER_HOST.0,
                    FOLLOWER_HOST.1,
                    UPSTREAM_HOST.0,
                    UPSTREAM_HOST.1,
                    port_of(&u.endpoint)
                ),
            },
        ],
    };
    let quiet_intro =
        !args.execute.is_empty() || !args.execute_string.is_empty() || args.quiet.unwrap_or(false);
    if args.endpoint.is_none() {
        args.endpoint = Some(format!("tcp://{}:{}", FOLLOWER_HOST.0, FOLLOWER_HOST.1));
        if args.username.is_none() && args.password.is_none() {
            args.password = Some(String::new());
        }
    }
    let code = shell::run(
        args,
        if quiet_intro {
            Extras::default()
        } else {
            extras
        },
    );
    // the follower first: its applier stops before the leader goes away
    let _ = follower.stop();
    if let Some(u) = upstream {
        let _ = u.stop();
    }
    let _ = leader.stop();
    drop(dirs);
    code
}
