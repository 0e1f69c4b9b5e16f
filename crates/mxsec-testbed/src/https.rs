//! MTA-STS policy hosts: a small HTTPS server whose behaviour is data.
//!
//! One [`HttpsServer`] listens on one socket (or several: [`HttpsServer::start_on`]) and serves
//! any number of policy hosts (`mta-sts.<domain>`), choosing the host, and so its certificate,
//! by the TLS SNI name (RFC 8461 §7.1, STS-FETCH-05). A client that sends no SNI, or an unknown
//! name, gets the fallback host if one is configured, and a failed handshake otherwise.
//!
//! Each [`PolicyHost`] has a certificate chain (from [`crate::pki`]: valid, wrong name, expired,
//! self-signed, missing intermediate; M-02), a path at which it answers (anything else is a
//! 404, the "file at the wrong path" case of M-01), and a [`Reply`]: a body with a status and
//! content type (200, 404, 500, `text/html` soft 404, `application/octet-stream`; M-01, M-03),
//! a redirect (M-01), or a hostile body that is slow, endless, oversized, or complete but
//! followed by a connection that never closes (STS-FETCH-04).
//! [`PolicyHost::browser_only`] answers 403 to clients whose User-Agent does not look like a
//! browser (M-04).
//!
//! Hosts come from a [`HostSource`]: the fixed list given to [`HttpsServer::start_on`], or any
//! source given to [`HttpsServer::start_with`], such as one that makes a host for every name
//! of a synthetic population when a client asks for it.
//!
//! The server speaks just enough HTTP/1.1 for that: one request per connection, request head
//! at most 16 KiB, read within ten seconds, `Date` and `Connection: close` on every response. Every
//! request is recorded ([`HttpsServer::requests`]) so tests can see the SNI name, path, Host,
//! request headers and, for hosts that accept `POST` (TLS-RPT receivers), the body a client sent.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::pki::{Leaf, ServedChain};

/// The path of the MTA-STS policy (RFC 8461 §3.2, STS-POL-01).
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";

/// The largest request head the server reads.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// The largest request body the server reads.
pub const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// How long the server waits for a TLS handshake and a request head.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a [`Reply::NeverCloses`] connection is held open after its body.
const NEVER_CLOSES_HOLD: Duration = Duration::from_secs(600);

/// Size of the blocks an endless or oversized body is written in.
const BLOCK: usize = 4096;

/// An error while starting an [`HttpsServer`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpsError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A host's certificate chain and key do not make a usable TLS identity.
    #[error("certificate for policy host {host} is unusable: {source}")]
    Certificate {
        /// The host name.
        host: String,
        /// What rustls objected to.
        source: rustls::Error,
    },
    /// A host's certificate chain is empty.
    #[error("policy host {host} has an empty certificate chain")]
    EmptyChain {
        /// The host name.
        host: String,
    },
    /// The TLS configuration could not be built.
    #[error("TLS server configuration failed: {0}")]
    Tls(rustls::Error),
    /// No address to listen on was given.
    #[error("no address to listen on")]
    NoAddress,
}

/// What a policy host answers to a request for its policy path.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Reply {
    /// A complete response with a `Content-Length`.
    Body {
        /// The HTTP status code.
        status: u16,
        /// The `Content-Type` header, if any.
        content_type: Option<String>,
        /// The body.
        body: Vec<u8>,
    },
    /// A redirect (status 301, 302, 307 or 308) to `location` (M-01).
    Redirect {
        /// The HTTP status code.
        status: u16,
        /// The `Location` header.
        location: String,
    },
    /// A 200 `text/plain` response whose body trickles out one byte per `interval`
    /// (STS-FETCH-04: a policy host that answers too slowly).
    Slow {
        /// The body.
        body: Vec<u8>,
        /// The pause before each byte.
        interval: Duration,
    },
    /// A 200 `text/plain` response with no `Content-Length` whose body never ends.
    Endless,
    /// A 200 `text/plain` response with no `Content-Length`: the whole body, then silence
    /// with the connection held open for ten minutes, so a client that reads to the end of
    /// the stream waits that long (STS-FETCH-04).
    NeverCloses {
        /// The body.
        body: Vec<u8>,
    },
    /// A 200 `text/plain` response of `length` bytes (STS-FETCH-04: over the 64 KiB limit).
    Oversized {
        /// The body length.
        length: usize,
        /// Whether the response announces the length in `Content-Length`.
        announce_length: bool,
    },
}

