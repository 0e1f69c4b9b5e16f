//! The `validate` back end: hickory 0.26.3 validating in process (`dnssec-ring`), over
//! mxsec's own handle stack ([`super::stack`]).
//!
//! How each known weak spot of hickory's validator (RUST-STACK.md §1.8) is handled:
//!
//! - **CNAME.** hickory follows a chain itself, and judges everything in the response against
//!   the name asked: a target's denial, which a recursive resolver appends to the CNAME
//!   (RFC 1034 §4.3.2) with the target zone's SOA and NSEC, is then found Bogus, and so is
//!   an insecure CNAME to a secure denial (hickory's own tests list it as Bogus); when the
//!   chain ends in a denial without proof, hickory returns the target's denial without the
//!   chain. So a denial that is not certainly the name's own, and a bogus verdict on any
//!   type but CNAME, make mxsec ask the name for its CNAME alone; when it is an alias,
//!   [`super::Dns`] walks the chain one link at a time, so each link and the final answer
//!   or denial carry their own proof (RFC 4035 §5.3, §5.4), and the chain's status is its
//!   weakest link's. A bogus CNAME, a bogus target answer, and a bogus answer at a name that
//!   is no alias all stay bogus; a chain into an insecure zone is insecure.
//! - **A validating upstream.** hickory always clears CD, so a validating recursive resolver
//!   answers SERVFAIL for bogus data; when the same query with CD=1 gets an answer, the
//!   failure is reported as [`DnsError::Bogus`] (RFC 4035 §3.2.2), else as SERVFAIL.
//! - **Wildcards.** hickory 0.26.3 finds the usual NSEC proof of a one-label expansion
//!   bogus, and checks NSEC3 proofs against the wrong name and without Opt-Out (its issues
//!   #2882, #3812). An answer with an expanded RRset, secure or bogus by hickory's verdict, is
//!   asked again without hickory's CNAME layer, and each expanded RRset is judged by mxsec
//!   from the validated records of its own response, as Unbound judges it
//!   ([`super::wildcard`]): secure with the proof that no closer match exists (RFC 4035
//!   §5.3.4, RFC 5155 §8.8), insecure through an Opt-Out span, bogus without a proof.
//! - **NSEC3.** Validated by hickory (closest-encloser proofs, opt-out, RFC 9276 iteration
//!   limits 100/500). hickory calls a denial Secure when the NSEC3 covering the next closer
//!   name has the Opt-Out flag; RFC 5155 §9.2 forbids AD there and Unbound answers it
//!   insecure, so mxsec lowers it to Insecure ([`super::opt_out`]). The differential test
//!   checks NSEC3 and NSEC3 opt-out zones against Unbound.
//! - **Bogus.** hickory turns any Bogus record into an error without detail; mxsec reports
//!   [`DnsError::Bogus`] with the reason hickory gives, if any.
//! - **Insecure delegations.** hickory proves every unsigned answer insecure anew, walking
//!   from its name up to the zone cut. Once a cut's validated DS denial proves it insecure,
//!   mxsec asks the names below it with one unvalidated query each, their records insecure
//!   (RFC 4035 §4.3), for the TTL of that proof ([`super::insecure_cut`]).

use std::sync::Arc;
use std::time::Duration;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::dnssec::{Proof, TrustAnchors};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::CNAME;
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_resolver::net::{DnsError as HickoryDnsError, NetError, NoRecords};
use mxsec_proto::dnssec::{Dnssec, Security};
use mxsec_proto::name::DomainName;

use super::backend::{DnsBackend, Step};
use super::chain::VALIDATION_ENTRIES_PER_RESPONSE;
use super::config::{DnsConfig, DnsConfigError, TrustAnchorSource};
use super::exchange::{answered_unchecked, exchange, Flags, BOGUS_UPSTREAM};
use super::insecure_cut::{data_owner, Delegation, InsecureCuts};
use super::message::{domain, lowest_ttl, malformed, negative_ttl, rcode_error, to_name};
use super::opt_out::next_closer_in_opt_out_span;
use super::stack::ValidatingStack;
use super::trust_anchor::{self, AnchorEntry};
use super::types::{Answer, CnameHop, DnsError};
use super::wildcard::{any_expanded, expansion_status};

