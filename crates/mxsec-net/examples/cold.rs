//! How close the daemon's first answer for a destination comes to its critical path.
//!
//! The simulated internet starts in this process with an artificial delay: every DNS answer
//! waits `--delay-ms` (default 50), and every TCP connection to an MX or policy host goes
//! through a loopback relay that holds each chunk for half that delay in each direction, so
//! that every TLS or HTTP round trip costs the delay too. For a DANE domain (`dane-ee.test`)
//! and an MTA-STS domain whose policy must be fetched (`sts-enforce.test`), the benchmark
//! times the first answer of a resolver set up as the daemon sets it up (DNS cache in front
//! of the back end, nothing cached yet) and compares it with the critical path: the chain of
//! round trips that each need the one before, run alone with plain queries. For the DANE
//! domain: the MX query; the DNSKEY and DS RRsets of every zone from the MX RRset's zone up
//! to the root, at once (the zone is known from the answer's signature); the MX host's A,
//! AAAA and TLSA queries, at once. For the MTA-STS domain the longer of that MX branch and
//! the MTA-STS branch: the `_mta-sts` TXT query; the chain, at once; the policy host's A and
//! AAAA queries; the policy fetch (TLS handshake and HTTP request). Both DNSSEC modes are
//! measured: `validate` (in process, from the testbed's trust anchor) and `trust-ad` (a
//! fresh Unbound for each run, validating, between mxsec and the testbed).
//!
//! ```text
//! cargo run --release -p mxsec-net --example cold [-- --delay-ms N]
//! ```

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use mxsec_net::dial::{AddressMap, Dialer};
use mxsec_net::dns::{Answer, Backend, Dns, DnsConfig, RData, RecordType, TrustAnchorSource};
use mxsec_net::resolver::DestinationResolver;
use mxsec_net::sts_fetch::PolicyFetcher;
use mxsec_net::trust::TrustConfig;
use mxsec_proto::decision::{DecisionConfig, TlsPolicy};
use mxsec_proto::name::{Destination, DomainName};
use mxsec_testbed::dns::Unbound;
use mxsec_testbed::{relay, Testbed};

const RUNS: usize = 5;

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Error> {
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
    let fetcher = Arc::new(PolicyFetcher::new(&trust, dialer.clone())?);

    println!(
        "delay {delay_ms} ms per DNS answer and per TCP/TLS round trip; median of {RUNS} runs"
    );
    println!("| domain | DNSSEC | first answer | critical path | ratio |");
    println!("|---|---|---|---|---|");
    for domain in ["dane-ee.test", "sts-enforce.test"] {
        let domain = DomainName::parse(domain)?;
        let mut paths = Vec::new();
        for _ in 0..RUNS {
            paths.push(critical_path(&testbed, &fetcher, &domain).await?);
        }
        let path = median(paths);
        for backend in [Backend::Validate, Backend::TrustAd] {
            let mut firsts = Vec::new();
            for _ in 0..RUNS {
                // A fresh validating resolver for each trust-ad run, so that it is cold too.
                let unbound = match backend {
                    Backend::TrustAd => Some(Unbound::start(testbed.dns()).await?),
                    Backend::Validate => None,
                };
                let dns = daemon_dns(&testbed, backend, unbound.as_ref()).await?;
                let resolver = DestinationResolver::new(Arc::new(dns), fetcher.clone(), None);
                let destination = Destination::Domain(domain.clone());
                let started = Instant::now();
                let (_, decision) = resolver
                    .decide(&destination, &DecisionConfig::default())
                    .await;
                firsts.push(started.elapsed());
                if !matches!(decision.policy, TlsPolicy::DaneOnly | TlsPolicy::Secure(_)) {
                    return Err(format!("{domain}: unexpected answer {:?}", decision.policy).into());
                }
            }
            let first = median(firsts);
            println!(
                "| {domain} | {} | {} ms | {} ms | {:.2} |",
                match backend {
                    Backend::Validate => "validate",
                    Backend::TrustAd => "trust-ad",
                },
                first.as_millis(),
                path.as_millis(),
                first.as_secs_f64() / path.as_secs_f64().max(f64::MIN_POSITIVE)
            );
        }
    }
    Ok(())
}

