//! Model-based property test of the store, and the property the project rests on: replaying a store's
//! replication log into an empty store reproduces its contents exactly (documents with their `_rev`,
//! collections with their ids and `globallyUniqueId`s, indexes) with equal checksums.

mod common;

use arangorepl::error::ArangoError;
use arangorepl::store::{
    CollectionOptions, PropertiesChange, Store, StoreConfig, TrxCollections, TrxOptions,
    WriteOptions,
};
use common::{checksums, contents, replay};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

const DBS: [&str; 3] = ["_system", "d1", "d2"];
const COLLS: [&str; 3] = ["c0", "c1", "c2"];
const FIELDS: [&str; 2] = ["a", "b"];

#[derive(Debug, Clone)]
enum Patch {
    Absent,
    Null,
    Set(u8),
}

#[derive(Debug, Clone)]
enum DocOp {
    Insert {
        key: Option<u8>,
        a: Option<u8>,
        b: u8,
    },
    Replace {
        key: u8,
        a: Option<u8>,
        b: u8,
    },
    Update {
        key: u8,
        a: Patch,
        keep_null: bool,
    },
    Remove {
        key: u8,
    },
}

#[derive(Debug, Clone)]
enum Op {
    CreateDb(usize),
    DropDb(usize),
    CreateColl(usize, usize, bool),
    DropColl(usize, usize),
    RenameColl(usize, usize, usize),
    Truncate(usize, usize),
    WaitForSync(usize, usize, bool),
    EnsureUnique(usize, usize, usize, bool),
    DropIndex(usize, usize, usize),
    Doc(usize, usize, DocOp),
    Batch(usize, usize, Vec<(Option<u8>, Option<u8>, u8)>),
    Trx(usize, usize, Vec<DocOp>, bool),
}

