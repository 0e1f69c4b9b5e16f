//! The follower against real files: growth, rotation, truncation, restarts, garbage.

use std::io::Write;
use std::path::Path;

use mxsec_proto::name::DomainName;
use time::macros::{date, datetime};

use super::*;
use crate::store::SqliteStore;

const NOW: OffsetDateTime = datetime!(2026-12-06 12:00 UTC);

/// One delivery line: one session of `a.example` (process `pid`).
fn delivery(pid: u32) -> String {
    format!(
        "Dec 06 10:00:00 h postfix/smtp[{pid}]: QUEUE{pid}: to=<x@a.example>, \
         relay=mx.a.example[192.0.2.1]:25, delay=1, dsn=2.0.0, status=sent (250 ok)\n"
    )
}

fn deliveries(pids: std::ops::Range<u32>) -> String {
    pids.map(delivery).collect()
}

fn append(path: &Path, text: &[u8]) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text))
        .expect("append to the log");
}

struct Fixture {
    _dir: tempfile::TempDir,
    log: PathBuf,
    store: Arc<SqliteStore>,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = Arc::new(
            SqliteStore::open(dir.path().join("p.sqlite"))
                .await
                .expect("open the store"),
        );
        Self {
            log: dir.path().join("maillog"),
            _dir: dir,
            store,
        }
    }

    fn follower(&self) -> Follower {
        Follower::new(&self.log, UtcOffset::UTC, self.store.clone())
    }

    /// The sessions of a.example counted on 6 December.
    async fn counted(&self) -> u64 {
        let a = DomainName::parse("a.example").expect("name");
        self.store
            .day(date!(2026 - 12 - 06))
            .await
            .expect("read the day")
            .into_iter()
            .filter(|(d, _)| *d == a)
            .flat_map(|(_, r)| r.sessions)
            .map(|s| s.count)
            .sum()
    }
}

async fn steps(follower: &mut Follower, n: usize) -> StepCounts {
    let mut total = StepCounts::default();
    for _ in 0..n {
        let c = follower.step(NOW).await.expect("step");
        total.lines += c.lines;
        total.too_long += c.too_long;
        total.sessions += c.sessions;
    }
    total
}

#[tokio::test]
async fn rpt_res_01_growing_file_with_an_unfinished_line() {
    let fx = Fixture::new().await;
    let mut follower = fx.follower();
    // No log yet: nothing to do.
    assert_eq!(steps(&mut follower, 1).await, StepCounts::default());
    let third = delivery(3);
    let (head, tail) = third.split_at(40);
    append(&fx.log, format!("{}{head}", deliveries(1..3)).as_bytes());
    assert_eq!(steps(&mut follower, 1).await.sessions, 2);
    assert_eq!(fx.counted().await, 2);
    append(&fx.log, format!("{tail}{}", delivery(4)).as_bytes());
    assert_eq!(steps(&mut follower, 2).await.sessions, 2);
    assert_eq!(fx.counted().await, 4);
}

#[tokio::test]
async fn rpt_res_01_restart_mid_file_resumes_at_the_stored_position() {
    let fx = Fixture::new().await;
    append(&fx.log, deliveries(1..4).as_bytes());
    steps(&mut fx.follower(), 1).await;
    assert_eq!(fx.counted().await, 3);
    // A restart before anything new: nothing is counted twice.
    assert_eq!(steps(&mut fx.follower(), 1).await.lines, 0);
    append(&fx.log, deliveries(4..6).as_bytes());
    let counts = steps(&mut fx.follower(), 1).await;
    assert_eq!(counts.lines, 2);
    assert_eq!(fx.counted().await, 5);
}

