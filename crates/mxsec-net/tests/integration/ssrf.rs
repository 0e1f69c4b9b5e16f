//! The connect policy against server-side request forgery, end to end: names in the testbed's
//! DNS that resolve to special-purpose addresses, and an answer that changes between the
//! lookup a server validates and the one it connects with (DNS rebinding). SCENARIOS.md N-01,
//! RFC 6890 §2.2.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mxsec_net::dial::{AddressKind, ConnectPolicy, DialError, Dialer};
use mxsec_net::dns::{Answer, Dns, DnsConfig, TrustAnchorSource};
use mxsec_net::proto::name::DomainName;
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
