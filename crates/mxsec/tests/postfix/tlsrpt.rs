//! TLS-RPT end to end (RFC 8460): a real Postfix asks `mxsec daemon` for TLS policy and
//! delivers one message to each of a few scenarios; the daemon, with `[tlsrpt]` on, records
//! the policies it answered and follows Postfix's `maillog_file`. The day's reports are then
//! built from the store and delivered with the `Deliverer`: `mailto:` through the same Postfix
//! as relay, whose `tlsrpt` transport (docs/tlsrpt.md) carries them to each scenario's `rua`
//! mailbox on the simulated internet, `https:` by POST to the receiver the `rua` names. Each
//! report must arrive, read back (also with `mxsec tlsrpt read`), carry a DKIM signature that
//! verifies against the key `plain.test` publishes (mail), and state the policies, result
//! types and session counts of what Postfix did; the report mails themselves are not counted.
//!
//! The simulated internet runs in this process, on a thread inside the test's network
//! namespace, so that what its MX hosts receive can be read directly.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters};
use mxsec_conformance::policy::{start_mxsec_with, DaemonListen};
use mxsec_conformance::postfix::{statuses, DeliveryStatus, Postfix, PostfixSetup};
use mxsec_net::dns::{Backend, Dns, DnsConfig};
use mxsec_net::observation::address_list;
use mxsec_net::store::{PolicyStore, ReportStore, SqliteStore};
use mxsec_net::tlsrpt::build::build_day;
use mxsec_net::tlsrpt::deliver::{Deliverer, MailSetup};
use mxsec_net::tlsrpt::follow::Follower;
use mxsec_net::tlsrpt::mail::{dkim_key_from_pem, Dkim};
use mxsec_net::tlsrpt::send::{Outcome, ReportSender};
use mxsec_proto::mta_sts::cache::{CacheEntry, CachedPolicy};
use mxsec_proto::mta_sts::record::PolicyId;
use mxsec_proto::name::DomainName;
use mxsec_proto::tlsrpt::aggregate::Reporter;
use mxsec_proto::tlsrpt::ingest::{read, Container};
use mxsec_proto::tlsrpt::report::{PolicyResult, PolicyType};
use mxsec_proto::tlsrpt::{Report, ResultType};
use mxsec_testbed::dns::Unbound;
use mxsec_testbed::scenario::{Scenario, REPORTER_DKIM_SELECTOR, REPORT_PATH};
use mxsec_testbed::Testbed;
use time::{OffsetDateTime, UtcOffset};

use super::world::{self, run, Netns, RESOLVER};

/// The reporting domain: `plain.test` publishes the report-signing key.
const SUBMITTER: &str = "plain.test";
/// The envelope sender and `From` of report mails, routed to the `tlsrpt` transport.
const REPORT_SENDER: &str = "tlsrpt-noreply@plain.test";
/// The private half of `REPORTER_DKIM_RECORD` (Ed25519, PKCS#8): a key made for the
/// simulated internet, used nowhere else.
const REPORTER_DKIM_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIDqGYo7iDXVqy5UNfqQjbZPvJ4eHX8lHTo9SHJ7WVrq2
-----END PRIVATE KEY-----
";
/// Where Postfix's `smtpd` takes report mails for relaying.
const RELAY: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 10025));
/// The authoritative DNS server of the simulated internet.
const DNS: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 53), 53));
/// How long Postfix may take to try every destination once.
const DELIVERY_TIME: Duration = Duration::from_secs(180);

/// The `tlsrpt` transport of docs/tlsrpt.md (RPT-DEL-04).
const MASTER_CF_TLSRPT: &str = "tlsrpt    unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/tlsrpt
  -o smtp_tls_policy_maps=
  -o smtp_tls_security_level=may
";

/// What the report of a scenario must say.
struct Expected {
    /// The scenario.
    key: &'static str,
    /// Its `rua` is an `https:` URI (else `mailto:`).
    https: bool,
    /// The type of the policy its session is counted under.
    policy_type: PolicyType,
    /// The MTA-STS `mode` in the policy string (`None`: not an MTA-STS policy).
    sts_mode: Option<&'static str>,
    /// Sessions that succeeded.
    successes: u64,
    /// What failed.
    failure: Failure,
}

