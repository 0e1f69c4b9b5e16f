//! A cache in front of a DNS back end: each RRset, and each denial, is kept for its TTL.
//!
//! [`CachingBackend`] wraps any [`DnsBackend`] and keeps every [`Step`] it answered in a
//! [`TtlCache`] for the step's [`Step::ttl`]: a positive answer for the lowest TTL of its
//! records (RFC 1035 §3.2.1, RFC 2181 §5.2), a denial (NXDOMAIN or NODATA) for the negative
//! TTL of RFC 2308 §5, each within the cache's caps. Failures (SERVFAIL, timeouts, bogus
//! DNSSEC) are never cached: a retry may succeed, and a failure must defer, not linger
//! (DANE-DNS-03). The DNSSEC status is part of the cached step, so a cached answer is exactly
//! as trustworthy as the one first received.
//!
//! Concurrent identical queries share one: while a question is on its way to the back end,
//! a second caller asking the same waits for that answer instead of sending another (a
//! destination's lookups run in parallel and often ask the same name, such as a host's
//! CNAME check from the MX step and from its address lookup). A shared answer counts as a hit.
//!
//! Every step served carries in [`Step::ttl`] the time it has left in the cache (for a step
//! just fetched, its TTL within the caps), so that what is built from it ([`super::Resolved`])
//! knows how long it remains valid: the policy daemon caches its answers for no longer than
//! that, and an answer never outlives the DNS data it was made from.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt, Shared};

use hickory_proto::rr::RecordType;
use mxsec_proto::name::DomainName;

use super::backend::{DnsBackend, Step};
use super::types::DnsError;
use crate::ttl_cache::{TtlCache, TtlLimits};

type Key = (DomainName, RecordType);
type Pending = Shared<BoxFuture<'static, Result<(Step, Duration), DnsError>>>;

/// A [`DnsBackend`] that answers from a TTL cache when it can; see the [module docs](self).
pub struct CachingBackend {
    inner: Arc<dyn DnsBackend>,
    cache: Arc<TtlCache<Key, Step>>,
    /// Questions on their way to the back end, which a second asker joins.
    in_flight: Mutex<HashMap<Key, Pending>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for CachingBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachingBackend")
            .field("inner", &self.inner)
            .field("cached", &self.cache.len())
            .field("hits", &self.hits())
            .field("misses", &self.misses())
            .finish()
    }
}

