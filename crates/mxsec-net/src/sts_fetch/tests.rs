//! Policy fetch tests against the testbed's HTTPS policy hosts on loopback.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, SystemTime};

use mxsec_proto::mta_sts::policy::Mode;
use mxsec_testbed::https::{HttpsServer, PolicyHost, Reply};
use mxsec_testbed::pki::{IssuedBy, KeyAlgorithm, Leaf, LeafSpec, ServedChain, TestPki, Validity};

use super::*;
use crate::dial::AddressMap;

const POLICY: &str =
    "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmax_age: 604800\r\n";

/// The address the policy host is published at; the address map routes it to loopback.
const PUBLISHED: &str = "192.0.2.10";

fn domain(name: &str) -> DomainName {
    DomainName::parse(name).unwrap()
}

fn published() -> IpAddr {
    PUBLISHED.parse().unwrap()
}

/// A testbed PKI, an HTTPS server with `hosts`, and a fetcher that trusts only the testbed
/// root and reaches the server at [`PUBLISHED`] port 443.
struct Bed {
    server: HttpsServer,
    fetcher: PolicyFetcher,
}

impl Bed {
    async fn start(pki: &TestPki, hosts: Vec<PolicyHost>, fallback: Option<PolicyHost>) -> Self {
        let server = HttpsServer::start("127.0.0.1:0".parse().unwrap(), hosts, fallback)
            .await
            .unwrap();
        let mut map = AddressMap::new();
        map.insert(
            SocketAddr::new(published(), HTTPS_PORT),
            server.local_addr(),
        )
        .unwrap();
        let trust = TrustConfig::empty()
            .add_ca_pem(Path::new("testbed root"), pki.root_pem().as_bytes())
            .unwrap();
        let dialer = Dialer::new(Duration::from_secs(5)).with_address_map(map);
        let fetcher = PolicyFetcher::new(&trust, dialer)
            .unwrap()
            .timeout(Duration::from_secs(10));
        Self { server, fetcher }
    }

    /// One policy host `mta-sts.example.test` with `leaf` served as `served`, answering `reply`.
    async fn single(pki: &TestPki, leaf: &Leaf, served: ServedChain, reply: Reply) -> Self {
        let host = PolicyHost::new("mta-sts.example.test", leaf, served, reply);
        Self::start(pki, vec![host], None).await
    }

    async fn fetch(&self, name: &str) -> FetchOutcome {
        self.fetcher
            .fetch(&domain(name), published())
            .await
            .unwrap()
    }
}

fn pki() -> TestPki {
    TestPki::generate(SystemTime::now()).unwrap()
}

fn leaf(pki: &TestPki, spec: LeafSpec) -> Leaf {
    pki.issue(&spec).unwrap()
}

fn policy_leaf(pki: &TestPki) -> Leaf {
    leaf(pki, LeafSpec::new(["mta-sts.example.test"]))
}

async fn failure_with(
    pki: &TestPki,
    leaf: &Leaf,
    served: ServedChain,
    reply: Reply,
) -> FetchFailure {
    let bed = Bed::single(pki, leaf, served, reply).await;
    match bed.fetch("example.test").await.result {
        Ok(fetched) => panic!("expected a failure, fetched {fetched:?}"),
        Err(failure) => failure,
    }
}

async fn certificate_failure(pki: &TestPki, leaf: &Leaf, served: ServedChain) -> FetchFailure {
    let failure = failure_with(pki, leaf, served, Reply::policy(POLICY)).await;
    assert_eq!(
        failure.result_type(),
        ResultType::StsWebpkiInvalid,
        "{failure}"
    );
    assert_eq!(failure.conformance_id(), "STS-FETCH-01");
    failure
}

