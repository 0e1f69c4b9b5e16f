//! A worker: takes domains from the queue's consumer group, checks them, and writes each
//! result with the acknowledgement of its entry, atomically.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{field, millis, redis_error, Entry, Keys, Queue, QueueError, BLOCK, GROUP};
use crate::report::json::Failure;
use crate::scan::{check_line, Outcome};
use crate::Checker;

/// Writes a result and acknowledges its entry, once per entry.
///
/// `KEYS`: the tasks stream, the results stream, the answered hash. `ARGV`: the group, the
/// task entry id, the result line, the worker's name. The result is written only if the entry has none yet (a
/// worker that was thought dead may finish after another took its entry over); either way
/// the entry is acknowledged and removed from the tasks stream. Returns 1 if the result was
/// written, 0 if the entry already had one.
const FINISH_SCRIPT: &str = "
local written = 0
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 0 then
  local id = redis.call('XADD', KEYS[2], '*', 'task', ARGV[2], 'worker', ARGV[4], 'result', ARGV[3])
  redis.call('HSET', KEYS[3], ARGV[2], id)
  written = 1
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return written
";

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// The name of this worker in the consumer group; unique per worker process.
    pub consumer: String,
    /// The most domains held at once (at least one): read from the queue and not yet
    /// answered.
    pub in_flight: usize,
    /// How long an entry must have been idle, its worker silent, before another worker
    /// takes it over. A live worker renews its entries' claims three times in this time.
    pub claim_idle: Duration,
    /// How many times an entry may be delivered (read, then taken over from workers that
    /// fell silent) before it is answered with a failure instead of a check: a domain whose
    /// check stops every worker that takes it must not stop the whole scan.
    pub max_deliveries: u64,
}

/// The usual [`WorkerOptions::max_deliveries`]: a domain is given up on after the worker that
/// read it and three more that took it over stopped while checking it.
pub const MAX_DELIVERIES: u64 = 4;

/// An entry taken from the queue.
struct Task {
    /// The entry id.
    id: String,
    /// The entry's fields and values, alternating.
    fields: Vec<String>,
    /// How many times the entry has been delivered, this time included.
    deliveries: u64,
}

impl Task {
    /// An entry read for the first time.
    fn new((id, fields): Entry) -> Self {
        Self {
            id,
            fields,
            deliveries: 1,
        }
    }
}

/// What a worker did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerCounts {
    /// Domains checked and answered by this worker.
    pub answered: u64,
    /// Domains checked whose entry another worker had answered meanwhile.
    pub duplicates: u64,
    /// Entries taken over from workers that fell silent.
    pub claimed: u64,
    /// Entries answered with a failure after [`WorkerOptions::max_deliveries`] deliveries.
    pub given_up: u64,
}

/// What became of one entry a worker took.
enum Answer {
    /// Its result was written.
    Written,
    /// A failure was written for it, after too many deliveries.
    GivenUp,
    /// Another worker had written its result meanwhile.
    Duplicate,
}

/// The entry ids a worker holds, for renewing their claims.
type Held = Arc<Mutex<HashSet<String>>>;

