//! The TLSA RRset of one MX host (RFC 7672 §2.2.3, RFC 7671): its lookup, which records a
//! sender can use, and the publishing advice (D-01, D-02, D-05, D-06, D-08, D-10, D-12, D-13,
//! D-14, DANE-TLSA-01/02).

use mxsec_proto::dane::publish::{lint, TlsaWarning};
use mxsec_proto::dane::tlsa::{CertUsage, MatchingType, Selector, TlsaRecord};
use mxsec_proto::dane::usable::{
    classify, Classification, RrsetUsability, UnusableReason, UsableSet,
};
use mxsec_proto::decision::{AddressState, HostState, TlsaState};
use mxsec_proto::dnssec::Security;
use mxsec_proto::name::DomainName;
use rustls_pki_types::{CertificateDer, TrustAnchor};
use sha2::{Digest, Sha256, Sha512};

use super::context::push;
use super::mx::failed_status;
use super::probe::{chain_of, hex};
use crate::catalogue::FindingKind as K;
use crate::finding::{Finding, Subject};
use crate::observed::HostObserved;
use crate::report::{AddressReport, DaneResult, DnsStatus, TlsaEntry, TlsaSet};

/// The TLSA RRset of one host, whatever its DNSSEC status, with its classification.
pub(super) struct HostTlsa {
    /// The owner name queried.
    owner: String,
    /// The DNSSEC status of the answer (or of its failure).
    status: DnsStatus,
    /// The records, in RRset order.
    pub(super) records: Vec<TlsaRecord>,
    /// The TLSA base domain (RFC 7672 §2.2.3): the first DANE-TA reference name.
    pub(super) base: DomainName,
    /// What a sender makes of the records.
    classification: Classification,
}

impl HostTlsa {
    /// The TLSA RRset of `host` as looked up.
    pub(super) fn of(host: &HostObserved) -> Self {
        let (owner, status, records, base) = match &host.tlsa {
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
                failed_status(e),
                Vec::new(),
                host.name.clone(),
            ),
        };
        let classification = classify(&records);
        Self {
            owner,
            status,
            records,
            base,
            classification,
        }
    }

    /// The usable records, when DANE applies to the host (a secure RRset with a usable
    /// record, DANE-DISC-04).
    pub(super) fn usable(&self, state: &TlsaState) -> Option<&UsableSet> {
        match (state, &self.classification.usability) {
            (TlsaState::Usable, RrsetUsability::Usable(set)) => Some(set),
            _ => None,
        }
    }

    /// The RRset as the report shows it: every record with whether it is usable.
    pub(super) fn report(&self) -> TlsaSet {
        let records = self
            .records
            .iter()
            .map(|r| {
                let reason = self
                    .classification
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
        TlsaSet {
            owner: self.owner.clone(),
            dnssec: self.status,
            records,
        }
    }

    /// Whether `record` is one a sender uses.
    fn is_usable(&self, record: &TlsaRecord) -> bool {
        !self
            .classification
            .dropped
            .iter()
            .any(|d| d.record == *record)
    }
}

/// The findings on one host's TLSA RRset: its lookup (D-05, D-06), each record a sender
/// sets aside (D-08, D-12, DANE-TLSA-01/02), and the publishing advice (D-01 `3 0 x`, D-02,
/// D-13, D-14).
pub(super) fn findings(
    host: &HostObserved,
    state: &HostState,
    tlsa: &HostTlsa,
    findings: &mut Vec<Finding>,
) {
    let subject = Subject::host(&host.name);
    if !lookup_findings(host, state, tlsa, &subject, findings)
        || tlsa.records.is_empty()
        || !matches!(state.tlsa, TlsaState::Usable | TlsaState::AllUnusable)
    {
        return;
    }
    record_findings(state, tlsa, &subject, findings);
    if state.tlsa == TlsaState::Usable {
        publishing_advice(host, tlsa, &subject, findings);
    }
}

/// D-05, D-06: a TLSA lookup that failed, or records senders ignore. False when the records
/// are not judged further.
fn lookup_findings(
    host: &HostObserved,
    state: &HostState,
    tlsa: &HostTlsa,
    subject: &Subject,
    findings: &mut Vec<Finding>,
) -> bool {
    let secure_addresses = matches!(
        state.addresses,
        AddressState::Found {
            security: Security::Secure
        }
    );
    match (&host.tlsa, &state.tlsa) {
        (Err(e), _) if e.is_bogus() => {
            push(findings, K::TlsaBogus, subject.clone(), e.to_string());
            false
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
            false
        }
        (Ok(lookup), TlsaState::Insecure | TlsaState::NotApplicable)
            if !tlsa.records.is_empty() =>
        {
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
            false
        }
        _ => true,
    }
}

/// D-08, D-12, DANE-TLSA-01/02: the records a sender sets aside, and an RRset with none left.
fn record_findings(
    state: &HostState,
    tlsa: &HostTlsa,
    subject: &Subject,
    findings: &mut Vec<Finding>,
) {
    for d in &tlsa.classification.dropped {
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
                tlsa.records.len()
            ),
        );
    }
}

