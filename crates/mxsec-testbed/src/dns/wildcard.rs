//! Wildcard synthesis (RFC 1034 §4.3.3, RFC 4592) and the DNSSEC proofs that go with it.
//!
//! A name that does not exist in its zone, not even as an empty non-terminal, is answered
//! from the wildcard `*.<closest encloser>` when the zone has one (RFC 4592 §3.3.1): the
//! wildcard's RRsets are copied with the name asked as owner. A name that exists, with or
//! without data, is never synthesised (§2.2.1, §2.2.2), and neither is a name below an
//! existing name that has no wildcard child (the closest encloser is then that name).
//!
//! The RRSIG of a synthesised RRset is the wildcard's own, renamed: its Labels field counts
//! the labels of the wildcard without the `*` (RFC 4034 §3.1.3), fewer than the owner's, which
//! tells a validator the answer was expanded and from which wildcard (RFC 4035 §5.3.2). With
//! DO set, the proof that no closer match exists goes in the authority section:
//!
//! | answer | NSEC zone | NSEC3 zone |
//! |---|---|---|
//! | data, or a CNAME, from the wildcard | the NSEC covering the name (RFC 4035 §3.1.3.3) | the NSEC3 covering the next closer name (RFC 5155 §7.2.6) |
//! | NODATA at the wildcard | SOA, the NSEC at the wildcard and the NSEC covering the name (RFC 4035 §3.1.3.4) | SOA, the closest encloser proof and the NSEC3 matching the wildcard (RFC 5155 §7.2.5) |
//!
//! The NSEC covering the name also covers its next closer name: every name between the two in
//! canonical order lies below the next closer name, which does not exist.

use hickory_proto::rr::Name;

use super::catalog::CompiledZone;
use super::node::{Node, Rrset};

/// A wildcard answering for a name that is not in its zone.
pub(crate) struct Expansion<'z> {
    /// The closest encloser of the name asked (RFC 4592 §3.3.1).
    encloser: Name,
    /// The wildcard `*.<encloser>`, the source of synthesis.
    source: Name,
    /// The wildcard's records.
    pub(crate) node: &'z Node,
}

/// The wildcard that answers for `name`, if `name` does not exist in `zone` and the zone has
/// a wildcard at its closest encloser (RFC 4592 §3.3.1).
pub(crate) fn expansion<'z>(zone: &'z CompiledZone, name: &Name) -> Option<Expansion<'z>> {
    if zone.exists(name) {
        return None;
    }
    let encloser = zone.closest_encloser(name);
    let source = encloser.prepend_label("*").ok()?;
    let node = zone.nodes.get(&source)?;
    Some(Expansion {
        encloser,
        source,
        node,
    })
}

impl Expansion<'_> {
    /// The next closer name of `name` (RFC 5155 §1.3): the closest encloser with one more
    /// label of `name`.
    fn next_closer(&self, name: &Name) -> Name {
        name.trim_to(usize::from(self.encloser.num_labels()) + 1)
    }

    /// The RRsets proving that no closer match than the wildcard exists for `name`, for an
    /// answer (or a CNAME) synthesised from it: see the module documentation.
    pub(crate) fn answer_proof<'z>(&self, zone: &'z CompiledZone, name: &Name) -> Vec<&'z Rrset> {
        match &zone.nsec3 {
            Some(chain) => chain
                .covering(&self.next_closer(name))
                .into_iter()
                .collect(),
            None => nsec_of(zone, zone.covering(name)).into_iter().collect(),
        }
    }

    /// The RRsets proving that the wildcard has no data of the type asked, and that no closer
    /// match exists for `name` (wildcard NODATA): see the module documentation.
    pub(crate) fn nodata_proof<'z>(&self, zone: &'z CompiledZone, name: &Name) -> Vec<&'z Rrset> {
        match &zone.nsec3 {
            Some(chain) => [
                chain.matching(&self.encloser),
                chain.covering(&self.next_closer(name)),
                chain.matching(&self.source),
            ]
            .into_iter()
            .flatten()
            .collect(),
            None => [
                nsec_of(zone, Some(&self.source)),
                nsec_of(zone, zone.covering(name)),
            ]
            .into_iter()
            .flatten()
            .collect(),
        }
    }
}

/// The NSEC at an owner name of the zone.
fn nsec_of<'z>(zone: &'z CompiledZone, owner: Option<&Name>) -> Option<&'z Rrset> {
    zone.nodes.get(owner?)?.nsec.as_ref()
}
