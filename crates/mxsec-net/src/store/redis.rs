//! The Redis policy store, shared by a fleet of MTAs.
//!
//! Keys live under a prefix chosen by the operator (for example `mxsec:sts:`), so that one
//! Redis server can serve other programs and several independent mxsec fleets:
//!
//! - `<prefix>policy:<domain>`: the entry as JSON, with a time to live equal to what remains
//!   of its `max_age` (or of its retry wait), so Redis forgets expired policies by itself;
//! - `<prefix>refresh`: a sorted set of domains whose entry holds a policy, scored by when
//!   its proactive refresh is due (RFC 8461 §3.3, STS-FETCH-08);
//! - `<prefix>expiry`: a sorted set of all domains, scored by when their entry expires, for
//!   [`PolicyStore::count`] and [`PolicyStore::purge_expired`].
//!
//! A key and its two index entries change together, atomically: an update reads the key,
//! merges in Rust, and writes with a Lua script that checks the key still holds what was read
//! (a compare and swap, retried when another MTA wrote first). The connection is a
//! [`ConnectionManager`], which multiplexes requests on one connection and reconnects after
//! the server restarts or the connection breaks.

use std::fmt;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::RedisError;
use mxsec_proto::mta_sts::cache::CacheEntry;
use mxsec_proto::name::DomainName;

use crate::redis_client::{self, RedisTls};

use super::codec::{entry_from_json, entry_to_json};
use super::{Change, PolicyStore, StoreError};

mod reports;

/// How long to wait for a connection, and for each reply, before failing the request.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Reconnection attempts within one request after the connection broke, and the longest
/// pause between them. The client's defaults (six attempts, exponential from 100 ms) make
/// every request wait about ten seconds while the server is down; with these a request
/// fails within about a second, so the caller can fetch or defer at once, and the next
/// request tries to reconnect again.
const RECONNECT_ATTEMPTS: usize = 2;
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(500);

/// Removes the entries expired at `ARGV[1]`: their keys (`ARGV[2]` .. domain) and their
/// members of the refresh (`KEYS[2]`) and expiry (`KEYS[1]`) sets, atomically, so that an
/// entry stored meanwhile by another MTA is never removed. Returns how many were removed.
const PURGE_SCRIPT: &str = "
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, member in ipairs(members) do
  redis.call('DEL', ARGV[2] .. member)
  redis.call('ZREM', KEYS[2], member)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return #members
";

/// How many times an update reads, changes and tries to swap an entry that other writers keep
/// changing, before it gives up ([`StoreError::Contended`]). Each round lets at least one
/// writer through, so this many writers of one domain at once all succeed.
const UPDATE_ATTEMPTS: usize = 16;

/// The write half of an update: a compare and swap of one entry.
///
/// `KEYS`: the entry's key, the expiry set, the refresh set. `ARGV`: the domain; `1` if the
/// caller read a value, and that value; the new value (empty: delete the entry), its time to
/// live, its expiry time, and its refresh time (empty: none). Returns 1 if the key still
/// held what the caller read and was written, 0 if another writer changed it meanwhile.
///
/// The merge itself (the rules of [`CacheEntry::record`]) runs in Rust between the `GET` and
/// this script. `WATCH` would do the same job, but it is state of the connection, and the
/// store multiplexes every request on one connection: a concurrent request's commands would
/// fall between `WATCH` and `EXEC`.
const SWAP_SCRIPT: &str = "
local current = redis.call('GET', KEYS[1])
if ARGV[2] == '1' then
  if current ~= ARGV[3] then return 0 end
elseif current then
  return 0
end
if ARGV[4] == '' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 1
end
redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
if ARGV[7] == '' then
  redis.call('ZREM', KEYS[3], ARGV[1])
else
  redis.call('ZADD', KEYS[3], ARGV[7], ARGV[1])
end
return 1
";

/// A [`PolicyStore`] on a Redis server.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection (and its URL, which may hold a password) is left out.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the Redis server at `url` (`redis://host:port/db`, or
    /// `rediss://host:port/db` for TLS, verified against the system's trust anchors) and
    /// keeps its keys under `prefix`.
    ///
    /// # Errors
    ///
    /// As for [`RedisStore::connect_tls`].
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        Self::connect_tls(url, prefix, &RedisTls::default()).await
    }

    /// Connects to the Redis server at `url` with the TLS settings `tls` (a CA file, a client
    /// certificate; for a `rediss://` URL only) and keeps its keys under `prefix`.
    ///
    /// # Errors
    ///
    /// [`StoreError::RedisClient`] if the URL or the TLS settings are invalid,
    /// [`StoreError::RedisConnect`] if the server cannot be reached or its certificate is
    /// refused, [`StoreError::Redis`] if it does not answer: a configured store that does
    /// not work is an error at start, never a silent fallback.
    pub async fn connect_tls(url: &str, prefix: &str, tls: &RedisTls) -> Result<Self, StoreError> {
        let client = redis_client::client(url, tls).map_err(StoreError::RedisClient)?;
        let server = redis_client::server(&client);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(RECONNECT_ATTEMPTS)
            .set_max_delay(RECONNECT_MAX_DELAY);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|source| StoreError::RedisConnect { server, source })?;
        let store = Self {
            conn,
            prefix: prefix.to_owned(),
        };
        ::redis::cmd("PING")
            .exec_async(&mut store.conn.clone())
            .await
            .map_err(redis_error("PING"))?;
        Ok(store)
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Writes `entry` (or deletes the key when it holds nothing of use at `now`) with its
    /// index entries, if the key still holds `expected` (`None`: no key). Returns whether it
    /// did.
    async fn swap(
        &self,
        domain: &DomainName,
        key: &str,
        expected: Option<&str>,
        entry: &CacheEntry,
        now: u64,
    ) -> Result<bool, StoreError> {
        // Redis keeps compiled scripts by their digest, so sending the text each time costs
        // only its bytes.
        let mut invocation = ::redis::cmd("EVAL");
        invocation
            .arg(SWAP_SCRIPT)
            .arg(3)
            .arg(key)
            .arg(self.expiry_key())
            .arg(self.refresh_key())
            .arg(domain.as_str())
            .arg(u8::from(expected.is_some()))
            .arg(expected.unwrap_or_default());
        match entry.expires_at().filter(|&at| at > now) {
            Some(expires_at) => invocation
                .arg(entry_to_json(entry)?)
                .arg(expires_at - now)
                .arg(expires_at)
                .arg(
                    entry
                        .refresh_at()
                        .map_or_else(String::new, |at| at.to_string()),
                ),
            None => invocation.arg("").arg(0).arg(0).arg(""),
        };
        let swapped: u8 = invocation
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("EVAL (update)"))?;
        Ok(swapped == 1)
    }

    fn policy_key(&self, domain: &str) -> String {
        format!("{}policy:{domain}", self.prefix)
    }

    fn refresh_key(&self) -> String {
        format!("{}refresh", self.prefix)
    }

    fn expiry_key(&self) -> String {
        format!("{}expiry", self.prefix)
    }
}

