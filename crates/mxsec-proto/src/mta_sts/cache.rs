//! The rules for a cached MTA-STS policy: when to use it, refresh it, refetch it or retry.
//!
//! MTA-STS is "trust on first use" (RFC 8461 §10.2): the protection against an active attacker
//! who blocks the `_mta-sts` TXT lookup or the HTTPS fetch is the policy the sender already
//! holds. So a cached policy is applied until `max_age` has passed since it was fetched,
//! whatever DNS and HTTPS say in the meantime (STS-FETCH-07, STS-TXT-07), and it is replaced
//! only by a newer valid policy: a failed or invalid fetch never evicts it.
//!
//! Everything here is a pure function of a [`CacheEntry`] and `now` (Unix seconds). The daemon
//! and the resolver call [`CacheEntry::plan`] with what the TXT lookup found, act on the
//! returned [`Action`], describe the fetch's outcome as a [`FetchRecord`], apply it with
//! [`CacheEntry::record`] to the entry stored *when the fetch ends* (not the one read before
//! it started), and apply [`CacheEntry::live_policy`].
//!
//! A fetch outcome is a value so that it can be merged into whatever another lookup, a
//! refresh or another MTA of the fleet stored meanwhile. Merging never gives less:
//!
//! | the entry holds | the outcome | result |
//! |---|---|---|
//! | nothing, or a policy fetched no later | a valid policy | the new policy; its id's failure is cleared (STS-FETCH-07) |
//! | a policy fetched later | a valid policy | unchanged: an older fetch never replaces a newer one (STS-FETCH-07) |
//! | anything | a failed fetch | the policy is kept; the id waits five minutes (STS-FETCH-03, STS-FETCH-07) |
//! | the same id's policy, fetched at or after the failure | a failed fetch | unchanged: the failure is stale (STS-FETCH-03) |
//!
//! ```
//! use mxsec_proto::mta_sts::cache::{Action, CacheEntry, CachedPolicy, FetchFailure, FetchRecord, TxtLookup};
//! use mxsec_proto::mta_sts::PolicyId;
//! use mxsec_proto::name::DomainName;
//!
//! let domain = DomainName::parse("example.com").unwrap();
//! let id = PolicyId::parse("20240101").unwrap();
//! let mut entry = CacheEntry::new(domain);
//! let now = 1_700_000_000;
//!
//! // Nothing cached, the TXT record says id "20240101": fetch before answering.
//! let action = entry.plan(&TxtLookup::Record(id.clone()), now);
//! assert_eq!(action, Action::Fetch { id: id.clone() });
//! let body = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n";
//! let fetched = CachedPolicy::parse(id.clone(), body, now).unwrap();
//! assert!(entry.record(&FetchRecord::Fetched(fetched)));
//!
//! // A day later the TXT lookup fails: the cached policy still applies (STS-FETCH-07),
//! // and a proactive refresh is due (STS-FETCH-08).
//! let later = now + 86_400;
//! let action = entry.plan(&TxtLookup::LookupFailed, later);
//! assert_eq!(action, Action::UseCachedAndRefresh { id: id.clone() });
//! assert!(entry.record(&FetchRecord::Failed(FetchFailure::new(id.clone(), later))));
//! assert!(entry.live_policy(later).is_some());
//!
//! // After a failed fetch, no new attempt for five minutes (STS-FETCH-03).
//! assert_eq!(entry.plan(&TxtLookup::LookupFailed, later + 60), Action::UseCached);
//! ```

use crate::mta_sts::policy::{Mode, Policy, PolicyError};
use crate::mta_sts::record::PolicyId;
use crate::name::DomainName;

/// The shortest wait after a failed fetch before the same policy id is fetched again: five
/// minutes.
///
/// RFC 8461 §3.3 suggests that after a failed HTTPS GET, implementations limit further attempts
/// to a period of five minutes or longer per version id, so that a broken policy host is not
/// overwhelmed by cascading retries (STS-FETCH-03).
pub const FETCH_RETRY_INTERVAL: u64 = 300;

