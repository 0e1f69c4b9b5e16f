//! The destination resolver: from a next-hop destination to the observations that the policy
//! decision ([`mxsec_proto::decision::decide`]) takes, and the decision itself.
//!
//! For a domain it runs, at once, the MX branch (MX lookup, then for every MX host in
//! parallel its A, AAAA and TLSA lookups, the TLSA records counting only when the addresses
//! are DNSSEC-secure, while the exchanges are checked for CNAMEs) and the
//! MTA-STS branch (the `_mta-sts` TXT lookup, the cache's plan, and a policy fetch when the
//! plan asks for one). Every DNS failure is kept as a failure, never turned into "nothing
//! there": the decision turns it into `TEMP` where it could downgrade (PFX-04). The MX
//! branch's answers become the decision's input in [`crate::observation`], as the checker's
//! do. The [`Resolution`] carries the lowest TTL of the DNS answers it was built from.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::stream::{self, StreamExt};
use mxsec_proto::decision::{
    decide, ActiveSts, AddressState, Decision, DecisionConfig, MxState, Observations, StsSource,
    StsState, TlsaState,
};
use mxsec_proto::dnssec::Security;
use mxsec_proto::mta_sts::cache::{
    Action, CacheEntry, CachedPolicy, FetchFailure, FetchRecord, NoPolicyReason, TxtLookup,
};
use mxsec_proto::mta_sts::policy::policy_host;
use mxsec_proto::mta_sts::record::{txt_owner, PolicyId, StsRecord};
use mxsec_proto::name::{Destination, DomainName};
use mxsec_proto::tlsrpt::ResultType;
use serde::Serialize;

use crate::dns::{Addresses, Answer, Dns, LowestTtl, MxSet};
use crate::observation::{self, HostLookups, MailHost, TlsaResult};
use crate::store::{Change, PolicyStore, StoreError};
use crate::sts_fetch::PolicyFetcher;

/// The longest time, in seconds, that a Postfix client may cache an MTA-STS answer
/// (`policy_ttl`): an hour, so that MX and policy changes are seen soon.
pub const MAX_ANSWER_TTL: u64 = 3600;

/// The most MX hosts whose address and TLSA lookups run at once for one destination (four
/// queries each: A, AAAA, the CNAME and TLSA of the TLSA lookup). A hostile MX RRset of
/// hundreds of hosts then costs time, bounded by the caller's deadline, rather than hundreds
/// of concurrent lookups and their memory.
pub const MAX_PARALLEL_HOSTS: usize = 16;

/// Resolves destinations to TLS policies: DNS, MTA-STS discovery, fetch and cache.
pub struct DestinationResolver {
    dns: Arc<Dns>,
    fetcher: Arc<PolicyFetcher>,
    store: Option<Arc<dyn PolicyStore>>,
    clock: fn() -> u64,
}

impl std::fmt::Debug for DestinationResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DestinationResolver")
            .field("dns", &self.dns)
            .field("store", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

/// What was learnt about a destination, with the details a person or a JSON consumer wants,
/// and the observations the decision takes.
#[derive(Clone, Debug, Serialize)]
pub struct Resolution {
    /// The destination as normalised.
    pub destination: String,
    /// The MX lookup.
    pub mx: MxReport,
    /// One entry per MX host, in MX order.
    pub hosts: Vec<HostReport>,
    /// The MTA-STS discovery, cache and fetch.
    pub mta_sts: StsReport,
    /// The input of the decision.
    #[serde(skip)]
    pub observations: Observations,
    /// The lowest TTL of the DNS answers the observations were built from (for answers served
    /// from a cache, the time they have left in it): how long a decision made from them may be
    /// reused. `None` when no answer was used (`[host]`, address literals, lookups that all
    /// failed).
    #[serde(skip)]
    pub ttl: Option<Duration>,
}

/// The MX lookup, for reports.
#[derive(Clone, Debug, Serialize)]
pub struct MxReport {
    /// What the MX lookup gave.
    pub outcome: MxOutcome,
    /// DNSSEC status of the MX RRset (or of its denial).
    pub dnssec: Option<Security>,
    /// The failure, when the lookup failed.
    pub error: Option<String>,
}

/// One MX host, for reports.
#[derive(Clone, Debug, Serialize)]
pub struct HostReport {
    /// The host name.
    pub name: DomainName,
    /// The MX preference (`None` for an implicit MX).
    pub preference: Option<u16>,
    /// The IPv4 and IPv6 addresses found.
    pub addresses: Vec<IpAddr>,
    /// DNSSEC status of the address records used: the weaker of the families with records
    /// (maddy #292); `None` when the host has no address or its lookup failed.
    pub address_dnssec: Option<Security>,
    /// Address lookup failures, one per family that failed.
    pub address_errors: Vec<String>,
    /// The TLSA lookup.
    pub tlsa: TlsaOutcome,
    /// The TLSA owner name looked up, when one was.
    pub tlsa_owner: Option<DomainName>,
    /// The TLSA records, in presentation form, whatever their DNSSEC status (records that are
    /// not secure are shown, and ignored: DANE-DNS-05).
    pub tlsa_records: Vec<String>,
    /// The TLSA lookup failure, when it failed.
    pub tlsa_error: Option<String>,
}

/// What the MX lookup gave, for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MxOutcome {
    /// MX records (RFC 5321 §5.1).
    Hosts,
    /// No MX RRset: the domain is its own mail host (RFC 5321 §5.1, DANE-DISC-02).
    Implicit,
    /// A null MX (RFC 7505): the domain accepts no mail.
    NullMx,
    /// The domain does not exist.
    #[serde(rename = "nxdomain")]
    NxDomain,
    /// The lookup failed (DANE-DNS-03).
    Failed,
    /// Not looked up: `[host]` and address literals carry no policy (STS-SEL-01).
    NotLookedUp,
}

