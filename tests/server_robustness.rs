//! Bad input and load: a corpus of malformed, mistyped, unauthorized and conflicting requests gets
//! ArangoDB error envelopes and changes nothing in data or log; many idle, half-written and half-closed
//! connections do not stop the server from serving others.

mod common;

use arangorepl::store::{Store, StoreConfig};
use common::server::Server;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// method, path, headers, body
type BadRequest<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Vec<u8>);

const ROOT: (&str, &str) = ("authorization", "Basic cm9vdDpwdw=="); // root:pw
const WRONG: (&str, &str) = ("authorization", "Basic cm9vdDpub3Bl"); // root:nope

fn snapshot_of(dir: &std::path::Path) -> (u64, common::Contents) {
    let s = Store::open(dir, StoreConfig::default()).unwrap();
    (s.last_tick(), common::contents(&s))
}

#[test]
fn a_corpus_of_bad_requests_changes_nothing() {
    let mut srv = Server::start(&[]);
    let tmp = srv.keep_dir().unwrap();
    let addr = srv.url.trim_start_matches("http://").to_string();
    let setup: &[(&str, &str, &str)] = &[
        ("POST", "/_api/database", r#"{"name":"d"}"#),
        ("POST", "/_db/d/_api/collection", r#"{"name":"c"}"#),
        ("POST", "/_db/d/_api/collection", r#"{"name":"e","type":3}"#),
        (
            "POST",
            "/_db/d/_api/index?collection=c",
            r#"{"type":"persistent","fields":["u"],"unique":true}"#,
        ),
        (
            "POST",
            "/_db/d/_api/document/c",
            r#"[{"_key":"a","u":1},{"_key":"b","u":2}]"#,
        ),
    ];
    for (m, p, b) in setup {
        let (st, body) = http(&addr, m, p, &[ROOT], b.as_bytes());
        assert!(st < 300, "{m} {p}: {st} {body}");
    }
    assert_eq!(srv.terminate(), Some(0));
    let before = snapshot_of(tmp.path());

    let srv = Server::start_in(tmp.path(), &[]);
    let addr = srv.url.trim_start_matches("http://").to_string();
    let big_key = format!(r#"{{"_key":"{}"}}"#, "k".repeat(300));
    let corpus: Vec<BadRequest> = vec![
        (
            "POST",
            "/_db/d/_api/document/c",
            vec![ROOT],
            b"{\"_key\": \"x\"".to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/document/c",
            vec![ROOT],
            b"not json at all".to_vec(),
        ),
        ("POST", "/_db/d/_api/document/c", vec![ROOT], b"".to_vec()),
        (
            "POST",
            "/_db/d/_api/document/c",
            vec![ROOT],
            vec![0xff, 0xfe, 0x00],
        ),
        ("POST", "/_db/d/_api/document/c", vec![ROOT], b"42".to_vec()),
        (
            "POST",
            "/_db/d/_api/document/c",
            vec![ROOT],
            br#"{"_key":"bad key"}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/document/c",
            vec![ROOT],
            big_key.into_bytes(),
        ),
        (
            "POST",
            "/_db/d/_api/document/c",
            vec![ROOT],
            br#"{"_key":7}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/document/c",
            vec![ROOT],
            br#"{"_key":"a"}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/document/c",
            vec![ROOT],
            br#"{"u":1}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/document/c?overwriteMode=sideways",
            vec![ROOT],
            br#"{"x":1}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/document/e",
            vec![ROOT],
            br#"{"_from":"v/1"}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/document/e",
            vec![ROOT],
            br#"{"_from":"v/1","_to":"no-slash"}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/document/nope",
            vec![ROOT],
            br#"{}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/nope/_api/document/c",
            vec![ROOT],
            br#"{}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/document/c",
            vec![WRONG],
            br#"{"x":1}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/document/c",
            vec![],
            br#"{"x":1}"#.to_vec(),
        ),
        (
            "PUT",
            "/_db/d/_api/document/c/a",
            vec![ROOT, ("if-match", "\"_nope---\"")],
            br#"{"x":1}"#.to_vec(),
        ),
        (
            "PUT",
            "/_db/d/_api/document/c/zzz",
            vec![ROOT],
            br#"{"x":1}"#.to_vec(),
        ),
        (
            "PATCH",
            "/_db/d/_api/document/c/a",
            vec![ROOT],
            br#"{"u":2}"#.to_vec(),
        ),
        (
            "PATCH",
            "/_db/d/_api/document/c/a",
            vec![ROOT],
            b"[".to_vec(),
        ),
        ("DELETE", "/_db/d/_api/document/c/zzz", vec![ROOT], vec![]),
        (
            "DELETE",
            "/_db/d/_api/document/c/a",
            vec![ROOT, ("if-match", "\"_nope---\"")],
            vec![],
        ),
        (
            "PUT",
            "/_db/d/_api/document/c",
            vec![ROOT],
            br#"{"not":"an array"}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/document/c",
            vec![ROOT, ("x-arango-trx-id", "garbage")],
            br#"{}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/document/c",
            vec![ROOT, ("x-arango-trx-id", "12345")],
            br#"{}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/collection",
            vec![ROOT],
            br#"{"name":5}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/collection",
            vec![ROOT],
            br#"{"name":"x","type":"y"}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/collection",
            vec![ROOT],
            br#"{"name":"x","waitForSync":"yes"}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/collection",
            vec![ROOT],
            br#"{"name":"x","keyOptions":{"type":"weird"}}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/collection",
            vec![ROOT],
            br#"{"name":"c"}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/collection",
            vec![ROOT],
            br#"{"name":"a/b"}"#.to_vec(),
        ),
        ("POST", "/_db/d/_api/collection", vec![ROOT], b"[]".to_vec()),
        (
            "PUT",
            "/_db/d/_api/collection/c/rename",
            vec![ROOT],
            br#"{"name":"e"}"#.to_vec(),
        ),
        (
            "PUT",
            "/_db/d/_api/collection/c/rename",
            vec![ROOT],
            br#"{"name":""}"#.to_vec(),
        ),
        (
            "PUT",
            "/_db/d/_api/collection/c/properties",
            vec![ROOT],
            br#"{"waitForSync":"no"}"#.to_vec(),
        ),
        (
            "PUT",
            "/_db/d/_api/collection/c/explode",
            vec![ROOT],
            b"{}".to_vec(),
        ),
        ("DELETE", "/_api/collection/_users", vec![ROOT], vec![]),
        ("DELETE", "/_db/d/_api/collection/nope", vec![ROOT], vec![]),
        (
            "POST",
            "/_db/d/_api/index?collection=c",
            vec![ROOT],
            br#"{"type":"persistent","fields":"u"}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/index?collection=c",
            vec![ROOT],
            br#"{"type":"persistent","fields":[1]}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/index?collection=c",
            vec![ROOT],
            br#"{"type":"fulltext","fields":["x"]}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/index?collection=c",
            vec![ROOT],
            br#"{"type":"persistent","fields":["b"],"unique":true,"name":"primary"}"#.to_vec(),
        ),
        ("DELETE", "/_db/d/_api/index/c/0", vec![ROOT], vec![]),
        ("DELETE", "/_db/d/_api/index/c/99999", vec![ROOT], vec![]),
        (
            "POST",
            "/_api/database",
            vec![ROOT],
            br#"{"name":"d"}"#.to_vec(),
        ),
        (
            "POST",
            "/_api/database",
            vec![ROOT],
            br#"{"name":"_x"}"#.to_vec(),
        ),
        (
            "POST",
            "/_api/database",
            vec![ROOT],
            br#"{"name":"ok","users":"nope"}"#.to_vec(),
        ),
        (
            "POST",
            "/_api/database",
            vec![WRONG],
            br#"{"name":"ok"}"#.to_vec(),
        ),
        ("DELETE", "/_api/database/_system", vec![ROOT], vec![]),
        ("DELETE", "/_api/database/nope", vec![ROOT], vec![]),
        (
            "POST",
            "/_db/d/_api/database",
            vec![ROOT],
            br#"{"name":"ok"}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/transaction/begin",
            vec![ROOT],
            br#"{"collections":{"write":["nope"]}}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/transaction/begin",
            vec![ROOT],
            br#"{"collections":{"write":[1]}}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/transaction/begin",
            vec![ROOT],
            br#"{}"#.to_vec(),
        ),
        ("PUT", "/_db/d/_api/transaction/999", vec![ROOT], vec![]),
        (
            "POST",
            "/_api/user",
            vec![ROOT],
            br#"{"user":"root"}"#.to_vec(),
        ),
        (
            "POST",
            "/_api/user",
            vec![ROOT],
            br#"{"passwd":"x"}"#.to_vec(),
        ),
        (
            "PUT",
            "/_api/user/root/database/d",
            vec![ROOT],
            br#"{"grant":"sometimes"}"#.to_vec(),
        ),
        (
            "PUT",
            "/_api/user/ghost/database/d",
            vec![ROOT],
            br#"{"grant":"rw"}"#.to_vec(),
        ),
        (
            "POST",
            "/_open/auth",
            vec![],
            br#"{"username":"root","password":"nope"}"#.to_vec(),
        ),
        ("POST", "/_open/auth", vec![], b"{".to_vec()),
        (
            "PUT",
            "/_db/d/_api/simple/all",
            vec![ROOT],
            br#"{"collection":"nope"}"#.to_vec(),
        ),
        (
            "PUT",
            "/_db/d/_api/simple/by-example",
            vec![ROOT],
            br#"{"collection":"c","example":3}"#.to_vec(),
        ),
        (
            "POST",
            "/_db/d/_api/cursor",
            vec![ROOT],
            br#"{"query":"FOR k IN ['a', 'nope'] REMOVE k IN c"}"#.to_vec(),
        ),
        ("GET", "/_db/d/_api/nothing", vec![ROOT], vec![]),
        ("DELETE", "/_api/version", vec![ROOT], vec![]),
    ];
    for (m, p, h, b) in &corpus {
        let (st, body) = http(&addr, m, p, h, b);
        assert!(
            st >= 400,
            "{m} {p} with {:?} was accepted: {st} {body}",
            String::from_utf8_lossy(b)
        );
        let v: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|_| panic!("{m} {p}: no JSON envelope: {body}"));
        assert_eq!(v["error"], true, "{m} {p}: {body}");
        assert_eq!(v["code"], st, "{m} {p}: {body}");
        assert!(
            v["errorNum"].as_i64().is_some_and(|n| n > 0),
            "{m} {p}: {body}"
        );
        assert!(
            v["errorMessage"].as_str().is_some_and(|s| !s.is_empty()),
            "{m} {p}: {body}"
        );
    }
    // a body over the limit is refused from its announced length
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let req = format!(
        "POST /_db/d/_api/document/c HTTP/1.1\r\nhost: x\r\nauthorization: {}\r\nconnection: close\r\ncontent-length: 300000000\r\n\r\n{{\"a\":",
        ROOT.1
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("\"errorNum\":413"), "{text}");
    // the server still serves
    let (st, body) = http(&addr, "GET", "/_db/d/_api/document/c/a", &[ROOT], b"");
    assert_eq!(st, 200, "{body}");
    drop(srv);
    // nothing changed: neither data nor log
    let after = snapshot_of(tmp.path());
    assert_eq!(after.0, before.0, "the replication log changed");
    assert_eq!(after.1, before.1, "the data changed");
}

fn fd_budget() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|x| x.starts_with("Max open files"))
                .and_then(|x| {
                    x.split_whitespace()
                        .nth(3)
                        .and_then(|n| n.parse::<usize>().ok())
                })
        })
        .unwrap_or(1024)
}

