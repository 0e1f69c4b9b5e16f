//! The daemon's TOML configuration file (`mxsec daemon --config`, default
//! `/etc/mxsec/mxsec.toml`), read into typed settings.
//!
//! The file is read and checked completely before the daemon starts or reloads: an unknown
//! key, a value of the wrong type or an unusable value is an error that names the file, the
//! line and the key, and the daemon does not start (or, on `SIGHUP`, keeps its running
//! configuration). Every key has a default, so an empty file is a valid configuration.
//!
//! ```toml
//! [listen]
//! tcp = ["127.0.0.1:8461"]            # socketmap over TCP; [] for none
//! unix = "/run/mxsec/socketmap.sock"  # socketmap over a Unix socket (optional)
//! unix_mode = "0660"
//! unix_owner = "root"                 # user name or number (optional)
//! unix_group = "postfix"              # group name or number (optional)
//! metrics = "127.0.0.1:9461"          # Prometheus /metrics, loopback only (optional)
//!
//! [dns]
//! dnssec = "validate"                 # or "trust-ad" with a validating resolver on loopback
//! resolver = "127.0.0.1:53"           # default: the nameservers of /etc/resolv.conf
//! trust_anchor = "/etc/mxsec/root.key"
//! timeout = 10                        # seconds per network operation
//!
//! [tls]
//! ca_files = []                       # extra CA files besides the WebPKI roots
//!
//! [cache]
//! store = "/var/lib/mxsec/policies.sqlite3"   # or "redis://127.0.0.1:6379/0",
//!                                     # or "rediss://HOST:6380/0" for TLS
//! redis_prefix = "mxsec:"
//! redis_ca_file = "/etc/mxsec/redis-ca.pem"  # rediss://: the CA of the server's
//!                                     # certificate, instead of the system roots (optional)
//! redis_client_cert = "/etc/mxsec/redis-client.pem"  # rediss://: a client certificate
//! redis_client_key = "/etc/mxsec/redis-client.key"   # and its key (optional, together)
//! max_answer_ttl = 300                # seconds an answer is reused, at most
//! failure_ttl = 5                     # seconds a TEMP answer is reused, at most 10
//! answer_entries = 30000             # destinations whose answers are kept, at most
//! dns_entries = 30000                 # DNS RRsets and denials kept, at most
//! validation_entries = 8192          # DNSSEC proofs kept (dnssec = "validate"), at most;
//!                                     # and one DNSKEY/DS/NS response per 8 of them
//!
//! [refresh]
//! enabled = true                      # proactive refresh of cached policies (STS-FETCH-08)
//! interval = 300                      # seconds between scans of the store
//! concurrency = 4
//!
//! [limits]
//! max_connections = 1024
//! max_pipeline = 64                   # requests answered at once on one connection
//! max_lookups = 128                   # destinations looked up at once, over all connections
//! idle_timeout = 300                  # seconds a connection may stay silent
//! query_timeout = 30                  # seconds before a lookup answers TEMP
//! shutdown_timeout = 20               # seconds SIGTERM waits for open connections
//!
//! [default_zone]                      # for map names without a zone of their own
//! strict_testing = false
//! tlsrpt = false
//!
//! [zones.postfix]                     # socketmap:inet:127.0.0.1:8461:postfix
//! tlsrpt = true
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mxsec_net::dns::Backend;
use mxsec_net::redis_client::{ClientIdentity, RedisTls};
use mxsec_net::tlsrpt::config::TlsRptConfig;
use mxsec_proto::decision::DecisionConfig;
use serde::Deserialize;
use toml::Spanned;

/// Where the configuration is read from when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/mxsec/mxsec.toml";

/// The largest configuration file read.
const MAX_FILE_LEN: u64 = 1 << 20;

/// The longest a `TEMP` answer may be reused: a failure must defer, not linger (PFX-04).
const MAX_FAILURE_TTL: u64 = 10;

