//! The HTML of the checker: the page shell with its one input, and the report (verdict first,
//! then one section per area, details folded in `<details>`).
//!
//! Plain semantic HTML that works without JavaScript; the style sheet and the script are
//! served by the program itself (`/assets/…`), with no external fonts, scripts or CDNs.
//! Every text that did not come from a string literal here goes through [`Text`].

use std::fmt::Write as _;

use mxsec_check::catalogue::Area;
use mxsec_check::finding::{Finding, Severity};
use mxsec_check::report::{
    AddressReport, CertSummary, DaneResult, Delivery, MxHost, MxKind, PkixResult, Report,
    StarttlsOutcome, TcpOutcome, TlsReport, TxtLookup,
};
use time::macros::format_description;

use super::html::Text;

/// One row of the demo's scenario list: key, domain, title, what is wrong.
#[derive(Clone, Debug)]
pub struct DemoScenario {
    /// The scenario's IDs, e.g. `T-01`.
    pub ids: String,
    /// Its domain, `<key>.test`.
    pub domain: String,
    /// A short title.
    pub title: String,
    /// What is wrong; empty for a healthy domain.
    pub problem: String,
}

/// Writes into a `String`; formatting into a `String` cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {
        let _ = write!($out, $($arg)*);
    };
}

/// The start of every page: head, header, and the form with `value` in its input.
pub(crate) fn head(title: &str, value: &str, error: Option<&str>) -> String {
    let mut out = String::with_capacity(4096);
    w!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n\
         <link rel=\"stylesheet\" href=\"/assets/mxsec.css\">\n\
         <link rel=\"icon\" href=\"/assets/icon.svg\" type=\"image/svg+xml\">\n\
         </head>\n<body>\n\
         <header class=\"site\"><a href=\"/\" class=\"brand\">mxsec</a>\
         <span class=\"tagline\">Is mail to your domain safe from downgrade attacks? \
         DANE, MTA-STS and TLS-RPT, checked the way senders check them.</span></header>\n\
         <main>\n",
        Text(title)
    );
    w!(
        out,
        "<form class=\"check\" method=\"post\" action=\"/check\" role=\"search\">\n\
         <label for=\"domain\">Mail domain</label>\n\
         <div class=\"row\"><input id=\"domain\" name=\"domain\" type=\"text\" value=\"{}\" \
         placeholder=\"example.com\" required maxlength=\"1024\" autocomplete=\"off\" \
         autocapitalize=\"none\" spellcheck=\"false\" inputmode=\"url\"{}>\
         <button type=\"submit\">Check</button></div>\n",
        Text(value),
        if error.is_some() {
            " aria-invalid=\"true\" aria-describedby=\"domain-error\""
        } else {
            ""
        }
    );
    if let Some(error) = error {
        w!(
            out,
            "<p class=\"input-error\" id=\"domain-error\" role=\"alert\">{}</p>\n",
            Text(error)
        );
    }
    out.push_str("</form>\n");
    out
}

/// The script, where it runs: at the end of a page, or right after the pending note of a
/// report (so that it runs while the report streams in, not only after it).
const SCRIPT: &str = "<script src=\"/assets/mxsec.js\"></script>\n";

/// The end of a page without a report.
pub(crate) fn foot() -> String {
    format!("{SCRIPT}{FOOTER}")
}

/// The end of a report page (its script came with [`report_start`]).
pub(crate) fn report_foot() -> &'static str {
    FOOTER
}

/// The footer and the end of the document.
const FOOTER: &str =
    "</main>\n<footer class=\"site\"><p>mxsec checks MX records and DNSSEC, STARTTLS and \
     certificates on every MX address, DANE (RFC 7672), MTA-STS (RFC 8461) and TLS-RPT \
     (RFC 8460). The same report is available as JSON at \
     <code>/api/v1/check/DOMAIN</code>.</p></footer>\n</body>\n</html>\n";

