//! The daemon's TLS-RPT side (RFC 8460), with `[tlsrpt]` configured: the collectors that count
//! what Postfix saw (its log, followed; libtlsrpt datagrams, received) into the report store,
//! the task that sends each day's reports after midnight and retries them (RPT-TIME-01,
//! RPT-DEL-06), and the same reports written as files or sent at once (`mxsec tlsrpt report`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mxsec_net::dns::Dns;
use mxsec_net::redis_client::redacted_url;
use mxsec_net::store::{RedisStore, ReportStore, SqliteStore, StoreError};
use mxsec_net::tlsrpt::build::{build_day, write_files};
use mxsec_net::tlsrpt::config::{LogSource, TlsRptConfig, TlsRptConfigError};
use mxsec_net::tlsrpt::deliver::{https_client, report_tls, Deliverer, MailSetup};
use mxsec_net::tlsrpt::follow::{FollowError, Follower, StepCounts};
use mxsec_net::tlsrpt::journal::{journalctl, JournalFollower};
use mxsec_net::tlsrpt::listen::DatagramListener;
use mxsec_net::tlsrpt::mail::{dkim_key_from_pem, Dkim, DkimError};
use mxsec_net::tlsrpt::send::{Progress, ReportSender};
use mxsec_net::trust::{TrustConfig, TrustError};
use mxsec_proto::name::DomainName;
use mxsec_proto::tlsrpt::aggregate::Reporter;
use time::{Date, OffsetDateTime, UtcOffset};
use tokio::task::JoinSet;

use super::config::{DaemonConfig, StoreSetting};
use super::metrics::Metrics;
use super::StartError;

/// How long the follower waits at the end of the log before looking again.
const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);
/// The program that reads the journal.
const JOURNALCTL: &str = "journalctl";
/// How long a collector waits after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// How often the sender looks for reports due.
const SEND_INTERVAL: Duration = Duration::from_secs(60);
/// The largest DKIM key file read.
const MAX_KEY_FILE: u64 = 64 * 1024;

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
    /// A `[tlsrpt]` value cannot be used.
    #[error(transparent)]
    Config(#[from] TlsRptConfigError),
    /// The DKIM key file cannot be read or holds no usable key.
    #[error("tlsrpt.dkim_key {path}: {problem}")]
    DkimKey {
        /// The file.
        path: PathBuf,
        /// Why.
        problem: String,
    },
    /// A CA file for report POSTs cannot be used.
    #[error("tlsrpt.https_ca_file or tls.ca_files: {0}")]
    CaFile(#[from] TrustError),
    /// The HTTPS client for report POSTs cannot be built.
    #[error("cannot build the HTTPS client for reports: {0}")]
    Https(String),
    /// DNS, for the `rua` lookups, cannot be set up.
    #[error("cannot set up DNS for the rua lookups: {0}")]
    Dns(String),
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

/// The deliverer `[tlsrpt]` describes: report mails signed with its DKIM key and submitted to
/// its relay from its `from` address, POSTs verified against the WebPKI roots, `ca_files`
/// and `https_ca_file` unless `https_ignore_certificate_errors`.
///
/// # Errors
///
/// A [`ReportsError`] naming the key or file that cannot be used.
pub fn deliverer(config: &TlsRptConfig, ca_files: &[PathBuf]) -> Result<Deliverer, ReportsError> {
    config.check()?;
    let submitter = reporter(config)?.submitter;
    let mail = match (&config.relay, &config.dkim_key, &config.dkim_selector) {
        (Some(relay), Some(path), Some(selector)) => {
            let key = read_key(path)
                .and_then(|pem| dkim_key_from_pem(&pem).map_err(|e: DkimError| e.to_string()));
            let key = key.map_err(|problem| ReportsError::DkimKey {
                path: path.clone(),
                problem,
            })?;
            Some(MailSetup {
                relay: relay.clone(),
                ehlo: submitter.clone(),
                from: config.from_address(),
                dkim: Dkim::new(key, &submitter, selector),
            })
        }
        _ => None,
    };
    let mut trust = TrustConfig::webpki_roots();
    for path in ca_files.iter().chain(&config.https_ca_file) {
        trust = trust.add_ca_file(path)?;
    }
    let tls = report_tls(&trust, config.https_ignore_certificate_errors)
        .map_err(|e| ReportsError::Https(e.to_string()))?;
    let http = https_client(tls).map_err(|e| ReportsError::Https(e.to_string()))?;
    Ok(Deliverer {
        submitter,
        mail,
        http,
    })
}

/// Reads a DKIM key file, bounded.
fn read_key(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_KEY_FILE).read_to_end(&mut pem))
        .map_err(|e| e.to_string())?;
    Ok(pem)
}

