//! DANE matching against chains made with rcgen at test time (validity relative to `NOW`).

use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    PublicKeyData,
};
use rustls_pki_types::{CertificateDer, UnixTime};
use sha2::{Digest, Sha256, Sha512};

use super::*;
use crate::dane::usable::{classify, RrsetUsability};

const DAY: u64 = 86_400;
/// 2026-06-01T00:00:00Z.
const NOW_SECS: u64 = 1_780_272_000;

fn now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(NOW_SECS))
}

fn name(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

/// Validity window in days relative to `NOW`.
fn window(params: &mut CertificateParams, from_days: i64, to_days: i64) {
    let at = |days: i64| {
        let secs = i64::try_from(NOW_SECS).unwrap() + days * i64::try_from(DAY).unwrap();
        rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(u64::try_from(secs).unwrap())
    };
    params.not_before = at(from_days);
    params.not_after = at(to_days);
}

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: CertificateDer<'static>,
}

impl Ca {
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    fn spki(&self) -> Vec<u8> {
        self.key.subject_public_key_info()
    }
}

fn ca_params(cn: &str, from: i64, to: i64) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    window(&mut params, from, to);
    params
}

fn root(cn: &str) -> Ca {
    let params = ca_params(cn, -365, 3650);
    let key = KeyPair::generate().unwrap();
    let der = params.self_signed(&key).unwrap().der().clone();
    Ca { params, key, der }
}

fn intermediate(parent: &Ca, cn: &str, from: i64, to: i64) -> Ca {
    let params = ca_params(cn, from, to);
    let key = KeyPair::generate().unwrap();
    let der = params
        .signed_by(&key, &parent.issuer())
        .unwrap()
        .der()
        .clone();
    Ca { params, key, der }
}

fn leaf_params(names: &[&str], from: i64, to: i64) -> CertificateParams {
    let mut params =
        CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap();
    window(&mut params, from, to);
    params
}

fn leaf(issuer: &Ca, key: &KeyPair, names: &[&str], from: i64, to: i64) -> CertificateDer<'static> {
    leaf_params(names, from, to)
        .signed_by(key, &issuer.issuer())
        .unwrap()
        .der()
        .clone()
}

fn self_signed(key: &KeyPair, names: &[&str], from: i64, to: i64) -> CertificateDer<'static> {
    leaf_params(names, from, to)
        .self_signed(key)
        .unwrap()
        .der()
        .clone()
}

fn sha256(b: &[u8]) -> Vec<u8> {
    Sha256::digest(b).to_vec()
}

fn rec(u: u8, s: u8, m: u8, data: Vec<u8>) -> TlsaRecord {
    TlsaRecord {
        usage: u.into(),
        selector: s.into(),
        matching: m.into(),
        data,
    }
}

fn usable(records: &[TlsaRecord]) -> UsableSet {
    match classify(records).usability {
        RrsetUsability::Usable(set) => set,
        other => panic!("not usable: {other:?}"),
    }
}

fn mx_names() -> ReferenceNames {
    ReferenceNames::new(name("mx.example.test"))
}

