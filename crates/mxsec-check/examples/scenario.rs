//! Prints the `mxsec check` report of testbed scenarios: the simulated internet starts in
//! this process, on loopback.
//!
//! ```text
//! cargo run -p mxsec-check --example scenario -- healthy t01-masked-starttls
//! cargo run -p mxsec-check --example scenario -- --json healthy
//! ```

use std::path::Path;
use std::time::Duration;

use mxsec_check::report::json;
use mxsec_check::report::text::{self, TextOptions};
use mxsec_check::{CheckOptions, Checker};
use mxsec_net::dial::{AddressMap, Dialer};
use mxsec_net::dns::{Backend, Dns, DnsConfig, TrustAnchorSource};
use mxsec_net::trust::TrustConfig;
use mxsec_proto::name::DomainName;
use mxsec_testbed::scenario::Scenario;
use mxsec_testbed::Testbed;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut keys: Vec<String> = std::env::args().skip(1).collect();
    let as_json = keys.first().is_some_and(|k| k == "--json");
    if as_json {
        keys.remove(0);
    }
    let testbed = Testbed::start().await?;
    let config = DnsConfig::builder()
        .backend(Backend::Validate)
        .nameserver(testbed.dns_addr())
        .trust_anchor(TrustAnchorSource::File(
            testbed.files().trust_anchor.clone(),
        ))
        .build();
    let dns = Dns::new(&config).await?;
    let trust = TrustConfig::empty()
        .add_ca_pem(Path::new("testbed-ca.pem"), testbed.ca_pem().as_bytes())?;
    let mut map = AddressMap::new();
    for route in testbed.routes() {
        map.insert(route.published, route.local)?;
    }
    let dialer = Dialer::new(Duration::from_secs(5)).with_address_map(map);
    let checker = Checker::new(
        dns,
        &trust,
        dialer,
        CheckOptions::new(DomainName::parse("checker.invalid")?),
    )?;
    for key in keys {
        let Some(scenario) = Scenario::find(&key) else {
            eprintln!("no scenario {key:?}");
            continue;
        };
        let report = checker.check(&DomainName::parse(&scenario.domain())?).await;
        if as_json {
            println!("{}", json::to_line(&report));
        } else {
            print!("{}", text::render(&report, TextOptions::default()));
            println!();
        }
    }
    Ok(())
}
