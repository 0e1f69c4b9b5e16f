//! Wire-level tests of lazy zones: answers and NSEC denials computed from a child's position
//! are those of the whole zone (RFC 4034 §4.1.1, RFC 4035 §3.1.3).

use std::net::Ipv4Addr;
use std::sync::Arc;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{A, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::tests::ask;
use super::*;

/// Three children, `c0` to `c2`, each with an address and a TXT record at `txt.<child>`.
#[derive(Debug)]
struct Three;

impl LazyZone for Three {
    fn origin(&self) -> &str {
        "lazy.test"
    }

    fn signing(&self) -> Signing {
        Signing::Secure
    }

    fn children(&self) -> u64 {
        3
    }

    fn label(&self, index: u64) -> String {
        format!("c{index}")
    }

    fn records(&self, index: u64) -> Vec<Record> {
        let child = Name::from_ascii(format!("c{index}.lazy.test.")).unwrap();
        let txt = Name::from_ascii(format!("txt.c{index}.lazy.test.")).unwrap();
        vec![
            Record::from_rdata(
                child,
                DEFAULT_TTL,
                RData::A(A::from(Ipv4Addr::new(192, 0, 2, 1))),
            ),
            Record::from_rdata(txt, DEFAULT_TTL, RData::TXT(TXT::new(vec!["x".into()]))),
        ]
    }
}

async fn server() -> DnsServer {
    DnsServer::builder()
        .lazy_zone(Arc::new(Three))
        .start()
        .await
        .unwrap()
}

/// The (owner, next name) of every NSEC in the authority section.
fn nsecs(response: &Message) -> Vec<(String, String)> {
    response
        .authorities
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(nsec)) => {
                Some((r.name.to_string(), nsec.next_domain_name().to_string()))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn lazy_zone_answers_a_child_with_a_signature() {
    let server = server().await;
    let response = ask(&server, "c1.lazy.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    let types: Vec<RecordType> = response.answers.iter().map(Record::record_type).collect();
    assert_eq!(types, [RecordType::A, RecordType::RRSIG]);
}

#[tokio::test]
async fn lazy_zone_denials_carry_the_whole_zones_nsec_chain() {
    let server = server().await;
    // Below a child, after its last name: covered by that name's NSEC, which points at the
    // next child.
    let response = ask(&server, "zzz.c1.lazy.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
    assert!(
        nsecs(&response).contains(&("txt.c1.lazy.test.".to_owned(), "c2.lazy.test.".to_owned()))
    );
    // Between two children.
    let response = ask(&server, "c1a.lazy.test.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
    assert!(
        nsecs(&response).contains(&("txt.c1.lazy.test.".to_owned(), "c2.lazy.test.".to_owned()))
    );
    // After the last child: its last name's NSEC points back at the apex.
    let response = ask(&server, "d.lazy.test.", RecordType::A).await;
    assert!(nsecs(&response).contains(&("txt.c2.lazy.test.".to_owned(), "lazy.test.".to_owned())));
    // NODATA at the apex: the apex's NSEC points at the first child.
    let response = ask(&server, "lazy.test.", RecordType::MX).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        nsecs(&response),
        [("lazy.test.".to_owned(), "c0.lazy.test.".to_owned())]
    );
}
