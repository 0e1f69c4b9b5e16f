//! The report as HTML: the verdict first, then one section per area, details folded in
//! `<details>`. It is the body of the web checker's report page, and says what the terminal
//! report ([`super::text`]) says, in the same words ([`super::labels`]).
//!
//! Plain semantic HTML that works without JavaScript and needs no inline style or script; the
//! classes (`verdict-deferred`, `sev-error`, `bad`, ...) are for the page's style sheet.
//! Every text that did not come from a string literal here (the domain, banners, TXT records,
//! certificate names, messages that quote them) is written through [`Text`], so no input is
//! ever reflected unescaped.

use std::fmt::{self, Write as _};

use super::labels::{self, plural, Status};
use super::layout::{self, Layout};
use super::{AddressReport, CertSummary, MxHost, Report, TxtLookup};
use crate::catalogue::{Area, Severity};
use crate::finding::Finding;

/// Text escaped for HTML element content and quoted attribute values.
///
/// `&`, `<`, `>`, `"` and `'` become character references; control characters other than a
/// line feed become a space.
#[derive(Clone, Copy, Debug)]
pub struct Text<'a>(pub &'a str);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(|c: char| {
            matches!(c, '&' | '<' | '>' | '"' | '\'') || c.is_control() && c != '\n'
        }) {
            f.write_str(&rest[..i])?;
            // `find` returned the index of a character, so one is there.
            let c = rest[i..].chars().next().unwrap_or(' ');
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                _ => f.write_str(" ")?,
            }
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// Renders the report of one domain as an HTML fragment: a `<section id="verdict">`, then a
/// `<section class="area">` per area.
pub fn render(report: &Report) -> String {
    let mut html = Html(String::with_capacity(32 * 1024));
    layout::print(&mut html, report);
    html.0
}

/// Writes into the `String`; formatting into a `String` cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {
        let _ = write!($out, $($arg)*);
    };
}

/// The HTML being built.
struct Html(String);

impl Layout for Html {
    fn summary(&mut self, report: &Report) {
        let out = &mut self.0;
        let delivery = report.verdict.delivery;
        let (short, sentence) = labels::headline(delivery);
        let status = Status::of(&report.summary);
        w!(
            out,
            "<section class=\"verdict verdict-{}\" id=\"verdict\" aria-labelledby=\"verdict-h\">\n\
             <h2 id=\"verdict-h\"><span class=\"domain\">{}</span>: {short}</h2>\n\
             <p class=\"headline\">{sentence}</p>\n\
             <p class=\"status status-{}\"><strong>{}</strong>: {}.</p>\n",
            delivery.as_str(),
            Text(report.domain.as_str()),
            status.tag().to_ascii_lowercase(),
            status.words(),
            labels::counts(&report.summary).join(", "),
        );
        let problems = labels::problems(report);
        if !problems.is_empty() {
            out.push_str("<ul class=\"problems\">\n");
        }
        for p in &problems {
            let f = p.finding;
            let times = p
                .times()
                .map(|t| format!(" <span class=\"count\">{t}</span>"))
                .unwrap_or_default();
            w!(
                out,
                "<li class=\"sev-{sev}\"><span class=\"sev\">{sev}</span> \
                 <a href=\"#area-{}\">{}</a> {}{times}</li>\n",
                area_id(f.area),
                f.id,
                Text(&f.message),
                sev = f.severity.as_str(),
            );
        }
        if !problems.is_empty() {
            out.push_str("</ul>\n");
        }

        out.push_str("<h3>What senders do</h3>\n<dl class=\"senders\">\n");
        for (who, outcome) in labels::senders(report) {
            w!(
                out,
                "<div><dt>{who}</dt><dd><strong class=\"delivery delivery-{d}\">{d}</strong> \
                 {}</dd></div>\n",
                Text(&outcome.reason),
                d = outcome.delivery.as_str(),
            );
        }
        let v = &report.verdict;
        w!(
            out,
            "</dl>\n<dl class=\"facts\">\n<div><dt>MTA-STS</dt><dd>{}</dd></div>\n\
             <div><dt>DANE</dt><dd>{}</dd></div>\n<div><dt>TLS-RPT</dt><dd>{}</dd></div>\n\
             <div class=\"wide\"><dt>Postfix policy</dt><dd><code>{}</code></dd></div>\n</dl>\n\
             <p class=\"meta\">Checked {} in {} · <a href=\"/check/{d}\">permalink</a> · \
             <a href=\"/api/v1/check/{d}\" type=\"application/json\">JSON</a></p>\n</section>\n",
            v.mta_sts,
            v.dane,
            v.tls_rpt,
            Text(&v.policy),
            labels::checked_at(report),
            labels::seconds(report.duration_ms),
            d = Text(report.domain.as_str()),
        );
    }

