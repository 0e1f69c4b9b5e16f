//! The JSON report: `mxsec check --json` and the web API.
//!
//! # Format
//!
//! Output is [JSON Lines]: one compact JSON object per checked domain, each on its own line,
//! in the order the domains were given. Each object is either a [`Report`] or, for a domain
//! that could not be checked at all (an invalid name, say), a [`Failure`]. Both carry
//! `schema_version`; a consumer tells them apart by the presence of `domain` or `input`.
//!
//! The [JSON Schema](SCHEMA) (draft 2020-12) is the exact description of the current
//! version; `docs/report-json.md` explains every field.
//!
//! # Versioning
//!
//! `schema_version` is [`SCHEMA_VERSION`]. It changes when a field is removed or renamed,
//! changes meaning or type, or an enumerated field gains a value. Within a version, new
//! fields may appear; consumers should ignore fields they do not know.
//!
//! # The verdict
//!
//! Every report has a top-level `verdict` object with exactly these fields:
//!
//! | field | values |
//! |---|---|
//! | `mta_sts` | `enforce`, `testing`, `none`, `absent`, `invalid` |
//! | `dane` | `usable`, `unusable`, `insecure`, `bogus`, `absent` |
//! | `tls_rpt` | `present`, `absent`, `invalid` |
//! | `policy` | the socketmap reply of the mxsec daemon, exactly as `mxsec query` prints it |
//! | `delivery` | `authenticated`, `encrypted`, `opportunistic`, `deferred`, `no-mail` |
//!
//! [JSON Lines]: https://jsonlines.org/

use serde::{Deserialize, Serialize};

use super::{Report, SCHEMA_VERSION};

/// The JSON Schema (draft 2020-12) of one line of `mxsec check --json`.
pub const SCHEMA: &str = include_str!("../../schema/report.schema.json");

/// One line for a domain that could not be checked.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Failure {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The domain as it was given.
    pub input: String,
    /// Why the check could not run.
    pub error: String,
}

impl Failure {
    /// A failure line for `input`.
    pub fn new(input: impl Into<String>, error: impl Into<String>) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            input: input.into(),
            error: crate::finding::one_line(&error.into()),
        }
    }
}

/// The report as one line of compact JSON, without the line break.
pub fn to_line(report: &Report) -> String {
    // Serialising plain data with string keys cannot fail; the fallback keeps the output a
    // valid line of the format all the same.
    serde_json::to_string(report)
        .unwrap_or_else(|e| failure_to_line(&Failure::new(report.domain.as_str(), e.to_string())))
}

/// A failure as one line of compact JSON, without the line break.
pub fn failure_to_line(failure: &Failure) -> String {
    serde_json::to_string(failure).unwrap_or_else(|_| {
        format!("{{\"schema_version\":{SCHEMA_VERSION},\"input\":\"\",\"error\":\"unprintable\"}}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_json_and_names_the_version() {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
        assert_eq!(
            schema["$defs"]["report"]["properties"]["schema_version"]["const"],
            SCHEMA_VERSION
        );
    }

    #[test]
    fn failure_line_is_one_line() {
        let line = failure_to_line(&Failure::new("bad..name", "empty label\nin \"bad..name\""));
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["input"], "bad..name");
        assert_eq!(v["schema_version"], 1);
    }
}
