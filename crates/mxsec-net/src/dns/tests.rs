//! The DNS layer against real servers on loopback: the testbed's authoritative server, and
//! for `trust-ad` a real `unbound` validating from the testbed's root key. Every behaviour
//! test runs once per back end (module `validate` and module `trust_ad`).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use mxsec_proto::dane::tlsa::{CertUsage, MatchingType, Selector, TlsaRecord};
use mxsec_proto::dnssec::Security;
use mxsec_proto::name::DomainName;
use mxsec_testbed::dns::{Bogus, DnsServer, Fault, RecordType as Rt, Unbound, Zone};

use super::*;

const TIMEOUT: Duration = Duration::from_secs(3);

fn name(text: &str) -> DomainName {
    DomainName::parse(text).unwrap()
}

fn tlsa_record(byte: u8) -> TlsaRecord {
    TlsaRecord {
        usage: CertUsage::DaneEe,
        selector: Selector::Spki,
        matching: MatchingType::Sha256,
        data: vec![byte; 32],
    }
}

/// The zones every test resolves in.
fn world() -> Vec<Zone> {
    let ip = Ipv4Addr::new(127, 0, 1, 25);
    let huge: Vec<Vec<u8>> = (0..40u8).map(|i| vec![b'a' + i % 26; 200]).collect();
    vec![
        Zone::new("secure.test")
            .mx(10, "mx.secure.test")
            .mx(20, "alias.secure.test")
            .a("mx.secure.test", ip)
            .a("mx2.secure.test", ip)
            .cname("alias.secure.test", "mx.secure.test")
            .tlsa("_25._tcp.mx.secure.test", &tlsa_record(1))
            .tlsa("_25._tcp.stale.secure.test", &tlsa_record(4))
            .expire_rrsig("_25._tcp.stale.secure.test", Rt::TLSA)
            .txt("_mta-sts.secure.test", &["v=STSv1; ", "id=2026"])
            .cname("_mta-sts.alias.secure.test", "_mta-sts.secure.test")
            .cname("loop1.secure.test", "loop2.secure.test")
            .cname("loop2.secure.test", "loop1.secure.test"),
        Zone::new("insecure.test")
            .insecure()
            .mx(10, "mx.insecure.test")
            .a("mx.insecure.test", ip)
            .cname("alias.insecure.test", "mx.secure.test")
            .cname("bogus-alias.insecure.test", "mx.expired.test")
            .txt("_mta-sts.insecure.test", &["v=STSv1; id=1"]),
        Zone::new("expired.test")
            .bogus(Bogus::ExpiredSignatures)
            .mx(10, "mx.expired.test"),
        Zone::new("wrongds.test")
            .bogus(Bogus::DsMismatch)
            .mx(10, "mx.wrongds.test"),
        Zone::new("corrupt.test")
            .mx(10, "mx.corrupt.test")
            .corrupt_rrsig("corrupt.test", Rt::MX),
        Zone::new("nullmx.test").null_mx(),
        Zone::new("mixed.test")
            .mx(0, ".")
            .mx(10, "mx.mixed.test")
            .mx(20, "192.0.2.1")
            .a("mx.mixed.test", ip),
        Zone::new("cnamed.test")
            .cname("mx.cnamed.test", "mx.target.test")
            .cname("mx2.cnamed.test", "mx2.target.test")
            .tlsa("_25._tcp.mx2.cnamed.test", &tlsa_record(2)),
        Zone::new("target.test")
            .a("mx.target.test", ip)
            .a("mx2.target.test", ip)
            .tlsa("_25._tcp.mx.target.test", &tlsa_record(3)),
        Zone::new("faults.test")
            .a("tc.faults.test", ip)
            .txt_bytes("big.faults.test", &huge)
            .fault("sf.faults.test", Rt::TXT, Fault::ServFail)
            .fault("refused.faults.test", Rt::TXT, Fault::Refused)
            .fault("drop.faults.test", Rt::TXT, Fault::Drop)
            .fault("tc.faults.test", Rt::A, Fault::Truncate),
    ]
}

/// A testbed, and the DNS layer pointed at it through one back end.
struct Net {
    server: DnsServer,
    unbound: Option<Unbound>,
    dns: Dns,
}

