//! What a domain owner learns from the TLS-RPT reports they receive (RFC 8460 §4): sessions
//! per policy domain and UTC day, failures by result type, receiving MX and sending IP, and
//! what to fix first.
//!
//! Pure aggregation over [`Report`] values; reading files, gzip and e-mail is
//! [`super::ingest`]'s job.
//!
//! - **Day**: a report is counted on the UTC day its `date-range` starts. RFC 8460 §4.1
//!   (RPT-TIME-01) asks for one report per full UTC day, so that is the day it covers; a
//!   report that starts late in a day and spans into the next is still counted once, on its
//!   first day, never split.
//! - **Duplicates**: the same report (same `organization-name` and `report-id`) read twice, for
//!   instance as its `.json.gz` attachment and as the whole `.eml`, is counted once.
//! - **Failures**: `failure-details` give the breakdown (RPT-JSON-02). Their counts may add up
//!   to less than `total-failure-session-count` (the details are optional and a reporter may
//!   truncate them); the difference is kept as [`DomainDay::unclassified_failures`], never
//!   invented.
//! - **What to fix first** ([`FixFirst`]): failures grouped by policy domain, result type and
//!   receiving MX over every day, largest first, each with the fix its result type calls for.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use time::{Date, UtcOffset};

use crate::name::DomainName;
use crate::tlsrpt::report::{PolicyType, Report};
use crate::tlsrpt::result_type::ResultType;

/// The label used for a failure whose report names no receiving MX or no sending IP.
pub const UNKNOWN: &str = "(not reported)";

/// The aggregate of a set of reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Aggregate {
    /// Distinct reports counted.
    pub reports: usize,
    /// Reports skipped because the same report was already counted.
    pub duplicates: usize,
    /// One entry per policy domain and UTC day, sorted by domain, then day.
    pub days: Vec<DomainDay>,
    /// Failure groups, the most failed sessions first: what to fix first.
    pub fix_first: Vec<FixFirst>,
}

/// Sessions for one policy domain on one UTC day, over every reporter.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DomainDay {
    /// The policy domain.
    pub policy_domain: DomainName,
    /// The UTC day, as `YYYY-MM-DD`.
    #[serde(serialize_with = "serialize_date")]
    pub day: Date,
    /// The organisations whose reports were counted.
    pub reporters: BTreeSet<String>,
    /// The kinds of policy the senders applied.
    pub policy_types: BTreeSet<PolicyTypeName>,
    /// Sessions that negotiated TLS and passed the policy.
    pub successful_sessions: u64,
    /// Sessions that failed.
    pub failed_sessions: u64,
    /// Failed sessions by result type.
    pub by_result_type: BTreeMap<ResultType, u64>,
    /// Failed sessions by receiving MX host name.
    pub by_receiving_mx: BTreeMap<String, u64>,
    /// Failed sessions by sending MTA address.
    pub by_sending_ip: BTreeMap<String, u64>,
    /// Failed sessions the reports counted but did not detail.
    pub unclassified_failures: u64,
}

/// A `policy-type`, ordered and printable (RFC 8460 §4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyTypeName {
    /// DANE (`tlsa`).
    Tlsa,
    /// MTA-STS (`sts`).
    Sts,
    /// Neither (`no-policy-found`).
    NoPolicyFound,
}

/// One group of failures, with the fix its result type calls for.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FixFirst {
    /// The policy domain.
    pub policy_domain: DomainName,
    /// What went wrong.
    pub result_type: ResultType,
    /// The receiving MX host, or [`UNKNOWN`].
    pub receiving_mx: String,
    /// Failed sessions in this group, over every day.
    pub failed_sessions: u64,
    /// The days with failures of this group.
    #[serde(serialize_with = "serialize_dates")]
    pub days: BTreeSet<Date>,
    /// The `failure-reason-code` values reported, with their session counts (RPT-RES-04).
    pub reason_codes: BTreeMap<String, u64>,
    /// What to do about it.
    pub fix: String,
}

/// Whether [`Aggregator::add`] counted a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    /// The report was counted.
    Counted,
    /// The same report (organisation and report id) was counted before; it was skipped.
    Duplicate,
}

