//! The native side of the shell's JavaScript world: the `SYS` object the prelude builds on — HTTP through
//! the project's one client, output, time, files, logging — and the connection state behind `arango`.

use crate::client::{ConnectOptions, Connection, Credentials};
use crate::endpoint::Endpoint;
use crate::error::ALL;
use boa_engine::object::ObjectInitializer;
use boa_engine::property::Attribute;
use boa_engine::{
    Context, JsError, JsNativeError, JsObject, JsResult, JsString, JsValue, NativeFunction, Source,
    js_string,
};
use bytes::Bytes;
use reqwest::Method;
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Log levels, most severe first (`--log.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Fatal,
    Error,
    Warning,
    Info,
    Debug,
    Trace,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "fatal" => Level::Fatal,
            "error" | "err" => Level::Error,
            "warning" | "warn" => Level::Warning,
            "info" => Level::Info,
            "debug" => Level::Debug,
            "trace" => Level::Trace,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Level::Fatal => "FATAL",
            Level::Error => "ERROR",
            Level::Warning => "WARNING",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

/// How the shell connects: the `--server.*` options.
#[derive(Clone)]
pub struct ConnectSpec {
    /// As configured (`arango.getEndpoint()`); `none` for no connection.
    pub endpoint: String,
    pub database: String,
    pub username: String,
    pub password: String,
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// `--ssl.verify` (default true): check an `ssl://` server's certificate.
    pub verify_tls: bool,
    /// `--ssl.cafile`: a private CA to trust besides the system's roots.
    pub ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for ConnectSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectSpec")
            .field("endpoint", &self.endpoint)
            .field("database", &self.database)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The connection behind `arango` and `db`.
pub struct Conn {
    pub spec: ConnectSpec,
    connection: Option<Connection>,
    pub connected: bool,
    pub version: String,
    pub role: String,
    pub mode: String,
    /// Why the last connect failed (for the banner's "Error message" line).
    pub error: Option<String>,
    last_error_message: String,
    last_code: u16,
}

impl Conn {
    /// The endpoint in the normalized form arangosh shows (`http+tcp://…`).
    pub fn normalized(&self) -> String {
        match self.spec.endpoint.parse::<Endpoint>() {
            Ok(e) => {
                let s = e.to_string();
                if let Some(rest) = s.strip_prefix("tcp://") {
                    format!("http+tcp://{rest}")
                } else if let Some(rest) = s.strip_prefix("ssl://") {
                    format!("http+ssl://{rest}")
                } else {
                    s
                }
            }
            Err(_) => self.spec.endpoint.clone(),
        }
    }

    /// arangosh's "Connected to" line (its opening quote is never closed, as in arangosh).
    pub fn connected_message(&self) -> String {
        format!(
            "Connected to ArangoDB '{}, version: {} [{}, {}], database: '{}', username: '{}'",
            self.normalized(),
            self.version,
            self.role,
            self.mode,
            self.spec.database,
            self.spec.username
        )
    }

    /// Connects as arangosh does: `GET /_api/version?details=true` in the database.
    pub fn open(spec: ConnectSpec, rt: &tokio::runtime::Runtime) -> Conn {
        let mut c = Conn {
            spec,
            connection: None,
            connected: false,
            version: String::new(),
            role: String::new(),
            mode: String::new(),
            error: None,
            last_error_message: String::new(),
            last_code: 0,
        };
        if c.spec.endpoint == "none" {
            return c;
        }
        let endpoint: Endpoint = match c.spec.endpoint.parse() {
            Ok(e) => e,
            Err(e) => {
                c.error = Some(format!("{e}"));
                return c;
            }
        };
        let opts = ConnectOptions {
            credentials: Credentials::Basic {
                username: c.spec.username.clone(),
                password: c.spec.password.clone(),
            },
            connect_timeout: c.spec.connect_timeout,
            request_timeout: c.spec.request_timeout,
            verify_tls: c.spec.verify_tls,
            ca_file: c.spec.ca_file.clone(),
        };
        let conn = match Connection::new(&endpoint, &opts) {
            Ok(x) => x,
            Err(e) => {
                c.error = Some(e.message);
                return c;
            }
        };
        let path = Connection::db_path(&c.spec.database, "/_api/version?details=true");
        let probe =
            rt.block_on(conn.request(Method::GET, &path, None, &[], Some(Duration::from_secs(30))));
        match probe {
            Err(e) => c.error = Some(e.to_string()),
            Ok(r) if r.status >= 400 => {
                c.error = Some(match r.arango_error() {
                    Some(e) => e.message,
                    None => status_line(r.status),
                })
            }
            Ok(r) => match r.json() {
                Ok(v) if v.is_object() => {
                    c.version = v["version"].as_str().unwrap_or("").to_string();
                    let details = &v["details"];
                    c.role = details["role"].as_str().unwrap_or("SINGLE").to_string();
                    c.mode = details["mode"].as_str().unwrap_or("server").to_string();
                    c.connected = true;
                }
                _ => c.error = Some("the server's version answer is not a JSON object".into()),
            },
        }
        c.connection = Some(conn);
        c
    }
}

fn status_line(code: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("{code} {reason}")
}

/// What the shell was started with, readable from JavaScript (`internal.options()`, `ARGUMENTS`).
pub struct HostConfig {
    pub arguments: Vec<String>,
    pub options: serde_json::Map<String, serde_json::Value>,
    pub log_level: Level,
    pub colors: bool,
    pub stdout_tty: bool,
}

/// Asks for a password without echo.
pub type AskPassword = Box<dyn Fn(&str) -> Option<String>>;

/// Host state, shared by the native functions through the context's host data.
pub struct Host {
    pub rt: tokio::runtime::Runtime,
    pub conn: RefCell<Conn>,
    pub config: HostConfig,
    /// Set by `internal.exit(n)` / `process.exit(n)`.
    pub exit_code: Cell<Option<i32>>,
    /// Asks for a password without echo (reconnect with fewer than four arguments).
    pub ask_password: AskPassword,
}

impl Host {
    pub fn get(ctx: &Context) -> Rc<Host> {
        ctx.get_data::<Rc<Host>>()
            .cloned()
            .expect("the shell's host data is installed")
    }
}

fn arg(args: &[JsValue], i: usize) -> JsValue {
    args.get(i).cloned().unwrap_or(JsValue::undefined())
}

fn string_arg(args: &[JsValue], i: usize, ctx: &mut Context) -> JsResult<String> {
    Ok(arg(args, i).to_string(ctx)?.to_std_string_escaped())
}

pub(super) fn opt_string_arg(
    args: &[JsValue],
    i: usize,
    ctx: &mut Context,
) -> JsResult<Option<String>> {
    let v = arg(args, i);
    if v.is_undefined() || v.is_null() {
        Ok(None)
    } else {
        Ok(Some(v.to_string(ctx)?.to_std_string_escaped()))
    }
}

fn js_str(s: &str) -> JsValue {
    JsValue::from(JsString::from(s))
}

fn type_error(msg: impl Into<String>) -> JsError {
    JsNativeError::typ().with_message(msg.into()).into()
}

fn set(obj: &JsObject, key: &str, v: JsValue, ctx: &mut Context) -> JsResult<()> {
    obj.set(JsString::from(key), v, false, ctx)?;
    Ok(())
}

fn plain_object(ctx: &mut Context) -> JsObject {
    JsObject::with_object_proto(ctx.intrinsics())
}

/// `SYS.request(method, url, body|null, headers, raw)` → `{code, headers, parsed?, hasParsed, body?}` or
/// `{transport: message, errorNum}` when no answer came.
fn request(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = Host::get(ctx);
    let method = string_arg(args, 0, ctx)?;
    let url = string_arg(args, 1, ctx)?;
    let body = opt_string_arg(args, 2, ctx)?;
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(h) = arg(args, 3).as_object() {
        for key in h.own_property_keys(ctx)? {
            let k = match &key {
                boa_engine::property::PropertyKey::String(s) => s.to_std_string_escaped(),
                _ => continue,
            };
            let v = h.get(key, ctx)?.to_string(ctx)?.to_std_string_escaped();
            headers.push((k, v));
        }
    }
    let raw = arg(args, 4).to_boolean();
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| type_error(format!("invalid HTTP method '{method}'")))?;
    let out = plain_object(ctx);
    let (connection, path, timeout) = {
        let conn = host.conn.borrow();
        let Some(c) = conn.connection.clone().filter(|_| conn.connected) else {
            set(&out, "transport", js_str("not connected"), ctx)?;
            set(&out, "errorNum", JsValue::from(2001), ctx)?;
            set(&out, "notConnected", JsValue::from(true), ctx)?;
            return Ok(out.into());
        };
        let path = if url.starts_with("/_db/") {
            url.clone()
        } else if url.starts_with('/') {
            Connection::db_path(&conn.spec.database, &url)
        } else {
            Connection::db_path(&conn.spec.database, &format!("/{url}"))
        };
        (c, path, conn.spec.request_timeout)
    };
    let hs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    check_interrupt()?;
    let result = host.rt.block_on(async {
        tokio::select! {
            r = connection.request(method, &path, body.map(Bytes::from), &hs, Some(timeout)) => Some(r),
            _ = until_interrupted() => None,
        }
    });
    let Some(result) = result else {
        return Err(interrupted());
    };
    let resp = match result {
        Ok(r) => r,
        Err(e) => {
            let num = match &e {
                crate::client::TransportError::Connect { .. } => 2001,
                crate::client::TransportError::Timeout { .. } => 408,
                crate::client::TransportError::Other { .. } => 2003,
            };
            let msg = e.to_string();
            {
                let mut conn = host.conn.borrow_mut();
                conn.last_error_message = msg.clone();
                conn.last_code = 500;
            }
            set(&out, "transport", js_str(&msg), ctx)?;
            set(&out, "errorNum", JsValue::from(num), ctx)?;
            return Ok(out.into());
        }
    };
    {
        let mut conn = host.conn.borrow_mut();
        conn.last_code = resp.status;
        conn.last_error_message = if resp.status >= 400 {
            status_line(resp.status)
        } else {
            String::new()
        };
    }
    set(&out, "code", JsValue::from(resp.status), ctx)?;
    let hobj = plain_object(ctx);
    for (k, v) in resp.headers.iter() {
        if let Ok(v) = v.to_str() {
            set(&hobj, k.as_str(), js_str(v), ctx)?;
        }
    }
    set(&out, "headers", hobj.into(), ctx)?;
    let ctype = resp
        .header("content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut parsed = false;
    if !resp.body.is_empty()
        && (ctype.contains("json") || ctype.is_empty())
        && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&resp.body)
    {
        let jv = JsValue::from_json(&v, ctx)?;
        set(&out, "parsed", jv, ctx)?;
        parsed = true;
    }
    set(&out, "hasParsed", JsValue::from(parsed), ctx)?;
    if raw || !parsed {
        let text = String::from_utf8_lossy(&resp.body);
        set(&out, "body", js_str(&text), ctx)?;
    }
    Ok(out.into())
}

