//! DANE authentication of a presented certificate chain (RFC 7672 §3, RFC 7671 §5): a pure
//! function of the chain (DER, leaf first, as the server sent it), the usable TLSA records,
//! the reference names and `now`.
//!
//! - **DANE-EE(3)** (RFC 7672 §3.1.1, RFC 7671 §5.1; DANE-AUTH-01): the leaf certificate
//!   (selector 0) or its public key (selector 1) must match. Nothing else is checked: no names,
//!   no validity dates (the RRSIG lifetime bounds the record), no chain.
//! - **DANE-TA(2)** (RFC 7671 §5.2; DANE-AUTH-02): some issuer certificate the server
//!   *presented* (chain position 1 or higher) must match, and becomes the trust anchor. A digest
//!   cannot stand in for a missing certificate; only records that carry the full certificate or
//!   key (`2 0 0`, `2 1 0`) may anchor a chain that does not contain it ("synthetic anchor"). The
//!   leaf must then validate up to that anchor with rustls-webpki (signatures, validity dates,
//!   CA and path-length constraints, serverAuth EKU), and the anchor certificate's own dates
//!   are checked too, as OpenSSL (and so Postfix) does for a DANE-TA certificate. Finally the
//!   leaf must carry one of the reference identifiers (RFC 7672 §3.2.1–3.2.2; DANE-AUTH-03):
//!   the TLSA base domain first, then what the caller adds (the MX name before CNAME
//!   expansion, the next-hop domain when the MX lookup was secure). DNS-ID only, `*` only as
//!   the whole left-most label (RFC 9525).
//!
//! [`evaluate`] judges every usable record, for the checker; [`DaneEvaluation::verdict`] gives
//! the single answer a sender needs: the first record that authenticates the server, or the
//! most telling failure with its RFC 8460 result type.

use std::fmt;

use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use sha2::{Digest, Sha256, Sha512};

use super::tlsa::{CertUsage, MatchingType, Selector, TlsaRecord};
use super::usable::UsableSet;
use crate::certificate::{self, ChainError, Validity};
use crate::name::DomainName;
use crate::tlsrpt::result_type::ResultType;

/// The names a DANE-TA authenticated leaf must carry one of (RFC 7672 §3.2.2; DANE-AUTH-03).
///
/// The TLSA base domain comes first; the caller adds the other names its situation allows and
/// tests pin that list explicitly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceNames {
    names: Vec<DomainName>,
}

impl ReferenceNames {
    /// Starts the list with the TLSA base domain (RFC 7672 §3.2.2, first bullet).
    pub fn new(tlsa_base_domain: DomainName) -> Self {
        Self {
            names: vec![tlsa_base_domain],
        }
    }

    /// Adds another acceptable name (e.g. the MX host before CNAME expansion, or the next-hop
    /// domain when the MX RRset was secure). Duplicates are ignored.
    #[must_use]
    pub fn with(mut self, name: DomainName) -> Self {
        if !self.names.contains(&name) {
            self.names.push(name);
        }
        self
    }

    /// The TLSA base domain, which is also the SNI name to send (DANE-AUTH-04).
    pub fn base(&self) -> &DomainName {
        // `new` puts the base domain first and nothing removes names.
        &self.names[0]
    }

    /// All names, base domain first.
    pub fn names(&self) -> &[DomainName] {
        &self.names
    }
}

/// Where the trust anchor of a match came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchedAt {
    /// The certificate at this position of the presented chain (0 is the leaf).
    Presented(usize),
    /// The full certificate or key in the TLSA record itself (`2 0 0`, `2 1 0`), not presented
    /// by the server.
    Record,
}

/// A TLSA record that authenticated the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaneMatch {
    /// The record.
    pub record: TlsaRecord,
    /// Where it matched.
    pub at: MatchedAt,
    /// For DANE-TA: the reference name the leaf carries. `None` for DANE-EE, which checks no
    /// name (DANE-AUTH-01).
    pub name: Option<DomainName>,
}

