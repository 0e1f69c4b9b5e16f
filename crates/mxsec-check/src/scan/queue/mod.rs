//! A scan spread over several machines: domains on a Redis stream, taken by workers of a
//! consumer group, results on another stream.
//!
//! A queue named `NAME` is five keys under `mxsec:scan:NAME:`:
//!
//! - `tasks`: a stream of domains to check, one entry per input line (field `domain`), read
//!   by the consumer group `workers` ([`Queue::work`]);
//! - `results`: a stream of results (fields `task`, the entry id of the domain, `worker`, the
//!   name of the worker that checked it, and `result`, one line of the JSON-lines format of
//!   [`crate::report::json`]), read by [`Queue::collect`];
//! - `answered`: a hash from each answered task entry id to the id of its result, which
//!   makes a second result for the same entry impossible;
//! - `enqueued`: how many domains were put on `tasks`;
//! - `closed`: present once the enqueuing has ended, so that workers and the collector know
//!   that `enqueued` is final.
//!
//! A worker acknowledges an entry (`XACK`) only in the same script that writes its result, so
//! an entry is either answered and acknowledged or still pending; entries pending for longer
//! than the claim time, because their worker died, are taken over by another worker
//! (`XAUTOCLAIM`). A worker that is alive renews its entries' claims while it checks them,
//! so that only a dead worker's entries fall idle. The streams need Redis 6.2 or later.

mod collect;
mod worker;

use std::fmt;
use std::time::Duration;

use futures::stream::{Stream, StreamExt};
use mxsec_net::redis_client::{self, RedisClientError, RedisTls};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError};

use super::{answered, Done};

pub use worker::{WorkerCounts, WorkerOptions, MAX_DELIVERIES};

/// How long to wait for a connection, and for each reply that is not a blocking read.
const TIMEOUT: Duration = Duration::from_secs(5);

/// How long one blocking read (`XREADGROUP`, `XREAD`) waits for new entries before the reader
/// looks again at the queue's state.
const BLOCK: Duration = Duration::from_secs(1);

/// Reconnection attempts within one request after the connection broke, and the longest
/// pause between them, as for the Redis policy store.
const RECONNECT_ATTEMPTS: usize = 2;
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(500);

/// How many domains one enqueuing transaction carries.
const ENQUEUE_BATCH: usize = 256;

/// The consumer group of the workers.
const GROUP: &str = "workers";

/// Why a queue operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The Redis client cannot be built from the URL and the TLS settings.
    #[error("Redis queue")]
    Client(#[source] RedisClientError),
    /// The Redis server could not be reached: no connection, or the TLS handshake failed
    /// (a certificate that the trust anchors do not verify, or that does not name the host).
    #[error("Redis queue: cannot connect to {server}")]
    Connect {
        /// `rediss://HOST:PORT` or `redis://HOST:PORT`, without the password.
        server: String,
        /// The client's error.
        #[source]
        source: RedisError,
    },
    /// A Redis request failed, or its reply was not what the command returns.
    #[error("Redis queue: {operation} failed")]
    Redis {
        /// The command or step that failed.
        operation: &'static str,
        /// The client's error.
        #[source]
        source: RedisError,
    },
    /// The domain list could not be read.
    #[error("cannot read the domain list")]
    Input(#[source] std::io::Error),
}

fn redis_error(operation: &'static str) -> impl Fn(RedisError) -> QueueError {
    move |source| QueueError::Redis { operation, source }
}

/// The names of a queue's keys.
#[derive(Clone, Debug)]
struct Keys {
    tasks: String,
    results: String,
    answered: String,
    enqueued: String,
    closed: String,
}

impl Keys {
    fn new(name: &str) -> Self {
        let key = |part: &str| format!("mxsec:scan:{name}:{part}");
        Self {
            tasks: key("tasks"),
            results: key("results"),
            answered: key("answered"),
            enqueued: key("enqueued"),
            closed: key("closed"),
        }
    }
}

/// A queue of domains on a Redis server.
#[derive(Clone)]
pub struct Queue {
    client: Client,
    conn: ConnectionManager,
    name: String,
    keys: Keys,
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection (and its URL, which may hold a password) is left out.
        f.debug_struct("Queue")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// How far a queue is, at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueState {
    /// Domains put on the queue.
    pub enqueued: u64,
    /// Domains with a result.
    pub answered: u64,
    /// Whether the enqueuing has ended, so that `enqueued` is final.
    pub closed: bool,
}

impl QueueState {
    /// Whether every domain of a closed queue has its result.
    pub fn finished(&self) -> bool {
        self.closed && self.answered >= self.enqueued
    }
}

/// What [`Queue::enqueue`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnqueueCounts {
    /// Domains put on the queue.
    pub enqueued: u64,
    /// Domains skipped because the results of a previous run hold them.
    pub skipped: u64,
}

