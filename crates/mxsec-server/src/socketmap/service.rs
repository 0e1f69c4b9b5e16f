//! The answers: from a socketmap request to its reply, through the zone of the map name, the
//! answer cache, one shared lookup per destination, and the policy decision.
//!
//! What is cached is the reply for each combination of zone options, rendered from what was
//! learnt about a destination (the decision's observations) when it was looked up, for
//! the shortest TTL of the DNS answers that went into it, at most the remaining lifetime of
//! the MTA-STS policy and at most `cache.max_answer_ttl`. When any lookup failed, a policy
//! fetch failed or the policy store could not be read ([`Resolution::has_failure`]), the
//! answer is kept for `cache.failure_ttl` only (at most ten seconds), so a `TEMP` never
//! lingers (PFX-04).
//! Concurrent requests for a destination that is not cached share one lookup, and a forgotten
//! destination is neither joined nor cached by a lookup that started before the forget
//! ([`Answers`]).
//!
//! Under overload (PFX-03): at most `limits.max_lookups` destinations are looked up at once,
//! over all connections; a lookup waits for its turn within `limits.query_timeout`, after
//! which its requests are answered `TEMP` and the waiting work is dropped. Cached answers never
//! wait. With `limits.max_connections` and `limits.max_pipeline`, this bounds the daemon's
//! memory and sockets whatever the load, and every request is answered before Postfix gives
//! up (100 s).

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use mxsec_net::resolver::{DestinationResolver, FetchReport, Resolution};
use mxsec_net::store::PolicyStore;
use mxsec_net::tlsrpt::recorder::Recorder;
use mxsec_proto::decision::{decide, DecisionConfig, Observations, Reason, StsState};
use mxsec_proto::name::Destination;
use mxsec_proto::postfix::netstring;
use mxsec_proto::postfix::socketmap::{SocketmapReply, SocketmapRequest};
use tokio::sync::Semaphore;

use super::activity::unix_now;
use super::answers::Answers;
use super::config::{CacheSettings, DaemonConfig, Limits, RefreshSettings, Zones};
use super::metrics::{AnswerKind, CacheEntries, Metrics};
use super::notices::{Notice, Notices, NOTICE_INTERVAL};
use super::why::{Lookups, Why, WhyError};

/// What every connection shares: the counters and the current service, which `SIGHUP`
/// replaces.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) metrics: Arc<Metrics>,
    service: RwLock<Arc<Service>>,
}

impl Shared {
    /// Shares `service`.
    pub(crate) fn new(service: Arc<Service>, metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            service: RwLock::new(service),
        }
    }

    /// The service in force.
    pub(crate) fn current(&self) -> Arc<Service> {
        self.service
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `service` in force for the requests that arrive from now on.
    pub(crate) fn replace(&self, service: Arc<Service>) {
        *self.service.write().unwrap_or_else(PoisonError::into_inner) = service;
    }
}

/// The resolver, its store and the caches: rebuilt only when the DNS, TLS or cache settings
/// change.
pub(crate) struct Engine {
    pub(crate) resolver: Arc<DestinationResolver>,
    pub(crate) store: Arc<dyn PolicyStore>,
    answers: Answers<Arc<Cached>>,
    /// Logs `TEMP` answers and refused policies, once per destination and interval.
    notices: Arc<Notices>,
    /// With `[tlsrpt]`: records each lookup's answer for the day's TLS-RPT reports.
    pub(crate) recorder: Option<Recorder>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("answers", &self.answers.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `resolver`, whose policies live in `store`, keeping the answers for
    /// at most `answer_entries` destinations (`cache.answer_entries`).
    pub(crate) fn new(
        resolver: Arc<DestinationResolver>,
        store: Arc<dyn PolicyStore>,
        answer_entries: usize,
    ) -> Self {
        Self {
            resolver,
            store,
            answers: Answers::new(answer_entries),
            notices: Arc::new(Notices::new(NOTICE_INTERVAL)),
            recorder: None,
        }
    }

    /// The answer cache's size, for the `mxsec_answer_cache_entries` gauge.
    pub(crate) fn answer_cache(&self) -> Arc<dyn CacheEntries> {
        self.answers.entries()
    }

    /// Forgets the cached answer for `destination`, so the next request looks it up again;
    /// a lookup of it already in flight is not joined, and its answer is not cached
    /// ([`Answers::forget`]).
    pub(crate) fn forget(&self, destination: &Destination) {
        self.answers.forget(destination);
    }

    /// Drops expired answers.
    pub(crate) fn purge(&self) {
        self.answers.purge(Instant::now());
    }
}

/// The reply to a destination for each combination of zone options (`strict_testing`,
/// `tlsrpt`), rendered from the decision's observations when the destination is looked up,
/// with the decision's reasons and, for a `TEMP` answer or one reached after a failure, a
/// bounded summary of the lookups behind it (for `/why`). Equal replies share one buffer, and
/// the observations are not kept: the cache holds up to `cache.answer_entries` destinations,
/// and a summary for every healthy one would multiply its memory.
struct Cached {
    /// Indexed by `2 * strict_testing + tlsrpt`.
    replies: [Rendered; 4],
    /// The lookups and the fetch behind the replies, for a `TEMP` answer or one reached after a
    /// failure.
    lookups: Option<Arc<Lookups>>,
    /// When the destination was looked up.
    at: Instant,
}

/// One reply, its kind and the decision's reasons.
#[derive(Clone)]
struct Rendered {
    bytes: Arc<[u8]>,
    kind: AnswerKind,
    reasons: Arc<[Reason]>,
}

impl Cached {
    fn new(resolution: &Resolution, at: Instant) -> Self {
        let mut replies: [Rendered; 4] =
            std::array::from_fn(|slot| render(&resolution.observations, slot_config(slot)));
        for at in 1..replies.len() {
            let (earlier, later) = replies.split_at_mut(at);
            let Some(current) = later.first_mut() else {
                continue;
            };
            if let Some(same) = earlier.iter().find(|r| r.bytes == current.bytes) {
                current.bytes = same.bytes.clone();
            }
            if let Some(same) = earlier.iter().find(|r| r.reasons == current.reasons) {
                current.reasons = same.reasons.clone();
            }
        }
        let explain =
            resolution.has_failure() || replies.iter().any(|r| r.kind == AnswerKind::Temp);
        Self {
            lookups: explain.then(|| Arc::new(Lookups::of(resolution))),
            replies,
            at,
        }
    }

