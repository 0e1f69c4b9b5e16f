//! DNSSEC status carried by every DNS answer.
//!
//! RFC 4033 §5 and RFC 7672 §2.1.1 (DANE-DNS-02) name four outcomes of validation. mxsec keeps
//! the outcome next to the data in [`Dnssec<T>`], whose fields are private, so that code can
//! reach the data only while saying what security it needs ([`Dnssec::require_secure`]) or by
//! looking at the status explicitly ([`Dnssec::into_parts`]).

use std::fmt;

pub mod strength;

/// The DNSSEC validation status of one RRset (or of a denial of existence).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[must_use]
pub enum Security {
    /// Validated from a trust anchor down to the data (RFC 4035 §4.3).
    Secure,
    /// Provably unsigned: an insecure delegation lies above the data.
    Insecure,
    /// Signed, but the signatures or the chain do not validate. Never usable (DANE-DNS-05).
    Bogus,
    /// Validation could not decide. Treated as insecure for DANE (RFC 7672 §2.1.1, erratum 5395).
    Indeterminate,
}

impl Security {
    /// Whether this status allows DANE to use the data (only `Secure` does).
    pub fn is_secure(self) -> bool {
        self == Self::Secure
    }

    /// The weaker of two statuses, for data that depends on both (e.g. a CNAME chain).
    ///
    /// Order from strongest to weakest: Secure, Insecure, Indeterminate, Bogus.
    pub fn min(self, other: Self) -> Self {
        fn rank(s: Security) -> u8 {
            match s {
                Security::Secure => 3,
                Security::Insecure => 2,
                Security::Indeterminate => 1,
                Security::Bogus => 0,
            }
        }
        if rank(self) <= rank(other) {
            self
        } else {
            other
        }
    }

    /// The lower-case name used in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Secure => "secure",
            Self::Insecure => "insecure",
            Self::Bogus => "bogus",
            Self::Indeterminate => "indeterminate",
        }
    }
}

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value obtained from DNS together with its DNSSEC status.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dnssec<T> {
    security: Security,
    value: T,
}

impl<T> Dnssec<T> {
    /// Wraps a value with the status it was validated with.
    pub fn new(security: Security, value: T) -> Self {
        Self { security, value }
    }

    /// The DNSSEC status.
    pub fn security(&self) -> Security {
        self.security
    }

    /// The value, only if it was validated as secure.
    pub fn require_secure(&self) -> Option<&T> {
        self.security.is_secure().then_some(&self.value)
    }

    /// The value, whatever its status, for callers that need it regardless (e.g. to show a
    /// user what was published). The name says what the caller gives up.
    pub fn value_ignoring_security(&self) -> &T {
        &self.value
    }

    /// Splits into status and value.
    pub fn into_parts(self) -> (Security, T) {
        (self.security, self.value)
    }

    /// Maps the value, keeping the status.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Dnssec<U> {
        Dnssec {
            security: self.security,
            value: f(self.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dane_dns_02_min_orders_statuses() {
        use Security::*;
        assert_eq!(Secure.min(Insecure), Insecure);
        assert_eq!(Insecure.min(Bogus), Bogus);
        assert_eq!(Indeterminate.min(Insecure), Indeterminate);
        assert_eq!(Secure.min(Secure), Secure);
    }

    #[test]
    fn dane_dns_05_only_secure_data_is_released() {
        let d = Dnssec::new(Security::Insecure, 5);
        assert_eq!(d.require_secure(), None);
        let d = Dnssec::new(Security::Secure, 5);
        assert_eq!(d.require_secure(), Some(&5));
    }
}
