//! The MTA-STS policy host: `https://mta-sts.<domain>/.well-known/mta-sts.txt` for one or many
//! domains from one process (RFC 8461 §3.2, §3.3, §8.2).
//!
//! What senders need from a policy host, each enforced here:
//!
//! - **The policy at the well-known path** (STS-POL-01), `200` with `Content-Type: text/plain`
//!   (STS-POL-02), for `GET` and `HEAD`; every other path is `404`, other methods `405`.
//! - **No redirects** (STS-FETCH-02): the server never answers `3xx`, and listens on HTTPS only.
//! - **No misleading cache headers**: senders must not cache over HTTP (STS-FETCH-02), and a
//!   proxy in front must not serve a stale policy after a change, so responses carry
//!   `Cache-Control: no-cache` and no `Expires`, `ETag` or `Last-Modified`.
//! - **A certificate for `mta-sts.<domain>`** (STS-FETCH-01), chosen by SNI (STS-FETCH-05):
//!   each [`Site`] has its own policy, certificate and key, so a provider can host the policies
//!   of its customers (STS-OPS-02). Without SNI, the only site is used if there is one;
//!   otherwise the handshake fails, since no certificate could be right.
//! - **Certificate renewal without restart**: certificate and key files are watched
//!   ([`ServeOptions::watch_interval`]) and a changed pair is loaded once it is consistent
//!   (an ACME client may write the two files one after the other); connections already open
//!   keep their session.
//! - **Policy reload** on request ([`PolicyServer::reload`], which the binary calls on
//!   `SIGHUP`): each policy is parsed with the same parser senders use, and an invalid file
//!   keeps the previous policy in service.
//! - **Bounded**: a TLS handshake deadline, a request-head deadline and size limit, and a cap
//!   on concurrent connections.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::{Extension, Router};
use bytes::Bytes;
use mxsec_proto::mta_sts::policy::{
    policy_host, Policy, PolicyError, PolicyWarning, MAX_POLICY_SIZE, WELL_KNOWN_PATH,
};
use mxsec_proto::name::{DomainName, NameError};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::http::{self, Sni, Transport};

/// The largest certificate or key file read, in bytes.
pub const MAX_PEM_FILE: u64 = 1024 * 1024;

/// The most octets of a request buffered at once: a sender's `GET` is a few hundred.
const MAX_REQUEST_BUFFER: usize = 16 * 1024;

/// One domain whose policy is served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The policy domain; the host served is `mta-sts.<domain>` (STS-POL-01).
    pub domain: DomainName,
    /// The policy file.
    pub policy: PathBuf,
    /// The certificate chain for `mta-sts.<domain>`, PEM, leaf first (`fullchain.pem`).
    pub cert: PathBuf,
    /// Its private key, PEM (`privkey.pem`).
    pub key: PathBuf,
}

/// Limits and intervals of the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeOptions {
    /// How often certificate and key files are checked for changes.
    pub watch_interval: Duration,
    /// The deadline for a TLS handshake.
    pub handshake_timeout: Duration,
    /// The deadline for a request head (and for the next one on a kept-alive connection).
    pub header_timeout: Duration,
    /// The most connections served at once.
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            watch_interval: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// Why a site could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// `mta-sts.<domain>` is not a valid name.
    #[error("{domain}: {source}")]
    Name {
        /// The domain.
        domain: DomainName,
        /// Why the policy host name is invalid.
        source: NameError,
    },
    /// Two sites for the same domain.
    #[error("{0} is configured twice")]
    Duplicate(DomainName),
    /// No site at all.
    #[error("no site to serve")]
    NoSites,
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is larger than allowed.
    #[error("{}: {size} bytes is larger than the limit of {limit}", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The policy is invalid (the same check senders make; STS-POL-03…07).
    #[error("{}: invalid policy: {source}", path.display())]
    Policy {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line.
        source: PolicyError,
    },
    /// No certificate, or PEM that does not parse.
    #[error("{}: no certificate could be read: {reason}", path.display())]
    Certificate {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No private key, or one the TLS library does not support.
    #[error("{}: no usable private key: {reason}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The key does not belong to the certificate (e.g. an ACME client is half-way through
    /// writing a renewal).
    #[error("{} does not belong to the certificate in {}", key.display(), cert.display())]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
}

/// What a reload did for one site.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReloadOutcome {
    /// The policy file is unchanged.
    Unchanged {
        /// The domain.
        domain: DomainName,
    },
    /// A new policy is served.
    Reloaded {
        /// The domain.
        domain: DomainName,
        /// Warnings about the new policy (it is valid).
        warnings: Vec<PolicyWarning>,
    },
    /// The file could not be loaded; the previous policy stays in service.
    Failed {
        /// The domain.
        domain: DomainName,
        /// Why.
        error: LoadError,
    },
}

