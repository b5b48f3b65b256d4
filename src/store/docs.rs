//! Document operations — insert (with `overwriteMode`), replace, update, remove — written once over
//! [`DocAccess`], so the same rules apply to direct writes and to writes inside a stream transaction.
//!
//! Every operation checks everything (key, precondition, edge attributes, unique indexes) before it logs
//! and counts: a rejected operation leaves nothing behind, so a batch can go on with its next document.
//! Most check first and only then write; the fast insert paths let the writes check (one tree walk, not
//! two) and take back what the rejected document wrote.

use crate::error::{ArangoError, ArangoResult, codes};
use crate::store::catalog::{CollectionDef, CollectionType, IndexDef};
use crate::store::clock::{Clock, rev_from_string, rev_to_string};
use crate::store::index::{index_key, violation_message};
use crate::store::keygen;
use crate::store::log::marker;
use crate::store::names::{valid_handle, validate_key};
use serde_json::{Map, Value};

/// Per-collection counters kept with the data: document count and the key generator's last value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollStats {
    pub count: u64,
    pub last_value: u64,
}

/// Storage seen by document operations: the committed store, or a transaction's overlay on a snapshot.
pub(crate) trait DocAccess {
    fn get(&self, cid: u64, key: &str) -> ArangoResult<Option<Vec<u8>>>;
    fn put(&mut self, cid: u64, key: &str, doc: &[u8]) -> ArangoResult<()>;
    fn delete(&mut self, cid: u64, key: &str) -> ArangoResult<()>;
    fn unique_get(&self, cid: u64, iid: u64, val: &[u8]) -> ArangoResult<Option<String>>;
    fn unique_put(&mut self, cid: u64, iid: u64, val: &[u8], key: &str) -> ArangoResult<()>;
    fn unique_delete(&mut self, cid: u64, iid: u64, val: &[u8], key: &str) -> ArangoResult<()>;
    fn stats(&mut self, cid: u64) -> ArangoResult<CollStats>;
    fn set_stats(&mut self, cid: u64, stats: CollStats) -> ArangoResult<()>;
    /// Records a document marker (2300/2302) with its `data`.
    fn log_doc(&mut self, coll: &CollectionDef, mtype: u16, data: Vec<u8>) -> ArangoResult<()>;
    /// Whether a document exists (without copying it).
    fn exists(&self, cid: u64, key: &str) -> ArangoResult<bool> {
        Ok(self.get(cid, key)?.is_some())
    }
    /// Stores a document and returns the version it replaced (one tree walk where the storage allows).
    fn put_replacing(&mut self, cid: u64, key: &str, doc: &[u8]) -> ArangoResult<Option<Vec<u8>>> {
        let old = self.get(cid, key)?;
        self.put(cid, key, doc)?;
        Ok(old)
    }
    /// Takes a unique index value for `key` when it is free (or already `key`'s) and returns `None`;
    /// when another document holds it, leaves it to that one and returns its key (one tree walk where the
    /// storage allows, instead of a look-up and a write).
    fn unique_claim(
        &mut self,
        cid: u64,
        iid: u64,
        val: &[u8],
        key: &str,
    ) -> ArangoResult<Option<String>> {
        match self.unique_get(cid, iid, val)? {
            Some(other) if other != key => Ok(Some(other)),
            _ => {
                self.unique_put(cid, iid, val, key)?;
                Ok(None)
            }
        }
    }
    /// Stores a document only if its key is free; `false` (and nothing changed) if it exists.
    fn put_new(&mut self, cid: u64, key: &str, doc: &[u8]) -> ArangoResult<bool> {
        if self.exists(cid, key)? {
            return Ok(false);
        }
        self.put(cid, key, doc)?;
        Ok(true)
    }
}

/// What `insert` does when the key exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverwriteMode {
    /// Fail with a unique constraint violation (1210).
    #[default]
    Conflict,
    /// Replace the existing document.
    Replace,
    /// Merge into the existing document.
    Update,
    /// Keep the existing document and report it.
    Ignore,
}

impl OverwriteMode {
    /// Parses `overwriteMode` (`conflict`, `replace`, `update`, `ignore`).
    pub fn parse(s: &str) -> ArangoResult<Self> {
        match s {
            "conflict" => Ok(OverwriteMode::Conflict),
            "replace" => Ok(OverwriteMode::Replace),
            "update" => Ok(OverwriteMode::Update),
            "ignore" => Ok(OverwriteMode::Ignore),
            other => Err(ArangoError::bad_parameter(format!(
                "invalid overwriteMode '{other}' (use conflict, replace, update or ignore)"
            ))),
        }
    }
}

/// Options of a document write, with ArangoDB's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// Make the write durable before acknowledging it (also forced by the collection's `waitForSync`).
    pub wait_for_sync: bool,
    pub overwrite_mode: OverwriteMode,
    /// `update`: keep attributes set to `null` (true) or remove them (false).
    pub keep_null: bool,
    /// `update`: merge nested objects (true) or replace them (false).
    pub merge_objects: bool,
    /// Keep the given `_rev` and accept user keys regardless of `allowUserKeys` (replication, restore).
    pub is_restore: bool,
    /// Ignore a `_rev` in the body (true) or use it as a precondition (false).
    pub ignore_revs: bool,
    pub return_new: bool,
    pub return_old: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            wait_for_sync: false,
            overwrite_mode: OverwriteMode::Conflict,
            keep_null: true,
            merge_objects: true,
            is_restore: false,
            ignore_revs: true,
            return_new: false,
            return_old: false,
        }
    }
}

