//! How the audit reaches MX addresses: each STARTTLS probe directly, or, for a scan of many
//! domains, through a shared [`Prober`] that probes each (address, SNI name) once per run and
//! gives the result to every domain that uses it, within connection limits and a rate.
//!
//! Most domains share a few providers' MX hosts, so in a scan most probes are answered from
//! the cache. Concurrent requests for the same key share one flight. The limits keep a scan
//! from looking like an attack on a provider: at most [`ProbeLimits::per_address`]
//! connections to one address and [`ProbeLimits::global`] in all, at most
//! [`ProbeLimits::rate`] new connections per second, and after a probe that got no greeting,
//! the next connection to that address waits, twice as long after each further failure up to
//! [`ProbeLimits::backoff_max`].
//!
//! MTA-STS policy fetches cannot be shared (each domain's policy host has its own name), but
//! the policy hosts of many domains often share an address (a hosting provider's web server):
//! [`Prober::policy_slot`] keeps the fetches to one address within the same per-address limit,
//! counted apart from the SMTP connections.
//!
//! A shared probe result is judged by every domain that uses it, and path validation of its
//! chain (against the WebPKI roots, and the operating system's store when loaded) is most of
//! the audit's own work. [`Prober::chain_verdict`] keeps that verdict per chain, MX host name
//! and minute, so that it is computed once per provider host rather than once per domain,
//! and is the verdict a check alone would reach at the same minute.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use moka::future::Cache;
use mxsec_net::dial::Dialer;
use mxsec_net::smtp_probe::{self, ProbeOptions, ProbeReport};
use mxsec_net::tls::PkixReport;
use mxsec_proto::name::DomainName;
use rustls_pki_types::{CertificateDer, UnixTime};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The limits of a shared [`Prober`].
#[derive(Clone, Copy, Debug)]
pub struct ProbeLimits {
    /// How many probe results are kept (least recently used first out).
    pub cache_entries: u64,
    /// The most connections to one address at once (at least one).
    pub per_address: usize,
    /// The most connections in all at once (at least one).
    pub global: usize,
    /// The most new connections per second, if limited.
    pub rate: Option<u32>,
    /// The wait before connecting again to an address whose last probe got no greeting.
    pub backoff_base: Duration,
    /// The longest such wait.
    pub backoff_max: Duration,
}

impl Default for ProbeLimits {
    /// 100,000 results, 4 connections per address, 256 in all, no rate, back-off from 1 s to
    /// 60 s.
    fn default() -> Self {
        Self {
            cache_entries: 100_000,
            per_address: 4,
            global: 256,
            rate: None,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }
}

/// Runs the STARTTLS probes of a [`crate::Checker`]. Cheap to clone; clones share the cache.
#[derive(Clone, Debug, Default)]
pub struct Prober {
    shared: Option<Arc<Shared>>,
}

/// How many probes were asked for and how many ran.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProbeStats {
    /// Probes the audit asked for.
    pub requested: u64,
    /// Probes that connected (the rest were answered from the cache).
    pub run: u64,
}

#[derive(Debug)]
struct Shared {
    limits: ProbeLimits,
    results: Cache<(IpAddr, DomainName), Arc<ProbeReport>>,
    addresses: Cache<IpAddr, Arc<AddressState>>,
    /// The connection slots of each policy host address (HTTPS).
    policy_hosts: Cache<IpAddr, Arc<Semaphore>>,
    /// Path validation verdicts, by chain, host name and minute.
    verdicts: std::sync::Mutex<HashMap<VerdictKey, Arc<ChainVerdict>>>,
    global: Semaphore,
    /// The earliest instant of the next connection, under a rate.
    next_slot: Mutex<Instant>,
    requested: AtomicU64,
    run: AtomicU64,
}

