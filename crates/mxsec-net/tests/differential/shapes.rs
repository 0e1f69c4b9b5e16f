//! The CNAME shapes of issue 12, as zones of one testbed DNS server, signed with NSEC or
//! NSEC3 (RFC 5155, opt-out or not) from the root down.
//!
//! | name in `alias.test` | CNAME to | what is there |
//! |---|---|---|
//! | `mx` | `host.alias.test` (same zone) | A, no AAAA: NODATA |
//! | `mx2` | `host.provider.test` (other signed zone) | A, no AAAA: NODATA |
//! | `gone` | `missing.alias.test` | NXDOMAIN, same zone |
//! | `gone2` | `missing.provider.test` | NXDOMAIN, other signed zone |
//! | `plain` | `host.unsigned.test` (insecure zone) | A: insecure, not bogus |
//! | `plain-gone` | `missing.unsigned.test` | NXDOMAIN, insecure |
//! | `chain` | `c1.provider.test` → `c2.unsigned.test` → `c3.provider.test` | three zones, one insecure |
//! | `broken` | `host.expired.test` (expired signatures) | bogus |
//! | `mta-sts` | `sts.provider.test` | A, no AAAA |
//! | `_mta-sts` | `_mta-sts.provider.test` | TXT |
//! | `_25._tcp.mx` | `_25._tcp.host.provider.test` | TLSA |
//! | `_25._tcp.mx2` | `_25._tcp.nothing.provider.test` | NXDOMAIN below an existing name |
//! | `weak` | `weak.provider.test` | A; its NSEC's RRSIG is corrupt: NODATA is bogus |
//! | `forged` | `host.provider.test` | the CNAME's RRSIG is corrupt: bogus |
//! | `deep.ent` | (none) | A; `ent.alias.test` is an empty non-terminal |
//! | `to-ent` | `ent.alias.test` | an empty non-terminal: NODATA for every type |
//! | `to-far-ent` | `_tcp.host.provider.test` | an empty non-terminal in another signed zone |
//!
//! And from `unsigned.test` (insecure) into the signed zones: `in.unsigned.test` →
//! `host.provider.test` (insecure chain, secure target: insecure).
//!
//! Wildcards (RFC 4592) in `wild.test`, asked at the names of [`WILDCARD_MATCHES`]:
//!
//! | owner in `wild.test` | what it is | asked at |
//! |---|---|---|
//! | `*` | A and TXT | `a`, `x.y` (two labels), `no-such-name`; AAAA: wildcard NODATA |
//! | `host`, `deep.sub` | A | `x.host` (NXDOMAIN below an existing name), `sub` and `x.sub` (empty non-terminal) |
//! | `*.alias` | CNAME to `host.wild.test` | `mx.alias` |
//! | `*.far` | CNAME to `host.provider.test` (other signed zone) | `mx.far` |
//! | `*.gone` | CNAME to `missing.host.wild.test` | `x.gone` (NXDOMAIN through a wildcard CNAME) |
//! | `*.plain` | CNAME to `host.unsigned.test` | `x.plain` (insecure target) |
//! | `*._tcp.mx` | TLSA | `_25._tcp.mx`; `mx` and `_tcp.mx` are empty non-terminals |
//!
//! `forged.wild.test` is answered from `*` with the authority section stripped: an expansion
//! without its proof, as a forger replaying the wildcard's signed data would send it (bogus).
//!
//! And `*.wild.unsigned.test` (a wildcard in an insecure zone, asked at `a.wild.unsigned.test`)
//! and `wild.alias.test`, a CNAME to `a.wild.test` (an alias to a wildcard-expanded name).

use std::net::{Ipv4Addr, Ipv6Addr};

use mxsec_net::proto::dane::tlsa::{CertUsage, MatchingType, Selector, TlsaRecord};
use mxsec_testbed::dns::{Bogus, Denial, DnsServer, Fault, RecordType, Zone};

/// The apex of every zone of [`server`].
pub(crate) const APEXES: &[&str] = &[
    "alias.test",
    "provider.test",
    "unsigned.test",
    "expired.test",
    "wild.test",
];

/// Names that exist only as empty non-terminals, so [`DnsServer::names`] does not list them.
pub(crate) const EMPTY_NON_TERMINALS: &[&str] = &[
    "ent.alias.test",
    "_tcp.host.provider.test",
    "sub.wild.test",
    "mx.wild.test",
    "_tcp.mx.wild.test",
];

