//! The answer cache and the lookups in flight, and how [`Answers::forget`] reaches both.
//!
//! Concurrent requests for a destination that is not cached share one lookup
//! ([`SingleFlight`]), whose answer is then cached for the TTL the lookup chose. Forgetting a
//! destination (a refresh stored a new policy for it) must win over every lookup that started
//! before: such a lookup may have read the old policy.
//!
//! | event | effect |
//! |---|---|
//! | a request after the forget, while a lookup started before it is in flight | it does not join that lookup; it starts its own |
//! | a lookup started before the forget ends after it | its callers get its answer; it is not cached |
//! | a lookup started after the forget ends | its answer is cached as usual |
//!
//! One generation counter orders them: a forget bumps it, every lookup is keyed by the
//! generation it started in, and its answer is cached only if the generation is still the
//! same. The check and the insert happen under the counter's read lock and the bump and the
//! removal under its write lock, so no forget falls between them. The counter is shared by
//! all destinations: forgets are rare (a refresh that found a new policy), and a forget then
//! costs the other lookups in flight at most their caching, never a wrong answer.

use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use mxsec_net::flight::SingleFlight;
use mxsec_net::ttl_cache::{TtlCache, TtlLimits};
use mxsec_proto::name::Destination;

use super::metrics::CacheEntries;

/// Cached answers and lookups in flight, per destination; see the [module docs](self).
pub(crate) struct Answers<V> {
    state: Arc<State<V>>,
    flights: SingleFlight<(Destination, u64), V>,
}

struct State<V> {
    cache: TtlCache<Destination, V>,
    /// The number of forgets so far.
    generation: RwLock<u64>,
}

