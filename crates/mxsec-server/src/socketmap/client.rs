//! A socketmap client: one lookup against a running daemon (`mxsec query --daemon ADDR`).

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use mxsec_proto::postfix::netstring::{self, NetstringDecoder};
use mxsec_proto::postfix::socketmap::{SocketmapReply, SocketmapRequest, MAX_REPLY_LEN};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Asks the daemon at `address` (`HOST:PORT`, or the path of a Unix socket) for `key` in
/// map `map`, and returns the reply payload.
pub(crate) async fn ask(address: &str, map: &str, key: &str, timeout: Duration) -> Result<String> {
    let request = SocketmapRequest::payload(map, key);
    let exchange = async {
        if address.starts_with('/') || address.starts_with('.') {
            let stream = tokio::net::UnixStream::connect(Path::new(address))
                .await
                .with_context(|| format!("cannot connect to the daemon at {address}"))?;
            exchange(stream, &request).await
        } else {
            let stream = tokio::net::TcpStream::connect(address)
                .await
                .with_context(|| format!("cannot connect to the daemon at {address}"))?;
            exchange(stream, &request).await
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .with_context(|| {
            format!(
                "the daemon at {address} did not answer within {} s",
                timeout.as_secs_f64()
            )
        })?
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
) -> Result<String> {
    stream
        .write_all(&netstring::encode(request.as_bytes()))
        .await?;
    let decoder = NetstringDecoder::new(MAX_REPLY_LEN);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(frame) = decoder
            .decode(&buf)
            .context("the daemon's reply is not a netstring")?
        {
            let payload = frame.payload;
            SocketmapReply::parse(payload)
                .context("the daemon's reply is not a socketmap reply")?;
            return Ok(String::from_utf8_lossy(payload).into_owned());
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("the daemon closed the connection without answering");
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}
