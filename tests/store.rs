//! Behaviour of the store as a user of the layers above sees it: names, documents, indexes, transactions,
//! the replication log, restarts, and that every rejected operation leaves data and log unchanged.

use arangorepl::error::ArangoError;
use arangorepl::store::{
    CollectionOptions, KeyGenerator, KeyOptions, LogQuery, OverwriteMode, PropertiesChange, Store,
    StoreConfig, TrxCollections, TrxOptions, TrxStatus, WriteOptions,
};
use serde_json::{Value, json};
use std::time::Duration;

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path(), StoreConfig::default()).unwrap()
}

/// A store whose background retention waits an hour, so a test prunes when it wants to.
fn open_pruned_by_hand(dir: &tempfile::TempDir) -> Store {
    let config = StoreConfig {
        prune_interval: Duration::from_secs(3600),
        ..StoreConfig::default()
    };
    Store::open(dir.path(), config).unwrap()
}

fn markers(store: &Store, from: u64) -> Vec<Value> {
    store
        .read_log(&LogQuery::after(from))
        .unwrap()
        .records
        .iter()
        .map(|r| r.to_value().unwrap())
        .collect()
}

fn types(ms: &[Value]) -> Vec<u64> {
    ms.iter().map(|m| m["type"].as_u64().unwrap()).collect()
}

fn num(e: ArangoError) -> i64 {
    e.error_num
}

/// Runs `f`, which must fail with `errnum`, and checks that no marker was written and no data changed.
fn rejected<T: std::fmt::Debug>(
    store: &Store,
    db: &str,
    coll: &str,
    errnum: i64,
    f: impl FnOnce() -> Result<T, ArangoError>,
) {
    let tick = store.last_tick();
    let before = store.checksum(db, coll, true, true).ok();
    let err = f().unwrap_err();
    assert_eq!(err.error_num, errnum, "{err}");
    assert!(!err.message.is_empty());
    store.sync().unwrap();
    assert_eq!(
        store.last_tick(),
        tick,
        "a rejected operation wrote to the log: {err}"
    );
    assert_eq!(
        store.checksum(db, coll, true, true).ok(),
        before,
        "a rejected operation changed data"
    );
}

#[test]
fn databases_are_created_listed_and_dropped_with_markers() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    assert_eq!(s.databases(), vec!["_system"]);
    let t0 = s.last_tick();
    s.create_database("test").unwrap();
    s.create_database("数据库").unwrap();
    assert_eq!(s.databases(), vec!["_system", "test", "数据库"]);
    assert_eq!(num(s.create_database("test").unwrap_err()), 1207);
    assert_eq!(num(s.create_database("1bad").unwrap_err()), 1229);
    assert_eq!(num(s.create_database("_x").unwrap_err()), 1229);
    assert_eq!(num(s.drop_database("nope").unwrap_err()), 1228);
    assert_eq!(num(s.drop_database("_system").unwrap_err()), 11);
    s.create_collection("test", CollectionOptions::new("c"))
        .unwrap();
    s.insert_one("test", "c", json!({"a": 1}), &WriteOptions::default())
        .unwrap();
    s.drop_database("test").unwrap();
    assert_eq!(num(s.collection("test", "c").unwrap_err()), 1228);
    let ms = markers(&s, t0);
    assert_eq!(types(&ms), vec![1100, 1100, 2000, 2300, 1101]);
    assert_eq!(ms[0]["db"], "test");
    assert_eq!(ms[0]["data"]["name"], "test");
    assert_eq!(
        ms[4],
        json!({"tick": ms[4]["tick"], "type": 1101, "db": "test"})
    );
    // ticks: strictly increasing decimal strings, far above small literal ticks
    let ticks: Vec<u64> = ms
        .iter()
        .map(|m| m["tick"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ticks.windows(2).all(|w| w[0] < w[1]));
    assert!(ticks[0] > 40_694_126_000);
    // the database can be created again, empty
    s.create_database("test").unwrap();
    assert!(s.catalog().collections_of("test").unwrap().is_empty());
}

#[test]
fn collections_lifecycle_and_marker_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let t0 = s.last_tick();
    let c = s
        .create_collection("_system", CollectionOptions::new("users"))
        .unwrap();
    assert!(c.guid.starts_with('h') && c.guid.ends_with(&format!("/{}", c.id)));
    let sys = s
        .create_collection("_system", CollectionOptions::new("_jobs"))
        .unwrap();
    assert_eq!(sys.guid, "_jobs");
    assert!(sys.is_system);
    assert_eq!(
        num(s
            .create_collection("_system", CollectionOptions::new("users"))
            .unwrap_err()),
        1207
    );
    assert_eq!(
        num(s
            .create_collection("_system", CollectionOptions::new("9x"))
            .unwrap_err()),
        1208
    );
    assert_eq!(
        num(s
            .create_collection("nodb", CollectionOptions::new("x"))
            .unwrap_err()),
        1228
    );

    let renamed = s.rename_collection("_system", "users", "people").unwrap();
    assert_eq!(renamed.guid, c.guid);
    assert_eq!(num(s.collection("_system", "users").unwrap_err()), 1203);
    assert_eq!(s.collection("_system", &c.guid).unwrap().name, "people");
    assert_eq!(
        s.collection("_system", &c.id.to_string()).unwrap().name,
        "people"
    );
    s.change_collection(
        "_system",
        "people",
        PropertiesChange {
            wait_for_sync: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    let props = s.collection_properties("_system", "people").unwrap();
    assert_eq!(props["waitForSync"], true);
    assert_eq!(props["globallyUniqueId"], c.guid.as_str());
    assert_eq!(props["type"], 2);
    s.insert_one(
        "_system",
        "people",
        json!({"_key": "a"}),
        &WriteOptions::default(),
    )
    .unwrap();
    s.truncate_collection("_system", "people").unwrap();
    assert_eq!(s.count("_system", "people", None).unwrap(), 0);
    assert_eq!(
        num(s.drop_collection("_system", "_jobs", false).unwrap_err()),
        11
    );
    s.drop_collection("_system", "_jobs", true).unwrap();
    s.drop_collection("_system", "people", false).unwrap();
    assert_eq!(
        num(s.drop_collection("_system", "people", false).unwrap_err()),
        1203
    );

    let ms = markers(&s, t0);
    assert_eq!(
        types(&ms),
        vec![2000, 2000, 2002, 2003, 2300, 2004, 2001, 2001]
    );
    let create = &ms[0];
    let keys: Vec<&str> = create
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys, ["tick", "db", "cuid", "type", "data"]);
    assert_eq!(create["cuid"], c.guid.as_str());
    assert_eq!(create["data"]["name"], "users");
    assert_eq!(create["data"]["indexes"], json!([]));
    assert_eq!(ms[2]["data"], json!({"name": "people"}));
    assert_eq!(ms[3]["data"]["waitForSync"], true);
    assert_eq!(ms[5].as_object().unwrap().len(), 4);
}

