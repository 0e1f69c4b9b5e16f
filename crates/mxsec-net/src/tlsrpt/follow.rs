//! Follows Postfix's log (the `maillog_file`, or a syslog file) and counts its TLS sessions
//! per policy domain and UTC day in the [`ReportStore`] (RFC 8460 §4.3; RPT-RES-01).
//!
//! The position reached (the file's device and inode, and the offset after the last complete
//! line read) is stored in the same [`ReportBatch`] as the sessions those lines completed, so
//! that after a restart reading resumes exactly there: no line is lost or counted twice.
//!
//! - A growing file is read from where the last step stopped; an unfinished last line waits
//!   for its newline.
//! - Rotation (the file renamed and a new one created at the path): the old file is read to
//!   its end, then the new one from its start.
//! - Truncation (the file shorter than the position): reading restarts at its start. A file
//!   truncated and refilled past the position between two steps cannot be told from a grown
//!   one, so rotate by renaming (`postfix logrotate`, logrotate without `copytruncate`).
//! - A restart finds the stored position: the same file is read on from it; another file
//!   (rotated while the daemon was down) is read from its start.
//! - Lines that are no Postfix TLS line are skipped, as are lines over
//!   [`MAX_LINE`](mxsec_proto::tlsrpt::postfix_log::MAX_LINE) bytes.
//!
//! A session whose lines straddle a restart is not counted: the tracker's state is not kept.
//! Sessions of report mails are not counted ([`sessions`](mxsec_proto::tlsrpt::sessions);
//! RFC 8460 §5.3.1).
//!
//! [`count_line`] is shared with the journal follower ([`super::journal`]).

use std::io::SeekFrom;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mxsec_proto::tlsrpt::aggregate::utc_day;
use mxsec_proto::tlsrpt::lines::LineSplitter;
use mxsec_proto::tlsrpt::postfix_log::{parse_line, LogLine};
use mxsec_proto::tlsrpt::sessions::SessionTracker;
use time::{OffsetDateTime, UtcOffset};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::store::{ReportBatch, ReportStore, StoreError};

/// Bytes read per `read` call.
const CHUNK: usize = 64 * 1024;
/// The most bytes read per step: one step is one store write.
const MAX_STEP: u64 = 1024 * 1024;

/// Why a step failed; the lines read are kept and stored by the next step.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The log could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The log.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a step read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepCounts {
    /// Complete lines read.
    pub lines: u64,
    /// Lines skipped for being over the length bound.
    pub too_long: u64,
    /// Sessions counted.
    pub sessions: u64,
}

/// The store the followers count into, with the batch a failed write left: it is written
/// first at the next step, so nothing read is lost and no line counted twice.
pub(super) struct BatchWriter {
    pub(super) store: Arc<dyn ReportStore>,
    kept: Option<ReportBatch>,
}

impl BatchWriter {
    pub(super) fn new(store: Arc<dyn ReportStore>) -> Self {
        Self { store, kept: None }
    }

    /// Writes the batch a failed write left, if any.
    pub(super) async fn write_kept(&mut self) -> Result<(), StoreError> {
        match self.kept.take() {
            Some(batch) => self.write(batch).await,
            None => Ok(()),
        }
    }

    /// Writes `batch` (its counts and position in one transaction), or keeps it for
    /// [`BatchWriter::write_kept`].
    pub(super) async fn write(&mut self, batch: ReportBatch) -> Result<(), StoreError> {
        if let Err(e) = self.store.apply(batch.clone()).await {
            self.kept = Some(batch);
            return Err(e);
        }
        Ok(())
    }
}

/// The file being read: which one, and where.
#[derive(Debug)]
struct OpenLog {
    file: tokio::fs::File,
    identity: (u64, u64),
    splitter: LineSplitter,
}

