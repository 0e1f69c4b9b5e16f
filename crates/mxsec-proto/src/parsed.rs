//! A parsed value together with the non-fatal problems found while parsing it.
//!
//! The RFCs mxsec implements often say "ignore" where a checker should still say "warn": a
//! duplicated MTA-STS policy key (RFC 8461 §3.2, STS-POL-08), whitespace before the first `;`
//! of a TXT record (erratum 6285, STS-TXT-05), a `max_age` above the limit (STS-POL-06). Parsers
//! return the value a sending MTA must use *and* the list of such deviations, like
//! `ignore::Error::Partial` in ripgrep, so that the daemon and the checker share one parser.

/// A successfully parsed value and the warnings collected on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Parsed<T, W> {
    /// The value, exactly as a conforming receiver must interpret the input.
    pub value: T,
    /// Deviations that did not make the input invalid, in input order.
    pub warnings: Vec<W>,
}

impl<T, W> Parsed<T, W> {
    /// A value with no warnings.
    pub fn clean(value: T) -> Self {
        Self {
            value,
            warnings: Vec::new(),
        }
    }

    /// The value, dropping the warnings.
    pub fn into_value(self) -> T {
        self.value
    }
}
