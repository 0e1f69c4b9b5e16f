//! The policy host on loopback, fetched by mxsec's own MTA-STS fetcher (the rules every
//! sender applies) and by a raw HTTPS client for what the fetcher does not show.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use mxsec_net::dial::{AddressMap, Dialer};
use mxsec_net::sts_fetch::{FetchFailure, PolicyFetcher};
use mxsec_net::trust::TrustConfig;
use mxsec_proto::mta_sts::policy::Mode;
use mxsec_proto::tlsrpt::result_type::ResultType;
use mxsec_testbed::pki::{Leaf, LeafSpec, ServedChain, TestPki, Validity};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::*;

const POLICY_A: &str = "version: STSv1\nmode: testing\nmx: mx.a.test\nmax_age: 86400\n";
const POLICY_B: &str =
    "version: STSv1\nmode: enforce\nmx: mx1.b.test\nmx: mx2.b.test\nmax_age: 2419200\n";

/// The published address of every policy host; the dialer maps it to the listener.
const PUBLISHED: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn name(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

struct Harness {
    pki: TestPki,
    dir: tempfile::TempDir,
    server: PolicyServer,
    addr: SocketAddr,
    fetcher: PolicyFetcher,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

fn write_site(dir: &Path, domain: &str, policy: &str, leaf: &Leaf) -> Site {
    let site = Site {
        domain: name(domain),
        policy: dir.join(format!("{domain}.txt")),
        cert: dir.join(format!("{domain}.crt")),
        key: dir.join(format!("{domain}.key")),
    };
    std::fs::write(&site.policy, policy).unwrap();
    write_identity(&site, leaf);
    site
}

fn write_identity(site: &Site, leaf: &Leaf) {
    std::fs::write(&site.cert, leaf.chain_pem(ServedChain::LeafAndIntermediate)).unwrap();
    std::fs::write(&site.key, leaf.key().private_key_pem()).unwrap();
}

fn issue(pki: &TestPki, host: &str, validity: Validity) -> Leaf {
    pki.issue(&LeafSpec::new([host]).validity(validity))
        .unwrap()
}

impl Harness {
    async fn start(sites: &[(&str, &str, Validity)]) -> Self {
        let pki = TestPki::generate(SystemTime::now()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let sites: Vec<Site> = sites
            .iter()
            .map(|(domain, policy, validity)| {
                let leaf = issue(&pki, &format!("mta-sts.{domain}"), *validity);
                write_site(dir.path(), domain, policy, &leaf)
            })
            .collect();
        let options = ServeOptions {
            watch_interval: Duration::from_millis(50),
            ..ServeOptions::default()
        };
        let (server, warnings) = PolicyServer::load(sites, options).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let running = server.clone();
        tokio::spawn(async move {
            running
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        let trust = TrustConfig::empty()
            .add_ca_pem(Path::new("testbed-root.pem"), pki.root_pem().as_bytes())
            .unwrap();
        let mut map = AddressMap::new();
        map.insert(SocketAddr::new(PUBLISHED, 443), addr).unwrap();
        let fetcher = PolicyFetcher::new(
            &trust,
            Dialer::new(Duration::from_secs(5)).with_address_map(map),
        )
        .unwrap()
        .timeout(Duration::from_secs(5));
        Self {
            pki,
            dir,
            server,
            addr,
            fetcher,
            stop: Some(stop),
        }
    }

    fn site(&self, domain: &str) -> Site {
        let dir = self.dir.path();
        Site {
            domain: name(domain),
            policy: dir.join(format!("{domain}.txt")),
            cert: dir.join(format!("{domain}.crt")),
            key: dir.join(format!("{domain}.key")),
        }
    }

    async fn fetch(
        &self,
        domain: &str,
    ) -> Result<mxsec_net::sts_fetch::FetchedPolicy, FetchFailure> {
        self.fetcher
            .fetch(&name(domain), PUBLISHED)
            .await
            .unwrap()
            .result
    }

    /// A raw TLS connection trusting the testbed root, with the given SNI (or none).
    async fn connect(&self, sni: Option<&str>) -> std::io::Result<TlsStream<TcpStream>> {
        let mut roots = RootCertStore::empty();
        roots.add(self.pki.root().der().clone()).unwrap();
        let mut config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        config.enable_sni = sni.is_some();
        let server_name = ServerName::try_from(sni.unwrap_or("mta-sts.a.test").to_owned()).unwrap();
        let tcp = TcpStream::connect(self.addr).await?;
        TlsConnector::from(Arc::new(config))
            .connect(server_name, tcp)
            .await
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Sends one request and reads one response (head and Content-Length body).
async fn exchange(tls: &mut TlsStream<TcpStream>, request: &str) -> (String, Vec<u8>) {
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(buffer[..end].to_vec()).unwrap();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            let body_start = end + 4;
            let body_len = if request.starts_with("HEAD") {
                0
            } else {
                length
            };
            if buffer.len() >= body_start + body_len {
                return (head, buffer[body_start..body_start + body_len].to_vec());
            }
        }
        assert!(Instant::now() < deadline, "no complete response");
        let n = tls.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed");
        buffer.extend_from_slice(&chunk[..n]);
    }
}

fn get(host: &str, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: test\r\n\r\n")
}

#[tokio::test]
async fn sts_ops_02_many_domains_by_sni_each_with_its_policy() {
    let h = Harness::start(&[
        ("a.test", POLICY_A, Validity::Valid),
        ("b.test", POLICY_B, Validity::Valid),
    ])
    .await;
    assert_eq!(
        h.server.hosts(),
        [name("mta-sts.a.test"), name("mta-sts.b.test")]
    );
    let a = h.fetch("a.test").await.unwrap();
    assert_eq!(a.policy.mode, Mode::Testing);
    assert_eq!(a.body, POLICY_A.as_bytes());
    assert_eq!(a.content_type, "text/plain");
    assert!(a.warnings.is_empty());
    let b = h.fetch("b.test").await.unwrap();
    assert_eq!(b.policy.mode, Mode::Enforce);
    assert!(b.policy.matches(&name("mx2.b.test")));
    // A domain not hosted here: no certificate for its name, the handshake fails.
    let c = h.fetch("c.test").await.unwrap_err();
    assert_eq!(c.result_type(), ResultType::StsPolicyFetchError, "{c}");
}

#[tokio::test]
async fn sts_fetch_02_only_the_policy_path_no_redirect_no_misleading_cache_headers() {
    let h = Harness::start(&[
        ("a.test", POLICY_A, Validity::Valid),
        ("b.test", POLICY_B, Validity::Valid),
    ])
    .await;
    let mut tls = h.connect(Some("mta-sts.a.test")).await.unwrap();
    let (head, body) = exchange(&mut tls, &get("mta-sts.a.test", WELL_KNOWN_PATH)).await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("content-type: text/plain\r\n"), "{head}");
    assert!(lower.contains("cache-control: no-cache\r\n"), "{head}");
    for header in ["etag:", "last-modified:", "expires:", "location:"] {
        assert!(!lower.contains(header), "{header} in {head}");
    }
    assert_eq!(body, POLICY_A.as_bytes());
    // Same connection (kept alive): other paths are 404, never a redirect.
    for path in [
        "/",
        "/mta-sts.txt",
        "/.well-known/mta-sts.txt/",
        "/.well-known/",
    ] {
        let (head, _) = exchange(&mut tls, &get("mta-sts.a.test", path)).await;
        assert!(head.starts_with("HTTP/1.1 404 "), "{path}: {head}");
    }
    let (head, _) = exchange(
        &mut tls,
        &format!("HEAD {WELL_KNOWN_PATH} HTTP/1.1\r\nHost: mta-sts.a.test\r\n\r\n"),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains(&format!("content-length: {}", POLICY_A.len())));
    let (head, _) = exchange(
        &mut tls,
        &format!(
            "POST {WELL_KNOWN_PATH} HTTP/1.1\r\nHost: mta-sts.a.test\r\nContent-Length: 0\r\n\r\n"
        ),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 405 "), "{head}");
    // A Host header for another hosted domain on this TLS session is misdirected.
    let (head, _) = exchange(&mut tls, &get("mta-sts.b.test:443", WELL_KNOWN_PATH)).await;
    assert!(head.starts_with("HTTP/1.1 421 "), "{head}");
    // The port in Host is ignored.
    let (head, _) = exchange(&mut tls, &get("mta-sts.a.test:443", WELL_KNOWN_PATH)).await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    // Without SNI a two-site server has no right certificate: the handshake fails.
    assert!(h.connect(None).await.is_err());
}

#[tokio::test]
async fn sts_fetch_05_single_site_answers_without_sni() {
    let h = Harness::start(&[("a.test", POLICY_A, Validity::Valid)]).await;
    let mut tls = h.connect(None).await.unwrap();
    let (head, body) = exchange(&mut tls, &get("mta-sts.a.test", WELL_KNOWN_PATH)).await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(body, POLICY_A.as_bytes());
}

#[tokio::test]
async fn sts_fetch_01_certificate_renewal_is_picked_up_without_restart_or_dropping_connections() {
    // The host starts with an expired certificate: senders refuse it (sts-webpki-invalid).
    let h = Harness::start(&[("a.test", POLICY_A, Validity::Expired)]).await;
    let failure = h.fetch("a.test").await.unwrap_err();
    assert!(matches!(failure, FetchFailure::Certificate(_)), "{failure}");
    assert_eq!(failure.result_type(), ResultType::StsWebpkiInvalid);

    // The ACME client renews: the watcher loads the new pair, and senders accept it.
    let site = h.site("a.test");
    let renewed = issue(&h.pki, "mta-sts.a.test", Validity::Valid);
    write_identity(&site, &renewed);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match h.fetch("a.test").await {
            Ok(fetched) => {
                assert_eq!(fetched.body, POLICY_A.as_bytes());
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "renewal not picked up: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A connection made now, kept open across the next renewal (a new key), keeps working;
    // new connections get the new certificate.
    let mut old = h.connect(Some("mta-sts.a.test")).await.unwrap();
    let served =
        |tls: &TlsStream<TcpStream>| tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    assert_eq!(&served(&old), renewed.cert_der());
    let (head, _) = exchange(&mut old, &get("mta-sts.a.test", WELL_KNOWN_PATH)).await;
    assert!(head.starts_with("HTTP/1.1 200 "));
    let rekeyed = h
        .pki
        .reissue_with_new_key(&renewed, Validity::Valid)
        .unwrap();
    write_identity(&site, &rekeyed);
    assert_eq!(h.server.check_certificates(), [name("a.test")]);
    let fresh = h.connect(Some("mta-sts.a.test")).await.unwrap();
    assert_eq!(&served(&fresh), rekeyed.cert_der());
    let (head, body) = exchange(&mut old, &get("mta-sts.a.test", WELL_KNOWN_PATH)).await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(body, POLICY_A.as_bytes());
    assert!(h.fetch("a.test").await.is_ok());
}

#[tokio::test]
async fn sts_fetch_01_half_written_renewal_keeps_the_previous_certificate() {
    let h = Harness::start(&[("a.test", POLICY_A, Validity::Valid)]).await;
    let site = h.site("a.test");
    // The new certificate is written, its key not yet: the pair does not match.
    let renewed = issue(&h.pki, "mta-sts.a.test", Validity::Valid);
    std::fs::write(
        &site.cert,
        renewed.chain_pem(ServedChain::LeafAndIntermediate),
    )
    .unwrap();
    assert!(h.server.check_certificates().is_empty());
    assert!(h.fetch("a.test").await.is_ok());
    std::fs::write(&site.key, renewed.key().private_key_pem()).unwrap();
    assert_eq!(h.server.check_certificates(), [name("a.test")]);
    let tls = h.connect(Some("mta-sts.a.test")).await.unwrap();
    assert_eq!(
        &tls.get_ref().1.peer_certificates().unwrap()[0],
        renewed.cert_der()
    );
}

#[tokio::test]
async fn sts_pol_05_policy_reload_serves_valid_policies_and_keeps_the_last_good_one() {
    let h = Harness::start(&[("a.test", POLICY_A, Validity::Valid)]).await;
    let site = h.site("a.test");
    assert!(matches!(
        h.server.reload().as_slice(),
        [ReloadOutcome::Unchanged { .. }]
    ));
    std::fs::write(
        &site.policy,
        POLICY_A.replace("mode: testing", "mode: enforced"),
    )
    .unwrap();
    let outcomes = h.server.reload();
    let [ReloadOutcome::Failed { error, .. }] = outcomes.as_slice() else {
        panic!("{outcomes:?}")
    };
    assert!(error.to_string().contains("enforced"), "{error}");
    assert_eq!(h.fetch("a.test").await.unwrap().policy.mode, Mode::Testing);
    let enforce = POLICY_A.replace("mode: testing", "mode: enforce");
    std::fs::write(&site.policy, &enforce).unwrap();
    assert!(matches!(
        h.server.reload().as_slice(),
        [ReloadOutcome::Reloaded { .. }]
    ));
    let fetched = h.fetch("a.test").await.unwrap();
    assert_eq!(fetched.policy.mode, Mode::Enforce);
    assert_eq!(fetched.body, enforce.as_bytes());
}

#[test]
fn sts_pol_03_broken_sites_do_not_start() {
    let pki = TestPki::generate(SystemTime::now()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let leaf = issue(&pki, "mta-sts.a.test", Validity::Valid);
    let good = write_site(dir.path(), "a.test", POLICY_A, &leaf);
    let load = |sites: Vec<Site>| PolicyServer::load(sites, ServeOptions::default()).map(|_| ());

    assert!(matches!(load(vec![]), Err(LoadError::NoSites)));
    assert!(matches!(
        load(vec![good.clone(), good.clone()]),
        Err(LoadError::Duplicate(_))
    ));
    let bad_policy = write_site(
        dir.path(),
        "b.test",
        "version: STSv1\nmode: enforce\n",
        &leaf,
    );
    let err = load(vec![bad_policy]).unwrap_err();
    assert!(matches!(err, LoadError::Policy { .. }), "{err}");
    assert!(err.to_string().contains("b.test.txt"), "{err}");

    let other = issue(&pki, "mta-sts.a.test", Validity::Valid);
    let mismatched = Site {
        key: dir.path().join("other.key"),
        ..good.clone()
    };
    std::fs::write(&mismatched.key, other.key().private_key_pem()).unwrap();
    assert!(matches!(
        load(vec![mismatched]),
        Err(LoadError::KeyMismatch { .. })
    ));

    let missing = Site {
        cert: dir.path().join("missing.crt"),
        ..good.clone()
    };
    assert!(matches!(load(vec![missing]), Err(LoadError::Read { .. })));
    let not_pem = Site {
        cert: good.policy.clone(),
        ..good.clone()
    };
    assert!(matches!(
        load(vec![not_pem]),
        Err(LoadError::Certificate { .. })
    ));
    let big = dir.path().join("big.txt");
    std::fs::write(&big, vec![b'a'; MAX_POLICY_SIZE + 1]).unwrap();
    let too_large = Site {
        policy: big,
        ..good.clone()
    };
    assert!(matches!(
        load(vec![too_large]),
        Err(LoadError::TooLarge { .. })
    ));
    assert!(load(vec![good]).is_ok());
}
