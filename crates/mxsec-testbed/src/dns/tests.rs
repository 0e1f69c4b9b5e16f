//! Wire-level tests of the server: each sends real queries over loopback UDP or TCP.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::*;

pub(super) fn query_message(name: &str, rtype: RecordType, dnssec: bool) -> Message {
    let mut msg = Message::query();
    msg.metadata.id = 4242;
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(Name::from_str(name).unwrap(), rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.set_dnssec_ok(dnssec);
    msg.set_edns(edns);
    msg
}

pub(super) async fn udp(server: SocketAddr, msg: &Message) -> Option<Message> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket
        .send_to(&msg.to_vec().unwrap(), server)
        .await
        .unwrap();
    let mut buf = vec![0u8; 65_535];
    let (len, _) = tokio::time::timeout(Duration::from_millis(500), socket.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    Some(Message::from_vec(&buf[..len]).unwrap())
}

async fn tcp(server: SocketAddr, msg: &Message) -> Message {
    let mut stream = TcpStream::connect(server).await.unwrap();
    let bytes = msg.to_vec().unwrap();
    stream
        .write_all(&u16::try_from(bytes.len()).unwrap().to_be_bytes())
        .await
        .unwrap();
    stream.write_all(&bytes).await.unwrap();
    let len = stream.read_u16().await.unwrap();
    let mut buf = vec![0u8; usize::from(len)];
    stream.read_exact(&mut buf).await.unwrap();
    Message::from_vec(&buf).unwrap()
}

pub(super) async fn ask(server: &DnsServer, name: &str, rtype: RecordType) -> Message {
    udp(server.addr(), &query_message(name, rtype, true))
        .await
        .expect("an answer")
}

pub(super) fn types(records: &[Record]) -> Vec<(String, RecordType)> {
    records
        .iter()
        .map(|r| (r.name.to_string(), r.record_type()))
        .collect()
}

pub(super) fn nsec_owners(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.record_type() == RecordType::NSEC)
        .map(|r| r.name.to_string())
        .collect()
}

fn example_zone() -> Zone {
    Zone::new("x.test")
        .mx(10, "mx.x.test")
        .a("mx.x.test", Ipv4Addr::new(127, 0, 1, 25))
        .cname("alias.x.test", "mx.x.test")
        .txt("_mta-sts.x.test", &["v=STSv1; ", "id=1"])
        .a("a.b.c.x.test", Ipv4Addr::new(127, 0, 1, 26))
}

pub(super) async fn start(zones: Vec<Zone>) -> DnsServer {
    DnsServer::builder().zones(zones).start().await.unwrap()
}

#[tokio::test]
async fn dane_dns_02_positive_answer_carries_rrsig_only_with_do() {
    let server = start(vec![example_zone()]).await;
    let signed = ask(&server, "mx.x.test.", RecordType::A).await;
    assert_eq!(signed.metadata.response_code, ResponseCode::NoError);
    assert!(signed.metadata.authoritative);
    assert_eq!(
        types(&signed.answers),
        vec![
            ("mx.x.test.".to_owned(), RecordType::A),
            ("mx.x.test.".to_owned(), RecordType::RRSIG)
        ]
    );
    assert!(signed.authorities.is_empty());

    let plain = udp(
        server.addr(),
        &query_message("mx.x.test.", RecordType::A, false),
    )
    .await
    .unwrap();
    assert_eq!(
        types(&plain.answers),
        vec![("mx.x.test.".to_owned(), RecordType::A)]
    );
}

#[tokio::test]
async fn sts_txt_06_txt_keeps_character_strings_apart() {
    let server = start(vec![example_zone()]).await;
    let response = ask(&server, "_mta-sts.x.test.", RecordType::TXT).await;
    let RData::TXT(txt) = &response.answers[0].data else {
        panic!("not a TXT: {response:?}");
    };
    let strings: Vec<&[u8]> = txt.txt_data.iter().map(|s| &s[..]).collect();
    assert_eq!(strings, vec![&b"v=STSv1; "[..], &b"id=1"[..]]);
}

