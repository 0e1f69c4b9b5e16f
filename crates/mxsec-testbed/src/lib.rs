//! A simulated internet on loopback, for mxsec's tests and `mxsec demo`.
//!
//! It starts, inside the calling process, an authoritative DNS server for a private signed zone
//! (with its own trust anchor), HTTPS policy hosts with certificates from a testbed CA, and SMTP
//! MX hosts with STARTTLS whose behaviour each scenario chooses. Nothing leaves loopback.

pub mod dns;
pub mod https;
pub mod pki;
pub mod population;
pub mod published;
pub mod redis;
pub mod relay;
pub mod scenario;
pub mod smtp;

pub use scenario::Testbed;