/// The front page: the form, a few words, and in the demo the scenario list.
pub(crate) fn front(demo: Option<&[DemoScenario]>) -> String {
    let mut out = head("mxsec: mail security checker", "", None);
    out.push_str(
        "<section class=\"intro\"><p>Type a mail domain. mxsec looks up its MX hosts, \
         connects to every address over IPv4 and IPv6, and tells you what a sender that \
         enforces DANE and MTA-STS will do, with every problem and how to fix it.</p>\
         </section>\n",
    );
    if let Some(scenarios) = demo {
        out.push_str(
            "<section class=\"demo\" aria-labelledby=\"demo-h\">\
             <h2 id=\"demo-h\">Demo: the simulated internet</h2>\
             <p>This server runs against a simulated internet inside the program: signed DNS, \
             policy hosts and mail servers on loopback, one domain per real-world failure. \
             Pick one, or type its domain.</p>\n<ul class=\"scenarios\">\n",
        );
        for s in scenarios {
            let problem = if s.problem.is_empty() {
                "nothing: a healthy domain"
            } else {
                s.problem.as_str()
            };
            w!(
                out,
                "<li><a href=\"/check/{domain}\">{domain}</a> <span class=\"ids\">{}</span> \
                 <span class=\"title\">{}</span><br><span class=\"problem\">{}</span></li>\n",
                Text(&s.ids),
                Text(&s.title),
                Text(problem),
                domain = Text(&s.domain),
            );
        }
        out.push_str("</ul>\n</section>\n");
    }
    out.push_str(&foot());
    out
}

/// A page for input that cannot be checked: the form again, with the value and the error.
pub(crate) fn bad_input(value: &str, message: &str) -> String {
    let mut out = head("mxsec: not a domain", value, Some(message));
    out.push_str(&foot());
    out
}

/// A page that says why a request is not served now (busy, rate limited, not found).
pub(crate) fn notice(value: &str, heading: &str, message: &str) -> String {
    let mut out = head(&format!("mxsec: {heading}"), value, None);
    w!(
        out,
        "<section class=\"notice\" role=\"alert\"><h2>{}</h2><p>{}</p></section>\n",
        Text(heading),
        Text(message)
    );
    out.push_str(&foot());
    out
}

/// The opening of a report, sent at once: the container and a note that checks are running.
pub(crate) fn report_start(domain: &str) -> String {
    let mut out = String::new();
    w!(
        out,
        "<div class=\"report\" id=\"report\" data-domain=\"{d}\">\n\
         <p class=\"pending\" role=\"status\">Checking <strong>{d}</strong>: looking up its \
         MX hosts and connecting to each of them. Results appear here as the checks \
         finish.</p>\n{SCRIPT}",
        d = Text(domain)
    );
    out
}

/// The close of a report container.
pub(crate) fn report_end() -> &'static str {
    "</div>\n"
}

/// The notice for a check that could not run or did not finish.
pub(crate) fn report_failed(domain: &str, message: &str) -> String {
    let mut out = String::new();
    w!(
        out,
        "<section class=\"verdict verdict-failed\" id=\"verdict\" aria-labelledby=\"verdict-h\">\
         <h2 id=\"verdict-h\">{}: the check could not finish</h2><p class=\"headline\">{}</p>\
         <p>This result is kept for a minute; after that, reloading the page checks again.</p>\
         </section>\n",
        Text(domain),
        Text(message),
    );
    out
}

/// The whole report: the verdict, then one section per area.
pub(crate) fn report(report: &Report) -> String {
    let mut out = String::with_capacity(32 * 1024);
    verdict(&mut out, report);
    for area in Area::ALL {
        area_section(&mut out, report, area);
    }
    out
}

// ---- verdict ----------------------------------------------------------------------------------

