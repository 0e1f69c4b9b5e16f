//! Delivering one report to the `rua` URIs of its policy domain (RFC 8460 §3, §5).
//!
//! - `mailto:`: the signed report mail ([`super::mail`]) is submitted in plain SMTP to the
//!   configured relay, normally the local Postfix (RPT-DEL-04: report delivery must not fail
//!   on MTA-STS or DANE, so no TLS policy of ours is involved on this hop).
//! - `https:`: the gzip report is POSTed with `Content-Type: application/tlsrpt+gzip`; any 2xx
//!   status means delivered (RPT-DEL-05).
//!
//! The URIs are tried in record order and the report counts as delivered as soon as one
//! accepts it (RPT-DEL-07). Every read is bounded and every step has a timeout.

use std::time::Duration;

use mxsec_proto::name::DomainName;
use mxsec_proto::smtp::reply::{Reply, ReplyParser};
use mxsec_proto::tlsrpt::delivery::{gzip_report, GZIP_MEDIA_TYPE};
use mxsec_proto::tlsrpt::record::{ReportUri, UriScheme};
use mxsec_proto::tlsrpt::Report;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::mail::{build_message, Dkim, DkimError, ReportMail};
use crate::tls::{client_config, crypto_provider, TlsConfigError, Verification};
use crate::trust::TrustConfig;

/// How long one SMTP step (connect, one reply) may take.
const SMTP_STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// The most octets read from the relay in one submission.
const MAX_SMTP_READ: usize = 64 * 1024;

/// How long one HTTPS POST may take, response included.
pub const HTTPS_TIMEOUT: Duration = Duration::from_secs(120);

/// Why one `rua` URI did not take the report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// A `mailto:` URI without a usable address.
    #[error("no address in {0}")]
    BadMailto(String),
    /// A `mailto:` URI, but no relay or DKIM key is configured.
    #[error("mail delivery needs `relay`, `dkim_key` and `dkim_selector`")]
    MailNotConfigured,
    /// The message could not be signed.
    #[error(transparent)]
    Dkim(#[from] DkimError),
    /// The relay could not be reached or the connection failed.
    #[error("relay {relay}: {source}")]
    Relay {
        /// The relay address.
        relay: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The relay did not answer in time.
    #[error("relay {0}: timed out")]
    RelayTimeout(String),
    /// The relay answered with something that is not an SMTP reply, or too much.
    #[error("relay {0}: malformed or oversized reply")]
    RelayProtocol(String),
    /// The relay refused a step.
    #[error("relay refused {step}: {code} {text}")]
    Refused {
        /// The command refused.
        step: &'static str,
        /// The reply code.
        code: u16,
        /// The reply text.
        text: String,
    },
    /// The HTTPS POST failed (connection, TLS, timeout).
    #[error("POST {uri}: {source}")]
    Http {
        /// The URI.
        uri: String,
        /// The error.
        source: reqwest::Error,
    },
    /// The HTTPS server answered with a status other than 2xx (RPT-DEL-05).
    #[error("POST {uri}: status {status}")]
    Status {
        /// The URI.
        uri: String,
        /// The status.
        status: u16,
    },
}

/// How to submit report mails (RPT-DEL-03/04).
#[derive(Debug)]
pub struct MailSetup {
    /// The relay, `host:port`.
    pub relay: String,
    /// The name sent in `EHLO`.
    pub ehlo: DomainName,
    /// The `From` and envelope sender, in the reporting domain.
    pub from: String,
    /// The signer.
    pub dkim: Dkim,
}

/// Delivers reports to `rua` URIs.
#[derive(Debug)]
pub struct Deliverer {
    /// The reporting domain (`TLS-Report-Submitter`).
    pub submitter: DomainName,
    /// Mail submission; `None` when only `https:` URIs can be served.
    pub mail: Option<MailSetup>,
    /// The client for `https:` POSTs.
    pub http: reqwest::Client,
}

/// One report ready to deliver.
#[derive(Clone, Copy, Debug)]
pub struct Outgoing<'a> {
    /// The policy domain the report is about.
    pub policy_domain: &'a DomainName,
    /// Its `rua` URIs, in record order.
    pub rua: &'a [ReportUri],
    /// The report.
    pub report: &'a Report,
    /// The report's file name (RPT-DEL-01).
    pub file_name: &'a str,
}

/// Where a report was delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// The URI that took it.
    pub uri: String,
    /// For mail, the relay's final reply text (Postfix: `2.0.0 Ok: queued as <id>`), so that
    /// the log follower can leave this message's own sessions out of the next report
    /// (RPT-DEL-04).
    pub relay_reply: Option<String>,
}

