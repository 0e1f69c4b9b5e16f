//! Hostile DNS: a huge TXT RRset (about 54 KB, which needs TCP), answers truncated over UDP
//! so that every one needs TCP, and answers that never come. Each lookup must end within the
//! DNS timeout with bounded memory; and the destination resolver must turn the silence into
//! `TEMP`, never `NOTFOUND ` (DANE-DNS-03, PFX-04). Both DNS back ends are exercised: in-process
//! validation against the server, and the AD bit of a real `unbound` in front of it.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use mxsec_net::dial::Dialer;
use mxsec_net::dns::{Backend, Dns, DnsConfig, DnsError, RecordType, TrustAnchorSource};
use mxsec_net::proto::decision::{DecisionConfig, TlsPolicy};
use mxsec_net::proto::dnssec::Security;
use mxsec_net::proto::name::{Destination, DomainName};
use mxsec_net::resolver::DestinationResolver;
use mxsec_net::sts_fetch::PolicyFetcher;
use mxsec_net::trust::TrustConfig;
use mxsec_testbed::dns::{DnsServer, Fault, Unbound, Zone};

use crate::meter::{measure, run, KIB, MIB};

/// The DNS timeout of these tests (per lookup).
const TIMEOUT: Duration = Duration::from_secs(3);

/// Time allowed beyond it.
const SLACK: Duration = Duration::from_secs(2);

/// Records in the huge `_mta-sts` RRset, of 255 octets each: about 54 KB on the wire, close
/// to the 64 KiB a DNS message can hold once the RRSIG is added.
const HUGE_RECORDS: usize = 200;

/// MX hosts of `many.test`: about 1,000 lookups (A, AAAA, TLSA for each) for one answer.
const MANY_MX: usize = 300;

/// The memory one lookup of the huge RRset may take: a few copies of the 54 KB message
/// (wire, parsed records, the strings handed out) and the resolver's buffers.
const MEMORY: usize = 2 * MIB;

fn name(text: &str) -> DomainName {
    DomainName::parse(text).unwrap()
}

fn zones() -> Vec<Zone> {
    let ip = Ipv4Addr::new(127, 0, 1, 25);
    // Each record looks like an MTA-STS record, so the parser reads every one.
    let mut huge = Zone::new("huge.test")
        .mx(10, "mx.huge.test")
        .a("mx.huge.test", ip);
    for i in 0..HUGE_RECORDS {
        let mut text = format!("v=STSv1; id={i}; x=").into_bytes();
        text.resize(255, b'a');
        huge = huge.txt_bytes("_mta-sts.huge.test", &[text]);
    }
    // An MX RRset of many hosts, each with its own address and TLSA lookups to make.
    let mut many = Zone::new("many.test");
    for i in 0..MANY_MX {
        let host = format!("mx{i}.many.test");
        many = many.mx(10, &host).a(&host, ip);
    }
    vec![
        huge,
        many,
        Zone::new("tc.test")
            .mx(10, "mx.tc.test")
            .a("mx.tc.test", ip)
            .txt("_mta-sts.tc.test", &["v=STSv1; id=20261129"])
            .fault("_mta-sts.tc.test", RecordType::TXT, Fault::Truncate)
            .fault("tc.test", RecordType::MX, Fault::Truncate),
        Zone::new("silent.test")
            .mx(10, "mx.silent.test")
            .a("mx.silent.test", ip)
            .fault("silent.test", RecordType::MX, Fault::Drop),
    ]
}

/// The server, and the DNS layer in front of it through `backend`.
struct Net {
    server: DnsServer,
    _unbound: Option<Unbound>,
    dns: Arc<Dns>,
}

async fn net(backend: Backend) -> Net {
    let server = DnsServer::builder().zones(zones()).start().await.unwrap();
    let anchor = server.trust_anchor().dnskey_line().to_owned();
    let (unbound, resolver) = match backend {
        Backend::Validate => (None, server.addr()),
        Backend::TrustAd => {
            let unbound = Unbound::start_with_anchor(&server, &anchor)
                .await
                .expect("unbound must be installed for the trust-ad tests");
            let addr: SocketAddr = unbound.addr();
            (Some(unbound), addr)
        }
    };
    let config = DnsConfig::builder()
        .backend(backend)
        .nameserver(resolver)
        .trust_anchor(TrustAnchorSource::Text(anchor))
        .timeout(TIMEOUT)
        .build();
    let dns = Arc::new(Dns::new(&config).await.unwrap());
    Net {
        server,
        _unbound: unbound,
        dns,
    }
}

fn label(backend: Backend) -> &'static str {
    match backend {
        Backend::Validate => "validate",
        Backend::TrustAd => "trust-ad",
    }
}

