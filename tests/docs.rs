//! The documentation's replication snippets, verbatim (`tests/docs/`), run in the page's order through
//! `arangorepl demo --javascript.execute`: the leader and follower of the demo, the documentation's host
//! names and user, then a write on the leader that must reach the follower.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/docs")
}

fn snippets(page: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(docs_dir().join(page))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "js"))
        .collect();
    files.sort();
    files
}

fn support(name: &str) -> PathBuf {
    docs_dir().join("support").join(name)
}

/// `arangorepl demo` running the files in order, as one script session.
fn demo(files: &[PathBuf]) -> Output {
    demo_with(&[], files)
}

/// The same with demo options (`--follower proxy`).
fn demo_with(options: &[&str], files: &[PathBuf]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_arangorepl"));
    cmd.arg("demo").args(options).args(["--log.level", "error"]);
    for f in files {
        cmd.arg("--javascript.execute").arg(f);
    }
    cmd.output().expect("run arangorepl demo")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

#[test]
fn per_database_setup_runs_verbatim_and_the_follower_follows() {
    let mut files = vec![support("configuration.js")];
    files.extend(snippets("per-database-setup"));
    files.push(support("check-follows.js"));
    let out = demo(&files);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    // the async sync snippet prints getSyncResult(id) at once: false while the sync runs, else its result
    assert!(
        stdout.contains("false\n") || stdout.contains("\"lastLogTick\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("applier running: true, lastError: 0"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("follower has written_after_setup: 2 documents"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("follower test count: 4 (leader 4)"),
        "{stdout}\n{stderr}"
    );
    assert!(
        !stdout.contains("mypasswd") && !stderr.contains("mypasswd"),
        "a password was printed:\n{stdout}\n{stderr}"
    );
}

#[test]
fn per_database_setup_runs_verbatim_through_a_proxy_in_front_of_3_12_10() {
    let mut files = vec![support("configuration.js")];
    files.extend(snippets("per-database-setup"));
    files.push(support("check-follows.js"));
    files.push(support("check-upstream.js"));
    let out = demo_with(&["--follower", "proxy"], &files);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for expected in [
        "applier running: true, lastError: 0",
        "follower has written_after_setup: 2 documents",
        "follower test count: 4 (leader 4)",
        // read directly from the server behind the proxy
        "upstream version: 3.12.10",
        "upstream applier-state: HTTP 404",
        "upstream has read-upstream: true",
        "upstream test count: 5 (leader 5)",
        "upstream written_after_setup: 2 documents",
    ] {
        assert!(
            stdout.contains(expected),
            "missing '{expected}':\n{stdout}\n{stderr}"
        );
    }
    assert!(
        !stdout.contains("mypasswd") && !stderr.contains("mypasswd"),
        "a password was printed:\n{stdout}\n{stderr}"
    );
}

#[test]
fn the_pages_tick_with_require_from_present_stops_with_1414() {
    let mut files = vec![support("configuration.js")];
    files.extend(snippets("per-database-setup"));
    files.push(support("require-from-present.js"));
    let out = demo(&files);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("running: false, errorNum: 1414"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("required ongoing tick value '40694126' is not present"),
        "{stdout}"
    );
}

#[test]
fn syncing_collections_runs_verbatim() {
    let mut files = snippets("syncing-collections");
    files.push(support("check-collection.js"));
    let out = demo(&files);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("test: follower 3 documents, checksums equal: true"),
        "{stdout}\n{stderr}"
    );
}

/// The server-level page's `syncGlobal` snippets between a stop of the server-level applier and a
/// check of what they copied: a database created on the leader and one dropped there follow with the
/// next `syncGlobal`.
#[test]
fn server_level_sync_snippets_run_verbatim() {
    let page = snippets("server-level-setup");
    let pick = |prefix: &str| {
        page.iter()
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .unwrap()
            .clone()
    };
    let files = vec![
        support("server-level-before.js"),
        pick("03-"),
        pick("04-"),
        pick("05-"),
        pick("06-"),
        pick("08-"),
        support("check-server-level-sync.js"),
    ];
    let out = demo(&files);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("follower databases: [\"_system\",\"tenant\"]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("follower databases after: [\"_system\",\"tenant2\"]"),
        "{stdout}"
    );
    assert!(stdout.contains("tenant2 items: 1"), "{stdout}");
    assert!(
        stdout.contains(
            "global applier endpoint: tcp://leader.domain.org:8529, password shown: false"
        ),
        "{stdout}"
    );
}

/// The whole server-level page, in order: `setupReplicationGlobal` with the page's configuration and
/// with its `tcp://127.0.0.1:8529` (the demo's leader in the demo), stop, `syncGlobal` blocking and
/// async, `globalApplier.properties(...)`, `globalApplier.start("40694126")` (before the leader's first
/// tick: with the page's `requireFromPresent: false` it goes on from the leader's oldest change) and
/// `globalApplier.state()`; then a database created on the leader with a collection and documents
/// appears on the follower, and a dropped one disappears.
#[test]
fn server_level_setup_runs_verbatim_and_the_follower_follows_every_database() {
    let mut files = vec![
        support("configuration.js"),
        support("server-level-before.js"),
    ];
    files.extend(snippets("server-level-setup"));
    files.push(support("check-server-level-follows.js"));
    let out = demo(&files);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for expected in [
        "global applier running: true, lastError: 0",
        "follower databases after: [\"_system\",\"tenant3\"]",
        "tenant3 invoices: 1000",
        "password shown: false",
    ] {
        assert!(
            stdout.contains(expected),
            "missing '{expected}':\n{stdout}\n{stderr}"
        );
    }
    assert!(
        !stdout.contains("mypasswd") && !stderr.contains("mypasswd"),
        "a password was printed:\n{stdout}\n{stderr}"
    );
}

/// The files are the pages' JavaScript blocks, byte for byte — checked when `ARANGOREPL_DOC_PAGES`
/// names a directory holding the pages (`per-database-setup.md`, `syncing-collections.md`,
/// `server-level-setup.md`).
#[test]
fn snippets_are_the_pages_blocks() {
    let Some(pages) = std::env::var_os("ARANGOREPL_DOC_PAGES").map(PathBuf::from) else {
        eprintln!("skipped: ARANGOREPL_DOC_PAGES does not name the documentation pages");
        return;
    };
    assert!(
        pages.is_dir(),
        "ARANGOREPL_DOC_PAGES: {} is not a directory",
        pages.display()
    );
    for (page, dir) in [
        ("per-database-setup.md", "per-database-setup"),
        ("syncing-collections.md", "syncing-collections"),
        ("server-level-setup.md", "server-level-setup"),
    ] {
        let md = std::fs::read_to_string(pages.join(page)).unwrap();
        let blocks: Vec<&str> = md
            .split("```js\n")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            // a printed result, not code
            .filter(|b| !b.contains("  ...\n"))
            .collect();
        let files: Vec<String> = snippets(dir)
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert_eq!(files, blocks, "{page}");
    }
}

/// `--database.directory` keeps both servers' data: a second demo on it finds the follower's applier
/// resuming by itself (autoStart), although the servers got new ports — the documentation's host names
/// lead to them again.
#[test]
fn the_demo_keeps_its_data_and_resumes_replication() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let setup = dir.path().join("setup.js");
    std::fs::write(
        &setup,
        r#"require("@arangodb/replication").setupReplication({endpoint: "tcp://leader.domain.org:8529", username: "myuser", password: "mypasswd", includeSystem: false});
print("after setup: " + db.test.count());"#,
    )
    .unwrap();
    let again = dir.path().join("again.js");
    std::fs::write(
        &again,
        r#"var internal = require("internal");
arango.reconnect("tcp://leader.domain.org:8529", "_system", "myuser", "mypasswd");
db.test.insert({_key: "second-run"});
arango.reconnect("tcp://follower.domain.org:8530", "_system", "root", "");
for (var i = 0; i < 200 && !db.test.exists("second-run"); ++i) { internal.sleep(0.05); }
print("applier running: " + require("@arangodb/replication").applier.state().state.running +
      ", follower has the new document: " + (db.test.exists("second-run") !== false));"#,
    )
    .unwrap();
    let run = |script: &Path| {
        Command::new(env!("CARGO_BIN_EXE_arangorepl"))
            .args(["demo", "--log.level", "error", "--database.directory"])
            .arg(&data)
            .arg("--javascript.execute")
            .arg(script)
            .output()
            .unwrap()
    };
    let o = run(&setup);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("after setup: 3"), "{stdout}");
    let o = run(&again);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("applier running: true, follower has the new document: true"),
        "{stdout}\n{stderr}"
    );
    assert!(data.join("leader").is_dir() && data.join("follower").is_dir());
}