impl CachingBackend {
    /// Caches what `inner` answers, at most `capacity` RRsets at once.
    pub fn new(inner: Arc<dyn DnsBackend>, capacity: usize) -> Self {
        Self {
            inner,
            cache: Arc::new(TtlCache::new(TtlLimits::with_capacity(capacity))),
            in_flight: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// How many queries were answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// How many queries went to the back end.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// The number of RRsets and denials held.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

#[async_trait::async_trait]
impl DnsBackend for CachingBackend {
    async fn query(&self, name: &DomainName, rtype: RecordType) -> Result<Step, DnsError> {
        let key = (name.clone(), rtype);
        let now = Instant::now();
        if let Some((step, remaining)) = self.cache.get(&key, now) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Step {
                ttl: whole_seconds(remaining),
                ..step
            });
        }
        let (pending, first) = {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            match in_flight.get(&key) {
                Some(pending) => (pending.clone(), false),
                None => {
                    let pending = self.fetch(key.clone()).boxed().shared();
                    in_flight.insert(key.clone(), pending.clone());
                    (pending, true)
                }
            }
        };
        if first {
            self.misses.fetch_add(1, Ordering::Relaxed);
        } else {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        let result = pending.clone().await;
        // Whoever sees the answer first removes the question (the asker that sent it may have
        // been cancelled meanwhile), so that a later asker reads the cache, never this answer.
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if in_flight.get(&key).is_some_and(|p| p.ptr_eq(&pending)) {
            in_flight.remove(&key);
        }
        drop(in_flight);
        let (step, kept) = result?;
        Ok(Step {
            ttl: whole_seconds(kept),
            ..step
        })
    }

    fn chain_entries(&self) -> usize {
        self.inner.chain_entries()
    }
}

impl CachingBackend {
    /// Asks the back end and caches what it answers; the step with the time it is kept.
    fn fetch(
        &self,
        key: Key,
    ) -> impl std::future::Future<Output = Result<(Step, Duration), DnsError>> + Send + 'static
    {
        let inner = Arc::clone(&self.inner);
        let cache = Arc::clone(&self.cache);
        async move {
            let step = inner.query(&key.0, key.1).await?;
            let ttl = Duration::from_secs(u64::from(step.ttl));
            let denial = step
                .outcome
                .as_ref()
                .is_some_and(|outcome| outcome.value_ignoring_security().is_denial());
            let kept = if denial {
                ttl.min(cache.limits().max_negative_ttl)
            } else {
                ttl.min(cache.limits().max_ttl)
            };
            if denial {
                cache.insert_negative(key, step.clone(), ttl, Instant::now());
            } else {
                cache.insert(key, step.clone(), ttl, Instant::now());
            }
            Ok((step, kept))
        }
    }
}

/// A TTL in whole seconds, rounded down so that nothing built from it outlives the data.
fn whole_seconds(ttl: Duration) -> u32 {
    u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use mxsec_proto::dnssec::{Dnssec, Security};

    use super::*;
    use crate::dns::Answer;

    /// A back end that answers NODATA with a TTL of 300 seconds.
    #[derive(Debug)]
    struct Fixed;

    #[async_trait::async_trait]
    impl DnsBackend for Fixed {
        async fn query(&self, _: &DomainName, _: RecordType) -> Result<Step, DnsError> {
            Ok(Step {
                aliases: Vec::new(),
                outcome: Some(Dnssec::new(Security::Secure, Answer::NoData)),
                ttl: 300,
            })
        }
    }

    /// A step served from the cache carries the time it has left there, never more than the
    /// TTL it was received with, and a step just fetched its TTL within the negative cap.
    #[tokio::test]
    async fn served_steps_carry_their_remaining_ttl() {
        let cache = CachingBackend::new(Arc::new(Fixed), 16);
        let name = DomainName::parse("example.test").unwrap();
        let first = cache.query(&name, RecordType::MX).await.unwrap();
        assert_eq!(first.ttl, 300);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let second = cache.query(&name, RecordType::MX).await.unwrap();
        assert_eq!((cache.hits(), cache.misses()), (1, 1));
        assert!((1..300).contains(&second.ttl), "{}", second.ttl);
    }

    /// A back end that counts its queries and answers each after 50 ms, or fails.
    #[derive(Debug, Default)]
    struct Slow {
        queries: AtomicU64,
        fail: bool,
    }

    #[async_trait::async_trait]
    impl DnsBackend for Slow {
        async fn query(&self, name: &DomainName, _: RecordType) -> Result<Step, DnsError> {
            self.queries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
            if self.fail {
                return Err(DnsError::Timeout {
                    name: name.clone(),
                    rtype: RecordType::A,
                    after: Duration::from_millis(50),
                });
            }
            Fixed.query(name, RecordType::MX).await
        }
    }

    /// Concurrent identical questions reach the back end once; a failure is shared by the
    /// askers waiting for it but not cached, so the next question asks again (DANE-DNS-03).
    #[tokio::test]
    async fn dane_dns_03_concurrent_questions_share_one_query_and_failures_are_not_kept() {
        let name = DomainName::parse("example.test").unwrap();
        let slow = Arc::new(Slow::default());
        let cache = CachingBackend::new(slow.clone(), 16);
        let answers =
            futures::future::join_all((0..8).map(|_| cache.query(&name, RecordType::A))).await;
        assert!(answers.iter().all(Result::is_ok));
        assert_eq!(slow.queries.load(Ordering::Relaxed), 1);
        assert_eq!((cache.hits(), cache.misses()), (7, 1));
        assert!(cache.in_flight.lock().unwrap().is_empty());

        let failing = Arc::new(Slow {
            fail: true,
            ..Slow::default()
        });
        let cache = CachingBackend::new(failing.clone(), 16);
        let answers =
            futures::future::join_all((0..4).map(|_| cache.query(&name, RecordType::A))).await;
        assert!(answers.iter().all(Result::is_err));
        assert_eq!(failing.queries.load(Ordering::Relaxed), 1);
        assert!(cache.query(&name, RecordType::A).await.is_err());
        assert_eq!(failing.queries.load(Ordering::Relaxed), 2);
    }
}