fn output(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let s = string_arg(args, 0, ctx)?;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    if s.ends_with('\n') {
        let _ = out.flush();
    }
    Ok(JsValue::undefined())
}

fn sleep(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let secs = arg(args, 0).to_number(ctx)?;
    let _ = std::io::stdout().flush();
    check_interrupt()?;
    if secs.is_finite() && secs > 0.0 {
        let end = std::time::Instant::now() + Duration::from_secs_f64(secs.min(86_400.0));
        loop {
            let now = std::time::Instant::now();
            if now >= end {
                break;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(20)));
            check_interrupt()?;
        }
    }
    Ok(JsValue::undefined())
}

fn time(_: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    Ok(JsValue::from(t))
}

/// Writes one log line to standard error, as arangosh's logger does, if `--log.level` lets it through.
pub fn log_line(max: Level, level: Level, topic: &str, msg: &str) {
    if level > max {
        return;
    }
    let topic = if topic.is_empty() || topic == "general" {
        String::new()
    } else {
        format!("{{{topic}}} ")
    };
    let _ = std::io::stdout().flush();
    let mut err = std::io::stderr().lock();
    for line in msg.split('\n') {
        let _ = writeln!(
            err,
            "{} [{}] {} {topic}{line}",
            crate::time::now_utc(),
            std::process::id(),
            level.name()
        );
    }
}

