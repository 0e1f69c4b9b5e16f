//! The MTA-STS policy fetch, exactly as a sending MTA must do it (RFC 8461 §3.3, §7.1).
//!
//! [`PolicyFetcher::fetch`] asks one address of the policy host for
//! `https://mta-sts.<domain>/.well-known/mta-sts.txt` (STS-POL-01) and returns a
//! [`FetchOutcome`]: the policy, or a [`FetchFailure`] that says exactly what went wrong and
//! maps to its RFC 8460 result type ([`FetchFailure::result_type`]).
//!
//! The rules, each enforced here:
//!
//! - **WebPKI** (STS-FETCH-01): the certificate must chain to a root of the
//!   [`TrustConfig`], be within its validity period, and carry the policy host as a DNS-ID
//!   (subject alternative name; the common name is not used; `*` only as the whole left-most
//!   label). Validation is rustls's WebPKI verifier over the ring provider.
//! - **SNI** is the policy host name (STS-FETCH-05, RFC 8461 §7.1).
//! - **No redirects** (STS-FETCH-02): a 3xx is a failure, reported with its `Location`.
//! - **HTTP 200 only** (STS-FETCH-02); **no HTTP caching**: every fetch is a fresh,
//!   unconditional `GET` on a new connection, and nothing is stored.
//! - **Media type `text/plain`** (STS-POL-02): parameters (`charset` included) are ignored; any
//!   other type fails with [`FetchFailure::ContentType`], which keeps the body so the checker
//!   can show what was served (SCENARIOS.md M-03).
//! - **Bounded** (STS-FETCH-04): the body is read chunk by chunk and the fetch stops past
//!   64 KiB ([`MAX_POLICY_SIZE`]); the whole fetch, connection included, has a deadline
//!   (default 60 s, [`DEFAULT_TIMEOUT`]); the response head is capped at 16 KiB.
//!
//! The fetcher connects to the addresses its caller gives, on port 443: the resolver looks
//! them up through mxsec's own DNS, and the checker fetches over each address family apart
//! (SCENARIOS.md M-12). Connections go through a [`Dialer`], whose testbed address map changes
//! where bytes go but none of the checks above.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST, LOCATION, USER_AGENT};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use mxsec_proto::mta_sts::policy::{
    policy_host, Policy, PolicyError, PolicyWarning, MAX_POLICY_SIZE, WELL_KNOWN_PATH,
};
use mxsec_proto::name::{DomainName, NameError};
use mxsec_proto::tlsrpt::result_type::ResultType;
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig};
use tokio::task::JoinHandle;
use tokio::time::timeout_at;
use tokio_rustls::TlsConnector;

use crate::dial::{DialError, Dialer};
use crate::trust::TrustConfig;
use recording::{ChainSlot, RecordingVerifier};

/// The port of the policy host (RFC 8461 §3.3: HTTPS).
pub const HTTPS_PORT: u16 = 443;

/// The default deadline for one fetch, connection included (RFC 8461 §3.3 suggests one
/// minute; STS-FETCH-04).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest response head read, in bytes.
const MAX_RESPONSE_HEAD: usize = 16 * 1024;

/// The User-Agent sent by default.
pub const DEFAULT_USER_AGENT: &str = concat!("mxsec/", env!("CARGO_PKG_VERSION"));

