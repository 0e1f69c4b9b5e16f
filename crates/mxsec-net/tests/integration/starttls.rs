//! The STARTTLS probe against testbed MX hosts (SCENARIOS.md T-01..T-03, STT-01/03).

use std::time::Duration;

use mxsec_net::proto::smtp::client::Outcome;
use mxsec_net::proto::tlsrpt::result_type::ResultType;
use mxsec_net::smtp_probe::{self, NoTlsReason, ProbeFailure, ProbeStep};
use mxsec_net::tls::Verification;
use mxsec_testbed::pki::{LeafSpec, ServedChain};
use mxsec_testbed::smtp::{MxBehaviour, StartTls, TlsIdentity};

use crate::support::*;

fn unauthenticated() -> Verification {
    Verification::Observe {
        dane: None,
        pkix: None,
    }
}

fn no_tls(report: &smtp_probe::ProbeReport) -> NoTlsReason {
    match &report.result {
        Err(ProbeFailure::NoTls(reason)) => *reason,
        other => panic!("expected a session without TLS, got {other:?}"),
    }
}

#[tokio::test]
async fn stt_01_starttls_session_records_version_cipher_and_chain() {
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new(["mx.example.test"]));
    let mut net = Net::new();
    let addr = net
        .serve(
            "192.0.2.10",
            tls_mx(
                "mx.example.test",
                credentials(&leaf, ServedChain::LeafAndIntermediate),
            ),
        )
        .await;
    let report = probe(&net, addr, &options("mx.example.test", unauthenticated())).await;
    assert_passes(&report);
    let tls = report.tls.as_ref().unwrap();
    assert_eq!(tls.version, "TLSv1.3");
    assert!(
        tls.cipher_suite.starts_with("TLS13_"),
        "{}",
        tls.cipher_suite
    );
    assert_eq!(
        tls.chain,
        leaf.served_chain(ServedChain::LeafAndIntermediate)
    );
    assert_eq!(report.observation.as_ref().unwrap().chain, tls.chain);
    assert_eq!(report.starttls_advertised_after_tls(), Some(false));
    assert_eq!(report.address.port(), 25);
    assert!(matches!(report.dialogue, Some(Outcome::Tls { .. })));
}

#[tokio::test]
async fn t_01_masked_starttls_is_reported_as_masked() {
    let mut net = Net::new();
    let addr = net
        .serve(
            "192.0.2.11",
            MxBehaviour::new("mx.example.test", StartTls::Masked),
        )
        .await;
    let report = probe(&net, addr, &options("mx.example.test", unauthenticated())).await;
    assert_eq!(no_tls(&report), NoTlsReason::Masked);
    assert!(report.dialogue.as_ref().unwrap().is_masked());
    assert_eq!(
        report.result.as_ref().unwrap_err().result_type(),
        Some(ResultType::StarttlsNotSupported)
    );
}

#[tokio::test]
async fn t_02_starttls_on_ipv4_only_fails_on_the_ipv6_address() {
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new(["mx.example.test"]));
    let mut net = Net::new();
    let v4 = net
        .serve(
            "192.0.2.12",
            tls_mx(
                "mx.example.test",
                credentials(&leaf, ServedChain::LeafAndIntermediate),
            ),
        )
        .await;
    let v6 = net
        .serve(
            "2001:db8::12",
            MxBehaviour::new("mx.example.test", StartTls::NotOffered),
        )
        .await;
    let reports = smtp_probe::probe_all(
        &net.dialer(),
        &[v4, v6],
        &options("mx.example.test", unauthenticated()),
    )
    .await;
    assert_eq!(reports[0].address.ip(), v4);
    assert_passes(&reports[0]);
    assert_eq!(reports[1].address.ip(), v6);
    assert_eq!(no_tls(&reports[1]), NoTlsReason::NotOffered);
    assert_eq!(
        reports[1].result.as_ref().unwrap_err().result_type(),
        Some(ResultType::StarttlsNotSupported)
    );
}

#[tokio::test]
async fn t_03_garbage_after_220_is_a_handshake_failure() {
    let mut net = Net::new();
    let addr = net
        .serve(
            "192.0.2.13",
            MxBehaviour::new("mx.example.test", StartTls::GarbageAfterReady),
        )
        .await;
    let report = probe(&net, addr, &options("mx.example.test", unauthenticated())).await;
    let failure = report.result.as_ref().unwrap_err();
    assert!(
        matches!(failure, ProbeFailure::Handshake { rejected: None, .. }),
        "{failure:?}"
    );
    assert_eq!(failure.result_type(), Some(ResultType::ValidationFailure));
    assert!(report.dialogue.as_ref().unwrap().starttls_accepted());
    assert!(report.tls.is_none());
}

