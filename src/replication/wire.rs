//! Wire types of the leader's replication API (spec §1): what `arangorepl serve` answers and what a
//! follower parses. Ticks are [`Tick`]s (decimal strings on the wire, numbers accepted); attribute names
//! are ArangoDB's. Unknown attributes are ignored when parsing, so answers of other versions parse too.

use crate::tick::Tick;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Response headers of dump and tail.
pub mod header {
    pub const CHECK_MORE: &str = "x-arango-replication-checkmore";
    pub const LAST_INCLUDED: &str = "x-arango-replication-lastincluded";
    pub const LAST_SCANNED: &str = "x-arango-replication-lastscanned";
    pub const LAST_TICK: &str = "x-arango-replication-lasttick";
    pub const FROM_PRESENT: &str = "x-arango-replication-frompresent";
    pub const ACTIVE: &str = "x-arango-replication-active";
    /// The content type of dump and tail bodies: one compact JSON object per line.
    pub const DUMP_CONTENT_TYPE: &str = "application/x-arango-dump";
    /// arangorepl only: set on a `wal/tail` answer when the server honoured `longPollTimeout` (seconds
    /// it was willing to wait), so a follower knows it need not poll.
    pub const LONG_POLL: &str = "x-arangorepl-long-poll";
}

/// `state` of `logger-state` (also inside batches and inventories).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggerStateState {
    pub running: bool,
    pub last_log_tick: Tick,
    #[serde(default)]
    pub last_uncommitted_log_tick: Option<Tick>,
    /// A JSON number (RocksDB: the same value as `lastLogTick`).
    #[serde(default)]
    pub total_events: u64,
    #[serde(default)]
    pub time: String,
}

impl LoggerStateState {
    /// The state of a RocksDB-like leader whose latest tick is `tick`.
    pub fn at(tick: u64) -> Self {
        LoggerStateState {
            running: true,
            last_log_tick: Tick(tick),
            last_uncommitted_log_tick: Some(Tick(tick)),
            total_events: tick,
            time: crate::time::now_utc(),
        }
    }
}

/// `server` of `logger-state`, `wal/range`, `wal/lastTick`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    pub version: String,
    pub server_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
}

/// One entry of `logger-state.clients`: a follower the leader has served recently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationClient {
    #[serde(default)]
    pub syncer_id: String,
    #[serde(default)]
    pub server_id: String,
    #[serde(default)]
    pub client_info: String,
    #[serde(default)]
    pub time: String,
    #[serde(default)]
    pub expires: String,
    /// A string; older leaders sent a number, which parses too.
    pub last_served_tick: Tick,
}

/// `GET /_api/replication/logger-state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggerState {
    pub state: LoggerStateState,
    pub server: ServerInfo,
    #[serde(default)]
    pub clients: Vec<ReplicationClient>,
}

/// `POST /_api/replication/batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchCreated {
    pub id: String,
    pub last_tick: Tick,
    /// The logger state, with `?state=true` (3.8+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<LoggerState>,
}

/// One collection of an inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryCollection {
    /// Secondary indexes only, in inventory form.
    #[serde(default)]
    pub indexes: Vec<Value>,
    /// Collection properties (`id`/`cid`, `name`, `type`, `globallyUniqueId`, `deleted`, …).
    pub parameters: Value,
}

impl InventoryCollection {
    /// The leader's collection id (`id`, or `cid`; string or number).
    pub fn id(&self) -> Option<u64> {
        let p = &self.parameters;
        [p.get("id"), p.get("cid")]
            .into_iter()
            .flatten()
            .find_map(|v| match v {
                Value::String(s) => s.parse().ok(),
                Value::Number(n) => n.as_u64(),
                _ => None,
            })
    }

    pub fn name(&self) -> &str {
        self.parameters
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// 2 = document, 3 = edge.
    pub fn collection_type(&self) -> u64 {
        self.parameters
            .get("type")
            .and_then(Value::as_u64)
            .unwrap_or(2)
    }

    pub fn globally_unique_id(&self) -> &str {
        self.parameters
            .get("globallyUniqueId")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn deleted(&self) -> bool {
        self.parameters
            .get("deleted")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

/// The collections and views of one database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseInventory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
    pub collections: Vec<InventoryCollection>,
    #[serde(default)]
    pub views: Vec<Value>,
}

/// `GET /_api/replication/inventory` (one database).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    #[serde(flatten)]
    pub database: DatabaseInventory,
    pub state: LoggerStateState,
    pub tick: Tick,
}

/// `GET /_api/replication/inventory?global=true`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalInventory {
    pub databases: serde_json::Map<String, Value>,
    pub state: LoggerStateState,
    pub tick: Tick,
}

/// `POST /_api/replication/keys`: `id` is missing when `quick=true` found too many documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeysCreated {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick: Option<Tick>,
    /// Beyond ArangoDB: an arangorepl leader's fingerprint of the collection's `(_key, _rev)` pairs (a u64
    /// as a decimal string). A follower with the same count and fingerprint has the same documents and
    /// needs no key ranges; other leaders do not send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// One range of `GET /_api/replication/keys/<id>`: its first and last key and the chunk hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRange {
    pub low: String,
    pub high: String,
    /// A u64 as a decimal string.
    pub hash: String,
}

