//! The servers of a [`Population`]: one DNS server with the population's zones computed on
//! demand, an SMTP server per provider MX host, and one HTTPS server for every domain's policy
//! host, its certificate issued when a client first asks for the name. Every DNS answer and
//! every TCP round trip (through a delaying relay) costs a chosen time, as over the internet.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use mxsec_proto::dane::tlsa::{CertUsage, MatchingType, Selector, TlsaRecord};

use super::providers::{self, Dane, MxTls, PROVIDERS};
use super::zone::{policy_address, ClassZone, POLICY_ADDRESSES};
use super::{DnsClass, Population, Sts};
use crate::dns::{DnsServer, DnsServerError, Zone};
use crate::https::{HostSource, HttpsError, HttpsServer, PolicyHost, Recording, Reply, ServedHost};
use crate::pki::{
    IssuedBy, KeyAlgorithm, Leaf, LeafKey, LeafSpec, PkiError, ServedChain, TestPki, Validity,
};
use crate::relay;
use crate::scenario::Route;
use crate::smtp::{Credentials, MxBehaviour, SmtpServer, SmtpServerError, StartTls, TlsIdentity};

/// How many policy hosts the HTTPS server keeps ready; it starts again empty when full.
const POLICY_HOST_CACHE: usize = 1024;

