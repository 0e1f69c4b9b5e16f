//! `mxsec doctor`: the findings of `mxsec_conformance::doctor` for a running sender, as text
//! or JSON; exit status 1 when one is an error.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use mxsec_conformance::doctor::{self, Options, Severity};

use crate::cli::DoctorArgs;

pub(crate) async fn run(args: DoctorArgs) -> Result<ExitCode> {
    let options = Options {
        postconf: args.postconf,
        config_dir: args.config_dir,
        resolv_conf: args.resolv_conf,
        signed: args.signed,
        broken: args.broken,
        daemon_config: args.daemon_config,
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