/// `GET /_api/wal/range`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalRange {
    pub time: String,
    pub tick_min: Tick,
    pub tick_max: Tick,
    pub server: ServerInfo,
}

/// `GET /_api/wal/lastTick`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalLastTick {
    pub time: String,
    pub tick: Tick,
    pub server: ServerInfo,
}

impl LoggerState {
    /// What `logger-state` says, derived from `wal/lastTick` for a leader that no longer answers it
    /// (ArangoDB 3.12.10+ may not): running, at that tick, no clients known.
    pub fn from_last_tick(last: &WalLastTick) -> Self {
        let mut server = last.server.clone();
        server.engine.get_or_insert_with(|| "rocksdb".to_string());
        LoggerState {
            state: LoggerStateState {
                time: last.time.clone(),
                ..LoggerStateState::at(last.tick.0)
            },
            server,
            clients: Vec::new(),
        }
    }
}

impl WalRange {
    /// `logger-first-tick`, derived from `wal/range`.
    pub fn first_tick(&self) -> FirstTick {
        FirstTick {
            first_tick: Some(self.tick_min),
        }
    }

    /// `logger-tick-ranges`, derived from `wal/range`: the whole log as one open range.
    pub fn tick_ranges(&self) -> Vec<TickRange> {
        vec![TickRange {
            datafile: "/wal".to_string(),
            status: "open".to_string(),
            tick_min: self.tick_min,
            tick_max: self.tick_max,
        }]
    }

    /// Whether a follower asking for changes after `from` finds them all (`frompresent`).
    pub fn has(&self, from: u64) -> bool {
        from >= self.tick_min.0.saturating_sub(1)
    }
}

/// Whether an index definition is one a collection has by itself (`primary`, `edge`): never created.
pub fn is_implicit_index(spec: &Value) -> bool {
    matches!(
        spec.get("type").and_then(Value::as_str),
        Some("primary" | "edge")
    )
}

/// The indexes of an `indexes` array that are created (all but the implicit ones); anything but an
/// array has none.
pub fn created_indexes(indexes: Option<&Value>) -> Vec<Value> {
    match indexes {
        Some(Value::Array(a)) => a
            .iter()
            .filter(|i| !is_implicit_index(i))
            .cloned()
            .collect(),
        _ => Vec::new(),
    }
}

/// `GET /_api/replication/logger-tick-ranges` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickRange {
    pub datafile: String,
    pub status: String,
    pub tick_min: Tick,
    pub tick_max: Tick,
}

/// `GET /_api/replication/logger-first-tick`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirstTick {
    pub first_tick: Option<Tick>,
}

/// One line of a tail (or legacy dump) body. Every field but `type` is optional so that all marker
/// generations parse: `/_api/wal/tail` (`db`, `cuid`), `logger-follow` (`database`, `cid`, `cname`) and
/// old dumps (`key`, `rev`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick: Option<Tick>,
    #[serde(rename = "type")]
    pub mtype: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<Tick>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
}

/// The lines of an `application/x-arango-dump` body that carry something (at least two bytes), as byte
/// ranges into it.
pub fn line_ranges(body: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        while start < body.len() {
            let end = body[start..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(body.len(), |p| start + p);
            let line = start..end;
            start = end + 1;
            if line.len() >= 2 {
                return Some(line);
            }
        }
        None
    })
}

/// Parses an `application/x-arango-dump` body: one JSON object per line, stopping at a line shorter
/// than two bytes.
pub fn parse_lines<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, String> {
    let mut out = Vec::new();
    for (n, line) in body.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() < 2 {
            break;
        }
        out.push(
            serde_json::from_slice(line)
                .map_err(|e| format!("invalid marker on line {}: {e}", n + 1))?,
        );
    }
    Ok(out)
}

/// A marker of a `wal/tail` (or `logger-follow`) body as the applier reads it: strings borrowed from the
/// body where possible and `data` left unparsed, so a document can be stored as the leader sent it.
#[derive(Debug, Deserialize)]
pub struct TailMarker<'a> {
    #[serde(default)]
    pub tick: Option<Tick>,
    #[serde(rename = "type")]
    pub mtype: u16,
    #[serde(default, borrow)]
    pub db: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    pub database: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    pub cuid: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    pub cid: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    pub tid: Option<Tick>,
    #[serde(default, borrow)]
    pub data: Option<&'a serde_json::value::RawValue>,
}
