//! Data-modification operations (`INSERT`, `UPDATE`, `REPLACE`, `REMOVE`, `UPSERT`): each writes into
//! the query's transaction, so that the whole query commits as one, or not at all.

use crate::aql::exec::{Context, Row, collection_name};
use crate::aql::parse::{ModKind, Modify};
use crate::aql::usage::Need;
use crate::aql::value::{equal, type_name};
use crate::error::{ArangoError, ArangoResult, codes};
use crate::store::docs::{parse_doc_in, partial_stored};
use crate::store::{DocOp, DocResult, OverwriteMode, WriteOptions};
use serde_json::{Map, Value};
use std::sync::Arc;

/// What an operation's `OPTIONS` say.
struct ModOptions {
    write: WriteOptions,
    ignore_errors: bool,
}

fn invalid_option(what: &str) -> ArangoError {
    ArangoError::with_message(
        codes::QUERY_COMPILE_TIME_OPTIONS,
        format!("invalid value for the data-modification option {what}"),
    )
}

fn options_of(v: &Value, m: &Modify) -> ArangoResult<ModOptions> {
    let mut write = WriteOptions {
        return_new: m.want_new,
        return_old: m.want_old,
        ..WriteOptions::default()
    };
    let mut ignore_errors = false;
    let Value::Object(o) = v else {
        return match v {
            Value::Null => Ok(ModOptions {
                write,
                ignore_errors,
            }),
            _ => Err(ArangoError::with_message(
                codes::QUERY_COMPILE_TIME_OPTIONS,
                "the OPTIONS of a data-modification operation must be an object",
            )),
        };
    };
    let flag = |name: &str| -> ArangoResult<Option<bool>> {
        match o.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(invalid_option(&format!("'{name}' (a boolean is expected)"))),
        }
    };
    if let Some(b) = flag("ignoreErrors")? {
        ignore_errors = b;
    }
    if let Some(b) = flag("waitForSync")? {
        write.wait_for_sync = b;
    }
    if let Some(b) = flag("keepNull")? {
        write.keep_null = b;
    }
    if let Some(b) = flag("mergeObjects")? {
        write.merge_objects = b;
    }
    if let Some(b) = flag("ignoreRevs")? {
        write.ignore_revs = b;
    }
    if flag("overwrite")? == Some(true) {
        write.overwrite_mode = OverwriteMode::Replace;
    }
    match o.get("overwriteMode") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => write.overwrite_mode = OverwriteMode::parse(s)?,
        Some(_) => return Err(invalid_option("'overwriteMode' (a string is expected)")),
    }
    // exclusive, refillIndexCaches, readOwnWrites, …: a single server has nothing to do for them
    Ok(ModOptions {
        write,
        ignore_errors,
    })
}

fn not_an_object(what: &str, v: &Value) -> ArangoError {
    ArangoError::with_message(
        codes::ARANGO_DOCUMENT_TYPE_INVALID,
        format!(
            "invalid document type: {what} must be an object, not {}",
            type_name(v)
        ),
    )
}

/// The key an `_id` or key string names in `coll`.
fn key_from_id(s: &str, coll: &str) -> ArangoResult<String> {
    match s.split_once('/') {
        Some((c, k)) if c == coll => Ok(k.to_string()),
        Some(_) => Err(ArangoError::with_message(
            codes::ARANGO_DOCUMENT_HANDLE_BAD,
            format!("illegal document identifier '{s}': it is not a document of '{coll}'"),
        )),
        None => Ok(s.to_string()),
    }
}

/// The key a document names in `coll`: its `_key`, else its `_id`.
fn key_in(o: &Map<String, Value>, coll: &str) -> ArangoResult<String> {
    match (o.get("_key"), o.get("_id")) {
        (Some(Value::String(k)), _) => Ok(k.clone()),
        (_, Some(Value::String(id))) => key_from_id(id, coll),
        _ => Err(ArangoError::with_message(
            codes::ARANGO_DOCUMENT_KEY_MISSING,
            "document key missing: the document names no _key",
        )),
    }
}