/// Why the population's servers could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PopulationError {
    /// The DNS server.
    #[error(transparent)]
    Dns(#[from] DnsServerError),
    /// The HTTPS server.
    #[error(transparent)]
    Https(#[from] HttpsError),
    /// An SMTP server.
    #[error(transparent)]
    Smtp(#[from] SmtpServerError),
    /// A certificate.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// A relay, or a file for clients.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// Files that point a client at the population.
#[derive(Clone, Debug)]
pub struct PopulationFiles {
    /// The root trust anchor as a DS record (`--trust-anchor`).
    pub trust_anchor: PathBuf,
    /// The testbed CA certificate in PEM (`--ca-file`).
    pub ca_file: PathBuf,
    /// The address map, one `PUBLISHED LOCAL` pair per line (`--connect-map`).
    pub connect_map: PathBuf,
}

/// What the servers saw so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PopulationStats {
    /// TCP connections to MX hosts: the STARTTLS probes.
    pub smtp_connections: u64,
    /// TCP connections to policy hosts: the policy fetches.
    pub https_connections: u64,
    /// DNS queries, over UDP and TCP.
    pub dns_queries: u64,
}

/// The running servers of a population. They stop when it is dropped.
#[derive(Debug)]
pub struct PopulationServer {
    dns: DnsServer,
    _https: HttpsServer,
    _smtp: Vec<SmtpServer>,
    files: PopulationFiles,
    routes: Vec<Route>,
    smtp_connections: Arc<AtomicU64>,
    https_connections: Arc<AtomicU64>,
    _dir: tempfile::TempDir,
}

impl PopulationServer {
    /// Starts the servers of `population` on the current tokio runtime, each DNS answer and
    /// each TCP round trip delayed by `round_trip`.
    ///
    /// # Errors
    ///
    /// [`PopulationError`] when a server cannot start or a file cannot be written.
    pub async fn start(
        population: Population,
        round_trip: Duration,
    ) -> Result<Self, PopulationError> {
        let pki = Arc::new(TestPki::generate(SystemTime::now())?);
        let smtp_connections = Arc::new(AtomicU64::new(0));
        let https_connections = Arc::new(AtomicU64::new(0));
        let mut routes: Vec<Route> = Vec::new();
        let mut zones = Vec::with_capacity(PROVIDERS.len());
        let mut smtp = Vec::new();
        for (index, provider) in PROVIDERS.iter().enumerate() {
            let origin = providers::zone(index);
            let mut zone = Zone::new(&origin);
            if provider.dane == Dane::None && index % 2 == 1 {
                zone = zone.insecure();
            }
            for host in 0..provider.hosts {
                let name = providers::host_name(index, host);
                let leaf = mx_leaf(&pki, &origin, &name, provider.tls)?;
                let (v4, v6) = providers::addresses(index, host);
                zone = zone.a(&name, v4);
                if let Some(v6) = v6 {
                    zone = zone.aaaa(&name, v6);
                }
                if let Some(tlsa) = tlsa(provider.dane, host, &leaf)? {
                    zone = zone.tlsa(&format!("_25._tcp.{name}"), &tlsa);
                }
                let starttls = match provider.tls {
                    MxTls::NoStarttls => StartTls::NotOffered,
                    _ => StartTls::Tls(TlsIdentity::new(Credentials::new(
                        leaf.served_chain(ServedChain::LeafAndIntermediate),
                        leaf.private_key_der(),
                    ))),
                };
                let server = SmtpServer::start(
                    SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                    MxBehaviour::new(&name, starttls),
                )
                .await?;
                for published in [Some(IpAddr::V4(v4)), v6.map(IpAddr::V6)]
                    .into_iter()
                    .flatten()
                {
                    let local = relay::delayed_counting(
                        server.local_addr(),
                        round_trip,
                        Arc::clone(&smtp_connections),
                    )
                    .await
                    .map_err(io("cannot start an SMTP relay"))?;
                    routes.push(Route {
                        published: SocketAddr::new(published, 25),
                        local,
                    });
                }
                smtp.push(server);
            }
            zones.push(zone);
        }

        let mut dns = DnsServer::builder()
            .ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
            .zones(zones)
            .answer_delay(round_trip);
        for class in DnsClass::ALL {
            dns = dns.lazy_zone(Arc::new(ClassZone { population, class }));
        }
        let dns = dns.start().await?;

        let source = PolicyHosts {
            population,
            pki: Arc::clone(&pki),
            key: LeafKey::generate(KeyAlgorithm::EcdsaP256)?,
            ready: Mutex::new(HashMap::new()),
        };
        let https = HttpsServer::start_with(
            &[SocketAddr::from((Ipv4Addr::LOCALHOST, 0))],
            Arc::new(source),
            Recording::Off,
        )
        .await?;
        for number in 0..u64::from(POLICY_ADDRESSES) {
            let local = relay::delayed_counting(
                https.local_addr(),
                round_trip,
                Arc::clone(&https_connections),
            )
            .await
            .map_err(io("cannot start an HTTPS relay"))?;
            routes.push(Route {
                published: SocketAddr::new(policy_address(number).into(), 443),
                local,
            });
        }

        let dir = tempfile::tempdir().map_err(io("cannot make a directory for the files"))?;
        let anchors = dns
            .trust_anchor()
            .write_files(dir.path())
            .map_err(io("cannot write the trust anchor"))?;
        let ca_file = dir.path().join("testbed-ca.pem");
        std::fs::write(&ca_file, pki.root_pem()).map_err(io("cannot write the CA file"))?;
        let connect_map = dir.path().join("connect-map.txt");
        let map: String = routes
            .iter()
            .map(|route| format!("{} {}\n", route.published, route.local))
            .collect();
        std::fs::write(&connect_map, map).map_err(io("cannot write the connect map"))?;
        Ok(Self {
            dns,
            _https: https,
            _smtp: smtp,
            files: PopulationFiles {
                trust_anchor: anchors.ds,
                ca_file,
                connect_map,
            },
            routes,
            smtp_connections,
            https_connections,
            _dir: dir,
        })
    }

    /// The DNS server's address (UDP and TCP).
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns.addr()
    }

    /// The files for clients.
    pub fn files(&self) -> &PopulationFiles {
        &self.files
    }

    /// Every published address and the loopback relay behind it.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// What the servers saw so far.
    pub fn stats(&self) -> PopulationStats {
        PopulationStats {
            smtp_connections: self.smtp_connections.load(Ordering::Relaxed),
            https_connections: self.https_connections.load(Ordering::Relaxed),
            dns_queries: self.dns.udp_queries() + self.dns.tcp_queries(),
        }
    }
}

fn io(context: &str) -> impl Fn(std::io::Error) -> PopulationError + '_ {
    move |source| PopulationError::Io {
        context: context.to_owned(),
        source,
    }
}

