//! Serves a synthetic population of mail domains (`mxsec_testbed::population`) until standard
//! input closes, for benchmarks of `mxsec check --file` (`scripts/bench-scan`).
//!
//! ```text
//! population --domains 10000 [--seed 1] [--delay-ms 50] --list domains.txt
//! ```
//!
//! Writes the domain list to `--list`, then prints one line of JSON with the DNS server's
//! address and the files that configure a client (trust anchor, CA, connect map). For every
//! line read from standard input it prints a line with what the servers saw so far (SMTP and
//! HTTPS connections, DNS queries); when standard input closes it prints that line once more
//! and exits.

use std::io::{BufRead, BufWriter, Write};
use std::time::Duration;

use mxsec_testbed::population::{Population, PopulationServer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let domains: u64 = value("--domains").map_or(Ok(10_000), |v| v.parse())?;
    let seed: u64 = value("--seed").map_or(Ok(1), |v| v.parse())?;
    let delay_ms: u64 = value("--delay-ms").map_or(Ok(50), |v| v.parse())?;
    let list = value("--list").ok_or("--list FILE is required")?;

    let population = Population::new(domains, seed);
    let mut out = BufWriter::new(std::fs::File::create(&list)?);
    for name in population.names() {
        writeln!(out, "{name}")?;
    }
    out.flush()?;
    drop(out);

    let server = PopulationServer::start(population, Duration::from_millis(delay_ms)).await?;
    let files = server.files();
    println!(
        "{{\"dns\": \"{}\", \"trust_anchor\": \"{}\", \"ca_file\": \"{}\", \"connect_map\": \"{}\"}}",
        server.dns_addr(),
        files.trust_anchor.display(),
        files.ca_file.display(),
        files.connect_map.display()
    );
    let (lines, mut asked) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for _ in std::io::stdin().lock().lines().map_while(Result::ok) {
            if lines.send(()).is_err() {
                return;
            }
        }
    });
    loop {
        let more = asked.recv().await.is_some();
        let stats = server.stats();
        println!(
            "{{\"smtp_connections\": {}, \"https_connections\": {}, \"dns_queries\": {}}}",
            stats.smtp_connections, stats.https_connections, stats.dns_queries
        );
        if !more {
            return Ok(());
        }
    }
}