#[tokio::test]
async fn dane_disc_03_cname_is_followed_to_existing_data() {
    let server = start(vec![example_zone()]).await;
    let response = ask(&server, "alias.x.test.", RecordType::A).await;
    assert_eq!(
        types(&response.answers),
        vec![
            ("alias.x.test.".to_owned(), RecordType::CNAME),
            ("alias.x.test.".to_owned(), RecordType::RRSIG),
            ("mx.x.test.".to_owned(), RecordType::A),
            ("mx.x.test.".to_owned(), RecordType::RRSIG),
        ]
    );
    // No AAAA at the target, in the same zone: the CNAME, then the target's NODATA with its
    // NSEC (RFC 1034 §4.3.2, RFC 4035 §3.1.3.1).
    let response = ask(&server, "alias.x.test.", RecordType::AAAA).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        types(&response.answers),
        vec![
            ("alias.x.test.".to_owned(), RecordType::CNAME),
            ("alias.x.test.".to_owned(), RecordType::RRSIG),
        ]
    );
    assert_eq!(nsec_owners(&response.authorities), vec!["mx.x.test."]);
}

#[tokio::test]
async fn dane_disc_03_cname_to_a_missing_name_is_nxdomain_with_its_proof() {
    let server = start(vec![
        Zone::new("x.test").cname("gone.x.test", "missing.x.test"),
        Zone::new("y.test").cname("gone.y.test", "missing.x.test"),
    ])
    .await;
    // Same zone: RCODE NXDOMAIN for the target (RFC 6604 §2), its NSEC proof included.
    let response = ask(&server, "gone.x.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(
        types(&response.answers),
        vec![
            ("gone.x.test.".to_owned(), RecordType::CNAME),
            ("gone.x.test.".to_owned(), RecordType::RRSIG),
        ]
    );
    assert!(!nsec_owners(&response.authorities).is_empty());
    // Another zone: the chain stops after the CNAME, with no denial.
    let response = ask(&server, "gone.y.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert_eq!(response.answers.len(), 2);
    assert!(response.authorities.is_empty());
}

#[tokio::test]
async fn dane_disc_06_nodata_proves_with_nsec_at_the_name() {
    let server = start(vec![example_zone()]).await;
    let response = ask(&server, "mx.x.test.", RecordType::TLSA).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert!(response.answers.is_empty());
    assert_eq!(nsec_owners(&response.authorities), vec!["mx.x.test."]);
    assert!(response
        .authorities
        .iter()
        .any(|r| r.record_type() == RecordType::SOA));
}

#[tokio::test]
async fn dane_disc_06_empty_non_terminal_is_nodata() {
    let server = start(vec![example_zone()]).await;
    let response = ask(&server, "b.c.x.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    let nsecs: Vec<_> = response
        .authorities
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(nsec)) => Some(nsec.next_domain_name().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(nsecs, vec!["a.b.c.x.test."]);
}

#[tokio::test]
async fn dane_disc_06_deep_nxdomain_carries_the_wildcard_proof() {
    let server = start(vec![example_zone()]).await;
    let response = ask(&server, "_25._tcp.mx.x.test.", RecordType::TLSA).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
    // mx.x.test covers both the name and *.mx.x.test (its next name sorts after both).
    assert_eq!(nsec_owners(&response.authorities), vec!["mx.x.test."]);

    let response = ask(&server, "_25._tcp.nope.x.test.", RecordType::TLSA).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
    // The covering NSEC and the one covering *.x.test (at the apex).
    let owners = nsec_owners(&response.authorities);
    assert!(owners.contains(&"x.test.".to_owned()), "{owners:?}");
    assert_eq!(owners.len(), 2, "{owners:?}");
}

#[tokio::test]
async fn dane_dns_02_ds_comes_from_the_parent_and_insecure_delegation_is_proven() {
    let server = start(vec![example_zone(), Zone::new("plain.test").insecure()]).await;
    let response = ask(&server, "x.test.", RecordType::DS).await;
    assert_eq!(
        types(&response.answers),
        vec![
            ("x.test.".to_owned(), RecordType::DS),
            ("x.test.".to_owned(), RecordType::RRSIG)
        ]
    );
    let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &response.answers[1].data else {
        panic!("no RRSIG");
    };
    assert_eq!(sig.input().signer_name.to_string(), "test.");

    let response = ask(&server, "plain.test.", RecordType::DS).await;
    assert!(response.answers.is_empty());
    let nsec = response
        .authorities
        .iter()
        .find_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(nsec)) => Some(nsec.clone()),
            _ => None,
        })
        .expect("an NSEC at the delegation");
    assert!(nsec.type_set().contains(RecordType::NS));
    assert!(!nsec.type_set().contains(RecordType::DS));

    // Other types at a child apex come from the child itself.
    let response = ask(&server, "plain.test.", RecordType::SOA).await;
    assert_eq!(response.answers.len(), 1, "unsigned: no RRSIG");
}