impl Queue {
    /// Runs a worker until every domain of the closed queue has its result: reads entries
    /// (at most `options.in_flight` held at once), takes over entries idle for longer than
    /// `options.claim_idle`, checks each domain with `checker` on a task of its own, and
    /// writes its result.
    ///
    /// A result that cannot be written leaves its entry pending, for this or another worker
    /// to take over once it is idle.
    ///
    /// # Errors
    ///
    /// [`QueueError::Redis`] when reading the queue fails.
    pub async fn work(
        &self,
        checker: Checker,
        options: WorkerOptions,
    ) -> Result<WorkerCounts, QueueError> {
        self.create_group().await?;
        let mut reader = self.blocking_connection().await?;
        let held: Held = Arc::default();
        let permits = Arc::new(Semaphore::new(options.in_flight.max(1)));
        let mut checks: JoinSet<Result<Answer, QueueError>> = JoinSet::new();
        let mut renewal = JoinSet::new();
        renewal.spawn(renew(
            self.conn.clone(),
            self.keys.clone(),
            options.clone(),
            Arc::clone(&held),
        ));
        let mut counts = WorkerCounts::default();
        let mut cursor = String::from("0-0");
        let mut next_claim = Instant::now();
        loop {
            while let Some(done) = checks.try_join_next() {
                note(&mut counts, done);
            }
            // The semaphore is never closed, so the wait ends with a permit.
            let Ok(first) = Arc::clone(&permits).acquire_owned().await else {
                break;
            };
            let mut slots = vec![first];
            while let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
                slots.push(permit);
            }
            let mut entries = Vec::new();
            if Instant::now() >= next_claim {
                let (next, claimed) = self
                    .claim_idle(&mut reader, &options, &cursor, slots.len())
                    .await?;
                counts.claimed += u64::try_from(claimed.len()).unwrap_or(u64::MAX);
                if next == "0-0" {
                    next_claim = Instant::now() + options.claim_idle / 2;
                }
                cursor = next;
                entries = claimed;
            }
            if entries.is_empty() {
                entries = self
                    .read_new(&mut reader, &options.consumer, slots.len())
                    .await?;
            }
            if entries.is_empty() {
                drop(slots);
                if checks.is_empty() && self.state().await?.finished() {
                    break;
                }
                continue;
            }
            for (task, permit) in entries.into_iter().zip(slots) {
                checks.spawn(self.clone().answer(
                    checker.clone(),
                    task,
                    options.clone(),
                    Arc::clone(&held),
                    permit,
                ));
            }
        }
        while let Some(done) = checks.join_next().await {
            note(&mut counts, done);
        }
        Ok(counts)
    }

    /// Creates the consumer group (and the tasks stream) unless it exists; the group reads
    /// from the start of the stream.
    async fn create_group(&self) -> Result<(), QueueError> {
        let created = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.keys.tasks)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .exec_async(&mut self.conn.clone())
            .await;
        match created {
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            other => other.map_err(redis_error("XGROUP CREATE")),
        }
    }

    /// Up to `count` entries never delivered to any worker, waiting up to [`BLOCK`] for one.
    async fn read_new(
        &self,
        reader: &mut ConnectionManager,
        consumer: &str,
        count: usize,
    ) -> Result<Vec<Task>, QueueError> {
        let reply: Option<Vec<(String, Vec<Entry>)>> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(millis(BLOCK))
            .arg("STREAMS")
            .arg(&self.keys.tasks)
            .arg(">")
            .query_async(reader)
            .await
            .map_err(redis_error("XREADGROUP"))?;
        Ok(reply
            .into_iter()
            .flatten()
            .flat_map(|(_, entries)| entries)
            .map(Task::new)
            .collect())
    }

    /// Takes over up to `count` entries idle for `options.claim_idle`, scanning the pending
    /// entries from `cursor`. Returns the cursor to go on from (`0-0`: the scan is complete)
    /// and the entries.
    async fn claim_idle(
        &self,
        reader: &mut ConnectionManager,
        options: &WorkerOptions,
        cursor: &str,
        count: usize,
    ) -> Result<(String, Vec<Task>), QueueError> {
        // Redis 7 adds a third element, the ids of entries deleted meanwhile; they are no
        // longer pending after the reply, and there is nothing to check for them.
        let reply: redis::Value = redis::cmd("XAUTOCLAIM")
            .arg(&self.keys.tasks)
            .arg(GROUP)
            .arg(&options.consumer)
            .arg(millis(options.claim_idle))
            .arg(cursor)
            .arg("COUNT")
            .arg(count)
            .query_async(reader)
            .await
            .map_err(redis_error("XAUTOCLAIM"))?;
        let reply = match reply {
            redis::Value::Array(mut items) if items.len() > 2 => {
                items.truncate(2);
                redis::Value::Array(items)
            }
            other => other,
        };
        let (next, claimed): (String, Vec<Option<Entry>>) = redis::from_redis_value(reply)
            .map_err(|e| redis_error("XAUTOCLAIM (reply)")(e.into()))?;
        let mut tasks: Vec<Task> = claimed.into_iter().flatten().map(Task::new).collect();
        if tasks.is_empty() {
            return Ok((next, tasks));
        }
        // The delivery count of each, which the claim has just raised.
        let mut pipe = redis::pipe();
        for task in &tasks {
            pipe.cmd("XPENDING")
                .arg(&self.keys.tasks)
                .arg(GROUP)
                .arg(&task.id)
                .arg(&task.id)
                .arg(1);
        }
        let pending: Vec<Vec<(String, String, u64, u64)>> = pipe
            .query_async(reader)
            .await
            .map_err(redis_error("XPENDING"))?;
        for (task, details) in tasks.iter_mut().zip(pending) {
            if let Some((_, _, _, deliveries)) = details.first() {
                task.deliveries = *deliveries;
            }
        }
        Ok((next, tasks))
    }

    /// Checks the domain of `task`, or gives up on it after `options.max_deliveries`, and
    /// writes its result, unless another worker wrote one meanwhile.
    async fn answer(
        self,
        checker: Checker,
        task: Task,
        options: WorkerOptions,
        held: Held,
        permit: OwnedSemaphorePermit,
    ) -> Result<Answer, QueueError> {
        let Task {
            id,
            fields,
            deliveries,
        } = task;
        lock(&held).insert(id.clone());
        let given_up = deliveries > options.max_deliveries;
        let outcome = match field(&fields, "domain") {
            Some(domain) if given_up => Outcome::Failure(Failure::new(
                domain,
                format!(
                    "not checked: taken over {} times from workers that stopped while checking it",
                    deliveries - 1
                ),
            )),
            Some(domain) => check_line(checker, domain.to_owned()).await,
            None => Outcome::Failure(Failure::new("", "a queue entry without a domain field")),
        };
        let written: Result<u8, _> = redis::cmd("EVAL")
            .arg(FINISH_SCRIPT)
            .arg(3)
            .arg(&self.keys.tasks)
            .arg(&self.keys.results)
            .arg(&self.keys.answered)
            .arg(GROUP)
            .arg(&id)
            .arg(outcome.to_json_line())
            .arg(&options.consumer)
            .query_async(&mut self.conn.clone())
            .await;
        lock(&held).remove(&id);
        drop(permit);
        match written.map_err(redis_error("EVAL (write a result)"))? {
            1 if given_up => Ok(Answer::GivenUp),
            1 => Ok(Answer::Written),
            _ => Ok(Answer::Duplicate),
        }
    }
}

