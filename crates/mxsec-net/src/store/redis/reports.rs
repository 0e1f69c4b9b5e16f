//! The TLS-RPT records in the Redis store, under the store's prefix:
//!
//! - `<prefix>tlsrpt:day:<YYYY-MM-DD>:<domain>`: a [`DayRecord`] as JSON;
//! - `<prefix>tlsrpt:domains:<YYYY-MM-DD>`: the set of domains with a record that day;
//! - `<prefix>tlsrpt:days`: a sorted set of the days with records, scored by Julian day;
//! - `<prefix>tlsrpt:position:<source>`: where reading the log `source` resumes;
//! - `<prefix>tlsrpt:delivery:<YYYY-MM-DD>`: a hash from domain to the [`DeliveryState`] of
//!   its report of that day, as JSON, swapped by a Lua script that checks the field still
//!   holds what was read.
//!
//! Day and delivery keys expire by themselves after [`DAY_TTL`]. A batch is read with `MGET`, changed in
//! Rust, and written with a Lua script that checks every key still holds what was read (a
//! compare and swap of all of them and the position at once, retried when another MTA wrote
//! first), as the policy entries are.

use std::collections::BTreeMap;

use mxsec_proto::name::DomainName;
use mxsec_proto::tlsrpt::day_record::DayRecord;
use mxsec_proto::tlsrpt::outbox::DeliveryState;
use time::Date;

use super::super::codec;
use super::super::reports::{
    day_key, decode, decode_delivery, encode, encode_delivery, ReportBatch, ReportStore,
    MAX_DOMAINS_PER_DAY,
};
use super::super::StoreError;
use super::{redis_error, RedisStore, UPDATE_ATTEMPTS};

/// How long a day's records are kept, in seconds (eight days: the day, a day of delivery
/// retries, and a week for `mxsec tlsrpt report --date`).
pub(super) const DAY_TTL: u64 = 8 * 86_400;

/// The write half of [`ReportStore::apply`].
///
/// `KEYS`: the day keys, then the position key if any. `ARGV`: the number of day keys, the
/// TTL, the most domains per day, the days index; then per day key: `1` if a value was read,
/// the value read, the new value, the day's domain set, the domain, the day, its Julian day;
/// then the position. Returns 1 if every key held what was read and all was written, else 0.
const APPLY_SCRIPT: &str = "
local n = tonumber(ARGV[1])
for i = 1, n do
  local at = 4 + (i - 1) * 7
  local current = redis.call('GET', KEYS[i])
  if ARGV[at + 1] == '1' then
    if current ~= ARGV[at + 2] then return 0 end
  elseif current then
    return 0
  end
end
for i = 1, n do
  local at = 4 + (i - 1) * 7
  local set = ARGV[at + 4]
  if ARGV[at + 1] == '1' or redis.call('SCARD', set) < tonumber(ARGV[3]) then
    redis.call('SET', KEYS[i], ARGV[at + 3], 'EX', ARGV[2])
    redis.call('SADD', set, ARGV[at + 5])
    redis.call('EXPIRE', set, ARGV[2])
    redis.call('ZADD', ARGV[4], ARGV[at + 7], ARGV[at + 6])
  end
end
if #KEYS > n then
  redis.call('SET', KEYS[n + 1], ARGV[4 + n * 7 + 1])
end
return 1
";

/// Deletes the days scored below `ARGV[1]` in the index `KEYS[1]`, with their domain sets
/// (`ARGV[2] .. day`), records (`ARGV[3] .. day .. ':' .. domain`) and delivery states
/// (`ARGV[4] .. day`). Returns how many records were deleted.
const FORGET_SCRIPT: &str = "
local days = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local n = 0
for _, day in ipairs(days) do
  local set = ARGV[2] .. day
  for _, domain in ipairs(redis.call('SMEMBERS', set)) do
    n = n + redis.call('DEL', ARGV[3] .. day .. ':' .. domain)
  end
  redis.call('DEL', set)
  redis.call('DEL', ARGV[4] .. day)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
return n
";

/// Swaps one delivery state: `KEYS[1]` is the day's hash; `ARGV`: the domain, `1` if a state
/// was read, the state read, the new state, the TTL, the most domains per day. Returns 1 if
/// the field still held what was read (and a new field fits) and was written, else 0.
const SWAP_DELIVERY_SCRIPT: &str = "
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  if current ~= ARGV[3] then return 0 end
elseif current then
  return 0
elseif redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[6]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
";

impl RedisStore {
    fn delivery_key(&self, day: &str) -> String {
        format!("{}tlsrpt:delivery:{day}", self.prefix)
    }

    fn day_key(&self, day: &str, domain: &str) -> String {
        format!("{}tlsrpt:day:{day}:{domain}", self.prefix)
    }

    fn domains_key(&self, day: &str) -> String {
        format!("{}tlsrpt:domains:{day}", self.prefix)
    }

    fn days_key(&self) -> String {
        format!("{}tlsrpt:days", self.prefix)
    }

    fn position_key(&self, source: &str) -> String {
        format!("{}tlsrpt:position:{source}", self.prefix)
    }

