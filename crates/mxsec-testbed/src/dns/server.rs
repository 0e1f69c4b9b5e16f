//! The authoritative server: UDP and TCP listeners on one loopback address and port.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

use super::answer::answer;
use super::catalog::{compile, Catalog, KeyStore};
use super::keys::TrustAnchor;
use super::lazy::{LazyZone, LazyZones};
use super::zone::{Fault, Zone};
use super::{DnsServerError, ZoneError};

/// How long a TCP connection may stay idle, or take to send one message, before it is closed.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// The largest UDP response sent, whatever the client advertises (RFC 6891 §6.2.5).
const MAX_UDP_PAYLOAD: u16 = 4096;
/// The UDP payload size this server advertises in its OPT record.
const ADVERTISED_PAYLOAD: u16 = 1232;
/// How many times to look for a port free for both UDP and TCP when asked for port 0.
const BIND_ATTEMPTS: usize = 32;

/// Configures and starts a [`DnsServer`].
#[derive(Debug)]
#[must_use]
pub struct DnsServerBuilder {
    ip: IpAddr,
    port: u16,
    zones: Vec<Zone>,
    lazy: Vec<Arc<dyn LazyZone>>,
    answer_delay: Duration,
}

impl DnsServerBuilder {
    /// The loopback address to listen on (default `127.0.0.1`); any of 127.0.0.0/8 or `::1`.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = ip;
        self
    }

    /// The port for both UDP and TCP (default 0: a free port, the same for both).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Adds a zone. The root (`.`) and `test.` zones are added, secure and empty, unless
    /// given here.
    pub fn zone(mut self, zone: Zone) -> Self {
        self.zones.push(zone);
        self
    }

    /// Adds several zones.
    pub fn zones(mut self, zones: impl IntoIterator<Item = Zone>) -> Self {
        self.zones.extend(zones);
        self
    }

    /// Adds a zone whose names below the apex are computed when asked for ([`LazyZone`]);
    /// its apex is compiled and signed with the other zones, so its parent holds its DS.
    pub fn lazy_zone(mut self, zone: Arc<dyn LazyZone>) -> Self {
        self.lazy.push(zone);
        self
    }

    /// Delays every answer by this much (default none), e.g. for latency benchmarks.
    pub fn answer_delay(mut self, delay: Duration) -> Self {
        self.answer_delay = delay;
        self
    }

    /// Signs the zones, binds the sockets and starts serving on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`DnsServerError::Zone`] when the zone data is inconsistent (the message names the
    /// zone and the record), [`DnsServerError::Bind`] when the address is not available.
    pub async fn start(self) -> Result<DnsServer, DnsServerError> {
        let mut keys = KeyStore::default();
        let lazy = LazyZones::new(self.lazy)?;
        let mut zones = self.zones;
        zones.extend(lazy.apexes());
        let catalog = compile(&zones, self.ip, &mut keys, SystemTime::now())?;
        let root = hickory_proto::rr::Name::root();
        let trust_anchor = TrustAnchor::new(keys.get(&root)?)?;
        let (udp, tcp) = bind(self.ip, self.port).await?;
        let addr = udp.local_addr().map_err(|source| DnsServerError::Bind {
            addr: SocketAddr::new(self.ip, self.port),
            source,
        })?;
        let shared = Arc::new(Shared {
            catalog: RwLock::new(Arc::new(catalog)),
            keys: Mutex::new(keys),
            lazy,
            ip: self.ip,
            answer_delay_ms: AtomicU64::new(duration_ms(self.answer_delay)),
            udp_queries: AtomicU64::new(0),
            tcp_queries: AtomicU64::new(0),
        });
        let udp = Arc::new(udp);
        let tasks = vec![
            tokio::spawn(serve_udp(udp, Arc::clone(&shared))),
            tokio::spawn(serve_tcp(tcp, Arc::clone(&shared))),
        ];
        Ok(DnsServer {
            addr,
            shared,
            trust_anchor,
            tasks,
        })
    }
}

/// A running authoritative DNS server for the testbed's zones. Stops when dropped.
///
/// ```no_run
/// # async fn demo() -> Result<(), mxsec_testbed::dns::DnsServerError> {
/// use std::net::Ipv4Addr;
/// use mxsec_testbed::dns::{DnsServer, Zone};
///
/// let server = DnsServer::builder()
///     .ip(Ipv4Addr::new(127, 0, 0, 53).into())
///     .zone(Zone::new("x.test").mx(10, "mx.x.test").a("mx.x.test", Ipv4Addr::LOCALHOST))
///     .start()
///     .await?;
/// let resolver_target = server.addr();
/// let anchor_line = server.trust_anchor().ds_line().to_owned();
/// # let _ = (resolver_target, anchor_line);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DnsServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    trust_anchor: TrustAnchor,
    tasks: Vec<JoinHandle<()>>,
}

