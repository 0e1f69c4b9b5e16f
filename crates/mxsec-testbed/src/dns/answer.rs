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
//!   under an existing `mx.x.test`. The zones have no wildcards, so this full proof always
//!   exists; it is the proof whose omission makes hickory-server's deep NXDOMAIN Bogus.
//! - **DS** at a zone apex comes from the parent zone (RFC 4035 §3.1.4.1), with the parent's
//!   NSEC at the delegation as proof when there is none (an insecure delegation).
//! - **NSEC3 zones** give the proofs of RFC 5155 §7.2 instead of NSEC (the `nsec3` module):
//!   the matching NSEC3 for NODATA, a closest encloser proof and the wildcard's covering
//!   NSEC3 for NXDOMAIN, and for DS at an insecure delegation left out by opt-out the
//!   closest provable encloser proof with an Opt-Out NSEC3 (§7.2.4).

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::CNAME;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::catalog::{Catalog, CompiledZone, Node, Rrset};

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
        match zone.nodes.get(&name) {
            Some(node) => {
                if let Some(set) = positive(node, qtype) {
                    push(&mut out.answers, set, dnssec);
                    return out;
                }
                if let Some((set, target)) = alias(node, qtype) {
                    push(&mut out.answers, set, dnssec);
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
                nodata(zone, &name, node, &mut out, dnssec);
                return out;
            }
            None => {
                denial(zone, &name, &mut out, dnssec);
                return out;
            }
        }
    }
}

/// The RRset answering `qtype` at a node, if there is one.
fn positive(node: &Node, qtype: RecordType) -> Option<&Rrset> {
    match qtype {
        RecordType::NSEC => node.nsec.as_ref(),
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

fn has_data_or_alias(zone: &CompiledZone, name: &Name, qtype: RecordType) -> bool {
    zone.nodes
        .get(name)
        .is_some_and(|n| positive(n, qtype).is_some() || alias(n, qtype).is_some())
}

fn push(section: &mut Vec<Record>, set: &Rrset, dnssec: bool) {
    section.extend(set.records.iter().cloned());
    if dnssec {
        section.extend(set.rrsigs.iter().cloned());
    }
}

fn push_soa(zone: &CompiledZone, out: &mut Answer, dnssec: bool) {
    if let Some(soa) = zone
        .nodes
        .get(&zone.origin)
        .and_then(|apex| apex.rrsets.get(&RecordType::SOA))
    {
        push(&mut out.authorities, soa, dnssec);
    }
}

/// NODATA at an existing name: SOA and the NSEC at that name, or the NSEC3 proof.
fn nodata(zone: &CompiledZone, name: &Name, node: &Node, out: &mut Answer, dnssec: bool) {
    push_soa(zone, out, dnssec);
    if !(dnssec && zone.signed) {
        return;
    }
    if let Some(chain) = &zone.nsec3 {
        for set in chain.proof(&zone.origin, name, false) {
            push(&mut out.authorities, set, true);
        }
    } else if let Some(nsec) = &node.nsec {
        push(&mut out.authorities, nsec, true);
    }
}

/// A name with no node: NODATA for an empty non-terminal, else NXDOMAIN.
fn denial(zone: &CompiledZone, name: &Name, out: &mut Answer, dnssec: bool) {
    let is_empty_non_terminal = zone
        .nodes
        .range(name.clone()..)
        .next()
        .is_some_and(|(next, _)| name.zone_of(next));
    if !is_empty_non_terminal {
        out.rcode = ResponseCode::NXDomain;
    }
    push_soa(zone, out, dnssec);
    if !(dnssec && zone.signed) {
        return;
    }
    if let Some(chain) = &zone.nsec3 {
        for set in chain.proof(&zone.origin, name, !is_empty_non_terminal) {
            push(&mut out.authorities, set, true);
        }
        return;
    }
    let mut owners: Vec<&Name> = Vec::with_capacity(2);
    if let Some(owner) = covering(zone, name) {
        owners.push(owner);
    }
    if !is_empty_non_terminal {
        let encloser = closest_encloser(zone, name);
        if let Some(owner) = encloser
            .prepend_label("*")
            .ok()
            .and_then(|wildcard| covering(zone, &wildcard))
        {
            if !owners.contains(&owner) {
                owners.push(owner);
            }
        }
    }
    for owner in owners {
        if let Some(nsec) = zone.nodes.get(owner).and_then(|n| n.nsec.as_ref()) {
            push(&mut out.authorities, nsec, true);
        }
    }
}

/// The owner of the NSEC that covers a name absent from the zone: its canonical predecessor.
fn covering<'z>(zone: &'z CompiledZone, name: &Name) -> Option<&'z Name> {
    zone.nodes
        .range(..name.clone())
        .next_back()
        .map(|(owner, _)| owner)
}

/// The longest ancestor of `name` that exists in the zone (as a node or an empty
/// non-terminal). The apex always exists, so this ends there at the latest.
fn closest_encloser(zone: &CompiledZone, name: &Name) -> Name {
    let mut candidate = name.base_name();
    while candidate.num_labels() > zone.origin.num_labels() {
        let exists = zone
            .nodes
            .range(candidate.clone()..)
            .next()
            .is_some_and(|(next, _)| candidate.zone_of(next));
        if exists {
            return candidate;
        }
        candidate = candidate.base_name();
    }
    zone.origin.clone()
}
