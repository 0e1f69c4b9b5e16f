//! A real Postfix asks `mxsec daemon` for TLS policy, end to end.
//!
//! Each test creates a network namespace of its own and runs in it the simulated internet on
//! its published addresses and the standard ports (`mxsec demo --serve`), unbound as the
//! validating resolver of the namespace's `/etc/resolv.conf`, and `mxsec daemon`. The first
//! test starts a sending Postfix instance (`postfix -c DIR start`) configured as
//! docs/daemon.md says, sends one message to every scenario's domain and reads from Postfix's
//! log which were delivered, over which TLS, and which were deferred; another does the same
//! for a few scenarios with the daemon on a Unix socket, which Postfix's delivery agents reach
//! as the `postfix` user. One more asks the daemon for every scenario through Postfix's own
//! socketmap client, `postmap -q`.
//!
//! `conformance` runs `mxsec conformance` with each ready-made policy server and holds the
//! grades to what is known of each.
//!
//! `doctor` runs `mxsec doctor` on a correct setup, then on each part broken on purpose.
//!
//! `tlsrpt` sends mail to a few scenarios with the daemon's TLS reporting on, delivers the
//! day's reports through Postfix to each scenario's `rua`, and checks what arrives.
//!
//! `private_check` runs `mxsec check --allow-private` from another process in such a
//! namespace against `mxsec demo --serve`, and holds every scenario to its in-process verdict.
//!
//! They need root, `ip` (iproute2), `postfix` and `unbound`, which `scripts/test` installs;
//! without them they fail, saying so.

mod conformance;
mod doctor;
mod private_check;
mod tlsrpt;
mod world;

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use mxsec_conformance::postfix::{statuses, verified_tls, DeliveryStatus};
use mxsec_testbed::scenario::{Delivery, ExpectedAnswer, Scenario};
use world::{recipient, run, Process, Transport, World};

/// How long Postfix may take to try every destination once.
const DELIVERY_TIME: Duration = Duration::from_secs(180);

/// What a sender enforcing DANE and MTA-STS does with a message to a scenario's domain, as
/// Postfix's log shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Delivered over TLS that Postfix authenticated (`Verified TLS connection`): DANE or
    /// MTA-STS applied and held.
    Verified,
    /// Delivered, with whatever TLS the MX host offered (no policy applied).
    Delivered,
    /// Deferred, for a reason Postfix logs with these words: the policy could not be met, or
    /// could not be known.
    Deferred(&'static str),
    /// Returned: the domain accepts no mail (null MX, RFC 7505).
    Bounced,
}

/// The outcome each scenario must have: the catalogue's expected delivery
/// (`Scenario::expected_delivery`, which says why), with the words Postfix logs for each
/// deferral.
fn expected_outcome(scenario: &Scenario) -> Option<Outcome> {
    Some(match scenario.expected_delivery()?.delivery {
        Delivery::Authenticated => Outcome::Verified,
        // Behind an unsigned MX, Postfix 3.7 logs a "Trusted" connection where RFC 7672
        // §2.2.1 lets it use the host's TLSA records; TLSA present but unusable gives an
        // "Untrusted" one (DANE-DISC-05).
        Delivery::Encrypted | Delivery::Opportunistic => Outcome::Delivered,
        Delivery::Deferred => Outcome::Deferred(deferral_reason(scenario.key)?),
        Delivery::Bounced => Outcome::Bounced,
    })
}

/// Postfix's words for the deferral of a scenario's message.
fn deferral_reason(key: &str) -> Option<&'static str> {
    Some(match key {
        "dane-fails-sts-passes"
        | "d01-new-key"
        | "d01-3-0-1-reissued"
        | "d02-one-intermediate"
        | "d03-ta-not-in-chain"
        | "d04-ta-wrong-name"
        | "m06-mx-wrong-name"
        | "m06-mx-self-signed"
        | "m06-mx-expired"
        | "unusable-tlsa-enforce" => NOT_VERIFIED,
        // Postfix's smtp_tls_CAfile is the testbed CA alone, so it cannot verify a chain to
        // the stand-in OS store's root (PKIX-01).
        "pkix-os-store-only" => NOT_VERIFIED,
        "t01-masked-starttls" => "TLS is required, but was not offered",
        "t03-tls-fails" => "Cannot start TLS: handshake failure",
        // The daemon answers TEMP: no MX covered, or the TLSA lookup failed.
        "m05-two-labels"
        | "m09-unmatchable-only"
        | "m09-nmx-typo"
        | "d08-tlsa-servfail"
        | "insecure-mx-dane-unlisted" => POLICY_TEMP,
        // Postfix's own MX lookup fails first where DNSSEC is bogus.
        "d05-bogus-ds" | "d05-expired-signatures" => "Name service error",
        _ => return None,
    })
}

