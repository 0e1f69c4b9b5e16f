//! DNS lookups that carry their DNSSEC status (DESIGN.md, RUST-STACK.md §1.10/1.11).
//!
//! [`Dns`] answers the questions mail delivery asks: [`Dns::mx`], [`Dns::addresses`],
//! [`Dns::txt`] and [`Dns::tlsa`]. Each answer is a [`Resolved`]: the CNAME chain followed
//! (each link with its status) and a `Dnssec<Answer<T>>` whose status is the weakest of the
//! chain and the final RRset, where [`Answer`] is records, NODATA or NXDOMAIN, so that a
//! secure denial is distinguishable from an insecure one (DANE-DISC-06). Failures are a typed
//! [`DnsError`] (SERVFAIL, REFUSED, timeout, bogus, ...): bogus data never comes back as data
//! (DANE-DNS-05), and a status nobody established is `Indeterminate`, never `Secure`.
//!
//! Two back ends implement [`DnsBackend`], chosen with [`Backend`] in [`DnsConfig`]:
//!
//! - `validate`: hickory-resolver validates in process from a trust anchor (the IANA root by
//!   default, or a file of DNSKEY or DS lines). How hickory's weak spots (CNAME, wildcards,
//!   NSEC3) are handled is documented in the `validating` module.
//! - `trust-ad`: a validating resolver on loopback validates and mxsec trusts its AD bit;
//!   non-loopback resolvers are refused unless explicitly allowed (DANE-DNS-01).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mxsec_net::dns::{Answer, Backend, Dns, DnsConfig};
//! use mxsec_net::proto::name::DomainName;
//!
//! let config = DnsConfig::builder()
//!     .backend(Backend::TrustAd)
//!     .nameserver("127.0.0.1:53".parse()?)
//!     .build();
//! let dns = Dns::new(&config).await?;
//! let mx = dns.mx(&DomainName::parse("example.com")?).await?;
//! if let Some(set) = mx.answer().require_secure().and_then(Answer::records) {
//!     println!("secure MX: {set:?}");
//! }
//! # Ok(()) }
//! ```

mod ad_bit;
mod backend;
mod cache;
mod chain;
mod config;
mod exchange;
mod insecure_cut;
mod message;
mod opt_out;
mod stack;
pub mod trust_anchor;
mod types;
mod validating;
mod wildcard;

pub use backend::{DnsBackend, Step};
pub use cache::CachingBackend;
pub use config::{
    parse_nameserver, Backend, DnsConfig, DnsConfigBuilder, DnsConfigError, Nameservers,
    TrustAnchorSource, DEFAULT_TIMEOUT, DEFAULT_VALIDATION_CACHE_ENTRIES,
};
pub use hickory_proto::rr::{RData, RecordType};
pub use types::{
    Addresses, AliasCheck, Answer, CnameHop, DnsError, LowestTtl, MxExchange, MxSet, MxTarget,
    Resolved, TlsaBase, TlsaLookup,
};

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use hickory_proto::rr::rdata::tlsa::TLSA;
use mxsec_proto::dane::tlsa::TlsaRecord;
use mxsec_proto::dnssec::{Dnssec, Security};
use mxsec_proto::name::{DomainName, NameError};

/// The most CNAME links followed for one lookup.
pub const MAX_CNAME_CHAIN: usize = 8;
/// The most MX exchanges whose CNAME is checked.
const MAX_ALIAS_CHECKS: usize = 32;

/// DNS with DNSSEC status: the lookups mail delivery needs, over either back end.
#[derive(Clone, Debug)]
pub struct Dns {
    backend: Arc<dyn DnsBackend>,
    timeout: Duration,
}

impl Dns {
    /// Sets up the configured back end.
    ///
    /// # Errors
    ///
    /// A [`DnsConfigError`] saying what to fix: an unreadable or invalid trust anchor (with
    /// its line), a DS anchor whose DNSKEY cannot be fetched, a non-loopback resolver for
    /// `trust-ad`, or no nameserver.
    pub async fn new(config: &DnsConfig) -> Result<Self, DnsConfigError> {
        let backend: Arc<dyn DnsBackend> = match config.backend {
            Backend::Validate => Arc::new(validating::Validating::new(config).await?),
            Backend::TrustAd => Arc::new(ad_bit::AdBit::new(config)?),
        };
        Ok(Self::with_backend(backend, config.timeout))
    }

