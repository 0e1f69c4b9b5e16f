//! The SMTP STARTTLS probe: one connection to one MX address, through STARTTLS and the TLS
//! handshake, with the verifier the caller chooses.
//!
//! The probe drives [`mxsec_proto::smtp::client::Client`] over a socket: connect through the
//! [`Dialer`], greeting, EHLO, STARTTLS (offered, masked as `XXXXXXXA`, refused; T-01), the
//! handshake (ring, TLS 1.2/1.3) with an [`MxCertVerifier`](crate::tls::MxCertVerifier) that applies DANE or PKIX inside
//! it, EHLO again inside TLS (STT-03), QUIT. It records the TLS version, cipher suite and the
//! full presented chain, and maps every failure to an RFC 8460 result type.
//!
//! SNI is the caller's choice, because the standards differ: the MX host name for MTA-STS
//! (RFC 8461 §7.1; STS-VAL-03), the TLSA base domain for DANE (RFC 7672 §8.1; DANE-AUTH-04).
//!
//! Bounded everything: each step has its own timeout and the whole probe a deadline; replies
//! are parsed with the 4 KiB line and 64 KiB reply limits of [`mxsec_proto::smtp::reply`], and
//! the session reads at most [`MAX_SESSION_BYTES`]. The probe always connects to port 25 of
//! the address it is given; the testbed reaches its loopback servers through the
//! [`Dialer`]'s address map, which changes where bytes go and nothing that is checked.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use mxsec_proto::name::DomainName;
use mxsec_proto::smtp::client::{Client, ClientError, Next, Outcome, Stage};
use mxsec_proto::smtp::greeting::Greeting;
use mxsec_proto::smtp::reply::{Reply, ReplyError, ReplyParser};
use mxsec_proto::tlsrpt::result_type::ResultType;
use rustls_pki_types::{CertificateDer, DnsName, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::dial::{DialError, Dialer};
use crate::tls::{self, CertificateObservation, ObservationSlot, TlsConfigError, Verification};

/// The SMTP port (RFC 5321 §4.5.4.2 via RFC 7672 §2.2.3: `_25._tcp`).
pub const SMTP_PORT: u16 = 25;
/// The most the probe reads from one session, all replies together.
pub const MAX_SESSION_BYTES: usize = 256 * 1024;

/// Per-step time limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeTimeouts {
    /// Waiting for the greeting (after the connection is up; the [`Dialer`] bounds connecting).
    pub banner: Duration,
    /// Waiting for each other reply, and writing each command.
    pub command: Duration,
    /// The TLS handshake.
    pub handshake: Duration,
    /// The whole probe, connecting included.
    pub total: Duration,
}

impl Default for ProbeTimeouts {
    /// 30 s per step and 90 s in all: long enough for a slow MX host, short enough for a
    /// checker that waits on it.
    fn default() -> Self {
        Self {
            banner: Duration::from_secs(30),
            command: Duration::from_secs(30),
            handshake: Duration::from_secs(30),
            total: Duration::from_secs(90),
        }
    }
}

/// How to probe.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// The name announced in EHLO.
    pub ehlo_name: DomainName,
    /// The SNI name: the MX host for MTA-STS, the TLSA base domain for DANE.
    pub sni: DomainName,
    /// What the certificate verifier enforces or observes.
    pub verification: Verification,
    /// Time limits.
    pub timeouts: ProbeTimeouts,
}

impl ProbeOptions {
    /// Options with the default timeouts.
    pub fn new(ehlo_name: DomainName, sni: DomainName, verification: Verification) -> Self {
        Self {
            ehlo_name,
            sni,
            verification,
            timeouts: ProbeTimeouts::default(),
        }
    }
}

/// The negotiated TLS session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSession {
    /// `TLSv1.3` or `TLSv1.2`.
    pub version: String,
    /// The IANA name of the cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The chain the server presented, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
}

