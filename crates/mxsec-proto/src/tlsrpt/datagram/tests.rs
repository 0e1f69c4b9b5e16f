//! Datagrams written byte for byte as libtlsrpt 0.5 writes them (`libtlsrpt.c`: the
//! `"name": "value"` attributes with a space, `,"policies":[{`, `"policy-type":%d`,
//! `,"t":%d,"f":%d}`), from the calls of its `doc/example.txt`.

use proptest::prelude::*;

use super::*;

/// A delivery request under construction, mirroring libtlsrpt's calls.
struct Request {
    out: String,
    policies: usize,
    strings: Vec<String>,
    mx: Vec<String>,
    failures: Vec<String>,
}

fn escape(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

impl Request {
    /// `tlsrpt_init_delivery_request(&dr, con, domain, record)`.
    fn new(domain: &str, record: &str) -> Self {
        Self {
            out: format!(
                "{{\"dpv\": \"1\",\"d\": {},\"pr\": {}",
                escape(domain),
                escape(record)
            ),
            policies: 0,
            strings: Vec::new(),
            mx: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// `tlsrpt_init_policy(dr, type, domain)`.
    fn init_policy(&mut self, policy_type: i32, domain: Option<&str>) {
        self.out.push_str(if self.policies == 0 {
            ",\"policies\":[{"
        } else {
            ",{"
        });
        self.out.push_str(&format!("\"policy-type\":{policy_type}"));
        if let Some(d) = domain {
            self.out
                .push_str(&format!(",\"policy-domain\": {}", escape(d)));
        }
        self.policies += 1;
    }

    /// `tlsrpt_add_policy_string`, `tlsrpt_add_mx_host_pattern`.
    fn string(&mut self, s: &str) {
        self.strings.push(escape(s));
    }

    fn mx(&mut self, s: &str) {
        self.mx.push(escape(s));
    }

    /// `tlsrpt_add_delivery_request_failure(dr, code, s, n, h, r, a, f)`.
    fn failure(&mut self, code: i32, fields: [Option<&str>; 6]) {
        let mut f = format!("{{\"c\":{code}");
        for (key, value) in ["s", "n", "h", "r", "a", "f"].iter().zip(fields) {
            if let Some(v) = value {
                f.push_str(&format!(",\"{key}\": {}", escape(v)));
            }
        }
        f.push('}');
        self.failures.push(f);
    }

    /// `tlsrpt_finish_policy(dr, result)`.
    fn finish_policy(&mut self, result: i32) {
        if !self.strings.is_empty() {
            self.out
                .push_str(&format!(",\"policy-string\":[{}]", self.strings.join(",")));
        }
        if !self.mx.is_empty() {
            self.out
                .push_str(&format!(",\"mx-host\":[{}]", self.mx.join(",")));
        }
        if !self.failures.is_empty() {
            self.out.push_str(&format!(
                ",\"failure-details\":[{}]",
                self.failures.join(",")
            ));
        }
        self.out
            .push_str(&format!(",\"t\":{},\"f\":{result}}}", self.failures.len()));
        self.strings.clear();
        self.mx.clear();
        self.failures.clear();
    }

    /// `tlsrpt_finish_delivery_request(&dr)`.
    fn finish(mut self) -> String {
        self.out.push_str("]}");
        self.out
    }
}

const RECORD: &str = "v=TLSRPTv1; rua=mailto:tlsrpt@company-y.example";

/// doc/example.txt, example 5: an MTA-STS and a TLSA policy, both failing.
fn example_5() -> String {
    let mut dr = Request::new("company-y.example", RECORD);
    dr.init_policy(2, Some("company-y.example"));
    for s in [
        "version: STSv1",
        "mode: testing",
        "mx: *.mail.company-y.example",
        "max_age: 86400",
    ] {
        dr.string(s);
    }
    dr.mx("*.mail.company-y.example");
    dr.mx("*.mail2.company-y.example");
    dr.failure(
        302,
        [
            Some("1.2.3.4"),
            Some("mailin.example.com"),
            Some("test-ehlo.example.com"),
            Some("11.22.33.44"),
            Some("This is additional information"),
            Some("999 TEST ERROR"),
        ],
    );
    dr.failure(
        303,
        [
            Some("1.2.3.5"),
            Some("mailin.example.com"),
            None,
            Some("2001:db8::25"),
            None,
            None,
        ],
    );
    dr.finish_policy(1);
    dr.init_policy(1, Some("company-y.example"));
    dr.string("3 0 1 1F850A337E6DB9C609C522D136A475638CC43E1ED424F8EEC8513D747D1D085D");
    dr.failure(204, [Some("1.2.3.4"), None, None, None, None, None]);
    dr.finish_policy(1);
    dr.finish()
}

#[test]
fn rpt_json_02_libtlsrpt_example_5_sts_and_tlsa_failures() {
    let text = example_5();
    assert!(text.starts_with("{\"dpv\": \"1\",\"d\": \"company-y.example\",\"pr\": "));
    let d = Datagram::parse(text.as_bytes()).unwrap();
    assert_eq!(d.domain.as_str(), "company-y.example");
    assert_eq!(d.record, RECORD);
    let [sts, tlsa] = d.policies.as_slice() else {
        panic!("two policies expected: {d:?}")
    };
    assert_eq!(sts.policy.policy_type, PolicyType::Sts);
    assert_eq!(
        sts.policy.policy_string.as_deref().unwrap()[1],
        "mode: testing"
    );
    assert_eq!(
        sts.policy.mx_host.as_deref().unwrap(),
        ["*.mail.company-y.example", "*.mail2.company-y.example"]
    );
    assert!(sts.failed);
    assert_eq!(sts.failures.len(), 2);
    let first = &sts.failures[0];
    assert_eq!(first.result_type, ResultType::StsPolicyInvalid);
    assert_eq!(first.sending_mta_ip.as_ref().unwrap().as_str(), "1.2.3.4");
    assert_eq!(
        first.receiving_mx_helo.as_deref(),
        Some("test-ehlo.example.com")
    );
    assert_eq!(first.failure_reason_code.as_deref(), Some("999 TEST ERROR"));
    assert_eq!(first.failed_session_count, 1);
    assert_eq!(sts.failures[1].result_type, ResultType::StsWebpkiInvalid);
    assert_eq!(
        sts.failures[1].receiving_ip.as_ref().unwrap().as_str(),
        "2001:db8::25"
    );
    assert_eq!(tlsa.policy.policy_type, PolicyType::Tlsa);
    assert_eq!(tlsa.failures[0].result_type, ResultType::CertificateExpired);
    assert_eq!(tlsa.policy.mx_host, None);
}

#[test]
fn rpt_json_02_libtlsrpt_example_1_no_policy_found_success() {
    let mut dr = Request::new("example.net", "v=TLSRPTv1; rua=https://r.example.net/");
    dr.init_policy(9, None);
    dr.finish_policy(0);
    let d = Datagram::parse(dr.finish().as_bytes()).unwrap();
    let [p] = d.policies.as_slice() else {
        panic!("one policy")
    };
    assert_eq!(p.policy.policy_type, PolicyType::NoPolicyFound);
    assert_eq!(p.policy.policy_domain.as_str(), "example.net");
    assert!(!p.failed && p.failures.is_empty());
}

#[test]
fn rpt_res_every_libtlsrpt_failure_code_maps() {
    for (code, expected) in [
        (201, ResultType::StarttlsNotSupported),
        (202, ResultType::CertificateHostMismatch),
        (203, ResultType::CertificateNotTrusted),
        (204, ResultType::CertificateExpired),
        (205, ResultType::ValidationFailure),
        (301, ResultType::StsPolicyFetchError),
        (302, ResultType::StsPolicyInvalid),
        (303, ResultType::StsWebpkiInvalid),
        (304, ResultType::TlsaInvalid),
        (305, ResultType::DnssecInvalid),
        (306, ResultType::DaneRequired),
    ] {
        let mut dr = Request::new("example.net", RECORD);
        dr.init_policy(9, None);
        dr.failure(code, [None; 6]);
        dr.finish_policy(1);
        let d = Datagram::parse(dr.finish().as_bytes()).unwrap();
        assert_eq!(d.policies[0].failures[0].result_type, expected);
    }
}

#[test]
fn malformed_datagrams_are_rejected() {
    let mut bad_code = Request::new("example.net", RECORD);
    bad_code.init_policy(9, None);
    bad_code.failure(901, [None; 6]);
    bad_code.finish_policy(1);
    let mut bad_type = Request::new("example.net", RECORD);
    bad_type.init_policy(3, None);
    bad_type.finish_policy(0);
    let mut bad_ip = Request::new("example.net", RECORD);
    bad_ip.init_policy(9, None);
    bad_ip.failure(205, [Some("not-an-ip"), None, None, None, None, None]);
    bad_ip.finish_policy(1);
    for (text, what) in [
        (bad_code.finish(), "failure code"),
        (bad_type.finish(), "policy type"),
        (bad_ip.finish(), "not an IP"),
        (
            "{\"dpv\": \"2\",\"d\": \"example.net\",\"pr\": \"\",\"policies\":[]}".into(),
            "version",
        ),
        (
            "{\"dpv\": \"1\",\"d\": \"example.net\",\"pr\": \"\"}".into(),
            "no policy",
        ),
        (
            "{\"dpv\": \"1\",\"d\": \"not a domain\",\"pr\": \"\",\"policies\":[]}".into(),
            "domain",
        ),
        ("{".into(), "not a libtlsrpt datagram"),
    ] {
        let err = Datagram::parse(text.as_bytes()).unwrap_err().to_string();
        assert!(err.contains(what), "{text}: {err}");
    }
    let big = vec![b' '; MAX_DATAGRAM + 1];
    assert!(matches!(
        Datagram::parse(&big),
        Err(DatagramError::TooLarge(_))
    ));
}

proptest! {
    #[test]
    fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Datagram::parse(&bytes);
    }

    #[test]
    fn parser_never_panics_on_mutated_example(index in 0usize..2000, byte in any::<u8>()) {
        let mut bytes = example_5().into_bytes();
        let i = index % bytes.len();
        bytes[i] = byte;
        let _ = Datagram::parse(&bytes);
    }
}