/// The TLSA lookup of a host, for reports: [`TlsaState`] without the failure's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsaOutcome {
    /// Not looked up: the host's addresses are not secure (DANE-DNS-06).
    NotApplicable,
    /// No TLSA records (DANE-DISC-06).
    Absent,
    /// TLSA records that are not secure: ignored (DANE-DNS-05).
    Insecure,
    /// A secure RRset with a usable record (DANE-DISC-04).
    Usable,
    /// A secure RRset with no usable record (DANE-DISC-05).
    Unusable,
    /// The lookup failed (DANE-DNS-04).
    Failed,
}

impl From<&TlsaState> for TlsaOutcome {
    fn from(state: &TlsaState) -> Self {
        match state {
            TlsaState::NotApplicable => Self::NotApplicable,
            TlsaState::Absent => Self::Absent,
            TlsaState::Insecure => Self::Insecure,
            TlsaState::Usable => Self::Usable,
            TlsaState::AllUnusable => Self::Unusable,
            TlsaState::Failed(_) => Self::Failed,
        }
    }
}

/// The MTA-STS branch, for reports.
#[derive(Clone, Debug, Serialize)]
pub struct StsReport {
    /// The `_mta-sts` TXT lookup.
    pub txt: TxtReport,
    /// The policy id from the TXT record.
    pub id: Option<String>,
    /// Why the TXT record gave no policy, when it did not.
    pub txt_problem: Option<String>,
    /// What the cache decided.
    pub action: PlanReport,
    /// The policy fetch made for this lookup, if any. In JSON, as the fields `fetch` (`"ok"`,
    /// or what went wrong, or `null`) and `fetch_result_type`.
    #[serde(flatten)]
    pub fetch: FetchReport,
    /// Why the policy store could not be read, when it could not. Nothing learnt in this
    /// lookup is then written back to it (POSTFIX.md §4.5).
    pub store_error: Option<String>,
    /// The policy applied, as its canonical lines.
    pub policy: Option<Vec<String>>,
    /// Where the applied policy came from.
    pub source: Option<StsSource>,
}

/// The `_mta-sts` TXT lookup, for reports (RFC 8461 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxtReport {
    /// Not looked up (an address literal or explicit host, or a proactive refresh that has
    /// not got that far).
    NotLookedUp,
    /// Exactly one valid `v=STSv1` record (STS-TXT-05).
    Record,
    /// No `v=STSv1` record.
    NoRecord,
    /// Records that give no policy: several, or an invalid one (STS-TXT-05).
    Invalid,
    /// The lookup failed (timeout, SERVFAIL, bogus DNSSEC).
    Failed,
}

/// What the cache decided ([`Action`]), for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanReport {
    /// No policy applies (STS-FETCH-06, STS-TXT-05).
    NoPolicy,
    /// The cached policy applies (STS-FETCH-07).
    UseCached,
    /// The cached policy applies, and is refreshed in the background (STS-FETCH-08).
    UseCachedAndRefresh,
    /// The policy was fetched before answering.
    Fetch,
}

impl PlanReport {
    fn of(action: &Action) -> Self {
        match action {
            Action::NoPolicy(_) => Self::NoPolicy,
            Action::UseCached => Self::UseCached,
            Action::UseCachedAndRefresh { .. } => Self::UseCachedAndRefresh,
            Action::Fetch { .. } => Self::Fetch,
        }
    }
}

