//! The destination resolver: from a next-hop destination to the observations that the policy
//! decision ([`mxsec_proto::decision::decide`]) takes, and the decision itself.
//!
//! For a domain it runs, at once, the MX branch (MX lookup, then for every MX host in
//! parallel its A and AAAA lookups and, when those are DNSSEC-secure, its TLSA lookup) and the
//! MTA-STS branch (the `_mta-sts` TXT lookup, the cache's plan, and a policy fetch when the
//! plan asks for one). Every DNS failure is kept as a failure, never turned into "nothing
//! there": the decision turns it into `TEMP` where it could downgrade (PFX-04).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures::stream::{self, StreamExt};
use mxsec_proto::dane::usable::{classify, RrsetUsability};
use mxsec_proto::decision::{
    decide, ActiveSts, AddressState, Decision, DecisionConfig, HostState, LookupFailure, MxState,
    Observations, StsSource, StsState, TlsaState,
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

use crate::dns::{Addresses, Answer, Dns, DnsError, MxSet, MxTarget};
use crate::store::{Change, PolicyStore, StoreError};
use crate::sts_fetch::PolicyFetcher;

/// The longest time, in seconds, that a Postfix client may cache an MTA-STS answer
/// (`policy_ttl`): an hour, so that MX and policy changes are seen soon.
pub const MAX_ANSWER_TTL: u64 = 3600;

/// The most MX hosts whose address and TLSA lookups run at once for one destination. A
/// hostile MX RRset of hundreds of hosts then costs time, bounded by the caller's deadline,
/// rather than hundreds of concurrent lookups and their memory.
pub const MAX_PARALLEL_HOSTS: usize = 32;

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
}

