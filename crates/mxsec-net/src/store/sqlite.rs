//! The SQLite policy store: one file, one dedicated database thread, durable writes.
//!
//! The file is opened in WAL mode with `synchronous=FULL`, so a committed write survives a
//! crash or power loss. All statements run on one thread that owns the connection; requests
//! that arrive while it is busy are committed together in one transaction (each in its own
//! savepoint, so one failing statement does not undo the others), which keeps many concurrent
//! updates fast while each still returns only once its write is on disk. The transaction is
//! `BEGIN IMMEDIATE`: it holds the write lock from its start, so an update's read and write
//! are never separated by another writer, even another process sharing the file.
//!
//! Opening checks the file before any work: a read-only file, a file that is not SQLite, a
//! damaged file (`PRAGMA quick_check`), another program's database, or a schema from a newer
//! mxsec each give their own [`StoreError`], never silent loss of the cache.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use mxsec_proto::mta_sts::cache::{CacheEntry, CachedPolicy};
use mxsec_proto::name::DomainName;
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, Row, MAIN_DB};
use tokio::sync::oneshot;

use super::codec::{self, from_sql_int, to_sql_int};
use super::{Change, PolicyStore, RecordProblem, StoreError};

mod reports;

/// The schema version this build writes and understands (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 3;

/// The schema, version 1 (version 2 adds the TLS-RPT tables, [`reports::MIGRATE_2`], version 3
/// the state of report deliveries, [`reports::MIGRATE_3`]). Times are Unix seconds. The policy
/// columns are all NULL when the entry holds only failed fetches. The body is the policy's truth and is parsed again when
/// read; `mode`, `max_age`, `refresh_at` and `policy_expires_at` are derived from it, kept
/// for queries (`refresh_at` is indexed for [`PolicyStore::due_for_refresh`]) and for
/// operators who look into the file with `sqlite3`. `failures` is JSON:
/// `[{"id": "20240101", "at": 1700000000}]`.
const SCHEMA: &str = "
CREATE TABLE mta_sts_policy (
    domain            TEXT PRIMARY KEY NOT NULL,
    policy_id         TEXT,
    body              TEXT,
    mode              TEXT,
    max_age           INTEGER,
    fetched_at        INTEGER,
    failures          TEXT NOT NULL,
    refresh_at        INTEGER,
    policy_expires_at INTEGER,
    expires_at        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX mta_sts_policy_refresh ON mta_sts_policy (refresh_at)
    WHERE refresh_at IS NOT NULL;
CREATE INDEX mta_sts_policy_expires ON mta_sts_policy (expires_at);
PRAGMA user_version = 1;
";

const COLUMNS: &str = "domain, policy_id, body, fetched_at, failures";

/// The most requests committed in one transaction.
const MAX_BATCH: usize = 512;

/// How long a statement waits for a lock held by another process before failing.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A [`PolicyStore`] in an SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    jobs: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file and its schema if it does not exist.
    ///
    /// # Errors
    ///
    /// [`StoreError::ReadOnly`] if the file cannot be written, [`StoreError::Corrupt`] if it
    /// is not an SQLite database or is damaged, [`StoreError::NotAStore`] if it holds another
    /// program's tables, [`StoreError::NewerSchema`] if a newer mxsec wrote it, and
    /// [`StoreError::Sqlite`] for any other failure (missing directory, I/O error).
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let path = path.into();
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let (opened, open_result) = oneshot::channel();
        let thread_path = path.clone();
        let thread = std::thread::Builder::new()
            .name("mxsec-sqlite".to_owned())
            .spawn(move || match open_connection(&thread_path) {
                Ok(conn) => {
                    // The receiver waits in `open`, which is still running.
                    let _ = opened.send(Ok(()));
                    run(&conn, &thread_path, &queue);
                }
                Err(e) => {
                    let _ = opened.send(Err(e));
                }
            })
            .map_err(|source| StoreError::Thread {
                path: path.clone(),
                source,
            })?;
        match open_result.await {
            Ok(Ok(())) => Ok(Self {
                path,
                jobs: Some(jobs),
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(StoreError::Stopped { path }),
        }
    }

    /// The path of the store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the store: waits for pending writes and for the database thread to close the
    /// file.
    pub async fn close(mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            // The thread exits once the channel is closed and its last batch is committed.
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// Runs `op` on the database thread, inside a transaction that is committed before the
    /// result is returned.
    async fn call<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let job = Box::new(Call {
            op: Some(op),
            result: None,
            reply,
        });
        let stopped = || StoreError::Stopped {
            path: self.path.clone(),
        };
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?
    }
}

#[async_trait::async_trait]
impl PolicyStore for SqliteStore {
    async fn get(&self, domain: &DomainName, now: u64) -> Result<Option<CacheEntry>, StoreError> {
        let domain = domain.to_string();
        let path = self.path.clone();
        self.call(move |conn| read_entry(conn, &path, &domain, now))
            .await
    }

    async fn update(
        &self,
        domain: &DomainName,
        now: u64,
        change: Change,
    ) -> Result<CacheEntry, StoreError> {
        let domain = domain.clone();
        let path = self.path.clone();
        // One job on the database thread, inside the batch's `BEGIN IMMEDIATE` transaction:
        // no other writer, in this process or another, can come between the read and the
        // write.
        self.call(move |conn| {
            let mut entry = read_entry(conn, &path, domain.as_str(), now)?
                .unwrap_or_else(|| CacheEntry::new(domain.clone()));
            change(&mut entry);
            write_entry(conn, &path, domain.as_str(), &entry, now)?;
            Ok(entry)
        })
        .await
    }

    async fn delete(&self, domain: &DomainName) -> Result<bool, StoreError> {
        let domain = domain.to_string();
        let path = self.path.clone();
        self.call(move |conn| {
            conn.prepare_cached("DELETE FROM mta_sts_policy WHERE domain = ?1")
                .and_then(|mut stmt| stmt.execute(params![domain]))
                .map(|n| n > 0)
                .map_err(|e| sqlite_error(&path, e))
        })
        .await
    }

    async fn due_for_refresh(&self, now: u64, limit: usize) -> Result<Vec<CacheEntry>, StoreError> {
        let path = self.path.clone();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(move |conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM mta_sts_policy \
                 WHERE refresh_at <= ?1 AND policy_expires_at > ?1 \
                 ORDER BY refresh_at, domain LIMIT ?2"
            );
            let rows = conn
                .prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_map(params![to_sql_int(now), limit], RawRow::read)?
                        .collect::<Result<Vec<_>, _>>()
                })
                .map_err(|e| sqlite_error(&path, e))?;
            rows.into_iter().map(RawRow::decode).collect()
        })
        .await
    }

    async fn count(&self, now: u64) -> Result<u64, StoreError> {
        let path = self.path.clone();
        self.call(move |conn| {
            let n: i64 = conn
                .prepare_cached("SELECT count(*) FROM mta_sts_policy WHERE expires_at > ?1")
                .and_then(|mut stmt| stmt.query_row(params![to_sql_int(now)], |r| r.get(0)))
                .map_err(|e| sqlite_error(&path, e))?;
            from_sql_int("count(*)", "count", n)
        })
        .await
    }

    async fn purge_expired(&self, now: u64) -> Result<u64, StoreError> {
        let path = self.path.clone();
        self.call(move |conn| {
            conn.prepare_cached("DELETE FROM mta_sts_policy WHERE expires_at <= ?1")
                .and_then(|mut stmt| stmt.execute(params![to_sql_int(now)]))
                .map(|n| u64::try_from(n).unwrap_or(u64::MAX))
                .map_err(|e| sqlite_error(&path, e))
        })
        .await
    }
}

