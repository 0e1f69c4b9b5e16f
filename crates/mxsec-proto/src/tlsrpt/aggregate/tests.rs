use time::macros::{date, datetime};

use super::super::datagram::Datagram;
use super::super::postfix_log::{LogTime, Relay};
use super::*;

fn name(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

fn sts(testing: bool) -> RecordedPolicy {
    let mode = if testing { "testing" } else { "enforce" };
    RecordedPolicy {
        policy: AppliedPolicy {
            policy_type: PolicyType::Sts,
            policy_string: Some(vec![
                "version: STSv1".into(),
                format!("mode: {mode}"),
                "mx: *.mail.a.example".into(),
                "max_age: 86400".into(),
            ]),
            policy_domain: name("a.example"),
            mx_host: Some(vec!["*.mail.a.example".into()]),
        },
        testing,
        failures: Vec::new(),
    }
}

fn tlsa(mx: &str) -> RecordedPolicy {
    RecordedPolicy {
        policy: AppliedPolicy {
            policy_type: PolicyType::Tlsa,
            policy_string: Some(vec![
                "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6".into(),
            ]),
            policy_domain: name("a.example"),
            mx_host: Some(vec![mx.into()]),
        },
        testing: false,
        failures: Vec::new(),
    }
}

fn session(mx: &str, outcome: SessionOutcome) -> Session {
    Session {
        time: LogTime::Exact(datetime!(2026-12-05 10:00 UTC)),
        domain: name("a.example"),
        mx_host: mx.into(),
        relay: Some(Relay {
            host: mx.into(),
            ip: "192.0.2.25".parse().unwrap(),
        }),
        outcome,
    }
}

fn reporter() -> Reporter {
    Reporter {
        organization_name: "Sender Org".into(),
        contact_info: "tlsrpt@sender.example".into(),
        submitter: name("sender.example"),
        sending_ip: None,
    }
}

fn tls(trust: Trust, verify: Option<TlsFailure>) -> SessionOutcome {
    SessionOutcome::Tls { trust, verify }
}

/// A failure detail as (result type, reason code, count).
type Detail = (ResultType, Option<String>, u64);

/// The report's policies as (type, successes, failures, details).
fn shape(report: &Report) -> Vec<(PolicyType, u64, u64, Vec<Detail>)> {
    report
        .policies
        .iter()
        .map(|p| {
            (
                p.policy.policy_type,
                p.summary.total_successful_session_count,
                p.summary.total_failure_session_count,
                p.failure_details
                    .iter()
                    .flatten()
                    .map(|d| {
                        (
                            d.result_type,
                            d.failure_reason_code.clone(),
                            d.failed_session_count,
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn sts_app_02_testing_policy_sessions_are_judged_against_the_policy() {
    let mut day = DayReport::new(name("a.example"), date!(2026 - 12 - 05), vec![sts(true)]);
    day.add_session(&session("mx1.mail.a.example", tls(Trust::Trusted, None)));
    day.add_session(&session("mx1.mail.a.example", tls(Trust::Verified, None)));
    day.add_session(&session(
        "mx1.mail.a.example",
        tls(Trust::Untrusted, Some(TlsFailure::SelfSigned)),
    ));
    day.add_session(&session("mx1.mail.a.example", SessionOutcome::Plaintext));
    day.add_session(&session("mx.elsewhere.example", tls(Trust::Trusted, None)));
    let report = day.build(&reporter(), "r1").unwrap();
    assert_eq!(
        shape(&report),
        [(
            PolicyType::Sts,
            2,
            3,
            vec![
                (ResultType::StarttlsNotSupported, None, 1),
                (
                    ResultType::CertificateNotTrusted,
                    Some("X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT".into()),
                    1
                ),
                (
                    ResultType::ValidationFailure,
                    Some("mx-not-in-policy".into()),
                    1
                ),
            ]
        )]
    );
    let mx: Vec<_> = report.policies[0]
        .failure_details
        .iter()
        .flatten()
        .map(|d| d.receiving_mx_hostname.clone().unwrap())
        .collect();
    assert_eq!(
        mx,
        [
            "mx1.mail.a.example",
            "mx1.mail.a.example",
            "mx.elsewhere.example"
        ]
    );
}

#[test]
fn rpt_res_02_dane_failures_are_tlsa_invalid_and_dane_wins_over_sts() {
    let recorded = vec![sts(false), tlsa("mx1.mail.a.example")];
    let mut day = DayReport::new(name("a.example"), date!(2026 - 12 - 05), recorded);
    day.add_session(&session("mx1.mail.a.example", tls(Trust::Verified, None)));
    day.add_session(&session(
        "mx1.mail.a.example",
        SessionOutcome::Failed(TlsFailure::DaneNoMatch),
    ));
    day.add_session(&session(
        "mx1.mail.a.example",
        SessionOutcome::Failed(TlsFailure::UntrustedIssuer),
    ));
    day.add_session(&session(
        "mx2.mail.a.example",
        SessionOutcome::Failed(TlsFailure::Expired),
    ));
    let report = day.build(&reporter(), "r1").unwrap();
    let mut got = shape(&report);
    got.sort_by_key(|p| p.0 == PolicyType::Sts);
    assert_eq!(
        got,
        [
            (
                PolicyType::Tlsa,
                1,
                2,
                vec![
                    (
                        ResultType::TlsaInvalid,
                        Some("X509_V_ERR_DANE_NO_MATCH".into()),
                        1
                    ),
                    (
                        ResultType::TlsaInvalid,
                        Some("X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY".into()),
                        1
                    ),
                ]
            ),
            (
                PolicyType::Sts,
                0,
                1,
                vec![(
                    ResultType::CertificateExpired,
                    Some("X509_V_ERR_CERT_HAS_EXPIRED".into()),
                    1
                )]
            ),
        ]
    );
}

#[test]
fn rpt_res_03_policy_level_failures_are_reported_with_their_counts() {
    let mut cached = sts(false);
    cached.failures.push(PolicyFailure {
        result_type: ResultType::StsPolicyFetchError,
        reason_code: Some("connect-timeout".into()),
        count: 3,
    });
    let mut day = DayReport::new(name("a.example"), date!(2026 - 12 - 05), vec![cached]);
    day.add_session(&session("mx1.mail.a.example", tls(Trust::Verified, None)));
    let report = day.build(&reporter(), "r1").unwrap();
    assert_eq!(
        shape(&report),
        [(
            PolicyType::Sts,
            1,
            3,
            vec![(
                ResultType::StsPolicyFetchError,
                Some("connect-timeout".into()),
                3
            )]
        )]
    );
}

#[test]
fn rpt_json_02_no_policy_found_counts_tls_as_success() {
    let mut day = DayReport::new(name("a.example"), date!(2026 - 12 - 05), Vec::new());
    day.add_session(&session("mx.a.example", tls(Trust::Anonymous, None)));
    day.add_session(&session(
        "mx.a.example",
        tls(Trust::Untrusted, Some(TlsFailure::SelfSigned)),
    ));
    let report = day.build(&reporter(), "r1").unwrap();
    assert_eq!(shape(&report), [(PolicyType::NoPolicyFound, 2, 0, vec![])]);
    assert!(
        DayReport::new(name("a.example"), date!(2026 - 12 - 05), Vec::new())
            .build(&reporter(), "r1")
            .is_none()
    );
}

#[test]
fn rpt_json_02_datagram_policies_are_one_session_each() {
    let datagram = br#"{"dpv": "1","d": "a.example","pr": "v=TLSRPTv1; rua=mailto:r@a.example","policies":[{"policy-type":9,"policy-domain": "a.example","t":0,"f":0},{"policy-type":9,"policy-domain": "a.example","failure-details":[{"c":201,"n": "mx.a.example","r": "192.0.2.25"}],"t":1,"f":1}]}"#;
    let d = Datagram::parse(datagram).unwrap();
    let mut day = DayReport::new(name("a.example"), date!(2026 - 12 - 05), Vec::new());
    for p in &d.policies {
        day.add_datagram(p);
    }
    day.add_session(&session("mx.a.example", tls(Trust::Trusted, None)));
    let report = day.build(&reporter(), "r1").unwrap();
    assert_eq!(
        shape(&report),
        [(
            PolicyType::NoPolicyFound,
            2,
            1,
            vec![(ResultType::StarttlsNotSupported, None, 1)]
        )]
    );
}

#[test]
fn rpt_json_01_built_report_reads_back_and_rpt_del_01_file_name() {
    let mut day = DayReport::new(name("a.example"), date!(2026 - 12 - 05), vec![sts(true)]);
    day.add_session(&session("mx1.mail.a.example", SessionOutcome::Plaintext));
    let mut who = reporter();
    who.sending_ip = Some("198.51.100.7".parse().unwrap());
    let report = day
        .build(&who, "2026-12-05_a.example@sender.example")
        .unwrap();
    let json = serde_json::to_vec(&report).unwrap();
    let again = Report::from_json(&json).unwrap();
    assert_eq!(again, report);
    // RPT-TIME-01: one full UTC day.
    assert_eq!(
        report.date_range.start_datetime,
        datetime!(2026-12-05 00:00 UTC)
    );
    assert_eq!(
        report.date_range.end_datetime,
        datetime!(2026-12-05 23:59:59 UTC)
    );
    let detail = &report.policies[0].failure_details.as_ref().unwrap()[0];
    assert_eq!(
        detail.sending_mta_ip.as_ref().unwrap().as_str(),
        "198.51.100.7"
    );
    assert_eq!(
        file_name(&who.submitter, &report, &name("a.example")),
        "sender.example!a.example!1796428800!1796515199!2026-12-05_a.example_sender.example.json.gz"
    );
}

#[test]
fn no_report_to_a_domain_about_itself() {
    let me = name("sender.example");
    assert!(!reportable(&name("sender.example"), &me));
    assert!(!reportable(&name("mail.sender.example"), &me));
    assert!(reportable(&name("other.example"), &me));
    assert!(reportable(&name("xsender.example"), &me));
}

#[test]
fn rpt_time_01_utc_day_of_an_instant() {
    assert_eq!(
        utc_day(datetime!(2026-12-06 00:30 +01:00)),
        date!(2026 - 12 - 05)
    );
}
