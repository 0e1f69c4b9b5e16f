//! DANE for SMTP (RFC 7672, with RFC 6698 and RFC 7671).
//!
//! - [`tlsa`]: the TLSA record types.
//! - [`parse`]: presentation and wire forms of a TLSA record, both ways.
//! - [`usable`]: which records a client may use, digest agility, and what a secure RRset
//!   means (usable, all unusable, empty).
//! - [`matching`]: DANE-EE and DANE-TA authentication of a presented chain.
//! - [`publish`]: the records to publish for a server, and what is risky about an RRset.

pub mod matching;
pub mod parse;
pub mod publish;
pub mod tlsa;
pub mod usable;
