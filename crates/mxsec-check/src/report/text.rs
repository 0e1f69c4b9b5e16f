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

use time::macros::format_description;

use super::{
    AddressReport, CertSummary, DaneResult, MxHost, MxKind, PolicyFetch, Report, SenderOutcome,
    StarttlsOutcome, TcpOutcome, TlsReport, TxtLookup,
};
use crate::catalogue::Area;
use crate::finding::{one_line, Finding, Severity};

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
    summary(&mut out, report);
    for area in Area::ALL {
        out.blank();
        out.heading(area.title());
        match area {
            Area::Mx => mx_section(&mut out, report),
            Area::Transport => transport_section(&mut out, report),
            Area::Dane => dane_section(&mut out, report),
            Area::MtaSts => sts_section(&mut out, report),
            Area::TlsRpt => rpt_section(&mut out, report),
        }
        findings_of_area(&mut out, report, area);
    }
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

// ---- summary ---------------------------------------------------------------------------------

fn summary(out: &mut Out, report: &Report) {
    let when = report
        .checked_at
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_default();
    let left = format!("mxsec check {}", report.domain);
    let right = format!("{when} · {}", seconds(report.duration_ms));
    let gap = WIDTH.saturating_sub(left.chars().count() + right.chars().count());
    out.line(&[
        (&left, Paint::Heading),
        (&" ".repeat(gap.max(1)), Paint::Plain),
        (&right, Paint::Dim),
    ]);

    let s = &report.summary;
    let (status, paint) = if s.errors > 0 {
        ("FAIL", Paint::Error)
    } else if s.warnings > 0 {
        ("WARN", Paint::Warning)
    } else {
        ("OK", Paint::Pass)
    };
    let counts = format!(
        "{} · {} · {} · {}",
        plural(s.errors, "error", "errors"),
        plural(s.warnings, "warning", "warnings"),
        plural(s.infos, "note", "notes"),
        plural(s.passes, "check passed", "checks passed"),
    );
    out.line(&[(&format!("{status:<6}"), paint), (&counts, Paint::Plain)]);
    out.blank();

    let v = &report.verdict;
    let verdict = format!(
        "MTA-STS {} · DANE {} · TLS-RPT {}",
        v.mta_sts, v.dane, v.tls_rpt
    );
    out.line(&[("  verdict   ", Paint::Label), (&verdict, Paint::Strong)]);
    let policy_lines = wrap(&v.policy, WIDTH - 12);
    for (i, line) in policy_lines.iter().enumerate() {
        let label = if i == 0 {
            "  Postfix   "
        } else {
            "            "
        };
        out.line(&[(label, Paint::Label), (line, Paint::Plain)]);
    }
    let senders: [(&str, &SenderOutcome); 4] = [
        ("DANE+MTA-STS", &report.senders.dane_and_mta_sts),
        ("DANE only", &report.senders.dane),
        ("MTA-STS only", &report.senders.mta_sts),
        ("opportunistic", &report.senders.opportunistic),
    ];
    for (i, (who, outcome)) in senders.iter().enumerate() {
        let label = if i == 0 {
            "  senders   "
        } else {
            "            "
        };
        let delivery = outcome.delivery.as_str();
        let paint = delivery_paint(outcome.delivery);
        let reason = fit(&one_line(&outcome.reason), WIDTH - 12 - 15 - 15);
        out.line(&[
            (label, Paint::Label),
            (&format!("{who:<15}"), Paint::Plain),
            (&format!("{delivery:<15}"), paint),
            (&reason, Paint::Dim),
        ]);
    }

    let problems: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| matches!(f.severity, Severity::Error | Severity::Warning))
        .collect();
    if !problems.is_empty() {
        out.blank();
        for f in problems {
            let text = fit(&format!("{}: {}", f.subject, f.message), WIDTH - 2 - 9 - 14);
            out.line(&[
                ("  ", Paint::Plain),
                (
                    &format!("{:<9}", f.severity.as_str()),
                    severity_paint(f.severity),
                ),
                (&format!("{:<14}", f.id), Paint::Strong),
                (&text, Paint::Plain),
            ]);
        }
    }
}

