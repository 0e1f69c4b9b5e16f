//! Zones whose names are computed when asked for, so that one server can publish a hundred
//! thousand domains without holding them.
//!
//! A [`LazyZone`] has an apex, compiled and signed like any other zone (its key, DS, SOA and
//! DNSKEY), and a numbered list of *children*: the names directly below the apex, each the top
//! of a small subtree whose records the zone computes from the child's number. Child labels
//! increase with their number in canonical order (RFC 4034 §6.1), so the neighbours of any
//! name are known without listing the zone.
//!
//! A query below the apex is answered from a small [`CompiledZone`] made on demand: the apex
//! and the subtree of the child whose label is the greatest not above the label asked (the
//! child itself, or the one whose last name precedes the name asked in canonical order). The
//! NSEC records of that small zone point where the whole zone's chain would (RFC 4034 §4.1.1):
//! the apex's at child 0, the last name of child `k` at child `k + 1`, the last child's back
//! at the apex. Every existence and denial proof the ordinary answering code makes from it is
//! therefore the proof the whole zone would give (RFC 4035 §3.1.3). Small zones are kept in a
//! bounded cache, so each is signed once while it is in use.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::catalog::{Catalog, CompiledZone, KeyStore};
use super::keys::{Validity, ZoneKey};
use super::node::{Node, Rrset};
use super::zone::{Bogus, Signing};
use super::ZoneError;

/// How many small zones the cache holds before it starts again empty.
const CACHE_ENTRIES: usize = 4096;

/// A zone whose names below the apex are computed from their position.
pub trait LazyZone: Send + Sync + fmt::Debug + 'static {
    /// The apex, e.g. `pop-signed.test` (absolute, without the trailing dot).
    fn origin(&self) -> &str;

    /// How the zone is signed: [`Signing::Secure`], [`Signing::Insecure`], or
    /// [`Signing::Bogus`] with [`Bogus::ExpiredSignatures`] (other kinds of bogus are served
    /// as that one).
    fn signing(&self) -> Signing;

    /// How many children the apex has.
    fn children(&self) -> u64;

    /// The label of child `index` (`index < children()`), in lower case; labels must increase
    /// with the index in canonical order (byte order of the lower-case label).
    fn label(&self, index: u64) -> String;

    /// The records of child `index`'s subtree: owners at or below the child's name, in lower
    /// case. Names inside the data are absolute.
    fn records(&self, index: u64) -> Vec<Record>;
}

/// A small zone's place: the lazy zone (its position) and the child, or the apex alone.
type SmallZoneKey = (usize, Option<u64>);

/// The lazy zones of one server and the small zones made from them.
#[derive(Default)]
pub(crate) struct LazyZones {
    zones: Vec<(Name, Arc<dyn LazyZone>)>,
    cache: Mutex<HashMap<SmallZoneKey, Arc<Catalog>>>,
}

impl fmt::Debug for LazyZones {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.zones.iter().map(|(origin, _)| origin))
            .finish()
    }
}