    fn area_start(&mut self, area: Area) {
        let id = area_id(area);
        w!(
            self.0,
            "<section class=\"area\" id=\"area-{id}\" aria-labelledby=\"area-{id}-h\">\n\
             <h2 id=\"area-{id}-h\">{}</h2>\n",
            area.title()
        );
    }

    fn mx(&mut self, report: &Report) {
        let out = &mut self.0;
        let mx = &report.mx;
        w!(
            out,
            "<p>MX records: {}; DNSSEC <span class=\"dns-{s}\">{s}</span>",
            labels::mx_kind(mx),
            s = mx.dnssec.as_str()
        );
        if let Some(at) = &mx.broken_at {
            w!(
                out,
                "; the chain of trust breaks at <code>{}</code>",
                Text(at)
            );
        }
        out.push_str(".</p>\n");
        if mx.hosts.is_empty() {
            return;
        }
        out.push_str(
            "<div class=\"scroll\"><table>\n<thead><tr><th scope=\"col\">Pref.</th>\
             <th scope=\"col\">Host</th><th scope=\"col\">DNSSEC</th>\
             <th scope=\"col\">Addresses</th><th scope=\"col\">TLSA</th>\
             <th scope=\"col\">MTA-STS</th></tr></thead>\n<tbody>\n",
        );
        for host in &mx.hosts {
            let addresses: Vec<String> = host
                .addresses
                .iter()
                .map(|a| a.address.to_string())
                .collect();
            let addresses = if addresses.is_empty() {
                "none".to_owned()
            } else {
                addresses.join(" ")
            };
            w!(
                out,
                "<tr><td>{}</td><th scope=\"row\">{}</th><td>{}</td>\
                 <td class=\"addresses\">{}</td><td>{}</td><td>{}</td></tr>\n",
                labels::preference(host),
                Text(&labels::host_name(host)),
                host.dnssec.as_str(),
                Text(&addresses),
                Text(&labels::tlsa_summary(host)),
                Text(&labels::coverage(host))
            );
        }
        out.push_str("</tbody></table></div>\n");
    }

    fn transport(&mut self, report: &Report) {
        let hosts = labels::hosts_with_addresses(report);
        if hosts.is_empty() {
            self.0
                .push_str("<p class=\"quiet\">No address to connect to.</p>\n");
        }
        for host in hosts {
            self.address_table(host);
        }
    }

    fn dane(&mut self, report: &Report) {
        let out = &mut self.0;
        w!(
            out,
            "<p>DANE: <strong>{}</strong>.</p>\n",
            report.verdict.dane
        );
        for host in &report.mx.hosts {
            let records = &host.tlsa.records;
            w!(
                out,
                "<details class=\"tlsa\"><summary>TLSA of {}: {}</summary>\n\
                 <p><code>{}</code>, DNSSEC {}</p>\n",
                Text(host.name.as_str()),
                Text(&labels::tlsa_summary(host)),
                Text(&host.tlsa.owner),
                host.tlsa.dnssec.as_str()
            );
            if !records.is_empty() {
                out.push_str("<ul class=\"records\">\n");
            }
            for (i, r) in records.iter().enumerate() {
                w!(
                    out,
                    "<li><code>{}</code> {}</li>\n",
                    Text(&r.record),
                    Text(&labels::tlsa_record(host, i, r))
                );
            }
            if !records.is_empty() {
                out.push_str("</ul>\n");
            }
            out.push_str("</details>\n");
        }
    }

    fn mta_sts(&mut self, report: &Report) {
        let s = &report.mta_sts;
        w!(
            self.0,
            "<p>MTA-STS: <strong>{}</strong>",
            report.verdict.mta_sts
        );
        if let Some(id) = &s.id {
            w!(self.0, ", policy id <code>{}</code>", Text(id));
        }
        self.0.push_str(".</p>\n");
        self.txt_details("Record", &s.txt);
        let out = &mut self.0;
        if !s.fetches.is_empty() {
            w!(
                out,
                "<details class=\"fetches\"><summary>Policy fetch from <code>{}</code></summary>\n\
                 <div class=\"scroll\"><table><thead><tr><th scope=\"col\">Family</th>\
                 <th scope=\"col\">Address</th><th scope=\"col\">Result</th>\
                 <th scope=\"col\">HTTP</th><th scope=\"col\">Content-Type</th>\
                 <th scope=\"col\">Bytes</th><th scope=\"col\">Time</th></tr></thead><tbody>\n",
                Text(&s.policy_host)
            );
        }
        for f in &s.fetches {
            let dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
            w!(
                out,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td></tr>\n",
                f.family.as_str(),
                labels::fetch_address(f),
                Text(&labels::fetch_result(f)),
                dash(f.http_status.map(|c| c.to_string())),
                Text(f.content_type.as_deref().unwrap_or("-")),
                dash(f.bytes.map(|b| b.to_string())),
                dash(f.duration_ms.map(|ms| format!("{ms} ms"))),
            );
        }
        if !s.fetches.is_empty() {
            out.push_str("</tbody></table></div>\n</details>\n");
        }
        if let Some(p) = &s.policy {
            w!(
                out,
                "<details class=\"policy\"><summary>Policy: {}</summary>\n\
                 <pre>version: STSv1\nmode: {}\n",
                Text(&labels::policy(p)),
                p.mode
            );
            for mx in &p.mx {
                w!(out, "mx: {}\n", Text(mx));
            }
            w!(out, "max_age: {}</pre>\n</details>\n", p.max_age);
        }
    }