/// The sender of `[tlsrpt]`'s reports from `store`, looking `rua` up in `dns`, at a random
/// delay after midnight (RPT-TIME-01).
///
/// # Errors
///
/// A [`ReportsError`] naming the key or file that cannot be used.
pub(crate) fn report_sender(
    config: &TlsRptConfig,
    ca_files: &[PathBuf],
    store: Arc<dyn ReportStore>,
    dns: Arc<Dns>,
) -> Result<ReportSender, ReportsError> {
    let deliverer = deliverer(config, ca_files)?;
    if deliverer.mail.is_none() {
        tracing::warn!(
            "tlsrpt.relay is not set: reports to mailto: addresses cannot be sent, only https: ones"
        );
    }
    Ok(ReportSender::new(
        store,
        dns,
        deliverer,
        reporter(config)?,
        Duration::from_secs(config.max_delay),
        jitter(),
    ))
}

/// A random share in `[0, 1)`, from the operating system's randomness that seeds the
/// standard library's hashers.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    // The top 53 bits, as the fraction of a double.
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// Sends the day's reports when due, by the wall clock run `ahead`, until the task is
/// aborted; each attempt's claim and outcome are stored, so stopping at any point loses
/// nothing and repeats nothing.
pub(crate) async fn send_reports(mut sender: ReportSender, metrics: Arc<Metrics>, ahead: Duration) {
    loop {
        match sender.step(OffsetDateTime::now_utc() + ahead).await {
            Ok(progress) => metrics.reports(&progress),
            Err(error) => tracing::warn!(%error, "sending TLS reports"),
        }
        tokio::time::sleep(SEND_INTERVAL).await;
    }
}

