//! The summary of a scan of testbed scenarios: exact counts per verdict, problems by ID and
//! providers, the same from the scan's JSON lines as from its reports.

mod common;

use std::sync::Arc;

use futures::stream::{self, TryStreamExt};
use mxsec_check::prober::{ProbeLimits, Prober};
use mxsec_check::report::summary::{self, AnswerKind, Row, ScanSummary, Summarizer};
use mxsec_check::report::{DaneVerdict, Delivery, StsVerdict, TlsRptVerdict};
use mxsec_check::scan::{self, Done, Order, Outcome, Progress, ScanOptions};
use mxsec_check::Checker;
use mxsec_net::dial::ConnectPolicy;
use mxsec_testbed::scenario::Scenario;
use mxsec_testbed::Testbed;

use common::checker_on;

async fn checker(testbed: &Testbed) -> Checker {
    checker_on(testbed, ConnectPolicy::AnyAddress, |options| {
        options.prober = Prober::shared(ProbeLimits::default());
    })
    .await
}

/// Twelve scenarios that cover every MTA-STS verdict, most DANE and TLS-RPT verdicts, every
/// delivery and most of the daemon's answers.
const KEYS: [&str; 12] = [
    "healthy",
    "sts-enforce",
    "sts-testing",
    "sts-none",
    "plain",
    "dane-ee",
    "t01-masked-starttls",
    "d05-bogus-ds",
    "m07-two-records",
    "d12-unusable-only",
    "unsigned-null-mx-enforce",
    "m01-not-found",
];

fn counts<T: Copy>(rows: &[Row<T>]) -> Vec<(T, u64)> {
    rows.iter().map(|r| (r.value, r.count)).collect()
}

/// The scan of [`KEYS`] and one line that is no domain name, as outcomes.
async fn scan_scenarios() -> Vec<Outcome> {
    let testbed = Testbed::start().await.unwrap();
    let checker = checker(&testbed).await;
    let mut lines: Vec<String> = KEYS
        .iter()
        .map(|k| Scenario::find(k).unwrap().domain())
        .collect();
    lines.push("not a domain!".to_owned());
    let options = ScanOptions {
        concurrency: 4,
        order: Order::Completion,
    };
    scan::scan(
        checker,
        stream::iter(lines.into_iter().map(Ok)),
        Done::default(),
        options,
        Arc::new(Progress::default()),
    )
    .try_collect()
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scan_of_scenarios_is_summarised_with_exact_counts() {
    let outcomes = scan_scenarios().await;
    let mut direct = Summarizer::default();
    for outcome in &outcomes {
        match outcome {
            Outcome::Report(r) => direct.add_report(r),
            Outcome::Failure(f) => direct.add_failure(f),
        }
    }
    let s: ScanSummary = direct.finish();

    assert_eq!((s.domains, s.failures, s.unreadable_lines), (12, 1, 0));
    use StsVerdict as S;
    assert_eq!(
        counts(&s.mta_sts),
        [
            (S::Enforce, 4),
            (S::Testing, 1),
            (S::None, 1),
            (S::Absent, 3),
            (S::Invalid, 3)
        ]
    );
    assert_eq!(s.mta_sts[0].percent, 33.3);
    use DaneVerdict as D;
    assert_eq!(
        counts(&s.dane),
        [
            (D::Usable, 2),
            (D::Unusable, 1),
            (D::Insecure, 0),
            (D::Bogus, 1),
            (D::Absent, 8)
        ]
    );
    use TlsRptVerdict as R;
    assert_eq!(
        counts(&s.tls_rpt),
        [(R::Present, 5), (R::Absent, 6), (R::Invalid, 1)]
    );
    use Delivery as Y;
    assert_eq!(
        counts(&s.delivery),
        [
            (Y::Authenticated, 3),
            (Y::Encrypted, 1),
            (Y::Opportunistic, 5),
            (Y::Deferred, 2),
            (Y::NoMail, 1)
        ]
    );
    assert_eq!(s.delivery[0].percent, 25.0);
    use AnswerKind as A;
    assert_eq!(
        counts(&s.answers),
        [
            (A::DaneOnly, 2),
            (A::Dane, 0),
            (A::Secure, 3),
            (A::Encrypt, 1),
            (A::NotFound, 5),
            (A::Temp, 1),
            (A::Other, 0)
        ]
    );

    // Problems by ID: R-04 at three domains, every other ID of the scenarios' expected
    // problems at one, in ID order after it.
    let findings: Vec<(String, u64)> = s
        .findings
        .iter()
        .map(|f| (f.id.to_string(), f.domains))
        .collect();
    assert_eq!(findings[0], ("R-04".to_owned(), 3));
    let mut rest: Vec<&str> = findings[1..].iter().map(|(id, _)| id.as_str()).collect();
    rest.sort_unstable();
    assert_eq!(
        rest,
        [
            "D-05",
            "D-12",
            "DANE-TLSA-01",
            "DANE-TLSA-02",
            "M-01",
            "RPT-TXT-01",
            "STS-TXT-01",
            "STS-TXT-05",
            "STS-VAL-02",
            "T-01"
        ]
    );
    assert!(findings[1..].iter().all(|(_, n)| *n == 1));
    // Every problem of the scenarios' expected audits, counted per domain.
    let expected: usize = KEYS
        .iter()
        .map(|k| {
            let audit = Scenario::find(k).unwrap().expected_audit().unwrap();
            let mut ids = audit.problems.to_vec();
            ids.dedup();
            ids.len()
        })
        .sum();
    let counted: u64 = s.findings.iter().map(|f| f.domains).sum();
    assert_eq!(counted, u64::try_from(expected).unwrap());

    // Every scenario has MX hosts of its own under `<key>.test`: one domain per provider.
    let healthy = s
        .providers
        .iter()
        .find(|p| p.provider == "healthy.test")
        .expect("healthy.test is a provider");
    assert_eq!(healthy.domains, 1);
    assert_eq!(healthy.delivery[0].percent, 100.0);
    assert_eq!(healthy.dane_usable.percent, 100.0);
    assert!(s.providers.iter().all(|p| p.domains == 1));
    assert!(
        !s.providers
            .iter()
            .any(|p| p.provider == "unsigned-null-mx-enforce.test"),
        "a null MX has no provider"
    );

    // The scan's JSON lines, read back, give the same summary.
    let text: String = outcomes.iter().map(|o| o.to_json_line() + "\n").collect();
    let mut from_lines = Summarizer::default();
    summary::read(text.as_bytes(), &mut from_lines)
        .await
        .unwrap();
    assert_eq!(from_lines.finish(), s);

    let page = summary::html::page(&s);
    assert!(page.contains("<title>MTA-STS: enforce 4 (33.3 %), testing 1 (8.3 %)"));
    let text = summary::text::render(&s);
    assert!(text.starts_with("mxsec scan summary: 12 domains checked · 1 not checked\n"));
}
