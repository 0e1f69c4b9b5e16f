//! Postfix integration: socketmap netstrings, lookup keys and policy replies.
//!
//! - [`netstring`]: the bounded netstring codec that frames socketmap traffic.
//! - [`socketmap`]: lookup requests (`<map> <key>`) and the five replies, within Postfix's
//!   limits.

pub mod netstring;
pub mod socketmap;