/// The verdict in plain words, for a sender that enforces DANE and MTA-STS.
pub(crate) fn headline(delivery: Delivery) -> (&'static str, &'static str) {
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

fn verdict(out: &mut String, report: &Report) {
    let delivery = report.verdict.delivery;
    let (short, sentence) = headline(delivery);
    let s = &report.summary;
    let (status, status_class) = if s.errors > 0 {
        ("Problems found", "fail")
    } else if s.warnings > 0 {
        ("Works, with warnings", "warn")
    } else {
        ("No problems found", "ok")
    };
    w!(
        out,
        "<section class=\"verdict verdict-{}\" id=\"verdict\" aria-labelledby=\"verdict-h\">\n\
         <h2 id=\"verdict-h\"><span class=\"domain\">{}</span>: {}</h2>\n\
         <p class=\"headline\">{}</p>\n\
         <p class=\"status status-{status_class}\"><strong>{status}</strong>: {}, {}, {}, {}.</p>\n",
        delivery.as_str(),
        Text(report.domain.as_str()),
        short,
        sentence,
        plural(s.errors, "error", "errors"),
        plural(s.warnings, "warning", "warnings"),
        plural(s.infos, "note", "notes"),
        plural(s.passes, "check passed", "checks passed"),
    );

    // The problems in one list, the same problem on several addresses once.
    let mut problems: Vec<(&Finding, usize)> = Vec::new();
    for f in report
        .findings
        .iter()
        .filter(|f| matches!(f.severity, Severity::Error | Severity::Warning))
    {
        match problems
            .iter_mut()
            .find(|(p, _)| p.id == f.id && p.message == f.message)
        {
            Some((_, count)) => *count += 1,
            None => problems.push((f, 1)),
        }
    }
    if !problems.is_empty() {
        out.push_str("<ul class=\"problems\">\n");
        for (f, count) in problems {
            w!(
                out,
                "<li class=\"sev-{}\"><span class=\"sev\">{}</span> <a href=\"#area-{}\">{}</a> \
                 {}{}</li>\n",
                f.severity.as_str(),
                f.severity.as_str(),
                area_id(f.area),
                Text(&f.id),
                Text(&f.message),
                if count > 1 {
                    format!(" <span class=\"count\">({count} times)</span>")
                } else {
                    String::new()
                }
            );
        }
        out.push_str("</ul>\n");
    }

    out.push_str("<h3>What senders do</h3>\n<dl class=\"senders\">\n");
    let senders = [
        ("DANE and MTA-STS", &report.senders.dane_and_mta_sts),
        ("DANE only", &report.senders.dane),
        ("MTA-STS only", &report.senders.mta_sts),
        ("Opportunistic TLS", &report.senders.opportunistic),
    ];
    for (who, outcome) in senders {
        w!(
            out,
            "<div><dt>{who}</dt><dd><strong class=\"delivery delivery-{d}\">{d}</strong> \
             {}</dd></div>\n",
            Text(&outcome.reason),
            d = outcome.delivery.as_str(),
        );
    }
    out.push_str("</dl>\n");
    let v = &report.verdict;
    w!(
        out,
        "<dl class=\"facts\">\n<div><dt>MTA-STS</dt><dd>{}</dd></div>\n\
         <div><dt>DANE</dt><dd>{}</dd></div>\n<div><dt>TLS-RPT</dt><dd>{}</dd></div>\n\
         <div class=\"wide\"><dt>Postfix policy</dt><dd><code>{}</code></dd></div>\n</dl>\n",
        v.mta_sts,
        v.dane,
        v.tls_rpt,
        Text(&v.policy)
    );
    let when = report
        .checked_at
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_default();
    w!(
        out,
        "<p class=\"meta\">Checked {} in {} · <a href=\"/check/{d}\">permalink</a> · \
         <a href=\"/api/v1/check/{d}\" type=\"application/json\">JSON</a></p>\n</section>\n",
        when,
        seconds(report.duration_ms),
        d = Text(report.domain.as_str()),
    );
}

// ---- areas ------------------------------------------------------------------------------------

fn area_id(area: Area) -> &'static str {
    match area {
        Area::Mx => "mx",
        Area::Transport => "transport",
        Area::Dane => "dane",
        Area::MtaSts => "mta-sts",
        Area::TlsRpt => "tls-rpt",
    }
}

fn area_section(out: &mut String, report: &Report, area: Area) {
    let id = area_id(area);
    w!(
        out,
        "<section class=\"area\" id=\"area-{id}\" aria-labelledby=\"area-{id}-h\">\n\
         <h2 id=\"area-{id}-h\">{}</h2>\n",
        area.title()
    );
    match area {
        Area::Mx => mx_area(out, report),
        Area::Transport => transport_area(out, report),
        Area::Dane => dane_area(out, report),
        Area::MtaSts => sts_area(out, report),
        Area::TlsRpt => rpt_area(out, report),
    }
    findings(out, report, area);
    out.push_str("</section>\n");
}