/// The entry for `domain` unless there is none or it has expired at `now`.
fn read_entry(
    conn: &Connection,
    path: &Path,
    domain: &str,
    now: u64,
) -> Result<Option<CacheEntry>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM mta_sts_policy WHERE domain = ?1 AND expires_at > ?2");
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_row(params![domain, to_sql_int(now)], RawRow::read)
                .optional()
        })
        .map_err(|e| sqlite_error(path, e))?
        .map(RawRow::decode)
        .transpose()
}

/// Stores `entry` as the row of `domain`, or deletes the row when the entry holds nothing
/// of use at `now`.
fn write_entry(
    conn: &Connection,
    path: &Path,
    domain: &str,
    entry: &CacheEntry,
    now: u64,
) -> Result<(), StoreError> {
    let Some(expires_at) = entry.expires_at().filter(|&at| at > now) else {
        return conn
            .prepare_cached("DELETE FROM mta_sts_policy WHERE domain = ?1")
            .and_then(|mut stmt| stmt.execute(params![domain]))
            .map(drop)
            .map_err(|e| sqlite_error(path, e));
    };
    let failures = codec::failures_to_json(domain, entry.failures())?;
    let p = entry.policy();
    conn.prepare_cached(
        "INSERT OR REPLACE INTO mta_sts_policy (domain, policy_id, body, mode, max_age, \
         fetched_at, failures, refresh_at, policy_expires_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            domain,
            p.map(|p| p.id().as_str()),
            p.map(CachedPolicy::body),
            p.map(|p| p.mode().as_str()),
            p.map(|p| to_sql_int(p.max_age())),
            p.map(|p| to_sql_int(p.fetched_at())),
            failures,
            entry.refresh_at().map(to_sql_int),
            p.map(|p| to_sql_int(p.expires_at())),
            to_sql_int(expires_at),
        ])
    })
    .map(drop)
    .map_err(|e| sqlite_error(path, e))
}

