//! MTA-STS (RFC 8461).
pub mod cache;
