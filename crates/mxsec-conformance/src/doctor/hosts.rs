//! The checks made against the MTA-STS policy hosts `mxsec daemon` fetched from recently
//! ([`status`](super::status)): real WebPKI hosts, reachable from the sender without the
//! public internet at large, whose certificates the daemon has already verified.
//!
//! - DOC-PFX-06: Postfix's `smtp_tls_CAfile`/`smtp_tls_CApath` roots verify them. Postfix
//!   checks the certificates of MTA-STS MX hosts with those roots (level `secure`), and MX
//!   hosts of MTA-STS domains use the same WebPKI as their policy hosts (RFC 8461 §4.2): roots
//!   that fail a host the daemon verified will fail MX hosts too, and defer their mail.
//! - DOC-CLK-01: this host's clock agrees with theirs. Each verified host is asked for its
//!   policy (`GET /.well-known/mta-sts.txt`, RFC 8461 §3.3) and its `Date` header (RFC 9110
//!   §6.6.1: an origin server with a clock sends it) is compared with the local clock at the
//!   middle of the exchange; the median over the hosts is judged, so that one host with a
//!   wrong clock does not decide. A certificate that is not yet or no longer valid at local
//!   time, though the daemon accepted it, says the same louder. A skewed clock breaks
//!   certificate checks (RFC 5280 §4.1.2.5), DNSSEC signature validity (RFC 4034 §3.1.5) and
//!   policy expiry (RFC 8461 §3.2 `max_age`).
//!
//! Every connection, handshake and read is bounded by the caller's time limit, and the
//! response head by [`MAX_HEAD`].

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::postfix::Postconf;
use super::{Finding, Severity};

/// The most policy hosts connected to.
pub const MAX_HOSTS: usize = 8;
/// The largest response head read.
const MAX_HEAD: usize = 16 * 1024;
/// The largest certificate file read (`smtp_tls_CAfile`, each file of `smtp_tls_CApath`).
const MAX_CA_FILE: u64 = 8 << 20;
/// The most files of `smtp_tls_CApath` read.
const MAX_CA_PATH_FILES: usize = 4096;
/// A clock off by more than this is worth a warning: NTP is not doing its job.
const WARN_SKEW: u64 = 300;
/// A clock off by more than this breaks checks: certificates and DNSSEC signatures issued
/// within the hour are not yet valid, or ones that expired within the hour still are.
const ERROR_SKEW: u64 = 3600;

/// What connecting to one policy host with Postfix's roots gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The certificate verified; the clock offset (local minus the host's `Date`, in seconds)
    /// when the host sent a `Date`.
    Verified {
        /// Local minus the host's clock, in seconds.
        offset: Option<i64>,
    },
    /// The certificate does not verify with Postfix's roots.
    NotTrusted(String),
    /// The certificate is not valid at local time.
    OutOfValidity(String),
    /// No connection or no TLS handshake: nothing to judge.
    Unreachable(String),
}

/// DOC-PFX-06 and DOC-CLK-01 for the first [`MAX_HOSTS`] of `hosts`.
pub async fn check(conf: &Postconf, hosts: &[String], timeout: Duration) -> Vec<Finding> {
    if hosts.is_empty() {
        return vec![Finding::new(
            "DOC-CLK-01",
            Severity::Info,
            "clock",
            "not checked, nor smtp_tls_CAfile against real hosts: mxsec daemon has fetched no \
             MTA-STS policy yet",
            "run mxsec doctor again once mail has gone to an MTA-STS domain",
        )];
    }
    let roots = roots(conf);
    if roots.is_empty() {
        // DOC-PFX-04 says so.
        return Vec::new();
    }
    let Some(config) = client_config(roots).map(Arc::new) else {
        return Vec::new();
    };
    let mut probes = Vec::new();
    for host in hosts.iter().take(MAX_HOSTS) {
        let probe = tokio::time::timeout(timeout, probe(config.clone(), host))
            .await
            .unwrap_or_else(|_| Probe::Unreachable(format!("no answer within {timeout:?}")));
        probes.push((host.clone(), probe));
    }
    judge(&probes)
}

