//! A network service (`serve`, `proxy`) running on its own runtime and threads inside this process, as
//! the demo runs them: started, told where it listens, stopped on request.

use crate::endpoint::{Endpoint, Transport};
use crate::error::{ArangoError, ArangoResult};
use std::future::Future;
use std::pin::Pin;

/// How a service reports that it listens (or why it could not).
pub type Ready = std::sync::mpsc::Sender<ArangoResult<Endpoint>>;

/// What a service runs until: the owner's stop request.
pub type Stop = Pin<Box<dyn Future<Output = ()> + Send>>;

/// `axum::serve` of `$service` on a [`Bound`] listener until `$stop` resolves (an expression awaiting
/// the server's end). A macro, not a function: the two listener types make two different `serve` calls.
macro_rules! serve_on {
    ($bound:expr, $service:expr, $stop:expr) => {
        match $bound {
            $crate::service::Bound::Plain(l) => {
                // Responses go out at once: no Nagle delay for small answers on keep-alive
                // connections.
                let l = axum::serve::ListenerExt::tap_io(l, |tcp: &mut tokio::net::TcpStream| {
                    let _ = tcp.set_nodelay(true);
                });
                axum::serve(l, $service).with_graceful_shutdown($stop).await
            }
            // (TLS connections get no-delay before their handshake)
            $crate::service::Bound::Tls(l) => {
                axum::serve(l, $service).with_graceful_shutdown($stop).await
            }
        }
    };
}
pub(crate) use serve_on;

/// A bound listener: plain TCP, or TLS for `ssl://` endpoints.
pub enum Bound {
    Plain(tokio::net::TcpListener),
    Tls(crate::tls::TlsListener),
}

/// Listens on `endpoint` (`tcp://`, or `ssl://` with `tls`, built once by [`crate::tls::server_config`]);
/// returns the listener and the endpoint it is bound to (the free port taken for port 0).
pub async fn listen(
    endpoint: &Endpoint,
    tls: Option<&std::sync::Arc<rustls::ServerConfig>>,
) -> ArangoResult<(Bound, Endpoint)> {
    let (host, port, secure) = match &endpoint.transport {
        Transport::Tcp { host, port } => (host.clone(), *port, false),
        Transport::Ssl { host, port } => (host.clone(), *port, true),
        Transport::Unix { .. } => {
            return Err(ArangoError::bad_parameter(format!(
                "unix:// endpoints are not supported here ({endpoint}); use tcp:// or ssl://"
            )));
        }
    };
    let config = match (secure, tls) {
        (true, Some(c)) => Some(c.clone()),
        (true, None) => {
            return Err(ArangoError::bad_parameter(format!(
                "{endpoint} needs a certificate and key: --ssl.keyfile <PEM file with both>"
            )));
        }
        (false, _) => None,
    };
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .map_err(|e| ArangoError::bad_parameter(format!("cannot listen on {endpoint}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| ArangoError::internal(e.to_string()))?;
    let (host, port) = (bound.ip().to_string(), bound.port());
    match config {
        Some(c) => {
            let l = crate::tls::TlsListener::new(listener, c)
                .map_err(|e| ArangoError::internal(e.to_string()))?;
            Ok((
                Bound::Tls(l),
                Endpoint {
                    transport: Transport::Ssl { host, port },
                },
            ))
        }
        None => Ok((
            Bound::Plain(listener),
            Endpoint {
                transport: Transport::Tcp { host, port },
            },
        )),
    }
}

/// A service running inside this process.
pub struct Handle {
    /// The endpoint it listens on (the port it was given, or the free one it took for port 0).
    pub endpoint: Endpoint,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<ArangoResult<()>>>,
}

impl Handle {
    /// Stops the service the way SIGTERM does, and waits for it.
    pub fn stop(mut self) -> ArangoResult<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> ArangoResult<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(ArangoError::internal("the service thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Runs `run(ready, stop)` on a runtime of two worker threads named after `name`; returns once it
/// reported that it listens.
pub fn spawn<F, Fut>(name: &str, run: F) -> ArangoResult<Handle>
where
    F: FnOnce(Ready, Stop) -> Fut + Send + 'static,
    Fut: Future<Output = ArangoResult<()>>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .thread_name(name)
        .build()
        .map_err(|e| ArangoError::internal(format!("cannot start the runtime: {e}")))?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(format!("{name}-main"))
        .spawn(move || {
            let stop: Stop = Box::pin(async move {
                let _ = stop_rx.await;
            });
            let tx = ready_tx.clone();
            let r = rt.block_on(run(ready_tx, stop));
            if let Err(e) = &r {
                let _ = tx.send(Err(e.clone()));
            }
            r
        })
        .map_err(|e| ArangoError::internal(format!("cannot start the {name} thread: {e}")))?;
    let mut handle = Handle {
        endpoint: Endpoint {
            transport: Transport::Tcp {
                host: String::new(),
                port: 0,
            },
        },
        stop: Some(stop_tx),
        thread: Some(thread),
    };
    match ready_rx.recv() {
        Ok(Ok(ep)) => {
            handle.endpoint = ep;
            Ok(handle)
        }
        Ok(Err(e)) => {
            let _ = handle.shutdown();
            Err(e)
        }
        Err(_) => Err(handle
            .shutdown()
            .err()
            .unwrap_or_else(|| ArangoError::internal("the service stopped before it listened"))),
    }
}
