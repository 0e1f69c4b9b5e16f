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
//! `private_check` runs `mxsec check --allow-private` from another process in such a
//! namespace against `mxsec demo --serve`, and holds every scenario to its in-process verdict.
//!
//! They need root, `ip` (iproute2), `postfix` and `unbound`, which `scripts/test` installs;
//! without them they fail, saying so.

mod private_check;
mod world;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use mxsec_testbed::scenario::{ExpectedAnswer, Scenario};
use world::{run, Netns, Process, Transport, World};

/// How long Postfix may take to try every destination once.
const DELIVERY_TIME: Duration = Duration::from_secs(180);

/// What a sender enforcing DANE and MTA-STS does with a message to a scenario's domain.
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

/// The outcome each scenario must have, with the reason. Every scenario of the catalogue
/// must be listed, so that a new one gets a decision.
fn expected_outcome(key: &str) -> Option<Outcome> {
    use Outcome::{Bounced, Deferred, Delivered, Verified};
    Some(match key {
        // DANE applies and the TLSA records match (DANE-AUTH-01, DANE-AUTH-02; the name and
        // expiry of a DANE-EE certificate do not matter).
        "healthy"
        | "dane-ee"
        | "dane-ta"
        | "dane-ee-self-signed"
        | "dane-ee-expired"
        | "dane-ee-wrong-name" => Verified,
        // Weak but valid DNSSEC (DNSSEC-ALG-01/02, DNSSEC-DS-01): the Unbound of this test
        // (1.17, OpenSSL 3.0) validates RSA/SHA-1, 1024-bit RSA and a SHA-1-only DS as
        // secure (checked with `mxsec query --dnssec trust-ad` in tests/query.rs), so DANE
        // applies. A validator that refuses SHA-1 would find alg-rsasha1 insecure and deliver
        // without DANE. The large TLSA answer (DANE-TLSA-08) comes over TCP on loopback.
        "alg-rsasha1" | "alg-rsa-1024" | "ds-sha1-only" | "tlsa-large" => Verified,
        // DANE for mx1, which matches; the backup mx2 is not needed.
        "d09-partial-dane" => Verified,
        // The MX host is a secure alias to an IPv4-only host (its AAAA a secure NODATA), and
        // the TLSA base domain is the expanded name, itself an alias in the provider's case
        // (N-01, DANE-DISC-03, DANE-DNS-06).
        "cname-mx-no-aaaa" | "cname-mx-provider" => Verified,
        // A DANE domain signed with NSEC3 (RFC 5155): Unbound validates the MX host's
        // NODATA for AAAA through the NSEC3 at its name, so DANE applies (DANE-AUTH-01).
        "dane-ee-nsec3" => Verified,
        // The MX host's TLSA record, and in the second case its addresses too, come from a
        // wildcard in a signed zone: Unbound validates each expansion with its proof that no
        // closer match exists (RFC 4035 §5.3.4), so DANE applies (DANE-DISC-03).
        "wildcard-tlsa" | "wildcard-mx-host" => Verified,
        // The same from a wildcard in an unsigned zone: the TLSA record is insecure, so TLS
        // is opportunistic (DANE-DISC-01).
        "wildcard-insecure" => Delivered,
        // A stale record at the alias is never used: the expanded name's TLSA records match
        // (D-07, DANE-DISC-03).
        "d07-tlsa-at-alias" => Verified,
        // A secure alias into an unsigned zone: the host's addresses are insecure, so its
        // TLSA record is ignored and TLS is opportunistic (DANE-DNS-06, D-06).
        "cname-mx-insecure" => Delivered,
        // MTA-STS enforce with the TXT record and the policy host aliased to a provider
        // (STS-TXT-01, STS-FETCH-01); the MX certificate is valid.
        "sts-cname-provider" => Verified,
        // The IPv6 address serves an old key (D-10): Postfix skips it and uses IPv4.
        "d10-ipv6-old-cert" => Verified,
        // MTA-STS enforce, and the MX certificates are valid (STS-APP-01, PFX-06).
        "sts-enforce" | "m07-split-strings" | "m10-short-max-age" | "m13-broad-pattern"
        | "r01-legacy-tlsrpt" => Verified,
        // The first MX fails validation, the second passes (STS-APP-05).
        "sts-first-mx-fails" => Verified,
        // Only mx1 is in the policy, and it is valid (M-05).
        "m05-partial-coverage" => Verified,
        // The IPv6 address offers no STARTTLS (T-02): Postfix uses the IPv4 one.
        "t02-ipv6-no-tls" => Verified,
        // DANE fails; MTA-STS would pass but must not override it (STS-APP-06, DANE-AUTH-06).
        "dane-fails-sts-passes" => Deferred(NOT_VERIFIED),
        // TLSA records that match nothing (D-01, D-02, D-03, D-04; DANE-AUTH-06).
        "d01-new-key"
        | "d01-3-0-1-reissued"
        | "d02-one-intermediate"
        | "d03-ta-not-in-chain"
        | "d04-ta-wrong-name" => Deferred(NOT_VERIFIED),
        // MTA-STS enforce, and the MX certificate fails WebPKI validation for the MX name
        // (M-06, STS-VAL-02, STS-APP-01).
        "m06-mx-wrong-name" | "m06-mx-self-signed" | "m06-mx-expired" => Deferred(NOT_VERIFIED),
        // The MX chain ends at a root only the stand-in OS store holds (PKIX-01); Postfix's
        // smtp_tls_CAfile is the testbed CA alone, so it cannot verify the chain.
        "pkix-os-store-only" => Deferred(NOT_VERIFIED),
        // MTA-STS enforce, and the MX host offers no usable TLS (T-01, T-03; STS-APP-01).
        "t01-masked-starttls" => Deferred("TLS is required, but was not offered"),
        "t03-tls-fails" => Deferred("Cannot start TLS: handshake failure"),
        // No MX host is covered by the policy (M-05, STS-VAL-01): the daemon answers TEMP.
        "m05-two-labels" => Deferred(POLICY_TEMP),
        // An enforce policy whose mx: values can match no host, or with no mx: line at all,
        // is valid and covers no MX host (STS-POL-09, STS-POL-07, STS-APP-01).
        "m09-unmatchable-only" | "m09-nmx-typo" => Deferred(POLICY_TEMP),
        // An mx: value that matches no host beside the real MX is ignored (STS-POL-09).
        "m09-ip-mx" => Verified,
        // DNSSEC or TLSA lookups fail: defer, never downgrade (DANE-DNS-03, DANE-DNS-04,
        // PFX-04). Postfix's own MX lookup fails first where DNSSEC is bogus; the TLSA
        // failure reaches it as the daemon's TEMP.
        "d05-bogus-ds" | "d05-expired-signatures" => Deferred("Name service error"),
        "d08-tlsa-servfail" => Deferred(POLICY_TEMP),
        // TLSA records exist but none is usable: TLS is required, unauthenticated
        // (DANE-DISC-05).
        "d12-unusable-only" => Delivered,
        // No policy applies: opportunistic TLS (STS-FETCH-06, STS-APP-02, STS-APP-03,
        // DANE-DNS-06, DANE-DISC-01, DANE-DISC-02).
        "sts-testing"
        | "sts-none"
        | "plain"
        | "insecure-zone"
        | "implicit-mx"
        | "d06-insecure-mx-host" => Delivered,
        // TLSA records only where senders never look: no DANE, no policy (D-07).
        "d07-tlsa-wrong-owner" => Delivered,
        // A broken MTA-STS setup means no policy, and delivery as without one (M-01, M-02,
        // M-03, M-07, M-09; STS-FETCH-06). The daemon fetches with the testbed CA alone, so
        // a policy host trusted by the OS store only is one of them (PKIX-01).
        "m01-redirect"
        | "m01-not-found"
        | "m01-wrong-path"
        | "m01-no-policy-host"
        | "m02-wrong-name"
        | "m02-expired"
        | "m02-self-signed"
        | "m02-missing-intermediate"
        | "pkix-os-only-policy-host"
        | "m03-content-type"
        | "m03-html-soft-404"
        | "m07-two-records"
        | "m07-bad-id"
        | "m07-missing-id"
        | "m07-version-not-first"
        | "m07-wrong-owner"
        | "m09-mode-enforced"
        | "m09-mode-case"
        | "m09-no-version"
        | "m09-max-age-units"
        | "m09-mx-list"
        | "m09-json" => Delivered,
        // Where DANE meets MTA-STS (POSTFIX.md §4.5): behind an unsigned MX only the policy
        // authenticates (DANE-DISC-01, STS-APP-01), so a listed host delivers over PKIX and an
        // unlisted one is deferred; with partial DANE the TLSA-less preferred MX (no
        // STARTTLS) is skipped and the DANE backup used; unusable TLSA leaves the policy's
        // PKIX check, which a self-signed certificate fails; a max_age: 0 policy applies to
        // the delivery it was fetched for.
        "insecure-mx-dane-listed" | "partial-dane-enforce" | "sts-max-age-zero" => Verified,
        // No policy, DANE behind an unsigned MX: RFC 7672 §2.2.1 lets a sender use the host's
        // TLSA (DANE-DISC-01, MAY); Postfix 3.7 does not here (it logs a "Trusted", not a
        // "Verified", TLS connection). Nothing demands more, and a forged MX defeats it anyway.
        "insecure-mx-dane" => Delivered,
        "insecure-mx-dane-unlisted" => Deferred(POLICY_TEMP),
        "unusable-tlsa-enforce" => Deferred(NOT_VERIFIED),
        // RFC 7505: the domain accepts no mail. Unsigned, the null MX could be forged, so
        // the daemon answers the policy (PFX-04); Postfix's own lookup, unforged here, bounces.
        "null-mx" | "unsigned-null-mx-enforce" => Bounced,
        _ => return None,
    })
}

