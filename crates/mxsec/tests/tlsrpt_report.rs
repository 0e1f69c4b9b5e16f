//! `mxsec daemon` with `[tlsrpt]`: its collectors count the sessions of Postfix's log and the
//! libtlsrpt datagrams, and `mxsec tlsrpt report --dry-run` writes the day's reports as
//! `.json.gz` files (RPT-DEL-01) that `mxsec tlsrpt read` accepts; without `--dry-run` it sends
//! them, once.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use mxsec_proto::tlsrpt::ingest::{read, Container};
use mxsec_server::socketmap::{Daemon, DaemonConfig, DaemonOptions};

/// A verified TLS session to mx.a.example, with an RFC 3339 stamp on `day`.
fn session(day: &str, pid: u32) -> String {
    format!(
        "{day}T10:00:00.000000+00:00 h postfix/smtp[{pid}]: Verified TLS connection established to \
         mx.a.example[192.0.2.1]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n\
         {day}T10:00:01.000000+00:00 h postfix/smtp[{pid}]: QUEUE{pid}: to=<x@a.example>, \
         relay=mx.a.example[192.0.2.1]:25, delay=1, dsn=2.0.0, status=sent (250 ok)\n"
    )
}

/// libtlsrpt's datagram for a delivery to b.example without any policy (doc/example.txt, 1).
const NO_POLICY: &str = "{\"dpv\": \"1\",\"d\": \"b.example\",\"pr\": \
    \"v=TLSRPTv1; rua=mailto:r@b.example\",\"policies\":[{\"policy-type\":9,\"t\":0,\"f\":0}]}";

fn dry_run(config: &Path, day: &str, out: &Path) -> Vec<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args(["tlsrpt", "report", "--dry-run", "--date", day, "--out"])
        .arg(out)
        .arg("--config")
        .arg(config)
        .output()
        .expect("run mxsec tlsrpt report");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(out)
        .expect("read --out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_del_01_daemon_collects_and_dry_run_writes_the_days_reports() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = dir.path().join("maillog");
    let socket = dir.path().join("tlsrpt.sock");
    let config_path = dir.path().join("mxsec.toml");
    let day = time::OffsetDateTime::now_utc().date();
    let day = format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    );
    std::fs::write(
        &config_path,
        format!(
            "[listen]\ntcp = [\"127.0.0.1:0\"]\n\n[dns]\nresolver = \"127.0.0.1:9\"\n\n\
             [cache]\nstore = \"{store}\"\n\n[tlsrpt]\norganization_name = \"Sender\"\n\
             contact_info = \"tlsrpt@sender.example\"\nsubmitter = \"sender.example\"\n\
             maillog = \"{log}\"\ndatagram_socket = \"{socket}\"\n",
            store = dir.path().join("p.sqlite3").display(),
            log = log.display(),
            socket = socket.display(),
        ),
    )
    .expect("write the configuration");
    std::fs::write(&log, session(&day, 1)).expect("write the log");
    let config = DaemonConfig::load(&config_path).expect("configuration");
    let daemon = Daemon::start(config, DaemonOptions::default())
        .await
        .expect("start the daemon");

    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut f| f.write_all(session(&day, 2).as_bytes()))
        .expect("append to the log");
    let client = std::os::unix::net::UnixDatagram::unbound().expect("client socket");
    client
        .send_to(NO_POLICY.as_bytes(), &socket)
        .expect("send a datagram");

    let out = dir.path().join("out");
    let deadline = Instant::now() + Duration::from_secs(20);
    let names = loop {
        let _ = std::fs::remove_dir_all(&out);
        let names = dry_run(&config_path, &day, &out);
        let a_done = names.iter().any(|n| n.contains("!a.example!")) && {
            let a = names.iter().find(|n| n.contains("!a.example!")).expect("a");
            let bytes = std::fs::read(out.join(a)).expect("read");
            let report = &read(&bytes, Container::Gzip).expect("report")[0];
            report.policies[0].summary.total_successful_session_count == 2
        };
        if a_done && names.len() == 2 {
            break names;
        }
        assert!(
            Instant::now() < deadline,
            "reports never complete: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        names[0].starts_with("sender.example!a.example!"),
        "{names:?}"
    );
    assert!(
        names[1].starts_with("sender.example!b.example!"),
        "{names:?}"
    );
    assert!(names.iter().all(|n| n.ends_with(".json.gz")));
    let read_back = Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args(["tlsrpt", "read"])
        .arg(&out)
        .output()
        .expect("run mxsec tlsrpt read");
    assert!(read_back.status.success());
    daemon.shutdown().await;
    assert!(
        !socket.exists(),
        "the datagram socket is removed at shutdown"
    );
}

