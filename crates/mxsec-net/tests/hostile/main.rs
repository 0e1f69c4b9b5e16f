//! Hostile servers on loopback: each test points one mxsec client at a server that attacks
//! its limits (DESIGN.md, "Bounded everything": a hostile server can waste a few seconds of
//! one task, never memory or the process) and asserts two bounds on the call:
//!
//! - time: the call returns within a bound set by the client's own timeouts;
//! - memory: the peak of the bytes allocated during the call, above what was allocated before
//!   it, stays within a bound far below what the server sends. The test binary counts every
//!   allocation ([`meter`]), and the tests run one at a time so that each sees only its own
//!   call (and the server it talks to, which runs in the same process).
//!
//! Run with `--nocapture` to see the figures (`docs/robustness.md` records them).

mod dns;
mod meter;
mod policy_host;
mod smtp;
mod tls;
mod validation_cache;
