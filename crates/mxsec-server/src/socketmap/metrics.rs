//! Counters of the daemon, and `/metrics` in the Prometheus text format (version 0.0.4) on a
//! loopback port of its own.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `mxsec_queries_total` | counter | `answer`: `dane-only`, `dane`, `encrypt`, `secure`, `notfound`, `temp` |
//! | `mxsec_query_duration_seconds` | histogram | |
//! | `mxsec_malformed_requests_total` | counter | |
//! | `mxsec_answer_cache_total` | counter | `outcome`: `hit`, `miss` |
//! | `mxsec_dns_cache_total` | counter | `outcome`: `hit`, `miss` |
//! | `mxsec_answer_cache_entries` | gauge | |
//! | `mxsec_dns_cache_entries` | gauge | |
//! | `mxsec_dnssec_validation_cache_capacity` | gauge | |
//! | `mxsec_dnssec_chain_cache_entries` | gauge | |
//! | `mxsec_sts_fetches_total` | counter | `result`: `success` or the RFC 8460 result type |
//! | `mxsec_refreshes_total` | counter | `outcome`: `refreshed`, `unchanged`, `failed` |
//! | `mxsec_policies_cached` | gauge | |
//! | `mxsec_connections_open` | gauge | |
//! | `mxsec_connections_total` | counter | |
//! | `mxsec_tlsrpt_log_lines_total` | counter | `kind`: `read`, `too-long` |
//! | `mxsec_tlsrpt_sessions_total` | counter | |
//! | `mxsec_tlsrpt_datagrams_total` | counter | `outcome`: `accepted`, `rejected` |
//! | `mxsec_tlsrpt_reports_built_total` | counter | |
//! | `mxsec_tlsrpt_reports_sent_total` | counter | `transport`: `mailto`, `https` |
//! | `mxsec_tlsrpt_reports_failed_total` | counter | `transport`: `mailto`, `https` (one per URI and attempt) |
//! | `mxsec_tlsrpt_reports_given_up_total` | counter | |
//! | `mxsec_tlsrpt_reports_pending` | gauge | |

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mxsec_net::dns::{CachingBackend, DnsBackend};
use mxsec_net::tlsrpt::send::{Outcome, Progress, Transport};
use mxsec_proto::decision::TlsPolicy;

use super::activity::Activity;

/// The answer types counted in `mxsec_queries_total`, in output order.
const ANSWERS: [&str; 6] = ["dane-only", "dane", "encrypt", "secure", "notfound", "temp"];

/// The upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    10.0, 30.0,
];

/// The most `/metrics` connections served at once.
pub(crate) const MAX_SCRAPERS: usize = 16;

/// A cache whose number of entries is reported as a gauge.
pub(crate) trait CacheEntries: Send + Sync + std::fmt::Debug {
    /// The number of entries held now.
    fn entries(&self) -> usize;
}

impl CacheEntries for CachingBackend {
    fn entries(&self) -> usize {
        self.len()
    }
}

/// The counters, shared by every connection.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    queries: [AtomicU64; ANSWERS.len()],
    malformed: AtomicU64,
    answer_hits: AtomicU64,
    answer_misses: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_nanos: AtomicU64,
    fetches: Mutex<BTreeMap<&'static str, u64>>,
    refreshed: AtomicU64,
    unchanged: AtomicU64,
    refresh_failed: AtomicU64,
    policies_cached: AtomicU64,
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    dns_cache: Mutex<Option<Arc<CachingBackend>>>,
    answer_cache: Mutex<Option<Arc<dyn CacheEntries>>>,
    validation_capacity: AtomicU64,
    log_lines: AtomicU64,
    log_too_long: AtomicU64,
    log_sessions: AtomicU64,
    datagrams_accepted: AtomicU64,
    datagrams_rejected: AtomicU64,
    reports_built: AtomicU64,
    /// By transport: `mailto`, `https`.
    reports_sent: [AtomicU64; 2],
    reports_failed: [AtomicU64; 2],
    reports_given_up: AtomicU64,
    reports_pending: AtomicU64,
    /// The refresh rounds and the policy hosts seen, for `/status` (not a Prometheus metric).
    pub(crate) activity: Activity,
}

/// The transports in output order, and their index in the report counters.
const TRANSPORTS: [Transport; 2] = [Transport::Mailto, Transport::Https];

fn transport_index(transport: Transport) -> usize {
    match transport {
        Transport::Mailto => 0,
        Transport::Https => 1,
    }
}