fn findings(out: &mut String, report: &Report, area: Area) {
    let of_area: Vec<&Finding> = report.findings.iter().filter(|f| f.area == area).collect();
    let (passes, others): (Vec<&Finding>, Vec<&Finding>) = of_area
        .into_iter()
        .partition(|f| f.severity == Severity::Pass);
    if !others.is_empty() {
        out.push_str("<ul class=\"findings\">\n");
        for f in others {
            finding(out, f);
        }
        out.push_str("</ul>\n");
    }
    if !passes.is_empty() {
        w!(
            out,
            "<details class=\"passes\"><summary>{}</summary>\n<ul class=\"findings\">\n",
            plural(passes.len(), "check passed", "checks passed")
        );
        for f in passes {
            finding(out, f);
        }
        out.push_str("</ul>\n</details>\n");
    }
    if report.findings.iter().all(|f| f.area != area) {
        out.push_str("<p class=\"quiet\">Nothing to report here.</p>\n");
    }
}

fn finding(out: &mut String, f: &Finding) {
    w!(
        out,
        "<li class=\"finding sev-{sev}\"><p class=\"what\"><span class=\"sev\">{sev}</span> \
         <span class=\"id\">{}</span> {}</p>\n<p class=\"subject\">{}</p>\n",
        Text(&f.id),
        Text(&f.message),
        Text(&f.subject.to_string()),
        sev = f.severity.as_str(),
    );
    if f.severity != Severity::Pass {
        w!(
            out,
            "<p class=\"fix\"><strong>Fix:</strong> {}</p>\n",
            Text(&f.fix)
        );
    }
    w!(out, "<p class=\"rfc\">{}</p></li>\n", Text(&f.rfc));
}

fn mx_area(out: &mut String, report: &Report) {
    let mx = &report.mx;
    let what = match mx.kind {
        MxKind::Mx => plural(mx.hosts.len(), "MX host", "MX hosts"),
        MxKind::NullMx => "a null MX: the domain accepts no mail".to_owned(),
        MxKind::Implicit => "no MX record: the domain itself is the mail host".to_owned(),
        MxKind::NoHost => "no MX record and no address".to_owned(),
        MxKind::NxDomain => "the domain does not exist (NXDOMAIN)".to_owned(),
        MxKind::Failed => "the MX lookup failed".to_owned(),
    };
    w!(
        out,
        "<p>MX records: {what}; DNSSEC <span class=\"dns-{s}\">{s}</span>",
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
         <th scope=\"col\">Host</th><th scope=\"col\">DNSSEC</th><th scope=\"col\">Addresses</th>\
         <th scope=\"col\">TLSA</th><th scope=\"col\">MTA-STS</th></tr></thead>\n<tbody>\n",
    );
    for host in &mx.hosts {
        let pref = host
            .preference
            .map_or_else(|| "implicit".to_owned(), |p| p.to_string());
        w!(
            out,
            "<tr><td>{pref}</td><th scope=\"row\">{}",
            Text(host.name.as_str())
        );
        if let Some(c) = &host.canonical_name {
            w!(out, " → {}", Text(c.as_str()));
        }
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
        let sts = match &host.mta_sts {
            None => "no policy".to_owned(),
            Some(c) => match &c.pattern {
                Some(p) => format!("covered by {p}"),
                None => "NOT COVERED".to_owned(),
            },
        };
        w!(
            out,
            "</th><td>{}</td><td class=\"addresses\">{}</td><td>{}</td><td>{}</td></tr>\n",
            host.dnssec.as_str(),
            Text(&addresses),
            Text(&tlsa_summary(host)),
            Text(&sts)
        );
    }
    out.push_str("</tbody></table></div>\n");
}

fn tlsa_summary(host: &MxHost) -> String {
    let n = host.tlsa.records.len();
    if n == 0 {
        return format!("none ({})", host.tlsa.dnssec);
    }
    let usable = host.tlsa.records.iter().filter(|r| r.usable).count();
    format!("{n} ({usable} usable), {}", host.tlsa.dnssec)
}