/// An error while building a [`PolicyFetcher`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetcherError {
    /// The TLS client configuration could not be built.
    #[error("TLS client configuration failed: {0}")]
    Tls(#[from] rustls::Error),
    /// The WebPKI verifier of the roots could not be built.
    #[error("WebPKI verifier configuration failed: {0}")]
    Verifier(#[from] rustls::client::VerifierBuilderError),
    /// The User-Agent is not a valid HTTP header value.
    #[error("User-Agent {0:?} is not a valid HTTP header value (printable ASCII only)")]
    UserAgent(String),
}

/// Fetches MTA-STS policies.
///
/// Cheap to clone; one fetcher serves any number of concurrent fetches.
#[derive(Clone)]
pub struct PolicyFetcher {
    /// The client configuration; each fetch gives a copy its own [`RecordingVerifier`].
    config: Arc<ClientConfig>,
    /// The WebPKI verifier of the roots; `None` when there is no root at all.
    verifier: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    dialer: Dialer,
    timeout: Duration,
    user_agent: HeaderValue,
}

impl PolicyFetcher {
    /// A fetcher that trusts `trust` and connects through `dialer`, with the default timeout
    /// and User-Agent.
    ///
    /// # Errors
    ///
    /// [`FetcherError::Tls`] or [`FetcherError::Verifier`] if rustls rejects the
    /// configuration.
    pub fn new(trust: &TrustConfig, dialer: Dialer) -> Result<Self, FetcherError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = trust.root_cert_store();
        // rustls builds no WebPKI verifier without a root: then nothing is trusted.
        let verifier = if roots.is_empty() {
            None
        } else {
            Some(
                WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots.clone()),
                    provider.clone(),
                )
                .build()?,
            )
        };
        let mut config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        // Every fetch verifies the certificate afresh (and records its chain): no resumption.
        config.resumption = Resumption::disabled();
        Ok(Self {
            config: Arc::new(config),
            verifier,
            provider,
            dialer,
            timeout: DEFAULT_TIMEOUT,
            user_agent: HeaderValue::from_static(DEFAULT_USER_AGENT),
        })
    }

    /// Sets the deadline of one fetch, connection included (STS-FETCH-04).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the User-Agent (the checker also fetches as a browser; SCENARIOS.md M-04).
    ///
    /// # Errors
    ///
    /// [`FetcherError::UserAgent`] if the value is not printable ASCII.
    pub fn user_agent(mut self, user_agent: &str) -> Result<Self, FetcherError> {
        self.user_agent = HeaderValue::from_str(user_agent)
            .map_err(|_| FetcherError::UserAgent(user_agent.to_owned()))?;
        Ok(self)
    }

    /// Fetches the policy of `domain` from the policy host at `address`, port 443.
    ///
    /// # Errors
    ///
    /// [`NameError`] if `mta-sts.<domain>` is not a valid name. Every network or policy
    /// problem is a [`FetchFailure`] inside the outcome.
    pub async fn fetch(
        &self,
        domain: &DomainName,
        address: IpAddr,
    ) -> Result<FetchOutcome, NameError> {
        let host = policy_host(domain)?;
        let started = Instant::now();
        let deadline = tokio::time::Instant::from_std(started + self.timeout);
        let (tls, slot) = self.connector();
        let result = self.fetch_from(&host, address, deadline, &tls).await;
        Ok(FetchOutcome {
            host,
            address,
            elapsed: started.elapsed(),
            chain: slot.take(),
            result,
        })
    }

    /// Fetches the policy of `domain`, trying `addresses` in order until one accepts a
    /// connection, as a sending MTA does. All attempts share one deadline.
    ///
    /// Returns the outcome of the last address tried, or `None` if `addresses` is empty.
    ///
    /// # Errors
    ///
    /// As [`PolicyFetcher::fetch`].
    pub async fn fetch_any(
        &self,
        domain: &DomainName,
        addresses: &[IpAddr],
    ) -> Result<Option<FetchOutcome>, NameError> {
        let host = policy_host(domain)?;
        let started = Instant::now();
        let deadline = tokio::time::Instant::from_std(started + self.timeout);
        let mut last = None;
        for &address in addresses {
            let (tls, slot) = self.connector();
            let result = self.fetch_from(&host, address, deadline, &tls).await;
            let retry = matches!(result, Err(FetchFailure::Connect(_)));
            last = Some(FetchOutcome {
                host: host.clone(),
                address,
                elapsed: started.elapsed(),
                chain: slot.take(),
                result,
            });
            if !retry {
                break;
            }
            tracing::debug!(%host, %address, "policy host unreachable, trying the next address");
        }
        Ok(last)
    }

    /// A connector for one fetch, whose verifier records the chain into the slot returned.
    fn connector(&self) -> (TlsConnector, ChainSlot) {
        let slot = ChainSlot::default();
        let mut config = ClientConfig::clone(&self.config);
        config
            .dangerous()
            .set_certificate_verifier(Arc::new(RecordingVerifier::new(
                self.verifier.clone(),
                self.provider.clone(),
                slot.clone(),
            )));
        (TlsConnector::from(Arc::new(config)), slot)
    }

    async fn fetch_from(
        &self,
        host: &DomainName,
        address: IpAddr,
        deadline: tokio::time::Instant,
        tls: &TlsConnector,
    ) -> Result<FetchedPolicy, FetchFailure> {
        let timeout = |stage| FetchFailure::Timeout {
            stage,
            timeout: self.timeout,
        };
        let server_name = ServerName::try_from(host.as_str().to_owned())
            .map_err(|_| FetchFailure::InvalidServerName)?;

        let tcp = timeout_at(
            deadline,
            self.dialer.connect(SocketAddr::new(address, HTTPS_PORT)),
        )
        .await
        .map_err(|_| timeout(Stage::Connect))?
        .map_err(FetchFailure::Connect)?;

        let tls = timeout_at(deadline, tls.connect(server_name, tcp))
            .await
            .map_err(|_| timeout(Stage::TlsHandshake))?
            .map_err(classify_tls_error)?;

        let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
            .max_buf_size(MAX_RESPONSE_HEAD)
            .handshake::<_, Empty<Bytes>>(TokioIo::new(tls))
            .await
            .map_err(|source| FetchFailure::Http { source })?;
        // The connection task ends with this fetch, whichever way it ends.
        let _connection = AbortOnDrop(tokio::spawn(async move {
            let _ = connection.await;
        }));

        let request = Request::get(WELL_KNOWN_PATH)
            .header(HOST, host.as_str())
            .header(USER_AGENT, self.user_agent.clone())
            .body(Empty::new())
            .map_err(|_| FetchFailure::InvalidServerName)?;
        let response = timeout_at(deadline, sender.send_request(request))
            .await
            .map_err(|_| timeout(Stage::ResponseHead))?
            .map_err(|source| FetchFailure::Http { source })?;

        let status = response.status();
        if status.is_redirection() {
            return Err(FetchFailure::Redirect {
                status: status.as_u16(),
                location: header_text(&response, LOCATION),
            });
        }
        if status != StatusCode::OK {
            return Err(FetchFailure::Status {
                status: status.as_u16(),
            });
        }
        let content_type = header_text(&response, CONTENT_TYPE);
        let body = timeout_at(deadline, read_body(response))
            .await
            .map_err(|_| timeout(Stage::Body))??;
        if !content_type.as_deref().is_some_and(is_text_plain) {
            return Err(FetchFailure::ContentType { content_type, body });
        }
        match Policy::parse(&body) {
            Ok(parsed) => Ok(FetchedPolicy {
                policy: parsed.value,
                warnings: parsed.warnings,
                content_type: content_type.unwrap_or_default(),
                body,
            }),
            Err(error) => Err(FetchFailure::Invalid { error, body }),
        }
    }
}