fn delivery_paint(d: super::Delivery) -> Paint {
    match d {
        super::Delivery::Authenticated => Paint::Pass,
        super::Delivery::Encrypted | super::Delivery::Opportunistic => Paint::Warning,
        super::Delivery::Deferred => Paint::Error,
        super::Delivery::NoMail => Paint::Plain,
    }
}

// ---- MX and DNSSEC ---------------------------------------------------------------------------

fn mx_section(out: &mut Out, report: &Report) {
    let mx = &report.mx;
    let what = match mx.kind {
        MxKind::Mx => plural(mx.hosts.len(), "MX host", "MX hosts"),
        MxKind::NullMx => "null MX (0 .): the domain accepts no mail".to_owned(),
        MxKind::Implicit => "no MX record: the domain itself is the mail host".to_owned(),
        MxKind::NoHost => "no MX record and no address".to_owned(),
        MxKind::NxDomain => "the domain does not exist (NXDOMAIN)".to_owned(),
        MxKind::Failed => "MX lookup failed".to_owned(),
    };
    let mut line = format!("MX records    DNSSEC {} · {what}", mx.dnssec);
    if let Some(at) = &mx.broken_at {
        let _ = write!(line, " · chain breaks at {}", one_line(at));
    }
    out.indented(2, &fit(&line, WIDTH - 2), Paint::Plain);
    if mx.hosts.is_empty() {
        return;
    }
    let header = format!(
        "{:>4}  {:<30} {:<10} {:<10} {:<20} {}",
        "pref", "host", "DNSSEC", "addresses", "TLSA", "MTA-STS"
    );
    out.indented(2, &header, Paint::Label);
    for host in &mx.hosts {
        let pref = host
            .preference
            .map_or_else(|| "-".to_owned(), |p| p.to_string());
        let mut name = host.name.to_string();
        if let Some(c) = &host.canonical_name {
            let _ = write!(name, " → {c}");
        }
        let v4 = host
            .addresses
            .iter()
            .filter(|a| a.address.is_ipv4())
            .count();
        let v6 = host.addresses.len() - v4;
        let sts = match &host.mta_sts {
            None => "-".to_owned(),
            Some(c) => c
                .pattern
                .clone()
                .unwrap_or_else(|| "NOT COVERED".to_owned()),
        };
        let row = format!(
            "{pref:>4}  {} {:<10} {:<10} {} {}",
            fit(&name, 30),
            host.dnssec.as_str(),
            format!("{v4} v4 {v6} v6"),
            fit(&tlsa_summary(host), 20),
            sts
        );
        out.indented(2, &fit(&row, WIDTH - 2), Paint::Plain);
    }
}

fn tlsa_summary(host: &MxHost) -> String {
    let n = host.tlsa.records.len();
    if n == 0 {
        return format!("none ({})", host.tlsa.dnssec);
    }
    let usable = host.tlsa.records.iter().filter(|r| r.usable).count();
    format!("{n} ({usable} usable) {}", host.tlsa.dnssec)
}

// ---- SMTP and TLS ----------------------------------------------------------------------------

/// Column widths of the per-address table, after a four-column indent.
const COLS: [usize; 7] = [26, 11, 21, 13, 6, 6, 4];

fn transport_section(out: &mut Out, report: &Report) {
    let hosts: Vec<&MxHost> = report
        .mx
        .hosts
        .iter()
        .filter(|h| !h.addresses.is_empty())
        .collect();
    if hosts.is_empty() {
        out.indented(2, "no address to probe", Paint::Dim);
        return;
    }
    let header = row(&[
        "address", "STARTTLS", "TLS", "PKIX", "expiry", "DANE", "STS",
    ]);
    out.indented(4, &header, Paint::Label);
    for host in hosts {
        let pref = host
            .preference
            .map(|p| format!("  (MX {p})"))
            .unwrap_or_default();
        out.line(&[
            ("  ", Paint::Plain),
            (host.name.as_str(), Paint::Strong),
            (&pref, Paint::Dim),
        ]);
        for a in &host.addresses {
            out.indented(4, &address_row(a), address_paint(a));
            greeting_lines(out, a);
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
            let names = if leaf.dns_names.is_empty() {
                "no DNS names".to_owned()
            } else {
                leaf.dns_names.join(", ")
            };
            let expires = leaf.not_after.get(..10).unwrap_or(&leaf.not_after);
            let line = format!(
                "cert {} · issuer {} · until {expires}",
                one_line(&names),
                common_name(&leaf.issuer),
            );
            out.indented(4, &fit(&line, WIDTH - 4), Paint::Dim);
            let key = format!("key  3 1 1 {}", leaf.spki_sha256);
            out.indented(4, &fit(&key, WIDTH - 4), Paint::Dim);
        }
    }
}

