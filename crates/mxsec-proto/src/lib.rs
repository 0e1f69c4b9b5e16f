//! The pure protocol core of mxsec.
//!
//! Everything here is a plain function over bytes and values: no sockets, no async runtime, no
//! file system and no clock (time is a parameter). That is what makes it exhaustively testable
//! and fuzzable, and what lets the checker and the Postfix policy daemon share one truth.
//!
//! - [`conformance`]: the IDs of the conformance checklist and scenario catalogue, typed.
//! - [`name`]: domain names normalised once (A-labels, lower case), and next-hop destinations.
//! - [`dnssec`]: the DNSSEC status every DNS answer carries.
//! - [`mta_sts`]: RFC 8461 TXT record, policy file and MX pattern matching.
//! - [`certificate`]: X.509 path validation, name checks and failure classification shared by
//!   DANE-TA and PKIX.
//! - [`dane`]: RFC 6698/7671/7672 TLSA records, usability, digest agility and matching.
//! - [`tlsrpt`]: RFC 8460 TXT record, result types and the JSON report.
//! - [`smtp`]: SMTP reply parsing and the STARTTLS dialogue as a state machine.
//! - [`postfix`]: the socketmap netstring codec, lookup keys and policy replies.
//! - [`parsed`]: a parsed value together with its warnings.
//! - [`decision`]: the one function that maps what was learnt about a destination to a policy.

pub mod certificate;
pub mod conformance;
pub mod dane;
pub mod decision;
pub mod dnssec;
pub mod mta_sts;
pub mod name;
pub mod parsed;
pub mod postfix;
pub mod smtp;
pub mod tlsrpt;
