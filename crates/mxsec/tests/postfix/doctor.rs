//! `mxsec doctor` in a network namespace with the simulated internet, unbound, `mxsec daemon`
//! and a Postfix configuration written as docs/daemon.md says: nothing to fix, then each part
//! broken on purpose, one at a time, and the finding that names it. The clock is moved with
//! libfaketime (`faketime`, Debian package faketime).

use std::path::Path;

use mxsec_testbed::scenario::Scenario;
use serde_json::Value;

use crate::world::{run, Transport, World};

/// Runs `mxsec doctor --json` inside the world's namespace against the Postfix configuration
/// `config`, with the simulated internet's signed and broken names; returns the exit code and
/// the finding IDs.
fn doctor(
    world: &World,
    config: &Path,
    resolv_conf: &Path,
    daemon_config: &Path,
) -> (Option<i32>, Vec<String>) {
    let (code, findings) = doctor_at(world, config, resolv_conf, daemon_config, None);
    (code, finding_ids(&findings))
}

/// The IDs of `findings`.
fn finding_ids(findings: &[Value]) -> Vec<String> {
    findings
        .iter()
        .filter_map(|f| f["id"].as_str().map(str::to_owned))
        .collect()
}

/// [`doctor`], run with its clock moved by `clock` (libfaketime's `faketime -f`, e.g. `+3h`)
/// when given; returns the exit code and the findings.
fn doctor_at(
    world: &World,
    config: &Path,
    resolv_conf: &Path,
    daemon_config: &Path,
    clock: Option<&str>,
) -> (Option<i32>, Vec<Value>) {
    let mxsec = env!("CARGO_BIN_EXE_mxsec");
    let mut command = match clock {
        None => world.netns().exec(mxsec).expect("ip netns exec"),
        Some(offset) => {
            let mut command = world.netns().exec("faketime").expect("ip netns exec");
            // Timeouts run on the monotonic clock, which stays true.
            command
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
                .args(["-f", offset, mxsec]);
            command
        }
    };
    let output = command
        .args([
            "doctor",
            "--json",
            "--signed",
            "dane-ee.test",
            "--broken",
            "d05-bogus-ds.test",
        ])
        .arg("--config-dir")
        .arg(config)
        .arg("--resolv-conf")
        .arg(resolv_conf)
        .arg("--daemon-config")
        .arg(daemon_config)
        .output()
        .expect("run mxsec doctor");
    let findings: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "mxsec doctor printed no findings ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code(), findings)
}

/// `postconf -c DIR -e NAME=VALUE`.
fn postconf(world: &World, config: &Path, setting: &str) {
    run(world
        .netns()
        .exec("postconf")
        .expect("ip netns exec")
        .arg("-c")
        .arg(config)
        .args(["-e", setting]))
    .expect("postconf -e");
}

/// Postfix's own socketmap client asks the daemon for `scenario`'s policy, so that the daemon
/// fetches it from the scenario's policy host.
fn look_up(world: &World, config: &Path, scenario: &str) {
    let domain = Scenario::find(scenario).expect("a scenario").domain();
    run(world
        .netns()
        .exec("postmap")
        .expect("ip netns exec")
        .arg("-c")
        .arg(config)
        .args(["-q", &domain, &world.policy_map()]))
    .expect("postmap -q");
}