/// The step a timeout or I/O failure happened in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProbeStep {
    /// Opening the TCP connection.
    #[default]
    Connect,
    /// Waiting for the greeting.
    Banner,
    /// Sending a command or waiting for its reply.
    Command,
    /// The TLS handshake.
    Handshake,
}

impl fmt::Display for ProbeStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connecting",
            Self::Banner => "waiting for the greeting",
            Self::Command => "in the SMTP dialogue",
            Self::Handshake => "in the TLS handshake",
        })
    }
}

/// Why a probe did not end in an acceptable TLS session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeFailure {
    /// The SNI name is not a valid TLS server name.
    #[error("{0} cannot be sent as a TLS server name")]
    InvalidSni(DomainName),
    /// The TLS client configuration could not be built.
    #[error(transparent)]
    Config(#[from] TlsConfigError),
    /// The TCP connection could not be opened.
    #[error(transparent)]
    Connect(#[from] DialError),
    /// A step took longer than its limit, or the probe its deadline.
    #[error("timed out {step} after {after:?}")]
    Timeout {
        /// The step.
        step: ProbeStep,
        /// The limit that was hit.
        after: Duration,
    },
    /// Reading or writing failed.
    #[error("I/O error {step}: {source}")]
    Io {
        /// The step.
        step: ProbeStep,
        /// The error.
        source: std::io::Error,
    },
    /// The server sent something that is not an SMTP reply, or too much of it.
    #[error("the server's reply is not valid SMTP: {0}")]
    Reply(#[from] ReplyError),
    /// The session read more than [`MAX_SESSION_BYTES`].
    #[error("the server sent more than {MAX_SESSION_BYTES} octets")]
    TooMuchData,
    /// The server answered out of turn.
    #[error(transparent)]
    Dialogue(#[from] ClientError),
    /// The dialogue ended without TLS (no STARTTLS, masked, refused, closed, banner refused).
    #[error("no TLS: {0}")]
    NoTls(NoTlsReason),
    /// The TLS handshake failed. With an enforcing verifier, `rejected` holds its verdict.
    #[error("TLS handshake failed: {error}")]
    Handshake {
        /// rustls's error.
        error: rustls::Error,
        /// The result type of the verifier's rejection, if the verifier rejected the chain.
        rejected: Option<ResultType>,
    },
}

/// How the dialogue ended without a TLS session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoTlsReason {
    /// The greeting was not `220`.
    BannerRefused,
    /// EHLO was refused.
    EhloRefused,
    /// STARTTLS was not advertised (STT-01).
    NotOffered,
    /// STARTTLS was masked by a middlebox (T-01).
    Masked,
    /// STARTTLS was answered with a temporary failure (`454`).
    Unavailable,
    /// STARTTLS was refused otherwise.
    Refused,
    /// The server closed the connection at this stage.
    Closed(Stage),
}

impl fmt::Display for NoTlsReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BannerRefused => f.write_str("the server refused the session in its greeting"),
            Self::EhloRefused => f.write_str("the server refused EHLO"),
            Self::NotOffered => f.write_str("STARTTLS is not offered"),
            Self::Masked => {
                f.write_str("STARTTLS is masked (the signature of an ESMTP-inspecting middlebox)")
            }
            Self::Unavailable => f.write_str("STARTTLS is temporarily unavailable"),
            Self::Refused => f.write_str("STARTTLS was refused"),
            Self::Closed(stage) => write!(f, "the server closed the connection at {stage:?}"),
        }
    }
}

