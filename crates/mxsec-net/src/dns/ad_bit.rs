//! The `trust-ad` back end: a validating resolver on loopback validates, mxsec trusts its
//! AD bit (RFC 6840 §5.7; RFC 7672 §2.1.3; DANE-DNS-01), as Postfix, maddy and
//! postfix-tlspol do.
//!
//! Queries set RD, AD and EDNS DO, go over UDP and are retried over TCP when truncated. AD
//! is per response, not per RRset: when a CNAME chain comes back without AD, the first link
//! is asked for explicitly (type CNAME) so that each link gets its own status (Postfix
//! `qname_secure`, maddy `CheckCNAMEAD`), and the chain continues from its target. A
//! validating resolver answers SERVFAIL for bogus data; mxsec reports it as
//! [`DnsError::Bogus`] when the resolver says so with an RFC 8914 extended error, or when
//! the same query with CD=1 (RFC 4035 §3.2.2) gets an answer, and as
//! [`DnsError::ServFail`] otherwise.
//!
//! The resolver proves an answer from the trust anchor down, fetching each zone's DS and
//! DNSKEY RRsets one after the other. So that the first answer for a destination does not
//! wait for one round trip per zone, its MX question also asks the resolver, without
//! waiting, for the DNSKEY and DS RRsets of the domain and of every name above it: the
//! resolver fetches them at once, and its own chain walk then finds them in its cache. Only
//! MX questions prime (one set of queries per destination, not per MX host: 300 hosts
//! primed at once made the resolver time out), and a name is primed at most once in
//! [`PRIME_AGAIN_AFTER`] (at most [`PRIMED_NAMES`] remembered); the answers are not used,
//! only the resolver's cache.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_net::NetError;
use hickory_proto::op::{DnsResponse, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::rdata::CNAME;
use hickory_proto::rr::{Name, RData, RecordType};
use mxsec_proto::dnssec::{Dnssec, Security};
use mxsec_proto::name::DomainName;

use super::backend::{DnsBackend, Step};
use super::config::{DnsConfig, DnsConfigError};
use super::exchange::{answered_unchecked, exchange, Flags, BOGUS_UPSTREAM};
use super::message::{domain, lowest_ttl, malformed, negative_ttl, rcode_error, to_name};
use super::types::{Answer, CnameHop, DnsError};
use crate::ttl_cache::{TtlCache, TtlLimits};

/// The EDNS option code of Extended DNS Errors (RFC 8914 §2).
const EDE_OPTION: u16 = 15;
/// The most CNAME links taken from one response.
const MAX_LINKS: usize = 16;
/// How long a name whose chain was primed is not primed again.
const PRIME_AGAIN_AFTER: Duration = Duration::from_secs(300);
/// The most primed names remembered.
const PRIMED_NAMES: usize = 4_096;
/// The most names above one name that are primed.
const MAX_PRIMED_ANCESTORS: usize = 8;

/// Trusts the AD bit of loopback validating resolvers.
pub(crate) struct AdBit {
    servers: Vec<SocketAddr>,
    timeout: Duration,
    /// Names whose DNSKEY and DS RRsets were asked for recently.
    primed: Arc<TtlCache<Name, ()>>,
}

impl std::fmt::Debug for AdBit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdBit")
            .field("servers", &self.servers)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl AdBit {
    /// Checks the resolvers: each must be on loopback unless the override is set.
    pub(crate) fn new(config: &DnsConfig) -> Result<Self, DnsConfigError> {
        let servers = config.resolve_nameservers()?;
        if !config.allow_non_loopback {
            if let Some(addr) = servers.iter().find(|a| !a.ip().is_loopback()) {
                return Err(DnsConfigError::NonLoopbackResolver(*addr));
            }
        }
        Ok(Self {
            servers,
            timeout: config.timeout,
            primed: Arc::new(TtlCache::new(TtlLimits::with_capacity(PRIMED_NAMES))),
        })
    }

    /// Asks the first resolver, without waiting, for the DNSKEY and DS RRsets of `name` and
    /// every name above it not primed recently (see the module docs). Names whose first label
    /// starts with `_` (`_25._tcp`, `_mta-sts`) are skipped: they are not zone apexes.
    fn prime(&self, name: &Name) {
        let Some(server) = self.servers.first().copied() else {
            return;
        };
        let now = Instant::now();
        let mut current = name.clone();
        for _ in 0..MAX_PRIMED_ANCESTORS {
            let service = current
                .iter()
                .next()
                .is_some_and(|label| label.starts_with(b"_"));
            if !service && self.primed.get(&current, now).is_none() {
                self.primed
                    .insert(current.clone(), (), PRIME_AGAIN_AFTER, now);
                let flags = Flags {
                    authentic_data: true,
                    checking_disabled: false,
                };
                let mut types = vec![RecordType::DNSKEY];
                if !current.is_root() {
                    types.push(RecordType::DS);
                }
                for rtype in types {
                    let (zone, timeout) = (current.clone(), self.timeout);
                    tokio::spawn(async move {
                        let _ = exchange(server, zone, rtype, flags, timeout).await;
                    });
                }
            }
            if current.is_root() {
                break;
            }
            current = current.base_name();
        }
    }

    /// Sends one query, trying the resolvers in order while they do not answer.
    async fn send(
        &self,
        name: &DomainName,
        rtype: RecordType,
        flags: Flags,
    ) -> Result<DnsResponse, DnsError> {
        let qname = to_name(name, rtype)?;
        let mut last = None;
        for server in &self.servers {
            match exchange(*server, qname.clone(), rtype, flags, self.timeout).await {
                Ok(response) => return Ok(response),
                Err(error) => last = Some(self.net_error(name, rtype, *server, error)),
            }
        }
        Err(last.unwrap_or_else(|| DnsError::Network {
            name: name.clone(),
            rtype,
            detail: "no resolver configured".to_owned(),
        }))
    }

    fn net_error(
        &self,
        name: &DomainName,
        rtype: RecordType,
        server: SocketAddr,
        error: NetError,
    ) -> DnsError {
        match error {
            NetError::Timeout => DnsError::Timeout {
                name: name.clone(),
                rtype,
                after: self.timeout,
            },
            NetError::Proto(e) => malformed(name, rtype, &format!("{server}: {e}")),
            NetError::Dns(hickory_net::DnsError::ResponseCode(code)) => {
                rcode_error(name, rtype, code)
            }
            other => DnsError::Network {
                name: name.clone(),
                rtype,
                detail: format!("{server}: {other}"),
            },
        }
    }

    /// Tells a validation failure apart from another SERVFAIL.
    async fn servfail(
        &self,
        name: &DomainName,
        rtype: RecordType,
        response: &DnsResponse,
    ) -> DnsError {
        if let Some(reason) = dnssec_extended_error(response) {
            return DnsError::Bogus {
                name: name.clone(),
                rtype,
                reason,
            };
        }
        match self.send(name, rtype, Flags::UNCHECKED).await {
            Ok(retry) if answered_unchecked(&retry) => DnsError::Bogus {
                name: name.clone(),
                rtype,
                reason: BOGUS_UPSTREAM.to_owned(),
            },
            _ => DnsError::ServFail {
                name: name.clone(),
                rtype,
            },
        }
    }
}

#[async_trait::async_trait]
impl DnsBackend for AdBit {
    async fn query(&self, name: &DomainName, rtype: RecordType) -> Result<Step, DnsError> {
        let checked = Flags {
            authentic_data: true,
            checking_disabled: false,
        };
        if rtype == RecordType::MX {
            if let Ok(qname) = to_name(name, rtype) {
                self.prime(&qname);
            }
        }
        let response = self.send(name, rtype, checked).await?;
        match response.response_code {
            ResponseCode::NoError | ResponseCode::NXDomain => {}
            ResponseCode::ServFail => return Err(self.servfail(name, rtype, &response).await),
            other => return Err(rcode_error(name, rtype, other)),
        }
        let security = if response.metadata.authentic_data {
            Security::Secure
        } else {
            Security::Insecure
        };

        let mut aliases: Vec<CnameHop> = Vec::new();
        let mut current: Name = to_name(name, rtype)?;
        if rtype != RecordType::CNAME {
            while let Some(target) = response.answers.iter().find_map(|r| match &r.data {
                RData::CNAME(CNAME(target)) if r.name == current => Some(target.clone()),
                _ => None,
            }) {
                if aliases.len() == MAX_LINKS {
                    return Err(DnsError::CnameChainTooLong {
                        name: name.clone(),
                        rtype,
                        limit: MAX_LINKS,
                    });
                }
                aliases.push(CnameHop {
                    owner: domain(name, rtype, &current)?,
                    target: domain(name, rtype, &target)?,
                    security,
                });
                current = target;
            }
        }

        if security != Security::Secure {
            if let Some(first) = aliases.first() {
                // AD=0 covers the whole chain: learn the first link's own status.
                let own = self.send(name, RecordType::CNAME, checked).await?;
                if own.response_code != ResponseCode::NoError {
                    return Err(rcode_error(name, RecordType::CNAME, own.response_code));
                }
                let link = CnameHop {
                    security: if own.metadata.authentic_data {
                        Security::Secure
                    } else {
                        Security::Insecure
                    },
                    ..first.clone()
                };
                return Ok(Step {
                    aliases: vec![link],
                    outcome: None,
                    ttl: lowest_ttl(own.answers.iter()).unwrap_or(0),
                });
            }
        }

        let data: Vec<RData> = response
            .answers
            .iter()
            .filter(|r| r.name == current && r.record_type() == rtype)
            .map(|r| r.data.clone())
            .collect();
        let outcome = if !data.is_empty() {
            Some(Dnssec::new(security, Answer::Records(data)))
        } else if response.response_code == ResponseCode::NXDomain {
            Some(Dnssec::new(security, Answer::NxDomain))
        } else if aliases.is_empty() {
            Some(Dnssec::new(security, Answer::NoData))
        } else {
            // A chain that stops without data or denial: ask its last target directly.
            None
        };
        let ttl = match &outcome {
            Some(found) if !found.value_ignoring_security().is_denial() => {
                lowest_ttl(response.answers.iter())
            }
            // RFC 2308 §5: a denial is kept for the lesser of the SOA's TTL and MINIMUM.
            _ => negative_ttl(response.authorities.iter()).map(|negative| {
                lowest_ttl(response.answers.iter()).map_or(negative, |chain| chain.min(negative))
            }),
        };
        Ok(Step {
            aliases,
            outcome,
            ttl: ttl.unwrap_or(0),
        })
    }
}

/// An RFC 8914 extended error that reports a DNSSEC failure, as a reason.
fn dnssec_extended_error(response: &DnsResponse) -> Option<String> {
    let edns = response.edns.as_ref()?;
    edns.options().options.iter().find_map(|(code, option)| {
        let (EdnsCode::Unknown(EDE_OPTION), EdnsOption::Unknown(_, data)) = (code, option) else {
            return None;
        };
        let info = u16::from_be_bytes([*data.first()?, *data.get(1)?]);
        let meaning = match info {
            5 => "DNSSEC Indeterminate",
            6 => "DNSSEC Bogus",
            7 => "Signature Expired",
            8 => "Signature Not Yet Valid",
            9 => "DNSKEY Missing",
            10 => "RRSIGs Missing",
            11 => "No Zone Key Bit Set",
            12 => "NSEC Missing",
            _ => return None,
        };
        let text = data
            .get(2..)
            .map(|t| {
                String::from_utf8_lossy(t)
                    .chars()
                    .take(200)
                    .collect::<String>()
            })
            .unwrap_or_default();
        Some(if text.is_empty() {
            format!("extended DNS error {info} ({meaning})")
        } else {
            format!("extended DNS error {info} ({meaning}): {text}")
        })
    })
}