/// hickory's validator over mxsec's own handle stack ([`ValidatingStack`]): an explicit
/// trust anchor, no response cache, and a validation cache of the configured size.
pub(crate) struct Validating {
    stack: ValidatingStack,
    servers: Vec<std::net::SocketAddr>,
    timeout: Duration,
    /// The trust anchor, as a bogus answer names it.
    anchor: String,
    /// The delegations proven insecure, whose names are asked without validation.
    cuts: InsecureCuts,
}

impl std::fmt::Debug for Validating {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validating").finish_non_exhaustive()
    }
}

impl Validating {
    /// Builds the validator; a DS trust anchor is resolved to keys here, once.
    pub(crate) async fn new(config: &DnsConfig) -> Result<Self, DnsConfigError> {
        let servers = config.resolve_nameservers()?;
        let (anchors, anchor_owners) =
            load_anchors(&config.trust_anchor, &servers, config.timeout).await?;
        let stack = ValidatingStack::new(
            &servers,
            config.timeout,
            Arc::new(anchors),
            config.validation_cache_entries,
        )?;
        Ok(Self {
            stack,
            servers,
            timeout: config.timeout,
            anchor: anchor_name(&config.trust_anchor),
            cuts: InsecureCuts::new(
                config.validation_cache_entries / VALIDATION_ENTRIES_PER_RESPONSE,
                anchor_owners,
            ),
        })
    }

    /// One lookup: below a delegation proven insecure one unvalidated query, else through
    /// hickory's validator; an insecure answer of the name's own teaches where its
    /// delegation is ([`super::insecure_cut`]).
    async fn lookup(&self, name: &DomainName, rtype: RecordType) -> Result<Step, DnsError> {
        let fqdn = to_name(name, rtype)?;
        if self.cuts.covers(&fqdn, rtype) {
            return self.below_insecure_cut(name, rtype, &fqdn).await;
        }
        let step = self.validated(name, rtype, &fqdn).await;
        if step.as_ref().is_ok_and(own_data_insecure) {
            self.learn_cut(&fqdn, rtype).await;
        }
        step
    }

    /// A lookup below a delegation proven insecure: one query, every record of the answer
    /// insecure (RFC 4035 §4.3). The CNAME chain is followed in the answer as long as it
    /// stays below a proven cut; a target elsewhere is left to the walker in [`super::Dns`],
    /// which asks it with its own proof.
    async fn below_insecure_cut(
        &self,
        name: &DomainName,
        rtype: RecordType,
        fqdn: &Name,
    ) -> Result<Step, DnsError> {
        match self.stack.unvalidated(fqdn, rtype).await {
            Ok(response) => {
                let records: Vec<Record> = response
                    .answers
                    .iter()
                    .filter(|r| self.cuts.covers(&r.name, r.record_type()))
                    .map(|r| {
                        let mut record = r.clone();
                        record.proof = Proof::Insecure;
                        record
                    })
                    .collect();
                positive(name, rtype, &records, &[])
            }
            Err(NetError::Dns(HickoryDnsError::NoRecordsFound(no))) => Ok(Step {
                aliases: Vec::new(),
                outcome: Some(Dnssec::new(
                    Security::Insecure,
                    denial_answer(no.response_code, name, rtype)?,
                )),
                ttl: denial_ttl(&no),
            }),
            Err(error) => Err(failure(name, rtype, error, self.timeout)),
        }
    }

    /// After an insecure answer at `fqdn`, finds the zone cut above it with NS queries, as
    /// hickory's own walk does (the chain layer keeps those answers, so this seldom costs a
    /// query), and keeps it when its validated DS response proves it insecure. A DS denial
    /// that rests on an insecure parent sends the search on to the cut above; a signed
    /// delegation ends it (the answer was insecure for another reason: an unsupported
    /// algorithm, an Opt-Out denial, NSEC3 iterations over the limit).
    async fn learn_cut(&self, fqdn: &Name, rtype: RecordType) {
        let mut candidate = data_owner(fqdn, rtype);
        while !candidate.is_root() {
            if self.stack.has_ns(&candidate).await {
                let Some(response) = self.stack.accepted(&candidate, RecordType::DS).await else {
                    return;
                };
                match Delegation::judge(&candidate, &response) {
                    Delegation::Signed => return,
                    Delegation::Unproven => {}
                    proven @ Delegation::Insecure { .. } => {
                        self.cuts.keep(&candidate, proven);
                        return;
                    }
                }
            }
            candidate = candidate.base_name();
        }
    }

