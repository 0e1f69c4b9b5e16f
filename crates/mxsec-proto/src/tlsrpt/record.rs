//! The TLS-RPT TXT record at `_smtp._tls.<policy domain>` (RFC 8460 §3).
//!
//! ```text
//! tlsrpt-record     = tlsrpt-version 1*(field-delim tlsrpt-field)
//!                     [field-delim]
//! field-delim       = *WSP ";" *WSP
//! tlsrpt-field      = tlsrpt-rua /        ; Note: Required
//!                     tlsrpt-extension
//! tlsrpt-version    = %s"v=TLSRPTv1"
//! tlsrpt-rua        = %s"rua="
//!                     tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
//! tlsrpt-uri        = URI
//!                   ; "URI" is imported from [RFC3986];
//!                   ; commas (ASCII 0x2C), exclamation
//!                   ; points (ASCII 0x21), and semicolons
//!                   ; (ASCII 0x3B) MUST be encoded
//! tlsrpt-extension  = tlsrpt-ext-name "=" tlsrpt-ext-value
//! tlsrpt-ext-name   = (ALPHA / DIGIT) *31(ALPHA /
//!                     DIGIT / "_" / "-" / ".")
//! tlsrpt-ext-value  = 1*(%x21-3A / %x3C / %x3E-7E)
//!                     ; chars excluding "=", ";", SP, and control
//!                     ; chars
//! ```
//!
//! Selection over the RRset is as for MTA-STS (RPT-TXT-04): strings concatenate without
//! separator, records not beginning with `v=TLSRPTv1;` are dropped, and if not exactly one
//! remains the domain does not do TLS-RPT. [`render_record`] writes a record from a list of
//! URIs with the percent-encoding RPT-TXT-03 requires.

use std::fmt;

use crate::mta_sts::record::{
    select, split_fields, trim_wsp_end, trim_wsp_start, Extension, ExtensionError, FieldSyntax,
    IgnoredRecord, Selection,
};
use crate::name::{DomainName, NameError};
use crate::parsed::Parsed;

/// The version field every TLS-RPT record begins with (RPT-TXT-02).
pub const VERSION: &str = "v=TLSRPTv1";

/// The labels prepended to the policy domain to find the record (RPT-TXT-01).
pub const OWNER_LABEL: &str = "_smtp._tls";

/// The draft-era owner label, which senders do not look up (RPT-TXT-01; SCENARIOS.md R-01).
pub const LEGACY_OWNER_LABEL: &str = "_smtp-tlsrpt";

/// The owner name of the TLS-RPT record: `_smtp._tls.<domain>` (RFC 8460 §3, RPT-TXT-01).
///
/// # Errors
///
/// Fails when the result would be longer than a domain name may be.
pub fn txt_owner(domain: &DomainName) -> Result<DomainName, NameError> {
    domain.prepend(OWNER_LABEL)
}

/// A valid TLS-RPT record (RFC 8460 §3).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct TlsRptRecord {
    /// Where reports go, in record order; never empty (RPT-TXT-02/03).
    pub rua: Vec<ReportUri>,
    /// Extension fields, whose meaning is unknown and ignored (RPT-TXT-05).
    pub extensions: Vec<Extension>,
}

/// The scheme of a reporting URI: the two RFC 8460 §3 allows (RPT-TXT-03).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UriScheme {
    /// `mailto:`: the report is mailed (RFC 8460 §5.3).
    Mailto,
    /// `https:`: the report is POSTed (RFC 8460 §5.4).
    Https,
}

/// One `rua` URI, as published (percent-encoded) (RPT-TXT-03).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReportUri {
    scheme: UriScheme,
    uri: String,
}

/// A deviation that leaves the record usable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsRptWarning {
    /// Whitespace between `v=TLSRPTv1` and `;`: valid ABNF, but fails the prose prefix test
    /// "begin with `v=TLSRPTv1;`", so some senders ignore the record (RPT-TXT-04).
    #[error("whitespace between `v=TLSRPTv1` and `;`: allowed by the ABNF, but senders that test for the prefix `v=TLSRPTv1;` ignore the record; write `v=TLSRPTv1;`")]
    WhitespaceBeforeSemicolon,
    /// More than one `rua` field; the ABNF allows it, their URIs are merged (RPT-TXT-02).
    #[error("several `rua` fields; their URIs are combined, but some senders use only one: list all URIs in one `rua`, separated by `,`")]
    SeveralRuaFields,
    /// Another TXT record at the same name looks like a botched TLS-RPT record (RPT-TXT-04).
    #[error("{0}")]
    IgnoredRecord(IgnoredRecord),
}