/// The MX lookup, for reports.
#[derive(Clone, Debug, Serialize)]
pub struct MxReport {
    /// `hosts`, `implicit`, `null-mx`, `nxdomain`, `failed`, or `not-looked-up` for `[host]`
    /// and address literals.
    pub outcome: &'static str,
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
    /// DNSSEC status of the address records used.
    pub address_dnssec: Option<Security>,
    /// Address lookup failures, one per family that failed.
    pub address_errors: Vec<String>,
    /// The TLSA lookup: `not-applicable`, `absent`, `insecure`, `usable`, `unusable`,
    /// `failed`.
    pub tlsa: &'static str,
    /// The TLSA owner name looked up, when one was.
    pub tlsa_owner: Option<DomainName>,
    /// The TLSA records, in presentation form.
    pub tlsa_records: Vec<String>,
    /// The TLSA lookup failure, when it failed.
    pub tlsa_error: Option<String>,
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
                    outcome: "not-looked-up",
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
            };
        };
        let ((mx, mx_report, hosts), (sts, sts_report)) =
            tokio::join!(self.mx_branch(domain), self.sts_branch(domain));
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
        }
    }

    async fn mx_branch(&self, domain: &DomainName) -> (MxState, MxReport, Vec<HostReport>) {
        let resolved = match self.dns.mx(domain).await {
            Ok(resolved) => resolved,
            Err(err) => {
                let report = MxReport {
                    outcome: "failed",
                    dnssec: None,
                    error: Some(err.to_string()),
                };
                return (MxState::Failed(failure(&err)), report, Vec::new());
            }
        };
        let (security, answer) = resolved.into_answer().into_parts();
        let report = |outcome| MxReport {
            outcome,
            dnssec: Some(security),
            error: None,
        };
        let targets: Vec<(Option<u16>, DomainName)> = match answer {
            Answer::NxDomain => {
                return (
                    MxState::NoSuchDomain { security },
                    report("nxdomain"),
                    Vec::new(),
                )
            }
            Answer::Records(MxSet::NullMx) => {
                return (MxState::NullMx { security }, report("null-mx"), Vec::new())
            }
            // RFC 5321 §5.1, RFC 7672 §2.2.2 (DANE-DISC-02): no MX, the domain is the host.
            Answer::NoData => vec![(None, domain.clone())],
            Answer::Records(MxSet::Exchanges(list)) => list
                .into_iter()
                .filter_map(|e| match e.target {
                    MxTarget::Host(name) => Some((Some(e.preference), name)),
                    // Not a host name: no sender can use it (N-01); the checker reports it.
                    MxTarget::Root | MxTarget::IpLiteral(_) | MxTarget::Invalid(_) => None,
                })
                .collect(),
        };
        let outcome = if targets.first().is_some_and(|(p, _)| p.is_none()) {
            "implicit"
        } else {
            "hosts"
        };
        // In parallel, but not all at once: an MX RRset can name thousands of hosts, each
        // with three lookups to make.
        let hosts: Vec<(HostState, HostReport)> = stream::iter(
            targets
                .into_iter()
                .map(|(pref, name)| self.host(pref, name)),
        )
        .buffered(MAX_PARALLEL_HOSTS)
        .collect()
        .await;
        let (states, reports): (Vec<HostState>, Vec<HostReport>) = hosts.into_iter().unzip();
        (
            MxState::Hosts {
                security,
                hosts: states,
            },
            report(outcome),
            reports,
        )
    }

    async fn host(&self, preference: Option<u16>, name: DomainName) -> (HostState, HostReport) {
        let addresses = self.dns.addresses(&name).await;
        let (address_state, found, address_errors) = address_state(&addresses);
        let mut report = HostReport {
            name: name.clone(),
            preference,
            addresses: found,
            address_dnssec: match address_state {
                AddressState::Found { security } => Some(security),
                _ => None,
            },
            address_errors,
            tlsa: "not-applicable",
            tlsa_owner: None,
            tlsa_records: Vec::new(),
            tlsa_error: None,
        };
        // DANE-DNS-06: TLSA only for hosts whose address records are secure.
        let tlsa = if matches!(
            address_state,
            AddressState::Found {
                security: Security::Secure
            }
        ) {
            match self.dns.tlsa(&name, 25).await {
                Err(err) => {
                    report.tlsa_error = Some(err.to_string());
                    TlsaState::Failed(failure(&err))
                }
                Ok(lookup) => {
                    report.tlsa_owner = Some(lookup.owner.clone());
                    let (security, answer) = lookup.answer.into_answer().into_parts();
                    match answer {
                        Answer::NoData | Answer::NxDomain => TlsaState::Absent,
                        Answer::Records(records) => {
                            report.tlsa_records = records.iter().map(ToString::to_string).collect();
                            if security != Security::Secure {
                                TlsaState::Insecure
                            } else {
                                match classify(&records).usability {
                                    RrsetUsability::Usable(_) => TlsaState::Usable,
                                    RrsetUsability::AllUnusable | RrsetUsability::Empty => {
                                        TlsaState::AllUnusable
                                    }
                                }
                            }
                        }
                    }
                }
            }
        } else {
            TlsaState::NotApplicable
        };
        report.tlsa = match &tlsa {
            TlsaState::NotApplicable => "not-applicable",
            TlsaState::Absent => "absent",
            TlsaState::Insecure => "insecure",
            TlsaState::Usable => "usable",
            TlsaState::AllUnusable => "unusable",
            TlsaState::Failed(_) => "failed",
        };
        (
            HostState {
                name,
                addresses: address_state,
                tlsa,
            },
            report,
        )
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
    async fn sts_branch(&self, domain: &DomainName) -> (StsState, StsReport) {
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
        let txt = self.sts_txt(domain, &mut report).await;
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
        let id = match self.sts_txt(domain, &mut report).await {
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

    async fn sts_txt(&self, domain: &DomainName, report: &mut StsReport) -> TxtLookup {
        let owner = match txt_owner(domain) {
            Ok(owner) => owner,
            Err(err) => {
                report.txt = TxtReport::Invalid;
                report.txt_problem = Some(err.to_string());
                return TxtLookup::NoRecord;
            }
        };
        match self.dns.txt(&owner).await {
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
        self.txt == TxtReport::Failed
            || matches!(self.fetch, FetchReport::Failed { .. })
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

/// The address state of a host from its A and AAAA lookups, the addresses found, and the
/// failures. Families are judged apart (maddy #292): a host with secure IPv4 and a failing
/// IPv6 lookup still has secure addresses.
fn address_state(addresses: &Addresses) -> (AddressState, Vec<IpAddr>, Vec<String>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    let mut security: Option<Security> = None;
    let mut bogus = None;
    let mut transient = None;
    let mut note = |err: &DnsError| {
        errors.push(err.to_string());
        if err.is_bogus() {
            bogus.get_or_insert_with(|| failure(err));
        } else {
            transient.get_or_insert_with(|| failure(err));
        }
    };
    match &addresses.ipv4 {
        Ok(resolved) => {
            if let Answer::Records(list) = resolved.answer().value_ignoring_security() {
                found.extend(list.iter().map(|ip| IpAddr::V4(*ip)));
                let s = resolved.answer().security();
                security = Some(security.map_or(s, |old: Security| old.min(s)));
            }
        }
        Err(err) => note(err),
    }
    match &addresses.ipv6 {
        Ok(resolved) => {
            if let Answer::Records(list) = resolved.answer().value_ignoring_security() {
                found.extend(list.iter().map(|ip| IpAddr::V6(*ip)));
                let s = resolved.answer().security();
                security = Some(security.map_or(s, |old: Security| old.min(s)));
            }
        }
        Err(err) => note(err),
    }
    // A bogus answer for either family is an attack or a broken zone: never ignored
    // (DANE-DNS-03).
    let state = if let Some(b) = bogus {
        AddressState::Failed(b)
    } else if let Some(security) = security {
        AddressState::Found { security }
    } else if let Some(t) = transient {
        AddressState::Failed(t)
    } else {
        AddressState::None
    };
    (state, found, errors)
}

fn failure(err: &DnsError) -> LookupFailure {
    if err.is_bogus() {
        LookupFailure::Bogus(err.to_string())
    } else {
        LookupFailure::Transient(err.to_string())
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