    fn tls_rpt(&mut self, report: &Report) {
        let r = &report.tls_rpt;
        w!(
            self.0,
            "<p>TLS-RPT: <strong>{}</strong>",
            report.verdict.tls_rpt
        );
        for (i, rua) in r.rua.iter().enumerate() {
            let lead = if i == 0 { "; reports go to " } else { ", " };
            w!(self.0, "{lead}<code>{}</code>", Text(rua));
        }
        self.0.push_str(".</p>\n");
        self.txt_details("Record", &r.txt);
        if !r.legacy_records.is_empty() {
            w!(
                self.0,
                "<details class=\"txt\"><summary>Records at the {}</summary>\
                 <ul class=\"records\">\n",
                labels::LEGACY_RPT
            );
        }
        for rec in &r.legacy_records {
            w!(self.0, "<li><code>{}</code></li>\n", Text(rec));
        }
        if !r.legacy_records.is_empty() {
            self.0.push_str("</ul></details>\n");
        }
    }

    fn findings(&mut self, report: &Report, area: Area) {
        let (others, passes) = labels::findings_of(report, area);
        if others.is_empty() && passes.is_empty() {
            self.0
                .push_str("<p class=\"quiet\">Nothing to report here.</p>\n");
            return;
        }
        if !others.is_empty() {
            self.0.push_str("<ul class=\"findings\">\n");
            others.into_iter().for_each(|f| self.finding(f));
            self.0.push_str("</ul>\n");
        }
        if !passes.is_empty() {
            w!(
                self.0,
                "<details class=\"passes\"><summary>{}</summary>\n<ul class=\"findings\">\n",
                plural(passes.len(), "check passed", "checks passed")
            );
            passes.into_iter().for_each(|f| self.finding(f));
            self.0.push_str("</ul>\n</details>\n");
        }
    }

    fn area_end(&mut self, _area: Area) {
        self.0.push_str("</section>\n");
    }
}

impl Html {
    /// One finding: severity, ID, message, subject, fix and RFC section.
    fn finding(&mut self, f: &Finding) {
        w!(
            self.0,
            "<li class=\"finding sev-{sev}\"><p class=\"what\"><span class=\"sev\">{sev}</span> \
             <span class=\"id\">{}</span> {}</p>\n<p class=\"subject\">{}</p>\n",
            f.id,
            Text(&f.message),
            Text(&f.subject.to_string()),
            sev = f.severity.as_str(),
        );
        if f.severity != Severity::Pass {
            w!(
                self.0,
                "<p class=\"fix\"><strong>Fix:</strong> {}</p>\n",
                Text(&f.fix)
            );
        }
        w!(self.0, "<p class=\"rfc\">{}</p></li>\n", Text(&f.rfc));
    }

    /// The addresses of one MX host as a table, then the details of each.
    fn address_table(&mut self, host: &MxHost) {
        let pref = host
            .preference
            .map(|p| format!(" <span class=\"pref\">MX {p}</span>"))
            .unwrap_or_default();
        w!(
            self.0,
            "<h3>{}{pref}</h3>\n<div class=\"scroll\"><table>\n<thead><tr>\
             <th scope=\"col\">Address</th><th scope=\"col\">STARTTLS</th>\
             <th scope=\"col\">TLS</th><th scope=\"col\">WebPKI</th>\
             <th scope=\"col\">Expires</th><th scope=\"col\">DANE</th>\
             <th scope=\"col\">MTA-STS</th></tr></thead>\n<tbody>\n",
            Text(host.name.as_str())
        );
        for a in &host.addresses {
            w!(
                self.0,
                "<tr><th scope=\"row\">{}</th><td class=\"{}\">{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td></tr>\n",
                a.address,
                if labels::starttls_offered(a) {
                    "good"
                } else {
                    "bad"
                },
                labels::starttls(a),
                Text(&labels::tls(a)),
                labels::pkix(a),
                labels::expiry(a),
                labels::dane(a),
                labels::sts(a)
            );
        }
        self.0.push_str("</tbody></table></div>\n");
        for a in &host.addresses {
            self.address_details(a);
        }
    }