    /// A lookup through hickory's validator, CNAMEs checked as the module says.
    async fn validated(
        &self,
        name: &DomainName,
        rtype: RecordType,
        fqdn: &Name,
    ) -> Result<Step, DnsError> {
        match self.stack.lookup(fqdn.clone(), rtype).await {
            Ok(lookup) if !any_expanded(lookup.answers()) => {
                positive(name, rtype, lookup.answers(), lookup.authorities())
            }
            Ok(lookup) => match self.expanded(name, rtype, fqdn).await {
                Some(step) => step,
                None => positive(name, rtype, lookup.answers(), lookup.authorities()),
            },
            Err(error) => match bogus_reason(&error) {
                Some(reason) => {
                    // hickory may call a good wildcard answer bogus: mxsec judges those.
                    if let Some(step) = self.expanded(name, rtype, fqdn).await {
                        return step;
                    }
                    if rtype == RecordType::CNAME {
                        return Err(bogus(name, rtype, reason));
                    }
                    // hickory judges a CNAME's answer against the name asked, also the
                    // target's denial that a recursive resolver appends (RFC 1034 §4.3.2):
                    // the CNAME is then validated on its own, and the target asked about
                    // by the walker, with its own proof. A name that is no alias, or whose
                    // CNAME does not validate either, keeps its bogus verdict.
                    match self.alias(name, rtype).await {
                        Ok(Alias::To(step)) => Ok(step),
                        Ok(Alias::None { .. }) | Err(_) => Err(bogus(name, rtype, reason)),
                    }
                }
                None => {
                    let denial = classify_error(name, rtype, fqdn, error, self.timeout)?;
                    if denial.direct || rtype == RecordType::CNAME {
                        return Ok(Step {
                            aliases: Vec::new(),
                            outcome: Some(denial.answer),
                            ttl: denial.ttl,
                        });
                    }
                    // The denial may be a CNAME target's: ask whether the name is an alias.
                    match self.alias(name, rtype).await? {
                        Alias::To(step) => Ok(step),
                        Alias::None { ttl } => Ok(Step {
                            aliases: Vec::new(),
                            outcome: Some(denial.answer),
                            ttl: denial.ttl.min(ttl),
                        }),
                    }
                }
            },
        }
    }

    /// The step an answer with a wildcard-expanded RRset gives, judged from its own
    /// response ([`super::wildcard`]); `None` when that response has no expanded RRset (or
    /// did not come), so hickory's verdict stands.
    async fn expanded(
        &self,
        name: &DomainName,
        rtype: RecordType,
        fqdn: &Name,
    ) -> Option<Result<Step, DnsError>> {
        let response = self.stack.response(fqdn, rtype).await?;
        any_expanded(&response.answers)
            .then(|| positive(name, rtype, &response.answers, &response.authorities))
    }

    /// Tells a validating upstream's verdict apart from another SERVFAIL. hickory always
    /// clears CD, so a validating recursive resolver answers SERVFAIL for data it finds
    /// bogus (RFC 4035 §5.5); when the same query with CD=1 (RFC 4035 §3.2.2) gets an
    /// answer, the resolver's validation failed, and the error is [`DnsError::Bogus`].
    /// Either way the lookup fails: nothing of the unchecked answer is used.
    async fn servfail(&self, name: &DomainName, rtype: RecordType) -> DnsError {
        if let Ok(fqdn) = to_name(name, rtype) {
            for server in &self.servers {
                let Ok(response) =
                    exchange(*server, fqdn.clone(), rtype, Flags::UNCHECKED, self.timeout).await
                else {
                    continue;
                };
                if answered_unchecked(&response) {
                    return bogus(name, rtype, BOGUS_UPSTREAM);
                }
                break;
            }
        }
        DnsError::ServFail {
            name: name.clone(),
            rtype,
        }
    }

