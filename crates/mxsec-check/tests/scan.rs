//! The scan engine on the testbed: outcomes in input or completion order, one per domain,
//! invalid lines as failures, and `--resume` skipping what a results file holds.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::stream::{self, TryStreamExt};
use mxsec_check::prober::{ProbeLimits, Prober};
use mxsec_check::scan::{self, Done, Order, Outcome, Progress, ScanOptions};
use mxsec_check::Checker;
use mxsec_net::dial::ConnectPolicy;
use mxsec_testbed::scenario::Scenario;
use mxsec_testbed::Testbed;

use common::checker_on;

async fn checker(testbed: &Testbed) -> Checker {
    checker_with(testbed, Prober::direct()).await
}

async fn checker_with(testbed: &Testbed, prober: Prober) -> Checker {
    checker_on(testbed, ConnectPolicy::AnyAddress, |options| {
        options.prober = prober
    })
    .await
}

/// The inputs: a dozen scenario domains and one line that is no domain name.
fn inputs() -> Vec<String> {
    let mut lines: Vec<String> = Scenario::all()
        .iter()
        .take(12)
        .map(|s| s.domain().to_string())
        .collect();
    lines.insert(5, "not a domain!".to_owned());
    lines
}

fn key(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Report(r) => r.domain.as_str().to_owned(),
        Outcome::Failure(f) => f.input.clone(),
    }
}

async fn run(checker: &Checker, lines: &[String], done: Done, order: Order) -> Vec<Outcome> {
    let progress = Arc::new(Progress::default());
    let options = ScanOptions {
        concurrency: 4,
        order,
    };
    let inputs = stream::iter(lines.iter().cloned().map(Ok));
    let outcomes: Vec<Outcome> = scan::scan(checker.clone(), inputs, done, options, progress)
        .try_collect()
        .await
        .unwrap();
    outcomes
}

#[tokio::test(flavor = "multi_thread")]
async fn input_order_gives_one_outcome_per_line_in_order() {
    let testbed = Testbed::start().await.unwrap();
    let checker = checker(&testbed).await;
    let lines = inputs();
    let outcomes = run(&checker, &lines, Done::default(), Order::Input).await;
    let keys: Vec<String> = outcomes.iter().map(key).collect();
    assert_eq!(keys, lines);
    assert!(matches!(outcomes[5], Outcome::Failure(_)));
}

#[tokio::test(flavor = "multi_thread")]
async fn completion_order_gives_every_line_once() {
    let testbed = Testbed::start().await.unwrap();
    let checker = checker(&testbed).await;
    let lines = inputs();
    let outcomes = run(&checker, &lines, Done::default(), Order::Completion).await;
    assert_eq!(outcomes.len(), lines.len());
    let keys: BTreeSet<String> = outcomes.iter().map(key).collect();
    assert_eq!(keys, lines.iter().cloned().collect());
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_skips_what_the_results_hold_and_checks_the_rest() {
    let testbed = Testbed::start().await.unwrap();
    let checker = checker(&testbed).await;
    let lines = inputs();
    // A scan stopped after seven outcomes, its last line cut short.
    let first = run(&checker, &lines[..7], Done::default(), Order::Input).await;
    let mut results: String = first
        .iter()
        .map(|o| o.to_json_line() + "\n")
        .collect::<String>();
    let cut = first[6].to_json_line();
    results.truncate(results.len() - 1 - cut.len() / 2);
    let done = Done::read(results.as_bytes()).await.unwrap();
    assert_eq!(done.len(), 6);

    let progress = Arc::new(Progress::default());
    let options = ScanOptions {
        concurrency: 4,
        order: Order::Input,
    };
    let inputs = stream::iter(lines.clone().into_iter().map(Ok));
    let rest: Vec<Outcome> = scan::scan(checker, inputs, done, options, Arc::clone(&progress))
        .try_collect()
        .await
        .unwrap();
    let keys: Vec<String> = rest.iter().map(key).collect();
    assert_eq!(keys, lines[6..]);
    let counts = progress.counts();
    assert_eq!(counts.read, 13);
    assert_eq!(counts.skipped, 6);
    assert_eq!(counts.finished, 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shared_prober_probes_each_address_and_sni_once_with_the_same_verdicts() {
    let testbed = Testbed::start().await.unwrap();
    let prober = Prober::shared(ProbeLimits::default());
    let checker = checker_with(&testbed, prober.clone()).await;
    let mut lines = inputs();
    lines.remove(5);
    let once = run(&checker, &lines, Done::default(), Order::Input).await;
    let after_once = prober.stats();
    let twice = run(&checker, &lines, Done::default(), Order::Input).await;
    let after_twice = prober.stats();
    assert!(after_once.run > 0);
    assert_eq!(
        after_twice.run, after_once.run,
        "every probe of the second pass is reused"
    );
    assert_eq!(after_twice.requested, 2 * after_once.requested);
    for (a, b) in once.iter().zip(&twice) {
        let (Outcome::Report(a), Outcome::Report(b)) = (a, b) else {
            panic!("every line is a domain");
        };
        assert_eq!(a.verdict, b.verdict, "{}", a.domain.as_str());
    }
}
