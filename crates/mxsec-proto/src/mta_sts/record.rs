//! The MTA-STS TXT record at `_mta-sts.<policy domain>` (RFC 8461 §3.1).
//!
//! ```text
//! sts-text-record = sts-version 1*(sts-field-delim sts-field)
//!                   [sts-field-delim]
//! sts-field       = sts-id /                   ; Note that sts-id record
//!                   sts-extension              ; is required.
//! sts-field-delim = *WSP ";" *WSP
//! sts-version     = %s"v=STSv1"
//! sts-id          = %s"id=" 1*32(ALPHA / DIGIT)     ; id=...
//! sts-extension   = sts-ext-name "=" sts-ext-value  ; name=value
//! sts-ext-name    = (ALPHA / DIGIT)
//!                   *31(ALPHA / DIGIT / "_" / "-" / ".")
//! sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
//!                   ; chars excluding "=", ";", SP, and control
//!                   ; chars
//! ```
//!
//! [`StsRecord::from_txt_rrset`] takes the whole TXT RRset, as DNS returns it, and applies the
//! selection rules of §3.1: strings of one record are concatenated (STS-TXT-06), records not
//! beginning with `v=STSv1;` are dropped and exactly one must remain (STS-TXT-05). Every way of
//! ending with "no available policy" is a variant of [`NoPolicy`], so the checker can say why
//! and the resolver can tell a domain without MTA-STS from a broken record.
//!
//! Unlike the policy file, the record has an explicit rule for syntax errors: "If the number
//! of resulting records is not one, or if the resulting record is syntactically invalid,
//! senders MUST assume the recipient domain does not have an available MTA-STS Policy and skip
//! the remaining steps of policy discovery" (RFC 8461 §3.1). So every [`RecordError`], each a
//! departure from the ABNF above, means no policy; the only leniency is whitespace before the
//! first `;`, which the ABNF allows and the prose prefix test does not (erratum 6285).

use std::fmt;

use crate::name::{DomainName, NameError};
use crate::parsed::Parsed;

/// The version field every MTA-STS TXT record begins with (STS-TXT-02).
pub const VERSION: &str = "v=STSv1";

/// The label prepended to the policy domain to find the TXT record (STS-TXT-01).
pub const OWNER_LABEL: &str = "_mta-sts";

/// The owner name of the MTA-STS TXT record: `_mta-sts.<domain>` (RFC 8461 §3.1, STS-TXT-01).
///
/// # Errors
///
/// Fails when the result would be longer than a domain name may be.
pub fn txt_owner(domain: &DomainName) -> Result<DomainName, NameError> {
    domain.prepend(OWNER_LABEL)
}

/// A valid MTA-STS TXT record: the policy id and any extension fields (RFC 8461 §3.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct StsRecord {
    /// The policy id (STS-TXT-03).
    pub id: PolicyId,
    /// Extension fields, in record order; their meaning is unknown and ignored (STS-TXT-04).
    pub extensions: Vec<Extension>,
}

/// The `id` of an MTA-STS TXT record: 1–32 letters and digits (RFC 8461 §3.1, STS-TXT-03).
///
/// It is an opaque, case-sensitive marker of the policy version: a change means "fetch the
/// policy again"; ids have no order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyId(String);

/// Why a string is not a valid policy id (STS-TXT-03).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// `id=` with nothing after it.
    #[error("it is empty")]
    Empty,
    /// More than 32 characters.
    #[error("it is {0} characters long; the limit is 32")]
    TooLong(usize),
    /// A character other than a letter or digit.
    #[error("it contains {0:?}; only letters and digits are allowed")]
    InvalidChar(char),
}

/// An extension field `name=value` of a TXT record (RFC 8461 §3.1 and RFC 8460 §3;
/// STS-TXT-04, RPT-TXT-05).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Extension {
    name: String,
    value: String,
}

/// Why a string is not a valid extension field (STS-TXT-04, RPT-TXT-05).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtensionError {
    /// The name is not a letter or digit followed by up to 31 letters, digits, `_`, `-`, `.`.
    #[error("field name {0:?} is invalid: a letter or digit, then up to 31 letters, digits, `_`, `-` or `.`")]
    Name(String),
    /// The value is empty or holds a space, `=`, `;`, a control or a non-ASCII character.
    #[error(
        "field {name:?} has invalid value {value:?}: printable ASCII without space, `=` or `;`"
    )]
    Value {
        /// The field name.
        name: String,
        /// The offending value.
        value: String,
    },
}

