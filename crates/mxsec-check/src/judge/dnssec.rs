//! The strength of the DNSSEC that protects the domain: the algorithms and RSA key sizes of
//! the zones on its chain, their DS digests, and the size of the signed TLSA answers
//! (CONFORMANCE.md §2.4b; the rules are `mxsec_proto::dnssec::strength`).
//!
//! | situation | finding |
//! |---|---|
//! | a zone key of RSAMD5, DSA, DSA-NSEC3-SHA1 or ECC-GOST | DNSSEC-ALG-01, error (RFC 8624 §3.1 MUST NOT) |
//! | a zone key of RSASHA1 or RSASHA1-NSEC3-SHA1 | DNSSEC-ALG-01, warning (RFC 8624 §3.1 NOT RECOMMENDED) |
//! | an RSA zone key under 2048 bits | DNSSEC-ALG-02, warning |
//! | a DS RRset of SHA-1 digests only | DNSSEC-DS-01, error (RFC 8624 §3.3 MUST NOT) |
//! | a secure TLSA answer over 1232 octets with its RRSIGs | DANE-TLSA-08, warning (RFC 6891 §6.2.5) |
//!
//! The size of a TLSA answer is computed from its records and the signing zone's keys, as
//! the smallest response that carries them ([`strength::signed_answer_len`]): the DNS
//! layer does not hand out the messages it received, and a server that adds authority or
//! additional records only makes the answer larger.

use std::collections::BTreeMap;

use mxsec_net::dns::Answer;
use mxsec_proto::dnssec::strength::{self, AlgorithmStatus};
use mxsec_proto::name::DomainName;

use crate::catalogue::FindingKind;
use crate::finding::{Finding, Subject};
use crate::observed::Observed;
use crate::observed::ZoneObserved;

use super::context::push;

/// Pushes the findings about the zones' algorithms, keys and DS digests.
pub(crate) fn judge_zones(zones: &[ZoneObserved], findings: &mut Vec<Finding>) {
    for zone in zones {
        let subject = || Subject::domain(&zone.zone);
        for key in &zone.keys {
            let name = strength::algorithm_name(key.algorithm);
            match strength::algorithm_status(key.algorithm) {
                AlgorithmStatus::MustNotSign => push(
                    findings,
                    FindingKind::DnssecAlgorithmForbidden,
                    subject(),
                    format!(
                        "zone {} is signed with {name} (key tag {}), which RFC 8624 forbids for signing",
                        zone.zone, key.tag
                    ),
                ),
                AlgorithmStatus::Sha1 => push(
                    findings,
                    FindingKind::DnssecAlgorithmSha1,
                    subject(),
                    format!(
                        "zone {} is signed with {name} (key tag {}): validators that refuse SHA-1 treat it as insecure",
                        zone.zone, key.tag
                    ),
                ),
                AlgorithmStatus::Acceptable => {}
            }
            if let Some(bits) = strength::is_short_rsa(key.algorithm, &key.public_key) {
                push(
                    findings,
                    FindingKind::DnssecRsaKeyShort,
                    subject(),
                    format!(
                        "zone {} has a {bits}-bit {name} key (key tag {})",
                        zone.zone, key.tag
                    ),
                );
            }
        }
        if strength::only_sha1_ds(&zone.ds_digests) {
            push(
                findings,
                FindingKind::DnssecDsSha1Only,
                subject(),
                format!(
                    "the DS records of {} at its parent are SHA-1 (digest type 1) only",
                    zone.zone
                ),
            );
        }
    }
}

/// Pushes DANE-TLSA-08 for every MX host whose secure TLSA answer exceeds the UDP limit.
pub(crate) fn judge_tlsa_size(observed: &Observed, findings: &mut Vec<Finding>) {
    for host in &observed.hosts {
        let Ok(tlsa) = &host.tlsa else { continue };
        let Some(Answer::Records(records)) = tlsa.answer.answer().require_secure() else {
            continue;
        };
        let owner = tlsa.answer.canonical();
        let Some(len) = signed_len(
            owner,
            records.iter().map(|r| 3 + r.data.len()),
            &observed.zones,
        ) else {
            continue;
        };
        if strength::exceeds_udp_limit(len) {
            push(
                findings,
                FindingKind::DaneTlsaLarge,
                Subject::host(&host.name),
                format!(
                    "the signed TLSA answer at {owner} ({} records) is at least {len} octets, over the {} a resolver takes over UDP: it needs TCP",
                    records.len(),
                    strength::UDP_SAFE_SIZE
                ),
            );
        }
    }
}

