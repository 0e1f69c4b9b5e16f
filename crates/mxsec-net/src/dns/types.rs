//! What a lookup returns: records or a denial, each with its DNSSEC status, or a typed error.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hickory_proto::rr::RecordType;
use mxsec_proto::dnssec::{Dnssec, Security};
use mxsec_proto::name::DomainName;

/// The outcome of one lookup that reached an answer: data, or a denial of existence.
///
/// Carried inside [`Dnssec`], so a *secure* denial (NSEC-proven, or AD=1) is distinguishable
/// from an insecure one (DANE-DISC-06: only a secure denial of TLSA means "no DANE").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer<T> {
    /// The RRset exists; here is its data.
    Records(T),
    /// The name exists but has no data of this type (NOERROR, empty answer).
    NoData,
    /// The name does not exist (NXDOMAIN).
    NxDomain,
}

impl<T> Answer<T> {
    /// The records, if any.
    pub fn records(&self) -> Option<&T> {
        match self {
            Self::Records(records) => Some(records),
            Self::NoData | Self::NxDomain => None,
        }
    }

    /// Whether this is a denial (NODATA or NXDOMAIN).
    pub fn is_denial(&self) -> bool {
        !matches!(self, Self::Records(_))
    }

    /// Maps the records, keeping a denial as it is.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Answer<U> {
        match self {
            Self::Records(records) => Answer::Records(f(records)),
            Self::NoData => Answer::NoData,
            Self::NxDomain => Answer::NxDomain,
        }
    }
}

/// One CNAME followed on the way to the answer (RFC 1034 §3.6.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CnameHop {
    /// The alias (owner of the CNAME record).
    pub owner: DomainName,
    /// Where it points.
    pub target: DomainName,
    /// The DNSSEC status of this CNAME RRset alone.
    pub security: Security,
}

/// A lookup's answer together with the CNAME chain that led to it.
///
/// [`Resolved::answer`] carries the *effective* status: the weakest of every hop and of the
/// final RRset, because data reached through an insecure alias is not secure data for the
/// name asked about (RFC 7672 §2.2.3, DANE-DNS-06). The per-hop statuses stay available in
/// [`Resolved::chain`] for DANE-DISC-03 and for diagnostics. [`Resolved::ttl`] says how long
/// the whole result remains valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved<T> {
    chain: Vec<CnameHop>,
    canonical: DomainName,
    target_security: Security,
    answer: Dnssec<Answer<T>>,
    ttl: Duration,
}

impl<T> Resolved<T> {
    /// Builds a result: `answer` carries the status of the final RRset (or denial) alone, and
    /// `ttl` is the lowest TTL of the answers it was built from.
    pub(crate) fn new(
        chain: Vec<CnameHop>,
        canonical: DomainName,
        answer: Dnssec<Answer<T>>,
        ttl: Duration,
    ) -> Self {
        let target_security = answer.security();
        let effective = chain
            .iter()
            .fold(target_security, |acc, hop| acc.min(hop.security));
        let (_, value) = answer.into_parts();
        Self {
            chain,
            canonical,
            target_security,
            answer: Dnssec::new(effective, value),
            ttl,
        }
    }

    /// How long the result remains valid: the lowest TTL of every answer it was built from,
    /// CNAMEs included (RFC 2181 §5.2, RFC 2308 §5), or the time those answers have left in
    /// the cache that served them.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The answer, with the weakest status of the chain and the final RRset.
    pub fn answer(&self) -> &Dnssec<Answer<T>> {
        &self.answer
    }

    /// Consumes the result, keeping the answer.
    pub fn into_answer(self) -> Dnssec<Answer<T>> {
        self.answer
    }

    /// The CNAMEs followed, in order; empty when the name asked about is not an alias.
    pub fn chain(&self) -> &[CnameHop] {
        &self.chain
    }

    /// The name the answer is for: the last CNAME target, or the name asked about.
    pub fn canonical(&self) -> &DomainName {
        &self.canonical
    }

    /// The status of the final RRset (or denial) alone, ignoring the chain.
    pub fn target_security(&self) -> Security {
        self.target_security
    }

    /// The weakest status along the CNAME chain alone (`Secure` when there is no chain).
    pub fn chain_security(&self) -> Security {
        self.chain
            .iter()
            .fold(Security::Secure, |acc, hop| acc.min(hop.security))
    }

    /// Maps the records, keeping chain and statuses.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Resolved<U> {
        Resolved {
            chain: self.chain,
            canonical: self.canonical,
            target_security: self.target_security,
            answer: self.answer.map(|a| a.map(f)),
            ttl: self.ttl,
        }
    }
}

