//! The Postfix TLS policy server (socketmap) that `mxsec daemon` runs, with a persistent
//! MTA-STS policy cache.
//!
//! - [`config`]: the TOML file, checked before anything starts.
//! - [`server`]: the accept loop over any listener and the loop that answers one connection;
//!   [`unix`]: the Unix socket's file, mode and owner.
//! - [`service`]: from a request to its reply, through zones, caches and the resolver.
//! - [`engine`]: DNS, the policy fetcher, the store and the resolver a start or a reload builds.
//! - [`answers`]: the answer cache and the lookups in flight, and how a forget reaches both.
//! - [`refresh`]: the proactive refresh of cached policies (STS-FETCH-08).
//! - [`metrics`]: counters; [`why`]: the reasons behind the answer for a destination
//!   (`mxsec doctor --why`); [`activity`]: the refresh rounds and the policy hosts seen
//!   (`mxsec doctor`); [`endpoint`]: `/metrics`, `/why` and `/status` on the loopback metrics
//!   port.
//! - [`notices`]: the log of `TEMP` answers and refused policies, once per destination and
//!   interval.
//! - [`client`]: one lookup against a running daemon (`mxsec query --daemon`).
//!
//! Lifecycle: the configuration is read and checked, the store opened and every socket bound
//! before the daemon reports itself ready ([`Daemon::start`]); any failure there stops it with
//! a message that says what to fix. [`Daemon::shutdown`] (the binary calls it on `SIGTERM` or
//! `SIGINT`) stops accepting, answers the requests already received, and waits up to
//! `limits.shutdown_timeout` for connections to close. [`Daemon::reload`] (on `SIGHUP`) reads
//! the configuration again: zones, limits, cache and refresh settings apply to new requests at
//! once, a changed `[dns]`, `[tls]`, `cache.store` (or its `redis_ca_file`,
//! `redis_client_cert`, `redis_client_key`), `cache.answer_entries`, `cache.dns_entries` or
//! `cache.validation_entries` rebuilds the resolver and its caches, and a changed `[listen]`
//! or `[tlsrpt]` needs a restart. An invalid file is logged and ignored.

pub mod client;
pub mod config;

mod activity;
mod answers;
mod endpoint;
mod engine;
mod metrics;
mod notices;
mod refresh;
mod server;
mod service;
mod shutdown;
pub mod tlsrpt;
mod unix;
mod why;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{watch, Mutex, Semaphore};
use tokio::task::JoinSet;

pub use config::{ConfigError, DaemonConfig};
use engine::build_engine;
pub use engine::{DaemonOptions, StartError};
use metrics::Metrics;
use service::{Service, Shared};

/// A running daemon: its listeners, connections, refresh and metrics endpoint.
#[derive(Debug)]
pub struct Daemon {
    shared: Arc<Shared>,
    running: DaemonConfig,
    options: DaemonOptions,
    stop: watch::Sender<bool>,
    connections: Arc<Mutex<JoinSet<()>>>,
    tasks: JoinSet<()>,
    tcp: Vec<SocketAddr>,
    metrics: Option<SocketAddr>,
    /// The libtlsrpt socket bound (`tlsrpt.datagram_socket`), removed at shutdown.
    datagram_socket: Option<PathBuf>,
}

