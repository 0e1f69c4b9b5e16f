//! Differential test of the `validate` back end against Unbound (issue 12).
//!
//! For every name a testbed DNS server publishes (every scenario's zones, and the CNAME
//! shapes of the `shapes` module), and for A, AAAA, MX, TXT and TLSA at each of them and at
//! a few names that do not exist, mxsec's in-process validator (`Backend::Validate` with the
//! testbed trust anchor) and Unbound validating from the same anchor must give the same
//! verdict: the same data at the same canonical name, the same NODATA or NXDOMAIN, and the
//! same status (secure, insecure, bogus; RFC 4035 §4.3, DANE-DNS-05). Any disagreement fails
//! with the name, the type and both verdicts.
//!
//! The in-process validator is asked two ways: straight at the authoritative server, and
//! through Unbound as its recursive resolver, which hands back a CNAME and its target's
//! denial in one response (RFC 1034 §4.3.2), as every recursive resolver on the internet
//! does.
//!
//! The shapes are asked three times: signed with NSEC, with NSEC3 (RFC 5155) and with NSEC3
//! opt-out, from the root down; the catalogue twice: as its scenarios sign it, and with every
//! zone signed with NSEC3 opt-out.
//!
//! Two failures that are not bogus data (a SERVFAIL fault, a dropped query) agree with each
//! other whatever their detail. Wildcard answers (RFC 4592) are among the shapes.

mod shapes;
mod verdict;

use std::net::SocketAddr;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use mxsec_net::dns::{Answer, Backend, Dns, DnsConfig, RecordType, TrustAnchorSource};
use mxsec_net::proto::dnssec::Security;
use mxsec_net::proto::name::DomainName;
use mxsec_testbed::dns::{Denial, DnsServer, Nsec3, Unbound};
use mxsec_testbed::scenario::Scenario;
use mxsec_testbed::Testbed;

/// The per-lookup timeout of both sides.
const TIMEOUT: Duration = Duration::from_secs(4);
/// The types asked at every name.
const TYPES: [RecordType; 5] = [
    RecordType::A,
    RecordType::AAAA,
    RecordType::MX,
    RecordType::TXT,
    RecordType::TLSA,
];
/// Lookups in flight at once.
const PARALLEL: usize = 16;

/// Which resolver mxsec's validator sends its queries to.
#[derive(Clone, Copy, Debug)]
enum Upstream {
    /// The authoritative server itself.
    Authoritative,
    /// Unbound, as a recursive resolver (its answers checked again in process).
    Recursive,
}

/// Unbound validating from a DNS server's root key, and what mxsec's validator needs to
/// validate from the same key.
struct Harness {
    authoritative: SocketAddr,
    anchor: String,
    unbound: Unbound,
}

impl Harness {
    async fn new(server: &DnsServer) -> Self {
        let unbound = Unbound::start(server)
            .await
            .expect("unbound must be installed (scripts/test installs it)");
        Self {
            authoritative: server.addr(),
            anchor: server.trust_anchor().dnskey_line().to_owned(),
            unbound,
        }
    }

    async fn validator(&self, upstream: Upstream) -> Dns {
        let nameserver: SocketAddr = match upstream {
            Upstream::Authoritative => self.authoritative,
            Upstream::Recursive => self.unbound.addr(),
        };
        let config = DnsConfig::builder()
            .backend(Backend::Validate)
            .nameserver(nameserver)
            .trust_anchor(TrustAnchorSource::Text(self.anchor.clone()))
            .timeout(TIMEOUT)
            .build();
        Dns::new(&config).await.expect("validator")
    }