/// The findings for what the probes of the policy hosts gave.
pub fn judge(probes: &[(String, Probe)]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let untrusted: Vec<String> = probes
        .iter()
        .filter_map(|(host, probe)| match probe {
            Probe::NotTrusted(why) => Some(format!("{host} ({why})")),
            _ => None,
        })
        .collect();
    if !untrusted.is_empty() {
        findings.push(Finding::new(
            "DOC-PFX-06",
            Severity::Error,
            "smtp_tls_CAfile",
            format!(
                "does not verify policy hosts whose policies mxsec daemon fetched: {}. Postfix \
                 checks MTA-STS MX hosts with these roots, and MX hosts of these domains use \
                 the same WebPKI: their mail is deferred (RFC 8461 §4.2)",
                untrusted.join(", ")
            ),
            "point smtp_tls_CAfile at the WebPKI roots mxsec daemon trusts \
             (/etc/ssl/certs/ca-certificates.crt on Debian, plus any [tls] ca_files)",
        ));
    }
    let invalid: Vec<String> = probes
        .iter()
        .filter_map(|(host, probe)| match probe {
            Probe::OutOfValidity(why) => Some(format!("{host} ({why})")),
            _ => None,
        })
        .collect();
    let offsets: Vec<i64> = probes
        .iter()
        .filter_map(|(_, probe)| match probe {
            Probe::Verified { offset } => *offset,
            _ => None,
        })
        .collect();
    if !invalid.is_empty() {
        findings.push(Finding::new(
            "DOC-CLK-01",
            Severity::Error,
            "clock",
            format!(
                "certificates mxsec daemon accepted are not valid at this host's time ({}): \
                 the clock is wrong, and certificate checks fail (RFC 5280 §4.1.2.5)",
                invalid.join(", ")
            ),
            "set the clock right and keep it right (systemd-timesyncd, chrony)",
        ));
    } else if let Some(finding) = clock_finding(&offsets) {
        findings.push(finding);
    } else if offsets.is_empty() && untrusted.is_empty() {
        findings.push(Finding::new(
            "DOC-CLK-01",
            Severity::Info,
            "clock",
            "not checked: no policy host mxsec daemon fetched from sent its time",
            "check the clock by hand (timedatectl)",
        ));
    }
    findings
}

/// DOC-CLK-01 for the clock offsets measured (local minus remote, in seconds): the median is
/// judged.
pub fn clock_finding(offsets: &[i64]) -> Option<Finding> {
    let mut sorted = offsets.to_vec();
    sorted.sort_unstable();
    let median = *sorted.get(sorted.len() / 2)?;
    let skew = median.unsigned_abs();
    let severity = if skew > ERROR_SKEW {
        Severity::Error
    } else if skew > WARN_SKEW {
        Severity::Warning
    } else {
        return None;
    };
    let direction = if median > 0 { "ahead of" } else { "behind" };
    Some(Finding::new(
        "DOC-CLK-01",
        severity,
        "clock",
        format!(
            "is {skew} s {direction} the policy hosts' clocks (median of {}): certificate \
             validity (RFC 5280 §4.1.2.5), DNSSEC signature validity (RFC 4034 §3.1.5) and \
             policy expiry (RFC 8461 §3.2) are judged wrong",
            offsets.len()
        ),
        "set the clock right and keep it right (systemd-timesyncd, chrony)",
    ))
}

/// Connects to `host` on port 443 with Postfix's roots, asks for its policy and reads the
/// response head's `Date`.
async fn probe(config: Arc<ClientConfig>, host: &str) -> Probe {
    let Ok(name) = ServerName::try_from(host.to_owned()) else {
        return Probe::Unreachable("not a host name".to_owned());
    };
    let tcp = match TcpStream::connect((host, 443)).await {
        Ok(tcp) => tcp,
        Err(e) => return Probe::Unreachable(e.to_string()),
    };
    let mut tls = match TlsConnector::from(config).connect(name, tcp).await {
        Ok(tls) => tls,
        Err(e) => return handshake_error(&e),
    };
    let request = format!(
        "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    );
    let sent = SystemTime::now();
    if tls.write_all(request.as_bytes()).await.is_err() {
        return Probe::Verified { offset: None };
    }
    let head = read_head(&mut tls).await;
    let received = SystemTime::now();
    let middle = sent + received.duration_since(sent).unwrap_or_default() / 2;
    let offset = date(&head).and_then(|date| offset(middle, date));
    Probe::Verified { offset }
}

/// What a failed handshake says about the certificate.
fn handshake_error(error: &std::io::Error) -> Probe {
    let rustls = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls {
        Some(rustls::Error::InvalidCertificate(
            cert @ (CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. }),
        )) => Probe::OutOfValidity(format!("{cert:?}")),
        Some(rustls::Error::InvalidCertificate(cert)) => Probe::NotTrusted(format!("{cert:?}")),
        _ => Probe::Unreachable(error.to_string()),
    }
}

