//! `/_api/wal/*`: tailing the replication log (spec §1.10, §1.11), its tick range and last tick, and the
//! (always empty) list of open transactions.
//!
//! Beyond ArangoDB, `tail` takes `longPollTimeout=<seconds>` (at most 60): when nothing newer than `from`
//! exists, the call waits up to that long for the next commit instead of answering 204 at once, so an
//! idle follower sees a write as soon as it commits. Without the parameter the answer is ArangoDB's.

use crate::error::{ArangoError, codes};
use crate::replication::filter::excluded;
use crate::replication::wire::{self, WalLastTick, WalRange};
use crate::server::http::{ApiError, ApiResult, Ctx, Params, bad, body_json, method_not_allowed};
use crate::server::leader::{dump_response, require_replication, server_info};
use crate::server::{Shared, blocking};
use crate::store::{LogQuery, RawRecord, marker, names};
use crate::tick::Tick;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Tail chunks (bytes): default, smallest and largest.
pub const TAIL_DEFAULT_CHUNK: usize = 1 << 20;
pub const TAIL_MIN_CHUNK: usize = 16 << 10;
pub const TAIL_MAX_CHUNK: usize = 128 << 20;
/// The longest long-poll a tail call may ask for.
pub const MAX_LONG_POLL: Duration = Duration::from_secs(60);

/// `/_api/wal` without a sub-command.
pub async fn no_command() -> ApiResult {
    Err(unknown())
}

fn unknown() -> ApiError {
    bad("expected GET /_api/wal/[tail|range|lastTick|open-transactions]>")
}

/// `/_api/wal/<command>`.
pub async fn command(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    method: Method,
    Path(cmd): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let known = matches!(
        cmd.as_str(),
        "tail" | "range" | "lastTick" | "open-transactions"
    );
    if !known {
        return Err(unknown());
    }
    if st.without_applier && cmd == "open-transactions" {
        return Err(crate::server::removed_path(&format!("/_api/wal/{cmd}")));
    }
    let allowed = match cmd.as_str() {
        "tail" => method == Method::GET || method == Method::PUT,
        _ => method == Method::GET,
    };
    if !allowed {
        return Err(method_not_allowed(&method, &format!("/_api/wal/{cmd}")));
    }
    require_replication(&ctx)?;
    match cmd.as_str() {
        "tail" => tail(&st, &ctx, &method, &p, &body).await,
        "range" => {
            let s = st.clone();
            let first = blocking(move || s.store.first_tick()).await?;
            let last = st.store.last_tick();
            let r = WalRange {
                time: crate::time::now_utc(),
                tick_min: Tick(first.unwrap_or(last)),
                tick_max: Tick(last),
                server: server_info(&st, false),
            };
            Ok(crate::server::http::json(
                StatusCode::OK,
                &serde_json::to_value(&r).unwrap_or(Value::Null),
            ))
        }
        "lastTick" => {
            let r = WalLastTick {
                time: crate::time::now_utc(),
                tick: Tick(st.store.last_tick()),
                server: server_info(&st, false),
            };
            Ok(crate::server::http::json(
                StatusCode::OK,
                &serde_json::to_value(&r).unwrap_or(Value::Null),
            ))
        }
        _ => {
            // open-transactions: only committed transactions reach the log, so there are none
            let (from, _) = from_to(&p)?;
            Ok(dump_response(
                Vec::new(),
                &[
                    (
                        wire::header::FROM_PRESENT,
                        st.store.from_present(from).to_string(),
                    ),
                    (wire::header::LAST_INCLUDED, "0".into()),
                ],
            ))
        }
    }
}

fn from_to(p: &Params) -> Result<(u64, u64), ApiError> {
    let from = p.u64("from")?.unwrap_or(0);
    let to = p.u64("to")?.unwrap_or(u64::MAX);
    if from > to || to == 0 {
        return Err(bad("invalid from/to values"));
    }
    Ok((from, to))
}

/// What one tail read produced.
struct TailRead {
    body: Vec<u8>,
    last_included: u64,
    last_scanned: u64,
    /// The newest tick the read's snapshot knew of.
    seen: u64,
}

