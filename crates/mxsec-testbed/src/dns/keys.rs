//! Zone signing keys, RRSIG creation, and the exported trust anchor.
//!
//! Every signed zone has one key with flags 257, used as a combined signing key (CSK): it
//! signs the DNSKEY RRset and every other RRset. A validator then needs only the DS in the
//! parent, or the key itself as trust anchor (RUST-STACK.md §1.5). The key is ECDSA P-256
//! (algorithm 13, RFC 6605) unless the zone asks for one of the weak RSA keys the checker must
//! report (CONFORMANCE.md DNSSEC-ALG-01/02, [`KeyAlgorithm`]).
//!
//! ring signs with ECDSA but refuses RSA keys shorter than 2048 bits and never signs RSA with
//! SHA-1, so RSA zone keys are made and used with the `rsa` crate: ring computes the SHA-1 or
//! SHA-256 digest of the data to be signed, and `rsa` applies PKCS#1 v1.5 with the matching
//! DigestInfo prefix (RFC 3110 §3 for RSA/SHA-1, RFC 5702 §3 for RSA/SHA-256).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::dnssec::crypto::EcdsaSigningKey;
use hickory_proto::dnssec::rdata::sig::SigInput;
use hickory_proto::dnssec::rdata::{DNSKEY, DS, RRSIG};
use hickory_proto::dnssec::{Algorithm, DigestType, PublicKeyBuf, SigningKey, TBS};
use hickory_proto::rr::{DNSClass, Name, Record, SerialNumber};
use ring::digest;
use rsa::traits::PublicKeyParts;

use super::zone::{DsDigest, KeyAlgorithm};
use super::ZoneError;

/// The DigestInfo prefix of a PKCS#1 v1.5 signature over a SHA-1 digest (RFC 3110 §3).
const SHA1_PREFIX: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];
/// The DigestInfo prefix of a PKCS#1 v1.5 signature over a SHA-256 digest (RFC 5702 §3).
const SHA256_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// When an RRSIG is valid, relative to the moment the zone is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Validity {
    /// From an hour ago (clock skew) to 30 days from now.
    Current,
    /// From 40 days ago to 10 days ago: far enough in the past that no validator's clock-skew
    /// allowance (unbound's `val-sig-skew-max` is one day) still accepts it.
    Expired,
}

/// The private half of a zone key.
enum Signer {
    Ecdsa(EcdsaSigningKey),
    Rsa { key: rsa::PrivateKey, hash: RsaHash },
}

/// The digest an RSA zone key signs with.
#[derive(Clone, Copy)]
enum RsaHash {
    Sha1,
    Sha256,
}

/// The one key of a signed zone.
pub(crate) struct ZoneKey {
    signer: Signer,
    algorithm: KeyAlgorithm,
    dnskey: DNSKEY,
    key_tag: u16,
}

impl ZoneKey {
    /// Generates a new key of the given algorithm.
    pub(crate) fn generate(zone: &Name, algorithm: KeyAlgorithm) -> Result<Self, ZoneError> {
        let fail = |e: &dyn fmt::Display| ZoneError::Signing {
            zone: zone.to_string(),
            detail: e.to_string(),
        };
        let (signer, public) = match algorithm {
            KeyAlgorithm::EcdsaP256Sha256 => {
                let alg = Algorithm::ECDSAP256SHA256;
                let pkcs8 = EcdsaSigningKey::generate_pkcs8(alg).map_err(|e| fail(&e))?;
                let key = EcdsaSigningKey::from_pkcs8(&pkcs8, alg).map_err(|e| fail(&e))?;
                let public = key.to_public_key().map_err(|e| fail(&e))?;
                (Signer::Ecdsa(key), public)
            }
            KeyAlgorithm::RsaSha1 { bits } => {
                rsa_key(bits, RsaHash::Sha1, dnssec_algorithm(algorithm)).map_err(|e| fail(&e))?
            }
            KeyAlgorithm::RsaSha256 { bits } => {
                rsa_key(bits, RsaHash::Sha256, dnssec_algorithm(algorithm)).map_err(|e| fail(&e))?
            }
        };
        let dnskey = DNSKEY::new(true, true, false, public);
        let key_tag = dnskey.calculate_key_tag().map_err(|e| fail(&e))?;
        Ok(Self {
            signer,
            algorithm,
            dnskey,
            key_tag,
        })
    }

