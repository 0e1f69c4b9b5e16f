//! The TLS-RPT records, against both back ends (SQLite and a real `redis-server`).

use std::sync::Arc;

use mxsec_proto::name::DomainName;
use mxsec_proto::tlsrpt::aggregate::{PolicyFailure, RecordedPolicy};
use mxsec_proto::tlsrpt::day_record::DayRecord;
use mxsec_proto::tlsrpt::outbox::{DeliveryState, DeliveryStatus};
use mxsec_proto::tlsrpt::postfix_log::{LogTime, Relay, Trust};
use mxsec_proto::tlsrpt::report::AppliedPolicy;
use mxsec_proto::tlsrpt::sessions::{Session, SessionOutcome};
use mxsec_proto::tlsrpt::ResultType;
use mxsec_testbed::redis::RedisServer;
use time::macros::{date, datetime};

use super::super::{RedisStore, SqliteStore};
use super::{ReportBatch, ReportStore};

fn name(s: &str) -> DomainName {
    DomainName::parse(s).expect("test domain name is valid")
}

fn session(domain: &str) -> Session {
    Session {
        time: LogTime::Exact(datetime!(2026-12-05 10:00 UTC)),
        domain: name(domain),
        mx_host: format!("mx.{domain}"),
        relay: Some(Relay {
            host: format!("mx.{domain}"),
            ip: "192.0.2.25".parse().expect("address"),
        }),
        outcome: SessionOutcome::Tls {
            trust: Trust::Verified,
            verify: None,
        },
    }
}

fn fetch_error(domain: &str) -> RecordedPolicy {
    RecordedPolicy {
        policy: AppliedPolicy::no_policy_found(name(domain)),
        testing: false,
        failures: vec![PolicyFailure {
            result_type: ResultType::StsPolicyFetchError,
            reason_code: None,
            count: 1,
        }],
    }
}

/// A batch that counts one session of `domain` on 2026-12-05.
fn one_session(domain: &str) -> ReportBatch {
    let mut batch = ReportBatch::default();
    let s = session(domain);
    batch.change(date!(2026 - 12 - 05), name(domain), move |r| {
        r.add_session(&s)
    });
    batch
}

async fn rpt_json_02_records_and_position_round_trip(store: &dyn ReportStore) {
    let mut batch = one_session("a.example");
    let s = session("a.example");
    // Two changes to one record in a batch both apply, in order.
    batch.change(date!(2026 - 12 - 05), name("a.example"), move |r| {
        r.add_session(&s);
    });
    batch.change(date!(2026 - 12 - 05), name("b.example"), |r| {
        r.add_policy(fetch_error("b.example"));
    });
    batch.change(date!(2026 - 12 - 06), name("a.example"), |r| {
        r.add_policy(fetch_error("a.example"));
    });
    batch.position = Some(("maillog".into(), "{\"offset\":123}".into()));
    store.apply(batch).await.expect("apply");
    assert_eq!(
        store
            .position("maillog")
            .await
            .expect("position")
            .as_deref(),
        Some("{\"offset\":123}")
    );
    assert_eq!(store.position("other").await.expect("position"), None);

    let day = store.day(date!(2026 - 12 - 05)).await.expect("day");
    let domains: Vec<&str> = day.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(domains, ["a.example", "b.example"]);
    assert_eq!(day[0].1.sessions[0].count, 2);
    assert_eq!(day[1].1.policies[0].failures[0].count, 1);
    assert_eq!(
        store.day(date!(2026 - 12 - 07)).await.expect("day"),
        Vec::<(DomainName, DayRecord)>::new()
    );

    // A later batch adds to what is stored.
    store.apply(one_session("a.example")).await.expect("apply");
    let day = store.day(date!(2026 - 12 - 05)).await.expect("day");
    assert_eq!(day[0].1.sessions[0].count, 3);
}

async fn rpt_time_01_old_days_are_forgotten(store: &dyn ReportStore) {
    for (day, domain) in [
        (date!(2026 - 12 - 01), "a.example"),
        (date!(2026 - 12 - 01), "b.example"),
        (date!(2026 - 12 - 02), "a.example"),
        (date!(2026 - 12 - 03), "a.example"),
    ] {
        let mut batch = ReportBatch::default();
        let s = session(domain);
        batch.change(day, name(domain), move |r| r.add_session(&s));
        store.apply(batch).await.expect("apply");
    }
    assert_eq!(
        store
            .forget_days_before(date!(2026 - 12 - 03))
            .await
            .expect("forget"),
        3
    );
    assert!(store
        .day(date!(2026 - 12 - 01))
        .await
        .expect("day")
        .is_empty());
    assert!(store
        .day(date!(2026 - 12 - 02))
        .await
        .expect("day")
        .is_empty());
    assert_eq!(
        store.day(date!(2026 - 12 - 03)).await.expect("day").len(),
        1
    );
}

/// As many writers of one record at once as a shared store retries an update: all land.
async fn rpt_json_02_concurrent_batches_all_land(store: Arc<dyn ReportStore>) {
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.apply(one_session("a.example")).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("apply");
    }
    let day = store.day(date!(2026 - 12 - 05)).await.expect("day");
    assert_eq!(day[0].1.sessions[0].count, 16);
}

