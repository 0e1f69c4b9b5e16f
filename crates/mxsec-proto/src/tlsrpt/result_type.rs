//! RFC 8460 §4.3 result types: the one vocabulary for every TLS failure mxsec reports.

use std::fmt;

/// A TLS-RPT `result-type` (RFC 8460 §4.3; RPT-RES-01…04).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ResultType {
    /// §4.3.1: the receiving MTA does not offer STARTTLS.
    StarttlsNotSupported,
    /// §4.3.1: the certificate does not match the host name.
    CertificateHostMismatch,
    /// §4.3.1: the certificate has expired.
    CertificateExpired,
    /// §4.3.1: the certificate does not chain to a trusted root.
    CertificateNotTrusted,
    /// §4.3.1: any other failure (RPT-RES-04).
    ValidationFailure,
    /// §4.3.2.1: no valid record in the TLSA RRset, or none matched.
    TlsaInvalid,
    /// §4.3.2.1: DNSSEC validation failed for records that were needed.
    DnssecInvalid,
    /// §4.3.2.1: local policy requires DANE and no validated TLSA was found.
    DaneRequired,
    /// §4.3.2.2: the MTA-STS policy could not be fetched.
    StsPolicyFetchError,
    /// §4.3.2.2: the MTA-STS policy was fetched but is invalid.
    StsPolicyInvalid,
    /// §4.3.2.2: the policy host's certificate failed WebPKI validation.
    StsWebpkiInvalid,
}

impl ResultType {
    /// Every result type, in RFC order.
    pub const ALL: [Self; 11] = [
        Self::StarttlsNotSupported,
        Self::CertificateHostMismatch,
        Self::CertificateExpired,
        Self::CertificateNotTrusted,
        Self::ValidationFailure,
        Self::TlsaInvalid,
        Self::DnssecInvalid,
        Self::DaneRequired,
        Self::StsPolicyFetchError,
        Self::StsPolicyInvalid,
        Self::StsWebpkiInvalid,
    ];

    /// The exact string RFC 8460 uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StarttlsNotSupported => "starttls-not-supported",
            Self::CertificateHostMismatch => "certificate-host-mismatch",
            Self::CertificateExpired => "certificate-expired",
            Self::CertificateNotTrusted => "certificate-not-trusted",
            Self::ValidationFailure => "validation-failure",
            Self::TlsaInvalid => "tlsa-invalid",
            Self::DnssecInvalid => "dnssec-invalid",
            Self::DaneRequired => "dane-required",
            Self::StsPolicyFetchError => "sts-policy-fetch-error",
            Self::StsPolicyInvalid => "sts-policy-invalid",
            Self::StsWebpkiInvalid => "sts-webpki-invalid",
        }
    }

    /// Parses the RFC 8460 string form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for ResultType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpt_res_01_02_03_strings_round_trip() {
        for r in ResultType::ALL {
            assert_eq!(ResultType::parse(r.as_str()), Some(r));
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
    }
}
