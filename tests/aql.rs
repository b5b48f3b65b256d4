//! AQL against a real `arangorepl serve`: a corpus of queries with the results ArangoDB's documented
//! semantics give (written here from the documentation, not captured), the cursor API's paging,
//! counts and errors, and the shell's `db._query` forms.

mod common;

use common::api::{Api, assert_error};
use common::repl::insert_many;
use common::server::Server;
use reqwest::Method;
use serde_json::{Value, json};
use std::process::Command;

fn query(api: &Api, q: &str, bind: Value) -> common::api::Resp {
    api.post("/_api/cursor", json!({"query": q, "bindVars": bind}))
}

fn result(api: &Api, q: &str, bind: Value) -> Value {
    let r = query(api, q, bind);
    assert_eq!(r.status, 201, "{q}: {}", r.body);
    assert_eq!(r.body["hasMore"], false, "{q}");
    r.body["result"].clone()
}

fn people(api: &Api) {
    assert_eq!(
        api.post("/_api/collection", json!({"name": "people"}))
            .status,
        200
    );
    insert_many(
        api,
        "_system",
        "people",
        vec![
            json!({"_key": "anna", "name": "Anna", "age": 31, "city": "Köln", "tags": ["a", "b"], "address": {"zip": "50667"}}),
            json!({"_key": "bert", "name": "Bert", "age": 25, "city": "Bonn", "tags": ["b"]}),
            json!({"_key": "cleo", "name": "Cleo", "age": 31, "city": "Köln", "tags": []}),
            json!({"_key": "dora", "name": "Dora", "age": null, "city": "Aachen"}),
        ],
    );
}

