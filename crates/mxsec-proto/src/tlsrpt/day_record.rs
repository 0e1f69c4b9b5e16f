//! What a sender keeps about one policy domain for one UTC day until the day's report is
//! sent: the policies its policy server answered, and its sessions, counted.
//!
//! A [`DayRecord`] is what a store holds per (day, domain), as JSON; every change is a pure
//! function of the record ([`DayRecord::add_policy`], [`DayRecord::add_session`],
//! [`DayRecord::add_datagram`]), so that a store can apply it inside a read-modify-write
//! transaction and retry it. It is bounded: at most [`MAX_POLICIES`] policies,
//! [`MAX_FAILURE_KINDS`] failure kinds per policy, and [`MAX_SESSION_KINDS`] kinds of session
//! and of datagram policy; what does not fit is counted in [`DayRecord::dropped`].

use std::net::IpAddr;

use time::Date;

use crate::name::DomainName;

use super::aggregate::{DayReport, PolicyFailure, RecordedPolicy};
use super::datagram::DatagramPolicy;
use super::sessions::{Session, SessionOutcome};

/// The most distinct policies kept per domain and day.
pub const MAX_POLICIES: usize = 16;
/// The most distinct policy-level failures kept per policy.
pub const MAX_FAILURE_KINDS: usize = 16;
/// The most distinct kinds of session (MX host, address, outcome) kept per domain and day;
/// likewise for datagram policies.
pub const MAX_SESSION_KINDS: usize = 256;

/// One domain's day; see the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DayRecord {
    /// The policies answered, with their policy-level failures.
    #[serde(default)]
    pub policies: Vec<RecordedPolicy>,
    /// Sessions seen in Postfix's log, counted by kind.
    #[serde(default)]
    pub sessions: Vec<SessionCount>,
    /// Policies reported by libtlsrpt datagrams, counted.
    #[serde(default)]
    pub datagrams: Vec<DatagramCount>,
    /// Sessions and answers not kept because a bound was reached.
    #[serde(default)]
    pub dropped: u64,
}

/// Sessions alike, counted.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionCount {
    /// The MX host name.
    pub mx_host: String,
    /// The address connected to, if any.
    pub ip: Option<IpAddr>,
    /// How they went.
    pub outcome: SessionOutcome,
    /// How many.
    pub count: u64,
}

/// Datagram policies alike, counted.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DatagramCount {
    /// The policy and its outcome.
    pub policy: DatagramPolicy,
    /// How many.
    pub count: u64,
}

impl DayRecord {
    /// Records that the policy server answered `answer`: a policy seen before only adds its
    /// failures' counts.
    pub fn add_policy(&mut self, answer: RecordedPolicy) {
        let existing = self
            .policies
            .iter_mut()
            .find(|p| p.policy == answer.policy && p.testing == answer.testing);
        let Some(existing) = existing else {
            if self.policies.len() < MAX_POLICIES {
                self.policies.push(answer);
            } else {
                self.dropped = self.dropped.saturating_add(1);
            }
            return;
        };
        for failure in answer.failures {
            add_failure(existing, failure, &mut self.dropped);
        }
    }