impl ProbeFailure {
    /// The RFC 8460 result type, where one applies: no STARTTLS is
    /// `starttls-not-supported`; a certificate the verifier rejected has the verifier's type; any
    /// other handshake failure is `validation-failure`. Transient network failures (connect,
    /// timeouts, I/O, a refused greeting) have none: RFC 8460 §4.3.4 does not count them
    /// (RPT-RES-05).
    pub fn result_type(&self) -> Option<ResultType> {
        match self {
            Self::NoTls(
                NoTlsReason::EhloRefused
                | NoTlsReason::NotOffered
                | NoTlsReason::Masked
                | NoTlsReason::Unavailable
                | NoTlsReason::Refused,
            ) => Some(ResultType::StarttlsNotSupported),
            Self::Handshake { rejected, .. } => {
                Some(rejected.unwrap_or(ResultType::ValidationFailure))
            }
            Self::Reply(_) | Self::TooMuchData | Self::Dialogue(_) => {
                Some(ResultType::ValidationFailure)
            }
            Self::NoTls(NoTlsReason::BannerRefused | NoTlsReason::Closed(_))
            | Self::InvalidSni(_)
            | Self::Config(_)
            | Self::Connect(_)
            | Self::Timeout { .. }
            | Self::Io { .. } => None,
        }
    }
}

/// Everything one probe learnt.
#[derive(Debug)]
pub struct ProbeReport {
    /// The address probed (port 25), as published, before any testbed routing.
    pub address: SocketAddr,
    /// The server's greeting, every line of it within the bounds of [`Greeting`], if one
    /// arrived (accepting or refusing).
    pub greeting: Option<Greeting>,
    /// The SMTP dialogue's outcome, if it got far enough to have one.
    pub dialogue: Option<Outcome>,
    /// The TLS session, if the handshake completed.
    pub tls: Option<TlsSession>,
    /// What the verifier saw and concluded (also after a rejected handshake).
    pub observation: Option<CertificateObservation>,
    /// Octets the server sent after `220` to STARTTLS and before the handshake, which were
    /// discarded (a server that pipelines there invites command injection; STT-06).
    pub bytes_before_handshake: usize,
    /// How long the probe took.
    pub elapsed: Duration,
    /// `Ok` when TLS was established and the verifier accepted it.
    pub result: Result<(), ProbeFailure>,
}

impl ProbeReport {
    /// Whether the server advertised STARTTLS again inside TLS (STT-03 violation).
    pub fn starttls_advertised_after_tls(&self) -> Option<bool> {
        self.dialogue
            .as_ref()
            .and_then(Outcome::starttls_advertised_after_tls)
    }
}

/// Probes one address of an MX host on port 25.
pub async fn probe(dialer: &Dialer, address: IpAddr, options: &ProbeOptions) -> ProbeReport {
    let address = SocketAddr::new(address, SMTP_PORT);
    let started = Instant::now();
    let mut session = Session::default();
    let deadline = tokio::time::timeout(
        options.timeouts.total,
        session.run(dialer, address, options),
    )
    .await;
    let result = deadline.unwrap_or_else(|_| {
        Err(ProbeFailure::Timeout {
            step: session.step,
            after: options.timeouts.total,
        })
    });
    ProbeReport {
        address,
        greeting: session.client.as_ref().and_then(Client::greeting).cloned(),
        dialogue: session.client.and_then(Client::into_outcome),
        tls: session.tls,
        observation: session.slot.as_ref().and_then(ObservationSlot::get),
        bytes_before_handshake: session.bytes_before_handshake,
        elapsed: started.elapsed(),
        result,
    }
}

/// Probes every address of a host in parallel (IPv4 and IPv6 alike), in the given order.
pub async fn probe_all(
    dialer: &Dialer,
    addresses: &[IpAddr],
    options: &ProbeOptions,
) -> Vec<ProbeReport> {
    join_all(addresses.iter().map(|a| probe(dialer, *a, options))).await
}

/// State kept outside the deadline, so a timed-out probe still reports what it saw.
#[derive(Default)]
struct Session {
    step: ProbeStep,
    client: Option<Client>,
    slot: Option<ObservationSlot>,
    tls: Option<TlsSession>,
    bytes_before_handshake: usize,
}

/// The connection: plain until STARTTLS, then TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Reads replies with the session's byte budget.
struct ReplyReader {
    parser: ReplyParser,
    buffer: Vec<u8>,
    total: usize,
}

