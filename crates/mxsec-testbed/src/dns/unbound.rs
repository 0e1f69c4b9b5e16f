//! A real validating resolver, `unbound`, on loopback, for the `trust-ad` DNS back end.
//!
//! It forwards every query to a testbed [`DnsServer`] and validates from the testbed's root
//! key, so AD-bit answers are as a production resolver would give them. It listens on its own
//! loopback port, keeps its files in a private temporary directory and is killed when dropped.
//! A missing program is an error that says how to install it (Debian package `unbound`,
//! installed by `scripts/test`), so a test can never skip silently.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};
use tokio::net::UdpSocket;

use super::DnsServer;

/// How long unbound may take to answer its first query.
const STARTUP: Duration = Duration::from_secs(10);
/// How many ports `start` tries, in case another process takes the chosen one first.
const ATTEMPTS: usize = 5;

static INSTANCE: AtomicUsize = AtomicUsize::new(0);

/// A running `unbound` on loopback (127.0.0.1 unless [`Unbound::start_at`] says otherwise),
/// forwarding to a testbed DNS server.
#[derive(Debug)]
pub struct Unbound {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

/// Why unbound could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnboundError {
    /// The program is not installed.
    #[error(
        "unbound is not installed: install the Debian package unbound \
         (`apt-get install -y unbound`; scripts/test does this)"
    )]
    NotInstalled,
    /// The program, its directory or its configuration could not be created.
    #[error("cannot start unbound")]
    Spawn(#[source] io::Error),
    /// unbound exited, or did not answer, within the startup time.
    #[error("unbound on {addr} did not answer within {STARTUP:?}; its log says: {log}")]
    NotReady {
        /// The address it was told to listen on.
        addr: SocketAddr,
        /// The end of its log file.
        log: String,
    },
}

impl Unbound {
    /// Starts unbound on a free loopback port, forwarding to `server` and trusting its root
    /// key (the DNSKEY line of [`DnsServer::trust_anchor`]).
    ///
    /// # Errors
    ///
    /// [`UnboundError::NotInstalled`] if `unbound` is missing; the other variants if it does
    /// not come up.
    pub async fn start(server: &DnsServer) -> Result<Self, UnboundError> {
        Self::start_with_anchor(server, server.trust_anchor().dnskey_line()).await
    }

    /// Starts unbound like [`Unbound::start`], but trusting the given DNSKEY or DS line
    /// instead of the server's own root key (to show that a wrong anchor makes answers
    /// bogus).
    ///
    /// # Errors
    ///
    /// As for [`Unbound::start`].
    pub async fn start_with_anchor(
        server: &DnsServer,
        anchor_line: &str,
    ) -> Result<Self, UnboundError> {
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let port = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
                .and_then(|s| s.local_addr())
                .map_err(UnboundError::Spawn)?
                .port();
            match Self::start_on(
                server,
                anchor_line,
                SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            )
            .await
            {
                Ok(unbound) => return Ok(unbound),
                Err(e @ UnboundError::NotReady { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(UnboundError::NotReady {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            log: String::new(),
        }))
    }

    /// Starts unbound on a given IPv4 address and port, forwarding to `server` and trusting
    /// its root key: on port 53, programs that read `/etc/resolv.conf` (Postfix, dig) can use
    /// it (`mxsec demo --serve --validating-resolver`).
    ///
    /// # Errors
    ///
    /// As for [`Unbound::start`]; [`UnboundError::NotReady`] with unbound's log if the address
    /// cannot be bound.
    pub async fn start_at(server: &DnsServer, addr: SocketAddrV4) -> Result<Self, UnboundError> {
        Self::start_on(
            server,
            server.trust_anchor().dnskey_line(),
            SocketAddr::V4(addr),
        )
        .await
    }

    async fn start_on(
        server: &DnsServer,
        anchor_line: &str,
        addr: SocketAddr,
    ) -> Result<Self, UnboundError> {
        installed()?;
        let dir = std::env::temp_dir().join(format!(
            "mxsec-unbound-{}-{}",
            std::process::id(),
            INSTANCE.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(UnboundError::Spawn)?;
        let anchor = dir.join("root.key");
        std::fs::write(&anchor, format!("{anchor_line}\n")).map_err(UnboundError::Spawn)?;
        let conf = dir.join("unbound.conf");
        let upstream = server.addr();
        std::fs::write(
            &conf,
            format!(
                r#"server:
    interface: {ip}@{port}
    port: {port}
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{dir}"
    pidfile: ""
    use-syslog: no
    logfile: "{dir}/unbound.log"
    verbosity: 1
    do-ip6: no
    num-threads: 1
    so-reuseport: no
    outgoing-range: 64
    num-queries-per-thread: 32
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    local-zone: "test." nodefault
    trust-anchor-file: "{anchor}"
    module-config: "validator iterator"
    qname-minimisation: no
    aggressive-nsec: no
    minimal-responses: yes
    ede: yes
    val-log-level: 2
remote-control:
    control-enable: no
forward-zone:
    name: "."
    forward-addr: {up_ip}@{up_port}
"#,
                ip = addr.ip(),
                port = addr.port(),
                dir = dir.display(),
                anchor = anchor.display(),
                up_ip = upstream.ip(),
                up_port = upstream.port(),
            ),
        )
        .map_err(UnboundError::Spawn)?;
        // unbound runs under a shell that exits with it, and that kills it when our end of the
        // shell's stdin closes, which happens when this process exits for any reason: no
        // unbound outlives its test, even when the harness is never dropped (kept in a
        // static, or the test process killed).
        let child = Command::new("sh")
            .arg("-c")
            .arg("exec 3<&0; unbound -d -c \"$0\" & pid=$!; (read -r _ <&3; kill $pid) & wait $pid")
            .arg(&conf)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(UnboundError::Spawn)?;
        let mut unbound = Self { child, addr, dir };
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if matches!(unbound.child.try_wait(), Ok(Some(_))) {
                break;
            }
            if unbound.answers().await {
                return Ok(unbound);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let log = unbound.log_tail();
        unbound.kill();
        Err(UnboundError::NotReady { addr, log })
    }

    /// The address to send queries to (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// unbound's log so far (verbosity 1, validation failures at `val-log-level: 2`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("unbound.log")).unwrap_or_default()
    }

    /// Whether unbound answers a query it resolves locally (`localhost. A`).
    async fn answers(&self) -> bool {
        let Ok(socket) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await else {
            return false;
        };
        let Ok(name) = Name::from_ascii("localhost.") else {
            return false;
        };
        let mut query = Message::query();
        query.metadata.recursion_desired = true;
        query.add_query(Query::query(name, RecordType::A));
        let Ok(bytes) = query.to_vec() else {
            return false;
        };
        if socket.send_to(&bytes, self.addr).await.is_err() {
            return false;
        }
        let mut buf = [0u8; 512];
        matches!(
            tokio::time::timeout(Duration::from_millis(200), socket.recv_from(&mut buf)).await,
            Ok(Ok(_))
        )
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let start = log.len().saturating_sub(2000);
        log.get(start..).unwrap_or_default().to_owned()
    }

    fn kill(&mut self) {
        // Closing stdin makes the shell stop unbound and exit; it is then reaped.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Whether the `unbound` program can be run.
fn installed() -> Result<(), UnboundError> {
    match Command::new("unbound")
        .arg("-V")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(UnboundError::NotInstalled),
        Err(e) => Err(UnboundError::Spawn(e)),
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
