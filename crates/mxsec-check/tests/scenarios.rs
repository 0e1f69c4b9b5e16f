//! Every testbed scenario, checked end to end on loopback: the error and warning IDs it must
//! produce, the whole verdict object (the `policy` against the scenario's expected Postfix
//! answer), the JSON against the published schema, and the human report within 100 columns.

use std::path::Path;
use std::time::Duration;

use mxsec_check::report::json::{self, SCHEMA};
use mxsec_check::report::text::{self, TextOptions, WIDTH};
use mxsec_check::{CheckOptions, Checker, Report, Severity};
use mxsec_net::dial::{AddressMap, Dialer};
use mxsec_net::dns::{Backend, Dns, DnsConfig, TrustAnchorSource};
use mxsec_net::trust::TrustConfig;
use mxsec_proto::name::DomainName;
use mxsec_testbed::scenario::Scenario;
use mxsec_testbed::Testbed;

async fn checker(testbed: &Testbed) -> Checker {
    let config = DnsConfig::builder()
        .backend(Backend::Validate)
        .nameserver(testbed.dns_addr())
        .trust_anchor(TrustAnchorSource::File(
            testbed.files().trust_anchor.clone(),
        ))
        .timeout(Duration::from_secs(5))
        .build();
    let dns = Dns::new(&config).await.unwrap();
    let trust = TrustConfig::empty()
        .add_ca_pem(Path::new("testbed-ca.pem"), testbed.ca_pem().as_bytes())
        .unwrap();
    let mut map = AddressMap::new();
    for route in testbed.routes() {
        map.insert(route.published, route.local).unwrap();
    }
    let dialer = Dialer::new(Duration::from_secs(3)).with_address_map(map);
    let mut options = CheckOptions::new(DomainName::parse("checker.invalid").unwrap());
    options.probe_timeouts.banner = Duration::from_secs(3);
    options.probe_timeouts.command = Duration::from_secs(3);
    options.probe_timeouts.handshake = Duration::from_secs(3);
    options.probe_timeouts.total = Duration::from_secs(8);
    Checker::new(dns, &trust, dialer, options).unwrap()
}