/// The policy fetch of one lookup, for reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchReport {
    /// No fetch was made before answering.
    NotFetched,
    /// No fetch was made: one for this policy id failed less than five minutes ago
    /// (STS-FETCH-03).
    RetryWait {
        /// When a new attempt is allowed, in Unix seconds.
        retry_at: u64,
    },
    /// A valid policy was fetched.
    Fetched,
    /// The fetch failed, or what was served is not a valid policy.
    Failed {
        /// The RFC 8460 result type of the failure.
        result_type: ResultType,
        /// What went wrong.
        error: String,
    },
}

impl Serialize for FetchReport {
    /// The two fields `fetch` and `fetch_result_type` that `mxsec query --json` has always
    /// shown: `"ok"`, the failure or the retry wait, and the failure's result type.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (text, result_type) = match self {
            Self::NotFetched => (None, None),
            Self::RetryWait { retry_at } => (
                Some(format!(
                    "a fetch failed recently; next attempt after {retry_at} (STS-FETCH-03)"
                )),
                None,
            ),
            Self::Fetched => (Some("ok".to_owned()), None),
            Self::Failed { result_type, error } => (Some(error.clone()), Some(*result_type)),
        };
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("fetch", &text)?;
        map.serialize_entry("fetch_result_type", &result_type)?;
        map.end()
    }
}

/// What a proactive refresh of a cached policy did ([`DestinationResolver::refresh`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshOutcome {
    /// A newer valid policy replaced the cached one.
    Replaced,
    /// The policy fetched is the one cached; its lifetime starts again.
    Unchanged,
    /// A fetch of this policy id failed less than five minutes ago: not tried (STS-FETCH-03).
    Waiting,
    /// The fetch failed, or its outcome could not be stored; the cached policy stays in force
    /// until it expires (STS-FETCH-07).
    Failed {
        /// The RFC 8460 result type of the failure, when it is a fetch failure.
        result_type: Option<ResultType>,
        /// What went wrong.
        error: String,
    },
    /// Nothing is cached for the domain (or the resolver has no store).
    NothingCached,
}

impl DestinationResolver {
    /// A resolver over `dns`, fetching with `fetcher`, keeping MTA-STS policies in `store`
    /// (`None`: nothing is remembered between lookups, as for a one-shot `mxsec query`).
    pub fn new(
        dns: Arc<Dns>,
        fetcher: Arc<PolicyFetcher>,
        store: Option<Arc<dyn PolicyStore>>,
    ) -> Self {
        Self {
            dns,
            fetcher,
            store,
            clock: unix_now,
        }
    }

    /// The DNS client the resolver looks names up with.
    pub fn dns(&self) -> &Arc<Dns> {
        &self.dns
    }

    /// Resolves and decides in one step.
    pub async fn decide(
        &self,
        destination: &Destination,
        config: &DecisionConfig,
    ) -> (Resolution, Decision) {
        let resolution = self.resolve(destination).await;
        let decision = decide(&resolution.observations, config);
        (resolution, decision)
    }

    /// Looks up everything the decision needs about `destination`.
    pub async fn resolve(&self, destination: &Destination) -> Resolution {
        let Destination::Domain(domain) = destination else {
            // RFC 8461 §3.4, STS-SEL-01: address literals and explicit next hops carry no
            // policy of their own; the decision says so without any lookup.
            return Resolution {
                destination: destination_text(destination),
                mx: MxReport {
                    outcome: MxOutcome::NotLookedUp,
                    dnssec: None,
                    error: None,
                },
                hosts: Vec::new(),
                mta_sts: StsReport::empty(PlanReport::NoPolicy),
                observations: Observations {
                    destination: destination.clone(),
                    mx: MxState::Hosts {
                        security: Security::Indeterminate,
                        hosts: Vec::new(),
                    },
                    sts: StsState::Absent,
                },
                ttl: None,
            };
        };
        let (mut ttl, mut sts_ttl) = (LowestTtl::default(), LowestTtl::default());
        let ((mx, mx_report, hosts), (sts, sts_report)) = tokio::join!(
            self.mx_branch(domain, &mut ttl),
            self.sts_branch(domain, &mut sts_ttl)
        );
        ttl.note(sts_ttl);
        Resolution {
            destination: domain.to_string(),
            mx: mx_report,
            hosts,
            mta_sts: sts_report,
            observations: Observations {
                destination: destination.clone(),
                mx,
                sts,
            },
            ttl: ttl.get(),
        }
    }

