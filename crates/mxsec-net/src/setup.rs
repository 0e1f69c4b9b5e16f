//! From typed settings to the clients a resolving program needs: DNS, the MTA-STS policy
//! fetcher, the trust configuration and the dialer, every file read and checked before any
//! work. The command line and the daemon's configuration file both end here.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::dial::{AddressMap, AddressMapError, ConnectPolicy, Dialer};
use crate::dns::{Backend, Dns, DnsConfig, DnsConfigError, TrustAnchorSource};
use crate::resolver::DestinationResolver;
use crate::sts_fetch::{FetcherError, PolicyFetcher};
use crate::trust::{OsStore, TrustConfig, TrustError};

/// The largest connect-map file read.
const MAX_CONNECT_MAP: u64 = 1 << 20;

/// What to build the clients from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetSettings {
    /// Where DNSSEC is validated.
    pub dnssec: Backend,
    /// The resolver queries go to; `/etc/resolv.conf` when absent.
    pub resolver: Option<SocketAddr>,
    /// The trust anchor file of [`Backend::Validate`]; the IANA root when absent.
    pub trust_anchor: Option<PathBuf>,
    /// Whether a resolver off loopback is accepted (its answers cross a network).
    pub trust_remote_resolver: bool,
    /// CA files trusted besides the WebPKI roots.
    pub ca_files: Vec<PathBuf>,
    /// The operating system's root store, for the checker's comparison only (PKIX-01).
    pub os_store: OsStore,
    /// The time limit of each network operation.
    pub timeout: Duration,
    /// A file of `PUBLISHED LOCAL` socket address pairs that reroutes connections to
    /// loopback listeners (the testbed).
    pub connect_map: Option<PathBuf>,
    /// Which addresses connections may go to.
    pub connect_policy: ConnectPolicy,
    /// The most RRset proofs the in-process validator keeps ([`Backend::Validate`]).
    pub validation_entries: usize,
}

/// Why the clients could not be built. Each variant names the file or setting at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// A trust anchor file was given for the `trust-ad` back end, which does not validate.
    #[error("a trust anchor applies to DNSSEC validation in process (validate); with trust-ad the resolver validates")]
    TrustAnchorWithTrustAd,
    /// DNS could not be set up.
    #[error("cannot set up DNS: {0}")]
    Dns(#[from] DnsConfigError),
    /// A CA file could not be loaded.
    #[error(transparent)]
    CaFile(TrustError),
    /// The operating system's root store could not be loaded.
    #[error("cannot load the operating system's root store: {0}")]
    OsStore(TrustError),
    /// The connect map could not be read.
    #[error("cannot read the connect map {}: {source}", path.display())]
    ConnectMapRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line of the connect map is not `PUBLISHED-ADDR:PORT LOCAL-ADDR:PORT`.
    #[error("{}:{line}: {problem}", path.display())]
    ConnectMapLine {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1.
        line: usize,
        /// What is wrong.
        problem: ConnectMapProblem,
    },
    /// The MTA-STS policy fetcher could not be set up.
    #[error("cannot set up the MTA-STS policy fetcher: {0}")]
    Fetcher(#[from] FetcherError),
}

/// What is wrong with a line of the connect map.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectMapProblem {
    /// Not two fields.
    #[error("expected `PUBLISHED-ADDR:PORT LOCAL-ADDR:PORT`")]
    Fields,
    /// A field is not a socket address.
    #[error("{0:?} is not ADDR:PORT")]
    Address(String),
    /// The map refused the pair.
    #[error(transparent)]
    Map(#[from] AddressMapError),
}

/// The clients of a resolving program, built from [`NetSettings`].
#[derive(Clone, Debug)]
pub struct Network {
    /// DNS, with the DNSSEC status of every answer.
    pub dns: Arc<Dns>,
    /// The MTA-STS policy fetcher.
    pub fetcher: Arc<PolicyFetcher>,
    /// The WebPKI roots plus the CA files, and the operating system's store beside them.
    pub trust: TrustConfig,
    /// Connections to MX hosts and policy hosts, under the connect policy and through the
    /// connect map if any.
    pub dialer: Dialer,
}

impl Network {
    /// Loads the trust anchor, CA files, root stores and connect map, and sets up DNS.
    ///
    /// # Errors
    ///
    /// A [`SetupError`] naming the file or setting that cannot be used.
    pub async fn build(settings: &NetSettings) -> Result<Self, SetupError> {
        let mut dns = DnsConfig::builder()
            .backend(settings.dnssec)
            .timeout(settings.timeout)
            .validation_cache_entries(settings.validation_entries)
            .allow_non_loopback_resolver(settings.trust_remote_resolver);
        if let Some(resolver) = settings.resolver {
            dns = dns.nameserver(resolver);
        }
        if let Some(path) = &settings.trust_anchor {
            if settings.dnssec == Backend::TrustAd {
                return Err(SetupError::TrustAnchorWithTrustAd);
            }
            dns = dns.trust_anchor(TrustAnchorSource::File(path.clone()));
        }
        let dns = Dns::new(&dns.build()).await?;

        let mut trust = TrustConfig::webpki_roots();
        for path in &settings.ca_files {
            trust = trust.add_ca_file(path).map_err(SetupError::CaFile)?;
        }
        let trust = trust
            .with_os_store(&settings.os_store)
            .map_err(SetupError::OsStore)?;
        let mut dialer = Dialer::new(settings.timeout).with_policy(settings.connect_policy);
        if let Some(path) = &settings.connect_map {
            dialer = dialer.with_address_map(read_connect_map(path)?);
        }
        let fetcher = PolicyFetcher::new(&trust, dialer.clone())?.timeout(settings.timeout);
        Ok(Self {
            dns: Arc::new(dns),
            fetcher: Arc::new(fetcher),
            trust,
            dialer,
        })
    }

    /// A destination resolver without a persistent policy cache.
    pub fn resolver(&self) -> DestinationResolver {
        DestinationResolver::new(self.dns.clone(), self.fetcher.clone(), None)
    }
}

/// Reads `PUBLISHED LOCAL` socket address pairs, one per line (`#` starts a comment).
fn read_connect_map(path: &Path) -> Result<AddressMap, SetupError> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CONNECT_MAP).read_to_string(&mut text))
        .map_err(|source| SetupError::ConnectMapRead {
            path: path.to_owned(),
            source,
        })?;
    let mut map = AddressMap::new();
    for (number, line) in text.lines().enumerate() {
        let at = |problem| SetupError::ConnectMapLine {
            path: path.to_owned(),
            line: number + 1,
            problem,
        };
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(published), Some(local), None) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(at(ConnectMapProblem::Fields));
        };
        let parse = |text: &str| {
            text.parse::<SocketAddr>()
                .map_err(|_| ConnectMapProblem::Address(text.to_owned()))
        };
        parse(published)
            .and_then(|published| Ok((published, parse(local)?)))
            .and_then(|(published, local)| Ok(map.insert(published, local)?))
            .map_err(at)?;
    }
    Ok(map)
}
