//! A bounded in-memory cache whose entries expire after a time to live, for DNS results,
//! negative ones included.
//!
//! The daemon answers Postfix quickly (PFX-03) by keeping what it learnt for as long as the
//! DNS says it may: a positive answer for its TTL (RFC 1035 §3.2.1), a negative answer
//! (NXDOMAIN or no data) for the negative TTL of RFC 2308 §5, the lesser of the SOA's TTL and
//! its MINIMUM field. The cache stores any value (typically the whole `Result` of a lookup)
//! with the TTL the caller computed, and caps it: [`TtlLimits::max_ttl`] for positive
//! answers and the shorter [`TtlLimits::max_negative_ttl`] for negative ones, as validating
//! resolvers do (unbound's `cache-max-ttl` and `cache-max-negative-ttl`). Lookup failures
//! (SERVFAIL, timeouts, bogus DNSSEC) are not answers and should not be cached here: a retry
//! may succeed, and a failure must defer, not linger (DANE-DNS-03).
//!
//! Memory is bounded by [`TtlLimits::capacity`]: when full, expired entries go first, then
//! those closest to expiry. Time is a parameter (`now: Instant`), so tests control it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long and how many entries a [`TtlCache`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TtlLimits {
    /// The most entries kept at once.
    pub capacity: usize,
    /// The longest time a positive answer is kept, whatever its TTL.
    pub max_ttl: Duration,
    /// The longest time a negative answer is kept, whatever its TTL (RFC 2308 §5).
    pub max_negative_ttl: Duration,
}

impl TtlLimits {
    /// Limits with the given capacity and the default times.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }
}

impl Default for TtlLimits {
    /// 100,000 entries; positive answers at most a day and negative ones at most an hour,
    /// the defaults of unbound (`cache-max-ttl: 86400`, `cache-max-negative-ttl: 3600`).
    fn default() -> Self {
        Self {
            capacity: 100_000,
            max_ttl: Duration::from_secs(86_400),
            max_negative_ttl: Duration::from_secs(3_600),
        }
    }
}

/// A map from keys to values that expire; see the [module docs](self).
pub struct TtlCache<K, V> {
    limits: TtlLimits,
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    entries: HashMap<K, Slot<V>>,
    /// The entries by expiry time (then insertion number), to find expired ones and the
    /// one to evict without scanning.
    by_expiry: BTreeMap<(Instant, u64), K>,
    next: u64,
}

struct Slot<V> {
    value: V,
    expires: Instant,
    number: u64,
}

impl<K: Clone + Eq + Hash, V: Clone> TtlCache<K, V> {
    /// An empty cache with these limits.
    pub fn new(limits: TtlLimits) -> Self {
        Self {
            limits,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                by_expiry: BTreeMap::new(),
                next: 0,
            }),
        }
    }

    /// The limits of this cache.
    pub fn limits(&self) -> TtlLimits {
        self.limits
    }

    /// The value for `key` and how long it remains valid, unless it is absent or has
    /// expired at `now`.
    pub fn get(&self, key: &K, now: Instant) -> Option<(V, Duration)> {
        let mut inner = self.lock();
        let expires = inner.entries.get(key)?.expires;
        if expires <= now {
            inner.remove(key);
            return None;
        }
        inner
            .entries
            .get(key)
            .map(|slot| (slot.value.clone(), expires - now))
    }

    /// Keeps a positive answer for `ttl` from `now`, at most [`TtlLimits::max_ttl`]
    /// (RFC 1035 §3.2.1). A TTL of zero means "do not cache": any entry for `key` is removed.
    pub fn insert(&self, key: K, value: V, ttl: Duration, now: Instant) {
        self.insert_for(key, value, ttl.min(self.limits.max_ttl), now);
    }

    /// Keeps a negative answer (NXDOMAIN, or no data of the type asked) for `ttl` from `now`,
    /// at most [`TtlLimits::max_negative_ttl`]; `ttl` is the lesser of the SOA record's TTL
    /// and its MINIMUM field (RFC 2308 §5). A TTL of zero means "do not cache".
    pub fn insert_negative(&self, key: K, value: V, ttl: Duration, now: Instant) {
        self.insert_for(key, value, ttl.min(self.limits.max_negative_ttl), now);
    }

    /// Removes the entry for `key`; returns whether there was one.
    pub fn remove(&self, key: &K) -> bool {
        self.lock().remove(key)
    }

    /// Removes every entry expired at `now`; returns how many.
    pub fn purge_expired(&self, now: Instant) -> usize {
        self.lock().purge_expired(now)
    }

    /// The number of entries held, expired ones not yet removed included.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the cache holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert_for(&self, key: K, value: V, ttl: Duration, now: Instant) {
        let mut inner = self.lock();
        inner.remove(&key);
        let Some(expires) = now.checked_add(ttl).filter(|_| !ttl.is_zero()) else {
            return;
        };
        if self.limits.capacity == 0 {
            return;
        }
        if inner.entries.len() >= self.limits.capacity {
            inner.purge_expired(now);
        }
        while inner.entries.len() >= self.limits.capacity {
            // Full of live entries: the one closest to expiry has the least left to give.
            let Some((_, oldest)) = inner.by_expiry.pop_first() else {
                break;
            };
            inner.entries.remove(&oldest);
        }
        let number = inner.next;
        inner.next = inner.next.wrapping_add(1);
        inner.by_expiry.insert((expires, number), key.clone());
        inner.entries.insert(
            key,
            Slot {
                value,
                expires,
                number,
            },
        );
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        // Every change leaves both maps consistent before anything that could panic, so a
        // poisoned lock is used as is.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: Clone + Eq + Hash, V> Inner<K, V> {
    fn remove(&mut self, key: &K) -> bool {
        match self.entries.remove(key) {
            Some(slot) => {
                self.by_expiry.remove(&(slot.expires, slot.number));
                true
            }
            None => false,
        }
    }

    fn purge_expired(&mut self, now: Instant) -> usize {
        let mut purged = 0;
        while let Some(entry) = self.by_expiry.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            self.entries.remove(&key);
            purged += 1;
        }
        purged
    }
}