fn log(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = Host::get(ctx);
    let level_s = string_arg(args, 0, ctx)?;
    let topic = string_arg(args, 1, ctx)?;
    let msg = string_arg(args, 2, ctx)?;
    match Level::parse(&level_s) {
        Some(l) => log_line(host.config.log_level, l, &topic, &msg),
        None => log_line(
            host.config.log_level,
            Level::Warning,
            &topic,
            &format!("{level_s}! {msg}"),
        ),
    }
    Ok(JsValue::undefined())
}

fn errors(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let out = plain_object(ctx);
    let add = |name: &str, num: i64, msg: &str, ctx: &mut Context| -> JsResult<()> {
        let e = plain_object(ctx);
        set(&e, "code", JsValue::from(num as f64), ctx)?;
        set(&e, "message", js_str(msg), ctx)?;
        set(&out, name, e.into(), ctx)
    };
    for (name, num, msg) in ALL {
        add(name, *num, msg, ctx)?;
    }
    add(
        "ERROR_ARANGO_COLLECTION_NOT_FOUND",
        1203,
        "collection or view not found",
        ctx,
    )?;
    Ok(out.into())
}

fn info(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = Host::get(ctx);
    let c = host.conn.borrow();
    let o = plain_object(ctx);
    set(&o, "endpoint", js_str(&c.spec.endpoint), ctx)?;
    set(&o, "normalized", js_str(&c.normalized()), ctx)?;
    set(&o, "database", js_str(&c.spec.database), ctx)?;
    set(&o, "username", js_str(&c.spec.username), ctx)?;
    set(&o, "connected", JsValue::from(c.connected), ctx)?;
    set(&o, "version", js_str(&c.version), ctx)?;
    set(&o, "role", js_str(&c.role), ctx)?;
    set(&o, "mode", js_str(&c.mode), ctx)?;
    set(&o, "lastErrorMessage", js_str(&c.last_error_message), ctx)?;
    set(&o, "lastHttpReturnCode", JsValue::from(c.last_code), ctx)?;
    Ok(o.into())
}

