//! TLSA records to publish for a mail server, and what is risky about an RRset (RFC 7671 §5,
//! §8, §10; RFC 7672 §3.1, §4).
//!
//! [`plan`] turns the server's certificate chain (or bare public key), the next key of a
//! planned rollover and any other issuing intermediates of the CA into TLSA records:
//!
//! - by default the pair RFC 7672 §3.1 and operators recommend (DANE-TLSA-03): `3 1 1` for the
//!   server's key, which survives renewals that keep the key, and `2 1 1` for its issuer, which
//!   survives renewals with a new key from the same intermediate;
//! - `3 1 1` for the next key, so a key rollover can be pre-published two TTLs ahead
//!   (RFC 7671 §8.1; DANE-OPS-01);
//! - `2 1 1` for each further intermediate given, for CAs that issue from several
//!   (SCENARIOS.md D-02).
//!
//! [`lint`] judges any RRset, generated or published: `3 0 x` breaks at every renewal (D-01),
//! a lone `2 x x` pinning one of Let's Encrypt's several intermediates fails when a renewal
//! picks another (D-02), PKIX usages mean nothing for SMTP (DANE-TLSA-02), full-value records
//! and many records make the answer too large for some senders (DANE-TLSA-06, DANE-OPS-04;
//! D-13). [`zone_lines`] renders records for a zone file.

use std::fmt;

use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256, Sha512};
use x509_parser::extensions::ParsedExtension;

use super::tlsa::{CertUsage, MatchingType, Selector, TlsaRecord};
use crate::certificate;
use crate::name::{DomainName, NameError};
use crate::parsed::Parsed;

/// The most TLSA records per MX host that every sender was seen to handle: Microsoft's
/// outbound DANE failed above about a dozen in July 2024 (DANE-OPS-04; SCENARIOS.md D-13).
pub const MAX_RECORDS: usize = 12;

/// The DNS answer size above which some senders fall back to TCP or fail: the EDNS buffer
/// size of DNS Flag Day 2020 (DANE-TLSA-06).
pub const MAX_ANSWER_BYTES: usize = 1232;

/// Organisations known to issue from several intermediates at random, so that one `2 x x`
/// record covers only some renewals (SCENARIOS.md D-02).
pub const MULTI_INTERMEDIATE_CAS: &[&str] = &["Let's Encrypt"];

/// The (usage, selector, matching type) of a record: what DANE-TLSA-04 groups records by,
/// and what is generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordKind {
    /// Certificate usage: 2 (DANE-TA) or 3 (DANE-EE) can be generated.
    pub usage: CertUsage,
    /// Selector.
    pub selector: Selector,
    /// Matching type.
    pub matching: MatchingType,
}

/// The default kinds: `3 1 1` and `2 1 1` (RFC 7672 §3.1; DANE-TLSA-03).
pub const DEFAULT_KINDS: [RecordKind; 2] = [
    RecordKind {
        usage: CertUsage::DaneEe,
        selector: Selector::Spki,
        matching: MatchingType::Sha256,
    },
    RecordKind {
        usage: CertUsage::DaneTa,
        selector: Selector::Spki,
        matching: MatchingType::Sha256,
    },
];

/// The server's credentials: a certificate chain (leaf first), or a bare public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// A certificate chain, leaf first, as the server sends it (a `fullchain.pem`).
    Chain(Vec<CertificateDer<'static>>),
    /// A DER SubjectPublicKeyInfo (a `PUBLIC KEY` PEM block): only `3 1 x` can be made.
    PublicKey(Vec<u8>),
}

/// What to generate records for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanInput {
    /// The server's current credentials.
    pub current: Credentials,
    /// The next key (or certificate) of a planned rollover (DANE-OPS-01).
    pub next: Vec<Credentials>,
    /// Further issuing intermediates of the CA to pin with `2 x x` (D-02).
    pub issuers: Vec<CertificateDer<'static>>,
    /// The kinds of record to make, e.g. [`DEFAULT_KINDS`].
    pub kinds: Vec<RecordKind>,
}

/// What a generated record pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// The server's current certificate or key (DANE-EE).
    Current,
    /// The next key of a rollover (DANE-EE; DANE-OPS-01).
    Next,
    /// An issuing CA (DANE-TA), by subject name; `current` when it issued the current
    /// certificate.
    Issuer {
        /// The CA's subject, e.g. `CN=R11, O=Let's Encrypt, C=US`.
        subject: String,
        /// Whether it issued the server's current certificate.
        current: bool,
    },
}

/// One record to publish and what it pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedRecord {
    /// The record.
    pub record: TlsaRecord,
    /// What it pins.
    pub role: Role,
}

