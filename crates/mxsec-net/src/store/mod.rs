//! Stores that keep MTA-STS policies across restarts and across a fleet of MTAs.
//!
//! MTA-STS protects mail only as well as the sender remembers policies: a cached `enforce`
//! policy must survive DNS and HTTPS failures until it expires (RFC 8461 §3.3, STS-FETCH-07),
//! and a restart of the daemon must not forget it. A [`PolicyStore`] keeps one
//! [`CacheEntry`] per policy domain; the rules about what an entry means (live, due for
//! refresh, in its retry wait) are the pure functions of [`mxsec_proto::mta_sts::cache`].
//!
//! Two back ends implement the same trait and pass the same test suite:
//!
//! - [`SqliteStore`]: an embedded SQLite file, the default. WAL journal, one dedicated
//!   database thread, and every write durable on disk before `update` returns. An update
//!   reads and writes in one `BEGIN IMMEDIATE` transaction.
//! - [`RedisStore`]: a Redis server shared by several MTAs, keys under a prefix, each entry
//!   expiring by itself when its policy's `max_age` has passed. An update is a compare and
//!   swap (a Lua script writes only if the entry is still the one read), retried.
//!
//! Times are Unix seconds passed in by the caller, as everywhere in mxsec, so that tests
//! control the clock.
//!
//! # Capacity
//!
//! Measured with the shared test suite's 100,000-entry test (2 shared cores under load, debug
//! build with dependencies at `opt-level = 1`, 256 requests in flight; an update reads the
//! entry and writes it):
//!
//! | back end | update | get | size |
//! |---|---|---|---|
//! | SQLite | 17,000–22,000/s | 25,000–28,000/s | 29.7 MB file + 4.3 MB WAL (about 300 bytes per entry) |
//! | Redis (local `redis-server`) | 13,000–17,000/s (`GET` + `EVAL`) | 23,000–28,000/s | in memory |
//!
//! SQLite reaches that rate because concurrent updates share one commit; one update at a time
//! waits for its own `fsync`, about 130/s on the same machine. A daemon writes once per
//! policy fetch or refresh, so either is far beyond need.

mod codec;
mod redis;
pub mod reports;
mod sqlite;

use std::path::PathBuf;
use std::sync::Arc;

use mxsec_proto::mta_sts::cache::CacheEntry;
use mxsec_proto::name::DomainName;

pub use self::redis::RedisStore;
pub use self::reports::{ReportBatch, ReportStore};
pub use self::sqlite::SqliteStore;

/// A change to one stored entry, made by [`PolicyStore::update`]: typically
/// `move |entry| { entry.record(&outcome); }` with a fetch's
/// [`FetchRecord`](mxsec_proto::mta_sts::cache::FetchRecord).
///
/// It may be called more than once (a store retries when another writer changed the entry
/// first), so it must depend on nothing but the entry it is given.
pub type Change = Box<dyn Fn(&mut CacheEntry) + Send + Sync>;

/// A persistent map from policy domain to [`CacheEntry`].
///
/// An entry is kept until [`CacheEntry::expires_at`]: its policy's `max_age` has passed and
/// any retry wait is over (RFC 8461 §3.2, STS-POL-06). Stores never decide whether a policy
/// replaces another, and never replace an entry wholesale: every write is an
/// [`update`](PolicyStore::update), a read-modify-write of the entry as stored at that moment,
/// so that a lookup, a refresh and the other MTAs of a fleet that write the same domain at
/// once each add their outcome and none undoes another's (STS-FETCH-07).
#[async_trait::async_trait]
pub trait PolicyStore: Send + Sync {
    /// The entry for `domain`, unless there is none or it has expired at `now`.
    ///
    /// # Errors
    ///
    /// Fails if the store cannot be read or holds a record it cannot decode.
    async fn get(&self, domain: &DomainName, now: u64) -> Result<Option<CacheEntry>, StoreError>;

    /// Applies `change` to the entry for `domain` as stored now (an empty entry when there is
    /// none, or it has expired at `now`), stores the result and returns it, atomically: no
    /// other write to the entry, from this process or another, falls between the read and the
    /// write. When the result holds nothing of use at `now` (it has expired, or is empty, as
    /// after recording a policy with `max_age: 0`), the stored entry is deleted instead.
    ///
    /// `change` must leave the entry's domain as it is.
    ///
    /// # Errors
    ///
    /// Fails if the store cannot be read or written, if the stored record cannot be decoded
    /// (it is then left as it is: what cannot be read is never overwritten), or, for a shared
    /// store, if other writers kept changing the entry ([`StoreError::Contended`]). Nothing
    /// is then known to be stored.
    async fn update(
        &self,
        domain: &DomainName,
        now: u64,
        change: Change,
    ) -> Result<CacheEntry, StoreError>;

    /// Deletes the entry for `domain`. Returns whether there was one.
    ///
    /// # Errors
    ///
    /// Fails if the store cannot be written.
    async fn delete(&self, domain: &DomainName) -> Result<bool, StoreError>;

