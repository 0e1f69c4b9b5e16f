//! One conformance run: the namespace, the simulated internet and its resolver, the MTA under
//! test, one message per scenario, the watch, the grades.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mxsec_testbed::dns::Unbound;
use mxsec_testbed::scenario::Scenario;
use mxsec_testbed::Testbed;

use crate::grade::{grade, Arrival, Observed, SenderSays};
use crate::inject::{inject, Message};
use crate::netns::Netns;
use crate::policy::{
    install_mta_sts_resolver, start_mta_sts_resolver, start_mxsec, DaemonListen, Policy,
};
use crate::postfix::{statuses, DeliveryStatus, Postfix, PostfixSetup};
use crate::process::Process;
use crate::report::{Report, Row};
use crate::Error;

/// The prefix of the namespaces the harness creates.
pub const NETNS_PREFIX: &str = "mxsec-conformance-";
/// The validating resolver (unbound) inside the namespace, on port 53.
pub const RESOLVER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
/// The authoritative DNS server of the simulated internet inside the namespace.
pub const DNS: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 53), 53));
/// Where a ready-made Postfix accepts the messages to send.
pub const POSTFIX_INJECT: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 10025));
/// How often the harness looks at the MX hosts and the sender's log.
const POLL: Duration = Duration::from_millis(500);

/// The MTA under test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mta {
    /// A private Postfix instance (`postfix -c DIR`), DANE on, asking this policy server.
    Postfix(Policy),
    /// The user's own MTA, running in the namespace and accepting messages at this address.
    External {
        /// Where it accepts messages over SMTP.
        inject: SocketAddr,
    },
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The MTA under test.
    pub mta: Mta,
    /// An existing network namespace to use instead of a new one.
    pub netns: Option<String>,
    /// The `mxsec` program, for `mxsec daemon`.
    pub mxsec: PathBuf,
    /// The virtual environment for postfix-mta-sts-resolver (made when missing).
    pub venv: PathBuf,
    /// The scenarios to grade.
    pub scenarios: Vec<&'static Scenario>,
    /// How long to wait, after the last message was handed over, for the outcomes.
    pub time_limit: Duration,
}

/// What an MTA under test needs to use the simulated internet.
#[derive(Clone, Debug)]
pub struct Environment {
    /// The network namespace where it must run (`ip netns exec NAME ...`).
    pub netns: String,
    /// The validating resolver (`/etc/resolv.conf` inside the namespace).
    pub resolver: SocketAddr,
    /// The authoritative DNS server of the simulated internet.
    pub dns: SocketAddr,
    /// The roots of the simulated internet's WebPKI, in PEM.
    pub ca_file: PathBuf,
    /// The DNSSEC trust anchor of its root zone, as a DS record.
    pub trust_anchor: PathBuf,
    /// The same trust anchor as a DNSKEY record.
    pub trust_anchor_dnskey: PathBuf,
    /// Where the messages are handed to the MTA.
    pub inject: SocketAddr,
}

/// Runs the harness: grades the MTA of `options` on every scenario of `options`. `ready` is
/// called once the simulated internet and the MTA are up, before the first message: to print
/// the [`Environment`], or to wait for the user's MTA.
///
/// # Errors
///
/// [`Error`] when something the run needs cannot be had: root, a program, the namespace,
/// a port, the policy server.
pub fn run(options: &Options, ready: impl FnOnce(&Environment) + Send) -> Result<Report, Error> {
    // pip needs the network, which the namespace does not have.
    let resolver_daemon = match options.mta {
        Mta::Postfix(Policy::MtaStsResolver) => Some(install_mta_sts_resolver(&options.venv)?),
        _ => None,
    };
    let netns = match &options.netns {
        Some(name) => Netns::attach(name, &RESOLVER.to_string())?,
        None => Netns::create(NETNS_PREFIX, &RESOLVER.to_string())?,
    };
    let dir = tempfile::tempdir().map_err(|e| Error::io(&std::env::temp_dir(), e))?;
    // Postfix's programs run as the postfix user and must reach its directories below.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .map_err(|e| Error::io(dir.path(), e))?;
    let inside = Inside {
        options,
        netns: &netns,
        dir: dir.path(),
        resolver_daemon: resolver_daemon.as_deref(),
    };
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                inside.netns.enter_this_thread()?;
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| Error::io(Path::new("tokio runtime"), e))?;
                runtime.block_on(inside.run(ready))
            })
            .join()
            .map_err(|_| Error::Panicked)?
    })
}

/// The part of a run inside the namespace.
struct Inside<'a> {
    options: &'a Options,
    netns: &'a Netns,
    dir: &'a Path,
    resolver_daemon: Option<&'a Path>,
}

/// The MTA under test while it runs, and what keeps it running.
struct RunningMta {
    inject: SocketAddr,
    postfix: Option<Postfix>,
    _policy_server: Option<Process>,
}

