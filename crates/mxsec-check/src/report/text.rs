//! The human report: summary first, then one section per area, at most 100 columns wide.
//!
//! The summary says in a few lines whether anything is wrong, what each kind of sender will
//! do, the answer the mxsec daemon would give Postfix, and the one-line list of problems.
//! Each area then shows its observations as compact tables (per MX host and per address) and
//! its findings with their fix and RFC section. Passed checks are counted per area; with
//! [`TextOptions::verbose`] they are listed.
//!
//! Colour is plain ANSI SGR, chosen by the caller ([`TextOptions::color`]): the binary turns
//! it off for a non-terminal, with `NO_COLOR`, or with `--color never`. Text that came from
//! the network (banners, TXT records) has its control characters replaced, so it can neither
//! break the layout nor inject escape sequences.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::labels::{self, plural, Status};
use super::layout::{self, Layout};
use super::{AddressReport, CertSummary, Delivery, PolicyFetch, Report, TxtLookup};
use crate::catalogue::{Area, Severity};
use crate::finding::{one_line, Finding};

/// The width the report never exceeds, in columns.
pub const WIDTH: usize = 100;

/// How to render the human report.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct TextOptions {
    /// Emit ANSI colours.
    pub color: bool,
    /// List every passed check instead of counting them.
    pub verbose: bool,
}

/// Renders the human report of one domain.
pub fn render(report: &Report, options: TextOptions) -> String {
    let mut out = Out::new(options);
    layout::print(&mut out, report);
    out.text
}

/// Renders one line for a domain that could not be checked.
pub fn render_failure(input: &str, error: &str, options: TextOptions) -> String {
    let mut out = Out::new(options);
    let input = one_line(input);
    let text = format!("{input}: check could not run: {}", one_line(error));
    for (i, line) in wrap(&text, WIDTH - 8).into_iter().enumerate() {
        let lead = if i == 0 { "ERROR   " } else { "        " };
        out.line(&[(lead, Paint::Error), (&line, Paint::Plain)]);
    }
    out.text
}

/// The width of the label column of the summary.
const LABEL: usize = 12;
/// The width of the sender column of the summary.
const SENDER: usize = 18;
/// The width of the delivery column of the summary.
const DELIVERY: usize = 15;

impl Layout for Out {
    fn summary(&mut self, report: &Report) {
        let left = format!("mxsec check {}", report.domain);
        let right = format!(
            "{} · {}",
            labels::checked_at(report),
            labels::seconds(report.duration_ms)
        );
        let gap = WIDTH.saturating_sub(left.chars().count() + right.chars().count());
        self.line(&[
            (&left, Paint::Heading),
            (&" ".repeat(gap.max(1)), Paint::Plain),
            (&right, Paint::Dim),
        ]);

        let status = Status::of(&report.summary);
        let paint = match status {
            Status::Fail => Paint::Error,
            Status::Warn => Paint::Warning,
            Status::Ok => Paint::Pass,
        };
        let counts = labels::counts(&report.summary).join(" · ");
        self.line(&[
            (&format!("{:<6}", status.tag()), paint),
            (&counts, Paint::Plain),
        ]);
        self.blank();

        let verdict = labels::verdict_line(report);
        self.line(&[("  verdict   ", Paint::Label), (&verdict, Paint::Strong)]);
        for (i, line) in wrap(&report.verdict.policy, WIDTH - LABEL)
            .iter()
            .enumerate()
        {
            let label = if i == 0 { "  Postfix" } else { "" };
            self.line(&[
                (&format!("{label:<LABEL$}"), Paint::Label),
                (line, Paint::Plain),
            ]);
        }
        for (i, (who, outcome)) in labels::senders(report).into_iter().enumerate() {
            let label = if i == 0 { "  senders" } else { "" };
            let delivery = outcome.delivery.as_str();
            let reason = fit(
                &one_line(&outcome.reason),
                WIDTH - LABEL - SENDER - DELIVERY,
            );
            self.line(&[
                (&format!("{label:<LABEL$}"), Paint::Label),
                (&format!("{who:<SENDER$}"), Paint::Plain),
                (
                    &format!("{delivery:<DELIVERY$}"),
                    delivery_paint(outcome.delivery),
                ),
                (&reason, Paint::Dim),
            ]);
        }

        let problems = labels::problems(report);
        if !problems.is_empty() {
            self.blank();
        }
        for p in problems {
            let f = p.finding;
            let text = format!("{}: {}", f.subject, f.message);
            let id = match p.times() {
                Some(times) => format!("{} {times}", f.id),
                None => f.id.to_string(),
            };
            self.finding_line(f.severity, &id, &fit(&text, WIDTH - FINDING_TEXT));
        }
    }

