//! The mxsec domain audit.
