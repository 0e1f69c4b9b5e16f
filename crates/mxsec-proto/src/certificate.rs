//! X.509 facts shared by DANE-TA and PKIX (MTA-STS) verification: path validation with
//! rustls-webpki, reference-identifier checks, validity dates, and the classification of
//! certificate failures into RFC 8460 result types.
//!
//! Name checks follow RFC 9525 (STT-07): DNS-ID only (subjectAltName dNSName, never the
//! subject CN), and `*` only as the complete left-most label, matching exactly one label.
//! rustls-webpki implements exactly that. Time is always a parameter.

use std::fmt;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, DnsName, ServerName, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use crate::name::DomainName;
use crate::tlsrpt::result_type::ResultType;

/// Why a certificate path does not validate, classified from rustls-webpki's error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainError {
    /// A certificate on the path has expired.
    Expired {
        /// Its notAfter time.
        not_after: UnixTime,
    },
    /// A certificate on the path is not valid yet.
    NotYetValid {
        /// Its notBefore time.
        not_before: UnixTime,
    },
    /// No path leads from the leaf to a trusted anchor (unknown issuer, missing
    /// intermediate, or a self-signed leaf).
    UnknownIssuer,
    /// A signature on the path does not verify, or uses an unsupported algorithm.
    BadSignature,
    /// A CA certificate is presented as the server certificate.
    CaUsedAsEndEntity,
    /// A basic, path-length or name constraint of an issuer is violated.
    ConstraintViolated,
    /// The leaf's extended key usage excludes TLS server authentication.
    NotForServerAuth,
    /// A certificate on the path is not valid DER or uses an unsupported feature.
    Malformed,
    /// Any other rejection by the path validator.
    Unclassified,
}

impl ChainError {
    /// Classifies a rustls-webpki path-building error.
    pub fn from_webpki(error: &webpki::Error) -> Self {
        use webpki::Error as E;
        match error {
            E::CertExpired { not_after, .. } => Self::Expired {
                not_after: *not_after,
            },
            E::CertNotValidYet { not_before, .. } => Self::NotYetValid {
                not_before: *not_before,
            },
            E::UnknownIssuer => Self::UnknownIssuer,
            E::InvalidSignatureForPublicKey
            | E::UnsupportedSignatureAlgorithmContext(_)
            | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
            | E::SignatureAlgorithmMismatch => Self::BadSignature,
            E::CaUsedAsEndEntity => Self::CaUsedAsEndEntity,
            E::EndEntityUsedAsCa
            | E::PathLenConstraintViolated
            | E::NameConstraintViolation
            | E::MaximumPathDepthExceeded => Self::ConstraintViolated,
            E::RequiredEkuNotFoundContext(_) => Self::NotForServerAuth,
            E::BadDer
            | E::BadDerTime
            | E::TrailingData(_)
            | E::ExtensionValueInvalid
            | E::InvalidCertValidity
            | E::InvalidSerialNumber
            | E::MalformedExtensions
            | E::MalformedNameConstraint
            | E::UnsupportedCertVersion
            | E::UnsupportedCriticalExtension
            | E::EmptyEkuExtension => Self::Malformed,
            _ => Self::Unclassified,
        }
    }

    /// The RFC 8460 §4.3.1 result type (RPT-RES-01, RPT-RES-04).
    pub fn result_type(self) -> ResultType {
        match self {
            Self::Expired { .. } => ResultType::CertificateExpired,
            Self::UnknownIssuer
            | Self::BadSignature
            | Self::CaUsedAsEndEntity
            | Self::ConstraintViolated => ResultType::CertificateNotTrusted,
            Self::NotYetValid { .. }
            | Self::NotForServerAuth
            | Self::Malformed
            | Self::Unclassified => ResultType::ValidationFailure,
        }
    }

