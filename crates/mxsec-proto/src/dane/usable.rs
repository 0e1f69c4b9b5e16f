//! Which TLSA records a DANE SMTP client may use, and what a secure RRset means.
//!
//! A record is *unusable* (RFC 6698 §4.1, RFC 7671 §9; DANE-TLSA-01) when its usage, selector
//! or matching type is unknown, when a digest has the wrong length (SHA2-256: 32 octets,
//! SHA2-512: 64), or when a full value (matching type 0) is not a DER certificate (selector 0)
//! or SubjectPublicKeyInfo (selector 1). PKIX-TA(0) and PKIX-EE(1) have no defined meaning for
//! SMTP and are unusable too (RFC 7672 §3.1.3; DANE-TLSA-02), as in Postfix.
//!
//! Digest algorithm agility (RFC 7671 §9, RFC 7672 §5; DANE-TLSA-05): for each (usage,
//! selector) pair, the client keeps the Full(0) records plus only the records of the strongest
//! digest present (SHA2-512 over SHA2-256), so that a broken `3 1 2` is not rescued by a
//! matching `3 1 1`. Malformed records are dropped first and take no part in agility.
//!
//! The outcome for a DNSSEC-secure RRset ([`classify`]) is one of: usable records (DANE
//! authentication is mandatory, DANE-DISC-04), records that are all unusable (TLS is mandatory
//! but cannot be authenticated, DANE-DISC-05), or no records at all. Every dropped record comes
//! with its reason, for the checker.

use std::fmt;

use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::tlsa::{CertUsage, MatchingType, Selector, TlsaRecord};

/// Why one TLSA record is not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnusableReason {
    /// PKIX-TA(0) or PKIX-EE(1): undefined for SMTP (RFC 7672 §3.1.3; DANE-TLSA-02).
    PkixUsage(CertUsage),
    /// A certificate usage other than 0-3 (RFC 6698 §4.1; DANE-TLSA-01).
    UnknownUsage(u8),
    /// A selector other than 0-1 (DANE-TLSA-01).
    UnknownSelector(u8),
    /// A matching type other than 0-2 (DANE-TLSA-01).
    UnknownMatchingType(u8),
    /// A digest whose length is not the algorithm's output length (RFC 7671 §9; DANE-TLSA-01).
    DigestLength {
        /// The matching type (SHA2-256 or SHA2-512).
        matching: MatchingType,
        /// The length the algorithm produces.
        expected: usize,
        /// The length published.
        actual: usize,
    },
    /// A `x 0 0` value that is not one DER certificate (DANE-TLSA-01).
    NotACertificate,
    /// A `x 1 0` value that is not one DER SubjectPublicKeyInfo (DANE-TLSA-01).
    NotAPublicKey,
    /// Ignored by digest agility: the same (usage, selector) also has a record with a stronger
    /// digest, which alone is used (RFC 7671 §9; DANE-TLSA-05).
    WeakerDigest {
        /// The stronger matching type that is used instead.
        stronger: MatchingType,
    },
}

impl UnusableReason {
    /// Whether the record itself is broken (as opposed to well-formed but set aside by PKIX
    /// usage rules or digest agility).
    pub fn is_malformed(self) -> bool {
        !matches!(self, Self::PkixUsage(_) | Self::WeakerDigest { .. })
    }
}

impl fmt::Display for UnusableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PkixUsage(u) => write!(
                f,
                "certificate usage {} (PKIX) has no defined meaning for SMTP; use 3 (DANE-EE) \
                 or 2 (DANE-TA)",
                u8::from(*u)
            ),
            Self::UnknownUsage(n) => write!(f, "unknown certificate usage {n}"),
            Self::UnknownSelector(n) => write!(f, "unknown selector {n}"),
            Self::UnknownMatchingType(n) => write!(f, "unknown matching type {n}"),
            Self::DigestLength {
                matching,
                expected,
                actual,
            } => write!(
                f,
                "matching type {} needs a {expected}-octet digest, the record has {actual} octets",
                u8::from(*matching)
            ),
            Self::NotACertificate => {
                f.write_str("selector 0 with matching type 0 needs a DER certificate")
            }
            Self::NotAPublicKey => {
                f.write_str("selector 1 with matching type 0 needs a DER SubjectPublicKeyInfo")
            }
            Self::WeakerDigest { stronger } => write!(
                f,
                "ignored: a record with the same usage and selector uses the stronger matching \
                 type {}",
                u8::from(*stronger)
            ),
        }
    }
}

