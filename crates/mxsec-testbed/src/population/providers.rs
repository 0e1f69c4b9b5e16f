//! The mail providers of the synthetic population: who runs the MX hosts, and how well.
//!
//! Shares are per 100,000 domains. Mail hosting is concentrated: a handful of providers carry
//! most domains, and DANE in particular is deployed in bulk by hosting providers for the
//! domains they host (Dukhovni's monthly DANE survey on the dane-users list, February 2023:
//! one.com alone 1,214,586 of ~3.68 million DANE domains, the top 20 providers most of the
//! rest). The long tail here is a simple decreasing series, an assumption of this model.
//!
//! DANE shares (Dukhovni, dane-users, February 2023 and January 2017):
//!
//! - 17.54 % of the domains whose MX answer validates have correct TLSA records at every
//!   primary MX host (3,684,357 of 21,002,701, February 2023). DANE is a provider's doing here,
//!   so the providers with TLSA records carry 17,540 of 100,000 domains; a customer domain is
//!   DANE-protected when its own zone is signed as well (see [`super::DnsClass`]);
//! - 0.57 % of DANE domains have TLSA records at some of their MX hosts only (609 of ~106,000,
//!   January 2017): 100 per 100,000 domains ([`Dane::Partial`]);
//! - 0.06 % of DANE domains have TLSA records that match no certificate or no STARTTLS (63 of
//!   ~106,000, January 2017): 10 per 100,000 ([`Dane::Mismatching`]).
//!
//! The shares of MX hosts with certificate or STARTTLS faults are assumptions of this model
//! (no published per-domain figure was used): 1.5 % no STARTTLS, 2 % self-signed, 0.7 %
//! expired, 1 % certificate for another name.

use std::net::{Ipv4Addr, Ipv6Addr};

/// How an MX host does TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MxTls {
    /// STARTTLS with a WebPKI-valid certificate for the host name.
    Valid,
    /// STARTTLS with an expired certificate (SCENARIOS.md M-06).
    Expired,
    /// STARTTLS with a self-signed certificate (M-06).
    SelfSigned,
    /// STARTTLS with a valid certificate for another name (M-06).
    WrongName,
    /// No STARTTLS advertised.
    NoStarttls,
}

/// The TLSA records a provider publishes for its MX hosts (`3 1 1`, RFC 7672 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dane {
    /// None.
    None,
    /// A record matching each host's key.
    Matching,
    /// A matching record at the first host only (D-09: partial DANE).
    Partial,
    /// A record matching no key of the host (D-01: a key rolled without the TLSA record).
    Mismatching,
}

/// One mail provider.
#[derive(Clone, Copy, Debug)]
pub struct Provider {
    /// Domains per 100,000 that use it.
    pub share: u32,
    /// How many MX hosts each of its domains lists (`mx1`, `mx2`, ...).
    pub hosts: u8,
    /// Whether its MX hosts have an IPv6 address as well as an IPv4 one.
    pub ipv6: bool,
    /// How its MX hosts do TLS.
    pub tls: MxTls,
    /// Its TLSA records.
    pub dane: Dane,
}

const fn provider(share: u32, hosts: u8, ipv6: bool, tls: MxTls, dane: Dane) -> Provider {
    Provider {
        share,
        hosts,
        ipv6,
        tls,
        dane,
    }
}

/// The providers, in order of their number (`p01`, `p02`, ...).
pub const PROVIDERS: [Provider; 31] = [
    provider(30_310, 3, true, MxTls::Valid, Dane::None),
    provider(18_000, 2, true, MxTls::Valid, Dane::None),
    provider(9_000, 2, true, MxTls::Valid, Dane::Matching),
    provider(6_000, 2, false, MxTls::Valid, Dane::Matching),
    provider(5_000, 2, true, MxTls::Valid, Dane::None),
    provider(4_000, 1, false, MxTls::Valid, Dane::None),
    provider(3_000, 2, false, MxTls::Valid, Dane::None),
    provider(2_500, 1, false, MxTls::Valid, Dane::None),
    provider(2_000, 2, true, MxTls::Valid, Dane::None),
    provider(2_000, 1, false, MxTls::SelfSigned, Dane::None),
    provider(1_800, 1, false, MxTls::Valid, Dane::None),
    provider(1_500, 2, false, MxTls::Valid, Dane::None),
    provider(1_500, 1, false, MxTls::NoStarttls, Dane::None),
    provider(1_430, 2, true, MxTls::Valid, Dane::Matching),
    provider(1_300, 1, false, MxTls::Valid, Dane::None),
    provider(1_200, 1, false, MxTls::Valid, Dane::None),
    provider(1_100, 2, true, MxTls::Valid, Dane::None),
    provider(1_000, 1, false, MxTls::Valid, Dane::Matching),
    provider(1_000, 1, false, MxTls::Valid, Dane::None),
    provider(1_000, 1, false, MxTls::WrongName, Dane::None),
    provider(900, 1, false, MxTls::Valid, Dane::None),
    provider(800, 1, false, MxTls::Valid, Dane::None),
    provider(700, 1, false, MxTls::Valid, Dane::None),
    provider(700, 1, false, MxTls::Expired, Dane::None),
    provider(600, 1, false, MxTls::Valid, Dane::None),
    provider(500, 1, false, MxTls::Valid, Dane::None),
    provider(400, 1, false, MxTls::Valid, Dane::None),
    provider(350, 1, false, MxTls::Valid, Dane::None),
    provider(300, 1, false, MxTls::Valid, Dane::None),
    provider(100, 2, false, MxTls::Valid, Dane::Partial),
    provider(10, 1, false, MxTls::Valid, Dane::Mismatching),
];

/// The provider's zone, e.g. `p03.test`, for provider index `index` (0-based).
pub fn zone(index: usize) -> String {
    format!("p{:02}.test", index + 1)
}

/// The name of MX host `host` (0-based) of provider `index`, e.g. `mx1.p03.test`.
pub fn host_name(index: usize, host: u8) -> String {
    format!("mx{}.{}", host + 1, zone(index))
}

/// The published addresses of MX host `host` of provider `index`: `127.77.<provider>.<host>`
/// and, for providers with IPv6, `fd6d:7873:6563:77::<provider>:<host>` (reached through the
/// connect map, like every published address of the testbed).
pub fn addresses(index: usize, host: u8) -> (Ipv4Addr, Option<Ipv6Addr>) {
    let (p, h) = (
        u8::try_from(index + 1).unwrap_or(u8::MAX),
        host.saturating_add(1),
    );
    let v6 = PROVIDERS
        .get(index)
        .is_some_and(|provider| provider.ipv6)
        .then(|| Ipv6Addr::new(0xfd6d, 0x7873, 0x6563, 0x77, 0, 0, p.into(), h.into()));
    (Ipv4Addr::new(127, 77, p, h), v6)
}

/// The provider whose cumulative share covers `point` (0 to 99,999).
pub fn by_share(point: u32) -> usize {
    let mut upto = 0;
    for (index, provider) in PROVIDERS.iter().enumerate() {
        upto += provider.share;
        if point < upto {
            return index;
        }
    }
    PROVIDERS.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_dane_is_the_measured_share() {
        let total: u32 = PROVIDERS.iter().map(|p| p.share).sum();
        assert_eq!(total, 100_000);
        let dane: u32 = PROVIDERS
            .iter()
            .filter(|p| p.dane != Dane::None)
            .map(|p| p.share)
            .sum();
        assert_eq!(dane, 17_540);
        assert_eq!(by_share(0), 0);
        assert_eq!(by_share(99_999), PROVIDERS.len() - 1);
    }
}