impl DnsServer {
    /// A builder listening on `127.0.0.1`, port 0, with only the root and `test.` zones.
    pub fn builder() -> DnsServerBuilder {
        DnsServerBuilder {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            zones: Vec::new(),
            lazy: Vec::new(),
            answer_delay: Duration::ZERO,
        }
    }

    /// The address (UDP and TCP) the server answers on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The root zone's key, for a validator's trust anchor.
    pub fn trust_anchor(&self) -> &TrustAnchor {
        &self.trust_anchor
    }

    /// Changes the delay added to every answer.
    pub fn set_answer_delay(&self, delay: Duration) {
        self.shared
            .answer_delay_ms
            .store(duration_ms(delay), Ordering::Relaxed);
    }

    /// Replaces all zones. Zones keep their keys (so DS records and the trust anchor stay
    /// valid) and are re-signed; queries see either the old or the new data, never a mix.
    ///
    /// # Errors
    ///
    /// A [`ZoneError`] when the new data is inconsistent; the old zones then stay in place.
    pub fn set_zones(&self, zones: &[Zone]) -> Result<(), ZoneError> {
        let mut keys = self
            .shared
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut all = zones.to_vec();
        all.extend(self.shared.lazy.apexes());
        let catalog = compile(&all, self.shared.ip, &mut keys, SystemTime::now())?;
        drop(keys);
        self.shared.lazy.clear();
        *self
            .shared
            .catalog
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(catalog);
        Ok(())
    }

    /// Every owner name the server publishes, in every zone (apexes and delegation points
    /// included, empty non-terminals not), in lower case with the trailing dot, each once and
    /// in canonical order (RFC 4034 §6.1): what walking each zone's NSEC chain would list.
    pub fn names(&self) -> Vec<String> {
        let catalog = self
            .shared
            .catalog
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut names: Vec<&hickory_proto::rr::Name> = catalog
            .zones
            .values()
            .flat_map(|zone| zone.nodes.keys())
            .collect();
        names.sort();
        names.dedup();
        names.into_iter().map(ToString::to_string).collect()
    }

    /// How many queries arrived over UDP so far.
    pub fn udp_queries(&self) -> u64 {
        self.shared.udp_queries.load(Ordering::Relaxed)
    }

    /// How many queries arrived over TCP so far.
    pub fn tcp_queries(&self) -> u64 {
        self.shared.tcp_queries.load(Ordering::Relaxed)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

struct Shared {
    catalog: RwLock<Arc<Catalog>>,
    keys: Mutex<KeyStore>,
    lazy: LazyZones,
    ip: IpAddr,
    answer_delay_ms: AtomicU64,
    udp_queries: AtomicU64,
    tcp_queries: AtomicU64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("ip", &self.ip).finish()
    }
}

impl Shared {
    fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(
            &self
                .catalog
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// The receive buffer asked for the UDP socket, in octets.
const UDP_RECEIVE_BUFFER: usize = 8 << 20;

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Binds UDP and TCP on the same port; with port 0, retries until a port is free for both.
async fn bind(ip: IpAddr, port: u16) -> Result<(UdpSocket, TcpListener), DnsServerError> {
    let wanted = SocketAddr::new(ip, port);
    let mut last = None;
    for _ in 0..BIND_ATTEMPTS {
        let udp = UdpSocket::bind(wanted)
            .await
            .map_err(|source| DnsServerError::Bind {
                addr: wanted,
                source,
            })?;
        // A burst of thousands of queries (a scan of many domains at once) overflows the
        // default receive buffer, and the queries it drops cost their senders a timeout.
        // Best effort: the kernel caps the size at `net.core.rmem_max`.
        let _ = socket2::SockRef::from(&udp).set_recv_buffer_size(UDP_RECEIVE_BUFFER);
        let local = udp.local_addr().map_err(|source| DnsServerError::Bind {
            addr: wanted,
            source,
        })?;
        match TcpListener::bind(local).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(source) if port == 0 => last = Some(source),
            Err(source) => {
                return Err(DnsServerError::Bind {
                    addr: local,
                    source,
                })
            }
        }
    }
    Err(DnsServerError::Bind {
        addr: wanted,
        source: last.unwrap_or_else(|| std::io::Error::other("no free port")),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

async fn serve_udp(socket: Arc<UdpSocket>, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let Some(query) = buf.get(..len).map(<[u8]>::to_vec) else {
            continue;
        };
        shared.udp_queries.fetch_add(1, Ordering::Relaxed);
        let socket = Arc::clone(&socket);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            if let Some(response) = respond(&shared, &query, Transport::Udp).await {
                let _ = socket.send_to(&response, peer).await;
            }
        });
    }
}

async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve_connection(stream, Arc::clone(&shared)));
    }
}

