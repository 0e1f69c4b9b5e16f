//! The TLS-RPT aggregate report (RFC 8460 §4), as serde types.
//!
//! Field names are exactly the RFC's (kebab-case):
//!
//! ```text
//! {
//!   "organization-name": organization-name,
//!   "date-range": {
//!     "start-datetime": date-time,
//!     "end-datetime": date-time
//!   },
//!   "contact-info": email-address,
//!   "report-id": report-id,
//!   "policies": [{
//!     "policy": {
//!       "policy-type": policy-type,
//!       "policy-string": policy-string,
//!       "policy-domain": domain,
//!       "mx-host": mx-host-pattern
//!     },
//!     "summary": {
//!       "total-successful-session-count": total-successful-session-count,
//!       "total-failure-session-count": total-failure-session-count
//!     },
//!     "failure-details": [{
//!       "result-type": result-type,
//!       "sending-mta-ip": ip-address,
//!       "receiving-mx-hostname": receiving-mx-hostname,
//!       "receiving-mx-helo": receiving-mx-helo,
//!       "receiving-ip": receiving-ip,
//!       "failed-session-count": failed-session-count,
//!       "additional-information": additional-info-uri,
//!       "failure-reason-code": failure-reason-code
//!     }]
//!   }]
//! }
//! ```
//!
//! Optional members are `Option`s, so that what was absent stays absent when a report is
//! written back. `mx-host` is an array (RFC 8460 erratum 6241); a single string, as in the
//! original Appendix B, is accepted when reading. Dates are RFC 3339 (RPT-JSON-01). Unknown
//! members are ignored, and not written back.
//! [`Report::from_json`] bounds the input and rejects malformed reports with an error.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::dane::tlsa::TlsaRecord;
use crate::mta_sts::policy::Policy;
use crate::name::DomainName;
use crate::tlsrpt::result_type::ResultType;

/// The largest report accepted by [`Report::from_json`], in bytes (16 MiB, uncompressed).
pub const MAX_REPORT_SIZE: usize = 16 * 1024 * 1024;

/// One TLS-RPT aggregate report (RFC 8460 §4.4; RPT-JSON-01).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Report {
    /// The name of the organisation that sends the report.
    pub organization_name: String,
    /// The period the report covers.
    pub date_range: DateRange,
    /// How to contact the reporting organisation (an e-mail address or URI).
    pub contact_info: String,
    /// A unique identifier of the report.
    pub report_id: String,
    /// One entry per policy applied; an array even with one policy (RPT-JSON-01).
    pub policies: Vec<PolicyResult>,
}

/// The reporting period (RFC 8460 §4.4), RFC 3339 date-times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DateRange {
    /// Start of the period.
    #[serde(with = "time::serde::rfc3339")]
    pub start_datetime: OffsetDateTime,
    /// End of the period.
    #[serde(with = "time::serde::rfc3339")]
    pub end_datetime: OffsetDateTime,
}

/// The results for one applied policy (RFC 8460 §4.4; RPT-JSON-02).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PolicyResult {
    /// The policy that was applied.
    pub policy: AppliedPolicy,
    /// Session counts.
    pub summary: Summary,
    /// Failures, grouped by kind and endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_details: Option<Vec<FailureDetail>>,
}

/// The policy a report section is about (RFC 8460 §4.4; RPT-JSON-02/03).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AppliedPolicy {
    /// The kind of policy.
    pub policy_type: PolicyType,
    /// The policy: TLSA records as `u s m hex`, or MTA-STS lines with one `mx:` per element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_string: Option<Vec<String>>,
    /// The policy domain, as A-labels (RPT-JSON-03).
    pub policy_domain: DomainName,
    /// MX host names or, for MTA-STS, the policy's `mx` patterns.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "one_or_many"
    )]
    pub mx_host: Option<Vec<String>>,
}

/// The `policy-type` (RFC 8460 §4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyType {
    /// A DANE TLSA policy.
    Tlsa,
    /// An MTA-STS policy.
    Sts,
    /// Neither was found.
    NoPolicyFound,
}

/// Session counts for one policy (RFC 8460 §4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Summary {
    /// Sessions that negotiated TLS and passed the policy.
    pub total_successful_session_count: u64,
    /// Sessions that failed.
    pub total_failure_session_count: u64,
}

