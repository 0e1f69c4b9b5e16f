//! STS-FETCH-07: a cached `enforce` policy is applied until it expires, whatever DNS or HTTPS
//! do meanwhile, and across restarts; the same for both stores (SQLite, and Redis against a
//! real `redis-server`).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mxsec_net::redis_client::RedisTls;
use mxsec_net::store::{PolicyStore, RedisStore, SqliteStore};
use mxsec_proto::mta_sts::cache::{CacheEntry, CachedPolicy};
use mxsec_proto::mta_sts::record::PolicyId;
use mxsec_proto::name::DomainName;
use mxsec_testbed::pki::TestPki;
use mxsec_testbed::redis::{ClientAuth, RedisServer, RedisTlsSetup};
use mxsec_testbed::scenario::Scenario;

use crate::harness::{testbed, Daemon, DnsRelay, Setup};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A store the test can write, as the daemon sees it.
enum Store {
    Sqlite(std::path::PathBuf),
    Redis(String),
}

impl Store {
    fn setting(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Redis(url) => url.clone(),
        }
    }

    /// Runs `f` on the store while no daemon uses it.
    fn with<T>(&self, f: impl AsyncFnOnce(&dyn PolicyStore) -> T) -> T {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            match self {
                Self::Sqlite(path) => {
                    let store = SqliteStore::open(path.clone()).await.unwrap();
                    let out = f(&store).await;
                    store.close().await;
                    out
                }
                Self::Redis(url) => {
                    let store = RedisStore::connect(url, "mxsec:").await.unwrap();
                    f(&store).await
                }
            }
        })
    }

    /// Rewrites the cached policy of `domain`: same body, TXT `id` `id`, fetched
    /// `max_age - lives` seconds ago, so that it expires in `lives` seconds.
    fn rewrite(&self, domain: &DomainName, id: &str, lives: u64) {
        self.with(async |store| {
            let entry = store
                .get(domain, now())
                .await
                .unwrap()
                .expect("policy cached");
            let cached = entry.policy().expect("a policy");
            let fetched_at = now() + lives - cached.max_age().min(now() + lives);
            let policy =
                CachedPolicy::parse(PolicyId::parse(id).unwrap(), cached.body(), fetched_at)
                    .unwrap();
            let entry = CacheEntry::from_parts(domain.clone(), Some(policy), Vec::new());
            store
                .update(
                    domain,
                    now(),
                    Box::new(move |stored| *stored = entry.clone()),
                )
                .await
                .unwrap();
        });
    }
}

/// A connect map without the policy hosts (port 443): every policy fetch fails.
fn without_https(dir: &Path) -> std::path::PathBuf {
    let (_, files) = testbed();
    let map = std::fs::read_to_string(&files.connect_map).unwrap();
    let kept: Vec<&str> = map
        .lines()
        .filter(|line| {
            !line
                .split_whitespace()
                .next()
                .is_some_and(|p| p.ends_with(":443"))
        })
        .collect();
    let path = dir.join("no-https.map");
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    path
}

