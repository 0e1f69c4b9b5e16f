//! Every MX host: its TLSA RRset ([`super::tlsa`]), MTA-STS coverage (RFC 8461 §4.1; M-05),
//! each of its addresses ([`super::address`]), and the domain's DANE verdict with the
//! domain-level DANE advice (DANE-DISC-06, D-07, D-09).

use std::sync::Arc;

use mxsec_net::dns::{AliasCheck, Answer, MxSet, MxTarget};
use mxsec_net::observation;
use mxsec_net::tls::PkixCheck;
use mxsec_proto::dane::matching::ReferenceNames;
use mxsec_proto::decision::{AddressState, HostState, LookupFailure, TlsaState};
use mxsec_proto::mta_sts::policy::{Mode, Policy};
use mxsec_proto::name::DomainName;
use rustls_pki_types::TrustAnchor;

use super::address::{self, AddressFacts, HostJudging};
use super::context::{push, Context};
use super::mx::{address_status, MxJudged};
use super::probe::connected;
use super::tlsa::{self, HostTlsa};
use crate::catalogue::FindingKind as K;
use crate::finding::{Finding, Subject};
use crate::observed::{HostObserved, Observed};
use crate::report::{DaneVerdict, DnsStatus, MxHost, StsCoverage};

/// The per-host results: report sections and the facts the verdict needs.
pub(super) struct HostsJudged {
    pub(super) reports: Vec<MxHost>,
    pub(super) facts: Vec<HostFacts>,
}

/// What the verdict needs to know about one host.
pub(super) struct HostFacts {
    pub(super) name: DomainName,
    pub(super) state: HostState,
    pub(super) addresses: Vec<AddressFacts>,
}

/// Judges every MX host, and N-01 when no address of any host accepts a connection.
pub(super) fn judge(
    observed: &Observed,
    mx: &MxJudged,
    policy: Option<&Policy>,
    cx: &Context<'_>,
    findings: &mut Vec<Finding>,
) -> HostsJudged {
    let domain = DomainJudging {
        observed,
        mx,
        policy,
        roots: cx.roots.into(),
        cx,
    };
    let (reports, facts) = observed
        .hosts
        .iter()
        .map(|host| judge_host(&domain, host, findings))
        .unzip();
    let any_address = observed.hosts.iter().any(|h| !h.probes.is_empty());
    let any_connected = observed.hosts.iter().any(|h| {
        h.probes
            .iter()
            .any(|a| a.probe.as_deref().is_ok_and(connected))
    });
    if any_address && !any_connected {
        push(
            findings,
            K::NoMxReachable,
            Subject::domain(&observed.domain),
            "no address of any MX host accepted a connection on port 25",
        );
    }
    HostsJudged { reports, facts }
}

/// What every host of the domain is judged against.
struct DomainJudging<'a> {
    /// Everything gathered.
    observed: &'a Observed,
    /// The MX answer, judged.
    mx: &'a MxJudged,
    /// The MTA-STS policy in force, if any.
    policy: Option<&'a Policy>,
    /// The WebPKI roots, shared by every host's [`PkixCheck`].
    roots: Arc<[TrustAnchor<'static>]>,
    /// The time, roots and options.
    cx: &'a Context<'a>,
}

/// One host: its TLSA RRset, its MTA-STS coverage, then every address.
fn judge_host(
    domain: &DomainJudging<'_>,
    host: &HostObserved,
    findings: &mut Vec<Finding>,
) -> (MxHost, HostFacts) {
    let DomainJudging {
        observed,
        mx,
        policy,
        ref roots,
        cx,
    } = *domain;
    let state = observation::host_state(&host.lookups());
    let tlsa = HostTlsa::of(host);
    tlsa::findings(host, &state, &tlsa, findings);
    let coverage = coverage(host, policy, findings);
    let judging = HostJudging {
        host,
        records: &tlsa.records,
        usable: tlsa.usable(&state.tlsa),
        all_unusable: state.tlsa == TlsaState::AllUnusable,
        names: reference_names(observed, host, &tlsa, mx),
        pkix: PkixCheck::new(Arc::clone(roots), host.name.clone()),
        sts_mode: coverage
            .as_ref()
            .filter(|c| c.pattern.is_some())
            .and(policy.map(|p| p.mode)),
        cx,
    };
    let (addresses, address_facts): (Vec<_>, Vec<_>) = host
        .probes
        .iter()
        .map(|a| address::judge(&judging, a, findings))
        .unzip();
    tlsa::drift(host, &addresses, findings);
    let report = MxHost {
        name: host.name.clone(),
        preference: host.preference,
        canonical_name: canonical_name(observed, host),
        dnssec: address_status(&host.addresses),
        addresses,
        tlsa: tlsa.report(),
        mta_sts: coverage,
    };
    let facts = HostFacts {
        name: host.name.clone(),
        state,
        addresses: address_facts,
    };
    (report, facts)
}

/// The DANE-TA reference names (RFC 7672 §3.2.2): the TLSA base domain, the MX host name,
/// and the next-hop domain when the MX answer was secure.
fn reference_names(
    observed: &Observed,
    host: &HostObserved,
    tlsa: &HostTlsa,
    mx: &MxJudged,
) -> ReferenceNames {
    let names = ReferenceNames::new(tlsa.base.clone()).with(host.name.clone());
    if mx.security.is_secure() {
        names.with(observed.domain.clone())
    } else {
        names
    }
}

