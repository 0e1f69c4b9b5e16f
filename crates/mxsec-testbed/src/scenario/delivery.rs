//! What a sending MTA that enforces DANE and MTA-STS does with a message to each scenario's
//! domain: deliver it (over which TLS, to which hosts never), defer it, or return it. The
//! Postfix end-to-end test and `mxsec conformance` both hold senders to this one list.

use super::Scenario;
use Delivery::{Authenticated, Bounced, Deferred, Encrypted, Opportunistic};

/// What happens to a message sent to a scenario's domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered over TLS that DANE or MTA-STS authenticates.
    Authenticated,
    /// Delivered over TLS, authenticated or not, never in clear (RFC 7672 §2.2: TLSA records
    /// exist but none is usable).
    Encrypted,
    /// Delivered however the sender likes: no policy applies (opportunistic TLS).
    Opportunistic,
    /// Not delivered, and kept for a later try: the policy cannot be met, or not known.
    Deferred,
    /// Returned to the sender: the domain accepts no mail (RFC 7505).
    Bounced,
}

impl Delivery {
    /// Whether a correct sender delivers the message.
    pub fn delivers(self) -> bool {
        matches!(
            self,
            Self::Authenticated | Self::Encrypted | Self::Opportunistic
        )
    }

    /// Whether a correct sender delivers it only inside TLS.
    pub fn needs_tls(self) -> bool {
        matches!(self, Self::Authenticated | Self::Encrypted)
    }

    /// A word for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authenticated => "authenticated",
            Self::Encrypted => "encrypted",
            Self::Opportunistic => "opportunistic",
            Self::Deferred => "deferred",
            Self::Bounced => "bounced",
        }
    }
}

/// A listener of the scenario's MX hosts that must never receive the message, named by the
/// host's first labels (`mx1` for `mx1.<domain>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Avoid {
    /// Every address of the host.
    Host(&'static str),
    /// The host's IPv6 address.
    Ipv6(&'static str),
}

/// The expected delivery for a group of scenarios, and the rule behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectedDelivery {
    /// The scenarios' keys.
    pub keys: &'static [&'static str],
    /// What a correct sender does.
    pub delivery: Delivery,
    /// Listeners that must not receive the message even when it is delivered.
    pub avoid: &'static [Avoid],
    /// The RFC rule, with its CONFORMANCE.md or SCENARIOS.md IDs.
    pub rule: &'static str,
}

impl Scenario {
    /// What a sender enforcing DANE and MTA-STS does with a message to this scenario's
    /// domain; `None` for a scenario without an expectation, which the tests reject.
    pub fn expected_delivery(&self) -> Option<&'static ExpectedDelivery> {
        EXPECTED_DELIVERIES
            .iter()
            .find(|e| e.keys.contains(&self.key))
    }
}

const fn expect(
    keys: &'static [&'static str],
    delivery: Delivery,
    rule: &'static str,
) -> ExpectedDelivery {
    ExpectedDelivery {
        keys,
        delivery,
        avoid: &[],
        rule,
    }
}

const fn expect_avoiding(
    keys: &'static [&'static str],
    avoid: &'static [Avoid],
    rule: &'static str,
) -> ExpectedDelivery {
    ExpectedDelivery {
        keys,
        delivery: Authenticated,
        avoid,
        rule,
    }
}

