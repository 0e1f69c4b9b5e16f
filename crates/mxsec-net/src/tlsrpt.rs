//! The TLS-RPT reporter's I/O (RFC 8460): what a sending MTA's policy server records about
//! each destination, for the daily reports.
//!
//! - [`config`]: the `[tlsrpt]` section of the daemon configuration.
//! - [`deliver`]: delivery of one report to its `rua` URIs: SMTP relay or HTTPS POST.
//! - [`mail`]: the report mail (`multipart/report`) and its DKIM signature.
//! - [`files`]: report files on disk, read bounded, for `mxsec tlsrpt read`.
//! - [`recorder`]: records, per policy domain and UTC day, the policies answered and their
//!   policy-level failures, in the policy store ([`crate::store::ReportStore`]).

pub mod config;
pub mod deliver;
pub mod files;
pub mod mail;
pub mod recorder;