/// A deviation that leaves the record usable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordWarning {
    /// Whitespace between `v=STSv1` and `;`: valid ABNF, but fails the prose prefix test
    /// "begin with `v=STSv1;`" (erratum 6285), so some senders ignore the record (STS-TXT-05).
    #[error("whitespace between `v=STSv1` and `;`: allowed by the ABNF, but senders that test for the prefix `v=STSv1;` ignore the record (RFC 8461 erratum 6285); write `v=STSv1;`")]
    WhitespaceBeforeSemicolon,
    /// `id` appears more than once; the first is used (STS-TXT-03).
    #[error(
        "`id` appears more than once; the first is used and {ignored:?} ignored; publish one `id`"
    )]
    DuplicateId {
        /// The value of the ignored later `id` field.
        ignored: String,
    },
    /// Another TXT record at the same name looks like a botched MTA-STS record and was dropped
    /// (STS-TXT-05).
    #[error("{0}")]
    IgnoredRecord(IgnoredRecord),
}

/// Why one TXT record is not a valid MTA-STS record (RFC 8461 §3.1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A character outside US-ASCII (STS-TXT-02).
    #[error("the record contains {0:?}; it must be US-ASCII")]
    NotAscii(char),
    /// The record does not begin with `v=STSv1` followed by `;` (STS-TXT-02).
    #[error("the record must begin with `v=STSv1;`")]
    MissingVersion,
    /// Two `;` with nothing between them (STS-TXT-02).
    #[error("empty field between two `;`")]
    EmptyField,
    /// A field without `=` (STS-TXT-02).
    #[error("field {0:?} is not of the form `name=value`")]
    MalformedField(String),
    /// Spaces around `=` (STS-TXT-02).
    #[error("field {0:?} has whitespace around `=`; write `name=value`")]
    WhitespaceAroundEquals(String),
    /// Whitespace at the end of the record, after the last field (STS-TXT-02).
    #[error("whitespace after the last field; remove it, or end the record with `;`")]
    TrailingWhitespace,
    /// No `id` field (STS-TXT-03).
    #[error("the required `id` field is missing{}", similar.as_ref().map(|s| format!(" (found {s:?}; field names are case-sensitive)")).unwrap_or_default())]
    MissingId {
        /// A field whose name differs from `id` only in letter case.
        similar: Option<String>,
    },
    /// The `id` value is invalid (STS-TXT-03).
    #[error("`id={value}` is invalid: {reason}")]
    InvalidId {
        /// The value as published.
        value: String,
        /// What is wrong with it.
        reason: IdError,
    },
    /// An extension field is malformed (STS-TXT-04).
    #[error(transparent)]
    Extension(#[from] ExtensionError),
}

/// Why a TXT RRset yields no available MTA-STS policy (RFC 8461 §3.1, STS-TXT-05).
///
/// In every case a sender must skip the rest of policy discovery (and keep using a cached
/// policy, STS-TXT-07); only the checker cares which case it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoPolicy {
    /// No record begins with `v=STSv1;`. With no near misses, the domain simply does not
    /// publish MTA-STS.
    #[error(
        "no TXT record begins with `v=STSv1;`{}",
        describe_near_misses(near_misses)
    )]
    NoRecord {
        /// Dropped records that look like attempts at an MTA-STS record.
        near_misses: Vec<IgnoredRecord>,
    },
    /// More than one record begins with `v=STSv1;`: there is no policy at all.
    #[error("{} TXT records begin with `v=STSv1;`; senders then see no policy at all: publish exactly one", records.len())]
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
        error: RecordError,
    },
}

/// A TXT record dropped by the selection rule that looks like a failed attempt at a record of
/// the kind looked for (STS-TXT-05, RPT-TXT-04).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("TXT record {record:?} is ignored: {reason}")]
pub struct IgnoredRecord {
    /// The record, strings concatenated (bytes that are not UTF-8 shown as U+FFFD).
    pub record: String,
    /// Why it does not count.
    pub reason: IgnoreReason,
}