impl Inside<'_> {
    async fn run(self, ready: impl FnOnce(&Environment)) -> Result<Report, Error> {
        let testbed = Testbed::builder().published(DNS).start().await?;
        let unbound = Unbound::start_at(testbed.dns(), SocketAddrV4::new(RESOLVER, 53)).await?;
        let files = testbed.files();
        let mta = self.start_mta(unbound.addr(), &files.ca_file)?;
        ready(&Environment {
            netns: self.netns.name().to_owned(),
            resolver: unbound.addr(),
            dns: testbed.dns_addr(),
            ca_file: files.ca_file.clone(),
            trust_anchor: files.trust_anchor.clone(),
            trust_anchor_dnskey: files.trust_anchor_dnskey.clone(),
            inject: mta.inject,
        });

        let scenarios = &self.options.scenarios;
        let mut observed: BTreeMap<&'static str, Observed> = BTreeMap::new();
        for scenario in scenarios {
            let message = Message {
                rcpt: recipient(scenario),
                subject: format!("mxsec conformance: {}", scenario.key),
                body: scenario.title.to_owned(),
            };
            let entry = observed.entry(scenario.key).or_default();
            if let Err(error) = inject(mta.inject, &message).await {
                entry.injection_error = Some(error);
            }
        }
        let deadline = Instant::now() + self.options.time_limit;
        loop {
            watch(&testbed, mta.postfix.as_ref(), &mut observed);
            if observed.values().all(Observed::settled) || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(POLL).await;
        }

        let rows = scenarios
            .iter()
            .map(|scenario| {
                let seen = observed.get(scenario.key).cloned().unwrap_or_default();
                Row::new(scenario, &seen, |expected| {
                    grade(expected, &scenario.domain(), &seen)
                })
            })
            .collect();
        let (mta_name, policy) = match self.options.mta {
            Mta::Postfix(policy) => ("postfix", Some(policy)),
            Mta::External { .. } => ("external", None),
        };
        Ok(Report::new(mta_name, policy, self.options.time_limit, rows))
    }

    /// Starts the ready-made MTA, if one was asked for.
    fn start_mta(&self, resolver: SocketAddr, ca_file: &Path) -> Result<RunningMta, Error> {
        let policy = match self.options.mta {
            Mta::External { inject } => {
                return Ok(RunningMta {
                    inject,
                    postfix: None,
                    _policy_server: None,
                })
            }
            Mta::Postfix(policy) => policy,
        };
        let policy_server = match (policy, self.resolver_daemon) {
            (Policy::None, _) => None,
            (Policy::Mxsec, _) => Some(start_mxsec(
                self.netns,
                &self.options.mxsec,
                self.dir,
                &DaemonListen::Tcp,
                resolver,
                ca_file,
            )?),
            (Policy::MtaStsResolver, Some(daemon)) => Some(start_mta_sts_resolver(
                self.netns, daemon, self.dir, ca_file,
            )?),
            (Policy::MtaStsResolver, None) => {
                return Err(Error::Missing {
                    program: "mta-sts-daemon".to_owned(),
                    package: "python3-venv",
                })
            }
        };
        let postfix = Postfix::start(
            self.netns,
            PostfixSetup {
                base: self.dir.join("postfix-instance"),
                ca_file: ca_file.to_owned(),
                policy_map: policy.policy_map(),
                listen: Some(POSTFIX_INJECT),
            },
        )?;
        // master(8) opens the smtpd socket as it starts; give it a moment.
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&POSTFIX_INJECT, Duration::from_secs(1)).is_err() {
            if Instant::now() > deadline {
                return Err(Error::NotReady {
                    program: "postfix".to_owned(),
                    why: format!("does not accept messages on {POSTFIX_INJECT}"),
                    output: postfix.maillog_text(),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(RunningMta {
            inject: POSTFIX_INJECT,
            postfix: Some(postfix),
            _policy_server: policy_server,
        })
    }
}

/// The recipient of the message to a scenario's domain.
pub fn recipient(scenario: &Scenario) -> String {
    format!("postmaster@{}", scenario.domain())
}

/// Records in `observed` what the MX hosts received so far and what Postfix's log says.
fn watch(
    testbed: &Testbed,
    postfix: Option<&Postfix>,
    observed: &mut BTreeMap<&'static str, Observed>,
) {
    for seen in observed.values_mut() {
        seen.arrivals.clear();
    }
    for (address, server) in testbed.mx_hosts() {
        for message in server.messages() {
            for rcpt in &message.rcpt_to {
                let rcpt = rcpt.trim_matches(['<', '>']).to_ascii_lowercase();
                let Some(domain) = rcpt.rsplit_once('@').map(|(_, domain)| domain) else {
                    continue;
                };
                let Some(seen) = Scenario::find(domain).and_then(|s| observed.get_mut(s.key))
                else {
                    continue;
                };
                seen.arrivals.push(Arrival {
                    host: server.hostname().to_owned(),
                    address,
                    tls: message.tls.clone(),
                });
            }
        }
    }
    let Some(postfix) = postfix else {
        return;
    };
    let statuses = statuses(&postfix.maillog_text());
    for (key, seen) in observed.iter_mut() {
        let Some(scenario) = Scenario::find(key) else {
            continue;
        };
        seen.sender = statuses
            .get(&recipient(scenario))
            .and_then(|status| match &status.status {
                DeliveryStatus::Sent => Some(SenderSays::Sent),
                DeliveryStatus::Deferred => Some(SenderSays::Deferred(reason(&status.detail))),
                DeliveryStatus::Bounced => Some(SenderSays::Bounced(reason(&status.detail))),
                DeliveryStatus::Other(_) => None,
            });
    }
}

/// The reason of a Postfix status detail, `(...)` without its parentheses.
fn reason(detail: &str) -> String {
    detail
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .to_owned()
}
