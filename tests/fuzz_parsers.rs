//! Property-based fuzzing of everything that parses client input: request bodies for documents,
//! collection properties and index definitions, and the JSON body reader. Whatever comes in, the answer
//! is a value or an ArangoDB error of the client's making (4xx) — never a panic, never an internal error.
//! `PROPTEST_CASES` raises the number of cases (scripts/fuzz-store.sh runs more).

use arangorepl::server::http::body_json;
use arangorepl::store::{
    CollectionOptions, IndexDef, KeyOptions, OverwriteMode, PropertiesChange, Store, StoreConfig,
    WriteOptions,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("_key".to_string()),
        Just("_rev".to_string()),
        Just("_id".to_string()),
        Just("_from".to_string()),
        Just("_to".to_string()),
        Just("name".to_string()),
        Just("type".to_string()),
        Just("fields".to_string()),
        Just("unique".to_string()),
        Just("keyOptions".to_string()),
        Just("waitForSync".to_string()),
        "[a-z_]{1,6}",
        ".{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        "[a-zA-Z0-9_:/.-]{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

fn client_error(e: &arangorepl::error::ArangoError) {
    assert!(
        e.error_num > 0 && e.error_num != 4,
        "internal error for client input: {e}"
    );
    assert!(
        (400..500).contains(&e.code) || e.code == 501,
        "not a client error: {e}"
    );
    assert!(!e.message.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn body_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let b = axum::body::Bytes::from(bytes);
        if let Err(e) = body_json(&b) {
            prop_assert_eq!(e.0.error_num, 600);
            prop_assert_eq!(e.0.code, 400);
        }
    }

    #[test]
    fn definition_parsers_answer_with_client_errors(v in json_value()) {
        if let Err(e) = CollectionOptions::from_json(&v) { client_error(&e); }
        if let Err(e) = IndexDef::from_json(&v) { client_error(&e); }
        if let Err(e) = PropertiesChange::from_json(&v) { client_error(&e); }
        if let Err(e) = KeyOptions::from_json(&v) { client_error(&e); }
        if let Some(ko @ Value::Object(_)) = v.get("keyOptions")
            && let Err(e) = KeyOptions::from_json(ko)
        {
            client_error(&e);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases() / 4 + 1, ..ProptestConfig::default() })]

    #[test]
    fn document_writes_answer_with_client_errors(docs in proptest::collection::vec(json_value(), 1..12), mode in 0u8..4) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path(), StoreConfig::default()).unwrap();
        s.create_collection("_system", CollectionOptions::new("c")).unwrap();
        s.create_collection("_system", CollectionOptions::edge("e")).unwrap();
        s.ensure_index("_system", "c", &json!({"type": "persistent", "fields": ["name"], "unique": true, "sparse": true})).unwrap();
        let o = WriteOptions {
            overwrite_mode: [OverwriteMode::Conflict, OverwriteMode::Replace, OverwriteMode::Update, OverwriteMode::Ignore][mode as usize],
            ..WriteOptions::default()
        };
        for coll in ["c", "e"] {
            for r in s.insert("_system", coll, docs.clone(), &o, None).unwrap() {
                if let Err(e) = r { client_error(&e); }
            }
            for r in s.update("_system", coll, docs.clone(), &o, None).unwrap() {
                if let Err(e) = r { client_error(&e); }
            }
            for r in s.replace("_system", coll, docs.clone(), &o, None).unwrap() {
                if let Err(e) = r { client_error(&e); }
            }
            for r in s.remove("_system", coll, docs.clone(), &o, None).unwrap() {
                if let Err(e) = r { client_error(&e); }
            }
        }
        // whatever happened, the store is consistent: counts match the documents present
        let snap = s.snapshot().unwrap();
        for coll in ["c", "e"] {
            let id = snap.catalog().collection("_system", coll).unwrap().id;
            prop_assert_eq!(snap.stats(id).unwrap().count as usize, snap.documents(id).unwrap().len());
        }
    }
}
