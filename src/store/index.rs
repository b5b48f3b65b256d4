//! Index rules: which values a document contributes to a persistent index, the canonical encoding that
//! makes equal values equal bytes (so `1` and `1.0` collide as ArangoDB's comparison says they do), and
//! the per-collection checksum built on the same encoding.

use crate::store::catalog::{CollectionDef, CollectionType, IndexDef};
pub use crate::store::tables::{EDGE_FROM_IID, EDGE_TO_IID};
use serde_json::{Map, Value};
use xxhash_rust::xxh64::xxh64;

/// Appends the canonical form of a value: object keys sorted, integral numbers without fraction.
pub fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    out.push_str(&(f as i64).to_string());
                } else {
                    out.push_str(&f.to_string());
                }
            }
        }
        Value::String(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                canonical(&o[k], out);
            }
            out.push('}');
        }
    }
}

/// Looks up a dotted attribute path (`a.b.c`).
fn lookup<'v>(doc: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut cur = doc.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

/// The encoded index key a document contributes, or `None` when a sparse index skips it (some field
/// missing or null). Non-sparse indexes treat a missing attribute as `null`.
pub fn index_key(idx: &IndexDef, doc: &Map<String, Value>) -> Option<Vec<u8>> {
    let mut s = String::from("[");
    for (i, f) in idx.fields.iter().enumerate() {
        let v = lookup(doc, f).unwrap_or(&Value::Null);
        if idx.sparse && v.is_null() {
            return None;
        }
        if i > 0 {
            s.push(',');
        }
        canonical(v, &mut s);
    }
    s.push(']');
    Some(s.into_bytes())
}

/// The message ArangoDB gives for a unique violation, naming index and conflicting key.
pub fn violation_message(idx_name: &str, idx_type: &str, fields: &[String], key: &str) -> String {
    format!(
        "unique constraint violated - in index {idx_name} of type {idx_type} over '{}'; conflicting key: {key}",
        fields.join(", ")
    )
}