/// Whether the MTA-STS policy covers the host (RFC 8461 §4.1; M-05): `None` without a policy
/// in force.
fn coverage(
    host: &HostObserved,
    policy: Option<&Policy>,
    findings: &mut Vec<Finding>,
) -> Option<StsCoverage> {
    let policy = policy.filter(|p| p.mode != Mode::None)?;
    let pattern = policy.matching_pattern(&host.name).map(ToString::to_string);
    let subject = Subject::host(&host.name);
    let uncovered = || {
        format!(
            "no mx pattern of the policy ({}) matches {}",
            patterns(policy),
            host.name
        )
    };
    match (&pattern, policy.mode) {
        (Some(pattern), _) => push(
            findings,
            K::StsMxCovered,
            subject,
            format!("covered by mx: {pattern}"),
        ),
        (None, Mode::Enforce) => push(findings, K::StsMxNotCovered, subject, uncovered()),
        (None, _) => push(findings, K::StsMxNotCoveredTesting, subject, uncovered()),
    }
    Some(StsCoverage { pattern })
}

fn patterns(policy: &Policy) -> String {
    policy
        .mx
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn canonical_name(observed: &Observed, host: &HostObserved) -> Option<DomainName> {
    let Ok(resolved) = &observed.mx else {
        return None;
    };
    let Answer::Records(MxSet::Exchanges(list)) = resolved.answer().value_ignoring_security()
    else {
        return None;
    };
    list.iter().find_map(|e| match (&e.target, &e.alias) {
        (MxTarget::Host(h), AliasCheck::Alias(t)) if *h == host.name => {
            Some(t.value_ignoring_security().clone())
        }
        _ => None,
    })
}

/// The DANE verdict of the domain and the domain-level DANE advice (DANE-DISC-06, D-09,
/// DANE-DISC-01, D-07 at the apex and at each host's wrong owners).
pub(super) fn dane_summary(
    observed: &Observed,
    mx: &MxJudged,
    hosts: &HostsJudged,
    findings: &mut Vec<Finding>,
) -> DaneVerdict {
    let domain = &observed.domain;
    let states: Vec<&HostState> = hosts.facts.iter().map(|f| &f.state).collect();
    let has_records = hosts.reports.iter().any(|h| !h.tlsa.records.is_empty());
    let bogus = matches!(mx.dnssec, DnsStatus::Bogus)
        || states.iter().any(|s| {
            matches!(s.addresses, AddressState::Failed(LookupFailure::Bogus(_)))
                || matches!(s.tlsa, TlsaState::Failed(_))
        })
        || hosts
            .reports
            .iter()
            .any(|h| h.tlsa.dnssec == DnsStatus::Bogus);
    let usable = states.iter().any(|s| s.tlsa == TlsaState::Usable);
    let verdict = if bogus {
        DaneVerdict::Bogus
    } else if usable {
        DaneVerdict::Usable
    } else if states.iter().any(|s| s.tlsa == TlsaState::AllUnusable) {
        DaneVerdict::Unusable
    } else if has_records {
        DaneVerdict::Insecure
    } else {
        DaneVerdict::Absent
    };
    if !hosts.facts.is_empty() && !has_records && !bogus {
        push(
            findings,
            K::DaneAbsent,
            Subject::domain(domain),
            "no MX host has TLSA records",
        );
    }
    if usable {
        for (fact, report) in hosts.facts.iter().zip(&hosts.reports) {
            if matches!(
                fact.state.tlsa,
                TlsaState::Absent | TlsaState::NotApplicable
            ) && report.tlsa.records.is_empty()
            {
                push(
                    findings,
                    K::DaneHostWithoutTlsa,
                    Subject::host(&fact.name),
                    format!(
                        "{} has no TLSA records while other MX hosts do: an attacker can steer mail to it",
                        fact.name
                    ),
                );
            }
        }
        if !mx.security.is_secure() {
            push(
                findings,
                K::DaneInsecureMx,
                Subject::domain(domain),
                format!(
                    "the MX answer is DNSSEC-{}: only senders that use TLSA with insecure MX records (Postfix's default) apply DANE",
                    mx.security
                ),
            );
        }
    }
    let apex_is_host = observed.hosts.iter().any(|h| h.name == *domain);
    if let Some(resolved) = &observed.apex_tlsa {
        if !apex_is_host
            && resolved
                .answer()
                .value_ignoring_security()
                .records()
                .is_some_and(|r| !r.is_empty())
        {
            push(
                findings,
                K::DaneWrongOwner,
                Subject::domain(domain),
                format!(
                    "TLSA records are published at _25._tcp.{domain}, but senders look them up at _25._tcp.<MX host>"
                ),
            );
        }
    }
    for host in &observed.hosts {
        for place in &host.wrong_owners {
            push(
                findings,
                K::DaneWrongOwner,
                Subject::host(&host.name),
                crate::wrong_owner::message(place),
            );
        }
    }
    verdict
}
