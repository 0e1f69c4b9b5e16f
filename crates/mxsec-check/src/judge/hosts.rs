//! Every MX host and address: SMTP and STARTTLS (RFC 3207; T-01…T-03), the certificate and
//! its WebPKI verdict for the MX name (RFC 8461 §4.2; M-06), the TLSA records and the DANE
//! verdict of each record (RFC 7672 §3; D-01…D-14), MTA-STS coverage (RFC 8461 §4.1; M-05),
//! and whether Mozilla's roots and the operating system's store agree on the chain (PKIX-01).

use std::sync::Arc;

use mxsec_net::dns::Answer;
use mxsec_net::observation;
use mxsec_net::smtp_probe::{ProbeFailure, ProbeReport, ProbeStep};
use mxsec_net::tls::PkixCheck;
use mxsec_proto::certificate::{self, ChainError};
use mxsec_proto::dane::matching::{evaluate, RecordFailure, ReferenceNames};
use mxsec_proto::dane::publish::{lint, TlsaWarning};
use mxsec_proto::dane::tlsa::{CertUsage, TlsaRecord};
use mxsec_proto::dane::usable::{classify, RrsetUsability, UnusableReason, UsableSet};
use mxsec_proto::decision::{AddressState, HostState, TlsaState};
use mxsec_proto::mta_sts::policy::{Mode, Policy};
use mxsec_proto::name::DomainName;
use mxsec_proto::smtp::client::Outcome;
use mxsec_proto::smtp::greeting::Greeting;
use rustls_pki_types::{CertificateDer, TrustAnchor};
use sha2::{Digest, Sha256};

use super::mx::MxJudged;
use super::{push, Context};
use crate::catalogue::FindingKind as K;
use crate::finding::{one_line, Finding, Subject};
use crate::report::{
    AddressDane, AddressReport, AddressSts, CertSummary, DaneResult, DaneVerdict, DnsStatus,
    MxHost, PkixResult, RecordResult, StarttlsOutcome, StsCoverage, TcpOutcome, TlsReport,
    TlsaEntry, TlsaSet,
};
use crate::run::{AddressObserved, HostObserved, Observed};

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

/// What the verdict needs to know about one address.
#[derive(Clone, Copy)]
pub(super) struct AddressFacts {
    /// A TCP connection to port 25 was made.
    pub(super) connected: bool,
    /// A TLS session was established.
    pub(super) tls: bool,
    /// DANE authenticated the server (`None` without usable TLSA).
    pub(super) dane: Option<bool>,
    /// The chain is WebPKI-valid for the MX host name.
    pub(super) pkix: bool,
}

