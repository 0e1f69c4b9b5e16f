//! Zone signing keys, RRSIG creation, and the exported trust anchor.
//!
//! Every signed zone has one ECDSA P-256 key (algorithm 13, RFC 6605) with flags 257, used as
//! a combined signing key (CSK): it signs the DNSKEY RRset and every other RRset. A validator
//! then needs only the DS in the parent, or the key itself as trust anchor (RUST-STACK.md §1.5).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::dnssec::crypto::EcdsaSigningKey;
use hickory_proto::dnssec::rdata::sig::SigInput;
use hickory_proto::dnssec::rdata::{DNSKEY, DS, RRSIG};
use hickory_proto::dnssec::{Algorithm, DigestType, SigningKey, TBS};
use hickory_proto::rr::{DNSClass, Name, Record, SerialNumber};

use super::ZoneError;

const ALGORITHM: Algorithm = Algorithm::ECDSAP256SHA256;

/// When an RRSIG is valid, relative to the moment the zone is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Validity {
    /// From an hour ago (clock skew) to 30 days from now.
    Current,
    /// From 40 days ago to 10 days ago: far enough in the past that no validator's clock-skew
    /// allowance (unbound's `val-sig-skew-max` is one day) still accepts it.
    Expired,
}

/// The one key of a signed zone.
pub(crate) struct ZoneKey {
    key: EcdsaSigningKey,
    dnskey: DNSKEY,
    key_tag: u16,
}

impl ZoneKey {
    /// Generates a new key.
    pub(crate) fn generate(zone: &Name) -> Result<Self, ZoneError> {
        let fail = |e: &dyn fmt::Display| ZoneError::Signing {
            zone: zone.to_string(),
            detail: e.to_string(),
        };
        let pkcs8 = EcdsaSigningKey::generate_pkcs8(ALGORITHM).map_err(|e| fail(&e))?;
        let key = EcdsaSigningKey::from_pkcs8(&pkcs8, ALGORITHM).map_err(|e| fail(&e))?;
        let public = key.to_public_key().map_err(|e| fail(&e))?;
        let dnskey = DNSKEY::new(true, true, false, public);
        let key_tag = dnskey.calculate_key_tag().map_err(|e| fail(&e))?;
        Ok(Self {
            key,
            dnskey,
            key_tag,
        })
    }

    /// The DNSKEY record data (flags 257, protocol 3, algorithm 13).
    pub(crate) fn dnskey(&self) -> &DNSKEY {
        &self.dnskey
    }

    /// The DS record data (SHA-256 digest, RFC 4509) for this key at `zone`.
    pub(crate) fn ds(&self, zone: &Name) -> Result<DS, ZoneError> {
        let digest = self
            .dnskey
            .to_digest(zone, DigestType::SHA256)
            .map_err(|e| ZoneError::Signing {
                zone: zone.to_string(),
                detail: e.to_string(),
            })?;
        Ok(DS::new(
            self.key_tag,
            ALGORITHM,
            DigestType::SHA256,
            digest.as_ref().to_vec(),
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
            algorithm: ALGORITHM,
            num_labels: first.name.num_labels(),
            original_ttl: first.ttl,
            sig_expiration: SerialNumber::new(expiration),
            sig_inception: SerialNumber::new(inception),
            key_tag: self.key_tag,
            signer_name: zone.clone(),
        };
        let tbs = TBS::from_input(&first.name, DNSClass::IN, &input, records.iter())
            .map_err(|e| fail(e.to_string()))?;
        let signature = self.key.sign(&tbs).map_err(|e| fail(e.to_string()))?;
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
        let ds = key.ds(&root)?;
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
