//! `arangorepl serve` as clients see it: real server processes on free loopback ports, driven over HTTP.

mod common;

use common::api::{Api, assert_error};
use common::server::Server;
use reqwest::Method;
use serde_json::{Value, json};

#[test]
fn authentication_users_and_access_levels() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    let anon = Api {
        auth: None,
        ..Api::new(&s)
    };
    assert_error(&anon.get("/_api/version"), 401, 11);
    assert_error(&api.as_user("root", "wrong").get("/_api/version"), 401, 11);
    // unknown user: same answer as a wrong password (no hint that the user does not exist)
    let ghost = api.as_user("ghost", "pw").get("/_api/version");
    assert_error(&ghost, 401, 11);
    assert_eq!(
        ghost.body,
        api.as_user("root", "wrong").get("/_api/version").body
    );
    let v = api.get("/_api/version");
    assert_eq!(v.status, 200);
    assert_eq!(v.body["server"], "arango");
    assert!(v.body["version"].as_str().unwrap().starts_with("3.11."));

    // JWT login
    let bad = anon.post(
        "/_open/auth",
        json!({"username": "root", "password": "nope"}),
    );
    assert_eq!(bad.status, 401);
    let tok = anon.post("/_open/auth", json!({"username": "root", "password": "pw"}));
    assert_eq!(tok.status, 200);
    let jwt = tok.body["jwt"].as_str().unwrap().to_string();
    let bearer = Api {
        auth: None,
        bearer: Some(jwt.clone()),
        ..Api::new(&s)
    };
    assert_eq!(bearer.get("/_api/version").status, 200);
    let forged = Api {
        auth: None,
        bearer: Some(format!("{jwt}x")),
        ..Api::new(&s)
    };
    assert_error(&forged.get("/_api/version"), 401, 11);

    // users and access levels
    assert_eq!(
        api.post("/_api/user", json!({"user": "reader", "passwd": "r"}))
            .status,
        201
    );
    assert_error(
        &api.post("/_api/user", json!({"user": "reader", "passwd": "r"})),
        409,
        1702,
    );
    assert_eq!(
        api.put("/_api/user/reader/database/_system", json!({"grant": "ro"}))
            .status,
        200
    );
    api.post("/_api/collection", json!({"name": "c"}));
    let reader = api.as_user("reader", "r");
    assert_eq!(reader.get("/_api/collection/c").status, 200);
    assert_error(&reader.post("/_api/document/c", json!({"x": 1})), 403, 11);
    assert_error(&reader.post("/_api/user", json!({"user": "x"})), 403, 11);
    assert_eq!(
        api.get("/_api/user/reader/database/_system").body["result"],
        "ro"
    );
    assert_eq!(
        api.patch("/_api/user/reader", json!({"passwd": "r2"}))
            .status,
        200
    );
    assert_error(&reader.get("/_api/collection/c"), 401, 11);
    assert_eq!(
        api.as_user("reader", "r2").get("/_api/collection/c").status,
        200
    );
    assert_eq!(api.delete("/_api/user/reader").status, 202);
    assert_error(&api.as_user("reader", "r2").get("/_api/version"), 401, 11);
    assert_error(&api.get("/_api/user/reader"), 404, 1703);
    let users = api.get("/_api/user");
    assert!(
        users.body["result"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["user"] == "root")
    );
    assert!(!users.body.to_string().contains("pw\""));

    // authentication off: everything is allowed without credentials
    drop(s);
    let open = Server::start(&["--server.authentication", "false"]);
    let anon = Api {
        auth: None,
        ..Api::new(&open)
    };
    assert_eq!(anon.get("/_api/version").status, 200);
    assert_eq!(
        anon.post("/_api/collection", json!({"name": "c"})).status,
        200
    );
}

