//! The HTML of the checker: the page shell with its one input; the report inside it is
//! [`mxsec_check::report::html`].
//!
//! Plain semantic HTML that works without JavaScript; the style sheet and the script are
//! served by the program itself (`/assets/…`), with no external fonts, scripts or CDNs.
//! Every text that did not come from a string literal here goes through [`Text`].

use std::fmt::Write as _;

use mxsec_check::report::html::Text;

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

/// The front page: the form, a few words, a link to the scan summary when there is one, and
/// in the demo the scenario list.
pub(crate) fn front(demo: Option<&[DemoScenario]>, scan: bool) -> String {
    let mut out = head("mxsec: mail security checker", "", None);
    out.push_str(
        "<section class=\"intro\"><p>Type a mail domain. mxsec looks up its MX hosts, \
         connects to every address over IPv4 and IPv6, and tells you what a sender that \
         enforces DANE and MTA-STS will do, with every problem and how to fix it.</p>\
         </section>\n",
    );
    if scan {
        out.push_str(
            "<p class=\"scan-link\"><a href=\"/scan\">The summary of a finished scan</a>: \
             verdicts, the most frequent problems and the most used MX providers.</p>\n",
        );
    }
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

/// The page of a finished scan's summary around its HTML `fragment`
/// ([`mxsec_check::report::summary::html::fragment`]).
pub(crate) fn scan(fragment: &str) -> String {
    let mut out = head("mxsec: scan summary", "", None);
    out.push_str(fragment);
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
