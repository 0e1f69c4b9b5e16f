//! The summary of hand-built reports: counts, percentages, problems by ID, providers, and the
//! three renderings; and the same summary from their JSON lines.

use time::macros::datetime;

use super::*;
use crate::finding::Subject;
use crate::report::json::{self, Failure};
use crate::report::{DnsStatus, Finding};
use crate::report::{
    MtaStsSection, MxHost, MxSection, SenderOutcome, Senders, Summary, TlsRptSection, TlsaSet,
    TxtLookup, SCHEMA_VERSION,
};

fn name(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

fn host(h: &str) -> MxHost {
    MxHost {
        name: name(h),
        preference: Some(10),
        canonical_name: None,
        dnssec: DnsStatus::Secure,
        addresses: vec![],
        tlsa: TlsaSet {
            owner: format!("_25._tcp.{h}"),
            dnssec: DnsStatus::Secure,
            records: vec![],
        },
        mta_sts: None,
    }
}

fn txt(n: &str) -> TxtLookup {
    TxtLookup {
        name: n.to_owned(),
        dnssec: DnsStatus::Insecure,
        records: vec![],
    }
}

/// A report of `domain` with these MX hosts, verdict and findings.
fn report(
    domain: &str,
    hosts: &[&str],
    verdict: (StsVerdict, DaneVerdict, TlsRptVerdict, Delivery, &str),
    findings: Vec<Finding>,
) -> Report {
    let (mta_sts, dane, tls_rpt, delivery, policy) = verdict;
    let outcome = SenderOutcome {
        delivery,
        reason: "because".to_owned(),
    };
    Report {
        schema_version: SCHEMA_VERSION,
        domain: name(domain),
        checked_at: datetime!(2026-12-01 10:00:00 UTC),
        duration_ms: 10,
        verdict: Verdict {
            mta_sts,
            dane,
            tls_rpt,
            policy: policy.to_owned(),
            delivery,
        },
        senders: Senders {
            dane_and_mta_sts: outcome.clone(),
            dane: outcome.clone(),
            mta_sts: outcome.clone(),
            opportunistic: outcome,
        },
        summary: Summary::of(&findings),
        findings,
        mx: MxSection {
            kind: if hosts.is_empty() {
                MxKind::NullMx
            } else {
                MxKind::Mx
            },
            dnssec: DnsStatus::Secure,
            broken_at: None,
            hosts: hosts.iter().map(|h| host(h)).collect(),
        },
        mta_sts: MtaStsSection {
            txt: txt(&format!("_mta-sts.{domain}")),
            id: None,
            policy_host: format!("mta-sts.{domain}"),
            fetches: vec![],
            policy: None,
        },
        tls_rpt: TlsRptSection {
            txt: txt(&format!("_smtp._tls.{domain}")),
            rua: vec![],
            legacy_records: vec![],
        },
    }
}

fn finding(kind: FindingKind, domain: &str) -> Finding {
    Finding::new(kind, Subject::domain(&name(domain)), "seen")
}

/// Five domains: two at one provider, authenticated; one masked STARTTLS (T-01, twice);
/// one with nothing; one null MX.
fn reports() -> Vec<Report> {
    use DaneVerdict as D;
    use Delivery as Y;
    use StsVerdict as S;
    use TlsRptVerdict as R;
    vec![
        report(
            "a.example",
            &["mx1.provider.example", "mx2.provider.example"],
            (
                S::Enforce,
                D::Usable,
                R::Present,
                Y::Authenticated,
                "OK dane-only",
            ),
            vec![],
        ),
        report(
            "b.example",
            &["mx.provider.example"],
            (
                S::Absent,
                D::Usable,
                R::Absent,
                Y::Authenticated,
                "OK dane-only",
            ),
            vec![finding(FindingKind::RptMissingWhileEnforced, "b.example")],
        ),
        report(
            "c.example",
            &["mx.c.example"],
            (
                S::Enforce,
                D::Absent,
                R::Present,
                Y::Deferred,
                "OK secure match=mx.c.example servername=hostname",
            ),
            vec![
                finding(FindingKind::StarttlsMasked, "c.example"),
                finding(FindingKind::StarttlsMasked, "c.example"),
                finding(FindingKind::MxSecure, "c.example"),
            ],
        ),
        report(
            "d.example",
            &["mx.d.example", "mx.provider.example"],
            (
                S::Absent,
                D::Absent,
                R::Absent,
                Y::Opportunistic,
                "NOTFOUND ",
            ),
            vec![],
        ),
        report(
            "e.example",
            &[],
            (S::Absent, D::Absent, R::Absent, Y::NoMail, "TEMP no MX"),
            vec![],
        ),
    ]
}

fn count<T: Copy + PartialEq>(rows: &[Row<T>], value: T) -> (u64, f64) {
    let row = rows.iter().find(|r| r.value == value).unwrap();
    (row.count, row.percent)
}

fn summarise(reports: &[Report]) -> ScanSummary {
    let mut s = Summarizer::default();
    for r in reports {
        s.add_report(r);
    }
    s.add_failure(&Failure::new("not a name!", "invalid"));
    s.finish()
}

#[test]
fn verdicts_are_counted_with_percentages_of_the_domains_checked() {
    let s = summarise(&reports());
    assert_eq!((s.domains, s.failures, s.unreadable_lines), (5, 1, 0));
    assert_eq!(count(&s.mta_sts, StsVerdict::Enforce), (2, 40.0));
    assert_eq!(count(&s.mta_sts, StsVerdict::Absent), (3, 60.0));
    assert_eq!(count(&s.mta_sts, StsVerdict::Testing), (0, 0.0));
    assert_eq!(s.mta_sts.len(), 5, "zero counts are listed");
    assert_eq!(count(&s.dane, DaneVerdict::Usable), (2, 40.0));
    assert_eq!(count(&s.tls_rpt, TlsRptVerdict::Present), (2, 40.0));
    assert_eq!(count(&s.delivery, Delivery::Authenticated), (2, 40.0));
    assert_eq!(count(&s.delivery, Delivery::Deferred), (1, 20.0));
    assert_eq!(count(&s.answers, AnswerKind::DaneOnly), (2, 40.0));
    assert_eq!(count(&s.answers, AnswerKind::Secure), (1, 20.0));
    assert_eq!(count(&s.answers, AnswerKind::NotFound), (1, 20.0));
    assert_eq!(count(&s.answers, AnswerKind::Temp), (1, 20.0));
    assert_eq!((s.with_errors.count, s.with_errors.percent), (1, 20.0));
    assert_eq!(s.with_warnings_only.count, 1);
}

#[test]
fn problems_count_each_domain_once_per_id_and_skip_passes() {
    let s = summarise(&reports());
    let ids: Vec<(&str, u64, Severity)> = s
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.domains, f.severity))
        .collect();
    assert_eq!(
        ids,
        [("R-04", 1, Severity::Warning), ("T-01", 1, Severity::Error)]
    );
    assert_eq!(
        s.findings[1].title,
        FindingKind::StarttlsMasked.entry().title
    );
}