    fn area_start(&mut self, area: Area) {
        self.blank();
        self.line(&[(area.title(), Paint::Heading)]);
    }

    fn mx(&mut self, report: &Report) {
        let mx = &report.mx;
        let mut line = format!(
            "MX records    DNSSEC {} · {}",
            mx.dnssec,
            labels::mx_kind(mx)
        );
        if let Some(at) = &mx.broken_at {
            let _ = write!(line, " · chain breaks at {}", one_line(at));
        }
        self.indented(2, &fit(&line, WIDTH - 2), Paint::Plain);
        if mx.hosts.is_empty() {
            return;
        }
        let header = format!(
            "{:>8} {:<28} {:<10} {:<10} {:<20} {}",
            "pref", "host", "DNSSEC", "addresses", "TLSA", "MTA-STS"
        );
        self.indented(2, &header, Paint::Label);
        for host in &mx.hosts {
            let v4 = host
                .addresses
                .iter()
                .filter(|a| a.address.is_ipv4())
                .count();
            let v6 = host.addresses.len() - v4;
            let row = format!(
                "{:>8} {} {:<10} {:<10} {} {}",
                labels::preference(host),
                fit(&labels::host_name(host), 28),
                host.dnssec.as_str(),
                format!("{v4} v4 {v6} v6"),
                fit(&labels::tlsa_summary(host), 20),
                labels::coverage(host)
            );
            self.indented(2, &fit(&row, WIDTH - 2), Paint::Plain);
        }
    }

    fn transport(&mut self, report: &Report) {
        let hosts = labels::hosts_with_addresses(report);
        if hosts.is_empty() {
            self.indented(2, "no address to probe", Paint::Dim);
            return;
        }
        let header = row(&[
            "address", "STARTTLS", "TLS", "WebPKI", "expiry", "DANE", "STS",
        ]);
        self.indented(4, &header, Paint::Label);
        for host in hosts {
            let pref = host
                .preference
                .map(|p| format!("  (MX {p})"))
                .unwrap_or_default();
            self.line(&[
                ("  ", Paint::Plain),
                (host.name.as_str(), Paint::Strong),
                (&pref, Paint::Dim),
            ]);
            for a in &host.addresses {
                self.indented(4, &address_row(a), address_paint(a));
                self.greeting_lines(a);
            }
            let mut leaves: Vec<&CertSummary> = Vec::new();
            for a in &host.addresses {
                if let Some(leaf) = a.tls.as_ref().and_then(|t| t.chain.first()) {
                    if !leaves.contains(&leaf) {
                        leaves.push(leaf);
                    }
                }
            }
            for leaf in leaves {
                let expires = leaf.not_after.get(..10).unwrap_or(&leaf.not_after);
                let line = format!(
                    "cert {} · issuer {} · until {expires}",
                    one_line(&labels::dns_names(&leaf.dns_names)),
                    common_name(&leaf.issuer),
                );
                self.indented(4, &fit(&line, WIDTH - 4), Paint::Dim);
                let key = format!("key  3 1 1 {}", leaf.spki_sha256);
                self.indented(4, &fit(&key, WIDTH - 4), Paint::Dim);
            }
        }
    }

