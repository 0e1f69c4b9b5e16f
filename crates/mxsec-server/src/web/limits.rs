//! The per-client rate limit: a token bucket per client, where a client is an IPv4 address or
//! an IPv6 /64 (the smallest block one subscriber usually gets, so that a client cannot dodge
//! the limit by hopping addresses inside its own network).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The most clients tracked at once. When the table is full, clients whose bucket has
/// refilled are forgotten (they are indistinguishable from new ones); if none has, the
/// newcomer is refused until one does, so memory stays bounded under a flood of addresses.
const MAX_CLIENTS: usize = 65_536;

/// Token buckets per client.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Bucket size: the checks a client may start in a burst.
    burst: f64,
    /// Tokens added per second.
    per_second: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` checks per client per minute, all of them at once.
    pub(crate) fn per_minute(per_minute: u32) -> Self {
        let per_minute = f64::from(per_minute.max(1));
        Self {
            burst: per_minute,
            per_second: per_minute / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client` at `now`.
    ///
    /// # Errors
    ///
    /// The time until the client has a token again.
    pub(crate) fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let key = client_key(client);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&key) {
            buckets.retain(|_, b| self.refilled(*b, now) < self.burst);
            if buckets.len() >= MAX_CLIENTS {
                return Err(Duration::from_secs_f64(1.0 / self.per_second));
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let tokens = self.refilled(*bucket, now);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                updated: now,
            };
            Ok(())
        } else {
            *bucket = Bucket {
                tokens,
                updated: now,
            };
            Err(Duration::from_secs_f64((1.0 - tokens) / self.per_second))
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.burst)
    }
}

/// The key a client is counted under: its IPv4 address (also when written IPv4-mapped), or
/// the /64 of its IPv6 address.
fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(
                u128::from(v6) & 0xffff_ffff_ffff_ffff_0000_0000_0000_0000,
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_rate_limit_allows_a_burst_then_refills() {
        let limiter = RateLimiter::per_minute(3);
        let client: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.take(client, t0).unwrap();
        }
        let wait = limiter.take(client, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(20));
        // Another client is not affected.
        limiter.take("127.0.0.2".parse().unwrap(), t0).unwrap();
        // One token is back after 20 s.
        assert!(limiter.take(client, t0 + Duration::from_secs(10)).is_err());
        limiter.take(client, t0 + Duration::from_secs(20)).unwrap();
        assert!(limiter.take(client, t0 + Duration::from_secs(20)).is_err());
    }

    #[test]
    fn web_rate_limit_counts_an_ipv6_64_as_one_client() {
        let limiter = RateLimiter::per_minute(1);
        let t0 = Instant::now();
        limiter
            .take("2001:db8:1:2::1".parse().unwrap(), t0)
            .unwrap();
        assert!(limiter
            .take("2001:db8:1:2:ffff::99".parse().unwrap(), t0)
            .is_err());
        limiter
            .take("2001:db8:1:3::1".parse().unwrap(), t0)
            .unwrap();
        limiter.take("192.0.2.1".parse().unwrap(), t0).unwrap();
        assert!(limiter
            .take("::ffff:192.0.2.1".parse().unwrap(), t0)
            .is_err());
    }
}
