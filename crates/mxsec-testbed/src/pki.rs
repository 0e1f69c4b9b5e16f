//! The testbed PKI: a root CA, two issuing intermediates and leaf certificates, made at run time.
//!
//! Nothing here is committed to the repository: every certificate and key is generated when a
//! test or `mxsec demo` starts, with validity windows relative to the `now` the caller chooses,
//! so fixtures never expire (STYLE.md §6).
//!
//! The shapes cover what the scenarios need:
//!
//! - a valid leaf for any DNS names, wildcards included (`*.example.test`), issued by either of
//!   two intermediates ([`Intermediate::A`], [`Intermediate::B`]; SCENARIOS.md D-02: a `2 1 1`
//!   record pins one issuer and the renewal comes from the other);
//! - expired and not-yet-valid leaves ([`Validity`]; M-02, M-06);
//! - self-signed leaves ([`IssuedBy::SelfSigned`]; M-02, M-06);
//! - a served chain without its intermediate ([`ServedChain::LeafOnly`]; M-02);
//! - a leaf re-issued with the *same* key ([`TestPki::reissue`]) and with a new key
//!   ([`TestPki::reissue_with_new_key`]): after the first, a `3 1 1` record still matches and a
//!   `3 0 1` record does not; after the second, neither does (D-01).
//!
//! - a second, unrelated root, [`TestPki::os_store_root`], and leaves it issues
//!   ([`IssuedBy::OsStoreRoot`]): the stand-in for a root that the operating system's store
//!   has and Mozilla's program lacks, so that the two stores disagree (PKIX-01);
//! - decoy intermediates ([`TestPki::decoy_intermediates`]): CA certificates with the name of
//!   intermediate A but keys of their own, to pad a served chain to a hundred certificates
//!   that a verifier must not spend unbounded time on (hostile servers).
//!
//! Keys are ECDSA P-256 by default; P-384, Ed25519 and RSA-2048 are available through
//! [`KeyAlgorithm`].
//! Outputs are `rustls_pki_types` DER values for rustls, and PEM for files such as the
//! `--ca-file` of the checker.
//!
//! ```
//! use std::time::SystemTime;
//! use mxsec_testbed::pki::{LeafSpec, TestPki, Validity};
//!
//! let pki = TestPki::generate(SystemTime::now()).unwrap();
//! let leaf = pki.issue(&LeafSpec::new(["mta-sts.example.test"]).validity(Validity::Expired)).unwrap();
//! assert_eq!(leaf.served_chain(Default::default()).len(), 2);
//! assert!(pki.root_pem().starts_with("-----BEGIN CERTIFICATE-----"));
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType, SerialNumber, SignatureAlgorithm,
};
use ring::rand::{SecureRandom, SystemRandom};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Validity of a CA certificate on either side of `now`: ten years back and forward.
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// An error while generating testbed certificates.
///
/// Generation fails only on a name that cannot be put in a certificate or a failure of the
/// random number generator; the scenarios treat it as a broken test setup.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// A subject alternative name is not a valid IA5 DNS name.
    #[error("{name:?} cannot be a DNS name in a certificate: {source}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What rcgen objected to.
        source: rcgen::Error,
    },
    /// Key generation or certificate signing failed.
    #[error("certificate generation failed: {0}")]
    Generation(#[from] rcgen::Error),
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// A generated RSA key could not be encoded as PKCS#8.
    #[error("a generated RSA key could not be encoded as PKCS#8")]
    KeyEncoding,
    /// A validity window ends before it starts.
    #[error("validity window ends ({not_after:?}) before it starts ({not_before:?})")]
    EmptyWindow {
        /// Start of the window.
        not_before: SystemTime,
        /// End of the window.
        not_after: SystemTime,
    },
}

/// The signature algorithm of a generated key.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA over P-256 with SHA-256, the default.
    #[default]
    EcdsaP256,
    /// ECDSA over P-384 with SHA-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
    /// RSA with a 2048-bit modulus, signing with PKCS#1 v1.5 and SHA-256 (SCENARIOS.md D-11:
    /// RSA and ECDSA certificates side by side). Generation takes about a second.
    Rsa2048,
}