    /// The MX lookup, then every host's lookups ([`Self::host`]); the decision's input is
    /// built from them by [`observation::mx_state`], and their TTLs are noted in `ttl`.
    async fn mx_branch(
        &self,
        domain: &DomainName,
        ttl: &mut LowestTtl,
    ) -> (MxState, MxReport, Vec<HostReport>) {
        let unchecked = self.dns.mx_unchecked(domain).await;
        let targets = observation::mail_hosts(domain, &unchecked);
        // In parallel, but not all at once: an MX RRset can name thousands of hosts, each
        // with four queries to make. The exchanges' CNAME checks run meanwhile: the host
        // lookups do not need them.
        let hosts = stream::iter(targets.into_iter().map(|t| self.host(t)))
            .buffered(MAX_PARALLEL_HOSTS)
            .collect::<Vec<HostLookup>>();
        let checked = async {
            match unchecked {
                Ok(resolved) => Ok(self.dns.check_aliases(resolved).await),
                Err(err) => Err(err),
            }
        };
        let (looked_up, mx) = tokio::join!(hosts, checked);
        let lookups: Vec<HostLookups<'_>> = looked_up.iter().map(HostLookup::view).collect();
        let state = observation::mx_state(&mx, &lookups);
        ttl.note(observation::mx_ttl(&mx, &lookups));
        let hosts = match &state {
            MxState::Hosts { hosts, .. } => looked_up
                .iter()
                .zip(hosts)
                .map(|(lookup, host)| lookup.report(&host.addresses, &host.tlsa))
                .collect(),
            MxState::Failed(_) | MxState::NoSuchDomain { .. } | MxState::NullMx { .. } => {
                Vec::new()
            }
        };
        let report = match &mx {
            Err(err) => MxReport {
                outcome: MxOutcome::Failed,
                dnssec: None,
                error: Some(err.to_string()),
            },
            Ok(resolved) => MxReport {
                outcome: match resolved.answer().value_ignoring_security() {
                    Answer::NxDomain => MxOutcome::NxDomain,
                    Answer::Records(MxSet::NullMx) => MxOutcome::NullMx,
                    Answer::NoData => MxOutcome::Implicit,
                    Answer::Records(MxSet::Exchanges(_)) => MxOutcome::Hosts,
                },
                dnssec: Some(resolved.answer().security()),
                error: None,
            },
        };
        (state, report, hosts)
    }

    /// One host's address lookups and its TLSA lookup, at once; the TLSA lookup is kept
    /// only when the addresses are secure (DANE-DNS-06), so that waiting for the addresses
    /// first would only delay it.
    async fn host(&self, host: MailHost) -> HostLookup {
        let (addresses, tlsa) = tokio::join!(
            self.dns.addresses(&host.name),
            self.dns.tlsa(&host.name, 25)
        );
        let tlsa =
            observation::tlsa_applies(&observation::address_state(&addresses)).then_some(tlsa);
        HostLookup {
            host,
            addresses,
            tlsa,
        }
    }

