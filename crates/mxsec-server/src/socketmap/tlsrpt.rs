//! The daemon's TLS-RPT side (RFC 8460), with `[tlsrpt]` configured: the collectors that count
//! what Postfix saw (its log, followed; libtlsrpt datagrams, received) into the report store,
//! and the day's reports written as files (`mxsec tlsrpt report --dry-run`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mxsec_net::redis_client::redacted_url;
use mxsec_net::store::{RedisStore, ReportStore, SqliteStore, StoreError};
use mxsec_net::tlsrpt::build::{build_day, write_files};
use mxsec_net::tlsrpt::config::TlsRptConfig;
use mxsec_net::tlsrpt::follow::Follower;
use mxsec_net::tlsrpt::listen::DatagramListener;
use mxsec_proto::name::DomainName;
use mxsec_proto::tlsrpt::aggregate::Reporter;
use time::{Date, OffsetDateTime, UtcOffset};
use tokio::task::JoinSet;

use super::config::{DaemonConfig, StoreSetting};
use super::metrics::Metrics;
use super::StartError;

/// How long the follower waits at the end of the log before looking again.
const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);
/// How long a collector waits after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Why the day's reports could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportsError {
    /// The configuration has no `[tlsrpt]` section.
    #[error("the configuration has no [tlsrpt] section")]
    NotConfigured,
    /// `tlsrpt.submitter` is not a domain name.
    #[error("tlsrpt.submitter {0:?} is not a domain name")]
    Submitter(String),
    /// The store could not be opened or read.
    #[error("the report store {store}: {source}")]
    Store {
        /// The SQLite file or the Redis URL.
        store: String,
        /// Why.
        source: StoreError,
    },
    /// A report file could not be written.
    #[error("cannot write the reports in {dir}: {source}")]
    Write {
        /// The output directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The report's author, from `[tlsrpt]` (RFC 8460 §4.4).
///
/// # Errors
///
/// Fails if `submitter` is not a domain name.
pub fn reporter(config: &TlsRptConfig) -> Result<Reporter, ReportsError> {
    let submitter = DomainName::parse(&config.submitter)
        .map_err(|_| ReportsError::Submitter(config.submitter.clone()))?;
    Ok(Reporter {
        organization_name: config.organization_name.clone(),
        contact_info: config.contact_info.clone(),
        submitter,
        sending_ip: None,
    })
}

/// Builds the reports of `day` from the store `config` names and writes them as `.json.gz`
/// files in `out` (RPT-DEL-01), sending nothing; returns the paths written.
///
/// # Errors
///
/// A [`ReportsError`] saying what is missing or failed.
pub async fn write_day_reports(
    config: &DaemonConfig,
    day: Date,
    out: &Path,
) -> Result<Vec<PathBuf>, ReportsError> {
    let tlsrpt = config.tlsrpt.as_ref().ok_or(ReportsError::NotConfigured)?;
    let reporter = reporter(tlsrpt)?;
    let (name, store) = open_store(&config.cache.store).await;
    let store_error = |source| ReportsError::Store {
        store: name.clone(),
        source,
    };
    let built = build_day(store.map_err(store_error)?.as_ref(), day, &reporter)
        .await
        .map_err(store_error)?;
    write_files(out, &built).map_err(|source| ReportsError::Write {
        dir: out.to_owned(),
        source,
    })
}

/// Opens the store `setting` names; also returns its name for messages.
pub(crate) async fn open_store(
    setting: &StoreSetting,
) -> (String, Result<Arc<dyn ReportStore>, StoreError>) {
    match setting {
        StoreSetting::Sqlite(path) => (
            path.display().to_string(),
            SqliteStore::open(path.clone())
                .await
                .map(|s| Arc::new(s) as Arc<dyn ReportStore>),
        ),
        StoreSetting::Redis { url, prefix, tls } => (
            redacted_url(url),
            RedisStore::connect_tls(url, prefix, tls)
                .await
                .map(|s| Arc::new(s) as Arc<dyn ReportStore>),
        ),
    }
}

/// Starts the collectors `[tlsrpt]` asks for: the follower of `maillog` and the listener on
/// `datagram_socket`, counting into `store`; returns the socket bound, if any.
///
/// # Errors
///
/// Fails if the datagram socket cannot be bound.
pub(crate) fn start_collectors(
    config: &TlsRptConfig,
    store: &Arc<dyn ReportStore>,
    metrics: &Arc<Metrics>,
    tasks: &mut JoinSet<()>,
) -> Result<Option<PathBuf>, StartError> {
    if let Some(path) = &config.maillog {
        let offset =
            UtcOffset::from_whole_seconds(config.maillog_utc_offset).unwrap_or(UtcOffset::UTC);
        let follower = Follower::new(path, offset, store.clone());
        tracing::info!(log = %path.display(), "following Postfix's log for TLS reports");
        tasks.spawn(follow(follower, metrics.clone()));
    }
    if let Some(path) = &config.datagram_socket {
        let listener =
            DatagramListener::bind(path, store.clone()).map_err(|e| StartError::Listen {
                key: "tlsrpt.datagram_socket",
                address: path.display().to_string(),
                source: std::io::Error::other(e.to_string()),
            })?;
        tracing::info!(path = %path.display(), "receiving libtlsrpt datagrams");
        tasks.spawn(listen(listener, metrics.clone()));
        return Ok(Some(path.clone()));
    }
    Ok(None)
}

/// Follows the log until the task is aborted; every step's position is stored with its
/// sessions, so stopping at any point loses nothing.
async fn follow(mut follower: Follower, metrics: Arc<Metrics>) {
    loop {
        match follower.step(OffsetDateTime::now_utc()).await {
            Ok(counts) => {
                metrics.log_read(counts.lines, counts.too_long, counts.sessions);
                if counts.lines == 0 && counts.too_long == 0 {
                    tokio::time::sleep(FOLLOW_INTERVAL).await;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "reading Postfix's log for TLS reports");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
}

/// Receives datagrams until the task is aborted.
async fn listen(mut listener: DatagramListener, metrics: Arc<Metrics>) {
    loop {
        match listener.receive(OffsetDateTime::now_utc).await {
            Ok(received) => metrics.datagrams(received.accepted, received.rejected),
            Err(error) => {
                tracing::warn!(%error, "receiving libtlsrpt datagrams");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
}
