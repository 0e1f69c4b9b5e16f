//! Single flight: concurrent requests for the same key share one piece of work.
//!
//! When many messages for one domain reach Postfix at once, each asks the daemon for the
//! domain's TLS policy. Without coordination each request would run its own DNS lookups and
//! MTA-STS fetch; with [`SingleFlight`] the first request starts the work and every request
//! for the same key that arrives before it finishes awaits the same result (DESIGN.md,
//! "Concurrency"). A finished flight is forgotten at once: keeping results is the job of a
//! cache such as [`TtlCache`](crate::ttl_cache::TtlCache).
//!
//! The work runs inside the callers' own tasks: it makes progress while at least one caller
//! awaits it, and is dropped (cancelled) when every caller has given up, so a later request
//! starts afresh instead of waiting for work nobody drove.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use futures::future::{BoxFuture, FutureExt, Shared, WeakShared};

/// Runs at most one piece of work per key at a time; see the [module docs](self).
pub struct SingleFlight<K, V> {
    state: Arc<Mutex<State<K, V>>>,
}

struct State<K, V> {
    /// Numbers the flights, so that a finished flight removes its own entry and never a newer
    /// one for the same key.
    next: u64,
    flights: HashMap<K, (u64, WeakShared<BoxFuture<'static, V>>)>,
}

impl<K, V> SingleFlight<K, V>
where
    K: Clone + Eq + Hash + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// No flights yet.
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                next: 0,
                flights: HashMap::new(),
            })),
        }
    }

    /// Returns the result of the flight for `key`: joins the one in progress, or starts one
    /// with `work()` if there is none. `work` is called only when a new flight starts.
    pub async fn run<F, Fut>(&self, key: K, work: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V> + Send + 'static,
    {
        let flight = {
            let mut state = lock(&self.state);
            match state.flights.get(&key).and_then(|(_, weak)| weak.upgrade()) {
                Some(flight) => flight,
                None => self.start(&mut state, key, work()),
            }
        };
        flight.await
    }

    /// The number of flights in progress.
    pub fn in_flight(&self) -> usize {
        lock(&self.state).flights.len()
    }

    /// Registers a new flight for `key` running `work`.
    fn start(
        &self,
        state: &mut State<K, V>,
        key: K,
        work: impl Future<Output = V> + Send + 'static,
    ) -> Shared<BoxFuture<'static, V>> {
        let generation = state.next;
        state.next = state.next.wrapping_add(1);
        let guard = Landing {
            state: Arc::downgrade(&self.state),
            key: Some(key.clone()),
            generation,
        };
        let flight = async move {
            // Dropped when the work completes or is cancelled: either way the flight is over.
            let _guard = guard;
            work.await
        }
        .boxed()
        .shared();
        // A flight that has not been polled yet always has a weak handle.
        if let Some(weak) = flight.downgrade() {
            state.flights.insert(key, (generation, weak));
        }
        flight
    }
}

impl<K, V> Default for SingleFlight<K, V>
where
    K: Clone + Eq + Hash + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> fmt::Debug for SingleFlight<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SingleFlight")
            .field("in_flight", &lock(&self.state).flights.len())
            .finish()
    }
}

/// Removes a flight's entry when its work is dropped, finished or not.
struct Landing<K: Eq + Hash, V> {
    state: Weak<Mutex<State<K, V>>>,
    key: Option<K>,
    generation: u64,
}

impl<K: Eq + Hash, V> Drop for Landing<K, V> {
    fn drop(&mut self) {
        let (Some(state), Some(key)) = (self.state.upgrade(), self.key.take()) else {
            return;
        };
        let mut state = lock(&state);
        if state
            .flights
            .get(&key)
            .is_some_and(|(generation, _)| *generation == self.generation)
        {
            state.flights.remove(&key);
        }
    }
}

/// Locks the state; a panic elsewhere while it was held leaves it consistent (each change
/// is a single map operation), so a poisoned lock is used as is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tokio::sync::Notify;

    use super::*;

    #[tokio::test]
    async fn pfx_03_concurrent_requests_for_one_key_share_one_flight() {
        let flights = SingleFlight::<String, u32>::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Notify::new());
        let callers = futures::future::join_all((0..50).map(|_| {
            let (runs, gate) = (runs.clone(), gate.clone());
            flights.run("example.com".to_owned(), || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                gate.notified().await;
                7
            })
        }));
        let release = async {
            // By now every caller has been polled once: one started the flight, the others
            // joined it, and the work waits at the gate.
            tokio::task::yield_now().await;
            assert_eq!(flights.in_flight(), 1);
            gate.notify_waiters();
        };
        let (results, ()) = tokio::join!(callers, release);
        assert_eq!(results, vec![7; 50]);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flights.in_flight(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pfx_03_callers_on_many_tasks_share_one_flight() {
        let flights = Arc::new(SingleFlight::<u8, u8>::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (flights, runs) = (flights.clone(), runs.clone());
                tokio::spawn(async move {
                    flights
                        .run(1, || async move {
                            runs.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(300)).await;
                            3
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.expect("caller task"), 3);
        }
        // All twenty start well within the 300 ms the work takes.
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn pfx_03_different_keys_fly_separately() {
        let flights = SingleFlight::<&'static str, &'static str>::new();
        let (a, b) = tokio::join!(
            flights.run("a.example", || async { "a" }),
            flights.run("b.example", || async { "b" }),
        );
        assert_eq!((a, b), ("a", "b"));
    }

    #[tokio::test]
    async fn pfx_03_a_finished_flight_is_not_reused() {
        let flights = SingleFlight::<u8, usize>::new();
        let runs = Arc::new(AtomicUsize::new(0));
        for expected in 1..=3 {
            let runs = runs.clone();
            let got = flights
                .run(1, || async move { runs.fetch_add(1, Ordering::SeqCst) + 1 })
                .await;
            assert_eq!(got, expected);
        }
        assert_eq!(flights.in_flight(), 0);
    }

    #[tokio::test]
    async fn pfx_03_flight_abandoned_by_every_caller_is_dropped_and_restarted() {
        let flights = SingleFlight::<u8, u8>::new();
        let abandoned = tokio::time::timeout(
            Duration::from_millis(20),
            flights.run(1, std::future::pending::<u8>),
        )
        .await;
        assert!(abandoned.is_err(), "the pending flight timed out");
        assert_eq!(flights.in_flight(), 0, "the cancelled flight left no entry");
        assert_eq!(flights.run(1, || async { 9 }).await, 9);
    }
}
