//! Every scenario of the simulated internet, as data. SCENARIOS.md IDs name them.

use mxsec_proto::dane::tlsa::{CertUsage, MatchingType, Selector, TlsaRecord};

use crate::dns::{Bogus, DsDigest, Fault, KeyAlgorithm, Nsec3, RecordType, Zone};
use crate::https::{PolicyHost, Reply};
use crate::pki::{IssuedBy, LeafSpec, ServedChain, Validity};
use crate::smtp::StartTls;

use super::build::{dane_ee_cert, dane_ee_spki, tlsa_for, Builder, Listener};
use super::{Scenario, TestbedError};

type Result = std::result::Result<(), TestbedError>;

/// A policy file with CRLF line ends.
fn policy(mode: &str, mx: &[&str], max_age: u32) -> String {
    let mut text = format!("version: STSv1\r\nmode: {mode}\r\n");
    for m in mx {
        text.push_str(&format!("mx: {m}\r\n"));
    }
    text.push_str(&format!("max_age: {max_age}\r\n"));
    text
}

/// One MX host `mx.<domain>` with a valid certificate on IPv4 and IPv6.
fn one_good_mx(b: &mut Builder<'_>) -> Result {
    let mx = b.name("mx");
    let leaf = b.valid_leaf(&mx)?;
    b.mx(10, &mx, Listener::tls(&leaf));
    Ok(())
}

/// One good MX plus an MTA-STS policy of `mode` that lists it.
fn sts_domain(b: &mut Builder<'_>, mode: &str) -> Result {
    one_good_mx(b)?;
    let mx = b.name("mx");
    b.sts("20261129", &policy(mode, &[&mx], 604_800))?;
    b.tlsrpt(&format!("mailto:tlsrpt@{}", b.domain()));
    Ok(())
}

/// One MX host with a valid certificate and a `3 1 1` record for its key.
fn dane_ee_domain(b: &mut Builder<'_>) -> Result {
    let mx = b.name("mx");
    let leaf = b.valid_leaf(&mx)?;
    b.mx(10, &mx, Listener::tls(&leaf));
    b.tlsa(&mx, &dane_ee_spki(&leaf));
    Ok(())
}

/// A TXT-record variant of M-07: a good MX and policy host, and these `_mta-sts` records.
fn m07(b: &mut Builder<'_>, records: &[&[&str]]) -> Result {
    one_good_mx(b)?;
    let mx = b.name("mx");
    b.policy_host(Reply::policy(
        policy("enforce", &[&mx], 604_800).into_bytes(),
    ))?;
    let owner = b.name("_mta-sts");
    for strings in records {
        b.txt(&owner, strings);
    }
    Ok(())
}

/// A policy-syntax variant of M-09: a good MX, the TXT record, and this policy body.
fn m09(b: &mut Builder<'_>, body: &[u8]) -> Result {
    one_good_mx(b)?;
    b.sts_record("20261129");
    b.policy_host(Reply::policy(body.to_vec()))
}

/// A policy-host variant of M-02: the TXT record and a policy host with this certificate.
fn m02(b: &mut Builder<'_>, spec: LeafSpec, served: ServedChain) -> Result {
    one_good_mx(b)?;
    b.sts_record("20261129");
    let mx = b.name("mx");
    let leaf = b.leaf(spec)?;
    let host = PolicyHost::new(
        b.name("mta-sts"),
        &leaf,
        served,
        Reply::policy(policy("enforce", &[&mx], 604_800).into_bytes()),
    );
    b.custom_policy_host(host);
    Ok(())
}

/// An MTA-STS enforce domain whose only MX host misbehaves on port 25 as `listener` says.
fn sts_enforce_with(b: &mut Builder<'_>, v4: Listener, v6: Option<Listener>) -> Result {
    let mx = b.name("mx");
    b.mx_record(10, &mx);
    b.host(&mx, Some(v4), v6);
    b.sts("20261129", &policy("enforce", &[&mx], 604_800))?;
    b.tlsrpt(&format!("mailto:tlsrpt@{}", b.domain()));
    Ok(())
}

/// What an enforce policy says of the MX host, if there is a policy.
enum Listing {
    /// No MTA-STS policy.
    NoPolicy,
    /// An enforce policy that lists the MX host.
    Listed,
    /// An enforce policy that lists another host.
    Unlisted,
}

/// An unsigned zone whose MX is `mx.provider-<domain>`, a host in a signed zone with a valid
/// certificate and a DANE-EE record, and an enforce policy as `listing` says.
fn insecure_mx_to_dane_host(b: &mut Builder<'_>, listing: Listing) -> Result {
    let provider = format!("provider-{}", b.domain());
    b.extra_zone(Zone::new(&provider));
    b.zone(Zone::insecure);
    let mx = format!("mx.{provider}");
    let leaf = b.valid_leaf(&mx)?;
    b.mx(10, &mx, Listener::tls(&leaf));
    b.tlsa(&mx, &dane_ee_spki(&leaf));
    let pattern = match listing {
        Listing::NoPolicy => return Ok(()),
        Listing::Listed => mx,
        Listing::Unlisted => b.name("mx"),
    };
    b.sts("20261205", &policy("enforce", &[&pattern], 604_800))
}