impl Net {
    async fn start(backend: Backend) -> Self {
        let server = DnsServer::builder().zones(world()).start().await.unwrap();
        let anchor = server.trust_anchor().dnskey_line().to_owned();
        Self::with_anchor(server, backend, &anchor, TIMEOUT).await
    }

    async fn with_anchor(
        server: DnsServer,
        backend: Backend,
        anchor: &str,
        timeout: Duration,
    ) -> Self {
        let (unbound, resolver) = match backend {
            Backend::Validate => (None, server.addr()),
            Backend::TrustAd => {
                let unbound = Unbound::start_with_anchor(&server, anchor)
                    .await
                    .expect("unbound must be installed for the trust-ad tests");
                let addr = unbound.addr();
                (Some(unbound), addr)
            }
        };
        let config = DnsConfig::builder()
            .backend(backend)
            .nameserver(resolver)
            .trust_anchor(TrustAnchorSource::Text(anchor.to_owned()))
            .timeout(timeout)
            .build();
        let dns = Dns::new(&config).await.unwrap();
        Self {
            server,
            unbound,
            dns,
        }
    }

    fn log(&self) -> String {
        self.unbound.as_ref().map(Unbound::log).unwrap_or_default()
    }
}

fn exchanges(set: &MxSet) -> Vec<(u16, MxTarget)> {
    match set {
        MxSet::Exchanges(list) => list
            .iter()
            .map(|e| (e.preference, e.target.clone()))
            .collect(),
        MxSet::NullMx => Vec::new(),
    }
}

/// Generates one test per back end from an async function taking the back end.
macro_rules! both_backends {
    ($($test:ident),* $(,)?) => {
        mod validate {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::Backend::Validate).await;
                }
            )*
        }
        mod trust_ad {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::Backend::TrustAd).await;
                }
            )*
        }
    };
}

both_backends!(
    dane_dns_02_secure_mx,
    dane_dns_02_insecure_mx,
    dane_dns_05_bogus_mx_is_an_error,
    dane_dns_05_bogus_tlsa_is_an_error,
    dane_disc_06_secure_and_insecure_denials,
    dane_disc_06_deep_nxdomain_tlsa_is_a_secure_denial,
    dane_disc_02_null_mx,
    dane_disc_02_mixed_null_mx_and_ip_literal_flagged,
    dane_disc_02_cnamed_mx_host,
    dane_disc_03_tlsa_base_domain,
    dane_dns_06_addresses_each_with_its_status,
    sts_txt_06_txt_strings_and_alias,
    dane_dns_03_servfail_maps_to_error,
    dane_dns_03_cname_loop_is_an_error,
    dane_dns_03_drop_is_a_timeout,
    dane_tlsa_06_truncated_answers_retry_over_tcp,
    dane_dns_05_wrong_trust_anchor_makes_everything_bogus,
);

/// Once a delegation is proven insecure, every name below it is asked with one query and
/// is insecure (RFC 4035 §4.3); the proof does not reach names elsewhere, and a CNAME out of
/// the insecure zone still gets its target validated.
#[tokio::test]
async fn dane_dns_02_names_below_a_proven_insecure_delegation_cost_one_query() {
    let net = Net::start(Backend::Validate).await;
    let queries = || net.server.udp_queries() + net.server.tcp_queries();
    let mx = net.dns.mx(&name("insecure.test")).await.unwrap();
    assert_eq!(mx.answer().security(), Security::Insecure);

    let before = queries();
    let txt = net.dns.txt(&name("_mta-sts.insecure.test")).await.unwrap();
    assert_eq!(txt.answer().security(), Security::Insecure);
    assert_eq!(
        txt.answer().value_ignoring_security().records().unwrap(),
        &vec![vec![b"v=STSv1; id=1".to_vec()]]
    );
    assert_eq!(queries() - before, 1, "one query for a name below the cut");

    let before = queries();
    let denial = net
        .dns
        .lookup(&name("_smtp._tls.nope.insecure.test"), Rt::TXT)
        .await
        .unwrap();
    assert_eq!(
        denial.answer(),
        &Dnssec::new(Security::Insecure, Answer::NxDomain)
    );
    assert_eq!(
        queries() - before,
        1,
        "one query for a denial below the cut"
    );

    // Elsewhere validation goes on as before.
    let mx = net.dns.mx(&name("secure.test")).await.unwrap();
    assert_eq!(mx.answer().security(), Security::Secure);
    let err = net.dns.mx(&name("expired.test")).await.unwrap_err();
    assert!(err.is_bogus(), "{err}");

    // A CNAME out of the insecure zone: the target is validated on its own.
    let addrs = net.dns.addresses(&name("alias.insecure.test")).await;
    let v4 = addrs.ipv4.unwrap();
    assert_eq!(v4.chain()[0].security, Security::Insecure);
    assert_eq!(v4.target_security(), Security::Secure);
    let err = net
        .dns
        .lookup(&name("bogus-alias.insecure.test"), Rt::A)
        .await
        .unwrap_err();
    assert!(err.is_bogus(), "a bogus target stays bogus: {err}");
}

