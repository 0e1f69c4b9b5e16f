//! The one trait both back ends implement: look up one RRset, with its DNSSEC status.

use hickory_proto::rr::{RData, RecordType};
use mxsec_proto::dnssec::Dnssec;
use mxsec_proto::name::DomainName;

use super::types::{Answer, CnameHop, DnsError};

/// What one exchange with the resolver taught about `(name, type)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// CNAMEs followed from the name asked about, in order, each with its own status.
    pub aliases: Vec<CnameHop>,
    /// The RRset (or denial) at the last alias target, or at the name itself when there is no
    /// alias; `None` when the chain has to be continued by asking about the last target.
    pub outcome: Option<Dnssec<Answer<Vec<RData>>>>,
    /// How long, in seconds, this step may be cached: the lowest TTL of the records it was
    /// made from (RFC 2181 §5.2), or for a denial the lesser of the SOA record's TTL and its
    /// MINIMUM field (RFC 2308 §5); 0 when unknown, which means "do not cache". A step served
    /// from a [`super::CachingBackend`] carries the time it has left in that cache.
    pub ttl: u32,
}

/// A source of DNS answers that carry their DNSSEC status.
///
/// Two implementations: in-process validation with hickory (`validate`) and trust in the AD
/// bit of a validating resolver on loopback (`trust-ad`). Everything above this trait (CNAME
/// chains, MX, addresses, TXT, TLSA base domains) is written once, in [`super::Dns`].
///
/// Contract: bogus data is never returned as data but as [`DnsError::Bogus`]; data whose
/// status is unknown is returned as `Indeterminate`, never as `Secure`.
#[async_trait::async_trait]
pub trait DnsBackend: Send + Sync + std::fmt::Debug {
    /// Looks up `(name, rtype)`. When `rtype` is not CNAME and the name is an alias, the
    /// back end reports the CNAMEs it followed in [`Step::aliases`].
    ///
    /// # Errors
    ///
    /// A [`DnsError`] when no trustworthy answer was obtained.
    async fn query(&self, name: &DomainName, rtype: RecordType) -> Result<Step, DnsError>;

    /// The DNSKEY, DS and NS responses the back end keeps now to validate with; 0 for a back
    /// end that validates nothing itself (`trust-ad`).
    fn chain_entries(&self) -> usize {
        0
    }
}
