//! From command-line arguments to the objects the libraries take. Every file is read here,
//! before any work, and a problem is reported with the file and what is wrong.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use mxsec_net::dial::{AddressMap, ConnectPolicy, Dialer};
use mxsec_net::dns::{Backend, Dns, DnsConfig, DnsError, TrustAnchorSource};
use mxsec_net::resolver::DestinationResolver;
use mxsec_net::sts_fetch::PolicyFetcher;
use mxsec_net::trust::{OsStore, TrustConfig};

use crate::cli::{DnssecMode, ResolveArgs};

/// The largest connect-map file read.
const MAX_CONNECT_MAP: u64 = 1 << 20;

/// Everything a resolving command needs, built from [`ResolveArgs`].
pub(crate) struct Resolving {
    pub(crate) dns: Arc<Dns>,
    pub(crate) fetcher: Arc<PolicyFetcher>,
    /// The WebPKI roots plus any `--ca-file`, and the operating system's store (`--os-store`)
    /// the checker compares them with.
    pub(crate) trust: TrustConfig,
    /// Connections to MX hosts and policy hosts, under the command's connect policy and
    /// through the testbed address map if any.
    pub(crate) dialer: Dialer,
}

impl Resolving {
    /// Loads the trust anchor, CA files and address map, and sets up DNS; every connection
    /// obeys `policy`.
    pub(crate) async fn from_args(args: &ResolveArgs, policy: ConnectPolicy) -> Result<Self> {
        let mut dns = DnsConfig::builder()
            .backend(match args.dnssec {
                DnssecMode::Validate => Backend::Validate,
                DnssecMode::TrustAd => Backend::TrustAd,
            })
            .timeout(args.timeout)
            .validation_cache_entries(args.validation_entries)
            .allow_non_loopback_resolver(args.trust_remote_resolver);
        if let Some(resolver) = args.resolver {
            dns = dns.nameserver(resolver);
        }
        if let Some(path) = &args.trust_anchor {
            if args.dnssec == DnssecMode::TrustAd {
                bail!("--trust-anchor applies to --dnssec validate; with trust-ad the resolver validates");
            }
            dns = dns.trust_anchor(TrustAnchorSource::File(path.clone()));
        }
        let dns = Dns::new(&dns.build()).await.context("cannot set up DNS")?;

        let mut trust = TrustConfig::webpki_roots();
        for path in &args.ca_file {
            trust = trust
                .add_ca_file(path)
                .with_context(|| format!("--ca-file {}", path.display()))?;
        }
        let trust = match &args.os_store {
            Some(path) => trust
                .with_os_store(&OsStore::Path(path.clone()))
                .with_context(|| format!("--os-store {}", path.display()))?,
            None => trust.with_os_store(&OsStore::System)?,
        };
        let mut dialer = Dialer::new(args.timeout).with_policy(policy);
        if let Some(path) = &args.connect_map {
            dialer = dialer.with_address_map(read_connect_map(path)?);
        }
        let fetcher = PolicyFetcher::new(&trust, dialer.clone())
            .context("cannot set up the MTA-STS policy fetcher")?
            .timeout(args.timeout);
        Ok(Self {
            dns: Arc::new(dns),
            fetcher: Arc::new(fetcher),
            trust,
            dialer,
        })
    }

    /// A destination resolver without a persistent policy cache.
    pub(crate) fn resolver(&self) -> DestinationResolver {
        DestinationResolver::new(self.dns.clone(), self.fetcher.clone(), None)
    }
}

/// The trust anchor DNSSEC answers are judged against, in words.
pub(crate) fn trust_anchor_name(args: &ResolveArgs) -> String {
    match (args.dnssec, &args.trust_anchor) {
        (DnssecMode::Validate, None) => "the IANA root trust anchor".to_owned(),
        (DnssecMode::Validate, Some(path)) => format!("the trust anchor in {}", path.display()),
        (DnssecMode::TrustAd, _) => "the resolver's trust anchor".to_owned(),
    }
}

/// The option that fixes a DNSSEC-bogus answer when the names are in a private signed
/// namespace, given how DNSSEC was set up. Bogus data is never used (RFC 4035 §5.5,
/// DANE-DNS-05), so without this a lookup looks like a mere failure or an absence.
pub(crate) fn bogus_hint(args: &ResolveArgs) -> String {
    match (args.dnssec, &args.trust_anchor) {
        (DnssecMode::Validate, None) => "names in a private signed namespace need its trust \
             anchor (--trust-anchor FILE) or a validating resolver that has it \
             (--dnssec trust-ad)"
            .to_owned(),
        (DnssecMode::Validate, Some(path)) => format!(
            "check that --trust-anchor {} holds the current DS or DNSKEY of the namespace's \
             root",
            path.display()
        ),
        (DnssecMode::TrustAd, _) => "the resolver validated it (--dnssec trust-ad): give the \
             resolver the namespace's trust anchor, or validate here with --dnssec validate \
             --trust-anchor FILE"
            .to_owned(),
    }
}

/// `error`, followed by [`bogus_hint`] when it is a DNSSEC validation failure.
pub(crate) fn explain_dns(error: &DnsError, args: &ResolveArgs) -> String {
    if error.is_bogus() {
        format!("{error}; {}", bogus_hint(args))
    } else {
        error.to_string()
    }
}

/// Reads `PUBLISHED LOCAL` socket address pairs, one per line (`#` starts a comment).
fn read_connect_map(path: &Path) -> Result<AddressMap> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CONNECT_MAP).read_to_string(&mut text))
        .with_context(|| format!("cannot read --connect-map {}", path.display()))?;
    let mut map = AddressMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(published), Some(local), None) = (fields.next(), fields.next(), fields.next())
        else {
            bail!(
                "{}:{}: expected `PUBLISHED-ADDR:PORT LOCAL-ADDR:PORT`",
                path.display(),
                number + 1
            );
        };
        let parse = |text: &str| {
            text.parse::<SocketAddr>().with_context(|| {
                format!(
                    "{}:{}: {text:?} is not ADDR:PORT",
                    path.display(),
                    number + 1
                )
            })
        };
        map.insert(parse(published)?, parse(local)?)
            .with_context(|| format!("{}:{}", path.display(), number + 1))?;
    }
    Ok(map)
}
