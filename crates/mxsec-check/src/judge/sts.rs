//! MTA-STS: the TXT record, the policy fetch over each address family, and the policy
//! (RFC 8461 §3; SCENARIOS.md M-01…M-13).

use mxsec_net::dns::Answer;
use mxsec_net::sts_fetch::FetchFailure;
use mxsec_proto::decision::{ActiveSts, StsSource, StsState};
use mxsec_proto::mta_sts::policy::{Mode, Policy, PolicyError, PolicyWarning};
use mxsec_proto::mta_sts::record::{NoPolicy, RecordWarning, StsRecord};

use super::context::push;
use crate::catalogue::FindingKind as K;
use crate::finding::{one_line, Finding, Subject};
use crate::observed::Observed;
use crate::report::{DnsStatus, MtaStsSection, PolicyFetch, PolicyReport, StsVerdict, TxtLookup};

/// The longest `policy_ttl` of an answer, as the resolver uses (an hour).
const MAX_ANSWER_TTL: u64 = 3600;

/// An enforce policy's `max_age` below this gets the M-10 warning: one week.
pub(super) const SHORT_MAX_AGE: u64 = 604_800;

/// What the MTA-STS branch gave.
pub(super) struct StsJudged {
    pub(super) section: MtaStsSection,
    pub(super) verdict: StsVerdict,
    pub(super) state: StsState,
    /// The policy in force (a valid TXT record and a fetched policy), with its mode.
    pub(super) policy: Option<Policy>,
}

pub(super) fn judge(observed: &Observed, findings: &mut Vec<Finding>) -> StsJudged {
    let domain = &observed.domain;
    let sts = &observed.sts;
    let subject = Subject::domain(domain);
    let txt_name = sts
        .txt_name
        .as_ref()
        .map_or_else(|| format!("_mta-sts.{domain}"), ToString::to_string);

    // The TXT record (RFC 8461 §3.1).
    let (txt, record): (TxtLookup, Result<Option<StsRecord>, ()>) = match &sts.txt {
        None => (txt_lookup(txt_name, DnsStatus::Failed, &[]), Err(())),
        Some(Err(e)) => {
            push(
                findings,
                K::StsTxtLookupFailed,
                subject.clone(),
                e.to_string(),
            );
            (
                txt_lookup(txt_name, super::mx::failed_status(e), &[]),
                Err(()),
            )
        }
        Some(Ok(resolved)) => {
            let status = DnsStatus::from(resolved.answer().security());
            let records: &[Vec<Vec<u8>>] = match resolved.answer().value_ignoring_security() {
                Answer::Records(r) => r,
                Answer::NoData | Answer::NxDomain => &[],
            };
            let lookup = txt_lookup(txt_name, status, records);
            let record = match StsRecord::from_txt_rrset(records) {
                Ok(parsed) => {
                    for w in &parsed.warnings {
                        let kind = match w {
                            RecordWarning::DuplicateId { .. } => K::StsTxtDuplicateId,
                            _ => K::StsTxtWhitespace,
                        };
                        push(findings, kind, subject.clone(), w.to_string());
                    }
                    Ok(Some(parsed.value))
                }
                Err(no) if no.is_absent() => {
                    // A record that carries `v=STSv1` somewhere else than at its start is a
                    // botched record, not an absent one (M-07, STS-TXT-02).
                    match records
                        .iter()
                        .map(|r| concat(r))
                        .find(|r| r.contains("v=STSv1"))
                    {
                        Some(r) => {
                            push(
                                findings,
                                K::StsTxtSyntax,
                                subject.clone(),
                                format!("TXT record {r:?} does not begin with `v=STSv1;`, so senders ignore it"),
                            );
                            Err(())
                        }
                        None => Ok(None),
                    }
                }
                Err(no) => {
                    let kind = match &no {
                        NoPolicy::SeveralRecords { .. } => K::StsTxtMultiple,
                        NoPolicy::Invalid { error, .. }
                            if error.conformance_id() == "STS-TXT-03" =>
                        {
                            K::StsTxtId
                        }
                        _ => K::StsTxtSyntax,
                    };
                    push(findings, kind, subject.clone(), no.to_string());
                    Err(())
                }
            };
            (lookup, record)
        }
    };

    // The policy fetch, once per address family (RFC 8461 §3.3; M-12).
    let host = sts
        .host
        .as_ref()
        .map_or_else(|| format!("mta-sts.{domain}"), ToString::to_string);
    let host_subject = sts.host.as_ref().map_or(subject.clone(), Subject::host);
    let fetches: Vec<PolicyFetch> = sts.fetches.iter().map(fetch_report).collect();
    let fetched: Option<(&Policy, &[PolicyWarning])> = sts.fetches.iter().find_map(|f| {
        f.outcome
            .as_ref()
            .and_then(|o| o.result.as_ref().ok())
            .map(|p| (&p.policy, p.warnings.as_slice()))
    });
    let txt_valid = matches!(record, Ok(Some(_)));
    if txt_valid {
        fetch_findings(observed, &host_subject, fetched.is_some(), findings);
    } else if matches!(record, Ok(None)) {
        if let Some((policy, _)) = fetched {
            push(
                findings,
                K::StsOrphanPolicy,
                subject.clone(),
                format!(
                    "no TXT record at _mta-sts.{domain}, but {host} serves a policy in mode {}",
                    policy.mode
                ),
            );
        }
        wrong_owner(observed, &subject, findings);
        push(
            findings,
            K::StsAbsent,
            subject.clone(),
            format!("no MTA-STS TXT record at _mta-sts.{domain}"),
        );
    }

    // The policy (RFC 8461 §3.2).
    let policy = if txt_valid { fetched } else { None };
    let (verdict, state) = match (&record, policy) {
        (Ok(Some(_)), Some((policy, warnings))) => {
            policy_findings(domain, policy, warnings, &subject, findings);
            let verdict = match policy.mode {
                Mode::Enforce => StsVerdict::Enforce,
                Mode::Testing => StsVerdict::Testing,
                Mode::None => StsVerdict::None,
            };
            let state = StsState::Active(ActiveSts {
                policy_domain: domain.clone(),
                mode: policy.mode,
                mx_patterns: policy.mx.clone(),
                policy_lines: policy.lines(),
                source: StsSource::Fresh,
                ttl: u32::try_from(policy.max_age.min(MAX_ANSWER_TTL))
                    .unwrap_or(1)
                    .max(1),
            });
            (verdict, state)
        }
        (Ok(None), _) => (StsVerdict::Absent, StsState::Absent),
        _ => (StsVerdict::Invalid, StsState::Absent),
    };
    let id = match &record {
        Ok(Some(r)) => Some(r.id.to_string()),
        _ => None,
    };
    StsJudged {
        section: MtaStsSection {
            txt,
            id,
            policy_host: host,
            fetches,
            policy: policy.map(|(p, _)| PolicyReport {
                mode: p.mode,
                max_age: p.max_age,
                mx: p.mx.iter().map(ToString::to_string).collect(),
            }),
        },
        verdict,
        state,
        policy: policy.map(|(p, _)| p.clone()),
    }
}