    /// Asks both sides about `(name, type)` for every name and type; returns one line per
    /// disagreement.
    async fn disagreements(&self, upstream: Upstream, names: &[String]) -> Vec<String> {
        let dns = self.validator(upstream).await;
        let questions: Vec<(String, RecordType)> = names
            .iter()
            .flat_map(|name| TYPES.iter().map(move |t| (name.clone(), *t)))
            .collect();
        let unbound = self.unbound.addr();
        stream::iter(questions)
            .map(|(name, rtype)| {
                let dns = &dns;
                async move {
                    let (ours, theirs) = futures::join!(
                        verdict::mxsec(dns, &name, rtype),
                        verdict::unbound(unbound, &name, rtype, TIMEOUT),
                    );
                    (!ours.agrees_with(&theirs)).then(|| {
                        format!(
                            "{name} {rtype} ({upstream:?}): mxsec says {ours}, unbound says {theirs}"
                        )
                    })
                }
            })
            .buffer_unordered(PARALLEL)
            .filter_map(|line| async move { line })
            .collect()
            .await
    }
}

/// The names to ask about: every published owner name, and under every zone apex a name
/// that does not exist and a TLSA owner name below it (a deep NXDOMAIN).
fn questions(server: &DnsServer, apexes: &[String], extra: &[&str]) -> Vec<String> {
    // The root is no mail domain, and a wildcard owner no name mxsec asks: mxsec's names
    // express neither.
    let mut names: Vec<String> = server
        .names()
        .into_iter()
        .filter(|n| n != "." && !n.starts_with("*."))
        .collect();
    names.extend(extra.iter().map(|name| (*name).to_owned()));
    for apex in apexes {
        names.push(format!("no-such-name.{apex}"));
        names.push(format!("_25._tcp.no-such-name.{apex}"));
    }
    names
}

fn report(disagreements: &[String], asked: usize) {
    assert!(
        disagreements.is_empty(),
        "{} disagreements out of {} questions:\n{}",
        disagreements.len(),
        asked * TYPES.len(),
        disagreements.join("\n")
    );
}

/// Asks every shape, signed with `denial`, at the authoritative server and through Unbound.
async fn shapes_agree_with_unbound(denial: Denial) {
    let server = shapes::server(denial).await;
    let harness = Harness::new(&server).await;
    let apexes: Vec<String> = shapes::APEXES.iter().map(|a| (*a).to_owned()).collect();
    let extra: Vec<&str> = shapes::EMPTY_NON_TERMINALS
        .iter()
        .chain(shapes::WILDCARD_MATCHES)
        .copied()
        .collect();
    let names = questions(&server, &apexes, &extra);
    for upstream in [Upstream::Authoritative, Upstream::Recursive] {
        let found = harness.disagreements(upstream, &names).await;
        report(&found, names.len());
    }
}

/// DANE-DNS-05, issue 12: every CNAME shape, signed with NSEC, agrees with Unbound.
#[tokio::test]
async fn dane_dns_05_cname_shapes_agree_with_unbound() {
    shapes_agree_with_unbound(Denial::Nsec).await;
}

/// DANE-DNS-05, issue 12, RFC 5155 §7.2: every CNAME shape, signed with NSEC3, agrees with
/// Unbound (closest encloser proofs, NODATA at names and empty non-terminals).
#[tokio::test]
async fn dane_dns_05_cname_shapes_signed_with_nsec3_agree_with_unbound() {
    shapes_agree_with_unbound(Denial::Nsec3(Nsec3 { opt_out: false })).await;
}

/// DANE-DNS-05, issue 12, RFC 5155 §6 and §7.2.4: every CNAME shape, signed with NSEC3
/// opt-out (the insecure delegation of `unsigned.test` left out of the chain of `test.`),
/// agrees with Unbound.
#[tokio::test]
async fn dane_dns_05_cname_shapes_signed_with_nsec3_opt_out_agree_with_unbound() {
    shapes_agree_with_unbound(Denial::Nsec3(Nsec3 { opt_out: true })).await;
}

/// DANE-DNS-05, issue 12: every name of every scenario of the catalogue agrees with
/// Unbound, asked at the authoritative server and through Unbound as a recursive resolver.
#[tokio::test]
async fn dane_dns_05_every_scenario_agrees_with_unbound() {
    let testbed = Testbed::start().await.expect("testbed");
    scenarios_agree_with_unbound(&testbed).await;
}

