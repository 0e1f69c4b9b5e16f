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

/// Every row of the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 §2.2,
/// with the "Globally Reachable" column of RFC 8190 §2.1), plus multicast and the reserved
/// space, with one address inside the block and the decision the module documentation gives
/// for it: `Some(kind)` refused, `None` accepted.
const IANA_ROWS: &[(&str, &str, Option<AddressKind>)] = &[
    // IPv4 Special-Purpose Address Registry.
    ("0.0.0.0/8 this network", "0.1.2.3", Some(ThisNetwork)),
    ("0.0.0.0/32 this host", "0.0.0.0", Some(Unspecified)),
    ("10.0.0.0/8 private-use", "10.0.0.1", Some(Private)),
    (
        "100.64.0.0/10 shared (CGNAT)",
        "100.100.100.100",
        Some(Shared),
    ),
    ("127.0.0.0/8 loopback", "127.1.2.3", Some(Loopback)),
    (
        "169.254.0.0/16 link local",
        "169.254.169.254",
        Some(LinkLocal),
    ),
    ("172.16.0.0/12 private-use", "172.20.1.1", Some(Private)),
    (
        "192.0.0.0/24 IETF protocol",
        "192.0.0.200",
        Some(ProtocolAssignment),
    ),
    (
        "192.0.0.0/29 service continuity",
        "192.0.0.1",
        Some(ProtocolAssignment),
    ),
    ("192.0.0.8/32 dummy", "192.0.0.8", Some(ProtocolAssignment)),
    ("192.0.0.9/32 PCP anycast (global)", "192.0.0.9", None),
    ("192.0.0.10/32 TURN anycast (global)", "192.0.0.10", None),
    (
        "192.0.0.170/32 NAT64 discovery",
        "192.0.0.170",
        Some(ProtocolAssignment),
    ),
    (
        "192.0.0.171/32 NAT64 discovery",
        "192.0.0.171",
        Some(ProtocolAssignment),
    ),
    ("192.0.2.0/24 TEST-NET-1", "192.0.2.25", Some(Documentation)),
    ("192.31.196.0/24 AS112-v4 (global)", "192.31.196.1", None),
    ("192.52.193.0/24 AMT (global)", "192.52.193.1", None),
    (
        "192.88.99.0/24 6to4 relay (N/A)",
        "192.88.99.1",
        Some(Relay6to4),
    ),
    ("192.88.99.2/32 6a44 relay", "192.88.99.2", Some(Relay6to4)),
    ("192.168.0.0/16 private-use", "192.168.1.1", Some(Private)),
    ("192.175.48.0/24 AS112 (global)", "192.175.48.1", None),
    (
        "198.18.0.0/15 benchmarking",
        "198.19.0.1",
        Some(Benchmarking),
    ),
    (
        "198.51.100.0/24 TEST-NET-2",
        "198.51.100.25",
        Some(Documentation),
    ),
    (
        "203.0.113.0/24 TEST-NET-3",
        "203.0.113.25",
        Some(Documentation),
    ),
    ("240.0.0.0/4 reserved", "250.1.2.3", Some(Reserved)),
    (
        "255.255.255.255/32 limited broadcast",
        "255.255.255.255",
        Some(Broadcast),
    ),
    // Outside the registry.
    ("224.0.0.0/4 multicast", "239.1.2.3", Some(Multicast)),
    ("global unicast", "193.0.14.129", None),
    // IPv6 Special-Purpose Address Registry.
    ("::1/128 loopback", "::1", Some(Loopback)),
    ("::/128 unspecified", "::", Some(Unspecified)),
    (
        "::ffff:0:0/96 IPv4-mapped, private",
        "::ffff:10.0.0.1",
        Some(Private),
    ),
    (
        "::ffff:0:0/96 IPv4-mapped, loopback",
        "::ffff:127.0.0.1",
        Some(Loopback),
    ),
    (
        "::ffff:0:0/96 IPv4-mapped, public",
        "::ffff:8.8.8.8",
        Some(Ipv4Mapped),
    ),
    (
        "64:ff9b::/96 NAT64 of a public address (global)",
        "64:ff9b::8.8.8.8",
        None,
    ),
    (
        "64:ff9b::/96 NAT64 of a private address",
        "64:ff9b::10.0.0.1",
        Some(Private),
    ),
    (
        "64:ff9b::/96 NAT64 of loopback",
        "64:ff9b::127.0.0.1",
        Some(Loopback),
    ),
    (
        "64:ff9b::/96 NAT64 of link-local",
        "64:ff9b::169.254.169.254",
        Some(LinkLocal),
    ),
    (
        "64:ff9b:1::/48 local-use translation",
        "64:ff9b:1::8.8.8.8",
        Some(LocalTranslation),
    ),
    ("100::/64 discard-only", "100::1", Some(DiscardOnly)),
    (
        "2001::/23 IETF protocol",
        "2001:100::1",
        Some(ProtocolAssignment),
    ),
    ("2001::/32 Teredo (N/A)", "2001::1", Some(Teredo)),
    (
        "2001::/32 Teredo of 10.0.0.1",
        "2001:0:a00:1::1",
        Some(Teredo),
    ),
    ("2001:1::1/128 PCP anycast (global)", "2001:1::1", None),
    ("2001:1::2/128 TURN anycast (global)", "2001:1::2", None),
    (
        "2001:1::3/128 DNS-SD SRP anycast (global)",
        "2001:1::3",
        None,
    ),
    (
        "2001:2::/48 benchmarking",
        "2001:2:0:1::1",
        Some(Benchmarking),
    ),
    ("2001:3::/32 AMT (global)", "2001:3::1", None),
    ("2001:4:112::/48 AS112-v6 (global)", "2001:4:112::1", None),
    (
        "2001:10::/28 deprecated ORCHID",
        "2001:10::1",
        Some(ProtocolAssignment),
    ),
    ("2001:20::/28 ORCHIDv2 (global)", "2001:20::1", None),
    ("2001:30::/28 DRIP DETs (global)", "2001:30::1", None),
    (
        "2001:db8::/32 documentation",
        "2001:db8::25",
        Some(Documentation),
    ),
    (
        "2002::/16 6to4 (N/A), public",
        "2002:808:808::1",
        Some(SixToFour),
    ),
    (
        "2002::/16 6to4 of 10.0.0.1",
        "2002:a00:1::1",
        Some(SixToFour),
    ),
    (
        "2002::/16 6to4 of 192.168.1.1",
        "2002:c0a8:101::1",
        Some(SixToFour),
    ),
    (
        "2002::/16 6to4 of loopback",
        "2002:7f00:1::1",
        Some(SixToFour),
    ),
    ("2620:4f:8000::/48 AS112 (global)", "2620:4f:8000::1", None),
    (
        "3fff::/20 documentation",
        "3fff:fff::1",
        Some(Documentation),
    ),
    ("5f00::/16 SRv6 SIDs", "5f00::1", Some(Reserved)),
    ("fc00::/7 unique-local", "fd00::1", Some(UniqueLocal)),
    (
        "fc00::/7 unique-local, fc half",
        "fc00::1",
        Some(UniqueLocal),
    ),
    ("fe80::/10 link-local", "fe80::1", Some(LinkLocal)),
    // Outside the registry.
    ("ff00::/8 multicast", "ff05::1:3", Some(Multicast)),
    (
        "fec0::/10 deprecated site-local",
        "fec0::1",
        Some(SiteLocal),
    ),
    (
        "::/96 deprecated IPv4-compatible",
        "::10.0.0.1",
        Some(Reserved),
    ),
    ("outside 2000::/3", "4000::1", Some(Reserved)),
    ("global unicast", "2a00:1450:4001::1b", None),
];

