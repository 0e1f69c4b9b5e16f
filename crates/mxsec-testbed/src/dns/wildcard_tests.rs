//! Wire-level tests of wildcard synthesis (RFC 4592) and its proofs, and Unbound's verdict on
//! each shape.

use std::net::Ipv4Addr;

use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC, NSEC3};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use mxsec_proto::dane::tlsa::{CertUsage, MatchingType, Selector, TlsaRecord};

use super::tests::{ask, nsec3_owner, nsec_owners, query_message, start, types, udp};
use super::*;

const ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 9, 1);

/// A zone with wildcards: `*.w.test` (A, TXT), a wildcard CNAME `*.alias.w.test`, a
/// wildcard TLSA `*._tcp.mx.w.test`, an existing name `host.w.test` and an empty
/// non-terminal `sub.w.test`.
fn wildcard_zone() -> Zone {
    let tlsa = TlsaRecord {
        usage: CertUsage::DaneEe,
        selector: Selector::Spki,
        matching: MatchingType::Sha256,
        data: vec![0x5a; 32],
    };
    Zone::new("w.test")
        .a("*.w.test", ADDRESS)
        .txt("*.w.test", &["from the wildcard"])
        .a("host.w.test", ADDRESS)
        .a("deep.sub.w.test", ADDRESS)
        .cname("*.alias.w.test", "host.w.test")
        .tlsa("*._tcp.mx.w.test", &tlsa)
}

fn rrsig_labels(records: &[Record], covered: RecordType) -> Vec<(String, u8)> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(sig)) if sig.input().type_covered == covered => {
                Some((r.name.to_string(), sig.input().num_labels))
            }
            _ => None,
        })
        .collect()
}

fn nsecs(records: &[Record]) -> Vec<(&Name, &NSEC)> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(nsec)) => Some((&r.name, nsec)),
            _ => None,
        })
        .collect()
}

/// Whether an NSEC of the response covers `name` (RFC 4034 §4.1.1, canonical order).
fn covered(records: &[Record], name: &str) -> bool {
    let name = Name::from_ascii(name).unwrap();
    nsecs(records).into_iter().any(|(owner, nsec)| {
        let next = nsec.next_domain_name();
        *owner < name && (name < *next || next <= owner)
    })
}

fn nsec3_owners(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.record_type() == RecordType::NSEC3)
        .map(|r| r.name.to_string())
        .collect()
}

#[tokio::test]
async fn dane_dns_02_rfc4592_wildcard_answers_with_its_rrsig_and_the_nsec_of_no_closer_match() {
    let server = start(vec![wildcard_zone()]).await;
    for name in ["a.w.test.", "x.y.w.test."] {
        let response = ask(&server, name, RecordType::A).await;
        assert_eq!(response.metadata.response_code, ResponseCode::NoError);
        assert_eq!(
            types(&response.answers),
            vec![
                (name.to_owned(), RecordType::A),
                (name.to_owned(), RecordType::RRSIG)
            ]
        );
        // RFC 4034 §3.1.3: the Labels field counts `w.test`, fewer than the owner's labels.
        assert_eq!(
            rrsig_labels(&response.answers, RecordType::A),
            vec![(name.to_owned(), 2)]
        );
        // RFC 4035 §3.1.3.3: the NSEC covering the name (and so its next closer name).
        assert!(covered(&response.authorities, name), "{response:?}");
        assert!(!response
            .authorities
            .iter()
            .any(|r| r.record_type() == RecordType::SOA));
    }
    // Without DO: the synthesised data alone.
    let plain = udp(
        server.addr(),
        &query_message("a.w.test.", RecordType::TXT, false),
    )
    .await
    .unwrap();
    assert_eq!(
        types(&plain.answers),
        vec![("a.w.test.".to_owned(), RecordType::TXT)]
    );
    assert!(plain.authorities.is_empty());
}

#[tokio::test]
async fn dane_dns_02_rfc4592_wildcard_nodata_proves_the_type_absent_at_the_wildcard() {
    let server = start(vec![wildcard_zone()]).await;
    let response = ask(&server, "a.w.test.", RecordType::AAAA).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert!(response.answers.is_empty());
    // RFC 4035 §3.1.3.4: SOA, the NSEC at the wildcard and the one covering the name.
    assert!(nsec_owners(&response.authorities).contains(&"*.w.test.".to_owned()));
    assert!(covered(&response.authorities, "a.w.test."));
    let (_, at_wildcard) = nsecs(&response.authorities)
        .into_iter()
        .find(|(owner, _)| owner.to_string() == "*.w.test.")
        .unwrap();
    assert!(at_wildcard.type_set().contains(RecordType::A));
    assert!(!at_wildcard.type_set().contains(RecordType::AAAA));
    assert!(response
        .authorities
        .iter()
        .any(|r| r.record_type() == RecordType::SOA));
}