fn txt_lookup(name: String, dnssec: DnsStatus, records: &[Vec<Vec<u8>>]) -> TxtLookup {
    TxtLookup {
        name,
        dnssec,
        records: records.iter().map(|r| concat(r)).collect(),
    }
}

/// A TXT record's strings concatenated without separator (STS-TXT-06), shown safely.
pub(super) fn concat(strings: &[Vec<u8>]) -> String {
    one_line(&String::from_utf8_lossy(&strings.concat()))
}

fn fetch_report(f: &crate::observed::FetchObserved) -> PolicyFetch {
    let mut report = PolicyFetch {
        family: f.family,
        address: f.address,
        ok: false,
        http_status: None,
        content_type: None,
        bytes: None,
        duration_ms: None,
        error: None,
    };
    let Some(outcome) = &f.outcome else {
        report.error = Some(match f.address {
            None => format!("no {} address", f.family.as_str()),
            Some(_) => "not fetched".to_owned(),
        });
        return report;
    };
    report.duration_ms = u64::try_from(outcome.elapsed.as_millis()).ok();
    match &outcome.result {
        Ok(p) => {
            report.ok = true;
            report.http_status = Some(200);
            report.content_type = Some(one_line(&p.content_type));
            report.bytes = u64::try_from(p.body.len()).ok();
        }
        Err(e) => {
            match e {
                FetchFailure::Redirect { status, .. } | FetchFailure::Status { status } => {
                    report.http_status = Some(*status);
                }
                FetchFailure::ContentType { content_type, body } => {
                    report.http_status = Some(200);
                    report.content_type = content_type.as_deref().map(one_line);
                    report.bytes = u64::try_from(body.len()).ok();
                }
                FetchFailure::Invalid { body, .. } => {
                    report.http_status = Some(200);
                    report.bytes = u64::try_from(body.len()).ok();
                }
                _ => {}
            }
            report.error = Some(one_line(&e.to_string()));
        }
    }
    report
}