#[test]
fn the_query_corpus_gives_arangodbs_results() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    people(&api);
    let corpus: Vec<(&str, Value, Value)> = vec![
        // FOR, FILTER, SORT, LIMIT, RETURN over a collection
        (
            "FOR p IN people FILTER p.age > 26 SORT p.name DESC RETURN p.name",
            json!({}),
            json!(["Cleo", "Anna"]),
        ),
        (
            "FOR p IN people SORT p.age, p._key RETURN p._key",
            json!({}),
            json!(["dora", "bert", "anna", "cleo"]),
        ),
        (
            "FOR p IN people SORT p.age DESC, p.name ASC LIMIT 1, 2 RETURN p.name",
            json!({}),
            json!(["Cleo", "Bert"]),
        ),
        (
            "FOR p IN @@c FILTER p.city == @city RETURN p._id",
            json!({"@c": "people", "city": "Köln"}),
            json!(["people/anna", "people/cleo"]),
        ),
        (
            "FOR p IN people FILTER p.city IN ['Bonn', 'Aachen'] SORT p._key RETURN p._key",
            json!({}),
            json!(["bert", "dora"]),
        ),
        (
            "FOR p IN people FILTER p.city NOT IN ['Köln'] AND p.age != null RETURN p._key",
            json!({}),
            json!(["bert"]),
        ),
        (
            "FOR p IN people FILTER p.name LIKE 'C%' OR p.name =~ '^B' SORT p._key RETURN p.name",
            json!({}),
            json!(["Bert", "Cleo"]),
        ),
        (
            "FOR p IN people FILTER p.address.zip == '50667' RETURN p.address",
            json!({}),
            json!([{"zip": "50667"}]),
        ),
        (
            "FOR p IN people FILTER 'b' IN p.tags SORT p._key RETURN p._key",
            json!({}),
            json!(["anna", "bert"]),
        ),
        // LET, subqueries, nested FOR
        (
            "LET n = LENGTH(FOR p IN people RETURN 1) RETURN n",
            json!({}),
            json!([4]),
        ),
        (
            "FOR a IN [1, 2] FOR b IN ['x', 'y'] RETURN CONCAT(a, b)",
            json!({}),
            json!(["1x", "1y", "2x", "2y"]),
        ),
        (
            "FOR p IN people LET older = (FOR q IN people FILTER q.age > p.age RETURN q._key) FILTER p._key == 'bert' RETURN SORTED(older)",
            json!({}),
            json!([["anna", "cleo"]]),
        ),
        (
            "FOR i IN 1..10 FILTER i % 3 == 0 RETURN i * i",
            json!({}),
            json!([9, 36, 81]),
        ),
        ("FOR i IN 3..1 RETURN i", json!({}), json!([3, 2, 1])),
        // COLLECT
        (
            "FOR p IN people COLLECT city = p.city WITH COUNT INTO n RETURN {city, n}",
            json!({}),
            json!([{"city": "Aachen", "n": 1}, {"city": "Bonn", "n": 1}, {"city": "Köln", "n": 2}]),
        ),
        (
            "FOR p IN people COLLECT city = p.city INTO g = p._key RETURN [city, g]",
            json!({}),
            json!([
                ["Aachen", ["dora"]],
                ["Bonn", ["bert"]],
                ["Köln", ["anna", "cleo"]]
            ]),
        ),
        (
            "FOR p IN people COLLECT AGGREGATE lo = MIN(p.age), hi = MAX(p.age), avg = AVERAGE(p.age), n = COUNT(p) RETURN {lo, hi, avg, n}",
            json!({}),
            json!([{"lo": 25, "hi": 31, "avg": 29, "n": 4}]),
        ),
        (
            "FOR p IN people COLLECT WITH COUNT INTO n RETURN n",
            json!({}),
            json!([4]),
        ),
        (
            "FOR p IN [] COLLECT WITH COUNT INTO n RETURN n",
            json!({}),
            json!([0]),
        ),
        (
            "FOR p IN people RETURN DISTINCT p.city",
            json!({}),
            json!(["Köln", "Bonn", "Aachen"]),
        ),
        // operators, type order, arithmetic
        (
            "RETURN [null < false, false < 0, 0 < '', '' < [], [] < {}]",
            json!({}),
            json!([[true, true, true, true, true]]),
        ),
        (
            "RETURN [1 + '2', '5' * 2, 7 / 2, 7 % 3, 1 / 0, -'3']",
            json!({}),
            json!([[3, 10, 3.5, 1, null, -3]]),
        ),
        (
            "RETURN [1 == 1.0, [1, 2] == [1, 2], {a: 1} == {a: 1}, 'a' < 'b', null == false]",
            json!({}),
            json!([[true, true, true, true, false]]),
        ),
        (
            "RETURN [0 || 'x', 1 && 2, !'' , NOT [], null ? 'y' : 'n', 0 ?: 'dflt']",
            json!({}),
            json!([["x", 2, true, false, "n", "dflt"]]),
        ),
        (
            "RETURN [[1, 2, 3] ALL > 0, [1, 2, 3] ANY == 2, [1, 2, 3] NONE > 5, [] ALL == 1]",
            json!({}),
            json!([[true, true, true, true]]),
        ),
        // expansion
        (
            "FOR p IN people FILTER p._key == 'anna' RETURN p.tags[*]",
            json!({}),
            json!([["a", "b"]]),
        ),
        (
            "RETURN [{n: 1, v: [1]}, {n: 2, v: [2, 3]}][* FILTER CURRENT.n > 1 RETURN CURRENT.v]",
            json!({}),
            json!([[[2, 3]]]),
        ),
        (
            "RETURN [{v: [1, 2]}, {v: [3]}][*].v[**]",
            json!({}),
            json!([[1, 2, 3]]),
        ),
        (
            "RETURN [[1, [2]], [3]][**]",
            json!({}),
            json!([[1, [2], 3]]),
        ),
        // functions
        (
            "RETURN [LOWER('ÄB'), UPPER('x'), SUBSTRING('hello', 1, 3), LEFT('hello', 2), RIGHT('hello', 3), CONTAINS('hello', 'll'), CONTAINS('hello', 'l', true)]",
            json!({}),
            json!([["äb", "X", "ell", "he", "llo", true, 2]]),
        ),
        (
            "RETURN [CONCAT('a', 1, null, [2, 3]), CONCAT_SEPARATOR('-', 'a', ['b', 'c']), SPLIT('a,b,c', ','), TRIM('  x  '), REVERSE('abc'), LIKE('Foo', 'f%', true)]",
            json!({}),
            json!([["a123", "a-b-c", ["a", "b", "c"], "x", "cba", true]]),
        ),
        (
            "RETURN [LENGTH([1, 2]), LENGTH('äbc'), LENGTH({a: 1}), FIRST([3, 4]), LAST([3, 4]), NTH([3, 4], 1), POSITION([3, 4], 4, true)]",
            json!({}),
            json!([[2, 3, 1, 3, 4, 4, 1]]),
        ),
        (
            "RETURN [UNIQUE([1, 1, 2]), SORTED([3, 1, 2]), SORTED_UNIQUE([2, 1, 2]), UNION([1], [2]), UNION_DISTINCT([1, 2], [2, 3]), INTERSECTION([1, 2, 3], [2, 3, 4]), MINUS([1, 2, 3], [2])]",
            json!({}),
            json!([[[1, 2], [1, 2, 3], [1, 2], [1, 2], [1, 2, 3], [2, 3], [1, 3]]]),
        ),
        (
            "RETURN [FLATTEN([1, [2, [3]]]), FLATTEN([1, [2, [3]]], 2), SLICE([1, 2, 3, 4], 1, 2), SLICE([1, 2, 3, 4], -2), PUSH([1], 2), APPEND([1], [2, 3]), RANGE(1, 7, 3)]",
            json!({}),
            json!([[
                [1, 2, [3]],
                [1, 2, 3],
                [2, 3],
                [3, 4],
                [1, 2],
                [1, 2, 3],
                [1, 4, 7]
            ]]),
        ),
        (
            "RETURN [SUM([1, 2, null]), MIN([3, null, 1]), MAX([3, 1]), AVERAGE([1, 2]), ABS(-2), FLOOR(2.7), CEIL(2.1), ROUND(2.5)]",
            json!({}),
            json!([[3, 1, 3, 1.5, 2, 2, 3, 3]]),
        ),
        (
            "RETURN [HAS({a: 1}, 'a'), ATTRIBUTES({b: 1, a: 2}, false, true), VALUES({a: 1, b: 2}), KEEP({a: 1, b: 2}, 'a'), UNSET({a: 1, b: 2}, ['a']), MERGE({a: 1}, {b: 2}, {a: 3}), ZIP(['x', 'y'], [1, 2])]",
            json!({}),
            json!([[true, ["a", "b"], [1, 2], {"a": 1}, {"b": 2}, {"a": 3, "b": 2}, {"x": 1, "y": 2}]]),
        ),
        (
            "RETURN MERGE_RECURSIVE({a: {x: 1}}, {a: {y: 2}})",
            json!({}),
            json!([{"a": {"x": 1, "y": 2}}]),
        ),
        (
            "RETURN [TO_NUMBER('12'), TO_STRING(1.5), TO_BOOL('0'), TO_ARRAY(null), IS_STRING('x'), IS_NUMBER('1'), TYPENAME([]), NOT_NULL(null, 2)]",
            json!({}),
            json!([[12, "1.5", true, [], true, false, "array", 2]]),
        ),
        (
            "RETURN [DOCUMENT('people/bert').name, DOCUMENT('people', 'cleo').age, DOCUMENT(['people/anna', 'people/nobody'])[*]._key, DOCUMENT('people/nobody')]",
            json!({}),
            json!([["Bert", 31, ["anna"], null]]),
        ),
        (
            "RETURN [CURRENT_DATABASE(), LENGTH(UUID()), REGEX_TEST('abc', '^a.c$'), REGEX_REPLACE('a1b2', '[0-9]', '#')]",
            json!({}),
            json!([["_system", 36, true, "a#b#"]]),
        ),
        (
            "RETURN PARSE_IDENTIFIER('people/anna')",
            json!({}),
            json!([{"collection": "people", "key": "anna"}]),
        ),
        // bind parameters of every kind
        (
            "RETURN [@s, @n, @a[1], @o.k]",
            json!({"s": "x", "n": 1.5, "a": [1, 2], "o": {"k": true}}),
            json!([["x", 1.5, 2, true]]),
        ),
        (
            "FOR p IN people FILTER p.@attr == @v RETURN p._key",
            json!({"attr": "name", "v": "Dora"}),
            json!(["dora"]),
        ),
        // comments, backticks, keywords in any case
        (
            "for p in people /* all */ filter p.`name` == 'Anna' // one\n return p._key",
            json!({}),
            json!(["anna"]),
        ),
        (
            "WITH people FOR p IN people FILTER p._key == 'anna' RETURN { n: p.name, [p._key]: 1, name: 'x' }",
            json!({}),
            json!([{"n": "Anna", "anna": 1, "name": "x"}]),
        ),
    ];
    let mut failures = Vec::new();
    for (q, bind, want) in &corpus {
        let got = result(&api, q, bind.clone());
        if &got != want {
            failures.push(format!("{q}\n  want {want}\n  got  {got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} queries differ:\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n")
    );
}

#[test]
fn errors_carry_arangodbs_numbers_and_change_nothing() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    people(&api);
    let cases: Vec<(&str, Value, u16, i64)> = vec![
        ("FOR p IN people RETRN p", json!({}), 400, 1501),
        ("FOR p IN people FILTER RETURN p", json!({}), 400, 1501),
        ("RETURN 'unterminated", json!({}), 400, 1501),
        ("", json!({}), 400, 1502),
        ("FOR p IN nowhere RETURN p", json!({}), 404, 1203),
        ("RETURN NO_SUCH_FN(1)", json!({}), 404, 1540),
        ("RETURN LENGTH(1, 2)", json!({}), 400, 1541),
        ("RETURN @missing", json!({}), 400, 1551),
        ("RETURN 1", json!({"extra": 1}), 400, 1552),
        ("FOR p IN @@c RETURN p", json!({"@c": 5}), 400, 1553),
        ("LET x = 1 LET x = 2 RETURN x", json!({}), 400, 1511),
        ("FOR p IN people LIMIT -1 RETURN p", json!({}), 400, 1504),
        ("FOR x IN 5 RETURN x", json!({}), 400, 1563),
        ("RETURN FAIL('stop here')", json!({}), 400, 1569),
        (
            "FOR p IN people WINDOW { preceding: 1 } AGGREGATE s = SUM(p.age) RETURN s",
            json!({}),
            501,
            9,
        ),
        (
            "FOR v IN 1..2 OUTBOUND 'people/anna' knows RETURN v",
            json!({}),
            501,
            9,
        ),
        ("RETURN GEO_DISTANCE([0, 0], [1, 1])", json!({}), 501, 9),
    ];
    for (q, bind, status, num) in cases {
        let r = query(&api, q, bind);
        assert_eq!(r.status, status, "{q}: {}", r.body);
        assert_eq!(r.body["errorNum"], num, "{q}: {}", r.body);
        assert!(
            r.body["errorMessage"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{q}"
        );
    }
    // the syntax error says where
    let r = query(
        &api,
        "FOR p IN people\n  FILTER p.age >\n  RETURN p",
        json!({}),
    );
    let msg = r.body["errorMessage"].as_str().unwrap();
    assert!(msg.contains("at position 3:3"), "{msg}");
    // a malformed request
    let r = api.req(Method::POST, "/_api/cursor", Some("{nope"), &[]);
    assert_error(&r, 400, 600);
    let r = api.post(
        "/_api/cursor",
        json!({"query": "RETURN 1", "bindVars": [1]}),
    );
    assert_error(&r, 400, 1550);
    let r = api.post("/_api/cursor", json!({"query": "RETURN 1", "batchSize": 0}));
    assert_error(&r, 400, 400);
    // nothing changed
    assert_eq!(api.get("/_api/collection/people/count").body["count"], 4);
}

#[test]
fn cursors_page_count_and_go_away() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    let r = api.post(
        "/_api/cursor",
        json!({"query": "FOR i IN 1..25 RETURN i", "batchSize": 10, "count": true}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["count"], 25);
    assert_eq!(r.body["hasMore"], true);
    let id = r.body["id"].as_str().unwrap().to_string();
    let mut all: Vec<Value> = r.body["result"].as_array().unwrap().clone();
    loop {
        let r = api.req(Method::PUT, &format!("/_api/cursor/{id}"), Some(""), &[]);
        assert_eq!(r.status, 200, "{}", r.body);
        all.extend(r.body["result"].as_array().unwrap().iter().cloned());
        if r.body["hasMore"] == false {
            assert!(r.body.get("id").is_none());
            break;
        }
    }
    assert_eq!(all, (1..=25).map(Value::from).collect::<Vec<_>>());
    // an exhausted cursor is gone
    let r = api.req(Method::PUT, &format!("/_api/cursor/{id}"), Some(""), &[]);
    assert_error(&r, 404, 1600);
    // one deleted early too
    let r = api.post(
        "/_api/cursor",
        json!({"query": "FOR i IN 1..5 RETURN i", "batchSize": 2}),
    );
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(api.delete(&format!("/_api/cursor/{id}")).status, 202);
    assert_error(
        &api.req(Method::POST, &format!("/_api/cursor/{id}"), Some(""), &[]),
        404,
        1600,
    );
    // fullCount: the rows before the last LIMIT
    let r = api.post(
        "/_api/cursor",
        json!({"query": "FOR i IN 1..100 FILTER i % 2 == 0 LIMIT 5 RETURN i", "options": {"fullCount": true}}),
    );
    assert_eq!(r.body["extra"]["stats"]["fullCount"], 50, "{}", r.body);
    // a LIMIT after a loop over a collection reads no more of it than it needs (unless fullCount
    // asks for the rest to be counted)
    assert_eq!(
        api.post("/_api/collection", json!({"name": "many"})).status,
        200
    );
    insert_many(
        &api,
        "_system",
        "many",
        (0..100)
            .map(|i| json!({"_key": format!("k{i:03}"), "i": i}))
            .collect(),
    );
    let q = "FOR d IN many FILTER d.i % 2 == 1 LIMIT 1, 3 RETURN d.i";
    let r = api.post("/_api/cursor", json!({"query": q}));
    assert_eq!(r.body["result"], json!([3, 5, 7]), "{}", r.body);
    assert_eq!(r.body["extra"]["stats"]["scannedFull"], 8, "{}", r.body);
    let r = api.post(
        "/_api/cursor",
        json!({"query": q, "options": {"fullCount": true}}),
    );
    assert_eq!(r.body["result"], json!([3, 5, 7]), "{}", r.body);
    assert_eq!(r.body["extra"]["stats"]["scannedFull"], 100, "{}", r.body);
    assert_eq!(r.body["extra"]["stats"]["fullCount"], 50, "{}", r.body);
    // parse and explain
    let r = api.post(
        "/_api/query",
        json!({"query": "FOR d IN people FILTER d.x == @x RETURN d"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["collections"], json!(["people"]));
    assert_eq!(r.body["bindVars"], json!(["x"]));
    assert_eq!(
        api.get("/_api/query/current").body,
        json!([]),
        "nothing runs"
    );
}

#[test]
fn the_shells_query_forms() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    people(&api);
    let o = Command::new(env!("CARGO_BIN_EXE_arangorepl"))
        .arg("--server.endpoint")
        .arg(format!("tcp://127.0.0.1:{}", s.port()))
        .arg("--server.password")
        .arg("pw")
        .env("HOME", s.dir.as_os_str())
        .arg("--javascript.execute-string")
        .arg(
            r#"var aql = require("@arangodb").aql;
print(JSON.stringify(db._query("FOR p IN people FILTER p.age == @a SORT p._key RETURN p._key", {a: 31}).toArray()));
print(db._query("FOR p IN people RETURN 1", {}, {count: true}).count());
var coll = db.people, min = 30;
print(JSON.stringify(db._query(aql`FOR p IN ${coll} FILTER p.age > ${min} SORT p.name RETURN p.name`).toArray()));
print(JSON.stringify(db._query({query: "RETURN @x", bindVars: {x: [1]}}).toArray()));
var c = db._query("FOR i IN 1..7 RETURN i", {}, {batchSize: 3}); var n = 0; while (c.hasNext()) { n += c.next(); } print(n);
var st = db._createStatement({query: "FOR i IN 1..3 RETURN i * @f", bindVars: {f: 2}, count: true});
var r = st.execute(); print(r.count(), JSON.stringify(r.toArray()));
print(JSON.stringify(db._parse("FOR p IN people RETURN p").collections));
try { db._query("FOR p IN people RETURN NOPE(p)"); } catch (e) { print(e.errorNum, e instanceof require("@arangodb").ArangoError); }
db._query("FOR i IN 1..3 RETURN i");
var w = db._query("FOR i IN 1..2 INSERT {_key: CONCAT('s', i), by: 'shell'} INTO people RETURN NEW._key");
print(JSON.stringify(w.toArray()), w.getExtra().stats.writesExecuted, db.people.count());
print(JSON.stringify(db._query(aql`FOR p IN ${coll} FILTER p.by == 'shell' REMOVE p IN ${coll} RETURN OLD._key`).toArray()), db.people.count());"#,
        )
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        &lines[..8],
        &[
            r#"["anna","cleo"]"#,
            "4",
            r#"["Anna","Cleo"]"#,
            "[[1]]",
            "28",
            "3 [2,4,6]",
            r#"["people"]"#,
            "1540 true",
        ],
        "{out}"
    );
    // the result of the last expression prints as arangosh prints a cursor, then the writes
    let writes: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("[\"s"))
        .collect();
    assert_eq!(writes, [r#"["s1","s2"] 2 6"#, r#"["s1","s2"] 4"#], "{out}");
}

fn keys(api: &Api, coll: &str) -> Value {
    result(
        api,
        "FOR d IN @@c SORT d._key RETURN d._key",
        json!({"@c": coll}),
    )
}

#[test]
fn writes_return_new_and_old_and_each_query_is_one_transaction() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    people(&api);
    assert_eq!(
        api.post("/_api/collection", json!({"name": "c"})).status,
        200
    );

    // INSERT … RETURN NEW, with the stats python-arango reads
    let r = query(
        &api,
        "FOR i IN 1..3 INSERT {_key: CONCAT('k', i), n: i} INTO c RETURN NEW",
        json!({}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["extra"]["stats"]["writesExecuted"], 3);
    assert_eq!(r.body["extra"]["stats"]["writesIgnored"], 0);
    let new = r.body["result"].as_array().unwrap();
    assert_eq!(new.len(), 3);
    assert_eq!(new[0]["_id"], "c/k1");
    assert_eq!(new[2]["n"], 3);
    assert!(new[1]["_rev"].is_string());
    assert_eq!(keys(&api, "c"), json!(["k1", "k2", "k3"]));

    // UPDATE key WITH …, OLD and NEW; keepNull false removes an attribute
    assert_eq!(
        result(
            &api,
            "UPDATE 'k1' WITH {n: 10, extra: {a: 1}} IN c RETURN [OLD.n, NEW.n, NEW.extra]",
            json!({})
        ),
        json!([[1, 10, {"a": 1}]])
    );
    assert_eq!(
        result(
            &api,
            "FOR d IN c FILTER d._key == 'k1' UPDATE d WITH {n: null, extra: {b: 2}} IN c OPTIONS {keepNull: false, mergeObjects: true} RETURN NEW",
            json!({})
        )[0],
        json!({"_key": "k1", "_id": "c/k1", "_rev": result(&api, "RETURN DOCUMENT('c/k1')._rev", json!({}))[0], "extra": {"a": 1, "b": 2}})
    );
    // REPLACE drops what the new body lacks
    assert_eq!(
        result(
            &api,
            "REPLACE {_key: 'k2', m: 'x'} IN c RETURN [HAS(NEW, 'n'), NEW.m, OLD.n]",
            json!({})
        ),
        json!([[false, "x", 2]])
    );
    // REMOVE … RETURN OLD, by key string, by _id and by document
    assert_eq!(
        result(
            &api,
            "FOR k IN ['k3', 'c/k2'] REMOVE k IN c RETURN OLD._key",
            json!({})
        ),
        json!(["k3", "k2"])
    );
    assert_eq!(keys(&api, "c"), json!(["k1"]));

    // UPSERT reads its own writes: the same search three times inserts once and updates twice
    assert_eq!(
        result(
            &api,
            "FOR i IN 1..3 UPSERT {name: 'u'} INSERT {_key: 'u', name: 'u', n: 1} UPDATE {n: OLD.n + 1} IN c RETURN [NEW.n, OLD == null]",
            json!({})
        ),
        json!([[1, true], [2, false], [3, false]])
    );
    assert_eq!(
        result(
            &api,
            "UPSERT {_key: 'u'} INSERT {} REPLACE {name: 'replaced'} IN c RETURN NEW",
            json!({})
        )[0]["name"],
        "replaced"
    );

    // a query that fails half-way changes nothing: the third insert collides with an existing key
    let before = keys(&api, "people");
    let r = query(
        &api,
        "FOR i IN 1..5 INSERT {_key: i == 3 ? 'anna' : CONCAT('p', i)} INTO people",
        json!({}),
    );
    assert_error(&r, 409, 1210);
    assert_eq!(keys(&api, "people"), before);
    // … unless it ignores errors: the others are written and counted
    let r = query(
        &api,
        "FOR i IN 1..5 INSERT {_key: i == 3 ? 'anna' : CONCAT('p', i)} INTO people OPTIONS {ignoreErrors: true} RETURN NEW._key",
        json!({}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["result"], json!(["p1", "p2", "p4", "p5"]));
    assert_eq!(r.body["extra"]["stats"]["writesExecuted"], 4);
    assert_eq!(r.body["extra"]["stats"]["writesIgnored"], 1);

    // python-arango's update_match / replace_match / delete_match, as it sends them
    let r = query(
        &api,
        "FOR doc IN @@collection FILTER doc.`city` == @filter_0 UPDATE doc WITH @body IN @@collection OPTIONS { keepNull: @keep_none, mergeObjects: @merge , waitForSync: True }",
        json!({"@collection": "people", "filter_0": "Köln", "body": {"seen": true}, "keep_none": true, "merge": true}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["extra"]["stats"]["writesExecuted"], 2);
    assert_eq!(r.body["result"], json!([]));
    assert_eq!(
        result(
            &api,
            "FOR p IN people FILTER p.seen SORT p._key RETURN p._key",
            json!({})
        ),
        json!(["anna", "cleo"])
    );
    let r = query(
        &api,
        "FOR doc IN @@collection FILTER doc.`seen` == @filter_0 LIMIT 1 REPLACE doc WITH @body IN @@collection",
        json!({"@collection": "people", "filter_0": true, "body": {"name": "Replaced"}}),
    );
    assert_eq!(r.body["extra"]["stats"]["writesExecuted"], 1, "{}", r.body);
    let r = query(
        &api,
        "FOR doc IN @@collection FILTER doc.`_key` LIKE @filter_0 REMOVE doc IN @@collection OPTIONS { waitForSync: false }",
        json!({"@collection": "people", "filter_0": "p%"}),
    );
    assert_eq!(r.body["extra"]["stats"]["writesExecuted"], 4, "{}", r.body);
    assert_eq!(keys(&api, "people"), before);

    // errors: the ArangoDB numbers, and nothing changed
    for (q, status, num) in [
        ("UPDATE 'nope' WITH {a: 1} IN c", 404, 1202),
        ("REMOVE 'nope' IN c", 404, 1202),
        ("INSERT 42 INTO c", 400, 1227),
        ("UPDATE {a: 1} IN c", 400, 1226),
        ("INSERT {} INTO nosuch", 404, 1203),
        ("INSERT {_key: 'bad key!'} INTO c", 400, 1221),
        ("INSERT {} INTO c OPTIONS 'fast'", 400, 1575),
        (
            "INSERT {} INTO c OPTIONS {overwriteMode: 'sometimes'}",
            400,
            10,
        ),
    ] {
        let before = keys(&api, "c");
        assert_error(&query(&api, q, json!({})), status, num);
        assert_eq!(keys(&api, "c"), before, "{q}");
    }
    // overwriteMode through OPTIONS
    assert_eq!(
        result(
            &api,
            "INSERT {_key: 'k1', v: 2} INTO c OPTIONS {overwriteMode: 'replace'} RETURN [OLD.extra.a, NEW.v]",
            json!({})
        ),
        json!([[1, 2]])
    );
    assert_eq!(
        result(&api, "RETURN LENGTH(FOR d IN c RETURN 1)", json!({})),
        json!([2])
    );
    assert_eq!(
        result(
            &api,
            "LET n = (FOR i IN 1..2 INSERT {} INTO c RETURN NEW._key) RETURN LENGTH(n)",
            json!({})
        ),
        json!([2])
    );
    // explain says it writes
    let r = api.post(
        "/_api/explain",
        json!({"query": "FOR i IN 1..2 INSERT {} INTO c"}),
    );
    assert_eq!(r.body["plan"]["isModificationQuery"], true, "{}", r.body);
    assert!(
        r.body["plan"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "InsertNode")
    );

    // one query is one transaction in the replication log: begin, its operations, commit
    let from = api.get("/_api/wal/lastTick").body["tick"]
        .as_str()
        .unwrap()
        .to_string();
    let r = query(
        &api,
        "FOR d IN c UPDATE d WITH {touched: true} IN c",
        json!({}),
    );
    assert_eq!(r.body["extra"]["stats"]["writesExecuted"], 4, "{}", r.body);
    let r = api.req(
        Method::PUT,
        &format!("/_api/wal/tail?from={from}&serverId=42"),
        Some("[]"),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let markers: Vec<Value> = r
        .text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<i64> = markers
        .iter()
        .map(|m| m["type"].as_i64().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![2200, 2300, 2300, 2300, 2300, 2201],
        "{markers:?}"
    );
    let tid = &markers[0]["tid"];
    assert!(markers.iter().all(|m| &m["tid"] == tid));
}

#[test]
fn a_query_in_a_stream_transaction_writes_into_it() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    assert_eq!(
        api.post("/_api/collection", json!({"name": "c"})).status,
        200
    );
    let r = api.post(
        "/_api/transaction/begin",
        json!({"collections": {"write": ["c"]}}),
    );
    let id = r.body["result"]["id"].as_str().unwrap().to_string();
    let h = [("x-arango-trx-id", id.as_str())];
    let in_trx = |q: &str| {
        api.req(
            Method::POST,
            "/_api/cursor",
            Some(&json!({"query": q}).to_string()),
            &h,
        )
    };
    let r = in_trx("FOR i IN 1..3 INSERT {_key: TO_STRING(i)} INTO c RETURN NEW._key");
    assert_eq!(r.status, 201, "{}", r.body);
    // the transaction reads its own writes; nobody else sees them before the commit
    assert_eq!(
        in_trx("FOR d IN c RETURN d._key").body["result"],
        json!(["1", "2", "3"])
    );
    assert_eq!(keys(&api, "c"), json!([]));
    let r = in_trx("REMOVE '2' IN c");
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        in_trx("RETURN DOCUMENT('c/2')").body["result"],
        json!([null])
    );
    let r = api.req(
        Method::PUT,
        &format!("/_api/transaction/{id}"),
        Some(""),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(keys(&api, "c"), json!(["1", "3"]));
}

#[test]
fn loops_read_through_the_primary_and_unique_indexes() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    assert_eq!(
        api.post("/_api/collection", json!({"name": "c"})).status,
        200
    );
    let r = api.post(
        "/_api/index?collection=c",
        json!({"type": "persistent", "fields": ["u", "v"], "unique": true}),
    );
    assert!(r.status < 300, "{}", r.body);
    let docs: Vec<Value> = (0..200)
        .map(|i| json!({"_key": format!("k{i:03}"), "u": i, "v": i % 3}))
        .collect();
    insert_many(&api, "_system", "c", docs);
    let stats = |q: &str, bind: Value| {
        let r = query(&api, q, bind);
        assert_eq!(r.status, 201, "{q}: {}", r.body);
        (
            r.body["result"].clone(),
            r.body["extra"]["stats"]["scannedFull"].as_u64().unwrap(),
            r.body["extra"]["stats"]["scannedIndex"].as_u64().unwrap(),
        )
    };
    let plan_with = |q: &str, bind: &Value| {
        let r = api.post("/_api/explain", json!({"query": q, "bindVars": bind}));
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        // the node of the loop over `c`
        r.body["plan"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["collection"] == "c")
            .cloned()
            .unwrap()
    };
    let plan = |q: &str| plan_with(q, &json!({}));
    for (q, bind, want) in [
        (
            "FOR d IN c FILTER d._key == @k RETURN d.u",
            json!({"k": "k007"}),
            json!([7]),
        ),
        (
            "FOR d IN c FILTER 'c/k008' == d._id RETURN d.u",
            json!({}),
            json!([8]),
        ),
        (
            "FOR d IN c FILTER d._id == 'other/k008' RETURN d.u",
            json!({}),
            json!([]),
        ),
        (
            "FOR d IN c FILTER d._key IN ['k150', 'k002', 'nope', 'k002', 3] RETURN d.u",
            json!({}),
            json!([2, 150]),
        ),
        // the other filters still apply to what the index finds
        (
            "FOR d IN c FILTER d._key == 'k009' AND d.v == 1 RETURN d.u",
            json!({}),
            json!([]),
        ),
        (
            "FOR d IN c FILTER d.u == 42 && d.v == 0 RETURN d._key",
            json!({}),
            json!(["k042"]),
        ),
        (
            "FOR d IN c FILTER d.v == 1 FILTER d.u == @u RETURN d._key",
            json!({"u": 43}),
            json!(["k043"]),
        ),
        (
            "FOR d IN c FILTER d.u == 43 AND d.v == 0 RETURN d._key",
            json!({}),
            json!([]),
        ),
        // joins: the inner loop looks each outer value up
        (
            "FOR i IN [5, 6] FOR d IN c FILTER d._key == CONCAT('k00', i) RETURN d.u",
            json!({}),
            json!([5, 6]),
        ),
    ] {
        let (res, full, idx) = stats(q, bind.clone());
        assert_eq!(res, want, "{q}");
        assert_eq!(full, 0, "{q} scanned the collection");
        assert!(idx <= 2, "{q}: {idx}");
        assert_eq!(plan_with(q, &bind)["type"], "IndexNode", "{q}");
    }
    assert_eq!(
        plan("FOR d IN c FILTER d._key == 'k1' RETURN d")["indexes"][0]["type"],
        "primary"
    );
    let unique = plan("FOR d IN c FILTER d.u == 1 AND d.v == 1 RETURN d");
    assert_eq!(unique["indexes"][0]["fields"], json!(["u", "v"]));
    assert_eq!(unique["indexes"][0]["unique"], true);
    // no index for these: a part of the index, an attribute of the loop on both sides, an OR
    for q in [
        "FOR d IN c FILTER d.u == 1 RETURN d._key",
        "FOR d IN c FILTER d._key == d.other RETURN d._key",
        "FOR d IN c FILTER d._key == 'k001' OR d.u == 2 RETURN d._key",
    ] {
        assert_eq!(plan(q)["type"], "EnumerateCollectionNode", "{q}");
        let (_, full, _) = stats(q, json!({}));
        assert_eq!(full, 200, "{q}");
    }
    // an update found through the primary index, as python-arango's update_match by _key sends it
    let r = query(
        &api,
        "FOR d IN c FILTER d._key == 'k010' UPDATE d WITH {w: 1} IN c RETURN NEW.w",
        json!({}),
    );
    assert_eq!(r.body["result"], json!([1]), "{}", r.body);
    assert_eq!(r.body["extra"]["stats"]["scannedFull"], 0);
}

/// A value for the randomized index test: numbers, strings, booleans, null, or nothing at all.
fn random_value(rng: &mut common::rng::Rng) -> Option<Value> {
    Some(match rng.below(9) {
        0 => return None,
        1 => Value::Null,
        2 => json!(rng.below(2) == 0),
        3 | 4 => json!(format!("s{}", rng.below(4))),
        5 => json!(rng.below(4) as f64 + 0.5),
        _ => json!(rng.below(5) as i64 - 1),
    })
}

#[test]
fn secondary_indexes_answer_as_a_full_scan_does() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    for c in ["ix", "plain", "sx"] {
        assert_eq!(api.post("/_api/collection", json!({"name": c})).status, 200);
    }
    let r = api.post(
        "/_api/index?collection=ix",
        json!({"type": "persistent", "fields": ["a", "b"]}),
    );
    assert!(r.status < 300, "{}", r.body);
    let mut rng = common::rng::Rng(0x005e_ed1d);
    let mut docs = Vec::new();
    for i in 0..400 {
        let mut d = serde_json::Map::new();
        d.insert("_key".into(), json!(format!("d{i:03}")));
        if let Some(v) = random_value(&mut rng) {
            d.insert("a".into(), v);
        }
        if let Some(v) = random_value(&mut rng) {
            d.insert("b".into(), v);
        }
        docs.push(Value::Object(d));
    }
    // half before the index exists on `sx` (built from the documents), half after (kept by writes)
    insert_many(&api, "_system", "ix", docs.clone());
    insert_many(&api, "_system", "plain", docs.clone());
    insert_many(&api, "_system", "sx", docs[..200].to_vec());
    let r = api.post(
        "/_api/index?collection=sx",
        json!({"type": "persistent", "fields": ["a"], "sparse": true}),
    );
    assert!(r.status < 300, "{}", r.body);
    insert_many(&api, "_system", "sx", docs[200..].to_vec());
    // changes after the fact: updates, removals, AQL writes, a stream transaction
    for c in ["ix", "plain", "sx"] {
        let r = query(
            &api,
            "FOR d IN @@c FILTER d.b == 2 UPDATE d WITH {a: 'moved'} IN @@c",
            json!({"@c": c}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let r = query(
            &api,
            "FOR d IN @@c FILTER d.a == 's3' REMOVE d IN @@c",
            json!({"@c": c}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        common::repl::trx(
            &api,
            "_system",
            c,
            vec![
                json!({"_key": "t1", "a": 1, "b": 1}),
                json!({"_key": "t2", "a": "s0"}),
            ],
            &["d000".to_string()],
        );
    }
    let literal = |rng: &mut common::rng::Rng| {
        random_value(rng).map_or("null".to_string(), |v| v.to_string())
    };
    let mut used = 0;
    for round in 0..300 {
        let (a, b, b2) = (literal(&mut rng), literal(&mut rng), literal(&mut rng));
        let ops = ["==", "<", "<=", ">", ">="];
        let op = |rng: &mut common::rng::Rng| ops[rng.below(5) as usize];
        let (o1, o2, o3) = (op(&mut rng), op(&mut rng), op(&mut rng));
        let filter = match round % 9 {
            0 => format!("d.a == {a}"),
            1 => format!("d.a == {a} AND d.b {o2} {b}"),
            2 => format!("d.a {o1} {a}"),
            3 => format!("{a} == d.a AND {b} {o2} d.b AND d.b {o3} {b2}"),
            4 => format!("d.a {o1} {a} AND d.a {o2} {b}"),
            // one look-up per listed value, each value once
            5 => format!("d.a IN [{a}, {b}, {a}]"),
            6 => format!("d.a == {a} AND d.b IN [{b}, {b2}, 7]"),
            // not a list: no document
            7 => format!("d.a IN {a}"),
            _ => format!("d.a == {a} AND d.b == {b}"),
        };
        let (sort, limit) = match rng.below(4) {
            0 => ("SORT d.a, d.b, d._key", ""),
            1 => ("SORT d.a DESC, d.b DESC, d._key DESC", ""),
            _ => ("", ""),
        };
        let q = |c: &str| format!("FOR d IN {c} FILTER {filter} {sort} {limit} RETURN d._key");
        let want = result(&api, &q("plain"), json!({}));
        for c in ["ix", "sx"] {
            let r = query(&api, &q(c), json!({}));
            assert_eq!(r.status, 201, "{}: {}", q(c), r.body);
            let mut got = r.body["result"].as_array().unwrap().clone();
            let mut w = want.as_array().unwrap().clone();
            if sort.is_empty() {
                got.sort_by_key(|v| v.to_string());
                w.sort_by_key(|v| v.to_string());
            }
            assert_eq!(got, w, "{}", q(c));
            if r.body["extra"]["stats"]["scannedFull"] == 0 {
                used += 1;
            }
        }
    }
    assert!(used > 200, "the indexes answered only {used} queries");
    // `IN` on the first field reads one range of the index per distinct value
    let q = "FOR d IN ix FILTER d.a IN [1, 's1', 1] RETURN d._key";
    let r = query(&api, q, json!({}));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["extra"]["stats"]["scannedFull"], 0, "{}", r.body);
    let n = r.body["result"].as_array().unwrap().len();
    assert!(n > 0, "{}", r.body);
    assert_eq!(r.body["extra"]["stats"]["scannedIndex"], n, "{}", r.body);
    // the index's order stands in for SORT … LIMIT: only what the LIMIT needs is read
    for (q, want) in [
        ("FOR d IN ix SORT d.a, d.b LIMIT 3 RETURN d._key", "plain"),
        (
            "FOR d IN ix FILTER d.a == 1 SORT d.b DESC LIMIT 2 RETURN d._key",
            "plain",
        ),
    ] {
        let r = query(&api, q, json!({}));
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["extra"]["stats"]["scannedFull"], 0, "{q}");
        assert!(
            r.body["extra"]["stats"]["scannedIndex"].as_u64().unwrap() <= 3,
            "{q}: {}",
            r.body
        );
        let plain = result(&api, &q.replace("ix", want), json!({}));
        // ties (equal a and b) may come in another order: compare the sort keys
        let vals = |keys: &Value| -> Vec<Value> {
            keys.as_array()
                .unwrap()
                .iter()
                .map(|k| {
                    result(
                        &api,
                        "RETURN [DOCUMENT('plain', @k).a, DOCUMENT('plain', @k).b]",
                        json!({"k": k}),
                    )[0]
                    .clone()
                })
                .collect()
        };
        assert_eq!(vals(&r.body["result"]), vals(&plain), "{q}");
        let r = api.post("/_api/explain", json!({"query": q}));
        let node = &r.body["plan"]["nodes"][1];
        assert_eq!(node["type"], "IndexNode", "{}", r.body);
        assert_eq!(node["sorted"], true);
        assert_eq!(node["indexes"][0]["fields"], json!(["a", "b"]));
    }
    // the entries survive a kill -9 (the store's journal brings them back with the documents)
    drop(api);
    let mut s = s;
    let _tmp = s.keep_dir();
    s.kill9();
    let s = Server::start_in(&s.dir.clone(), &[]);
    let api = Api::new(&s);
    let r = query(&api, "FOR d IN ix FILTER d.a == 1 RETURN d._key", json!({}));
    assert_eq!(r.body["extra"]["stats"]["scannedFull"], 0);
    let mut got = r.body["result"].as_array().unwrap().clone();
    got.sort_by_key(|v| v.to_string());
    let mut want = result(
        &api,
        "FOR d IN plain FILTER d.a == 1 RETURN d._key",
        json!({}),
    )
    .as_array()
    .unwrap()
    .clone();
    want.sort_by_key(|v| v.to_string());
    assert_eq!(got, want);
    assert!(!want.is_empty());
    // truncate empties the index; dropping it leaves a scan
    assert_eq!(
        api.put("/_api/collection/ix/truncate", json!({})).status,
        200
    );
    let r = query(&api, "FOR d IN ix FILTER d.a == 1 RETURN d._key", json!({}));
    assert_eq!(r.body["result"], json!([]));
}

#[test]
fn edge_collections_look_up_from_and_to() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    assert_eq!(
        api.post("/_api/collection", json!({"name": "e", "type": 3}))
            .status,
        200
    );
    let edges: Vec<Value> = (0..50)
        .map(|i| json!({"_key": format!("e{i}"), "_from": format!("v/{}", i % 5), "_to": format!("v/{}", i % 7)}))
        .collect();
    insert_many(&api, "_system", "e", edges);
    let r = query(
        &api,
        "FOR x IN e FILTER x._from == 'v/3' RETURN x._key",
        json!({}),
    );
    assert_eq!(r.body["extra"]["stats"]["scannedFull"], 0, "{}", r.body);
    assert_eq!(r.body["result"].as_array().unwrap().len(), 10);
    let r = query(
        &api,
        "FOR x IN e FILTER x._to == @v AND x._from == 'v/1' RETURN x._key",
        json!({"v": "v/6"}),
    );
    assert_eq!(r.body["result"], json!(["e41", "e6"]), "{}", r.body);
    let r = api.post(
        "/_api/explain",
        json!({"query": "FOR x IN e FILTER x._to == 'v/2' RETURN x"}),
    );
    assert_eq!(
        r.body["plan"]["nodes"][1]["indexes"][0]["type"], "edge",
        "{}",
        r.body
    );
    // an edge moved by an update is found at its new place only
    let r = query(&api, "UPDATE 'e3' WITH {_from: 'v/9'} IN e", json!({}));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        result(
            &api,
            "FOR x IN e FILTER x._from == 'v/9' RETURN x._key",
            json!({})
        ),
        json!(["e3"])
    );
    assert_eq!(
        result(
            &api,
            "FOR x IN e FILTER x._from == 'v/3' RETURN x._key",
            json!({})
        )
        .as_array()
        .unwrap()
        .len(),
        9
    );
}

#[test]
fn a_follower_answers_indexed_queries_as_its_leader() {
    let leader = Server::start(&[]);
    let follower = Server::start(&[]);
    let (la, fa) = (Api::new(&leader), Api::new(&follower));
    assert_eq!(
        la.post("/_api/collection", json!({"name": "p"})).status,
        200
    );
    let r = la.post(
        "/_api/index?collection=p",
        json!({"type": "persistent", "fields": ["g"]}),
    );
    assert!(r.status < 300, "{}", r.body);
    let docs: Vec<Value> = (0..300)
        .map(|i| json!({"_key": format!("k{i}"), "g": i % 10}))
        .collect();
    insert_many(&la, "_system", "p", docs);
    // the initial sync brings documents and the index, then the applier tails what follows
    common::repl::follow(&la, &fa, &leader, json!({}));
    let r = query(
        &la,
        "FOR d IN p FILTER d.g == 3 LIMIT 5 UPDATE d WITH {g: 30} IN p",
        json!({}),
    );
    assert_eq!(r.body["extra"]["stats"]["writesExecuted"], 5, "{}", r.body);
    query(&la, "FOR d IN p FILTER d.g == 4 REMOVE d IN p", json!({}));
    common::repl::wait_converged(&la, &fa, "_system", 30);
    for q in [
        "FOR d IN p FILTER d.g == 3 SORT d._key RETURN d._key",
        "FOR d IN p FILTER d.g == 30 SORT d._key RETURN d._key",
        "FOR d IN p FILTER d.g == 4 RETURN d._key",
        "FOR d IN p FILTER d.g >= 8 SORT d._key RETURN d._key",
    ] {
        let (l, f) = (query(&la, q, json!({})), query(&fa, q, json!({})));
        assert_eq!(
            f.body["extra"]["stats"]["scannedFull"], 0,
            "{q}: {}",
            f.body
        );
        assert_eq!(l.body["result"], f.body["result"], "{q}");
    }
    assert_eq!(
        query(
            &fa,
            "RETURN LENGTH(FOR d IN p FILTER d.g == 3 RETURN 1)",
            json!({})
        )
        .body["result"],
        json!([25])
    );
}

#[test]
fn date_and_digest_functions() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    for (q, want) in [
        ("RETURN DATE_ISO8601(0)", json!("1970-01-01T00:00:00.000Z")),
        (
            "RETURN DATE_ISO8601(2024, 2, 29, 12, 30)",
            json!("2024-02-29T12:30:00.000Z"),
        ),
        (
            "RETURN DATE_TIMESTAMP('2024-02-29T12:30:15.500Z')",
            json!(1_709_209_815_500i64),
        ),
        (
            "RETURN DATE_TIMESTAMP('2024-02-29T13:30:15.500+01:00')",
            json!(1_709_209_815_500i64),
        ),
        ("RETURN DATE_TIMESTAMP('2023-02-29')", Value::Null),
        (
            "RETURN DATE_ADD('2023-01-31', 1, 'month')",
            json!("2023-02-28T00:00:00.000Z"),
        ),
        (
            "RETURN DATE_ADD('2024-01-01', 'P1DT2H')",
            json!("2024-01-02T02:00:00.000Z"),
        ),
        (
            "RETURN DATE_SUBTRACT('2024-03-01', 1, 'days')",
            json!("2024-02-29T00:00:00.000Z"),
        ),
        (
            "RETURN DATE_DIFF('2024-01-01', '2024-03-01', 'd')",
            json!(60),
        ),
        (
            "RETURN DATE_DIFF('2023-01-31', '2023-03-30', 'months')",
            json!(1),
        ),
        (
            "RETURN DATE_DIFF('2024-01-01T00:00:00Z', '2024-01-01T12:00:00Z', 'd', true)",
            json!(0.5),
        ),
        (
            "RETURN DATE_FORMAT('2024-02-29T12:30:15.5Z', '%yyyy-%mm-%dd %hh:%ii:%ss.%fff %www %mmmm')",
            json!("2024-02-29 12:30:15.500 Thu February"),
        ),
        (
            "RETURN [DATE_YEAR(0), DATE_MONTH(0), DATE_DAY(0), DATE_DAYOFWEEK(0), DATE_QUARTER('2024-08-01')]",
            json!([1970, 1, 1, 4, 3]),
        ),
        (
            "RETURN [DATE_ISOWEEK('2021-01-03'), DATE_LEAPYEAR('2000-06-01'), DATE_DAYS_IN_MONTH('2023-02-10')]",
            json!([53, true, 28]),
        ),
        (
            "RETURN DATE_TRUNC('2024-02-29T12:30:15.5Z', 'month')",
            json!("2024-02-01T00:00:00.000Z"),
        ),
        ("RETURN DATE_DAYOFYEAR('2024-12-31')", json!(366)),
        (
            "RETURN MD5('The quick brown fox jumps over the lazy dog')",
            json!("9e107d9d372bb6826bd81d3542a419d6"),
        ),
        (
            "RETURN SHA1('abc')",
            json!("a9993e364706816aba3e25717850c26c9cd0d89d"),
        ),
        (
            "RETURN DATE_NOW() > DATE_TIMESTAMP('2020-01-01')",
            json!(true),
        ),
    ] {
        assert_eq!(result(&api, q, json!({})), json!([want]), "{q}");
    }
}

#[test]
fn a_cursor_lives_as_long_as_its_ttl() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    let open = |ttl: Value| {
        api.post(
            "/_api/cursor",
            json!({"query": "FOR i IN 1..3 RETURN i", "batchSize": 1, "ttl": ttl, "options": {"stream": true}}),
        )
    };
    let short = open(json!(1));
    assert_eq!(short.status, 201, "{}", short.body);
    let long = open(json!(600));
    let (a, b) = (
        short.body["id"].as_str().unwrap().to_string(),
        long.body["id"].as_str().unwrap().to_string(),
    );
    assert_error(&open(json!("soon")), 400, 400);
    // the server sweeps every 5 s: by then the 1 s cursor is gone, the other one is not
    std::thread::sleep(std::time::Duration::from_millis(6500));
    assert_error(&api.put(&format!("/_api/cursor/{a}"), json!({})), 404, 1600);
    let r = api.put(&format!("/_api/cursor/{b}"), json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["result"], json!([2]));
}