    /// This `Dns` with a cache of at most `capacity` RRsets and denials in front of its back
    /// end, each kept for its TTL ([`CachingBackend`]); the cache is returned for its counters.
    pub fn with_cache(self, capacity: usize) -> (Self, Arc<CachingBackend>) {
        let cache = Arc::new(CachingBackend::new(self.backend, capacity));
        let dns = Self {
            backend: cache.clone(),
            timeout: self.timeout,
        };
        (dns, cache)
    }

    /// Uses the given back end, with a per-lookup timeout.
    pub fn with_backend(backend: Arc<dyn DnsBackend>, timeout: Duration) -> Self {
        Self { backend, timeout }
    }

    /// Any RRset, following CNAMEs (at most [`MAX_CNAME_CHAIN`] links).
    ///
    /// # Errors
    ///
    /// A [`DnsError`] when no trustworthy answer was obtained.
    pub async fn lookup(
        &self,
        name: &DomainName,
        rtype: RecordType,
    ) -> Result<Resolved<Vec<RData>>, DnsError> {
        self.timed(name, rtype, resolve(self.backend.as_ref(), name, rtype))
            .await
    }

    /// The MX RRset of a domain (RFC 5321 §5.1), with the null MX (RFC 7505), a null MX mixed
    /// with other exchanges, IP-literal targets and alias targets told apart
    /// (DANE-DISC-02, SCENARIOS.md N-01). A domain without MX gets NODATA: the implicit MX
    /// is the caller's decision. The result's TTL is the lowest of the MX RRset and of the
    /// alias checks of its exchanges.
    ///
    /// # Errors
    ///
    /// A [`DnsError`] when the MX RRset could not be obtained (RFC 7672 §2.1.2: defer).
    pub async fn mx(&self, domain: &DomainName) -> Result<Resolved<MxSet>, DnsError> {
        let unchecked = self.mx_unchecked(domain).await?;
        Ok(self.check_aliases(unchecked).await)
    }

    /// The MX RRset as [`Dns::mx`] gives it, but with no exchange checked for a CNAME yet
    /// (each [`AliasCheck::NotChecked`]), so that a caller can look the hosts up while
    /// [`Dns::check_aliases`] runs.
    ///
    /// # Errors
    ///
    /// As [`Dns::mx`].
    pub async fn mx_unchecked(&self, domain: &DomainName) -> Result<Resolved<MxSet>, DnsError> {
        let rtype = RecordType::MX;
        let resolved = self
            .timed(domain, rtype, resolve(self.backend.as_ref(), domain, rtype))
            .await?;
        Ok(resolved.map(mx_set))
    }

    /// Checks every exchange of an MX RRset from [`Dns::mx_unchecked`] for a CNAME (RFC 2181
    /// §10.3), the first [`MAX_ALIAS_CHECKS`] of them; the TTLs of the checks lower the
    /// result's.
    pub async fn check_aliases(&self, mx: Resolved<MxSet>) -> Resolved<MxSet> {
        let mut ttl = LowestTtl::from(mx.ttl());
        let (chain, canonical, answer) = split(mx);
        let (security, answer) = answer.into_parts();
        let answer = match answer {
            Answer::Records(MxSet::Exchanges(list)) => {
                Answer::Records(MxSet::Exchanges(self.alias_checks(list, &mut ttl).await))
            }
            other => other,
        };
        rebuild(chain, canonical, security, answer, ttl)
    }

    /// The A and AAAA records of a host, looked up separately, each with its own CNAME chain
    /// and status (maddy #292; DANE-DNS-06 needs the status of the family used).
    pub async fn addresses(&self, host: &DomainName) -> Addresses {
        let v4 = self.lookup(host, RecordType::A);
        let v6 = self.lookup(host, RecordType::AAAA);
        let (v4, v6) = futures::join!(v4, v6);
        Addresses {
            ipv4: v4.map(|r| {
                r.map(|data| {
                    data.into_iter()
                        .filter_map(|d| match d {
                            RData::A(a) => Some(Ipv4Addr::from(a)),
                            _ => None,
                        })
                        .collect()
                })
            }),
            ipv6: v6.map(|r| {
                r.map(|data| {
                    data.into_iter()
                        .filter_map(|d| match d {
                            RData::AAAA(a) => Some(Ipv6Addr::from(a)),
                            _ => None,
                        })
                        .collect()
                })
            }),
        }
    }

