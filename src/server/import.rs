//! `POST /_api/import`: bulk load, as arangoimport and the drivers send it. Bodies: `type=documents` (one
//! JSON object per line), `type=array` (one JSON array), `type=auto` (either), or without `type` the list
//! form (a first line with the attribute names, then one array of values per line). Options:
//! `onDuplicate` (error, update, replace, ignore), `complete` (all or nothing), `details`, `overwrite`
//! (empty the collection first), `fromPrefix`/`toPrefix`, `waitForSync`. The documents are written like
//! any batch, so they reach the replication log as one transaction.

use crate::error::{ArangoError, ArangoResult, codes};
use crate::server::http::{ApiError, ApiResult, Ctx, Params, bad, json};
use crate::server::{Shared, blocking};
use crate::store::{DocOp, DocResult, OverwriteMode, TrxCollections, TrxOptions, WriteOptions};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

/// One input row: a document, an empty line, or a row that could not be read (with the reason).
enum Row {
    Doc(Value),
    Empty,
    Bad(String),
}

/// How much of an offending row an error detail quotes.
const CONTEXT: usize = 256;

fn context(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(CONTEXT) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

fn not_an_object(text: &str) -> Row {
    Row::Bad(format!(
        "invalid JSON type (expecting object, probably parse error), offending context: {}",
        context(text)
    ))
}

/// One JSON object per line.
fn document_lines(body: &str) -> Vec<Row> {
    body.lines()
        .map(|line| {
            if line.trim().is_empty() {
                return Row::Empty;
            }
            match serde_json::from_str::<Value>(line) {
                Ok(v @ Value::Object(_)) => Row::Doc(v),
                _ => not_an_object(line),
            }
        })
        .collect()
}

/// One JSON array of objects.
fn array_body(body: &str) -> Result<Vec<Row>, ApiError> {
    let v: Value = serde_json::from_str(body).map_err(|e| {
        ApiError(ArangoError::with_message(
            codes::HTTP_CORRUPTED_JSON,
            format!("invalid JSON array in the request body: {e}"),
        ))
    })?;
    let Value::Array(items) = v else {
        return Err(bad("expecting a JSON array in the request body"));
    };
    Ok(items
        .into_iter()
        .map(|d| match d {
            Value::Object(_) => Row::Doc(d),
            other => not_an_object(&other.to_string()),
        })
        .collect())
}

/// The list form: a first line with the attribute names, then one array of values per line; `null`
/// values leave the attribute out.
fn list_form(body: &str) -> Result<Vec<Row>, ApiError> {
    let mut lines = body.lines();
    let header = loop {
        match lines.next() {
            Some(l) if l.trim().is_empty() => continue,
            Some(l) => break l,
            None => return Ok(Vec::new()),
        }
    };
    let names: Vec<String> = match serde_json::from_str::<Value>(header) {
        Ok(Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_string) => a
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => {
            return Err(bad(
                "the first line must be a JSON array of attribute names (or pass type=documents|array|auto)",
            ));
        }
    };
    Ok(lines
        .map(|line| {
            if line.trim().is_empty() {
                return Row::Empty;
            }
            match serde_json::from_str::<Value>(line) {
                Ok(Value::Array(values)) if values.len() == names.len() => {
                    let doc: Map<String, Value> = names
                        .iter()
                        .cloned()
                        .zip(values)
                        .filter(|(_, v)| !v.is_null())
                        .collect();
                    Row::Doc(Value::Object(doc))
                }
                Ok(Value::Array(values)) => Row::Bad(format!(
                    "wrong number of JSON values (got {}, expected {}), offending context: {}",
                    values.len(),
                    names.len(),
                    context(line)
                )),
                _ => Row::Bad(format!(
                    "no JSON array found in second line, offending context: {}",
                    context(line)
                )),
            }
        })
        .collect())
}

/// `_from`/`_to` given as keys get the prefix (`<prefix>/<key>`).
fn prefixed(doc: &mut Value, attr: &str, prefix: Option<&str>) {
    let Some(prefix) = prefix.filter(|p| !p.is_empty()) else {
        return;
    };
    if let Some(Value::String(s)) = doc.get_mut(attr)
        && !s.contains('/')
    {
        let sep = if prefix.ends_with('/') { "" } else { "/" };
        *s = format!("{prefix}{sep}{s}");
    }
}

#[derive(Default)]
struct Tally {
    created: u64,
    errors: u64,
    empty: u64,
    updated: u64,
    ignored: u64,
    details: Vec<String>,
}

/// `POST /_api/import?collection=<name>[&type=…]`
pub async fn import(
    State(st): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let p = Params::parse(q.as_deref());
    let coll = p
        .str("collection")
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApiError(ArangoError::new(codes::ARANGO_COLLECTION_PARAMETER_MISSING)))?;
    ctx.require_collection(&st.auth, &coll, true)?;
    let def = st.store.collection(&ctx.db, &coll)?;
    let mode = match p.str("onDuplicate").unwrap_or("error") {
        "error" | "" => OverwriteMode::Conflict,
        "update" => OverwriteMode::Update,
        "replace" => OverwriteMode::Replace,
        "ignore" => OverwriteMode::Ignore,
        other => {
            return Err(bad(format!(
                "invalid value '{other}' for onDuplicate (use error, update, replace or ignore)"
            )));
        }
    };
    let text = std::str::from_utf8(&body)
        .map_err(|_| bad("the request body is not UTF-8 text"))?
        .trim_start_matches('\u{feff}');
    let rows = match p.str("type") {
        Some("documents") => document_lines(text),
        Some("array" | "list") => array_body(text)?,
        Some("auto") if text.trim_start().starts_with('[') => array_body(text)?,
        Some("auto") => document_lines(text),
        // arangojs sends `type=` for the list form
        None | Some("") => list_form(text)?,
        Some(other) => {
            return Err(bad(format!(
                "invalid value '{other}' for type (use documents, array or auto)"
            )));
        }
    };
    let complete = p.bool("complete", false);
    let details = p.bool("details", false);
    let opts = WriteOptions {
        wait_for_sync: p.bool("waitForSync", false),
        overwrite_mode: mode,
        // an ignored duplicate is told apart from a created document by the missing `new`
        return_new: mode == OverwriteMode::Ignore,
        ..WriteOptions::default()
    };
    let mut tally = Tally::default();
    let mut docs = Vec::with_capacity(rows.len());
    let mut positions = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        match row {
            Row::Doc(mut d) => {
                prefixed(&mut d, "_from", p.str("fromPrefix"));
                prefixed(&mut d, "_to", p.str("toPrefix"));
                docs.push(d);
                positions.push(i + 1);
            }
            Row::Empty => tally.empty += 1,
            Row::Bad(why) => {
                if complete {
                    return Err(bad(format!("at position {}: {why}", i + 1)));
                }
                tally.errors += 1;
                tally.details.push(format!("at position {}: {why}", i + 1));
            }
        }
    }
    if p.bool("overwrite", false) {
        let (st2, db, cid) = (st.clone(), ctx.db.clone(), def.id.to_string());
        blocking(move || st2.store.truncate_collection(&db, &cid)).await?;
    }
    let originals: Vec<Value> = if details { docs.clone() } else { Vec::new() };
    let results = if complete {
        all_or_nothing(&st, &ctx, &def.name, docs, &opts).await?
    } else {
        st.store
            .write_documents(
                &ctx.db,
                &def.id.to_string(),
                docs,
                &opts,
                None,
                DocOp::Insert,
            )
            .await?
    };
    for (n, r) in results.into_iter().enumerate() {
        match r {
            Ok(DocResult {
                old_rev: Some(_), ..
            }) => tally.updated += 1,
            Ok(DocResult { new: None, .. }) if mode == OverwriteMode::Ignore => tally.ignored += 1,
            Ok(_) => tally.created += 1,
            Err(e) => {
                tally.errors += 1;
                let doc = originals.get(n).map(|d| context(&d.to_string()));
                tally.details.push(format!(
                    "at position {}: creating document failed with error '{}', offending document: {}",
                    positions.get(n).copied().unwrap_or(0),
                    e.message,
                    doc.unwrap_or_default()
                ));
            }
        }
    }
    let mut v = json!({
        "error": false,
        "created": tally.created,
        "errors": tally.errors,
        "empty": tally.empty,
        "updated": tally.updated,
        "ignored": tally.ignored,
    });
    if details {
        v["details"] = json!(tally.details);
    }
    Ok(json(StatusCode::CREATED, &v))
}

/// `complete=true`: the documents in one stream transaction, committed only if every one succeeds;
/// otherwise nothing is kept and the first failure is the answer.
async fn all_or_nothing(
    st: &Shared,
    ctx: &Ctx,
    coll: &str,
    docs: Vec<Value>,
    opts: &WriteOptions,
) -> Result<Vec<ArangoResult<DocResult>>, ApiError> {
    let trx_opts = TrxOptions {
        wait_for_sync: opts.wait_for_sync,
    };
    let cols = TrxCollections {
        write: vec![coll.to_string()],
        ..TrxCollections::default()
    };
    // as the stream-transaction endpoints: begin and abort read nothing from disk, commit awaits the writer
    let trx = st.store.begin_transaction(&ctx.db, &cols, &trx_opts)?;
    let results = st
        .store
        .write_documents(&ctx.db, coll, docs, opts, Some(trx), DocOp::Insert)
        .await;
    let failure = match &results {
        Err(e) => Some(e.clone()),
        Ok(rs) => rs.iter().find_map(|r| r.as_ref().err().cloned()),
    };
    if let Some(e) = failure {
        st.store.abort_transaction(trx)?;
        return Err(ApiError(e));
    }
    st.store.commit_transaction_async(trx).await?;
    Ok(results?)
}