/// Something risky about records, generated or published.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsaWarning {
    /// `3 0 x` pins the certificate itself, which changes at every renewal even when the key
    /// stays (SCENARIOS.md D-01; DANE-TLSA-03).
    #[error("`{record}` pins the whole certificate, which changes at every renewal even when the key is kept; publish `3 1 1` (the key) instead (D-01)")]
    CertificatePinnedByEe {
        /// The record, `u s m` only.
        record: String,
    },
    /// Usage 0 or 1 has no meaning for SMTP (RFC 7672 §3.1.3; DANE-TLSA-02).
    #[error("`{record}` uses a PKIX usage, which SMTP senders treat as unusable: with only such records they require TLS but cannot authenticate; use 3 or 2 (DANE-TLSA-02)")]
    PkixUsage {
        /// The record, `u s m` only.
        record: String,
    },
    /// A full-value record (`x x 0`) makes the answer large (RFC 7671 §10.1; DANE-TLSA-06).
    #[error("`{record}` carries the whole certificate or key ({bytes} bytes); use matching type 1 (SHA2-256) to keep the answer small (DANE-TLSA-06)")]
    FullValue {
        /// The record, `u s m` only.
        record: String,
        /// The size of the association data.
        bytes: usize,
    },
    /// A `2 x x` for one intermediate of a CA that issues from several (SCENARIOS.md D-02).
    #[error("the only DANE-TA record pins {issuer}, one of {ca}'s several issuing intermediates; a renewal from another one will not match: pin each active intermediate (--issuer FILE for each), or rely on `3 1 1` with a key kept across renewals (D-02)")]
    SingleIntermediate {
        /// The pinned intermediate.
        issuer: String,
        /// The CA organisation.
        ca: String,
    },
    /// More records than every sender handles (DANE-OPS-04; SCENARIOS.md D-13).
    #[error("{count} TLSA records for one host; some senders (Microsoft, 2024) fail above {MAX_RECORDS}: remove stale records (DANE-OPS-04, D-13)")]
    TooManyRecords {
        /// The number of records.
        count: usize,
    },
    /// The answer is larger than the EDNS buffer many resolvers use (DANE-TLSA-06; D-13).
    #[error("the TLSA answer for {owner} is about {bytes} bytes with one signature, above {MAX_ANSWER_BYTES}: resolvers must retry over TCP, and some senders fail; use fewer or SHA2-256 records (DANE-TLSA-06, D-13)")]
    AnswerTooLarge {
        /// The owner name.
        owner: String,
        /// The estimated size of the DNS response.
        bytes: usize,
    },
    /// No next key is pre-published (RFC 7671 §8.1; DANE-OPS-01; SCENARIOS.md D-14).
    #[error("no record for a next key: before changing the server's key, publish its `3 1 1` (--next-key FILE) at least two TTLs ahead (DANE-OPS-01)")]
    NoNextKey,
    /// A DANE-TA kind was asked for but the input has no issuer certificate.
    #[error("no `{record}` record: the input has no issuer certificate; give the whole chain (fullchain.pem) or --issuer FILE")]
    NoIssuer {
        /// The kind asked for, `u s m`.
        record: String,
    },
    /// The second certificate of the chain did not issue the first.
    #[error("the second certificate of the chain ({issuer}) did not issue the first; put the chain in order, leaf first")]
    ChainOutOfOrder {
        /// The second certificate's subject.
        issuer: String,
    },
    /// The next key is the current key.
    #[error("the next key is the current key; a rollover needs a new key")]
    NextKeyIsCurrent,
}

/// Why records could not be generated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The chain is empty.
    #[error("no certificate or public key in the input")]
    Empty,
    /// A certificate does not parse.
    #[error("certificate {position} of the input is not a valid X.509 certificate")]
    BadCertificate {
        /// Its position in the chain, from 1.
        position: usize,
    },
    /// The first certificate is a CA: the file is not a server chain, or not leaf first.
    #[error("the first certificate ({subject}) is a CA certificate; give the server's certificate first (fullchain.pem, leaf first)")]
    LeafIsCa {
        /// Its subject.
        subject: String,
    },
    /// A given `--issuer` certificate is not a CA.
    #[error("issuer certificate {subject} is not a CA certificate")]
    IssuerNotCa {
        /// Its subject.
        subject: String,
    },
    /// A DANE-TA kind cannot pin a bare key's issuer, and a PKIX or unassigned usage is not
    /// generated.
    #[error("cannot generate `{record}`: only usages 2 (DANE-TA) and 3 (DANE-EE) with selector 0 or 1 and matching type 0, 1 or 2 are made")]
    UnsupportedKind {
        /// The kind, `u s m`.
        record: String,
    },
    /// `3 0 x` asked for a bare key.
    #[error("`{record}` needs the certificate, and the input is a bare public key")]
    NeedsCertificate {
        /// The kind, `u s m`.
        record: String,
    },
}