pub(super) fn judge(
    observed: &Observed,
    mx: &MxJudged,
    policy: Option<&Policy>,
    cx: &Context<'_>,
    findings: &mut Vec<Finding>,
) -> HostsJudged {
    let roots: Arc<[TrustAnchor<'static>]> = cx.roots.into();
    let mut reports = Vec::new();
    let mut facts = Vec::new();
    let any_connected = observed.hosts.iter().any(|h| {
        h.probes
            .iter()
            .any(|a| a.probe.as_deref().is_ok_and(connected))
    });
    for host in &observed.hosts {
        let (report, fact) = judge_host(observed, host, mx, policy, &roots, cx, findings);
        reports.push(report);
        facts.push(fact);
    }
    let any_address = observed.hosts.iter().any(|h| !h.probes.is_empty());
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

fn judge_host(
    observed: &Observed,
    host: &HostObserved,
    mx: &MxJudged,
    policy: Option<&Policy>,
    roots: &Arc<[TrustAnchor<'static>]>,
    cx: &Context<'_>,
    findings: &mut Vec<Finding>,
) -> (MxHost, HostFacts) {
    let state = observation::host_state(&host.lookups());
    let subject = Subject::host(&host.name);

    // TLSA (RFC 7672 §2.2.3).
    let (owner, tlsa_status, records, base) = match &host.tlsa {
        Ok(lookup) => (
            lookup.owner.to_string(),
            DnsStatus::from(lookup.answer.answer().security()),
            lookup
                .answer
                .answer()
                .value_ignoring_security()
                .records()
                .cloned()
                .unwrap_or_default(),
            lookup.base_domain.clone(),
        ),
        Err(e) => (
            format!("_25._tcp.{}", host.name),
            super::mx::failed_status(e),
            Vec::new(),
            host.name.clone(),
        ),
    };
    let classification = classify(&records);
    let usable: Option<&UsableSet> = match (&state.tlsa, &classification.usability) {
        (TlsaState::Usable, RrsetUsability::Usable(set)) => Some(set),
        _ => None,
    };
    tlsa_findings(
        host,
        &state,
        &records,
        &classification.dropped,
        &subject,
        findings,
    );

    // DANE-TA reference names (RFC 7672 §3.2.2): the TLSA base domain, the MX host name, and
    // the next-hop domain when the MX answer was secure.
    let mut names = ReferenceNames::new(base).with(host.name.clone());
    if mx.security.is_secure() {
        names = names.with(observed.domain.clone());
    }

    let coverage = policy
        .filter(|p| p.mode != Mode::None)
        .map(|p| StsCoverage {
            pattern: p.matching_pattern(&host.name).map(ToString::to_string),
        });
    if let (Some(p), Some(c)) = (policy, &coverage) {
        match (&c.pattern, p.mode) {
            (Some(pattern), _) => push(
                findings,
                K::StsMxCovered,
                subject.clone(),
                format!("covered by mx: {pattern}"),
            ),
            (None, Mode::Enforce) => push(
                findings,
                K::StsMxNotCovered,
                subject.clone(),
                format!(
                    "no mx pattern of the policy ({}) matches {}",
                    patterns(p),
                    host.name
                ),
            ),
            (None, _) => push(
                findings,
                K::StsMxNotCoveredTesting,
                subject.clone(),
                format!(
                    "no mx pattern of the policy ({}) matches {}",
                    patterns(p),
                    host.name
                ),
            ),
        }
    }
    let sts_mode = coverage
        .as_ref()
        .filter(|c| c.pattern.is_some())
        .and(policy.map(|p| p.mode));

    let pkix = PkixCheck::new(Arc::clone(roots), host.name.clone());
    let mut addresses = Vec::new();
    let mut address_facts = Vec::new();
    for a in &host.probes {
        let (report, fact) = judge_address(
            host, a, &records, usable, &names, &pkix, sts_mode, cx, findings,
        );
        addresses.push(report);
        address_facts.push(fact);
    }
    dane_drift(host, &addresses, findings);

    let tlsa_entries = records
        .iter()
        .map(|r| {
            let reason = classification
                .dropped
                .iter()
                .find(|d| d.record == *r)
                .map(|d| d.reason.to_string());
            TlsaEntry {
                record: tlsa_text(r),
                usable: reason.is_none(),
                reason,
            }
        })
        .collect();
    let report = MxHost {
        name: host.name.clone(),
        preference: host.preference,
        canonical_name: canonical_name(observed, host),
        dnssec: super::mx::address_status(&host.addresses),
        addresses,
        tlsa: TlsaSet {
            owner,
            dnssec: tlsa_status,
            records: tlsa_entries,
        },
        mta_sts: coverage,
    };
    (
        report,
        HostFacts {
            name: host.name.clone(),
            state,
            addresses: address_facts,
        },
    )
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
    let Answer::Records(mxsec_net::dns::MxSet::Exchanges(list)) =
        resolved.answer().value_ignoring_security()
    else {
        return None;
    };
    list.iter().find_map(|e| match (&e.target, &e.alias) {
        (mxsec_net::dns::MxTarget::Host(h), mxsec_net::dns::AliasCheck::Alias(t))
            if *h == host.name =>
        {
            Some(t.value_ignoring_security().clone())
        }
        _ => None,
    })
}

/// D-05, D-06, D-08, D-12, DANE-TLSA-01/02, and the publishing advice D-01 (`3 0 x`), D-02,
/// D-13, D-14 for one host's TLSA RRset.
fn tlsa_findings(
    host: &HostObserved,
    state: &HostState,
    records: &[TlsaRecord],
    dropped: &[mxsec_proto::dane::usable::DroppedRecord],
    subject: &Subject,
    findings: &mut Vec<Finding>,
) {
    let secure_addresses = matches!(
        state.addresses,
        AddressState::Found {
            security: mxsec_proto::dnssec::Security::Secure
        }
    );
    match (&host.tlsa, &state.tlsa) {
        (Err(e), _) if e.is_bogus() => {
            push(findings, K::TlsaBogus, subject.clone(), e.to_string());
            return;
        }
        (Err(e), _) => {
            if secure_addresses {
                push(
                    findings,
                    K::TlsaLookupFailed,
                    subject.clone(),
                    e.to_string(),
                );
            }
            return;
        }
        (Ok(lookup), TlsaState::Insecure | TlsaState::NotApplicable) if !records.is_empty() => {
            let why = if secure_addresses {
                format!(
                    "the TLSA RRset at {} is DNSSEC-{}",
                    lookup.owner,
                    lookup.answer.answer().security()
                )
            } else {
                format!(
                    "the address records of {} are not DNSSEC-secure, so senders do not look up TLSA",
                    host.name
                )
            };
            push(findings, K::TlsaInsecure, subject.clone(), why);
            return;
        }
        _ => {}
    }
    if records.is_empty() || !matches!(state.tlsa, TlsaState::Usable | TlsaState::AllUnusable) {
        return;
    }
    for d in dropped {
        let kind = match d.reason {
            UnusableReason::WeakerDigest { .. } => continue,
            UnusableReason::PkixUsage(_) => K::TlsaPkixUsage,
            _ => K::TlsaRecordMalformed,
        };
        push(
            findings,
            kind,
            subject.clone(),
            format!("{}: {}", d.record, d.reason),
        );
    }
    if state.tlsa == TlsaState::AllUnusable {
        push(
            findings,
            K::TlsaAllUnusable,
            subject.clone(),
            format!(
                "none of the {} TLSA records is usable: DANE senders require TLS but cannot authenticate",
                records.len()
            ),
        );
        return;
    }
    let chain_issuers: Vec<CertificateDer<'static>> = host
        .probes
        .iter()
        .filter_map(|a| a.probe.as_deref().ok())
        .filter_map(chain_of)
        .flat_map(|c| c.into_iter().skip(1))
        .collect();
    let issuers: Vec<&CertificateDer<'_>> = chain_issuers.iter().collect();
    // The size of the signed answer is DANE-TLSA-08, judged from the signing zone's keys
    // (`dnssec::judge_tlsa_size`); D-13 is the number of records.
    for w in lint(records, &issuers) {
        let kind = match &w {
            TlsaWarning::CertificatePinnedByEe { .. } => K::DaneCertPinned,
            TlsaWarning::SingleIntermediate { .. } => K::DaneSingleIntermediate,
            TlsaWarning::TooManyRecords { .. } => K::DaneTooManyRecords,
            _ => continue,
        };
        push(findings, kind, subject.clone(), w.to_string());
    }
    let usable: Vec<&TlsaRecord> = records
        .iter()
        .filter(|r| !dropped.iter().any(|d| d.record == **r))
        .collect();
    if let [only] = usable.as_slice() {
        if only.usage == CertUsage::DaneEe {
            push(
                findings,
                K::DaneNoNextKey,
                subject.clone(),
                format!(
                    "the only usable record is {}; no next key is pre-published",
                    kind_of(only)
                ),
            );
        }
    }
}

/// A record in presentation form with lower-case hex, as the report format has it.
fn tlsa_text(r: &TlsaRecord) -> String {
    format!("{} {}", kind_of(r), hex(&r.data))
}

fn kind_of(r: &TlsaRecord) -> String {
    format!(
        "{} {} {}",
        u8::from(r.usage),
        u8::from(r.selector),
        u8::from(r.matching)
    )
}

/// The chain a probe saw: from the session, or from the verifier after a failed handshake.
fn chain_of(p: &ProbeReport) -> Option<Vec<CertificateDer<'static>>> {
    p.tls
        .as_ref()
        .map(|t| t.chain.clone())
        .or_else(|| p.observation.as_ref().map(|o| o.chain.clone()))
        .filter(|c| !c.is_empty())
}

fn connected(p: &ProbeReport) -> bool {
    !matches!(
        p.result,
        Err(ProbeFailure::Connect(_))
            | Err(ProbeFailure::Timeout {
                step: ProbeStep::Connect,
                ..
            })
    )
}

/// The greeting as the report shows it: every line kept, as on the wire (`220-first`, ...,
/// `220 last`), one per line, control characters replaced; a last line says what the bounds of
/// [`Greeting`] dropped (RFC 5321 §4.2).
fn greeting_text(greeting: &Greeting) -> String {
    let code = greeting.code().get();
    let last = greeting.lines().len().saturating_sub(1);
    let mut lines: Vec<String> = greeting
        .lines()
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let separator = if i == last && greeting.omitted_lines() == 0 {
                ' '
            } else {
                '-'
            };
            format!("{code}{separator}{}", one_line(line))
        })
        .collect();
    if greeting.is_truncated() {
        lines.push(match greeting.omitted_lines() {
            0 => "[greeting truncated: long lines cut]".to_owned(),
            n => format!("[greeting truncated: {n} more lines]"),
        });
    }
    lines.join("\n")
}

