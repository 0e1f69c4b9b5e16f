//! From command-line arguments to the objects the libraries take. Every file is read here,
//! before any work (by [`mxsec_net::setup`]), and a problem is reported with the file and
//! what is wrong.

use std::time::Duration;

use anyhow::Result;
use mxsec_net::dial::ConnectPolicy;
use mxsec_net::dns::{Backend, DnsError};
use mxsec_net::redis_client::{ClientIdentity, RedisTls};
use mxsec_net::setup::{NetSettings, Network};
use mxsec_net::trust::OsStore;
use mxsec_testbed::Testbed;

use crate::cli::{DnssecMode, QueueArgs, ResolveArgs};

/// Loads the trust anchor, CA files and address map, and sets up DNS; every connection
/// obeys `policy`.
pub(crate) async fn network(args: &ResolveArgs, policy: ConnectPolicy) -> Result<Network> {
    let settings = NetSettings {
        dnssec: match args.dnssec {
            DnssecMode::Validate => Backend::Validate,
            DnssecMode::TrustAd => Backend::TrustAd,
        },
        resolver: args.resolver,
        trust_anchor: args.trust_anchor.clone(),
        trust_remote_resolver: args.trust_remote_resolver,
        ca_files: args.ca_file.clone(),
        os_store: args.os_store.clone().map_or(OsStore::System, OsStore::Path),
        timeout: args.timeout,
        connect_map: args.connect_map.clone(),
        connect_policy: policy,
        validation_entries: mxsec_net::dns::DEFAULT_VALIDATION_CACHE_ENTRIES,
    };
    Ok(Network::build(&settings).await?)
}

/// The resolving options that point mxsec at the testbed (`mxsec demo`, `mxsec web --demo`).
pub(crate) fn testbed_args(testbed: &Testbed) -> ResolveArgs {
    let files = testbed.files();
    ResolveArgs {
        resolver: Some(testbed.dns_addr()),
        dnssec: DnssecMode::Validate,
        trust_anchor: Some(files.trust_anchor.clone()),
        trust_remote_resolver: false,
        ca_file: vec![files.ca_file.clone()],
        os_store: Some(files.os_store.clone()),
        timeout: Duration::from_secs(5),
        connect_map: Some(files.connect_map.clone()),
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

/// The TLS settings of a rediss:// `--queue`: `--redis-ca-file`, `--redis-client-cert` and
/// `--redis-client-key`.
pub(crate) fn redis_tls(args: &QueueArgs) -> RedisTls {
    RedisTls {
        ca_file: args.redis_ca_file.clone(),
        client_identity: args
            .redis_client_cert
            .clone()
            .zip(args.redis_client_key.clone())
            .map(|(cert_file, key_file)| ClientIdentity {
                cert_file,
                key_file,
            }),
    }
}
