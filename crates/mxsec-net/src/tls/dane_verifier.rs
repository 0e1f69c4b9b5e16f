//! The rustls certificate verifier for SMTP: DANE or PKIX *inside* the handshake, with real
//! handshake-signature checks.
//!
//! rustls calls [`MxCertVerifier::verify_server_cert`] with the full presented chain; the
//! verifier runs the pure DANE matching of [`mxsec_proto::dane::matching`] and/or the PKIX
//! checks of [`super::pkix`], records what it saw in an [`ObservationSlot`] (rustls reduces a
//! custom failure to a coarse error, and TLS-RPT needs the precise result type), and then
//! accepts or aborts the handshake according to its [`Verification`] mode.
//!
//! The handshake signatures (the server's proof that it holds the key of the certificate it
//! presented) are always verified with rustls's own `verify_tls12_signature` /
//! `verify_tls13_signature` (RUST-STACK.md §0). A verifier that accepted any signature would
//! let a man in the middle replay the real server's public chain and pass DANE-EE, which is
//! exactly the attack DANE exists to stop.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use mxsec_proto::dane::matching::{self, DaneEvaluation, ReferenceNames};
use mxsec_proto::dane::usable::UsableSet;
use mxsec_proto::tlsrpt::result_type::ResultType;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::pkix::{PkixCheck, PkixReport};

/// A usable TLSA set and the names a DANE-TA leaf must carry (RFC 7672 §3).
#[derive(Clone, Debug)]
pub struct DaneCheck {
    /// The usable records of the secure TLSA RRset (after digest agility).
    pub tlsa: UsableSet,
    /// The reference identifiers, TLSA base domain first (also the SNI name, DANE-AUTH-04).
    pub names: ReferenceNames,
}

/// What the verifier enforces.
#[derive(Clone, Debug)]
pub enum Verification {
    /// DANE (RFC 7672 §3; DANE-DISC-04, DANE-AUTH-06): the handshake fails unless a usable
    /// TLSA record authenticates the chain.
    Dane(DaneCheck),
    /// MTA-STS (RFC 8461 §4.2; STS-VAL-02): the handshake fails unless the chain is
    /// WebPKI-valid for the MX host.
    Pkix(PkixCheck),
    /// The checker's mode: complete the handshake with any chain (the handshake signatures are
    /// still verified), and record the chain with the verdict of every check given, so that
    /// one connection answers every question. With no checks this is unauthenticated TLS
    /// (opportunistic, or the mandatory unauthenticated TLS of DANE-DISC-05).
    Observe {
        /// Evaluate every usable TLSA record, if any.
        dane: Option<DaneCheck>,
        /// Answer the PKIX questions, if wanted.
        pkix: Option<PkixCheck>,
    },
}

/// What the verifier saw and concluded, for one handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateObservation {
    /// The chain exactly as presented, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// Every usable TLSA record judged against the chain, if DANE was checked.
    pub dane: Option<DaneEvaluation>,
    /// The PKIX answers, if PKIX was checked.
    pub pkix: Option<PkixReport>,
    /// The time rustls gave for the verification.
    pub now: UnixTime,
}

impl CertificateObservation {
    /// Why the enforced check rejected this chain, as an RFC 8460 result type; `None` if the
    /// enforced check passed or nothing was enforced.
    pub fn rejection(&self, verification: &Verification) -> Option<ResultType> {
        match verification {
            Verification::Dane(_) => self
                .dane
                .as_ref()
                .and_then(|d| d.verdict().err())
                .map(|f| f.result_type()),
            Verification::Pkix(_) => self
                .pkix
                .as_ref()
                .and_then(|p| p.verdict().err())
                .map(|f| f.result_type()),
            Verification::Observe { .. } => None,
        }
    }
}

/// Where the verifier leaves its [`CertificateObservation`]; cloned handles share it.
#[derive(Clone, Debug, Default)]
pub struct ObservationSlot(Arc<Mutex<Option<CertificateObservation>>>);

impl ObservationSlot {
    /// The observation of the handshake, once the server's certificate was seen.
    pub fn get(&self) -> Option<CertificateObservation> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, observation: CertificateObservation) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(observation);
    }
}

/// The rustls [`ServerCertVerifier`] for MX hosts. See the module documentation.
pub struct MxCertVerifier {
    verification: Verification,
    provider: Arc<CryptoProvider>,
    slot: ObservationSlot,
}

impl MxCertVerifier {
    /// A verifier that enforces or observes per `verification`, verifies handshake signatures
    /// with `provider`'s algorithms, and records into `slot`.
    pub fn new(
        verification: Verification,
        provider: Arc<CryptoProvider>,
        slot: ObservationSlot,
    ) -> Self {
        Self {
            verification,
            provider,
            slot,
        }
    }

    fn observe(
        &self,
        chain: Vec<CertificateDer<'static>>,
        now: UnixTime,
    ) -> CertificateObservation {
        let (dane, pkix) = match &self.verification {
            Verification::Dane(d) => (Some(d), None),
            Verification::Pkix(p) => (None, Some(p)),
            Verification::Observe { dane, pkix } => (dane.as_ref(), pkix.as_ref()),
        };
        CertificateObservation {
            dane: dane.map(|d| matching::evaluate(&chain, &d.tlsa, &d.names, now)),
            pkix: pkix.map(|p| p.verify(&chain, now)),
            chain,
            now,
        }
    }
}

impl fmt::Debug for MxCertVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MxCertVerifier")
            .field("verification", &self.verification)
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for MxCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        // The names to check come from the verification itself (TLSA base domain and friends,
        // or the MX host), never from whatever SNI the caller happened to send.
        let chain: Vec<CertificateDer<'static>> = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        let observation = self.observe(chain, now);
        let rejection = observation.rejection(&self.verification);
        self.slot.set(observation);
        match rejection {
            None => Ok(ServerCertVerified::assertion()),
            Some(result_type) => Err(Error::InvalidCertificate(certificate_error(result_type))),
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

/// The TLS alert-level error for a rejection; the precise outcome is in the observation.
fn certificate_error(result_type: ResultType) -> CertificateError {
    match result_type {
        ResultType::CertificateExpired => CertificateError::Expired,
        ResultType::CertificateHostMismatch => CertificateError::NotValidForName,
        ResultType::CertificateNotTrusted => CertificateError::UnknownIssuer,
        _ => CertificateError::ApplicationVerificationFailure,
    }
}
