//! The words of the human reports: one table from each reported state to what is said about
//! it, used by the terminal report ([`super::text`]) and the web page ([`super::html`]) alike,
//! so that the two never word the same fact differently.
//!
//! Words for a bad state are in capitals (`NOT OFFERED`, `FAIL`), so that they stand out
//! without colour. Each renderer adds only its layout (columns, colour, markup).

use time::macros::format_description;

use super::summary::model::{AnswerKind, Section};
use super::{
    AddressReport, DaneResult, Delivery, MxHost, MxKind, MxSection, PkixResult, PolicyFetch,
    PolicyReport, Report, SenderOutcome, StarttlsOutcome, Summary, TcpOutcome, TlsReport,
    TlsaEntry, TxtLookup,
};
use crate::catalogue::{Area, Severity};
use crate::finding::Finding;

/// The overall state of a report, from its findings.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(super) enum Status {
    /// At least one `error` finding.
    Fail,
    /// `warning` findings, no `error`.
    Warn,
    /// Neither errors nor warnings.
    Ok,
}

impl Status {
    /// The status of a summary.
    pub(super) fn of(summary: &Summary) -> Self {
        if summary.errors > 0 {
            Self::Fail
        } else if summary.warnings > 0 {
            Self::Warn
        } else {
            Self::Ok
        }
    }

    /// The short tag: `FAIL`, `WARN`, `OK`.
    pub(super) fn tag(self) -> &'static str {
        match self {
            Self::Fail => "FAIL",
            Self::Warn => "WARN",
            Self::Ok => "OK",
        }
    }

    /// The status in words.
    pub(super) fn words(self) -> &'static str {
        match self {
            Self::Fail => "Problems found",
            Self::Warn => "Works, with warnings",
            Self::Ok => "No problems found",
        }
    }
}

/// The number of findings of each severity, in words: `2 errors`, `1 warning`, ...
pub(super) fn counts(s: &Summary) -> [String; 4] {
    [
        plural(s.errors, "error", "errors"),
        plural(s.warnings, "warning", "warnings"),
        plural(s.infos, "note", "notes"),
        plural(s.passes, "check passed", "checks passed"),
    ]
}

/// When the audit ran, e.g. `2026-05-01 12:00:00 UTC`.
pub(super) fn checked_at(report: &Report) -> String {
    report
        .checked_at
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_default()
}

/// A duration in milliseconds as seconds, e.g. `1.25 s`.
pub(super) fn seconds(ms: u64) -> String {
    format!("{}.{:02} s", ms / 1000, (ms % 1000) / 10)
}

/// The verdict for a sender that enforces DANE and MTA-STS: a short headline and a sentence.
pub(super) fn headline(delivery: Delivery) -> (&'static str, &'static str) {
    match delivery {
        Delivery::Authenticated => (
            "mail is delivered authenticated",
            "A sender that enforces DANE and MTA-STS will deliver with an authenticated \
             connection.",
        ),
        Delivery::Encrypted => (
            "encrypted, but not authenticated",
            "A sender that enforces DANE and MTA-STS will deliver over TLS, but cannot \
             authenticate the server: an active attacker could still intercept the mail.",
        ),
        Delivery::Opportunistic => (
            "not protected against downgrade",
            "A sender that enforces DANE and MTA-STS finds nothing to enforce: it uses TLS \
             when offered, and an active attacker can strip it or redirect the mail.",
        ),
        Delivery::Deferred => (
            "mail is deferred",
            "A sender that enforces DANE and MTA-STS will not deliver now: it defers the mail \
             and retries later.",
        ),
        Delivery::NoMail => (
            "accepts no mail",
            "This domain accepts no mail: it publishes a null MX (RFC 7505).",
        ),
    }
}

/// The sender whose delivery is the verdict: one that enforces DANE and MTA-STS.
pub(super) const ENFORCING_SENDER: &str = "DANE and MTA-STS";

/// Each kind of sender with what it does, in the order the reports list them.
pub(super) fn senders(report: &Report) -> [(&'static str, &SenderOutcome); 4] {
    let s = &report.senders;
    [
        (ENFORCING_SENDER, &s.dane_and_mta_sts),
        ("DANE only", &s.dane),
        ("MTA-STS only", &s.mta_sts),
        ("opportunistic TLS", &s.opportunistic),
    ]
}

/// The verdict line: `MTA-STS enforce · DANE usable · TLS-RPT absent`.
pub(super) fn verdict_line(report: &Report) -> String {
    let v = &report.verdict;
    format!(
        "MTA-STS {} · DANE {} · TLS-RPT {}",
        v.mta_sts, v.dane, v.tls_rpt
    )
}

/// One problem of the summary: a finding, and how many findings say the same (same ID, same
/// message) about other subjects.
pub(super) struct Problem<'a> {
    /// The first finding of its kind.
    pub(super) finding: &'a Finding,
    /// How many findings it stands for.
    pub(super) count: usize,
}