/// The checked configuration of a running daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonConfig {
    /// Where the daemon listens (`[listen]`).
    pub listen: Listen,
    /// How DNS is reached and DNSSEC validated (`[dns]`).
    pub dns: DnsSettings,
    /// CA files trusted besides the WebPKI roots (`tls.ca_files`).
    pub ca_files: Vec<PathBuf>,
    /// The policy store and the caches (`[cache]`).
    pub cache: CacheSettings,
    /// The proactive refresh of cached policies (`[refresh]`).
    pub refresh: RefreshSettings,
    /// Bounds on what clients can make the daemon do (`[limits]`).
    pub limits: Limits,
    /// The decision settings per socketmap map name (`[default_zone]`, `[zones.*]`).
    pub zones: Zones,
    /// `[tlsrpt]`: record answers for TLS-RPT reports.
    pub tlsrpt: Option<TlsRptConfig>,
}

/// Where the daemon listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listen {
    /// Socketmap over TCP (`listen.tcp`).
    pub tcp: Vec<SocketAddr>,
    /// Socketmap over a Unix socket (`listen.unix`).
    pub unix: Option<UnixListen>,
    /// `/metrics`, on loopback only (`listen.metrics`).
    pub metrics: Option<SocketAddr>,
}

/// The Unix socket, its permissions and owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixListen {
    /// The socket file.
    pub path: PathBuf,
    /// Its permission bits (`listen.unix_mode`).
    pub mode: u32,
    /// Its owner, a user name or number (`listen.unix_owner`).
    pub owner: Option<String>,
    /// Its group, a name or number (`listen.unix_group`).
    pub group: Option<String>,
}

/// How DNSSEC is validated, as the file spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum DnssecSetting {
    /// In process, from a trust anchor.
    Validate,
    /// The AD bit of a validating resolver on loopback.
    TrustAd,
}

/// The DNS settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsSettings {
    /// Where DNSSEC is validated (`dns.dnssec`).
    pub dnssec: Backend,
    /// The resolver queries go to; `/etc/resolv.conf` when absent (`dns.resolver`).
    pub resolver: Option<SocketAddr>,
    /// The trust anchor file; the IANA root when absent (`dns.trust_anchor`).
    pub trust_anchor: Option<PathBuf>,
    /// Whether a resolver off loopback is accepted (`dns.trust_remote_resolver`).
    pub trust_remote_resolver: bool,
    /// The time limit of each network operation (`dns.timeout`).
    pub timeout: Duration,
}

/// Where MTA-STS policies are kept across restarts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreSetting {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A Redis server, with a key prefix.
    Redis {
        /// `redis://` or `rediss://` URL (TLS).
        url: String,
        /// The prefix of every key (`cache.redis_prefix`).
        prefix: String,
        /// For a `rediss://` URL: the CA file that verifies the server instead of the system
        /// roots (`cache.redis_ca_file`), and a client certificate and key
        /// (`cache.redis_client_cert`, `cache.redis_client_key`).
        tls: RedisTls,
    },
}

/// The caches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheSettings {
    /// Where MTA-STS policies are kept (`cache.store`).
    pub store: StoreSetting,
    /// The longest an answer is reused (`cache.max_answer_ttl`).
    pub max_answer_ttl: Duration,
    /// The longest an answer after a failure is reused (`cache.failure_ttl`, PFX-04).
    pub failure_ttl: Duration,
    /// The most destinations whose answers are kept at once.
    pub answer_entries: usize,
    /// The most DNS RRsets and denials kept at once.
    pub dns_entries: usize,
    /// The most DNSSEC proofs of RRsets kept at once (`dnssec = "validate"`); the
    /// validator's chain layer keeps one DNSKEY, DS or NS response per eight of them.
    pub validation_entries: usize,
}

/// The proactive refresh of cached policies (STS-FETCH-08).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshSettings {
    /// Whether cached policies are refreshed (`refresh.enabled`).
    pub enabled: bool,
    /// The time between scans of the store (`refresh.interval`).
    pub interval: Duration,
    /// The most refreshes at once (`refresh.concurrency`).
    pub concurrency: usize,
}

