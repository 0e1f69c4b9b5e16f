//! `mxsec doctor --why DOMAIN`: asks a running `mxsec daemon` for the reasons behind its
//! answer for a destination, over `GET /why?domain=` on the daemon's metrics listener
//! (`listen.metrics`, loopback only), and renders them for people.
//!
//! The read is bounded ([`MAX_RESPONSE`]) and every step has the caller's time limit.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest `/why` response read.
const MAX_RESPONSE: u64 = 1 << 20;

/// The metrics address `mxsec daemon` uses in docs/daemon.md's example configuration.
pub const DEFAULT_METRICS: &str = "127.0.0.1:9461";

/// Why the daemon's reasons could not be had.
#[derive(Debug, thiserror::Error)]
pub enum WhyError {
    /// The name cannot be a destination: only letters, digits, `.-_[]:` are sent.
    #[error("{0:?} is not a destination name")]
    Name(String),
    /// The daemon's configuration cannot be read.
    #[error("{0}")]
    Config(String),
    /// The daemon's configuration has no `listen.metrics`, which `/why` is served on.
    #[error("{0} has no [listen] metrics address, which /why is served on")]
    NoEndpoint(String),
    /// No connection, or no complete response.
    #[error("cannot ask the daemon at {addr}: {reason}")]
    Io {
        /// The metrics address.
        addr: SocketAddr,
        /// What failed.
        reason: String,
    },
    /// The daemon answered with an error status.
    #[error("the daemon at {addr} answered {status}: {body}")]
    Status {
        /// The metrics address.
        addr: SocketAddr,
        /// The HTTP status.
        status: u16,
        /// The response body.
        body: String,
    },
}

/// The `listen.metrics` address of the `mxsec daemon` configuration file `config`.
///
/// # Errors
///
/// The file cannot be read or is not TOML, or it has no metrics address.
pub fn metrics_addr(config: &Path) -> Result<SocketAddr, WhyError> {
    let shown = config.display().to_string();
    let text = std::fs::read_to_string(config)
        .map_err(|e| WhyError::Config(format!("cannot read {shown}: {e}")))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| WhyError::Config(format!("{shown} is not TOML: {e}")))?;
    let addr = table
        .get("listen")
        .and_then(|listen| listen.get("metrics"))
        .and_then(toml::Value::as_str)
        .ok_or_else(|| WhyError::NoEndpoint(shown.clone()))?;
    addr.parse()
        .map_err(|e| WhyError::Config(format!("{shown}: listen.metrics {addr:?}: {e}")))
}

/// The daemon's `/why` JSON for `domain` (and map `map`, for its zone's options).
///
/// # Errors
///
/// A [`WhyError`] saying what failed.
pub async fn ask(
    addr: SocketAddr,
    domain: &str,
    map: Option<&str>,
    timeout: Duration,
) -> Result<Value, WhyError> {
    let allowed = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_[]:".contains(c))
    };
    if !allowed(domain) {
        return Err(WhyError::Name(domain.to_owned()));
    }
    let mut path = format!("/why?domain={domain}");
    if let Some(map) = map {
        if !allowed(map) {
            return Err(WhyError::Name(map.to_owned()));
        }
        path.push_str("&map=");
        path.push_str(map);
    }
    let io = |reason: String| WhyError::Io { addr, reason };
    let response = tokio::time::timeout(timeout, get(addr, &path))
        .await
        .map_err(|_| io(format!("no answer within {} s", timeout.as_secs())))?
        .map_err(|e| io(e.to_string()))?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| io("the response has no header end".to_owned()))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| io("the response has no status".to_owned()))?;
    if status != 200 {
        return Err(WhyError::Status {
            addr,
            status,
            body: body.trim().to_owned(),
        });
    }
    serde_json::from_str(body).map_err(|e| io(format!("the response is not JSON: {e}")))
}