impl RecordKind {
    /// The kind of an existing record.
    pub fn of(record: &TlsaRecord) -> Self {
        Self {
            usage: record.usage,
            selector: record.selector,
            matching: record.matching,
        }
    }

    /// Parses `u s m`, e.g. `3 1 1`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut fields = text.split_whitespace().map(|f| f.parse::<u8>().ok());
        let (Some(Some(u)), Some(Some(s)), Some(Some(m)), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return None;
        };
        Some(Self {
            usage: u.into(),
            selector: s.into(),
            matching: m.into(),
        })
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            u8::from(self.usage),
            u8::from(self.selector),
            u8::from(self.matching)
        )
    }
}

/// Generates the records for `input`, then [`lint`]s them.
///
/// Records come in this order: the current key, the next key, then the issuers (the current
/// one first). Duplicates are dropped.
///
/// # Errors
///
/// A [`PlanError`] for unusable input: no certificate, a certificate that does not parse, a CA
/// given as the server's certificate, or a kind that cannot be made from the input.
pub fn plan(input: &PlanInput) -> Result<Parsed<Vec<PlannedRecord>, TlsaWarning>, PlanError> {
    let mut warnings = Vec::new();
    for kind in &input.kinds {
        let generated = matches!(kind.usage, CertUsage::DaneEe | CertUsage::DaneTa)
            && matches!(kind.selector, Selector::FullCert | Selector::Spki)
            && matches!(
                kind.matching,
                MatchingType::Full | MatchingType::Sha256 | MatchingType::Sha512
            );
        if !generated {
            return Err(PlanError::UnsupportedKind {
                record: kind.to_string(),
            });
        }
    }
    let current = Server::from_credentials(&input.current)?;
    let mut records: Vec<PlannedRecord> = Vec::new();
    let mut push = |record: TlsaRecord, role: Role| {
        if !records.iter().any(|r| r.record == record) {
            records.push(PlannedRecord { record, role });
        }
    };
    let ee_kinds = input.kinds.iter().filter(|k| k.usage == CertUsage::DaneEe);
    for kind in ee_kinds.clone() {
        push(current.association(*kind)?, Role::Current);
    }
    for next in &input.next {
        let next = Server::from_credentials(next)?;
        if next.spki == current.spki {
            warnings.push(TlsaWarning::NextKeyIsCurrent);
        }
        for kind in ee_kinds.clone() {
            push(next.association(*kind)?, Role::Next);
        }
    }
    let mut issuers: Vec<(CertificateDer<'static>, bool)> = Vec::new();
    if let Some(issuer) = current.issuer.clone() {
        if current.issued_by(&issuer) {
            issuers.push((issuer, true));
        } else {
            warnings.push(TlsaWarning::ChainOutOfOrder {
                issuer: subject_of(&issuer),
            });
        }
    }
    for extra in &input.issuers {
        if !is_ca(extra).ok_or(PlanError::BadCertificate { position: 1 })? {
            return Err(PlanError::IssuerNotCa {
                subject: subject_of(extra),
            });
        }
        let current_issuer = current.issued_by(extra);
        issuers.push((extra.clone(), current_issuer));
    }
    for kind in input.kinds.iter().filter(|k| k.usage == CertUsage::DaneTa) {
        if issuers.is_empty() {
            warnings.push(TlsaWarning::NoIssuer {
                record: kind.to_string(),
            });
        }
        for (issuer, is_current) in &issuers {
            let record = associate(*kind, issuer.as_ref(), certificate::spki(issuer.as_ref()))
                .ok_or(PlanError::BadCertificate { position: 2 })?;
            push(
                record,
                Role::Issuer {
                    subject: subject_of(issuer),
                    current: *is_current,
                },
            );
        }
    }
    let issuer_certs: Vec<&CertificateDer<'_>> = issuers.iter().map(|(c, _)| c).collect();
    let plain: Vec<TlsaRecord> = records.iter().map(|r| r.record.clone()).collect();
    warnings.extend(lint(&plain, &issuer_certs));
    if input.next.is_empty() && input.kinds.iter().any(|k| k.usage == CertUsage::DaneEe) {
        warnings.push(TlsaWarning::NoNextKey);
    }
    Ok(Parsed {
        value: records,
        warnings,
    })
}

/// Judges an RRset as senders will see it: `3 0 x` (D-01), PKIX usages (DANE-TLSA-02),
/// full values (DANE-TLSA-06), a lone intermediate of a multi-intermediate CA (D-02; the
/// `issuers` are the certificates the `2 x x` records may pin), and the record count
/// (DANE-OPS-04). The answer size needs the owner name: see [`answer_size_warning`].
pub fn lint(records: &[TlsaRecord], issuers: &[&CertificateDer<'_>]) -> Vec<TlsaWarning> {
    let mut warnings = Vec::new();
    for record in records {
        let kind = kind_of(record);
        match (record.usage, record.selector) {
            (CertUsage::DaneEe, Selector::FullCert) => {
                warnings.push(TlsaWarning::CertificatePinnedByEe { record: kind });
            }
            (CertUsage::PkixTa | CertUsage::PkixEe, _) => {
                warnings.push(TlsaWarning::PkixUsage { record: kind });
            }
            _ if record.matching == MatchingType::Full => warnings.push(TlsaWarning::FullValue {
                record: kind,
                bytes: record.data.len(),
            }),
            _ => {}
        }
    }
    let pinned: Vec<&CertificateDer<'_>> = issuers
        .iter()
        .copied()
        .filter(|cert| {
            records
                .iter()
                .any(|r| r.usage == CertUsage::DaneTa && pins(r, cert))
        })
        .collect();
    if let [only] = pinned.as_slice() {
        if let Some(ca) =
            organisation_of(only).filter(|org| MULTI_INTERMEDIATE_CAS.iter().any(|m| m == org))
        {
            warnings.push(TlsaWarning::SingleIntermediate {
                issuer: subject_of(only),
                ca,
            });
        }
    }
    if records.len() > MAX_RECORDS {
        warnings.push(TlsaWarning::TooManyRecords {
            count: records.len(),
        });
    }
    warnings
}

/// The estimated size of the DNS response for `records` at `owner`, with one RRSIG, and a
/// warning when it exceeds [`MAX_ANSWER_BYTES`] (DANE-TLSA-06; D-13).
///
/// The estimate: a 12-byte header, the question (owner name in wire form + 4), each record
/// with a compressed owner (2 + 10 + RDATA), one ECDSA P-256 RRSIG (about 100 bytes with a
/// compressed signer name), and an 11-byte EDNS OPT record.
pub fn answer_size_warning(owner: &DomainName, records: &[TlsaRecord]) -> Option<TlsaWarning> {
    let bytes = estimated_answer_size(owner, records);
    (bytes > MAX_ANSWER_BYTES).then(|| TlsaWarning::AnswerTooLarge {
        owner: owner.to_string(),
        bytes,
    })
}

/// See [`answer_size_warning`].
pub fn estimated_answer_size(owner: &DomainName, records: &[TlsaRecord]) -> usize {
    const HEADER: usize = 12;
    const RRSIG: usize = 100;
    const OPT: usize = 11;
    let owner_wire = owner.as_str().len() + 2;
    let answers: usize = records.iter().map(|r| 2 + 10 + 3 + r.data.len()).sum();
    HEADER + owner_wire + 4 + answers + RRSIG + OPT
}

/// The owner name of the TLSA records for an SMTP server: `_25._tcp.<host>` (RFC 7672 §2.2.3).
///
/// # Errors
///
/// Fails when the name would be too long.
pub fn owner(host: &DomainName, port: u16) -> Result<DomainName, NameError> {
    host.prepend(&format!("_{port}._tcp"))
}

/// Zone-file lines for the records, each preceded by a comment saying what it pins:
///
/// ```text
/// ; server key (current)
/// _25._tcp.mx.example.com. 3600 IN TLSA 3 1 1 0C72AC70…
/// ```
pub fn zone_lines(owner: &DomainName, ttl: Option<u32>, records: &[PlannedRecord]) -> String {
    let ttl = ttl.map(|t| format!(" {t}")).unwrap_or_default();
    let mut out = String::new();
    for planned in records {
        let comment = match &planned.role {
            Role::Current => "the server's current key".to_owned(),
            Role::Next => "the next key, pre-published for a rollover (DANE-OPS-01)".to_owned(),
            Role::Issuer {
                subject,
                current: true,
            } => format!("issuer of the current certificate: {subject}"),
            Role::Issuer {
                subject,
                current: false,
            } => format!("other issuing CA: {subject}"),
        };
        out.push_str(&format!(
            "; {comment}\n{}{ttl} IN TLSA {}\n",
            owner.to_fqdn(),
            planned.record
        ));
    }
    out
}

/// The server's leaf (if any), its key, and the next certificate of its chain.
struct Server {
    leaf: Option<CertificateDer<'static>>,
    spki: Vec<u8>,
    issuer: Option<CertificateDer<'static>>,
}

impl Server {
    fn from_credentials(credentials: &Credentials) -> Result<Self, PlanError> {
        match credentials {
            Credentials::PublicKey(spki) if spki.is_empty() => Err(PlanError::Empty),
            Credentials::PublicKey(spki) => Ok(Self {
                leaf: None,
                spki: spki.clone(),
                issuer: None,
            }),
            Credentials::Chain(chain) => {
                let leaf = chain.first().ok_or(PlanError::Empty)?;
                for (i, cert) in chain.iter().enumerate() {
                    if certificate::spki(cert.as_ref()).is_none() {
                        return Err(PlanError::BadCertificate { position: i + 1 });
                    }
                }
                if is_ca(leaf) == Some(true) {
                    return Err(PlanError::LeafIsCa {
                        subject: subject_of(leaf),
                    });
                }
                let spki = certificate::spki(leaf.as_ref())
                    .ok_or(PlanError::BadCertificate { position: 1 })?
                    .to_vec();
                Ok(Self {
                    leaf: Some(leaf.clone()),
                    spki,
                    issuer: chain.get(1).cloned(),
                })
            }
        }
    }

    fn association(&self, kind: RecordKind) -> Result<TlsaRecord, PlanError> {
        match (kind.selector, &self.leaf) {
            (Selector::FullCert, None) => Err(PlanError::NeedsCertificate {
                record: kind.to_string(),
            }),
            (Selector::FullCert, Some(leaf)) => associate(kind, leaf.as_ref(), None)
                .ok_or(PlanError::BadCertificate { position: 1 }),
            _ => associate(kind, &[], Some(&self.spki)).ok_or(PlanError::Empty),
        }
    }

    fn issued_by(&self, issuer: &CertificateDer<'_>) -> bool {
        let Some(leaf) = &self.leaf else {
            return false;
        };
        let Ok((_, leaf)) = x509_parser::parse_x509_certificate(leaf.as_ref()) else {
            return false;
        };
        let Ok((_, ca)) = x509_parser::parse_x509_certificate(issuer.as_ref()) else {
            return false;
        };
        if leaf.issuer().as_raw() != ca.subject().as_raw() {
            return false;
        }
        // Same name: the key identifiers, when both are present, must agree too.
        let authority = leaf
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref(),
                _ => None,
            });
        let subject = ca
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(ski) => Some(ski),
                _ => None,
            });
        match (authority, subject) {
            (Some(a), Some(s)) => a.0 == s.0,
            _ => true,
        }
    }
}

