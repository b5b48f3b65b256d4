//! The shell as a user runs it: `arangorepl --javascript.execute-string` / `--javascript.execute` /
//! piped standard input against a real `arangorepl serve`, with arangosh's printing, errors and exit codes.

mod common;

use common::server::Server;
use std::io::Write;
use std::process::{Command, Output, Stdio};

struct Shell<'a> {
    server: &'a Server,
    password: &'a str,
}

impl Shell<'_> {
    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_arangorepl"));
        c.arg("--server.endpoint")
            .arg(format!("tcp://127.0.0.1:{}", self.server.port()))
            .arg("--server.password")
            .arg(self.password)
            .env("HOME", self.server.dir.as_os_str())
            .env("XDG_DATA_HOME", self.server.dir.join("xdg"));
        c
    }

    fn exec(&self, code: &str) -> Output {
        self.cmd()
            .arg("--javascript.execute-string")
            .arg(code)
            .output()
            .unwrap()
    }

    fn piped(&self, input: &str) -> Output {
        let mut child = self
            .cmd()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn server() -> Server {
    Server::start(&[])
}

#[test]
fn values_print_as_arangosh_prints_them() {
    let s = server();
    let sh = Shell {
        server: &s,
        password: "pw",
    };
    let o = sh.exec(
        r#"print({a:"123", b:[1,2,3]});
print({}, [], "raw", 1.5, null, undefined, true);
print({s: "x".repeat(300)}.s.length, {n: {s: "a\"b\n"}});
var x = {}; x.self = x; print(x);
print(db);
print(db._name());
stop_pretty_print(); print({a: [1, {b: 2}]}); start_pretty_print();
print(new (require("@arangodb").ArangoError)({errorNum: 1202, errorMessage: "document not found", code: 404}));"#,
    );
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    let expected = "{ \n  \"a\" : \"123\", \n  \"b\" : [ \n    1, \n    2, \n    3 \n  ] \n}\n\
{ \n} [ ] raw 1.5 null undefined true\n\
300 { \n  \"n\" : { \n    \"s\" : \"a\\\"b\\n\" \n  } \n}\n\
{ \n  \"self\" : ~ \n}\n\
[object ArangoDatabase \"_system\"]\n\
_system\n\
disabled pretty printing\n\
{ \"a\" : [ 1, { \"b\" : 2 } ] }\n\
using pretty printing\n\
[ArangoError 1202: document not found]\n";
    assert_eq!(out(&o), expected);
}

#[test]
fn collections_documents_and_errors() {
    let s = server();
    let sh = Shell {
        server: &s,
        password: "pw",
    };
    let o = sh.exec(
        r#"var c = db._create("five");
print(c.name(), c.type(), db.five === c, db._collection("nope"), db.nope);
print(c.insert({_key: "a", v: 1})._key);
var r = c.insert([{_key: "b"}, {_key: "a"}]);
print(r[0]._key, r[1].error, r[1].errorNum);
print(c.document("a").v, c.exists("zz"), c.count());
c.update("a", {w: 2}); print(JSON.stringify(c.document("a"), ["v", "w"]));
c.replace("a", {x: 3}); print(c.document("a").v, c.document("a").x);
c.remove("a"); print(c.exists("a"));
try { c.document("a"); } catch (e) { print(String(e), e.errorNum, e.code, e instanceof Error, e.name); }
try { db._create("five"); } catch (e) { print(e.errorNum, e.message); }
var errors = require("@arangodb").errors;
print(errors.ERROR_ARANGO_DUPLICATE_NAME.code, require("@arangodb").ERROR_ARANGO_DOCUMENT_NOT_FOUND);
print(arango.GET("/_api/collection/nope").errorNum, arango.GET_RAW("/_api/version").code);
var t = db._createTransaction({collections: {write: ["five"]}});
t.collection("five").insert({_key: "t1"});
print(c.count()); t.commit(); print(c.count());
print(c.ensureIndex({type: "persistent", fields: ["v"], unique: true, sparse: true}).isNewlyCreated, c.indexes().length);
c.rename("six"); print(db._collection("six").name(), db._collection("five"));
db._drop("six"); print(db._collection("six"));
print(db._createDatabase("other"), db._useDatabase("other"), db._name(), db._useDatabase("_system"), db._dropDatabase("other"));
try { db._useDatabase("nope"); } catch (e) { print(e.errorNum, db._name()); }
print(require("@arangodb/replication").compareTicks("10", "9"), require("@arangodb/replication-common").compareTicks(null, "0"));"#,
    );
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    let text = out(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        vec![
            "five 2 true null undefined",
            "a",
            "b true 1210",
            "1 false 2",
            "{\"v\":1,\"w\":2}",
            "undefined 3",
            "false",
            "ArangoError 1202: document not found 1202 404 true ArangoError",
            "1207 duplicate name: a collection named 'five' already exists",
            "1207 1202",
            "1203 200",
            "1",
            "2",
            "true 2",
            "six null",
            "null",
            "true true other true true",
            "1228 _system",
            "1 0",
        ]
    );
}

#[test]
fn exit_codes_and_uncaught_errors() {
    let s = server();
    let sh = Shell {
        server: &s,
        password: "pw",
    };
    assert_eq!(sh.exec("var x = 1").status.code(), Some(0));
    assert_eq!(sh.exec("0").status.code(), Some(0));
    // a non-zero number as the completion value fails, as in arangosh
    assert_eq!(sh.exec("x = 5").status.code(), Some(1));
    assert_eq!(
        sh.exec("require('internal').exit(3)").status.code(),
        Some(3)
    );
    let o = sh.exec("db._collection('nope'); db.nope.count()");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("ERROR JavaScript exception in file '(command-line)' at 1,28: TypeError"),
        "{}",
        err(&o)
    );
    let o = sh.exec("db._create('five'); db._create('five')");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("ArangoError 1207: duplicate name"),
        "{}",
        err(&o)
    );

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.js");
    let o = sh
        .cmd()
        .arg("--javascript.execute")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("JavaScript file not found"), "{}", err(&o));

    let bad = dir.path().join("bad.js");
    std::fs::write(&bad, "var x = ;\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_arangorepl"))
        .arg("--javascript.check-syntax")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("SyntaxError"), "{}", err(&o));
    let good = dir.path().join("good.js");
    std::fs::write(&good, "var x = 1;\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_arangorepl"))
        .arg("--javascript.check-syntax")
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
}