async fn tail(st: &Shared, ctx: &Ctx, method: &Method, p: &Params, body: &Bytes) -> ApiResult {
    if method == Method::PUT
        && !body.iter().all(u8::is_ascii_whitespace)
        && !matches!(body_json(body)?, Value::Array(_))
    {
        return Err(bad("invalid body value. expecting array"));
    }
    let (from, to) = from_to(p)?;
    let global = p.bool("global", false);
    if global && ctx.db != names::SYSTEM_DATABASE {
        return Err(ApiError(ArangoError::with_message(
            codes::FORBIDDEN,
            "global tailing is only possible from within _system database",
        )));
    }
    let only = match p.str("collection").filter(|c| !c.is_empty()) {
        Some(c) if !global => Some(st.store.catalog().collection(&ctx.db, c)?.guid.clone()),
        _ => None,
    };
    let include_system = p.bool("includeSystem", false);
    let foxx = p.bool("includeFoxxQueues", false);
    let chunk_size = p.u64("chunkSize")?.map_or(TAIL_DEFAULT_CHUNK, |c| {
        (c as usize).clamp(TAIL_MIN_CHUNK, TAIL_MAX_CHUNK)
    });
    let long_poll = match p.str("longPollTimeout") {
        None => None,
        Some(_) if !st.long_poll => None,
        Some(v) => {
            let secs: f64 = v.trim().parse().map_err(|_| {
                bad(format!(
                    "invalid value for parameter 'longPollTimeout': expecting seconds, got '{v}'"
                ))
            })?;
            (secs > 0.0 && secs.is_finite())
                .then(|| Duration::from_secs_f64(secs).min(MAX_LONG_POLL))
        }
    };
    // a follower whose position is gone from the log hears so at once
    let deadline = long_poll
        .filter(|_| st.store.from_present(from))
        .map(|d| Instant::now() + d);
    let mut scan_from = from;
    let read = loop {
        let s = st.clone();
        let db = (!global).then(|| ctx.db.clone());
        let only = only.clone();
        let read = blocking(move || {
            let snap = s.store.snapshot()?;
            // which collections' markers to send, decided on the snapshot's own catalog, so a collection
            // created after the catalog was read cannot be mistaken for a dropped one; looked up as
            // markers come (a server-level tail need not go through every collection of every database)
            let cat = snap.catalog().clone();
            // (a guid is unique across databases)
            let keep: Mutex<HashMap<Vec<u8>, bool>> = Mutex::default();
            let wanted = |dbn: &[u8], cuid: &[u8]| -> bool {
                let mut keep = keep.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(&w) = keep.get(cuid) {
                    return w;
                }
                let w = match (std::str::from_utf8(dbn), std::str::from_utf8(cuid)) {
                    (Ok(d), Ok(g)) if !g.is_empty() => cat.collection(d, g).is_ok_and(|c| {
                        c.guid == g
                            && !excluded(&c.name, include_system, foxx)
                            && only.as_deref().is_none_or(|o| o == c.guid)
                    }),
                    _ => false,
                };
                keep.insert(cuid.to_vec(), w);
                w
            };
            let filter = |e: &RawRecord<'_>| match e.mtype {
                marker::DATABASE_CREATE | marker::DATABASE_DROP => db.is_none(),
                // drops are sent whatever the collection filters say: the collection is gone
                marker::COLLECTION_DROP => true,
                _ => wanted(e.db, e.cuid),
            };
            let mut q = LogQuery::after(scan_from)
                .until(to)
                .budget(usize::MAX, chunk_size)
                .filtered(&filter);
            if let Some(d) = &db {
                q = q.in_database(d);
            }
            let mut body = Vec::with_capacity(chunk_size.min(1 << 20) + 4096);
            let chunk = snap.read_log_lines(&q, &mut body)?;
            Ok(TailRead {
                body,
                last_included: chunk.last_included,
                last_scanned: chunk.last_scanned,
                seen: snap.tick()?,
            })
        })
        .await?;
        match deadline {
            Some(d) if read.body.is_empty() && read.last_scanned < to => {
                let now = Instant::now();
                if now >= d {
                    break read;
                }
                scan_from = read.last_scanned.max(scan_from);
                // wait for a commit the read could not have seen (not merely one after `scan_from`:
                // filtered markers leave those behind, and waiting for them would spin)
                let seen = read.seen.max(scan_from);
                tokio::select! {
                    _ = st.store.wait_for_tick(seen, d - now) => {}
                    _ = st.stopping() => break read,
                }
                if st.store.last_tick() <= seen {
                    break read;
                }
            }
            _ => break read,
        }
    };
    crate::server::leader::track(st, ctx, p, from);
    let last_tick = st.store.last_tick();
    let from_present = st.store.from_present(from);
    let check_more = read.last_included > 0 && read.last_included < last_tick;
    let last_scanned = read
        .last_scanned
        .max(p.u64("lastScanned")?.unwrap_or(0).min(from));
    let mut headers = vec![
        (wire::header::CHECK_MORE, check_more.to_string()),
        (wire::header::FROM_PRESENT, from_present.to_string()),
        (wire::header::LAST_INCLUDED, read.last_included.to_string()),
        (wire::header::LAST_SCANNED, last_scanned.to_string()),
        (wire::header::LAST_TICK, last_tick.to_string()),
    ];
    if let Some(d) = long_poll {
        headers.push((wire::header::LONG_POLL, format!("{:.3}", d.as_secs_f64())));
    }
    Ok(dump_response(read.body, &headers))
}
