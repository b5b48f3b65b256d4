//! TLS between real `arangorepl serve` processes and the shell, with a throw-away CA made here (rcgen):
//! a leader on `ssl://` (arangod's `--ssl.keyfile`), a follower syncing and tailing it while verifying its
//! certificate against a private CA (`--replication.ssl-cafile`), the shell over `ssl://`
//! (`--ssl.cafile`); a wrong CA, an expired certificate and a plain-HTTP client are refused.

mod common;

use common::api::Api;
use common::repl::*;
use common::server::Server;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    date_time_ymd,
};
use reqwest::Method;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Pki {
    dir: tempfile::TempDir,
}

/// A CA; returns its certificate PEM and an issuer for it.
fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = p.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(p, key))
}

/// A server certificate for 127.0.0.1 and localhost signed by `issuer`, with its key, as one PEM.
fn server_pem(issuer: &Issuer<'static, KeyPair>, expired: bool) -> String {
    let key = KeyPair::generate().unwrap();
    let mut p =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "arangorepl test");
    if expired {
        p.not_before = date_time_ymd(2020, 1, 1);
        p.not_after = date_time_ymd(2021, 1, 1);
    }
    let cert = p.signed_by(&key, issuer).unwrap();
    format!("{}{}", cert.pem(), key.serialize_pem())
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let (ca_pem, issuer) = ca("arangorepl test CA");
        let (other_pem, _) = ca("some other CA");
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("ca.pem", &ca_pem);
        write("other-ca.pem", &other_pem);
        write("server.pem", &server_pem(&issuer, false));
        write("expired.pem", &server_pem(&issuer, true));
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

fn ssl_server(pki: &Pki, keyfile: &str, extra: &[&str]) -> Server {
    let key = pki.arg(keyfile);
    let mut args = vec![
        "--server.endpoint",
        "ssl://127.0.0.1:0",
        "--ssl.keyfile",
        key.as_str(),
    ];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// A test client for an https server, trusting `ca`.
fn https_api(s: &Server, ca: &Path) -> Api {
    let pem = std::fs::read(ca).unwrap();
    let mut api = Api::new(s);
    api.c = reqwest::blocking::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(&pem).unwrap())
        .build()
        .unwrap();
    api
}

#[test]
fn a_follower_syncs_and_tails_a_tls_leader_verifying_its_certificate() {
    let pki = Pki::new();
    let leader = ssl_server(&pki, "server.pem", &[]);
    assert!(leader.url.starts_with("https://"), "{}", leader.url);
    let la = https_api(&leader, &pki.path("ca.pem"));
    assert_eq!(la.get("/_api/version").status, 200);
    let ca = pki.arg("ca.pem");
    let follower = Server::start(&["--replication.ssl-cafile", &ca]);
    let fa = Api::new(&follower);

    let r = la.post("/_api/collection", json!({"name": "c"}));
    assert_eq!(r.status, 200, "{}", r.body);
    insert_many(
        &la,
        "_system",
        "c",
        (0..3000)
            .map(|i| json!({"_key": format!("k{i}"), "n": i}))
            .collect(),
    );
    // initial sync and tailing over TLS
    let r = make_follower(&fa, "_system", &leader, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"]["running"], true, "{}", r.body);
    insert_many(
        &la,
        "_system",
        "c",
        (3000..3500)
            .map(|i| json!({"_key": format!("k{i}"), "n": i}))
            .collect(),
    );
    let r = la.delete("/_api/document/c/k1");
    assert!(r.status < 300, "{}", r.body);
    wait_converged(&la, &fa, "_system", 30);
    assert_eq!(fa.get("/_api/collection/c/count").body["count"], 3499);

    // a plain-HTTP request to the TLS port gets no answer
    let plain = reqwest::blocking::Client::new()
        .get(leader.url.replace("https://", "http://") + "/_api/version")
        .timeout(std::time::Duration::from_secs(5))
        .send();
    assert!(plain.is_err() || plain.unwrap().status() != 200);
}

#[test]
fn a_wrong_ca_and_an_expired_certificate_are_refused_with_a_clear_error() {
    let pki = Pki::new();
    let leader = ssl_server(&pki, "server.pem", &[]);
    let expired = ssl_server(&pki, "expired.pem", &[]);
    let (wrong, right) = (pki.arg("other-ca.pem"), pki.arg("ca.pem"));
    let quick = json!({"maxConnectRetries": 1, "connectionRetryWaitTime": 0.1,
                       "connectTimeout": 5, "requestTimeout": 5});

    // the system's roots alone do not know the private CA; nor does another CA
    for extra in [vec![], vec!["--replication.ssl-cafile", wrong.as_str()]] {
        let f = Server::start(&extra);
        let r = sync(&Api::new(&f), "_system", &leader, quick.clone());
        assert_eq!(r.status, 500, "{}", r.body);
        assert_eq!(r.body["errorNum"], 1400, "{}", r.body);
        let msg = r.body["errorMessage"].as_str().unwrap().to_lowercase();
        assert!(
            msg.contains("certificate") || msg.contains("issuer"),
            "{msg}"
        );
    }
    // the right CA, but the certificate expired
    let f = Server::start(&["--replication.ssl-cafile", &right]);
    let r = sync(&Api::new(&f), "_system", &expired, quick.clone());
    assert_eq!(r.body["errorNum"], 1400, "{}", r.body);
    let msg = r.body["errorMessage"].as_str().unwrap().to_lowercase();
    assert!(msg.contains("expired"), "{msg}");
    // and nothing leaked: the state holds no password
    let st = state(&Api::new(&f), "_system");
    assert!(!st.to_string().contains("\"pw\""), "{st}");

    // a server cannot start on ssl:// without a key file, or with a missing one
    let dir = tempfile::tempdir().unwrap();
    let refused = |extra: &[&str], says: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_arangorepl"))
            .args(["serve", "--server.endpoint", "ssl://127.0.0.1:0"])
            .args(extra)
            .arg("--database.directory")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
    };
    refused(&[], "--ssl.keyfile");
    refused(
        &["--ssl.keyfile", "/nonexistent/server.pem"],
        "/nonexistent/server.pem",
    );
}