#[test]
fn scripts_get_arguments_and_require_files() {
    let s = server();
    let sh = Shell {
        server: &s,
        password: "pw",
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    std::fs::write(
        dir.path().join("lib/helper.js"),
        "exports.twice = function (x) { return 2 * x; };\nexports.dir = __dirname;\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("main.js"),
        "var h = require('./lib/helper');\nprint(h.twice(21), ARGUMENTS.join(','), typeof __filename);\nprint(require('./lib/helper.js') === h);\n",
    )
    .unwrap();
    let o = sh
        .cmd()
        .arg("--javascript.execute")
        .arg(dir.path().join("main.js"))
        .args(["one", "two"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    assert_eq!(out(&o), "42 one,two string\ntrue\n");
}

#[test]
fn piped_input_runs_command_by_command() {
    let s = server();
    let sh = Shell {
        server: &s,
        password: "pw",
    };
    let o = sh.piped("help\n");
    assert!(out(&o).contains("setupReplication"), "{}", out(&o));
    let o = sh.piped("db._name()\n1 + 1\nvar x = {\n  a: 1\n}\nx\n\nundefined\n");
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    assert_eq!(out(&o), "_system\n\n2\n\n\n{ \n  \"a\" : 1 \n}\n\n\n");
    // the last command failed: exit code 1, the error printed
    let o = sh.piped("db._name()\ndb._create('a b/c')\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out(&o).contains(
            "JavaScript exception in file '<shell command>' at 1,11: ArangoError 1208: illegal name"
        ) && out(&o).contains("!db._create('a b/c')\n!          ^\nstacktrace: "),
        "{}",
        out(&o)
    );
    // an error earlier does not matter if the last command succeeded
    let o = sh.piped("throw new Error('x')\n1\n");
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(
        out(&o).contains("JavaScript exception in file '<shell command>' at 1,7: Error: x"),
        "{}",
        out(&o)
    );
}

#[test]
fn wrong_password_and_unreachable_servers() {
    let s = server();
    let sh = Shell {
        server: &s,
        password: "wrong",
    };
    let o = sh.exec("print(arango.isConnected()); db._name()");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(out(&o), "false\n");
    assert!(
        err(&o).contains("ArangoError 2001: not connected"),
        "{}",
        err(&o)
    );
    assert!(!err(&o).contains("wrong") && !out(&o).contains("wrong"));
    // interactive-style input: the banner says why, every command fails, the shell goes on
    let o = sh.piped("db._name()\nprint('still here')\n");
    assert_eq!(o.status.code(), Some(0));
    assert!(
        out(&o).contains("at 1,9: ArangoError 2001: not connected"),
        "{}",
        out(&o)
    );
    assert!(out(&o).contains("still here"), "{}", out(&o));

    // nothing listens: not connected; reconnect to the right server works
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let o = Command::new(env!("CARGO_BIN_EXE_arangorepl"))
        .arg("--server.endpoint")
        .arg(format!("tcp://127.0.0.1:{port}"))
        .args(["--server.password", "pw", "--javascript.execute-string"])
        .arg(format!(
            "print(arango.isConnected()); try {{ db._name(); }} catch (e) {{ print(e.errorNum); }}\n\
             arango.reconnect('tcp://127.0.0.1:{}', '_system', 'root', 'pw'); print(db._name());\n\
             try {{ arango.reconnect('tcp://127.0.0.1:{port}', '_system', 'root', 'pw'); }} catch (e) {{ print(e.errorNum); }}",
            s.port()
        ))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    assert_eq!(out(&o), "false\n2001\n_system\n10\n");
    // an endpoint that is no endpoint is refused at start
    let o = Command::new(env!("CARGO_BIN_EXE_arangorepl"))
        .args([
            "--server.endpoint",
            "nonsense",
            "--javascript.execute-string",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("invalid endpoint 'nonsense'"),
        "{}",
        err(&o)
    );
}

#[test]
fn replication_module_sends_arangosh_requests() {
    let leader = server();
    let follower = server();
    let sh = Shell {
        server: &follower,
        password: "pw",
    };
    let lsh = Shell {
        server: &leader,
        password: "pw",
    };
    let o = lsh.exec("db._create('c'); db.c.insert([{_key: 'a'}, {_key: 'b'}]);");
    assert!(o.status.success(), "{}", err(&o));
    let o = sh.exec(&format!(
        r#"var r = require("@arangodb/replication");
var res = r.sync({{endpoint: "tcp://127.0.0.1:{port}", username: "root", password: "pw", verbose: false}});
print(typeof res.lastLogTick, res.collections.map(function (c) {{ return c.name; }}).indexOf("c") !== -1, db.c.count());
var id = r.sync({{endpoint: "tcp://127.0.0.1:{port}", username: "root", password: "pw", async: true}});
print(typeof id);
var result = false;
for (var i = 0; i < 200 && result === false; ++i) {{ result = r.getSyncResult(id); require("internal").sleep(0.05); }}
print(typeof result.lastLogTick);
r.applier.properties({{endpoint: "tcp://127.0.0.1:{port}", username: "root", password: "pw", autoStart: false}});
var props = r.applier.properties();
print(props.endpoint, props.autoStart, props.password === undefined, JSON.stringify(props).indexOf("pw") === -1);
print(r.applier.start(res.lastLogTick).state.running);
print(r.applier.state().state.running, r.applier.stop().state.running);
var st = r.setupReplication({{endpoint: "tcp://127.0.0.1:{port}", username: "root", password: "pw"}});
print(st.state.running, r.applier.properties().autoStart, r.applier.properties().includeSystem);
print(typeof r.serverId(), typeof r.logger.state().state.lastLogTick, typeof r.logger.firstTick());
try {{ r.syncGlobal({{endpoint: "tcp://127.0.0.1:{port}"}}); }} catch (e) {{ print(e.errorNum, e.message.indexOf("'_system'") !== -1); }}
try {{ r.applier.properties({{verbose: true}}); }} catch (e) {{ print(e.errorNum, e.message); }}
r.applier.forget();
print(r.applier.state().state.running);"#,
        port = leader.port()
    ));
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    let text = out(&o);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("still synchronizing"))
        .collect();
    assert_eq!(
        lines,
        vec![
            "string true 2",
            "string",
            "string",
            &format!("tcp://127.0.0.1:{} false true true", leader.port()),
            "true",
            "true false",
            "true true true",
            "string string string",
            // the server-level sync is refused while _system's own applier runs, naming it
            "1411 true",
            "1411 cannot perform operation while applier is running",
            "false",
        ],
        "{text}"
    );
}

/// A peer that answers the start-up probe, then cuts every later answer short (headers promise more body
/// than it sends, and it closes): each request fails with a transport error, the shell goes on.
#[test]
fn a_server_that_closes_mid_response() {
    use std::io::{BufRead, BufReader, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut answered_probe = false;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                // read one request head (no request bodies are sent before the cut)
                let mut head = String::new();
                let mut line = String::new();
                let mut length = 0usize;
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                if head.is_empty() {
                    break;
                }
                let mut body = vec![0u8; length];
                let _ = reader.read_exact(&mut body);
                if !answered_probe && head.contains("/_api/version") {
                    answered_probe = true;
                    let b = r#"{"server":"arango","version":"3.11.4","license":"community"}"#;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
                        b.len()
                    );
                    continue;
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"result\":",
                );
                let _ = stream.shutdown(std::net::Shutdown::Both);
                break;
            }
        }
    });
    let o = Command::new(env!("CARGO_BIN_EXE_arangorepl"))
        .arg("--server.endpoint")
        .arg(format!("tcp://127.0.0.1:{port}"))
        .args(["--server.password", "pw", "--javascript.execute-string"])
        .arg(
            "print(arango.isConnected());\n\
             var r = arango.GET('/_api/collection'); print(r.error, r.errorNum, typeof r.errorMessage);\n\
             try { db._collections(); } catch (e) { print('thrown', e.errorNum); }\n\
             print('goes on');\n\
             db._collections();",
        )
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
    assert_eq!(out(&o), "true\ntrue 2003 string\nthrown 2003\ngoes on\n");
    assert!(err(&o).contains("JavaScript exception"), "{}", err(&o));
}

