//! The audit runner: every lookup, fetch and probe for one domain, each started as soon as
//! what it depends on is known.
//!
//! Three branches run at once: the MX branch (MX lookup, then for every host its A/AAAA and
//! TLSA lookups together, then a STARTTLS probe of every address in parallel, IPv4 and IPv6
//! alike), the MTA-STS branch (the `_mta-sts` TXT lookup together with the policy host's
//! addresses and one policy fetch per address family), and the TLS-RPT branch. Nothing waits
//! for anything it does not need: the policy is fetched without waiting for the TXT record,
//! and the SMTP probes do not wait for the TLSA records, because the DANE and PKIX verdicts
//! are computed from the recorded chain afterwards by the same pure functions senders use.
//! The critical path is MX → addresses → probe.
//!
//! Once the MX hosts and TLSA owners are known, the zones above every name the delivery
//! depends on are looked up for their keys and DS digests ([`zones`]).
//!
//! What was gathered ([`crate::observed`]) is then judged by [`crate::judge`], without
//! further I/O.

pub(crate) mod zones;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use futures::future::join_all;
use mxsec_net::dial::{DialError, Dialer};
use mxsec_net::dns::{Addresses, Dns, DnsError, MxSet, RData, RecordType, Resolved, TlsaLookup};
use mxsec_net::observation::{self, address_list, MailHost};
use mxsec_net::smtp_probe::{ProbeOptions, SMTP_PORT};
use mxsec_net::sts_fetch::{FetcherError, PolicyFetcher};
use mxsec_net::tls::Verification;
use mxsec_net::trust::TrustConfig;
use mxsec_proto::name::DomainName;
use rustls_pki_types::{TrustAnchor, UnixTime};
use time::OffsetDateTime;

use crate::judge::{self, Context};
use crate::observed::{
    AddressObserved, FetchObserved, HostObserved, Observed, RptObserved, StsObserved,
};
use crate::options::CheckOptions;
use crate::report::{Family, Report};
use crate::wrong_owner::{self, WrongOwner};

/// Why a [`Checker`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckerError {
    /// The MTA-STS policy fetcher could not be built.
    #[error("cannot set up the MTA-STS policy fetch: {0}")]
    Fetcher(#[from] FetcherError),
}