/// Runs `mxsec tlsrpt report --date 2026-12-05` (sending) off the runtime; returns its exit
/// status and standard output.
async fn send(config: &Path) -> (bool, String) {
    let config = config.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mxsec"))
            .args(["tlsrpt", "report", "--date", "2026-12-05", "--config"])
            .arg(&config)
            .output()
            .expect("run mxsec tlsrpt report")
    })
    .await
    .expect("join");
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// A signed testbed DNS where `a.test` asks for reports by mail and `b.test` publishes no
/// record, a relay, a store holding one session to each on `day`, and a configuration that
/// uses them (with `extra` TOML in `[tlsrpt]`, and `listen` as the `[listen]` section).
struct Reporting {
    _dir: tempfile::TempDir,
    _dns: mxsec_testbed::dns::DnsServer,
    relay: mxsec_testbed::smtp::SmtpServer,
    config: std::path::PathBuf,
}

impl Reporting {
    async fn start(day: time::Date, listen: &str, extra: &str) -> Self {
        use mxsec_net::store::{ReportBatch, ReportStore, SqliteStore};
        use mxsec_proto::tlsrpt::postfix_log::{LogTime, Relay, Trust};
        use mxsec_proto::tlsrpt::sessions::{Session, SessionOutcome};
        use mxsec_testbed::dns::{DnsServer, Zone};
        use mxsec_testbed::smtp::{MxBehaviour, SmtpServer, StartTls};

        let dir = tempfile::tempdir().expect("temporary directory");
        let dns = DnsServer::builder()
            .zone(Zone::new("a.test").txt(
                "_smtp._tls.a.test",
                &["v=TLSRPTv1; rua=mailto:tlsrpt@a.test"],
            ))
            .zone(Zone::new("b.test"))
            .start()
            .await
            .expect("dns server");
        let anchor = dns
            .trust_anchor()
            .write_files(dir.path())
            .expect("trust anchor");
        let relay = SmtpServer::start(
            "127.0.0.1:0".parse().expect("address"),
            MxBehaviour::new("relay.sender.test", StartTls::NotOffered),
        )
        .await
        .expect("relay");
        let key = dir.path().join("dkim.pem");
        std::fs::write(
            &key,
            include_str!("../../mxsec-net/tests/integration/data/dkim-ed25519.pem"),
        )
        .expect("write the key");

        let store_path = dir.path().join("p.sqlite3");
        let store = SqliteStore::open(&store_path).await.expect("store");
        let mut batch = ReportBatch::default();
        for domain in ["a.test", "b.test"] {
            let session = Session {
                time: LogTime::Exact(day.with_hms(10, 0, 0).expect("time").assume_utc()),
                domain: domain.parse().expect("name"),
                mx_host: format!("mx.{domain}"),
                relay: Some(Relay {
                    host: format!("mx.{domain}"),
                    ip: "192.0.2.1".parse().expect("address"),
                }),
                outcome: SessionOutcome::Tls {
                    trust: Trust::Verified,
                    verify: None,
                },
            };
            batch.change(day, domain.parse().expect("name"), move |r| {
                r.add_session(&session)
            });
        }
        store.apply(batch).await.expect("record");
        store.close().await;

        let config = dir.path().join("mxsec.toml");
        std::fs::write(
            &config,
            format!(
                "{listen}\n[dns]\nresolver = \"{dns}\"\ntrust_anchor = \"{anchor}\"\ntimeout = 3\n\n\
                 [cache]\nstore = \"{store}\"\n\n[tlsrpt]\norganization_name = \"Sender\"\n\
                 contact_info = \"tlsrpt@sender.test\"\nsubmitter = \"sender.test\"\n\
                 relay = \"{relay}\"\ndkim_key = \"{key}\"\ndkim_selector = \"tlsrpt\"\n{extra}",
                dns = dns.addr(),
                anchor = anchor.dnskey.display(),
                store = store_path.display(),
                relay = relay.local_addr(),
                key = key.display(),
            ),
        )
        .expect("write the configuration");
        Self {
            _dir: dir,
            _dns: dns,
            relay,
            config,
        }
    }

