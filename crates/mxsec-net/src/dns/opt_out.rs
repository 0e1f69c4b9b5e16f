//! RFC 5155 §9.2: a denial proven through an NSEC3 Opt-Out span is not authenticated.
//!
//! An NSEC3 with the Opt-Out flag may skip insecure delegations (RFC 5155 §6), so the NSEC3
//! that covers the "next closer" name of a closest (provable) encloser proof (§7.2.1) does
//! not prove that the name is absent when it has the flag: an unsigned delegation may lie in
//! its span. RFC 5155 §9.2 forbids the AD bit on such a response, and Unbound answers it
//! without AD; hickory 0.26.3 calls it Secure, so mxsec lowers it to Insecure.
//!
//! | NSEC3 records of the denial | answer |
//! |---|---|
//! | one matches the name asked (NODATA) | no closest encloser proof: status unchanged |
//! | the NSEC3 covering the next closer name has Opt-Out | Insecure (§9.2) |
//! | it has no Opt-Out, or there is no NSEC3 at all | status unchanged |

use data_encoding::BASE32_DNSSEC;
use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC3};
use hickory_proto::rr::{Name, RData, Record};

/// One NSEC3 of a response: the hash its owner name stands for, and its data.
pub(super) struct Link<'a> {
    owner_hash: Vec<u8>,
    /// The zone the NSEC3 belongs to: its owner name without the hash label.
    pub(super) zone: Name,
    pub(super) nsec3: &'a NSEC3,
}

impl Link<'_> {
    /// The hash of `name` with this NSEC3's parameters (RFC 5155 §5).
    fn hash(&self, name: &Name) -> Option<Vec<u8>> {
        self.nsec3
            .hash_algorithm()
            .hash(
                self.nsec3.salt(),
                &name.to_lowercase(),
                self.nsec3.iterations(),
            )
            .ok()
            .map(|digest| digest.as_ref().to_vec())
    }

    pub(super) fn matches(&self, name: &Name) -> bool {
        self.zone.zone_of(name) && self.hash(name).is_some_and(|h| h == self.owner_hash)
    }

    /// Whether the hash of `name` falls strictly between the owner's hash and the next
    /// hashed owner name, the last NSEC3 of the chain wrapping around (RFC 5155 §3.1.7).
    pub(super) fn covers(&self, name: &Name) -> bool {
        if !self.zone.zone_of(name) {
            return false;
        }
        let Some(hash) = self.hash(name) else {
            return false;
        };
        let (owner, next) = (
            self.owner_hash.as_slice(),
            self.nsec3.next_hashed_owner_name(),
        );
        if owner < next {
            owner < hash.as_slice() && hash.as_slice() < next
        } else {
            hash.as_slice() > owner || hash.as_slice() < next
        }
    }
}

/// The NSEC3 records among `records`, with the hash each owner name stands for.
pub(super) fn links<'a>(records: impl IntoIterator<Item = &'a Record>) -> Vec<Link<'a>> {
    records
        .into_iter()
        .filter_map(|record| {
            let RData::DNSSEC(DNSSECRData::NSEC3(nsec3)) = &record.data else {
                return None;
            };
            let label = record.name.iter().next()?;
            let owner_hash = BASE32_DNSSEC
                .decode(label.to_ascii_lowercase().as_slice())
                .ok()?;
            Some(Link {
                owner_hash,
                zone: record.name.base_name(),
                nsec3,
            })
        })
        .collect()
}

/// Whether the denial of `qname` in these authority records rests on a closest (provable)
/// encloser proof whose next closer name is covered by an NSEC3 with the Opt-Out flag
/// (RFC 5155 §7.2.1, §9.2).
pub(crate) fn next_closer_in_opt_out_span(qname: &Name, authorities: &[Record]) -> bool {
    let links = links(authorities);
    if links.is_empty() || links.iter().any(|l| l.matches(qname)) {
        return false;
    }
    let mut next_closer = qname.clone();
    let mut encloser = qname.base_name();
    loop {
        if links.iter().any(|l| l.matches(&encloser)) {
            return links
                .iter()
                .any(|l| l.nsec3.opt_out() && l.covers(&next_closer));
        }
        if encloser.is_root() {
            return false;
        }
        next_closer = encloser.clone();
        encloser = encloser.base_name();
    }
}

#[cfg(test)]
pub(super) mod tests {
    use hickory_proto::dnssec::Nsec3HashAlgorithm;
    use hickory_proto::rr::RecordType;

    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    /// The NSEC3 hash of `text` with SHA-1, no salt and no extra iteration.
    pub(in crate::dns) fn hash(text: &str) -> Vec<u8> {
        Nsec3HashAlgorithm::SHA1
            .hash(&[], &name(text), 0)
            .unwrap()
            .as_ref()
            .to_vec()
    }

    /// An NSEC3 in `x.test.` standing for `owner`, whose span ends at `next`.
    fn nsec3(owner: &str, next: Vec<u8>, opt_out: bool) -> Record {
        let owner_name = name("x.test.")
            .prepend_label(BASE32_DNSSEC.encode(&hash(owner)))
            .unwrap();
        let data = NSEC3::new(
            Nsec3HashAlgorithm::SHA1,
            opt_out,
            0,
            Vec::new(),
            next,
            [RecordType::A],
        );
        Record::from_rdata(owner_name, 300, RData::DNSSEC(DNSSECRData::NSEC3(data)))
    }

    /// A closest encloser proof for `missing.x.test.`: the apex matched, and a span around
    /// the next closer name, with or without Opt-Out.
    fn proof(opt_out: bool) -> Vec<Record> {
        let target = hash("missing.x.test.");
        let mut below = target.clone();
        let mut above = target;
        // The span (target - 1, target + 1) covers only the target's hash.
        if let Some(last) = below.last_mut() {
            *last = last.wrapping_sub(1);
        }
        if let Some(last) = above.last_mut() {
            *last = last.wrapping_add(1);
        }
        let apex = nsec3("x.test.", hash("x.test."), false);
        let mut span = nsec3("x.test.", above, opt_out);
        span.name = name("x.test.")
            .prepend_label(BASE32_DNSSEC.encode(&below))
            .unwrap();
        vec![apex, span]
    }

    #[test]
    fn rfc5155_9_2_next_closer_covered_with_opt_out_is_not_authenticated() {
        assert!(next_closer_in_opt_out_span(
            &name("missing.x.test."),
            &proof(true)
        ));
        assert!(next_closer_in_opt_out_span(
            &name("_25._tcp.missing.x.test."),
            &proof(true)
        ));
    }

    #[test]
    fn rfc5155_7_2_1_next_closer_covered_without_opt_out_stays_as_proven() {
        assert!(!next_closer_in_opt_out_span(
            &name("missing.x.test."),
            &proof(false)
        ));
    }

    #[test]
    fn rfc5155_7_2_3_matching_nsec3_is_no_closest_encloser_proof() {
        let records = vec![nsec3("host.x.test.", hash("x.test."), true)];
        assert!(!next_closer_in_opt_out_span(
            &name("host.x.test."),
            &records
        ));
        assert!(!next_closer_in_opt_out_span(&name("host.x.test."), &[]));
    }
}
