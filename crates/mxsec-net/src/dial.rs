//! Opening TCP connections, with a connect timeout, a connect policy and the testbed's
//! address map.
//!
//! Every client in this crate (policy fetch, SMTP probe) connects through a [`Dialer`], so that
//! each connection attempt is bounded in time (DESIGN.md, "Bounded everything") and obeys one
//! [`ConnectPolicy`].
//!
//! # The connect policy, and where it is checked
//!
//! A server that connects wherever its users ask (`mxsec web`) must not become a way into the
//! network it runs in (server-side request forgery). With [`ConnectPolicy::PublicOnly`] the
//! dialer refuses every special-purpose address ([`special_purpose`]: loopback, private,
//! link-local, multicast, documentation, reserved, ... in IPv4 and IPv6, including IPv4
//! addresses embedded in IPv6 ones). The check is made on the address the socket actually
//! connects to, after the address map, immediately before connecting: a name that resolved to
//! a public address when it was validated and to a private one when it is used (DNS
//! rebinding) is still refused, because no earlier check on a name or an answer is trusted.
//! Callers may also check answers early with [`Dialer::permits`], to say clearly why an
//! address is not probed.
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
//! cannot send traffic anywhere on the network that the published address would not; and as
//! the connect policy judges the mapped target, a map can only make `PublicOnly` refuse more.

mod special;

pub use special::{special_purpose, AddressKind, Embedding, SpecialPurpose};

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
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

/// Which addresses a [`Dialer`] may connect to.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum ConnectPolicy {
    /// Any address: what a sender inside its own network needs (the daemon, `mxsec query`),
    /// and what an audit of a private network asks for (`--allow-private`), since mail
    /// servers inside a private network are legitimate destinations there.
    #[default]
    AnyAddress,
    /// Only globally reachable unicast addresses; every [`special_purpose`] address is
    /// refused. For servers that connect on behalf of others (`mxsec web`), and for audits of
    /// what senders on the internet can reach (`mxsec check` without `--allow-private`).
    PublicOnly,
}

impl ConnectPolicy {
    /// [`ConnectPolicy::AnyAddress`] when special-purpose addresses are allowed
    /// (`--allow-private`), [`ConnectPolicy::PublicOnly`] otherwise.
    pub fn allowing_private(allow: bool) -> Self {
        if allow {
            Self::AnyAddress
        } else {
            Self::PublicOnly
        }
    }
}

/// Why a [`ConnectPolicy`] refused an address.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[error("{address} is special-purpose: {special}; only public addresses may be connected to")]
pub struct Refusal {
    /// The refused address.
    pub address: IpAddr,
    /// Why it is special.
    pub special: SpecialPurpose,
}

impl ConnectPolicy {
    /// Whether the policy lets a connection go to `address`.
    ///
    /// # Errors
    ///
    /// A [`Refusal`] naming the special-purpose block of `address` under
    /// [`ConnectPolicy::PublicOnly`].
    pub fn check(self, address: IpAddr) -> Result<(), Refusal> {
        match self {
            Self::AnyAddress => Ok(()),
            Self::PublicOnly => match special_purpose(address) {
                Some(special) => Err(Refusal { address, special }),
                None => Ok(()),
            },
        }
    }
}

/// An error while opening a TCP connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DialError {
    /// The [`ConnectPolicy`] forbids the address the connection would go to; nothing was
    /// sent.
    #[error("not connecting to {address}: {refusal}")]
    Refused {
        /// The address the caller asked for.
        address: SocketAddr,
        /// Why the address actually connected to (after the address map) is refused.
        refusal: Refusal,
    },
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

/// Opens TCP connections with a connect timeout and a [`ConnectPolicy`], through an optional
/// [`AddressMap`].
///
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct Dialer {
    connect_timeout: Duration,
    policy: ConnectPolicy,
    address_map: Option<Arc<AddressMap>>,
}

impl Default for Dialer {
    fn default() -> Self {
        Self::new(DEFAULT_CONNECT_TIMEOUT)
    }
}

impl Dialer {
    /// A dialer with this connect timeout, [`ConnectPolicy::AnyAddress`] and no address map.
    pub fn new(connect_timeout: Duration) -> Self {
        Self {
            connect_timeout,
            policy: ConnectPolicy::AnyAddress,
            address_map: None,
        }
    }