    fn dane(&mut self, report: &Report) {
        let mut any = false;
        for host in report
            .mx
            .hosts
            .iter()
            .filter(|h| !h.tlsa.records.is_empty())
        {
            any = true;
            let line = format!("{} · DNSSEC {}", host.tlsa.owner, host.tlsa.dnssec);
            self.indented(2, &fit(&line, WIDTH - 2), Paint::Strong);
            for (i, r) in host.tlsa.records.iter().enumerate() {
                let state = one_line(&labels::tlsa_record(host, i, r));
                let paint = if r.usable {
                    Paint::Plain
                } else {
                    Paint::Warning
                };
                let record = one_line(&r.record);
                let (record_len, state_len) = (record.chars().count(), state.chars().count());
                if 4 + record_len + 2 + state_len <= WIDTH {
                    self.line(&[
                        ("    ", Paint::Plain),
                        (&record, Paint::Plain),
                        ("  ", Paint::Plain),
                        (&state, paint),
                    ]);
                } else {
                    self.indented(4, &fit(&record, WIDTH - 4), Paint::Plain);
                    self.indented(6, &fit(&state, WIDTH - 6), paint);
                }
            }
        }
        if !any {
            self.indented(2, "no TLSA records found", Paint::Dim);
        }
    }

    fn mta_sts(&mut self, report: &Report) {
        let sts = &report.mta_sts;
        self.txt_lines("TXT", &sts.txt);
        for (i, f) in sts.fetches.iter().enumerate() {
            let label = if i == 0 { "fetch" } else { "" };
            let paint = if f.ok { Paint::Plain } else { Paint::Warning };
            self.labelled(label, &fetch_line(f), paint);
        }
        if sts.fetches.is_empty() && !sts.txt.records.is_empty() {
            self.labelled("fetch", "not attempted", Paint::Dim);
        }
        if let Some(p) = &sts.policy {
            let line = one_line(&labels::policy(p));
            for (i, l) in wrap(&line, WIDTH - 13).into_iter().enumerate() {
                self.labelled(if i == 0 { "policy" } else { "" }, &l, Paint::Plain);
            }
        }
    }

    fn tls_rpt(&mut self, report: &Report) {
        let rpt = &report.tls_rpt;
        self.txt_lines("TXT", &rpt.txt);
        for (i, uri) in rpt.rua.iter().enumerate() {
            self.labelled(if i == 0 { "rua" } else { "" }, uri, Paint::Plain);
        }
        if !rpt.legacy_records.is_empty() {
            self.labelled("", labels::LEGACY_RPT, Paint::Warning);
        }
        for r in &rpt.legacy_records {
            self.labelled("", &format!("\"{}\"", one_line(r)), Paint::Warning);
        }
    }

    fn findings(&mut self, report: &Report, area: Area) {
        let (others, passes) = labels::findings_of(report, area);
        if others.is_empty() && passes.is_empty() {
            return;
        }
        self.blank();
        for f in others {
            self.finding_block(f);
        }
        if passes.is_empty() {
            return;
        }
        if self.options.verbose {
            for f in passes {
                let text = fit(
                    &format!("{}: {}", f.subject, f.message),
                    WIDTH - FINDING_TEXT,
                );
                self.finding_head(f, &text);
            }
            return;
        }
        let mut by_id: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &passes {
            *by_id.entry(f.id.as_str()).or_default() += 1;
        }
        let list: Vec<String> = by_id
            .iter()
            .map(|(id, n)| {
                if *n == 1 {
                    (*id).to_owned()
                } else {
                    format!("{id} ×{n}")
                }
            })
            .collect();
        let text = format!(
            "{}: {}",
            plural(passes.len(), "check passed", "checks passed"),
            list.join(", ")
        );
        for (i, l) in wrap(&text, WIDTH - 11).into_iter().enumerate() {
            let lead = if i == 0 { "  pass     " } else { "           " };
            self.line(&[(lead, Paint::Pass), (&l, Paint::Dim)]);
        }
    }

    fn area_end(&mut self, _area: Area) {}
}

fn delivery_paint(d: Delivery) -> Paint {
    match d {
        Delivery::Authenticated => Paint::Pass,
        Delivery::Encrypted | Delivery::Opportunistic => Paint::Warning,
        Delivery::Deferred => Paint::Error,
        Delivery::NoMail => Paint::Plain,
    }
}

