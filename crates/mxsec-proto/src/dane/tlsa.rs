//! TLSA records (RFC 6698 §2): the types. Parsing, usability and matching live beside them.

/// The certificate usage field (RFC 6698 §2.1.1, RFC 7218 acronyms), in RFC order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CertUsage {
    /// 0, PKIX-TA: unusable for SMTP (RFC 7672 §3.1.3, DANE-TLSA-02).
    PkixTa,
    /// 1, PKIX-EE: unusable for SMTP (RFC 7672 §3.1.3, DANE-TLSA-02).
    PkixEe,
    /// 2, DANE-TA: a trust anchor in the presented chain (RFC 7671 §5.2).
    DaneTa,
    /// 3, DANE-EE: the server's own certificate or key (RFC 7671 §5.1).
    DaneEe,
    /// Any other value: unusable (DANE-TLSA-01).
    Unassigned(u8),
}

/// The selector field (RFC 6698 §2.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Selector {
    /// 0: the full certificate (DER).
    FullCert,
    /// 1: the SubjectPublicKeyInfo (DER).
    Spki,
    /// Any other value: unusable (DANE-TLSA-01).
    Unassigned(u8),
}

/// The matching type field (RFC 6698 §2.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchingType {
    /// 0: exact match on the selected content.
    Full,
    /// 1: SHA2-256 of the selected content (32 octets).
    Sha256,
    /// 2: SHA2-512 of the selected content (64 octets).
    Sha512,
    /// Any other value: unusable (DANE-TLSA-01).
    Unassigned(u8),
}

/// One TLSA record: usage, selector, matching type and association data.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TlsaRecord {
    /// Certificate usage.
    pub usage: CertUsage,
    /// Selector.
    pub selector: Selector,
    /// Matching type.
    pub matching: MatchingType,
    /// Certificate association data.
    pub data: Vec<u8>,
}

impl From<u8> for CertUsage {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::PkixTa,
            1 => Self::PkixEe,
            2 => Self::DaneTa,
            3 => Self::DaneEe,
            n => Self::Unassigned(n),
        }
    }
}

impl From<CertUsage> for u8 {
    fn from(v: CertUsage) -> Self {
        match v {
            CertUsage::PkixTa => 0,
            CertUsage::PkixEe => 1,
            CertUsage::DaneTa => 2,
            CertUsage::DaneEe => 3,
            CertUsage::Unassigned(n) => n,
        }
    }
}

impl From<u8> for Selector {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::FullCert,
            1 => Self::Spki,
            n => Self::Unassigned(n),
        }
    }
}

impl From<Selector> for u8 {
    fn from(v: Selector) -> Self {
        match v {
            Selector::FullCert => 0,
            Selector::Spki => 1,
            Selector::Unassigned(n) => n,
        }
    }
}

impl From<u8> for MatchingType {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::Full,
            1 => Self::Sha256,
            2 => Self::Sha512,
            n => Self::Unassigned(n),
        }
    }
}

impl From<MatchingType> for u8 {
    fn from(v: MatchingType) -> Self {
        match v {
            MatchingType::Full => 0,
            MatchingType::Sha256 => 1,
            MatchingType::Sha512 => 2,
            MatchingType::Unassigned(n) => n,
        }
    }
}