impl fmt::Debug for PolicyFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyFetcher")
            .field("dialer", &self.dialer)
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

/// The result of fetching a policy from one address.
#[derive(Debug)]
#[non_exhaustive]
pub struct FetchOutcome {
    /// The policy host, `mta-sts.<domain>`.
    pub host: DomainName,
    /// The address fetched from (as published, before any testbed address map).
    pub address: IpAddr,
    /// How long the fetch took, connection included.
    pub elapsed: Duration,
    /// The certificates the policy host presented, leaf first, whether or not they were
    /// trusted; empty when the handshake did not get that far.
    pub chain: Vec<CertificateDer<'static>>,
    /// The policy, or why there is none.
    pub result: Result<FetchedPolicy, FetchFailure>,
}

/// A policy fetched and parsed.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FetchedPolicy {
    /// The parsed policy.
    pub policy: Policy,
    /// Deviations that leave the policy valid (the checker shows them).
    pub warnings: Vec<PolicyWarning>,
    /// The `Content-Type` header as served (`text/plain` with any parameters).
    pub content_type: String,
    /// The body, at most [`MAX_POLICY_SIZE`] bytes: what a cache stores.
    pub body: Vec<u8>,
}

/// The step of a fetch at which the deadline passed.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum Stage {
    /// Opening the TCP connection.
    Connect,
    /// The TLS handshake.
    TlsHandshake,
    /// Waiting for the response status and headers.
    ResponseHead,
    /// Reading the body.
    Body,
}