impl Reply {
    /// A 200 response with `Content-Type: text/plain; charset=utf-8`: a policy served right.
    pub fn policy(body: impl Into<Vec<u8>>) -> Self {
        Self::Body {
            status: 200,
            content_type: Some("text/plain; charset=utf-8".to_owned()),
            body: body.into(),
        }
    }

    /// A response with any status, content type and body (404, 500, a `text/html` soft 404,
    /// `application/octet-stream`; M-01, M-03).
    pub fn body(status: u16, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Self {
        Self::Body {
            status,
            content_type: content_type.map(str::to_owned),
            body: body.into(),
        }
    }

    /// A 404 with a short `text/plain` body.
    pub fn not_found() -> Self {
        Self::body(404, Some("text/plain"), "not found\n")
    }

    /// A 301 redirect to `location` (M-01).
    pub fn redirect(location: impl Into<String>) -> Self {
        Self::Redirect {
            status: 301,
            location: location.into(),
        }
    }
}

/// One policy host: a name, a certificate, and what it answers.
#[derive(Clone)]
pub struct PolicyHost {
    name: String,
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
    path: String,
    reply: Reply,
    browser_only: bool,
    accepts_post: bool,
}

impl PolicyHost {
    /// A host named `name` (the SNI name it answers to, e.g. `mta-sts.example.test`) presenting
    /// `leaf` with the chain shape `served`, answering `reply` at [`POLICY_PATH`].
    ///
    /// The certificate need not be valid for `name`: that is how the wrong-name case of M-02
    /// is built.
    pub fn new(name: impl Into<String>, leaf: &Leaf, served: ServedChain, reply: Reply) -> Self {
        Self {
            name: name.into().to_ascii_lowercase(),
            chain: leaf.served_chain(served),
            key: Arc::new(leaf.private_key_der()),
            path: POLICY_PATH.to_owned(),
            reply,
            browser_only: false,
            accepts_post: false,
        }
    }

    /// Answers at `path` instead of [`POLICY_PATH`] (the "file at `/mta-sts.txt`" case of
    /// M-01); every other path gets a 404.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Answers 403 unless the User-Agent looks like a browser (contains `Mozilla/`), as a web
    /// application firewall in front of the host would (M-04).
    pub fn browser_only(mut self) -> Self {
        self.browser_only = true;
        self
    }

    /// Also answers `POST` at its path, recording the request body: a TLS-RPT report receiver
    /// (RFC 8460 §5.4, RPT-DEL-05).
    pub fn accepts_post(mut self) -> Self {
        self.accepts_post = true;
        self
    }

    /// The host name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for PolicyHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyHost")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("reply", &self.reply)
            .field("browser_only", &self.browser_only)
            .field("accepts_post", &self.accepts_post)
            .finish_non_exhaustive()
    }
}

/// A request the server received, as recorded for tests.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Request {
    /// The TLS SNI name the client sent, if any.
    pub sni: Option<String>,
    /// The request method.
    pub method: String,
    /// The request target.
    pub path: String,
    /// The request headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// The request body, read for `POST` by its `Content-Length` (at most
    /// [`MAX_REQUEST_BODY`] octets); empty otherwise.
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A policy host ready to serve: what it answers, and its certificate chain with its key.
#[derive(Clone)]
pub struct ServedHost {
    host: Arc<PolicyHost>,
    identity: Arc<CertifiedKey>,
}

impl fmt::Debug for ServedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServedHost")
            .field("host", &self.host.name)
            .finish_non_exhaustive()
    }
}

impl ServedHost {
    /// Prepares `host` for serving.
    ///
    /// # Errors
    ///
    /// [`HttpsError::EmptyChain`] or [`HttpsError::Certificate`] when its certificate or key
    /// is unusable.
    pub fn new(host: PolicyHost) -> Result<Self, HttpsError> {
        let provider = rustls::crypto::ring::default_provider();
        let identity = identity(&host, &provider)?;
        Ok(Self {
            host: Arc::new(host),
            identity,
        })
    }
}

