//! A loopback TCP relay that delays every chunk, so that a benchmark sees each SMTP, TLS or
//! HTTP round trip cost a chosen time, as over a long network path.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Starts a relay to `target` on a free loopback port of the same family, holding every
/// chunk for half of `round_trip` in each direction; returns the relay's address. The relay
/// runs until the runtime stops.
///
/// # Errors
///
/// The I/O error when the loopback port cannot be bound.
pub async fn delayed(target: SocketAddr, round_trip: Duration) -> std::io::Result<SocketAddr> {
    delayed_counting(target, round_trip, Arc::new(AtomicU64::new(0))).await
}

/// As [`delayed`], adding one to `connections` for every connection the relay accepts.
///
/// # Errors
///
/// The I/O error when the loopback port cannot be bound.
pub async fn delayed_counting(
    target: SocketAddr,
    round_trip: Duration,
    connections: Arc<AtomicU64>,
) -> std::io::Result<SocketAddr> {
    let bind = if target.is_ipv4() {
        SocketAddr::from(([127, 0, 0, 1], 0))
    } else {
        SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 0))
    };
    let listener = TcpListener::bind(bind).await?;
    let local = listener.local_addr()?;
    let hold = round_trip / 2;
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            connections.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(target).await else {
                    return;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::join!(pipe(cr, sw, hold), pipe(sr, cw, hold));
            });
        }
    });
    Ok(local)
}

/// Copies `from` to `to`, each chunk delivered `hold` after it was read, in order.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, hold: Duration) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf).await {
            if n == 0
                || tx
                    .send((
                        Instant::now() + hold,
                        buf.get(..n).unwrap_or_default().to_vec(),
                    ))
                    .is_err()
            {
                break;
            }
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due.into()).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}
