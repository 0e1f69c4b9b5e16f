//! The Redis scan queue against a real `redis-server` and the testbed: a silent worker's
//! entries are taken over, and checks of one entry by two workers write one result.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use futures::TryStreamExt;
use mxsec_check::scan::queue::{Queue, WorkerOptions};
use mxsec_check::scan::Done;
use mxsec_check::{CheckOptions, Checker};
use mxsec_net::dial::{AddressMap, Dialer};
use mxsec_net::dns::{Backend, Dns, DnsConfig, TrustAnchorSource};
use mxsec_net::trust::TrustConfig;
use mxsec_proto::name::DomainName;
use mxsec_testbed::redis::RedisServer;
use mxsec_testbed::scenario::Scenario;
use mxsec_testbed::Testbed;

async fn checker(testbed: &Testbed) -> Checker {
    let config = DnsConfig::builder()
        .backend(Backend::Validate)
        .nameserver(testbed.dns_addr())
        .trust_anchor(TrustAnchorSource::File(
            testbed.files().trust_anchor.clone(),
        ))
        .timeout(Duration::from_secs(5))
        .build();
    let dns = Dns::new(&config).await.unwrap();
    let trust = TrustConfig::empty()
        .add_ca_pem(Path::new("testbed-ca.pem"), testbed.ca_pem().as_bytes())
        .unwrap();
    let mut map = AddressMap::new();
    for route in testbed.routes() {
        map.insert(route.published, route.local).unwrap();
    }
    let dialer = Dialer::new(Duration::from_secs(3)).with_address_map(map);
    let mut options = CheckOptions::new(DomainName::parse("checker.invalid").unwrap());
    options.probe_timeouts.total = Duration::from_secs(8);
    Checker::new(dns, &trust, dialer, options).unwrap()
}

fn domains(n: usize) -> Vec<String> {
    Scenario::all()
        .iter()
        .take(n)
        .map(|s| s.domain().to_string())
        .collect()
}

async fn enqueue(queue: &Queue, lines: &[String]) {
    let inputs = futures::stream::iter(lines.iter().cloned().map(Ok));
    let counts = queue.enqueue(inputs, &Done::default()).await.unwrap();
    assert_eq!(counts.enqueued, lines.len() as u64);
}

/// The domain of every collected result line, with how many results it has.
async fn collected(queue: &Queue) -> BTreeMap<String, usize> {
    let lines: Vec<String> = tokio::time::timeout(
        Duration::from_secs(30),
        queue.collect().await.unwrap().try_collect(),
    )
    .await
    .expect("the collector ends")
    .unwrap();
    let mut counts = BTreeMap::new();
    for line in lines {
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        let domain = value["domain"].as_str().expect("a report").to_owned();
        *counts.entry(domain).or_insert(0) += 1;
    }
    counts
}

/// How many entries of the `claim` queue are pending: read and not acknowledged.
async fn pending(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    let (count, ..): (u64, Option<String>, Option<String>, redis::Value) = redis::cmd("XPENDING")
        .arg("mxsec:scan:claim:tasks")
        .arg("workers")
        .query_async(conn)
        .await
        .unwrap();
    count
}

fn once_each(lines: &[String]) -> BTreeMap<String, usize> {
    lines.iter().map(|d| (d.clone(), 1)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn entries_of_a_silent_worker_are_taken_over_after_the_claim_time() {
    let redis = RedisServer::start().unwrap();
    let testbed = Testbed::start().await.unwrap();
    let queue = Queue::connect(&redis.url(), "claim").await.unwrap();
    let lines = domains(4);
    enqueue(&queue, &lines).await;

    // A worker reads every entry and falls silent without answering any.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("XGROUP")
        .arg("CREATE")
        .arg("mxsec:scan:claim:tasks")
        .arg("workers")
        .arg("0")
        .exec_async(&mut conn)
        .await
        .unwrap();
    let read: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("workers")
        .arg("silent")
        .arg("STREAMS")
        .arg("mxsec:scan:claim:tasks")
        .arg(">")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_ne!(read, redis::Value::Nil);
    assert_eq!(pending(&mut conn).await, 4);

    let options = WorkerOptions {
        consumer: String::from("alive"),
        in_flight: 2,
        claim_idle: Duration::from_secs(2),
    };
    let started = std::time::Instant::now();
    let counts = tokio::time::timeout(
        Duration::from_secs(60),
        queue.work(checker(&testbed).await, options),
    )
    .await
    .expect("the worker ends")
    .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(2));
    // Every entry was taken over; one checked by this worker so slowly that its own claim
    // lapsed would be counted twice, and answered once.
    assert_eq!(counts.answered, 4, "{counts:?}");
    assert!(counts.claimed >= 4, "{counts:?}");
    assert_eq!(pending(&mut conn).await, 0);
    assert_eq!(collected(&queue).await, once_each(&lines));
    let state = queue.state().await.unwrap();
    assert!(state.finished(), "{state:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_workers_taking_each_others_entries_write_one_result_per_domain() {
    let redis = RedisServer::start().unwrap();
    let testbed = Testbed::start().await.unwrap();
    let queue = Queue::connect(&redis.url(), "race").await.unwrap();
    let lines = domains(12);
    enqueue(&queue, &lines).await;

    // A claim time of one millisecond: each worker takes over the entries the other is
    // checking, so that many domains are checked twice.
    let worker = |name: &str| {
        let queue = queue.clone();
        let options = WorkerOptions {
            consumer: name.to_owned(),
            in_flight: 3,
            claim_idle: Duration::from_millis(1),
        };
        let checker = checker(&testbed);
        async move { queue.work(checker.await, options).await.unwrap() }
    };
    let (a, b) = tokio::time::timeout(
        Duration::from_secs(120),
        futures::future::join(worker("a"), worker("b")),
    )
    .await
    .expect("the workers end");
    assert_eq!(a.answered + b.answered, lines.len() as u64, "{a:?} {b:?}");
    assert!(
        a.duplicates + b.duplicates > 0,
        "no domain checked twice: {a:?} {b:?}"
    );
    assert_eq!(collected(&queue).await, once_each(&lines));
}