/// Column widths of the per-address table, after a four-column indent.
const COLS: [usize; 7] = [26, 13, 20, 10, 6, 8, 4];

fn address_row(a: &AddressReport) -> String {
    row(&[
        &a.address.to_string(),
        labels::starttls(a),
        &labels::tls(a),
        labels::pkix(a),
        &labels::expiry(a),
        labels::dane(a),
        labels::sts(a),
    ])
}

fn address_paint(a: &AddressReport) -> Paint {
    if labels::refused(a) {
        Paint::Error
    } else if !labels::starttls_offered(a) || a.tls.as_ref().is_some_and(|t| t.error.is_some()) {
        Paint::Warning
    } else {
        Paint::Plain
    }
}

fn common_name(dn: &str) -> String {
    dn.split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("CN="))
        .map_or_else(|| one_line(dn), one_line)
}

fn row(cells: &[&str]) -> String {
    let mut s = String::new();
    for (i, cell) in cells.iter().enumerate() {
        let w = COLS.get(i).copied().unwrap_or(8);
        s.push_str(&fit(cell, w));
        if i + 1 < cells.len() {
            s.push(' ');
        }
    }
    s.trim_end().to_owned()
}

fn fetch_line(f: &PolicyFetch) -> String {
    let mut s = format!("{} {}", f.family.as_str(), labels::fetch_address(f));
    if let Some(status) = f.http_status {
        let _ = write!(s, " · HTTP {status}");
    }
    if let Some(ct) = &f.content_type {
        let _ = write!(s, " · {}", one_line(ct));
    }
    if let Some(b) = f.bytes {
        let _ = write!(s, " · {b} bytes");
    }
    if let Some(ms) = f.duration_ms {
        let _ = write!(s, " · {ms} ms");
    }
    let _ = write!(s, " · {}", one_line(&labels::fetch_result(f)));
    s
}

/// The column where a finding's text starts.
const FINDING_TEXT: usize = 2 + 9 + 14;

fn severity_paint(s: Severity) -> Paint {
    match s {
        Severity::Error => Paint::Error,
        Severity::Warning => Paint::Warning,
        Severity::Info => Paint::Info,
        Severity::Pass => Paint::Pass,
    }
}

// ---- text helpers ----------------------------------------------------------------------------

/// Pads `text` to `width` columns, or cuts it and ends it with `…`.
fn fit(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        let mut s = text.to_owned();
        s.extend(std::iter::repeat_n(' ', width - n));
        s
    } else if width == 0 {
        String::new()
    } else {
        let mut s: String = text.chars().take(width - 1).collect();
        s.push('…');
        s
    }
}

/// Word-wraps `text` to lines of at most `width` columns; a word longer than a line is cut.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let sep = usize::from(len > 0);
            if len + sep + word.len() <= width {
                if sep == 1 {
                    line.push(' ');
                }
                line.extend(word.iter());
                len += sep + word.len();
                break;
            }
            if len > 0 {
                lines.push(std::mem::take(&mut line));
                len = 0;
                continue;
            }
            let rest = word.split_off(width);
            lines.push(word.iter().collect());
            word = rest;
        }
    }
    if len > 0 || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// What a piece of text looks like.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Paint {
    Plain,
    Heading,
    Label,
    Strong,
    Dim,
    Error,
    Warning,
    Info,
    Pass,
}

impl Paint {
    fn sgr(self) -> Option<&'static str> {
        match self {
            Self::Plain => None,
            Self::Heading => Some("1;4"),
            Self::Label => Some("2"),
            Self::Strong => Some("1"),
            Self::Dim => Some("2"),
            Self::Error => Some("1;31"),
            Self::Warning => Some("33"),
            Self::Info => Some("36"),
            Self::Pass => Some("32"),
        }
    }
}

/// The output being built, one line at a time.
struct Out {
    options: TextOptions,
    text: String,
}

impl Out {
    fn new(options: TextOptions) -> Self {
        Self {
            options,
            text: String::new(),
        }
    }