fn set_database(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = Host::get(ctx);
    let name = string_arg(args, 0, ctx)?;
    host.conn.borrow_mut().spec.database = name;
    Ok(JsValue::from(true))
}

fn timeout(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = Host::get(ctx);
    let v = arg(args, 0);
    if !v.is_undefined() {
        let s = v.to_number(ctx)?;
        if s.is_finite() && s > 0.0 {
            host.conn.borrow_mut().spec.request_timeout = Duration::from_secs_f64(s);
        }
    }
    let t = host.conn.borrow().spec.request_timeout.as_secs_f64();
    Ok(JsValue::from(t))
}

/// `SYS.reconnect(endpoint, database, username?, password?)`: true, or throws an error object the
/// prelude turns into `ArangoError 10`.
fn reconnect(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = Host::get(ctx);
    let endpoint = string_arg(args, 0, ctx)?;
    let database = string_arg(args, 1, ctx)?;
    let mut spec = host.conn.borrow().spec.clone();
    if let Some(u) = opt_string_arg(args, 2, ctx)? {
        spec.username = u;
    }
    match opt_string_arg(args, 3, ctx)? {
        Some(p) => spec.password = p,
        None => {
            if let Some(p) = (host.ask_password)("Please specify a password: ") {
                spec.password = p;
            }
        }
    }
    spec.endpoint = endpoint.clone();
    spec.database = database.clone();
    let c = Conn::open(spec, &host.rt);
    if c.connected {
        log_line(
            host.config.log_level,
            Level::Info,
            "",
            &c.connected_message(),
        );
        *host.conn.borrow_mut() = c;
        Ok(JsValue::from(true))
    } else {
        let msg = c.error.unwrap_or_else(|| "could not connect".into());
        log_line(
            host.config.log_level,
            Level::Error,
            "",
            &format!(
                "Could not connect to endpoint '{endpoint}', username: '{}' - Server message: {msg}",
                c.spec.username
            ),
        );
        let e = plain_object(ctx);
        set(&e, "error", JsValue::from(true), ctx)?;
        set(&e, "code", JsValue::from(400), ctx)?;
        set(&e, "errorNum", JsValue::from(10), ctx)?;
        set(&e, "errorMessage", js_str(&msg), ctx)?;
        Err(JsError::from_opaque(e.into()))
    }
}