async fn dane_dns_02_secure_mx(backend: Backend) {
    let net = Net::start(backend).await;
    let mx = net.dns.mx(&name("secure.test")).await.unwrap();
    assert_eq!(mx.answer().security(), Security::Secure, "{}", net.log());
    let set = mx.answer().require_secure().unwrap().records().unwrap();
    assert_eq!(
        exchanges(set),
        vec![
            (10, MxTarget::Host(name("mx.secure.test"))),
            (20, MxTarget::Host(name("alias.secure.test")))
        ]
    );
    assert!(mx.chain().is_empty());
}

async fn dane_dns_02_insecure_mx(backend: Backend) {
    let net = Net::start(backend).await;
    let mx = net.dns.mx(&name("insecure.test")).await.unwrap();
    assert_eq!(mx.answer().security(), Security::Insecure);
    assert_eq!(
        exchanges(mx.answer().value_ignoring_security().records().unwrap()),
        vec![(10, MxTarget::Host(name("mx.insecure.test")))]
    );
    assert!(mx.answer().require_secure().is_none());
}

async fn dane_dns_05_bogus_mx_is_an_error(backend: Backend) {
    let net = Net::start(backend).await;
    for domain in ["expired.test", "wrongds.test", "corrupt.test"] {
        let result = net.dns.mx(&name(domain)).await;
        let Err(err) = result else {
            panic!(
                "{domain}: {result:?}\nserver {} unbound {:?}\n{}",
                net.server.addr(),
                net.unbound.as_ref().map(Unbound::addr),
                net.log()
            );
        };
        assert!(err.is_bogus(), "{domain}: {err}\n{}", net.log());
    }
}

async fn dane_dns_05_bogus_tlsa_is_an_error(backend: Backend) {
    let net = Net::start(backend).await;
    let err = net
        .dns
        .tlsa(&name("stale.secure.test"), 25)
        .await
        .unwrap_err();
    assert!(err.is_bogus(), "{err}\n{}", net.log());
}

async fn dane_disc_06_secure_and_insecure_denials(backend: Backend) {
    let net = Net::start(backend).await;
    let cases = [
        ("mx.secure.test", Rt::AAAA, Security::Secure, Answer::NoData),
        (
            "nope.secure.test",
            Rt::A,
            Security::Secure,
            Answer::NxDomain,
        ),
        (
            "mx.insecure.test",
            Rt::AAAA,
            Security::Insecure,
            Answer::NoData,
        ),
        (
            "nope.insecure.test",
            Rt::A,
            Security::Insecure,
            Answer::NxDomain,
        ),
    ];
    for (host, rtype, security, answer) in cases {
        let r = net.dns.lookup(&name(host), rtype).await.unwrap();
        assert_eq!(r.answer().security(), security, "{host}/{rtype}");
        assert_eq!(
            r.answer().value_ignoring_security(),
            &answer,
            "{host}/{rtype}"
        );
    }
}