impl Problem<'_> {
    /// `×3` when the problem stands for several findings, as passed checks are counted.
    pub(super) fn times(&self) -> Option<String> {
        (self.count > 1).then(|| format!("×{}", self.count))
    }
}

/// The errors and warnings, most serious first, the same problem on several subjects once.
pub(super) fn problems(report: &Report) -> Vec<Problem<'_>> {
    let mut problems: Vec<Problem<'_>> = Vec::new();
    for f in report
        .findings
        .iter()
        .filter(|f| matches!(f.severity, Severity::Error | Severity::Warning))
    {
        match problems
            .iter_mut()
            .find(|p| p.finding.id == f.id && p.finding.message == f.message)
        {
            Some(p) => p.count += 1,
            None => problems.push(Problem {
                finding: f,
                count: 1,
            }),
        }
    }
    problems
}

/// The findings of one area: the problems and notes, and the passed checks apart.
pub(super) fn findings_of(report: &Report, area: Area) -> (Vec<&Finding>, Vec<&Finding>) {
    report
        .findings
        .iter()
        .filter(|f| f.area == area)
        .partition(|f| f.severity != Severity::Pass)
}

// ---- MX and DNSSEC ---------------------------------------------------------------------------

/// What the MX lookup gave, e.g. `2 MX hosts` or `the domain does not exist (NXDOMAIN)`.
pub(super) fn mx_kind(mx: &MxSection) -> String {
    match mx.kind {
        MxKind::Mx => plural(mx.hosts.len(), "MX host", "MX hosts"),
        MxKind::NullMx => "a null MX (0 .): the domain accepts no mail".to_owned(),
        MxKind::Implicit => "no MX record: the domain itself is the mail host".to_owned(),
        MxKind::NoHost => "no MX record and no address".to_owned(),
        MxKind::NxDomain => "the domain does not exist (NXDOMAIN)".to_owned(),
        MxKind::Failed => "the MX lookup failed".to_owned(),
    }
}

/// The MX preference, or `implicit` for a domain that is its own mail host.
pub(super) fn preference(host: &MxHost) -> String {
    host.preference
        .map_or_else(|| "implicit".to_owned(), |p| p.to_string())
}

/// The host name, with the name its alias leads to: `mx.example → mail.example`.
pub(super) fn host_name(host: &MxHost) -> String {
    match &host.canonical_name {
        Some(c) => format!("{} → {c}", host.name),
        None => host.name.to_string(),
    }
}

/// The TLSA RRset of a host in short: `2 (1 usable), secure` or `none (insecure)`.
pub(super) fn tlsa_summary(host: &MxHost) -> String {
    let n = host.tlsa.records.len();
    if n == 0 {
        return format!("none ({})", host.tlsa.dnssec);
    }
    let usable = host.tlsa.records.iter().filter(|r| r.usable).count();
    format!("{n} ({usable} usable), {}", host.tlsa.dnssec)
}

/// Whether the MTA-STS policy covers a host: the `mx` pattern that covers it, `NOT COVERED`,
/// or `no policy`.
pub(super) fn coverage(host: &MxHost) -> String {
    match &host.mta_sts {
        None => "no policy".to_owned(),
        Some(c) => c
            .pattern
            .clone()
            .unwrap_or_else(|| "NOT COVERED".to_owned()),
    }
}

// ---- SMTP and TLS ----------------------------------------------------------------------------

/// The MX hosts that have at least one address, in MX order.
pub(super) fn hosts_with_addresses(report: &Report) -> Vec<&MxHost> {
    report
        .mx
        .hosts
        .iter()
        .filter(|h| !h.addresses.is_empty())
        .collect()
}

/// What became of the connection and of STARTTLS on one address.
pub(super) fn starttls(a: &AddressReport) -> &'static str {
    match a.tcp {
        TcpOutcome::Failed => "NO CONNECTION",
        TcpOutcome::Skipped => "not probed",
        TcpOutcome::Connected => match a.starttls {
            StarttlsOutcome::Offered => "offered",
            StarttlsOutcome::NotOffered => "NOT OFFERED",
            StarttlsOutcome::Masked => "MASKED",
            StarttlsOutcome::Refused => "REFUSED",
            StarttlsOutcome::NotReached => "not reached",
        },
    }
}

/// Whether STARTTLS was offered and accepted on the address.
pub(super) fn starttls_offered(a: &AddressReport) -> bool {
    a.tcp == TcpOutcome::Connected && a.starttls == StarttlsOutcome::Offered
}

