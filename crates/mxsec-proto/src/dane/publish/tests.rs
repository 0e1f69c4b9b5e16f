//! Generated records against chains made with rcgen: each generated record must authenticate
//! the server it was made for, under the same matcher senders use.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PublicKeyData};
use rustls_pki_types::{CertificateDer, UnixTime};

use super::*;
use crate::dane::matching::{self, MatchedAt, ReferenceNames};
use crate::dane::usable::{classify, RrsetUsability};

/// The time the checks run at: a fixed instant inside rcgen's default validity (1975-4096),
/// so that no test reads the clock (mxsec-proto/clippy.toml).
fn at_test_time() -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_780_272_000))
}

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: CertificateDer<'static>,
}

fn ca(cn: &str, org: Option<&str>, parent: Option<&Ca>) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    if let Some(org) = org {
        params
            .distinguished_name
            .push(DnType::OrganizationName, org);
    }
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let der = match parent {
        Some(p) => params
            .signed_by(&key, &Issuer::from_params(&p.params, &p.key))
            .unwrap(),
        None => params.self_signed(&key).unwrap(),
    }
    .der()
    .clone();
    Ca { params, key, der }
}

fn leaf(issuer: &Ca, key: &KeyPair, host: &str) -> CertificateDer<'static> {
    CertificateParams::new(vec![host.to_owned()])
        .unwrap()
        .signed_by(key, &Issuer::from_params(&issuer.params, &issuer.key))
        .unwrap()
        .der()
        .clone()
}

struct Pki {
    root: Ca,
    r10: Ca,
    r11: Ca,
    key: KeyPair,
    chain: Vec<CertificateDer<'static>>,
}

fn pki() -> Pki {
    let root = ca(
        "ISRG Root X1",
        Some("Internet Security Research Group"),
        None,
    );
    let r10 = ca("R10", Some("Let's Encrypt"), Some(&root));
    let r11 = ca("R11", Some("Let's Encrypt"), Some(&root));
    let key = KeyPair::generate().unwrap();
    let chain = vec![leaf(&r11, &key, "mx.example.test"), r11.der.clone()];
    Pki {
        root,
        r10,
        r11,
        key,
        chain,
    }
}

fn input(current: Credentials) -> PlanInput {
    PlanInput {
        current,
        next: Vec::new(),
        issuers: Vec::new(),
        kinds: DEFAULT_KINDS.to_vec(),
    }
}

fn kind(text: &str) -> RecordKind {
    RecordKind::parse(text).unwrap()
}

fn records(planned: &[PlannedRecord]) -> Vec<TlsaRecord> {
    planned.iter().map(|p| p.record.clone()).collect()
}

fn authenticates(records: &[TlsaRecord], chain: &[CertificateDer<'_>]) -> Vec<MatchedAt> {
    let RrsetUsability::Usable(set) = classify(records).usability else {
        panic!("generated records must be usable")
    };
    let names = ReferenceNames::new(DomainName::parse("mx.example.test").unwrap());
    matching::evaluate(chain, &set, &names, at_test_time())
        .records
        .into_iter()
        .filter_map(|v| v.result.ok().map(|m| m.at))
        .collect()
}

#[test]
fn dane_tlsa_03_default_pair_from_fullchain_authenticates_the_server() {
    let p = pki();
    let plan = plan(&input(Credentials::Chain(p.chain.clone()))).unwrap();
    let recs = records(&plan.value);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].to_string().get(..6), Some("3 1 1 "));
    assert_eq!(
        recs[0].data,
        Sha256::digest(p.key.subject_public_key_info()).to_vec()
    );
    assert_eq!(recs[1].to_string().get(..6), Some("2 1 1 "));
    assert_eq!(
        recs[1].data,
        Sha256::digest(p.r11.key.subject_public_key_info()).to_vec()
    );
    assert_eq!(plan.value[0].role, Role::Current);
    assert!(
        matches!(&plan.value[1].role, Role::Issuer { subject, current: true } if subject.contains("CN=R11"))
    );
    // Each record authenticates the chain on its own: 3 1 1 at the leaf, 2 1 1 at position 1.
    assert_eq!(
        authenticates(&recs, &p.chain),
        [MatchedAt::Presented(0), MatchedAt::Presented(1)]
    );
    // R11 is one of Let's Encrypt's intermediates (D-02), and no next key is published.
    assert!(plan
        .warnings
        .iter()
        .any(|w| matches!(w, TlsaWarning::SingleIntermediate { ca, .. } if ca == "Let's Encrypt")));
    assert!(plan.warnings.contains(&TlsaWarning::NoNextKey));
}