    /// The MTA-STS branch: the TXT lookup, the cache's plan, and a fetch when the plan asks
    /// for one.
    ///
    /// | situation | policy applied | written to the store |
    /// |---|---|---|
    /// | live cached policy (TXT failed, absent or same id) | the cached one (STS-FETCH-07) | nothing; a due refresh in the background (STS-FETCH-08) |
    /// | fetch succeeds | the newest of the fetched and the stored one; the fetched one even if its `max_age` is over by the answer (STS-POL-06) | the fetch, merged into the entry stored now |
    /// | fetch fails | the stored live policy (STS-FETCH-07), else none (STS-FETCH-06) | the failure, merged |
    /// | store unreadable, policy fetched | the fetched one | nothing (POSTFIX.md §4.5) |
    /// | store unreadable, nothing fetched | unknown: `TEMP` unless DANE decides (PFX-04) | nothing |
    async fn sts_branch(&self, domain: &DomainName, ttl: &mut LowestTtl) -> (StsState, StsReport) {
        let now = (self.clock)();
        let mut report = StsReport::empty(PlanReport::NoPolicy);
        // `writable` is false when the store could not be read: an entry built without it
        // must never be written over the one it holds (a live enforce policy, perhaps).
        let (entry, writable) = match &self.store {
            Some(store) => match store.get(domain, now).await {
                Ok(found) => (
                    found.unwrap_or_else(|| CacheEntry::new(domain.clone())),
                    true,
                ),
                Err(err) => {
                    tracing::error!(%domain, error = %err, "policy store read failed");
                    report.store_error = Some(format!("policy store read failed: {err}"));
                    (CacheEntry::new(domain.clone()), false)
                }
            },
            None => (CacheEntry::new(domain.clone()), false),
        };
        let txt = self.sts_txt(domain, &mut report, ttl).await;
        let action = entry.plan(&txt, now);
        report.action = PlanReport::of(&action);
        let applied = match &action {
            Action::NoPolicy(reason) => {
                if let NoPolicyReason::RetryWait { retry_at, .. } = reason {
                    report.fetch = FetchReport::RetryWait {
                        retry_at: *retry_at,
                    };
                }
                None
            }
            Action::UseCached => entry
                .live_policy(now)
                .cloned()
                .map(|p| (p, StsSource::Cached)),
            Action::UseCachedAndRefresh { id } => {
                // STS-FETCH-08: answer from the cache now; refresh in the background. The plan
                // gives this only for a live policy read from the store, so it is readable.
                let (resolver, domain, id) = (self.clone_for_refresh(), domain.clone(), id.clone());
                tokio::spawn(async move {
                    let (outcome, _) = resolver.fetch(&domain, &id).await;
                    if let Some(store) = &resolver.store {
                        // A failure is logged there; the cached policy stays in force.
                        let _ = resolver
                            .store_outcome(store.as_ref(), &domain, outcome)
                            .await;
                    }
                });
                entry
                    .live_policy(now)
                    .cloned()
                    .map(|p| (p, StsSource::Cached))
            }
            Action::Fetch { id } => {
                let (outcome, fetch_report) = self.fetch(domain, id).await;
                report.fetch = fetch_report;
                let mut merged = entry;
                merged.record(&outcome);
                if let (Some(store), true) = (&self.store, writable) {
                    // What is stored now may be newer than what was read (another lookup, a
                    // refresh, another MTA): the merge keeps it, and it applies.
                    if let Ok(stored) = self
                        .store_outcome(store.as_ref(), domain, outcome.clone())
                        .await
                    {
                        merged = stored;
                    }
                }
                applied_after_fetch(&merged, &outcome, (self.clock)())
            }
        };
        let now = (self.clock)();
        let Some((policy, source)) = applied else {
            return match &report.store_error {
                // A store that cannot be read must not hide a cached enforce policy behind
                // "no policy": defer through the decision unless a policy was fetched now
                // (STS-FETCH-07, PFX-04).
                Some(why) => (StsState::Unknown(why.clone()), report),
                None => (StsState::Absent, report),
            };
        };
        let active = active_sts(domain, &policy, source, now);
        report.policy = Some(active.policy_lines.clone());
        report.source = Some(source);
        (StsState::Active(active), report)
    }

    /// Refetches the cached MTA-STS policy of `domain` ahead of its expiry (RFC 8461 §3.3,
    /// STS-FETCH-08): with the TXT record's current `id` when the lookup works, else with the
    /// cached policy's `id`, so that the refresh does not depend on the TXT record. The
    /// outcome is merged into the entry stored when the fetch ends, so that a newer policy
    /// stored meanwhile (by a lookup or another MTA) is kept; a failure leaves the cached
    /// policy in force (STS-FETCH-07), and a policy id whose fetch failed less than five
    /// minutes ago is not tried (STS-FETCH-03).
    pub async fn refresh(&self, domain: &DomainName) -> RefreshOutcome {
        let Some(store) = &self.store else {
            return RefreshOutcome::NothingCached;
        };
        let now = (self.clock)();
        let entry = match store.get(domain, now).await {
            Ok(Some(entry)) => entry,
            Ok(None) => return RefreshOutcome::NothingCached,
            Err(err) => {
                return RefreshOutcome::Failed {
                    result_type: None,
                    error: format!("policy store read failed: {err}"),
                }
            }
        };
        let Some(cached) = entry.policy().cloned() else {
            return RefreshOutcome::NothingCached;
        };
        let mut report = StsReport::empty(PlanReport::Fetch);
        let id = match self
            .sts_txt(domain, &mut report, &mut LowestTtl::default())
            .await
        {
            TxtLookup::Record(id) => id,
            TxtLookup::NoRecord | TxtLookup::LookupFailed => cached.id().clone(),
        };
        if !entry.may_fetch(&id, now) {
            return RefreshOutcome::Waiting;
        }
        let (outcome, fetch_report) = self.fetch(domain, &id).await;
        let stored = self.store_outcome(store.as_ref(), domain, outcome).await;
        if let FetchReport::Failed { result_type, error } = fetch_report {
            return RefreshOutcome::Failed {
                result_type: Some(result_type),
                error,
            };
        }
        match stored {
            Err(err) => RefreshOutcome::Failed {
                result_type: None,
                error: format!("policy store write failed: {err}"),
            },
            Ok(stored) => match stored.policy() {
                Some(now_cached)
                    if now_cached.id() == cached.id() && now_cached.body() == cached.body() =>
                {
                    RefreshOutcome::Unchanged
                }
                _ => RefreshOutcome::Replaced,
            },
        }
    }

