//! Follows Postfix's log in systemd's journal and counts its TLS sessions per policy domain
//! and UTC day in the [`ReportStore`] (RFC 8460 §4.3; RPT-RES-01), like [`super::follow`]
//! does for a log file.
//!
//! It reads `journalctl --follow --output=json` ([`journalctl_args`]), one entry per line,
//! through [`parse_entry`]. The position is the cursor of the last entry read, stored in the
//! same [`ReportBatch`] as the sessions its lines completed; `journalctl` is started again
//! with `--after-cursor` of the stored cursor, so that neither a restart of the daemon nor
//! an exit of `journalctl` loses or counts twice an entry. Without a stored cursor, reading
//! starts with the entries that arrive from then on.
//!
//! Entries over [`MAX_ENTRY`](mxsec_proto::tlsrpt::journal::MAX_ENTRY) octets and lines that are no entry are skipped. A session whose
//! entries straddle a restart of the daemon is not counted.

use std::ffi::OsString;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use mxsec_proto::tlsrpt::journal::parse_entry;
use mxsec_proto::tlsrpt::lines::LineSplitter;
use mxsec_proto::tlsrpt::sessions::SessionTracker;
use time::{OffsetDateTime, UtcOffset};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::unix::pipe;

use super::follow::{count_line, BatchWriter, FollowError, StepCounts};
use crate::store::{ReportBatch, ReportStore};

/// The store key of the journal's position.
pub const SOURCE: &str = "journald";
/// How long a step waits for the journal to say something.
const WAIT: Duration = Duration::from_secs(1);
/// Octets read per step at most.
const CHUNK: usize = 64 * 1024;

/// A running reader of the journal: `journalctl`'s output (or, in tests, any byte stream).
pub type JournalReader = Pin<Box<dyn AsyncRead + Send>>;

/// Starts a reader of the journal after the cursor given (from the start of what arrives
/// when none is).
pub type StartReader = Box<dyn Fn(Option<&str>) -> std::io::Result<JournalReader> + Send>;

/// The arguments of `journalctl` that follow the journal as JSON after `cursor`, or from the
/// entries that arrive from now on without one.
pub fn journalctl_args(cursor: Option<&str>) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--follow".into(), "--output=json".into()];
    match cursor {
        Some(cursor) => {
            args.push("--no-tail".into());
            args.push(format!("--after-cursor={cursor}").into());
        }
        None => args.push("--lines=0".into()),
    }
    args
}

/// Starts `program` (`journalctl`) with [`journalctl_args`]; the process is killed when its
/// reader is dropped. Must be called inside a Tokio runtime.
pub fn journalctl(program: PathBuf) -> StartReader {
    Box::new(move |cursor| {
        let mut child = std::process::Command::new(&program)
            .args(journalctl_args(cursor))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let output = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("journalctl has no output"))
            .and_then(|stdout| pipe::Receiver::from_owned_fd(stdout.into()));
        match output {
            Ok(stdout) => Ok(Box::pin(ChildOutput { child, stdout }) as JournalReader),
            Err(e) => {
                stop(&mut child);
                Err(e)
            }
        }
    })
}

/// `journalctl`'s output, which keeps the process alive while it is read.
struct ChildOutput {
    child: std::process::Child,
    stdout: pipe::Receiver,
}

impl AsyncRead for ChildOutput {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdout).poll_read(cx, buf)
    }
}

impl Drop for ChildOutput {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Kills `child` and reaps it (a killed process exits at once).
fn stop(child: &mut std::process::Child) {
    if let Err(error) = child.kill().and_then(|()| child.wait().map(drop)) {
        tracing::debug!(%error, "stopping journalctl");
    }
}

/// Follows the journal; see the module documentation.
pub struct JournalFollower {
    start: StartReader,
    store: BatchWriter,
    tracker: SessionTracker,
    reader: Option<(JournalReader, LineSplitter)>,
}

impl std::fmt::Debug for JournalFollower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalFollower")
            .field("reading", &self.reader.is_some())
            .finish_non_exhaustive()
    }
}

impl JournalFollower {
    /// A follower reading what `start` gives, counting into `store`. Nothing is read before
    /// the first [`JournalFollower::step`].
    pub fn new(start: StartReader, store: Arc<dyn ReportStore>) -> Self {
        Self {
            start,
            store: BatchWriter::new(store),
            tracker: SessionTracker::new(),
            reader: None,
        }
    }

    /// Leaves out the sessions of messages from `sender`, the envelope sender of report
    /// mails (RFC 8460 §5.3.1).
    #[must_use]
    pub fn skipping_sender(mut self, sender: &str) -> Self {
        self.tracker = SessionTracker::new().skipping_sender(sender);
        self
    }

    /// Reads what the journal says within a second (at most 64 KiB), counts the sessions it
    /// completes and stores them with the cursor of the last entry; `now` dates them if an
    /// entry has no time. When the reader ends, the next step starts another after the stored
    /// cursor.
    ///
    /// # Errors
    ///
    /// Fails if the reader cannot be started or read, or the store written; what was read
    /// is kept and stored first by the next step.
    pub async fn step(&mut self, now: OffsetDateTime) -> Result<StepCounts, FollowError> {
        self.store.write_kept().await?;
        if self.reader.is_none() {
            let cursor = self.store.store.position(SOURCE).await?;
            let reader = (self.start)(cursor.as_deref()).map_err(read_error)?;
            self.reader = Some((reader, LineSplitter::default()));
        }
        let Some((reader, splitter)) = self.reader.as_mut() else {
            return Ok(StepCounts::default());
        };
        let mut chunk = vec![0; CHUNK];
        let n = match tokio::time::timeout(WAIT, reader.read(&mut chunk)).await {
            Err(_) => 0,
            Ok(Ok(0)) => {
                self.reader = None;
                return Ok(StepCounts::default());
            }
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                self.reader = None;
                return Err(read_error(e));
            }
        };
        let lines = splitter.feed(chunk.get(..n).unwrap_or_default());
        let mut counts = StepCounts {
            lines: lines.lines.len() as u64,
            too_long: lines.skipped,
            sessions: 0,
        };
        let mut batch = ReportBatch::default();
        let mut cursor = None;
        for entry in lines.lines.iter().filter_map(|l| parse_entry(l)) {
            cursor = Some(entry.cursor);
            if let Some(line) = entry.line {
                counts.sessions +=
                    count_line(&mut self.tracker, line, now, UtcOffset::UTC, &mut batch);
            }
        }
        if counts.lines == 0 && counts.too_long == 0 {
            return Ok(counts);
        }
        batch.position = cursor.map(|c| (SOURCE.to_owned(), c));
        self.store.write(batch).await?;
        Ok(counts)
    }
}

fn read_error(source: std::io::Error) -> FollowError {
    FollowError::Read {
        path: PathBuf::from("journalctl"),
        source,
    }
}

#[cfg(test)]
mod tests;
