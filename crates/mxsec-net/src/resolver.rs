//! The destination resolver: from a next-hop destination to the observations that the policy
//! decision ([`mxsec_proto::decision::decide`]) takes, and the decision itself.
//!
//! For a domain it runs, at once, the MX branch (MX lookup, then for every MX host in
//! parallel its A and AAAA lookups and, when those are DNSSEC-secure, its TLSA lookup) and the
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
use mxsec_proto::mta_sts::cache::{Action, CacheEntry, CachedPolicy, NoPolicyReason, TxtLookup};
use mxsec_proto::mta_sts::policy::policy_host;
use mxsec_proto::mta_sts::record::{txt_owner, PolicyId, StsRecord};
use mxsec_proto::name::{Destination, DomainName};
use serde::Serialize;

use crate::dns::{Addresses, Answer, Dns, LowestTtl, MxSet};
use crate::observation::{self, HostLookups, MailHost, TlsaResult};
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
                    outcome: MxOutcome::NotLookedUp,
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
        let mx = self.dns.mx(domain).await;
        let targets = observation::mail_hosts(domain, &mx);
        // In parallel, but not all at once: an MX RRset can name thousands of hosts, each
        // with three lookups to make.
        let looked_up: Vec<HostLookup> = stream::iter(targets.into_iter().map(|t| self.host(t)))
            .buffered(MAX_PARALLEL_HOSTS)
            .collect()
            .await;
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

    /// One host's address lookups and, when its addresses are secure, its TLSA lookup
    /// (DANE-DNS-06).
    async fn host(&self, host: MailHost) -> HostLookup {
        let addresses = self.dns.addresses(&host.name).await;
        let tlsa = if observation::tlsa_applies(&observation::address_state(&addresses)) {
            Some(self.dns.tlsa(&host.name, 25).await)
        } else {
            None
        };
        HostLookup {
            host,
            addresses,
            tlsa,
        }
    }

    async fn sts_branch(&self, domain: &DomainName, ttl: &mut LowestTtl) -> (StsState, StsReport) {
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
        let txt = self.sts_txt(domain, &mut report, ttl).await;
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
        let id = match self
            .sts_txt(domain, &mut report, &mut LowestTtl::default())
            .await
        {
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
                report.txt = "invalid";
                report.txt_problem = Some(err.to_string());
                return TxtLookup::NoRecord;
            }
        };
        let looked_up = self.dns.txt(&owner).await;
        match looked_up.inspect(|resolved| ttl.note(resolved.ttl())) {
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
        assert_eq!(first.mta_sts.txt, "record");
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
