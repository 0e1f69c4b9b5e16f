//! The MTA-STS policy file (RFC 8461 §3.2).
//!
//! ```text
//! sts-policy-record        = sts-policy-field *WSP
//!                            *(sts-policy-term sts-policy-field *WSP)
//!                            [sts-policy-term]
//! sts-policy-field         = sts-policy-version /      ; required once
//!                            sts-policy-mode    /      ; required once
//!                            sts-policy-max-age /      ; required once
//!                            0*(sts-policy-mx *WSP sts-policy-term) /
//!                            ; required at least once, except when
//!                            ; mode is "none"
//!                            sts-policy-extension      ; other fields
//! sts-policy-field-delim   = ":" *WSP
//! sts-policy-version-value = %s"STSv1"
//! sts-policy-mode-value    =  %s"testing" / %s"enforce" / %s"none"
//! sts-policy-mx-value      = ["*."] Domain
//! sts-policy-max-age-value = 1*10(DIGIT)
//! sts-policy-term          = LF / CRLF
//! ```
//!
//! Field names and values are case-sensitive. Unknown fields are ignored; when a field other
//! than `mx` appears more than once, the first occurrence is used (STS-POL-08). `max_age`
//! above 31557600 is clamped (STS-POL-06).
//!
//! [`Policy::parse`] rejects a policy only where the RFC demands it: a line outside the ABNF
//! or against a MUST of §3.2. Everything else is accepted, with a [`PolicyWarning`] the checker
//! reports, because an invalid policy is no policy: one odd line would turn an `enforce`
//! domain into one without MTA-STS, a downgrade no attacker had to cause. Errors carry the
//! 1-based line number of the line at fault.
//!
//! | body or line | outcome | rule |
//! |---|---|---|
//! | more than 64 KiB | error | STS-FETCH-04 (§3.3: senders MAY limit the size) |
//! | empty, byte order mark, JSON, HTML, not UTF-8, a control character | error | STS-POL-03 (ABNF) |
//! | a line that is not `name: value` with a field name | error | STS-POL-03 (ABNF) |
//! | `version`, `mode` or `max_age` missing, or its first value outside the ABNF | error | STS-POL-04…06 ("required once") |
//! | an `mx` value outside `["*."] Domain`, several names, a U-label | error | STS-POL-07 (ABNF, two MUSTs) |
//! | an `mx` value no MX host name can match: an address, a single label | kept out of [`Policy::mx`]; warning | STS-POL-09 |
//! | no `mx` line while the mode is not `none` | valid, [`Policy::mx`] empty; warning | STS-POL-07 (no MUST; see below) |
//! | a later `version`, `mode` or `max_age`; an unknown field | ignored; warning | STS-POL-08 |
//! | blank line, trailing whitespace, `mx` with a trailing dot or repeated | accepted; warning | STS-POL-03, STS-POL-07 |
//! | `max_age` above 31557600 | clamped; warning | STS-POL-06 |
//!
//! An `enforce` policy left with no pattern that can match (no `mx` line, or only unmatchable
//! ones) is valid and covers no MX host, so senders that apply it defer the mail
//! (STS-APP-01): a typo fails closed, never open.

use std::fmt;

use crate::mta_sts::matcher::{MxPattern, MxValue, PatternError, Unmatchable};
use crate::mta_sts::record::{is_ext_name, trim_wsp_end, trim_wsp_start};
use crate::name::{DomainName, NameError};
use crate::parsed::Parsed;

/// The largest policy body accepted, in bytes (RFC 8461 §3.3 suggests 64 KB; STS-FETCH-04).
pub const MAX_POLICY_SIZE: usize = 64 * 1024;

/// The largest `max_age`, in seconds (about one year; RFC 8461 §3.2, STS-POL-06).
pub const MAX_MAX_AGE: u64 = 31_557_600;

/// The path of the policy on the policy host (RFC 8461 §3.2, STS-POL-01).
pub const WELL_KNOWN_PATH: &str = "/.well-known/mta-sts.txt";

/// The policy host: `mta-sts.<domain>` (RFC 8461 §3.2, STS-POL-01).
///
/// # Errors
///
/// Fails when the result would be longer than a domain name may be.
pub fn policy_host(domain: &DomainName) -> Result<DomainName, NameError> {
    domain.prepend("mta-sts")
}

/// The policy URL: `https://mta-sts.<domain>/.well-known/mta-sts.txt` (STS-POL-01).
///
/// # Errors
///
/// Fails when the policy host name would be too long.
pub fn policy_url(domain: &DomainName) -> Result<String, NameError> {
    Ok(format!("https://{}{WELL_KNOWN_PATH}", policy_host(domain)?))
}

/// The policy mode (RFC 8461 §5; STS-POL-05), in the order the RFC lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Refuse delivery to MX hosts that fail validation (STS-APP-01).
    Enforce,
    /// Deliver anyway, and report failures with TLS-RPT (STS-APP-02).
    Testing,
    /// Behave as if there were no policy (STS-APP-03).
    None,
}

impl Mode {
    /// The exact policy value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Testing => "testing",
            Self::None => "none",
        }
    }

    /// Parses the exact, case-sensitive value (STS-POL-05).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Enforce, Self::Testing, Self::None]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A valid MTA-STS policy (RFC 8461 §3.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub struct Policy {
    /// The mode (STS-POL-05).
    pub mode: Mode,
    /// How long, in seconds, the policy may be cached, already clamped to [`MAX_MAX_AGE`]
    /// (STS-POL-06).
    pub max_age: u64,
    /// The `mx` patterns that MX host names can match, in policy order, without duplicates
    /// (STS-POL-07). Empty when the mode is `none`, or when the policy has no `mx` line or only
    /// unmatchable ones: an `enforce` policy then covers no MX host (STS-APP-01).
    pub mx: Vec<MxPattern>,
    /// The `mx` values that no MX host name can match, in policy order (STS-POL-09). They take
    /// no part in matching; [`lines`](Self::lines) keeps them, to show the policy as served.
    pub unmatchable_mx: Vec<UnmatchableMx>,
}

/// An `mx` line whose value no MX host name can match (RFC 8461 §4.1, STS-POL-09).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct UnmatchableMx {
    /// The 1-based line number in the policy body.
    pub line: usize,
    /// The value and why it matches nothing.
    pub value: Unmatchable,
}

