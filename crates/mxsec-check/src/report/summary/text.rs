//! The summary for a terminal: the scan's size, a bar per verdict value, the most frequent
//! problems and the most used MX providers, at most [`WIDTH`] columns wide.

use std::fmt::Write as _;

use super::{Chart, ProviderSummary, ScanSummary, Section};
use crate::report::labels;
use crate::report::text::WIDTH;
use crate::report::Delivery;

/// The width of the label column.
const LABEL: usize = 16;
/// The widest bar, in characters.
const BAR: usize = 30;
/// The width of the provider column.
const PROVIDER: usize = 28;

/// Writes into the `String`; formatting into a `String` cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {
        let _ = writeln!($out, $($arg)*);
    };
}

/// Renders the summary as plain text.
pub fn render(summary: &ScanSummary) -> String {
    let mut out = String::with_capacity(4096);
    w!(
        out,
        "mxsec scan summary: {}",
        labels::scan_counts(summary.domains, summary.failures, summary.unreadable_lines)
    );
    w!(
        out,
        "  {:<LABEL$}{:>8}  {:>7}",
        "with errors",
        summary.with_errors.count,
        labels::percent(summary.with_errors.percent)
    );
    w!(
        out,
        "  {:<LABEL$}{:>8}  {:>7}",
        "warnings only",
        summary.with_warnings_only.count,
        labels::percent(summary.with_warnings_only.percent)
    );
    for chart in summary.charts() {
        write_chart(&mut out, &chart);
    }
    write_findings(&mut out, summary);
    write_providers(&mut out, summary);
    out
}

fn write_chart(out: &mut String, chart: &Chart) {
    w!(out, "\n{}", labels::summary_heading(chart.section));
    for bar in &chart.bars {
        // At least one mark for a non-zero count, so that it does not look like none.
        let marks = ((bar.percent / 100.0 * BAR as f64).round() as usize)
            .max(usize::from(bar.count > 0))
            .min(BAR);
        let line = format!(
            "  {:<LABEL$}{:>8}  {:>7}  {}",
            bar.label,
            bar.count,
            labels::percent(bar.percent),
            "#".repeat(marks)
        );
        w!(out, "{}", line.trim_end());
    }
}

fn write_findings(out: &mut String, summary: &ScanSummary) {
    w!(
        out,
        "\n{} (domains with an error or warning of the ID)",
        labels::summary_heading(Section::Findings)
    );
    if summary.findings.is_empty() {
        w!(out, "  none");
    }
    for f in &summary.findings {
        let lead = format!(
            "  {:<14}{:<9}{:>6}  {:>7}  ",
            f.id.as_str(),
            f.severity.as_str(),
            f.domains,
            labels::percent(f.percent)
        );
        let room = WIDTH.saturating_sub(lead.chars().count());
        w!(out, "{lead}{}", cut(f.title, room));
    }
}

fn write_providers(out: &mut String, summary: &ScanSummary) {
    w!(
        out,
        "\n{} (by registered domain of the MX hosts)",
        labels::summary_heading(Section::Providers)
    );
    if summary.providers.is_empty() {
        w!(out, "  none");
        return;
    }
    w!(
        out,
        "  {:<PROVIDER$}{:>8}  {:>13}  {:>8}  {:>11}  {:>8}  {:>7}",
        "provider",
        "domains",
        "authenticated",
        "deferred",
        "DANE usable",
        "STS enf.",
        "errors"
    );
    for p in &summary.providers {
        w!(
            out,
            "  {:<PROVIDER$}{:>8}  {:>13}  {:>8}  {:>11}  {:>8}  {:>7}",
            cut(&p.provider, PROVIDER - 1),
            domains(p),
            labels::percent(delivery(p, Delivery::Authenticated)),
            labels::percent(delivery(p, Delivery::Deferred)),
            labels::percent(p.dane_usable.percent),
            labels::percent(p.mta_sts_enforce.percent),
            labels::percent(p.with_errors.percent),
        );
    }
    if summary.providers_dropped > 0 {
        w!(
            out,
            "  (more providers than the table holds: counts marked + may miss up to that many \
             domains)"
        );
    }
}

/// The domain count of a provider, with `+N` when it may have missed up to N.
fn domains(p: &ProviderSummary) -> String {
    if p.uncounted_at_most > 0 {
        format!("{}+{}", p.domains, p.uncounted_at_most)
    } else {
        p.domains.to_string()
    }
}

/// The share of a provider's domains with this delivery.
fn delivery(p: &ProviderSummary, value: Delivery) -> f64 {
    p.delivery
        .iter()
        .find(|r| r.value == value)
        .map_or(0.0, |r| r.percent)
}

/// `text` cut to `room` characters, with `…` when cut.
fn cut(text: &str, room: usize) -> String {
    if text.chars().count() <= room {
        return text.to_owned();
    }
    let mut kept: String = text.chars().take(room.saturating_sub(1)).collect();
    kept.push('…');
    kept
}