#[allow(clippy::too_many_arguments)]
fn judge_address(
    host: &HostObserved,
    a: &AddressObserved,
    records: &[TlsaRecord],
    usable: Option<&UsableSet>,
    names: &ReferenceNames,
    pkix: &PkixCheck,
    sts_mode: Option<Mode>,
    cx: &Context<'_>,
    findings: &mut Vec<Finding>,
) -> (AddressReport, AddressFacts) {
    let subject = Subject::address(&host.name, a.address);
    let mut report = AddressReport {
        address: a.address,
        tcp: TcpOutcome::Skipped,
        connect_ms: None,
        banner: None,
        starttls: StarttlsOutcome::NotReached,
        tls: None,
        dane: None,
        mta_sts: None,
        error: None,
    };
    let mut facts = AddressFacts {
        connected: false,
        tls: false,
        dane: None,
        pkix: false,
    };
    let p = match &a.probe {
        Ok(p) => p,
        Err(refusal) => {
            push(
                findings,
                K::SpecialPurposeAddress,
                subject,
                refusal.to_string(),
            );
            return (report, facts);
        }
    };
    // Probed although special-purpose: the connect policy allows private networks
    // (`--allow-private`). Still N-01, as a note: no sender on the internet gets here.
    if let Some(special) = mxsec_net::dial::special_purpose(a.address) {
        push(
            findings,
            K::SpecialPurposeAddressProbed,
            subject.clone(),
            format!("{special}: probed, but not reachable from the internet"),
        );
    }
    facts.connected = connected(p);
    report.tcp = if facts.connected {
        TcpOutcome::Connected
    } else {
        TcpOutcome::Failed
    };
    if let Err(e) = &p.result {
        report.error = Some(one_line(&e.to_string()));
    }
    if !facts.connected {
        push(
            findings,
            K::AddressUnreachable,
            subject,
            report.error.clone().unwrap_or_default(),
        );
        return (report, facts);
    }
    report.starttls = match &p.dialogue {
        Some(Outcome::Tls { .. } | Outcome::TlsFailed { .. }) => StarttlsOutcome::Offered,
        Some(Outcome::NotOffered { .. }) => StarttlsOutcome::NotOffered,
        Some(Outcome::Masked { .. }) => StarttlsOutcome::Masked,
        Some(Outcome::StartTlsUnavailable { .. } | Outcome::StartTlsRefused { .. }) => {
            StarttlsOutcome::Refused
        }
        _ => StarttlsOutcome::NotReached,
    };
    report.banner = p.greeting.as_ref().map(greeting_text);
    let error = report.error.clone().unwrap_or_default();
    match (&p.result, report.starttls) {
        (Ok(()), _) => push(
            findings,
            K::StarttlsOffered,
            subject.clone(),
            "STARTTLS offered and TLS established",
        ),
        (_, StarttlsOutcome::Masked) => {
            push(findings, K::StarttlsMasked, subject.clone(), error.clone());
        }
        (_, StarttlsOutcome::NotOffered) => {
            push(
                findings,
                K::StarttlsNotOffered,
                subject.clone(),
                error.clone(),
            );
        }
        (_, StarttlsOutcome::Refused) => {
            push(findings, K::StarttlsRefused, subject.clone(), error.clone());
        }
        (Err(ProbeFailure::Handshake { .. }), _) => {
            push(
                findings,
                K::TlsHandshakeFailed,
                subject.clone(),
                error.clone(),
            );
        }
        (Err(_), _) => push(
            findings,
            K::AddressUnreachable,
            subject.clone(),
            error.clone(),
        ),
    }
    facts.tls = p.result.is_ok() && p.tls.is_some();

    // The certificate and its WebPKI verdict for the MX host name.
    let chain = chain_of(p).unwrap_or_default();
    if p.tls.is_some() || matches!(p.result, Err(ProbeFailure::Handshake { .. })) {
        let pkix_report = pkix.verify(&chain, cx.now);
        let pkix_result = match pkix_report.verdict() {
            Ok(()) => PkixResult::Valid,
            Err(mxsec_net::tls::PkixFailure::Chain(
                ChainError::Expired { .. } | ChainError::NotYetValid { .. },
            )) => PkixResult::Expired,
            Err(mxsec_net::tls::PkixFailure::Chain(_)) => PkixResult::Untrusted,
            Err(_) => PkixResult::NameMismatch,
        };
        if let Some(message) = cx
            .os_roots
            .map(|os| super::stores::compare(&chain, cx.roots, os, cx.now))
            .and_then(|agreement| agreement.message())
        {
            push(findings, K::PkixStoresDisagree, subject.clone(), message);
        }
        let chain_ok = chain.is_empty();
        facts.pkix = pkix_result == PkixResult::Valid && facts.tls;
        let days = pkix_report.days_left();
        if facts.pkix && days.is_some_and(|d| d <= cx.options.expiry_warning_days) {
            push(
                findings,
                K::CertExpiresSoon,
                subject.clone(),
                format!(
                    "the certificate expires in {} days",
                    days.unwrap_or_default()
                ),
            );
        }
        report.tls = Some(TlsReport {
            version: p.tls.as_ref().map(|t| t.version.clone()),
            cipher: p.tls.as_ref().map(|t| t.cipher_suite.clone()),
            chain: chain.iter().filter_map(summary).collect(),
            pkix: if chain_ok {
                PkixResult::NotChecked
            } else {
                pkix_result
            },
            name_matches: (!chain_ok).then_some(pkix_report.name_matches),
            days_to_expiry: days,
            error: match &p.result {
                Err(ProbeFailure::Handshake { error, .. }) => Some(one_line(&error.to_string())),
                _ => None,
            },
        });
        // MTA-STS (RFC 8461 §4.2): a covered host passes with TLS and a valid certificate.
        if let Some(mode) = sts_mode {
            let pass = facts.tls && facts.pkix;
            let reason = if !facts.tls {
                Some("no TLS session".to_owned())
            } else if !facts.pkix {
                pkix_report
                    .verdict()
                    .err()
                    .map(|e| one_line(&e.to_string()))
            } else {
                None
            };
            sts_finding(&subject, mode, pass, facts.tls, reason.as_deref(), findings);
            report.mta_sts = Some(AddressSts { pass, reason });
        }
    } else if let Some(mode) = sts_mode {
        let reason = Some(error.clone());
        sts_finding(&subject, mode, false, false, reason.as_deref(), findings);
        report.mta_sts = Some(AddressSts {
            pass: false,
            reason,
        });
    }

    // DANE (RFC 7672 §3): every usable record against the presented chain.
    if let Some(set) = usable {
        let dane = if facts.tls {
            let evaluation = evaluate(&chain, set, names, cx.now);
            let verdict = evaluation.verdict();
            facts.dane = Some(verdict.is_ok());
            let results = records
                .iter()
                .map(
                    |r| match evaluation.records.iter().find(|v| v.record == *r) {
                        Some(v) => RecordResult {
                            record: tlsa_text(r),
                            matched: v.result.is_ok(),
                            detail: v.result.as_ref().err().map(|f| one_line(&f.to_string())),
                        },
                        None => RecordResult {
                            record: tlsa_text(r),
                            matched: false,
                            detail: Some("not usable".to_owned()),
                        },
                    },
                )
                .collect();
            match verdict {
                Ok(m) => push(
                    findings,
                    K::DaneAuthenticated,
                    subject.clone(),
                    format!("TLSA {} matches", kind_of(&m.record)),
                ),
                Err(failure) => {
                    let (kind, detail) = match failure.primary() {
                        Some((record, RecordFailure::TrustAnchorNotPresented)) => {
                            if pins_trusted_root(record, cx.roots) {
                                (
                                    K::DaneTaNotInChain,
                                    format!("TLSA {record} pins a root the server does not send"),
                                )
                            } else {
                                (
                                    K::DaneSingleIntermediate,
                                    format!("TLSA {record} pins a CA certificate the server does not send (another issuing intermediate?)"),
                                )
                            }
                        }
                        Some((_, RecordFailure::Chain(_) | RecordFailure::NameMismatch)) => {
                            (K::DaneTaNameOrExpiry, failure.to_string())
                        }
                        _ => (K::DaneMismatch, failure.to_string()),
                    };
                    let key = chain
                        .first()
                        .and_then(|c| certificate::spki(c.as_ref()))
                        .map(|spki| {
                            format!("; the served key is 3 1 1 {}", hex(&Sha256::digest(spki)))
                        })
                        .unwrap_or_default();
                    push(findings, kind, subject.clone(), format!("{detail}{key}"));
                }
            }
            AddressDane {
                result: if facts.dane == Some(true) {
                    DaneResult::Authenticated
                } else {
                    DaneResult::Failed
                },
                records: results,
            }
        } else {
            facts.dane = Some(false);
            push(
                findings,
                K::DaneNoTls,
                subject.clone(),
                format!("usable TLSA records, but no TLS session: {error}"),
            );
            AddressDane {
                result: DaneResult::NoTls,
                records: Vec::new(),
            }
        };
        report.dane = Some(dane);
    } else if matches!(
        observation::host_state(&host.lookups()).tlsa,
        TlsaState::AllUnusable
    ) {
        report.dane = Some(AddressDane {
            result: if facts.tls {
                DaneResult::Unauthenticated
            } else {
                DaneResult::NoTls
            },
            records: Vec::new(),
        });
    }
    (report, facts)
}