/// One group of failed sessions (RFC 8460 §4.4; RPT-JSON-02, RPT-RES-01…04).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FailureDetail {
    /// What went wrong.
    pub result_type: ResultType,
    /// The sending MTA's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sending_mta_ip: Option<ReportIp>,
    /// The MX host name the sender tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_mx_hostname: Option<String>,
    /// The name the receiving MTA gave in its greeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_mx_helo: Option<String>,
    /// The receiving MTA's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_ip: Option<ReportIp>,
    /// How many sessions failed this way.
    pub failed_session_count: u64,
    /// A URI or text with more detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_information: Option<String>,
    /// A code for the failure, e.g. an OpenSSL error name (RPT-RES-04).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason_code: Option<String>,
}

/// An IP address in a report: the address, and the text it was written as, so that a report
/// read and written again is unchanged (`2001:db8:abcd:0012::1` stays as written).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReportIp {
    addr: IpAddr,
    text: String,
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The report is larger than [`MAX_REPORT_SIZE`].
    #[error("the report is {size} bytes; the limit is {MAX_REPORT_SIZE}")]
    TooLarge {
        /// The size of the input.
        size: usize,
    },
    /// The input is not JSON, or not a report (RPT-JSON-01/02); the message has the member
    /// at fault, line and column.
    #[error("not a valid TLS-RPT report: {}{source}", path.as_ref().map(|p| format!("at `{p}`: ")).unwrap_or_default())]
    Json {
        /// The member at fault, e.g. `policies[0].summary.total-failure-session-count`; `None`
        /// when the text is not JSON at all or the fault is in the top-level object.
        path: Option<String>,
        /// What is wrong, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// `end-datetime` is before `start-datetime`.
    #[error("date-range ends ({end}) before it starts ({start})")]
    DateRangeReversed {
        /// The start.
        start: OffsetDateTime,
        /// The end.
        end: OffsetDateTime,
    },
}

impl Report {
    /// Reads a report from its JSON text (uncompressed), bounded by [`MAX_REPORT_SIZE`].
    ///
    /// # Errors
    ///
    /// Returns a [`ReportError`] for oversized input, invalid JSON, a missing or mistyped
    /// member, or a date range that ends before it starts.
    pub fn from_json(json: &[u8]) -> Result<Self, ReportError> {
        if json.len() > MAX_REPORT_SIZE {
            return Err(ReportError::TooLarge { size: json.len() });
        }
        let mut de = serde_json::Deserializer::from_slice(json);
        let report: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            ReportError::Json {
                path: (path != "." && path != "?").then_some(path),
                source: e.into_inner(),
            }
        })?;
        de.end()
            .map_err(|source| ReportError::Json { path: None, source })?;
        let DateRange {
            start_datetime: start,
            end_datetime: end,
        } = report.date_range;
        if end < start {
            return Err(ReportError::DateRangeReversed { start, end });
        }
        Ok(report)
    }
}

impl AppliedPolicy {
    /// The `policy` member for an MTA-STS policy: its canonical lines and `mx` patterns
    /// (RPT-JSON-02).
    pub fn sts(domain: DomainName, policy: &Policy) -> Self {
        Self {
            policy_type: PolicyType::Sts,
            policy_string: Some(policy.lines()),
            policy_domain: domain,
            mx_host: Some(policy.mx.iter().map(ToString::to_string).collect()),
        }
    }

    /// The `policy` member for a DANE policy: each TLSA record as `u s m hex` (RPT-JSON-02).
    pub fn tlsa(domain: DomainName, mx_host: &DomainName, records: &[TlsaRecord]) -> Self {
        Self {
            policy_type: PolicyType::Tlsa,
            policy_string: Some(records.iter().map(ToString::to_string).collect()),
            policy_domain: domain,
            mx_host: Some(vec![mx_host.to_string()]),
        }
    }

    /// The `policy` member when neither DANE nor MTA-STS applied.
    pub fn no_policy_found(domain: DomainName) -> Self {
        Self {
            policy_type: PolicyType::NoPolicyFound,
            policy_string: None,
            policy_domain: domain,
            mx_host: None,
        }
    }
}

impl ReportIp {
    /// The address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The address as written in the report.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl From<IpAddr> for ReportIp {
    fn from(addr: IpAddr) -> Self {
        Self {
            addr,
            text: addr.to_string(),
        }
    }
}

impl serde::Serialize for ReportIp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for ReportIp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let addr = text
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("{text:?} is not an IP address")))?;
        Ok(Self { addr, text })
    }
}

