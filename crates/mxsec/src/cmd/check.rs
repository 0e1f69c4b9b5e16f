//! `mxsec check`: audit domains, concurrently, and print the human report or JSON lines.
//!
//! The scan itself (streaming input, bounded work in flight, order, `--resume`) is
//! [`mxsec_check::scan`]; this module reads the command line and prints. `--summary` counts
//! the outcomes instead of printing them, and `--summary-of` summarises a finished scan
//! ([`super::summary`]).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use futures::future::Either;
use futures::stream::{self, Stream, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mxsec_check::prober::{ProbeLimits, Prober};
use mxsec_check::report::summary::Summarizer;
use mxsec_check::report::text::{self, TextOptions};
use mxsec_check::scan::{self, input, Done, Order, Outcome, Progress, ScanOptions};
use mxsec_check::{CheckOptions, Checker, FindingKind, Report};
use mxsec_net::dial::ConnectPolicy;
use mxsec_proto::decision::DecisionConfig;
use mxsec_proto::name::DomainName;
use tokio::io::{AsyncBufRead, BufReader};

use crate::cli::{CheckArgs, ColorChoice, OrderChoice, SummaryFormat};
use crate::config::network;

mod queue;

pub(crate) async fn run(args: CheckArgs) -> Result<ExitCode> {
    if let Some(path) = &args.summary_of {
        let format = args.summary.unwrap_or(SummaryFormat::Text);
        return super::summary::summary_of(path, format).await;
    }
    if let Some(url) = &args.queue.url {
        return queue::run(&args, url).await;
    }
    let done = done(&args).await?;
    let inputs = inputs(&args).await?;
    let checker = checker(&args).await?;

    let text_options = TextOptions {
        color: use_color(args.color),
        verbose: args.passes,
    };
    let total = args.file.is_none().then_some(args.domains.len());
    let progress = progress_bar(total);
    let counts = Arc::new(Progress::default());
    let scan_options = ScanOptions {
        concurrency: usize::from(args.concurrency),
        order: match args.order {
            OrderChoice::Input => Order::Input,
            OrderChoice::Completion => Order::Completion,
        },
    };
    let results = scan::scan(checker, inputs, done, scan_options, Arc::clone(&counts));
    let mut results = std::pin::pin!(results);

    let mut status = 0u8;
    let mut first = true;
    let mut hints = Hints::default();
    let mut summarizer = args.summary.map(|_| Summarizer::default());
    while let Some(outcome) = results.next().await {
        let outcome = outcome.context("cannot read the domain list")?;
        if let Some(summarizer) = &mut summarizer {
            match &outcome {
                Outcome::Report(r) => {
                    status = status.max(r.exit_status());
                    hints.note(r);
                    progress.set_message(r.domain.as_str().to_owned());
                    summarizer.add_report(r);
                }
                Outcome::Failure(f) => {
                    status = 2;
                    summarizer.add_failure(f);
                }
            }
            progress.inc(1);
            continue;
        }
        let rendered = match &outcome {
            Outcome::Report(r) => {
                status = status.max(r.exit_status());
                hints.note(r);
                progress.set_message(r.domain.as_str().to_owned());
                if args.json {
                    outcome.to_json_line()
                } else {
                    text::render(r, text_options)
                }
            }
            Outcome::Failure(f) => {
                status = 2;
                if args.json {
                    outcome.to_json_line()
                } else {
                    text::render_failure(&f.input, &f.error, text_options)
                }
            }
        };
        progress.inc(1);
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
    let counts = counts.counts();
    if counts.skipped > 0 {
        eprintln!(
            "mxsec check: {} domains skipped, already in --resume",
            counts.skipped
        );
    }
    if counts.read == 0 {
        bail!("no domain to check");
    }
    if let (Some(summarizer), Some(format)) = (&summarizer, args.summary) {
        let mut out = std::io::stdout().lock();
        out.write_all(super::summary::render(&summarizer.finish(), format).as_bytes())?;
        out.flush()?;
    }
    hints.print(&args);
    Ok(ExitCode::from(status))
}

/// The checker of a run, as the command line sets it up: one for every domain, so that they
/// share its DNS cache and its probes.
async fn checker(args: &CheckArgs) -> Result<Checker> {
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
    // One probe per (MX address, SNI name) for the whole run, within the connection limits.
    options.prober = Prober::shared(ProbeLimits {
        per_address: args.per_address,
        rate: args.rate,
        ..ProbeLimits::default()
    });
    Checker::new(
        (*resolving.dns).clone(),
        &resolving.trust,
        resolving.dialer.clone(),
        options,
    )
    .context("cannot set up the checker")
}

/// The inputs a previous run answered, from `--resume`.
async fn done(args: &CheckArgs) -> Result<Done> {
    match &args.resume {
        Some(path) => {
            let file = tokio::fs::File::open(path)
                .await
                .with_context(|| format!("cannot open --resume {}", path.display()))?;
            Done::read(BufReader::new(file))
                .await
                .with_context(|| format!("cannot read --resume {}", path.display()))
        }
        None => Ok(Done::default()),
    }
}

/// The domains of the command line, then those of `--file` as they are read.
async fn inputs(args: &CheckArgs) -> Result<impl Stream<Item = std::io::Result<String>>> {
    let given = stream::iter(args.domains.clone().into_iter().map(Ok));
    let reader: Option<Box<dyn AsyncBufRead + Send + Unpin>> = match &args.file {
        None => None,
        Some(path) if path == Path::new("-") => Some(Box::new(BufReader::new(tokio::io::stdin()))),
        Some(path) => {
            let file = tokio::fs::File::open(path)
                .await
                .with_context(|| format!("cannot read --file {}", path.display()))?;
            Some(Box::new(BufReader::new(file)))
        }
    };
    let listed = match reader {
        Some(reader) => Either::Left(input::lines(reader)),
        None => Either::Right(stream::empty()),
    };
    Ok(given.chain(listed))
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

/// A progress bar on standard error when it is a terminal and there is more than one domain
/// (or a list of unknown length); hidden otherwise.
fn progress_bar(total: Option<usize>) -> ProgressBar {
    if total.is_some_and(|n| n < 2) || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let length = total.map(|n| u64::try_from(n).unwrap_or(u64::MAX));
    let bar = ProgressBar::with_draw_target(length, ProgressDrawTarget::stderr());
    let template = if length.is_some() {
        "{bar:30} {pos}/{len} {elapsed} {wide_msg}"
    } else {
        "{pos} checked {elapsed} {per_sec} {wide_msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
