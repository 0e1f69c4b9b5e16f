//! `mxsec daemon` end to end: the binary runs against the testbed and is asked over real
//! socketmap connections.

mod harness;
mod overload;
mod survival;

use std::time::Duration;

use harness::{testbed, Client, Daemon, Setup};
use mxsec_testbed::scenario::Scenario;

/// PFX-01: every scenario's expected answer, all requests pipelined on one connection, answered
/// in order; then again from the cache, and keys in other spellings.
#[test]
fn pfx_01_every_scenario_pipelined_on_one_connection() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), &Setup::new(dir.path()));
    let scenarios = Scenario::all();
    let requests: Vec<String> = scenarios
        .iter()
        .map(|s| format!("postfix {}", s.domain()))
        .collect();
    let requests: Vec<&str> = requests.iter().map(String::as_str).collect();
    let mut client = Client::connect(daemon.addr);
    for round in ["resolved", "cached"] {
        let replies = client.ask(&requests);
        let mut wrong = Vec::new();
        for (scenario, reply) in scenarios.iter().zip(&replies) {
            let expected = scenario.expected_query();
            if !expected.matches(reply) {
                wrong.push(format!(
                    "{}: expected {expected}, got {reply:?}",
                    scenario.key
                ));
            }
        }
        assert!(wrong.is_empty(), "{round}: {wrong:#?}");
    }
    // PFX-08: case, trailing dot, brackets, ports and literals.
    let enforce = Scenario::find("sts-enforce").unwrap();
    let expected = enforce.expected_query();
    let upper = format!("postfix {}.", enforce.domain().to_uppercase());
    let bracketed = format!("postfix [{}]", enforce.domain());
    let with_port = format!("postfix [{}]:587", enforce.domain());
    let replies = client.ask(&[
        &upper,
        &bracketed,
        &with_port,
        "postfix [ipv6:::1]",
        "postfix 192.0.2.1",
    ]);
    assert!(expected.matches(&replies[0]), "{}", replies[0]);
    for reply in &replies[1..] {
        assert_eq!(reply, "NOTFOUND ");
    }
    let hits = daemon.metric("mxsec_answer_cache_total{outcome=\"hit\"}");
    assert!(
        hits * 4 >= scenarios.len() as u64 * 3,
        "{hits} answer cache hits"
    );
    assert!(daemon.metric("mxsec_dns_cache_total{outcome=\"hit\"}") > 0);
    // One answer per scenario and per next-hop key asked above, the upper-case key aside.
    let answers = daemon.metric("mxsec_answer_cache_entries");
    assert!(
        answers > 0 && answers <= scenarios.len() as u64 + 4,
        "{answers} cached answers for {} scenarios",
        scenarios.len()
    );
    assert!(daemon.metric("mxsec_dns_cache_entries") > 0);
    // dnssec = "validate" with the default 8,192 proofs: at most 1,024 chain responses.
    let chain = daemon.metric("mxsec_dnssec_chain_cache_entries");
    assert!(chain > 0 && chain <= 1_024, "{chain} chain responses kept");
    assert!(daemon.metric("mxsec_queries_total{answer=\"notfound\"}") >= 4);
    assert!(daemon.stop(), "SIGTERM: clean exit");
}

/// PFX-01: a malformed request is logged and closes its connection after the earlier
/// requests are answered; the daemon goes on serving. A key that cannot be a domain is
/// answered NOTFOUND.
#[test]
fn pfx_01_malformed_requests_close_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), &Setup::new(dir.path()));
    let cases: [&[u8]; 5] = [
        b"abc,",       // no length
        b"5:hello;",   // no comma
        b"99999999:",  // longer than the cap
        b"7:postfix,", // no key
        b"0:,",        // empty request
    ];
    for (i, garbage) in cases.iter().enumerate() {
        let mut client = Client::connect(daemon.addr);
        let mut wire = b"18:postfix plain.test,".to_vec();
        wire.extend_from_slice(garbage);
        client.send_raw(&wire);
        assert_eq!(
            client.read_reply().as_deref(),
            Some("NOTFOUND "),
            "case {i}"
        );
        assert_eq!(client.read_reply(), None, "case {i}: connection closed");
        assert_eq!(
            daemon.metric("mxsec_malformed_requests_total"),
            i as u64 + 1
        );
    }
    assert!(daemon.logged("malformed"));
    let mut client = Client::connect(daemon.addr);
    assert_eq!(client.ask(&["postfix bad_label!.test"]), ["NOTFOUND "]);
    let long = format!("postfix {}.test", "a".repeat(2100));
    let mut client = Client::connect(daemon.addr);
    client.send_raw(format!("{}:{long},", long.len()).as_bytes());
    assert_eq!(client.read_reply(), None, "oversized request closes");
    assert!(daemon.stop());
}

/// PFX-01: a connection stays open while it is used, however long, and is closed once it has
/// been silent for `limits.idle_timeout`.
#[test]
fn pfx_01_idle_connection_closed_after_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut setup = Setup::new(dir.path());
    setup.extra = "[limits]\nidle_timeout = 1\n".into();
    let daemon = Daemon::start(dir.path(), &setup);
    let domain = Scenario::find("sts-enforce").unwrap().domain();
    let request = format!("postfix {domain}");
    let mut client = Client::connect(daemon.addr);
    let opened = std::time::Instant::now();
    while opened.elapsed() < Duration::from_millis(2500) {
        assert!(client.ask(&[request.as_str()])[0].starts_with("OK "));
        std::thread::sleep(Duration::from_millis(300));
    }
    let silent = std::time::Instant::now();
    assert_eq!(client.read_reply(), None, "closed when idle");
    let waited = silent.elapsed();
    assert!(
        waited >= Duration::from_millis(600) && waited < Duration::from_secs(5),
        "closed after {waited:?} of silence"
    );
    assert!(daemon.stop());
}