#[test]
fn a_large_collection_scanned_by_two_threads_gives_every_row_in_key_order() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    assert_eq!(
        api.post("/_api/collection", json!({"name": "big"})).status,
        200
    );
    for b in 0..60 {
        let docs: Vec<Value> = (b * 1000..(b + 1) * 1000)
            .map(|i| json!({"_key": format!("{i}"), "n": i, "odd": i % 2 == 1}))
            .collect();
        insert_many(&api, "_system", "big", docs);
    }
    let r = api.post(
        "/_api/cursor",
        json!({"query": "FOR d IN big FILTER d.odd RETURN d._key", "batchSize": 100000}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let keys: Vec<String> = r.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 30_000);
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "rows in key order");
    sorted.dedup();
    assert_eq!(sorted.len(), 30_000, "each row once");
    assert_eq!(r.body["extra"]["stats"]["scannedFull"], 60_000);
    assert_eq!(r.body["extra"]["stats"]["filtered"], 30_000);
    assert_eq!(
        result(
            &api,
            "FOR d IN big FILTER d.n % 1000 == 7 RETURN d.n",
            json!({})
        )
        .as_array()
        .unwrap()
        .len(),
        60
    );
    // attributes read only after the filter are picked for the rows that pass it, in both halves
    assert_eq!(
        result(
            &api,
            "FOR d IN big FILTER d.n % 10000 == 3 RETURN {id: d._id, odd: d.odd}",
            json!({})
        ),
        json!(
            ["10003", "20003", "3", "30003", "40003", "50003"] // key order
                .map(|k| json!({"id": format!("big/{k}"), "odd": true}))
        )
    );
    // a COLLECT after such a loop: each thread groups its half, then the halves are merged
    assert_eq!(
        result(
            &api,
            "FOR d IN big COLLECT odd = d.odd AGGREGATE n = LENGTH(1), s = SUM(d.n), lo = MIN(d.n), hi = MAX(d.n), avg = AVERAGE(d.n), u = COUNT_DISTINCT(d.n % 3) RETURN {odd, n, s, lo, hi, avg, u}",
            json!({})
        ),
        json!([
            {"odd": false, "n": 30000, "s": 899_970_000i64, "lo": 0, "hi": 59998, "avg": 29999, "u": 3},
            {"odd": true, "n": 30000, "s": 900_000_000i64, "lo": 1, "hi": 59999, "avg": 30000, "u": 3}
        ])
    );
    assert_eq!(
        result(
            &api,
            "FOR d IN big FILTER d.n < 10 COLLECT k = d.n % 2 INTO g = d.n RETURN {k, g}",
            json!({})
        ),
        json!([{"k": 0, "g": [0, 2, 4, 6, 8]}, {"k": 1, "g": [1, 3, 5, 7, 9]}])
    );
    assert_eq!(
        result(
            &api,
            "FOR d IN big FILTER d.n >= 0 COLLECT WITH COUNT INTO n RETURN n",
            json!({})
        ),
        json!([60000])
    );
}

