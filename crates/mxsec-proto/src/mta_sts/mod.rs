//! MTA-STS (RFC 8461).
//!
//! - [`record`]: the `_mta-sts` TXT record and the selection rules over its RRset (§3.1).
//! - [`policy`]: the policy file served at `https://mta-sts.<domain>/.well-known/mta-sts.txt`
//!   (§3.2), and its canonical lines for Postfix and TLS-RPT.
//! - [`matcher`]: `mx` patterns and how MX host names match them (§4.1).
//! - [`cache`]: the rules for a cached policy.
//! - [`publish`]: writing a policy and its TXT record with a fresh id (§8).
//!
//! Parsers return a [`Parsed`](crate::parsed::Parsed) value with warnings for what a sender
//! accepts but a checker should flag, or a typed error that says what to fix.

pub mod cache;
pub mod matcher;
pub mod policy;
pub mod publish;
pub mod record;

pub use matcher::MxPattern;
pub use policy::{Mode, Policy};
pub use record::{PolicyId, StsRecord};