/// The failures a report must state.
enum Failure {
    /// None.
    None,
    /// Failed sessions of this result type, as many as Postfix's `smtp` transport (not the
    /// `tlsrpt` one) logged lines with these words.
    Sessions(ResultType, &'static str),
    /// A failure of the policy itself (one per lookup the daemon made), no failed session.
    Policy(ResultType),
}

const EXPECTED: &[Expected] = &[
    // Healthy DANE (with MTA-STS enforce beside it): the session counts under the MX host's
    // DANE policy, whose policy string is its TLSA records.
    Expected {
        key: "healthy",
        https: false,
        policy_type: PolicyType::Tlsa,
        sts_mode: None,
        successes: 1,
        failure: Failure::None,
    },
    Expected {
        key: "sts-enforce",
        https: false,
        policy_type: PolicyType::Sts,
        sts_mode: Some("enforce"),
        successes: 1,
        failure: Failure::None,
    },
    // `testing`: Postfix delivers as without a policy; the report judges the session.
    Expected {
        key: "sts-testing",
        https: false,
        policy_type: PolicyType::Sts,
        sts_mode: Some("testing"),
        successes: 1,
        failure: Failure::None,
    },
    Expected {
        key: "m06-mx-expired",
        https: false,
        policy_type: PolicyType::Sts,
        sts_mode: Some("enforce"),
        successes: 0,
        failure: Failure::Sessions(
            ResultType::CertificateExpired,
            "certificate verification failed for mx.m06-mx-expired.test",
        ),
    },
    Expected {
        key: "t01-masked-starttls",
        https: false,
        policy_type: PolicyType::Sts,
        sts_mode: Some("enforce"),
        successes: 0,
        failure: Failure::Sessions(
            ResultType::StarttlsNotSupported,
            "TLS is required, but was not offered by host mx.t01-masked-starttls.test",
        ),
    },
    // DANE mismatch: the TLSA record names another key; MTA-STS would pass but must not
    // override DANE.
    Expected {
        key: "dane-fails-sts-passes",
        https: false,
        policy_type: PolicyType::Tlsa,
        sts_mode: None,
        successes: 0,
        failure: Failure::Sessions(
            ResultType::TlsaInvalid,
            "certificate verification failed for mx.dane-fails-sts-passes.test",
        ),
    },
    // `testing` with a broken MX certificate: Postfix delivers (the daemon answered
    // `NOTFOUND `), and the report states the failure against the testing policy. At the
    // `may` level Postfix 3.7 logs no verification error, only an `Untrusted` connection, so
    // the failure is `certificate-not-trusted`, not `certificate-expired`.
    Expected {
        key: "sts-testing-mx-expired",
        https: false,
        policy_type: PolicyType::Sts,
        sts_mode: Some("testing"),
        successes: 0,
        failure: Failure::Sessions(
            ResultType::CertificateNotTrusted,
            "Untrusted TLS connection established to mx.sts-testing-mx-expired.test",
        ),
    },
    // The policy host is down and the TXT id announces a new policy: the cached enforce
    // policy (seeded before the daemon starts) still applies, the session succeeds under
    // it, and the failed fetch is reported (STS-FETCH-07).
    Expected {
        key: "m01-no-policy-host",
        https: false,
        policy_type: PolicyType::Sts,
        sts_mode: Some("enforce"),
        successes: 1,
        failure: Failure::Policy(ResultType::StsPolicyFetchError),
    },
    // The report goes by HTTPS POST to the receiver the rua names.
    Expected {
        key: "rpt-https-rua",
        https: true,
        policy_type: PolicyType::Sts,
        sts_mode: Some("enforce"),
        successes: 1,
        failure: Failure::None,
    },
];

/// RPT-JSON-01, RPT-JSON-02, RPT-RES-01, RPT-DEL-01..05, STS-APP-02, STS-FETCH-07: the
/// sessions of a real Postfix 3.7, followed in its log by `mxsec daemon`, are reported to each
/// scenario's `rua` (mail signed, or HTTPS POST), with the policies, result types and session
/// counts of what Postfix did; the report mails go out over the `tlsrpt` transport and are not
/// counted.
#[test]
fn rpt_del_02_03_04_05_postfix_sessions_reported_signed_to_each_rua() {
    let netns = world::netns();
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod the temporary directory");
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                netns.enter_this_thread().expect("enter the namespace");
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(inside(&netns, dir.path()));
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
    });
    netns.kill_all();
}

