//! The TLS policy decision for one destination.
//!
//! [`decide`] maps everything that was learnt about a next-hop destination (the MX set and its
//! DNSSEC status, each host's address and TLSA lookups, the MTA-STS policy, fresh or cached)
//! to the TLS policy a sending MTA must apply, with the reasons. The Postfix policy daemon
//! renders it as a socketmap reply ([`Decision::socketmap_payload`]); the checker shows it as
//! "what a sender will do". Both use this one function, so they cannot disagree.
//!
//! The mapping follows the table in POSTFIX.md §4.5:
//!
//! | situation | answer |
//! |---|---|
//! | IP literal, `[host]`, `[host]:port` | `NOTFOUND ` (explicit relays are local policy; STS-SEL-01) |
//! | MX lookup fails (SERVFAIL, timeout, bogus) | `TEMP` (DANE-DNS-03) |
//! | an MX host's address lookup is bogus | `TEMP` (DANE-DNS-03) |
//! | an MX or address RRset carries the status bogus | `TEMP` (DANE-DNS-03, PFX-04) |
//! | secure MX, a host's address or TLSA lookup fails | `TEMP` (DANE-DNS-03/04, PFX-04) |
//! | secure MX, every host has usable secure TLSA | `dane-only` (PFX-05) |
//! | every host has a secure TLSA RRset, none usable | `encrypt` (DANE-DISC-05) |
//! | DANE for some hosts only, or insecure MX with secure TLSA | `dane` (DANE-DISC-01) |
//! | no DANE, MTA-STS `enforce` (fresh or cached) | `secure match=<covered MX hosts> servername=hostname` (PFX-06) |
//! | MTA-STS `enforce` that covers no current MX host | `TEMP` (STS-APP-01, STS-APP-04) |
//! | no DANE, policy cache unreadable and nothing fetched | `TEMP` (STS-FETCH-07, PFX-04) |
//! | MTA-STS `testing` (unless `strict_testing`), `none`, absent, unfetchable | `NOTFOUND ` (STS-APP-02/03, STS-FETCH-06) |
//! | null MX (RFC 7505), domain does not exist | `NOTFOUND ` (no policy applies; the MTA bounces) |
//!
//! DANE always wins over MTA-STS when it applies to any host (RFC 8461 §2, STS-APP-06): Postfix
//! takes one policy per destination, and a `secure` answer would replace Postfix's own DANE
//! checks with PKIX ones.

use std::fmt::{self, Write as _};

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
    /// The current MX hosts the policy covers, in MX order: Postfix's `match=` list. Exact
    /// names, never widened to Postfix's any-depth `.domain` form.
    pub match_hosts: Vec<DomainName>,
    /// The policy behind the answer, for the TLSRPT attributes.
    pub sts: ActiveSts,
}

/// Why the decision came out as it did: one line per fact that mattered.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Reason {
    /// The conformance ID of the rule applied (e.g. `DANE-DNS-04`).
    pub rule: &'static str,
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

fn reason(reasons: &mut Vec<Reason>, rule: &'static str, text: impl Into<String>) {
    reasons.push(Reason {
        rule,
        text: text.into(),
    });
}

fn decide_inner(obs: &Observations, config: &DecisionConfig, r: &mut Vec<Reason>) -> TlsPolicy {
    match &obs.destination {
        Destination::Domain(_) => {}
        Destination::Host { host, .. } => {
            reason(
                r,
                "STS-SEL-01",
                format!("[{host}] is an explicit next hop; its TLS policy is local configuration"),
            );
            return TlsPolicy::NoPolicy;
        }
        Destination::Address(ip) => {
            reason(
                r,
                "STS-SEL-01",
                format!("{ip} is an address literal: no policy applies"),
            );
            return TlsPolicy::NoPolicy;
        }
    }

    let (mx_security, hosts) = match &obs.mx {
        MxState::Failed(failure) => {
            reason(r, "DANE-DNS-03", format!("MX lookup failed: {failure}"));
            return TlsPolicy::TempFail(format!("MX lookup failed: {failure}"));
        }
        MxState::NoSuchDomain { .. } => {
            reason(r, "DANE-DISC-02", "the domain does not exist (NXDOMAIN)");
            return TlsPolicy::NoPolicy;
        }
        MxState::NullMx { .. } => {
            reason(
                r,
                "DANE-DISC-02",
                "null MX (RFC 7505): the domain accepts no mail",
            );
            return TlsPolicy::NoPolicy;
        }
        MxState::Hosts { security, hosts } => (*security, hosts),
    };
    if mx_security == Security::Bogus {
        // A bogus RRset is a failed lookup, whatever carried it (DANE-DNS-03, PFX-04).
        let text = "MX lookup failed: DNSSEC bogus".to_owned();
        reason(r, "DANE-DNS-03", text.clone());
        return TlsPolicy::TempFail(text);
    }
    if hosts.is_empty() {
        reason(r, "DANE-DISC-02", "no MX host to deliver to");
        return TlsPolicy::TempFail("no usable MX host".into());
    }
    reason(r, "DANE-DISC-01", format!("MX RRset is {mx_security}"));

    if let Some(temp) = dns_failure(mx_security, hosts, r) {
        return TlsPolicy::TempFail(temp);
    }

    if let Some(dane) = dane_policy(mx_security, hosts, r) {
        if let StsState::Active(sts) = &obs.sts {
            if sts.mode != Mode::None {
                reason(
                    r,
                    "STS-APP-06",
                    format!(
                        "DANE applies, so the MTA-STS policy of {} (mode {}) is not used",
                        sts.policy_domain,
                        sts.mode.as_str()
                    ),
                );
            }
        }
        return dane;
    }

    let sts = match &obs.sts {
        StsState::Active(sts) => sts,
        StsState::Absent => {
            reason(
                r,
                "STS-FETCH-06",
                "no MTA-STS policy and no DANE: opportunistic TLS",
            );
            return TlsPolicy::NoPolicy;
        }
        StsState::Unknown(why) => {
            let text = format!(
                "MTA-STS policy cache unavailable ({why}) and no policy fetched: \
                 a cached policy may apply"
            );
            reason(r, "STS-FETCH-07", text.clone());
            return TlsPolicy::TempFail(text);
        }
    };
    let enforced = match sts.mode {
        Mode::Enforce => true,
        Mode::Testing if config.strict_testing => {
            reason(
                r,
                "STS-APP-02",
                "mode testing is treated as enforce (strict_testing)",
            );
            true
        }
        Mode::Testing => {
            reason(
                r,
                "STS-APP-02",
                "MTA-STS mode testing: deliver as usual, report failures",
            );
            false
        }
        Mode::None => {
            reason(r, "STS-APP-03", "MTA-STS mode none: no active policy");
            false
        }
    };
    if !enforced {
        return TlsPolicy::NoPolicy;
    }

    let mut covered = Vec::new();
    for host in hosts {
        if sts.mx_patterns.iter().any(|p| p.matches(&host.name)) {
            covered.push(host.name.clone());
        } else {
            reason(
                r,
                "STS-VAL-01",
                format!(
                    "MX host {} is not covered by any mx pattern: never used",
                    host.name
                ),
            );
        }
    }
    if covered.is_empty() {
        let text = format!(
            "MTA-STS enforce policy of {} covers none of the MX hosts",
            sts.policy_domain
        );
        reason(r, "STS-APP-01", text.clone());
        return TlsPolicy::TempFail(text);
    }
    reason(
        r,
        "STS-APP-01",
        format!(
            "MTA-STS enforce ({}): PKIX-valid certificate for the MX host name required",
            match sts.source {
                StsSource::Fresh => "fetched now",
                StsSource::Cached => "cached policy",
            }
        ),
    );
    TlsPolicy::Secure(SecurePolicy {
        match_hosts: covered,
        sts: sts.clone(),
    })
}