/// A TLSA record that was set aside, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedRecord {
    /// The record as published.
    pub record: TlsaRecord,
    /// Why it is not used.
    pub reason: UnusableReason,
}

/// A non-empty set of usable TLSA records, after digest agility.
///
/// Only [`classify`] makes one, so matching can never see an unfiltered record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsableSet {
    records: Vec<TlsaRecord>,
}

impl UsableSet {
    /// The usable records, in the order of the RRset.
    pub fn records(&self) -> &[TlsaRecord] {
        &self.records
    }

    /// The number of usable records (at least one).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Always false: a usable set has at least one record. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// What a DNSSEC-secure TLSA RRset means for delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RrsetUsability {
    /// At least one usable record: STARTTLS and DANE authentication are mandatory
    /// (RFC 7672 §2.2; DANE-DISC-04).
    Usable(UsableSet),
    /// Records exist, but none is usable: TLS is still mandatory, authentication impossible
    /// ("mandatory unauthenticated TLS", RFC 7672 §2.2, RFC 7671 §10.3; DANE-DISC-05).
    AllUnusable,
    /// No records: DANE does not apply (DANE-DISC-06).
    Empty,
}

/// The classification of an RRset: its meaning and every record that was set aside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    /// What the RRset means for delivery.
    pub usability: RrsetUsability,
    /// The records not used, each with its reason, in RRset order.
    pub dropped: Vec<DroppedRecord>,
}

/// Checks one record on its own (everything except digest agility, which needs the set).
///
/// # Errors
///
/// The [`UnusableReason`] when the record cannot be used (DANE-TLSA-01, DANE-TLSA-02).
pub fn check_record(record: &TlsaRecord) -> Result<(), UnusableReason> {
    match record.usage {
        CertUsage::DaneTa | CertUsage::DaneEe => {}
        u @ (CertUsage::PkixTa | CertUsage::PkixEe) => return Err(UnusableReason::PkixUsage(u)),
        CertUsage::Unassigned(n) => return Err(UnusableReason::UnknownUsage(n)),
    }
    if let Selector::Unassigned(n) = record.selector {
        return Err(UnusableReason::UnknownSelector(n));
    }
    let expected = match record.matching {
        MatchingType::Full => return check_full_value(record),
        MatchingType::Sha256 => 32,
        MatchingType::Sha512 => 64,
        MatchingType::Unassigned(n) => return Err(UnusableReason::UnknownMatchingType(n)),
    };
    if record.data.len() == expected {
        Ok(())
    } else {
        Err(UnusableReason::DigestLength {
            matching: record.matching,
            expected,
            actual: record.data.len(),
        })
    }
}

