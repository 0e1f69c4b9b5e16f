//! `mxsec web` as a process: the page, the JSON API, the limits and the SSRF guard over HTTP,
//! and a real browser (Debian's Chromium, headless, through chromedriver) doing what a person
//! does, with JavaScript and without.

mod web {
    pub(crate) mod http;
    pub(crate) mod webdriver;
}

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use mxsec_testbed::scenario::TestbedFiles;
use mxsec_testbed::Testbed;
use serde_json::Value;

use web::http::{self, get};
use web::webdriver::Driver;

/// A running `mxsec web`, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// The server's stdout, kept open for as long as the server runs.
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Starts `mxsec web --listen 127.0.0.1:0 ARGS` and reads the address it prints.
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mxsec"))
            .args(["web", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("mxsec web starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("mxsec web prints its address");
        let addr = line
            .trim()
            .strip_prefix("mxsec web: listening on http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Self {
            child,
            addr,
            _stdout: stdout,
        }
    }

    /// `mxsec web --demo` with a rate limit the tests do not reach.
    fn demo() -> Self {
        Self::start(&["--demo", "--rate-limit", "100000"])
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A testbed in this process, on a runtime of its own, with its DNS answers delayed by
/// `delay`; its files point `mxsec web` at it.
fn testbed(delay: Duration) -> (SocketAddr, TestbedFiles) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        runtime.block_on(async move {
            let testbed = Testbed::start().await.expect("testbed starts");
            testbed.dns().set_answer_delay(delay);
            tx.send((testbed.dns_addr(), testbed.files().clone()))
                .expect("send");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("testbed started")
}

/// The options that point `mxsec web` (not in demo mode) at a testbed.
fn testbed_args(dns: SocketAddr, files: &TestbedFiles) -> Vec<String> {
    vec![
        "--resolver".into(),
        dns.to_string(),
        "--trust-anchor".into(),
        files.trust_anchor.display().to_string(),
        "--ca-file".into(),
        files.ca_file.display().to_string(),
        "--connect-map".into(),
        files.connect_map.display().to_string(),
        "--timeout".into(),
        "5".into(),
    ]
}

fn json(response: &http::Response) -> Value {
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", response.text()))
}

#[test]
fn web_front_page_health_and_assets() {
    let server = Server::demo();
    let front = get(server.addr, "/");
    assert_eq!(front.status, 200);
    let html = front.text();
    assert!(html.contains("<form class=\"check\" method=\"post\" action=\"/check\""));
    assert!(
        html.contains("href=\"/check/healthy.test\""),
        "demo scenarios listed"
    );
    assert!(html.contains("href=\"/check/t01-masked-starttls.test\""));
    let csp = front.header("content-security-policy").expect("CSP");
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    assert_eq!(front.header("x-content-type-options"), Some("nosniff"));
    // Nothing is loaded from anywhere but this server.
    for attribute in ["src=\"", "href=\""] {
        for (i, _) in html.match_indices(attribute) {
            let target = &html[i + attribute.len()..];
            assert!(
                target.starts_with('/') || target.starts_with('#'),
                "{}",
                &target[..40.min(target.len())]
            );
        }
    }

    let health = get(server.addr, "/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(json(&health)["status"], "ok");

    let css = get(server.addr, "/assets/mxsec.css");
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.text().contains(".verdict"));
    assert_eq!(get(server.addr, "/assets/mxsec.js").status, 200);
    assert_eq!(get(server.addr, "/nothing/here").status, 404);
}

#[test]
fn web_api_is_the_json_of_mxsec_check() {
    let server = Server::demo();
    let response = get(server.addr, "/api/v1/check/healthy.test");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    let text = response.text();
    assert_eq!(text.matches('\n').count(), 1, "one JSON line");
    let report = json(&response);
    let schema: Value = serde_json::from_str(mxsec_check::report::json::SCHEMA).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(report["domain"], "healthy.test");
    assert_eq!(report["verdict"]["delivery"], "authenticated");
    assert_eq!(report["verdict"]["dane"], "usable");

    // The same report deserialises into the library's type.
    let parsed: mxsec_check::Report = serde_json::from_value(report).unwrap();
    assert_eq!(parsed.summary.errors, 0);

    let broken = json(&get(server.addr, "/api/v1/check/t01-masked-starttls.test"));
    assert_eq!(broken["verdict"]["delivery"], "deferred");
    assert!(broken["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "T-01"));

    let bad = get(server.addr, "/api/v1/check/not%20a%20domain");
    assert_eq!(bad.status, 400);
    let failure = json(&bad);
    assert_eq!(failure["schema_version"], 1);
    assert_eq!(failure["input"], "not a domain");
}

#[test]
fn web_report_page_has_the_verdict_first_and_every_area() {
    let server = Server::demo();
    let page = get(server.addr, "/check/healthy.test");
    assert_eq!(page.status, 200);
    assert!(
        page.header("transfer-encoding")
            .is_some_and(|v| v.contains("chunked")),
        "the page is streamed"
    );
    let html = page.text();
    let verdict = html.find("id=\"verdict\"").expect("verdict");
    assert!(html.contains(
        "A sender that enforces DANE and MTA-STS will deliver with an authenticated connection."
    ));
    for area in ["mx", "transport", "dane", "mta-sts", "tls-rpt"] {
        let at = html
            .find(&format!("id=\"area-{area}\""))
            .unwrap_or_else(|| panic!("no {area} section"));
        assert!(verdict < at, "the verdict comes before {area}");
    }
    assert!(html.contains("<details"), "details are folded");
    assert!(html.trim_end().ends_with("</html>"));

    let broken = get(server.addr, "/check/t01-masked-starttls.test").text();
    assert!(broken.contains("mail is deferred"));
    assert!(broken.contains("<td class=\"bad\">MASKED</td>"));
    assert!(broken.contains("Fix:"));
}

#[test]
fn web_form_post_redirects_only_to_the_permalink() {
    let server = Server::demo();
    let post = |value: &str| {
        let body = format!("domain={}", form_encode(value));
        http::request(
            server.addr,
            "POST",
            "/check",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
    };
    let ok = post(" Healthy.TEST. ");
    assert_eq!(ok.status, 303);
    assert_eq!(ok.header("location"), Some("/check/healthy.test"));
    let address = post("postmaster@healthy.test");
    assert_eq!(address.header("location"), Some("/check/healthy.test"));
    let idn = post("bücher.test");
    assert_eq!(idn.header("location"), Some("/check/xn--bcher-kva.test"));
    for hostile in [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "evil.example/../x",
        "evil.example\r\nSet-Cookie: a=b",
        "",
    ] {
        let response = post(hostile);
        assert_eq!(response.status, 400, "{hostile:?}");
        assert!(response.header("location").is_none(), "{hostile:?}");
    }
    let empty = http::request(
        server.addr,
        "POST",
        "/check",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"other=1",
    );
    assert_eq!(empty.status, 400);
}

#[test]
fn web_reflects_no_unescaped_input() {
    let server = Server::demo();
    let hostile = "<script>alert(1)</script>\"'.test";
    let response = get(server.addr, &format!("/check/{}", path_encode(hostile)));
    assert_eq!(response.status, 400);
    let html = response.text();
    assert!(!html.contains("<script>alert"), "input reflected unescaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;.test"));
    let posted = http::request(
        server.addr,
        "POST",
        "/check",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("domain={}", form_encode(hostile)).as_bytes(),
    );
    assert_eq!(posted.status, 400);
    assert!(!posted.text().contains("<script>alert"));
}

#[test]
fn web_rate_limit_answers_429_with_retry_after() {
    let server = Server::start(&["--demo", "--rate-limit", "2"]);
    for _ in 0..2 {
        assert_eq!(get(server.addr, "/api/v1/check/healthy.test").status, 200);
    }
    let limited = get(server.addr, "/api/v1/check/healthy.test");
    assert_eq!(limited.status, 429);
    let retry: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=30).contains(&retry), "{retry}");
    assert!(json(&limited)["error"]
        .as_str()
        .unwrap()
        .starts_with("rate limited: retry in"));
    let page = get(server.addr, "/check/healthy.test");
    assert_eq!(page.status, 429);
    assert!(page.text().contains("Retry in"));
    // The front page and the health check are not limited.
    assert_eq!(get(server.addr, "/").status, 200);
    assert_eq!(get(server.addr, "/healthz").status, 200);
}

#[test]
fn web_busy_and_time_limit() {
    // Every DNS answer takes 1.5 s, so a check outlives its 1 s time limit.
    let (dns, files) = testbed(Duration::from_millis(1500));
    let mut args = testbed_args(dns, &files);
    args.extend(
        [
            "--allow-private",
            "--max-checks",
            "1",
            "--check-timeout",
            "1",
            "--rate-limit",
            "1000",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(&args);
    let addr = server.addr;
    let first = std::thread::spawn(move || get(addr, "/api/v1/check/healthy.test"));
    // Wait until the first check holds the only slot.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while json(&get(addr, "/healthz"))["checks_running"] != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the first check never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let busy = get(addr, "/api/v1/check/sts-enforce.test");
    assert_eq!(busy.status, 503);
    let retry: u64 = busy
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=1).contains(&retry), "{retry}");
    assert_eq!(json(&busy)["error"], "busy, retry in 1 s");
    let page = get(addr, "/check/sts-enforce.test");
    assert_eq!(page.status, 503);
    assert!(page
        .text()
        .contains("The checker is busy with other checks. Retry in 1 s."));

    let first = first.join().unwrap();
    assert_eq!(first.status, 504);
    assert_eq!(json(&first)["error"], "the check did not finish within 1 s");
    // The same domain asked again within a minute gets the same (timed-out) check, not a
    // new one; a page says so in words.
    let page = get(addr, "/check/healthy.test").text();
    assert!(page.contains("the check could not finish"));
    assert!(page.contains("The check did not finish within 1 s."));
}

#[test]
fn n_01_web_connects_to_no_special_purpose_address_without_allow_private() {
    let (dns, files) = testbed(Duration::ZERO);
    let mut args = testbed_args(dns, &files);
    args.extend(["--rate-limit", "1000"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(&args);
    let report = json(&get(server.addr, "/api/v1/check/healthy.test"));
    // The testbed publishes loopback and unique-local addresses (routed to loopback
    // listeners): without --allow-private none of them may be connected to.
    let hosts = report["mx"]["hosts"].as_array().expect("hosts");
    assert!(!hosts.is_empty());
    for host in hosts {
        for address in host["addresses"].as_array().unwrap() {
            assert_ne!(address["tcp"], "connected", "{address}");
            assert!(address["tls"].is_null(), "{address}");
        }
    }
    for fetch in report["mta_sts"]["fetches"].as_array().unwrap() {
        assert_eq!(fetch["ok"], false, "{fetch}");
        if fetch["address"].is_string() {
            let error = fetch["error"].as_str().unwrap_or_default();
            assert!(error.contains("special-purpose"), "{error}");
        }
    }
    assert_ne!(report["verdict"]["delivery"], "authenticated");
}

#[test]
fn n_01_web_allow_private_probes_private_addresses_and_notes_them() {
    let (dns, files) = testbed(Duration::ZERO);
    let mut args = testbed_args(dns, &files);
    args.extend(["--allow-private", "--rate-limit", "1000"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(&args);
    let report = json(&get(server.addr, "/api/v1/check/healthy.test"));
    // The loopback and unique-local addresses are probed, and each stays an N-01 note.
    let mut probed = 0;
    for host in report["mx"]["hosts"].as_array().expect("hosts") {
        for address in host["addresses"].as_array().unwrap() {
            assert_eq!(address["tcp"], "connected", "{address}");
            probed += 1;
        }
    }
    assert!(probed > 0, "{report}");
    let notes: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "N-01")
        .collect();
    assert_eq!(notes.len(), probed, "{notes:?}");
    for note in notes {
        assert_eq!(note["kind"], "special-purpose-address-probed", "{note}");
        assert_eq!(note["severity"], "info", "{note}");
    }
    assert_eq!(report["summary"]["errors"], 0, "{report}");
    assert_eq!(report["verdict"]["delivery"], "authenticated", "{report}");
    let page = get(server.addr, "/check/healthy.test").text();
    assert!(page.contains("No problems found"), "{page}");
}

/// A DNS server in this process, on a runtime of its own, serving `zone`; returns its address
/// and the root trust anchor file (in `dir`).
fn dns_with(zone: mxsec_testbed::dns::Zone, dir: &std::path::Path) -> (SocketAddr, PathBuf) {
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = dir.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        runtime.block_on(async move {
            let server = mxsec_testbed::dns::DnsServer::builder()
                .zone(zone)
                .start()
                .await
                .expect("DNS server starts");
            let files = server.trust_anchor().write_files(&dir).expect("anchor");
            tx.send((server.addr(), files.ds)).expect("send");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("DNS server started")
}

#[test]
fn n_01_web_refuses_names_that_resolve_to_private_addresses() {
    // The MX host resolves to RFC 1918 and unique-local addresses, the policy host to the
    // cloud metadata address and to a NAT64 form of 10.0.0.1. Nothing routes them to
    // loopback: each must be refused, never connected to.
    let zone = mxsec_testbed::dns::Zone::new("inside.test")
        .mx(10, "mx.inside.test")
        .a("mx.inside.test", "10.0.0.25".parse().unwrap())
        .aaaa("mx.inside.test", "fd00::25".parse().unwrap())
        .a("mta-sts.inside.test", "169.254.169.254".parse().unwrap())
        .aaaa("mta-sts.inside.test", "64:ff9b::a00:1".parse().unwrap())
        .txt("_mta-sts.inside.test", &["v=STSv1; id=1;"]);
    let dir = tempfile::tempdir().expect("dir");
    let (dns, anchor) = dns_with(zone, dir.path());
    let anchor = anchor.display().to_string();
    let dns = dns.to_string();
    let server = Server::start(&[
        "--resolver",
        &dns,
        "--trust-anchor",
        &anchor,
        "--timeout",
        "5",
        "--rate-limit",
        "1000",
    ]);
    let report = json(&get(server.addr, "/api/v1/check/inside.test"));

    // The MX addresses: judged special-purpose before any probe, with the block named.
    let hosts = report["mx"]["hosts"].as_array().expect("hosts");
    assert_eq!(hosts.len(), 1, "{report}");
    for address in hosts[0]["addresses"].as_array().unwrap() {
        assert_ne!(address["tcp"], "connected", "{address}");
    }
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "special-purpose-address")
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("10.0.0.25") && m.contains("10.0.0.0/8, RFC 1918")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("fd00::25") && m.contains("fc00::/7")),
        "{messages:?}"
    );

    // The policy host: the fetcher's connection is refused by the connect policy, on the
    // address it would have connected to, for both families.
    let fetches = report["mta_sts"]["fetches"].as_array().unwrap();
    let errors: Vec<&str> = fetches
        .iter()
        .filter(|f| f["address"].is_string())
        .map(|f| {
            assert_eq!(f["ok"], false, "{f}");
            f["error"].as_str().unwrap_or_default()
        })
        .collect();
    assert_eq!(errors.len(), 2, "{fetches:?}");
    assert!(
        errors.iter().any(|e| e.contains("169.254.169.254")
            && e.contains("special-purpose")
            && e.contains("link-local")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("64:ff9b::a00:1")
            && e.contains("special-purpose")
            && e.contains("NAT64")),
        "{errors:?}"
    );
    assert_ne!(report["verdict"]["delivery"], "authenticated");
}

// ---- the browser ------------------------------------------------------------------------------

/// Where the screenshots go: under the test output, kept after the run.
fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// What a person does: open the front page, type a scenario domain, submit, wait for the
/// verdict, and read it. Returns the rendered text of the report.
fn check_in_browser(
    driver: &Driver,
    server: &Server,
    javascript: bool,
    domain: &str,
    expected: &[&str],
) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let session = driver.session(profile.path(), javascript, 1200, 1600);
    session.open(&server.url("/"));
    let input = session.wait_for("input#domain", Duration::from_secs(20));
    session.type_into(&input, domain);
    let button = session.wait_for("form.check button[type=submit]", Duration::from_secs(5));
    session.click(&button);
    let verdict = session.wait_for("#verdict h2", Duration::from_secs(60));
    let headline = session.text(&verdict);
    assert!(headline.starts_with(domain), "{headline}");
    let report = session.wait_for("#report", Duration::from_secs(5));
    let text = session.text(&report);
    for want in expected {
        assert!(
            text.contains(want),
            "{domain}: {want:?} not shown in:\n{text}"
        );
    }
    assert!(
        session.url().ends_with(&format!("/check/{domain}")),
        "{}",
        session.url()
    );
    // With JavaScript the script names the verdict in the title; without it nothing runs
    // and the title stays as the server wrote it.
    if javascript {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut title = session.title();
        while !(title.starts_with(domain) && title.ends_with("· mxsec")) {
            assert!(
                std::time::Instant::now() < deadline,
                "the script never ran: {title}"
            );
            std::thread::sleep(Duration::from_millis(100));
            title = session.title();
        }
    } else {
        assert_eq!(session.title(), format!("mxsec: {domain}"));
    }
    let mode = if javascript { "js" } else { "nojs" };
    let stem = domain.trim_end_matches(".test");
    session.screenshot(&screenshot_dir().join(format!("{stem}-{mode}.png")));
    text
}

#[test]
fn web_browser_checks_healthy_and_broken_domains_with_and_without_javascript() {
    let driver = Driver::start();
    let server = Server::demo();
    for javascript in [true, false] {
        check_in_browser(
            &driver,
            &server,
            javascript,
            "healthy.test",
            &[
                "A sender that enforces DANE and MTA-STS will deliver with an authenticated \
                 connection.",
                "No problems found",
                "MX and DNSSEC",
                "SMTP and TLS",
                "DANE",
                "MTA-STS",
                "TLS-RPT",
            ],
        );
        check_in_browser(
            &driver,
            &server,
            javascript,
            "t01-masked-starttls.test",
            &[
                "will not deliver now: it defers the mail",
                "Problems found",
                "T-01",
                "STARTTLS is masked",
                "MASKED",
            ],
        );
    }
    // N-01: a private network, checked as a real server is (the testbed's DNS, trust anchor
    // and CA as configuration, no demo mode), with --allow-private: the loopback and
    // unique-local MX addresses are probed and the healthy domain is authenticated.
    let (dns, files) = testbed(Duration::ZERO);
    let mut args = testbed_args(dns, &files);
    args.extend(["--allow-private", "--rate-limit", "100000"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let private = Server::start(&args);
    check_in_browser(
        &driver,
        &private,
        true,
        "healthy.test",
        &[
            "A sender that enforces DANE and MTA-STS will deliver with an authenticated \
             connection.",
            "No problems found",
        ],
    );
    // A phone-sized window, for the eye.
    let profile = tempfile::tempdir().expect("profile dir");
    let phone = driver.session(profile.path(), true, 390, 1400);
    phone.open(&server.url("/check/d05-bogus-ds.test"));
    phone.wait_for("#verdict", Duration::from_secs(60));
    phone.screenshot(&screenshot_dir().join("d05-bogus-ds-phone.png"));
    eprintln!("screenshots in {}", screenshot_dir().display());
}

/// `mxsec check --json` over a few scenarios, then `--summary-of` the results and
/// `mxsec web --scan` showing them.
#[test]
fn web_scan_shows_the_summary_of_a_finished_scan() {
    let (dns, files) = testbed(Duration::ZERO);
    let dir = tempfile::tempdir().expect("temp dir");
    let results = dir.path().join("results.jsonl");
    let domains = [
        "healthy.test",
        "sts-testing.test",
        "t01-masked-starttls.test",
        "plain.test",
    ];
    let check = Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args(["check", "--json", "--allow-private"])
        .args(testbed_args(dns, &files))
        .args(domains)
        .output()
        .expect("mxsec check runs");
    assert_eq!(check.status.code(), Some(1), "T-01 is an error");
    std::fs::write(&results, &check.stdout).expect("write results");

    let summary_of = |format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_mxsec"))
            .args(["check", "--summary-of"])
            .arg(&results)
            .arg(format!("--summary={format}"))
            .output()
            .expect("mxsec check --summary-of runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let summary: Value = serde_json::from_str(&summary_of("json")).expect("JSON");
    assert_eq!(summary["domains"], 4);
    assert_eq!(summary["mta_sts"][0]["value"], "enforce");
    assert_eq!(summary["mta_sts"][0]["count"], 2);
    assert_eq!(summary["mta_sts"][0]["percent"], 50.0);
    assert_eq!(summary["delivery"][3]["value"], "deferred");
    assert_eq!(summary["delivery"][3]["count"], 1);
    let text = summary_of("text");
    assert!(
        text.starts_with("mxsec scan summary: 4 domains checked\n"),
        "{text}"
    );
    assert!(text.contains("  T-01 "), "{text}");
    assert!(summary_of("html").starts_with("<!doctype html>"));
    // The summary at the end of a scan is the summary of its results.
    let scan = Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args(["check", "--summary=json", "--allow-private"])
        .args(testbed_args(dns, &files))
        .args(domains)
        .output()
        .expect("mxsec check --summary runs");
    assert_eq!(scan.status.code(), Some(1), "the exit status of the scan");
    let at_end: Value = serde_json::from_slice(&scan.stdout).expect("one JSON object");
    assert_eq!(at_end, summary);

    let results_arg = results.display().to_string();
    let server = Server::start(&["--demo", "--rate-limit", "100000", "--scan", &results_arg]);
    let front = get(server.addr, "/").text();
    assert!(
        front.contains("<a href=\"/scan\">"),
        "the front page links the summary"
    );
    let page = get(server.addr, "/scan");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    assert!(html.contains("id=\"scan-summary\""));
    assert!(html.contains("4 domains checked"));
    assert!(html.contains("<svg"), "inline SVG charts");
    assert!(html.contains("<th scope=\"row\">T-01</th>"));
    assert!(html.contains("<th scope=\"row\">healthy.test</th>"));
    assert!(html.trim_end().ends_with("</html>"));
    let csp = page.header("content-security-policy").expect("CSP");
    assert!(csp.contains("default-src 'none'"));
    let api = get(server.addr, "/api/v1/scan");
    assert_eq!(api.status, 200);
    assert_eq!(json(&api), summary, "the API is --summary=json");
    drop(server);

    let without = Server::demo();
    assert_eq!(get(without.addr, "/scan").status, 404);
    assert_eq!(get(without.addr, "/api/v1/scan").status, 404);
    assert!(!get(without.addr, "/").text().contains("href=\"/scan\""));
}

// ---- helpers ----------------------------------------------------------------------------------

fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn path_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
