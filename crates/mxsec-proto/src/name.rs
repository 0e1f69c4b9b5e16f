//! Domain names, normalised once at the edge.
//!
//! Every name that enters mxsec from a user, a DNS answer or a policy file is parsed into a
//! [`DomainName`]: lower case, IDNA U-labels converted to A-labels (RFC 5891), no trailing dot,
//! each label 1–63 octets and the whole name at most 253 octets (RFC 1035 §2.3.4). The rest of
//! the code takes the normalised type, so comparisons are plain string equality.
//!
//! IP literals are not names: [`Destination::parse`] recognises `1.2.3.4`, `[1.2.3.4]`,
//! `[ipv6:2001:db8::1]`, `[host]` and `[host]:port`, so that they are never looked up as names.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// Maximum length of a domain name in presentation form, without the trailing dot (RFC 1035).
pub const MAX_NAME_LEN: usize = 253;
/// Maximum length of one label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// A normalised, syntactically valid domain name (A-labels, lower case, no trailing dot).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

/// Why a string is not a valid domain name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The input was empty (or only a dot).
    #[error("empty domain name")]
    Empty,
    /// The name is longer than 253 octets.
    #[error("domain name is {0} octets long; the limit is 253")]
    TooLong(usize),
    /// A label is empty (two dots in a row, or a leading dot).
    #[error("empty label in {0:?}")]
    EmptyLabel(String),
    /// A label is longer than 63 octets.
    #[error("label {0:?} is longer than 63 octets")]
    LabelTooLong(String),
    /// A character that a host name may not contain.
    #[error("invalid character {ch:?} in {name:?}")]
    InvalidChar {
        /// The offending character.
        ch: char,
        /// The name as given.
        name: String,
    },
    /// IDNA (RFC 5891) conversion to A-labels failed.
    #[error("{0:?} is not a valid internationalised domain name")]
    Idna(String),
    /// The input is an IP address, not a name.
    #[error("{0:?} is an IP address, not a domain name")]
    IpLiteral(String),
}

impl DomainName {
    /// Parses and normalises a domain name.
    ///
    /// Accepts U-labels (converted to A-labels), upper case, and one trailing dot. Underscore
    /// labels are accepted (`_mta-sts`, `_25._tcp`), since mxsec builds such owner names too.
    ///
    /// # Errors
    ///
    /// Returns a [`NameError`] that says what is wrong with the input.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let trimmed = input.strip_suffix('.').unwrap_or(input);
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        if trimmed.parse::<IpAddr>().is_ok() {
            return Err(NameError::IpLiteral(input.to_owned()));
        }
        let ascii = if trimmed.is_ascii() {
            trimmed.to_ascii_lowercase()
        } else {
            idna::domain_to_ascii_strict(trimmed).map_err(|_| NameError::Idna(input.to_owned()))?
        };
        if ascii.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong(ascii.len()));
        }
        for label in ascii.split('.') {
            if label.is_empty() {
                return Err(NameError::EmptyLabel(input.to_owned()));
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong(label.to_owned()));
            }
            if let Some(ch) = label
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
            {
                return Err(NameError::InvalidChar {
                    ch,
                    name: input.to_owned(),
                });
            }
        }
        Ok(Self(ascii))
    }

    /// The name in normalised presentation form, without a trailing dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The labels, left to right.
    pub fn labels(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.0.split('.')
    }

    /// The number of labels.
    pub fn label_count(&self) -> usize {
        self.0.split('.').count()
    }

    /// The name without its left-most label, or `None` for a single-label name.
    pub fn parent(&self) -> Option<Self> {
        self.0
            .split_once('.')
            .map(|(_, rest)| Self(rest.to_owned()))
    }

    /// `prefix.self`, e.g. `DomainName::parse("example.com")?.prepend("_mta-sts")`.
    ///
    /// # Errors
    ///
    /// Fails if the prefix is not a valid label sequence or the result is too long.
    pub fn prepend(&self, prefix: &str) -> Result<Self, NameError> {
        Self::parse(&format!("{prefix}.{}", self.0))
    }

    /// Whether `self` is `other` or a name below it.
    pub fn is_subdomain_of(&self, other: &Self) -> bool {
        self == other
            || (self.0.len() > other.0.len()
                && self.0.ends_with(other.0.as_str())
                && self.0.as_bytes()[self.0.len() - other.0.len() - 1] == b'.')
    }

    /// The name as a fully qualified string with a trailing dot, as DNS libraries want it.
    pub fn to_fqdn(&self) -> String {
        format!("{}.", self.0)
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DomainName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for DomainName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for DomainName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for DomainName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A next-hop destination as a sending MTA (or Postfix's policy lookup key) names it.
///
/// RFC 8461 §3.4 (STS-SEL-01): address literals have no policy. Postfix keys may carry
/// brackets (`[host]` suppresses the MX lookup) and a port (POSTFIX.md §4.1, PFX-08).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Destination {
    /// A domain name whose MX records are looked up (the usual recipient domain).
    Domain(DomainName),
    /// `[host]` or `[host]:port`: deliver to this host directly, no MX lookup.
    Host {
        /// The host name inside the brackets.
        host: DomainName,
        /// The port, when one was given.
        port: Option<u16>,
    },
    /// An IP address literal (`1.2.3.4`, `[1.2.3.4]`, `[ipv6:2001:db8::1]`).
    Address(IpAddr),
}

impl Destination {
    /// Parses a destination: a domain, `[host]`, `[host]:port`, `host:port`, or an IP literal.
    ///
    /// # Errors
    ///
    /// Fails when the name part is not a valid domain name.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let input = input.trim();
        if let Some(rest) = input.strip_prefix('[') {
            let (inside, after) = rest.split_once(']').ok_or_else(|| NameError::InvalidChar {
                ch: '[',
                name: input.to_owned(),
            })?;
            let port = match after {
                "" => None,
                p => Some(parse_port(p, input)?),
            };
            let lower = inside.to_ascii_lowercase();
            let addr_text = lower.strip_prefix("ipv6:").unwrap_or(&lower);
            if let Ok(ip) = addr_text.parse::<IpAddr>() {
                return Ok(Self::Address(ip));
            }
            return Ok(Self::Host {
                host: DomainName::parse(inside)?,
                port,
            });
        }
        if let Ok(ip) = input.parse::<IpAddr>() {
            return Ok(Self::Address(ip));
        }
        if let Some((host, port)) = input.rsplit_once(':') {
            let port = parse_port(&format!(":{port}"), input)?;
            return Ok(Self::Host {
                host: DomainName::parse(host)?,
                port: Some(port),
            });
        }
        Ok(Self::Domain(DomainName::parse(input)?))
    }
}

