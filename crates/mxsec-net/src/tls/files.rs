//! Files a domain owner hands to `mxsec tlsa`: PEM certificates and keys (the credentials TLSA
//! records are made from, RFC 7671 §5) and TLSA record files. Each file is read bounded by
//! [`MAX_FILE`].

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mxsec_proto::dane::parse::TlsaParseError;
use mxsec_proto::dane::publish::Credentials;
use mxsec_proto::dane::tlsa::TlsaRecord;
use rustls_pki_types::pem::{self, SectionKind};
use rustls_pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};

/// The largest PEM or records file read.
pub const MAX_FILE: u64 = 1024 * 1024;

/// Why a file could not be used. Each variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE`].
    #[error("{}: larger than {MAX_FILE} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// A records file is not UTF-8 text.
    #[error("{}: not UTF-8 text", path.display())]
    NotText {
        /// The file.
        path: PathBuf,
    },
    /// A line of a records file is not a TLSA record.
    #[error("{} line {line}: {source}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        source: TlsaParseError,
    },
    /// A records file holds no record.
    #[error("{}: no TLSA record in the file", path.display())]
    NoRecord {
        /// The file.
        path: PathBuf,
    },
    /// A PEM file is malformed.
    #[error("{}: invalid PEM: {detail}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What the PEM reader said.
        detail: String,
    },
    /// A private key the TLS library cannot load.
    #[error("{}: unsupported private key: {detail}", path.display())]
    PrivateKey {
        /// The file.
        path: PathBuf,
        /// What the TLS library said.
        detail: String,
    },
    /// A PEM file with nothing TLSA records can be made from.
    #[error("{}: no CERTIFICATE, PUBLIC KEY or PRIVATE KEY block", path.display())]
    NoCredentials {
        /// The file.
        path: PathBuf,
    },
}

/// TLSA records from a file: zone-file lines (`owner [ttl] [class] TLSA u s m hex`) or bare
/// `u s m hex` lines; `;` starts a comment.
pub fn read_records(path: &Path) -> Result<Vec<TlsaRecord>, FileError> {
    let text = String::from_utf8(read_bounded(path)?).map_err(|_| FileError::NotText {
        path: path.to_owned(),
    })?;
    let mut records = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split(';').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let rdata = line
            .split_once(" TLSA ")
            .or_else(|| line.split_once("\tTLSA\t"))
            .or_else(|| line.split_once("\tTLSA "))
            .or_else(|| line.split_once(" TLSA\t"))
            .map_or(line, |(_, r)| r);
        let record = rdata.parse().map_err(|source| FileError::Record {
            path: path.to_owned(),
            line: index + 1,
            source,
        })?;
        records.push(record);
    }
    if records.is_empty() {
        return Err(FileError::NoRecord {
            path: path.to_owned(),
        });
    }
    Ok(records)
}

/// What a PEM file holds: certificates, and a public key (given, or computed from a private
/// key).
#[derive(Debug, Default)]
pub struct Pem {
    /// The certificates, in file order.
    pub certs: Vec<CertificateDer<'static>>,
    /// The first public key (SPKI DER) given or computed.
    pub public_key: Option<Vec<u8>>,
}

impl Pem {
    /// Adds what another file holds; the first public key stays.
    pub fn extend(&mut self, other: Self) {
        self.certs.extend(other.certs);
        if self.public_key.is_none() {
            self.public_key = other.public_key;
        }
    }

    /// The credentials records are made from: the chain if there is one, else the key.
    pub fn credentials(self, path: &Path) -> Result<Credentials, FileError> {
        if !self.certs.is_empty() {
            return Ok(Credentials::Chain(self.certs));
        }
        self.public_key
            .map(Credentials::PublicKey)
            .ok_or_else(|| FileError::NoCredentials {
                path: path.to_owned(),
            })
    }
}

/// Reads a PEM file's certificates and keys.
pub fn read_pem(path: &Path) -> Result<Pem, FileError> {
    let bytes = read_bounded(path)?;
    let mut reader: &[u8] = &bytes;
    let mut pem = Pem::default();
    loop {
        let section = pem::from_buf(&mut reader).map_err(|e| FileError::Pem {
            path: path.to_owned(),
            detail: format!("{e:?}"),
        })?;
        let Some((kind, der)) = section else { break };
        let key: Option<PrivateKeyDer<'static>> = match kind {
            SectionKind::Certificate => {
                pem.certs.push(CertificateDer::from(der));
                None
            }
            SectionKind::PublicKey => {
                pem.public_key = pem.public_key.or(Some(der));
                None
            }
            SectionKind::PrivateKey => Some(PrivatePkcs8KeyDer::from(der).into()),
            SectionKind::EcPrivateKey => Some(PrivateSec1KeyDer::from(der).into()),
            SectionKind::RsaPrivateKey => Some(PrivatePkcs1KeyDer::from(der).into()),
            _ => None,
        };
        if let Some(key) = key {
            pem.public_key = pem.public_key.or(public_key_of(key, path)?);
        }
    }
    Ok(pem)
}

/// The public key (SPKI DER) of a private key, as the TLS library computes it.
fn public_key_of(key: PrivateKeyDer<'static>, path: &Path) -> Result<Option<Vec<u8>>, FileError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let signing =
        provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| FileError::PrivateKey {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
    Ok(signing.public_key().map(|spki| spki.as_ref().to_vec()))
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, FileError> {
    let read = |source| FileError::Read {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(read)?
        .take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(read)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_FILE {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DANE-TLSA-03: zone-file and bare lines both read; comments and blank lines skipped; a
    /// bad line is named by its number.
    #[test]
    fn dane_tlsa_03_records_file_lines() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good");
        let hex = "ab".repeat(32);
        std::fs::write(
            &good,
            format!(
                "; comment\n_25._tcp.mx.example. 300 IN TLSA 3 1 1 {hex}\n\n3 1 1 {hex} ; again\n"
            ),
        )
        .unwrap();
        assert_eq!(read_records(&good).unwrap().len(), 2);
        let bad = dir.path().join("bad");
        std::fs::write(&bad, format!("3 1 1 {hex}\n3 1 x zz\n")).unwrap();
        let error = read_records(&bad).unwrap_err().to_string();
        assert!(error.contains("line 2"), "{error}");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "; nothing\n").unwrap();
        assert!(matches!(
            read_records(&empty),
            Err(FileError::NoRecord { .. })
        ));
    }
}
