//! `mxsec check --queue URL`: the scan spread over several machines through a Redis queue
//! ([`mxsec_check::scan::queue`]): `--enqueue` fills it, `--worker` checks its domains,
//! `--collect` prints the results.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use futures::stream::StreamExt;
use mxsec_check::scan::queue::{Queue, WorkerOptions, MAX_DELIVERIES};

use super::{checker, done, inputs};
use crate::cli::CheckArgs;

/// Runs the role the command line chose.
pub(super) async fn run(args: &CheckArgs, url: &str) -> Result<ExitCode> {
    let queue = Queue::connect_tls(
        url,
        &args.queue.name,
        &crate::config::redis_tls(&args.queue),
    )
    .await
    .context("cannot use the --queue server")?;
    if args.queue.worker {
        work(args, &queue).await
    } else if args.queue.collect {
        collect(&queue).await
    } else {
        enqueue(args, &queue).await
    }
}

/// `--enqueue`: the domains of the command line and of `--file`, less those of `--resume`.
async fn enqueue(args: &CheckArgs, queue: &Queue) -> Result<ExitCode> {
    let done = done(args).await?;
    let inputs = inputs(args).await?;
    let counts = queue
        .enqueue(inputs, &done)
        .await
        .with_context(|| format!("cannot fill the queue {}", queue.name()))?;
    eprintln!(
        "mxsec check: {} domains put on the queue {}{}",
        counts.enqueued,
        queue.name(),
        match counts.skipped {
            0 => String::new(),
            n => format!(", {n} skipped, already in --resume"),
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `--worker`: checks domains until every domain of the queue has a result.
async fn work(args: &CheckArgs, queue: &Queue) -> Result<ExitCode> {
    let checker = checker(args).await?;
    let consumer = args.queue.consumer.clone().unwrap_or_else(default_consumer);
    let options = WorkerOptions {
        consumer: consumer.clone(),
        in_flight: usize::from(args.concurrency),
        claim_idle: args.queue.claim_idle,
        max_deliveries: MAX_DELIVERIES,
    };
    let counts = queue
        .work(checker, options)
        .await
        .with_context(|| format!("worker {consumer} on the queue {} stopped", queue.name()))?;
    eprintln!(
        "mxsec check: worker {consumer} answered {} domains ({} taken over from silent \
         workers, {} answered meanwhile by another, {} given up after {MAX_DELIVERIES} \
         deliveries)",
        counts.answered, counts.claimed, counts.duplicates, counts.given_up
    );
    Ok(ExitCode::SUCCESS)
}

/// `--collect`: the results as JSON lines on standard output, as they are written.
async fn collect(queue: &Queue) -> Result<ExitCode> {
    let results = queue
        .collect()
        .await
        .with_context(|| format!("cannot read the results of the queue {}", queue.name()))?;
    let mut results = std::pin::pin!(results);
    while let Some(line) = results.next().await {
        let line =
            line.with_context(|| format!("cannot read the results of the queue {}", queue.name()))?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `HOST-PID`: unique among the workers of a queue, and says where each one runs.
fn default_consumer() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| String::from("mxsec"));
    format!("{host}-{}", std::process::id())
}