#[test]
fn providers_group_mx_hosts_by_registered_domain() {
    let s = summarise(&reports());
    let top: Vec<(&str, u64)> = s
        .providers
        .iter()
        .map(|p| (p.provider.as_str(), p.domains))
        .collect();
    // a, b and d use provider.example (a with two hosts, counted once); c and d their own.
    assert_eq!(
        top,
        [("provider.example", 3), ("c.example", 1), ("d.example", 1)]
    );
    let p = &s.providers[0];
    assert_eq!(count(&p.delivery, Delivery::Authenticated), (2, 66.7));
    assert_eq!(count(&p.delivery, Delivery::Opportunistic), (1, 33.3));
    assert_eq!((p.dane_usable.count, p.mta_sts_enforce.count), (2, 1));
    assert_eq!(s.providers[1].with_errors.count, 1);
    assert_eq!(s.providers_dropped, 0);
}

#[test]
fn the_summary_of_json_lines_equals_the_summary_of_the_reports() {
    let reports = reports();
    let mut lines: Vec<String> = reports.iter().map(json::to_line).collect();
    lines.push(json::failure_to_line(&Failure::new(
        "not a name!",
        "invalid",
    )));
    lines.push("{\"schema_version\":1,\"domain\":\"cut.exa".to_owned());
    lines.push(String::new());
    let mut from_lines = Summarizer::default();
    for line in &lines {
        from_lines.add_line(line);
    }
    let from_lines = from_lines.finish();
    let direct = summarise(&reports);
    assert_eq!(from_lines.unreadable_lines, 1);
    assert_eq!(
        ScanSummary {
            unreadable_lines: 0,
            ..from_lines
        },
        direct
    );
}