/// Per-document contribution to a collection checksum. XOR-combined, so insertion order does not matter.
pub fn document_checksum(doc: &Map<String, Value>, with_revisions: bool, with_data: bool) -> u64 {
    let key = doc.get("_key").and_then(Value::as_str).unwrap_or("");
    let mut h = xxh64(key.as_bytes(), 0);
    if with_revisions {
        let rev = doc.get("_rev").and_then(Value::as_str).unwrap_or("");
        h ^= xxh64(rev.as_bytes(), 0x5bd1e995);
    }
    if with_data {
        let mut s = String::new();
        let user: Map<String, Value> = doc
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "_key" | "_id" | "_rev"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        canonical(&Value::Object(user), &mut s);
        h ^= xxh64(s.as_bytes(), 0x2545f491);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn idx(fields: &[&str], sparse: bool) -> IndexDef {
        IndexDef {
            id: 5,
            name: "i".into(),
            itype: "persistent".into(),
            fields: fields.iter().map(|s| s.to_string()).collect(),
            unique: true,
            sparse,
            deduplicate: true,
            estimates: true,
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn equal_values_encode_equally() {
        let i = idx(&["a", "b.c"], false);
        let k1 = index_key(&i, &obj(json!({"a": 1, "b": {"c": {"y": 2, "x": 1}}}))).unwrap();
        let k2 = index_key(&i, &obj(json!({"b": {"c": {"x": 1, "y": 2.0}}, "a": 1.0}))).unwrap();
        assert_eq!(k1, k2);
        assert_ne!(
            k1,
            index_key(&i, &obj(json!({"a": "1", "b": {"c": {"x": 1, "y": 2}}}))).unwrap()
        );
        // missing attributes count as null in a non-sparse index
        assert_eq!(
            index_key(&i, &obj(json!({}))).unwrap(),
            b"[null,null]".to_vec()
        );
    }

    #[test]
    fn sparse_indexes_skip_missing_and_null() {
        let i = idx(&["a", "b"], true);
        assert!(index_key(&i, &obj(json!({"a": 1}))).is_none());
        assert!(index_key(&i, &obj(json!({"a": 1, "b": null}))).is_none());
        assert!(index_key(&i, &obj(json!({"a": 1, "b": false}))).is_some());
    }

    #[test]
    fn checksum_ignores_attribute_order_but_not_content() {
        let a = obj(json!({"_key": "k", "_id": "c/k", "_rev": "_a", "x": 1, "y": [1, 2]}));
        let b = obj(json!({"_key": "k", "_id": "c/k", "_rev": "_a", "y": [1, 2], "x": 1}));
        let c = obj(json!({"_key": "k", "_id": "c/k", "_rev": "_b", "y": [1, 2], "x": 1}));
        assert_eq!(
            document_checksum(&a, true, true),
            document_checksum(&b, true, true)
        );
        assert_ne!(
            document_checksum(&a, true, false),
            document_checksum(&c, true, false)
        );
        assert_eq!(
            document_checksum(&a, false, true),
            document_checksum(&c, false, true)
        );
        assert_eq!(document_checksum(&a, false, false), xxh64(b"k", 0));
    }
}

/// A secondary index kept in the INDEX table: a non-unique persistent index, or one half of an edge
/// collection's edge index (`_from` or `_to`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secondary {
    pub iid: u64,
    pub fields: Vec<String>,
    pub sparse: bool,
}

/// Whether a collection has secondary indexes (cheap: no allocation).
pub fn has_secondary(def: &CollectionDef) -> bool {
    def.ctype == CollectionType::Edge || def.indexes.iter().any(is_secondary)
}

fn is_secondary(i: &IndexDef) -> bool {
    !i.unique
        && matches!(i.itype.as_str(), "persistent" | "hash" | "skiplist")
        && !i.fields.iter().any(|f| f.contains("[*]"))
}

/// The secondary indexes of a collection.
pub fn secondary_indexes(def: &CollectionDef) -> Vec<Secondary> {
    let mut out: Vec<Secondary> = def
        .indexes
        .iter()
        .filter(|i| is_secondary(i))
        .map(|i| Secondary {
            iid: i.id,
            fields: i.fields.clone(),
            sparse: i.sparse,
        })
        .collect();
    if def.ctype == CollectionType::Edge {
        for (iid, f) in [(EDGE_FROM_IID, "_from"), (EDGE_TO_IID, "_to")] {
            out.push(Secondary {
                iid,
                fields: vec![f.to_string()],
                sparse: false,
            });
        }
    }
    out
}

/// The sortable form of the values a document contributes to a secondary index (`None`: a sparse
/// index skips it).
pub fn secondary_values(idx: &Secondary, doc: &Map<String, Value>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for f in &idx.fields {
        let v = lookup(doc, f).unwrap_or(&Value::Null);
        if idx.sparse && v.is_null() {
            return None;
        }
        sortable(v, &mut out);
    }
    Some(out)
}

/// The INDEX key of stored document `key` (its JSON `bytes`) in secondary index `idx` of collection
/// `cid`, parsing only `wanted` (`docs::top_level_fields` of its fields); `None` when a sparse index
/// skips it.
pub fn secondary_entry(
    cid: u64,
    idx: &Secondary,
    wanted: &[&str],
    key: &str,
    bytes: &[u8],
) -> crate::error::ArangoResult<Option<Vec<u8>>> {
    let doc = crate::store::docs::partial_stored(wanted, key, bytes)?;
    Ok(secondary_values(idx, &doc)
        .map(|v| crate::store::tables::secondary_key(cid, idx.iid, &v, key)))
}

/// Appends a value in a byte form whose order is AQL's order for null, booleans, numbers and
/// strings (type first: null < bool < number < string < array < object), and in which equal values
/// are equal bytes. Each form ends by itself, so forms can follow one another.
pub fn sortable(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0x01),
        Value::Bool(false) => out.push(0x02),
        Value::Bool(true) => out.push(0x03),
        Value::Number(n) => {
            out.push(0x04);
            let mut f = n.as_f64().unwrap_or(0.0);
            if f == 0.0 {
                f = 0.0; // -0 is 0
            }
            let bits = f.to_bits();
            let ordered = if bits >> 63 == 1 {
                !bits
            } else {
                bits | (1 << 63)
            };
            out.extend_from_slice(&ordered.to_be_bytes());
        }
        Value::String(s) => {
            out.push(0x05);
            for &b in s.as_bytes() {
                if b == 0 {
                    out.extend_from_slice(&[0, 1]);
                } else {
                    out.push(b);
                }
            }
            out.extend_from_slice(&[0, 0]);
        }
        Value::Array(a) => {
            out.push(0x06);
            for x in a {
                sortable(x, out);
            }
            out.push(0);
        }
        Value::Object(_) => {
            out.push(0x07);
            let mut s = String::new();
            canonical(v, &mut s);
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
    }
}