/// The record of `kind` for a certificate (`cert`, for selector 0) or key (`spki`).
fn associate(kind: RecordKind, cert: &[u8], spki: Option<&[u8]>) -> Option<TlsaRecord> {
    let selected = match kind.selector {
        Selector::FullCert => cert,
        Selector::Spki => spki?,
        Selector::Unassigned(_) => return None,
    };
    let data = match kind.matching {
        MatchingType::Full => selected.to_vec(),
        MatchingType::Sha256 => Sha256::digest(selected).to_vec(),
        MatchingType::Sha512 => Sha512::digest(selected).to_vec(),
        MatchingType::Unassigned(_) => return None,
    };
    Some(TlsaRecord {
        usage: kind.usage,
        selector: kind.selector,
        matching: kind.matching,
        data,
    })
}

/// Whether `record`'s association data is that of `cert`.
fn pins(record: &TlsaRecord, cert: &CertificateDer<'_>) -> bool {
    let kind = RecordKind {
        usage: record.usage,
        selector: record.selector,
        matching: record.matching,
    };
    associate(kind, cert.as_ref(), certificate::spki(cert.as_ref()))
        .is_some_and(|r| r.data == record.data)
}

fn kind_of(record: &TlsaRecord) -> String {
    RecordKind {
        usage: record.usage,
        selector: record.selector,
        matching: record.matching,
    }
    .to_string()
}

fn is_ca(cert: &CertificateDer<'_>) -> Option<bool> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    Some(parsed.is_ca())
}

/// The subject of a certificate, RFC 4514 style, for messages.
pub fn subject_of(cert: &CertificateDer<'_>) -> String {
    x509_parser::parse_x509_certificate(cert.as_ref())
        .map(|(_, c)| c.subject().to_string())
        .unwrap_or_else(|_| "(unparsable certificate)".to_owned())
}

fn organisation_of(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let org = parsed.subject().iter_organization().next()?;
    org.as_str().ok().map(str::to_owned)
}

#[cfg(test)]
mod tests;
