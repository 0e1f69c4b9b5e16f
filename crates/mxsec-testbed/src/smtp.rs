//! SMTP MX hosts on loopback whose behaviour is data.
//!
//! An [`SmtpServer`] listens on one address with one [`MxBehaviour`]: STARTTLS with a given
//! chain (optionally chosen by SNI), no STARTTLS, STARTTLS masked by a middlebox
//! (`250 XXXXXXXA`, `500` to the command; SCENARIOS.md T-01), STARTTLS answered `454`, TLS that
//! breaks right after `220` (garbage bytes or an abrupt close; T-03), a server that requires SNI
//! (T-03), `STARTTLS` advertised again inside TLS (STT-03), and a delayed banner. It accepts
//! mail (`MAIL`/`RCPT`/`DATA`, recorded), so that a real MTA can deliver to it. A [`Hostile`]
//! server attacks the client's limits instead: a greeting that never comes, a greeting of one
//! huge line, or an EHLO reply whose continuation lines never end.
//!
//! The handshake key is whatever [`Credentials`] say, with no check that it belongs to the
//! certificate: that is how a test stages a man in the middle who replays the real server's
//! public chain with a key of its own.
//!
//! Every read has an idle timeout and every line and message a size cap, so a stuck client
//! cannot hold a task forever. Dropping the server stops the listener and every session.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// Longest command or data line the server reads (RFC 5321 §4.5.3.1 allows 1000 octets).
pub const MAX_LINE_LEN: usize = 4096;
/// Largest message accepted in `DATA`.
pub const MAX_MESSAGE_LEN: usize = 10 * 1024 * 1024;
/// How long the server waits for a line or a handshake before it drops the session.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A certificate chain (leaf first) and the private key the server signs the handshake with.
pub struct Credentials {
    /// The chain as served.
    pub chain: Vec<CertificateDer<'static>>,
    /// The handshake signing key; normally the leaf's, a different one to stage a MITM.
    pub key: PrivateKeyDer<'static>,
}

impl Credentials {
    /// Bundles a chain and a key.
    pub fn new(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Self {
        Self { chain, key }
    }
}

impl Clone for Credentials {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// Which chain the server presents.
#[derive(Clone, Debug)]
pub struct TlsIdentity {
    default: Option<Credentials>,
    by_sni: Vec<(String, Credentials)>,
    tls12_only: bool,
}

impl TlsIdentity {
    /// Presents `credentials` whatever SNI the client sends (or none).
    pub fn new(credentials: Credentials) -> Self {
        Self {
            default: Some(credentials),
            by_sni: Vec::new(),
            tls12_only: false,
        }
    }

    /// Presents nothing unless the client sends a known SNI name: the handshake is aborted
    /// otherwise, as by a server that wrongly requires SNI (RFC 8461 §7.1; STS-VAL-03, T-03).
    pub fn sni_required() -> Self {
        Self {
            default: None,
            by_sni: Vec::new(),
            tls12_only: false,
        }
    }

    /// Presents `credentials` to clients that send SNI `name` (compared case-insensitively).
    #[must_use]
    pub fn with_sni(mut self, name: &str, credentials: Credentials) -> Self {
        self.by_sni.push((name.to_ascii_lowercase(), credentials));
        self
    }