/// The key a `key` expression's value names in `coll`: a key, an `_id` of `coll`, or an object with
/// `_key` (or `_id`); with the object's `_rev`, if it has one.
fn key_of(v: &Value, coll: &str) -> ArangoResult<(String, Option<Value>)> {
    match v {
        Value::String(s) => Ok((key_from_id(s, coll)?, None)),
        Value::Object(o) => Ok((key_in(o, coll)?, o.get("_rev").cloned())),
        other => Err(not_an_object("the key expression", other)),
    }
}

impl Context<'_> {
    fn target(&self, m: &Modify) -> ArangoResult<String> {
        collection_name(self.bind, &m.collection)?.ok_or_else(|| {
            ArangoError::internal("a data-modification operation without a collection")
        })
    }

    /// The item the store's operation takes for one row: the document, or the remove selector.
    fn item(&mut self, m: &Modify, row: &Row, coll: &str) -> ArangoResult<Value> {
        let doc = match &m.doc {
            Some(e) => Some(self.eval(e, row)?),
            None => None,
        };
        let key = match &m.key {
            Some(e) => Some(key_of(&self.eval(e, row)?, coll)?),
            None => None,
        };
        match m.kind {
            ModKind::Insert => match doc {
                Some(d @ Value::Object(_)) => Ok(d),
                Some(other) => Err(not_an_object("the document to insert", &other)),
                None => Err(ArangoError::internal("INSERT without a document")),
            },
            ModKind::Remove => {
                let (k, rev) = key.expect("REMOVE has a key expression");
                let mut sel = Map::new();
                sel.insert("_key".into(), Value::String(k));
                if let Some(r) = rev {
                    sel.insert("_rev".into(), r);
                }
                Ok(Value::Object(sel))
            }
            _ => {
                let Some(Value::Object(mut d)) = doc else {
                    return Err(not_an_object(
                        "the document to update or replace",
                        &doc.unwrap_or(Value::Null),
                    ));
                };
                match key {
                    Some((k, rev)) => {
                        d.insert("_key".into(), Value::String(k));
                        if let Some(r) = rev
                            && !d.contains_key("_rev")
                        {
                            d.insert("_rev".into(), r);
                        }
                    }
                    None => {
                        let k = key_in(&d, coll)?;
                        d.insert("_key".into(), Value::String(k));
                    }
                }
                Ok(Value::Object(d))
            }
        }
    }

    /// Runs a data-modification operation on `rows`: the rows whose write succeeded go on, with `NEW`
    /// and `OLD` bound; with `ignoreErrors`, a failed write drops its row, else it fails the query.
    pub(crate) fn modify(&mut self, m: &Modify, rows: Vec<Row>) -> ArangoResult<Vec<Row>> {
        let coll = self.target(m)?;
        let o = match &m.options {
            Some(e) => self.eval(e, &Row::new())?,
            None => Value::Null,
        };
        let opts = options_of(&o, m)?;
        if self.writes.is_none() {
            return Err(ArangoError::internal(
                "a data-modification query runs without a transaction",
            ));
        }
        if m.kind == ModKind::Upsert {
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                match self.upsert(m, &row, &coll, &opts) {
                    Ok(r) => out.push(self.bind_result(row, r)),
                    Err(e) => self.failed(e, &opts)?,
                }
            }
            return Ok(out);
        }
        let op = match m.kind {
            ModKind::Insert => DocOp::Insert,
            ModKind::Update => DocOp::Update,
            ModKind::Replace => DocOp::Replace,
            _ => DocOp::Remove,
        };
        // the items of all rows go to the store in one call
        let mut items = Vec::with_capacity(rows.len());
        let mut kept = Vec::with_capacity(rows.len());
        for row in rows {
            match self.item(m, &row, &coll) {
                Ok(i) => {
                    items.push(i);
                    kept.push(row);
                }
                Err(e) => self.failed(e, &opts)?,
            }
        }
        let w = self.writes.as_mut().expect("checked above");
        let results = w.trx.run_ops(&coll, items, &opts.write, op, w.clock)?;
        let mut out = Vec::with_capacity(kept.len());
        for (row, r) in kept.into_iter().zip(results) {
            match r {
                Ok(r) => out.push(self.bind_result(row, r)),
                Err(e) => self.failed(e, &opts)?,
            }
        }
        Ok(out)
    }

    /// A write that failed: ignored and counted with `ignoreErrors`, else the query's error.
    fn failed(&mut self, e: ArangoError, opts: &ModOptions) -> ArangoResult<()> {
        if opts.ignore_errors {
            self.writes_ignored += 1;
            Ok(())
        } else {
            Err(e)
        }
    }

    fn bind_result(&mut self, mut row: Row, r: DocResult) -> Row {
        self.writes_executed += 1;
        row.push((Arc::from("NEW"), r.new.unwrap_or(Value::Null)));
        row.push((Arc::from("OLD"), r.old.unwrap_or(Value::Null)));
        row
    }

    /// `UPSERT`: the first document matching the search object, as the query's transaction sees it
    /// (its own earlier writes included), updated or replaced; else the insert document, inserted.
    fn upsert(
        &mut self,
        m: &Modify,
        row: &Row,
        coll: &str,
        opts: &ModOptions,
    ) -> ArangoResult<DocResult> {
        let search = match &m.key {
            Some(e) => self.eval(e, row)?,
            None => Value::Null,
        };
        let Value::Object(search) = search else {
            return Err(not_an_object("the UPSERT search expression", &search));
        };
        let cid = crate::aql::exec::collection_id(self.snap, self.db, coll)?;
        let found = self.find_first(cid, &search)?;
        let (op, item) = match found {
            Some(old) => {
                let key = old.get("_key").cloned().unwrap_or(Value::Null);
                let mut r = row.clone();
                r.push((Arc::from("OLD"), Value::Object(old)));
                let e = m.upsert_doc.as_ref().expect("UPSERT has an update");
                let Value::Object(mut d) = self.eval(e, &r)? else {
                    return Err(not_an_object("the UPSERT update document", &Value::Null));
                };
                d.insert("_key".into(), key);
                let op = if m.upsert_replace {
                    DocOp::Replace
                } else {
                    DocOp::Update
                };
                (op, Value::Object(d))
            }
            None => {
                let e = m.doc.as_ref().expect("UPSERT has an insert");
                match self.eval(e, row)? {
                    d @ Value::Object(_) => (DocOp::Insert, d),
                    other => return Err(not_an_object("the UPSERT insert document", &other)),
                }
            }
        };
        let mut write = opts.write.clone();
        write.return_old = true;
        let w = self.writes.as_mut().expect("checked by modify");
        let mut results = w.trx.run_ops(coll, vec![item], &write, op, w.clock)?;
        results.pop().unwrap_or_else(|| {
            Err(ArangoError::internal(
                "the store answered no result for the UPSERT",
            ))
        })
    }

    /// The first document of collection `cid` (in key order) whose attributes equal `search`'s.
    fn find_first(
        &mut self,
        cid: u64,
        search: &Map<String, Value>,
    ) -> ArangoResult<Option<Map<String, Value>>> {
        let matches = |d: &Map<String, Value>| {
            search.iter().all(|(k, v)| {
                let got = d.get(k).unwrap_or(&Value::Null);
                equal(got, v)
            })
        };
        if let Some(Value::String(key)) = search.get("_key") {
            let d = self.document(cid, key)?;
            return Ok(match d {
                Some(Value::Object(d)) if matches(&d) => Some(d),
                _ => None,
            });
        }
        let mut found = None;
        self.scan(cid, &Need::All, |this, d| {
            this.scanned += 1;
            if let Value::Object(d) = d
                && matches(&d)
            {
                found = Some(d);
                return Ok(false);
            }
            Ok(true)
        })?;
        Ok(found)
    }

    /// Document `key` of collection `cid` as the query sees it (its transaction's writes included).
    pub(crate) fn document(&self, cid: u64, key: &str) -> ArangoResult<Option<Value>> {
        let Some(w) = &self.writes else {
            return self.snap.document(cid, key);
        };
        let name = self
            .snap
            .catalog()
            .collections
            .get(&cid)
            .map(|c| c.name.as_str())
            .unwrap_or("");
        match w.trx.raw_document(cid, key)? {
            Some(b) => Ok(Some(Value::Object(parse_doc_in(&b, name)?))),
            None => Ok(None),
        }
    }

    /// Calls `f` with each document of collection `cid` in key order, as the query sees them (the
    /// snapshot beneath its transaction's own writes), until `f` answers false; parsed as far as
    /// `need` says (`null` when nothing of it is read).
    pub(crate) fn scan(
        &mut self,
        cid: u64,
        need: &Need,
        mut f: impl FnMut(&mut Self, Value) -> ArangoResult<bool>,
    ) -> ArangoResult<()> {
        self.scan_between(cid, need, &[], None, None, |this, d, _| f(this, d))
    }

    /// [`Context::scan`] over the keys in `from..to` (`None`: from the first, to the last), with the
    /// attributes of `late` left to [`Rest::complete`], for those documents that get so far.
    pub(crate) fn scan_between(
        &mut self,
        cid: u64,
        need: &Need,
        late: &[String],
        from: Option<&str>,
        to: Option<&str>,
        mut f: impl FnMut(&mut Self, Value, &Rest<'_>) -> ArangoResult<bool>,
    ) -> ArangoResult<()> {
        let snap = self.snap;
        let name = snap
            .catalog()
            .collections
            .get(&cid)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let early = match need {
            Need::Attrs(a) => Some(a.iter().map(String::as_str).collect::<Vec<_>>()),
            _ => None,
        };
        let late: Vec<&str> = late.iter().map(String::as_str).collect();
        let parse = |key: &str, bytes: &[u8]| -> ArangoResult<Value> {
            match (need, &early) {
                (Need::Nothing, _) => Ok(Value::Null),
                (Need::Attrs(_), Some(wanted)) => {
                    let mut m = Map::new();
                    pick_into(&mut m, wanted, key, bytes, &name)?;
                    Ok(Value::Object(m))
                }
                _ => parse_doc_in(bytes, &name).map(Value::Object),
            }
        };
        let overlay: Vec<(String, Option<Vec<u8>>)> = self
            .writes
            .as_ref()
            .map(|w| w.trx.overlay(cid))
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| {
                from.is_none_or(|f| k.as_str() >= f) && to.is_none_or(|t| k.as_str() < t)
            })
            .collect();
        let mut next = 0;
        let mut failed = None;
        let mut emit = |this: &mut Self, key: &str, bytes: &[u8]| -> bool {
            let rest = Rest {
                key,
                bytes,
                late: &late,
                coll: &name,
            };
            match parse(key, bytes).and_then(|d| f(this, d, &rest)) {
                Ok(m) => m,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        };
        let mut stopped = false;
        snap.for_each_raw_between(cid, from, to, |key, bytes| {
            while let Some((k, v)) = overlay.get(next)
                && k.as_str() < key
            {
                next += 1;
                if let Some(b) = v
                    && !emit(self, k, b)
                {
                    stopped = true;
                    return false;
                }
            }
            let go_on = match overlay.get(next) {
                Some((k, v)) if k == key => {
                    next += 1;
                    match v {
                        Some(b) => emit(self, k, b),
                        None => true,
                    }
                }
                _ => emit(self, key, bytes),
            };
            stopped = !go_on;
            go_on
        })?;
        if !stopped {
            for (k, v) in &overlay[next.min(overlay.len())..] {
                if let Some(b) = v
                    && !emit(self, k, b)
                {
                    break;
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Adds to `m` the top-level attributes `wanted` of stored document `key` (its JSON `bytes`), `_id`
/// made from the key and collection `coll`.
fn pick_into(
    m: &mut Map<String, Value>,
    wanted: &[&str],
    key: &str,
    bytes: &[u8],
    coll: &str,
) -> ArangoResult<()> {
    let picked = match crate::aql::raw::pick(wanted, bytes) {
        Some(p) => p,
        None => partial_stored(wanted, key, bytes)?,
    };
    if m.is_empty() {
        *m = picked;
    } else {
        m.extend(picked);
    }
    if wanted.contains(&"_id") {
        m.insert("_id".into(), Value::String(format!("{coll}/{key}")));
    }
    Ok(())
}

/// What a scan left unread of one document: the attributes a loop reads only after its filters.
pub(crate) struct Rest<'b> {
    key: &'b str,
    bytes: &'b [u8],
    late: &'b [&'b str],
    coll: &'b str,
}

impl Rest<'_> {
    /// Adds the attributes left unread to `doc`, the value the scan gave for this document.
    pub(crate) fn complete(&self, doc: &mut Value) -> ArangoResult<()> {
        match doc {
            Value::Object(m) if !self.late.is_empty() => {
                pick_into(m, self.late, self.key, self.bytes, self.coll)
            }
            _ => Ok(()),
        }
    }
}
