//! The connect policy against server-side request forgery, end to end: names in the testbed's
//! DNS that resolve to special-purpose addresses, and an answer that changes between the
//! lookup a server validates and the one it connects with (DNS rebinding). SCENARIOS.md N-01,
//! RFC 6890 §2.2.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mxsec_net::dial::{AddressKind, AddressMap, ConnectPolicy, DialError, Dialer};
use mxsec_net::dns::{Answer, Dns, DnsConfig, TrustAnchorSource};
use mxsec_net::proto::name::DomainName;
use mxsec_net::smtp_probe::{self, ProbeFailure, ProbeOptions};
use mxsec_net::sts_fetch::{FetchFailure, PolicyFetcher};
use mxsec_net::tls::Verification;
use mxsec_net::trust::TrustConfig;
use mxsec_testbed::dns::{DnsServer, Zone};
use tokio::net::TcpListener;

/// A loopback listener that counts the connections it accepts.
async fn watched(ip: IpAddr) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind(SocketAddr::new(ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    (addr, count)
}

async fn dns_for(server: &DnsServer) -> Dns {
    let config = DnsConfig::builder()
        .nameserver(server.addr())
        .trust_anchor(TrustAnchorSource::Text(
            server.trust_anchor().dnskey_line().to_owned(),
        ))
        .timeout(Duration::from_secs(5))
        .build();
    Dns::new(&config).await.unwrap()
}

/// Every address of `host`, IPv4 then IPv6.
async fn addresses(dns: &Dns, host: &str) -> Vec<IpAddr> {
    let found = dns.addresses(&DomainName::parse(host).unwrap()).await;
    let mut all: Vec<IpAddr> = Vec::new();
    if let Ok(v4) = found.ipv4 {
        if let Answer::Records(list) = v4.answer().value_ignoring_security() {
            all.extend(list.iter().copied().map(IpAddr::V4));
        }
    }
    if let Ok(v6) = found.ipv6 {
        if let Answer::Records(list) = v6.answer().value_ignoring_security() {
            all.extend(list.iter().copied().map(IpAddr::V6));
        }
    }
    all
}

fn public_only() -> Dialer {
    Dialer::new(Duration::from_secs(5)).with_policy(ConnectPolicy::PublicOnly)
}

#[tokio::test]
async fn n_01_names_resolving_to_special_addresses_are_never_connected_to() {
    let (v4, v4_count) = watched(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
    let (v6, v6_count) = watched(IpAddr::V6(Ipv6Addr::LOCALHOST)).await;
    let zone = Zone::new("ssrf.test")
        .a("loopback.ssrf.test", Ipv4Addr::LOCALHOST)
        .aaaa("loopback.ssrf.test", Ipv6Addr::LOCALHOST)
        .a("private.ssrf.test", Ipv4Addr::new(10, 1, 2, 3))
        .aaaa("private.ssrf.test", "fd00::25".parse().unwrap())
        .a("metadata.ssrf.test", Ipv4Addr::new(169, 254, 169, 254))
        .aaaa("metadata.ssrf.test", "fe80::1".parse().unwrap())
        .a("mapped.ssrf.test", Ipv4Addr::new(100, 64, 0, 1))
        .aaaa("mapped.ssrf.test", "::ffff:127.0.0.1".parse().unwrap());
    let server = DnsServer::builder().zone(zone).start().await.unwrap();
    let dns = dns_for(&server).await;
    let dialer = public_only();

    let expected = [
        (
            "loopback.ssrf.test",
            [AddressKind::Loopback, AddressKind::Loopback],
        ),
        (
            "private.ssrf.test",
            [AddressKind::Private, AddressKind::UniqueLocal],
        ),
        (
            "metadata.ssrf.test",
            [AddressKind::LinkLocal, AddressKind::LinkLocal],
        ),
        (
            "mapped.ssrf.test",
            [AddressKind::Shared, AddressKind::Loopback],
        ),
    ];
    for (host, kinds) in expected {
        let found = addresses(&dns, host).await;
        assert_eq!(found.len(), 2, "{host}: {found:?}");
        for (address, kind) in found.into_iter().zip(kinds) {
            // The loopback answers point at the watched listeners' ports, so a connection
            // that slipped through would be counted.
            let port = if address.is_ipv4() {
                v4.port()
            } else {
                v6.port()
            };
            let target = SocketAddr::new(address, port);
            let early = dialer.permits(target).unwrap_err();
            let err = dialer.connect(target).await.unwrap_err();
            let DialError::Refused { refusal, .. } = &err else {
                panic!("{host} {address}: {err:?}");
            };
            assert_eq!(refusal.special.kind, kind, "{host} {address}");
            assert_eq!(early.to_string(), err.to_string());
        }
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(v4_count.load(Ordering::SeqCst), 0);
    assert_eq!(v6_count.load(Ordering::SeqCst), 0);

    // With the permissive policy the same name reaches the listener: the refusals above are
    // the policy's, not a failure to connect.
    let any = Dialer::new(Duration::from_secs(5));
    let loopback = addresses(&dns, "loopback.ssrf.test").await;
    any.connect(SocketAddr::new(loopback[0], v4.port()))
        .await
        .unwrap();
}

#[tokio::test]
async fn n_01_dns_rebinding_is_caught_on_the_address_connected_to() {
    let (listener, count) = watched(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
    let public = Ipv4Addr::new(9, 9, 9, 9);
    let zone = |address: Ipv4Addr| Zone::new("rebind.test").ttl(1).a("mx.rebind.test", address);
    let server = DnsServer::builder()
        .zone(zone(public))
        .start()
        .await
        .unwrap();
    let dns = dns_for(&server).await;
    let dialer = public_only();

    // First lookup: a public address, which the early check accepts. (Nothing connects to
    // it: tests never leave loopback.)
    let first = addresses(&dns, "mx.rebind.test").await;
    assert_eq!(first, [IpAddr::V4(public)]);
    assert!(dialer
        .permits(SocketAddr::new(first[0], listener.port()))
        .is_ok());

    // The answer changes: the same name now resolves to loopback.
    server.set_zones(&[zone(Ipv4Addr::LOCALHOST)]).unwrap();
    let second = addresses(&dns, "mx.rebind.test").await;
    assert_eq!(second, [IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    let err = dialer
        .connect(SocketAddr::new(second[0], listener.port()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DialError::Refused { refusal, .. }
            if refusal.special.kind == AddressKind::Loopback),
        "{err:?}"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        count.load(Ordering::SeqCst),
        0,
        "the rebound address was connected to"
    );
}

/// One name per address class, IPv4 and IPv6, with the class the connect policy must name;
/// `None` for the public controls. The embedded forms (IPv4-mapped, NAT64, 6to4, Teredo)
/// carry private IPv4 addresses.
const NAMES: &[(&str, &str, Option<AddressKind>)] = &[
    ("this-network", "0.1.2.3", Some(AddressKind::ThisNetwork)),
    ("unspecified4", "0.0.0.0", Some(AddressKind::Unspecified)),
    ("ten", "10.20.30.40", Some(AddressKind::Private)),
    ("one-seven-two", "172.31.0.25", Some(AddressKind::Private)),
    ("one-nine-two", "192.168.0.25", Some(AddressKind::Private)),
    ("cgnat", "100.64.0.25", Some(AddressKind::Shared)),
    ("loopback4", "127.0.0.25", Some(AddressKind::Loopback)),
    (
        "link-local4",
        "169.254.169.254",
        Some(AddressKind::LinkLocal),
    ),
    ("ietf", "192.0.0.25", Some(AddressKind::ProtocolAssignment)),
    ("test-net-1", "192.0.2.25", Some(AddressKind::Documentation)),
    (
        "test-net-2",
        "198.51.100.25",
        Some(AddressKind::Documentation),
    ),
    (
        "test-net-3",
        "203.0.113.25",
        Some(AddressKind::Documentation),
    ),
    ("relay", "192.88.99.1", Some(AddressKind::Relay6to4)),
    ("bench4", "198.18.0.25", Some(AddressKind::Benchmarking)),
    ("multicast4", "224.0.0.251", Some(AddressKind::Multicast)),
    ("reserved4", "240.0.0.25", Some(AddressKind::Reserved)),
    ("broadcast", "255.255.255.255", Some(AddressKind::Broadcast)),
    ("public4", "193.0.14.129", None),
    ("unspecified6", "::", Some(AddressKind::Unspecified)),
    ("loopback6", "::1", Some(AddressKind::Loopback)),
    ("mapped", "::ffff:10.0.0.1", Some(AddressKind::Private)),
    ("nat64", "64:ff9b::10.0.0.1", Some(AddressKind::Private)),
    (
        "nat64-local",
        "64:ff9b:1::a00:1",
        Some(AddressKind::LocalTranslation),
    ),
    ("six-to-four", "2002:a00:1::1", Some(AddressKind::SixToFour)),
    ("teredo", "2001:0:a00:1::1", Some(AddressKind::Teredo)),
    (
        "ietf6",
        "2001:100::25",
        Some(AddressKind::ProtocolAssignment),
    ),
    ("bench6", "2001:2::25", Some(AddressKind::Benchmarking)),
    ("doc6", "2001:db8::25", Some(AddressKind::Documentation)),
    ("doc6-new", "3fff::25", Some(AddressKind::Documentation)),
    ("discard", "100::25", Some(AddressKind::DiscardOnly)),
    ("ula", "fd00::25", Some(AddressKind::UniqueLocal)),
    ("link-local6", "fe80::25", Some(AddressKind::LinkLocal)),
    ("site-local", "fec0::25", Some(AddressKind::SiteLocal)),
    ("multicast6", "ff02::fb", Some(AddressKind::Multicast)),
    ("reserved6", "4000::25", Some(AddressKind::Reserved)),
    ("public6", "2a00:1450:4001::1b", None),
    ("nat64-public", "64:ff9b::c100:e81", None),
];

#[tokio::test]
async fn n_01_every_special_class_behind_a_name_is_refused_v4_and_v6() {
    let mut zone = Zone::new("classes.test");
    for (label, address, _) in NAMES {
        let owner = format!("{label}.classes.test");
        zone = match address.parse::<IpAddr>().unwrap() {
            IpAddr::V4(v4) => zone.a(&owner, v4),
            IpAddr::V6(v6) => zone.aaaa(&owner, v6),
        };
    }
    let server = DnsServer::builder().zone(zone).start().await.unwrap();
    let dns = dns_for(&server).await;
    let dialer = public_only();
    for &(label, text, kind) in NAMES {
        let host = format!("{label}.classes.test");
        let found = addresses(&dns, &host).await;
        let expected: IpAddr = text.parse().unwrap();
        assert_eq!(found, [expected], "{host}");
        let target = SocketAddr::new(expected, 25);
        match kind {
            // Judged without a socket: a refused address is never connected to, and a
            // public one must not be (tests stay on loopback).
            Some(kind) => {
                let err = dialer.permits(target).unwrap_err();
                let DialError::Refused { refusal, .. } = &err else {
                    panic!("{host}: {err:?}");
                };
                assert_eq!(refusal.special.kind, kind, "{host}: {err}");
                assert_eq!(refusal.address, expected, "{host}");
            }
            None => assert!(dialer.permits(target).is_ok(), "{host}"),
        }
    }
}

#[tokio::test]
async fn n_01_rebinding_is_caught_by_the_smtp_probe_and_the_policy_fetcher() {
    // Both loopback ports the rebound answer leads to are watched listeners (through the
    // address map, as on the testbed): a connection that got through would be counted.
    let (smtp, smtp_count) = watched(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
    let (https, https_count) = watched(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
    let rebound = Ipv4Addr::new(127, 0, 0, 1);
    let mut map = AddressMap::new();
    map.insert(SocketAddr::new(rebound.into(), 25), smtp)
        .unwrap();
    map.insert(SocketAddr::new(rebound.into(), 443), https)
        .unwrap();
    let dialer = Dialer::new(Duration::from_secs(5))
        .with_address_map(map)
        .with_policy(ConnectPolicy::PublicOnly);

    let public = Ipv4Addr::new(193, 0, 14, 129);
    let zone = |address: Ipv4Addr| {
        Zone::new("rebind2.test")
            .ttl(1)
            .a("mx.rebind2.test", address)
            .a("mta-sts.rebind2.test", address)
    };
    let server = DnsServer::builder()
        .zone(zone(public))
        .start()
        .await
        .unwrap();
    let dns = dns_for(&server).await;

    // The first answers are public: an early check on them passes.
    for host in ["mx.rebind2.test", "mta-sts.rebind2.test"] {
        let first = addresses(&dns, host).await;
        assert_eq!(first, [IpAddr::V4(public)], "{host}");
        assert!(dialer.permits(SocketAddr::new(first[0], 25)).is_ok());
    }

    // The answers change; the clients connect with the new ones and must refuse them.
    server.set_zones(&[zone(rebound)]).unwrap();
    let mx = addresses(&dns, "mx.rebind2.test").await;
    assert_eq!(mx, [IpAddr::V4(rebound)]);
    let options = ProbeOptions::new(
        DomainName::parse("client.test").unwrap(),
        DomainName::parse("mx.rebind2.test").unwrap(),
        Verification::Observe {
            dane: None,
            pkix: None,
        },
    );
    let report = smtp_probe::probe(&dialer, mx[0], &options).await;
    assert!(
        matches!(&report.result,
            Err(ProbeFailure::Connect(DialError::Refused { refusal, .. }))
                if refusal.special.kind == AddressKind::Loopback),
        "{:?}",
        report.result
    );
    assert!(report.dialogue.is_none() && report.tls.is_none());

    let sts = addresses(&dns, "mta-sts.rebind2.test").await;
    assert_eq!(sts, [IpAddr::V4(rebound)]);
    let fetcher = PolicyFetcher::new(&TrustConfig::empty(), dialer.clone()).unwrap();
    let outcome = fetcher
        .fetch_any(&DomainName::parse("rebind2.test").unwrap(), &sts)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&outcome.result,
            Err(FetchFailure::Connect(DialError::Refused { refusal, .. }))
                if refusal.special.kind == AddressKind::Loopback),
        "{:?}",
        outcome.result
    );

    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(smtp_count.load(Ordering::SeqCst), 0, "the probe connected");
    assert_eq!(
        https_count.load(Ordering::SeqCst),
        0,
        "the fetcher connected"
    );

    // The same clients with the permissive policy do reach the listeners: the refusals
    // above are the policy's, judged on the addresses the sockets would have connected to.
    let mut map = AddressMap::new();
    map.insert(SocketAddr::new(rebound.into(), 25), smtp)
        .unwrap();
    let any = Dialer::new(Duration::from_secs(5)).with_address_map(map);
    let _ = smtp_probe::probe(&any, mx[0], &options).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(smtp_count.load(Ordering::SeqCst), 1);
}