    /// Speaks TLS 1.2 only, as many deployed MX hosts still do.
    #[must_use]
    pub fn tls12_only(mut self) -> Self {
        self.tls12_only = true;
        self
    }
}

/// What the server does about STARTTLS.
#[derive(Clone, Debug)]
pub enum StartTls {
    /// Advertised; `220`, then TLS with this identity.
    Tls(TlsIdentity),
    /// Not advertised; the command is answered `502` (T-02).
    NotOffered,
    /// A middlebox masks it: EHLO ends in `250 XXXXXXXA` and the command gets `500` (T-01).
    Masked,
    /// Advertised, but the command is answered `454 TLS not available due to temporary
    /// reason` (RFC 3207 §4).
    Unavailable,
    /// Advertised and answered `220`, then the server sends bytes that are not TLS (T-03).
    GarbageAfterReady,
    /// Advertised and answered `220`, then the server closes the connection (T-03).
    AbortAfterReady,
}

/// A server that attacks the client's time and memory limits instead of speaking SMTP
/// (DESIGN.md "Bounded everything": a hostile server may waste a few seconds of one task,
/// never memory or the process).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hostile {
    /// Accepts the connection and never sends the greeting, holding the connection open.
    SilentGreeting,
    /// Sends a greeting that is one line of `length` octets (`220 xxx...`), without a line
    /// end until the last octet.
    LongGreeting {
        /// The length of the line, CRLF included.
        length: usize,
    },
    /// Greets normally, then answers EHLO with `250-` continuation lines that never end.
    EndlessEhlo,
}

/// The behaviour of one MX host.
#[derive(Clone, Debug)]
pub struct MxBehaviour {
    /// The name in the greeting and the EHLO response.
    pub hostname: String,
    /// STARTTLS handling.
    pub starttls: StartTls,
    /// Wait this long before the greeting.
    pub banner_delay: Duration,
    /// Advertise `STARTTLS` again in the EHLO response inside TLS, which RFC 3207 §4.2
    /// forbids (STT-03).
    pub starttls_after_tls: bool,
    /// Attack the client instead of speaking SMTP.
    pub hostile: Option<Hostile>,
}

impl MxBehaviour {
    /// A well-behaved MX host with this STARTTLS handling.
    pub fn new(hostname: &str, starttls: StartTls) -> Self {
        Self {
            hostname: hostname.to_owned(),
            starttls,
            banner_delay: Duration::ZERO,
            starttls_after_tls: false,
            hostile: None,
        }
    }

    /// A well-behaved MX host presenting `identity` after STARTTLS.
    pub fn tls(hostname: &str, identity: TlsIdentity) -> Self {
        Self::new(hostname, StartTls::Tls(identity))
    }

    /// Delays the greeting.
    #[must_use]
    pub fn banner_delay(mut self, delay: Duration) -> Self {
        self.banner_delay = delay;
        self
    }

    /// Advertises `STARTTLS` again inside TLS (STT-03 violation).
    #[must_use]
    pub fn starttls_after_tls(mut self) -> Self {
        self.starttls_after_tls = true;
        self
    }

    /// Attacks the client's limits in the given way.
    #[must_use]
    pub fn hostile(mut self, hostile: Hostile) -> Self {
        self.hostile = Some(hostile);
        self
    }
}

/// A message the server accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The reverse path of `MAIL FROM`, as sent (`<a@example.test>`, or `<>`).
    pub mail_from: String,
    /// The forward paths of `RCPT TO`, as sent.
    pub rcpt_to: Vec<String>,
    /// The message, dot-unstuffed, without the final `.` line.
    pub data: Vec<u8>,
    /// The TLS session it arrived in; `None` when it came in clear.
    pub tls: Option<TlsUsed>,
}

impl ReceivedMessage {
    /// Whether it arrived inside TLS.
    pub fn over_tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// The TLS session a message arrived in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsUsed {
    /// The negotiated protocol version.
    pub version: TlsVersion,
    /// The SNI name the client sent, if any.
    pub sni: Option<String>,
}

/// A TLS protocol version the server speaks (rustls offers no older one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246).
    Tls12,
    /// TLS 1.3 (RFC 8446).
    Tls13,
}

impl TlsVersion {
    fn of(version: Option<rustls::ProtocolVersion>) -> Option<Self> {
        match version? {
            rustls::ProtocolVersion::TLSv1_2 => Some(Self::Tls12),
            rustls::ProtocolVersion::TLSv1_3 => Some(Self::Tls13),
            _ => None,
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tls12 => "TLSv1.2",
            Self::Tls13 => "TLSv1.3",
        })
    }
}

