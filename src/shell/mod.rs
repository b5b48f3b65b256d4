//! `arangorepl` as a shell: arangosh's command line, start-up, banner, the REPL (rustyline: prompt,
//! multi-line input, history, completion) and the script modes, with arangosh's printing and exit codes.

pub mod input;
mod repl;

use crate::js::host::{ConnectSpec, HostConfig, Level, log_line};
use crate::js::{Outcome, Runtime, Uncaught};
use clap::Args;
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

/// arangosh's boolean option values.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!("expected true or false, got '{s}'")),
    }
}

/// arangosh's options.
#[derive(Args, Debug, Clone, Default)]
pub struct ShellArgs {
    /// Server to connect to: tcp://host:port, ssl://host:port, http+tcp://…, or none.
    #[arg(long = "server.endpoint", value_name = "ENDPOINT")]
    pub endpoint: Option<String>,
    /// User name.
    #[arg(long = "server.username", value_name = "USER")]
    pub username: Option<String>,
    /// Password; without it, and with authentication on, the shell asks for one (no echo).
    #[arg(long = "server.password", value_name = "PASSWORD")]
    pub password: Option<String>,
    /// Database to start in.
    #[arg(long = "server.database", value_name = "NAME")]
    pub database: Option<String>,
    /// Ask for a password when none is given (true by default).
    #[arg(long = "server.authentication", value_parser = parse_bool, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub authentication: Option<bool>,
    /// Request timeout in seconds (0: very long).
    #[arg(long = "server.request-timeout", value_name = "SECONDS")]
    pub request_timeout: Option<f64>,
    /// Connection timeout in seconds (0: very long).
    #[arg(long = "server.connection-timeout", value_name = "SECONDS")]
    pub connection_timeout: Option<f64>,
    /// PEM file of a private CA whose certificates an ssl:// server may use (besides the system's roots).
    #[arg(long = "ssl.cafile", value_name = "FILE")]
    pub ssl_cafile: Option<std::path::PathBuf>,
    /// Check an ssl:// server's certificate (default true; false: encrypted but unchecked, as arangosh).
    #[arg(long = "ssl.verify", value_parser = parse_bool, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub ssl_verify: Option<bool>,
    /// Run a JavaScript file and exit (repeatable).
    #[arg(long = "javascript.execute", value_name = "FILE")]
    pub execute: Vec<String>,
    /// Run JavaScript code and exit (repeatable).
    #[arg(long = "javascript.execute-string", value_name = "CODE")]
    pub execute_string: Vec<String>,
    /// Only check a file's syntax (no connection; repeatable).
    #[arg(long = "javascript.check-syntax", value_name = "FILE")]
    pub check_syntax: Vec<String>,
    /// No banner and no farewell.
    #[arg(long = "quiet", value_parser = parse_bool, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub quiet: Option<bool>,
    /// Colours (default: on when standard input is a terminal).
    #[arg(long = "console.colors", value_parser = parse_bool, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub colors: Option<bool>,
    /// Objects printed over several lines (default true).
    #[arg(long = "console.pretty-print", value_parser = parse_bool, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub pretty_print: Option<bool>,
    /// Keep the command history between sessions (default true).
    #[arg(long = "console.history", value_parser = parse_bool, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub history: Option<bool>,
    /// Tab completion (default true).
    #[arg(long = "console.auto-complete", value_parser = parse_bool, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub auto_complete: Option<bool>,
    /// The prompt: %d database, %e/%E endpoint, %u user, %t time, %p last duration, %% percent.
    #[arg(long = "console.prompt", value_name = "PROMPT")]
    pub prompt: Option<String>,
    /// Log level: fatal, error, warning, info, debug, trace (also topic=level, the level is used).
    #[arg(long = "log.level", value_name = "LEVEL")]
    pub log_level: Vec<String>,
    /// Positional arguments, available to scripts as ARGUMENTS.
    #[arg(value_name = "ARGUMENTS")]
    pub arguments: Vec<String>,
}

/// What the demo adds: lines printed before the prompt.
#[derive(Default)]
pub struct Extras {
    pub intro: Vec<String>,
}

const DEFAULT_ENDPOINT: &str = "tcp://127.0.0.1:8529";