    /// The TXT records at a name, each as its list of character-strings, not concatenated
    /// (STS-TXT-06, RPT-TXT-04 concatenate). The name may be an alias (STS-TXT-01).
    ///
    /// # Errors
    ///
    /// A [`DnsError`] when the TXT RRset could not be obtained.
    pub async fn txt(&self, name: &DomainName) -> Result<Resolved<Vec<Vec<Vec<u8>>>>, DnsError> {
        Ok(self.lookup(name, RecordType::TXT).await?.map(|data| {
            data.into_iter()
                .filter_map(|d| match d {
                    RData::TXT(txt) => Some(txt.txt_data.iter().map(|s| s.to_vec()).collect()),
                    _ => None,
                })
                .collect()
        }))
    }

    /// The TLSA RRset for a host and port (RFC 7672 §2.2.3, RFC 7671 §7; DANE-DISC-03).
    ///
    /// The TLSA base domain is the host's fully CNAME-expanded name when every link of its
    /// chain is secure; when that name has no secure TLSA RRset, the original name is used.
    /// When a link is not secure, the original name is used. [`TlsaLookup::base`] says which.
    /// Whether the host's *addresses* are secure (DANE-DNS-06) is for the caller to check.
    ///
    /// # Errors
    ///
    /// A [`DnsError`] when the chain or the TLSA RRset could not be obtained: RFC 7672
    /// §2.1.2 (DANE-DNS-04) then treats the host as unreachable, never as "no DANE".
    pub async fn tlsa(&self, host: &DomainName, port: u16) -> Result<TlsaLookup, DnsError> {
        let rtype = RecordType::TLSA;
        self.timed(host, rtype, self.tlsa_inner(host, port)).await
    }

    async fn tlsa_inner(&self, host: &DomainName, port: u16) -> Result<TlsaLookup, DnsError> {
        let mut ttl = LowestTtl::default();
        // The host's own TLSA RRset is asked while its CNAME chain is: it is the one used
        // unless the chain is secure and leads elsewhere, so that the usual lookup costs one
        // round trip, not two. Its failure counts only when it is used.
        let (host_chain, at_host) = futures::join!(
            cname_chain(self.backend.as_ref(), host, &mut ttl),
            self.tlsa_at(host, port)
        );
        let host_chain = host_chain?;
        let expanded = host_chain.last().map(|hop| hop.target.clone());
        let chain_secure = host_chain.iter().all(|hop| hop.security.is_secure());
        let (base_domain, base, answer) = match expanded {
            None => (host.clone(), TlsaBase::Host, at_host?),
            Some(_) if !chain_secure => (host.clone(), TlsaBase::InsecureChain, at_host?),
            Some(target) => {
                let answer = self.tlsa_at(&target, port).await?;
                let usable = answer.answer().security() == Security::Secure
                    && !answer.answer().value_ignoring_security().is_denial();
                if usable {
                    (target, TlsaBase::Expanded, answer)
                } else {
                    // The expanded name's denial chose the fallback: its TTL counts too.
                    ttl.note(answer.ttl());
                    (host.clone(), TlsaBase::FallbackToHost, at_host?)
                }
            }
        };
        ttl.note(answer.ttl());
        Ok(TlsaLookup {
            owner: tlsa_owner(&base_domain, port)?,
            base_domain,
            base,
            host_chain,
            answer,
            ttl: ttl.get().unwrap_or_default(),
        })
    }

    async fn tlsa_at(
        &self,
        base: &DomainName,
        port: u16,
    ) -> Result<Resolved<Vec<TlsaRecord>>, DnsError> {
        let owner = tlsa_owner(base, port)?;
        let resolved = resolve(self.backend.as_ref(), &owner, RecordType::TLSA).await?;
        Ok(resolved.map(|data| {
            data.into_iter()
                .filter_map(|d| match d {
                    RData::TLSA(tlsa) => Some(tlsa_record(&tlsa)),
                    _ => None,
                })
                .collect()
        }))
    }

