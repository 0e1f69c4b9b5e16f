//! DANE enforced inside the handshake, against testbed MX hosts (SCENARIOS.md D-01..D-12,
//! DANE-AUTH-01..04).

use std::time::{Duration, SystemTime};

use mxsec_net::proto::dane::matching::{MatchedAt, ReferenceNames};
use mxsec_net::proto::dane::usable::{classify, RrsetUsability};
use mxsec_net::proto::tlsrpt::result_type::ResultType;
use mxsec_net::smtp_probe::{self, ProbeFailure, ProbeReport};
use mxsec_net::tls::{DaneCheck, Verification};
use mxsec_testbed::pki::{Intermediate, IssuedBy, LeafSpec, ServedChain, TestPki, Validity};

use crate::support::*;

const MX: &str = "mx.example.test";

/// The result type of a handshake the DANE verifier rejected.
fn rejected(report: &ProbeReport) -> ResultType {
    match &report.result {
        Err(
            failure @ ProbeFailure::Handshake {
                rejected: Some(rt), ..
            },
        ) => {
            assert_eq!(failure.result_type(), Some(*rt));
            *rt
        }
        other => panic!("expected the verifier to reject the chain, got {other:?}"),
    }
}

fn matched_at(report: &ProbeReport) -> MatchedAt {
    let observation = report.observation.as_ref().unwrap();
    observation.dane.as_ref().unwrap().verdict().unwrap().at
}

#[tokio::test]
async fn d_01_tlsa_3_1_1_survives_same_key_renewal_and_fails_on_new_key() {
    let pki = pki();
    let old = leaf(&pki, LeafSpec::new([MX]));
    let record = ee_spki(&old);
    let same_key = pki.reissue(&old, Validity::Valid).unwrap();
    let new_key = pki.reissue_with_new_key(&old, Validity::Valid).unwrap();
    let mut net = Net::new();
    let a = net
        .serve(
            "192.0.2.30",
            tls_mx(MX, credentials(&same_key, ServedChain::default())),
        )
        .await;
    let b = net
        .serve(
            "192.0.2.31",
            tls_mx(MX, credentials(&new_key, ServedChain::default())),
        )
        .await;
    let opts = options(MX, dane(MX, &[record]));
    let report = probe(&net, a, &opts).await;
    assert_passes(&report);
    assert_eq!(matched_at(&report), MatchedAt::Presented(0));
    assert_eq!(
        rejected(&probe(&net, b, &opts).await),
        ResultType::TlsaInvalid
    );
}

#[tokio::test]
async fn d_01_tlsa_3_0_1_breaks_on_reissue_with_the_same_key() {
    let pki = pki();
    let old = leaf(&pki, LeafSpec::new([MX]));
    let record = tlsa(3, 0, 1, sha256(old.cert_der()));
    let reissued = pki.reissue(&old, Validity::Valid).unwrap();
    let mut net = Net::new();
    let a = net
        .serve(
            "192.0.2.32",
            tls_mx(MX, credentials(&old, ServedChain::default())),
        )
        .await;
    let b = net
        .serve(
            "192.0.2.33",
            tls_mx(MX, credentials(&reissued, ServedChain::default())),
        )
        .await;
    let opts = options(MX, dane(MX, &[record]));
    assert_passes(&probe(&net, a, &opts).await);
    assert_eq!(
        rejected(&probe(&net, b, &opts).await),
        ResultType::TlsaInvalid
    );
}

#[tokio::test]
async fn d_02_ta_pinned_to_one_intermediate_fails_when_the_other_issues() {
    let pki = pki();
    let from_b = leaf(&pki, LeafSpec::new([MX]).issued_by(IssuedBy::IntermediateB));
    let record = tlsa(
        2,
        1,
        1,
        sha256(pki.intermediate(Intermediate::A).spki_der()),
    );
    let mut net = Net::new();
    let addr = net
        .serve(
            "192.0.2.34",
            tls_mx(MX, credentials(&from_b, ServedChain::default())),
        )
        .await;
    let report = probe(&net, addr, &options(MX, dane(MX, &[record]))).await;
    assert_eq!(rejected(&report), ResultType::TlsaInvalid);
}

