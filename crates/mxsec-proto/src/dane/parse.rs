//! TLSA records in presentation (text) and wire (RDATA) form, both ways.
//!
//! Presentation form (RFC 6698 §2.2): `usage selector matching-type data`, the three fields as
//! decimal numbers (or their RFC 7218 acronyms, `DANE-EE SPKI SHA2-256`), the data as hex that
//! may contain whitespace:
//!
//! ```text
//! 3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6
//! ```
//!
//! Wire form (RFC 6698 §2.1): one octet each for usage, selector and matching type, then the
//! certificate association data. Both parsers are bounded (a TLSA RDATA is at most 65535
//! octets) and return a [`TlsaParseError`] that names the field and the offending value.
//! Rendering gives the canonical text: numbers, upper-case hex, no spaces inside the data,
//! which is also the form of an RFC 8460 §4.4 `policy-string` element (RPT-JSON-02).

use std::fmt;
use std::str::FromStr;

use super::tlsa::TlsaRecord;

/// Largest TLSA RDATA (RFC 1035 §3.2.1: RDLENGTH is 16 bits).
pub const MAX_RDATA_LEN: usize = 65_535;
/// Largest certificate association data: the RDATA minus the three one-octet fields.
pub const MAX_DATA_LEN: usize = MAX_RDATA_LEN - 3;
/// Largest presentation-form input accepted: two hex digits per octet plus room for spacing.
pub const MAX_PRESENTATION_LEN: usize = 4 * MAX_RDATA_LEN;

/// A field of a TLSA record, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsaField {
    /// The certificate usage.
    Usage,
    /// The selector.
    Selector,
    /// The matching type.
    MatchingType,
    /// The certificate association data.
    Data,
}

impl fmt::Display for TlsaField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Usage => "certificate usage",
            Self::Selector => "selector",
            Self::MatchingType => "matching type",
            Self::Data => "certificate association data",
        })
    }
}

/// Why a TLSA record could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsaParseError {
    /// The text is longer than [`MAX_PRESENTATION_LEN`].
    #[error("TLSA record text is {0} bytes long; the limit is {MAX_PRESENTATION_LEN}")]
    TooLong(usize),
    /// A field is missing.
    #[error(
        "TLSA record lacks the {0}; expected `usage selector matching-type hex-data`, \
         e.g. `3 1 1 0C72...D3D6`"
    )]
    MissingField(TlsaField),
    /// A numeric field is not a number from 0 to 255 nor an RFC 7218 acronym.
    #[error("invalid {field} {value:?}: expected a number from 0 to 255 or an RFC 7218 acronym")]
    InvalidField {
        /// The field.
        field: TlsaField,
        /// The text found (at most 32 characters of it).
        value: String,
    },
    /// The data contains a character that is neither a hex digit nor whitespace.
    #[error(
        "invalid character {ch:?} at position {position} of the certificate association data; \
         only hex digits and spaces are allowed"
    )]
    InvalidHex {
        /// The offending character.
        ch: char,
        /// Its position (in characters) within the data field, counting from 1.
        position: usize,
    },
    /// The data has an odd number of hex digits.
    #[error("certificate association data has an odd number of hex digits ({0})")]
    OddHexLength(usize),
    /// The data is longer than [`MAX_DATA_LEN`] octets.
    #[error("certificate association data is {0} octets; the limit is {MAX_DATA_LEN}")]
    DataTooLong(usize),
    /// Wire RDATA shorter than the three fixed octets.
    #[error("TLSA RDATA is {0} octets; it needs at least 3 (usage, selector, matching type)")]
    WireTooShort(usize),
    /// Wire RDATA longer than [`MAX_RDATA_LEN`].
    #[error("TLSA RDATA is {0} octets; the limit is {MAX_RDATA_LEN}")]
    WireTooLong(usize),
}

impl TlsaRecord {
    /// Parses the presentation form `usage selector matching-type hex-data` (RFC 6698 §2.2).
    ///
    /// The three fields are decimal numbers or RFC 7218 acronyms (case-insensitive); the data is
    /// hex, upper or lower case, and may contain whitespace. Records with values that are
    /// syntactically fine but unusable (usage 7, a 31-octet SHA2-256 digest) parse; deciding
    /// usability is [`super::usable::classify`]'s job (DANE-TLSA-01).
    ///
    /// # Errors
    ///
    /// A [`TlsaParseError`] naming the field and the offending value.
    pub fn parse(text: &str) -> Result<Self, TlsaParseError> {
        if text.len() > MAX_PRESENTATION_LEN {
            return Err(TlsaParseError::TooLong(text.len()));
        }
        let mut rest = text.trim_start();
        let mut next_field = |field: TlsaField| -> Result<&str, TlsaParseError> {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let (token, tail) = rest.split_at(end);
            rest = tail.trim_start();
            if token.is_empty() {
                Err(TlsaParseError::MissingField(field))
            } else {
                Ok(token)
            }
        };
        let usage = field_value(next_field(TlsaField::Usage)?, TlsaField::Usage)?;
        let selector = field_value(next_field(TlsaField::Selector)?, TlsaField::Selector)?;
        let matching = field_value(
            next_field(TlsaField::MatchingType)?,
            TlsaField::MatchingType,
        )?;
        let data = decode_hex(rest)?;
        Ok(Self {
            usage: usage.into(),
            selector: selector.into(),
            matching: matching.into(),
            data,
        })
    }

