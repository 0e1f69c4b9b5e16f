//! Faults under the destination resolver: the policy store (a real `redis-server`) goes away
//! and comes back, a read of the store (a real SQLite file) fails, and the policy host becomes
//! unreachable. What is known keeps being applied (STS-FETCH-07); where the store cannot say
//! what is known and nothing is fetched, the answer defers instead of falling back to
//! `NOTFOUND ` (PFX-04), and nothing is written over what the store holds.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mxsec_net::dial::{AddressMap, Dialer};
use mxsec_net::dns::{Backend, Dns, DnsConfig, TrustAnchorSource};
use mxsec_net::proto::decision::{DecisionConfig, StsSource, StsState};
use mxsec_net::proto::mta_sts::cache::CacheEntry;
use mxsec_net::proto::mta_sts::policy::Mode;
use mxsec_net::proto::name::{Destination, DomainName};
use mxsec_net::resolver::{DestinationResolver, FetchReport};
use mxsec_net::store::{Change, PolicyStore, RecordProblem, RedisStore, SqliteStore, StoreError};
use mxsec_net::sts_fetch::PolicyFetcher;
use mxsec_net::trust::TrustConfig;
use mxsec_testbed::https::{HttpsServer, PolicyHost, Reply};
use mxsec_testbed::pki::{LeafSpec, ServedChain};
use mxsec_testbed::redis::RedisServer;
use mxsec_testbed::Testbed;

const STS: &str = "sts-enforce.test";
const SECURE: &str = "OK secure match=mx.sts-enforce.test servername=hostname";

/// A resolver over the testbed sharing `store`; `https` says whether policy hosts can be
/// reached.
async fn resolver(
    testbed: &Testbed,
    store: Arc<dyn PolicyStore>,
    https: bool,
) -> DestinationResolver {
    let policy_hosts = if https {
        PolicyHosts::Testbed
    } else {
        PolicyHosts::Down
    };
    routed_resolver(testbed, store, policy_hosts).await
}

/// Where the resolver's policy fetches (port 443) lead.
enum PolicyHosts {
    /// To the testbed's policy hosts.
    Testbed,
    /// To a closed loopback port: every fetch is refused, and nothing is ever sent beyond
    /// loopback.
    Down,
    /// To this server instead.
    At(SocketAddr),
}

/// A resolver over the testbed sharing `store`, with its policy fetches led to `policy_hosts`.
async fn routed_resolver(
    testbed: &Testbed,
    store: Arc<dyn PolicyStore>,
    policy_hosts: PolicyHosts,
) -> DestinationResolver {
    let anchor = testbed.dns().trust_anchor().dnskey_line().to_owned();
    let config = DnsConfig::builder()
        .backend(Backend::Validate)
        .nameserver(testbed.dns_addr())
        .trust_anchor(TrustAnchorSource::Text(anchor))
        .timeout(Duration::from_secs(3))
        .build();
    let dns = Arc::new(Dns::new(&config).await.unwrap());
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let mut map = AddressMap::new();
    for route in testbed.routes() {
        let local = match policy_hosts {
            _ if route.published.port() != 443 => route.local,
            PolicyHosts::Testbed => route.local,
            PolicyHosts::Down => closed,
            PolicyHosts::At(server) => server,
        };
        map.insert(route.published, local).unwrap();
    }
    let trust = TrustConfig::empty()
        .add_ca_pem(Path::new("testbed CA"), testbed.ca_pem().as_bytes())
        .unwrap();
    let dialer = Dialer::new(Duration::from_secs(2)).with_address_map(map);
    let fetcher = PolicyFetcher::new(&trust, dialer)
        .unwrap()
        .timeout(Duration::from_secs(3));
    DestinationResolver::new(dns, Arc::new(fetcher), Some(store))
}