    fn rendered(&self, config: DecisionConfig) -> &Rendered {
        let [plain, tlsrpt, strict, strict_tlsrpt] = &self.replies;
        match (config.strict_testing, config.tlsrpt) {
            (false, false) => plain,
            (false, true) => tlsrpt,
            (true, false) => strict,
            (true, true) => strict_tlsrpt,
        }
    }

    fn reply(&self, config: DecisionConfig) -> (Arc<[u8]>, AnswerKind) {
        let rendered = self.rendered(config);
        (rendered.bytes.clone(), rendered.kind)
    }
}

/// The zone options of reply slot `slot`.
fn slot_config(slot: usize) -> DecisionConfig {
    DecisionConfig {
        strict_testing: slot & 2 != 0,
        tlsrpt: slot & 1 != 0,
    }
}

fn render(observations: &Observations, config: DecisionConfig) -> Rendered {
    let decision = decide(observations, &config);
    let payload = decision.socketmap_payload(&config);
    Rendered {
        bytes: netstring::encode(payload.as_bytes()).into(),
        kind: AnswerKind::of(&decision.policy),
        reasons: decision.reasons.into(),
    }
}

/// Answers requests with one configuration.
#[derive(Debug)]
pub(crate) struct Service {
    pub(crate) engine: Arc<Engine>,
    pub(crate) zones: Zones,
    pub(crate) limits: Limits,
    pub(crate) cache: CacheSettings,
    pub(crate) refresh: RefreshSettings,
    metrics: Arc<Metrics>,
    /// Turns to look up a destination: `limits.max_lookups`.
    lookups: Arc<Semaphore>,
}

impl Service {
    /// A service answering from `engine` with the settings of `config`.
    pub(crate) fn new(engine: Arc<Engine>, config: &DaemonConfig, metrics: Arc<Metrics>) -> Self {
        Self {
            engine,
            zones: config.zones.clone(),
            limits: config.limits.clone(),
            cache: config.cache.clone(),
            refresh: config.refresh.clone(),
            metrics,
            lookups: Arc::new(Semaphore::new(config.limits.max_lookups)),
        }
    }

    /// The reply to `request` as a netstring, and what kind of answer it is.
    pub(crate) async fn answer(&self, request: &SocketmapRequest) -> (Arc<[u8]>, AnswerKind) {
        let config = self.zones.get(request.map());
        let destination = request.key();
        if let Some((cached, _)) = self.engine.answers.get(destination, Instant::now()) {
            self.metrics.answer_cache(true);
            return cached.reply(config);
        }
        match tokio::time::timeout(self.limits.query_timeout, self.lookup(destination)).await {
            Ok(cached) => cached.reply(config),
            Err(_) => {
                let reason = format!(
                    "lookup of {} did not finish within {} s",
                    request.raw_key(),
                    self.limits.query_timeout.as_secs()
                );
                tracing::warn!(destination = %request.raw_key(), "{reason}");
                let reply = SocketmapReply::Temp(reason);
                (reply.to_netstring().into(), AnswerKind::Temp)
            }
        }
    }