impl Session {
    async fn run(
        &mut self,
        dialer: &Dialer,
        address: SocketAddr,
        options: &ProbeOptions,
    ) -> Result<(), ProbeFailure> {
        let server_name = DnsName::try_from(options.sni.as_str())
            .map(|n| ServerName::DnsName(n.to_owned()))
            .map_err(|_| ProbeFailure::InvalidSni(options.sni.clone()))?;
        let (config, slot) = tls::client_config(options.verification.clone())?;
        self.slot = Some(slot);
        self.step = ProbeStep::Connect;
        let mut conn = Conn::Plain(dialer.connect(address).await?);
        let client = self.client.insert(Client::new(options.ehlo_name.clone()));
        let mut reader = ReplyReader {
            parser: ReplyParser::new(),
            buffer: Vec::new(),
            total: 0,
        };
        let mut awaiting_banner = true;
        let mut failure = None;
        loop {
            let next = client.poll();
            match next {
                Next::Send(command) => {
                    self.step = ProbeStep::Command;
                    let limit = options.timeouts.command;
                    step(
                        ProbeStep::Command,
                        limit,
                        conn.write_all(&command.to_wire()),
                    )
                    .await?;
                }
                Next::ReadReply => {
                    let (step_kind, limit) = if awaiting_banner {
                        (ProbeStep::Banner, options.timeouts.banner)
                    } else {
                        (ProbeStep::Command, options.timeouts.command)
                    };
                    self.step = step_kind;
                    match timed(step_kind, limit, reader.read(&mut conn)).await? {
                        Ok(Some(reply)) => {
                            awaiting_banner = false;
                            client.handle_reply(reply)?;
                        }
                        Ok(None) => client.handle_closed(),
                        Err(ReadFailure::Reply(e)) => return Err(e.into()),
                        Err(ReadFailure::TooMuch) => return Err(ProbeFailure::TooMuchData),
                        // A reset where the server should answer is the server closing.
                        Err(ReadFailure::Closed) => client.handle_closed(),
                    }
                }
                Next::StartTls => {
                    self.step = ProbeStep::Handshake;
                    self.bytes_before_handshake = reader.discard();
                    let Conn::Plain(tcp) = conn else {
                        // The client state machine asks for TLS once, on the plain connection.
                        return Err(ProbeFailure::Handshake {
                            error: rustls::Error::General("STARTTLS inside TLS".into()),
                            rejected: None,
                        });
                    };
                    let connector = TlsConnector::from(Arc::clone(&config));
                    let handshake = connector.connect(server_name.clone(), tcp);
                    match timed(ProbeStep::Handshake, options.timeouts.handshake, handshake).await?
                    {
                        Ok(stream) => {
                            self.tls = Some(session_info(&stream));
                            conn = Conn::Tls(Box::new(stream));
                            client.handle_tls_established()?;
                        }
                        Err(io_error) => {
                            client.handle_tls_failed()?;
                            let slot = self.slot.as_ref();
                            failure = Some(handshake_failure(slot, io_error, options));
                            break;
                        }
                    }
                }
                Next::Done => break,
            }
        }
        if let Some(failure) = failure {
            return Err(failure);
        }
        match client.outcome() {
            Some(Outcome::Tls { .. }) => Ok(()),
            Some(other) => Err(ProbeFailure::NoTls(no_tls_reason(other))),
            None => Err(ProbeFailure::NoTls(NoTlsReason::Closed(Stage::Banner))),
        }
    }
}

/// Classifies a failed handshake: the verifier's rejection if it rejected the chain, else
/// rustls's error.
fn handshake_failure(
    slot: Option<&ObservationSlot>,
    io_error: std::io::Error,
    options: &ProbeOptions,
) -> ProbeFailure {
    let rejected = slot
        .and_then(ObservationSlot::get)
        .and_then(|o| o.rejection(&options.verification));
    let error = match io_error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(e) => e.clone(),
        None if io_error.kind() == std::io::ErrorKind::UnexpectedEof => {
            rustls::Error::General("the server closed the connection during the handshake".into())
        }
        None => rustls::Error::General(io_error.to_string()),
    };
    ProbeFailure::Handshake { error, rejected }
}

