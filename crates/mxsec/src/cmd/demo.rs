//! `mxsec demo`: every scenario of the simulated internet, checked by mxsec, with no network;
//! `mxsec demo --serve`: that internet served for other programs (the `serve` module).

mod serve;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures::future::join_all;
use mxsec_check::report::text::{self, TextOptions};
use mxsec_check::{CheckOptions, Checker};
use mxsec_net::dial::ConnectPolicy;
use mxsec_proto::decision::DecisionConfig;
use mxsec_proto::name::{Destination, DomainName};
use mxsec_testbed::scenario::Scenario;
use mxsec_testbed::Testbed;

use crate::cli::{DemoArgs, DnssecMode, ResolveArgs};
use crate::config::Resolving;

/// Width of the scenario column.
const KEY_WIDTH: usize = 25;
/// Width of the policy column.
const LEVEL_WIDTH: usize = 9;
/// Width of the delivery column.
const DELIVERY_WIDTH: usize = 13;

pub(crate) async fn run(args: DemoArgs) -> Result<ExitCode> {
    if args.serve {
        return serve::run(&args).await;
    }
    let chosen = match &args.scenario {
        Some(key) => match Scenario::find(key) {
            Some(s) => Some(s),
            None => bail!(
                "no scenario {key:?}; `mxsec demo` lists them all (e.g. {})",
                Scenario::all()[0].key
            ),
        },
        None => None,
    };
    let testbed = Testbed::start()
        .await
        .context("cannot start the simulated internet")?;
    let resolving =
        Resolving::from_args(&testbed_args(&testbed), ConnectPolicy::AnyAddress).await?;
    let resolver = resolving.resolver();
    let config = DecisionConfig::default();
    let mut out = std::io::stdout().lock();

    let checker = checker(&resolving)?;
    if let Some(scenario) = chosen {
        writeln!(out, "{} ({})", scenario.domain(), scenario.ids.join(", "))?;
        writeln!(out, "  {}", scenario.title)?;
        if !scenario.problem.is_empty() {
            writeln!(out, "  what is wrong: {}", scenario.problem)?;
        }
        writeln!(out)?;
        let report = checker.check(&DomainName::parse(&scenario.domain())?).await;
        let color = std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        write!(
            out,
            "{}",
            text::render(
                &report,
                TextOptions {
                    color,
                    verbose: false
                }
            )
        )?;
        return Ok(ExitCode::SUCCESS);
    }

    let results = join_all(Scenario::all().iter().map(|scenario| {
        let (resolver, checker) = (&resolver, &checker);
        async move {
            let destination = Destination::parse(&scenario.domain())?;
            let domain = DomainName::parse(&scenario.domain())?;
            let ((_, decision), report) = tokio::join!(
                resolver.decide(&destination, &config),
                checker.check(&domain)
            );
            anyhow::Ok((scenario, decision, report))
        }
    }))
    .await;
    writeln!(
        out,
        "{:KEY_WIDTH$} {:LEVEL_WIDTH$} {:DELIVERY_WIDTH$} WHAT IS WRONG",
        "SCENARIO", "POLICY", "DELIVERY"
    )?;
    let mut unexpected = Vec::new();
    for result in results {
        let (scenario, decision, report) = result?;
        let answer = decision.socketmap_payload(&config);
        if !scenario.expected_query().matches(&answer) {
            unexpected.push(format!("{}: {answer}", scenario.key));
        }
        let problem = if scenario.problem.is_empty() {
            "nothing"
        } else {
            scenario.problem
        };
        writeln!(
            out,
            "{:KEY_WIDTH$} {:LEVEL_WIDTH$} {:DELIVERY_WIDTH$} {}",
            scenario.key,
            decision.policy.level(),
            report.verdict.delivery.as_str(),
            truncate(problem, 100 - KEY_WIDTH - LEVEL_WIDTH - DELIVERY_WIDTH - 3)
        )?;
    }
    for line in &unexpected {
        writeln!(out, "unexpected answer: {line}")?;
    }
    writeln!(
        out,
        "\n{} scenarios. POLICY is what `mxsec daemon` tells Postfix (none = NOTFOUND, temp = \
         defer);\nDELIVERY is what a sender enforcing DANE and MTA-STS does (`mxsec check`).\n\
         `mxsec demo SCENARIO` shows the full `mxsec check` report of one.",
        Scenario::all().len()
    )?;
    Ok(if unexpected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The checker, pointed at the testbed like the resolver.
fn checker(resolving: &Resolving) -> Result<Checker> {
    let ehlo = DomainName::parse("demo.mxsec.invalid")?;
    Checker::new(
        (*resolving.dns).clone(),
        &resolving.trust,
        resolving.dialer.clone(),
        CheckOptions::new(ehlo),
    )
    .context("cannot set up the checker")
}

/// The resolving options that point mxsec at the testbed.
fn testbed_args(testbed: &Testbed) -> ResolveArgs {
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
        validation_entries: mxsec_net::dns::DEFAULT_VALIDATION_CACHE_ENTRIES,
    }
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}
