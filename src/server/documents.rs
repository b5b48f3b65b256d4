//! `/_api/document`: single and array inserts, reads, replaces, updates and removes, with ArangoDB's
//! status codes (201 synced / 202 not, 200, 304, 404, 409, 412), `If-Match` / `If-None-Match`, and the
//! `x-arango-trx-id` header for stream transactions.

use crate::error::{ArangoError, ArangoResult, codes};
use crate::server::http::{ApiError, ApiResult, Ctx, Params, bad, body_json, etag, json};
use crate::server::{Shared, blocking, write_status};
use crate::store::{DocOp, DocResult, OverwriteMode, WriteOptions};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Insert,
    Replace,
    Update,
    Remove,
}

fn options(p: &Params) -> Result<(WriteOptions, bool), ApiError> {
    let overwrite_mode = match p.str("overwriteMode") {
        Some(m) if !m.is_empty() => OverwriteMode::parse(m)?,
        _ if p.bool("overwrite", false) => OverwriteMode::Replace,
        _ => OverwriteMode::Conflict,
    };
    let o = WriteOptions {
        wait_for_sync: p.bool("waitForSync", false),
        overwrite_mode,
        keep_null: p.bool("keepNull", true),
        merge_objects: p.bool("mergeObjects", true),
        is_restore: p.bool("isRestore", false),
        ignore_revs: p.bool("ignoreRevs", true),
        return_new: p.bool("returnNew", false),
        return_old: p.bool("returnOld", false),
    };
    Ok((o, p.bool("silent", false)))
}

fn with_etag(mut r: Response, rev: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{rev}\"")) {
        r.headers_mut().insert("etag", v);
    }
    r
}

fn item_error(e: &ArangoError) -> Value {
    json!({"error": true, "errorNum": e.error_num, "errorMessage": e.message})
}

/// A failed single-document write; a failed precondition is 412 with the current `_id/_key/_rev`.
fn single_error(st: &Shared, ctx: &Ctx, coll: &str, key: Option<&str>, e: ArangoError) -> Response {
    if e.error_num == codes::ARANGO_CONFLICT {
        if let Some(k) = key
            && let Ok(doc) = st.store.document(&ctx.db, coll, k, ctx.trx)
        {
            let body = json!({
                "error": true, "code": 412, "errorNum": 1200, "errorMessage": "conflict, _rev values do not match",
                "_id": doc["_id"], "_key": doc["_key"], "_rev": doc["_rev"],
            });
            return with_etag(
                json(StatusCode::PRECONDITION_FAILED, &body),
                doc["_rev"].as_str().unwrap_or(""),
            );
        }
        return ApiError(e.with_status(412)).into_response();
    }
    ApiError(e).into_response()
}

async fn run(
    st: &Shared,
    ctx: &Ctx,
    coll: &str,
    items: Vec<Value>,
    o: WriteOptions,
    op: Op,
) -> Result<(Vec<ArangoResult<DocResult>>, bool), ApiError> {
    let (cid, synced) = write_target(st, ctx, coll, &o)?;
    let cid = cid.to_string();
    let kind = match op {
        Op::Insert => DocOp::Insert,
        Op::Replace => DocOp::Replace,
        Op::Update => DocOp::Update,
        Op::Remove => DocOp::Remove,
    };
    // The JSON work runs here; the writer thread stores and answers after its commit.
    let res = st
        .store
        .write_documents(&ctx.db, &cid, items, &o, ctx.trx, kind)
        .await?;
    Ok((res, synced))
}

/// The collection a write goes to, if the user may write it: its id, and whether the write is synced.
fn write_target(
    st: &Shared,
    ctx: &Ctx,
    coll: &str,
    o: &WriteOptions,
) -> Result<(u64, bool), ApiError> {
    ctx.require_collection(&st.auth, coll, true)?;
    let cat = st.store.catalog();
    let def = cat.collection(&ctx.db, coll)?;
    Ok((def.id, o.wait_for_sync || def.wait_for_sync))
}

fn ok_status(op: Op, synced: bool) -> StatusCode {
    match (op, synced) {
        (Op::Remove, true) => StatusCode::OK,
        (_, s) => write_status(s),
    }
}

/// Responds to a single-document write.
async fn single(
    st: Shared,
    ctx: Ctx,
    coll: String,
    item: Value,
    key: Option<String>,
    q: Option<String>,
    op: Op,
) -> ApiResult {
    let (o, silent) = options(&Params::parse(q.as_deref()))?;
    let (mut res, synced) = run(&st, &ctx, &coll, vec![item], o, op).await?;
    match res.pop() {
        Some(Ok(r)) => {
            let body = if silent { json!({}) } else { r.to_json() };
            let mut resp = with_etag(json(ok_status(op, synced), &body), &r.rev);
            let loc = format!("/_db/{}/_api/document/{}", ctx.db, r.id);
            if let Ok(v) = HeaderValue::from_str(&loc) {
                resp.headers_mut().insert("location", v);
            }
            Ok(resp)
        }
        Some(Err(e)) => Ok(single_error(&st, &ctx, &coll, key.as_deref(), e)),
        None => Err(ApiError(ArangoError::internal("no result"))),
    }
}

