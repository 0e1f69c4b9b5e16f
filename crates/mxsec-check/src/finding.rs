//! Findings: one observation about a domain, an MX host or an address, with a stable ID.
//!
//! A [`Finding`] is built from a [`FindingKind`] and an instance-specific message. Its ID,
//! severity, area, RFC section and fix all come from the [catalogue](crate::catalogue), so the
//! terminal, the JSON output and the web page say the same words for the same problem.

use std::fmt;
use std::net::IpAddr;

use mxsec_proto::conformance::ConformanceId;
use mxsec_proto::name::DomainName;
use serde::{Deserialize, Serialize};

use crate::catalogue::{Area, FindingKind, Severity};

/// What a finding is about.
#[derive(Clone, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Subject {
    /// The checked domain (or a name derived from it, such as `_mta-sts.<domain>`).
    Domain {
        /// The domain name.
        name: DomainName,
    },
    /// One host: an MX host, or the MTA-STS policy host.
    Host {
        /// The host name.
        name: DomainName,
    },
    /// One address of a host.
    Address {
        /// The host the address belongs to.
        host: DomainName,
        /// The address.
        address: IpAddr,
    },
}

impl Subject {
    /// The subject for a domain.
    pub fn domain(name: &DomainName) -> Self {
        Self::Domain { name: name.clone() }
    }

    /// The subject for a host.
    pub fn host(name: &DomainName) -> Self {
        Self::Host { name: name.clone() }
    }

    /// The subject for one address of a host.
    pub fn address(host: &DomainName, address: IpAddr) -> Self {
        Self::Address {
            host: host.clone(),
            address,
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain { name } | Self::Host { name } => write!(f, "{name}"),
            Self::Address { host, address } => write!(f, "{host} {address}"),
        }
    }
}

/// One finding of the audit.
///
/// The fields other than `subject` and `message` are copied from the catalogue entry of
/// `kind`; they are stored so that the JSON report stands on its own.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Finding {
    /// The stable ID from CONFORMANCE.md or SCENARIOS.md, e.g. `STS-POL-05` or `T-01`.
    pub id: ConformanceId,
    /// The precise kind of finding (several kinds may share one ID).
    pub kind: FindingKind,
    /// How much it matters.
    pub severity: Severity,
    /// The part of the audit it belongs to.
    pub area: Area,
    /// What it is about.
    pub subject: Subject,
    /// One line saying what was found.
    pub message: String,
    /// What to do about it, in plain words.
    pub fix: String,
    /// The RFC section that sets the rule, e.g. `RFC 8461 §3.2`.
    pub rfc: String,
}

impl Finding {
    /// A finding of `kind` about `subject`, with an instance-specific one-line message.
    ///
    /// Line breaks in `message` are replaced by spaces, so the message stays one line.
    pub fn new(kind: FindingKind, subject: Subject, message: impl Into<String>) -> Self {
        let entry = kind.entry();
        let message: String = message.into();
        Self {
            id: entry.id,
            kind,
            severity: entry.severity,
            area: entry.area,
            subject,
            message: one_line(&message),
            fix: entry.fix.to_owned(),
            rfc: entry.rfc.to_owned(),
        }
    }
}

/// Replaces control characters (line breaks included) by spaces, so that text from the
/// network cannot break the layout of a report or forge extra lines.
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_copies_its_catalogue_entry() {
        let d = DomainName::parse("example.com").unwrap();
        let f = Finding::new(
            FindingKind::StsPolicyMode,
            Subject::domain(&d),
            "mode \"Enforce\"\r\nis invalid",
        );
        assert_eq!(f.id, ConformanceId::StsPol05);
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.area, Area::MtaSts);
        assert_eq!(f.rfc, "RFC 8461 §3.2");
        assert_eq!(f.message, "mode \"Enforce\"  is invalid");
    }

    #[test]
    fn severities_sort_errors_first() {
        let mut v = vec![
            Severity::Pass,
            Severity::Info,
            Severity::Error,
            Severity::Warning,
        ];
        v.sort();
        assert_eq!(
            v,
            [
                Severity::Error,
                Severity::Warning,
                Severity::Info,
                Severity::Pass
            ]
        );
    }

    #[test]
    fn subject_json_is_tagged() {
        let h = DomainName::parse("mx1.example.com").unwrap();
        let s = Subject::address(&h, "192.0.2.1".parse().unwrap());
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({"type": "address", "host": "mx1.example.com", "address": "192.0.2.1"})
        );
        assert_eq!(s.to_string(), "mx1.example.com 192.0.2.1");
    }
}
