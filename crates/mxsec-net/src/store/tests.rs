//! One test suite, run against every back end (SQLite and a real `redis-server`), then the
//! tests of what only one back end has (a file to reopen or damage; TTLs and reconnection).

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt, TryStreamExt};
use mxsec_proto::mta_sts::cache::{CacheEntry, CachedPolicy, FetchFailure, FetchRecord};
use mxsec_proto::mta_sts::PolicyId;
use mxsec_proto::name::DomainName;
use mxsec_testbed::redis::RedisServer;

use super::{PolicyStore, RecordProblem, RedisStore, SqliteStore, StoreError};

const T0: u64 = 1_700_000_000;
const DAY: u64 = 86_400;
const WEEK: u64 = 604_800;

fn name(s: &str) -> DomainName {
    DomainName::parse(s).expect("test domain name is valid")
}

fn id(s: &str) -> PolicyId {
    PolicyId::parse(s).expect("test policy id is valid")
}

/// A policy with id `id_str`, fetched at `fetched_at`, from a body with `mode` and `max_age`.
fn policy(id_str: &str, mode: &str, max_age: u64, fetched_at: u64) -> CachedPolicy {
    let body = format!(
        "version: STSv1\r\nmode: {mode}\r\nmx: mail.example.com\r\nmx: *.example.net\r\n\
         max_age: {max_age}\r\n"
    );
    CachedPolicy::parse(id(id_str), body, fetched_at).expect("test policy is valid")
}

/// An entry for `domain` holding an enforce policy fetched at `fetched_at`.
fn entry(domain: &str, fetched_at: u64, max_age: u64) -> CacheEntry {
    let mut entry = CacheEntry::new(name(domain));
    assert!(entry.record_success(policy("20240101T000000", "enforce", max_age, fetched_at)));
    entry
}

/// Stores an entry as it is, replacing what is stored: how the tests set the scene, through
/// [`PolicyStore::update`] like every write.
#[async_trait::async_trait]
trait Put {
    async fn put(&self, entry: &CacheEntry, now: u64) -> Result<(), StoreError>;
}

#[async_trait::async_trait]
impl<S: PolicyStore + ?Sized> Put for S {
    async fn put(&self, entry: &CacheEntry, now: u64) -> Result<(), StoreError> {
        let replacement = entry.clone();
        self.update(
            entry.domain(),
            now,
            Box::new(move |stored| *stored = replacement.clone()),
        )
        .await
        .map(drop)
    }
}

/// The change that records `outcome`, as the resolver makes it.
fn record(outcome: FetchRecord) -> super::Change {
    Box::new(move |entry| {
        entry.record(&outcome);
    })
}

/// A store to test and what keeps it alive (its directory or its server).
struct Harness<S> {
    store: S,
    _dir: Option<tempfile::TempDir>,
    _server: Option<RedisServer>,
}

async fn sqlite() -> Harness<SqliteStore> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(dir.path().join("policies.sqlite"))
        .await
        .expect("open SQLite store");
    Harness {
        store,
        _dir: Some(dir),
        _server: None,
    }
}

fn redis_server() -> RedisServer {
    match RedisServer::start() {
        Ok(server) => server,
        Err(e) => panic!("the Redis store tests need a real redis-server: {e}"),
    }
}

async fn redis() -> Harness<RedisStore> {
    let server = redis_server();
    let store = RedisStore::connect(&server.url(), "mxsec-test:sts:")
        .await
        .expect("connect to redis-server");
    Harness {
        store,
        _dir: None,
        _server: Some(server),
    }
}

mod tls;

/// The tests every back end must pass.
mod suite {
    use super::*;

    pub(super) async fn sts_pol_06_put_then_get_returns_the_same_entry(store: &dyn PolicyStore) {
        let mut e = entry("example.com", T0, WEEK);
        e.record_failure(&id("newid"), T0 + 10);
        e.record_failure(&id("otherid"), T0 + 20);
        store.put(&e, T0 + 20).await.expect("put");
        let got = store.get(&name("example.com"), T0 + 30).await.expect("get");
        assert_eq!(got, Some(e));
        assert_eq!(
            store.get(&name("other.example"), T0).await.expect("get"),
            None
        );
        assert_eq!(store.count(T0 + 30).await.expect("count"), 1);
    }