/// The most failed fetches an entry remembers at once, each for a different policy id.
///
/// Failures are kept only while their retry wait lasts (five minutes), so more than a few
/// means the TXT `id` is flapping; the oldest is forgotten first, which at worst allows one
/// early retry.
pub const MAX_FAILURES_KEPT: usize = 16;

/// How often a cached policy is refreshed proactively: once a day.
///
/// RFC 8461 §3.3 and §10.2: to resist persistent interference with policy refresh, senders
/// SHOULD refresh cached policies before they expire, about once per day, independently of
/// whether the TXT `id` changed (STS-FETCH-08). A policy whose `max_age` is two days or less is
/// refreshed at half its lifetime instead, so that a refresh is attempted, and can be retried,
/// before it expires.
pub const REFRESH_INTERVAL: u64 = 86_400;

/// A valid policy as fetched over HTTPS, with the TXT `id` it was fetched for and the time of
/// the fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedPolicy {
    id: PolicyId,
    body: String,
    policy: Policy,
    fetched_at: u64,
}

impl CachedPolicy {
    /// A policy fetched successfully at `fetched_at` (Unix seconds) for the TXT record `id`:
    /// `body` is the policy file as served and `policy` what [`Policy::parse`] made of it.
    ///
    /// Only a policy that parsed as valid can enter the cache: an invalid one is a failed
    /// fetch ([`CacheEntry::record_failure`]).
    pub fn new(id: PolicyId, body: impl Into<String>, policy: Policy, fetched_at: u64) -> Self {
        Self {
            id,
            body: body.into(),
            policy,
            fetched_at,
        }
    }

    /// Parses `body` and, if it is a valid policy, makes it a cached policy fetched at
    /// `fetched_at`; how a store rebuilds an entry from what it kept.
    ///
    /// # Errors
    ///
    /// The [`PolicyError`] of [`Policy::parse`].
    pub fn parse(
        id: PolicyId,
        body: impl Into<String>,
        fetched_at: u64,
    ) -> Result<Self, PolicyError> {
        let body = body.into();
        let policy = Policy::parse(body.as_bytes())?.into_value();
        Ok(Self::new(id, body, policy, fetched_at))
    }

    /// The `id` of the TXT record this policy was fetched for (STS-TXT-03).
    pub fn id(&self) -> &PolicyId {
        &self.id
    }

    /// The policy file as served by the policy host.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The parsed policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The policy mode.
    pub fn mode(&self) -> Mode {
        self.policy.mode
    }

    /// The policy's `max_age` in seconds, as clamped by the parser (STS-POL-06).
    pub fn max_age(&self) -> u64 {
        self.policy.max_age
    }

    /// When the policy was fetched, in Unix seconds.
    pub fn fetched_at(&self) -> u64 {
        self.fetched_at
    }

    /// The first moment (Unix seconds) at which the policy is no longer usable:
    /// `fetched_at + max_age` (RFC 8461 §3.2, STS-POL-06).
    pub fn expires_at(&self) -> u64 {
        self.fetched_at.saturating_add(self.max_age())
    }

    /// Whether the policy may still be applied at `now`: until `max_age` has passed since it
    /// was fetched, whatever DNS or HTTPS do meanwhile (RFC 8461 §3.3, STS-FETCH-07).
    pub fn is_live(&self, now: u64) -> bool {
        now < self.expires_at()
    }

    /// When a proactive refresh is due (Unix seconds): a day after the fetch, or half way to
    /// expiry when `max_age` is two days or less, but never sooner than
    /// [`FETCH_RETRY_INTERVAL`] after the fetch (RFC 8461 §3.3, STS-FETCH-08).
    pub fn refresh_at(&self) -> u64 {
        let interval = (self.max_age() / 2).clamp(FETCH_RETRY_INTERVAL, REFRESH_INTERVAL);
        self.fetched_at.saturating_add(interval)
    }

    /// Whether a failed refresh of this policy should be brought to an administrator's
    /// attention: yes, unless the cached mode is `none` (RFC 8461 §3.3, STS-FETCH-08).
    pub fn alerts_on_refresh_failure(&self) -> bool {
        self.mode() != Mode::None
    }
}