/// Adds reports one at a time, then gives the [`Aggregate`].
#[derive(Debug, Default)]
pub struct Aggregator {
    seen: HashSet<(String, String)>,
    duplicates: usize,
    days: BTreeMap<(DomainName, Date), DomainDay>,
    groups: BTreeMap<(DomainName, ResultType, String), FixFirst>,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one report, unless the same report was counted already.
    pub fn add(&mut self, report: &Report) -> Added {
        let key = (report.organization_name.clone(), report.report_id.clone());
        if !self.seen.insert(key) {
            self.duplicates += 1;
            return Added::Duplicate;
        }
        let day = report
            .date_range
            .start_datetime
            .to_offset(UtcOffset::UTC)
            .date();
        for result in &report.policies {
            let domain = result.policy.policy_domain.clone();
            let entry = self
                .days
                .entry((domain.clone(), day))
                .or_insert_with(|| DomainDay::new(domain.clone(), day));
            entry.reporters.insert(report.organization_name.clone());
            entry
                .policy_types
                .insert(PolicyTypeName::from(result.policy.policy_type));
            entry.successful_sessions = entry
                .successful_sessions
                .saturating_add(result.summary.total_successful_session_count);
            let total_failed = result.summary.total_failure_session_count;
            entry.failed_sessions = entry.failed_sessions.saturating_add(total_failed);
            let mut detailed: u64 = 0;
            for detail in result.failure_details.iter().flatten() {
                let count = detail.failed_session_count;
                detailed = detailed.saturating_add(count);
                let mx = detail
                    .receiving_mx_hostname
                    .as_deref()
                    .map_or_else(|| UNKNOWN.to_owned(), normalise_host);
                let ip = detail
                    .sending_mta_ip
                    .as_ref()
                    .map_or_else(|| UNKNOWN.to_owned(), |ip| ip.addr().to_string());
                add_to(&mut entry.by_result_type, detail.result_type, count);
                add_to(&mut entry.by_receiving_mx, mx.clone(), count);
                add_to(&mut entry.by_sending_ip, ip, count);
                let group = self
                    .groups
                    .entry((domain.clone(), detail.result_type, mx.clone()))
                    .or_insert_with(|| FixFirst {
                        fix: fix_for(detail.result_type, &domain, &mx),
                        policy_domain: domain.clone(),
                        result_type: detail.result_type,
                        receiving_mx: mx,
                        failed_sessions: 0,
                        days: BTreeSet::new(),
                        reason_codes: BTreeMap::new(),
                    });
                group.failed_sessions = group.failed_sessions.saturating_add(count);
                group.days.insert(day);
                if let Some(code) = &detail.failure_reason_code {
                    add_to(&mut group.reason_codes, code.clone(), count);
                }
            }
            entry.unclassified_failures = entry
                .unclassified_failures
                .saturating_add(total_failed.saturating_sub(detailed));
        }
        Added::Counted
    }

    /// The aggregate of everything added.
    pub fn finish(self) -> Aggregate {
        let mut fix_first: Vec<FixFirst> = self
            .groups
            .into_values()
            .filter(|g| g.failed_sessions > 0)
            .collect();
        // Most failed sessions first; ties in a stable, readable order.
        fix_first.sort_by(|a, b| {
            b.failed_sessions
                .cmp(&a.failed_sessions)
                .then_with(|| a.policy_domain.cmp(&b.policy_domain))
                .then_with(|| a.result_type.cmp(&b.result_type))
                .then_with(|| a.receiving_mx.cmp(&b.receiving_mx))
        });
        Aggregate {
            reports: self.seen.len(),
            duplicates: self.duplicates,
            days: self.days.into_values().collect(),
            fix_first,
        }
    }
}

/// Aggregates a list of reports.
pub fn summarise<'a>(reports: impl IntoIterator<Item = &'a Report>) -> Aggregate {
    let mut aggregator = Aggregator::new();
    for report in reports {
        aggregator.add(report);
    }
    aggregator.finish()
}

impl DomainDay {
    fn new(policy_domain: DomainName, day: Date) -> Self {
        Self {
            policy_domain,
            day,
            reporters: BTreeSet::new(),
            policy_types: BTreeSet::new(),
            successful_sessions: 0,
            failed_sessions: 0,
            by_result_type: BTreeMap::new(),
            by_receiving_mx: BTreeMap::new(),
            by_sending_ip: BTreeMap::new(),
            unclassified_failures: 0,
        }
    }

    /// All sessions reported for the day.
    pub fn total_sessions(&self) -> u64 {
        self.successful_sessions
            .saturating_add(self.failed_sessions)
    }

