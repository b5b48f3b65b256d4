//! Helpers for tests with a leader and a follower: endpoints, bulk inserts, and what must be equal
//! between the two for a collection.

use super::api::{Api, Resp};
use super::server::Server;
use reqwest::Method;
use serde_json::{Value, json};

pub fn endpoint(s: &Server) -> String {
    s.url
        .replace("http://", "tcp://")
        .replace("https://", "ssl://")
}

pub fn enc(db: &str) -> String {
    percent_encoding::utf8_percent_encode(db, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `PUT /_api/replication/<cmd>` with a configuration for `leader` (root credentials): `base`, then
/// `extra` on top.
fn put_config(f: &Api, db: &str, cmd: &str, leader: &Server, base: Value, extra: Value) -> Resp {
    let mut body = json!({"endpoint": endpoint(leader), "username": "root", "password": "pw",
                          "database": db});
    for (k, v) in base
        .as_object()
        .unwrap()
        .iter()
        .chain(extra.as_object().unwrap())
    {
        body[k] = v.clone();
    }
    f.req(
        Method::PUT,
        &format!("/_db/{}/_api/replication/{cmd}", enc(db)),
        Some(&body.to_string()),
        &[],
    )
}

pub fn sync(f: &Api, db: &str, leader: &Server, extra: Value) -> Resp {
    put_config(f, db, "sync", leader, json!({}), extra)
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
    let props = api.get(&format!("{base}/properties")).body;
    let count = api.get(&format!("{base}/count")).body["count"].clone();
    let idx = api.get(&format!("/_db/{}/_api/index?collection={coll}", enc(db)));
    // a collection that went away between the calls (a follower resyncing) shows as such
    let Some(listed) = idx.body["indexes"].as_array().filter(|_| sum.status == 200) else {
        return json!({"unavailable": [sum.status, idx.status], "body": sum.body});
    };
    let mut indexes: Vec<Value> = listed
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

/// The server's databases, sorted.
pub fn databases(api: &Api) -> Vec<String> {
    let mut v: Vec<String> = api.get("/_api/database").body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
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

/// `PUT make-follower` with the leader's root credentials and quick retries and polling; `extra` adds
/// to (or overrides) the configuration.
pub fn make_follower(f: &Api, db: &str, leader: &Server, extra: Value) -> Resp {
    let quick = json!({"connectionRetryWaitTime": 0.25, "idleMinWaitTime": 0.25,
                       "idleMaxWaitTime": 0.5});
    put_config(f, db, "make-follower", leader, quick, extra)
}

/// `PUT /_api/replication/<cmd>` (applier-start, applier-stop, …) with an empty body.
pub fn applier(f: &Api, db: &str, cmd: &str) -> Resp {
    f.req(
        Method::PUT,
        &format!("/_db/{}/_api/replication/{cmd}", enc(db)),
        Some(""),
        &[],
    )
}

/// Polls `f` every 50 ms until it holds; panics after `secs`.
pub fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !f() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A database's non-system collections with everything that must match between leader and follower.
pub fn picture(api: &Api, db: &str) -> Vec<(String, Value)> {
    collection_names(api, db)
        .into_iter()
        .filter(|n| !n.starts_with('_'))
        .map(|n| {
            let fp = fingerprint(api, db, &n);
            (n, fp)
        })
        .collect()
}

/// Waits until the follower's database shows what the leader's shows; panics after `secs` with the
/// collections that differ and the applier state.
pub fn wait_converged(la: &Api, fa: &Api, db: &str, secs: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let (l, f) = (picture(la, db), picture(fa, db));
        if l == f {
            return;
        }
        if std::time::Instant::now() > deadline {
            let only = |a: &[(String, Value)], b: &[(String, Value)]| -> Vec<String> {
                a.iter()
                    .filter(|x| !b.contains(x))
                    .map(|(n, v)| format!("{n}: {v}"))
                    .collect()
            };
            panic!(
                "follower did not converge\nonly on the leader:   {:?}\nonly on the follower: {:?}\nstate {}",
                only(&l, &f),
                only(&f, &l),
                state(fa, db)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A leader collection `c` and a follower of `_system` set up with make-follower.
pub fn follow(la: &Api, fa: &Api, leader: &Server, extra: Value) {
    let r = la.post("/_api/collection", json!({"name": "c"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = make_follower(fa, "_system", leader, extra);
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
}

/// (written, removed) of the last initial sync of `db`, from its closing progress message: the
/// applier state's counters count tailed changes only, as ArangoDB's.
pub fn last_sync(fa: &Api, db: &str) -> (u64, u64) {
    let msg = state(fa, db)["state"]["progress"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let number_before = |what: &str| -> u64 {
        let end = msg
            .find(what)
            .unwrap_or_else(|| panic!("no '{what}' in {msg}"));
        msg[..end]
            .trim_end()
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count before '{what}' in {msg}"))
    };
    (number_before(" written"), number_before(" removed"))
}

/// Database `db`, created on the leader (with a collection) and on the follower `fa`, followed with
/// make-follower; then dropped on the follower while its applier runs, and created again: it must start
/// with the default configuration (no endpoint, no username) and no applier running.
pub fn drop_a_followed_database(la: &Api, fa: &Api, leader: &Server, db: &str) {
    for a in [la, fa] {
        assert_eq!(a.post("/_api/database", json!({"name": db})).status, 201);
    }
    la.post(
        &format!("/_db/{}/_api/collection", enc(db)),
        json!({"name": "c"}),
    );
    let r = make_follower(fa, db, leader, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("the applier to run", 10, || {
        state(fa, db)["state"]["running"] == true
    });
    assert_eq!(
        fa.delete(&format!("/_api/database/{}", enc(db))).status,
        200
    );
    assert_eq!(fa.post("/_api/database", json!({"name": db})).status, 201);
    let config = fa.get(&format!("/_db/{}/_api/replication/applier-config", enc(db)));
    assert_eq!(config.status, 200, "{}", config.body);
    assert!(config.body.get("endpoint").is_none(), "{}", config.body);
    assert!(config.body.get("username").is_none(), "{}", config.body);
    let st = state(fa, db);
    assert_eq!(st["state"]["running"], false, "{st}");
}

/// `PUT /_db/_system/_api/replication/<cmd>?global=true` (the server-level applier) with `body`.
pub fn global(f: &Api, cmd: &str, body: Value) -> Resp {
    f.req(
        Method::PUT,
        &format!("/_db/_system/_api/replication/{cmd}?global=true"),
        Some(&body.to_string()),
        &[],
    )
}

/// The server-level applier's configuration for `leader` (root credentials, quick retries and
/// polling), `extra` on top.
pub fn global_config(leader: &Server, extra: Value) -> Value {
    let mut body = json!({"endpoint": endpoint(leader), "username": "root", "password": "pw",
                          "connectionRetryWaitTime": 0.25, "idleMinWaitTime": 0.25,
                          "idleMaxWaitTime": 0.5});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// The server-level applier's state.
pub fn global_state(f: &Api) -> Value {
    f.get("/_db/_system/_api/replication/applier-state?global=true")
        .body
}

/// Every database of the server with everything that must match between leader and follower (a
/// database dropped while it is looked at shows as gone).
pub fn server_picture(api: &Api) -> Vec<(String, Vec<(String, Value)>)> {
    databases(api)
        .into_iter()
        .map(|db| {
            let listed = api.get(&format!("/_db/{}/_api/collection", enc(&db)));
            let Some(colls) = listed.body["result"].as_array() else {
                return (db, vec![("(gone)".to_string(), Value::Null)]);
            };
            let mut names: Vec<String> = colls
                .iter()
                .filter_map(|c| c["name"].as_str())
                .filter(|n| !n.starts_with('_'))
                .map(str::to_string)
                .collect();
            names.sort();
            let p = names
                .into_iter()
                .map(|n| {
                    let fp = fingerprint(api, &db, &n);
                    (n, fp)
                })
                .collect();
            (db, p)
        })
        .collect()
}

/// Waits until the follower shows every database the leader shows, with the same collections and
/// contents; panics after `secs` with what differs and the server-level applier's state.
pub fn wait_server_converged(la: &Api, fa: &Api, secs: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let (l, f) = (server_picture(la), server_picture(fa));
        if l == f {
            return;
        }
        if std::time::Instant::now() > deadline {
            let only = |a: &[(String, Vec<(String, Value)>)],
                        b: &[(String, Vec<(String, Value)>)]| {
                a.iter()
                    .filter(|x| !b.contains(x))
                    .map(|(d, v)| format!("{d}: {v:?}"))
                    .collect::<Vec<_>>()
            };
            panic!(
                "follower did not converge\nonly on the leader:   {:?}\nonly on the follower: {:?}\nstate {}",
                only(&l, &f),
                only(&f, &l),
                global_state(fa)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A stream transaction in `db` writing `docs` into `coll` and removing `removes`, committed.
pub fn trx(api: &Api, db: &str, coll: &str, docs: Vec<Value>, removes: &[String]) {
    let base = format!("/_db/{}/_api", enc(db));
    let r = api.post(
        &format!("{base}/transaction/begin"),
        json!({"collections": {"write": [coll]}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["result"]["id"].as_str().unwrap().to_string();
    let h = [("x-arango-trx-id", id.as_str())];
    let r = api.req(
        Method::POST,
        &format!("{base}/document/{coll}"),
        Some(&Value::Array(docs).to_string()),
        &h,
    );
    assert!(r.status < 300, "{}", r.body);
    if !removes.is_empty() {
        let r = api.req(
            Method::DELETE,
            &format!("{base}/document/{coll}"),
            Some(&json!(removes).to_string()),
            &h,
        );
        assert!(r.status < 300, "{}", r.body);
    }
    let r = api.req(
        Method::PUT,
        &format!("{base}/transaction/{id}"),
        Some(""),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
}