/// Names answered from a wildcard, or near one, which [`DnsServer::names`] does not list.
pub(crate) const WILDCARD_MATCHES: &[&str] = &[
    "a.wild.test",
    "x.y.wild.test",
    "x.host.wild.test",
    "x.sub.wild.test",
    "mx.alias.wild.test",
    "mx.far.wild.test",
    "x.gone.wild.test",
    "x.plain.wild.test",
    "_25._tcp.mx.wild.test",
    "a.wild.unsigned.test",
    "forged.wild.test",
];

/// Starts a server with the shapes, every signed zone (the root and `test.` included)
/// proving denials with `denial`.
pub(crate) async fn server(denial: Denial) -> DnsServer {
    let zones = zones()
        .into_iter()
        .chain([Zone::new("."), Zone::new("test")])
        .map(|zone| zone.denial(denial));
    DnsServer::builder()
        .zones(zones)
        .start()
        .await
        .expect("shape zones")
}

fn zones() -> Vec<Zone> {
    let v4 = Ipv4Addr::new(127, 0, 9, 25);
    let v6 = Ipv6Addr::new(0xfd6d, 0x7873, 0x6563, 9, 0, 0, 0, 0x25);
    let tlsa = TlsaRecord {
        usage: CertUsage::DaneEe,
        selector: Selector::Spki,
        matching: MatchingType::Sha256,
        data: vec![0x5a; 32],
    };
    vec![
        Zone::new("alias.test")
            .mx(10, "mx.alias.test")
            .mx(20, "mx2.alias.test")
            .cname("mx.alias.test", "host.alias.test")
            .a("host.alias.test", v4)
            .cname("mx2.alias.test", "host.provider.test")
            .cname("gone.alias.test", "missing.alias.test")
            .cname("gone2.alias.test", "missing.provider.test")
            .cname("plain.alias.test", "host.unsigned.test")
            .cname("plain-gone.alias.test", "missing.unsigned.test")
            .cname("chain.alias.test", "c1.provider.test")
            .cname("broken.alias.test", "host.expired.test")
            .cname("mta-sts.alias.test", "sts.provider.test")
            .cname("_mta-sts.alias.test", "_mta-sts.provider.test")
            .cname("_25._tcp.mx.alias.test", "_25._tcp.host.provider.test")
            .cname("_25._tcp.mx2.alias.test", "_25._tcp.nothing.provider.test")
            .cname("weak.alias.test", "weak.provider.test")
            .cname("forged.alias.test", "host.provider.test")
            .corrupt_rrsig("forged.alias.test", RecordType::CNAME)
            .a("deep.ent.alias.test", v4)
            .cname("to-ent.alias.test", "ent.alias.test")
            .cname("to-far-ent.alias.test", "_tcp.host.provider.test")
            .cname("wild.alias.test", "a.wild.test"),
        Zone::new("provider.test")
            .a("host.provider.test", v4)
            .tlsa("_25._tcp.host.provider.test", &tlsa)
            .a("nothing.provider.test", v4)
            .a("sts.provider.test", v4)
            .txt("_mta-sts.provider.test", &["v=STSv1; id=1"])
            .cname("c1.provider.test", "c2.unsigned.test")
            .a("weak.provider.test", v4)
            .corrupt_rrsig("weak.provider.test", RecordType::NSEC)
            .a("c3.provider.test", v4)
            .aaaa("c3.provider.test", v6),
        Zone::new("unsigned.test")
            .insecure()
            .a("host.unsigned.test", v4)
            .a("*.wild.unsigned.test", v4)
            .cname("c2.unsigned.test", "c3.provider.test")
            .cname("in.unsigned.test", "host.provider.test"),
        Zone::new("expired.test")
            .bogus(Bogus::ExpiredSignatures)
            .a("host.expired.test", v4),
        Zone::new("wild.test")
            .a("*.wild.test", v4)
            .txt("*.wild.test", &["from the wildcard"])
            .a("host.wild.test", v4)
            .a("deep.sub.wild.test", v4)
            .cname("*.alias.wild.test", "host.wild.test")
            .cname("*.far.wild.test", "host.provider.test")
            .cname("*.gone.wild.test", "missing.host.wild.test")
            .cname("*.plain.wild.test", "host.unsigned.test")
            .tlsa("*._tcp.mx.wild.test", &tlsa)
            .fault_all_types("forged.wild.test", Fault::StripAuthority),
    ]
}
