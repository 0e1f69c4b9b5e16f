//! Every testbed scenario, checked end to end on loopback: the error and warning IDs it must
//! produce, the whole verdict object (the `policy` against the scenario's expected Postfix
//! answer), the JSON against the published schema, the whole (multi-line) greeting of every
//! address that sent one, and the human report within 100 columns.

mod common;

use mxsec_check::report::json::{self, SCHEMA};
use mxsec_check::report::text::{self, TextOptions, WIDTH};
use mxsec_check::report::{Delivery, StarttlsOutcome, TcpOutcome};
use mxsec_check::{Checker, FindingKind, Report, Severity};
use mxsec_net::dial::ConnectPolicy;
use mxsec_proto::name::DomainName;
use mxsec_testbed::scenario::{Scenario, EXPECTED_AUDITS};
use mxsec_testbed::Testbed;

use common::checker_on;

async fn checker(testbed: &Testbed) -> Checker {
    checker_with(testbed, ConnectPolicy::AnyAddress).await
}

/// A checker on the testbed whose dialer obeys `policy`.
async fn checker_with(testbed: &Testbed, policy: ConnectPolicy) -> Checker {
    checker_on(testbed, policy, |_| {}).await
}

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
        if scenario.expected_audit().is_none() {
            problems.push(format!(
                "{}: no expectation in EXPECTED_AUDITS",
                scenario.key
            ));
        }
    }
    for expected in EXPECTED_AUDITS {
        let (key, ids, verdict) = (expected.key, expected.problems, &expected.verdict);
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

        // RFC 5321 §4.2: the testbed greets in two lines; the report keeps both.
        for a in report.mx.hosts.iter().flat_map(|h| &h.addresses) {
            if a.tcp != TcpOutcome::Connected || a.starttls == StarttlsOutcome::NotReached {
                continue;
            }
            let lines: Vec<&str> = a.banner.as_deref().unwrap_or_default().lines().collect();
            if !matches!(&lines[..], [first, last] if first.starts_with("220-")
                && first.ends_with(" ESMTP mxsec testbed")
                && *last == "220 simulated internet, no real mail")
            {
                problems.push(format!("{key}: {} greeting {:?}", a.address, a.banner));
            }
        }

        for verbose in [false, true] {
            let out = text::render(
                &report,
                TextOptions {
                    color: false,
                    verbose,
                },
            );
            let connected = report
                .mx
                .hosts
                .iter()
                .flat_map(|h| &h.addresses)
                .any(|a| a.banner.is_some());
            if verbose && connected && !out.contains("      220 simulated internet, no real mail") {
                problems.push(format!("{key}: the verbose text report lacks the greeting"));
            }
            for l in out.lines().filter(|l| l.chars().count() > WIDTH) {
                problems.push(format!("{key}: text line wider than {WIDTH}: {l}"));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// N-01: the checker probes exactly the addresses its dialer's connect policy permits. Every
/// testbed address is special-purpose (127.0.1.0/24 and up, fd6d:7873:6563::/48) and
/// reached through loopback, like a private network audited from inside.
#[tokio::test(flavor = "multi_thread")]
async fn n_01_the_checker_probes_what_the_connect_policy_permits() {
    let testbed = Testbed::start().await.unwrap();
    let domain = DomainName::parse("healthy.test").unwrap();
    let kinds = |r: &Report, kind: FindingKind| {
        r.findings
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| (f.severity, f.message.clone()))
            .collect::<Vec<_>>()
    };

    // Allowed (`--allow-private`): probed, N-01 kept as a note, and the verdict is clean.
    let report = checker_with(&testbed, ConnectPolicy::AnyAddress)
        .await
        .check(&domain)
        .await;
    let addresses: Vec<_> = report.mx.hosts.iter().flat_map(|h| &h.addresses).collect();
    assert!(!addresses.is_empty());
    let notes = kinds(&report, FindingKind::SpecialPurposeAddressProbed);
    assert_eq!(notes.len(), addresses.len(), "{notes:?}");
    for (severity, message) in &notes {
        assert_eq!(*severity, Severity::Info);
        assert!(
            message.contains("not reachable from the internet"),
            "{message}"
        );
    }
    assert!(addresses.iter().all(|a| a.tcp == TcpOutcome::Connected));
    assert!(kinds(&report, FindingKind::SpecialPurposeAddress).is_empty());
    assert_eq!(report.summary.errors, 0, "{:?}", report.findings);
    assert_eq!(report.verdict.delivery, Delivery::Authenticated);

    // Public addresses only: refused before connecting, on the address the connection
    // would go to (the loopback listener), so nothing is probed and the mail is deferred.
    let report = checker_with(&testbed, ConnectPolicy::PublicOnly)
        .await
        .check(&domain)
        .await;
    let refused = kinds(&report, FindingKind::SpecialPurposeAddress);
    let addresses: Vec<_> = report.mx.hosts.iter().flat_map(|h| &h.addresses).collect();
    assert_eq!(refused.len(), addresses.len(), "{refused:?}");
    for (severity, message) in &refused {
        assert_eq!(*severity, Severity::Error);
        assert!(message.contains("loopback"), "{message}");
    }
    assert!(addresses.iter().all(|a| a.tcp == TcpOutcome::Skipped));
    assert!(kinds(&report, FindingKind::SpecialPurposeAddressProbed).is_empty());
    assert_eq!(report.verdict.delivery, Delivery::Deferred);
}

/// D-07 (DANE-DISC-03, RFC 7672 §2.2.3): TLSA records where senders never look are named, with
/// the owner senders use instead: at the domain, at the MX host's HTTPS port, and at an MX
/// alias whose expanded name has records of its own; and nowhere else in the catalogue.
#[tokio::test(flavor = "multi_thread")]
async fn d_07_tlsa_records_at_wrong_owners_are_named() {
    let testbed = Testbed::start().await.unwrap();
    let checker = checker(&testbed).await;
    let wrong_owners = |report: &Report| -> Vec<String> {
        report
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::DaneWrongOwner)
            .map(|f| f.message.clone())
            .collect()
    };
    for scenario in Scenario::all() {
        let domain = DomainName::parse(&scenario.domain()).unwrap();
        let report = checker.check(&domain).await;
        let messages = wrong_owners(&report);
        let d = scenario.domain();
        let expected: Vec<String> = match scenario.key {
            "d07-tlsa-wrong-owner" => vec![
                format!("TLSA records are published at _25._tcp.{d}, but senders look them up at _25._tcp.<MX host>"),
                format!("TLSA records are published at _443._tcp.mx.{d} (the HTTPS port), but SMTP senders look them up at _25._tcp.mx.{d}"),
            ],
            "d07-tlsa-at-alias" => vec![format!(
                "TLSA records at _25._tcp.mx.{d} are never used: the MX host is an alias, and senders use the records at _25._tcp.host.{d}, under the name it expands to"
            )],
            _ => Vec::new(),
        };
        let mut sorted = messages.clone();
        sorted.sort();
        let mut expected_sorted = expected.clone();
        expected_sorted.sort();
        assert_eq!(sorted, expected_sorted, "{}", scenario.key);
    }
}