    /// What was seen on one address, folded: greeting, errors, the certificate chain.
    fn address_details(&mut self, a: &AddressReport) {
        let chain = a
            .tls
            .as_ref()
            .map(|t| t.chain.as_slice())
            .unwrap_or_default();
        let tls_error = a.tls.as_ref().and_then(|t| t.error.as_deref());
        if a.banner.is_none() && a.error.is_none() && chain.is_empty() && tls_error.is_none() {
            return;
        }
        let chain_words = if chain.is_empty() {
            String::new()
        } else {
            format!(
                ": certificate chain of {}",
                plural(chain.len(), "certificate", "certificates")
            )
        };
        w!(
            self.0,
            "<details class=\"address\"><summary>Details for {}{chain_words}</summary>\n<dl>\n",
            a.address,
        );
        if let Some(ms) = a.connect_ms {
            self.fact("Connected in", &format!("{ms} ms"));
        }
        if let Some(banner) = &a.banner {
            // Every line of the greeting, one per line (RFC 5321 §4.2).
            let lines: Vec<String> = banner
                .lines()
                .map(|line| format!("<code>{}</code>", Text(line)))
                .collect();
            w!(
                self.0,
                "<div><dt>Greeting</dt><dd>{}</dd></div>\n",
                lines.join("<br>")
            );
        }
        if let Some(error) = &a.error {
            self.fact("Stopped", error);
        }
        if let Some(error) = tls_error {
            self.fact("TLS", error);
        }
        if let Some(matches) = a.tls.as_ref().and_then(|t| t.name_matches) {
            self.fact("Name check", labels::name_check(matches));
        }
        if let Some(d) = &a.dane {
            self.0
                .push_str("<div><dt>DANE, per TLSA record</dt><dd><ul>");
            for r in &d.records {
                w!(
                    self.0,
                    "<li><code>{}</code>: {}</li>",
                    Text(&r.record),
                    Text(&labels::record_result(r.matched, r.detail.as_deref()))
                );
            }
            self.0.push_str("</ul></dd></div>\n");
        }
        if let Some(reason) = a.mta_sts.as_ref().and_then(|s| s.reason.as_deref()) {
            self.fact("MTA-STS", reason);
        }
        self.0.push_str("</dl>\n");
        if !chain.is_empty() {
            self.0.push_str("<ol class=\"chain\">\n");
            chain.iter().for_each(|cert| self.certificate(cert));
            self.0.push_str("</ol>\n");
        }
        self.0.push_str("</details>\n");
    }

    /// One `<dt>`/`<dd>` pair of a description list.
    fn fact(&mut self, term: &str, text: &str) {
        w!(
            self.0,
            "<div><dt>{}</dt><dd>{}</dd></div>\n",
            Text(term),
            Text(text)
        );
    }

    fn certificate(&mut self, c: &CertSummary) {
        w!(
            self.0,
            "<li><dl><div><dt>Subject</dt><dd>{}</dd></div><div><dt>Issuer</dt><dd>{}</dd></div>\
             <div><dt>DNS names</dt><dd>{}</dd></div><div><dt>Valid</dt><dd>{} to {}</dd></div>\
             <div><dt>Key (SHA-256 of SPKI)</dt><dd><code class=\"hash\">{}</code></dd></div>\
             </dl></li>\n",
            Text(&c.subject),
            Text(&c.issuer),
            Text(&labels::dns_names(&c.dns_names)),
            Text(&c.not_before),
            Text(&c.not_after),
            Text(&c.spki_sha256)
        );
    }

    /// A TXT lookup, folded: the name and its status, then every record.
    fn txt_details(&mut self, label: &str, txt: &TxtLookup) {
        w!(
            self.0,
            "<details class=\"txt\"><summary>{label}: {}</summary>\n",
            Text(&labels::txt_summary(txt))
        );
        if !txt.records.is_empty() {
            self.0.push_str("<ul class=\"records\">\n");
        }
        for r in &txt.records {
            w!(self.0, "<li><code>{}</code></li>\n", Text(r));
        }
        if !txt.records.is_empty() {
            self.0.push_str("</ul>\n");
        }
        self.0.push_str("</details>\n");
    }
}

/// The fragment identifier of an area's section.
fn area_id(area: Area) -> &'static str {
    match area {
        Area::Mx => "mx",
        Area::Transport => "transport",
        Area::Dane => "dane",
        Area::MtaSts => "mta-sts",
        Area::TlsRpt => "tls-rpt",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escape(text: &str) -> String {
        Text(text).to_string()
    }

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\"\u{1b}[31m\0"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot; [31m "
        );
        assert_eq!(escape("plain ünïcode text"), "plain ünïcode text");
        assert_eq!(escape(""), "");
    }
}