/// The outcome of one successful document operation.
#[derive(Debug, Clone, PartialEq)]
pub struct DocResult {
    pub key: String,
    pub id: String,
    pub rev: String,
    pub old_rev: Option<String>,
    pub new: Option<Value>,
    pub old: Option<Value>,
}

impl DocResult {
    /// The response object ArangoDB returns: `_id`, `_key`, `_rev`, `_oldRev`, `new`, `old`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("_id".into(), Value::String(self.id.clone()));
        m.insert("_key".into(), Value::String(self.key.clone()));
        m.insert("_rev".into(), Value::String(self.rev.clone()));
        if let Some(o) = &self.old_rev {
            m.insert("_oldRev".into(), Value::String(o.clone()));
        }
        if let Some(n) = &self.new {
            m.insert("new".into(), n.clone());
        }
        if let Some(o) = &self.old {
            m.insert("old".into(), o.clone());
        }
        Value::Object(m)
    }
}

pub(crate) fn parse_doc(bytes: &[u8]) -> ArangoResult<Map<String, Value>> {
    serde_json::from_slice(bytes)
        .map_err(|e| ArangoError::internal(format!("corrupt stored document: {e}")))
}

/// Parses a stored document and renders `_id` with the collection's current name: `_id` is derived, as
/// in ArangoDB, so a renamed collection's documents report the new name without being rewritten.
pub(crate) fn parse_doc_in(bytes: &[u8], collection: &str) -> ArangoResult<Map<String, Value>> {
    let mut doc = parse_doc(bytes)?;
    let id = format!("{collection}/{}", str_attr(&doc, "_key"));
    if str_attr(&doc, "_id") != id {
        doc.insert("_id".into(), Value::String(id));
    }
    Ok(doc)
}

/// The stored bytes with `_id` rendered for the collection's current name (borrowed when unchanged).
pub fn document_bytes_in<'a>(
    bytes: &'a [u8],
    collection: &str,
) -> ArangoResult<std::borrow::Cow<'a, [u8]>> {
    DocRenderer::new(collection).render(bytes)
}

/// Renders stored documents of one collection as they are sent (`_id` with the collection's current
/// name), borrowing the stored bytes in the common case; for dumps, which render millions of documents.
pub struct DocRenderer {
    name: String,
    /// `,"_id":"<name>/` as stored right after `_key`.
    id_prefix: Vec<u8>,
}

impl DocRenderer {
    pub fn new(collection: &str) -> Self {
        let mut id_prefix = br#","_id":"#.to_vec();
        let quoted = serde_json::to_string(&format!("{collection}/")).unwrap_or_default();
        id_prefix.extend_from_slice(&quoted.as_bytes()[..quoted.len().saturating_sub(1)]);
        DocRenderer {
            name: collection.to_string(),
            id_prefix,
        }
    }

    /// The document's bytes with the right `_id`.
    pub fn render<'a>(&self, bytes: &'a [u8]) -> ArangoResult<std::borrow::Cow<'a, [u8]>> {
        // Stored documents start with `{"_key":"<key>","_id":"<collection>/<key>"`; keys need no escaping.
        if let Some(rest) = bytes.strip_prefix(br#"{"_key":""#)
            && let Some(end) = rest.iter().position(|b| *b == b'"')
            && let Some(id) = rest[end + 1..].strip_prefix(self.id_prefix.as_slice())
            && id.starts_with(&rest[..end])
            && id.get(end) == Some(&b'"')
        {
            return Ok(std::borrow::Cow::Borrowed(bytes));
        }
        let doc = parse_doc_in(bytes, &self.name)?;
        serde_json::to_vec(&doc)
            .map(std::borrow::Cow::Owned)
            .map_err(|e| ArangoError::internal(e.to_string()))
    }
}

