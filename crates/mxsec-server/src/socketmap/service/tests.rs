//! The service in process, against the testbed's real DNS and HTTPS servers: cache hits, one
//! lookup for concurrent requests, the short life of failure answers, and replies in request
//! order on one connection.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use mxsec_proto::postfix::netstring::{self, NetstringDecoder};
use mxsec_proto::postfix::socketmap::SocketmapRequest;
use mxsec_testbed::Testbed;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::*;
use crate::socketmap::config::StoreSetting;
use crate::socketmap::engine::{build_engine, DaemonOptions};
use crate::socketmap::server;

/// A service answering from the testbed, with its own policy store.
struct Fixture {
    shared: Arc<Shared>,
    _dir: tempfile::TempDir,
    testbed: Testbed,
}

impl Fixture {
    /// The testbed and a service whose configuration `edit` adjusts.
    async fn start(edit: impl FnOnce(&mut DaemonConfig)) -> Self {
        let testbed = Testbed::start().await.expect("testbed");
        let dir = tempfile::tempdir().expect("temporary directory");
        let files = testbed.files();
        let mut config = DaemonConfig::parse("", Path::new("test.toml")).expect("defaults");
        config.dns.resolver = Some(testbed.dns_addr());
        config.dns.trust_anchor = Some(files.trust_anchor.clone());
        config.dns.timeout = Duration::from_secs(5);
        config.ca_files = vec![files.ca_file.clone()];
        config.cache.store = StoreSetting::Sqlite(dir.path().join("policies.sqlite3"));
        edit(&mut config);
        let options = DaemonOptions {
            connect_map: Some(files.connect_map.clone()),
            ..DaemonOptions::default()
        };
        let metrics = Arc::new(Metrics::default());
        let engine = build_engine(&config, &options, &metrics)
            .await
            .expect("engine");
        let service = Service::new(Arc::new(engine), &config, metrics.clone());
        Self {
            shared: Arc::new(Shared::new(Arc::new(service), metrics)),
            _dir: dir,
            testbed,
        }
    }

    /// The reply payload to `postfix DOMAIN`, and its kind.
    async fn ask(&self, domain: &str) -> (String, AnswerKind) {
        let (reply, kind) = self.shared.current().answer(&request(domain)).await;
        (payload(&reply), kind)
    }

    /// The value of the metric line that starts with `name`.
    fn metric(&self, name: &str) -> u64 {
        let text = self.shared.metrics.render();
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    }
}

fn request(domain: &str) -> SocketmapRequest {
    SocketmapRequest::parse(format!("postfix {domain}").as_bytes()).expect("request")
}

fn payload(netstring: &[u8]) -> String {
    let frame = NetstringDecoder::new(4096)
        .decode(netstring)
        .expect("netstring")
        .expect("complete");
    String::from_utf8(frame.payload.to_vec()).expect("UTF-8")
}

const HITS: &str = "mxsec_answer_cache_total{outcome=\"hit\"}";
const MISSES: &str = "mxsec_answer_cache_total{outcome=\"miss\"}";
const FETCHES: &str = "mxsec_sts_fetches_total{result=\"success\"}";

#[tokio::test]
async fn pfx_03_a_repeated_request_is_answered_from_the_cache() {
    let fixture = Fixture::start(|_| {}).await;
    let (first, kind) = fixture.ask("sts-enforce.test").await;
    assert_eq!(kind, AnswerKind::Secure, "{first}");
    assert_eq!((fixture.metric(HITS), fixture.metric(MISSES)), (0, 1));
    let queries = fixture.testbed.dns().udp_queries() + fixture.testbed.dns().tcp_queries();

    let (second, _) = fixture.ask("STS-Enforce.test.").await;
    assert_eq!(second, first, "the same destination, normalised");
    assert_eq!((fixture.metric(HITS), fixture.metric(MISSES)), (1, 1));
    assert_eq!(
        fixture.testbed.dns().udp_queries() + fixture.testbed.dns().tcp_queries(),
        queries,
        "a cached answer asks DNS nothing"
    );
    assert_eq!(fixture.metric(FETCHES), 1);
}

#[tokio::test]
async fn pfx_03_concurrent_requests_for_one_destination_share_one_lookup() {
    let fixture = Fixture::start(|_| {}).await;
    let answers = join_all((0..8).map(|_| fixture.ask("sts-enforce.test"))).await;
    let (first, kind) = answers.first().cloned().expect("eight answers");
    assert_eq!(kind, AnswerKind::Secure, "{first}");
    assert!(
        answers.iter().all(|(reply, _)| *reply == first),
        "{answers:?}"
    );
    // Every request missed the cache, but one lookup (one policy fetch) served them all.
    assert_eq!(fixture.metric(MISSES), 8);
    assert_eq!(fixture.metric(FETCHES), 1);
}

#[tokio::test]
async fn pfx_04_a_temp_answer_is_kept_for_failure_ttl_only() {
    let failure_ttl = Duration::from_secs(2);
    let fixture = Fixture::start(|config| config.cache.failure_ttl = failure_ttl).await;
    let (temp, kind) = fixture.ask("d05-bogus-ds.test").await;
    assert_eq!(kind, AnswerKind::Temp, "{temp}");
    let (healthy, kind) = fixture.ask("sts-enforce.test").await;
    assert_eq!(kind, AnswerKind::Secure, "{healthy}");

    let service = fixture.shared.current();
    let answers = &service.engine.answers;
    let (bogus, good) = (request("d05-bogus-ds.test"), request("sts-enforce.test"));
    let now = Instant::now();
    assert!(
        answers.get(bogus.key(), now).is_some(),
        "cached for a while"
    );
    let later = now + failure_ttl + Duration::from_millis(100);
    assert!(
        answers.get(bogus.key(), later).is_none(),
        "TEMP outlived failure_ttl"
    );
    assert!(
        answers.get(good.key(), later).is_some(),
        "a good answer lives longer"
    );
}

