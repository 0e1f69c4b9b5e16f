//! The certificate verifier's guarantees: handshake signatures are verified, and the
//! observing mode answers every question from one connection.

use mxsec_net::proto::dane::matching::{MatchedAt, RecordFailure, ReferenceNames};
use mxsec_net::proto::tlsrpt::result_type::ResultType;
use mxsec_net::smtp_probe::ProbeFailure;
use mxsec_net::tls::{DaneCheck, PkixCheck, Verification};
use mxsec_testbed::pki::{Intermediate, IssuedBy, KeyAlgorithm, LeafKey, LeafSpec, ServedChain};
use mxsec_testbed::smtp::{Credentials, MxBehaviour, TlsIdentity};

use crate::support::*;

const MX: &str = "mx.example.test";

/// A man in the middle replays the real server's public chain but can only sign the handshake
/// with a key of its own. Every mode must fail the handshake, including DANE-EE, whose
/// certificate check alone would pass (RUST-STACK.md §0: never accept unverified signatures),
/// in TLS 1.3 and in TLS 1.2.
#[tokio::test]
async fn dane_auth_06_mitm_replaying_the_real_chain_fails_the_handshake() {
    for tls12 in [false, true] {
        mitm_replay(tls12).await;
    }
}

async fn mitm_replay(tls12: bool) {
    let pki = pki();
    let real = leaf(&pki, LeafSpec::new([MX]));
    let attacker_key = LeafKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let identity = |credentials| {
        let identity = TlsIdentity::new(credentials);
        MxBehaviour::tls(
            MX,
            if tls12 {
                identity.tls12_only()
            } else {
                identity
            },
        )
    };
    let mut net = Net::new();
    let real_addr = net
        .serve(
            "192.0.2.70",
            identity(credentials(&real, ServedChain::default())),
        )
        .await;
    let mitm_addr = net
        .serve(
            "192.0.2.71",
            identity(Credentials::new(
                real.served_chain(ServedChain::default()),
                attacker_key.private_key_der(),
            )),
        )
        .await;
    let modes = [
        dane(MX, &[ee_spki(&real)]),
        pkix(&pki, MX),
        Verification::Observe {
            dane: None,
            pkix: None,
        },
    ];
    for verification in modes {
        let opts = options(MX, verification);
        let report = probe(&net, real_addr, &opts).await;
        assert_passes(&report);
        let version = if tls12 { "TLSv1.2" } else { "TLSv1.3" };
        assert_eq!(report.tls.unwrap().version, version);
        let report = probe(&net, mitm_addr, &opts).await;
        match &report.result {
            Err(failure @ ProbeFailure::Handshake { rejected: None, .. }) => {
                assert_eq!(failure.result_type(), Some(ResultType::ValidationFailure));
            }
            other => panic!("MITM not detected: {other:?}"),
        }
        assert!(report.tls.is_none());
    }
}

#[tokio::test]
async fn dane_auth_02_sts_val_02_observe_mode_answers_everything_in_one_connection() {
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new([MX]));
    let records = [
        ee_spki(&leaf),
        tlsa(
            2,
            1,
            1,
            sha256(pki.intermediate(Intermediate::B).spki_der()),
        ),
    ];
    let mut net = Net::new();
    let addr = net
        .serve(
            "192.0.2.72",
            tls_mx(MX, credentials(&leaf, ServedChain::default())),
        )
        .await;
    let verification = Verification::Observe {
        dane: Some(DaneCheck {
            tlsa: usable(&records),
            names: ReferenceNames::new(name(MX)),
        }),
        pkix: Some(PkixCheck::from_trust(&trust(&pki), name(MX))),
    };
    let report = probe(&net, addr, &options(MX, verification)).await;
    assert_passes(&report);
    let observation = report.observation.unwrap();
    assert_eq!(observation.chain, leaf.served_chain(ServedChain::default()));
    assert_eq!(observation.pkix.unwrap().verdict(), Ok(()));
    let dane = observation.dane.unwrap();
    assert_eq!(dane.records.len(), 2);
    assert_eq!(
        dane.records[0].result.as_ref().unwrap().at,
        MatchedAt::Presented(0)
    );
    assert_eq!(
        dane.records[1].result,
        Err(RecordFailure::TrustAnchorNotPresented)
    );
}

#[tokio::test]
async fn sts_val_02_observe_mode_completes_with_a_bad_chain_and_records_why() {
    let pki = pki();
    let leaf = leaf(&pki, LeafSpec::new([MX]).issued_by(IssuedBy::SelfSigned));
    let mut net = Net::new();
    let addr = net
        .serve(
            "192.0.2.73",
            tls_mx(MX, credentials(&leaf, ServedChain::default())),
        )
        .await;
    let verification = Verification::Observe {
        dane: Some(DaneCheck {
            tlsa: usable(&[tlsa(3, 1, 1, vec![0x42; 32])]),
            names: ReferenceNames::new(name(MX)),
        }),
        pkix: Some(PkixCheck::from_trust(&trust(&pki), name(MX))),
    };
    let report = probe(&net, addr, &options(MX, verification)).await;
    assert_passes(&report);
    let observation = report.observation.unwrap();
    assert_eq!(
        observation
            .pkix
            .unwrap()
            .verdict()
            .unwrap_err()
            .result_type(),
        ResultType::CertificateNotTrusted
    );
    assert_eq!(
        observation
            .dane
            .unwrap()
            .verdict()
            .unwrap_err()
            .result_type(),
        ResultType::TlsaInvalid
    );
}
