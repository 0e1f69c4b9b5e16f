//! MTA-STS `mx` patterns and how an MX host name is matched against them.
//!
//! RFC 8461 §3.2 (STS-POL-07): a pattern is a fully qualified domain name, or `*.` followed by
//! one, and IDNs appear as A-labels only:
//!
//! ```text
//! sts-policy-mx-value      = ["*."] Domain
//! ```
//!
//! `Domain` is RFC 5321's, whose labels may be all digits: `192.0.2.25` is a syntactically
//! valid value. It is simply a pattern no MX host name can ever match, and so are a few other
//! values the grammar allows. [`MxValue::parse`] tells the three cases apart:
//!
//! | `mx:` value | outcome | rule |
//! |---|---|---|
//! | `mail.example.com`, `*.example.net` | [`MxPattern`], used for matching | STS-POL-07 |
//! | `192.0.2.25` | [`Unmatchable`]: kept out of matching | STS-POL-09 (RFC 1123 §2.1: no host name is an address) |
//! | `[192.0.2.25]`, `2001:db8::25` | [`Unmatchable`], though outside the ABNF: the meaning is not in doubt | STS-POL-09 |
//! | `mx.123` (all-digit top-level label) | [`Unmatchable`] | STS-POL-09 (RFC 1123 §2.1) |
//! | `mail` (one label, no wildcard) | [`Unmatchable`] | STS-POL-09 (MX hosts are names below a top-level domain) |
//! | `xn--zz.example` (`xn--` but not an A-label) | [`Unmatchable`] | STS-POL-09 (RFC 5890 §2.3.2.1) |
//! | a name or label longer than DNS allows | [`Unmatchable`] | STS-POL-09 (RFC 1035 §2.3.4) |
//! | `a.example, b.example`, `a.example b.example` | [`PatternError`] | STS-POL-07: "each MX MUST have its own `mx:` key" |
//! | `mx.bücher.example` (U-label) | [`PatternError`] | STS-POL-07: "the `mx` value MUST specify the Punycode-encoded A-label" |
//! | empty, `.example.com`, `mail.*.example`, `mx_1.example` | [`PatternError`] | STS-POL-07: not `["*."] Domain` |
//!
//! An unmatchable value never reaches matching: in particular an address must never reach
//! Postfix's `match=` list, where it would be read as an address check and fail every host.
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
use std::net::IpAddr;

use crate::name::{DomainName, NameError, MAX_LABEL_LEN, MAX_NAME_LEN};

/// One `mx:` pattern of an MTA-STS policy that MX host names can match (RFC 8461 §3.2,
/// STS-POL-07).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MxPattern {
    /// A full host name, matched exactly.
    Exact(DomainName),
    /// `*.` + suffix: any host exactly one label below the suffix.
    Wildcard(DomainName),
}

/// What an `mx:` value is (RFC 8461 §3.2, §4.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MxValue {
    /// A pattern MX host names can match (STS-POL-07).
    Pattern(MxPattern),
    /// A value that no MX host name can match (STS-POL-09).
    Unmatchable(Unmatchable),
}

/// An `mx:` value that no MX host name can ever match (RFC 8461 §4.1, STS-POL-09): a sender
/// leaves it out of matching, and the rest of the policy stands.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, thiserror::Error)]
#[error("{value:?} {reason}")]
pub struct Unmatchable {
    value: String,
    reason: UnmatchableReason,
}

/// Why an `mx:` value can never match an MX host name (STS-POL-09).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum UnmatchableReason {
    /// An IPv4 or IPv6 address, bracketed or not: MX targets are host names.
    #[error("is an IP address; `mx:` patterns match MX host names, and an MX host name is never an address")]
    IpAddress,
    /// The top-level label is all digits, which no host name has (RFC 1123 §2.1).
    #[error("ends in an all-digit label, which no host name has (RFC 1123 §2.1)")]
    NumericTopLabel,
    /// One label and no wildcard: MX host names are fully qualified names below a top-level
    /// domain.
    #[error("is a single label; MX host names are fully qualified, e.g. `mail.example.com`")]
    SingleLabel,
    /// An `xn--` label that is not a valid A-label, which no host name has (RFC 5890
    /// §2.3.2.1).
    #[error("has an `xn--` label that is not a valid A-label, which no host name has")]
    FakeALabel,
    /// A label longer than 63 octets or a name longer than 253 (RFC 1035 §2.3.4).
    #[error(
        "is longer than a DNS name can be (labels of at most 63, names of at most 253 characters)"
    )]
    TooLong,
}

