//! The summary of a scan: counts and percentages over many reports, for `mxsec check
//! --summary`, `mxsec check --summary-of RESULTS.jsonl` and the `/scan` page of `mxsec web`.
//!
//! A [`Summarizer`] takes one report at a time ([`Summarizer::add_report`]), or one line of
//! JSON-lines results ([`Summarizer::add_line`], [`read`]), and keeps counters only: a fixed
//! number per verdict, one per finding ID of the catalogue, and at most
//! [`PROVIDER_CAPACITY`] MX providers. Its memory therefore does not grow with the number of
//! domains. [`Summarizer::finish`] gives the [`ScanSummary`]; [`text`] and [`html`] render
//! it, and it serialises as the JSON below.
//!
//! # What is counted
//!
//! - Per verdict ([`crate::report::Verdict`]): MTA-STS, DANE, TLS-RPT, what a sender that
//!   enforces DANE and MTA-STS does (`delivery`), and the kind of answer the mxsec daemon
//!   gives Postfix ([`AnswerKind`], from `verdict.policy`). Percentages are of the domains
//!   checked (report lines), not of failure lines.
//! - Findings: for each ID, the domains with at least one `error` or `warning` finding of that
//!   ID (the problems of the human report), the most frequent first.
//! - MX providers: each MX host is grouped under its registered domain ([`provider_of`]:
//!   `mx1.mail.example.com` → `example.com`), and each domain counts once for every provider
//!   among its MX hosts, with how those domains fare.
//!
//! # JSON format
//!
//! One object (`mxsec check --summary=json`, `GET /api/v1/scan`), [`ScanSummary`] field by
//! field; `schema_version` is [`SUMMARY_SCHEMA_VERSION`], which changes when a field is
//! removed, renamed or changes meaning. Every tally is a list of
//! `{"value": "enforce", "count": 12, "percent": 40.0}` in the order of the report format's
//! values, zero counts included; `percent` has one decimal.

pub mod html;
pub(crate) mod model;
mod providers;
mod read;
mod tally;
pub mod text;

use std::collections::{BTreeMap, BTreeSet};

use mxsec_proto::conformance::ConformanceId;
use mxsec_proto::name::DomainName;
use serde::Deserialize;

use super::json::Failure;
use super::{DaneVerdict, Delivery, MxKind, Report, StsVerdict, TlsRptVerdict, Verdict};
use crate::catalogue::{FindingKind, Severity};
pub use model::{AnswerKind, FindingCount, ProviderSummary, Row, ScanSummary, Share};
pub(crate) use model::{Bar, Chart, Section, Tone};
pub use providers::{provider_of, PROVIDER_CAPACITY};
pub use read::read;
pub(crate) use tally::Category;
use tally::Tally;

/// The version of the summary's JSON format.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// How many finding IDs and providers a summary lists, the most frequent first.
pub const TOP: usize = 20;

/// What a summary takes from one report: the verdict, the problems and the MX host names.
///
/// It deserialises from a report line directly, skipping the rest of the report.
#[derive(Debug, Deserialize)]
struct Digest {
    verdict: Verdict,
    findings: Vec<FindingDigest>,
    mx: MxDigest,
}

#[derive(Debug, Deserialize)]
struct FindingDigest {
    id: ConformanceId,
    kind: FindingKind,
    severity: Severity,
}

#[derive(Debug, Deserialize)]
struct MxDigest {
    kind: MxKind,
    hosts: Vec<HostDigest>,
}

#[derive(Debug, Deserialize)]
struct HostDigest {
    name: DomainName,
}

impl Digest {
    fn of(report: &Report) -> Self {
        Self {
            verdict: report.verdict.clone(),
            findings: report
                .findings
                .iter()
                .filter(|f| is_problem(f.severity))
                .map(|f| FindingDigest {
                    id: f.id,
                    kind: f.kind,
                    severity: f.severity,
                })
                .collect(),
            mx: MxDigest {
                kind: report.mx.kind,
                hosts: report
                    .mx
                    .hosts
                    .iter()
                    .map(|h| HostDigest {
                        name: h.name.clone(),
                    })
                    .collect(),
            },
        }
    }
}

/// Whether a finding of this severity is a problem the summary counts.
fn is_problem(severity: Severity) -> bool {
    matches!(severity, Severity::Error | Severity::Warning)
}

/// The problems of one finding ID so far.
#[derive(Debug, Default)]
struct IdCount {
    /// Domains with such a problem.
    domains: u64,
    /// The most serious severity seen.
    severity: Option<Severity>,
    /// Domains per kind, to name the ID by its most frequent kind.
    kinds: BTreeMap<FindingKind, u64>,
}

/// The accumulator of a [`ScanSummary`]: one report or line at a time, in memory that does
/// not grow with their number.
#[derive(Debug)]
pub struct Summarizer {
    domains: u64,
    failures: u64,
    unreadable: u64,
    with_errors: u64,
    with_warnings_only: u64,
    mta_sts: Tally<StsVerdict>,
    dane: Tally<DaneVerdict>,
    tls_rpt: Tally<TlsRptVerdict>,
    delivery: Tally<Delivery>,
    answers: Tally<AnswerKind>,
    // Keyed by an ID of the catalogue, so bounded by its size.
    findings: BTreeMap<ConformanceId, IdCount>,
    providers: providers::TopProviders,
}

