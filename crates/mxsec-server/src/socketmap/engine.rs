//! What starting the daemon builds besides its sockets: DNS (with its cache), the policy
//! fetcher, the store and the resolver ([`build_engine`]), and why that can fail.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use mxsec_net::dial::ConnectPolicy;
use mxsec_net::dns::Backend;
use mxsec_net::redis_client::redacted_url;
use mxsec_net::resolver::DestinationResolver;
use mxsec_net::setup::{NetSettings, Network, SetupError};
use mxsec_net::store::{PolicyStore, RedisStore, ReportStore, SqliteStore, StoreError};
use mxsec_net::tlsrpt::recorder::Recorder;
use mxsec_net::trust::OsStore;

use super::config::{DaemonConfig, StoreSetting};
use super::metrics::Metrics;
use super::service::Engine;

/// How the daemon is run, besides its configuration file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaemonOptions {
    /// A file of `PUBLISHED LOCAL` socket address pairs that reroutes connections to
    /// loopback listeners (tests against the testbed).
    pub connect_map: Option<PathBuf>,
    /// How far ahead of the wall clock the TLS-RPT report sender's clock runs (zero but in
    /// tests, which must not wait for midnight).
    pub report_clock_ahead: std::time::Duration,
}

/// Why the daemon could not start, or a reload could not build its new resolver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A socket could not be bound.
    #[error("cannot listen on {address} ({key})")]
    Listen {
        /// The configuration key that names the socket.
        key: &'static str,
        /// The address or path.
        address: String,
        /// Why.
        source: io::Error,
    },
    /// DNS, the trust configuration or the policy fetcher could not be set up.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// `[tlsrpt]` cannot be used to send reports.
    #[error(transparent)]
    TlsRpt(#[from] super::tlsrpt::ReportsError),
    /// The policy store could not be opened.
    #[error("cannot open the policy store {store} (cache.store)")]
    Store {
        /// The SQLite file or the Redis URL, without its password.
        store: String,
        /// Why.
        source: StoreError,
    },
}

/// Sets up DNS (with its cache), the policy fetcher, the store and the resolver.
pub(super) async fn build_engine(
    config: &DaemonConfig,
    options: &DaemonOptions,
    metrics: &Metrics,
) -> Result<Engine, StartError> {
    let network = Network::build(&NetSettings {
        dnssec: config.dns.dnssec,
        resolver: config.dns.resolver,
        trust_anchor: config.dns.trust_anchor.clone(),
        trust_remote_resolver: config.dns.trust_remote_resolver,
        ca_files: config.ca_files.clone(),
        // The daemon's answers use Mozilla's roots alone; the OS store only serves the
        // checker's comparison (PKIX-01).
        os_store: OsStore::System,
        timeout: config.dns.timeout,
        connect_map: options.connect_map.clone(),
        connect_policy: ConnectPolicy::AnyAddress,
        validation_entries: config.cache.validation_entries,
    })
    .await?;
    let (dns, dns_cache) = network
        .dns
        .as_ref()
        .clone()
        .with_cache(config.cache.dns_entries);
    metrics.set_dns_cache(dns_cache);
    metrics.set_validation_capacity(match config.dns.dnssec {
        Backend::Validate => config.cache.validation_entries,
        Backend::TrustAd => 0,
    });
    // One store keeps both the policies and the TLS-RPT day records.
    let (store, reports): (Arc<dyn PolicyStore>, Arc<dyn ReportStore>) = match &config.cache.store {
        StoreSetting::Sqlite(path) => {
            let store = Arc::new(SqliteStore::open(path.clone()).await.map_err(|source| {
                StartError::Store {
                    store: path.display().to_string(),
                    source,
                }
            })?);
            (store.clone(), store)
        }
        StoreSetting::Redis { url, prefix, tls } => {
            let store = Arc::new(RedisStore::connect_tls(url, prefix, tls).await.map_err(
                |source| StartError::Store {
                    store: redacted_url(url),
                    source,
                },
            )?);
            (store.clone(), store)
        }
    };
    let resolver =
        DestinationResolver::new(Arc::new(dns), network.fetcher.clone(), Some(store.clone()));
    let mut engine = Engine::new(Arc::new(resolver), store, config.cache.answer_entries);
    if config.tlsrpt.is_some() {
        engine.recorder = Some(Recorder::new(reports));
    }
    metrics.set_answer_cache(engine.answer_cache());
    Ok(engine)
}
