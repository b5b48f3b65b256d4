//! The `arangorepl` binary: parses the command line and hands over to the layer that does the work.

use arangorepl::demo;
use arangorepl::endpoint::Endpoint;
use arangorepl::server::{self, ServeConfig};
use arangorepl::shell::{self, ShellArgs, parse_bool};
use arangorepl::store::StoreConfig;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// arangorepl — ArangoDB-style Leader/Follower replication, driven from a friendly shell.
///
/// Without a subcommand it is an arangosh-compatible shell connected to --server.endpoint.
#[derive(Parser, Debug)]
#[command(
    name = "arangorepl",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true,
    args_override_self = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    shell: ShellArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run an ArangoDB-compatible server over a durable embedded store.
    Serve(ServeArgs),
    /// In front of an ArangoDB 3.12.10+ (or any ArangoDB): answers the replication applier API it no
    /// longer has, running appliers that write into it, and forwards every other request unchanged.
    Proxy(ProxyArgs),
    /// A leader and a follower in this process, the documentation's host names mapped to them, and the
    /// shell connected to the follower.
    Demo(DemoArgs),
}

#[derive(Args, Debug)]
#[command(args_override_self = true)]
struct DemoArgs {
    /// Keep the servers' data here (leader/ and follower/) instead of temporary directories.
    #[arg(long = "database.directory", value_name = "DIR")]
    directory: Option<PathBuf>,
    /// What answers as the follower: `serve` (an arangorepl server with its own applier) or `proxy`
    /// (an arangorepl proxy in front of a server answering as ArangoDB 3.12.10, which has none).
    #[arg(long = "follower", default_value = "serve", value_parser = ["serve", "proxy"], value_name = "KIND")]
    follower: String,
    #[command(flatten)]
    shell: ShellArgs,
}

#[derive(Args, Debug)]
#[command(args_override_self = true)]
struct ProxyArgs {
    /// Endpoint to listen on (tcp://host:port; port 0 picks a free port, printed at start).
    #[arg(
        long = "server.endpoint",
        default_value = "tcp://127.0.0.1:8530",
        value_name = "ENDPOINT"
    )]
    endpoint: String,
    /// The ArangoDB server to stand in front of (tcp://, ssl://).
    #[arg(
        long = "upstream.endpoint",
        default_value = "tcp://127.0.0.1:8529",
        value_name = "ENDPOINT"
    )]
    upstream: String,
    /// User the appliers write into the upstream as (needs administrator rights on the databases
    /// replicated into).
    #[arg(
        long = "upstream.username",
        default_value = "root",
        value_name = "USER"
    )]
    username: String,
    /// Its password. Prefer the environment variable ARANGOREPL_UPSTREAM_PASSWORD, which does not show
    /// in process lists.
    #[arg(long = "upstream.password", value_name = "PASSWORD")]
    password: Option<String>,
    /// The upstream's JWT secret: the appliers then use a superuser token instead of a user.
    #[arg(long = "upstream.jwt-secret", value_name = "SECRET")]
    jwt_secret: Option<String>,
    /// File holding the upstream's JWT secret.
    #[arg(long = "upstream.jwt-secret-keyfile", value_name = "FILE")]
    jwt_secret_keyfile: Option<PathBuf>,
    /// Where the appliers' configurations are kept (files of mode 0600).
    #[arg(
        long = "database.directory",
        default_value = "arangorepl-proxy",
        value_name = "DIR"
    )]
    directory: PathBuf,
    /// Start, at boot, every applier whose configuration has autoStart.
    #[arg(long = "replication.auto-start", default_value = "true", value_parser = parse_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    auto_start: bool,
    /// Answer GET /_admin/metrics/v2 with the upstream's metrics and the proxy's own (Prometheus text)
    #[arg(long = "server.export-metrics-api", default_value = "true", value_parser = parse_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    export_metrics: bool,
    /// PEM file of a private CA to trust for an ssl:// upstream (besides the system's roots).
    #[arg(long = "upstream.ssl-cafile", value_name = "FILE")]
    upstream_cafile: Option<PathBuf>,
    #[command(flatten)]
    tls: TlsArgs,
    #[command(flatten)]
    log: LogArgs,
}