fn transport_area(out: &mut String, report: &Report) {
    let hosts: Vec<&MxHost> = report
        .mx
        .hosts
        .iter()
        .filter(|h| !h.addresses.is_empty())
        .collect();
    if hosts.is_empty() {
        out.push_str("<p class=\"quiet\">No address to connect to.</p>\n");
        return;
    }
    for host in hosts {
        let pref = host
            .preference
            .map(|p| format!(" <span class=\"pref\">MX {p}</span>"))
            .unwrap_or_default();
        w!(out, "<h3>{}{pref}</h3>\n", Text(host.name.as_str()));
        out.push_str(
            "<div class=\"scroll\"><table>\n<thead><tr><th scope=\"col\">Address</th>\
             <th scope=\"col\">STARTTLS</th><th scope=\"col\">TLS</th><th scope=\"col\">WebPKI</th>\
             <th scope=\"col\">Expires</th><th scope=\"col\">DANE</th><th scope=\"col\">MTA-STS</th>\
             </tr></thead>\n<tbody>\n",
        );
        for a in &host.addresses {
            address_row(out, a);
        }
        out.push_str("</tbody></table></div>\n");
        for a in &host.addresses {
            address_details(out, a);
        }
    }
}

fn address_row(out: &mut String, a: &AddressReport) {
    let (starttls, bad) = match a.tcp {
        TcpOutcome::Failed => ("no connection", true),
        TcpOutcome::Skipped => ("not probed", true),
        TcpOutcome::Connected => match a.starttls {
            StarttlsOutcome::Offered => ("offered", false),
            StarttlsOutcome::NotOffered => ("NOT OFFERED", true),
            StarttlsOutcome::Masked => ("MASKED (XXXXXXXA)", true),
            StarttlsOutcome::Refused => ("REFUSED", true),
            StarttlsOutcome::NotReached => ("not reached", true),
        },
    };
    let (tls, pkix, expiry) = match &a.tls {
        None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
        Some(t) => tls_cells(t),
    };
    let dane = match &a.dane {
        None => "-",
        Some(d) => match d.result {
            DaneResult::Authenticated => "authenticated",
            DaneResult::Failed => "FAILED",
            DaneResult::Unauthenticated => "no usable record",
            DaneResult::NoTls => "no TLS",
        },
    };
    let sts = match &a.mta_sts {
        None => "-",
        Some(s) if s.pass => "pass",
        Some(_) => "FAIL",
    };
    w!(
        out,
        "<tr><th scope=\"row\">{}</th><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td>{}</td><td>{}</td></tr>\n",
        a.address,
        if bad { "bad" } else { "good" },
        starttls,
        Text(&tls),
        Text(&pkix),
        Text(&expiry),
        dane,
        sts
    );
}

fn tls_cells(t: &TlsReport) -> (String, String, String) {
    let tls = match (&t.version, &t.cipher) {
        (Some(v), Some(c)) => format!("{v} {c}"),
        (Some(v), None) => v.clone(),
        _ if t.error.is_some() => "handshake failed".to_owned(),
        _ => "-".to_owned(),
    };
    let pkix = match t.pkix {
        PkixResult::Valid => "valid",
        PkixResult::Expired => "EXPIRED",
        PkixResult::NameMismatch => "WRONG NAME",
        PkixResult::Untrusted => "UNTRUSTED",
        PkixResult::NotChecked => "-",
    };
    let expiry = match t.days_to_expiry {
        Some(d) if d < 0 => format!("expired {} days ago", -d),
        Some(d) => format!("in {d} days"),
        None => "-".to_owned(),
    };
    (tls, pkix.to_owned(), expiry)
}

