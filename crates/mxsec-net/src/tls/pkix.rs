//! PKIX (WebPKI) verification of an MX host's chain, as MTA-STS requires (RFC 8461 §4.2;
//! STS-VAL-02, STT-07).
//!
//! The chain must validate with rustls-webpki to one of the configured roots at `now`
//! (signatures, validity dates, constraints, serverAuth EKU), and the leaf must carry the MX
//! host name as a DNS-ID (RFC 9525: subjectAltName dNSName only, `*` only as the whole
//! left-most label). Each question is answered separately, so the checker can say "trusted
//! but for the wrong name" or "right name, but expires in 3 days"; [`PkixReport::verdict`]
//! folds them into the one answer a sender needs, with its RFC 8460 result type
//! (`certificate-not-trusted`, `certificate-host-mismatch`, `certificate-expired`).

use std::fmt;
use std::sync::Arc;

use mxsec_proto::certificate::{self, ChainError, Validity};
use mxsec_proto::name::DomainName;
use mxsec_proto::tlsrpt::result_type::ResultType;
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};

use crate::trust::TrustConfig;

/// What to verify a chain against: the trusted roots and the MX host name.
#[derive(Clone, Debug)]
pub struct PkixCheck {
    roots: Arc<[TrustAnchor<'static>]>,
    mx_host: DomainName,
}

impl PkixCheck {
    /// Verifies against `roots` (WebPKI plus any `--ca-file`s) for the MX host `mx_host`,
    /// which is also the SNI name to send (STS-VAL-03).
    pub fn new(roots: Arc<[TrustAnchor<'static>]>, mx_host: DomainName) -> Self {
        Self { roots, mx_host }
    }

    /// Verifies against the anchors of a trust configuration (copied once; clone the check to
    /// reuse it across connections).
    pub fn from_trust(trust: &TrustConfig, mx_host: DomainName) -> Self {
        Self::new(trust.trust_anchors().into(), mx_host)
    }

    /// The MX host name the certificate must carry.
    pub fn mx_host(&self) -> &DomainName {
        &self.mx_host
    }

    /// Answers every PKIX question about `chain` (leaf first) at `now`.
    pub fn verify(&self, chain: &[CertificateDer<'_>], now: UnixTime) -> PkixReport {
        let Some((leaf, intermediates)) = chain.split_first() else {
            return PkixReport {
                path: Err(ChainError::Malformed),
                name_matches: false,
                validity: None,
                mx_host: self.mx_host.clone(),
                leaf_names: Vec::new(),
                now,
            };
        };
        PkixReport {
            path: certificate::validate_path(leaf, intermediates, &self.roots, now),
            name_matches: certificate::first_matching_name(leaf, [&self.mx_host]).is_some(),
            validity: Validity::of(leaf),
            mx_host: self.mx_host.clone(),
            leaf_names: certificate::dns_names(leaf),
            now,
        }
    }
}

/// The PKIX facts about one presented chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkixReport {
    /// Path validation to the roots (including validity dates of every certificate).
    pub path: Result<(), ChainError>,
    /// Whether the leaf carries the MX host name as a DNS-ID.
    pub name_matches: bool,
    /// The leaf's validity window, if it parses.
    pub validity: Option<Validity>,
    /// The MX host name checked.
    pub mx_host: DomainName,
    /// The leaf's DNS-IDs, for messages.
    pub leaf_names: Vec<String>,
    /// The time of verification.
    pub now: UnixTime,
}

impl PkixReport {
    /// Whole days until the leaf expires (negative once expired); `None` if it does not parse.
    pub fn days_left(&self) -> Option<i64> {
        self.validity.map(|v| v.days_left(self.now))
    }

    /// The sender's answer (STS-VAL-02): valid only if the path validates and the name matches.
    /// A path failure is reported before a name mismatch: the names of an untrusted
    /// certificate mean nothing.
    ///
    /// # Errors
    ///
    /// The [`PkixFailure`].
    pub fn verdict(&self) -> Result<(), PkixFailure> {
        self.path.map_err(PkixFailure::Chain)?;
        if self.name_matches {
            Ok(())
        } else {
            Err(PkixFailure::HostMismatch {
                mx_host: self.mx_host.clone(),
                leaf_names: self.leaf_names.clone(),
            })
        }
    }
}

/// Why a chain fails PKIX verification for an MX host.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PkixFailure {
    /// The chain does not validate to a trusted root at this time.
    Chain(ChainError),
    /// The chain validates, but the leaf does not carry the MX host name.
    HostMismatch {
        /// The MX host name the leaf should carry.
        mx_host: DomainName,
        /// The DNS-IDs the leaf does carry.
        leaf_names: Vec<String>,
    },
}

impl PkixFailure {
    /// The RFC 8460 §4.3.1 result type (RPT-RES-01).
    pub fn result_type(&self) -> ResultType {
        match self {
            Self::Chain(e) => e.result_type(),
            Self::HostMismatch { .. } => ResultType::CertificateHostMismatch,
        }
    }

    /// A stable code for RFC 8460 `failure-reason-code` (RPT-RES-04).
    pub fn reason_code(&self) -> &'static str {
        match self {
            Self::Chain(e) => e.reason_code(),
            Self::HostMismatch { .. } => "certificate-host-mismatch",
        }
    }
}

impl fmt::Display for PkixFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Chain(e) => e.fmt(f),
            Self::HostMismatch {
                mx_host,
                leaf_names,
            } if leaf_names.is_empty() => {
                write!(
                    f,
                    "the certificate carries no DNS names; it needs {mx_host}"
                )
            }
            Self::HostMismatch {
                mx_host,
                leaf_names,
            } => write!(
                f,
                "the certificate is for {}, not for {mx_host}",
                leaf_names.join(", ")
            ),
        }
    }
}