/// The SubjectPublicKeyInfo (RFC 5280 §4.1.2.7, 294 octets) of an RSA-2048 public key whose
/// modulus is `0x80` followed by `seed` repeated: well-formed, and no one's key.
fn rsa2048_spki(seed: u8) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x82, 0x01, 0x22, // SubjectPublicKeyInfo
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
        0x00, // rsaEncryption, NULL
        0x03, 0x82, 0x01, 0x0f, 0x00, // BIT STRING
        0x30, 0x82, 0x01, 0x0a, // RSAPublicKey
        0x02, 0x82, 0x01, 0x01, 0x00, 0x80, // modulus
    ];
    der.extend(std::iter::repeat_n(seed, 255));
    der.extend([0x02, 0x03, 0x01, 0x00, 0x01]); // publicExponent 65537
    der
}

macro_rules! scenarios {
    ($( $key:literal, [$($id:literal),*], $title:literal, $problem:literal, $query:literal, $build:expr; )*) => {
        &[$(Scenario {
            key: $key,
            ids: &[$($id),*],
            title: $title,
            problem: $problem,
            query: $query,
            build: $build,
        }),*]
    };
}

/// The catalogue, healthy domains first.
pub(super) static ALL: &[Scenario] = scenarios! {
    "healthy", ["OK"], "DANE and MTA-STS enforce, TLS-RPT, two MX hosts",
        "", "OK dane-only",
        |b| {
            for (pref, label) in [(10, "mx1"), (20, "mx2")] {
                let mx = b.name(label);
                let leaf = b.valid_leaf(&mx)?;
                b.mx(pref, &mx, Listener::tls(&leaf));
                b.tlsa(&mx, &dane_ee_spki(&leaf));
                b.tlsa(&mx, &tlsa_for(CertUsage::DaneTa, Selector::Spki, MatchingType::Sha256,
                    b.pki().intermediate(crate::pki::Intermediate::A).spki_der()));
            }
            let (mx1, mx2) = (b.name("mx1"), b.name("mx2"));
            b.sts("20261129", &policy("enforce", &[&mx1, &mx2], 1_209_600))?;
            b.tlsrpt(&format!("mailto:tlsrpt@{}", b.domain()));
            Ok(())
        };
    "sts-enforce", ["STS-APP-01"], "MTA-STS enforce, valid policy and certificates",
        "", "OK secure match=mx.{d} servername=hostname",
        |b| sts_domain(b, "enforce");
    "sts-testing", ["STS-APP-02"], "MTA-STS testing",
        "policy in testing mode: failures are only reported", "NOTFOUND ",
        |b| sts_domain(b, "testing");
    "sts-none", ["STS-APP-03"], "MTA-STS mode none",
        "policy in mode none: MTA-STS is switched off", "NOTFOUND ",
        |b| sts_domain(b, "none");
    "plain", ["STS-FETCH-06"], "STARTTLS with a valid certificate, no DANE, no MTA-STS",
        "nothing protects delivery from a downgrade", "NOTFOUND ",
        one_good_mx;
    "dane-ee", ["DANE-AUTH-01"], "DANE-EE 3 1 1 matching the server key",
        "", "OK dane-only",
        dane_ee_domain;
    "dane-ta", ["DANE-AUTH-02"], "DANE-TA 2 1 1 on the issuing intermediate",
        "", "OK dane-only",
        |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf(&mx)?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let ta = tlsa_for(CertUsage::DaneTa, Selector::Spki, MatchingType::Sha256,
                b.pki().intermediate(crate::pki::Intermediate::A).spki_der());
            b.tlsa(&mx, &ta);
            Ok(())
        };
    "dane-ee-self-signed", ["DANE-AUTH-01"], "DANE-EE with a self-signed certificate",
        "", "OK dane-only",
        |b| {
            let mx = b.name("mx");
            let leaf = b.leaf(LeafSpec::new([mx.as_str()]).issued_by(IssuedBy::SelfSigned))?;
            b.mx(10, &mx, Listener::tls(&leaf));
            b.tlsa(&mx, &dane_ee_spki(&leaf));
            Ok(())
        };
    "dane-ee-expired", ["DANE-AUTH-01"], "DANE-EE with an expired certificate",
        "", "OK dane-only",
        |b| {
            let mx = b.name("mx");
            let leaf = b.leaf(LeafSpec::new([mx.as_str()]).validity(Validity::Expired))?;
            b.mx(10, &mx, Listener::tls(&leaf));
            b.tlsa(&mx, &dane_ee_spki(&leaf));
            Ok(())
        };
    "dane-ee-wrong-name", ["DANE-AUTH-01"], "DANE-EE with a certificate for another name",
        "", "OK dane-only",
        |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf("mail.elsewhere.test")?;
            b.mx(10, &mx, Listener::tls(&leaf));
            b.tlsa(&mx, &dane_ee_spki(&leaf));
            Ok(())
        };
    "dane-fails-sts-passes", ["STS-APP-06"], "TLSA does not match; MTA-STS would pass",
        "DANE authentication fails, and MTA-STS must not override it", "OK dane-only",
        |b| {
            sts_domain(b, "enforce")?;
            let mx = b.name("mx");
            let other = b.valid_leaf(&mx)?;
            b.tlsa(&mx, &dane_ee_spki(&other));
            Ok(())
        };
    "sts-first-mx-fails", ["STS-OPS-04"], "MTA-STS enforce, first MX has a bad certificate",
        "mx1 presents a self-signed certificate; senders fall back to mx2",
        "OK secure match=mx1.{d}:mx2.{d} servername=hostname",
        |b| {
            let (mx1, mx2) = (b.name("mx1"), b.name("mx2"));
            let bad = b.leaf(LeafSpec::new([mx1.as_str()]).issued_by(IssuedBy::SelfSigned))?;
            let good = b.valid_leaf(&mx2)?;
            b.mx(10, &mx1, Listener::tls(&bad));
            b.mx(20, &mx2, Listener::tls(&good));
            b.sts("20261129", &policy("enforce", &[&mx1, &mx2], 604_800))?;
            b.tlsrpt(&format!("mailto:tlsrpt@{}", b.domain()));
            Ok(())
        };

    // ---- MTA-STS failures (SCENARIOS.md §M) ----
    "m01-redirect", ["M-01", "STS-FETCH-02"], "Policy URL redirects",
        "the policy host answers 301; senders must not follow", "NOTFOUND ",
        |b| {
            one_good_mx(b)?;
            b.sts_record("20261129");
            let target = format!("https://www.{}/.well-known/mta-sts.txt", b.domain());
            b.policy_host(Reply::redirect(target))
        };
    "m01-not-found", ["M-01", "STS-FETCH-02"], "Policy URL answers 404",
        "the policy file is missing", "NOTFOUND ",
        |b| {
            one_good_mx(b)?;
            b.sts_record("20261129");
            b.policy_host(Reply::not_found())
        };
    "m01-wrong-path", ["M-01", "STS-POL-01"], "Policy file at /mta-sts.txt",
        "the policy file is not at /.well-known/mta-sts.txt", "NOTFOUND ",
        |b| {
            one_good_mx(b)?;
            b.sts_record("20261129");
            let mx = b.name("mx");
            let name = b.name("mta-sts");
            let leaf = b.valid_leaf(&name)?;
            let host = PolicyHost::new(&name, &leaf, ServedChain::default(),
                Reply::policy(policy("enforce", &[&mx], 604_800).into_bytes()))
                .path("/mta-sts.txt");
            b.custom_policy_host(host);
            Ok(())
        };
    "m01-no-policy-host", ["M-01"], "Policy host has no address",
        "mta-sts.<domain> does not resolve", "NOTFOUND ",
        |b| {
            one_good_mx(b)?;
            b.sts_record("20261129");
            Ok(())
        };
    "m02-wrong-name", ["M-02", "STS-FETCH-01"], "Policy host certificate for another name",
        "the policy host presents a certificate for www.<domain>", "NOTFOUND ",
        |b| { let www = b.name("www"); m02(b, LeafSpec::new([www]), ServedChain::default()) };
    "m02-expired", ["M-02", "STS-FETCH-01"], "Policy host certificate expired",
        "the policy host's certificate has expired", "NOTFOUND ",
        |b| { let n = b.name("mta-sts"); m02(b, LeafSpec::new([n]).validity(Validity::Expired), ServedChain::default()) };
    "m02-self-signed", ["M-02", "STS-FETCH-01"], "Policy host certificate self-signed",
        "the policy host's certificate is self-signed", "NOTFOUND ",
        |b| { let n = b.name("mta-sts"); m02(b, LeafSpec::new([n]).issued_by(IssuedBy::SelfSigned), ServedChain::default()) };
    "m02-missing-intermediate", ["M-02", "STS-FETCH-01"], "Policy host omits its intermediate",
        "the policy host sends its certificate without the intermediate", "NOTFOUND ",
        |b| { let n = b.name("mta-sts"); m02(b, LeafSpec::new([n]), ServedChain::LeafOnly) };
    "m03-content-type", ["M-03", "STS-POL-02"], "Policy served as application/octet-stream",
        "the policy file has the wrong media type", "NOTFOUND ",
        |b| {
            one_good_mx(b)?;
            b.sts_record("20261129");
            let mx = b.name("mx");
            b.policy_host(Reply::body(200, Some("application/octet-stream"),
                policy("enforce", &[&mx], 604_800).into_bytes()))
        };
    "m03-html-soft-404", ["M-03", "STS-POL-02"], "Policy URL returns an HTML page with 200",
        "a CDN error page is served instead of the policy", "NOTFOUND ",
        |b| {
            one_good_mx(b)?;
            b.sts_record("20261129");
            b.policy_host(Reply::body(200, Some("text/html"),
                b"<html><body><h1>Not Found</h1></body></html>".to_vec()))
        };
    "m05-partial-coverage", ["M-05", "STS-VAL-01"], "Policy does not list every MX",
        "mx2 is not in the policy: senders never deliver to it",
        "OK secure match=mx1.{d} servername=hostname",
        |b| {
            let (mx1, mx2) = (b.name("mx1"), b.name("mx2"));
            let l1 = b.valid_leaf(&mx1)?;
            let l2 = b.valid_leaf(&mx2)?;
            b.mx(10, &mx1, Listener::tls(&l1));
            b.mx(20, &mx2, Listener::tls(&l2));
            b.sts("20261129", &policy("enforce", &[&mx1], 604_800))
        };
    "m05-two-labels", ["M-05", "STS-VAL-01"], "Wildcard pattern against a two-label MX",
        "*.<domain> does not cover a.b.<domain>: no MX is covered", "TEMP",
        |b| {
            let mx = b.name("a.b");
            let leaf = b.valid_leaf(&mx)?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let pattern = format!("*.{}", b.domain());
            b.sts("20261129", &policy("enforce", &[&pattern], 604_800))
        };
    "m06-mx-wrong-name", ["M-06", "STS-VAL-02"], "MX certificate for another name under enforce",
        "the MX host presents the certificate of mail.provider.test: MTA-STS senders defer",
        "OK secure match=mx.{d} servername=hostname",
        |b| {
            let leaf = b.valid_leaf("mail.provider.test")?;
            sts_enforce_with(b, Listener::tls(&leaf), Some(Listener::tls(&leaf)))
        };
    "m06-mx-self-signed", ["M-06", "STS-VAL-02"], "MX certificate self-signed under enforce",
        "the MX host's certificate chains to no trusted root: MTA-STS senders defer",
        "OK secure match=mx.{d} servername=hostname",
        |b| {
            let mx = b.name("mx");
            let leaf = b.leaf(LeafSpec::new([mx.as_str()]).issued_by(IssuedBy::SelfSigned))?;
            sts_enforce_with(b, Listener::tls(&leaf), Some(Listener::tls(&leaf)))
        };
    "m06-mx-expired", ["M-06", "STS-VAL-02"], "MX certificate expired under enforce",
        "the MX host's certificate has expired: MTA-STS senders defer",
        "OK secure match=mx.{d} servername=hostname",
        |b| {
            let mx = b.name("mx");
            let leaf = b.leaf(LeafSpec::new([mx.as_str()]).validity(Validity::Expired))?;
            sts_enforce_with(b, Listener::tls(&leaf), Some(Listener::tls(&leaf)))
        };
    "pkix-os-store-only", ["PKIX-01", "M-06", "STS-VAL-02"],
        "MX certificate from a root only the operating system's store has, under enforce",
        "the MX chain ends at a root that the OS store holds and Mozilla's program does not: \
         MTA-STS senders using Mozilla's roots defer, those using the OS store deliver",
        "OK secure match=mx.{d} servername=hostname",
        |b| {
            let mx = b.name("mx");
            let leaf = b.leaf(LeafSpec::new([mx.as_str()]).issued_by(IssuedBy::OsStoreRoot))?;
            sts_enforce_with(b, Listener::tls(&leaf), Some(Listener::tls(&leaf)))
        };
    "pkix-os-only-policy-host", ["PKIX-01", "M-02", "STS-FETCH-01"],
        "Policy host certificate from a root only the operating system's store has",
        "the policy host's chain ends at a root that the OS store holds and Mozilla's program \
         does not: senders using Mozilla's roots get no policy",
        "NOTFOUND ",
        |b| {
            let n = b.name("mta-sts");
            m02(b, LeafSpec::new([n]).issued_by(IssuedBy::OsStoreRoot), ServedChain::default())
        };
    "m07-two-records", ["M-07", "STS-TXT-05"], "Two v=STSv1 TXT records",
        "two records mean no policy at all", "NOTFOUND ",
        |b| m07(b, &[&["v=STSv1; id=20261128;"], &["v=STSv1; id=20261129;"]]);
    "m07-bad-id", ["M-07", "STS-TXT-03"], "id with a hyphen",
        "the id may only hold letters and digits", "NOTFOUND ",
        |b| m07(b, &[&["v=STSv1; id=2026-11-29;"]]);
    "m07-missing-id", ["M-07", "STS-TXT-03"], "TXT record without id",
        "the id field is required", "NOTFOUND ",
        |b| m07(b, &[&["v=STSv1;"]]);
    "m07-version-not-first", ["M-07", "STS-TXT-02"], "v=STSv1 not first",
        "the record must begin with v=STSv1", "NOTFOUND ",
        |b| m07(b, &[&["id=20261129; v=STSv1;"]]);
    "m07-wrong-owner", ["M-07", "STS-TXT-01"], "TXT at _mta-sts.mta-sts.<domain>",
        "the record was published one level too deep", "NOTFOUND ",
        |b| {
            one_good_mx(b)?;
            let mx = b.name("mx");
            b.policy_host(Reply::policy(policy("enforce", &[&mx], 604_800).into_bytes()))?;
            let owner = b.name("_mta-sts.mta-sts");
            b.txt(&owner, &["v=STSv1; id=20261129;"]);
            Ok(())
        };
    "m07-split-strings", ["STS-TXT-06"], "TXT record split into two strings",
        "", "OK secure match=mx.{d} servername=hostname",
        |b| m07(b, &[&["v=STSv1; ", "id=20261129;"]]);
    "m09-mode-enforced", ["M-09", "STS-POL-05"], "mode: enforced",
        "an unknown mode invalidates the policy", "NOTFOUND ",
        |b| { let mx = b.name("mx"); m09(b, policy("enforced", &[&mx], 604_800).as_bytes()) };
    "m09-mode-case", ["M-09", "STS-POL-05"], "mode: Enforce",
        "values are case-sensitive", "NOTFOUND ",
        |b| { let mx = b.name("mx"); m09(b, policy("Enforce", &[&mx], 604_800).as_bytes()) };
    "m09-no-version", ["M-09", "STS-POL-04"], "policy without version",
        "version: STSv1 is required", "NOTFOUND ",
        |b| {
            let mx = b.name("mx");
            m09(b, format!("mode: enforce\r\nmx: {mx}\r\nmax_age: 604800\r\n").as_bytes())
        };
    "m09-max-age-units", ["M-09", "STS-POL-06"], "max_age: 7d",
        "max_age is a number of seconds", "NOTFOUND ",
        |b| {
            let mx = b.name("mx");
            m09(b, format!("version: STSv1\r\nmode: enforce\r\nmx: {mx}\r\nmax_age: 7d\r\n").as_bytes())
        };
    "m09-mx-list", ["M-09", "STS-POL-07"], "several MX names on one line",
        "one mx: line per pattern", "NOTFOUND ",
        |b| {
            let mx = b.name("mx");
            m09(b, format!("version: STSv1\r\nmode: enforce\r\nmx: {mx}, mx2.{}\r\nmax_age: 604800\r\n", b.domain()).as_bytes())
        };
    "m09-json", ["M-09", "STS-POL-03"], "JSON instead of key: value lines",
        "the policy is not in the RFC 8461 format", "NOTFOUND ",
        |b| m09(b, br#"{"version":"STSv1","mode":"enforce","max_age":604800}"#);
    "m09-ip-mx", ["M-09", "STS-POL-09"], "mx: with an IP address, and an nmx: typo",
        "mx: 192.0.2.25 matches no MX host and nmx: is unknown; both are ignored, the policy stands",
        "OK secure match=mx.{d} servername=hostname",
        |b| {
            let (mx, mx2) = (b.name("mx"), b.name("mx2"));
            m09(b, format!("version: STSv1\r\nmode: enforce\r\nmx: 192.0.2.25\r\nnmx: {mx2}\r\nmx: {mx}\r\nmax_age: 604800\r\n").as_bytes())
        };
    "m09-unmatchable-only", ["M-09", "STS-POL-09"], "enforce, only an address and a single label",
        "no mx: value can match an MX host: the enforce policy covers none, senders defer", "TEMP",
        |b| m09(b, policy("enforce", &["192.0.2.25", "mx"], 604_800).as_bytes());
    "m09-nmx-typo", ["M-09", "STS-POL-07"], "enforce, its only host line is nmx:",
        "no mx: line: the enforce policy covers no MX host, senders defer", "TEMP",
        |b| {
            let mx = b.name("mx");
            m09(b, format!("version: STSv1\r\nmode: enforce\r\nnmx: {mx}\r\nmax_age: 604800\r\n").as_bytes())
        };
    "m10-short-max-age", ["M-10", "STS-POL-06"], "enforce with max_age one day",
        "a short max_age weakens protection against blocked discovery",
        "OK secure match=mx.{d} servername=hostname",
        |b| { one_good_mx(b)?; let mx = b.name("mx"); b.sts("20261129", &policy("enforce", &[&mx], 86_400)) };
    "m13-broad-pattern", ["M-13", "STS-SEC-01"], "mx: *.<domain>",
        "any host of the domain with a public certificate may receive mail",
        "OK secure match=mx.{d} servername=hostname",
        |b| { one_good_mx(b)?; let p = format!("*.{}", b.domain()); b.sts("20261129", &policy("enforce", &[&p], 604_800)) };

    // ---- Transport (SCENARIOS.md §T) ----
    "t01-masked-starttls", ["T-01", "STT-01"], "STARTTLS masked by a middlebox (XXXXXXXA)",
        "EHLO shows XXXXXXXA and STARTTLS is answered 500",
        "OK secure match=mx.{d} servername=hostname",
        |b| sts_enforce_with(b, Listener::Other(StartTls::Masked), Some(Listener::Other(StartTls::Masked)));
    "t02-ipv6-no-tls", ["T-02"], "No STARTTLS on the IPv6 address",
        "the IPv6 listener does not offer STARTTLS",
        "OK secure match=mx.{d} servername=hostname",
        |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf(&mx)?;
            sts_enforce_with(b, Listener::tls(&leaf), Some(Listener::Other(StartTls::NotOffered)))
        };
    "t03-tls-fails", ["T-03", "STS-VAL-04"], "TLS handshake fails after STARTTLS",
        "the server answers 220 and then sends no TLS",
        "OK secure match=mx.{d} servername=hostname",
        |b| sts_enforce_with(b, Listener::Other(StartTls::GarbageAfterReady), Some(Listener::Other(StartTls::AbortAfterReady)));

    // ---- DANE (SCENARIOS.md §D) ----
    "d01-new-key", ["D-01", "DANE-AUTH-01"], "3 1 1 still pins the old key after renewal",
        "the certificate was renewed with a new key; the TLSA record was not updated", "OK dane-only",
        |b| {
            let mx = b.name("mx");
            let old = b.valid_leaf(&mx)?;
            let new = b.pki().reissue_with_new_key(&old, Validity::Valid)?;
            b.mx(10, &mx, Listener::tls(&new));
            b.tlsa(&mx, &dane_ee_spki(&old));
            Ok(())
        };
    "d01-3-0-1-reissued", ["D-01", "DANE-TLSA-03"], "3 0 1 pinned to the previous certificate",
        "3 0 1 changes at every renewal, even with the same key", "OK dane-only",
        |b| {
            let mx = b.name("mx");
            let old = b.valid_leaf(&mx)?;
            let new = b.pki().reissue(&old, Validity::Valid)?;
            b.mx(10, &mx, Listener::tls(&new));
            b.tlsa(&mx, &dane_ee_cert(&old));
            Ok(())
        };
    "d02-one-intermediate", ["D-02", "DANE-AUTH-02"], "2 1 1 pins the other issuing intermediate",
        "the certificate comes from intermediate B; only A is pinned", "OK dane-only",
        |b| {
            let mx = b.name("mx");
            let leaf = b.leaf(LeafSpec::new([mx.as_str()]).issued_by(IssuedBy::IntermediateB))?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let ta = tlsa_for(CertUsage::DaneTa, Selector::Spki, MatchingType::Sha256,
                b.pki().intermediate(crate::pki::Intermediate::A).spki_der());
            b.tlsa(&mx, &ta);
            Ok(())
        };
    "d03-ta-not-in-chain", ["D-03", "DANE-AUTH-02"], "2 1 1 on the root, root not served",
        "the trust anchor must be in the chain the server sends", "OK dane-only",
        |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf(&mx)?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let ta = tlsa_for(CertUsage::DaneTa, Selector::Spki, MatchingType::Sha256,
                b.pki().root().spki_der());
            b.tlsa(&mx, &ta);
            Ok(())
        };
    "d04-ta-wrong-name", ["D-04", "DANE-AUTH-03"], "DANE-TA with a certificate for another name",
        "under DANE-TA the certificate must name the MX host", "OK dane-only",
        |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf("other.elsewhere.test")?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let ta = tlsa_for(CertUsage::DaneTa, Selector::Spki, MatchingType::Sha256,
                b.pki().intermediate(crate::pki::Intermediate::A).spki_der());
            b.tlsa(&mx, &ta);
            Ok(())
        };
    "d05-bogus-ds", ["D-05", "DANE-DNS-03"], "DNSSEC broken: DS matches no key",
        "every validating resolver fails the MX lookup", "TEMP",
        |b| { dane_ee_domain(b)?; b.zone(|z| z.bogus(Bogus::DsMismatch)); Ok(()) };
    "d05-expired-signatures", ["D-05", "DANE-DNS-03"], "DNSSEC broken: signatures expired",
        "every validating resolver fails the MX lookup", "TEMP",
        |b| { dane_ee_domain(b)?; b.zone(|z| z.bogus(Bogus::ExpiredSignatures)); Ok(()) };
    "alg-rsasha1", ["DNSSEC-ALG-01"], "Zone signed with RSA/SHA-1 (algorithm 5)",
        "validators that refuse SHA-1 treat the zone as unsigned, which turns DANE off",
        "OK dane-only",
        |b| {
            dane_ee_domain(b)?;
            b.zone(|z| z.key_algorithm(KeyAlgorithm::RsaSha1 { bits: 2048 }));
            Ok(())
        };
    "alg-rsa-1024", ["DNSSEC-ALG-02"], "Zone signed with a 1024-bit RSA key",
        "a 1024-bit RSA zone key is weak", "OK dane-only",
        |b| {
            dane_ee_domain(b)?;
            b.zone(|z| z.key_algorithm(KeyAlgorithm::RsaSha256 { bits: 1024 }));
            Ok(())
        };
    "ds-sha1-only", ["DNSSEC-DS-01"], "Delegation with a SHA-1 DS record only",
        "the chain of trust into the zone rests on SHA-1", "OK dane-only",
        |b| { dane_ee_domain(b)?; b.zone(|z| z.ds_digest(DsDigest::Sha1Only)); Ok(()) };
    "tlsa-large", ["DANE-TLSA-08"], "Signed TLSA answer over 1232 octets",
        "full RSA public keys (`3 1 0`) of four retired keys next to the current `3 1 1`: \
         the answer needs TCP",
        "OK dane-only",
        |b| {
            dane_ee_domain(b)?;
            let mx = b.name("mx");
            for retired in 0..4u8 {
                b.tlsa(&mx, &tlsa_for(CertUsage::DaneEe, Selector::Spki, MatchingType::Full,
                    &rsa2048_spki(retired)));
            }
            Ok(())
        };
    "d06-insecure-mx-host", ["D-06", "DANE-DNS-06"], "MX host in an unsigned zone",
        "the TLSA record is ignored: the MX host's zone is not signed", "NOTFOUND ",
        |b| {
            let provider = format!("provider-{}", b.domain());
            b.extra_zone(Zone::new(&provider).insecure());
            let mx = format!("mx.{provider}");
            let leaf = b.valid_leaf(&mx)?;
            b.mx(10, &mx, Listener::tls(&leaf));
            b.tlsa(&mx, &dane_ee_spki(&leaf));
            Ok(())
        };
    "d07-tlsa-wrong-owner", ["D-07", "DANE-DISC-03"], "TLSA records at the domain and at the HTTPS port",
        "the records sit at _25._tcp.<domain> and _443._tcp.<MX host>, where SMTP senders never look", "NOTFOUND ",
        |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf(&mx)?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let record = dane_ee_spki(&leaf);
            let apex = format!("_25._tcp.{}", b.domain());
            b.zone(|z| z.tlsa(&apex, &record));
            let https = format!("_443._tcp.{mx}");
            b.zone(|z| z.tlsa(&https, &record));
            Ok(())
        };
    "d07-tlsa-at-alias", ["D-07", "DANE-DISC-03"], "Stale TLSA record at an MX alias whose target has its own",
        "the MX host is a secure alias: senders use the target's TLSA records, never the alias's", "OK dane-only",
        |b| {
            let (mx, host) = (b.name("mx"), b.name("host"));
            let leaf = b.valid_leaf(&mx)?;
            let old = b.pki().reissue_with_new_key(&leaf, Validity::Valid)?;
            b.mx_record(10, &mx);
            b.zone(|z| z.cname(&mx, &host));
            b.host(&host, Some(Listener::tls(&leaf)), None);
            b.tlsa(&host, &dane_ee_spki(&leaf));
            b.tlsa(&mx, &dane_ee_spki(&old));
            Ok(())
        };
    "d08-tlsa-servfail", ["D-08", "DANE-DNS-04"], "TLSA queries answered SERVFAIL",
        "DANE senders cannot tell whether TLSA exists and must defer", "TEMP",
        |b| {
            dane_ee_domain(b)?;
            let owner = format!("_25._tcp.{}", b.name("mx"));
            b.zone(|z| z.fault(&owner, RecordType::TLSA, Fault::ServFail));
            Ok(())
        };
    "d09-partial-dane", ["D-09", "DANE-OPS-03"], "Backup MX without TLSA",
        "mx2 has no TLSA record: a downgrade path", "OK dane",
        |b| {
            let (mx1, mx2) = (b.name("mx1"), b.name("mx2"));
            let l1 = b.valid_leaf(&mx1)?;
            let l2 = b.valid_leaf(&mx2)?;
            b.mx(10, &mx1, Listener::tls(&l1));
            b.mx(20, &mx2, Listener::tls(&l2));
            b.tlsa(&mx1, &dane_ee_spki(&l1));
            Ok(())
        };
    "d10-ipv6-old-cert", ["D-10", "DANE-AUTH-01"], "IPv6 address serves an old certificate",
        "the IPv6 listener's key does not match the TLSA record", "OK dane-only",
        |b| {
            let mx = b.name("mx");
            let current = b.valid_leaf(&mx)?;
            let old = b.pki().reissue_with_new_key(&current, Validity::Valid)?;
            b.mx_record(10, &mx);
            b.host(&mx, Some(Listener::tls(&current)), Some(Listener::tls(&old)));
            b.tlsa(&mx, &dane_ee_spki(&current));
            Ok(())
        };
    "d12-unusable-only", ["D-12", "DANE-TLSA-02", "DANE-DISC-05"], "Only PKIX-EE and malformed TLSA",
        "no TLSA record is usable: TLS is required but cannot be authenticated", "OK encrypt",
        |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf(&mx)?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let pkix_ee = tlsa_for(CertUsage::PkixEe, Selector::Spki, MatchingType::Sha256, &leaf.key().spki_der());
            let short = TlsaRecord { data: vec![0xab; 20], ..dane_ee_spki(&leaf) };
            b.tlsa(&mx, &pkix_ee);
            b.tlsa(&mx, &short);
            Ok(())
        };

    // ---- Where DANE meets MTA-STS (POSTFIX.md §4.5) ----
    "insecure-mx-dane-unlisted", ["DANE-DISC-01", "STS-APP-01"], "Unsigned MX to a DANE host the enforce policy does not list",
        "the MX can be forged to any signed host with TLSA of its own: only the policy's patterns count, and they list no MX",
        "TEMP",
        |b| insecure_mx_to_dane_host(b, Listing::Unlisted);
    "insecure-mx-dane-listed", ["DANE-DISC-01", "STS-APP-01"], "Unsigned MX to a DANE host the enforce policy lists",
        "the MX is not signed, so the policy's PKIX check, not the TLSA record, authenticates the host",
        "OK secure match=mx.provider-{d} servername=hostname",
        |b| insecure_mx_to_dane_host(b, Listing::Listed);
    "insecure-mx-dane", ["DANE-DISC-01"], "Unsigned MX to a DANE host, no MTA-STS",
        "the host's TLSA applies, but the unsigned MX can be forged to point elsewhere",
        "OK dane",
        |b| insecure_mx_to_dane_host(b, Listing::NoPolicy);
    "partial-dane-enforce", ["STS-APP-01", "DANE-OPS-03"], "Enforce policy; preferred MX without TLSA or STARTTLS, backup with DANE",
        "the preferred MX offers no STARTTLS: an opportunistic answer would deliver there in cleartext",
        "OK dane-only",
        |b| {
            let (mx1, mx2) = (b.name("mx1"), b.name("mx2"));
            b.mx(10, &mx1, Listener::Other(StartTls::NotOffered));
            let leaf = b.valid_leaf(&mx2)?;
            b.mx(20, &mx2, Listener::tls(&leaf));
            b.tlsa(&mx2, &dane_ee_spki(&leaf));
            b.sts("20261205", &policy("enforce", &[&mx1, &mx2], 604_800))?;
            Ok(())
        };
    "unusable-tlsa-enforce", ["STS-APP-01", "DANE-DISC-05"], "Enforce policy; only unusable TLSA; self-signed certificate",
        "no TLSA record is usable, so the policy's PKIX check applies, and the self-signed certificate fails it",
        "OK secure match=mx.{d} servername=hostname",
        |b| {
            let mx = b.name("mx");
            let leaf = b.leaf(LeafSpec::new([mx.as_str()]).issued_by(IssuedBy::SelfSigned))?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let pkix_ee = tlsa_for(CertUsage::PkixEe, Selector::Spki, MatchingType::Sha256, &leaf.key().spki_der());
            b.tlsa(&mx, &pkix_ee);
            b.sts("20261205", &policy("enforce", &[&mx], 604_800))?;
            Ok(())
        };
    "sts-max-age-zero", ["STS-POL-06", "STS-APP-01"], "Enforce policy with max_age: 0",
        "the policy is never cached, but applies to the delivery it was fetched for",
        "OK secure match=mx.{d} servername=hostname",
        |b| { one_good_mx(b)?; let mx = b.name("mx"); b.sts("20261205", &policy("enforce", &[&mx], 0)) };
    "unsigned-null-mx-enforce", ["PFX-04", "STS-FETCH-07"], "Unsigned null MX next to an enforce policy",
        "an unsigned null MX can be forged, and Postfix's own MX lookup could see a forged MX: the policy still applies",
        "OK secure match=mx.{d}:.mail.{d} servername=hostname",
        |b| {
            let (mx, wildcard) = (b.name("mx"), format!("*.{}", b.name("mail")));
            b.sts("20261205", &policy("enforce", &[&mx, &wildcard], 604_800))?;
            b.zone(Zone::null_mx);
            b.zone(Zone::insecure);
            Ok(())
        };

    // ---- CNAMEs to hosts without every record type (issue 12) ----
    "cname-mx-no-aaaa", ["N-01", "DANE-DISC-03", "DANE-DNS-06"], "MX host is a CNAME to an IPv4-only DANE host",
        "the MX host is an alias to a host without AAAA: a secure NODATA through a secure alias, not a DNSSEC failure",
        "OK dane-only",
        |b| {
            let (mx, host) = (b.name("mx"), b.name("host"));
            let leaf = b.valid_leaf(&mx)?;
            b.mx_record(10, &mx);
            b.zone(|z| z.cname(&mx, &host));
            b.host(&host, Some(Listener::tls(&leaf)), None);
            b.tlsa(&host, &dane_ee_spki(&leaf));
            Ok(())
        };
    "cname-mx-provider", ["N-01", "DANE-DISC-03"], "MX host and its TLSA record CNAMEd into a provider's signed zone",
        "the MX host is an alias to an IPv4-only provider host whose TLSA owner is itself an alias (RFC 7671 §7)",
        "OK dane-only",
        |b| {
            let provider = format!("provider-{}", b.domain());
            b.extra_zone(Zone::new(&provider));
            let (mx, host) = (b.name("mx"), format!("mx.{provider}"));
            let (owner, tlsa_target) = (format!("_25._tcp.{host}"), format!("_dane.{provider}"));
            let leaf = b.valid_leaf(&host)?;
            b.mx_record(10, &mx);
            b.zone(|z| z.cname(&mx, &host));
            b.host(&host, Some(Listener::tls(&leaf)), None);
            b.at(&owner, |z| z.cname(&owner, &tlsa_target));
            let record = dane_ee_spki(&leaf);
            b.at(&tlsa_target, |z| z.tlsa(&tlsa_target, &record));
            Ok(())
        };
    "cname-mx-insecure", ["N-01", "DANE-DNS-06"], "MX host CNAMEd into an unsigned provider zone",
        "the secure alias leads into an unsigned zone: the host's addresses are insecure, so its TLSA record is ignored",
        "NOTFOUND ",
        |b| {
            let provider = format!("provider-{}", b.domain());
            b.extra_zone(Zone::new(&provider).insecure());
            let (mx, host) = (b.name("mx"), format!("mx.{provider}"));
            let leaf = b.valid_leaf(&host)?;
            b.mx_record(10, &mx);
            b.zone(|z| z.cname(&mx, &host));
            b.host(&host, Some(Listener::tls(&leaf)), Some(Listener::tls(&leaf)));
            b.tlsa(&host, &dane_ee_spki(&leaf));
            Ok(())
        };
    "sts-cname-provider", ["STS-TXT-01", "STS-FETCH-01"], "MTA-STS record and policy host CNAMEd to a provider without IPv6",
        "_mta-sts and mta-sts are aliases into a provider's signed zone, whose policy host has no AAAA",
        "OK secure match=mx.{d} servername=hostname",
        |b| {
            one_good_mx(b)?;
            let provider = format!("provider-{}", b.domain());
            b.extra_zone(Zone::new(&provider));
            let mx = b.name("mx");
            let (txt, txt_target) = (b.name("_mta-sts"), format!("_mta-sts.{provider}"));
            b.zone(|z| z.cname(&txt, &txt_target));
            b.txt(&txt_target, &["v=STSv1; id=20261205;"]);
            b.aliased_policy_host(
                &format!("sts.{provider}"),
                Reply::policy(policy("enforce", &[&mx], 604_800).into_bytes()),
            )
        };
    "dane-ee-nsec3", ["DANE-AUTH-01", "DANE-DNS-01"], "DANE-EE in a zone signed with NSEC3, IPv4-only MX host",
        "the zone proves denials with NSEC3 (RFC 5155): the MX host's missing AAAA is a secure NODATA",
        "OK dane-only",
        |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf(&mx)?;
            b.zone(|z| z.nsec3(Nsec3 { opt_out: false }));
            b.mx_record(10, &mx);
            b.host(&mx, Some(Listener::tls(&leaf)), None);
            b.tlsa(&mx, &dane_ee_spki(&leaf));
            Ok(())
        };

    // ---- DNS and MX basics (SCENARIOS.md §N) ----
    "insecure-zone", ["DANE-DISC-01"], "Unsigned zone, STARTTLS only",
        "the zone is not signed: DANE is not possible", "NOTFOUND ",
        |b| { one_good_mx(b)?; b.zone(Zone::insecure); Ok(()) };
    "null-mx", ["N-01", "DANE-DISC-02"], "Null MX (RFC 7505)",
        "", "NOTFOUND ",
        |b| { b.zone(Zone::null_mx); Ok(()) };
    "implicit-mx", ["N-01", "DANE-DISC-02"], "No MX record: the domain is its own mail host",
        "no MX record; senders use the domain's own address", "NOTFOUND ",
        |b| {
            let d = b.domain().to_owned();
            let leaf = b.valid_leaf(&d)?;
            b.host(&d, Some(Listener::tls(&leaf)), None);
            Ok(())
        };

    // ---- TLS-RPT (SCENARIOS.md §R) ----
    "r01-legacy-tlsrpt", ["R-01", "RPT-TXT-01"], "TLS-RPT record at _smtp-tlsrpt",
        "the record uses the draft-era name and is never read",
        "OK secure match=mx.{d} servername=hostname",
        |b| {
            one_good_mx(b)?;
            let mx = b.name("mx");
            b.sts("20261129", &policy("enforce", &[&mx], 604_800))?;
            let owner = b.name("_smtp-tlsrpt");
            let rua = format!("v=TLSRPTv1; rua=mailto:tlsrpt@{}", b.domain());
            b.txt(&owner, &[&rua]);
            Ok(())
        };
};