/// The size of the smallest signed answer for an RRset at `owner` with these RDATA lengths,
/// signed by the deepest zone of `zones` above `owner`: one RRSIG per algorithm of its zone
/// keys (RFC 6840 §5.11), each as long as the longest signature of that algorithm.
fn signed_len(
    owner: &DomainName,
    rdata_lens: impl IntoIterator<Item = usize>,
    zones: &[ZoneObserved],
) -> Option<usize> {
    let zone = zones
        .iter()
        .filter(|z| is_at_or_below(owner, &z.zone))
        .max_by_key(|z| z.zone.label_count())?;
    let mut by_algorithm: BTreeMap<u8, usize> = BTreeMap::new();
    for key in &zone.keys {
        let len = strength::signature_len(key.algorithm, &key.public_key)?;
        let longest = by_algorithm.entry(key.algorithm).or_default();
        *longest = (*longest).max(len);
    }
    Some(strength::signed_answer_len(
        strength::wire_len(owner.as_str()),
        rdata_lens,
        strength::wire_len(zone.zone.as_str()),
        by_algorithm.into_values(),
    ))
}

/// Whether `name` is `zone` or below it.
fn is_at_or_below(name: &DomainName, zone: &DomainName) -> bool {
    name == zone
        || name
            .as_str()
            .strip_suffix(zone.as_str())
            .is_some_and(|rest| rest.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::ZoneKey;

    fn name(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    fn rsa(bits: usize) -> Vec<u8> {
        let mut key = vec![3, 1, 0, 1];
        key.extend(std::iter::repeat_n(0xff, bits / 8));
        key
    }

    fn zone(zone: &str, keys: &[(u8, Vec<u8>)], ds: &[u8]) -> ZoneObserved {
        ZoneObserved {
            zone: name(zone),
            keys: keys
                .iter()
                .map(|(algorithm, public_key)| ZoneKey {
                    tag: 1,
                    algorithm: *algorithm,
                    public_key: public_key.clone(),
                })
                .collect(),
            ds_digests: ds.to_vec(),
        }
    }

    fn kinds(zones: &[ZoneObserved]) -> Vec<FindingKind> {
        let mut findings = Vec::new();
        judge_zones(zones, &mut findings);
        findings.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn dnssec_alg_01_02_ds_01_fire_on_weak_zones_only() {
        assert_eq!(kinds(&[zone("a.test", &[(13, vec![0; 64])], &[2])]), []);
        assert_eq!(kinds(&[zone("a.test", &[(8, rsa(2048))], &[1, 2])]), []);
        assert_eq!(
            kinds(&[zone("a.test", &[(5, rsa(2048))], &[2])]),
            [FindingKind::DnssecAlgorithmSha1]
        );
        assert_eq!(
            kinds(&[zone("a.test", &[(8, rsa(1024))], &[2])]),
            [FindingKind::DnssecRsaKeyShort]
        );
        assert_eq!(
            kinds(&[zone("a.test", &[(1, rsa(1024))], &[2])]),
            [
                FindingKind::DnssecAlgorithmForbidden,
                FindingKind::DnssecRsaKeyShort
            ]
        );
        assert_eq!(
            kinds(&[zone("a.test", &[(13, vec![0; 64])], &[1])]),
            [FindingKind::DnssecDsSha1Only]
        );
    }

    #[test]
    fn dane_tlsa_08_size_uses_the_deepest_signing_zone() {
        let zones = [
            zone("test", &[(8, rsa(4096))], &[2]),
            zone("x.test", &[(13, vec![0; 64])], &[2]),
        ];
        let owner = name("_25._tcp.mx.x.test");
        let one = signed_len(&owner, [35], &zones).unwrap();
        assert_eq!(one, 12 + (20 + 4) + 47 + (30 + 8 + 64) + 11);
        let many = signed_len(&owner, std::iter::repeat_n(67, 18), &zones).unwrap();
        assert!(strength::exceeds_udp_limit(many), "{many}");
        assert!(signed_len(&name("other.example"), [35], &zones).is_none());
        assert!(!is_at_or_below(&name("ax.test"), &name("x.test")));
    }
}
