//! Reports as they arrive (RFC 8460 §5): a `.json` file, a gzip-compressed `.json.gz` file
//! (RPT-DEL-01), or a whole e-mail message with the report attached (RPT-DEL-02).
//!
//! Pure functions over bytes: the caller reads the file. Every step is bounded: the input
//! ([`MAX_INPUT_SIZE`]), the decompressed report ([`MAX_REPORT_SIZE`]), and the MIME structure
//! (see [`mime`]).
//!
//! In an e-mail, the report is the body part of type `application/tlsrpt+json` or
//! `application/tlsrpt+gzip` (RFC 8460 §5.3), in any transfer encoding (`base64`,
//! `quoted-printable`, `7bit`, `8bit`, `binary`). Reporters that label the part
//! `application/json`, `application/gzip` or `application/octet-stream` but name the file
//! `….json` or `….json.gz` are accepted too, as receivers do in practice. The JSON decides
//! what the report says, whatever the subject or file name claim (RPT-DEL-08). DKIM
//! verification of emailed reports (RPT-DEL-03) is the receiving MTA's job, not this module's.

pub mod mime;

use std::io::Read;

use flate2::read::GzDecoder;

use crate::tlsrpt::report::{Report, ReportError, MAX_REPORT_SIZE};

use self::mime::{MimeError, Part};

/// The largest input accepted, in bytes (32 MiB): a compressed report or a whole message.
pub const MAX_INPUT_SIZE: usize = 32 * 1024 * 1024;

/// How a report is packaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// The JSON report itself (`.json`).
    Json,
    /// The JSON report, gzip-compressed (`.json.gz`; RPT-DEL-01).
    Gzip,
    /// An e-mail message with the report attached (`.eml`; RPT-DEL-02).
    Email,
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The input is larger than [`MAX_INPUT_SIZE`].
    #[error("the input is {size} bytes; the limit is {MAX_INPUT_SIZE}")]
    TooLarge {
        /// The size of the input.
        size: usize,
    },
    /// The gzip data is corrupt (RPT-DEL-01).
    #[error("{}not valid gzip data: {source}", part_prefix(part.as_deref()))]
    Gzip {
        /// The e-mail part it came from, if any.
        part: Option<String>,
        /// What the decompressor said.
        #[source]
        source: std::io::Error,
    },
    /// The decompressed report is larger than [`MAX_REPORT_SIZE`].
    #[error("{}the decompressed report exceeds {MAX_REPORT_SIZE} bytes", part_prefix(part.as_deref()))]
    DecompressedTooLarge {
        /// The e-mail part it came from, if any.
        part: Option<String>,
    },
    /// The JSON is not a valid report (RPT-JSON-01/02); the error names the member.
    #[error("{}{source}", part_prefix(part.as_deref()))]
    Report {
        /// The e-mail part it came from, if any.
        part: Option<String>,
        /// What is wrong with the report.
        #[source]
        source: ReportError,
    },
    /// The e-mail message is malformed.
    #[error("malformed e-mail message: {0}")]
    Mime(#[from] MimeError),
    /// The e-mail carries no report part (RPT-DEL-02).
    #[error(
        "the message has no application/tlsrpt+json or application/tlsrpt+gzip part \
         (RPT-DEL-02); its parts are: {}",
        if found.is_empty() { "none".to_owned() } else { found.join(", ") }
    )]
    NoReportPart {
        /// The content types of the parts found.
        found: Vec<String>,
    },
}

impl Container {
    /// The container a file name suggests: `.json`, `.json.gz` (or `.gz`), `.eml`; `None` for
    /// anything else.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Some(Self::Json)
        } else if lower.ends_with(".gz") {
            Some(Self::Gzip)
        } else if lower.ends_with(".eml") {
            Some(Self::Email)
        } else {
            None
        }
    }

    /// The container the content looks like: gzip magic, a JSON object, else a message.
    pub fn sniff(bytes: &[u8]) -> Self {
        if bytes.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            Self::Json
        } else {
            Self::Email
        }
    }
}

/// Reads the reports in `bytes`, packaged as `container`: one for JSON and gzip, one per
/// report part for an e-mail (usually one).
///
/// # Errors
///
/// An [`IngestError`] naming what is wrong: size, gzip, MIME structure, a missing report part,
/// or the report member at fault.
pub fn read(bytes: &[u8], container: Container) -> Result<Vec<Report>, IngestError> {
    if bytes.len() > MAX_INPUT_SIZE {
        return Err(IngestError::TooLarge { size: bytes.len() });
    }
    match container {
        Container::Json => Ok(vec![parse(bytes, None)?]),
        Container::Gzip => Ok(vec![parse(&gunzip(bytes, None)?, None)?]),
        Container::Email => read_email(bytes),
    }
}

fn read_email(bytes: &[u8]) -> Result<Vec<Report>, IngestError> {
    let parts = mime::leaf_parts(bytes)?;
    let mut reports = Vec::new();
    let mut found = Vec::new();
    for part in &parts {
        let Some(compressed) = report_kind(part) else {
            found.push(part.content_type.clone());
            continue;
        };
        let label = Some(part.describe());
        let body = part.decoded_body()?;
        let json = if compressed || body.starts_with(&[0x1f, 0x8b]) {
            gunzip(&body, label.clone())?
        } else {
            body
        };
        reports.push(parse(&json, label)?);
    }
    if reports.is_empty() {
        return Err(IngestError::NoReportPart { found });
    }
    Ok(reports)
}

/// Whether a part is a report, and if so whether it is compressed.
fn report_kind(part: &Part) -> Option<bool> {
    match part.content_type.as_str() {
        "application/tlsrpt+json" => return Some(false),
        "application/tlsrpt+gzip" => return Some(true),
        "application/json"
        | "application/gzip"
        | "application/x-gzip"
        | "application/octet-stream" => {}
        _ => return None,
    }
    let name = part.file_name.as_deref()?.to_ascii_lowercase();
    if name.ends_with(".json") {
        Some(false)
    } else if name.ends_with(".json.gz") {
        Some(true)
    } else {
        None
    }
}

fn parse(json: &[u8], part: Option<String>) -> Result<Report, IngestError> {
    Report::from_json(json).map_err(|source| IngestError::Report { part, source })
}

fn gunzip(bytes: &[u8], part: Option<String>) -> Result<Vec<u8>, IngestError> {
    let mut out = Vec::new();
    // Read one byte past the limit to tell "exactly at the limit" from "over it".
    let limit = u64::try_from(MAX_REPORT_SIZE)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    GzDecoder::new(bytes)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|source| IngestError::Gzip {
            part: part.clone(),
            source,
        })?;
    if out.len() > MAX_REPORT_SIZE {
        return Err(IngestError::DecompressedTooLarge { part });
    }
    Ok(out)
}

fn part_prefix(part: Option<&str>) -> String {
    part.map(|p| format!("{p}: ")).unwrap_or_default()
}

#[cfg(test)]
mod tests;
