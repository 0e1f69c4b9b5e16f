//! `mxsec query`: the TLS policy for one destination, exactly as the Postfix daemon answers.
//!
//! `--json` writes one [`QueryJson`] object: the answer, the policy level, the reasons and the
//! [`Resolution`] behind them, with a [`SCHEMA_VERSION`]. Its exact format is the JSON Schema
//! (draft 2020-12) in `crates/mxsec/schema/query.schema.json`, documented in
//! `docs/query-json.md`; a test validates the output for every testbed scenario against it.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use mxsec_net::dial::ConnectPolicy;
use mxsec_net::resolver::Resolution;
use mxsec_proto::decision::{
    AddressState, DecisionConfig, LookupFailure, MxState, Observations, Reason, TlsaState,
};
use mxsec_proto::dnssec::Security;
use mxsec_proto::name::Destination;

use crate::cli::QueryArgs;
use crate::config::{bogus_hint, network, trust_anchor_name};

/// The version of the `mxsec query --json` format. It changes when a field is removed or
/// renamed, changes meaning or type, or an enumerated field gains a value; new fields may
/// appear within a version.
const SCHEMA_VERSION: u32 = 1;

/// The object `mxsec query --json` writes.
#[derive(Debug, serde::Serialize)]
struct QueryJson<'a> {
    /// [`SCHEMA_VERSION`].
    schema_version: u32,
    /// The socketmap reply payload, exactly as `mxsec query` prints it (POSTFIX.md §4.4).
    answer: &'a str,
    /// The policy level: `none`, `dane`, `dane-only`, `encrypt`, `secure` or `temp`.
    policy: &'static str,
    /// Why the decision came out as it did (POSTFIX.md §4.5).
    reasons: &'a [Reason],
    /// Every lookup behind the decision.
    resolution: &'a Resolution,
}

pub(crate) async fn run(args: QueryArgs) -> Result<ExitCode> {
    if let Some(address) = &args.daemon {
        let payload = mxsec_server::socketmap::client::ask(
            address,
            &args.map,
            &args.destination,
            args.resolve.timeout,
        )
        .await?;
        writeln!(std::io::stdout().lock(), "{payload}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let destination = Destination::parse(&args.destination)
        .with_context(|| format!("{:?} is not a destination", args.destination))?;
    let config = DecisionConfig {
        strict_testing: args.strict_testing,
        tlsrpt: args.tlsrpt,
    };
    let resolving = network(&args.resolve, ConnectPolicy::AnyAddress).await?;
    let (resolution, decision) = resolving.resolver().decide(&destination, &config).await;
    let payload = decision.socketmap_payload(&config);
    let mut out = std::io::stdout().lock();
    if args.json {
        let json = QueryJson {
            schema_version: SCHEMA_VERSION,
            answer: &payload,
            policy: decision.policy.level(),
            reasons: &decision.reasons,
            resolution: &resolution,
        };
        serde_json::to_writer_pretty(&mut out, &json)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{payload}")?;
    }
    if bogus(&resolution.observations) {
        eprintln!(
            "mxsec query: DNSSEC validation against {} failed (bogus): {}",
            trust_anchor_name(&args.resolve),
            bogus_hint(&args.resolve)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether a lookup the decision rests on was DNSSEC-bogus (DANE-DNS-05).
fn bogus(observations: &Observations) -> bool {
    let failed = |f: &LookupFailure| matches!(f, LookupFailure::Bogus(_));
    match &observations.mx {
        MxState::Failed(f) => failed(f),
        MxState::NoSuchDomain { security } | MxState::NullMx { security } => {
            *security == Security::Bogus
        }
        MxState::Hosts { security, hosts } => {
            *security == Security::Bogus
                || hosts.iter().any(|h| {
                    matches!(&h.addresses, AddressState::Failed(f) if failed(f))
                        || matches!(&h.tlsa, TlsaState::Failed(f) if failed(f))
                })
        }
    }
}
