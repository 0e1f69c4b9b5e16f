//! The TLS policy decision for one destination.
//!
//! [`decide`] maps everything that was learnt about a next-hop destination (the MX set and its
//! DNSSEC status, each host's address and TLSA lookups, the MTA-STS policy, fresh or cached)
//! to the TLS policy a sending MTA must apply, with the reasons. The Postfix policy daemon
//! renders it as a socketmap reply ([`Decision::socketmap_payload`]); the checker shows it as
//! "what a sender will do". Both use this one function, so they cannot disagree.
//!
//! The one rule behind every row (POSTFIX.md §4.5): **an answer must never let Postfix
//! deliver to a host that an applicable policy does not authenticate, nor in cleartext where
//! a policy demands TLS.** Postfix takes one policy per next hop and does its own MX lookup
//! *after* asking, so an answer must stay safe whatever an attacker does to DNS data that is
//! not DNSSEC-secure. Postfix's levels, per MX host: `dane-only` skips a host without usable
//! TLSA; `dane` authenticates hosts with usable TLSA and is opportunistic (cleartext possible)
//! for the others; `encrypt` is TLS without authentication; `secure match=a:b` demands a
//! PKIX-valid certificate for one of the names.
//!
//! "Enforce" below means an MTA-STS `enforce` policy applies, fresh or cached (or `testing`
//! under `strict_testing`); "unknown" means the policy cache could not be read, so a cached
//! `enforce` policy may apply. "Covered" hosts are the current MX hosts the policy's `mx:`
//! patterns match (STS-VAL-01).
//!
//! | situation | answer |
//! |---|---|
//! | IP literal, `[host]`, `[host]:port` | `NOTFOUND ` (explicit relays are local policy; STS-SEL-01) |
//! | MX lookup fails (SERVFAIL, timeout, bogus), or any RRset carries the status bogus | `TEMP` (DANE-DNS-03, PFX-04) |
//! | secure MX, a host's address or TLSA lookup fails; any host's TLSA lookup fails | `TEMP` (DANE-DNS-03/04, PFX-04), never MTA-STS |
//! | NXDOMAIN or null MX, DNSSEC-secure | `NOTFOUND ` (DANE-DISC-02: the MTA bounces) |
//! | NXDOMAIN or null MX, not secure; enforce | `secure match=` the policy's patterns (`*.x` as `.x`), `TEMP` if none can match (STS-FETCH-07, PFX-04: an unsigned denial is forgeable) |
//! | NXDOMAIN or null MX, not secure; unknown | `TEMP` (STS-FETCH-07, PFX-04) |
//! | a host whose addresses are not secure | its TLSA does not count, whatever was found (DANE-DNS-06) |
//! | secure MX, every reachable host has usable TLSA | `dane-only` (PFX-05; DANE wins, STS-APP-06) |
//! | secure MX, some hosts with usable TLSA; enforce or unknown | `dane-only` (STS-APP-01, DANE-DISC-07: `dane` would let the others downgrade the policy) |
//! | secure MX, some hosts with usable TLSA; no enforce | `dane` (DANE-DISC-01, DANE-OPS-03) |
//! | secure MX, TLSA present but none usable; enforce | `secure match=<covered>` (STS-APP-01: no usable DANE for it to override), `TEMP` if none covered |
//! | secure MX, TLSA present but none usable, on every host; no enforce | `encrypt` (DANE-DISC-05) |
//! | secure MX, TLSA present but none usable, on some hosts; no enforce | `dane` (DANE-DISC-05 per host) |
//! | insecure MX; enforce | `secure match=<covered>`, whatever TLSA the hosts have (DANE-DISC-01, STS-APP-01), `TEMP` if none covered |
//! | insecure MX; unknown | `TEMP` (DANE-DISC-01, STS-FETCH-07) |
//! | insecure MX; no enforce; some host with secure TLSA | `dane`, or `encrypt` when no record of any host is usable (DANE-DISC-01/05) |
//! | no DANE; enforce | `secure match=<covered> servername=hostname` (PFX-06), `TEMP` if none covered (STS-APP-01) |
//! | no DANE; unknown | `TEMP` (STS-FETCH-07, PFX-04) |
//! | no DANE; `testing` (unless `strict_testing`), `none`, absent, unfetchable | `NOTFOUND ` (STS-APP-02/03, STS-FETCH-06) |
//!
//! DANE wins over MTA-STS where it can be relied on (RFC 8461 §2, STS-APP-06): a secure MX
//! with usable TLSA. It cannot be relied on behind an insecure MX: an attacker who forges the
//! MX can point it at a host in a zone of their own, signed, with TLSA records of their own,
//! so there only the policy's patterns stop a forged host (DANE-DISC-01, STS-APP-01).