#[test]
fn databases_collections_and_errors() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    let r = api.post(
        "/_api/database",
        json!({"name": "test", "users": [{"username": "myuser", "passwd": "mypasswd"}]}),
    );
    assert_eq!((r.status, &r.body["result"]), (201, &json!(true)));
    assert_error(
        &api.post("/_api/database", json!({"name": "test"})),
        409,
        1207,
    );
    assert_error(
        &api.post("/_api/database", json!({"name": "1bad"})),
        400,
        1229,
    );
    assert!(
        api.get("/_api/database").body["result"]
            .as_array()
            .unwrap()
            .contains(&json!("test"))
    );
    let cur = api.get("/_db/test/_api/database/current");
    assert_eq!(cur.body["result"]["name"], "test");
    assert_eq!(cur.body["result"]["isSystem"], false);
    assert_error(&api.get("/_db/nope/_api/database/current"), 404, 1228);
    assert_error(&api.get("/_db/test/_api/database"), 403, 1230);
    // the database's user may use it
    let my = api.as_user("myuser", "mypasswd");
    assert_eq!(
        my.post("/_db/test/_api/collection", json!({"name": "c"}))
            .status,
        200
    );
    assert_error(&my.get("/_api/collection"), 401, 11);
    assert_eq!(
        my.get("/_api/database/user").body["result"],
        json!(["test"])
    );

    // collections
    let c = api.post(
        "/_db/test/_api/collection",
        json!({"name": "e", "type": 3, "waitForSync": true}),
    );
    assert_eq!(c.status, 200);
    assert_eq!(c.body["type"], 3);
    assert_eq!(c.body["waitForSync"], true);
    assert!(
        c.body["globallyUniqueId"]
            .as_str()
            .unwrap()
            .starts_with('h')
    );
    assert_error(
        &api.post("/_db/test/_api/collection", json!({"name": "e"})),
        409,
        1207,
    );
    assert_error(
        &api.post("/_db/test/_api/collection", json!({"name": "9e"})),
        400,
        1208,
    );
    assert_error(
        &api.post("/_db/test/_api/collection", json!({"name": "x", "type": 9})),
        400,
        1218,
    );
    assert_error(
        &api.req(
            Method::POST,
            "/_db/test/_api/collection",
            Some("{nope"),
            &[],
        ),
        400,
        600,
    );
    assert_error(&api.get("/_db/test/_api/collection/missing"), 404, 1203);
    let list = api.get("/_db/test/_api/collection?excludeSystem=true");
    let names: Vec<&str> = list.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c", "e"]);
    api.post("/_db/test/_api/document/c", json!([{"a": 1}, {"a": 2}]));
    assert_eq!(
        api.get("/_db/test/_api/collection/c/count").body["count"],
        2
    );
    let fig = api.get("/_db/test/_api/collection/c/figures");
    assert_eq!(fig.body["figures"]["engine"]["documents"], 2);
    let sum1 = api.get("/_db/test/_api/collection/c/checksum?withRevisions=true&withData=true");
    assert!(
        sum1.body["checksum"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    assert!(sum1.body["revision"].as_str().is_some());
    let p = api.put(
        "/_db/test/_api/collection/c/properties",
        json!({"waitForSync": true}),
    );
    assert_eq!(p.body["waitForSync"], true);
    assert_eq!(
        api.put("/_db/test/_api/collection/c/rename", json!({"name": "c2"}))
            .body["name"],
        "c2"
    );
    assert_error(&api.get("/_db/test/_api/collection/c"), 404, 1203);
    assert_eq!(
        api.put("/_db/test/_api/collection/c2/truncate", json!({}))
            .status,
        200
    );
    assert_eq!(
        api.get("/_db/test/_api/collection/c2/count").body["count"],
        0
    );
    assert_eq!(
        api.put("/_db/test/_api/collection/c2/load", json!({}))
            .status,
        200
    );
    assert_error(&api.delete("/_api/collection/_users"), 403, 11);
    assert_eq!(api.delete("/_db/test/_api/collection/c2").status, 200);
    assert_eq!(api.delete("/_api/database/test").body["result"], true);
    assert_error(&api.get("/_db/test/_api/collection"), 404, 1228);

    // unknown path / wrong method
    assert_error(&api.get("/_api/nothing-here"), 404, 404);
    assert_error(
        &api.req(Method::PATCH, "/_api/version", Some("{}"), &[]),
        405,
        405,
    );
    // a graph traversal is refused clearly, naming what is not supported
    assert_error(
        &api.post(
            "/_api/cursor",
            json!({"query": "FOR v IN 1..2 OUTBOUND 'c/x' e RETURN v"}),
        ),
        501,
        9,
    );
}

#[test]
fn documents_follow_arangodb_status_codes() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    api.post("/_api/collection", json!({"name": "c"}));
    api.post(
        "/_api/collection",
        json!({"name": "s", "waitForSync": true}),
    );
    let r = api.post("/_api/document/c", json!({"_key": "a", "x": 1}));
    assert_eq!(r.status, 202);
    let rev = r.body["_rev"].as_str().unwrap().to_string();
    assert_eq!(r.header("etag"), Some(format!("\"{rev}\"").as_str()));
    assert_eq!(r.body["_id"], "c/a");
    assert_eq!(
        api.post("/_api/document/c?waitForSync=true", json!({"_key": "b"}))
            .status,
        201
    );
    assert_eq!(api.post("/_api/document/s", json!({})).status, 201);
    let n = api.post("/_api/document/c?returnNew=true", json!({"y": 2}));
    assert_eq!(n.body["new"]["y"], 2);
    let silent = api.post("/_api/document/c?silent=true", json!({}));
    assert_eq!(silent.body, json!({}));
    assert_error(
        &api.post("/_api/document/c", json!({"_key": "a"})),
        409,
        1210,
    );
    assert_error(
        &api.post("/_api/document/c", json!({"_key": "bad key"})),
        400,
        1221,
    );
    assert_error(&api.post("/_api/document/nope", json!({})), 404, 1203);
    assert_error(
        &api.req(Method::POST, "/_api/document/c", Some("[1,"), &[]),
        400,
        600,
    );
    let ow = api.post(
        "/_api/document/c?overwriteMode=update&returnOld=true",
        json!({"_key": "a", "z": 3}),
    );
    assert_eq!(ow.body["old"]["x"], 1);
    assert!(ow.body["_oldRev"].is_string());
    let cur = api.get("/_api/document/c/a");
    assert_eq!(
        (cur.body["x"].clone(), cur.body["z"].clone()),
        (json!(1), json!(3))
    );
    let rev = cur.body["_rev"].as_str().unwrap().to_string();

    // conditional reads
    let nm = api.req(
        Method::GET,
        "/_api/document/c/a",
        None,
        &[("if-none-match", &format!("\"{rev}\""))],
    );
    assert_eq!(nm.status, 304);
    let pf = api.req(
        Method::GET,
        "/_api/document/c/a",
        None,
        &[("if-match", "\"_wrong---\"")],
    );
    assert_eq!(
        (
            pf.status,
            pf.body["errorNum"].clone(),
            pf.body["_rev"].clone()
        ),
        (412, json!(1200), json!(rev))
    );
    assert_eq!(
        api.req(Method::HEAD, "/_api/document/c/a", None, &[])
            .status,
        200
    );
    assert_eq!(
        api.req(Method::HEAD, "/_api/document/c/zz", None, &[])
            .status,
        404
    );
    assert_error(&api.get("/_api/document/c/zz"), 404, 1202);

    // replace / update / remove with If-Match
    let stale = api.req(
        Method::PUT,
        "/_api/document/c/a",
        Some(r#"{"only":1}"#),
        &[("if-match", "\"_stale---\"")],
    );
    assert_eq!(
        (stale.status, stale.body["errorNum"].clone()),
        (412, json!(1200))
    );
    let rep = api.req(
        Method::PUT,
        "/_api/document/c/a",
        Some(r#"{"only":1}"#),
        &[("if-match", &format!("\"{rev}\""))],
    );
    assert_eq!(rep.status, 202);
    assert_eq!(rep.body["_oldRev"], rev.as_str());
    assert!(api.get("/_api/document/c/a").body.get("x").is_none());
    let up = api.patch(
        "/_api/document/c/a?keepNull=false",
        json!({"only": null, "more": {"k": 1}}),
    );
    assert_eq!(up.status, 202);
    let d = api.get("/_api/document/c/a").body;
    assert!(d.get("only").is_none() && d["more"]["k"] == 1);
    assert_eq!(api.delete("/_api/document/c/a").status, 202);
    assert_eq!(api.delete("/_api/document/s/missing").status, 404);
    assert_eq!(
        api.delete("/_api/document/c/b?waitForSync=true").status,
        200
    );

    // array forms with per-document errors
    let many = api.post(
        "/_api/document/c",
        json!([{"_key": "m1"}, {"_key": "m1"}, {"_key": "m2"}, 5]),
    );
    assert_eq!(many.status, 202);
    let arr = many.body.as_array().unwrap();
    assert_eq!(arr[0]["_key"], "m1");
    assert_eq!(
        (arr[1]["error"].clone(), arr[1]["errorNum"].clone()),
        (json!(true), json!(1210))
    );
    assert_eq!(arr[3]["errorNum"], 1227);
    let codes: Value = serde_json::from_str(many.header("x-arango-error-codes").unwrap()).unwrap();
    assert_eq!(codes, json!({"1210": 1, "1227": 1}));
    let pm = api.patch(
        "/_api/document/c",
        json!([{"_key": "m1", "v": 1}, {"_key": "none", "v": 1}]),
    );
    assert_eq!(pm.body[1]["errorNum"], 1202);
    let rm = api.req(
        Method::DELETE,
        "/_api/document/c",
        Some(r#"["m1", {"_key": "m2"}]"#),
        &[],
    );
    assert_eq!(rm.body.as_array().unwrap().len(), 2);
    assert_eq!(api.get("/_api/collection/c/count").body["count"], 2); // the returnNew and silent ones
}

#[test]
fn indexes_transactions_simple_queries_and_jobs() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    api.post("/_api/collection", json!({"name": "c"}));
    let i = api.post(
        "/_api/index?collection=c",
        json!({"type": "hash", "fields": ["email"], "unique": true, "sparse": true}),
    );
    assert_eq!(i.status, 201);
    assert_eq!(
        (i.body["type"].clone(), i.body["isNewlyCreated"].clone()),
        (json!("hash"), json!(true))
    );
    let id = i.body["id"].as_str().unwrap().to_string();
    let again = api.post(
        "/_api/index?collection=c",
        json!({"type": "hash", "fields": ["email"], "unique": true, "sparse": true}),
    );
    assert_eq!(
        (
            again.status,
            again.body["isNewlyCreated"].clone(),
            again.body["id"].clone()
        ),
        (200, json!(false), json!(id))
    );
    assert_error(
        &api.post(
            "/_api/index",
            json!({"type": "persistent", "fields": ["a"]}),
        ),
        400,
        1204,
    );
    assert_error(
        &api.post(
            "/_api/index?collection=c",
            json!({"type": "geo", "fields": ["a"]}),
        ),
        501,
        9,
    );
    let list = api.get("/_api/index?collection=c");
    assert_eq!(list.body["indexes"].as_array().unwrap().len(), 2);
    assert!(list.body["identifiers"][&id].is_object());
    assert_eq!(
        api.get(&format!("/_api/index/{id}")).body["fields"],
        json!(["email"])
    );
    api.post("/_api/document/c", json!({"_key": "x", "email": "a@b"}));
    let dup = api.post("/_api/document/c", json!({"email": "a@b"}));
    assert_error(&dup, 409, 1210);
    assert!(
        dup.body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("conflicting key: x")
    );

    // stream transaction
    let t = api.post(
        "/_api/transaction/begin",
        json!({"collections": {"write": ["c"]}}),
    );
    assert_eq!(t.status, 201);
    let tid = t.body["result"]["id"].as_str().unwrap().to_string();
    assert_eq!(t.body["result"]["status"], "running");
    let h = [("x-arango-trx-id", tid.as_str())];
    assert_eq!(
        api.req(
            Method::POST,
            "/_api/document/c",
            Some(r#"{"_key":"t1"}"#),
            &h
        )
        .status,
        202
    );
    assert_eq!(
        api.req(Method::GET, "/_api/document/c/t1", None, &h).status,
        200
    );
    assert_eq!(api.get("/_api/document/c/t1").status, 404);
    assert_eq!(
        api.req(Method::GET, "/_api/collection/c/count", None, &h)
            .body["count"],
        2
    );
    assert_eq!(
        api.get("/_api/transaction").body["transactions"][0]["id"],
        tid.as_str()
    );
    assert_eq!(
        api.put(&format!("/_api/transaction/{tid}"), json!({})).body["result"]["status"],
        "committed"
    );
    assert_eq!(api.get("/_api/document/c/t1").status, 200);
    assert_eq!(
        api.get(&format!("/_api/transaction/{tid}")).body["result"]["status"],
        "committed"
    );
    let t2 = api.post(
        "/_api/transaction/begin",
        json!({"collections": {"write": "c"}}),
    );
    let tid2 = t2.body["result"]["id"].as_str().unwrap().to_string();
    api.req(
        Method::POST,
        "/_api/document/c",
        Some(r#"{"_key":"gone"}"#),
        &[("x-arango-trx-id", &tid2)],
    );
    assert_eq!(
        api.delete(&format!("/_api/transaction/{tid2}")).body["result"]["status"],
        "aborted"
    );
    assert_eq!(api.get("/_api/document/c/gone").status, 404);
    assert_error(&api.put("/_api/transaction/123", json!({})), 404, 1655);
    assert_error(
        &api.post(
            "/_api/transaction/begin",
            json!({"collections": {"write": ["nope"]}}),
        ),
        404,
        1203,
    );

    // simple queries with cursor continuation
    let docs: Vec<Value> = (0..25)
        .map(|i| json!({"_key": format!("k{i:02}"), "n": i, "odd": i % 2 == 1}))
        .collect();
    api.post("/_api/document/c", Value::Array(docs));
    let first = api.put(
        "/_api/simple/all",
        json!({"collection": "c", "batchSize": 10}),
    );
    assert_eq!(first.status, 201);
    assert_eq!(first.body["count"], 27);
    let mut seen = first.body["result"].as_array().unwrap().len();
    let mut more = first.body["hasMore"].as_bool().unwrap();
    let cid = first.body["id"].as_str().unwrap().to_string();
    while more {
        let next = api.put(&format!("/_api/cursor/{cid}"), json!({}));
        assert_eq!(next.status, 200);
        seen += next.body["result"].as_array().unwrap().len();
        more = next.body["hasMore"].as_bool().unwrap();
    }
    assert_eq!(seen, 27);
    assert_error(
        &api.put(&format!("/_api/cursor/{cid}"), json!({})),
        404,
        1600,
    );
    let ex = api.put(
        "/_api/simple/by-example",
        json!({"collection": "c", "example": {"odd": true}}),
    );
    assert_eq!(ex.body["result"].as_array().unwrap().len(), 12);
    let fe = api.put(
        "/_api/simple/first-example",
        json!({"collection": "c", "example": {"n": 7}}),
    );
    assert_eq!(fe.body["document"]["_key"], "k07");
    assert_error(
        &api.put(
            "/_api/simple/first-example",
            json!({"collection": "c", "example": {"n": 99}}),
        ),
        404,
        1202,
    );
    assert!(
        api.put("/_api/simple/any", json!({"collection": "c"})).body["document"]["_key"]
            .is_string()
    );

    // async jobs
    let j = api.req(
        Method::PUT,
        "/_api/version",
        None,
        &[("x-arango-async", "store")],
    );
    assert_eq!(j.status, 202);
    let jid = j.header("x-arango-async-id").unwrap().to_string();
    let mut fetched = None;
    for _ in 0..200 {
        let r = api.put(&format!("/_api/job/{jid}"), json!(null));
        if r.status != 204 {
            fetched = Some(r);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let fetched = fetched.expect("job finished");
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.header("x-arango-async-id"), Some(jid.as_str()));
    // the same shape as ArangoDB's captured answer
    let fixture: Value = serde_json::from_str(include_str!(
        "fixtures/arangodb/job-fetch-result-ok.3.11.json"
    ))
    .unwrap();
    let mut ours: Vec<&String> = fetched.body.as_object().unwrap().keys().collect();
    let mut theirs: Vec<&String> = fixture.as_object().unwrap().keys().collect();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
    assert_error(&api.put(&format!("/_api/job/{jid}"), json!(null)), 404, 404);
    assert_error(&api.put("/_api/job", json!(null)), 400, 400);
    let failed = api.req(
        Method::POST,
        "/_api/collection",
        Some(r#"{"name":" bad "}"#),
        &[("x-arango-async", "store")],
    );
    let fid = failed.header("x-arango-async-id").unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        api.get("/_api/job/done")
            .body
            .as_array()
            .unwrap()
            .contains(&json!(fid))
    );
    let r = api.put(&format!("/_api/job/{fid}"), json!(null));
    assert_eq!(
        (r.status, r.header("x-arango-async-id")),
        (400, Some(fid.as_str()))
    );
}

#[test]
fn restarts_keep_data_and_kill9_keeps_synced_writes() {
    let mut s = Server::start(&[]);
    let dir = s.keep_dir().unwrap();
    let api = Api::new(&s);
    api.post("/_api/database", json!({"name": "d"}));
    api.post("/_db/d/_api/collection", json!({"name": "c"}));
    for i in 0..20 {
        api.post(
            "/_db/d/_api/document/c",
            json!({"_key": format!("k{i}"), "i": i}),
        );
    }
    assert_eq!(s.terminate(), Some(0), "graceful shutdown exits 0");
    let mut s = Server::start_in(dir.path(), &[]);
    let api = Api::new(&s);
    assert_eq!(api.get("/_db/d/_api/collection/c/count").body["count"], 20);
    assert_eq!(api.get("/_db/d/_api/document/c/k7").body["i"], 7);
    // acknowledged waitForSync writes survive kill -9
    for i in 0..50 {
        let r = api.post(
            "/_db/d/_api/document/c?waitForSync=true",
            json!({"_key": format!("s{i}")}),
        );
        assert_eq!(r.status, 201);
    }
    s.kill9();
    let s = Server::start_in(dir.path(), &[]);
    let api = Api::new(&s);
    for i in 0..50 {
        assert_eq!(
            api.get(&format!("/_db/d/_api/document/c/s{i}")).status,
            200,
            "s{i} lost"
        );
    }
    // users survive too
    assert_eq!(api.as_user("root", "pw").get("/_api/version").status, 200);
}

#[test]
fn jwt_secret_from_a_keyfile_signs_superuser_tokens_and_the_store_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let keyfile = dir.path().join("secret");
    std::fs::write(&keyfile, "s3cret\n").unwrap();
    let s = Server::start(&["--server.jwt-secret-keyfile", keyfile.to_str().unwrap()]);
    // a token signed with the secret and without a user is a superuser token
    use base64::Engine;
    use hmac::Mac;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let head = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = b64.encode(br#"{"server_id":"tester","iss":"arangodb"}"#);
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(format!("{head}.{body}").as_bytes());
    let sig = b64.encode(mac.finalize().into_bytes());
    let api = Api {
        auth: None,
        bearer: Some(format!("{head}.{body}.{sig}")),
        ..Api::new(&s)
    };
    assert_eq!(
        api.post("/_api/database", json!({"name": "viajwt"})).status,
        201
    );
    let wrong = Api {
        auth: None,
        bearer: Some(format!("{head}.{body}.{}", b64.encode([0u8; 32]))),
        ..Api::new(&s)
    };
    assert_error(&wrong.get("/_api/version"), 401, 11);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(s.dir.join(arangorepl::store::DATA_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the store file must not be readable by others: {mode:o}"
    );
}

/// Array bodies large enough to be stored while they are parsed answer exactly as small ones: a result per
/// document with errors inline, and a broken body (or one for a missing collection) stores nothing.
#[test]
fn large_array_inserts_answer_as_small_ones_and_a_broken_body_stores_nothing() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    api.post("/_api/collection", json!({"name": "c"}));
    api.post(
        "/_api/index?collection=c",
        json!({"type": "persistent", "fields": ["u"], "unique": true}),
    );
    let pad = "x".repeat(100);
    let docs = |from: u64, to: u64| -> Vec<Value> {
        (from..to)
            .map(|i| json!({"_key": format!("k{i}"), "u": i, "pad": pad}))
            .collect()
    };
    let count = || api.get("/_api/collection/c/count").body["count"].as_u64();
    // 2,000 documents (~250 KB), three of them failing: a duplicate key, a bad key, a unique value taken
    let mut body = docs(0, 2000);
    body[700] = json!({"_key": "k5", "u": 100_000});
    body[1200] = json!({"_key": "bad key"});
    body[1900] = json!({"_key": "z", "u": 3});
    let text = Value::Array(body).to_string();
    assert!(text.len() > 128 * 1024);
    let r = api.req(Method::POST, "/_api/document/c", Some(&text), &[]);
    assert_eq!(r.status, 202, "{}", r.body);
    let out = r.body.as_array().unwrap();
    assert_eq!(out.len(), 2000);
    assert_eq!(out[0]["_id"], "c/k0");
    assert_eq!(out[1999]["_key"], "k1999");
    assert_eq!(
        (
            out[700]["errorNum"].as_i64(),
            out[1200]["errorNum"].as_i64()
        ),
        (Some(1210), Some(1221))
    );
    assert_eq!(out[1900]["errorNum"], 1210);
    assert_eq!(
        serde_json::from_str::<Value>(r.header("x-arango-error-codes").unwrap()).unwrap(),
        json!({"1210": 2, "1221": 1})
    );
    assert_eq!(count(), Some(1997));

    // silent and waitForSync as for small bodies
    let text = Value::Array(docs(2000, 3000)).to_string();
    let r = api.req(
        Method::POST,
        "/_api/document/c?silent=true&waitForSync=true",
        Some(&text),
        &[],
    );
    assert_eq!((r.status, r.body.clone()), (201, json!([])));
    assert_eq!(count(), Some(2997));

    // cut off half-way: ArangoDB's corrupted-JSON error, and none of the documents before the cut
    let tick = api.get("/_api/replication/logger-state").body["state"]["lastLogTick"].clone();
    let text = Value::Array(docs(3000, 5000)).to_string();
    let cut = &text[..text.len() * 3 / 4];
    let r = api.req(Method::POST, "/_api/document/c", Some(cut), &[]);
    assert_error(&r, 400, 600);
    let broken = format!("{},]", &text[..text.len() - 1]);
    assert_error(
        &api.req(Method::POST, "/_api/document/c", Some(&broken), &[]),
        400,
        600,
    );
    assert_eq!(count(), Some(2997));
    assert_eq!(
        api.get("/_api/replication/logger-state").body["state"]["lastLogTick"],
        tick,
        "a rejected body reached the log"
    );
    // a broken body is reported before a missing collection, as for small bodies
    assert_error(
        &api.req(Method::POST, "/_api/document/nope", Some(cut), &[]),
        400,
        600,
    );
    assert_error(
        &api.req(Method::POST, "/_api/document/nope", Some(&text), &[]),
        404,
        1203,
    );
    assert_error(
        &api.req(
            Method::POST,
            "/_api/document/c?overwriteMode=bogus",
            Some(cut),
            &[],
        ),
        400,
        600,
    );
}