/// Concurrent queries for one uncached domain share one lookup and one policy fetch, and
/// many connections are served at once.
#[test]
fn pfx_03_concurrent_queries_share_one_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), &Setup::new(dir.path()));
    let enforce = Scenario::find("sts-enforce").unwrap();
    let expected = enforce.expected_query();
    let addr = daemon.addr;
    let domain = enforce.domain();
    let threads: Vec<_> = (0..32)
        .map(|_| {
            let domain = domain.clone();
            std::thread::spawn(move || {
                let mut client = Client::connect(addr);
                let request = format!("postfix {domain}");
                client.ask(&[request.as_str(); 4])
            })
        })
        .collect();
    for thread in threads {
        for reply in thread.join().unwrap() {
            assert!(expected.matches(&reply), "{reply}");
        }
    }
    assert_eq!(
        daemon.metric("mxsec_sts_fetches_total{result=\"success\"}"),
        1
    );
    assert_eq!(daemon.metric("mxsec_queries_total{answer=\"secure\"}"), 128);
    assert!(daemon.metric("mxsec_connections_total") >= 32);
    assert!(daemon.stop());
}

/// The map name selects a zone: `strict_testing` treats `testing` as `enforce`
/// (STS-APP-02), `tlsrpt` adds the Postfix 3.10 attributes (PFX-06/07); other names get the
/// default zone. SIGHUP reloads the zones; an invalid file keeps the running configuration.
#[test]
fn pfx_06_zones_by_map_name_and_reload() {
    let dir = tempfile::tempdir().unwrap();
    let mut setup = Setup::new(dir.path());
    setup.extra = "[zones.strict]\nstrict_testing = true\n\n[zones.report]\ntlsrpt = true\n".into();
    let daemon = Daemon::start(dir.path(), &setup);
    let testing = Scenario::find("sts-testing").unwrap().domain();
    let enforce = Scenario::find("sts-enforce").unwrap();
    assert_eq!(daemon.query("postfix", &testing), "NOTFOUND ");
    let strict = daemon.query("strict", &testing);
    assert!(strict.starts_with("OK secure match="), "{strict}");
    let report = daemon.query("report", &enforce.domain());
    assert!(
        report.contains(" policy_type=sts ")
            && report.contains("{ policy_string = mode: enforce }"),
        "{report}"
    );
    assert!(enforce
        .expected_query()
        .matches(&daemon.query("other", &enforce.domain())));

    // Reload with the strict zone as the default.
    let text = std::fs::read_to_string(&daemon.config).unwrap();
    std::fs::write(
        &daemon.config,
        format!("{text}\n[default_zone]\nstrict_testing = true\n"),
    )
    .unwrap();
    daemon.signal("HUP");
    wait_for(|| daemon.logged("configuration reloaded"));
    assert!(daemon.query("postfix", &testing).starts_with("OK secure"));

    // An invalid file is refused, with its line; the running configuration stays.
    std::fs::write(
        &daemon.config,
        format!("{text}\n[default_zone]\nstrict_testnig = true\n"),
    )
    .unwrap();
    daemon.signal("HUP");
    wait_for(|| daemon.logged("reload failed"));
    assert!(daemon.logged("strict_testnig"));
    assert!(daemon.query("postfix", &testing).starts_with("OK secure"));
    assert!(daemon.stop());
}

/// A configuration error stops the daemon at start with the file, line and key.
#[test]
fn config_error_names_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mxsec.toml");
    std::fs::write(
        &config,
        "[listen]\ntcp = [\"127.0.0.1:0\"]\n\n[cache]\nmax_answer_ttl = -1\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args(["daemon", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("mxsec.toml:5:"), "{stderr}");
    assert!(stderr.contains("cache.max_answer_ttl"), "{stderr}");
}

/// `mxsec query --daemon` asks a running daemon.
#[test]
fn query_asks_a_running_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), &Setup::new(dir.path()));
    let enforce = Scenario::find("sts-enforce").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args([
            "query",
            "--daemon",
            &daemon.addr.to_string(),
            &enforce.domain(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        enforce
            .expected_query()
            .matches(stdout.trim_end_matches('\n')),
        "{stdout}"
    );
    let _ = testbed();
    assert!(daemon.stop());
}

/// Polls `done` for up to ten seconds.
fn wait_for(done: impl Fn() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("condition not reached in 10 s");
}

/// `mxsec doctor --why` asks a running daemon for the reasons behind its answer, and the
/// daemon logs the TEMP with the same reasons once, however often it is asked.
#[test]
fn pfx_04_doctor_why_explains_a_temp_answer_logged_once() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), &Setup::new(dir.path()));
    let bogus = Scenario::find("d05-bogus-ds").unwrap().domain();
    for _ in 0..3 {
        assert!(daemon.query("postfix", &bogus).starts_with("TEMP "));
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args(["doctor", "--why", &bogus, "--metrics"])
        .arg(daemon.metrics.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.starts_with(&format!("{bogus}: TEMP ")), "{stdout}");
    assert!(stdout.contains("DANE-DNS-03"), "{stdout}");
    assert!(stdout.contains("MX: failed"), "{stdout}");
    let notices = daemon
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|line| line.contains("mxsec doctor --why") && line.contains(&bogus))
        .count();
    assert_eq!(notices, 1, "one TEMP notice per destination and interval");
    assert!(daemon.stop());
}
