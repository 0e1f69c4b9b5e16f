//! `mxsec check --allow-private` from another process against `mxsec demo --serve`: the
//! simulated internet on its published addresses (loopback and unique-local, all of them
//! special-purpose, SCENARIOS.md N-01) in a network namespace of its own, checked from a second
//! process in that namespace with the demo's DNS server, trust anchor, CA file and stand-in
//! OS root store, and no address map. Every scenario must get the verdict the in-process checker gives it
//! (`mxsec_testbed::scenario::EXPECTED_AUDITS`).

use std::path::PathBuf;

use mxsec_check::{Report, Severity};
use mxsec_testbed::scenario::Scenario;

use crate::world::{self, Process};

/// The authoritative DNS server of the simulated internet inside the namespace.
const DNS: &str = "127.0.0.53";

/// A file `mxsec demo --serve` printed on the line that starts with `label`.
fn printed_file(demo: &Process, label: &str) -> PathBuf {
    demo.output()
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(|path| PathBuf::from(path.trim()))
        .unwrap_or_else(|| panic!("no {label:?} printed:\n{}", demo.output()))
}

#[test]
fn n_01_check_allow_private_against_demo_serve_gives_every_scenario_its_verdict() {
    let netns = world::netns();
    let mxsec = env!("CARGO_BIN_EXE_mxsec");
    let mut demo = Process::spawn(
        "mxsec demo --serve",
        netns
            .exec(mxsec)
            .expect("ip netns exec")
            .args(["demo", "--serve", "--dns", DNS]),
    )
    .expect("start mxsec demo --serve");
    demo.wait_for("Serving until", world::STARTUP)
        .unwrap_or_else(|e| panic!("{e}"));
    let anchor = printed_file(&demo, "DNSSEC trust anchor (DS)");
    let ca = printed_file(&demo, "CA certificate (PEM)");
    let os_store = printed_file(&demo, "OS root store (PEM)");

    let domains: Vec<String> = Scenario::all().iter().map(Scenario::domain).collect();
    let out = netns
        .exec(mxsec)
        .expect("ip netns exec")
        .args(["check", "--allow-private", "--json", "--resolver", DNS])
        .arg("--trust-anchor")
        .arg(&anchor)
        .arg("--ca-file")
        .arg(&ca)
        .arg("--os-store")
        .arg(&os_store)
        .args(["--timeout", "5"])
        .args(&domains)
        .output()
        .expect("run mxsec check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "mxsec check failed ({}): {stderr}",
        out.status
    );
    assert!(!stderr.contains("--allow-private"), "{stderr}");

    let mut problems = Vec::new();
    let mut seen = 0;
    for line in stdout.lines() {
        let report: Report = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        seen += 1;
        let key = report.domain.to_string();
        let key = key.trim_end_matches(".test");
        let Some(scenario) = Scenario::find(key) else {
            problems.push(format!("{key}: not a scenario"));
            continue;
        };
        let Some(expected) = scenario.expected_audit() else {
            problems.push(format!("{key}: no expected audit"));
            continue;
        };
        let verdict = [
            report.verdict.mta_sts.as_str(),
            report.verdict.dane.as_str(),
            report.verdict.tls_rpt.as_str(),
            report.verdict.delivery.as_str(),
        ];
        if verdict != expected.verdict {
            problems.push(format!(
                "{key}: verdict {verdict:?}, in process {:?}",
                expected.verdict
            ));
        }
        let policy = scenario.expected_query();
        if !policy.matches(&report.verdict.policy) {
            problems.push(format!(
                "{key}: policy {:?}, expected {policy}",
                report.verdict.policy
            ));
        }
        let found: Vec<&str> = report
            .finding_ids(&[Severity::Error, Severity::Warning])
            .into_iter()
            .collect();
        if found != expected.problems {
            problems.push(format!(
                "{key}: finding IDs {found:?}, in process {:?}",
                expected.problems
            ));
        }
        // Every MX address here is special-purpose: probed, and noted as such (N-01).
        let addresses = report
            .mx
            .hosts
            .iter()
            .map(|h| h.addresses.len())
            .sum::<usize>();
        let notes = report
            .findings
            .iter()
            .filter(|f| f.kind == mxsec_check::FindingKind::SpecialPurposeAddressProbed)
            .count();
        if notes != addresses {
            problems.push(format!(
                "{key}: {notes} N-01 notes for {addresses} probed addresses"
            ));
        }
    }
    if seen != domains.len() {
        problems.push(format!("{seen} reports for {} domains", domains.len()));
    }
    assert!(
        problems.is_empty(),
        "\n{}\nstderr: {stderr}",
        problems.join("\n")
    );
}
