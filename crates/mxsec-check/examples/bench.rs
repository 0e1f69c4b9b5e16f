//! How close `mxsec check` comes to its critical path.
//!
//! The simulated internet starts in this process with an artificial delay: every DNS answer
//! waits `--delay-ms` (default 50), and every TCP connection to an MX or policy host goes
//! through a loopback relay that holds each chunk for half that delay in each direction, so
//! that every SMTP, TLS or HTTP round trip costs the delay too. The benchmark then checks the
//! `healthy` scenario (MTA-STS, TLS-RPT, DANE, two MX hosts with an IPv4 and an IPv6 address
//! each) and compares the wall time with the critical path: the longest chain of dependent
//! round trips, measured by running that chain alone (MX lookup, then the host's addresses,
//! then one SMTP probe). Each run uses a fresh resolver, so DNSSEC keys are fetched anew.
//!
//! ```text
//! scripts/bench-check            # cargo run --release -p mxsec-check --example bench
//! ```

use std::path::Path;
use std::time::{Duration, Instant};

use mxsec_check::{CheckOptions, Checker};
use mxsec_net::dial::{AddressMap, Dialer};
use mxsec_net::dns::{Backend, Dns, DnsConfig, TrustAnchorSource};
use mxsec_net::smtp_probe::{self, ProbeOptions};
use mxsec_net::tls::Verification;
use mxsec_net::trust::TrustConfig;
use mxsec_proto::name::DomainName;
use mxsec_testbed::{relay, Testbed};

const RUNS: usize = 5;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let delay_ms: u64 = std::env::args()
        .skip_while(|a| a != "--delay-ms")
        .nth(1)
        .map_or(Ok(50), |v| v.parse())?;
    let delay = Duration::from_millis(delay_ms);
    let testbed = Testbed::start().await?;
    testbed.dns().set_answer_delay(delay);
    let mut map = AddressMap::new();
    for route in testbed.routes() {
        map.insert(route.published, relay::delayed(route.local, delay).await?)?;
    }
    let dialer = Dialer::new(Duration::from_secs(10)).with_address_map(map);
    let trust = TrustConfig::empty()
        .add_ca_pem(Path::new("testbed-ca.pem"), testbed.ca_pem().as_bytes())?;
    let domain = DomainName::parse("healthy.test")?;
    let ehlo = DomainName::parse("bench.invalid")?;

    let mut walls = Vec::new();
    let mut paths = Vec::new();
    for _ in 0..RUNS {
        let checker = Checker::new(
            dns(&testbed).await?,
            &trust,
            dialer.clone(),
            CheckOptions::new(ehlo.clone()),
        )?;
        let started = Instant::now();
        let report = checker.check(&domain).await;
        walls.push(started.elapsed());
        assert_eq!(report.verdict.delivery.as_str(), "authenticated");

        // The critical path, alone: MX -> addresses -> one STARTTLS probe.
        let dns = dns(&testbed).await?;
        let started = Instant::now();
        let mx = dns.mx(&domain).await?;
        let host = match mx.answer().value_ignoring_security() {
            mxsec_net::dns::Answer::Records(mxsec_net::dns::MxSet::Exchanges(list)) => {
                match list.first().map(|e| &e.target) {
                    Some(mxsec_net::dns::MxTarget::Host(h)) => h.clone(),
                    _ => return Err("healthy.test has no MX host".into()),
                }
            }
            _ => return Err("healthy.test has no MX records".into()),
        };
        let addresses = dns.addresses(&host).await;
        let Ok(v4) = &addresses.ipv4 else {
            return Err("no IPv4 address".into());
        };
        let address = match v4.answer().value_ignoring_security() {
            mxsec_net::dns::Answer::Records(list) => list.first().copied().ok_or("no address")?,
            _ => return Err("no IPv4 address".into()),
        };
        let options = ProbeOptions::new(
            ehlo.clone(),
            host.clone(),
            Verification::Observe {
                dane: None,
                pkix: None,
            },
        );
        let _ = smtp_probe::probe(&dialer, address.into(), &options).await;
        paths.push(started.elapsed());
    }
    walls.sort();
    paths.sort();
    let (wall, path) = (walls[RUNS / 2], paths[RUNS / 2]);
    println!(
        "delay {delay_ms} ms per DNS answer and per TCP/TLS round trip; median of {RUNS} runs"
    );
    println!("check healthy.test (MTA-STS, TLS-RPT, DANE, 2 MX x 2 addresses): {wall:?}");
    println!("critical path (MX -> addresses -> one STARTTLS probe), alone:     {path:?}");
    println!(
        "ratio: {:.2}",
        wall.as_secs_f64() / path.as_secs_f64().max(f64::MIN_POSITIVE)
    );
    Ok(())
}

async fn dns(testbed: &Testbed) -> Result<Dns, Box<dyn std::error::Error>> {
    let config = DnsConfig::builder()
        .backend(Backend::Validate)
        .nameserver(testbed.dns_addr())
        .trust_anchor(TrustAnchorSource::File(
            testbed.files().trust_anchor.clone(),
        ))
        .timeout(Duration::from_secs(30))
        .build();
    Ok(Dns::new(&config).await?)
}