fn cached_policy_survives(store: Store, dir: &Path) {
    let scenario = Scenario::find("sts-enforce").unwrap();
    let domain = DomainName::parse(&scenario.domain()).unwrap();
    let expected = scenario.expected_query();
    let (dns, _) = testbed();
    let relay = DnsRelay::start(*dns);
    let mut setup = Setup::new(dir);
    setup.dns = relay.addr;
    setup.store = store.setting();

    // Learn the policy.
    let daemon = Daemon::start(dir, &setup);
    let answer = daemon.query("postfix", &scenario.domain());
    assert!(expected.matches(&answer), "fresh: {answer}");
    assert!(daemon.stop());

    // DNS failure: the _mta-sts TXT lookup fails; after a restart, the cached policy applies.
    relay.fail(&format!("_mta-sts.{}", scenario.domain()));
    let daemon = Daemon::start(dir, &setup);
    let answer = daemon.query("postfix", &scenario.domain());
    assert!(
        expected.matches(&answer),
        "TXT lookup failing, after restart: {answer}"
    );
    assert!(daemon.stop());
    relay.heal();

    // HTTPS failure: the TXT id changed, so the policy is fetched, and the fetch fails.
    store.rewrite(&domain, "stale1", 86_400);
    setup.connect_map = without_https(dir);
    let daemon = Daemon::start(dir, &setup);
    let answer = daemon.query("postfix", &scenario.domain());
    assert!(
        expected.matches(&answer),
        "policy host unreachable: {answer}"
    );
    assert!(daemon.metric("mxsec_sts_fetches_total{result=\"sts-policy-fetch-error\"}") >= 1);
    assert!(daemon.stop());

    // Until it expires: then nothing applies (STS-FETCH-06), as for a domain never seen.
    let lives = 10;
    let expires = std::time::Instant::now() + Duration::from_secs(lives);
    store.rewrite(&domain, "stale2", lives);
    let daemon = Daemon::start(dir, &setup);
    let answer = daemon.query("postfix", &scenario.domain());
    assert!(expected.matches(&answer), "before expiry: {answer}");
    std::thread::sleep(
        expires.saturating_duration_since(std::time::Instant::now()) + Duration::from_secs(1),
    );
    assert_eq!(
        daemon.query("postfix", &scenario.domain()),
        "NOTFOUND ",
        "after expiry"
    );
    assert!(daemon.stop());
}

#[test]
fn sts_fetch_07_cached_policy_survives_dns_https_and_restart_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::Sqlite(dir.path().join("policies.sqlite3"));
    cached_policy_survives(store, dir.path());
}

#[test]
fn sts_fetch_07_cached_policy_survives_dns_https_and_restart_redis() {
    let dir = tempfile::tempdir().unwrap();
    let redis =
        RedisServer::start().expect("redis-server must be installed (scripts/test installs it)");
    let store = Store::Redis(redis.url());
    cached_policy_survives(store, dir.path());
    redis.stop();
}

/// STS-FETCH-07 with the store on Redis over TLS (`rediss://`, verified with
/// `cache.redis_ca_file`): the policy the daemon learns is in the shared store.
#[test]
fn sts_fetch_07_daemon_caches_policies_in_redis_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(SystemTime::now()).unwrap();
    let redis = RedisServer::start_tls(&RedisTlsSetup::from_pki(&pki, ClientAuth::None).unwrap())
        .expect("redis-server must be installed (scripts/test installs it)");
    let ca_file = dir.path().join("redis-ca.pem");
    std::fs::write(&ca_file, pki.root_pem()).unwrap();
    let scenario = Scenario::find("sts-enforce").unwrap();
    let mut setup = Setup::new(dir.path());
    setup.store = redis.url();
    setup.cache_extra = format!("redis_ca_file = \"{}\"", ca_file.display());

    let daemon = Daemon::start(dir.path(), &setup);
    let answer = daemon.query("postfix", &scenario.domain());
    assert!(scenario.expected_query().matches(&answer), "{answer}");
    assert!(daemon.stop());

    let tls = RedisTls {
        ca_file: Some(ca_file),
        client_identity: None,
    };
    let domain = DomainName::parse(&scenario.domain()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let entry = runtime.block_on(async {
        let store = RedisStore::connect_tls(&redis.url(), "mxsec:", &tls)
            .await
            .unwrap();
        store.get(&domain, now()).await.unwrap()
    });
    assert!(entry.and_then(|e| e.policy().cloned()).is_some());
    redis.stop();
}