    /// Asks `name` for its CNAME alone, validated like any RRset. When it is an alias, the
    /// step leads to its target, which the walker in [`super::Dns`] then asks about `rtype`
    /// itself, so that the target's answer or denial carries its own proof (RFC 4035 §5.3,
    /// §5.4) and the chain's status is the weakest of its links (RFC 4035 §5, DANE-DNS-06).
    async fn alias(&self, name: &DomainName, rtype: RecordType) -> Result<Alias, DnsError> {
        let alias = Box::pin(self.lookup(name, RecordType::CNAME)).await?;
        let (security, answer) = match alias.outcome {
            Some(outcome) => outcome.into_parts(),
            None => (Security::Indeterminate, Answer::NoData),
        };
        let Some(target) = answer.records().and_then(|records| first_cname(records)) else {
            return Ok(Alias::None { ttl: alias.ttl });
        };
        Ok(Alias::To(Step {
            aliases: vec![CnameHop {
                owner: name.clone(),
                target: domain(name, rtype, &target)?,
                security,
            }],
            outcome: None,
            ttl: alias.ttl,
        }))
    }
}

/// Whether the first thing a step says of its own name, its CNAME or its data, is insecure.
fn own_data_insecure(step: &Step) -> bool {
    match (step.aliases.first(), &step.outcome) {
        (Some(hop), _) => hop.security == Security::Insecure,
        (None, Some(outcome)) => outcome.security() == Security::Insecure,
        (None, None) => false,
    }
}

/// How a bogus answer names the trust anchor it was judged against.
fn anchor_name(source: &TrustAnchorSource) -> String {
    match source {
        TrustAnchorSource::IanaRoot => "the IANA root trust anchor".to_owned(),
        TrustAnchorSource::File(path) => format!("the trust anchor in {}", path.display()),
        TrustAnchorSource::Text(_) => "the trust anchor given as text".to_owned(),
    }
}

/// Why hickory found an answer bogus, when it did: its signatures (or keys, or chain of
/// trust), or the proof of its denial (RFC 4035 §5.4).
fn bogus_reason(error: &NetError) -> Option<&'static str> {
    match error {
        NetError::Dns(HickoryDnsError::DnssecBogus) => Some(BOGUS_SIGNATURES),
        NetError::Dns(HickoryDnsError::Nsec {
            proof: Proof::Bogus,
            ..
        }) => Some(BOGUS_DENIAL),
        _ => None,
    }
}

const BOGUS_SIGNATURES: &str = "signatures, keys or the chain of trust do not validate";
const BOGUS_DENIAL: &str = "the denial of existence does not validate";
const BOGUS_WILDCARD: &str = "an answer expanded from a wildcard has no valid proof that no \
     closer match exists (RFC 4035 §5.3.4, RFC 5155 §8.8)";

#[async_trait::async_trait]
impl DnsBackend for Validating {
    async fn query(&self, name: &DomainName, rtype: RecordType) -> Result<Step, DnsError> {
        let result = match self.lookup(name, rtype).await {
            Err(DnsError::ServFail { .. }) => Err(self.servfail(name, rtype).await),
            other => other,
        };
        // With a private namespace and the default IANA root every answer is bogus: the
        // reason names the trust anchor it was judged against.
        result.map_err(|e| match e {
            DnsError::Bogus {
                name,
                rtype,
                reason,
            } => DnsError::Bogus {
                name,
                rtype,
                reason: format!("{reason} (validated from {})", self.anchor),
            },
            other => other,
        })
    }

    fn chain_entries(&self) -> usize {
        self.stack.chain_entries()
    }
}

/// Whether a name is an alias, as its own CNAME query says.
enum Alias {
    /// It is: the step to its target, with the CNAME's status and TTL.
    To(Step),
    /// It is not; the TTL of the answer that says so.
    None { ttl: u32 },
}

/// A denial, and whether it is certainly for the name asked (not for a CNAME target).
struct Denial {
    answer: Dnssec<Answer<Vec<RData>>>,
    direct: bool,
    /// The negative TTL (RFC 2308 §5); 0 when unknown.
    ttl: u32,
}