/// Responds to an array write: one entry per document, errors inline, counted in `x-arango-error-codes`.
async fn many(
    st: Shared,
    ctx: Ctx,
    coll: String,
    items: Vec<Value>,
    q: Option<String>,
    op: Op,
) -> ApiResult {
    let (o, silent) = options(&Params::parse(q.as_deref()))?;
    let (res, synced) = run(&st, &ctx, &coll, items, o, op).await?;
    Ok(many_response(&res, silent, op, synced))
}

fn many_response(res: &[ArangoResult<DocResult>], silent: bool, op: Op, synced: bool) -> Response {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let out: Vec<Value> = res
        .iter()
        .filter_map(|r| match r {
            Ok(_) if silent => None,
            Ok(d) => Some(d.to_json()),
            Err(e) => {
                *counts.entry(e.error_num.to_string()).or_default() += 1;
                Some(item_error(e))
            }
        })
        .collect();
    let mut resp = json(ok_status(op, synced), &Value::Array(out));
    if !counts.is_empty()
        && let Ok(v) = HeaderValue::from_str(&serde_json::to_string(&counts).unwrap_or_default())
    {
        resp.headers_mut().insert("x-arango-error-codes", v);
    }
    resp
}

/// Array bodies of at least this many bytes are inserted while they are parsed: the store's writer
/// stores the first documents while the request's thread parses the next.
const STREAM_BODY: usize = 64 * 1024;

/// An array insert whose body is parsed as the writer stores it (see [`STREAM_BODY`]); answers exactly
/// as [`many`], a broken body included (nothing is stored then).
async fn many_streamed(
    st: Shared,
    ctx: Ctx,
    coll: String,
    body: Bytes,
    q: Option<String>,
) -> ApiResult {
    let checked = options(&Params::parse(q.as_deref())).and_then(|(o, silent)| {
        let (_, synced) = write_target(&st, &ctx, &coll, &o)?;
        Ok((synced, o, silent))
    });
    let (synced, o, silent) = match checked {
        Ok(c) => c,
        Err(e) => {
            // a broken body is reported before anything else, as for a body parsed up front
            body_json(&body)?;
            return Err(e);
        }
    };
    let (store, db) = (st.store.clone(), ctx.db.clone());
    let res =
        blocking(move || store.insert_streamed(&db, &coll, &o, |push| array_elements(&body, push)))
            .await?;
    Ok(many_response(&res, silent, Op::Insert, synced))
}

/// Hands each element of a JSON array body to `push` as it is parsed; the error for a body that is not
/// valid JSON is [`body_json`]'s.
fn array_elements(body: &[u8], push: &mut dyn FnMut(Value)) -> ArangoResult<()> {
    struct Elements<'a>(&'a mut dyn FnMut(Value));
    impl<'de> serde::de::Visitor<'de> for Elements<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(v) = seq.next_element::<Value>()? {
                (self.0)(v);
            }
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    serde::Deserializer::deserialize_seq(&mut de, Elements(push))
        .and_then(|()| de.end())
        .map_err(|e| {
            ArangoError::with_message(
                codes::HTTP_CORRUPTED_JSON,
                format!("invalid JSON object: {e}"),
            )
        })
}

/// `POST /_api/document/<coll>` (object or array)
pub async fn insert(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(coll): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    if body.len() >= STREAM_BODY
        && ctx.trx.is_none()
        && body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
    {
        return many_streamed(st, ctx, coll, body, q).await;
    }
    match body_json(&body)? {
        Value::Array(items) => many(st, ctx, coll, items, q, Op::Insert).await,
        v => single(st, ctx, coll, v, None, q, Op::Insert).await,
    }
}

fn array_body(body: &Bytes) -> Result<Vec<Value>, ApiError> {
    match body_json(body)? {
        Value::Array(a) => Ok(a),
        _ => Err(bad("expecting a JSON array of documents as body")),
    }
}

/// `PUT /_api/document/<coll>` (array)
pub async fn replace_many(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(coll): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    if Params::parse(q.as_deref()).bool("onlyget", false) {
        return read_many(st, ctx, coll, array_body(&body)?).await;
    }
    many(st, ctx, coll, array_body(&body)?, q, Op::Replace).await
}

/// `PATCH /_api/document/<coll>` (array)
pub async fn update_many(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(coll): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    many(st, ctx, coll, array_body(&body)?, q, Op::Update).await
}

/// `DELETE /_api/document/<coll>` (array of keys or `{_key}` objects)
pub async fn remove_many(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(coll): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    many(st, ctx, coll, array_body(&body)?, q, Op::Remove).await
}