#[test]
fn documents_follow_arangodb_rules() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    s.create_collection("_system", CollectionOptions::new("c"))
        .unwrap();
    let o = WriteOptions::default();

    let a = s
        .insert_one(
            "_system",
            "c",
            json!({"name": "a", "_id": "ignored/1", "_rev": "ignored"}),
            &o,
        )
        .unwrap();
    assert_eq!(a.key, "1");
    assert_eq!(a.id, "c/1");
    assert_ne!(a.rev, "ignored");
    let doc = s.document("_system", "c", "1", None).unwrap();
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys, ["_key", "_id", "_rev", "name"]);
    let b = s
        .insert_one("_system", "c", json!({"_key": "500"}), &o)
        .unwrap();
    assert_eq!(b.key, "500");
    assert_eq!(
        s.insert_one("_system", "c", json!({}), &o).unwrap().key,
        "501"
    );
    rejected(&s, "_system", "c", 1210, || {
        s.insert_one("_system", "c", json!({"_key": "500"}), &o)
    });
    rejected(&s, "_system", "c", 1221, || {
        s.insert_one("_system", "c", json!({"_key": "bad key"}), &o)
    });
    rejected(&s, "_system", "c", 1221, || {
        s.insert_one("_system", "c", json!({"_key": 12}), &o)
    });
    rejected(&s, "_system", "c", 1227, || {
        s.insert_one("_system", "c", json!([1, 2]), &o)
    });
    rejected(&s, "_system", "c", 1202, || {
        s.replace_one("_system", "c", json!({"_key": "nope"}), &o)
    });
    rejected(&s, "_system", "c", 1205, || {
        s.remove_one("_system", "c", json!({"x": 1}), &o)
    });
    rejected(&s, "_system", "c", 1203, || {
        s.insert_one("_system", "nope", json!({}), &o)
    });

    // _rev strictly increasing
    let r1 = s
        .update_one("_system", "c", json!({"_key": "500", "x": 1}), &o)
        .unwrap();
    let r2 = s
        .update_one("_system", "c", json!({"_key": "500", "x": 2}), &o)
        .unwrap();
    let v = |r: &str| arangorepl::store::clock::rev_from_string(r).unwrap();
    assert!(v(&r2.rev) > v(&r1.rev) && v(&r1.rev) > v(&b.rev));
    assert_eq!(r2.old_rev.as_deref(), Some(r1.rev.as_str()));

    // preconditions
    let strict = WriteOptions {
        ignore_revs: false,
        ..WriteOptions::default()
    };
    rejected(&s, "_system", "c", 1200, || {
        s.replace_one(
            "_system",
            "c",
            json!({"_key": "500", "_rev": r1.rev}),
            &strict,
        )
    });
    rejected(&s, "_system", "c", 1200, || {
        s.remove_one(
            "_system",
            "c",
            json!({"_key": "500", "_rev": r1.rev}),
            &strict,
        )
    });
    s.replace_one(
        "_system",
        "c",
        json!({"_key": "500", "_rev": r1.rev, "y": 1}),
        &o,
    )
    .unwrap();

    // update: merge, keepNull, mergeObjects
    s.insert_one(
        "_system",
        "c",
        json!({"_key": "u", "a": {"b": 1, "c": 2}, "d": 1, "e": 1}),
        &o,
    )
    .unwrap();
    s.update_one(
        "_system",
        "c",
        json!({"_key": "u", "a": {"c": null, "x": 3}, "d": null}),
        &o,
    )
    .unwrap();
    let d = s.document("_system", "c", "u", None).unwrap();
    assert_eq!(d["a"], json!({"b": 1, "c": null, "x": 3}));
    assert_eq!(d["d"], Value::Null);
    let no_null = WriteOptions {
        keep_null: false,
        ..WriteOptions::default()
    };
    s.update_one(
        "_system",
        "c",
        json!({"_key": "u", "a": {"c": null}, "d": null, "n": {"z": null, "k": 1}}),
        &no_null,
    )
    .unwrap();
    let d = s.document("_system", "c", "u", None).unwrap();
    assert_eq!(d["a"], json!({"b": 1, "x": 3}));
    assert!(d.get("d").is_none());
    assert_eq!(d["n"], json!({"k": 1}));
    let no_merge = WriteOptions {
        merge_objects: false,
        ..WriteOptions::default()
    };
    s.update_one(
        "_system",
        "c",
        json!({"_key": "u", "a": {"only": true}}),
        &no_merge,
    )
    .unwrap();
    assert_eq!(
        s.document("_system", "c", "u", None).unwrap()["a"],
        json!({"only": true})
    );

    // overwriteMode
    let mode = |m| WriteOptions {
        overwrite_mode: m,
        return_old: true,
        return_new: true,
        ..WriteOptions::default()
    };
    let ig = s
        .insert_one(
            "_system",
            "c",
            json!({"_key": "u", "q": 1}),
            &mode(OverwriteMode::Ignore),
        )
        .unwrap();
    assert!(ig.new.is_none() && ig.old_rev.is_none());
    assert!(
        s.document("_system", "c", "u", None)
            .unwrap()
            .get("q")
            .is_none()
    );
    let up = s
        .insert_one(
            "_system",
            "c",
            json!({"_key": "u", "q": 1}),
            &mode(OverwriteMode::Update),
        )
        .unwrap();
    assert_eq!(up.new.as_ref().unwrap()["a"], json!({"only": true}));
    assert!(up.old.is_some() && up.old_rev.is_some());
    let rp = s
        .insert_one(
            "_system",
            "c",
            json!({"_key": "u", "r": 1}),
            &mode(OverwriteMode::Replace),
        )
        .unwrap();
    let n = rp.new.unwrap();
    assert!(n.get("a").is_none() && n["r"] == 1);

    // remove and batch semantics
    let res = s
        .remove(
            "_system",
            "c",
            vec![json!("u"), json!("missing"), json!({"_key": "1"})],
            &o,
            None,
        )
        .unwrap();
    assert!(res[0].is_ok() && res[2].is_ok());
    assert_eq!(res[1].as_ref().unwrap_err().error_num, 1202);
    let res = s
        .insert(
            "_system",
            "c",
            vec![
                json!({"_key": "x1"}),
                json!({"_key": "x1"}),
                json!({"_key": "x2"}),
            ],
            &o,
            None,
        )
        .unwrap();
    assert!(res[0].is_ok() && res[2].is_ok());
    assert_eq!(res[1].as_ref().unwrap_err().error_num, 1210);
    assert_eq!(s.count("_system", "c", None).unwrap(), 4); // 500, 501, x1, x2
}

