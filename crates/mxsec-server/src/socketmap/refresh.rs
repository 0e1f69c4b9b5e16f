//! Proactive refresh of cached MTA-STS policies (RFC 8461 §3.3 and §10.2, STS-FETCH-08).
//!
//! Every `refresh.interval` the loop asks the store for the policies due for refresh
//! ([`PolicyStore::due_for_refresh`](mxsec_net::store::PolicyStore::due_for_refresh): about a
//! day after their fetch, whether or not the TXT `id` changed) and refetches them, at most
//! `refresh.concurrency` at a time. A failed refresh leaves the cached policy in force until
//! it expires (STS-FETCH-07); it is counted and logged, as an error unless the cached mode is
//! `none`. The five-minute wait after a failed fetch (STS-FETCH-03) is the resolver's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use mxsec_net::resolver::RefreshOutcome as Outcome;
use mxsec_proto::name::Destination;
use tokio::sync::watch;

use super::activity::{unix_now, Round};
use super::metrics::RefreshOutcome;
use super::service::Shared;
use super::shutdown::stopped;

/// The most policies refreshed in one round; the rest wait for the next.
const BATCH: usize = 10_000;

/// Runs refresh rounds until `shutdown` turns true.
pub(crate) async fn run(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let service = shared.current();
        let interval = service.refresh.interval;
        if service.refresh.enabled {
            tokio::select! {
                () = round(&shared) => {}
                _ = stopped(&mut shutdown) => return,
            }
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = stopped(&mut shutdown) => return,
        }
    }
}

/// One round: refresh what is due, update the gauge, drop expired entries; what it did goes
/// to `/status` ([`Activity`](super::activity::Activity)).
pub(crate) async fn round(shared: &Shared) {
    let service = shared.current();
    let engine = service.engine.clone();
    let metrics = shared.metrics.clone();
    let now = unix_now();
    metrics.activity.round_started(now);
    let due = match engine.store.due_for_refresh(now, BATCH).await {
        Ok(due) => due,
        Err(err) => {
            tracing::error!(error = %err, "cannot read the policy store for the refresh");
            metrics.activity.round_finished(Round {
                started: now,
                finished: unix_now(),
                store_error: Some(err.to_string()),
                ..Round::default()
            });
            return;
        }
    };
    if !due.is_empty() {
        tracing::info!(count = due.len(), "refreshing cached MTA-STS policies");
    }
    let counts = Counts::default();
    let due_count = due.len() as u64;
    let counted = &counts;
    stream::iter(due)
        .for_each_concurrent(service.refresh.concurrency, |entry| {
            let (engine, metrics) = (engine.clone(), metrics.clone());
            async move {
                let domain = entry.domain().clone();
                let alerts = entry
                    .policy()
                    .is_some_and(|policy| policy.alerts_on_refresh_failure());
                match engine.resolver.refresh(&domain).await {
                    Outcome::Replaced => {
                        tracing::info!(%domain, "MTA-STS policy refreshed: a newer policy replaces the cached one");
                        metrics.refresh(RefreshOutcome::Refreshed);
                        metrics.fetch("success");
                        metrics.activity.policy_fetched(domain.as_ref(), unix_now());
                        counted.refreshed.fetch_add(1, Ordering::Relaxed);
                        engine.forget(&Destination::Domain(domain));
                    }
                    Outcome::Unchanged => {
                        tracing::debug!(%domain, "MTA-STS policy refreshed: unchanged");
                        metrics.refresh(RefreshOutcome::Unchanged);
                        metrics.fetch("success");
                        metrics.activity.policy_fetched(domain.as_ref(), unix_now());
                        counted.unchanged.fetch_add(1, Ordering::Relaxed);
                    }
                    Outcome::Waiting => {
                        tracing::debug!(%domain, "MTA-STS refresh waits after a recent failure (STS-FETCH-03)");
                    }
                    Outcome::Failed { result_type, error } => {
                        metrics.refresh(RefreshOutcome::Failed);
                        counted.failed.fetch_add(1, Ordering::Relaxed);
                        if let Some(result) = result_type {
                            metrics.fetch(result.as_str());
                        }
                        if alerts {
                            tracing::error!(%domain, %error, "MTA-STS policy refresh failed; the cached policy stays in force until it expires (STS-FETCH-08)");
                        } else {
                            tracing::info!(%domain, %error, "MTA-STS policy refresh failed (cached mode none)");
                        }
                    }
                    _ => {}
                }
            }
        })
        .await;
    match engine.store.count(now).await {
        Ok(count) => metrics.policies_cached(count),
        Err(err) => tracing::warn!(error = %err, "cannot count the cached policies"),
    }
    if let Err(err) = engine.store.purge_expired(now).await {
        tracing::warn!(error = %err, "cannot drop expired policies");
    }
    engine.purge();
    let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
    metrics.activity.round_finished(Round {
        started: now,
        finished: unix_now(),
        due: due_count,
        refreshed: get(&counts.refreshed),
        unchanged: get(&counts.unchanged),
        failed: get(&counts.failed),
        store_error: None,
    });
}

/// The outcomes of one round's refreshes.
#[derive(Default)]
struct Counts {
    refreshed: AtomicU64,
    unchanged: AtomicU64,
    failed: AtomicU64,
}