fn sts_finding(
    subject: &Subject,
    mode: Mode,
    pass: bool,
    tls: bool,
    reason: Option<&str>,
    findings: &mut Vec<Finding>,
) {
    let enforce = mode == Mode::Enforce;
    let kind = match (pass, tls, enforce) {
        (true, _, _) => K::StsMxPasses,
        (false, false, true) => K::StsMxNoTls,
        (false, false, false) => K::StsMxNoTlsTesting,
        (false, true, true) => K::StsMxCertInvalid,
        (false, true, false) => K::StsMxCertInvalidTesting,
    };
    let message = match reason {
        None => "STARTTLS with a WebPKI-valid certificate for the MX host name".to_owned(),
        Some(r) => r.to_owned(),
    };
    push(findings, kind, subject.clone(), message);
}

/// D-10: some addresses of a host authenticate and others do not. Rewrites the per-address
/// failures of such a host as drift.
fn dane_drift(host: &HostObserved, addresses: &[AddressReport], findings: &mut [Finding]) {
    let results: Vec<DaneResult> = addresses
        .iter()
        .filter_map(|a| a.dane.as_ref().map(|d| d.result))
        .collect();
    let authenticated = results.contains(&DaneResult::Authenticated);
    if !authenticated || !results.contains(&DaneResult::Failed) {
        return;
    }
    for f in findings.iter_mut() {
        let same_host = matches!(&f.subject, Subject::Address { host: h, .. } if *h == host.name);
        if same_host
            && matches!(
                f.kind,
                K::DaneMismatch
                    | K::DaneTaNotInChain
                    | K::DaneTaNameOrExpiry
                    | K::DaneSingleIntermediate
            )
        {
            let message = format!("other addresses of this host match; here: {}", f.message);
            *f = Finding::new(K::DaneAddressDrift, f.subject.clone(), message);
        }
    }
}

