//! The listener on a real Unix datagram socket, fed datagrams written as libtlsrpt 0.5 writes
//! them (`libtlsrpt.c`, `doc/example.txt`).

use mxsec_proto::name::DomainName;
use mxsec_proto::tlsrpt::report::PolicyType;
use mxsec_proto::tlsrpt::ResultType;
use time::macros::{date, datetime};

use super::*;
use crate::store::SqliteStore;

const NOW: OffsetDateTime = datetime!(2026-12-06 12:00 UTC);

/// Example 1: no policy found, delivered.
const NO_POLICY: &str = "{\"dpv\": \"1\",\"d\": \"example.net\",\"pr\": \
    \"v=TLSRPTv1; rua=https://r.example.net/\",\"policies\":[{\"policy-type\":9,\"t\":0,\"f\":0}]}";

/// An MTA-STS policy whose MX certificate had expired (failure code 204).
const STS_EXPIRED: &str = "{\"dpv\": \"1\",\"d\": \"example.org\",\"pr\": \
    \"v=TLSRPTv1; rua=mailto:r@example.org\",\"policies\":[{\"policy-type\":2,\
    \"policy-domain\": \"example.org\",\"policy-string\":[\"version: STSv1\",\"mode: enforce\",\
    \"mx: mx.example.org\",\"max_age: 86400\"],\"mx-host\":[\"mx.example.org\"],\
    \"failure-details\":[{\"c\":204,\"s\": \"192.0.2.1\",\"n\": \"mx.example.org\",\
    \"r\": \"192.0.2.25\"}],\"t\":1,\"f\":1}]}";

fn name(s: &str) -> DomainName {
    DomainName::parse(s).expect("name")
}

#[tokio::test]
async fn rpt_json_02_libtlsrpt_datagrams_are_counted_per_policy_domain() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Arc::new(
        SqliteStore::open(dir.path().join("p.sqlite"))
            .await
            .expect("open the store"),
    );
    let path = dir.path().join("tlsrpt.sock");
    // A socket left by an earlier run is replaced.
    drop(std::os::unix::net::UnixDatagram::bind(&path).expect("stale socket"));
    let mut listener = DatagramListener::bind(&path, store.clone()).expect("bind");
    let client = std::os::unix::net::UnixDatagram::unbound().expect("client socket");
    for text in [NO_POLICY, NO_POLICY, STS_EXPIRED, "{\"dpv\": \"2\"}"] {
        client.send_to(text.as_bytes(), &path).expect("send");
    }
    let mut total = Received::default();
    while total.accepted + total.rejected < 4 {
        let r = listener.receive(|| NOW).await.expect("receive");
        total.accepted += r.accepted;
        total.rejected += r.rejected;
    }
    assert_eq!(
        total,
        Received {
            accepted: 3,
            rejected: 1
        }
    );
    let day = store.day(date!(2026 - 12 - 06)).await.expect("day");
    let record = |d: &str| {
        day.iter()
            .find(|(n, _)| *n == name(d))
            .map(|(_, r)| r.clone())
            .expect("a record")
    };
    let net = record("example.net");
    assert_eq!(net.datagrams.len(), 1);
    assert_eq!(net.datagrams[0].count, 2);
    assert_eq!(
        net.datagrams[0].policy.policy.policy_type,
        PolicyType::NoPolicyFound
    );
    let org = record("example.org");
    assert_eq!(org.datagrams[0].count, 1);
    assert_eq!(
        org.datagrams[0].policy.failures[0].result_type,
        ResultType::CertificateExpired
    );
}

#[test]
fn a_path_that_is_not_a_socket_is_not_replaced() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("file");
    std::fs::write(&path, "keep").expect("write");
    assert!(remove_stale_socket(&path).is_err());
    assert_eq!(std::fs::read(&path).expect("read"), b"keep");
}
