//! The journal follower on a JSON-lines fixture of `journalctl --output=json`, given as the
//! reader and through a stand-in `journalctl` program (no systemd in the tests).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Mutex;

use mxsec_proto::tlsrpt::postfix_log::{TlsFailure, Trust};
use mxsec_proto::tlsrpt::sessions::SessionOutcome;
use time::macros::{date, datetime};

use super::*;
use crate::store::SqliteStore;

/// Ten lines: a verified session to a.example, a non-Postfix entry, a line that is no JSON,
/// an expired certificate at b.example, and a report mail's session over the `tlsrpt`
/// transport, which is not counted.
const FIXTURE: &str = include_str!("postfix.jsonl");
const NOW: OffsetDateTime = datetime!(2026-12-06 12:00 UTC);

async fn store(dir: &Path) -> Arc<SqliteStore> {
    Arc::new(
        SqliteStore::open(dir.join("p.sqlite"))
            .await
            .expect("open the store"),
    )
}

/// A reader starter serving the entries of `text` after the cursor it is given, as
/// `journalctl --after-cursor` does, and recording the cursor of each start.
fn serving(text: &'static str, cursors: Arc<Mutex<Vec<Option<String>>>>) -> StartReader {
    Box::new(move |cursor| {
        cursors
            .lock()
            .expect("lock")
            .push(cursor.map(str::to_owned));
        let after = cursor.and_then(|cursor| text.find(&format!("\"{cursor}\"")));
        let rest = match after {
            Some(at) => text[at..].split_once('\n').map_or("", |(_, rest)| rest),
            None => text,
        };
        Ok(Box::pin(rest.as_bytes()) as JournalReader)
    })
}

/// The sessions counted on 6 December, per domain.
async fn counted(store: &SqliteStore) -> BTreeMap<String, Vec<(SessionOutcome, u64)>> {
    store
        .day(date!(2026 - 12 - 06))
        .await
        .expect("read the day")
        .into_iter()
        .map(|(d, r)| {
            (
                d.to_string(),
                r.sessions
                    .into_iter()
                    .map(|s| (s.outcome, s.count))
                    .collect(),
            )
        })
        .collect()
}

fn expected() -> BTreeMap<String, Vec<(SessionOutcome, u64)>> {
    BTreeMap::from([
        (
            "a.example".to_owned(),
            vec![(
                SessionOutcome::Tls {
                    trust: Trust::Verified,
                    verify: None,
                },
                1,
            )],
        ),
        (
            "b.example".to_owned(),
            vec![(SessionOutcome::Failed(TlsFailure::Expired), 1)],
        ),
    ])
}

/// The cursor of the fixture's last entry.
fn last_cursor() -> String {
    let last = FIXTURE.lines().last().expect("a line");
    parse_entry(last.as_bytes()).expect("an entry").cursor
}

#[tokio::test]
async fn rpt_res_01_journal_entries_are_counted_and_the_cursor_kept() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = store(dir.path()).await;
    let cursors = Arc::new(Mutex::new(Vec::new()));
    let mut follower = JournalFollower::new(serving(FIXTURE, cursors.clone()), store.clone());
    let counts = follower.step(NOW).await.expect("step");
    assert_eq!(
        counts,
        StepCounts {
            lines: 10,
            too_long: 0,
            sessions: 2
        }
    );
    assert_eq!(counted(&store).await, expected());
    assert_eq!(
        store.position(SOURCE).await.expect("position"),
        Some(last_cursor())
    );
    // The reader ends (journalctl exited): the next step starts another after the cursor.
    assert_eq!(
        follower.step(NOW).await.expect("step"),
        StepCounts::default()
    );
    follower.step(NOW).await.expect("step");
    assert_eq!(*cursors.lock().expect("lock"), [None, Some(last_cursor())]);

    // A restart of the daemon starts after the stored cursor too.
    let cursors = Arc::new(Mutex::new(Vec::new()));
    let mut follower = JournalFollower::new(serving("", cursors.clone()), store.clone());
    follower.step(NOW).await.expect("step");
    assert_eq!(*cursors.lock().expect("lock"), [Some(last_cursor())]);
    assert_eq!(counted(&store).await, expected());
}

#[tokio::test]
async fn rpt_del_04_journal_sessions_of_report_mail_from_the_sender_are_not_counted() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = store(dir.path()).await;
    let cursors = Arc::new(Mutex::new(Vec::new()));
    // alice@sender.example sent the message to a.example: as the report sender, its session
    // is left out.
    let mut follower = JournalFollower::new(serving(FIXTURE, cursors), store.clone())
        .skipping_sender("Alice@sender.example");
    follower.step(NOW).await.expect("step");
    let mut want = expected();
    want.remove("a.example");
    assert_eq!(counted(&store).await, want);
}

#[tokio::test]
async fn rpt_res_01_journalctl_is_run_with_the_stored_cursor() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = store(dir.path()).await;
    let fixture = dir.path().join("journal.jsonl");
    std::fs::write(&fixture, FIXTURE).expect("write the fixture");
    // A stand-in journalctl: records its arguments, prints the fixture when started without
    // a cursor (after the fixture's last cursor there is nothing), and exits.
    let args = dir.path().join("args");
    let program = dir.path().join("journalctl");
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\ncase \"$*\" in *--after-cursor*) ;; *) cat '{}' ;; esac\n",
            args.display(),
            fixture.display()
        ),
    )
    .expect("write the program");
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let mut follower = JournalFollower::new(journalctl(program.clone()), store.clone());
    let mut sessions = 0;
    for _ in 0..5 {
        sessions += follower.step(NOW).await.expect("step").sessions;
    }
    assert_eq!(sessions, 2);
    assert_eq!(counted(&store).await, expected());
    drop(follower);
    let mut follower = JournalFollower::new(journalctl(program), store.clone());
    follower.step(NOW).await.expect("step");
    let args = std::fs::read_to_string(&args).expect("read the arguments");
    let mut runs = args.lines();
    assert_eq!(runs.next(), Some("--follow --output=json --lines=0"));
    let after = format!(
        "--follow --output=json --no-tail --after-cursor={}",
        last_cursor()
    );
    assert!(runs.all(|run| run == after), "{args}");
}