fn check(
    chain: &[CertificateDer<'_>],
    records: &[TlsaRecord],
    names: &ReferenceNames,
) -> Result<DaneMatch, DaneFailure> {
    verify(chain, &usable(records), names, now())
}

fn failure(result: Result<DaneMatch, DaneFailure>) -> (RecordFailure, ResultType) {
    let f = result.expect_err("expected DANE to fail");
    (f.primary().unwrap().1, f.result_type())
}

struct Pki {
    root: Ca,
    int: Ca,
    key: KeyPair,
}

fn pki() -> Pki {
    let root = root("mxsec test root");
    let int = intermediate(&root, "mxsec test issuing CA", -30, 365);
    Pki {
        root,
        int,
        key: KeyPair::generate().unwrap(),
    }
}

#[test]
fn dane_auth_01_ee_matches_self_signed_expired_wrong_name_leaf() {
    let key = KeyPair::generate().unwrap();
    let cert = self_signed(&key, &["other.test"], -400, -30);
    let spki = key.subject_public_key_info();
    for record in [
        rec(3, 1, 1, sha256(&spki)),
        rec(3, 1, 2, Sha512::digest(&spki).to_vec()),
        rec(3, 0, 1, sha256(&cert)),
        rec(3, 1, 0, spki.clone()),
        rec(3, 0, 0, cert.to_vec()),
    ] {
        let m = check(
            std::slice::from_ref(&cert),
            std::slice::from_ref(&record),
            &mx_names(),
        )
        .unwrap_or_else(|e| panic!("{record}: {e}"));
        assert_eq!(m.at, MatchedAt::Presented(0));
        assert_eq!(m.name, None, "DANE-EE checks no name");
    }
}

#[test]
fn dane_auth_01_ee_ignores_the_rest_of_the_chain() {
    let p = pki();
    let cert = leaf(&p.int, &p.key, &["nothing.test"], -10, 80);
    let record = rec(3, 1, 1, sha256(&p.key.subject_public_key_info()));
    // The intermediate is missing and the root unknown: irrelevant for DANE-EE.
    assert!(check(&[cert], &[record], &mx_names()).is_ok());
}

#[test]
fn d_01_new_key_fails_same_key_passes_and_3_0_1_breaks_on_reissue() {
    let p = pki();
    let old = leaf(&p.int, &p.key, &["mx.example.test"], -80, 10);
    let spki_record = rec(3, 1, 1, sha256(&p.key.subject_public_key_info()));
    let cert_record = rec(3, 0, 1, sha256(&old));
    assert!(check(
        std::slice::from_ref(&old),
        std::slice::from_ref(&cert_record),
        &mx_names()
    )
    .is_ok());

    // Renewal with the same key: `3 1 1` survives, `3 0 1` does not.
    let reissued = leaf(&p.int, &p.key, &["mx.example.test"], -1, 89);
    assert!(check(
        std::slice::from_ref(&reissued),
        std::slice::from_ref(&spki_record),
        &mx_names()
    )
    .is_ok());
    let (reason, rt) = failure(check(
        std::slice::from_ref(&reissued),
        &[cert_record],
        &mx_names(),
    ));
    assert_eq!(reason, RecordFailure::LeafMismatch);
    assert_eq!(rt, ResultType::TlsaInvalid);

    // Renewal with a new key: `3 1 1` fails.
    let new_key = KeyPair::generate().unwrap();
    let rekeyed = leaf(&p.int, &new_key, &["mx.example.test"], -1, 89);
    let (reason, rt) = failure(check(&[rekeyed], &[spki_record], &mx_names()));
    assert_eq!(reason, RecordFailure::LeafMismatch);
    assert_eq!(rt, ResultType::TlsaInvalid);
}

#[test]
fn dane_auth_02_ta_2_1_1_on_presented_intermediate_passes() {
    let p = pki();
    let cert = leaf(&p.int, &p.key, &["mx.example.test"], -10, 80);
    let record = rec(2, 1, 1, sha256(&p.int.spki()));
    let m = check(&[cert, p.int.der.clone()], &[record], &mx_names()).unwrap();
    assert_eq!(m.at, MatchedAt::Presented(1));
    assert_eq!(m.name, Some(name("mx.example.test")));
}

#[test]
fn dane_auth_02_ta_2_0_1_on_presented_root_passes() {
    let p = pki();
    let cert = leaf(&p.int, &p.key, &["mx.example.test"], -10, 80);
    let record = rec(2, 0, 1, sha256(&p.root.der));
    let chain = [cert, p.int.der.clone(), p.root.der.clone()];
    let m = check(&chain, &[record], &mx_names()).unwrap();
    assert_eq!(m.at, MatchedAt::Presented(2));
}

#[test]
fn d_03_ta_digest_for_a_root_that_is_not_presented_fails() {
    let p = pki();
    let cert = leaf(&p.int, &p.key, &["mx.example.test"], -10, 80);
    let record = rec(2, 0, 1, sha256(&p.root.der));
    let (reason, rt) = failure(check(&[cert, p.int.der.clone()], &[record], &mx_names()));
    assert_eq!(reason, RecordFailure::TrustAnchorNotPresented);
    assert_eq!(rt, ResultType::TlsaInvalid);
}

#[test]
fn dane_auth_02_ta_matching_only_the_leaf_is_not_an_anchor() {
    let key = KeyPair::generate().unwrap();
    let cert = self_signed(&key, &["mx.example.test"], -10, 80);
    let record = rec(2, 0, 1, sha256(&cert));
    let (reason, _) = failure(check(&[cert], &[record], &mx_names()));
    assert_eq!(reason, RecordFailure::TrustAnchorNotPresented);
}

#[test]
fn dane_auth_02_full_2_0_0_is_a_synthetic_anchor_when_not_presented() {
    let p = pki();
    let cert = leaf(&p.int, &p.key, &["mx.example.test"], -10, 80);
    let record = rec(2, 0, 0, p.root.der.to_vec());
    let m = check(&[cert, p.int.der.clone()], &[record], &mx_names()).unwrap();
    assert_eq!(m.at, MatchedAt::Record);
    assert_eq!(m.name, Some(name("mx.example.test")));
}

#[test]
fn dane_auth_02_full_2_1_0_key_anchors_the_chain() {
    let p = pki();
    let cert = leaf(&p.int, &p.key, &["mx.example.test"], -10, 80);
    let m = check(
        &[cert.clone(), p.int.der.clone()],
        &[rec(2, 1, 0, p.root.spki())],
        &mx_names(),
    )
    .unwrap();
    assert_eq!(m.at, MatchedAt::Record);
    // The intermediate's key, with the intermediate not presented, anchors the leaf directly.
    let m = check(
        std::slice::from_ref(&cert),
        &[rec(2, 1, 0, p.int.spki())],
        &mx_names(),
    )
    .unwrap();
    assert_eq!(m.at, MatchedAt::Record);
    // A key that signed nothing in the chain anchors nothing.
    let stranger = root("mxsec test root");
    let (reason, _) = failure(check(
        &[cert, p.int.der.clone()],
        &[rec(2, 1, 0, stranger.spki())],
        &mx_names(),
    ));
    assert!(matches!(reason, RecordFailure::Chain(_)), "{reason:?}");
}

#[test]
fn d_04_ta_wrong_name_is_a_host_mismatch() {
    let p = pki();
    let cert = leaf(&p.int, &p.key, &["other.test"], -10, 80);
    let record = rec(2, 1, 1, sha256(&p.int.spki()));
    let chain = [cert, p.int.der.clone()];
    let (reason, rt) = failure(check(&chain, std::slice::from_ref(&record), &mx_names()));
    assert_eq!(reason, RecordFailure::NameMismatch);
    assert_eq!(rt, ResultType::CertificateHostMismatch);
    // RFC 7672 §3.2.2: a name the caller adds (e.g. the next-hop domain) is acceptable too.
    let names = mx_names().with(name("other.test"));
    let m = check(&chain, &[record], &names).unwrap();
    assert_eq!(m.name, Some(name("other.test")));
}

#[test]
fn d_04_ta_expired_intermediate_fails_as_expired() {
    let p = pki();
    let expired_int = intermediate(&p.root, "mxsec expired CA", -400, -1);
    let cert = leaf(&expired_int, &p.key, &["mx.example.test"], -10, 80);
    let chain = [cert, expired_int.der.clone(), p.root.der.clone()];
    // Anchored at the root: path validation sees the expired intermediate.
    let (reason, rt) = failure(check(
        &chain,
        &[rec(2, 0, 1, sha256(&p.root.der))],
        &mx_names(),
    ));
    assert!(
        matches!(reason, RecordFailure::Chain(ChainError::Expired { .. })),
        "{reason:?}"
    );
    assert_eq!(rt, ResultType::CertificateExpired);
    // Anchored at the expired intermediate itself: its own dates count too.
    let (reason, rt) = failure(check(
        &chain,
        &[rec(2, 1, 1, sha256(&expired_int.spki()))],
        &mx_names(),
    ));
    assert!(
        matches!(reason, RecordFailure::Chain(ChainError::Expired { .. })),
        "{reason:?}"
    );
    assert_eq!(rt, ResultType::CertificateExpired);
}

#[test]
fn dane_auth_02_ta_checks_leaf_validity_and_eku_where_ee_does_not() {
    let p = pki();
    let expired = leaf(&p.int, &p.key, &["mx.example.test"], -100, -10);
    let ta = rec(2, 1, 1, sha256(&p.int.spki()));
    let ee = rec(3, 1, 1, sha256(&p.key.subject_public_key_info()));
    let chain = [expired, p.int.der.clone()];
    assert_eq!(
        failure(check(&chain, std::slice::from_ref(&ta), &mx_names())).1,
        ResultType::CertificateExpired
    );
    assert!(check(&chain, std::slice::from_ref(&ee), &mx_names()).is_ok());

    let mut params = leaf_params(&["mx.example.test"], -10, 80);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_only = params.signed_by(&p.key, &p.int.issuer()).unwrap();
    let chain = [client_only.der().clone(), p.int.der.clone()];
    assert_eq!(
        failure(check(&chain, &[ta], &mx_names())).0,
        RecordFailure::Chain(ChainError::NotForServerAuth)
    );
    assert!(check(&chain, &[ee], &mx_names()).is_ok());
}

#[test]
fn dane_auth_02_ta_not_issuer_of_leaf_is_not_trusted() {
    let p = pki();
    let other = root("mxsec other root");
    let cert = leaf(&p.int, &p.key, &["mx.example.test"], -10, 80);
    let chain = [cert, p.int.der.clone(), other.der.clone()];
    let (reason, rt) = failure(check(
        &chain,
        &[rec(2, 0, 1, sha256(&other.der))],
        &mx_names(),
    ));
    assert_eq!(reason, RecordFailure::Chain(ChainError::UnknownIssuer));
    assert_eq!(rt, ResultType::CertificateNotTrusted);
}

#[test]
fn dane_auth_03_wildcard_only_as_whole_left_most_label() {
    let p = pki();
    let record = rec(2, 1, 1, sha256(&p.int.spki()));
    let chain_for = |names: &[&str]| [leaf(&p.int, &p.key, names, -10, 80), p.int.der.clone()];
    let wildcard = chain_for(&["*.example.test"]);
    assert!(check(&wildcard, std::slice::from_ref(&record), &mx_names()).is_ok());
    for base in ["example.test", "a.mx.example.test"] {
        let names = ReferenceNames::new(name(base));
        let (reason, _) = failure(check(&wildcard, std::slice::from_ref(&record), &names));
        assert_eq!(reason, RecordFailure::NameMismatch, "{base}");
    }
    let partial = chain_for(&["m*.example.test"]);
    let (reason, _) = failure(check(&partial, &[record], &mx_names()));
    assert_eq!(reason, RecordFailure::NameMismatch);
}

#[test]
fn dane_tlsa_05_mismatching_sha512_is_not_rescued_by_matching_sha256() {
    let p = pki();
    let cert = leaf(&p.int, &p.key, &["mx.example.test"], -10, 80);
    let spki = p.key.subject_public_key_info();
    let good256 = rec(3, 1, 1, sha256(&spki));
    let bad512 = rec(3, 1, 2, vec![0xAB; 64]);
    let (reason, _) = failure(check(&[cert], &[good256, bad512], &mx_names()));
    assert_eq!(reason, RecordFailure::LeafMismatch);
}

#[test]
fn rpt_res_02_verdict_reports_the_failure_that_got_furthest() {
    let p = pki();
    let cert = leaf(&p.int, &p.key, &["other.test"], -10, 80);
    let chain = [cert, p.int.der.clone()];
    let ee_miss = rec(3, 1, 1, vec![0x11; 32]);
    let ta_name = rec(2, 1, 1, sha256(&p.int.spki()));
    let eval = evaluate(
        &chain,
        &usable(&[ee_miss.clone(), ta_name.clone()]),
        &mx_names(),
        now(),
    );
    assert_eq!(eval.records.len(), 2);
    assert_eq!(eval.records[0].result, Err(RecordFailure::LeafMismatch));
    let f = eval.verdict().unwrap_err();
    assert_eq!(f.primary(), Some((&ta_name, RecordFailure::NameMismatch)));
    assert_eq!(f.result_type(), ResultType::CertificateHostMismatch);
    assert_eq!(f.reason_code(), "dane-ta-name-mismatch");
    assert_eq!(f.failures.len(), 2);
}

#[test]
fn dane_auth_06_empty_or_garbage_chains_fail_cleanly() {
    let record = rec(3, 1, 1, vec![0x11; 32]);
    let (reason, rt) = failure(check(&[], std::slice::from_ref(&record), &mx_names()));
    assert_eq!(reason, RecordFailure::MalformedLeaf);
    assert_eq!(rt, ResultType::ValidationFailure);
    let garbage = CertificateDer::from(vec![0x30, 0x03, 0x01, 0x01, 0xff]);
    let (reason, _) = failure(check(&[garbage], &[record], &mx_names()));
    assert_eq!(reason, RecordFailure::MalformedLeaf);
}

#[test]
fn dane_auth_02_synthetic_key_anchor_der_is_bounded() {
    assert_eq!(
        der_sequence_contents(&[0x30, 0x01, 0xAA]),
        Some(&[0xAA][..])
    );
    assert_eq!(
        der_sequence_contents(&[0x30, 0x81, 0x01, 0xAA]),
        Some(&[0xAA][..])
    );
    assert_eq!(der_sequence_contents(&[0x30, 0x02, 0xAA]), None);
    assert_eq!(der_sequence_contents(&[0x31, 0x01, 0xAA]), None);
    assert_eq!(der_sequence_contents(&[0x30, 0x80]), None);
    assert_eq!(der_sequence_contents(&[0x30, 0x89, 0x01]), None);
    assert_eq!(der_sequence_contents(&[]), None);
}

proptest::proptest! {
    #[test]
    fn dane_auth_06_matching_never_panics_on_arbitrary_chains(
        chain in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..200), 0..4),
        data in proptest::collection::vec(proptest::num::u8::ANY, 32..=32),
    ) {
        let chain: Vec<CertificateDer<'_>> = chain.into_iter().map(CertificateDer::from).collect();
        let set = usable(&[rec(3, 1, 1, data.clone()), rec(2, 0, 1, data.clone()), rec(2, 1, 1, data)]);
        let eval = evaluate(&chain, &set, &mx_names(), now());
        proptest::prop_assert!(eval.verdict().is_err());
    }
}
