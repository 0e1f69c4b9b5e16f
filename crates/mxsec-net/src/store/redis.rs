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
//! A key and its two index entries change together, in one `MULTI`/`EXEC` transaction. The
//! connection is a [`ConnectionManager`], which multiplexes requests on one connection and
//! reconnects after the server restarts or the connection breaks.

use std::fmt;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError};
use mxsec_proto::mta_sts::cache::CacheEntry;
use mxsec_proto::name::DomainName;

use super::codec::{entry_from_json, entry_to_json};
use super::{PolicyStore, StoreError};

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
/// entry put meanwhile by another MTA is never removed. Returns how many were removed.
const PURGE_SCRIPT: &str = "
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, member in ipairs(members) do
  redis.call('DEL', ARGV[2] .. member)
  redis.call('ZREM', KEYS[2], member)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return #members
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
    /// Connects to the Redis server at `url` (`redis://host:port/db`, or `rediss://` for
    /// TLS) and keeps its keys under `prefix`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Redis`] if the URL is invalid or the server cannot be reached: a
    /// configured store that does not work is an error at start, never a silent fallback.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(redis_error("parse the URL"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(RECONNECT_ATTEMPTS)
            .set_max_delay(RECONNECT_MAX_DELAY);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(redis_error("connect"))?;
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

    async fn put(&self, entry: &CacheEntry, now: u64) -> Result<(), StoreError> {
        let Some(expires_at) = entry.expires_at().filter(|&at| at > now) else {
            self.delete(entry.domain()).await?;
            return Ok(());
        };
        let domain = entry.domain().as_str();
        let json = entry_to_json(entry)?;
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(self.policy_key(domain))
            .arg(json)
            .arg("EX")
            .arg(expires_at - now)
            .ignore()
            .cmd("ZADD")
            .arg(self.expiry_key())
            .arg(expires_at)
            .arg(domain)
            .ignore();
        match entry.refresh_at() {
            Some(refresh_at) => pipe
                .cmd("ZADD")
                .arg(self.refresh_key())
                .arg(refresh_at)
                .arg(domain)
                .ignore(),
            None => pipe
                .cmd("ZREM")
                .arg(self.refresh_key())
                .arg(domain)
                .ignore(),
        };
        pipe.exec_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("SET"))
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
        // wait keeps the key, have nothing to refresh; a later `put` lists them again.
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