#[tokio::test]
async fn dane_dns_03_faults_servfail_refused_drop_and_delay() {
    let zone = example_zone()
        .fault("mx.x.test", RecordType::TLSA, Fault::ServFail)
        .fault("mx.x.test", RecordType::TXT, Fault::Refused)
        .fault("mx.x.test", RecordType::AAAA, Fault::Drop)
        .fault_all_types("slow.x.test", Fault::Delay(Duration::from_millis(300)));
    let server = start(vec![zone]).await;
    let r = ask(&server, "mx.x.test.", RecordType::TLSA).await;
    assert_eq!(r.metadata.response_code, ResponseCode::ServFail);
    let r = ask(&server, "mx.x.test.", RecordType::TXT).await;
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
    assert!(udp(
        server.addr(),
        &query_message("mx.x.test.", RecordType::AAAA, true)
    )
    .await
    .is_none());
    // The A record is untouched by the faults on other types.
    let r = ask(&server, "mx.x.test.", RecordType::A).await;
    assert_eq!(r.answers.len(), 2);

    let started = std::time::Instant::now();
    let r = ask(&server, "slow.x.test.", RecordType::A).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
}

#[tokio::test]
async fn dane_tlsa_06_truncation_fault_and_huge_txt_need_tcp() {
    let huge: Vec<Vec<u8>> = (0..40).map(|i| vec![b'a' + (i % 26) as u8; 200]).collect();
    let zone = example_zone()
        .fault("mx.x.test", RecordType::A, Fault::Truncate)
        .txt_bytes("big.x.test", &huge);
    let server = start(vec![zone]).await;

    let r = ask(&server, "mx.x.test.", RecordType::A).await;
    assert!(r.metadata.truncation);
    assert!(r.answers.is_empty());
    let r = tcp(
        server.addr(),
        &query_message("mx.x.test.", RecordType::A, true),
    )
    .await;
    assert!(!r.metadata.truncation);
    assert_eq!(r.answers.len(), 2);

    let r = ask(&server, "big.x.test.", RecordType::TXT).await;
    assert!(
        r.metadata.truncation,
        "8 KB of TXT cannot fit in 1232 octets"
    );
    let r = tcp(
        server.addr(),
        &query_message("big.x.test.", RecordType::TXT, true),
    )
    .await;
    assert_eq!(r.answers.len(), 2);
    assert_eq!(server.tcp_queries(), 2);
}

/// A signed TLSA answer over 1232 octets is truncated over UDP, and over TCP it is exactly as
/// long as `mxsec_proto::dnssec::strength::signed_answer_len` computes (DANE-TLSA-08).
#[tokio::test]
async fn dane_tlsa_08_large_signed_tlsa_answer_has_the_computed_size() {
    use mxsec_proto::dane::tlsa::{CertUsage, MatchingType, Selector, TlsaRecord};
    use mxsec_proto::dnssec::strength;

    let owner = "_25._tcp.mx.x.test";
    let records: Vec<TlsaRecord> = (0..5u8)
        .map(|i| TlsaRecord {
            usage: CertUsage::DaneEe,
            selector: Selector::Spki,
            matching: MatchingType::Full,
            data: vec![i; 294],
        })
        .collect();
    let zone = records.iter().fold(example_zone(), |z, r| z.tlsa(owner, r));
    let server = start(vec![zone]).await;

    let name = format!("{owner}.");
    let r = ask(&server, &name, RecordType::TLSA).await;
    assert!(r.metadata.truncation);
    let r = tcp(server.addr(), &query_message(&name, RecordType::TLSA, true)).await;
    assert_eq!(r.answers.len(), 6, "five TLSA and one RRSIG");
    let computed = strength::signed_answer_len(
        strength::wire_len(owner),
        records.iter().map(|r| 3 + r.data.len()),
        strength::wire_len("x.test"),
        [64],
    );
    assert_eq!(r.to_vec().unwrap().len(), computed);
    assert!(strength::exceeds_udp_limit(computed));
}