    /// Counts one session.
    pub fn add_session(&mut self, session: &Session) {
        let ip = session.relay.as_ref().map(|r| r.ip);
        if let Some(c) = self
            .sessions
            .iter_mut()
            .find(|c| c.mx_host == session.mx_host && c.ip == ip && c.outcome == session.outcome)
        {
            c.count = c.count.saturating_add(1);
        } else if self.sessions.len() < MAX_SESSION_KINDS {
            self.sessions.push(SessionCount {
                mx_host: session.mx_host.clone(),
                ip,
                outcome: session.outcome.clone(),
                count: 1,
            });
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// Counts one policy of a libtlsrpt datagram.
    pub fn add_datagram(&mut self, policy: &DatagramPolicy) {
        if let Some(c) = self.datagrams.iter_mut().find(|c| c.policy == *policy) {
            c.count = c.count.saturating_add(1);
        } else if self.datagrams.len() < MAX_SESSION_KINDS {
            self.datagrams.push(DatagramCount {
                policy: policy.clone(),
                count: 1,
            });
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty() && self.sessions.is_empty() && self.datagrams.is_empty()
    }

    /// The day's report under construction, with everything recorded added.
    pub fn report(&self, domain: DomainName, day: Date) -> DayReport {
        let mut report = DayReport::new(domain, day, self.policies.clone());
        for s in &self.sessions {
            report.add_sessions(&s.mx_host, s.ip, &s.outcome, s.count);
        }
        for d in &self.datagrams {
            report.add_datagrams(&d.policy, d.count);
        }
        report
    }
}

fn add_failure(policy: &mut RecordedPolicy, failure: PolicyFailure, dropped: &mut u64) {
    if let Some(f) = policy
        .failures
        .iter_mut()
        .find(|f| f.result_type == failure.result_type && f.reason_code == failure.reason_code)
    {
        f.count = f.count.saturating_add(failure.count);
    } else if policy.failures.len() < MAX_FAILURE_KINDS {
        policy.failures.push(failure);
    } else {
        *dropped = dropped.saturating_add(failure.count);
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::super::aggregate::Reporter;
    use super::super::postfix_log::{LogTime, Relay, Trust};
    use super::super::report::{AppliedPolicy, PolicyType};
    use super::super::result_type::ResultType;
    use super::*;

    fn name(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    fn fetch_error(count: u64) -> RecordedPolicy {
        RecordedPolicy {
            policy: AppliedPolicy {
                policy_type: PolicyType::Sts,
                policy_string: Some(vec!["version: STSv1".into(), "mode: enforce".into()]),
                policy_domain: name("a.example"),
                mx_host: Some(vec!["mx.a.example".into()]),
            },
            testing: false,
            failures: vec![PolicyFailure {
                result_type: ResultType::StsPolicyFetchError,
                reason_code: None,
                count,
            }],
        }
    }

    fn session(outcome: SessionOutcome) -> Session {
        Session {
            time: LogTime::Exact(datetime!(2026-12-05 10:00 UTC)),
            domain: name("a.example"),
            mx_host: "mx.a.example".into(),
            relay: Some(Relay {
                host: "mx.a.example".into(),
                ip: "192.0.2.25".parse().unwrap(),
            }),
            outcome,
        }
    }

    #[test]
    fn rpt_json_02_same_policy_adds_counts_and_round_trips_as_json() {
        let mut day = DayRecord::default();
        day.add_policy(fetch_error(1));
        day.add_policy(fetch_error(2));
        let verified = SessionOutcome::Tls {
            trust: Trust::Verified,
            verify: None,
        };
        day.add_session(&session(verified.clone()));
        day.add_session(&session(verified));
        assert_eq!(day.policies.len(), 1);
        assert_eq!(day.policies[0].failures[0].count, 3);
        assert_eq!(day.sessions[0].count, 2);
        let json = serde_json::to_string(&day).unwrap();
        assert_eq!(serde_json::from_str::<DayRecord>(&json).unwrap(), day);

        let reporter = Reporter {
            organization_name: "o".into(),
            contact_info: "r@sender.example".into(),
            submitter: name("sender.example"),
            sending_ip: None,
        };
        let report = day
            .report(name("a.example"), date!(2026 - 12 - 05))
            .build(&reporter, "id")
            .unwrap();
        assert_eq!(report.policies[0].summary.total_successful_session_count, 2);
        assert_eq!(report.policies[0].summary.total_failure_session_count, 3);
    }

    #[test]
    fn record_is_bounded() {
        let mut day = DayRecord::default();
        for i in 0..(MAX_POLICIES + 5) {
            let mut p = fetch_error(1);
            p.policy.mx_host = Some(vec![format!("mx{i}.a.example")]);
            day.add_policy(p);
        }
        for i in 0..(MAX_SESSION_KINDS + 5) {
            let mut s = session(SessionOutcome::Plaintext);
            s.mx_host = format!("mx{i}.a.example");
            day.add_session(&s);
        }
        assert_eq!(day.policies.len(), MAX_POLICIES);
        assert_eq!(day.sessions.len(), MAX_SESSION_KINDS);
        assert_eq!(day.dropped, 10);
    }
}
