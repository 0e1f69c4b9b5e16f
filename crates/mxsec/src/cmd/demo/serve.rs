//! `mxsec demo --serve`: the simulated internet on its published addresses and the standard
//! ports, for programs other than mxsec (Postfix, dig, curl, a browser), until SIGINT or
//! SIGTERM.

use std::io::Write;
use std::net::{SocketAddr, SocketAddrV4};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use mxsec_testbed::dns::Unbound;
use mxsec_testbed::published::{bind_failure, Usage, DNS_PORT, NAMESPACE_HINT};
use mxsec_testbed::Testbed;
use tokio::signal::unix::{signal, SignalKind};

use crate::cli::DemoArgs;

pub(crate) async fn run(args: &DemoArgs) -> Result<ExitCode> {
    let dns = SocketAddr::new(args.dns, DNS_PORT);
    let testbed = match Testbed::builder().published(dns).start().await {
        Ok(testbed) => testbed,
        Err(err) => bail!(
            "cannot serve the simulated internet: {err}\n{}{NAMESPACE_HINT}",
            bind_failure(&err).map_or(String::new(), |why| format!("{why}\n"))
        ),
    };
    let resolver = match args.validating_resolver {
        Some(ip) => Some(
            Unbound::start_at(testbed.dns(), SocketAddrV4::new(ip, DNS_PORT))
                .await
                .with_context(|| format!("cannot run the validating resolver on {ip} port 53"))?,
        ),
        None => None,
    };
    let mut out = std::io::stdout().lock();
    write!(
        out,
        "{}",
        Usage {
            testbed: &testbed,
            resolver: resolver.as_ref(),
        }
    )?;
    out.flush()?;
    drop(out);

    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    drop(resolver);
    drop(testbed);
    eprintln!("mxsec demo: stopped");
    Ok(ExitCode::SUCCESS)
}
