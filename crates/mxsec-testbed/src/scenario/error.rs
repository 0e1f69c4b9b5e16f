//! Why the testbed could not start: shared by the scenario builder and the testbed start-up.

use std::path::PathBuf;

use crate::dns::{DnsServerError, ZoneError};
use crate::https::HttpsError;
use crate::pki::PkiError;
use crate::smtp::SmtpServerError;

/// Why the testbed could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestbedError {
    /// A certificate could not be made.
    #[error("test PKI: {0}")]
    Pki(#[from] PkiError),
    /// A zone is inconsistent.
    #[error("zone: {0}")]
    Zone(#[from] ZoneError),
    /// The DNS server did not start.
    #[error("DNS server: {0}")]
    Dns(#[from] DnsServerError),
    /// The HTTPS policy host server did not start.
    #[error("HTTPS server: {0}")]
    Https(#[from] HttpsError),
    /// An SMTP server did not start.
    #[error("SMTP server: {0}")]
    Smtp(#[from] SmtpServerError),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}
