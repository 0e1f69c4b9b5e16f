//! The WebPKI trust configuration: which root CAs authenticate MTA-STS policy hosts and MX
//! certificates.
//!
//! MTA-STS requires certificates that chain to a trusted root (RFC 8461 §3.3, §4.2;
//! STS-FETCH-01, STS-VAL-02). By default that is the Mozilla root program as shipped by
//! `webpki-roots`. Private deployments and tests add their own CA certificates from PEM files
//! (`--ca-file`); a configuration may also leave the public roots out, for a fully private mail
//! system. Trust can be extended or replaced, never switched off: there is no "accept any
//! certificate" here.
//!
//! A second root store, the operating system's, can be loaded beside it ([`OsStore`]), so
//! that the checker can verify every chain against both and say when only one accepts it
//! (PKIX-01; RFC 8461 §4.2, RFC 5280 §6): senders on a distribution whose bundle lags or
//! leads Mozilla's see a different answer. The `--ca-file` CAs belong to both stores. The
//! OS store only ever informs that comparison; the verdicts use the configured roots above.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, TrustAnchor};

/// An error while loading a CA file. Each variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The file could not be read.
    #[error("cannot read CA file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The file is not valid PEM.
    #[error("CA file {path} is not valid PEM: {source}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What the PEM parser objected to.
        source: rustls_pki_types::pem::Error,
    },
    /// The file holds no `CERTIFICATE` block.
    #[error("CA file {path} holds no \"-----BEGIN CERTIFICATE-----\" block")]
    NoCertificates {
        /// The file.
        path: PathBuf,
    },
    /// A certificate in the file cannot serve as a trust anchor.
    #[error("certificate #{index} in CA file {path} is not a usable trust anchor: {source}")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// The position of the certificate in the file, counting from 1.
        index: usize,
        /// What the certificate parser objected to.
        source: webpki::Error,
    },
}

/// Where the operating system's root store is read from.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum OsStore {
    /// The platform's store as `rustls-native-certs` finds it (on Linux the bundle that
    /// `openssl-probe` locates, or `SSL_CERT_FILE` / `SSL_CERT_DIR`).
    System,
    /// A PEM bundle, or a directory whose files are PEM certificates (such as
    /// `/etc/ssl/certs`): a store of one's choosing, and the tests' stand-in for the system's.
    Path(PathBuf),
}

/// The set of root CAs that WebPKI validation trusts.
///
/// Cheap to clone: the anchors are shared.
#[derive(Clone, Debug)]
pub struct TrustConfig {
    anchors: Arc<Vec<TrustAnchor<'static>>>,
    includes_webpki_roots: bool,
    ca_files: Vec<PathBuf>,
    /// The anchors of the CA files alone, which also belong to the OS store.
    extra: Arc<Vec<TrustAnchor<'static>>>,
    /// The operating system's roots, without the CA files, if loaded.
    os_roots: Option<Arc<Vec<TrustAnchor<'static>>>>,
}

impl Default for TrustConfig {
    fn default() -> Self {
        Self::webpki_roots()
    }
}

impl TrustConfig {
    /// The Mozilla root program (`webpki-roots`), the default for public mail.
    pub fn webpki_roots() -> Self {
        Self {
            anchors: Arc::new(webpki_roots::TLS_SERVER_ROOTS.to_vec()),
            includes_webpki_roots: true,
            ca_files: Vec::new(),
            extra: Arc::new(Vec::new()),
            os_roots: None,
        }
    }

    /// No root at all; add CAs with [`TrustConfig::add_ca_file`] or
    /// [`TrustConfig::add_ca_pem`]. For private deployments that must not trust public CAs.
    pub fn empty() -> Self {
        Self {
            anchors: Arc::new(Vec::new()),
            includes_webpki_roots: false,
            ca_files: Vec::new(),
            extra: Arc::new(Vec::new()),
            os_roots: None,
        }
    }

    /// Adds every certificate of a PEM file (`--ca-file`) as a trust anchor.
    ///
    /// # Errors
    ///
    /// [`TrustError`] naming the file if it cannot be read, is not PEM, holds no certificate or
    /// holds a certificate that cannot be parsed.
    pub fn add_ca_file(self, path: &Path) -> Result<Self, TrustError> {
        let pem = std::fs::read(path).map_err(|source| TrustError::Read {
            path: path.to_owned(),
            source,
        })?;
        self.add_ca_pem(path, &pem)
    }

