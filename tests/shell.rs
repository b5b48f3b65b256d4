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
try {{ r.syncGlobal({{endpoint: "tcp://127.0.0.1:{port}"}}); }} catch (e) {{ print(e.errorNum); }}
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
            "9",
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