fn parse_port(text: &str, whole: &str) -> Result<u16, NameError> {
    text.strip_prefix(':')
        .and_then(|p| p.parse::<u16>().ok())
        .ok_or_else(|| NameError::InvalidChar {
            ch: ':',
            name: whole.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_trailing_dot() {
        let n = DomainName::parse("Mail.Example.COM.").unwrap();
        assert_eq!(n.as_str(), "mail.example.com");
        assert_eq!(n.to_fqdn(), "mail.example.com.");
    }

    #[test]
    fn converts_u_labels_to_a_labels() {
        let n = DomainName::parse("bücher.example").unwrap();
        assert_eq!(n.as_str(), "xn--bcher-kva.example");
    }

    #[test]
    fn rejects_bad_names() {
        assert_eq!(DomainName::parse(""), Err(NameError::Empty));
        assert_eq!(DomainName::parse("."), Err(NameError::Empty));
        assert!(matches!(
            DomainName::parse("a..b"),
            Err(NameError::EmptyLabel(_))
        ));
        assert!(matches!(
            DomainName::parse(&"a".repeat(64)),
            Err(NameError::LabelTooLong(_))
        ));
        let long = vec!["abcdefghi"; 26].join(".");
        assert!(matches!(
            DomainName::parse(&long),
            Err(NameError::TooLong(_))
        ));
        assert!(matches!(
            DomainName::parse("a b.example"),
            Err(NameError::InvalidChar { .. })
        ));
        assert!(matches!(
            DomainName::parse("192.0.2.1"),
            Err(NameError::IpLiteral(_))
        ));
    }

    #[test]
    fn subdomain_relation() {
        let a = DomainName::parse("a.example.com").unwrap();
        let b = DomainName::parse("example.com").unwrap();
        let c = DomainName::parse("xample.com").unwrap();
        assert!(a.is_subdomain_of(&b));
        assert!(b.is_subdomain_of(&b));
        assert!(!b.is_subdomain_of(&a));
        assert!(!b.is_subdomain_of(&c) || b == c);
        assert!(!DomainName::parse("bexample.com")
            .unwrap()
            .is_subdomain_of(&b));
        assert_eq!(a.parent(), Some(b));
    }

    #[test]
    fn pfx_08_destination_forms() {
        use std::net::{Ipv4Addr, Ipv6Addr};
        assert_eq!(
            Destination::parse("Example.COM").unwrap(),
            Destination::Domain(DomainName::parse("example.com").unwrap())
        );
        assert_eq!(
            Destination::parse("[mx.example.com]:587").unwrap(),
            Destination::Host {
                host: DomainName::parse("mx.example.com").unwrap(),
                port: Some(587)
            }
        );
        assert_eq!(
            Destination::parse("[192.0.2.1]").unwrap(),
            Destination::Address(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
        );
        assert_eq!(
            Destination::parse("[IPv6:2001:db8::1]").unwrap(),
            Destination::Address(IpAddr::V6("2001:db8::1".parse::<Ipv6Addr>().unwrap()))
        );
        assert_eq!(
            Destination::parse("192.0.2.7").unwrap(),
            Destination::Address(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)))
        );
    }
}
