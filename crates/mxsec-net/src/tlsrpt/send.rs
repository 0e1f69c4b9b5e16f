//! Sending the day's reports (RFC 8460 §4.1, §5.5): after each UTC day, at a random delay
//! after midnight (RPT-TIME-01), each report goes to its domain's `rua` URIs, and a failed
//! delivery is tried again with back-off for 24 hours (RPT-DEL-06).
//!
//! [`ReportSender::step`] does what is due at the instant it is given, so the daemon calls it
//! with the wall clock now and then, and tests with the times they choose. Each attempt is
//! claimed in the store before it starts and its outcome stored after
//! ([`mxsec_proto::tlsrpt::outbox`]): a restarted daemon takes up where it stopped, a sent
//! report is never sent again, and of several daemons sharing a Redis store one sends each
//! report.
//!
//! No report is built about the submitter's own domain or one below it ([`super::build`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use mxsec_proto::name::DomainName;
use mxsec_proto::tlsrpt::aggregate::{utc_day, Reporter};
use mxsec_proto::tlsrpt::delivery::send_time;
use mxsec_proto::tlsrpt::outbox::{DeliveryState, DeliveryStatus};
use mxsec_proto::tlsrpt::record::{ReportUri, UriScheme};
use time::{Date, OffsetDateTime};

use super::build::{address, build_day, AddressedReport, BuiltReport};
use super::deliver::{Deliverer, Outgoing};
use crate::dns::Dns;
use crate::store::{ReportStore, StoreError};

/// How many reports are delivered at once.
const PARALLEL_DELIVERIES: usize = 8;

/// How many days of records are kept: the day being reported, a day of retries, and a week
/// for `mxsec tlsrpt report --date`.
pub const KEEP_DAYS: i64 = 8;

/// How a report travels: the scheme of a `rua` URI (RFC 8460 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// `mailto:`: a mail through the relay (RPT-DEL-02..04).
    Mailto,
    /// `https:`: a POST (RPT-DEL-05).
    Https,
}

impl Transport {
    /// The scheme's name, as metrics label it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Mailto => "mailto",
            Self::Https => "https",
        }
    }

    /// The transport of a `rua` URI as the deliverer names it; `None` if it is none.
    pub fn of(uri: &str) -> Option<Self> {
        ReportUri::parse(uri).ok().map(|u| match u.scheme() {
            UriScheme::Mailto => Self::Mailto,
            UriScheme::Https => Self::Https,
        })
    }
}

/// One `rua` URI that did not take a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UriFailure {
    /// The URI.
    pub uri: String,
    /// Its transport.
    pub transport: Option<Transport>,
    /// Why it failed.
    pub error: String,
}

/// What one attempt to deliver a report came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A URI took the report.
    Sent {
        /// The URI.
        uri: String,
        /// Its transport.
        transport: Transport,
        /// For mail, the relay's reply to the message.
        relay_reply: Option<String>,
    },
    /// Every URI failed; the report is tried again at `at`.
    Retry {
        /// When.
        at: OffsetDateTime,
        /// Each URI's failure.
        failures: Vec<UriFailure>,
    },
    /// Every URI failed and the 24 hours are over: the report is given up (RPT-DEL-06).
    GaveUp {
        /// Each URI's failure.
        failures: Vec<UriFailure>,
    },
    /// Another reporter sharing the store claimed this attempt first.
    ClaimedElsewhere,
}

/// One attempt, for one report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The day the report covers.
    pub day: Date,
    /// The policy domain it is about.
    pub policy_domain: DomainName,
    /// What came of it.
    pub outcome: Outcome,
}

/// What a step did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Reports built (once per day and process).
    pub built: u64,
    /// The attempts made.
    pub attempts: Vec<Attempt>,
    /// Reports of the days looked at that still wait for delivery.
    pub pending: u64,
    /// Policy domains whose reports have no `rua` to go to (no TLS-RPT record, or its lookup
    /// failed; a failed lookup is tried again at the next step).
    pub unaddressed: Vec<DomainName>,
}

impl Progress {
    fn merge(&mut self, other: Self) {
        self.built += other.built;
        self.attempts.extend(other.attempts);
        self.pending += other.pending;
        self.unaddressed.extend(other.unaddressed);
    }
}