/// `GET path` from the daemon's metrics listener at `addr`: the whole response, at most
/// [`MAX_RESPONSE`] octets.
pub(super) async fn get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut bytes = Vec::new();
    stream.take(MAX_RESPONSE).read_to_end(&mut bytes).await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The `/why` JSON as text: the answer, its age, the reasons with their IDs, and the lookups.
pub fn render(why: &Value) -> String {
    let text = |value: &Value| value.as_str().unwrap_or("-").to_owned();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {}",
        text(&why["destination"]),
        text(&why["reply"])
    );
    let age = why["age_seconds"].as_u64().unwrap_or(0);
    let _ = match why["expires_in_seconds"].as_u64() {
        Some(left) if why["cached"].as_bool() == Some(true) => writeln!(
            out,
            "  cached answer, looked up {age} s ago, kept {left} s more"
        ),
        Some(left) => writeln!(out, "  looked up now, kept {left} s"),
        None => writeln!(out, "  looked up now, not kept"),
    };
    out.push_str("reasons:\n");
    for reason in why["reasons"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  {:14} {}",
            text(&reason["rule"]),
            text(&reason["text"])
        );
    }
    let lookups = &why["lookups"];
    if lookups.is_null() {
        out.push_str("lookups: kept only for TEMP answers and answers after a failure\n");
        return out;
    }
    out.push_str("lookups:\n");
    let mx = &lookups["mx"];
    let _ = writeln!(
        out,
        "  MX: {} (DNSSEC {}){}",
        text(&mx["outcome"]),
        text(&mx["dnssec"]),
        error_suffix(&mx["error"])
    );
    for host in lookups["hosts"].as_array().into_iter().flatten() {
        let addresses: Vec<String> = host["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(&text)
            .collect();
        let _ = writeln!(
            out,
            "  host {}: [{}] (DNSSEC {}), TLSA {}{}",
            text(&host["name"]),
            addresses.join(", "),
            text(&host["address_dnssec"]),
            text(&host["tlsa"]),
            error_suffix(&host["tlsa_error"])
        );
    }
    let sts = &lookups["mta_sts"];
    let _ = writeln!(
        out,
        "  MTA-STS: TXT {}{}, cache {}, fetch {}{}",
        text(&sts["txt"]),
        error_suffix(&sts["txt_problem"]),
        sts["action"]
            .as_str()
            .map_or_else(|| sts["action"].to_string(), str::to_owned),
        sts["fetch"].as_str().unwrap_or("not made"),
        error_suffix(&sts["store_error"])
    );
    out
}

fn error_suffix(error: &Value) -> String {
    error.as_str().map(|e| format!(": {e}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pfx_04_why_renders_answer_reasons_and_lookups() {
        let why = serde_json::json!({
            "destination": "d05-bogus-ds.test",
            "map": "postfix",
            "kind": "temp",
            "reply": "TEMP MX lookup failed",
            "reasons": [{"rule": "DANE-DNS-03", "text": "the MX lookup failed"}],
            "lookups": {
                "mx": {"outcome": "failed", "dnssec": null, "error": "bogus"},
                "hosts": [],
                "hosts_left_out": 0,
                "mta_sts": {"txt": "not-looked-up", "action": "none", "fetch": null}
            },
            "cached": true,
            "age_seconds": 3,
            "expires_in_seconds": 7
        });
        let text = render(&why);
        assert!(
            text.starts_with("d05-bogus-ds.test: TEMP MX lookup failed\n"),
            "{text}"
        );
        assert!(text.contains("looked up 3 s ago, kept 7 s more"), "{text}");
        assert!(text.contains("DANE-DNS-03"), "{text}");
        assert!(text.contains("MX: failed (DNSSEC -): bogus"), "{text}");
    }

    #[tokio::test]
    async fn names_that_would_change_the_request_are_refused() {
        let addr: SocketAddr = "127.0.0.1:9".parse().expect("address");
        for name in ["a b", "a\r\nHost: x", "", "a&map=x", "a%20"] {
            let result = ask(addr, name, None, Duration::from_secs(1)).await;
            assert!(matches!(result, Err(WhyError::Name(_))), "{name:?}");
        }
    }
}