/// Bounds on what clients can make the daemon do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most connections at once (`limits.max_connections`).
    pub max_connections: usize,
    /// The most requests answered at once on one connection (`limits.max_pipeline`).
    pub max_pipeline: usize,
    /// The most destinations looked up at once (`limits.max_lookups`, PFX-03).
    pub max_lookups: usize,
    /// The longest a connection may stay silent (`limits.idle_timeout`).
    pub idle_timeout: Duration,
    /// The time after which a lookup answers `TEMP` (`limits.query_timeout`).
    pub query_timeout: Duration,
    /// The longest shutdown waits for open connections (`limits.shutdown_timeout`).
    pub shutdown_timeout: Duration,
}

/// The zones: the socketmap map name selects one, others get the default zone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Zones {
    /// For map names without a zone of their own (`[default_zone]`).
    pub default: DecisionConfig,
    /// By map name (`[zones.NAME]`).
    pub named: BTreeMap<String, DecisionConfig>,
}

impl Zones {
    /// The decision settings for a request to map `name`.
    pub fn get(&self, name: &str) -> DecisionConfig {
        self.named.get(name).copied().unwrap_or(self.default)
    }
}

/// Why the configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the configuration file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is larger than anything a configuration needs.
    #[error("the configuration file {} is larger than {MAX_FILE_LEN} octets", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// A syntax error, an unknown key, or a value of the wrong type or range.
    #[error("{}: {detail}", Location(path, *line, *column))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1; 0 when the problem has no place in the file.
        line: usize,
        /// The column, counting from 1.
        column: usize,
        /// The key and what is wrong with its value.
        detail: String,
    },
}

struct Location<'a>(&'a Path, usize, usize);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 == 0 {
            write!(f, "{}", self.0.display())
        } else {
            write!(f, "{}:{}:{}", self.0.display(), self.1, self.2)
        }
    }
}

impl ConfigError {
    fn invalid(
        text: &str,
        path: &Path,
        span: Option<Range<usize>>,
        key: &str,
        message: &str,
    ) -> Self {
        let (line, column) = span.map_or((0, 0), |span| line_column(text, span.start));
        let detail = if key.is_empty() || key == "." {
            message.to_owned()
        } else {
            format!("key `{key}`: {message}")
        };
        Self::Invalid {
            path: path.to_owned(),
            line,
            column,
            detail,
        }
    }
}

/// The 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl DaemonConfig {
    /// Reads and checks the configuration file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        use std::io::Read;
        let mut text = String::new();
        let file = std::fs::File::open(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        file.take(MAX_FILE_LEN + 1)
            .read_to_string(&mut text)
            .map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
        if text.len() as u64 > MAX_FILE_LEN {
            return Err(ConfigError::TooLarge {
                path: path.to_owned(),
            });
        }
        Self::parse(&text, path)
    }

    /// Checks the configuration `text`, read from `path` (used in error messages only).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let deserializer = toml::Deserializer::parse(text)
            .map_err(|err| ConfigError::invalid(text, path, err.span(), "", err.message()))?;
        let file: File = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let key = err.path().to_string();
            let inner = err.into_inner();
            ConfigError::invalid(text, path, inner.span(), &key, inner.message())
        })?;
        file.check()
            .map_err(|bad| ConfigError::invalid(text, path, Some(bad.span), bad.key, &bad.message))
    }
}

/// A value that parsed but cannot be used: where, which key, and why.
struct Bad {
    span: Range<usize>,
    key: &'static str,
    message: String,
}