#[test]
fn d_02_every_intermediate_pinned_silences_the_warning_and_matches_a_renewal_from_either() {
    let p = pki();
    let mut i = input(Credentials::Chain(p.chain.clone()));
    i.issuers = vec![p.r10.der.clone()];
    let plan = plan(&i).unwrap();
    assert_eq!(plan.value.len(), 3);
    assert!(
        matches!(&plan.value[2].role, Role::Issuer { subject, current: false } if subject.contains("CN=R10"))
    );
    assert!(!plan
        .warnings
        .iter()
        .any(|w| matches!(w, TlsaWarning::SingleIntermediate { .. })));
    // A renewal with a new key from R10 is still authenticated, by the R10 record.
    let renewed = vec![
        leaf(&p.r10, &KeyPair::generate().unwrap(), "mx.example.test"),
        p.r10.der.clone(),
    ];
    assert_eq!(
        authenticates(&records(&plan.value), &renewed),
        [MatchedAt::Presented(1)]
    );
}

#[test]
fn dane_ops_01_next_key_is_pre_published() {
    let p = pki();
    let next = KeyPair::generate().unwrap();
    let mut i = input(Credentials::Chain(p.chain.clone()));
    i.next = vec![Credentials::PublicKey(next.subject_public_key_info())];
    let plan = plan(&i).unwrap();
    assert_eq!(plan.value[1].role, Role::Next);
    assert!(!plan.warnings.contains(&TlsaWarning::NoNextKey));
    // After the rollover the new certificate matches the pre-published record.
    let rolled = vec![leaf(&p.r11, &next, "mx.example.test"), p.r11.der.clone()];
    let recs = records(&plan.value);
    let ee_only: Vec<TlsaRecord> = recs
        .iter()
        .filter(|r| r.usage == CertUsage::DaneEe)
        .cloned()
        .collect();
    assert_eq!(authenticates(&ee_only, &rolled), [MatchedAt::Presented(0)]);
    // The current key as "next" is a mistake worth a warning; the record is not repeated.
    i.next = vec![Credentials::Chain(p.chain.clone())];
    let plan = super::plan(&i).unwrap();
    assert!(plan.warnings.contains(&TlsaWarning::NextKeyIsCurrent));
    assert_eq!(plan.value.len(), 2);
}

#[test]
fn d_01_3_0_1_warns_and_breaks_on_reissue_with_same_key() {
    let p = pki();
    let mut i = input(Credentials::Chain(p.chain.clone()));
    i.kinds = vec![kind("3 0 1")];
    let plan = plan(&i).unwrap();
    assert!(plan
        .warnings
        .iter()
        .any(|w| matches!(w, TlsaWarning::CertificatePinnedByEe { record } if record == "3 0 1")));
    let reissued = vec![leaf(&p.r11, &p.key, "mx.example.test"), p.r11.der.clone()];
    let RrsetUsability::Usable(set) = classify(&records(&plan.value)).usability else {
        panic!()
    };
    let names = ReferenceNames::new(DomainName::parse("mx.example.test").unwrap());
    assert!(matching::verify(&reissued, &set, &names, at_test_time()).is_err());
}

#[test]
fn dane_tlsa_03_bare_public_key_gives_3_1_1_only() {
    let key = KeyPair::generate().unwrap();
    let plan = plan(&input(Credentials::PublicKey(
        key.subject_public_key_info(),
    )))
    .unwrap();
    assert_eq!(plan.value.len(), 1);
    assert!(plan
        .warnings
        .iter()
        .any(|w| matches!(w, TlsaWarning::NoIssuer { record } if record == "2 1 1")));
    let mut i = input(Credentials::PublicKey(key.subject_public_key_info()));
    i.kinds = vec![kind("3 0 1")];
    assert!(matches!(
        super::plan(&i),
        Err(PlanError::NeedsCertificate { .. })
    ));
}

