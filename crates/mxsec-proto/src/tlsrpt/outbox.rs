//! Where the delivery of one day's report to one policy domain stands (RFC 8460 §5.5,
//! RPT-DEL-06): pending, sent or given up, with its attempts and the time of the next one.
//!
//! A stored [`DeliveryState`] is what lets a restarted reporter neither lose a report nor send
//! it twice. Each attempt is first *claimed* ([`DeliveryState::begin`]): the claim counts the
//! attempt and already holds the time of the retry, so an attempt cut short by a crash is
//! taken up again at that time, and two reporters sharing a store cannot both claim the same
//! attempt (the store swaps the state only if it is still the one read). Times are Unix
//! seconds, passed in by the caller.

use time::OffsetDateTime;

use super::delivery::next_attempt;

/// The longest error text kept with a state.
pub const MAX_ERROR_LEN: usize = 512;

/// The status of a report's delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryStatus {
    /// Not delivered yet; tried again at [`DeliveryState::next_attempt`].
    Pending,
    /// A `rua` URI took the report.
    Sent,
    /// Every attempt of the 24 hours failed; the report is given up (RPT-DEL-06).
    Failed,
}

/// The delivery of one report; see the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeliveryState {
    /// Where it stands.
    pub status: DeliveryStatus,
    /// The attempts begun so far.
    pub attempts: u32,
    /// When the first attempt began, Unix seconds.
    pub first_attempt: i64,
    /// While pending: when the next attempt is due, Unix seconds; `None` when the attempt
    /// under way is the last one the 24 hours allow.
    pub next_attempt: Option<i64>,
    /// The failures of the last failed attempt, at most [`MAX_ERROR_LEN`] octets.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Once sent: the URI that took the report.
    #[serde(default)]
    pub delivered_to: Option<String>,
    /// Once mailed: the relay's reply to the message (Postfix: `2.0.0 Ok: queued as ID`).
    #[serde(default)]
    pub relay_reply: Option<String>,
}

impl DeliveryState {
    /// Whether an attempt is due at `now`. No state: the report was never tried. A pending
    /// state whose last attempt was the final one was cut short (a crash); it is not tried
    /// again, as the 24 hours are over.
    pub fn due(state: Option<&Self>, now: OffsetDateTime) -> bool {
        match state {
            None => true,
            Some(s) => {
                s.status == DeliveryStatus::Pending
                    && s.next_attempt.is_some_and(|at| at <= now.unix_timestamp())
            }
        }
    }

    /// Whether the report is still waiting to be delivered: no state yet, or pending with a
    /// next attempt to come.
    pub fn waiting(state: Option<&Self>) -> bool {
        state.is_none_or(|s| s.status == DeliveryStatus::Pending && s.next_attempt.is_some())
    }

    /// The claim of the next attempt, begun at `now`, if one is due: one more attempt, and
    /// the time of the retry should it fail (RPT-DEL-06).
    pub fn begin(state: Option<&Self>, now: OffsetDateTime) -> Option<Self> {
        if !Self::due(state, now) {
            return None;
        }
        let attempts = state.map_or(0, |s| s.attempts).saturating_add(1);
        let first_attempt = state.map_or(now.unix_timestamp(), |s| s.first_attempt);
        let first = OffsetDateTime::from_unix_timestamp(first_attempt).unwrap_or(now);
        Some(Self {
            status: DeliveryStatus::Pending,
            attempts,
            first_attempt,
            next_attempt: next_attempt(first, attempts, now).map(OffsetDateTime::unix_timestamp),
            last_error: state.and_then(|s| s.last_error.clone()),
            delivered_to: None,
            relay_reply: None,
        })
    }

    /// The claimed attempt succeeded: `uri` took the report.
    #[must_use]
    pub fn sent(mut self, uri: String, relay_reply: Option<String>) -> Self {
        self.status = DeliveryStatus::Sent;
        self.next_attempt = None;
        self.delivered_to = Some(uri);
        self.relay_reply = relay_reply.map(|r| bounded(&r));
        self
    }

