//! `mxsec query` against every testbed scenario: the answer must be the one POSTFIX.md §4.5
//! prescribes for it (the `query` field of each scenario), and `--json` must give the same
//! answer in an object that the published JSON Schema (`schema/query.schema.json`) accepts.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::OnceLock;

use mxsec_testbed::dns::Unbound;
use mxsec_testbed::scenario::{Scenario, TestbedFiles};
use mxsec_testbed::Testbed;

/// The shared testbed: its DNS server, a validating `unbound` forwarding to it (for
/// `--dnssec trust-ad`), and its files.
struct Shared {
    dns: SocketAddr,
    unbound: SocketAddr,
    files: TestbedFiles,
}

/// The testbed shared by every test of this file, on a runtime of its own.
fn testbed() -> &'static Shared {
    static TESTBED: OnceLock<Shared> = OnceLock::new();
    TESTBED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
            runtime.block_on(async move {
                let testbed = Testbed::start().await.expect("testbed starts");
                let unbound = Unbound::start(testbed.dns()).await.expect("unbound starts");
                tx.send(Shared {
                    dns: testbed.dns_addr(),
                    unbound: unbound.addr(),
                    files: testbed.files().clone(),
                })
                .expect("send");
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("testbed started")
    })
}

fn query(domain: &str, extra: &[&str]) -> String {
    let shared = testbed();
    let files = &shared.files;
    let mut command = Command::new(env!("CARGO_BIN_EXE_mxsec"));
    command.arg("query").arg(domain);
    if extra.contains(&"trust-ad") {
        command.args(["--resolver", &shared.unbound.to_string()]);
    } else {
        command
            .args(["--resolver", &shared.dns.to_string()])
            .arg("--trust-anchor")
            .arg(&files.trust_anchor);
    }
    let output = command
        .arg("--ca-file")
        .arg(&files.ca_file)
        .arg("--connect-map")
        .arg(&files.connect_map)
        .args(["--timeout", "5"])
        .args(extra)
        .output()
        .expect("mxsec runs");
    assert!(
        output.status.success(),
        "mxsec query {domain} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    stdout.strip_suffix('\n').unwrap_or(&stdout).to_owned()
}

/// The JSON Schema of `mxsec query --json`, as published.
const SCHEMA: &str = include_str!("../schema/query.schema.json");

/// The validator of [`SCHEMA`], checking formats too (IP addresses).
fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("the schema is a valid JSON Schema")
    })
}

/// `mxsec query --json` for `domain`, validated against the schema.
fn query_json(domain: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let output = query(domain, &args);
    let json: serde_json::Value = serde_json::from_str(&output)
        .unwrap_or_else(|e| panic!("{domain}: --json output is not JSON ({e}): {output}"));
    let errors: Vec<String> = validator()
        .iter_errors(&json)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{domain}: JSON schema: {errors:#?}\n{output}"
    );
    json
}

fn check(key: &str) {
    let scenario = Scenario::find(key).unwrap_or_else(|| panic!("no scenario {key}"));
    let answer = query(&scenario.domain(), &[]);
    let expected = scenario.expected_query();
    assert!(
        expected.matches(&answer),
        "{key} ({}): expected {expected}, got {answer:?}",
        scenario.ids.join(", ")
    );
    let json = query_json(&scenario.domain(), &[]);
    assert!(
        expected.matches(json["answer"].as_str().expect("answer")),
        "{key}: --json answer {}, expected {expected}",
        json["answer"]
    );
}