#[tokio::test]
async fn dane_dns_02_servers_on_one_loopback_address_coexist() {
    let a = DnsServer::builder()
        .ip(IpAddr::V4(Ipv4Addr::new(127, 0, 53, 1)))
        .zone(example_zone())
        .start()
        .await
        .unwrap();
    let b = DnsServer::builder()
        .ip(IpAddr::V4(Ipv4Addr::new(127, 0, 53, 1)))
        .zone(Zone::new("y.test").a("y.test", Ipv4Addr::LOCALHOST))
        .start()
        .await
        .unwrap();
    assert_ne!(a.addr(), b.addr());
    assert_ne!(a.trust_anchor(), b.trust_anchor());
    let r = ask(&b, "y.test.", RecordType::A).await;
    assert_eq!(r.answers.len(), 2);
    let r = ask(&a, "y.test.", RecordType::A).await;
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
}

#[tokio::test]
async fn dane_dns_01_trust_anchor_exports_dnskey_and_ds_lines() {
    let server = start(Vec::new()).await;
    let anchor = server.trust_anchor();
    assert!(anchor
        .dnskey_line()
        .starts_with(". 3600 IN DNSKEY 257 3 13 "));
    assert!(anchor.ds_line().starts_with(". 3600 IN DS "));
    let dir = std::env::temp_dir().join(format!("mxsec-anchor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = anchor.write_files(&dir).unwrap();
    assert_eq!(
        std::fs::read_to_string(&files.ds).unwrap().trim(),
        anchor.ds_line()
    );
    // The served root DNSKEY is the anchor's.
    let r = ask(&server, ".", RecordType::DNSKEY).await;
    let RData::DNSSEC(DNSSECRData::DNSKEY(key)) = &r.answers[0].data else {
        panic!("no DNSKEY");
    };
    assert!(anchor.dnskey_line().ends_with(&key.to_string()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn dane_dns_02_set_zones_keeps_keys_and_swaps_data() {
    let server = start(vec![example_zone()]).await;
    let ds_before = ask(&server, "x.test.", RecordType::DS).await.answers[0].clone();
    server
        .set_zones(&[example_zone().a("new.x.test", Ipv4Addr::LOCALHOST)])
        .unwrap();
    let ds_after = ask(&server, "x.test.", RecordType::DS).await.answers[0].clone();
    assert_eq!(ds_before, ds_after);
    let r = ask(&server, "new.x.test.", RecordType::A).await;
    assert_eq!(r.answers.len(), 2);
}

#[tokio::test]
async fn dane_dns_05_zone_errors_name_the_problem() {
    let err = |zones: Vec<Zone>| async move {
        DnsServer::builder()
            .zones(zones)
            .start()
            .await
            .unwrap_err()
            .to_string()
    };
    let msg = err(vec![Zone::new("x.test").a("mx.y.test", Ipv4Addr::LOCALHOST)]).await;
    assert!(
        msg.contains("mx.y.test") && msg.contains("not inside"),
        "{msg}"
    );
    let msg = err(vec![
        Zone::new("x.test").a("mx.sub.x.test", Ipv4Addr::LOCALHOST),
        Zone::new("sub.x.test"),
    ])
    .await;
    assert!(msg.contains("child zone sub.x.test"), "{msg}");
    let msg = err(vec![Zone::new("x.test")
        .cname("a.x.test", "b.x.test")
        .a("a.x.test", Ipv4Addr::LOCALHOST)])
    .await;
    assert!(msg.contains("CNAME and other data"), "{msg}");
    let msg = err(vec![
        Zone::new("x.test").corrupt_rrsig("x.test", RecordType::TLSA)
    ])
    .await;
    assert!(msg.contains("no x.test./TLSA RRset"), "{msg}");
    let msg = err(vec![Zone::new(".").insecure()]).await;
    assert!(msg.contains("root zone must be secure"), "{msg}");
}

/// hickory 0.26.3's validating resolver, configured as the `validate` back end of mxsec-net is.
mod hickory_validation {
    use std::sync::Arc;

    use hickory_proto::dnssec::{Proof, PublicKey, TrustAnchors};
    use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
    use hickory_resolver::net::runtime::TokioRuntimeProvider;
    use hickory_resolver::net::{DnsError, NetError};
    use hickory_resolver::Resolver;

    use super::*;

    fn resolver(server: &DnsServer) -> Resolver<TokioRuntimeProvider> {
        let mut ns = NameServerConfig::udp_and_tcp(server.addr().ip());
        for c in &mut ns.connections {
            c.port = server.addr().port();
        }
        let config = ResolverConfig::from_name_servers(vec![ns]);
        let mut opts = ResolverOpts::default();
        opts.cache_size = 0;
        opts.timeout = Duration::from_secs(2);
        let line = server.trust_anchor().dnskey_line().to_owned();
        let anchors: TrustAnchors = line.parse().unwrap();
        Resolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .with_trust_anchor(Arc::new(anchors))
            .build()
            .unwrap()
    }

    fn proofs(lookup: &hickory_resolver::lookup::Lookup, rtype: RecordType) -> Vec<Proof> {
        lookup
            .answers()
            .iter()
            .filter(|r| r.record_type() == rtype)
            .map(|r| r.proof)
            .collect()
    }

    fn denial(err: &NetError) -> (ResponseCode, Vec<Proof>) {
        match err {
            NetError::Dns(DnsError::NoRecordsFound(no)) => (
                no.response_code,
                no.authorities
                    .iter()
                    .flat_map(|a| a.iter())
                    .filter(|r| r.record_type() == RecordType::NSEC)
                    .map(|r| r.proof)
                    .collect(),
            ),
            other => panic!("not a denial: {other:?}"),
        }
    }

    #[tokio::test]
    async fn dane_dns_02_hickory_validates_every_answer_shape() {
        let server = start(vec![
            example_zone(),
            Zone::new("plain.test")
                .insecure()
                .a("mx.plain.test", Ipv4Addr::LOCALHOST),
            Zone::new("broken.test")
                .bogus(Bogus::ExpiredSignatures)
                .a("mx.broken.test", Ipv4Addr::LOCALHOST),
            Zone::new("wrongds.test")
                .bogus(Bogus::DsMismatch)
                .a("mx.wrongds.test", Ipv4Addr::LOCALHOST),
            Zone::new("unsigned.test")
                .bogus(Bogus::MissingSignatures)
                .a("mx.unsigned.test", Ipv4Addr::LOCALHOST),
            Zone::new("corrupt.test")
                .a("mx.corrupt.test", Ipv4Addr::LOCALHOST)
                .a("ok.corrupt.test", Ipv4Addr::LOCALHOST)
                .corrupt_rrsig("mx.corrupt.test", RecordType::A),
        ])
        .await;
        let r = resolver(&server);

        let l = r.lookup("mx.x.test.", RecordType::A).await.unwrap();
        assert_eq!(proofs(&l, RecordType::A), vec![Proof::Secure]);
        let l = r.lookup("alias.x.test.", RecordType::A).await.unwrap();
        assert_eq!(proofs(&l, RecordType::CNAME), vec![Proof::Secure]);
        assert_eq!(proofs(&l, RecordType::A), vec![Proof::Secure]);
        let l = r.lookup("mx.plain.test.", RecordType::A).await.unwrap();
        assert_eq!(proofs(&l, RecordType::A), vec![Proof::Insecure]);

        let e = r.lookup("mx.x.test.", RecordType::TLSA).await.unwrap_err();
        assert_eq!(denial(&e), (ResponseCode::NoError, vec![Proof::Secure]));
        let e = r
            .lookup("_25._tcp.mx.x.test.", RecordType::TLSA)
            .await
            .unwrap_err();
        let (code, nsecs) = denial(&e);
        assert_eq!(code, ResponseCode::NXDomain);
        assert!(nsecs.iter().all(|p| *p == Proof::Secure) && !nsecs.is_empty());
        let e = r
            .lookup("_25._tcp.nope.x.test.", RecordType::TLSA)
            .await
            .unwrap_err();
        let (code, nsecs) = denial(&e);
        assert_eq!(code, ResponseCode::NXDomain);
        assert!(nsecs.iter().all(|p| *p == Proof::Secure) && nsecs.len() == 2);
        let e = r.lookup("b.c.x.test.", RecordType::A).await.unwrap_err();
        assert_eq!(denial(&e), (ResponseCode::NoError, vec![Proof::Secure]));

        let l = r.lookup("ok.corrupt.test.", RecordType::A).await.unwrap();
        assert_eq!(proofs(&l, RecordType::A), vec![Proof::Secure]);
        for name in [
            "mx.broken.test.",
            "mx.wrongds.test.",
            "mx.unsigned.test.",
            "mx.corrupt.test.",
        ] {
            let e = r.lookup(name, RecordType::A).await.unwrap_err();
            assert!(
                matches!(e, NetError::Dns(DnsError::DnssecBogus)),
                "{name}: {e:?}"
            );
        }
    }

    /// The weak zones the checker reports (DNSSEC-ALG-01/02, DNSSEC-DS-01) are still valid
    /// DNSSEC: hickory validates RSA/SHA-1, 1024-bit RSA and a SHA-1 DS as secure.
    #[tokio::test]
    async fn dnssec_alg_01_02_ds_01_weak_zones_still_validate() {
        let server = start(vec![
            Zone::new("sha1.test")
                .key_algorithm(KeyAlgorithm::RsaSha1 { bits: 2048 })
                .a("mx.sha1.test", Ipv4Addr::LOCALHOST),
            Zone::new("short.test")
                .key_algorithm(KeyAlgorithm::RsaSha256 { bits: 1024 })
                .a("mx.short.test", Ipv4Addr::LOCALHOST),
            Zone::new("sha1ds.test")
                .ds_digest(DsDigest::Sha1Only)
                .a("mx.sha1ds.test", Ipv4Addr::LOCALHOST),
        ])
        .await;
        let r = resolver(&server);
        for name in ["mx.sha1.test.", "mx.short.test.", "mx.sha1ds.test."] {
            let l = r.lookup(name, RecordType::A).await.unwrap();
            assert_eq!(proofs(&l, RecordType::A), vec![Proof::Secure], "{name}");
        }
        let keys = ask(&server, "short.test.", RecordType::DNSKEY).await;
        let Some(RData::DNSSEC(DNSSECRData::DNSKEY(key))) = keys.answers.first().map(|r| &r.data)
        else {
            panic!("no DNSKEY: {keys:?}");
        };
        // RFC 3110 §2: one octet of exponent length, a 3-octet exponent, a 128-octet modulus.
        assert_eq!(key.public_key().public_bytes().len(), 1 + 3 + 128);
        let ds = ask(&server, "sha1ds.test.", RecordType::DS).await;
        let digests: Vec<_> = ds
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::DNSSEC(DNSSECRData::DS(ds)) => Some(u8::from(ds.digest_type())),
                _ => None,
            })
            .collect();
        assert_eq!(digests, vec![1]);
    }
}

#[tokio::test]
async fn names_lists_every_owner_of_every_zone_once() {
    let server = start(vec![
        Zone::new("x.test")
            .mx(10, "mx.x.test")
            .a("mx.x.test", Ipv4Addr::LOCALHOST)
            .a("deep.ent.x.test", Ipv4Addr::LOCALHOST),
        Zone::new("child.x.test").a("host.child.x.test", Ipv4Addr::LOCALHOST),
    ])
    .await;
    let names = server.names();
    for expected in [
        ".",
        "test.",
        "ns.test.",
        "x.test.",
        "mx.x.test.",
        "deep.ent.x.test.",
        "child.x.test.",
        "host.child.x.test.",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    // The delegation point and the child apex are one name; the empty non-terminal is none.
    assert_eq!(names.iter().filter(|n| *n == "child.x.test.").count(), 1);
    assert!(!names.iter().any(|n| n == "ent.x.test."));
}

fn nsec3s(records: &[Record]) -> Vec<&hickory_proto::dnssec::rdata::NSEC3> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC3(nsec3)) => Some(nsec3),
            _ => None,
        })
        .collect()
}