    pub(super) async fn sts_fetch_07_put_replaces_the_entry(store: &dyn PolicyStore) {
        let old = entry("example.com", T0, WEEK);
        let mut new = old.clone();
        assert!(new.record_success(policy("newid", "testing", 86_400, T0 + DAY)));
        store.put(&old, T0).await.expect("put");
        store.put(&new, T0 + DAY).await.expect("put");
        let got = store
            .get(&name("example.com"), T0 + DAY)
            .await
            .expect("get");
        assert_eq!(got, Some(new));
        assert_eq!(store.count(T0 + DAY).await.expect("count"), 1);
    }

    pub(super) async fn sts_pol_06_expired_entries_are_not_returned_and_are_purged(
        store: &dyn PolicyStore,
    ) {
        let expiry = T0 + WEEK;
        store
            .put(&entry("a.example", T0, WEEK), T0)
            .await
            .expect("put");
        store
            .put(&entry("b.example", T0 + DAY, WEEK), T0 + DAY)
            .await
            .expect("put");
        let a = name("a.example");
        assert!(store.get(&a, expiry - 1).await.expect("get").is_some());
        assert_eq!(store.get(&a, expiry).await.expect("get"), None);
        assert_eq!(store.count(expiry - 1).await.expect("count"), 2);
        assert_eq!(store.count(expiry).await.expect("count"), 1);
        assert_eq!(store.purge_expired(expiry).await.expect("purge"), 1);
        assert_eq!(store.purge_expired(expiry).await.expect("purge"), 0);
        assert_eq!(store.get(&a, T0).await.expect("get"), None);
        assert!(store
            .get(&name("b.example"), expiry)
            .await
            .expect("get")
            .is_some());
    }

    pub(super) async fn sts_pol_06_putting_an_expired_entry_deletes_the_stored_one(
        store: &dyn PolicyStore,
    ) {
        let e = entry("example.com", T0, 3_600);
        store.put(&e, T0).await.expect("put");
        store.put(&e, T0 + 3_600).await.expect("put");
        assert_eq!(
            store.get(&name("example.com"), T0).await.expect("get"),
            None
        );
        assert_eq!(store.count(T0).await.expect("count"), 0);
        store
            .put(&CacheEntry::new(name("empty.example")), T0)
            .await
            .expect("put");
        assert_eq!(store.count(T0).await.expect("count"), 0);
    }

    pub(super) async fn sts_fetch_03_failure_only_entry_lasts_for_the_retry_wait(
        store: &dyn PolicyStore,
    ) {
        let mut e = CacheEntry::new(name("broken.example"));
        e.record_failure(&id("id1"), T0);
        store.put(&e, T0).await.expect("put");
        let got = store
            .get(&name("broken.example"), T0 + 299)
            .await
            .expect("get");
        assert_eq!(got.as_ref(), Some(&e));
        assert!(!got.is_some_and(|g| g.may_fetch(&id("id1"), T0 + 299)));
        assert_eq!(
            store
                .get(&name("broken.example"), T0 + 300)
                .await
                .expect("get"),
            None
        );
        assert!(store
            .due_for_refresh(T0 + 299, 10)
            .await
            .expect("due")
            .is_empty());
    }

    pub(super) async fn sts_fetch_08_due_for_refresh_lists_the_longest_overdue_first(
        store: &dyn PolicyStore,
    ) {
        // Fetched 3, 2 and 1 days before `now`; one fresh; one expired; one failure-only.
        let now = T0 + 10 * DAY;
        for (domain, fetched_at, max_age) in [
            ("two.example", now - 2 * DAY, WEEK),
            ("three.example", now - 3 * DAY, WEEK),
            ("one.example", now - DAY, WEEK),
            ("fresh.example", now - 60, WEEK),
            ("expired.example", now - 2 * DAY, 86_400),
        ] {
            store
                .put(&entry(domain, fetched_at, max_age), now - 3 * DAY)
                .await
                .expect("put");
        }
        let mut failed = CacheEntry::new(name("failed.example"));
        failed.record_failure(&id("id"), now - 10);
        store.put(&failed, now - 10).await.expect("put");

        let due = store.due_for_refresh(now, 10).await.expect("due");
        let domains: Vec<&str> = due.iter().map(|e| e.domain().as_str()).collect();
        assert_eq!(domains, ["three.example", "two.example", "one.example"]);
        let due = store.due_for_refresh(now, 2).await.expect("due");
        let domains: Vec<&str> = due.iter().map(|e| e.domain().as_str()).collect();
        assert_eq!(domains, ["three.example", "two.example"]);
        assert!(store.due_for_refresh(now, 0).await.expect("due").is_empty());

        // A failed refresh moves the entry back by the retry wait (STS-FETCH-03).
        let mut three = due.into_iter().next().expect("one entry due");
        three.record_failure(&id("20240101T000000"), now);
        store.put(&three, now).await.expect("put");
        let due = store.due_for_refresh(now + 299, 10).await.expect("due");
        let domains: Vec<&str> = due.iter().map(|e| e.domain().as_str()).collect();
        assert_eq!(domains, ["two.example", "one.example"]);
        let due = store.due_for_refresh(now + 300, 10).await.expect("due");
        assert_eq!(due.len(), 3);
    }