async fn dane_disc_06_deep_nxdomain_tlsa_is_a_secure_denial(backend: Backend) {
    let net = Net::start(backend).await;
    let tlsa = net.dns.tlsa(&name("mx2.secure.test"), 25).await.unwrap();
    assert_eq!(tlsa.base, TlsaBase::Host);
    assert_eq!(tlsa.owner, name("_25._tcp.mx2.secure.test"));
    assert_eq!(tlsa.answer.answer().security(), Security::Secure);
    assert_eq!(
        tlsa.answer.answer().value_ignoring_security(),
        &Answer::NxDomain
    );
    // And under a host that does not exist at all.
    let tlsa = net.dns.tlsa(&name("nope.secure.test"), 25).await.unwrap();
    assert_eq!(tlsa.answer.answer().security(), Security::Secure);
    assert!(tlsa.answer.answer().value_ignoring_security().is_denial());
    // An insecure zone's denial is insecure.
    let tlsa = net.dns.tlsa(&name("mx.insecure.test"), 25).await.unwrap();
    assert_eq!(tlsa.answer.answer().security(), Security::Insecure);
}

async fn dane_disc_02_null_mx(backend: Backend) {
    let net = Net::start(backend).await;
    let mx = net.dns.mx(&name("nullmx.test")).await.unwrap();
    assert_eq!(
        mx.answer().require_secure().unwrap(),
        &Answer::Records(MxSet::NullMx)
    );
}

async fn dane_disc_02_mixed_null_mx_and_ip_literal_flagged(backend: Backend) {
    let net = Net::start(backend).await;
    let mx = net.dns.mx(&name("mixed.test")).await.unwrap();
    let set = mx.answer().require_secure().unwrap().records().unwrap();
    assert!(set.has_mixed_null_mx());
    assert_eq!(
        exchanges(set),
        vec![
            (0, MxTarget::Root),
            (10, MxTarget::Host(name("mx.mixed.test"))),
            (20, MxTarget::IpLiteral("192.0.2.1".parse().unwrap())),
        ]
    );
}

async fn dane_disc_02_cnamed_mx_host(backend: Backend) {
    let net = Net::start(backend).await;
    let mx = net.dns.mx(&name("secure.test")).await.unwrap();
    let MxSet::Exchanges(list) = mx.answer().require_secure().unwrap().records().unwrap() else {
        panic!("not exchanges");
    };
    assert_eq!(list[0].alias, AliasCheck::NotAlias);
    let AliasCheck::Alias(target) = &list[1].alias else {
        panic!("alias.secure.test not flagged: {:?}", list[1].alias);
    };
    assert_eq!(target.require_secure(), Some(&name("mx.secure.test")));

    // Its addresses come through the chain, each link secure.
    let addrs = net.dns.addresses(&name("alias.secure.test")).await;
    let v4 = addrs.ipv4.unwrap();
    assert_eq!(v4.chain().len(), 1);
    assert_eq!(v4.chain()[0].security, Security::Secure);
    assert_eq!(v4.canonical(), &name("mx.secure.test"));
    assert_eq!(
        v4.answer().require_secure().unwrap(),
        &Answer::Records(vec![Ipv4Addr::new(127, 0, 1, 25)])
    );
    // No AAAA at the target: a secure NODATA reached through the secure alias.
    let v6 = addrs.ipv6.unwrap();
    assert_eq!(v6.chain().len(), 1);
    assert_eq!(v6.answer().security(), Security::Secure);
    assert_eq!(v6.answer().value_ignoring_security(), &Answer::NoData);
}