impl Unmatchable {
    /// The value as written after `mx:`.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Why no MX host name can match it.
    pub fn reason(&self) -> UnmatchableReason {
        self.reason
    }
}

/// Why a string is not a valid `mx:` value: a violation of the ABNF `["*."] Domain` or of a
/// MUST of RFC 8461 §3.2 (STS-POL-07). A policy with such a line is invalid.
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
    /// Non-ASCII characters: the name must be written with A-labels.
    #[error("{pattern:?} is not ASCII; IDNs must be written as A-labels{}", a_label.as_ref().map(|a| format!(" ({a})")).unwrap_or_default())]
    NotALabel {
        /// The pattern as written.
        pattern: String,
        /// The A-label form, when the name is a valid IDN.
        a_label: Option<String>,
    },
    /// A label that is not letters, digits and inner hyphens (RFC 5321 `Domain`).
    #[error("label {label:?} of {pattern:?} is not a host name label (letters, digits and inner hyphens only)")]
    InvalidLabel {
        /// The pattern as written.
        pattern: String,
        /// The offending label (empty for `a..b`).
        label: String,
    },
    /// The name is not a valid domain name for another reason.
    #[error("{pattern:?} is not a valid domain name: {source}")]
    Name {
        /// The pattern as written.
        pattern: String,
        /// What is wrong with the name.
        source: NameError,
    },
    /// A valid value that no MX host name can match (STS-POL-09); only
    /// [`MxPattern::parse`] returns it, [`MxValue::parse`] accepts the value.
    #[error(transparent)]
    Unmatchable(Unmatchable),
}

impl MxValue {
    /// Parses one value, as written after `mx:` (RFC 8461 §3.2; STS-POL-07, STS-POL-09).
    ///
    /// Letters are lower-cased. A trailing dot is accepted and dropped: it does not change the
    /// name, though RFC 5321 `Domain` has none (the policy parser warns about it). Addresses
    /// are accepted in any notation, bracketed or IPv6 ones included, although the ABNF has
    /// none of them: their meaning (no MX host matches) is not in doubt.
    ///
    /// # Errors
    ///
    /// Returns a [`PatternError`] that says what to write instead, when the value breaks the
    /// ABNF `["*."] Domain` or a MUST of RFC 8461 §3.2.
    pub fn parse(input: &str) -> Result<Self, PatternError> {
        let owned = || input.to_owned();
        let unmatchable = |reason| {
            Ok(Self::Unmatchable(Unmatchable {
                value: input.to_owned(),
                reason,
            }))
        };
        // ABNF: `Domain` has at least one character.
        if input.is_empty() {
            return Err(PatternError::Empty);
        }
        // RFC 8461 §3.2: "If a policy specifies more than one MX, each MX MUST have its own
        // "mx:" key, and each MX key/value pair MUST be on its own line in the policy file."
        if input.contains(',') {
            return Err(PatternError::Comma(owned()));
        }
        if input.contains(char::is_whitespace) {
            return Err(PatternError::SeveralNames(owned()));
        }
        let bare = input.trim_start_matches('[').trim_end_matches(']');
        if bare
            .strip_suffix('.')
            .unwrap_or(bare)
            .parse::<IpAddr>()
            .is_ok()
        {
            return unmatchable(UnmatchableReason::IpAddress);
        }
        // RFC 8461 §3.2: "In the case of Internationalized Domain Names [RFC5891], the "mx"
        // value MUST specify the Punycode-encoded A-label [RFC3492] to match against, and not
        // the Unicode-encoded U-label."
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
        // ABNF `["*."] Domain`: no leading dot, `*` only as the whole first label, and every
        // label `Let-dig [Ldh-str]`.
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
        let labels: Vec<&str> = name.split('.').collect();
        for label in &labels {
            check_label(input, label)?;
        }
        // Valid as written; now, could a host name ever match it?
        if labels.iter().any(|l| l.len() > MAX_LABEL_LEN) || name.len() > MAX_NAME_LEN {
            return unmatchable(UnmatchableReason::TooLong);
        }
        if labels
            .last()
            .is_some_and(|top| top.bytes().all(|b| b.is_ascii_digit()))
        {
            return unmatchable(UnmatchableReason::NumericTopLabel);
        }
        if !wildcard && labels.len() == 1 {
            return unmatchable(UnmatchableReason::SingleLabel);
        }
        if labels.iter().any(|l| is_fake_a_label(l)) {
            return unmatchable(UnmatchableReason::FakeALabel);
        }
        let name = DomainName::parse(name).map_err(|source| PatternError::Name {
            pattern: owned(),
            source,
        })?;
        Ok(Self::Pattern(match wildcard {
            true => MxPattern::Wildcard(name),
            false => MxPattern::Exact(name),
        }))
    }
}