    pub(super) async fn sts_pol_06_delete_reports_whether_there_was_an_entry(
        store: &dyn PolicyStore,
    ) {
        store
            .put(&entry("example.com", T0, WEEK), T0)
            .await
            .expect("put");
        assert!(store.delete(&name("example.com")).await.expect("delete"));
        assert!(!store.delete(&name("example.com")).await.expect("delete"));
        assert_eq!(
            store.get(&name("example.com"), T0).await.expect("get"),
            None
        );
        assert_eq!(store.count(T0).await.expect("count"), 0);
        assert!(store
            .due_for_refresh(T0 + DAY, 5)
            .await
            .expect("due")
            .is_empty());
    }

    pub(super) async fn sts_fetch_07_update_merges_into_the_stored_entry(store: &dyn PolicyStore) {
        let domain = name("example.com");
        store
            .put(&entry("example.com", T0, WEEK), T0)
            .await
            .expect("put");
        // A failed fetch of a new id keeps the stored policy and starts the retry wait.
        let failure = FetchRecord::Failed(FetchFailure::new(id("newid"), T0 + 60));
        let merged = store
            .update(&domain, T0 + 60, record(failure))
            .await
            .expect("update");
        assert_eq!(
            merged.live_policy(T0 + 60).map(CachedPolicy::fetched_at),
            Some(T0)
        );
        assert!(!merged.may_fetch(&id("newid"), T0 + 60));
        let stored = store.get(&domain, T0 + 60).await.expect("get");
        assert_eq!(stored.as_ref(), Some(&merged));
        // An older policy arriving late changes nothing.
        let older = FetchRecord::Fetched(policy("oldid", "enforce", WEEK, T0 - 60));
        let merged = store
            .update(&domain, T0 + 61, record(older))
            .await
            .expect("update");
        assert_eq!(
            merged.policy().map(|p| p.id().as_str()),
            Some("20240101T000000")
        );
        // Nothing stored: the update starts from an empty entry.
        let fresh = FetchRecord::Fetched(policy("id1", "testing", WEEK, T0));
        let created = store
            .update(&name("new.example"), T0, record(fresh))
            .await
            .expect("update");
        assert_eq!(
            store.get(&name("new.example"), T0).await.expect("get"),
            Some(created)
        );
    }

    pub(super) async fn sts_pol_06_update_to_a_max_age_zero_policy_stores_nothing(
        store: &dyn PolicyStore,
    ) {
        // RFC 8461 §3.2: a policy with max_age 0 is not cached; it replaces the older one.
        let domain = name("example.com");
        store
            .put(&entry("example.com", T0, WEEK), T0)
            .await
            .expect("put");
        let zero = FetchRecord::Fetched(policy("newid", "enforce", 0, T0 + 60));
        let merged = store
            .update(&domain, T0 + 60, record(zero))
            .await
            .expect("update");
        assert_eq!(merged.policy().map(CachedPolicy::max_age), Some(0));
        assert_eq!(store.get(&domain, T0 + 60).await.expect("get"), None);
        assert_eq!(store.count(T0 + 60).await.expect("count"), 0);
        assert!(store
            .due_for_refresh(T0 + 2 * DAY, 10)
            .await
            .expect("due")
            .is_empty());
    }