async fn hostile_dns_huge_txt(backend: Backend) {
    let net = net(backend).await;
    let measured = measure(net.dns.txt(&name("_mta-sts.huge.test"))).await;
    let case = format!("DNS, {HUGE_RECORDS} x 255-octet TXT ({})", label(backend));
    measured.assert_within(&case, TIMEOUT, MEMORY);
    let txt = measured.value.unwrap();
    let records = txt.answer().require_secure().unwrap().records().unwrap();
    assert_eq!(records.len(), HUGE_RECORDS);
    if backend == Backend::Validate {
        assert!(net.server.tcp_queries() >= 1, "the answer needs TCP");
    }
}

async fn sts_txt_05_hostile_huge_rrset_means_no_policy(backend: Backend) {
    let net = net(backend).await;
    let resolver = resolver(&net);
    let destination = Destination::parse("huge.test").unwrap();
    let config = DecisionConfig::default();
    let measured = measure(resolver.decide(&destination, &config)).await;
    let case = format!("resolver, huge _mta-sts RRset ({})", label(backend));
    measured.assert_within(&case, TIMEOUT + SLACK, MEMORY);
    // STS-TXT-05: 200 records that start with v=STSv1 are not exactly one: no policy.
    let (_, decision) = measured.value;
    assert_eq!(decision.policy, TlsPolicy::NoPolicy, "{decision:?}");
}

async fn hostile_dns_hundreds_of_mx_hosts(backend: Backend) {
    let net = net(backend).await;
    let resolver = resolver(&net);
    let destination = Destination::parse("many.test").unwrap();
    let config = DecisionConfig::default();
    let measured = measure(resolver.decide(&destination, &config)).await;
    let case = format!("resolver, {MANY_MX} MX hosts ({})", label(backend));
    measured.assert_within(&case, 2 * TIMEOUT, 4 * MIB);
    // Every host was looked up: none has TLSA, and there is no MTA-STS.
    let (resolution, decision) = measured.value;
    assert_eq!(resolution.hosts.len(), MANY_MX);
    assert_eq!(
        decision.policy,
        TlsPolicy::NoPolicy,
        "{:?}",
        decision.policy
    );
}

async fn dane_tlsa_06_hostile_truncated_answers_need_tcp(backend: Backend) {
    let net = net(backend).await;
    let measured = measure(async {
        let mx = net.dns.mx(&name("tc.test")).await;
        let txt = net.dns.txt(&name("_mta-sts.tc.test")).await;
        (mx, txt)
    })
    .await;
    let case = format!("DNS, truncated over UDP ({})", label(backend));
    measured.assert_within(&case, 2 * TIMEOUT, 512 * KIB);
    let (mx, txt) = measured.value;
    assert_eq!(mx.unwrap().answer().security(), Security::Secure);
    assert!(txt.unwrap().answer().require_secure().is_some());
    assert!(net.server.tcp_queries() >= 2, "both answers came over TCP");
}

async fn dane_dns_03_hostile_answers_never_come(backend: Backend) {
    let net = net(backend).await;
    let measured = measure(net.dns.mx(&name("silent.test"))).await;
    let case = format!("DNS, answers never come ({})", label(backend));
    measured.assert_within(&case, TIMEOUT + SLACK, 512 * KIB);
    let err = measured.value.unwrap_err();
    assert!(
        matches!(err, DnsError::Timeout { .. } | DnsError::ServFail { .. }),
        "{err}"
    );
}

/// PFX-04, DANE-DNS-03: when the MX lookup never returns, the answer defers.
async fn pfx_04_hostile_silence_is_temp_not_notfound(backend: Backend) {
    let net = net(backend).await;
    let resolver = resolver(&net);
    let destination = Destination::parse("silent.test").unwrap();
    let config = DecisionConfig::default();
    let measured = measure(resolver.decide(&destination, &config)).await;
    let case = format!("resolver, MX lookup never answered ({})", label(backend));
    measured.assert_within(&case, TIMEOUT + SLACK, 512 * KIB);
    let (_, decision) = measured.value;
    let payload = decision.socketmap_payload(&config);
    assert!(payload.starts_with("TEMP "), "{payload}");
}

fn resolver(net: &Net) -> DestinationResolver {
    let fetcher = PolicyFetcher::new(&TrustConfig::empty(), Dialer::new(TIMEOUT))
        .unwrap()
        .timeout(TIMEOUT);
    DestinationResolver::new(net.dns.clone(), Arc::new(fetcher), None)
}

/// One test per case and back end.
macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod validate {
            $(#[test] fn $case() { super::run(super::$case(super::Backend::Validate)); })*
        }
        mod trust_ad {
            $(#[test] fn $case() { super::run(super::$case(super::Backend::TrustAd)); })*
        }
    };
}

both_backends!(
    hostile_dns_huge_txt,
    hostile_dns_hundreds_of_mx_hosts,
    sts_txt_05_hostile_huge_rrset_means_no_policy,
    dane_tlsa_06_hostile_truncated_answers_need_tcp,
    dane_dns_03_hostile_answers_never_come,
    pfx_04_hostile_silence_is_temp_not_notfound,
);