use std::fmt::{self, Write as _};

use crate::conformance::ConformanceId;
use crate::dnssec::Security;
use crate::mta_sts::matcher::MxPattern;
use crate::mta_sts::policy::Mode;
use crate::name::{Destination, DomainName};
use crate::postfix::socketmap::SocketmapReply;

/// What was learnt about one destination: the input of [`decide`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observations {
    /// The next hop as given (recipient domain, `[host]`, or an address literal).
    pub destination: Destination,
    /// The MX lookup and, for each host, its address and TLSA lookups.
    pub mx: MxState,
    /// The MTA-STS policy that applies, fresh or cached.
    pub sts: StsState,
}

/// The outcome of the MX lookup for the destination domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MxState {
    /// The lookup failed: SERVFAIL, timeout, or a bogus answer.
    Failed(LookupFailure),
    /// The domain does not exist (NXDOMAIN). Only a DNSSEC-secure denial proves it: an
    /// insecure one can be forged, and Postfix's own MX lookup may then see a forged MX.
    NoSuchDomain {
        /// DNSSEC status of the denial.
        security: Security,
    },
    /// A null MX (RFC 7505): the domain accepts no mail.
    NullMx {
        /// DNSSEC status of the null MX RRset.
        security: Security,
    },
    /// The MX hosts (or the implicit MX, the domain itself, RFC 5321 §5.1), best first.
    Hosts {
        /// DNSSEC status of the MX RRset (of the address RRsets for an implicit MX).
        security: Security,
        /// One entry per MX host.
        hosts: Vec<HostState>,
    },
}

/// What was learnt about one MX host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostState {
    /// The MX host name.
    pub name: DomainName,
    /// The A/AAAA lookups of the host.
    pub addresses: AddressState,
    /// The TLSA lookup at `_25._tcp.<TLSA base domain>`.
    pub tlsa: TlsaState,
}

/// The address lookups of an MX host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressState {
    /// At least one address was found; `security` is that of the records used (the weakest
    /// link of any CNAME chain).
    Found {
        /// DNSSEC status of the address records.
        security: Security,
    },
    /// The host has no address records (NXDOMAIN or NODATA for both A and AAAA).
    None,
    /// The lookup failed.
    Failed(LookupFailure),
}

/// The TLSA lookup of an MX host (RFC 7672 §2.2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsaState {
    /// Not looked up: the host's address records are not secure, so DANE cannot apply
    /// (DANE-DNS-06).
    NotApplicable,
    /// No TLSA records: NXDOMAIN or NODATA (DANE-DISC-06).
    Absent,
    /// TLSA records found but not secure: unusable, ignored (DANE-DNS-05).
    Insecure,
    /// A secure RRset with at least one usable record (DANE-DISC-04).
    Usable,
    /// A secure RRset whose records are all unusable (DANE-DISC-05).
    AllUnusable,
    /// The lookup failed: the host must be treated as unreachable (DANE-DNS-04).
    Failed(LookupFailure),
}

/// Why a DNS lookup gave no usable answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupFailure {
    /// DNSSEC validation failed (bogus).
    Bogus(String),
    /// SERVFAIL, REFUSED, timeout or another transient failure.
    Transient(String),
}

impl fmt::Display for LookupFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bogus(why) => write!(f, "DNSSEC bogus ({why})"),
            Self::Transient(why) => f.write_str(why),
        }
    }
}

