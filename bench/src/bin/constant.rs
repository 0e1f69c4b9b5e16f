//! A socketmap server that answers every request with the same reply: the physical limit of
//! a policy server on this machine (the kernel, the runtime and the framing, nothing else).
//!
//! Usage: constant ADDR [REPLY]

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8462".into());
    let reply = args
        .next()
        .unwrap_or_else(|| "OK secure match=mx.example.test servername=hostname".into());
    let reply: Arc<[u8]> = mxsec_bench::encode(reply.as_bytes()).into();
    let listener = TcpListener::bind(&addr).await?;
    println!("constant server on {}", listener.local_addr()?);
    loop {
        let (mut stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let reply = reply.clone();
        tokio::spawn(async move {
            let mut buf = Vec::with_capacity(4096);
            let mut chunk = [0u8; 4096];
            let mut out = Vec::with_capacity(4096);
            loop {
                let Ok(n) = stream.read(&mut chunk).await else { return };
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                let mut used = 0;
                while let Ok(Some((len, _))) = mxsec_bench::decode(&buf[used..], 2048) {
                    used += len;
                    out.extend_from_slice(&reply);
                }
                buf.drain(..used);
                if stream.write_all(&out).await.is_err() {
                    return;
                }
                out.clear();
            }
        });
    }
}