/// A deviation that leaves the policy valid; each but [`NoMx`](Self::NoMx) carries the
/// 1-based line number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyWarning {
    /// An empty line, which the ABNF does not allow (STS-POL-03).
    #[error("line {line}: empty line; the ABNF has none, and strict senders reject the policy")]
    BlankLine {
        /// The line number.
        line: usize,
    },
    /// Whitespace at the end of a line: allowed by the ABNF, rejected by some senders
    /// (STS-POL-03; SCENARIOS.md M-09).
    #[error("line {line}: trailing whitespace; allowed by the ABNF, but some senders reject it")]
    TrailingWhitespace {
        /// The line number.
        line: usize,
    },
    /// `max_age` above 31557600, clamped (STS-POL-06).
    #[error(
        "line {line}: max_age {value} is above the limit of 31557600 seconds; senders use 31557600"
    )]
    MaxAgeClamped {
        /// The line number.
        line: usize,
        /// The value as published.
        value: u64,
    },
    /// A second `version`, `mode` or `max_age`: ignored, the first wins (STS-POL-08).
    #[error("line {line}: `{key}` already appeared on line {first_line}; the first value is used and this one ignored")]
    DuplicateField {
        /// The line number of the ignored occurrence.
        line: usize,
        /// The field name.
        key: &'static str,
        /// The line of the occurrence that is used.
        first_line: usize,
    },
    /// A field this version of MTA-STS does not define: ignored (STS-POL-08).
    #[error("line {line}: unknown field {key:?} is ignored{}", did_you_mean(key, *similar_to))]
    UnknownField {
        /// The line number.
        line: usize,
        /// The field name as written.
        key: String,
        /// The standard field it resembles, if any.
        similar_to: Option<&'static str>,
    },
    /// An `mx` name with a trailing dot, which RFC 5321 `Domain` does not have (STS-POL-07).
    #[error("line {line}: the `mx` name ends with a dot; write it without")]
    MxTrailingDot {
        /// The line number.
        line: usize,
    },
    /// The same `mx` pattern twice (STS-POL-07).
    #[error("line {line}: `mx: {pattern}` appears twice")]
    DuplicateMx {
        /// The line number of the repetition.
        line: usize,
        /// The repeated pattern.
        pattern: MxPattern,
    },
    /// An `mx` value that no MX host name can match: left out of matching (STS-POL-09).
    #[error("line {line}: `mx: {}` can never match an MX host and is ignored: it {}", value.value(), value.reason())]
    UnmatchableMx {
        /// The line number.
        line: usize,
        /// The value and why it matches nothing.
        value: Unmatchable,
    },
    /// No `mx` line while the mode is not `none` (STS-POL-07): the policy covers no MX host.
    #[error("mode is `{mode}` but there is no `mx` line{}, so the policy covers no MX host{}; add one `mx:` line per MX host", similar_line(similar.as_ref(), "mx"), match mode { Mode::Enforce => " and senders that apply it defer all mail", _ => "" })]
    NoMx {
        /// The policy's mode.
        mode: Mode,
        /// A line with a field name that resembles `mx`: line number and name.
        similar: Option<(usize, String)>,
    },
}

/// Why a policy body is invalid (RFC 8461 §3.2). A sender treats it as `sts-policy-invalid`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The body is larger than [`MAX_POLICY_SIZE`] (STS-FETCH-04).
    #[error("the policy is {size} bytes; the limit is 65536")]
    TooLarge {
        /// The body size.
        size: usize,
    },
    /// The body is empty or only whitespace (STS-POL-03).
    #[error("the policy is empty")]
    Empty,
    /// The body starts with a UTF-8 byte order mark (STS-POL-03; SCENARIOS.md M-09).
    #[error("line 1: the policy starts with a UTF-8 byte order mark; save it without BOM")]
    ByteOrderMark,
    /// The body is JSON, not `key: value` lines (STS-POL-03; SCENARIOS.md M-09).
    #[error("line {line}: the policy looks like JSON; it must be plain `key: value` lines")]
    JsonBody {
        /// The line of the first character that is not whitespace.
        line: usize,
    },
    /// The body is HTML: usually an error page served with status 200 (SCENARIOS.md M-03).
    #[error(
        "line {line}: the policy looks like HTML (an error page?); it must be plain `key: value` lines"
    )]
    HtmlBody {
        /// The line of the first character that is not whitespace.
        line: usize,
    },
    /// A line is not valid UTF-8 (STS-POL-03).
    #[error("line {line}: not valid UTF-8 (Windows-1252 quotes or another legacy encoding?)")]
    NotUtf8 {
        /// The line number.
        line: usize,
    },
    /// A control character, including a CR not followed by LF (STS-POL-03).
    #[error("line {line}: {}", describe_control(*byte))]
    ControlCharacter {
        /// The line number.
        line: usize,
        /// The offending byte.
        byte: u8,
    },
    /// A line without `:` (STS-POL-03).
    #[error("line {line}: {text:?} is not of the form `key: value`")]
    MalformedLine {
        /// The line number.
        line: usize,
        /// The line (shortened when long).
        text: String,
    },
    /// The text before `:` is not a field name, e.g. it has spaces (STS-POL-03).
    #[error("line {line}: {key:?} is not a field name (a letter or digit, then letters, digits, `_`, `-`, `.`; nothing before it, no space before `:`)")]
    InvalidKey {
        /// The line number.
        line: usize,
        /// The text before `:` (shortened when long).
        key: String,
    },
    /// `version`, `mode` or `max_age` is missing (STS-POL-04…06).
    #[error("required field `{field}` is missing{}", similar_line(similar.as_ref(), field))]
    MissingField {
        /// The missing field.
        field: &'static str,
        /// A line with a field name that resembles it: line number and name.
        similar: Option<(usize, String)>,
    },
    /// `version` is not `STSv1` (STS-POL-04).
    #[error("line {line}: version {value:?} is not `STSv1`{}", case_hint(value, &["STSv1"]))]
    InvalidVersion {
        /// The line number.
        line: usize,
        /// The value as published.
        value: String,
    },
    /// `mode` is not `enforce`, `testing` or `none` (STS-POL-05).
    #[error("line {line}: mode {value:?} is not `enforce`, `testing` or `none`{}", case_hint(value, &["enforce", "testing", "none"]))]
    InvalidMode {
        /// The line number.
        line: usize,
        /// The value as published.
        value: String,
    },
    /// `max_age` is not 1 to 10 digits (STS-POL-06).
    #[error("line {line}: max_age {value:?} {problem}")]
    InvalidMaxAge {
        /// The line number.
        line: usize,
        /// The value as published.
        value: String,
        /// What is wrong with it.
        problem: MaxAgeProblem,
    },
    /// An `mx` value breaks the ABNF `["*."] Domain` or a MUST of RFC 8461 §3.2
    /// (STS-POL-07).
    #[error("line {line}: invalid `mx`: {source}")]
    InvalidMx {
        /// The line number.
        line: usize,
        /// What is wrong with the pattern.
        source: PatternError,
    },
}

/// What is wrong with a `max_age` value (STS-POL-06; SCENARIOS.md M-09).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MaxAgeProblem {
    /// Nothing after `max_age:`.
    #[error("is empty; give the number of seconds")]
    Empty,
    /// A minus sign.
    #[error("is negative; give the number of seconds, e.g. 604800")]
    Negative,
    /// Digits followed by a unit or other text.
    #[error("has a unit or other text; give the number of seconds only, e.g. 604800")]
    Units,
    /// More than 10 digits.
    #[error("has more than 10 digits; the maximum useful value is 31557600")]
    TooManyDigits,
    /// Anything else that is not digits.
    #[error("is not a number of seconds")]
    NotANumber,
}