#[test]
fn dane_tlsa_02_pkix_kinds_are_not_generated_and_warned_about_when_published() {
    let p = pki();
    let mut i = input(Credentials::Chain(p.chain.clone()));
    i.kinds = vec![kind("1 1 1")];
    assert!(matches!(
        plan(&i),
        Err(PlanError::UnsupportedKind { record }) if record == "1 1 1"
    ));
    let published: TlsaRecord =
        "1 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6"
            .parse()
            .unwrap();
    assert!(matches!(
        lint(&[published], &[]).as_slice(),
        [TlsaWarning::PkixUsage { .. }]
    ));
}

#[test]
fn d_13_too_many_records_and_oversized_answer() {
    let owner = owner(&DomainName::parse("mx.example.test").unwrap(), 25).unwrap();
    assert_eq!(owner.as_str(), "_25._tcp.mx.example.test");
    let many: Vec<TlsaRecord> = (0..13u8)
        .map(|n| TlsaRecord {
            usage: CertUsage::DaneTa,
            selector: Selector::Spki,
            matching: MatchingType::Sha256,
            data: vec![n; 32],
        })
        .collect();
    assert!(lint(&many, &[]).contains(&TlsaWarning::TooManyRecords { count: 13 }));
    assert!(lint(&many[..12], &[]).is_empty());
    assert!(answer_size_warning(&owner, &many[..12]).is_none());
    let p = pki();
    let mut i = input(Credentials::Chain(p.chain.clone()));
    i.kinds = vec![kind("3 0 0"), kind("2 0 0")];
    i.issuers = vec![p.r10.der.clone(), p.root.der.clone()];
    let plan = plan(&i).unwrap();
    let recs = records(&plan.value);
    assert!(plan
        .warnings
        .iter()
        .any(|w| matches!(w, TlsaWarning::FullValue { .. })));
    let size = estimated_answer_size(&owner, &recs);
    assert!(size > MAX_ANSWER_BYTES, "{size}");
    assert!(matches!(
        answer_size_warning(&owner, &recs),
        Some(TlsaWarning::AnswerTooLarge { bytes, .. }) if bytes == size
    ));
}

#[test]
fn dane_tlsa_03_bad_input_is_an_error_not_a_panic() {
    let p = pki();
    assert!(matches!(
        plan(&input(Credentials::Chain(Vec::new()))),
        Err(PlanError::Empty)
    ));
    assert!(matches!(
        plan(&input(Credentials::Chain(vec![CertificateDer::from(
            vec![0x30, 0x00]
        )]))),
        Err(PlanError::BadCertificate { position: 1 })
    ));
    assert!(matches!(
        plan(&input(Credentials::Chain(vec![p.r11.der.clone()]))),
        Err(PlanError::LeafIsCa { .. })
    ));
    let mut i = input(Credentials::Chain(p.chain.clone()));
    i.issuers = vec![p.chain[0].clone()];
    assert!(matches!(plan(&i), Err(PlanError::IssuerNotCa { .. })));
    // Chain out of order: the second certificate did not issue the first.
    let wrong = vec![p.chain[0].clone(), p.r10.der.clone()];
    let plan = plan(&input(Credentials::Chain(wrong))).unwrap();
    assert!(plan
        .warnings
        .iter()
        .any(|w| matches!(w, TlsaWarning::ChainOutOfOrder { .. })));
    assert!(RecordKind::parse("3 1").is_none());
    assert!(RecordKind::parse("3 1 1 1").is_none());
    assert!(RecordKind::parse("3 1 x").is_none());
}

#[test]
fn dane_tlsa_03_zone_lines() {
    let p = pki();
    let plan = plan(&input(Credentials::Chain(p.chain))).unwrap();
    let owner = owner(&DomainName::parse("mx.example.test").unwrap(), 25).unwrap();
    let text = zone_lines(&owner, Some(3600), &plan.value);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], "; the server's current key");
    assert!(lines[1].starts_with("_25._tcp.mx.example.test. 3600 IN TLSA 3 1 1 "));
    assert!(lines[2].starts_with("; issuer of the current certificate: "));
    assert!(lines[3].starts_with("_25._tcp.mx.example.test. 3600 IN TLSA 2 1 1 "));
    let parsed: TlsaRecord = lines[3].split_once("TLSA ").unwrap().1.parse().unwrap();
    assert_eq!(parsed, plan.value[1].record);
}