/// A positive answer: the CNAME chain from `name` and the RRset at its end, from the answer
/// and authority records of a validated response. An RRset expanded from a wildcard is no
/// more secure than its proof of no closer match ([`super::wildcard`]); without one it is
/// bogus.
fn positive(
    name: &DomainName,
    rtype: RecordType,
    records: &[Record],
    authorities: &[Record],
) -> Result<Step, DnsError> {
    if records.iter().any(|r| r.proof == Proof::Bogus) {
        return Err(DnsError::Bogus {
            name: name.clone(),
            rtype,
            reason: "a record of the answer failed validation".to_owned(),
        });
    }
    // The status of the RRset `(owner, covered)`: its records' proofs, and its proof of no
    // closer match when it was expanded from a wildcard.
    let status = |owner: &Name, covered: RecordType, set: &[&Record]| {
        let signed = security_of(set.iter().copied());
        match expansion_status(owner, covered, records, authorities) {
            Some(Security::Bogus) => Err(bogus(name, rtype, BOGUS_WILDCARD)),
            Some(proof) => Ok(signed.min(proof)),
            None => Ok(signed),
        }
    };
    let mut aliases = Vec::new();
    let mut current = to_name(name, rtype)?;
    if rtype != RecordType::CNAME {
        while let Some(record) = records
            .iter()
            .find(|r| r.name == current && r.record_type() == RecordType::CNAME)
        {
            let RData::CNAME(CNAME(target)) = &record.data else {
                break;
            };
            let hop = CnameHop {
                owner: domain(name, rtype, &current)?,
                target: domain(name, rtype, target)?,
                security: status(&current, RecordType::CNAME, &[record])?,
            };
            if aliases.iter().any(|h: &CnameHop| h.owner == hop.target) || aliases.len() > 16 {
                return Err(DnsError::CnameLoop {
                    name: name.clone(),
                    rtype,
                    at: hop.target,
                });
            }
            current = target.clone();
            aliases.push(hop);
        }
    }
    let final_records: Vec<&Record> = records
        .iter()
        .filter(|r| r.name == current && r.record_type() == rtype)
        .collect();
    if final_records.is_empty() {
        // The chain ends without data here; the walker asks the last target itself.
        return Ok(Step {
            aliases,
            outcome: None,
            ttl: lowest_ttl(records.iter()).unwrap_or(0),
        });
    }
    let security = status(&current, rtype, &final_records)?;
    let data = final_records.iter().map(|r| r.data.clone()).collect();
    Ok(Step {
        aliases,
        outcome: Some(Dnssec::new(security, Answer::Records(data))),
        ttl: lowest_ttl(records.iter()).unwrap_or(0),
    })
}

/// Maps a hickory error to a denial (with its status) or a [`DnsError`].
fn classify_error(
    name: &DomainName,
    rtype: RecordType,
    fqdn: &Name,
    error: NetError,
    timeout: Duration,
) -> Result<Denial, DnsError> {
    match error {
        NetError::Dns(HickoryDnsError::NoRecordsFound(no)) => {
            // A denial hickory built itself (no SOA, no proof), e.g. after giving up on a
            // looping chain, is not taken as direct: the chain is then walked link by link.
            let direct = no.query.name() == fqdn && (no.soa.is_some() || no.authorities.is_some());
            let authorities: &[Record] = no.authorities.as_deref().unwrap_or(&[]);
            Ok(Denial {
                answer: Dnssec::new(
                    opt_out_lowered(denial_security(&no), fqdn, authorities),
                    denial_answer(no.response_code, name, rtype)?,
                ),
                direct,
                ttl: denial_ttl(&no),
            })
        }
        NetError::Dns(HickoryDnsError::Nsec {
            query,
            response,
            proof,
            ..
        }) => match proof {
            Proof::Insecure => Ok(Denial {
                answer: Dnssec::new(
                    Security::Insecure,
                    denial_answer(response.response_code, name, rtype)?,
                ),
                direct: query.name() == fqdn,
                ttl: negative_ttl(response.authorities.iter()).unwrap_or(0),
            }),
            Proof::Secure => Ok(Denial {
                answer: Dnssec::new(
                    opt_out_lowered(Security::Secure, fqdn, &response.authorities),
                    denial_answer(response.response_code, name, rtype)?,
                ),
                direct: query.name() == fqdn,
                ttl: negative_ttl(response.authorities.iter()).unwrap_or(0),
            }),
            Proof::Bogus => Err(bogus(name, rtype, BOGUS_DENIAL)),
            Proof::Indeterminate => Ok(Denial {
                answer: Dnssec::new(
                    Security::Indeterminate,
                    denial_answer(response.response_code, name, rtype)?,
                ),
                direct: query.name() == fqdn,
                ttl: negative_ttl(response.authorities.iter()).unwrap_or(0),
            }),
        },
        other => Err(failure(name, rtype, other, timeout)),
    }
}