impl Daemon {
    /// Builds the resolver and its caches, opens the store, binds every socket and starts
    /// serving with `config`.
    ///
    /// # Errors
    ///
    /// A [`StartError`] saying which setting cannot be used.
    pub async fn start(config: DaemonConfig, options: DaemonOptions) -> Result<Self, StartError> {
        let metrics = Arc::new(Metrics::default());
        let engine = Arc::new(build_engine(&config, &options, &metrics).await?);
        let service = Arc::new(Service::new(engine, &config, metrics.clone()));
        let shared = Arc::new(Shared::new(service, metrics.clone()));

        let (stop, shutdown) = watch::channel(false);
        let connections = Arc::new(Mutex::new(JoinSet::new()));
        let accepting = server::Accepting {
            shared: shared.clone(),
            slots: Arc::new(Semaphore::new(config.limits.max_connections)),
            connections: connections.clone(),
            shutdown: shutdown.clone(),
        };
        let mut tasks = JoinSet::new();
        let mut tcp = Vec::new();
        for addr in &config.listen.tcp {
            let listener = bind(*addr, "listen.tcp").await?;
            let local = local_addr(&listener, "listen.tcp")?;
            tracing::info!(address = %local, "socketmap listening on TCP");
            tcp.push(local);
            tasks.spawn(server::accept(listener, accepting.clone()));
        }
        if let Some(unix) = &config.listen.unix {
            let listener = unix::bind_unix(unix).map_err(|source| StartError::Listen {
                key: "listen.unix",
                address: unix.path.display().to_string(),
                source,
            })?;
            tracing::info!(path = %unix.path.display(), mode = format!("{:o}", unix.mode), "socketmap listening on a Unix socket");
            tasks.spawn(server::accept(listener, accepting.clone()));
        }
        let mut metrics_addr = None;
        if let Some(addr) = config.listen.metrics {
            let listener = bind(addr, "listen.metrics").await?;
            let local = local_addr(&listener, "listen.metrics")?;
            tracing::info!(address = %local, "metrics listening");
            metrics_addr = Some(local);
            let mut shutdown = shutdown.clone();
            tasks.spawn(endpoint::serve(listener, shared.clone(), async move {
                shutdown::stopped(&mut shutdown).await;
            }));
        }
        let mut datagram_socket = None;
        if let (Some(settings), Some(recorder)) =
            (&config.tlsrpt, shared.current().engine.recorder.as_ref())
        {
            datagram_socket =
                tlsrpt::start_collectors(settings, recorder.store(), &metrics, &mut tasks)?;
            let sender = tlsrpt::report_sender(
                settings,
                &config.ca_files,
                recorder.store().clone(),
                shared.current().engine.resolver.dns().clone(),
            )?;
            tracing::info!(
                max_delay = settings.max_delay,
                "sending TLS reports after each UTC day"
            );
            tasks.spawn(tlsrpt::send_reports(
                sender,
                metrics.clone(),
                options.report_clock_ahead,
            ));
        }
        tasks.spawn(refresh::run(shared.clone(), shutdown.clone()));
        tracing::info!("mxsec daemon ready");
        Ok(Self {
            shared,
            running: config,
            options,
            stop,
            connections,
            tasks,
            tcp,
            metrics: metrics_addr,
            datagram_socket,
        })
    }

    /// The TCP addresses socketmap requests are answered on (`listen.tcp`, with the ports
    /// chosen for port 0).
    pub fn tcp_addrs(&self) -> &[SocketAddr] {
        &self.tcp
    }

    /// The address of `/metrics`, if served.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
    }

    /// Puts `config` in force (`SIGHUP`): zones, limits, cache and refresh settings apply to
    /// new requests at once; changed DNS, TLS or cache sizes rebuild the resolver and its
    /// caches; a changed `[listen]` is kept for the next start.
    ///
    /// # Errors
    ///
    /// A [`StartError`] when the new resolver cannot be built; the running configuration
    /// then stays in force.
    pub async fn reload(&mut self, config: DaemonConfig) -> Result<(), StartError> {
        let running = &self.running;
        if config.listen != running.listen {
            tracing::warn!("[listen] changed: restart the daemon to apply it");
        }
        if config.tlsrpt != running.tlsrpt {
            // The collectors and the report sender keep the settings they started with.
            tracing::warn!("[tlsrpt] changed: restart the daemon to apply it");
        }
        let engine = if config.dns != running.dns
            || config.ca_files != running.ca_files
            || config.cache.store != running.cache.store
            || config.cache.answer_entries != running.cache.answer_entries
            || config.cache.dns_entries != running.cache.dns_entries
            || config.cache.validation_entries != running.cache.validation_entries
        {
            Arc::new(build_engine(&config, &self.options, &self.shared.metrics).await?)
        } else {
            self.shared.current().engine.clone()
        };
        self.shared.replace(Arc::new(Service::new(
            engine,
            &config,
            self.shared.metrics.clone(),
        )));
        let listen = std::mem::replace(&mut self.running, config).listen;
        self.running.listen = listen;
        Ok(())
    }

    /// Stops accepting, answers the requests already received, waits up to
    /// `limits.shutdown_timeout` for the connections to close (then closes them), and removes
    /// the Unix socket.
    pub async fn shutdown(mut self) {
        tracing::info!("shutting down: answering the requests already received");
        let _ = self.stop.send(true);
        let timeout = self.shared.current().limits.shutdown_timeout;
        let mut open = std::mem::take(&mut *self.connections.lock().await);
        let drained =
            tokio::time::timeout(timeout, async { while open.join_next().await.is_some() {} })
                .await;
        if drained.is_err() {
            tracing::warn!(
                open = open.len(),
                "connections still open after the shutdown timeout: closing them"
            );
            open.abort_all();
        }
        self.tasks.abort_all();
        if let Some(unix) = &self.running.listen.unix {
            let _ = std::fs::remove_file(&unix.path);
        }
        if let Some(socket) = &self.datagram_socket {
            let _ = std::fs::remove_file(socket);
        }
        tracing::info!("mxsec daemon stopped");
    }
}

async fn bind(addr: SocketAddr, key: &'static str) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen {
            key,
            address: addr.to_string(),
            source,
        })
}

fn local_addr(listener: &TcpListener, key: &'static str) -> Result<SocketAddr, StartError> {
    listener.local_addr().map_err(|source| StartError::Listen {
        key,
        address: "an unknown address".to_owned(),
        source,
    })
}