/// A day's reports, once built.
#[derive(Debug)]
struct DayPlan {
    addressed: Vec<AddressedReport>,
    /// Reports whose `_smtp._tls` lookup failed, looked up again at each step.
    unaddressed: Vec<BuiltReport>,
}

/// Sends the reports of each day when they are due; see the module documentation.
pub struct ReportSender {
    store: Arc<dyn ReportStore>,
    dns: Arc<Dns>,
    deliverer: Deliverer,
    reporter: Reporter,
    max_delay: Duration,
    jitter: f64,
    plans: BTreeMap<Date, DayPlan>,
    forgotten_on: Option<Date>,
}

impl std::fmt::Debug for ReportSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportSender")
            .field("submitter", &self.reporter.submitter)
            .field("max_delay", &self.max_delay)
            .field("jitter", &self.jitter)
            .field("days", &self.plans.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ReportSender {
    /// A sender of the reports of `reporter` recorded in `store`, each looked up in `dns` and
    /// delivered by `deliverer`, sent `jitter` (in `[0, 1)`, drawn at random by the caller)
    /// of `max_delay` after midnight UTC (RPT-TIME-01).
    pub fn new(
        store: Arc<dyn ReportStore>,
        dns: Arc<Dns>,
        deliverer: Deliverer,
        reporter: Reporter,
        max_delay: Duration,
        jitter: f64,
    ) -> Self {
        Self {
            store,
            dns,
            deliverer,
            reporter,
            max_delay,
            jitter,
            plans: BTreeMap::new(),
            forgotten_on: None,
        }
    }

    /// When the reports of `day` are first sent (RPT-TIME-01).
    pub fn send_time(&self, day: Date) -> OffsetDateTime {
        send_time(day, self.jitter, self.max_delay)
    }

    /// Does what is due at `now`: the reports of the last two days whose send time has
    /// passed or whose delivery has begun, first attempts and retries (the retries of a day
    /// end within a day of its first attempt); once a day, forgets the records older than
    /// [`KEEP_DAYS`].
    ///
    /// # Errors
    ///
    /// Fails if the store cannot be read or written; the next step tries again.
    pub async fn step(&mut self, now: OffsetDateTime) -> Result<Progress, StoreError> {
        let today = utc_day(now);
        let days: Vec<Date> = [
            today.previous_day(),
            today.previous_day().and_then(Date::previous_day),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.plans.retain(|day, _| days.contains(day));
        if self.forgotten_on != Some(today) {
            if let Some(oldest) = today.checked_sub(time::Duration::days(KEEP_DAYS)) {
                self.store.forget_days_before(oldest).await?;
            }
            self.forgotten_on = Some(today);
        }
        let mut progress = Progress::default();
        for day in days.into_iter().rev() {
            // A day already begun (by this sender, or before a restart, whose random delay
            // was another) goes on at once.
            let begun = self.plans.contains_key(&day)
                || (now < self.send_time(day) && !self.store.deliveries(day).await?.is_empty());
            if begun || now >= self.send_time(day) {
                progress.merge(self.send_day(day, now).await?);
            }
        }
        Ok(progress)
    }

    /// Builds the reports of `day` (once) and delivers those due at `now`, whatever their
    /// send time: the daemon's step, and `mxsec tlsrpt report --date`.
    ///
    /// # Errors
    ///
    /// Fails if the store cannot be read or written.
    pub async fn send_day(
        &mut self,
        day: Date,
        now: OffsetDateTime,
    ) -> Result<Progress, StoreError> {
        let mut progress = Progress::default();
        if !self.plans.contains_key(&day) {
            let built = build_day(self.store.as_ref(), day, &self.reporter).await?;
            progress.built = built.len() as u64;
            tracing::info!(%day, reports = built.len(), "built the day's TLS reports");
            self.plans.insert(
                day,
                DayPlan {
                    addressed: Vec::new(),
                    unaddressed: built,
                },
            );
        }
        let Some(plan) = self.plans.get_mut(&day) else {
            return Ok(progress);
        };
        if !plan.unaddressed.is_empty() {
            let lookup = address(&self.dns, std::mem::take(&mut plan.unaddressed)).await;
            plan.addressed.extend(lookup.addressed);
            plan.unaddressed = lookup.failed;
            progress.unaddressed.extend(lookup.without_record);
        }
        progress
            .unaddressed
            .extend(plan.unaddressed.iter().map(|r| r.policy_domain.clone()));

        let stored: BTreeMap<DomainName, DeliveryState> =
            self.store.deliveries(day).await?.into_iter().collect();
        let store = self.store.as_ref();
        let deliverer = &self.deliverer;
        // The futures are made in a loop, not by closures in the stream: a stream of closures
        // over borrowed data is not `Send` for the compiler's higher-ranked lifetime checks.
        let mut due = Vec::new();
        for report in &plan.addressed {
            let state = stored.get(&report.built.policy_domain);
            if let Some(claim) = DeliveryState::begin(state, now) {
                due.push(attempt(store, deliverer, day, report, state, claim, now));
            }
        }
        let results: Vec<Result<(DomainName, Attempt, DeliveryState), StoreError>> =
            stream::iter(due)
                .buffer_unordered(PARALLEL_DELIVERIES)
                .collect()
                .await;
        let mut after = stored.clone();
        for result in results {
            let (domain, attempt, state) = result?;
            after.insert(domain, state);
            progress.attempts.push(attempt);
        }
        progress
            .attempts
            .sort_by(|a, b| a.policy_domain.cmp(&b.policy_domain));
        progress.pending = plan
            .addressed
            .iter()
            .filter(|r| DeliveryState::waiting(after.get(&r.built.policy_domain)))
            .count() as u64;
        Ok(progress)
    }
}

/// Stores `claim` if the state is still `state`, delivers `report` and stores the outcome;
/// returns the attempt and the state it leaves.
async fn attempt(
    store: &dyn ReportStore,
    deliverer: &Deliverer,
    day: Date,
    report: &AddressedReport,
    state: Option<&DeliveryState>,
    claim: DeliveryState,
    now: OffsetDateTime,
) -> Result<(DomainName, Attempt, DeliveryState), StoreError> {
    let domain = report.built.policy_domain.clone();
    let done = |outcome, state| {
        (
            domain.clone(),
            Attempt {
                day,
                policy_domain: domain.clone(),
                outcome,
            },
            state,
        )
    };
    if !store.swap_delivery(day, &domain, state, &claim).await? {
        return Ok(done(Outcome::ClaimedElsewhere, claim));
    }
    let outgoing = Outgoing {
        policy_domain: &domain,
        rua: &report.rua,
        report: &report.built.report,
        file_name: &report.built.file_name,
    };
    let (outcome, next) = match deliverer.deliver(&outgoing, now).await {
        Ok(delivered) => {
            tracing::info!(%domain, %day, uri = %delivered.uri, "TLS report delivered");
            let transport = Transport::of(&delivered.uri).unwrap_or(Transport::Mailto);
            let next = claim
                .clone()
                .sent(delivered.uri.clone(), delivered.relay_reply.clone());
            (
                Outcome::Sent {
                    uri: delivered.uri,
                    transport,
                    relay_reply: delivered.relay_reply,
                },
                next,
            )
        }
        Err(errors) => {
            let failures: Vec<UriFailure> = errors
                .into_iter()
                .map(|(uri, error)| UriFailure {
                    transport: Transport::of(&uri),
                    uri,
                    error: error.to_string(),
                })
                .collect();
            let text = failures
                .iter()
                .map(|f| format!("{}: {}", f.uri, f.error))
                .collect::<Vec<_>>()
                .join("; ");
            let next = claim.clone().failed(&text);
            let outcome = match next
                .next_attempt
                .and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok())
                .filter(|_| next.status == DeliveryStatus::Pending)
            {
                Some(at) => {
                    tracing::warn!(%domain, %day, error = %text, retry_at = %at, "TLS report not delivered, will retry");
                    Outcome::Retry { at, failures }
                }
                None => {
                    tracing::warn!(%domain, %day, error = %text, "TLS report not delivered within 24 hours: given up");
                    Outcome::GaveUp { failures }
                }
            };
            (outcome, next)
        }
    };
    if !store
        .swap_delivery(day, &domain, Some(&claim), &next)
        .await?
    {
        tracing::warn!(%domain, %day, "the TLS report's delivery state changed while it was sent");
    }
    Ok(done(outcome, next))
}