#[tokio::test]
async fn sts_fetch_01_valid_policy_is_fetched_and_parsed() {
    let pki = pki();
    let bed = Bed::single(
        &pki,
        &policy_leaf(&pki),
        ServedChain::default(),
        Reply::policy(POLICY),
    )
    .await;
    let outcome = bed.fetch("example.test").await;
    assert_eq!(outcome.host.as_str(), "mta-sts.example.test");
    assert_eq!(outcome.address, published());
    let fetched = outcome.result.unwrap();
    assert_eq!(fetched.policy.mode, Mode::Enforce);
    assert_eq!(fetched.policy.max_age, 604_800);
    assert_eq!(fetched.body, POLICY.as_bytes());
    assert_eq!(fetched.content_type, "text/plain; charset=utf-8");
    assert!(fetched.warnings.is_empty());
}

#[tokio::test]
async fn sts_pol_01_request_is_a_plain_get_of_the_well_known_url() {
    let pki = pki();
    let bed = Bed::single(
        &pki,
        &policy_leaf(&pki),
        ServedChain::default(),
        Reply::policy(POLICY),
    )
    .await;
    bed.fetch("example.test").await.result.unwrap();
    let requests = bed.server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/.well-known/mta-sts.txt");
    assert_eq!(request.header("host"), Some("mta-sts.example.test"));
    assert_eq!(request.header("user-agent"), Some(DEFAULT_USER_AGENT));
    // STS-FETCH-02: no HTTP caching, so no conditional request.
    assert_eq!(request.header("if-modified-since"), None);
    assert_eq!(request.header("if-none-match"), None);
}

#[tokio::test]
async fn sts_fetch_01_wildcard_certificate_matches_the_policy_host() {
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new(["*.example.test"]));
    let bed = Bed::single(&pki, &leaf, ServedChain::default(), Reply::policy(POLICY)).await;
    bed.fetch("example.test").await.result.unwrap();
}

#[tokio::test]
async fn sts_fetch_01_rsa_and_ecdsa_certificates_are_valid() {
    let pki = pki();
    for algorithm in [
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Ed25519,
    ] {
        let leaf = leaf(
            &pki,
            LeafSpec::new(["mta-sts.example.test"]).algorithm(algorithm),
        );
        let bed = Bed::single(&pki, &leaf, ServedChain::default(), Reply::policy(POLICY)).await;
        bed.fetch("example.test").await.result.unwrap();
    }
}

#[tokio::test]
async fn sts_fetch_01_wildcard_covers_one_label_only() {
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new(["*.test"]));
    let failure = certificate_failure(&pki, &leaf, ServedChain::default()).await;
    assert!(
        matches!(
            failure,
            FetchFailure::Certificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            )
        ),
        "{failure:?}"
    );
}

#[tokio::test]
async fn sts_fetch_01_m_02_certificate_for_the_wrong_name() {
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new(["example.test", "www.example.test"]));
    let failure = certificate_failure(&pki, &leaf, ServedChain::default()).await;
    assert!(
        matches!(
            failure,
            FetchFailure::Certificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            )
        ),
        "{failure:?}"
    );
}

#[tokio::test]
async fn sts_fetch_01_m_02_expired_certificate() {
    let pki = pki();
    let leaf = leaf(
        &pki,
        LeafSpec::new(["mta-sts.example.test"]).validity(Validity::Expired),
    );
    let failure = certificate_failure(&pki, &leaf, ServedChain::default()).await;
    assert!(
        matches!(
            failure,
            FetchFailure::Certificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. }
            )
        ),
        "{failure:?}"
    );
}

#[tokio::test]
async fn sts_fetch_01_certificate_not_yet_valid() {
    let pki = pki();
    let leaf = leaf(
        &pki,
        LeafSpec::new(["mta-sts.example.test"]).validity(Validity::NotYetValid),
    );
    let failure = certificate_failure(&pki, &leaf, ServedChain::default()).await;
    assert!(
        matches!(
            failure,
            FetchFailure::Certificate(
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }
            )
        ),
        "{failure:?}"
    );
}

