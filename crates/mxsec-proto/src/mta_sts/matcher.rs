//! MTA-STS `mx` patterns and how an MX host name is matched against them.
//!
//! RFC 8461 §3.2 (STS-POL-07): a pattern is a fully qualified domain name, or `*.` followed by
//! one, and IDNs appear as A-labels only:
//!
//! ```text
//! sts-policy-mx-value      = ["*."] Domain
//! ```
//!
//! RFC 8461 §4.1 (STS-VAL-01): the MX host must match at least one pattern. Matching follows
//! RFC 6125, except that the wildcard matches exactly one whole left-most label:
//!
//! ```text
//! "*.example.com" would match "mail.example.com" but not
//! "example.com" or "foo.bar.example.com".
//! ```
//!
//! Both sides are compared as normalised [`DomainName`]s, so case and a trailing dot on the MX
//! name do not matter.

use std::fmt;

use crate::name::{DomainName, NameError};

/// One `mx:` pattern of an MTA-STS policy (RFC 8461 §3.2, STS-POL-07).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MxPattern {
    /// A full host name, matched exactly.
    Exact(DomainName),
    /// `*.` + suffix: any host exactly one label below the suffix.
    Wildcard(DomainName),
}

/// Why a string is not a valid `mx:` pattern (RFC 8461 §3.2, STS-POL-07).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternError {
    /// Nothing after `mx:`.
    #[error("the pattern is empty")]
    Empty,
    /// Whitespace inside the value: several names on one line.
    #[error("{0:?} holds several names; write one `mx:` line per pattern")]
    SeveralNames(String),
    /// A comma inside the value: a list on one line.
    #[error("{0:?} is a comma-separated list; write one `mx:` line per pattern")]
    Comma(String),
    /// `.example.com`: the Postfix `match=` notation, not MTA-STS syntax.
    #[error("{0:?} starts with a dot; MTA-STS writes a wildcard as `*.` + suffix, e.g. `*{0}`")]
    LeadingDot(String),
    /// A `*` anywhere but as the whole left-most label, or a bare `*`.
    #[error("{0:?}: `*` is allowed only as the whole left-most label followed by a domain, e.g. `*.example.com`")]
    BadWildcard(String),
    /// An IP address: MTA-STS patterns are names.
    #[error("{0:?} is an IP address; `mx:` takes a host name")]
    IpAddress(String),
    /// Non-ASCII characters: the name must be written with A-labels.
    #[error("{pattern:?} is not ASCII; IDNs must be written as A-labels{}", a_label.as_ref().map(|a| format!(" ({a})")).unwrap_or_default())]
    NotALabel {
        /// The pattern as written.
        pattern: String,
        /// The A-label form, when the name is a valid IDN.
        a_label: Option<String>,
    },
    /// An `xn--` label that is not a valid A-label.
    #[error("label {label:?} of {pattern:?} is not a valid A-label")]
    InvalidALabel {
        /// The pattern as written.
        pattern: String,
        /// The offending label.
        label: String,
    },
    /// A label that is not letters, digits and inner hyphens (RFC 5321 `Domain`).
    #[error("label {label:?} of {pattern:?} is not a host name label (letters, digits and inner hyphens only)")]
    InvalidLabel {
        /// The pattern as written.
        pattern: String,
        /// The offending label (empty for `a..b`).
        label: String,
    },
    /// The name is too long, or has an over-long label.
    #[error("{pattern:?} is not a valid domain name: {source}")]
    Name {
        /// The pattern as written.
        pattern: String,
        /// What is wrong with the name.
        source: NameError,
    },
}

