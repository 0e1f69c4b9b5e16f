//! A socketmap load generator: N connections, each sending one request and waiting for its
//! reply before the next (as Postfix's client does), for a fixed time; prints queries per
//! second and latency percentiles as one JSON object.
//!
//! Usage:
//!   loadgen ADDR CONNECTIONS SECONDS REQUEST [REQUEST...]
//!     Each REQUEST is a socketmap payload such as `postfix example.test`; connections cycle
//!     through them. Any `TEMP` or `PERM` reply is an error: the benchmark asks for cached
//!     answers only.
//!   loadgen --once ADDR CONNECTIONS FILE
//!     Sends every line of FILE (a request each) once, spread over CONNECTIONS, and prints
//!     how many replies of each kind came back (to fill a server's cache).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if args.first().map(String::as_str) == Some("--once") && args.len() == 4 {
        let connections: usize = args[2].parse().expect("CONNECTIONS is a number");
        let text = std::fs::read_to_string(&args[3]).expect("FILE is readable");
        let requests: Vec<Vec<u8>> = text
            .lines()
            .filter(|l| !l.is_empty())
            .map(|r| mxsec_bench::encode(r.as_bytes()))
            .collect();
        runtime.block_on(once(args[1].clone(), connections, requests));
        return;
    }
    if args.len() < 4 {
        eprintln!("usage: loadgen ADDR CONNECTIONS SECONDS REQUEST [REQUEST...]");
        eprintln!("       loadgen --once ADDR CONNECTIONS FILE");
        std::process::exit(2);
    }
    let addr = args[0].clone();
    let connections: usize = args[1].parse().expect("CONNECTIONS is a number");
    let seconds: f64 = args[2].parse().expect("SECONDS is a number");
    let requests: Arc<Vec<Vec<u8>>> =
        Arc::new(args[3..].iter().map(|r| mxsec_bench::encode(r.as_bytes())).collect());
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
    if errors > 0 {
        std::process::exit(1);
    }
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
    let mut n = index;
    while Instant::now() < deadline {
        let request = &requests[n % requests.len()];
        n += 1;
        let sent = Instant::now();
        stream.write_all(request).await?;
        let reply = read_reply(&mut stream, &mut buf).await?;
        if reply.starts_with(b"TEMP") || reply.starts_with(b"PERM") {
            return Err(std::io::Error::other(format!(
                "unexpected reply {:?}",
                String::from_utf8_lossy(&reply)
            )));
        }
        latencies.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
    }
    Ok(latencies)
}

/// Reads one netstring reply from `stream`, with `buf` holding what was read beyond it.
async fn read_reply(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Vec<u8>> {
    let mut chunk = [0u8; 4096];
    loop {
        match mxsec_bench::decode(buf, 100_000) {
            Ok(Some((len, payload))) => {
                let payload = payload.to_vec();
                buf.drain(..len);
                return Ok(payload);
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
}

/// Sends each request once over `connections` connections; prints the replies' kinds.
async fn once(addr: String, connections: usize, requests: Vec<Vec<u8>>) {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (addr, requests, next) = (addr.clone(), requests.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
            let mut stream = TcpStream::connect(&addr).await?;
            stream.set_nodelay(true)?;
            let mut buf = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i) else { break };
                stream.write_all(request).await?;
                let reply = read_reply(&mut stream, &mut buf).await?;
                let kind = String::from_utf8_lossy(&reply)
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_owned();
                *kinds.entry(kind).or_default() += 1;
            }
            Ok::<_, std::io::Error>(kinds)
        }));
    }
    let mut total: BTreeMap<String, u64> = BTreeMap::new();
    for task in tasks {
        match task.await {
            Ok(Ok(kinds)) => {
                for (k, v) in kinds {
                    *total.entry(k).or_default() += v;
                }
            }
            Ok(Err(e)) => eprintln!("connection failed: {e}"),
            Err(e) => eprintln!("task failed: {e}"),
        }
    }
    println!("{} requests in {:.1} s: {total:?}", requests.len(), started.elapsed().as_secs_f64());
}