/// The outcome of one policy fetch, as it is recorded in a cache entry
/// ([`CacheEntry::record`]).
///
/// A value, not a change made to the entry read before the fetch, so that it can be applied to
/// the entry stored when the fetch ends: a concurrent lookup, a refresh or another MTA sharing
/// the store may have recorded a newer policy in the meantime, and that policy must survive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchRecord {
    /// A valid policy was fetched (RFC 8461 §3.3).
    Fetched(CachedPolicy),
    /// The fetch failed, or what was served is not a valid policy (STS-FETCH-03).
    Failed(FetchFailure),
}

/// A failed fetch (HTTPS error or invalid policy) of the policy with a given TXT `id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchFailure {
    id: PolicyId,
    at: u64,
}

impl FetchFailure {
    /// A fetch for the policy `id` failed at `at` (Unix seconds).
    pub fn new(id: PolicyId, at: u64) -> Self {
        Self { id, at }
    }

    /// The TXT `id` whose policy could not be fetched.
    pub fn id(&self) -> &PolicyId {
        &self.id
    }

    /// When the fetch failed, in Unix seconds.
    pub fn at(&self) -> u64 {
        self.at
    }

    /// The first moment (Unix seconds) at which the same `id` may be fetched again
    /// (STS-FETCH-03).
    pub fn retry_at(&self) -> u64 {
        self.at.saturating_add(FETCH_RETRY_INTERVAL)
    }

    /// Whether this failure forbids fetching the policy `id` at `now` (RFC 8461 §3.3,
    /// STS-FETCH-03): the same id, less than five minutes after the failure.
    pub fn blocks(&self, id: &PolicyId, now: u64) -> bool {
        self.id == *id && now < self.retry_at()
    }
}

/// What the `_mta-sts` TXT lookup found (RFC 8461 §3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxtLookup {
    /// Exactly one valid `v=STSv1` record, with this `id` (STS-TXT-05).
    Record(PolicyId),
    /// No usable record: none, several, or an invalid one (STS-TXT-05). There is no available
    /// policy to fetch, but a cached one is not evicted (STS-TXT-07).
    NoRecord,
    /// The lookup itself failed (timeout, SERVFAIL, bogus DNSSEC). A cached policy is not
    /// evicted (STS-FETCH-07).
    LookupFailed,
}

/// Why no MTA-STS policy applies.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoPolicyReason {
    /// No usable TXT record and no live cached policy (RFC 8461 §3.1, STS-TXT-05).
    NoRecord,
    /// The TXT lookup failed and no live cached policy exists (RFC 8461 §3.3, STS-FETCH-06).
    LookupFailed,
    /// The policy `id` could not be fetched less than five minutes ago and no live cached
    /// policy exists: deliver as if the domain had no MTA-STS (STS-FETCH-03, STS-FETCH-06).
    RetryWait {
        /// The TXT `id` whose fetch failed.
        id: PolicyId,
        /// When a new attempt is allowed, in Unix seconds.
        retry_at: u64,
    },
}

/// What to do now for one policy domain, as decided by [`CacheEntry::plan`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Action {
    /// No policy applies: deliver as though the domain had not implemented MTA-STS.
    NoPolicy(NoPolicyReason),
    /// Apply the cached policy ([`CacheEntry::live_policy`]); nothing to fetch.
    UseCached,
    /// Apply the cached policy now, and refresh it in the background by fetching the policy
    /// for `id` (RFC 8461 §3.3, STS-FETCH-08).
    UseCachedAndRefresh {
        /// The TXT `id` to record with the refreshed policy.
        id: PolicyId,
    },
    /// Fetch the policy for `id` before answering, record the outcome, then apply
    /// [`CacheEntry::live_policy`]: the new policy, or after a failed fetch the previous one if
    /// it is still live (RFC 8461 §3.3, STS-FETCH-06, STS-FETCH-07).
    Fetch {
        /// The TXT `id` the fetched policy will be recorded with.
        id: PolicyId,
    },
}

/// Everything the cache holds for one policy domain: the last valid policy, if any, and the
/// recent failed fetches, one per policy id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheEntry {
    domain: DomainName,
    policy: Option<CachedPolicy>,
    failures: Vec<FetchFailure>,
}

