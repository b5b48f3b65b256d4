//! TLS for `arangorepl serve` and `arangorepl proxy` on `ssl://` endpoints, with arangod's options
//! (`--ssl.keyfile`, `--ssl.cafile`, `--ssl.protocol`), on rustls with ring — the one TLS stack of the
//! binary, which the client side (reqwest) uses too.
//!
//! Handshakes run on their own tasks, so a slow or silent client delays nobody else; a failed handshake
//! is logged (at debug: scanners are common) and dropped.

use crate::error::{ArangoError, ArangoResult};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// arangod's `--ssl.*` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// `--ssl.keyfile`: PEM with the server's certificate (chain) and its private key.
    pub keyfile: PathBuf,
    /// `--ssl.cafile`: PEM with CA certificates; clients presenting a certificate must have one signed by
    /// them (clients without a certificate are still served, and authenticate as usual).
    pub cafile: Option<PathBuf>,
    /// `--ssl.protocol`: 5 = TLS 1.2 and later (the default), 6 = TLS 1.3 only, 9 = any TLS version
    /// rustls offers (1.2, 1.3). SSLv2/v3 and TLS 1.0/1.1 (1–4) are refused: rustls has none of them.
    pub protocol: u32,
}

/// The protocol versions `--ssl.protocol` allows.
fn versions(protocol: u32) -> ArangoResult<&'static [&'static rustls::SupportedProtocolVersion]> {
    static BOTH: &[&rustls::SupportedProtocolVersion] =
        &[&rustls::version::TLS13, &rustls::version::TLS12];
    static TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
    match protocol {
        5 | 9 => Ok(BOTH),
        6 => Ok(TLS13),
        1..=4 => Err(ArangoError::bad_parameter(format!(
            "--ssl.protocol {protocol} asks for SSLv2/SSLv3/TLS 1.0, which are insecure and not offered: \
             use 5 (TLS 1.2 and later), 6 (TLS 1.3) or 9 (any)"
        ))),
        _ => Err(ArangoError::bad_parameter(format!(
            "invalid --ssl.protocol {protocol}: expecting 5 (TLS 1.2 and later), 6 (TLS 1.3) or 9 (any)"
        ))),
    }
}

fn read_error(what: &str, path: &std::path::Path, e: impl std::fmt::Display) -> ArangoError {
    ArangoError::bad_parameter(format!("cannot read the {what} '{}': {e}", path.display()))
}

/// The certificates of a PEM file (`what` names it in errors; `none` says what is wrong without one).
fn certificates(
    path: &std::path::Path,
    what: &str,
    none: &str,
) -> ArangoResult<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| read_error(what, path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| read_error(what, path, e))?;
    if certs.is_empty() {
        return Err(read_error(what, path, none));
    }
    Ok(certs)
}

/// The rustls configuration for the options: certificate chain and key from the keyfile, protocol
/// versions, optional client certificates, HTTP/1.1.
pub fn server_config(o: &TlsOptions) -> ArangoResult<Arc<ServerConfig>> {
    crate::client::install_tls_provider();
    let what = "key file (--ssl.keyfile)";
    let certs = certificates(
        &o.keyfile,
        what,
        "it holds no PEM certificate (it must hold the certificate and the private key)",
    )?;
    let key = PrivateKeyDer::from_pem_file(&o.keyfile).map_err(|e| {
        read_error(
            what,
            &o.keyfile,
            format!("no private key in it ({e}); it must hold the certificate and the private key"),
        )
    })?;
    let builder = ServerConfig::builder_with_protocol_versions(versions(o.protocol)?);
    let builder = match &o.cafile {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let what = "CA file (--ssl.cafile)";
            for c in certificates(path, what, "it holds no PEM certificate")? {
                roots.add(c).map_err(|e| read_error(what, path, e))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
                .allow_unauthenticated()
                .build()
                .map_err(|e| read_error(what, path, e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        ArangoError::bad_parameter(format!(
            "the certificate and key in '{}' do not go together: {e}",
            o.keyfile.display()
        ))
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// How long a client may take for its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A listener handing out connections whose TLS handshake has completed.
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        let tls = TlsAcceptor::from(config);
        let acceptor = tokio::spawn(async move {
            loop {
                let (stream, addr) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // too many open files and the like: wait a little, as axum does
                        tracing::warn!("accepting a connection failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let (tls, tx) = (tls.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                        Ok(Ok(s)) => {
                            let _ = tx.send((s, addr)).await;
                        }
                        Ok(Err(e)) => tracing::debug!("TLS handshake with {addr} failed: {e}"),
                        Err(_) => tracing::debug!("TLS handshake with {addr} timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            rx,
            local,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(c) => c,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