/// Postfix's reason when a certificate fails DANE or the `secure` level's checks.
const NOT_VERIFIED: &str = "Server certificate not verified";
/// Postfix's reason when the TLS policy lookup answers `TEMP`.
const POLICY_TEMP: &str = "client TLS configuration problem";

/// The last delivery status Postfix logged for a recipient, with its reason.
#[derive(Debug)]
struct Status {
    status: String,
    detail: String,
}

/// PFX-05, PFX-06, STS-APP-01, STS-APP-06, DANE-AUTH-06, DANE-DNS-03: a real Postfix, asking
/// `mxsec daemon` for policy as docs/daemon.md configures it, delivers a message to every
/// scenario's domain or defers it as a sender enforcing DANE and MTA-STS must; what it
/// delivers under a policy, it delivers over authenticated TLS.
#[test]
fn pfx_05_real_postfix_delivers_or_defers_each_scenario() {
    let scenarios: Vec<&Scenario> = Scenario::all().iter().collect();
    let unlisted: Vec<&str> = scenarios
        .iter()
        .filter(|s| expected_outcome(s.key).is_none())
        .map(|s| s.key)
        .collect();
    assert!(
        unlisted.is_empty(),
        "say what Postfix must do for these scenarios in expected_outcome: {unlisted:?}"
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
        let mut sendmail = world
            .netns()
            .exec("sendmail")
            .arg("-C")
            .arg(&config)
            .args(["-f", "<>", "--", &recipient(scenario)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sendmail");
        let message = format!(
            "From: mxsec test <test@sender.mxsec.invalid>\nTo: {}\nSubject: {}\n\n{}\n",
            recipient(scenario),
            scenario.key,
            scenario.title
        );
        sendmail
            .stdin
            .take()
            .expect("stdin")
            .write_all(message.as_bytes())
            .expect("write the message");
        let output = sendmail.wait_with_output().expect("sendmail finishes");
        assert!(
            output.status.success(),
            "sendmail for {}: {}",
            scenario.key,
            String::from_utf8_lossy(&output.stderr)
        );
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
        let expected = expected_outcome(scenario.key).expect("listed");
        let status = &statuses[&recipient(scenario)];
        let verified = verified_tls(&log, &scenario.domain());
        let got = match (status.status.as_str(), verified) {
            ("sent", true) => Some(Outcome::Verified),
            ("sent", false) => Some(Outcome::Delivered),
            ("deferred", _) => match expected {
                Outcome::Deferred(reason) if status.detail.contains(reason) => Some(expected),
                _ => None,
            },
            ("bounced", _) => Some(Outcome::Bounced),
            _ => None,
        };
        table.push(format!(
            "{:25} {:9} {}",
            scenario.key, status.status, status.detail
        ));
        if got != Some(expected) {
            wrong.push(format!(
                "{}: expected {expected:?}, got {} {} (verified TLS: {verified})",
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

/// PFX-01, PFX-02: Postfix's own socketmap client (`postmap -q`) gets every scenario's
/// expected answer from `mxsec daemon`: `OK <policy>` as the policy, `NOTFOUND ` as not
/// found, `TEMP` as a lookup error.
#[test]
fn pfx_01_postmap_gets_every_scenario_answer_from_the_daemon() {
    let world = World::start(Transport::Tcp);
    let config = world.postfix_config();
    let map = world.policy_map();
    let children: Vec<_> = Scenario::all()
        .iter()
        .map(|scenario| {
            let child = world
                .netns()
                .exec("postmap")
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
    let mut wrong = Vec::new();
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
    assert!(wrong.is_empty(), "{wrong:#?}\n\n{}", world.diagnostics());
}

/// `mxsec demo --serve` says why it cannot bind a port, and how to give it a network
/// namespace: here an IPv6 address that is not local, then a DNS port another one holds.
#[test]
fn demo_serve_explains_a_port_it_cannot_bind() {
    let netns = Netns::create();
    let mxsec = env!("CARGO_BIN_EXE_mxsec");
    run(netns
        .exec("sh")
        .args(["-c", "echo 0 > /proc/sys/net/ipv6/ip_nonlocal_bind"]));
    let stderr = fails(netns.exec(mxsec).args(["demo", "--serve"]));
    assert!(
        stderr.contains("cannot listen on [fd6d:7873:6563::")
            && stderr.contains("The address is not local here")
            && stderr.contains("ip -n mxsec -6 route add local fd6d:7873:6563::/48 dev lo"),
        "{stderr}"
    );

    run(netns
        .exec("sh")
        .args(["-c", "echo 1 > /proc/sys/net/ipv6/ip_nonlocal_bind"]));
    let mut first = Process::spawn(
        "mxsec demo --serve",
        netns.exec(mxsec).args(["demo", "--serve"]),
    );
    first.wait_for("Serving until");
    let stderr = fails(netns.exec(mxsec).args(["demo", "--serve"]));
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

/// The recipient of the message sent to a scenario's domain.
fn recipient(scenario: &Scenario) -> String {
    format!("postmaster@{}", scenario.domain())
}

/// The last `status=` Postfix logged for each recipient.
fn statuses(log: &str) -> BTreeMap<String, Status> {
    let mut statuses = BTreeMap::new();
    for line in log.lines() {
        let Some(to) = between(line, " to=<", ">") else {
            continue;
        };
        let Some(rest) = line.split_once(" status=").map(|(_, rest)| rest) else {
            continue;
        };
        let (status, detail) = rest.split_once(' ').unwrap_or((rest, ""));
        statuses.insert(
            to.to_owned(),
            Status {
                status: status.to_owned(),
                detail: detail.to_owned(),
            },
        );
    }
    statuses
}

/// Whether Postfix logged a `Verified TLS connection` to a host of `domain`: the domain itself,
/// a name below it, or a name below its provider zone `provider-<domain>`.
fn verified_tls(log: &str, domain: &str) -> bool {
    log.lines()
        .filter_map(|line| between(line, "Verified TLS connection established to ", "["))
        .any(|host| {
            host == domain
                || host.ends_with(&format!(".{domain}"))
                || host.ends_with(&format!(".provider-{domain}"))
        })
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let rest = text.get(from..)?;
    rest.get(..rest.find(end)?)
}
