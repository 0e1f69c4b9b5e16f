//! The socketmap server: one accept loop for any [`Listener`] (TCP or a Unix socket), and the
//! loop that answers the requests of one connection (PFX-01; POSTFIX.md §4.4).
//!
//! A connection carries any number of requests. Requests are read as soon as they arrive and
//! answered concurrently, up to `limits.max_pipeline` at a time, but the replies go out in
//! the order of the requests, as Postfix and Sendmail expect. A request that is not a
//! netstring `<map> <key>` of at most [`MAX_REQUEST_LEN`] octets is logged and closes the
//! connection once the earlier requests are answered: the stream has lost its framing. A
//! connection silent for `limits.idle_timeout` is closed.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::{FuturesOrdered, StreamExt};
use futures::FutureExt;
use mxsec_proto::postfix::netstring::NetstringDecoder;
use mxsec_proto::postfix::socketmap::{RequestError, SocketmapRequest, MAX_REQUEST_LEN};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use super::metrics::AnswerKind;
use super::service::Shared;
use super::shutdown::stopped;

/// How long to wait after a failed `accept` (out of file descriptors and the like) rather
/// than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A listening socket that socketmap connections arrive on: TCP or a Unix socket.
pub(crate) trait Listener: Send + 'static {
    /// A connection.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The next connection, set up for small request/reply exchanges.
    fn accept(&self) -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

impl Listener for TcpListener {
    type Stream = TcpStream;

    async fn accept(&self) -> io::Result<TcpStream> {
        let (stream, peer) = Self::accept(self).await?;
        // Replies are small and must leave at once.
        let _ = stream.set_nodelay(true);
        tracing::debug!(%peer, "connection opened");
        Ok(stream)
    }
}

impl Listener for UnixListener {
    type Stream = UnixStream;

    async fn accept(&self) -> io::Result<UnixStream> {
        let (stream, _) = Self::accept(self).await?;
        tracing::debug!("connection opened on the Unix socket");
        Ok(stream)
    }
}

/// What every accept loop shares.
#[derive(Clone, Debug)]
pub(crate) struct Accepting {
    /// The service in force and the counters.
    pub(crate) shared: Arc<Shared>,
    /// One permit per connection: `limits.max_connections`.
    pub(crate) slots: Arc<Semaphore>,
    /// The open connections, which shutdown waits for.
    pub(crate) connections: Arc<tokio::sync::Mutex<JoinSet<()>>>,
    /// Turns true at shutdown.
    pub(crate) shutdown: watch::Receiver<bool>,
}