    /// Writes one line made of painted pieces; trailing spaces are dropped.
    fn line(&mut self, pieces: &[(&str, Paint)]) {
        let mut pieces: Vec<(String, Paint)> =
            pieces.iter().map(|(t, p)| ((*t).to_owned(), *p)).collect();
        // Drop the trailing padding, so that no line ends in spaces.
        while let Some((t, _)) = pieces.last_mut() {
            t.truncate(t.trim_end().len());
            if t.is_empty() {
                pieces.pop();
            } else {
                break;
            }
        }
        for (t, p) in &pieces {
            match (self.options.color, p.sgr()) {
                (true, Some(code)) if !t.trim().is_empty() => {
                    let _ = write!(self.text, "\x1b[{code}m{t}\x1b[0m");
                }
                _ => self.text.push_str(t),
            }
        }
        self.text.push('\n');
    }

    fn indented(&mut self, indent: usize, text: &str, paint: Paint) {
        self.line(&[(&" ".repeat(indent), Paint::Plain), (text, paint)]);
    }

    /// A line with a label in the left column.
    fn labelled(&mut self, label: &str, text: &str, paint: Paint) {
        let text = fit(text, WIDTH - 13);
        self.line(&[(&format!("  {label:<11}"), Paint::Label), (&text, paint)]);
    }

    /// A TXT lookup: the name and its status, then every record quoted.
    fn txt_lines(&mut self, label: &str, txt: &TxtLookup) {
        let head = format!("{} · DNSSEC {}", txt.name, txt.dnssec);
        self.labelled(label, &head, Paint::Plain);
        if txt.records.is_empty() {
            self.labelled("", "no record", Paint::Dim);
        }
        for r in &txt.records {
            self.labelled("", &format!("\"{}\"", one_line(r)), Paint::Plain);
        }
    }

    /// The greeting of an address, under its row: always with [`TextOptions::verbose`], else
    /// where the SMTP dialogue did not reach STARTTLS, which the greeting often explains (a
    /// refusal, a middlebox's banner; T-01).
    fn greeting_lines(&mut self, a: &AddressReport) {
        let Some(banner) = &a.banner else {
            return;
        };
        if !self.options.verbose && labels::starttls_offered(a) {
            return;
        }
        for line in banner.lines() {
            self.indented(6, &fit(&one_line(line), WIDTH - 6), Paint::Dim);
        }
    }

    /// The first line of a finding: severity, ID and `text`.
    fn finding_head(&mut self, f: &Finding, text: &str) {
        self.finding_line(f.severity, f.id.as_str(), text);
    }

    /// A line of the finding columns: severity, ID (or IDs) and `text`.
    fn finding_line(&mut self, severity: Severity, id: &str, text: &str) {
        self.line(&[
            ("  ", Paint::Plain),
            (
                &format!("{:<9}", severity.as_str()),
                severity_paint(severity),
            ),
            (&format!("{id:<14}"), Paint::Strong),
            (text, Paint::Plain),
        ]);
    }

    /// A finding in full: what, about what, the fix and the RFC section.
    fn finding_block(&mut self, f: &Finding) {
        let width = WIDTH - FINDING_TEXT;
        let pad = " ".repeat(FINDING_TEXT);
        let head = wrap(&format!("{}: {}", f.subject, f.message), width);
        for (i, line) in head.iter().enumerate() {
            if i == 0 {
                self.finding_head(f, line);
            } else {
                self.line(&[(&pad, Paint::Plain), (line, Paint::Plain)]);
            }
        }
        // The RFC reference is kept on one line: its spaces do not break while wrapping.
        let rfc = f.rfc.replace(' ', "\u{a0}");
        for line in wrap(&format!("fix: {} [{rfc}]", f.fix), width) {
            let line = line.replace('\u{a0}', " ");
            self.line(&[(&pad, Paint::Plain), (&line, Paint::Dim)]);
        }
    }

    fn blank(&mut self) {
        self.text.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("", 3), [""]);
        assert_eq!(wrap("a  b", 10), ["a b"]);
    }

    #[test]
    fn fit_pads_and_cuts() {
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 0), "");
    }
}