/// The policy host.
#[derive(Clone)]
pub struct PolicyServer {
    state: Arc<State>,
    options: ServeOptions,
}

struct State {
    sites: RwLock<HashMap<DomainName, Served>>,
}

/// What is being served for one policy host.
struct Served {
    site: Site,
    policy: Bytes,
    key: Arc<CertifiedKey>,
    key_stamp: (Stamp, Stamp),
}

/// When a file last changed, to notice renewals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl PolicyServer {
    /// Loads every site: policy, certificate and key. Fails, loudly, on the first problem, so
    /// that a server never starts with a broken site.
    ///
    /// # Errors
    ///
    /// A [`LoadError`] naming the file and what is wrong with it.
    pub fn load(
        sites: Vec<Site>,
        options: ServeOptions,
    ) -> Result<(Self, Vec<(DomainName, PolicyWarning)>), LoadError> {
        if sites.is_empty() {
            return Err(LoadError::NoSites);
        }
        let mut map = HashMap::new();
        let mut warnings = Vec::new();
        for site in sites {
            let host = policy_host(&site.domain).map_err(|source| LoadError::Name {
                domain: site.domain.clone(),
                source,
            })?;
            if map.contains_key(&host) {
                return Err(LoadError::Duplicate(site.domain));
            }
            let (policy, policy_warnings) = load_policy(&site.policy)?;
            warnings.extend(
                policy_warnings
                    .into_iter()
                    .map(|w| (site.domain.clone(), w)),
            );
            let key_stamp = (stamp(&site.cert), stamp(&site.key));
            let key = load_key(&site.cert, &site.key)?;
            map.insert(
                host,
                Served {
                    site,
                    policy,
                    key,
                    key_stamp,
                },
            );
        }
        let server = Self {
            state: Arc::new(State {
                sites: RwLock::new(map),
            }),
            options,
        };
        Ok((server, warnings))
    }

    /// The policy hosts served, `mta-sts.<domain>`, sorted.
    pub fn hosts(&self) -> Vec<DomainName> {
        let mut hosts: Vec<DomainName> = read(&self.state.sites).keys().cloned().collect();
        hosts.sort();
        hosts
    }

    /// Re-reads every policy file; an invalid one keeps the previous policy in service. Also
    /// checks the certificates at once, without waiting for the next watch.
    pub fn reload(&self) -> Vec<ReloadOutcome> {
        let sites: Vec<(DomainName, Site, Bytes)> = read(&self.state.sites)
            .iter()
            .map(|(host, s)| (host.clone(), s.site.clone(), s.policy.clone()))
            .collect();
        let mut outcomes = Vec::new();
        for (host, site, old) in sites {
            let domain = site.domain.clone();
            let outcome = match load_policy(&site.policy) {
                Ok((policy, _)) if policy == old => ReloadOutcome::Unchanged { domain },
                Ok((policy, warnings)) => {
                    if let Some(served) = write(&self.state.sites).get_mut(&host) {
                        served.policy = policy;
                    }
                    tracing::info!(%domain, "policy reloaded");
                    ReloadOutcome::Reloaded { domain, warnings }
                }
                Err(error) => {
                    tracing::warn!(%domain, %error, "policy not reloaded; the previous one stays in service");
                    ReloadOutcome::Failed { domain, error }
                }
            };
            outcomes.push(outcome);
        }
        self.check_certificates();
        outcomes
    }

    /// Loads the certificate and key of every site whose files changed since they were last
    /// loaded; returns the domains whose certificate was replaced. A pair that does not load
    /// (half-written, key not matching) is retried at the next check.
    pub fn check_certificates(&self) -> Vec<DomainName> {
        let changed: Vec<(DomainName, Site, (Stamp, Stamp))> = read(&self.state.sites)
            .iter()
            .filter_map(|(host, s)| {
                let now = (stamp(&s.site.cert), stamp(&s.site.key));
                (now != s.key_stamp).then(|| (host.clone(), s.site.clone(), now))
            })
            .collect();
        let mut replaced = Vec::new();
        for (host, site, now) in changed {
            match load_key(&site.cert, &site.key) {
                Ok(key) => {
                    if let Some(served) = write(&self.state.sites).get_mut(&host) {
                        served.key = key;
                        served.key_stamp = now;
                    }
                    tracing::info!(domain = %site.domain, "certificate reloaded");
                    replaced.push(site.domain);
                }
                Err(error) => {
                    tracing::warn!(domain = %site.domain, %error, "new certificate not loaded yet; the previous one stays in service");
                }
            }
        }
        replaced
    }

    /// Serves HTTPS on `listener` until `shutdown` completes, watching certificate files in
    /// the background. Connections open at shutdown are left to finish on the runtime.
    ///
    /// # Errors
    ///
    /// A rustls configuration error (it does not happen with the ring provider's defaults).
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), rustls::Error> {
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(Resolver(Arc::clone(&self.state))));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let transport = Transport::Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            handshake_timeout: self.options.handshake_timeout,
        };
        let limits = http::Limits {
            max_connections: self.options.max_connections,
            header_timeout: self.options.header_timeout,
            max_buf_size: MAX_REQUEST_BUFFER,
        };
        let state = Arc::clone(&self.state);
        let router = Router::new().fallback(
            move |Extension(Sni(sni)): Extension<Sni>, request: Request| {
                let sni = sni.and_then(|n| DomainName::parse(&n).ok());
                let response = respond(&state, sni.as_ref(), &request);
                async move { response }
            },
        );
        let watcher = tokio::spawn({
            let server = self.clone();
            async move {
                let mut ticks = tokio::time::interval(server.options.watch_interval);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    server.check_certificates();
                }
            }
        });
        // The connection limit's semaphore is never closed, so serving ends only at shutdown.
        let _ = http::serve(listener, router, transport, limits, shutdown).await;
        watcher.abort();
        Ok(())
    }
}

