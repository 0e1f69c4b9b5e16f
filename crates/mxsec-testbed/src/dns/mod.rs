//! An authoritative DNS server for the testbed's private, DNSSEC-signed namespace.
//!
//! One [`DnsServer`] serves several zones over UDP and TCP on one loopback address: a signed
//! root `.` whose key is the trust anchor ([`DnsServer::trust_anchor`]), a signed `test.`
//! below it, and any number of zones described as data with [`Zone`], each one
//! [`Signing::Secure`] (DS in the parent), [`Signing::Insecure`] (no DS, proven by the
//! parent's NSEC) or [`Signing::Bogus`] (wrong DS, expired or missing signatures), plus
//! individually corrupted or expired RRSIGs and per-query [`Fault`]s. It starts in
//! milliseconds on port 0, so every test can run its own.
//!
//! The server is written on `hickory-proto` alone (wire format, records and signing), not on
//! hickory-server's zone handler, so that every answer is under our control: hickory-server
//! 0.26.3 omits the wildcard NSEC of deep NXDOMAIN answers and puts NSEC3 into positive
//! answers, both of which make hickory's validator declare good data Bogus (RUST-STACK.md
//! §1.8).
//!
//! # What the answers look like
//!
//! Zones use NSEC (RFC 4034 §4) unless they ask for NSEC3 ([`Zone::nsec3`], RFC 5155: SHA-1,
//! no extra iterations, empty salt as RFC 9276 recommends, opt-out if asked), with one key
//! per zone (a CSK, flags 257):
//! ECDSA P-256 unless the zone asks for an RSA key ([`KeyAlgorithm`]), and a SHA-256 DS in the
//! parent unless it asks for SHA-1 alone ([`DsDigest`]). Responses are minimal and follow RFC 4035 §3.1; the details, including where
//! a CNAME chain stops, are in the `answer` module's documentation:
//!
//! - positive: the RRset and its RRSIG, nothing in the authority section;
//! - NODATA: SOA and the NSEC at the name (or, for an empty non-terminal, the NSEC whose next
//!   name is below it); with NSEC3, the NSEC3 matching the name;
//! - NXDOMAIN: SOA, the NSEC covering the name and the NSEC covering the wildcard at the
//!   closest encloser: the full RFC 4035 proof, including for deep names such as
//!   `_25._tcp.mx.x.test`. No "minimally covering" or compact denial is needed. With NSEC3,
//!   the closest encloser proof and the NSEC3 covering the wildcard (RFC 5155 §7.2.2);
//! - wildcard (an owner `*.name`, RFC 4592): a name below `name` that does not exist is
//!   answered from the wildcard, renamed, with the wildcard's RRSIG (whose Labels field
//!   shows the expansion) and the NSEC or NSEC3 proving that no closer match exists
//!   (RFC 4035 §3.1.3.3, RFC 5155 §7.2.6); NODATA at the wildcard with RFC 4035 §3.1.3.4 or
//!   RFC 5155 §7.2.5's proof;
//! - DS at a zone apex: from the parent zone, as a real authoritative server does. A query for
//!   any other type at a child apex is answered by the child, which the server also hosts: it
//!   gives no referrals, so it can serve as the single upstream of a forwarding validator
//!   (unbound's `forward-zone`) and of hickory's validating stub resolver.
//!
//! RRSIGs and NSECs are sent only when the query sets the EDNS DO bit. A UDP response larger
//! than the client's advertised size (512 octets without EDNS) goes out empty with TC=1, as
//! RFC 2181 §9 asks, so a huge TXT record really needs TCP.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::net::Ipv4Addr;
//! use std::time::Duration;
//! use mxsec_testbed::dns::{Bogus, DnsServer, Fault, RecordType, Zone};
//!
//! let server = DnsServer::builder()
//!     .ip(Ipv4Addr::new(127, 0, 0, 53).into())
//!     .zone(Zone::new("secure.test").mx(10, "mx.secure.test").a("mx.secure.test", Ipv4Addr::LOCALHOST))
//!     .zone(Zone::new("plain.test").insecure().mx(10, "mx.plain.test"))
//!     .zone(Zone::new("broken.test").bogus(Bogus::ExpiredSignatures).mx(10, "mx.broken.test"))
//!     .zone(Zone::new("slow.test").fault("slow.test", RecordType::MX, Fault::Delay(Duration::from_secs(3))))
//!     .start()
//!     .await?;
//! let files = server.trust_anchor().write_files(std::path::Path::new("/tmp"))?;
//! # let _ = files;
//! # Ok(()) }
//! ```