    /// Adds every certificate of PEM text as a trust anchor; `source` names it in errors.
    ///
    /// # Errors
    ///
    /// As [`TrustConfig::add_ca_file`], except reading.
    pub fn add_ca_pem(mut self, source: &Path, pem: &[u8]) -> Result<Self, TrustError> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| TrustError::Pem {
                path: source.to_owned(),
                source: err,
            })?;
        if certs.is_empty() {
            return Err(TrustError::NoCertificates {
                path: source.to_owned(),
            });
        }
        let mut anchors = Vec::with_capacity(certs.len());
        for (i, cert) in certs.iter().enumerate() {
            let anchor =
                webpki::anchor_from_trusted_cert(cert).map_err(|err| TrustError::Certificate {
                    path: source.to_owned(),
                    index: i + 1,
                    source: err,
                })?;
            anchors.push(anchor.to_owned());
        }
        Arc::make_mut(&mut self.anchors).extend(anchors.iter().cloned());
        Arc::make_mut(&mut self.extra).extend(anchors);
        self.ca_files.push(source.to_owned());
        Ok(self)
    }

    /// Loads the operating system's root store, to compare chains against (PKIX-01).
    ///
    /// Certificates of the store that cannot serve as trust anchors are skipped: a system
    /// store holds what its distribution ships, and one odd certificate must not hide the
    /// rest. [`OsStore::System`] on a machine without a store leaves none loaded (there is
    /// nothing to compare with); a [`OsStore::Path`] that holds no usable root is an error.
    ///
    /// # Errors
    ///
    /// For [`OsStore::Path`], [`TrustError::Read`] when the file or directory cannot be read,
    /// [`TrustError::NoCertificates`] when it holds no usable root.
    pub fn with_os_store(mut self, store: &OsStore) -> Result<Self, TrustError> {
        let anchors = match store {
            OsStore::System => usable_anchors(rustls_native_certs::load_native_certs().certs),
            OsStore::Path(path) => {
                let anchors = usable_anchors(read_store(path)?);
                if anchors.is_empty() {
                    return Err(TrustError::NoCertificates { path: path.clone() });
                }
                anchors
            }
        };
        self.os_roots = (!anchors.is_empty()).then(|| Arc::new(anchors));
        Ok(self)
    }

    /// The operating system's store as a sender using it trusts it: its roots plus the CA
    /// files. `None` when no OS store is loaded.
    pub fn os_store_anchors(&self) -> Option<Vec<TrustAnchor<'static>>> {
        self.os_roots
            .as_ref()
            .map(|roots| roots.iter().chain(self.extra.iter()).cloned().collect())
    }

    /// The trust anchors, for webpki path validation.
    pub fn trust_anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }

    /// The trust anchors as a rustls root store, for a WebPKI `ClientConfig`.
    pub fn root_cert_store(&self) -> RootCertStore {
        RootCertStore {
            roots: self.anchors.to_vec(),
        }
    }

    /// Whether the Mozilla root program is part of this configuration.
    pub fn includes_webpki_roots(&self) -> bool {
        self.includes_webpki_roots
    }

    /// The CA files (or PEM sources) added, in order.
    pub fn ca_files(&self) -> &[PathBuf] {
        &self.ca_files
    }
}

/// The certificates of a PEM bundle, or of every PEM file of a directory (other files, such
/// as the hash links' targets in another format, are skipped).
fn read_store(path: &Path) -> Result<Vec<CertificateDer<'static>>, TrustError> {
    let read_error = |source| TrustError::Read {
        path: path.to_owned(),
        source,
    };
    if !path.is_dir() {
        let pem = std::fs::read(path).map_err(read_error)?;
        return Ok(pem_certificates(&pem));
    }
    let mut files = std::fs::read_dir(path)
        .map_err(read_error)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect::<Vec<_>>();
    files.sort();
    Ok(files
        .iter()
        .filter_map(|file| std::fs::read(file).ok())
        .flat_map(|pem| pem_certificates(&pem))
        .collect())
}

/// The certificates of PEM text; nothing when it is not PEM.
fn pem_certificates(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_default()
}