/// DANE-DNS-05, issue 12, RFC 5155: every name of every scenario, with every zone signed with
/// NSEC3 opt-out, agrees with Unbound.
#[tokio::test]
async fn dane_dns_05_every_scenario_signed_with_nsec3_opt_out_agrees_with_unbound() {
    let testbed = Testbed::builder()
        .denial(Denial::Nsec3(Nsec3 { opt_out: true }))
        .start()
        .await
        .expect("testbed");
    scenarios_agree_with_unbound(&testbed).await;
}

/// Asks every name of every scenario at the authoritative server and through Unbound.
async fn scenarios_agree_with_unbound(testbed: &Testbed) {
    let harness = Harness::new(testbed.dns()).await;
    let apexes: Vec<String> = Scenario::all().iter().map(Scenario::domain).collect();
    let names = questions(testbed.dns(), &apexes, &[]);
    for upstream in [Upstream::Authoritative, Upstream::Recursive] {
        let found = harness.disagreements(upstream, &names).await;
        report(&found, names.len());
    }
}

/// Issue 12 as reported: an MX host CNAMEd to a host with an A record and no AAAA, asked
/// through a recursive resolver, gets a secure NODATA for AAAA through its secure alias
/// (DANE-DNS-06), in the same zone and in another signed zone; a NODATA whose NSEC does not
/// validate stays bogus (DANE-DNS-05).
#[tokio::test]
async fn dane_dns_06_cnamed_mx_host_without_aaaa_through_a_recursive_resolver() {
    let server = shapes::server(Denial::Nsec).await;
    let harness = Harness::new(&server).await;
    let dns = harness.validator(Upstream::Recursive).await;
    for (host, target) in [
        ("mx.alias.test", "host.alias.test"),
        ("mx2.alias.test", "host.provider.test"),
    ] {
        let addresses = dns.addresses(&DomainName::parse(host).unwrap()).await;
        let v6 = addresses
            .ipv6
            .unwrap_or_else(|e| panic!("{host} AAAA: {e}"));
        assert_eq!(v6.canonical().to_string(), target);
        assert_eq!(v6.chain().len(), 1);
        assert_eq!(v6.answer().security(), Security::Secure, "{host}");
        assert_eq!(v6.answer().value_ignoring_security(), &Answer::NoData);
        let v4 = addresses.ipv4.unwrap_or_else(|e| panic!("{host} A: {e}"));
        assert_eq!(v4.answer().security(), Security::Secure, "{host}");
    }
    let weak = DomainName::parse("weak.alias.test").unwrap();
    let error = dns.lookup(&weak, RecordType::AAAA).await.unwrap_err();
    assert!(error.is_bogus(), "{error}");
}

/// DANE-DNS-05, RFC 4035 §5.3.4: an answer expanded from a wildcard without the proof that no
/// closer match exists is bogus, asked at the authoritative server and through a recursive
/// resolver, with NSEC and with NSEC3; with the proof it is secure (RFC 5155 §8.8).
#[tokio::test]
async fn dane_dns_05_wildcard_expansion_without_its_proof_is_bogus() {
    for denial in [Denial::Nsec, Denial::Nsec3(Nsec3 { opt_out: false })] {
        let server = shapes::server(denial).await;
        let harness = Harness::new(&server).await;
        for upstream in [Upstream::Authoritative, Upstream::Recursive] {
            let dns = harness.validator(upstream).await;
            let forged = DomainName::parse("forged.wild.test").unwrap();
            let error = dns.lookup(&forged, RecordType::A).await.unwrap_err();
            assert!(error.is_bogus(), "{denial:?} {upstream:?}: {error}");
            let proven = DomainName::parse("a.wild.test").unwrap();
            let resolved = dns.lookup(&proven, RecordType::A).await.unwrap();
            assert_eq!(resolved.answer().security(), Security::Secure);
        }
    }
}
