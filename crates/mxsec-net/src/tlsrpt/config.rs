//! The reporter's configuration: the `[tlsrpt]` section of the daemon's TOML file.
//!
//! ```toml
//! [tlsrpt]
//! organization_name = "Example Mail"
//! contact_info = "tlsrpt@example.net"      # the report's contact-info
//! submitter = "example.net"                # TLS-Report-Submitter, DKIM d=, file names
//! dkim_selector = "tlsrpt"
//! dkim_key = "/etc/mxsec/tlsrpt.dkim.pem"  # RSA or Ed25519 private key, PEM
//! relay = "127.0.0.1:25"                   # where report mails are submitted
//! from = "tlsrpt-noreply@example.net"      # envelope and header sender (this is the default)
//! https_ca_file = "/etc/mxsec/reports-ca.pem"  # CAs trusted for https: rua, besides WebPKI
//! https_ignore_certificate_errors = false  # RPT-DEL-05 allows ignoring them on POST
//! maillog = "/var/log/mail.log"            # Postfix's log (maillog_file or syslog), or "journald"
//! maillog_utc_offset = 0                   # seconds east of UTC of its `Dec  6 10:00:00` stamps
//! datagram_socket = "/run/mxsec/tlsrpt.sock" # libtlsrpt datagrams (Postfix >= 3.10)
//! max_delay = 14400                        # random delay after midnight UTC, seconds
//! ```
//!
//! Without a `[tlsrpt]` section the daemon records nothing for reports. [`TlsRptConfig::check`]
//! says which key cannot be used; files (the DKIM key, the CA file) are read when the daemon
//! starts.

use std::path::PathBuf;

use mxsec_proto::name::DomainName;

/// The longest `max_delay`: the day's retries (24 hours from the first attempt) then end
/// before the second midnight after the day, so a sender looks back two days at most.
pub const MAX_DELAY_LIMIT: u64 = 12 * 3600;

/// The reporter's settings; see the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsRptConfig {
    /// The report's `organization-name` (RFC 8460 §4.4).
    pub organization_name: String,
    /// The report's `contact-info`: an e-mail address.
    pub contact_info: String,
    /// The reporting domain: `TLS-Report-Submitter`, the DKIM `d=` and the first part of the
    /// report file names (RPT-DEL-01..03).
    pub submitter: String,
    /// The DKIM selector of the key that signs report mails (RPT-DEL-03).
    #[serde(default)]
    pub dkim_selector: Option<String>,
    /// The DKIM private key (PEM).
    #[serde(default)]
    pub dkim_key: Option<PathBuf>,
    /// The SMTP relay report mails are submitted to, `host:port` (RPT-DEL-04).
    #[serde(default)]
    pub relay: Option<String>,
    /// The envelope sender and `From` of report mails; default `tlsrpt-noreply@<submitter>`.
    #[serde(default)]
    pub from: Option<String>,
    /// A PEM file of CA certificates trusted for `https:` report URIs besides the WebPKI
    /// roots and `tls.ca_files`.
    #[serde(default)]
    pub https_ca_file: Option<PathBuf>,
    /// POST reports even when the receiver's certificate does not verify (RFC 8460 §3 allows
    /// it, RPT-DEL-05); the handshake's signatures are still checked.
    #[serde(default)]
    pub https_ignore_certificate_errors: bool,
    /// Postfix's log to follow: a file, or `"journald"` for systemd's journal.
    #[serde(default)]
    pub maillog: Option<LogSource>,
    /// The offset from UTC, in seconds, of the local time in the log's BSD time stamps
    /// (`Dec  6 10:00:00`); RFC 3339 stamps carry their own (RPT-TIME-01).
    #[serde(default)]
    pub maillog_utc_offset: i32,
    /// The Unix datagram socket libtlsrpt sends to.
    #[serde(default)]
    pub datagram_socket: Option<PathBuf>,
    /// The longest random delay after midnight UTC before the day's reports are sent, in
    /// seconds (RPT-TIME-01; default four hours).
    #[serde(default = "default_max_delay")]
    pub max_delay: u64,
}

/// Where Postfix's log is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogSource {
    /// A log file (`maillog_file`, or a syslog file), followed across rotation.
    File(PathBuf),
    /// systemd's journal, read with `journalctl` (the value `"journald"`).
    Journald,
}

impl<'de> serde::Deserialize<'de> for LogSource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = PathBuf::deserialize(deserializer)?;
        Ok(if value.as_os_str() == "journald" {
            Self::Journald
        } else {
            Self::File(value)
        })
    }
}

impl std::fmt::Display for LogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => path.display().fmt(f),
            Self::Journald => f.write_str("journald"),
        }
    }
}

fn default_max_delay() -> u64 {
    4 * 3600
}