/// The owner name of the NSEC3 standing for `name` in `zone` (RFC 5155 §5, RFC 9276 §3.1).
pub(super) fn nsec3_owner(name: &str, zone: &str) -> String {
    let digest = hickory_proto::dnssec::Nsec3HashAlgorithm::SHA1
        .hash(&[], &Name::from_str(name).unwrap(), 0)
        .unwrap();
    format!(
        "{}.{zone}",
        data_encoding::BASE32_DNSSEC.encode(digest.as_ref())
    )
}

#[tokio::test]
async fn rfc5155_nsec3_zone_has_nsec3param_and_proves_nodata_and_nxdomain() {
    let zone = example_zone().nsec3(Nsec3 { opt_out: false });
    let server = start(vec![zone]).await;

    let response = ask(&server, "x.test.", RecordType::NSEC3PARAM).await;
    let RData::DNSSEC(DNSSECRData::NSEC3PARAM(param)) = &response.answers[0].data else {
        panic!("no NSEC3PARAM: {:?}", response.answers);
    };
    assert_eq!((param.iterations(), param.salt()), (0, &[][..]));

    // NODATA (RFC 5155 §7.2.3): the NSEC3 matching the name, and no NSEC.
    let response = ask(&server, "mx.x.test.", RecordType::AAAA).await;
    assert!(nsec_owners(&response.authorities).is_empty());
    let owners: Vec<String> = response
        .authorities
        .iter()
        .filter(|r| r.record_type() == RecordType::NSEC3)
        .map(|r| r.name.to_string())
        .collect();
    assert_eq!(owners, vec![nsec3_owner("mx.x.test.", "x.test.")]);
    let proof = nsec3s(&response.authorities);
    assert!(proof[0].type_set().contains(RecordType::A));
    assert!(!proof[0].opt_out());

    // An empty non-terminal has its own NSEC3 (RFC 5155 §7.1).
    let response = ask(&server, "b.c.x.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert_eq!(nsec3s(&response.authorities).len(), 1);

    // NXDOMAIN (RFC 5155 §7.2.2): closest encloser, next closer, wildcard; all signed.
    let response = ask(&server, "_25._tcp.nothing.x.test.", RecordType::TLSA).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
    let nsec3_count = nsec3s(&response.authorities).len();
    assert!((2..=3).contains(&nsec3_count), "{nsec3_count} NSEC3");
    assert!(response
        .authorities
        .iter()
        .any(|r| r.name.to_string() == nsec3_owner("x.test.", "x.test.")));
    let rrsigs = response
        .authorities
        .iter()
        .filter(|r| r.record_type() == RecordType::RRSIG)
        .count();
    assert_eq!(
        rrsigs,
        nsec3_count + 1,
        "one RRSIG per NSEC3, one for the SOA"
    );
}

#[tokio::test]
async fn rfc5155_6_opt_out_leaves_insecure_delegations_out_of_the_chain() {
    let parent = Zone::new("test").nsec3(Nsec3 { opt_out: true });
    let server = start(vec![
        parent,
        example_zone(),
        Zone::new("plain.test").insecure(),
    ])
    .await;

    // DS at the insecure delegation (RFC 5155 §7.2.4): no matching NSEC3, the closest
    // provable encloser (the apex) and an Opt-Out NSEC3 covering the delegation.
    let response = ask(&server, "plain.test.", RecordType::DS).await;
    assert!(response.answers.is_empty());
    let owners: Vec<String> = response
        .authorities
        .iter()
        .filter(|r| r.record_type() == RecordType::NSEC3)
        .map(|r| r.name.to_string())
        .collect();
    assert!(!owners.contains(&nsec3_owner("plain.test.", "test.")));
    assert!(owners.contains(&nsec3_owner("test.", "test.")));
    assert!(nsec3s(&response.authorities).iter().all(|n| n.opt_out()));

    // The secure delegation stays in the chain, with its DS.
    let response = ask(&server, "x.test.", RecordType::DS).await;
    assert_eq!(response.answers.len(), 2, "DS and its RRSIG");
}