/// What was seen on one address, folded: banner, errors, the certificate chain.
fn address_details(out: &mut String, a: &AddressReport) {
    let chain = a
        .tls
        .as_ref()
        .map(|t| t.chain.as_slice())
        .unwrap_or_default();
    let tls_error = a.tls.as_ref().and_then(|t| t.error.as_deref());
    if a.banner.is_none() && a.error.is_none() && chain.is_empty() && tls_error.is_none() {
        return;
    }
    w!(
        out,
        "<details class=\"address\"><summary>Details for {}{}</summary>\n<dl>\n",
        a.address,
        if chain.is_empty() {
            String::new()
        } else {
            format!(
                ": certificate chain of {}",
                plural(chain.len(), "certificate", "certificates")
            )
        }
    );
    if let Some(ms) = a.connect_ms {
        w!(out, "<div><dt>Connected in</dt><dd>{ms} ms</dd></div>\n");
    }
    if let Some(banner) = &a.banner {
        // Every line of the greeting, one per line (RFC 5321 §4.2).
        let lines: Vec<String> = banner
            .lines()
            .map(|line| format!("<code>{}</code>", Text(line)))
            .collect();
        w!(
            out,
            "<div><dt>Greeting</dt><dd>{}</dd></div>\n",
            lines.join("<br>")
        );
    }
    if let Some(error) = &a.error {
        w!(out, "<div><dt>Stopped</dt><dd>{}</dd></div>\n", Text(error));
    }
    if let Some(error) = tls_error {
        w!(out, "<div><dt>TLS</dt><dd>{}</dd></div>\n", Text(error));
    }
    if let Some(t) = &a.tls {
        if let Some(matches) = t.name_matches {
            w!(
                out,
                "<div><dt>Name check</dt><dd>{}</dd></div>\n",
                if matches {
                    "the certificate names the MX host"
                } else {
                    "the certificate does NOT name the MX host"
                }
            );
        }
    }
    if let Some(d) = &a.dane {
        out.push_str("<div><dt>DANE, per TLSA record</dt><dd><ul>");
        for r in &d.records {
            w!(
                out,
                "<li><code>{}</code>: {}{}</li>",
                Text(&r.record),
                if r.matched {
                    "matches"
                } else {
                    "does not match"
                },
                r.detail
                    .as_deref()
                    .map(|d| format!(" ({})", super::html::escape(d)))
                    .unwrap_or_default()
            );
        }
        out.push_str("</ul></dd></div>\n");
    }
    if let Some(s) = &a.mta_sts {
        if let Some(reason) = &s.reason {
            w!(
                out,
                "<div><dt>MTA-STS</dt><dd>{}</dd></div>\n",
                Text(reason)
            );
        }
    }
    out.push_str("</dl>\n");
    if !chain.is_empty() {
        out.push_str("<ol class=\"chain\">\n");
        for cert in chain {
            cert_item(out, cert);
        }
        out.push_str("</ol>\n");
    }
    out.push_str("</details>\n");
}

fn cert_item(out: &mut String, c: &CertSummary) {
    let names = if c.dns_names.is_empty() {
        "none".to_owned()
    } else {
        c.dns_names.join(", ")
    };
    w!(
        out,
        "<li><dl><div><dt>Subject</dt><dd>{}</dd></div><div><dt>Issuer</dt><dd>{}</dd></div>\
         <div><dt>DNS names</dt><dd>{}</dd></div><div><dt>Valid</dt><dd>{} to {}</dd></div>\
         <div><dt>Key (SHA-256 of SPKI)</dt><dd><code class=\"hash\">{}</code></dd></div>\
         </dl></li>\n",
        Text(&c.subject),
        Text(&c.issuer),
        Text(&names),
        Text(&c.not_before),
        Text(&c.not_after),
        Text(&c.spki_sha256)
    );
}

