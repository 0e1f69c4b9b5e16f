//! `mxsec doctor` in a network namespace with the simulated internet, unbound, `mxsec daemon`
//! and a Postfix configuration written as docs/daemon.md says: nothing to fix, then each part
//! broken on purpose, one at a time, and the finding that names it.

use std::path::Path;

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
    let output = world
        .netns()
        .exec(env!("CARGO_BIN_EXE_mxsec"))
        .expect("ip netns exec")
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
    let ids = findings
        .iter()
        .filter_map(|f| f["id"].as_str().map(str::to_owned))
        .collect();
    (output.status.code(), ids)
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

/// DANE-DNS-01, PFX-01, STS-FETCH-07: a correct setup has nothing to fix (Postfix 3.7's
/// version note aside); a wrong `smtp_dns_support_level`, a missing CA file, a
/// non-validating resolver, a read-only store and a stopped daemon each give their finding
/// and exit status 1.
#[test]
fn dane_dns_01_doctor_finds_nothing_on_a_correct_setup_and_names_each_broken_part() {
    let mut world = World::start(Transport::Tcp);
    let config = world.postfix_config();
    let resolv_conf = Path::new("/etc/resolv.conf");
    let daemon_config = world.dir().join("mxsec.toml");

    let (code, ids) = doctor(&world, &config, resolv_conf, &daemon_config);
    assert_eq!(ids, ["DOC-PFX-05"], "{}", world.diagnostics());
    assert_eq!(code, Some(0));

    postconf(&world, &config, "smtp_dns_support_level=enabled");
    let (code, ids) = doctor(&world, &config, resolv_conf, &daemon_config);
    assert!(ids.contains(&"DOC-PFX-01".to_owned()), "{ids:?}");
    assert_eq!(code, Some(1));
    postconf(&world, &config, "smtp_dns_support_level=dnssec");

    postconf(&world, &config, "smtp_tls_CAfile=/nonexistent/ca.pem");
    let (code, ids) = doctor(&world, &config, resolv_conf, &daemon_config);
    assert_eq!(ids, ["DOC-PFX-04", "DOC-PFX-05"]);
    assert_eq!(code, Some(1));
    let ca = world.ca_file().display().to_string();
    postconf(&world, &config, &format!("smtp_tls_CAfile={ca}"));

    // The simulated internet's authoritative server: it neither recurses nor validates.
    let authoritative = world.dir().join("resolv-authoritative.conf");
    std::fs::write(&authoritative, "nameserver 127.0.0.53\n").expect("write resolv.conf");
    let (code, ids) = doctor(&world, &config, &authoritative, &daemon_config);
    assert!(
        ids.contains(&"DOC-RES-02".to_owned()) && ids.contains(&"DOC-RES-03".to_owned()),
        "{ids:?}"
    );
    assert_eq!(code, Some(1));

    // Nothing can be created under /proc, not even by root.
    let read_only = world.dir().join("mxsec-read-only.toml");
    std::fs::write(
        &read_only,
        "[cache]\nstore = \"/proc/mxsec/policies.sqlite3\"\n",
    )
    .expect("write the daemon configuration");
    let (code, ids) = doctor(&world, &config, resolv_conf, &read_only);
    assert_eq!(ids, ["DOC-PFX-05", "DOC-DMN-02"]);
    assert_eq!(code, Some(1));

    world.stop_daemon();
    let (code, ids) = doctor(&world, &config, resolv_conf, &daemon_config);
    assert_eq!(ids, ["DOC-PFX-05", "DOC-DMN-01"]);
    assert_eq!(code, Some(1));
}
