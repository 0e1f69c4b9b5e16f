//! `mxsec daemon`: reads the configuration, runs [`mxsec_server::socketmap::Daemon`], and
//! turns signals into its lifecycle: `SIGHUP` reloads, `SIGTERM` and `SIGINT` stop.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use mxsec_server::socketmap::config::DEFAULT_PATH;
use mxsec_server::socketmap::{Daemon, DaemonConfig, DaemonOptions};
use tokio::signal::unix::{signal, SignalKind};

use crate::cli::DaemonArgs;

/// Runs the daemon until `SIGTERM`.
pub(crate) async fn run(args: DaemonArgs) -> Result<ExitCode> {
    let path = args.config.unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    let config = DaemonConfig::load(&path)?;
    if args.check_config {
        println!("{}: configuration is valid", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let options = DaemonOptions {
        connect_map: args.connect_map,
        ..DaemonOptions::default()
    };
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let mut daemon = Daemon::start(config, options).await?;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                // An invalid file, or one whose resolver cannot be built, leaves the running
                // configuration in force.
                let reloaded = match DaemonConfig::load(&path) {
                    Ok(config) => daemon.reload(config).await.map_err(anyhow::Error::from),
                    Err(err) => Err(err.into()),
                };
                match reloaded {
                    Ok(()) => tracing::info!(config = %path.display(), "configuration reloaded"),
                    Err(err) => tracing::error!(
                        error = format!("{err:#}"),
                        "reload failed: the running configuration stays in force"
                    ),
                }
            }
        }
    }
    daemon.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
