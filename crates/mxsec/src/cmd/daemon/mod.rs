//! `mxsec daemon`: the Postfix TLS policy server (socketmap), with a persistent MTA-STS policy
//! cache.
//!
//! - [`config`]: the TOML file, checked before anything starts.
//! - [`server`]: the listeners and the loop that answers one connection.
//! - [`service`]: from a request to its reply, through zones, caches and the resolver.
//! - [`answers`]: the answer cache and the lookups in flight, and how a forget reaches both.
//! - [`refresh`]: the proactive refresh of cached policies (STS-FETCH-08).
//! - [`metrics`]: counters and the `/metrics` endpoint.
//!
//! Lifecycle: the configuration is read and checked, the store opened and every socket bound
//! before the daemon reports itself ready; any failure there stops it with a message that
//! says what to fix. `SIGTERM` (or `SIGINT`) stops accepting, answers the requests already
//! received, waits up to `limits.shutdown_timeout` for connections to close, and exits.
//! `SIGHUP` reads the configuration again: zones, limits, cache and refresh settings apply
//! to new requests at once, a changed `[dns]`, `[tls]`, `cache.store`, `cache.answer_entries`
//! or `cache.dns_entries` rebuilds the resolver and its caches, and a changed `[listen]` needs a restart. An invalid file is logged and ignored.

pub(crate) mod answers;
pub(crate) mod client;
pub(crate) mod config;
pub(crate) mod logging;
pub(crate) mod metrics;
pub(crate) mod refresh;
pub(crate) mod server;
pub(crate) mod service;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use mxsec_net::dial::ConnectPolicy;
use mxsec_net::resolver::DestinationResolver;
use mxsec_net::store::{PolicyStore, RedisStore, ReportStore, SqliteStore};
use mxsec_net::tlsrpt::recorder::Recorder;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::cli::{DaemonArgs, DnssecMode, ResolveArgs};
use crate::config::Resolving;
use config::{DaemonConfig, DnssecSetting, StoreSetting};
use metrics::Metrics;
use service::{Engine, Service, Shared};

/// Runs the daemon until `SIGTERM`.
pub(crate) async fn run(args: DaemonArgs) -> Result<ExitCode> {
    let path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH));
    let config = DaemonConfig::load(&path)?;
    if args.check_config {
        println!("{}: configuration is valid", path.display());
        return Ok(ExitCode::SUCCESS);
    }

    let metrics = Arc::new(Metrics::default());
    let engine = Arc::new(build_engine(&config, &args, &metrics).await?);
    let service = Arc::new(Service::new(engine, &config, metrics.clone()));
    let shared = Arc::new(Shared::new(service, metrics.clone()));

    let (stop, shutdown) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(config.limits.max_connections));
    let connections = Arc::new(tokio::sync::Mutex::new(JoinSet::new()));
    let mut tasks = JoinSet::new();
    for addr in &config.listen.tcp {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (listen.tcp)"))?;
        let local = listener.local_addr()?;
        tracing::info!(address = %local, "socketmap listening on TCP");
        tasks.spawn(server::accept_tcp(
            listener,
            shared.clone(),
            slots.clone(),
            connections.clone(),
            shutdown.clone(),
        ));
    }
    if let Some(unix) = &config.listen.unix {
        let listener = server::bind_unix(unix)
            .with_context(|| format!("cannot listen on {} (listen.unix)", unix.path.display()))?;
        tracing::info!(path = %unix.path.display(), mode = format!("{:o}", unix.mode), "socketmap listening on a Unix socket");
        tasks.spawn(server::accept_unix(
            listener,
            shared.clone(),
            slots.clone(),
            connections.clone(),
            shutdown.clone(),
        ));
    }
    if let Some(addr) = config.listen.metrics {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (listen.metrics)"))?;
        tracing::info!(address = %listener.local_addr()?, "metrics listening");
        let mut shutdown = shutdown.clone();
        let metrics = metrics.clone();
        tasks.spawn(async move {
            tokio::select! {
                () = metrics::serve(listener, metrics) => {}
                _ = stopped(&mut shutdown) => {}
            }
        });
    }
    tasks.spawn(refresh::run(shared.clone(), shutdown.clone()));
    tracing::info!(config = %path.display(), "mxsec daemon ready");

    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let unix_path = config.listen.unix.as_ref().map(|unix| unix.path.clone());
    let mut running = config;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                running = reload(&path, running, &args, &shared).await;
            }
        }
    }

    tracing::info!("shutting down: answering the requests already received");
    let _ = stop.send(true);
    let timeout = shared.current().limits.shutdown_timeout;
    let mut open = std::mem::take(&mut *connections.lock().await);
    let drained =
        tokio::time::timeout(timeout, async { while open.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            open = open.len(),
            "connections still open after the shutdown timeout: closing them"
        );
        open.abort_all();
    }
    tasks.abort_all();
    if let Some(unix) = &unix_path {
        let _ = std::fs::remove_file(unix);
    }
    tracing::info!("mxsec daemon stopped");
    Ok(ExitCode::SUCCESS)
}