/// A Redis store whose certificate the trust anchors refuse (here the system's roots, which
/// lack the testbed's CA) stops the daemon at start, with a message naming the server: a
/// configured store that does not work is never a silent fallback.
#[test]
fn redis_tls_store_refused_at_the_handshake_stops_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(SystemTime::now()).unwrap();
    let redis = RedisServer::start_tls(&RedisTlsSetup::from_pki(&pki, ClientAuth::None).unwrap())
        .expect("redis-server must be installed (scripts/test installs it)");
    let config = dir.path().join("mxsec.toml");
    std::fs::write(
        &config,
        format!(
            "[listen]\ntcp = [\"127.0.0.1:0\"]\n\n[cache]\nstore = \"{}\"\n",
            redis.url()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args(["daemon", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the daemon started with a store it cannot verify");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let server = format!("rediss://localhost:{}", redis.port());
    assert!(stderr.contains(&server), "{stderr}");
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");
    redis.stop();
}

/// PFX-04 and POSTFIX.md §4.5: while the policy store cannot be read, a destination without a
/// `_mta-sts` record may still have a cached enforce policy, so the daemon defers; that `TEMP`
/// comes from a failure and is kept for `failure_ttl` (1 s here) only, not for the DNS TTL
/// (300 s), so the answer is right again as soon as the store is back.
#[test]
fn pfx_04_temp_from_an_unreadable_store_is_kept_for_failure_ttl_only() {
    let dir = tempfile::tempdir().unwrap();
    let redis =
        RedisServer::start().expect("redis-server must be installed (scripts/test installs it)");
    let port = redis.port();
    let mut setup = Setup::new(dir.path());
    setup.store = redis.url();
    let daemon = Daemon::start(dir.path(), &setup);

    redis.stop();
    let answer = daemon.query("postfix", "plain.test");
    assert!(answer.starts_with("TEMP "), "store unreadable: {answer}");

    let redis = RedisServer::start_on(port).expect("restart on the same port");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let answer = daemon.query("postfix", "plain.test");
        if answer == "NOTFOUND " {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the TEMP outlived the store failure: {answer}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(daemon.stop());
    redis.stop();
}

/// Stores an enforce policy for `domain` with these `mx:` lines, fetched now.
fn seed_enforce_policy(store: &Store, domain: &str, mx: &[&str]) {
    let domain = DomainName::parse(domain).unwrap();
    let mut body = String::from("version: STSv1\nmode: enforce\n");
    for pattern in mx {
        body.push_str(&format!("mx: {pattern}\n"));
    }
    body.push_str("max_age: 86400\n");
    let policy = CachedPolicy::parse(PolicyId::parse("seeded").unwrap(), body, now()).unwrap();
    let entry = CacheEntry::from_parts(domain.clone(), Some(policy), Vec::new());
    store.with(async |store| {
        store
            .update(
                &domain,
                now(),
                Box::new(move |stored| *stored = entry.clone()),
            )
            .await
            .unwrap()
    });
}

/// PFX-04, STS-FETCH-07 (POSTFIX.md §4.5): an NXDOMAIN without a DNSSEC proof does not switch
/// off a cached enforce policy. It can be forged, and Postfix, which looks the MX up again
/// after asking, might then see a forged MX: the daemon answers the cached policy from its own
/// patterns (`*.x` as `.x`). A DNSSEC-proven NXDOMAIN means there is nothing to deliver to,
/// and is answered `NOTFOUND `.
#[test]
fn pfx_04_unsigned_nxdomain_keeps_the_cached_enforce_policy() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::Sqlite(dir.path().join("policies.sqlite3"));
    // Below the unsigned zone insecure-zone.test, and below the signed zone plain.test.
    let unsigned = "gone.insecure-zone.test";
    let signed = "gone.plain.test";
    seed_enforce_policy(
        &store,
        unsigned,
        &[
            "mx.gone.insecure-zone.test",
            "*.mail.gone.insecure-zone.test",
        ],
    );
    seed_enforce_policy(&store, signed, &["mx.gone.plain.test"]);
    let mut setup = Setup::new(dir.path());
    setup.store = store.setting();
    let daemon = Daemon::start(dir.path(), &setup);
    assert_eq!(
        daemon.query("postfix", unsigned),
        "OK secure match=mx.gone.insecure-zone.test:.mail.gone.insecure-zone.test \
         servername=hostname"
    );
    assert_eq!(daemon.query("postfix", signed), "NOTFOUND ");
    assert!(daemon.stop());
}
