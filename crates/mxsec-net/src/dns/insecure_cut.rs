//! Delegations proven insecure, so that names below them need no proof of their own
//! (RFC 4035 §4.3, §5.2).
//!
//! To call an unsigned answer insecure, hickory's validator walks up from the name asked with
//! NS queries to the zone cut above it and validates the DS denial there (RFC 4035 §5.2), for
//! every name anew: a scan of an unsigned domain asks NS at `_smtp._tls.<domain>`,
//! `_tls.<domain>`, `_mta-sts.<domain>`, `<domain>` and so on, each time to learn the same
//! cut. Yet the proof says more than that one answer: below a delegation proven insecure no
//! chain of trust can start (RFC 4035 §4.3: a name is insecure when "at some delegation
//! point" there is "signed proof of the non-existence of a DS record"), unless a trust
//! anchor is configured below it. [`InsecureCuts`] keeps each delegation so proven for the
//! TTL of its proof, and the validating back end answers a name below one with one query,
//! its records insecure, as Unbound answers from its key cache entry for an insecure zone.
//!
//! | the DS response at a zone cut, as hickory validated it | the cut is kept |
//! |---|---|
//! | a secure NSEC at the cut's own name, NS set, DS and SOA clear (RFC 4035 §5.2, RFC 6840 §4.4) | yes |
//! | a secure NSEC3 matching the cut's name, NS set, DS and SOA clear (RFC 5155 §8.6) | yes |
//! | secure NSEC3 records of a closest encloser proof whose next closer name lies in an Opt-Out span (RFC 5155 §8.6, §6) | yes |
//! | a DS RRset, an NXDOMAIN, any other proof, or a denial hickory did not find secure | no |
//! | a trust anchor configured at or below the cut | no |
//!
//! The cut itself is found with NS queries, unvalidated, as hickory's own walk finds it: a
//! forged NS answer can only propose a name, and only the validated DS denial at that name
//! makes it a kept cut. An Opt-Out span cannot cover a signed delegation (its owner hash has
//! an NSEC3 of its own), so it too proves that nothing signed lies below.

use std::time::{Duration, Instant};

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::dnssec::Proof;
use hickory_proto::op::{DnsResponse, ResponseCode};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType, RecordTypeSet};

use super::message::lowest_ttl;
use super::opt_out::{links, next_closer_in_opt_out_span};
use crate::ttl_cache::{TtlCache, TtlLimits};

/// The longest a cut is kept, whatever the TTL of its proof (as the chain layer keeps the
/// DNSKEY, DS and NS responses).
const MAX_KEPT: Duration = Duration::from_secs(3_600);

/// What the validated response to a DS query at a zone cut says of the zone below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delegation {
    /// Proven insecure, for this many seconds: nothing below it is signed.
    Insecure { ttl: u32 },
    /// A secure DS RRset: the chain of trust goes on below.
    Signed,
    /// Neither proven: a denial that rests on an insecure parent, or no proof at all.
    Unproven,
}

impl Delegation {
    /// Judges `response`, hickory's validated answer to the DS query at `cut`, as the
    /// [module docs](self) say.
    pub(crate) fn judge(cut: &Name, response: &DnsResponse) -> Self {
        let secure = |r: &&Record| r.proof == Proof::Secure;
        if response
            .answers
            .iter()
            .filter(secure)
            .any(|r| r.name == *cut && r.record_type() == RecordType::DS)
        {
            return Self::Signed;
        }
        if response.response_code != ResponseCode::NoError
            || response
                .answers
                .iter()
                .any(|r| r.record_type() == RecordType::DS)
        {
            return Self::Unproven;
        }
        let proofs: Vec<Record> = response
            .authorities
            .iter()
            .filter(secure)
            .cloned()
            .collect();
        let nsec = proofs.iter().any(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(nsec)) => {
                r.name == *cut && delegation_without_ds(nsec.type_set())
            }
            _ => false,
        });
        let nsec3 = links(&proofs)
            .iter()
            .find(|link| link.matches(cut))
            .map(|link| delegation_without_ds(link.nsec3.type_set()));
        let proven = match nsec3 {
            Some(matching) => matching,
            None => nsec || next_closer_in_opt_out_span(cut, &proofs),
        };
        match lowest_ttl(response.authorities.iter()) {
            Some(ttl) if proven && ttl > 0 => Self::Insecure { ttl },
            _ => Self::Unproven,
        }
    }
}

/// The type bitmap of the parent side of an unsigned delegation: NS, and neither DS nor SOA
/// (the SOA bit would show the child's apex; RFC 6840 §4.4, RFC 5155 §8.6).
fn delegation_without_ds(types: &RecordTypeSet) -> bool {
    types.contains(RecordType::NS)
        && !types.contains(RecordType::DS)
        && !types.contains(RecordType::SOA)
}

/// The delegations proven insecure, each for the TTL of its proof; see the
/// [module docs](self).
pub(crate) struct InsecureCuts {
    kept: TtlCache<LowerName, ()>,
    /// The owners of the configured trust anchors: a cut above one is not kept.
    anchors: Vec<Name>,
}