/// Classifies a DNSSEC-secure TLSA RRset (RFC 7672 §2.2; DANE-DISC-04/05/06, DANE-TLSA-01/02/05).
///
/// The caller passes records only from a secure answer ([`crate::dnssec::Dnssec::require_secure`]):
/// insecure or indeterminate TLSA RRsets are not used at all (DANE-DNS-05). The checker may
/// classify any RRset to show what a sender would do with it once it is signed.
pub fn classify(records: &[TlsaRecord]) -> Classification {
    let mut dropped = Vec::new();
    let mut wellformed = Vec::new();
    for record in records {
        match check_record(record) {
            Ok(()) => wellformed.push(record),
            Err(reason) => dropped.push((record, reason)),
        }
    }
    let strongest = |usage: CertUsage, selector: Selector| -> Option<MatchingType> {
        wellformed
            .iter()
            .filter(|r| r.usage == usage && r.selector == selector)
            .filter_map(|r| digest_strength(r.matching).map(|s| (s, r.matching)))
            .max_by_key(|(s, _)| *s)
            .map(|(_, m)| m)
    };
    let mut usable = Vec::new();
    for record in &wellformed {
        let weaker_than = strongest(record.usage, record.selector).filter(|best| {
            digest_strength(record.matching).is_some_and(|s| Some(s) < digest_strength(*best))
        });
        match weaker_than {
            Some(stronger) => dropped.push((record, UnusableReason::WeakerDigest { stronger })),
            None => usable.push((*record).clone()),
        }
    }
    // Report dropped records in RRset order.
    let mut dropped: Vec<DroppedRecord> = dropped
        .into_iter()
        .map(|(record, reason)| DroppedRecord {
            record: record.clone(),
            reason,
        })
        .collect();
    let position = |r: &TlsaRecord| records.iter().position(|x| x == r);
    dropped.sort_by_key(|d| position(&d.record));
    let usability = if !usable.is_empty() {
        RrsetUsability::Usable(UsableSet { records: usable })
    } else if records.is_empty() {
        RrsetUsability::Empty
    } else {
        RrsetUsability::AllUnusable
    };
    Classification { usability, dropped }
}

/// Digest preference for agility: `None` for Full(0), which is never set aside.
fn digest_strength(matching: MatchingType) -> Option<u8> {
    match matching {
        MatchingType::Sha256 => Some(1),
        MatchingType::Sha512 => Some(2),
        MatchingType::Full | MatchingType::Unassigned(_) => None,
    }
}

