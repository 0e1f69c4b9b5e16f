//! The zones above the names mail delivery depends on, with their keys and DS digests
//! (CONFORMANCE.md DNSSEC-ALG-01/02, DNSSEC-DS-01).
//!
//! Every ancestor of the names asked about (the domain, its MX hosts, `_mta-sts.<domain>` and
//! the TLSA owners), root excluded, is asked for its DNSKEY and DS RRsets, once per name, at
//! most [`PARALLEL`] at a time and at most [`MAX_NAMES`] names in all. A name with a DNSKEY
//! RRset of its own (not reached through a CNAME) is a zone apex. Lookups that fail are left
//! out: DNSSEC failures are reported where the data is needed (D-05), not here.

use std::collections::BTreeSet;

use futures::stream::{self, StreamExt};
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::dnssec::PublicKey;
use mxsec_net::dns::{Answer, Dns, RData, RecordType};
use mxsec_proto::name::DomainName;

use crate::observed::{ZoneKey, ZoneObserved};

/// Lookups in flight at once.
const PARALLEL: usize = 8;
/// The most names whose zone is looked up for one domain.
const MAX_NAMES: usize = 48;

/// Every name at or above `names`, root excluded, deepest first within each name, without
/// repeats, at most [`MAX_NAMES`].
pub(crate) fn ancestors<'a>(names: impl IntoIterator<Item = &'a DomainName>) -> Vec<DomainName> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for name in names {
        let mut current = Some(name.clone());
        while let Some(n) = current {
            current = n.parent();
            if out.len() < MAX_NAMES && seen.insert(n.clone()) {
                out.push(n);
            }
        }
    }
    out
}

/// The zones among `candidates`, in name order.
pub(crate) async fn lookup(dns: &Dns, candidates: Vec<DomainName>) -> Vec<ZoneObserved> {
    let mut zones: Vec<ZoneObserved> = stream::iter(candidates)
        .map(|name| async move {
            let (keys, ds) = tokio::join!(
                dns.lookup(&name, RecordType::DNSKEY),
                dns.lookup(&name, RecordType::DS)
            );
            // Only keys and DS records that validate sign anything a sender relies on: an
            // unsigned or forged answer says nothing about the zone's cryptography.
            let keys = keys
                .ok()
                .filter(|r| r.chain().is_empty() && r.answer().security().is_secure())?;
            let Answer::Records(keys) = keys.answer().value_ignoring_security() else {
                return None;
            };
            let keys: Vec<ZoneKey> = keys.iter().filter_map(zone_key).collect();
            if keys.is_empty() {
                return None;
            }
            let ds_digests = ds
                .ok()
                .filter(|r| r.answer().security().is_secure())
                .and_then(|r| r.answer().value_ignoring_security().records().cloned())
                .map(|records| records.iter().filter_map(ds_digest).collect())
                .unwrap_or_default();
            Some(ZoneObserved {
                zone: name,
                keys,
                ds_digests,
            })
        })
        .buffer_unordered(PARALLEL)
        .filter_map(|zone| async move { zone })
        .collect()
        .await;
    zones.sort_by(|a, b| a.zone.cmp(&b.zone));
    zones
}

/// A DNSKEY record with the zone key flag.
fn zone_key(rdata: &RData) -> Option<ZoneKey> {
    let RData::DNSSEC(DNSSECRData::DNSKEY(key)) = rdata else {
        return None;
    };
    if !key.zone_key() || key.revoke() {
        return None;
    }
    Some(ZoneKey {
        tag: key.calculate_key_tag().ok()?,
        algorithm: u8::from(key.public_key().algorithm()),
        public_key: key.public_key().public_bytes().to_vec(),
    })
}

/// The digest type of a DS record.
fn ds_digest(rdata: &RData) -> Option<u8> {
    match rdata {
        RData::DNSSEC(DNSSECRData::DS(ds)) => Some(u8::from(ds.digest_type())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    #[test]
    fn dnssec_alg_01_ancestors_are_listed_once_without_root() {
        let names = [name("mx.a.example"), name("a.example"), name("b.example")];
        let got: Vec<String> = ancestors(&names).iter().map(ToString::to_string).collect();
        assert_eq!(got, ["mx.a.example", "a.example", "example", "b.example"]);
    }
}