#[test]
fn key_generators_and_user_key_policy() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let o = WriteOptions::default();
    let mut opts = CollectionOptions::new("auto");
    opts.key_options = KeyOptions {
        generator: KeyGenerator::Autoincrement,
        allow_user_keys: false,
        increment: 10,
        offset: 5,
    };
    s.create_collection("_system", opts).unwrap();
    let keys: Vec<String> = (0..3)
        .map(|_| s.insert_one("_system", "auto", json!({}), &o).unwrap().key)
        .collect();
    assert_eq!(keys, ["5", "15", "25"]);
    rejected(&s, "_system", "auto", 1222, || {
        s.insert_one("_system", "auto", json!({"_key": "7"}), &o)
    });
    // replication (isRestore) may bring its own keys and revisions
    let restore = WriteOptions {
        is_restore: true,
        ..WriteOptions::default()
    };
    let r = s
        .insert_one(
            "_system",
            "auto",
            json!({"_key": "100", "_rev": "_gky3lJC---"}),
            &restore,
        )
        .unwrap();
    assert_eq!(r.rev, "_gky3lJC---");
    assert_eq!(
        s.insert_one("_system", "auto", json!({}), &o).unwrap().key,
        "105"
    );
    assert_eq!(
        s.collection_properties("_system", "auto").unwrap()["keyOptions"]["lastValue"],
        105
    );

    let mut p = CollectionOptions::new("pad");
    p.key_options.generator = KeyGenerator::Padded;
    s.create_collection("_system", p).unwrap();
    assert_eq!(
        s.insert_one("_system", "pad", json!({}), &o).unwrap().key,
        "0000000000000001"
    );
    let mut u = CollectionOptions::new("uu");
    u.key_options.generator = KeyGenerator::Uuid;
    s.create_collection("_system", u).unwrap();
    assert_eq!(
        s.insert_one("_system", "uu", json!({}), &o)
            .unwrap()
            .key
            .len(),
        36
    );
}

#[test]
fn edges_need_valid_from_and_to() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let o = WriteOptions::default();
    s.create_collection("_system", CollectionOptions::edge("knows"))
        .unwrap();
    rejected(&s, "_system", "knows", 1233, || {
        s.insert_one("_system", "knows", json!({"_from": "v/1"}), &o)
    });
    rejected(&s, "_system", "knows", 1233, || {
        s.insert_one(
            "_system",
            "knows",
            json!({"_from": "v/1", "_to": "nokey"}),
            &o,
        )
    });
    let e = s
        .insert_one(
            "_system",
            "knows",
            json!({"_from": "v/1", "_to": "v/2", "w": 1}),
            &o,
        )
        .unwrap();
    let d = s.document("_system", "knows", &e.key, None).unwrap();
    let keys: Vec<&str> = d.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, ["_key", "_id", "_from", "_to", "_rev", "w"]);
    rejected(&s, "_system", "knows", 1233, || {
        s.update_one("_system", "knows", json!({"_key": e.key, "_to": 5}), &o)
    });
    rejected(&s, "_system", "knows", 1233, || {
        s.replace_one("_system", "knows", json!({"_key": e.key, "w": 2}), &o)
    });
    s.update_one("_system", "knows", json!({"_key": e.key, "_to": "v/3"}), &o)
        .unwrap();
    assert_eq!(
        s.document("_system", "knows", &e.key, None).unwrap()["_to"],
        "v/3"
    );
    let idx = s
        .catalog()
        .collection("_system", "knows")
        .unwrap()
        .all_indexes_json();
    assert_eq!(idx[1]["type"], "edge");
}

/// Collection `c` in `_system` with a unique persistent index on `u`.
fn collection_unique_on_u(s: &Store) {
    s.create_collection("_system", CollectionOptions::new("c"))
        .unwrap();
    s.ensure_index(
        "_system",
        "c",
        &json!({"type": "persistent", "fields": ["u"], "unique": true}),
    )
    .unwrap();
}

/// A leader's line laid out as the store keeps it, checked as the follower checks it.
fn raw_replica(
    line: &str,
    coll: &str,
    unique: Option<arangorepl::store::UniqueValues>,
) -> arangorepl::store::ReplicaOp {
    let (key, rev) = arangorepl::store::check_stored_layout(line.as_bytes(), coll).unwrap();
    arangorepl::store::ReplicaOp::Raw(arangorepl::store::RawReplica {
        line: line.as_bytes().to_vec().into(),
        key,
        rev,
        unique,
    })
}