/// One row as stored, before it is checked.
struct RawRow {
    domain: String,
    policy_id: Option<String>,
    body: Option<String>,
    fetched_at: Option<i64>,
    failures: String,
}

impl RawRow {
    /// Reads the [`COLUMNS`] of a row.
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            domain: row.get(0)?,
            policy_id: row.get(1)?,
            body: row.get(2)?,
            fetched_at: row.get(3)?,
            failures: row.get(4)?,
        })
    }

    /// Checks the row and builds the entry.
    fn decode(self) -> Result<CacheEntry, StoreError> {
        let key = self.domain.as_str();
        let domain = codec::domain(key, key)?;
        let policy = match (self.policy_id, self.body, self.fetched_at) {
            (Some(id), Some(body), Some(fetched_at)) => Some(codec::policy(
                key,
                &id,
                body,
                from_sql_int(key, "fetched_at", fetched_at)?,
            )?),
            (None, None, None) => None,
            _ => return Err(codec::invalid(key, RecordProblem::PartialPolicy)),
        };
        let failures = codec::failures_from_json(key, &self.failures)?;
        Ok(CacheEntry::from_parts(domain, policy, failures))
    }
}

/// A request to the database thread.
trait Job: Send {
    /// Runs the request inside the current transaction.
    fn run(&mut self, conn: &Connection, path: &Path);
    /// Delivers the result once the transaction is committed, or the commit's failure.
    fn finish(self: Box<Self>, committed: Result<(), StoreError>);
}

struct Call<T, F> {
    op: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Call<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection, path: &Path) {
        if let Some(op) = self.op.take() {
            self.result = Some(in_savepoint(conn, path, op));
        }
    }

    fn finish(self: Box<Self>, committed: Result<(), StoreError>) {
        let result = match (committed, self.result) {
            (Ok(()), Some(result)) => result,
            (Err(e), _) => Err(e),
            // `run` always sets the result before the commit; an empty one cannot happen,
            // and the caller then learns that the request was not carried out.
            (Ok(()), None) => return,
        };
        // The caller may have stopped waiting; the write is committed either way.
        let _ = self.reply.send(result);
    }
}