fn bad<T>(value: &Spanned<T>, key: &'static str, message: impl Into<String>) -> Bad {
    Bad {
        span: value.span(),
        key,
        message: message.into(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    listen: ListenFile,
    #[serde(default)]
    dns: DnsFile,
    #[serde(default)]
    tls: TlsFile,
    #[serde(default)]
    cache: CacheFile,
    #[serde(default)]
    refresh: RefreshFile,
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    default_zone: ZoneFile,
    #[serde(default)]
    zones: BTreeMap<String, ZoneFile>,
    #[serde(default)]
    tlsrpt: Option<Spanned<TlsRptConfig>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListenFile {
    #[serde(default = "default_tcp")]
    tcp: Vec<Spanned<String>>,
    unix: Option<PathBuf>,
    unix_mode: Option<Spanned<String>>,
    unix_owner: Option<String>,
    unix_group: Option<String>,
    metrics: Option<Spanned<String>>,
}

fn default_tcp() -> Vec<Spanned<String>> {
    vec![Spanned::new(0..0, "127.0.0.1:8461".to_owned())]
}

impl Default for ListenFile {
    fn default() -> Self {
        Self {
            tcp: default_tcp(),
            unix: None,
            unix_mode: None,
            unix_owner: None,
            unix_group: None,
            metrics: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DnsFile {
    #[serde(default = "default_dnssec")]
    dnssec: DnssecSetting,
    resolver: Option<Spanned<String>>,
    trust_anchor: Option<PathBuf>,
    #[serde(default)]
    trust_remote_resolver: bool,
    #[serde(default = "default_timeout")]
    timeout: Spanned<u64>,
}

fn default_dnssec() -> DnssecSetting {
    DnssecSetting::Validate
}

fn default_timeout() -> Spanned<u64> {
    Spanned::new(0..0, 10)
}

impl Default for DnsFile {
    fn default() -> Self {
        Self {
            dnssec: default_dnssec(),
            resolver: None,
            trust_anchor: None,
            trust_remote_resolver: false,
            timeout: default_timeout(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    #[serde(default)]
    ca_files: Vec<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheFile {
    store: Option<Spanned<String>>,
    redis_prefix: Option<String>,
    redis_ca_file: Option<Spanned<PathBuf>>,
    redis_client_cert: Option<Spanned<PathBuf>>,
    redis_client_key: Option<Spanned<PathBuf>>,
    max_answer_ttl: Option<Spanned<u64>>,
    failure_ttl: Option<Spanned<u64>>,
    answer_entries: Option<Spanned<usize>>,
    dns_entries: Option<Spanned<usize>>,
    validation_entries: Option<Spanned<usize>>,
}

impl CacheFile {
    /// The TLS settings of a Redis store: only for a `rediss://` URL (`tls`), and a client
    /// certificate only with its key.
    fn redis_tls(&self, tls: bool) -> Result<RedisTls, Bad> {
        let keys = [
            ("cache.redis_ca_file", &self.redis_ca_file),
            ("cache.redis_client_cert", &self.redis_client_cert),
            ("cache.redis_client_key", &self.redis_client_key),
        ];
        if !tls {
            if let Some((key, Some(value))) = keys.into_iter().find(|(_, v)| v.is_some()) {
                return Err(bad(
                    value,
                    key,
                    "applies to a rediss:// store (Redis over TLS) only",
                ));
            }
        }
        let client_identity = match (&self.redis_client_cert, &self.redis_client_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(ClientIdentity {
                cert_file: cert.get_ref().clone(),
                key_file: key.get_ref().clone(),
            }),
            (Some(cert), None) => {
                return Err(bad(
                    cert,
                    "cache.redis_client_cert",
                    "needs cache.redis_client_key, the certificate's private key",
                ))
            }
            (None, Some(key)) => {
                return Err(bad(
                    key,
                    "cache.redis_client_key",
                    "needs cache.redis_client_cert, the key's certificate",
                ))
            }
        };
        Ok(RedisTls {
            ca_file: self.redis_ca_file.as_ref().map(|f| f.get_ref().clone()),
            client_identity,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshFile {
    enabled: Option<bool>,
    interval: Option<Spanned<u64>>,
    concurrency: Option<Spanned<usize>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    max_connections: Option<Spanned<usize>>,
    max_pipeline: Option<Spanned<usize>>,
    max_lookups: Option<Spanned<usize>>,
    idle_timeout: Option<Spanned<u64>>,
    query_timeout: Option<Spanned<u64>>,
    shutdown_timeout: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneFile {
    #[serde(default)]
    strict_testing: bool,
    #[serde(default)]
    tlsrpt: bool,
}

impl ZoneFile {
    fn decision(&self) -> DecisionConfig {
        DecisionConfig {
            strict_testing: self.strict_testing,
            tlsrpt: self.tlsrpt,
        }
    }
}

/// A number within `range`, or the default when absent.
fn within<T: Copy + PartialOrd + fmt::Display>(
    value: Option<&Spanned<T>>,
    key: &'static str,
    range: std::ops::RangeInclusive<T>,
    default: T,
) -> Result<T, Bad> {
    let Some(value) = value else {
        return Ok(default);
    };
    let inner = *value.get_ref();
    if range.contains(&inner) {
        Ok(inner)
    } else {
        Err(bad(
            value,
            key,
            format!(
                "{inner} is out of range; use a value from {} to {}",
                range.start(),
                range.end()
            ),
        ))
    }
}

impl File {
    fn check(self) -> Result<DaemonConfig, Bad> {
        if let Some(tlsrpt) = &self.tlsrpt {
            tlsrpt
                .get_ref()
                .check()
                .map_err(|e| bad(tlsrpt, e.key, e.message))?;
        }
        let mut tcp = Vec::new();
        for addr in &self.listen.tcp {
            tcp.push(addr.get_ref().parse::<SocketAddr>().map_err(|_| {
                bad(
                    addr,
                    "listen.tcp",
                    format!("{:?} is not IP:PORT", addr.get_ref()),
                )
            })?);
        }
        let metrics = match &self.listen.metrics {
            None => None,
            Some(text) => {
                let addr = text.get_ref().parse::<SocketAddr>().map_err(|_| {
                    bad(
                        text,
                        "listen.metrics",
                        format!("{:?} is not IP:PORT", text.get_ref()),
                    )
                })?;
                if !addr.ip().is_loopback() {
                    return Err(bad(
                        text,
                        "listen.metrics",
                        format!(
                            "{addr} is not a loopback address; /metrics is served on loopback only"
                        ),
                    ));
                }
                Some(addr)
            }
        };
        let mode = match &self.listen.unix_mode {
            None => 0o660,
            Some(text) => u32::from_str_radix(text.get_ref().trim_start_matches("0o"), 8)
                .ok()
                .filter(|m| *m <= 0o777)
                .ok_or_else(|| {
                    bad(
                        text,
                        "listen.unix_mode",
                        format!("{:?} is not an octal mode such as \"0660\"", text.get_ref()),
                    )
                })?,
        };
        if self.listen.unix.is_none()
            && (self.listen.unix_mode.is_some()
                || self.listen.unix_owner.is_some()
                || self.listen.unix_group.is_some())
        {
            let at = self.listen.unix_mode.as_ref().map_or(0..0, Spanned::span);
            return Err(Bad {
                span: at,
                key: "listen.unix",
                message: "unix_mode, unix_owner and unix_group need listen.unix, the socket path"
                    .into(),
            });
        }
        let unix = self.listen.unix.map(|path| UnixListen {
            path,
            mode,
            owner: self.listen.unix_owner,
            group: self.listen.unix_group,
        });

        let resolver = match &self.dns.resolver {
            None => None,
            Some(text) => Some(parse_resolver(text.get_ref()).ok_or_else(|| {
                bad(
                    text,
                    "dns.resolver",
                    format!(
                        "{:?} is not IP or IP:PORT ([v6]:port for IPv6)",
                        text.get_ref()
                    ),
                )
            })?),
        };
        if self.dns.trust_anchor.is_some() && self.dns.dnssec == DnssecSetting::TrustAd {
            return Err(Bad {
                span: 0..0,
                key: "dns.trust_anchor",
                message: "a trust anchor applies to dnssec = \"validate\"; with \"trust-ad\" the resolver validates".into(),
            });
        }
        let timeout = within(Some(&self.dns.timeout), "dns.timeout", 1..=3600, 10)?;

        let store = match &self.cache.store {
            None => StoreSetting::Sqlite(PathBuf::from("/var/lib/mxsec/policies.sqlite3")),
            Some(text) => {
                let value = text.get_ref();
                if value.starts_with("redis://") || value.starts_with("rediss://") {
                    StoreSetting::Redis {
                        url: value.clone(),
                        prefix: self
                            .cache
                            .redis_prefix
                            .clone()
                            .unwrap_or_else(|| "mxsec:".into()),
                        tls: self.cache.redis_tls(value.starts_with("rediss://"))?,
                    }
                } else if let Some(path) = value.strip_prefix("sqlite://") {
                    StoreSetting::Sqlite(PathBuf::from(path))
                } else if value.contains("://") || value.is_empty() {
                    return Err(bad(
                        text,
                        "cache.store",
                        format!("{value:?} is neither a file path nor a redis:// URL"),
                    ));
                } else {
                    StoreSetting::Sqlite(PathBuf::from(value))
                }
            }
        };
        if let StoreSetting::Sqlite(_) = store {
            // Refuses Redis TLS settings that a SQLite store would ignore.
            self.cache.redis_tls(false)?;
        }
        let cache = CacheSettings {
            store,
            max_answer_ttl: secs(within(
                self.cache.max_answer_ttl.as_ref(),
                "cache.max_answer_ttl",
                0..=3600,
                300,
            )?),
            failure_ttl: secs(within(
                self.cache.failure_ttl.as_ref(),
                "cache.failure_ttl",
                0..=MAX_FAILURE_TTL,
                5,
            )?),
            answer_entries: within(
                self.cache.answer_entries.as_ref(),
                "cache.answer_entries",
                0..=10_000_000,
                30_000,
            )?,
            dns_entries: within(
                self.cache.dns_entries.as_ref(),
                "cache.dns_entries",
                0..=10_000_000,
                30_000,
            )?,
            validation_entries: within(
                self.cache.validation_entries.as_ref(),
                "cache.validation_entries",
                0..=10_000_000,
                mxsec_net::dns::DEFAULT_VALIDATION_CACHE_ENTRIES,
            )?,
        };
        let refresh = RefreshSettings {
            enabled: self.refresh.enabled.unwrap_or(true),
            interval: secs(within(
                self.refresh.interval.as_ref(),
                "refresh.interval",
                1..=86_400,
                300,
            )?),
            concurrency: within(
                self.refresh.concurrency.as_ref(),
                "refresh.concurrency",
                1..=256,
                4,
            )?,
        };
        let l = &self.limits;
        let limits = Limits {
            max_connections: within(
                l.max_connections.as_ref(),
                "limits.max_connections",
                1..=1_000_000,
                1024,
            )?,
            max_pipeline: within(l.max_pipeline.as_ref(), "limits.max_pipeline", 1..=4096, 64)?,
            max_lookups: within(
                l.max_lookups.as_ref(),
                "limits.max_lookups",
                1..=65_536,
                128,
            )?,
            idle_timeout: secs(within(
                l.idle_timeout.as_ref(),
                "limits.idle_timeout",
                1..=86_400,
                300,
            )?),
            query_timeout: secs(within(
                l.query_timeout.as_ref(),
                "limits.query_timeout",
                1..=100,
                30,
            )?),
            shutdown_timeout: secs(within(
                l.shutdown_timeout.as_ref(),
                "limits.shutdown_timeout",
                0..=3600,
                20,
            )?),
        };
        let zones = Zones {
            default: self.default_zone.decision(),
            named: self
                .zones
                .iter()
                .map(|(name, zone)| (name.clone(), zone.decision()))
                .collect(),
        };
        Ok(DaemonConfig {
            listen: Listen { tcp, unix, metrics },
            dns: DnsSettings {
                dnssec: match self.dns.dnssec {
                    DnssecSetting::Validate => Backend::Validate,
                    DnssecSetting::TrustAd => Backend::TrustAd,
                },
                resolver,
                trust_anchor: self.dns.trust_anchor,
                trust_remote_resolver: self.dns.trust_remote_resolver,
                timeout: secs(timeout),
            },
            ca_files: self.tls.ca_files,
            cache,
            refresh,
            limits,
            zones,
            tlsrpt: self.tlsrpt.map(Spanned::into_inner),
        })
    }
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

fn parse_resolver(text: &str) -> Option<SocketAddr> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr);
    }
    text.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, 53))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DaemonConfig, ConfigError> {
        DaemonConfig::parse(text, Path::new("mxsec.toml"))
    }

    fn error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn empty_file_gives_the_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config.listen.tcp, vec!["127.0.0.1:8461".parse().unwrap()]);
        assert_eq!(config.listen.unix, None);
        assert_eq!(config.listen.metrics, None);
        assert_eq!(config.dns.dnssec, Backend::Validate);
        assert_eq!(
            config.cache.store,
            StoreSetting::Sqlite("/var/lib/mxsec/policies.sqlite3".into())
        );
        assert_eq!(config.cache.failure_ttl, Duration::from_secs(5));
        assert_eq!(config.cache.answer_entries, 30_000);
        assert_eq!(config.cache.dns_entries, 30_000);
        assert_eq!(config.cache.validation_entries, 8_192);
        assert_eq!(config.zones.get("postfix"), DecisionConfig::default());
    }

    #[test]
    fn full_file() {
        let config = parse(
            r#"
[listen]
tcp = ["127.0.0.1:8461", "[::1]:8461"]
unix = "/run/mxsec/socketmap.sock"
unix_mode = "0600"
unix_owner = "postfix"
metrics = "127.0.0.1:9461"

[dns]
dnssec = "trust-ad"
resolver = "127.0.0.1"
timeout = 5

[cache]
store = "redis://127.0.0.1:6379/0"
redis_prefix = "mta:"

[refresh]
concurrency = 8

[default_zone]
tlsrpt = true

[zones.strict]
strict_testing = true
"#,
        )
        .unwrap();
        assert_eq!(config.listen.tcp.len(), 2);
        let unix = config.listen.unix.unwrap();
        assert_eq!((unix.mode, unix.owner.as_deref()), (0o600, Some("postfix")));
        assert_eq!(config.dns.resolver, Some("127.0.0.1:53".parse().unwrap()));
        assert_eq!(config.dns.timeout, Duration::from_secs(5));
        assert_eq!(
            config.cache.store,
            StoreSetting::Redis {
                url: "redis://127.0.0.1:6379/0".into(),
                prefix: "mta:".into(),
                tls: RedisTls::default(),
            }
        );
        assert_eq!(config.refresh.concurrency, 8);
        let strict = config.zones.get("strict");
        assert!(strict.strict_testing && !strict.tlsrpt);
        let other = config.zones.get("postfix");
        assert!(!other.strict_testing && other.tlsrpt);
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let message = error("[listen]\ntcp = []\n\n[cache]\nstroe = \"x\"\n");
        assert!(message.starts_with("mxsec.toml:5:"), "{message}");
        assert!(message.contains("stroe"), "{message}");
    }

    #[test]
    fn wrong_type_names_key_and_line() {
        let message = error("[limits]\nmax_connections = \"many\"\n");
        assert!(message.starts_with("mxsec.toml:2:"), "{message}");
        assert!(message.contains("limits.max_connections"), "{message}");
    }

    #[test]
    fn unusable_values_name_key_and_line() {
        let message = error("[listen]\nmetrics = \"192.0.2.1:9461\"\n");
        assert!(message.starts_with("mxsec.toml:2:"), "{message}");
        assert!(
            message.contains("listen.metrics") && message.contains("loopback"),
            "{message}"
        );

        let message = error("\n[cache]\nfailure_ttl = 60\n");
        assert!(message.starts_with("mxsec.toml:3:"), "{message}");
        assert!(message.contains("cache.failure_ttl"), "{message}");

        let message = error("[listen]\ntcp = [\"localhost:8461\"]\n");
        assert!(message.starts_with("mxsec.toml:2:"), "{message}");

        let message = error("[listen]\nunix = \"/s\"\nunix_mode = \"rw\"\n");
        assert!(message.contains("listen.unix_mode"), "{message}");

        let message = error("[cache]\nstore = \"mysql://x\"\n");
        assert!(message.contains("cache.store"), "{message}");
    }

    #[test]
    fn cache_sizes_are_read_and_out_of_range_sizes_name_key_and_line() {
        let config = parse(
            "[cache]\nanswer_entries = 5000\ndns_entries = 20000\nvalidation_entries = 300\n",
        )
        .unwrap();
        assert_eq!(config.cache.answer_entries, 5000);
        assert_eq!(config.cache.dns_entries, 20000);
        assert_eq!(config.cache.validation_entries, 300);

        let message = error("[cache]\n\nanswer_entries = 20000000\n");
        assert!(message.starts_with("mxsec.toml:3:"), "{message}");
        assert!(message.contains("cache.answer_entries"), "{message}");

        let message = error("[cache]\nvalidation_entries = 20000000\n");
        assert!(message.starts_with("mxsec.toml:2:"), "{message}");
        assert!(message.contains("cache.validation_entries"), "{message}");
        let message = error("[cache]\ndns_entries = 20000000\n");
        assert!(message.starts_with("mxsec.toml:2:"), "{message}");
        assert!(message.contains("cache.dns_entries"), "{message}");

        let message = error("[cache]\nanswer_entries = -1\n");
        assert!(message.starts_with("mxsec.toml:2:"), "{message}");
        assert!(message.contains("answer_entries"), "{message}");
    }

    #[test]
    fn syntax_error_has_line() {
        let message = error("[listen\n");
        assert!(message.starts_with("mxsec.toml:1:"), "{message}");
    }

    #[test]
    fn sqlite_url_form() {
        let config = parse("[cache]\nstore = \"sqlite:///tmp/p.db\"\n").unwrap();
        assert_eq!(config.cache.store, StoreSetting::Sqlite("/tmp/p.db".into()));
    }

    #[test]
    fn rpt_del_02_tlsrpt_section_is_one_field() {
        assert_eq!(parse("").unwrap().tlsrpt, None);
        let config = parse(
            "[tlsrpt]\norganization_name = \"Example\"\ncontact_info = \"r@example.net\"\n\
             submitter = \"example.net\"\nrelay = \"127.0.0.1:25\"\n\
             dkim_key = \"/etc/mxsec/tlsrpt.pem\"\ndkim_selector = \"tlsrpt\"\n",
        )
        .unwrap();
        let tlsrpt = config.tlsrpt.expect("[tlsrpt]");
        assert_eq!(tlsrpt.submitter, "example.net");
        assert_eq!(tlsrpt.relay.as_deref(), Some("127.0.0.1:25"));
        let message = error("[tlsrpt]\norganization_name = \"E\"\n");
        assert!(message.contains("tlsrpt"), "{message}");
        let message = error(
            "[tlsrpt]\norganization_name = \"E\"\ncontact_info = \"r@e.net\"\n\
             submitter = \"e.net\"\nrelay = \"localhost\"\n",
        );
        assert!(
            message.contains("key `tlsrpt.relay`: \"localhost\" is not HOST:PORT"),
            "{message}"
        );
    }

    #[test]
    fn rediss_store_takes_a_ca_file_and_a_client_certificate() {
        let config = parse(
            "[cache]\nstore = \"rediss://cache.example:6380/0\"\n\
             redis_ca_file = \"/etc/mxsec/redis-ca.pem\"\n\
             redis_client_cert = \"/etc/mxsec/c.pem\"\nredis_client_key = \"/etc/mxsec/c.key\"\n",
        )
        .unwrap();
        assert_eq!(
            config.cache.store,
            StoreSetting::Redis {
                url: "rediss://cache.example:6380/0".into(),
                prefix: "mxsec:".into(),
                tls: RedisTls {
                    ca_file: Some("/etc/mxsec/redis-ca.pem".into()),
                    client_identity: Some(ClientIdentity {
                        cert_file: "/etc/mxsec/c.pem".into(),
                        key_file: "/etc/mxsec/c.key".into(),
                    }),
                },
            }
        );
    }

    #[test]
    fn redis_tls_keys_need_a_rediss_store_and_each_other() {
        let message =
            error("[cache]\nstore = \"redis://127.0.0.1:6379/0\"\nredis_ca_file = \"/ca.pem\"\n");
        assert!(message.starts_with("mxsec.toml:3:"), "{message}");
        assert!(message.contains("cache.redis_ca_file"), "{message}");
        assert!(message.contains("rediss://"), "{message}");
        let message = error(
            "[cache]\nstore = \"rediss://127.0.0.1:6380/0\"\nredis_client_cert = \"/c.pem\"\n",
        );
        assert!(message.contains("cache.redis_client_key"), "{message}");
        let message = error("[cache]\nredis_ca_file = \"/ca.pem\"\n");
        assert!(message.contains("cache.redis_ca_file"), "{message}");
    }
}
