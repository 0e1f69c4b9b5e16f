//! One test per address class, IPv4 and IPv6 (SCENARIOS.md N-01, RFC 6890 §2.2).

use super::*;

/// Asserts the class of each address: `Some(kind)` for special-purpose, `None` for public.
fn assert_class(cases: &[(&str, Option<AddressKind>)]) {
    for (text, expected) in cases {
        let address: IpAddr = text.parse().unwrap();
        let got = special_purpose(address).map(|s| s.kind);
        assert_eq!(got, *expected, "{text}: {:?}", special_purpose(address));
    }
}

macro_rules! class_tests {
    ($($name:ident: $kind:expr => [$($addr:literal),+ $(,)?];)+) => {$(
        #[test]
        fn $name() {
            assert_class(&[$(($addr, $kind)),+]);
        }
    )+};
}

use AddressKind::*;

class_tests! {
    n_01_v4_unspecified: Some(Unspecified) => ["0.0.0.0"];
    n_01_v4_this_network: Some(ThisNetwork) => ["0.0.0.1", "0.255.255.255"];
    n_01_v4_loopback: Some(Loopback) => ["127.0.0.1", "127.255.255.254", "127.0.53.53"];
    n_01_v4_private: Some(Private) => [
        "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.0.1",
        "192.168.255.255",
    ];
    n_01_v4_shared: Some(Shared) => ["100.64.0.1", "100.127.255.255"];
    n_01_v4_link_local: Some(LinkLocal) => ["169.254.0.1", "169.254.169.254"];
    n_01_v4_protocol_assignments: Some(ProtocolAssignment) => ["192.0.0.1", "192.0.0.170"];
    n_01_v4_documentation: Some(Documentation) => [
        "192.0.2.1", "198.51.100.7", "203.0.113.255",
    ];
    n_01_v4_relay_6to4: Some(Relay6to4) => ["192.88.99.1"];
    n_01_v4_benchmarking: Some(Benchmarking) => ["198.18.0.1", "198.19.255.255"];
    n_01_v4_multicast: Some(Multicast) => ["224.0.0.1", "239.255.255.255"];
    n_01_v4_reserved: Some(Reserved) => ["240.0.0.1", "255.255.255.254"];
    n_01_v4_broadcast: Some(Broadcast) => ["255.255.255.255"];
    n_01_v4_public: None => [
        "1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0",
        "126.255.255.255", "128.0.0.0", "169.253.255.255", "172.15.255.255", "172.32.0.0",
        "192.0.0.9", "192.0.0.10", "192.0.1.255", "192.0.3.0", "192.167.255.255",
        "192.169.0.0", "198.17.255.255", "198.20.0.0", "223.255.255.255",
    ];

    n_01_v6_unspecified: Some(Unspecified) => ["::"];
    n_01_v6_loopback: Some(Loopback) => ["::1"];
    n_01_v6_unique_local: Some(UniqueLocal) => ["fc00::1", "fd12:3456:789a::1"];
    n_01_v6_link_local: Some(LinkLocal) => ["fe80::1", "febf::1"];
    n_01_v6_site_local: Some(SiteLocal) => ["fec0::1"];
    n_01_v6_multicast: Some(Multicast) => ["ff02::1", "ff0e::101"];
    n_01_v6_documentation: Some(Documentation) => ["2001:db8::1", "3fff::25"];
    n_01_v6_benchmarking: Some(Benchmarking) => ["2001:2::1"];
    n_01_v6_protocol_assignments: Some(ProtocolAssignment) => ["2001:10::1", "2001:1::4"];
    n_01_v6_teredo: Some(Teredo) => ["2001:0:4136:e378:8000:63bf:3fff:fdd2"];
    n_01_v6_6to4: Some(SixToFour) => ["2002:7f00:1::1", "2002:808:808::1"];
    n_01_v6_discard_only: Some(DiscardOnly) => ["100::1"];
    n_01_v6_local_translation: Some(LocalTranslation) => ["64:ff9b:1::a00:1"];
    n_01_v6_reserved_outside_global_unicast: Some(Reserved) => [
        "::2", "::127.0.0.1", "4000::1", "5f00::1", "1::1", "e000::1",
    ];
    n_01_v6_public: None => [
        "2001:4860:4860::8888", "2606:4700::1111", "2a00:1450:4001::1b", "2001:1::1",
        "2001:1::2", "2001:3::1", "2001:4:112::1", "2001:20::1", "2001:30::1",
        "2001:200::1", "3ffe::1", "64:ff9b::808:808",
    ];
}

#[test]
fn n_01_v6_ipv4_mapped_is_judged_by_the_embedded_address() {
    let mapped = |text: &str| special_purpose(text.parse().unwrap()).unwrap();
    let loopback = mapped("::ffff:127.0.0.1");
    assert_eq!(loopback.kind, Loopback);
    assert_eq!(
        loopback.embedded,
        Some(Embedding::Ipv4Mapped(Ipv4Addr::LOCALHOST))
    );
    assert_eq!(mapped("::ffff:10.1.2.3").kind, Private);
    assert_eq!(mapped("::ffff:169.254.169.254").kind, LinkLocal);
    // A mapped public address is refused too: no DNS answer legitimately holds one.
    let public = mapped("::ffff:8.8.8.8");
    assert_eq!(public.kind, Ipv4Mapped);
    assert_eq!(public.block, "::ffff:0:0/96");
}

#[test]
fn n_01_v6_nat64_is_judged_by_the_embedded_address() {
    let nat64 = special_purpose("64:ff9b::7f00:1".parse().unwrap()).unwrap();
    assert_eq!(nat64.kind, Loopback);
    assert_eq!(nat64.embedded, Some(Embedding::Nat64(Ipv4Addr::LOCALHOST)));
    assert_eq!(
        special_purpose("64:ff9b::c0a8:101".parse().unwrap()).map(|s| s.kind),
        Some(Private)
    );
    assert_eq!(special_purpose("64:ff9b::808:808".parse().unwrap()), None);
}

#[test]
fn n_01_verdict_names_block_and_rfc() {
    let s = special_purpose("10.1.2.3".parse().unwrap()).unwrap();
    assert_eq!(s.to_string(), "private address (10.0.0.0/8, RFC 1918)");
    let s = special_purpose("::ffff:192.168.1.1".parse().unwrap()).unwrap();
    assert_eq!(
        s.to_string(),
        "private address (192.168.0.0/16, RFC 1918) in IPv4-mapped form (192.168.1.1)"
    );
    let s = special_purpose("4000::1".parse().unwrap()).unwrap();
    assert_eq!(
        s.to_string(),
        "reserved address (outside 2000::/3, RFC 4291)"
    );
}

#[test]
fn n_01_every_table_block_contains_its_own_network() {
    for &(network, prefix, kind, block, _) in V4_BLOCKS {
        let got = special_v4(Ipv4Addr::from(network)).map(|s| s.kind);
        // 0.0.0.0 is listed as unspecified before "this network"; 240/4's network is reserved.
        assert!(got.is_some(), "{block} /{prefix} {kind:?}");
    }
    for &(network, prefix, kind, block, _) in V6_BLOCKS {
        let got = special_v6(Ipv6Addr::from(network)).map(|s| s.kind);
        assert!(got.is_some(), "{block} /{prefix} {kind:?}");
    }
}