/// What the server saw of one TLS session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSessionRecord {
    /// The client's address.
    pub peer: SocketAddr,
    /// The SNI name the client sent, if any (DANE-AUTH-04, STS-VAL-03).
    pub sni: Option<String>,
}

/// The server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmtpServerError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// rustls rejected the key or the configuration.
    #[error("cannot configure TLS for the SMTP server: {0}")]
    Tls(#[from] rustls::Error),
}

/// One MX host listening on loopback. Dropping it stops the listener and every session.
pub struct SmtpServer {
    address: SocketAddr,
    hostname: String,
    log: Arc<Log>,
    task: JoinHandle<()>,
}

impl SmtpServer {
    /// Listens on `bind` (port 0 picks a free port) with `behaviour`.
    ///
    /// # Errors
    ///
    /// [`SmtpServerError`] if the address cannot be bound or a key cannot be loaded.
    pub async fn start(bind: SocketAddr, behaviour: MxBehaviour) -> Result<Self, SmtpServerError> {
        let acceptor = match &behaviour.starttls {
            StartTls::Tls(identity) => Some(acceptor(identity)?),
            _ => None,
        };
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|source| SmtpServerError::Bind {
                address: bind,
                source,
            })?;
        let address = listener
            .local_addr()
            .map_err(|source| SmtpServerError::Bind {
                address: bind,
                source,
            })?;
        let log = Arc::new(Log::default());
        let hostname = behaviour.hostname.clone();
        let server = Server {
            behaviour,
            acceptor,
            log: log.clone(),
        };
        let task = tokio::spawn(server.accept_loop(listener));
        Ok(Self {
            address,
            hostname,
            log,
            task,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// The host name it greets with: the MX host it stands for.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The messages accepted so far.
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        lock(&self.log.messages).clone()
    }

    /// The TLS sessions established so far.
    pub fn tls_sessions(&self) -> Vec<TlsSessionRecord> {
        lock(&self.log.tls_sessions).clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpServer")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Log {
    messages: Mutex<Vec<ReceivedMessage>>,
    tls_sessions: Mutex<Vec<TlsSessionRecord>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Clone)]
struct Server {
    behaviour: MxBehaviour,
    acceptor: Option<TlsAcceptor>,
    log: Arc<Log>,
}

/// How a dialogue phase ended.
enum PhaseEnd {
    /// The client asked for STARTTLS and got `220`.
    StartTls,
    /// QUIT, end of stream, or an error: the session is over.
    Over,
}

impl Server {
    async fn accept_loop(self, listener: TcpListener) {
        // Sessions live in the set, so aborting this task (drop of `SmtpServer`) ends them.
        let mut sessions = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    if let Ok((stream, peer)) = accepted {
                        sessions.spawn(self.clone().session(stream, peer));
                    }
                }
                Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            }
        }
    }

    async fn session(self, stream: TcpStream, peer: SocketAddr) {
        tokio::time::sleep(self.behaviour.banner_delay).await;
        let mut plain = BufReader::new(stream);
        match self.behaviour.hostile {
            Some(Hostile::SilentGreeting) => return hold(&mut plain).await,
            Some(Hostile::LongGreeting { length }) => {
                // The client gives up long before the end; the write then fails.
                if long_line(plain.get_mut(), length).await.is_ok() {
                    hold(&mut plain).await;
                }
                return;
            }
            Some(Hostile::EndlessEhlo) | None => {}
        }
        // Multi-line, as many real MX hosts greet (RFC 5321 §4.2): clients must read it whole.
        let greeting = format!(
            "220-{} ESMTP mxsec testbed\r\n220 simulated internet, no real mail\r\n",
            self.behaviour.hostname
        );
        if plain
            .get_mut()
            .write_all(greeting.as_bytes())
            .await
            .is_err()
        {
            return;
        }
        let Ok(PhaseEnd::StartTls) = self.dialogue(&mut plain, None).await else {
            return;
        };
        // Anything the client pipelined after STARTTLS is dropped with the buffer
        // (RFC 3207 §4.2; STT-06).
        let mut stream = plain.into_inner();
        match (&self.behaviour.starttls, &self.acceptor) {
            (StartTls::GarbageAfterReady, _) => {
                let _ = stream
                    .write_all(b"this is not a TLS record\r\n\x00\x01\x02\x03")
                    .await;
            }
            (StartTls::Tls(_), Some(acceptor)) => {
                let accepted = tokio::time::timeout(IDLE_TIMEOUT, acceptor.accept(stream)).await;
                let Ok(Ok(tls)) = accepted else {
                    return;
                };
                let connection = tls.get_ref().1;
                let sni = connection.server_name().map(str::to_owned);
                let used = TlsVersion::of(connection.protocol_version()).map(|version| TlsUsed {
                    version,
                    sni: sni.clone(),
                });
                lock(&self.log.tls_sessions).push(TlsSessionRecord { peer, sni });
                let mut tls = BufReader::new(tls);
                let _ = self.dialogue(&mut tls, used).await;
            }
            // AbortAfterReady: close at once.
            _ => {}
        }
    }

    /// Serves commands until QUIT, end of stream, an error, or an accepted STARTTLS.
    /// `tls` is the session the dialogue runs in, `None` in clear.
    async fn dialogue<S>(
        &self,
        io: &mut BufReader<S>,
        tls: Option<TlsUsed>,
    ) -> std::io::Result<PhaseEnd>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let over_tls = tls.is_some();
        let mut mail_from: Option<String> = None;
        let mut rcpt_to: Vec<String> = Vec::new();
        loop {
            let Some(line) = read_line(io).await? else {
                return Ok(PhaseEnd::Over);
            };
            let line = String::from_utf8_lossy(&line).into_owned();
            let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            let reply: String = match verb.to_ascii_uppercase().as_str() {
                "EHLO" if self.behaviour.hostile == Some(Hostile::EndlessEhlo) => {
                    let line = format!("250-{} {}\r\n", self.behaviour.hostname, "x".repeat(64));
                    let block = line.repeat(BLOCK / line.len() + 1);
                    // Ends when the client goes away and the write fails.
                    loop {
                        io.get_mut().write_all(block.as_bytes()).await?;
                    }
                }
                "EHLO" => {
                    mail_from = None;
                    rcpt_to.clear();
                    self.ehlo_response(over_tls)
                }
                "HELO" => format!("250 {}\r\n", self.behaviour.hostname),
                "STARTTLS" if over_tls => "503 5.5.1 TLS already active\r\n".into(),
                "STARTTLS" => match self.behaviour.starttls {
                    StartTls::NotOffered => "502 5.5.1 Command not implemented\r\n".into(),
                    StartTls::Masked => "500 5.5.1 Command unrecognized\r\n".into(),
                    StartTls::Unavailable => {
                        "454 4.7.0 TLS not available due to temporary reason\r\n".into()
                    }
                    StartTls::Tls(_) | StartTls::GarbageAfterReady | StartTls::AbortAfterReady => {
                        write(io, "220 2.0.0 Ready to start TLS\r\n").await?;
                        return Ok(PhaseEnd::StartTls);
                    }
                },
                "MAIL" => {
                    mail_from = Some(path_argument(arg, "FROM:"));
                    rcpt_to.clear();
                    "250 2.1.0 Ok\r\n".into()
                }
                "RCPT" if mail_from.is_none() => "503 5.5.1 Need MAIL first\r\n".into(),
                "RCPT" => {
                    rcpt_to.push(path_argument(arg, "TO:"));
                    "250 2.1.5 Ok\r\n".into()
                }
                "DATA" if rcpt_to.is_empty() => "503 5.5.1 Need RCPT first\r\n".into(),
                "DATA" => {
                    write(io, "354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                    let Some(data) = read_data(io).await? else {
                        write(io, "552 5.3.4 Message too big\r\n").await?;
                        return Ok(PhaseEnd::Over);
                    };
                    lock(&self.log.messages).push(ReceivedMessage {
                        mail_from: mail_from.take().unwrap_or_default(),
                        rcpt_to: std::mem::take(&mut rcpt_to),
                        data,
                        tls: tls.clone(),
                    });
                    "250 2.0.0 Ok: queued\r\n".into()
                }
                "RSET" => {
                    mail_from = None;
                    rcpt_to.clear();
                    "250 2.0.0 Ok\r\n".into()
                }
                "NOOP" => "250 2.0.0 Ok\r\n".into(),
                "QUIT" => {
                    write(io, "221 2.0.0 Bye\r\n").await?;
                    return Ok(PhaseEnd::Over);
                }
                _ => "500 5.5.2 Command unrecognized\r\n".into(),
            };
            write(io, &reply).await?;
        }
    }

    fn ehlo_response(&self, over_tls: bool) -> String {
        let keyword = match (&self.behaviour.starttls, over_tls) {
            (StartTls::NotOffered, _) => None,
            // A masking middlebox overwrites the keyword with one of the same length.
            (StartTls::Masked, false) => Some("XXXXXXXA"),
            (_, false) => Some("STARTTLS"),
            (_, true) => self.behaviour.starttls_after_tls.then_some("STARTTLS"),
        };
        let mut lines = vec![
            self.behaviour.hostname.clone(),
            format!("SIZE {MAX_MESSAGE_LEN}"),
            "8BITMIME".to_owned(),
            "ENHANCEDSTATUSCODES".to_owned(),
        ];
        lines.extend(keyword.map(str::to_owned));
        let last = lines.len().saturating_sub(1);
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("250{}{l}\r\n", if i == last { ' ' } else { '-' }))
            .collect()
    }
}