impl MxPattern {
    /// Parses one pattern, as written after `mx:` (STS-POL-07).
    ///
    /// Letters are lower-cased. A trailing dot is accepted and dropped: it does not change the
    /// name, though RFC 5321 `Domain` has none (the policy parser warns about it).
    ///
    /// # Errors
    ///
    /// Returns a [`PatternError`] that says what to write instead.
    pub fn parse(input: &str) -> Result<Self, PatternError> {
        let owned = || input.to_owned();
        if input.is_empty() {
            return Err(PatternError::Empty);
        }
        if input.contains(',') {
            return Err(PatternError::Comma(owned()));
        }
        if input.contains(char::is_whitespace) {
            return Err(PatternError::SeveralNames(owned()));
        }
        let bare = input.trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<std::net::IpAddr>().is_ok() {
            return Err(PatternError::IpAddress(owned()));
        }
        if !input.is_ascii() {
            let a_label = idna::domain_to_ascii_strict(input.trim_start_matches("*."))
                .ok()
                .map(|a| match input.starts_with("*.") {
                    true => format!("*.{a}"),
                    false => a,
                });
            return Err(PatternError::NotALabel {
                pattern: owned(),
                a_label,
            });
        }
        if input.starts_with('.') {
            return Err(PatternError::LeadingDot(owned()));
        }
        let (wildcard, name) = match input.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, input),
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() || name.contains('*') {
            return Err(PatternError::BadWildcard(owned()));
        }
        for label in name.split('.') {
            check_label(input, label)?;
        }
        let name = DomainName::parse(name).map_err(|source| PatternError::Name {
            pattern: owned(),
            source,
        })?;
        Ok(match wildcard {
            true => Self::Wildcard(name),
            false => Self::Exact(name),
        })
    }

    /// Whether `host` matches this pattern (RFC 8461 §4.1, STS-VAL-01).
    ///
    /// A wildcard matches exactly one whole left-most label: `*.example.com` matches
    /// `mail.example.com`, but neither `example.com` nor `a.b.example.com`.
    pub fn matches(&self, host: &DomainName) -> bool {
        match self {
            Self::Exact(name) => name == host,
            Self::Wildcard(suffix) => host
                .as_str()
                .split_once('.')
                .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix.as_str()),
        }
    }

    /// Whether this pattern is broad, i.e. a wildcard (RFC 8461 §10.4, STS-SEC-01).
    ///
    /// A wildcard lets any host directly below the suffix that holds a publicly trusted
    /// certificate for its name receive the domain's mail; a checker should warn about it.
    pub fn is_broad(&self) -> bool {
        matches!(self, Self::Wildcard(_))
    }

    /// The domain part: the whole name, or the suffix after `*.`.
    pub fn domain(&self) -> &DomainName {
        match self {
            Self::Exact(name) | Self::Wildcard(name) => name,
        }
    }
}

/// RFC 5321 `sub-domain = Let-dig [Ldh-str]`, and a valid A-label when it starts with `xn--`.
fn check_label(pattern: &str, label: &str) -> Result<(), PatternError> {
    let invalid = || PatternError::InvalidLabel {
        pattern: pattern.to_owned(),
        label: label.to_owned(),
    };
    let bytes = label.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return Err(invalid());
    };
    if !first.is_ascii_alphanumeric()
        || !last.is_ascii_alphanumeric()
        || !bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    {
        return Err(invalid());
    }
    let lower = label.to_ascii_lowercase();
    if lower.starts_with("xn--") && idna::domain_to_ascii_strict(&lower).ok() != Some(lower) {
        return Err(PatternError::InvalidALabel {
            pattern: pattern.to_owned(),
            label: label.to_owned(),
        });
    }
    Ok(())
}

impl fmt::Display for MxPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(name) => write!(f, "{name}"),
            Self::Wildcard(suffix) => write!(f, "*.{suffix}"),
        }
    }
}

impl std::str::FromStr for MxPattern {
    type Err = PatternError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for MxPattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for MxPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    fn pattern(s: &str) -> MxPattern {
        MxPattern::parse(s).unwrap()
    }

    #[test]
    fn sts_val_01_wildcard_matches_exactly_one_label() {
        let p = pattern("*.example.com");
        assert!(p.matches(&host("mail.example.com")));
        assert!(!p.matches(&host("example.com")));
        assert!(!p.matches(&host("a.b.example.com")));
        assert!(!p.matches(&host("mailexample.com")));
        assert!(!p.matches(&host("mail.example.org")));
    }

    #[test]
    fn sts_val_01_exact_pattern_matches_only_that_name() {
        let p = pattern("mail.example.com");
        assert!(p.matches(&host("mail.example.com")));
        assert!(!p.matches(&host("x.mail.example.com")));
        assert!(!p.matches(&host("example.com")));
        assert!(!p.matches(&host("ail.example.com")));
    }

    #[test]
    fn sts_val_01_case_insensitive_and_trailing_dot_ignored() {
        let p = pattern("*.Mail.Example.COM");
        assert!(p.matches(&host("MX1.mail.example.com.")));
        let p = pattern("MX.example.com.");
        assert!(p.matches(&host("mx.EXAMPLE.com")));
        assert_eq!(p.to_string(), "mx.example.com");
    }