/// The TLS session in short: `1.3 AES_256_GCM`, or `HANDSHAKE FAILED`, or `-`.
pub(super) fn tls(a: &AddressReport) -> String {
    let Some(t) = &a.tls else {
        return "-".to_owned();
    };
    if t.error.is_some() {
        return "HANDSHAKE FAILED".to_owned();
    }
    let version = t
        .version
        .as_deref()
        .map(|v| v.trim_start_matches("TLSv").to_owned())
        .unwrap_or_default();
    let cipher = t.cipher.as_deref().map(short_cipher).unwrap_or_default();
    format!("{version} {cipher}").trim().to_owned()
}

/// The WebPKI verdict on the address's chain.
pub(super) fn pkix(a: &AddressReport) -> &'static str {
    let Some(t) = &a.tls else {
        return "-";
    };
    if t.error.is_some() {
        return "-";
    }
    match t.pkix {
        PkixResult::Valid => "valid",
        PkixResult::Expired => "EXPIRED",
        PkixResult::NameMismatch => "WRONG NAME",
        PkixResult::Untrusted => "UNTRUSTED",
        PkixResult::NotChecked => "-",
    }
}

/// Days until the certificate expires: `89 d`, `-3 d` when expired, `-` when unknown.
pub(super) fn expiry(a: &AddressReport) -> String {
    a.tls
        .as_ref()
        .filter(|t| t.error.is_none())
        .and_then(|t: &TlsReport| t.days_to_expiry)
        .map_or_else(|| "-".to_owned(), |d| format!("{d} d"))
}

/// The DANE result on the address.
pub(super) fn dane(a: &AddressReport) -> &'static str {
    match &a.dane {
        None => "-",
        Some(d) => match d.result {
            DaneResult::Authenticated => "pass",
            DaneResult::Failed => "FAIL",
            DaneResult::Unauthenticated => "TLS only",
            DaneResult::NoTls => "NO TLS",
        },
    }
}

/// The MTA-STS result on the address.
pub(super) fn sts(a: &AddressReport) -> &'static str {
    match &a.mta_sts {
        None => "-",
        Some(s) if s.pass => "pass",
        Some(_) => "FAIL",
    }
}

/// Whether a DANE or MTA-STS sender refuses the address.
pub(super) fn refused(a: &AddressReport) -> bool {
    let dane = a
        .dane
        .as_ref()
        .is_some_and(|d| matches!(d.result, DaneResult::Failed | DaneResult::NoTls));
    dane || a.mta_sts.as_ref().is_some_and(|s| !s.pass)
}

/// What the name check of the leaf certificate found.
pub(super) fn name_check(matches: bool) -> &'static str {
    if matches {
        "the certificate names the MX host"
    } else {
        "the certificate does NOT name the MX host"
    }
}

/// The DNS names of a certificate, or `no DNS names`.
pub(super) fn dns_names(names: &[String]) -> String {
    if names.is_empty() {
        "no DNS names".to_owned()
    } else {
        names.join(", ")
    }
}

/// `TLS13_AES_256_GCM_SHA384` → `AES_256_GCM`, `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256` →
/// `ECDHE_RSA AES_128_GCM`: the key exchange (TLS 1.2) and the AEAD.
fn short_cipher(name: &str) -> String {
    let name = name.trim_start_matches("TLS13_").trim_start_matches("TLS_");
    let name = name.replace("_WITH_", " ");
    name.trim_end_matches("_SHA256")
        .trim_end_matches("_SHA384")
        .to_owned()
}

// ---- DANE ------------------------------------------------------------------------------------

/// The state of the `index`-th TLSA record of a host: `NOT USABLE: why`, `usable`, or how
/// many of the probed addresses it matches.
pub(super) fn tlsa_record(host: &MxHost, index: usize, record: &TlsaEntry) -> String {
    if !record.usable {
        return format!(
            "NOT USABLE: {}",
            record.reason.as_deref().unwrap_or("unknown")
        );
    }
    let probed: Vec<bool> = host
        .addresses
        .iter()
        .filter_map(|a| a.dane.as_ref())
        .filter_map(|d| d.records.get(index))
        .map(|r| r.matched)
        .collect();
    if probed.is_empty() {
        return "usable".to_owned();
    }
    let matched = probed.iter().filter(|m| **m).count();
    format!("matches {matched}/{} addresses", probed.len())
}

/// Whether a TLSA record matched on one address, and why not.
pub(super) fn record_result(matched: bool, detail: Option<&str>) -> String {
    match (matched, detail) {
        (true, _) => "matches".to_owned(),
        (false, Some(d)) => format!("does NOT match: {d}"),
        (false, None) => "does NOT match".to_owned(),
    }
}