/// Postfix's reason when a certificate fails DANE or the `secure` level's checks.
const NOT_VERIFIED: &str = "Server certificate not verified";
/// Postfix's reason when the TLS policy lookup answers `TEMP`.
const POLICY_TEMP: &str = "client TLS configuration problem";

/// PFX-05, PFX-06, STS-APP-01, STS-APP-06, DANE-AUTH-06, DANE-DNS-03: a real Postfix, asking
/// `mxsec daemon` for policy as docs/daemon.md configures it, delivers a message to every
/// scenario's domain or defers it as a sender enforcing DANE and MTA-STS must; what it
/// delivers under a policy, it delivers over authenticated TLS.
#[test]
fn pfx_05_real_postfix_delivers_or_defers_each_scenario() {
    let scenarios: Vec<&Scenario> = Scenario::all().iter().collect();
    let unlisted: Vec<&str> = scenarios
        .iter()
        .filter(|s| expected_outcome(s).is_none())
        .map(|s| s.key)
        .collect();
    assert!(
        unlisted.is_empty(),
        "give these scenarios an expected delivery in the catalogue, and a deferral its words \
         in deferral_reason: {unlisted:?}"
    );
    let mut world = World::start(Transport::Tcp);
    let table = deliver_and_check(&mut world, &scenarios);
    println!("{table}");
}

/// PFX-01, PFX-05: Postfix's delivery agents, which run as the `postfix` user, ask the daemon
/// over its Unix socket (`unix_group = "postfix"`, mode 0660, as docs/daemon.md sets it up)
/// and apply its answers: DANE, MTA-STS, and TEMP.
#[test]
fn pfx_01_postfix_asks_over_the_unix_socket() {
    let keys = [
        "dane-ee",
        "sts-enforce",
        "m06-mx-wrong-name",
        "d08-tlsa-servfail",
        "plain",
    ];
    let scenarios: Vec<&Scenario> = keys
        .iter()
        .map(|key| Scenario::find(key).expect("a scenario of the catalogue"))
        .collect();
    let mut world = World::start(Transport::Unix);
    let table = deliver_and_check(&mut world, &scenarios);
    println!("{table}");
}