/// Why a lookup has no answer. Every variant means "do not know": a caller enforcing DANE
/// or MTA-STS defers (RFC 7672 §2.1.2, DANE-DNS-03/04; PFX-04), it never downgrades.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DnsError {
    /// The resolver answered SERVFAIL (and gave no sign that validation failed).
    #[error("{name}/{rtype}: the resolver answered SERVFAIL")]
    ServFail {
        /// The name looked up.
        name: DomainName,
        /// The record type looked up.
        rtype: RecordType,
    },
    /// The resolver answered REFUSED.
    #[error("{name}/{rtype}: the resolver answered REFUSED; check that it serves this client")]
    Refused {
        /// The name looked up.
        name: DomainName,
        /// The record type looked up.
        rtype: RecordType,
    },
    /// No answer in time.
    #[error("{name}/{rtype}: no answer within {after:?}")]
    Timeout {
        /// The name looked up.
        name: DomainName,
        /// The record type looked up.
        rtype: RecordType,
        /// The time waited.
        after: Duration,
    },
    /// DNSSEC validation failed: the data is signed but does not validate (RFC 4035 §5.5).
    /// Bogus data is never returned (DANE-DNS-05).
    #[error("{name}/{rtype}: DNSSEC validation failed (bogus): {reason}")]
    Bogus {
        /// The name looked up.
        name: DomainName,
        /// The record type looked up.
        rtype: RecordType,
        /// What is known about the failure (validator message or RFC 8914 extended error).
        reason: String,
    },
    /// Another response code (FORMERR, NOTIMP, ...).
    #[error("{name}/{rtype}: the resolver answered with response code {code}")]
    ResponseCode {
        /// The name looked up.
        name: DomainName,
        /// The record type looked up.
        rtype: RecordType,
        /// The RCODE.
        code: u16,
    },
    /// A CNAME chain that comes back to a name already seen.
    #[error("{name}/{rtype}: CNAME loop at {at}")]
    CnameLoop {
        /// The name looked up.
        name: DomainName,
        /// The record type looked up.
        rtype: RecordType,
        /// The alias that closes the loop.
        at: DomainName,
    },
    /// A CNAME chain longer than mxsec follows.
    #[error("{name}/{rtype}: CNAME chain longer than {limit} links")]
    CnameChainTooLong {
        /// The name looked up.
        name: DomainName,
        /// The record type looked up.
        rtype: RecordType,
        /// The number of links followed.
        limit: usize,
    },
    /// An answer that breaks the protocol (an undecodable message, a CNAME target that is not
    /// a domain name, an answer for another question).
    #[error("{name}/{rtype}: malformed answer: {detail}")]
    Malformed {
        /// The name looked up.
        name: DomainName,
        /// The record type looked up.
        rtype: RecordType,
        /// What is wrong with it.
        detail: String,
    },
    /// The resolver could not be reached (socket error, connection refused).
    #[error("{name}/{rtype}: cannot reach the resolver: {detail}")]
    Network {
        /// The name looked up.
        name: DomainName,
        /// The record type looked up.
        rtype: RecordType,
        /// The transport's error.
        detail: String,
    },
    /// A name mxsec would have to query is not a valid domain name (e.g. too long once
    /// `_25._tcp.` is prepended).
    #[error("cannot look up {name:?}: {detail}")]
    InvalidName {
        /// The name as built.
        name: String,
        /// Why it is invalid.
        detail: String,
    },
    /// Any other failure of the DNS library, with its message.
    #[error("{name}/{rtype}: {detail}")]
    Other {
        /// The name looked up.
        name: DomainName,
        /// The record type looked up.
        rtype: RecordType,
        /// The library's message.
        detail: String,
    },
}

impl DnsError {
    /// Whether validation failed (the only error that says the zone is broken, not the path).
    pub fn is_bogus(&self) -> bool {
        matches!(self, Self::Bogus { .. })
    }
}

/// The MX RRset of a domain (RFC 5321 §5.1, RFC 7505).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MxSet {
    /// RFC 7505 §3: exactly one record, `0 .`: the domain accepts no mail (DANE-DISC-02).
    NullMx,
    /// The exchanges, sorted by preference, then by target.
    Exchanges(Vec<MxExchange>),
}

impl MxSet {
    /// Whether a `.` exchange appears next to other exchanges, which RFC 7505 §3 forbids
    /// (DANE-DISC-02, SCENARIOS.md N-01).
    pub fn has_mixed_null_mx(&self) -> bool {
        match self {
            Self::NullMx => false,
            Self::Exchanges(list) => list.iter().any(|e| e.target == MxTarget::Root),
        }
    }
}