/// Assertions for scripts: `eq(actual, expected, what)` compares JSON forms, `fails(f, errorNum, what)`
/// expects an error with that number; the script ends by printing how many checks passed.
const CHECKS: &str = r#"var __checks = 0;
function eq(actual, expected, what) {
  __checks++;
  var a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) { throw new Error(what + ": got " + a + ", expected " + e); }
}
function fails(f, num, what) {
  __checks++;
  try { f(); } catch (e) {
    if (e.errorNum !== num) { throw new Error(what + ": errorNum " + e.errorNum + " (" + e + "), expected " + num); }
    return e;
  }
  throw new Error(what + ": no error");
}
"#;

/// Runs `code` after [`CHECKS`] and expects `n` passed checks.
fn run_checks(sh: &Shell, code: &str, n: usize) -> String {
    let o = sh.exec(&format!(
        "{CHECKS}{code}\nprint('checks passed: ' + __checks);"
    ));
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    assert!(
        out(&o).contains(&format!("checks passed: {n}\n")),
        "{}{}",
        out(&o),
        err(&o)
    );
    out(&o)
}

#[test]
fn scripts_survive_100000_caught_errors() {
    let s = server();
    let sh = Shell {
        server: &s,
        password: "pw",
    };
    let code = r#"var AE = require("@arangodb").ArangoError;
function thrower(i) { throw new AE({errorNum: 1202, errorMessage: "document not found " + i}); }
function deeper(i) { return thrower(i); }
var caught = 0;
for (var i = 0; i < 100000; i++) { try { deeper(i); } catch (e) { if (e.errorNum === 1202) { caught++; } } }
eq(caught, 100000, "ArangoErrors thrown from functions and caught");
db._create("c"); db.c.save({_key: "dup"});
var dups = 0;
for (var j = 0; j < 1000; j++) { try { db.c.save({_key: "dup"}); } catch (e) { if (e.errorNum === 1210) { dups++; } } }
eq(dups, 1000, "server errors caught");
var plain = 0;
for (var k = 0; k < 100000; k++) { try { [1].map(function () { throw new Error("x"); }); } catch (e) { plain++; } }
eq(plain, 100000, "errors through native frames");"#;
    run_checks(&sh, code, 3);
}

