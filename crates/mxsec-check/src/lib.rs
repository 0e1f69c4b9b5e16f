//! The mxsec domain audit.
//!
//! `mxsec check DOMAIN` asks everything a sending MTA would ask about a domain, all at once,
//! and says what is wrong in words a postmaster can act on: the MX records and their DNSSEC
//! status, every MX host and every address (TCP, banner, STARTTLS, TLS version and cipher,
//! the certificate chain, the WebPKI verdict, the TLSA records and the DANE verdict per
//! record), MTA-STS (TXT record, policy fetch over each address family, the policy, MX
//! coverage), and TLS-RPT. It ends with the verdict of a sender that enforces DANE and
//! MTA-STS, and the exact answer the mxsec daemon would give Postfix.
//!
//! - [`catalogue`]: every kind of finding with its stable ID, [`Severity`], RFC section and fix.
//! - [`dane`]: the DANE judgement of one presented chain, shared with `mxsec tlsa verify`.
//! - [`finding`]: [`Finding`] and its [`Subject`].
//! - [`prober`]: the STARTTLS probes, shared across a scan.
//! - [`scan`]: many domains at once, streaming, resumable.
//! - [`report`]: the [`Report`] and its sections; [`report::json`] (versioned JSON, with its
//!   JSON Schema) and [`report::text`] (the human report) render it; [`report::summary`]
//!   counts the reports of a scan.
//!
//! A broken remote configuration is never an `Err` here: it is a finding in the report.

pub mod catalogue;
pub mod dane;
pub mod finding;
mod judge;
mod observed;
mod options;
pub mod prober;
pub mod report;
pub mod run;
pub mod scan;
mod wrong_owner;

pub use catalogue::{Area, FindingKind, Severity};
pub use finding::{Finding, Subject};
pub use options::CheckOptions;
pub use report::{Report, Verdict};
pub use run::{Checker, CheckerError};
