//! Faults under the destination resolver: the policy store (a real `redis-server`) goes away
//! and comes back, and the policy host becomes unreachable. What is known keeps being
//! applied (STS-FETCH-07); where the store cannot say what is known and nothing is fetched,
//! the answer defers instead of falling back to `NOTFOUND ` (PFX-04).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mxsec_net::dial::{AddressMap, Dialer};
use mxsec_net::dns::{Backend, Dns, DnsConfig, TrustAnchorSource};
use mxsec_net::proto::decision::DecisionConfig;
use mxsec_net::proto::name::Destination;
use mxsec_net::resolver::DestinationResolver;
use mxsec_net::store::{PolicyStore, RedisStore};
use mxsec_net::sts_fetch::PolicyFetcher;
use mxsec_net::trust::TrustConfig;
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
    let anchor = testbed.dns().trust_anchor().dnskey_line().to_owned();
    let config = DnsConfig::builder()
        .backend(Backend::Validate)
        .nameserver(testbed.dns_addr())
        .trust_anchor(TrustAnchorSource::Text(anchor))
        .timeout(Duration::from_secs(3))
        .build();
    let dns = Arc::new(Dns::new(&config).await.unwrap());
    // Without HTTPS, port 443 leads to a closed loopback port: every fetch is refused, and
    // nothing is ever sent beyond loopback.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let mut map = AddressMap::new();
    for route in testbed.routes() {
        let local = if https || route.published.port() != 443 {
            route.local
        } else {
            closed
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
