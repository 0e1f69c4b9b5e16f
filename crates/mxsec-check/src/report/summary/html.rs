//! The summary as HTML: a bar chart per verdict, the most frequent problems and the most used
//! MX providers, with charts drawn in inline SVG. No script, nothing loaded from elsewhere.
//!
//! [`fragment`] is the body of the `/scan` page of `mxsec web`, under the site's style sheet;
//! [`page`] is a whole document that stands alone (`mxsec check --summary=html`), with its
//! few styles inline. The charts need no style sheet: sizes and colours are SVG attributes.
//! Every text that did not come from a string literal here goes through [`Text`], and the
//! words are those of the terminal summary ([`super::text`]), from the reports' one table of
//! words (`report/labels.rs`).

use std::fmt::Write as _;

use super::{Bar, Chart, ProviderSummary, ScanSummary, Section, Tone};
use crate::report::html::Text;
use crate::report::{labels, Delivery};

/// The width of a chart's label column, in pixels.
const LABEL_PX: u32 = 130;
/// The widest bar, in pixels.
const BAR_PX: u32 = 200;
/// The room after a bar for its figures.
const FIGURES_PX: u32 = 100;
/// The height of one bar's row.
const ROW_PX: u32 = 24;
/// The width of a provider's stacked bar.
const STACK_PX: u32 = 200;

/// The styles of the stand-alone page.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;\
    padding:0 1rem;color:#222}table{border-collapse:collapse}th,td{padding:.2rem .6rem;\
    text-align:left;border-bottom:1px solid #ddd}td.n{text-align:right;white-space:nowrap}\
    .scan-findings th{white-space:nowrap}\
    .charts{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0}\
    figcaption{font-weight:600}";

/// Writes into the `String`; formatting into a `String` cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {
        let _ = write!($out, $($arg)*);
    };
}

/// The summary as a whole HTML document that needs nothing else.
pub fn page(summary: &ScanSummary) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>mxsec scan summary</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         {}</main>\n</body>\n</html>\n",
        fragment(summary)
    )
}

/// The summary as an HTML fragment: one `<section id="scan-summary">`.
pub fn fragment(summary: &ScanSummary) -> String {
    let mut out = String::with_capacity(16 * 1024);
    w!(
        out,
        "<section class=\"scan-summary\" id=\"scan-summary\" aria-labelledby=\"scan-h\">\n\
         <h2 id=\"scan-h\">Scan summary</h2>\n<p class=\"scan-counts\">{}</p>\n\
         <p>With errors: <strong>{}</strong> ({}) · warnings only: <strong>{}</strong> ({})</p>\n\
         <div class=\"charts\">\n",
        labels::scan_counts(summary.domains, summary.failures, summary.unreadable_lines),
        summary.with_errors.count,
        labels::percent(summary.with_errors.percent),
        summary.with_warnings_only.count,
        labels::percent(summary.with_warnings_only.percent),
    );
    for chart in summary.charts() {
        write_chart(&mut out, &chart);
    }
    out.push_str("</div>\n");
    write_findings(&mut out, summary);
    write_providers(&mut out, summary);
    out.push_str("</section>\n");
    out
}

/// The colour of a bar.
fn colour(tone: Tone) -> &'static str {
    match tone {
        Tone::Good => "#2e7d32",
        Tone::Partial => "#b7791f",
        Tone::Neutral => "#8a8a8a",
        Tone::Bad => "#c62828",
    }
}

/// The length of a bar for `percent` of `full` pixels; at least one pixel for a non-zero count.
fn length(percent: f64, count: u64, full: u32) -> u32 {
    let px = (percent / 100.0 * f64::from(full)).round() as u32;
    px.max(u32::from(count > 0)).min(full)
}

fn write_chart(out: &mut String, chart: &Chart) {
    let heading = labels::summary_heading(chart.section);
    let id = match chart.section {
        Section::MtaSts => "mta-sts",
        Section::Dane => "dane",
        Section::TlsRpt => "tls-rpt",
        Section::Delivery => "delivery",
        Section::Answers => "answers",
        Section::Findings => "findings",
        Section::Providers => "providers",
    };
    let described: Vec<String> = chart
        .bars
        .iter()
        .map(|b| format!("{} {} ({})", b.label, b.count, labels::percent(b.percent)))
        .collect();
    w!(
        out,
        "<figure class=\"chart\" id=\"chart-{id}\"><figcaption id=\"chart-{id}-h\">{heading}\
         </figcaption>\n"
    );
    bars_svg(
        out,
        &format!("{heading}: {}", described.join(", ")),
        &chart.bars,
    );
    out.push_str("</figure>\n");
}

/// A horizontal bar chart: a row per bar, label, bar and figures.
fn bars_svg(out: &mut String, title: &str, bars: &[Bar]) {
    let width = LABEL_PX + BAR_PX + FIGURES_PX;
    let height = ROW_PX * u32::try_from(bars.len()).unwrap_or(0);
    w!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{width}\" \
         height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" \
         font-size=\"13\"><title>{}</title>\n",
        Text(title)
    );
    for (row, bar) in (0u32..).zip(bars) {
        let y = row * ROW_PX;
        let px = length(bar.percent, bar.count, BAR_PX);
        w!(
            out,
            "<text x=\"0\" y=\"{ty}\" fill=\"#222\">{}</text>\
             <rect x=\"{LABEL_PX}\" y=\"{ry}\" width=\"{px}\" height=\"16\" fill=\"{}\"/>\
             <text x=\"{fx}\" y=\"{ty}\" fill=\"#222\">{} · {}</text>\n",
            Text(bar.label),
            colour(bar.tone),
            bar.count,
            labels::percent(bar.percent),
            ty = y + 17,
            ry = y + 4,
            fx = LABEL_PX + px + 6,
        );
    }
    out.push_str("</svg>\n");
}