impl InsecureCuts {
    /// Keeps at most `capacity` cuts; no cut at or above one of `anchors` is kept.
    pub(crate) fn new(capacity: usize, anchors: Vec<Name>) -> Self {
        Self {
            kept: TtlCache::new(TtlLimits {
                max_ttl: MAX_KEPT,
                max_negative_ttl: MAX_KEPT,
                ..TtlLimits::with_capacity(capacity.max(1))
            }),
            anchors,
        }
    }

    /// Whether the data of `(name, rtype)` is below a kept cut. A DS RRset is the parent
    /// side's (RFC 4035 §2.4), so for DS the name's parent is looked at.
    pub(crate) fn covers(&self, name: &Name, rtype: RecordType) -> bool {
        let now = Instant::now();
        let mut current = data_owner(name, rtype);
        loop {
            if self.kept.get(&LowerName::from(&current), now).is_some() {
                return true;
            }
            if current.is_root() {
                return false;
            }
            current = current.base_name();
        }
    }

    /// Keeps `cut` when `delegation` proves it insecure and no trust anchor is configured at
    /// or below it.
    pub(crate) fn keep(&self, cut: &Name, delegation: Delegation) {
        let Delegation::Insecure { ttl } = delegation else {
            return;
        };
        if cut.is_root() || self.anchors.iter().any(|anchor| cut.zone_of(anchor)) {
            return;
        }
        self.kept.insert(
            LowerName::from(cut),
            (),
            Duration::from_secs(ttl.into()),
            Instant::now(),
        );
    }
}

/// The name whose zone holds the data of `(name, rtype)`: the parent for DS, else the name.
pub(crate) fn data_owner(name: &Name, rtype: RecordType) -> Name {
    if rtype == RecordType::DS && !name.is_root() {
        name.base_name()
    } else {
        name.clone()
    }
}

#[cfg(test)]
mod tests {
    use data_encoding::BASE32_DNSSEC;
    use hickory_proto::dnssec::rdata::{DS, NSEC, NSEC3};
    use hickory_proto::dnssec::{Algorithm, DigestType, Nsec3HashAlgorithm};
    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::rdata::SOA;

    use super::super::opt_out::tests::hash;
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn secure(mut record: Record) -> Record {
        record.proof = Proof::Secure;
        record
    }

    fn nsec(owner: &str, types: &[RecordType]) -> Record {
        let data = NSEC::new(name("zz.test."), types.iter().copied());
        secure(Record::from_rdata(
            name(owner),
            300,
            RData::DNSSEC(DNSSECRData::NSEC(data)),
        ))
    }

    /// An NSEC3 in `test.` standing for the hash `owner`, its span ending at `next`.
    fn nsec3_at(owner: Vec<u8>, next: Vec<u8>, opt_out: bool, types: &[RecordType]) -> Record {
        let data = NSEC3::new(
            Nsec3HashAlgorithm::SHA1,
            opt_out,
            0,
            Vec::new(),
            next,
            types.iter().copied(),
        );
        let owner = name("test.")
            .prepend_label(BASE32_DNSSEC.encode(&owner))
            .unwrap();
        secure(Record::from_rdata(
            owner,
            300,
            RData::DNSSEC(DNSSECRData::NSEC3(data)),
        ))
    }

    fn nsec3(owner: &str, types: &[RecordType]) -> Record {
        nsec3_at(hash(owner), hash("test."), false, types)
    }

    /// A closest encloser proof for `cut` in `test.`: the apex matched and a span around
    /// the next closer name, with or without Opt-Out.
    fn opt_out_proof(cut: &str, opt_out: bool) -> Vec<Record> {
        let target = hash(cut);
        let (mut below, mut above) = (target.clone(), target);
        if let Some(last) = below.last_mut() {
            *last = last.wrapping_sub(1);
        }
        if let Some(last) = above.last_mut() {
            *last = last.wrapping_add(1);
        }
        vec![
            nsec3("test.", &[RecordType::SOA, RecordType::NS]),
            nsec3_at(below, above, opt_out, &[RecordType::NS]),
        ]
    }

    fn soa() -> Record {
        let data = SOA::new(
            name("ns.test."),
            name("hostmaster.test."),
            1,
            3600,
            600,
            86400,
            300,
        );
        secure(Record::from_rdata(name("test."), 300, RData::SOA(data)))
    }

    fn response(code: ResponseCode, answers: Vec<Record>, authorities: Vec<Record>) -> DnsResponse {
        let mut message = Message::query();
        message.add_query(Query::query(name("cut.test."), RecordType::DS));
        message.metadata.response_code = code;
        for record in answers {
            message.add_answer(record);
        }
        for record in authorities {
            message.add_authority(record);
        }
        DnsResponse::from_message(message.into_response()).unwrap()
    }

    fn judge(code: ResponseCode, answers: Vec<Record>, authorities: Vec<Record>) -> Delegation {
        Delegation::judge(&name("cut.test."), &response(code, answers, authorities))
    }