/// The test, inside the namespace.
async fn inside(netns: &Netns, dir: &Path) {
    let testbed = Testbed::builder()
        .published(DNS)
        .start()
        .await
        .expect("the simulated internet");
    let resolver_ip: Ipv4Addr = RESOLVER.parse().expect("an address");
    let _unbound = Unbound::start_at(testbed.dns(), SocketAddrV4::new(resolver_ip, 53))
        .await
        .expect("unbound");
    let ca_file = testbed.files().ca_file.clone();
    let maillog = dir.join("maillog");
    seed_cached_policy(&dir.join("policies.sqlite3")).await;
    let mut daemon = start_mxsec_with(
        netns,
        env!("CARGO_BIN_EXE_mxsec").as_ref(),
        dir,
        &DaemonListen::Tcp,
        SocketAddr::new(IpAddr::V4(resolver_ip), 53),
        &ca_file,
        &format!(
            "\n[tlsrpt]\norganization_name = \"mxsec test\"\n\
             contact_info = \"tlsrpt@{SUBMITTER}\"\nsubmitter = \"{SUBMITTER}\"\n\
             maillog = \"{}\"\n",
            maillog.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let setup = PostfixSetup {
        base: dir.to_owned(),
        ca_file: ca_file.clone(),
        policy_map: Some(DaemonListen::Tcp.policy_map()),
        listen: Some(RELAY),
    };
    let postfix = Postfix::start(netns, setup.clone()).unwrap_or_else(|e| panic!("{e}"));
    let config = setup.config_dir();
    add_report_transport(netns, &config);

    let scenarios: Vec<&Scenario> = EXPECTED
        .iter()
        .map(|e| Scenario::find(e.key).expect("a scenario of the catalogue"))
        .collect();
    for scenario in &scenarios {
        world::send(netns, &config, scenario);
    }
    let recipients: Vec<String> = scenarios.iter().map(|s| world::recipient(s)).collect();
    wait_for_statuses(&postfix, &recipients, &daemon.output());
    // The daemon reads the log once a second; then it may stop (its positions are stored).
    tokio::time::sleep(Duration::from_secs(3)).await;
    daemon.stop();

    let store = Arc::new(
        SqliteStore::open(dir.join("policies.sqlite3"))
            .await
            .expect("the daemon's store"),
    );
    let today = OffsetDateTime::now_utc().date();
    let reporter = Reporter {
        organization_name: "mxsec test".into(),
        contact_info: format!("tlsrpt@{SUBMITTER}"),
        submitter: name(SUBMITTER),
        sending_ip: None,
    };
    let built = build_day(store.as_ref(), today, &reporter)
        .await
        .expect("build");
    assert!(
        built.iter().all(|r| r.policy_domain != name(SUBMITTER)),
        "no report about the submitter's own domain"
    );
    let dns = Dns::new(
        &DnsConfig::builder()
            .backend(Backend::TrustAd)
            .nameserver(SocketAddr::new(IpAddr::V4(resolver_ip), 53))
            .build(),
    )
    .await
    .expect("DNS");
    let deliverer = Deliverer {
        submitter: name(SUBMITTER),
        mail: Some(MailSetup {
            relay: RELAY.to_string(),
            ehlo: name(&format!("reporter.{SUBMITTER}")),
            from: REPORT_SENDER.into(),
            dkim: Dkim::new(
                dkim_key_from_pem(REPORTER_DKIM_KEY.as_bytes()).expect("the DKIM key"),
                &name(SUBMITTER),
                REPORTER_DKIM_SELECTOR,
            ),
        }),
        http: report_client(&dns, &ca_file).await,
    };
    // The daemon's sender, as its scheduled step runs it once the day is over: the reports
    // built from the store, each `rua` looked up and delivered (RPT-DEL-02..06).
    let mut sender = ReportSender::new(
        store.clone(),
        Arc::new(dns),
        deliverer,
        reporter,
        Duration::ZERO,
        0.0,
    );
    let progress = sender
        .send_day(today, OffsetDateTime::now_utc())
        .await
        .expect("the day's reports sent");
    let mut sent: BTreeMap<String, Report> = BTreeMap::new();
    for scenario in &scenarios {
        let domain = name(&scenario.domain());
        let attempt = progress
            .attempts
            .iter()
            .find(|a| a.policy_domain == domain)
            .unwrap_or_else(|| {
                panic!(
                    "no report sent for {domain}: {progress:#?}; maillog:\n{}",
                    postfix.maillog_text()
                )
            });
        let Outcome::Sent { uri, .. } = &attempt.outcome else {
            panic!("{domain}: {:?}", attempt.outcome);
        };
        let rua = if expected(scenario.key).https {
            format!("https://tlsrpt.{domain}{REPORT_PATH}")
        } else {
            format!("mailto:tlsrpt@{domain}")
        };
        assert_eq!(*uri, rua);
        let report = built
            .iter()
            .find(|r| r.policy_domain == domain)
            .expect("a report built for every scenario");
        sent.insert(scenario.key.to_owned(), report.report.clone());
    }

    let received = wait_for_reports(&testbed, &scenarios, &postfix).await;
    let log = postfix.maillog_text();
    let authenticator = MessageAuthenticator::new(
        ResolverConfig::from_name_servers(vec![NameServerConfig::udp_and_tcp(IpAddr::V4(
            resolver_ip,
        ))]),
        ResolverOpts::default(),
    )
    .expect("a DKIM verifier");
    let mut wrong = Vec::new();
    for expected in EXPECTED {
        let message = &received[expected.key];
        let reports = read(message, Container::sniff(message))
            .unwrap_or_else(|e| panic!("{}: the report mail does not read: {e}", expected.key));
        let [report] = reports.as_slice() else {
            panic!("{}: one report per mail: {reports:?}", expected.key)
        };
        assert_eq!(report, &sent[expected.key], "{}", expected.key);
        // RFC 8460 §3: mail is DKIM-signed; an HTTPS POST is not.
        let dkim: Vec<String> = if expected.https {
            Vec::new()
        } else {
            let parsed = AuthenticatedMessage::parse(message).expect("the mail parses");
            let outputs = authenticator.verify_dkim(Parameters::new(&parsed)).await;
            if outputs.is_empty() || outputs.iter().any(|o| o.result() != &DkimResult::Pass) {
                wrong.push(format!(
                    "{}: DKIM does not verify: {outputs:?}",
                    expected.key
                ));
            }
            outputs
                .iter()
                .map(|o| format!("{:?}", o.result()))
                .collect()
        };
        for p in &report.policies {
            println!(
                "{:22} {:?} {:?} ok={} failed={} {:?} dkim={:?}",
                expected.key,
                p.policy.policy_type,
                p.policy.policy_string,
                p.summary.total_successful_session_count,
                p.summary.total_failure_session_count,
                p.failure_details
                    .iter()
                    .flatten()
                    .map(|d| (d.result_type, d.failed_session_count))
                    .collect::<Vec<_>>(),
                dkim
            );
        }
        if let Err(why) = check(expected, report, &log) {
            wrong.push(format!("{}: {why}\n{report:#?}", expected.key));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}\n\nmaillog:\n{log}");
    read_with_the_cli(dir, &received);

    // The report mails went out over the tlsrpt transport, and reading the whole log again
    // (report deliveries included) counts exactly what the daemon counted before them.
    for scenario in scenarios.iter().filter(|s| !expected(s.key).https) {
        let line = "postfix/tlsrpt/smtp[";
        let to = format!("to=<tlsrpt@{}>", scenario.domain());
        assert!(
            log.lines()
                .any(|l| l.contains(line) && l.contains(&to) && l.contains("status=sent")),
            "{}: the report mail did not go over the tlsrpt transport:\n{log}",
            scenario.key
        );
    }
    let again = SqliteStore::open(dir.join("again.sqlite3"))
        .await
        .expect("a store");
    let again: Arc<dyn ReportStore> = Arc::new(again);
    let mut follower =
        Follower::new(&maillog, UtcOffset::UTC, again.clone()).skipping_sender(REPORT_SENDER);
    while follower
        .step(OffsetDateTime::now_utc())
        .await
        .expect("read the log")
        .lines
        > 0
    {}
    for scenario in &scenarios {
        assert_eq!(
            sessions(again.as_ref(), today, &scenario.domain()).await,
            sessions(store.as_ref(), today, &scenario.domain()).await,
            "{}: report deliveries were counted",
            scenario.key
        );
    }
}

/// Whether `report` states what `expected` says, with as many failed sessions as the log
/// shows failure lines.
fn check(expected: &Expected, report: &Report, log: &str) -> Result<(), String> {
    let domain = name(&format!("{}.test", expected.key));
    if report.policies.is_empty() {
        return Err("no policy".into());
    }
    let counted: Vec<&PolicyResult> = report
        .policies
        .iter()
        .filter(|p| {
            p.summary.total_successful_session_count + p.summary.total_failure_session_count > 0
        })
        .collect();
    let [policy] = counted.as_slice() else {
        return Err(format!(
            "sessions under {} policies, not one",
            counted.len()
        ));
    };
    if policy.policy.policy_type != expected.policy_type {
        return Err(format!("counted under {:?}", policy.policy.policy_type));
    }
    if policy.policy.policy_domain != domain {
        return Err(format!("policy domain {}", policy.policy.policy_domain));
    }
    let strings = policy.policy.policy_string.clone().unwrap_or_default();
    match expected.sts_mode {
        Some(mode) => {
            if !strings.iter().any(|l| l == &format!("mode: {mode}")) {
                return Err(format!("policy string {strings:?} is not mode {mode}"));
            }
        }
        None => {
            // RFC 8460 §4.3: a DANE policy's string is its TLSA records.
            if strings.is_empty() || !strings.iter().all(|r| r.split(' ').count() == 4) {
                return Err(format!("TLSA policy string {strings:?}"));
            }
        }
    }
    if policy.summary.total_successful_session_count != expected.successes {
        return Err(format!(
            "{} successful sessions, not {}",
            policy.summary.total_successful_session_count, expected.successes
        ));
    }
    let failures = policy.summary.total_failure_session_count;
    let details = policy.failure_details.clone().unwrap_or_default();
    let detailed: u64 = details.iter().map(|d| d.failed_session_count).sum();
    let (result_type, wanted) = match expected.failure {
        Failure::None if failures == 0 => return Ok(()),
        Failure::None => return Err(format!("{failures} failed sessions")),
        Failure::Sessions(result_type, marker) => {
            let in_log = log
                .lines()
                .filter(|l| l.contains(" postfix/smtp[") && l.contains(marker))
                .count() as u64;
            if in_log == 0 {
                return Err(format!("the log shows no {marker:?}"));
            }
            (result_type, in_log)
        }
        // One per lookup; the daemon looks up at least once.
        Failure::Policy(result_type) => (result_type, failures.max(1)),
    };
    if failures != wanted {
        Err(format!("{failures} failed sessions, not {wanted}"))
    } else if details.iter().any(|d| d.result_type != result_type) || detailed != failures {
        Err(format!("failure details {details:?}, not {result_type:?}"))
    } else {
        Ok(())
    }
}

/// `mxsec tlsrpt read` reads every report received (mails as `.eml`, POST bodies as
/// `.json.gz`) and names each scenario's domain.
fn read_with_the_cli(dir: &Path, received: &BTreeMap<String, Vec<u8>>) {
    let inbox = dir.join("received");
    std::fs::create_dir(&inbox).expect("a directory");
    for (key, bytes) in received {
        let file = if expected(key).https {
            format!("{key}.json.gz")
        } else {
            format!("{key}.eml")
        };
        std::fs::write(inbox.join(file), bytes).expect("write a report");
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args(["tlsrpt", "read", "--json"])
        .arg(&inbox)
        .output()
        .expect("run mxsec tlsrpt read");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "mxsec tlsrpt read: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for key in received.keys() {
        assert!(
            stdout.contains(&format!("\"{key}.test\"")),
            "{key}: {stdout}"
        );
    }
}

/// Stores, as fetched an hour ago for an earlier TXT `id`, an enforce policy of
/// `m01-no-policy-host.test` (whose policy host has no address now) that lists its MX host.
async fn seed_cached_policy(path: &Path) {
    let domain = name("m01-no-policy-host.test");
    let now = OffsetDateTime::now_utc().unix_timestamp().unsigned_abs();
    let body = "version: STSv1\r\nmode: enforce\r\nmx: mx.m01-no-policy-host.test\r\n\
                max_age: 604800\r\n";
    let id = PolicyId::parse("20261128").expect("an id");
    let policy = CachedPolicy::parse(id, body, now - 3600).expect("a policy");
    let entry = CacheEntry::from_parts(domain.clone(), Some(policy), Vec::new());
    SqliteStore::open(path.to_owned())
        .await
        .expect("the daemon's store")
        .update(
            &domain,
            now,
            Box::new(move |stored| *stored = entry.clone()),
        )
        .await
        .expect("seed the cache");
}

/// Routes mail from the report sender to the `tlsrpt` transport of docs/tlsrpt.md, and
/// reloads Postfix.
fn add_report_transport(netns: &Netns, config: &Path) {
    let master = config.join("master.cf");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&master)
        .and_then(|mut f| f.write_all(MASTER_CF_TLSRPT.as_bytes()))
        .expect("extend master.cf");
    run(netns
        .exec("postconf")
        .expect("ip")
        .arg("-c")
        .arg(config)
        .args([
            "-e",
            &format!(
                "sender_dependent_default_transport_maps = inline:{{ {REPORT_SENDER}=tlsrpt: }}"
            ),
        ]))
    .unwrap_or_else(|e| panic!("{e}"));
    run(netns
        .exec("postfix")
        .expect("ip")
        .arg("-c")
        .arg(config)
        .arg("reload"))
    .unwrap_or_else(|e| panic!("{e}"));
}

/// Waits until Postfix has logged a status for every recipient.
fn wait_for_statuses(postfix: &Postfix, recipients: &[String], daemon: &str) {
    let deadline = Instant::now() + DELIVERY_TIME;
    loop {
        let statuses = statuses(&postfix.maillog_text());
        if recipients.iter().all(|r| statuses.contains_key(r)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Postfix did not try every destination within {DELIVERY_TIME:?}; maillog:\n{}\n\n\
             mxsec daemon:\n{daemon}",
            postfix.maillog_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Waits until each scenario's MX host received its report mail; returns each by scenario.
async fn wait_for_reports(
    testbed: &Testbed,
    scenarios: &[&Scenario],
    postfix: &Postfix,
) -> BTreeMap<String, Vec<u8>> {
    let deadline = Instant::now() + DELIVERY_TIME;
    loop {
        let mut received = BTreeMap::new();
        for (_, server) in testbed.mx_hosts() {
            for message in server.messages() {
                for scenario in scenarios {
                    let rua = format!("<tlsrpt@{}>", scenario.domain());
                    if message.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(&rua)) {
                        received.insert(scenario.key.to_owned(), message.data.clone());
                    }
                }
            }
        }
        for request in testbed.https_requests() {
            for scenario in scenarios {
                let receiver = format!("tlsrpt.{}", scenario.domain());
                if request.method == "POST"
                    && request.path == REPORT_PATH
                    && request.sni.as_deref() == Some(receiver.as_str())
                {
                    assert_eq!(
                        request.header("content-type"),
                        Some("application/tlsrpt+gzip"),
                        "RPT-DEL-05"
                    );
                    received.insert(scenario.key.to_owned(), request.body.clone());
                }
            }
        }
        if received.len() == scenarios.len() {
            return received;
        }
        let statuses = statuses(&postfix.maillog_text());
        let deferred: Vec<_> = statuses
            .iter()
            .filter(|(to, s)| to.starts_with("tlsrpt@") && s.status != DeliveryStatus::Sent)
            .collect();
        assert!(
            Instant::now() < deadline && deferred.is_empty(),
            "report mails did not arrive (received {:?}, not sent {deferred:?}); maillog:\n{}",
            received.keys().collect::<Vec<_>>(),
            postfix.maillog_text()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The sessions counted for `domain` on `day`: (outcome, count), sorted.
async fn sessions(store: &dyn ReportStore, day: time::Date, domain: &str) -> Vec<String> {
    let domain = name(domain);
    let mut out: Vec<String> = store
        .day(day)
        .await
        .expect("read the store")
        .into_iter()
        .filter(|(d, _)| *d == domain)
        .flat_map(|(_, r)| r.sessions)
        .map(|s| format!("{} {:?} {}", s.mx_host, s.outcome, s.count))
        .collect();
    out.sort();
    out
}

/// The expectation of a scenario.
fn expected(key: &str) -> &'static Expected {
    EXPECTED
        .iter()
        .find(|e| e.key == key)
        .expect("an expectation")
}

/// The client for `https:` reports: as `https_client` makes it (no redirects, no proxy), with
/// the simulated internet's CA as its root; the report receiver's name is resolved here,
/// through the namespace's DNS, because this process's own resolver configuration is that
/// of the host.
async fn report_client(dns: &Dns, ca_file: &Path) -> reqwest::Client {
    use rustls_pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca_file).expect("the CA file");
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.expect("a certificate")).expect("a root");
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(60));
    for expected in EXPECTED.iter().filter(|e| e.https) {
        let host = format!("tlsrpt.{}.test", expected.key);
        let addresses = address_list(&dns.addresses(&name(&host)).await);
        let address = addresses.first().expect("the receiver's address");
        builder = builder.resolve(&host, SocketAddr::new(*address, 443));
    }
    builder.build().expect("a client")
}

fn name(text: &str) -> DomainName {
    DomainName::parse(text).expect("a domain name")
}
