//! `mxsec doctor`: checks a running sender's setup, Postfix, the resolver it uses and the
//! `mxsec daemon` it asks, and says what is wrong with the fix, as findings with IDs.
//!
//! | ID | checks |
//! |---|---|
//! | `DOC-PFX-00` | `postconf` runs and prints the configuration |
//! | `DOC-PFX-01` | `smtp_dns_support_level = dnssec` (RFC 7672 §2.1: DANE needs validated DNS) |
//! | `DOC-PFX-02` | a DANE-capable `smtp_tls_security_level` (`dane`, `dane-only`) |
//! | `DOC-PFX-03` | `smtp_tls_policy_maps` has a socketmap table with a map name |
//! | `DOC-PFX-04` | `smtp_tls_CAfile`/`smtp_tls_CApath` set, readable, holding certificates |
//! | `DOC-PFX-05` | the Postfix version and build: MTA-STS attributes and pattern checks (3.10, 3.10.5), TLSRPT (3.10 with libtlsrpt) |
//! | `DOC-PFX-06` | the CA file verifies the policy hosts the daemon fetched from |
//! | `DOC-RES-01` | the resolver is on loopback (the AD bit is trusted only from there) |
//! | `DOC-RES-02` | a signed name gets the AD bit (the resolver validates) |
//! | `DOC-RES-03` | a deliberately broken name gets SERVFAIL (validation failures are not passed on) |
//! | `DOC-RES-04` | TLSA answers come over TCP (large answers need it) |
//! | `DOC-DMN-01` | the policy daemon of each socketmap table answers |
//! | `DOC-DMN-02` | the daemon's policy store is writable |
//! | `DOC-DMN-03` | the daemon's refresh of cached policies is on and runs |
//! | `DOC-CLK-01` | the clock agrees with the policy hosts' clocks |
//!
//! [`why`] asks the daemon for the reasons behind its answer for one destination
//! (`mxsec doctor --why DOMAIN`).

pub mod daemon;
pub mod hosts;
pub mod postfix;
pub mod resolver;
pub mod status;
pub mod why;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Mail can be downgraded, or deferred for good: fix it.
    Error,
    /// A weakness worth fixing.
    Warning,
    /// Worth knowing.
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        })
    }
}

/// One thing wrong with the setup, and its fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The stable ID (see the module's table).
    pub id: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// What it is about: a `main.cf` parameter, the resolver, a daemon endpoint.
    pub subject: String,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub fix: String,
}

impl Finding {
    /// A finding.
    pub fn new(
        id: &'static str,
        severity: Severity,
        subject: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            id,
            severity,
            subject: subject.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// What to check.
#[derive(Clone, Debug)]
pub struct Options {
    /// The `postconf` program.
    pub postconf: PathBuf,
    /// The Postfix configuration directory (`postconf -c DIR`); `None` for the default
    /// instance.
    pub config_dir: Option<PathBuf>,
    /// The `resolv.conf` Postfix's resolver library reads.
    pub resolv_conf: PathBuf,
    /// A DNSSEC-signed name that must validate.
    pub signed: String,
    /// A name whose DNSSEC is deliberately broken.
    pub broken: String,
    /// `mxsec daemon`'s configuration file, for the store check and its metrics address.
    pub daemon_config: Option<PathBuf>,
    /// The daemon's metrics address (`/status`), when not the one of `daemon_config`.
    pub metrics: Option<SocketAddr>,
    /// How long one DNS query or daemon request may take.
    pub timeout: Duration,
}

/// Runs every check; the findings come in the order of the module's table.
pub async fn run(options: &Options) -> Vec<Finding> {
    let mut findings = findings(options).await;
    findings.sort_by_key(|f| {
        let group = ["DOC-PFX", "DOC-RES", "DOC-DMN", "DOC-CLK"]
            .iter()
            .position(|g| f.id.starts_with(g));
        (group, f.id)
    });
    findings
}

async fn findings(options: &Options) -> Vec<Finding> {
    let mut findings = Vec::new();
    let conf = match postfix::Postconf::read(&options.postconf, options.config_dir.as_deref()) {
        Ok(conf) => {
            findings.extend(postfix::check(&conf));
            findings.extend(postfix::version_findings(
                &conf,
                postfix::tlsrpt_build(&conf),
            ));
            findings.extend(postfix::check_ca(&conf));
            for table in postfix::socketmaps(&conf) {
                findings.extend(daemon::check_endpoint(&table, options.timeout).await);
            }
            Some(conf)
        }
        Err(error) => {
            findings.push(Finding::new(
                "DOC-PFX-00",
                Severity::Error,
                "postconf",
                format!("cannot read the Postfix configuration: {error}"),
                "install Postfix, or name its configuration directory with --config-dir",
            ));
            None
        }
    };
    findings.extend(
        resolver::check(
            &options.resolv_conf,
            &options.signed,
            &options.broken,
            options.timeout,
        )
        .await,
    );
    if let Some(config) = &options.daemon_config {
        findings.extend(daemon::check_store(config));
    }
    findings.extend(daemon_status(options, conf.as_ref()).await);
    findings
}

/// DOC-DMN-03, DOC-PFX-06 and DOC-CLK-01, from the daemon's `/status`: asked when the
/// daemon's metrics address is known (`--metrics`, or `listen.metrics` of `--daemon-config`).
async fn daemon_status(options: &Options, conf: Option<&postfix::Postconf>) -> Vec<Finding> {
    let addr = match (options.metrics, &options.daemon_config) {
        (Some(addr), _) => Ok(addr),
        (None, Some(config)) => why::metrics_addr(config).map_err(|e| e.to_string()),
        (None, None) => return Vec::new(),
    };
    let not_checked = |why: String| {
        vec![Finding::new(
            "DOC-DMN-03",
            Severity::Warning,
            "mxsec daemon refresh",
            format!(
                "cannot be checked, nor the CA file against the policy hosts, nor the clock: \
                 {why}"
            ),
            "serve the daemon's status on loopback: [listen] metrics = \"127.0.0.1:9461\", \
             and keep the daemon running",
        )]
    };
    let status = match addr {
        Ok(addr) => status::ask(addr, options.timeout).await,
        Err(why) => Err(why),
    };
    let status = match status {
        Ok(status) => status,
        Err(why) => return not_checked(why),
    };
    let mut findings: Vec<Finding> = status::check_refresh(&status).into_iter().collect();
    if let Some(conf) = conf {
        let hosts: Vec<String> = status.policy_hosts.iter().map(|h| h.host.clone()).collect();
        findings.extend(hosts::check(conf, &hosts, options.timeout).await);
    }
    findings
}
