//! TLS-RPT: the reporting record (RFC 8460 §3; SCENARIOS.md ).

use mxsec_net::dns::Answer;
use mxsec_proto::tlsrpt::record::{NoTlsRpt, TlsRptRecord, TlsRptWarning};

use super::context::push;
use super::sts::concat;
use crate::catalogue::FindingKind as K;
use crate::finding::{Finding, Subject};
use crate::observed::Observed;
use crate::report::{
    DaneVerdict, DnsStatus, StsVerdict, TlsRptSection, TlsRptVerdict, TxtLookup, Verdict,
};

/// What the TLS-RPT branch gave.
pub(super) struct RptJudged {
    pub(super) section: TlsRptSection,
    pub(super) verdict: TlsRptVerdict,
}

pub(super) fn judge(observed: &Observed, findings: &mut Vec<Finding>) -> RptJudged {
    let domain = &observed.domain;
    let subject = Subject::domain(domain);
    let rpt = &observed.rpt;
    let name = rpt
        .name
        .as_ref()
        .map_or_else(|| format!("_smtp._tls.{domain}"), ToString::to_string);
    let legacy_records: Vec<String> = rpt
        .legacy
        .as_ref()
        .and_then(|r| r.answer().value_ignoring_security().records().cloned())
        .unwrap_or_default()
        .iter()
        .map(|r| concat(r))
        .filter(|r| r.starts_with("v=TLSRPTv1"))
        .collect();
    for r in &legacy_records {
        push(
            findings,
            K::RptLegacyName,
            subject.clone(),
            format!("{r:?} is published at _smtp-tlsrpt.{domain}, a name no sender queries"),
        );
    }
    let (txt, verdict, rua) = match &rpt.txt {
        None => (
            TxtLookup {
                name,
                dnssec: DnsStatus::Failed,
                records: Vec::new(),
            },
            TlsRptVerdict::Invalid,
            Vec::new(),
        ),
        Some(Err(e)) => {
            push(findings, K::RptLookupFailed, subject.clone(), e.to_string());
            (
                TxtLookup {
                    name,
                    dnssec: super::mx::failed_status(e),
                    records: Vec::new(),
                },
                TlsRptVerdict::Invalid,
                Vec::new(),
            )
        }
        Some(Ok(resolved)) => {
            let dnssec = DnsStatus::from(resolved.answer().security());
            let records: &[Vec<Vec<u8>>] = match resolved.answer().value_ignoring_security() {
                Answer::Records(r) => r,
                Answer::NoData | Answer::NxDomain => &[],
            };
            let txt = TxtLookup {
                name,
                dnssec,
                records: records.iter().map(|r| concat(r)).collect(),
            };
            match TlsRptRecord::from_txt_rrset(records) {
                Ok(parsed) => {
                    for w in &parsed.warnings {
                        let kind = match w {
                            TlsRptWarning::SeveralRuaFields => K::RptSeveralRua,
                            _ => K::RptIgnoredRecord,
                        };
                        push(findings, kind, subject.clone(), w.to_string());
                    }
                    let rua: Vec<String> = parsed
                        .value
                        .rua
                        .iter()
                        .map(|u| u.as_str().to_owned())
                        .collect();
                    push(
                        findings,
                        K::RptValid,
                        subject.clone(),
                        format!("reports go to {}", rua.join(", ")),
                    );
                    (txt, TlsRptVerdict::Present, rua)
                }
                Err(no) if no.is_absent() => {
                    push(
                        findings,
                        K::RptAbsent,
                        subject.clone(),
                        format!("no TLS-RPT record at _smtp._tls.{domain}"),
                    );
                    (txt, TlsRptVerdict::Absent, Vec::new())
                }
                Err(no) => {
                    let kind = match &no {
                        NoTlsRpt::SeveralRecords { .. } => K::RptMultiple,
                        NoTlsRpt::Invalid { error, .. }
                            if error.conformance_id() == "RPT-TXT-03" =>
                        {
                            K::RptBadRua
                        }
                        _ => K::RptSyntax,
                    };
                    push(findings, kind, subject.clone(), no.to_string());
                    (txt, TlsRptVerdict::Invalid, Vec::new())
                }
            }
        }
    };
    RptJudged {
        section: TlsRptSection {
            txt,
            rua,
            legacy_records,
        },
        verdict,
    }
}

/// DANE or MTA-STS enforced, and no TLS-RPT record to hear about failures.
pub(super) fn missing_while_enforced(
    domain: &mxsec_proto::name::DomainName,
    verdict: &Verdict,
    findings: &mut Vec<Finding>,
) {
    let enforced = verdict.mta_sts == StsVerdict::Enforce
        || matches!(verdict.dane, DaneVerdict::Usable | DaneVerdict::Unusable);
    if enforced && verdict.tls_rpt != TlsRptVerdict::Present {
        let what = match (verdict.mta_sts == StsVerdict::Enforce, verdict.dane) {
            (true, DaneVerdict::Usable | DaneVerdict::Unusable) => "DANE and MTA-STS enforce",
            (true, _) => "MTA-STS enforce",
            _ => "DANE",
        };
        push(
            findings,
            K::RptMissingWhileEnforced,
            Subject::domain(domain),
            format!("{what} without a valid TLS-RPT record: senders cannot tell you of failures"),
        );
    }
}
