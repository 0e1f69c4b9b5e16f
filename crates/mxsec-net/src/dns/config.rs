//! How to reach DNS and whom to trust: back end, resolver address, trust anchor, timeout.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::trust_anchor::TrustAnchorError;

/// The default time a whole lookup (CNAME chain and validation included) may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default number of RRset proofs the `validate` back end keeps (see
/// [`DnsConfigBuilder::validation_cache_entries`]).
pub const DEFAULT_VALIDATION_CACHE_ENTRIES: usize = 8_192;
/// The largest `/etc/resolv.conf` read.
const MAX_RESOLV_CONF: u64 = 64 * 1024;

/// Where DNSSEC validation happens (DESIGN.md, RUST-STACK.md §1.10/1.11).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// `validate`: mxsec validates in process (hickory, `dnssec-ring`) from its own trust
    /// anchor; any recursive resolver will do as transport.
    #[default]
    Validate,
    /// `trust-ad`: a validating resolver on loopback validates, and mxsec trusts its AD bit,
    /// as Postfix does (RFC 7672 §2.1.3, RFC 6840 §5.7; DANE-DNS-01).
    TrustAd,
}

/// Which keys the `validate` back end trusts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TrustAnchorSource {
    /// The IANA root KSKs compiled into hickory (key tags 20326 and 38696).
    #[default]
    IanaRoot,
    /// A file of DNSKEY or DS records in zone-file syntax (see [`super::trust_anchor`]).
    File(PathBuf),
    /// The same syntax, given as text.
    Text(String),
}

/// Where queries go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Nameservers {
    /// The `nameserver` lines of `/etc/resolv.conf`, port 53.
    #[default]
    ResolvConf,
    /// These addresses, in order.
    Explicit(Vec<SocketAddr>),
}

/// DNS configuration; build it with [`DnsConfig::builder`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsConfig {
    pub(crate) backend: Backend,
    pub(crate) nameservers: Nameservers,
    pub(crate) trust_anchor: TrustAnchorSource,
    pub(crate) timeout: Duration,
    pub(crate) allow_non_loopback: bool,
    pub(crate) validation_cache_entries: usize,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            backend: Backend::default(),
            nameservers: Nameservers::default(),
            trust_anchor: TrustAnchorSource::default(),
            timeout: DEFAULT_TIMEOUT,
            allow_non_loopback: false,
            validation_cache_entries: DEFAULT_VALIDATION_CACHE_ENTRIES,
        }
    }
}

impl DnsConfig {
    /// A builder starting from the defaults: `validate`, `/etc/resolv.conf`, IANA root,
    /// [`DEFAULT_TIMEOUT`], loopback-only for `trust-ad`.
    pub fn builder() -> DnsConfigBuilder {
        DnsConfigBuilder {
            config: Self::default(),
        }
    }

    /// The back end.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The per-lookup timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The most RRset proofs the `validate` back end keeps.
    pub fn validation_cache_entries(&self) -> usize {
        self.validation_cache_entries
    }

    /// The nameserver addresses to use, reading `/etc/resolv.conf` if so configured.
    ///
    /// # Errors
    ///
    /// [`DnsConfigError::ResolvConf`] when the file cannot be read or names no server.
    pub fn resolve_nameservers(&self) -> Result<Vec<SocketAddr>, DnsConfigError> {
        match &self.nameservers {
            Nameservers::Explicit(list) if list.is_empty() => Err(DnsConfigError::NoNameserver),
            Nameservers::Explicit(list) => Ok(list.clone()),
            Nameservers::ResolvConf => read_resolv_conf(Path::new("/etc/resolv.conf")),
        }
    }
}

/// Builds a [`DnsConfig`].
#[derive(Clone, Debug)]
#[must_use]
pub struct DnsConfigBuilder {
    config: DnsConfig,
}

impl DnsConfigBuilder {
    /// Chooses the back end.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.config.backend = backend;
        self
    }

    /// Sends queries to this resolver (may be called several times; tried in order).
    pub fn nameserver(mut self, addr: SocketAddr) -> Self {
        match &mut self.config.nameservers {
            Nameservers::Explicit(list) => list.push(addr),
            Nameservers::ResolvConf => self.config.nameservers = Nameservers::Explicit(vec![addr]),
        }
        self
    }

    /// Trusts these keys (`validate` back end only).
    pub fn trust_anchor(mut self, source: TrustAnchorSource) -> Self {
        self.config.trust_anchor = source;
        self
    }

    /// The time one lookup may take, CNAME chain and validation included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// Lets `trust-ad` trust the AD bit of a resolver that is not on loopback. The AD bit
    /// is only as trustworthy as the path to the resolver (RFC 6698 §4.1, RFC 7672 §2.1.3);
    /// use this only over a path you secure yourself.
    pub fn allow_non_loopback_resolver(mut self, allow: bool) -> Self {
        self.config.allow_non_loopback = allow;
        self
    }

    /// The most RRset proofs the `validate` back end keeps (default
    /// [`DEFAULT_VALIDATION_CACHE_ENTRIES`]): hickory's validation cache, an LRU keyed by the
    /// question and the RRset, so that keys and denials already checked are not checked
    /// again; 0 keeps none. It grows with the distinct questions asked, so it is bounded here.
    pub fn validation_cache_entries(mut self, entries: usize) -> Self {
        self.config.validation_cache_entries = entries;
        self
    }

    /// The configuration.
    pub fn build(self) -> DnsConfig {
        self.config
    }
}

