//! The TLS-RPT reporter's I/O (RFC 8460): what a sending MTA's policy server records about
//! each destination, for the daily reports.
//!
//! - [`build`]: the day's reports from the store, their file names and `rua`.
//! - [`config`]: the `[tlsrpt]` section of the daemon configuration.
//! - [`deliver`]: delivery of one report to its `rua` URIs: SMTP relay or HTTPS POST.
//! - [`mail`]: the report mail (`multipart/report`) and its DKIM signature.
//! - [`files`]: report files on disk, read bounded, for `mxsec tlsrpt read`.
//! - [`follow`]: follows Postfix's log and counts its sessions, resuming where it stopped.
//! - [`journal`]: the same for Postfix's log in systemd's journal (`journalctl`).
//! - [`listen`]: receives libtlsrpt datagrams on a Unix socket and counts them.
//! - [`send`]: the day's reports sent after midnight, retried for 24 hours, their state kept
//!   in the store.
//! - [`recorder`]: records, per policy domain and UTC day, the policies answered and their
//!   policy-level failures, in the policy store ([`crate::store::ReportStore`]).

pub mod build;
pub mod config;
pub mod deliver;
pub mod files;
pub mod follow;
pub mod journal;
pub mod listen;
pub mod mail;
pub mod recorder;
pub mod send;