fn seconds(v: Option<f64>, default: f64, name: &str) -> Result<Duration, String> {
    let s = v.unwrap_or(default);
    if s < 0.0 || !s.is_finite() {
        return Err(format!("invalid value for --{name}: {s}"));
    }
    Ok(if s == 0.0 {
        Duration::from_secs(86_400 * 365)
    } else {
        Duration::from_secs_f64(s)
    })
}

/// Reads a password without echo from the terminal, or a line from standard input when there is none.
pub fn ask_password(prompt: &str) -> Option<String> {
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt).ok();
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).ok()?;
    Some(line.trim_end_matches(['\r', '\n']).to_string())
}

/// The shell's whole run: options, connection, then the REPL or the script modes. Returns the exit code.
pub fn run(args: ShellArgs, extras: Extras) -> ExitCode {
    match run_inner(args, extras) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(msg) => {
            eprintln!("arangorepl: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn log_level(args: &ShellArgs) -> Result<Level, String> {
    let mut level = Level::Info;
    for l in &args.log_level {
        let v = l.rsplit('=').next().unwrap_or(l);
        level = Level::parse(v).ok_or_else(|| format!("invalid log level '{l}'"))?;
    }
    Ok(level)
}

fn run_inner(args: ShellArgs, extras: Extras) -> Result<i32, String> {
    let script_mode = !args.execute.is_empty()
        || !args.execute_string.is_empty()
        || !args.check_syntax.is_empty();
    let stdin_tty = std::io::stdin().is_terminal();
    let stdout_tty = std::io::stdout().is_terminal();
    let quiet = args.quiet.unwrap_or(false) || script_mode;
    let colors = args.colors.unwrap_or(stdin_tty) && stdout_tty;
    let level = log_level(&args)?;
    let mut options = serde_json::Map::new();
    let endpoint = args
        .endpoint
        .clone()
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
    let username = args.username.clone().unwrap_or_else(|| "root".into());
    if username.is_empty() {
        return Err("no value specified for --server.username".into());
    }
    if endpoint != "none"
        && let Err(e) = endpoint.parse::<crate::endpoint::Endpoint>()
    {
        return Err(e.to_string());
    }
    let database = args.database.clone().unwrap_or_else(|| "_system".into());
    options.insert("server.endpoint".into(), endpoint.clone().into());
    options.insert("server.username".into(), username.clone().into());
    options.insert("server.database".into(), database.clone().into());
    options.insert("quiet".into(), quiet.into());
    options.insert("console.colors".into(), colors.into());
    options.insert(
        "console.pretty-print".into(),
        args.pretty_print.unwrap_or(true).into(),
    );
    let config = HostConfig {
        arguments: args.arguments.clone(),
        options,
        log_level: level,
        colors,
        stdout_tty,
    };

    if !args.check_syntax.is_empty() {
        let mut rt = Runtime::offline(config)?;
        let mut code = 0;
        for f in &args.check_syntax {
            let src = match std::fs::read_to_string(f) {
                Ok(s) => s,
                Err(_) => {
                    eprintln!("error: JavaScript file not found: '{f}'");
                    code = 1;
                    continue;
                }
            };
            if let Err(e) = rt.check_syntax(&src, f) {
                report_script_error(level, f, &e);
                code = 1;
            }
        }
        return Ok(code);
    }

    let authentication = args.authentication.unwrap_or(true) || args.username.is_some();
    let password = match &args.password {
        Some(p) => p.clone(),
        None if authentication && endpoint != "none" => {
            ask_password("Please specify a password: ").unwrap_or_default()
        }
        None => String::new(),
    };
    let spec = ConnectSpec {
        endpoint,
        database,
        username,
        password,
        request_timeout: seconds(args.request_timeout, 1200.0, "server.request-timeout")?,
        connect_timeout: seconds(args.connection_timeout, 5.0, "server.connection-timeout")?,
        verify_tls: args.ssl_verify.unwrap_or(true),
        ca_file: args.ssl_cafile.clone(),
    };
    let mut rt = Runtime::new(spec, config, Box::new(ask_password))?;

    if script_mode {
        return Ok(run_scripts(&mut rt, &args));
    }
    let history = args.history.unwrap_or(true);
    if !quiet && stdin_tty {
        print_banner(&rt, history, colors);
    }
    for line in &extras.intro {
        println!("{line}");
    }
    if !extras.intro.is_empty() {
        println!();
    }
    let settings = repl::Settings {
        prompt: args.prompt.clone().unwrap_or_else(|| "%E@%d> ".into()),
        colors,
        history,
        auto_complete: args.auto_complete.unwrap_or(true),
        quiet,
    };
    if stdin_tty {
        repl::interactive(rt, settings)
    } else {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        Ok(repl::piped(&mut rt, &settings, &text))
    }
}

fn print_banner(rt: &Runtime, history: bool, colors: bool) {
    let (green, red, reset) = if colors {
        ("\x1b[32m", "\x1b[31m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    println!();
    println!("{green}arango{reset}{red}repl{reset}  — an arangosh for Leader/Follower replication");
    println!(
        "arangorepl {} (ArangoDB API {}, {} {})",
        env!("CARGO_PKG_VERSION"),
        crate::ARANGODB_VERSION,
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    println!();
    if history {
        println!(
            "Command-line history will be persisted when the shell is exited. You can use `--console.history false` to turn this off"
        );
    } else {
        println!(
            "Command-line history is enabled for this session only and will *not* be persisted."
        );
    }
    let c = rt.host().conn.borrow();
    if c.connected {
        println!("{}", c.connected_message());
        println!();
        println!("Type 'help' to see common examples");
    } else if c.spec.endpoint != "none" {
        println!(
            "Could not connect to endpoint '{}', database: '{}', username: '{}'",
            c.spec.endpoint, c.spec.database, c.spec.username
        );
        if let Some(e) = &c.error {
            println!("Error message: '{e}'");
        }
        println!();
    }
}

/// An uncaught exception of a script, logged as arangosh logs it.
fn report_script_error(level: Level, file: &str, e: &Uncaught) {
    for line in e.lines(file) {
        log_line(level, Level::Error, "", &line);
    }
    if !e.stack.is_empty() {
        log_line(level, Level::Debug, "", &format!("stacktrace: {}", e.stack));
    }
}

fn run_scripts(rt: &mut Runtime, args: &ShellArgs) -> i32 {
    let level = rt.host().config.log_level;
    {
        // the banner's connection failure, as a warning: a script should say why `db` is unusable
        let c = rt.host().conn.borrow();
        if !c.connected && c.spec.endpoint != "none" {
            log_line(
                level,
                Level::Warning,
                "",
                &format!(
                    "Could not connect to endpoint '{}', database: '{}', username: '{}' - Error message: '{}'",
                    c.spec.endpoint,
                    c.spec.database,
                    c.spec.username,
                    c.error.as_deref().unwrap_or("could not connect")
                ),
            );
        }
    }
    let finish = |code: i32| {
        let _ = std::io::stdout().flush();
        code
    };
    if !args.execute_string.is_empty() {
        let mut code = 0;
        for s in &args.execute_string {
            code = match rt.run(s, "(command-line)") {
                Outcome::Value(v) => i32::from(rt.is_nonzero_number(&v)),
                Outcome::Error(e) => {
                    report_script_error(level, "(command-line)", &e);
                    1
                }
                Outcome::Exit(c) => return finish(c),
                Outcome::Interrupted => 1,
            };
        }
        return finish(code);
    }
    let mut code = 0;
    for f in &args.execute {
        let src = match std::fs::read_to_string(f) {
            Ok(s) => s,
            Err(_) => {
                eprintln!("error: JavaScript file not found: '{f}'");
                code = 1;
                continue;
            }
        };
        let path = std::fs::canonicalize(f).unwrap_or_else(|_| f.into());
        let dir = path
            .parent()
            .map(|p| p.to_string_lossy().to_string())
            .unwrap_or_default();
        let set_names = format!(
            "globalThis.__filename = {}; globalThis.__dirname = {}; globalThis.require = globalThis.__arangorepl_require({});",
            json_str(&path.to_string_lossy()),
            json_str(&dir),
            json_str(&dir)
        );
        let _ = rt.run(&set_names, "(setup)");
        code = match rt.run(&src, f) {
            Outcome::Value(_) => 0,
            Outcome::Error(e) => {
                report_script_error(level, f, &e);
                1
            }
            Outcome::Exit(c) => return finish(c),
            Outcome::Interrupted => 1,
        };
        let _ = rt.run(
            "delete globalThis.__filename; delete globalThis.__dirname; globalThis.require = globalThis.__arangorepl_require(null);",
            "(setup)",
        );
    }
    finish(code)
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}