/// Why DNS cannot be set up. Raised at start, never per lookup.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DnsConfigError {
    /// A resolver address that cannot be parsed.
    #[error(
        "{0:?} is not a resolver address; expected IP or IP:PORT (e.g. 127.0.0.1:53, [::1]:5353)"
    )]
    BadAddress(String),
    /// No nameserver configured or found.
    #[error("no nameserver configured")]
    NoNameserver,
    /// `/etc/resolv.conf` could not be used.
    #[error("cannot use {path}: {detail}")]
    ResolvConf {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// `trust-ad` with a resolver that is not on loopback, without the explicit override.
    #[error("refusing to trust the AD bit of {0}, which is not on loopback (DANE-DNS-01); run a validating resolver on 127.0.0.1 or ::1, use the validate back end, or allow it explicitly")]
    NonLoopbackResolver(SocketAddr),
    /// The trust anchor file cannot be read.
    #[error("cannot read trust anchor file {path}: {source}")]
    TrustAnchorRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The trust anchor file cannot be parsed.
    #[error("trust anchor {origin}: {source}")]
    TrustAnchorSyntax {
        /// The file, or "text".
        origin: String,
        /// The parse error, with its line.
        source: TrustAnchorError,
    },
    /// A DS trust anchor whose DNSKEY could not be fetched or matched.
    #[error("trust anchor DS for {owner}: {detail}")]
    TrustAnchorKey {
        /// The zone of the DS.
        owner: String,
        /// What failed.
        detail: String,
    },
    /// The DNS library refused the configuration.
    #[error("cannot build the resolver: {0}")]
    Resolver(String),
}

/// Parses a resolver address: `IP`, `IP:PORT`, `[IPv6]` or `[IPv6]:PORT` (port 53 by default).
///
/// # Errors
///
/// [`DnsConfigError::BadAddress`] with the input.
pub fn parse_nameserver(text: &str) -> Result<SocketAddr, DnsConfigError> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    text.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .and_then(|t| t.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .ok_or_else(|| DnsConfigError::BadAddress(text.to_owned()))
}

/// The `nameserver` addresses of a resolv.conf file (resolv.conf(5)), port 53.
fn read_resolv_conf(path: &Path) -> Result<Vec<SocketAddr>, DnsConfigError> {
    let fail = |detail: String| DnsConfigError::ResolvConf {
        path: path.to_owned(),
        detail,
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if meta.len() > MAX_RESOLV_CONF {
        return Err(fail(format!("{} bytes is too large", meta.len())));
    }
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let servers = parse_resolv_conf(&text);
    if servers.is_empty() {
        return Err(fail("no nameserver line".to_owned()));
    }
    Ok(servers)
}

/// The addresses of the `nameserver` lines; a scoped IPv6 address (`fe80::1%eth0`) loses its
/// scope, and lines that do not parse are skipped, as the C library does.
fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("nameserver"), Some(addr)) => {
                    let addr = addr.split('%').next().unwrap_or(addr);
                    addr.parse::<IpAddr>()
                        .ok()
                        .map(|ip| SocketAddr::new(ip, 53))
                }
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dane_dns_01_parses_resolver_addresses() {
        assert_eq!(
            parse_nameserver("127.0.0.1").unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver("127.0.0.2:5353").unwrap(),
            "127.0.0.2:5353".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver("::1").unwrap(),
            "[::1]:53".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver("[::1]:5353").unwrap(),
            "[::1]:5353".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver("[::1]").unwrap(),
            "[::1]:53".parse().unwrap()
        );
        assert!(matches!(
            parse_nameserver("localhost"),
            Err(DnsConfigError::BadAddress(_))
        ));
    }

    #[test]
    fn dane_dns_01_reads_nameserver_lines_of_resolv_conf() {
        let text = "# generated\nsearch example.com\nnameserver 127.0.0.53\nnameserver fe80::1%eth0 ; scoped\nnameserver bogus\noptions edns0\n";
        assert_eq!(
            parse_resolv_conf(text),
            vec![
                "127.0.0.53:53".parse().unwrap(),
                "[fe80::1]:53".parse().unwrap()
            ]
        );
    }

    #[test]
    fn dane_dns_01_builder_collects_nameservers_in_order() {
        let config = DnsConfig::builder()
            .nameserver("127.0.0.1:5300".parse().unwrap())
            .nameserver("127.0.0.2:5300".parse().unwrap())
            .backend(Backend::TrustAd)
            .timeout(Duration::from_secs(2))
            .build();
        assert_eq!(config.resolve_nameservers().unwrap().len(), 2);
        assert_eq!(config.backend(), Backend::TrustAd);
        assert_eq!(config.timeout(), Duration::from_secs(2));
    }
}
