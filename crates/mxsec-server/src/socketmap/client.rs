//! A socketmap client: one lookup against a running daemon (`mxsec query --daemon ADDR`).

use std::path::Path;
use std::time::Duration;

use mxsec_proto::postfix::netstring::{self, NetstringDecoder, NetstringError};
use mxsec_proto::postfix::socketmap::{
    SocketmapReply, SocketmapReplyError, SocketmapRequest, MAX_REPLY_LEN,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why a lookup against a running daemon failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AskError {
    /// No connection.
    #[error("cannot connect to the daemon at {address}: {source}")]
    Connect {
        /// The daemon's address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// No reply in time.
    #[error("the daemon at {address} did not answer within {} s", timeout.as_secs_f64())]
    Timeout {
        /// The daemon's address.
        address: String,
        /// The time limit.
        timeout: Duration,
    },
    /// The connection failed while asking.
    #[error("the connection to the daemon failed: {0}")]
    Io(#[from] std::io::Error),
    /// The connection closed before a reply.
    #[error("the daemon closed the connection without answering")]
    Closed,
    /// The reply is not a netstring.
    #[error("the daemon's reply is not a netstring: {0}")]
    Netstring(#[from] NetstringError),
    /// The reply is not `OK`, `NOTFOUND`, `TEMP`, `TIMEOUT` or `PERM`.
    #[error("the daemon's reply is not a socketmap reply: {0}")]
    Reply(#[from] SocketmapReplyError),
}

/// Asks the daemon at `address` (`HOST:PORT`, or the path of a Unix socket) for `key` in
/// map `map`, and returns the reply payload.
///
/// # Errors
///
/// An [`AskError`] when there is no well-formed reply within `timeout`.
pub async fn ask(
    address: &str,
    map: &str,
    key: &str,
    timeout: Duration,
) -> Result<String, AskError> {
    let request = SocketmapRequest::payload(map, key);
    let connect = |source| AskError::Connect {
        address: address.to_owned(),
        source,
    };
    let exchange = async {
        if address.starts_with('/') || address.starts_with('.') {
            let stream = tokio::net::UnixStream::connect(Path::new(address))
                .await
                .map_err(connect)?;
            exchange(stream, &request).await
        } else {
            let stream = tokio::net::TcpStream::connect(address)
                .await
                .map_err(connect)?;
            exchange(stream, &request).await
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| AskError::Timeout {
            address: address.to_owned(),
            timeout,
        })?
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
) -> Result<String, AskError> {
    stream
        .write_all(&netstring::encode(request.as_bytes()))
        .await?;
    let decoder = NetstringDecoder::new(MAX_REPLY_LEN);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(frame) = decoder.decode(&buf)? {
            let payload = frame.payload;
            SocketmapReply::parse(payload)?;
            return Ok(String::from_utf8_lossy(payload).into_owned());
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(AskError::Closed);
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}