impl CacheEntry {
    /// An empty entry: nothing fetched yet for `domain`.
    pub fn new(domain: DomainName) -> Self {
        Self {
            domain,
            policy: None,
            failures: Vec::new(),
        }
    }

    /// An entry rebuilt from its parts, as a store keeps them.
    ///
    /// Of several failures for one id only the latest is kept, and at most
    /// [`MAX_FAILURES_KEPT`] of the latest failures.
    pub fn from_parts(
        domain: DomainName,
        policy: Option<CachedPolicy>,
        failures: Vec<FetchFailure>,
    ) -> Self {
        let mut entry = Self::new(domain);
        entry.policy = policy;
        for failure in failures {
            entry.push_failure(failure);
        }
        entry
    }

    /// The policy domain (RFC 8461 §3.4).
    pub fn domain(&self) -> &DomainName {
        &self.domain
    }

    /// The last valid policy fetched, live or not.
    pub fn policy(&self) -> Option<&CachedPolicy> {
        self.policy.as_ref()
    }

    /// The recent failed fetches, at most one per policy id, oldest first. A failure is
    /// forgotten once a fetch for its id succeeds.
    pub fn failures(&self) -> &[FetchFailure] {
        &self.failures
    }

    /// The policy to apply at `now`: the cached one while it is live, whatever DNS or HTTPS
    /// say (RFC 8461 §3.3, STS-FETCH-07, STS-TXT-07).
    pub fn live_policy(&self, now: u64) -> Option<&CachedPolicy> {
        self.policy.as_ref().filter(|p| p.is_live(now))
    }

    /// Whether the policy `id` may be fetched at `now` (RFC 8461 §3.3, STS-FETCH-03).
    pub fn may_fetch(&self, id: &PolicyId, now: u64) -> bool {
        !self.failures.iter().any(|f| f.blocks(id, now))
    }

    /// When the proactive refresh of the cached policy is due (Unix seconds), taking a recent
    /// failed fetch of the same id into account; `None` when nothing is cached
    /// (STS-FETCH-03, STS-FETCH-08).
    pub fn refresh_at(&self) -> Option<u64> {
        let policy = self.policy.as_ref()?;
        let retry_at = self
            .failure_for(&policy.id)
            .map_or(0, FetchFailure::retry_at);
        Some(policy.refresh_at().max(retry_at))
    }

    /// The first moment (Unix seconds) from which the entry holds nothing of use and may be
    /// forgotten: the policy has expired and the retry wait is over. `None` for an empty entry.
    pub fn expires_at(&self) -> Option<u64> {
        let policy = self.policy.as_ref().map(CachedPolicy::expires_at);
        let failure = self.failures.iter().map(FetchFailure::retry_at);
        policy.into_iter().chain(failure).max()
    }

    /// Decides what to do at `now`, given what the `_mta-sts` TXT lookup found.
    ///
    /// - A TXT `id` that differs from the cached policy's, or no live cached policy, means the
    ///   policy must be fetched before answering (RFC 8461 §3.3, §5.1), unless a fetch for that
    ///   id failed less than five minutes ago (STS-FETCH-03).
    /// - A live cached policy is applied whatever DNS says (STS-FETCH-07, STS-TXT-07), and is
    ///   refreshed in the background when due, independently of the TXT record
    ///   (STS-FETCH-08).
    /// - With neither, no policy applies (STS-FETCH-06, STS-TXT-05).
    pub fn plan(&self, txt: &TxtLookup, now: u64) -> Action {
        let live = self.live_policy(now);
        if let TxtLookup::Record(id) = txt {
            if live.is_none_or(|p| p.id != *id) {
                if self.may_fetch(id, now) {
                    return Action::Fetch { id: id.clone() };
                }
                if live.is_none() {
                    return Action::NoPolicy(NoPolicyReason::RetryWait {
                        id: id.clone(),
                        retry_at: self.failure_for(id).map_or(now, FetchFailure::retry_at),
                    });
                }
            }
        }
        match live {
            Some(policy) => {
                // Here the TXT record names the cached id, or none could be read, or it names
                // a new id whose fetch failed less than five minutes ago: the policy host is
                // then left alone until the retry wait is over.
                let id = match txt {
                    TxtLookup::Record(id) => id,
                    TxtLookup::NoRecord | TxtLookup::LookupFailed => &policy.id,
                };
                let due = self.refresh_at().is_some_and(|at| now >= at);
                if due && self.may_fetch(id, now) {
                    Action::UseCachedAndRefresh { id: id.clone() }
                } else {
                    Action::UseCached
                }
            }
            None => Action::NoPolicy(match txt {
                TxtLookup::LookupFailed => NoPolicyReason::LookupFailed,
                // A record with a retry wait and no live policy returned above.
                TxtLookup::NoRecord | TxtLookup::Record(_) => NoPolicyReason::NoRecord,
            }),
        }
    }

