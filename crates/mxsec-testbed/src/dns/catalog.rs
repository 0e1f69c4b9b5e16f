//! Compiles [`Zone`] data into signed zones ready to answer from.
//!
//! Done once when the server starts (and again on [`crate::dns::DnsServer::set_zones`]):
//! parse every name, add SOA and apex NS, put each zone's delegation (NS, and DS when the zone
//! is signed) into its parent, build the NSEC chain (RFC 4034 §4) or the NSEC3 chain (RFC 5155)
//! and sign every authoritative RRset. Keys live in a [`KeyStore`] so that a recompiled zone
//! keeps its key and its DS.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC};
use hickory_proto::rr::rdata::{CNAME, MX, NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::keys::{self, Validity, ZoneKey};
use super::node::{Node, Rrset};
use super::nsec3::{self, Chain};
use super::zone::{fqdn, Bogus, Data, Denial, Fault, KeyAlgorithm, SigBreak, Signing, Zone};
use super::ZoneError;

/// The keys of every zone the server has signed, by zone origin.
#[derive(Default)]
pub(crate) struct KeyStore {
    keys: HashMap<Name, Arc<ZoneKey>>,
}

impl KeyStore {
    /// The key of `zone`, generated on first use or when the zone asks for another algorithm.
    pub(crate) fn key(
        &mut self,
        zone: &Name,
        algorithm: KeyAlgorithm,
    ) -> Result<&ZoneKey, ZoneError> {
        if self
            .keys
            .get(zone)
            .is_none_or(|k| k.algorithm() != algorithm)
        {
            let key = ZoneKey::generate(zone, algorithm)?;
            self.keys.insert(zone.clone(), Arc::new(key));
        }
        self.get(zone)
    }

    /// The key `zone` was signed with.
    pub(crate) fn get(&self, zone: &Name) -> Result<&ZoneKey, ZoneError> {
        self.shared(zone).map(AsRef::as_ref)
    }

    /// The key `zone` was signed with, to sign more of the zone later (`lazy` zones).
    pub(crate) fn shared(&self, zone: &Name) -> Result<&Arc<ZoneKey>, ZoneError> {
        self.keys.get(zone).ok_or_else(|| ZoneError::Signing {
            zone: zone.to_string(),
            detail: "key store lost a key".to_owned(),
        })
    }
}

/// One zone, ready to answer from.
#[derive(Clone, Debug)]
pub(crate) struct CompiledZone {
    pub(crate) origin: Name,
    pub(crate) signed: bool,
    pub(crate) nodes: BTreeMap<Name, Node>,
    /// The NSEC3 chain of a zone signed with NSEC3 (its nodes then have no NSEC).
    pub(crate) nsec3: Option<Chain>,
}

impl CompiledZone {
    /// Whether `name` exists in the zone: it owns records, or it is an empty non-terminal
    /// with a name below it (RFC 4592 §2.2.2, RFC 8020).
    pub(crate) fn exists(&self, name: &Name) -> bool {
        self.nodes
            .range(name.clone()..)
            .next()
            .is_some_and(|(next, _)| name.zone_of(next))
    }

    /// The longest ancestor of `name` that exists in the zone (RFC 4592 §3.3.1's closest
    /// encloser, for a name that does not exist). The apex always exists, so this ends
    /// there at the latest.
    pub(crate) fn closest_encloser(&self, name: &Name) -> Name {
        let mut candidate = name.base_name();
        while candidate.num_labels() > self.origin.num_labels() {
            if self.exists(&candidate) {
                return candidate;
            }
            candidate = candidate.base_name();
        }
        self.origin.clone()
    }

    /// The owner of the NSEC that covers a name absent from the zone: its canonical
    /// predecessor (RFC 4034 §6.1).
    pub(crate) fn covering(&self, name: &Name) -> Option<&Name> {
        self.nodes
            .range(..name.clone())
            .next_back()
            .map(|(owner, _)| owner)
    }
}

/// All zones of a server, and the faults to apply to queries.
#[derive(Clone, Debug)]
pub(crate) struct Catalog {
    pub(crate) zones: BTreeMap<Name, CompiledZone>,
    pub(crate) faults: Vec<(Name, Option<RecordType>, Fault)>,
}

/// The name every zone's apex NS points at; its address is the server's.
pub(crate) fn ns_name() -> Name {
    Name::from_labels(["ns", "test"]).unwrap_or_else(|_| Name::root())
}

impl Catalog {
    /// The zone that answers for `name`: the deepest zone containing it. A DS query at a zone
    /// apex is answered by the parent (RFC 4035 §3.1.4.1), so `for_ds` skips an exact match.
    pub(crate) fn zone_for(&self, name: &Name, for_ds: bool) -> Option<&CompiledZone> {
        self.zones
            .values()
            .filter(|z| z.origin.zone_of(name))
            .filter(|z| !(for_ds && !name.is_root() && &z.origin == name))
            .max_by_key(|z| z.origin.num_labels())
    }

    /// The fault configured for a query, if any (an exact type wins over "all types").
    pub(crate) fn fault_for(&self, name: &Name, rtype: RecordType) -> Option<Fault> {
        let exact = self
            .faults
            .iter()
            .find(|(n, t, _)| n == name && *t == Some(rtype));
        let any = self
            .faults
            .iter()
            .find(|(n, t, _)| n == name && t.is_none());
        exact.or(any).map(|(_, _, f)| *f)
    }
}

/// Compiles the zones. Root (`.`) and `test.` are added, secure and empty, when not given.
pub(crate) fn compile(
    zones: &[Zone],
    server_ip: IpAddr,
    keys: &mut KeyStore,
    now: SystemTime,
) -> Result<Catalog, ZoneError> {
    let mut given: Vec<Zone> = zones.to_vec();
    for default in [".", "test"] {
        let name = parse_name(default, default)?;
        let present = given
            .iter()
            .map(|z| parse_name(&z.origin, &z.origin))
            .collect::<Result<Vec<_>, _>>()?
            .contains(&name);
        if !present {
            given.push(Zone::new(default));
        }
    }

    let mut origins: Vec<Name> = Vec::with_capacity(given.len());
    for zone in &given {
        let origin = parse_name(&zone.origin, &zone.origin)?;
        if origins.contains(&origin) {
            return Err(ZoneError::DuplicateZone(origin.to_string()));
        }
        if origin.is_root() && zone.signing != Signing::Secure {
            return Err(ZoneError::RootNotSecure);
        }
        origins.push(origin);
    }

    // Parse and place every record.
    let mut compiled: BTreeMap<Name, CompiledZone> = BTreeMap::new();
    for (zone, origin) in given.iter().zip(&origins) {
        let mut nodes: BTreeMap<Name, Node> = BTreeMap::new();
        for (owner_text, data) in &zone.records {
            let owner = parse_name(&zone.origin, owner_text)?;
            check_owner(&zone.origin, origin, &owner, &origins)?;
            let rdata = resolve_data(&zone.origin, data)?;
            let record = Record::from_rdata(owner.clone(), zone.ttl, rdata);
            let rrset = nodes
                .entry(owner)
                .or_default()
                .rrsets
                .entry(record.record_type())
                .or_default();
            if !rrset.records.contains(&record) {
                rrset.records.push(record);
            }
        }
        add_apex(origin, zone.ttl, &mut nodes);
        if *origin == parse_name("test", "test")? {
            add_ns_address(server_ip, zone.ttl, &mut nodes);
        }
        compiled.insert(
            origin.clone(),
            CompiledZone {
                origin: origin.clone(),
                signed: matches!(
                    zone.signing,
                    Signing::Secure | Signing::Bogus(Bogus::DsMismatch | Bogus::ExpiredSignatures)
                ),
                nodes,
                nsec3: None,
            },
        );
    }

    // Delegations: NS (and DS for zones with a key) in the parent.
    for (zone, origin) in given.iter().zip(&origins) {
        if origin.is_root() {
            continue;
        }
        let parent = parent_of(origin, &origins)?;
        let ds = match zone.signing {
            Signing::Insecure => None,
            Signing::Secure
            | Signing::Bogus(Bogus::ExpiredSignatures | Bogus::MissingSignatures) => Some(
                keys.key(origin, zone.algorithm)?
                    .ds(origin, zone.ds_digest)?,
            ),
            Signing::Bogus(Bogus::DsMismatch) => {
                Some(ZoneKey::generate(origin, zone.algorithm)?.ds(origin, zone.ds_digest)?)
            }
        };
        let parent_zone = compiled
            .get_mut(&parent)
            .ok_or_else(|| ZoneError::Signing {
                zone: parent.to_string(),
                detail: "parent zone vanished".to_owned(),
            })?;
        let node = parent_zone.nodes.entry(origin.clone()).or_default();
        if !node.rrsets.is_empty() {
            return Err(ZoneError::DataAtDelegation {
                zone: parent.to_string(),
                name: origin.to_string(),
            });
        }
        node.delegation = true;
        node.rrsets.insert(
            RecordType::NS,
            Rrset {
                records: vec![Record::from_rdata(
                    origin.clone(),
                    zone.ttl,
                    RData::NS(NS(ns_name())),
                )],
                rrsigs: Vec::new(),
            },
        );
        if let Some(ds) = ds {
            node.rrsets.insert(
                RecordType::DS,
                Rrset {
                    records: vec![Record::from_rdata(
                        origin.clone(),
                        zone.ttl,
                        RData::DNSSEC(DNSSECRData::DS(ds)),
                    )],
                    rrsigs: Vec::new(),
                },
            );
        }
    }

    // CNAME rules (RFC 2181 §10.1), then signing.
    for (zone, origin) in given.iter().zip(&origins) {
        let compiled_zone = compiled
            .get_mut(origin)
            .ok_or_else(|| ZoneError::DuplicateZone(origin.to_string()))?;
        for (name, node) in &compiled_zone.nodes {
            if let Some(cname) = node.rrsets.get(&RecordType::CNAME) {
                if cname.records.len() > 1 || node.rrsets.len() > 1 {
                    return Err(ZoneError::CnameAndOtherData {
                        zone: zone.origin.clone(),
                        name: name.to_string(),
                    });
                }
            }
        }
        if compiled_zone.signed {
            let key = keys.key(origin, zone.algorithm)?;
            let validity = match zone.signing {
                Signing::Bogus(Bogus::ExpiredSignatures) => Validity::Expired,
                _ => Validity::Current,
            };
            let breaks = zone
                .sig_breaks
                .iter()
                .map(|(owner, rtype, how)| Ok((parse_name(&zone.origin, owner)?, *rtype, *how)))
                .collect::<Result<Vec<_>, ZoneError>>()?;
            let how = Signer {
                key,
                ttl: zone.ttl,
                validity,
                denial: zone.denial,
                now,
            };
            sign_zone(compiled_zone, &how, &breaks)?;
        } else if let Some((owner, rtype, _)) = zone.sig_breaks.first() {
            return Err(ZoneError::BrokenSignatureInUnsignedZone {
                zone: zone.origin.clone(),
                name: owner.clone(),
                rtype: *rtype,
            });
        }
    }

    let mut faults = Vec::new();
    for (zone, origin) in given.iter().zip(&origins) {
        for (name, rtype, fault) in &zone.faults {
            let name = parse_name(&zone.origin, name)?;
            if !origin.zone_of(&name) {
                return Err(ZoneError::OutsideZone {
                    zone: zone.origin.clone(),
                    name: name.to_string(),
                });
            }
            faults.push((name, *rtype, *fault));
        }
    }

    Ok(Catalog {
        zones: compiled,
        faults,
    })
}

/// Parses an absolute name given without (or with) the trailing dot, in lower case.
fn parse_name(zone: &str, text: &str) -> Result<Name, ZoneError> {
    let name = Name::from_ascii(fqdn(text)).map_err(|e| ZoneError::InvalidName {
        zone: zone.to_owned(),
        name: text.to_owned(),
        detail: e.to_string(),
    })?;
    Ok(name.to_lowercase())
}

fn check_owner(
    zone_text: &str,
    origin: &Name,
    owner: &Name,
    origins: &[Name],
) -> Result<(), ZoneError> {
    if !origin.zone_of(owner) {
        return Err(ZoneError::OutsideZone {
            zone: zone_text.to_owned(),
            name: owner.to_string(),
        });
    }
    if owner.iter().skip(1).any(|label| label == b"*") {
        return Err(ZoneError::Wildcard {
            zone: zone_text.to_owned(),
            name: owner.to_string(),
        });
    }
    if let Some(child) = origins
        .iter()
        .find(|o| *o != origin && origin.zone_of(o) && o.zone_of(owner))
    {
        return Err(ZoneError::InChildZone {
            zone: zone_text.to_owned(),
            name: owner.to_string(),
            child: child.to_string(),
        });
    }
    Ok(())
}

fn resolve_data(zone: &str, data: &Data) -> Result<RData, ZoneError> {
    Ok(match data {
        Data::Ready(rdata) => rdata.clone(),
        Data::Mx(preference, exchange) => RData::MX(MX::new(
            *preference,
            if exchange == "." {
                Name::root()
            } else {
                parse_name(zone, exchange)?
            },
        )),
        Data::Cname(target) => RData::CNAME(CNAME(parse_name(zone, target)?)),
        Data::Ns(target) => RData::NS(NS(parse_name(zone, target)?)),
    })
}

fn parent_of(origin: &Name, origins: &[Name]) -> Result<Name, ZoneError> {
    origins
        .iter()
        .filter(|o| *o != origin && o.zone_of(origin))
        .max_by_key(|o| o.num_labels())
        .cloned()
        .ok_or_else(|| ZoneError::Signing {
            zone: origin.to_string(),
            detail: "no parent zone (the root is always present)".to_owned(),
        })
}

fn add_apex(origin: &Name, ttl: u32, nodes: &mut BTreeMap<Name, Node>) {
    let hostmaster = origin
        .prepend_label("hostmaster")
        .unwrap_or_else(|_| origin.clone());
    let soa = SOA::new(ns_name(), hostmaster, 1, 3_600, 600, 86_400, ttl);
    let apex = nodes.entry(origin.clone()).or_default();
    apex.rrsets.insert(
        RecordType::SOA,
        Rrset {
            records: vec![Record::from_rdata(origin.clone(), ttl, RData::SOA(soa))],
            rrsigs: Vec::new(),
        },
    );
    let ns = Record::from_rdata(origin.clone(), ttl, RData::NS(NS(ns_name())));
    let ns_set = apex.rrsets.entry(RecordType::NS).or_default();
    if !ns_set.records.contains(&ns) {
        ns_set.records.push(ns);
    }
}

fn add_ns_address(ip: IpAddr, ttl: u32, nodes: &mut BTreeMap<Name, Node>) {
    let (rtype, rdata) = match ip {
        IpAddr::V4(v4) => (RecordType::A, RData::A(v4.into())),
        IpAddr::V6(v6) => (RecordType::AAAA, RData::AAAA(v6.into())),
    };
    let node = nodes.entry(ns_name()).or_default();
    node.rrsets.entry(rtype).or_insert_with(|| Rrset {
        records: vec![Record::from_rdata(ns_name(), ttl, rdata)],
        rrsigs: Vec::new(),
    });
}

/// What [`sign_zone`] signs with, and how it proves denials.
struct Signer<'k> {
    key: &'k ZoneKey,
    ttl: u32,
    validity: Validity,
    denial: Denial,
    now: SystemTime,
}