/// The greeting of an address, under its row: always with [`TextOptions::verbose`], else
/// where the SMTP dialogue did not reach STARTTLS, which the greeting often explains (a refusal, a
/// middlebox's banner; T-01).
fn greeting_lines(out: &mut Out, a: &AddressReport) {
    let Some(banner) = &a.banner else {
        return;
    };
    if !out.options.verbose && a.starttls == StarttlsOutcome::Offered {
        return;
    }
    for line in banner.lines() {
        out.indented(6, &fit(&one_line(line), WIDTH - 6), Paint::Dim);
    }
}

fn address_row(a: &AddressReport) -> String {
    let starttls = match a.tcp {
        TcpOutcome::Failed => "no connect",
        TcpOutcome::Skipped => "not probed",
        TcpOutcome::Connected => match a.starttls {
            StarttlsOutcome::Offered => "offered",
            StarttlsOutcome::NotOffered => "NOT OFFERED",
            StarttlsOutcome::Masked => "MASKED",
            StarttlsOutcome::Refused => "REFUSED",
            StarttlsOutcome::NotReached => "-",
        },
    };
    let (tls, pkix, expiry) = match &a.tls {
        None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
        Some(t) => tls_cells(t),
    };
    let dane = match &a.dane {
        None => "-",
        Some(d) => match d.result {
            DaneResult::Authenticated => "match",
            DaneResult::Failed => "FAIL",
            DaneResult::Unauthenticated => "unauth",
            DaneResult::NoTls => "no TLS",
        },
    };
    let sts = match &a.mta_sts {
        None => "-",
        Some(s) if s.pass => "pass",
        Some(_) => "FAIL",
    };
    row(&[
        &a.address.to_string(),
        starttls,
        &tls,
        &pkix,
        &expiry,
        dane,
        sts,
    ])
}

fn tls_cells(t: &TlsReport) -> (String, String, String) {
    if t.error.is_some() {
        return (
            "HANDSHAKE FAILED".to_owned(),
            "-".to_owned(),
            "-".to_owned(),
        );
    }
    let version = t
        .version
        .as_deref()
        .map(|v| v.trim_start_matches("TLSv").to_owned())
        .unwrap_or_default();
    let cipher = t.cipher.as_deref().map(short_cipher).unwrap_or_default();
    let expiry = t
        .days_to_expiry
        .map_or_else(|| "-".to_owned(), |d| format!("{d} d"));
    (
        format!("{version} {cipher}").trim().to_owned(),
        t.pkix.as_str().to_owned(),
        expiry,
    )
}

fn address_paint(a: &AddressReport) -> Paint {
    let failed_dane = a
        .dane
        .as_ref()
        .is_some_and(|d| matches!(d.result, DaneResult::Failed | DaneResult::NoTls));
    let failed_sts = a.mta_sts.as_ref().is_some_and(|s| !s.pass);
    if failed_dane || failed_sts {
        Paint::Error
    } else if a.starttls != StarttlsOutcome::Offered
        || a.tls.as_ref().is_some_and(|t| t.error.is_some())
    {
        Paint::Warning
    } else {
        Paint::Plain
    }
}