/// Why one TXT record is not a valid TLS-RPT record (RFC 8460 §3).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsRptError {
    /// A character outside US-ASCII (RPT-TXT-02).
    #[error("the record contains {0:?}; it must be US-ASCII")]
    NotAscii(char),
    /// The record does not begin with `v=TLSRPTv1` followed by `;` (RPT-TXT-02).
    #[error("the record must begin with `v=TLSRPTv1;`")]
    MissingVersion,
    /// Two `;` with nothing between them (RPT-TXT-02).
    #[error("empty field between two `;`")]
    EmptyField,
    /// A field without `=` (RPT-TXT-02).
    #[error("field {0:?} is not of the form `name=value`")]
    MalformedField(String),
    /// A field without `=` right after `rua`: most likely an unencoded `;` inside a URI
    /// (RPT-TXT-03).
    #[error("field {0:?} after `rua` is not of the form `name=value`; a `;` inside a URI must be written %3B")]
    UnencodedSemicolon(String),
    /// Spaces around `=` (RPT-TXT-02).
    #[error("field {0:?} has whitespace around `=`; write `name=value`")]
    WhitespaceAroundEquals(String),
    /// Whitespace after the last field (RPT-TXT-02).
    #[error("whitespace after the last field; remove it, or end the record with `;`")]
    TrailingWhitespace,
    /// No `rua` field (RPT-TXT-02).
    #[error("the required `rua` field is missing{}", similar.as_ref().map(|s| format!(" (found {s:?}; field names are case-sensitive)")).unwrap_or_default())]
    MissingRua {
        /// A field whose name differs from `rua` only in letter case.
        similar: Option<String>,
    },
    /// A `rua` URI is invalid (RPT-TXT-03).
    #[error("invalid `rua` URI: {0}")]
    InvalidUri(#[from] UriError),
    /// An extension field is malformed (RPT-TXT-05).
    #[error(transparent)]
    Extension(#[from] ExtensionError),
}

/// Why a string is not a valid reporting URI (RFC 8460 §3, RPT-TXT-03).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// Nothing between two commas, or after `rua=`.
    #[error("empty URI (a stray `,`?)")]
    Empty,
    /// No scheme, e.g. `tls@example.com`.
    #[error("{0:?} has no scheme; write `mailto:` or `https:` before it (or %2C if a `,` inside the previous URI split it)")]
    MissingScheme(String),
    /// A scheme other than `mailto:` and `https:`.
    #[error("{uri:?} uses scheme `{scheme}:`; only `mailto:` and `https:` are allowed")]
    UnsupportedScheme {
        /// The URI.
        uri: String,
        /// Its scheme.
        scheme: String,
    },
    /// A `,`, `!` or `;` that must be percent-encoded.
    #[error("{uri:?} contains {ch:?}, which must be percent-encoded as %{:02X}", u32::from(*ch))]
    Unencoded {
        /// The URI.
        uri: String,
        /// The character.
        ch: char,
    },
    /// Whitespace inside the URI, e.g. two URIs separated by a space.
    #[error("{0:?} contains whitespace; separate URIs with `,`")]
    Whitespace(String),
    /// A character URIs may not contain (RFC 3986 §2).
    #[error("{uri:?} contains {ch:?}, which is not allowed in a URI")]
    InvalidChar {
        /// The URI.
        uri: String,
        /// The character.
        ch: char,
    },
    /// A `%` not followed by two hex digits.
    #[error("{0:?} has a `%` not followed by two hex digits")]
    BadPercentEncoding(String),
    /// `mailto:` without an address.
    #[error("{0:?} has no mail address after `mailto:`")]
    MissingAddress(String),
    /// `https:` without `//host`.
    #[error("{0:?} has no host; write `https://host/path`")]
    MissingHost(String),
}