/// A leader's document as it arrives in a dump or the log, laid out as the store keeps it.
fn replica(coll: &str, key: &str, rev: &str, u: u64) -> arangorepl::store::ReplicaOp {
    let line = format!(r#"{{"_key":"{key}","_id":"{coll}/{key}","_rev":"{rev}","u":{u}}}"#);
    raw_replica(&line, coll, None)
}

/// A leader's line as the follower hands it on: with its unique index values read ahead against `def`.
fn replica_read_ahead(
    def: &arangorepl::store::CollectionDef,
    line: &str,
) -> arangorepl::store::ReplicaOp {
    let unique = arangorepl::store::unique_values(def, line.as_bytes()).unwrap();
    raw_replica(line, &def.name, Some(unique))
}

#[test]
fn unique_values_read_ahead_of_the_writer_hold_and_are_read_again_when_the_indexes_changed() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let o = WriteOptions::default();
    collection_unique_on_u(&s);
    s.ensure_index(
        "_system",
        "c",
        &json!({"type": "persistent", "fields": ["a.b"], "unique": true, "sparse": true}),
    )
    .unwrap();
    s.insert_one("_system", "c", json!({"_key": "x", "u": 1}), &o)
        .unwrap();
    s.insert_one(
        "_system",
        "c",
        json!({"_key": "y", "u": 5, "a": {"b": "q"}}),
        &o,
    )
    .unwrap();
    s.insert_one("_system", "c", json!({"_key": "z", "u": 6, "w": 7}), &o)
        .unwrap();
    // attributes the indexes do not read are skipped, a nested one is read whole (a line that repeats
    // a top-level name is not stored as it came: the follower parses it)
    let def = s.collection("_system", "c").unwrap();
    let line = r#"{"_key":"k","_id":"c/k","_rev":"_aaaaaaaaa1","pad":{"u":9},"a":{"z":[1,{"b":2}],"b":"q"},"u":1}"#;
    let repeated = line.replace(r#""pad""#, r#""u":0,"pad""#);
    assert!(arangorepl::store::check_stored_layout(repeated.as_bytes(), "c").is_none());
    let st = s
        .apply_replica("_system", "c", vec![replica_read_ahead(&def, line)])
        .unwrap();
    assert_eq!((st.inserted, st.removed), (1, 2), "{st:?}");
    for (doc, holder) in [
        (json!({"u": 1}), "k"),
        (json!({"u": 9, "a": {"b": "q"}}), "k"),
    ] {
        let err = s.insert_one("_system", "c", doc, &o).unwrap_err();
        assert!(
            err.message.contains(&format!("conflicting key: {holder}")),
            "{}",
            err.message
        );
    }
    s.insert_one("_system", "c", json!({"_key": "u0", "u": 0}), &o)
        .unwrap();

    // values read against the indexes before one more was created: the writer reads them again, and
    // the local holder of the new index's value goes
    let def = s.collection("_system", "c").unwrap();
    let line = r#"{"_key":"m","_id":"c/m","_rev":"_aaaaaaaaa2","u":2,"w":7}"#;
    let ahead = replica_read_ahead(&def, line);
    s.ensure_index(
        "_system",
        "c",
        &json!({"type": "persistent", "fields": ["w"], "unique": true, "sparse": true}),
    )
    .unwrap();
    let st = s.apply_replica("_system", "c", vec![ahead]).unwrap();
    assert_eq!((st.inserted, st.removed), (1, 1), "{st:?}");
    assert!(s.document("_system", "c", "z", None).is_err());
    assert_eq!(s.count("_system", "c", None).unwrap(), 3);
}

#[test]
fn a_leaders_document_takes_its_unique_value_from_a_local_holder_and_moves_it_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let o = WriteOptions::default();
    collection_unique_on_u(&s);
    s.insert_one("_system", "c", json!({"_key": "local", "u": 1}), &o)
        .unwrap();
    let st = s
        .apply_replica("_system", "c", vec![replica("c", "a", "_aaaaaaaaa1", 1)])
        .unwrap();
    assert_eq!((st.inserted, st.removed), (1, 1), "{st:?}");
    assert_eq!(s.count("_system", "c", None).unwrap(), 1);
    let err = s
        .insert_one("_system", "c", json!({"u": 1}), &o)
        .unwrap_err();
    assert!(
        err.message.contains("conflicting key: a"),
        "{}",
        err.message
    );
    // the same version again changes nothing
    let st = s
        .apply_replica("_system", "c", vec![replica("c", "a", "_aaaaaaaaa1", 1)])
        .unwrap();
    assert_eq!(
        (st.unchanged, st.inserted, st.replaced),
        (1, 0, 0),
        "{st:?}"
    );
    // a new version moves the value: the old one is free, the new one taken
    let st = s
        .apply_replica("_system", "c", vec![replica("c", "a", "_aaaaaaaaa2", 2)])
        .unwrap();
    assert_eq!(st.replaced, 1, "{st:?}");
    s.insert_one("_system", "c", json!({"_key": "b", "u": 1}), &o)
        .unwrap();
    let err = s
        .insert_one("_system", "c", json!({"u": 2}), &o)
        .unwrap_err();
    assert!(
        err.message.contains("conflicting key: a"),
        "{}",
        err.message
    );
    assert_eq!(s.count("_system", "c", None).unwrap(), 2);
}

