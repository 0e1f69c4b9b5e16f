//! Clients of a Redis server, with TLS for `rediss://` URLs.
//!
//! Redis serves TLS on a port of its own (`tls-port`), which a `rediss://HOST:PORT/` URL
//! selects. The client verifies the server's certificate chain (RFC 5280 §6) and that it
//! names the URL's host (RFC 6125 §6), with rustls: against the system's trust anchors, or,
//! when [`RedisTls::ca_file`] is set, against the certificates of that file alone (as
//! `redis-cli --cacert` does), for a server whose certificate a private CA issued. A server
//! that asks for a client certificate (`tls-auth-clients yes`) gets
//! [`RedisTls::client_identity`], if set (RFC 8446 §4.4.2).
//!
//! The files are read, and their PEM checked, when the client is built, so that a wrong path
//! or a file without a certificate fails at start with the path in the message.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use redis::{Client, ClientTlsConfig, ConnectionAddr, RedisError, TlsCertificates};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The largest certificate or key file read, far above any real chain.
const MAX_FILE: u64 = 1024 * 1024;

/// The TLS settings of a Redis client, beyond what the URL says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedisTls {
    /// A PEM file of the CA certificates that may issue the server's certificate, instead of
    /// the system's trust anchors.
    pub ca_file: Option<PathBuf>,
    /// A client certificate and key, for a server that requires them.
    pub client_identity: Option<ClientIdentity>,
}

impl RedisTls {
    /// Whether nothing is set, so that the system's trust anchors verify the server and no
    /// client certificate is sent.
    pub fn is_default(&self) -> bool {
        self.ca_file.is_none() && self.client_identity.is_none()
    }
}

/// A client certificate and its private key, each in a PEM file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The certificate chain, the client's certificate first.
    pub cert_file: PathBuf,
    /// The private key (PKCS #8, PKCS #1 or SEC 1).
    pub key_file: PathBuf,
}

/// Why a Redis client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisClientError {
    /// The URL is not a Redis URL.
    #[error("invalid Redis URL")]
    Url(#[source] RedisError),
    /// A CA file or client certificate was given for a URL without TLS.
    #[error(
        "a Redis CA file or client certificate needs a rediss:// URL (TLS); \
         the URL given is redis://"
    )]
    TlsNeedsRediss,
    /// A certificate or key file cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The error reading it.
        #[source]
        source: io::Error,
    },
    /// A certificate or key file is larger than any real one.
    #[error("{} is larger than {MAX_FILE} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// A certificate file holds no PEM certificate.
    #[error("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A key file holds no PEM private key.
    #[error("{} holds no PEM private key", path.display())]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// A certificate or key file holds malformed PEM.
    #[error("{} holds malformed PEM", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: pem::Error,
    },
    /// The client refused the TLS settings.
    #[error("invalid TLS settings for Redis")]
    Tls(#[source] RedisError),
}

/// A client of the Redis server at `url`, with `tls` for a `rediss://` URL.
///
/// # Errors
///
/// [`RedisClientError`]: an invalid URL, TLS settings with a `redis://` URL, or a CA or
/// client file that cannot be read or holds no certificate or key.
pub fn client(url: &str, tls: &RedisTls) -> Result<Client, RedisClientError> {
    let plain = Client::open(url).map_err(RedisClientError::Url)?;
    if tls.is_default() {
        return Ok(plain);
    }
    if !matches!(
        plain.get_connection_info().addr(),
        ConnectionAddr::TcpTls { .. }
    ) {
        return Err(RedisClientError::TlsNeedsRediss);
    }
    let root_cert = match &tls.ca_file {
        Some(path) => {
            let pem = read(path)?;
            check_certificates(path, &pem)?;
            Some(pem)
        }
        None => None,
    };
    let client_tls = match &tls.client_identity {
        Some(identity) => {
            let client_cert = read(&identity.cert_file)?;
            check_certificates(&identity.cert_file, &client_cert)?;
            let client_key = read(&identity.key_file)?;
            check_key(&identity.key_file, &client_key)?;
            Some(ClientTlsConfig {
                client_cert,
                client_key,
            })
        }
        None => None,
    };
    Client::build_with_tls(
        url,
        TlsCertificates {
            client_tls,
            root_cert,
        },
    )
    .map_err(RedisClientError::Tls)
}