#[test]
fn document_methods_take_every_handle_form() {
    let s = server();
    let sh = Shell {
        server: &s,
        password: "pw",
    };
    let code = r#"var c = db._create("c");
c.insert([{_key: "x1", v: 1}, {_key: "x2", v: 2}, {_key: "x3", v: 3}, {_key: "x4", v: 4}, {_key: "x5", v: 5}, {_key: "x6", v: 6}]);
// document: key, collection/key, {_id}, {_key}, by id prefix
eq(c.document("x3").v, 3, "document(key)");
eq(c.document("c/x3").v, 3, "document(c/key)");
eq(c.document({_id: "c/x3"}).v, 3, "document({_id})");
eq(c.document({_key: "x3"}).v, 3, "document({_key})");
eq(c.document(c._id + "/x3").v, 3, "document(<id>/key)");
eq(c.document(["x1", "c/x2", {_key: "x3"}, {_id: "c/x4"}]).map(function (d) { return d.v; }), [1, 2, 3, 4], "document([...])");
eq(db._document("c/x3").v, 3, "db._document(c/key)");
eq(db._document({_id: "c/x3"}).v, 3, "db._document({_id})");
// exists
eq(c.exists("c/x3")._key, "x3", "exists(c/key)");
eq(c.exists({_key: "x3"})._key, "x3", "exists({_key})");
eq(c.exists("c/none"), false, "exists(missing)");
eq(db._exists("c/x3")._key, "x3", "db._exists");
// update / replace in every form
c.update("c/x3", {a: 1}); eq(c.document("x3").a, 1, "update(c/key)");
c.update({_id: "c/x3"}, {b: 2}); eq(c.document("x3").b, 2, "update({_id})");
c.update({_key: "x3"}, {d: 3}); eq(c.document("x3").d, 3, "update({_key})");
db._update("c/x3", {e: 4}); eq(c.document("x3").e, 4, "db._update");
c.replace("c/x4", {r: 1}); eq(c.document("x4").r, 1, "replace(c/key)");
eq(c.document("x4").v, undefined, "replace drops old attributes");
db._replace({_id: "c/x4"}, {r: 2}); eq(c.document("x4").r, 2, "db._replace({_id})");
c.update(["x5", "c/x6"], [{u: 5}, {u: 6}]);
eq([c.document("x5").u, c.document("x6").u], [5, 6], "update([handles], [data])");
c.replace([{_key: "x5"}, {_id: "c/x6"}], [{w: 5}, {w: 6}]);
eq([c.document("x5").w, c.document("x6").u], [5, undefined], "replace([handles], [data])");
// a stale _rev in an object handle is a conflict
var stale = c.document("x3"); c.update("x3", {f: 5});
fails(function () { c.update(stale, {g: 1}); }, 1200, "update(stale object)");
// remove in every form
c.remove("c/x1"); eq(c.exists("x1"), false, "remove(c/key)");
c.remove(c.document("x2")); eq(c.exists("x2"), false, "remove(document)");
db._remove("c/x4"); eq(c.exists("x4"), false, "db._remove(c/key)");
var any = c.any(); c.remove(any); eq(c.exists(any._key), false, "remove(c.any())");
eq(c.count(), 2, "two left");
var rest = c.toArray();
c.remove(rest); eq(c.count(), 0, "remove([documents])");
// wrong handles
fails(function () { c.document("other/x1"); }, 1213, "another collection's handle");
fails(function () { c.document({}); }, 1205, "an object without _id or _key");
fails(function () { c.document("bad key"); }, 1205, "an illegal key");
fails(function () { db._document("nocollection/x"); }, 1203, "db._document of a missing collection");"#;
    run_checks(&sh, code, 32);
}