/// Where an [`HttpsServer`] finds the host that answers a TLS SNI name.
///
/// The server asks twice per connection, for the certificate during the handshake and for
/// the reply after it, so a source that makes hosts on demand should keep what it made for a
/// while.
pub trait HostSource: Send + Sync + fmt::Debug + 'static {
    /// The host for `sni` (`None`: the client sent no SNI); `None` fails the handshake.
    fn host(&self, sni: Option<&str>) -> Option<ServedHost>;
}

/// Whether an [`HttpsServer`] keeps every request for [`HttpsServer::requests`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recording {
    /// Keep every request (tests look at them).
    Requests,
    /// Keep none, so that memory does not grow with the number of requests.
    Off,
}

/// An HTTPS server for policy hosts on one or more sockets, selecting each host by SNI.
///
/// The server runs on the current tokio runtime until it is dropped.
pub struct HttpsServer {
    local_addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    tasks: JoinSet<()>,
}

impl fmt::Debug for HttpsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpsServer")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl HttpsServer {
    /// Starts serving `hosts` on `address` (port 0 picks a free port).
    ///
    /// `fallback`, if given, answers clients that send no SNI or an unknown name.
    ///
    /// # Errors
    ///
    /// [`HttpsError`] if the socket cannot be bound or a host's certificate is unusable.
    pub async fn start(
        address: SocketAddr,
        hosts: Vec<PolicyHost>,
        fallback: Option<PolicyHost>,
    ) -> Result<Self, HttpsError> {
        Self::start_on(&[address], hosts, fallback).await
    }

    /// Starts serving `hosts` on every address of `addresses` at once, as one server: the
    /// same hosts, chosen by SNI, and one log of requests. [`HttpsServer::local_addr`] is
    /// the first address.
    ///
    /// # Errors
    ///
    /// [`HttpsError`] if a socket cannot be bound or a host's certificate is unusable;
    /// [`HttpsError::NoAddress`] if `addresses` is empty.
    pub async fn start_on(
        addresses: &[SocketAddr],
        hosts: Vec<PolicyHost>,
        fallback: Option<PolicyHost>,
    ) -> Result<Self, HttpsError> {
        let mut list = FixedHosts {
            hosts: Vec::new(),
            fallback: None,
        };
        for host in hosts {
            list.hosts.push(ServedHost::new(host)?);
        }
        if let Some(host) = fallback {
            list.fallback = Some(ServedHost::new(host)?);
        }
        Self::start_with(addresses, Arc::new(list), Recording::Requests).await
    }

    /// Starts serving the hosts of `source` on every address of `addresses`, as
    /// [`HttpsServer::start_on`] does for a fixed list.
    ///
    /// # Errors
    ///
    /// [`HttpsError`] if a socket cannot be bound; [`HttpsError::NoAddress`] if `addresses`
    /// is empty.
    pub async fn start_with(
        addresses: &[SocketAddr],
        source: Arc<dyn HostSource>,
        recording: Recording,
    ) -> Result<Self, HttpsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let resolver = Arc::new(SniResolver { source });
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(HttpsError::Tls)?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let mut listeners = Vec::with_capacity(addresses.len());
        for &address in addresses {
            let listener = TcpListener::bind(address)
                .await
                .map_err(|source| HttpsError::Bind { address, source })?;
            let local = listener
                .local_addr()
                .map_err(|source| HttpsError::Bind { address, source })?;
            listeners.push((listener, local));
        }
        let local_addr = listeners
            .first()
            .map(|(_, local)| *local)
            .ok_or(HttpsError::NoAddress)?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = (recording == Recording::Requests).then(|| requests.clone());
        let mut tasks = JoinSet::new();
        for (listener, _) in listeners {
            tasks.spawn(accept_loop(
                listener,
                acceptor.clone(),
                resolver.clone(),
                log.clone(),
            ));
        }
        Ok(Self {
            local_addr,
            requests,
            tasks,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The requests received so far, in order (none with [`Recording::Off`]).
    pub fn requests(&self) -> Vec<Request> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops the server and every connection it is serving.
    pub fn shutdown(mut self) {
        self.tasks.abort_all();
    }
}

/// A fixed list of hosts, and the one that answers unknown names.
#[derive(Debug)]
struct FixedHosts {
    hosts: Vec<ServedHost>,
    fallback: Option<ServedHost>,
}

impl HostSource for FixedHosts {
    fn host(&self, sni: Option<&str>) -> Option<ServedHost> {
        sni.and_then(|name| {
            let name = name.to_ascii_lowercase();
            self.hosts.iter().find(|served| served.host.name == name)
        })
        .or(self.fallback.as_ref())
        .cloned()
    }
}

#[derive(Debug)]
struct SniResolver {
    source: Arc<dyn HostSource>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.source
            .host(client_hello.server_name())
            .map(|served| served.identity)
    }
}