/// Adds DNSKEY and the NSEC chain (RFC 4034 §4) or the NSEC3PARAM and NSEC3 chain
/// (RFC 5155 §7.1), then signs every authoritative RRset (RFC 4035 §2). In an NSEC3 zone a
/// broken NSEC (or NSEC3) at a name breaks the NSEC3 that stands for that name.
fn sign_zone(
    zone: &mut CompiledZone,
    how: &Signer<'_>,
    breaks: &[(Name, RecordType, SigBreak)],
) -> Result<(), ZoneError> {
    let (key, ttl) = (how.key, how.ttl);
    let origin = zone.origin.clone();
    let apex = zone.nodes.entry(origin.clone()).or_default();
    apex.rrsets.insert(
        RecordType::DNSKEY,
        Rrset {
            records: vec![Record::from_rdata(
                origin.clone(),
                ttl,
                RData::DNSSEC(DNSSECRData::DNSKEY(key.dnskey().clone())),
            )],
            rrsigs: Vec::new(),
        },
    );

    match how.denial {
        Denial::Nsec => nsec_chain(zone, ttl),
        Denial::Nsec3(parameters) => {
            apex.rrsets.insert(
                RecordType::NSEC3PARAM,
                Rrset {
                    records: vec![nsec3::param_record(&origin, ttl)],
                    rrsigs: Vec::new(),
                },
            );
            zone.nsec3 = Some(Chain::build(&origin, &zone.nodes, ttl, parameters)?);
        }
    }

    let is_denial = |rtype: &RecordType| matches!(rtype, RecordType::NSEC | RecordType::NSEC3);
    for (name, rtype, _) in breaks {
        let exists = zone.nodes.get(name).is_some_and(|n| {
            n.rrsets.contains_key(rtype) || (is_denial(rtype) && n.nsec.is_some())
        }) || (is_denial(rtype)
            && zone.nsec3.as_ref().is_some_and(|c| c.contains(name)));
        if !exists {
            return Err(ZoneError::NoSuchRrset {
                zone: origin.to_string(),
                name: name.to_string(),
                rtype: *rtype,
            });
        }
    }

    let sign = |name: &Name, rtype: RecordType, set: &mut Rrset| -> Result<(), ZoneError> {
        let broken = breaks
            .iter()
            .find(|(n, t, _)| n == name && (*t == rtype || (is_denial(t) && is_denial(&rtype))))
            .map(|(_, _, how)| *how);
        let set_validity = match broken {
            Some(SigBreak::Expired) => Validity::Expired,
            _ => how.validity,
        };
        let rrsig = key.sign(&origin, &set.records, set_validity, how.now)?;
        set.rrsigs = vec![match broken {
            Some(SigBreak::Corrupt) => keys::corrupt(rrsig),
            _ => rrsig,
        }];
        Ok(())
    };
    for (name, node) in zone.nodes.iter_mut() {
        let delegation = node.delegation;
        let sets = node
            .rrsets
            .iter_mut()
            .filter(|(rtype, _)| !(delegation && **rtype == RecordType::NS))
            .map(|(rtype, set)| (*rtype, set))
            .chain(node.nsec.iter_mut().map(|set| (RecordType::NSEC, set)));
        for (rtype, set) in sets {
            sign(name, rtype, set)?;
        }
    }
    if let Some(chain) = zone.nsec3.as_mut() {
        for (name, set) in chain.sets_mut() {
            sign(name, RecordType::NSEC3, set)?;
        }
    }
    Ok(())
}

/// The NSEC chain in canonical order (RFC 4034 §6.1), the last one pointing back at the apex.
fn nsec_chain(zone: &mut CompiledZone, ttl: u32) {
    let origin = zone.origin.clone();
    let names: Vec<Name> = zone.nodes.keys().cloned().collect();
    for (i, name) in names.iter().enumerate() {
        let next = names.get(i + 1).unwrap_or(&origin).clone();
        let Some(node) = zone.nodes.get_mut(name) else {
            continue;
        };
        let types: Vec<RecordType> = node.rrsets.keys().copied().collect();
        let nsec = NSEC::new_cover_self(next, types);
        node.nsec = Some(Rrset {
            records: vec![Record::from_rdata(
                name.clone(),
                ttl,
                RData::DNSSEC(DNSSECRData::NSEC(nsec)),
            )],
            rrsigs: Vec::new(),
        });
    }
}