#[tokio::test]
async fn sts_fetch_01_m_02_self_signed_certificate() {
    let pki = pki();
    let leaf = leaf(
        &pki,
        LeafSpec::new(["mta-sts.example.test"]).issued_by(IssuedBy::SelfSigned),
    );
    let failure = certificate_failure(&pki, &leaf, ServedChain::default()).await;
    assert!(
        matches!(
            failure,
            FetchFailure::Certificate(CertificateError::UnknownIssuer)
        ),
        "{failure:?}"
    );
}

#[tokio::test]
async fn sts_fetch_01_m_02_missing_intermediate() {
    let pki = pki();
    let leaf = policy_leaf(&pki);
    let failure = certificate_failure(&pki, &leaf, ServedChain::LeafOnly).await;
    assert!(
        matches!(
            failure,
            FetchFailure::Certificate(CertificateError::UnknownIssuer)
        ),
        "{failure:?}"
    );
}

#[tokio::test]
async fn sts_fetch_01_chain_with_root_is_valid() {
    let pki = pki();
    let bed = Bed::single(
        &pki,
        &policy_leaf(&pki),
        ServedChain::WithRoot,
        Reply::policy(POLICY),
    )
    .await;
    bed.fetch("example.test").await.result.unwrap();
}

#[tokio::test]
async fn sts_fetch_01_untrusted_root() {
    let pki = pki();
    let other = TestPki::generate(SystemTime::now()).unwrap();
    let leaf = leaf(&other, LeafSpec::new(["mta-sts.example.test"]));
    let failure = certificate_failure(&pki, &leaf, ServedChain::WithRoot).await;
    // Both testbed roots carry the same name, so the path builder finds the trusted one and
    // its signature check fails: the case of a look-alike CA.
    assert!(
        matches!(
            failure,
            FetchFailure::Certificate(
                CertificateError::UnknownIssuer | CertificateError::BadSignature
            )
        ),
        "{failure:?}"
    );
}

#[tokio::test]
async fn pkix_01_fetch_records_the_chain_trusted_or_untrusted() {
    let pki = pki();
    let trusted = policy_leaf(&pki);
    let bed = Bed::single(
        &pki,
        &trusted,
        ServedChain::default(),
        Reply::policy(POLICY),
    )
    .await;
    let outcome = bed.fetch("example.test").await;
    assert!(outcome.result.is_ok());
    assert_eq!(outcome.chain, trusted.served_chain(ServedChain::default()));

    // Rejected by the configured roots, yet recorded, for the OS store to judge.
    let os_only = leaf(
        &pki,
        LeafSpec::new(["mta-sts.example.test"]).issued_by(IssuedBy::OsStoreRoot),
    );
    let bed = Bed::single(
        &pki,
        &os_only,
        ServedChain::default(),
        Reply::policy(POLICY),
    )
    .await;
    let outcome = bed.fetch("example.test").await;
    assert!(
        matches!(
            outcome.result,
            Err(FetchFailure::Certificate(CertificateError::UnknownIssuer))
        ),
        "{:?}",
        outcome.result
    );
    assert_eq!(outcome.chain, os_only.served_chain(ServedChain::default()));
}

#[tokio::test]
async fn pkix_01_fetcher_without_roots_trusts_nothing_and_records_the_chain() {
    let pki = pki();
    let leaf = policy_leaf(&pki);
    let server = HttpsServer::start(
        "127.0.0.1:0".parse().unwrap(),
        vec![PolicyHost::new(
            "mta-sts.example.test",
            &leaf,
            ServedChain::default(),
            Reply::policy(POLICY),
        )],
        None,
    )
    .await
    .unwrap();
    let mut map = AddressMap::new();
    map.insert(
        SocketAddr::new(published(), HTTPS_PORT),
        server.local_addr(),
    )
    .unwrap();
    let dialer = Dialer::new(Duration::from_secs(5)).with_address_map(map);
    let fetcher = PolicyFetcher::new(&TrustConfig::empty(), dialer).unwrap();
    let outcome = fetcher
        .fetch(&domain("example.test"), published())
        .await
        .unwrap();
    assert!(
        matches!(
            outcome.result,
            Err(FetchFailure::Certificate(CertificateError::UnknownIssuer))
        ),
        "{:?}",
        outcome.result
    );
    assert_eq!(outcome.chain, leaf.served_chain(ServedChain::default()));
}