/// The error for a failed exchange or a response that is neither an answer nor a denial.
fn failure(name: &DomainName, rtype: RecordType, error: NetError, timeout: Duration) -> DnsError {
    match error {
        NetError::Dns(HickoryDnsError::DnssecBogus) => bogus(name, rtype, BOGUS_SIGNATURES),
        NetError::Dns(HickoryDnsError::ResponseCode(code)) => rcode_error(name, rtype, code),
        NetError::Timeout => DnsError::Timeout {
            name: name.clone(),
            rtype,
            after: timeout,
        },
        NetError::Io(e) => DnsError::Network {
            name: name.clone(),
            rtype,
            detail: e.to_string(),
        },
        NetError::NoConnections | NetError::Busy => DnsError::Network {
            name: name.clone(),
            rtype,
            detail: "no connection to any nameserver".to_owned(),
        },
        NetError::Proto(e) => malformed(name, rtype, &e.to_string()),
        other => DnsError::Other {
            name: name.clone(),
            rtype,
            detail: other.to_string(),
        },
    }
}

/// The negative TTL of a denial (RFC 2308 §5): hickory's, else from its SOA record; 0 when
/// unknown.
fn denial_ttl(no: &NoRecords) -> u32 {
    no.negative_ttl
        .or_else(|| no.soa.as_ref().map(|soa| soa.ttl.min(soa.data.minimum)))
        .or_else(|| negative_ttl(no.authorities.iter().flat_map(|a| a.iter())))
        .unwrap_or(0)
}

/// A Secure denial of `fqdn` resting on an NSEC3 Opt-Out span is Insecure (RFC 5155 §9.2;
/// see [`super::opt_out`]); any other status is kept.
fn opt_out_lowered(security: Security, fqdn: &Name, authorities: &[Record]) -> Security {
    if security == Security::Secure && next_closer_in_opt_out_span(fqdn, authorities) {
        Security::Insecure
    } else {
        security
    }
}

/// The status of a validated denial: Secure when a secure NSEC/NSEC3 proved it, Insecure
/// when the zone is provably unsigned (no proof records, or only insecure ones),
/// Indeterminate otherwise.
fn denial_security(no: &NoRecords) -> Security {
    let authorities: &[Record] = no.authorities.as_deref().unwrap_or(&[]);
    let proofs: Vec<Proof> = authorities
        .iter()
        .filter(|r| matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3))
        .map(|r| r.proof)
        .collect();
    if proofs.contains(&Proof::Secure) && proofs.iter().all(|p| *p == Proof::Secure) {
        Security::Secure
    } else if authorities
        .iter()
        .filter(|r| r.record_type() != RecordType::RRSIG)
        .all(|r| r.proof == Proof::Insecure)
    {
        Security::Insecure
    } else {
        Security::Indeterminate
    }
}

fn denial_answer(
    code: ResponseCode,
    name: &DomainName,
    rtype: RecordType,
) -> Result<Answer<Vec<RData>>, DnsError> {
    match code {
        ResponseCode::NXDomain => Ok(Answer::NxDomain),
        ResponseCode::NoError => Ok(Answer::NoData),
        other => Err(rcode_error(name, rtype, other)),
    }
}

fn bogus(name: &DomainName, rtype: RecordType, reason: &str) -> DnsError {
    DnsError::Bogus {
        name: name.clone(),
        rtype,
        reason: reason.to_owned(),
    }
}

