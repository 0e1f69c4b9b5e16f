//! The named scenarios of the simulated internet, and [`Testbed`], which starts them all.
//!
//! Each entry of SCENARIOS.md that can be reproduced becomes one [`Scenario`]: a domain
//! `<key>.test` whose zone, MX hosts and policy host behave as the entry describes. Scenarios
//! are data: the tests, `mxsec demo` and `mxsec web --demo` all use this one list, so what a
//! scenario means is said in exactly one place (the `catalogue` module).
//!
//! ```no_run
//! # async fn demo() -> Result<(), mxsec_testbed::scenario::TestbedError> {
//! let testbed = mxsec_testbed::Testbed::start().await?;
//! println!("DNS at {}, trust anchor {}", testbed.dns_addr(), testbed.files().trust_anchor.display());
//! # Ok(()) }
//! ```

mod audit;
mod build;
mod catalogue;
mod delivery;
mod error;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use audit::{ExpectedAudit, EXPECTED_AUDITS};
pub use build::{dane_ee_cert, dane_ee_spki, tlsa_for, Builder, Listener};
pub use catalogue::{REPORTER_DKIM_RECORD, REPORTER_DKIM_SELECTOR, REPORT_PATH};
pub use delivery::{Avoid, Delivery, ExpectedDelivery, EXPECTED_DELIVERIES};
pub use error::TestbedError;

use crate::dns::{Denial, DnsServer, Zone};
use crate::https::HttpsServer;
use crate::pki::TestPki;
use crate::smtp::SmtpServer;
use build::{Allocator, MxServerSpec};

/// One reproducible situation: a domain of the simulated internet.
pub struct Scenario {
    /// The short name, also the first label of the domain (`<key>.test`).
    pub key: &'static str,
    /// The SCENARIOS.md and CONFORMANCE.md IDs it reproduces (`"OK"` for a healthy domain).
    pub ids: &'static [&'static str],
    /// A title for tables.
    pub title: &'static str,
    /// What is wrong, in plain words; empty for a healthy domain.
    pub problem: &'static str,
    /// The socketmap answer a correct policy server gives (POSTFIX.md §4.5), with `{d}`
    /// standing for the domain; `TEMP` means any `TEMP <reason>`.
    pub query: &'static str,
    build: fn(&mut Builder<'_>) -> Result<(), TestbedError>,
}

impl Scenario {
    /// Every scenario, healthy ones first.
    pub fn all() -> &'static [Self] {
        catalogue::ALL
    }

    /// The scenario with this key or domain.
    pub fn find(key_or_domain: &str) -> Option<&'static Self> {
        let key = key_or_domain
            .trim_end_matches('.')
            .trim_end_matches(".test");
        Self::all().iter().find(|s| s.key == key)
    }

    /// The scenario's domain, `<key>.test`.
    pub fn domain(&self) -> String {
        format!("{}.test", self.key)
    }

    /// The expected socketmap answer for this scenario's domain.
    pub fn expected_query(&self) -> ExpectedAnswer {
        if self.query == "TEMP" {
            ExpectedAnswer::AnyTemp
        } else {
            ExpectedAnswer::Exact(self.query.replace("{d}", &self.domain()))
        }
    }
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// What a policy server must answer for a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectedAnswer {
    /// Exactly this payload.
    Exact(String),
    /// `TEMP` with any reason.
    AnyTemp,
}

impl ExpectedAnswer {
    /// Whether `payload` is what was expected.
    pub fn matches(&self, payload: &str) -> bool {
        match self {
            Self::Exact(expected) => payload == expected,
            Self::AnyTemp => payload.starts_with("TEMP ") && payload.len() > 5,
        }
    }
}

impl fmt::Display for ExpectedAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(expected) => write!(f, "{expected:?}"),
            Self::AnyTemp => f.write_str("\"TEMP <reason>\""),
        }
    }
}

/// Where the testbed's published addresses lead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The address and port published in DNS (port 25 or 443).
    pub published: SocketAddr,
    /// The loopback listener that stands in for it.
    pub local: SocketAddr,
}

/// Files that programs outside the process need to use the testbed.
#[derive(Clone, Debug)]
pub struct TestbedFiles {
    /// The root trust anchor as a DS record (`--trust-anchor`).
    pub trust_anchor: PathBuf,
    /// The root trust anchor as a DNSKEY record.
    pub trust_anchor_dnskey: PathBuf,
    /// The testbed CA certificate in PEM (`--ca-file`).
    pub ca_file: PathBuf,
    /// The stand-in operating system root store, a PEM bundle (`--os-store`): the second
    /// root of the PKI only, so that a chain to it is trusted by this store alone (PKIX-01).
    pub os_store: PathBuf,
    /// The address map, one `PUBLISHED LOCAL` pair per line (`--connect-map`).
    pub connect_map: PathBuf,
}