    /// Up to `limit` entries whose policy is live at `now` and due for its proactive refresh
    /// ([`CacheEntry::refresh_at`] at or before `now`), the longest overdue first
    /// (RFC 8461 §3.3, STS-FETCH-08).
    ///
    /// # Errors
    ///
    /// Fails if the store cannot be read or holds a record it cannot decode.
    async fn due_for_refresh(&self, now: u64, limit: usize) -> Result<Vec<CacheEntry>, StoreError>;

    /// The number of entries not expired at `now`.
    ///
    /// # Errors
    ///
    /// Fails if the store cannot be read.
    async fn count(&self, now: u64) -> Result<u64, StoreError>;

    /// Deletes every entry expired at `now`; returns how many were deleted.
    ///
    /// # Errors
    ///
    /// Fails if the store cannot be written.
    async fn purge_expired(&self, now: u64) -> Result<u64, StoreError>;
}

/// Why a policy store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The SQLite file is read-only (by its permissions or its file system).
    #[error(
        "policy store {path} is read-only: mxsec must write it; make the file and its \
         directory writable by the mxsec user, or choose another store path"
    )]
    ReadOnly {
        /// The store file.
        path: PathBuf,
    },
    /// The SQLite file is not a database, or is damaged.
    #[error(
        "policy store {path} is damaged ({detail}): move it aside and restart; the cache \
         refills from DNS and HTTPS as mail is sent"
    )]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// What SQLite reported.
        detail: String,
    },
    /// The SQLite file holds tables, but not those of an mxsec policy store.
    #[error("{path} is not an mxsec policy store (it holds other tables): choose another path")]
    NotAStore {
        /// The file.
        path: PathBuf,
    },
    /// The SQLite file was written by a newer mxsec with a schema this one does not know.
    #[error(
        "policy store {path} has schema version {found}, but this mxsec understands only up \
         to {supported}: upgrade mxsec, or choose another store path"
    )]
    NewerSchema {
        /// The store file.
        path: PathBuf,
        /// The schema version found in the file.
        found: i64,
        /// The newest schema version this build understands.
        supported: i64,
    },
    /// Any other SQLite failure (I/O error, disk full, lock held by another process).
    #[error("policy store {path}: database error")]
    Sqlite {
        /// The store file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: Arc<rusqlite::Error>,
    },
    /// The database thread of the SQLite store could not be started.
    #[error("policy store {path}: cannot start the database thread")]
    Thread {
        /// The store file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The database thread of the SQLite store has stopped.
    #[error("policy store {path}: the database thread has stopped")]
    Stopped {
        /// The store file.
        path: PathBuf,
    },
    /// The Redis client cannot be built from the URL and the TLS settings.
    #[error("Redis policy store")]
    RedisClient(#[source] crate::redis_client::RedisClientError),
    /// The Redis server could not be reached: no connection, or the TLS handshake failed
    /// (a certificate that the trust anchors do not verify, or that does not name the host).
    #[error("Redis policy store: cannot connect to {server}")]
    RedisConnect {
        /// `rediss://HOST:PORT` or `redis://HOST:PORT`, without the password.
        server: String,
        /// The Redis client error.
        #[source]
        source: ::redis::RedisError,
    },
    /// The Redis server refused a command, or the connection broke.
    #[error("Redis policy store: {operation} failed")]
    Redis {
        /// What the store was doing.
        operation: &'static str,
        /// The Redis client error.
        #[source]
        source: ::redis::RedisError,
    },
    /// Other writers changed the entry between each read and write of an update, as many
    /// times as the store tries.
    #[error("policy store record {key:?} kept changing during {attempts} attempts to update it")]
    Contended {
        /// The record's key.
        key: String,
        /// How many times the update was tried.
        attempts: usize,
    },
    /// A stored record cannot be decoded: written by something else, or damaged.
    #[error("policy store record {key:?} cannot be read: {problem}; delete it to refetch")]
    InvalidRecord {
        /// The record's key (the domain, or the Redis key).
        key: String,
        /// What is wrong with it.
        problem: RecordProblem,
    },
}

/// What is wrong with a stored record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordProblem {
    /// The domain is not a valid domain name.
    #[error("invalid domain name {0:?}")]
    Domain(String),
    /// The policy id is not 1 to 32 letters and digits (STS-TXT-03).
    #[error("invalid policy id {0:?}")]
    PolicyId(String),
    /// The stored policy body is not a valid policy (any more).
    #[error("the stored policy is invalid")]
    Policy(#[source] mxsec_proto::mta_sts::policy::PolicyError),
    /// A time or count is negative or out of range.
    #[error("{field} out of range: {value}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// Its stored value.
        value: i64,
    },
    /// Some, but not all, of the policy's fields are present.
    #[error("policy fields are only partly present")]
    PartialPolicy,
    /// The JSON encoding is invalid.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The record format version is unknown.
    #[error("unknown record version {0}")]
    Version(u32),
}

#[cfg(test)]
mod tests;
