//! Starts real `arangorepl serve` processes on free loopback ports with temporary data directories.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; killed (SIGKILL) when dropped unless stopped before.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts a server with a fresh directory and root password "pw".
    pub fn start(extra: &[&str]) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut s = Server::start_in(&dir, extra);
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server on an existing directory.
    pub fn start_in(dir: &Path, extra: &[&str]) -> Server {
        Server::start_at(dir, 0, extra)
    }

    /// Starts a server on an existing directory and a given port (0: any free port).
    pub fn start_at(dir: &Path, port: u16, extra: &[&str]) -> Server {
        let mut args: Vec<String> = vec!["serve".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        Server::launch(dir, port, &args)
    }

    /// Starts `arangorepl proxy` in front of `upstream` (its root user, password "pw"), keeping its
    /// configurations in `dir`.
    pub fn proxy_at(dir: &Path, port: u16, upstream: &Server, extra: &[&str]) -> Server {
        let mut args: Vec<String> = vec![
            "proxy".into(),
            "--upstream.endpoint".into(),
            upstream
                .url
                .replace("http://", "tcp://")
                .replace("https://", "ssl://"),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        Server::launch(dir, port, &args)
    }

    /// A proxy with a fresh directory.
    pub fn proxy(upstream: &Server, extra: &[&str]) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = Server::proxy_at(tmp.path(), 0, upstream, extra);
        s._tmp = Some(tmp);
        s
    }

    /// Runs `arangorepl <args…>` with the test defaults (endpoint unless `args` give one, directory, log
    /// level).
    fn launch(dir: &Path, port: u16, args: &[String]) -> Server {
        let endpoint: Vec<String> = if args.iter().any(|a| a == "--server.endpoint") {
            Vec::new()
        } else {
            vec![
                "--server.endpoint".into(),
                format!("tcp://127.0.0.1:{port}"),
            ]
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_arangorepl"))
            .arg(&args[0])
            .args(&endpoint)
            .arg("--database.directory")
            .arg(dir)
            .args(["--log.level", "warning"])
            .args(&args[1..])
            .env("ARANGODB_DEFAULT_ROOT_PASSWORD", "pw")
            .env("ARANGOREPL_UPSTREAM_PASSWORD", "pw")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start arangorepl");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                if let Some(pos) = line.find("tcp://").or_else(|| line.find("ssl://")) {
                    let ep = line[pos..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let _ = tx.send(ep);
                }
                line.clear();
            }
        });
        let ep = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server printed its endpoint");
        let url = match ep.strip_prefix("ssl://") {
            Some(a) => format!("https://{a}"),
            None => format!("http://{}", ep.trim_start_matches("tcp://")),
        };
        Server {
            child,
            url,
            dir: dir.to_path_buf(),
            _tmp: None,
        }
    }

    /// SIGTERM and wait; returns the exit status code.
    pub fn terminate(&mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL and wait.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// Takes the temporary directory out, so it outlives this server (for restarts).
    pub fn keep_dir(&mut self) -> Option<tempfile::TempDir> {
        self._tmp.take()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
