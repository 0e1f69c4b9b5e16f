//! Hostile MTA-STS policy hosts (RFC 8461 §3.3, STS-FETCH-04): one byte per second, a
//! connection that never closes, 100 MB with and without `Content-Length`, a body that never
//! ends. The fetch must fail within its deadline having read at most the 64 KiB policy limit.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, SystemTime};

use mxsec_net::dial::{AddressMap, Dialer};
use mxsec_net::proto::name::DomainName;
use mxsec_net::sts_fetch::{FetchFailure, FetchOutcome, PolicyFetcher, Stage, HTTPS_PORT};
use mxsec_net::trust::TrustConfig;
use mxsec_testbed::https::{HttpsServer, PolicyHost, Reply};
use mxsec_testbed::pki::{LeafSpec, ServedChain, TestPki};

use crate::meter::{measure, run, Measured, MIB};

const POLICY: &str =
    "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmax_age: 604800\r\n";

/// The fetch deadline of these tests; a sender's is 60 s (RFC 8461 §3.3 suggests a minute).
const DEADLINE: Duration = Duration::from_secs(3);

/// Time allowed beyond the deadline: connecting, the handshake, a loaded machine.
const SLACK: Duration = Duration::from_secs(2);

/// The memory a failed fetch may take: the 64 KiB body limit, hyper's buffers and a TLS
/// session, with room to spare. The servers send up to 100 MB.
const MEMORY: usize = MIB;

/// Fetches the policy of `example.test` from one policy host answering `reply`, measured.
async fn fetch(reply: Reply) -> Measured<FetchOutcome> {
    let pki = TestPki::generate(SystemTime::now()).unwrap();
    let leaf = pki.issue(&LeafSpec::new(["mta-sts.example.test"])).unwrap();
    let host = PolicyHost::new("mta-sts.example.test", &leaf, ServedChain::default(), reply);
    let server = HttpsServer::start("127.0.0.1:0".parse().unwrap(), vec![host], None)
        .await
        .unwrap();
    let published: IpAddr = "192.0.2.10".parse().unwrap();
    let mut map = AddressMap::new();
    map.insert(SocketAddr::new(published, HTTPS_PORT), server.local_addr())
        .unwrap();
    let trust = TrustConfig::empty()
        .add_ca_pem(Path::new("testbed root"), pki.root_pem().as_bytes())
        .unwrap();
    let fetcher = PolicyFetcher::new(&trust, Dialer::new(DEADLINE).with_address_map(map))
        .unwrap()
        .timeout(DEADLINE);
    let domain = DomainName::parse("example.test").unwrap();
    let measured = measure(fetcher.fetch(&domain, published)).await;
    Measured {
        value: measured.value.unwrap(),
        elapsed: measured.elapsed,
        peak: measured.peak,
    }
}

fn failure(outcome: &FetchOutcome) -> &FetchFailure {
    match &outcome.result {
        Ok(fetched) => panic!("a hostile policy host yielded a policy: {fetched:?}"),
        Err(failure) => failure,
    }
}

#[test]
fn sts_fetch_04_hostile_one_byte_per_second() {
    run(async {
        // A body longer than the deadline allows at one byte per second.
        let mut body = POLICY.to_owned();
        body.push_str(&"x".repeat(100));
        let reply = Reply::Slow {
            body: body.into_bytes(),
            interval: Duration::from_secs(1),
        };
        let measured = fetch(reply).await;
        measured.assert_within("policy host, one byte per second", DEADLINE + SLACK, MEMORY);
        let failure = failure(&measured.value);
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
    });
}

#[test]
fn sts_fetch_04_hostile_connection_never_closes() {
    run(async {
        let reply = Reply::NeverCloses {
            body: POLICY.as_bytes().to_vec(),
        };
        let measured = fetch(reply).await;
        measured.assert_within("policy host, never closes", DEADLINE + SLACK, MEMORY);
        // Without a length, the body ends only when the connection does: it never ends.
        let failure = failure(&measured.value);
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
    });
}

#[test]
fn sts_fetch_04_hostile_100_mb_without_length() {
    run(async {
        let reply = Reply::Oversized {
            length: 100 * MIB,
            announce_length: false,
        };
        let measured = fetch(reply).await;
        measured.assert_within("policy host, 100 MB, no length", DEADLINE + SLACK, MEMORY);
        let failure = failure(&measured.value);
        assert!(
            matches!(
                failure,
                FetchFailure::TooLarge {
                    content_length: None
                }
            ),
            "{failure:?}"
        );
    });
}

#[test]
fn sts_fetch_04_hostile_100_mb_with_length() {
    run(async {
        let reply = Reply::Oversized {
            length: 100 * MIB,
            announce_length: true,
        };
        let measured = fetch(reply).await;
        measured.assert_within("policy host, 100 MB, announced", DEADLINE + SLACK, MEMORY);
        let failure = failure(&measured.value);
        assert!(
            matches!(failure, FetchFailure::TooLarge { content_length: Some(n) } if *n == (100 * MIB) as u64),
            "{failure:?}"
        );
    });
}

#[test]
fn sts_fetch_04_hostile_endless_body() {
    run(async {
        let measured = fetch(Reply::Endless).await;
        measured.assert_within("policy host, endless body", DEADLINE + SLACK, MEMORY);
        let failure = failure(&measured.value);
        assert!(
            matches!(
                failure,
                FetchFailure::TooLarge {
                    content_length: None
                }
            ),
            "{failure:?}"
        );
    });
}