impl MxPattern {
    /// Parses one pattern that MX host names can match, as written after `mx:`
    /// (STS-POL-07).
    ///
    /// Letters are lower-cased and a trailing dot is dropped, as in [`MxValue::parse`].
    ///
    /// # Errors
    ///
    /// Returns a [`PatternError`] that says what to write instead;
    /// [`PatternError::Unmatchable`] for a valid value that no host name can match.
    pub fn parse(input: &str) -> Result<Self, PatternError> {
        match MxValue::parse(input)? {
            MxValue::Pattern(pattern) => Ok(pattern),
            MxValue::Unmatchable(u) => Err(PatternError::Unmatchable(u)),
        }
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

/// RFC 5321 `sub-domain = Let-dig [Ldh-str]`: letters, digits and inner hyphens.
fn check_label(pattern: &str, label: &str) -> Result<(), PatternError> {
    let bytes = label.as_bytes();
    let ldh = matches!(
        (bytes.first(), bytes.last()),
        (Some(first), Some(last)) if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric()
    ) && bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'-');
    match ldh {
        true => Ok(()),
        false => Err(PatternError::InvalidLabel {
            pattern: pattern.to_owned(),
            label: label.to_owned(),
        }),
    }
}

/// Whether `label` starts with `xn--` without being a valid A-label (RFC 5890 §2.3.2.1: such
/// "fake A-labels" are not used in host names).
fn is_fake_a_label(label: &str) -> bool {
    let lower = label.to_ascii_lowercase();
    lower.starts_with("xn--") && idna::domain_to_ascii_strict(&lower).ok() != Some(lower)
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
            "*.localhost",
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
    }

    #[test]
    fn sts_pol_07_rejects_non_host_labels() {
        for s in [
            "-mx.example.com",
            "mx-.example.com",
            "mx_1.example.com",
            "a..example.com",
            "mx.example.com..",
            "mx/1.example.com",
            "[mx.example.com]",
            "2001:db8::1:zz",
        ] {
            assert!(
                matches!(MxValue::parse(s), Err(PatternError::InvalidLabel { .. })),
                "{s}"
            );
        }
        // Hyphens in positions 3-4 are fine in a label that is not an A-label.
        assert!(MxPattern::parse("ab--cd.example.com").is_ok());
    }

    fn unmatchable(s: &str) -> UnmatchableReason {
        match MxValue::parse(s) {
            Ok(MxValue::Unmatchable(u)) => {
                assert_eq!(u.value(), s);
                assert_eq!(
                    MxPattern::parse(s),
                    Err(PatternError::Unmatchable(u.clone()))
                );
                u.reason()
            }
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn sts_pol_09_ip_addresses_are_valid_values_that_match_nothing() {
        // RFC 5321 `Domain` allows all-digit labels, so `192.0.2.25` is valid per the ABNF
        // of RFC 8461 §3.2; it is no host name (RFC 1123 §2.1), so it matches no MX host.
        for s in [
            "192.0.2.25",
            "192.0.2.25.",
            "[192.0.2.25]",
            "2001:db8::25",
            "[2001:db8::25]",
        ] {
            assert_eq!(unmatchable(s), UnmatchableReason::IpAddress, "{s}");
        }
        for s in ["1.2.3", "mx.123", "*.192.0.2.1"] {
            assert_eq!(unmatchable(s), UnmatchableReason::NumericTopLabel, "{s}");
        }
        let err = MxPattern::parse("192.0.2.25").unwrap_err();
        assert!(err.to_string().contains("IP address"), "{err}");
    }

    #[test]
    fn sts_pol_09_single_labels_fake_a_labels_and_long_names_match_nothing() {
        for s in ["localhost", "mail", "MX."] {
            assert_eq!(unmatchable(s), UnmatchableReason::SingleLabel, "{s}");
        }
        // A wildcard below a top-level domain matches two-label hosts: it stays a pattern.
        assert!(pattern("*.com").matches(&host("example.com")));
        assert_eq!(unmatchable("xn--zz.example"), UnmatchableReason::FakeALabel);
        for s in [
            format!("{}.example", "a".repeat(64)),
            format!("{}example", "abcdefghi.".repeat(25)),
        ] {
            assert_eq!(unmatchable(&s), UnmatchableReason::TooLong, "{s}");
        }
        assert!(MxPattern::parse(&format!("{}.example", "a".repeat(63))).is_ok());
    }
}