/// Size of the pieces a hostile server writes.
const BLOCK: usize = 4096;

/// Writes `220 xxx...` CRLF, `length` octets in all, in blocks, so that the server itself
/// holds no more than one block.
async fn long_line<W: AsyncWrite + Unpin>(stream: &mut W, length: usize) -> std::io::Result<()> {
    let block = [b'x'; BLOCK];
    let mut filler = length.saturating_sub(6);
    stream.write_all(b"220 ").await?;
    while filler > 0 {
        let n = filler.min(BLOCK);
        stream.write_all(block.get(..n).unwrap_or_default()).await?;
        filler -= n;
    }
    stream.write_all(b"\r\n").await?;
    stream.flush().await
}

/// Holds the connection open, reading and discarding, until the client closes it or
/// [`IDLE_TIMEOUT`] passes.
async fn hold<S: AsyncRead + Unpin>(stream: &mut S) {
    let _ = tokio::time::timeout(
        IDLE_TIMEOUT,
        tokio::io::copy(stream, &mut tokio::io::sink()),
    )
    .await;
}

/// The path of `MAIL FROM:<path> params` or `RCPT TO:<path> params`, as sent (`<a@b>`).
fn path_argument(arg: &str, prefix: &str) -> String {
    let rest = match arg.get(..prefix.len()) {
        Some(p) if p.eq_ignore_ascii_case(prefix) => arg.get(prefix.len()..).unwrap_or_default(),
        _ => arg,
    };
    rest.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn write<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    text: &str,
) -> std::io::Result<()> {
    io.get_mut().write_all(text.as_bytes()).await?;
    io.get_mut().flush().await
}