    /// Parses wire-format RDATA (RFC 6698 §2.1).
    ///
    /// Empty association data is accepted here (the wire format allows it) and is then
    /// unusable (DANE-TLSA-01).
    ///
    /// # Errors
    ///
    /// [`TlsaParseError::WireTooShort`] or [`TlsaParseError::WireTooLong`].
    pub fn from_wire(rdata: &[u8]) -> Result<Self, TlsaParseError> {
        if rdata.len() > MAX_RDATA_LEN {
            return Err(TlsaParseError::WireTooLong(rdata.len()));
        }
        match rdata {
            [usage, selector, matching, data @ ..] => Ok(Self {
                usage: (*usage).into(),
                selector: (*selector).into(),
                matching: (*matching).into(),
                data: data.to_vec(),
            }),
            _ => Err(TlsaParseError::WireTooShort(rdata.len())),
        }
    }

    /// The wire-format RDATA (RFC 6698 §2.1).
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 + self.data.len());
        out.push(self.usage.into());
        out.push(self.selector.into());
        out.push(self.matching.into());
        out.extend_from_slice(&self.data);
        out
    }

    /// The association data as upper-case hex without spaces.
    pub fn data_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        let mut out = String::with_capacity(2 * self.data.len());
        for b in &self.data {
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
        out
    }
}

/// Canonical presentation form: `3 1 1 0C72...` (numbers, upper-case hex, no inner spaces).
/// A record with empty data (possible only on the wire) renders with an empty data field.
impl fmt::Display for TlsaRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            u8::from(self.usage),
            u8::from(self.selector),
            u8::from(self.matching),
            self.data_hex()
        )
    }
}

impl FromStr for TlsaRecord {
    type Err = TlsaParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// RFC 7218 §2 acronyms, upper case, with their values.
const ACRONYMS: [(TlsaField, &str, u8); 11] = [
    (TlsaField::Usage, "PKIX-TA", 0),
    (TlsaField::Usage, "PKIX-EE", 1),
    (TlsaField::Usage, "DANE-TA", 2),
    (TlsaField::Usage, "DANE-EE", 3),
    (TlsaField::Usage, "PRIVCERT", 255),
    (TlsaField::Selector, "CERT", 0),
    (TlsaField::Selector, "SPKI", 1),
    (TlsaField::Selector, "PRIVSEL", 255),
    (TlsaField::MatchingType, "FULL", 0),
    (TlsaField::MatchingType, "SHA2-256", 1),
    (TlsaField::MatchingType, "SHA2-512", 2),
];

fn field_value(token: &str, field: TlsaField) -> Result<u8, TlsaParseError> {
    if let Ok(n) = token.parse::<u8>() {
        // `u8::from_str` accepts a leading `+`; the presentation format does not.
        if token.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(n);
        }
    }
    let upper = token.to_ascii_uppercase();
    let private_match = field == TlsaField::MatchingType && upper == "PRIVMATCH";
    if private_match {
        return Ok(255);
    }
    ACRONYMS
        .iter()
        .find(|(f, name, _)| *f == field && *name == upper)
        .map(|(_, _, value)| *value)
        .ok_or_else(|| TlsaParseError::InvalidField {
            field,
            value: token.chars().take(32).collect(),
        })
}