/// DANE-DNS-03/04, PFX-04: a failure that could hide a DANE host defers the destination.
fn dns_failure(mx_security: Security, hosts: &[HostState], r: &mut Vec<Reason>) -> Option<String> {
    for host in hosts {
        match &host.addresses {
            AddressState::Failed(failure @ LookupFailure::Bogus(_)) => {
                let text = format!("address lookup for {} failed: {failure}", host.name);
                reason(r, "DANE-DNS-03", text.clone());
                return Some(text);
            }
            AddressState::Failed(failure) if mx_security.is_secure() => {
                let text = format!("address lookup for {} failed: {failure}", host.name);
                reason(r, "DANE-DNS-03", text.clone());
                return Some(text);
            }
            AddressState::Failed(failure) => reason(
                r,
                "DANE-DNS-03",
                format!(
                    "address lookup for {} failed ({failure}): host unreachable",
                    host.name
                ),
            ),
            AddressState::Found {
                security: Security::Bogus,
            } => {
                let text = format!("address lookup for {} failed: DNSSEC bogus", host.name);
                reason(r, "DANE-DNS-03", text.clone());
                return Some(text);
            }
            AddressState::None | AddressState::Found { .. } => {}
        }
        if let TlsaState::Failed(failure) = &host.tlsa {
            let text = format!("TLSA lookup for {} failed: {failure}", host.name);
            reason(r, "DANE-DNS-04", text.clone());
            return Some(text);
        }
    }
    None
}

/// DANE-DISC-01/04/05: the DANE level, if DANE applies to any host.
fn dane_policy(
    mx_security: Security,
    hosts: &[HostState],
    r: &mut Vec<Reason>,
) -> Option<TlsPolicy> {
    let reachable: Vec<&HostState> = hosts
        .iter()
        .filter(|h| matches!(h.addresses, AddressState::Found { .. }))
        .collect();
    let usable = reachable
        .iter()
        .filter(|h| h.tlsa == TlsaState::Usable)
        .count();
    let unusable = reachable
        .iter()
        .filter(|h| h.tlsa == TlsaState::AllUnusable)
        .count();
    for host in &reachable {
        let text = match host.tlsa {
            TlsaState::Usable => "secure TLSA with usable records: DANE authentication required",
            TlsaState::AllUnusable => {
                "secure TLSA, but no record is usable: TLS required, not authenticated"
            }
            TlsaState::Absent => "no TLSA records",
            TlsaState::Insecure => "TLSA records are not DNSSEC-secure: ignored",
            TlsaState::NotApplicable => "addresses are not DNSSEC-secure: DANE cannot apply",
            TlsaState::Failed(_) => continue,
        };
        let rule = match host.tlsa {
            TlsaState::Usable => "DANE-DISC-04",
            TlsaState::AllUnusable => "DANE-DISC-05",
            TlsaState::Absent => "DANE-DISC-06",
            TlsaState::Insecure => "DANE-DNS-05",
            _ => "DANE-DNS-06",
        };
        reason(r, rule, format!("{}: {text}", host.name));
    }
    if usable + unusable == 0 {
        return None;
    }
    let total = reachable.len();
    if usable == total && mx_security.is_secure() {
        Some(TlsPolicy::DaneOnly)
    } else if unusable == total {
        Some(TlsPolicy::Encrypt)
    } else {
        if usable + unusable < total {
            reason(
                r,
                "DANE-OPS-03",
                "some MX hosts have no DANE: they stay opportunistic (downgrade path)",
            );
        }
        Some(TlsPolicy::Dane)
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
        let names: Vec<&str> = self.match_hosts.iter().map(DomainName::as_str).collect();
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
