//! Whole-collection reads without a query language: `PUT /_api/simple/all|any|first-example|by-example`,
//! continued through `PUT /_api/cursor/<id>` and released with `DELETE /_api/cursor/<id>`. A cursor pages
//! through the snapshot taken when it was created, so concurrent writes never tear a result.
//! AQL cursors (`POST /_api/cursor`, in `server/aql.rs`) page through the same cursors.

use crate::error::{ArangoError, ArangoResult, codes};
use crate::server::http::{ApiError, ApiResult, Ctx, bad, body_object, ok_with};
use crate::server::{Shared, blocking};
use crate::store::Snapshot;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PAGE: usize = 1000;

/// A server-side cursor over one collection of a snapshot.
pub struct Cursor {
    snap: Snapshot,
    cid: u64,
    after: Option<String>,
    exhausted: bool,
    example: Option<Map<String, Value>>,
    skip: u64,
    left: u64,
    batch: usize,
    count: Option<u64>,
    buffered: VecDeque<Value>,
    touched: Instant,
    /// How long the cursor lives unused (`ttl` of `POST /_api/cursor`; else the sweep's default).
    ttl: Option<Duration>,
}

fn matches(doc: &Value, example: &Map<String, Value>) -> bool {
    example.iter().all(|(k, want)| {
        let mut cur = Some(doc);
        for part in k.split('.') {
            cur = cur.and_then(|c| c.get(part));
        }
        match (cur, want) {
            (Some(have), Value::Object(sub)) if have.is_object() => matches(have, sub),
            (Some(have), w) => have == w,
            (None, Value::Null) => true,
            (None, _) => false,
        }
    })
}

impl Cursor {
    fn fill(&mut self, want: usize) -> ArangoResult<()> {
        while self.buffered.len() < want && !self.exhausted && self.left > 0 {
            let page = self
                .snap
                .documents_after(self.cid, self.after.as_deref(), PAGE)?;
            if page.len() < PAGE {
                self.exhausted = true;
            }
            if let Some(last) = page.last() {
                self.after = last["_key"].as_str().map(str::to_string);
            }
            for d in page {
                if self.example.as_ref().is_some_and(|e| !matches(&d, e)) {
                    continue;
                }
                if self.skip > 0 {
                    self.skip -= 1;
                    continue;
                }
                if self.left == 0 {
                    break;
                }
                self.left -= 1;
                self.buffered.push_back(d);
            }
        }
        Ok(())
    }

    /// The next batch and whether more follows.
    fn next(&mut self) -> ArangoResult<(Vec<Value>, bool)> {
        self.touched = Instant::now();
        self.fill(self.batch + 1)?;
        let n = self.batch.min(self.buffered.len());
        let out: Vec<Value> = self.buffered.drain(..n).collect();
        let more = !self.buffered.is_empty();
        Ok((out, more))
    }
}

/// Open cursors by id.
#[derive(Default)]
pub struct Cursors {
    map: Mutex<HashMap<u64, Arc<Mutex<Cursor>>>>,
}

impl Cursors {
    fn insert(&self, id: u64, c: Cursor) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, Arc::new(Mutex::new(c)));
    }

    fn get(&self, id: u64) -> Option<Arc<Mutex<Cursor>>> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }

    fn remove(&self, id: u64) -> bool {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)
            .is_some()
    }

    /// Drops cursors unused for their own `ttl`, or `ttl` for those without one.
    pub fn expire(&self, ttl: Duration) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, c| {
                c.try_lock()
                    .map(|c| c.touched.elapsed() < c.ttl.unwrap_or(ttl))
                    .unwrap_or(true)
            });
    }
}

fn cursor_not_found(id: &str) -> ApiError {
    ApiError(ArangoError::with_message(
        codes::CURSOR_NOT_FOUND,
        format!("cursor not found: {id}"),
    ))
}

fn page_response(
    id: u64,
    docs: Vec<Value>,
    more: bool,
    count: Option<u64>,
    status: StatusCode,
) -> axum::response::Response {
    let mut v = json!({"result": docs, "hasMore": more, "cached": false, "extra": {"stats": {}, "warnings": []}});
    if more {
        v["id"] = json!(id.to_string());
    }
    if let Some(c) = count {
        v["count"] = json!(c);
    }
    ok_with(status, v)
}

/// The `collection` attribute of a simple-query body (1204 if missing).
fn collection_of(b: &Map<String, Value>) -> Result<String, ApiError> {
    b.get("collection")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError(ArangoError::new(codes::ARANGO_COLLECTION_PARAMETER_MISSING)))
}

fn opt_u64(b: &Map<String, Value>, k: &str) -> Result<Option<u64>, ApiError> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad(format!("'{k}' must be a non-negative integer"))),
    }
}

