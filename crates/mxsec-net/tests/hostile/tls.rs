//! A TLS server with a 100-certificate chain: the leaf, 98 decoys that carry the name of its
//! issuer but keys of their own, and the real issuer last, so that a path builder tries every
//! decoy before it finds the issuer. Each verifier the probe can use (PKIX for MTA-STS,
//! DANE-EE, DANE-TA, and the checker's observe-everything mode) must decide within the
//! handshake timeout, with bounded memory.

use std::path::Path;
use std::time::SystemTime;

use mxsec_net::proto::dane::matching::ReferenceNames;
use mxsec_net::proto::dane::tlsa::TlsaRecord;
use mxsec_net::proto::dane::usable::{classify, RrsetUsability};
use mxsec_net::proto::name::DomainName;
use mxsec_net::smtp_probe::{ProbeFailure, ProbeReport};
use mxsec_net::tls::{DaneCheck, PkixCheck, Verification};
use mxsec_net::trust::TrustConfig;
use mxsec_testbed::pki::{Intermediate, LeafSpec, TestPki};
use mxsec_testbed::smtp::{Credentials, MxBehaviour, TlsIdentity};
use sha2::{Digest, Sha256};

use crate::meter::{run, Measured, MIB};
use crate::smtp::{probe_mx, SLACK, STEP};

const MX: &str = "mx.example.test";

/// The memory one probe of the long chain may take: the chain is about 50 KB.
const MEMORY: usize = MIB;

struct LongChain {
    pki: TestPki,
    behaviour: MxBehaviour,
    ee: TlsaRecord,
    ta: TlsaRecord,
}

fn long_chain() -> LongChain {
    let pki = TestPki::generate(SystemTime::now()).unwrap();
    let leaf = pki.issue(&LeafSpec::new([MX])).unwrap();
    let mut chain = vec![leaf.cert_der().clone()];
    chain.extend(pki.decoy_intermediates(98).unwrap());
    chain.push(pki.intermediate(Intermediate::A).der().clone());
    assert_eq!(chain.len(), 100);
    let credentials = Credentials::new(chain, leaf.private_key_der());
    let behaviour = MxBehaviour::tls(MX, TlsIdentity::new(credentials));
    let record = |usage: u8, spki: &[u8]| TlsaRecord {
        usage: usage.into(),
        selector: 1.into(),
        matching: 1.into(),
        data: Sha256::digest(spki).to_vec(),
    };
    let ee = record(3, &leaf.key().spki_der());
    let ta = record(2, pki.intermediate(Intermediate::A).spki_der());
    LongChain {
        pki,
        behaviour,
        ee,
        ta,
    }
}

fn name() -> DomainName {
    DomainName::parse(MX).unwrap()
}

fn dane(record: &TlsaRecord) -> DaneCheck {
    let RrsetUsability::Usable(tlsa) = classify(std::slice::from_ref(record)).usability else {
        panic!("{record:?} is not usable");
    };
    DaneCheck {
        tlsa,
        names: ReferenceNames::new(name()),
    }
}

fn pkix(pki: &TestPki) -> PkixCheck {
    let trust = TrustConfig::empty()
        .add_ca_pem(Path::new("testbed root"), pki.root_pem().as_bytes())
        .unwrap();
    PkixCheck::from_trust(&trust, name())
}

/// The probe finished the handshake or had the chain rejected: it did not run out of time.
fn decided(report: &ProbeReport) {
    match &report.result {
        Ok(()) => println!("hostile:   verdict: accepted"),
        Err(ProbeFailure::Handshake { error, rejected }) => {
            let pkix = report.observation.as_ref().and_then(|o| o.pkix.as_ref());
            println!("hostile:   verdict: rejected ({rejected:?}: {error}; PKIX: {pkix:?})");
        }
        Err(other) => panic!("no verdict on the 100-certificate chain: {other:?}"),
    }
}

fn check(case: &str, measured: &Measured<ProbeReport>) {
    measured.assert_within(case, STEP + SLACK, MEMORY);
    decided(&measured.value);
}

#[test]
fn hostile_tls_100_certificates_pkix() {
    run(async {
        let bed = long_chain();
        let verification = Verification::Pkix(pkix(&bed.pki));
        let measured = probe_mx(bed.behaviour, MX, verification).await;
        check("TLS, 100-certificate chain, PKIX", &measured);
    });
}

#[test]
fn hostile_tls_100_certificates_dane_ee() {
    run(async {
        let bed = long_chain();
        let verification = Verification::Dane(dane(&bed.ee));
        let measured = probe_mx(bed.behaviour, MX, verification).await;
        check("TLS, 100-certificate chain, DANE-EE 3 1 1", &measured);
        // DANE-EE looks at the leaf alone (DANE-AUTH-01): the padding does not matter.
        let result = &measured.value.result;
        assert!(result.is_ok(), "{result:?}");
    });
}

#[test]
fn hostile_tls_100_certificates_dane_ta() {
    run(async {
        let bed = long_chain();
        let verification = Verification::Dane(dane(&bed.ta));
        let measured = probe_mx(bed.behaviour, MX, verification).await;
        check("TLS, 100-certificate chain, DANE-TA 2 1 1", &measured);
    });
}

#[test]
fn hostile_tls_100_certificates_observe_everything() {
    run(async {
        let bed = long_chain();
        let verification = Verification::Observe {
            dane: Some(dane(&bed.ta)),
            pkix: Some(pkix(&bed.pki)),
        };
        let measured = probe_mx(bed.behaviour, MX, verification).await;
        check("TLS, 100-certificate chain, checker mode", &measured);
    });
}
