//! Rustls's WebPKI verifier, unchanged, that also keeps the chain the policy host presented.
//!
//! The fetch trusts exactly what [`WebPkiServerVerifier`] decides (STS-FETCH-01); keeping the
//! chain lets the checker validate it against a second root store afterwards (PKIX-01), even
//! when the handshake failed because the configured roots rejected it. A configuration
//! without any root (rustls builds no WebPKI verifier for it) trusts no chain.

use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

/// Where a [`RecordingVerifier`] leaves the chain; cloned handles share it.
#[derive(Clone, Debug, Default)]
pub(super) struct ChainSlot(Arc<Mutex<Vec<CertificateDer<'static>>>>);

impl ChainSlot {
    /// The chain presented, leaf first; empty if no certificate was seen.
    pub(super) fn take(&self) -> Vec<CertificateDer<'static>> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn set(&self, chain: Vec<CertificateDer<'static>>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = chain;
    }
}

/// Delegates the certificate decision to the WebPKI verifier (none: no root, nothing trusted)
/// and records the presented chain.
#[derive(Debug)]
pub(super) struct RecordingVerifier {
    inner: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    slot: ChainSlot,
}

impl RecordingVerifier {
    /// Verifies certificates with `inner`, handshake signatures with `provider`'s
    /// algorithms, and records into `slot`.
    pub(super) fn new(
        inner: Option<Arc<WebPkiServerVerifier>>,
        provider: Arc<CryptoProvider>,
        slot: ChainSlot,
    ) -> Self {
        Self {
            inner,
            provider,
            slot,
        }
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        self.slot.set(
            std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect(),
        );
        match &self.inner {
            Some(inner) => {
                inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(Error::InvalidCertificate(CertificateError::UnknownIssuer)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