/// Why a TXT record that resembles an MTA-STS or TLS-RPT record does not count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IgnoreReason {
    /// Literal double quotes are part of the data (a DNS console stored them).
    #[error("the quotes are part of the record data; publish the text without them")]
    Quoted,
    /// Whitespace before `v=`.
    #[error("it starts with whitespace; the record must begin with `v=`")]
    LeadingWhitespace,
    /// The version field in other letter case; the prefix test is case-sensitive.
    #[error("the version field is case-sensitive")]
    WrongCase,
    /// The version field is not followed by `;`.
    #[error("the version field must be followed by `;`")]
    MissingSemicolon,
    /// Another version, or a malformed version field such as `v = STSv1`.
    #[error("the version field is not exactly the one required")]
    OtherVersion,
}

impl StsRecord {
    /// Selects and parses the MTA-STS record from a TXT RRset (RFC 8461 §3.1).
    ///
    /// Each record is given as its list of character-strings, which are concatenated without
    /// separator (STS-TXT-06). Records that do not begin with `v=STSv1;` are dropped (whitespace
    /// before the `;` is accepted with a warning, erratum 6285), and exactly one must remain
    /// (STS-TXT-05).
    ///
    /// # Errors
    ///
    /// Returns a [`NoPolicy`] that says why there is no available policy.
    pub fn from_txt_rrset<R: AsRef<[Vec<u8>]>>(
        records: &[R],
    ) -> Result<Parsed<Self, RecordWarning>, NoPolicy> {
        let Selection {
            mut candidates,
            near_misses,
        } = select(records, VERSION);
        let record = match candidates.len() {
            0 => return Err(NoPolicy::NoRecord { near_misses }),
            1 => candidates.remove(0),
            _ => {
                return Err(NoPolicy::SeveralRecords {
                    records: candidates,
                })
            }
        };
        let mut parsed = match Self::parse(&record) {
            Ok(parsed) => parsed,
            Err(error) => return Err(NoPolicy::Invalid { record, error }),
        };
        parsed
            .warnings
            .extend(near_misses.into_iter().map(RecordWarning::IgnoredRecord));
        Ok(parsed)
    }

    /// Parses one record, its strings already concatenated (RFC 8461 §3.1; STS-TXT-02…04).
    ///
    /// # Errors
    ///
    /// Returns a [`RecordError`] naming the field that is wrong.
    pub fn parse(text: &str) -> Result<Parsed<Self, RecordWarning>, RecordError> {
        // Each error below breaks the ABNF, so the record is "syntactically invalid" and RFC
        // 8461 §3.1 says senders MUST then assume there is no available policy. No character
        // of the ABNF is outside US-ASCII.
        if let Some(ch) = text.chars().find(|c| !c.is_ascii()) {
            return Err(RecordError::NotAscii(ch));
        }
        let fields = split_fields(text, VERSION).map_err(|e| match e {
            FieldSyntax::MissingVersion => RecordError::MissingVersion,
            FieldSyntax::EmptyField => RecordError::EmptyField,
            FieldSyntax::TrailingWhitespace => RecordError::TrailingWhitespace,
            FieldSyntax::Malformed(f) => RecordError::MalformedField(f),
            FieldSyntax::WhitespaceAroundEquals(f) => RecordError::WhitespaceAroundEquals(f),
        })?;
        let mut warnings = Vec::new();
        if fields.whitespace_before_semicolon {
            warnings.push(RecordWarning::WhitespaceBeforeSemicolon);
        }
        let mut id = None;
        let mut extensions = Vec::new();
        for (name, value) in fields.fields {
            if name == "id" {
                let parsed = PolicyId::parse(value).map_err(|reason| RecordError::InvalidId {
                    value: value.to_owned(),
                    reason,
                })?;
                match id {
                    None => id = Some(parsed),
                    Some(_) => warnings.push(RecordWarning::DuplicateId {
                        ignored: value.to_owned(),
                    }),
                }
            } else {
                extensions.push(Extension::new(name, value)?);
            }
        }
        // RFC 8461 §3.1: ""id": (plain-text, required)", and the ABNF: "Note that sts-id
        // record is required".
        let Some(id) = id else {
            let similar = extensions
                .iter()
                .find(|e| e.name.eq_ignore_ascii_case("id"))
                .map(|e| e.name.clone());
            return Err(RecordError::MissingId { similar });
        };
        Ok(Parsed {
            value: Self { id, extensions },
            warnings,
        })
    }

    /// A record with this id and no extensions.
    pub fn new(id: PolicyId) -> Self {
        Self {
            id,
            extensions: Vec::new(),
        }
    }
}

