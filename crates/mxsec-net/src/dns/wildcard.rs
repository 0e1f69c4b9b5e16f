//! Wildcard-expanded answers (RFC 4592) under the `validate` back end, judged as Unbound
//! judges them (RFC 4035 §5.3.4, RFC 5155 §8.8).
//!
//! An RRset synthesised from a wildcard carries the wildcard's RRSIG, whose Labels field is
//! smaller than the owner's label count (RFC 4034 §3.1.3): the closest encloser is the owner
//! cut to that many labels, the wildcard `*.<closest encloser>`. The signature proves the
//! wildcard's data, not that the name asked has no data of its own: that takes a proof, in
//! the authority section, that no closer match exists. hickory 0.26.3 gets it wrong both
//! ways (its issues #2882 and #3812): with NSEC it looks for an NSEC *covering* the wildcard,
//! which exists, so every expansion of one label (`a.example` from `*.example`, what signers
//! such as BIND and Knot produce) is Bogus; with NSEC3 it takes the first RRSIG of the answer,
//! whatever its owner, against the name asked, and ignores Opt-Out. So mxsec judges every
//! expanded RRset itself, from records hickory has validated:
//!
//! | authority section (validated) | status of the expanded RRset |
//! |---|---|
//! | an NSEC covering the owner whose closest encloser is the wildcard's (RFC 4035 §5.3.4) | Secure |
//! | an NSEC3 covering the next closer name (RFC 5155 §8.8), without Opt-Out | Secure |
//! | only such an NSEC3 with Opt-Out, or with more iterations than [`MAX_ITERATIONS`] | Insecure (RFC 5155 §9.2, RFC 9276 §3.2) |
//! | neither | Bogus |
//!
//! The status goes no higher than the RRset's own signature status. An expanded RRset needs
//! the response it came in: hickory keeps only the last response of a CNAME chain it follows,
//! and turns its own wrong Bogus into an error without records, so the question is asked
//! again through hickory's validator without its CNAME layer
//! ([`ValidatingStack::response`](super::stack::ValidatingStack::response), the same
//! validator and validation cache as every other lookup), which returns the one response
//! with every record's own proof, whatever hickory concluded about the whole.

use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC, RRSIG};
use hickory_proto::dnssec::Proof;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use mxsec_proto::dnssec::Security;

use super::opt_out::links;

/// The most NSEC3 hash iterations a proof may use and still be Secure: hickory's soft
/// limit, above which its denials are Insecure too (RFC 9276 §3.2).
pub(crate) const MAX_ITERATIONS: u16 = 100;

/// The validated RRSIG over `(owner, covered)` when it shows a wildcard expansion.
fn expanding_rrsig<'a>(
    owner: &Name,
    covered: RecordType,
    answers: &'a [Record],
) -> Option<&'a RRSIG> {
    answers.iter().find_map(|record| match &record.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig))
            if record.proof == Proof::Secure
                && record.name == *owner
                && sig.input().type_covered == covered
                && sig.input().num_labels < owner.num_labels() =>
        {
            Some(sig)
        }
        _ => None,
    })
}

/// Whether any RRset of an answer section was expanded from a wildcard.
pub(crate) fn any_expanded(answers: &[Record]) -> bool {
    answers.iter().any(|record| match &record.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig)) => sig.input().num_labels < record.name.num_labels(),
        _ => false,
    })
}

/// The status the proof of no closer match gives the RRset `(owner, covered)` of `answers`,
/// or `None` when its validated RRSIG shows no wildcard expansion (see the module table).
pub(crate) fn expansion_status(
    owner: &Name,
    covered: RecordType,
    answers: &[Record],
    authorities: &[Record],
) -> Option<Security> {
    let sig = expanding_rrsig(owner, covered, answers)?;
    let labels = usize::from(sig.input().num_labels);
    let encloser = owner.trim_to(labels);
    let zone = &sig.input().signer_name;
    let validated = || authorities.iter().filter(|r| r.proof == Proof::Secure);

    let nsec_proves = validated().any(|record| match &record.data {
        RData::DNSSEC(DNSSECRData::NSEC(nsec)) => {
            zone.zone_of(&record.name)
                && covers(&record.name, nsec, owner)
                && closest_encloser(owner, &record.name, nsec) == encloser
        }
        _ => false,
    });
    if nsec_proves {
        return Some(Security::Secure);
    }

    let next_closer = owner.trim_to(labels + 1);
    let covering: Vec<bool> = links(validated())
        .iter()
        .filter(|link| link.zone == *zone && link.covers(&next_closer))
        .map(|link| !link.nsec3.opt_out() && link.nsec3.iterations() <= MAX_ITERATIONS)
        .collect();
    Some(if covering.contains(&true) {
        Security::Secure
    } else if covering.is_empty() {
        Security::Bogus
    } else {
        Security::Insecure
    })
}