/// Why a TXT RRset yields no TLS-RPT record (RFC 8460 §3, RPT-TXT-04).
///
/// In every case the domain does not do TLS-RPT as far as senders are concerned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoTlsRpt {
    /// No record begins with `v=TLSRPTv1;`.
    #[error("no TXT record begins with `v=TLSRPTv1;`{}", near_misses.iter().map(|m| format!("; {m}")).collect::<String>())]
    NoRecord {
        /// Dropped records that look like attempts at a TLS-RPT record.
        near_misses: Vec<IgnoredRecord>,
    },
    /// More than one record begins with `v=TLSRPTv1;`.
    #[error("{} TXT records begin with `v=TLSRPTv1;`; senders then see none: publish exactly one", records.len())]
    SeveralRecords {
        /// The competing records.
        records: Vec<String>,
    },
    /// Exactly one record, and it is invalid.
    #[error("TXT record {record:?} is invalid: {error}")]
    Invalid {
        /// The record (strings concatenated).
        record: String,
        /// What is wrong with it.
        error: TlsRptError,
    },
}

impl TlsRptRecord {
    /// Selects and parses the TLS-RPT record from a TXT RRset (RFC 8460 §3; RPT-TXT-04).
    ///
    /// Each record is given as its list of character-strings, concatenated without separator.
    ///
    /// # Errors
    ///
    /// Returns a [`NoTlsRpt`] that says why the domain does not do TLS-RPT.
    pub fn from_txt_rrset<R: AsRef<[Vec<u8>]>>(
        records: &[R],
    ) -> Result<Parsed<Self, TlsRptWarning>, NoTlsRpt> {
        let Selection {
            mut candidates,
            near_misses,
        } = select(records, VERSION);
        let record = match candidates.len() {
            0 => return Err(NoTlsRpt::NoRecord { near_misses }),
            1 => candidates.remove(0),
            _ => {
                return Err(NoTlsRpt::SeveralRecords {
                    records: candidates,
                })
            }
        };
        let mut parsed = match Self::parse(&record) {
            Ok(parsed) => parsed,
            Err(error) => return Err(NoTlsRpt::Invalid { record, error }),
        };
        parsed
            .warnings
            .extend(near_misses.into_iter().map(TlsRptWarning::IgnoredRecord));
        Ok(parsed)
    }

    /// Parses one record, its strings already concatenated (RPT-TXT-02/03/05).
    ///
    /// # Errors
    ///
    /// Returns a [`TlsRptError`] naming the field or URI that is wrong.
    pub fn parse(text: &str) -> Result<Parsed<Self, TlsRptWarning>, TlsRptError> {
        if let Some(ch) = text.chars().find(|c| !c.is_ascii()) {
            return Err(TlsRptError::NotAscii(ch));
        }
        let fields = split_fields(text, VERSION).map_err(|e| match e {
            FieldSyntax::MissingVersion => TlsRptError::MissingVersion,
            FieldSyntax::EmptyField => TlsRptError::EmptyField,
            FieldSyntax::TrailingWhitespace => TlsRptError::TrailingWhitespace,
            FieldSyntax::Malformed(f) => TlsRptError::MalformedField(f),
            FieldSyntax::WhitespaceAroundEquals(f) => TlsRptError::WhitespaceAroundEquals(f),
        });
        let fields = match fields {
            Err(TlsRptError::MalformedField(field)) if follows_rua(text, &field) => {
                return Err(TlsRptError::UnencodedSemicolon(field))
            }
            other => other?,
        };
        let mut warnings = Vec::new();
        if fields.whitespace_before_semicolon {
            warnings.push(TlsRptWarning::WhitespaceBeforeSemicolon);
        }
        let mut rua: Option<Vec<ReportUri>> = None;
        let mut extensions = Vec::new();
        for (name, value) in fields.fields {
            if name == "rua" {
                let uris = value
                    .split(',')
                    .map(|uri| ReportUri::parse(trim_wsp_end(trim_wsp_start(uri))))
                    .collect::<Result<Vec<_>, _>>()?;
                match &mut rua {
                    None => rua = Some(uris),
                    Some(existing) => {
                        existing.extend(uris);
                        warnings.push(TlsRptWarning::SeveralRuaFields);
                    }
                }
            } else {
                extensions.push(Extension::new(name, value)?);
            }
        }
        let Some(rua) = rua else {
            let similar = extensions
                .iter()
                .find(|e| e.name().eq_ignore_ascii_case("rua"))
                .map(|e| e.name().to_owned());
            return Err(TlsRptError::MissingRua { similar });
        };
        Ok(Parsed {
            value: Self { rua, extensions },
            warnings,
        })
    }
}

