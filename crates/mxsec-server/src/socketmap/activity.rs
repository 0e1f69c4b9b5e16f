//! What the daemon has been doing, served as `GET /status` on the metrics port for
//! `mxsec doctor`: when the proactive refresh of cached policies last ran and how it went
//! (RFC 8461 §10.2, STS-FETCH-08), and the MTA-STS policy hosts it fetched a valid policy from
//! recently (at most [`MAX_POLICY_HOSTS`], the most recent kept), which `mxsec doctor` checks
//! Postfix's CA file against and reads the clock of.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::config::RefreshSettings;

/// The most policy hosts remembered; the one seen longest ago goes first.
pub(crate) const MAX_POLICY_HOSTS: usize = 64;

/// The version of the `/status` JSON.
const SCHEMA_VERSION: u32 = 1;

/// The refresh rounds and the policy hosts seen, shared by the refresh loop and every lookup.
#[derive(Debug)]
pub(crate) struct Activity {
    /// When the daemon started, in Unix seconds.
    started: u64,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    rounds: u64,
    running_since: Option<u64>,
    last_round: Option<Round>,
    /// Policy host name to the Unix second of the last valid policy fetched from it.
    hosts: BTreeMap<String, u64>,
}

/// One finished refresh round.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Round {
    /// When it started, in Unix seconds.
    pub(crate) started: u64,
    /// When it finished, in Unix seconds.
    pub(crate) finished: u64,
    /// The cached policies that were due for refresh.
    pub(crate) due: u64,
    /// Refreshes that brought a newer policy.
    pub(crate) refreshed: u64,
    /// Refreshes that found the cached policy current.
    pub(crate) unchanged: u64,
    /// Refreshes that failed: the cached policy stays until it expires (STS-FETCH-07).
    pub(crate) failed: u64,
    /// Why the store could not be read for the round, when it could not.
    pub(crate) store_error: Option<String>,
}

/// The `/status` JSON.
#[derive(Debug, Serialize)]
pub(crate) struct Status {
    schema_version: u32,
    /// The daemon's clock, in Unix seconds.
    now: u64,
    /// When the daemon started, in Unix seconds.
    started: u64,
    refresh: RefreshStatus,
    /// The most recently seen first.
    policy_hosts: Vec<PolicyHost>,
}

/// The refresh part of `/status`.
#[derive(Debug, Serialize)]
struct RefreshStatus {
    enabled: bool,
    interval_seconds: u64,
    /// Rounds finished since the start.
    rounds: u64,
    /// When the round under way started, if one is.
    running_since: Option<u64>,
    last_round: Option<Round>,
    /// When the next round is due, in Unix seconds: one interval after the last one finished.
    next_due: Option<u64>,
}

/// A policy host the daemon fetched a valid policy from.
#[derive(Debug, Serialize)]
struct PolicyHost {
    /// `mta-sts.<domain>` (RFC 8461 §3.3).
    host: String,
    /// When, in Unix seconds.
    seen: u64,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            started: unix_now(),
            inner: Mutex::default(),
        }
    }
}

impl Activity {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A refresh round starts at `now`.
    pub(crate) fn round_started(&self, now: u64) {
        self.inner().running_since = Some(now);
    }

    /// A refresh round ended.
    pub(crate) fn round_finished(&self, round: Round) {
        let mut inner = self.inner();
        inner.rounds += 1;
        inner.running_since = None;
        inner.last_round = Some(round);
    }

    /// A valid policy of `domain` was fetched from its policy host at `now`.
    pub(crate) fn policy_fetched(&self, domain: &str, now: u64) {
        let mut inner = self.inner();
        inner.hosts.insert(format!("mta-sts.{domain}"), now);
        while inner.hosts.len() > MAX_POLICY_HOSTS {
            let oldest = inner
                .hosts
                .iter()
                .min_by_key(|(_, seen)| **seen)
                .map(|(host, _)| host.clone());
            match oldest {
                Some(host) => inner.hosts.remove(&host),
                None => break,
            };
        }
    }

    /// What `/status` shows, with the refresh settings in force.
    pub(crate) fn status(&self, refresh: &RefreshSettings) -> Status {
        let inner = self.inner();
        let interval = refresh.interval.as_secs();
        let mut policy_hosts: Vec<PolicyHost> = inner
            .hosts
            .iter()
            .map(|(host, seen)| PolicyHost {
                host: host.clone(),
                seen: *seen,
            })
            .collect();
        policy_hosts.sort_by(|a, b| b.seen.cmp(&a.seen).then_with(|| a.host.cmp(&b.host)));
        Status {
            schema_version: SCHEMA_VERSION,
            now: unix_now(),
            started: self.started,
            refresh: RefreshStatus {
                enabled: refresh.enabled,
                interval_seconds: interval,
                rounds: inner.rounds,
                running_since: inner.running_since,
                next_due: inner
                    .last_round
                    .as_ref()
                    .filter(|_| refresh.enabled)
                    .map(|round| round.finished.saturating_add(interval)),
                last_round: inner.last_round.clone(),
            },
            policy_hosts,
        }
    }
}

/// The clock, in Unix seconds.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn settings() -> RefreshSettings {
        RefreshSettings {
            enabled: true,
            interval: Duration::from_secs(3600),
            concurrency: 8,
        }
    }

    #[test]
    fn sts_fetch_08_status_shows_the_last_round_and_when_the_next_is_due() {
        let activity = Activity::default();
        activity.round_started(100);
        let status = serde_json::to_value(activity.status(&settings())).expect("json");
        assert_eq!(status["refresh"]["running_since"], 100);
        assert!(status["refresh"]["last_round"].is_null());
        activity.round_finished(Round {
            started: 100,
            finished: 130,
            due: 3,
            refreshed: 1,
            unchanged: 1,
            failed: 1,
            store_error: None,
        });
        let status = serde_json::to_value(activity.status(&settings())).expect("json");
        assert_eq!(status["schema_version"], 1);
        assert_eq!(status["refresh"]["rounds"], 1);
        assert!(status["refresh"]["running_since"].is_null());
        assert_eq!(status["refresh"]["last_round"]["failed"], 1);
        assert_eq!(status["refresh"]["next_due"], 3730);
    }

    #[test]
    fn sts_fetch_08_policy_hosts_are_bounded_and_the_oldest_goes_first() {
        let activity = Activity::default();
        for n in 0..=MAX_POLICY_HOSTS as u64 {
            activity.policy_fetched(&format!("d{n}.example"), 1000 + n);
        }
        activity.policy_fetched("d1.example", 5000);
        let status = serde_json::to_value(activity.status(&settings())).expect("json");
        let hosts = status["policy_hosts"].as_array().expect("hosts");
        assert_eq!(hosts.len(), MAX_POLICY_HOSTS);
        assert_eq!(hosts[0]["host"], "mta-sts.d1.example");
        assert!(hosts.iter().all(|h| h["host"] != "mta-sts.d0.example"));
    }
}