    /// Records the outcome of a fetch, merging it into this entry however the entry changed
    /// since the fetch started (see the table in the [module docs](self)).
    ///
    /// A valid policy is taken as by [`CacheEntry::record_success`]: never over a policy
    /// fetched later (STS-FETCH-07). A failure is recorded as by
    /// [`CacheEntry::record_failure`], unless the entry holds a policy of the same id fetched
    /// at or after the failure: that fetch succeeded since, so the failure is stale and must
    /// not start a retry wait (STS-FETCH-03). Returns whether the entry changed.
    pub fn record(&mut self, outcome: &FetchRecord) -> bool {
        match outcome {
            FetchRecord::Fetched(policy) => self.record_success(policy.clone()),
            FetchRecord::Failed(failure) => {
                let superseded = self
                    .policy
                    .as_ref()
                    .is_some_and(|p| p.id == failure.id && p.fetched_at >= failure.at);
                let known = self
                    .failure_for(&failure.id)
                    .is_some_and(|f| f.at >= failure.at);
                if superseded || known {
                    return false;
                }
                self.record_failure(&failure.id, failure.at);
                true
            }
        }
    }

    /// Records a successful fetch of a valid policy.
    ///
    /// The new policy replaces the cached one only if it is at least as recent (it was fetched
    /// no earlier), so that a slow fetch that finishes late, or a clock that stepped back,
    /// cannot bring back an older policy. A failure recorded for the same id no later than
    /// the fetch is cleared. Returns whether the policy was taken.
    pub fn record_success(&mut self, policy: CachedPolicy) -> bool {
        if self
            .policy
            .as_ref()
            .is_some_and(|old| old.fetched_at > policy.fetched_at)
        {
            return false;
        }
        self.failures
            .retain(|f| f.id != policy.id || f.at > policy.fetched_at);
        self.policy = Some(policy);
        true
    }

    /// Records a failed fetch (HTTPS error, or a policy that did not parse) of the policy `id`
    /// at `now`.
    ///
    /// The cached policy is kept: a failed or invalid fetch never evicts it (RFC 8461 §3.3,
    /// STS-FETCH-07). The failure starts the five-minute retry wait for `id` (STS-FETCH-03).
    /// Failures whose retry wait is over by `now` are forgotten.
    pub fn record_failure(&mut self, id: &PolicyId, now: u64) {
        self.failures.retain(|f| f.retry_at() > now);
        self.push_failure(FetchFailure::new(id.clone(), now));
    }

    /// The recorded failure for `id`, if any.
    fn failure_for(&self, id: &PolicyId) -> Option<&FetchFailure> {
        self.failures.iter().find(|f| f.id == *id)
    }

    /// Adds a failure, replacing an older one for the same id, keeping the list sorted by
    /// time and at most [`MAX_FAILURES_KEPT`] long.
    fn push_failure(&mut self, failure: FetchFailure) {
        if let Some(old) = self.failure_for(&failure.id) {
            if old.at >= failure.at {
                return;
            }
        }
        self.failures.retain(|f| f.id != failure.id);
        let at = self.failures.partition_point(|f| f.at <= failure.at);
        self.failures.insert(at, failure);
        if self.failures.len() > MAX_FAILURES_KEPT {
            self.failures.remove(0);
        }
    }
}

#[cfg(test)]
mod tests;