/// D-01 (`3 0 x`), D-02, D-13, D-14: records that work today but break at the next renewal
/// or at some senders. The size of the signed answer is DANE-TLSA-08, judged from the signing
/// zone's keys (`dnssec::judge_tlsa_size`).
fn publishing_advice(
    host: &HostObserved,
    tlsa: &HostTlsa,
    subject: &Subject,
    findings: &mut Vec<Finding>,
) {
    let chain_issuers: Vec<CertificateDer<'static>> = host
        .probes
        .iter()
        .filter_map(|a| a.probe.as_deref().ok())
        .filter_map(chain_of)
        .flat_map(|c| c.into_iter().skip(1))
        .collect();
    let issuers: Vec<&CertificateDer<'_>> = chain_issuers.iter().collect();
    for w in lint(&tlsa.records, &issuers) {
        let kind = match &w {
            TlsaWarning::CertificatePinnedByEe { .. } => K::DaneCertPinned,
            TlsaWarning::SingleIntermediate { .. } => K::DaneSingleIntermediate,
            TlsaWarning::TooManyRecords { .. } => K::DaneTooManyRecords,
            _ => continue,
        };
        push(findings, kind, subject.clone(), w.to_string());
    }
    let usable: Vec<&TlsaRecord> = tlsa.records.iter().filter(|r| tlsa.is_usable(r)).collect();
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

/// D-10: some addresses of a host authenticate and others do not. Rewrites the per-address
/// failures of such a host as drift.
pub(super) fn drift(host: &HostObserved, addresses: &[AddressReport], findings: &mut [Finding]) {
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

/// A record in presentation form with lower-case hex, as the report format has it.
pub(super) fn tlsa_text(r: &TlsaRecord) -> String {
    format!("{} {}", kind_of(r), hex(&r.data))
}

/// `usage selector matching-type` of a record, e.g. `3 1 1`.
pub(super) fn kind_of(r: &TlsaRecord) -> String {
    format!(
        "{} {} {}",
        u8::from(r.usage),
        u8::from(r.selector),
        u8::from(r.matching)
    )
}

/// Whether a DANE-TA record pins one of the trusted roots (which a server need not send,
/// but a DANE-TA digest needs presented: D-03), rather than another CA certificate (D-02).
pub(super) fn pins_trusted_root(record: &TlsaRecord, roots: &[TrustAnchor<'_>]) -> bool {
    if record.selector != Selector::Spki {
        return false;
    }
    roots.iter().any(|anchor| {
        let spki = der_sequence(anchor.subject_public_key_info.as_ref());
        match record.matching {
            MatchingType::Sha256 => Sha256::digest(&spki).as_slice() == record.data.as_slice(),
            MatchingType::Sha512 => Sha512::digest(&spki).as_slice() == record.data.as_slice(),
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