impl Queue {
    /// Connects to the Redis server at `url` (`redis://[:PASSWORD@]HOST:PORT/DB`, or
    /// `rediss://` for TLS, verified against the system's trust anchors) and uses the queue
    /// `name` on it.
    ///
    /// # Errors
    ///
    /// As for [`Queue::connect_tls`].
    pub async fn connect(url: &str, name: &str) -> Result<Self, QueueError> {
        Self::connect_tls(url, name, &RedisTls::default()).await
    }

    /// Connects to the Redis server at `url` with the TLS settings `tls` (a CA file, a client
    /// certificate; for a `rediss://` URL only) and uses the queue `name` on it.
    ///
    /// # Errors
    ///
    /// [`QueueError::Client`] if the URL or the TLS settings are invalid,
    /// [`QueueError::Connect`] if the server cannot be reached or its certificate is refused,
    /// [`QueueError::Redis`] if it does not answer.
    pub async fn connect_tls(url: &str, name: &str, tls: &RedisTls) -> Result<Self, QueueError> {
        let client = redis_client::client(url, tls).map_err(QueueError::Client)?;
        let conn = manager(&client, TIMEOUT).await?;
        redis::cmd("PING")
            .exec_async(&mut conn.clone())
            .await
            .map_err(redis_error("PING"))?;
        Ok(Self {
            client,
            conn,
            name: name.to_owned(),
            keys: Keys::new(name),
        })
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A second connection, for blocking reads, which would hold up every other request on
    /// the shared one.
    async fn blocking_connection(&self) -> Result<ConnectionManager, QueueError> {
        manager(&self.client, TIMEOUT + BLOCK).await
    }

    /// Puts every domain of `inputs` that `done` does not hold on the queue, in batches of
    /// one transaction each, then closes the queue. The queue is reopened first, so that
    /// workers and the collector wait for this run's domains too.
    ///
    /// # Errors
    ///
    /// [`QueueError::Input`] when the list cannot be read (the domains before the error stay
    /// on the queue, which stays open), [`QueueError::Redis`] when Redis fails.
    pub async fn enqueue<S>(&self, inputs: S, done: &Done) -> Result<EnqueueCounts, QueueError>
    where
        S: Stream<Item = std::io::Result<String>>,
    {
        let mut conn = self.conn.clone();
        redis::cmd("DEL")
            .arg(&self.keys.closed)
            .exec_async(&mut conn)
            .await
            .map_err(redis_error("DEL (reopen)"))?;
        let mut counts = EnqueueCounts::default();
        let mut batches = std::pin::pin!(inputs.chunks(ENQUEUE_BATCH));
        while let Some(batch) = batches.next().await {
            let mut pipe = redis::pipe();
            pipe.atomic();
            let mut added = 0u64;
            for line in batch {
                let line = line.map_err(QueueError::Input)?;
                if answered(done, &line) {
                    counts.skipped += 1;
                    continue;
                }
                pipe.cmd("XADD")
                    .arg(&self.keys.tasks)
                    .arg("*")
                    .arg("domain")
                    .arg(line)
                    .ignore();
                added += 1;
            }
            if added == 0 {
                continue;
            }
            pipe.cmd("INCRBY")
                .arg(&self.keys.enqueued)
                .arg(added)
                .ignore();
            pipe.exec_async(&mut conn)
                .await
                .map_err(redis_error("XADD (enqueue)"))?;
            counts.enqueued += added;
        }
        redis::cmd("SET")
            .arg(&self.keys.closed)
            .arg(1)
            .exec_async(&mut conn)
            .await
            .map_err(redis_error("SET (close)"))?;
        Ok(counts)
    }

    /// How far the queue is.
    ///
    /// # Errors
    ///
    /// [`QueueError::Redis`] when Redis fails.
    pub async fn state(&self) -> Result<QueueState, QueueError> {
        let (enqueued, answered, closed): (Option<u64>, u64, bool) = redis::pipe()
            .cmd("GET")
            .arg(&self.keys.enqueued)
            .cmd("HLEN")
            .arg(&self.keys.answered)
            .cmd("EXISTS")
            .arg(&self.keys.closed)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("GET (state)"))?;
        Ok(QueueState {
            enqueued: enqueued.unwrap_or(0),
            answered,
            closed,
        })
    }
}

/// A connection that reconnects by itself, whose replies may take `response` at most.
async fn manager(client: &Client, response: Duration) -> Result<ConnectionManager, QueueError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(response))
        .set_number_of_retries(RECONNECT_ATTEMPTS)
        .set_max_delay(RECONNECT_MAX_DELAY);
    ConnectionManager::new_with_config(client.clone(), config)
        .await
        .map_err(|source| QueueError::Connect {
            server: redis_client::server(client),
            source,
        })
}

/// One stream entry as Redis returns it: its id and its fields and values, alternating.
type Entry = (String, Vec<String>);

/// The value of `field` in the fields of an entry.
fn field<'a>(fields: &'a [String], name: &str) -> Option<&'a str> {
    fields
        .chunks_exact(2)
        .find(|pair| pair[0] == name)
        .map(|pair| pair[1].as_str())
}

/// A duration in whole milliseconds, as Redis takes it.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