/// Whether the malformed `field` comes right after the `rua` field in `text`.
fn follows_rua(text: &str, field: &str) -> bool {
    text.split(';')
        .map(|f| trim_wsp_end(trim_wsp_start(f)))
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| matches!(w, [prev, this] if prev.starts_with("rua=") && *this == field))
}

impl fmt::Display for TlsRptRecord {
    /// The record in the form to publish: `v=TLSRPTv1; rua=<uri>,<uri>` then extensions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{VERSION}; rua=")?;
        for (i, uri) in self.rua.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(&uri.uri)?;
        }
        for ext in &self.extensions {
            write!(f, "; {}={}", ext.name(), ext.value())?;
        }
        Ok(())
    }
}

/// Renders a TLS-RPT record for the given reporting URIs, percent-encoding the `,`, `!` and
/// `;` inside them (RFC 8460 §3, RPT-TXT-03).
///
/// ```
/// use mxsec_proto::tlsrpt::record::render_record;
///
/// let text = render_record(&["mailto:tls-reports@example.com", "https://r.example/v1;x"]).unwrap();
/// assert_eq!(text, "v=TLSRPTv1; rua=mailto:tls-reports@example.com,https://r.example/v1%3Bx");
/// ```
///
/// # Errors
///
/// Fails when the list is empty (as [`UriError::Empty`]) or a URI is not a valid `mailto:` or
/// `https:` URI.
pub fn render_record<S: AsRef<str>>(uris: &[S]) -> Result<String, UriError> {
    if uris.is_empty() {
        return Err(UriError::Empty);
    }
    let rua = uris
        .iter()
        .map(|u| ReportUri::encode(u.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TlsRptRecord {
        rua,
        extensions: Vec::new(),
    }
    .to_string())
}

impl ReportUri {
    /// Parses a URI as published in a record, i.e. already percent-encoded (RPT-TXT-03).
    ///
    /// # Errors
    ///
    /// Returns a [`UriError`] that says what to change.
    pub fn parse(uri: &str) -> Result<Self, UriError> {
        let owned = || uri.to_owned();
        if uri.is_empty() {
            return Err(UriError::Empty);
        }
        if uri.contains(char::is_whitespace) {
            return Err(UriError::Whitespace(owned()));
        }
        if let Some(ch) = uri.chars().find(|c| matches!(c, ',' | '!' | ';')) {
            return Err(UriError::Unencoded { uri: owned(), ch });
        }
        if let Some(ch) = uri.chars().find(|c| !is_uri_char(*c)) {
            return Err(UriError::InvalidChar { uri: owned(), ch });
        }
        if !percent_escapes_valid(uri) {
            return Err(UriError::BadPercentEncoding(owned()));
        }
        let Some((scheme, rest)) = uri.split_once(':').filter(|(s, _)| is_scheme(s)) else {
            return Err(UriError::MissingScheme(owned()));
        };
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "mailto" => {
                let to = rest.split('?').next().unwrap_or_default();
                if !(to.contains('@') || to.to_ascii_lowercase().contains("%40")) {
                    return Err(UriError::MissingAddress(owned()));
                }
                UriScheme::Mailto
            }
            "https" => {
                let authority = rest
                    .strip_prefix("//")
                    .map(|r| r.split(['/', '?', '#']).next().unwrap_or_default())
                    .unwrap_or_default();
                let host = authority.rsplit('@').next().unwrap_or_default();
                let host = match host.rsplit_once(':') {
                    Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
                    _ => host,
                };
                if host.is_empty() {
                    return Err(UriError::MissingHost(owned()));
                }
                UriScheme::Https
            }
            _ => {
                return Err(UriError::UnsupportedScheme {
                    uri: owned(),
                    scheme: scheme.to_owned(),
                })
            }
        };
        Ok(Self {
            scheme,
            uri: owned(),
        })
    }

    /// Percent-encodes the `,`, `!` and `;` of a URI as RPT-TXT-03 requires, then parses it.
    ///
    /// # Errors
    ///
    /// Returns a [`UriError`] when the result is still not a valid reporting URI.
    pub fn encode(raw: &str) -> Result<Self, UriError> {
        let mut encoded = String::with_capacity(raw.len());
        for ch in raw.chars() {
            match ch {
                ',' => encoded.push_str("%2C"),
                '!' => encoded.push_str("%21"),
                ';' => encoded.push_str("%3B"),
                _ => encoded.push(ch),
            }
        }
        Self::parse(&encoded)
    }

    /// The scheme.
    pub fn scheme(&self) -> UriScheme {
        self.scheme
    }

    /// The URI as published (percent-encoded).
    pub fn as_str(&self) -> &str {
        &self.uri
    }

    /// The URI with every `%XX` escape decoded (invalid UTF-8 shown as U+FFFD).
    pub fn decoded(&self) -> String {
        let bytes = self.uri.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (b, hex) {
                (b'%', Some(value)) => {
                    out.push(value);
                    i += 3;
                }
                _ => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl fmt::Display for ReportUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)
    }
}