    /// The claimed attempt failed with `error`: pending until the retry, or given up when
    /// there is none.
    #[must_use]
    pub fn failed(mut self, error: &str) -> Self {
        if self.next_attempt.is_none() {
            self.status = DeliveryStatus::Failed;
        }
        self.last_error = Some(bounded(error));
        self
    }
}

/// `text` cut to at most [`MAX_ERROR_LEN`] octets, at a character boundary.
fn bounded(text: &str) -> String {
    let mut end = text.len().min(MAX_ERROR_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::tlsrpt::delivery::RETRY_WINDOW;

    #[test]
    fn rpt_del_06_first_attempt_claims_and_schedules_the_retry() {
        let now = datetime!(2026-12-06 01:00 UTC);
        assert!(DeliveryState::due(None, now));
        let claim = DeliveryState::begin(None, now).expect("due");
        assert_eq!(claim.status, DeliveryStatus::Pending);
        assert_eq!(claim.attempts, 1);
        assert_eq!(claim.first_attempt, now.unix_timestamp());
        assert_eq!(
            claim.next_attempt,
            Some(datetime!(2026-12-06 01:05 UTC).unix_timestamp())
        );
        // Claimed: not due again before the retry time, even after a crash.
        assert!(!DeliveryState::due(Some(&claim), now));
        assert!(DeliveryState::begin(Some(&claim), now).is_none());
        assert!(DeliveryState::due(
            Some(&claim),
            datetime!(2026-12-06 01:05 UTC)
        ));
    }

    #[test]
    fn rpt_del_06_sent_is_final() {
        let now = datetime!(2026-12-06 01:00 UTC);
        let sent = DeliveryState::begin(None, now)
            .expect("due")
            .sent("mailto:r@example.org".into(), Some("2.0.0 Ok".into()));
        assert_eq!(sent.status, DeliveryStatus::Sent);
        assert!(!DeliveryState::due(Some(&sent), now + RETRY_WINDOW));
        assert!(!DeliveryState::waiting(Some(&sent)));
    }

    #[test]
    fn rpt_del_06_failures_back_off_and_give_up_after_24_hours() {
        let first = datetime!(2026-12-06 01:00 UTC);
        let mut now = first;
        let mut state: Option<DeliveryState> = None;
        let mut attempts = 0;
        while let Some(claim) = DeliveryState::begin(state.as_ref(), now) {
            attempts += 1;
            let failed = claim.failed(&"x".repeat(2 * MAX_ERROR_LEN));
            assert_eq!(
                failed.last_error.as_ref().map(String::len),
                Some(MAX_ERROR_LEN)
            );
            if let Some(at) = failed.next_attempt {
                assert_eq!(failed.status, DeliveryStatus::Pending);
                assert!(at > now.unix_timestamp());
                now = OffsetDateTime::from_unix_timestamp(at).expect("time");
            }
            state = Some(failed);
            assert!(attempts < 32);
        }
        let last = state.expect("state");
        assert_eq!(last.status, DeliveryStatus::Failed);
        assert!(!DeliveryState::waiting(Some(&last)));
        assert!(now <= first + RETRY_WINDOW);
        assert!(attempts >= 8);
    }

    #[test]
    fn rpt_del_06_interrupted_last_attempt_is_not_retried() {
        let state = DeliveryState {
            status: DeliveryStatus::Pending,
            attempts: 12,
            first_attempt: 0,
            next_attempt: None,
            last_error: None,
            delivered_to: None,
            relay_reply: None,
        };
        assert!(!DeliveryState::due(
            Some(&state),
            datetime!(2026-12-08 00:00 UTC)
        ));
        assert!(!DeliveryState::waiting(Some(&state)));
    }

    #[test]
    fn rpt_del_06_state_round_trips_as_json() {
        let claim = DeliveryState::begin(None, datetime!(2026-12-06 01:00 UTC)).expect("due");
        let json = serde_json::to_string(&claim).expect("json");
        assert!(json.contains("\"status\":\"pending\""), "{json}");
        assert_eq!(
            serde_json::from_str::<DeliveryState>(&json).expect("parse"),
            claim
        );
    }
}