async fn open_cursor(st: Shared, ctx: Ctx, body: Bytes, with_example: bool) -> ApiResult {
    ctx.require_read()?;
    let b = body_object(&body)?;
    let coll = collection_of(&b)?;
    let example = if with_example {
        match b.get("example") {
            Some(Value::Object(e)) => Some(e.clone()),
            _ => return Err(bad("expecting an object attribute 'example'")),
        }
    } else {
        None
    };
    let skip = opt_u64(&b, "skip")?.unwrap_or(0);
    let limit = opt_u64(&b, "limit")?.filter(|l| *l > 0).unwrap_or(u64::MAX);
    let batch = opt_u64(&b, "batchSize")?
        .filter(|n| *n > 0)
        .unwrap_or(1000)
        .min(100_000) as usize;
    let (st2, db) = (st.clone(), ctx.db.clone());
    blocking(move || {
        let snap = st2.store.snapshot()?;
        let cid = snap.catalog().collection(&db, &coll)?.id;
        let total = snap.stats(cid)?.count;
        let count = example
            .is_none()
            .then(|| total.saturating_sub(skip).min(limit));
        let mut c = Cursor {
            snap,
            cid,
            after: None,
            exhausted: false,
            example,
            skip,
            left: limit,
            batch,
            count,
            buffered: VecDeque::new(),
            touched: Instant::now(),
            ttl: None,
        };
        let (docs, more) = c.next()?;
        let id = st2.store.new_tick_value();
        let count = c
            .count
            .or(if more { None } else { Some(docs.len() as u64) });
        if more {
            st2.cursors.insert(id, c);
        }
        Ok(page_response(id, docs, more, count, StatusCode::CREATED))
    })
    .await
}

/// `PUT /_api/simple/all {"collection", "skip", "limit", "batchSize"}`
pub async fn all(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    open_cursor(st, ctx, body, false).await
}

/// `PUT /_api/simple/by-example {"collection", "example", "skip", "limit", "batchSize"}`
pub async fn by_example(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    open_cursor(st, ctx, body, true).await
}

/// `PUT /_api/simple/first-example {"collection", "example"}` → `{"document"}` or 404.
pub async fn first_example(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    ctx.require_read()?;
    let b = body_object(&body)?;
    let coll = collection_of(&b)?;
    let example = match b.get("example") {
        Some(Value::Object(e)) => e.clone(),
        _ => return Err(bad("expecting an object attribute 'example'")),
    };
    let (st2, db) = (st.clone(), ctx.db.clone());
    let found = blocking(move || {
        let snap = st2.store.snapshot()?;
        let cid = snap.catalog().collection(&db, &coll)?.id;
        let mut after: Option<String> = None;
        loop {
            let page = snap.documents_after(cid, after.as_deref(), PAGE)?;
            if let Some(d) = page.iter().find(|d| matches(d, &example)) {
                return Ok(Some(d.clone()));
            }
            if page.len() < PAGE {
                return Ok(None);
            }
            after = page
                .last()
                .and_then(|d| d["_key"].as_str().map(str::to_string));
        }
    })
    .await?;
    match found {
        Some(d) => Ok(ok_with(StatusCode::OK, json!({"document": d}))),
        None => Err(ApiError(ArangoError::with_message(
            codes::ARANGO_DOCUMENT_NOT_FOUND,
            "no match",
        ))),
    }
}

/// `PUT /_api/simple/any {"collection"}` → `{"document": <random document or null>}`
pub async fn any_doc(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    ctx.require_read()?;
    let b = body_object(&body)?;
    let coll = collection_of(&b)?;
    let (st2, db) = (st.clone(), ctx.db.clone());
    let doc = blocking(move || {
        let snap = st2.store.snapshot()?;
        let cid = snap.catalog().collection(&db, &coll)?.id;
        let n = snap.stats(cid)?.count;
        if n == 0 {
            return Ok(Value::Null);
        }
        let mut pick = crate::store::keygen::random_u64() % n;
        let mut found = Value::Null;
        snap.for_each_raw(cid, |_, bytes| {
            if pick == 0 {
                found = serde_json::from_slice(bytes).unwrap_or(Value::Null);
                return false;
            }
            pick -= 1;
            true
        })?;
        Ok(found)
    })
    .await?;
    Ok(ok_with(StatusCode::OK, json!({"document": doc})))
}

/// `PUT|POST /_api/cursor/<id>`: the next batch.
pub async fn next_batch(
    State(st): State<Shared>,
    Extension(_ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let num: u64 = id.parse().map_err(|_| cursor_not_found(&id))?;
    let c = st.cursors.get(num).ok_or_else(|| cursor_not_found(&id))?;
    let (docs, more, count) = blocking(move || {
        let mut c = c.lock().unwrap_or_else(|p| p.into_inner());
        let (d, m) = c.next()?;
        Ok((d, m, c.count))
    })
    .await?;
    if !more {
        st.cursors.remove(num);
    }
    Ok(page_response(num, docs, more, count, StatusCode::OK))
}

/// `DELETE /_api/cursor/<id>`
pub async fn drop_cursor(
    State(st): State<Shared>,
    Extension(_ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let num: u64 = id.parse().map_err(|_| cursor_not_found(&id))?;
    if st.cursors.remove(num) {
        Ok(ok_with(StatusCode::ACCEPTED, json!({"id": id})))
    } else {
        Err(cursor_not_found(&id))
    }
}

/// A cursor over results computed already (an AQL query's), paged like the others.
pub fn open_buffered(
    st: &Shared,
    snap: Snapshot,
    results: Vec<Value>,
    batch: usize,
    count: bool,
    ttl: Option<Duration>,
) -> ArangoResult<(u64, Vec<Value>, bool, Option<u64>)> {
    let total = results.len() as u64;
    let mut c = Cursor {
        snap,
        cid: 0,
        after: None,
        exhausted: true,
        example: None,
        skip: 0,
        left: u64::MAX,
        batch,
        count: count.then_some(total),
        buffered: results.into(),
        touched: Instant::now(),
        ttl,
    };
    let (docs, more) = c.next()?;
    let id = st.store.new_tick_value();
    let count = c.count;
    if more {
        st.cursors.insert(id, c);
    }
    Ok((id, docs, more, count))
}