/// Renews the claims of the entries in `held` three times per claim time, so that other
/// workers do not take them over while this one checks them (`XCLAIM ... JUSTID` resets an
/// entry's idle time). Runs until aborted; a failure is logged and the next round tries again.
async fn renew(conn: ConnectionManager, keys: Keys, options: WorkerOptions, held: Held) {
    let mut ticks = tokio::time::interval((options.claim_idle / 3).max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let ids: Vec<String> = lock(&held).iter().cloned().collect();
        if ids.is_empty() {
            continue;
        }
        let renewed = redis::cmd("XCLAIM")
            .arg(&keys.tasks)
            .arg(GROUP)
            .arg(&options.consumer)
            .arg(0)
            .arg(&ids)
            .arg("JUSTID")
            .exec_async(&mut conn.clone())
            .await;
        if let Err(e) = renewed {
            tracing::warn!(error = %e, "cannot renew the claims of {} queue entries", ids.len());
        }
    }
}

/// Counts a finished check; a result that could not be written is logged.
fn note(
    counts: &mut WorkerCounts,
    done: Result<Result<Answer, QueueError>, tokio::task::JoinError>,
) {
    match done {
        Ok(Ok(Answer::Written)) => counts.answered += 1,
        Ok(Ok(Answer::GivenUp)) => {
            counts.answered += 1;
            counts.given_up += 1;
        }
        Ok(Ok(Answer::Duplicate)) => counts.duplicates += 1,
        Ok(Err(e)) => tracing::warn!(
            error = %e,
            source = ?std::error::Error::source(&e),
            "a result was not written; its entry stays pending for another worker"
        ),
        Err(e) => tracing::warn!(error = %e, "a check stopped; its entry stays pending"),
    }
}

fn lock(held: &Held) -> std::sync::MutexGuard<'_, HashSet<String>> {
    held.lock().unwrap_or_else(PoisonError::into_inner)
}