impl Deliverer {
    /// Tries each `rua` URI in order until one takes the report (RPT-DEL-07).
    ///
    /// # Errors
    ///
    /// Every URI's failure, in order, when none took it.
    pub async fn deliver(
        &self,
        outgoing: &Outgoing<'_>,
        now: OffsetDateTime,
    ) -> Result<Delivered, Vec<(String, DeliveryError)>> {
        let mut failures = Vec::new();
        for uri in outgoing.rua {
            let attempt = match uri.scheme() {
                UriScheme::Mailto => self.mail(outgoing, uri, now).await.map(Some),
                UriScheme::Https => self.post(outgoing, uri).await.map(|()| None),
            };
            match attempt {
                Ok(relay_reply) => {
                    return Ok(Delivered {
                        uri: uri.to_string(),
                        relay_reply,
                    })
                }
                Err(error) => failures.push((uri.to_string(), error)),
            }
        }
        Err(failures)
    }

    async fn mail(
        &self,
        outgoing: &Outgoing<'_>,
        uri: &ReportUri,
        now: OffsetDateTime,
    ) -> Result<String, DeliveryError> {
        let setup = self.mail.as_ref().ok_or(DeliveryError::MailNotConfigured)?;
        let to = mailto_address(uri.as_str())
            .ok_or_else(|| DeliveryError::BadMailto(uri.to_string()))?;
        let message = build_message(
            &ReportMail {
                policy_domain: outgoing.policy_domain,
                submitter: &self.submitter,
                from: &setup.from,
                to: &to,
                report: outgoing.report,
                file_name: outgoing.file_name,
            },
            now,
        );
        let signed = setup.dkim.sign(&message)?;
        submit(&setup.relay, &setup.ehlo, &setup.from, &to, &signed).await
    }

    async fn post(&self, outgoing: &Outgoing<'_>, uri: &ReportUri) -> Result<(), DeliveryError> {
        let response = self
            .http
            .post(uri.as_str())
            .header(reqwest::header::CONTENT_TYPE, GZIP_MEDIA_TYPE)
            .body(gzip_report(outgoing.report))
            .timeout(HTTPS_TIMEOUT)
            .send()
            .await
            .map_err(|source| DeliveryError::Http {
                uri: uri.to_string(),
                source,
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(DeliveryError::Status {
                uri: uri.to_string(),
                status: status.as_u16(),
            })
        }
    }
}

/// A `reqwest` client for report POSTs over `tls` (our rustls configuration): no redirects,
/// no proxy, bounded time (RPT-DEL-05).
///
/// # Errors
///
/// When `reqwest` cannot build the client.
pub fn https_client(tls: rustls::ClientConfig) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(Duration::from_secs(30))
        .timeout(HTTPS_TIMEOUT)
        .build()
}

/// The TLS configuration of report POSTs: the certificate verified against `trust`, or, with
/// `ignore_certificate_errors` (RFC 8460 §3 allows it, RPT-DEL-05), any certificate accepted
/// while the handshake's signatures are still checked.
///
/// # Errors
///
/// [`TlsConfigError`] if rustls rejects the configuration.
pub fn report_tls(
    trust: &TrustConfig,
    ignore_certificate_errors: bool,
) -> Result<rustls::ClientConfig, TlsConfigError> {
    if ignore_certificate_errors {
        let (config, _) = client_config(Verification::Observe {
            dane: None,
            pkix: None,
        })?;
        return Ok(config.as_ref().clone());
    }
    Ok(
        rustls::ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(trust.root_cert_store())
            .with_no_client_auth(),
    )
}

/// The address of a `mailto:` URI: the part before any `?`, percent-decoded (RFC 6068 §2).
pub fn mailto_address(uri: &str) -> Option<String> {
    let rest = uri.get(..7).filter(|s| s.eq_ignore_ascii_case("mailto:"))?;
    let to = uri.get(rest.len()..)?.split('?').next()?;
    let mut out = Vec::with_capacity(to.len());
    let mut bytes = to.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            let hex = std::str::from_utf8(&hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    let address = String::from_utf8(out).ok()?;
    let valid = address.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !address
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | ','));
    valid.then_some(address)
}

