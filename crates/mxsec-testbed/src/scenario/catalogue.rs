//! Every scenario of the simulated internet, as data. SCENARIOS.md IDs name them.

use mxsec_proto::dane::tlsa::{CertUsage, MatchingType, Selector, TlsaRecord};

use crate::dns::{Bogus, DsDigest, Fault, KeyAlgorithm, Nsec3, RecordType, Zone};
use crate::https::{PolicyHost, Reply};
use crate::pki::{IssuedBy, LeafSpec, ServedChain, Validity};
use crate::smtp::StartTls;

use super::build::{dane_ee_cert, dane_ee_spki, tlsa_for, Builder, Listener};
use super::{Scenario, TestbedError};

type Result = std::result::Result<(), TestbedError>;

/// The DKIM selector of the key with which `plain.test` signs the TLS reports it sends
/// (RFC 8460 §3, RPT-DEL-03: `s=tlsrpt`).
pub const REPORTER_DKIM_SELECTOR: &str = "tlsrpt";
/// The DKIM key record `plain.test` publishes at `tlsrpt._domainkey`: an Ed25519 key (RFC
/// 8463) made for the simulated internet, whose private half the TLS-RPT end-to-end test
/// signs with.
pub const REPORTER_DKIM_RECORD: &str =
    "v=DKIM1; k=ed25519; s=tlsrpt; p=tIS/9JU2K5vhd/QwSiT+jGOKKgrRhnGT8Z3IsKvgsLU=";

/// The path at which `tlsrpt.rpt-https-rua.test` takes reports by `POST` (RPT-DEL-05).
pub const REPORT_PATH: &str = "/v1/tlsrpt";

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
    let rua = format!("mailto:tlsrpt@{}", b.domain());
    sts_domain_with_rua(b, mode, &rua)
}