/// One test per scenario, named after it (and so after its SCENARIOS.md ID).
macro_rules! scenario_tests {
    ($($name:ident => $key:literal;)*) => {
        $(#[test] fn $name() { check($key); })*

        /// Every scenario of the catalogue has its test above.
        #[test]
        fn every_scenario_has_a_query_test() {
            let tested = [$($key),*];
            for scenario in Scenario::all() {
                assert!(tested.contains(&scenario.key), "no query test for {}", scenario.key);
            }
        }
    };
}

scenario_tests! {
    healthy => "healthy";
    sts_enforce => "sts-enforce";
    sts_testing => "sts-testing";
    sts_none => "sts-none";
    plain => "plain";
    dane_ee => "dane-ee";
    dane_ta => "dane-ta";
    dane_ee_self_signed => "dane-ee-self-signed";
    dane_ee_expired => "dane-ee-expired";
    dane_ee_wrong_name => "dane-ee-wrong-name";
    dane_fails_sts_passes => "dane-fails-sts-passes";
    sts_first_mx_fails => "sts-first-mx-fails";
    m01_redirect => "m01-redirect";
    m01_not_found => "m01-not-found";
    m01_wrong_path => "m01-wrong-path";
    m01_no_policy_host => "m01-no-policy-host";
    m02_wrong_name => "m02-wrong-name";
    m02_expired => "m02-expired";
    m02_self_signed => "m02-self-signed";
    m02_missing_intermediate => "m02-missing-intermediate";
    m03_content_type => "m03-content-type";
    m03_html_soft_404 => "m03-html-soft-404";
    m05_partial_coverage => "m05-partial-coverage";
    m05_two_labels => "m05-two-labels";
    m06_mx_wrong_name => "m06-mx-wrong-name";
    m06_mx_self_signed => "m06-mx-self-signed";
    m06_mx_expired => "m06-mx-expired";
    pkix_01_os_store_only => "pkix-os-store-only";
    pkix_01_os_only_policy_host => "pkix-os-only-policy-host";
    m07_two_records => "m07-two-records";
    m07_bad_id => "m07-bad-id";
    m07_missing_id => "m07-missing-id";
    m07_version_not_first => "m07-version-not-first";
    m07_wrong_owner => "m07-wrong-owner";
    m07_split_strings => "m07-split-strings";
    m09_mode_enforced => "m09-mode-enforced";
    m09_mode_case => "m09-mode-case";
    m09_no_version => "m09-no-version";
    m09_max_age_units => "m09-max-age-units";
    m09_mx_list => "m09-mx-list";
    m09_json => "m09-json";
    m09_ip_mx => "m09-ip-mx";
    m09_unmatchable_only => "m09-unmatchable-only";
    m09_nmx_typo => "m09-nmx-typo";
    m10_short_max_age => "m10-short-max-age";
    m13_broad_pattern => "m13-broad-pattern";
    t01_masked_starttls => "t01-masked-starttls";
    t02_ipv6_no_tls => "t02-ipv6-no-tls";
    t03_tls_fails => "t03-tls-fails";
    d01_new_key => "d01-new-key";
    d01_3_0_1_reissued => "d01-3-0-1-reissued";
    d02_one_intermediate => "d02-one-intermediate";
    d03_ta_not_in_chain => "d03-ta-not-in-chain";
    d04_ta_wrong_name => "d04-ta-wrong-name";
    d05_bogus_ds => "d05-bogus-ds";
    d05_expired_signatures => "d05-expired-signatures";
    dnssec_alg_01_rsasha1 => "alg-rsasha1";
    dnssec_alg_02_rsa_1024 => "alg-rsa-1024";
    dnssec_ds_01_sha1_only => "ds-sha1-only";
    dane_tlsa_08_large_answer => "tlsa-large";
    d06_insecure_mx_host => "d06-insecure-mx-host";
    d07_tlsa_wrong_owner => "d07-tlsa-wrong-owner";
    d07_tlsa_at_alias => "d07-tlsa-at-alias";
    d08_tlsa_servfail => "d08-tlsa-servfail";
    d09_partial_dane => "d09-partial-dane";
    d10_ipv6_old_cert => "d10-ipv6-old-cert";
    d12_unusable_only => "d12-unusable-only";
    insecure_mx_dane_unlisted => "insecure-mx-dane-unlisted";
    insecure_mx_dane_listed => "insecure-mx-dane-listed";
    insecure_mx_dane => "insecure-mx-dane";
    partial_dane_enforce => "partial-dane-enforce";
    unusable_tlsa_enforce => "unusable-tlsa-enforce";
    sts_max_age_zero => "sts-max-age-zero";
    unsigned_null_mx_enforce => "unsigned-null-mx-enforce";
    cname_mx_no_aaaa => "cname-mx-no-aaaa";
    cname_mx_provider => "cname-mx-provider";
    cname_mx_insecure => "cname-mx-insecure";
    sts_cname_provider => "sts-cname-provider";
    dane_auth_01_nsec3_zone => "dane-ee-nsec3";
    dane_disc_03_wildcard_tlsa => "wildcard-tlsa";
    dane_dns_06_wildcard_mx_host => "wildcard-mx-host";
    dane_disc_01_wildcard_insecure => "wildcard-insecure";
    insecure_zone => "insecure-zone";
    null_mx => "null-mx";
    implicit_mx => "implicit-mx";
    r01_legacy_tlsrpt => "r01-legacy-tlsrpt";
    sts_testing_mx_expired => "sts-testing-mx-expired";
    rpt_https_rua => "rpt-https-rua";
}

#[test]
fn pfx_06_tlsrpt_attributes_for_sts_answers() {
    let answer = query("sts-enforce.test", &["--tlsrpt"]);
    assert_eq!(
        answer,
        "OK secure match=mx.sts-enforce.test servername=hostname policy_type=sts \
         policy_domain=sts-enforce.test policy_ttl=3600 mx_host_pattern=mx.sts-enforce.test \
         { policy_string = version: STSv1 } { policy_string = mode: enforce } \
         { policy_string = mx: mx.sts-enforce.test } { policy_string = max_age: 604800 }"
    );
}

#[test]
fn sts_app_02_strict_testing_enforces_testing_policies() {
    assert_eq!(
        query("sts-testing.test", &["--strict-testing"]),
        "OK secure match=mx.sts-testing.test servername=hostname"
    );
}

#[test]
fn pfx_08_address_literal_and_explicit_host_need_no_lookup() {
    assert_eq!(query("[192.0.2.1]", &[]), "NOTFOUND ");
    assert_eq!(query("[mx.sts-enforce.test]:25", &[]), "NOTFOUND ");
    for destination in ["[192.0.2.1]", "[mx.sts-enforce.test]:25"] {
        let json = query_json(destination, &[]);
        assert_eq!(json["resolution"]["mx"]["outcome"], "not-looked-up");
    }
}

/// The JSON of `--tlsrpt` and `--strict-testing` answers, and of the `trust-ad` back end,
/// follows the schema too.
#[test]
fn query_json_follows_the_schema_with_every_option() {
    query_json("sts-enforce.test", &["--tlsrpt"]);
    query_json("sts-testing.test", &["--strict-testing"]);
    let json = query_json("healthy.test", &["--dnssec", "trust-ad"]);
    assert_eq!(json["resolution"]["mx"]["dnssec"], "secure");
}

#[test]
fn query_json_has_the_answer_reasons_and_lookups() {
    let json = query_json("dane-fails-sts-passes.test", &[]);
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["answer"], "OK dane-only");
    assert_eq!(json["policy"], "dane-only");
    assert!(json["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .any(|r| r["rule"] == "STS-APP-06"));
    assert_eq!(json["resolution"]["hosts"][0]["tlsa"], "usable");
    assert_eq!(json["resolution"]["mta_sts"]["txt"], "record");
    let sts = &json["resolution"]["mta_sts"];
    assert_eq!(sts["action"], "fetch");
    assert_eq!(sts["fetch"], "ok");
    assert!(sts["fetch_result_type"].is_null());
    assert!(sts["store_error"].is_null());
    assert_eq!(sts["source"], "fresh");
}

/// STS-POL-05: a fetch that gives an invalid policy shows its failure and RFC 8460 result
/// type in the JSON report, as the fields `fetch` and `fetch_result_type`.
#[test]
fn sts_pol_05_query_json_shows_a_failed_fetch_and_its_result_type() {
    let scenario = Scenario::find("m09-mode-enforced").expect("scenario");
    let json = query_json(&scenario.domain(), &[]);
    let sts = &json["resolution"]["mta_sts"];
    assert_eq!(sts["action"], "fetch");
    assert_eq!(sts["fetch_result_type"], "sts-policy-invalid");
    let fetch = sts["fetch"].as_str().expect("the failure, as text");
    assert_ne!(fetch, "ok");
    assert!(sts["policy"].is_null());
}

/// The same answers through the `trust-ad` back end: a real validating resolver (unbound) on
/// loopback validates, and mxsec trusts its AD bit (DANE-DNS-01).
#[test]
fn dane_dns_01_trust_ad_back_end_gives_the_same_answers() {
    for key in [
        "healthy",
        "dane-ee",
        "sts-enforce",
        "insecure-zone",
        "d05-bogus-ds",
        // Unbound 1.17 with OpenSSL 3.0 validates RSA/SHA-1, 1024-bit RSA and a SHA-1 DS as
        // secure, as mxsec's validator does; the large TLSA answer comes over TCP.
        "alg-rsasha1",
        "alg-rsa-1024",
        "ds-sha1-only",
        "tlsa-large",
        "d06-insecure-mx-host",
        "d08-tlsa-servfail",
        "d09-partial-dane",
        "d12-unusable-only",
        "insecure-mx-dane-unlisted",
        "insecure-mx-dane-listed",
        "insecure-mx-dane",
        "partial-dane-enforce",
        "unusable-tlsa-enforce",
        "sts-max-age-zero",
        "unsigned-null-mx-enforce",
        "cname-mx-no-aaaa",
        "cname-mx-provider",
        "cname-mx-insecure",
        "sts-cname-provider",
        "dane-ee-nsec3",
        "wildcard-tlsa",
        "wildcard-mx-host",
        "wildcard-insecure",
        "null-mx",
    ] {
        let scenario = Scenario::find(key).expect("scenario");
        let answer = query(&scenario.domain(), &["--dnssec", "trust-ad"]);
        assert!(
            scenario.expected_query().matches(&answer),
            "{key} with trust-ad: expected {}, got {answer:?}",
            scenario.expected_query()
        );
    }
}

/// A named change to a valid answer that the schema must reject.
type Drift = (&'static str, fn(&mut serde_json::Value));

/// The schema is exact: it rejects another version, an unknown field and an unknown enumerated
/// value, so that the tests above catch any drift between the code and the schema.
#[test]
fn query_schema_rejects_drift() {
    let json = query_json("healthy.test", &[]);
    let drifts: [Drift; 3] = [
        ("another version", |j| j["schema_version"] = 2.into()),
        ("an unknown field", |j| {
            j["resolution"]["extra"] = true.into()
        }),
        ("an unknown TLSA state", |j| {
            j["resolution"]["hosts"][0]["tlsa"] = "maybe".into();
        }),
    ];
    for (drift, change) in drifts {
        let mut changed = json.clone();
        change(&mut changed);
        assert!(
            !validator().is_valid(&changed),
            "the schema accepts {drift}"
        );
    }
}