/// DNS as the daemon builds it: the back end, with the DNS cache in front.
async fn daemon_dns(
    testbed: &Testbed,
    backend: Backend,
    unbound: Option<&Unbound>,
) -> Result<Dns, Error> {
    let config = match unbound {
        Some(unbound) => DnsConfig::builder()
            .backend(backend)
            .nameserver(unbound.addr()),
        None => DnsConfig::builder()
            .backend(backend)
            .nameserver(testbed.dns_addr())
            .trust_anchor(TrustAnchorSource::File(
                testbed.files().trust_anchor.clone(),
            )),
    }
    .timeout(Duration::from_secs(30))
    .build();
    Ok(Dns::new(&config).await?.with_cache(100_000).0)
}

/// The critical path of `domain`'s first answer, run alone with plain queries (the testbed's
/// answers carry no AD bit; only the round trips count here).
async fn critical_path(
    testbed: &Testbed,
    fetcher: &PolicyFetcher,
    domain: &DomainName,
) -> Result<Duration, Error> {
    let config = DnsConfig::builder()
        .backend(Backend::TrustAd)
        .nameserver(testbed.dns_addr())
        .timeout(Duration::from_secs(30))
        .build();
    let dns = Dns::new(&config).await?;
    let started = Instant::now();
    let mx_branch = async {
        let mx = dns.lookup(domain, RecordType::MX).await?;
        let host = match mx.answer().value_ignoring_security() {
            Answer::Records(data) => data.iter().find_map(|d| match d {
                RData::MX(mx) => DomainName::parse(&mx.exchange.to_ascii()).ok(),
                _ => None,
            }),
            _ => None,
        }
        .ok_or("no MX host")?;
        chain(&dns, domain).await;
        let owner = DomainName::parse(&format!("_25._tcp.{host}"))?;
        let _ = futures::join!(
            dns.lookup(&host, RecordType::A),
            dns.lookup(&host, RecordType::AAAA),
            dns.lookup(&owner, RecordType::TLSA)
        );
        Ok::<_, Error>(())
    };
    let sts_branch = async {
        let txt = DomainName::parse(&format!("_mta-sts.{domain}"))?;
        if !matches!(
            dns.lookup(&txt, RecordType::TXT)
                .await?
                .answer()
                .value_ignoring_security(),
            Answer::Records(_)
        ) {
            return Ok::<_, Error>(());
        }
        chain(&dns, domain).await;
        let host = DomainName::parse(&format!("mta-sts.{domain}"))?;
        let addresses = dns.addresses(&host).await;
        let address: IpAddr = match addresses
            .ipv4
            .as_ref()
            .map(|r| r.answer().value_ignoring_security())
        {
            Ok(Answer::Records(list)) => list.first().copied().map(IpAddr::V4),
            _ => None,
        }
        .ok_or("no policy host address")?;
        let fetched = fetcher.fetch(domain, address).await?;
        fetched.result.map_err(|e| e.to_string())?;
        Ok(())
    };
    let (mx, sts) = futures::join!(mx_branch, sts_branch);
    mx?;
    sts?;
    Ok(started.elapsed())
}

/// The DNSKEY and DS RRsets of `zone` and every zone above it, all at once.
async fn chain(dns: &Dns, zone: &DomainName) {
    let mut names = vec![zone.to_string()];
    let mut rest = zone.as_str();
    while let Some((_, parent)) = rest.split_once('.') {
        names.push(parent.to_owned());
        rest = parent;
    }
    let mut lookups = Vec::new();
    for name in &names {
        if let Ok(name) = DomainName::parse(name) {
            lookups.push((name.clone(), RecordType::DNSKEY));
            lookups.push((name, RecordType::DS));
        }
    }
    join_all(lookups.iter().map(|(name, rtype)| dns.lookup(name, *rtype))).await;
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}