impl Policy {
    /// Parses a policy body as served over HTTPS (RFC 8461 §3.2; STS-POL-03…09).
    ///
    /// # Errors
    ///
    /// Returns the first problem found, with its line number and what was expected; only
    /// what the RFC demands is an error (see the module documentation).
    pub fn parse(body: &[u8]) -> Result<Parsed<Self, PolicyWarning>, PolicyError> {
        // RFC 8461 §3.3: "Senders MAY impose a timeout on the HTTPS GET and/or a limit on the
        // maximum size of the response body" (64 kilobytes suggested; STS-FETCH-04).
        if body.len() > MAX_POLICY_SIZE {
            return Err(PolicyError::TooLarge { size: body.len() });
        }
        // The ABNF: a policy starts with a field name, `(ALPHA / DIGIT) ...`, so a byte order
        // mark, a JSON document or an HTML page is not an `sts-policy-record`.
        if body.starts_with(b"\xEF\xBB\xBF") {
            return Err(PolicyError::ByteOrderMark);
        }
        let Some(first) = body.iter().position(|b| !b.is_ascii_whitespace()) else {
            return Err(PolicyError::Empty);
        };
        let line = 1 + body[..first].iter().filter(|b| **b == b'\n').count();
        match body[first] {
            b'{' | b'[' => return Err(PolicyError::JsonBody { line }),
            b'<' => return Err(PolicyError::HtmlBody { line }),
            _ => {}
        }
        let mut builder = Builder::default();
        let body = body.strip_suffix(b"\n").unwrap_or(body);
        for (index, raw) in body.split(|b| *b == b'\n').enumerate() {
            builder.line(index + 1, raw)?;
        }
        builder.finish()
    }

    /// The policy's canonical lines: `version: STSv1`, `mode: …`, one `mx: …` per pattern,
    /// then one per unmatchable value as served (STS-POL-09), `max_age: …`.
    ///
    /// This is the form RFC 8460 §4.4 uses for the TLS-RPT `policy-string` (RPT-JSON-02) and
    /// Postfix for its `policy_string` attributes (POSTFIX.md §4.3): the policy as served, so
    /// an `mx` line that matches nothing is still shown. `max_age` is the effective (clamped)
    /// value.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::with_capacity(self.mx.len() + self.unmatchable_mx.len() + 3);
        lines.push("version: STSv1".to_owned());
        lines.push(format!("mode: {}", self.mode));
        lines.extend(self.mx.iter().map(|p| format!("mx: {p}")));
        lines.extend(
            self.unmatchable_mx
                .iter()
                .map(|u| format!("mx: {}", u.value.value())),
        );
        lines.push(format!("max_age: {}", self.max_age));
        lines
    }

    /// The canonical policy file: [`lines`](Self::lines), each ended with CRLF.
    pub fn to_text(&self) -> String {
        self.lines().iter().map(|l| format!("{l}\r\n")).collect()
    }

    /// The first `mx` pattern that `host` matches (RFC 8461 §4.1, STS-VAL-01).
    pub fn matching_pattern(&self, host: &DomainName) -> Option<&MxPattern> {
        self.mx.iter().find(|p| p.matches(host))
    }

    /// Whether `host` matches at least one `mx` pattern (RFC 8461 §4.1, STS-VAL-01).
    pub fn matches(&self, host: &DomainName) -> bool {
        self.matching_pattern(host).is_some()
    }
}

/// Collects fields line by line; the first occurrence of each single field wins.
#[derive(Default)]
struct Builder {
    version: Option<usize>,
    mode: Option<(usize, Mode)>,
    max_age: Option<(usize, u64)>,
    mx: Vec<MxPattern>,
    unmatchable_mx: Vec<UnmatchableMx>,
    warnings: Vec<PolicyWarning>,
}

impl Builder {
    fn line(&mut self, line: usize, raw: &[u8]) -> Result<(), PolicyError> {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        // The ABNF: values are ASCII, or UTF-8 in extension values (`sts-policy-vchar`), with
        // no control characters; `sts-policy-term` is LF or CRLF, never a lone CR.
        let text = std::str::from_utf8(raw).map_err(|_| PolicyError::NotUtf8 { line })?;
        if let Some(byte) = raw.iter().find(|b| b.is_ascii_control() && **b != b'\t') {
            return Err(PolicyError::ControlCharacter { line, byte: *byte });
        }
        let content = trim_wsp_end(text);
        if trim_wsp_start(content).is_empty() {
            self.warnings.push(PolicyWarning::BlankLine { line });
            return Ok(());
        }
        if content.len() != text.len() {
            self.warnings
                .push(PolicyWarning::TrailingWhitespace { line });
        }
        // The ABNF: every field is a name, then `sts-policy-field-delim = ":" *WSP`, then its
        // value; a name is `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`.
        let Some((key, value)) = content.split_once(':') else {
            return Err(PolicyError::MalformedLine {
                line,
                text: excerpt(content),
            });
        };
        if !is_ext_name(key) {
            return Err(PolicyError::InvalidKey {
                line,
                key: excerpt(key),
            });
        }
        let value = trim_wsp_start(value);
        match key {
            "version" => self.version(line, value),
            "mode" => self.mode(line, value),
            "max_age" => self.max_age(line, value),
            "mx" => self.mx(line, value),
            _ => {
                self.warnings.push(PolicyWarning::UnknownField {
                    line,
                    key: key.to_owned(),
                    similar_to: similar_field(key),
                });
                Ok(())
            }
        }
    }

    /// A repeated `version`, `mode` or `max_age`, ignored whatever its value: "If any
    /// non-repeated field--i.e., all fields excepting "mx"--is duplicated, all entries except
    /// for the first SHALL be ignored" (RFC 8461 §3.2). The first must hold a value of the
    /// ABNF.
    fn duplicate(&mut self, line: usize, key: &'static str, first_line: usize) {
        self.warnings.push(PolicyWarning::DuplicateField {
            line,
            key,
            first_line,
        });
    }

    fn version(&mut self, line: usize, value: &str) -> Result<(), PolicyError> {
        if let Some(first_line) = self.version {
            self.duplicate(line, "version", first_line);
        } else if value == "STSv1" {
            self.version = Some(line);
        } else {
            return Err(PolicyError::InvalidVersion {
                line,
                value: excerpt(value),
            });
        }
        Ok(())
    }

    fn mode(&mut self, line: usize, value: &str) -> Result<(), PolicyError> {
        if let Some((first_line, _)) = self.mode {
            self.duplicate(line, "mode", first_line);
            return Ok(());
        }
        let mode = Mode::parse(value).ok_or_else(|| PolicyError::InvalidMode {
            line,
            value: excerpt(value),
        })?;
        self.mode = Some((line, mode));
        Ok(())
    }

    fn max_age(&mut self, line: usize, value: &str) -> Result<(), PolicyError> {
        if let Some((first_line, _)) = self.max_age {
            self.duplicate(line, "max_age", first_line);
            return Ok(());
        }
        let declared = parse_max_age(value).map_err(|problem| PolicyError::InvalidMaxAge {
            line,
            value: excerpt(value),
            problem,
        })?;
        if declared > MAX_MAX_AGE {
            self.warnings.push(PolicyWarning::MaxAgeClamped {
                line,
                value: declared,
            });
        }
        self.max_age = Some((line, declared.min(MAX_MAX_AGE)));
        Ok(())
    }