fn proxy(a: ProxyArgs) -> ExitCode {
    if let Err(e) = a.log.start() {
        eprintln!("arangorepl proxy: {e}");
        return ExitCode::from(2);
    }
    let parse = |what: &str, s: &str| -> Result<Endpoint, ExitCode> {
        s.parse().map_err(|e| {
            eprintln!("arangorepl proxy: invalid {what}: {e}");
            ExitCode::from(2)
        })
    };
    let (endpoint, upstream) = match (
        parse("--server.endpoint", &a.endpoint),
        parse("--upstream.endpoint", &a.upstream),
    ) {
        (Ok(e), Ok(u)) => (e, u),
        (Err(c), _) | (_, Err(c)) => return c,
    };
    let secret = match (&a.jwt_secret_keyfile, a.jwt_secret) {
        (Some(f), _) => match std::fs::read_to_string(f) {
            Ok(s) => Some(s.trim().to_string()),
            Err(e) => {
                eprintln!(
                    "arangorepl proxy: cannot read the JWT secret keyfile '{}': {e}",
                    f.display()
                );
                return ExitCode::from(2);
            }
        },
        (None, s) => s,
    };
    let credentials = match secret {
        Some(s) => arangorepl::client::Credentials::Jwt(arangorepl::client::superuser_jwt(
            s.as_bytes(),
            "arangorepl-proxy",
        )),
        None => arangorepl::client::Credentials::Basic {
            username: a.username,
            password: a
                .password
                .or_else(|| std::env::var("ARANGOREPL_UPSTREAM_PASSWORD").ok())
                .unwrap_or_default(),
        },
    };
    let config = arangorepl::proxy::ProxyConfig {
        endpoint,
        upstream,
        credentials,
        directory: a.directory,
        auto_start: a.auto_start,
        export_metrics: a.export_metrics,
        tls: a.tls.options(),
        replication_ca: a.tls.replication_cafile.clone(),
        upstream_ca: a.upstream_cafile.clone(),
    };
    match arangorepl::proxy::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arangorepl proxy: {}", e.message);
            ExitCode::FAILURE
        }
    }
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Endpoint to listen on: tcp://host:port, http+tcp://host:port, tcp://[::1]:port or ssl://host:port
    /// (with --ssl.keyfile); port 0 picks a free port. Repeatable: the server listens on each. The bound
    /// endpoint is printed on one line at start (further ones on lines of their own).
    #[arg(
        long = "server.endpoint",
        default_value = "tcp://127.0.0.1:8529",
        value_name = "ENDPOINT"
    )]
    endpoint: Vec<String>,
    /// Directory of the store (created if missing).
    #[arg(
        long = "database.directory",
        default_value = "arangorepl-data",
        value_name = "DIR"
    )]
    directory: PathBuf,
    /// Require authentication (HTTP Basic or JWT).
    #[arg(long = "server.authentication", default_value = "true", value_parser = parse_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    authentication: bool,
    /// Secret for signing JWTs (HS256); a random one per start if not given. A token signed with it and
    /// without a user name has full rights.
    #[arg(long = "server.jwt-secret", value_name = "SECRET")]
    jwt_secret: Option<String>,
    /// File holding the JWT secret (keeps it out of process lists).
    #[arg(long = "server.jwt-secret-keyfile", value_name = "FILE")]
    jwt_secret_keyfile: Option<PathBuf>,
    /// Password of the root user, set when the store is created. Prefer the environment variable
    /// ARANGODB_DEFAULT_ROOT_PASSWORD (or ARANGO_ROOT_PASSWORD), which does not show in process lists.
    #[arg(long = "server.root-password", value_name = "PASSWORD")]
    root_password: Option<String>,
    #[command(flatten)]
    log: LogArgs,
    /// Replication log markers older than this many seconds may be pruned.
    #[arg(
        long = "replication.log-max-age",
        default_value_t = 86_400,
        value_name = "SECONDS"
    )]
    log_max_age: u64,
    /// The replication log is pruned from its start while larger than this many bytes.
    #[arg(long = "replication.log-max-size", default_value_t = 1 << 30, value_name = "BYTES")]
    log_max_size: u64,
    /// Offer followers the fingerprint of a collection with `POST /_api/replication/keys`, so an
    /// unchanged collection needs no key comparison (false: answer exactly as ArangoDB).
    #[arg(long = "replication.fingerprints", default_value = "true", value_parser = parse_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    fingerprints: bool,
    /// Start, at boot, every database's replication applier whose configuration has autoStart.
    #[arg(long = "replication.auto-start", default_value = "true", value_parser = parse_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    auto_start: bool,
    /// Let followers wait on `wal/tail` for the next commit (`longPollTimeout`); false answers at once,
    /// exactly as ArangoDB does, and followers poll.
    #[arg(long = "replication.long-poll", default_value = "true", value_parser = parse_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    long_poll: bool,
    /// Writes without waitForSync become durable within this many milliseconds.
    #[arg(long = "store.sync-interval", default_value_t = 100, value_name = "MS")]
    sync_interval: u64,
    /// Make every write durable before acknowledging it, as if all asked for waitForSync.
    #[arg(long = "store.sync-every-write", default_value = "false", value_parser = parse_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    sync_every_write: bool,
    /// Answer as this ArangoDB version (`/_api/version`, the replication API's `server.version`). From
    /// 3.12.10 on, the endpoints ArangoDB removed then (the replication applier, `sync`,
    /// `make-follower`, `logger-follow`, `wal/open-transactions`) answer 404 as such a server does.
    #[arg(long = "compat.arangodb-version", value_name = "VERSION")]
    compat_version: Option<String>,
    /// Answer arangorestore's endpoints (`PUT /_api/replication/restore-collection`, `restore-indexes`,
    /// `restore-data`); false answers them with 404, as a server without them, to check a client's
    /// fallback.
    #[arg(long = "compat.restore-api", default_value = "true", value_parser = parse_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    restore_api: bool,
    /// Answer GET /_admin/metrics/v2 with the server's metrics (Prometheus text format)
    #[arg(long = "server.export-metrics-api", default_value = "true", value_parser = parse_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    export_metrics: bool,
    #[command(flatten)]
    tls: TlsArgs,
    /// Size of the store's page cache in bytes.
    #[arg(long = "store.cache-size", default_value_t = 48 << 20, value_name = "BYTES")]
    cache_size: usize,
}