#[tokio::test]
async fn read_summarises_a_results_file_line_by_line() {
    let text: String = reports().iter().map(|r| json::to_line(r) + "\n").collect();
    let mut s = Summarizer::default();
    read(text.as_bytes(), &mut s).await.unwrap();
    assert_eq!(s.finish().domains, 5);
}

#[test]
fn answer_kinds_from_the_socketmap_reply() {
    assert_eq!(AnswerKind::of("OK dane-only"), AnswerKind::DaneOnly);
    assert_eq!(AnswerKind::of("OK dane"), AnswerKind::Dane);
    assert_eq!(AnswerKind::of("OK encrypt"), AnswerKind::Encrypt);
    assert_eq!(
        AnswerKind::of("OK secure match=mx.example servername=hostname"),
        AnswerKind::Secure
    );
    assert_eq!(AnswerKind::of("NOTFOUND "), AnswerKind::NotFound);
    assert_eq!(AnswerKind::of("NOTFOUND"), AnswerKind::NotFound);
    assert_eq!(AnswerKind::of("TEMP bogus MX"), AnswerKind::Temp);
    assert_eq!(AnswerKind::of("TIMEOUT dns"), AnswerKind::Temp);
    assert_eq!(AnswerKind::of("OK may"), AnswerKind::Other);
    assert_eq!(AnswerKind::of("garbage"), AnswerKind::Other);
}

#[test]
fn json_has_the_documented_shape() {
    let s = summarise(&reports());
    let v: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(v["schema_version"], SUMMARY_SCHEMA_VERSION);
    assert_eq!(v["domains"], 5);
    assert_eq!(v["mta_sts"][0]["value"], "enforce");
    assert_eq!(v["mta_sts"][0]["count"], 2);
    assert_eq!(v["mta_sts"][0]["percent"], 40.0);
    assert_eq!(v["answers"][4]["value"], "notfound");
    assert_eq!(v["findings"][1]["id"], "T-01");
    assert_eq!(v["findings"][1]["severity"], "error");
    assert_eq!(v["providers"][0]["provider"], "provider.example");
    assert_eq!(v["providers"][0]["delivery"][0]["value"], "authenticated");
}

#[test]
fn text_summary_shows_every_part_within_the_width() {
    let text = text::render(&summarise(&reports()));
    assert!(text.starts_with("mxsec scan summary: 5 domains checked · 1 not checked\n"));
    for expected in [
        "\nMTA-STS\n",
        "  enforce                2   40.0 %  ############\n",
        "\nWhat the mxsec daemon answers Postfix\n",
        "  OK dane-only           2   40.0 %  ############\n",
        "  TEMP                   1   20.0 %  ######\n",
        "  T-01          error         1   20.0 %  STARTTLS",
        "  provider.example                   3",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
    for line in text.lines() {
        assert!(line.chars().count() <= crate::report::text::WIDTH, "{line}");
    }
}

#[test]
fn html_summary_is_self_contained_and_escapes_its_input() {
    let mut summary = summarise(&reports());
    // Provider names come from the input; a domain name holds no markup, but the page escapes
    // it all the same.
    summary.providers[1].provider = "<script>x</script>&\"'".to_owned();
    let page = html::page(&summary);
    assert!(page.contains("&lt;script&gt;x&lt;/script&gt;&amp;&quot;&#39;"));
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.trim_end().ends_with("</html>"));
    assert!(!page.contains("<script"), "no script");
    assert!(
        !page.contains("src=") && !page.contains("href="),
        "nothing loaded"
    );
    assert_eq!(
        page.matches("<svg").count() - page.matches("</svg>").count(),
        0
    );
    assert!(page.contains("<figcaption id=\"chart-mta-sts-h\">MTA-STS</figcaption>"));
    assert!(page.contains("<title>MTA-STS: enforce 2 (40.0 %), testing 0 (0.0 %)"));
    assert!(page.contains("<th scope=\"row\">provider.example</th>"));
    assert!(page.contains("<th scope=\"row\">T-01</th>"));
    let bar = "<rect x=\"130\" y=\"4\" width=\"80\" height=\"16\" fill=\"#2e7d32\"/>";
    assert!(page.contains(bar), "enforce: 40 % of 200 px, good news");
}

#[test]
fn an_empty_summary_renders() {
    let s = Summarizer::default().finish();
    assert_eq!(s.domains, 0);
    assert!(s.mta_sts.iter().all(|r| r.percent == 0.0));
    assert!(text::render(&s).contains("0 domains checked"));
    assert!(html::fragment(&s).contains("None."));
}