impl Default for Summarizer {
    fn default() -> Self {
        Self::with_provider_capacity(PROVIDER_CAPACITY)
    }
}

/// The facts about one domain a provider's figures take.
#[derive(Clone, Copy, Debug)]
struct DomainFacts {
    delivery: Delivery,
    dane_usable: bool,
    sts_enforce: bool,
    has_errors: bool,
}

impl Summarizer {
    /// An empty summary that keeps at most `capacity` providers (at least one).
    pub fn with_provider_capacity(capacity: usize) -> Self {
        Self {
            domains: 0,
            failures: 0,
            unreadable: 0,
            with_errors: 0,
            with_warnings_only: 0,
            mta_sts: Tally::default(),
            dane: Tally::default(),
            tls_rpt: Tally::default(),
            delivery: Tally::default(),
            answers: Tally::default(),
            findings: BTreeMap::new(),
            providers: providers::TopProviders::new(capacity),
        }
    }

    /// Counts one report.
    pub fn add_report(&mut self, report: &Report) {
        self.add_digest(&Digest::of(report));
    }

    /// Counts one input that could not be checked.
    pub fn add_failure(&mut self, _failure: &Failure) {
        self.failures += 1;
    }

    /// Counts one line of JSON-lines results ([`super::json`]): a report, a failure, or a
    /// line that is neither (counted as unreadable). Blank lines are skipped.
    pub fn add_line(&mut self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        if let Ok(digest) = serde_json::from_str::<Digest>(line) {
            self.add_digest(&digest);
        } else if serde_json::from_str::<Failure>(line).is_ok() {
            self.failures += 1;
        } else {
            self.unreadable += 1;
        }
    }

    fn add_digest(&mut self, digest: &Digest) {
        let v = &digest.verdict;
        self.domains += 1;
        self.mta_sts.add(v.mta_sts);
        self.dane.add(v.dane);
        self.tls_rpt.add(v.tls_rpt);
        self.delivery.add(v.delivery);
        self.answers.add(AnswerKind::of(&v.policy));

        let severities: BTreeSet<Severity> = digest.findings.iter().map(|f| f.severity).collect();
        let has_errors = severities.contains(&Severity::Error);
        if has_errors {
            self.with_errors += 1;
        } else if severities.contains(&Severity::Warning) {
            self.with_warnings_only += 1;
        }

        // Each domain counts once per ID, and once per kind under it.
        let mut ids: BTreeMap<ConformanceId, (Severity, BTreeSet<FindingKind>)> = BTreeMap::new();
        for f in digest.findings.iter().filter(|f| is_problem(f.severity)) {
            let entry = ids
                .entry(f.id)
                .or_insert_with(|| (f.severity, BTreeSet::new()));
            entry.0 = entry.0.min(f.severity);
            entry.1.insert(f.kind);
        }
        for (id, (severity, kinds)) in ids {
            let count = self.findings.entry(id).or_default();
            count.domains += 1;
            count.severity = Some(count.severity.map_or(severity, |s| s.min(severity)));
            for kind in kinds {
                *count.kinds.entry(kind).or_default() += 1;
            }
        }

        let facts = DomainFacts {
            delivery: v.delivery,
            dane_usable: v.dane == DaneVerdict::Usable,
            sts_enforce: v.mta_sts == StsVerdict::Enforce,
            has_errors,
        };
        let names: BTreeSet<String> = match digest.mx.kind {
            MxKind::Mx | MxKind::Implicit => digest
                .mx
                .hosts
                .iter()
                .map(|h| provider_of(&h.name))
                .collect(),
            MxKind::NullMx | MxKind::NoHost | MxKind::NxDomain | MxKind::Failed => BTreeSet::new(),
        };
        for name in names {
            self.providers.add(name, facts);
        }
    }

    /// The summary of everything counted so far.
    pub fn finish(&self) -> ScanSummary {
        let total = self.domains;
        let mut findings: Vec<FindingCount> = self
            .findings
            .iter()
            .map(|(id, c)| {
                let share = Share::of(c.domains, total);
                // The most frequent kind; on a tie, the first in catalogue order.
                let title = c
                    .kinds
                    .iter()
                    .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                    .map_or("", |(kind, _)| kind.entry().title);
                FindingCount {
                    id: *id,
                    severity: c.severity.unwrap_or(Severity::Warning),
                    title,
                    domains: share.count,
                    percent: share.percent,
                }
            })
            .collect();
        findings.sort_by(|a, b| b.domains.cmp(&a.domains).then(a.id.cmp(&b.id)));
        findings.truncate(TOP);
        ScanSummary {
            schema_version: SUMMARY_SCHEMA_VERSION,
            domains: total,
            failures: self.failures,
            unreadable_lines: self.unreadable,
            with_errors: Share::of(self.with_errors, total),
            with_warnings_only: Share::of(self.with_warnings_only, total),
            mta_sts: self.mta_sts.rows(total),
            dane: self.dane.rows(total),
            tls_rpt: self.tls_rpt.rows(total),
            delivery: self.delivery.rows(total),
            answers: self.answers.rows(total),
            findings,
            providers: self.providers.top(TOP),
            providers_dropped: self.providers.dropped(),
        }
    }
}

impl ScanSummary {
    /// The summary as one line of compact JSON, without the line break.
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialising cannot fail, and the fallback is still an
        // object.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

#[cfg(test)]
mod tests;