    /// Each exchange checked for a CNAME, the first [`MAX_ALIAS_CHECKS`] of them; the TTLs
    /// of the checks are noted in `ttl`.
    async fn alias_checks(&self, list: Vec<MxExchange>, ttl: &mut LowestTtl) -> Vec<MxExchange> {
        let backend = self.backend.as_ref();
        let checks = stream::iter(list.into_iter().enumerate())
            .map(|(i, exchange)| async move {
                let (alias, checked) = match &exchange.target {
                    MxTarget::Host(host) if i < MAX_ALIAS_CHECKS => {
                        alias_check(backend, host).await
                    }
                    _ => (AliasCheck::NotChecked, LowestTtl::default()),
                };
                (MxExchange { alias, ..exchange }, checked)
            })
            .buffered(8)
            .collect::<Vec<_>>()
            .await;
        checks
            .into_iter()
            .map(|(exchange, checked)| {
                ttl.note(checked);
                exchange
            })
            .collect()
    }

    /// Runs a lookup under the per-lookup timeout.
    async fn timed<T>(
        &self,
        name: &DomainName,
        rtype: RecordType,
        lookup: impl Future<Output = Result<T, DnsError>>,
    ) -> Result<T, DnsError> {
        tokio::time::timeout(self.timeout, lookup)
            .await
            .unwrap_or_else(|_| {
                Err(DnsError::Timeout {
                    name: name.clone(),
                    rtype,
                    after: self.timeout,
                })
            })
    }
}

/// The exchanges of an MX RRset, sorted and without duplicates, none checked for a CNAME
/// yet; a lone `0 .` is the null MX (RFC 7505).
fn mx_set(data: Vec<RData>) -> MxSet {
    let mut records: Vec<(u16, MxTarget)> = data
        .into_iter()
        .filter_map(|d| match d {
            RData::MX(mx) => Some((mx.preference, mx_target(&mx.exchange))),
            _ => None,
        })
        .collect();
    if let [(0, MxTarget::Root)] = records.as_slice() {
        return MxSet::NullMx;
    }
    records.sort();
    records.dedup();
    MxSet::Exchanges(
        records
            .into_iter()
            .map(|(preference, target)| MxExchange {
                preference,
                target,
                alias: AliasCheck::NotChecked,
            })
            .collect(),
    )
}

/// Follows CNAMEs from `name` until the back end reports the RRset or a denial.
async fn resolve(
    backend: &dyn DnsBackend,
    name: &DomainName,
    rtype: RecordType,
) -> Result<Resolved<Vec<RData>>, DnsError> {
    let mut chain: Vec<CnameHop> = Vec::new();
    let mut current = name.clone();
    let mut ttl = LowestTtl::default();
    loop {
        let step = backend.query(&current, rtype).await?;
        ttl.note(seconds(step.ttl));
        let progressed = !step.aliases.is_empty();
        for hop in step.aliases {
            if hop.owner != current {
                return Err(message::malformed(
                    name,
                    rtype,
                    &format!("CNAME chain jumps from {current} to {}", hop.owner),
                ));
            }
            if hop.target == *name || chain.iter().any(|h| h.owner == hop.target) {
                return Err(DnsError::CnameLoop {
                    name: name.clone(),
                    rtype,
                    at: hop.owner,
                });
            }
            if chain.len() == MAX_CNAME_CHAIN {
                return Err(DnsError::CnameChainTooLong {
                    name: name.clone(),
                    rtype,
                    limit: MAX_CNAME_CHAIN,
                });
            }
            current = hop.target.clone();
            chain.push(hop);
        }
        if let Some(outcome) = step.outcome {
            let ttl = ttl.get().unwrap_or_default();
            return Ok(Resolved::new(chain, current, outcome, ttl));
        }
        if !progressed {
            return Err(message::malformed(
                name,
                rtype,
                "the resolver gave neither data, nor a denial, nor a CNAME",
            ));
        }
    }
}