    /// A stable code for RFC 8460 `failure-reason-code` (RPT-RES-04).
    pub fn reason_code(self) -> &'static str {
        match self {
            Self::Expired { .. } => "certificate-expired",
            Self::NotYetValid { .. } => "certificate-not-yet-valid",
            Self::UnknownIssuer => "unknown-issuer",
            Self::BadSignature => "bad-signature",
            Self::CaUsedAsEndEntity => "ca-used-as-end-entity",
            Self::ConstraintViolated => "constraint-violated",
            Self::NotForServerAuth => "not-for-server-auth",
            Self::Malformed => "malformed-certificate",
            Self::Unclassified => "path-validation-failed",
        }
    }
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Expired { not_after } => write!(
                f,
                "a certificate in the chain expired at {} (Unix time)",
                not_after.as_secs()
            ),
            Self::NotYetValid { not_before } => write!(
                f,
                "a certificate in the chain is not valid before {} (Unix time)",
                not_before.as_secs()
            ),
            Self::UnknownIssuer => f.write_str(
                "the chain does not lead to a trusted issuer (missing intermediate, unknown CA \
                 or self-signed certificate)",
            ),
            Self::BadSignature => {
                f.write_str("a signature in the chain is invalid or uses an unsupported algorithm")
            }
            Self::CaUsedAsEndEntity => f.write_str("the server certificate is a CA certificate"),
            Self::ConstraintViolated => {
                f.write_str("the chain violates a basic, path-length or name constraint")
            }
            Self::NotForServerAuth => f.write_str(
                "the server certificate's extended key usage does not allow TLS server \
                 authentication",
            ),
            Self::Malformed => f.write_str("a certificate in the chain is malformed"),
            Self::Unclassified => f.write_str("the certificate path does not validate"),
        }
    }
}

/// The validity window of a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    /// notBefore.
    pub not_before: UnixTime,
    /// notAfter.
    pub not_after: UnixTime,
}

impl Validity {
    /// Reads the validity window of a DER certificate; `None` if it does not parse.
    pub fn of(cert: &CertificateDer<'_>) -> Option<Self> {
        let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
        let v = parsed.validity();
        Some(Self {
            not_before: unix_time(v.not_before.timestamp()),
            not_after: unix_time(v.not_after.timestamp()),
        })
    }

    /// Checks `now` against the window.
    ///
    /// # Errors
    ///
    /// [`ChainError::Expired`] or [`ChainError::NotYetValid`].
    pub fn check(&self, now: UnixTime) -> Result<(), ChainError> {
        if now.as_secs() > self.not_after.as_secs() {
            Err(ChainError::Expired {
                not_after: self.not_after,
            })
        } else if now.as_secs() < self.not_before.as_secs() {
            Err(ChainError::NotYetValid {
                not_before: self.not_before,
            })
        } else {
            Ok(())
        }
    }

    /// Whole days from `now` until notAfter; negative once expired.
    pub fn days_left(&self, now: UnixTime) -> i64 {
        let secs = i128::from(self.not_after.as_secs()) - i128::from(now.as_secs());
        i64::try_from(secs.div_euclid(86_400)).unwrap_or(i64::MIN)
    }
}

/// Validates the path from `leaf` through the presented `intermediates` to one of `anchors`
/// at time `now`, for TLS server authentication (RFC 5280 §6 as rustls-webpki implements it:
/// signatures, validity dates of every certificate below the anchor, CA and path-length
/// constraints, name constraints, and the serverAuth EKU when the leaf has an EKU extension).
///
/// # Errors
///
/// The classified [`ChainError`].
pub fn validate_path(
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    anchors: &[TrustAnchor<'_>],
    now: UnixTime,
) -> Result<(), ChainError> {
    let ee = EndEntityCert::try_from(leaf).map_err(|e| ChainError::from_webpki(&e))?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        anchors,
        intermediates,
        now,
        KeyUsage::server_auth(),
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| ChainError::from_webpki(&e))
}

/// The first of `names` that the leaf certificate carries as a DNS-ID (RFC 9525; STT-07,
/// DANE-AUTH-03): subjectAltName dNSName only, `*` only as the whole left-most label.
///
/// Returns `None` when no name matches or the certificate does not parse.
pub fn first_matching_name<'n>(
    leaf: &CertificateDer<'_>,
    names: impl IntoIterator<Item = &'n DomainName>,
) -> Option<&'n DomainName> {
    let ee = EndEntityCert::try_from(leaf).ok()?;
    names.into_iter().find(|name| {
        DnsName::try_from(name.as_str()).is_ok_and(|dns| {
            ee.verify_is_valid_for_subject_name(&ServerName::DnsName(dns))
                .is_ok()
        })
    })
}

/// The subjectAltName dNSName entries of a certificate, for messages ("the certificate is for
/// these names"); empty when it does not parse or has none.
pub fn dns_names(cert: &CertificateDer<'_>) -> Vec<String> {
    EndEntityCert::try_from(cert)
        .map(|ee| ee.valid_dns_names().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The DER SubjectPublicKeyInfo of a certificate, exactly as encoded in it (the input of
/// TLSA selector 1); `None` when the certificate does not parse.
pub fn spki(cert: &[u8]) -> Option<&[u8]> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).ok()?;
    Some(parsed.tbs_certificate.subject_pki.raw)
}

fn unix_time(timestamp: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(timestamp).unwrap_or(0)))
}
