//! The TLS policy decision for one destination.