    /// The algorithm this key was made for.
    pub(crate) fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The DNSKEY record data (flags 257, protocol 3).
    pub(crate) fn dnskey(&self) -> &DNSKEY {
        &self.dnskey
    }

    /// The DS record data for this key at `zone`, with a SHA-256 digest (RFC 4509) or, for
    /// [`DsDigest::Sha1Only`], a SHA-1 digest (RFC 4034 §5.1.4).
    pub(crate) fn ds(&self, zone: &Name, digest: DsDigest) -> Result<DS, ZoneError> {
        let digest_type = match digest {
            DsDigest::Sha256 => DigestType::SHA256,
            DsDigest::Sha1Only => DigestType::SHA1,
        };
        let value = self
            .dnskey
            .to_digest(zone, digest_type)
            .map_err(|e| ZoneError::Signing {
                zone: zone.to_string(),
                detail: e.to_string(),
            })?;
        Ok(DS::new(
            self.key_tag,
            dnssec_algorithm(self.algorithm),
            digest_type,
            value.as_ref().to_vec(),
        ))
    }

    /// Signs one RRset (all `records` share owner, class and type) for `zone`.
    pub(crate) fn sign(
        &self,
        zone: &Name,
        records: &[Record],
        validity: Validity,
        now: SystemTime,
    ) -> Result<Record, ZoneError> {
        let fail = |detail: String| ZoneError::Signing {
            zone: zone.to_string(),
            detail,
        };
        let first = records
            .first()
            .ok_or_else(|| fail("cannot sign an empty RRset".to_owned()))?;
        let (inception, expiration) = validity.window(now);
        let input = SigInput {
            type_covered: first.record_type(),
            algorithm: dnssec_algorithm(self.algorithm),
            num_labels: first.name.num_labels(),
            original_ttl: first.ttl,
            sig_expiration: SerialNumber::new(expiration),
            sig_inception: SerialNumber::new(inception),
            key_tag: self.key_tag,
            signer_name: zone.clone(),
        };
        let tbs = TBS::from_input(&first.name, DNSClass::IN, &input, records.iter())
            .map_err(|e| fail(e.to_string()))?;
        let signature = match &self.signer {
            Signer::Ecdsa(key) => key.sign(&tbs).map_err(|e| fail(e.to_string()))?,
            Signer::Rsa { key, hash } => rsa_sign(key, *hash, tbs.as_ref()).map_err(fail)?,
        };
        let rrsig = RRSIG::from_sig(input, signature);
        Ok(Record::from_rdata(
            first.name.clone(),
            first.ttl,
            hickory_proto::rr::RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(
                rrsig,
            )),
        ))
    }
}

/// The DNSSEC algorithm number of a zone key.
// RSASHA1 is deprecated in hickory for signing; the testbed signs with it on purpose, so that
// the checker has a zone to report (DNSSEC-ALG-01).
#[allow(deprecated)]
fn dnssec_algorithm(algorithm: KeyAlgorithm) -> Algorithm {
    match algorithm {
        KeyAlgorithm::EcdsaP256Sha256 => Algorithm::ECDSAP256SHA256,
        KeyAlgorithm::RsaSha1 { .. } => Algorithm::RSASHA1,
        KeyAlgorithm::RsaSha256 { .. } => Algorithm::RSASHA256,
    }
}

/// A new RSA key of `bits` bits (exponent 65537) signing with `hash`, and its DNSKEY public
/// key for `algorithm` (RFC 3110 §2).
fn rsa_key(
    bits: usize,
    hash: RsaHash,
    algorithm: Algorithm,
) -> Result<(Signer, PublicKeyBuf), String> {
    let key = rsa::PrivateKey::new(&mut RingRng::default(), bits).map_err(|e| e.to_string())?;
    let exponent = key.e().to_be_bytes_trimmed_vartime();
    let modulus = key.n().as_ref().to_be_bytes_trimmed_vartime();
    let exponent_len = u8::try_from(exponent.len()).map_err(|e| e.to_string())?;
    let mut public = Vec::with_capacity(1 + exponent.len() + modulus.len());
    public.push(exponent_len);
    public.extend_from_slice(&exponent);
    public.extend_from_slice(&modulus);
    Ok((
        Signer::Rsa { key, hash },
        PublicKeyBuf::new(public, algorithm),
    ))
}