    fn mx(&mut self, line: usize, value: &str) -> Result<(), PolicyError> {
        // An error here breaks the ABNF `["*."] Domain` or a MUST of RFC 8461 §3.2 (one
        // pattern per line, A-labels); a value that merely matches nothing is kept aside.
        let parsed =
            MxValue::parse(value).map_err(|source| PolicyError::InvalidMx { line, source })?;
        if value.ends_with('.') {
            self.warnings.push(PolicyWarning::MxTrailingDot { line });
        }
        match parsed {
            MxValue::Pattern(pattern) if self.mx.contains(&pattern) => {
                self.warnings
                    .push(PolicyWarning::DuplicateMx { line, pattern });
            }
            MxValue::Pattern(pattern) => self.mx.push(pattern),
            MxValue::Unmatchable(value) => {
                self.warnings.push(PolicyWarning::UnmatchableMx {
                    line,
                    value: value.clone(),
                });
                self.unmatchable_mx.push(UnmatchableMx { line, value });
            }
        }
        Ok(())
    }

    /// The first unknown field that resembles `field`: its line and name.
    fn similar(&self, field: &str) -> Option<(usize, String)> {
        self.warnings.iter().find_map(|w| match w {
            PolicyWarning::UnknownField {
                line,
                key,
                similar_to: Some(s),
            } if *s == field => Some((*line, key.clone())),
            _ => None,
        })
    }

    fn finish(mut self) -> Result<Parsed<Policy, PolicyWarning>, PolicyError> {
        let missing = |field: &'static str| PolicyError::MissingField {
            field,
            similar: self.similar(field),
        };
        // The ABNF marks `version`, `mode` and `max_age` "required once": without them the
        // policy has no version, no behaviour and no lifetime, so there is nothing to apply.
        if self.version.is_none() {
            return Err(missing("version"));
        }
        let Some((_, mode)) = self.mode else {
            return Err(missing("mode"));
        };
        let Some((_, max_age)) = self.max_age else {
            return Err(missing("max_age"));
        };
        // The ABNF comment "required at least once, except when mode is "none"" is the only
        // text that asks for an `mx` line; no MUST of RFC 8461 §3.2 does. The sentence that
        // does say MUST is "Parsers MUST accept TXT records and policy files that are
        // syntactically valid ..., possibly containing additional key/value pairs not
        // specified in this document, in which case unknown fields SHALL be ignored": a typo
        // such as `nmx:` is such a field. The policy stays valid and covers no MX host, so an
        // `enforce` policy defers mail (STS-APP-01) instead of being discarded, which would
        // send the mail without MTA-STS.
        if self.mx.is_empty() && self.unmatchable_mx.is_empty() && mode != Mode::None {
            let similar = self.similar("mx");
            self.warnings.push(PolicyWarning::NoMx { mode, similar });
        }
        Ok(Parsed {
            value: Policy {
                mode,
                max_age,
                mx: self.mx,
                unmatchable_mx: self.unmatchable_mx,
            },
            warnings: self.warnings,
        })
    }
}

/// `1*10(DIGIT)` (STS-POL-06).
fn parse_max_age(value: &str) -> Result<u64, MaxAgeProblem> {
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    if value.is_empty() {
        Err(MaxAgeProblem::Empty)
    } else if digits == value.len() && digits > 10 {
        Err(MaxAgeProblem::TooManyDigits)
    } else if digits == value.len() {
        value.parse().map_err(|_| MaxAgeProblem::NotANumber)
    } else if digits > 0 {
        Err(MaxAgeProblem::Units)
    } else if value.starts_with('-') && value.len() > 1 {
        Err(MaxAgeProblem::Negative)
    } else {
        Err(MaxAgeProblem::NotANumber)
    }
}

/// The standard field a misspelt name most likely meant: the same letters ignoring case and
/// `_`/`-`/`.`, or else one letter added, dropped or changed (`nmx` for `mx`).
fn similar_field(key: &str) -> Option<&'static str> {
    const FIELDS: [&str; 4] = ["version", "mode", "max_age", "mx"];
    let squash = |s: &str| -> Vec<char> {
        s.chars()
            .filter(|c| !matches!(c, '_' | '-' | '.'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let key = squash(key);
    FIELDS
        .into_iter()
        .find(|field| squash(field) == key)
        .or_else(|| {
            FIELDS
                .into_iter()
                .find(|field| one_edit_apart(&squash(field), &key))
        })
}

/// Whether adding, dropping or changing one character turns `a` into `b`.
fn one_edit_apart(a: &[char], b: &[char]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => short.iter().zip(long).filter(|(x, y)| x != y).count() == 1,
        1 => {
            let same = short.iter().zip(long).take_while(|(x, y)| x == y).count();
            short[same..] == long[same + 1..]
        }
        _ => false,
    }
}

/// " (did you mean `mode`?)" for an unknown field name that resembles a standard one.
fn did_you_mean(key: &str, field: Option<&str>) -> String {
    match field {
        None => String::new(),
        Some(f) if f.eq_ignore_ascii_case(key) => {
            format!(" (did you mean `{f}`? field names are case-sensitive)")
        }
        Some(f) => format!(" (did you mean `{f}`?)"),
    }
}

/// " (line 3 has "nmx")" for the line whose field name resembles the missing `field`.
fn similar_line(similar: Option<&(usize, String)>, field: &str) -> String {
    match similar {
        None => String::new(),
        Some((line, key)) if key.eq_ignore_ascii_case(field) => {
            format!(" (line {line} has {key:?}; field names are case-sensitive)")
        }
        Some((line, key)) => format!(" (line {line} has {key:?})"),
    }
}

fn case_hint(value: &str, allowed: &[&str]) -> String {
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(value))
        .map(|a| format!(" (values are case-sensitive: write `{a}`)"))
        .unwrap_or_default()
}

fn describe_control(byte: u8) -> String {
    match byte {
        b'\r' => "carriage return not followed by a line feed; end lines with LF or CRLF".into(),
        _ => format!("control character 0x{byte:02x} is not allowed"),
    }
}

/// At most 80 characters of `s`, for error messages.
fn excerpt(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

impl PolicyWarning {
    /// The 1-based line number the warning is about, when it is about one line.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::BlankLine { line }
            | Self::TrailingWhitespace { line }
            | Self::MaxAgeClamped { line, .. }
            | Self::DuplicateField { line, .. }
            | Self::UnknownField { line, .. }
            | Self::MxTrailingDot { line }
            | Self::DuplicateMx { line, .. }
            | Self::UnmatchableMx { line, .. } => Some(*line),
            Self::NoMx { .. } => None,
        }
    }

    /// The conformance ID (CONFORMANCE.md) this warning is about.
    pub fn conformance_id(&self) -> &'static str {
        match self {
            Self::BlankLine { .. } | Self::TrailingWhitespace { .. } => "STS-POL-03",
            Self::MaxAgeClamped { .. } => "STS-POL-06",
            Self::DuplicateField { .. } | Self::UnknownField { .. } => "STS-POL-08",
            Self::MxTrailingDot { .. } | Self::DuplicateMx { .. } | Self::NoMx { .. } => {
                "STS-POL-07"
            }
            Self::UnmatchableMx { .. } => "STS-POL-09",
        }
    }
}