/// The MTA-STS situation of the destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StsState {
    /// No MTA-STS policy: no (valid) `_mta-sts` record, or the policy could not be fetched and
    /// nothing is cached (STS-FETCH-06).
    Absent,
    /// A policy applies (fresh, or cached and unexpired: STS-FETCH-07).
    Active(ActiveSts),
    /// Whether a policy applies is not known: the policy cache could not be read, and no
    /// policy was fetched in its place. A cached `enforce` policy may exist, so the answer
    /// defers unless DANE applies (STS-FETCH-07, PFX-04).
    Unknown(String),
}

/// An MTA-STS policy that applies to the destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveSts {
    /// The policy domain.
    pub policy_domain: DomainName,
    /// The policy mode.
    pub mode: Mode,
    /// The `mx:` patterns, in policy order.
    pub mx_patterns: Vec<MxPattern>,
    /// The policy's lines (`version: STSv1`, `mode: ...`, `mx: ...`, `max_age: ...`).
    pub policy_lines: Vec<String>,
    /// Whether the policy was fetched now or comes from the cache.
    pub source: StsSource,
    /// How long, in seconds, the answer may be cached (the policy's remaining lifetime,
    /// bounded by the DNS TTLs that went into it).
    pub ttl: u32,
}

/// Where an applied MTA-STS policy came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StsSource {
    /// Fetched for this lookup.
    Fresh,
    /// Taken from the cache (STS-FETCH-07).
    Cached,
}

/// Local policy that shapes the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DecisionConfig {
    /// Treat MTA-STS `testing` as `enforce` (the daemon's `strict_testing` zone option).
    pub strict_testing: bool,
    /// Add the Postfix ≥ 3.10 TLSRPT attributes to `secure` answers (POSTFIX.md §4.3, PFX-06).
    pub tlsrpt: bool,
}

/// The TLS policy a sender must apply to the destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsPolicy {
    /// No policy from mxsec: the MTA applies its default (`NOTFOUND `).
    NoPolicy,
    /// Opportunistic DANE (`dane`): authenticate hosts with usable TLSA, others as usual.
    Dane,
    /// Mandatory DANE (`dane-only`): every host must authenticate with TLSA.
    DaneOnly,
    /// Mandatory TLS without authentication (`encrypt`): secure TLSA sets, none usable.
    Encrypt,
    /// MTA-STS enforce (`secure`): PKIX-valid certificate for one of the covered MX hosts.
    Secure(SecurePolicy),
    /// Defer delivery: a failure could otherwise downgrade the destination (`TEMP`).
    TempFail(String),
}

/// The parameters of an MTA-STS `secure` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurePolicy {
    /// Postfix's `match=` list: the certificate must name one of these. Normally the
    /// current MX hosts the policy covers, in MX order, as exact names; where the MX set
    /// cannot be trusted to be the one Postfix sees (an unsigned denial), the policy's own
    /// patterns.
    pub matches: Vec<MatchName>,
    /// The policy behind the answer, for the TLSRPT attributes.
    pub sts: ActiveSts,
}

/// One name of a `secure` answer's `match=` list (POSTFIX.md §4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchName {
    /// Exactly this host name.
    Host(DomainName),
    /// Any name below this domain (Postfix's `.domain`, any number of labels in front): the
    /// closest Postfix form of an MTA-STS `*.domain` pattern, which allows exactly one
    /// (RFC 8461 §4.1). Used only where no current MX host can be named.
    Below(DomainName),
}

impl MatchName {
    /// The form Postfix reads: `host` or `.domain`.
    pub fn postfix_form(&self) -> String {
        match self {
            Self::Host(name) => name.to_string(),
            Self::Below(domain) => format!(".{domain}"),
        }
    }

    /// Whether a certificate for `host` satisfies this name, as Postfix checks it.
    pub fn matches(&self, host: &DomainName) -> bool {
        match self {
            Self::Host(name) => name == host,
            Self::Below(domain) => host
                .as_str()
                .strip_suffix(domain.as_str())
                .is_some_and(|front| front.len() > 1 && front.ends_with('.')),
        }
    }

    /// The `match=` name for an MTA-STS pattern: the name itself, or `.x` for `*.x`.
    fn from_pattern(pattern: &MxPattern) -> Self {
        match pattern {
            MxPattern::Exact(name) => Self::Host(name.clone()),
            MxPattern::Wildcard(suffix) => Self::Below(suffix.clone()),
        }
    }
}

