//! `mxsec web`: builds the checker's network from the arguments (or the simulated internet
//! with `--demo`), summarises a finished scan given with `--scan`, and runs
//! [`mxsec_server::web`] until `SIGINT`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use mxsec_net::dial::ConnectPolicy;
use mxsec_server::web::{self, DemoScenario, WebConfig, DEMO_RATE_LIMIT, RATE_LIMIT};
use mxsec_testbed::scenario::Scenario;
use mxsec_testbed::Testbed;
use tokio::net::TcpListener;

use crate::cli::WebArgs;
use crate::config::{network, testbed_args};

pub(crate) async fn run(args: WebArgs) -> Result<ExitCode> {
    let scan = match &args.scan {
        Some(path) => Some(
            super::summary::read(path)
                .await
                .context("cannot summarise --scan")?,
        ),
        None => None,
    };
    // The testbed must outlive the server: it is dropped when `run` returns.
    let testbed = if args.demo {
        Some(
            Testbed::start()
                .await
                .context("cannot start the simulated internet")?,
        )
    } else {
        None
    };
    let resolve = match &testbed {
        Some(testbed) => testbed_args(testbed),
        None => args.resolve.clone(),
    };
    let policy = ConnectPolicy::allowing_private(args.allow_private || args.demo);
    let demo = testbed.as_ref().map(|_| {
        Scenario::all()
            .iter()
            .map(|s| DemoScenario {
                ids: s.ids.join(", "),
                domain: s.domain(),
                title: s.title.to_owned(),
                problem: s.problem.to_owned(),
            })
            .collect()
    });
    let config = WebConfig {
        network: network(&resolve, policy).await?,
        timeout: resolve.timeout,
        max_checks: args.max_checks,
        check_timeout: args.check_timeout,
        rate_limit: args.rate_limit.unwrap_or(if args.demo {
            DEMO_RATE_LIMIT
        } else {
            RATE_LIMIT
        }),
        demo,
        scan,
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener
        .local_addr()
        .context("cannot read the listening address")?;
    if policy == ConnectPolicy::AnyAddress && !args.demo {
        eprintln!(
            "mxsec web: --allow-private: checks may connect to loopback and private addresses"
        );
    }
    {
        // One line on stdout, which scripts read to learn the address (port 0 picks one).
        let mut out = std::io::stdout().lock();
        writeln!(out, "mxsec web: listening on http://{local}/")?;
        out.flush()?;
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    web::serve(listener, config, shutdown).await?;
    drop(testbed);
    Ok(ExitCode::SUCCESS)
}