#[test]
fn a_unique_index_built_over_many_documents_holds_every_value_and_names_the_first_holder() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let o = WriteOptions::default();
    s.create_collection("_system", CollectionOptions::new("c"))
        .unwrap();
    // values in another order than the keys; every seventh document has none (sparse index)
    let docs: Vec<_> = (0..3000u64)
        .map(|i| {
            if i % 7 == 0 {
                json!({"_key": format!("k{i}")})
            } else {
                json!({"_key": format!("k{i}"), "u": (i * 7919) % 3001})
            }
        })
        .collect();
    s.insert("_system", "c", docs, &o, None).unwrap();
    let spec = json!({"type": "persistent", "fields": ["u"], "unique": true, "sparse": true, "name": "byU"});
    s.ensure_index("_system", "c", &spec).unwrap();
    for i in [1u64, 2, 1234, 2999] {
        let err = s
            .insert_one("_system", "c", json!({"u": (i * 7919) % 3001}), &o)
            .unwrap_err();
        assert_eq!(err.error_num, 1210);
        assert!(
            err.message.contains(&format!("conflicting key: k{i}")),
            "{}",
            err.message
        );
    }
    // documents without the attribute are not in the index
    s.insert_one("_system", "c", json!({"_key": "none"}), &o)
        .unwrap();
    // a taken key is named before a taken value; either way nothing changes
    rejected(&s, "_system", "c", 1210, || {
        s.insert_one("_system", "c", json!({"_key": "k2", "u": 7919 % 3001}), &o)
    });
    let err = s
        .insert_one("_system", "c", json!({"_key": "k2", "u": 7919 % 3001}), &o)
        .unwrap_err();
    assert!(err.message.contains("in index primary"), "{}", err.message);
    rejected(&s, "_system", "c", 1210, || {
        s.insert_one("_system", "c", json!({"_key": "k2", "u": 100_000}), &o)
    });
    rejected(&s, "_system", "c", 1210, || {
        s.insert_one(
            "_system",
            "c",
            json!({"_key": "fresh", "u": 7919 % 3001}),
            &o,
        )
    });
    s.insert_one("_system", "c", json!({"_key": "fresh", "u": 100_000}), &o)
        .unwrap();

    // over a duplicate, the message names the document of that value found first (in key order)
    s.create_collection("_system", CollectionOptions::new("d"))
        .unwrap();
    let docs: Vec<_> = (0..500u64)
        .map(|i| json!({"_key": format!("k{i:03}"), "u": if i == 321 { 17 } else { i }}))
        .collect();
    s.insert("_system", "d", docs, &o, None).unwrap();
    let err = s.ensure_index("_system", "d", &spec).unwrap_err();
    assert_eq!(err.error_num, 1210);
    assert!(
        err.message.contains("conflicting key: k017"),
        "{}",
        err.message
    );
}

#[test]
fn unique_indexes_reject_duplicates_and_creation_over_duplicates_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let o = WriteOptions::default();
    s.create_collection("_system", CollectionOptions::new("c"))
        .unwrap();
    s.insert(
        "_system",
        "c",
        vec![
            json!({"_key": "a", "email": "x@y"}),
            json!({"_key": "b", "email": "x@y"}),
        ],
        &o,
        None,
    )
    .unwrap();
    rejected(&s, "_system", "c", 1210, || {
        s.ensure_index(
            "_system",
            "c",
            &json!({"type": "persistent", "fields": ["email"], "unique": true}),
        )
    });
    assert!(s.collection("_system", "c").unwrap().indexes.is_empty());
    s.remove_one("_system", "c", json!("b"), &o).unwrap();

    let (idx, created) = s.ensure_index("_system", "c", &json!({"type": "hash", "fields": ["email"], "unique": true, "id": "77", "name": "byEmail"})).unwrap();
    assert!(created);
    assert_eq!(
        (idx.id, idx.name.as_str(), idx.itype.as_str()),
        (77, "byEmail", "hash")
    );
    let (again, created) = s
        .ensure_index(
            "_system",
            "c",
            &json!({"type": "hash", "fields": ["email"], "unique": true}),
        )
        .unwrap();
    assert!(!created);
    assert_eq!(again.id, 77);
    let err = s
        .insert_one("_system", "c", json!({"_key": "c", "email": "x@y"}), &o)
        .unwrap_err();
    assert_eq!(err.error_num, 1210);
    assert!(
        err.message.contains("conflicting key: a"),
        "{}",
        err.message
    );
    assert!(err.message.contains("byEmail"));
    // moving the value frees it; the entry follows the document
    s.update_one("_system", "c", json!({"_key": "a", "email": "new@y"}), &o)
        .unwrap();
    s.insert_one("_system", "c", json!({"_key": "c", "email": "x@y"}), &o)
        .unwrap();
    rejected(&s, "_system", "c", 1210, || {
        s.update_one("_system", "c", json!({"_key": "c", "email": "new@y"}), &o)
    });
    // sparse unique: documents without the attribute don't collide
    s.ensure_index(
        "_system",
        "c",
        &json!({"type": "persistent", "fields": ["nick"], "unique": true, "sparse": true}),
    )
    .unwrap();
    let res = s
        .insert(
            "_system",
            "c",
            vec![
                json!({"_key": "d", "email": 1}),
                json!({"_key": "e", "email": 2}),
            ],
            &o,
            None,
        )
        .unwrap();
    assert!(res.iter().all(|r| r.is_ok()));
    // non-sparse unique treats a missing attribute as null: the second document without it collides
    s.insert_one("_system", "c", json!({"_key": "nomail"}), &o)
        .unwrap();
    rejected(&s, "_system", "c", 1210, || {
        s.insert_one("_system", "c", json!({"_key": "nomail2"}), &o)
    });
    s.remove_one("_system", "c", json!("nomail"), &o).unwrap();
    s.ensure_index(
        "_system",
        "c",
        &json!({"type": "skiplist", "fields": ["zz"], "unique": false}),
    )
    .unwrap();
    // drop
    rejected(&s, "_system", "c", 1212, || {
        s.drop_index("_system", "c", 4242)
    });
    rejected(&s, "_system", "c", 11, || s.drop_index("_system", "c", 0));
    s.drop_index("_system", "c", 77).unwrap();
    s.insert_one("_system", "c", json!({"_key": "f", "email": "x@y"}), &o)
        .unwrap();
    let all = s
        .catalog()
        .collection("_system", "c")
        .unwrap()
        .all_indexes_json();
    let types: Vec<&str> = all.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["primary", "persistent", "skiplist"]);
}