/// Length-prefixed messages on one TCP connection (RFC 1035 §4.2.2, RFC 7766).
async fn serve_connection(mut stream: TcpStream, shared: Arc<Shared>) {
    loop {
        let Ok(Ok(len)) = tokio::time::timeout(TCP_IDLE, stream.read_u16()).await else {
            return;
        };
        let mut query = vec![0u8; usize::from(len)];
        let Ok(Ok(_)) = tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut query)).await else {
            return;
        };
        shared.tcp_queries.fetch_add(1, Ordering::Relaxed);
        let Some(response) = respond(&shared, &query, Transport::Tcp).await else {
            continue;
        };
        let Ok(len) = u16::try_from(response.len()) else {
            return;
        };
        let mut framed = Vec::with_capacity(response.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&response);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}

/// The response to one query message, or `None` to send nothing.
async fn respond(shared: &Shared, bytes: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let request = Message::from_vec(bytes).ok()?;
    if request.metadata.message_type != MessageType::Query {
        return None;
    }
    let delay = shared.answer_delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }

    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.metadata.checking_disabled = request.metadata.checking_disabled;
    response.add_queries(request.queries.iter().cloned());
    if let Some(edns) = &request.edns {
        let mut ours = Edns::new();
        ours.set_max_payload(ADVERTISED_PAYLOAD);
        ours.set_dnssec_ok(edns.flags().dnssec_ok);
        response.set_edns(ours);
    }
    let limit = match transport {
        Transport::Tcp => usize::from(u16::MAX),
        Transport::Udp => usize::from(
            request
                .edns
                .as_ref()
                .map_or(512, |e| e.max_payload().max(512))
                .min(MAX_UDP_PAYLOAD),
        ),
    };

    let question = match (request.metadata.op_code, request.queries.as_slice()) {
        (OpCode::Query, [question]) => question,
        (OpCode::Query, _) => return encode(response, ResponseCode::FormErr, limit),
        _ => return encode(response, ResponseCode::NotImp, limit),
    };

    let catalog = shared.catalog();
    let fault = catalog.fault_for(&question.name().to_lowercase(), question.query_type());
    match fault {
        Some(Fault::ServFail) => return encode(response, ResponseCode::ServFail, limit),
        Some(Fault::Refused) => return encode(response, ResponseCode::Refused, limit),
        Some(Fault::Drop) => return None,
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Truncate) if transport == Transport::Udp => {
            response.metadata.truncation = true;
            return encode(response, ResponseCode::NoError, limit);
        }
        Some(Fault::Truncate | Fault::StripAuthority) | None => {}
    }

    let catalog = match shared.lazy.catalog_for(
        &catalog,
        &shared.keys,
        question.name(),
        question.query_type(),
    ) {
        Some(Ok(small)) => small,
        Some(Err(_)) => return encode(response, ResponseCode::ServFail, limit),
        None => catalog,
    };
    let dnssec = request
        .edns
        .as_ref()
        .is_some_and(|edns| edns.flags().dnssec_ok);
    let mut result = answer(&catalog, question.name(), question.query_type(), dnssec);
    if fault == Some(Fault::StripAuthority) {
        result.authorities.clear();
    }
    response.metadata.authoritative = result.authoritative;
    response.add_answers(result.answers);
    response.add_authorities(result.authorities);
    encode(response, result.rcode, limit)
}

/// Encodes a response; one that exceeds the UDP limit goes out empty with TC=1 (RFC 2181
/// §9), so the client retries over TCP.
fn encode(mut response: Message, rcode: ResponseCode, limit: usize) -> Option<Vec<u8>> {
    response.metadata.response_code = rcode;
    let bytes = response.to_vec().ok()?;
    if bytes.len() <= limit {
        return Some(bytes);
    }
    response.answers.clear();
    response.authorities.clear();
    response.additionals.clear();
    response.metadata.truncation = true;
    response.to_vec().ok()
}
