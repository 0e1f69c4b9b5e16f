//! A socketmap load generator: N connections, each sending one request and waiting for its
//! reply before the next (as Postfix's client does), for a fixed time; prints queries per
//! second and latency percentiles as one JSON object.
//!
//! Usage: loadgen ADDR CONNECTIONS SECONDS REQUEST [REQUEST...]
//! Each REQUEST is a socketmap payload such as `postfix example.test`; connections cycle
//! through them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: loadgen ADDR CONNECTIONS SECONDS REQUEST [REQUEST...]");
        std::process::exit(2);
    }
    let addr = args[0].clone();
    let connections: usize = args[1].parse().expect("CONNECTIONS is a number");
    let seconds: f64 = args[2].parse().expect("SECONDS is a number");
    let requests: Arc<Vec<Vec<u8>>> =
        Arc::new(args[3..].iter().map(|r| mxsec_bench::encode(r.as_bytes())).collect());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (latencies, errors, elapsed) = runtime.block_on(async move {
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..connections {
            let (addr, requests) = (addr.clone(), requests.clone());
            tasks.push(tokio::spawn(async move { client(&addr, i, &requests, deadline).await }));
        }
        let mut all = Vec::new();
        let mut errors = 0u64;
        for task in tasks {
            match task.await {
                Ok(Ok(mut l)) => all.append(&mut l),
                Ok(Err(e)) => {
                    eprintln!("connection failed: {e}");
                    errors += 1;
                }
                Err(e) => {
                    eprintln!("task failed: {e}");
                    errors += 1;
                }
            }
        }
        (all, errors, started.elapsed())
    });
    let mut latencies = latencies;
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let idx = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[idx] as f64 / 1000.0
    };
    println!(
        "{{\"connections\": {connections}, \"queries\": {}, \"qps\": {:.0}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}, \"errors\": {errors}}}",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99)
    );
}

/// One connection's loop; returns each query's latency in microseconds.
async fn client(
    addr: &str,
    index: usize,
    requests: &[Vec<u8>],
    deadline: Instant,
) -> std::io::Result<Vec<u64>> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut latencies = Vec::with_capacity(100_000);
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut n = index;
    while Instant::now() < deadline {
        let request = &requests[n % requests.len()];
        n += 1;
        let sent = Instant::now();
        stream.write_all(request).await?;
        loop {
            match mxsec_bench::decode(&buf, 100_000) {
                Ok(Some((len, payload))) => {
                    if payload.starts_with(b"TEMP") || payload.starts_with(b"PERM") {
                        return Err(std::io::Error::other(format!(
                            "unexpected reply {:?}",
                            String::from_utf8_lossy(payload)
                        )));
                    }
                    buf.drain(..len);
                    break;
                }
                Ok(None) => {}
                Err(e) => return Err(std::io::Error::other(e)),
            }
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(std::io::Error::other("server closed the connection"));
            }
            buf.extend_from_slice(&chunk[..read]);
        }
        latencies.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
    }
    Ok(latencies)
}
