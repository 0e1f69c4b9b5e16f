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
//! maillog = "/var/log/mail.log"            # Postfix's log (maillog_file or syslog), or "journald"
//! maillog_utc_offset = 0                   # seconds east of UTC of its `Dec  6 10:00:00` stamps
//! datagram_socket = "/run/mxsec/tlsrpt.sock" # libtlsrpt datagrams (Postfix >= 3.10)
//! max_delay = 14400                        # random delay after midnight UTC, seconds
//! ```
//!
//! Without a `[tlsrpt]` section the daemon records nothing for reports.

use std::path::PathBuf;

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
