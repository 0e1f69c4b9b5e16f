//! Validation of the domain a visitor asks about: domain syntax and IDN (RFC 5890/5891), via
//! [`DomainName::parse`], plus what a mail domain needs beyond syntax.

use mxsec_proto::name::{DomainName, NameError};

/// The longest input read, in bytes. A domain name is at most 253 octets in A-labels; the
/// U-label form of an internationalised name can be longer, but not by this much.
pub(crate) const MAX_INPUT: usize = 1024;

/// Why a visitor's input is not a domain that can be checked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InputError {
    /// Nothing was typed.
    #[error("type a domain name, such as example.com")]
    Empty,
    /// The input is longer than [`MAX_INPUT`].
    #[error("that is too long to be a domain name")]
    TooLong,
    /// Not a valid name.
    #[error("that is not a domain name: {0}")]
    Name(#[from] NameError),
    /// A single label, such as `localhost` or `com`.
    #[error("{0} is a single label; type a domain with a dot, such as example.com")]
    SingleLabel(String),
    /// A label starting with an underscore names a service record, not a mail domain.
    #[error("{0} names a service record (a label starts with \"_\"); type the mail domain itself")]
    ServiceLabel(String),
}

/// Parses what a visitor typed into the domain to check.
///
/// Surrounding white space is ignored, and an e-mail address stands for its domain
/// (`postmaster@example.com` checks `example.com`). Names are normalised to lower-case
/// A-labels, so `Bücher.Example` and `xn--bcher-kva.example` are the same check.
///
/// # Errors
///
/// An [`InputError`] saying what is wrong, fit to show to the visitor (escaped).
pub(crate) fn parse_domain(input: &str) -> Result<DomainName, InputError> {
    if input.len() > MAX_INPUT {
        return Err(InputError::TooLong);
    }
    let trimmed = input.trim();
    let name = trimmed
        .rsplit_once('@')
        .map_or(trimmed, |(_, domain)| domain);
    if name.is_empty() {
        return Err(InputError::Empty);
    }
    let domain = DomainName::parse(name)?;
    if domain.label_count() < 2 {
        return Err(InputError::SingleLabel(domain.to_string()));
    }
    if domain.labels().any(|label| label.starts_with('_')) {
        return Err(InputError::ServiceLabel(domain.to_string()));
    }
    // An A-label must decode to a valid U-label (RFC 5891 §5.4); `DomainName` checks only
    // the letters, digits and hyphens of ASCII input.
    let (_, decoded) = idna::domain_to_unicode(domain.as_str());
    if decoded.is_err() {
        return Err(InputError::Name(NameError::Idna(domain.to_string())));
    }
    Ok(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_input_normalises_case_idn_trailing_dot_and_addresses() {
        for (input, expected) in [
            ("example.com", "example.com"),
            ("  Example.COM.  ", "example.com"),
            ("postmaster@Example.com", "example.com"),
            ("Bücher.example", "xn--bcher-kva.example"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("ok.test", "ok.test"),
        ] {
            assert_eq!(parse_domain(input).unwrap().as_str(), expected, "{input}");
        }
    }

    #[test]
    fn web_input_refuses_what_is_not_a_mail_domain() {
        for input in [
            "",
            "   ",
            "user@",
            "localhost",
            "com",
            "192.0.2.1",
            "[::1]",
            "exa mple.com",
            "example..com",
            "<script>.com",
            "_mta-sts.example.com",
            "a/../b.example",
            "http://example.com/",
            "xn--zz.example",
        ] {
            assert!(parse_domain(input).is_err(), "{input:?} accepted");
        }
        assert!(matches!(
            parse_domain(&"a".repeat(MAX_INPUT + 1)),
            Err(InputError::TooLong)
        ));
        assert!(matches!(
            parse_domain(&format!("{}.com", "a".repeat(64))),
            Err(InputError::Name(_))
        ));
    }
}
