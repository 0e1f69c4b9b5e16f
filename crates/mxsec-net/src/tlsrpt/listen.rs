//! Receives the datagrams libtlsrpt sends (Postfix ≥ 3.10 built with TLSRPT support,
//! `smtp_tlsrpt_enable = yes`, `smtp_tlsrpt_socket_name`) on a Unix datagram socket, and
//! counts their policies per policy domain and UTC day in the [`ReportStore`] (RFC 8460 §4.4;
//! RPT-JSON-02), in the same day records as the sessions read from the log.
//!
//! Each datagram is one delivery request: one session per policy tried. The datagrams waiting
//! when one arrives (at most [`MAX_BATCH`]) are stored in one write. A datagram that is not
//! libtlsrpt's protocol version 1 is counted as rejected and dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mxsec_proto::tlsrpt::aggregate::utc_day;
use mxsec_proto::tlsrpt::datagram::{Datagram, MAX_DATAGRAM};
use time::OffsetDateTime;
use tokio::net::UnixDatagram;

use crate::store::{ReportBatch, ReportStore, StoreError};

/// The most datagrams stored in one write.
pub const MAX_BATCH: usize = 256;

/// What one [`DatagramListener::receive`] took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// Datagrams counted.
    pub accepted: u64,
    /// Datagrams dropped as malformed or too large.
    pub rejected: u64,
}

/// Why receiving failed.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The socket could not be bound or read.
    #[error("libtlsrpt socket {path}: {source}")]
    Socket {
        /// The socket path.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The store could not be written; the datagrams received are lost.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The bound socket; see the module documentation.
pub struct DatagramListener {
    socket: UnixDatagram,
    path: PathBuf,
    store: Arc<dyn ReportStore>,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for DatagramListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatagramListener")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl DatagramListener {
    /// Binds the socket at `path` (a socket left there by an earlier run is replaced).
    /// Must be called inside a Tokio runtime.
    ///
    /// # Errors
    ///
    /// Fails if `path` holds something other than a socket, or the socket cannot be bound.
    pub fn bind(
        path: impl Into<PathBuf>,
        store: Arc<dyn ReportStore>,
    ) -> Result<Self, ListenError> {
        let path = path.into();
        let error = |source| ListenError::Socket {
            path: path.clone(),
            source,
        };
        remove_stale_socket(&path).map_err(error)?;
        let socket = UnixDatagram::bind(&path).map_err(error)?;
        Ok(Self {
            socket,
            path,
            store,
            // One byte more than the largest datagram accepted, to tell a truncated one.
            buffer: vec![0; MAX_DATAGRAM + 1],
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for a datagram, takes it and those already waiting (up to [`MAX_BATCH`]), and
    /// counts their policies on the UTC day of `now()`.
    ///
    /// # Errors
    ///
    /// Fails if the socket cannot be read or the store written.
    pub async fn receive(
        &mut self,
        now: impl Fn() -> OffsetDateTime,
    ) -> Result<Received, ListenError> {
        let mut received = Received::default();
        let mut batch = ReportBatch::default();
        let n = self
            .socket
            .recv(&mut self.buffer)
            .await
            .map_err(|source| ListenError::Socket {
                path: self.path.clone(),
                source,
            })?;
        self.take(n, &now, &mut batch, &mut received);
        for _ in 1..MAX_BATCH {
            match self.socket.try_recv(&mut self.buffer) {
                Ok(n) => self.take(n, &now, &mut batch, &mut received),
                Err(_) => break,
            }
        }
        if !batch.changes.is_empty() {
            self.store.apply(batch).await?;
        }
        Ok(received)
    }

    fn take(
        &self,
        n: usize,
        now: &impl Fn() -> OffsetDateTime,
        batch: &mut ReportBatch,
        received: &mut Received,
    ) {
        let datagram = if n > MAX_DATAGRAM {
            None
        } else {
            Datagram::parse(&self.buffer[..n])
                .map_err(|e| tracing::debug!(error = %e, "libtlsrpt datagram dropped"))
                .ok()
        };
        let Some(datagram) = datagram else {
            received.rejected += 1;
            return;
        };
        received.accepted += 1;
        let day = utc_day(now());
        for policy in datagram.policies {
            let domain = policy.policy.policy_domain.clone();
            batch.change(day, domain, move |r| r.add_datagram(&policy));
        }
    }
}

/// Removes a socket left at `path`; anything else there is an error.
fn remove_stale_socket(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "the path exists and is not a socket",
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