/// Reads one line without its CRLF (or LF); `None` at end of stream. Fails on a line longer
/// than [`MAX_LINE_LEN`] or after [`IDLE_TIMEOUT`] of silence.
async fn read_line<R: AsyncBufRead + Unpin>(io: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    loop {
        let buf = tokio::time::timeout(IDLE_TIMEOUT, io.fill_buf())
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        if buf.is_empty() {
            return Ok((!line.is_empty()).then_some(line));
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (buf.get(..i).unwrap_or_default(), Some(i + 1)),
            None => (buf, None),
        };
        if line.len() + chunk.len() > MAX_LINE_LEN {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "line too long",
            ));
        }
        line.extend_from_slice(chunk);
        let used = done.unwrap_or(chunk.len());
        io.consume(used);
        if done.is_some() {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(Some(line));
        }
    }
}

/// Reads a message up to the `.` line, dot-unstuffed (RFC 5321 §4.5.2); `None` if it
/// exceeds [`MAX_MESSAGE_LEN`].
async fn read_data<R: AsyncBufRead + Unpin>(io: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    loop {
        let Some(line) = read_line(io).await? else {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        };
        if line == b"." {
            return Ok(Some(data));
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        if data.len() + line.len() + 2 > MAX_MESSAGE_LEN {
            return Ok(None);
        }
        data.extend_from_slice(line);
        data.extend_from_slice(b"\r\n");
    }
}

fn acceptor(identity: &TlsIdentity) -> Result<TlsAcceptor, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certified = |c: &Credentials| -> Result<Arc<CertifiedKey>, rustls::Error> {
        let key = provider.key_provider.load_private_key(c.key.clone_key())?;
        // `CertifiedKey::new` does not check that the key belongs to the leaf, on purpose: a
        // test may stage a man in the middle with someone else's chain.
        Ok(Arc::new(CertifiedKey::new(c.chain.clone(), key)))
    };
    let resolver = SniResolver {
        default: identity.default.as_ref().map(certified).transpose()?,
        by_sni: identity
            .by_sni
            .iter()
            .map(|(name, c)| Ok((name.clone(), certified(c)?)))
            .collect::<Result<_, rustls::Error>>()?,
    };
    let versions: &[&rustls::SupportedProtocolVersion] = if identity.tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let config = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[derive(Debug)]
struct SniResolver {
    default: Option<Arc<CertifiedKey>>,
    by_sni: Vec<(String, Arc<CertifiedKey>)>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let sni = client_hello.server_name().map(str::to_ascii_lowercase);
        sni.and_then(|sni| {
            self.by_sni
                .iter()
                .find(|(name, _)| *name == sni)
                .map(|(_, key)| key.clone())
        })
        .or_else(|| self.default.clone())
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    async fn converse(server: &SmtpServer, script: &[&str]) -> String {
        let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
        let mut transcript = Vec::new();
        let mut buf = [0u8; 4096];
        for line in script {
            let n = stream.read(&mut buf).await.unwrap();
            transcript.extend_from_slice(&buf[..n]);
            stream.write_all(line.as_bytes()).await.unwrap();
        }
        // The server may reset the connection after an error; what was read is the transcript.
        let _ = stream.read_to_end(&mut transcript).await;
        String::from_utf8(transcript).unwrap()
    }

    #[tokio::test]
    async fn stt_02_accepts_and_records_a_message_in_clear() {
        let behaviour = MxBehaviour::new("mx.example.test", StartTls::NotOffered);
        let server = SmtpServer::start("127.0.0.1:0".parse().unwrap(), behaviour)
            .await
            .unwrap();
        let transcript = converse(
            &server,
            &[
                "EHLO client.test\r\n",
                "MAIL FROM:<a@client.test> SIZE=42\r\n",
                "RCPT TO:<b@example.test>\r\n",
                "DATA\r\n",
                "Subject: hi\r\n\r\n..dot-stuffed\r\n.\r\n",
                "QUIT\r\n",
            ],
        )
        .await;
        assert!(
            transcript.starts_with("220-mx.example.test ESMTP mxsec testbed\r\n220 "),
            "{transcript}"
        );
        assert!(!transcript.contains("STARTTLS"), "{transcript}");
        assert!(transcript.contains("250 2.0.0 Ok: queued"), "{transcript}");
        assert!(transcript.ends_with("221 2.0.0 Bye\r\n"), "{transcript}");
        assert_eq!(
            server.messages(),
            vec![ReceivedMessage {
                mail_from: "<a@client.test>".into(),
                rcpt_to: vec!["<b@example.test>".into()],
                data: b"Subject: hi\r\n\r\n.dot-stuffed\r\n".to_vec(),
                tls: None,
            }]
        );
    }

    #[tokio::test]
    async fn t_01_masked_server_shows_xxxxxxxa_and_answers_500() {
        let behaviour = MxBehaviour::new("mx.example.test", StartTls::Masked);
        let server = SmtpServer::start("127.0.0.1:0".parse().unwrap(), behaviour)
            .await
            .unwrap();
        let transcript = converse(
            &server,
            &["EHLO client.test\r\n", "STARTTLS\r\n", "QUIT\r\n"],
        )
        .await;
        assert!(transcript.contains("250 XXXXXXXA\r\n"), "{transcript}");
        assert!(transcript.contains("500 5.5.1"), "{transcript}");
        assert!(!transcript.contains("STARTTLS"), "{transcript}");
    }

    async fn start(behaviour: MxBehaviour) -> SmtpServer {
        SmtpServer::start("127.0.0.1:0".parse().unwrap(), behaviour)
            .await
            .unwrap()
    }

    /// Reads up to `limit` octets or until the server is silent for `quiet`.
    async fn read_some(stream: &mut TcpStream, limit: usize, quiet: Duration) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while got.len() < limit {
            match tokio::time::timeout(quiet, stream.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        got
    }

    #[tokio::test]
    async fn hostile_silent_greeting_sends_nothing_and_keeps_the_connection() {
        let behaviour = MxBehaviour::new("mx.example.test", StartTls::NotOffered)
            .hostile(Hostile::SilentGreeting);
        let server = start(behaviour).await;
        let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
        let got = read_some(&mut stream, 1, Duration::from_millis(300)).await;
        assert!(got.is_empty(), "{got:?}");
    }

    #[tokio::test]
    async fn hostile_long_greeting_is_one_line_of_the_given_length() {
        let behaviour = MxBehaviour::new("mx.example.test", StartTls::NotOffered)
            .hostile(Hostile::LongGreeting { length: 100_000 });
        let server = start(behaviour).await;
        let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
        let got = read_some(&mut stream, 100_000, Duration::from_secs(5)).await;
        assert_eq!(got.len(), 100_000);
        assert!(got.starts_with(b"220 xxx"));
        assert!(got.ends_with(b"x\r\n"));
        assert_eq!(got.iter().filter(|&&b| b == b'\n').count(), 1);
    }

    #[tokio::test]
    async fn hostile_endless_ehlo_reply_never_ends() {
        let behaviour =
            MxBehaviour::new("mx.example.test", StartTls::NotOffered).hostile(Hostile::EndlessEhlo);
        let server = start(behaviour).await;
        let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
        let banner = read_some(&mut stream, 1, Duration::from_secs(5)).await;
        assert!(banner.starts_with(b"220-"));
        stream.write_all(b"EHLO client.test\r\n").await.unwrap();
        let got = read_some(&mut stream, 1 << 20, Duration::from_secs(5)).await;
        assert!(got.len() >= 1 << 20, "{}", got.len());
        assert!(got.starts_with(b"250-mx.example.test "));
        assert!(
            !got.windows(4).any(|w| w == b"250 "),
            "the reply never ends"
        );
    }

    #[tokio::test]
    async fn stt_01_overlong_lines_end_the_session() {
        let behaviour = MxBehaviour::new("mx.example.test", StartTls::NotOffered);
        let server = SmtpServer::start("127.0.0.1:0".parse().unwrap(), behaviour)
            .await
            .unwrap();
        let long = format!("NOOP {}\r\n", "x".repeat(MAX_LINE_LEN));
        let transcript = converse(&server, &[&long]).await;
        assert!(transcript.starts_with("220-"), "{transcript}");
        assert!(!transcript.contains("250"), "{transcript}");
    }
}