/// Why the decision came out as it did: one line per fact that mattered.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Reason {
    /// The conformance ID of the rule applied (e.g. `DANE-DNS-04`).
    pub rule: ConformanceId,
    /// What was found, in plain words.
    pub text: String,
}

/// The decision: a policy and the reasons for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The policy.
    pub policy: TlsPolicy,
    /// Why.
    pub reasons: Vec<Reason>,
}

/// Maps observations to a TLS policy (POSTFIX.md §4.5; see the module documentation).
pub fn decide(obs: &Observations, config: &DecisionConfig) -> Decision {
    let mut reasons = Vec::new();
    let policy = decide_inner(obs, config, &mut reasons);
    Decision { policy, reasons }
}

fn reason(reasons: &mut Vec<Reason>, rule: ConformanceId, text: impl Into<String>) {
    reasons.push(Reason {
        rule,
        text: text.into(),
    });
}

fn decide_inner(obs: &Observations, config: &DecisionConfig, r: &mut Vec<Reason>) -> TlsPolicy {
    if let Some(policy) = explicit_next_hop(&obs.destination, r) {
        return policy;
    }
    let (mx_security, hosts) = match &obs.mx {
        MxState::Failed(failure) => {
            reason(
                r,
                ConformanceId::DaneDns03,
                format!("MX lookup failed: {failure}"),
            );
            return TlsPolicy::TempFail(format!("MX lookup failed: {failure}"));
        }
        MxState::NoSuchDomain { security } => {
            let demand = sts_demand(&obs.sts, config, r);
            return denial(
                "the domain does not exist (NXDOMAIN)",
                *security,
                &demand,
                r,
            );
        }
        MxState::NullMx { security } => {
            let demand = sts_demand(&obs.sts, config, r);
            return denial(
                "null MX (RFC 7505): the domain accepts no mail",
                *security,
                &demand,
                r,
            );
        }
        MxState::Hosts { security, hosts } => (*security, hosts),
    };
    if mx_security == Security::Bogus {
        // A bogus RRset is a failed lookup, whatever carried it (DANE-DNS-03, PFX-04).
        let text = "MX lookup failed: DNSSEC bogus".to_owned();
        reason(r, ConformanceId::DaneDns03, text.clone());
        return TlsPolicy::TempFail(text);
    }
    if hosts.is_empty() {
        reason(r, ConformanceId::DaneDisc02, "no MX host to deliver to");
        return TlsPolicy::TempFail("no usable MX host".into());
    }
    reason(
        r,
        ConformanceId::DaneDisc01,
        format!("MX RRset is {mx_security}"),
    );
    if let Some(temp) = dns_failure(mx_security, hosts, r) {
        return TlsPolicy::TempFail(temp);
    }
    let dane = dane_support(hosts, r);
    let demand = sts_demand(&obs.sts, config, r);
    if mx_security.is_secure() {
        secure_mx(dane, &demand, hosts, r)
    } else {
        insecure_mx(dane, &demand, hosts, r)
    }
}

/// STS-SEL-01: an explicit next hop or an address literal carries no policy of its own.
fn explicit_next_hop(destination: &Destination, r: &mut Vec<Reason>) -> Option<TlsPolicy> {
    let text = match destination {
        Destination::Domain(_) => return None,
        Destination::Host { host, .. } => {
            format!("[{host}] is an explicit next hop; its TLS policy is local configuration")
        }
        Destination::Address(ip) => format!("{ip} is an address literal: no policy applies"),
    };
    reason(r, ConformanceId::StsSel01, text);
    Some(TlsPolicy::NoPolicy)
}