/// A running simulated internet with every scenario of the catalogue.
pub struct Testbed {
    dns: DnsServer,
    https: HttpsServer,
    smtp: Vec<(SocketAddr, SmtpServer)>,
    routes: Vec<Route>,
    pki: TestPki,
    files: TestbedFiles,
    _dir: tempfile::TempDir,
}

impl fmt::Debug for Testbed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Testbed")
            .field("dns", &self.dns.addr())
            .finish_non_exhaustive()
    }
}

/// How a [`Testbed`]'s servers listen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Listen {
    /// Ephemeral loopback ports, reached through the connect map.
    #[default]
    Ephemeral,
    /// The published addresses on the standard ports, the DNS server at this address.
    Published {
        /// Where the DNS server listens (UDP and TCP).
        dns: SocketAddr,
    },
}

/// Configures and starts a [`Testbed`].
///
/// ```no_run
/// # async fn demo() -> Result<(), mxsec_testbed::scenario::TestbedError> {
/// use std::net::{Ipv4Addr, SocketAddr};
///
/// // As `mxsec demo --serve` does, inside a network namespace of its own.
/// let dns = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 53), 53));
/// let testbed = mxsec_testbed::Testbed::builder().published(dns).start().await?;
/// # let _ = testbed;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct TestbedBuilder {
    listen: Listen,
    denial: Option<Denial>,
}

impl TestbedBuilder {
    /// Proves denials in every signed zone, the root and `test.` included, with `denial`
    /// instead of what each scenario chose (NSEC unless it asks for NSEC3), so that every
    /// answer can be checked again under NSEC3 (RFC 5155).
    pub fn denial(mut self, denial: Denial) -> Self {
        self.denial = Some(denial);
        self
    }

    /// Binds every server at the very address the zones publish, on the standard port: each
    /// MX host on port 25 of its IPv4 (`127.0.1.0/24` and up) and IPv6
    /// (`fd6d:7873:6563::/48`) address, every policy host on port 443 of its addresses, and
    /// the DNS server on `dns` (UDP and TCP). Programs outside the process (Postfix, dig,
    /// curl, a browser) then reach the simulated internet with no connect map.
    ///
    /// Ports below 1024 need root (or `CAP_NET_BIND_SERVICE`), and the IPv6 addresses must be
    /// local; both are simplest in a network namespace of its own (docs/demo.md). The default
    /// is ephemeral loopback ports, which is what tests use.
    pub fn published(mut self, dns: SocketAddr) -> Self {
        self.listen = Listen::Published { dns };
        self
    }

    /// Starts every scenario: one DNS server, one HTTPS server for every policy host (by
    /// SNI), one SMTP server per published MX address.
    ///
    /// # Errors
    ///
    /// [`TestbedError`] when a server cannot listen or a certificate cannot be made; a bind
    /// error names the address.
    pub async fn start(self) -> Result<Testbed, TestbedError> {
        let pki = TestPki::generate(SystemTime::now())?;
        let mut alloc = Allocator::default();
        let mut zones = Vec::new();
        let mut policy_hosts = Vec::new();
        let mut mx_servers: Vec<MxServerSpec> = Vec::new();
        for scenario in Scenario::all() {
            let mut b = Builder::new(&pki, scenario.domain(), &mut alloc);
            (scenario.build)(&mut b)?;
            zones.extend(b.zones);
            policy_hosts.extend(b.policy_hosts);
            mx_servers.extend(b.mx_servers);
        }
        if let Some(denial) = self.denial {
            for default in [".", "test"] {
                if !zones.iter().any(|z| z.origin() == default) {
                    zones.push(Zone::new(default));
                }
            }
            zones = zones.into_iter().map(|z| z.denial(denial)).collect();
        }

        let dns_bind = match self.listen {
            Listen::Ephemeral => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            Listen::Published { dns } => dns,
        };
        let dns = DnsServer::builder()
            .ip(dns_bind.ip())
            .port(dns_bind.port())
            .zones(zones)
            .start()
            .await?;

        let mut routes = Vec::new();
        let published_https: Vec<SocketAddr> = policy_hosts
            .iter()
            .flat_map(|(_, ips): &(_, Vec<IpAddr>)| ips.iter().map(|ip| SocketAddr::new(*ip, 443)))
            .collect();
        let hosts = policy_hosts.into_iter().map(|(host, _)| host).collect();
        let https = match self.listen {
            Listen::Ephemeral => {
                let https = HttpsServer::start(
                    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
                    hosts,
                    None,
                )
                .await?;
                routes.extend(published_https.iter().map(|&published| Route {
                    published,
                    local: https.local_addr(),
                }));
                https
            }
            Listen::Published { .. } => {
                let https = HttpsServer::start_on(&published_https, hosts, None).await?;
                routes.extend(published_https.iter().map(|&published| Route {
                    published,
                    local: published,
                }));
                https
            }
        };

        let mut smtp = Vec::new();
        for spec in mx_servers {
            let bind = match (self.listen, spec.published.ip()) {
                (Listen::Published { .. }, _) => spec.published,
                (Listen::Ephemeral, IpAddr::V4(_)) => {
                    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)
                }
                (Listen::Ephemeral, IpAddr::V6(_)) => {
                    SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0)
                }
            };
            let server = SmtpServer::start(bind, spec.behaviour).await?;
            routes.push(Route {
                published: spec.published,
                local: server.local_addr(),
            });
            smtp.push((spec.published, server));
        }

        let dir = tempfile::tempdir().map_err(|source| TestbedError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
        if let Listen::Published { .. } = self.listen {
            // The files are for other programs, which may run as other users (Postfix's
            // delivery agents run as `postfix`); nothing in them is secret.
            readable_by_all(dir.path())?;
        }
        let files = write_files(dir.path(), &dns, &pki, &routes)?;
        Ok(Testbed {
            dns,
            https,
            smtp,
            routes,
            pki,
            files,
            _dir: dir,
        })
    }
}