#[tokio::test]
async fn d_03_ta_not_in_the_served_chain_fails_and_passes_once_served() {
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new([MX]));
    let record = tlsa(2, 0, 1, sha256(pki.root().der()));
    let mut net = Net::new();
    let without_root = net
        .serve(
            "192.0.2.35",
            tls_mx(MX, credentials(&leaf, ServedChain::LeafAndIntermediate)),
        )
        .await;
    let with_root = net
        .serve(
            "192.0.2.36",
            tls_mx(MX, credentials(&leaf, ServedChain::WithRoot)),
        )
        .await;
    let opts = options(MX, dane(MX, std::slice::from_ref(&record)));
    let report = probe(&net, without_root, &opts).await;
    assert_eq!(rejected(&report), ResultType::TlsaInvalid);
    let failure = report
        .observation
        .unwrap()
        .dane
        .unwrap()
        .verdict()
        .unwrap_err();
    assert_eq!(failure.reason_code(), "dane-ta-not-in-chain");
    let report = probe(&net, with_root, &opts).await;
    assert_passes(&report);
    assert_eq!(matched_at(&report), MatchedAt::Presented(2));
}

#[tokio::test]
async fn d_04_ta_with_a_certificate_for_another_name_is_a_host_mismatch() {
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new(["other.test"]));
    let record = tlsa(
        2,
        1,
        1,
        sha256(pki.intermediate(Intermediate::A).spki_der()),
    );
    let mut net = Net::new();
    let addr = net
        .serve(
            "192.0.2.37",
            tls_mx(MX, credentials(&leaf, ServedChain::default())),
        )
        .await;
    let report = probe(
        &net,
        addr,
        &options(MX, dane(MX, std::slice::from_ref(&record))),
    )
    .await;
    assert_eq!(rejected(&report), ResultType::CertificateHostMismatch);
    // The same chain under DANE-EE passes: DANE-EE checks no names (DANE-AUTH-01).
    let report = probe(&net, addr, &options(MX, dane(MX, &[ee_spki(&leaf)]))).await;
    assert_passes(&report);
}

#[tokio::test]
async fn d_04_ta_with_an_expired_intermediate_is_expired() {
    // A PKI made eleven years ago: its CAs expired a year ago. The leaf itself is valid now.
    let now = SystemTime::now();
    let old = TestPki::generate(now - Duration::from_secs(11 * 365 * 86_400)).unwrap();
    let leaf = old
        .issue(&LeafSpec::new([MX]).validity(Validity::Between {
            not_before: now - Duration::from_secs(86_400),
            not_after: now + Duration::from_secs(90 * 86_400),
        }))
        .unwrap();
    let record = tlsa(2, 0, 1, sha256(old.root().der()));
    let mut net = Net::new();
    let addr = net
        .serve(
            "192.0.2.38",
            tls_mx(MX, credentials(&leaf, ServedChain::WithRoot)),
        )
        .await;
    let report = probe(&net, addr, &options(MX, dane(MX, &[record]))).await;
    assert_eq!(rejected(&report), ResultType::CertificateExpired);
}

#[tokio::test]
async fn d_10_ipv6_listener_with_another_certificate_fails_on_that_address_only() {
    let pki = pki();
    let current = leaf(&pki, LeafSpec::new([MX]));
    let stale = leaf(&pki, LeafSpec::new([MX]));
    let mut net = Net::new();
    let v4 = net
        .serve(
            "192.0.2.39",
            tls_mx(MX, credentials(&current, ServedChain::default())),
        )
        .await;
    let v6 = net
        .serve(
            "2001:db8::39",
            tls_mx(MX, credentials(&stale, ServedChain::default())),
        )
        .await;
    let reports = smtp_probe::probe_all(
        &net.dialer(),
        &[v4, v6],
        &options(MX, dane(MX, &[ee_spki(&current)])),
    )
    .await;
    assert_passes(&reports[0]);
    assert_eq!(rejected(&reports[1]), ResultType::TlsaInvalid);
}

