//! One day's report for one policy domain (RFC 8460 §4; RPT-JSON-01..03, RPT-TIME-01,
//! RPT-DEL-01), from what the sender applied and what its sessions did.
//!
//! - The policies come from the policy server ([`RecordedPolicy`]): what it answered for the
//!   domain that day, MTA-STS `testing` included, with its own policy-level failures
//!   (`sts-policy-fetch-error`, `sts-policy-invalid`, `sts-webpki-invalid`, `dnssec-invalid`).
//! - The sessions come from Postfix's log ([`super::sessions`]) or from libtlsrpt datagrams
//!   ([`super::datagram`]).
//!
//! A session belongs to the DANE policy of its MX host if one was recorded, else to the
//! domain's MTA-STS policy, else to `no-policy-found` (DANE takes precedence, RFC 8461 §2).
//! [`judge`] then says whether it succeeded under that policy, and if not with which result
//! type and `failure-reason-code` (the suggested mapping after CONFORMANCE.md §2.3).

use std::collections::BTreeMap;

use time::{Date, OffsetDateTime, Time};

use crate::mta_sts::matcher::MxPattern;
use crate::name::DomainName;

use super::datagram::DatagramPolicy;
use super::postfix_log::{TlsFailure, Trust};
use super::report::{
    AppliedPolicy, DateRange, FailureDetail, PolicyResult, PolicyType, Report, ReportIp, Summary,
};
use super::result_type::ResultType;
use super::sessions::{Session, SessionOutcome};

/// A policy the policy server answered for a domain on a day, and its failures there.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordedPolicy {
    /// The policy as the report names it (for `tlsa`, `mx-host` is the MX host).
    pub policy: AppliedPolicy,
    /// An MTA-STS policy in `testing` mode: Postfix was told to deliver as without a policy,
    /// so its sessions are judged here against the policy.
    #[serde(default)]
    pub testing: bool,
    /// Policy-level failures and how often they occurred.
    #[serde(default)]
    pub failures: Vec<PolicyFailure>,
}

/// A failure of the policy itself (no session reached an MX host because of it).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicyFailure {
    /// The result type (RPT-RES-02, RPT-RES-03).
    pub result_type: ResultType,
    /// A short code for the cause.
    #[serde(default)]
    pub reason_code: Option<String>,
    /// How many answers carried it.
    pub count: u64,
}

/// Who sends the report (RFC 8460 §4.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reporter {
    /// `organization-name`.
    pub organization_name: String,
    /// `contact-info`: an e-mail address.
    pub contact_info: String,
    /// The sending domain: the `TLS-Report-Submitter` and the first part of the file name.
    pub submitter: DomainName,
    /// The sending MTA's address, for `sending-mta-ip`, if known.
    pub sending_ip: Option<std::net::IpAddr>,
}

/// Why a session failed under its policy.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Verdict {
    /// The result type.
    pub result_type: ResultType,
    /// The `failure-reason-code` (an OpenSSL error name where there is one; RPT-RES-04).
    pub reason_code: Option<String>,
}

/// The start and end of the UTC day `day` (RPT-TIME-01), as RFC 8460 Appendix B writes them.
pub fn day_range(day: Date) -> DateRange {
    DateRange {
        start_datetime: day.with_time(Time::MIDNIGHT).assume_utc(),
        end_datetime: day
            .with_hms(23, 59, 59)
            .unwrap_or_else(|_| day.with_time(Time::MIDNIGHT))
            .assume_utc(),
    }
}

/// Whether a report about `policy_domain` may be sent: not to the reporter's own domain or
/// one below it (no report to a domain about itself).
pub fn reportable(policy_domain: &DomainName, submitter: &DomainName) -> bool {
    !policy_domain.is_subdomain_of(submitter)
}