/// What path validation says about one presented chain for one MX host name.
#[derive(Debug)]
pub(crate) struct ChainVerdict {
    /// Against the WebPKI roots (plus any extra CA files), with the name check.
    pub(crate) pkix: PkixReport,
    /// What to say when the operating system's store disagrees (PKIX-01), if it does.
    pub(crate) stores_disagree: Option<String>,
}

/// A chain (SHA-256 over its certificates), the MX host name, and the minute of judging.
type VerdictKey = ([u8; 32], DomainName, u64);

/// How many chain verdicts are kept; the memo starts again empty when full.
const VERDICT_ENTRIES: usize = 4096;

/// What is known about one address during the run.
#[derive(Debug)]
struct AddressState {
    permits: Semaphore,
    /// Consecutive probes without a greeting.
    failures: AtomicU32,
}

impl Prober {
    /// Every probe connects: the prober of a single check.
    pub fn direct() -> Self {
        Self::default()
    }

    /// A prober for a scan: each (address, SNI name) is probed once while its result is
    /// cached, within `limits`. The probe options other than SNI must be the same for every
    /// probe through it, as they are for one [`crate::Checker`].
    pub fn shared(limits: ProbeLimits) -> Self {
        // The per-address states: one per address in the cache, with the same bound. An
        // evicted state is re-created at the next use, which forgets its back-off only.
        Self {
            shared: Some(Arc::new(Shared {
                limits,
                results: Cache::new(limits.cache_entries),
                addresses: Cache::new(limits.cache_entries),
                policy_hosts: Cache::new(limits.cache_entries),
                verdicts: std::sync::Mutex::new(HashMap::new()),
                global: Semaphore::new(limits.global.max(1)),
                next_slot: Mutex::new(Instant::now()),
                requested: AtomicU64::new(0),
                run: AtomicU64::new(0),
            })),
        }
    }

    /// Probes `address` with `options` (port 25), or gives the result of the probe with the
    /// same address and SNI name made earlier in the run.
    pub async fn probe(
        &self,
        dialer: &Dialer,
        address: IpAddr,
        options: &ProbeOptions,
    ) -> Arc<ProbeReport> {
        let Some(shared) = &self.shared else {
            return Arc::new(smtp_probe::probe(dialer, address, options).await);
        };
        shared.requested.fetch_add(1, Ordering::Relaxed);
        let key = (address, options.sni.clone());
        shared
            .results
            .get_with(key, shared.run_probe(dialer, address, options))
            .await
    }

    /// Waits for a connection slot to the MTA-STS policy host at `address`: at most
    /// [`ProbeLimits::per_address`] policy fetches to one address at once, apart from the SMTP
    /// connections to it. The slot is held while the permit lives; a direct prober has no
    /// limit and gives none.
    pub async fn policy_slot(&self, address: IpAddr) -> Option<OwnedSemaphorePermit> {
        let shared = self.shared.as_ref()?;
        let per_address = shared.limits.per_address.max(1);
        let slots = shared
            .policy_hosts
            .get_with(
                address,
                async move { Arc::new(Semaphore::new(per_address)) },
            )
            .await;
        // The semaphore is never closed, so acquiring cannot fail.
        slots.acquire_owned().await.ok()
    }

    /// The verdict on `chain` for `host` at `now`: `judge`'s, made once per chain, host name
    /// and minute in a scan (a certificate's dates are then judged at most a minute apart);
    /// made every time by a direct prober.
    pub(crate) fn chain_verdict(
        &self,
        chain: &[CertificateDer<'_>],
        host: &DomainName,
        now: UnixTime,
        judge: impl FnOnce() -> ChainVerdict,
    ) -> Arc<ChainVerdict> {
        let Some(shared) = &self.shared else {
            return Arc::new(judge());
        };
        let mut digest = Sha256::new();
        for certificate in chain {
            digest.update((certificate.len() as u64).to_be_bytes());
            digest.update(certificate.as_ref());
        }
        let key: VerdictKey = (digest.finalize().into(), host.clone(), now.as_secs() / 60);
        let memo = |s: &Shared| {
            s.verdicts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&key)
                .cloned()
        };
        if let Some(known) = memo(shared) {
            return known;
        }
        let verdict = Arc::new(judge());
        let mut verdicts = shared
            .verdicts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if verdicts.len() >= VERDICT_ENTRIES {
            verdicts.clear();
        }
        verdicts.insert(key, Arc::clone(&verdict));
        verdict
    }