/// Per scenario: the IDs of its `error` and `warning` findings, and the verdict's `mta_sts`,
/// `dane`, `tls_rpt` and `delivery`. The `policy` is the scenario's own expected answer.
const EXPECTED: &[(&str, &[&str], [&str; 4])] = &[
    (
        "healthy",
        &[],
        ["enforce", "usable", "present", "authenticated"],
    ),
    (
        "sts-enforce",
        &[],
        ["enforce", "absent", "present", "authenticated"],
    ),
    (
        "sts-testing",
        &[],
        ["testing", "absent", "present", "opportunistic"],
    ),
    (
        "sts-none",
        &[],
        ["none", "absent", "present", "opportunistic"],
    ),
    (
        "plain",
        &[],
        ["absent", "absent", "absent", "opportunistic"],
    ),
    (
        "dane-ee",
        &["R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    (
        "dane-ta",
        &["R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    (
        "dane-ee-self-signed",
        &["R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    (
        "dane-ee-expired",
        &["R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    (
        "dane-ee-wrong-name",
        &["R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    (
        "dane-fails-sts-passes",
        &["D-01"],
        ["enforce", "usable", "present", "deferred"],
    ),
    (
        "sts-first-mx-fails",
        &["M-06"],
        ["enforce", "absent", "present", "authenticated"],
    ),
    (
        "m01-redirect",
        &["M-01"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m01-not-found",
        &["M-01"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m01-wrong-path",
        &["M-01"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m01-no-policy-host",
        &["M-01"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m02-wrong-name",
        &["M-02"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m02-expired",
        &["M-02"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m02-self-signed",
        &["M-02"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m02-missing-intermediate",
        &["M-02"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m03-content-type",
        &["M-03"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m03-html-soft-404",
        &["M-03"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m05-partial-coverage",
        &["M-05", "R-04"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
    (
        "m05-two-labels",
        &["M-05", "R-04", "STS-SEC-01"],
        ["enforce", "absent", "absent", "deferred"],
    ),
    (
        "m06-mx-wrong-name",
        &["M-06"],
        ["enforce", "absent", "present", "deferred"],
    ),
    (
        "m06-mx-self-signed",
        &["M-06"],
        ["enforce", "absent", "present", "deferred"],
    ),
    (
        "m06-mx-expired",
        &["M-06"],
        ["enforce", "absent", "present", "deferred"],
    ),
    (
        "m07-two-records",
        &["STS-TXT-05"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m07-bad-id",
        &["STS-TXT-03"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m07-missing-id",
        &["STS-TXT-03"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m07-version-not-first",
        &["STS-TXT-02"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m07-wrong-owner",
        &["M-07", "M-11"],
        ["absent", "absent", "absent", "opportunistic"],
    ),
    (
        "m07-split-strings",
        &["R-04"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
    (
        "m09-mode-enforced",
        &["STS-POL-05"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m09-mode-case",
        &["STS-POL-05"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m09-no-version",
        &["STS-POL-04"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m09-max-age-units",
        &["STS-POL-06"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m09-mx-list",
        &["STS-POL-07"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m09-json",
        &["STS-POL-03"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    (
        "m09-ip-mx",
        &["R-04", "STS-POL-08", "STS-POL-09"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
    (
        "m09-unmatchable-only",
        &["M-05", "R-04", "STS-POL-09"],
        ["enforce", "absent", "absent", "deferred"],
    ),
    (
        "m09-nmx-typo",
        &["M-05", "R-04", "STS-POL-07", "STS-POL-08"],
        ["enforce", "absent", "absent", "deferred"],
    ),
    (
        "m10-short-max-age",
        &["M-10", "R-04"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
    (
        "m13-broad-pattern",
        &["R-04", "STS-SEC-01"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
    (
        "t01-masked-starttls",
        &["STS-VAL-02", "T-01"],
        ["enforce", "absent", "present", "deferred"],
    ),
    (
        "t02-ipv6-no-tls",
        &["STS-VAL-02", "T-02"],
        ["enforce", "absent", "present", "authenticated"],
    ),
    (
        "t03-tls-fails",
        &["STS-VAL-02", "T-03"],
        ["enforce", "absent", "present", "deferred"],
    ),
    (
        "d01-new-key",
        &["D-01", "R-04"],
        ["absent", "usable", "absent", "deferred"],
    ),
    (
        "d01-3-0-1-reissued",
        &["D-01", "R-04"],
        ["absent", "usable", "absent", "deferred"],
    ),
    (
        "d02-one-intermediate",
        &["D-02", "R-04"],
        ["absent", "usable", "absent", "deferred"],
    ),
    (
        "d03-ta-not-in-chain",
        &["D-03", "R-04"],
        ["absent", "usable", "absent", "deferred"],
    ),
    (
        "d04-ta-wrong-name",
        &["D-04", "R-04"],
        ["absent", "usable", "absent", "deferred"],
    ),
    (
        "d05-bogus-ds",
        &["D-05", "RPT-TXT-01", "STS-TXT-01"],
        ["invalid", "bogus", "invalid", "deferred"],
    ),
    (
        "d05-expired-signatures",
        &["D-05", "RPT-TXT-01", "STS-TXT-01"],
        ["invalid", "bogus", "invalid", "deferred"],
    ),
    (
        "d06-insecure-mx-host",
        &["D-06"],
        ["absent", "insecure", "absent", "opportunistic"],
    ),
    (
        "d08-tlsa-servfail",
        &["D-08"],
        ["absent", "bogus", "absent", "deferred"],
    ),
    (
        "d09-partial-dane",
        &["D-09", "R-04"],
        ["absent", "usable", "absent", "opportunistic"],
    ),
    (
        "d10-ipv6-old-cert",
        &["D-10", "R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    (
        "d12-unusable-only",
        &["D-12", "DANE-TLSA-01", "DANE-TLSA-02", "R-04"],
        ["absent", "unusable", "absent", "encrypted"],
    ),
    (
        "insecure-zone",
        &[],
        ["absent", "absent", "absent", "opportunistic"],
    ),
    (
        "insecure-mx-dane-unlisted",
        &["M-05", "R-04"],
        ["enforce", "usable", "absent", "deferred"],
    ),
    (
        "insecure-mx-dane-listed",
        &["R-04"],
        ["enforce", "usable", "absent", "authenticated"],
    ),
    (
        "insecure-mx-dane",
        &["R-04"],
        ["absent", "usable", "absent", "opportunistic"],
    ),
    (
        "partial-dane-enforce",
        &["D-09", "R-04", "STS-VAL-02", "T-02"],
        ["enforce", "usable", "absent", "authenticated"],
    ),
    (
        "unusable-tlsa-enforce",
        &["D-12", "DANE-TLSA-02", "M-06", "R-04"],
        ["enforce", "unusable", "absent", "deferred"],
    ),
    (
        "sts-max-age-zero",
        &["M-10", "R-04"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
    (
        "unsigned-null-mx-enforce",
        &["R-04"],
        ["enforce", "absent", "absent", "no-mail"],
    ),
    (
        "cname-mx-no-aaaa",
        &["N-01", "R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    (
        "cname-mx-provider",
        &["N-01", "R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    (
        "cname-mx-insecure",
        &["N-01"],
        ["absent", "absent", "absent", "opportunistic"],
    ),
    (
        "sts-cname-provider",
        &["R-04"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
    ("null-mx", &[], ["absent", "absent", "absent", "no-mail"]),
    (
        "implicit-mx",
        &["N-01"],
        ["absent", "absent", "absent", "opportunistic"],
    ),
    (
        "r01-legacy-tlsrpt",
        &["R-01", "R-04"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
];

fn verdict_fields(r: &Report) -> [&'static str; 4] {
    [
        r.verdict.mta_sts.as_str(),
        r.verdict.dane.as_str(),
        r.verdict.tls_rpt.as_str(),
        r.verdict.delivery.as_str(),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_scenario_gives_its_finding_ids_verdict_valid_json_and_narrow_text() {
    let testbed = Testbed::start().await.unwrap();
    let checker = checker(&testbed).await;
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let mut problems = Vec::new();
    for scenario in Scenario::all() {
        if !EXPECTED.iter().any(|(key, _, _)| *key == scenario.key) {
            problems.push(format!("{}: no expectation in EXPECTED", scenario.key));
        }
    }
    for (key, ids, verdict) in EXPECTED {
        let Some(scenario) = Scenario::find(key) else {
            problems.push(format!("{key}: not in the testbed catalogue"));
            continue;
        };
        let domain = DomainName::parse(&scenario.domain()).unwrap();
        let report = checker.check(&domain).await;

        let found: Vec<&str> = report
            .finding_ids(&[Severity::Error, Severity::Warning])
            .into_iter()
            .collect();
        if found != *ids {
            problems.push(format!("{key}: finding IDs {found:?}, expected {ids:?}"));
        }
        if verdict_fields(&report) != *verdict {
            problems.push(format!(
                "{key}: verdict {:?}, expected {verdict:?}",
                verdict_fields(&report)
            ));
        }
        let expected_policy = scenario.expected_query();
        if !expected_policy.matches(&report.verdict.policy) {
            problems.push(format!(
                "{key}: policy {:?}, expected {expected_policy}",
                report.verdict.policy
            ));
        }
        if report.senders.dane_and_mta_sts.delivery != report.verdict.delivery {
            problems.push(format!(
                "{key}: senders.dane_and_mta_sts differs from the verdict"
            ));
        }
        if report.exit_status() != u8::from(report.summary.errors > 0) {
            problems.push(format!("{key}: exit status disagrees with the summary"));
        }

        let line = json::to_line(&report);
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        for error in validator.iter_errors(&value) {
            problems.push(format!(
                "{key}: JSON schema: {error} at {}",
                error.instance_path()
            ));
        }
        let back: Report = serde_json::from_str(&line).unwrap();
        if back != report {
            problems.push(format!("{key}: JSON does not round-trip"));
        }

        for verbose in [false, true] {
            let out = text::render(
                &report,
                TextOptions {
                    color: false,
                    verbose,
                },
            );
            for l in out.lines().filter(|l| l.chars().count() > WIDTH) {
                problems.push(format!("{key}: text line wider than {WIDTH}: {l}"));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