async fn dane_disc_03_tlsa_base_domain(backend: Backend) {
    let net = Net::start(backend).await;
    // Secure chain, TLSA at the expanded name.
    let t = net.dns.tlsa(&name("mx.cnamed.test"), 25).await.unwrap();
    assert_eq!(t.base, TlsaBase::Expanded);
    assert_eq!(t.base_domain, name("mx.target.test"));
    assert_eq!(t.owner, name("_25._tcp.mx.target.test"));
    assert_eq!(
        t.answer.answer().require_secure().unwrap(),
        &Answer::Records(vec![tlsa_record(3)])
    );
    // Secure chain, nothing at the expanded name: the original name.
    let t = net.dns.tlsa(&name("mx2.cnamed.test"), 25).await.unwrap();
    assert_eq!(t.base, TlsaBase::FallbackToHost);
    assert_eq!(t.owner, name("_25._tcp.mx2.cnamed.test"));
    assert_eq!(
        t.answer.answer().require_secure().unwrap(),
        &Answer::Records(vec![tlsa_record(2)])
    );
    // An alias in an insecure zone: the original name, and an insecure answer.
    let t = net
        .dns
        .tlsa(&name("alias.insecure.test"), 25)
        .await
        .unwrap();
    assert_eq!(t.base, TlsaBase::InsecureChain);
    assert_eq!(t.host_chain[0].security, Security::Insecure);
    assert_eq!(t.answer.answer().security(), Security::Insecure);
    // Not an alias.
    let t = net.dns.tlsa(&name("mx.secure.test"), 25).await.unwrap();
    assert_eq!(t.base, TlsaBase::Host);
    assert_eq!(
        t.answer.answer().require_secure().unwrap(),
        &Answer::Records(vec![tlsa_record(1)])
    );
}

async fn dane_dns_06_addresses_each_with_its_status(backend: Backend) {
    let net = Net::start(backend).await;
    let addrs = net.dns.addresses(&name("mx.insecure.test")).await;
    let v4 = addrs.ipv4.unwrap();
    assert_eq!(v4.answer().security(), Security::Insecure);
    assert_eq!(
        v4.answer().value_ignoring_security(),
        &Answer::Records(vec![Ipv4Addr::new(127, 0, 1, 25)])
    );
    // A secure alias to an insecure target is not secure data.
    let addrs = net.dns.addresses(&name("alias.insecure.test")).await;
    let v4 = addrs.ipv4.unwrap();
    assert_eq!(v4.chain()[0].security, Security::Insecure);
    assert_eq!(v4.target_security(), Security::Secure);
    assert_eq!(v4.answer().security(), Security::Insecure);
}

async fn sts_txt_06_txt_strings_and_alias(backend: Backend) {
    let net = Net::start(backend).await;
    let txt = net.dns.txt(&name("_mta-sts.secure.test")).await.unwrap();
    assert_eq!(
        txt.answer().require_secure().unwrap(),
        &Answer::Records(vec![vec![b"v=STSv1; ".to_vec(), b"id=2026".to_vec()]])
    );
    // STS-TXT-01: the record may be reached through a CNAME.
    let txt = net
        .dns
        .txt(&name("_mta-sts.alias.secure.test"))
        .await
        .unwrap();
    assert_eq!(txt.chain().len(), 1);
    assert_eq!(txt.answer().security(), Security::Secure);
}

async fn dane_dns_03_servfail_maps_to_error(backend: Backend) {
    let net = Net::start(backend).await;
    let err = net.dns.txt(&name("sf.faults.test")).await.unwrap_err();
    assert!(matches!(err, DnsError::ServFail { .. }), "{err}");
    let err = net.dns.txt(&name("refused.faults.test")).await.unwrap_err();
    match backend {
        Backend::Validate => assert!(matches!(err, DnsError::Refused { .. }), "{err}"),
        // A recursive resolver turns an authoritative REFUSED into SERVFAIL.
        Backend::TrustAd => assert!(matches!(err, DnsError::ServFail { .. }), "{err}"),
    }
}

async fn dane_dns_03_cname_loop_is_an_error(backend: Backend) {
    let net = Net::start(backend).await;
    let err = net
        .dns
        .lookup(&name("loop1.secure.test"), Rt::A)
        .await
        .unwrap_err();
    match backend {
        Backend::Validate => assert!(matches!(err, DnsError::CnameLoop { .. }), "{err}"),
        // unbound gives up on the loop itself.
        Backend::TrustAd => assert!(
            matches!(err, DnsError::CnameLoop { .. } | DnsError::ServFail { .. }),
            "{err}"
        ),
    }
}

async fn dane_dns_03_drop_is_a_timeout(backend: Backend) {
    let server = DnsServer::builder().zones(world()).start().await.unwrap();
    let anchor = server.trust_anchor().dnskey_line().to_owned();
    let net = Net::with_anchor(server, backend, &anchor, Duration::from_millis(1500)).await;
    let started = std::time::Instant::now();
    let err = net.dns.txt(&name("drop.faults.test")).await.unwrap_err();
    assert!(
        matches!(err, DnsError::Timeout { .. } | DnsError::ServFail { .. }),
        "{err}"
    );
    if backend == Backend::Validate {
        assert!(matches!(err, DnsError::Timeout { .. }), "{err}");
    }
    assert!(started.elapsed() < Duration::from_secs(4));
}