impl fmt::Debug for PolicyServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyServer")
            .field("hosts", &self.hosts())
            .field("options", &self.options)
            .finish()
    }
}

/// Picks the certificate by SNI.
struct Resolver(Arc<State>);

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Resolver")
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let sites = read(&self.0.sites);
        match hello.server_name() {
            Some(name) => {
                let host = DomainName::parse(name).ok()?;
                sites.get(&host).map(|s| Arc::clone(&s.key))
            }
            // Without SNI only a single-site server knows which certificate is right.
            None if sites.len() == 1 => sites.values().next().map(|s| Arc::clone(&s.key)),
            None => None,
        }
    }
}

fn respond(state: &State, sni: Option<&DomainName>, request: &Request) -> Response {
    let host_header = request
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| {
            h.rsplit_once(':')
                .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
                .map_or(h, |(name, _)| name)
        })
        .and_then(|h| DomainName::parse(h).ok());
    let host = match (sni, &host_header) {
        (Some(sni), Some(host)) if sni != host => {
            return plain(
                StatusCode::MISDIRECTED_REQUEST,
                "the Host header does not match the TLS server name\n",
            );
        }
        (Some(sni), _) => sni.clone(),
        (None, Some(host)) => host.clone(),
        (None, None) => return plain(StatusCode::NOT_FOUND, "not found\n"),
    };
    if request.uri().path() != WELL_KNOWN_PATH {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    }
    let Some(policy) = read(&state.sites).get(&host).map(|s| s.policy.clone()) else {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    match *request.method() {
        Method::GET => plain(StatusCode::OK, policy),
        Method::HEAD => {
            let len = policy.len();
            let mut response = plain(StatusCode::OK, Bytes::new());
            response
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(len));
            response
        }
        _ => {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        }
    }
}

fn plain(status: StatusCode, body: impl Into<Bytes>) -> Response {
    let mut response = Response::new(Body::from(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn load_policy(path: &Path) -> Result<(Bytes, Vec<PolicyWarning>), LoadError> {
    let limit = u64::try_from(MAX_POLICY_SIZE).unwrap_or(u64::MAX);
    let body = read_bounded(path, limit)?;
    let parsed = Policy::parse(&body).map_err(|source| LoadError::Policy {
        path: path.to_owned(),
        source,
    })?;
    Ok((Bytes::from(body), parsed.warnings))
}

fn load_key(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, LoadError> {
    let cert_pem = read_bounded(cert, MAX_PEM_FILE)?;
    let key_pem = read_bounded(key, MAX_PEM_FILE)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| LoadError::Certificate {
            path: cert.to_owned(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(LoadError::Certificate {
            path: cert.to_owned(),
            reason: "the file has no CERTIFICATE block".to_owned(),
        });
    }
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| LoadError::Key {
        path: key.to_owned(),
        reason: e.to_string(),
    })?;
    let signing = rustls::crypto::ring::default_provider()
        .key_provider
        .load_private_key(private)
        .map_err(|e| LoadError::Key {
            path: key.to_owned(),
            reason: e.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(Arc::new(certified))
        }
        Err(_) => Err(LoadError::KeyMismatch {
            cert: cert.to_owned(),
            key: key.to_owned(),
        }),
    }
}

fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, LoadError> {
    let io = |source| LoadError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut data = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(io)?;
    let size = u64::try_from(data.len()).unwrap_or(u64::MAX);
    if size > limit {
        return Err(LoadError::TooLarge {
            path: path.to_owned(),
            size,
            limit,
        });
    }
    Ok(data)
}

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok();
    Stamp {
        modified: meta.as_ref().and_then(|m| m.modified().ok()),
        len: meta.map_or(0, |m| m.len()),
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // A panic while holding the lock cannot leave the map half-updated (every write is one
    // assignment), so a poisoned lock is still consistent.
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