#[tokio::test]
async fn rpt_res_01_rotation_reads_the_old_file_to_its_end_then_the_new_one() {
    let fx = Fixture::new().await;
    let mut follower = fx.follower();
    append(&fx.log, deliveries(1..3).as_bytes());
    steps(&mut follower, 1).await;
    // Lines written just before the rename are still read from the old file.
    append(&fx.log, delivery(3).as_bytes());
    std::fs::rename(&fx.log, fx.log.with_extension("1")).expect("rotate");
    append(&fx.log, deliveries(4..6).as_bytes());
    steps(&mut follower, 3).await;
    assert_eq!(fx.counted().await, 5);
    append(&fx.log, delivery(6).as_bytes());
    steps(&mut follower, 1).await;
    assert_eq!(fx.counted().await, 6);
}

#[tokio::test]
async fn rpt_res_01_rotation_while_stopped_reads_the_new_file_from_its_start() {
    let fx = Fixture::new().await;
    append(&fx.log, deliveries(1..3).as_bytes());
    steps(&mut fx.follower(), 1).await;
    std::fs::rename(&fx.log, fx.log.with_extension("1")).expect("rotate");
    append(&fx.log, delivery(3).as_bytes());
    steps(&mut fx.follower(), 1).await;
    assert_eq!(fx.counted().await, 3);
}

#[tokio::test]
async fn rpt_res_01_truncation_restarts_at_the_start() {
    let fx = Fixture::new().await;
    let mut follower = fx.follower();
    append(&fx.log, deliveries(1..4).as_bytes());
    steps(&mut follower, 1).await;
    std::fs::write(&fx.log, delivery(4)).expect("truncate");
    steps(&mut follower, 2).await;
    assert_eq!(fx.counted().await, 4);
    append(&fx.log, deliveries(5..8).as_bytes());
    steps(&mut follower, 1).await;
    assert_eq!(fx.counted().await, 7);
    // Truncated while stopped: the stored offset is past the end.
    std::fs::write(&fx.log, delivery(8)).expect("truncate");
    steps(&mut fx.follower(), 1).await;
    assert_eq!(fx.counted().await, 8);
}

#[tokio::test]
async fn rpt_res_01_garbage_and_over_long_lines_are_skipped() {
    let fx = Fixture::new().await;
    let mut follower = fx.follower();
    let mut log = b"not a log line\n\xff\xfe\x00 binary\n".to_vec();
    log.extend_from_slice(b"Dec 06 10:00:00 h postfix/smtp[9]: to=<broken\n");
    log.extend(std::iter::repeat_n(b'x', 3 * CHUNK));
    log.push(b'\n');
    log.extend_from_slice(delivery(1).as_bytes());
    append(&fx.log, &log);
    let counts = steps(&mut follower, 1).await;
    assert_eq!(
        counts,
        StepCounts {
            lines: 4,
            too_long: 1,
            sessions: 1
        }
    );
    assert_eq!(fx.counted().await, 1);
}

#[tokio::test]
async fn rpt_del_04_report_mail_sessions_are_not_counted() {
    let fx = Fixture::new().await;
    let mut follower = fx
        .follower()
        .skipping_sender("tlsrpt-noreply@submitter.example");
    let log = "Dec 06 10:00:00 h postfix/qmgr[5]: RRRRR1: from=<tlsrpt-noreply@submitter.example>, size=3000, nrcpt=1 (queue active)\n\
               Dec 06 10:00:01 h postfix/smtp[6]: RRRRR1: to=<tlsrpt@a.example>, relay=mx.a.example[192.0.2.1]:25, delay=1, dsn=2.0.0, status=sent (250 ok)\n\
               Dec 06 10:00:02 h postfix/tlsrpt/smtp[7]: RRRRR2: to=<tlsrpt@a.example>, relay=mx.a.example[192.0.2.1]:25, delay=1, dsn=2.0.0, status=sent (250 ok)\n";
    append(&fx.log, format!("{log}{}", delivery(1)).as_bytes());
    assert_eq!(steps(&mut follower, 1).await.sessions, 1);
    assert_eq!(fx.counted().await, 1);
}