// ---- MTA-STS and TLS-RPT ---------------------------------------------------------------------

/// A TXT lookup in short: `_mta-sts.example · DNSSEC secure · 1 record`.
pub(super) fn txt_summary(txt: &TxtLookup) -> String {
    format!(
        "{} · DNSSEC {} · {}",
        txt.name,
        txt.dnssec,
        plural(txt.records.len(), "record", "records")
    )
}

/// The result of one policy fetch: `ok`, or what went wrong.
pub(super) fn fetch_result(f: &PolicyFetch) -> String {
    if f.ok {
        "ok".to_owned()
    } else {
        f.error.clone().unwrap_or_else(|| "FAILED".to_owned())
    }
}

/// The address a policy fetch used, or `no address`.
pub(super) fn fetch_address(f: &PolicyFetch) -> String {
    f.address
        .map_or_else(|| "no address".to_owned(), |a| a.to_string())
}

/// A policy in one line: `mode enforce · max_age 604800 (7 days) · mx a, b`.
pub(super) fn policy(p: &PolicyReport) -> String {
    format!(
        "mode {} · max_age {} ({}) · mx {}",
        p.mode,
        p.max_age,
        duration_words(p.max_age),
        p.mx.join(", ")
    )
}

/// What the draft-era TLS-RPT records are called.
pub(super) const LEGACY_RPT: &str = "draft-era name _smtp-tlsrpt";

// ---- scan summary ---------------------------------------------------------------------------

/// The heading of each part of a scan summary.
pub(super) fn summary_heading(section: Section) -> &'static str {
    match section {
        Section::MtaSts => "MTA-STS",
        Section::Dane => "DANE",
        Section::TlsRpt => "TLS-RPT",
        Section::Delivery => "What a sender that enforces DANE and MTA-STS does",
        Section::Answers => "What the mxsec daemon answers Postfix",
        Section::Findings => "Most frequent problems",
        Section::Providers => "Most used MX providers",
    }
}

/// The daemon's answer as Postfix reads its start: `OK dane-only`, `NOTFOUND`, `TEMP`.
pub(super) fn answer(kind: AnswerKind) -> &'static str {
    match kind {
        AnswerKind::DaneOnly => "OK dane-only",
        AnswerKind::Dane => "OK dane",
        AnswerKind::Secure => "OK secure",
        AnswerKind::Encrypt => "OK encrypt",
        AnswerKind::NotFound => "NOTFOUND",
        AnswerKind::Temp => "TEMP",
        AnswerKind::Other => "other",
    }
}

/// The scan's size in words: `12 domains checked · 1 not checked · 0 unreadable lines`.
pub(super) fn scan_counts(domains: u64, failures: u64, unreadable: u64) -> String {
    let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    let mut words = format!("{} checked", plural(n(domains), "domain", "domains"));
    if failures > 0 {
        words.push_str(&format!(" · {failures} not checked"));
    }
    if unreadable > 0 {
        words.push_str(&format!(
            " · {}",
            plural(n(unreadable), "unreadable line", "unreadable lines")
        ));
    }
    words
}

/// A percentage with one decimal: `40.0 %`.
pub(super) fn percent(value: f64) -> String {
    format!("{value:.1} %")
}

// ---- words -----------------------------------------------------------------------------------

/// `1 error`, `2 errors`.
pub(super) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `604800` → `7 days`, `86400` → `1 day`, `3600` → `1 hour`.
pub(super) fn duration_words(secs: u64) -> String {
    const DAY: u64 = 86_400;
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    if secs >= DAY {
        plural(count(secs / DAY), "day", "days")
    } else if secs >= 3600 {
        plural(count(secs / 3600), "hour", "hours")
    } else {
        plural(count(secs), "second", "seconds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_cipher_names() {
        assert_eq!(short_cipher("TLS13_AES_256_GCM_SHA384"), "AES_256_GCM");
        assert_eq!(
            short_cipher("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            "ECDHE_RSA AES_128_GCM"
        );
        assert_eq!(
            short_cipher("TLS13_CHACHA20_POLY1305_SHA256"),
            "CHACHA20_POLY1305"
        );
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(duration_words(604_800), "7 days");
        assert_eq!(duration_words(86_400), "1 day");
        assert_eq!(duration_words(7200), "2 hours");
        assert_eq!(duration_words(59), "59 seconds");
    }

    #[test]
    fn seconds_have_two_decimals() {
        assert_eq!(seconds(1250), "1.25 s");
        assert_eq!(seconds(50), "0.05 s");
    }
}