fn write_findings(out: &mut String, summary: &ScanSummary) {
    w!(
        out,
        "<h3>{}</h3>\n<p>Domains with at least one error or warning of each ID.</p>\n",
        labels::summary_heading(Section::Findings)
    );
    if summary.findings.is_empty() {
        out.push_str("<p class=\"quiet\">None.</p>\n");
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table class=\"scan-findings\">\n<thead><tr>\
         <th scope=\"col\">ID</th><th scope=\"col\">Severity</th>\
         <th scope=\"col\">Domains</th><th scope=\"col\">Share</th>\
         <th scope=\"col\">What</th></tr></thead>\n<tbody>\n",
    );
    for f in &summary.findings {
        let tone = match f.severity {
            crate::Severity::Error => Tone::Bad,
            _ => Tone::Partial,
        };
        w!(
            out,
            "<tr class=\"sev-{sev}\"><th scope=\"row\">{}</th><td>{sev}</td>\
             <td class=\"n\">{}</td><td class=\"n\">",
            f.id,
            f.domains,
            sev = f.severity.as_str(),
        );
        share_svg(out, f.percent, f.domains, tone);
        w!(
            out,
            " {}</td><td>{}</td></tr>\n",
            labels::percent(f.percent),
            Text(f.title)
        );
    }
    out.push_str("</tbody></table></div>\n");
}

/// A small bar of one share, for a table cell.
fn share_svg(out: &mut String, percent: f64, count: u64, tone: Tone) {
    let px = length(percent, count, 100);
    w!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"12\" \
         aria-hidden=\"true\"><rect width=\"100\" height=\"12\" fill=\"#eee\"/>\
         <rect width=\"{px}\" height=\"12\" fill=\"{}\"/></svg>",
        colour(tone)
    );
}

fn write_providers(out: &mut String, summary: &ScanSummary) {
    w!(
        out,
        "<h3>{}</h3>\n<p>MX hosts grouped by registrable domain (by the Public Suffix \
         List); each domain counts once for every provider among its MX hosts. The bar \
         shows what a sender that enforces DANE and MTA-STS does with the provider's domains.\
         </p>\n",
        labels::summary_heading(Section::Providers)
    );
    if summary.providers.is_empty() {
        out.push_str("<p class=\"quiet\">None.</p>\n");
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table class=\"scan-providers\">\n<thead><tr>\
         <th scope=\"col\">Provider</th><th scope=\"col\">Domains</th>\
         <th scope=\"col\">Delivery</th><th scope=\"col\">Authenticated</th>\
         <th scope=\"col\">DANE usable</th><th scope=\"col\">MTA-STS enforce</th>\
         <th scope=\"col\">With errors</th></tr></thead>\n<tbody>\n",
    );
    for p in &summary.providers {
        let domains = if p.uncounted_at_most > 0 {
            format!("{} (+ up to {})", p.domains, p.uncounted_at_most)
        } else {
            p.domains.to_string()
        };
        w!(
            out,
            "<tr><th scope=\"row\">{}</th><td class=\"n\">{domains}</td><td>",
            Text(&p.provider)
        );
        stack_svg(out, p);
        let authenticated = p
            .delivery
            .iter()
            .find(|r| r.value == Delivery::Authenticated)
            .map_or(0.0, |r| r.percent);
        w!(
            out,
            "</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td></tr>\n",
            labels::percent(authenticated),
            labels::percent(p.dane_usable.percent),
            labels::percent(p.mta_sts_enforce.percent),
            labels::percent(p.with_errors.percent),
        );
    }
    out.push_str("</tbody></table></div>\n");
    if summary.providers_dropped > 0 {
        out.push_str(
            "<p class=\"quiet\">The scan has more providers than the summary keeps: a \
             provider's count may miss up to the number shown in brackets.</p>\n",
        );
    }
}

/// One provider's deliveries as a stacked bar, a segment per value.
fn stack_svg(out: &mut String, p: &ProviderSummary) {
    let described: Vec<String> = p
        .delivery
        .iter()
        .filter(|r| r.count > 0)
        .map(|r| format!("{} {}", r.value.as_str(), labels::percent(r.percent)))
        .collect();
    w!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{STACK_PX}\" \
         height=\"14\"><title>{}</title>",
        Text(&described.join(", "))
    );
    let mut x = 0;
    for row in &p.delivery {
        let px = length(row.percent, row.count, STACK_PX).min(STACK_PX - x);
        if px > 0 {
            w!(
                out,
                "<rect x=\"{x}\" width=\"{px}\" height=\"14\" fill=\"{}\"/>",
                colour(super::Category::tone(row.value))
            );
        }
        x += px;
    }
    out.push_str("</svg>");
}
