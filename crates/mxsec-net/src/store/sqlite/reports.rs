//! The TLS-RPT records in the SQLite store: `tlsrpt_day` holds one [`DayRecord`] as JSON per
//! (day, domain), `tlsrpt_position` the position of each log (schema version 2), and
//! `tlsrpt_delivery` one [`DeliveryState`] as JSON per (day, domain) (schema version 3).

use std::path::Path;

use mxsec_proto::name::DomainName;
use mxsec_proto::tlsrpt::day_record::DayRecord;
use mxsec_proto::tlsrpt::outbox::DeliveryState;
use rusqlite::{params, Connection, OptionalExtension};
use time::Date;

use super::super::codec;
use super::super::reports::{
    day_key, decode, decode_delivery, encode, encode_delivery, ReportBatch, ReportStore,
    MAX_DOMAINS_PER_DAY,
};
use super::super::StoreError;
use super::{sqlite_error, SqliteStore};

/// Schema version 1 to 2: the TLS-RPT tables.
pub(super) const MIGRATE_2: &str = "
CREATE TABLE tlsrpt_day (
    day    TEXT NOT NULL,
    domain TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (day, domain)
) WITHOUT ROWID;
CREATE TABLE tlsrpt_position (
    source   TEXT PRIMARY KEY NOT NULL,
    position TEXT NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 2;
";

/// Schema version 2 to 3: the state of each report's delivery.
pub(super) const MIGRATE_3: &str = "
CREATE TABLE tlsrpt_delivery (
    day    TEXT NOT NULL,
    domain TEXT NOT NULL,
    state  TEXT NOT NULL,
    PRIMARY KEY (day, domain)
) WITHOUT ROWID;
PRAGMA user_version = 3;
";

#[async_trait::async_trait]
impl ReportStore for SqliteStore {
    async fn apply(&self, batch: ReportBatch) -> Result<(), StoreError> {
        let path = self.path.clone();
        // One job, one savepoint: every change and the position, or none.
        self.call(move |conn| {
            for (day, domain, change) in &batch.changes {
                let day = day_key(*day);
                let stored: Option<String> = conn
                    .prepare_cached("SELECT record FROM tlsrpt_day WHERE day = ?1 AND domain = ?2")
                    .and_then(|mut s| {
                        s.query_row(params![day, domain.as_str()], |r| r.get(0))
                            .optional()
                    })
                    .map_err(|e| sqlite_error(&path, e))?;
                let mut record = match &stored {
                    Some(json) => decode(&format!("{day} {domain}"), json)?,
                    None if domains(conn, &path, &day)? >= MAX_DOMAINS_PER_DAY => continue,
                    None => DayRecord::default(),
                };
                change(&mut record);
                let json = encode(&record)?;
                conn.prepare_cached(
                    "INSERT INTO tlsrpt_day (day, domain, record) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (day, domain) DO UPDATE SET record = excluded.record",
                )
                .and_then(|mut s| s.execute(params![day, domain.as_str(), json]))
                .map_err(|e| sqlite_error(&path, e))?;
            }
            if let Some((source, position)) = &batch.position {
                conn.prepare_cached(
                    "INSERT INTO tlsrpt_position (source, position) VALUES (?1, ?2) \
                     ON CONFLICT (source) DO UPDATE SET position = excluded.position",
                )
                .and_then(|mut s| s.execute(params![source, position]))
                .map_err(|e| sqlite_error(&path, e))?;
            }
            Ok(())
        })
        .await
    }

    async fn day(&self, day: Date) -> Result<Vec<(DomainName, DayRecord)>, StoreError> {
        let path = self.path.clone();
        let day = day_key(day);
        self.call(move |conn| {
            rows_of_day(
                conn,
                &path,
                "SELECT domain, record FROM tlsrpt_day WHERE day = ?1 ORDER BY domain",
                &day,
                "",
                decode,
            )
        })
        .await
    }

    async fn position(&self, source: &str) -> Result<Option<String>, StoreError> {
        let path = self.path.clone();
        let source = source.to_owned();
        self.call(move |conn| {
            conn.prepare_cached("SELECT position FROM tlsrpt_position WHERE source = ?1")
                .and_then(|mut s| s.query_row(params![source], |r| r.get(0)).optional())
                .map_err(|e| sqlite_error(&path, e))
        })
        .await
    }

    async fn forget_days_before(&self, day: Date) -> Result<u64, StoreError> {
        let path = self.path.clone();
        let day = day_key(day);
        self.call(move |conn| {
            conn.prepare_cached("DELETE FROM tlsrpt_delivery WHERE day < ?1")
                .and_then(|mut s| s.execute(params![day]))
                .map_err(|e| sqlite_error(&path, e))?;
            conn.prepare_cached("DELETE FROM tlsrpt_day WHERE day < ?1")
                .and_then(|mut s| s.execute(params![day]))
                .map(|n| u64::try_from(n).unwrap_or(u64::MAX))
                .map_err(|e| sqlite_error(&path, e))
        })
        .await
    }

    async fn deliveries(&self, day: Date) -> Result<Vec<(DomainName, DeliveryState)>, StoreError> {
        let path = self.path.clone();
        let day = day_key(day);
        self.call(move |conn| {
            rows_of_day(
                conn,
                &path,
                "SELECT domain, state FROM tlsrpt_delivery WHERE day = ?1 ORDER BY domain",
                &day,
                " delivery",
                decode_delivery,
            )
        })
        .await
    }

    async fn swap_delivery(
        &self,
        day: Date,
        domain: &DomainName,
        expected: Option<&DeliveryState>,
        new: &DeliveryState,
    ) -> Result<bool, StoreError> {
        let path = self.path.clone();
        let day = day_key(day);
        let domain = domain.to_string();
        let expected = expected.map(encode_delivery).transpose()?;
        let new = encode_delivery(new)?;
        // One job inside the batch's `BEGIN IMMEDIATE` transaction: no writer comes between
        // the read and the write.
        self.call(move |conn| {
            let stored: Option<String> = conn
                .prepare_cached("SELECT state FROM tlsrpt_delivery WHERE day = ?1 AND domain = ?2")
                .and_then(|mut s| s.query_row(params![day, domain], |r| r.get(0)).optional())
                .map_err(|e| sqlite_error(&path, e))?;
            if stored != expected {
                return Ok(false);
            }
            if stored.is_none() {
                let n: i64 = conn
                    .prepare_cached("SELECT count(*) FROM tlsrpt_delivery WHERE day = ?1")
                    .and_then(|mut s| s.query_row(params![day], |r| r.get(0)))
                    .map_err(|e| sqlite_error(&path, e))?;
                if usize::try_from(n).unwrap_or(usize::MAX) >= MAX_DOMAINS_PER_DAY {
                    return Ok(false);
                }
            }
            conn.prepare_cached(
                "INSERT INTO tlsrpt_delivery (day, domain, state) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (day, domain) DO UPDATE SET state = excluded.state",
            )
            .and_then(|mut s| s.execute(params![day, domain, new]))
            .map(|_| true)
            .map_err(|e| sqlite_error(&path, e))
        })
        .await
    }
}

/// How many domains `day` has records for.
fn domains(conn: &Connection, path: &Path, day: &str) -> Result<usize, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM tlsrpt_day WHERE day = ?1")
        .and_then(|mut s| s.query_row(params![day], |r| r.get(0)))
        .map_err(|e| sqlite_error(path, e))?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// The `(domain, JSON)` rows of `day` that `select` gives, each decoded by `decode`; an
/// undecodable row is an error naming it (`<day> <domain><what>`).
fn rows_of_day<T>(
    conn: &Connection,
    path: &Path,
    select: &str,
    day: &str,
    what: &str,
    decode: fn(&str, &str) -> Result<T, StoreError>,
) -> Result<Vec<(DomainName, T)>, StoreError> {
    let rows: Vec<(String, String)> = conn
        .prepare_cached(select)
        .and_then(|mut s| {
            s.query_map(params![day], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()
        })
        .map_err(|e| sqlite_error(path, e))?;
    rows.into_iter()
        .map(|(domain, json)| {
            let key = format!("{day} {domain}{what}");
            Ok((codec::domain(&key, &domain)?, decode(&key, &json)?))
        })
        .collect()
}