/// The server a client connects to, for messages: `rediss://HOST:PORT` (TLS) or
/// `redis://HOST:PORT`, never the whole URL, which may hold a password.
pub fn server(client: &Client) -> String {
    let addr = client.get_connection_info().addr();
    match addr {
        ConnectionAddr::TcpTls { .. } => format!("rediss://{addr}"),
        _ => format!("redis://{addr}"),
    }
}

/// `url` with its password, if any, replaced by `***`, for messages:
/// `rediss://:secret@host:6380/0` becomes `rediss://:***@host:6380/0`.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, RedisClientError> {
    let read_error = |source| RedisClientError::Read {
        path: path.to_owned(),
        source,
    };
    let size = fs::metadata(path).map_err(read_error)?.len();
    if size > MAX_FILE {
        return Err(RedisClientError::TooLarge {
            path: path.to_owned(),
        });
    }
    fs::read(path).map_err(read_error)
}

fn check_certificates(path: &Path, pem: &[u8]) -> Result<(), RedisClientError> {
    let mut found = false;
    for cert in CertificateDer::pem_slice_iter(pem) {
        cert.map_err(|source| RedisClientError::Pem {
            path: path.to_owned(),
            source,
        })?;
        found = true;
    }
    if found {
        Ok(())
    } else {
        Err(RedisClientError::NoCertificate {
            path: path.to_owned(),
        })
    }
}

fn check_key(path: &Path, pem: &[u8]) -> Result<(), RedisClientError> {
    match PrivateKeyDer::from_pem_slice(pem) {
        Ok(_) => Ok(()),
        Err(pem::Error::NoItemsFound) => Err(RedisClientError::NoKey {
            path: path.to_owned(),
        }),
        Err(source) => Err(RedisClientError::Pem {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_ca(path: PathBuf) -> RedisTls {
        RedisTls {
            ca_file: Some(path),
            client_identity: None,
        }
    }

    #[test]
    fn a_missing_ca_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("absent.pem");
        let err = client("rediss://localhost:6380/", &with_ca(path.clone())).expect_err("absent");
        assert!(
            matches!(&err, RedisClientError::Read { path: p, .. } if *p == path),
            "{err:?}"
        );
        assert!(err.to_string().contains("absent.pem"), "{err}");
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("empty.pem");
        fs::write(&path, "not a certificate\n").expect("write");
        let err = client("rediss://localhost:6380/", &with_ca(path.clone())).expect_err("empty");
        assert!(
            matches!(&err, RedisClientError::NoCertificate { path: p } if *p == path),
            "{err:?}"
        );
        assert!(err.to_string().contains("empty.pem"), "{err}");
    }

    #[test]
    fn a_key_file_without_a_key_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let cert = dir.path().join("client.pem");
        let key = dir.path().join("client.key");
        let pki = mxsec_testbed::pki::TestPki::generate(std::time::SystemTime::now()).expect("PKI");
        fs::write(&cert, pki.root_pem()).expect("write");
        fs::write(&key, pki.root_pem()).expect("write");
        let tls = RedisTls {
            ca_file: None,
            client_identity: Some(ClientIdentity {
                cert_file: cert,
                key_file: key.clone(),
            }),
        };
        let err = client("rediss://localhost:6380/", &tls).expect_err("no key");
        assert!(
            matches!(&err, RedisClientError::NoKey { path } if *path == key),
            "{err:?}"
        );
    }

    #[test]
    fn tls_settings_with_a_redis_url_are_refused() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("ca.pem");
        let err = client("redis://127.0.0.1:6379/", &with_ca(path)).expect_err("redis://");
        assert!(matches!(err, RedisClientError::TlsNeedsRediss), "{err:?}");
    }

    #[test]
    fn a_redacted_url_hides_only_the_password() {
        assert_eq!(
            redacted_url("rediss://:secret@cache.example:6380/0"),
            "rediss://:***@cache.example:6380/0"
        );
        assert_eq!(
            redacted_url("redis://mta:p@ss@127.0.0.1/"),
            "redis://mta:***@127.0.0.1/"
        );
        assert_eq!(
            redacted_url("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
    }

    #[test]
    fn the_server_name_leaves_the_password_out() {
        let client = client(
            "rediss://:secret@cache.example:6380/2",
            &RedisTls::default(),
        )
        .expect("client");
        assert_eq!(server(&client), "rediss://cache.example:6380");
    }
}