fn shell(endpoint: &str, extra: &[&str], code: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_arangorepl"))
        .args(["--server.endpoint", endpoint, "--server.password", "pw"])
        .args(["--quiet", "true"])
        .args(extra)
        .args(["--javascript.execute-string", code])
        .output()
        .unwrap()
}

#[test]
fn the_shell_talks_to_a_tls_server_and_checks_its_certificate() {
    let pki = Pki::new();
    let s = ssl_server(&pki, "server.pem", &[]);
    let ep = endpoint(&s);
    let ca = pki.arg("ca.pem");
    let out = shell(
        &ep,
        &["--ssl.cafile", &ca],
        "db._create('t'); db.t.insert({_key: 'a'}); print(db._version(), db.t.count())",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("3.11") && stdout.trim_end().ends_with('1'),
        "{stdout}"
    );
    // without the CA: refused, saying why
    let out = shell(&ep, &[], "print(db._version())");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
    .to_lowercase();
    assert!(!all.contains("3.11.4"), "{all}");
    assert!(
        all.contains("certificate") || all.contains("issuer"),
        "{all}"
    );
    // --ssl.verify false: encrypted but unchecked, as arangosh
    let out = shell(&ep, &["--ssl.verify", "false"], "print(db._version())");
    assert!(String::from_utf8_lossy(&out.stdout).contains("3.11"));
    let api = https_api(&s, &pki.path("ca.pem"));
    let r = api.req(Method::GET, "/_api/collection/t/count", None, &[]);
    assert_eq!(r.body["count"], 1);
}

#[test]
fn the_proxy_serves_tls_and_reaches_a_tls_upstream_through_a_private_ca() {
    let pki = Pki::new();
    let leader = ssl_server(&pki, "server.pem", &[]);
    let upstream = ssl_server(
        &pki,
        "server.pem",
        &["--compat.arangodb-version", "3.12.10"],
    );
    let (ca, key) = (pki.arg("ca.pem"), pki.arg("server.pem"));
    let proxy = Server::proxy(
        &upstream,
        &[
            "--server.endpoint",
            "ssl://127.0.0.1:0",
            "--ssl.keyfile",
            &key,
            "--upstream.ssl-cafile",
            &ca,
            "--replication.ssl-cafile",
            &ca,
        ],
    );
    assert!(proxy.url.starts_with("https://"), "{}", proxy.url);
    let (la, ua, pa) = (
        https_api(&leader, &pki.path("ca.pem")),
        https_api(&upstream, &pki.path("ca.pem")),
        https_api(&proxy, &pki.path("ca.pem")),
    );
    // forwarded over TLS, answered by the upstream
    assert_eq!(pa.get("/_api/version").body["version"], "3.12.10");
    // the removed API, answered by the proxy, its applier reading a TLS leader into a TLS upstream
    let r = la.post("/_api/collection", json!({"name": "c"}));
    assert_eq!(r.status, 200, "{}", r.body);
    insert_many(
        &la,
        "_system",
        "c",
        (0..500).map(|i| json!({"_key": format!("k{i}")})).collect(),
    );
    let r = make_follower(&pa, "_system", &leader, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    insert_many(
        &la,
        "_system",
        "c",
        (500..600)
            .map(|i| json!({"_key": format!("k{i}")}))
            .collect(),
    );
    wait_converged(&la, &ua, "_system", 30);
}