impl serde::Serialize for ReportUri {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.uri)
    }
}

/// RFC 3986 §3.1: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// RFC 3986 §2: unreserved, reserved and `%`.
fn is_uri_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.'
                | '_'
                | '~'
                | ':'
                | '/'
                | '?'
                | '#'
                | '['
                | ']'
                | '@'
                | '!'
                | '$'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | '+'
                | ','
                | ';'
                | '='
                | '%'
        )
}

fn percent_escapes_valid(uri: &str) -> bool {
    let bytes = uri.as_bytes();
    bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    })
}

impl TlsRptWarning {
    /// The conformance ID (CONFORMANCE.md) this warning is about.
    pub fn conformance_id(&self) -> &'static str {
        match self {
            Self::WhitespaceBeforeSemicolon | Self::IgnoredRecord(_) => "RPT-TXT-04",
            Self::SeveralRuaFields => "RPT-TXT-02",
        }
    }
}

impl TlsRptError {
    /// The conformance ID (CONFORMANCE.md) this error violates.
    pub fn conformance_id(&self) -> &'static str {
        match self {
            Self::InvalidUri(_) | Self::UnencodedSemicolon(_) => "RPT-TXT-03",
            Self::Extension(_) => "RPT-TXT-05",
            _ => "RPT-TXT-02",
        }
    }
}