/// The certificates that parse as trust anchors, each once.
fn usable_anchors(certs: Vec<CertificateDer<'static>>) -> Vec<TrustAnchor<'static>> {
    let mut anchors: Vec<TrustAnchor<'static>> = Vec::with_capacity(certs.len());
    for cert in &certs {
        if let Ok(anchor) = webpki::anchor_from_trusted_cert(cert) {
            let anchor = anchor.to_owned();
            if !anchors.contains(&anchor) {
                anchors.push(anchor);
            }
        }
    }
    anchors
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use mxsec_testbed::pki::TestPki;

    use super::*;

    #[test]
    fn sts_fetch_01_default_trusts_the_webpki_roots() {
        let trust = TrustConfig::default();
        assert!(trust.includes_webpki_roots());
        assert_eq!(
            trust.trust_anchors().len(),
            webpki_roots::TLS_SERVER_ROOTS.len()
        );
        assert_eq!(
            trust.root_cert_store().len(),
            webpki_roots::TLS_SERVER_ROOTS.len()
        );
    }

    #[test]
    fn sts_fetch_01_ca_file_adds_anchors() {
        let pki = TestPki::generate(SystemTime::now()).unwrap();
        let dir = std::env::temp_dir().join(format!("mxsec-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ca.pem");
        std::fs::write(&path, pki.root_pem()).unwrap();

        let trust = TrustConfig::webpki_roots().add_ca_file(&path).unwrap();
        assert_eq!(
            trust.trust_anchors().len(),
            webpki_roots::TLS_SERVER_ROOTS.len() + 1
        );
        assert_eq!(trust.ca_files(), std::slice::from_ref(&path));

        let private = TrustConfig::empty().add_ca_file(&path).unwrap();
        assert_eq!(private.trust_anchors().len(), 1);
        assert!(!private.includes_webpki_roots());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sts_fetch_01_ca_file_errors_name_the_file() {
        let missing = Path::new("/nonexistent/mxsec/ca.pem");
        let err = TrustConfig::empty().add_ca_file(missing).unwrap_err();
        assert!(matches!(err, TrustError::Read { .. }));
        assert!(err.to_string().contains("/nonexistent/mxsec/ca.pem"));

        let name = Path::new("roots.pem");
        let err = TrustConfig::empty()
            .add_ca_pem(name, b"no pem here\n")
            .unwrap_err();
        assert!(matches!(err, TrustError::NoCertificates { .. }));
        assert!(err.to_string().contains("roots.pem"));

        let garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = TrustConfig::empty().add_ca_pem(name, garbage).unwrap_err();
        assert!(
            matches!(err, TrustError::Certificate { index: 1, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("roots.pem"));

        let broken = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let err = TrustConfig::empty().add_ca_pem(name, broken).unwrap_err();
        assert!(matches!(err, TrustError::Pem { .. }), "{err:?}");
    }

    #[test]
    fn pkix_01_os_store_from_a_bundle_or_a_directory_adds_the_ca_files() {
        let ca = TestPki::generate(SystemTime::now()).unwrap();
        let os = TestPki::generate(SystemTime::now()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.pem");
        std::fs::write(&bundle, format!("{}{}", os.root_pem(), os.root_pem())).unwrap();
        let certs = dir.path().join("certs");
        std::fs::create_dir(&certs).unwrap();
        std::fs::write(certs.join("os.pem"), os.root_pem()).unwrap();
        std::fs::write(certs.join("README"), "not a certificate\n").unwrap();

        let base = TrustConfig::empty()
            .add_ca_pem(Path::new("ca.pem"), ca.root_pem().as_bytes())
            .unwrap();
        assert!(base.os_store_anchors().is_none());
        let os_anchor = webpki::anchor_from_trusted_cert(os.root().der())
            .unwrap()
            .to_owned();
        let ca_anchor = webpki::anchor_from_trusted_cert(ca.root().der())
            .unwrap()
            .to_owned();
        for path in [&bundle, &certs] {
            let trust = base
                .clone()
                .with_os_store(&OsStore::Path(path.clone()))
                .unwrap();
            // The duplicate in the bundle counts once; the CA file belongs to both stores.
            assert_eq!(
                trust.os_store_anchors().unwrap(),
                [os_anchor.clone(), ca_anchor.clone()]
            );
            // The configured roots are untouched.
            assert_eq!(trust.trust_anchors(), std::slice::from_ref(&ca_anchor));
        }
    }

    #[test]
    fn pkix_01_os_store_path_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = TrustConfig::empty()
            .with_os_store(&OsStore::Path(missing))
            .unwrap_err();
        assert!(matches!(err, TrustError::Read { .. }), "{err:?}");
        assert!(err.to_string().contains("missing.pem"));

        let err = TrustConfig::empty()
            .with_os_store(&OsStore::Path(dir.path().to_owned()))
            .unwrap_err();
        assert!(matches!(err, TrustError::NoCertificates { .. }), "{err:?}");
    }
}
