//! `mxsec conformance` grades a real Postfix, in a network namespace the harness makes, on
//! every scenario: with `mxsec daemon` it passes them all; alone, and with
//! postfix-mta-sts-resolver (installed from PyPI into a virtual environment under the target
//! directory), it shows the known unsafe rows (docs/conformance.md).

use std::process::Command;

use mxsec_testbed::scenario::Scenario;
use serde_json::Value;

/// Runs `mxsec conformance --mta postfix --policy POLICY --json`; returns its exit code and
/// report.
fn conformance(policy: &str) -> (Option<i32>, Value) {
    let venv = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("postfix-mta-sts-resolver");
    let output = Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args([
            "conformance",
            "--mta",
            "postfix",
            "--policy",
            policy,
            "--json",
        ])
        .arg("--venv")
        .arg(&venv)
        .output()
        .expect("run mxsec conformance");
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "mxsec conformance --policy {policy} printed no report ({e}), exit {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code(), report)
}

/// The scenarios of `report` graded `grade`.
fn graded<'a>(report: &'a Value, grade: &str) -> Vec<&'a str> {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|row| row["grade"] == grade)
        .filter_map(|row| row["scenario"].as_str())
        .collect()
}

/// Fails unless every scenario of `expected` is graded `grade` in `report`.
fn assert_graded(report: &Value, grade: &str, expected: &[&str]) {
    let got = graded(report, grade);
    let missing: Vec<&&str> = expected.iter().filter(|key| !got.contains(key)).collect();
    assert!(
        missing.is_empty(),
        "not {grade}: {missing:?}\n{}",
        serde_json::to_string_pretty(report).unwrap_or_default()
    );
}

/// PFX-05, STS-APP-01, STS-APP-06, DANE-AUTH-06: Postfix asking `mxsec daemon` passes every
/// scenario, and the run says so with exit status 0.
#[test]
fn pfx_05_conformance_postfix_with_mxsec_passes_every_scenario() {
    let (code, report) = conformance("mxsec");
    let passed = graded(&report, "pass");
    let others: Vec<&Value> = report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|row| row["grade"] != "pass")
        .collect();
    assert!(others.is_empty(), "{others:#?}");
    assert_eq!(passed.len(), Scenario::all().len());
    assert_eq!(code, Some(0));
}

/// STS-APP-06, STS-VAL-01: postfix-mta-sts-resolver answers `secure` for an MTA-STS domain
/// without asking about DANE, so Postfix delivers where DANE fails; and it turns `*.d` into
/// Postfix's `.d`, which matches any depth. The run exits 1.
#[test]
fn sts_app_06_conformance_finds_the_known_unsafe_rows_of_postfix_mta_sts_resolver() {
    let (code, report) = conformance("postfix-mta-sts-resolver");
    assert_graded(
        &report,
        "unsafe",
        &["dane-fails-sts-passes", "m05-two-labels"],
    );
    assert_graded(
        &report,
        "pass",
        &["dane-ee", "sts-enforce", "m06-mx-wrong-name"],
    );
    assert_eq!(code, Some(1));
}

/// STS-APP-01: Postfix alone knows no MTA-STS, so it delivers to MX hosts an enforce policy
/// refuses, and in clear where the policy requires TLS; DANE it does itself. The run exits 1.
#[test]
fn sts_app_01_conformance_finds_that_postfix_alone_ignores_mta_sts() {
    let (code, report) = conformance("none");
    assert_graded(
        &report,
        "unsafe",
        &[
            "m06-mx-wrong-name",
            "m06-mx-self-signed",
            "m06-mx-expired",
            "t01-masked-starttls",
            "sts-first-mx-fails",
        ],
    );
    assert_graded(
        &report,
        "pass",
        &[
            "dane-ee",
            "dane-fails-sts-passes",
            "d01-new-key",
            "d08-tlsa-servfail",
        ],
    );
    assert_eq!(code, Some(1));
}
