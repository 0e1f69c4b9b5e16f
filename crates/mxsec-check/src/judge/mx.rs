//! MX records, host addresses and their DNSSEC status (SCENARIOS.md N-01, D-05; RFC 5321
//! §5.1, RFC 7505, RFC 7672 §2.1–2.2). The decision's view of them is built by
//! [`mxsec_net::observation`], exactly as the daemon builds it.

use mxsec_net::dns::{Addresses, AliasCheck, Answer, DnsError, MxSet, MxTarget};
use mxsec_net::observation::{self, HostLookups};
use mxsec_proto::decision::{LookupFailure, MxState};
use mxsec_proto::dnssec::Security;

use super::context::push;
use crate::catalogue::FindingKind as K;
use crate::finding::{Finding, Subject};
use crate::observed::{HostObserved, Observed};
use crate::report::{DnsStatus, MxKind};

/// What the MX lookup gave, for the report and the decision.
pub(super) struct MxJudged {
    pub(super) kind: MxKind,
    pub(super) dnssec: DnsStatus,
    /// The decision's view: MX state with every host's address and TLSA state.
    pub(super) state: MxState,
    /// The MX RRset (or implicit MX addresses) status.
    pub(super) security: Security,
}

pub(super) fn judge(observed: &Observed, findings: &mut Vec<Finding>) -> MxJudged {
    let domain = &observed.domain;
    let subject = Subject::domain(domain);
    let lookups: Vec<HostLookups<'_>> = observed.hosts.iter().map(HostObserved::lookups).collect();
    let state = observation::mx_state(&observed.mx, &lookups);
    let resolved = match &observed.mx {
        Err(e) => {
            let broken = observed
                .broken_at
                .as_ref()
                .map(|b| format!("; the chain breaks at {b}"))
                .unwrap_or_default();
            if e.is_bogus() {
                push(
                    findings,
                    K::DnssecBogus,
                    subject,
                    format!("MX lookup: {e}{broken}"),
                );
            } else {
                push(
                    findings,
                    K::DnsLookupFailed,
                    subject,
                    format!("MX lookup: {e}"),
                );
            }
            return MxJudged {
                kind: MxKind::Failed,
                dnssec: failed_status(e),
                state,
                security: Security::Indeterminate,
            };
        }
        Ok(r) => r,
    };
    let security = resolved.answer().security();
    let dnssec = DnsStatus::from(security);
    let kind = match resolved.answer().value_ignoring_security() {
        Answer::NxDomain => {
            push(
                findings,
                K::DomainNotFound,
                subject,
                format!("{domain} does not exist (NXDOMAIN, DNSSEC {security})"),
            );
            MxKind::NxDomain
        }
        Answer::Records(MxSet::NullMx) => {
            push(
                findings,
                K::NullMx,
                subject,
                "the only MX record is `0 .` (null MX)",
            );
            MxKind::NullMx
        }
        Answer::NoData => {
            let has_address = observed
                .hosts
                .first()
                .is_some_and(|h| !observation::address_list(&h.addresses).is_empty());
            if has_address {
                push(
                    findings,
                    K::ImplicitMx,
                    subject,
                    format!("no MX record; senders deliver to the addresses of {domain} itself"),
                );
                MxKind::Implicit
            } else {
                push(
                    findings,
                    K::NoMailHost,
                    subject,
                    format!("{domain} has no MX record and no A or AAAA record"),
                );
                MxKind::NoHost
            }
        }
        Answer::Records(MxSet::Exchanges(list)) => {
            if security.is_secure() {
                push(
                    findings,
                    K::MxSecure,
                    subject.clone(),
                    "MX records validate",
                );
            } else {
                push(
                    findings,
                    K::MxInsecure,
                    subject.clone(),
                    format!("the MX answer is DNSSEC-{security}: DANE does not apply to it"),
                );
            }
            if list.iter().any(|e| e.target == MxTarget::Root) {
                push(
                    findings,
                    K::NullMxMixed,
                    subject.clone(),
                    "a null MX (`.`) is published next to other MX records",
                );
            }
            for e in list {
                match &e.target {
                    MxTarget::IpLiteral(ip) => push(
                        findings,
                        K::MxIsIpLiteral,
                        subject.clone(),
                        format!("MX {} names the address {ip}, not a host", e.preference),
                    ),
                    MxTarget::Invalid(text) => push(
                        findings,
                        K::MxNoAddress,
                        subject.clone(),
                        format!(
                            "MX {} target {text:?} is not a valid host name",
                            e.preference
                        ),
                    ),
                    MxTarget::Host(host) => {
                        if let AliasCheck::Alias(target) = &e.alias {
                            push(
                                findings,
                                K::MxIsCname,
                                Subject::host(host),
                                format!(
                                    "the MX target is an alias (CNAME) of {}",
                                    target.value_ignoring_security()
                                ),
                            );
                        }
                    }
                    MxTarget::Root => {}
                }
            }
            MxKind::Mx
        }
    };
    for host in &observed.hosts {
        address_findings(&host.name, &host.addresses, findings);
    }
    MxJudged {
        kind,
        dnssec,
        state,
        security,
    }
}

/// N-01, D-05, DANE-DNS-03 for one host's A and AAAA lookups.
fn address_findings(
    host: &mxsec_proto::name::DomainName,
    addresses: &Addresses,
    findings: &mut Vec<Finding>,
) {
    let subject = Subject::host(host);
    let mut no_data = true;
    for (family, result) in [
        (
            "A",
            addresses
                .ipv4
                .as_ref()
                .map(|r| r.answer().value_ignoring_security().is_denial()),
        ),
        (
            "AAAA",
            addresses
                .ipv6
                .as_ref()
                .map(|r| r.answer().value_ignoring_security().is_denial()),
        ),
    ] {
        match result {
            Ok(denial) => no_data &= denial,
            Err(e) if e.is_bogus() => {
                no_data = false;
                push(
                    findings,
                    K::DnssecBogus,
                    subject.clone(),
                    format!("{family} lookup: {e}"),
                );
            }
            Err(e) => {
                no_data = false;
                push(
                    findings,
                    K::DnsLookupFailed,
                    subject.clone(),
                    format!("{family} lookup: {e}"),
                );
            }
        }
    }
    if no_data {
        push(
            findings,
            K::MxNoAddress,
            subject,
            format!("{host} has no A or AAAA record"),
        );
    }
}

/// The DNSSEC status of a host's address records for the report.
pub(super) fn address_status(addresses: &Addresses) -> DnsStatus {
    match observation::address_security(addresses) {
        Ok(security) => security.into(),
        Err(LookupFailure::Bogus(_)) => DnsStatus::Bogus,
        Err(LookupFailure::Transient(_)) => DnsStatus::Failed,
    }
}

pub(super) fn failed_status(e: &DnsError) -> DnsStatus {
    if e.is_bogus() {
        DnsStatus::Bogus
    } else {
        DnsStatus::Failed
    }
}