impl Testbed {
    /// Starts every scenario on loopback, with ephemeral ports: the DNS server on
    /// `127.0.0.1`, one HTTPS server for every policy host (by SNI), one SMTP server per
    /// published MX address. The same as `Testbed::builder().start()`.
    ///
    /// # Errors
    ///
    /// [`TestbedError`] when a server or a certificate cannot be made.
    pub async fn start() -> Result<Self, TestbedError> {
        Self::builder().start().await
    }

    /// A builder, to bind the published addresses instead of ephemeral ports.
    pub fn builder() -> TestbedBuilder {
        TestbedBuilder::default()
    }

    /// The DNS server's address (`--resolver`).
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns.addr()
    }

    /// The DNS server, e.g. to add delay for a benchmark.
    pub fn dns(&self) -> &DnsServer {
        &self.dns
    }

    /// The test PKI (its root is the CA to trust).
    pub fn pki(&self) -> &TestPki {
        &self.pki
    }

    /// The testbed CA certificate in PEM.
    pub fn ca_pem(&self) -> String {
        self.pki.root_pem()
    }

    /// The stand-in operating system root store in PEM (see [`TestbedFiles::os_store`]).
    pub fn os_store_pem(&self) -> String {
        self.pki.os_store_root().pem()
    }

    /// Every published address and the loopback listener behind it.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Files for programs outside the process (trust anchor, CA, address map).
    pub fn files(&self) -> &TestbedFiles {
        &self.files
    }

    /// The SMTP server published at `address` (port 25), e.g. to see what it received.
    pub fn smtp_server(&self, address: IpAddr) -> Option<&SmtpServer> {
        self.smtp
            .iter()
            .find(|(published, _)| published.ip() == address)
            .map(|(_, server)| server)
    }

    /// Every request the policy hosts received, in order (report receivers record the bodies
    /// of `POST`s).
    pub fn https_requests(&self) -> Vec<crate::https::Request> {
        self.https.requests()
    }

    /// Every MX host listener: its published address (port 25) and its server, e.g. to see
    /// which received what.
    pub fn mx_hosts(&self) -> impl Iterator<Item = (SocketAddr, &SmtpServer)> {
        self.smtp
            .iter()
            .map(|(published, server)| (*published, server))
    }
}

#[cfg(unix)]
fn readable_by_all(dir: &Path) -> Result<(), TestbedError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(|source| {
        TestbedError::Io {
            path: dir.to_owned(),
            source,
        }
    })
}

#[cfg(not(unix))]
fn readable_by_all(_dir: &Path) -> Result<(), TestbedError> {
    Ok(())
}

fn write_files(
    dir: &Path,
    dns: &DnsServer,
    pki: &TestPki,
    routes: &[Route],
) -> Result<TestbedFiles, TestbedError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| TestbedError::Io { path, source }
    };
    let anchors = dns.trust_anchor().write_files(dir).map_err(io(dir))?;
    let ca_file = dir.join("testbed-ca.pem");
    std::fs::write(&ca_file, pki.root_pem()).map_err(io(&ca_file))?;
    let os_store = dir.join("os-store.pem");
    std::fs::write(&os_store, pki.os_store_root().pem()).map_err(io(&os_store))?;
    let connect_map = dir.join("connect-map.txt");
    let map: String = routes
        .iter()
        .map(|r| format!("{} {}\n", r.published, r.local))
        .collect();
    std::fs::write(&connect_map, map).map_err(io(&connect_map))?;
    Ok(TestbedFiles {
        trust_anchor: anchors.ds,
        trust_anchor_dnskey: anchors.dnskey,
        ca_file,
        os_store,
        connect_map,
    })
}