/// The report's file name (RFC 8460 §5.1, RPT-DEL-01):
/// `submitter!policy-domain!begin!end!id.json.gz`, times in Unix seconds.
pub fn file_name(submitter: &DomainName, report: &Report, policy_domain: &DomainName) -> String {
    let id: String = report
        .report_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{submitter}!{policy_domain}!{}!{}!{id}.json.gz",
        report.date_range.start_datetime.unix_timestamp(),
        report.date_range.end_datetime.unix_timestamp(),
    )
}

/// Whether `outcome` met `policy`; `Err` with the failure otherwise.
pub fn judge(
    outcome: &SessionOutcome,
    policy: &RecordedPolicy,
    mx_host: &str,
) -> Result<(), Verdict> {
    let kind = policy.policy.policy_type;
    match outcome {
        SessionOutcome::Failed(f) => Err(failure_verdict(f, kind)),
        SessionOutcome::Plaintext => Err(verdict(ResultType::StarttlsNotSupported, None)),
        SessionOutcome::Tls { trust, verify } => {
            // Postfix enforced DANE and MTA-STS enforce itself: a session it let through met
            // the policy. Without a policy any TLS counts. `testing` is judged here.
            if !(kind == PolicyType::Sts && policy.testing) {
                return Ok(());
            }
            if let Some(v) = verify {
                return Err(failure_verdict(v, kind));
            }
            match trust {
                Trust::Anonymous => Err(verdict(
                    ResultType::ValidationFailure,
                    Some("no-server-certificate"),
                )),
                Trust::Untrusted => Err(verdict(ResultType::CertificateNotTrusted, None)),
                Trust::Trusted | Trust::Verified => {
                    if mx_matches(policy, mx_host) {
                        Ok(())
                    } else {
                        Err(verdict(
                            ResultType::ValidationFailure,
                            Some("mx-not-in-policy"),
                        ))
                    }
                }
            }
        }
    }
}

fn mx_matches(policy: &RecordedPolicy, mx_host: &str) -> bool {
    let Ok(host) = DomainName::parse(mx_host) else {
        return false;
    };
    policy
        .policy
        .mx_host
        .iter()
        .flatten()
        .filter_map(|p| MxPattern::parse(p).ok())
        .any(|p| p.matches(&host))
}

fn verdict(result_type: ResultType, code: Option<&str>) -> Verdict {
    Verdict {
        result_type,
        reason_code: code.map(str::to_owned),
    }
}

/// A TLS failure as an RFC 8460 result type; under DANE, a certificate that no TLSA record
/// vouches for is `tlsa-invalid`.
pub fn failure_verdict(failure: &TlsFailure, policy: PolicyType) -> Verdict {
    use ResultType as R;
    let dane = policy == PolicyType::Tlsa;
    let untrusted = if dane {
        R::TlsaInvalid
    } else {
        R::CertificateNotTrusted
    };
    match failure {
        TlsFailure::Expired => verdict(R::CertificateExpired, Some("X509_V_ERR_CERT_HAS_EXPIRED")),
        TlsFailure::NotYetValid => {
            verdict(R::ValidationFailure, Some("X509_V_ERR_CERT_NOT_YET_VALID"))
        }
        TlsFailure::UntrustedIssuer => verdict(
            untrusted,
            Some("X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"),
        ),
        TlsFailure::SelfSigned => {
            verdict(untrusted, Some("X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT"))
        }
        TlsFailure::NotTrusted => verdict(untrusted, Some("X509_V_ERR_CERT_UNTRUSTED")),
        TlsFailure::InvalidPurpose => {
            verdict(R::ValidationFailure, Some("X509_V_ERR_INVALID_PURPOSE"))
        }
        TlsFailure::ChainTooLong => {
            verdict(R::ValidationFailure, Some("X509_V_ERR_CERT_CHAIN_TOO_LONG"))
        }
        TlsFailure::HostMismatch => verdict(
            R::CertificateHostMismatch,
            Some("X509_V_ERR_HOSTNAME_MISMATCH"),
        ),
        TlsFailure::DaneNoMatch => verdict(R::TlsaInvalid, Some("X509_V_ERR_DANE_NO_MATCH")),
        TlsFailure::OtherVerify(n) => Verdict {
            result_type: R::ValidationFailure,
            reason_code: Some(format!("openssl-verify-error-{n}")),
        },
        TlsFailure::NotVerified => verdict(
            if dane {
                R::TlsaInvalid
            } else {
                R::ValidationFailure
            },
            Some("server-certificate-not-verified"),
        ),
        TlsFailure::StarttlsNotOffered => verdict(R::StarttlsNotSupported, None),
        TlsFailure::StarttlsRefused => verdict(R::StarttlsNotSupported, Some("starttls-refused")),
        TlsFailure::HandshakeFailure => {
            verdict(R::ValidationFailure, Some("tls-handshake-failure"))
        }
        TlsFailure::TlsaLookupError => verdict(R::DnssecInvalid, Some("tlsa-lookup-error")),
        TlsFailure::DaneRequired => verdict(R::DaneRequired, None),
    }
}