#[tokio::test]
async fn d_12_only_pkix_or_malformed_records_leave_mandatory_unauthenticated_tls() {
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new([MX]));
    let spki_hash = sha256(&leaf.key().spki_der());
    let records = [
        tlsa(1, 1, 1, spki_hash.clone()),
        tlsa(0, 0, 1, sha256(pki.root().der())),
        tlsa(3, 1, 1, spki_hash[..31].to_vec()),
    ];
    let classification = classify(&records);
    assert_eq!(classification.usability, RrsetUsability::AllUnusable);
    assert_eq!(classification.dropped.len(), 3);
    // DANE-DISC-05: TLS is still required, without authentication; the handshake completes.
    let mut net = Net::new();
    let addr = net
        .serve(
            "192.0.2.40",
            tls_mx(MX, credentials(&leaf, ServedChain::default())),
        )
        .await;
    let unauthenticated = Verification::Observe {
        dane: None,
        pkix: None,
    };
    assert_passes(&probe(&net, addr, &options(MX, unauthenticated)).await);
}

#[tokio::test]
async fn dane_auth_01_ee_passes_with_self_signed_expired_and_wrong_name_certificates() {
    let pki = pki();
    let specs = [
        LeafSpec::new([MX]).issued_by(IssuedBy::SelfSigned),
        LeafSpec::new([MX]).validity(Validity::Expired),
        LeafSpec::new(["somewhere-else.test"]),
    ];
    let mut net = Net::new();
    for (i, spec) in specs.into_iter().enumerate() {
        let leaf = leaf(&pki, spec);
        let addr = net
            .serve(
                &format!("192.0.2.{}", 41 + i),
                tls_mx(MX, credentials(&leaf, ServedChain::default())),
            )
            .await;
        let report = probe(&net, addr, &options(MX, dane(MX, &[ee_spki(&leaf)]))).await;
        assert_passes(&report);
    }
}

#[tokio::test]
async fn dane_auth_02_ta_2_1_1_on_the_intermediate_passes() {
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new([MX]));
    let record = tlsa(
        2,
        1,
        1,
        sha256(pki.intermediate(Intermediate::A).spki_der()),
    );
    let mut net = Net::new();
    let addr = net
        .serve(
            "192.0.2.45",
            tls_mx(MX, credentials(&leaf, ServedChain::default())),
        )
        .await;
    let report = probe(&net, addr, &options(MX, dane(MX, &[record]))).await;
    assert_passes(&report);
    assert_eq!(matched_at(&report), MatchedAt::Presented(1));
}

#[tokio::test]
async fn dane_auth_02_full_2_0_0_root_is_a_synthetic_anchor() {
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new([MX]));
    let record = tlsa(2, 0, 0, pki.root().der().to_vec());
    let mut net = Net::new();
    let addr = net
        .serve(
            "192.0.2.46",
            tls_mx(MX, credentials(&leaf, ServedChain::LeafAndIntermediate)),
        )
        .await;
    let report = probe(&net, addr, &options(MX, dane(MX, &[record]))).await;
    assert_passes(&report);
    assert_eq!(matched_at(&report), MatchedAt::Record);
}

#[tokio::test]
async fn dane_auth_04_sni_is_the_tlsa_base_domain_and_names_are_pinned() {
    // MX `mx.example.test` is a secure CNAME to `smtp.provider.test`: the TLSA base domain is
    // the target (DANE-DISC-03), sent as SNI; the MX name is an extra reference identifier.
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new([MX]));
    let record = tlsa(
        2,
        1,
        1,
        sha256(pki.intermediate(Intermediate::A).spki_der()),
    );
    let mut net = Net::new();
    let addr = net
        .serve(
            "192.0.2.47",
            tls_mx(MX, credentials(&leaf, ServedChain::default())),
        )
        .await;
    let base = "smtp.provider.test";
    let verification = Verification::Dane(DaneCheck {
        tlsa: usable(&[record]),
        names: ReferenceNames::new(name(base)).with(name(MX)),
    });
    let report = probe(&net, addr, &options(base, verification)).await;
    assert_passes(&report);
    let verdict = report.observation.unwrap().dane.unwrap().verdict().unwrap();
    assert_eq!(verdict.name, Some(name(MX)));
    assert_eq!(net.server(0).tls_sessions()[0].sni.as_deref(), Some(base));
}