/// One MX record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxExchange {
    /// The preference (lower is tried first).
    pub preference: u16,
    /// The exchange.
    pub target: MxTarget,
    /// Whether the exchange is an alias (RFC 2181 §10.3 forbids MX targets that are CNAMEs;
    /// DANE-DISC-02, SCENARIOS.md N-01).
    pub alias: AliasCheck,
}

/// The exchange named by an MX record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MxTarget {
    /// A host name.
    Host(DomainName),
    /// The root name `.` other than as a lone `0 .` null MX (RFC 7505 §3: invalid).
    Root,
    /// A name that reads as an IPv4 address, e.g. `192.0.2.1.` (RFC 5321 §5.1 wants a name;
    /// SCENARIOS.md N-01).
    IpLiteral(IpAddr),
    /// A name that is not a valid host name, in presentation form.
    Invalid(String),
}

/// Whether an MX target turned out to be an alias.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AliasCheck {
    /// The target has no CNAME (or does not exist).
    NotAlias,
    /// The target is a CNAME to this name.
    Alias(Dnssec<DomainName>),
    /// The CNAME lookup failed.
    Failed(DnsError),
    /// Not checked: the target is not a host name, or the RRset has too many exchanges.
    NotChecked,
}

/// The IPv4 and IPv6 addresses of a host, each looked up on its own with its own status:
/// many zones validate A but fail the AAAA denial, and a sender proceeds with the family
/// that validates (maddy #292, RUST-STACK.md §1.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addresses {
    /// The A lookup.
    pub ipv4: Result<Resolved<Vec<Ipv4Addr>>, DnsError>,
    /// The AAAA lookup.
    pub ipv6: Result<Resolved<Vec<Ipv6Addr>>, DnsError>,
}

impl Addresses {
    /// The lowest TTL of the two lookups that gave an answer.
    pub fn ttl(&self) -> LowestTtl {
        let mut lowest = LowestTtl::default();
        if let Ok(v4) = &self.ipv4 {
            lowest.note(v4.ttl());
        }
        if let Ok(v6) = &self.ipv6 {
            lowest.note(v6.ttl());
        }
        lowest
    }
}

/// How the TLSA base domain was chosen (RFC 7672 §2.2.3, DANE-DISC-03).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsaBase {
    /// The host is not an alias: its own name.
    Host,
    /// The host is an alias with a secure chain: the fully expanded name, which has a secure
    /// TLSA RRset.
    Expanded,
    /// The host is an alias with a secure chain, but the expanded name has no secure TLSA
    /// RRset: the original name, as RFC 7672 §2.2.3 falls back to.
    FallbackToHost,
    /// The host is an alias but some link of the chain is not secure: the original name.
    InsecureChain,
}

/// The result of a TLSA lookup for a host and port (DANE-DISC-03).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsaLookup {
    /// The TLSA base domain used.
    pub base_domain: DomainName,
    /// How it was chosen.
    pub base: TlsaBase,
    /// The owner name of the TLSA RRset: `_<port>._tcp.<base_domain>`.
    pub owner: DomainName,
    /// The host's CNAME chain, each link with its status.
    pub host_chain: Vec<CnameHop>,
    /// The TLSA RRset (or denial) at `owner`.
    pub answer: Resolved<Vec<mxsec_proto::dane::tlsa::TlsaRecord>>,
    /// The lowest TTL of every answer the lookup was built from: the host's CNAME chain and
    /// each TLSA RRset or denial asked for on the way to the base domain.
    pub ttl: Duration,
}

/// The lowest TTL of the DNS answers a result was built from: how long the result may be
/// kept before some of its data may have changed (RFC 1035 §3.2.1, RFC 2181 §5.2). Failed
/// lookups carry no TTL: they are not noted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LowestTtl(Option<Duration>);

impl LowestTtl {
    /// Notes one answer's TTL, or every TTL another accumulator noted.
    pub fn note(&mut self, ttl: impl Into<Self>) {
        if let Some(ttl) = ttl.into().0 {
            self.0 = Some(self.0.map_or(ttl, |lowest| lowest.min(ttl)));
        }
    }

    /// The lowest TTL noted, `None` when nothing was.
    pub fn get(self) -> Option<Duration> {
        self.0
    }
}

impl From<Duration> for LowestTtl {
    fn from(ttl: Duration) -> Self {
        Self(Some(ttl))
    }
}