mod answer;
mod catalog;
mod keys;
mod lazy;
mod node;
mod nsec3;
mod server;
mod unbound;
mod wildcard;
mod zone;

pub use hickory_proto::rr::RecordType;
pub use keys::{TrustAnchor, TrustAnchorFiles};
pub use lazy::LazyZone;
pub use server::{DnsServer, DnsServerBuilder};
pub use unbound::{Unbound, UnboundError};
pub use zone::{Bogus, Denial, DsDigest, Fault, KeyAlgorithm, Nsec3, Signing, Zone, DEFAULT_TTL};

use std::net::SocketAddr;

/// Why zone data cannot be served. Each variant names the zone and the offending name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZoneError {
    /// A name that is not a valid domain name.
    #[error("zone {zone}: {name:?} is not a valid domain name: {detail}")]
    InvalidName {
        /// The zone as given.
        zone: String,
        /// The name as given.
        name: String,
        /// What the parser said.
        detail: String,
    },
    /// Two zones with the same origin.
    #[error("zone {0} is given twice")]
    DuplicateZone(String),
    /// The root zone holds the trust anchor, so it must be signed.
    #[error("the root zone must be secure: its key is the trust anchor")]
    RootNotSecure,
    /// A record whose owner is not inside the zone.
    #[error("zone {zone}: {name} is not inside the zone")]
    OutsideZone {
        /// The zone.
        zone: String,
        /// The owner name.
        name: String,
    },
    /// An owner name with a `*` label other than the leftmost, which is no wildcard
    /// (RFC 4592 §2.1.1) and which the server does not serve.
    #[error("zone {zone}: {name} has a `*` label that is not the leftmost (RFC 4592 §2.1.1)")]
    Wildcard {
        /// The zone.
        zone: String,
        /// The owner name.
        name: String,
    },
    /// A record that belongs to a child zone served by the same server.
    #[error("zone {zone}: {name} belongs to the child zone {child}; add it there")]
    InChildZone {
        /// The zone.
        zone: String,
        /// The owner name.
        name: String,
        /// The child zone that owns the name.
        child: String,
    },
    /// Data in a parent zone at the name of a child zone's apex.
    #[error("zone {zone}: {name} is the apex of a child zone; put its records in that zone")]
    DataAtDelegation {
        /// The parent zone.
        zone: String,
        /// The child zone's origin.
        name: String,
    },
    /// A CNAME next to other data, or two CNAMEs at one name (RFC 2181 §10.1).
    #[error("zone {zone}: {name} has a CNAME and other data")]
    CnameAndOtherData {
        /// The zone.
        zone: String,
        /// The owner name.
        name: String,
    },
    /// An RRSIG to break in a zone that has no signatures.
    #[error("zone {zone} is not signed, so the RRSIG of {name}/{rtype} cannot be broken")]
    BrokenSignatureInUnsignedZone {
        /// The zone.
        zone: String,
        /// The owner name.
        name: String,
        /// The record type.
        rtype: RecordType,
    },
    /// An RRSIG to break over an RRset the zone does not have.
    #[error("zone {zone} has no {name}/{rtype} RRset whose RRSIG could be broken")]
    NoSuchRrset {
        /// The zone.
        zone: String,
        /// The owner name.
        name: String,
        /// The record type.
        rtype: RecordType,
    },
    /// Key generation or signing failed.
    #[error("zone {zone}: signing failed: {detail}")]
    Signing {
        /// The zone.
        zone: String,
        /// What failed.
        detail: String,
    },
}

/// Why a [`DnsServer`] could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DnsServerError {
    /// The zone data is inconsistent.
    #[error(transparent)]
    Zone(#[from] ZoneError),
    /// The address could not be bound for UDP and TCP.
    #[error("cannot listen on {addr} (UDP and TCP): {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
}

#[cfg(test)]
mod lazy_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod wildcard_tests;
