//! `mxsec conformance` grades a real Postfix, in a network namespace the harness makes, on
//! every scenario: with `mxsec daemon` it passes them all; alone, and with
//! postfix-mta-sts-resolver (installed from PyPI into a virtual environment under the target
//! directory), it shows the known unsafe rows (docs/conformance.md). With `--mta external` it
//! grades a Postfix the test configures from what the harness prints.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mxsec_conformance::netns::Netns;
use mxsec_conformance::postfix::{Postfix, PostfixSetup};
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
            // Tried first (`smtp_address_preference = ipv6`): the IPv6 listener offers no
            // STARTTLS, and Postfix alone delivers in clear (T-02).
            "t02-ipv6-no-tls",
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

/// What `mxsec conformance --mta external` printed for the MTA under test.
struct External {
    netns: String,
    ca_file: PathBuf,
    inject: SocketAddr,
}

impl External {
    /// Reads the instructions from the harness's standard error, up to "Press Enter".
    fn read(stderr: &mut impl BufRead) -> (Self, String) {
        let mut printed = String::new();
        let (mut netns, mut ca_file, mut inject) = (None, None, None);
        for line in stderr.lines().map_while(Result::ok) {
            printed.push_str(&line);
            printed.push('\n');
            if let Some((_, rest)) = line.split_once("network namespace ") {
                netns = rest.split_once(". ").map(|(name, _)| name.to_owned());
            }
            let last = || line.split_whitespace().last().map(str::to_owned);
            if line.contains("CA file (WebPKI roots)") {
                ca_file = last().map(PathBuf::from);
            }
            if line.contains("accepting mail on") {
                inject = last().and_then(|addr| addr.parse().ok());
            }
            if line.starts_with("Press Enter") {
                break;
            }
        }
        match (netns, ca_file, inject) {
            (Some(netns), Some(ca_file), Some(inject)) => (
                Self {
                    netns,
                    ca_file,
                    inject,
                },
                printed,
            ),
            _ => {
                panic!("mxsec conformance --mta external did not say what to configure:\n{printed}")
            }
        }
    }
}

/// Waits until something accepts TCP connections at `addr` inside `netns`.
fn wait_for_listener(netns: &Netns, addr: SocketAddr) {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                netns.enter_this_thread().unwrap_or_else(|e| panic!("{e}"));
                let deadline = Instant::now() + Duration::from_secs(60);
                while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
                    assert!(Instant::now() < deadline, "nothing listens on {addr}");
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
            .join()
            .expect("the waiting thread");
    });
}

/// STS-APP-01, DANE-AUTH-06, T-01: `mxsec conformance --mta external` grades an MTA it does
/// not start. The test plays the user: it configures a Postfix of its own (DANE, no policy
/// server) from what the harness prints (the namespace, whose resolv.conf names the
/// validating resolver; the CA file; the address to accept mail on), starts it in that
/// namespace, and presses Enter. Without the MTA's log, the harness grades from what the MX
/// hosts received, and from silence where delivery must not happen: the DANE deliveries and
/// deferrals pass, the MTA-STS refusals Postfix alone cannot make are unsafe, and the run
/// exits 1.
#[test]
fn sts_app_01_conformance_grades_an_external_mta_configured_from_what_it_prints() {
    let keys = [
        "dane-ee",
        "plain",
        "d01-new-key",
        "m06-mx-wrong-name",
        "t01-masked-starttls",
    ];
    let mut command = Command::new(env!("CARGO_BIN_EXE_mxsec"));
    command.args([
        "conformance",
        "--mta",
        "external",
        "--inject",
        "127.0.0.1:10025",
        "--time-limit",
        "30",
        "--json",
    ]);
    for key in keys {
        command.args(["--scenario", key]);
    }
    let mut harness = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mxsec conformance");
    let mut stderr = BufReader::new(harness.stderr.take().expect("stderr"));
    let (external, printed) = External::read(&mut stderr);
    // The rest of what it prints, read so that it never writes into a closed pipe.
    let rest = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        rest
    });

    let netns = Netns::attach(&external.netns, "127.0.0.1").unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().expect("temporary directory");
    // Postfix's programs run as the postfix user and must reach its directories below.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod the temporary directory");
    let postfix = Postfix::start(
        &netns,
        PostfixSetup {
            base: dir.path().join("postfix-external"),
            ca_file: external.ca_file.clone(),
            policy_map: None,
            listen: Some(external.inject),
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{printed}"));
    wait_for_listener(&netns, external.inject);
    harness
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"\n")
        .expect("press Enter");

    let output = harness.wait_with_output().expect("mxsec conformance ends");
    let maillog = postfix.maillog_text();
    drop(postfix);
    let rest = rest.join().unwrap_or_default();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no report ({e}), exit {}:\n{printed}{rest}\nPostfix's log:\n{maillog}",
            output.status
        )
    });
    assert_eq!(report["mta"], "external", "{report:#}");
    assert_graded(&report, "pass", &["dane-ee", "plain", "d01-new-key"]);
    assert_graded(
        &report,
        "unsafe",
        &["m06-mx-wrong-name", "t01-masked-starttls"],
    );
    assert_eq!(output.status.code(), Some(1), "Postfix's log:\n{maillog}");
}
