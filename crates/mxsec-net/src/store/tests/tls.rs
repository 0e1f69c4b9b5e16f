//! The Redis store over TLS (`rediss://`), against a real `redis-server` speaking TLS only,
//! with a certificate of the testbed PKI: the server is verified against the CA file given
//! (RFC 5280 §6, the host name by RFC 6125 §6), or the system's trust anchors without one,
//! and a client certificate is sent when the server requires one.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::SystemTime;

use mxsec_testbed::pki::{LeafPurpose, LeafSpec, ServedChain, TestPki};
use mxsec_testbed::redis::{ClientAuth, RedisServer, RedisTlsSetup};

use super::*;
use crate::redis_client::{ClientIdentity, RedisTls};

const PREFIX: &str = "mxsec-test:sts:";

/// A TLS server with a certificate of a fresh PKI, and a directory holding that PKI's root
/// as `ca.pem`.
struct TlsFixture {
    pki: TestPki,
    server: RedisServer,
    dir: tempfile::TempDir,
}

impl TlsFixture {
    fn start(client_auth: ClientAuth) -> Self {
        let pki = TestPki::generate(SystemTime::now()).expect("PKI");
        let setup = RedisTlsSetup::from_pki(&pki, client_auth).expect("server certificate");
        let server = match RedisServer::start_tls(&setup) {
            Ok(server) => server,
            Err(e) => panic!("the Redis TLS tests need a real redis-server: {e}"),
        };
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(dir.path().join("ca.pem"), pki.root_pem()).expect("write ca.pem");
        Self { pki, server, dir }
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn with_ca(&self) -> RedisTls {
        RedisTls {
            ca_file: Some(self.ca_file()),
            client_identity: None,
        }
    }

    /// The server's scheme, host and port, as connection errors name it.
    fn server_name(&self) -> String {
        format!("rediss://localhost:{}", self.server.port())
    }
}

/// The error and its sources, one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let _ = write!(text, ": {e}");
        source = e.source();
    }
    text
}

/// How many keys the server holds, read over TLS with the right CA.
async fn key_count(fixture: &TlsFixture) -> u64 {
    let client = crate::redis_client::client(&fixture.server.url(), &fixture.with_ca())
        .expect("client with the right CA");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    ::redis::cmd("DBSIZE")
        .query_async(&mut conn)
        .await
        .expect("DBSIZE")
}

#[tokio::test]
async fn sts_pol_06_redis_tls_round_trip_with_the_ca_file() {
    let fixture = TlsFixture::start(ClientAuth::None);
    assert!(fixture.server.url().starts_with("rediss://localhost:"));
    let store = RedisStore::connect_tls(&fixture.server.url(), PREFIX, &fixture.with_ca())
        .await
        .expect("connect over TLS with the CA file");
    let e = entry("example.com", T0, 86_400);
    store.put(&e, T0 + 10).await.expect("put");
    assert_eq!(
        store.get(&name("example.com"), T0 + 10).await.expect("get"),
        Some(e)
    );
    assert_eq!(store.count(T0 + 10).await.expect("count"), 1);
}

#[tokio::test]
async fn sts_pol_06_redis_tls_wrong_ca_is_a_handshake_error_and_nothing_is_written() {
    let fixture = TlsFixture::start(ClientAuth::None);
    let other = TestPki::generate(SystemTime::now()).expect("other PKI");
    let wrong = fixture.dir.path().join("other-ca.pem");
    std::fs::write(&wrong, other.root_pem()).expect("write other-ca.pem");
    let tls = RedisTls {
        ca_file: Some(wrong),
        client_identity: None,
    };
    let err = RedisStore::connect_tls(&fixture.server.url(), PREFIX, &tls)
        .await
        .expect_err("a certificate the CA file does not verify");
    let text = chain(&err);
    assert!(
        matches!(&err, StoreError::RedisConnect { server, .. } if *server == fixture.server_name()),
        "{text}"
    );
    assert!(text.contains(&fixture.server_name()), "{text}");
    assert!(text.contains("certificate"), "{text}");
    assert_eq!(key_count(&fixture).await, 0);
}

#[tokio::test]
async fn sts_pol_06_redis_tls_without_a_ca_file_uses_the_system_roots() {
    // The testbed's root is in no system store, so the system's trust anchors refuse it.
    let fixture = TlsFixture::start(ClientAuth::None);
    let err = RedisStore::connect(&fixture.server.url(), PREFIX)
        .await
        .expect_err("a certificate of a private CA");
    assert!(
        matches!(&err, StoreError::RedisConnect { .. }),
        "{}",
        chain(&err)
    );
}

#[tokio::test]
async fn sts_pol_06_redis_tls_client_certificate_when_the_server_requires_one() {
    let fixture = TlsFixture::start(ClientAuth::Required);
    let err = RedisStore::connect_tls(&fixture.server.url(), PREFIX, &fixture.with_ca())
        .await
        .expect_err("no client certificate");
    assert!(
        matches!(
            &err,
            StoreError::RedisConnect { .. } | StoreError::Redis { .. }
        ),
        "{}",
        chain(&err)
    );

    let client = fixture
        .pki
        .issue(&LeafSpec::new(["mta1.fleet.test"]).purpose(LeafPurpose::Client))
        .expect("client certificate");
    let cert_file = fixture.dir.path().join("client.pem");
    let key_file = fixture.dir.path().join("client.key");
    std::fs::write(
        &cert_file,
        client.chain_pem(ServedChain::LeafAndIntermediate),
    )
    .expect("write client.pem");
    std::fs::write(&key_file, client.key().private_key_pem()).expect("write client.key");
    let tls = RedisTls {
        ca_file: Some(fixture.ca_file()),
        client_identity: Some(ClientIdentity {
            cert_file,
            key_file,
        }),
    };
    let store = RedisStore::connect_tls(&fixture.server.url(), PREFIX, &tls)
        .await
        .expect("connect with a client certificate");
    let e = entry("example.org", T0, 3_600);
    store.put(&e, T0).await.expect("put");
    assert_eq!(
        store.get(&name("example.org"), T0).await.expect("get"),
        Some(e)
    );
}