/// A claim, a competing claim from the same state, the outcome; forgotten with the day.
async fn rpt_del_06_delivery_state_swaps_once(store: &dyn ReportStore) {
    let day = date!(2026 - 12 - 05);
    let domain = name("a.example");
    assert!(store.deliveries(day).await.expect("deliveries").is_empty());
    let claim = DeliveryState::begin(None, datetime!(2026-12-06 01:00 UTC)).expect("due");
    assert!(store
        .swap_delivery(day, &domain, None, &claim)
        .await
        .expect("claim"));
    // A second reporter that read no state cannot claim the same attempt.
    assert!(!store
        .swap_delivery(day, &domain, None, &claim)
        .await
        .expect("second claim"));
    let sent = claim.clone().sent("mailto:r@a.example".into(), None);
    assert!(!store
        .swap_delivery(day, &domain, Some(&sent), &sent)
        .await
        .expect("stale swap"));
    assert!(store
        .swap_delivery(day, &domain, Some(&claim), &sent)
        .await
        .expect("swap"));
    let stored = store.deliveries(day).await.expect("deliveries");
    assert_eq!(stored, [(domain.clone(), sent.clone())]);
    assert_eq!(stored[0].1.status, DeliveryStatus::Sent);
    assert!(store
        .deliveries(date!(2026 - 12 - 06))
        .await
        .expect("deliveries")
        .is_empty());

    // Forgotten with the day's records.
    store.apply(one_session("a.example")).await.expect("apply");
    store
        .forget_days_before(date!(2026 - 12 - 06))
        .await
        .expect("forget");
    assert!(store.deliveries(day).await.expect("deliveries").is_empty());
}

async fn sqlite() -> (Arc<SqliteStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(dir.path().join("policies.sqlite"))
        .await
        .expect("open SQLite store");
    (Arc::new(store), dir)
}

async fn redis() -> (Arc<RedisStore>, RedisServer) {
    let server = match RedisServer::start() {
        Ok(server) => server,
        Err(e) => panic!("the Redis store tests need a real redis-server: {e}"),
    };
    let store = RedisStore::connect(&server.url(), "mxsec-test:sts:")
        .await
        .expect("connect to redis-server");
    (Arc::new(store), server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_json_02_sqlite_records_and_position_round_trip() {
    let (store, _dir) = sqlite().await;
    rpt_json_02_records_and_position_round_trip(store.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_json_02_redis_records_and_position_round_trip() {
    let (store, _server) = redis().await;
    rpt_json_02_records_and_position_round_trip(store.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_time_01_sqlite_old_days_are_forgotten() {
    let (store, _dir) = sqlite().await;
    rpt_time_01_old_days_are_forgotten(store.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_time_01_redis_old_days_are_forgotten() {
    let (store, _server) = redis().await;
    rpt_time_01_old_days_are_forgotten(store.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_json_02_sqlite_concurrent_batches_all_land() {
    let (store, _dir) = sqlite().await;
    rpt_json_02_concurrent_batches_all_land(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_json_02_redis_concurrent_batches_all_land() {
    let (store, _server) = redis().await;
    rpt_json_02_concurrent_batches_all_land(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_del_06_sqlite_delivery_state_swaps_once() {
    let (store, _dir) = sqlite().await;
    rpt_del_06_delivery_state_swaps_once(store.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_del_06_redis_delivery_state_swaps_once() {
    let (store, _server) = redis().await;
    rpt_del_06_delivery_state_swaps_once(store.as_ref()).await;
}

/// A store written before delivery states (schema version 2) gains their table and keeps its
/// day records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_del_06_sqlite_version_2_store_is_migrated() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("policies.sqlite");
    let store = SqliteStore::open(&path).await.expect("create");
    store.apply(one_session("a.example")).await.expect("apply");
    store.close().await;
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute_batch("DROP TABLE tlsrpt_delivery; PRAGMA user_version = 2;"))
        .expect("make a version 2 store");
    let store = SqliteStore::open(&path)
        .await
        .expect("open a version 2 store");
    assert_eq!(
        store.day(date!(2026 - 12 - 05)).await.expect("day").len(),
        1
    );
    let claim = DeliveryState::begin(None, datetime!(2026-12-06 01:00 UTC)).expect("due");
    assert!(store
        .swap_delivery(date!(2026 - 12 - 05), &name("a.example"), None, &claim)
        .await
        .expect("claim"));
    store.close().await;
    let version: i64 = rusqlite::Connection::open(&path)
        .and_then(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))
        .expect("read the version");
    assert_eq!(version, 3);
}

/// A store written by a build without TLS-RPT (schema version 1) gains the tables and keeps
/// its policies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_json_02_sqlite_version_1_store_is_migrated() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("policies.sqlite");
    SqliteStore::open(&path)
        .await
        .expect("create")
        .close()
        .await;
    rusqlite::Connection::open(&path)
        .and_then(|c| {
            c.execute_batch(
                "DROP TABLE tlsrpt_day; DROP TABLE tlsrpt_position; DROP TABLE tlsrpt_delivery; \
                 PRAGMA user_version = 1;",
            )
        })
        .expect("make a version 1 store");
    let store = SqliteStore::open(&path)
        .await
        .expect("open a version 1 store");
    store.apply(one_session("a.example")).await.expect("apply");
    assert_eq!(
        store.day(date!(2026 - 12 - 05)).await.expect("day").len(),
        1
    );
    store.close().await;
    let version: i64 = rusqlite::Connection::open(&path)
        .and_then(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))
        .expect("read the version");
    assert_eq!(version, 3);
}
