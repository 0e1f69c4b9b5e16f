//! The checks the server runs: at most a fixed number at once, each with a time limit, and
//! one at a time per domain.
//!
//! A check runs in its own task, so a visitor who leaves does not cancel it for the others
//! watching it; its result is kept for [`REUSE`] so that reloading a permalink does not start
//! the audit again. When every slot is taken, a new check is refused at once with the time
//! after which a slot is expected to be free ([`Busy`]), estimated from how long recent checks
//! took.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use mxsec_check::report::Report;
use mxsec_proto::name::DomainName;
use tokio::sync::{watch, Semaphore};

/// How long a finished check is shown instead of starting a new one.
pub(crate) const REUSE: Duration = Duration::from_secs(60);

/// The most finished checks kept for reuse.
const MAX_KEPT: usize = 1024;

/// How many recent durations the busy estimate averages.
const RECENT: usize = 16;

/// Runs the audit of one domain: the web front end's one way into the engine.
pub(crate) type Audit =
    Arc<dyn Fn(DomainName) -> Pin<Box<dyn Future<Output = Report> + Send>> + Send + Sync>;

/// Where a check is.
#[derive(Clone, Debug)]
pub(crate) enum CheckState {
    /// Still running.
    Running,
    /// Finished.
    Done(Arc<Report>),
    /// Did not finish within the time limit.
    TimedOut(Duration),
}

/// Every slot is taken.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) struct Busy {
    /// When to try again.
    pub(crate) retry_after: Duration,
}

/// The running and recently finished checks.
pub(crate) struct Checks {
    audit: Audit,
    time_limit: Duration,
    slots: Arc<Semaphore>,
    table: Mutex<HashMap<DomainName, Entry>>,
    durations: Arc<Mutex<Vec<Duration>>>,
}

struct Entry {
    started: Instant,
    finished: Arc<OnceLock<Instant>>,
    state: watch::Receiver<CheckState>,
}

impl Checks {
    /// At most `max_running` checks at once, each stopped after `time_limit`.
    pub(crate) fn new(audit: Audit, max_running: usize, time_limit: Duration) -> Self {
        Self {
            audit,
            time_limit,
            slots: Arc::new(Semaphore::new(max_running.max(1))),
            table: Mutex::new(HashMap::new()),
            durations: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The time limit of one check.
    pub(crate) fn time_limit(&self) -> Duration {
        self.time_limit
    }

    /// How many checks are running.
    pub(crate) fn running(&self) -> usize {
        lock(&self.table)
            .values()
            .filter(|e| e.finished.get().is_none())
            .count()
    }

    /// Joins the check of `domain` that is running or finished less than [`REUSE`] ago, or
    /// starts one if a slot is free.
    ///
    /// # Errors
    ///
    /// [`Busy`] when a new check is needed and every slot is taken.
    pub(crate) fn start(&self, domain: &DomainName) -> Result<watch::Receiver<CheckState>, Busy> {
        let now = Instant::now();
        let mut table = lock(&self.table);
        if let Some(entry) = table.get(domain) {
            let fresh = entry
                .finished
                .get()
                .is_none_or(|done| now.saturating_duration_since(*done) < REUSE);
            if fresh {
                return Ok(entry.state.clone());
            }
        }
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            return Err(Busy {
                retry_after: self.retry_after(&table, now),
            });
        };
        table.retain(|_, e| {
            e.finished
                .get()
                .is_none_or(|done| now.saturating_duration_since(*done) < REUSE)
        });
        if table.len() >= MAX_KEPT {
            // Forget the oldest finished checks; running ones are at most `max_running`.
            let mut finished: Vec<(Instant, DomainName)> = table
                .iter()
                .filter(|(_, e)| e.finished.get().is_some())
                .map(|(d, e)| (e.started, d.clone()))
                .collect();
            finished.sort();
            for (_, d) in finished.iter().take(table.len() + 1 - MAX_KEPT) {
                table.remove(d);
            }
        }

        let (sender, receiver) = watch::channel(CheckState::Running);
        let finished = Arc::new(OnceLock::new());
        let audit = (self.audit)(domain.clone());
        let limit = self.time_limit;
        let durations = self.durations.clone();
        let done = finished.clone();
        tokio::spawn(async move {
            let state = match tokio::time::timeout(limit, audit).await {
                Ok(report) => CheckState::Done(Arc::new(report)),
                Err(_) => CheckState::TimedOut(limit),
            };
            let took = now.elapsed();
            {
                let mut recent = lock(&durations);
                if recent.len() >= RECENT {
                    recent.remove(0);
                }
                recent.push(took);
            }
            let _ = done.set(Instant::now());
            // Receivers may all be gone; the state stays readable through the table.
            sender.send_replace(state);
            drop(slot);
        });
        table.insert(
            domain.clone(),
            Entry {
                started: now,
                finished,
                state: receiver.clone(),
            },
        );
        Ok(receiver)
    }

    /// When a slot is expected to be free: the soonest expected end of a running check, by
    /// the average of recent durations, between one second and the time limit.
    fn retry_after(&self, table: &HashMap<DomainName, Entry>, now: Instant) -> Duration {
        let typical = {
            let recent = lock(&self.durations);
            if recent.is_empty() {
                self.time_limit / 4
            } else {
                recent.iter().sum::<Duration>() / u32::try_from(recent.len()).unwrap_or(1)
            }
        };
        let soonest = table
            .values()
            .filter(|e| e.finished.get().is_none())
            .map(|e| typical.saturating_sub(now.saturating_duration_since(e.started)))
            .min()
            .unwrap_or(Duration::ZERO);
        let whole = Duration::from_secs(soonest.as_secs() + u64::from(soonest.subsec_nanos() > 0));
        whole.clamp(
            Duration::from_secs(1),
            self.time_limit.max(Duration::from_secs(1)),
        )
    }
}

/// Waits until the check is no longer running, and returns how it ended.
pub(crate) async fn finished(mut state: watch::Receiver<CheckState>) -> CheckState {
    let ended = state
        .wait_for(|s| !matches!(s, CheckState::Running))
        .await
        .map(|s| s.clone());
    // The task always sends a final state before dropping the sender, so a closed channel
    // still holds that state.
    ended.unwrap_or_else(|_| state.borrow().clone())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