/// Why one usable TLSA record does not authenticate the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordFailure {
    /// The server sent no certificate, or a leaf that does not parse.
    MalformedLeaf,
    /// DANE-EE: the leaf certificate or key does not match (D-01).
    LeafMismatch,
    /// DANE-TA with a digest: no issuer certificate in the presented chain matches; the trust
    /// anchor must be presented (RFC 7671 §5.2.2; D-03).
    TrustAnchorNotPresented,
    /// DANE-TA: the matched certificate or key cannot serve as a trust anchor.
    InvalidTrustAnchor,
    /// DANE-TA: the leaf does not validate up to the matched trust anchor (DANE-AUTH-02; D-04).
    Chain(ChainError),
    /// DANE-TA: the chain validates but the leaf carries none of the reference names
    /// (DANE-AUTH-03; D-04).
    NameMismatch,
}

impl RecordFailure {
    /// The RFC 8460 result type (RPT-RES-01/02): no match is `tlsa-invalid`; chain and name
    /// problems under DANE-TA are the certificate result types.
    pub fn result_type(self) -> ResultType {
        match self {
            Self::LeafMismatch | Self::TrustAnchorNotPresented | Self::InvalidTrustAnchor => {
                ResultType::TlsaInvalid
            }
            Self::MalformedLeaf => ResultType::ValidationFailure,
            Self::Chain(e) => e.result_type(),
            Self::NameMismatch => ResultType::CertificateHostMismatch,
        }
    }

    /// A stable code for RFC 8460 `failure-reason-code` (RPT-RES-04).
    pub fn reason_code(self) -> &'static str {
        match self {
            Self::MalformedLeaf => "malformed-server-certificate",
            Self::LeafMismatch => "dane-ee-mismatch",
            Self::TrustAnchorNotPresented => "dane-ta-not-in-chain",
            Self::InvalidTrustAnchor => "dane-ta-unusable-anchor",
            Self::Chain(e) => e.reason_code(),
            Self::NameMismatch => "dane-ta-name-mismatch",
        }
    }

    /// How far verification got: a failure further along explains more.
    fn progress(self) -> u8 {
        match self {
            Self::LeafMismatch | Self::TrustAnchorNotPresented => 0,
            Self::MalformedLeaf => 1,
            Self::InvalidTrustAnchor => 2,
            Self::Chain(_) => 3,
            Self::NameMismatch => 4,
        }
    }
}

impl fmt::Display for RecordFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedLeaf => f.write_str("the server certificate is missing or malformed"),
            Self::LeafMismatch => {
                f.write_str("the server certificate (or its public key) does not match")
            }
            Self::TrustAnchorNotPresented => f.write_str(
                "no issuer certificate presented by the server matches; a DANE-TA digest needs \
                 the trust anchor certificate in the server's chain",
            ),
            Self::InvalidTrustAnchor => {
                f.write_str("the matching certificate or key cannot be used as a trust anchor")
            }
            Self::Chain(e) => write!(f, "the chain does not validate to the trust anchor: {e}"),
            Self::NameMismatch => f.write_str(
                "the server certificate carries none of the acceptable names (DANE-TA requires \
                 a name check)",
            ),
        }
    }
}

/// The outcome for one usable record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordVerdict {
    /// The record.
    pub record: TlsaRecord,
    /// Its match, or why it does not match.
    pub result: Result<DaneMatch, RecordFailure>,
}

/// DANE authentication failed: no usable record authenticates the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaneFailure {
    /// Every record with its failure, in RRset order.
    pub failures: Vec<(TlsaRecord, RecordFailure)>,
}

impl DaneFailure {
    /// The failure that explains most: the record that got furthest (a name mismatch after a
    /// valid chain says more than a digest that matched nothing). The first such record wins.
    pub fn primary(&self) -> Option<(&TlsaRecord, RecordFailure)> {
        self.failures
            .iter()
            .map(|(record, reason)| (record, *reason))
            .reduce(|best, next| {
                if next.1.progress() > best.1.progress() {
                    next
                } else {
                    best
                }
            })
    }

    /// The RFC 8460 result type for a report: that of [`Self::primary`], or `tlsa-invalid`
    /// when there was no record at all (RPT-RES-02).
    pub fn result_type(&self) -> ResultType {
        self.primary()
            .map_or(ResultType::TlsaInvalid, |(_, reason)| reason.result_type())
    }

    /// The RFC 8460 `failure-reason-code` (RPT-RES-04).
    pub fn reason_code(&self) -> &'static str {
        self.primary()
            .map_or("tlsa-no-usable-records", |(_, reason)| reason.reason_code())
    }
}