#[test]
fn stream_transactions_are_isolated_atomic_and_abort_without_trace() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let o = WriteOptions::default();
    s.create_collection("_system", CollectionOptions::new("c"))
        .unwrap();
    s.create_collection("_system", CollectionOptions::new("other"))
        .unwrap();
    s.insert_one("_system", "c", json!({"_key": "base", "v": 0}), &o)
        .unwrap();
    let cols = TrxCollections {
        write: vec!["c".into()],
        ..Default::default()
    };
    let t0 = s.last_tick();

    let tid = s
        .begin_transaction("_system", &cols, &TrxOptions::default())
        .unwrap();
    assert_eq!(s.transaction_status(tid).unwrap(), TrxStatus::Running);
    s.insert(
        "_system",
        "c",
        vec![json!({"_key": "t1", "v": 1})],
        &o,
        Some(tid),
    )
    .unwrap()[0]
        .as_ref()
        .unwrap();
    s.update(
        "_system",
        "c",
        vec![json!({"_key": "base", "v": 2})],
        &o,
        Some(tid),
    )
    .unwrap()[0]
        .as_ref()
        .unwrap();
    s.remove("_system", "c", vec![json!("t1")], &o, Some(tid))
        .unwrap()[0]
        .as_ref()
        .unwrap();
    s.insert("_system", "c", vec![json!({"_key": "t2"})], &o, Some(tid))
        .unwrap()[0]
        .as_ref()
        .unwrap();
    // inside: own writes; outside: nothing
    assert_eq!(
        s.document("_system", "c", "base", Some(tid)).unwrap()["v"],
        2
    );
    assert_eq!(s.count("_system", "c", Some(tid)).unwrap(), 2);
    assert_eq!(s.document("_system", "c", "base", None).unwrap()["v"], 0);
    assert_eq!(
        num(s.document("_system", "c", "t2", None).unwrap_err()),
        1202
    );
    assert_eq!(s.count("_system", "c", None).unwrap(), 1);
    assert_eq!(s.last_tick(), t0);
    // undeclared collection
    let e = s
        .insert("_system", "other", vec![json!({})], &o, Some(tid))
        .unwrap_err();
    assert_eq!(e.error_num, 1652);
    assert_eq!(s.commit_transaction(tid).unwrap(), TrxStatus::Committed);
    assert_eq!(s.transaction_status(tid).unwrap(), TrxStatus::Committed);
    assert_eq!(num(s.commit_transaction(tid).unwrap_err()), 1653);
    assert_eq!(s.count("_system", "c", None).unwrap(), 2);
    let ms = markers(&s, t0);
    assert_eq!(types(&ms), vec![2200, 2300, 2300, 2302, 2300, 2201]);
    let tid_s = tid.to_string();
    assert!(ms.iter().all(|m| m["tid"] == tid_s.as_str()));

    // abort: no data, no markers
    let t1 = s.last_tick();
    let tid = s
        .begin_transaction("_system", &cols, &TrxOptions::default())
        .unwrap();
    s.insert("_system", "c", vec![json!({"_key": "gone"})], &o, Some(tid))
        .unwrap();
    s.abort_transaction(tid).unwrap();
    assert_eq!(s.transaction_status(tid).unwrap(), TrxStatus::Aborted);
    assert_eq!(
        num(s.document("_system", "c", "gone", None).unwrap_err()),
        1202
    );
    s.sync().unwrap();
    assert_eq!(s.last_tick(), t1);

    // write-write conflict: commit fails, nothing of the transaction lands (not even "a3", which the
    // commit writes before it meets the conflict on "base")
    let tid = s
        .begin_transaction("_system", &cols, &TrxOptions::default())
        .unwrap();
    s.update(
        "_system",
        "c",
        vec![json!({"_key": "base", "v": 10})],
        &o,
        Some(tid),
    )
    .unwrap();
    s.insert("_system", "c", vec![json!({"_key": "a3"})], &o, Some(tid))
        .unwrap();
    s.update_one("_system", "c", json!({"_key": "base", "v": 99}), &o)
        .unwrap();
    let t2 = s.last_tick();
    assert_eq!(num(s.commit_transaction(tid).unwrap_err()), 1200);
    assert_eq!(s.transaction_status(tid).unwrap(), TrxStatus::Aborted);
    assert_eq!(s.document("_system", "c", "base", None).unwrap()["v"], 99);
    assert_eq!(
        num(s.document("_system", "c", "a3", None).unwrap_err()),
        1202
    );
    assert_eq!(s.last_tick(), t2);
    assert_eq!(num(s.commit_transaction(424242).unwrap_err()), 1655);
    assert_eq!(
        num(s
            .begin_transaction(
                "_system",
                &TrxCollections {
                    write: vec!["nope".into()],
                    ..Default::default()
                },
                &TrxOptions::default()
            )
            .unwrap_err()),
        1203
    );

    // unique conflict discovered at commit
    s.ensure_index(
        "_system",
        "c",
        &json!({"type": "persistent", "fields": ["u"], "unique": true, "sparse": true}),
    )
    .unwrap();
    let tid = s
        .begin_transaction("_system", &cols, &TrxOptions::default())
        .unwrap();
    s.insert(
        "_system",
        "c",
        vec![json!({"_key": "p", "u": 1})],
        &o,
        Some(tid),
    )
    .unwrap()[0]
        .as_ref()
        .unwrap();
    s.insert_one("_system", "c", json!({"_key": "q", "u": 1}), &o)
        .unwrap();
    assert_eq!(num(s.commit_transaction(tid).unwrap_err()), 1210);
    assert_eq!(
        num(s.document("_system", "c", "p", None).unwrap_err()),
        1202
    );
}

