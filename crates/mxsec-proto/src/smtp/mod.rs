//! SMTP (RFC 5321) replies and the STARTTLS (RFC 3207) dialogue.
//!
//! - [`reply`]: the incremental, bounded reply parser.
//! - [`greeting`]: the server's greeting, whole and bounded, for reports.
//! - [`ehlo`]: the EHLO response and its extension keywords, including the masked `STARTTLS`
//!   of SCENARIOS.md T-01.
//! - [`client`]: the STARTTLS dialogue as a state machine without I/O; `mxsec-net`'s probe
//!   drives it over a socket.

pub mod client;
pub mod ehlo;
pub mod greeting;
pub mod reply;