/// `TLS13_AES_256_GCM_SHA384` → `AES_256_GCM`, `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256` →
/// `ECDHE_RSA AES_128_GCM`: the table shows the key exchange (TLS 1.2) and the AEAD.
fn short_cipher(name: &str) -> String {
    let name = name.trim_start_matches("TLS13_").trim_start_matches("TLS_");
    let name = name.replace("_WITH_", " ");
    name.trim_end_matches("_SHA256")
        .trim_end_matches("_SHA384")
        .to_owned()
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

// ---- DANE ------------------------------------------------------------------------------------

fn dane_section(out: &mut Out, report: &Report) {
    let mut any = false;
    for host in &report.mx.hosts {
        if host.tlsa.records.is_empty() {
            continue;
        }
        any = true;
        let line = format!("{} · DNSSEC {}", host.tlsa.owner, host.tlsa.dnssec);
        out.indented(2, &fit(&line, WIDTH - 2), Paint::Strong);
        for (i, r) in host.tlsa.records.iter().enumerate() {
            let probed: Vec<bool> = host
                .addresses
                .iter()
                .filter_map(|a| a.dane.as_ref())
                .filter_map(|d| d.records.get(i))
                .map(|rr| rr.matched)
                .collect();
            let state = if !r.usable {
                format!(
                    "unusable: {}",
                    one_line(r.reason.as_deref().unwrap_or("unknown"))
                )
            } else if probed.is_empty() {
                "usable".to_owned()
            } else {
                let m = probed.iter().filter(|m| **m).count();
                format!("matches {m}/{} addresses", probed.len())
            };
            let state = one_line(&state);
            let paint = if r.usable {
                Paint::Plain
            } else {
                Paint::Warning
            };
            let record = one_line(&r.record);
            let (record_len, state_len) = (record.chars().count(), state.chars().count());
            if 4 + record_len + 2 + state_len <= WIDTH {
                out.line(&[
                    ("    ", Paint::Plain),
                    (&record, Paint::Plain),
                    ("  ", Paint::Plain),
                    (&state, paint),
                ]);
            } else {
                out.indented(4, &fit(&record, WIDTH - 4), Paint::Plain);
                out.indented(6, &fit(&state, WIDTH - 6), paint);
            }
        }
    }
    if !any {
        out.indented(2, "no TLSA records found", Paint::Dim);
    }
}

// ---- MTA-STS ---------------------------------------------------------------------------------

fn sts_section(out: &mut Out, report: &Report) {
    let sts = &report.mta_sts;
    txt_lines(out, "TXT", &sts.txt);
    for (i, f) in sts.fetches.iter().enumerate() {
        let label = if i == 0 { "fetch" } else { "" };
        let line = fetch_line(f);
        let paint = if f.ok { Paint::Plain } else { Paint::Warning };
        labelled(out, label, &line, paint);
    }
    if sts.fetches.is_empty() && !sts.txt.records.is_empty() {
        labelled(out, "fetch", "not attempted", Paint::Dim);
    }
    if let Some(p) = &sts.policy {
        let line = format!(
            "mode {} · max_age {} ({}) · mx {}",
            p.mode,
            p.max_age,
            duration_words(p.max_age),
            p.mx.join(", ")
        );
        for (i, l) in wrap(&one_line(&line), WIDTH - 13).into_iter().enumerate() {
            labelled(out, if i == 0 { "policy" } else { "" }, &l, Paint::Plain);
        }
    }
}

fn fetch_line(f: &PolicyFetch) -> String {
    let addr = f
        .address
        .map_or_else(|| "no address".to_owned(), |a| a.to_string());
    let mut s = format!("{} {addr}", f.family.as_str());
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
    if let Some(e) = &f.error {
        let _ = write!(s, " · {}", one_line(e));
    }
    s
}

// ---- TLS-RPT ---------------------------------------------------------------------------------

fn rpt_section(out: &mut Out, report: &Report) {
    let rpt = &report.tls_rpt;
    txt_lines(out, "TXT", &rpt.txt);
    for (i, uri) in rpt.rua.iter().enumerate() {
        labelled(out, if i == 0 { "rua" } else { "" }, uri, Paint::Plain);
    }
    for (i, r) in rpt.legacy_records.iter().enumerate() {
        labelled(
            out,
            if i == 0 { "draft name" } else { "" },
            r,
            Paint::Warning,
        );
    }
}

fn txt_lines(out: &mut Out, label: &str, txt: &TxtLookup) {
    let head = format!("{} · DNSSEC {}", txt.name, txt.dnssec);
    labelled(out, label, &head, Paint::Plain);
    if txt.records.is_empty() {
        labelled(out, "", "no record", Paint::Dim);
    }
    for r in &txt.records {
        labelled(out, "", &format!("\"{}\"", one_line(r)), Paint::Plain);
    }
}

fn labelled(out: &mut Out, label: &str, text: &str, paint: Paint) {
    let text = fit(text, WIDTH - 13);
    out.line(&[(&format!("  {label:<11}"), Paint::Label), (&text, paint)]);
}

// ---- findings --------------------------------------------------------------------------------

/// The column where a finding's text starts.
const FINDING_TEXT: usize = 2 + 9 + 14;

fn findings_of_area(out: &mut Out, report: &Report, area: Area) {
    let findings: Vec<&Finding> = report.findings.iter().filter(|f| f.area == area).collect();
    let (passes, others): (Vec<&Finding>, Vec<&Finding>) = findings
        .into_iter()
        .partition(|f| f.severity == Severity::Pass);
    if others.is_empty() && passes.is_empty() {
        return;
    }
    out.blank();
    for f in others {
        finding_block(out, f);
    }
    if passes.is_empty() {
        return;
    }
    if out.options.verbose {
        for f in passes {
            let text = fit(
                &format!("{}: {}", f.subject, f.message),
                WIDTH - FINDING_TEXT,
            );
            out.line(&[
                ("  ", Paint::Plain),
                ("pass     ", Paint::Pass),
                (&format!("{:<14}", f.id), Paint::Strong),
                (&text, Paint::Plain),
            ]);
        }
    } else {
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
            "{} passed: {}",
            plural(passes.len(), "check", "checks"),
            list.join(", ")
        );
        for (i, l) in wrap(&text, WIDTH - 11).into_iter().enumerate() {
            let lead = if i == 0 { "  pass     " } else { "           " };
            out.line(&[(lead, Paint::Pass), (&l, Paint::Dim)]);
        }
    }
}

