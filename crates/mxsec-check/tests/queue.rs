//! The Redis scan queue against a real `redis-server` and the testbed: a silent worker's
//! entries are taken over, checks of one entry by two workers write one result, and an entry
//! that stopped too many workers is answered with a failure; and all of it over TLS
//! (`rediss://`), verified with a CA file.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use futures::TryStreamExt;
use mxsec_check::scan::queue::{Queue, WorkerOptions, MAX_DELIVERIES};
use mxsec_check::scan::Done;
use mxsec_check::Checker;
use mxsec_net::dial::ConnectPolicy;
use mxsec_net::redis_client::RedisTls;
use mxsec_testbed::pki::TestPki;
use mxsec_testbed::redis::{ClientAuth, RedisServer, RedisTlsSetup};
use mxsec_testbed::scenario::Scenario;
use mxsec_testbed::Testbed;

use common::checker_on;

async fn checker(testbed: &Testbed) -> Checker {
    checker_on(testbed, ConnectPolicy::AnyAddress, |_| {}).await
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

/// Every result line the collector prints, parsed.
async fn collect(queue: &Queue) -> Vec<serde_json::Value> {
    let lines: Vec<String> = tokio::time::timeout(
        Duration::from_secs(30),
        queue.collect().await.unwrap().try_collect(),
    )
    .await
    .expect("the collector ends")
    .unwrap();
    lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The domain of every collected report, with how many reports it has.
async fn collected(queue: &Queue) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for value in collect(queue).await {
        let domain = value["domain"].as_str().expect("a report").to_owned();
        *counts.entry(domain).or_insert(0) += 1;
    }
    counts
}

/// A stream entry: its id, and its fields and values alternating.
type StreamEntry = (String, Vec<String>);

/// A worker that reads every entry of the queue `name` and falls silent without answering
/// any. Returns a connection and the entry ids it read.
async fn read_silently(
    redis: &RedisServer,
    name: &str,
) -> (redis::aio::MultiplexedConnection, Vec<String>) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let tasks = format!("mxsec:scan:{name}:tasks");
    redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&tasks)
        .arg("workers")
        .arg("0")
        .exec_async(&mut conn)
        .await
        .unwrap();
    let read: Vec<(String, Vec<StreamEntry>)> = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("workers")
        .arg("silent")
        .arg("STREAMS")
        .arg(&tasks)
        .arg(">")
        .query_async(&mut conn)
        .await
        .unwrap();
    let ids = read
        .into_iter()
        .flat_map(|(_, entries)| entries)
        .map(|(id, _)| id)
        .collect();
    (conn, ids)
}

/// How many entries of the queue `name` are pending: read and not acknowledged.
async fn pending(conn: &mut redis::aio::MultiplexedConnection, name: &str) -> u64 {
    let (count, ..): (u64, Option<String>, Option<String>, redis::Value) = redis::cmd("XPENDING")
        .arg(format!("mxsec:scan:{name}:tasks"))
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

    let (mut conn, _) = read_silently(&redis, "claim").await;
    assert_eq!(pending(&mut conn, "claim").await, 4);

    let options = WorkerOptions {
        consumer: String::from("alive"),
        in_flight: 2,
        claim_idle: Duration::from_secs(2),
        max_deliveries: MAX_DELIVERIES,
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
    assert_eq!(pending(&mut conn, "claim").await, 0);
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
            max_deliveries: u64::MAX,
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

#[tokio::test(flavor = "multi_thread")]
async fn an_entry_taken_over_too_often_is_answered_with_a_failure() {
    let redis = RedisServer::start().unwrap();
    let testbed = Testbed::start().await.unwrap();
    let queue = Queue::connect(&redis.url(), "poison").await.unwrap();
    let lines = domains(2);
    enqueue(&queue, &lines).await;

    // The first domain has stopped four workers already: one read it and three took it over
    // (each XCLAIM counts a delivery); the next takeover is its fifth delivery.
    let (mut conn, ids) = read_silently(&redis, "poison").await;
    for _ in 0..3 {
        redis::cmd("XCLAIM")
            .arg("mxsec:scan:poison:tasks")
            .arg("workers")
            .arg("silent")
            .arg(0)
            .arg(&ids[0])
            .exec_async(&mut conn)
            .await
            .unwrap();
    }
    let options = WorkerOptions {
        consumer: String::from("alive"),
        in_flight: 2,
        claim_idle: Duration::from_millis(300),
        max_deliveries: MAX_DELIVERIES,
    };
    let counts = tokio::time::timeout(
        Duration::from_secs(60),
        queue.work(checker(&testbed).await, options),
    )
    .await
    .expect("the worker ends")
    .unwrap();
    assert_eq!((counts.answered, counts.given_up), (2, 1), "{counts:?}");

    let results = collect(&queue).await;
    assert_eq!(results.len(), 2);
    let failure = results
        .iter()
        .find(|r| r["input"] == lines[0].as_str())
        .expect("a failure line for the first domain");
    let error = failure["error"].as_str().unwrap();
    assert!(error.contains("taken over 4 times"), "{error}");
    assert!(results.iter().any(|r| r["domain"] == lines[1].as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queue_over_tls_is_filled_worked_and_collected() {
    let pki = TestPki::generate(SystemTime::now()).unwrap();
    let setup = RedisTlsSetup::from_pki(&pki, ClientAuth::None).unwrap();
    let redis = RedisServer::start_tls(&setup).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, pki.root_pem()).unwrap();
    let tls = RedisTls {
        ca_file: Some(ca_file),
        client_identity: None,
    };
    assert!(redis.url().starts_with("rediss://"));
    let queue = Queue::connect_tls(&redis.url(), "tls", &tls).await.unwrap();
    let lines = domains(2);
    enqueue(&queue, &lines).await;

    let testbed = Testbed::start().await.unwrap();
    let options = WorkerOptions {
        consumer: String::from("w1"),
        in_flight: 2,
        claim_idle: Duration::from_secs(60),
        max_deliveries: MAX_DELIVERIES,
    };
    let counts = tokio::time::timeout(
        Duration::from_secs(60),
        queue.work(checker(&testbed).await, options),
    )
    .await
    .expect("the worker ends")
    .unwrap();
    assert_eq!(counts.answered, 2, "{counts:?}");
    assert_eq!(collected(&queue).await, once_each(&lines));
}