impl fmt::Display for DaneFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.primary() {
            Some((record, reason)) => write!(f, "TLSA {record}: {reason}"),
            None => f.write_str("no usable TLSA record"),
        }
    }
}

/// Every usable record judged against one presented chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaneEvaluation {
    /// One verdict per usable record, in RRset order.
    pub records: Vec<RecordVerdict>,
}

impl DaneEvaluation {
    /// The sender's answer: the first matching record, else every failure.
    ///
    /// # Errors
    ///
    /// A [`DaneFailure`] when no record authenticates the server (DANE-AUTH-06: do not
    /// deliver to it).
    pub fn verdict(&self) -> Result<DaneMatch, DaneFailure> {
        if let Some(m) = self.records.iter().find_map(|v| v.result.as_ref().ok()) {
            return Ok(m.clone());
        }
        Err(DaneFailure {
            failures: self
                .records
                .iter()
                .filter_map(|v| v.result.as_ref().err().map(|r| (v.record.clone(), *r)))
                .collect(),
        })
    }
}

/// Judges every usable record against the presented chain (leaf first) at time `now`.
pub fn evaluate(
    chain: &[CertificateDer<'_>],
    tlsa: &UsableSet,
    names: &ReferenceNames,
    now: UnixTime,
) -> DaneEvaluation {
    let records = tlsa
        .records()
        .iter()
        .map(|record| RecordVerdict {
            record: record.clone(),
            result: match_record(record, chain, names, now),
        })
        .collect();
    DaneEvaluation { records }
}

/// Shorthand for `evaluate(..).verdict()`: does the chain authenticate under this TLSA set?
///
/// # Errors
///
/// See [`DaneEvaluation::verdict`].
pub fn verify(
    chain: &[CertificateDer<'_>],
    tlsa: &UsableSet,
    names: &ReferenceNames,
    now: UnixTime,
) -> Result<DaneMatch, DaneFailure> {
    evaluate(chain, tlsa, names, now).verdict()
}

fn match_record(
    record: &TlsaRecord,
    chain: &[CertificateDer<'_>],
    names: &ReferenceNames,
    now: UnixTime,
) -> Result<DaneMatch, RecordFailure> {
    let Some(leaf) = chain.first() else {
        return Err(RecordFailure::MalformedLeaf);
    };
    match record.usage {
        CertUsage::DaneEe => match association_matches(record, leaf) {
            Some(true) => Ok(DaneMatch {
                record: record.clone(),
                at: MatchedAt::Presented(0),
                name: None,
            }),
            Some(false) => Err(RecordFailure::LeafMismatch),
            None => Err(RecordFailure::MalformedLeaf),
        },
        CertUsage::DaneTa => match_trust_anchor(record, leaf, chain, names, now),
        // `UsableSet` holds only DANE-TA and DANE-EE records (usable::check_record).
        CertUsage::PkixTa | CertUsage::PkixEe | CertUsage::Unassigned(_) => {
            Err(RecordFailure::InvalidTrustAnchor)
        }
    }
}

fn match_trust_anchor(
    record: &TlsaRecord,
    leaf: &CertificateDer<'_>,
    chain: &[CertificateDer<'_>],
    names: &ReferenceNames,
    now: UnixTime,
) -> Result<DaneMatch, RecordFailure> {
    let intermediates = chain.get(1..).unwrap_or_default();
    let presented = intermediates
        .iter()
        .enumerate()
        .filter(|(_, c)| association_matches(record, c) == Some(true))
        .map(|(i, c)| (i + 1, c));
    let mut failure = RecordFailure::TrustAnchorNotPresented;
    for (position, ta_cert) in presented {
        let result = webpki::anchor_from_trusted_cert(ta_cert)
            .map_err(|_| RecordFailure::InvalidTrustAnchor)
            .and_then(|anchor| check_anchored(leaf, intermediates, &[anchor], Some(ta_cert), now))
            .and_then(|()| check_name(record, leaf, names, MatchedAt::Presented(position)));
        match result {
            Ok(m) => return Ok(m),
            Err(e) if e.progress() > failure.progress() => failure = e,
            Err(_) => {}
        }
    }
    if record.matching != MatchingType::Full || failure != RecordFailure::TrustAnchorNotPresented {
        return Err(failure);
    }
    // `2 0 0` / `2 1 0`: the record carries the anchor itself (RFC 7671 §5.2.2).
    let ta_cert = CertificateDer::from(record.data.as_slice());
    let anchors: Vec<TrustAnchor<'_>> = match record.selector {
        Selector::FullCert => webpki::anchor_from_trusted_cert(&ta_cert)
            .map(|a| vec![a])
            .map_err(|_| RecordFailure::InvalidTrustAnchor)?,
        Selector::Spki => synthetic_key_anchors(&record.data, chain)?,
        Selector::Unassigned(_) => return Err(RecordFailure::InvalidTrustAnchor),
    };
    let ta_for_dates = (record.selector == Selector::FullCert).then_some(&ta_cert);
    check_anchored(leaf, intermediates, &anchors, ta_for_dates, now)?;
    check_name(record, leaf, names, MatchedAt::Record)
}

fn check_anchored(
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    anchors: &[TrustAnchor<'_>],
    anchor_cert: Option<&CertificateDer<'_>>,
    now: UnixTime,
) -> Result<(), RecordFailure> {
    certificate::validate_path(leaf, intermediates, anchors, now).map_err(RecordFailure::Chain)?;
    if let Some(cert) = anchor_cert {
        let validity = Validity::of(cert).ok_or(RecordFailure::InvalidTrustAnchor)?;
        validity.check(now).map_err(RecordFailure::Chain)?;
    }
    Ok(())
}

fn check_name(
    record: &TlsaRecord,
    leaf: &CertificateDer<'_>,
    names: &ReferenceNames,
    at: MatchedAt,
) -> Result<DaneMatch, RecordFailure> {
    let name =
        certificate::first_matching_name(leaf, names.names()).ok_or(RecordFailure::NameMismatch)?;
    Ok(DaneMatch {
        record: record.clone(),
        at,
        name: Some(name.clone()),
    })
}

/// Anchors for a bare public key (`2 1 0`): webpki finds an issuer by subject name, and a key
/// has none, so offer the key under the issuer name of every presented certificate. The path
/// is accepted only if one of them is really signed by that key.
fn synthetic_key_anchors<'a>(
    spki_der: &'a [u8],
    chain: &'a [CertificateDer<'_>],
) -> Result<Vec<TrustAnchor<'a>>, RecordFailure> {
    let spki_contents = der_sequence_contents(spki_der).ok_or(RecordFailure::InvalidTrustAnchor)?;
    let mut anchors: Vec<TrustAnchor<'a>> = Vec::new();
    for cert in chain {
        let Ok(ee) = webpki::EndEntityCert::try_from(cert) else {
            continue;
        };
        let issuer = ee.issuer().to_vec();
        if anchors
            .iter()
            .any(|a| a.subject.as_ref() == issuer.as_slice())
        {
            continue;
        }
        anchors.push(TrustAnchor {
            subject: issuer.into(),
            subject_public_key_info: spki_contents.into(),
            name_constraints: None,
        });
    }
    if anchors.is_empty() {
        Err(RecordFailure::MalformedLeaf)
    } else {
        Ok(anchors)
    }
}

/// The contents of a DER SEQUENCE (what webpki's `TrustAnchor` holds for an SPKI).
fn der_sequence_contents(der: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = der.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 || rest.len() < n {
            return None;
        }
        let (len_bytes, rest) = rest.split_at(n);
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    (rest.len() == len).then_some(rest)
}

/// Whether the record's association data matches the certificate; `None` if the selector
/// needs the SPKI and the certificate does not parse.
fn association_matches(record: &TlsaRecord, cert: &CertificateDer<'_>) -> Option<bool> {
    let selected: &[u8] = match record.selector {
        Selector::FullCert => cert.as_ref(),
        Selector::Spki => certificate::spki(cert.as_ref())?,
        Selector::Unassigned(_) => return Some(false),
    };
    Some(match record.matching {
        MatchingType::Full => selected == record.data.as_slice(),
        MatchingType::Sha256 => Sha256::digest(selected).as_slice() == record.data.as_slice(),
        MatchingType::Sha512 => Sha512::digest(selected).as_slice() == record.data.as_slice(),
        MatchingType::Unassigned(_) => false,
    })
}

#[cfg(test)]
mod tests;