/// [`sts_domain`] with its TLS-RPT record's `rua`, none if empty.
fn sts_domain_with_rua(b: &mut Builder<'_>, mode: &str, rua: &str) -> Result {
    one_good_mx(b)?;
    let mx = b.name("mx");
    b.sts("20261129", &policy(mode, &[&mx], 604_800))?;
    if !rua.is_empty() {
        b.tlsrpt(rua);
    }
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

/// The catalogue, healthy domains first.
pub(super) static ALL: &[Scenario] = &[
    Scenario {
        key: "healthy",
        ids: &["OK"],
        title: "DANE and MTA-STS enforce, TLS-RPT, two MX hosts",
        problem: "",
        query: "OK dane-only",
        build: |b| {
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
        },
    },
    Scenario {
        key: "sts-enforce",
        ids: &["STS-APP-01"],
        title: "MTA-STS enforce, valid policy and certificates",
        problem: "",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| sts_domain(b, "enforce"),
    },
    Scenario {
        key: "sts-testing",
        ids: &["STS-APP-02"],
        title: "MTA-STS testing",
        problem: "policy in testing mode: failures are only reported",
        query: "NOTFOUND ",
        build: |b| sts_domain(b, "testing"),
    },
    Scenario {
        key: "sts-none",
        ids: &["STS-APP-03"],
        title: "MTA-STS mode none",
        problem: "policy in mode none: MTA-STS is switched off",
        query: "NOTFOUND ",
        build: |b| sts_domain(b, "none"),
    },
    Scenario {
        key: "plain",
        ids: &["STS-FETCH-06"],
        title: "STARTTLS with a valid certificate, no DANE, no MTA-STS",
        problem: "nothing protects delivery from a downgrade",
        query: "NOTFOUND ",
        build: |b| {
            one_good_mx(b)?;
            // The domain also sends TLS reports: the key that signs them (RPT-DEL-03).
            let owner = b.name(&format!("{REPORTER_DKIM_SELECTOR}._domainkey"));
            b.txt(&owner, &[REPORTER_DKIM_RECORD]);
            Ok(())
        },
    },
    Scenario {
        key: "dane-ee",
        ids: &["DANE-AUTH-01"],
        title: "DANE-EE 3 1 1 matching the server key",
        problem: "",
        query: "OK dane-only",
        build: dane_ee_domain,
    },
    Scenario {
        key: "dane-ta",
        ids: &["DANE-AUTH-02"],
        title: "DANE-TA 2 1 1 on the issuing intermediate",
        problem: "",
        query: "OK dane-only",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf(&mx)?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let ta = tlsa_for(CertUsage::DaneTa, Selector::Spki, MatchingType::Sha256,
                b.pki().intermediate(crate::pki::Intermediate::A).spki_der());
            b.tlsa(&mx, &ta);
            Ok(())
        },
    },
    Scenario {
        key: "dane-ee-self-signed",
        ids: &["DANE-AUTH-01"],
        title: "DANE-EE with a self-signed certificate",
        problem: "",
        query: "OK dane-only",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.leaf(LeafSpec::new([mx.as_str()]).issued_by(IssuedBy::SelfSigned))?;
            b.mx(10, &mx, Listener::tls(&leaf));
            b.tlsa(&mx, &dane_ee_spki(&leaf));
            Ok(())
        },
    },
    Scenario {
        key: "dane-ee-expired",
        ids: &["DANE-AUTH-01"],
        title: "DANE-EE with an expired certificate",
        problem: "",
        query: "OK dane-only",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.leaf(LeafSpec::new([mx.as_str()]).validity(Validity::Expired))?;
            b.mx(10, &mx, Listener::tls(&leaf));
            b.tlsa(&mx, &dane_ee_spki(&leaf));
            Ok(())
        },
    },
    Scenario {
        key: "dane-ee-wrong-name",
        ids: &["DANE-AUTH-01"],
        title: "DANE-EE with a certificate for another name",
        problem: "",
        query: "OK dane-only",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf("mail.elsewhere.test")?;
            b.mx(10, &mx, Listener::tls(&leaf));
            b.tlsa(&mx, &dane_ee_spki(&leaf));
            Ok(())
        },
    },
    Scenario {
        key: "dane-fails-sts-passes",
        ids: &["STS-APP-06"],
        title: "TLSA does not match; MTA-STS would pass",
        problem: "DANE authentication fails, and MTA-STS must not override it",
        query: "OK dane-only",
        build: |b| {
            sts_domain(b, "enforce")?;
            let mx = b.name("mx");
            let other = b.valid_leaf(&mx)?;
            b.tlsa(&mx, &dane_ee_spki(&other));
            Ok(())
        },
    },
    Scenario {
        key: "sts-first-mx-fails",
        ids: &["STS-OPS-04"],
        title: "MTA-STS enforce, first MX has a bad certificate",
        problem: "mx1 presents a self-signed certificate; senders fall back to mx2",
        query: "OK secure match=mx1.{d}:mx2.{d} servername=hostname",
        build: |b| {
            let (mx1, mx2) = (b.name("mx1"), b.name("mx2"));
            let bad = b.leaf(LeafSpec::new([mx1.as_str()]).issued_by(IssuedBy::SelfSigned))?;
            let good = b.valid_leaf(&mx2)?;
            b.mx(10, &mx1, Listener::tls(&bad));
            b.mx(20, &mx2, Listener::tls(&good));
            b.sts("20261129", &policy("enforce", &[&mx1, &mx2], 604_800))?;
            b.tlsrpt(&format!("mailto:tlsrpt@{}", b.domain()));
            Ok(())
        },
    },
    // ---- MTA-STS failures (SCENARIOS.md §M) ----
    Scenario {
        key: "m01-redirect",
        ids: &["M-01", "STS-FETCH-02"],
        title: "Policy URL redirects",
        problem: "the policy host answers 301; senders must not follow",
        query: "NOTFOUND ",
        build: |b| {
            one_good_mx(b)?;
            b.sts_record("20261129");
            let target = format!("https://www.{}/.well-known/mta-sts.txt", b.domain());
            b.policy_host(Reply::redirect(target))
        },
    },
    Scenario {
        key: "m01-not-found",
        ids: &["M-01", "STS-FETCH-02"],
        title: "Policy URL answers 404",
        problem: "the policy file is missing",
        query: "NOTFOUND ",
        build: |b| {
            one_good_mx(b)?;
            b.sts_record("20261129");
            b.policy_host(Reply::not_found())
        },
    },
    Scenario {
        key: "m01-wrong-path",
        ids: &["M-01", "STS-POL-01"],
        title: "Policy file at /mta-sts.txt",
        problem: "the policy file is not at /.well-known/mta-sts.txt",
        query: "NOTFOUND ",
        build: |b| {
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
        },
    },
    Scenario {
        key: "m01-no-policy-host",
        ids: &["M-01"],
        title: "Policy host has no address",
        problem: "mta-sts.<domain> does not resolve",
        query: "NOTFOUND ",
        build: |b| {
            one_good_mx(b)?;
            b.sts_record("20261129");
            // Senders that cached an earlier policy keep it, and report the failed fetch.
            b.tlsrpt(&format!("mailto:tlsrpt@{}", b.domain()));
            Ok(())
        },
    },
    Scenario {
        key: "m02-wrong-name",
        ids: &["M-02", "STS-FETCH-01"],
        title: "Policy host certificate for another name",
        problem: "the policy host presents a certificate for www.<domain>",
        query: "NOTFOUND ",
        build: |b| { let www = b.name("www"); m02(b, LeafSpec::new([www]), ServedChain::default()) },
    },
    Scenario {
        key: "m02-expired",
        ids: &["M-02", "STS-FETCH-01"],
        title: "Policy host certificate expired",
        problem: "the policy host's certificate has expired",
        query: "NOTFOUND ",
        build: |b| { let n = b.name("mta-sts"); m02(b, LeafSpec::new([n]).validity(Validity::Expired), ServedChain::default()) },
    },
    Scenario {
        key: "m02-self-signed",
        ids: &["M-02", "STS-FETCH-01"],
        title: "Policy host certificate self-signed",
        problem: "the policy host's certificate is self-signed",
        query: "NOTFOUND ",
        build: |b| { let n = b.name("mta-sts"); m02(b, LeafSpec::new([n]).issued_by(IssuedBy::SelfSigned), ServedChain::default()) },
    },
    Scenario {
        key: "m02-missing-intermediate",
        ids: &["M-02", "STS-FETCH-01"],
        title: "Policy host omits its intermediate",
        problem: "the policy host sends its certificate without the intermediate",
        query: "NOTFOUND ",
        build: |b| { let n = b.name("mta-sts"); m02(b, LeafSpec::new([n]), ServedChain::LeafOnly) },
    },
    Scenario {
        key: "m03-content-type",
        ids: &["M-03", "STS-POL-02"],
        title: "Policy served as application/octet-stream",
        problem: "the policy file has the wrong media type",
        query: "NOTFOUND ",
        build: |b| {
            one_good_mx(b)?;
            b.sts_record("20261129");
            let mx = b.name("mx");
            b.policy_host(Reply::body(200, Some("application/octet-stream"),
                policy("enforce", &[&mx], 604_800).into_bytes()))
        },
    },
    Scenario {
        key: "m03-html-soft-404",
        ids: &["M-03", "STS-POL-02"],
        title: "Policy URL returns an HTML page with 200",
        problem: "a CDN error page is served instead of the policy",
        query: "NOTFOUND ",
        build: |b| {
            one_good_mx(b)?;
            b.sts_record("20261129");
            b.policy_host(Reply::body(200, Some("text/html"),
                b"<html><body><h1>Not Found</h1></body></html>".to_vec()))
        },
    },
    Scenario {
        key: "m05-partial-coverage",
        ids: &["M-05", "STS-VAL-01"],
        title: "Policy does not list every MX",
        problem: "mx2 is not in the policy: senders never deliver to it",
        query: "OK secure match=mx1.{d} servername=hostname",
        build: |b| {
            let (mx1, mx2) = (b.name("mx1"), b.name("mx2"));
            let l1 = b.valid_leaf(&mx1)?;
            let l2 = b.valid_leaf(&mx2)?;
            b.mx(10, &mx1, Listener::tls(&l1));
            b.mx(20, &mx2, Listener::tls(&l2));
            b.sts("20261129", &policy("enforce", &[&mx1], 604_800))
        },
    },
    Scenario {
        key: "m05-two-labels",
        ids: &["M-05", "STS-VAL-01"],
        title: "Wildcard pattern against a two-label MX",
        problem: "*.<domain> does not cover a.b.<domain>: no MX is covered",
        query: "TEMP",
        build: |b| {
            let mx = b.name("a.b");
            let leaf = b.valid_leaf(&mx)?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let pattern = format!("*.{}", b.domain());
            b.sts("20261129", &policy("enforce", &[&pattern], 604_800))
        },
    },
    Scenario {
        key: "m06-mx-wrong-name",
        ids: &["M-06", "STS-VAL-02"],
        title: "MX certificate for another name under enforce",
        problem: "the MX host presents the certificate of mail.provider.test: MTA-STS senders defer",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| {
            let leaf = b.valid_leaf("mail.provider.test")?;
            sts_enforce_with(b, Listener::tls(&leaf), Some(Listener::tls(&leaf)))
        },
    },
    Scenario {
        key: "m06-mx-self-signed",
        ids: &["M-06", "STS-VAL-02"],
        title: "MX certificate self-signed under enforce",
        problem: "the MX host's certificate chains to no trusted root: MTA-STS senders defer",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.leaf(LeafSpec::new([mx.as_str()]).issued_by(IssuedBy::SelfSigned))?;
            sts_enforce_with(b, Listener::tls(&leaf), Some(Listener::tls(&leaf)))
        },
    },
    Scenario {
        key: "m06-mx-expired",
        ids: &["M-06", "STS-VAL-02"],
        title: "MX certificate expired under enforce",
        problem: "the MX host's certificate has expired: MTA-STS senders defer",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.leaf(LeafSpec::new([mx.as_str()]).validity(Validity::Expired))?;
            sts_enforce_with(b, Listener::tls(&leaf), Some(Listener::tls(&leaf)))
        },
    },
    Scenario {
        key: "pkix-os-store-only",
        ids: &["PKIX-01", "M-06", "STS-VAL-02"],
        title: "MX certificate from a root only the operating system's store has, under enforce",
        problem: "the MX chain ends at a root that the OS store holds and Mozilla's program does not: \
         MTA-STS senders using Mozilla's roots defer, those using the OS store deliver",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.leaf(LeafSpec::new([mx.as_str()]).issued_by(IssuedBy::OsStoreRoot))?;
            sts_enforce_with(b, Listener::tls(&leaf), Some(Listener::tls(&leaf)))
        },
    },
    Scenario {
        key: "pkix-os-only-policy-host",
        ids: &["PKIX-01", "M-02", "STS-FETCH-01"],
        title: "Policy host certificate from a root only the operating system's store has",
        problem: "the policy host's chain ends at a root that the OS store holds and Mozilla's program \
         does not: senders using Mozilla's roots get no policy",
        query: "NOTFOUND ",
        build: |b| {
            let n = b.name("mta-sts");
            m02(b, LeafSpec::new([n]).issued_by(IssuedBy::OsStoreRoot), ServedChain::default())
        },
    },
    Scenario {
        key: "m07-two-records",
        ids: &["M-07", "STS-TXT-05"],
        title: "Two v=STSv1 TXT records",
        problem: "two records mean no policy at all",
        query: "NOTFOUND ",
        build: |b| m07(b, &[&["v=STSv1; id=20261128;"], &["v=STSv1; id=20261129;"]]),
    },
    Scenario {
        key: "m07-bad-id",
        ids: &["M-07", "STS-TXT-03"],
        title: "id with a hyphen",
        problem: "the id may only hold letters and digits",
        query: "NOTFOUND ",
        build: |b| m07(b, &[&["v=STSv1; id=2026-11-29;"]]),
    },
    Scenario {
        key: "m07-missing-id",
        ids: &["M-07", "STS-TXT-03"],
        title: "TXT record without id",
        problem: "the id field is required",
        query: "NOTFOUND ",
        build: |b| m07(b, &[&["v=STSv1;"]]),
    },
    Scenario {
        key: "m07-version-not-first",
        ids: &["M-07", "STS-TXT-02"],
        title: "v=STSv1 not first",
        problem: "the record must begin with v=STSv1",
        query: "NOTFOUND ",
        build: |b| m07(b, &[&["id=20261129; v=STSv1;"]]),
    },
    Scenario {
        key: "m07-wrong-owner",
        ids: &["M-07", "STS-TXT-01"],
        title: "TXT at _mta-sts.mta-sts.<domain>",
        problem: "the record was published one level too deep",
        query: "NOTFOUND ",
        build: |b| {
            one_good_mx(b)?;
            let mx = b.name("mx");
            b.policy_host(Reply::policy(policy("enforce", &[&mx], 604_800).into_bytes()))?;
            let owner = b.name("_mta-sts.mta-sts");
            b.txt(&owner, &["v=STSv1; id=20261129;"]);
            Ok(())
        },
    },
    Scenario {
        key: "m07-split-strings",
        ids: &["STS-TXT-06"],
        title: "TXT record split into two strings",
        problem: "",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| m07(b, &[&["v=STSv1; ", "id=20261129;"]]),
    },
    Scenario {
        key: "m09-mode-enforced",
        ids: &["M-09", "STS-POL-05"],
        title: "mode: enforced",
        problem: "an unknown mode invalidates the policy",
        query: "NOTFOUND ",
        build: |b| { let mx = b.name("mx"); m09(b, policy("enforced", &[&mx], 604_800).as_bytes()) },
    },
    Scenario {
        key: "m09-mode-case",
        ids: &["M-09", "STS-POL-05"],
        title: "mode: Enforce",
        problem: "values are case-sensitive",
        query: "NOTFOUND ",
        build: |b| { let mx = b.name("mx"); m09(b, policy("Enforce", &[&mx], 604_800).as_bytes()) },
    },
    Scenario {
        key: "m09-no-version",
        ids: &["M-09", "STS-POL-04"],
        title: "policy without version",
        problem: "version: STSv1 is required",
        query: "NOTFOUND ",
        build: |b| {
            let mx = b.name("mx");
            m09(b, format!("mode: enforce\r\nmx: {mx}\r\nmax_age: 604800\r\n").as_bytes())
        },
    },
    Scenario {
        key: "m09-max-age-units",
        ids: &["M-09", "STS-POL-06"],
        title: "max_age: 7d",
        problem: "max_age is a number of seconds",
        query: "NOTFOUND ",
        build: |b| {
            let mx = b.name("mx");
            m09(b, format!("version: STSv1\r\nmode: enforce\r\nmx: {mx}\r\nmax_age: 7d\r\n").as_bytes())
        },
    },
    Scenario {
        key: "m09-mx-list",
        ids: &["M-09", "STS-POL-07"],
        title: "several MX names on one line",
        problem: "one mx: line per pattern",
        query: "NOTFOUND ",
        build: |b| {
            let mx = b.name("mx");
            m09(b, format!("version: STSv1\r\nmode: enforce\r\nmx: {mx}, mx2.{}\r\nmax_age: 604800\r\n", b.domain()).as_bytes())
        },
    },
    Scenario {
        key: "m09-json",
        ids: &["M-09", "STS-POL-03"],
        title: "JSON instead of key: value lines",
        problem: "the policy is not in the RFC 8461 format",
        query: "NOTFOUND ",
        build: |b| m09(b, br#"{"version":"STSv1","mode":"enforce","max_age":604800}"#),
    },
    Scenario {
        key: "m09-ip-mx",
        ids: &["M-09", "STS-POL-09"],
        title: "mx: with an IP address, and an nmx: typo",
        problem: "mx: 192.0.2.25 matches no MX host and nmx: is unknown; both are ignored, the policy stands",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| {
            let (mx, mx2) = (b.name("mx"), b.name("mx2"));
            m09(b, format!("version: STSv1\r\nmode: enforce\r\nmx: 192.0.2.25\r\nnmx: {mx2}\r\nmx: {mx}\r\nmax_age: 604800\r\n").as_bytes())
        },
    },
    Scenario {
        key: "m09-unmatchable-only",
        ids: &["M-09", "STS-POL-09"],
        title: "enforce, only an address and a single label",
        problem: "no mx: value can match an MX host: the enforce policy covers none, senders defer",
        query: "TEMP",
        build: |b| m09(b, policy("enforce", &["192.0.2.25", "mx"], 604_800).as_bytes()),
    },
    Scenario {
        key: "m09-nmx-typo",
        ids: &["M-09", "STS-POL-07"],
        title: "enforce, its only host line is nmx:",
        problem: "no mx: line: the enforce policy covers no MX host, senders defer",
        query: "TEMP",
        build: |b| {
            let mx = b.name("mx");
            m09(b, format!("version: STSv1\r\nmode: enforce\r\nnmx: {mx}\r\nmax_age: 604800\r\n").as_bytes())
        },
    },
    Scenario {
        key: "m10-short-max-age",
        ids: &["M-10", "STS-POL-06"],
        title: "enforce with max_age one day",
        problem: "a short max_age weakens protection against blocked discovery",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| { one_good_mx(b)?; let mx = b.name("mx"); b.sts("20261129", &policy("enforce", &[&mx], 86_400)) },
    },
    Scenario {
        key: "m13-broad-pattern",
        ids: &["M-13", "STS-SEC-01"],
        title: "mx: *.<domain>",
        problem: "any host of the domain with a public certificate may receive mail",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| { one_good_mx(b)?; let p = format!("*.{}", b.domain()); b.sts("20261129", &policy("enforce", &[&p], 604_800)) },
    },
    // ---- Transport (SCENARIOS.md §T) ----
    // "XXXXXXXA" is the masked keyword that Cisco PIX/ASA "SMTP fixup" writes over the
    // STARTTLS keyword of an EHLO reply (SCENARIOS.md T-01), which the testbed reproduces.
    Scenario {
        key: "t01-masked-starttls",
        ids: &["T-01", "STT-01"],
        title: "STARTTLS masked by a middlebox (XXXXXXXA)",
        problem: "EHLO shows XXXXXXXA and STARTTLS is answered 500",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| sts_enforce_with(b, Listener::Other(StartTls::Masked), Some(Listener::Other(StartTls::Masked))),
    },
    Scenario {
        key: "t02-ipv6-no-tls",
        ids: &["T-02"],
        title: "No STARTTLS on the IPv6 address",
        problem: "the IPv6 listener does not offer STARTTLS",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf(&mx)?;
            sts_enforce_with(b, Listener::tls(&leaf), Some(Listener::Other(StartTls::NotOffered)))
        },
    },
    Scenario {
        key: "t03-tls-fails",
        ids: &["T-03", "STS-VAL-04"],
        title: "TLS handshake fails after STARTTLS",
        problem: "the server answers 220 and then sends no TLS",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| sts_enforce_with(b, Listener::Other(StartTls::GarbageAfterReady), Some(Listener::Other(StartTls::AbortAfterReady))),
    },
    // ---- DANE (SCENARIOS.md §D) ----
    Scenario {
        key: "d01-new-key",
        ids: &["D-01", "DANE-AUTH-01"],
        title: "3 1 1 still pins the old key after renewal",
        problem: "the certificate was renewed with a new key; the TLSA record was not updated",
        query: "OK dane-only",
        build: |b| {
            let mx = b.name("mx");
            let old = b.valid_leaf(&mx)?;
            let new = b.pki().reissue_with_new_key(&old, Validity::Valid)?;
            b.mx(10, &mx, Listener::tls(&new));
            b.tlsa(&mx, &dane_ee_spki(&old));
            Ok(())
        },
    },
    Scenario {
        key: "d01-3-0-1-reissued",
        ids: &["D-01", "DANE-TLSA-03"],
        title: "3 0 1 pinned to the previous certificate",
        problem: "3 0 1 changes at every renewal, even with the same key",
        query: "OK dane-only",
        build: |b| {
            let mx = b.name("mx");
            let old = b.valid_leaf(&mx)?;
            let new = b.pki().reissue(&old, Validity::Valid)?;
            b.mx(10, &mx, Listener::tls(&new));
            b.tlsa(&mx, &dane_ee_cert(&old));
            Ok(())
        },
    },
    Scenario {
        key: "d02-one-intermediate",
        ids: &["D-02", "DANE-AUTH-02"],
        title: "2 1 1 pins the other issuing intermediate",
        problem: "the certificate comes from intermediate B; only A is pinned",
        query: "OK dane-only",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.leaf(LeafSpec::new([mx.as_str()]).issued_by(IssuedBy::IntermediateB))?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let ta = tlsa_for(CertUsage::DaneTa, Selector::Spki, MatchingType::Sha256,
                b.pki().intermediate(crate::pki::Intermediate::A).spki_der());
            b.tlsa(&mx, &ta);
            Ok(())
        },
    },
    Scenario {
        key: "d03-ta-not-in-chain",
        ids: &["D-03", "DANE-AUTH-02"],
        title: "2 1 1 on the root, root not served",
        problem: "the trust anchor must be in the chain the server sends",
        query: "OK dane-only",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf(&mx)?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let ta = tlsa_for(CertUsage::DaneTa, Selector::Spki, MatchingType::Sha256,
                b.pki().root().spki_der());
            b.tlsa(&mx, &ta);
            Ok(())
        },
    },
    Scenario {
        key: "d04-ta-wrong-name",
        ids: &["D-04", "DANE-AUTH-03"],
        title: "DANE-TA with a certificate for another name",
        problem: "under DANE-TA the certificate must name the MX host",
        query: "OK dane-only",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf("other.elsewhere.test")?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let ta = tlsa_for(CertUsage::DaneTa, Selector::Spki, MatchingType::Sha256,
                b.pki().intermediate(crate::pki::Intermediate::A).spki_der());
            b.tlsa(&mx, &ta);
            Ok(())
        },
    },
    Scenario {
        key: "d05-bogus-ds",
        ids: &["D-05", "DANE-DNS-03"],
        title: "DNSSEC broken: DS matches no key",
        problem: "every validating resolver fails the MX lookup",
        query: "TEMP",
        build: |b| { dane_ee_domain(b)?; b.zone(|z| z.bogus(Bogus::DsMismatch)); Ok(()) },
    },
    Scenario {
        key: "d05-expired-signatures",
        ids: &["D-05", "DANE-DNS-03"],
        title: "DNSSEC broken: signatures expired",
        problem: "every validating resolver fails the MX lookup",
        query: "TEMP",
        build: |b| { dane_ee_domain(b)?; b.zone(|z| z.bogus(Bogus::ExpiredSignatures)); Ok(()) },
    },
    Scenario {
        key: "alg-rsasha1",
        ids: &["DNSSEC-ALG-01"],
        title: "Zone signed with RSA/SHA-1 (algorithm 5)",
        problem: "validators that refuse SHA-1 treat the zone as unsigned, which turns DANE off",
        query: "OK dane-only",
        build: |b| {
            dane_ee_domain(b)?;
            b.zone(|z| z.key_algorithm(KeyAlgorithm::RsaSha1 { bits: 2048 }));
            Ok(())
        },
    },
    Scenario {
        key: "alg-rsa-1024",
        ids: &["DNSSEC-ALG-02"],
        title: "Zone signed with a 1024-bit RSA key",
        problem: "a 1024-bit RSA zone key is weak",
        query: "OK dane-only",
        build: |b| {
            dane_ee_domain(b)?;
            b.zone(|z| z.key_algorithm(KeyAlgorithm::RsaSha256 { bits: 1024 }));
            Ok(())
        },
    },
    Scenario {
        key: "ds-sha1-only",
        ids: &["DNSSEC-DS-01"],
        title: "Delegation with a SHA-1 DS record only",
        problem: "the chain of trust into the zone rests on SHA-1",
        query: "OK dane-only",
        build: |b| { dane_ee_domain(b)?; b.zone(|z| z.ds_digest(DsDigest::Sha1Only)); Ok(()) },
    },
    Scenario {
        key: "tlsa-large",
        ids: &["DANE-TLSA-08"],
        title: "Signed TLSA answer over 1232 octets",
        problem: "full RSA public keys (`3 1 0`) of four retired keys next to the current `3 1 1`: \
         the answer needs TCP",
        query: "OK dane-only",
        build: |b| {
            dane_ee_domain(b)?;
            let mx = b.name("mx");
            for retired in 0..4u8 {
                b.tlsa(&mx, &tlsa_for(CertUsage::DaneEe, Selector::Spki, MatchingType::Full,
                    &rsa2048_spki(retired)));
            }
            Ok(())
        },
    },
    Scenario {
        key: "d06-insecure-mx-host",
        ids: &["D-06", "DANE-DNS-06"],
        title: "MX host in an unsigned zone",
        problem: "the TLSA record is ignored: the MX host's zone is not signed",
        query: "NOTFOUND ",
        build: |b| {
            let provider = format!("provider-{}", b.domain());
            b.extra_zone(Zone::new(&provider).insecure());
            let mx = format!("mx.{provider}");
            let leaf = b.valid_leaf(&mx)?;
            b.mx(10, &mx, Listener::tls(&leaf));
            b.tlsa(&mx, &dane_ee_spki(&leaf));
            Ok(())
        },
    },
    Scenario {
        key: "d07-tlsa-wrong-owner",
        ids: &["D-07", "DANE-DISC-03"],
        title: "TLSA records at the domain and at the HTTPS port",
        problem: "the records sit at _25._tcp.<domain> and _443._tcp.<MX host>, where SMTP senders never look",
        query: "NOTFOUND ",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf(&mx)?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let record = dane_ee_spki(&leaf);
            let apex = format!("_25._tcp.{}", b.domain());
            b.zone(|z| z.tlsa(&apex, &record));
            let https = format!("_443._tcp.{mx}");
            b.zone(|z| z.tlsa(&https, &record));
            Ok(())
        },
    },
    Scenario {
        key: "d07-tlsa-at-alias",
        ids: &["D-07", "DANE-DISC-03"],
        title: "Stale TLSA record at an MX alias whose target has its own",
        problem: "the MX host is a secure alias: senders use the target's TLSA records, never the alias's",
        query: "OK dane-only",
        build: |b| {
            let (mx, host) = (b.name("mx"), b.name("host"));
            let leaf = b.valid_leaf(&mx)?;
            let old = b.pki().reissue_with_new_key(&leaf, Validity::Valid)?;
            b.mx_record(10, &mx);
            b.zone(|z| z.cname(&mx, &host));
            b.host(&host, Some(Listener::tls(&leaf)), None);
            b.tlsa(&host, &dane_ee_spki(&leaf));
            b.tlsa(&mx, &dane_ee_spki(&old));
            Ok(())
        },
    },
    Scenario {
        key: "d08-tlsa-servfail",
        ids: &["D-08", "DANE-DNS-04"],
        title: "TLSA queries answered SERVFAIL",
        problem: "DANE senders cannot tell whether TLSA exists and must defer",
        query: "TEMP",
        build: |b| {
            dane_ee_domain(b)?;
            let owner = format!("_25._tcp.{}", b.name("mx"));
            b.zone(|z| z.fault(&owner, RecordType::TLSA, Fault::ServFail));
            Ok(())
        },
    },
    Scenario {
        key: "d09-partial-dane",
        ids: &["D-09", "DANE-OPS-03"],
        title: "Backup MX without TLSA",
        problem: "mx2 has no TLSA record: a downgrade path",
        query: "OK dane",
        build: |b| {
            let (mx1, mx2) = (b.name("mx1"), b.name("mx2"));
            let l1 = b.valid_leaf(&mx1)?;
            let l2 = b.valid_leaf(&mx2)?;
            b.mx(10, &mx1, Listener::tls(&l1));
            b.mx(20, &mx2, Listener::tls(&l2));
            b.tlsa(&mx1, &dane_ee_spki(&l1));
            Ok(())
        },
    },
    Scenario {
        key: "d10-ipv6-old-cert",
        ids: &["D-10", "DANE-AUTH-01"],
        title: "IPv6 address serves an old certificate",
        problem: "the IPv6 listener's key does not match the TLSA record",
        query: "OK dane-only",
        build: |b| {
            let mx = b.name("mx");
            let current = b.valid_leaf(&mx)?;
            let old = b.pki().reissue_with_new_key(&current, Validity::Valid)?;
            b.mx_record(10, &mx);
            b.host(&mx, Some(Listener::tls(&current)), Some(Listener::tls(&old)));
            b.tlsa(&mx, &dane_ee_spki(&current));
            Ok(())
        },
    },
    Scenario {
        key: "d12-unusable-only",
        ids: &["D-12", "DANE-TLSA-02", "DANE-DISC-05"],
        title: "Only PKIX-EE and malformed TLSA",
        problem: "no TLSA record is usable: TLS is required but cannot be authenticated",
        query: "OK encrypt",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf(&mx)?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let pkix_ee = tlsa_for(CertUsage::PkixEe, Selector::Spki, MatchingType::Sha256, &leaf.key().spki_der());
            let short = TlsaRecord { data: vec![0xab; 20], ..dane_ee_spki(&leaf) };
            b.tlsa(&mx, &pkix_ee);
            b.tlsa(&mx, &short);
            Ok(())
        },
    },
    // ---- Where DANE meets MTA-STS (POSTFIX.md §4.5) ----
    Scenario {
        key: "insecure-mx-dane-unlisted",
        ids: &["DANE-DISC-01", "STS-APP-01"],
        title: "Unsigned MX to a DANE host the enforce policy does not list",
        problem: "the MX can be forged to any signed host with TLSA of its own: only the policy's patterns count, and they list no MX",
        query: "TEMP",
        build: |b| insecure_mx_to_dane_host(b, Listing::Unlisted),
    },
    Scenario {
        key: "insecure-mx-dane-listed",
        ids: &["DANE-DISC-01", "STS-APP-01"],
        title: "Unsigned MX to a DANE host the enforce policy lists",
        problem: "the MX is not signed, so the policy's PKIX check, not the TLSA record, authenticates the host",
        query: "OK secure match=mx.provider-{d} servername=hostname",
        build: |b| insecure_mx_to_dane_host(b, Listing::Listed),
    },
    Scenario {
        key: "insecure-mx-dane",
        ids: &["DANE-DISC-01"],
        title: "Unsigned MX to a DANE host, no MTA-STS",
        problem: "the host's TLSA applies, but the unsigned MX can be forged to point elsewhere",
        query: "OK dane",
        build: |b| insecure_mx_to_dane_host(b, Listing::NoPolicy),
    },
    Scenario {
        key: "partial-dane-enforce",
        ids: &["STS-APP-01", "DANE-OPS-03"],
        title: "Enforce policy; preferred MX without TLSA or STARTTLS, backup with DANE",
        problem: "the preferred MX offers no STARTTLS: an opportunistic answer would deliver there in cleartext",
        query: "OK dane-only",
        build: |b| {
            let (mx1, mx2) = (b.name("mx1"), b.name("mx2"));
            b.mx(10, &mx1, Listener::Other(StartTls::NotOffered));
            let leaf = b.valid_leaf(&mx2)?;
            b.mx(20, &mx2, Listener::tls(&leaf));
            b.tlsa(&mx2, &dane_ee_spki(&leaf));
            b.sts("20261205", &policy("enforce", &[&mx1, &mx2], 604_800))?;
            Ok(())
        },
    },
    Scenario {
        key: "unusable-tlsa-enforce",
        ids: &["STS-APP-01", "DANE-DISC-05"],
        title: "Enforce policy; only unusable TLSA; self-signed certificate",
        problem: "no TLSA record is usable, so the policy's PKIX check applies, and the self-signed certificate fails it",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.leaf(LeafSpec::new([mx.as_str()]).issued_by(IssuedBy::SelfSigned))?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let pkix_ee = tlsa_for(CertUsage::PkixEe, Selector::Spki, MatchingType::Sha256, &leaf.key().spki_der());
            b.tlsa(&mx, &pkix_ee);
            b.sts("20261205", &policy("enforce", &[&mx], 604_800))?;
            Ok(())
        },
    },
    Scenario {
        key: "sts-max-age-zero",
        ids: &["STS-POL-06", "STS-APP-01"],
        title: "Enforce policy with max_age: 0",
        problem: "the policy is never cached, but applies to the delivery it was fetched for",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| { one_good_mx(b)?; let mx = b.name("mx"); b.sts("20261205", &policy("enforce", &[&mx], 0)) },
    },
    Scenario {
        key: "unsigned-null-mx-enforce",
        ids: &["PFX-04", "STS-FETCH-07"],
        title: "Unsigned null MX next to an enforce policy",
        problem: "an unsigned null MX can be forged, and Postfix's own MX lookup could see a forged MX: the policy still applies",
        query: "OK secure match=mx.{d}:.mail.{d} servername=hostname",
        build: |b| {
            let (mx, wildcard) = (b.name("mx"), format!("*.{}", b.name("mail")));
            b.sts("20261205", &policy("enforce", &[&mx, &wildcard], 604_800))?;
            b.zone(Zone::null_mx);
            b.zone(Zone::insecure);
            Ok(())
        },
    },
    // ---- CNAMEs to hosts without every record type (issue 12) ----
    Scenario {
        key: "cname-mx-no-aaaa",
        ids: &["N-01", "DANE-DISC-03", "DANE-DNS-06"],
        title: "MX host is a CNAME to an IPv4-only DANE host",
        problem: "the MX host is an alias to a host without AAAA: a secure NODATA through a secure alias, not a DNSSEC failure",
        query: "OK dane-only",
        build: |b| {
            let (mx, host) = (b.name("mx"), b.name("host"));
            let leaf = b.valid_leaf(&mx)?;
            b.mx_record(10, &mx);
            b.zone(|z| z.cname(&mx, &host));
            b.host(&host, Some(Listener::tls(&leaf)), None);
            b.tlsa(&host, &dane_ee_spki(&leaf));
            Ok(())
        },
    },
    Scenario {
        key: "cname-mx-provider",
        ids: &["N-01", "DANE-DISC-03"],
        title: "MX host and its TLSA record CNAMEd into a provider's signed zone",
        problem: "the MX host is an alias to an IPv4-only provider host whose TLSA owner is itself an alias (RFC 7671 §7)",
        query: "OK dane-only",
        build: |b| {
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
        },
    },
    Scenario {
        key: "cname-mx-insecure",
        ids: &["N-01", "DANE-DNS-06"],
        title: "MX host CNAMEd into an unsigned provider zone",
        problem: "the secure alias leads into an unsigned zone: the host's addresses are insecure, so its TLSA record is ignored",
        query: "NOTFOUND ",
        build: |b| {
            let provider = format!("provider-{}", b.domain());
            b.extra_zone(Zone::new(&provider).insecure());
            let (mx, host) = (b.name("mx"), format!("mx.{provider}"));
            let leaf = b.valid_leaf(&host)?;
            b.mx_record(10, &mx);
            b.zone(|z| z.cname(&mx, &host));
            b.host(&host, Some(Listener::tls(&leaf)), Some(Listener::tls(&leaf)));
            b.tlsa(&host, &dane_ee_spki(&leaf));
            Ok(())
        },
    },
    Scenario {
        key: "sts-cname-provider",
        ids: &["STS-TXT-01", "STS-FETCH-01"],
        title: "MTA-STS record and policy host CNAMEd to a provider without IPv6",
        problem: "_mta-sts and mta-sts are aliases into a provider's signed zone, whose policy host has no AAAA",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| {
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
        },
    },
    Scenario {
        key: "dane-ee-nsec3",
        ids: &["DANE-AUTH-01", "DANE-DNS-01"],
        title: "DANE-EE in a zone signed with NSEC3, IPv4-only MX host",
        problem: "the zone proves denials with NSEC3 (RFC 5155): the MX host's missing AAAA is a secure NODATA",
        query: "OK dane-only",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf(&mx)?;
            b.zone(|z| z.nsec3(Nsec3 { opt_out: false }));
            b.mx_record(10, &mx);
            b.host(&mx, Some(Listener::tls(&leaf)), None);
            b.tlsa(&mx, &dane_ee_spki(&leaf));
            Ok(())
        },
    },
    // ---- Wildcards (RFC 4592, issue 12) ----
    Scenario {
        key: "wildcard-tlsa",
        ids: &["DANE-DISC-03", "DANE-DNS-02"],
        title: "TLSA record from a wildcard `*._tcp.mx` in a signed zone",
        problem: "the MX host's TLSA record is synthesised from a wildcard: secure with the proof that no closer match exists (RFC 4035 §5.3.4), so DANE applies",
        query: "OK dane-only",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.valid_leaf(&mx)?;
            b.mx(10, &mx, Listener::tls(&leaf));
            let owner = format!("*._tcp.{mx}");
            let record = dane_ee_spki(&leaf);
            b.zone(|z| z.tlsa(&owner, &record));
            Ok(())
        },
    },
    Scenario {
        key: "wildcard-mx-host",
        ids: &["DANE-DISC-03", "DANE-DNS-06"],
        title: "MX host's addresses and TLSA record from one wildcard `*.mail` in a signed zone",
        problem: "every record of the MX host is synthesised from `*.mail` (RFC 4592); each expansion carries its NSEC proof, so the addresses and the TLSA record are secure",
        query: "OK dane-only",
        build: |b| {
            let (wildcard, mx) = (b.name("*.mail"), b.name("mx.mail"));
            let leaf = b.valid_leaf(&mx)?;
            b.mx_record(10, &mx);
            let listener = Listener::tls(&leaf);
            b.wildcard_host(&wildcard, &mx, Some(listener.clone()), Some(listener));
            let record = dane_ee_spki(&leaf);
            b.zone(|z| z.tlsa(&wildcard, &record));
            Ok(())
        },
    },
    Scenario {
        key: "wildcard-insecure",
        ids: &["DANE-DISC-01", "DANE-DNS-02"],
        title: "MX host's addresses and TLSA record from a wildcard in an unsigned zone",
        problem: "the wildcard's answers are unsigned: the TLSA record is insecure and no sender uses it",
        query: "NOTFOUND ",
        build: |b| {
            let (wildcard, mx) = (b.name("*.mail"), b.name("mx.mail"));
            let leaf = b.valid_leaf(&mx)?;
            b.zone(Zone::insecure);
            b.mx_record(10, &mx);
            let listener = Listener::tls(&leaf);
            b.wildcard_host(&wildcard, &mx, Some(listener.clone()), Some(listener));
            let record = dane_ee_spki(&leaf);
            b.zone(|z| z.tlsa(&wildcard, &record));
            Ok(())
        },
    },
    // ---- DNS and MX basics (SCENARIOS.md §N) ----
    Scenario {
        key: "insecure-zone",
        ids: &["DANE-DISC-01"],
        title: "Unsigned zone, STARTTLS only",
        problem: "the zone is not signed: DANE is not possible",
        query: "NOTFOUND ",
        build: |b| { one_good_mx(b)?; b.zone(Zone::insecure); Ok(()) },
    },
    Scenario {
        key: "null-mx",
        ids: &["N-01", "DANE-DISC-02"],
        title: "Null MX (RFC 7505)",
        problem: "",
        query: "NOTFOUND ",
        build: |b| { b.zone(Zone::null_mx); Ok(()) },
    },
    Scenario {
        key: "implicit-mx",
        ids: &["N-01", "DANE-DISC-02"],
        title: "No MX record: the domain is its own mail host",
        problem: "no MX record; senders use the domain's own address",
        query: "NOTFOUND ",
        build: |b| {
            let d = b.domain().to_owned();
            let leaf = b.valid_leaf(&d)?;
            b.host(&d, Some(Listener::tls(&leaf)), None);
            Ok(())
        },
    },
    // ---- TLS-RPT (SCENARIOS.md §R) ----
    Scenario {
        key: "r01-legacy-tlsrpt",
        ids: &["R-01", "RPT-TXT-01"],
        title: "TLS-RPT record at _smtp-tlsrpt",
        problem: "the record uses the draft-era name and is never read",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| {
            one_good_mx(b)?;
            let mx = b.name("mx");
            b.sts("20261129", &policy("enforce", &[&mx], 604_800))?;
            let owner = b.name("_smtp-tlsrpt");
            let rua = format!("v=TLSRPTv1; rua=mailto:tlsrpt@{}", b.domain());
            b.txt(&owner, &[&rua]);
            Ok(())
        },
    },
    Scenario {
        key: "sts-testing-mx-expired",
        ids: &["STS-APP-02", "M-06", "RPT-RES-01"],
        title: "MTA-STS testing, MX certificate expired",
        problem: "the MX host's certificate has expired: senders deliver anyway, and report \
         the failure to the rua (what testing mode is for)",
        query: "NOTFOUND ",
        build: |b| {
            let mx = b.name("mx");
            let leaf = b.leaf(LeafSpec::new([mx.as_str()]).validity(Validity::Expired))?;
            b.mx_record(10, &mx);
            b.host(&mx, Some(Listener::tls(&leaf)), Some(Listener::tls(&leaf)));
            b.sts("20261129", &policy("testing", &[&mx], 604_800))?;
            b.tlsrpt(&format!("mailto:tlsrpt@{}", b.domain()));
            Ok(())
        },
    },
    Scenario {
        key: "rpt-https-rua",
        ids: &["RPT-DEL-05", "STS-APP-01"],
        title: "MTA-STS enforce, TLS reports by HTTPS POST",
        problem: "",
        query: "OK secure match=mx.{d} servername=hostname",
        build: |b| {
            sts_domain_with_rua(b, "enforce", "")?;
            let receiver = b.name("tlsrpt");
            let leaf = b.valid_leaf(&receiver)?;
            b.custom_policy_host(
                PolicyHost::new(&receiver, &leaf, ServedChain::default(), Reply::body(200, None, ""))
                    .path(REPORT_PATH)
                    .accepts_post(),
            );
            b.tlsrpt(&format!("https://{receiver}{REPORT_PATH}"));
            Ok(())
        },
    },
];
