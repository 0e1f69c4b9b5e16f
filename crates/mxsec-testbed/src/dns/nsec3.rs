//! The NSEC3 chain of a zone (RFC 5155) and the records that prove a denial with it.
//!
//! Parameters follow RFC 9276 §3.1: hash algorithm SHA-1 (the only one defined), no extra
//! iterations and an empty salt. The chain holds every owner name of the zone and every empty
//! non-terminal (RFC 5155 §7.1); with opt-out, insecure delegations (NS without DS) are left
//! out and every NSEC3 carries the Opt-Out flag (RFC 5155 §6).
//!
//! | question | records (RFC 5155) |
//! |---|---|
//! | NODATA at a name of the chain, empty non-terminals included | the NSEC3 matching it (§7.2.3) |
//! | DS at an insecure delegation left out by opt-out | closest provable encloser proof, the covering NSEC3 with Opt-Out (§7.2.4) |
//! | NXDOMAIN | closest encloser proof and the NSEC3 covering `*.<closest encloser>` (§7.2.2) |
//!
//! A closest encloser proof (§7.2.1) is the NSEC3 matching the closest encloser and the NSEC3
//! covering the next closer name; the same NSEC3 is never listed twice.

use std::collections::BTreeMap;

use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC3, NSEC3PARAM};
use hickory_proto::dnssec::Nsec3HashAlgorithm;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::node::{Node, Rrset};
use super::zone::Nsec3;
use super::ZoneError;

/// Extra iterations of the hash (RFC 9276 §3.1: zero).
const ITERATIONS: u16 = 0;
/// The salt (RFC 9276 §3.1: empty).
const SALT: &[u8] = &[];

/// The NSEC3 RRsets of a zone, by the hash of the name they stand for.
#[derive(Clone, Debug)]
pub(crate) struct Chain {
    /// Hash of the original owner name → that name and its NSEC3 RRset.
    links: BTreeMap<Vec<u8>, (Name, Rrset)>,
}

/// The NSEC3PARAM record for the apex (RFC 5155 §4). Its flags are zero whatever the
/// opt-out choice: the Opt-Out flag lives in the NSEC3 records only (§4.1.2).
pub(crate) fn param_record(origin: &Name, ttl: u32) -> Record {
    Record::from_rdata(
        origin.clone(),
        ttl,
        RData::DNSSEC(DNSSECRData::NSEC3PARAM(NSEC3PARAM::new(
            Nsec3HashAlgorithm::SHA1,
            false,
            ITERATIONS,
            SALT.to_vec(),
        ))),
    )
}

/// The hash of a name (RFC 5155 §5), over its canonical (lower-case) wire form.
fn hash(name: &Name) -> Result<Vec<u8>, ZoneError> {
    Nsec3HashAlgorithm::SHA1
        .hash(SALT, &name.to_lowercase(), ITERATIONS)
        .map(|digest| digest.as_ref().to_vec())
        .map_err(|e| ZoneError::Signing {
            zone: name.to_string(),
            detail: format!("NSEC3 hash: {e}"),
        })
}