/// DANE-DNS-01, PFX-01, PFX-06, PKIX-01, STS-FETCH-07, STS-FETCH-08: a correct setup has nothing to
/// fix (Postfix 3.7's version note aside); a wrong `smtp_dns_support_level`, a missing CA
/// file, a CA file without the roots of the policy hosts the daemon fetched from, a clock
/// three hours ahead, a non-validating resolver, a read-only store, a refresh switched off and
/// a stopped daemon each give their finding, and each error exit status 1.
#[test]
fn dane_dns_01_doctor_finds_nothing_on_a_correct_setup_and_names_each_broken_part() {
    let mut world = World::start(Transport::Tcp);
    let config = world.postfix_config();
    let resolv_conf = Path::new("/etc/resolv.conf");
    let daemon_config = world.dir().join("mxsec.toml");

    // Before any policy fetch there is nothing to check the clock and the CA file against.
    let (code, ids) = doctor(&world, &config, resolv_conf, &daemon_config);
    assert_eq!(ids, ["DOC-PFX-05", "DOC-CLK-01"], "{}", world.diagnostics());
    assert_eq!(code, Some(0));

    look_up(&world, &config, "sts-enforce");
    look_up(&world, &config, "m10-short-max-age");
    let (code, findings) = doctor_at(&world, &config, resolv_conf, &daemon_config, None);
    assert_eq!(
        finding_ids(&findings),
        ["DOC-PFX-05"],
        "{}",
        world.diagnostics()
    );
    assert_eq!(code, Some(0));
    // PFX-06: Postfix 3.7 cannot report TLS results itself; the fix is mxsec's log follower.
    let fix = findings[0]["fix"].as_str().unwrap_or_default();
    assert!(fix.contains("[tlsrpt]") && fix.contains("maillog"), "{fix}");

    postconf(&world, &config, "smtp_dns_support_level=enabled");
    let (code, ids) = doctor(&world, &config, resolv_conf, &daemon_config);
    assert!(ids.contains(&"DOC-PFX-01".to_owned()), "{ids:?}");
    assert_eq!(code, Some(1));
    postconf(&world, &config, "smtp_dns_support_level=dnssec");

    postconf(&world, &config, "smtp_tls_CAfile=/nonexistent/ca.pem");
    let (code, ids) = doctor(&world, &config, resolv_conf, &daemon_config);
    assert_eq!(ids, ["DOC-PFX-04", "DOC-PFX-05"]);
    assert_eq!(code, Some(1));

    // Real WebPKI roots, but not the simulated internet's: its policy hosts do not verify.
    postconf(
        &world,
        &config,
        "smtp_tls_CAfile=/etc/ssl/certs/ca-certificates.crt",
    );
    let (code, ids) = doctor(&world, &config, resolv_conf, &daemon_config);
    assert_eq!(ids, ["DOC-PFX-05", "DOC-PFX-06"]);
    assert_eq!(code, Some(1));
    let ca = world.ca_file().display().to_string();
    postconf(&world, &config, &format!("smtp_tls_CAfile={ca}"));

    let (code, findings) = doctor_at(&world, &config, resolv_conf, &daemon_config, Some("+3h"));
    assert_eq!(finding_ids(&findings), ["DOC-PFX-05", "DOC-CLK-01"]);
    assert_eq!(findings[1]["severity"], "error");
    assert_eq!(code, Some(1));

    // The simulated internet's authoritative server: it neither recurses nor validates.
    let authoritative = world.dir().join("resolv-authoritative.conf");
    std::fs::write(&authoritative, "nameserver 127.0.0.53\n").expect("write resolv.conf");
    let (code, ids) = doctor(&world, &config, &authoritative, &daemon_config);
    assert!(
        ids.contains(&"DOC-RES-02".to_owned()) && ids.contains(&"DOC-RES-03".to_owned()),
        "{ids:?}"
    );
    assert_eq!(code, Some(1));

    // Nothing can be created under /proc, not even by root. This configuration serves no
    // status either, which is a warning of its own.
    let read_only = world.dir().join("mxsec-read-only.toml");
    std::fs::write(
        &read_only,
        "[cache]\nstore = \"/proc/mxsec/policies.sqlite3\"\n",
    )
    .expect("write the daemon configuration");
    let (code, ids) = doctor(&world, &config, resolv_conf, &read_only);
    assert_eq!(ids, ["DOC-PFX-05", "DOC-DMN-02", "DOC-DMN-03"]);
    assert_eq!(code, Some(1));

    world.reload_daemon(|config| config.replace("[refresh]\n", "[refresh]\nenabled = false\n"));
    let (code, ids) = doctor(&world, &config, resolv_conf, &daemon_config);
    assert_eq!(ids, ["DOC-PFX-05", "DOC-DMN-03"]);
    assert_eq!(code, Some(0));

    world.stop_daemon();
    let (code, ids) = doctor(&world, &config, resolv_conf, &daemon_config);
    assert_eq!(ids, ["DOC-PFX-05", "DOC-DMN-01", "DOC-DMN-03"]);
    assert_eq!(code, Some(1));
}