impl<V: Clone> std::fmt::Debug for State<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answers")
            .field("entries", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl<V> CacheEntries for State<V>
where
    V: Clone + Send + Sync,
{
    fn entries(&self) -> usize {
        self.cache.len()
    }
}

impl<V> State<V>
where
    V: Clone,
{
    fn generation(&self) -> u64 {
        *self
            .generation
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Caches `value` unless a forget happened since `generation`.
    fn insert(&self, destination: Destination, generation: u64, value: V, ttl: Duration) {
        let current = self
            .generation
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if *current == generation {
            self.cache.insert(destination, value, ttl, Instant::now());
        }
    }
}

impl<V> Answers<V>
where
    V: Clone + Send + Sync + 'static,
{
    /// Room for `capacity` answers.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            state: Arc::new(State {
                cache: TtlCache::new(TtlLimits::with_capacity(capacity)),
                generation: RwLock::new(0),
            }),
            flights: SingleFlight::new(),
        }
    }

    /// The cached answer for `destination` and how long it has left, if it has not expired
    /// at `now`.
    pub(crate) fn get(&self, destination: &Destination, now: Instant) -> Option<(V, Duration)> {
        self.state.cache.get(destination, now)
    }

    /// The answer of the lookup of `destination` in flight since the last forget, or of a new
    /// one running `work`, which gives the answer and how long to cache it. The answer is
    /// cached unless [`Answers::forget`] is called for any destination before it is ready.
    pub(crate) async fn lookup<F, Fut>(&self, destination: &Destination, work: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = (V, Duration)> + Send + 'static,
    {
        let generation = self.state.generation();
        let state = self.state.clone();
        let key = destination.clone();
        self.flights
            .run((destination.clone(), generation), move || {
                let work = work();
                async move {
                    let (value, ttl) = work.await;
                    state.insert(key, generation, value.clone(), ttl);
                    value
                }
            })
            .await
    }

    /// Forgets the cached answer for `destination`; lookups in flight are neither joined nor
    /// cached any more.
    pub(crate) fn forget(&self, destination: &Destination) {
        let mut generation = self
            .state
            .generation
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *generation = generation.wrapping_add(1);
        self.state.cache.remove(destination);
    }

    /// Drops the answers expired at `now`.
    pub(crate) fn purge(&self, now: Instant) {
        self.state.cache.purge_expired(now);
    }

    /// The number of cached answers.
    pub(crate) fn len(&self) -> usize {
        self.state.cache.len()
    }

    /// The cache's size, for the `mxsec_answer_cache_entries` gauge.
    pub(crate) fn entries(&self) -> Arc<dyn CacheEntries> {
        self.state.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::Notify;

    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn destination() -> Destination {
        Destination::parse("example.com").expect("destination")
    }

    #[tokio::test]
    async fn pfx_03_lookup_started_before_a_forget_is_neither_joined_nor_cached() {
        let answers = Answers::<u32>::new(16);
        let d = destination();
        let gate = Arc::new(Notify::new());
        let old = answers.lookup(&d, {
            let gate = gate.clone();
            move || async move {
                gate.notified().await;
                (1, HOUR)
            }
        });
        let after_forget = async {
            // The old lookup has started and waits at the gate.
            tokio::task::yield_now().await;
            answers.forget(&d);
            let new = answers.lookup(&d, || async { (2, HOUR) }).await;
            assert_eq!(new, 2, "a request after the forget joined the old lookup");
            assert_eq!(answers.get(&d, Instant::now()).map(|(v, _)| v), Some(2));
            gate.notify_one();
        };
        let (old, ()) = tokio::join!(old, after_forget);
        // The old lookup's callers get its answer, but it does not replace the newer one.
        assert_eq!(old, 1);
        assert_eq!(answers.get(&d, Instant::now()).map(|(v, _)| v), Some(2));
    }

    #[tokio::test]
    async fn pfx_03_lookup_ending_after_a_forget_leaves_nothing_cached() {
        let answers = Answers::<u32>::new(16);
        let d = destination();
        let gate = Arc::new(Notify::new());
        let old = answers.lookup(&d, {
            let gate = gate.clone();
            move || async move {
                gate.notified().await;
                (1, HOUR)
            }
        });
        let forget = async {
            tokio::task::yield_now().await;
            answers.forget(&d);
            gate.notify_one();
        };
        let (old, ()) = tokio::join!(old, forget);
        assert_eq!(old, 1);
        assert_eq!(answers.get(&d, Instant::now()).map(|(v, _)| v), None);
        assert_eq!(answers.len(), 0);
    }

    #[tokio::test]
    async fn pfx_03_never_holds_more_answers_than_its_capacity() {
        let answers = Answers::<u32>::new(3);
        let entries = answers.entries();
        for i in 0..10u32 {
            let d = Destination::parse(&format!("d{i}.example")).expect("destination");
            let value = answers.lookup(&d, move || async move { (i, HOUR) }).await;
            assert_eq!(value, i);
            assert!(
                answers.len() <= 3,
                "{} answers after {} lookups",
                answers.len(),
                i + 1
            );
        }
        assert_eq!(entries.entries(), 3);
        let last = Destination::parse("d9.example").expect("destination");
        assert_eq!(answers.get(&last, Instant::now()).map(|(v, _)| v), Some(9));

        let none = Answers::<u32>::new(0);
        none.lookup(&destination(), || async { (1, HOUR) }).await;
        assert_eq!(none.len(), 0);
    }

    #[tokio::test]
    async fn pfx_03_without_a_forget_requests_share_one_lookup_and_its_answer_is_cached() {
        let answers = Answers::<u32>::new(16);
        let d = destination();
        let runs = Arc::new(AtomicUsize::new(0));
        let lookup = || {
            let runs = runs.clone();
            answers.lookup(&d, move || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                (7, HOUR)
            })
        };
        let (a, b) = tokio::join!(lookup(), lookup());
        assert_eq!((a, b), (7, 7));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(answers.get(&d, Instant::now()).map(|(v, _)| v), Some(7));
        answers.forget(&d);
        assert_eq!(answers.get(&d, Instant::now()).map(|(v, _)| v), None);
    }
}
