//! The shell's JavaScript runtime (boa): arangosh's globals — `db`, `arango`, `print`, `require`,
//! `console`, `ARGUMENTS` — and its modules `internal`, `@arangodb`, `@arangodb/replication`,
//! `@arangodb/replication-common`. The JavaScript side lives in `prelude.js`; the native side (HTTP through
//! [`crate::client`], output, time, files) in [`host`].

mod fs;
pub mod host;

use boa_engine::{Context, JsError, JsResult, JsString, JsValue, Source, js_string};
use host::{Conn, ConnectSpec, EXIT_MARKER, Host, HostConfig, INTERRUPT_MARKER, INTERRUPTED};
use std::path::Path;
use std::rc::Rc;

const PRELUDE: &str = include_str!("prelude.js");
/// The prelude's name in stack traces.
const PRELUDE_PATH: &str = "arangorepl/js/prelude.js";

/// An uncaught exception, ready to print.
#[derive(Debug, Clone)]
pub struct Uncaught {
    /// `String(exception)` as arangosh shows it, e.g. `ArangoError 1203: collection or view not found`.
    pub text: String,
    /// The error's stack, if it has one.
    pub stack: String,
    /// Where it was thrown in the code that was run (`line, column`): the innermost frame of that code,
    /// or the position boa gave a syntax error.
    pub position: Option<(u32, u32)>,
    /// The source line at `position`, if known.
    pub source_line: Option<String>,
}

impl Uncaught {
    /// arangosh's lines for an uncaught exception: `JavaScript exception in file '<file>' at L,C: <text>`,
    /// then `!<source line>` and `!<caret>` when the line is known.
    pub fn lines(&self, file: &str) -> Vec<String> {
        let mut out = Vec::new();
        match self.position {
            Some((l, c)) => {
                out.push(format!(
                    "JavaScript exception in file '{file}' at {l},{c}: {}",
                    self.text
                ));
                if let Some(src) = &self.source_line {
                    out.push(format!("!{src}"));
                    out.push(format!("!{}^", " ".repeat(c.saturating_sub(1) as usize)));
                }
            }
            None => out.push(format!("JavaScript exception: {}", self.text)),
        }
        out
    }
}

/// The runtime the native functions block on for HTTP (JavaScript runs on one thread).
fn io_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the I/O runtime: {e}"))
}

/// The outcome of running a piece of code.
pub enum Outcome {
    Value(JsValue),
    Error(Uncaught),
    /// `internal.exit(n)` / `process.exit(n)` was called.
    Exit(i32),
    /// Ctrl-C stopped the command (at its next request or sleep).
    Interrupted,
}

/// One JavaScript world connected to one server.
pub struct Runtime {
    ctx: Context,
    host: Rc<Host>,
}

impl Runtime {
    /// Connects (unless the endpoint is `none`) and sets up the globals.
    pub fn new(
        spec: ConnectSpec,
        config: HostConfig,
        ask_password: host::AskPassword,
    ) -> Result<Runtime, String> {
        let rt = io_runtime()?;
        let conn = Conn::open(spec, &rt);
        Runtime::with_conn(rt, conn, config, ask_password)
    }

    /// A runtime that never connects (`--javascript.check-syntax`).
    pub fn offline(config: HostConfig) -> Result<Runtime, String> {
        let rt = io_runtime()?;
        let spec = ConnectSpec {
            endpoint: "none".into(),
            database: "_system".into(),
            username: "root".into(),
            password: String::new(),
            request_timeout: std::time::Duration::from_secs(1200),
            connect_timeout: std::time::Duration::from_secs(5),
            verify_tls: true,
            ca_file: None,
        };
        let conn = Conn::open(spec, &rt);
        Runtime::with_conn(rt, conn, config, Box::new(|_| None))
    }

