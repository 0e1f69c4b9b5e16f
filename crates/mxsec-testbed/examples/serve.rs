//! Runs the testbed on loopback until standard input closes, for programs outside the test
//! process (the benchmark in `bench/run`). Prints one line of JSON: the DNS server's address,
//! the address of an `unbound` validating in front of it (for `dnssec = "trust-ad"`; `null`
//! when unbound is not installed), and the files that configure a client (trust anchor, CA,
//! connect map).

use std::io::Read;

use mxsec_testbed::dns::Unbound;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let testbed = mxsec_testbed::Testbed::start().await?;
    let unbound = Unbound::start(testbed.dns()).await.ok();
    let files = testbed.files();
    println!(
        "{{\"dns\": \"{}\", \"validating_resolver\": {}, \"trust_anchor\": \"{}\", \"ca_file\": \"{}\", \"connect_map\": \"{}\"}}",
        testbed.dns_addr(),
        unbound
            .as_ref()
            .map_or("null".to_owned(), |u| format!("\"{}\"", u.addr())),
        files.trust_anchor.display(),
        files.ca_file.display(),
        files.connect_map.display()
    );
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    drop(unbound);
    Ok(())
}