/// The `_rev` of a stored document, read without parsing it: stored documents have `_rev` right after
/// `_key`, `_id` (and `_from`/`_to`), and an unescaped `,"_rev":"` can only appear at the top level.
pub fn stored_rev(bytes: &[u8]) -> Option<&str> {
    // the common layout first: `{"_key":"<k>","_id":"<c>/<k>","_rev":"<r>"` (keys and names need no
    // escaping, so the first quotes end the values)
    if let Some(rest) = bytes.strip_prefix(br#"{"_key":""#)
        && let Some(k) = rest.iter().position(|b| *b == b'"')
        && let Some(rest) = rest[k + 1..].strip_prefix(br#","_id":""#)
        && let Some(i) = rest.iter().position(|b| *b == b'"')
        && let Some(rest) = rest[i + 1..].strip_prefix(br#","_rev":""#)
        && let Some(r) = rest.iter().position(|b| *b == b'"')
    {
        return std::str::from_utf8(&rest[..r]).ok();
    }
    const PAT: &[u8] = br#","_rev":""#;
    let at = bytes.windows(PAT.len()).position(|w| w == PAT)? + PAT.len();
    let len = bytes[at..].iter().position(|b| *b == b'"')?;
    std::str::from_utf8(&bytes[at..at + len]).ok()
}

fn str_attr<'a>(doc: &'a Map<String, Value>, name: &str) -> &'a str {
    doc.get(name).and_then(Value::as_str).unwrap_or("")
}

fn not_found() -> ArangoError {
    ArangoError::new(codes::ARANGO_DOCUMENT_NOT_FOUND)
}

fn rev_conflict() -> ArangoError {
    ArangoError::with_message(codes::ARANGO_CONFLICT, "conflict, _rev values do not match")
}

fn primary_violation(key: &str) -> ArangoError {
    ArangoError::with_message(
        codes::ARANGO_UNIQUE_CONSTRAINT_VIOLATED,
        violation_message("primary", "primary", &["_key".to_string()], key),
    )
}

fn object(body: Value) -> ArangoResult<Map<String, Value>> {
    match body {
        Value::Object(m) => Ok(m),
        _ => Err(ArangoError::with_message(
            codes::ARANGO_DOCUMENT_TYPE_INVALID,
            "invalid document type: expecting a JSON object",
        )),
    }
}

/// The key of a replace/update/remove target (a key string, or an object with `_key`).
pub(crate) fn selector_key(sel: &Value) -> ArangoResult<&str> {
    let key = match sel {
        Value::String(s) => s.as_str(),
        Value::Object(o) => match o.get("_key") {
            Some(Value::String(s)) => s.as_str(),
            _ => {
                return Err(ArangoError::with_message(
                    codes::ARANGO_DOCUMENT_HANDLE_BAD,
                    "illegal document identifier: expecting attribute '_key'",
                ));
            }
        },
        _ => {
            return Err(ArangoError::with_message(
                codes::ARANGO_DOCUMENT_HANDLE_BAD,
                "illegal document identifier: expecting a key or an object with '_key'",
            ));
        }
    };
    // Accept `collection/key` handles as ArangoDB does.
    Ok(key.rsplit_once('/').map_or(key, |(_, k)| k))
}

fn check_edge(coll: &CollectionDef, doc: &Map<String, Value>) -> ArangoResult<()> {
    if coll.ctype != CollectionType::Edge {
        return Ok(());
    }
    for attr in ["_from", "_to"] {
        match doc.get(attr) {
            Some(Value::String(h)) if valid_handle(h) => {}
            _ => {
                return Err(ArangoError::with_message(
                    codes::ARANGO_INVALID_EDGE_ATTRIBUTE,
                    format!(
                        "edge attribute missing or invalid: '{attr}' must be a document handle like 'vertices/123'"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Builds the stored form: `_key`, `_id`, `_from`, `_to`, `_rev`, then the user attributes in order.
fn assemble(
    coll: &CollectionDef,
    key: &str,
    rev: &str,
    mut body: Map<String, Value>,
) -> Map<String, Value> {
    let mut doc = Map::with_capacity(body.len() + 3);
    doc.insert("_key".into(), Value::String(key.to_string()));
    doc.insert("_id".into(), Value::String(format!("{}/{key}", coll.name)));
    if coll.ctype == CollectionType::Edge {
        for a in ["_from", "_to"] {
            if let Some(v) = body.shift_remove(a) {
                doc.insert(a.into(), v);
            }
        }
    }
    doc.insert("_rev".into(), Value::String(rev.to_string()));
    for (k, v) in body {
        if !matches!(k.as_str(), "_key" | "_id" | "_rev" | "_from" | "_to") {
            doc.insert(k, v);
        }
    }
    doc
}

/// The revision for a new version: the given `_rev` when restoring, a fresh clock value otherwise.
fn new_rev(clock: &Clock, body: &Map<String, Value>, o: &WriteOptions) -> String {
    if o.is_restore
        && let Some(Value::String(r)) = body.get("_rev")
        && let Some(v) = rev_from_string(r)
    {
        clock.observe(v);
        return r.clone();
    }
    rev_to_string(clock.next())
}

/// The unique index keys of a version, one per unique index of the collection (in index order).
type UniqueKeys = Vec<Option<Vec<u8>>>;

fn unique_keys(coll: &CollectionDef, doc: Option<&Map<String, Value>>) -> UniqueKeys {
    match doc {
        Some(d) => coll
            .indexes
            .iter()
            .filter(|i| i.unique)
            .map(|i| index_key(i, d))
            .collect(),
        None => coll
            .indexes
            .iter()
            .filter(|i| i.unique)
            .map(|_| None)
            .collect(),
    }
}

/// Checks that the new version's unique index entries are free (or already this document's).
fn check_unique(
    acc: &impl DocAccess,
    coll: &CollectionDef,
    key: &str,
    new: &UniqueKeys,
    old: &UniqueKeys,
) -> ArangoResult<()> {
    for ((idx, nk), ok) in coll.indexes.iter().filter(|i| i.unique).zip(new).zip(old) {
        let Some(nk) = nk else { continue };
        if ok.as_ref() == Some(nk) {
            continue;
        }
        if let Some(other) = acc.unique_get(coll.id, idx.id, nk)?
            && other != key
        {
            return Err(ArangoError::with_message(
                codes::ARANGO_UNIQUE_CONSTRAINT_VIOLATED,
                violation_message(&idx.name, &idx.itype, &idx.fields, &other),
            ));
        }
    }
    Ok(())
}

/// Moves unique index entries from the old version to the new one.
fn write_unique(
    acc: &mut impl DocAccess,
    coll: &CollectionDef,
    key: &str,
    new: &UniqueKeys,
    old: &UniqueKeys,
) -> ArangoResult<()> {
    for ((idx, nk), ok) in coll.indexes.iter().filter(|i| i.unique).zip(new).zip(old) {
        if ok == nk {
            continue;
        }
        if let Some(ok) = ok {
            acc.unique_delete(coll.id, idx.id, ok, key)?;
        }
        if let Some(nk) = nk {
            acc.unique_put(coll.id, idx.id, nk, key)?;
        }
    }
    Ok(())
}

/// Takes a new document's unique index entries (it had none before). When another document holds one of
/// the values, the entries taken so far and the document itself (just stored under a free key) are
/// removed again and the violation is returned, so that nothing changed.
fn claim_unique(
    acc: &mut impl DocAccess,
    coll: &CollectionDef,
    key: &str,
    new: &UniqueKeys,
) -> ArangoResult<()> {
    let unique = || coll.indexes.iter().filter(|i| i.unique).zip(new);
    for (n, (idx, nk)) in unique().enumerate() {
        let Some(nk) = nk else { continue };
        if let Some(other) = acc.unique_claim(coll.id, idx.id, nk, key)? {
            for (taken, tk) in unique().take(n) {
                if let Some(tk) = tk {
                    acc.unique_delete(coll.id, taken.id, tk, key)?;
                }
            }
            acc.delete(coll.id, key)?;
            return Err(ArangoError::with_message(
                codes::ARANGO_UNIQUE_CONSTRAINT_VIOLATED,
                violation_message(&idx.name, &idx.itype, &idx.fields, &other),
            ));
        }
    }
    Ok(())
}

/// Validates a version's unique entries against the index, then writes document, entries and marker.
fn store_version(
    acc: &mut impl DocAccess,
    coll: &CollectionDef,
    key: &str,
    doc: Map<String, Value>,
    old: Option<Map<String, Value>>,
    o: &WriteOptions,
) -> ArangoResult<DocResult> {
    let new_keys = unique_keys(coll, Some(&doc));
    let old_keys = unique_keys(coll, old.as_ref());
    check_unique(acc, coll, key, &new_keys, &old_keys)?;
    let bytes = serde_json::to_vec(&doc).map_err(|e| ArangoError::internal(e.to_string()))?;
    acc.put(coll.id, key, &bytes)?;
    write_unique(acc, coll, key, &new_keys, &old_keys)?;
    acc.log_doc(coll, marker::DOCUMENT_UPSERT, bytes)?;
    let rev = str_attr(&doc, "_rev").to_string();
    let old_rev = old.as_ref().map(|o| str_attr(o, "_rev").to_string());
    Ok(DocResult {
        id: format!("{}/{key}", coll.name),
        key: key.to_string(),
        rev,
        old_rev,
        new: o.return_new.then(|| Value::Object(doc)),
        old: if o.return_old {
            old.map(Value::Object)
        } else {
            None
        },
    })
}

/// Takes `_key` out of an insert body and checks it: a string of valid characters, and allowed by
/// `keyOptions.allowUserKeys` (or a restore). `None` if the body has no key.
fn take_user_key(
    coll: &CollectionDef,
    body: &mut Map<String, Value>,
    o: &WriteOptions,
) -> ArangoResult<Option<String>> {
    match body.shift_remove("_key") {
        Some(Value::String(k)) => {
            if !coll.key_options.allow_user_keys && !o.is_restore {
                return Err(ArangoError::with_message(
                    codes::ARANGO_DOCUMENT_KEY_UNEXPECTED,
                    "unexpected document key: this collection does not allow user-defined keys (keyOptions.allowUserKeys is false)",
                ));
            }
            validate_key(&k)?;
            Ok(Some(k))
        }
        Some(other) => Err(ArangoError::with_message(
            codes::ARANGO_DOCUMENT_KEY_BAD,
            format!("illegal document key: _key must be a string, got {other}"),
        )),
        None => Ok(None),
    }
}

/// Inserts one document (or, per `overwrite_mode`, replaces/updates/keeps an existing one).
pub(crate) fn insert(
    acc: &mut impl DocAccess,
    coll: &CollectionDef,
    clock: &Clock,
    body: Value,
    o: &WriteOptions,
) -> ArangoResult<DocResult> {
    let mut body = object(body)?;
    let mut stats = acc.stats(coll.id)?;
    let key = match take_user_key(coll, &mut body, o)? {
        Some(k) => k,
        None => keygen::generate(&coll.key_options, &mut stats.last_value)?,
    };
    if let Some(existing) = acc.get(coll.id, &key)? {
        let old = parse_doc_in(&existing, &coll.name)?;
        return match o.overwrite_mode {
            OverwriteMode::Conflict => Err(primary_violation(&key)),
            OverwriteMode::Ignore => Ok(DocResult {
                id: format!("{}/{key}", coll.name),
                rev: str_attr(&old, "_rev").to_string(),
                key,
                old_rev: None,
                new: None,
                old: None,
            }),
            OverwriteMode::Replace => replace_existing(acc, coll, clock, &key, old, body, o, false),
            OverwriteMode::Update => update_existing(acc, coll, clock, &key, old, body, o, false),
        };
    }
    check_edge(coll, &body)?;
    let rev = new_rev(clock, &body, o);
    let doc = assemble(coll, &key, &rev, body);
    let res = store_version(acc, coll, &key, doc, None, o)?;
    keygen::track(&coll.key_options, &mut stats.last_value, &key);
    stats.count += 1;
    acc.set_stats(coll.id, stats)?;
    Ok(res)
}

#[allow(clippy::too_many_arguments)]
fn replace_existing(
    acc: &mut impl DocAccess,
    coll: &CollectionDef,
    clock: &Clock,
    key: &str,
    old: Map<String, Value>,
    body: Map<String, Value>,
    o: &WriteOptions,
    check_rev: bool,
) -> ArangoResult<DocResult> {
    if check_rev {
        precondition(&old, &body, o)?;
    }
    check_edge(coll, &body)?;
    let rev = new_rev(clock, &body, o);
    let doc = assemble(coll, key, &rev, body);
    store_version(acc, coll, key, doc, Some(old), o)
}

#[allow(clippy::too_many_arguments)]
fn update_existing(
    acc: &mut impl DocAccess,
    coll: &CollectionDef,
    clock: &Clock,
    key: &str,
    old: Map<String, Value>,
    patch: Map<String, Value>,
    o: &WriteOptions,
    check_rev: bool,
) -> ArangoResult<DocResult> {
    if check_rev {
        precondition(&old, &patch, o)?;
    }
    let rev = new_rev(clock, &patch, o);
    let mut merged = old.clone();
    for (k, v) in patch {
        if matches!(k.as_str(), "_key" | "_id" | "_rev") {
            continue;
        }
        merge_attr(&mut merged, k, v, o.keep_null, o.merge_objects);
    }
    check_edge(coll, &merged)?;
    let doc = assemble(coll, key, &rev, merged);
    store_version(acc, coll, key, doc, Some(old), o)
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        other => other,
    }
}

fn merge_attr(
    target: &mut Map<String, Value>,
    k: String,
    v: Value,
    keep_null: bool,
    merge_objects: bool,
) {
    if v.is_null() && !keep_null {
        target.shift_remove(&k);
        return;
    }
    if let (true, Value::Object(patch)) = (merge_objects, &v)
        && let Some(Value::Object(existing)) = target.get_mut(&k)
    {
        for (pk, pv) in patch.clone() {
            merge_attr(existing, pk, pv, keep_null, merge_objects);
        }
        return;
    }
    target.insert(k, if keep_null { v } else { strip_nulls(v) });
}

fn precondition(
    old: &Map<String, Value>,
    body: &Map<String, Value>,
    o: &WriteOptions,
) -> ArangoResult<()> {
    if o.ignore_revs {
        return Ok(());
    }
    match body.get("_rev") {
        Some(Value::String(r)) if !r.is_empty() && r != str_attr(old, "_rev") => {
            Err(rev_conflict())
        }
        _ => Ok(()),
    }
}

fn load(acc: &impl DocAccess, coll: &CollectionDef, key: &str) -> ArangoResult<Map<String, Value>> {
    match acc.get(coll.id, key)? {
        Some(b) => parse_doc_in(&b, &coll.name),
        None => Err(not_found()),
    }
}

/// Replaces a document; `body` carries `_key` (and `_rev` as precondition unless `ignore_revs`).
pub(crate) fn replace(
    acc: &mut impl DocAccess,
    coll: &CollectionDef,
    clock: &Clock,
    body: Value,
    o: &WriteOptions,
) -> ArangoResult<DocResult> {
    let key = selector_key(&body)?.to_string();
    let body = object(body)?;
    let old = load(acc, coll, &key)?;
    replace_existing(acc, coll, clock, &key, old, body, o, true)
}

/// Updates (merges into) a document; `patch` carries `_key`.
pub(crate) fn update(
    acc: &mut impl DocAccess,
    coll: &CollectionDef,
    clock: &Clock,
    patch: Value,
    o: &WriteOptions,
) -> ArangoResult<DocResult> {
    let key = selector_key(&patch)?.to_string();
    let patch = object(patch)?;
    let old = load(acc, coll, &key)?;
    update_existing(acc, coll, clock, &key, old, patch, o, true)
}

/// Removes a document given by key or by an object with `_key` (and `_rev` as precondition).
pub(crate) fn remove(
    acc: &mut impl DocAccess,
    coll: &CollectionDef,
    selector: &Value,
    o: &WriteOptions,
) -> ArangoResult<DocResult> {
    let key = selector_key(selector)?.to_string();
    let old = load(acc, coll, &key)?;
    if let Value::Object(sel) = selector {
        precondition(&old, sel, o)?;
    }
    let mut stats = acc.stats(coll.id)?;
    acc.delete(coll.id, &key)?;
    let old_keys = unique_keys(coll, Some(&old));
    write_unique(acc, coll, &key, &unique_keys(coll, None), &old_keys)?;
    stats.count = stats.count.saturating_sub(1);
    acc.set_stats(coll.id, stats)?;
    let rev = str_attr(&old, "_rev").to_string();
    let data = serde_json::to_vec(&serde_json::json!({"_key": key, "_rev": rev}))
        .map_err(|e| ArangoError::internal(e.to_string()))?;
    acc.log_doc(coll, marker::DOCUMENT_REMOVE, data)?;
    Ok(DocResult {
        id: format!("{}/{key}", coll.name),
        key,
        rev: rev.clone(),
        old_rev: None,
        new: None,
        old: o.return_old.then_some(Value::Object(old)),
    })
}

/// A plain insert (`overwriteMode` conflict, no `returnNew`) whose JSON work — validation, serialization
/// of the user attributes, unique index values — was done on the caller's thread, so the writer only
/// assigns key and revision, checks, and stores.
pub(crate) struct PreparedInsert {
    key: Option<String>,
    /// `"_from":…,"_to":…,` for edges, empty otherwise.
    edge_part: Vec<u8>,
    /// `,"attr":value,…}` — the user attributes and the closing brace.
    tail: Vec<u8>,
    /// The `_rev` kept under `is_restore`.
    rev: Option<String>,
    /// Unique index ids the values below were computed for.
    unique_ids: Vec<u64>,
    /// Unique index values, or `None` if an index reads system attributes (computed by the writer).
    unique_vals: Option<UniqueKeys>,
}

/// Whether an insert can take the prepared path.
pub(crate) fn can_prepare(o: &WriteOptions) -> bool {
    o.overwrite_mode == OverwriteMode::Conflict && !o.return_new
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Validates and serializes a document for [`insert_prepared`]; errors are the ones `insert` gives.
pub(crate) fn prepare_insert(
    coll: &CollectionDef,
    clock: &Clock,
    body: Value,
    o: &WriteOptions,
) -> ArangoResult<PreparedInsert> {
    let mut body = object(body)?;
    let key = take_user_key(coll, &mut body, o)?;
    check_edge(coll, &body)?;
    let rev = if o.is_restore {
        match body.get("_rev") {
            Some(Value::String(r)) => rev_from_string(r).map(|v| {
                clock.observe(v);
                r.clone()
            }),
            _ => None,
        }
    } else {
        None
    };
    let unique: Vec<&crate::store::catalog::IndexDef> =
        coll.indexes.iter().filter(|i| i.unique).collect();
    let unique_ids = unique.iter().map(|i| i.id).collect();
    let unique_vals = if unique
        .iter()
        .any(|i| i.fields.iter().any(|f| f.starts_with('_')))
    {
        None
    } else {
        Some(unique.iter().map(|i| index_key(i, &body)).collect())
    };
    let mut edge_part = Vec::new();
    if coll.ctype == CollectionType::Edge {
        for a in ["_from", "_to"] {
            if let Some(Value::String(h)) = body.get(a) {
                edge_part.extend_from_slice(b"\"");
                edge_part.extend_from_slice(a.as_bytes());
                edge_part.extend_from_slice(b"\":");
                push_json_str(&mut edge_part, h);
                edge_part.push(b',');
            }
        }
    }
    let mut tail = Vec::with_capacity(256);
    for (k, v) in &body {
        if matches!(k.as_str(), "_key" | "_id" | "_rev" | "_from" | "_to") {
            continue;
        }
        tail.push(b',');
        push_json_str(&mut tail, k);
        tail.push(b':');
        serde_json::to_writer(&mut tail, v).map_err(|e| ArangoError::internal(e.to_string()))?;
    }
    tail.push(b'}');
    Ok(PreparedInsert {
        key,
        edge_part,
        tail,
        rev,
        unique_ids,
        unique_vals,
    })
}

/// Stores a prepared insert: the same outcome as [`insert`] in `overwriteMode` conflict.
pub(crate) fn insert_prepared(
    acc: &mut impl DocAccess,
    coll: &CollectionDef,
    clock: &Clock,
    p: PreparedInsert,
) -> ArangoResult<DocResult> {
    let mut stats = acc.stats(coll.id)?;
    let key = match p.key {
        Some(k) => k,
        None => keygen::generate(&coll.key_options, &mut stats.last_value)?,
    };
    // the key check rides on the insert itself (one tree walk, not two)
    let rev = p.rev.unwrap_or_else(|| rev_to_string(clock.next()));
    let id = format!("{}/{key}", coll.name);
    let mut bytes =
        Vec::with_capacity(40 + key.len() + id.len() + p.edge_part.len() + p.tail.len());
    bytes.extend_from_slice(b"{\"_key\":");
    push_json_str(&mut bytes, &key);
    bytes.extend_from_slice(b",\"_id\":");
    push_json_str(&mut bytes, &id);
    bytes.push(b',');
    bytes.extend_from_slice(&p.edge_part);
    bytes.extend_from_slice(b"\"_rev\":");
    push_json_str(&mut bytes, &rev);
    bytes.extend_from_slice(&p.tail);
    let current: Vec<u64> = coll
        .indexes
        .iter()
        .filter(|i| i.unique)
        .map(|i| i.id)
        .collect();
    let new_keys = match p.unique_vals {
        Some(v) if current == p.unique_ids => v,
        _ => unique_keys(coll, Some(&parse_doc(&bytes)?)),
    };
    // a key taken is what ArangoDB names first, before a taken unique value; both checks ride on the
    // writes themselves (one tree walk each), and a taken value undoes what this document wrote
    if !acc.put_new(coll.id, &key, &bytes)? {
        return Err(primary_violation(&key));
    }
    claim_unique(acc, coll, &key, &new_keys)?;
    acc.log_doc(coll, marker::DOCUMENT_UPSERT, bytes)?;
    keygen::track(&coll.key_options, &mut stats.last_value, &key);
    stats.count += 1;
    acc.set_stats(coll.id, stats)?;
    Ok(DocResult {
        key,
        id,
        rev,
        old_rev: None,
        new: None,
        old: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_current_collection_name() {
        let stored = br#"{"_key":"k1","_id":"old/k1","_rev":"_a","x":1}"#;
        assert!(matches!(
            document_bytes_in(stored, "old").unwrap(),
            std::borrow::Cow::Borrowed(_)
        ));
        let fixed = document_bytes_in(stored, "new").unwrap();
        let v: Value = serde_json::from_slice(&fixed).unwrap();
        assert_eq!(v["_id"], "new/k1");
        assert_eq!(v["x"], 1);
        assert_eq!(parse_doc_in(stored, "new").unwrap()["_id"], "new/k1");
    }

    #[test]
    fn a_line_repeating_a_name_is_not_stored_as_it_came() {
        let ok = br#"{"_key":"k","_id":"c/k","_rev":"_a","x":{"y":1,"z":2},"w":"x\"y"}"#;
        assert!(check_stored_layout(ok, "c").is_some());
        let repeated = br#"{"_key":"k","_id":"c/k","_rev":"_a","x":1,"x":2}"#;
        assert!(check_stored_layout(repeated, "c").is_none());
        let escaped = br#"{"_key":"k","_id":"c/k","_rev":"_a","\u0078":1,"x":2}"#;
        assert!(check_stored_layout(escaped, "c").is_none());
    }
}

/// What applying a leader's document did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaOutcome {
    Inserted,
    Replaced,
    Unchanged,
}

/// Applies a document as a follower does ("leader wins", spec §5.9): same `_rev` as the local version →
/// nothing; otherwise insert or replace keeping the leader's `_key` and `_rev`; a local document that holds
/// one of its unique index values under another key is removed first. Returns what happened and how many
/// conflicting documents were removed.
pub(crate) fn apply_replica(
    acc: &mut impl DocAccess,
    coll: &CollectionDef,
    clock: &Clock,
    doc: Map<String, Value>,
) -> ArangoResult<(ReplicaOutcome, u64)> {
    let key = match doc.get("_key") {
        Some(Value::String(k)) if !k.is_empty() => k.clone(),
        _ => {
            return Err(ArangoError::with_message(
                codes::REPLICATION_INVALID_RESPONSE,
                "invalid document from the leader: missing or empty _key",
            ));
        }
    };
    let existing = acc.get(coll.id, &key)?;
    if let Some(old) = &existing
        && let (Some(old_rev), Some(Value::String(new_rev))) = (stored_rev(old), doc.get("_rev"))
        && old_rev == new_rev
    {
        return Ok((ReplicaOutcome::Unchanged, 0));
    }
    let mut removed = 0;
    if coll.indexes.iter().any(|i| i.unique) {
        removed = remove_unique_holders(acc, coll, &key, &unique_keys(coll, Some(&doc)))?;
    }
    let opts = WriteOptions {
        overwrite_mode: OverwriteMode::Replace,
        is_restore: true,
        ..WriteOptions::default()
    };
    insert(acc, coll, clock, Value::Object(doc), &opts)?;
    let outcome = if existing.is_some() {
        ReplicaOutcome::Replaced
    } else {
        ReplicaOutcome::Inserted
    };
    Ok((outcome, removed))
}

/// The leader wins: removes each local document that holds one of `new` (a leader's version's unique
/// index values) under another key than `key`, with all its entries; returns how many went.
fn remove_unique_holders(
    acc: &mut impl DocAccess,
    coll: &CollectionDef,
    key: &str,
    new: &UniqueKeys,
) -> ArangoResult<u64> {
    let mut removed = 0;
    for (idx, nk) in coll.indexes.iter().filter(|i| i.unique).zip(new) {
        let Some(nk) = nk else { continue };
        if let Some(other) = acc.unique_get(coll.id, idx.id, nk)?
            && other != key
        {
            remove(acc, coll, &Value::String(other), &WriteOptions::default())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// A leader's document line checked on the caller's thread, ready for the writer to store as it is.
#[derive(Debug, Clone)]
pub struct RawReplica {
    /// The line (a slice of the response body), which is also the stored form.
    pub line: bytes::Bytes,
    pub key: String,
    pub rev: String,
    /// The unique index values (see [`unique_values`]), computed with the line's parse for collections
    /// that have unique indexes; the writer computes them itself when the indexes changed meanwhile.
    pub unique: Option<UniqueValues>,
}

/// A document's unique index values and the ids of the indexes they were computed for.
#[derive(Debug, Clone)]
pub struct UniqueValues {
    ids: Vec<u64>,
    values: UniqueKeys,
}

/// The top-level attributes of index fields (`a` of `a.b`), each once.
pub(crate) fn top_level_fields<'i>(fields: impl IntoIterator<Item = &'i String>) -> Vec<&'i str> {
    let mut out: Vec<&str> = Vec::new();
    for f in fields {
        let top = f.split('.').next().unwrap_or(f);
        if !out.contains(&top) {
            out.push(top);
        }
    }
    out
}

/// [`partial_doc`] of stored document `key`; a failure is a corrupt store.
pub(crate) fn partial_stored(
    wanted: &[&str],
    key: &str,
    bytes: &[u8],
) -> ArangoResult<Map<String, Value>> {
    partial_doc(wanted, bytes)
        .map_err(|e| ArangoError::internal(format!("stored document '{key}': {e}")))
}

/// A stored document's top-level attributes named in `wanted` (enough for [`index_key`] over fields
/// below them), from a parse that skips the others instead of building them; the last of a repeated
/// attribute counts, as in a full parse.
pub(crate) fn partial_doc(wanted: &[&str], line: &[u8]) -> serde_json::Result<Map<String, Value>> {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
    struct Wanted<'a>(&'a [&'a str]);
    impl<'de> DeserializeSeed<'de> for &Wanted<'_> {
        type Value = Map<String, Value>;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for &Wanted<'_> {
        type Value = Map<String, Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            let mut out = Map::new();
            while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                if self.0.contains(&k.as_ref()) {
                    out.insert(k.into_owned(), m.next_value::<Value>()?);
                } else {
                    m.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(line);
    let doc = (&Wanted(wanted)).deserialize(&mut de)?;
    de.end()?;
    Ok(doc)
}

/// The unique index values of a stored document line, from a parse that keeps only the top-level
/// attributes the collection's unique indexes read (the rest is skipped, not built).
pub fn unique_values(coll: &CollectionDef, line: &[u8]) -> ArangoResult<UniqueValues> {
    let unique: Vec<&IndexDef> = coll.indexes.iter().filter(|i| i.unique).collect();
    let wanted = top_level_fields(unique.iter().flat_map(|i| &i.fields));
    let doc = partial_doc(&wanted, line).map_err(|e| {
        ArangoError::with_message(
            codes::REPLICATION_INVALID_RESPONSE,
            format!("invalid dump line from the leader: {e}"),
        )
    })?;
    Ok(UniqueValues {
        ids: unique.iter().map(|i| i.id).collect(),
        values: unique.iter().map(|i| index_key(i, &doc)).collect(),
    })
}

/// Checks that `line` is one JSON object laid out as this store keeps documents —
/// `{"_key":"<key>","_id":"<collection>/<key>","_rev":"<rev>",…}` — which is how ArangoDB and
/// arangorepl leaders dump them. `None` when it is laid out otherwise (the caller then parses it).
pub fn check_stored_layout(line: &[u8], collection: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix(br#"{"_key":""#)?;
    let kend = rest.iter().position(|b| *b == b'"')?;
    let key = std::str::from_utf8(&rest[..kend]).ok()?;
    if key.contains('\\') || validate_key(key).is_err() {
        return None;
    }
    let rest = rest[kend + 1..].strip_prefix(br#","_id":"#)?;
    let quoted = serde_json::to_string(&format!("{collection}/{key}")).ok()?;
    let rest = rest.strip_prefix(quoted.as_bytes())?;
    let rest = rest.strip_prefix(br#","_rev":""#)?;
    let rend = rest.iter().position(|b| *b == b'"')?;
    let rev = std::str::from_utf8(&rest[..rend]).ok()?;
    rev_from_string(rev)?;
    if !matches!(rest.get(rend + 1), Some(b',' | b'}')) {
        return None;
    }
    serde_json::from_slice::<UniqueNames>(line).ok()?;
    Some((key.to_string(), rev.to_string()))
}

/// A JSON object whose top-level attribute names are all different, checked without building it.
/// Every stored document keeps this (a line that repeats a name is parsed, and so normalized, instead of
/// stored as it came), which lets readers stop at the first occurrence of a name (`aql::raw::pick`).
struct UniqueNames;

impl<'de> serde::Deserialize<'de> for UniqueNames {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = UniqueNames;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object without repeated attribute names")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<UniqueNames, A::Error> {
                let mut seen: Vec<std::borrow::Cow<'de, str>> = Vec::new();
                while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                    if seen.contains(&k) {
                        return Err(serde::de::Error::custom(format!(
                            "repeated attribute '{k}'"
                        )));
                    }
                    seen.push(k);
                    m.next_value::<serde::de::IgnoredAny>()?;
                }
                Ok(UniqueNames)
            }
        }
        d.deserialize_map(Visit)
    }
}

/// Applies a checked line like [`apply_replica`], storing its bytes without re-serializing them.
pub(crate) fn apply_replica_raw(
    acc: &mut impl DocAccess,
    coll: &CollectionDef,
    clock: &Clock,
    r: RawReplica,
) -> ArangoResult<(ReplicaOutcome, u64)> {
    let unique = coll.indexes.iter().any(|i| i.unique);
    // the write itself tells what was there (one tree walk, not two); the unique index entries follow
    // below, and a document holding one of the new values under another key goes there too
    let existing = acc.put_replacing(coll.id, &r.key, &r.line)?;
    if let Some(o) = &existing
        && stored_rev(o) == Some(r.rev.as_str())
    {
        if o.as_slice() != &r.line[..] {
            acc.put(coll.id, &r.key, o)?;
        }
        return Ok((ReplicaOutcome::Unchanged, 0));
    }
    if let Some(v) = rev_from_string(&r.rev) {
        clock.observe(v);
    }
    let mut removed = 0;
    if unique {
        let current = coll.indexes.iter().filter(|i| i.unique).map(|i| i.id);
        let new = match r.unique {
            Some(u) if u.ids.iter().copied().eq(current) => u.values,
            _ => unique_keys(coll, Some(&parse_doc(&r.line)?)),
        };
        let old_doc = existing.as_deref().map(parse_doc).transpose()?;
        let old = unique_keys(coll, old_doc.as_ref());
        removed = remove_unique_holders(acc, coll, &r.key, &new)?;
        write_unique(acc, coll, &r.key, &new, &old)?;
    }
    if existing.is_none() {
        let mut stats = acc.stats(coll.id)?;
        keygen::track(&coll.key_options, &mut stats.last_value, &r.key);
        stats.count += 1;
        acc.set_stats(coll.id, stats)?;
    }
    acc.log_doc(coll, marker::DOCUMENT_UPSERT, r.line.to_vec())?;
    let outcome = if existing.is_some() {
        ReplicaOutcome::Replaced
    } else {
        ReplicaOutcome::Inserted
    };
    Ok((outcome, removed))
}

/// One document's share of its collection's fingerprint: the XOR of these over all documents identifies
/// the set of `(_key, _rev)` pairs, so two stores can tell in O(1) whether a collection is the same.
pub fn fingerprint_of(key: &str, rev: &str) -> u64 {
    let mut buf = [0u8; 320];
    let (k, r) = (key.as_bytes(), rev.as_bytes());
    if k.len() + r.len() < buf.len() {
        buf[..k.len()].copy_from_slice(k);
        buf[k.len() + 1..k.len() + 1 + r.len()].copy_from_slice(r);
        xxhash_rust::xxh64::xxh64(&buf[..k.len() + 1 + r.len()], 0x5eed_f00d)
    } else {
        let mut v = k.to_vec();
        v.push(0);
        v.extend_from_slice(r);
        xxhash_rust::xxh64::xxh64(&v, 0x5eed_f00d)
    }
}

/// The fingerprint share of a stored document (`None` if it has no `_rev`, which cannot happen).
pub(crate) fn stored_fingerprint(key: &str, doc: &[u8]) -> Option<u64> {
    stored_rev(doc).map(|r| fingerprint_of(key, r))
}