/// The kind of a socketmap answer, the label of `mxsec_queries_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AnswerKind {
    /// `OK dane-only`.
    DaneOnly,
    /// `OK dane`.
    Dane,
    /// `OK encrypt`.
    Encrypt,
    /// `OK secure ...`.
    Secure,
    /// `NOTFOUND `.
    NotFound,
    /// `TEMP <reason>`.
    Temp,
}

impl AnswerKind {
    /// The label of this kind in `mxsec_queries_total` and in `/why`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::DaneOnly => "dane-only",
            Self::Dane => "dane",
            Self::Encrypt => "encrypt",
            Self::Secure => "secure",
            Self::NotFound => "notfound",
            Self::Temp => "temp",
        }
    }

    /// The kind of answer a policy gives.
    pub(crate) fn of(policy: &TlsPolicy) -> Self {
        match policy {
            TlsPolicy::DaneOnly => Self::DaneOnly,
            TlsPolicy::Dane => Self::Dane,
            TlsPolicy::Encrypt => Self::Encrypt,
            TlsPolicy::Secure(_) => Self::Secure,
            TlsPolicy::NoPolicy => Self::NotFound,
            TlsPolicy::TempFail(_) => Self::Temp,
        }
    }
}

/// Which counter of `mxsec_refreshes_total` to increase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefreshOutcome {
    /// A newer policy replaced the cached one.
    Refreshed,
    /// The cached policy is still current.
    Unchanged,
    /// The refresh failed; the cached policy stays until it expires (STS-FETCH-07).
    Failed,
}