fn read_source(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// `SYS.resolveModule(dir, name)` → `{path, dir, source}` (Node's order: as is, `.js`, `.json`,
/// `/index.js`) or null.
fn resolve_module(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let dir = PathBuf::from(string_arg(args, 0, ctx)?);
    let name = string_arg(args, 1, ctx)?;
    let base = if Path::new(&name).is_absolute() {
        PathBuf::from(&name)
    } else {
        dir.join(&name)
    };
    let candidates = [
        base.clone(),
        PathBuf::from(format!("{}.js", base.display())),
        PathBuf::from(format!("{}.json", base.display())),
        base.join("index.js"),
    ];
    for c in candidates {
        if c.is_file()
            && let Some(src) = read_source(&c)
        {
            {
                let path = c.canonicalize().unwrap_or(c);
                let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
                let o = plain_object(ctx);
                set(&o, "path", js_str(&path.to_string_lossy()), ctx)?;
                set(&o, "dir", js_str(&parent.to_string_lossy()), ctx)?;
                set(&o, "source", js_str(&src), ctx)?;
                return Ok(o.into());
            }
        }
    }
    Ok(JsValue::null())
}

/// `SYS.compileModule(source, path)` → a function `(module, exports, require, __filename, __dirname)`.
fn compile_module(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let src = string_arg(args, 0, ctx)?;
    let path = string_arg(args, 1, ctx)?;
    let wrapped =
        format!("(function (module, exports, require, __filename, __dirname) {{{src}\n}})");
    ctx.eval(Source::from_bytes(wrapped.as_bytes()).with_path(Path::new(&path)))
}

/// `internal.load(file)`: runs a file in the global scope, returns its completion value.
fn load(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let path = string_arg(args, 0, ctx)?;
    let src = std::fs::read_to_string(&path)
        .map_err(|e| type_error(format!("cannot read '{path}': {e}")))?;
    ctx.eval(Source::from_bytes(src.as_bytes()).with_path(Path::new(&path)))
}

fn exit(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = Host::get(ctx);
    let code = arg(args, 0).to_number(ctx)?;
    let code = if code.is_finite() { code as i32 } else { 0 };
    host.exit_code.set(Some(code));
    // Unwinds the script: the shell sees the exit code and leaves.
    Err(JsError::from_opaque(js_str(EXIT_MARKER)))
}

/// What `internal.exit` throws to unwind to the shell.
pub const EXIT_MARKER: &str = "\u{0}arangorepl-exit";

/// What a native call throws once Ctrl-C was pressed during a command (every later one too, until the
/// command ends), to unwind to the prompt.
pub const INTERRUPT_MARKER: &str = "\u{0}arangorepl-interrupt";

/// Set by Ctrl-C while a command runs (the REPL installs the handler); cleared before each command.
/// JavaScript itself cannot be stopped, but requests and sleeps give up at once.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn interrupted() -> JsError {
    JsError::from_opaque(js_str(INTERRUPT_MARKER))
}

