//! Helpers shared by the integration tests: a store's visible contents, its checksums, and a replayer
//! that applies one store's replication log to another the way a follower applies a leader's log.
#![allow(dead_code)]

pub mod api;
pub mod repl;
pub mod rng;
pub mod server;

use arangorepl::store::{
    CollectionOptions, LogQuery, OverwriteMode, PropertiesChange, Store, TrxCollections,
    TrxOptions, WriteOptions, marker,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The visible contents of a store: db → collection → (guid, edge, indexes, key → document).
pub type Contents =
    BTreeMap<String, BTreeMap<String, (String, bool, Vec<Value>, BTreeMap<String, Value>)>>;

pub fn contents(s: &Store) -> Contents {
    let snap = s.snapshot().unwrap();
    let cat = snap.catalog().clone();
    let mut out = Contents::new();
    for db in s.databases() {
        let mut colls = BTreeMap::new();
        for c in cat.collections_of(&db).unwrap() {
            let docs = snap
                .documents(c.id)
                .unwrap()
                .into_iter()
                .map(|d| (d["_key"].as_str().unwrap().to_string(), Value::Object(d)))
                .collect();
            let idx = c.indexes.iter().map(|i| i.to_inventory_json()).collect();
            colls.insert(
                c.name.clone(),
                (
                    c.guid.clone(),
                    c.ctype == arangorepl::store::CollectionType::Edge,
                    idx,
                    docs,
                ),
            );
        }
        out.insert(db, colls);
    }
    out
}

// ----- replay ------------------------------------------------------------------------------------

fn restore_opts() -> WriteOptions {
    WriteOptions {
        is_restore: true,
        overwrite_mode: OverwriteMode::Replace,
        ..WriteOptions::default()
    }
}

fn apply_doc_marker(b: &Store, m: &Value, trx: Option<u64>) {
    let (db, cuid) = (m["db"].as_str().unwrap(), m["cuid"].as_str().unwrap());
    match m["type"].as_u64().unwrap() as u16 {
        marker::DOCUMENT_UPSERT => {
            let r = b
                .insert(db, cuid, vec![m["data"].clone()], &restore_opts(), trx)
                .unwrap();
            r.into_iter().next().unwrap().unwrap();
        }
        marker::DOCUMENT_REMOVE => {
            let r = b
                .remove(
                    db,
                    cuid,
                    vec![json!(m["data"]["_key"])],
                    &WriteOptions::default(),
                    trx,
                )
                .unwrap();
            if let Err(e) = r.into_iter().next().unwrap() {
                assert_eq!(e.error_num, 1202);
            }
        }
        t => panic!("unexpected document marker {t}"),
    }
}

/// Applies a store's whole log to another store, the way a follower applies a leader's log.
pub fn replay(a: &Store, b: &Store) {
    let chunk = a.read_log(&LogQuery::after(0)).unwrap();
    let mut open_trx: Option<(String, Vec<Value>)> = None;
    for rec in chunk.records {
        let m = rec.to_value().unwrap();
        let db = m["db"].as_str().unwrap().to_string();
        let cuid = m["cuid"].as_str().unwrap_or("").to_string();
        match rec.mtype {
            marker::DATABASE_CREATE => {
                b.create_database(&db).unwrap();
            }
            marker::DATABASE_DROP => b.drop_database(&db).unwrap(),
            marker::COLLECTION_CREATE => {
                let opts = CollectionOptions::from_json(&m["data"]).unwrap();
                let c = b.create_collection(&db, opts).unwrap();
                assert_eq!(c.guid, cuid);
                for idx in m["data"]["indexes"].as_array().unwrap() {
                    b.ensure_index(&db, &cuid, idx).unwrap();
                }
            }
            marker::COLLECTION_DROP => b.drop_collection(&db, &cuid, true).unwrap(),
            marker::COLLECTION_RENAME => {
                let name = b.collection(&db, &cuid).unwrap().name;
                b.rename_collection(&db, &name, m["data"]["name"].as_str().unwrap())
                    .unwrap();
            }
            marker::COLLECTION_CHANGE => {
                let name = b.collection(&db, &cuid).unwrap().name;
                b.change_collection(&db, &name, PropertiesChange::from_json(&m["data"]).unwrap())
                    .unwrap();
            }
            marker::COLLECTION_TRUNCATE => {
                let name = b.collection(&db, &cuid).unwrap().name;
                b.truncate_collection(&db, &name).unwrap();
            }
            marker::INDEX_CREATE => {
                let (_, created) = b.ensure_index(&db, &cuid, &m["data"]).unwrap();
                assert!(created);
            }
            marker::INDEX_DROP => {
                let id: u64 = m["data"]["id"].as_str().unwrap().parse().unwrap();
                b.drop_index(&db, &cuid, id).unwrap();
            }
            marker::TRANSACTION_BEGIN => {
                assert!(open_trx.is_none(), "transactions are never interleaved");
                open_trx = Some((db, Vec::new()));
            }
            marker::TRANSACTION_COMMIT => {
                let (db, ops) = open_trx.take().expect("commit after begin");
                let mut names: Vec<String> = ops
                    .iter()
                    .map(|o| b.collection(&db, o["cuid"].as_str().unwrap()).unwrap().name)
                    .collect();
                names.sort();
                names.dedup();
                let tid = b
                    .begin_transaction(
                        &db,
                        &TrxCollections {
                            write: names,
                            ..Default::default()
                        },
                        &TrxOptions::default(),
                    )
                    .unwrap();
                for o in &ops {
                    apply_doc_marker(b, o, Some(tid));
                }
                b.commit_transaction(tid).unwrap();
            }
            marker::DOCUMENT_UPSERT | marker::DOCUMENT_REMOVE => match &mut open_trx {
                Some((_, ops)) => {
                    assert_eq!(m["tid"], rec.tid.to_string().as_str());
                    ops.push(m);
                }
                None => {
                    assert_eq!(m["tid"], "0");
                    apply_doc_marker(b, &m, None);
                }
            },
            t => panic!("unexpected marker type {t}"),
        }
    }
    assert!(open_trx.is_none());
}

/// Every collection's checksums and fingerprint; checks on the way that the maintained fingerprint and
/// count equal the ones recomputed from the documents.
#[allow(clippy::type_complexity)]
pub fn checksums(s: &Store) -> Vec<(String, String, u64, u64, u64, u64)> {
    let mut out = Vec::new();
    for db in s.databases() {
        for c in s.catalog().collections_of(&db).unwrap() {
            let snap = s.snapshot().unwrap();
            let docs = snap.documents(c.id).unwrap();
            let recomputed = docs.iter().fold(0u64, |acc, d| {
                acc ^ arangorepl::store::fingerprint_of(
                    d["_key"].as_str().unwrap(),
                    d["_rev"].as_str().unwrap(),
                )
            });
            let (count, fp) = s.fingerprint(&db, &c.name).unwrap();
            assert_eq!(fp, Some(recomputed), "fingerprint of {db}/{}", c.name);
            assert_eq!(count, docs.len() as u64, "count of {db}/{}", c.name);
            out.push((
                db.clone(),
                c.name.clone(),
                s.checksum(&db, &c.name, false, false).unwrap(),
                s.checksum(&db, &c.name, true, false).unwrap(),
                s.checksum(&db, &c.name, true, true).unwrap(),
                recomputed,
            ));
        }
    }
    out
}

/// Same field names and JSON types, recursively (arrays compared by their first elements; a null in
/// `theirs` takes a string: a tick not known when the fixture was captured).
pub fn same_shape(ours: &Value, theirs: &Value, path: &str) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                let o = a
                    .get(k)
                    .unwrap_or_else(|| panic!("{path}.{k} missing in {ours}"));
                same_shape(o, v, &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let (Some(x), Some(y)) = (a.first(), b.first()) {
                same_shape(x, y, &format!("{path}[0]"));
            }
        }
        // a fixture's null is a tick not known yet when it was captured; ours is known (a string)
        (Value::String(_), Value::Null) => {}
        (a, b) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "{path}: ours {a}, theirs {b}"
        ),
    }
}