/// The failures of one policy, grouped as the report lists them.
#[derive(Clone, Debug, Default)]
struct Tally {
    successes: u64,
    failures: u64,
    details: BTreeMap<DetailKey, u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct DetailKey {
    verdict: Verdict,
    mx_host: Option<String>,
    receiving_ip: Option<std::net::IpAddr>,
    helo: Option<String>,
    additional: Option<String>,
}

/// One policy domain's day: add what was applied and seen, then [`DayReport::build`].
#[derive(Clone, Debug)]
pub struct DayReport {
    domain: DomainName,
    day: Date,
    recorded: Vec<RecordedPolicy>,
    /// Keyed by the policy's position in `recorded` (sessions) or its JSON (datagrams).
    tallies: BTreeMap<String, (AppliedPolicy, Tally)>,
}

impl DayReport {
    /// An empty day for `domain`, with the policies the policy server recorded.
    pub fn new(domain: DomainName, day: Date, recorded: Vec<RecordedPolicy>) -> Self {
        let mut this = Self {
            domain,
            day,
            recorded,
            tallies: BTreeMap::new(),
        };
        for i in 0..this.recorded.len() {
            let failures = this.recorded[i].failures.clone();
            let policy = this.recorded[i].policy.clone();
            let tally = this.tally(&policy);
            for f in failures {
                tally.failures = tally.failures.saturating_add(f.count);
                let key = DetailKey {
                    verdict: Verdict {
                        result_type: f.result_type,
                        reason_code: f.reason_code,
                    },
                    mx_host: None,
                    receiving_ip: None,
                    helo: None,
                    additional: None,
                };
                let n = tally.details.entry(key).or_default();
                *n = n.saturating_add(f.count);
            }
        }
        this
    }

    /// The day this report covers.
    pub fn day(&self) -> Date {
        self.day
    }

    fn tally(&mut self, policy: &AppliedPolicy) -> &mut Tally {
        let key = serde_json::to_string(policy).unwrap_or_default();
        &mut self
            .tallies
            .entry(key)
            .or_insert_with(|| (policy.clone(), Tally::default()))
            .1
    }

    /// The policy a session to `mx_host` was under.
    fn policy_for(&self, mx_host: &str) -> RecordedPolicy {
        let tlsa = self.recorded.iter().find(|r| {
            r.policy.policy_type == PolicyType::Tlsa
                && r.policy
                    .mx_host
                    .iter()
                    .flatten()
                    .any(|h| h.eq_ignore_ascii_case(mx_host))
        });
        let sts = || {
            self.recorded.iter().rev().find(|r| {
                r.policy.policy_type == PolicyType::Sts && r.policy.policy_string.is_some()
            })
        };
        tlsa.or_else(sts)
            .cloned()
            .unwrap_or_else(|| RecordedPolicy {
                policy: AppliedPolicy::no_policy_found(self.domain.clone()),
                testing: false,
                failures: Vec::new(),
            })
    }