    /// One attempt at a batch; `Ok(false)` when another writer came first.
    async fn try_apply(&self, batch: &ReportBatch) -> Result<bool, StoreError> {
        // The records the batch touches, each once, in a stable order.
        let mut records: BTreeMap<(String, String), (i32, Option<String>, DayRecord)> =
            BTreeMap::new();
        for (day, domain, _) in &batch.changes {
            records
                .entry((day_key(*day), domain.to_string()))
                .or_insert_with(|| (day.to_julian_day(), None, DayRecord::default()));
        }
        let keys: Vec<String> = records
            .keys()
            .map(|(day, domain)| self.day_key(day, domain))
            .collect();
        if !keys.is_empty() {
            let values: Vec<Option<String>> = ::redis::cmd("MGET")
                .arg(&keys)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(redis_error("MGET"))?;
            for ((slot, key), value) in records.values_mut().zip(&keys).zip(values) {
                if let Some(json) = value {
                    slot.2 = decode(key, &json)?;
                    slot.1 = Some(json);
                }
            }
        }
        for (day, domain, change) in &batch.changes {
            if let Some(slot) = records.get_mut(&(day_key(*day), domain.to_string())) {
                change(&mut slot.2);
            }
        }
        let mut invocation = ::redis::cmd("EVAL");
        invocation
            .arg(APPLY_SCRIPT)
            .arg(keys.len() + usize::from(batch.position.is_some()))
            .arg(&keys);
        if let Some((source, _)) = &batch.position {
            invocation.arg(self.position_key(source));
        }
        invocation
            .arg(keys.len())
            .arg(DAY_TTL)
            .arg(MAX_DOMAINS_PER_DAY)
            .arg(self.days_key());
        for ((day, domain), (julian, read, record)) in &records {
            invocation
                .arg(u8::from(read.is_some()))
                .arg(read.as_deref().unwrap_or_default())
                .arg(encode(record)?)
                .arg(self.domains_key(day))
                .arg(domain)
                .arg(day)
                .arg(julian);
        }
        if let Some((_, position)) = &batch.position {
            invocation.arg(position);
        }
        let applied: u8 = invocation
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("EVAL (tlsrpt)"))?;
        Ok(applied == 1)
    }
}

#[async_trait::async_trait]
impl ReportStore for RedisStore {
    async fn apply(&self, batch: ReportBatch) -> Result<(), StoreError> {
        for _ in 0..UPDATE_ATTEMPTS {
            if self.try_apply(&batch).await? {
                return Ok(());
            }
        }
        Err(StoreError::Contended {
            key: self.days_key(),
            attempts: UPDATE_ATTEMPTS,
        })
    }

    async fn day(&self, day: Date) -> Result<Vec<(DomainName, DayRecord)>, StoreError> {
        let day = day_key(day);
        let mut domains: Vec<String> = ::redis::cmd("SMEMBERS")
            .arg(self.domains_key(&day))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("SMEMBERS"))?;
        domains.sort();
        if domains.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = domains.iter().map(|d| self.day_key(&day, d)).collect();
        let values: Vec<Option<String>> = ::redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("MGET"))?;
        let mut out = Vec::with_capacity(values.len());
        for ((domain, key), value) in domains.iter().zip(&keys).zip(values) {
            if let Some(json) = value {
                out.push((codec::domain(key, domain)?, decode(key, &json)?));
            }
        }
        Ok(out)
    }

    async fn position(&self, source: &str) -> Result<Option<String>, StoreError> {
        ::redis::cmd("GET")
            .arg(self.position_key(source))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("GET"))
    }

    async fn forget_days_before(&self, day: Date) -> Result<u64, StoreError> {
        ::redis::cmd("EVAL")
            .arg(FORGET_SCRIPT)
            .arg(1)
            .arg(self.days_key())
            .arg(day.to_julian_day())
            .arg(format!("{}tlsrpt:domains:", self.prefix))
            .arg(format!("{}tlsrpt:day:", self.prefix))
            .arg(format!("{}tlsrpt:delivery:", self.prefix))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("EVAL (tlsrpt forget)"))
    }

    async fn deliveries(&self, day: Date) -> Result<Vec<(DomainName, DeliveryState)>, StoreError> {
        let key = self.delivery_key(&day_key(day));
        let fields: BTreeMap<String, String> = ::redis::cmd("HGETALL")
            .arg(&key)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("HGETALL"))?;
        fields
            .into_iter()
            .map(|(domain, json)| {
                let field = format!("{key} {domain}");
                Ok((
                    codec::domain(&field, &domain)?,
                    decode_delivery(&field, &json)?,
                ))
            })
            .collect()
    }

    async fn swap_delivery(
        &self,
        day: Date,
        domain: &DomainName,
        expected: Option<&DeliveryState>,
        new: &DeliveryState,
    ) -> Result<bool, StoreError> {
        let read = expected.map(encode_delivery).transpose()?;
        let swapped: u8 = ::redis::cmd("EVAL")
            .arg(SWAP_DELIVERY_SCRIPT)
            .arg(1)
            .arg(self.delivery_key(&day_key(day)))
            .arg(domain.as_str())
            .arg(u8::from(read.is_some()))
            .arg(read.unwrap_or_default())
            .arg(encode_delivery(new)?)
            .arg(DAY_TTL)
            .arg(MAX_DOMAINS_PER_DAY)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error("EVAL (tlsrpt delivery)"))?;
        Ok(swapped == 1)
    }
}
