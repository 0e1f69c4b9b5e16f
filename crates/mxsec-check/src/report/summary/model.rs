//! What a summary is made of: its figures as the JSON gives them, and the charts the human
//! summaries draw. Types only, so that the tallies, the labels and the renderers all use them
//! without importing each other.

use mxsec_proto::conformance::ConformanceId;
use mxsec_proto::postfix::socketmap::SocketmapReply;
use serde::{Deserialize, Serialize};

use crate::catalogue::Severity;
use crate::report::{DaneVerdict, Delivery, StsVerdict, TlsRptVerdict};

/// The summary of a scan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScanSummary {
    /// [`SUMMARY_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Domains checked: report lines.
    pub domains: u64,
    /// Lines for inputs that could not be checked (invalid names, failed checks).
    pub failures: u64,
    /// Lines that are neither a report nor a failure (a line cut short, another format).
    pub unreadable_lines: u64,
    /// Domains with at least one `error` finding.
    pub with_errors: Share,
    /// Domains with `warning` findings and no `error`.
    pub with_warnings_only: Share,
    /// The MTA-STS verdict.
    pub mta_sts: Vec<Row<StsVerdict>>,
    /// The DANE verdict.
    pub dane: Vec<Row<DaneVerdict>>,
    /// The TLS-RPT verdict.
    pub tls_rpt: Vec<Row<TlsRptVerdict>>,
    /// What a sender that enforces DANE and MTA-STS does.
    pub delivery: Vec<Row<Delivery>>,
    /// The kind of answer the mxsec daemon gives Postfix.
    pub answers: Vec<Row<AnswerKind>>,
    /// The most frequent problems by finding ID, at most [`TOP`].
    pub findings: Vec<FindingCount>,
    /// The most used MX providers, at most [`TOP`].
    pub providers: Vec<ProviderSummary>,
    /// How many times a provider was dropped to keep at most [`PROVIDER_CAPACITY`]; when
    /// non-zero, provider counts are lower bounds ([`ProviderSummary::uncounted_at_most`]).
    pub providers_dropped: u64,
}

/// A count and its share of the domains checked.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Share {
    /// How many domains.
    pub count: u64,
    /// Percent of the domains counted against, one decimal.
    pub percent: f64,
}

impl Share {
    /// `count` out of `total`; 0 % of nothing.
    pub fn of(count: u64, total: u64) -> Self {
        let percent = if total == 0 {
            0.0
        } else {
            // Counts are far below 2^52, so the conversions are exact.
            (count as f64 * 1000.0 / total as f64).round() / 10.0
        };
        Self { count, percent }
    }
}

/// One value of a tally.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Row<T> {
    /// The value, as the report format writes it.
    pub value: T,
    /// How many domains have it.
    pub count: u64,
    /// Percent of the domains counted against, one decimal.
    pub percent: f64,
}

/// The domains with problems of one finding ID.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FindingCount {
    /// The finding ID, e.g. `T-01`.
    pub id: ConformanceId,
    /// The most serious severity seen with this ID.
    pub severity: Severity,
    /// The catalogue's title of the most frequent kind with this ID.
    pub title: &'static str,
    /// Domains with at least one such `error` or `warning` finding.
    pub domains: u64,
    /// Percent of the domains checked, one decimal.
    pub percent: f64,
}

/// One MX provider (a registered domain of MX hosts) and how its domains fare.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProviderSummary {
    /// The registered domain, e.g. `google.com` ([`provider_of`]).
    pub provider: String,
    /// Domains with at least one MX host under it.
    pub domains: u64,
    /// How many more domains it may have had before it was last taken up in the table of
    /// providers (0 unless [`ScanSummary::providers_dropped`] is non-zero).
    pub uncounted_at_most: u64,
    /// What a sender that enforces DANE and MTA-STS does with its domains; percentages of
    /// [`Self::domains`].
    pub delivery: Vec<Row<Delivery>>,
    /// Its domains with DANE `usable`.
    pub dane_usable: Share,
    /// Its domains with MTA-STS `enforce`.
    pub mta_sts_enforce: Share,
    /// Its domains with at least one `error` finding.
    pub with_errors: Share,
}

/// The kind of answer the mxsec daemon gives Postfix (`verdict.policy`, POSTFIX.md §4).
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerKind {
    /// `OK dane-only`: mandatory DANE.
    DaneOnly,
    /// `OK dane`: opportunistic DANE.
    Dane,
    /// `OK secure ...`: MTA-STS enforce.
    Secure,
    /// `OK encrypt`: mandatory TLS without authentication.
    Encrypt,
    /// `NOTFOUND`: no policy, Postfix's default applies.
    #[serde(rename = "notfound")]
    NotFound,
    /// `TEMP ...` (or `TIMEOUT ...`): the delivery is deferred.
    Temp,
    /// Any other answer.
    Other,
}

impl AnswerKind {
    /// The kind of a socketmap reply as `mxsec query` prints it.
    pub fn of(policy: &str) -> Self {
        match SocketmapReply::parse(policy.as_bytes()) {
            Ok(SocketmapReply::Ok(data)) => match data.split_whitespace().next() {
                Some("dane-only") => Self::DaneOnly,
                Some("dane") => Self::Dane,
                Some("secure") => Self::Secure,
                Some("encrypt") => Self::Encrypt,
                _ => Self::Other,
            },
            Ok(SocketmapReply::NotFound) => Self::NotFound,
            Ok(SocketmapReply::Temp(_) | SocketmapReply::Timeout(_)) => Self::Temp,
            Ok(SocketmapReply::Perm(_)) | Err(_) => Self::Other,
        }
    }

    /// The value as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DaneOnly => "dane-only",
            Self::Dane => "dane",
            Self::Secure => "secure",
            Self::Encrypt => "encrypt",
            Self::NotFound => "notfound",
            Self::Temp => "temp",
            Self::Other => "other",
        }
    }
}

/// Whether a value is good news, bad news or neither; the charts colour bars by it.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Tone {
    /// Authenticated delivery, or what gives it.
    Good,
    /// Something, but less than authentication.
    Partial,
    /// Nothing published: neither good nor broken.
    Neutral,
    /// Broken: mail is deferred or a record is unusable.
    Bad,
}

/// A part of a summary, as the human summaries show them.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Section {
    /// The MTA-STS verdict.
    MtaSts,
    /// The DANE verdict.
    Dane,
    /// The TLS-RPT verdict.
    TlsRpt,
    /// What a sender that enforces DANE and MTA-STS does.
    Delivery,
    /// The daemon's answers.
    Answers,
    /// The most frequent problems.
    Findings,
    /// The most used providers.
    Providers,
}

/// One tally as the human summaries draw it: a heading and a bar per value.
#[derive(Clone, Debug)]
pub(crate) struct Chart {
    /// Which tally.
    pub(crate) section: Section,
    /// One bar per value, in the order of the report format.
    pub(crate) bars: Vec<Bar>,
}

/// One bar of a [`Chart`].
#[derive(Clone, Debug)]
pub(crate) struct Bar {
    /// The value in words.
    pub(crate) label: &'static str,
    /// How many domains.
    pub(crate) count: u64,
    /// Their share, in percent.
    pub(crate) percent: f64,
    /// Good news or bad.
    pub(crate) tone: Tone,
}