impl PolicyError {
    /// The 1-based line number of the problem, when it is on one line.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::ByteOrderMark => Some(1),
            Self::JsonBody { line }
            | Self::HtmlBody { line }
            | Self::NotUtf8 { line }
            | Self::ControlCharacter { line, .. }
            | Self::MalformedLine { line, .. }
            | Self::InvalidKey { line, .. }
            | Self::InvalidVersion { line, .. }
            | Self::InvalidMode { line, .. }
            | Self::InvalidMaxAge { line, .. }
            | Self::InvalidMx { line, .. } => Some(*line),
            Self::TooLarge { .. } | Self::Empty | Self::MissingField { .. } => None,
        }
    }

    /// The conformance ID (CONFORMANCE.md) this error violates.
    pub fn conformance_id(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "STS-FETCH-04",
            Self::MissingField {
                field: "version", ..
            }
            | Self::InvalidVersion { .. } => "STS-POL-04",
            Self::MissingField { field: "mode", .. } | Self::InvalidMode { .. } => "STS-POL-05",
            Self::MissingField { .. } | Self::InvalidMaxAge { .. } => "STS-POL-06",
            Self::InvalidMx { .. } => "STS-POL-07",
            _ => "STS-POL-03",
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::mta_sts::matcher::UnmatchableReason;

    fn parse(body: &str) -> Parsed<Policy, PolicyWarning> {
        Policy::parse(body.as_bytes()).unwrap()
    }

    fn error(body: &str) -> PolicyError {
        Policy::parse(body.as_bytes()).unwrap_err()
    }

    fn host(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    const VALID: &str = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n";

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/", $name)).as_slice()
        };
    }

    #[test]
    fn sts_pol_01_policy_url() {
        let d = host("example.com");
        assert_eq!(policy_host(&d).unwrap().as_str(), "mta-sts.example.com");
        assert_eq!(
            policy_url(&d).unwrap(),
            "https://mta-sts.example.com/.well-known/mta-sts.txt"
        );
    }

    #[test]
    fn sts_pol_03_rfc_8461_example() {
        let p = Policy::parse(fixture!("rfc8461-section-3.2-example.txt")).unwrap();
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(p.value.mode, Mode::Enforce);
        assert_eq!(p.value.max_age, 604800);
        let mx: Vec<String> = p.value.mx.iter().map(ToString::to_string).collect();
        assert_eq!(
            mx,
            ["mail.example.com", "*.example.net", "backupmx.example.com"]
        );
    }

    #[test]
    fn sts_pol_03_lf_crlf_mixed_and_no_final_newline() {
        let crlf = VALID.replace('\n', "\r\n");
        assert_eq!(parse(&crlf).value, parse(VALID).value);
        let mixed = "version: STSv1\r\nmode: enforce\nmx: mail.example.com\r\nmax_age: 86400";
        let p = parse(mixed);
        assert_eq!(p.value, parse(VALID).value);
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn sts_pol_03_optional_whitespace_after_colon() {
        let p = parse("version:STSv1\nmode:\t enforce\nmx:mail.example.com\nmax_age:   86400\n");
        assert_eq!(p.value, parse(VALID).value);
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn sts_pol_03_trailing_whitespace_is_a_warning() {
        let p = Policy::parse(fixture!("sts-pol-03-trailing-spaces.txt")).unwrap();
        assert_eq!(p.value, parse(VALID).value);
        assert_eq!(
            p.warnings,
            [
                PolicyWarning::TrailingWhitespace { line: 2 },
                PolicyWarning::TrailingWhitespace { line: 3 }
            ]
        );
        assert_eq!(p.warnings[0].conformance_id(), "STS-POL-03");
    }

    #[test]
    fn sts_pol_03_blank_lines_are_a_warning() {
        let p = parse("version: STSv1\n\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n\n");
        assert_eq!(p.value, parse(VALID).value);
        assert_eq!(
            p.warnings,
            [
                PolicyWarning::BlankLine { line: 2 },
                PolicyWarning::BlankLine { line: 6 }
            ]
        );
    }

    #[test]
    fn sts_pol_03_utf8_bom_rejected() {
        let err = Policy::parse(fixture!("sts-pol-03-utf8-bom.txt")).unwrap_err();
        assert_eq!(err, PolicyError::ByteOrderMark);
        assert_eq!(err.line(), Some(1));
        assert!(err.to_string().contains("byte order mark"));
    }

    #[test]
    fn sts_pol_03_json_body_rejected() {
        let err = Policy::parse(fixture!("sts-pol-03-json-body.txt")).unwrap_err();
        assert_eq!(err, PolicyError::JsonBody { line: 1 });
        assert_eq!(err.conformance_id(), "STS-POL-03");
        let err = error("\n\n  [\"version: STSv1\"]\n");
        assert_eq!(err, PolicyError::JsonBody { line: 3 });
        assert!(err.to_string().starts_with("line 3: "), "{err}");
    }

    #[test]
    fn sts_pol_03_html_error_page_rejected() {
        let err = Policy::parse(fixture!("sts-pol-03-html-soft-404.txt")).unwrap_err();
        assert_eq!(err, PolicyError::HtmlBody { line: 1 });
    }

    #[test]
    fn sts_pol_03_windows_1252_quotes_are_not_utf8() {
        let err = Policy::parse(fixture!("sts-pol-03-windows-1252-quotes.txt")).unwrap_err();
        assert_eq!(err, PolicyError::NotUtf8 { line: 2 });
        assert!(err.to_string().contains("Windows-1252"));
    }

    #[test]
    fn sts_pol_03_utf8_curly_quotes_are_an_invalid_mode() {
        let err = error("version: STSv1\nmode: “enforce”\nmx: a.example\nmax_age: 1\n");
        assert!(matches!(err, PolicyError::InvalidMode { line: 2, .. }));
    }

    #[test]
    fn sts_pol_03_lines_must_be_key_colon_value() {
        assert_eq!(
            error("version: STSv1\nmode enforce\n"),
            PolicyError::MalformedLine {
                line: 2,
                text: "mode enforce".into()
            }
        );
        assert_eq!(
            error("version: STSv1\nmode : enforce\n"),
            PolicyError::InvalidKey {
                line: 2,
                key: "mode ".into()
            }
        );
        assert_eq!(
            error("version: STSv1\n  mode: enforce\n"),
            PolicyError::InvalidKey {
                line: 2,
                key: "  mode".into()
            }
        );
    }

    #[test]
    fn sts_pol_03_control_characters_rejected() {
        assert_eq!(
            error("version: STSv1\rmode: enforce\r"),
            PolicyError::ControlCharacter {
                line: 1,
                byte: b'\r'
            }
        );
        assert_eq!(
            error("version: STSv1\nmode: enf\0orce\n"),
            PolicyError::ControlCharacter { line: 2, byte: 0 }
        );
    }

    #[test]
    fn sts_pol_03_empty_body_rejected() {
        assert_eq!(error(""), PolicyError::Empty);
        assert_eq!(error(" \r\n\n"), PolicyError::Empty);
    }

    #[test]
    fn sts_pol_03_body_size_is_bounded() {
        let mut body = VALID.to_owned();
        body.push_str(&"x-pad: 0123456789\n".repeat(MAX_POLICY_SIZE / 18));
        assert!(matches!(
            Policy::parse(body.as_bytes()),
            Err(PolicyError::TooLarge { .. })
        ));
        let padded = format!("{VALID}{}", " ".repeat(MAX_POLICY_SIZE - VALID.len()));
        assert!(Policy::parse(padded.as_bytes()).is_ok());
    }

    #[test]
    fn sts_pol_04_missing_version() {
        let err = Policy::parse(fixture!("sts-pol-04-missing-version.txt")).unwrap_err();
        assert_eq!(
            err,
            PolicyError::MissingField {
                field: "version",
                similar: None
            }
        );
        assert_eq!(err.conformance_id(), "STS-POL-04");
    }

    #[test]
    fn sts_pol_04_version_is_case_sensitive() {
        let err = error("version: stsv1\nmode: enforce\nmx: a.example\nmax_age: 1\n");
        assert_eq!(
            err,
            PolicyError::InvalidVersion {
                line: 1,
                value: "stsv1".into()
            }
        );
        assert!(err.to_string().contains("write `STSv1`"));
        let err = error("Version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n");
        assert_eq!(
            err,
            PolicyError::MissingField {
                field: "version",
                similar: Some((1, "Version".into()))
            }
        );
        assert!(err.to_string().contains("case-sensitive"), "{err}");
    }

    #[test]
    fn sts_pol_05_mode_enforced_rejected() {
        let err = Policy::parse(fixture!("sts-pol-05-mode-enforced.txt")).unwrap_err();
        assert_eq!(
            err,
            PolicyError::InvalidMode {
                line: 2,
                value: "enforced".into()
            }
        );
        assert_eq!(err.conformance_id(), "STS-POL-05");
    }

    #[test]
    fn sts_pol_05_mode_capitalised_rejected() {
        let err = Policy::parse(fixture!("sts-pol-05-mode-Enforce.txt")).unwrap_err();
        assert_eq!(
            err,
            PolicyError::InvalidMode {
                line: 2,
                value: "Enforce".into()
            }
        );
        assert!(err.to_string().contains("write `enforce`"), "{err}");
    }

    #[test]
    fn sts_pol_05_mode_report_rejected() {
        // `report` was a draft-era mode.
        let err = error("version: STSv1\nmode: report\nmx: a.example\nmax_age: 1\n");
        assert!(matches!(err, PolicyError::InvalidMode { .. }));
    }

    #[test]
    fn sts_pol_05_all_three_modes() {
        for mode in [Mode::Enforce, Mode::Testing, Mode::None] {
            let body = format!("version: STSv1\nmode: {mode}\nmx: a.example\nmax_age: 1\n");
            assert_eq!(parse(&body).value.mode, mode);
        }
        assert!(matches!(
            error("version: STSv1\nmx: a.example\nmax_age: 1\n"),
            PolicyError::MissingField { field: "mode", .. }
        ));
    }

    #[test]
    fn sts_pol_06_max_age_with_units_rejected() {
        let err = Policy::parse(fixture!("sts-pol-06-max-age-units.txt")).unwrap_err();
        assert_eq!(
            err,
            PolicyError::InvalidMaxAge {
                line: 4,
                value: "1w".into(),
                problem: MaxAgeProblem::Units
            }
        );
        assert_eq!(err.conformance_id(), "STS-POL-06");
    }

    #[test]
    fn sts_pol_06_max_age_negative_rejected() {
        let err = Policy::parse(fixture!("sts-pol-06-max-age-negative.txt")).unwrap_err();
        assert!(matches!(
            err,
            PolicyError::InvalidMaxAge {
                problem: MaxAgeProblem::Negative,
                ..
            }
        ));
    }

    #[test]
    fn sts_pol_06_max_age_absent_rejected() {
        let err = Policy::parse(fixture!("sts-pol-06-max-age-absent.txt")).unwrap_err();
        assert_eq!(
            err,
            PolicyError::MissingField {
                field: "max_age",
                similar: Some((4, "max-age".into()))
            }
        );
        assert_eq!(err.conformance_id(), "STS-POL-06");
    }

    #[test]
    fn sts_pol_06_max_age_digit_rules() {
        let with = |v: &str| format!("version: STSv1\nmode: none\nmax_age: {v}\n");
        assert_eq!(parse(&with("0")).value.max_age, 0);
        assert_eq!(parse(&with("0000604800")).value.max_age, 604800);
        for (v, problem) in [
            ("", MaxAgeProblem::Empty),
            ("12345678901", MaxAgeProblem::TooManyDigits),
            ("+86400", MaxAgeProblem::NotANumber),
            ("86 400", MaxAgeProblem::Units),
            ("1e6", MaxAgeProblem::Units),
            ("-", MaxAgeProblem::NotANumber),
            ("\"86400\"", MaxAgeProblem::NotANumber),
        ] {
            assert_eq!(
                error(&with(v)),
                PolicyError::InvalidMaxAge {
                    line: 3,
                    value: v.into(),
                    problem
                },
                "{v:?}"
            );
        }
    }

    #[test]
    fn sts_pol_06_max_age_above_limit_is_clamped_with_warning() {
        let p = Policy::parse(fixture!("sts-pol-06-max-age-too-large.txt")).unwrap();
        assert_eq!(p.value.max_age, MAX_MAX_AGE);
        assert_eq!(
            p.warnings,
            [PolicyWarning::MaxAgeClamped {
                line: 4,
                value: 9_999_999_999
            }]
        );
        assert_eq!(p.warnings[0].conformance_id(), "STS-POL-06");
        let at_limit = "version: STSv1\nmode: none\nmax_age: 31557600\n";
        assert!(parse(at_limit).warnings.is_empty());
    }

    #[test]
    fn sts_pol_07_several_names_on_one_line_rejected() {
        let err = Policy::parse(fixture!("sts-pol-07-several-names.txt")).unwrap_err();
        assert!(matches!(
            err,
            PolicyError::InvalidMx {
                line: 3,
                source: PatternError::SeveralNames(_)
            }
        ));
        assert!(
            err.to_string().contains("one `mx:` line per pattern"),
            "{err}"
        );
        assert_eq!(err.conformance_id(), "STS-POL-07");
    }

    #[test]
    fn sts_pol_07_commas_rejected() {
        let err = Policy::parse(fixture!("sts-pol-07-commas.txt")).unwrap_err();
        assert!(matches!(
            err,
            PolicyError::InvalidMx {
                line: 3,
                source: PatternError::Comma(_)
            }
        ));
    }

    #[test]
    fn sts_pol_07_no_mx_line_leaves_a_valid_policy_that_covers_no_host() {
        // RFC 8461 §3.2 asks for an `mx` line only in an ABNF comment ("required at least
        // once, except when mode is "none""), with no MUST; what it does say with a MUST is
        // "Parsers MUST accept TXT records and policy files that are syntactically valid
        // ..., in which case unknown fields SHALL be ignored". So the typo `nmx:` is an
        // unknown field, and the enforce policy stands with no pattern: senders defer
        // (STS-APP-01) instead of dropping MTA-STS for the domain.
        for mode in [Mode::Enforce, Mode::Testing] {
            let p = parse(&format!(
                "version: STSv1\nmode: {mode}\nnmx: mx1.example.org\nmax_age: 86400\n"
            ));
            assert_eq!(p.value.mode, mode);
            assert!(p.value.mx.is_empty() && p.value.unmatchable_mx.is_empty());
            assert!(!p.value.matches(&host("mx1.example.org")));
            assert_eq!(
                p.warnings,
                [
                    PolicyWarning::UnknownField {
                        line: 3,
                        key: "nmx".into(),
                        similar_to: Some("mx")
                    },
                    PolicyWarning::NoMx {
                        mode,
                        similar: Some((3, "nmx".into()))
                    }
                ]
            );
            assert!(
                p.warnings[0].to_string().ends_with("(did you mean `mx`?)"),
                "{}",
                p.warnings[0]
            );
            assert!(
                p.warnings[1]
                    .to_string()
                    .contains("no `mx` line (line 3 has \"nmx\")"),
                "{}",
                p.warnings[1]
            );
            assert_eq!(p.warnings[1].conformance_id(), "STS-POL-07");
            assert_eq!(p.warnings[1].line(), None);
        }
        let enforce = parse("version: STSv1\nmode: enforce\nmax_age: 1\n");
        assert!(enforce.warnings[0].to_string().contains("defer all mail"));
        let none = parse("version: STSv1\nmode: none\nmax_age: 86400\n");
        assert!(none.value.mx.is_empty() && none.warnings.is_empty());
    }

    /// The policy of issue 18: an enforce policy with an address, a typo and the real MX.
    const IP_AND_TYPO: &str = "version: STSv1\nmode: enforce\nmx: 192.0.2.25\nnmx: mx2.example.org\nmx: mx1.example.org\nmax_age: 86400\n";

    #[test]
    fn sts_pol_09_ip_address_mx_is_kept_out_of_matching_not_fatal() {
        let p = parse(IP_AND_TYPO);
        assert_eq!(p.value.mode, Mode::Enforce);
        let mx: Vec<String> = p.value.mx.iter().map(ToString::to_string).collect();
        assert_eq!(mx, ["mx1.example.org"]);
        assert!(p.value.matches(&host("mx1.example.org")));
        assert!(!p.value.matches(&host("mx2.example.org")));
        let [unmatchable] = p.value.unmatchable_mx.as_slice() else {
            panic!("{:?}", p.value.unmatchable_mx);
        };
        assert_eq!(unmatchable.line, 3);
        assert_eq!(unmatchable.value.value(), "192.0.2.25");
        assert_eq!(unmatchable.value.reason(), UnmatchableReason::IpAddress);
        assert_eq!(
            p.warnings,
            [
                PolicyWarning::UnmatchableMx {
                    line: 3,
                    value: unmatchable.value.clone()
                },
                PolicyWarning::UnknownField {
                    line: 4,
                    key: "nmx".into(),
                    similar_to: Some("mx")
                }
            ]
        );
        assert_eq!(p.warnings[0].conformance_id(), "STS-POL-09");
        assert!(
            p.warnings[0]
                .to_string()
                .starts_with("line 3: `mx: 192.0.2.25` can never match"),
            "{}",
            p.warnings[0]
        );
        // The policy as served, for Postfix's policy_string and TLS-RPT.
        assert_eq!(
            p.value.lines(),
            [
                "version: STSv1",
                "mode: enforce",
                "mx: mx1.example.org",
                "mx: 192.0.2.25",
                "max_age: 86400"
            ]
        );
    }

    #[test]
    fn sts_pol_09_only_unmatchable_patterns_leave_an_enforce_policy_with_no_pattern() {
        let p = parse("version: STSv1\nmode: enforce\nmx: 192.0.2.25\nmx: localhost\nmx: [2001:db8::25]\nmax_age: 86400\n");
        assert!(p.value.mx.is_empty());
        let reasons: Vec<(usize, UnmatchableReason)> = p
            .value
            .unmatchable_mx
            .iter()
            .map(|u| (u.line, u.value.reason()))
            .collect();
        assert_eq!(
            reasons,
            [
                (3, UnmatchableReason::IpAddress),
                (4, UnmatchableReason::SingleLabel),
                (5, UnmatchableReason::IpAddress)
            ]
        );
        // Every mx line is there, so no NoMx warning: one STS-POL-09 warning per line.
        assert!(p
            .warnings
            .iter()
            .all(|w| w.conformance_id() == "STS-POL-09"));
        assert_eq!(p.warnings.len(), 3);
    }

    #[test]
    fn sts_pol_09_canonical_text_round_trips_with_unmatchable_values() {
        let p = parse(IP_AND_TYPO).value;
        let again = parse(&p.to_text()).value;
        assert_eq!(
            (again.mode, again.max_age, &again.mx),
            (p.mode, p.max_age, &p.mx)
        );
        let values = |p: &Policy| -> Vec<Unmatchable> {
            p.unmatchable_mx.iter().map(|u| u.value.clone()).collect()
        };
        assert_eq!(values(&again), values(&p));
    }

    #[test]
    fn sts_pol_07_invalid_mx_line_is_fatal_only_where_the_rfc_says_so() {
        // Beside a valid pattern, a line that breaks the ABNF or a MUST still invalidates the
        // policy, and the error names that line.
        for (bad, rule) in [
            (
                "mx: a.example.org b.example.org",
                "each MX MUST have its own",
            ),
            (
                "mx: mx.bücher.example",
                "MUST specify the Punycode-encoded A-label",
            ),
            ("mx: .example.org", "ABNF"),
            ("mx: mx_1.example.org", "ABNF"),
            ("mx:", "ABNF"),
        ] {
            let err = error(&format!(
                "version: STSv1\nmode: enforce\nmx: mx1.example.org\n{bad}\nmax_age: 86400\n"
            ));
            assert!(
                matches!(err, PolicyError::InvalidMx { line: 4, .. }),
                "{bad} ({rule}): {err}"
            );
        }
    }

    #[test]
    fn sts_pol_07_mx_patterns_repeat_and_keep_order() {
        let p = parse(
            "version: STSv1\nmode: testing\nmx: b.example\nmx: *.a.example\nmx: b.example\nmax_age: 1\n",
        );
        let mx: Vec<String> = p.value.mx.iter().map(ToString::to_string).collect();
        assert_eq!(mx, ["b.example", "*.a.example"]);
        assert!(matches!(
            p.warnings.as_slice(),
            [PolicyWarning::DuplicateMx { line: 5, .. }]
        ));
    }

    #[test]
    fn sts_pol_07_idn_must_be_a_label() {
        let err = error("version: STSv1\nmode: enforce\nmx: mx.bücher.example\nmax_age: 1\n");
        assert!(
            err.to_string().contains("mx.xn--bcher-kva.example"),
            "{err}"
        );
        assert!(
            parse("version: STSv1\nmode: enforce\nmx: mx.xn--bcher-kva.example\nmax_age: 1\n")
                .warnings
                .is_empty()
        );
    }

    #[test]
    fn sts_pol_07_trailing_dot_accepted_with_warning() {
        let p = parse("version: STSv1\nmode: enforce\nmx: mail.example.com.\nmax_age: 86400\n");
        assert_eq!(p.value, parse(VALID).value);
        assert_eq!(p.warnings, [PolicyWarning::MxTrailingDot { line: 3 }]);
    }

    #[test]
    fn sts_pol_08_unknown_fields_ignored_with_warning() {
        let p = parse(
            "version: STSv1\nmode: enforce\nreport_to: x@example.com; a=b\nmx: mail.example.com\nmax_age: 86400\n",
        );
        assert_eq!(p.value, parse(VALID).value);
        assert_eq!(
            p.warnings,
            [PolicyWarning::UnknownField {
                line: 3,
                key: "report_to".into(),
                similar_to: None
            }]
        );
    }

    #[test]
    fn sts_pol_08_unknown_field_one_letter_off_gets_a_hint() {
        let err = error("version: STSv1\nmod: enforce\nmx: a.example\nmax_age: 1\n");
        assert_eq!(
            err,
            PolicyError::MissingField {
                field: "mode",
                similar: Some((2, "mod".into()))
            }
        );
        assert!(err.to_string().ends_with("(line 2 has \"mod\")"), "{err}");
        for (key, similar) in [
            ("mxx", Some("mx")),
            ("x", Some("mx")),
            ("maxage", Some("max_age")),
            ("MAX-AGE", Some("max_age")),
            ("versions", Some("version")),
            ("id", None),
            ("mdoe", None),
        ] {
            assert_eq!(similar_field(key), similar, "{key}");
        }
    }

    #[test]
    fn sts_pol_08_duplicate_field_first_wins_with_warning() {
        let p = Policy::parse(fixture!("sts-pol-08-duplicate-mode.txt")).unwrap();
        assert_eq!(p.value.mode, Mode::Testing);
        assert_eq!(
            p.warnings,
            [PolicyWarning::DuplicateField {
                line: 5,
                key: "mode",
                first_line: 2
            }]
        );
        assert_eq!(p.warnings[0].conformance_id(), "STS-POL-08");
    }

    #[test]
    fn sts_pol_08_duplicate_first_invalid_is_not_rescued() {
        let err =
            error("version: STSv1\nmode: Enforce\nmode: enforce\nmx: a.example\nmax_age: 1\n");
        assert!(matches!(err, PolicyError::InvalidMode { line: 2, .. }));
        let p = parse("version: STSv1\nmode: enforce\nmode: bogus\nmx: a.example\nmax_age: 1\nmax_age: 2\nversion: STSv2\n");
        assert_eq!(p.value.max_age, 1);
        assert_eq!(p.warnings.len(), 3);
    }

    #[test]
    fn sts_val_01_policy_matches_mx_hosts() {
        let p = Policy::parse(fixture!("rfc8461-section-3.2-example.txt"))
            .unwrap()
            .value;
        assert!(p.matches(&host("mail.example.com")));
        assert!(p.matches(&host("mx1.example.net")));
        assert_eq!(
            p.matching_pattern(&host("MX1.example.NET."))
                .map(ToString::to_string),
            Some("*.example.net".into())
        );
        assert!(!p.matches(&host("example.net")));
        assert!(!p.matches(&host("a.b.example.net")));
        assert!(!p.matches(&host("mail.example.org")));
    }

    #[test]
    fn rpt_json_02_canonical_policy_lines() {
        let p = Policy::parse(fixture!("rfc8461-section-3.2-example.txt"))
            .unwrap()
            .value;
        assert_eq!(
            p.lines(),
            [
                "version: STSv1",
                "mode: enforce",
                "mx: mail.example.com",
                "mx: *.example.net",
                "mx: backupmx.example.com",
                "max_age: 604800"
            ]
        );
        assert!(p.to_text().ends_with("max_age: 604800\r\n"));
    }

    /// A policy whose line numbers are those of its own canonical text, so that rendering
    /// and parsing give it back exactly.
    fn arb_policy() -> impl Strategy<Value = Policy> {
        let label = "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?";
        let name = proptest::collection::vec(label, 1..4).prop_map(|l| l.join("."));
        let pattern = (any::<bool>(), name).prop_filter_map(
            "a pattern host names can match",
            |(wild, name)| {
                let text = if wild { format!("*.{name}") } else { name };
                MxPattern::parse(&text).ok()
            },
        );
        let address = any::<[u8; 4]>().prop_map(|a| std::net::Ipv4Addr::from(a).to_string());
        (
            prop_oneof![Just(Mode::Enforce), Just(Mode::Testing), Just(Mode::None)],
            0..=MAX_MAX_AGE,
            proptest::collection::vec(pattern, 0..5),
            proptest::collection::vec(address, 0..3),
        )
            .prop_map(|(mode, max_age, mut mx, addresses)| {
                let mut seen = Vec::new();
                mx.retain(|p| {
                    let new = !seen.contains(p);
                    seen.push(p.clone());
                    new
                });
                let unmatchable_mx = addresses
                    .iter()
                    .enumerate()
                    .map(|(i, a)| match MxValue::parse(a) {
                        Ok(MxValue::Unmatchable(value)) => UnmatchableMx {
                            line: 3 + mx.len() + i,
                            value,
                        },
                        other => panic!("{a}: {other:?}"),
                    })
                    .collect();
                Policy {
                    mode,
                    max_age,
                    mx,
                    unmatchable_mx,
                }
            })
    }

    proptest! {
        #[test]
        fn sts_pol_03_parser_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Policy::parse(&body);
        }

        #[test]
        fn sts_pol_03_parser_never_panics_on_near_valid_text(
            lines in proptest::collection::vec(
                "(version|mode|mx|max_age|Mode|x)[: \t]{0,2}(STSv1|enforce|none|[a-z.*]{0,12}|[0-9-]{0,12})[ \t]?(\r?\n)?",
                0..6,
            )
        ) {
            let _ = Policy::parse(lines.concat().as_bytes());
        }

        #[test]
        fn sts_pol_03_render_parse_round_trip(policy in arb_policy()) {
            let text = policy.to_text();
            let parsed = Policy::parse(text.as_bytes()).unwrap();
            let only_expected = parsed.warnings.iter().all(|w| {
                matches!(w, PolicyWarning::UnmatchableMx { .. } | PolicyWarning::NoMx { .. })
            });
            prop_assert!(only_expected, "{:?}", parsed.warnings);
            prop_assert_eq!(&parsed.value, &policy);
            let lf = text.replace("\r\n", "\n");
            prop_assert_eq!(Policy::parse(lf.as_bytes()).unwrap().value, policy);
        }
    }
}
