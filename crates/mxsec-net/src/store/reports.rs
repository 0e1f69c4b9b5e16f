//! What the TLS-RPT reporter keeps in the policy store (RFC 8460 §4): per UTC day and policy
//! domain a [`DayRecord`] (the policies the daemon answered, the sessions seen) and the
//! [`DeliveryState`] of the day's report (RFC 8460 §5.5), and the position reached in each
//! log followed.
//!
//! Writes come as a [`ReportBatch`], applied atomically: the day records it changes and the
//! log position it moves to are committed together, so that a restart resumes exactly after
//! the last line counted, and no line is lost or counted twice.
//!
//! Bounded: a [`DayRecord`] bounds itself; at most [`MAX_DOMAINS_PER_DAY`] domains are kept
//! per day (a change to a further domain is dropped), as many delivery states, and days are
//! kept until [`ReportStore::forget_days_before`] deletes them, delivery states with them.

use std::sync::Arc;

use mxsec_proto::name::DomainName;
use mxsec_proto::tlsrpt::day_record::DayRecord;
use mxsec_proto::tlsrpt::outbox::DeliveryState;
use time::Date;

use super::StoreError;

/// The most policy domains recorded per day.
pub const MAX_DOMAINS_PER_DAY: usize = 100_000;

/// A change to one day record; it may run more than once (a shared store retries), so it
/// must depend on nothing but the record it is given.
pub type DayChange = Arc<dyn Fn(&mut DayRecord) + Send + Sync>;

/// Changes to day records, and the log position they bring the reader to.
#[derive(Clone, Default)]
pub struct ReportBatch {
    /// `(day, policy domain, change)`.
    pub changes: Vec<(Date, DomainName, DayChange)>,
    /// `(log source, position)`: where reading resumes once this batch is stored.
    pub position: Option<(String, String)>,
}

impl std::fmt::Debug for ReportBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportBatch")
            .field("changes", &self.changes.len())
            .field("position", &self.position)
            .finish()
    }
}

impl ReportBatch {
    /// Adds a change to `domain`'s record of `day`.
    pub fn change(
        &mut self,
        day: Date,
        domain: DomainName,
        change: impl Fn(&mut DayRecord) + Send + Sync + 'static,
    ) {
        self.changes.push((day, domain, Arc::new(change)));
    }
}

/// The TLS-RPT records of a policy store; see the module documentation.
#[async_trait::async_trait]
pub trait ReportStore: Send + Sync {
    /// Applies every change of `batch` and stores its position, atomically.
    ///
    /// # Errors
    ///
    /// Fails if the store cannot be read or written, holds a record it cannot decode, or
    /// (shared store) other writers kept changing the records; nothing is then stored.
    async fn apply(&self, batch: ReportBatch) -> Result<(), StoreError>;

    /// Every domain's record of `day`, by domain.
    ///
    /// # Errors
    ///
    /// Fails if the store cannot be read or holds a record it cannot decode.
    async fn day(&self, day: Date) -> Result<Vec<(DomainName, DayRecord)>, StoreError>;

    /// The position stored for the log `source`.
    ///
    /// # Errors
    ///
    /// Fails if the store cannot be read.
    async fn position(&self, source: &str) -> Result<Option<String>, StoreError>;

    /// Deletes the records and delivery states of days before `day`; returns how many
    /// records were deleted.
    ///
    /// # Errors
    ///
    /// Fails if the store cannot be written.
    async fn forget_days_before(&self, day: Date) -> Result<u64, StoreError>;

    /// The delivery state of every report of `day` that has one, by policy domain.
    ///
    /// # Errors
    ///
    /// Fails if the store cannot be read or holds a state it cannot decode.
    async fn deliveries(&self, day: Date) -> Result<Vec<(DomainName, DeliveryState)>, StoreError>;

    /// Stores `new` as the delivery state of `domain`'s report of `day` if the stored state
    /// is still `expected` (`None`: there is none), atomically, so that of several reporters
    /// sharing the store only one claims an attempt. Returns whether it was stored; a new
    /// state beyond [`MAX_DOMAINS_PER_DAY`] for the day is not.
    ///
    /// # Errors
    ///
    /// Fails if the store cannot be read or written.
    async fn swap_delivery(
        &self,
        day: Date,
        domain: &DomainName,
        expected: Option<&DeliveryState>,
        new: &DeliveryState,
    ) -> Result<bool, StoreError>;
}

/// The day as the stores write it: `YYYY-MM-DD`.
pub(super) fn day_key(day: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// A stored day record.
pub(super) fn decode(key: &str, json: &str) -> Result<DayRecord, StoreError> {
    serde_json::from_str(json).map_err(|e| super::codec::invalid(key, e.into()))
}

/// A day record as stored.
pub(super) fn encode(record: &DayRecord) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(|e| super::codec::invalid("tlsrpt day record", e.into()))
}

/// A stored delivery state.
pub(super) fn decode_delivery(key: &str, json: &str) -> Result<DeliveryState, StoreError> {
    serde_json::from_str(json).map_err(|e| super::codec::invalid(key, e.into()))
}

/// A delivery state as stored; equal states encode to equal text, which the swaps compare.
pub(super) fn encode_delivery(state: &DeliveryState) -> Result<String, StoreError> {
    serde_json::to_string(state)
        .map_err(|e| super::codec::invalid("tlsrpt delivery state", e.into()))
}

#[cfg(test)]
mod tests;
