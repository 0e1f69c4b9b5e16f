//! The result of a run: one row per scenario, a summary, a table for terminals, and the same
//! as JSON (serde).

use std::fmt::Write as _;
use std::time::Duration;

use mxsec_testbed::scenario::{ExpectedDelivery, Scenario};
use serde::Serialize;

use crate::grade::{Graded, Observed};
use crate::{Grade, Policy};

/// The version of the JSON document; raised when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// One scenario's grade.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The scenario's key; its domain is `<key>.test`.
    pub scenario: &'static str,
    /// The SCENARIOS.md and CONFORMANCE.md IDs it reproduces.
    pub ids: &'static [&'static str],
    /// What a correct sender does (`authenticated`, `encrypted`, `opportunistic`,
    /// `deferred`, `bounced`).
    pub expected: &'static str,
    /// What the sender under test did.
    pub observed: String,
    /// The grade.
    pub grade: Grade,
    /// Why the observation earns the grade; empty for a pass.
    pub why: String,
    /// The RFC rule behind the expectation.
    pub rule: &'static str,
}

impl Row {
    /// The row of `scenario`, graded by `grade` against its expected delivery; a scenario
    /// without one (which the catalogue's tests forbid) is `no-result`.
    pub fn new(
        scenario: &'static Scenario,
        observed: &Observed,
        grade: impl FnOnce(&ExpectedDelivery) -> Graded,
    ) -> Self {
        let Some(expected) = scenario.expected_delivery() else {
            return Self {
                scenario: scenario.key,
                ids: scenario.ids,
                expected: "unknown",
                observed: format!("{} arrival(s)", observed.arrivals.len()),
                grade: Grade::NoResult,
                why: "the scenario catalogue has no expected delivery for it".to_owned(),
                rule: "",
            };
        };
        let graded = grade(expected);
        Self {
            scenario: scenario.key,
            ids: scenario.ids,
            expected: expected.delivery.as_str(),
            observed: graded.observed,
            grade: graded.grade,
            why: graded.why,
            rule: expected.rule,
        }
    }
}

/// How many scenarios earned each grade.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// `pass`.
    pub pass: usize,
    /// `unsafe`.
    #[serde(rename = "unsafe")]
    pub unsafe_: usize,
    /// `over-strict`.
    #[serde(rename = "over-strict")]
    pub over_strict: usize,
    /// `no-result`.
    #[serde(rename = "no-result")]
    pub no_result: usize,
}

/// A whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The MTA under test (`postfix`, `external`).
    pub mta: &'static str,
    /// The policy server the ready-made Postfix asked, if any.
    pub policy: Option<&'static str>,
    /// How long the harness waited for outcomes, in seconds.
    pub time_limit_seconds: u64,
    /// The grades, in catalogue order.
    pub rows: Vec<Row>,
    /// The counts.
    pub summary: Summary,
}

impl Report {
    /// A report of `rows`.
    pub fn new(
        mta: &'static str,
        policy: Option<Policy>,
        time_limit: Duration,
        rows: Vec<Row>,
    ) -> Self {
        let mut summary = Summary::default();
        for row in &rows {
            *match row.grade {
                Grade::Pass => &mut summary.pass,
                Grade::Unsafe => &mut summary.unsafe_,
                Grade::OverStrict => &mut summary.over_strict,
                Grade::NoResult => &mut summary.no_result,
            } += 1;
        }
        Self {
            schema_version: SCHEMA_VERSION,
            mta,
            policy: policy.map(Policy::as_str),
            time_limit_seconds: time_limit.as_secs(),
            rows,
            summary,
        }
    }

    /// Whether any scenario is `unsafe`.
    pub fn has_unsafe(&self) -> bool {
        self.summary.unsafe_ > 0
    }

    /// The row of a scenario.
    pub fn row(&self, key: &str) -> Option<&Row> {
        self.rows.iter().find(|row| row.scenario == key)
    }

    /// One line: the MTA and the counts.
    pub fn summary_line(&self) -> String {
        let s = self.summary;
        format!(
            "{}{}: {} scenarios, {} pass, {} unsafe, {} over-strict, {} no-result",
            self.mta,
            self.policy.map_or(String::new(), |p| format!(" + {p}")),
            self.rows.len(),
            s.pass,
            s.unsafe_,
            s.over_strict,
            s.no_result
        )
    }

    /// The table for a terminal: scenario, expected, grade and observed on one line, the rule
    /// (and, unless it passed, why) indented below; the summary line last.
    pub fn table(&self) -> String {
        let width = self
            .rows
            .iter()
            .map(|row| row.scenario.len())
            .max()
            .unwrap_or(8)
            .max(8);
        let mut out = format!(
            "{:width$}  {:13}  {:11}  OBSERVED\n",
            "SCENARIO", "EXPECTED", "GRADE"
        );
        let indent = " ".repeat(width + 2);
        for row in &self.rows {
            let _ = writeln!(
                out,
                "{:width$}  {:13}  {:11}  {}",
                row.scenario,
                row.expected,
                row.grade.as_str(),
                row.observed
            );
            if !row.why.is_empty() {
                let _ = writeln!(out, "{indent}why:  {}", row.why);
            }
            let _ = writeln!(out, "{indent}rule: {}", row.rule);
        }
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }
}