/// A `[tlsrpt]` key whose value cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("key `{key}`: {message}")]
pub struct TlsRptConfigError {
    /// The key, `tlsrpt.<name>`.
    pub key: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl TlsRptConfig {
    /// Checks the values that need no file.
    ///
    /// # Errors
    ///
    /// The first key that cannot be used, and why.
    pub fn check(&self) -> Result<(), TlsRptConfigError> {
        let error = |key, message: String| Err(TlsRptConfigError { key, message });
        if DomainName::parse(&self.submitter).is_err() {
            return error(
                "tlsrpt.submitter",
                format!("{:?} is not a domain name", self.submitter),
            );
        }
        if let Some(from) = &self.from {
            if !is_address(from) {
                return error(
                    "tlsrpt.from",
                    format!("{from:?} is not a mail address (local@domain)"),
                );
            }
        }
        if let Some(relay) = &self.relay {
            let port = relay
                .rsplit_once(':')
                .filter(|(host, _)| !host.is_empty())
                .and_then(|(_, port)| port.parse::<u16>().ok())
                .filter(|&port| port != 0);
            if port.is_none() {
                return error("tlsrpt.relay", format!("{relay:?} is not HOST:PORT"));
            }
        }
        match (&self.dkim_key, &self.dkim_selector) {
            (Some(_), None) => {
                return error("tlsrpt.dkim_selector", "is needed with dkim_key".to_owned());
            }
            (None, Some(_)) => {
                return error("tlsrpt.dkim_key", "is needed with dkim_selector".to_owned());
            }
            (None, None) if self.relay.is_some() => {
                return error(
                    "tlsrpt.relay",
                    "report mails must be DKIM-signed (RFC 8460 §3): set dkim_key and \
                     dkim_selector too"
                        .to_owned(),
                );
            }
            _ => {}
        }
        if let Some(selector) = &self.dkim_selector {
            if DomainName::parse(&format!("{selector}._domainkey.{}", self.submitter)).is_err() {
                return error(
                    "tlsrpt.dkim_selector",
                    format!("{selector:?} is not a DNS label"),
                );
            }
        }
        if self.max_delay > MAX_DELAY_LIMIT {
            return error(
                "tlsrpt.max_delay",
                format!(
                    "{} seconds is more than {MAX_DELAY_LIMIT} (12 hours)",
                    self.max_delay
                ),
            );
        }
        Ok(())
    }

    /// The envelope sender and `From` of report mails.
    pub fn from_address(&self) -> String {
        self.from
            .clone()
            .unwrap_or_else(|| format!("tlsrpt-noreply@{}", self.submitter.to_ascii_lowercase()))
    }
}

/// Whether `text` is a plain `local@domain` address, safe in an SMTP command and a header.
fn is_address(text: &str) -> bool {
    text.split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && DomainName::parse(domain).is_ok())
        && text.is_ascii()
        && !text.chars().any(|c| {
            c.is_ascii_control() || c.is_whitespace() || matches!(c, '<' | '>' | ',' | '"')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpt_time_01_section_parses_with_defaults_and_rejects_unknown_keys() {
        let config: TlsRptConfig = toml::from_str(
            "organization_name = \"Example\"\ncontact_info = \"r@example.net\"\n\
             submitter = \"example.net\"\n",
        )
        .expect("parse");
        assert_eq!(config.max_delay, 14_400);
        assert_eq!(config.relay, None);
        assert!(toml::from_str::<TlsRptConfig>(
            "organization_name = \"E\"\ncontact_info = \"r@e\"\nsubmitter = \"e\"\nrua = 1\n"
        )
        .is_err());
        assert_eq!(config.check(), Ok(()));
        assert_eq!(config.from_address(), "tlsrpt-noreply@example.net");
        assert!(!config.https_ignore_certificate_errors);
    }

    fn key_refused(extra: &str) -> &'static str {
        let config: TlsRptConfig = toml::from_str(&format!(
            "organization_name = \"Example\"\ncontact_info = \"r@example.net\"\n\
             submitter = \"example.net\"\n{extra}"
        ))
        .expect("parse");
        config.check().expect_err(extra).key
    }

    #[test]
    fn rpt_del_03_unusable_values_name_their_key() {
        assert_eq!(key_refused("from = \"nobody\"\n"), "tlsrpt.from");
        assert_eq!(key_refused("from = \"a b@example.net\"\n"), "tlsrpt.from");
        assert_eq!(
            key_refused("relay = \"127.0.0.1\"\ndkim_key = \"k\"\ndkim_selector = \"s\"\n"),
            "tlsrpt.relay"
        );
        assert_eq!(key_refused("relay = \"127.0.0.1:25\"\n"), "tlsrpt.relay");
        assert_eq!(key_refused("dkim_key = \"k\"\n"), "tlsrpt.dkim_selector");
        assert_eq!(key_refused("dkim_selector = \"s\"\n"), "tlsrpt.dkim_key");
        assert_eq!(
            key_refused("dkim_key = \"k\"\ndkim_selector = \"a b\"\n"),
            "tlsrpt.dkim_selector"
        );
        assert_eq!(key_refused("max_delay = 86400\n"), "tlsrpt.max_delay");
        let config: TlsRptConfig = toml::from_str(
            "organization_name = \"E\"\ncontact_info = \"r@e.net\"\nsubmitter = \"e.net\"\n\
             relay = \"[::1]:25\"\ndkim_key = \"k\"\ndkim_selector = \"tlsrpt\"\n\
             from = \"reports@e.net\"\nhttps_ignore_certificate_errors = true\n",
        )
        .expect("parse");
        assert_eq!(config.check(), Ok(()));
        assert_eq!(config.from_address(), "reports@e.net");
    }

    #[test]
    fn maillog_is_a_file_or_the_journal() {
        let base = "organization_name = \"E\"\ncontact_info = \"r@e\"\nsubmitter = \"e\"\n";
        let file: TlsRptConfig =
            toml::from_str(&format!("{base}maillog = \"/var/log/mail.log\"\n")).expect("parse");
        assert_eq!(
            file.maillog,
            Some(LogSource::File("/var/log/mail.log".into()))
        );
        let journal: TlsRptConfig =
            toml::from_str(&format!("{base}maillog = \"journald\"\n")).expect("parse");
        assert_eq!(journal.maillog, Some(LogSource::Journald));
        assert_eq!(LogSource::Journald.to_string(), "journald");
    }
}