impl<K, V> fmt::Debug for TtlCache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len();
        f.debug_struct("TtlCache")
            .field("limits", &self.limits)
            .field("len", &len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    /// A DNS-like result: the addresses, or the negative answer.
    type Lookup = Result<Vec<&'static str>, &'static str>;

    fn cache(capacity: usize) -> TtlCache<&'static str, Lookup> {
        TtlCache::new(TtlLimits::with_capacity(capacity))
    }

    #[test]
    fn pfx_03_positive_answer_is_kept_for_its_ttl() {
        let c = cache(10);
        let t0 = Instant::now();
        c.insert("mx.example.com", Ok(vec!["192.0.2.1"]), 300 * SECOND, t0);
        assert_eq!(
            c.get(&"mx.example.com", t0 + 100 * SECOND),
            Some((Ok(vec!["192.0.2.1"]), 200 * SECOND))
        );
        assert!(c
            .get(
                &"mx.example.com",
                t0 + 300 * SECOND - Duration::from_nanos(1)
            )
            .is_some());
        assert_eq!(c.get(&"mx.example.com", t0 + 300 * SECOND), None);
        assert!(c.is_empty(), "an expired entry is removed when met");
    }

    #[test]
    fn pfx_03_negative_answer_is_kept_for_the_soa_minimum_capped_at_an_hour() {
        let c = cache(10);
        let t0 = Instant::now();
        c.insert_negative("_25._tcp.mx.example.com", Err("nxdomain"), 900 * SECOND, t0);
        assert_eq!(
            c.get(&"_25._tcp.mx.example.com", t0 + 899 * SECOND),
            Some((Err("nxdomain"), SECOND))
        );
        assert_eq!(c.get(&"_25._tcp.mx.example.com", t0 + 900 * SECOND), None);
        c.insert_negative("nodata.example.com", Err("nodata"), 86_400 * SECOND, t0);
        assert_eq!(
            c.get(&"nodata.example.com", t0).map(|(_, ttl)| ttl),
            Some(3_600 * SECOND)
        );
    }

    #[test]
    fn pfx_03_positive_ttl_is_capped_at_a_day() {
        let c = cache(10);
        let t0 = Instant::now();
        c.insert("example.com", Ok(vec![]), 7 * 86_400 * SECOND, t0);
        assert_eq!(
            c.get(&"example.com", t0).map(|(_, ttl)| ttl),
            Some(86_400 * SECOND)
        );
    }

    #[test]
    fn pfx_03_zero_ttl_is_not_cached_and_replaces_an_older_entry() {
        let c = cache(10);
        let t0 = Instant::now();
        c.insert("example.com", Ok(vec!["192.0.2.1"]), 60 * SECOND, t0);
        c.insert("example.com", Ok(vec!["192.0.2.2"]), Duration::ZERO, t0);
        assert_eq!(c.get(&"example.com", t0), None);
        assert!(c.is_empty());
    }

    #[test]
    fn pfx_03_reinsert_replaces_value_and_expiry() {
        let c = cache(10);
        let t0 = Instant::now();
        c.insert("example.com", Ok(vec!["192.0.2.1"]), 60 * SECOND, t0);
        c.insert_negative(
            "example.com",
            Err("nxdomain"),
            10 * SECOND,
            t0 + 30 * SECOND,
        );
        assert_eq!(
            c.get(&"example.com", t0 + 35 * SECOND),
            Some((Err("nxdomain"), 5 * SECOND))
        );
        assert_eq!(c.get(&"example.com", t0 + 40 * SECOND), None);
        assert!(c.is_empty());
    }

    #[test]
    fn pfx_03_capacity_evicts_expired_then_closest_to_expiry() {
        let c = cache(3);
        let t0 = Instant::now();
        c.insert("a", Ok(vec![]), 10 * SECOND, t0);
        c.insert("b", Ok(vec![]), 100 * SECOND, t0);
        c.insert("c", Ok(vec![]), 50 * SECOND, t0);
        // Full, nothing expired: "a" expires first and goes.
        c.insert("d", Ok(vec![]), 100 * SECOND, t0);
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(&"a", t0), None);
        // Full, "c" expired: only it goes.
        c.insert("e", Ok(vec![]), 100 * SECOND, t0 + 60 * SECOND);
        assert_eq!(c.len(), 3);
        for key in ["b", "d", "e"] {
            assert!(c.get(&key, t0 + 60 * SECOND).is_some(), "{key}");
        }
    }

    #[test]
    fn pfx_03_purge_and_remove() {
        let c = cache(10);
        let t0 = Instant::now();
        c.insert("a", Ok(vec![]), 10 * SECOND, t0);
        c.insert("b", Ok(vec![]), 20 * SECOND, t0);
        c.insert_negative("c", Err("nxdomain"), 30 * SECOND, t0);
        assert_eq!(c.purge_expired(t0 + 20 * SECOND), 2);
        assert_eq!(c.len(), 1);
        assert!(c.remove(&"c"));
        assert!(!c.remove(&"c"));
        assert!(c.is_empty());
    }

    #[test]
    fn pfx_03_zero_capacity_caches_nothing() {
        let c = cache(0);
        let t0 = Instant::now();
        c.insert("a", Ok(vec![]), 10 * SECOND, t0);
        assert_eq!(c.get(&"a", t0), None);
    }
}