#[test]
fn a_subquery_sees_the_enclosing_variables_after_its_collect() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    people(&api);
    assert_eq!(
        result(
            &api,
            "FOR x IN [25, 31] LET c = (FOR p IN people FILTER p.age == x COLLECT city = p.city WITH COUNT INTO n RETURN {x, city, n}) RETURN c",
            json!({})
        ),
        json!([[{"x": 25, "city": "Bonn", "n": 1}], [{"x": 31, "city": "Köln", "n": 2}]])
    );
    assert_eq!(
        result(
            &api,
            "FOR x IN [1, 2] RETURN FIRST(FOR i IN 1..x COLLECT WITH COUNT INTO n RETURN [x, n])",
            json!({})
        ),
        json!([[1, 1], [2, 2]])
    );
}

#[test]
fn attributes_read_after_a_filter_are_the_documents_own() {
    let s = Server::start(&[]);
    let api = Api::new(&s);
    assert_eq!(
        api.post("/_api/collection", json!({"name": "p"})).status,
        200
    );
    let docs: Vec<Value> = (0..40)
        .map(|i| json!({"_key": format!("k{i:02}"), "a": i % 4, "b": format!("b{}", i % 3), "c": {"n": i}}))
        .collect();
    insert_many(&api, "_system", "p", docs);
    // the filter reads `a`; `_id` (made from `_key`), `b` and `c` are read only for the rows that pass
    let q = |query: &str| result(&api, query, json!({}));
    let whole =
        q("FOR d IN p LET e = d FILTER e.a == 1 AND e.c.n > 20 RETURN [e._id, e.b, e.c, e._key]");
    assert_eq!(whole.as_array().map(Vec::len), Some(5), "{whole}");
    assert_eq!(
        q("FOR d IN p FILTER d.a == 1 AND d.c.n > 20 RETURN [d._id, d.b, d.c, d._key]"),
        whole
    );
    // a fused LET between the filters, and a COLLECT after them
    assert_eq!(
        q(
            "FOR d IN p FILTER d.a == 1 LET x = d.c.n FILTER x > 20 RETURN [d._id, d.b, d.c, d._key]"
        ),
        whole
    );
    assert_eq!(
        q("FOR d IN p FILTER d.a == 1 COLLECT b = d.b WITH COUNT INTO n RETURN {b, n}"),
        json!([{"b": "b0", "n": 3}, {"b": "b1", "n": 4}, {"b": "b2", "n": 3}])
    );
    // after a rename, `_id` names the collection as it is called now
    assert_eq!(
        api.put("/_api/collection/p/rename", json!({"name": "q"}))
            .status,
        200
    );
    assert_eq!(
        q("FOR d IN q FILTER d.a == 3 LIMIT 2 RETURN d._id"),
        json!(["q/k03", "q/k07"])
    );
}