#[tokio::test]
async fn sts_fetch_02_m_01_redirect_is_not_followed() {
    let pki = pki();
    let target = "https://www.example.test/.well-known/mta-sts.txt";
    let bed = Bed::single(
        &pki,
        &policy_leaf(&pki),
        ServedChain::default(),
        Reply::redirect(target),
    )
    .await;
    let failure = bed.fetch("example.test").await.result.unwrap_err();
    assert!(
        matches!(&failure, FetchFailure::Redirect { status: 301, location: Some(l) } if l == target),
        "{failure:?}"
    );
    assert_eq!(failure.result_type(), ResultType::StsPolicyFetchError);
    assert_eq!(failure.conformance_id(), "STS-FETCH-02");
    assert!(failure.to_string().contains(target));
    assert_eq!(bed.server.requests().len(), 1, "the redirect was followed");
}

#[tokio::test]
async fn sts_fetch_02_m_01_not_found() {
    let pki = pki();
    let failure = failure_with(
        &pki,
        &policy_leaf(&pki),
        ServedChain::default(),
        Reply::not_found(),
    )
    .await;
    assert!(
        matches!(failure, FetchFailure::Status { status: 404 }),
        "{failure:?}"
    );
    assert_eq!(failure.result_type(), ResultType::StsPolicyFetchError);
}

#[tokio::test]
async fn sts_fetch_02_server_error() {
    let pki = pki();
    let reply = Reply::body(500, Some("text/plain"), "oops\n");
    let failure = failure_with(&pki, &policy_leaf(&pki), ServedChain::default(), reply).await;
    assert!(
        matches!(failure, FetchFailure::Status { status: 500 }),
        "{failure:?}"
    );
    assert_eq!(failure.result_type(), ResultType::StsPolicyFetchError);
}

#[tokio::test]
async fn sts_pol_01_m_01_policy_at_the_wrong_path() {
    let pki = pki();
    let host = PolicyHost::new(
        "mta-sts.example.test",
        &policy_leaf(&pki),
        ServedChain::default(),
        Reply::policy(POLICY),
    )
    .path("/mta-sts.txt");
    let bed = Bed::start(&pki, vec![host], None).await;
    let failure = bed.fetch("example.test").await.result.unwrap_err();
    assert!(
        matches!(failure, FetchFailure::Status { status: 404 }),
        "{failure:?}"
    );
}