    /// The share of failed sessions, in percent (0 when there were no sessions).
    pub fn failure_percent(&self) -> f64 {
        let total = self.total_sessions();
        if total == 0 {
            return 0.0;
        }
        // Session counts fit f64 well enough for a percentage.
        self.failed_sessions as f64 * 100.0 / total as f64
    }
}

impl PolicyTypeName {
    /// The RFC 8460 string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tlsa => "tlsa",
            Self::Sts => "sts",
            Self::NoPolicyFound => "no-policy-found",
        }
    }
}

impl From<PolicyType> for PolicyTypeName {
    fn from(t: PolicyType) -> Self {
        match t {
            PolicyType::Tlsa => Self::Tlsa,
            PolicyType::Sts => Self::Sts,
            PolicyType::NoPolicyFound => Self::NoPolicyFound,
        }
    }
}

/// The fix for each result type (RFC 8460 §4.3; RPT-RES-01…04), the one table that maps a
/// reported failure to advice. `mx` may be [`UNKNOWN`].
pub fn fix_for(result_type: ResultType, domain: &DomainName, mx: &str) -> String {
    let host = if mx == UNKNOWN {
        "the MX host".to_owned()
    } else {
        mx.to_owned()
    };
    match result_type {
        ResultType::StarttlsNotSupported => format!(
            "{host} did not offer STARTTLS: enable it on every address of the host; if it is \
             enabled, a firewall doing SMTP inspection is hiding it (STT-01, SCENARIOS.md T-01)"
        ),
        ResultType::CertificateHostMismatch => format!(
            "the certificate of {host} does not carry its name: add {host} to the certificate's \
             subject alternative names (STS-VAL-02, DANE-AUTH-03)"
        ),
        ResultType::CertificateExpired => format!(
            "the certificate of {host} has expired: renew it, and automate renewal \
             (STS-VAL-02, DANE-AUTH-02)"
        ),
        ResultType::CertificateNotTrusted => format!(
            "the certificate of {host} does not chain to a trusted root: serve a publicly \
             trusted certificate with its intermediates (STS-VAL-02)"
        ),
        ResultType::ValidationFailure => format!(
            "senders could not validate {host}: see the reason codes; under MTA-STS the usual \
             cause is an MX host missing from the policy's `mx:` lines (STS-VAL-01, \
             SCENARIOS.md M-05)"
        ),
        ResultType::TlsaInvalid => format!(
            "the TLSA records at _25._tcp.{host} match no certificate the server presents: \
             publish `3 1 1` for the current key with `mxsec tlsa`, keep the key across \
             renewals, and pre-publish the next key (DANE-AUTH-01, DANE-OPS-01, SCENARIOS.md D-01)"
        ),
        ResultType::DnssecInvalid => format!(
            "DNSSEC validation failed for {domain} or {host}: check the DS record at the \
             registrar and that signatures are not expired (DANE-DNS-03, SCENARIOS.md D-05)"
        ),
        ResultType::DaneRequired => format!(
            "a sender requires DANE for {domain} and found no DNSSEC-validated TLSA record for \
             {host}: sign the zone and publish TLSA records (DANE-DISC-07)"
        ),
        ResultType::StsPolicyFetchError => format!(
            "senders could not fetch https://mta-sts.{domain}/.well-known/mta-sts.txt: it \
             must answer 200 with the policy, without redirects (STS-FETCH-02, SCENARIOS.md \
             M-01); `mxsec sts serve` is such a host"
        ),
        ResultType::StsPolicyInvalid => format!(
            "the MTA-STS policy of {domain} is invalid: run `mxsec check {domain}` for the \
             line at fault, or write it with `mxsec sts init` (STS-POL-03…07)"
        ),
        ResultType::StsWebpkiInvalid => format!(
            "the certificate of mta-sts.{domain} is not valid for that name or not trusted: \
             serve a publicly trusted certificate for mta-sts.{domain} (STS-FETCH-01, \
             SCENARIOS.md M-02)"
        ),
    }
}

fn add_to<K: Ord>(map: &mut BTreeMap<K, u64>, key: K, count: u64) {
    let slot = map.entry(key).or_insert(0);
    *slot = slot.saturating_add(count);
}

/// Host names from reports: lower case, no trailing dot, so that `MX1.example.` and
/// `mx1.example` count together.
fn normalise_host(host: &str) -> String {
    let host = host.trim();
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

fn serialize_date<S: serde::Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(date)
}

fn serialize_dates<S: serde::Serializer>(dates: &BTreeSet<Date>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(dates.iter().map(ToString::to_string))
}

#[cfg(test)]
mod tests;