/// The body object with `_key` from the URL and `_rev` from `If-Match` (which makes it a precondition).
fn target(
    key: &str,
    body: Option<Value>,
    headers: &HeaderMap,
    q: &mut Option<String>,
) -> Result<Value, ApiError> {
    let mut obj = match body {
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(ApiError(ArangoError::with_message(
                codes::ARANGO_DOCUMENT_TYPE_INVALID,
                "invalid document type: expecting a JSON object",
            )));
        }
        None => Map::new(),
    };
    obj.insert("_key".into(), Value::String(key.to_string()));
    if let Some(rev) = etag(headers, "if-match") {
        obj.insert("_rev".into(), Value::String(rev));
        let extra = "ignoreRevs=false";
        *q = Some(match q.take() {
            Some(s) if !s.is_empty() => format!("{s}&{extra}"),
            _ => extra.to_string(),
        });
    }
    Ok(Value::Object(obj))
}

/// `PUT /_api/document/<coll>/<key>`
pub async fn replace_one(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((coll, key)): Path<(String, String)>,
    RawQuery(mut q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let item = target(&key, Some(body_json(&body)?), &headers, &mut q)?;
    single(st, ctx, coll, item, Some(key), q, Op::Replace).await
}

/// `PATCH /_api/document/<coll>/<key>`
pub async fn update_one(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((coll, key)): Path<(String, String)>,
    RawQuery(mut q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let item = target(&key, Some(body_json(&body)?), &headers, &mut q)?;
    single(st, ctx, coll, item, Some(key), q, Op::Update).await
}

/// `DELETE /_api/document/<coll>/<key>`
pub async fn remove_one(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((coll, key)): Path<(String, String)>,
    RawQuery(mut q): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    let item = target(&key, None, &headers, &mut q)?;
    single(st, ctx, coll, item, Some(key), q, Op::Remove).await
}

async fn fetch(st: &Shared, ctx: &Ctx, coll: &str, key: &str) -> Result<Value, ApiError> {
    ctx.require_collection(&st.auth, coll, false)?;
    let (st2, db, c, k, trx) = (
        st.clone(),
        ctx.db.clone(),
        coll.to_string(),
        key.to_string(),
        ctx.trx,
    );
    blocking(move || st2.store.document(&db, &c, &k, trx)).await
}

/// Applies `If-None-Match` (304) and `If-Match` (412) to a read.
fn conditional(doc: &Value, headers: &HeaderMap, with_body: bool) -> Response {
    let rev = doc["_rev"].as_str().unwrap_or("").to_string();
    if etag(headers, "if-none-match").as_deref() == Some(rev.as_str()) {
        return with_etag(StatusCode::NOT_MODIFIED.into_response(), &rev);
    }
    if let Some(want) = etag(headers, "if-match")
        && want != rev
    {
        let body = json!({
            "error": true, "code": 412, "errorNum": 1200, "errorMessage": "conflict, _rev values do not match",
            "_id": doc["_id"], "_key": doc["_key"], "_rev": rev,
        });
        let r = if with_body {
            json(StatusCode::PRECONDITION_FAILED, &body)
        } else {
            StatusCode::PRECONDITION_FAILED.into_response()
        };
        return with_etag(r, &rev);
    }
    let r = if with_body {
        json(StatusCode::OK, doc)
    } else {
        StatusCode::OK.into_response()
    };
    with_etag(r, &rev)
}

/// `GET /_api/document/<coll>/<key>`
pub async fn read(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((coll, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let doc = fetch(&st, &ctx, &coll, &key).await?;
    Ok(conditional(&doc, &headers, true))
}

/// `HEAD /_api/document/<coll>/<key>`
pub async fn head(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path((coll, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match fetch(&st, &ctx, &coll, &key).await {
        Ok(doc) => conditional(&doc, &headers, false),
        Err(e) => StatusCode::from_u16(e.0.code)
            .unwrap_or(StatusCode::NOT_FOUND)
            .into_response(),
    }
}

/// `PUT /_api/document/<coll>?onlyget=true`: read many documents by key.
async fn read_many(st: Shared, ctx: Ctx, coll: String, items: Vec<Value>) -> ApiResult {
    ctx.require_collection(&st.auth, &coll, false)?;
    let (st2, db, trx) = (st.clone(), ctx.db.clone(), ctx.trx);
    let out = blocking(move || {
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            let key = match &it {
                Value::String(s) => s.clone(),
                Value::Object(o) => o
                    .get("_key")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                _ => String::new(),
            };
            out.push(match st2.store.document(&db, &coll, &key, trx) {
                Ok(d) => d,
                Err(e)
                    if e.error_num == codes::ARANGO_DATA_SOURCE_NOT_FOUND
                        || e.error_num == codes::ARANGO_DATABASE_NOT_FOUND =>
                {
                    return Err(e);
                }
                Err(e) => item_error(&e),
            });
        }
        Ok(out)
    })
    .await?;
    Ok(json(StatusCode::OK, &Value::Array(out)))
}