#[tokio::test]
async fn sts_pol_01_m_01_unreachable_policy_host() {
    let pki = pki();
    let bed = Bed::single(
        &pki,
        &policy_leaf(&pki),
        ServedChain::default(),
        Reply::policy(POLICY),
    )
    .await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let dead: IpAddr = "192.0.2.99".parse().unwrap();
    let mut map = AddressMap::new();
    map.insert(SocketAddr::new(dead, HTTPS_PORT), closed)
        .unwrap();
    map.insert(
        SocketAddr::new(published(), HTTPS_PORT),
        bed.server.local_addr(),
    )
    .unwrap();
    let trust = TrustConfig::empty()
        .add_ca_pem(Path::new("testbed root"), pki.root_pem().as_bytes())
        .unwrap();
    let fetcher = PolicyFetcher::new(
        &trust,
        Dialer::new(Duration::from_secs(5)).with_address_map(map),
    )
    .unwrap();

    let outcome = fetcher.fetch(&domain("example.test"), dead).await.unwrap();
    let failure = outcome.result.unwrap_err();
    assert!(matches!(failure, FetchFailure::Connect(_)), "{failure:?}");
    assert_eq!(failure.result_type(), ResultType::StsPolicyFetchError);

    // A sender tries the next address after a connection failure.
    let outcome = fetcher
        .fetch_any(&domain("example.test"), &[dead, published()])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.address, published());
    outcome.result.unwrap();
    assert!(fetcher
        .fetch_any(&domain("example.test"), &[])
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn sts_fetch_04_body_of_exactly_64_kib_is_accepted() {
    let pki = pki();
    let mut body = POLICY.to_owned();
    let mut n = 0;
    while body.len() < MAX_POLICY_SIZE {
        let line = format!("ext{n}: {}\r\n", "x".repeat(60));
        body.push_str(&line);
        n += 1;
    }
    let excess = body.len() - MAX_POLICY_SIZE;
    let last = body.rfind("\r\next").unwrap() + 2;
    let line_end = body.len() - 2;
    // Trim the padding of the last line so the body is exactly the limit.
    body.replace_range(line_end - excess..line_end, "");
    assert_eq!(body.len(), MAX_POLICY_SIZE);
    assert!(body[last..].starts_with("ext"));
    let bed = Bed::single(
        &pki,
        &policy_leaf(&pki),
        ServedChain::default(),
        Reply::policy(body),
    )
    .await;
    let fetched = bed.fetch("example.test").await.result.unwrap();
    assert_eq!(fetched.body.len(), MAX_POLICY_SIZE);
}

#[tokio::test]
async fn sts_fetch_04_oversized_body_with_content_length() {
    let pki = pki();
    let reply = Reply::Oversized {
        length: MAX_POLICY_SIZE + 1,
        announce_length: true,
    };
    let failure = failure_with(&pki, &policy_leaf(&pki), ServedChain::default(), reply).await;
    assert!(
        matches!(
            failure,
            FetchFailure::TooLarge {
                content_length: Some(65537)
            }
        ),
        "{failure:?}"
    );
    assert_eq!(failure.result_type(), ResultType::StsPolicyFetchError);
    assert_eq!(failure.conformance_id(), "STS-FETCH-04");
}

#[tokio::test]
async fn sts_fetch_04_oversized_body_without_content_length() {
    let pki = pki();
    let reply = Reply::Oversized {
        length: 10 * MAX_POLICY_SIZE,
        announce_length: false,
    };
    let failure = failure_with(&pki, &policy_leaf(&pki), ServedChain::default(), reply).await;
    assert!(
        matches!(
            failure,
            FetchFailure::TooLarge {
                content_length: None
            }
        ),
        "{failure:?}"
    );
}

#[tokio::test]
async fn sts_fetch_04_endless_body_stops_at_the_limit() {
    let pki = pki();
    let failure = failure_with(
        &pki,
        &policy_leaf(&pki),
        ServedChain::default(),
        Reply::Endless,
    )
    .await;
    assert!(
        matches!(
            failure,
            FetchFailure::TooLarge {
                content_length: None
            }
        ),
        "{failure:?}"
    );
}

#[tokio::test]
async fn sts_fetch_04_slow_body_beyond_the_timeout() {
    let pki = pki();
    let reply = Reply::Slow {
        body: POLICY.as_bytes().to_vec(),
        interval: Duration::from_secs(1),
    };
    let bed = Bed::single(&pki, &policy_leaf(&pki), ServedChain::default(), reply).await;
    let fetcher = bed.fetcher.clone().timeout(Duration::from_secs(3));
    let outcome = fetcher
        .fetch(&domain("example.test"), published())
        .await
        .unwrap();
    let failure = outcome.result.unwrap_err();
    assert!(
        matches!(
            failure,
            FetchFailure::Timeout {
                stage: Stage::Body,
                ..
            }
        ),
        "{failure:?}"
    );
    assert_eq!(failure.result_type(), ResultType::StsPolicyFetchError);
    assert!(outcome.elapsed >= Duration::from_secs(3));
    assert!(outcome.elapsed < Duration::from_secs(10));
}

#[tokio::test]
async fn sts_fetch_04_slow_body_within_the_timeout() {
    let pki = pki();
    let reply = Reply::Slow {
        body: POLICY.as_bytes().to_vec(),
        interval: Duration::from_millis(5),
    };
    let bed = Bed::single(&pki, &policy_leaf(&pki), ServedChain::default(), reply).await;
    bed.fetch("example.test").await.result.unwrap();
}

#[tokio::test]
async fn sts_fetch_05_sni_selects_the_policy_host() {
    let pki = pki();
    let a = PolicyHost::new(
        "mta-sts.a.test",
        &leaf(&pki, LeafSpec::new(["mta-sts.a.test"])),
        ServedChain::default(),
        Reply::policy("version: STSv1\nmode: testing\nmx: mx.a.test\nmax_age: 86400\n"),
    );
    let b = PolicyHost::new(
        "mta-sts.b.test",
        &leaf(&pki, LeafSpec::new(["mta-sts.b.test"])),
        ServedChain::default(),
        Reply::policy("version: STSv1\nmode: enforce\nmx: mx.b.test\nmax_age: 86400\n"),
    );
    // No fallback: a client without the right SNI gets no certificate at all.
    let bed = Bed::start(&pki, vec![a, b], None).await;
    let fetched_a = bed.fetch("a.test").await.result.unwrap();
    assert_eq!(fetched_a.policy.mode, Mode::Testing);
    let fetched_b = bed.fetch("b.test").await.result.unwrap();
    assert_eq!(fetched_b.policy.mode, Mode::Enforce);
    let sni: Vec<_> = bed.server.requests().into_iter().map(|r| r.sni).collect();
    assert_eq!(
        sni,
        [
            Some("mta-sts.a.test".to_owned()),
            Some("mta-sts.b.test".to_owned())
        ]
    );

    let failure = bed.fetch("c.test").await.result.unwrap_err();
    assert!(matches!(failure, FetchFailure::Tls(_)), "{failure:?}");
    assert_eq!(failure.result_type(), ResultType::StsPolicyFetchError);
}

#[tokio::test]
async fn sts_fetch_05_default_certificate_for_an_unknown_name_is_rejected() {
    let pki = pki();
    let fallback = PolicyHost::new(
        "default.test",
        &leaf(&pki, LeafSpec::new(["default.test"])),
        ServedChain::default(),
        Reply::policy(POLICY),
    );
    let bed = Bed::start(&pki, Vec::new(), Some(fallback)).await;
    let failure = bed.fetch("example.test").await.result.unwrap_err();
    assert_eq!(
        failure.result_type(),
        ResultType::StsWebpkiInvalid,
        "{failure:?}"
    );
}

#[tokio::test]
async fn sts_pol_02_m_03_octet_stream_is_not_a_policy() {
    let pki = pki();
    let reply = Reply::body(200, Some("application/octet-stream"), POLICY);
    let failure = failure_with(&pki, &policy_leaf(&pki), ServedChain::default(), reply).await;
    match &failure {
        FetchFailure::ContentType { content_type, body } => {
            assert_eq!(content_type.as_deref(), Some("application/octet-stream"));
            assert_eq!(body, POLICY.as_bytes());
        }
        other => panic!("expected ContentType, got {other:?}"),
    }
    assert_eq!(failure.result_type(), ResultType::StsPolicyInvalid);
    assert_eq!(failure.conformance_id(), "STS-POL-02");
}

#[tokio::test]
async fn sts_pol_02_m_03_html_soft_404() {
    let pki = pki();
    let page = "<html><body><h1>Page not found</h1></body></html>\n";
    let reply = Reply::body(200, Some("text/html; charset=utf-8"), page);
    let failure = failure_with(&pki, &policy_leaf(&pki), ServedChain::default(), reply).await;
    assert!(
        matches!(&failure, FetchFailure::ContentType { content_type: Some(t), .. } if t.starts_with("text/html")),
        "{failure:?}"
    );
    assert_eq!(failure.result_type(), ResultType::StsPolicyInvalid);
}

#[tokio::test]
async fn sts_pol_02_missing_content_type() {
    let pki = pki();
    let reply = Reply::body(200, None, POLICY);
    let failure = failure_with(&pki, &policy_leaf(&pki), ServedChain::default(), reply).await;
    assert!(
        matches!(
            failure,
            FetchFailure::ContentType {
                content_type: None,
                ..
            }
        ),
        "{failure:?}"
    );
}

#[tokio::test]
async fn sts_pol_02_parameters_are_ignored() {
    let pki = pki();
    let reply = Reply::body(
        200,
        Some("text/plain; charset=us-ascii; format=fixed"),
        POLICY,
    );
    let bed = Bed::single(&pki, &policy_leaf(&pki), ServedChain::default(), reply).await;
    let fetched = bed.fetch("example.test").await.result.unwrap();
    assert_eq!(
        fetched.content_type,
        "text/plain; charset=us-ascii; format=fixed"
    );
}

#[tokio::test]
async fn sts_pol_05_invalid_policy_body() {
    let pki = pki();
    let body = "version: STSv1\nmode: enforced\nmx: mx.example.test\nmax_age: 86400\n";
    let failure = failure_with(
        &pki,
        &policy_leaf(&pki),
        ServedChain::default(),
        Reply::policy(body),
    )
    .await;
    assert!(
        matches!(failure, FetchFailure::Invalid { .. }),
        "{failure:?}"
    );
    assert_eq!(failure.result_type(), ResultType::StsPolicyInvalid);
    assert_eq!(failure.conformance_id(), "STS-POL-05");
}

#[tokio::test]
async fn m_04_firewall_blocks_non_browser_user_agents() {
    let pki = pki();
    let host = PolicyHost::new(
        "mta-sts.example.test",
        &policy_leaf(&pki),
        ServedChain::default(),
        Reply::policy(POLICY),
    )
    .browser_only();
    let bed = Bed::start(&pki, vec![host], None).await;
    let failure = bed.fetch("example.test").await.result.unwrap_err();
    assert!(
        matches!(failure, FetchFailure::Status { status: 403 }),
        "{failure:?}"
    );

    let browser = bed
        .fetcher
        .clone()
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/140.0")
        .unwrap();
    let outcome = browser
        .fetch(&domain("example.test"), published())
        .await
        .unwrap();
    outcome.result.unwrap();
    assert!(matches!(
        bed.fetcher.clone().user_agent("bad\nagent"),
        Err(FetcherError::UserAgent(_))
    ));
}

#[tokio::test]
async fn m_12_fetch_over_ipv6() {
    let pki = pki();
    let host = PolicyHost::new(
        "mta-sts.example.test",
        &policy_leaf(&pki),
        ServedChain::default(),
        Reply::policy(POLICY),
    );
    let server = HttpsServer::start("[::1]:0".parse().unwrap(), vec![host], None)
        .await
        .unwrap();
    let v6: IpAddr = "2001:db8::10".parse().unwrap();
    let mut map = AddressMap::new();
    map.insert(SocketAddr::new(v6, HTTPS_PORT), server.local_addr())
        .unwrap();
    let trust = TrustConfig::empty()
        .add_ca_pem(Path::new("testbed root"), pki.root_pem().as_bytes())
        .unwrap();
    let fetcher = PolicyFetcher::new(
        &trust,
        Dialer::new(Duration::from_secs(5)).with_address_map(map),
    )
    .unwrap();
    let outcome = fetcher.fetch(&domain("example.test"), v6).await.unwrap();
    assert_eq!(outcome.address, v6);
    outcome.result.unwrap();
}

#[test]
fn sts_pol_02_media_type_ignores_parameters() {
    assert!(is_text_plain("text/plain"));
    assert!(is_text_plain("text/plain; charset=utf-8"));
    assert!(is_text_plain("Text/Plain;charset=us-ascii"));
    assert!(is_text_plain(" text/plain ; format=flowed"));
    assert!(is_text_plain("text/plain; charset=iso-8859-1"));
    assert!(!is_text_plain("text/html"));
    assert!(!is_text_plain("text/plainx"));
    assert!(!is_text_plain("application/octet-stream"));
    assert!(!is_text_plain(""));
}
