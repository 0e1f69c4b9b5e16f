//! Test harness: the testbed, a running `mxsec daemon`, a socketmap client, and a DNS relay
//! that can fail chosen names.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mxsec_testbed::scenario::TestbedFiles;
use mxsec_testbed::Testbed;

/// The testbed shared by every test, on a runtime of its own.
pub(crate) fn testbed() -> &'static (SocketAddr, TestbedFiles) {
    static TESTBED: OnceLock<(SocketAddr, TestbedFiles)> = OnceLock::new();
    TESTBED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
            runtime.block_on(async move {
                let testbed = Testbed::start().await.expect("testbed starts");
                tx.send((testbed.dns_addr(), testbed.files().clone()))
                    .expect("send");
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("testbed started")
    })
}

/// How to start a daemon.
pub(crate) struct Setup {
    /// The DNS server the daemon asks.
    pub(crate) dns: SocketAddr,
    /// `cache.store`.
    pub(crate) store: String,
    /// The connect map (where published addresses really are).
    pub(crate) connect_map: PathBuf,
    /// More keys of `[cache]`, one per line.
    pub(crate) cache_extra: String,
    /// More TOML, appended to the configuration.
    pub(crate) extra: String,
}

impl Setup {
    /// The testbed's DNS and connect map, a store in `dir`.
    pub(crate) fn new(dir: &Path) -> Self {
        let (dns, files) = testbed();
        Self {
            dns: *dns,
            store: dir.join("policies.sqlite3").display().to_string(),
            connect_map: files.connect_map.clone(),
            cache_extra: String::new(),
            extra: String::new(),
        }
    }
}

/// A running `mxsec daemon`; stopped with SIGTERM when dropped.
pub(crate) struct Daemon {
    child: Child,
    /// The socketmap TCP address.
    pub(crate) addr: SocketAddr,
    /// The metrics address.
    pub(crate) metrics: SocketAddr,
    /// Every line logged so far.
    pub(crate) log: Arc<Mutex<Vec<String>>>,
    /// The configuration file.
    pub(crate) config: PathBuf,
}

impl Daemon {
    /// Writes the configuration into `dir` and starts the daemon; returns once it is ready.
    pub(crate) fn start(dir: &Path, setup: &Setup) -> Self {
        let (_, files) = testbed();
        let config = dir.join("mxsec.toml");
        let text = format!(
            r#"[listen]
tcp = ["127.0.0.1:0"]
metrics = "127.0.0.1:0"

[dns]
dnssec = "validate"
resolver = "{dns}"
trust_anchor = "{anchor}"
timeout = 5

[tls]
ca_files = ["{ca}"]

[cache]
store = "{store}"
failure_ttl = 1
{cache_extra}

[refresh]
interval = 3600

{extra}
"#,
            dns = setup.dns,
            anchor = files.trust_anchor.display(),
            ca = files.ca_file.display(),
            store = setup.store,
            cache_extra = setup.cache_extra,
            extra = setup.extra,
        );
        std::fs::write(&config, text).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_mxsec"))
            .arg("daemon")
            .arg("--config")
            .arg(&config)
            .arg("--connect-map")
            .arg(&setup.connect_map)
            .env("MXSEC_LOG", "info")
            .env_remove("JOURNAL_STREAM")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mxsec daemon starts");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line.clone());
                sink.lock().unwrap().push(line);
            }
        });
        let (mut addr, mut metrics) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("daemon not ready; log: {:#?}", log.lock().unwrap()));
            let address = line
                .split_whitespace()
                .find_map(|word| word.strip_prefix("address="))
                .and_then(|a| a.parse::<SocketAddr>().ok());
            if line.contains("socketmap listening on TCP") {
                addr = address;
            } else if line.contains("metrics listening") {
                metrics = address;
            } else if line.contains("mxsec daemon ready") {
                break;
            }
        }
        Self {
            child,
            addr: addr.expect("socketmap address logged"),
            metrics: metrics.expect("metrics address logged"),
            log,
            config,
        }
    }

    /// Sends a signal to the daemon.
    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Stops the daemon with SIGTERM and returns whether it exited successfully.
    pub(crate) fn stop(mut self) -> bool {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("daemon did not stop after SIGTERM");
    }

    /// One lookup on a new connection.
    pub(crate) fn query(&self, map: &str, key: &str) -> String {
        Client::connect(self.addr)
            .ask(&[&format!("{map} {key}")])
            .remove(0)
    }

    /// The metrics text.
    pub(crate) fn metrics(&self) -> String {
        let mut stream = TcpStream::connect(self.metrics).expect("metrics connect");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .expect("metrics request");
        let mut text = String::new();
        stream.read_to_string(&mut text).expect("metrics response");
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        text
    }

    /// The value of one metrics line, e.g. `mxsec_malformed_requests_total`.
    pub(crate) fn metric(&self, series: &str) -> u64 {
        self.metrics()
            .lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no metric {series}"))
    }

    /// The daemon's resident memory (VmRSS) in KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the daemon's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// Whether the daemon is still running.
    pub(crate) fn running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    /// Whether a logged line contains `text`.
    pub(crate) fn logged(&self, text: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(text))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A socketmap client over one TCP connection.