#[tokio::test]
async fn dane_dns_02_rfc4592_2_2_no_synthesis_at_or_below_an_existing_name() {
    let server = start(vec![wildcard_zone()]).await;
    // An existing name without the type: plain NODATA, its own NSEC.
    let response = ask(&server, "host.w.test.", RecordType::TXT).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert!(response.answers.is_empty());
    assert_eq!(nsec_owners(&response.authorities), vec!["host.w.test."]);
    // Below an existing name with no wildcard child: NXDOMAIN.
    let response = ask(&server, "x.host.w.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
    assert!(response.answers.is_empty());
    // An empty non-terminal exists (§2.2.2): NODATA, and NXDOMAIN below it.
    let response = ask(&server, "sub.w.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert!(response.answers.is_empty());
    let response = ask(&server, "x.sub.w.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
    // The parents of a deeper wildcard are empty non-terminals, not answered by `*.w.test`.
    let response = ask(&server, "mx.w.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert!(response.answers.is_empty());
}

#[tokio::test]
async fn dane_disc_03_rfc4592_4_4_wildcard_cname_is_synthesised_and_followed() {
    let server = start(vec![wildcard_zone()]).await;
    let response = ask(&server, "mx.alias.w.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        types(&response.answers),
        vec![
            ("mx.alias.w.test.".to_owned(), RecordType::CNAME),
            ("mx.alias.w.test.".to_owned(), RecordType::RRSIG),
            ("host.w.test.".to_owned(), RecordType::A),
            ("host.w.test.".to_owned(), RecordType::RRSIG),
        ]
    );
    assert_eq!(
        rrsig_labels(&response.answers, RecordType::CNAME),
        vec![("mx.alias.w.test.".to_owned(), 3)]
    );
    assert!(covered(&response.authorities, "mx.alias.w.test."));
    // The target has no AAAA: the chain goes on into its NODATA, both proofs present once.
    let response = ask(&server, "mx.alias.w.test.", RecordType::AAAA).await;
    assert!(covered(&response.authorities, "mx.alias.w.test."));
    assert!(nsec_owners(&response.authorities).contains(&"host.w.test.".to_owned()));
    let mut owners = nsec_owners(&response.authorities);
    owners.dedup();
    assert_eq!(owners.len(), nsec_owners(&response.authorities).len());
}

#[tokio::test]
async fn rfc5155_7_2_6_wildcard_answer_carries_the_nsec3_covering_the_next_closer_name() {
    let server = start(vec![wildcard_zone().nsec3(Nsec3 { opt_out: false })]).await;
    let response = ask(&server, "_25._tcp.mx.w.test.", RecordType::TLSA).await;
    assert_eq!(
        rrsig_labels(&response.answers, RecordType::TLSA),
        vec![("_25._tcp.mx.w.test.".to_owned(), 4)]
    );
    // One NSEC3: it covers the hash of the next closer name `_25._tcp.mx.w.test`.
    let owners = nsec3_owners(&response.authorities);
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert!(nsec_owners(&response.authorities).is_empty());

    // Wildcard NODATA (RFC 5155 §7.2.5): the closest encloser `w.test`, the NSEC3 covering
    // the next closer `a.w.test` and the NSEC3 matching `*.w.test`.
    let response = ask(&server, "a.w.test.", RecordType::AAAA).await;
    assert!(response.answers.is_empty());
    let owners = nsec3_owners(&response.authorities);
    assert!(
        owners.contains(&nsec3_owner("w.test.", "w.test.")),
        "{owners:?}"
    );
    assert!(
        owners.contains(&nsec3_owner("*.w.test.", "w.test.")),
        "{owners:?}"
    );
    let at_wildcard: Vec<&NSEC3> = response
        .authorities
        .iter()
        .filter(|r| r.name.to_string() == nsec3_owner("*.w.test.", "w.test."))
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC3(nsec3)) => Some(nsec3),
            _ => None,
        })
        .collect();
    assert!(!at_wildcard[0].type_set().contains(RecordType::AAAA));
}

#[tokio::test]
async fn dane_dns_05_strip_authority_fault_sends_an_expansion_without_its_proof() {
    let zone = wildcard_zone().fault_all_types("forged.w.test", Fault::StripAuthority);
    let server = start(vec![zone]).await;
    let response = ask(&server, "forged.w.test.", RecordType::A).await;
    assert_eq!(
        rrsig_labels(&response.answers, RecordType::A),
        vec![("forged.w.test.".to_owned(), 2)]
    );
    assert!(response.authorities.is_empty());
}

#[tokio::test]
async fn dane_dns_05_zone_errors_name_a_star_label_that_is_not_the_leftmost() {
    let error = DnsServer::builder()
        .zone(Zone::new("w.test").a("a.*.w.test", ADDRESS))
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("a.*.w.test") && error.contains("leftmost"),
        "{error}"
    );
}

