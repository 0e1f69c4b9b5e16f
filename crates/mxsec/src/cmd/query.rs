//! `mxsec query`: the TLS policy for one destination, exactly as the Postfix daemon answers.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use mxsec_net::dial::ConnectPolicy;
use mxsec_proto::decision::{
    AddressState, DecisionConfig, LookupFailure, MxState, Observations, TlsaState,
};
use mxsec_proto::dnssec::Security;
use mxsec_proto::name::Destination;

use crate::cli::QueryArgs;
use crate::config::{bogus_hint, trust_anchor_name, Resolving};

pub(crate) async fn run(args: QueryArgs) -> Result<ExitCode> {
    if let Some(address) = &args.daemon {
        let payload =
            super::daemon::client::ask(address, &args.map, &args.destination, args.resolve.timeout)
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
    let resolving = Resolving::from_args(&args.resolve, ConnectPolicy::AnyAddress).await?;
    let (resolution, decision) = resolving.resolver().decide(&destination, &config).await;
    let payload = decision.socketmap_payload(&config);
    let mut out = std::io::stdout().lock();
    if args.json {
        let json = serde_json::json!({
            "answer": payload,
            "policy": decision.policy.level(),
            "reasons": decision.reasons,
            "resolution": resolution,
        });
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
