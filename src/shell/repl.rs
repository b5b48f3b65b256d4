//! The read-eval-print loop: arangosh's prompt and continuation prompt, multi-line input, history in the
//! user's data directory, tab completion over the JavaScript globals, Ctrl-C / Ctrl-D, and printing.

use super::input::{
    PromptInfo, expand_prompt, is_complete, strip_pasted_prompt, strip_pasted_prompts,
};
use crate::js::host::INTERRUPTED;
use crate::js::{Outcome, Runtime, Uncaught};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Editor, Helper};
use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

pub struct Settings {
    pub prompt: String,
    pub colors: bool,
    pub history: bool,
    pub auto_complete: bool,
    pub quiet: bool,
}

const CONTINUATION: &str = "...> ";
const FAREWELL: &str = "Bye Bye! Auf Wiedersehen! ¡Hasta luego! Au revoir! До свидания! 再见！";

struct ShellHelper {
    rt: Rc<RefCell<Runtime>>,
    complete: bool,
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        if !self.complete {
            return Ok((pos, Vec::new()));
        }
        let before = &line[..pos];
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '$' || *c == '.'))
            .map(|(i, c)| i + c.len_utf8())
            .unwrap_or(0);
        let path = &before[start..];
        let word_start = start + path.rfind('.').map(|i| i + 1).unwrap_or(0);
        let Ok(mut rt) = self.rt.try_borrow_mut() else {
            return Ok((pos, Vec::new()));
        };
        let list = rt.completions(path);
        Ok((
            word_start,
            list.into_iter()
                .map(|s| Pair {
                    display: s.clone(),
                    replacement: s,
                })
                .collect(),
        ))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {}
impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

fn history_path() -> Option<PathBuf> {
    let dir = dirs::data_dir()?.join("arangorepl");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
}

