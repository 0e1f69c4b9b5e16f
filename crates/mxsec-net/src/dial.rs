//! Opening TCP connections, with a connect timeout and the testbed's address map.
//!
//! Every client in this crate (policy fetch, SMTP probe) connects through a [`Dialer`], so that
//! each connection attempt is bounded in time (DESIGN.md, "Bounded everything").
//!
//! # The address map, and why it cannot weaken a check
//!
//! Scenarios publish realistic addresses in DNS (`192.0.2.10:25`, `[2001:db8::10]:443`), but
//! the testbed listens on loopback. An [`AddressMap`] tells the dialer to reach a published
//! socket address at a loopback one instead. Only the testbed builds one; the user-facing
//! trust options have no way to set it.
//!
//! The map changes only *where the bytes go*, never what is checked: the caller still names
//! the published address, the TLS server name (SNI and certificate name check) is still the
//! policy host or MX host, the trust anchors and the DANE records are unchanged, and DNSSEC
//! status still comes from DNS. A mapped connection must pass exactly the checks an unmapped
//! one would. Targets must be loopback addresses ([`AddressMapError::NotLoopback`]), so the map
//! cannot send traffic anywhere on the network that the published address would not.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

/// The default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A map from published socket addresses to the loopback listeners that stand in for them.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct AddressMap {
    routes: HashMap<SocketAddr, SocketAddr>,
}

/// An error while adding a route to an [`AddressMap`].
#[derive(Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressMapError {
    /// The target is not a loopback address.
    #[error(
        "address map target {target} for {published} is not a loopback address; \
         only loopback listeners may stand in for published addresses"
    )]
    NotLoopback {
        /// The published address.
        published: SocketAddr,
        /// The rejected target.
        target: SocketAddr,
    },
}

impl AddressMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes connections for `published` to the loopback address `target`, replacing any
    /// earlier route for `published`.
    ///
    /// # Errors
    ///
    /// [`AddressMapError::NotLoopback`] if `target` is not a loopback address.
    pub fn insert(
        &mut self,
        published: SocketAddr,
        target: SocketAddr,
    ) -> Result<(), AddressMapError> {
        if !target.ip().is_loopback() {
            return Err(AddressMapError::NotLoopback { published, target });
        }
        self.routes.insert(published, target);
        Ok(())
    }

    /// Where a connection to `published` actually goes.
    pub fn route(&self, published: SocketAddr) -> SocketAddr {
        self.routes.get(&published).copied().unwrap_or(published)
    }

    /// The number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the map has no route.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// An error while opening a TCP connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DialError {
    /// The connection was not established within the connect timeout.
    #[error("connecting to {address} timed out after {timeout:?}")]
    Timeout {
        /// The address the caller asked for.
        address: SocketAddr,
        /// The timeout.
        timeout: Duration,
    },
    /// The connection failed (refused, unreachable, ...).
    #[error("connecting to {address} failed: {source}")]
    Connect {
        /// The address the caller asked for.
        address: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// Opens TCP connections with a connect timeout, through an optional [`AddressMap`].
///
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct Dialer {
    connect_timeout: Duration,
    address_map: Option<Arc<AddressMap>>,
}

impl Default for Dialer {
    fn default() -> Self {
        Self::new(DEFAULT_CONNECT_TIMEOUT)
    }
}

impl Dialer {
    /// A dialer with this connect timeout and no address map.
    pub fn new(connect_timeout: Duration) -> Self {
        Self {
            connect_timeout,
            address_map: None,
        }
    }

    /// Routes connections through `map`. Only the testbed calls this; see the module
    /// documentation for why it cannot weaken a check.
    pub fn with_address_map(mut self, map: AddressMap) -> Self {
        self.address_map = Some(Arc::new(map));
        self
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// Where a connection to `address` actually goes.
    pub fn route(&self, address: SocketAddr) -> SocketAddr {
        match &self.address_map {
            Some(map) => map.route(address),
            None => address,
        }
    }

    /// Connects to `address` (through the address map), within the connect timeout.
    ///
    /// # Errors
    ///
    /// [`DialError`] naming `address` as the caller gave it.
    pub async fn connect(&self, address: SocketAddr) -> Result<TcpStream, DialError> {
        let target = self.route(address);
        match tokio::time::timeout(self.connect_timeout, TcpStream::connect(target)).await {
            Ok(Ok(stream)) => {
                // Requests are small and written at once; do not delay them.
                let _ = stream.set_nodelay(true);
                Ok(stream)
            }
            Ok(Err(source)) => Err(DialError::Connect { address, source }),
            Err(_) => Err(DialError::Timeout {
                address,
                timeout: self.connect_timeout,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    #[test]
    fn dial_map_accepts_only_loopback_targets() {
        let mut map = AddressMap::new();
        let published: SocketAddr = "192.0.2.10:25".parse().unwrap();
        let err = map
            .insert(published, "198.51.100.1:25".parse().unwrap())
            .unwrap_err();
        assert!(matches!(err, AddressMapError::NotLoopback { .. }));
        assert!(map.is_empty());
        map.insert(published, "127.0.0.1:2525".parse().unwrap())
            .unwrap();
        map.insert(
            "[2001:db8::10]:443".parse().unwrap(),
            "[::1]:4443".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(map.len(), 2);
        assert_eq!(map.route(published), "127.0.0.1:2525".parse().unwrap());
        let other: SocketAddr = "192.0.2.11:25".parse().unwrap();
        assert_eq!(map.route(other), other);
    }

    #[tokio::test]
    async fn dial_reaches_the_mapped_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local = listener.local_addr().unwrap();
        tokio::spawn(async move {
            if let Ok((mut stream, _)) = listener.accept().await {
                let _ = stream.write_all(b"hello").await;
            }
        });
        let published: SocketAddr = "192.0.2.10:25".parse().unwrap();
        let mut map = AddressMap::new();
        map.insert(published, local).unwrap();
        let dialer = Dialer::new(Duration::from_secs(5)).with_address_map(map);
        let mut stream = dialer.connect(published).await.unwrap();
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await.unwrap();
        assert_eq!(buf, b"hello");
    }

    #[tokio::test]
    async fn dial_refused_names_the_published_address() {
        // Bind then drop to find a loopback port nobody listens on.
        let local = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let published: SocketAddr = "192.0.2.10:25".parse().unwrap();
        let mut map = AddressMap::new();
        map.insert(published, local).unwrap();
        let dialer = Dialer::new(Duration::from_secs(5)).with_address_map(map);
        let err = dialer.connect(published).await.unwrap_err();
        assert!(
            matches!(err, DialError::Connect { address, .. } if address == published),
            "{err:?}"
        );
    }
}