    /// STS-FETCH-07 under concurrency: lookups, refreshes and other MTAs write one domain at
    /// once, some with newer policies, some with failures of fetches that started before
    /// those policies were stored. Every round, the latest policy is what stays.
    pub(super) async fn sts_fetch_07_concurrent_newer_policy_and_stale_failures_keep_the_newer(
        store: &dyn PolicyStore,
    ) {
        const ROUNDS: u64 = 25;
        const WRITERS: u64 = 4;
        let domain = name("example.com");
        store
            .put(&entry("example.com", T0, WEEK), T0)
            .await
            .expect("put");
        for round in 1..=ROUNDS {
            let base = T0 + round * 100;
            let writes = (0..WRITERS).flat_map(|w| {
                let fetched = policy(&format!("r{round}w{w}"), "enforce", WEEK, base + w);
                // A fetch of the same id that started earlier and failed.
                let stale = FetchFailure::new(fetched.id().clone(), base + w - 1);
                [
                    FetchRecord::Fetched(fetched),
                    FetchRecord::Failed(stale),
                    FetchRecord::Failed(FetchFailure::new(id("20240101T000000"), base)),
                ]
            });
            futures::future::try_join_all(
                writes.map(|outcome| store.update(&domain, base + WRITERS, record(outcome))),
            )
            .await
            .expect("concurrent updates");
            let stored = store
                .get(&domain, base + WRITERS)
                .await
                .expect("get")
                .expect("an entry");
            let latest = format!("r{round}w{}", WRITERS - 1);
            assert_eq!(
                stored.live_policy(base + WRITERS).map(|p| p.id().as_str()),
                Some(latest.as_str()),
                "round {round}"
            );
            assert!(
                stored.may_fetch(&id(&latest), base + WRITERS),
                "a stale failure blocks the policy just fetched: {stored:?}"
            );
        }
    }

    pub(super) async fn sts_pol_06_concurrent_puts_all_land(store: &dyn PolicyStore) {
        let entries: Vec<CacheEntry> = (0..500)
            .map(|i| entry(&format!("d{i}.example"), T0 + i, WEEK))
            .collect();
        // Writers for the same domains race too; the entries are identical, so any order is
        // fine, and none may be lost or half-written.
        futures::future::try_join_all(entries.iter().chain(&entries).map(|e| store.put(e, T0)))
            .await
            .expect("concurrent puts");
        assert_eq!(store.count(T0).await.expect("count"), 500);
        let got = futures::future::try_join_all(entries.iter().map(|e| store.get(e.domain(), T0)))
            .await
            .expect("concurrent gets");
        for (got, want) in got.iter().zip(&entries) {
            assert_eq!(got.as_ref(), Some(want));
        }
    }

    pub(super) async fn sts_pol_06_hundred_thousand_entries(store: &dyn PolicyStore) {
        const N: u64 = 100_000;
        const IN_FLIGHT: usize = 256;
        let entries: Vec<CacheEntry> = (0..N)
            .map(|i| entry(&format!("host{i}.example{}.com", i % 97), T0 - i, WEEK))
            .collect();
        let start = Instant::now();
        stream::iter(&entries)
            .map(|e| store.put(e, T0))
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<()>()
            .await
            .expect("puts");
        let put_time = start.elapsed();
        let start = Instant::now();
        let found: Vec<bool> = stream::iter(&entries)
            .map(|e| async move {
                store
                    .get(e.domain(), T0)
                    .await
                    .map(|g| g.as_ref() == Some(e))
            })
            .buffer_unordered(IN_FLIGHT)
            .try_collect()
            .await
            .expect("gets");
        let get_time = start.elapsed();
        assert!(found.iter().all(|&f| f), "every entry reads back equal");
        assert_eq!(store.count(T0).await.expect("count"), N);
        // Fetched up to N seconds before T0: those fetched a day or more before `T0 + 1000`
        // are due, the longest overdue first.
        let due = store.due_for_refresh(T0 + 1_000, 50).await.expect("due");
        assert_eq!(due.len(), 50);
        assert_eq!(
            due.first().map(|e| e.domain().as_str()),
            Some(format!("host{}.example{}.com", N - 1, (N - 1) % 97).as_str())
        );
        eprintln!(
            "100000 entries: update {:.0}/s ({put_time:.2?}), get {:.0}/s ({get_time:.2?})",
            N as f64 / put_time.as_secs_f64(),
            N as f64 / get_time.as_secs_f64(),
        );
    }
}

/// Instantiates every suite test for one back end.
macro_rules! suite_for {
    ($backend:ident, $($test:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let harness = super::$backend().await;
                    super::suite::$test(&harness.store).await;
                }
            )*
        }
    };
}

macro_rules! suite_for_all {
    ($($test:ident),* $(,)?) => {
        suite_for!(sqlite, $($test),*);
        suite_for!(redis, $($test),*);
    };
}