/// Audits domains. Cheap to clone; one checker serves any number of concurrent checks.
#[derive(Clone, Debug)]
pub struct Checker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dns: Dns,
    fetcher: PolicyFetcher,
    dialer: Dialer,
    roots: Arc<[TrustAnchor<'static>]>,
    os_roots: Option<Arc<[TrustAnchor<'static>]>>,
    options: CheckOptions,
}

impl Checker {
    /// A checker that looks up with `dns`, trusts `trust` for MTA-STS (policy host and MX
    /// certificates), and connects through `dialer`. When `trust` has an operating system
    /// store, every recorded chain is also validated against it (PKIX-01).
    ///
    /// # Errors
    ///
    /// [`CheckerError::Fetcher`] when the TLS configuration cannot be built.
    pub fn new(
        dns: Dns,
        trust: &TrustConfig,
        dialer: Dialer,
        options: CheckOptions,
    ) -> Result<Self, CheckerError> {
        let fetcher = PolicyFetcher::new(trust, dialer.clone())?;
        Ok(Self {
            inner: Arc::new(Inner {
                dns,
                fetcher,
                dialer,
                roots: trust.trust_anchors().into(),
                os_roots: trust.os_store_anchors().map(Into::into),
                options,
            }),
        })
    }

    /// Audits one domain. A broken configuration is never an error: it is in the report.
    pub async fn check(&self, domain: &DomainName) -> Report {
        let started = OffsetDateTime::now_utc();
        let clock = Instant::now();
        let now = UnixTime::now();
        let observed = self.gather(domain).await;
        let duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        judge::judge(
            &observed,
            &Context {
                now,
                started,
                duration_ms,
                roots: &self.inner.roots,
                os_roots: self.inner.os_roots.as_deref(),
                options: &self.inner.options,
            },
        )
    }

    async fn gather(&self, domain: &DomainName) -> Observed {
        let (mx, sts, rpt, apex_tlsa) = tokio::join!(
            self.mx_branch(domain),
            self.sts_branch(domain),
            self.rpt_branch(domain),
            self.apex_tlsa(domain),
        );
        let (mx, hosts) = mx;
        let broken_at = async {
            match &mx {
                Err(e) if e.is_bogus() => Some(self.find_break(domain).await),
                _ => None,
            }
        };
        let names = zone_names(domain, &hosts, &sts);
        let (broken_at, zones) = tokio::join!(
            broken_at,
            zones::lookup(&self.inner.dns, zones::ancestors(&names))
        );
        Observed {
            domain: domain.clone(),
            mx,
            broken_at,
            hosts,
            sts,
            rpt,
            apex_tlsa,
            zones,
        }
    }

    async fn mx_branch(
        &self,
        domain: &DomainName,
    ) -> (Result<Resolved<MxSet>, DnsError>, Vec<HostObserved>) {
        let mx = self.inner.dns.mx(domain).await;
        // The hosts a sender uses, as the daemon's resolver takes them (DANE-DISC-02).
        let targets = observation::mail_hosts(domain, &mx);
        let hosts = join_all(targets.into_iter().map(|target| self.host(target))).await;
        (mx, hosts)
    }

    /// One MX host: addresses and TLSA together, then every address probed in parallel.
    async fn host(&self, target: MailHost) -> HostObserved {
        let dns = &self.inner.dns;
        let MailHost {
            preference,
            name,
            alias,
        } = target;
        let (addresses, tlsa, probes) = if alias {
            // The TLSA base domain of an alias may be its target, and DANE senders send it as
            // SNI (RFC 7672 §8.1, DANE-AUTH-04): here the probes wait for the TLSA lookup.
            let (addresses, tlsa) = tokio::join!(dns.addresses(&name), dns.tlsa(&name, SMTP_PORT));
            let sni = tlsa
                .as_ref()
                .map_or_else(|_| name.clone(), |t| t.base_domain.clone());
            let probes = self.probe_all(&sni, &addresses).await;
            (addresses, tlsa, probes)
        } else {
            let probed = async {
                let addresses = dns.addresses(&name).await;
                let probes = self.probe_all(&name, &addresses).await;
                (addresses, probes)
            };
            let ((addresses, probes), tlsa) = tokio::join!(probed, dns.tlsa(&name, SMTP_PORT));
            (addresses, tlsa, probes)
        };
        let wrong_owners = self.wrong_owners(&name, &tlsa).await;
        HostObserved {
            preference,
            name,
            addresses,
            tlsa,
            probes,
            wrong_owners,
        }
    }

    /// The plausible wrong TLSA owners for `host` ([`wrong_owner::places`]) that hold
    /// records, whatever their DNSSEC status (SCENARIOS.md D-07). None when the host's own
    /// TLSA lookup failed: that failure is the finding.
    async fn wrong_owners(
        &self,
        host: &DomainName,
        tlsa: &Result<TlsaLookup, DnsError>,
    ) -> Vec<WrongOwner> {
        let Ok(lookup) = tlsa else {
            return Vec::new();
        };
        let expanded = lookup.host_chain.last().map(|hop| &hop.target);
        let has_records = lookup
            .answer
            .answer()
            .value_ignoring_security()
            .records()
            .is_some_and(|r| !r.is_empty());
        let places = wrong_owner::places(host, lookup.base, expanded, has_records);
        let found = join_all(places.into_iter().map(|place| async move {
            let resolved = self
                .inner
                .dns
                .lookup(&place.owner, RecordType::TLSA)
                .await
                .ok()?;
            let records = resolved
                .answer()
                .value_ignoring_security()
                .records()
                .is_some_and(|r| !r.is_empty());
            records.then_some(place)
        }))
        .await;
        found.into_iter().flatten().collect()
    }

    async fn probe_all(&self, sni: &DomainName, addresses: &Addresses) -> Vec<AddressObserved> {
        join_all(
            address_list(addresses)
                .into_iter()
                .map(|ip| self.probe(sni, ip)),
        )
        .await
    }

    /// Probes one address, unless the dialer's connect policy refuses it: then the refusal,
    /// which names the special-purpose block, is recorded instead (SCENARIOS.md N-01). The
    /// checker has no rule of its own here: [`Dialer::permits`] is the rule the connection
    /// itself would meet, judged on where it would go (after the testbed's address map).
    async fn probe(&self, sni: &DomainName, address: IpAddr) -> AddressObserved {
        let socket = SocketAddr::new(address, SMTP_PORT);
        if let Err(DialError::Refused { refusal, .. }) = self.inner.dialer.permits(socket) {
            return AddressObserved {
                address,
                probe: Err(refusal),
            };
        }
        let mut options = ProbeOptions::new(
            self.inner.options.ehlo_name.clone(),
            sni.clone(),
            // Observe: complete the handshake with any chain (its signatures are verified) and
            // record it; the DANE and PKIX verdicts are computed afterwards.
            Verification::Observe {
                dane: None,
                pkix: None,
            },
        );
        options.timeouts = self.inner.options.probe_timeouts;
        let report = (self.inner.options.prober)
            .probe(&self.inner.dialer, address, &options)
            .await;
        AddressObserved {
            address,
            probe: Ok(report),
        }
    }

    async fn sts_branch(&self, domain: &DomainName) -> StsObserved {
        let dns = &self.inner.dns;
        let txt_name = domain.prepend("_mta-sts").ok();
        let wrong_name = domain.prepend("_mta-sts.mta-sts").ok();
        let host = domain.prepend("mta-sts").ok();
        let txt = async {
            match &txt_name {
                Some(name) => Some(dns.txt(name).await),
                None => None,
            }
        };
        let wrong = async {
            match &wrong_name {
                Some(name) => dns.txt(name).await.ok(),
                None => None,
            }
        };
        let fetches = async {
            let Some(host) = &host else {
                return Vec::new();
            };
            let addresses = dns.addresses(host).await;
            let list = address_list(&addresses);
            let per_family = [Family::Ipv4, Family::Ipv6].map(|family| {
                let first = list.iter().copied().find(|a| Family::of(*a) == family);
                async move {
                    let outcome = match first {
                        Some(address) => {
                            // Policy hosts of many domains share addresses: a bounded number
                            // of fetches to each at once, in a scan.
                            let _slot = self.inner.options.prober.policy_slot(address).await;
                            self.inner.fetcher.fetch(domain, address).await.ok()
                        }
                        None => None,
                    };
                    FetchObserved {
                        family,
                        address: first,
                        outcome,
                    }
                }
            });
            join_all(per_family).await
        };
        let (txt, wrong, fetches) = tokio::join!(txt, wrong, fetches);
        StsObserved {
            txt_name,
            txt,
            wrong_owner: wrong,
            host,
            fetches,
        }
    }

    async fn rpt_branch(&self, domain: &DomainName) -> RptObserved {
        let dns = &self.inner.dns;
        let name = domain.prepend("_smtp._tls").ok();
        let legacy = domain.prepend("_smtp-tlsrpt").ok();
        let (txt, legacy_txt) = tokio::join!(
            async {
                match &name {
                    Some(n) => Some(dns.txt(n).await),
                    None => None,
                }
            },
            async {
                match &legacy {
                    Some(n) => dns.txt(n).await.ok(),
                    None => None,
                }
            }
        );
        RptObserved {
            name,
            txt,
            legacy: legacy_txt,
        }
    }

    /// TLSA records at `_25._tcp.<domain>`, a common wrong place when the domain is not its
    /// own MX host (SCENARIOS.md D-07).
    async fn apex_tlsa(&self, domain: &DomainName) -> Option<Resolved<Vec<RData>>> {
        let owner = domain.prepend("_25._tcp").ok()?;
        self.inner.dns.lookup(&owner, RecordType::TLSA).await.ok()
    }

    /// Where the DNSSEC chain to `name` breaks: the highest ancestor whose DNSKEY lookup is
    /// bogus, or `name` itself when every zone above validates (then the RRset's own
    /// signatures are at fault).
    async fn find_break(&self, name: &DomainName) -> DomainName {
        let labels: Vec<&str> = name.labels().collect();
        for start in (0..labels.len()).rev() {
            let Ok(zone) = DomainName::parse(&labels[start..].join(".")) else {
                continue;
            };
            if let Err(e) = self.inner.dns.lookup(&zone, RecordType::DNSKEY).await {
                if e.is_bogus() {
                    return zone;
                }
            }
        }
        name.clone()
    }
}

/// The names whose zones are checked for their keys and DS digests: the domain, its MX
/// hosts, `_mta-sts.<domain>` and the TLSA owners (with the names their CNAMEs lead to).
fn zone_names(domain: &DomainName, hosts: &[HostObserved], sts: &StsObserved) -> Vec<DomainName> {
    let mut names = vec![domain.clone()];
    names.extend(sts.txt_name.iter().cloned());
    for host in hosts {
        names.push(host.name.clone());
        if let Ok(tlsa) = &host.tlsa {
            names.push(tlsa.owner.clone());
            names.push(tlsa.answer.canonical().clone());
        }
    }
    names
}
