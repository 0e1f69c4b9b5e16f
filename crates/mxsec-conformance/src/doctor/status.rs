//! What a running `mxsec daemon` says it has been doing (`GET /status` on its loopback
//! metrics port): the proactive refresh of cached policies, judged here (DOC-DMN-03,
//! RFC 8461 §10.2, STS-FETCH-08), and the policy hosts it fetched from, which
//! [`hosts`](super::hosts) checks Postfix's CA file and the clock against.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::why::get;
use super::{Finding, Severity};

/// How long past the refresh interval a round may be late before the refresh counts as
/// stalled: one more interval and five minutes.
const GRACE: u64 = 300;

/// The daemon's `/status` JSON (schema version 1).
#[derive(Clone, Debug, Deserialize)]
pub struct Status {
    /// The daemon's clock, in Unix seconds.
    pub now: u64,
    /// When the daemon started, in Unix seconds.
    pub started: u64,
    /// The proactive refresh.
    pub refresh: Refresh,
    /// The policy hosts it fetched a valid policy from, most recent first.
    pub policy_hosts: Vec<PolicyHost>,
}

/// The refresh part of `/status`.
#[derive(Clone, Debug, Deserialize)]
pub struct Refresh {
    /// `refresh.enabled`.
    pub enabled: bool,
    /// `refresh.interval`, in seconds.
    pub interval_seconds: u64,
    /// When the round under way started, if one is.
    pub running_since: Option<u64>,
    /// The last finished round.
    pub last_round: Option<Round>,
}

/// One finished refresh round.
#[derive(Clone, Debug, Deserialize)]
pub struct Round {
    /// When it finished, in Unix seconds.
    pub finished: u64,
    /// The cached policies that were due.
    pub due: u64,
    /// Refreshes that failed.
    pub failed: u64,
    /// Why the store could not be read, when it could not.
    pub store_error: Option<String>,
}

/// A policy host the daemon fetched a valid policy from.
#[derive(Clone, Debug, Deserialize)]
pub struct PolicyHost {
    /// `mta-sts.<domain>`.
    pub host: String,
    /// When, in Unix seconds.
    pub seen: u64,
}