/// Builds the reports of `day` and sends those not sent yet, now (`mxsec tlsrpt report`): the
/// daemon's code path, with the same store, so that a report sent here is not sent again by
/// the daemon, nor one the daemon sent here.
///
/// # Errors
///
/// A [`ReportsError`] saying what is missing or failed.
pub async fn send_day_reports(config: &DaemonConfig, day: Date) -> Result<Progress, ReportsError> {
    let tlsrpt = config.tlsrpt.as_ref().ok_or(ReportsError::NotConfigured)?;
    let (name, store) = open_store(&config.cache.store).await;
    let store_error = |source| ReportsError::Store {
        store: name.clone(),
        source,
    };
    let store = store.map_err(store_error)?;
    let network = mxsec_net::setup::Network::build(&mxsec_net::setup::NetSettings {
        dnssec: config.dns.dnssec,
        resolver: config.dns.resolver,
        trust_anchor: config.dns.trust_anchor.clone(),
        trust_remote_resolver: config.dns.trust_remote_resolver,
        ca_files: config.ca_files.clone(),
        os_store: mxsec_net::trust::OsStore::System,
        timeout: config.dns.timeout,
        connect_map: None,
        connect_policy: mxsec_net::dial::ConnectPolicy::AnyAddress,
        validation_entries: config.cache.validation_entries,
    })
    .await
    .map_err(|e| ReportsError::Dns(e.to_string()))?;
    let mut sender = report_sender(tlsrpt, &config.ca_files, store, network.dns.clone())?;
    sender
        .send_day(day, OffsetDateTime::now_utc())
        .await
        .map_err(store_error)
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

/// Starts the collectors `[tlsrpt]` asks for: the follower of `maillog`, which leaves out the
/// report mails sent from `from`, and the listener on `datagram_socket`, counting into
/// `store`; returns the socket bound, if any.
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
    match &config.maillog {
        Some(LogSource::File(path)) => {
            let offset =
                UtcOffset::from_whole_seconds(config.maillog_utc_offset).unwrap_or(UtcOffset::UTC);
            // Report mails are no sessions to report on (RPT-DEL-04).
            let follower =
                Follower::new(path, offset, store.clone()).skipping_sender(&config.from_address());
            tracing::info!(log = %path.display(), "following Postfix's log for TLS reports");
            tasks.spawn(follow_file(follower, metrics.clone()));
        }
        Some(LogSource::Journald) => {
            let follower = JournalFollower::new(journalctl(JOURNALCTL.into()), store.clone())
                .skipping_sender(&config.from_address());
            tracing::info!("following Postfix's log in the journal for TLS reports");
            tasks.spawn(follow_journal(follower, metrics.clone()));
        }
        None => {}
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

/// Follows the log file until the task is aborted; every step's position is stored with its
/// sessions, so stopping at any point loses nothing.
async fn follow_file(mut follower: Follower, metrics: Arc<Metrics>) {
    loop {
        let step = follower.step(OffsetDateTime::now_utc()).await;
        if after_step(step, &metrics).await {
            tokio::time::sleep(FOLLOW_INTERVAL).await;
        }
    }
}

/// Follows the journal until the task is aborted; each step waits for entries itself.
async fn follow_journal(mut follower: JournalFollower, metrics: Arc<Metrics>) {
    loop {
        let step = follower.step(OffsetDateTime::now_utc()).await;
        after_step(step, &metrics).await;
    }
}

/// Counts a step's lines, or logs its failure and waits; returns whether it read nothing.
async fn after_step(step: Result<StepCounts, FollowError>, metrics: &Metrics) -> bool {
    match step {
        Ok(counts) => {
            metrics.log_read(counts.lines, counts.too_long, counts.sessions);
            counts.lines == 0 && counts.too_long == 0
        }
        Err(error) => {
            tracing::warn!(%error, "reading Postfix's log for TLS reports");
            tokio::time::sleep(RETRY_AFTER).await;
            false
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> TlsRptConfig {
        toml::from_str(&format!(
            "organization_name = \"E\"\ncontact_info = \"r@e.test\"\nsubmitter = \"e.test\"\n{extra}"
        ))
        .expect("parse")
    }

    #[test]
    fn rpt_del_03_unreadable_key_or_ca_file_is_named() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let missing = dir.path().join("missing.pem");
        let error = deliverer(
            &config(&format!(
                "relay = \"127.0.0.1:25\"\ndkim_selector = \"tlsrpt\"\ndkim_key = \"{}\"\n",
                missing.display()
            )),
            &[],
        )
        .expect_err("missing key");
        assert!(
            matches!(&error, ReportsError::DkimKey { path, .. } if *path == missing),
            "{error}"
        );
        let not_a_key = dir.path().join("not-a-key.pem");
        std::fs::write(&not_a_key, "not a key").expect("write");
        let error = deliverer(
            &config(&format!(
                "relay = \"127.0.0.1:25\"\ndkim_selector = \"tlsrpt\"\ndkim_key = \"{}\"\n",
                not_a_key.display()
            )),
            &[],
        )
        .expect_err("no key");
        assert!(error.to_string().contains("tlsrpt.dkim_key"), "{error}");
        let error = deliverer(
            &config(&format!("https_ca_file = \"{}\"\n", missing.display())),
            &[],
        )
        .expect_err("missing CA file");
        assert!(matches!(error, ReportsError::CaFile(_)), "{error}");
    }

    #[test]
    fn rpt_del_05_https_only_deliverer_has_no_mail_setup() {
        let deliverer =
            deliverer(&config("https_ignore_certificate_errors = true\n"), &[]).expect("deliverer");
        assert!(deliverer.mail.is_none());
        assert_eq!(deliverer.submitter.as_str(), "e.test");
    }

    #[test]
    fn rpt_time_01_jitter_is_a_share() {
        for _ in 0..100 {
            let share = jitter();
            assert!((0.0..1.0).contains(&share), "{share}");
        }
    }
}
