//! Benchmark of the shell (release build): prints figures, asserts nothing.
//!
//! `cargo bench --bench shell` (or `scripts/bench-shell.sh`). Against a release `arangorepl serve` on a free
//! loopback port: start-up to a ready prompt (the REPL in a pseudo-terminal), `--javascript.execute-string
//! 'db._version()'` end to end, `db.c.insert({})` × `BENCH_INSERTS` (default 10,000) in a script, and the
//! shell's RSS. `BENCH_RUNS` start-ups each (default 20).

#[path = "support/mod.rs"]
mod support;

use expectrl::{Expect, Session};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{env_usize, percentile, start_server, vm_mib};

fn shell(addr: &str) -> Command {
    let mut c = Command::new(support::binary());
    c.arg("--server.endpoint")
        .arg(format!("tcp://{addr}"))
        .args(["--server.password", ""]);
    c
}

fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    format!(
        "median {:.1} ms, p90 {:.1} ms, min {:.1} ms",
        percentile(&v, 0.5),
        percentile(&v, 0.9),
        v[0].as_secs_f64() * 1000.0
    )
}

fn main() {
    let runs = env_usize("BENCH_RUNS", 20);
    let inserts = env_usize("BENCH_INSERTS", 10_000);
    let (mut server, addr, _dir) = start_server(&[]);
    let home = tempfile::tempdir().unwrap();

    // --javascript.execute-string 'db._version()' end to end
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let o = shell(&addr)
            .args(["--javascript.execute-string", "db._version()"])
            .output()
            .unwrap();
        times.push(t.elapsed());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    println!(
        "--javascript.execute-string 'db._version()' end to end ({runs} runs): {}",
        summary(times)
    );

    // start-up to a ready prompt, and the idle shell's RSS
    let prompt = format!("{addr}@_system> ");
    let mut times = Vec::new();
    let mut rss = 0.0f64;
    for i in 0..runs {
        let mut cmd = shell(&addr);
        cmd.args(["--console.colors", "false", "--console.history", "false"])
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path());
        let t = Instant::now();
        let mut s = Session::spawn(cmd).unwrap();
        s.set_expect_timeout(Some(Duration::from_secs(10)));
        s.expect(prompt.as_str()).unwrap();
        times.push(t.elapsed());
        if i == 0 {
            std::thread::sleep(Duration::from_millis(200));
            rss = vm_mib(s.get_process().pid().as_raw() as u32, "VmRSS:");
        }
        s.send_line("exit").unwrap();
        let _ = s.get_process_mut().wait();
    }
    println!(
        "start-up to a ready prompt ({runs} runs): {}",
        summary(times)
    );
    println!("shell RSS at the prompt: {rss:.1} MiB");

    // db.c.insert({}) × N in a script
    let script = format!(
        "db._drop('c'); var c = db._create('c'); var t = require('internal').time();\n\
         for (var i = 0; i < {inserts}; ++i) {{ db.c.insert({{}}); }}\n\
         var s = require('internal').time() - t;\n\
         print(s);\n"
    );
    let mut child = shell(&addr)
        .args(["--javascript.execute-string", &script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let t = Instant::now();
    let mut peak = 0.0f64;
    while child.try_wait().unwrap().is_none() {
        peak = peak.max(vm_mib(pid, "VmHWM:"));
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = t.elapsed().as_secs_f64();
    let out = child.wait_with_output().unwrap();
    let secs: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(wall);
    println!(
        "db.c.insert({{}}) x {inserts} in a script: {:.0} ops/s ({secs:.2} s in the loop, {wall:.2} s end to end), shell peak RSS {peak:.1} MiB",
        inserts as f64 / secs
    );
    let _ = server.kill();
}