impl LazyZones {
    /// The zones, with their origins parsed.
    pub(crate) fn new(zones: Vec<Arc<dyn LazyZone>>) -> Result<Self, ZoneError> {
        let zones = zones
            .into_iter()
            .map(|zone| {
                let origin = Name::from_ascii(super::zone::fqdn(zone.origin()))
                    .map_err(|e| ZoneError::InvalidName {
                        zone: zone.origin().to_owned(),
                        name: zone.origin().to_owned(),
                        detail: e.to_string(),
                    })?
                    .to_lowercase();
                Ok((origin, zone))
            })
            .collect::<Result<_, ZoneError>>()?;
        Ok(Self {
            zones,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The apex [`super::Zone`]s to compile with the others: empty, signed as the lazy zones
    /// say.
    pub(crate) fn apexes(&self) -> Vec<super::Zone> {
        self.zones
            .iter()
            .map(|(_, zone)| {
                let apex = super::Zone::new(zone.origin());
                match zone.signing() {
                    Signing::Insecure => apex.insecure(),
                    Signing::Bogus(_) => apex.bogus(Bogus::ExpiredSignatures),
                    Signing::Secure => apex,
                }
            })
            .collect()
    }

    /// Forgets the small zones made so far (the apexes were signed anew).
    pub(crate) fn clear(&self) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The catalog to answer `qname`/`qtype` from, when the name lies in a lazy zone (a DS
    /// query at the apex belongs to the parent); `None` otherwise.
    pub(crate) fn catalog_for(
        &self,
        full: &Catalog,
        keys: &Mutex<KeyStore>,
        qname: &Name,
        qtype: RecordType,
    ) -> Option<Result<Arc<Catalog>, ZoneError>> {
        let qname = qname.to_lowercase();
        let (position, (origin, zone)) =
            self.zones.iter().enumerate().find(|(_, (origin, _))| {
                origin.zone_of(&qname) && !(qtype == RecordType::DS && *origin == qname)
            })?;
        let child = child_label(origin, &qname).and_then(|label| preceding(&**zone, &label));
        let key = (position, child);
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        if let Some(catalog) = cached {
            return Some(Ok(catalog));
        }
        let signer = match zone.signing() {
            Signing::Insecure => None,
            Signing::Secure => Some(Validity::Current),
            Signing::Bogus(_) => Some(Validity::Expired),
        };
        let zone_key = match signer {
            Some(validity) => {
                let store = keys.lock().unwrap_or_else(PoisonError::into_inner);
                match store.shared(origin) {
                    Ok(k) => Some((Arc::clone(k), validity)),
                    Err(e) => return Some(Err(e)),
                }
            }
            None => None,
        };
        let built = build(full, origin, &**zone, child, zone_key, SystemTime::now()).map(Arc::new);
        if let Ok(catalog) = &built {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(key, Arc::clone(catalog));
        }
        Some(built)
    }
}

/// The label of `qname` directly below `origin`, if `qname` lies below it.
fn child_label(origin: &Name, qname: &Name) -> Option<Vec<u8>> {
    let depth = usize::from(qname.num_labels()).checked_sub(usize::from(origin.num_labels()))?;
    let index = depth.checked_sub(1)?;
    qname.iter().nth(index).map(<[u8]>::to_ascii_lowercase)
}

/// The greatest child whose label is not above `label` in canonical order.
fn preceding(zone: &dyn LazyZone, label: &[u8]) -> Option<u64> {
    let (mut low, mut high) = (0u64, zone.children());
    // Invariant: every child below `low` is not above `label`; every child from `high` is.
    while low < high {
        let middle = low + (high - low) / 2;
        if zone.label(middle).as_bytes() <= label {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low.checked_sub(1)
}

/// The small zone for `child` (or the apex alone), signed with `key` if given.
fn build(
    full: &Catalog,
    origin: &Name,
    zone: &dyn LazyZone,
    child: Option<u64>,
    key: Option<(Arc<ZoneKey>, Validity)>,
    now: SystemTime,
) -> Result<Catalog, ZoneError> {
    let apex = full
        .zones
        .get(origin)
        .and_then(|z| z.nodes.get(origin))
        .ok_or_else(|| ZoneError::Signing {
            zone: origin.to_string(),
            detail: "the apex of a lazy zone was not compiled".to_owned(),
        })?;
    let child_name = |index: u64| -> Result<Name, ZoneError> {
        let label = zone.label(index);
        origin
            .prepend_label(label.as_str())
            .map_err(|e| ZoneError::InvalidName {
                zone: origin.to_string(),
                name: label.clone(),
                detail: e.to_string(),
            })
    };
    let mut nodes: BTreeMap<Name, Node> = BTreeMap::new();
    nodes.insert(
        origin.clone(),
        Node {
            rrsets: apex.rrsets.clone(),
            nsec: None,
            delegation: false,
        },
    );
    if let Some(index) = child {
        for record in zone.records(index) {
            let owner = record.name.to_lowercase();
            if !origin.zone_of(&owner) {
                return Err(ZoneError::OutsideZone {
                    zone: origin.to_string(),
                    name: owner.to_string(),
                });
            }
            let set = nodes
                .entry(owner)
                .or_default()
                .rrsets
                .entry(record.record_type())
                .or_default();
            if !set.records.contains(&record) {
                set.records.push(record);
            }
        }
    }
    if let Some((key, validity)) = key {
        let ttl = apex
            .rrsets
            .get(&RecordType::SOA)
            .and_then(|s| s.records.first())
            .map_or(super::DEFAULT_TTL, |r| r.ttl);
        let first_child = match zone.children() {
            0 => origin.clone(),
            _ => child_name(0)?,
        };
        let after_child = match child {
            Some(index) if index + 1 < zone.children() => child_name(index + 1)?,
            _ => origin.clone(),
        };
        let names: Vec<Name> = nodes.keys().cloned().collect();
        for (i, name) in names.iter().enumerate() {
            let next = if name == origin {
                first_child.clone()
            } else {
                names.get(i + 1).unwrap_or(&after_child).clone()
            };
            let Some(node) = nodes.get_mut(name) else {
                continue;
            };
            let types: Vec<RecordType> = node.rrsets.keys().copied().collect();
            let nsec = Record::from_rdata(
                name.clone(),
                ttl,
                RData::DNSSEC(DNSSECRData::NSEC(NSEC::new_cover_self(next, types))),
            );
            let rrsig = key.sign(origin, std::slice::from_ref(&nsec), validity, now)?;
            node.nsec = Some(Rrset {
                records: vec![nsec],
                rrsigs: vec![rrsig],
            });
            if name == origin {
                continue;
            }
            for set in node.rrsets.values_mut() {
                set.rrsigs = vec![key.sign(origin, &set.records, validity, now)?];
            }
        }
    }
    let small = CompiledZone {
        origin: origin.clone(),
        signed: full.zones.get(origin).is_some_and(|z| z.signed),
        nodes,
        nsec3: None,
    };
    Ok(Catalog {
        zones: BTreeMap::from([(origin.clone(), small)]),
        faults: Vec::new(),
    })
}