impl fmt::Display for StsRecord {
    /// The record in the form to publish: `v=STSv1; id=<id>` then any extensions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{VERSION}; id={}", self.id)?;
        for ext in &self.extensions {
            write!(f, "; {}={}", ext.name, ext.value)?;
        }
        Ok(())
    }
}

impl PolicyId {
    /// Parses an id: 1–32 ASCII letters and digits (STS-TXT-03).
    ///
    /// # Errors
    ///
    /// Returns an [`IdError`] naming the problem.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if let Some(ch) = s.chars().find(|c| !c.is_ascii_alphanumeric()) {
            return Err(IdError::InvalidChar(ch));
        }
        if s.len() > 32 {
            return Err(IdError::TooLong(s.len()));
        }
        Ok(Self(s.to_owned()))
    }

    /// The id as published.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PolicyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for PolicyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for PolicyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Extension {
    /// An extension field, checked against the ABNF (STS-TXT-04, RPT-TXT-05).
    ///
    /// # Errors
    ///
    /// Fails when the name or the value is not allowed by the ABNF.
    pub fn new(name: &str, value: &str) -> Result<Self, ExtensionError> {
        if !is_ext_name(name) {
            return Err(ExtensionError::Name(name.to_owned()));
        }
        let valid_char = |b: u8| matches!(b, 0x21..=0x3A | 0x3C | 0x3E..=0x7E);
        if value.is_empty() || !value.bytes().all(valid_char) {
            return Err(ExtensionError::Value {
                name: name.to_owned(),
                value: value.to_owned(),
            });
        }
        Ok(Self {
            name: name.to_owned(),
            value: value.to_owned(),
        })
    }

    /// The field name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The field value.
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`: the extension name syntax shared by
/// the MTA-STS record, the MTA-STS policy (RFC 8461 §3.2) and the TLS-RPT record.
pub(crate) fn is_ext_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.len() <= 32
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl RecordWarning {
    /// The conformance ID (CONFORMANCE.md) this warning is about.
    pub fn conformance_id(&self) -> &'static str {
        match self {
            Self::WhitespaceBeforeSemicolon | Self::IgnoredRecord(_) => "STS-TXT-05",
            Self::DuplicateId { .. } => "STS-TXT-03",
        }
    }
}

impl RecordError {
    /// The conformance ID (CONFORMANCE.md) this error violates.
    pub fn conformance_id(&self) -> &'static str {
        match self {
            Self::MissingId { .. } | Self::InvalidId { .. } => "STS-TXT-03",
            Self::Extension(_) => "STS-TXT-04",
            _ => "STS-TXT-02",
        }
    }
}

impl NoPolicy {
    /// The conformance ID (CONFORMANCE.md) behind this outcome.
    ///
    /// `STS-TXT-01` for a domain that publishes nothing resembling a record (not an error in
    /// itself), `STS-TXT-05` for several or only near-miss records, else the record's error.
    pub fn conformance_id(&self) -> &'static str {
        match self {
            Self::NoRecord { near_misses } if near_misses.is_empty() => "STS-TXT-01",
            Self::NoRecord { .. } | Self::SeveralRecords { .. } => "STS-TXT-05",
            Self::Invalid { error, .. } => error.conformance_id(),
        }
    }

    /// Whether the domain publishes nothing that resembles an MTA-STS record: it does not use
    /// MTA-STS, as opposed to using it wrongly.
    pub fn is_absent(&self) -> bool {
        matches!(self, Self::NoRecord { near_misses } if near_misses.is_empty())
    }
}

fn describe_near_misses(near_misses: &[IgnoredRecord]) -> String {
    near_misses.iter().map(|m| format!("; {m}")).collect()
}

/// The result of the selection rule over a TXT RRset (STS-TXT-05/06, RPT-TXT-04).
pub(crate) struct Selection {
    /// Records beginning with the version field and `;` (whitespace before `;` allowed).
    pub(crate) candidates: Vec<String>,
    /// Dropped records that resemble a record of this kind.
    pub(crate) near_misses: Vec<IgnoredRecord>,
}

/// Concatenates each record's strings and keeps those beginning with `version` `*WSP ";"`.
pub(crate) fn select<R: AsRef<[Vec<u8>]>>(records: &[R], version: &str) -> Selection {
    let mut selection = Selection {
        candidates: Vec::new(),
        near_misses: Vec::new(),
    };
    for record in records {
        let bytes = record.as_ref().concat();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if is_candidate(&text, version) {
            selection.candidates.push(text);
        } else if let Some(reason) = near_miss(&text, version) {
            selection.near_misses.push(IgnoredRecord {
                record: text,
                reason,
            });
        }
    }
    selection
}

fn is_candidate(text: &str, version: &str) -> bool {
    text.strip_prefix(version)
        .is_some_and(|rest| trim_wsp_start(rest).starts_with(';'))
}

/// Classifies a dropped record that looks like an attempt at `version`.
fn near_miss(text: &str, version: &str) -> Option<IgnoreReason> {
    let squashed: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '"')
        .flat_map(char::to_lowercase)
        .collect();
    // "v=stsv" / "v=tlsrptv": the version field with any version number.
    let stem = version.trim_end_matches(|c: char| c.is_ascii_digit());
    if !squashed.starts_with(&stem.to_ascii_lowercase()) {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    Some(if text.starts_with('"') {
        IgnoreReason::Quoted
    } else if text.starts_with(char::is_whitespace) {
        IgnoreReason::LeadingWhitespace
    } else if let Some(rest) = text.strip_prefix(version) {
        match rest.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            true => IgnoreReason::OtherVersion,
            false => IgnoreReason::MissingSemicolon,
        }
    } else if lower.starts_with(&version.to_ascii_lowercase()) {
        IgnoreReason::WrongCase
    } else {
        IgnoreReason::OtherVersion
    })
}

/// The fields of a record after its version field, split at `*WSP ";" *WSP`.
pub(crate) struct Fields<'a> {
    /// `(name, value)` pairs in record order.
    pub(crate) fields: Vec<(&'a str, &'a str)>,
    /// Whitespace between the version field and the first `;` (erratum 6285).
    pub(crate) whitespace_before_semicolon: bool,
}

/// Syntax errors common to the MTA-STS and TLS-RPT records.
pub(crate) enum FieldSyntax {
    MissingVersion,
    EmptyField,
    TrailingWhitespace,
    Malformed(String),
    WhitespaceAroundEquals(String),
}

/// Splits `version *(field-delim name=value) [field-delim]` with `field-delim = *WSP ";" *WSP`.
pub(crate) fn split_fields<'a>(text: &'a str, version: &str) -> Result<Fields<'a>, FieldSyntax> {
    let rest = text
        .strip_prefix(version)
        .ok_or(FieldSyntax::MissingVersion)?;
    let after_ws = trim_wsp_start(rest);
    let whitespace_before_semicolon = after_ws.len() != rest.len();
    if after_ws.is_empty() {
        return Ok(Fields {
            fields: Vec::new(),
            whitespace_before_semicolon: false,
        });
    }
    let body = after_ws
        .strip_prefix(';')
        .ok_or(FieldSyntax::MissingVersion)?;
    let pieces: Vec<&str> = body.split(';').collect();
    let last = pieces.len().saturating_sub(1);
    let mut fields = Vec::with_capacity(pieces.len());
    for (i, piece) in pieces.into_iter().enumerate() {
        let field = trim_wsp_end(trim_wsp_start(piece));
        if field.is_empty() {
            if i == last {
                continue;
            }
            return Err(FieldSyntax::EmptyField);
        }
        if i == last && field.len() != trim_wsp_start(piece).len() {
            return Err(FieldSyntax::TrailingWhitespace);
        }
        let (name, value) = field
            .split_once('=')
            .ok_or_else(|| FieldSyntax::Malformed(field.to_owned()))?;
        if name.ends_with(is_wsp) || value.starts_with(is_wsp) {
            return Err(FieldSyntax::WhitespaceAroundEquals(field.to_owned()));
        }
        fields.push((name, value));
    }
    Ok(Fields {
        fields,
        whitespace_before_semicolon,
    })
}

/// `WSP = SP / HTAB` (RFC 5234).
pub(crate) fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

pub(crate) fn trim_wsp_start(s: &str) -> &str {
    s.trim_start_matches(is_wsp)
}

pub(crate) fn trim_wsp_end(s: &str) -> &str {
    s.trim_end_matches(is_wsp)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn rrset(records: &[&[&str]]) -> Vec<Vec<Vec<u8>>> {
        records
            .iter()
            .map(|r| r.iter().map(|s| s.as_bytes().to_vec()).collect())
            .collect()
    }

    fn discover(records: &[&[&str]]) -> Result<Parsed<StsRecord, RecordWarning>, NoPolicy> {
        StsRecord::from_txt_rrset(&rrset(records))
    }

    fn parse_err(text: &str) -> RecordError {
        StsRecord::parse(text).unwrap_err()
    }

    #[test]
    fn sts_txt_01_owner_name() {
        let d = DomainName::parse("example.com").unwrap();
        assert_eq!(txt_owner(&d).unwrap().as_str(), "_mta-sts.example.com");
    }

    #[test]
    fn sts_txt_02_rfc_example_record() {
        let p = StsRecord::parse("v=STSv1; id=20160831085700Z;").unwrap();
        assert_eq!(p.value.id.as_str(), "20160831085700Z");
        assert!(p.value.extensions.is_empty());
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn sts_txt_02_field_order_is_free_after_version() {
        let p = StsRecord::parse("v=STSv1;ext=1;id=abc").unwrap();
        assert_eq!(p.value.id.as_str(), "abc");
        assert_eq!(p.value.extensions[0].name(), "ext");
    }

    #[test]
    fn sts_txt_02_version_must_come_first() {
        assert_eq!(parse_err("id=abc; v=STSv1"), RecordError::MissingVersion);
        assert_eq!(parse_err("v=STSv1 id=abc"), RecordError::MissingVersion);
        assert_eq!(parse_err("v=STSv10; id=abc"), RecordError::MissingVersion);
    }

    #[test]
    fn sts_txt_02_must_be_us_ascii() {
        assert_eq!(
            parse_err("v=STSv1; id=abc; x=é"),
            RecordError::NotAscii('é')
        );
    }

    #[test]
    fn sts_txt_02_whitespace_rules() {
        // Whitespace around `;` is part of the delimiter.
        assert!(StsRecord::parse("v=STSv1;   id=abc \t;  ").is_ok());
        assert_eq!(
            parse_err("v=STSv1; id=abc "),
            RecordError::TrailingWhitespace
        );
        assert_eq!(
            parse_err("v=STSv1; id = abc"),
            RecordError::WhitespaceAroundEquals("id = abc".into())
        );
        assert_eq!(parse_err("v=STSv1;; id=abc"), RecordError::EmptyField);
        assert_eq!(
            parse_err("v=STSv1; id=abc; junk"),
            RecordError::MalformedField("junk".into())
        );
    }

    #[test]
    fn sts_txt_03_id_is_required() {
        assert_eq!(
            parse_err("v=STSv1;"),
            RecordError::MissingId { similar: None }
        );
        assert_eq!(
            parse_err("v=STSv1"),
            RecordError::MissingId { similar: None }
        );
        let err = parse_err("v=STSv1; ID=abc");
        assert_eq!(
            err,
            RecordError::MissingId {
                similar: Some("ID".into())
            }
        );
        assert!(err.to_string().contains("case-sensitive"));
        assert_eq!(err.conformance_id(), "STS-TXT-03");
    }

    #[test]
    fn sts_txt_03_id_is_1_to_32_letters_and_digits() {
        assert!(StsRecord::parse(&format!("v=STSv1; id={}", "a".repeat(32))).is_ok());
        assert_eq!(
            parse_err(&format!("v=STSv1; id={}", "a".repeat(33))),
            RecordError::InvalidId {
                value: "a".repeat(33),
                reason: IdError::TooLong(33)
            }
        );
        for (id, ch) in [
            ("2024-01-01", '-'),
            ("a_b", '_'),
            ("1.2", '.'),
            ("t:1", ':'),
        ] {
            assert_eq!(
                parse_err(&format!("v=STSv1; id={id}")),
                RecordError::InvalidId {
                    value: id.into(),
                    reason: IdError::InvalidChar(ch)
                },
                "{id}"
            );
        }
        assert_eq!(
            parse_err("v=STSv1; id="),
            RecordError::InvalidId {
                value: String::new(),
                reason: IdError::Empty
            }
        );
    }

    #[test]
    fn sts_txt_03_id_is_case_sensitive() {
        let a = StsRecord::parse("v=STSv1; id=ABC").unwrap().value;
        let b = StsRecord::parse("v=STSv1; id=abc").unwrap().value;
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn sts_txt_03_duplicate_id_first_wins_with_warning() {
        let p = StsRecord::parse("v=STSv1; id=first; id=second").unwrap();
        assert_eq!(p.value.id.as_str(), "first");
        assert_eq!(
            p.warnings,
            [RecordWarning::DuplicateId {
                ignored: "second".into()
            }]
        );
    }

    #[test]
    fn sts_txt_04_extensions_are_kept_and_ignored() {
        let p = StsRecord::parse("v=STSv1; id=abc; foo.bar_1-x=a:b/c~!; z=1").unwrap();
        assert_eq!(p.value.extensions.len(), 2);
        assert_eq!(p.value.extensions[0].value(), "a:b/c~!");
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn sts_txt_04_malformed_extensions_invalidate_the_record() {
        let long = format!("v=STSv1; id=abc; {}=1", "n".repeat(33));
        assert!(matches!(
            parse_err(&long),
            RecordError::Extension(ExtensionError::Name(_))
        ));
        assert!(matches!(
            parse_err("v=STSv1; id=abc; _x=1"),
            RecordError::Extension(ExtensionError::Name(_))
        ));
        assert!(matches!(
            parse_err("v=STSv1; id=abc; x=a=b"),
            RecordError::Extension(ExtensionError::Value { .. })
        ));
        assert!(matches!(
            parse_err("v=STSv1; id=abc; x="),
            RecordError::Extension(ExtensionError::Value { .. })
        ));
        assert_eq!(
            parse_err("v=STSv1; id=abc; x=").conformance_id(),
            "STS-TXT-04"
        );
    }

    #[test]
    fn sts_txt_05_single_record_is_selected() {
        let p = discover(&[&["v=STSv1; id=20160831085700Z;"]]).unwrap();
        assert_eq!(p.value.id.as_str(), "20160831085700Z");
    }

    #[test]
    fn sts_txt_05_two_records_means_no_policy() {
        // SCENARIOS.md M-07: old and new record left in place during a change.
        let err = discover(&[&["v=STSv1; id=old"], &["v=STSv1; id=new"]]).unwrap_err();
        assert_eq!(
            err,
            NoPolicy::SeveralRecords {
                records: vec!["v=STSv1; id=old".into(), "v=STSv1; id=new".into()]
            }
        );
        assert!(err.to_string().contains("no policy at all"));
        assert_eq!(err.conformance_id(), "STS-TXT-05");
        assert!(!err.is_absent());
    }

    #[test]
    fn sts_txt_05_other_records_are_dropped() {
        let p = discover(&[
            &["v=spf1 -all"],
            &["v=STSv1; id=abc"],
            &["google-site-verification=xyz"],
        ])
        .unwrap();
        assert_eq!(p.value.id.as_str(), "abc");
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn sts_txt_05_no_records_means_absent() {
        let none: [&[&str]; 0] = [];
        let err = discover(&none).unwrap_err();
        assert_eq!(
            err,
            NoPolicy::NoRecord {
                near_misses: vec![]
            }
        );
        assert!(err.is_absent());
        assert_eq!(err.conformance_id(), "STS-TXT-01");
        assert!(discover(&[&["v=spf1 -all"]]).unwrap_err().is_absent());
    }

    #[test]
    fn sts_txt_05_invalid_single_record_means_no_policy() {
        // SCENARIOS.md M-07: `id` with a hyphen.
        let err = discover(&[&["v=STSv1; id=2024-05-01"]]).unwrap_err();
        assert!(matches!(
            err,
            NoPolicy::Invalid {
                error: RecordError::InvalidId { .. },
                ..
            }
        ));
        assert_eq!(err.conformance_id(), "STS-TXT-03");
    }

    #[test]
    fn sts_txt_05_invalid_record_still_counts_against_a_valid_one() {
        // Selection happens before parsing: two candidates, whatever their validity.
        let err = discover(&[&["v=STSv1; id=bad-id"], &["v=STSv1; id=good"]]).unwrap_err();
        assert!(matches!(err, NoPolicy::SeveralRecords { .. }));
    }

    #[test]
    fn sts_txt_05_erratum_6285_whitespace_before_semicolon_accepted_with_warning() {
        let p = discover(&[&["v=STSv1 ; id=abc"]]).unwrap();
        assert_eq!(p.value.id.as_str(), "abc");
        assert_eq!(p.warnings, [RecordWarning::WhitespaceBeforeSemicolon]);
        assert_eq!(p.warnings[0].conformance_id(), "STS-TXT-05");
    }

    #[test]
    fn sts_txt_05_near_misses_explain_missing_policy() {
        // SCENARIOS.md M-07: missing `;`, version not first, quoted, wrong case.
        for (record, reason) in [
            ("v=STSv1 id=abc", IgnoreReason::MissingSemicolon),
            ("v=STSv1", IgnoreReason::MissingSemicolon),
            ("\"v=STSv1; id=abc\"", IgnoreReason::Quoted),
            (" v=STSv1; id=abc", IgnoreReason::LeadingWhitespace),
            ("v=stsv1; id=abc", IgnoreReason::WrongCase),
            ("V=STSv1; id=abc", IgnoreReason::WrongCase),
            ("v=STSv2; id=abc", IgnoreReason::OtherVersion),
            ("v = STSv1; id=abc", IgnoreReason::OtherVersion),
        ] {
            let err = discover(&[&[record]]).unwrap_err();
            assert_eq!(
                err,
                NoPolicy::NoRecord {
                    near_misses: vec![IgnoredRecord {
                        record: record.into(),
                        reason
                    }]
                },
                "{record}"
            );
            assert_eq!(err.conformance_id(), "STS-TXT-05");
        }
        // `id` first: the record does not begin with the version at all.
        assert!(discover(&[&["id=abc; v=STSv1"]]).unwrap_err().is_absent());
    }

    #[test]
    fn sts_txt_05_near_miss_beside_valid_record_is_a_warning() {
        let p = discover(&[&["v=STSv1; id=new"], &["v=STSv1 id=old"]]).unwrap();
        assert_eq!(p.value.id.as_str(), "new");
        assert!(matches!(
            p.warnings.as_slice(),
            [RecordWarning::IgnoredRecord(IgnoredRecord {
                reason: IgnoreReason::MissingSemicolon,
                ..
            })]
        ));
    }

    #[test]
    fn sts_txt_06_strings_concatenate_without_separator() {
        let p = discover(&[&["v=STSv1; i", "d=2016083108", "5700Z;"]]).unwrap();
        assert_eq!(p.value.id.as_str(), "20160831085700Z");
        // No space is inserted: "v=STSv1;" + "id=abc" is fine, "v=STS" + "v1" too.
        assert!(discover(&[&["v=STS", "v1;id=abc"]]).is_ok());
        // A split that relies on an inserted space breaks the id.
        let err = discover(&[&["v=STSv1; id=abc", "def ghi"]]).unwrap_err();
        assert!(matches!(err, NoPolicy::Invalid { .. }));
    }

    #[test]
    fn sts_txt_06_non_utf8_bytes_are_not_ascii() {
        let records = vec![vec![b"v=STSv1; id=abc\xff".to_vec()]];
        let err = StsRecord::from_txt_rrset(&records).unwrap_err();
        assert!(matches!(
            err,
            NoPolicy::Invalid {
                error: RecordError::NotAscii(_),
                ..
            }
        ));
    }

    fn arb_record() -> impl Strategy<Value = StsRecord> {
        let ext = ("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", "[!-:<>-~]{1,20}")
            .prop_filter("`id` is not an extension", |(n, _)| n != "id")
            .prop_map(|(n, v)| Extension::new(&n, &v).unwrap());
        ("[A-Za-z0-9]{1,32}", proptest::collection::vec(ext, 0..4)).prop_map(|(id, extensions)| {
            StsRecord {
                id: PolicyId::parse(&id).unwrap(),
                extensions,
            }
        })
    }

    proptest! {
        #[test]
        fn sts_txt_02_parser_never_panics(records in proptest::collection::vec(
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..4), 0..4)
        ) {
            let _ = StsRecord::from_txt_rrset(&records);
        }

        #[test]
        fn sts_txt_02_parser_never_panics_on_text(text in "v=STSv1[ \t;a-z=0-9_.\\-]{0,40}") {
            let _ = StsRecord::parse(&text);
        }

        #[test]
        fn sts_txt_02_render_parse_round_trip(record in arb_record()) {
            let text = record.to_string();
            let parsed = StsRecord::parse(&text).unwrap();
            prop_assert!(parsed.warnings.is_empty());
            prop_assert_eq!(parsed.value, record.clone());
            // Any split into strings gives the same record (STS-TXT-06).
            let (a, b) = text.split_at(text.len() / 2);
            let split = vec![vec![a.as_bytes().to_vec(), b.as_bytes().to_vec()]];
            prop_assert_eq!(StsRecord::from_txt_rrset(&split).unwrap().value, record);
        }
    }
}