/// Asks the daemon whose metrics listener is `addr` for its `/status`.
///
/// # Errors
///
/// What failed: no connection, an error status, no JSON.
pub async fn ask(addr: SocketAddr, timeout: Duration) -> Result<Status, String> {
    let response = tokio::time::timeout(timeout, get(addr, "/status"))
        .await
        .map_err(|_| format!("no answer from {addr} within {} s", timeout.as_secs()))?
        .map_err(|e| format!("cannot ask {addr}: {e}"))?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{addr} sent no complete response"))?;
    if head.split(' ').nth(1) != Some("200") {
        return Err(format!(
            "{addr} answered {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    serde_json::from_str(body).map_err(|e| format!("{addr} sent no status JSON: {e}"))
}

/// DOC-DMN-03: the refresh is on and runs (RFC 8461 §10.2: refresh cached policies before
/// they expire, so that a fetch an attacker blocks later does not end the protection,
/// STS-FETCH-08); judged at the daemon's own clock.
pub fn check_refresh(status: &Status) -> Option<Finding> {
    let refresh = &status.refresh;
    let subject = "mxsec daemon refresh";
    if !refresh.enabled {
        return Some(Finding::new(
            "DOC-DMN-03",
            Severity::Warning,
            subject,
            "is off (refresh.enabled = false): a cached policy is fetched again only when mail \
             needs it after it expired, and an attacker who blocks that fetch ends the \
             protection (RFC 8461 §10.2, STS-FETCH-08)",
            "set [refresh] enabled = true in the daemon's configuration and reload it \
             (systemctl reload mxsec)",
        ));
    }
    let late = refresh
        .interval_seconds
        .saturating_mul(2)
        .saturating_add(GRACE);
    let stalled = |message: String| {
        Some(Finding::new(
            "DOC-DMN-03",
            Severity::Error,
            subject,
            format!(
                "{message}, with refresh.interval {} s: cached policies expire without being \
                 refreshed (RFC 8461 §10.2, STS-FETCH-08)",
                refresh.interval_seconds
            ),
            "look for refresh errors in the daemon's log (journalctl -u mxsec), then restart \
             it (systemctl restart mxsec)",
        ))
    };
    let ago = |t: u64| status.now.saturating_sub(t);
    if let Some(since) = refresh.running_since.filter(|t| ago(*t) > late) {
        return stalled(format!("has been in one round for {} s", ago(since)));
    }
    match &refresh.last_round {
        None if refresh.running_since.is_none() && ago(status.started) > late => {
            return stalled(format!(
                "has not run since the daemon started {} s ago",
                ago(status.started)
            ));
        }
        Some(round) if refresh.running_since.is_none() && ago(round.finished) > late => {
            return stalled(format!(
                "finished its last round {} s ago",
                ago(round.finished)
            ));
        }
        _ => {}
    }
    let round = refresh.last_round.as_ref()?;
    if let Some(error) = &round.store_error {
        return Some(Finding::new(
            "DOC-DMN-03",
            Severity::Error,
            subject,
            format!(
                "cannot read the policy store ({error}): no cached policy is refreshed \
                 (STS-FETCH-08)"
            ),
            "check the store (cache.store): a SQLite file the daemon's user can write, or a \
             reachable Redis",
        ));
    }
    (round.failed > 0).then(|| {
        Finding::new(
            "DOC-DMN-03",
            Severity::Warning,
            subject,
            format!(
                "could not refresh {} of the {} cached policies due in its last round: they \
                 stay in force until they expire (STS-FETCH-07), and a policy host that stays \
                 unreachable leaves its domain without protection then",
                round.failed, round.due
            ),
            "the daemon's log names the domains and why (journalctl -u mxsec); \
             mxsec check DOMAIN shows what is wrong with a policy host",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: serde_json::Value) -> Status {
        serde_json::from_value(json).expect("status")
    }

    fn running(now: u64, last_finished: Option<u64>, failed: u64) -> Status {
        status(serde_json::json!({
            "schema_version": 1,
            "now": now,
            "started": 1000,
            "refresh": {
                "enabled": true,
                "interval_seconds": 3600,
                "rounds": 1,
                "running_since": null,
                "last_round": last_finished.map(|finished| serde_json::json!({
                    "started": finished - 5, "finished": finished, "due": 4,
                    "refreshed": 1, "unchanged": 2, "failed": failed, "store_error": null
                })),
                "next_due": null
            },
            "policy_hosts": [{"host": "mta-sts.example.com", "seen": 1500}]
        }))
    }

    #[test]
    fn sts_fetch_08_a_refresh_on_time_is_fine() {
        assert_eq!(check_refresh(&running(5000, Some(4000), 0)), None);
        assert_eq!(check_refresh(&running(1100, None, 0)), None);
    }

    #[test]
    fn sts_fetch_08_a_stalled_refresh_is_an_error() {
        let late = check_refresh(&running(4000 + 7200 + 301, Some(4000), 0)).expect("finding");
        assert_eq!((late.id, late.severity), ("DOC-DMN-03", Severity::Error));
        assert!(late.message.contains("last round 7501 s ago"), "{late:?}");
        let never = check_refresh(&running(1000 + 7501, None, 0)).expect("finding");
        assert!(never.message.contains("has not run"), "{never:?}");
        let mut stuck = running(20_000, Some(4000), 0);
        stuck.refresh.running_since = Some(5000);
        let stuck = check_refresh(&stuck).expect("finding");
        assert!(
            stuck.message.contains("in one round for 15000 s"),
            "{stuck:?}"
        );
    }

    #[test]
    fn sts_fetch_08_failed_refreshes_and_a_disabled_refresh_are_warnings() {
        let failed = check_refresh(&running(5000, Some(4000), 2)).expect("finding");
        assert_eq!(failed.severity, Severity::Warning);
        assert!(failed.message.contains("2 of the 4"), "{failed:?}");
        let mut off = running(5000, Some(4000), 0);
        off.refresh.enabled = false;
        assert_eq!(
            check_refresh(&off).map(|f| f.severity),
            Some(Severity::Warning)
        );
    }
}