    /// The one report mailed so far is `a.test`'s, from the default sender address.
    fn assert_mailed_once(&self) {
        let messages = self.relay.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].mail_from, "<tlsrpt-noreply@sender.test>");
        assert_eq!(messages[0].rcpt_to, ["<tlsrpt@a.test>"]);
        let reports = read(&messages[0].data, Container::Email).expect("mailed report");
        assert_eq!(
            reports[0].policies[0].policy.policy_domain.as_str(),
            "a.test"
        );
    }
}

/// Without `--dry-run`, the day's reports are sent as the daemon sends them: the `rua` from
/// the signed testbed DNS, the signed mail through the relay (RPT-DEL-02/03), what happened
/// printed per report, and the state kept in the store, so that a second run sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_del_02_report_without_dry_run_sends_once_and_says_so() {
    let world = Reporting::start(time::macros::date!(2026 - 12 - 05), "", "").await;
    let (ok, output) = send(&world.config).await;
    assert!(ok, "{output}");
    assert!(
        output.contains("a.test: sent to mailto:tlsrpt@a.test"),
        "{output}"
    );
    assert!(
        output.contains("b.test: no report sent: no usable _smtp._tls record"),
        "{output}"
    );
    world.assert_mailed_once();

    let (ok, output) = send(&world.config).await;
    assert!(ok, "{output}");
    assert!(!output.contains("sent to"), "{output}");
    world.assert_mailed_once();
}

/// `GET /metrics` from the daemon.
async fn scrape(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut body = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut body))
        .await
        .expect("in time")
        .expect("response");
    String::from_utf8_lossy(&body).into_owned()
}

/// The daemon's sender task sends the day's reports once the day is over and its delay has
/// passed (the daemon's report clock runs a day ahead, `max_delay = 0`), and counts them on
/// `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_time_01_daemon_sends_the_days_reports_and_counts_them() {
    let today = time::OffsetDateTime::now_utc().date();
    let world = Reporting::start(
        today,
        "[listen]\ntcp = [\"127.0.0.1:0\"]\nmetrics = \"127.0.0.1:0\"\n",
        "max_delay = 0\n",
    )
    .await;
    let config = DaemonConfig::load(&world.config).expect("configuration");
    let daemon = Daemon::start(
        config,
        DaemonOptions {
            report_clock_ahead: Duration::from_secs(86_400),
            ..DaemonOptions::default()
        },
    )
    .await
    .expect("start the daemon");
    let deadline = Instant::now() + Duration::from_secs(30);
    while world.relay.messages().is_empty() {
        assert!(Instant::now() < deadline, "no report sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    world.assert_mailed_once();
    // The counters move once the step has stored the outcome, just after the mail.
    let sent = "mxsec_tlsrpt_reports_sent_total{transport=\"mailto\"} 1";
    let metrics = loop {
        let metrics = scrape(daemon.metrics_addr().expect("metrics")).await;
        if metrics.lines().any(|l| l == sent) || Instant::now() > deadline {
            break metrics;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for line in [
        "mxsec_tlsrpt_reports_built_total 2",
        sent,
        "mxsec_tlsrpt_reports_failed_total{transport=\"mailto\"} 0",
        "mxsec_tlsrpt_reports_pending 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    daemon.shutdown().await;
}
