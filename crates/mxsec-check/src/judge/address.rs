//! One address of an MX host: the connection and STARTTLS (RFC 3207; T-01…T-03, N-01), the
//! certificate and its WebPKI verdict for the MX name (RFC 8461 §4.2; M-06, PKIX-01), the
//! MTA-STS verdict (RFC 8461 §4.2) and the DANE verdict of each record (RFC 7672 §3; D-01…D-10,
//! DANE-TLSA-04).

use std::net::IpAddr;

use mxsec_net::smtp_probe::{ProbeFailure, ProbeReport};
use mxsec_net::tls::{PkixCheck, PkixFailure};
use mxsec_proto::certificate::{self, ChainError};
use mxsec_proto::dane::matching::{RecordFailure, ReferenceNames};
use mxsec_proto::dane::tlsa::TlsaRecord;
use mxsec_proto::dane::usable::UsableSet;
use mxsec_proto::mta_sts::policy::Mode;
use mxsec_proto::smtp::client::Outcome;
use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};

use super::context::{push, Context};
use super::probe::{chain_of, connected, greeting_text, handshake_attempted, hex, summary};
use super::tlsa::{kind_of, pins_trusted_root, tlsa_text};
use crate::catalogue::FindingKind as K;
use crate::dane::{judge_usable, ChainJudgement};
use crate::finding::{one_line, Finding, Subject};
use crate::observed::{AddressObserved, HostObserved};
use crate::prober::ChainVerdict;
use crate::report::{
    AddressDane, AddressReport, AddressSts, DaneResult, PkixResult, RecordResult, StarttlsOutcome,
    TcpOutcome, TlsReport,
};

/// What every address of one host is judged against.
pub(super) struct HostJudging<'a> {
    /// The host.
    pub(super) host: &'a HostObserved,
    /// Its TLSA records, whatever their status, in RRset order.
    pub(super) records: &'a [TlsaRecord],
    /// The usable records, when DANE applies (DANE-DISC-04).
    pub(super) usable: Option<&'a UsableSet>,
    /// Whether the host has a secure TLSA RRset without a usable record (DANE-DISC-05).
    pub(super) all_unusable: bool,
    /// The DANE-TA reference names (RFC 7672 §3.2.2).
    pub(super) names: ReferenceNames,
    /// The WebPKI check for the MX host name.
    pub(super) pkix: PkixCheck,
    /// The MTA-STS mode, when a policy covers the host.
    pub(super) sts_mode: Option<Mode>,
    /// The time, roots and options.
    pub(super) cx: &'a Context<'a>,
}

/// What the verdict needs to know about one address.
#[derive(Clone, Copy, Default)]
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

