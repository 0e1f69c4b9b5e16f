//! `mxsec web`: the audit of `mxsec check` as a web page and a JSON API.
//!
//! The server connects wherever its visitors ask, so by default its dialer refuses every
//! special-purpose address (loopback, private, link-local, ...; see
//! [`mxsec_net::dial::ConnectPolicy`]), judged on the address each connection actually goes
//! to. `--allow-private` lifts that, and `--demo` implies it, since the simulated internet
//! lives on loopback.
//!
//! - [`server`]: routes, the streamed page, the API, headers, the accept loop.
//! - [`page`]: the page around the report ([`mxsec_check::report::html`]).
//! - [`checks`]: running checks, the concurrency bound and the time limit.
//! - [`limits`]: the per-client rate limit; [`input`]: validation of the domain typed.

mod checks;
mod input;
mod limits;
mod page;
mod server;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use mxsec_check::{CheckOptions, Checker};
use mxsec_net::dial::ConnectPolicy;
use mxsec_proto::name::DomainName;
use mxsec_testbed::scenario::Scenario;
use mxsec_testbed::Testbed;
use tokio::net::TcpListener;

use crate::cli::{DnssecMode, ResolveArgs, WebArgs};
use crate::config::Resolving;
use checks::{Audit, Checks};
use limits::RateLimiter;
use page::DemoScenario;
use server::App;

/// Checks per client per minute, by default.
const RATE_LIMIT: u32 = 10;
/// Checks per client per minute in the demo, where one visitor clicks through everything.
const DEMO_RATE_LIMIT: u32 = 120;

/// The name the SMTP probes announce in EHLO.
const EHLO: &str = "mxsec.invalid";
/// The most HTTP connections served at once.
const MAX_CONNECTIONS: usize = 512;

pub(crate) async fn run(args: WebArgs) -> Result<ExitCode> {
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
    let resolving = Resolving::from_args(&resolve, policy).await?;
    let ehlo = DomainName::parse(EHLO).context("EHLO name")?;
    let mut options = CheckOptions::new(ehlo);
    options.probe_timeouts.banner = resolve.timeout;
    options.probe_timeouts.command = resolve.timeout;
    options.probe_timeouts.handshake = resolve.timeout;
    options.probe_timeouts.total = resolve.timeout * 3;
    let checker = Checker::new(
        (*resolving.dns).clone(),
        &resolving.trust,
        resolving.dialer.clone(),
        options,
    )
    .context("cannot set up the checker")?;
    let audit: Audit = Arc::new(move |domain: DomainName| {
        let checker = checker.clone();
        Box::pin(async move { checker.check(&domain).await })
    });

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
    let app = App::new(
        Checks::new(audit, args.max_checks, args.check_timeout),
        RateLimiter::per_minute(args.rate_limit.unwrap_or(if args.demo {
            DEMO_RATE_LIMIT
        } else {
            RATE_LIMIT
        })),
        demo,
    );
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
    tokio::select! {
        served = crate::http::serve(listener, server::router(Arc::new(app)), MAX_CONNECTIONS) => {
            served.context("the web server stopped")?;
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    drop(testbed);
    Ok(ExitCode::SUCCESS)
}

/// The resolving options that point the checker at the testbed.
fn testbed_args(testbed: &Testbed) -> ResolveArgs {
    let files = testbed.files();
    ResolveArgs {
        resolver: Some(testbed.dns_addr()),
        dnssec: DnssecMode::Validate,
        trust_anchor: Some(files.trust_anchor.clone()),
        trust_remote_resolver: false,
        ca_file: vec![files.ca_file.clone()],
        os_store: Some(files.os_store.clone()),
        timeout: Duration::from_secs(5),
        connect_map: Some(files.connect_map.clone()),
    }
}