    /// The `_mta-sts` TXT lookup (STS-TXT-01…06); its TTL is noted in `ttl`.
    async fn sts_txt(
        &self,
        domain: &DomainName,
        report: &mut StsReport,
        ttl: &mut LowestTtl,
    ) -> TxtLookup {
        let owner = match txt_owner(domain) {
            Ok(owner) => owner,
            Err(err) => {
                report.txt = TxtReport::Invalid;
                report.txt_problem = Some(err.to_string());
                return TxtLookup::NoRecord;
            }
        };
        let looked_up = self.dns.txt(&owner).await;
        match looked_up.inspect(|resolved| ttl.note(resolved.ttl())) {
            Err(err) => {
                report.txt = TxtReport::Failed;
                report.txt_problem = Some(err.to_string());
                TxtLookup::LookupFailed
            }
            Ok(resolved) => match resolved.into_answer().into_parts().1 {
                Answer::NoData | Answer::NxDomain => {
                    report.txt = TxtReport::NoRecord;
                    TxtLookup::NoRecord
                }
                Answer::Records(records) => match StsRecord::from_txt_rrset(&records) {
                    Ok(parsed) => {
                        report.txt = TxtReport::Record;
                        report.id = Some(parsed.value.id.as_str().to_owned());
                        TxtLookup::Record(parsed.value.id)
                    }
                    Err(no_policy) => {
                        report.txt = if no_policy.is_absent() {
                            TxtReport::NoRecord
                        } else {
                            TxtReport::Invalid
                        };
                        report.txt_problem = Some(no_policy.to_string());
                        TxtLookup::NoRecord
                    }
                },
            },
        }
    }

    /// Fetches the policy for `id` (STS-FETCH-01…05): the outcome to record in the cache,
    /// and what a report shows of it.
    async fn fetch(&self, domain: &DomainName, id: &PolicyId) -> (FetchRecord, FetchReport) {
        let now = (self.clock)();
        let addresses = match policy_host(domain) {
            Ok(host) => {
                let found = self.dns.addresses(&host).await;
                let mut ips: Vec<IpAddr> = Vec::new();
                if let Ok(v6) = &found.ipv6 {
                    if let Some(list) = v6.answer().value_ignoring_security().records() {
                        ips.extend(list.iter().map(|ip| IpAddr::V6(*ip)));
                    }
                }
                if let Ok(v4) = &found.ipv4 {
                    if let Some(list) = v4.answer().value_ignoring_security().records() {
                        ips.extend(list.iter().map(|ip| IpAddr::V4(*ip)));
                    }
                }
                ips
            }
            Err(_) => Vec::new(),
        };
        let failed = |result_type, error| {
            (
                FetchRecord::Failed(FetchFailure::new(id.clone(), now)),
                FetchReport::Failed { result_type, error },
            )
        };
        let outcome = match self.fetcher.fetch_any(domain, &addresses).await {
            Ok(Some(outcome)) => outcome,
            Ok(None) => {
                return failed(
                    ResultType::StsPolicyFetchError,
                    "the policy host has no address (M-01)".to_owned(),
                )
            }
            Err(err) => return failed(ResultType::StsPolicyFetchError, err.to_string()),
        };
        match outcome.result {
            Ok(fetched) => {
                let body = String::from_utf8_lossy(&fetched.body).into_owned();
                let policy = CachedPolicy::new(id.clone(), body, fetched.policy, now);
                (FetchRecord::Fetched(policy), FetchReport::Fetched)
            }
            Err(failure) => failed(failure.result_type(), failure.to_string()),
        }
    }

    /// Merges a fetch's outcome into the entry `store` holds now, never over a newer policy
    /// stored meanwhile by another lookup, a refresh or another MTA (STS-FETCH-07), and
    /// returns what is stored. A failure is logged.
    async fn store_outcome(
        &self,
        store: &dyn PolicyStore,
        domain: &DomainName,
        outcome: FetchRecord,
    ) -> Result<CacheEntry, StoreError> {
        let change: Change = Box::new(move |entry| {
            entry.record(&outcome);
        });
        store
            .update(domain, (self.clock)(), change)
            .await
            .inspect_err(|err| {
                tracing::error!(%domain, error = %err, "policy store write failed");
            })
    }

    fn clone_for_refresh(&self) -> Self {
        Self {
            dns: self.dns.clone(),
            fetcher: self.fetcher.clone(),
            store: self.store.clone(),
            clock: self.clock,
        }
    }
}

/// One MX host's lookups, as the resolver made them.
struct HostLookup {
    host: MailHost,
    addresses: Addresses,
    /// `None`: not looked up, the addresses are not secure (DANE-DNS-06).
    tlsa: Option<TlsaResult>,
}

