//! Helpers for tests with a leader and a follower: endpoints, bulk inserts, and what must be equal
//! between the two for a collection.

use super::api::{Api, Resp};
use super::server::Server;
use reqwest::Method;
use serde_json::{Value, json};

pub fn endpoint(s: &Server) -> String {
    s.url.replace("http://", "tcp://")
}

pub fn enc(db: &str) -> String {
    percent_encoding::utf8_percent_encode(db, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub fn sync(f: &Api, db: &str, leader: &Server, extra: Value) -> Resp {
    let mut body = json!({"endpoint": endpoint(leader), "username": "root", "password": "pw",
                          "database": db});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    f.req(
        Method::PUT,
        &format!("/_db/{}/_api/replication/sync", enc(db)),
        Some(&body.to_string()),
        &[],
    )
}

pub fn insert_many(api: &Api, db: &str, coll: &str, docs: Vec<Value>) {
    for chunk in docs.chunks(5000) {
        let r = api.post(
            &format!("/_db/{}/_api/document/{coll}", enc(db)),
            Value::Array(chunk.to_vec()),
        );
        assert!(r.status < 300, "{}", r.body);
        assert!(
            r.body
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d.get("error").is_none()),
            "{}",
            r.body
        );
    }
}

/// Everything that must be equal between leader and follower for one collection.
pub fn fingerprint(api: &Api, db: &str, coll: &str) -> Value {
    let base = format!("/_db/{}/_api/collection/{coll}", enc(db));
    let sum = api.get(&format!("{base}/checksum?withRevisions=true&withData=true"));
    assert_eq!(sum.status, 200, "{coll}: {}", sum.body);
    let props = api.get(&format!("{base}/properties")).body;
    let count = api.get(&format!("{base}/count")).body["count"].clone();
    let idx = api.get(&format!("/_db/{}/_api/index?collection={coll}", enc(db)));
    let mut indexes: Vec<Value> = idx.body["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            json!({"id": i["id"], "name": i["name"], "type": i["type"], "fields": i["fields"],
                   "unique": i["unique"], "sparse": i["sparse"]})
        })
        .collect();
    indexes.sort_by_key(|i| i["id"].to_string());
    json!({
        "checksum": sum.body["checksum"], "count": count, "indexes": indexes,
        "type": props["type"], "globallyUniqueId": props["globallyUniqueId"],
        "waitForSync": props["waitForSync"], "keyOptions.type": props["keyOptions"]["type"],
        "isSystem": props["isSystem"],
    })
}

pub fn collection_names(api: &Api, db: &str) -> Vec<String> {
    let r = api.get(&format!("/_db/{}/_api/collection", enc(db)));
    let mut v: Vec<String> = r.body["result"]
        .as_array()
        .unwrap_or_else(|| panic!("collections of {db}: {} {}", r.status, r.text))
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

pub fn state(api: &Api, db: &str) -> Value {
    api.get(&format!("/_db/{}/_api/replication/applier-state", enc(db)))
        .body
}