#[async_trait::async_trait]
impl PolicyStore for RedisStore {
    async fn get(&self, domain: &DomainName, now: u64) -> Result<Option<CacheEntry>, StoreError> {
        let key = self.policy_key(domain.as_str());
        let json: Option<String> = ::redis::cmd("GET")
            .arg(&key)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("GET"))?;
        let Some(json) = json else {
            return Ok(None);
        };
        let entry = entry_from_json(&key, &json)?;
        Ok(entry
            .expires_at()
            .is_some_and(|at| at > now)
            .then_some(entry))
    }

    async fn update(
        &self,
        domain: &DomainName,
        now: u64,
        change: Change,
    ) -> Result<CacheEntry, StoreError> {
        let key = self.policy_key(domain.as_str());
        for _ in 0..UPDATE_ATTEMPTS {
            let stored: Option<String> = ::redis::cmd("GET")
                .arg(&key)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(redis_error("GET"))?;
            let mut entry = match &stored {
                Some(json) => Some(entry_from_json(&key, json)?),
                None => None,
            }
            .filter(|entry| entry.expires_at().is_some_and(|at| at > now))
            .unwrap_or_else(|| CacheEntry::new(domain.clone()));
            change(&mut entry);
            if self
                .swap(domain, &key, stored.as_deref(), &entry, now)
                .await?
            {
                return Ok(entry);
            }
        }
        Err(StoreError::Contended {
            key,
            attempts: UPDATE_ATTEMPTS,
        })
    }

    async fn delete(&self, domain: &DomainName) -> Result<bool, StoreError> {
        let domain = domain.as_str();
        let (deleted,): (u64,) = ::redis::pipe()
            .atomic()
            .cmd("DEL")
            .arg(self.policy_key(domain))
            .cmd("ZREM")
            .arg(self.refresh_key())
            .arg(domain)
            .ignore()
            .cmd("ZREM")
            .arg(self.expiry_key())
            .arg(domain)
            .ignore()
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("DEL"))?;
        Ok(deleted > 0)
    }

    async fn due_for_refresh(&self, now: u64, limit: usize) -> Result<Vec<CacheEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let domains: Vec<String> = ::redis::cmd("ZRANGEBYSCORE")
            .arg(self.refresh_key())
            .arg("-inf")
            .arg(now)
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("ZRANGEBYSCORE"))?;
        if domains.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = domains.iter().map(|d| self.policy_key(d)).collect();
        let values: Vec<Option<String>> = ::redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("MGET"))?;
        let mut due = Vec::with_capacity(values.len());
        let mut stale = Vec::new();
        for ((domain, key), value) in domains.iter().zip(&keys).zip(values) {
            match value {
                Some(json) => {
                    let entry = entry_from_json(key, &json)?;
                    if entry.live_policy(now).is_some() {
                        due.push(entry);
                    } else {
                        stale.push(domain.as_str());
                    }
                }
                None => stale.push(domain.as_str()),
            }
        }
        // Domains whose key Redis has expired, or whose policy has expired while a retry
        // wait keeps the key, have nothing to refresh; a later update lists them again.
        if !stale.is_empty() {
            ::redis::pipe()
                .atomic()
                .cmd("ZREM")
                .arg(self.refresh_key())
                .arg(&stale)
                .ignore()
                .exec_async(&mut self.conn.clone())
                .await
                .map_err(redis_error("ZREM"))?;
        }
        Ok(due)
    }

    async fn count(&self, now: u64) -> Result<u64, StoreError> {
        ::redis::cmd("ZCOUNT")
            .arg(self.expiry_key())
            .arg(format!("({now}"))
            .arg("+inf")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("ZCOUNT"))
    }

    async fn purge_expired(&self, now: u64) -> Result<u64, StoreError> {
        ::redis::cmd("EVAL")
            .arg(PURGE_SCRIPT)
            .arg(2)
            .arg(self.expiry_key())
            .arg(self.refresh_key())
            .arg(now)
            .arg(self.policy_key(""))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("EVAL (purge)"))
    }
}

fn redis_error(operation: &'static str) -> impl Fn(RedisError) -> StoreError {
    move |source| StoreError::Redis { operation, source }
}
