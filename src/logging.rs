//! The process's log: `tracing` with levels per ArangoDB log topic that can change while the process runs
//! (`PUT /_admin/log/level`), and the most recent entries kept in memory (`GET /_admin/log/entries`).
//!
//! Topics map onto our module paths: `replication` is the replication core and the servers' replication
//! endpoints, `engines` the store, `authentication` the user store, `requests` the HTTP layer, and
//! `general` everything else.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

/// ArangoDB's log levels, most severe first.
pub const LEVELS: [&str; 6] = ["FATAL", "ERROR", "WARNING", "INFO", "DEBUG", "TRACE"];

/// The topics we report, with the module paths each covers (`general` covers the rest).
const TOPICS: &[(&str, &[&str])] = &[
    ("general", &["arangorepl"]),
    (
        "replication",
        &[
            "arangorepl::replication",
            "arangorepl::server::applier",
            "arangorepl::server::leader",
            "arangorepl::server::follower",
        ],
    ),
    ("engines", &["arangorepl::store"]),
    ("authentication", &["arangorepl::server::auth"]),
    ("requests", &["arangorepl::server::http"]),
];

/// How many entries `/_admin/log/entries` can show.
const KEPT: usize = 2048;

/// One recorded log entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: u64,
    /// Seconds since the epoch.
    pub time: f64,
    /// Index into [`LEVELS`].
    pub level: usize,
    pub topic: &'static str,
    pub message: String,
}

struct State {
    handle: Option<reload::Handle<EnvFilter, Registry>>,
    startup: BTreeMap<&'static str, usize>,
    current: BTreeMap<&'static str, usize>,
    entries: VecDeque<Entry>,
    next_id: u64,
}

fn state() -> &'static Mutex<State> {
    static S: OnceLock<Mutex<State>> = OnceLock::new();
    S.get_or_init(|| {
        let levels: BTreeMap<&'static str, usize> = TOPICS.iter().map(|(t, _)| (*t, 3)).collect();
        Mutex::new(State {
            handle: None,
            startup: levels.clone(),
            current: levels,
            entries: VecDeque::new(),
            next_id: 1,
        })
    })
}

fn lock() -> std::sync::MutexGuard<'static, State> {
    state().lock().unwrap_or_else(|p| p.into_inner())
}

/// The index in [`LEVELS`] of a level name (ArangoDB's or tracing's spelling, any case).
pub fn parse_level(s: &str) -> Option<usize> {
    match s.trim().to_ascii_lowercase().as_str() {
        "fatal" => Some(0),
        "error" | "err" => Some(1),
        "warning" | "warn" => Some(2),
        "info" | "default" => Some(3),
        "debug" => Some(4),
        "trace" => Some(5),
        _ => None,
    }
}

fn tracing_level(i: usize) -> &'static str {
    ["error", "error", "warn", "info", "debug", "trace"][i.min(5)]
}

fn directives(levels: &BTreeMap<&'static str, usize>) -> String {
    let mut parts = Vec::new();
    for (topic, targets) in TOPICS {
        let l = levels.get(topic).copied().unwrap_or(3);
        for t in *targets {
            parts.push(format!("{t}={}", tracing_level(l)));
        }
    }
    parts.join(",")
}

fn topic_of(target: &str) -> &'static str {
    let mut best = ("general", 0);
    for (topic, targets) in TOPICS {
        for t in *targets {
            let within = target
                .strip_prefix(t)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"));
            if within && t.len() > best.1 {
                best = (topic, t.len());
            }
        }
    }
    best.0
}

/// The index in [`LEVELS`] of an event's level.
fn level_index(l: &tracing::Level) -> usize {
    match *l {
        tracing::Level::ERROR => 1,
        tracing::Level::WARN => 2,
        tracing::Level::INFO => 3,
        tracing::Level::DEBUG => 4,
        tracing::Level::TRACE => 5,
    }
}

/// Records events into the in-memory list.
struct Recorder;

struct MessageVisitor(String);

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        } else {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_string();
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let mut v = MessageVisitor(String::new());
        event.record(&mut v);
        let level = level_index(meta.level());
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut st = lock();
        let id = st.next_id;
        st.next_id += 1;
        st.entries.push_back(Entry {
            id,
            time,
            level,
            topic: topic_of(meta.target()),
            message: v.0,
        });
        while st.entries.len() > KEPT {
            st.entries.pop_front();
        }
    }
}

/// Sets up logging to standard error at `level` (every topic) for the whole process.
pub fn init(level: &str) {
    let levels = if parse_level(level).is_some() {
        vec![level.to_string()]
    } else {
        // an unknown level logs at INFO, as before `--log.*` grew topics
        Vec::new()
    };
    let _ = init_with(&Options {
        levels,
        ..Options::default()
    });
}

/// arangod's `--log.*` options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--log.level`, repeatable: `LEVEL` for every topic, or `TOPIC=LEVEL` (later ones win).
    pub levels: Vec<String>,
    /// `--log.output`: `-` standard output, `+` standard error (the default), `file://PATH` or `PATH`
    /// (appended to, created with mode 0600).
    pub output: Option<String>,
    /// `--log.use-json-format`: one JSON object per line (`time`, `pid`, `level`, `topic`, `message`).
    pub json: bool,
}

