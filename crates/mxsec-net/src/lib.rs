//! The I/O clients of mxsec.
//!
//! Everything that touches the network lives here, each piece a thin async adapter around the
//! pure logic of [`mxsec_proto`] (re-exported as [`proto`]): DNS with DNSSEC status, the MTA-STS
//! policy fetch, the SMTP STARTTLS probe with DANE and PKIX verification, the destination
//! resolver that feeds the policy decision (its input built by [`observation`], as the
//! checker's is), and the stores that keep MTA-STS policies; [`setup`] builds the clients
//! from typed settings. The servers (the socketmap daemon, the web checker, the MTA-STS policy
//! host) are in `mxsec-server`.
//! Every network read has a timeout and a byte limit.

pub use mxsec_proto as proto;

pub mod dial;
pub mod dns;
pub mod flight;
pub mod observation;
pub mod redis_client;
pub mod resolver;
pub mod setup;
pub mod smtp_probe;
pub mod store;
pub mod sts_fetch;
pub mod tls;
pub mod tlsrpt;
pub mod trust;
pub mod ttl_cache;