/// `mx-host` as an array, or as the single string of the original RFC 8460 Appendix B.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Some(
        match <OneOrMany as serde::Deserialize>::deserialize(d)? {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        },
    ))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::*;

    const APPENDIX_B: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/rfc8460-appendix-b.json"
    ));

    fn appendix_b() -> Report {
        Report::from_json(APPENDIX_B.as_bytes()).unwrap()
    }

    fn from_value(value: Value) -> Result<Report, ReportError> {
        Report::from_json(value.to_string().as_bytes())
    }

    #[test]
    fn rpt_json_01_rfc8460_appendix_b_deserialises() {
        let r = appendix_b();
        assert_eq!(r.organization_name, "Company-X");
        assert_eq!(r.contact_info, "sts-reporting@company-x.example");
        assert_eq!(r.report_id, "5065427c-23d3-47ca-b6e0-946ea0e8c4be");
        assert_eq!(
            r.date_range.start_datetime,
            time::macros::datetime!(2016-04-01 00:00:00 UTC)
        );
        assert_eq!(
            r.date_range.end_datetime,
            time::macros::datetime!(2016-04-01 23:59:59 UTC)
        );
        let [p] = r.policies.as_slice() else {
            panic!("one policy expected")
        };
        assert_eq!(p.policy.policy_type, PolicyType::Sts);
        assert_eq!(p.policy.policy_domain.as_str(), "company-y.example");
        assert_eq!(
            p.policy.mx_host.as_deref(),
            Some(["*.mail.company-y.example".to_owned()].as_slice())
        );
        assert_eq!(p.summary.total_successful_session_count, 5326);
        assert_eq!(p.summary.total_failure_session_count, 303);
        let details = p.failure_details.as_deref().unwrap();
        let types: Vec<ResultType> = details.iter().map(|d| d.result_type).collect();
        assert_eq!(
            types,
            [
                ResultType::CertificateExpired,
                ResultType::StarttlsNotSupported,
                ResultType::ValidationFailure
            ]
        );
        assert_eq!(
            details[0].sending_mta_ip.as_ref().unwrap().addr(),
            "2001:db8:abcd:12::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            details[1].receiving_ip.as_ref().unwrap().as_str(),
            "203.0.113.56"
        );
        assert_eq!(
            details[2].failure_reason_code.as_deref(),
            Some("X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED")
        );
        assert_eq!(details[2].failed_session_count, 3);
    }

    #[test]
    fn rpt_json_01_rfc8460_appendix_b_round_trips() {
        let original: Value = serde_json::from_str(APPENDIX_B).unwrap();
        let report = appendix_b();
        let written = serde_json::to_value(&report).unwrap();
        assert_eq!(written, original);
        let again = Report::from_json(serde_json::to_string(&report).unwrap().as_bytes()).unwrap();
        assert_eq!(again, report);
    }

    #[test]
    fn rpt_json_01_policies_must_be_an_array() {
        let mut v: Value = serde_json::from_str(APPENDIX_B).unwrap();
        let policy = v["policies"][0].clone();
        v["policies"] = policy;
        assert!(matches!(from_value(v), Err(ReportError::Json { .. })));
    }

    #[test]
    fn rpt_json_01_required_members() {
        for member in [
            "organization-name",
            "date-range",
            "contact-info",
            "report-id",
            "policies",
        ] {
            let mut v: Value = serde_json::from_str(APPENDIX_B).unwrap();
            v.as_object_mut().unwrap().remove(member);
            let err = from_value(v).unwrap_err();
            assert!(err.to_string().contains(member), "{member}: {err}");
        }
    }

    #[test]
    fn rpt_json_01_dates_are_rfc3339() {
        let mut v: Value = serde_json::from_str(APPENDIX_B).unwrap();
        // Seen in the wild: no time zone.
        v["date-range"]["start-datetime"] = json!("2016-04-01T00:00:00");
        assert!(matches!(from_value(v), Err(ReportError::Json { .. })));
        let mut v: Value = serde_json::from_str(APPENDIX_B).unwrap();
        v["date-range"]["start-datetime"] = json!("2016-04-02T00:00:00Z");
        assert!(matches!(
            from_value(v),
            Err(ReportError::DateRangeReversed { .. })
        ));
        let mut v: Value = serde_json::from_str(APPENDIX_B).unwrap();
        v["date-range"]["end-datetime"] = json!("2016-04-02T01:59:59+02:00");
        assert!(from_value(v).is_ok());
    }

    #[test]
    fn rpt_json_02_policy_types_and_optional_members() {
        let v = json!({
            "organization-name": "Sender",
            "date-range": {"start-datetime": "2024-01-01T00:00:00Z", "end-datetime": "2024-01-01T23:59:59Z"},
            "contact-info": "mailto:tlsrpt@sender.example",
            "report-id": "r1",
            "policies": [
                {"policy": {"policy-type": "no-policy-found", "policy-domain": "example.net"},
                 "summary": {"total-successful-session-count": 7, "total-failure-session-count": 0}},
                {"policy": {"policy-type": "tlsa", "policy-string": ["3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6"],
                            "policy-domain": "example.org", "mx-host": ["mx.example.org"]},
                 "summary": {"total-successful-session-count": 0, "total-failure-session-count": 1},
                 "failure-details": [{"result-type": "tlsa-invalid", "receiving-mx-helo": "mx1",
                                      "failed-session-count": 1}]}
            ]
        });
        let r = from_value(v.clone()).unwrap();
        assert_eq!(r.policies[0].policy.policy_type, PolicyType::NoPolicyFound);
        assert_eq!(r.policies[1].policy.policy_type, PolicyType::Tlsa);
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
    }

    #[test]
    fn rpt_json_02_mx_host_single_string_accepted() {
        // RFC 8460 as published had a string; erratum 6241 made it an array.
        let mut v: Value = serde_json::from_str(APPENDIX_B).unwrap();
        v["policies"][0]["policy"]["mx-host"] = json!("*.mail.company-y.example");
        let r = from_value(v).unwrap();
        assert_eq!(r, appendix_b());
    }

    #[test]
    fn rpt_json_02_malformed_members_rejected() {
        for (pointer, bad) in [
            ("/policies/0/policy/policy-type", json!("dane")),
            (
                "/policies/0/failure-details/0/result-type",
                json!("expired"),
            ),
            (
                "/policies/0/failure-details/0/sending-mta-ip",
                json!("2001:db8::g"),
            ),
            (
                "/policies/0/failure-details/0/failed-session-count",
                json!(-1),
            ),
            (
                "/policies/0/summary/total-failure-session-count",
                json!("303"),
            ),
            ("/policies/0/policy/policy-string", json!("version: STSv1")),
        ] {
            let mut v: Value = serde_json::from_str(APPENDIX_B).unwrap();
            *v.pointer_mut(pointer).unwrap() = bad;
            assert!(
                matches!(from_value(v), Err(ReportError::Json { .. })),
                "{pointer}"
            );
        }
    }

    #[test]
    fn rpt_json_02_errors_name_the_member_at_fault() {
        let mut v: Value = serde_json::from_str(APPENDIX_B).unwrap();
        v["policies"][0]["summary"]["total-failure-session-count"] = json!("303");
        let err = from_value(v).unwrap_err();
        assert!(
            matches!(&err, ReportError::Json { path: Some(p), .. }
            if p == "policies[0].summary.total-failure-session-count"),
            "{err}"
        );
        assert!(err
            .to_string()
            .contains("policies[0].summary.total-failure-session-count"));
        let mut v: Value = serde_json::from_str(APPENDIX_B).unwrap();
        v["policies"][0]["policy"]
            .as_object_mut()
            .unwrap()
            .remove("policy-domain");
        let err = from_value(v).unwrap_err().to_string();
        assert!(
            err.contains("policies[0].policy") && err.contains("policy-domain"),
            "{err}"
        );
        let err = Report::from_json(b"{").unwrap_err();
        assert!(matches!(err, ReportError::Json { path: None, .. }), "{err}");
    }

    #[test]
    fn rpt_json_03_policy_domain_must_be_a_domain_name() {
        let mut v: Value = serde_json::from_str(APPENDIX_B).unwrap();
        v["policies"][0]["policy"]["policy-domain"] = json!("not a domain");
        assert!(matches!(from_value(v), Err(ReportError::Json { .. })));
    }

    #[test]
    fn rpt_json_01_garbage_and_size_rejected() {
        for input in [
            &b""[..],
            b"null",
            b"[]",
            b"{",
            b"{}",
            b"\xff\xfe",
            APPENDIX_B.as_bytes().split_at(100).0,
        ] {
            assert!(Report::from_json(input).is_err());
        }
        let mut trailing = APPENDIX_B.to_owned();
        trailing.push_str("{}");
        assert!(Report::from_json(trailing.as_bytes()).is_err());
        let big = vec![b' '; MAX_REPORT_SIZE + 1];
        assert!(matches!(
            Report::from_json(&big),
            Err(ReportError::TooLarge { .. })
        ));
        let deep = "[".repeat(100_000);
        assert!(Report::from_json(deep.as_bytes()).is_err());
    }

    #[test]
    fn rpt_json_02_policy_builders() {
        let domain = DomainName::parse("company-y.example").unwrap();
        let policy = Policy::parse(
            b"version: STSv1\nmode: testing\nmx: *.mail.company-y.example\nmax_age: 86400\n",
        )
        .unwrap()
        .value;
        let applied = AppliedPolicy::sts(domain.clone(), &policy);
        assert_eq!(applied, appendix_b().policies[0].policy);
        let tlsa: TlsaRecord =
            "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6"
                .parse()
                .unwrap();
        let mx = DomainName::parse("mx.company-y.example").unwrap();
        let applied = AppliedPolicy::tlsa(domain.clone(), &mx, &[tlsa]);
        assert_eq!(
            serde_json::to_value(&applied).unwrap(),
            json!({"policy-type": "tlsa",
                   "policy-string": ["3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6"],
                   "policy-domain": "company-y.example", "mx-host": ["mx.company-y.example"]})
        );
        assert_eq!(
            serde_json::to_value(AppliedPolicy::no_policy_found(domain)).unwrap(),
            json!({"policy-type": "no-policy-found", "policy-domain": "company-y.example"})
        );
    }

    fn arb_detail() -> impl Strategy<Value = FailureDetail> {
        (
            proptest::sample::select(ResultType::ALL.to_vec()),
            proptest::option::of(any::<std::net::Ipv6Addr>()),
            proptest::option::of("[a-z]{1,8}\\.example"),
            proptest::option::of(any::<std::net::Ipv4Addr>()),
            any::<u32>(),
            proptest::option::of("[ -~]{0,20}"),
        )
            .prop_map(
                |(result_type, sender, mx, receiver, count, code)| FailureDetail {
                    result_type,
                    sending_mta_ip: sender.map(|a| ReportIp::from(IpAddr::V6(a))),
                    receiving_mx_hostname: mx,
                    receiving_mx_helo: None,
                    receiving_ip: receiver.map(|a| ReportIp::from(IpAddr::V4(a))),
                    failed_session_count: u64::from(count),
                    additional_information: None,
                    failure_reason_code: code,
                },
            )
    }

    fn arb_report() -> impl Strategy<Value = Report> {
        let policy = (
            "[a-z]{1,10}\\.example",
            proptest::option::of(proptest::collection::vec("[ -~]{0,30}", 0..4)),
            proptest::option::of(proptest::collection::vec(arb_detail(), 0..3)),
            any::<(u32, u32)>(),
        )
            .prop_map(|(domain, lines, details, (ok, failed))| PolicyResult {
                policy: AppliedPolicy {
                    policy_type: PolicyType::Sts,
                    policy_string: lines,
                    policy_domain: DomainName::parse(&domain).unwrap(),
                    mx_host: None,
                },
                summary: Summary {
                    total_successful_session_count: u64::from(ok),
                    total_failure_session_count: u64::from(failed),
                },
                failure_details: details,
            });
        (
            "\\PC{0,20}",
            0..2_000_000_000i64,
            0..86_400i64,
            proptest::collection::vec(policy, 0..3),
        )
            .prop_map(|(org, start, length, policies)| {
                let start = OffsetDateTime::from_unix_timestamp(start).unwrap();
                Report {
                    organization_name: org.clone(),
                    date_range: DateRange {
                        start_datetime: start,
                        end_datetime: start + time::Duration::seconds(length),
                    },
                    contact_info: format!("mailto:{org}"),
                    report_id: org,
                    policies,
                }
            })
    }

    proptest! {
        #[test]
        fn rpt_json_01_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Report::from_json(&bytes);
        }

        #[test]
        fn rpt_json_01_parser_never_panics_on_mutated_appendix_b(
            index in 0..APPENDIX_B.len(), byte in any::<u8>()
        ) {
            let mut bytes = APPENDIX_B.as_bytes().to_vec();
            bytes[index] = byte;
            let _ = Report::from_json(&bytes);
        }

        #[test]
        fn rpt_json_01_serialise_parse_round_trip(report in arb_report()) {
            let json = serde_json::to_string(&report).unwrap();
            prop_assert_eq!(Report::from_json(json.as_bytes()).unwrap(), report);
        }
    }
}