/// Every scenario's expected delivery.
pub const EXPECTED_DELIVERIES: &[ExpectedDelivery] = &[
    expect(
        &[
            "healthy",
            "dane-ee",
            "dane-ta",
            "dane-ee-self-signed",
            "dane-ee-expired",
            "dane-ee-wrong-name",
        ],
        Authenticated,
        "RFC 7672 §3.1, RFC 7671 §5 (DANE-AUTH-01, DANE-AUTH-02): the TLSA records match; a \
         DANE-EE certificate's name and dates do not matter",
    ),
    expect(
        &["alg-rsasha1", "alg-rsa-1024", "ds-sha1-only", "tlsa-large"],
        Authenticated,
        "RFC 7672 §2.2 (DNSSEC-ALG-01, DNSSEC-DS-01, DANE-TLSA-08): weak but valid DNSSEC \
         validates; a large TLSA answer comes over TCP",
    ),
    expect(
        &["d09-partial-dane"],
        Authenticated,
        "RFC 7672 §2.2 (D-09, DANE-OPS-03): the preferred MX has matching TLSA records",
    ),
    expect(
        &["cname-mx-no-aaaa", "cname-mx-provider", "d07-tlsa-at-alias"],
        Authenticated,
        "RFC 7672 §2.2.2 (N-01, D-07, DANE-DISC-03): the TLSA base domain of a secure alias \
         is its expanded name, whose records match",
    ),
    expect(
        &["dane-ee-nsec3"],
        Authenticated,
        "RFC 5155, RFC 7672 §2.2 (DANE-AUTH-01): NSEC3 denials validate; the TLSA records \
         match",
    ),
    expect(
        &["wildcard-tlsa", "wildcard-mx-host"],
        Authenticated,
        "RFC 4035 §5.3.4, RFC 7672 §2.2 (DANE-DISC-03): a wildcard expansion in a signed zone \
         validates with its proof that no closer match exists; the TLSA records match",
    ),
    expect(
        &["wildcard-insecure"],
        Opportunistic,
        "RFC 7672 §2.2 (DANE-DISC-01, D-06): TLSA records from a wildcard in an unsigned zone \
         are insecure and do not count",
    ),
    expect(
        &["cname-mx-insecure"],
        Opportunistic,
        "RFC 7672 §2.2.2 (D-06, DANE-DNS-06): the host's addresses are insecure, so its TLSA \
         records do not count",
    ),
    expect(
        &[
            "sts-enforce",
            "rpt-https-rua",
            "sts-cname-provider",
            "m07-split-strings",
            "m10-short-max-age",
            "m13-broad-pattern",
            "r01-legacy-tlsrpt",
            "m09-ip-mx",
        ],
        Authenticated,
        "RFC 8461 §4.1, §4.2, §5 (STS-APP-01, STS-VAL-01, STS-VAL-02): an enforce policy \
         covers the MX host, whose certificate is valid",
    ),
    expect_avoiding(
        &["sts-first-mx-fails"],
        &[Avoid::Host("mx1")],
        "RFC 8461 §5.1 (STS-APP-05, STS-OPS-04): mx1 fails certificate validation, mx2 \
         passes",
    ),
    expect_avoiding(
        &["m05-partial-coverage"],
        &[Avoid::Host("mx2")],
        "RFC 8461 §4.1 (M-05, STS-VAL-01): only mx1 is in the policy",
    ),
    expect_avoiding(
        &["d10-ipv6-old-cert"],
        &[Avoid::Ipv6("mx")],
        "RFC 7672 §2.2 (D-10, DANE-AUTH-01): the IPv6 address serves a key the TLSA records \
         do not match",
    ),
    expect_avoiding(
        &["t02-ipv6-no-tls"],
        &[Avoid::Ipv6("mx")],
        "RFC 8461 §5 (T-02, STS-APP-01): the IPv6 address offers no STARTTLS",
    ),
    expect(
        &["dane-fails-sts-passes"],
        Deferred,
        "RFC 8461 §2, RFC 7672 §2.2 (STS-APP-06, DANE-AUTH-06): DANE fails, and MTA-STS must \
         not override it",
    ),
    expect(
        &[
            "d01-new-key",
            "d01-3-0-1-reissued",
            "d02-one-intermediate",
            "d03-ta-not-in-chain",
            "d04-ta-wrong-name",
        ],
        Deferred,
        "RFC 7672 §2.2, §3.1 (D-01..D-04, DANE-AUTH-06): no TLSA record matches the server",
    ),
    expect(
        &["m06-mx-wrong-name", "m06-mx-self-signed", "m06-mx-expired"],
        Deferred,
        "RFC 8461 §4.2, §5 (M-06, STS-VAL-02, STS-APP-01): under an enforce policy the MX \
         certificate fails WebPKI validation for the MX name",
    ),
    expect(
        &["pkix-os-store-only"],
        Deferred,
        "RFC 8461 §4.2 (PKIX-01): the MX chain ends at a root the sender does not trust",
    ),
    expect(
        &["t01-masked-starttls", "t03-tls-fails"],
        Deferred,
        "RFC 8461 §5 (T-01, T-03, STS-APP-01): an enforce policy, and no usable TLS",
    ),
    expect(
        &["m05-two-labels"],
        Deferred,
        "RFC 8461 §4.1 (M-05, STS-VAL-01): `*.<domain>` matches exactly one label, so no MX \
         host is covered",
    ),
    expect(
        &["m09-unmatchable-only", "m09-nmx-typo"],
        Deferred,
        "RFC 8461 §3.2, §4.1 (STS-POL-07, STS-POL-09, STS-APP-01): a valid enforce policy \
         that covers no MX host",
    ),
    expect(
        &[
            "d05-bogus-ds",
            "d05-expired-signatures",
            "d08-tlsa-servfail",
        ],
        Deferred,
        "RFC 7672 §2.1, §2.2 (DANE-DNS-03, DANE-DNS-04, PFX-04): a failed DNSSEC lookup \
         defers, never downgrades",
    ),
    expect(
        &["d12-unusable-only"],
        Encrypted,
        "RFC 7672 §2.2 (D-12, DANE-DISC-05): TLSA records exist but none is usable: TLS is \
         required, unauthenticated",
    ),
    expect(
        &[
            "sts-testing",
            "sts-testing-mx-expired",
            "sts-none",
            "plain",
            "insecure-zone",
            "implicit-mx",
            "d06-insecure-mx-host",
            "d07-tlsa-wrong-owner",
        ],
        Opportunistic,
        "RFC 8461 §5, RFC 7672 §2.2 (STS-APP-02, STS-APP-03, DANE-DISC-01, DANE-DISC-02): \
         no policy applies; TLS is opportunistic",
    ),
    expect(
        &[
            "m01-redirect",
            "m01-not-found",
            "m01-wrong-path",
            "m01-no-policy-host",
            "m02-wrong-name",
            "m02-expired",
            "m02-self-signed",
            "m02-missing-intermediate",
            "pkix-os-only-policy-host",
            "m03-content-type",
            "m03-html-soft-404",
            "m07-two-records",
            "m07-bad-id",
            "m07-missing-id",
            "m07-version-not-first",
            "m07-wrong-owner",
            "m09-mode-enforced",
            "m09-mode-case",
            "m09-no-version",
            "m09-max-age-units",
            "m09-mx-list",
            "m09-json",
        ],
        Opportunistic,
        "RFC 8461 §3.2, §3.3 (M-01..M-09, STS-FETCH-06): a broken MTA-STS setup means no \
         policy, and delivery as without one",
    ),
    expect(
        &["insecure-mx-dane-listed"],
        Authenticated,
        "RFC 8461 §4.1, RFC 7672 §2.2.1 (STS-APP-01, DANE-DISC-01): behind an unsigned MX \
         only the policy authenticates, and it lists the host",
    ),
    expect_avoiding(
        &["partial-dane-enforce"],
        &[Avoid::Host("mx1")],
        "RFC 8461 §5, RFC 7672 §2.2 (STS-APP-01, DANE-OPS-03): the preferred MX has neither \
         TLSA nor STARTTLS; the DANE backup authenticates",
    ),
    expect(
        &["sts-max-age-zero"],
        Authenticated,
        "RFC 8461 §3.2, §5 (STS-APP-01): a policy with max_age 0 applies to the delivery it \
         was fetched for",
    ),
    expect(
        &["insecure-mx-dane"],
        Opportunistic,
        "RFC 7672 §2.2.1 (DANE-DISC-01): behind an unsigned MX a sender may use the host's \
         TLSA records, and need not",
    ),
    expect(
        &["insecure-mx-dane-unlisted"],
        Deferred,
        "RFC 8461 §4.1 (STS-APP-01): the MX is unsigned and not in the enforce policy; its \
         own TLSA records prove nothing",
    ),
    expect(
        &["unusable-tlsa-enforce"],
        Deferred,
        "RFC 8461 §5, RFC 7672 §2.2 (STS-APP-01, DANE-DISC-05): no TLSA record is usable, so \
         the policy's WebPKI check applies, and the self-signed certificate fails it",
    ),
    expect(
        &["null-mx", "unsigned-null-mx-enforce"],
        Bounced,
        "RFC 7505 §3 (PFX-04): the domain accepts no mail",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_has_exactly_one_expected_delivery() {
        for scenario in Scenario::all() {
            let groups = EXPECTED_DELIVERIES
                .iter()
                .filter(|e| e.keys.contains(&scenario.key))
                .count();
            assert_eq!(groups, 1, "{}", scenario.key);
        }
        for key in EXPECTED_DELIVERIES.iter().flat_map(|e| e.keys) {
            assert!(Scenario::find(key).is_some(), "no scenario {key}");
        }
    }
}