fn check_interrupt() -> JsResult<()> {
    if INTERRUPTED.load(Ordering::Relaxed) {
        Err(interrupted())
    } else {
        Ok(())
    }
}

async fn until_interrupted() {
    while !INTERRUPTED.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn option(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = Host::get(ctx);
    let name = string_arg(args, 0, ctx)?;
    match host.config.options.get(&name) {
        Some(v) => JsValue::from_json(v, ctx),
        None => Ok(JsValue::undefined()),
    }
}

fn options(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = Host::get(ctx);
    JsValue::from_json(&serde_json::Value::Object(host.config.options.clone()), ctx)
}

fn arguments(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = Host::get(ctx);
    let v: Vec<serde_json::Value> = host
        .config
        .arguments
        .iter()
        .map(|s| serde_json::Value::String(s.clone()))
        .collect();
    JsValue::from_json(&serde_json::Value::Array(v), ctx)
}

fn env(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let o = plain_object(ctx);
    for (k, v) in std::env::vars() {
        set(&o, &k, js_str(&v), ctx)?;
    }
    Ok(o.into())
}

fn cwd(_: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    let d = std::env::current_dir().unwrap_or_default();
    Ok(js_str(&d.to_string_lossy()))
}

fn version(_: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    Ok(js_str(crate::ARANGODB_VERSION))
}

fn platform(_: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    Ok(js_str(std::env::consts::OS))
}

fn colors_out(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = Host::get(ctx);
    Ok(JsValue::from(host.config.colors))
}

fn stdout_is_tty(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = Host::get(ctx);
    Ok(JsValue::from(host.config.stdout_tty))
}

/// The figures a sync's progress message carries: `(3 of 7): 12000 documents, 2300000 bytes received`.
fn sync_figures(message: &str) -> Option<(u64, u64, u64, u64)> {
    let (_, rest) = message.rsplit_once('(')?;
    let (n, rest) = rest.split_once(" of ")?;
    let (total, rest) = rest.split_once("): ")?;
    let (docs, rest) = rest.split_once(" documents, ")?;
    let bytes = rest.strip_suffix(" bytes received")?;
    Some((
        n.trim().parse().ok()?,
        total.trim().parse().ok()?,
        docs.trim().parse().ok()?,
        bytes.trim().parse().ok()?,
    ))
}

thread_local! {
    /// The live progress bar of a `sync`, `syncCollection` or `setupReplication` on a terminal.
    static BAR: std::cell::RefCell<Option<(indicatif::ProgressBar, std::time::Instant)>> =
        const { std::cell::RefCell::new(None) };
}

/// `SYS.progress(what, message)`: a sync's progress bar on standard error, when it is a terminal —
/// `"start"` (answers whether a bar is shown; without a terminal the caller prints arangosh's
/// "still synchronizing..." lines instead), `"update"` with the server's progress message (collections
/// done of total, documents and bytes copied, rate, ETA), `"finish"`.
fn progress(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let what = arg(args, 0).to_string(ctx)?.to_std_string_escaped();
    match what.as_str() {
        "start" => {
            if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                return Ok(JsValue::from(false));
            }
            // a spinner until the server tells how many collections there are
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {wide_msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_message("connecting to the leader");
            bar.enable_steady_tick(Duration::from_millis(120));
            BAR.with(|b| *b.borrow_mut() = Some((bar, std::time::Instant::now())));
            Ok(JsValue::from(true))
        }
        "update" => {
            let message = arg(args, 1).to_string(ctx)?.to_std_string_escaped();
            BAR.with(|b| {
                if let Some((bar, started)) = b.borrow().as_ref() {
                    match sync_figures(&message) {
                        Some((n, total, docs, bytes)) => {
                            if bar.length() != Some(total) {
                                bar.set_style(
                                    indicatif::ProgressStyle::with_template(
                                        "{spinner} {elapsed_precise} [{bar:20}] {pos}/{len} collections  {wide_msg}",
                                    )
                                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                                    .progress_chars("=> "),
                                );
                                bar.set_length(total);
                            }
                            bar.set_position(n.saturating_sub(1));
                            let secs = started.elapsed().as_secs_f64().max(0.001);
                            let rate = docs as f64 / secs;
                            // the time left, from the collections done so far
                            let eta = if n > 1 {
                                let per = secs / (n - 1) as f64;
                                format!(", ETA {:.0} s", per * (total + 1 - n) as f64)
                            } else {
                                String::new()
                            };
                            bar.set_message(format!(
                                "{docs} docs, {:.1} MB, {rate:.0}/s{eta}",
                                bytes as f64 / 1e6
                            ));
                        }
                        None => bar.set_message(message.clone()),
                    }
                }
            });
            Ok(JsValue::undefined())
        }
        _ => {
            BAR.with(|b| {
                if let Some((bar, _)) = b.borrow_mut().take() {
                    if let Some(len) = bar.length() {
                        bar.set_position(len);
                    }
                    bar.finish_and_clear();
                }
            });
            Ok(JsValue::undefined())
        }
    }
}

fn base64(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    use base64::Engine;
    let s = string_arg(args, 0, ctx)?;
    let e = base64::engine::general_purpose::STANDARD;
    if arg(args, 1).to_boolean() {
        Ok(js_str(&e.encode(s.as_bytes())))
    } else {
        let bytes = e
            .decode(s.trim())
            .map_err(|err| type_error(format!("invalid base64: {err}")))?;
        Ok(js_str(&String::from_utf8_lossy(&bytes)))
    }
}

/// Builds the `SYS` object and installs it as the global `__SYS` (the prelude takes it and deletes it).
pub fn install(ctx: &mut Context) -> JsResult<()> {
    type F = fn(&JsValue, &[JsValue], &mut Context) -> JsResult<JsValue>;
    let fns: &[(&str, F, usize)] = &[
        ("request", request, 5),
        ("output", output, 1),
        ("sleep", sleep, 1),
        ("time", time, 0),
        ("log", log, 3),
        ("errors", errors, 0),
        ("info", info, 0),
        ("setDatabase", set_database, 1),
        ("timeout", timeout, 1),
        ("reconnect", reconnect, 4),
        ("resolveModule", resolve_module, 2),
        ("compileModule", compile_module, 2),
        ("load", load, 1),
        ("exit", exit, 1),
        ("option", option, 1),
        ("options", options, 0),
        ("arguments", arguments, 0),
        ("env", env, 0),
        ("cwd", cwd, 0),
        ("version", version, 0),
        ("platform", platform, 0),
        ("colorsOut", colors_out, 0),
        ("stdoutIsTty", stdout_is_tty, 0),
        ("progress", progress, 2),
        ("base64", base64, 2),
        ("fs", super::fs::call, 4),
    ];
    let mut init = ObjectInitializer::new(ctx);
    for (name, f, n) in fns {
        init.function(NativeFunction::from_fn_ptr(*f), JsString::from(*name), *n);
    }
    let sys = init.build();
    ctx.register_global_property(js_string!("__SYS"), sys, Attribute::all())?;
    Ok(())
}

#[cfg(test)]
mod progress_tests {
    #[test]
    fn a_sync_message_gives_its_figures() {
        assert_eq!(
            super::sync_figures(
                "collection 'c': 500 documents dumped (3 of 7): 12000 documents, 2300000 bytes received"
            ),
            Some((3, 7, 12000, 2_300_000))
        );
        assert_eq!(super::sync_figures("fetching the leader's inventory"), None);
    }
}