/// The response head, at most [`MAX_HEAD`] octets, up to the empty line.
async fn read_head<S: AsyncReadExt + Unpin>(stream: &mut S) -> Vec<u8> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while head.len() < MAX_HEAD && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    head.truncate(MAX_HEAD);
    head
}

/// The `Date` header of a response head.
fn date(head: &[u8]) -> Option<SystemTime> {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("date"))
        .and_then(|(_, value)| httpdate::parse_http_date(value.trim()).ok())
}

/// `local` minus `remote` in whole seconds; the remote clock is read to the second, so half a
/// second is added to it.
fn offset(local: SystemTime, remote: SystemTime) -> Option<i64> {
    let millis = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_millis()).ok())
    };
    Some((millis(local)? - millis(remote)? - 500) / 1000)
}

/// A client configuration trusting `roots` only.
fn client_config(roots: RootCertStore) -> Option<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?;
    Some(builder.with_root_certificates(roots).with_no_client_auth())
}

/// The certificates of `smtp_tls_CAfile` and of the files of `smtp_tls_CApath`.
fn roots(conf: &Postconf) -> RootCertStore {
    let mut store = RootCertStore::empty();
    let file = conf.get("smtp_tls_CAfile");
    if !file.is_empty() {
        store.add_parsable_certificates(pem_certificates(Path::new(file)));
    }
    let dir = conf.get("smtp_tls_CApath");
    if let (false, Ok(entries)) = (dir.is_empty(), std::fs::read_dir(dir)) {
        for entry in entries.flatten().take(MAX_CA_PATH_FILES) {
            store.add_parsable_certificates(pem_certificates(&entry.path()));
        }
    }
    store
}

/// The PEM certificates of `path`, none when it cannot be read.
fn pem_certificates(path: &Path) -> Vec<CertificateDer<'static>> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut reader = std::io::BufReader::new(std::io::Read::take(file, MAX_CA_FILE));
    rustls_pemfile::certs(&mut reader)
        .filter_map(Result::ok)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sts_pol_06_the_median_clock_offset_is_judged() {
        assert_eq!(clock_finding(&[]), None);
        assert_eq!(clock_finding(&[2, -1, 30]), None);
        let warning = clock_finding(&[400, 10, 500]).expect("finding");
        assert_eq!(warning.severity, Severity::Warning);
        assert!(warning.message.contains("400 s ahead of"), "{warning:?}");
        // One host with a wrong clock does not decide.
        assert_eq!(clock_finding(&[-10_800, 1, 2]), None);
        let error = clock_finding(&[-10_800, -10_799, 2]).expect("finding");
        assert_eq!(error.severity, Severity::Error);
        assert!(error.message.contains("10799 s behind"), "{error:?}");
    }

    #[test]
    fn sts_pol_06_the_date_header_is_read_and_compared() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ndate: Sun, 06 Dec 2026 03:00:00 GMT\r\n\r\n";
        let remote = date(head).expect("a date");
        assert_eq!(
            offset(remote + Duration::from_millis(2700), remote),
            Some(2)
        );
        assert_eq!(offset(remote, remote + Duration::from_secs(60)), Some(-60));
        assert_eq!(date(b"HTTP/1.1 200 OK\r\n\r\nDate: x\r\n"), None);
    }

    #[test]
    fn pkix_01_untrusted_policy_hosts_and_invalid_certificates_are_named() {
        let probes = [
            (
                "mta-sts.a.example".to_owned(),
                Probe::Verified { offset: Some(1) },
            ),
            (
                "mta-sts.b.example".to_owned(),
                Probe::NotTrusted("UnknownIssuer".to_owned()),
            ),
            (
                "mta-sts.c.example".to_owned(),
                Probe::Unreachable("refused".to_owned()),
            ),
        ];
        let findings = judge(&probes);
        let ids: Vec<&str> = findings.iter().map(|f| f.id).collect();
        assert_eq!(ids, ["DOC-PFX-06"]);
        assert!(findings[0]
            .message
            .contains("mta-sts.b.example (UnknownIssuer)"));
        let expired = [(
            "mta-sts.a.example".to_owned(),
            Probe::OutOfValidity("Expired".to_owned()),
        )];
        assert_eq!(judge(&expired)[0].id, "DOC-CLK-01");
        assert_eq!(judge(&expired)[0].severity, Severity::Error);
    }
}