fn decode_hex(text: &str) -> Result<Vec<u8>, TlsaParseError> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    let mut digits = 0usize;
    for (i, ch) in text.chars().enumerate() {
        if ch.is_whitespace() {
            continue;
        }
        let nibble = ch.to_digit(16).and_then(|d| u8::try_from(d).ok()).ok_or(
            TlsaParseError::InvalidHex {
                ch,
                position: i + 1,
            },
        )?;
        digits += 1;
        match high.take() {
            None => high = Some(nibble),
            Some(h) => out.push((h << 4) | nibble),
        }
    }
    if digits == 0 {
        return Err(TlsaParseError::MissingField(TlsaField::Data));
    }
    if high.is_some() {
        return Err(TlsaParseError::OddHexLength(digits));
    }
    if out.len() > MAX_DATA_LEN {
        return Err(TlsaParseError::DataTooLong(out.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dane::tlsa::{CertUsage, MatchingType, Selector};

    const HASH: &str = "0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6";

    #[test]
    fn dane_tlsa_03_parses_3_1_1_and_renders_canonically() {
        let r = TlsaRecord::parse(&format!("3 1 1 {HASH}")).unwrap();
        assert_eq!(r.usage, CertUsage::DaneEe);
        assert_eq!(r.selector, Selector::Spki);
        assert_eq!(r.matching, MatchingType::Sha256);
        assert_eq!(r.data.len(), 32);
        assert_eq!(r.to_string(), format!("3 1 1 {HASH}"));
    }

    #[test]
    fn dane_tlsa_01_hex_may_contain_whitespace_and_lower_case() {
        let spaced =
            "  2 0 1   0c72ac70 b745ac19\t998811b1 31d662c9\nac69dbdb e7cb23e5 b514b566 64c5d3d6 ";
        let r = TlsaRecord::parse(spaced).unwrap();
        assert_eq!(r.usage, CertUsage::DaneTa);
        assert_eq!(r.to_string(), format!("2 0 1 {HASH}"));
    }

    #[test]
    fn dane_tlsa_01_rfc7218_acronyms_are_accepted() {
        let r = TlsaRecord::parse(&format!("dane-ee SPKI sha2-256 {HASH}")).unwrap();
        assert_eq!(r.to_string(), format!("3 1 1 {HASH}"));
        let r = TlsaRecord::parse("PrivCert PrivSel PrivMatch 00").unwrap();
        assert_eq!(r.to_string(), "255 255 255 00");
    }

    #[test]
    fn dane_tlsa_01_unknown_values_parse_for_the_usability_filter() {
        let r = TlsaRecord::parse("7 9 4 AB").unwrap();
        assert_eq!(r.usage, CertUsage::Unassigned(7));
        assert_eq!(r.selector, Selector::Unassigned(9));
        assert_eq!(r.matching, MatchingType::Unassigned(4));
    }

    #[test]
    fn dane_tlsa_01_parse_errors_name_the_field_and_value() {
        assert_eq!(
            TlsaRecord::parse("3 1"),
            Err(TlsaParseError::MissingField(TlsaField::MatchingType))
        );
        assert_eq!(
            TlsaRecord::parse("3 1 1"),
            Err(TlsaParseError::MissingField(TlsaField::Data))
        );
        assert_eq!(
            TlsaRecord::parse("256 1 1 AB"),
            Err(TlsaParseError::InvalidField {
                field: TlsaField::Usage,
                value: "256".into()
            })
        );
        assert_eq!(
            TlsaRecord::parse("3 +1 1 AB"),
            Err(TlsaParseError::InvalidField {
                field: TlsaField::Selector,
                value: "+1".into()
            })
        );
        assert_eq!(
            TlsaRecord::parse("SPKI 1 1 AB"),
            Err(TlsaParseError::InvalidField {
                field: TlsaField::Usage,
                value: "SPKI".into()
            })
        );
        assert_eq!(
            TlsaRecord::parse("3 1 1 ABG0"),
            Err(TlsaParseError::InvalidHex {
                ch: 'G',
                position: 3
            })
        );
        assert_eq!(
            TlsaRecord::parse("3 1 1 ABC"),
            Err(TlsaParseError::OddHexLength(3))
        );
        assert_eq!(
            TlsaRecord::parse(""),
            Err(TlsaParseError::MissingField(TlsaField::Usage))
        );
    }

    #[test]
    fn dane_tlsa_01_input_and_data_are_bounded() {
        let long = format!("3 1 1 {}", "A".repeat(MAX_PRESENTATION_LEN));
        assert!(matches!(
            TlsaRecord::parse(&long),
            Err(TlsaParseError::TooLong(_))
        ));
        let big = format!("3 0 0 {}", "AB".repeat(MAX_DATA_LEN + 1));
        assert_eq!(
            TlsaRecord::parse(&big),
            Err(TlsaParseError::DataTooLong(MAX_DATA_LEN + 1))
        );
    }

    #[test]
    fn dane_tlsa_01_wire_round_trip_and_bounds() {
        let r = TlsaRecord::parse(&format!("3 1 1 {HASH}")).unwrap();
        let wire = r.to_wire();
        assert_eq!(&wire[..3], &[3, 1, 1]);
        assert_eq!(TlsaRecord::from_wire(&wire).unwrap(), r);
        assert_eq!(
            TlsaRecord::from_wire(&[3, 1]),
            Err(TlsaParseError::WireTooShort(2))
        );
        let empty = TlsaRecord::from_wire(&[3, 1, 1]).unwrap();
        assert!(empty.data.is_empty());
        assert_eq!(
            TlsaRecord::from_wire(&vec![0; MAX_RDATA_LEN + 1]),
            Err(TlsaParseError::WireTooLong(MAX_RDATA_LEN + 1))
        );
    }

    proptest::proptest! {
        #[test]
        fn dane_tlsa_01_parsers_never_panic_on_arbitrary_input(s in "\\PC{0,200}", b in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = TlsaRecord::parse(&s);
            if let Ok(r) = TlsaRecord::from_wire(&b) {
                proptest::prop_assert_eq!(r.to_wire(), b);
            }
        }

        #[test]
        fn rpt_json_02_presentation_round_trips(u: u8, s: u8, m: u8, data in proptest::collection::vec(proptest::num::u8::ANY, 1..100)) {
            let r = TlsaRecord { usage: u.into(), selector: s.into(), matching: m.into(), data };
            proptest::prop_assert_eq!(TlsaRecord::parse(&r.to_string()), Ok(r));
        }
    }
}
