//! The web checker that `mxsec web` runs: the audit of `mxsec check` as a web page and a JSON
//! API.
//!
//! The server connects wherever its visitors ask, so by default its dialer refuses every
//! special-purpose address (loopback, private, link-local, ...; see
//! [`mxsec_net::dial::ConnectPolicy`]), judged on the address each connection actually goes
//! to. `--allow-private` lifts that, and `--demo` implies it, since the simulated internet
//! lives on loopback: the caller chooses, in [`WebConfig::network`].
//!
//! - [`server`]: routes, the streamed page, the API, a finished scan's summary, headers
//!   (served by [`crate::http`]).
//! - [`page`]: the page around the report ([`mxsec_check::report::html`]).
//! - [`checks`]: running checks, the concurrency bound and the time limit.
//! - [`limits`]: the per-client rate limit; [`input`]: validation of the domain typed.

mod checks;
mod input;
mod limits;
mod page;
mod server;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use mxsec_check::report::summary::ScanSummary;
use mxsec_check::{CheckOptions, Checker, CheckerError};
use mxsec_net::setup::Network;
use mxsec_proto::name::DomainName;
use tokio::net::TcpListener;

use crate::http::{self, Transport};
use checks::{Audit, Checks};
use limits::RateLimiter;
pub use page::DemoScenario;
use server::App;

/// Checks per client per minute, by default.
pub const RATE_LIMIT: u32 = 10;
/// Checks per client per minute in the demo, where one visitor clicks through everything.
pub const DEMO_RATE_LIMIT: u32 = 120;

/// The name the SMTP probes announce in EHLO.
const EHLO: &str = "mxsec.invalid";
/// The most HTTP connections served at once.
const MAX_CONNECTIONS: usize = 512;

/// What the web checker runs with.
#[derive(Debug)]
pub struct WebConfig {
    /// DNS, trust and the dialer the checks use, under the connect policy of the server.
    pub network: Network,
    /// The time limit of each network operation of a check.
    pub timeout: Duration,
    /// The most checks running at once.
    pub max_checks: usize,
    /// The time limit of one check.
    pub check_timeout: Duration,
    /// Checks per client (an IPv4 address or an IPv6 /64) per minute.
    pub rate_limit: u32,
    /// The demo's scenarios, listed on the front page; `None` outside the demo.
    pub demo: Option<Vec<DemoScenario>>,
    /// A finished scan's summary, served at `/scan` and `/api/v1/scan`; `None` without one.
    pub scan: Option<ScanSummary>,
}

/// Why the web checker stopped or could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// The checker could not be set up.
    #[error("cannot set up the checker: {0}")]
    Checker(#[from] CheckerError),
    /// Serving failed.
    #[error("the web server stopped: {0}")]
    Serve(#[from] std::io::Error),
}

/// Serves the web checker on `listener` until `shutdown` completes.
///
/// # Errors
///
/// A [`WebError`] when the checker cannot be set up.
pub async fn serve(
    listener: TcpListener,
    config: WebConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), WebError> {
    let ehlo = DomainName::parse(EHLO).expect("a literal, valid domain name");
    let mut options = CheckOptions::new(ehlo);
    options.probe_timeouts.banner = config.timeout;
    options.probe_timeouts.command = config.timeout;
    options.probe_timeouts.handshake = config.timeout;
    options.probe_timeouts.total = config.timeout * 3;
    let network = config.network;
    let checker = Checker::new(
        network.dns.as_ref().clone(),
        &network.trust,
        network.dialer.clone(),
        options,
    )?;
    let audit: Audit = Arc::new(move |domain: DomainName| {
        let checker = checker.clone();
        Box::pin(async move { checker.check(&domain).await })
    });
    let app = App::new(
        Checks::new(audit, config.max_checks, config.check_timeout),
        RateLimiter::per_minute(config.rate_limit),
        config.demo,
        config.scan.as_ref(),
    );
    let limits = http::Limits::connections(MAX_CONNECTIONS);
    http::serve(
        listener,
        server::router(Arc::new(app)),
        Transport::Plain,
        limits,
        shutdown,
    )
    .await?;
    Ok(())
}
