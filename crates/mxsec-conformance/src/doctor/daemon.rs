//! The policy daemon checks: each socketmap table of `smtp_tls_policy_maps` answers a lookup
//! (POSTFIX.md §4.4), and `mxsec daemon`'s policy store can be written.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use super::postfix::{Endpoint, Socketmap};
use super::{Finding, Severity};

/// The key the check looks up: a name that can never exist (RFC 2606 §2).
const PROBE_KEY: &str = "mxsec-doctor.invalid";
/// The largest reply read (Postfix's own limit, POSTFIX.md §4.4).
const MAX_REPLY: usize = 100_000;

/// DOC-DMN-01: the server of `table` answers a lookup with a status Postfix knows.
pub async fn check_endpoint(table: &Socketmap, timeout: Duration) -> Option<Finding> {
    if table.name.is_empty() {
        // DOC-PFX-03 says so already.
        return None;
    }
    let request = format!("{} {PROBE_KEY}", table.name);
    let lookup = async {
        match &table.endpoint {
            Endpoint::Inet(address) => {
                let stream = TcpStream::connect(address.as_str())
                    .await
                    .map_err(|e| format!("cannot connect: {e}"))?;
                lookup(stream, &request).await
            }
            Endpoint::Unix(path) => {
                let stream = UnixStream::connect(path)
                    .await
                    .map_err(|e| format!("cannot connect: {e}"))?;
                lookup(stream, &request).await
            }
        }
    };
    let problem = match tokio::time::timeout(timeout, lookup).await {
        Err(_) => format!("did not answer within {timeout:?}"),
        Ok(Err(why)) => why,
        Ok(Ok(reply)) => {
            let status = reply.split(' ').next().unwrap_or_default();
            if matches!(status, "OK" | "NOTFOUND" | "TEMP" | "TIMEOUT" | "PERM") {
                return None;
            }
            format!("answered {reply:?}, which is no socketmap status")
        }
    };
    Some(Finding::new(
        "DOC-DMN-01",
        Severity::Error,
        table.table.clone(),
        format!(
            "the policy daemon {problem}: Postfix defers every message while its TLS policy \
             lookup fails"
        ),
        "start mxsec daemon (systemctl start mxsec), or fix the address in \
         smtp_tls_policy_maps",
    ))
}

/// Sends one netstring request and reads one netstring reply.
async fn lookup<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
) -> Result<String, String> {
    let framed = format!("{}:{request},", request.len());
    stream
        .write_all(framed.as_bytes())
        .await
        .map_err(|e| format!("cannot send a lookup: {e}"))?;
    let mut length = Vec::new();
    loop {
        let byte = stream
            .read_u8()
            .await
            .map_err(|e| format!("closed the connection: {e}"))?;
        match byte {
            b':' => break,
            b'0'..=b'9' if length.len() < 6 => length.push(byte),
            _ => return Err("sent a reply that is not a netstring".to_owned()),
        }
    }
    let length: usize = String::from_utf8_lossy(&length)
        .parse()
        .map_err(|_| "sent a reply that is not a netstring".to_owned())?;
    if length > MAX_REPLY {
        return Err(format!("sent a reply of {length} octets"));
    }
    let mut payload = vec![0; length + 1];
    stream
        .read_exact(&mut payload)
        .await
        .map_err(|e| format!("closed the connection: {e}"))?;
    if payload.pop() != Some(b',') {
        return Err("sent a reply that is not a netstring".to_owned());
    }
    Ok(String::from_utf8_lossy(&payload).into_owned())
}

/// DOC-DMN-02: the SQLite store that `config` (an `mxsec daemon` configuration) names can be
/// written: a read-only store means policies are never cached, so a blocked fetch later
/// downgrades to no policy (STS-FETCH-07).
pub fn check_store(config: &Path) -> Option<Finding> {
    let subject = config.display().to_string();
    let store = match store_path(config) {
        Ok(Some(store)) => store,
        // Redis: nothing on disk to check here.
        Ok(None) => return None,
        Err(why) => {
            return Some(Finding::new(
                "DOC-DMN-02",
                Severity::Error,
                subject,
                why,
                "mxsec daemon --config FILE says what is wrong with it",
            ))
        }
    };
    let written = if store.exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(&store)
            .map(drop)
    } else {
        let dir = store.parent().unwrap_or(Path::new("."));
        tempfile::tempfile_in(dir).map(drop)
    };
    written.err().map(|e| {
        Finding::new(
            "DOC-DMN-02",
            Severity::Error,
            store.display().to_string(),
            format!(
                "the policy store cannot be written ({e}): policies are not kept, so a \
                 blocked policy fetch later means no policy (RFC 8461 §5.1, STS-FETCH-07)"
            ),
            "give the store's directory to the daemon's user, on a writable file system",
        )
    })
}

/// The SQLite file of an `mxsec daemon` configuration (`[cache] store`, docs/daemon.md);
/// `None` for Redis.
fn store_path(config: &Path) -> Result<Option<PathBuf>, String> {
    let text = std::fs::read_to_string(config)
        .map_err(|e| format!("cannot read the daemon configuration: {e}"))?;
    let value: toml::Table = text
        .parse()
        .map_err(|e| format!("the daemon configuration is not TOML: {e}"))?;
    let store = value
        .get("cache")
        .and_then(|cache| cache.get("store"))
        .and_then(|store| store.as_str())
        .unwrap_or(DEFAULT_STORE);
    if store.starts_with("redis://") || store.starts_with("rediss://") {
        return Ok(None);
    }
    Ok(Some(PathBuf::from(
        store.strip_prefix("sqlite://").unwrap_or(store),
    )))
}

/// The store `mxsec daemon` uses when its configuration names none.
const DEFAULT_STORE: &str = "/var/lib/mxsec/policies.sqlite3";