fn dane_area(out: &mut String, report: &Report) {
    let v = report.verdict.dane;
    w!(out, "<p>DANE: <strong>{v}</strong>.</p>\n");
    for host in &report.mx.hosts {
        let records = &host.tlsa.records;
        w!(
            out,
            "<details class=\"tlsa\"><summary>TLSA of {}: {}</summary>\n\
             <p><code>{}</code>, DNSSEC {}</p>\n",
            Text(host.name.as_str()),
            Text(&tlsa_summary(host)),
            Text(&host.tlsa.owner),
            host.tlsa.dnssec.as_str()
        );
        if !records.is_empty() {
            out.push_str("<ul class=\"records\">\n");
            for r in records {
                w!(
                    out,
                    "<li><code>{}</code> {}{}</li>\n",
                    Text(&r.record),
                    if r.usable { "usable" } else { "NOT usable" },
                    r.reason
                        .as_deref()
                        .map(|d| format!(": {}", super::html::escape(d)))
                        .unwrap_or_default()
                );
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</details>\n");
    }
}

fn txt_details(out: &mut String, label: &str, txt: &TxtLookup) {
    w!(
        out,
        "<details class=\"txt\"><summary>{label} <code>{}</code>: {}, DNSSEC {}</summary>\n",
        Text(&txt.name),
        plural(txt.records.len(), "TXT record", "TXT records"),
        txt.dnssec.as_str()
    );
    if !txt.records.is_empty() {
        out.push_str("<ul class=\"records\">\n");
        for r in &txt.records {
            w!(out, "<li><code>{}</code></li>\n", Text(r));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</details>\n");
}

fn sts_area(out: &mut String, report: &Report) {
    let s = &report.mta_sts;
    w!(
        out,
        "<p>MTA-STS: <strong>{}</strong>",
        report.verdict.mta_sts
    );
    if let Some(id) = &s.id {
        w!(out, ", policy id <code>{}</code>", Text(id));
    }
    out.push_str(".</p>\n");
    txt_details(out, "Record", &s.txt);
    if !s.fetches.is_empty() {
        w!(
            out,
            "<details class=\"fetches\"><summary>Policy fetch from <code>{}</code></summary>\n\
             <div class=\"scroll\"><table><thead><tr><th scope=\"col\">Family</th>\
             <th scope=\"col\">Address</th><th scope=\"col\">Result</th><th scope=\"col\">HTTP</th>\
             <th scope=\"col\">Content-Type</th><th scope=\"col\">Bytes</th><th scope=\"col\">Time</th>\
             </tr></thead><tbody>\n",
            Text(&s.policy_host)
        );
        for f in &s.fetches {
            let result = if f.ok {
                "ok".to_owned()
            } else {
                f.error.clone().unwrap_or_else(|| "failed".to_owned())
            };
            w!(
                out,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td></tr>\n",
                f.family.as_str(),
                f.address
                    .map_or_else(|| "none".to_owned(), |a| a.to_string()),
                Text(&result),
                f.http_status
                    .map_or_else(|| "-".to_owned(), |c| c.to_string()),
                Text(f.content_type.as_deref().unwrap_or("-")),
                f.bytes.map_or_else(|| "-".to_owned(), |b| b.to_string()),
                f.duration_ms
                    .map_or_else(|| "-".to_owned(), |ms| format!("{ms} ms")),
            );
        }
        out.push_str("</tbody></table></div>\n</details>\n");
    }
    if let Some(p) = &s.policy {
        w!(
            out,
            "<details class=\"policy\"><summary>Policy: mode {}, max_age {}, {}</summary>\n\
             <pre>version: STSv1\nmode: {}\n",
            Text(&p.mode),
            p.max_age,
            plural(p.mx.len(), "mx pattern", "mx patterns"),
            Text(&p.mode)
        );
        for mx in &p.mx {
            w!(out, "mx: {}\n", Text(mx));
        }
        w!(out, "max_age: {}</pre>\n</details>\n", p.max_age);
    }
}

fn rpt_area(out: &mut String, report: &Report) {
    let r = &report.tls_rpt;
    w!(
        out,
        "<p>TLS-RPT: <strong>{}</strong>",
        report.verdict.tls_rpt
    );
    if !r.rua.is_empty() {
        out.push_str("; reports go to ");
        for (i, rua) in r.rua.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            w!(out, "<code>{}</code>", Text(rua));
        }
    }
    out.push_str(".</p>\n");
    txt_details(out, "Record", &r.txt);
    if !r.legacy_records.is_empty() {
        out.push_str(
            "<details class=\"txt\"><summary>Records at the draft-era name \
             <code>_smtp-tlsrpt</code></summary><ul class=\"records\">\n",
        );
        for rec in &r.legacy_records {
            w!(out, "<li><code>{}</code></li>\n", Text(rec));
        }
        out.push_str("</ul></details>\n");
    }
}

// ---- helpers ----------------------------------------------------------------------------------

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn seconds(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
    }
}
