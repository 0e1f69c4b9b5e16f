//! A real `redis-server` on loopback, started by the test that needs it.
//!
//! The Redis policy store is tested against the real server (Debian package `redis-server`,
//! which `scripts/test` installs), never a mock. Each [`RedisServer`] listens on its own
//! loopback port, keeps nothing on disk, and is killed when dropped. A missing program is an
//! error that says how to install it, so a test can never skip silently.
//!
//! [`RedisServer::start_tls`] starts one that speaks TLS only (`--port 0 --tls-port`), with a
//! certificate of the testbed PKI ([`crate::pki`]) written to a temporary directory that
//! lives as long as the server.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::pki::{LeafSpec, PkiError, ServedChain, TestPki};

/// How long a new server may take to accept connections.
const STARTUP: Duration = Duration::from_secs(10);

/// How many ports `start` tries, in case another process takes the chosen one first.
const ATTEMPTS: usize = 5;

/// A running `redis-server` child process on 127.0.0.1.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
    /// The certificate files of a TLS server, removed when it is dropped.
    tls: Option<TempDir>,
}

/// What a TLS server presents and accepts, in PEM.
#[derive(Clone, Debug)]
pub struct RedisTlsSetup {
    /// The server's certificate chain, leaf first (for example
    /// [`Leaf::chain_pem`](crate::pki::Leaf::chain_pem)); the leaf should name `localhost`,
    /// the host of [`RedisServer::url`].
    pub chain_pem: String,
    /// The server's private key.
    pub key_pem: String,
    /// The CA certificates that client certificates must chain to.
    pub client_ca_pem: String,
    /// Whether clients must present a certificate (`--tls-auth-clients`).
    pub client_auth: ClientAuth,
}

impl RedisTlsSetup {
    /// A server certificate for `localhost` issued by `pki`'s intermediate A, whose root also
    /// issues the accepted client certificates.
    ///
    /// # Errors
    ///
    /// [`PkiError`] if the certificate cannot be issued.
    pub fn from_pki(pki: &TestPki, client_auth: ClientAuth) -> Result<Self, PkiError> {
        let leaf = pki.issue(&LeafSpec::new(["localhost"]))?;
        Ok(Self {
            chain_pem: leaf.chain_pem(ServedChain::LeafAndIntermediate),
            key_pem: leaf.key().private_key_pem(),
            client_ca_pem: pki.root_pem(),
            client_auth,
        })
    }
}

/// Whether a TLS server asks clients for a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificate is asked for (`--tls-auth-clients no`).
    None,
    /// A client certificate issued by the client CA is required (`--tls-auth-clients yes`).
    Required,
}

/// Why a `redis-server` could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisServerError {
    /// The program is not installed.
    #[error(
        "redis-server is not installed: install the Debian package redis-server \
         (`apt-get install -y redis-server`; scripts/test does this)"
    )]
    NotInstalled,
    /// The program could not be started, or no free loopback port was found.
    #[error("cannot start redis-server")]
    Spawn(#[source] io::Error),
    /// The server exited, or did not answer PING, within the startup time.
    #[error("redis-server on 127.0.0.1:{port} did not answer PING within {STARTUP:?}")]
    NotReady {
        /// The port it was told to listen on.
        port: u16,
    },
}

impl RedisServer {
    /// Starts a server on a free loopback port.
    ///
    /// # Errors
    ///
    /// [`RedisServerError::NotInstalled`] if `redis-server` is missing; the other variants if
    /// it does not come up.
    pub fn start() -> Result<Self, RedisServerError> {
        Self::start_with(None)
    }

    /// Starts a server that speaks TLS only, on a free loopback port.
    ///
    /// # Errors
    ///
    /// As for [`RedisServer::start`]; [`RedisServerError::Spawn`] also if the certificate
    /// files cannot be written.
    pub fn start_tls(tls: &RedisTlsSetup) -> Result<Self, RedisServerError> {
        Self::start_with(Some(tls))
    }

    fn start_with(tls: Option<&RedisTlsSetup>) -> Result<Self, RedisServerError> {
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .and_then(|l| l.local_addr())
                .map_err(RedisServerError::Spawn)?
                .port();
            match Self::spawn(port, tls) {
                Ok(server) => return Ok(server),
                // Another process may have taken the port between our check and the start.
                Err(e @ RedisServerError::NotReady { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(RedisServerError::NotReady { port: 0 }))
    }

    /// Starts a server on the given loopback port, for example to restart one in place.
    ///
    /// # Errors
    ///
    /// As for [`RedisServer::start`].
    pub fn start_on(port: u16) -> Result<Self, RedisServerError> {
        Self::spawn(port, None)
    }

    fn spawn(port: u16, tls: Option<&RedisTlsSetup>) -> Result<Self, RedisServerError> {
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--dir", &std::env::temp_dir().to_string_lossy()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let files = match tls {
            None => {
                command.args(["--port", &port.to_string()]);
                None
            }
            Some(tls) => {
                let dir = tempfile::tempdir().map_err(RedisServerError::Spawn)?;
                let write = |name: &str, pem: &str| {
                    let path = dir.path().join(name);
                    std::fs::write(&path, pem).map(|()| path.to_string_lossy().into_owned())
                };
                let cert = write("server.pem", &tls.chain_pem).map_err(RedisServerError::Spawn)?;
                let key = write("server.key", &tls.key_pem).map_err(RedisServerError::Spawn)?;
                let ca =
                    write("client-ca.pem", &tls.client_ca_pem).map_err(RedisServerError::Spawn)?;
                let auth = match tls.client_auth {
                    ClientAuth::None => "no",
                    ClientAuth::Required => "yes",
                };
                command
                    .args(["--port", "0"])
                    .args(["--tls-port", &port.to_string()])
                    .args(["--tls-cert-file", &cert])
                    .args(["--tls-key-file", &key])
                    .args(["--tls-ca-cert-file", &ca])
                    .args(["--tls-auth-clients", auth]);
                Some(dir)
            }
        };
        let child = command.spawn().map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => RedisServerError::NotInstalled,
            _ => RedisServerError::Spawn(e),
        })?;
        let mut server = Self {
            child,
            port,
            tls: files,
        };
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if matches!(server.child.try_wait(), Ok(Some(_))) {
                break;
            }
            if server.is_ready() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        server.kill();
        Err(RedisServerError::NotReady { port })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL to connect to: `redis://127.0.0.1:<port>/`, or for a TLS server
    /// `rediss://localhost:<port>/`, whose host its certificate names.
    pub fn url(&self) -> String {
        match self.tls {
            None => format!("redis://127.0.0.1:{}/", self.port),
            Some(_) => format!("rediss://localhost:{}/", self.port),
        }
    }

    /// Stops the server and waits for it to exit.
    pub fn stop(mut self) {
        self.kill();
    }

    /// Whether the server answers: PING without TLS; with TLS (whose handshake may need a
    /// client certificate), whether its port accepts connections, which it does once it has
    /// loaded its certificate.
    fn is_ready(&self) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
            return false;
        };
        if self.tls.is_some() {
            return true;
        }
        let mut reply = [0u8; 7];
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .is_ok()
            && stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    fn kill(&mut self) {
        // The child may already have exited; either way it is reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