/// What the MTA-STS side demands of the destination.
enum StsDemand<'a> {
    /// An `enforce` policy applies (or `testing` under `strict_testing`), fresh or cached.
    Enforce(&'a ActiveSts),
    /// The policy cache could not be read and nothing was fetched: an `enforce` policy may
    /// apply (STS-FETCH-07).
    Unknown(&'a str),
    /// No policy demands anything: none, `none`, or `testing`.
    Nothing,
}

/// STS-APP-01/02/03, STS-FETCH-06/07: what the MTA-STS state demands.
fn sts_demand<'a>(
    sts: &'a StsState,
    config: &DecisionConfig,
    r: &mut Vec<Reason>,
) -> StsDemand<'a> {
    let active = match sts {
        StsState::Active(active) => active,
        StsState::Absent => {
            reason(r, ConformanceId::StsFetch06, "no MTA-STS policy");
            return StsDemand::Nothing;
        }
        StsState::Unknown(why) => return StsDemand::Unknown(why),
    };
    match active.mode {
        Mode::Enforce => {
            let source = match active.source {
                StsSource::Fresh => "fetched now",
                StsSource::Cached => "cached policy",
            };
            reason(
                r,
                ConformanceId::StsApp01,
                format!(
                    "MTA-STS enforce policy of {} ({source})",
                    active.policy_domain
                ),
            );
            StsDemand::Enforce(active)
        }
        Mode::Testing if config.strict_testing => {
            reason(
                r,
                ConformanceId::StsApp02,
                "mode testing is treated as enforce (strict_testing)",
            );
            StsDemand::Enforce(active)
        }
        Mode::Testing => {
            reason(
                r,
                ConformanceId::StsApp02,
                "MTA-STS mode testing: deliver as usual, report failures",
            );
            StsDemand::Nothing
        }
        Mode::None => {
            reason(
                r,
                ConformanceId::StsApp03,
                "MTA-STS mode none: no active policy",
            );
            StsDemand::Nothing
        }
    }
}

/// NXDOMAIN or null MX. Only a DNSSEC-secure denial proves that there is nothing to deliver
/// to: an insecure one is forgeable, and Postfix's own MX lookup, made after this answer, may
/// see a forged MX. So a policy that may apply still applies (STS-FETCH-07, PFX-04).
fn denial(
    what: &str,
    security: Security,
    demand: &StsDemand<'_>,
    r: &mut Vec<Reason>,
) -> TlsPolicy {
    if security == Security::Bogus {
        let text = "MX lookup failed: DNSSEC bogus".to_owned();
        reason(r, ConformanceId::DaneDns03, text.clone());
        return TlsPolicy::TempFail(text);
    }
    reason(
        r,
        ConformanceId::DaneDisc02,
        format!("{what} (DNSSEC {security})"),
    );
    if security.is_secure() {
        return TlsPolicy::NoPolicy;
    }
    match demand {
        StsDemand::Nothing => TlsPolicy::NoPolicy,
        StsDemand::Unknown(why) => {
            let text = format!(
                "{what}, without DNSSEC proof, and the MTA-STS policy cache is unavailable \
                 ({why}): a cached policy may apply"
            );
            reason(r, ConformanceId::StsFetch07, text.clone());
            TlsPolicy::TempFail(text)
        }
        StsDemand::Enforce(sts) => {
            reason(
                r,
                ConformanceId::Pfx04,
                "an unsigned denial can be forged: the enforce policy's own patterns apply",
            );
            let matches = sts
                .mx_patterns
                .iter()
                .map(MatchName::from_pattern)
                .collect();
            let none = format!(
                "{what}, without DNSSEC proof, and the enforce policy of {} has no pattern \
                 that can match a host",
                sts.policy_domain
            );
            secure_or_temp(matches, sts, none, r)
        }
    }
}

/// The answer under a secure MX RRset: DANE where it is usable, never weakened below an
/// `enforce` policy (STS-APP-06, STS-APP-01).
fn secure_mx(
    dane: DaneSupport,
    demand: &StsDemand<'_>,
    hosts: &[HostState],
    r: &mut Vec<Reason>,
) -> TlsPolicy {
    match (dane, demand) {
        (DaneSupport::All, _) => {
            dane_wins(demand, r);
            TlsPolicy::DaneOnly
        }
        (DaneSupport::Some, StsDemand::Enforce(_) | StsDemand::Unknown(_)) => {
            dane_wins(demand, r);
            reason(
                r,
                ConformanceId::StsApp01,
                "some MX hosts have no usable TLSA: they are skipped (dane-only), since \
                 opportunistic TLS there would downgrade the MTA-STS policy",
            );
            TlsPolicy::DaneOnly
        }
        (DaneSupport::Some | DaneSupport::SomeUnusable, StsDemand::Nothing) => {
            reason(
                r,
                ConformanceId::DaneOps03,
                "some MX hosts have no DANE: they stay opportunistic (downgrade path)",
            );
            TlsPolicy::Dane
        }
        (DaneSupport::UnusableOnly, StsDemand::Nothing) => TlsPolicy::Encrypt,
        (DaneSupport::None, StsDemand::Nothing) => {
            reason(
                r,
                ConformanceId::StsFetch06,
                "no DANE and no enforced MTA-STS: opportunistic TLS",
            );
            TlsPolicy::NoPolicy
        }
        (_, StsDemand::Enforce(sts)) => {
            if dane != DaneSupport::None {
                reason(
                    r,
                    ConformanceId::StsApp01,
                    "no TLSA record is usable: the MTA-STS policy's PKIX check applies",
                );
            }
            secure_for_hosts(sts, hosts, r)
        }
        (_, StsDemand::Unknown(why)) => unknown_policy(why, r),
    }
}