/// Whether an NSEC owned by `owner` proves that `name` does not exist (RFC 4035 §5.4),
/// as Unbound's `val_nsec_proves_name_error` decides: `name` lies strictly between the owner
/// and the next name in canonical order (RFC 4034 §6.1), the last NSEC of the zone wrapping
/// around to the apex; an NSEC at an ancestor that is a delegation or has a DNAME proves
/// nothing below it (RFC 6840 §4.1).
fn covers(owner: &Name, nsec: &NSEC, name: &Name) -> bool {
    if owner == name {
        return false;
    }
    let types = nsec.type_set();
    let cut = types.contains(RecordType::DNAME)
        || (types.contains(RecordType::NS) && !types.contains(RecordType::SOA));
    if owner.zone_of(name) && cut {
        return false;
    }
    let next = nsec.next_domain_name();
    let strictly_below = |apex: &Name| apex.zone_of(name) && apex != name;
    if owner == next {
        strictly_below(next)
    } else if owner > next {
        owner < name && strictly_below(next)
    } else {
        owner < name && name < next
    }
}

/// The closest encloser of `name` an NSEC shows: the longer of the names `name` shares with
/// the NSEC's owner and with its next name (Unbound's `nsec_closest_encloser`).
fn closest_encloser(name: &Name, owner: &Name, nsec: &NSEC) -> Name {
    let with_owner = shared_ancestor(name, owner);
    let with_next = shared_ancestor(name, nsec.next_domain_name());
    if with_owner.num_labels() > with_next.num_labels() {
        with_owner
    } else {
        with_next
    }
}

/// The longest name of which both `a` and `b` are (not necessarily proper) subdomains.
fn shared_ancestor(a: &Name, b: &Name) -> Name {
    let shared = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x.eq_ignore_ascii_case(y))
        .count();
    a.trim_to(shared)
}

#[cfg(test)]
mod tests {
    use data_encoding::BASE32_DNSSEC;
    use hickory_proto::dnssec::rdata::sig::SigInput;
    use hickory_proto::dnssec::rdata::NSEC3;
    use hickory_proto::dnssec::{Algorithm, Nsec3HashAlgorithm};
    use hickory_proto::rr::SerialNumber;

    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn validated(mut record: Record) -> Record {
        record.proof = Proof::Secure;
        record
    }

    /// An A record at `owner` and its validated RRSIG by `signer` with this Labels field.
    fn answer(owner: &str, labels: u8, signer: &str) -> Vec<Record> {
        let input = SigInput {
            type_covered: RecordType::A,
            algorithm: Algorithm::ECDSAP256SHA256,
            num_labels: labels,
            original_ttl: 300,
            sig_expiration: SerialNumber::new(2),
            sig_inception: SerialNumber::new(1),
            key_tag: 1,
            signer_name: name(signer),
        };
        let rrsig = RRSIG::from_sig(input, vec![0; 64]);
        vec![
            validated(Record::from_rdata(
                name(owner),
                300,
                RData::A(std::net::Ipv4Addr::LOCALHOST.into()),
            )),
            validated(Record::from_rdata(
                name(owner),
                300,
                RData::DNSSEC(DNSSECRData::RRSIG(rrsig)),
            )),
        ]
    }

    fn nsec(owner: &str, next: &str) -> Record {
        let data = NSEC::new_cover_self(name(next), [RecordType::A, RecordType::TXT]);
        validated(Record::from_rdata(
            name(owner),
            300,
            RData::DNSSEC(DNSSECRData::NSEC(data)),
        ))
    }

    fn status(owner: &str, answers: &[Record], authorities: &[Record]) -> Option<Security> {
        expansion_status(&name(owner), RecordType::A, answers, authorities)
    }

    #[test]
    fn rfc4035_5_3_4_expansion_with_the_nsec_of_no_closer_match_is_secure() {
        // `*.w.test.` sorts first, so its own NSEC covers `a.w.test.` (one label expanded);
        // the last NSEC covers `x.y.w.test.` (two labels: the next closer `y.w.test.` does
        // not exist either).
        let proof = [
            nsec("*.w.test.", "host.w.test."),
            nsec("host.w.test.", "w.test."),
        ];
        let a = answer("a.w.test.", 2, "w.test.");
        assert_eq!(status("a.w.test.", &a, &proof), Some(Security::Secure));
        let xy = answer("x.y.w.test.", 2, "w.test.");
        assert_eq!(status("x.y.w.test.", &xy, &proof), Some(Security::Secure));
    }

    #[test]
    fn rfc4035_5_3_4_an_rrset_not_expanded_needs_no_proof() {
        assert_eq!(
            status("host.w.test.", &answer("host.w.test.", 3, "w.test."), &[]),
            None
        );
        assert!(!any_expanded(&answer("host.w.test.", 3, "w.test.")));
        assert!(any_expanded(&answer("a.w.test.", 2, "w.test.")));
    }

