//! What the audit gathered about one domain, before judging: every DNS answer, fetch and
//! probe as it came back, failures included. [`crate::run`] fills it in and
//! [`crate::judge`] reads it; neither knows the other.

use std::net::IpAddr;

use std::sync::Arc;

use mxsec_net::dial::Refusal;
use mxsec_net::dns::{Addresses, DnsError, MxSet, RData, Resolved, TlsaLookup};
use mxsec_net::observation::HostLookups;
use mxsec_net::smtp_probe::ProbeReport;
use mxsec_net::sts_fetch::FetchOutcome;
use mxsec_proto::name::DomainName;

use crate::report::Family;
use crate::wrong_owner::WrongOwner;

/// A TXT RRset: each record as its character-strings.
pub(crate) type TxtRecords = Vec<Vec<Vec<u8>>>;

/// A TXT lookup.
pub(crate) type TxtResult = Result<Resolved<TxtRecords>, DnsError>;

/// Everything gathered about one domain, before judging.
#[derive(Debug)]
pub(crate) struct Observed {
    pub(crate) domain: DomainName,
    pub(crate) mx: Result<Resolved<MxSet>, DnsError>,
    pub(crate) broken_at: Option<DomainName>,
    pub(crate) hosts: Vec<HostObserved>,
    pub(crate) sts: StsObserved,
    pub(crate) rpt: RptObserved,
    pub(crate) apex_tlsa: Option<Resolved<Vec<RData>>>,
    /// The zones on the chain of the names above, in name order.
    pub(crate) zones: Vec<ZoneObserved>,
}

/// One MX host (or the implicit MX).
#[derive(Debug)]
pub(crate) struct HostObserved {
    pub(crate) preference: Option<u16>,
    pub(crate) name: DomainName,
    pub(crate) addresses: Addresses,
    pub(crate) tlsa: Result<TlsaLookup, DnsError>,
    pub(crate) probes: Vec<AddressObserved>,
    /// TLSA records at owners senders do not use for this host (D-07).
    pub(crate) wrong_owners: Vec<WrongOwner>,
}

impl HostObserved {
    /// The host's lookups, as the decision's input is built from them.
    pub(crate) fn lookups(&self) -> HostLookups<'_> {
        HostLookups {
            name: &self.name,
            addresses: &self.addresses,
            tlsa: Some(&self.tlsa),
        }
    }
}

/// One address and its probe, or why the connect policy did not let it be probed.
#[derive(Debug)]
pub(crate) struct AddressObserved {
    pub(crate) address: IpAddr,
    pub(crate) probe: Result<Arc<ProbeReport>, Refusal>,
}

/// The MTA-STS branch.
#[derive(Debug)]
pub(crate) struct StsObserved {
    pub(crate) txt_name: Option<DomainName>,
    pub(crate) txt: Option<TxtResult>,
    pub(crate) wrong_owner: Option<Resolved<TxtRecords>>,
    pub(crate) host: Option<DomainName>,
    pub(crate) fetches: Vec<FetchObserved>,
}

/// The policy fetch over one address family.
#[derive(Debug)]
pub(crate) struct FetchObserved {
    pub(crate) family: Family,
    pub(crate) address: Option<IpAddr>,
    pub(crate) outcome: Option<FetchOutcome>,
}

/// The TLS-RPT branch.
#[derive(Debug)]
pub(crate) struct RptObserved {
    pub(crate) name: Option<DomainName>,
    pub(crate) txt: Option<TxtResult>,
    pub(crate) legacy: Option<Resolved<TxtRecords>>,
}

/// One zone key (a DNSKEY with the zone key flag, RFC 4034 §2.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ZoneKey {
    /// The key tag (RFC 4034 Appendix B).
    pub(crate) tag: u16,
    /// The DNSSEC algorithm number.
    pub(crate) algorithm: u8,
    /// The public key field.
    pub(crate) public_key: Vec<u8>,
}

/// One zone on the chain of the checked names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ZoneObserved {
    /// The zone apex.
    pub(crate) zone: DomainName,
    /// Its zone keys.
    pub(crate) keys: Vec<ZoneKey>,
    /// The digest types of the DS RRset at its delegation; empty when there is none (an
    /// insecure delegation) or it could not be looked up.
    pub(crate) ds_digests: Vec<u8>,
}