fn identity(
    host: &PolicyHost,
    provider: &rustls::crypto::CryptoProvider,
) -> Result<Arc<CertifiedKey>, HttpsError> {
    if host.chain.is_empty() {
        return Err(HttpsError::EmptyChain {
            host: host.name.clone(),
        });
    }
    CertifiedKey::from_der(host.chain.clone(), host.key.clone_key(), provider)
        .map(Arc::new)
        .map_err(|source| HttpsError::Certificate {
            host: host.name.clone(),
            source,
        })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    resolver: Arc<SniResolver>,
    requests: Option<Arc<Mutex<Vec<Request>>>>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let resolver = resolver.clone();
                let requests = requests.clone();
                connections.spawn(async move {
                    let _ = serve_connection(stream, acceptor, &resolver, requests.as_deref()).await;
                });
            }
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    acceptor: TlsAcceptor,
    resolver: &SniResolver,
    requests: Option<&Mutex<Vec<Request>>>,
) -> std::io::Result<()> {
    let mut tls = tokio::time::timeout(REQUEST_TIMEOUT, acceptor.accept(stream))
        .await
        .map_err(|_| std::io::ErrorKind::TimedOut)??;
    let sni = tls.get_ref().1.server_name().map(str::to_owned);
    let head = tokio::time::timeout(REQUEST_TIMEOUT, read_head(&mut tls))
        .await
        .map_err(|_| std::io::ErrorKind::TimedOut)??;
    let Some((method, path, headers)) = parse_head(&head) else {
        let reply = Reply::body(400, Some("text/plain"), "bad request\n");
        return respond(&mut tls, &reply).await;
    };
    let mut request = Request {
        sni: sni.clone(),
        method,
        path,
        headers,
        body: Vec::new(),
    };
    if request.method == "POST" {
        let length = request
            .header("content-length")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if length > MAX_REQUEST_BODY {
            let reply = Reply::body(413, Some("text/plain"), "too large\n");
            return respond(&mut tls, &reply).await;
        }
        let mut body = vec![0u8; length];
        tokio::time::timeout(REQUEST_TIMEOUT, tls.read_exact(&mut body))
            .await
            .map_err(|_| std::io::ErrorKind::TimedOut)??;
        request.body = body;
    }
    if let Some(requests) = requests {
        requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request.clone());
    }
    let reply = match resolver.source.host(sni.as_deref()) {
        Some(served) => choose_reply(&served.host, &request),
        None => Reply::not_found(),
    };
    respond(&mut tls, &reply).await
}

fn choose_reply(host: &PolicyHost, request: &Request) -> Reply {
    let is_browser = request
        .header("user-agent")
        .is_some_and(|agent| agent.contains("Mozilla/"));
    if host.browser_only && !is_browser {
        return Reply::body(
            403,
            Some("text/html"),
            "<html><body>Access denied</body></html>\n",
        );
    }
    let post = host.accepts_post && request.method == "POST";
    if request.method != "GET" && request.method != "HEAD" && !post {
        return Reply::body(405, Some("text/plain"), "method not allowed\n");
    }
    if request.path != host.path {
        return Reply::not_found();
    }
    host.reply.clone()
}

