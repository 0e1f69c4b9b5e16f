//! `mxsec conformance`: grades a sending MTA against every scenario (the `mxsec-conformance`
//! harness), as a table or JSON; exit status 1 on any `unsafe` grade.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use mxsec_conformance::{Environment, Mta, Options, Policy};
use mxsec_testbed::scenario::Scenario;

use crate::cli::{ConformanceArgs, MtaArg, PolicyArg};

pub(crate) async fn run(args: ConformanceArgs) -> Result<ExitCode> {
    let options = options(&args)?;
    let external = matches!(options.mta, Mta::External { .. });
    let report = tokio::task::spawn_blocking(move || {
        mxsec_conformance::run(&options, |env| {
            if external {
                explain_external(env);
            }
        })
    })
    .await
    .context("the conformance run stopped")??;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        out.write_all(report.table().as_bytes())?;
    }
    out.flush()?;
    Ok(if report.has_unsafe() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn options(args: &ConformanceArgs) -> Result<Options> {
    let mta = match (args.mta, args.inject) {
        (MtaArg::Postfix, None) => Mta::Postfix(match args.policy {
            PolicyArg::None => Policy::None,
            PolicyArg::Mxsec => Policy::Mxsec,
            PolicyArg::PostfixMtaStsResolver => Policy::MtaStsResolver,
        }),
        (MtaArg::Postfix, Some(_)) => {
            bail!(
                "--inject is for --mta external: the ready-made Postfix takes the messages itself"
            )
        }
        (MtaArg::External, Some(inject)) => Mta::External { inject },
        (MtaArg::External, None) => bail!("--mta external needs --inject HOST:PORT"),
    };
    let scenarios = if args.scenarios.is_empty() {
        Scenario::all().iter().collect()
    } else {
        args.scenarios
            .iter()
            .map(|key| {
                Scenario::find(key)
                    .with_context(|| format!("no scenario {key:?} (`mxsec demo` lists them)"))
            })
            .collect::<Result<_>>()?
    };
    Ok(Options {
        mta,
        netns: args.netns.clone(),
        mxsec: std::env::current_exe().context("cannot find the mxsec program")?,
        venv: args.venv.clone(),
        scenarios,
        time_limit: Duration::from_secs(args.time_limit),
    })
}

/// Tells the user what their MTA needs, then waits for Enter (or the end of standard input).
fn explain_external(env: &Environment) {
    eprintln!(
        "The simulated internet is up in network namespace {netns}. Run your MTA there \
         (ip netns exec {netns} ...), configured with:\n\
         \x20 resolver (validating, sets AD)  {resolver}  (/etc/netns/{netns}/resolv.conf says so)\n\
         \x20 CA file (WebPKI roots)          {ca}\n\
         \x20 DNSSEC trust anchor (DS)        {ds}\n\
         \x20 DNSSEC trust anchor (DNSKEY)    {dnskey}\n\
         \x20 accepting mail on               {inject}\n\
         Press Enter when it is ready; one message per scenario follows.",
        netns = env.netns,
        resolver = env.resolver.ip(),
        ca = env.ca_file.display(),
        ds = env.trust_anchor.display(),
        dnskey = env.trust_anchor_dnskey.display(),
        inject = env.inject,
    );
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
}
