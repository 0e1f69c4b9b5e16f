//! What `mxsec check` must report for each scenario, whether it checks in process (the
//! testbed's address map) or from another process against `mxsec demo --serve`: the IDs of
//! the error and warning findings, and the verdict.

use super::Scenario;

/// The audit's expected outcome for one scenario.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct ExpectedAudit {
    /// The scenario's key.
    pub key: &'static str,
    /// The IDs of its `error` and `warning` findings, in report order.
    pub problems: &'static [&'static str],
    /// The verdict's `mta_sts`, `dane`, `tls_rpt` and `delivery`. The `policy` is the
    /// scenario's own expected answer ([`Scenario::expected_query`]).
    pub verdict: [&'static str; 4],
}

impl Scenario {
    /// What `mxsec check` must report for this scenario; `None` for a scenario without an
    /// expectation, which the checker's tests reject.
    pub fn expected_audit(&self) -> Option<&'static ExpectedAudit> {
        EXPECTED_AUDITS.iter().find(|e| e.key == self.key)
    }
}

const fn audit(
    key: &'static str,
    problems: &'static [&'static str],
    verdict: [&'static str; 4],
) -> ExpectedAudit {
    ExpectedAudit {
        key,
        problems,
        verdict,
    }
}

/// Every scenario's expected audit.
pub const EXPECTED_AUDITS: &[ExpectedAudit] = &[
    audit(
        "healthy",
        &[],
        ["enforce", "usable", "present", "authenticated"],
    ),
    audit(
        "sts-enforce",
        &[],
        ["enforce", "absent", "present", "authenticated"],
    ),
    audit(
        "sts-testing",
        &[],
        ["testing", "absent", "present", "opportunistic"],
    ),
    audit(
        "rpt-https-rua",
        &[],
        ["enforce", "absent", "present", "authenticated"],
    ),
    audit(
        "sts-testing-mx-expired",
        &["M-06"],
        ["testing", "absent", "present", "opportunistic"],
    ),
    audit(
        "sts-none",
        &[],
        ["none", "absent", "present", "opportunistic"],
    ),
    audit(
        "plain",
        &[],
        ["absent", "absent", "absent", "opportunistic"],
    ),
    audit(
        "dane-ee",
        &["R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "dane-ta",
        &["R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "dane-ee-self-signed",
        &["R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "dane-ee-expired",
        &["R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "dane-ee-wrong-name",
        &["R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "dane-fails-sts-passes",
        &["D-01"],
        ["enforce", "usable", "present", "deferred"],
    ),
    audit(
        "sts-first-mx-fails",
        &["M-06"],
        ["enforce", "absent", "present", "authenticated"],
    ),
    audit(
        "m01-redirect",
        &["M-01"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m01-not-found",
        &["M-01"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m01-wrong-path",
        &["M-01"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m01-no-policy-host",
        &["M-01"],
        ["invalid", "absent", "present", "opportunistic"],
    ),
    audit(
        "m02-wrong-name",
        &["M-02"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m02-expired",
        &["M-02"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m02-self-signed",
        &["M-02"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m02-missing-intermediate",
        &["M-02"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m03-content-type",
        &["M-03"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m03-html-soft-404",
        &["M-03"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m05-partial-coverage",
        &["M-05", "R-04"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
    audit(
        "m05-two-labels",
        &["M-05", "R-04", "STS-SEC-01"],
        ["enforce", "absent", "absent", "deferred"],
    ),
    audit(
        "m06-mx-wrong-name",
        &["M-06"],
        ["enforce", "absent", "present", "deferred"],
    ),
    // Mozilla's roots (the testbed CA file) reject the chain, the stand-in OS store accepts
    // it: the verdict is the configured store's, and PKIX-01 names the other.
    audit(
        "pkix-os-store-only",
        &["M-06", "PKIX-01"],
        ["enforce", "absent", "present", "deferred"],
    ),
    audit(
        "pkix-os-only-policy-host",
        &["M-02", "PKIX-01"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m06-mx-self-signed",
        &["M-06"],
        ["enforce", "absent", "present", "deferred"],
    ),
    audit(
        "m06-mx-expired",
        &["M-06"],
        ["enforce", "absent", "present", "deferred"],
    ),
    audit(
        "m07-two-records",
        &["STS-TXT-05"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m07-bad-id",
        &["STS-TXT-03"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m07-missing-id",
        &["STS-TXT-03"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m07-version-not-first",
        &["STS-TXT-02"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m07-wrong-owner",
        &["M-07", "M-11"],
        ["absent", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m07-split-strings",
        &["R-04"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
    audit(
        "m09-mode-enforced",
        &["STS-POL-05"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m09-mode-case",
        &["STS-POL-05"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m09-no-version",
        &["STS-POL-04"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m09-max-age-units",
        &["STS-POL-06"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m09-mx-list",
        &["STS-POL-07"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m09-json",
        &["STS-POL-03"],
        ["invalid", "absent", "absent", "opportunistic"],
    ),
    audit(
        "m09-ip-mx",
        &["R-04", "STS-POL-08", "STS-POL-09"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
    audit(
        "m09-unmatchable-only",
        &["M-05", "R-04", "STS-POL-09"],
        ["enforce", "absent", "absent", "deferred"],
    ),
    audit(
        "m09-nmx-typo",
        &["M-05", "R-04", "STS-POL-07", "STS-POL-08"],
        ["enforce", "absent", "absent", "deferred"],
    ),
    audit(
        "m10-short-max-age",
        &["M-10", "R-04"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
    audit(
        "m13-broad-pattern",
        &["R-04", "STS-SEC-01"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
    audit(
        "t01-masked-starttls",
        &["STS-VAL-02", "T-01"],
        ["enforce", "absent", "present", "deferred"],
    ),
    audit(
        "t02-ipv6-no-tls",
        &["STS-VAL-02", "T-02"],
        ["enforce", "absent", "present", "authenticated"],
    ),
    audit(
        "t03-tls-fails",
        &["STS-VAL-02", "T-03"],
        ["enforce", "absent", "present", "deferred"],
    ),
    audit(
        "d01-new-key",
        &["D-01", "R-04"],
        ["absent", "usable", "absent", "deferred"],
    ),
    audit(
        "d01-3-0-1-reissued",
        &["D-01", "R-04"],
        ["absent", "usable", "absent", "deferred"],
    ),
    audit(
        "d02-one-intermediate",
        &["D-02", "R-04"],
        ["absent", "usable", "absent", "deferred"],
    ),
    audit(
        "d03-ta-not-in-chain",
        &["D-03", "R-04"],
        ["absent", "usable", "absent", "deferred"],
    ),
    audit(
        "d04-ta-wrong-name",
        &["D-04", "R-04"],
        ["absent", "usable", "absent", "deferred"],
    ),
    audit(
        "d05-bogus-ds",
        &["D-05", "RPT-TXT-01", "STS-TXT-01"],
        ["invalid", "bogus", "invalid", "deferred"],
    ),
    audit(
        "d05-expired-signatures",
        &["D-05", "RPT-TXT-01", "STS-TXT-01"],
        ["invalid", "bogus", "invalid", "deferred"],
    ),
    audit(
        "alg-rsasha1",
        &["DNSSEC-ALG-01", "R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "alg-rsa-1024",
        &["DNSSEC-ALG-02", "R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "ds-sha1-only",
        &["DNSSEC-DS-01", "R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "tlsa-large",
        &["DANE-TLSA-04", "DANE-TLSA-08", "R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "d06-insecure-mx-host",
        &["D-06"],
        ["absent", "insecure", "absent", "opportunistic"],
    ),
    audit(
        "d07-tlsa-wrong-owner",
        &["D-07"],
        ["absent", "absent", "absent", "opportunistic"],
    ),
    audit(
        "d07-tlsa-at-alias",
        &["D-07", "N-01", "R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "d08-tlsa-servfail",
        &["D-08"],
        ["absent", "bogus", "absent", "deferred"],
    ),
    audit(
        "d09-partial-dane",
        &["D-09", "R-04"],
        ["absent", "usable", "absent", "opportunistic"],
    ),
    audit(
        "d10-ipv6-old-cert",
        &["D-10", "R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "d12-unusable-only",
        &["D-12", "DANE-TLSA-01", "DANE-TLSA-02", "R-04"],
        ["absent", "unusable", "absent", "encrypted"],
    ),
    audit(
        "insecure-zone",
        &[],
        ["absent", "absent", "absent", "opportunistic"],
    ),
    audit(
        "insecure-mx-dane-unlisted",
        &["M-05", "R-04"],
        ["enforce", "usable", "absent", "deferred"],
    ),
    audit(
        "insecure-mx-dane-listed",
        &["R-04"],
        ["enforce", "usable", "absent", "authenticated"],
    ),
    audit(
        "insecure-mx-dane",
        &["R-04"],
        ["absent", "usable", "absent", "opportunistic"],
    ),
    audit(
        "partial-dane-enforce",
        &["D-09", "R-04", "STS-VAL-02", "T-02"],
        ["enforce", "usable", "absent", "authenticated"],
    ),
    audit(
        "unusable-tlsa-enforce",
        &["D-12", "DANE-TLSA-02", "M-06", "R-04"],
        ["enforce", "unusable", "absent", "deferred"],
    ),
    audit(
        "sts-max-age-zero",
        &["M-10", "R-04"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
    audit(
        "unsigned-null-mx-enforce",
        &["R-04"],
        ["enforce", "absent", "absent", "no-mail"],
    ),
    audit(
        "cname-mx-no-aaaa",
        &["N-01", "R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "cname-mx-provider",
        &["N-01", "R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "dane-ee-nsec3",
        &["R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "wildcard-tlsa",
        &["R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "wildcard-mx-host",
        &["R-04"],
        ["absent", "usable", "absent", "authenticated"],
    ),
    audit(
        "wildcard-insecure",
        &["D-06"],
        ["absent", "insecure", "absent", "opportunistic"],
    ),
    audit(
        "cname-mx-insecure",
        &["N-01"],
        ["absent", "absent", "absent", "opportunistic"],
    ),
    audit(
        "sts-cname-provider",
        &["R-04"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
    audit("null-mx", &[], ["absent", "absent", "absent", "no-mail"]),
    audit(
        "implicit-mx",
        &["N-01"],
        ["absent", "absent", "absent", "opportunistic"],
    ),
    audit(
        "r01-legacy-tlsrpt",
        &["R-01", "R-04"],
        ["enforce", "absent", "absent", "authenticated"],
    ),
];
