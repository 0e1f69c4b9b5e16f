//! Judging what the audit gathered: findings, the report sections and the verdict.
//!
//! Everything here is a pure function of the gathered data and the time, with no I/O: the
//! rules are the ones senders apply, taken from `mxsec-proto` (MTA-STS record and policy
//! parsers, TLSA classification and matching, the policy decision), so the checker cannot
//! disagree with the daemon.

mod address;
mod context;
mod dnssec;
mod hosts;
mod mx;
mod probe;
mod rpt;
mod stores;
mod sts;
mod tlsa;
mod verdict;

use mxsec_proto::decision::{decide, Observations};
use mxsec_proto::name::Destination;

use crate::observed::Observed;
use crate::report::{Report, Summary, SCHEMA_VERSION};
pub(crate) use context::Context;

/// Turns what was gathered into the report.
pub(crate) fn judge(observed: &Observed, cx: &Context<'_>) -> Report {
    let mut findings = Vec::new();
    let domain = &observed.domain;

    let mx = mx::judge(observed, &mut findings);
    dnssec::judge_zones(&observed.zones, &mut findings);
    dnssec::judge_tlsa_size(observed, &mut findings);
    let sts = sts::judge(observed, &mut findings);
    let mut hosts = hosts::judge(observed, &mx, sts.policy.as_ref(), cx, &mut findings);
    stores::policy_host(observed, cx, &mut findings);
    let dane = hosts::dane_summary(observed, &mx, &hosts, &mut findings);
    let tls_rpt = rpt::judge(observed, &mut findings);

    let observations = Observations {
        destination: Destination::Domain(domain.clone()),
        mx: mx.state.clone(),
        sts: sts.state.clone(),
    };
    let decision = decide(&observations, &cx.options.decision);
    let policy = decision.socketmap_payload(&cx.options.decision);
    let (verdict, senders) = verdict::verdict(
        &observations,
        &cx.options.decision,
        &hosts.facts,
        sts.verdict,
        dane,
        tls_rpt.verdict,
        policy,
    );
    rpt::missing_while_enforced(domain, &verdict, &mut findings);

    findings.sort_by(|a, b| {
        (a.severity, a.area, &a.id, &a.subject).cmp(&(b.severity, b.area, &b.id, &b.subject))
    });
    Report {
        schema_version: SCHEMA_VERSION,
        domain: domain.clone(),
        checked_at: cx.started,
        duration_ms: cx.duration_ms,
        verdict,
        senders,
        summary: Summary::of(&findings),
        findings,
        mx: crate::report::MxSection {
            kind: mx.kind,
            dnssec: mx.dnssec,
            broken_at: observed.broken_at.as_ref().map(ToString::to_string),
            hosts: std::mem::take(&mut hosts.reports),
        },
        mta_sts: sts.section,
        tls_rpt: tls_rpt.section,
    }
}