impl HostLookup {
    fn view(&self) -> HostLookups<'_> {
        HostLookups {
            name: &self.host.name,
            addresses: &self.addresses,
            tlsa: self.tlsa.as_ref(),
        }
    }

    /// The report of the host, whose states [`observation::host_state`] gave.
    fn report(&self, addresses: &AddressState, tlsa: &TlsaState) -> HostReport {
        let lookup = self.tlsa.as_ref().and_then(|result| result.as_ref().ok());
        HostReport {
            name: self.host.name.clone(),
            preference: self.host.preference,
            addresses: observation::address_list(&self.addresses),
            address_dnssec: match addresses {
                AddressState::Found { security } => Some(*security),
                AddressState::None | AddressState::Failed(_) => None,
            },
            address_errors: [
                self.addresses.ipv4.as_ref().err(),
                self.addresses.ipv6.as_ref().err(),
            ]
            .into_iter()
            .flatten()
            .map(ToString::to_string)
            .collect(),
            tlsa: TlsaOutcome::from(tlsa),
            tlsa_owner: lookup.map(|lookup| lookup.owner.clone()),
            tlsa_records: lookup
                .and_then(|lookup| lookup.answer.answer().value_ignoring_security().records())
                .map(|records| records.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            tlsa_error: match &self.tlsa {
                Some(Err(err)) => Some(err.to_string()),
                Some(Ok(_)) | None => None,
            },
        }
    }
}

impl Resolution {
    /// Whether anything that went into this resolution failed, so that a retry may give
    /// another answer: a DNS lookup (MX, address, TLSA, the `_mta-sts` TXT record), the
    /// policy fetch, or the read of the policy store. A cache of answers keeps such a one
    /// only briefly, so that a `TEMP` does not linger (PFX-04).
    pub fn has_failure(&self) -> bool {
        let dns_failed = match &self.observations.mx {
            MxState::Failed(_) => true,
            MxState::Hosts { hosts, .. } => hosts.iter().any(|host| {
                matches!(host.addresses, AddressState::Failed(_))
                    || matches!(host.tlsa, TlsaState::Failed(_))
            }),
            MxState::NoSuchDomain { .. } | MxState::NullMx { .. } => false,
        };
        dns_failed || self.mta_sts.has_failure()
    }
}

impl StsReport {
    fn empty(action: PlanReport) -> Self {
        Self {
            txt: TxtReport::NotLookedUp,
            id: None,
            txt_problem: None,
            action,
            fetch: FetchReport::NotFetched,
            store_error: None,
            policy: None,
            source: None,
        }
    }

    /// Whether a lookup or fetch of this branch failed, or the policy store could not be
    /// read: a retry may give another answer.
    pub fn has_failure(&self) -> bool {
        // A retry wait follows a failed fetch (STS-FETCH-03): the "no policy" it gives must
        // not be kept longer than the failure itself, or a blocked first fetch would keep a
        // domain's enforce policy away well past the wait.
        self.txt == TxtReport::Failed
            || matches!(
                self.fetch,
                FetchReport::Failed { .. } | FetchReport::RetryWait { .. }
            )
            || self.store_error.is_some()
    }
}

/// The policy that applies after a fetch for this lookup, given the entry with the fetch's
/// outcome merged in: the entry's live policy (the fetched one, or a newer one stored
/// meanwhile, or after a failed fetch the cached one: STS-FETCH-07), else the policy just
/// fetched. A valid policy applies to the delivery it was fetched for even when its
/// `max_age` is 0 or has run out during the lookup: `max_age` bounds how long it is cached,
/// not whether it is used now (RFC 8461 §3.2, STS-POL-06); [`active_sts`] then gives the
/// answer a TTL of one second.
fn applied_after_fetch(
    merged: &CacheEntry,
    outcome: &FetchRecord,
    now: u64,
) -> Option<(CachedPolicy, StsSource)> {
    let fetched = match outcome {
        FetchRecord::Fetched(policy) => Some(policy),
        FetchRecord::Failed(_) => None,
    };
    match (merged.live_policy(now), fetched) {
        (Some(live), Some(fetched)) if live == fetched => Some((live.clone(), StsSource::Fresh)),
        (Some(live), _) => Some((live.clone(), StsSource::Cached)),
        (None, Some(fetched)) => Some((fetched.clone(), StsSource::Fresh)),
        (None, None) => None,
    }
}

/// The cached policy as the decision takes it.
fn active_sts(domain: &DomainName, live: &CachedPolicy, source: StsSource, now: u64) -> ActiveSts {
    let policy = live.policy();
    let remaining = live.expires_at().saturating_sub(now);
    ActiveSts {
        policy_domain: domain.clone(),
        mode: policy.mode,
        mx_patterns: policy.mx.clone(),
        policy_lines: policy.lines(),
        source,
        ttl: u32::try_from(remaining.min(MAX_ANSWER_TTL))
            .unwrap_or(3600)
            .max(1),
    }
}

