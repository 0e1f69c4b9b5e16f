//! Runs the testbed on loopback until standard input closes, for programs outside the test
//! process (the benchmark in `bench/run`). Prints one line of JSON: the DNS server's address
//! and the files that configure a client (trust anchor, CA, connect map).

use std::io::Read;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let testbed = mxsec_testbed::Testbed::start().await?;
    let files = testbed.files();
    println!(
        "{{\"dns\": \"{}\", \"trust_anchor\": \"{}\", \"ca_file\": \"{}\", \"connect_map\": \"{}\"}}",
        testbed.dns_addr(),
        files.trust_anchor.display(),
        files.ca_file.display(),
        files.connect_map.display()
    );
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    Ok(())
}