/// Whether a DANE-TA record pins one of the trusted roots (which a server need not send,
/// but a DANE-TA digest needs presented: D-03), rather than another CA certificate (D-02).
fn pins_trusted_root(record: &TlsaRecord, roots: &[TrustAnchor<'_>]) -> bool {
    use mxsec_proto::dane::tlsa::{MatchingType, Selector};
    if record.selector != Selector::Spki {
        return false;
    }
    roots.iter().any(|anchor| {
        let spki = der_sequence(anchor.subject_public_key_info.as_ref());
        match record.matching {
            MatchingType::Sha256 => Sha256::digest(&spki).as_slice() == record.data.as_slice(),
            MatchingType::Sha512 => {
                sha2::Sha512::digest(&spki).as_slice() == record.data.as_slice()
            }
            MatchingType::Full => spki == record.data,
            MatchingType::Unassigned(_) => false,
        }
    })
}

/// Wraps the contents of a trust anchor's SubjectPublicKeyInfo (webpki keeps it without its
/// outer SEQUENCE) back into the DER SEQUENCE that TLSA selector 1 hashes.
fn der_sequence(content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![0x30];
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap_or(0));
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A certificate of a presented chain, for the report.
fn summary(cert: &CertificateDer<'_>) -> Option<CertSummary> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let rfc3339 = |t: x509_parser::time::ASN1Time| {
        t.to_datetime()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let validity = parsed.validity();
    Some(CertSummary {
        subject: one_line(&parsed.subject().to_string()),
        issuer: one_line(&parsed.issuer().to_string()),
        dns_names: certificate::dns_names(cert),
        not_before: rfc3339(validity.not_before),
        not_after: rfc3339(validity.not_after),
        spki_sha256: hex(&Sha256::digest(parsed.tbs_certificate.subject_pki.raw)),
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
            matches!(
                s.addresses,
                AddressState::Failed(mxsec_proto::decision::LookupFailure::Bogus(_))
            ) || matches!(s.tlsa, TlsaState::Failed(_))
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

#[cfg(test)]
mod tests {
    use mxsec_proto::smtp::reply::Reply;

    use super::*;

    fn text(wire: &str) -> String {
        greeting_text(&Greeting::from_reply(
            &Reply::parse(wire.as_bytes()).unwrap(),
        ))
    }

    #[test]
    fn stt_01_rfc5321_4_2_greeting_is_shown_whole_one_line_each() {
        assert_eq!(
            text("220-mx.example.net ESMTP\r\n220-\x1b[31mred\r\n220 ready\r\n"),
            "220-mx.example.net ESMTP\n220- [31mred\n220 ready"
        );
        assert_eq!(text("554 5.7.1 no service\r\n"), "554 5.7.1 no service");
    }

    #[test]
    fn stt_01_rfc5321_4_2_bounded_greeting_says_what_was_dropped() {
        let wire: String = (0..20).map(|i| format!("220-line {i}\r\n")).collect();
        let shown = text(&format!("{wire}220 end\r\n"));
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.first(), Some(&"220-line 0"));
        assert_eq!(lines.last(), Some(&"[greeting truncated: 5 more lines]"));
    }
}
