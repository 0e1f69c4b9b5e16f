//! PKIX verification of MX hosts for MTA-STS (STS-VAL-02/03, STT-07), inside the handshake.

use mxsec_net::proto::tlsrpt::result_type::ResultType;
use mxsec_net::smtp_probe::{ProbeFailure, ProbeReport};
use mxsec_testbed::pki::{IssuedBy, LeafSpec, ServedChain, Validity};

use crate::support::*;

const MX: &str = "mx.example.test";

async fn probe_pkix(spec: LeafSpec, shape: ServedChain, mx: &str) -> ProbeReport {
    let pki = pki();
    let leaf = leaf(&pki, spec);
    let mut net = Net::new();
    let addr = net
        .serve("192.0.2.60", tls_mx(mx, credentials(&leaf, shape)))
        .await;
    probe(&net, addr, &options(mx, pkix(&pki, mx))).await
}

fn rejected(report: &ProbeReport) -> ResultType {
    match &report.result {
        Err(ProbeFailure::Handshake {
            rejected: Some(rt), ..
        }) => *rt,
        other => panic!("expected the PKIX verifier to reject the chain, got {other:?}"),
    }
}

#[tokio::test]
async fn sts_val_02_valid_chain_passes_with_days_left() {
    let report = probe_pkix(LeafSpec::new([MX]), ServedChain::default(), MX).await;
    assert_passes(&report);
    let pkix = report.observation.unwrap().pkix.unwrap();
    assert_eq!(pkix.verdict(), Ok(()));
    let days = pkix.days_left().unwrap();
    assert!((88..=90).contains(&days), "{days}");
}

#[tokio::test]
async fn sts_val_02_expired_certificate_is_certificate_expired() {
    let spec = LeafSpec::new([MX]).validity(Validity::Expired);
    let report = probe_pkix(spec, ServedChain::default(), MX).await;
    assert_eq!(rejected(&report), ResultType::CertificateExpired);
    let days = report
        .observation
        .unwrap()
        .pkix
        .unwrap()
        .days_left()
        .unwrap();
    assert!(days < 0, "{days}");
}

#[tokio::test]
async fn sts_val_02_wrong_name_is_certificate_host_mismatch() {
    let report = probe_pkix(
        LeafSpec::new(["mail.provider.test"]),
        ServedChain::default(),
        MX,
    )
    .await;
    assert_eq!(rejected(&report), ResultType::CertificateHostMismatch);
    let failure = report
        .observation
        .unwrap()
        .pkix
        .unwrap()
        .verdict()
        .unwrap_err();
    assert_eq!(
        failure.to_string(),
        "the certificate is for mail.provider.test, not for mx.example.test"
    );
}

#[tokio::test]
async fn sts_val_02_self_signed_is_certificate_not_trusted() {
    let spec = LeafSpec::new([MX]).issued_by(IssuedBy::SelfSigned);
    let report = probe_pkix(spec, ServedChain::default(), MX).await;
    assert_eq!(rejected(&report), ResultType::CertificateNotTrusted);
}

#[tokio::test]
async fn sts_val_02_missing_intermediate_is_certificate_not_trusted() {
    let report = probe_pkix(LeafSpec::new([MX]), ServedChain::LeafOnly, MX).await;
    assert_eq!(rejected(&report), ResultType::CertificateNotTrusted);
}

#[tokio::test]
async fn stt_07_wildcard_covers_exactly_one_left_most_label() {
    let wildcard = || LeafSpec::new(["*.example.test"]);
    assert_passes(&probe_pkix(wildcard(), ServedChain::default(), MX).await);
    let deep = probe_pkix(wildcard(), ServedChain::default(), "a.mx.example.test").await;
    assert_eq!(rejected(&deep), ResultType::CertificateHostMismatch);
    let apex = probe_pkix(wildcard(), ServedChain::default(), "example.test").await;
    assert_eq!(rejected(&apex), ResultType::CertificateHostMismatch);
}

#[tokio::test]
async fn sts_val_03_sni_is_the_mx_host() {
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new([MX]));
    let mut net = Net::new();
    let addr = net
        .serve(
            "192.0.2.61",
            tls_mx(MX, credentials(&leaf, ServedChain::default())),
        )
        .await;
    assert_passes(&probe(&net, addr, &options(MX, pkix(&pki, MX))).await);
    assert_eq!(net.server(0).tls_sessions()[0].sni.as_deref(), Some(MX));
}