/// The answer under an MX RRset that is not DNSSEC-secure. An attacker may forge it to point
/// at a host in a signed zone of their own with TLSA records of their own, so DANE cannot
/// protect an `enforce` policy here: only the policy's patterns stop a forged host
/// (DANE-DISC-01, STS-APP-01).
fn insecure_mx(
    dane: DaneSupport,
    demand: &StsDemand<'_>,
    hosts: &[HostState],
    r: &mut Vec<Reason>,
) -> TlsPolicy {
    match demand {
        StsDemand::Enforce(sts) => {
            if dane != DaneSupport::None {
                reason(
                    r,
                    ConformanceId::DaneDisc01,
                    "the MX RRset is not secure: TLSA cannot stand in for the MTA-STS policy, \
                     whose patterns alone stop a forged MX",
                );
            }
            secure_for_hosts(sts, hosts, r)
        }
        StsDemand::Unknown(why) => unknown_policy(why, r),
        StsDemand::Nothing => match dane {
            DaneSupport::All | DaneSupport::Some | DaneSupport::SomeUnusable => TlsPolicy::Dane,
            DaneSupport::UnusableOnly => TlsPolicy::Encrypt,
            DaneSupport::None => {
                reason(
                    r,
                    ConformanceId::StsFetch06,
                    "no DANE and no enforced MTA-STS: opportunistic TLS",
                );
                TlsPolicy::NoPolicy
            }
        },
    }
}

/// STS-APP-06: DANE applies, so an MTA-STS policy is not used.
fn dane_wins(demand: &StsDemand<'_>, r: &mut Vec<Reason>) {
    if let StsDemand::Enforce(sts) = demand {
        reason(
            r,
            ConformanceId::StsApp06,
            format!(
                "DANE applies, so the MTA-STS policy of {} is not used",
                sts.policy_domain
            ),
        );
    }
}

/// STS-FETCH-07, PFX-04: the policy cache could not be read and DANE does not decide.
fn unknown_policy(why: &str, r: &mut Vec<Reason>) -> TlsPolicy {
    let text = format!(
        "MTA-STS policy cache unavailable ({why}) and no policy fetched: \
         a cached policy may apply"
    );
    reason(r, ConformanceId::StsFetch07, text.clone());
    TlsPolicy::TempFail(text)
}

/// PFX-06, STS-VAL-01: `secure` for the current MX hosts the policy covers, `TEMP` when it
/// covers none (STS-APP-01, STS-APP-04).
fn secure_for_hosts(sts: &ActiveSts, hosts: &[HostState], r: &mut Vec<Reason>) -> TlsPolicy {
    let mut matches = Vec::new();
    for host in hosts {
        if sts.mx_patterns.iter().any(|p| p.matches(&host.name)) {
            matches.push(MatchName::Host(host.name.clone()));
        } else {
            reason(
                r,
                ConformanceId::StsVal01,
                format!(
                    "MX host {} is not covered by any mx pattern: never used",
                    host.name
                ),
            );
        }
    }
    if !matches.is_empty() {
        reason(
            r,
            ConformanceId::StsApp01,
            "PKIX-valid certificate for the MX host name required",
        );
    }
    let none = format!(
        "MTA-STS enforce policy of {} covers none of the MX hosts",
        sts.policy_domain
    );
    secure_or_temp(matches, sts, none, r)
}