/// The weakest proof of some records, as a [`Security`].
fn security_of<'a>(records: impl IntoIterator<Item = &'a Record>) -> Security {
    records
        .into_iter()
        .map(|r| match r.proof {
            Proof::Secure => Security::Secure,
            Proof::Insecure => Security::Insecure,
            Proof::Bogus => Security::Bogus,
            Proof::Indeterminate => Security::Indeterminate,
        })
        .fold(Security::Secure, Security::min)
}

pub(crate) fn first_cname(records: &[RData]) -> Option<Name> {
    records.iter().find_map(|r| match r {
        RData::CNAME(CNAME(target)) => Some(target.clone()),
        _ => None,
    })
}

/// Builds hickory's trust anchors from the configured source, with the names they are for.
async fn load_anchors(
    source: &TrustAnchorSource,
    servers: &[std::net::SocketAddr],
    timeout: Duration,
) -> Result<(TrustAnchors, Vec<Name>), DnsConfigError> {
    let (origin, text) = match source {
        TrustAnchorSource::IanaRoot => return Ok((TrustAnchors::default(), vec![Name::root()])),
        TrustAnchorSource::Text(text) => ("text".to_owned(), text.clone()),
        TrustAnchorSource::File(path) => {
            let meta =
                std::fs::metadata(path).map_err(|source| DnsConfigError::TrustAnchorRead {
                    path: path.clone(),
                    source,
                })?;
            if meta.len() > trust_anchor::MAX_ANCHOR_FILE as u64 {
                return Err(DnsConfigError::TrustAnchorSyntax {
                    origin: path.display().to_string(),
                    source: trust_anchor::TrustAnchorError::TooLarge(
                        usize::try_from(meta.len()).unwrap_or(usize::MAX),
                    ),
                });
            }
            let text = std::fs::read_to_string(path).map_err(|source| {
                DnsConfigError::TrustAnchorRead {
                    path: path.clone(),
                    source,
                }
            })?;
            (path.display().to_string(), text)
        }
    };
    let entries = trust_anchor::parse(&text)
        .map_err(|source| DnsConfigError::TrustAnchorSyntax { origin, source })?;
    let mut anchors = TrustAnchors::empty();
    let mut owners = Vec::new();
    for entry in entries {
        match entry {
            AnchorEntry::Dnskey { owner, key } => {
                anchors.insert_with_name(key.public_key(), LowerName::from(&owner));
                owners.push(owner);
            }
            AnchorEntry::Ds { owner, ds } => {
                let keys = fetch_dnskeys(&owner, servers, timeout).await?;
                let matching: Vec<_> = keys
                    .iter()
                    .filter(|key| ds.covers(&owner, key).unwrap_or(false))
                    .collect();
                if matching.is_empty() {
                    return Err(DnsConfigError::TrustAnchorKey {
                        owner: owner.to_string(),
                        detail: format!(
                            "none of the {} DNSKEY records served matches the DS (key tag {})",
                            keys.len(),
                            ds.key_tag()
                        ),
                    });
                }
                for key in matching {
                    anchors.insert_with_name(key.public_key(), LowerName::from(&owner));
                }
                owners.push(owner);
            }
        }
    }
    Ok((anchors, owners))
}

/// Fetches the DNSKEY RRset of a zone without validation; the caller keeps only keys that
/// match a DS it already trusts, so the fetch needs no trust of its own.
async fn fetch_dnskeys(
    owner: &Name,
    servers: &[std::net::SocketAddr],
    timeout: Duration,
) -> Result<Vec<hickory_proto::dnssec::rdata::DNSKEY>, DnsConfigError> {
    let mut last = String::from("no nameserver");
    for server in servers {
        let flags = Flags {
            authentic_data: false,
            checking_disabled: true,
        };
        match exchange(*server, owner.clone(), RecordType::DNSKEY, flags, timeout).await {
            Ok(response) => {
                return Ok(response
                    .answers
                    .iter()
                    .filter(|r| &r.name == owner)
                    .filter_map(|r| match &r.data {
                        RData::DNSSEC(DNSSECRData::DNSKEY(key)) => Some(key.clone()),
                        _ => None,
                    })
                    .collect());
            }
            Err(e) => last = format!("{server}: {e}"),
        }
    }
    Err(DnsConfigError::TrustAnchorKey {
        owner: owner.to_string(),
        detail: format!("cannot fetch its DNSKEY RRset: {last}"),
    })
}