fn no_tls_reason(outcome: &Outcome) -> NoTlsReason {
    match outcome {
        Outcome::BannerRefused { .. } => NoTlsReason::BannerRefused,
        Outcome::EhloRefused { .. } => NoTlsReason::EhloRefused,
        Outcome::NotOffered { .. } => NoTlsReason::NotOffered,
        Outcome::Masked { .. } => NoTlsReason::Masked,
        Outcome::StartTlsUnavailable { .. } => NoTlsReason::Unavailable,
        Outcome::StartTlsRefused { .. } => NoTlsReason::Refused,
        Outcome::TlsFailed { .. } => NoTlsReason::Closed(Stage::TlsHandshake),
        Outcome::Closed { stage } => NoTlsReason::Closed(*stage),
        _ => NoTlsReason::Refused,
    }
}

fn session_info(stream: &TlsStream<TcpStream>) -> TlsSession {
    let conn = stream.get_ref().1;
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    };
    let cipher_suite = conn
        .negotiated_cipher_suite()
        .map(|s| {
            let suite = s.suite();
            suite
                .as_str()
                .map_or_else(|| format!("{suite:?}"), str::to_owned)
        })
        .unwrap_or_default();
    TlsSession {
        version,
        cipher_suite,
        chain: conn
            .peer_certificates()
            .map(<[_]>::to_vec)
            .unwrap_or_default(),
    }
}

enum ReadFailure {
    Reply(ReplyError),
    TooMuch,
    /// The connection failed (reset): for the dialogue, the server closed it.
    Closed,
}

impl ReplyReader {
    /// Reads until one reply is complete; `Ok(None)` at end of stream.
    async fn read(&mut self, conn: &mut Conn) -> Result<Option<Reply>, ReadFailure> {
        let mut chunk = [0u8; 4096];
        loop {
            if !self.buffer.is_empty() {
                let progress = self.parser.feed(&self.buffer).map_err(ReadFailure::Reply)?;
                self.buffer
                    .drain(..progress.consumed.min(self.buffer.len()));
                if let Some(reply) = progress.reply {
                    return Ok(Some(reply));
                }
            }
            let n = conn
                .read(&mut chunk)
                .await
                .map_err(|_| ReadFailure::Closed)?;
            if n == 0 {
                return Ok(None);
            }
            self.total += n;
            if self.total > MAX_SESSION_BYTES {
                return Err(ReadFailure::TooMuch);
            }
            self.buffer
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }

    /// Drops whatever was read beyond the last reply (before a handshake; STT-06) and says how
    /// much it was.
    fn discard(&mut self) -> usize {
        let n = self.buffer.len();
        self.buffer.clear();
        self.parser = ReplyParser::new();
        n
    }
}

impl Conn {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf).await,
            Self::Tls(s) => s.read(buf).await,
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Plain(s) => write_flush(s, data).await,
            Self::Tls(s) => write_flush(s.as_mut(), data).await,
        }
    }
}

async fn write_flush<S: AsyncWrite + AsyncRead + Unpin>(
    s: &mut S,
    data: &[u8],
) -> std::io::Result<()> {
    s.write_all(data).await?;
    s.flush().await
}

/// Runs an I/O step under its time limit.
async fn step<T>(
    kind: ProbeStep,
    limit: Duration,
    fut: impl std::future::Future<Output = std::io::Result<T>>,
) -> Result<T, ProbeFailure> {
    timed(kind, limit, fut)
        .await?
        .map_err(|source| ProbeFailure::Io { step: kind, source })
}

/// Runs a step under its time limit, leaving its own result to the caller.
async fn timed<T>(
    kind: ProbeStep,
    limit: Duration,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, ProbeFailure> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| ProbeFailure::Timeout {
            step: kind,
            after: limit,
        })
}
