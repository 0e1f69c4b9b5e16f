//! `mxsec doctor`: the findings of `mxsec_conformance::doctor` for a running sender, as text
//! or JSON; exit status 1 when one is an error. With `--why DOMAIN`, the daemon's reasons for
//! its answer for DOMAIN instead; exit status 2 when they cannot be had.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use mxsec_conformance::doctor::{self, why, Options, Severity};

use crate::cli::DoctorArgs;

pub(crate) async fn run(args: DoctorArgs) -> Result<ExitCode> {
    if let Some(domain) = &args.why {
        return explain(&args, domain).await;
    }
    let options = Options {
        postconf: args.postconf,
        config_dir: args.config_dir,
        resolv_conf: args.resolv_conf,
        signed: args.signed,
        broken: args.broken,
        daemon_config: args.daemon_config,
        metrics: args.metrics,
        timeout: Duration::from_secs(args.timeout),
    };
    let findings = doctor::run(&options).await;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &findings)?;
        writeln!(out)?;
    } else if findings.is_empty() {
        writeln!(
            out,
            "Nothing to fix: Postfix validates DNSSEC and does DANE, its resolver validates, \
             and its policy daemon answers."
        )?;
    } else {
        for finding in &findings {
            writeln!(
                out,
                "{:7}  {}  {}: {}\n{:20}fix: {}",
                finding.severity.to_string(),
                finding.id,
                finding.subject,
                finding.message,
                "",
                finding.fix
            )?;
        }
    }
    out.flush()?;
    Ok(if findings.iter().any(|f| f.severity == Severity::Error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--why DOMAIN`.
async fn explain(args: &DoctorArgs, domain: &str) -> Result<ExitCode> {
    let addr = match (args.metrics, &args.daemon_config) {
        (Some(addr), _) => Ok(addr),
        (None, Some(config)) => why::metrics_addr(config),
        (None, None) => Ok(why::DEFAULT_METRICS.parse()?),
    };
    let timeout = Duration::from_secs(args.timeout);
    let answer = match addr {
        Ok(addr) => why::ask(addr, domain, args.map.as_deref(), timeout).await,
        Err(err) => Err(err),
    };
    let reasons = match answer {
        Ok(reasons) => reasons,
        Err(err) => {
            eprintln!("mxsec doctor --why: {err}");
            return Ok(ExitCode::from(2));
        }
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &reasons)?;
        writeln!(out)?;
    } else {
        out.write_all(why::render(&reasons).as_bytes())?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