impl KeyAlgorithm {
    fn rcgen(self) -> &'static SignatureAlgorithm {
        match self {
            Self::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Self::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            Self::Ed25519 => &rcgen::PKCS_ED25519,
            Self::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
        }
    }

    fn generate(self) -> Result<KeyPair, PkiError> {
        match self {
            // ring signs with RSA keys but cannot make them.
            Self::Rsa2048 => {
                use rsa::pkcs8::EncodePrivateKey;
                use rsa::Generate;
                let key = rsa::PrivateKey::try_generate().map_err(|_| PkiError::Random)?;
                let der = key.to_pkcs8_der().map_err(|_| PkiError::KeyEncoding)?;
                let der = PrivatePkcs8KeyDer::from(der.as_bytes());
                Ok(KeyPair::from_pkcs8_der_and_sign_algo(&der, self.rcgen())?)
            }
            _ => Ok(KeyPair::generate_for(self.rcgen())?),
        }
    }
}

/// A private key of a testbed certificate, shared cheaply between re-issued certificates.
#[derive(Clone)]
pub struct LeafKey {
    pair: Arc<KeyPair>,
    algorithm: KeyAlgorithm,
}

impl LeafKey {
    /// Generates a fresh key.
    ///
    /// # Errors
    ///
    /// [`PkiError::Generation`] if the random number generator fails.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, PkiError> {
        Ok(Self {
            pair: Arc::new(algorithm.generate()?),
            algorithm,
        })
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The private key, PKCS#8 DER, as rustls takes it.
    pub fn private_key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.pair.serialize_der()))
    }

    /// The private key, PKCS#8 PEM.
    pub fn private_key_pem(&self) -> String {
        self.pair.serialize_pem()
    }

    /// The DER `SubjectPublicKeyInfo`: what a TLSA record with selector 1 (SPKI) hashes.
    pub fn spki_der(&self) -> Vec<u8> {
        self.pair.subject_public_key_info()
    }
}

impl fmt::Debug for LeafKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeafKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The validity window of a leaf certificate, relative to the PKI's `now`.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
#[non_exhaustive]
pub enum Validity {
    /// From a day before `now` to 90 days after it.
    #[default]
    Valid,
    /// From 90 days before `now` to a day before it.
    Expired,
    /// From a day after `now` to 90 days after it.
    NotYetValid,
    /// An explicit window.
    Between {
        /// First instant of validity.
        not_before: SystemTime,
        /// Last instant of validity.
        not_after: SystemTime,
    },
}

impl Validity {
    fn window(self, now: SystemTime) -> Result<(SystemTime, SystemTime), PkiError> {
        let (not_before, not_after) = match self {
            Self::Valid => (now - DAY, now + 90 * DAY),
            Self::Expired => (now - 90 * DAY, now - DAY),
            Self::NotYetValid => (now + DAY, now + 90 * DAY),
            Self::Between {
                not_before,
                not_after,
            } => (not_before, not_after),
        };
        if not_after < not_before {
            return Err(PkiError::EmptyWindow {
                not_before,
                not_after,
            });
        }
        Ok((not_before, not_after))
    }
}

/// One of the two issuing intermediates under the testbed root.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Intermediate {
    /// "mxsec testbed issuing CA A", the default issuer.
    A,
    /// "mxsec testbed issuing CA B", the other active issuer (SCENARIOS.md D-02).
    B,
}

/// Who signs a leaf certificate.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum IssuedBy {
    /// Intermediate A; the chain is leaf, A, root.
    #[default]
    IntermediateA,
    /// Intermediate B; the chain is leaf, B, root.
    IntermediateB,
    /// The root directly; the chain is leaf, root.
    Root,
    /// The leaf's own key: no chain to any trusted root (M-02, M-06).
    SelfSigned,
    /// The second root, [`TestPki::os_store_root`], directly; the chain is leaf, that root.
    /// Only a store holding that root trusts it (PKIX-01).
    OsStoreRoot,
}