    /// The answer for `destination` (named `name`) to map `map`, with its reasons: the
    /// cached one, or else one looked up now as a request would (`/why`).
    pub(crate) async fn why(
        &self,
        destination: &Destination,
        name: &str,
        map: &str,
        now: Instant,
    ) -> Result<Why, WhyError> {
        let (cached, remaining, was_cached) = match self.engine.answers.get(destination, now) {
            Some((cached, remaining)) => (cached, Some(remaining), true),
            None => {
                let cached =
                    tokio::time::timeout(self.limits.query_timeout, self.lookup(destination))
                        .await
                        .map_err(|_| WhyError::Timeout)?;
                let remaining = self
                    .engine
                    .answers
                    .get(destination, Instant::now())
                    .map(|(_, remaining)| remaining);
                (cached, remaining, false)
            }
        };
        let rendered = cached.rendered(self.zones.get(map));
        Ok(Why {
            destination: name.to_owned(),
            map: map.to_owned(),
            kind: rendered.kind.label(),
            reply: reply_text(&rendered.bytes),
            reasons: rendered.reasons.to_vec(),
            lookups: cached.lookups.as_deref().cloned(),
            cached: was_cached,
            age_seconds: Instant::now()
                .saturating_duration_since(cached.at)
                .as_secs(),
            expires_in_seconds: remaining.map(|left| left.as_secs()),
        })
    }

    /// A lookup of `destination`, shared with every concurrent request for it; its result is
    /// cached.
    async fn lookup(&self, destination: &Destination) -> Arc<Cached> {
        self.metrics.answer_cache(false);
        let resolver = self.engine.resolver.clone();
        let metrics = self.metrics.clone();
        let (max_ttl, failure_ttl) = (self.cache.max_answer_ttl, self.cache.failure_ttl);
        let key = destination.clone();
        let lookups = self.lookups.clone();
        let recorder = self.engine.recorder.clone();
        let notices = self.engine.notices.clone();
        self.engine
            .answers
            .lookup(destination, move || async move {
                // The semaphore is never closed, so this waits for a turn.
                let _turn = lookups.acquire_owned().await.ok();
                // Boxed once the turn comes: a lookup's state is large, and thousands may wait.
                let resolution = Box::pin(resolver.resolve(&key)).await;
                count_fetch(&metrics, &resolution);
                if let Some(recorder) = &recorder {
                    recorder.record(&resolution, time::OffsetDateTime::now_utc());
                }
                let ttl = answer_ttl(&resolution, resolution.ttl, max_ttl, failure_ttl);
                let cached = Cached::new(&resolution, Instant::now());
                let replies = cached.replies.iter().map(|rendered| {
                    (
                        reply_text(&rendered.bytes),
                        rendered.kind == AnswerKind::Temp,
                        &*rendered.reasons,
                    )
                });
                if let Some(notice) = Notice::of(replies, &resolution) {
                    notices.log(&key, &resolution.destination, &notice, Instant::now());
                }
                (Arc::new(cached), ttl)
            })
            .await
    }
}

/// The payload of a netstring reply, for people.
fn reply_text(netstring: &[u8]) -> String {
    let payload = netstring
        .iter()
        .position(|b| *b == b':')
        .and_then(|colon| netstring.get(colon + 1..netstring.len().saturating_sub(1)))
        .unwrap_or_default();
    String::from_utf8_lossy(payload).into_owned()
}

/// Counts the policy fetch made for this resolution, if any.
fn count_fetch(metrics: &Metrics, resolution: &Resolution) {
    match &resolution.mta_sts.fetch {
        FetchReport::Fetched => {
            metrics.fetch("success");
            metrics
                .activity
                .policy_fetched(&resolution.destination, unix_now());
        }
        FetchReport::Failed { result_type, .. } => metrics.fetch(result_type.as_str()),
        FetchReport::NotFetched | FetchReport::RetryWait { .. } => {}
    }
}

/// How long the answer from `resolution` may be reused (see the module documentation).
fn answer_ttl(
    resolution: &Resolution,
    dns_ttl: Option<Duration>,
    max_ttl: Duration,
    failure_ttl: Duration,
) -> Duration {
    if resolution.has_failure() {
        return failure_ttl.min(max_ttl);
    }
    let mut ttl = max_ttl;
    if let Some(dns) = dns_ttl {
        ttl = ttl.min(dns);
    }
    if let StsState::Active(sts) = &resolution.observations.sts {
        ttl = ttl.min(Duration::from_secs(u64::from(sts.ttl)));
    }
    ttl
}

#[cfg(test)]
mod tests;
