//! `mxsec check --queue`: three worker processes scan every testbed scenario through a real
//! `redis-server`, one of them is killed (SIGKILL) while it holds domains, and the collector
//! prints exactly one result per domain: none lost, none twice. No worker holds more domains
//! than its `--concurrency`.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mxsec_testbed::redis::RedisServer;
use mxsec_testbed::scenario::{Scenario, TestbedFiles};
use mxsec_testbed::Testbed;

/// The testbed's DNS server and files, on a runtime of its own.
fn testbed() -> &'static (SocketAddr, TestbedFiles) {
    static TESTBED: OnceLock<(SocketAddr, TestbedFiles)> = OnceLock::new();
    TESTBED.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
            runtime.block_on(async move {
                let testbed = Testbed::start().await.expect("testbed starts");
                tx.send((testbed.dns_addr(), testbed.files().clone()))
                    .expect("send");
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("testbed started")
    })
}

/// `mxsec check --queue URL ARGS` with the testbed's resolver and trust, not yet started.
fn mxsec_check(url: &str, args: &[&str]) -> Command {
    let (dns, files) = testbed();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mxsec"));
    command
        .args(["check", "--queue", url, "--queue-name", "census"])
        .args(args)
        .args(["--resolver", &dns.to_string()])
        .arg("--trust-anchor")
        .arg(&files.trust_anchor)
        .arg("--ca-file")
        .arg(&files.ca_file)
        .arg("--connect-map")
        .arg(&files.connect_map)
        .args(["--timeout", "5"]);
    command
}

fn worker(url: &str, name: &str) -> Child {
    mxsec_check(
        url,
        &[
            "--worker",
            "--consumer",
            name,
            "--concurrency",
            "2",
            "--claim-idle",
            "3",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("a worker starts")
}

/// Waits for `child` to exit, at most until `deadline`, and returns its standard error.
fn finish(mut child: Child, deadline: Instant) -> String {
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                stderr.read_to_string(&mut err).expect("stderr");
            }
            assert!(status.success(), "a worker failed: {err}");
            return err;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("a worker did not finish in time");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How many entries `consumer` holds, read and not yet acknowledged.
fn held_by(conn: &mut redis::Connection, consumer: &str) -> usize {
    let entries: Vec<redis::Value> = redis::cmd("XPENDING")
        .arg("mxsec:scan:census:tasks")
        .arg("workers")
        .arg("-")
        .arg("+")
        .arg(1000)
        .arg(consumer)
        .query(conn)
        .unwrap_or_default();
    entries.len()
}

/// How many results `worker` wrote.
fn answered_by(conn: &mut redis::Connection, worker: &str) -> u64 {
    let results: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg("mxsec:scan:census:results")
        .arg("-")
        .arg("+")
        .query(conn)
        .unwrap_or_default();
    let mut count = 0;
    for (_, fields) in results {
        if fields
            .chunks_exact(2)
            .any(|f| f[0] == "worker" && f[1] == worker)
        {
            count += 1;
        }
    }
    count
}

/// The number in `text` just before `words`, as the worker's last line says it.
fn count_before(text: &str, words: &str) -> u64 {
    let before = text.split(words).next().unwrap_or("");
    before
        .split_whitespace()
        .last()
        .and_then(|n| n.trim_start_matches('(').parse().ok())
        .unwrap_or_else(|| panic!("no count before {words:?} in {text}"))
}

#[test]
fn three_workers_one_killed_answer_every_domain_exactly_once() {
    let redis = RedisServer::start().expect("redis-server starts");
    let url = redis.url();
    let domains: Vec<String> = Scenario::all().iter().map(|s| s.domain()).collect();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("domains.txt");
    std::fs::write(&list, domains.join("\n")).unwrap();

    let enqueued = mxsec_check(&url, &["--enqueue", "--file", &list.to_string_lossy()])
        .output()
        .unwrap();
    assert!(
        enqueued.status.success(),
        "{}",
        String::from_utf8_lossy(&enqueued.stderr)
    );

    // The collector, from the start, reading as results are written.
    let mut collector = mxsec_check(&url, &["--collect"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut collector_out = collector.stdout.take().unwrap();
    let (tx, collected) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        collector_out
            .read_to_string(&mut text)
            .expect("collector output");
        tx.send(text).expect("send");
    });

    let mut doomed = worker(&url, "w1");
    let survivors = [worker(&url, "w2"), worker(&url, "w3")];

    // Mid-run: w1 has answered some domains and holds others. Then it is killed.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered_by(&mut conn, "w1") < 3 || held_by(&mut conn, "w1") == 0 {
        assert!(
            Instant::now() < deadline,
            "w1 never answered and held domains"
        );
        for name in ["w1", "w2", "w3"] {
            let held = held_by(&mut conn, name);
            assert!(
                held <= 2,
                "{name} holds {held} domains, over --concurrency 2"
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    doomed.kill().expect("SIGKILL w1");
    doomed.wait().unwrap();
    let held = held_by(&mut conn, "w1");
    let answered_by_w1 = answered_by(&mut conn, "w1");
    assert!(held > 0, "w1 held nothing when killed");
    let deadline = Instant::now() + Duration::from_secs(300);
    let reports: Vec<String> = survivors
        .into_iter()
        .map(|child| finish(child, deadline))
        .collect();
    let taken_over: u64 = reports
        .iter()
        .map(|err| count_before(err, "taken over"))
        .sum();
    assert!(
        taken_over >= held as u64,
        "w1 held {held} domains, the others took over {taken_over}: {reports:?}"
    );
    let answered: u64 = reports
        .iter()
        .map(|err| count_before(err, "domains ("))
        .sum();
    assert_eq!(
        answered + answered_by_w1,
        domains.len() as u64,
        "{answered_by_w1} by w1 before it was killed: {reports:?}"
    );
    assert_eq!(held_by(&mut conn, "w1"), 0);

    let text = collected
        .recv_timeout(Duration::from_secs(30))
        .expect("the collector ends once every domain has a result");
    assert!(collector.wait().unwrap().success());
    let mut results: BTreeMap<String, usize> = BTreeMap::new();
    for line in text.lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let domain = value["domain"].as_str().expect("a report").to_owned();
        *results.entry(domain).or_insert(0) += 1;
    }
    let expected: BTreeMap<String, usize> = domains.iter().map(|d| (d.clone(), 1)).collect();
    assert_eq!(results, expected);
    let written: usize = redis::cmd("XLEN")
        .arg("mxsec:scan:census:results")
        .query(&mut conn)
        .unwrap();
    assert_eq!(written, domains.len());
}
