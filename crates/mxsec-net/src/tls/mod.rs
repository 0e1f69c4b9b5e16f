//! TLS for SMTP: rustls client configurations that authenticate an MX host by DANE or PKIX
//! inside the handshake, or observe everything for the checker.
//!
//! - [`dane_verifier`]: the rustls verifier ([`MxCertVerifier`]), its modes ([`Verification`])
//!   and what it records ([`CertificateObservation`]).
//! - [`files`]: PEM credentials and TLSA record files, read bounded (`mxsec tlsa`).
//! - [`pkix`]: WebPKI verification for MTA-STS MX hosts ([`PkixCheck`], [`PkixReport`]).
//!
//! Every configuration uses the ring provider, TLS 1.2 or 1.3 only (STS-VAL-04,
//! DANE-AUTH-05), and no session resumption: a resumed session would skip certificate
//! verification, and every probe must see and judge the chain.

pub mod dane_verifier;
pub mod files;
pub mod pkix;

use std::sync::Arc;

use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::ClientConfig;

pub use dane_verifier::{
    CertificateObservation, DaneCheck, MxCertVerifier, ObservationSlot, Verification,
};
pub use pkix::{PkixCheck, PkixFailure, PkixReport};

/// The one crypto provider of mxsec: ring.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// rustls rejected the protocol versions for the provider.
    #[error("cannot build a TLS client configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A client configuration for one connection to an MX host, and the slot where its verifier
/// records what it saw.
///
/// Build one per connection: the verifier carries that connection's TLSA records and names.
///
/// # Errors
///
/// [`TlsConfigError`] if rustls rejects the configuration (it does not with ring).
pub fn client_config(
    verification: Verification,
) -> Result<(Arc<ClientConfig>, ObservationSlot), TlsConfigError> {
    let provider = crypto_provider();
    let slot = ObservationSlot::default();
    let verifier = MxCertVerifier::new(verification, provider.clone(), slot.clone());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.resumption = Resumption::disabled();
    Ok((Arc::new(config), slot))
}