fn init_logging(level: &str) {
    arangorepl::logging::init(level);
}

/// The `--ssl.*` options of serve and proxy, and the CA their appliers trust.
#[derive(Args, Debug)]
struct TlsArgs {
    /// PEM file with the server's certificate (chain) and private key, for ssl:// endpoints.
    #[arg(long = "ssl.keyfile", value_name = "FILE")]
    ssl_keyfile: Option<PathBuf>,
    /// PEM file of CA certificates: clients presenting a certificate must have one signed by them.
    #[arg(long = "ssl.cafile", value_name = "FILE")]
    ssl_cafile: Option<PathBuf>,
    /// Minimum TLS protocol: 5 = TLS 1.2 and later, 6 = TLS 1.3, 9 = any TLS version offered.
    #[arg(long = "ssl.protocol", default_value_t = 5, value_name = "N")]
    ssl_protocol: u32,
    /// PEM file of a private CA the appliers trust for ssl:// leaders (besides the system's roots).
    #[arg(long = "replication.ssl-cafile", value_name = "FILE")]
    replication_cafile: Option<PathBuf>,
}

impl TlsArgs {
    /// What an `ssl://` endpoint serves with (none without a key file).
    fn options(&self) -> Option<arangorepl::tls::TlsOptions> {
        self.ssl_keyfile
            .clone()
            .map(|keyfile| arangorepl::tls::TlsOptions {
                keyfile,
                cafile: self.ssl_cafile.clone(),
                protocol: self.ssl_protocol,
            })
    }
}

/// The `--log.*` options of serve and proxy.
#[derive(Args, Debug)]
struct LogArgs {
    /// Log level: fatal, error, warning, info, debug, trace — for every topic, or TOPIC=LEVEL for one
    /// (general, replication, engines, authentication, requests); repeatable.
    #[arg(long = "log.level", value_name = "LEVEL")]
    log_level: Vec<String>,
    /// Where the log goes: - (standard output), + (standard error, the default), file://PATH or PATH.
    #[arg(long = "log.output", value_name = "OUTPUT")]
    log_output: Option<String>,
    /// Log one JSON object per line (time, pid, level, topic, message).
    #[arg(long = "log.use-json-format", default_value = "false", value_parser = parse_bool, action = clap::ArgAction::Set, value_name = "BOOL")]
    log_json: bool,
}

impl LogArgs {
    fn start(&self) -> Result<(), String> {
        arangorepl::logging::init_with(&arangorepl::logging::Options {
            levels: self.log_level.clone(),
            output: self.log_output.clone(),
            json: self.log_json,
        })
    }
}

