//! The day's reports from a real store, written as files that read back.

use std::sync::Arc;

use mxsec_proto::tlsrpt::aggregate::{PolicyFailure, RecordedPolicy};
use mxsec_proto::tlsrpt::ingest::{read, Container};
use mxsec_proto::tlsrpt::postfix_log::{LogTime, Relay, Trust};
use mxsec_proto::tlsrpt::report::AppliedPolicy;
use mxsec_proto::tlsrpt::sessions::{Session, SessionOutcome};
use mxsec_proto::tlsrpt::ResultType;
use time::macros::{date, datetime};

use super::*;
use crate::store::{ReportBatch, SqliteStore};

fn name(s: &str) -> DomainName {
    DomainName::parse(s).expect("name")
}

fn reporter() -> Reporter {
    Reporter {
        organization_name: "Sender".into(),
        contact_info: "tlsrpt@sender.example".into(),
        submitter: name("sender.example"),
        sending_ip: None,
    }
}

fn verified(domain: &str) -> Session {
    Session {
        time: LogTime::Exact(datetime!(2026-12-05 10:00 UTC)),
        domain: name(domain),
        mx_host: format!("mx.{domain}"),
        relay: Some(Relay {
            host: format!("mx.{domain}"),
            ip: "192.0.2.25".parse().expect("address"),
        }),
        outcome: SessionOutcome::Tls {
            trust: Trust::Verified,
            verify: None,
        },
    }
}

#[tokio::test]
async fn rpt_del_01_day_reports_are_built_per_domain_and_written_as_gzip_files() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Arc::new(
        SqliteStore::open(dir.path().join("p.sqlite"))
            .await
            .expect("open the store"),
    );
    let day = date!(2026 - 12 - 05);
    let mut batch = ReportBatch::default();
    for domain in ["b.example", "a.example", "a.example", "mail.sender.example"] {
        let s = verified(domain);
        batch.change(day, name(domain), move |r| r.add_session(&s));
    }
    batch.change(day, name("c.example"), |r| {
        r.add_policy(RecordedPolicy {
            policy: AppliedPolicy::no_policy_found(name("c.example")),
            testing: false,
            failures: vec![PolicyFailure {
                result_type: ResultType::StsPolicyFetchError,
                reason_code: None,
                count: 1,
            }],
        });
    });
    store.apply(batch).await.expect("apply");

    let built = build_day(store.as_ref(), day, &reporter())
        .await
        .expect("build");
    let domains: Vec<&str> = built.iter().map(|b| b.policy_domain.as_str()).collect();
    // No report about the submitter's own domain (RPT-DEL-04's loop guard).
    assert_eq!(domains, ["a.example", "b.example", "c.example"]);
    let a = &built[0];
    assert_eq!(
        a.report.policies[0].summary.total_successful_session_count,
        2
    );
    assert_eq!(
        a.file_name,
        "sender.example!a.example!1796428800!1796515199!2026-12-05_a.example_sender.example.json.gz"
    );
    // Building again gives the same report id, for retries.
    let again = build_day(store.as_ref(), day, &reporter())
        .await
        .expect("build");
    assert_eq!(again, built);

    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    let paths = write_files(&out, &built).expect("write");
    assert_eq!(paths.len(), 3);
    let bytes = std::fs::read(&paths[0]).expect("read");
    assert_eq!(
        read(&bytes, Container::Gzip).expect("a valid .json.gz report"),
        std::slice::from_ref(&a.report)
    );
    // Nothing recorded that day: no report.
    assert!(
        build_day(store.as_ref(), date!(2026 - 12 - 04), &reporter())
            .await
            .expect("build")
            .is_empty()
    );
}