/// History may hold passwords typed into `setupReplication({...})`: only the user may read it.
fn protect(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

struct Loop {
    prompt: String,
    colors: bool,
    started: Instant,
    last_duration: f64,
    failed: bool,
}

impl Loop {
    fn new(settings: &Settings, failed: bool) -> Loop {
        Loop {
            prompt: settings.prompt.clone(),
            colors: settings.colors,
            started: Instant::now(),
            last_duration: 0.0,
            failed,
        }
    }

    fn prompt(&self, rt: &Runtime) -> String {
        let (endpoint, database, username, connected) = rt.connection_info();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        expand_prompt(
            &self.prompt,
            &PromptInfo {
                endpoint: &endpoint,
                database: &database,
                username: &username,
                connected,
                now,
                last_duration: self.last_duration,
                since_start: self.started.elapsed().as_secs_f64(),
            },
        )
    }

    fn styled(&self, plain: &str) -> String {
        if !self.colors {
            return plain.to_string();
        }
        let color = if self.failed {
            "\x1b[1;31m"
        } else {
            "\x1b[1;32m"
        };
        format!("{color}{plain}\x1b[0m")
    }

    /// Evaluates one complete command, prints its result (or error) and the empty line after it.
    fn evaluate(&mut self, rt: &mut Runtime, text: &str) -> Option<i32> {
        let t0 = Instant::now();
        // as arangosh: a bare `help` is the call
        let text = if matches!(text.trim(), "help" | "help;") {
            "help()"
        } else {
            text
        };
        let outcome = rt.run(text, "<shell command>");
        let result = match outcome {
            Outcome::Value(v) => rt.print_result(v),
            Outcome::Error(e) => Err(e),
            Outcome::Exit(code) => return Some(code),
            Outcome::Interrupted => {
                self.last_duration = t0.elapsed().as_secs_f64();
                println!("command locally aborted");
                self.failed = true;
                println!();
                return None;
            }
        };
        self.last_duration = t0.elapsed().as_secs_f64();
        match result {
            Ok(()) => self.failed = false,
            Err(e) => {
                print_uncaught(&e, self.colors);
                self.failed = true;
            }
        }
        println!();
        let _ = std::io::stdout().flush();
        None
    }
}

impl Loop {
    /// `.watch SECONDS EXPRESSION` (ours, after psql's `\watch` and watch(1)): evaluates the expression
    /// every SECONDS, redrawing the screen on a terminal (successive results otherwise), until Ctrl-C or
    /// an error. `.watch 1 require("@arangodb/replication").applier.state()` shows a follower catch up.
    fn watch(&mut self, rt: &mut Runtime, args: &str) {
        let usage = || {
            println!(
                "usage: .watch SECONDS EXPRESSION   (re-evaluates EXPRESSION every SECONDS until Ctrl-C)"
            );
            println!();
        };
        let args = args.trim();
        let Some((secs, expr)) = args.split_once(char::is_whitespace) else {
            return usage();
        };
        let (Ok(secs), expr) = (secs.parse::<f64>(), expr.trim()) else {
            return usage();
        };
        if !(0.05..=86_400.0).contains(&secs) || expr.is_empty() {
            return usage();
        }
        let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
        INTERRUPTED.store(false, std::sync::atomic::Ordering::Relaxed);
        loop {
            if tty {
                // to the top, and clear the screen: the new result stands where the last one stood
                print!("\x1b[H\x1b[2J");
            }
            println!(
                "Every {secs}s: {expr}    {}",
                crate::time::utc_string(std::time::SystemTime::now())
            );
            println!();
            let _ = std::io::stdout().flush();
            let _ = self.evaluate(rt, expr);
            if self.failed {
                // an error (or Ctrl-C during the evaluation) ends the watch, as psql's
                return;
            }
            let until = Instant::now() + std::time::Duration::from_secs_f64(secs);
            while Instant::now() < until {
                if INTERRUPTED.swap(false, std::sync::atomic::Ordering::Relaxed) {
                    println!();
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}

/// Prints an uncaught exception of a typed command as arangosh does: where, what, the line and a caret,
/// then the stack.
pub fn print_uncaught(e: &Uncaught, colors: bool) {
    let (red, reset) = if colors {
        ("\x1b[31m", "\x1b[0m")
    } else {
        ("", "")
    };
    for line in e.lines("<shell command>") {
        println!("{red}{line}{reset}");
    }
    if !e.stack.is_empty() {
        println!("stacktrace: {}", e.stack.trim_end());
    }
}

fn is_exit(line: &str) -> bool {
    matches!(
        line.trim(),
        "exit" | "quit" | "exit;" | "quit;" | "exit()" | "quit()" | "exit();" | "quit();"
    )
}

/// Ctrl-C while a command runs sets [`INTERRUPTED`] instead of ending the shell (at the prompt the
/// terminal is in raw mode and rustyline sees Ctrl-C as a key). Installed synchronously, before the
/// editor exists: rustyline saves SIGINT's disposition when `readline` starts and restores it when it
/// returns, so a handler registered meanwhile (from another thread) would be undone by the restore.
fn catch_ctrl_c() -> Result<(), String> {
    // SAFETY: the action only stores into an atomic, which is async-signal-safe.
    unsafe {
        signal_hook_registry::register(libc::SIGINT, || {
            INTERRUPTED.store(true, std::sync::atomic::Ordering::Relaxed);
        })
    }
    .map(|_| ())
    .map_err(|e| format!("cannot catch Ctrl-C: {e}"))
}

/// The interactive REPL on a terminal. Returns the exit code: 1 if the last command failed.
pub fn interactive(rt: Runtime, settings: Settings) -> Result<i32, String> {
    catch_ctrl_c()?;
    let rt = Rc::new(RefCell::new(rt));
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .max_history_size(2000)
        .map_err(|e| e.to_string())?
        .build();
    let mut editor: Editor<ShellHelper, DefaultHistory> =
        Editor::with_config(config).map_err(|e| format!("cannot start the line editor: {e}"))?;
    editor.set_helper(Some(ShellHelper {
        rt: rt.clone(),
        complete: settings.auto_complete,
    }));
    let history = if settings.history {
        history_path()
    } else {
        None
    };
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    let quiet = settings.quiet;
    // a failed connect starts with the error prompt
    let (endpoint, _, _, connected) = rt.borrow().connection_info();
    let mut lp = Loop::new(&settings, !connected && endpoint != "none");
    let mut pending = String::new();
    let mut last_empty_interrupt = false;
    let code = loop {
        let plain = if pending.is_empty() {
            lp.prompt(&rt.borrow())
        } else {
            CONTINUATION.to_string()
        };
        let styled = lp.styled(&plain);
        match editor.readline(&(plain.as_str(), styled.as_str())) {
            Ok(line) => {
                last_empty_interrupt = false;
                let line = strip_pasted_prompts(&line, &plain);
                if pending.is_empty() {
                    if line.trim().is_empty() {
                        lp.failed = false;
                        continue;
                    }
                    if is_exit(&line) {
                        let _ = editor.add_history_entry(line.trim());
                        break if lp.failed { 1 } else { 0 };
                    }
                    if let Some(args) = line.trim_start().strip_prefix(".watch") {
                        let _ = editor.add_history_entry(line.trim());
                        lp.watch(&mut rt.borrow_mut(), args);
                        continue;
                    }
                    pending = line;
                } else {
                    pending.push('\n');
                    pending.push_str(&line);
                }
                if !is_complete(&pending) {
                    continue;
                }
                let text = std::mem::take(&mut pending);
                let _ = editor.add_history_entry(text.as_str());
                let exit = {
                    let mut r = rt.borrow_mut();
                    lp.evaluate(&mut r, &text)
                };
                if let Some(c) = exit {
                    break c;
                }
            }
            Err(ReadlineError::Interrupted) => {
                // Ctrl-C: drop the line (and pending input); twice on an empty prompt leaves
                if pending.is_empty() && last_empty_interrupt {
                    break if lp.failed { 1 } else { 0 };
                }
                last_empty_interrupt = pending.is_empty();
                pending.clear();
            }
            Err(ReadlineError::Eof) => {
                if pending.is_empty() {
                    break if lp.failed { 1 } else { 0 };
                }
                pending.clear();
            }
            Err(e) => return Err(format!("cannot read input: {e}")),
        }
    };
    if let Some(h) = &history
        && editor.save_history(h).is_ok()
    {
        protect(h);
    }
    if !quiet {
        println!();
        println!("{FAREWELL}");
    }
    Ok(code)
}

/// Standard input that is not a terminal: each complete command is evaluated and printed as in the
/// REPL, without prompts. Returns 1 if the last command failed.
pub fn piped(rt: &mut Runtime, settings: &Settings, text: &str) -> i32 {
    let mut lp = Loop::new(settings, false);
    let mut pending = String::new();
    for line in text.lines() {
        let plain = lp.prompt(rt);
        let line = strip_pasted_prompt(line, &plain);
        if pending.is_empty() {
            if line.trim().is_empty() {
                continue;
            }
            if is_exit(line) {
                break;
            }
            pending = line.to_string();
        } else {
            pending.push('\n');
            pending.push_str(line);
        }
        if !is_complete(&pending) {
            continue;
        }
        let cmd = std::mem::take(&mut pending);
        if let Some(c) = lp.evaluate(rt, &cmd) {
            return c;
        }
    }
    if !pending.trim().is_empty() {
        let cmd = std::mem::take(&mut pending);
        if let Some(c) = lp.evaluate(rt, &cmd) {
            return c;
        }
    }
    i32::from(lp.failed)
}
