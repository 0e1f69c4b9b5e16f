//! TLSA records published at a name that senders never look up for an MX host (SCENARIOS.md
//! D-07, DANE-DISC-03).
//!
//! A DANE sender looks TLSA up at `_25._tcp.<TLSA base domain>` (RFC 7672 §2.2.3): the MX
//! host's fully CNAME-expanded name when every CNAME on the way is secure, falling back to the
//! host's own name when the expanded name has no secure TLSA RRset; the host's own name when a
//! CNAME is not secure ([`TlsaBase`]). Records anywhere else are never used. After the host's
//! TLSA lookup, the checker looks at the plausible wrong places below; records found there
//! (also through a CNAME at that name, which the lookup follows) are a D-07 warning.
//!
//! | situation | wrong place looked at | why senders miss it |
//! |---|---|---|
//! | no records at `_25._tcp.<host>` | `_443._tcp.<host>` | the HTTPS port's owner: SMTP uses port 25 (RFC 7672 §2.2.3) |
//! | the host is an alias with a secure chain, and the expanded name has a secure RRset | `_25._tcp.<alias>` | the expanded name's RRset is used, the alias's never (RFC 7672 §2.2.3) |
//! | the host is an alias whose chain is not secure | `_25._tcp.<target>` | only the alias's own name is a base domain (RFC 7672 §2.2.3, RFC 7671 §7) |
//!
//! When the expanded name has no secure RRset, senders fall back to the alias's own name
//! (RFC 7672 §2.2.3): records there are in the right place, and nothing is reported.
//!
//! The apex (`_25._tcp.<domain>` for a domain that is not its own MX host) is looked at once
//! per domain by the checker, beside these per-host places.

use mxsec_net::dns::TlsaBase;
use mxsec_proto::name::DomainName;

/// The SMTP port, whose TLSA owner senders use.
const SMTP: &str = "_25._tcp";
/// The HTTPS port, whose TLSA owner is the commonest wrong place for an MX host's records.
const HTTPS: &str = "_443._tcp";

/// A wrong place where an MX host's TLSA records may have been published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WrongOwner {
    /// The owner name to look at.
    pub(crate) owner: DomainName,
    /// The owner senders use instead.
    pub(crate) used: DomainName,
    /// Why it is wrong.
    pub(crate) kind: WrongOwnerKind,
}

/// Why a TLSA owner is not the one senders use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WrongOwnerKind {
    /// The HTTPS port's owner, `_443._tcp.<host>`.
    HttpsPort,
    /// The alias's owner, while senders use the expanded name's secure RRset.
    Alias,
    /// The expanded name's owner, while the alias chain is not secure.
    Target,
}

/// The places to look at for `host`, from its TLSA lookup: how its base domain was chosen,
/// the end of its CNAME chain (if it is an alias), and whether the owner used has records.
pub(crate) fn places(
    host: &DomainName,
    base: TlsaBase,
    expanded: Option<&DomainName>,
    records_at_used_owner: bool,
) -> Vec<WrongOwner> {
    let owner = |name: &DomainName, port: &str| name.prepend(port).ok();
    let mut places = Vec::new();
    let used_base = match (base, expanded) {
        (TlsaBase::Expanded, Some(target)) => target,
        _ => host,
    };
    let Some(used) = owner(used_base, SMTP) else {
        return places;
    };
    if !records_at_used_owner {
        if let Some(https) = owner(host, HTTPS) {
            places.push(WrongOwner {
                owner: https,
                used: used.clone(),
                kind: WrongOwnerKind::HttpsPort,
            });
        }
    }
    let other = match (base, expanded) {
        (TlsaBase::Expanded, Some(_)) => owner(host, SMTP).map(|o| (o, WrongOwnerKind::Alias)),
        (TlsaBase::InsecureChain, Some(target)) => {
            owner(target, SMTP).map(|o| (o, WrongOwnerKind::Target))
        }
        _ => None,
    };
    if let Some((owner, kind)) = other {
        places.push(WrongOwner { owner, used, kind });
    }
    places
}

/// The finding's message for records found at `place`.
pub(crate) fn message(place: &WrongOwner) -> String {
    let (owner, used) = (&place.owner, &place.used);
    match place.kind {
        WrongOwnerKind::HttpsPort => format!(
            "TLSA records are published at {owner} (the HTTPS port), but SMTP senders look them up at {used}"
        ),
        WrongOwnerKind::Alias => format!(
            "TLSA records at {owner} are never used: the MX host is an alias, and senders use the records at {used}, under the name it expands to"
        ),
        WrongOwnerKind::Target => format!(
            "TLSA records are published at {owner}, under the name the MX host's alias expands to, but the alias is not DNSSEC-secure, so senders look them up at {used}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    fn owners(places: &[WrongOwner]) -> Vec<(&str, &str, WrongOwnerKind)> {
        places
            .iter()
            .map(|p| (p.owner.as_str(), p.used.as_str(), p.kind))
            .collect()
    }

    #[test]
    fn dane_disc_03_host_without_records_is_looked_for_at_the_https_port() {
        let host = name("mx.example.test");
        assert_eq!(
            owners(&places(&host, TlsaBase::Host, None, false)),
            [(
                "_443._tcp.mx.example.test",
                "_25._tcp.mx.example.test",
                WrongOwnerKind::HttpsPort
            )]
        );
        assert!(places(&host, TlsaBase::Host, None, true).is_empty());
    }

    #[test]
    fn dane_disc_03_secure_alias_records_are_unused_when_the_target_has_some() {
        let (alias, target) = (name("mx.example.test"), name("host.provider.test"));
        assert_eq!(
            owners(&places(&alias, TlsaBase::Expanded, Some(&target), true)),
            [(
                "_25._tcp.mx.example.test",
                "_25._tcp.host.provider.test",
                WrongOwnerKind::Alias
            )]
        );
    }

    #[test]
    fn dane_disc_03_fallback_to_the_alias_is_the_right_place() {
        let (alias, target) = (name("mx.example.test"), name("host.provider.test"));
        assert!(places(&alias, TlsaBase::FallbackToHost, Some(&target), true).is_empty());
        assert_eq!(
            owners(&places(
                &alias,
                TlsaBase::FallbackToHost,
                Some(&target),
                false
            )),
            [(
                "_443._tcp.mx.example.test",
                "_25._tcp.mx.example.test",
                WrongOwnerKind::HttpsPort
            )]
        );
    }

    #[test]
    fn dane_disc_03_insecure_alias_records_at_the_target_are_unused() {
        let (alias, target) = (name("mx.example.test"), name("host.provider.test"));
        assert_eq!(
            owners(&places(
                &alias,
                TlsaBase::InsecureChain,
                Some(&target),
                true
            )),
            [(
                "_25._tcp.host.provider.test",
                "_25._tcp.mx.example.test",
                WrongOwnerKind::Target
            )]
        );
    }

    #[test]
    fn d_07_messages_name_both_owners() {
        for kind in [
            WrongOwnerKind::HttpsPort,
            WrongOwnerKind::Alias,
            WrongOwnerKind::Target,
        ] {
            let place = WrongOwner {
                owner: name("_443._tcp.mx.example.test"),
                used: name("_25._tcp.mx.example.test"),
                kind,
            };
            let text = message(&place);
            assert!(text.contains("_443._tcp.mx.example.test"), "{text}");
            assert!(text.contains("_25._tcp.mx.example.test"), "{text}");
        }
    }
}
