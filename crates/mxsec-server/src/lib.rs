//! The servers of mxsec, as a library: what `mxsec daemon`, `mxsec web` and `mxsec sts serve`
//! run, with typed configuration and no command-line parsing.
//!
//! - [`socketmap`]: the Postfix TLS policy server (the protocol of Postfix's
//!   `socketmap_table(5)`): answer cache, one lookup per destination in flight, the proactive
//!   MTA-STS refresh, metrics, and its TOML configuration.
//! - [`web`]: the web checker: the audit of `mxsec check` as a streamed page and a JSON API,
//!   with rate and concurrency limits.
//! - [`policy_host`]: the MTA-STS policy host a domain owner runs (RFC 8461 §3.3).
//! - [`http`]: the one HTTP/1.1 serving loop the three share (plain or TLS, connection and
//!   header limits).
//!
//! Every server bounds what a client can hold: connections, request sizes, and the time
//! each step may take.

pub mod http;
pub mod policy_host;
pub mod socketmap;
pub mod web;
