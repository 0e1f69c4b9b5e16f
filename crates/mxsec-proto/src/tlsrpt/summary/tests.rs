//! Aggregation of the RFC 8460 Appendix B report and of reports built from the core model for
//! failing scenarios (the failure result types come from the DANE matcher itself).

use std::net::IpAddr;

use rcgen::{CertificateParams, KeyPair, PublicKeyData};
use rustls_pki_types::{CertificateDer, UnixTime};
use sha2::Digest;
use time::macros::{date, datetime};
use time::OffsetDateTime;

use super::*;
use crate::dane::matching::{self, ReferenceNames};
use crate::dane::tlsa::{CertUsage, MatchingType, Selector, TlsaRecord};
use crate::dane::usable;
use crate::mta_sts::policy::Policy;
use crate::tlsrpt::report::{
    AppliedPolicy, DateRange, FailureDetail, PolicyResult, ReportIp, Summary,
};

/// The time the checks run at: a fixed instant inside rcgen's default validity (1975-4096),
/// so that no test reads the clock (mxsec-proto/clippy.toml).
fn at_test_time() -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_780_272_000))
}

const APPENDIX_B: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/rfc8460-appendix-b.json"
));

fn name(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

fn appendix_b() -> Report {
    Report::from_json(APPENDIX_B.as_bytes()).unwrap()
}

fn ip(s: &str) -> Option<ReportIp> {
    Some(ReportIp::from(s.parse::<IpAddr>().unwrap()))
}

fn report(org: &str, id: &str, start: OffsetDateTime, policies: Vec<PolicyResult>) -> Report {
    Report {
        organization_name: org.to_owned(),
        date_range: DateRange {
            start_datetime: start,
            end_datetime: start + time::Duration::seconds(86_399),
        },
        contact_info: format!("mailto:tlsrpt@{org}"),
        report_id: id.to_owned(),
        policies,
    }
}

fn detail(result_type: ResultType, mx: &str, sender: &str, count: u64) -> FailureDetail {
    FailureDetail {
        result_type,
        sending_mta_ip: ip(sender),
        receiving_mx_hostname: Some(mx.to_owned()),
        receiving_mx_helo: None,
        receiving_ip: None,
        failed_session_count: count,
        additional_information: None,
        failure_reason_code: None,
    }
}

/// What a DANE sender reports after a renewal with a new key under a `3 1 1` record
/// (SCENARIOS.md D-01): the result type and reason code come from the matcher.
fn d01_failure(mx: &str, sender: &str, count: u64) -> (TlsaRecord, FailureDetail) {
    let old = KeyPair::generate().unwrap();
    let new = KeyPair::generate().unwrap();
    let record = TlsaRecord {
        usage: CertUsage::DaneEe,
        selector: Selector::Spki,
        matching: MatchingType::Sha256,
        data: sha2::Sha256::digest(old.subject_public_key_info()).to_vec(),
    };
    let cert = CertificateParams::new(vec![mx.to_owned()])
        .unwrap()
        .self_signed(&new)
        .unwrap();
    let chain = [CertificateDer::from(cert.der().to_vec())];
    let usable::RrsetUsability::Usable(set) =
        usable::classify(std::slice::from_ref(&record)).usability
    else {
        panic!("3 1 1 with a 32-octet digest is usable")
    };
    let failure =
        matching::verify(&chain, &set, &ReferenceNames::new(name(mx)), at_test_time()).unwrap_err();
    let mut d = detail(failure.result_type(), mx, sender, count);
    d.failure_reason_code = Some(failure.reason_code().to_owned());
    (record, d)
}

#[test]
fn rpt_json_02_rfc8460_appendix_b_summary() {
    let agg = summarise([&appendix_b()]);
    assert_eq!(agg.reports, 1);
    let [day] = agg.days.as_slice() else {
        panic!("one day expected: {agg:?}")
    };
    assert_eq!(day.policy_domain.as_str(), "company-y.example");
    assert_eq!(day.day, date!(2016 - 04 - 01));
    assert_eq!(day.successful_sessions, 5326);
    assert_eq!(day.failed_sessions, 303);
    assert_eq!(day.unclassified_failures, 0);
    assert_eq!(
        day.by_result_type,
        BTreeMap::from([
            (ResultType::StarttlsNotSupported, 200),
            (ResultType::CertificateExpired, 100),
            (ResultType::ValidationFailure, 3),
        ])
    );
    assert_eq!(day.by_receiving_mx["mx2.mail.company-y.example"], 200);
    assert_eq!(day.by_receiving_mx["mx-backup.mail.company-y.example"], 3);
    // Addresses are counted in canonical form: `2001:db8:abcd:0012::1` as written.
    assert_eq!(day.by_sending_ip["2001:db8:abcd:12::1"], 100);
    assert_eq!(day.by_sending_ip["198.51.100.62"], 3);
    assert_eq!(day.reporters, BTreeSet::from(["Company-X".to_owned()]));
    assert_eq!(day.policy_types, BTreeSet::from([PolicyTypeName::Sts]));
    assert!((day.failure_percent() - 303.0 * 100.0 / 5629.0).abs() < 1e-9);

    let order: Vec<(ResultType, &str, u64)> = agg
        .fix_first
        .iter()
        .map(|f| (f.result_type, f.receiving_mx.as_str(), f.failed_sessions))
        .collect();
    assert_eq!(
        order,
        [
            (
                ResultType::StarttlsNotSupported,
                "mx2.mail.company-y.example",
                200
            ),
            (
                ResultType::CertificateExpired,
                "mx1.mail.company-y.example",
                100
            ),
            (
                ResultType::ValidationFailure,
                "mx-backup.mail.company-y.example",
                3
            ),
        ]
    );
    assert!(agg.fix_first[0].fix.contains("STARTTLS"));
    assert_eq!(
        agg.fix_first[2].reason_codes,
        BTreeMap::from([("X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED".to_owned(), 3)])
    );
}

#[test]
fn rpt_json_02_generated_dane_and_sts_failures_aggregate_per_domain_and_day() {
    let domain = name("example.test");
    let (record, d01) = d01_failure("mx1.example.test", "192.0.2.1", 40);
    assert_eq!(d01.result_type, ResultType::TlsaInvalid);
    assert_eq!(d01.failure_reason_code.as_deref(), Some("dane-ee-mismatch"));
    let policy =
        Policy::parse(b"version: STSv1\nmode: enforce\nmx: mx1.example.test\nmax_age: 604800\n")
            .unwrap()
            .value;
    let day1 = datetime!(2026-11-01 00:00 UTC);
    let day2 = datetime!(2026-11-02 00:00 UTC);
    let dane = |id: &str, start, failures: Vec<FailureDetail>| {
        let failed = failures.iter().map(|f| f.failed_session_count).sum();
        report(
            "sender-a.example",
            id,
            start,
            vec![PolicyResult {
                policy: AppliedPolicy::tlsa(
                    domain.clone(),
                    &name("mx1.example.test"),
                    std::slice::from_ref(&record),
                ),
                summary: Summary {
                    total_successful_session_count: 10,
                    total_failure_session_count: failed,
                },
                failure_details: Some(failures),
            }],
        )
    };
    let reports = [
        dane("a1", day1, vec![d01.clone()]),
        dane("a2", day2, vec![d01.clone()]),
        report(
            "sender-b.example",
            "b1",
            // Late on day 1, local time east of UTC: still day 1 in UTC.
            datetime!(2026-11-02 01:00 +02:00),
            vec![PolicyResult {
                policy: AppliedPolicy::sts(domain.clone(), &policy),
                summary: Summary {
                    total_successful_session_count: 0,
                    // One more failure than detailed: the rest is unclassified.
                    total_failure_session_count: 8,
                },
                failure_details: Some(vec![
                    detail(
                        ResultType::StsPolicyFetchError,
                        "mx1.example.test",
                        "2001:db8::1",
                        5,
                    ),
                    detail(
                        ResultType::CertificateHostMismatch,
                        "MX1.Example.Test.",
                        "2001:db8::1",
                        2,
                    ),
                ]),
            }],
        ),
        report(
            "sender-b.example",
            "b2",
            day1,
            vec![PolicyResult {
                policy: AppliedPolicy::no_policy_found(name("other.test")),
                summary: Summary {
                    total_successful_session_count: 3,
                    total_failure_session_count: 0,
                },
                failure_details: None,
            }],
        ),
    ];
    let agg = summarise(&reports);
    assert_eq!(agg.reports, 4);
    let keys: Vec<(&str, Date)> = agg
        .days
        .iter()
        .map(|d| (d.policy_domain.as_str(), d.day))
        .collect();
    assert_eq!(
        keys,
        [
            ("example.test", date!(2026 - 11 - 01)),
            ("example.test", date!(2026 - 11 - 02)),
            ("other.test", date!(2026 - 11 - 01)),
        ]
    );
    let first = &agg.days[0];
    assert_eq!(first.successful_sessions, 10);
    assert_eq!(first.failed_sessions, 48);
    assert_eq!(first.unclassified_failures, 1);
    assert_eq!(
        first.policy_types,
        BTreeSet::from([PolicyTypeName::Tlsa, PolicyTypeName::Sts])
    );
    assert_eq!(
        first.by_receiving_mx,
        BTreeMap::from([("mx1.example.test".to_owned(), 47)])
    );
    assert_eq!(first.by_sending_ip["2001:db8::1"], 7);
    assert_eq!(first.reporters.len(), 2);
    assert_eq!(agg.days[2].failed_sessions, 0);

    let top = &agg.fix_first[0];
    assert_eq!(top.result_type, ResultType::TlsaInvalid);
    assert_eq!(top.failed_sessions, 80);
    assert_eq!(
        top.days,
        BTreeSet::from([date!(2026 - 11 - 01), date!(2026 - 11 - 02)])
    );
    assert_eq!(top.reason_codes["dane-ee-mismatch"], 80);
    assert!(top.fix.contains("_25._tcp.mx1.example.test"), "{}", top.fix);
    assert_eq!(
        agg.fix_first[1].result_type,
        ResultType::StsPolicyFetchError
    );
    assert!(agg.fix_first[1]
        .fix
        .contains("https://mta-sts.example.test/.well-known/mta-sts.txt"));
    assert_eq!(agg.fix_first.len(), 3);

    let json = serde_json::to_value(&agg).unwrap();
    assert_eq!(json["days"][0]["day"], "2026-11-01");
    assert_eq!(json["days"][0]["by_result_type"]["tlsa-invalid"], 40);
    assert_eq!(json["fix_first"][0]["days"][1], "2026-11-02");
    assert_eq!(json["days"][0]["policy_types"][0], "tlsa");
}

#[test]
fn rpt_del_08_same_report_twice_is_counted_once() {
    let mut aggregator = Aggregator::new();
    assert_eq!(aggregator.add(&appendix_b()), Added::Counted);
    assert_eq!(aggregator.add(&appendix_b()), Added::Duplicate);
    let mut other = appendix_b();
    other.report_id.push('2');
    assert_eq!(aggregator.add(&other), Added::Counted);
    let agg = aggregator.finish();
    assert_eq!((agg.reports, agg.duplicates), (2, 1));
    assert_eq!(agg.days[0].successful_sessions, 2 * 5326);
}

#[test]
fn rpt_json_02_missing_endpoints_and_huge_counts_do_not_panic() {
    let mut d = detail(ResultType::DnssecInvalid, "x", "192.0.2.1", u64::MAX);
    d.receiving_mx_hostname = None;
    d.sending_mta_ip = None;
    let r = report(
        "s",
        "1",
        datetime!(2026-01-01 00:00 UTC),
        vec![
            PolicyResult {
                policy: AppliedPolicy::no_policy_found(name("example.test")),
                summary: Summary {
                    total_successful_session_count: u64::MAX,
                    total_failure_session_count: 1,
                },
                failure_details: Some(vec![d.clone(), d]),
            };
            2
        ],
    );
    let agg = summarise([&r]);
    let day = &agg.days[0];
    assert_eq!(day.successful_sessions, u64::MAX);
    assert_eq!(day.by_receiving_mx[UNKNOWN], u64::MAX);
    assert_eq!(day.by_sending_ip[UNKNOWN], u64::MAX);
    assert_eq!(day.unclassified_failures, 0);
    assert!(agg.fix_first[0].fix.contains("the MX host"));
    assert!(day.failure_percent() >= 0.0);
}

#[test]
fn rpt_res_01_02_03_every_result_type_has_a_fix() {
    let domain = name("example.test");
    for r in ResultType::ALL {
        let fix = fix_for(r, &domain, "mx.example.test");
        assert!(fix.contains("example.test"), "{r}: {fix}");
        assert!(fix.contains('('), "{r} cites no ID: {fix}");
    }
}

#[test]
fn rpt_json_01_empty_aggregate() {
    let agg = summarise(std::iter::empty());
    assert_eq!(agg, Aggregate::default());
}