/// What a leaf certificate is for: its extended key usage (RFC 5280 §4.2.1.12).
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub enum LeafPurpose {
    /// A TLS server (`id-kp-serverAuth`).
    #[default]
    Server,
    /// A TLS client (`id-kp-clientAuth`), for servers that require client certificates.
    Client,
}

/// Which certificates a server sends for a leaf.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum ServedChain {
    /// The leaf and its intermediate (if any), as a correctly configured server sends it.
    #[default]
    LeafAndIntermediate,
    /// The leaf alone: the "missing intermediate" misconfiguration (M-02).
    LeafOnly,
    /// The leaf, its intermediate and the root (harmless, and what DANE-TA `2 x x` on the root
    /// needs; SCENARIOS.md D-03).
    WithRoot,
}

/// What to put in a leaf certificate.
#[derive(Clone, Debug)]
pub struct LeafSpec {
    names: Vec<String>,
    validity: Validity,
    issued_by: IssuedBy,
    key: Option<LeafKey>,
    algorithm: KeyAlgorithm,
    purpose: LeafPurpose,
}

impl LeafSpec {
    /// A valid leaf for these DNS names (`*.example.test` for a wildcard), issued by
    /// intermediate A with a fresh P-256 key.
    pub fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            names: names.into_iter().map(Into::into).collect(),
            validity: Validity::default(),
            issued_by: IssuedBy::default(),
            key: None,
            algorithm: KeyAlgorithm::default(),
            purpose: LeafPurpose::default(),
        }
    }

    /// Sets the validity window.
    pub fn validity(mut self, validity: Validity) -> Self {
        self.validity = validity;
        self
    }

    /// Sets the issuer.
    pub fn issued_by(mut self, issued_by: IssuedBy) -> Self {
        self.issued_by = issued_by;
        self
    }

    /// Uses this existing key instead of generating one (a renewal that keeps its key).
    pub fn key(mut self, key: LeafKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Sets what the certificate is for (a server, by default).
    pub fn purpose(mut self, purpose: LeafPurpose) -> Self {
        self.purpose = purpose;
        self
    }

    /// Sets the algorithm of the generated key; ignored when [`LeafSpec::key`] gives one.
    pub fn algorithm(mut self, algorithm: KeyAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }
}

/// A CA certificate of the testbed with its signing key.
pub struct CaCert {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
    spki: Vec<u8>,
}

impl CaCert {
    /// The certificate, DER.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    /// The certificate, PEM.
    pub fn pem(&self) -> String {
        pem_certificates([&self.der])
    }

    /// The DER `SubjectPublicKeyInfo`, what a `2 1 x` TLSA record hashes.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }
}

impl fmt::Debug for CaCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaCert").finish_non_exhaustive()
    }
}

/// A leaf certificate with its key and the CA certificates above it.
#[derive(Clone, Debug)]
pub struct Leaf {
    spec: LeafSpec,
    key: LeafKey,
    cert: CertificateDer<'static>,
    intermediate: Option<CertificateDer<'static>>,
    root: Option<CertificateDer<'static>>,
}

impl Leaf {
    /// The DNS names the certificate carries.
    pub fn names(&self) -> &[String] {
        &self.spec.names
    }

    /// The issuer of the certificate.
    pub fn issued_by(&self) -> IssuedBy {
        self.spec.issued_by
    }

    /// The leaf certificate, DER: what a `3 0 x` TLSA record hashes.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// The certificates a server sends, leaf first.
    pub fn served_chain(&self, shape: ServedChain) -> Vec<CertificateDer<'static>> {
        let mut chain = vec![self.cert.clone()];
        match shape {
            ServedChain::LeafOnly => {}
            ServedChain::LeafAndIntermediate => chain.extend(self.intermediate.clone()),
            ServedChain::WithRoot => {
                chain.extend(self.intermediate.clone());
                chain.extend(self.root.clone());
            }
        }
        chain
    }

    /// The served chain as PEM, leaf first.
    pub fn chain_pem(&self, shape: ServedChain) -> String {
        pem_certificates(&self.served_chain(shape))
    }

    /// The key of the certificate.
    pub fn key(&self) -> &LeafKey {
        &self.key
    }

    /// The private key, PKCS#8 DER, as rustls takes it.
    pub fn private_key_der(&self) -> PrivateKeyDer<'static> {
        self.key.private_key_der()
    }
}