fn destination_text(destination: &Destination) -> String {
    match destination {
        Destination::Domain(d) => d.to_string(),
        Destination::Host {
            host,
            port: Some(p),
        } => format!("[{host}]:{p}"),
        Destination::Host { host, port: None } => format!("[{host}]"),
        Destination::Address(ip) => format!("[{ip}]"),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use mxsec_proto::decision::LookupFailure;
    use mxsec_testbed::dns::{DnsServer, Zone};

    use super::*;
    use crate::dial::Dialer;
    use crate::dns::{Backend, DnsConfig, TrustAnchorSource};
    use crate::trust::TrustConfig;

    const TIMEOUT: Duration = Duration::from_secs(3);

    /// A resolver over the testbed's DNS, with a DNS cache, and without HTTPS: the policy
    /// host of `ttl.test` has no address, so no fetch leaves loopback.
    async fn resolver(server: &DnsServer) -> DestinationResolver {
        let config = DnsConfig::builder()
            .backend(Backend::Validate)
            .nameserver(server.addr())
            .trust_anchor(TrustAnchorSource::Text(
                server.trust_anchor().dnskey_line().to_owned(),
            ))
            .timeout(TIMEOUT)
            .build();
        let (dns, _) = Dns::new(&config).await.unwrap().with_cache(64);
        let fetcher = PolicyFetcher::new(&TrustConfig::empty(), Dialer::new(TIMEOUT)).unwrap();
        DestinationResolver::new(Arc::new(dns), Arc::new(fetcher), None)
    }

    /// POSTFIX.md §4.5: an answer is cached for at most the lowest TTL of the DNS data behind
    /// it. Here the `_mta-sts` TXT record (30 s, in a zone of its own) has the lowest TTL; the
    /// MX, address and TLSA answers have 600 s. Served again from the DNS cache, the TTL is
    /// what the answers have left there.
    #[tokio::test]
    async fn resolution_ttl_is_the_lowest_of_the_dns_answers() {
        let server = DnsServer::builder()
            .zones(vec![
                Zone::new("ttl.test")
                    .ttl(600)
                    .mx(10, "mx.ttl.test")
                    .a("mx.ttl.test", Ipv4Addr::new(127, 0, 1, 25)),
                Zone::new("_mta-sts.ttl.test")
                    .ttl(30)
                    .txt("_mta-sts.ttl.test", &["v=STSv1; id=1"]),
            ])
            .start()
            .await
            .unwrap();
        let resolver = resolver(&server).await;
        let destination = Destination::parse("ttl.test").unwrap();
        let first = resolver.resolve(&destination).await;
        assert_eq!(first.mx.outcome, MxOutcome::Hosts);
        assert_eq!(first.mta_sts.txt, TxtReport::Record);
        assert_eq!(first.ttl, Some(Duration::from_secs(30)));
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let again = resolver.resolve(&destination).await;
        let ttl = again.ttl.unwrap();
        assert!(ttl < Duration::from_secs(30), "{ttl:?}");

        let literal = Destination::parse("[192.0.2.1]").unwrap();
        assert_eq!(resolver.resolve(&literal).await.ttl, None);
    }

    fn json(value: &impl Serialize) -> String {
        serde_json::to_string(value).unwrap()
    }

    /// The report states keep the names `mxsec query --json` has always written.
    #[test]
    fn report_states_keep_their_json_names() {
        let mx = [
            (MxOutcome::Hosts, "hosts"),
            (MxOutcome::Implicit, "implicit"),
            (MxOutcome::NullMx, "null-mx"),
            (MxOutcome::NxDomain, "nxdomain"),
            (MxOutcome::Failed, "failed"),
            (MxOutcome::NotLookedUp, "not-looked-up"),
        ];
        for (outcome, name) in mx {
            assert_eq!(json(&outcome), format!("\"{name}\""));
        }
        let tlsa = [
            (TlsaState::NotApplicable, "not-applicable"),
            (TlsaState::Absent, "absent"),
            (TlsaState::Insecure, "insecure"),
            (TlsaState::Usable, "usable"),
            (TlsaState::AllUnusable, "unusable"),
            (
                TlsaState::Failed(LookupFailure::Transient("SERVFAIL".into())),
                "failed",
            ),
        ];
        for (state, name) in tlsa {
            assert_eq!(json(&TlsaOutcome::from(&state)), format!("\"{name}\""));
        }
    }
}