/// Submits `message` to `relay` in plain SMTP (RFC 5321 §3.3): EHLO, MAIL, RCPT, DATA, QUIT.
/// Returns the text of the reply to the message.
async fn submit(
    relay: &str,
    ehlo: &DomainName,
    from: &str,
    to: &str,
    message: &[u8],
) -> Result<String, DeliveryError> {
    let io = |source| DeliveryError::Relay {
        relay: relay.to_owned(),
        source,
    };
    let stream = tokio::time::timeout(SMTP_STEP_TIMEOUT, TcpStream::connect(relay))
        .await
        .map_err(|_| DeliveryError::RelayTimeout(relay.to_owned()))?
        .map_err(io)?;
    let mut session = Session {
        relay,
        stream,
        parser: ReplyParser::new(),
        buffer: Vec::new(),
        total: 0,
    };
    session.expect("greeting", 2).await?;
    session
        .command(&format!("EHLO {ehlo}\r\n"), "EHLO", 2)
        .await?;
    session
        .command(&format!("MAIL FROM:<{from}>\r\n"), "MAIL", 2)
        .await?;
    session
        .command(&format!("RCPT TO:<{to}>\r\n"), "RCPT", 2)
        .await?;
    session.command("DATA\r\n", "DATA", 3).await?;
    session.send(&dot_stuff(message)).await.map_err(io)?;
    let accepted = session.expect("message", 2).await?;
    // The message is queued; a failing QUIT changes nothing.
    let _ = session.command("QUIT\r\n", "QUIT", 2).await;
    Ok(accepted.lines().join(" "))
}

/// `message` with CRLF line ends, leading dots doubled and the final `.` line
/// (RFC 5321 §4.5.2).
fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 5);
    for line in message.split_inclusive(|&b| b == b'\n') {
        let content = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(line);
        if content.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

struct Session<'a> {
    relay: &'a str,
    stream: TcpStream,
    parser: ReplyParser,
    buffer: Vec<u8>,
    total: usize,
}

impl Session<'_> {
    async fn send(&mut self, data: &[u8]) -> std::io::Result<()> {
        tokio::time::timeout(SMTP_STEP_TIMEOUT, self.stream.write_all(data))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
    }

    async fn command(
        &mut self,
        line: &str,
        step: &'static str,
        class: u16,
    ) -> Result<Reply, DeliveryError> {
        self.send(line.as_bytes())
            .await
            .map_err(|source| DeliveryError::Relay {
                relay: self.relay.to_owned(),
                source,
            })?;
        self.expect(step, class).await
    }

    /// Reads one reply and checks that its code is `class`xx.
    async fn expect(&mut self, step: &'static str, class: u16) -> Result<Reply, DeliveryError> {
        let reply = tokio::time::timeout(SMTP_STEP_TIMEOUT, self.read())
            .await
            .map_err(|_| DeliveryError::RelayTimeout(self.relay.to_owned()))??;
        let code = reply.code().get();
        if code / 100 == class {
            Ok(reply)
        } else {
            Err(DeliveryError::Refused {
                step,
                code,
                text: reply.lines().join(" "),
            })
        }
    }

    async fn read(&mut self) -> Result<Reply, DeliveryError> {
        let protocol = || DeliveryError::RelayProtocol(self.relay.to_owned());
        let mut chunk = [0u8; 4096];
        loop {
            if !self.buffer.is_empty() {
                let progress = self.parser.feed(&self.buffer).map_err(|_| protocol())?;
                self.buffer
                    .drain(..progress.consumed.min(self.buffer.len()));
                if let Some(reply) = progress.reply {
                    return Ok(reply);
                }
            }
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(|source| DeliveryError::Relay {
                    relay: self.relay.to_owned(),
                    source,
                })?;
            self.total += n;
            if n == 0 || self.total > MAX_SMTP_READ {
                return Err(protocol());
            }
            self.buffer
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpt_del_02_mailto_address_is_decoded_and_checked() {
        assert_eq!(
            mailto_address("mailto:tlsrpt@example.org").as_deref(),
            Some("tlsrpt@example.org")
        );
        assert_eq!(
            mailto_address("MAILTO:tls%2Brpt@example.org?subject=x").as_deref(),
            Some("tls+rpt@example.org")
        );
        assert_eq!(mailto_address("mailto:nobody"), None);
        assert_eq!(mailto_address("mailto:a%0D%0Ab@example.org"), None);
        assert_eq!(mailto_address("mailto:a@b%2"), None);
        assert_eq!(mailto_address("https://example.org/"), None);
    }

    #[test]
    fn rpt_del_04_dot_stuffing_and_final_dot() {
        assert_eq!(dot_stuff(b"a\n.b\r\n..c"), b"a\r\n..b\r\n...c\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b".\r\n");
    }
}
