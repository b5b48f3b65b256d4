//! The interactive shell through a pseudo-terminal, typed at as a user types: the prompt, multi-line
//! input, tab completion, history recall and its file, Ctrl-C, errors, and leaving.

mod common;

use common::server::Server;
use expectrl::process::unix::WaitStatus;
use expectrl::{ControlCode, Expect, Session};
use std::process::Command;
use std::time::Duration;

fn spawn(server: &Server, home: &std::path::Path) -> expectrl::session::OsSession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_arangorepl"));
    cmd.arg("--server.endpoint")
        .arg(format!("tcp://127.0.0.1:{}", server.port()))
        .args(["--server.password", "pw", "--console.colors", "false"])
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("TERM", "xterm");
    let mut s = Session::spawn(cmd).expect("spawn the shell in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(20)));
    s
}

#[cfg(unix)]
#[test]
fn typing_at_the_prompt() {
    let server = Server::start(&[]);
    let home = tempfile::tempdir().unwrap();
    let prompt = format!("127.0.0.1:{}@_system> ", server.port());
    let mut s = spawn(&server, home.path());
    s.expect("Connected to ArangoDB 'http+tcp://127.0.0.1:")
        .unwrap();
    s.expect(prompt.as_str()).unwrap();

    // multi-line input continues with "...> " until the braces balance
    s.send_line("var x = {").unwrap();
    s.expect("...> ").unwrap();
    s.send_line("  a: 40 + 2 }").unwrap();
    s.expect(prompt.as_str()).unwrap();
    s.send_line("x.a").unwrap();
    s.expect("\n42\r\n").unwrap();
    s.expect(prompt.as_str()).unwrap();

    // a collection, then tab completion of its name after `db.`
    s.send_line("db._create('fivecoll').insert({_key: 'k'})._key")
        .unwrap();
    s.expect("\nk\r\n").unwrap();
    s.expect(prompt.as_str()).unwrap();
    s.send("db.fivec").unwrap();
    s.send(ControlCode::HorizontalTabulation).unwrap();
    s.send_line(".count()").unwrap();
    s.expect("\n1\r\n").unwrap();
    s.expect(prompt.as_str()).unwrap();

    // Ctrl-C drops the line being typed
    s.send("this is not code(").unwrap();
    s.send(ControlCode::EndOfText).unwrap();
    s.expect(prompt.as_str()).unwrap();
    s.send_line("'after ' + 'ctrl-c'").unwrap();
    s.expect("\nafter ctrl-c\r\n").unwrap();
    s.expect(prompt.as_str()).unwrap();

    // history: arrow up recalls the last command
    s.send("\x1b[A").unwrap();
    s.send_line("").unwrap();
    s.expect("\nafter ctrl-c\r\n").unwrap();
    s.expect(prompt.as_str()).unwrap();

    // an error is printed and the shell goes on
    s.send_line("db._collection('nope').count()").unwrap();
    s.expect(expectrl::Regex(
        "JavaScript exception in file '<shell command>' at 1,[0-9]+: TypeError",
    ))
    .unwrap();
    s.expect(prompt.as_str()).unwrap();
    s.send_line("db._name()").unwrap();
    s.expect("\n_system\r\n").unwrap();
    s.expect(prompt.as_str()).unwrap();

    s.send_line("exit").unwrap();
    s.expect("Bye").unwrap();
    let status = s.get_process_mut().wait().unwrap();
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");

    // the history file keeps the multi-line command whole, readable by the user only
    let path = home.path().join("data/arangorepl/history");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("var x = {"), "{text}");
    assert!(text.contains("x.a"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // a new session recalls the last one's commands
    let mut s = spawn(&server, home.path());
    s.expect(prompt.as_str()).unwrap();
    s.send("\x1b[A").unwrap();
    s.send_line("").unwrap();
    s.expect("exit").unwrap();
    s.expect("Bye").unwrap();
}

#[cfg(unix)]
#[test]
fn ctrl_d_leaves_and_a_failed_last_command_exits_1() {
    let server = Server::start(&[]);
    let home = tempfile::tempdir().unwrap();
    let prompt = format!("127.0.0.1:{}@_system> ", server.port());
    let mut s = spawn(&server, home.path());
    s.expect(prompt.as_str()).unwrap();
    s.send_line("throw new Error('last one fails')").unwrap();
    s.expect("at 1,7: Error: last one fails").unwrap();
    s.expect(prompt.as_str()).unwrap();
    s.send(ControlCode::EndOfTransmission).unwrap();
    s.expect("Bye").unwrap();
    let status = s.get_process_mut().wait().unwrap();
    assert!(matches!(status, WaitStatus::Exited(_, 1)), "{status:?}");
}

#[cfg(unix)]
#[test]
fn typeahead_and_pasted_snippets_are_not_lost() {
    let server = Server::start(&[]);
    let home = tempfile::tempdir().unwrap();
    let prompt = format!("127.0.0.1:{}@_system> ", server.port());
    let mut s = spawn(&server, home.path());
    s.expect(prompt.as_str()).unwrap();
    // three commands typed ahead in one go: all three run
    s.send("'one' + 1\r'two' + 2\r'three' + 3\r").unwrap();
    s.expect("\none1\r\n").unwrap();
    s.expect("\ntwo2\r\n").unwrap();
    s.expect("\nthree3\r\n").unwrap();
    // a multi-line snippet pasted by a terminal (bracketed paste), with a transcript's prompts in it
    s.send("\x1b[200~arangosh> var cfg = {\r...>   endpoint: 'tcp://x:1',\r...>   n: 41 + 1\r...> };\r\x1b[201~\r")
        .unwrap();
    s.expect(prompt.as_str()).unwrap();
    s.send_line("cfg.n").unwrap();
    s.expect("\n42\r\n").unwrap();
    s.send_line("exit").unwrap();
    s.expect("Bye").unwrap();
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_running_command_not_the_shell() {
    let server = Server::start(&[]);
    let home = tempfile::tempdir().unwrap();
    let prompt = format!("127.0.0.1:{}@_system> ", server.port());
    let mut s = spawn(&server, home.path());
    s.expect(prompt.as_str()).unwrap();
    // a command that would wait for a minute
    // it says when it runs, so Ctrl-C comes during the command, not before it (at the prompt)
    s.send_line("print('sleeping ' + 'now'); require('internal').sleep(60); 'not reached'")
        .unwrap();
    s.expect("sleeping now").unwrap();
    let t = std::time::Instant::now();
    s.send(ControlCode::EndOfText).unwrap();
    s.expect("command locally aborted").unwrap();
    s.expect(prompt.as_str()).unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    s.send_line("'still ' + 'here'").unwrap();
    s.expect("\nstill here\r\n").unwrap();
    s.send_line("exit").unwrap();
    s.expect("Bye").unwrap();
}

#[test]
fn watch_reevaluates_an_expression_until_ctrl_c() {
    let server = Server::start(&[]);
    let home = tempfile::tempdir().unwrap();
    let prompt = format!("127.0.0.1:{}@_system> ", server.port());
    let mut s = spawn(&server, home.path());
    s.expect(prompt.as_str()).unwrap();
    s.send_line("var n = 0").unwrap();
    s.expect(prompt.as_str()).unwrap();
    s.send_line(".watch 0.2 'round ' + (++n)").unwrap();
    s.expect("Every 0.2s: 'round ' + (++n)").unwrap();
    s.expect("round 1").unwrap();
    s.expect("round 2").unwrap();
    s.expect("round 3").unwrap();
    s.send(ControlCode::EndOfText).unwrap();
    s.expect(prompt.as_str()).unwrap();
    // the watch ended: the counter no longer moves
    std::thread::sleep(Duration::from_millis(500));
    s.send_line("'n is ' + (n < 100 ? 'small' : 'big')")
        .unwrap();
    s.expect("n is small").unwrap();
    s.send_line(".watch").unwrap();
    s.expect("usage: .watch SECONDS EXPRESSION").unwrap();
    // an error ends it too
    s.send_line(".watch 0.2 nosuchthing").unwrap();
    s.expect("nosuchthing is not defined").unwrap();
    s.expect(prompt.as_str()).unwrap();
    s.send_line("exit").unwrap();
    s.expect("Bye").unwrap();
}

#[test]
fn a_sync_on_a_terminal_shows_a_progress_bar() {
    let leader = Server::start(&[]);
    let follower = Server::start(&[]);
    let la = common::api::Api::new(&leader);
    for c in ["c0", "c1", "c2", "c3"] {
        let r = la.post("/_api/collection", serde_json::json!({"name": c}));
        assert_eq!(r.status, 200, "{}", r.body);
        common::repl::insert_many(
            &la,
            "_system",
            c,
            (0..25_000)
                .map(|i| serde_json::json!({"_key": format!("k{i}"), "pad": "x".repeat(100)}))
                .collect(),
        );
    }
    let home = tempfile::tempdir().unwrap();
    let prompt = format!("127.0.0.1:{}@_system> ", follower.port());
    let mut s = spawn(&follower, home.path());
    s.expect(prompt.as_str()).unwrap();
    s.send_line(format!(
        "require('@arangodb/replication').sync({{endpoint: '{}', username: 'root', \
         password: 'pw', includeSystem: false}}).collections.length",
        common::repl::endpoint(&leader)
    ))
    .unwrap();
    // the bar (standard error is the terminal too): collections done of the total, documents,
    // megabytes and the rate
    s.expect(" collections").unwrap();
    s.expect(" docs, ").unwrap();
    s.expect("/s").unwrap();
    s.expect("4\r\n").unwrap();
    s.expect(prompt.as_str()).unwrap();
    s.send_line("exit").unwrap();
    s.expect("Bye").unwrap();
}