    /// Counts one session of this domain (sessions of other domains or days are the
    /// caller's to route; this one is taken as is).
    pub fn add_session(&mut self, session: &Session) {
        self.add_sessions(
            &session.mx_host,
            session.relay.as_ref().map(|r| r.ip),
            &session.outcome,
            1,
        );
    }

    /// Counts `count` sessions to `mx_host` (at `ip`) that went as `outcome`.
    pub fn add_sessions(
        &mut self,
        mx_host: &str,
        ip: Option<std::net::IpAddr>,
        outcome: &SessionOutcome,
        count: u64,
    ) {
        let policy = self.policy_for(mx_host);
        let verdict = judge(outcome, &policy, mx_host);
        let tally = self.tally(&policy.policy);
        match verdict {
            Ok(()) => tally.successes = tally.successes.saturating_add(count),
            Err(verdict) => {
                tally.failures = tally.failures.saturating_add(count);
                let key = DetailKey {
                    verdict,
                    mx_host: Some(mx_host.to_owned()).filter(|h| !h.is_empty()),
                    receiving_ip: ip,
                    helo: None,
                    additional: None,
                };
                let n = tally.details.entry(key).or_default();
                *n = n.saturating_add(count);
            }
        }
    }

    /// Counts one policy of a libtlsrpt datagram: one session.
    pub fn add_datagram(&mut self, policy: &DatagramPolicy) {
        self.add_datagrams(policy, 1);
    }

    /// Counts `count` sessions that a libtlsrpt datagram policy described alike.
    pub fn add_datagrams(&mut self, policy: &DatagramPolicy, count: u64) {
        let tally = self.tally(&policy.policy);
        if !policy.failed {
            tally.successes = tally.successes.saturating_add(count);
            return;
        }
        tally.failures = tally.failures.saturating_add(count);
        for d in &policy.failures {
            let key = DetailKey {
                verdict: Verdict {
                    result_type: d.result_type,
                    reason_code: d.failure_reason_code.clone(),
                },
                mx_host: d.receiving_mx_hostname.clone(),
                receiving_ip: d.receiving_ip.as_ref().map(ReportIp::addr),
                helo: d.receiving_mx_helo.clone(),
                additional: d.additional_information.clone(),
            };
            let n = tally.details.entry(key).or_default();
            *n = n.saturating_add(d.failed_session_count.saturating_mul(count));
        }
    }

    /// The report (RPT-JSON-01..03), or `None` when there is nothing to report: no session
    /// and no policy failure.
    pub fn build(&self, reporter: &Reporter, report_id: &str) -> Option<Report> {
        let policies: Vec<PolicyResult> = self
            .tallies
            .values()
            .filter(|(_, t)| t.successes > 0 || t.failures > 0)
            .map(|(policy, t)| PolicyResult {
                policy: policy.clone(),
                summary: Summary {
                    total_successful_session_count: t.successes,
                    total_failure_session_count: t.failures,
                },
                failure_details: (!t.details.is_empty()).then(|| {
                    t.details
                        .iter()
                        .map(|(k, n)| FailureDetail {
                            result_type: k.verdict.result_type,
                            sending_mta_ip: reporter.sending_ip.map(ReportIp::from),
                            receiving_mx_hostname: k.mx_host.clone(),
                            receiving_mx_helo: k.helo.clone(),
                            receiving_ip: k.receiving_ip.map(ReportIp::from),
                            failed_session_count: *n,
                            additional_information: k.additional.clone(),
                            failure_reason_code: k.verdict.reason_code.clone(),
                        })
                        .collect()
                }),
            })
            .collect();
        if policies.is_empty() {
            return None;
        }
        Some(Report {
            organization_name: reporter.organization_name.clone(),
            date_range: day_range(self.day),
            contact_info: reporter.contact_info.clone(),
            report_id: report_id.to_owned(),
            policies,
        })
    }
}

/// The UTC day of an instant (RPT-TIME-01).
pub fn utc_day(t: OffsetDateTime) -> Date {
    t.to_offset(time::UtcOffset::UTC).date()
}

#[cfg(test)]
mod tests;