/// M-01, M-02, M-03, M-12 and the policy parse errors, for a domain with a valid TXT record.
fn fetch_findings(
    observed: &Observed,
    host_subject: &Subject,
    got_policy: bool,
    findings: &mut Vec<Finding>,
) {
    let sts = &observed.sts;
    let attempted: Vec<&crate::observed::FetchObserved> =
        sts.fetches.iter().filter(|f| f.address.is_some()).collect();
    if attempted.is_empty() {
        push(
            findings,
            K::StsHostNoAddress,
            host_subject.clone(),
            "the policy host has no A or AAAA record: senders cannot fetch the policy",
        );
        return;
    }
    if got_policy {
        for f in attempted {
            if let Some(Err(e)) = f.outcome.as_ref().map(|o| &o.result) {
                let address = f.address.map(|a| a.to_string()).unwrap_or_default();
                push(
                    findings,
                    K::StsFetchFamilyDiffers,
                    host_subject.clone(),
                    format!(
                        "over {} ({address}) the fetch fails: {}",
                        f.family.as_str(),
                        e
                    ),
                );
            }
        }
        return;
    }
    // No family gave a policy: report the failure of each family once per kind.
    let mut seen = Vec::new();
    for f in attempted {
        let Some(outcome) = &f.outcome else { continue };
        let Err(e) = &outcome.result else { continue };
        let kind = match e {
            FetchFailure::Certificate(_) => K::StsWebpkiInvalid,
            FetchFailure::ContentType { .. } => K::StsContentType,
            FetchFailure::TooLarge { .. } => K::StsPolicyTooLarge,
            FetchFailure::Invalid { error, .. } => policy_error_kind(error),
            _ => K::StsFetchFailed,
        };
        if seen.contains(&kind) {
            continue;
        }
        seen.push(kind);
        let message = match e {
            FetchFailure::Invalid { error, .. } => format!("the policy is invalid: {error}"),
            other => format!(
                "{} fetch from {}: {other}",
                f.family.as_str(),
                outcome.address
            ),
        };
        push(findings, kind, host_subject.clone(), message);
    }
}

fn policy_error_kind(error: &PolicyError) -> K {
    match error.conformance_id() {
        "STS-POL-04" => K::StsPolicyVersion,
        "STS-POL-05" => K::StsPolicyMode,
        "STS-POL-06" => K::StsPolicyMaxAge,
        "STS-POL-07" => K::StsPolicyMx,
        "STS-FETCH-04" => K::StsPolicyTooLarge,
        _ => K::StsPolicySyntax,
    }
}

/// STS-POL-03…09 warnings, the mode, M-10 and STS-SEC-01.
fn policy_findings(
    domain: &mxsec_proto::name::DomainName,
    policy: &Policy,
    warnings: &[PolicyWarning],
    subject: &Subject,
    findings: &mut Vec<Finding>,
) {
    for w in warnings {
        let kind = match w {
            PolicyWarning::MaxAgeClamped { .. } => K::StsMaxAgeTooLarge,
            PolicyWarning::UnmatchableMx { .. } => K::StsPatternUnmatchable,
            PolicyWarning::NoMx { .. } => K::StsPolicyMx,
            w if w.conformance_id() == "STS-POL-08" => K::StsPolicyIgnoredField,
            w if w.conformance_id() == "STS-POL-07" => K::StsPolicyMxStyle,
            _ => K::StsPolicyStyle,
        };
        push(findings, kind, subject.clone(), w.to_string());
    }
    push(
        findings,
        K::StsPolicyValid,
        subject.clone(),
        format!("mode {}, max_age {}", policy.mode, policy.max_age),
    );
    match policy.mode {
        Mode::Testing => push(
            findings,
            K::StsModeTesting,
            subject.clone(),
            "mode testing: senders report failures but deliver anyway",
        ),
        Mode::None => push(
            findings,
            K::StsModeNone,
            subject.clone(),
            "mode none: senders apply no MTA-STS policy",
        ),
        Mode::Enforce if policy.max_age < SHORT_MAX_AGE => push(
            findings,
            K::StsMaxAgeShort,
            subject.clone(),
            format!(
                "max_age {} ({} s) with mode enforce; use at least a week",
                policy.max_age, policy.max_age
            ),
        ),
        Mode::Enforce => {}
    }
    for pattern in policy.mx.iter().filter(|p| p.is_broad()) {
        // A wildcard directly below the policy domain (or above it) covers every host of the
        // domain; one below a dedicated mail subdomain is narrow enough (RFC 8461 §10.4).
        if domain.is_subdomain_of(pattern.domain()) {
            push(
                findings,
                K::StsBroadPattern,
                subject.clone(),
                format!(
                    "mx: {pattern} lets any host of {} with a public certificate receive mail",
                    pattern.domain()
                ),
            );
        }
    }
}

/// M-07: the record published at `_mta-sts.mta-sts.<domain>`.
fn wrong_owner(observed: &Observed, subject: &Subject, findings: &mut Vec<Finding>) {
    let Some(resolved) = &observed.sts.wrong_owner else {
        return;
    };
    let Answer::Records(records) = resolved.answer().value_ignoring_security() else {
        return;
    };
    if let Some(r) = records
        .iter()
        .map(|r| concat(r))
        .find(|r| r.starts_with("v=STSv1"))
    {
        push(
            findings,
            K::StsTxtWrongOwner,
            subject.clone(),
            format!(
                "the record {r:?} is at _mta-sts.mta-sts.{}, where senders do not look",
                observed.domain
            ),
        );
    }
}