#[tokio::test]
async fn pfx_01_pipelined_replies_come_in_request_order() {
    let fixture = Fixture::start(|_| {}).await;
    // A cached destination answers at once; a new one waits for DNS and HTTPS.
    let (cached, _) = fixture.ask("sts-enforce.test").await;
    let (client, server_side) = tokio::io::duplex(64 * 1024);
    let (_stop, shutdown) = watch::channel(false);
    let shared = fixture.shared.clone();
    let connection = tokio::spawn(async move {
        server::serve(server_side, &shared, shutdown).await;
    });

    let (mut reader, mut writer) = tokio::io::split(client);
    let mut requests = Vec::new();
    for payload in [
        "postfix healthy.test",
        "postfix sts-enforce.test",
        "postfix not a domain",
        "postfix sts-enforce.test",
    ] {
        requests.extend(netstring::encode(payload.as_bytes()));
    }
    writer.write_all(&requests).await.expect("write");
    writer.shutdown().await.expect("half-close");
    let mut replies = Vec::new();
    reader.read_to_end(&mut replies).await.expect("read");
    connection.await.expect("connection task");

    let decoder = NetstringDecoder::new(4096);
    let mut payloads = Vec::new();
    let mut rest = replies.as_slice();
    while let Some(frame) = decoder.decode(rest).expect("netstring") {
        payloads.push(String::from_utf8_lossy(frame.payload).into_owned());
        rest = rest.get(frame.consumed..).unwrap_or_default();
    }
    let (healthy, _) = fixture.ask("healthy.test").await;
    assert_eq!(
        payloads,
        [healthy, cached.clone(), "NOTFOUND ".to_owned(), cached],
        "replies out of request order"
    );
}

#[tokio::test]
async fn pfx_04_why_tells_the_reasons_lookups_and_age_of_a_temp_answer() {
    let fixture = Fixture::start(|config| config.cache.failure_ttl = Duration::from_secs(5)).await;
    let service = fixture.shared.current();
    let bogus = request("d05-bogus-ds.test");

    // Not cached yet: looked up as a request would, then cached.
    let why = service
        .why(bogus.key(), "d05-bogus-ds.test", "postfix", Instant::now())
        .await
        .expect("why");
    assert!(!why.cached);
    assert_eq!(why.kind, "temp");
    assert!(why.reply.starts_with("TEMP "), "{}", why.reply);
    let json = serde_json::to_value(&why).expect("JSON");
    let rules: Vec<&str> = json["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(|reason| reason["rule"].as_str())
        .collect();
    assert!(rules.contains(&"DANE-DNS-03"), "{json:#}");
    assert_eq!(json["lookups"]["mx"]["outcome"], "failed", "{json:#}");
    assert!(json["lookups"]["mx"]["error"].is_string(), "{json:#}");
    let left = why.expires_in_seconds.expect("cached after the lookup");
    assert!(left <= 5, "{left}");

    // The answer a request then gets is the one explained, from the cache.
    let (reply, kind) = fixture.ask("d05-bogus-ds.test").await;
    assert_eq!(
        (reply.as_str(), kind),
        (why.reply.as_str(), AnswerKind::Temp)
    );
    let again = service
        .why(bogus.key(), "d05-bogus-ds.test", "postfix", Instant::now())
        .await
        .expect("why");
    assert!(again.cached);
    assert_eq!(again.reasons, why.reasons);

    // The TEMP was logged once: a notice for it is not due again within the interval.
    assert!(!service.engine.notices.due(bogus.key(), Instant::now()));
}

#[tokio::test]
async fn pfx_01_why_and_status_are_served_beside_metrics() {
    let fixture = Fixture::start(|_| {}).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let (_stop, mut stopped) = watch::channel(false);
    let endpoint = tokio::spawn(crate::socketmap::endpoint::serve(
        listener,
        fixture.shared.clone(),
        async move {
            let _ = stopped.changed().await;
        },
    ));

    let (status, body) = get(addr, "/why?domain=sts-enforce.test").await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(json["kind"], "secure", "{json:#}");
    assert_eq!(json["destination"], "sts-enforce.test");
    // A healthy answer keeps its reasons but not its lookups (only TEMP answers and answers
    // after a failure do), so the answer cache does not hold a summary per destination.
    assert!(json["lookups"].is_null(), "{json:#}");
    assert!(
        json["reasons"].as_array().is_some_and(|r| !r.is_empty()),
        "{json:#}"
    );
    let (status, _) = get(addr, "/why").await;
    assert_eq!(status, 400);
    let (status, _) = get(addr, "/why?domain=not%20a%20name").await;
    assert_eq!(status, 400);

    // STS-FETCH-08: /status shows the refresh rounds and the policy host the lookup above
    // fetched from, for mxsec doctor.
    crate::socketmap::refresh::round(&fixture.shared).await;
    let (status, body) = get(addr, "/status").await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(json["schema_version"], 1, "{json:#}");
    assert_eq!(json["refresh"]["rounds"], 1, "{json:#}");
    assert_eq!(json["refresh"]["last_round"]["failed"], 0, "{json:#}");
    assert_eq!(
        json["policy_hosts"][0]["host"], "mta-sts.sts-enforce.test",
        "{json:#}"
    );
    endpoint.abort();
}

/// The status and body of `GET path` on `addr`.
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("request");
    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(30),
        stream.read_to_string(&mut response),
    )
    .await
    .expect("in time")
    .expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, body.to_owned())
}