impl Metrics {
    /// Counts one answer, and how long it took.
    pub(crate) fn answered(&self, kind: AnswerKind, took: Duration) {
        self.queries[kind as usize].fetch_add(1, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        if let Some(bucket) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.latency_sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Counts a request that was not `<map> <key>` in a netstring.
    pub(crate) fn malformed(&self) {
        self.malformed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a lookup in the answer cache.
    pub(crate) fn answer_cache(&self, hit: bool) {
        let counter = if hit {
            &self.answer_hits
        } else {
            &self.answer_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an MTA-STS policy fetch: `success`, or the RFC 8460 result type of the failure.
    pub(crate) fn fetch(&self, result: &'static str) {
        let mut fetches = self.fetches.lock().unwrap_or_else(PoisonError::into_inner);
        *fetches.entry(result).or_default() += 1;
    }

    /// Counts a proactive refresh.
    pub(crate) fn refresh(&self, outcome: RefreshOutcome) {
        let counter = match outcome {
            RefreshOutcome::Refreshed => &self.refreshed,
            RefreshOutcome::Unchanged => &self.unchanged,
            RefreshOutcome::Failed => &self.refresh_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts what a step of the log follower read (TLS-RPT).
    pub(crate) fn log_read(&self, lines: u64, too_long: u64, sessions: u64) {
        self.log_lines.fetch_add(lines, Ordering::Relaxed);
        self.log_too_long.fetch_add(too_long, Ordering::Relaxed);
        self.log_sessions.fetch_add(sessions, Ordering::Relaxed);
    }

    /// Counts libtlsrpt datagrams received (TLS-RPT).
    pub(crate) fn datagrams(&self, accepted: u64, rejected: u64) {
        self.datagrams_accepted
            .fetch_add(accepted, Ordering::Relaxed);
        self.datagrams_rejected
            .fetch_add(rejected, Ordering::Relaxed);
    }

    /// Counts what a step of the report sender did, and sets the pending gauge (TLS-RPT).
    pub(crate) fn reports(&self, progress: &Progress) {
        self.reports_built
            .fetch_add(progress.built, Ordering::Relaxed);
        self.reports_pending
            .store(progress.pending, Ordering::Relaxed);
        for attempt in &progress.attempts {
            let failures = match &attempt.outcome {
                Outcome::Sent { transport, .. } => {
                    self.reports_sent[transport_index(*transport)].fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Outcome::Retry { failures, .. } => failures,
                Outcome::GaveUp { failures } => {
                    self.reports_given_up.fetch_add(1, Ordering::Relaxed);
                    failures
                }
                Outcome::ClaimedElsewhere => continue,
            };
            for transport in failures.iter().filter_map(|f| f.transport) {
                self.reports_failed[transport_index(transport)].fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Sets the number of policies in the store.
    pub(crate) fn policies_cached(&self, count: u64) {
        self.policies_cached.store(count, Ordering::Relaxed);
    }

    /// Counts a connection opened; [`Self::connection_closed`] when it closes.
    pub(crate) fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        self.connections_total.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection closed.
    pub(crate) fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    /// Takes the DNS cache's counts from `source` from now on.
    pub(crate) fn set_dns_cache(&self, source: Arc<CachingBackend>) {
        *self
            .dns_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(source);
    }

    /// The most DNSSEC proofs the in-process validator keeps (0 with `trust-ad`): hickory
    /// reports no length for its validation cache, only this bound holds it.
    pub(crate) fn set_validation_capacity(&self, entries: usize) {
        self.validation_capacity.store(
            u64::try_from(entries).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Takes the answer cache's size from `source` from now on.
    pub(crate) fn set_answer_cache(&self, source: Arc<dyn CacheEntries>) {
        *self
            .answer_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(source);
    }

    /// The metrics in the Prometheus text format.
    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);

        header(
            &mut out,
            "mxsec_queries_total",
            "counter",
            "Socketmap queries answered, by answer type.",
        );
        for (label, counter) in ANSWERS.iter().zip(&self.queries) {
            let _ = writeln!(
                out,
                "mxsec_queries_total{{answer=\"{label}\"}} {}",
                get(counter)
            );
        }

        header(
            &mut out,
            "mxsec_query_duration_seconds",
            "histogram",
            "Time from a request's arrival to its answer.",
        );
        let mut cumulative = 0;
        for (bound, counter) in BUCKETS.iter().zip(&self.latency_buckets) {
            cumulative += get(counter);
            let _ = writeln!(
                out,
                "mxsec_query_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = get(&self.latency_count);
        let _ = writeln!(
            out,
            "mxsec_query_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = get(&self.latency_sum_nanos) as f64 / 1e9;
        let _ = writeln!(out, "mxsec_query_duration_seconds_sum {sum}");
        let _ = writeln!(out, "mxsec_query_duration_seconds_count {count}");

        header(
            &mut out,
            "mxsec_malformed_requests_total",
            "counter",
            "Requests that were not a netstring '<map> <key>'; each closed its connection.",
        );
        let _ = writeln!(
            out,
            "mxsec_malformed_requests_total {}",
            get(&self.malformed)
        );

        header(
            &mut out,
            "mxsec_answer_cache_total",
            "counter",
            "Lookups in the answer cache.",
        );
        let _ = writeln!(
            out,
            "mxsec_answer_cache_total{{outcome=\"hit\"}} {}",
            get(&self.answer_hits)
        );
        let _ = writeln!(
            out,
            "mxsec_answer_cache_total{{outcome=\"miss\"}} {}",
            get(&self.answer_misses)
        );

        let dns = self
            .dns_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let (hits, misses, dns_entries, chain_entries) = dns.map_or((0, 0, 0, 0), |source| {
            (
                source.hits(),
                source.misses(),
                source.entries(),
                source.chain_entries(),
            )
        });
        let answer_entries = self
            .answer_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or(0, |source| source.entries());
        header(
            &mut out,
            "mxsec_dns_cache_total",
            "counter",
            "DNS lookups, answered from the cache or not.",
        );
        let _ = writeln!(out, "mxsec_dns_cache_total{{outcome=\"hit\"}} {hits}");
        let _ = writeln!(out, "mxsec_dns_cache_total{{outcome=\"miss\"}} {misses}");

        header(
            &mut out,
            "mxsec_answer_cache_entries",
            "gauge",
            "Destinations whose answers are cached (at most cache.answer_entries).",
        );
        let _ = writeln!(out, "mxsec_answer_cache_entries {answer_entries}");
        header(
            &mut out,
            "mxsec_dns_cache_entries",
            "gauge",
            "DNS RRsets and denials cached (at most cache.dns_entries).",
        );
        let _ = writeln!(out, "mxsec_dns_cache_entries {dns_entries}");
        header(
            &mut out,
            "mxsec_dnssec_validation_cache_capacity",
            "gauge",
            "DNSSEC proofs of RRsets the validator keeps at most (cache.validation_entries; 0 with trust-ad).",
        );
        let _ = writeln!(
            out,
            "mxsec_dnssec_validation_cache_capacity {}",
            get(&self.validation_capacity)
        );
        header(
            &mut out,
            "mxsec_dnssec_chain_cache_entries",
            "gauge",
            "DNSKEY, DS and NS responses the validator's chain layer keeps (at most cache.validation_entries / 8; 0 with trust-ad).",
        );
        let _ = writeln!(out, "mxsec_dnssec_chain_cache_entries {chain_entries}");

        header(
            &mut out,
            "mxsec_sts_fetches_total",
            "counter",
            "MTA-STS policy fetches, by outcome: success or the RFC 8460 result type.",
        );
        let fetches = self
            .fetches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for result in [
            "success",
            "sts-policy-fetch-error",
            "sts-policy-invalid",
            "sts-webpki-invalid",
        ] {
            let n = fetches.get(result).copied().unwrap_or(0);
            let _ = writeln!(out, "mxsec_sts_fetches_total{{result=\"{result}\"}} {n}");
        }
        for (result, n) in &fetches {
            if ![
                "success",
                "sts-policy-fetch-error",
                "sts-policy-invalid",
                "sts-webpki-invalid",
            ]
            .contains(result)
            {
                let _ = writeln!(out, "mxsec_sts_fetches_total{{result=\"{result}\"}} {n}");
            }
        }

        header(
            &mut out,
            "mxsec_refreshes_total",
            "counter",
            "Proactive refreshes of cached MTA-STS policies (STS-FETCH-08).",
        );
        let _ = writeln!(
            out,
            "mxsec_refreshes_total{{outcome=\"refreshed\"}} {}",
            get(&self.refreshed)
        );
        let _ = writeln!(
            out,
            "mxsec_refreshes_total{{outcome=\"unchanged\"}} {}",
            get(&self.unchanged)
        );
        let _ = writeln!(
            out,
            "mxsec_refreshes_total{{outcome=\"failed\"}} {}",
            get(&self.refresh_failed)
        );

        header(
            &mut out,
            "mxsec_policies_cached",
            "gauge",
            "MTA-STS policies in the store.",
        );
        let _ = writeln!(out, "mxsec_policies_cached {}", get(&self.policies_cached));
        header(
            &mut out,
            "mxsec_connections_open",
            "gauge",
            "Socketmap connections open.",
        );
        let _ = writeln!(
            out,
            "mxsec_connections_open {}",
            get(&self.connections_open)
        );
        header(
            &mut out,
            "mxsec_connections_total",
            "counter",
            "Socketmap connections accepted.",
        );
        let _ = writeln!(
            out,
            "mxsec_connections_total {}",
            get(&self.connections_total)
        );
        header(
            &mut out,
            "mxsec_tlsrpt_log_lines_total",
            "counter",
            "Lines of Postfix's log read for TLS reports; too-long ones are skipped.",
        );
        for (kind, counter) in [("read", &self.log_lines), ("too-long", &self.log_too_long)] {
            let _ = writeln!(
                out,
                "mxsec_tlsrpt_log_lines_total{{kind=\"{kind}\"}} {}",
                get(counter)
            );
        }
        header(
            &mut out,
            "mxsec_tlsrpt_sessions_total",
            "counter",
            "Postfix TLS sessions counted from its log for TLS reports (RFC 8460).",
        );
        let _ = writeln!(
            out,
            "mxsec_tlsrpt_sessions_total {}",
            get(&self.log_sessions)
        );
        header(
            &mut out,
            "mxsec_tlsrpt_datagrams_total",
            "counter",
            "libtlsrpt datagrams received, by outcome.",
        );
        for (outcome, counter) in [
            ("accepted", &self.datagrams_accepted),
            ("rejected", &self.datagrams_rejected),
        ] {
            let _ = writeln!(
                out,
                "mxsec_tlsrpt_datagrams_total{{outcome=\"{outcome}\"}} {}",
                get(counter)
            );
        }
        self.render_reports(&mut out);
        out
    }

    /// The report sender's metrics.
    fn render_reports(&self, out: &mut String) {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        header(
            out,
            "mxsec_tlsrpt_reports_built_total",
            "counter",
            "TLS reports built (RFC 8460), once per day and start.",
        );
        let _ = writeln!(
            out,
            "mxsec_tlsrpt_reports_built_total {}",
            get(&self.reports_built)
        );
        for (name, help, counters) in [
            (
                "mxsec_tlsrpt_reports_sent_total",
                "TLS reports delivered, by the transport of the rua URI that took them.",
                &self.reports_sent,
            ),
            (
                "mxsec_tlsrpt_reports_failed_total",
                "Failed TLS report deliveries, one per rua URI and attempt, by transport.",
                &self.reports_failed,
            ),
        ] {
            header(out, name, "counter", help);
            for transport in TRANSPORTS {
                let _ = writeln!(
                    out,
                    "{name}{{transport=\"{}\"}} {}",
                    transport.label(),
                    get(&counters[transport_index(transport)])
                );
            }
        }
        header(
            out,
            "mxsec_tlsrpt_reports_given_up_total",
            "counter",
            "TLS reports given up after 24 hours of failed deliveries.",
        );
        let _ = writeln!(
            out,
            "mxsec_tlsrpt_reports_given_up_total {}",
            get(&self.reports_given_up)
        );
        header(
            out,
            "mxsec_tlsrpt_reports_pending",
            "gauge",
            "TLS reports waiting for their first delivery or a retry.",
        );
        let _ = writeln!(
            out,
            "mxsec_tlsrpt_reports_pending {}",
            get(&self.reports_pending)
        );
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fixed(usize);

    impl CacheEntries for Fixed {
        fn entries(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn rpt_del_06_report_sender_steps_are_counted_by_transport() {
        use mxsec_net::tlsrpt::send::{Attempt, UriFailure};
        let failure = |uri: &str, transport| UriFailure {
            uri: uri.to_owned(),
            transport: Some(transport),
            error: "refused".to_owned(),
        };
        let attempt = |domain: &str, outcome| Attempt {
            day: time::macros::date!(2026 - 12 - 05),
            policy_domain: domain.parse().expect("name"),
            outcome,
        };
        let metrics = Metrics::default();
        metrics.reports(&Progress {
            built: 4,
            attempts: vec![
                attempt(
                    "a.example",
                    Outcome::Sent {
                        uri: "mailto:r@a.example".into(),
                        transport: Transport::Mailto,
                        relay_reply: None,
                    },
                ),
                attempt(
                    "b.example",
                    Outcome::Retry {
                        at: time::macros::datetime!(2026-12-06 02:05 UTC),
                        failures: vec![
                            failure("https://r.b.example/", Transport::Https),
                            failure("mailto:r@b.example", Transport::Mailto),
                        ],
                    },
                ),
                attempt(
                    "c.example",
                    Outcome::GaveUp {
                        failures: vec![failure("https://r.c.example/", Transport::Https)],
                    },
                ),
                attempt("d.example", Outcome::ClaimedElsewhere),
            ],
            pending: 2,
            unaddressed: Vec::new(),
        });
        metrics.reports(&Progress {
            pending: 1,
            ..Progress::default()
        });
        let text = metrics.render();
        for line in [
            "mxsec_tlsrpt_reports_built_total 4",
            "mxsec_tlsrpt_reports_sent_total{transport=\"mailto\"} 1",
            "mxsec_tlsrpt_reports_sent_total{transport=\"https\"} 0",
            "mxsec_tlsrpt_reports_failed_total{transport=\"mailto\"} 1",
            "mxsec_tlsrpt_reports_failed_total{transport=\"https\"} 2",
            "mxsec_tlsrpt_reports_given_up_total 1",
            "# TYPE mxsec_tlsrpt_reports_pending gauge",
            "mxsec_tlsrpt_reports_pending 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn renders_counters_and_histogram() {
        let metrics = Metrics::default();
        metrics.answered(AnswerKind::DaneOnly, Duration::from_micros(50));
        metrics.answered(
            AnswerKind::of(&TlsPolicy::NoPolicy),
            Duration::from_millis(2),
        );
        metrics.answered(AnswerKind::Temp, Duration::from_secs(60));
        metrics.fetch("success");
        metrics.fetch("sts-webpki-invalid");
        metrics.answer_cache(true);
        metrics.refresh(RefreshOutcome::Failed);
        metrics.set_answer_cache(Arc::new(Fixed(42)));
        metrics.set_validation_capacity(16_384);
        let text = metrics.render();
        for line in [
            "mxsec_queries_total{answer=\"dane-only\"} 1",
            "mxsec_queries_total{answer=\"notfound\"} 1",
            "mxsec_queries_total{answer=\"temp\"} 1",
            "mxsec_query_duration_seconds_bucket{le=\"0.0001\"} 1",
            "mxsec_query_duration_seconds_bucket{le=\"0.0025\"} 2",
            "mxsec_query_duration_seconds_bucket{le=\"30\"} 2",
            "mxsec_query_duration_seconds_bucket{le=\"+Inf\"} 3",
            "mxsec_query_duration_seconds_count 3",
            "mxsec_sts_fetches_total{result=\"success\"} 1",
            "mxsec_sts_fetches_total{result=\"sts-webpki-invalid\"} 1",
            "mxsec_sts_fetches_total{result=\"sts-policy-invalid\"} 0",
            "mxsec_answer_cache_total{outcome=\"hit\"} 1",
            "mxsec_refreshes_total{outcome=\"failed\"} 1",
            "mxsec_answer_cache_entries 42",
            "mxsec_dns_cache_entries 0",
            "mxsec_dnssec_validation_cache_capacity 16384",
            "mxsec_dnssec_chain_cache_entries 0",
            "# TYPE mxsec_dnssec_chain_cache_entries gauge",
            "# TYPE mxsec_dnssec_validation_cache_capacity gauge",
            "# TYPE mxsec_answer_cache_entries gauge",
            "# TYPE mxsec_dns_cache_entries gauge",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