#[test]
fn many_idle_slow_and_half_closed_connections_do_not_block_others() {
    let srv = Server::start(&["--server.authentication", "false"]);
    let addr = srv.url.trim_start_matches("http://").to_string();
    let n = 1000.min(fd_budget() / 3);
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = TcpStream::connect(&addr).expect("connect");
        match i % 4 {
            0 => {} // idle
            1 => s
                .write_all(b"POST /_api/document/c HTTP/1.1\r\nhost: x\r\n")
                .unwrap(), // half-written headers
            2 => s
                .write_all(b"POST /_api/collection HTTP/1.1\r\ncontent-length: 100\r\n\r\n{\"na")
                .unwrap(), // short body
            _ => {
                s.write_all(b"GET /_api/version HTTP/1.1\r\n").unwrap();
                let _ = s.shutdown(std::net::Shutdown::Write); // half-closed
            }
        }
        conns.push(s);
    }
    let (st, body) = http(&addr, "POST", "/_api/collection", &[], br#"{"name":"c"}"#);
    assert_eq!(st, 200, "{body}");
    for i in 0..50 {
        let (st, _) = http(
            &addr,
            "POST",
            "/_api/document/c",
            &[],
            format!(r#"{{"_key":"k{i}"}}"#).as_bytes(),
        );
        assert_eq!(st, 202);
    }
    let (st, body) = http(&addr, "GET", "/_api/collection/c/count", &[], b"");
    assert_eq!(st, 200);
    assert!(body.contains("\"count\":50"), "{body}");
    drop(conns);
    let (st, _) = http(&addr, "GET", "/_api/version", &[], b"");
    assert_eq!(st, 200);
    // none of the broken requests created anything
    let (_, body) = http(
        &addr,
        "GET",
        "/_api/collection?excludeSystem=true",
        &[],
        b"",
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["result"].as_array().unwrap().len(), 1);
}