/// A private PKI for the testbed: one root, two issuing intermediates, leaves on demand, and
/// a second root for the stand-in operating system store.
#[derive(Debug)]
pub struct TestPki {
    now: SystemTime,
    root: CaCert,
    intermediate_a: CaCert,
    intermediate_b: CaCert,
    os_store_root: CaCert,
}

impl TestPki {
    /// Generates a root, two intermediates and the OS-store root, all valid ten years either
    /// side of `now`.
    ///
    /// # Errors
    ///
    /// [`PkiError`] if key generation or signing fails.
    pub fn generate(now: SystemTime) -> Result<Self, PkiError> {
        let root = ca_cert("mxsec testbed root CA", None, now)?;
        let intermediate_a = ca_cert("mxsec testbed issuing CA A", Some(&root), now)?;
        let intermediate_b = ca_cert("mxsec testbed issuing CA B", Some(&root), now)?;
        let os_store_root = ca_cert("mxsec testbed OS-store root CA", None, now)?;
        Ok(Self {
            now,
            root,
            intermediate_a,
            intermediate_b,
            os_store_root,
        })
    }

    /// The `now` that validity windows are relative to.
    pub fn now(&self) -> SystemTime {
        self.now
    }

    /// The root CA.
    pub fn root(&self) -> &CaCert {
        &self.root
    }

    /// The root CA certificate, PEM: the file to pass as `--ca-file`.
    pub fn root_pem(&self) -> String {
        self.root.pem()
    }

    /// The second root: what the stand-in operating system store holds and the testbed's
    /// `--ca-file` does not (PKIX-01).
    pub fn os_store_root(&self) -> &CaCert {
        &self.os_store_root
    }

    /// One of the issuing intermediates.
    pub fn intermediate(&self, which: Intermediate) -> &CaCert {
        match which {
            Intermediate::A => &self.intermediate_a,
            Intermediate::B => &self.intermediate_b,
        }
    }

    /// Issues a leaf certificate.
    ///
    /// # Errors
    ///
    /// [`PkiError::InvalidName`] for a name that is not an IA5 string, [`PkiError::EmptyWindow`]
    /// for an explicit window that ends before it starts, [`PkiError::Generation`] otherwise.
    pub fn issue(&self, spec: &LeafSpec) -> Result<Leaf, PkiError> {
        let key = match &spec.key {
            Some(key) => key.clone(),
            None => LeafKey::generate(spec.algorithm)?,
        };
        let mut params = leaf_params(spec, self.now)?;
        let (cert, intermediate, root) = match spec.issued_by {
            IssuedBy::SelfSigned => {
                params.use_authority_key_identifier_extension = false;
                (params.self_signed(&*key.pair)?, None, None)
            }
            IssuedBy::Root => (
                params.signed_by(&*key.pair, &self.root.issuer)?,
                None,
                Some(self.root.der.clone()),
            ),
            IssuedBy::OsStoreRoot => (
                params.signed_by(&*key.pair, &self.os_store_root.issuer)?,
                None,
                Some(self.os_store_root.der.clone()),
            ),
            IssuedBy::IntermediateA | IssuedBy::IntermediateB => {
                let ca = if spec.issued_by == IssuedBy::IntermediateA {
                    &self.intermediate_a
                } else {
                    &self.intermediate_b
                };
                (
                    params.signed_by(&*key.pair, &ca.issuer)?,
                    Some(ca.der.clone()),
                    Some(self.root.der.clone()),
                )
            }
        };
        Ok(Leaf {
            spec: LeafSpec {
                key: Some(key.clone()),
                ..spec.clone()
            },
            key,
            cert: cert.der().clone(),
            intermediate,
            root,
        })
    }

