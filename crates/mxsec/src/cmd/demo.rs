//! `mxsec demo`: every scenario of the simulated internet, checked by mxsec, with no network.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures::future::join_all;
use mxsec_proto::decision::DecisionConfig;
use mxsec_proto::name::Destination;
use mxsec_testbed::scenario::Scenario;
use mxsec_testbed::Testbed;

use crate::cli::{DemoArgs, DnssecMode, ResolveArgs};
use crate::config::Resolving;

/// Width of the scenario column.
const KEY_WIDTH: usize = 25;
/// Width of the policy column.
const LEVEL_WIDTH: usize = 9;

pub(crate) async fn run(args: DemoArgs) -> Result<ExitCode> {
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
    let resolving = Resolving::from_args(&testbed_args(&testbed)).await?;
    let resolver = resolving.resolver();
    let config = DecisionConfig::default();
    let mut out = std::io::stdout().lock();

    if let Some(scenario) = chosen {
        let destination = Destination::parse(&scenario.domain())?;
        let (resolution, decision) = resolver.decide(&destination, &config).await;
        writeln!(out, "{} ({})", scenario.domain(), scenario.ids.join(", "))?;
        writeln!(out, "  {}", scenario.title)?;
        if !scenario.problem.is_empty() {
            writeln!(out, "  what is wrong: {}", scenario.problem)?;
        }
        writeln!(
            out,
            "\nPolicy server answer: {}",
            decision.socketmap_payload(&config)
        )?;
        writeln!(out, "\nWhy:")?;
        for reason in &decision.reasons {
            writeln!(out, "  [{}] {}", reason.rule, reason.text)?;
        }
        writeln!(out, "\nLookups:")?;
        serde_json::to_writer_pretty(&mut out, &resolution)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }

    let results = join_all(Scenario::all().iter().map(|scenario| {
        let resolver = &resolver;
        async move {
            let destination = Destination::parse(&scenario.domain())?;
            let (_, decision) = resolver.decide(&destination, &config).await;
            anyhow::Ok((scenario, decision))
        }
    }))
    .await;
    writeln!(
        out,
        "{:KEY_WIDTH$} {:LEVEL_WIDTH$} WHAT IS WRONG",
        "SCENARIO", "POLICY"
    )?;
    let mut unexpected = Vec::new();
    for result in results {
        let (scenario, decision) = result?;
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
            "{:KEY_WIDTH$} {:LEVEL_WIDTH$} {}",
            scenario.key,
            decision.policy.level(),
            truncate(problem, 100 - KEY_WIDTH - LEVEL_WIDTH - 2)
        )?;
    }
    for line in &unexpected {
        writeln!(out, "unexpected answer: {line}")?;
    }
    writeln!(
        out,
        "\n{} scenarios. POLICY is what `mxsec daemon` tells Postfix (none = NOTFOUND, temp = \
         defer).\n`mxsec demo SCENARIO` shows one in full.",
        Scenario::all().len()
    )?;
    Ok(if unexpected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
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
        timeout: Duration::from_secs(5),
        connect_map: Some(files.connect_map.clone()),
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
