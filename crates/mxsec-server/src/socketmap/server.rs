//! The socketmap server: listeners on TCP and on a Unix socket, and the loop that answers the
//! requests of one connection (PFX-01; POSTFIX.md §4.4).
//!
//! A connection carries any number of requests. Requests are read as soon as they arrive and
//! answered concurrently, up to `limits.max_pipeline` at a time, but the replies go out in
//! the order of the requests, as Postfix and Sendmail expect. A request that is not a
//! netstring `<map> <key>` of at most [`MAX_REQUEST_LEN`] octets is logged and closes the
//! connection once the earlier requests are answered: the stream has lost its framing. A
//! connection silent for `limits.idle_timeout` is closed.

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use futures::stream::{FuturesOrdered, StreamExt};
use futures::FutureExt;
use mxsec_proto::postfix::netstring::NetstringDecoder;
use mxsec_proto::postfix::socketmap::{RequestError, SocketmapRequest, MAX_REQUEST_LEN};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use super::config::UnixListen;
use super::metrics::AnswerKind;
use super::service::Shared;

/// Accepts connections on `listener` until `shutdown` turns true; each connection runs in
/// `connections`.
pub(crate) async fn accept_tcp(
    listener: TcpListener,
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
    connections: Arc<tokio::sync::Mutex<JoinSet<()>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = super::stopped(&mut shutdown) => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let (shared, shutdown) = (shared.clone(), shutdown.clone());
                track(&connections).await.spawn(async move {
                    tracing::debug!(%peer, "connection opened");
                    serve(stream, &shared, shutdown).await;
                    drop(permit);
                });
            }
            Err(err) => {
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Accepts connections on the Unix socket, as [`accept_tcp`] does.
pub(crate) async fn accept_unix(
    listener: UnixListener,
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
    connections: Arc<tokio::sync::Mutex<JoinSet<()>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = super::stopped(&mut shutdown) => return,
        };
        match accepted {
            Ok((stream, _)) => {
                let (shared, shutdown) = (shared.clone(), shutdown.clone());
                track(&connections).await.spawn(async move {
                    serve(stream, &shared, shutdown).await;
                    drop(permit);
                });
            }
            Err(err) => {
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
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

/// Binds the Unix socket: removes a stale socket file, then sets the mode and owner.
pub(crate) fn bind_unix(config: &UnixListen) -> io::Result<UnixListener> {
    match std::fs::symlink_metadata(&config.path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(&config.path)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a socket; remove it or choose another listen.unix",
                    config.path.display()
                ),
            ))
        }
        Err(_) => {}
    }
    let listener = UnixListener::bind(&config.path)?;
    std::fs::set_permissions(&config.path, std::fs::Permissions::from_mode(config.mode))?;
    let uid = config
        .owner
        .as_deref()
        .map(|name| lookup_id(Path::new("/etc/passwd"), name, "user"))
        .transpose()?;
    let gid = config
        .group
        .as_deref()
        .map(|name| lookup_id(Path::new("/etc/group"), name, "group"))
        .transpose()?;
    if uid.is_some() || gid.is_some() {
        std::os::unix::fs::chown(&config.path, uid, gid)?;
    }
    Ok(listener)
}

/// A user or group number: `name` itself when numeric, else its entry in `file`
/// (`/etc/passwd` or `/etc/group`: `name:x:ID:...`).
fn lookup_id(file: &Path, name: &str, what: &str) -> io::Result<u32> {
    if let Ok(id) = name.parse::<u32>() {
        return Ok(id);
    }
    let text = std::fs::read_to_string(file)?;
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let entry = fields.next()?;
            let id = fields.nth(1)?.parse::<u32>().ok()?;
            (entry == name).then_some(id)
        })
        .next()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "no {what} {name:?} in {}; give its number instead",
                    file.display()
                ),
            )
        })
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
    let stop = super::stopped(&mut shutdown);
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
                                .answered(AnswerKind::NotFound, std::time::Duration::ZERO);
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
