//! Serving an axum router over HTTP/1.1, on plain TCP or behind TLS, with the limits every
//! mxsec HTTP endpoint needs: the web checker, the daemon's `/metrics` and the MTA-STS policy
//! host.
//!
//! - At most [`Limits::max_connections`] connections at once; more wait in the kernel's
//!   accept queue.
//! - A time limit for a request head ([`Limits::header_timeout`], also between requests on a
//!   kept-alive connection), so a slow client cannot hold a connection by trickling it, and a
//!   bound on the buffered head ([`Limits::max_buf_size`]).
//! - Behind TLS, a time limit for the handshake ([`Transport::Tls`]).
//!
//! Each request carries the client's address as axum's [`ConnectInfo`] (for rate limits) and,
//! behind TLS, the server name the client asked for as [`Sni`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// How long to wait after a failed `accept` (out of file descriptors and the like) rather
/// than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Bounds on what one client can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most connections served at once.
    pub max_connections: usize,
    /// The deadline for a request head, and for the next one on a kept-alive connection.
    pub header_timeout: Duration,
    /// The most octets of a request buffered at once (at least 8,192).
    pub max_buf_size: usize,
}

impl Limits {
    /// At most `max_connections` connections, ten seconds for a request head, and hyper's
    /// default buffer (about 400 KiB).
    pub fn connections(max_connections: usize) -> Self {
        Self {
            max_connections,
            header_timeout: Duration::from_secs(10),
            max_buf_size: 8192 + 4096 * 100,
        }
    }
}

/// What a connection goes through before HTTP.
#[derive(Clone)]
pub enum Transport {
    /// HTTP straight on TCP.
    Plain,
    /// HTTPS: the TLS handshake first, within `handshake_timeout`.
    Tls {
        /// The TLS server configuration.
        acceptor: TlsAcceptor,
        /// The deadline for the handshake.
        handshake_timeout: Duration,
    },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Plain => f.write_str("Plain"),
            Self::Tls {
                handshake_timeout, ..
            } => f
                .debug_struct("Tls")
                .field("handshake_timeout", handshake_timeout)
                .finish_non_exhaustive(),
        }
    }
}

/// The server name (SNI) a TLS client asked for; `None` without SNI or over plain TCP.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sni(pub Option<String>);

/// Serves `router` on `listener` until `shutdown` completes. Connections open at shutdown
/// are left to finish on the runtime.
///
/// # Errors
///
/// Never so far: the connection limit's semaphore is never closed; the `Result` leaves room
/// for listeners that can fail for good.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    transport: Transport,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => return Ok(()),
            permit = connections.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
        };
        let accepted = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                tracing::warn!("accept failed: {err}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let (router, transport) = (router.clone(), transport.clone());
        tokio::spawn(async move {
            match transport {
                Transport::Plain => connection(stream, peer, Sni(None), router, limits).await,
                Transport::Tls {
                    acceptor,
                    handshake_timeout,
                } => {
                    let Some(tls) = handshake(&acceptor, handshake_timeout, stream, peer).await
                    else {
                        return;
                    };
                    let sni = Sni(tls.get_ref().1.server_name().map(str::to_owned));
                    connection(tls, peer, sni, router, limits).await;
                }
            }
            drop(permit);
        });
    }
}

/// The TLS handshake with `peer`, or `None` (logged) when it fails or times out.
async fn handshake(
    acceptor: &TlsAcceptor,
    timeout: Duration,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(error)) => {
            tracing::debug!(%peer, %error, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}

/// Serves the requests of one connection.
async fn connection<S>(stream: S, peer: SocketAddr, sni: Sni, router: Router, limits: Limits)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = router.map_request(move |mut request: Request<_>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(sni.clone());
        request
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_buf_size)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    if let Err(err) = connection.await {
        tracing::debug!("connection from {peer}: {err}");
    }
}
