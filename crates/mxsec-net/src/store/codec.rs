//! The stored form of a cache entry, shared by the back ends: JSON for Redis values and for
//! the list of failed fetches in SQLite, and checked conversions for SQLite columns.

use mxsec_proto::mta_sts::cache::{CacheEntry, CachedPolicy, FetchFailure};
use mxsec_proto::mta_sts::PolicyId;
use mxsec_proto::name::DomainName;
use serde::{Deserialize, Serialize};

use super::{RecordProblem, StoreError};

/// The version of the JSON record format; bumped when a field changes meaning.
const VERSION: u32 = 1;

#[derive(Deserialize, Serialize)]
struct StoredEntry {
    version: u32,
    domain: String,
    policy: Option<StoredPolicy>,
    failures: Vec<StoredFailure>,
}

#[derive(Deserialize, Serialize)]
struct StoredPolicy {
    id: String,
    body: String,
    fetched_at: u64,
}

#[derive(Deserialize, Serialize)]
struct StoredFailure {
    id: String,
    at: u64,
}

/// An error about the record stored under `key`.
pub(super) fn invalid(key: &str, problem: RecordProblem) -> StoreError {
    StoreError::InvalidRecord {
        key: key.to_owned(),
        problem,
    }
}

/// Parses a stored domain name.
pub(super) fn domain(key: &str, value: &str) -> Result<DomainName, StoreError> {
    DomainName::parse(value).map_err(|_| invalid(key, RecordProblem::Domain(value.to_owned())))
}

/// Parses a stored policy id.
fn policy_id(key: &str, value: &str) -> Result<PolicyId, StoreError> {
    PolicyId::parse(value).map_err(|_| invalid(key, RecordProblem::PolicyId(value.to_owned())))
}

/// Rebuilds a cached policy from its stored id, body and fetch time. The body is parsed
/// again, so only a valid policy comes out of a store.
pub(super) fn policy(
    key: &str,
    id: &str,
    body: String,
    fetched_at: u64,
) -> Result<CachedPolicy, StoreError> {
    CachedPolicy::parse(policy_id(key, id)?, body, fetched_at)
        .map_err(|e| invalid(key, RecordProblem::Policy(e)))
}

/// A Unix time or count as an SQLite integer; times past year 292 billion saturate.
pub(super) fn to_sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored SQLite integer as a Unix time or count; negative values are invalid.
pub(super) fn from_sql_int(key: &str, field: &'static str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| invalid(key, RecordProblem::OutOfRange { field, value }))
}

/// The failed fetches as JSON, for an SQLite column.
pub(super) fn failures_to_json(key: &str, failures: &[FetchFailure]) -> Result<String, StoreError> {
    let stored: Vec<StoredFailure> = failures.iter().map(stored_failure).collect();
    serde_json::to_string(&stored).map_err(|e| invalid(key, e.into()))
}

/// The failed fetches from their JSON form.
pub(super) fn failures_from_json(key: &str, json: &str) -> Result<Vec<FetchFailure>, StoreError> {
    let stored: Vec<StoredFailure> =
        serde_json::from_str(json).map_err(|e| invalid(key, e.into()))?;
    failures(key, stored)
}

/// The whole entry as JSON, for a Redis value.
pub(super) fn entry_to_json(entry: &CacheEntry) -> Result<String, StoreError> {
    let stored = StoredEntry {
        version: VERSION,
        domain: entry.domain().to_string(),
        policy: entry.policy().map(|p| StoredPolicy {
            id: p.id().to_string(),
            body: p.body().to_owned(),
            fetched_at: p.fetched_at(),
        }),
        failures: entry.failures().iter().map(stored_failure).collect(),
    };
    serde_json::to_string(&stored).map_err(|e| invalid(entry.domain().as_str(), e.into()))
}

/// The entry from its JSON form; `key` names the record in errors.
pub(super) fn entry_from_json(key: &str, json: &str) -> Result<CacheEntry, StoreError> {
    let stored: StoredEntry = serde_json::from_str(json).map_err(|e| invalid(key, e.into()))?;
    if stored.version != VERSION {
        return Err(invalid(key, RecordProblem::Version(stored.version)));
    }
    let policy = match stored.policy {
        Some(p) => Some(policy(key, &p.id, p.body, p.fetched_at)?),
        None => None,
    };
    Ok(CacheEntry::from_parts(
        domain(key, &stored.domain)?,
        policy,
        failures(key, stored.failures)?,
    ))
}

fn failures(key: &str, stored: Vec<StoredFailure>) -> Result<Vec<FetchFailure>, StoreError> {
    stored
        .into_iter()
        .map(|f| Ok(FetchFailure::new(policy_id(key, &f.id)?, f.at)))
        .collect()
}

fn stored_failure(failure: &FetchFailure) -> StoredFailure {
    StoredFailure {
        id: failure.id().to_string(),
        at: failure.at(),
    }
}
