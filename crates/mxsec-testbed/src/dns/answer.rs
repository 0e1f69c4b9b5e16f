//! The answer to one question, computed from the compiled zones (no I/O).
//!
//! RFC 1034 §4.3.2 lookup, with the DNSSEC additions of RFC 4035 §3.1 when the query sets DO:
//!
//! - **Positive**: the RRset and its RRSIG. No NSEC, no authority section (minimal responses).
//! - **CNAME**: the CNAME and its RRSIG; the chain is followed (RFC 1034 §4.3.2 step 3a)
//!   through the server's zones while each target has the queried type or is itself a CNAME,
//!   and within the alias's own zone also into the target's denial: NODATA or NXDOMAIN
//!   (RFC 6604 §2) with the target's SOA and NSEC proof (RFC 4035 §3.1.3), as BIND and Knot
//!   answer. A target without data in another zone (or outside the server's zones) ends the
//!   chain with NOERROR and no denial: the resolver asks for the target itself. hickory
//!   0.26.3's validator judges a target's denial against the original query name and finds
//!   it Bogus (RUST-STACK.md §1.8); mxsec's `validate` back end then validates the CNAME and
//!   the target's answer one at a time.
//! - **NODATA**: SOA and the NSEC at the name (RFC 4035 §3.1.3.1); for an empty non-terminal,
//!   the NSEC whose next name lies below it (RFC 4035 §3.1.3.2, RFC 8020).
//! - **NXDOMAIN**: SOA, the NSEC covering the name, and the NSEC covering the wildcard at the
//!   closest encloser (RFC 4035 §3.1.3.2), also for deep names such as `_25._tcp.mx.x.test`
//!   under an existing `mx.x.test`: the proof whose omission makes hickory-server's deep
//!   NXDOMAIN Bogus.
//! - **Wildcards**: a name that does not exist is answered from `*.<closest encloser>` when
//!   the zone has it (RFC 4592 §3.3.1), data, CNAME (followed like any other) or NODATA, with
//!   the proof that no closer match exists (the `wildcard` module).
//! - **DS** at a zone apex comes from the parent zone (RFC 4035 §3.1.4.1), with the parent's
//!   NSEC at the delegation as proof when there is none (an insecure delegation).
//! - **NSEC3 zones** give the proofs of RFC 5155 §7.2 instead of NSEC (the `nsec3` module):
//!   the matching NSEC3 for NODATA, a closest encloser proof and the wildcard's covering
//!   NSEC3 for NXDOMAIN, and for DS at an insecure delegation left out by opt-out the
//!   closest provable encloser proof with an Opt-Out NSEC3 (§7.2.4).

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::CNAME;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::catalog::{Catalog, CompiledZone};
use super::node::{Node, Rrset};
use super::wildcard;

/// The most CNAMEs followed in one answer.
const MAX_CHAIN: usize = 8;

/// The content of a response, before encoding.
#[derive(Debug, Default)]
pub(crate) struct Answer {
    pub(crate) rcode: ResponseCode,
    pub(crate) authoritative: bool,
    pub(crate) answers: Vec<Record>,
    pub(crate) authorities: Vec<Record>,
}

/// Answers one question.
pub(crate) fn answer(catalog: &Catalog, qname: &Name, qtype: RecordType, dnssec: bool) -> Answer {
    let qname = qname.to_lowercase();
    let mut out = Answer::default();
    let Some(zone) = catalog.zone_for(&qname, qtype == RecordType::DS) else {
        out.rcode = ResponseCode::Refused;
        return out;
    };
    out.authoritative = true;

    let mut zone = zone;
    let mut name = qname;
    let mut seen: Vec<Name> = Vec::new();
    loop {
        let (node, expansion) = match zone.nodes.get(&name) {
            Some(node) => (node, None),
            None => match wildcard::expansion(zone, &name) {
                Some(expansion) => (expansion.node, Some(expansion)),
                None => {
                    denial(zone, &name, &mut out, dnssec);
                    return out;
                }
            },
        };
        let signed = dnssec && zone.signed;
        if let Some(set) = positive(node, qtype, expansion.is_some()) {
            push(&mut out.answers, set, &name, dnssec);
            if let (Some(expansion), true) = (&expansion, signed) {
                push_proof(&mut out, expansion.answer_proof(zone, &name));
            }
            return out;
        }
        if let Some((set, target)) = alias(node, qtype) {
            push(&mut out.answers, set, &name, dnssec);
            if let (Some(expansion), true) = (&expansion, signed) {
                push_proof(&mut out, expansion.answer_proof(zone, &name));
            }
            seen.push(name.clone());
            if seen.len() >= MAX_CHAIN || seen.contains(&target) {
                return out;
            }
            match catalog.zone_for(&target, qtype == RecordType::DS) {
                Some(next) if has_data_or_alias(next, &target, qtype) => {
                    zone = next;
                    name = target;
                    continue;
                }
                Some(next) if next.origin == zone.origin => {
                    name = target;
                    continue;
                }
                _ => return out,
            }
        }
        push_soa(zone, &mut out, dnssec);
        if signed {
            let proof = match &expansion {
                Some(expansion) => expansion.nodata_proof(zone, &name),
                None => nodata_proof(zone, &name, node),
            };
            push_proof(&mut out, proof);
        }
        return out;
    }
}