/// An RSASSA-PKCS1-v1_5 signature over `data` (RFC 3110 §3, RFC 5702 §3).
fn rsa_sign(key: &rsa::PrivateKey, hash: RsaHash, data: &[u8]) -> Result<Vec<u8>, String> {
    let (algorithm, prefix): (_, &[u8]) = match hash {
        RsaHash::Sha1 => (&digest::SHA1_FOR_LEGACY_USE_ONLY, &SHA1_PREFIX),
        RsaHash::Sha256 => (&digest::SHA256, &SHA256_PREFIX),
    };
    let hashed = digest::digest(algorithm, data);
    let scheme = rsa::Pkcs1v15Sign {
        hash_len: Some(algorithm.output_len()),
        prefix: prefix.into(),
    };
    key.sign(scheme, hashed.as_ref()).map_err(|e| e.to_string())
}

/// The system's random numbers (ring's), as the `rsa` crate's key generation takes them.
struct RingRng(ring::rand::SystemRandom);

impl Default for RingRng {
    fn default() -> Self {
        Self(ring::rand::SystemRandom::new())
    }
}

impl rsa::rand_core::TryRng for RingRng {
    type Error = ring::error::Unspecified;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut bytes = [0; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut bytes = [0; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        ring::rand::SecureRandom::fill(&self.0, dst)
    }
}

impl rsa::rand_core::TryCryptoRng for RingRng {}

impl Validity {
    /// Inception and expiration as RRSIG serial-number seconds.
    fn window(self, now: SystemTime) -> (u32, u32) {
        let now = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        let day = 86_400;
        let (inception, expiration) = match self {
            Self::Current => (now.saturating_sub(3_600), now + 30 * day),
            Self::Expired => (now.saturating_sub(40 * day), now.saturating_sub(10 * day)),
        };
        // RRSIG times are 32-bit serial numbers (RFC 4034 §3.1.5): truncation is the format.
        (inception as u32, expiration as u32)
    }
}

/// Alters a signature so that it no longer verifies (the RRSIG stays well-formed).
pub(crate) fn corrupt(rrsig: Record) -> Record {
    let mut rrsig = rrsig;
    if let hickory_proto::rr::RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(sig)) =
        &rrsig.data
    {
        let mut bytes = sig.sig().to_vec();
        for b in bytes.iter_mut().take(8) {
            *b ^= 0x5a;
        }
        rrsig.data =
            hickory_proto::rr::RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(
                RRSIG::from_sig(sig.input().clone(), bytes),
            ));
    }
    rrsig
}

/// The root zone's key, as a validator's trust anchor.
///
/// Export it as zone-file lines ([`TrustAnchor::dnskey_line`], [`TrustAnchor::ds_line`]) or
/// write both to files for `--trust-anchor` ([`TrustAnchor::write_files`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustAnchor {
    dnskey: String,
    ds: String,
}

impl TrustAnchor {
    pub(crate) fn new(key: &ZoneKey) -> Result<Self, ZoneError> {
        let root = Name::root();
        let ds = key.ds(&root, DsDigest::Sha256)?;
        Ok(Self {
            dnskey: format!(". 3600 IN DNSKEY {}", key.dnskey()),
            ds: format!(". 3600 IN DS {ds}"),
        })
    }

    /// The root DNSKEY as one zone-file line: `. 3600 IN DNSKEY 257 3 13 <base64>`.
    pub fn dnskey_line(&self) -> &str {
        &self.dnskey
    }

    /// The root DS as one zone-file line: `. 3600 IN DS <tag> 13 2 <hex>`.
    pub fn ds_line(&self) -> &str {
        &self.ds
    }

    /// Writes `root-dnskey.key` and `root-ds.key` (one line each) into `dir`.
    ///
    /// # Errors
    ///
    /// Any I/O error from creating the files.
    pub fn write_files(&self, dir: &Path) -> io::Result<TrustAnchorFiles> {
        let files = TrustAnchorFiles {
            dnskey: dir.join("root-dnskey.key"),
            ds: dir.join("root-ds.key"),
        };
        std::fs::write(&files.dnskey, format!("{}\n", self.dnskey))?;
        std::fs::write(&files.ds, format!("{}\n", self.ds))?;
        Ok(files)
    }
}

/// The files written by [`TrustAnchor::write_files`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustAnchorFiles {
    /// The file holding the DNSKEY line.
    pub dnskey: PathBuf,
    /// The file holding the DS line.
    pub ds: PathBuf,
}