async fn answer(resolver: &DestinationResolver, domain: &str) -> String {
    let config = DecisionConfig::default();
    let destination = Destination::parse(domain).unwrap();
    let (_, decision) = resolver.decide(&destination, &config).await;
    decision.socketmap_payload(&config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_fetch_07_redis_goes_away_and_comes_back() {
    let testbed = Testbed::start().await.unwrap();
    let redis = RedisServer::start().expect("redis-server must be installed");
    let port = redis.port();
    let store: Arc<dyn PolicyStore> =
        Arc::new(RedisStore::connect(&redis.url(), "mxsec:").await.unwrap());
    let online = resolver(&testbed, store.clone(), true).await;
    let offline = resolver(&testbed, store.clone(), false).await;

    // The policy is fetched and stored; without HTTPS it is then applied from the store.
    assert_eq!(answer(&online, STS).await, SECURE);
    assert_eq!(answer(&offline, STS).await, SECURE);
    // A domain without MTA-STS: nothing to remember.
    assert_eq!(answer(&offline, "plain.test").await, "NOTFOUND ");

    // Redis goes away. Where a policy can be fetched now, it is applied; where none can, a
    // cached one may exist: defer (PFX-04), never NOTFOUND.
    redis.stop();
    let started = Instant::now();
    assert_eq!(answer(&online, STS).await, SECURE);
    let deferred = answer(&offline, STS).await;
    assert!(
        deferred.starts_with("TEMP MTA-STS policy cache unavailable"),
        "{deferred}"
    );
    let deferred = answer(&offline, "plain.test").await;
    assert!(deferred.starts_with("TEMP "), "{deferred}");
    // DANE does not depend on the cache.
    assert_eq!(answer(&offline, "dane-ee.test").await, "OK dane-only");
    // Four lookups, each waiting on the store that is gone, and none for long.
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?} for four lookups without Redis",
        started.elapsed()
    );

    // Redis comes back (empty: it kept nothing on disk); the store reconnects by itself.
    let redis = RedisServer::start_on(port).expect("restart on the same port");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let plain = answer(&offline, "plain.test").await;
        if plain == "NOTFOUND " {
            break;
        }
        assert!(Instant::now() < deadline, "no reconnection: {plain}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(answer(&online, STS).await, SECURE);
    assert_eq!(answer(&offline, STS).await, SECURE);
    drop(redis);
}

#[tokio::test]
async fn sts_fetch_06_nothing_cached_and_policy_host_unreachable_means_no_policy() {
    // The control case: a store that answers, and holds nothing, hides nothing.
    let testbed = Testbed::start().await.unwrap();
    let redis = RedisServer::start().expect("redis-server must be installed");
    let store: Arc<dyn PolicyStore> =
        Arc::new(RedisStore::connect(&redis.url(), "mxsec:").await.unwrap());
    let offline = resolver(&testbed, store, false).await;
    assert_eq!(answer(&offline, STS).await, "NOTFOUND ");
}

/// A fault injector around a real store: the reads it is told to fail fail (as a damaged
/// SQLite row does), everything else goes to the store.
struct FailingReads {
    store: Arc<dyn PolicyStore>,
    reads_to_fail: AtomicUsize,
}

impl FailingReads {
    fn new(store: Arc<dyn PolicyStore>) -> Self {
        Self {
            store,
            reads_to_fail: AtomicUsize::new(0),
        }
    }

    /// Makes the next read fail.
    fn fail_next_read(&self) {
        self.reads_to_fail.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl PolicyStore for FailingReads {
    async fn get(&self, domain: &DomainName, now: u64) -> Result<Option<CacheEntry>, StoreError> {
        let fail = self
            .reads_to_fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(StoreError::InvalidRecord {
                key: domain.to_string(),
                problem: RecordProblem::Version(99),
            });
        }
        self.store.get(domain, now).await
    }

    async fn update(
        &self,
        domain: &DomainName,
        now: u64,
        change: Change,
    ) -> Result<CacheEntry, StoreError> {
        self.store.update(domain, now, change).await
    }

    async fn delete(&self, domain: &DomainName) -> Result<bool, StoreError> {
        self.store.delete(domain).await
    }

    async fn due_for_refresh(&self, now: u64, limit: usize) -> Result<Vec<CacheEntry>, StoreError> {
        self.store.due_for_refresh(now, limit).await
    }

    async fn count(&self, now: u64) -> Result<u64, StoreError> {
        self.store.count(now).await
    }

    async fn purge_expired(&self, now: u64) -> Result<u64, StoreError> {
        self.store.purge_expired(now).await
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn sqlite(dir: &tempfile::TempDir) -> Arc<dyn PolicyStore> {
    Arc::new(
        SqliteStore::open(dir.path().join("policies.sqlite"))
            .await
            .unwrap(),
    )
}

/// PFX-04, STS-FETCH-07 and POSTFIX.md §4.5 ("policy store unreadable"): a read of the store
/// fails while the policy host is down. That lookup defers; what it learnt (nothing but a
/// failed fetch) is not written over the stored enforce policy, which later lookups apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_fetch_07_failed_store_read_then_failed_fetch_keeps_the_stored_policy() {
    let testbed = Testbed::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite(&dir).await;
    let store = Arc::new(FailingReads::new(sqlite.clone()));
    let online = resolver(&testbed, store.clone(), true).await;
    let offline = resolver(&testbed, store.clone(), false).await;
    let domain = DomainName::parse(STS).unwrap();

    assert_eq!(answer(&online, STS).await, SECURE);
    let stored = sqlite.get(&domain, unix_now()).await.unwrap();

    store.fail_next_read();
    let destination = Destination::parse(STS).unwrap();
    let (resolution, decision) = offline
        .decide(&destination, &DecisionConfig::default())
        .await;
    let first = decision.socketmap_payload(&DecisionConfig::default());
    assert!(
        first.starts_with("TEMP MTA-STS policy cache unavailable"),
        "{first}"
    );
    assert!(matches!(resolution.observations.sts, StsState::Unknown(_)));
    assert!(matches!(
        resolution.mta_sts.fetch,
        FetchReport::Failed { .. }
    ));
    assert!(resolution.has_failure(), "a daemon keeps this TEMP briefly");

    // The stored entry is exactly as before: no failure record written over it.
    let after = sqlite.get(&domain, unix_now()).await.unwrap();
    assert_eq!(after, stored);
    let policy = after.as_ref().and_then(|e| e.live_policy(unix_now()));
    assert_eq!(policy.map(|p| p.mode()), Some(Mode::Enforce));

    for _ in 0..2 {
        assert_eq!(answer(&offline, STS).await, SECURE);
    }
}

/// A policy host for `sts-enforce.test` with a certificate from the testbed CA, serving an
/// enforce policy with this `max_age`.
async fn policy_host_with_max_age(testbed: &Testbed, max_age: u64) -> HttpsServer {
    let name = format!("mta-sts.{STS}");
    let leaf = testbed
        .pki()
        .issue(&LeafSpec::new([name.as_str()]))
        .unwrap();
    let body = format!("version: STSv1\r\nmode: enforce\r\nmx: mx.{STS}\r\nmax_age: {max_age}\r\n");
    let host = PolicyHost::new(name, &leaf, ServedChain::default(), Reply::policy(body));
    HttpsServer::start("127.0.0.1:0".parse().unwrap(), vec![host], None)
        .await
        .unwrap()
}

/// STS-POL-06, POSTFIX.md §4.5: a policy fetched now with `max_age: 0` applies to the lookup
/// that fetched it, for one second of answer TTL, and is not cached: the next lookup fetches
/// it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_pol_06_max_age_zero_policy_applies_to_its_lookup_and_is_not_stored() {
    let testbed = Testbed::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir).await;
    let host = policy_host_with_max_age(&testbed, 0).await;
    let resolver =
        routed_resolver(&testbed, store.clone(), PolicyHosts::At(host.local_addr())).await;
    let destination = Destination::parse(STS).unwrap();
    let config = DecisionConfig::default();
    for lookup in 0..2 {
        let (resolution, decision) = resolver.decide(&destination, &config).await;
        assert_eq!(
            decision.socketmap_payload(&config),
            SECURE,
            "lookup {lookup}"
        );
        let StsState::Active(active) = &resolution.observations.sts else {
            panic!("no policy applied: {:?}", resolution.observations.sts);
        };
        assert_eq!(active.ttl, 1);
        assert_eq!(active.source, StsSource::Fresh);
        assert_eq!(resolution.mta_sts.fetch, FetchReport::Fetched);
        assert!(!resolution.has_failure());
        let domain = DomainName::parse(STS).unwrap();
        assert_eq!(store.get(&domain, unix_now()).await.unwrap(), None);
    }
}