    /// `count` decoys of intermediate A: CA certificates with its subject name, each with a
    /// key of its own, signed by the root. Put in front of the real intermediate, each one is
    /// a candidate issuer of the leaf that a path builder must try and reject: a chain padded
    /// with them is how a hostile server makes verification expensive.
    ///
    /// # Errors
    ///
    /// [`PkiError`] if key generation or signing fails.
    pub fn decoy_intermediates(
        &self,
        count: usize,
    ) -> Result<Vec<CertificateDer<'static>>, PkiError> {
        (0..count)
            .map(|_| {
                ca_cert("mxsec testbed issuing CA A", Some(&self.root), self.now).map(|ca| ca.der)
            })
            .collect()
    }

    /// Re-issues a leaf with the same names, issuer and key, a new serial number and the given
    /// validity: a renewal that keeps its key, so `3 1 1` still matches and `3 0 1` does not
    /// (SCENARIOS.md D-01).
    ///
    /// # Errors
    ///
    /// As [`TestPki::issue`].
    pub fn reissue(&self, leaf: &Leaf, validity: Validity) -> Result<Leaf, PkiError> {
        self.issue(&leaf.spec.clone().validity(validity))
    }

    /// Re-issues a leaf with the same names and issuer but a new key of the same algorithm:
    /// the renewal that breaks `3 1 1` (SCENARIOS.md D-01).
    ///
    /// # Errors
    ///
    /// As [`TestPki::issue`].
    pub fn reissue_with_new_key(&self, leaf: &Leaf, validity: Validity) -> Result<Leaf, PkiError> {
        let key = LeafKey::generate(leaf.key.algorithm)?;
        self.issue(&leaf.spec.clone().validity(validity).key(key))
    }
}

