//! `mxsec check`: audit domains, concurrently, and print the human report or JSON lines.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use futures::stream::{self, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mxsec_check::report::json::{self, Failure};
use mxsec_check::report::text::{self, TextOptions};
use mxsec_check::{CheckOptions, Checker, FindingKind, Report};
use mxsec_net::dial::ConnectPolicy;
use mxsec_proto::decision::DecisionConfig;
use mxsec_proto::name::DomainName;

use crate::cli::{CheckArgs, ColorChoice};
use crate::config::network;

/// The largest domain list read with `--file`.
const MAX_LIST_BYTES: u64 = 64 << 20;

/// The outcome for one input line.
enum Outcome {
    Report(Box<Report>),
    Failure(Failure),
}

pub(crate) async fn run(args: CheckArgs) -> Result<ExitCode> {
    let mut inputs = args.domains.clone();
    if let Some(path) = &args.file {
        inputs.extend(read_list(path)?);
    }
    if inputs.is_empty() {
        bail!("no domain to check");
    }
    let ehlo = DomainName::parse(&args.ehlo)
        .with_context(|| format!("--ehlo {:?} is not a domain name", args.ehlo))?;
    let resolving = network(
        &args.resolve,
        ConnectPolicy::allowing_private(args.connect.allow_private),
    )
    .await?;
    let mut options = CheckOptions::new(ehlo);
    options.decision = DecisionConfig {
        strict_testing: args.strict_testing,
        tlsrpt: args.tlsrpt,
    };
    options.probe_timeouts.banner = args.resolve.timeout;
    options.probe_timeouts.command = args.resolve.timeout;
    options.probe_timeouts.handshake = args.resolve.timeout;
    options.probe_timeouts.total = args.resolve.timeout * 3;
    let checker = Checker::new(
        (*resolving.dns).clone(),
        &resolving.trust,
        resolving.dialer.clone(),
        options,
    )
    .context("cannot set up the checker")?;

    let text_options = TextOptions {
        color: use_color(args.color),
        verbose: args.passes,
    };
    let progress = progress_bar(inputs.len());
    let mut results = stream::iter(inputs)
        .map(|input| {
            let checker = checker.clone();
            let progress = progress.clone();
            async move {
                progress.set_message(input.clone());
                let outcome = match DomainName::parse(input.trim()) {
                    Ok(domain) => Outcome::Report(Box::new(checker.check(&domain).await)),
                    Err(e) => Outcome::Failure(Failure::new(input, e.to_string())),
                };
                progress.inc(1);
                outcome
            }
        })
        .buffered(usize::from(args.concurrency));

    let mut status = 0u8;
    let mut first = true;
    let mut hints = Hints::default();
    while let Some(outcome) = results.next().await {
        let rendered = match &outcome {
            Outcome::Report(r) => {
                status = status.max(r.exit_status());
                hints.note(r);
                if args.json {
                    json::to_line(r)
                } else {
                    text::render(r, text_options)
                }
            }
            Outcome::Failure(f) => {
                status = 2;
                if args.json {
                    json::failure_to_line(f)
                } else {
                    text::render_failure(&f.input, &f.error, text_options)
                }
            }
        };
        progress.suspend(|| -> Result<()> {
            let mut out = std::io::stdout().lock();
            if !args.json && !first {
                writeln!(out)?;
            }
            if args.json {
                writeln!(out, "{rendered}")?;
            } else {
                write!(out, "{rendered}")?;
            }
            out.flush()?;
            Ok(())
        })?;
        first = false;
    }
    progress.finish_and_clear();
    hints.print(&args);
    Ok(ExitCode::from(status))
}

/// What the reports suggest about the command line itself, said once on standard error
/// after every report.
#[derive(Default)]
struct Hints {
    /// A lookup was DNSSEC-bogus (D-05): the trust anchor may be the wrong one.
    bogus: bool,
    /// A special-purpose address was not probed (N-01).
    refused: bool,
}

impl Hints {
    fn note(&mut self, report: &Report) {
        for finding in &report.findings {
            match finding.kind {
                FindingKind::DnssecBogus | FindingKind::TlsaBogus => self.bogus = true,
                FindingKind::SpecialPurposeAddress => self.refused = true,
                _ => {}
            }
        }
    }

    fn print(&self, args: &CheckArgs) {
        if self.bogus {
            eprintln!(
                "mxsec check: DNSSEC validation against {} failed (bogus, D-05): {}",
                crate::config::trust_anchor_name(&args.resolve),
                crate::config::bogus_hint(&args.resolve)
            );
        }
        if self.refused && !args.connect.allow_private {
            eprintln!(
                "mxsec check: special-purpose addresses were not probed (N-01); to audit a \
                 private network from inside it, add --allow-private"
            );
        }
    }
}

/// Colour only for a terminal without `NO_COLOR` (https://no-color.org), unless forced.
fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// A progress bar on standard error when it is a terminal and there is more than one domain;
/// hidden otherwise.
fn progress_bar(total: usize) -> ProgressBar {
    if total < 2 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(
        Some(u64::try_from(total).unwrap_or(u64::MAX)),
        ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {wide_msg}") {
        bar.set_style(style);
    }
    bar
}

/// Reads one domain per line; blank lines and `#` comments are skipped; `-` is stdin.
fn read_list(path: &Path) -> Result<Vec<String>> {
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(MAX_LIST_BYTES)
            .read_to_string(&mut text)
            .context("cannot read the domain list from standard input")?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_LIST_BYTES).read_to_string(&mut text))
            .with_context(|| format!("cannot read --file {}", path.display()))?;
    }
    Ok(parse_list(&text))
}

fn parse_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_lists_skip_blank_lines_and_comments() {
        assert_eq!(
            parse_list("a.example\n\n# all of b\nb.example  # the second\n  c.example\r\n"),
            ["a.example", "b.example", "c.example"]
        );
    }
}