    #[test]
    fn sts_val_01_a_label_pattern_matches_u_label_host() {
        let p = pattern("mx.xn--bcher-kva.example");
        assert!(p.matches(&host("mx.bücher.example")));
    }

    #[test]
    fn sts_val_01_m05_policy_left_behind_after_provider_migration() {
        // SCENARIOS.md M-05: MX moved to a provider, `mx:` still lists the old hosts.
        let old = [pattern("mx1.example.com"), pattern("mx2.example.com")];
        let new_mx = host("smtp.google.com");
        assert!(!old.iter().any(|p| p.matches(&new_mx)));
        let microsoft = host("example-com.l-v1.mx.microsoft");
        assert!(!pattern("*.mail.protection.outlook.com").matches(&microsoft));
        assert!(pattern("*.l-v1.mx.microsoft").matches(&microsoft));
    }

    #[test]
    fn sts_val_01_m05_wildcard_does_not_cover_two_label_host_or_apex() {
        // SCENARIOS.md M-05: `*.example.com` used for `a.b.example.com` or `example.com`.
        let p = pattern("*.example.com");
        assert!(!p.matches(&host("mx.eu.example.com")));
        assert!(!p.matches(&host("example.com")));
        assert!(pattern("*.eu.example.com").matches(&host("mx.eu.example.com")));
    }

    #[test]
    fn sts_sec_01_wildcard_is_broad() {
        assert!(pattern("*.example.com").is_broad());
        assert!(!pattern("mx.example.com").is_broad());
        assert_eq!(pattern("*.example.com").domain().as_str(), "example.com");
    }

    #[test]
    fn sts_pol_07_pattern_display_round_trips() {
        for s in [
            "*.example.com",
            "mx.example.com",
            "localhost",
            "xn--bcher-kva.example",
        ] {
            assert_eq!(pattern(s).to_string(), s);
            assert_eq!(pattern(&pattern(s).to_string()), pattern(s));
        }
    }

    #[test]
    fn sts_pol_07_rejects_misplaced_wildcards() {
        for s in [
            "*",
            "*.",
            "*example.com",
            "mail.*.example.com",
            "*.*.example.com",
            "m*.example.com",
        ] {
            assert!(
                matches!(MxPattern::parse(s), Err(PatternError::BadWildcard(_))),
                "{s}"
            );
        }
    }

    #[test]
    fn sts_pol_07_rejects_lists_and_postfix_notation() {
        assert!(matches!(
            MxPattern::parse("a.example.com b.example.com"),
            Err(PatternError::SeveralNames(_))
        ));
        assert!(matches!(
            MxPattern::parse("a.example.com,b.example.com"),
            Err(PatternError::Comma(_))
        ));
        let err = MxPattern::parse(".example.com").unwrap_err();
        assert!(err.to_string().contains("*.example.com"), "{err}");
        assert_eq!(MxPattern::parse(""), Err(PatternError::Empty));
    }

    #[test]
    fn sts_pol_07_u_labels_rejected_with_a_label_hint() {
        let err = MxPattern::parse("*.bücher.example").unwrap_err();
        assert_eq!(
            err,
            PatternError::NotALabel {
                pattern: "*.bücher.example".into(),
                a_label: Some("*.xn--bcher-kva.example".into())
            }
        );
        assert!(matches!(
            MxPattern::parse("xn--zz.example"),
            Err(PatternError::InvalidALabel { .. })
        ));
    }

    #[test]
    fn sts_pol_07_rejects_non_host_labels_and_addresses() {
        for s in [
            "-mx.example.com",
            "mx-.example.com",
            "mx_1.example.com",
            "a..example.com",
            "mx.example.com..",
            "mx/1.example.com",
        ] {
            assert!(
                matches!(MxPattern::parse(s), Err(PatternError::InvalidLabel { .. })),
                "{s}"
            );
        }
        assert!(matches!(
            MxPattern::parse("192.0.2.1"),
            Err(PatternError::IpAddress(_))
        ));
        assert!(matches!(
            MxPattern::parse("[2001:db8::1]"),
            Err(PatternError::IpAddress(_))
        ));
        assert!(matches!(
            MxPattern::parse(&format!("{}.example", "a".repeat(64))),
            Err(PatternError::Name { .. })
        ));
        // Hyphens in positions 3-4 are fine in a label that is not an A-label.
        assert!(MxPattern::parse("ab--cd.example.com").is_ok());
    }
}