fn doc_op() -> impl Strategy<Value = DocOp> {
    let small = 0u8..12;
    let patch = prop_oneof![
        Just(Patch::Absent),
        Just(Patch::Null),
        (0u8..4).prop_map(Patch::Set)
    ];
    prop_oneof![
        4 => (proptest::option::of(small.clone()), proptest::option::of(0u8..4), 0u8..4)
            .prop_map(|(key, a, b)| DocOp::Insert { key, a, b }),
        2 => (small.clone(), proptest::option::of(0u8..4), 0u8..4).prop_map(|(key, a, b)| DocOp::Replace { key, a, b }),
        2 => (small.clone(), patch, any::<bool>()).prop_map(|(key, a, keep_null)| DocOp::Update { key, a, keep_null }),
        2 => small.prop_map(|key| DocOp::Remove { key }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let db = prop_oneof![3 => Just(0usize), 1 => Just(1usize), 1 => Just(2usize)];
    let c = 0usize..3;
    prop_oneof![
        1 => (1usize..3).prop_map(Op::CreateDb),
        1 => (1usize..3).prop_map(Op::DropDb),
        3 => (db.clone(), c.clone(), proptest::bool::weighted(0.3)).prop_map(|(d, c, e)| Op::CreateColl(d, c, e)),
        1 => (db.clone(), c.clone()).prop_map(|(d, c)| Op::DropColl(d, c)),
        1 => (db.clone(), c.clone(), c.clone()).prop_map(|(d, a, b)| Op::RenameColl(d, a, b)),
        1 => (db.clone(), c.clone()).prop_map(|(d, c)| Op::Truncate(d, c)),
        1 => (db.clone(), c.clone(), any::<bool>()).prop_map(|(d, c, w)| Op::WaitForSync(d, c, w)),
        2 => (db.clone(), c.clone(), 0usize..2, any::<bool>()).prop_map(|(d, c, f, s)| Op::EnsureUnique(d, c, f, s)),
        1 => (db.clone(), c.clone(), 0usize..3).prop_map(|(d, c, i)| Op::DropIndex(d, c, i)),
        14 => (db.clone(), c.clone(), doc_op()).prop_map(|(d, c, o)| Op::Doc(d, c, o)),
        2 => (db.clone(), c.clone(), proptest::collection::vec((proptest::option::of(0u8..12), proptest::option::of(0u8..4), 0u8..4), 1..5))
            .prop_map(|(d, c, v)| Op::Batch(d, c, v)),
        3 => (db, c, proptest::collection::vec(doc_op(), 1..6), proptest::bool::weighted(0.7))
            .prop_map(|(d, c, v, commit)| Op::Trx(d, c, v, commit)),
    ]
}

// ----- the model ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
struct MColl {
    edge: bool,
    /// key → user attributes
    docs: BTreeMap<String, Map<String, Value>>,
    /// (field, sparse) of unique indexes, in creation order
    uniques: Vec<(String, bool)>,
    last_value: u64,
}

#[derive(Debug, Clone, Default)]
struct Model {
    dbs: BTreeMap<String, BTreeMap<String, MColl>>,
}

type R = Result<(), i64>;

impl MColl {
    fn unique_ok(&self, key: &str, attrs: &Map<String, Value>) -> R {
        for (f, sparse) in &self.uniques {
            let v = attrs.get(f).cloned().unwrap_or(Value::Null);
            if *sparse && v.is_null() {
                continue;
            }
            let clash = self
                .docs
                .iter()
                .any(|(k, d)| k != key && d.get(f).cloned().unwrap_or(Value::Null) == v);
            if clash {
                return Err(1210);
            }
        }
        Ok(())
    }

    fn track(&mut self, key: &str) {
        if key.bytes().all(|b| b.is_ascii_digit())
            && let Ok(v) = key.parse::<u64>()
        {
            self.last_value = self.last_value.max(v);
        }
    }

    fn apply(&mut self, op: &DocOp) -> Result<String, i64> {
        match op {
            DocOp::Insert { key, a, b } => {
                let (key, generated) = match key {
                    Some(k) => (k.to_string(), false),
                    None => ((self.last_value + 1).to_string(), true),
                };
                if self.docs.contains_key(&key) {
                    return Err(1210);
                }
                let attrs = attrs(*a, *b);
                self.unique_ok(&key, &attrs)?;
                if generated {
                    self.last_value += 1;
                } else {
                    self.track(&key);
                }
                self.docs.insert(key.clone(), attrs);
                Ok(key)
            }
            DocOp::Replace { key, a, b } => {
                let key = key.to_string();
                if !self.docs.contains_key(&key) {
                    return Err(1202);
                }
                let attrs = attrs(*a, *b);
                self.unique_ok(&key, &attrs)?;
                self.docs.insert(key.clone(), attrs);
                Ok(key)
            }
            DocOp::Update { key, a, keep_null } => {
                let key = key.to_string();
                let Some(old) = self.docs.get(&key) else {
                    return Err(1202);
                };
                let mut new = old.clone();
                match a {
                    Patch::Absent => {}
                    Patch::Null if *keep_null => {
                        new.insert("a".into(), Value::Null);
                    }
                    Patch::Null => {
                        new.shift_remove("a");
                    }
                    Patch::Set(v) => {
                        new.insert("a".into(), json!(v));
                    }
                }
                self.unique_ok(&key, &new)?;
                self.docs.insert(key.clone(), new);
                Ok(key)
            }
            DocOp::Remove { key } => {
                let key = key.to_string();
                self.docs.remove(&key).map(|_| key).ok_or(1202)
            }
        }
    }
}

fn attrs(a: Option<u8>, b: u8) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(a) = a {
        m.insert("a".into(), json!(a));
    }
    m.insert("b".into(), json!(b));
    m
}

fn body(coll: &MColl, key: Option<String>, op: &DocOp) -> Value {
    let mut m = Map::new();
    if let Some(k) = key {
        m.insert("_key".into(), Value::String(k));
    }
    if coll.edge && matches!(op, DocOp::Insert { .. } | DocOp::Replace { .. }) {
        m.insert("_from".into(), json!("v/1"));
        m.insert("_to".into(), json!("v/2"));
    }
    match op {
        DocOp::Insert { a, b, .. } | DocOp::Replace { a, b, .. } => m.extend(attrs(*a, *b)),
        DocOp::Update { a, .. } => match a {
            Patch::Absent => {}
            Patch::Null => {
                m.insert("a".into(), Value::Null);
            }
            Patch::Set(v) => {
                m.insert("a".into(), json!(v));
            }
        },
        DocOp::Remove { .. } => {}
    }
    Value::Object(m)
}

fn store_doc_op(
    s: &Store,
    db: &str,
    coll: &str,
    mc: &MColl,
    op: &DocOp,
    trx: Option<u64>,
) -> Result<Result<String, i64>, ArangoError> {
    let key = |k: &u8| Some(k.to_string());
    let res = match op {
        DocOp::Insert { key: k, .. } => s.insert(
            db,
            coll,
            vec![body(mc, k.map(|k| k.to_string()), op)],
            &WriteOptions::default(),
            trx,
        ),
        DocOp::Replace { key: k, .. } => s.replace(
            db,
            coll,
            vec![body(mc, key(k), op)],
            &WriteOptions::default(),
            trx,
        ),
        DocOp::Update {
            key: k, keep_null, ..
        } => {
            let o = WriteOptions {
                keep_null: *keep_null,
                ..WriteOptions::default()
            };
            s.update(db, coll, vec![body(mc, key(k), op)], &o, trx)
        }
        DocOp::Remove { key: k } => s.remove(
            db,
            coll,
            vec![json!(k.to_string())],
            &WriteOptions::default(),
            trx,
        ),
    }?;
    Ok(res
        .into_iter()
        .next()
        .expect("one result")
        .map(|r| r.key)
        .map_err(|e| e.error_num))
}

fn outer(r: Result<impl Sized, ArangoError>) -> R {
    r.map(|_| ()).map_err(|e| e.error_num)
}

impl Model {
    fn new() -> Self {
        let mut m = Model::default();
        m.dbs.insert("_system".into(), BTreeMap::new());
        m
    }

    fn coll(&self, db: &str, c: &str) -> Result<&MColl, i64> {
        self.dbs.get(db).ok_or(1228)?.get(c).ok_or(1203)
    }

    fn coll_mut(&mut self, db: &str, c: &str) -> Result<&mut MColl, i64> {
        self.dbs.get_mut(db).ok_or(1228)?.get_mut(c).ok_or(1203)
    }
}

/// Runs one operation on store and model and checks that both agree on the outcome.
fn step(s: &Store, m: &mut Model, op: &Op) {
    match op {
        Op::CreateDb(d) => {
            let name = DBS[*d];
            let want = if m.dbs.contains_key(name) {
                Err(1207)
            } else {
                Ok(())
            };
            assert_eq!(outer(s.create_database(name)), want, "{op:?}");
            m.dbs.entry(name.into()).or_default();
        }
        Op::DropDb(d) => {
            let name = DBS[*d];
            let want = if m.dbs.remove(name).is_some() {
                Ok(())
            } else {
                Err(1228)
            };
            assert_eq!(outer(s.drop_database(name)), want, "{op:?}");
        }
        Op::CreateColl(d, c, edge) => {
            let (db, name) = (DBS[*d], COLLS[*c]);
            let want = match m.dbs.get(db) {
                None => Err(1228),
                Some(cs) if cs.contains_key(name) => Err(1207),
                Some(_) => Ok(()),
            };
            let opts = if *edge {
                CollectionOptions::edge(name)
            } else {
                CollectionOptions::new(name)
            };
            assert_eq!(outer(s.create_collection(db, opts)), want, "{op:?}");
            if want.is_ok() {
                m.dbs.get_mut(db).unwrap().insert(
                    name.into(),
                    MColl {
                        edge: *edge,
                        ..MColl::default()
                    },
                );
            }
        }
        Op::DropColl(d, c) => {
            let (db, name) = (DBS[*d], COLLS[*c]);
            let want = m.coll(db, name).map(|_| ());
            assert_eq!(outer(s.drop_collection(db, name, false)), want, "{op:?}");
            if want.is_ok() {
                m.dbs.get_mut(db).unwrap().remove(name);
            }
        }
        Op::RenameColl(d, a, b) => {
            let (db, from, to) = (DBS[*d], COLLS[*a], COLLS[*b]);
            let want = m.coll(db, from).map(|_| ()).and_then(|_| {
                if from != to && m.dbs[db].contains_key(to) {
                    Err(1207)
                } else {
                    Ok(())
                }
            });
            assert_eq!(outer(s.rename_collection(db, from, to)), want, "{op:?}");
            if want.is_ok() {
                let cs = m.dbs.get_mut(db).unwrap();
                let c = cs.remove(from).unwrap();
                cs.insert(to.into(), c);
            }
        }
        Op::Truncate(d, c) => {
            let (db, name) = (DBS[*d], COLLS[*c]);
            let want = m.coll(db, name).map(|_| ());
            assert_eq!(outer(s.truncate_collection(db, name)), want, "{op:?}");
            if want.is_ok() {
                m.coll_mut(db, name).unwrap().docs.clear();
            }
        }
        Op::WaitForSync(d, c, w) => {
            let (db, name) = (DBS[*d], COLLS[*c]);
            let want = m.coll(db, name).map(|_| ());
            let ch = PropertiesChange {
                wait_for_sync: Some(*w),
                ..Default::default()
            };
            assert_eq!(outer(s.change_collection(db, name, ch)), want, "{op:?}");
        }
        Op::EnsureUnique(d, c, f, sparse) => {
            let (db, name, field) = (DBS[*d], COLLS[*c], FIELDS[*f]);
            let spec =
                json!({"type": "persistent", "fields": [field], "unique": true, "sparse": sparse});
            let want = m.coll(db, name).and_then(|mc| {
                if mc.uniques.contains(&(field.to_string(), *sparse)) {
                    return Ok(false);
                }
                let mut seen = MColl {
                    uniques: vec![(field.to_string(), *sparse)],
                    ..MColl::default()
                };
                for (k, d) in &mc.docs {
                    seen.unique_ok(k, d)?;
                    seen.docs.insert(k.clone(), d.clone());
                }
                Ok(true)
            });
            let got = s
                .ensure_index(db, name, &spec)
                .map(|(_, created)| created)
                .map_err(|e| e.error_num);
            assert_eq!(got, want, "{op:?}");
            if want == Ok(true) {
                m.coll_mut(db, name)
                    .unwrap()
                    .uniques
                    .push((field.to_string(), *sparse));
            }
        }
        Op::DropIndex(d, c, i) => {
            let (db, name) = (DBS[*d], COLLS[*c]);
            let Ok(mc) = m.coll(db, name) else {
                assert!(s.drop_index(db, name, 4242).is_err());
                return;
            };
            if mc.uniques.is_empty() {
                assert_eq!(outer(s.drop_index(db, name, 4242)), Err(1212), "{op:?}");
                return;
            }
            let pos = i % mc.uniques.len();
            let id = s.collection(db, name).unwrap().indexes[pos].id;
            assert_eq!(outer(s.drop_index(db, name, id)), Ok(()), "{op:?}");
            m.coll_mut(db, name).unwrap().uniques.remove(pos);
        }
        Op::Doc(d, c, dop) => {
            let (db, name) = (DBS[*d], COLLS[*c]);
            match m.coll_mut(db, name) {
                Err(e) => {
                    let got = store_doc_op(s, db, name, &MColl::default(), dop, None);
                    assert_eq!(got.map(|_| ()).map_err(|x| x.error_num), Err(e), "{op:?}");
                }
                Ok(mc) => {
                    let snapshot = mc.clone();
                    let want = mc.apply(dop);
                    let got =
                        store_doc_op(s, db, name, &snapshot, dop, None).expect("collection exists");
                    assert_eq!(got, want, "{op:?}");
                }
            }
        }
        Op::Batch(d, c, items) => {
            let (db, name) = (DBS[*d], COLLS[*c]);
            let Ok(mc) = m.coll_mut(db, name) else {
                assert!(
                    s.insert(db, name, vec![json!({})], &WriteOptions::default(), None)
                        .is_err()
                );
                return;
            };
            let ops: Vec<DocOp> = items
                .iter()
                .map(|(key, a, b)| DocOp::Insert {
                    key: *key,
                    a: *a,
                    b: *b,
                })
                .collect();
            let bodies: Vec<Value> = ops
                .iter()
                .map(|o| match o {
                    DocOp::Insert { key, .. } => body(mc, key.map(|k| k.to_string()), o),
                    _ => unreachable!(),
                })
                .collect();
            let want: Vec<Result<String, i64>> = ops.iter().map(|o| mc.apply(o)).collect();
            let got: Vec<Result<String, i64>> = s
                .insert(db, name, bodies, &WriteOptions::default(), None)
                .unwrap()
                .into_iter()
                .map(|r| r.map(|r| r.key).map_err(|e| e.error_num))
                .collect();
            assert_eq!(got, want, "{op:?}");
        }
        Op::Trx(d, c, ops, commit) => {
            let (db, name) = (DBS[*d], COLLS[*c]);
            let cols = TrxCollections {
                write: vec![name.to_string()],
                ..Default::default()
            };
            let begun = s.begin_transaction(db, &cols, &TrxOptions::default());
            let mc = match m.coll(db, name) {
                Err(e) => {
                    assert_eq!(outer(begun), Err(e), "{op:?}");
                    return;
                }
                Ok(mc) => mc.clone(),
            };
            let tid = begun.expect("transaction begins");
            let mut work = mc;
            for dop in ops {
                let snapshot = work.clone();
                let want = work.apply(dop);
                let got = store_doc_op(s, db, name, &snapshot, dop, Some(tid))
                    .expect("inside transaction");
                assert_eq!(got, want, "{op:?} / {dop:?}");
                assert_eq!(
                    s.count(db, name, Some(tid)).unwrap(),
                    work.docs.len() as u64
                );
            }
            if *commit {
                s.commit_transaction(tid).expect("commit");
                *m.coll_mut(db, name).unwrap() = work;
            } else {
                s.abort_transaction(tid).expect("abort");
            }
        }
    }
}

fn check_against_model(s: &Store, m: &Model) {
    // fingerprints and counts as maintained equal the ones recomputed from the documents
    checksums(s);
    let got = contents(s);
    let dbs: Vec<&String> = got.keys().collect();
    let want_dbs: Vec<&String> = m.dbs.keys().collect();
    assert_eq!(dbs, want_dbs);
    for (db, colls) in &m.dbs {
        let names: Vec<&String> = got[db].keys().collect();
        assert_eq!(
            names,
            colls.keys().collect::<Vec<_>>(),
            "collections of {db}"
        );
        for (name, mc) in colls {
            let (_, edge, idx, docs) = &got[db][name];
            assert_eq!(*edge, mc.edge);
            assert_eq!(idx.len(), mc.uniques.len());
            assert_eq!(
                docs.keys().collect::<Vec<_>>(),
                mc.docs.keys().collect::<Vec<_>>(),
                "{db}/{name}"
            );
            for (k, attrs) in &mc.docs {
                let mut want = Map::new();
                want.insert("_key".into(), json!(k));
                want.insert("_id".into(), json!(format!("{name}/{k}")));
                if mc.edge {
                    want.insert("_from".into(), json!("v/1"));
                    want.insert("_to".into(), json!("v/2"));
                }
                want.extend(attrs.clone());
                let mut have = docs[k].as_object().unwrap().clone();
                assert!(have.shift_remove("_rev").is_some());
                assert_eq!(have, want, "{db}/{name}/{k}");
            }
            assert_eq!(s.count(db, name, None).unwrap(), mc.docs.len() as u64);
        }
    }
}

fn run_case(ops: &[Op]) {
    let da = tempfile::tempdir().unwrap();
    let db_ = tempfile::tempdir().unwrap();
    let a = Store::open(da.path(), StoreConfig::default()).unwrap();
    let mut m = Model::new();
    for op in ops {
        step(&a, &mut m, op);
    }
    check_against_model(&a, &m);
    let b = Store::open(db_.path(), StoreConfig::default()).unwrap();
    replay(&a, &b);
    assert_eq!(
        contents(&b),
        contents(&a),
        "replayed store differs from the original"
    );
    assert_eq!(checksums(&b), checksums(&a));
    // the replayed store's collections keep ids as well
    for db in a.databases() {
        for c in a.catalog().collections_of(&db).unwrap() {
            assert_eq!(b.collection(&db, &c.name).unwrap().id, c.id);
        }
    }
}

proptest! {
    // PROPTEST_CASES raises the number of cases for a longer search (scripts/fuzz-store.sh).
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn store_matches_model_and_replay_reproduces_it(ops in proptest::collection::vec(op(), 1..70)) {
        run_case(&ops);
    }
}

#[test]
fn a_long_fixed_scenario_replays_exactly() {
    let mut ops = vec![
        Op::CreateDb(1),
        Op::CreateColl(0, 0, false),
        Op::CreateColl(1, 1, true),
        Op::EnsureUnique(0, 0, 0, false),
    ];
    for i in 0..200u32 {
        let k = (i % 12) as u8;
        ops.push(Op::Doc(
            0,
            0,
            DocOp::Insert {
                key: if i % 3 == 0 { None } else { Some(k) },
                a: Some((i % 7) as u8),
                b: (i % 4) as u8,
            },
        ));
        ops.push(Op::Doc(
            1,
            1,
            DocOp::Update {
                key: k,
                a: Patch::Set((i % 5) as u8),
                keep_null: i % 2 == 0,
            },
        ));
        ops.push(Op::Trx(
            0,
            0,
            vec![
                DocOp::Remove { key: k },
                DocOp::Insert {
                    key: None,
                    a: None,
                    b: 1,
                },
            ],
            i % 4 != 0,
        ));
        if i % 50 == 49 {
            ops.push(Op::RenameColl(0, 0, 2));
            ops.push(Op::RenameColl(0, 2, 0));
            ops.push(Op::Truncate(1, 1));
        }
    }
    run_case(&ops);
}