fn finding_block(out: &mut Out, f: &Finding) {
    let width = WIDTH - FINDING_TEXT;
    let pad = " ".repeat(FINDING_TEXT);
    let head = wrap(&format!("{}: {}", f.subject, f.message), width);
    for (i, line) in head.iter().enumerate() {
        if i == 0 {
            out.line(&[
                ("  ", Paint::Plain),
                (
                    &format!("{:<9}", f.severity.as_str()),
                    severity_paint(f.severity),
                ),
                (&format!("{:<14}", f.id), Paint::Strong),
                (line, Paint::Plain),
            ]);
        } else {
            out.line(&[(&pad, Paint::Plain), (line, Paint::Plain)]);
        }
    }
    // The RFC reference is kept on one line: its spaces do not break while wrapping.
    let rfc = f.rfc.replace(' ', "\u{a0}");
    let fix = wrap(&format!("fix: {} [{rfc}]", f.fix), width);
    for line in fix {
        let line = line.replace('\u{a0}', " ");
        out.line(&[(&pad, Paint::Plain), (&line, Paint::Dim)]);
    }
}

fn severity_paint(s: Severity) -> Paint {
    match s {
        Severity::Error => Paint::Error,
        Severity::Warning => Paint::Warning,
        Severity::Info => Paint::Info,
        Severity::Pass => Paint::Pass,
    }
}

// ---- text helpers ----------------------------------------------------------------------------

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn seconds(ms: u64) -> String {
    format!("{}.{:02} s", ms / 1000, (ms % 1000) / 10)
}

/// `604800` → `7 days`, `86400` → `1 day`, `3600` → `1 hour`.
fn duration_words(secs: u64) -> String {
    const DAY: u64 = 86_400;
    if secs >= DAY {
        plural(
            usize::try_from(secs / DAY).unwrap_or(usize::MAX),
            "day",
            "days",
        )
    } else if secs >= 3600 {
        plural(
            usize::try_from(secs / 3600).unwrap_or(usize::MAX),
            "hour",
            "hours",
        )
    } else {
        plural(
            usize::try_from(secs).unwrap_or(usize::MAX),
            "second",
            "seconds",
        )
    }
}

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

    fn heading(&mut self, title: &str) {
        self.line(&[(title, Paint::Heading)]);
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
}