/// The per-topic levels `--log.level` values give (every topic at INFO before them).
pub fn parse_levels(values: &[String]) -> Result<BTreeMap<&'static str, usize>, String> {
    let mut levels: BTreeMap<&'static str, usize> = TOPICS.iter().map(|(t, _)| (*t, 3)).collect();
    for v in values {
        match v.split_once('=') {
            None => {
                let l = parse_level(v).ok_or_else(|| unknown_level(v))?;
                for x in levels.values_mut() {
                    *x = l;
                }
            }
            Some((topic, level)) => {
                let l = parse_level(level).ok_or_else(|| unknown_level(level))?;
                let topic = topic.trim().to_ascii_lowercase();
                if topic == "all" {
                    for x in levels.values_mut() {
                        *x = l;
                    }
                    continue;
                }
                let Some((t, _)) = TOPICS.iter().find(|(t, _)| *t == topic) else {
                    let known: Vec<&str> = TOPICS.iter().map(|(t, _)| *t).collect();
                    return Err(format!(
                        "unknown log topic '{topic}' in --log.level {v}: the topics are {}",
                        known.join(", ")
                    ));
                };
                levels.insert(t, l);
            }
        }
    }
    Ok(levels)
}

fn unknown_level(v: &str) -> String {
    format!("unknown log level '{v}': expecting fatal, error, warning, info, debug or trace")
}

/// Where log lines go.
fn writer(output: Option<&str>) -> Result<BoxMakeWriter, String> {
    match output.map(str::trim) {
        None | Some("+") | Some("") => Ok(BoxMakeWriter::new(std::io::stderr)),
        Some("-") => Ok(BoxMakeWriter::new(std::io::stdout)),
        Some(o) => {
            let path = o.strip_prefix("file://").unwrap_or(o);
            let mut open = std::fs::OpenOptions::new();
            open.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
            let f = open
                .open(path)
                .map_err(|e| format!("cannot open the log file '{path}' (--log.output): {e}"))?;
            Ok(BoxMakeWriter::new(Mutex::new(f)))
        }
    }
}

/// Sets up logging for the whole process as `o` says; an error names the bad option.
pub fn init_with(o: &Options) -> Result<(), String> {
    let levels = parse_levels(&o.levels)?;
    let (filter, handle) = reload::Layer::new(EnvFilter::new(directives(&levels)));
    let to_terminal = o.output.is_none() && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let out = writer(o.output.as_deref())?;
    let (text, json) = if o.json {
        (None, Some(JsonLines(out)))
    } else {
        (
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(out)
                    .with_ansi(to_terminal),
            ),
            None,
        )
    };
    if tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .with(Recorder)
        .try_init()
        .is_ok()
    {
        let mut st = lock();
        st.handle = Some(handle);
        st.startup = levels.clone();
        st.current = levels;
    }
    Ok(())
}

/// `--log.use-json-format`: one JSON object per event.
struct JsonLines(BoxMakeWriter);

impl<S: tracing::Subscriber> Layer<S> for JsonLines {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let mut v = MessageVisitor(String::new());
        event.record(&mut v);
        let level = LEVELS[level_index(meta.level())];
        let line = json!({
            "time": crate::time::utc_string(std::time::SystemTime::now()),
            "pid": std::process::id(),
            "level": level,
            "topic": topic_of(meta.target()),
            "message": v.0,
        });
        let mut w = tracing_subscriber::fmt::MakeWriter::make_writer(&self.0);
        let _ = std::io::Write::write_all(&mut w, format!("{line}\n").as_bytes());
    }
}

/// Every topic's level, as `GET /_admin/log/level` shows it.
pub fn levels() -> Value {
    let st = lock();
    let m: Map<String, Value> = st
        .current
        .iter()
        .map(|(t, l)| (t.to_string(), json!(LEVELS[*l])))
        .collect();
    Value::Object(m)
}

fn apply(st: &mut State) {
    if let Some(h) = &st.handle {
        let _ = h.reload(EnvFilter::new(directives(&st.current)));
    }
}

/// Changes levels: `{topic: level}` (`all` for every topic), or one level for every topic. Unknown
/// topics are ignored, as ArangoDB does; an unknown level is an error naming it.
pub fn set_levels(change: &Value) -> Result<Value, String> {
    let mut updates: Vec<(Option<&'static str>, usize)> = Vec::new();
    match change {
        Value::String(s) => {
            let l = parse_level(s).ok_or_else(|| format!("unknown log level '{s}'"))?;
            updates.push((None, l));
        }
        Value::Object(m) => {
            for (k, v) in m {
                let s = v
                    .as_str()
                    .ok_or_else(|| format!("the level of topic '{k}' must be a string"))?;
                let l = parse_level(s).ok_or_else(|| format!("unknown log level '{s}'"))?;
                if k == "all" {
                    updates.push((None, l));
                } else if let Some((t, _)) = TOPICS.iter().find(|(t, _)| *t == k.as_str()) {
                    updates.push((Some(t), l));
                }
            }
        }
        _ => return Err("expecting an object of topics and levels, or a level".into()),
    }
    {
        let mut st = lock();
        for (topic, l) in updates {
            match topic {
                Some(t) => {
                    st.current.insert(t, l);
                }
                None => {
                    for v in st.current.values_mut() {
                        *v = l;
                    }
                }
            }
        }
        apply(&mut st);
    }
    Ok(levels())
}

/// Back to the levels the process started with.
pub fn reset_levels() -> Value {
    {
        let mut st = lock();
        st.current = st.startup.clone();
        apply(&mut st);
    }
    levels()
}

/// The kept entries, oldest first.
pub fn entries() -> Vec<Entry> {
    lock().entries.iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_follow_module_paths() {
        assert_eq!(topic_of("arangorepl::replication::applier"), "replication");
        assert_eq!(topic_of("arangorepl::server::applier"), "replication");
        assert_eq!(topic_of("arangorepl::server::auth"), "authentication");
        assert_eq!(topic_of("arangorepl::server::misc"), "general");
        assert_eq!(topic_of("arangorepl::storey"), "general");
        assert!(directives(&[("general", 4)].into_iter().collect()).contains("arangorepl=debug"));
    }
}
