//! Tests of the report model and both renderers, on two hand-built reports: a healthy domain
//! and a broken one that exercises every optional part.

use time::macros::datetime;

use super::json::{self, Failure};
use super::text::{self, TextOptions, WIDTH};
use super::*;
use crate::catalogue::FindingKind;
use crate::finding::Subject;

fn name(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

fn leaf(host: &str) -> CertSummary {
    CertSummary {
        subject: format!("CN={host}"),
        issuer: "C=XX, O=mxsec testbed, CN=mxsec testbed intermediate R1".to_owned(),
        dns_names: vec![host.to_owned()],
        not_before: "2026-10-01T00:00:00Z".to_owned(),
        not_after: "2027-01-01T00:00:00Z".to_owned(),
        spki_sha256: "0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6".to_owned(),
    }
}

fn good_address(addr: &str, host: &str) -> AddressReport {
    AddressReport {
        address: addr.parse().unwrap(),
        tcp: TcpOutcome::Connected,
        connect_ms: Some(3),
        banner: Some(format!("220 {host} ESMTP")),
        starttls: StarttlsOutcome::Offered,
        tls: Some(TlsReport {
            version: Some("TLSv1.3".to_owned()),
            cipher: Some("TLS13_AES_256_GCM_SHA384".to_owned()),
            chain: vec![leaf(host)],
            pkix: PkixResult::Valid,
            name_matches: Some(true),
            days_to_expiry: Some(33),
            error: None,
        }),
        dane: Some(AddressDane {
            result: DaneResult::Authenticated,
            records: vec![RecordResult {
                record: RECORD.to_owned(),
                matched: true,
                detail: None,
            }],
        }),
        mta_sts: Some(AddressSts {
            pass: true,
            reason: None,
        }),
        error: None,
    }
}

const RECORD: &str = "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6";

fn sender(delivery: Delivery, reason: &str) -> SenderOutcome {
    SenderOutcome {
        delivery,
        reason: reason.to_owned(),
    }
}

fn report(domain: &str, findings: Vec<Finding>, hosts: Vec<MxHost>, verdict: Verdict) -> Report {
    let d = name(domain);
    Report {
        schema_version: SCHEMA_VERSION,
        checked_at: datetime!(2026-11-29 10:00:00 UTC),
        duration_ms: 412,
        senders: Senders {
            dane_and_mta_sts: sender(verdict.delivery, "every MX host authenticates with DANE"),
            dane: sender(
                Delivery::Authenticated,
                "every MX host matches its TLSA records",
            ),
            mta_sts: sender(Delivery::Authenticated, "every MX host passes the policy"),
            opportunistic: sender(Delivery::Opportunistic, "STARTTLS on every address"),
        },
        verdict,
        summary: Summary::of(&findings),
        findings,
        mx: MxSection {
            kind: MxKind::Mx,
            dnssec: DnsStatus::Secure,
            broken_at: None,
            hosts,
        },
        mta_sts: MtaStsSection {
            txt: TxtLookup {
                name: format!("_mta-sts.{domain}"),
                dnssec: DnsStatus::Secure,
                records: vec!["v=STSv1; id=20261101".to_owned()],
            },
            id: Some("20261101".to_owned()),
            policy_host: format!("mta-sts.{domain}"),
            fetches: vec![
                PolicyFetch {
                    family: Family::Ipv4,
                    address: Some("127.0.0.9".parse().unwrap()),
                    ok: true,
                    http_status: Some(200),
                    content_type: Some("text/plain".to_owned()),
                    bytes: Some(93),
                    duration_ms: Some(8),
                    error: None,
                },
                PolicyFetch {
                    family: Family::Ipv6,
                    address: None,
                    ok: false,
                    http_status: None,
                    content_type: None,
                    bytes: None,
                    duration_ms: None,
                    error: Some("no AAAA record".to_owned()),
                },
            ],
            policy: Some(PolicyReport {
                mode: Mode::Enforce,
                max_age: 604_800,
                mx: vec![format!("mx1.{domain}"), format!("*.{domain}")],
            }),
        },
        tls_rpt: TlsRptSection {
            txt: TxtLookup {
                name: format!("_smtp._tls.{domain}"),
                dnssec: DnsStatus::Secure,
                records: vec![format!("v=TLSRPTv1; rua=mailto:tlsrpt@{domain}")],
            },
            rua: vec![format!("mailto:tlsrpt@{domain}")],
            legacy_records: vec![],
        },
        domain: d,
    }
}

fn host(h: &str, pref: u16, addresses: Vec<AddressReport>) -> MxHost {
    MxHost {
        name: name(h),
        preference: Some(pref),
        canonical_name: None,
        dnssec: DnsStatus::Secure,
        addresses,
        tlsa: TlsaSet {
            owner: format!("_25._tcp.{h}"),
            dnssec: DnsStatus::Secure,
            records: vec![TlsaEntry {
                record: RECORD.to_owned(),
                usable: true,
                reason: None,
            }],
        },
        mta_sts: Some(StsCoverage {
            pattern: Some(h.to_owned()),
        }),
    }
}

fn healthy() -> Report {
    let h = name("mx1.good.example");
    let findings = vec![
        Finding::new(
            FindingKind::MxSecure,
            Subject::domain(&name("good.example")),
            "MX records validate",
        ),
        Finding::new(
            FindingKind::StarttlsOffered,
            Subject::address(&h, "127.0.0.2".parse().unwrap()),
            "STARTTLS offered",
        ),
        Finding::new(
            FindingKind::DaneNoNextKey,
            Subject::host(&h),
            "one `3 1 1` record and no next key",
        ),
    ];
    let hosts = vec![host(
        "mx1.good.example",
        10,
        vec![
            good_address("127.0.0.2", "mx1.good.example"),
            good_address("::1", "mx1.good.example"),
        ],
    )];
    report(
        "good.example",
        findings,
        hosts,
        Verdict {
            mta_sts: StsVerdict::Enforce,
            dane: DaneVerdict::Usable,
            tls_rpt: TlsRptVerdict::Present,
            policy: "OK dane-only".to_owned(),
            delivery: Delivery::Authenticated,
        },
    )
}

fn broken() -> Report {
    let d = name("broken.example");
    let h1 = name("mx1.broken.example");
    let h2 = name("mx2.with-a-rather-long-host-name-that-does-not-fit.broken.example");
    let mut masked = good_address("127.0.0.3", h1.as_str());
    masked.starttls = StarttlsOutcome::Masked;
    masked.banner = Some("220 ****************\r\n\x1b[31m".to_owned());
    masked.tls = None;
    masked.dane = Some(AddressDane {
        result: DaneResult::NoTls,
        records: vec![],
    });
    masked.mta_sts = Some(AddressSts {
        pass: false,
        reason: Some("STARTTLS masked".to_owned()),
    });
    let mut failed = good_address("2001:db8:ffff:ffff:ffff:ffff:ffff:fffe", h2.as_str());
    failed.tls = Some(TlsReport {
        version: Some("TLSv1.2".to_owned()),
        cipher: Some("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256".to_owned()),
        chain: vec![leaf("mail.provider.example")],
        pkix: PkixResult::NameMismatch,
        name_matches: Some(false),
        days_to_expiry: Some(-3),
        error: None,
    });
    failed.dane = Some(AddressDane {
        result: DaneResult::Failed,
        records: vec![RecordResult {
            record: RECORD.to_owned(),
            matched: false,
            detail: Some("the served key differs".to_owned()),
        }],
    });
    failed.mta_sts = Some(AddressSts {
        pass: false,
        reason: Some("certificate does not name the MX host".to_owned()),
    });
    let mut unreachable = good_address("127.0.0.4", h2.as_str());
    unreachable.tcp = TcpOutcome::Failed;
    unreachable.starttls = StarttlsOutcome::NotReached;
    unreachable.tls = None;
    unreachable.dane = None;
    unreachable.mta_sts = None;
    unreachable.error = Some("connection refused".to_owned());
    let mut hs = good_address("127.0.0.5", h2.as_str());
    hs.tls = Some(TlsReport {
        version: None,
        cipher: None,
        chain: vec![],
        pkix: PkixResult::NotChecked,
        name_matches: None,
        days_to_expiry: None,
        error: Some("peer sent alert protocol_version".to_owned()),
    });
    hs.dane = None;
    let mut host2 = host(h2.as_str(), 20, vec![failed, unreachable, hs]);
    host2.canonical_name = Some(name("mail.provider.example"));
    host2.mta_sts = Some(StsCoverage { pattern: None });
    host2.tlsa.records.push(TlsaEntry {
        record: format!("1 1 2 {}", "ab".repeat(64)),
        usable: false,
        reason: Some("PKIX-EE (1) is not usable for SMTP (RFC 7672 §3.1.3)".to_owned()),
    });
    let findings = vec![
        Finding::new(
            FindingKind::StarttlsMasked,
            Subject::address(&h1, "127.0.0.3".parse().unwrap()),
            "EHLO lists XXXXXXXA instead of STARTTLS, and STARTTLS is answered 500",
        ),
        Finding::new(
            FindingKind::DaneMismatch,
            Subject::address(
                &h2,
                "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe".parse().unwrap(),
            ),
            format!(
                "no usable TLSA record matches; the served key is 3 1 1 {}",
                "cd".repeat(32)
            ),
        ),
        Finding::new(
            FindingKind::StsMxNotCovered,
            Subject::host(&h2),
            "no mx pattern of the enforce policy matches this host",
        ),
        Finding::new(
            FindingKind::StsMaxAgeShort,
            Subject::domain(&d),
            "max_age 86400 (1 day) with mode enforce",
        ),
        Finding::new(
            FindingKind::MxIsCname,
            Subject::host(&h2),
            "the MX target is an alias of mail.provider.example",
        ),
        Finding::new(
            FindingKind::RptAbsent,
            Subject::domain(&d),
            "no TXT record at _smtp._tls.broken.example",
        ),
        Finding::new(
            FindingKind::StarttlsOffered,
            Subject::address(&h2, "127.0.0.5".parse().unwrap()),
            "STARTTLS offered",
        ),
        Finding::new(
            FindingKind::StarttlsOffered,
            Subject::address(
                &h2,
                "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe".parse().unwrap(),
            ),
            "STARTTLS offered",
        ),
    ];
    let mut r = report(
        "broken.example",
        findings,
        vec![host(h1.as_str(), 10, vec![masked]), host2],
        Verdict {
            mta_sts: StsVerdict::Enforce,
            dane: DaneVerdict::Usable,
            tls_rpt: TlsRptVerdict::Absent,
            policy: "OK dane-only".to_owned(),
            delivery: Delivery::Deferred,
        },
    );
    r.mx.dnssec = DnsStatus::Bogus;
    r.mx.broken_at = Some("broken.example".to_owned());
    r.tls_rpt.legacy_records = vec!["v=TLSRPTv1; rua=mailto:old@broken.example".to_owned()];
    r.tls_rpt.rua.clear();
    r.tls_rpt.txt.records.clear();
    r
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(json::SCHEMA).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_valid(v: &jsonschema::Validator, line: &str) {
    let instance: serde_json::Value = serde_json::from_str(line).unwrap();
    let errors: Vec<String> = v
        .iter_errors(&instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{line}");
}

#[test]
fn summary_counts_severities_and_sets_the_exit_status() {
    let good = healthy();
    assert_eq!(good.summary.errors, 0);
    assert_eq!(good.summary.passes, 2);
    assert_eq!(good.summary.infos, 1);
    assert_eq!(good.exit_status(), 0);
    let bad = broken();
    assert_eq!(bad.summary.errors, 3);
    assert_eq!(bad.exit_status(), 1);
    assert_eq!(
        bad.finding_ids(&[Severity::Error])
            .into_iter()
            .collect::<Vec<_>>(),
        ["D-01", "M-05", "T-01"]
    );
}

#[test]
fn json_lines_validate_against_the_schema_and_round_trip() {
    let v = validator();
    for r in [healthy(), broken()] {
        let line = json::to_line(&r);
        assert!(!line.contains('\n'));
        assert_valid(&v, &line);
        let back: Report = serde_json::from_str(&line).unwrap();
        assert_eq!(back, r);
    }
    assert_valid(
        &v,
        &json::failure_to_line(&Failure::new("a..b", "empty label in \"a..b\"")),
    );
}

#[test]
fn schema_rejects_a_verdict_value_outside_the_format() {
    let v = validator();
    let mut value = serde_json::to_value(healthy()).unwrap();
    value["verdict"]["delivery"] = "cleartext".into();
    assert!(!v.is_valid(&value));
    let mut value = serde_json::to_value(healthy()).unwrap();
    value["verdict"]["extra"] = "field".into();
    assert!(!v.is_valid(&value));
}

#[test]
fn verdict_json_has_exactly_the_specified_fields() {
    let value = serde_json::to_value(healthy()).unwrap();
    assert_eq!(
        value["verdict"],
        serde_json::json!({
            "mta_sts": "enforce",
            "dane": "usable",
            "tls_rpt": "present",
            "policy": "OK dane-only",
            "delivery": "authenticated",
        })
    );
    assert_eq!(serde_json::to_value(Delivery::NoMail).unwrap(), "no-mail");
}

#[test]
fn text_fits_100_columns_with_and_without_colour() {
    for r in [healthy(), broken()] {
        for color in [false, true] {
            for verbose in [false, true] {
                let out = text::render(&r, TextOptions { color, verbose });
                let plain = strip_ansi(&out);
                for line in plain.lines() {
                    assert!(
                        line.chars().count() <= WIDTH,
                        "{} columns: {line}",
                        line.chars().count()
                    );
                    assert_eq!(line, line.trim_end(), "trailing spaces: {line:?}");
                }
                assert_eq!(out.contains('\x1b'), color);
            }
        }
    }
}

#[test]
fn text_starts_with_the_summary() {
    let out = text::render(&broken(), TextOptions::default());
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("mxsec check broken.example"));
    assert!(lines[1].starts_with("FAIL  3 errors · 2 warnings · 1 note · 2 checks passed"));
    assert!(lines[3].contains("verdict   MTA-STS enforce · DANE usable · TLS-RPT absent"));
    assert!(lines[4].contains("Postfix   OK dane-only"));
    assert!(lines[5].contains("senders   DANE and MTA-STS  deferred"));
    let problems = lines.iter().position(|l| l.contains("T-01")).unwrap();
    let first_section = lines.iter().position(|l| *l == "MX and DNSSEC").unwrap();
    assert!(
        problems < first_section,
        "problems are listed in the summary"
    );
    assert!(out.contains("fix: Turn off SMTP/ESMTP inspection"));
    assert!(out.contains("[RFC 3207 §4]"));
    let good = text::render(&healthy(), TextOptions::default());
    assert!(good.lines().nth(1).unwrap().starts_with("OK "));
}

#[test]
fn text_never_passes_network_bytes_through() {
    let mut r = broken();
    r.mta_sts.txt.records = vec!["v=STSv1;\x1b[2J id=1\r\nforged line".to_owned()];
    let out = text::render(&r, TextOptions::default());
    assert!(!out.contains('\x1b'));
    assert!(!out.contains('\r'));
    assert!(!out.lines().any(|l| l.starts_with("forged line")));
}

#[test]
fn text_groups_findings_by_area() {
    let out = text::render(&broken(), TextOptions::default());
    let lines: Vec<&str> = out.lines().collect();
    let section = |title: &str| lines.iter().position(|l| *l == title).unwrap();
    let at = |id: &str| {
        let needle = format!(" {id} ");
        lines.iter().rposition(|l| l.contains(&needle)).unwrap()
    };
    assert!(section("MX and DNSSEC") < at("N-01") && at("N-01") < section("SMTP and TLS"));
    assert!(section("SMTP and TLS") < at("T-01") && at("T-01") < section("DANE"));
    assert!(section("DANE") < at("D-01") && at("D-01") < section("MTA-STS"));
    assert!(section("MTA-STS") < at("M-05") && at("M-05") < section("TLS-RPT"));
    assert!(section("TLS-RPT") < at("RPT-TXT-01"));
    assert!(out.contains("2 checks passed: STT-01 ×2"));
}