/// Concatenates certificates as PEM blocks, in order.
pub fn pem_certificates<'a, I>(certs: I) -> String
where
    I: IntoIterator<Item = &'a CertificateDer<'static>>,
{
    let blocks: Vec<pem::Pem> = certs
        .into_iter()
        .map(|cert| pem::Pem::new("CERTIFICATE", cert.to_vec()))
        .collect();
    pem::encode_many_config(
        &blocks,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

fn ca_cert(name: &str, parent: Option<&CaCert>, now: SystemTime) -> Result<CaCert, PkiError> {
    let key = KeyPair::generate_for(KeyAlgorithm::EcdsaP256.rcgen())?;
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(name);
    params.is_ca = IsCa::Ca(match parent {
        None => BasicConstraints::Unconstrained,
        Some(_) => BasicConstraints::Constrained(0),
    });
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = OffsetDateTime::from(now - CA_LIFETIME);
    params.not_after = OffsetDateTime::from(now + CA_LIFETIME);
    params.serial_number = Some(random_serial()?);
    params.use_authority_key_identifier_extension = parent.is_some();
    let cert = match parent {
        None => params.self_signed(&key)?,
        Some(parent) => params.signed_by(&key, &parent.issuer)?,
    };
    let spki = key.subject_public_key_info();
    Ok(CaCert {
        issuer: Issuer::new(params, key),
        der: cert.der().clone(),
        spki,
    })
}

fn leaf_params(spec: &LeafSpec, now: SystemTime) -> Result<CertificateParams, PkiError> {
    let (not_before, not_after) = spec.validity.window(now)?;
    let mut params = CertificateParams::default();
    params.subject_alt_names = spec
        .names
        .iter()
        .map(|name| {
            name.clone()
                .try_into()
                .map(SanType::DnsName)
                .map_err(|source| PkiError::InvalidName {
                    name: name.clone(),
                    source,
                })
        })
        .collect::<Result<_, _>>()?;
    params.distinguished_name =
        distinguished_name(spec.names.first().map_or("mxsec testbed leaf", |n| n));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![match spec.purpose {
        LeafPurpose::Server => ExtendedKeyUsagePurpose::ServerAuth,
        LeafPurpose::Client => ExtendedKeyUsagePurpose::ClientAuth,
    }];
    params.not_before = OffsetDateTime::from(not_before);
    params.not_after = OffsetDateTime::from(not_after);
    params.serial_number = Some(random_serial()?);
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn distinguished_name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "mxsec testbed");
    dn.push(DnType::CommonName, common_name);
    dn
}

fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PkiError::Random)?;
    // A positive INTEGER: clear the sign bit, and keep the first byte non-zero.
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::pem::PemObject;

    use super::*;

    fn pki() -> TestPki {
        TestPki::generate(SystemTime::now()).expect("testbed PKI")
    }

    #[test]
    fn pki_chain_shapes() {
        let pki = pki();
        let leaf = pki.issue(&LeafSpec::new(["mx.example.test"])).unwrap();
        let full = leaf.served_chain(ServedChain::LeafAndIntermediate);
        assert_eq!(full.len(), 2);
        assert_eq!(&full[1], pki.intermediate(Intermediate::A).der());
        assert_eq!(leaf.served_chain(ServedChain::LeafOnly).len(), 1);
        let with_root = leaf.served_chain(ServedChain::WithRoot);
        assert_eq!(with_root.len(), 3);
        assert_eq!(&with_root[2], pki.root().der());

        let b = pki
            .issue(&LeafSpec::new(["mx.example.test"]).issued_by(IssuedBy::IntermediateB))
            .unwrap();
        assert_eq!(
            &b.served_chain(ServedChain::LeafAndIntermediate)[1],
            pki.intermediate(Intermediate::B).der()
        );
        let own = pki
            .issue(&LeafSpec::new(["mx.example.test"]).issued_by(IssuedBy::SelfSigned))
            .unwrap();
        assert_eq!(own.served_chain(ServedChain::WithRoot).len(), 1);
    }

    #[test]
    fn pki_decoys_carry_the_intermediate_name_with_other_keys() {
        let pki = pki();
        let decoys = pki.decoy_intermediates(3).unwrap();
        assert_eq!(decoys.len(), 3);
        let real = pki.intermediate(Intermediate::A);
        let contains = |der: &[u8], part: &[u8]| der.windows(part.len()).any(|w| w == part);
        for (i, decoy) in decoys.iter().enumerate() {
            assert_ne!(decoy, real.der());
            assert!(contains(decoy, b"mxsec testbed issuing CA A"));
            assert!(!contains(decoy, real.spki_der()));
            assert!(decoys[i + 1..].iter().all(|other| other != decoy));
        }
    }

    #[test]
    fn dane_auth_01_reissue_keeps_or_changes_the_key() {
        let pki = pki();
        let leaf = pki.issue(&LeafSpec::new(["mx.example.test"])).unwrap();
        let same = pki.reissue(&leaf, Validity::Valid).unwrap();
        assert_eq!(same.key().spki_der(), leaf.key().spki_der());
        assert_ne!(same.cert_der(), leaf.cert_der());
        assert_eq!(same.names(), leaf.names());
        let new = pki.reissue_with_new_key(&leaf, Validity::Valid).unwrap();
        assert_ne!(new.key().spki_der(), leaf.key().spki_der());
        assert_eq!(new.key().algorithm(), leaf.key().algorithm());
    }

    #[test]
    fn pki_pem_round_trips() {
        let pki = pki();
        let leaf = pki.issue(&LeafSpec::new(["*.example.test"])).unwrap();
        let pem = leaf.chain_pem(ServedChain::WithRoot);
        let parsed: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(parsed, leaf.served_chain(ServedChain::WithRoot));
        let key = PrivateKeyDer::from_pem_slice(leaf.key().private_key_pem().as_bytes()).unwrap();
        assert_eq!(key, leaf.private_key_der());
    }

    #[test]
    fn pki_algorithms_and_windows() {
        let pki = pki();
        for algorithm in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::Ed25519,
            KeyAlgorithm::Rsa2048,
        ] {
            let leaf = pki
                .issue(&LeafSpec::new(["mx.example.test"]).algorithm(algorithm))
                .unwrap();
            assert_eq!(leaf.key().algorithm(), algorithm);
        }
        let now = pki.now();
        let err = pki
            .issue(
                &LeafSpec::new(["mx.example.test"]).validity(Validity::Between {
                    not_before: now,
                    not_after: now - DAY,
                }),
            )
            .unwrap_err();
        assert!(matches!(err, PkiError::EmptyWindow { .. }));
        assert!(matches!(
            pki.issue(&LeafSpec::new(["caf\u{e9}.example.test"])),
            Err(PkiError::InvalidName { .. })
        ));
    }
}