/// Runs `op` in a savepoint, so that its failure undoes only its own changes.
fn in_savepoint<T>(
    conn: &Connection,
    path: &Path,
    op: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if let Err(e) = conn.execute_batch("SAVEPOINT request") {
        return Err(sqlite_error(path, e));
    }
    let result = op(conn);
    let end = if result.is_ok() {
        "RELEASE request"
    } else {
        "ROLLBACK TO request; RELEASE request"
    };
    match conn.execute_batch(end) {
        Ok(()) => result,
        Err(e) => Err(sqlite_error(path, e)),
    }
}

/// The database thread: takes the waiting requests, runs them in one transaction, commits,
/// and answers each; until every [`SqliteStore`] handle is gone.
fn run(conn: &Connection, path: &Path, queue: &mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let committed = match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => {
                for job in &mut batch {
                    job.run(conn, path);
                }
                conn.execute_batch("COMMIT").map_err(|e| {
                    let shared = Arc::new(e);
                    // Leaves no half-open transaction behind for the next batch.
                    let _ = conn.execute_batch("ROLLBACK");
                    shared
                })
            }
            Err(e) => Err(Arc::new(e)),
        };
        for job in batch {
            job.finish(committed.clone().map_err(|source| StoreError::Sqlite {
                path: path.to_owned(),
                source,
            }));
        }
    }
}

/// Opens and checks the file, and creates or checks the schema.
fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    // SQLite opens a write-protected file read-only without complaint (and root may write
    // any file), so the permissions are checked first: a store that cannot be written would
    // silently stop remembering policies.
    if std::fs::metadata(path).is_ok_and(|m| m.permissions().readonly()) {
        return Err(StoreError::ReadOnly {
            path: path.to_owned(),
        });
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(path, e))?;
    if conn.is_readonly(MAIN_DB).map_err(|e| classify(path, e))? {
        return Err(StoreError::ReadOnly {
            path: path.to_owned(),
        });
    }
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| classify(path, e))?;
    let journal: String = conn
        .pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))
        .map_err(|e| classify(path, e))?;
    if !journal.eq_ignore_ascii_case("wal") {
        return Err(StoreError::ReadOnly {
            path: path.to_owned(),
        });
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| classify(path, e))?;
    check_integrity(&conn, path)?;
    ensure_schema(&conn, path)?;
    Ok(conn)
}

/// `PRAGMA quick_check`: the whole file is read, so damage is found at start, not later.
fn check_integrity(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let problems: Vec<String> = conn
        .prepare("PRAGMA quick_check(5)")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<_, _>>()
        })
        .map_err(|e| classify(path, e))?;
    if matches!(problems.as_slice(), [only] if only == "ok") {
        Ok(())
    } else {
        Err(StoreError::Corrupt {
            path: path.to_owned(),
            detail: problems.join("; "),
        })
    }
}

/// Creates the schema in a new file, or checks that an existing file is a store this build
/// understands.
fn ensure_schema(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| classify(path, e))?;
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'mta_sts_policy'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| classify(path, e))?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(|e| classify(path, e))?;
    let (migrate_2, migrate_3) = (reports::MIGRATE_2, reports::MIGRATE_3);
    let upgrade = |steps: &str| {
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {steps} COMMIT;"))
            .map_err(|e| classify(path, e))
    };
    match version {
        0 if objects == 0 => upgrade(&format!("{SCHEMA} {migrate_2} {migrate_3}")),
        // An older store gains the TLS-RPT tables it lacks; its policies and day records stay
        // as they are.
        1 if tables == 1 => upgrade(&format!("{migrate_2} {migrate_3}")),
        2 if tables == 1 => upgrade(migrate_3),
        SCHEMA_VERSION if tables == 1 => Ok(()),
        found if found > SCHEMA_VERSION => Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        }),
        _ => Err(StoreError::NotAStore {
            path: path.to_owned(),
        }),
    }
}

/// Maps an SQLite error met while opening to the error that says what to fix.
fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::ReadOnly) => StoreError::ReadOnly {
            path: path.to_owned(),
        },
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_owned(),
            detail: e.to_string(),
        },
        _ => sqlite_error(path, e),
    }
}

fn sqlite_error(path: &Path, e: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_owned(),
        source: Arc::new(e),
    }
}