pub(crate) struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connects.
    pub(crate) fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// A client over a connection opened already.
    pub(crate) fn from_stream(stream: TcpStream) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes raw bytes.
    pub(crate) fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends every request in one write (pipelined), then reads one reply per request.
    pub(crate) fn ask(&mut self, requests: &[&str]) -> Vec<String> {
        let mut wire = Vec::new();
        for request in requests {
            wire.extend_from_slice(format!("{}:{request},", request.len()).as_bytes());
        }
        self.send_raw(&wire);
        (0..requests.len())
            .map(|_| self.read_reply().expect("a reply"))
            .collect()
    }

    /// Reads one reply; `None` at end of stream.
    pub(crate) fn read_reply(&mut self) -> Option<String> {
        loop {
            if let Some(colon) = self.buf.iter().position(|b| *b == b':') {
                let len: usize = std::str::from_utf8(&self.buf[..colon])
                    .expect("digits")
                    .parse()
                    .expect("length");
                if self.buf.len() > colon + len + 1 {
                    assert_eq!(self.buf[colon + 1 + len], b',', "netstring comma");
                    let payload =
                        String::from_utf8(self.buf[colon + 1..colon + 1 + len].to_vec()).unwrap();
                    self.buf.drain(..colon + len + 2);
                    return Some(payload);
                }
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read");
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// A DNS relay in front of the testbed's DNS server, over UDP and TCP, that answers SERVFAIL
/// for the names in its fail list (lower case, no trailing dot), and can hold every answer
/// back for a while (a slow resolver).
pub(crate) struct DnsRelay {
    /// The relay's address (UDP and TCP, same port).
    pub(crate) addr: SocketAddr,
    failing: Arc<Mutex<HashSet<String>>>,
    delay: Arc<Mutex<Duration>>,
}

impl DnsRelay {
    /// Starts relaying to `upstream`.
    pub(crate) fn start(upstream: SocketAddr) -> Self {
        // The port chosen for UDP may be taken for TCP: try a few.
        let (udp, tcp) = (0..20)
            .find_map(|_| {
                let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
                let addr = udp.local_addr().expect("addr");
                let tcp = std::net::TcpListener::bind(addr).ok()?;
                Some((udp, tcp))
            })
            .expect("a port free for both UDP and TCP");
        let addr = udp.local_addr().expect("addr");
        let failing: Arc<Mutex<HashSet<String>>> = Arc::default();
        let delay: Arc<Mutex<Duration>> = Arc::default();
        let (fail, hold) = (failing.clone(), delay.clone());
        std::thread::spawn(move || {
            let mut packet = [0u8; 4096];
            while let Ok((n, from)) = udp.recv_from(&mut packet) {
                let query = packet[..n].to_vec();
                let (udp, fail) = (udp.try_clone().expect("clone"), fail.clone());
                let wait = *hold.lock().unwrap();
                std::thread::spawn(move || {
                    std::thread::sleep(wait);
                    if let Some(reply) = relay_udp(&query, upstream, &fail) {
                        let _ = udp.send_to(&reply, from);
                    }
                });
            }
        });
        let fail = failing.clone();
        std::thread::spawn(move || {
            for stream in tcp.incoming().map_while(Result::ok) {
                let fail = fail.clone();
                std::thread::spawn(move || relay_tcp(stream, upstream, &fail));
            }
        });
        Self {
            addr,
            failing,
            delay,
        }
    }

    /// Holds every UDP answer back for `delay` from now on.
    pub(crate) fn slow_down(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    /// Answers SERVFAIL for `name` from now on.
    pub(crate) fn fail(&self, name: &str) {
        self.failing.lock().unwrap().insert(name.to_owned());
    }

    /// Relays every name again.
    pub(crate) fn heal(&self) {
        self.failing.lock().unwrap().clear();
    }
}

/// The query name of a DNS message, lower case, without the trailing dot.
fn qname(message: &[u8]) -> Option<(String, usize)> {
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*message.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(message.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    Some((labels.join("."), at + 4))
}

/// A SERVFAIL reply to `query`, or `None` when its name is not failing.
fn servfail(query: &[u8], failing: &Mutex<HashSet<String>>) -> Option<Vec<u8>> {
    let (name, question_end) = qname(query)?;
    if !failing.lock().unwrap().contains(&name) {
        return None;
    }
    let mut reply = query.get(..question_end)?.to_vec();
    reply[2] = 0x80 | (query[2] & 0x01); // QR, keep RD
    reply[3] = 0x80 | 2; // RA, RCODE SERVFAIL
    reply[4..12].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    Some(reply)
}

fn relay_udp(
    query: &[u8],
    upstream: SocketAddr,
    failing: &Mutex<HashSet<String>>,
) -> Option<Vec<u8>> {
    if let Some(reply) = servfail(query, failing) {
        return Some(reply);
    }
    let socket = UdpSocket::bind("127.0.0.1:0").ok()?;
    socket.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    socket.send_to(query, upstream).ok()?;
    let mut reply = [0u8; 65535];
    let n = socket.recv(&mut reply).ok()?;
    Some(reply[..n].to_vec())
}

fn relay_tcp(mut client: TcpStream, upstream: SocketAddr, failing: &Mutex<HashSet<String>>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    loop {
        let mut len = [0u8; 2];
        if client.read_exact(&mut len).is_err() {
            return;
        }
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if client.read_exact(&mut query).is_err() {
            return;
        }
        let reply = match servfail(&query, failing) {
            Some(reply) => reply,
            None => {
                let Ok(mut server) = TcpStream::connect(upstream) else {
                    return;
                };
                let _ = server.set_read_timeout(Some(Duration::from_secs(5)));
                let mut framed = len.to_vec();
                framed.extend_from_slice(&query);
                let mut rlen = [0u8; 2];
                if server.write_all(&framed).is_err() || server.read_exact(&mut rlen).is_err() {
                    return;
                }
                let mut reply = vec![0u8; usize::from(u16::from_be_bytes(rlen))];
                if server.read_exact(&mut reply).is_err() {
                    return;
                }
                reply
            }
        };
        let mut framed = u16::try_from(reply.len()).unwrap().to_be_bytes().to_vec();
        framed.extend_from_slice(&reply);
        if client.write_all(&framed).is_err() {
            return;
        }
    }
}