impl NoTlsRpt {
    /// The conformance ID (CONFORMANCE.md) behind this outcome: `RPT-TXT-01` when nothing
    /// resembling a record is published, `RPT-TXT-04` for several or only near-miss records,
    /// else the record's error.
    pub fn conformance_id(&self) -> &'static str {
        match self {
            Self::NoRecord { near_misses } if near_misses.is_empty() => "RPT-TXT-01",
            Self::NoRecord { .. } | Self::SeveralRecords { .. } => "RPT-TXT-04",
            Self::Invalid { error, .. } => error.conformance_id(),
        }
    }

    /// Whether the domain publishes nothing that resembles a TLS-RPT record.
    pub fn is_absent(&self) -> bool {
        matches!(self, Self::NoRecord { near_misses } if near_misses.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::mta_sts::record::IgnoreReason;

    fn discover(records: &[&[&str]]) -> Result<Parsed<TlsRptRecord, TlsRptWarning>, NoTlsRpt> {
        let rrset: Vec<Vec<Vec<u8>>> = records
            .iter()
            .map(|r| r.iter().map(|s| s.as_bytes().to_vec()).collect())
            .collect();
        TlsRptRecord::from_txt_rrset(&rrset)
    }

    fn parse_err(text: &str) -> TlsRptError {
        TlsRptRecord::parse(text).unwrap_err()
    }

    fn uris(record: &TlsRptRecord) -> Vec<&str> {
        record.rua.iter().map(ReportUri::as_str).collect()
    }

    #[test]
    fn rpt_txt_01_owner_name() {
        let d = DomainName::parse("example.com").unwrap();
        assert_eq!(txt_owner(&d).unwrap().as_str(), "_smtp._tls.example.com");
        assert_ne!(LEGACY_OWNER_LABEL, OWNER_LABEL);
    }

    #[test]
    fn rpt_txt_02_rfc_8460_examples() {
        let p = discover(&[&["v=TLSRPTv1;rua=mailto:reports@example.com"]]).unwrap();
        assert_eq!(uris(&p.value), ["mailto:reports@example.com"]);
        assert_eq!(p.value.rua[0].scheme(), UriScheme::Mailto);
        let p = discover(&[&["v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt"]]).unwrap();
        assert_eq!(p.value.rua[0].scheme(), UriScheme::Https);
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn rpt_txt_02_optional_whitespace_around_delimiters() {
        let p = TlsRptRecord::parse(
            "v=TLSRPTv1;\trua=mailto:a@example.com ,\thttps://r.example/x ; ext=1 ;",
        )
        .unwrap();
        assert_eq!(
            uris(&p.value),
            ["mailto:a@example.com", "https://r.example/x"]
        );
        assert!(p.warnings.is_empty());
        assert_eq!(
            parse_err("v=TLSRPTv1; rua=mailto:a@example.com "),
            TlsRptError::TrailingWhitespace
        );
    }

    #[test]
    fn rpt_txt_02_version_first_and_case_sensitive() {
        assert_eq!(
            parse_err("rua=mailto:a@example.com; v=TLSRPTv1"),
            TlsRptError::MissingVersion
        );
        assert_eq!(
            parse_err("v=TLSRPTv1 rua=mailto:a@example.com"),
            TlsRptError::MissingVersion
        );
        let err = discover(&[&["v=tlsrptv1; rua=mailto:a@example.com"]]).unwrap_err();
        assert!(matches!(
            err,
            NoTlsRpt::NoRecord { ref near_misses } if near_misses[0].reason == IgnoreReason::WrongCase
        ));
    }

    #[test]
    fn rpt_txt_02_rua_is_required() {
        assert_eq!(
            parse_err("v=TLSRPTv1;"),
            TlsRptError::MissingRua { similar: None }
        );
        let err = parse_err("v=TLSRPTv1; RUA=mailto:a@example.com");
        assert_eq!(
            err,
            TlsRptError::MissingRua {
                similar: Some("RUA".into())
            }
        );
        assert_eq!(err.conformance_id(), "RPT-TXT-02");
    }

    #[test]
    fn rpt_txt_02_several_rua_fields_are_merged_with_warning() {
        let p = TlsRptRecord::parse("v=TLSRPTv1; rua=mailto:a@example.com; rua=https://r.example/")
            .unwrap();
        assert_eq!(
            uris(&p.value),
            ["mailto:a@example.com", "https://r.example/"]
        );
        assert_eq!(p.warnings, [TlsRptWarning::SeveralRuaFields]);
    }

    #[test]
    fn rpt_txt_03_only_mailto_and_https() {
        for (uri, scheme) in [
            ("http://r.example/", "http"),
            ("ftp://r.example/", "ftp"),
            ("sms:+15551234", "sms"),
        ] {
            assert_eq!(
                parse_err(&format!("v=TLSRPTv1; rua={uri}")),
                TlsRptError::InvalidUri(UriError::UnsupportedScheme {
                    uri: uri.into(),
                    scheme: scheme.into()
                })
            );
        }
        // Schemes are case-insensitive (RFC 3986 §3.1).
        let p = TlsRptRecord::parse("v=TLSRPTv1; rua=MAILTO:a@example.com").unwrap();
        assert_eq!(p.value.rua[0].scheme(), UriScheme::Mailto);
    }

    #[test]
    fn rpt_txt_03_missing_scheme_r02() {
        // SCENARIOS.md R-02: `rua=tls@example.com`.
        let err = parse_err("v=TLSRPTv1; rua=tls@example.com");
        assert_eq!(
            err,
            TlsRptError::InvalidUri(UriError::MissingScheme("tls@example.com".into()))
        );
        assert_eq!(err.conformance_id(), "RPT-TXT-03");
    }

    #[test]
    fn rpt_txt_03_unencoded_comma_splits_a_uri() {
        // A mailto: with two addresses must encode the comma.
        let err = parse_err("v=TLSRPTv1; rua=mailto:a@example.com,b@example.com");
        assert!(err.to_string().contains("%2C"), "{err}");
        let ok = TlsRptRecord::parse("v=TLSRPTv1; rua=mailto:a@example.com%2Cb@example.com")
            .unwrap()
            .value;
        assert_eq!(ok.rua.len(), 1);
        assert_eq!(ok.rua[0].decoded(), "mailto:a@example.com,b@example.com");
    }

    #[test]
    fn rpt_txt_03_unencoded_exclamation_mark() {
        assert_eq!(
            parse_err("v=TLSRPTv1; rua=mailto:tls!reports@example.com"),
            TlsRptError::InvalidUri(UriError::Unencoded {
                uri: "mailto:tls!reports@example.com".into(),
                ch: '!'
            })
        );
        let err = ReportUri::parse("mailto:tls!reports@example.com").unwrap_err();
        assert!(err.to_string().contains("%21"), "{err}");
    }

    #[test]
    fn rpt_txt_03_unencoded_semicolon() {
        let err = parse_err("v=TLSRPTv1; rua=mailto:a@example.com;b@example.com");
        assert_eq!(err, TlsRptError::UnencodedSemicolon("b@example.com".into()));
        assert!(err.to_string().contains("%3B"), "{err}");
        assert_eq!(err.conformance_id(), "RPT-TXT-03");
        assert!(matches!(
            ReportUri::parse("https://r.example/a;b"),
            Err(UriError::Unencoded { ch: ';', .. })
        ));
        // Elsewhere a field without `=` is plainly malformed.
        assert_eq!(
            parse_err("v=TLSRPTv1; junk; rua=mailto:a@example.com"),
            TlsRptError::MalformedField("junk".into())
        );
    }

    #[test]
    fn rpt_txt_03_spaces_and_bad_characters() {
        assert!(matches!(
            parse_err("v=TLSRPTv1; rua=mailto:a@example.com mailto:b@example.com"),
            TlsRptError::InvalidUri(UriError::Whitespace(_))
        ));
        assert!(matches!(
            ReportUri::parse("https://r.example/<x>"),
            Err(UriError::InvalidChar { ch: '<', .. })
        ));
        assert!(matches!(
            ReportUri::parse("mailto:a%2@example.com"),
            Err(UriError::BadPercentEncoding(_))
        ));
        assert!(matches!(
            parse_err("v=TLSRPTv1; rua=mailto:a@example.com,"),
            TlsRptError::InvalidUri(UriError::Empty)
        ));
        assert!(matches!(
            parse_err("v=TLSRPTv1; rua="),
            TlsRptError::InvalidUri(UriError::Empty)
        ));
    }

    #[test]
    fn rpt_txt_03_address_and_host_required() {
        assert!(matches!(
            ReportUri::parse("mailto:"),
            Err(UriError::MissingAddress(_))
        ));
        assert!(matches!(
            ReportUri::parse("mailto:?subject=x"),
            Err(UriError::MissingAddress(_))
        ));
        for uri in [
            "https:",
            "https:/x",
            "https:///x",
            "https://:443/x",
            "https://u@/",
        ] {
            assert!(
                matches!(ReportUri::parse(uri), Err(UriError::MissingHost(_))),
                "{uri}"
            );
        }
        assert!(ReportUri::parse("https://user@r.example:8443/p?q=1#f").is_ok());
        assert!(ReportUri::parse("mailto:tls%40example.com").is_ok());
    }

    #[test]
    fn rpt_txt_03_render_percent_encodes() {
        let text = render_record(&[
            "mailto:a@example.com,b@example.com",
            "mailto:tls!rpt@example.com",
            "https://r.example/v1;type=tlsrpt",
        ])
        .unwrap();
        assert_eq!(
            text,
            "v=TLSRPTv1; rua=mailto:a@example.com%2Cb@example.com,mailto:tls%21rpt@example.com,https://r.example/v1%3Btype=tlsrpt"
        );
        let parsed = discover(&[&[&text]]).unwrap().value;
        let decoded: Vec<String> = parsed.rua.iter().map(ReportUri::decoded).collect();
        assert_eq!(
            decoded,
            [
                "mailto:a@example.com,b@example.com",
                "mailto:tls!rpt@example.com",
                "https://r.example/v1;type=tlsrpt"
            ]
        );
        assert_eq!(render_record::<&str>(&[]), Err(UriError::Empty));
        assert!(matches!(
            render_record(&["reports@example.com"]),
            Err(UriError::MissingScheme(_))
        ));
    }

    #[test]
    fn rpt_txt_04_two_records_means_no_tlsrpt() {
        let err = discover(&[
            &["v=TLSRPTv1; rua=mailto:a@example.com"],
            &["v=TLSRPTv1; rua=mailto:b@example.com"],
        ])
        .unwrap_err();
        assert!(matches!(err, NoTlsRpt::SeveralRecords { ref records } if records.len() == 2));
        assert_eq!(err.conformance_id(), "RPT-TXT-04");
    }

    #[test]
    fn rpt_txt_04_other_records_dropped_and_absence() {
        let p = discover(&[&["v=spf1 -all"], &["v=TLSRPTv1; rua=mailto:a@example.com"]]).unwrap();
        assert_eq!(p.value.rua.len(), 1);
        let none: [&[&str]; 0] = [];
        let err = discover(&none).unwrap_err();
        assert!(err.is_absent());
        assert_eq!(err.conformance_id(), "RPT-TXT-01");
    }

    #[test]
    fn rpt_txt_04_strings_concatenate_without_spaces() {
        let p = discover(&[&["v=TLSRPTv1; rua=mailto:tls-re", "ports@example.com"]]).unwrap();
        assert_eq!(uris(&p.value), ["mailto:tls-reports@example.com"]);
    }

    #[test]
    fn rpt_txt_04_whitespace_before_semicolon_accepted_with_warning() {
        let p = discover(&[&["v=TLSRPTv1 ; rua=mailto:a@example.com"]]).unwrap();
        assert_eq!(p.warnings, [TlsRptWarning::WhitespaceBeforeSemicolon]);
        assert_eq!(p.warnings[0].conformance_id(), "RPT-TXT-04");
    }

    #[test]
    fn rpt_txt_04_near_misses_explain_absence() {
        for (record, reason) in [
            (
                "v=TLSRPTv1 rua=mailto:a@example.com",
                IgnoreReason::MissingSemicolon,
            ),
            ("v=TLSRPTv1", IgnoreReason::MissingSemicolon),
            (
                "\"v=TLSRPTv1; rua=mailto:a@example.com\"",
                IgnoreReason::Quoted,
            ),
            (
                "v=TLSRPTv2; rua=mailto:a@example.com",
                IgnoreReason::OtherVersion,
            ),
        ] {
            let err = discover(&[&[record]]).unwrap_err();
            assert_eq!(
                err,
                NoTlsRpt::NoRecord {
                    near_misses: vec![IgnoredRecord {
                        record: record.into(),
                        reason
                    }]
                },
                "{record}"
            );
        }
    }

    #[test]
    fn rpt_txt_04_invalid_single_record() {
        let err = discover(&[&["v=TLSRPTv1; rua=tls@example.com"]]).unwrap_err();
        assert!(matches!(err, NoTlsRpt::Invalid { .. }));
        assert_eq!(err.conformance_id(), "RPT-TXT-03");
        assert!(!err.is_absent());
    }

    #[test]
    fn rpt_txt_05_extensions_ignored() {
        let p = TlsRptRecord::parse("v=TLSRPTv1; ruf=x; rua=mailto:a@example.com; x.y_z-1=v:w")
            .unwrap();
        assert_eq!(p.value.extensions.len(), 2);
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn rpt_txt_05_malformed_extension_invalidates() {
        let err = parse_err("v=TLSRPTv1; rua=mailto:a@example.com; x=a=b");
        assert!(matches!(err, TlsRptError::Extension(_)));
        assert_eq!(err.conformance_id(), "RPT-TXT-05");
    }

    fn arb_raw_uri() -> impl Strategy<Value = String> {
        prop_oneof![
            ("[a-z0-9.,!;+_-]{1,16}", "[a-z0-9]{1,10}\\.example")
                .prop_map(|(local, domain)| format!("mailto:{local}@{domain}")),
            ("[a-z0-9]{1,10}\\.example", "[a-z0-9/,!;=._-]{0,20}")
                .prop_map(|(host, path)| format!("https://{host}/{path}")),
        ]
    }

    proptest! {
        #[test]
        fn rpt_txt_02_parser_never_panics(records in proptest::collection::vec(
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..4), 0..4)
        ) {
            let _ = TlsRptRecord::from_txt_rrset(&records);
        }

        #[test]
        fn rpt_txt_02_parser_never_panics_on_text(
            text in "v=TLSRPTv1[ \t;]{0,3}(rua=)?[a-z:/@%,!;=. \t0-9]{0,40}"
        ) {
            let _ = TlsRptRecord::parse(&text);
        }

        #[test]
        fn rpt_txt_03_render_parse_round_trip(raw in proptest::collection::vec(arb_raw_uri(), 1..4)) {
            let text = render_record(&raw).unwrap();
            let parsed = TlsRptRecord::parse(&text).unwrap();
            prop_assert!(parsed.warnings.is_empty());
            let decoded: Vec<String> = parsed.value.rua.iter().map(ReportUri::decoded).collect();
            prop_assert_eq!(decoded, raw);
            prop_assert_eq!(parsed.value.to_string(), text);
        }
    }
}