    /// The counts so far (zero for a direct prober).
    pub fn stats(&self) -> ProbeStats {
        self.shared
            .as_ref()
            .map(|s| ProbeStats {
                requested: s.requested.load(Ordering::Relaxed),
                run: s.run.load(Ordering::Relaxed),
            })
            .unwrap_or_default()
    }
}

impl Shared {
    async fn run_probe(
        &self,
        dialer: &Dialer,
        address: IpAddr,
        options: &ProbeOptions,
    ) -> Arc<ProbeReport> {
        let per_address = self.limits.per_address.max(1);
        let state = self
            .addresses
            .get_with(address, async move {
                Arc::new(AddressState {
                    permits: Semaphore::new(per_address),
                    failures: AtomicU32::new(0),
                })
            })
            .await;
        // Neither semaphore is ever closed, so acquiring cannot fail; a failure would only
        // lift the limit for this probe.
        let _address_permit = state.permits.acquire().await.ok();
        let failures = state.failures.load(Ordering::Relaxed);
        if failures > 0 {
            tokio::time::sleep(backoff(&self.limits, failures)).await;
        }
        let _global_permit = self.global.acquire().await.ok();
        self.wait_for_slot().await;
        self.run.fetch_add(1, Ordering::Relaxed);
        let report = smtp_probe::probe(dialer, address, options).await;
        if report.greeting.is_some() {
            state.failures.store(0, Ordering::Relaxed);
        } else {
            state.failures.fetch_add(1, Ordering::Relaxed);
        }
        Arc::new(report)
    }

    /// Waits for the next connection slot under [`ProbeLimits::rate`].
    async fn wait_for_slot(&self) {
        let Some(rate) = self.limits.rate.filter(|r| *r > 0) else {
            return;
        };
        let interval = Duration::from_secs(1) / rate;
        let slot = {
            let mut next = self.next_slot.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// The wait after `failures` consecutive failures: the base, doubled for each further one,
/// at most the maximum.
fn backoff(limits: &ProbeLimits, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    limits
        .backoff_base
        .saturating_mul(1 << doublings)
        .min(limits.backoff_max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let limits = ProbeLimits::default();
        let waits: Vec<u64> = [1, 2, 3, 7, 8, 40]
            .map(|n| backoff(&limits, n).as_secs())
            .into();
        assert_eq!(waits, [1, 2, 4, 60, 60, 60]);
    }

    #[tokio::test]
    async fn policy_fetches_to_one_address_wait_for_a_slot() {
        let prober = Prober::shared(ProbeLimits {
            per_address: 2,
            ..ProbeLimits::default()
        });
        let shared_host: IpAddr = [192, 0, 2, 1].into();
        let other_host: IpAddr = [192, 0, 2, 2].into();
        let first = prober.policy_slot(shared_host).await;
        let second = prober.policy_slot(shared_host).await;
        assert!(first.is_some() && second.is_some());
        let wait = Duration::from_millis(50);
        let third = tokio::time::timeout(wait, prober.policy_slot(shared_host)).await;
        assert!(
            third.is_err(),
            "a third fetch to the same address must wait"
        );
        let elsewhere = tokio::time::timeout(wait, prober.policy_slot(other_host)).await;
        assert!(matches!(elsewhere, Ok(Some(_))));
        drop(first);
        let freed = tokio::time::timeout(wait, prober.policy_slot(shared_host)).await;
        assert!(matches!(freed, Ok(Some(_))));
        assert!(Prober::direct().policy_slot(shared_host).await.is_none());
    }
}