/// `secure` with these `match=` names, or `TEMP` with the reason `none` when there are none:
/// an `enforce` policy that no host can meet defers (STS-APP-01, STS-APP-04).
fn secure_or_temp(
    matches: Vec<MatchName>,
    sts: &ActiveSts,
    none: String,
    r: &mut Vec<Reason>,
) -> TlsPolicy {
    if matches.is_empty() {
        reason(r, ConformanceId::StsApp01, none.clone());
        return TlsPolicy::TempFail(none);
    }
    TlsPolicy::Secure(SecurePolicy {
        matches,
        sts: sts.clone(),
    })
}

/// DANE-DNS-03/04, PFX-04: a failure that could hide a DANE host defers the destination.
fn dns_failure(mx_security: Security, hosts: &[HostState], r: &mut Vec<Reason>) -> Option<String> {
    for host in hosts {
        match &host.addresses {
            AddressState::Failed(failure @ LookupFailure::Bogus(_)) => {
                let text = format!("address lookup for {} failed: {failure}", host.name);
                reason(r, ConformanceId::DaneDns03, text.clone());
                return Some(text);
            }
            AddressState::Failed(failure) if mx_security.is_secure() => {
                let text = format!("address lookup for {} failed: {failure}", host.name);
                reason(r, ConformanceId::DaneDns03, text.clone());
                return Some(text);
            }
            AddressState::Failed(failure) => reason(
                r,
                ConformanceId::DaneDns03,
                format!(
                    "address lookup for {} failed ({failure}): host unreachable",
                    host.name
                ),
            ),
            AddressState::Found {
                security: Security::Bogus,
            } => {
                let text = format!("address lookup for {} failed: DNSSEC bogus", host.name);
                reason(r, ConformanceId::DaneDns03, text.clone());
                return Some(text);
            }
            AddressState::None | AddressState::Found { .. } => {}
        }
        if let TlsaState::Failed(failure) = &host.tlsa {
            let text = format!("TLSA lookup for {} failed: {failure}", host.name);
            reason(r, ConformanceId::DaneDns04, text.clone());
            return Some(text);
        }
    }
    None
}

/// What DANE offers the destination, from the TLSA states of the reachable hosts
/// (RFC 7672 §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DaneSupport {
    /// Every reachable host has a secure TLSA RRset with a usable record (DANE-DISC-04).
    All,
    /// Some reachable hosts have usable TLSA, others not.
    Some,
    /// No usable record, and every reachable host has a secure TLSA RRset, all unusable
    /// (DANE-DISC-05).
    UnusableOnly,
    /// No usable record; some reachable hosts have all-unusable TLSA, others none.
    SomeUnusable,
    /// No reachable host has a secure TLSA RRset.
    None,
}

/// DANE-DISC-04/05/06, DANE-DNS-05/06: the TLSA state of every reachable host.
fn dane_support(hosts: &[HostState], r: &mut Vec<Reason>) -> DaneSupport {
    let reachable: Vec<&HostState> = hosts
        .iter()
        .filter(|h| matches!(h.addresses, AddressState::Found { .. }))
        .collect();
    // DANE-DNS-06: TLSA counts only for a host whose addresses are secure; a sender does not
    // even look it up otherwise, whatever was found.
    let tlsa = |host: &HostState| match host.addresses {
        AddressState::Found {
            security: Security::Secure,
        } => host.tlsa.clone(),
        _ => TlsaState::NotApplicable,
    };
    for host in &reachable {
        let (rule, text) = match tlsa(host) {
            TlsaState::Usable => (
                ConformanceId::DaneDisc04,
                "secure TLSA with usable records: DANE authentication required",
            ),
            TlsaState::AllUnusable => (
                ConformanceId::DaneDisc05,
                "secure TLSA, but no record is usable: TLS required, not authenticated",
            ),
            TlsaState::Absent => (ConformanceId::DaneDisc06, "no TLSA records"),
            TlsaState::Insecure => (
                ConformanceId::DaneDns05,
                "TLSA records are not DNSSEC-secure: ignored",
            ),
            TlsaState::NotApplicable => (
                ConformanceId::DaneDns06,
                "addresses are not DNSSEC-secure: DANE cannot apply",
            ),
            TlsaState::Failed(_) => continue,
        };
        reason(r, rule, format!("{}: {text}", host.name));
    }
    let count = |state: &TlsaState| reachable.iter().filter(|h| tlsa(h) == *state).count();
    let (usable, unusable, total) = (
        count(&TlsaState::Usable),
        count(&TlsaState::AllUnusable),
        reachable.len(),
    );
    match (usable, unusable) {
        (0, 0) => DaneSupport::None,
        (0, u) if u == total => DaneSupport::UnusableOnly,
        (0, _) => DaneSupport::SomeUnusable,
        (u, _) if u == total => DaneSupport::All,
        _ => DaneSupport::Some,
    }
}

