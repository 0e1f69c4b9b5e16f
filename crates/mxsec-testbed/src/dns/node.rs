//! The records of a compiled zone: an RRset with its signatures, and everything at one owner
//! name. Shared by the zone compiler (`catalog`), the NSEC3 chain and the answering code.

use std::collections::BTreeMap;

use hickory_proto::rr::{Record, RecordType};

/// An RRset and the RRSIGs over it (none in an unsigned zone).
#[derive(Clone, Debug, Default)]
pub(crate) struct Rrset {
    pub(crate) records: Vec<Record>,
    pub(crate) rrsigs: Vec<Record>,
}

/// Everything at one owner name of a zone.
#[derive(Clone, Debug, Default)]
pub(crate) struct Node {
    pub(crate) rrsets: BTreeMap<RecordType, Rrset>,
    pub(crate) nsec: Option<Rrset>,
    /// A delegation point: the NS here is the parent side of a zone cut (not signed).
    pub(crate) delegation: bool,
}
