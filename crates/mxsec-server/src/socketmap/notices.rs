//! The daemon's log of `TEMP` answers and refused MTA-STS policies, with the reasons
//! `/why` shows: once per destination and interval, not once per request.
//!
//! A `TEMP` answer is cached for `cache.failure_ttl` only (PFX-04), so Postfix asks again
//! within seconds and a deferred queue asks for the same destination many times; logging
//! each lookup would drown the log. [`Notices`] remembers the destinations it logged for
//! [`NOTICE_INTERVAL`], at most [`MAX_NOTICED`] of them (the least recently logged are
//! forgotten first, and then logged again: a bounded memory costs at most extra lines).

use std::time::{Duration, Instant};

use mxsec_net::resolver::{FetchReport, Resolution};
use mxsec_net::ttl_cache::{TtlCache, TtlLimits};
use mxsec_proto::decision::Reason;
use mxsec_proto::name::Destination;

/// How long a destination's notice is not repeated.
pub(crate) const NOTICE_INTERVAL: Duration = Duration::from_secs(300);

/// The most destinations remembered as logged.
const MAX_NOTICED: usize = 4096;

/// What about an answer deserves a log line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Notice<'a> {
    /// The answer is `TEMP` for at least one zone's options: Postfix defers the mail.
    Temp {
        /// The reply, `TEMP <reason>`.
        reply: String,
        /// The decision's reasons.
        reasons: &'a [Reason],
    },
    /// An MTA-STS policy was fetched and refused (RFC 8461 §3.3, §3.2).
    RefusedPolicy {
        /// Why it was refused.
        error: &'a str,
        /// The decision's reasons.
        reasons: &'a [Reason],
    },
}

impl<'a> Notice<'a> {
    /// The notice for an answer whose replies (for each zone's options) are `replies`, decided
    /// from `resolution`; `None` when the answer is unremarkable.
    pub(crate) fn of(
        replies: impl IntoIterator<Item = (String, bool, &'a [Reason])>,
        resolution: &'a Resolution,
    ) -> Option<Self> {
        let mut first_reasons = None;
        for (reply, temp, reasons) in replies {
            if temp {
                return Some(Self::Temp { reply, reasons });
            }
            first_reasons.get_or_insert(reasons);
        }
        match &resolution.mta_sts.fetch {
            FetchReport::Failed { error, .. } => Some(Self::RefusedPolicy {
                error,
                reasons: first_reasons.unwrap_or_default(),
            }),
            FetchReport::NotFetched | FetchReport::Fetched | FetchReport::RetryWait { .. } => None,
        }
    }
}

/// The destinations logged in the last [`NOTICE_INTERVAL`]; see the [module docs](self).
pub(crate) struct Notices {
    logged: TtlCache<Destination, ()>,
    interval: Duration,
}

impl Notices {
    /// Logs each destination at most once per `interval`.
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            logged: TtlCache::new(TtlLimits::with_capacity(MAX_NOTICED)),
            interval,
        }
    }

    /// Whether a notice about `destination` is due at `now` (none was logged in the
    /// interval before); if so, it counts as logged at `now`.
    pub(crate) fn due(&self, destination: &Destination, now: Instant) -> bool {
        if self.logged.get(destination, now).is_some() {
            return false;
        }
        self.logged
            .insert(destination.clone(), (), self.interval, now);
        true
    }

    /// Logs `notice` about `destination` (named `name`) if one is due at `now`.
    pub(crate) fn log(
        &self,
        destination: &Destination,
        name: &str,
        notice: &Notice<'_>,
        now: Instant,
    ) {
        if !self.due(destination, now) {
            return;
        }
        match notice {
            Notice::Temp { reply, reasons } => tracing::warn!(
                destination = name,
                reasons = %joined(reasons),
                "answered {reply}: Postfix defers mail to this destination (mxsec doctor --why {name})"
            ),
            Notice::RefusedPolicy { error, reasons } => tracing::warn!(
                destination = name,
                reasons = %joined(reasons),
                "MTA-STS policy refused: {error} (mxsec doctor --why {name})"
            ),
        }
    }
}

/// `RULE: text; RULE: text`.
fn joined(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(|reason| format!("{}: {}", reason.rule, reason.text))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destination(name: &str) -> Destination {
        Destination::parse(name).expect("destination")
    }

    #[test]
    fn pfx_04_a_destination_is_logged_once_per_interval() {
        let notices = Notices::new(Duration::from_secs(300));
        let (a, b) = (destination("a.example"), destination("b.example"));
        let start = Instant::now();
        assert!(notices.due(&a, start));
        for seconds in [0, 1, 10, 299] {
            assert!(
                !notices.due(&a, start + Duration::from_secs(seconds)),
                "{seconds} s"
            );
        }
        assert!(
            notices.due(&b, start + Duration::from_secs(1)),
            "another destination"
        );
        assert!(
            notices.due(&a, start + Duration::from_secs(300)),
            "after the interval"
        );
    }

    #[test]
    fn pfx_04_notices_remember_a_bounded_number_of_destinations() {
        let notices = Notices::new(Duration::from_secs(300));
        let now = Instant::now();
        for i in 0..MAX_NOTICED * 2 {
            assert!(notices.due(&destination(&format!("d{i}.example")), now));
        }
        assert!(notices.logged.len() <= MAX_NOTICED);
    }
}