impl Chain {
    /// Builds the chain over the nodes of a zone (RFC 5155 §7.1), unsigned.
    pub(crate) fn build(
        origin: &Name,
        nodes: &BTreeMap<Name, Node>,
        ttl: u32,
        parameters: Nsec3,
    ) -> Result<Self, ZoneError> {
        let mut types: BTreeMap<Name, Vec<RecordType>> = BTreeMap::new();
        for (name, node) in nodes {
            let insecure_delegation = node.delegation && !node.rrsets.contains_key(&RecordType::DS);
            if parameters.opt_out && insecure_delegation {
                continue;
            }
            let mut present: Vec<RecordType> = node.rrsets.keys().copied().collect();
            if !insecure_delegation {
                present.push(RecordType::RRSIG);
            }
            types.insert(name.clone(), present);
            // Every empty non-terminal between the name and the apex (RFC 5155 §7.1).
            let mut ancestor = name.base_name();
            while origin.zone_of(&ancestor) && ancestor != *origin {
                types.entry(ancestor.clone()).or_default();
                ancestor = ancestor.base_name();
            }
        }
        let mut hashed: Vec<(Vec<u8>, Name, Vec<RecordType>)> = types
            .into_iter()
            .map(|(name, present)| Ok((hash(&name)?, name, present)))
            .collect::<Result<_, ZoneError>>()?;
        hashed.sort_by(|a, b| a.0.cmp(&b.0));
        let mut links = BTreeMap::new();
        for (i, (digest, name, present)) in hashed.iter().enumerate() {
            let next = hashed
                .get(i + 1)
                .or_else(|| hashed.first())
                .map(|(d, _, _)| d.clone())
                .unwrap_or_default();
            let owner = origin
                .prepend_label(data_encoding::BASE32_DNSSEC.encode(digest))
                .map_err(|e| ZoneError::Signing {
                    zone: origin.to_string(),
                    detail: format!("NSEC3 owner name: {e}"),
                })?;
            let rdata = NSEC3::new(
                Nsec3HashAlgorithm::SHA1,
                parameters.opt_out,
                ITERATIONS,
                SALT.to_vec(),
                next,
                present.iter().copied(),
            );
            let set = Rrset {
                records: vec![Record::from_rdata(
                    owner,
                    ttl,
                    RData::DNSSEC(DNSSECRData::NSEC3(rdata)),
                )],
                rrsigs: Vec::new(),
            };
            links.insert(digest.clone(), (name.clone(), set));
        }
        Ok(Self { links })
    }

    /// Every NSEC3 RRset with the name it stands for, to sign them.
    pub(crate) fn sets_mut(&mut self) -> impl Iterator<Item = (&Name, &mut Rrset)> {
        self.links.values_mut().map(|(name, set)| (&*name, set))
    }

    /// Whether the chain has an NSEC3 for this name.
    pub(crate) fn contains(&self, name: &Name) -> bool {
        self.matching(name).is_some()
    }

    /// The NSEC3 whose owner is the hash of `name`.
    pub(crate) fn matching(&self, name: &Name) -> Option<&Rrset> {
        let digest = hash(name).ok()?;
        self.links.get(&digest).map(|(_, set)| set)
    }

    /// The NSEC3 whose interval covers the hash of `name` (the last one wraps around).
    pub(crate) fn covering(&self, name: &Name) -> Option<&Rrset> {
        let digest = hash(name).ok()?;
        self.links
            .range(..digest)
            .next_back()
            .or_else(|| self.links.iter().next_back())
            .map(|(_, (_, set))| set)
    }

    /// The NSEC3 RRsets that prove the denial of `name` in the zone `origin`: NODATA when the
    /// chain has it, else a closest (provable) encloser proof, with the wildcard's denial
    /// when `nxdomain`.
    pub(crate) fn proof(&self, origin: &Name, name: &Name, nxdomain: bool) -> Vec<&Rrset> {
        if let Some(set) = self.matching(name) {
            return vec![set];
        }
        let mut next_closer = name.clone();
        let mut encloser = name.base_name();
        while encloser != *origin && !self.contains(&encloser) && origin.zone_of(&encloser) {
            next_closer = encloser.clone();
            encloser = encloser.base_name();
        }
        let wildcard = nxdomain.then(|| encloser.prepend_label("*").ok()).flatten();
        let mut sets: Vec<&Rrset> = Vec::with_capacity(3);
        let candidates = [
            self.matching(&encloser),
            self.covering(&next_closer),
            wildcard.and_then(|w| self.covering(&w)),
        ];
        for set in candidates.into_iter().flatten() {
            if !sets.iter().any(|s| std::ptr::eq(*s, set)) {
                sets.push(set);
            }
        }
        sets
    }
}
