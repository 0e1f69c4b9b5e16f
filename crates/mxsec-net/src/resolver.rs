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
use mxsec_proto::mta_sts::cache::{Action, CacheEntry, CachedPolicy, NoPolicyReason, TxtLookup};
use mxsec_proto::mta_sts::policy::policy_host;
use mxsec_proto::mta_sts::record::{txt_owner, PolicyId, StsRecord};
use mxsec_proto::name::{Destination, DomainName};
use serde::Serialize;

use crate::dns::{Addresses, Answer, Dns, DnsError, MxSet, MxTarget};
use crate::store::PolicyStore;
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
    /// The `_mta-sts` TXT lookup: `record`, `no-record`, `invalid`, `failed`.
    pub txt: &'static str,
    /// The policy id from the TXT record.
    pub id: Option<String>,
    /// Why the TXT record gave no policy, when it did not.
    pub txt_problem: Option<String>,
    /// What the cache decided: `no-policy`, `use-cached`, `use-cached-and-refresh`, `fetch`.
    pub action: &'static str,
    /// The fetch, when one was made: `ok`, or the failure.
    pub fetch: Option<String>,
    /// The RFC 8460 result type of a failed fetch.
    pub fetch_result_type: Option<&'static str>,
    /// The policy applied, as its canonical lines.
    pub policy: Option<Vec<String>>,
    /// Where the applied policy came from.
    pub source: Option<StsSource>,
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
    /// The fetch failed; the cached policy stays in force until it expires (STS-FETCH-07).
    Failed {
        /// The RFC 8460 result type of the failure, when it is a fetch failure.
        result_type: Option<&'static str>,
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
                mta_sts: StsReport::empty("no-policy"),
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

    async fn sts_branch(&self, domain: &DomainName) -> (StsState, StsReport) {
        let now = (self.clock)();
        let mut store_failure = None;
        let mut entry = match &self.store {
            Some(store) => match store.get(domain, now).await {
                Ok(found) => found.unwrap_or_else(|| CacheEntry::new(domain.clone())),
                Err(err) => {
                    // A store that cannot be read must not hide a cached enforce policy
                    // behind "no policy": say so loudly and defer through the decision
                    // unless a policy is fetched now (STS-FETCH-07, PFX-04).
                    tracing::error!(%domain, error = %err, "policy store read failed");
                    store_failure = Some(format!("policy store read failed: {err}"));
                    CacheEntry::new(domain.clone())
                }
            },
            None => CacheEntry::new(domain.clone()),
        };
        let mut report = StsReport::empty("no-policy");
        let txt = self.sts_txt(domain, &mut report).await;
        let action = entry.plan(&txt, now);
        report.action = match &action {
            Action::NoPolicy(_) => "no-policy",
            Action::UseCached => "use-cached",
            Action::UseCachedAndRefresh { .. } => "use-cached-and-refresh",
            Action::Fetch { .. } => "fetch",
        };
        let mut source = StsSource::Cached;
        match &action {
            Action::NoPolicy(reason) => {
                if let NoPolicyReason::RetryWait { retry_at, .. } = reason {
                    report.fetch = Some(format!(
                        "a fetch failed recently; next attempt after {retry_at} (STS-FETCH-03)"
                    ));
                }
            }
            Action::UseCached => {}
            Action::Fetch { id } => {
                source = StsSource::Fresh;
                self.fetch_into(domain, id, &mut entry, &mut report).await;
                self.store_entry(&entry).await;
            }
            Action::UseCachedAndRefresh { id } => {
                // STS-FETCH-08: answer from the cache now; refresh in the background.
                let (resolver, domain, id, mut entry) = (
                    self.clone_for_refresh(),
                    domain.clone(),
                    id.clone(),
                    entry.clone(),
                );
                tokio::spawn(async move {
                    let mut report = StsReport::empty("fetch");
                    resolver
                        .fetch_into(&domain, &id, &mut entry, &mut report)
                        .await;
                    resolver.store_entry(&entry).await;
                });
            }
        }
        let now = (self.clock)();
        let Some(live) = entry.live_policy(now) else {
            return match store_failure {
                Some(why) => (StsState::Unknown(why), report),
                None => (StsState::Absent, report),
            };
        };
        let active = active_sts(domain, live, source, now);
        report.policy = Some(active.policy_lines.clone());
        report.source = Some(source);
        (StsState::Active(active), report)
    }

    /// Refetches the cached MTA-STS policy of `domain` ahead of its expiry (RFC 8461 §3.3,
    /// STS-FETCH-08): with the TXT record's current `id` when the lookup works, else with the
    /// cached policy's `id`, so that the refresh does not depend on the TXT record. The
    /// outcome is stored; a failure leaves the cached policy in force (STS-FETCH-07), and a
    /// policy id whose fetch failed less than five minutes ago is not tried (STS-FETCH-03).
    pub async fn refresh(&self, domain: &DomainName) -> RefreshOutcome {
        let Some(store) = &self.store else {
            return RefreshOutcome::NothingCached;
        };
        let now = (self.clock)();
        let mut entry = match store.get(domain, now).await {
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
        let mut report = StsReport::empty("fetch");
        let id = match self.sts_txt(domain, &mut report).await {
            TxtLookup::Record(id) => id,
            TxtLookup::NoRecord | TxtLookup::LookupFailed => cached.id().clone(),
        };
        if entry
            .failures()
            .iter()
            .any(|failure| failure.blocks(&id, now))
        {
            return RefreshOutcome::Waiting;
        }
        self.fetch_into(domain, &id, &mut entry, &mut report).await;
        self.store_entry(&entry).await;
        if report.fetch.as_deref() != Some("ok") {
            return RefreshOutcome::Failed {
                result_type: report.fetch_result_type,
                error: report.fetch.unwrap_or_default(),
            };
        }
        match entry.policy() {
            Some(now_cached)
                if now_cached.id() == cached.id() && now_cached.body() == cached.body() =>
            {
                RefreshOutcome::Unchanged
            }
            _ => RefreshOutcome::Replaced,
        }
    }

    async fn sts_txt(&self, domain: &DomainName, report: &mut StsReport) -> TxtLookup {
        let owner = match txt_owner(domain) {
            Ok(owner) => owner,
            Err(err) => {
                report.txt = "invalid";
                report.txt_problem = Some(err.to_string());
                return TxtLookup::NoRecord;
            }
        };
        match self.dns.txt(&owner).await {
            Err(err) => {
                report.txt = "failed";
                report.txt_problem = Some(err.to_string());
                TxtLookup::LookupFailed
            }
            Ok(resolved) => match resolved.into_answer().into_parts().1 {
                Answer::NoData | Answer::NxDomain => {
                    report.txt = "no-record";
                    TxtLookup::NoRecord
                }
                Answer::Records(records) => match StsRecord::from_txt_rrset(&records) {
                    Ok(parsed) => {
                        report.txt = "record";
                        report.id = Some(parsed.value.id.as_str().to_owned());
                        TxtLookup::Record(parsed.value.id)
                    }
                    Err(no_policy) => {
                        report.txt = if no_policy.is_absent() {
                            "no-record"
                        } else {
                            "invalid"
                        };
                        report.txt_problem = Some(no_policy.to_string());
                        TxtLookup::NoRecord
                    }
                },
            },
        }
    }

    /// Fetches the policy for `id` and records the outcome in `entry` (STS-FETCH-01…05).
    async fn fetch_into(
        &self,
        domain: &DomainName,
        id: &PolicyId,
        entry: &mut CacheEntry,
        report: &mut StsReport,
    ) {
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
        let outcome = match self.fetcher.fetch_any(domain, &addresses).await {
            Ok(Some(outcome)) => outcome,
            Ok(None) => {
                report.fetch = Some("the policy host has no address (M-01)".into());
                report.fetch_result_type = Some("sts-policy-fetch-error");
                entry.record_failure(id, now);
                return;
            }
            Err(err) => {
                report.fetch = Some(err.to_string());
                report.fetch_result_type = Some("sts-policy-fetch-error");
                entry.record_failure(id, now);
                return;
            }
        };
        match outcome.result {
            Ok(fetched) => {
                let body = String::from_utf8_lossy(&fetched.body).into_owned();
                entry.record_success(CachedPolicy::new(id.clone(), body, fetched.policy, now));
                report.fetch = Some("ok".into());
            }
            Err(failure) => {
                report.fetch_result_type = Some(failure.result_type().as_str());
                report.fetch = Some(failure.to_string());
                entry.record_failure(id, now);
            }
        }
    }

    async fn store_entry(&self, entry: &CacheEntry) {
        if let Some(store) = &self.store {
            if let Err(err) = store.put(entry, (self.clock)()).await {
                tracing::error!(domain = %entry.domain(), error = %err, "policy store write failed");
            }
        }
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

impl StsReport {
    fn empty(action: &'static str) -> Self {
        Self {
            txt: "not-looked-up",
            id: None,
            txt_problem: None,
            action,
            fetch: None,
            fetch_result_type: None,
            policy: None,
            source: None,
        }
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