/// Starts Postfix in `world`, sends one message to each scenario's domain, waits until Postfix
/// has tried each, and checks each outcome against [`expected_outcome`]; returns the table of
/// statuses.
fn deliver_and_check(world: &mut World, scenarios: &[&Scenario]) -> String {
    let config = world.start_postfix();
    for scenario in scenarios {
        world::send(world.netns(), &config, scenario);
    }

    let deadline = Instant::now() + DELIVERY_TIME;
    let statuses = loop {
        let statuses = statuses(&world.maillog_text());
        if scenarios
            .iter()
            .all(|s| statuses.contains_key(&recipient(s)))
        {
            break statuses;
        }
        assert!(
            Instant::now() < deadline,
            "Postfix did not try every destination within {DELIVERY_TIME:?}; maillog:\n{}\n\n{}",
            world.maillog_text(),
            world.diagnostics()
        );
        std::thread::sleep(Duration::from_millis(250));
    };

    let log = world.maillog_text();
    let mut wrong = Vec::new();
    let mut table = Vec::new();
    for scenario in scenarios {
        let expected = expected_outcome(scenario).expect("listed");
        let status = &statuses[&recipient(scenario)];
        let verified = verified_tls(&log, &scenario.domain());
        let got = match (&status.status, verified) {
            (DeliveryStatus::Sent, true) => Some(Outcome::Verified),
            (DeliveryStatus::Sent, false) => Some(Outcome::Delivered),
            (DeliveryStatus::Deferred, _) => match expected {
                Outcome::Deferred(reason) if status.detail.contains(reason) => Some(expected),
                _ => None,
            },
            (DeliveryStatus::Bounced, _) => Some(Outcome::Bounced),
            (DeliveryStatus::Other(_), _) => None,
        };
        table.push(format!(
            "{:25} {:9?} {}",
            scenario.key, status.status, status.detail
        ));
        if got != Some(expected) {
            wrong.push(format!(
                "{}: expected {expected:?}, got {:?} {} (verified TLS: {verified})",
                scenario.key, status.status, status.detail
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{wrong:#?}\n\nevery scenario:\n{}\n\nmaillog:\n{log}\n\n{}",
        table.join("\n"),
        world.diagnostics()
    );
    table.join("\n")
}

/// How many `postmap -q` run at once.
const POSTMAP_BATCH: usize = 16;

/// PFX-01, PFX-02: Postfix's own socketmap client (`postmap -q`) gets every scenario's
/// expected answer from `mxsec daemon`: `OK <policy>` as the policy, `NOTFOUND ` as not
/// found, `TEMP` as a lookup error.
#[test]
fn pfx_01_postmap_gets_every_scenario_answer_from_the_daemon() {
    let world = World::start(Transport::Tcp);
    let config = world.postfix_config();
    let map = world.policy_map();
    let mut wrong = Vec::new();
    // A few lookups at once, as a Postfix queue runner makes them: all 88 at once through a
    // cold Unbound made some DNS answers miss the daemon's 5 s timeout on a loaded machine.
    for batch in Scenario::all().chunks(POSTMAP_BATCH) {
        let children: Vec<_> = batch
            .iter()
            .map(|scenario| {
                let child = world
                    .netns()
                    .exec("postmap")
                    .expect("ip netns exec")
                    .arg("-c")
                    .arg(&config)
                    .args(["-q", &scenario.domain(), &map])
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("run postmap");
                (scenario, child)
            })
            .collect();
        for (scenario, child) in children {
            let output = child.wait_with_output().expect("postmap finishes");
            let expected = scenario.expected_query();
            if let Err(why) = postmap_agrees(&expected, &output) {
                wrong.push(format!(
                    "{}: expected {expected}, but postmap {why} (exit {}, stdout {:?}, stderr {:?})",
                    scenario.key,
                    output.status,
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}\n\n{}", world.diagnostics());
}

/// `mxsec demo --serve` says why it cannot bind a port, and how to give it a network
/// namespace: here an IPv6 address that is not local, then a DNS port another one holds.
#[test]
fn demo_serve_explains_a_port_it_cannot_bind() {
    let netns = world::netns();
    let mxsec = env!("CARGO_BIN_EXE_mxsec");
    run(netns
        .exec("sh")
        .expect("ip netns exec")
        .args(["-c", "echo 0 > /proc/sys/net/ipv6/ip_nonlocal_bind"]))
    .expect("set ip_nonlocal_bind");
    let stderr = fails(
        netns
            .exec(mxsec)
            .expect("ip netns exec")
            .args(["demo", "--serve"]),
    );
    assert!(
        stderr.contains("cannot listen on [fd6d:7873:6563::")
            && stderr.contains("The address is not local here")
            && stderr.contains("ip -n mxsec -6 route add local fd6d:7873:6563::/48 dev lo"),
        "{stderr}"
    );

    run(netns
        .exec("sh")
        .expect("ip netns exec")
        .args(["-c", "echo 1 > /proc/sys/net/ipv6/ip_nonlocal_bind"]))
    .expect("set ip_nonlocal_bind");
    let mut first = Process::spawn(
        "mxsec demo --serve",
        netns
            .exec(mxsec)
            .expect("ip netns exec")
            .args(["demo", "--serve"]),
    )
    .expect("start mxsec demo --serve");
    first
        .wait_for("Serving until", world::STARTUP)
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = fails(
        netns
            .exec(mxsec)
            .expect("ip netns exec")
            .args(["demo", "--serve"]),
    );
    assert!(
        stderr.contains("cannot listen on 127.0.0.53:53")
            && stderr.contains("Another program listens there")
            && stderr.contains("ip netns add mxsec"),
        "{stderr}"
    );
}

/// Runs `command`, which must exit with status 2 within a minute; returns its stderr.
fn fails(command: &mut std::process::Command) -> String {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the command");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("reap");
            panic!(
                "{command:?} did not fail: {}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().expect("read the output");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(status.code(), Some(2), "{stderr}");
    stderr
}

/// Whether `postmap -q` shows the expected socketmap answer: the policy text and exit 0 for
/// `OK`, nothing and exit 1 for `NOTFOUND`, Postfix's "socketmap server temporary error" with
/// the reason for `TEMP`.
fn postmap_agrees(expected: &ExpectedAnswer, output: &Output) -> Result<(), &'static str> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code();
    match expected {
        ExpectedAnswer::Exact(answer) if answer.starts_with("NOTFOUND") => {
            if code == Some(1) && stdout.is_empty() && !stderr.contains("error") {
                Ok(())
            } else {
                Err("did not report \"not found\"")
            }
        }
        ExpectedAnswer::Exact(answer) => {
            let policy = answer
                .strip_prefix("OK ")
                .ok_or("got an unexpected kind of answer")?;
            if code == Some(0) && stdout.trim_end_matches('\n') == policy {
                Ok(())
            } else {
                Err("printed another policy")
            }
        }
        ExpectedAnswer::AnyTemp => {
            if code != Some(0)
                && stdout.is_empty()
                && stderr.contains("socketmap server temporary error: ")
            {
                Ok(())
            } else {
                Err("did not report a temporary error")
            }
        }
    }
}
