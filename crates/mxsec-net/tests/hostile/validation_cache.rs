//! A stream of names never asked before: the in-process validator keeps one proof per RRset
//! it validated, keyed by the question, so every new name adds proofs. With
//! `validation_cache_entries` set, the memory in use stops growing once the cache is full;
//! with hickory's own default (1,048,576 entries) it grows with every name (the test shows
//! both, so that it would notice a bound that does not hold).

use std::time::Duration;

use futures::stream::{self, StreamExt};
use mxsec_net::dns::{Backend, Dns, DnsBackend, DnsConfig, RecordType, TrustAnchorSource};
use mxsec_net::proto::name::DomainName;
use mxsec_testbed::dns::{DnsServer, Zone};

use crate::meter::{in_use, run, KIB};

/// The cache size under test: far fewer proofs than the names asked.
const ENTRIES: usize = 100;
/// Names asked before measuring: enough to fill the cache.
const WARM_UP: usize = 300;
/// Names asked while measuring.
const MEASURED: usize = 1_200;
/// The growth allowed while the cache is full (sockets, the runtime's own buffers).
const NOISE: usize = 64 * KIB;

/// Asks `count` names below `nx.test` (each a signed NXDOMAIN, whose NSEC proofs are
/// validated against that name) starting at number `from`.
async fn ask(dns: &Dns, from: usize, count: usize) {
    stream::iter(from..from + count)
        .map(|i| async move {
            let name = DomainName::parse(&format!("n{i}.nx.test")).unwrap();
            dns.lookup(&name, RecordType::MX).await.unwrap();
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

/// The bytes in use gained over [`MEASURED`] new names, after [`WARM_UP`] others.
async fn growth(entries: usize) -> usize {
    let server = DnsServer::builder()
        .zones([Zone::new("nx.test").mx(10, "mx.nx.test")])
        .start()
        .await
        .unwrap();
    let config = DnsConfig::builder()
        .backend(Backend::Validate)
        .nameserver(server.addr())
        .trust_anchor(TrustAnchorSource::Text(
            server.trust_anchor().dnskey_line().to_owned(),
        ))
        .timeout(Duration::from_secs(10))
        .validation_cache_entries(entries)
        .build();
    let dns = Dns::new(&config).await.unwrap();
    ask(&dns, 0, WARM_UP).await;
    let before = in_use();
    ask(&dns, WARM_UP, MEASURED).await;
    in_use().saturating_sub(before)
}

/// PFX-03: the daemon's memory is bounded whatever names it is asked about; here, the
/// validator's proof cache.
#[test]
fn pfx_03_validation_cache_stays_within_its_size() {
    run(async {
        let bounded = growth(ENTRIES).await;
        let unbounded = growth(1_048_576).await;
        println!(
            "hostile: {MEASURED} new names, validation cache of {ENTRIES}: {} KiB more in \
             use; of 1,048,576: {} KiB more",
            bounded / KIB,
            unbounded / KIB
        );
        assert!(
            bounded <= NOISE,
            "grew by {bounded} bytes with the cache full"
        );
        assert!(
            unbounded > 4 * NOISE,
            "an unbounded cache grew by {unbounded} bytes only: the test no longer measures it"
        );
    });
}

/// The chain layer's share of the validation cache bound: one response kept per eight
/// proofs (`VALIDATION_ENTRIES_PER_RESPONSE` in `dns/chain.rs`).
const CHAIN_ENTRIES: usize = ENTRIES / 8;

/// The DNSKEY, DS and NS responses kept after asking the MX of [`WARM_UP`] insecurely
/// delegated zones, as a scan of unsigned domains does: each zone's unsigned answer makes
/// the validator look for its zone cut with NS queries and prove it insecure with the DS
/// denial at the cut (RFC 4035 §5.2), so every zone adds responses to keep. (Names below a
/// cut already proven insecure are asked without the chain layer: one zone would not do.)
async fn chain_kept(entries: usize) -> usize {
    let zones = (0..WARM_UP).map(|i| {
        let origin = format!("u{i}.test");
        let mx = format!("mx.{origin}");
        Zone::new(&origin).insecure().mx(10, &mx)
    });
    let server = DnsServer::builder().zones(zones).start().await.unwrap();
    let config = DnsConfig::builder()
        .backend(Backend::Validate)
        .nameserver(server.addr())
        .trust_anchor(TrustAnchorSource::Text(
            server.trust_anchor().dnskey_line().to_owned(),
        ))
        .timeout(Duration::from_secs(10))
        .validation_cache_entries(entries)
        .build();
    let (dns, cache) = Dns::new(&config).await.unwrap().with_cache(0);
    stream::iter(0..WARM_UP)
        .map(|i| {
            let dns = &dns;
            async move {
                let name = DomainName::parse(&format!("u{i}.test")).unwrap();
                // The answer (an insecure MX) does not matter here, only what it cost.
                let _ = dns.lookup(&name, RecordType::MX).await;
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
    cache.chain_entries()
}

/// PFX-03: the responses the validator's chain layer keeps stay within the share of
/// `validation_cache_entries` it is given, whatever names are asked.
#[test]
fn pfx_03_chain_cache_stays_within_its_size() {
    run(async {
        let bounded = chain_kept(ENTRIES).await;
        let unbounded = chain_kept(1_048_576).await;
        println!(
            "hostile: {WARM_UP} insecure zones, chain responses kept with a \
             validation cache of {ENTRIES}: {bounded}; of 1,048,576: {unbounded}"
        );
        assert!(
            bounded <= CHAIN_ENTRIES,
            "{bounded} responses kept, bound {CHAIN_ENTRIES}"
        );
        assert!(
            unbounded > 4 * CHAIN_ENTRIES,
            "{unbounded} responses kept without a bound: the test no longer fills the cache"
        );
    });
}