impl Decision {
    /// The socketmap reply for Postfix (POSTFIX.md §4.4–4.5).
    pub fn socketmap_reply(&self, config: &DecisionConfig) -> SocketmapReply {
        self.policy.socketmap_reply(config)
    }

    /// The socketmap reply payload, e.g. `OK dane-only`, `NOTFOUND ` (with its trailing
    /// space, PFX-02) or `TEMP <reason>`.
    pub fn socketmap_payload(&self, config: &DecisionConfig) -> String {
        self.socketmap_reply(config).to_payload()
    }
}

impl TlsPolicy {
    /// The Postfix policy text (`dane-only`, `secure match=...`), or `None` for `NOTFOUND `
    /// and `TEMP`.
    pub fn postfix_policy(&self, config: &DecisionConfig) -> Option<String> {
        match self {
            Self::NoPolicy | Self::TempFail(_) => None,
            Self::Dane => Some("dane".into()),
            Self::DaneOnly => Some("dane-only".into()),
            Self::Encrypt => Some("encrypt".into()),
            Self::Secure(secure) => Some(secure.render(config.tlsrpt)),
        }
    }

    /// The socketmap reply (see [`Decision::socketmap_reply`]). Its rendering enforces the
    /// 100000-byte limit and turns a policy that cannot be sent into `TEMP` (PFX-02).
    pub fn socketmap_reply(&self, config: &DecisionConfig) -> SocketmapReply {
        match self {
            Self::NoPolicy => SocketmapReply::NotFound,
            Self::TempFail(why) => SocketmapReply::Temp(sanitize_reason(why)),
            other => SocketmapReply::Ok(other.postfix_policy(config).unwrap_or_default()),
        }
    }

    /// The short name used in reports: `none`, `dane`, `dane-only`, `encrypt`, `secure`,
    /// `temp`.
    pub fn level(&self) -> &'static str {
        match self {
            Self::NoPolicy => "none",
            Self::Dane => "dane",
            Self::DaneOnly => "dane-only",
            Self::Encrypt => "encrypt",
            Self::Secure(_) => "secure",
            Self::TempFail(_) => "temp",
        }
    }
}

impl SecurePolicy {
    /// `secure match=a:b servername=hostname`, plus the TLSRPT attributes when asked
    /// (POSTFIX.md §4.3, PFX-06/07).
    fn render(&self, tlsrpt: bool) -> String {
        let mut out = String::from("secure match=");
        let names: Vec<String> = self.matches.iter().map(MatchName::postfix_form).collect();
        out.push_str(&names.join(":"));
        out.push_str(" servername=hostname");
        if tlsrpt {
            let sts = &self.sts;
            let _ = write!(
                out,
                " policy_type=sts policy_domain={} policy_ttl={}",
                sts.policy_domain, sts.ttl
            );
            for pattern in &sts.mx_patterns {
                let _ = write!(out, " mx_host_pattern={pattern}");
            }
            for line in &sts.policy_lines {
                let _ = write!(out, " {{ policy_string = {} }}", sanitize_reason(line));
            }
        }
        out
    }
}

/// Keeps a reason to printable ASCII on one line, at most 200 characters (Postfix logs the
/// first 200; POSTFIX.md §4.4), with no braces that could break attribute syntax.
fn sanitize_reason(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' '..='~' if c != '{' && c != '}' => c,
            _ => ' ',
        })
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests;