    #[test]
    fn dane_dns_05_forged_expansion_without_proof_is_bogus() {
        let a = answer("a.w.test.", 2, "w.test.");
        assert_eq!(status("a.w.test.", &a, &[]), Some(Security::Bogus));
        // A proof that did not validate proves nothing.
        let mut unproven = nsec("*.w.test.", "host.w.test.");
        unproven.proof = Proof::Bogus;
        assert_eq!(status("a.w.test.", &a, &[unproven]), Some(Security::Bogus));
        // Nor does a proof from another zone.
        let elsewhere = [nsec("*.v.test.", "host.v.test.")];
        assert_eq!(status("a.w.test.", &a, &elsewhere), Some(Security::Bogus));
    }

    #[test]
    fn dane_dns_05_forged_expansion_over_an_existing_name_is_bogus() {
        // The wildcard's signed data replayed for `host.w.test.`, which exists: the only
        // NSEC at hand matches the name instead of covering it.
        let forged = answer("host.w.test.", 2, "w.test.");
        let proofs = [
            nsec("*.w.test.", "host.w.test."),
            nsec("host.w.test.", "w.test."),
        ];
        assert_eq!(
            status("host.w.test.", &forged, &proofs),
            Some(Security::Bogus)
        );
    }

    #[test]
    fn rfc4592_2_2_2_expansion_past_an_empty_non_terminal_is_bogus() {
        // `sub.w.test.` exists as an empty non-terminal (`b.sub.w.test.` is a name), so
        // `a.sub.w.test.` cannot come from `*.w.test.`: the NSEC covering it shows a closer
        // encloser than the wildcard's.
        let forged = answer("a.sub.w.test.", 2, "w.test.");
        let proof = [nsec("*.w.test.", "b.sub.w.test.")];
        assert_eq!(
            status("a.sub.w.test.", &forged, &proof),
            Some(Security::Bogus)
        );
    }

    #[test]
    fn rfc6840_4_1_an_nsec_at_a_delegation_proves_nothing_below_it() {
        let answers = answer("a.deleg.w.test.", 2, "w.test.");
        let data = NSEC::new_cover_self(name("z.w.test."), [RecordType::NS]);
        let at_cut = validated(Record::from_rdata(
            name("deleg.w.test."),
            300,
            RData::DNSSEC(DNSSECRData::NSEC(data)),
        ));
        assert_eq!(
            status("a.deleg.w.test.", &answers, &[at_cut]),
            Some(Security::Bogus)
        );
    }

    fn hash(text: &str, iterations: u16) -> Vec<u8> {
        Nsec3HashAlgorithm::SHA1
            .hash(&[], &name(text), iterations)
            .unwrap()
            .as_ref()
            .to_vec()
    }

    /// An NSEC3 of `w.test.` whose span covers the hash of `covered` alone.
    fn nsec3_covering(covered: &str, opt_out: bool, iterations: u16) -> Record {
        let target = hash(covered, iterations);
        let (mut below, mut above) = (target.clone(), target);
        if let Some(last) = below.last_mut() {
            *last = last.wrapping_sub(1);
        }
        if let Some(last) = above.last_mut() {
            *last = last.wrapping_add(1);
        }
        let data = NSEC3::new(
            Nsec3HashAlgorithm::SHA1,
            opt_out,
            iterations,
            Vec::new(),
            above,
            [RecordType::A],
        );
        let owner = name("w.test.")
            .prepend_label(BASE32_DNSSEC.encode(&below))
            .unwrap();
        validated(Record::from_rdata(
            owner,
            300,
            RData::DNSSEC(DNSSECRData::NSEC3(data)),
        ))
    }

    #[test]
    fn rfc5155_8_8_nsec3_covering_the_next_closer_name_proves_the_expansion() {
        // `x.y.w.test.` from `*.w.test.`: the next closer name is `y.w.test.`.
        let answers = answer("x.y.w.test.", 2, "w.test.");
        let proof = [nsec3_covering("y.w.test.", false, 0)];
        assert_eq!(
            status("x.y.w.test.", &answers, &proof),
            Some(Security::Secure)
        );
        // Covering the name asked instead of the next closer name is no proof.
        let wrong = [nsec3_covering("x.y.w.test.", false, 0)];
        assert_eq!(
            status("x.y.w.test.", &answers, &wrong),
            Some(Security::Bogus)
        );
    }

    #[test]
    fn rfc5155_9_2_expansion_through_an_opt_out_span_is_insecure() {
        let answers = answer("a.w.test.", 2, "w.test.");
        let proof = [nsec3_covering("a.w.test.", true, 0)];
        assert_eq!(
            status("a.w.test.", &answers, &proof),
            Some(Security::Insecure)
        );
    }

    #[test]
    fn rfc9276_3_2_too_many_nsec3_iterations_are_insecure() {
        let answers = answer("a.w.test.", 2, "w.test.");
        let proof = [nsec3_covering("a.w.test.", false, MAX_ITERATIONS + 1)];
        assert_eq!(
            status("a.w.test.", &answers, &proof),
            Some(Security::Insecure)
        );
    }
}