#[test]
fn n_01_every_iana_special_purpose_row_is_decided() {
    let mut wrong = Vec::new();
    for &(row, text, expected) in IANA_ROWS {
        let address: IpAddr = text.parse().unwrap();
        let got = special_purpose(address);
        if got.map(|s| s.kind) != expected {
            wrong.push(format!("{row}: {text} is {got:?}, expected {expected:?}"));
        }
        // Refused means refused by the connect policy, with the block in the message.
        let policy = super::super::ConnectPolicy::PublicOnly.check(address);
        assert_eq!(policy.is_err(), expected.is_some(), "{row}: {text}");
        if let Err(refusal) = policy {
            assert!(
                refusal.to_string().contains(refusal.special.block),
                "{refusal}"
            );
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn n_01_embedded_private_ipv4_is_named_in_the_refusal() {
    let nat64 = special_purpose("64:ff9b::10.0.0.1".parse().unwrap()).unwrap();
    assert_eq!(
        nat64.to_string(),
        "private address (10.0.0.0/8, RFC 1918) behind the NAT64 prefix 64:ff9b::/96 (10.0.0.1)"
    );
    let mapped = special_purpose("::ffff:10.0.0.1".parse().unwrap()).unwrap();
    assert_eq!(
        mapped.embedded,
        Some(Embedding::Ipv4Mapped(Ipv4Addr::new(10, 0, 0, 1)))
    );
    let six_to_four = special_purpose("2002:a00:1::1".parse().unwrap()).unwrap();
    assert_eq!(
        six_to_four.to_string(),
        "6to4 address (2002::/16, RFC 3056)"
    );
}
