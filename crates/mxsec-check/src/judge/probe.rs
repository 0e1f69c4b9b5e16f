//! What one SMTP probe saw, in the form the report keeps: whether it connected, the chain,
//! the greeting, the certificates (RFC 5321 §4.2, RFC 3207).

use mxsec_net::smtp_probe::{ProbeFailure, ProbeReport, ProbeStep};
use mxsec_proto::certificate;
use mxsec_proto::smtp::greeting::Greeting;
use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};

use crate::finding::one_line;
use crate::report::CertSummary;

/// The chain a probe saw: from the session, or from the verifier after a failed handshake.
pub(super) fn chain_of(p: &ProbeReport) -> Option<Vec<CertificateDer<'static>>> {
    p.tls
        .as_ref()
        .map(|t| t.chain.clone())
        .or_else(|| p.observation.as_ref().map(|o| o.chain.clone()))
        .filter(|c| !c.is_empty())
}

/// Whether the probe got a TCP connection to port 25.
pub(super) fn connected(p: &ProbeReport) -> bool {
    !matches!(
        p.result,
        Err(ProbeFailure::Connect(_))
            | Err(ProbeFailure::Timeout {
                step: ProbeStep::Connect,
                ..
            })
    )
}

/// Whether a TLS handshake was attempted (and so a chain may have been presented).
pub(super) fn handshake_attempted(p: &ProbeReport) -> bool {
    p.tls.is_some() || matches!(p.result, Err(ProbeFailure::Handshake { .. }))
}

/// The greeting as the report shows it: every line kept, as on the wire (`220-first`, ...,
/// `220 last`), one per line, control characters replaced; a last line says what the bounds of
/// [`Greeting`] dropped (RFC 5321 §4.2).
pub(super) fn greeting_text(greeting: &Greeting) -> String {
    let code = greeting.code().get();
    let last = greeting.lines().len().saturating_sub(1);
    let mut lines: Vec<String> = greeting
        .lines()
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let separator = if i == last && greeting.omitted_lines() == 0 {
                ' '
            } else {
                '-'
            };
            format!("{code}{separator}{}", one_line(line))
        })
        .collect();
    if greeting.is_truncated() {
        lines.push(match greeting.omitted_lines() {
            0 => "[greeting truncated: long lines cut]".to_owned(),
            n => format!("[greeting truncated: {n} more lines]"),
        });
    }
    lines.join("\n")
}

/// A certificate of a presented chain, for the report.
pub(super) fn summary(cert: &CertificateDer<'_>) -> Option<CertSummary> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let rfc3339 = |t: x509_parser::time::ASN1Time| {
        t.to_datetime()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let validity = parsed.validity();
    Some(CertSummary {
        subject: one_line(&parsed.subject().to_string()),
        issuer: one_line(&parsed.issuer().to_string()),
        dns_names: certificate::dns_names(cert),
        not_before: rfc3339(validity.not_before),
        not_after: rfc3339(validity.not_after),
        spki_sha256: hex(&Sha256::digest(parsed.tbs_certificate.subject_pki.raw)),
    })
}

/// Lower-case hex.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use mxsec_proto::smtp::reply::Reply;

    use super::*;

    fn text(wire: &str) -> String {
        greeting_text(&Greeting::from_reply(
            &Reply::parse(wire.as_bytes()).unwrap(),
        ))
    }

    #[test]
    fn stt_01_rfc5321_4_2_greeting_is_shown_whole_one_line_each() {
        assert_eq!(
            text("220-mx.example.net ESMTP\r\n220-\x1b[31mred\r\n220 ready\r\n"),
            "220-mx.example.net ESMTP\n220- [31mred\n220 ready"
        );
        assert_eq!(text("554 5.7.1 no service\r\n"), "554 5.7.1 no service");
    }

    #[test]
    fn stt_01_rfc5321_4_2_bounded_greeting_says_what_was_dropped() {
        let wire: String = (0..20).map(|i| format!("220-line {i}\r\n")).collect();
        let shown = text(&format!("{wire}220 end\r\n"));
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.first(), Some(&"220-line 0"));
        assert_eq!(lines.last(), Some(&"[greeting truncated: 5 more lines]"));
    }
}