fn check_full_value(record: &TlsaRecord) -> Result<(), UnusableReason> {
    match record.selector {
        Selector::FullCert => match x509_parser::parse_x509_certificate(&record.data) {
            Ok(([], _)) => Ok(()),
            _ => Err(UnusableReason::NotACertificate),
        },
        Selector::Spki => match SubjectPublicKeyInfo::from_der(&record.data) {
            Ok(([], _)) => Ok(()),
            _ => Err(UnusableReason::NotAPublicKey),
        },
        Selector::Unassigned(n) => Err(UnusableReason::UnknownSelector(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(u: u8, s: u8, m: u8, data: Vec<u8>) -> TlsaRecord {
        TlsaRecord {
            usage: u.into(),
            selector: s.into(),
            matching: m.into(),
            data,
        }
    }

    fn usable(c: &Classification) -> Vec<TlsaRecord> {
        match &c.usability {
            RrsetUsability::Usable(set) => set.records().to_vec(),
            other => panic!("expected usable, got {other:?}"),
        }
    }

    fn cert_and_spki() -> (Vec<u8>, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["mx.example.test".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (
            cert.der().to_vec(),
            rcgen::PublicKeyData::subject_public_key_info(&key),
        )
    }

    #[test]
    fn dane_tlsa_01_unknown_fields_and_bad_lengths_are_unusable() {
        let c = classify(&[
            rec(4, 1, 1, vec![0; 32]),
            rec(3, 2, 1, vec![0; 32]),
            rec(3, 1, 3, vec![0; 32]),
            rec(3, 1, 1, vec![0; 31]),
            rec(3, 1, 2, vec![0; 32]),
            rec(3, 1, 1, vec![]),
        ]);
        assert_eq!(c.usability, RrsetUsability::AllUnusable);
        let reasons: Vec<_> = c.dropped.iter().map(|d| d.reason).collect();
        assert_eq!(
            reasons,
            vec![
                UnusableReason::UnknownUsage(4),
                UnusableReason::UnknownSelector(2),
                UnusableReason::UnknownMatchingType(3),
                UnusableReason::DigestLength {
                    matching: MatchingType::Sha256,
                    expected: 32,
                    actual: 31
                },
                UnusableReason::DigestLength {
                    matching: MatchingType::Sha512,
                    expected: 64,
                    actual: 32
                },
                UnusableReason::DigestLength {
                    matching: MatchingType::Sha256,
                    expected: 32,
                    actual: 0
                },
            ]
        );
        assert!(reasons.iter().all(|r| r.is_malformed()));
    }

    #[test]
    fn dane_tlsa_01_full_values_must_parse_as_certificate_or_spki() {
        let (cert, spki) = cert_and_spki();
        let c = classify(&[
            rec(3, 0, 0, cert.clone()),
            rec(3, 1, 0, spki.clone()),
            rec(2, 0, 0, spki.clone()),
            rec(2, 1, 0, cert.clone()),
            rec(2, 0, 0, [cert.as_slice(), &[0]].concat()),
        ]);
        assert_eq!(usable(&c), vec![rec(3, 0, 0, cert), rec(3, 1, 0, spki)]);
        let reasons: Vec<_> = c.dropped.iter().map(|d| d.reason).collect();
        assert_eq!(
            reasons,
            vec![
                UnusableReason::NotACertificate,
                UnusableReason::NotAPublicKey,
                UnusableReason::NotACertificate
            ]
        );
    }

    #[test]
    fn dane_tlsa_02_pkix_usages_are_unusable_for_smtp() {
        let c = classify(&[rec(0, 1, 1, vec![0; 32]), rec(1, 1, 1, vec![0; 32])]);
        assert_eq!(c.usability, RrsetUsability::AllUnusable);
        assert_eq!(
            c.dropped[0].reason,
            UnusableReason::PkixUsage(CertUsage::PkixTa)
        );
        assert_eq!(
            c.dropped[1].reason,
            UnusableReason::PkixUsage(CertUsage::PkixEe)
        );
        assert!(!c.dropped[0].reason.is_malformed());
    }

    #[test]
    fn dane_disc_05_all_unusable_differs_from_empty() {
        assert_eq!(classify(&[]).usability, RrsetUsability::Empty);
        assert_eq!(
            classify(&[rec(1, 1, 1, vec![0; 32])]).usability,
            RrsetUsability::AllUnusable
        );
    }

    #[test]
    fn dane_tlsa_05_strongest_digest_wins_per_usage_and_selector() {
        let ee256 = rec(3, 1, 1, vec![1; 32]);
        let ee512 = rec(3, 1, 2, vec![2; 64]);
        let ee_full_cert_256 = rec(3, 0, 1, vec![3; 32]);
        let ta256 = rec(2, 1, 1, vec![4; 32]);
        let c = classify(&[
            ee256.clone(),
            ee512.clone(),
            ee_full_cert_256.clone(),
            ta256.clone(),
        ]);
        // The mismatching `3 1 2` cannot be rescued by the `3 1 1`: only `3 1 2` is used.
        assert_eq!(usable(&c), vec![ee512, ee_full_cert_256, ta256]);
        assert_eq!(
            c.dropped,
            vec![DroppedRecord {
                record: ee256,
                reason: UnusableReason::WeakerDigest {
                    stronger: MatchingType::Sha512
                }
            }]
        );
    }

    #[test]
    fn dane_tlsa_05_full_records_survive_agility_and_malformed_digests_do_not_count() {
        let (_, spki) = cert_and_spki();
        let full = rec(3, 1, 0, spki);
        let ee256 = rec(3, 1, 1, vec![1; 32]);
        let broken512 = rec(3, 1, 2, vec![2; 63]);
        let c = classify(&[full.clone(), ee256.clone(), broken512]);
        assert_eq!(usable(&c), vec![full, ee256]);
        assert_eq!(c.dropped.len(), 1);
        assert!(c.dropped[0].reason.is_malformed());
    }
}