    /// Applies `policy` to every connection.
    pub fn with_policy(mut self, policy: ConnectPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The connect policy.
    pub fn policy(&self) -> ConnectPolicy {
        self.policy
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

    /// Whether the connect policy lets a connection to `address` go ahead, judged on where
    /// it would actually go (after the address map). [`Dialer::connect`] checks this itself;
    /// callers use it to explain early why an address is skipped.
    ///
    /// # Errors
    ///
    /// [`DialError::Refused`] naming `address` as the caller gave it.
    pub fn permits(&self, address: SocketAddr) -> Result<(), DialError> {
        self.policy
            .check(self.route(address).ip())
            .map_err(|refusal| DialError::Refused { address, refusal })
    }

    /// Connects to `address` (through the address map), within the connect timeout, if the
    /// connect policy allows the address actually connected to.
    ///
    /// # Errors
    ///
    /// [`DialError`] naming `address` as the caller gave it.
    pub async fn connect(&self, address: SocketAddr) -> Result<TcpStream, DialError> {
        let target = self.route(address);
        // Judged on `target`, the address the socket connects to, right before connecting.
        self.policy
            .check(target.ip())
            .map_err(|refusal| DialError::Refused { address, refusal })?;
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
    /// A loopback listener that records whether anything connected to it.
    async fn watched_listener(ip: &str) -> (SocketAddr, Arc<std::sync::atomic::AtomicBool>) {
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let local = listener.local_addr().unwrap();
        let touched = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = touched.clone();
        tokio::spawn(async move {
            while listener.accept().await.is_ok() {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        });
        (local, touched)
    }

    #[tokio::test]
    async fn n_01_public_only_refuses_loopback_before_connecting() {
        for ip in ["127.0.0.1", "::1"] {
            let (local, touched) = watched_listener(ip).await;
            let dialer = Dialer::new(Duration::from_secs(5)).with_policy(ConnectPolicy::PublicOnly);
            let err = dialer.connect(local).await.unwrap_err();
            let DialError::Refused { address, refusal } = &err else {
                panic!("{err:?}");
            };
            assert_eq!(*address, local);
            assert_eq!(refusal.special.kind, AddressKind::Loopback);
            assert!(err.to_string().contains("loopback address"), "{err}");
            assert!(dialer.permits(local).is_err());
            // The permissive default reaches the same listener, so the refusal above is the
            // policy's doing and no connection was attempted.
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert!(!touched.load(std::sync::atomic::Ordering::SeqCst));
            Dialer::new(Duration::from_secs(5))
                .connect(local)
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn n_01_public_only_judges_the_mapped_target_not_the_published_address() {
        let (local, touched) = watched_listener("127.0.0.1").await;
        // A public published address whose connection would go to loopback.
        let published: SocketAddr = "9.9.9.9:25".parse().unwrap();
        let mut map = AddressMap::new();
        map.insert(published, local).unwrap();
        let dialer = Dialer::new(Duration::from_secs(5))
            .with_address_map(map)
            .with_policy(ConnectPolicy::PublicOnly);
        let err = dialer.connect(published).await.unwrap_err();
        assert!(
            matches!(&err, DialError::Refused { address, refusal }
                if *address == published && refusal.address == local.ip()),
            "{err:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!touched.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn n_01_public_only_refuses_every_special_class_without_a_socket() {
        // None of these is ever connected to: the policy answers first. (Connecting would leave
        // loopback, which tests never do.)
        let dialer = Dialer::new(Duration::from_secs(5)).with_policy(ConnectPolicy::PublicOnly);
        for text in [
            "0.0.0.0:25",
            "10.0.0.1:25",
            "100.64.0.1:25",
            "169.254.169.254:80",
            "172.16.0.1:25",
            "192.168.1.1:25",
            "192.0.2.1:25",
            "198.18.0.1:25",
            "224.0.0.1:25",
            "240.0.0.1:25",
            "255.255.255.255:25",
            "[::]:25",
            "[fd00::1]:25",
            "[fe80::1]:25",
            "[ff02::1]:25",
            "[2001:db8::1]:25",
            "[::ffff:10.0.0.1]:25",
            "[64:ff9b::a9fe:a9fe]:80",
        ] {
            let address: SocketAddr = text.parse().unwrap();
            let err = dialer.connect(address).await.unwrap_err();
            assert!(matches!(err, DialError::Refused { .. }), "{text}: {err:?}");
        }
        assert_eq!(ConnectPolicy::default(), ConnectPolicy::AnyAddress);
        assert_eq!(
            ConnectPolicy::allowing_private(true),
            ConnectPolicy::AnyAddress
        );
        assert_eq!(
            ConnectPolicy::allowing_private(false),
            ConnectPolicy::PublicOnly
        );
        assert!(ConnectPolicy::PublicOnly
            .check("9.9.9.9".parse().unwrap())
            .is_ok());
        assert!(ConnectPolicy::AnyAddress
            .check("127.0.0.1".parse().unwrap())
            .is_ok());
    }
}