#[test]
fn fs_users_and_module_paths() {
    let s = server();
    let sh = Shell {
        server: &s,
        password: "pw",
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let code = format!(
        r#"var fs = require("fs");
var d = {d:?};
eq(fs.pathSeparator, "/", "pathSeparator");
eq(fs.join(d, "a", "b.txt"), d + "/a/b.txt", "join");
eq(fs.normalize("/x/./y/../z"), "/x/z", "normalize");
fs.makeDirectory(fs.join(d, "a"));
fails(function () {{ fs.makeDirectory(fs.join(d, "a")); }}, 27, "makeDirectory of an existing one");
fs.makeDirectoryRecursive(fs.join(d, "a", "deep", "er"));
eq(fs.write(fs.join(d, "a", "b.txt"), "hello"), true, "write");
fs.append(fs.join(d, "a", "b.txt"), " world");
eq(fs.read(fs.join(d, "a", "b.txt")), "hello world", "read");
eq(fs.readFileSync(fs.join(d, "a", "b.txt"), "utf8"), "hello world", "readFileSync");
eq(fs.size(fs.join(d, "a", "b.txt")), 11, "size");
eq(fs.mtime(fs.join(d, "a", "b.txt")) > 1700000000, true, "mtime");
eq([fs.exists(fs.join(d, "a")), fs.isDirectory(fs.join(d, "a")), fs.isFile(fs.join(d, "a")), fs.isFile(fs.join(d, "a", "b.txt"))], [true, true, false, true], "exists/isDirectory/isFile");
eq(fs.list(fs.join(d, "a")), ["b.txt", "deep"], "list");
eq(fs.listTree(fs.join(d, "a")), ["", "b.txt", "deep", "deep/er"], "listTree");
fs.copyFile(fs.join(d, "a", "b.txt"), fs.join(d, "a", "deep"));
eq(fs.read(fs.join(d, "a", "deep", "b.txt")), "hello world", "copyFile into a directory");
fs.move(fs.join(d, "a", "deep", "b.txt"), fs.join(d, "moved.txt"));
eq([fs.exists(fs.join(d, "moved.txt")), fs.exists(fs.join(d, "a", "deep", "b.txt"))], [true, false], "move");
fs.remove(fs.join(d, "moved.txt")); eq(fs.exists(fs.join(d, "moved.txt")), false, "remove");
var e = fails(function () {{ fs.read(fs.join(d, "nope.txt")); }}, 14, "read of a missing file");
eq(e.message.indexOf("nope.txt") !== -1, true, "the error names the file");
fails(function () {{ fs.removeDirectory(fs.join(d, "a")); }}, 2, "removeDirectory of a full one");
fs.removeDirectoryRecursive(fs.join(d, "a")); eq(fs.exists(fs.join(d, "a")), false, "removeDirectoryRecursive");
var t = fs.getTempFile("shelltest", true);
eq([t.indexOf(fs.getTempPath()) === 0, fs.isFile(t)], [true, true], "getTempFile");
fs.remove(t);
eq(typeof fs.home(), "string", "home");

var users = require("@arangodb/users");
eq(users.save("alice", "secret", true, {{team: "a"}}).user, "alice", "save");
eq(users.exists("alice"), true, "exists");
eq(users.exists("nobody"), false, "exists of a missing user");
eq(users.document("alice").extra, {{team: "a"}}, "document");
users.update("alice", undefined, false); eq(users.document("alice").active, false, "update");
users.replace("alice", "other", true, {{team: "b"}}); eq(users.document("alice").extra, {{team: "b"}}, "replace");
eq(users.all().map(function (u) {{ return u.user; }}).sort(), ["alice", "root"], "all");
db._create("c");
users.grantDatabase("alice", "_system", "ro"); eq(users.permission("alice", "_system"), "ro", "grantDatabase");
users.grantCollection("alice", "_system", "c", "rw"); eq(users.permission("alice", "_system", "c"), "rw", "grantCollection");
users.revokeCollection("alice", "_system", "c"); eq(users.permission("alice", "_system", "c"), "ro", "revokeCollection");
users.revokeDatabase("alice", "_system"); eq(users.permission("alice", "_system"), "none", "revokeDatabase");
eq(typeof users.permission("alice"), "object", "permission without a database");
users.reload();
users.remove("alice"); eq(users.exists("alice"), false, "remove");
fails(function () {{ users.document("alice"); }}, 1703, "a removed user");

// bare paths resolve from the current directory, with any extension
fs.makeDirectoryRecursive(fs.join(d, "tests", "js", "lib"));
fs.write(fs.join(d, "tests", "js", "lib", "helper.inc"), "exports.answer = 42;");
eq(require("tests/js/lib/helper.inc").answer, 42, "a bare relative path");
eq(require("./tests/js/lib/helper.inc").answer, 42, "the same with ./");
fails(function () {{ require("tests/js/lib/missing.inc"); }}, 10, "a missing module");"#
    );
    let o = sh
        .cmd()
        .current_dir(dir.path())
        .arg("--javascript.execute-string")
        .arg(format!(
            "{CHECKS}{code}\nprint('checks passed: ' + __checks);"
        ))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("checks passed: 38\n"), "{}", out(&o));
}