/// Returns once `shutdown` is true (or its sender is gone).
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// Reads the configuration again (`SIGHUP`); keeps `running` if the file is not valid.
async fn reload(
    path: &Path,
    running: DaemonConfig,
    args: &DaemonArgs,
    shared: &Shared,
) -> DaemonConfig {
    let config = match DaemonConfig::load(path) {
        Ok(config) => config,
        Err(err) => {
            tracing::error!(error = %err, "reload failed: the running configuration stays in force");
            return running;
        }
    };
    if config.listen != running.listen {
        tracing::warn!("[listen] changed: restart the daemon to apply it");
    }
    let current = shared.current();
    let engine = if config.dns != running.dns
        || config.ca_files != running.ca_files
        || config.cache.store != running.cache.store
        || config.cache.answer_entries != running.cache.answer_entries
        || config.cache.dns_entries != running.cache.dns_entries
    {
        match build_engine(&config, args, &shared.metrics).await {
            Ok(engine) => Arc::new(engine),
            Err(err) => {
                tracing::error!(
                    error = format!("{err:#}"),
                    "reload failed: the running configuration stays in force"
                );
                return running;
            }
        }
    } else {
        current.engine.clone()
    };
    shared.replace(Arc::new(Service::new(
        engine,
        &config,
        shared.metrics.clone(),
    )));
    tracing::info!(config = %path.display(), "configuration reloaded");
    let mut kept = config;
    kept.listen = running.listen;
    kept
}

/// Sets up DNS (with its cache), the policy fetcher, the store and the resolver.
async fn build_engine(
    config: &DaemonConfig,
    args: &DaemonArgs,
    metrics: &Metrics,
) -> Result<Engine> {
    let resolve = ResolveArgs {
        resolver: config.dns.resolver,
        dnssec: match config.dns.dnssec {
            DnssecSetting::Validate => DnssecMode::Validate,
            DnssecSetting::TrustAd => DnssecMode::TrustAd,
        },
        trust_anchor: config.dns.trust_anchor.clone(),
        trust_remote_resolver: config.dns.trust_remote_resolver,
        ca_file: config.ca_files.clone(),
        // The system's store: the daemon's answers use Mozilla's roots alone, the OS store
        // only serves the checker's comparison (PKIX-01).
        os_store: None,
        timeout: config.dns.timeout,
        connect_map: args.connect_map.clone(),
    };
    let resolving = Resolving::from_args(&resolve, ConnectPolicy::AnyAddress).await?;
    let (dns, dns_cache) = resolving
        .dns
        .as_ref()
        .clone()
        .with_cache(config.cache.dns_entries);
    metrics.set_dns_cache(dns_cache);
    let (store, reports): (Arc<dyn PolicyStore>, Arc<dyn ReportStore>) = match &config.cache.store {
        StoreSetting::Sqlite(path) => {
            let store = Arc::new(SqliteStore::open(path.clone()).await.with_context(|| {
                format!(
                    "cannot open the policy store {} (cache.store)",
                    path.display()
                )
            })?);
            (store.clone(), store)
        }
        StoreSetting::Redis { url, prefix } => {
            let store = Arc::new(RedisStore::connect(url, prefix).await.with_context(|| {
                format!("cannot connect to the policy store {url} (cache.store)")
            })?);
            (store.clone(), store)
        }
    };
    let resolver = DestinationResolver::new(
        Arc::new(dns),
        resolving.fetcher.clone(),
        Some(store.clone()),
    );
    let mut engine = Engine::new(Arc::new(resolver), store, config.cache.answer_entries);
    if config.tlsrpt.is_some() {
        engine.recorder = Some(Recorder::new(reports));
    }
    metrics.set_answer_cache(engine.answer_cache());
    Ok(engine)
}
