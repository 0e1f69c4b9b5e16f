//! The report mail (RFC 8460 §5.3, RPT-DEL-02): a `multipart/report; report-type="tlsrpt"`
//! message with a human-readable part and the gzip report as `application/tlsrpt+gzip`,
//! DKIM-signed by the reporting domain without `l=` (§3, RPT-DEL-03).
//!
//! MIME is written by `mail-builder`, the signature by `mail-auth` (RSA-SHA256 or Ed25519-SHA256,
//! relaxed/relaxed).

use mail_auth::common::crypto::{DkimKey, Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner, Done};
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;
use mail_builder::MessageBuilder;
use mxsec_proto::name::DomainName;
use mxsec_proto::tlsrpt::delivery::{gzip_report, subject, GZIP_MEDIA_TYPE};
use mxsec_proto::tlsrpt::Report;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The headers the signature covers (RFC 6376 §5.4; RPT-DEL-02's headers included).
const SIGNED_HEADERS: [&str; 9] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "TLS-Report-Domain",
    "TLS-Report-Submitter",
];

/// An error while loading a DKIM key or signing a message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DkimError {
    /// The PEM text holds no private key.
    #[error("no private key in the PEM text")]
    NoKey,
    /// The key is neither RSA nor Ed25519, or is malformed.
    #[error("unusable DKIM key: {0}")]
    Key(String),
    /// Signing failed.
    #[error("DKIM signing failed: {0}")]
    Sign(String),
}

/// Reads a DKIM private key from PEM: PKCS#1 or PKCS#8 RSA (`rsa-sha256`), or PKCS#8 Ed25519
/// (`ed25519-sha256`, RFC 8463).
///
/// # Errors
///
/// [`DkimError::NoKey`] without a key, [`DkimError::Key`] for another algorithm.
pub fn dkim_key_from_pem(pem: &[u8]) -> Result<DkimKey, DkimError> {
    let der = PrivateKeyDer::from_pem_slice(pem).map_err(|_| DkimError::NoKey)?;
    if let PrivateKeyDer::Pkcs8(pkcs8) = &der {
        if let Ok(key) = Ed25519Key::from_pkcs8_maybe_unchecked_der(pkcs8.secret_pkcs8_der()) {
            return Ok(DkimKey::Ed25519(key));
        }
    }
    RsaKey::<Sha256>::from_key_der(der)
        .map(DkimKey::Rsa)
        .map_err(|e| DkimError::Key(e.to_string()))
}

/// Signs report mails for the reporting domain (`d=`) with one key and selector (`s=`),
/// relaxed/relaxed, without `l=` (RPT-DEL-03).
pub struct Dkim {
    signer: DkimSigner<DkimKey, Done>,
}

impl std::fmt::Debug for Dkim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dkim").finish_non_exhaustive()
    }
}

impl Dkim {
    /// A signer for `domain` with `key` published under `selector`.
    pub fn new(key: DkimKey, domain: &DomainName, selector: &str) -> Self {
        let signer = DkimSigner::from_key(key)
            .domain(domain.to_string())
            .selector(selector)
            .headers(SIGNED_HEADERS)
            .header_canonicalization(Canonicalization::Relaxed)
            .body_canonicalization(Canonicalization::Relaxed)
            .body_length(false);
        Self { signer }
    }

    /// `message` with a `DKIM-Signature` header in front.
    ///
    /// # Errors
    ///
    /// [`DkimError::Sign`] if `mail-auth` cannot sign (no signed header present).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DkimError> {
        let signature = self
            .signer
            .sign(message)
            .map_err(|e| DkimError::Sign(e.to_string()))?;
        let mut signed = signature.to_header().into_bytes();
        signed.extend_from_slice(message);
        Ok(signed)
    }
}

/// One report to mail: what the message says and to whom.
#[derive(Clone, Copy, Debug)]
pub struct ReportMail<'a> {
    /// The policy domain the report is about (`TLS-Report-Domain`).
    pub policy_domain: &'a DomainName,
    /// The reporting domain (`TLS-Report-Submitter`).
    pub submitter: &'a DomainName,
    /// The `From` address, in the reporting domain.
    pub from: &'a str,
    /// The recipient, from the `mailto:` rua.
    pub to: &'a str,
    /// The report.
    pub report: &'a Report,
    /// The attachment's file name (RPT-DEL-01).
    pub file_name: &'a str,
}

/// The unsigned report message (RFC 8460 §5.3, RPT-DEL-02), dated `date`.
pub fn build_message(mail: &ReportMail<'_>, date: OffsetDateTime) -> Vec<u8> {
    let human = format!(
        "This is an aggregate TLS report (RFC 8460) from {submitter} about {domain}, \
         covering {start} to {end}.\r\nThe report is attached as {file}.\r\n",
        submitter = mail.submitter,
        domain = mail.policy_domain,
        start = rfc3339(mail.report.date_range.start_datetime),
        end = rfc3339(mail.report.date_range.end_datetime),
        file = mail.file_name,
    );
    let id: String = mail
        .report
        .report_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .collect();
    let body = MimePart::new(
        ContentType::new("multipart/report").attribute("report-type", "tlsrpt"),
        vec![
            MimePart::new("text/plain", human),
            MimePart::new(GZIP_MEDIA_TYPE, gzip_report(mail.report)).attachment(mail.file_name),
        ],
    );
    MessageBuilder::new()
        .from(mail.from)
        .to(mail.to)
        // Raw: the subject is ASCII, and RFC 2047 encoding would hide it from filters.
        .header(
            "Subject",
            Raw::new(subject(mail.policy_domain, mail.submitter, mail.report)),
        )
        .date(date.unix_timestamp())
        .message_id(format!("{id}@{}", mail.submitter))
        .header(
            "TLS-Report-Domain",
            Raw::new(mail.policy_domain.to_string()),
        )
        .header("TLS-Report-Submitter", Raw::new(mail.submitter.to_string()))
        .body(body)
        .write_to_vec()
        .unwrap_or_default()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}
