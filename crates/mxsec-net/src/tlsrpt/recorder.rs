//! Records the policies a lookup answered, per policy domain and UTC day (RFC 8460 §4.4;
//! RPT-JSON-02, RPT-TIME-01), in the policy store, for the day's report.
//!
//! The answer must not wait for the store: [`Recorder::record`] hands the write to a task and
//! returns. A write that fails is logged and lost (the report then lacks one answer; the
//! delivery is unaffected).

use std::sync::Arc;

use mxsec_proto::name::DomainName;
use mxsec_proto::tlsrpt::aggregate::utc_day;
use mxsec_proto::tlsrpt::answered::{answered, TlsaRecords};
use mxsec_proto::tlsrpt::ResultType;
use time::OffsetDateTime;

use crate::resolver::{FetchReport, Resolution};
use crate::store::{ReportBatch, ReportStore, StoreError};
use mxsec_proto::decision::Observations;

/// Writes what was answered to a [`ReportStore`].
#[derive(Clone)]
pub struct Recorder {
    store: Arc<dyn ReportStore>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder writing to `store`.
    pub fn new(store: Arc<dyn ReportStore>) -> Self {
        Self { store }
    }

    /// The store it writes to.
    pub fn store(&self) -> &Arc<dyn ReportStore> {
        &self.store
    }

    /// Records, in the background, the policies answered from `resolution` on the UTC day of
    /// `now`. Must be called inside a Tokio runtime.
    pub fn record(&self, resolution: &Resolution, now: OffsetDateTime) {
        let fetch_failure = match &resolution.mta_sts.fetch {
            FetchReport::Failed { result_type, .. } => Some(*result_type),
            _ => None,
        };
        let tlsa_records: Vec<(DomainName, Vec<String>)> = resolution
            .hosts
            .iter()
            .map(|host| (host.name.clone(), host.tlsa_records.clone()))
            .collect();
        let Some(batch) = batch(&resolution.observations, fetch_failure, &tlsa_records, now) else {
            return;
        };
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.apply(batch).await {
                tracing::warn!(error = %e, "cannot record the answer for TLS reporting");
            }
        });
    }

    /// Records the policies answered from `observations` (with the fetch failure, if any, and
    /// the MX hosts' TLSA records) on the UTC day of `now`, and waits for the write.
    ///
    /// # Errors
    ///
    /// Fails if the store cannot be written.
    pub async fn record_now(
        &self,
        observations: &Observations,
        fetch_failure: Option<ResultType>,
        tlsa_records: TlsaRecords<'_>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        match batch(observations, fetch_failure, tlsa_records, now) {
            Some(batch) => self.store.apply(batch).await,
            None => Ok(()),
        }
    }
}

fn batch(
    observations: &Observations,
    fetch_failure: Option<ResultType>,
    tlsa_records: TlsaRecords<'_>,
    now: OffsetDateTime,
) -> Option<ReportBatch> {
    let (domain, policies) = answered(observations, fetch_failure, tlsa_records)?;
    let mut batch = ReportBatch::default();
    batch.change(utc_day(now), domain, move |record| {
        for policy in &policies {
            record.add_policy(policy.clone());
        }
    });
    Some(batch)
}

#[cfg(test)]
mod tests {
    use mxsec_proto::decision::{MxState, StsState};
    use mxsec_proto::name::Destination;
    use mxsec_proto::tlsrpt::report::PolicyType;
    use time::macros::{date, datetime};

    use super::*;
    use crate::store::SqliteStore;

    #[tokio::test]
    async fn rpt_time_01_answers_are_recorded_per_utc_day() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = Arc::new(
            SqliteStore::open(dir.path().join("p.sqlite"))
                .await
                .expect("open"),
        );
        let recorder = Recorder::new(store.clone());
        let observations = Observations {
            destination: Destination::parse("a.example").expect("destination"),
            mx: MxState::Failed(mxsec_proto::decision::LookupFailure::Transient(
                "timeout".into(),
            )),
            sts: StsState::Absent,
        };
        for _ in 0..3 {
            recorder
                .record_now(
                    &observations,
                    Some(ResultType::StsPolicyFetchError),
                    &[],
                    // 00:30 in UTC+1 is still 5 December in UTC.
                    datetime!(2026-12-06 00:30 +01:00),
                )
                .await
                .expect("record");
        }
        let day = store.day(date!(2026 - 12 - 05)).await.expect("day");
        let [(domain, record)] = day.as_slice() else {
            panic!("one domain: {day:?}")
        };
        assert_eq!(domain.as_str(), "a.example");
        assert_eq!(record.policies[0].policy.policy_type, PolicyType::Sts);
        assert_eq!(record.policies[0].failures[0].count, 3);
    }
}
