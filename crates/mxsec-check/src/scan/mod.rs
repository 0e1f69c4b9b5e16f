//! The scan engine: [`Checker::check`] over a list of domains of any length, with bounded
//! work in flight, so that memory does not grow with the list.
//!
//! Domains are read as they are needed ([`input::lines`]), those a previous run already
//! answered are skipped ([`resume::Done`]), at most [`ScanOptions::concurrency`] checks run
//! at once, each on its own task so that they spread over every core, and the outcomes come
//! out as a stream, in input order or in completion order ([`Order`]). In input order a slow
//! domain holds back the ones after it, but never more than `concurrency` of them.
//!
//! Every check of a scan uses the same [`Checker`], so one DNS cache and one DNSSEC
//! validation state serve the whole run.
//!
//! [`queue`] spreads a scan over several machines: the domains on a Redis stream, checked by
//! workers that take over each other's domains when one of them dies.

pub mod input;
pub mod queue;
pub mod resume;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::future::Either;
use futures::stream::{Stream, StreamExt};
use mxsec_proto::name::DomainName;

use crate::report::json::{self, Failure};
use crate::{Checker, Report};

pub use resume::Done;

/// In which order outcomes come out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// The order of the input: a reader can pair lines, at the cost of a slow domain holding
    /// back the ones after it.
    #[default]
    Input,
    /// As each check ends: no domain waits for another.
    Completion,
}

/// How a scan runs.
#[derive(Clone, Copy, Debug)]
pub struct ScanOptions {
    /// The most checks in flight at once (at least one).
    pub concurrency: usize,
    /// The order of the outcomes.
    pub order: Order,
}

/// The outcome for one input line.
#[derive(Debug)]
pub enum Outcome {
    /// The domain was checked.
    Report(Box<Report>),
    /// The line could not be checked: it is no domain name, or the check itself failed.
    Failure(Failure),
}

impl Outcome {
    /// The outcome as one line of the JSON-lines format ([`json`]), without the line break.
    pub fn to_json_line(&self) -> String {
        match self {
            Self::Report(r) => json::to_line(r),
            Self::Failure(f) => json::failure_to_line(f),
        }
    }
}

/// Counts of a running scan, for a progress display; updated as the scan goes.
#[derive(Debug, Default)]
pub struct Progress {
    read: AtomicU64,
    skipped: AtomicU64,
    finished: AtomicU64,
}

/// The counts of [`Progress`] at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProgressCounts {
    /// Input lines read (domains and invalid lines, not blanks or comments).
    pub read: u64,
    /// Lines skipped because the results already hold them (`--resume`).
    pub skipped: u64,
    /// Checks finished.
    pub finished: u64,
}

impl Progress {
    /// The counts now.
    pub fn counts(&self) -> ProgressCounts {
        ProgressCounts {
            read: self.read.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            finished: self.finished.load(Ordering::Relaxed),
        }
    }
}

/// Checks every domain of `inputs` that `done` does not hold, `options.concurrency` at a
/// time, and yields the outcomes in `options.order`. An input error is yielded and ends the
/// scan. Must run inside a Tokio runtime: each check is a task of its own.
pub fn scan<S>(
    checker: Checker,
    inputs: S,
    done: Done,
    options: ScanOptions,
    progress: Arc<Progress>,
) -> impl Stream<Item = std::io::Result<Outcome>>
where
    S: Stream<Item = std::io::Result<String>>,
{
    let concurrency = options.concurrency.max(1);
    let counter = Arc::clone(&progress);
    let checks = inputs
        .filter(move |line| {
            let keep = match line {
                Ok(input) => {
                    counter.read.fetch_add(1, Ordering::Relaxed);
                    let keep = !answered(&done, input);
                    if !keep {
                        counter.skipped.fetch_add(1, Ordering::Relaxed);
                    }
                    keep
                }
                Err(_) => true,
            };
            futures::future::ready(keep)
        })
        .map(move |line| {
            let checker = checker.clone();
            let progress = Arc::clone(&progress);
            async move {
                let outcome = check_line(checker, line?).await;
                progress.finished.fetch_add(1, Ordering::Relaxed);
                Ok(outcome)
            }
        });
    match options.order {
        Order::Input => Either::Left(checks.buffered(concurrency)),
        Order::Completion => Either::Right(checks.buffer_unordered(concurrency)),
    }
}

/// Whether `done` holds `input`, as it was read or as its normalised name.
fn answered(done: &Done, input: &str) -> bool {
    done.contains(input) || DomainName::parse(input).is_ok_and(|d| done.contains(d.as_str()))
}

/// Checks one input line on a task of its own.
async fn check_line(checker: Checker, input: String) -> Outcome {
    let domain = match DomainName::parse(&input) {
        Ok(domain) => domain,
        Err(e) => return Outcome::Failure(Failure::new(input, e.to_string())),
    };
    match tokio::spawn(async move { checker.check(&domain).await }).await {
        Ok(report) => Outcome::Report(Box::new(report)),
        Err(e) => Outcome::Failure(Failure::new(input, format!("the check stopped: {e}"))),
    }
}