/// Reads up to the blank line that ends a request head, at most [`MAX_REQUEST_HEAD`] bytes.
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") && !head.ends_with(b"\n\n") {
        if head.len() >= MAX_REQUEST_HEAD {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        // One byte at a time past what we have, so nothing after the head is consumed.
        let n = stream.read(&mut buf[..1]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(head)
}

type Head = (String, String, Vec<(String, String)>);

fn parse_head(head: &[u8]) -> Option<Head> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.lines();
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let version = request_line.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let headers = lines
        .take_while(|line| !line.is_empty())
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect();
    Some((method, path, headers))
}

fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// A response head: the status line, `headers`, the `Date` an origin server with a clock sends
/// (RFC 9110 §6.6.1; `mxsec doctor` reads the clock from it) and `Connection: close`.
fn head_for(status: u16, headers: &[(&str, String)]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nDate: {}\r\n",
        status_text(status),
        httpdate::fmt_http_date(std::time::SystemTime::now())
    );
    for (name, value) in headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

async fn respond<S: AsyncWrite + Unpin>(stream: &mut S, reply: &Reply) -> std::io::Result<()> {
    const TEXT_PLAIN: &str = "text/plain";
    match reply {
        Reply::Body {
            status,
            content_type,
            body,
        } => {
            let mut headers = vec![("Content-Length", body.len().to_string())];
            if let Some(content_type) = content_type {
                headers.push(("Content-Type", content_type.clone()));
            }
            stream.write_all(&head_for(*status, &headers)).await?;
            stream.write_all(body).await?;
        }
        Reply::Redirect { status, location } => {
            let body = format!("moved to {location}\n");
            let headers = [
                ("Location", location.clone()),
                ("Content-Type", TEXT_PLAIN.to_owned()),
                ("Content-Length", body.len().to_string()),
            ];
            stream.write_all(&head_for(*status, &headers)).await?;
            stream.write_all(body.as_bytes()).await?;
        }
        Reply::Slow { body, interval } => {
            let headers = [
                ("Content-Type", TEXT_PLAIN.to_owned()),
                ("Content-Length", body.len().to_string()),
            ];
            stream.write_all(&head_for(200, &headers)).await?;
            stream.flush().await?;
            for byte in body {
                tokio::time::sleep(*interval).await;
                stream.write_all(std::slice::from_ref(byte)).await?;
                stream.flush().await?;
            }
        }
        Reply::Endless => {
            let headers = [("Content-Type", TEXT_PLAIN.to_owned())];
            stream.write_all(&head_for(200, &headers)).await?;
            let block = [b'x'; BLOCK];
            // Ends when the client goes away and the write fails.
            loop {
                stream.write_all(&block).await?;
            }
        }
        Reply::NeverCloses { body } => {
            let headers = [("Content-Type", TEXT_PLAIN.to_owned())];
            stream.write_all(&head_for(200, &headers)).await?;
            stream.write_all(body).await?;
            stream.flush().await?;
            // Far longer than any client waits (RFC 8461 §3.3 suggests one minute).
            tokio::time::sleep(NEVER_CLOSES_HOLD).await;
        }
        Reply::Oversized {
            length,
            announce_length,
        } => {
            let mut headers = vec![("Content-Type", TEXT_PLAIN.to_owned())];
            if *announce_length {
                headers.push(("Content-Length", length.to_string()));
            }
            stream.write_all(&head_for(200, &headers)).await?;
            let block = [b'x'; BLOCK];
            let mut left = *length;
            while left > 0 {
                let n = left.min(BLOCK);
                stream.write_all(&block[..n]).await?;
                left -= n;
            }
        }
    }
    stream.flush().await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_parse_head_reads_request_line_and_headers() {
        let head = b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.a.test\r\nUser-Agent: mxsec\r\n\r\n";
        let (method, path, headers) = parse_head(head).unwrap();
        assert_eq!(method, "GET");
        assert_eq!(path, POLICY_PATH);
        assert_eq!(
            headers,
            vec![
                ("host".to_owned(), "mta-sts.a.test".to_owned()),
                ("user-agent".to_owned(), "mxsec".to_owned())
            ]
        );
        assert!(parse_head(b"garbage\r\n\r\n").is_none());
        assert!(parse_head(b"GET / SPDY/3\r\n\r\n").is_none());
        assert!(parse_head(&[0xff, 0xfe, b'\r', b'\n']).is_none());
    }
}