/// Follows one log; see the module documentation.
pub struct Follower {
    path: PathBuf,
    source: String,
    local: UtcOffset,
    store: BatchWriter,
    tracker: SessionTracker,
    open: Option<OpenLog>,
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("path", &self.path)
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl Follower {
    /// A follower of the log at `path`, whose BSD time stamps are in local time `local`,
    /// counting into `store`. Nothing is read before the first [`Follower::step`].
    pub fn new(path: impl Into<PathBuf>, local: UtcOffset, store: Arc<dyn ReportStore>) -> Self {
        let path = path.into();
        Self {
            source: source_key(&path),
            path,
            local,
            store: BatchWriter::new(store),
            tracker: SessionTracker::new(),
            open: None,
        }
    }

    /// Leaves out the sessions of messages from `sender`, the envelope sender of report
    /// mails (RFC 8460 §5.3.1).
    #[must_use]
    pub fn skipping_sender(mut self, sender: &str) -> Self {
        self.tracker = SessionTracker::new().skipping_sender(sender);
        self
    }

    /// Reads what the log gained since the last step (at most 1 MiB), counts the sessions it
    /// completes and stores them with the new position; `now` dates the lines.
    ///
    /// # Errors
    ///
    /// Fails if the log cannot be read or the store written; what was read is kept and
    /// stored first by the next step.
    pub async fn step(&mut self, now: OffsetDateTime) -> Result<StepCounts, FollowError> {
        self.store.write_kept().await?;
        if self.open.is_none() {
            self.open = self.reopen().await?;
        }
        let Some(open) = self.open.as_mut() else {
            return Ok(StepCounts::default());
        };
        let (bytes, at_end) = read_more(&mut open.file, &self.path).await?;
        let lines = open.splitter.feed(&bytes);
        let mut counts = StepCounts {
            lines: lines.lines.len() as u64,
            too_long: lines.skipped,
            sessions: 0,
        };
        let mut batch = ReportBatch::default();
        for line in lines.lines.iter().filter_map(|l| parse_line(l)) {
            counts.sessions += count_line(&mut self.tracker, line, now, self.local, &mut batch);
        }
        batch.position = Some((
            self.source.clone(),
            position(open.identity, open.splitter.offset()),
        ));
        if at_end {
            self.check_replaced().await?;
        }
        self.store.write(batch).await?;
        Ok(counts)
    }

    /// Opens the log at the stored position if it is the same file and no shorter, else at
    /// its start; `None` if there is no log yet.
    async fn reopen(&mut self) -> Result<Option<OpenLog>, FollowError> {
        let Some((file, identity, len)) = open(&self.path).await? else {
            return Ok(None);
        };
        let stored = self.store.store.position(&self.source).await?;
        let offset = stored
            .as_deref()
            .and_then(parse_position)
            .filter(|(id, offset)| *id == identity && *offset <= len)
            .map_or(0, |(_, offset)| offset);
        let mut open = OpenLog {
            file,
            identity,
            splitter: LineSplitter::at(offset),
        };
        seek(&mut open, &self.path, offset).await?;
        Ok(Some(open))
    }

    /// At the end of the open file: if another file now has the path (rotation), the next
    /// step reads it from its start; if the file is shorter than the position (truncation),
    /// reading restarts at its start.
    async fn check_replaced(&mut self) -> Result<(), FollowError> {
        let Some(open) = self.open.as_mut() else {
            return Ok(());
        };
        let current = match tokio::fs::metadata(&self.path).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(FollowError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        if (current.dev(), current.ino()) != open.identity {
            let Some((file, identity, _)) = self::open(&self.path).await? else {
                return Ok(());
            };
            self.tracker.forget_processes();
            *open = OpenLog {
                file,
                identity,
                splitter: LineSplitter::at(0),
            };
        } else if current.len() < open.splitter.offset() {
            open.splitter = LineSplitter::at(0);
            seek(open, &self.path, 0).await?;
        }
        Ok(())
    }
}

/// Hands `line` to `tracker` and adds the sessions it completes to `batch`, each on the UTC
/// day it ended (BSD time stamps are in local time `local`; `now` dates them); returns how
/// many.
pub(super) fn count_line(
    tracker: &mut SessionTracker,
    line: LogLine,
    now: OffsetDateTime,
    local: UtcOffset,
    batch: &mut ReportBatch,
) -> u64 {
    let mut counted = 0;
    for session in tracker.handle(line) {
        let when = session.time.resolve(now, local).unwrap_or(now);
        counted += 1;
        batch.change(utc_day(when), session.domain.clone(), move |r| {
            r.add_session(&session);
        });
    }
    counted
}

/// Moves the open log to `offset`.
async fn seek(open: &mut OpenLog, path: &Path, offset: u64) -> Result<(), FollowError> {
    open.file
        .seek(SeekFrom::Start(offset))
        .await
        .map(drop)
        .map_err(|source| FollowError::Read {
            path: path.to_owned(),
            source,
        })
}

/// The store key of a log's position.
fn source_key(path: &Path) -> String {
    format!("maillog:{}", path.display())
}

/// A position as stored: `device:inode:offset`.
fn position((dev, ino): (u64, u64), offset: u64) -> String {
    format!("{dev}:{ino}:{offset}")
}

fn parse_position(s: &str) -> Option<((u64, u64), u64)> {
    let mut parts = s.split(':').map(str::parse::<u64>);
    let (Some(Ok(dev)), Some(Ok(ino)), Some(Ok(offset)), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some(((dev, ino), offset))
}

/// Opens `path`: the file, its identity and length; `None` if it does not exist.
async fn open(path: &Path) -> Result<Option<(tokio::fs::File, (u64, u64), u64)>, FollowError> {
    let read_error = |source| FollowError::Read {
        path: path.to_owned(),
        source,
    };
    let file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_error(e)),
    };
    let meta = file.metadata().await.map_err(read_error)?;
    Ok(Some((file, (meta.dev(), meta.ino()), meta.len())))
}

/// Reads up to [`MAX_STEP`] bytes; also says whether the end of the file was reached.
async fn read_more(
    file: &mut tokio::fs::File,
    path: &Path,
) -> Result<(Vec<u8>, bool), FollowError> {
    let mut bytes = Vec::new();
    let mut chunk = vec![0; CHUNK];
    while (bytes.len() as u64) < MAX_STEP {
        let n = file
            .read(&mut chunk)
            .await
            .map_err(|source| FollowError::Read {
                path: path.to_owned(),
                source,
            })?;
        if n == 0 {
            return Ok((bytes, true));
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    Ok((bytes, false))
}

#[cfg(test)]
mod tests;
