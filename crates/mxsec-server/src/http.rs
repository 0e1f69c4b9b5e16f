//! Serving an axum router over HTTP/1.1 with the limits every mxsec HTTP endpoint needs:
//! `mxsec web` and the daemon's `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until the process ends: HTTP/1.1, at most `max_connections`
/// connections at once (more wait in the kernel's accept queue), a time limit for request headers (slow clients cannot hold a connection
/// open by trickling them), and the client address for the rate limit.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    max_connections: usize,
) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(max_connections));
    loop {
        let permit = connections
            .clone()
            .acquire_owned()
            .await
            .map_err(std::io::Error::other)?;
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!("accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = router.clone().map_request(move |mut request: Request<_>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            if let Err(err) = connection.await {
                tracing::debug!("connection from {peer}: {err}");
            }
            drop(permit);
        });
    }
}