suite_for_all!(
    sts_pol_06_put_then_get_returns_the_same_entry,
    sts_fetch_07_put_replaces_the_entry,
    sts_pol_06_expired_entries_are_not_returned_and_are_purged,
    sts_pol_06_putting_an_expired_entry_deletes_the_stored_one,
    sts_fetch_03_failure_only_entry_lasts_for_the_retry_wait,
    sts_fetch_08_due_for_refresh_lists_the_longest_overdue_first,
    sts_pol_06_delete_reports_whether_there_was_an_entry,
    sts_fetch_07_update_merges_into_the_stored_entry,
    sts_pol_06_update_to_a_max_age_zero_policy_stores_nothing,
    sts_fetch_07_concurrent_newer_policy_and_stale_failures_keep_the_newer,
    sts_pol_06_concurrent_puts_all_land,
    sts_pol_06_hundred_thousand_entries,
);

/// What only the SQLite store has: a file that must survive restarts and be checked at open.
mod sqlite_file {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use super::*;

    async fn open_err(path: &Path) -> StoreError {
        match SqliteStore::open(path).await {
            Ok(_) => panic!("{} opened, but should not", path.display()),
            Err(e) => e,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sts_fetch_07_sqlite_entries_survive_reopen() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("policies.sqlite");
        let store = SqliteStore::open(&path).await.expect("open");
        let e = entry("example.com", T0, WEEK);
        store.put(&e, T0).await.expect("put");
        store.close().await;
        let store = SqliteStore::open(&path).await.expect("reopen");
        assert_eq!(
            store.get(&name("example.com"), T0).await.expect("get"),
            Some(e)
        );
        assert_eq!(store.count(T0).await.expect("count"), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sts_fetch_07_sqlite_update_is_committed_when_it_returns() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("policies.sqlite");
        let store = SqliteStore::open(&path).await.expect("open");
        store
            .put(&entry("example.com", T0, WEEK), T0)
            .await
            .expect("put");
        // Another connection (as after a crash of this process) sees the committed row.
        let other = rusqlite::Connection::open(&path).expect("second connection");
        let domain: String = other
            .query_row("SELECT domain FROM mta_sts_policy", [], |r| r.get(0))
            .expect("row visible");
        assert_eq!(domain, "example.com");
        let journal: String = other
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("journal mode");
        assert_eq!(journal, "wal");
    }

    /// Set in the child process of the kill test: the database it writes to.
    const KILL_CHILD_DB: &str = "MXSEC_TEST_KILL_CHILD_DB";

    /// Updates acknowledged by the child before the parent kills it.
    const ACKNOWLEDGED_BEFORE_KILL: usize = 2_000;

    /// STS-FETCH-07 across a crash: a process writing policies with 64 updates in flight is
    /// killed with SIGKILL; reopened, the file holds every policy whose put had returned.
    /// The test runs itself as that process (the child branch below).
    #[test]
    fn sts_fetch_07_sqlite_kill_9_during_heavy_writes_keeps_every_acknowledged_update() {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};

        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        if let Some(path) = std::env::var_os(KILL_CHILD_DB) {
            runtime.block_on(write_until_killed(Path::new(&path)));
            return;
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("policies.sqlite");
        let module = module_path!();
        let test = format!(
            "{}::sts_fetch_07_sqlite_kill_9_during_heavy_writes_keeps_every_acknowledged_update",
            module.split_once("::").map_or(module, |(_, rest)| rest)
        );
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", &test, "--nocapture", "--test-threads=1"])
            .env(KILL_CHILD_DB, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the writer");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut acknowledged = Vec::new();
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let line = line.expect("writer output");
            if let Some(domain) = line.strip_prefix("stored ") {
                acknowledged.push(domain.to_owned());
                if acknowledged.len() == ACKNOWLEDGED_BEFORE_KILL {
                    break;
                }
            }
        }
        // SIGKILL: no destructor, no flush, no checkpoint.
        child.kill().expect("kill -9 the writer");
        // Acknowledgements already in the pipe count too.
        for line in lines {
            let Ok(line) = line else { break };
            if let Some(domain) = line.strip_prefix("stored ") {
                acknowledged.push(domain.to_owned());
            }
        }
        child.wait().expect("reap the writer");
        assert!(acknowledged.len() >= ACKNOWLEDGED_BEFORE_KILL);

        runtime.block_on(async {
            let store = SqliteStore::open(&path)
                .await
                .expect("reopen after the kill");
            let stored =
                usize::try_from(store.count(T0).await.expect("count")).expect("count fits");
            println!(
                "kill -9: {} updates acknowledged, {stored} entries in the file after restart",
                acknowledged.len()
            );
            assert!(
                stored >= acknowledged.len(),
                "{stored} < {}",
                acknowledged.len()
            );
            for domain in &acknowledged {
                let found = store.get(&name(domain), T0).await.expect("get");
                assert!(found.is_some(), "{domain} was acknowledged, then lost");
            }
            store.close().await;
        });
    }

    /// The child of the kill test: stores policies, 64 updates at a time, and prints each
    /// domain once its update has returned, until it is killed.
    async fn write_until_killed(path: &Path) {
        use std::io::Write as _;
        let store = SqliteStore::open(path).await.expect("open in the writer");
        let store = &store;
        stream::iter(0u64..)
            .map(|i| async move {
                let domain = format!("d{i}.example");
                store
                    .put(&entry(&domain, T0, WEEK), T0)
                    .await
                    .expect("put in the writer");
                domain
            })
            .buffer_unordered(64)
            .for_each(|domain| async move {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "stored {domain}");
                let _ = out.flush();
            })
            .await;
    }

    #[tokio::test]
    async fn sts_pol_06_sqlite_read_only_file_fails_at_open() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("policies.sqlite");
        SqliteStore::open(&path)
            .await
            .expect("create")
            .close()
            .await;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).expect("chmod");
        let err = open_err(&path).await;
        assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
        assert!(err.to_string().contains("read-only"), "{err}");
    }

    #[tokio::test]
    async fn sts_pol_06_sqlite_file_that_is_not_a_database_fails_at_open() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("policies.sqlite");
        std::fs::write(&path, "version: STSv1\nmode: enforce\n".repeat(200)).expect("write");
        let err = open_err(&path).await;
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        // The file is left as it was, for the operator to inspect.
        assert!(std::fs::read(&path)
            .expect("read")
            .starts_with(b"version: STSv1"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sts_pol_06_sqlite_damaged_file_fails_at_open() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("policies.sqlite");
        let store = SqliteStore::open(&path).await.expect("create");
        let entries: Vec<CacheEntry> = (0..2_000)
            .map(|i| entry(&format!("d{i}.example"), T0, WEEK))
            .collect();
        futures::future::try_join_all(entries.iter().map(|e| store.put(e, T0)))
            .await
            .expect("puts");
        store.close().await;
        // Overwrite pages in the middle of the file (after the header page) with garbage.
        let mut bytes = std::fs::read(&path).expect("read");
        assert!(bytes.len() > 16 * 4096, "file has {} bytes", bytes.len());
        for b in &mut bytes[8 * 4096..12 * 4096] {
            *b = 0xA5;
        }
        std::fs::write(&path, bytes).expect("write");
        let err = open_err(&path).await;
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn sts_pol_06_sqlite_other_programs_database_is_refused() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("other.sqlite");
        rusqlite::Connection::open(&path)
            .and_then(|c| c.execute_batch("CREATE TABLE mail (id INTEGER PRIMARY KEY)"))
            .expect("create other database");
        let err = open_err(&path).await;
        assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn sts_pol_06_sqlite_newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("policies.sqlite");
        SqliteStore::open(&path)
            .await
            .expect("create")
            .close()
            .await;
        rusqlite::Connection::open(&path)
            .and_then(|c| c.execute_batch("PRAGMA user_version = 4"))
            .expect("set version");
        let err = open_err(&path).await;
        assert!(
            matches!(
                err,
                StoreError::NewerSchema {
                    found: 4,
                    supported: 3,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn sts_pol_06_sqlite_missing_directory_fails_at_open() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let err = open_err(&dir.path().join("missing").join("policies.sqlite")).await;
        assert!(matches!(err, StoreError::Sqlite { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn sts_pol_06_sqlite_undecodable_row_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("policies.sqlite");
        let store = SqliteStore::open(&path).await.expect("create");
        store
            .put(&entry("example.com", T0, WEEK), T0)
            .await
            .expect("put");
        rusqlite::Connection::open(&path)
            .and_then(|c| {
                c.execute_batch(
                    "UPDATE mta_sts_policy SET body = replace(body, 'enforce', 'Enforce')",
                )
            })
            .expect("damage row");
        let err = match store.get(&name("example.com"), T0).await {
            Ok(e) => panic!("decoded a damaged row: {e:?}"),
            Err(e) => e,
        };
        assert!(
            matches!(&err, StoreError::InvalidRecord { key, problem: RecordProblem::Policy(_) }
                if key == "example.com"),
            "{err:?}"
        );
        // What cannot be read is never written over: the update fails, the row stays.
        let newer = FetchRecord::Fetched(policy("newid", "enforce", WEEK, T0 + 1));
        let err = store
            .update(&name("example.com"), T0 + 1, record(newer))
            .await
            .map(drop)
            .expect_err("update over a damaged row");
        assert!(matches!(err, StoreError::InvalidRecord { .. }), "{err:?}");
        let body: String = rusqlite::Connection::open(&path)
            .and_then(|c| c.query_row("SELECT body FROM mta_sts_policy", [], |r| r.get(0)))
            .expect("row");
        assert!(body.contains("mode: Enforce"), "{body}");
    }
}

/// What only the Redis store has: TTLs, a key prefix and reconnection.
mod redis_server {
    use ::redis::AsyncCommands;

    use super::*;

    fn unix_now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs()
    }

    async fn raw(server: &RedisServer) -> ::redis::aio::MultiplexedConnection {
        ::redis::Client::open(server.url())
            .expect("URL")
            .get_multiplexed_async_connection()
            .await
            .expect("raw connection")
    }

    #[tokio::test]
    async fn sts_pol_06_redis_ttl_is_the_remaining_max_age() {
        let h = redis().await;
        let server = h._server.as_ref().expect("server");
        let now = T0 + 1_000;
        h.store
            .put(&entry("example.com", T0, 86_400), now)
            .await
            .expect("put");
        let ttl: i64 = raw(server)
            .await
            .ttl("mxsec-test:sts:policy:example.com")
            .await
            .expect("TTL");
        // 86400 s of max_age, 1000 s of which have passed (Redis may have ticked once).
        assert!((85_399..=85_400).contains(&ttl), "TTL {ttl}");
    }

    #[tokio::test]
    async fn sts_pol_06_redis_forgets_an_entry_when_its_max_age_has_passed() {
        let h = redis().await;
        let server = h._server.as_ref().expect("server");
        let now = unix_now();
        h.store
            .put(&entry("example.com", now, 1), now)
            .await
            .expect("put");
        let mut conn = raw(server).await;
        let key = "mxsec-test:sts:policy:example.com";
        let deadline = Instant::now() + Duration::from_secs(5);
        while conn.exists::<_, bool>(key).await.expect("EXISTS") {
            assert!(Instant::now() < deadline, "key still present after its TTL");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(h.store.purge_expired(unix_now()).await.expect("purge"), 1);
        assert_eq!(h.store.count(unix_now()).await.expect("count"), 0);
    }

    #[tokio::test]
    async fn sts_pol_06_redis_keys_stay_under_their_prefix() {
        let server = redis_server();
        let a = RedisStore::connect(&server.url(), "fleet-a:")
            .await
            .expect("connect");
        let b = RedisStore::connect(&server.url(), "fleet-b:")
            .await
            .expect("connect");
        a.put(&entry("example.com", T0, WEEK), T0)
            .await
            .expect("put");
        assert_eq!(b.get(&name("example.com"), T0).await.expect("get"), None);
        assert_eq!(b.count(T0).await.expect("count"), 0);
        let mut keys: Vec<String> = raw(&server).await.keys("*").await.expect("KEYS");
        keys.sort();
        assert_eq!(
            keys,
            [
                "fleet-a:expiry",
                "fleet-a:policy:example.com",
                "fleet-a:refresh"
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sts_fetch_07_redis_reconnects_after_the_server_restarts() {
        let server = redis_server();
        let port = server.port();
        let store = RedisStore::connect(&server.url(), "mxsec:")
            .await
            .expect("connect");
        store
            .put(&entry("before.example", T0, WEEK), T0)
            .await
            .expect("put");
        server.stop();
        assert!(store.get(&name("before.example"), T0).await.is_err());
        let server = RedisServer::start_on(port).expect("restart on the same port");
        let deadline = Instant::now() + Duration::from_secs(10);
        let e = entry("after.example", T0, WEEK);
        while let Err(err) = store.put(&e, T0).await {
            assert!(Instant::now() < deadline, "no reconnection: {err:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            store.get(&name("after.example"), T0).await.expect("get"),
            Some(e)
        );
        drop(server);
    }

    #[tokio::test]
    async fn sts_pol_06_redis_unreachable_server_fails_at_connect() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let err = match RedisStore::connect(&format!("redis://127.0.0.1:{port}/"), "x:").await {
            Ok(store) => panic!("connected to nothing: {store:?}"),
            Err(e) => e,
        };
        assert!(
            matches!(&err, StoreError::RedisConnect { server, .. } if *server == format!("redis://127.0.0.1:{port}")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn sts_pol_06_redis_undecodable_value_is_an_error_naming_it() {
        let h = redis().await;
        let server = h._server.as_ref().expect("server");
        let () = raw(server)
            .await
            .set("mxsec-test:sts:policy:example.com", "{\"version\": 9}")
            .await
            .expect("SET");
        let err = match h.store.get(&name("example.com"), T0).await {
            Ok(e) => panic!("decoded a damaged value: {e:?}"),
            Err(e) => e,
        };
        assert!(
            matches!(&err, StoreError::InvalidRecord { key, .. }
                if key == "mxsec-test:sts:policy:example.com"),
            "{err:?}"
        );
        // What cannot be read is never written over.
        let newer = FetchRecord::Fetched(policy("newid", "enforce", WEEK, T0));
        let err = h
            .store
            .update(&name("example.com"), T0, record(newer))
            .await
            .map(drop)
            .expect_err("update over a damaged value");
        assert!(matches!(err, StoreError::InvalidRecord { .. }), "{err:?}");
        let value: String = raw(server)
            .await
            .get("mxsec-test:sts:policy:example.com")
            .await
            .expect("GET");
        assert_eq!(value, "{\"version\": 9}");
    }

    /// Runs an update of `example.com` by another MTA of the fleet, to completion, from
    /// inside this MTA's update (between its read and its write).
    fn other_mta_stores(url: &str, policy: CachedPolicy) {
        let url = url.to_owned();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
            runtime.block_on(async {
                let other = RedisStore::connect(&url, "mxsec-test:sts:")
                    .await
                    .expect("connect");
                let at = policy.fetched_at();
                other
                    .update(
                        &name("example.com"),
                        at,
                        record(FetchRecord::Fetched(policy)),
                    )
                    .await
                    .expect("the other MTA's update");
            });
        })
        .join()
        .expect("the other MTA");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sts_fetch_07_redis_update_retries_when_another_mta_wrote_first() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;

        let h = redis().await;
        let url = h._server.as_ref().expect("server").url();
        h.store
            .put(&entry("example.com", T0, WEEK), T0)
            .await
            .expect("put");
        // This MTA read the entry before its fetch failed; meanwhile another MTA stores a
        // newer policy. The swap sees the change, and the merge is done again.
        let calls = Arc::new(AtomicUsize::new(0));
        let stale = FetchRecord::Failed(FetchFailure::new(id("20240101T000000"), T0 + 10));
        let change: super::super::Change = {
            let calls = calls.clone();
            Box::new(move |entry| {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    other_mta_stores(&url, policy("newer", "enforce", WEEK, T0 + 20));
                }
                entry.record(&stale);
            })
        };
        let merged = h
            .store
            .update(&name("example.com"), T0 + 20, change)
            .await
            .expect("update");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "read, lost the swap, read again"
        );
        assert_eq!(merged.policy().map(|p| p.id().as_str()), Some("newer"));
        assert_eq!(
            h.store
                .get(&name("example.com"), T0 + 20)
                .await
                .expect("get"),
            Some(merged)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sts_fetch_07_redis_update_gives_up_when_others_always_write_first() {
        let h = redis().await;
        let url = h._server.as_ref().expect("server").url();
        let change: super::super::Change = Box::new(move |entry| {
            // A newer policy each time: the swap never sees what was read.
            let at = T0 + entry.policy().map_or(0, |p| p.fetched_at() - T0 + 1);
            other_mta_stores(&url, policy("busy", "enforce", WEEK, at));
        });
        let err = h
            .store
            .update(&name("example.com"), T0, change)
            .await
            .map(drop)
            .expect_err("update against endless writers");
        assert!(
            matches!(&err, StoreError::Contended { attempts: 16, .. }),
            "{err:?}"
        );
    }
}