async fn dane_tlsa_06_truncated_answers_retry_over_tcp(backend: Backend) {
    let net = Net::start(backend).await;
    let a = net
        .dns
        .lookup(&name("tc.faults.test"), Rt::A)
        .await
        .unwrap();
    assert_eq!(a.answer().security(), Security::Secure);
    assert!(a.answer().value_ignoring_security().records().is_some());
    let txt = net.dns.txt(&name("big.faults.test")).await.unwrap();
    let records = txt.answer().require_secure().unwrap().records().unwrap();
    assert_eq!(records[0].len(), 40);
    assert!(net.server.tcp_queries() >= 2);
}

async fn dane_dns_05_wrong_trust_anchor_makes_everything_bogus(backend: Backend) {
    let other = DnsServer::builder().start().await.unwrap();
    let wrong = other.trust_anchor().dnskey_line().to_owned();
    let server = DnsServer::builder().zones(world()).start().await.unwrap();
    let net = Net::with_anchor(server, backend, &wrong, TIMEOUT).await;
    for domain in ["secure.test", "insecure.test", "nullmx.test"] {
        let err = net.dns.mx(&name(domain)).await.unwrap_err();
        assert!(err.is_bogus(), "{domain}: {err}");
    }
}

#[tokio::test]
async fn dane_dns_01_ds_trust_anchor_file() {
    let server = DnsServer::builder().zones(world()).start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = server.trust_anchor().write_files(dir.path()).unwrap();
    let config = DnsConfig::builder()
        .nameserver(server.addr())
        .trust_anchor(TrustAnchorSource::File(files.ds.clone()))
        .timeout(TIMEOUT)
        .build();
    let dns = Dns::new(&config).await.unwrap();
    let mx = dns.mx(&name("secure.test")).await.unwrap();
    assert_eq!(mx.answer().security(), Security::Secure);

    // A DS that matches no served key is refused at start, saying so.
    let other = DnsServer::builder().start().await.unwrap();
    let wrong = other.trust_anchor().ds_line().to_owned();
    let config = DnsConfig::builder()
        .nameserver(server.addr())
        .trust_anchor(TrustAnchorSource::Text(wrong))
        .timeout(TIMEOUT)
        .build();
    let err = Dns::new(&config).await.unwrap_err();
    assert!(err.to_string().contains("matches the DS"), "{err}");
}

#[tokio::test]
async fn dane_dns_01_trust_ad_refuses_non_loopback_resolvers() {
    let remote: SocketAddr = "192.0.2.53:53".parse().unwrap();
    let config = DnsConfig::builder()
        .backend(Backend::TrustAd)
        .nameserver(remote)
        .build();
    let err = Dns::new(&config).await.unwrap_err();
    assert!(matches!(err, DnsConfigError::NonLoopbackResolver(a) if a == remote));
    let config = DnsConfig::builder()
        .backend(Backend::TrustAd)
        .nameserver(remote)
        .allow_non_loopback_resolver(true)
        .build();
    assert!(Dns::new(&config).await.is_ok());
}

#[tokio::test]
async fn dane_dns_03_lookup_timeout_is_enforced() {
    // A server that answers every query after 2 s, under a 300 ms lookup timeout.
    let server = DnsServer::builder()
        .zones(world())
        .answer_delay(Duration::from_secs(2))
        .start()
        .await
        .unwrap();
    let anchor = server.trust_anchor().dnskey_line().to_owned();
    let net = Net::with_anchor(
        server,
        Backend::Validate,
        &anchor,
        Duration::from_millis(300),
    )
    .await;
    let err = net.dns.mx(&name("secure.test")).await.unwrap_err();
    assert!(
        matches!(err, DnsError::Timeout { after, .. } if after == Duration::from_millis(300)),
        "{err}"
    );
}