#[test]
fn log_reading_budgets_filters_and_whole_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let o = WriteOptions::default();
    s.create_database("other").unwrap();
    s.create_collection("_system", CollectionOptions::new("c"))
        .unwrap();
    s.create_collection("other", CollectionOptions::new("c"))
        .unwrap();
    let t0 = s.last_tick();
    for i in 0..10 {
        s.insert_one("_system", "c", json!({"i": i}), &o).unwrap();
        s.insert_one("other", "c", json!({"i": i}), &o).unwrap();
    }
    let batch: Vec<Value> = (0..5).map(|i| json!({"b": i})).collect();
    s.insert("_system", "c", batch, &o, None).unwrap();

    let all = s.read_log(&LogQuery::after(t0)).unwrap();
    assert_eq!(all.records.len(), 20 + 7);
    assert!(!all.has_more);
    let sys = s
        .read_log(&LogQuery::after(t0).in_database("_system"))
        .unwrap();
    assert_eq!(sys.records.len(), 10 + 7);
    assert!(sys.records.iter().all(|r| r.db == "_system"));
    assert_eq!(sys.last_scanned, s.last_tick());

    // paging with a budget of 3 returns every marker once, in order; the batch transaction stays whole
    let mut from = t0;
    let mut seen = Vec::new();
    loop {
        let c = s
            .read_log(
                &LogQuery::after(from)
                    .in_database("_system")
                    .budget(3, usize::MAX),
            )
            .unwrap();
        if c.records.is_empty() {
            break;
        }
        assert!(c.records.len() <= 3 || c.records.iter().any(|r| r.tid != 0));
        if let Some(last) = c.records.last() {
            assert!(
                !last.inside_transaction(),
                "chunk ends inside a transaction"
            );
        }
        seen.extend(c.records.iter().map(|r| r.tick));
        from = c.last_scanned;
        if !c.has_more {
            break;
        }
    }
    let expect: Vec<u64> = sys.records.iter().map(|r| r.tick).collect();
    assert_eq!(seen, expect);
    let trx: Vec<u16> = sys.records[10..].iter().map(|r| r.mtype).collect();
    assert_eq!(trx, [2200, 2300, 2300, 2300, 2300, 2300, 2201]);
    let tid = sys.records[10].tid;
    assert!(tid != 0 && sys.records[10..].iter().all(|r| r.tid == tid));
    assert!(sys.records[..10].iter().all(|r| r.tid == 0));

    // byte budget: at least one marker per chunk
    let c = s
        .read_log(&LogQuery::after(t0).budget(usize::MAX, 1))
        .unwrap();
    assert_eq!(c.records.len(), 1);
    assert!(c.has_more);
    // a far-future `from` finds nothing
    let c = s.read_log(&LogQuery::after(u64::MAX - 1)).unwrap();
    assert!(c.records.is_empty() && !c.has_more);
}

#[test]
fn retention_prunes_and_holds_keep_what_readers_need() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_pruned_by_hand(&dir);
    let o = WriteOptions::default();
    let floor0 = s.log_floor();
    assert!(floor0 > 0);
    s.create_collection("_system", CollectionOptions::new("c"))
        .unwrap();
    for i in 0..20 {
        s.insert_one("_system", "c", json!({"i": i}), &o).unwrap();
    }
    let first = s.first_tick().unwrap().unwrap();
    assert!(first > floor0);
    let mid = s.read_log(&LogQuery::after(0)).unwrap().records[10].tick;
    let hold = s.hold_log(mid, Duration::from_secs(60));
    let floor = s.prune_log(true).unwrap();
    assert_eq!(floor, mid, "pruning must stop at the hold");
    assert_eq!(
        s.first_tick().unwrap().unwrap(),
        s.read_log(&LogQuery::after(mid)).unwrap().records[0].tick
    );
    assert!(s.extend_hold(hold, Duration::from_secs(60), None));
    assert!(s.release_hold(hold));
    assert!(!s.extend_hold(hold, Duration::from_secs(1), None));
    let floor = s.prune_log(true).unwrap();
    assert_eq!(floor, s.last_tick());
    assert_eq!(s.first_tick().unwrap(), None);
    // the data is untouched by pruning
    assert_eq!(s.count("_system", "c", None).unwrap(), 20);
    drop(s);
    let s = open(&dir);
    assert_eq!(s.log_floor(), floor);
    assert_eq!(s.last_tick(), floor);
    s.insert_one("_system", "c", json!({}), &o).unwrap();
    assert!(s.last_tick() > floor);
}

#[test]
fn size_based_retention_runs_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        log_max_bytes: 2_000,
        prune_interval: Duration::from_millis(20),
        ..StoreConfig::default()
    };
    let s = Store::open(dir.path(), cfg).unwrap();
    s.create_collection("_system", CollectionOptions::new("c"))
        .unwrap();
    let o = WriteOptions::default();
    for i in 0..100 {
        s.insert_one("_system", "c", json!({"i": i, "pad": "x".repeat(100)}), &o)
            .unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let total: usize = s
            .read_log(&LogQuery::after(0))
            .unwrap()
            .records
            .iter()
            .map(|r| r.json.len() + 40)
            .sum();
        if total <= 2_500 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "log was not pruned: {total} bytes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(s.log_floor() > 0);
    let first = s.first_tick().unwrap().unwrap();
    assert!(first > s.log_floor());
}

#[test]
fn restart_keeps_data_catalog_and_raises_ticks() {
    let dir = tempfile::tempdir().unwrap();
    let o = WriteOptions::default();
    let (last, server_id, guid) = {
        let s = open(&dir);
        s.create_database("d").unwrap();
        let c = s
            .create_collection("d", CollectionOptions::new("c"))
            .unwrap();
        s.ensure_index(
            "d",
            "c",
            &json!({"type": "persistent", "fields": ["u"], "unique": true}),
        )
        .unwrap();
        s.insert_one("d", "c", json!({"_key": "k", "u": 1}), &o)
            .unwrap();
        (s.last_tick(), s.server_id(), c.guid)
    };
    let s = open(&dir);
    assert_eq!(s.server_id(), server_id);
    assert_eq!(s.last_tick(), last);
    assert_eq!(s.collection("d", "c").unwrap().guid, guid);
    assert_eq!(s.document("d", "c", "k", None).unwrap()["u"], 1);
    assert_eq!(
        num(s.insert_one("d", "c", json!({"u": 1}), &o).unwrap_err()),
        1210
    );
    assert_eq!(
        s.insert_one("d", "c", json!({"u": 2}), &o).unwrap().key,
        "1"
    );
    assert!(s.last_tick() > last);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_tick_wakes_on_commit_or_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    s.create_collection("_system", CollectionOptions::new("c"))
        .unwrap();
    let now = s.last_tick();
    let start = std::time::Instant::now();
    assert_eq!(s.wait_for_tick(now, Duration::from_millis(50)).await, now);
    assert!(start.elapsed() >= Duration::from_millis(45));
    let w = s.clone();
    let writer = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(30));
        w.insert_one("_system", "c", json!({}), &WriteOptions::default())
            .unwrap();
    });
    let got = s.wait_for_tick(now, Duration::from_secs(10)).await;
    assert!(got > now);
    writer.await.unwrap();
}