/// The CNAME chain of a host, asked link by link (type CNAME), each with its status; the TTL
/// of each answer is noted in `ttl`.
async fn cname_chain(
    backend: &dyn DnsBackend,
    host: &DomainName,
    ttl: &mut LowestTtl,
) -> Result<Vec<CnameHop>, DnsError> {
    let rtype = RecordType::CNAME;
    let mut chain: Vec<CnameHop> = Vec::new();
    let mut current = host.clone();
    loop {
        let step = backend.query(&current, rtype).await?;
        ttl.note(seconds(step.ttl));
        let Some(outcome) = step.outcome else {
            return Ok(chain);
        };
        let (security, answer) = outcome.into_parts();
        let Some(target) = answer
            .records()
            .and_then(|records| validating::first_cname(records))
        else {
            return Ok(chain);
        };
        let target = message::domain(host, rtype, &target)?;
        if target == *host || chain.iter().any(|h| h.owner == target) {
            return Err(DnsError::CnameLoop {
                name: host.clone(),
                rtype,
                at: current,
            });
        }
        if chain.len() == MAX_CNAME_CHAIN {
            return Err(DnsError::CnameChainTooLong {
                name: host.clone(),
                rtype,
                limit: MAX_CNAME_CHAIN,
            });
        }
        chain.push(CnameHop {
            owner: current,
            target: target.clone(),
            security,
        });
        current = target;
    }
}

/// Whether an MX target is an alias (RFC 2181 §10.3), and the TTL of the answer that says so.
async fn alias_check(backend: &dyn DnsBackend, host: &DomainName) -> (AliasCheck, LowestTtl) {
    let step = match backend.query(host, RecordType::CNAME).await {
        Ok(step) => step,
        Err(e) => return (AliasCheck::Failed(e), LowestTtl::default()),
    };
    let ttl = LowestTtl::from(seconds(step.ttl));
    let Some(outcome) = step.outcome else {
        return (AliasCheck::NotAlias, ttl);
    };
    let (security, answer) = outcome.into_parts();
    let check = match answer
        .records()
        .and_then(|records| validating::first_cname(records))
    {
        Some(target) => match message::domain(host, RecordType::CNAME, &target) {
            Ok(target) => AliasCheck::Alias(Dnssec::new(security, target)),
            Err(e) => AliasCheck::Failed(e),
        },
        None => AliasCheck::NotAlias,
    };
    (check, ttl)
}

fn mx_target(exchange: &hickory_proto::rr::Name) -> MxTarget {
    if exchange.is_root() {
        return MxTarget::Root;
    }
    let text = exchange.to_ascii();
    match DomainName::parse(&text) {
        Ok(host) => MxTarget::Host(host),
        Err(NameError::IpLiteral(_)) => text
            .trim_end_matches('.')
            .parse::<IpAddr>()
            .map_or(MxTarget::Invalid(text.clone()), MxTarget::IpLiteral),
        Err(_) => MxTarget::Invalid(text),
    }
}

fn tlsa_owner(base: &DomainName, port: u16) -> Result<DomainName, DnsError> {
    base.prepend(&format!("_{port}._tcp"))
        .map_err(|e| DnsError::InvalidName {
            name: format!("_{port}._tcp.{base}"),
            detail: e.to_string(),
        })
}

fn tlsa_record(tlsa: &TLSA) -> TlsaRecord {
    TlsaRecord {
        usage: u8::from(tlsa.cert_usage).into(),
        selector: u8::from(tlsa.selector).into(),
        matching: u8::from(tlsa.matching).into(),
        data: tlsa.cert_data.clone(),
    }
}

/// A [`Step::ttl`] as a duration.
fn seconds(ttl: u32) -> Duration {
    Duration::from_secs(u64::from(ttl))
}

fn split<T>(r: Resolved<T>) -> (Vec<CnameHop>, DomainName, Dnssec<Answer<T>>) {
    let chain = r.chain().to_vec();
    let canonical = r.canonical().clone();
    let target = r.target_security();
    let (_, answer) = r.into_answer().into_parts();
    (chain, canonical, Dnssec::new(target, answer))
}

fn rebuild<T>(
    chain: Vec<CnameHop>,
    canonical: DomainName,
    target_security: Security,
    answer: Answer<T>,
    ttl: LowestTtl,
) -> Resolved<T> {
    let ttl = ttl.get().unwrap_or_default();
    Resolved::new(chain, canonical, Dnssec::new(target_security, answer), ttl)
}

#[cfg(test)]
mod tests;