fn serve(a: ServeArgs) -> ExitCode {
    if let Err(e) = a.log.start() {
        eprintln!("arangorepl serve: {e}");
        return ExitCode::from(2);
    }
    let mut endpoints = Vec::new();
    for e in &a.endpoint {
        match e.parse::<Endpoint>() {
            Ok(e) => endpoints.push(e),
            Err(e) => {
                eprintln!("arangorepl serve: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let endpoint = endpoints.remove(0);
    let jwt_secret = match (&a.jwt_secret_keyfile, a.jwt_secret) {
        (Some(f), _) => match std::fs::read_to_string(f) {
            Ok(s) => Some(s.trim().to_string()),
            Err(e) => {
                eprintln!(
                    "arangorepl serve: cannot read the JWT secret keyfile '{}': {e}",
                    f.display()
                );
                return ExitCode::from(2);
            }
        },
        (None, s) => s,
    };
    let root_password = a
        .root_password
        .or_else(|| std::env::var("ARANGODB_DEFAULT_ROOT_PASSWORD").ok())
        .or_else(|| std::env::var("ARANGO_ROOT_PASSWORD").ok())
        .unwrap_or_default();
    if let Some(v) = &a.compat_version
        && let Err(e) = server::check_compat_version(v)
    {
        eprintln!("arangorepl serve: {}", e.message);
        return ExitCode::from(2);
    }
    let config = ServeConfig {
        endpoint,
        directory: a.directory,
        authentication: a.authentication,
        jwt_secret,
        root_password,
        offer_fingerprints: a.fingerprints,
        auto_start: a.auto_start,
        long_poll: a.long_poll,
        compat_version: a.compat_version,
        restore_api: a.restore_api,
        export_metrics: a.export_metrics,
        tls: a.tls.options(),
        replication_ca: a.tls.replication_cafile.clone(),
        more_endpoints: endpoints,
        store: StoreConfig {
            sync_every_commit: a.sync_every_write,
            sync_interval: Duration::from_millis(a.sync_interval.max(1)),
            log_max_age: Duration::from_secs(a.log_max_age),
            log_max_bytes: a.log_max_size,
            cache_bytes: a.cache_size,
            ..StoreConfig::default()
        },
    };
    match server::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arangorepl serve: {}", e.message);
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(a)) => serve(a),
        Some(Command::Proxy(a)) => proxy(a),
        Some(Command::Demo(a)) => {
            let level = a.shell.log_level.last().cloned();
            init_logging(level.as_deref().unwrap_or("warning"));
            let kind = if a.follower == "proxy" {
                demo::FollowerKind::Proxy
            } else {
                demo::FollowerKind::Serve
            };
            demo::run(a.shell, a.directory, kind)
        }
        None => shell::run(cli.shell, shell::Extras::default()),
    }
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    // mimalloc's option calls (the C library comes with the `mimalloc` crate)
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` and `mi_option_allow_thp` in mimalloc 3's `mi_option_t`.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
const MI_OPTION_ALLOW_THP: std::ffi::c_int = 43;

/// No transparent huge pages, and freed memory goes back to the system after 100 ms instead of 1 s.
/// - 1 s held about 60 % more memory in a busy server; a catching-up follower (500,000-marker backlog)
///   peaked at 203 MiB.
/// - 1 ms brought that peak to 117 MiB, but a large write (10,000 `INSERT`s in one AQL query) then met
///   5,600 page faults for memory the previous one had just given back: 105 ms of CPU per query.
/// - 100 ms: 2,600 faults and 88 ms per query; the follower peaks at 127–131 MiB and applies with 8 % less
///   CPU.
///
/// A value set through `MIMALLOC_PURGE_DELAY` / `MIMALLOC_ALLOW_THP` is left alone (the option then is
/// not at its default).
fn tune_allocator() {
    // SAFETY: reads and sets plain integer options of the allocator, valid at any time; an option whose
    // value is not mimalloc 3's default is not touched, so a different option table changes nothing.
    unsafe {
        if mi_option_get(MI_OPTION_PURGE_DELAY) == 1000 {
            mi_option_set(MI_OPTION_PURGE_DELAY, 100);
        }
        if mi_option_get(MI_OPTION_ALLOW_THP) == 1 {
            mi_option_set(MI_OPTION_ALLOW_THP, 0);
            #[cfg(target_os = "linux")]
            {
                unsafe extern "C" {
                    fn prctl(option: std::ffi::c_int, ...) -> std::ffi::c_int;
                }
                const PR_SET_THP_DISABLE: std::ffi::c_int = 41;
                prctl(
                    PR_SET_THP_DISABLE,
                    1 as std::ffi::c_ulong,
                    0 as std::ffi::c_ulong,
                    0 as std::ffi::c_ulong,
                    0 as std::ffi::c_ulong,
                );
            }
        }
    }
}