#[test]
fn an_empty_key_is_never_a_document() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let o = WriteOptions::default();
    s.create_collection("_system", CollectionOptions::new("c"))
        .unwrap();
    s.insert_one("_system", "c", json!({"_key": "a"}), &o)
        .unwrap();
    assert_eq!(num(s.document("_system", "c", "", None).unwrap_err()), 1202);
    rejected(&s, "_system", "c", 1202, || {
        s.replace_one("_system", "c", json!({"_key": ""}), &o)
    });
    rejected(&s, "_system", "c", 1202, || {
        s.update_one("_system", "c", json!({"_key": ""}), &o)
    });
    rejected(&s, "_system", "c", 1202, || {
        s.remove_one("_system", "c", json!(""), &o)
    });
    rejected(&s, "_system", "c", 1221, || {
        s.insert_one("_system", "c", json!({"_key": ""}), &o)
    });
    assert_eq!(s.count("_system", "c", None).unwrap(), 1);
}

#[test]
fn pruning_never_cuts_a_transaction_in_two() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_pruned_by_hand(&dir);
    let o = WriteOptions::default();
    s.create_collection("_system", CollectionOptions::new("c"))
        .unwrap();
    s.insert_one("_system", "c", json!({"_key": "before"}), &o)
        .unwrap();
    // big enough to span several log values (each stays under 64 KiB)
    let docs: Vec<Value> = (0..50)
        .map(|i| json!({"_key": format!("t{i}"), "pad": "x".repeat(4000)}))
        .collect();
    s.insert("_system", "c", docs, &o, None).unwrap();
    let all = s.read_log(&LogQuery::after(0)).unwrap().records;
    let begin = all.iter().position(|r| r.mtype == 2200).unwrap();
    // a hold in the middle of the transaction: pruning may only go up to the marker before its begin,
    // although whole log values before the hold hold nothing but this transaction's first markers
    let middle = all[begin + 40].tick;
    let hold = s.hold_log(middle, Duration::from_secs(60));
    let floor = s.prune_log(true).unwrap();
    assert_eq!(
        floor,
        all[begin - 1].tick,
        "the floor must sit on a transaction boundary"
    );
    let rest = s.read_log(&LogQuery::after(floor)).unwrap().records;
    assert_eq!(rest[0].mtype, 2200);
    assert_eq!(rest.iter().filter(|r| r.mtype == 2300).count(), 50);
    assert_eq!(rest.last().unwrap().mtype, 2201);
    s.release_hold(hold);
    assert_eq!(s.prune_log(true).unwrap(), all.last().unwrap().tick);
}

#[test]
fn changes_streamed_in_batches_apply_as_one_transaction_or_not_at_all() {
    use arangorepl::store::Change;
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    collection_unique_on_u(&s);
    let guid = s.collection("_system", "c").unwrap().guid.clone();
    let doc = |i: u64| Change::Document {
        guid: guid.clone(),
        op: replica("c", &format!("k{i}"), "_aaaaaaaaa1", i),
    };
    let batch = |r: std::ops::Range<u64>| r.map(doc).collect::<Vec<_>>();

    // three batches and the applier record: all in one commit
    let tick = s.last_tick();
    let st = s
        .apply_changes_streamed(
            "_system",
            false,
            Some(("_system".to_string(), br#"{"n":1}"#.to_vec())),
            (0..3).map(|b| Ok(batch(b * 100..b * 100 + 100))),
        )
        .unwrap();
    assert_eq!(st.inserted, 300, "{st:?}");
    assert_eq!(s.count("_system", "c", None).unwrap(), 300);
    assert_eq!(
        s.applier_record("_system").unwrap().as_deref(),
        Some(&br#"{"n":1}"#[..])
    );
    let mut one_trx = vec![2200];
    one_trx.extend([2300; 300]);
    one_trx.push(2201);
    assert_eq!(
        types(&markers(&s, tick)),
        one_trx,
        "one transaction in the log, with a document marker each"
    );
    let before = s.checksum("_system", "c", true, true).unwrap();

    // a change the writer cannot apply, in the second batch: its index counts over all batches, and
    // neither the first batch nor the record is kept
    let tick = s.last_tick();
    let mut second = batch(400..450);
    second.push(Change::Document {
        guid: "no-such-collection".into(),
        op: replica("c", "x", "_aaaaaaaaa1", 999),
    });
    second.extend(batch(450..460));
    let (at, err) = s
        .apply_changes_streamed(
            "_system",
            false,
            Some(("_system".to_string(), br#"{"n":2}"#.to_vec())),
            vec![Ok(batch(300..400)), Ok(second), Ok(batch(460..470))].into_iter(),
        )
        .unwrap_err();
    assert_eq!(at, Some(150), "{err}");
    assert_eq!(err.error_num, 1203, "{err}");

    // a batch the caller could not prepare ends it the same way, with the caller's index and error
    let (at, err) = s
        .apply_changes_streamed(
            "_system",
            false,
            Some(("_system".to_string(), br#"{"n":3}"#.to_vec())),
            vec![
                Ok(batch(500..600)),
                Ok(batch(600..700)),
                Err((250, ArangoError::with_message(1561, "bad line"))),
                Ok(batch(700..800)),
            ]
            .into_iter(),
        )
        .unwrap_err();
    assert_eq!((at, err.error_num), (Some(250), 1561), "{err}");

    s.sync().unwrap();
    assert_eq!(s.last_tick(), tick, "a failed apply wrote to the log");
    assert_eq!(s.count("_system", "c", None).unwrap(), 300);
    assert_eq!(s.checksum("_system", "c", true, true).unwrap(), before);
    assert_eq!(
        s.applier_record("_system").unwrap().as_deref(),
        Some(&br#"{"n":1}"#[..])
    );
}