/// The certificate of an MX host that does TLS as `tls` says.
fn mx_leaf(pki: &TestPki, zone: &str, name: &str, tls: MxTls) -> Result<Leaf, PkiError> {
    let spec = match tls {
        MxTls::Valid | MxTls::NoStarttls => LeafSpec::new([name]),
        MxTls::Expired => LeafSpec::new([name]).validity(Validity::Expired),
        MxTls::SelfSigned => LeafSpec::new([name]).issued_by(IssuedBy::SelfSigned),
        MxTls::WrongName => LeafSpec::new([format!("www.{zone}")]),
    };
    pki.issue(&spec)
}

/// The `3 1 1` record (RFC 7672 §3.1.1) a provider publishes for host `host`, if any.
fn tlsa(dane: Dane, host: u8, leaf: &Leaf) -> Result<Option<TlsaRecord>, PkiError> {
    let spki = match dane {
        Dane::None => return Ok(None),
        Dane::Partial if host > 0 => return Ok(None),
        Dane::Matching | Dane::Partial => leaf.key().spki_der(),
        Dane::Mismatching => LeafKey::generate(KeyAlgorithm::EcdsaP256)?.spki_der(),
    };
    Ok(Some(TlsaRecord {
        usage: CertUsage::DaneEe,
        selector: Selector::Spki,
        matching: MatchingType::Sha256,
        data: ring::digest::digest(&ring::digest::SHA256, &spki)
            .as_ref()
            .to_vec(),
    }))
}

/// The policy hosts `mta-sts.<domain>` of the population, made when a client asks.
#[derive(Debug)]
struct PolicyHosts {
    population: Population,
    pki: Arc<TestPki>,
    /// One key for every policy host's certificate, as at a policy hosting service.
    key: LeafKey,
    ready: Mutex<HashMap<String, ServedHost>>,
}

impl PolicyHosts {
    fn make(&self, name: &str) -> Option<ServedHost> {
        let domain = name.strip_prefix("mta-sts.")?;
        let (class, number) = self.population.parse(domain)?;
        let profile = self.population.profile(class, number);
        let sts = profile.sts?;
        let provider = PROVIDERS.get(profile.provider)?;
        let mode = match sts {
            Sts::Testing => "testing",
            Sts::NoneMode => "none",
            _ => "enforce",
        };
        let mut body = format!("version: STSv1\r\nmode: {mode}\r\n");
        match sts {
            Sts::MxMismatch => body.push_str("mx: mx.previous-provider.test\r\n"),
            _ => {
                for host in 0..provider.hosts {
                    body.push_str(&format!(
                        "mx: {}\r\n",
                        providers::host_name(profile.provider, host)
                    ));
                }
            }
        }
        body.push_str("max_age: 604800\r\n");
        let reply = match sts {
            Sts::PolicyNotFound => Reply::not_found(),
            _ => Reply::policy(body),
        };
        let certified = match sts {
            Sts::WrongCertificate => format!("www.{domain}"),
            _ => name.to_owned(),
        };
        let leaf = self
            .pki
            .issue(&LeafSpec::new([certified]).key(self.key.clone()))
            .ok()?;
        let host = PolicyHost::new(name, &leaf, ServedChain::LeafAndIntermediate, reply);
        ServedHost::new(host).ok()
    }
}

impl HostSource for PolicyHosts {
    fn host(&self, sni: Option<&str>) -> Option<ServedHost> {
        let name = sni?.to_ascii_lowercase();
        let cached = self
            .ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&name)
            .cloned();
        if cached.is_some() {
            return cached;
        }
        let made = self.make(&name)?;
        let mut ready = self.ready.lock().unwrap_or_else(PoisonError::into_inner);
        if ready.len() >= POLICY_HOST_CACHE {
            ready.clear();
        }
        ready.insert(name, made.clone());
        Some(made)
    }
}