#[test]
fn transactions_views_wal_and_the_logger() {
    let s = server();
    let sh = Shell {
        server: &s,
        password: "pw",
    };
    let code = r#"db._create("c"); db._create("d");
// _executeTransaction: the action's writes commit together on return
var r = db._executeTransaction({
  collections: {write: ["c", "d"]},
  params: {n: 3},
  action: function (params) {
    var db = require("@arangodb").db;
    for (var i = 0; i < params.n; i++) { db.c.save({_key: "t" + i}); }
    db.d.save({_key: "other"});
    if (db.c.count() !== 3) { throw new Error("the transaction does not see its own writes"); }
    return "done";
  }
});
eq(r, "done", "the action's result");
eq([db.c.count(), db.d.count()], [3, 1], "committed");
// and nothing of them stays when it throws
try {
  db._executeTransaction({collections: {write: "c"}, action: function () { db.c.save({_key: "gone"}); throw new Error("changed my mind"); }});
} catch (e) { eq(e.message, "changed my mind", "the action's error"); }
eq(db.c.exists("gone"), false, "aborted");
eq(db._transactions(), [], "no transaction left running");
// an action given as source text
eq(db._executeTransaction({collections: {read: "c"}, action: "function () { return require('@arangodb').db.c.count(); }"}), 3, "string action");
fails(function () { db._executeTransaction({collections: {}}); }, 10, "no action");

// views: none, and none can be made
eq(db._views(), [], "_views");
eq(db._view("v"), null, "_view of a missing view");
fails(function () { db._createView("v", "arangosearch", {}); }, 9, "_createView");
eq(db._dropView("v"), undefined, "_dropView of a missing view");

// wal.flush
eq(require("internal").wal.flush(true, true).code, 200, "wal.flush");

// logger.lastLogTick(from, to): the entries after `from`
var rep = require("@arangodb/replication");
var tick = rep.logger.lastLogTick();
eq(typeof tick, "string", "lastLogTick()");
var trx = db._createTransaction({collections: {write: ["c"]}});
trx.collection("c").update("t0", {x: 1});
trx.collection("c").insert({_key: "t9"});
trx.commit();
var entries = rep.logger.lastLogTick(tick, rep.logger.lastLogTick());
eq(entries.map(function (m) { return m.type; }), [2200, 2300, 2300, 2201], "the transaction's markers");
eq(entries[1].cname, "c", "the collection's name");"#;
    run_checks(&sh, code, 15);
}