    const NS: RecordType = RecordType::NS;

    #[test]
    fn dane_dns_02_rfc4035_5_2_secure_nsec_with_ns_and_without_ds_proves_an_insecure_cut() {
        let proof = vec![soa(), nsec("cut.test.", &[NS, RecordType::RRSIG])];
        assert_eq!(
            judge(ResponseCode::NoError, vec![], proof),
            Delegation::Insecure { ttl: 300 }
        );
    }

    #[test]
    fn dane_dns_02_rfc6840_4_4_nsec_without_ns_with_ds_or_soa_proves_nothing() {
        for types in [
            vec![RecordType::A],
            vec![NS, RecordType::DS],
            vec![NS, RecordType::SOA],
        ] {
            let proof = vec![soa(), nsec("cut.test.", &types)];
            assert_eq!(
                judge(ResponseCode::NoError, vec![], proof),
                Delegation::Unproven,
                "{types:?}"
            );
        }
    }

    #[test]
    fn dane_dns_02_rfc4035_5_2_an_nsec_not_secure_or_of_another_name_proves_nothing() {
        let mut unvalidated = nsec("cut.test.", &[NS]);
        unvalidated.proof = Proof::Insecure;
        let other = nsec("other.test.", &[NS]);
        for proof in [unvalidated, other] {
            assert_eq!(
                judge(ResponseCode::NoError, vec![], vec![soa(), proof]),
                Delegation::Unproven
            );
        }
        assert_eq!(
            judge(
                ResponseCode::NXDomain,
                vec![],
                vec![soa(), nsec("cut.test.", &[NS])]
            ),
            Delegation::Unproven
        );
    }

    #[test]
    fn dane_dns_02_rfc5155_8_6_matching_nsec3_decides_by_its_bitmap() {
        let insecure = vec![soa(), nsec3("cut.test.", &[NS])];
        assert_eq!(
            judge(ResponseCode::NoError, vec![], insecure),
            Delegation::Insecure { ttl: 300 }
        );
        // A matching NSEC3 with DS is no insecure delegation, whatever else is there.
        let mut signed = opt_out_proof("cut.test.", true);
        signed.push(nsec3("cut.test.", &[NS, RecordType::DS]));
        assert_eq!(
            judge(ResponseCode::NoError, vec![], signed),
            Delegation::Unproven
        );
    }

    #[test]
    fn dane_dns_02_rfc5155_8_6_next_closer_in_an_opt_out_span_proves_an_insecure_cut() {
        assert_eq!(
            judge(
                ResponseCode::NoError,
                vec![],
                opt_out_proof("cut.test.", true)
            ),
            Delegation::Insecure { ttl: 300 }
        );
        assert_eq!(
            judge(
                ResponseCode::NoError,
                vec![],
                opt_out_proof("cut.test.", false)
            ),
            Delegation::Unproven
        );
    }

    #[test]
    fn dane_dns_02_rfc4035_5_2_a_secure_ds_rrset_means_signed() {
        let ds = DS::new(
            1,
            Algorithm::ECDSAP256SHA256,
            DigestType::SHA256,
            vec![0; 32],
        );
        let record = secure(Record::from_rdata(
            name("cut.test."),
            300,
            RData::DNSSEC(DNSSECRData::DS(ds)),
        ));
        assert_eq!(
            judge(ResponseCode::NoError, vec![record.clone()], vec![]),
            Delegation::Signed
        );
        let mut unvalidated = record;
        unvalidated.proof = Proof::Insecure;
        assert_eq!(
            judge(
                ResponseCode::NoError,
                vec![unvalidated],
                vec![soa(), nsec("cut.test.", &[NS])]
            ),
            Delegation::Unproven
        );
    }

    #[test]
    fn dane_dns_02_rfc4035_4_3_names_below_a_kept_cut_are_covered_and_anchors_stop_it() {
        let cuts = InsecureCuts::new(16, vec![Name::root(), name("anchored.cut.test.")]);
        let proven = Delegation::Insecure { ttl: 300 };
        cuts.keep(&name("cut.test."), proven);
        assert!(!cuts.covers(&name("a.cut.test."), RecordType::MX));
        cuts.keep(&name("free.test."), proven);
        assert!(cuts.covers(&name("free.test."), RecordType::MX));
        assert!(cuts.covers(&name("_25._tcp.mx.free.test."), RecordType::TLSA));
        assert!(cuts.covers(&name("sub.free.test."), RecordType::DS));
        // The DS RRset at the cut is the parent's, and the parent is not covered.
        assert!(!cuts.covers(&name("free.test."), RecordType::DS));
        assert!(!cuts.covers(&name("test."), RecordType::MX));
        assert!(!cuts.covers(&name("other.test."), RecordType::MX));
        cuts.keep(&name("unproven.test."), Delegation::Unproven);
        assert!(!cuts.covers(&name("unproven.test."), RecordType::MX));
    }
}