/// Judges one address: its report section and the facts the verdict needs.
pub(super) fn judge(
    h: &HostJudging<'_>,
    a: &AddressObserved,
    findings: &mut Vec<Finding>,
) -> (AddressReport, AddressFacts) {
    let subject = Subject::address(&h.host.name, a.address);
    let mut report = unprobed(a.address);
    let mut facts = AddressFacts::default();
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
    special_purpose_note(a.address, &subject, findings);
    facts.connected = connected(p);
    report.error = p.result.as_ref().err().map(|e| one_line(&e.to_string()));
    let error = report.error.clone().unwrap_or_default();
    if !facts.connected {
        report.tcp = TcpOutcome::Failed;
        push(findings, K::AddressUnreachable, subject, error);
        return (report, facts);
    }
    report.tcp = TcpOutcome::Connected;
    report.starttls = starttls(p);
    report.banner = p.greeting.as_ref().map(greeting_text);
    dialogue_finding(p, report.starttls, &subject, &error, findings);
    facts.tls = p.result.is_ok() && p.tls.is_some();

    let chain = chain_of(p).unwrap_or_default();
    let sts_failure = if handshake_attempted(p) {
        let judged = judge_certificate(h, p, &chain, facts.tls, &subject, findings);
        facts.pkix = judged.webpki_valid;
        report.tls = Some(judged.report);
        judged.sts_failure
    } else {
        Some(error.clone())
    };
    report.mta_sts = h
        .sts_mode
        .map(|mode| judge_sts(mode, facts.tls, sts_failure, &subject, findings));
    if let Some(set) = h.usable {
        let dane = judge_dane(h, set, &chain, facts.tls, &error, &subject, findings);
        facts.dane = Some(dane.result == DaneResult::Authenticated);
        report.dane = Some(dane);
    } else if h.all_unusable {
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

/// The report of an address before anything is known about it.
fn unprobed(address: IpAddr) -> AddressReport {
    AddressReport {
        address,
        tcp: TcpOutcome::Skipped,
        connect_ms: None,
        banner: None,
        starttls: StarttlsOutcome::NotReached,
        tls: None,
        dane: None,
        mta_sts: None,
        error: None,
    }
}

/// N-01, as a note: a special-purpose address probed because the connect policy allows
/// private networks (`--allow-private`); no sender on the internet gets here.
fn special_purpose_note(address: IpAddr, subject: &Subject, findings: &mut Vec<Finding>) {
    if let Some(special) = mxsec_net::dial::special_purpose(address) {
        push(
            findings,
            K::SpecialPurposeAddressProbed,
            subject.clone(),
            format!("{special}: probed, but not reachable from the internet"),
        );
    }
}

/// What became of STARTTLS (RFC 3207).
fn starttls(p: &ProbeReport) -> StarttlsOutcome {
    match &p.dialogue {
        Some(Outcome::Tls { .. } | Outcome::TlsFailed { .. }) => StarttlsOutcome::Offered,
        Some(Outcome::NotOffered { .. }) => StarttlsOutcome::NotOffered,
        Some(Outcome::Masked { .. }) => StarttlsOutcome::Masked,
        Some(Outcome::StartTlsUnavailable { .. } | Outcome::StartTlsRefused { .. }) => {
            StarttlsOutcome::Refused
        }
        _ => StarttlsOutcome::NotReached,
    }
}

/// STT-01, T-01…T-03: how the SMTP dialogue ended.
fn dialogue_finding(
    p: &ProbeReport,
    starttls: StarttlsOutcome,
    subject: &Subject,
    error: &str,
    findings: &mut Vec<Finding>,
) {
    let kind = match (&p.result, starttls) {
        (Ok(()), _) => {
            push(
                findings,
                K::StarttlsOffered,
                subject.clone(),
                "STARTTLS offered and TLS established",
            );
            return;
        }
        (_, StarttlsOutcome::Masked) => K::StarttlsMasked,
        (_, StarttlsOutcome::NotOffered) => K::StarttlsNotOffered,
        (_, StarttlsOutcome::Refused) => K::StarttlsRefused,
        (Err(ProbeFailure::Handshake { .. }), _) => K::TlsHandshakeFailed,
        (Err(_), _) => K::AddressUnreachable,
    };
    push(findings, kind, subject.clone(), error);
}

/// The certificate of an address, judged.
struct CertificateJudged {
    /// The TLS section of the report.
    report: TlsReport,
    /// TLS was established with a chain WebPKI-valid for the MX host name.
    webpki_valid: bool,
    /// Why an MTA-STS sender refuses the address, when it does.
    sts_failure: Option<String>,
}

/// The presented chain and its WebPKI verdict for the MX host name (RFC 8461 §4.2), whether
/// the root stores agree on it (PKIX-01), and its expiry (M-06).
fn judge_certificate(
    h: &HostJudging<'_>,
    p: &ProbeReport,
    chain: &[CertificateDer<'static>],
    tls: bool,
    subject: &Subject,
    findings: &mut Vec<Finding>,
) -> CertificateJudged {
    let cx = h.cx;
    let judged = cx
        .options
        .prober
        .chain_verdict(chain, h.pkix.mx_host(), cx.now, || ChainVerdict {
            pkix: h.pkix.verify(chain, cx.now),
            stores_disagree: cx
                .os_roots
                .map(|os| super::stores::compare(chain, cx.roots, os, cx.now))
                .and_then(|agreement| agreement.message()),
        });
    let verified = &judged.pkix;
    let pkix = match verified.verdict() {
        Ok(()) => PkixResult::Valid,
        Err(PkixFailure::Chain(ChainError::Expired { .. } | ChainError::NotYetValid { .. })) => {
            PkixResult::Expired
        }
        Err(PkixFailure::Chain(_)) => PkixResult::Untrusted,
        Err(_) => PkixResult::NameMismatch,
    };
    if let Some(message) = &judged.stores_disagree {
        push(
            findings,
            K::PkixStoresDisagree,
            subject.clone(),
            message.clone(),
        );
    }
    let webpki_valid = pkix == PkixResult::Valid && tls;
    let days = verified.days_left();
    if webpki_valid && days.is_some_and(|d| d <= cx.options.expiry_warning_days) {
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
    let sts_failure = if !tls {
        Some("no TLS session".to_owned())
    } else if !webpki_valid {
        verified.verdict().err().map(|e| one_line(&e.to_string()))
    } else {
        None
    };
    let presented = !chain.is_empty();
    let report = TlsReport {
        version: p.tls.as_ref().map(|t| t.version.clone()),
        cipher: p.tls.as_ref().map(|t| t.cipher_suite.clone()),
        chain: chain.iter().filter_map(summary).collect(),
        pkix: if presented {
            pkix
        } else {
            PkixResult::NotChecked
        },
        name_matches: presented.then_some(verified.name_matches),
        days_to_expiry: days,
        error: match &p.result {
            Err(ProbeFailure::Handshake { error, .. }) => Some(one_line(&error.to_string())),
            _ => None,
        },
    };
    CertificateJudged {
        report,
        webpki_valid,
        sts_failure,
    }
}

/// MTA-STS on one address (RFC 8461 §4.2): a covered host passes with TLS and a valid
/// certificate (M-06, STS-VAL-02).
fn judge_sts(
    mode: Mode,
    tls: bool,
    failure: Option<String>,
    subject: &Subject,
    findings: &mut Vec<Finding>,
) -> AddressSts {
    let pass = failure.is_none();
    let kind = match (pass, tls, mode == Mode::Enforce) {
        (true, _, _) => K::StsMxPasses,
        (false, false, true) => K::StsMxNoTls,
        (false, false, false) => K::StsMxNoTlsTesting,
        (false, true, true) => K::StsMxCertInvalid,
        (false, true, false) => K::StsMxCertInvalidTesting,
    };
    let message = failure.clone().unwrap_or_else(|| {
        "STARTTLS with a WebPKI-valid certificate for the MX host name".to_owned()
    });
    push(findings, kind, subject.clone(), message);
    AddressSts {
        pass,
        reason: failure,
    }
}

/// DANE on one address (RFC 7672 §3): every usable record against the presented chain.
fn judge_dane(
    h: &HostJudging<'_>,
    set: &UsableSet,
    chain: &[CertificateDer<'static>],
    tls: bool,
    error: &str,
    subject: &Subject,
    findings: &mut Vec<Finding>,
) -> AddressDane {
    if !tls {
        push(
            findings,
            K::DaneNoTls,
            subject.clone(),
            format!("usable TLSA records, but no TLS session: {error}"),
        );
        return AddressDane {
            result: DaneResult::NoTls,
            records: Vec::new(),
        };
    }
    let judgement = judge_usable(set, chain, &h.names, h.cx.now);
    dane_findings(h, &judgement, chain, subject, findings);
    AddressDane {
        result: if judgement.authenticated() {
            DaneResult::Authenticated
        } else {
            DaneResult::Failed
        },
        records: record_results(h.records, &judgement),
    }
}

/// The result of every TLSA record of the host, usable or not, in RRset order.
fn record_results(records: &[TlsaRecord], judgement: &ChainJudgement) -> Vec<RecordResult> {
    records
        .iter()
        .map(|r| {
            let verdict = judgement.evaluation.records.iter().find(|v| v.record == *r);
            RecordResult {
                record: tlsa_text(r),
                matched: verdict.is_some_and(|v| v.result.is_ok()),
                detail: match verdict {
                    Some(v) => v.result.as_ref().err().map(|f| one_line(&f.to_string())),
                    None => Some("not usable".to_owned()),
                },
            }
        })
        .collect()
}

/// DANE-AUTH-01 when a record authenticates the server, with DANE-TLSA-04 for every kind of
/// record that matches nothing; otherwise why not (D-01, D-02, D-03, D-04).
fn dane_findings(
    h: &HostJudging<'_>,
    judgement: &ChainJudgement,
    chain: &[CertificateDer<'static>],
    subject: &Subject,
    findings: &mut Vec<Finding>,
) {
    let failure = match judgement.evaluation.verdict() {
        Ok(m) => {
            push(
                findings,
                K::DaneAuthenticated,
                subject.clone(),
                format!("TLSA {} matches", kind_of(&m.record)),
            );
            for kind in judgement.unmatched_kinds() {
                push(
                    findings,
                    K::DaneKindUnmatched,
                    subject.clone(),
                    format!("no `{kind}` record matches the served chain"),
                );
            }
            return;
        }
        Err(failure) => failure,
    };
    let (kind, detail) = match failure.primary() {
        Some((record, RecordFailure::TrustAnchorNotPresented)) => {
            if pins_trusted_root(record, h.cx.roots) {
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
        .map(|spki| format!("; the served key is 3 1 1 {}", hex(&Sha256::digest(spki))))
        .unwrap_or_default();
    push(findings, kind, subject.clone(), format!("{detail}{key}"));
}