/// Accepts connections on `listener` until shutdown, at most one per free slot; each
/// connection runs in the shared set of connections.
pub(crate) async fn accept<L: Listener>(listener: L, accepting: Accepting) {
    let Accepting {
        shared,
        slots,
        connections,
        mut shutdown,
    } = accepting;
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped(&mut shutdown) => return,
        };
        match accepted {
            Ok(stream) => {
                let (shared, shutdown) = (shared.clone(), shutdown.clone());
                track(&connections).await.spawn(async move {
                    serve(stream, &shared, shutdown).await;
                    drop(permit);
                });
            }
            Err(err) => {
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// The set of open connections, with the finished ones reaped, to add one to.
async fn track(
    connections: &tokio::sync::Mutex<JoinSet<()>>,
) -> tokio::sync::MutexGuard<'_, JoinSet<()>> {
    let mut set = connections.lock().await;
    while set.try_join_next().is_some() {}
    set
}

/// Why a connection ends.
enum Closing {
    /// Still open.
    No,
    /// The client closed its side, or the daemon is shutting down: answer what was asked.
    Drain,
}

/// Answers the requests on one connection until the client closes it, a malformed request
/// arrives, the connection idles too long, or the daemon shuts down.
pub(crate) async fn serve<S>(stream: S, shared: &Arc<Shared>, mut shutdown: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    shared.metrics.connection_opened();
    let (mut reader, mut writer) = tokio::io::split(stream);
    let decoder = NetstringDecoder::new(MAX_REQUEST_LEN);
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = vec![0u8; 8192];
    let mut pending: FuturesOrdered<BoxFuture<'static, Arc<[u8]>>> = FuturesOrdered::new();
    let mut out: Vec<u8> = Vec::with_capacity(1024);
    let mut closing = Closing::No;
    let limits = shared.current().limits.clone();
    // One idle timer per connection, pushed back only when it fires: arming a timer for each
    // read would cost more than answering a cached request.
    let mut last_activity = tokio::time::Instant::now();
    let idle = tokio::time::sleep(limits.idle_timeout);
    tokio::pin!(idle);
    let stop = stopped(&mut shutdown);
    tokio::pin!(stop);

    loop {
        // Take every complete request from the buffer, up to the pipeline limit.
        let mut consumed = 0;
        while matches!(closing, Closing::No) && pending.len() < limits.max_pipeline {
            match decoder.decode(buf.get(consumed..).unwrap_or_default()) {
                Ok(Some(frame)) => {
                    let payload = frame.payload;
                    consumed += frame.consumed;
                    match SocketmapRequest::parse(payload) {
                        Ok(request) => pending.push_back(answer(shared.clone(), request)),
                        Err(RequestError::InvalidKey { map, key, source }) => {
                            // A well-formed request whose key cannot be a domain name: no DNS
                            // name, so no DANE or MTA-STS policy applies to it.
                            tracing::warn!(%map, %key, error = %source, "key is not a destination: NOTFOUND");
                            shared
                                .metrics
                                .answered(AnswerKind::NotFound, Duration::ZERO);
                            pending.push_back(ready(Arc::from(&b"9:NOTFOUND ,"[..])));
                        }
                        Err(err) => {
                            tracing::error!(error = %err, "malformed socketmap request: closing the connection");
                            shared.metrics.malformed();
                            closing = Closing::Drain;
                        }
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    tracing::error!(error = %err, "malformed netstring: closing the connection");
                    shared.metrics.malformed();
                    closing = Closing::Drain;
                }
            }
        }
        if consumed > 0 {
            buf.drain(..consumed);
        }
        if pending.is_empty() && matches!(closing, Closing::Drain) {
            break;
        }
        let can_read = matches!(closing, Closing::No) && pending.len() < limits.max_pipeline;
        tokio::select! {
            biased;
            Some(reply) = pending.next(), if !pending.is_empty() => {
                out.extend_from_slice(&reply);
                // Send every reply that is ready in one write.
                while let Some(Some(reply)) = pending.next().now_or_never() {
                    out.extend_from_slice(&reply);
                }
                if writer.write_all(&out).await.is_err() {
                    break;
                }
                out.clear();
                last_activity = tokio::time::Instant::now();
            }
            read = reader.read(&mut chunk), if can_read => {
                match read {
                    Ok(0) => closing = Closing::Drain,
                    Ok(n) => {
                        last_activity = tokio::time::Instant::now();
                        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                    }
                    Err(err) => {
                        tracing::debug!(error = %err, "connection read failed");
                        break;
                    }
                }
            }
            () = &mut idle, if can_read => {
                let now = tokio::time::Instant::now();
                let deadline = last_activity + limits.idle_timeout;
                if deadline > now {
                    idle.as_mut().reset(deadline);
                } else if pending.is_empty() {
                    tracing::debug!("connection idle: closing");
                    break;
                } else {
                    idle.as_mut().reset(now + limits.idle_timeout);
                }
            }
            () = &mut stop, if matches!(closing, Closing::No) => {
                closing = Closing::Drain;
            }
        }
    }
    let _ = writer.shutdown().await;
    shared.metrics.connection_closed();
}

fn ready(bytes: Arc<[u8]>) -> BoxFuture<'static, Arc<[u8]>> {
    futures::future::ready(bytes).boxed()
}

/// The reply to one request, as a netstring.
fn answer(shared: Arc<Shared>, request: SocketmapRequest) -> BoxFuture<'static, Arc<[u8]>> {
    async move {
        let started = Instant::now();
        let service = shared.current();
        let (reply, kind) = service.answer(&request).await;
        shared.metrics.answered(kind, started.elapsed());
        reply
    }
    .boxed()
}