/// Why a fetch produced no policy.
///
/// [`FetchFailure::result_type`] maps each failure to its RFC 8460 result type, and
/// [`FetchFailure::conformance_id`] to the requirement it violates.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchFailure {
    /// The TCP connection failed.
    #[error("{0}")]
    Connect(DialError),
    /// The certificate failed WebPKI validation (STS-FETCH-01): wrong name, expired, not yet
    /// valid, unknown issuer (self-signed, missing intermediate, untrusted CA), ...
    #[error("the policy host certificate is invalid: {0}")]
    Certificate(CertificateError),
    /// The TLS handshake failed for another reason (no shared version or cipher suite, an
    /// alert from the server such as one that has no certificate for the SNI name).
    #[error("TLS handshake with the policy host failed: {0}")]
    Tls(rustls::Error),
    /// The connection broke during the TLS handshake.
    #[error("the connection broke during the TLS handshake: {0}")]
    TlsIo(std::io::Error),
    /// The server did not speak valid HTTP/1.1, or the connection broke during the exchange.
    #[error("HTTP exchange with the policy host failed: {source}")]
    Http {
        /// The HTTP client's error.
        source: hyper::Error,
    },
    /// The deadline passed (STS-FETCH-04).
    #[error("no policy within {timeout:?} (stalled at {stage:?})")]
    Timeout {
        /// The step that was in progress.
        stage: Stage,
        /// The deadline of the whole fetch.
        timeout: Duration,
    },
    /// The server answered with a redirect, which must not be followed (STS-FETCH-02).
    #[error("HTTP {status} redirect to {}; MTA-STS senders do not follow redirects: serve the policy itself at /.well-known/mta-sts.txt", location.as_deref().unwrap_or("(no Location)"))]
    Redirect {
        /// The status code.
        status: u16,
        /// The `Location` header, if any.
        location: Option<String>,
    },
    /// The server answered with a status other than 200 and not a redirect (STS-FETCH-02).
    #[error("HTTP {status}; only 200 yields a policy")]
    Status {
        /// The status code.
        status: u16,
    },
    /// The body is larger than [`MAX_POLICY_SIZE`] (STS-FETCH-04); reading stopped there.
    #[error("the policy body exceeds {MAX_POLICY_SIZE} bytes{}", content_length.map(|n| format!(" (Content-Length: {n})")).unwrap_or_default())]
    TooLarge {
        /// The announced `Content-Length`, if any.
        content_length: Option<u64>,
    },
    /// The media type is not `text/plain` (STS-POL-02; SCENARIOS.md M-03).
    #[error("Content-Type is {}, not text/plain", content_type.as_deref().unwrap_or("missing"))]
    ContentType {
        /// The `Content-Type` header, if any.
        content_type: Option<String>,
        /// The body as served.
        body: Vec<u8>,
    },
    /// The body is not a valid policy (STS-POL-03..08).
    #[error("the policy is invalid: {error}")]
    Invalid {
        /// What the policy parser objected to.
        error: PolicyError,
        /// The body as served.
        body: Vec<u8>,
    },
    /// The policy host name cannot be sent as a TLS server name or HTTP Host header.
    #[error("the policy host name cannot be sent as a TLS server name or HTTP Host")]
    InvalidServerName,
}

impl FetchFailure {
    /// The RFC 8460 §4.3.2.1 result type a sender reports for this failure.
    ///
    /// Certificate failures are `sts-webpki-invalid`; a body that was served but is not a
    /// `text/plain` policy is `sts-policy-invalid`; everything that kept the sender from
    /// retrieving a policy (connection, TLS handshake, HTTP status, redirect, timeout, size
    /// limit) is `sts-policy-fetch-error`.
    pub fn result_type(&self) -> ResultType {
        match self {
            Self::Certificate(_) => ResultType::StsWebpkiInvalid,
            Self::ContentType { .. } | Self::Invalid { .. } => ResultType::StsPolicyInvalid,
            Self::Connect(_)
            | Self::Tls(_)
            | Self::TlsIo(_)
            | Self::Http { .. }
            | Self::Timeout { .. }
            | Self::Redirect { .. }
            | Self::Status { .. }
            | Self::TooLarge { .. }
            | Self::InvalidServerName => ResultType::StsPolicyFetchError,
        }
    }

    /// The conformance ID of the requirement this failure concerns (CONFORMANCE.md).
    pub fn conformance_id(&self) -> &'static str {
        match self {
            Self::Certificate(_) => "STS-FETCH-01",
            Self::Tls(_) | Self::TlsIo(_) | Self::InvalidServerName => "STS-FETCH-05",
            Self::Redirect { .. } | Self::Status { .. } => "STS-FETCH-02",
            Self::Timeout { .. } | Self::TooLarge { .. } => "STS-FETCH-04",
            Self::ContentType { .. } => "STS-POL-02",
            Self::Invalid { error, .. } => error.conformance_id(),
            Self::Connect(_) | Self::Http { .. } => "STS-POL-01",
        }
    }
}

/// Whether a `Content-Type` value is `text/plain`, ignoring parameters (STS-POL-02).
fn is_text_plain(content_type: &str) -> bool {
    let media_type = content_type.split(';').next().unwrap_or_default();
    media_type.trim().eq_ignore_ascii_case("text/plain")
}

fn header_text(response: &Response<Incoming>, name: hyper::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// Reads the body chunk by chunk, failing as soon as it exceeds [`MAX_POLICY_SIZE`].
async fn read_body(response: Response<Incoming>) -> Result<Vec<u8>, FetchFailure> {
    let content_length = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    let too_large = FetchFailure::TooLarge { content_length };
    if content_length.is_some_and(|n| n > MAX_POLICY_SIZE as u64) {
        return Err(too_large);
    }
    let mut body = response.into_body();
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|source| FetchFailure::Http { source })?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > MAX_POLICY_SIZE {
                return Err(too_large);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

fn classify_tls_error(error: std::io::Error) -> FetchFailure {
    let rustls_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned();
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(error)) => FetchFailure::Certificate(error),
        Some(other) => FetchFailure::Tls(other),
        None => FetchFailure::TlsIo(error),
    }
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests;

mod recording;