/// Unbound's answer through its recursion: the response code, the AD bit and the answer.
async fn validated(unbound: &Unbound, name: &str, rtype: RecordType) -> Message {
    udp(unbound.addr(), &query_message(name, rtype, true))
        .await
        .unwrap_or_else(|| panic!("unbound did not answer {name} {rtype}"))
}

/// DANE-DNS-02: a validating resolver (Unbound) finds every wildcard shape secure, signed
/// with NSEC and NSEC3, and a name that is no wildcard match a secure denial. With NSEC3
/// opt-out, a proof through the span covering the next closer name is insecure (RFC 5155
/// §9.2): every expansion, wildcard NODATA and NXDOMAIN; a NODATA proven by the NSEC3
/// matching the name stays secure.
#[tokio::test]
async fn dane_dns_02_unbound_validates_every_wildcard_shape_as_secure() {
    // (name, type, RCODE, records in the answer, secure with opt-out)
    let shapes = [
        ("a.w.test.", RecordType::A, ResponseCode::NoError, 1, false),
        (
            "x.y.w.test.",
            RecordType::TXT,
            ResponseCode::NoError,
            1,
            false,
        ),
        (
            "a.w.test.",
            RecordType::AAAA,
            ResponseCode::NoError,
            0,
            false,
        ),
        (
            "mx.alias.w.test.",
            RecordType::A,
            ResponseCode::NoError,
            2,
            false,
        ),
        (
            "mx.alias.w.test.",
            RecordType::AAAA,
            ResponseCode::NoError,
            1,
            false,
        ),
        (
            "_25._tcp.mx.w.test.",
            RecordType::TLSA,
            ResponseCode::NoError,
            1,
            false,
        ),
        (
            "_25._tcp.mx.w.test.",
            RecordType::A,
            ResponseCode::NoError,
            0,
            false,
        ),
        (
            "x.host.w.test.",
            RecordType::A,
            ResponseCode::NXDomain,
            0,
            false,
        ),
        ("sub.w.test.", RecordType::A, ResponseCode::NoError, 0, true),
        (
            "x.sub.w.test.",
            RecordType::A,
            ResponseCode::NXDomain,
            0,
            false,
        ),
        ("mx.w.test.", RecordType::A, ResponseCode::NoError, 0, true),
    ];
    for denial in [
        Denial::Nsec,
        Denial::Nsec3(Nsec3 { opt_out: false }),
        Denial::Nsec3(Nsec3 { opt_out: true }),
    ] {
        let opt_out = denial == Denial::Nsec3(Nsec3 { opt_out: true });
        let zones = [wildcard_zone(), Zone::new("."), Zone::new("test")].map(|z| z.denial(denial));
        let server = start(zones.into()).await;
        let unbound = Unbound::start(&server).await.expect("unbound is installed");
        for (name, rtype, rcode, records, secure_with_opt_out) in shapes {
            let response = validated(&unbound, name, rtype).await;
            let found = response
                .answers
                .iter()
                .filter(|r| r.record_type() != RecordType::RRSIG)
                .count();
            assert_eq!(
                (
                    response.metadata.response_code,
                    found,
                    response.metadata.authentic_data,
                ),
                (rcode, records, !opt_out || secure_with_opt_out),
                "{name} {rtype} with {denial:?}: {response:?}"
            );
        }
    }
}