    fn with_conn(
        rt: tokio::runtime::Runtime,
        conn: Conn,
        config: HostConfig,
        ask_password: host::AskPassword,
    ) -> Result<Runtime, String> {
        let host = Rc::new(Host {
            rt,
            conn: std::cell::RefCell::new(conn),
            config,
            exit_code: std::cell::Cell::new(None),
            ask_password,
        });
        let mut ctx = Context::default();
        ctx.insert_data(host.clone());
        host::install(&mut ctx).map_err(|e| format!("cannot set up the shell: {e}"))?;
        ctx.eval(Source::from_bytes(PRELUDE.as_bytes()).with_path(Path::new(PRELUDE_PATH)))
            .map_err(|e| format!("cannot set up the shell: {e}"))?;
        let mut r = Runtime { ctx, host };
        if r.host.conn.borrow().connected {
            // arangosh fills the collection cache at start; errors are ignored
            let _ = r.hook("flushCache", &[]);
        }
        Ok(r)
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    fn hook(&mut self, name: &str, args: &[JsValue]) -> JsResult<JsValue> {
        let hooks = self
            .ctx
            .global_object()
            .get(js_string!("__arangorepl"), &mut self.ctx)?;
        let obj = hooks
            .as_object()
            .ok_or_else(|| boa_engine::JsNativeError::typ().with_message("hooks missing"))?;
        let f = obj.get(JsString::from(name), &mut self.ctx)?;
        let f = f
            .as_callable()
            .ok_or_else(|| boa_engine::JsNativeError::typ().with_message("hook missing"))?;
        f.call(&hooks, args, &mut self.ctx)
    }

    /// Runs `source` as a global script named `name`.
    pub fn run(&mut self, source: &str, name: &str) -> Outcome {
        INTERRUPTED.store(false, std::sync::atomic::Ordering::Relaxed);
        let r = self
            .ctx
            .eval(Source::from_bytes(source.as_bytes()).with_path(Path::new(name)));
        let _ = self.ctx.run_jobs();
        let mut outcome = self.outcome(r);
        if let Outcome::Error(e) = &mut outcome {
            locate(e, source, name);
        }
        outcome
    }

    /// Only parses `source` (`--javascript.check-syntax`).
    pub fn check_syntax(&mut self, source: &str, name: &str) -> Result<(), Uncaught> {
        let src = Source::from_bytes(source.as_bytes()).with_path(Path::new(name));
        match boa_engine::Script::parse(src, None, &mut self.ctx) {
            Ok(_) => Ok(()),
            Err(e) => {
                let mut u = self.uncaught(e);
                locate(&mut u, source, name);
                Err(u)
            }
        }
    }

    fn outcome(&mut self, r: JsResult<JsValue>) -> Outcome {
        match r {
            Ok(v) => Outcome::Value(v),
            Err(e) => {
                let marker = e
                    .as_opaque()
                    .and_then(|v| v.as_string())
                    .map(|s| s.to_std_string_escaped());
                if let Some(code) = self.host.exit_code.get()
                    && marker.as_deref() == Some(EXIT_MARKER)
                {
                    return Outcome::Exit(code);
                }
                if marker.as_deref() == Some(INTERRUPT_MARKER)
                    || INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed)
                {
                    return Outcome::Interrupted;
                }
                Outcome::Error(self.uncaught(e))
            }
        }
    }

    fn uncaught(&mut self, e: JsError) -> Uncaught {
        let fallback = e.to_string();
        let value = match e.into_opaque(&mut self.ctx) {
            Ok(v) => v,
            Err(_) => JsValue::from(JsString::from(fallback.as_str())),
        };
        let text = self
            .hook("errorText", std::slice::from_ref(&value))
            .ok()
            .and_then(|v| v.as_string().map(|s| s.to_std_string_escaped()))
            .unwrap_or(fallback);
        let stack = self
            .hook("errorStack", std::slice::from_ref(&value))
            .ok()
            .and_then(|v| v.as_string().map(|s| s.to_std_string_escaped()))
            .unwrap_or_default();
        let position = syntax_position(&text);
        Uncaught {
            text,
            stack,
            position,
            source_line: None,
        }
    }

    /// Prints a REPL result as arangosh does (through `print`, nothing for `undefined`), keeps it as `_last`.
    pub fn print_result(&mut self, v: JsValue) -> Result<(), Uncaught> {
        match self.hook("printResult", &[v]) {
            Ok(_) => Ok(()),
            Err(e) => Err(self.uncaught(e)),
        }
    }

    /// True if `v` is a number other than 0 (`--javascript.execute-string` then exits with 1).
    pub fn is_nonzero_number(&self, v: &JsValue) -> bool {
        v.as_number().is_some_and(|n| n != 0.0)
    }

    /// Tab completion of a dotted path (`db.`, `require("@arangodb/replication").app` is not a path).
    pub fn completions(&mut self, path: &str) -> Vec<String> {
        let Ok(v) = self.hook("completions", &[JsValue::from(JsString::from(path))]) else {
            return Vec::new();
        };
        let Some(arr) = v.as_object() else {
            return Vec::new();
        };
        let len = arr
            .get(js_string!("length"), &mut self.ctx)
            .ok()
            .and_then(|l| l.as_number())
            .unwrap_or(0.0) as u32;
        (0..len)
            .filter_map(|i| arr.get(i, &mut self.ctx).ok())
            .filter_map(|v| v.as_string().map(|s| s.to_std_string_escaped()))
            .collect()
    }

    /// The prompt's view of the connection: (configured endpoint, database, user, connected).
    pub fn connection_info(&self) -> (String, String, String, bool) {
        let c = self.host.conn.borrow();
        (
            c.spec.endpoint.clone(),
            c.spec.database.clone(),
            c.spec.username.clone(),
            c.connected,
        )
    }
}

/// Finds where `e` was thrown in `source` (run as `name`): the innermost stack frame in it, else the
/// syntax error's position; and that line of the source.
fn locate(e: &mut Uncaught, source: &str, name: &str) {
    let needle = format!("({name}:");
    let frame = e.stack.lines().find_map(|l| {
        let i = l.find(&needle)?;
        let rest = &l[i + needle.len()..];
        let (line, rest) = rest.split_once(':')?;
        let col: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        Some((line.parse().ok()?, col.parse().ok()?))
    });
    if let Some(p) = frame {
        e.position = Some(p);
    }
    if let Some((l, _)) = e.position {
        e.source_line = source
            .lines()
            .nth(l.saturating_sub(1) as usize)
            .map(str::to_string);
    }
}

/// boa reports syntax errors as `SyntaxError: ... at line L, col C`; the position, if present.
fn syntax_position(text: &str) -> Option<(u32, u32)> {
    let i = text.rfind("at line ")?;
    let rest = &text[i + 8..];
    let (l, rest) = rest.split_once(", col ")?;
    let c: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some((l.trim().parse().ok()?, c.parse().ok()?))
}