#[tokio::test]
async fn t_03_close_after_220_is_a_handshake_failure() {
    let mut net = Net::new();
    let addr = net
        .serve(
            "192.0.2.14",
            MxBehaviour::new("mx.example.test", StartTls::AbortAfterReady),
        )
        .await;
    let report = probe(&net, addr, &options("mx.example.test", unauthenticated())).await;
    let failure = report.result.as_ref().unwrap_err();
    assert!(
        matches!(failure, ProbeFailure::Handshake { .. }),
        "{failure:?}"
    );
    assert_eq!(failure.result_type(), Some(ResultType::ValidationFailure));
}

#[tokio::test]
async fn stt_01_starttls_454_is_temporarily_unavailable() {
    let mut net = Net::new();
    let addr = net
        .serve(
            "192.0.2.15",
            MxBehaviour::new("mx.example.test", StartTls::Unavailable),
        )
        .await;
    let report = probe(&net, addr, &options("mx.example.test", unauthenticated())).await;
    assert_eq!(no_tls(&report), NoTlsReason::Unavailable);
    assert_eq!(
        report.result.as_ref().unwrap_err().result_type(),
        Some(ResultType::StarttlsNotSupported)
    );
}

#[tokio::test]
async fn stt_03_starttls_advertised_again_inside_tls_is_recorded() {
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new(["mx.example.test"]));
    let mut net = Net::new();
    let behaviour = tls_mx(
        "mx.example.test",
        credentials(&leaf, ServedChain::LeafAndIntermediate),
    )
    .starttls_after_tls();
    let addr = net.serve("192.0.2.16", behaviour).await;
    let report = probe(&net, addr, &options("mx.example.test", unauthenticated())).await;
    assert_passes(&report);
    assert_eq!(report.starttls_advertised_after_tls(), Some(true));
}

#[tokio::test]
async fn rpt_res_05_slow_banner_times_out_without_a_result_type() {
    let mut net = Net::new();
    let behaviour = MxBehaviour::new("mx.example.test", StartTls::NotOffered)
        .banner_delay(Duration::from_secs(30));
    let addr = net.serve("192.0.2.17", behaviour).await;
    let mut opts = options("mx.example.test", unauthenticated());
    opts.timeouts.banner = Duration::from_millis(300);
    let report = probe(&net, addr, &opts).await;
    let failure = report.result.as_ref().unwrap_err();
    assert!(
        matches!(
            failure,
            ProbeFailure::Timeout {
                step: ProbeStep::Banner,
                ..
            }
        ),
        "{failure:?}"
    );
    assert_eq!(failure.result_type(), None);
}

#[tokio::test]
async fn rpt_res_05_nothing_listening_is_a_connect_failure_without_a_result_type() {
    let mut net = Net::new();
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let addr = net.route("192.0.2.18", closed);
    let report = probe(&net, addr, &options("mx.example.test", unauthenticated())).await;
    let failure = report.result.as_ref().unwrap_err();
    assert!(matches!(failure, ProbeFailure::Connect(_)), "{failure:?}");
    assert_eq!(failure.result_type(), None);
}

#[tokio::test]
async fn sts_val_03_server_that_requires_a_known_sni_fails_other_names() {
    // T-03: a server that insists on SNI (RFC 8461 §7.1 forbids it) and selects by name.
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new(["mx.example.test"]));
    let identity = TlsIdentity::sni_required().with_sni(
        "MX.example.test",
        credentials(&leaf, ServedChain::default()),
    );
    let mut net = Net::new();
    let addr = net
        .serve("192.0.2.19", MxBehaviour::tls("mx.example.test", identity))
        .await;
    let known = probe(&net, addr, &options("mx.example.test", unauthenticated())).await;
    assert_passes(&known);
    assert_eq!(
        known.tls.unwrap().chain,
        leaf.served_chain(ServedChain::default())
    );
    let unknown = probe(
        &net,
        addr,
        &options("other.example.test", unauthenticated()),
    )
    .await;
    let failure = unknown.result.as_ref().unwrap_err();
    assert!(
        matches!(failure, ProbeFailure::Handshake { rejected: None, .. }),
        "{failure:?}"
    );
    assert_eq!(failure.result_type(), Some(ResultType::ValidationFailure));
}
