//! MX records, host addresses and their DNSSEC status (SCENARIOS.md N-01, D-05; RFC 5321
//! §5.1, RFC 7505, RFC 7672 §2.1–2.2), and the decision's view of them.

use mxsec_net::dns::{Addresses, AliasCheck, Answer, DnsError, MxSet, MxTarget, TlsaLookup};
use mxsec_proto::dane::usable::{classify, RrsetUsability};
use mxsec_proto::decision::{AddressState, HostState, LookupFailure, MxState, TlsaState};
use mxsec_proto::dnssec::Security;

use super::push;
use crate::catalogue::FindingKind as K;
use crate::finding::{Finding, Subject};
use crate::report::{DnsStatus, MxKind};
use crate::run::Observed;

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
                state: MxState::Failed(failure(e)),
                security: Security::Indeterminate,
            };
        }
        Ok(r) => r,
    };
    let security = resolved.answer().security();
    let dnssec = DnsStatus::from(security);
    let hosts: Vec<HostState> = observed.hosts.iter().map(host_state).collect();
    let (kind, state) = match resolved.answer().value_ignoring_security() {
        Answer::NxDomain => {
            push(
                findings,
                K::DomainNotFound,
                subject,
                format!("{domain} does not exist (NXDOMAIN, DNSSEC {security})"),
            );
            (MxKind::NxDomain, MxState::NoSuchDomain { security })
        }
        Answer::Records(MxSet::NullMx) => {
            push(
                findings,
                K::NullMx,
                subject,
                "the only MX record is `0 .` (null MX)",
            );
            (MxKind::NullMx, MxState::NullMx { security })
        }
        Answer::NoData => {
            let has_address = observed
                .hosts
                .first()
                .is_some_and(|h| !crate::run::address_list(&h.addresses).is_empty());
            if has_address {
                push(
                    findings,
                    K::ImplicitMx,
                    subject,
                    format!("no MX record; senders deliver to the addresses of {domain} itself"),
                );
                (
                    MxKind::Implicit,
                    MxState::Hosts {
                        security: hosts.first().map_or(security, |h| match h.addresses {
                            AddressState::Found { security } => security,
                            _ => security,
                        }),
                        hosts,
                    },
                )
            } else {
                push(
                    findings,
                    K::NoMailHost,
                    subject,
                    format!("{domain} has no MX record and no A or AAAA record"),
                );
                (MxKind::NoHost, MxState::Hosts { security, hosts })
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
            (MxKind::Mx, MxState::Hosts { security, hosts })
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
    match address_state(addresses) {
        AddressState::Found { security } => security.into(),
        AddressState::Failed(LookupFailure::Bogus(_)) => DnsStatus::Bogus,
        AddressState::Failed(LookupFailure::Transient(_)) => DnsStatus::Failed,
        AddressState::None => {
            let s = [
                addresses.ipv4.as_ref().ok().map(|r| r.answer().security()),
                addresses.ipv6.as_ref().ok().map(|r| r.answer().security()),
            ]
            .into_iter()
            .flatten()
            .fold(Security::Secure, Security::min);
            s.into()
        }
    }
}

/// The decision's view of one host.
pub(super) fn host_state(host: &crate::run::HostObserved) -> HostState {
    let addresses = address_state(&host.addresses);
    let tlsa = tlsa_state(&addresses, &host.tlsa);
    HostState {
        name: host.name.clone(),
        addresses,
        tlsa,
    }
}

/// The address state from the A and AAAA lookups, families judged apart (maddy #292): a
/// bogus answer for either is never ignored (DANE-DNS-03); otherwise the weakest status of
/// the families with records.
pub(super) fn address_state(addresses: &Addresses) -> AddressState {
    let mut security: Option<Security> = None;
    let mut bogus = None;
    let mut transient = None;
    for result in [
        addresses.ipv4.as_ref().map(|r| {
            (
                r.answer().security(),
                r.answer().value_ignoring_security().is_denial(),
            )
        }),
        addresses.ipv6.as_ref().map(|r| {
            (
                r.answer().security(),
                r.answer().value_ignoring_security().is_denial(),
            )
        }),
    ] {
        match result {
            Ok((s, false)) => security = Some(security.map_or(s, |old| old.min(s))),
            Ok((_, true)) => {}
            Err(e) if e.is_bogus() => {
                bogus.get_or_insert_with(|| failure(e));
            }
            Err(e) => {
                transient.get_or_insert_with(|| failure(e));
            }
        }
    }
    if let Some(b) = bogus {
        AddressState::Failed(b)
    } else if let Some(security) = security {
        AddressState::Found { security }
    } else if let Some(t) = transient {
        AddressState::Failed(t)
    } else {
        AddressState::None
    }
}

/// The TLSA state as a sender sees it: TLSA counts only for hosts whose addresses are
/// secure (DANE-DNS-06), and only when the RRset is secure (DANE-DNS-05).
pub(super) fn tlsa_state(
    addresses: &AddressState,
    tlsa: &Result<TlsaLookup, DnsError>,
) -> TlsaState {
    if !matches!(
        addresses,
        AddressState::Found {
            security: Security::Secure
        }
    ) {
        return TlsaState::NotApplicable;
    }
    match tlsa {
        Err(e) => TlsaState::Failed(failure(e)),
        Ok(lookup) => {
            let answer = lookup.answer.answer();
            match answer.value_ignoring_security() {
                Answer::NoData | Answer::NxDomain => TlsaState::Absent,
                Answer::Records(records) if answer.security().is_secure() => {
                    match classify(records).usability {
                        RrsetUsability::Usable(_) => TlsaState::Usable,
                        RrsetUsability::AllUnusable | RrsetUsability::Empty => {
                            TlsaState::AllUnusable
                        }
                    }
                }
                Answer::Records(_) => TlsaState::Insecure,
            }
        }
    }
}

pub(super) fn failure(e: &DnsError) -> LookupFailure {
    if e.is_bogus() {
        LookupFailure::Bogus(e.to_string())
    } else {
        LookupFailure::Transient(e.to_string())
    }
}

pub(super) fn failed_status(e: &DnsError) -> DnsStatus {
    if e.is_bogus() {
        DnsStatus::Bogus
    } else {
        DnsStatus::Failed
    }
}