/// The RRset answering `qtype` at a node, if there is one. A wildcard's NSEC is not
/// synthesised: it describes the wildcard, not the name asked.
fn positive(node: &Node, qtype: RecordType, synthesised: bool) -> Option<&Rrset> {
    match qtype {
        RecordType::NSEC if !synthesised => node.nsec.as_ref(),
        _ => node.rrsets.get(&qtype),
    }
}

/// The CNAME at a node and its target, unless the query is for the CNAME itself.
fn alias(node: &Node, qtype: RecordType) -> Option<(&Rrset, Name)> {
    if qtype == RecordType::CNAME {
        return None;
    }
    let set = node.rrsets.get(&RecordType::CNAME)?;
    let target = set.records.iter().find_map(|r| match &r.data {
        RData::CNAME(CNAME(target)) => Some(target.to_lowercase()),
        _ => None,
    })?;
    Some((set, target))
}

/// Whether the chain can go on at `name` in `zone`: data of the type asked or a CNAME, at the
/// name itself or synthesised from a wildcard.
fn has_data_or_alias(zone: &CompiledZone, name: &Name, qtype: RecordType) -> bool {
    let (node, synthesised) = match zone.nodes.get(name) {
        Some(node) => (node, false),
        None => match wildcard::expansion(zone, name) {
            Some(expansion) => (expansion.node, true),
            None => return false,
        },
    };
    positive(node, qtype, synthesised).is_some() || alias(node, qtype).is_some()
}

/// Adds an RRset (and its RRSIGs with DO) with `owner` as owner name: the RRset's own name,
/// or the name a wildcard answers for (the RRSIG keeps the wildcard's Labels field).
fn push(section: &mut Vec<Record>, set: &Rrset, owner: &Name, dnssec: bool) {
    let sigs = if dnssec { set.rrsigs.as_slice() } else { &[] };
    for record in set.records.iter().chain(sigs) {
        let mut record = record.clone();
        record.name = owner.clone();
        section.push(record);
    }
}

/// Adds proof RRsets (NSEC or NSEC3, always with their RRSIGs) to the authority section,
/// each once: a chain through a wildcard and a denial can need the same NSEC twice.
fn push_proof(out: &mut Answer, sets: Vec<&Rrset>) {
    for record in sets
        .into_iter()
        .flat_map(|s| s.records.iter().chain(&s.rrsigs))
    {
        if !out.authorities.contains(record) {
            out.authorities.push(record.clone());
        }
    }
}

fn push_soa(zone: &CompiledZone, out: &mut Answer, dnssec: bool) {
    if let Some(soa) = zone
        .nodes
        .get(&zone.origin)
        .and_then(|apex| apex.rrsets.get(&RecordType::SOA))
    {
        push(&mut out.authorities, soa, &zone.origin, dnssec);
    }
}

/// The proof of NODATA at an existing name: the NSEC at that name, or the NSEC3 proof.
fn nodata_proof<'z>(zone: &'z CompiledZone, name: &Name, node: &'z Node) -> Vec<&'z Rrset> {
    match &zone.nsec3 {
        Some(chain) => chain.proof(&zone.origin, name, false),
        None => node.nsec.iter().collect(),
    }
}

/// A name with no node and no wildcard to answer for it: NODATA for an empty non-terminal,
/// else NXDOMAIN.
fn denial(zone: &CompiledZone, name: &Name, out: &mut Answer, dnssec: bool) {
    let is_empty_non_terminal = zone.exists(name);
    if !is_empty_non_terminal {
        out.rcode = ResponseCode::NXDomain;
    }
    push_soa(zone, out, dnssec);
    if !(dnssec && zone.signed) {
        return;
    }
    if let Some(chain) = &zone.nsec3 {
        push_proof(out, chain.proof(&zone.origin, name, !is_empty_non_terminal));
        return;
    }
    let mut owners: Vec<&Name> = Vec::with_capacity(2);
    if let Some(owner) = zone.covering(name) {
        owners.push(owner);
    }
    if !is_empty_non_terminal {
        let encloser = zone.closest_encloser(name);
        if let Some(owner) = encloser
            .prepend_label("*")
            .ok()
            .and_then(|wildcard| zone.covering(&wildcard))
        {
            if !owners.contains(&owner) {
                owners.push(owner);
            }
        }
    }
    let nsecs = owners
        .into_iter()
        .filter_map(|owner| zone.nodes.get(owner).and_then(|n| n.nsec.as_ref()))
        .collect();
    push_proof(out, nsecs);
}
