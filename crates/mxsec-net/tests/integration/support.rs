//! Shared setup: testbed MX hosts at published addresses, reached through the dialer's map.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, SystemTime};

use mxsec_net::dial::{AddressMap, Dialer};
use mxsec_net::proto::dane::matching::ReferenceNames;
use mxsec_net::proto::dane::tlsa::TlsaRecord;
use mxsec_net::proto::dane::usable::{classify, RrsetUsability, UsableSet};
use mxsec_net::proto::name::DomainName;
use mxsec_net::smtp_probe::{self, ProbeOptions, ProbeReport, ProbeTimeouts};
use mxsec_net::tls::{DaneCheck, PkixCheck, Verification};
use mxsec_net::trust::TrustConfig;
use mxsec_testbed::pki::{Leaf, LeafSpec, ServedChain, TestPki};
use mxsec_testbed::smtp::{Credentials, MxBehaviour, SmtpServer, TlsIdentity};
use sha2::{Digest, Sha256};

pub(crate) fn name(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

pub(crate) fn pki() -> TestPki {
    TestPki::generate(SystemTime::now()).unwrap()
}

pub(crate) fn leaf(pki: &TestPki, spec: LeafSpec) -> Leaf {
    pki.issue(&spec).unwrap()
}

/// The server's credentials: the chain in `shape` and the leaf's own key.
pub(crate) fn credentials(leaf: &Leaf, shape: ServedChain) -> Credentials {
    Credentials::new(leaf.served_chain(shape), leaf.private_key_der())
}

pub(crate) fn tls_mx(hostname: &str, credentials: Credentials) -> MxBehaviour {
    MxBehaviour::tls(hostname, TlsIdentity::new(credentials))
}

pub(crate) fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

pub(crate) fn tlsa(u: u8, s: u8, m: u8, data: Vec<u8>) -> TlsaRecord {
    TlsaRecord {
        usage: u.into(),
        selector: s.into(),
        matching: m.into(),
        data,
    }
}

pub(crate) fn usable(records: &[TlsaRecord]) -> UsableSet {
    match classify(records).usability {
        RrsetUsability::Usable(set) => set,
        other => panic!("TLSA set not usable: {other:?}"),
    }
}

/// A testbed internet: MX servers on loopback standing in for published addresses.
pub(crate) struct Net {
    servers: Vec<SmtpServer>,
    map: AddressMap,
}

impl Net {
    pub(crate) fn new() -> Self {
        Self {
            servers: Vec::new(),
            map: AddressMap::new(),
        }
    }

    /// Starts `behaviour` on loopback (IPv4 or IPv6 like `published`) and routes
    /// `published:25` to it.
    pub(crate) async fn serve(&mut self, published: &str, behaviour: MxBehaviour) -> IpAddr {
        let published: IpAddr = published.parse().unwrap();
        let bind: SocketAddr = match published {
            IpAddr::V4(_) => "127.0.0.1:0",
            IpAddr::V6(_) => "[::1]:0",
        }
        .parse()
        .unwrap();
        let server = SmtpServer::start(bind, behaviour).await.unwrap();
        self.map
            .insert(SocketAddr::new(published, 25), server.local_addr())
            .unwrap();
        self.servers.push(server);
        published
    }

    /// Routes `published:25` to `target` without starting a server there.
    pub(crate) fn route(&mut self, published: &str, target: SocketAddr) -> IpAddr {
        let published: IpAddr = published.parse().unwrap();
        self.map
            .insert(SocketAddr::new(published, 25), target)
            .unwrap();
        published
    }

    pub(crate) fn server(&self, index: usize) -> &SmtpServer {
        &self.servers[index]
    }

    pub(crate) fn dialer(&self) -> Dialer {
        Dialer::new(Duration::from_secs(5)).with_address_map(self.map.clone())
    }
}

pub(crate) fn options(sni: &str, verification: Verification) -> ProbeOptions {
    let mut options = ProbeOptions::new(name("probe.mxsec.test"), name(sni), verification);
    options.timeouts = ProbeTimeouts {
        banner: Duration::from_secs(5),
        command: Duration::from_secs(5),
        handshake: Duration::from_secs(5),
        total: Duration::from_secs(20),
    };
    options
}

/// DANE for MX host `mx`, whose TLSA base domain is `mx` itself.
pub(crate) fn dane(mx: &str, records: &[TlsaRecord]) -> Verification {
    Verification::Dane(DaneCheck {
        tlsa: usable(records),
        names: ReferenceNames::new(name(mx)),
    })
}

pub(crate) fn trust(pki: &TestPki) -> TrustConfig {
    TrustConfig::empty()
        .add_ca_pem(Path::new("testbed-root.pem"), pki.root_pem().as_bytes())
        .unwrap()
}

pub(crate) fn pkix(pki: &TestPki, mx: &str) -> Verification {
    Verification::Pkix(PkixCheck::from_trust(&trust(pki), name(mx)))
}

pub(crate) async fn probe(net: &Net, address: IpAddr, options: &ProbeOptions) -> ProbeReport {
    smtp_probe::probe(&net.dialer(), address, options).await
}

/// Shorthand for a TLSA-pinned key: `3 1 1` of a leaf's SPKI.
pub(crate) fn ee_spki(leaf: &Leaf) -> TlsaRecord {
    tlsa(3, 1, 1, sha256(&leaf.key().spki_der()))
}

pub(crate) fn assert_passes(report: &ProbeReport) {
    assert!(
        report.result.is_ok(),
        "expected success, got {:?} (observation {:?})",
        report.result,
        report.observation.as_ref().map(|o| (&o.dane, &o.pkix))
    );
    assert!(report.tls.is_some());
}
