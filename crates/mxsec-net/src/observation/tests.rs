use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hickory_proto::rr::RecordType;
use mxsec_proto::dane::tlsa::TlsaRecord;
use mxsec_proto::dnssec::Dnssec;

use super::*;
use crate::dns::{MxExchange, TlsaBase};

use Security::{Insecure, Secure};

fn name(text: &str) -> DomainName {
    DomainName::parse(text).unwrap()
}

fn resolved<T>(security: Security, answer: Answer<T>, ttl: u64) -> Resolved<T> {
    Resolved::new(
        Vec::new(),
        name("example.test"),
        Dnssec::new(security, answer),
        Duration::from_secs(ttl),
    )
}

fn servfail(rtype: RecordType) -> DnsError {
    DnsError::ServFail {
        name: name("example.test"),
        rtype,
    }
}

fn bogus(rtype: RecordType) -> DnsError {
    DnsError::Bogus {
        name: name("example.test"),
        rtype,
        reason: "RRSIG expired".to_owned(),
    }
}

type V4 = Result<Resolved<Vec<Ipv4Addr>>, DnsError>;
type V6 = Result<Resolved<Vec<Ipv6Addr>>, DnsError>;

fn a(security: Security) -> V4 {
    Ok(resolved(
        security,
        Answer::Records(vec![Ipv4Addr::new(192, 0, 2, 1)]),
        300,
    ))
}

fn aaaa(security: Security) -> V6 {
    Ok(resolved(
        security,
        Answer::Records(vec![Ipv6Addr::LOCALHOST]),
        600,
    ))
}

fn no_a(security: Security) -> V4 {
    Ok(resolved(security, Answer::NoData, 60))
}

fn no_aaaa(security: Security) -> V6 {
    Ok(resolved(security, Answer::NoData, 60))
}

fn addresses(ipv4: V4, ipv6: V6) -> Addresses {
    Addresses { ipv4, ipv6 }
}

fn secure_host() -> Addresses {
    addresses(a(Secure), aaaa(Secure))
}

fn record(usage: u8) -> TlsaRecord {
    TlsaRecord {
        usage: usage.into(),
        selector: 1.into(),
        matching: 1.into(),
        data: vec![0xab; 32],
    }
}

fn tlsa(security: Security, answer: Answer<Vec<TlsaRecord>>) -> TlsaResult {
    Ok(TlsaLookup {
        base_domain: name("mx.example.test"),
        base: TlsaBase::Host,
        owner: name("_25._tcp.mx.example.test"),
        host_chain: Vec::new(),
        answer: resolved(security, answer, 120),
        ttl: Duration::from_secs(120),
    })
}

fn tlsa_of(addresses: &Addresses, lookup: Option<&TlsaResult>) -> TlsaState {
    tlsa_state(&address_state(addresses), lookup)
}

fn mx(security: Security, hosts: &[(u16, MxTarget, AliasCheck)]) -> MxLookup {
    let list = hosts
        .iter()
        .map(|(preference, target, alias)| MxExchange {
            preference: *preference,
            target: target.clone(),
            alias: alias.clone(),
        })
        .collect();
    Ok(resolved(
        security,
        Answer::Records(MxSet::Exchanges(list)),
        3600,
    ))
}

#[test]
fn dane_dns_03_lookup_failures_are_bogus_or_transient() {
    assert!(matches!(
        failure(&bogus(RecordType::MX)),
        LookupFailure::Bogus(_)
    ));
    assert!(matches!(
        failure(&servfail(RecordType::MX)),
        LookupFailure::Transient(_)
    ));
}

#[test]
fn maddy_292_address_families_are_judged_apart() {
    // A secure IPv4 answer keeps the host secure when the AAAA lookup fails.
    let state = address_state(&addresses(a(Secure), Err(servfail(RecordType::AAAA))));
    assert_eq!(state, AddressState::Found { security: Secure });
    // The weaker status of the families with records.
    let state = address_state(&addresses(a(Secure), aaaa(Insecure)));
    assert_eq!(state, AddressState::Found { security: Insecure });
    // A denial of one family does not weaken the other's records.
    let state = address_state(&addresses(a(Secure), no_aaaa(Insecure)));
    assert_eq!(state, AddressState::Found { security: Secure });
}

#[test]
fn dane_dns_03_a_bogus_family_is_never_ignored() {
    let state = address_state(&addresses(a(Secure), Err(bogus(RecordType::AAAA))));
    assert!(matches!(
        state,
        AddressState::Failed(LookupFailure::Bogus(_))
    ));
    assert!(matches!(
        address_security(&addresses(a(Secure), Err(bogus(RecordType::AAAA)))),
        Err(LookupFailure::Bogus(_))
    ));
}

#[test]
fn dane_dns_03_no_address_and_a_failure_is_a_failure() {
    let state = address_state(&addresses(no_a(Secure), Err(servfail(RecordType::AAAA))));
    assert!(matches!(
        state,
        AddressState::Failed(LookupFailure::Transient(_))
    ));
}

#[test]
fn dane_disc_02_rfc5321_5_1_no_address_records_is_no_address() {
    let denied = addresses(no_a(Secure), no_aaaa(Insecure));
    assert_eq!(address_state(&denied), AddressState::None);
    // The status of the denials, the weaker of the two.
    assert_eq!(address_security(&denied), Ok(Insecure));
    assert!(address_list(&denied).is_empty());
}

#[test]
fn address_list_is_ipv4_first() {
    let list = address_list(&secure_host());
    assert_eq!(
        list,
        vec![
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        ]
    );
}

#[test]
fn dane_dns_06_tlsa_counts_only_for_secure_addresses() {
    let usable = tlsa(Secure, Answer::Records(vec![record(3)]));
    let insecure = addresses(a(Insecure), no_aaaa(Secure));
    assert!(!tlsa_applies(&address_state(&insecure)));
    assert_eq!(tlsa_of(&insecure, Some(&usable)), TlsaState::NotApplicable);
    assert_eq!(tlsa_of(&insecure, None), TlsaState::NotApplicable);
    let failed = addresses(Err(servfail(RecordType::A)), no_aaaa(Secure));
    assert_eq!(tlsa_of(&failed, Some(&usable)), TlsaState::NotApplicable);
    assert!(tlsa_applies(&address_state(&secure_host())));
}

#[test]
fn dane_dns_04_tlsa_failure_or_no_lookup_is_a_failure() {
    let failed: TlsaResult = Err(servfail(RecordType::TLSA));
    assert!(matches!(
        tlsa_of(&secure_host(), Some(&failed)),
        TlsaState::Failed(LookupFailure::Transient(_))
    ));
    let failed: TlsaResult = Err(bogus(RecordType::TLSA));
    assert!(matches!(
        tlsa_of(&secure_host(), Some(&failed)),
        TlsaState::Failed(LookupFailure::Bogus(_))
    ));
    // A secure host whose TLSA was not looked up is not "no DANE".
    assert!(matches!(
        tlsa_of(&secure_host(), None),
        TlsaState::Failed(_)
    ));
}

#[test]
fn dane_dns_05_insecure_tlsa_is_ignored() {
    let lookup = tlsa(Insecure, Answer::Records(vec![record(3)]));
    assert_eq!(tlsa_of(&secure_host(), Some(&lookup)), TlsaState::Insecure);
}

#[test]
fn dane_disc_04_05_06_secure_tlsa_usable_unusable_absent() {
    let usable = tlsa(Secure, Answer::Records(vec![record(1), record(3)]));
    assert_eq!(tlsa_of(&secure_host(), Some(&usable)), TlsaState::Usable);
    let unusable = tlsa(Secure, Answer::Records(vec![record(1)]));
    assert_eq!(
        tlsa_of(&secure_host(), Some(&unusable)),
        TlsaState::AllUnusable
    );
    for denial in [Answer::NoData, Answer::NxDomain] {
        let absent = tlsa(Secure, denial);
        assert_eq!(tlsa_of(&secure_host(), Some(&absent)), TlsaState::Absent);
    }
}

#[test]
fn dane_disc_02_mail_hosts_of_an_mx_answer() {
    let domain = name("example.test");
    let lookup = mx(
        Secure,
        &[
            (
                10,
                MxTarget::Host(name("mx1.example.test")),
                AliasCheck::NotAlias,
            ),
            (
                20,
                MxTarget::Host(name("mx2.example.test")),
                AliasCheck::Alias(Dnssec::new(Secure, name("real.example.test"))),
            ),
            (
                30,
                MxTarget::IpLiteral("192.0.2.1".parse().unwrap()),
                AliasCheck::NotChecked,
            ),
            (40, MxTarget::Root, AliasCheck::NotChecked),
            (
                50,
                MxTarget::Invalid("a b".to_owned()),
                AliasCheck::NotChecked,
            ),
        ],
    );
    assert_eq!(
        mail_hosts(&domain, &lookup),
        vec![
            MailHost {
                preference: Some(10),
                name: name("mx1.example.test"),
                alias: false
            },
            MailHost {
                preference: Some(20),
                name: name("mx2.example.test"),
                alias: true
            },
        ]
    );
    let implicit: MxLookup = Ok(resolved(Secure, Answer::NoData, 60));
    assert_eq!(
        mail_hosts(&domain, &implicit),
        vec![MailHost {
            preference: None,
            name: domain.clone(),
            alias: false
        }]
    );
    let none: [MxLookup; 3] = [
        Ok(resolved(Secure, Answer::NxDomain, 60)),
        Ok(resolved(Secure, Answer::Records(MxSet::NullMx), 60)),
        Err(servfail(RecordType::MX)),
    ];
    for lookup in &none {
        assert!(mail_hosts(&domain, lookup).is_empty());
    }
}

#[test]
fn dane_disc_02_denials_keep_their_dnssec_status() {
    for security in [Secure, Insecure] {
        let nxdomain: MxLookup = Ok(resolved(security, Answer::NxDomain, 60));
        assert_eq!(mx_state(&nxdomain, &[]), MxState::NoSuchDomain { security });
        let null: MxLookup = Ok(resolved(security, Answer::Records(MxSet::NullMx), 60));
        assert_eq!(mx_state(&null, &[]), MxState::NullMx { security });
    }
    let failed: MxLookup = Err(bogus(RecordType::MX));
    assert!(matches!(
        mx_state(&failed, &[]),
        MxState::Failed(LookupFailure::Bogus(_))
    ));
}

/// RFC 5321 §5.1: the implicit MX is as secure as the weaker of the NODATA answer (an insecure
/// one can be forged into an MX RRset) and the domain's address records (insecure ones can be
/// forged into other addresses).
#[test]
fn dane_disc_02_rfc5321_5_1_implicit_mx_takes_the_weaker_of_nodata_and_addresses() {
    let domain = name("example.test");
    let cases = [
        (Secure, addresses(a(Secure), no_aaaa(Secure)), Secure),
        (Insecure, addresses(a(Secure), no_aaaa(Secure)), Insecure),
        (Secure, addresses(a(Insecure), no_aaaa(Secure)), Insecure),
        (Secure, addresses(no_a(Insecure), no_aaaa(Secure)), Insecure),
        (
            Secure,
            addresses(Err(servfail(RecordType::A)), no_aaaa(Secure)),
            Secure,
        ),
    ];
    for (nodata, found, expected) in cases {
        assert_eq!(implicit_mx_security(nodata, &found), expected);
        let lookup: MxLookup = Ok(resolved(nodata, Answer::NoData, 60));
        let host = HostLookups {
            name: &domain,
            addresses: &found,
            tlsa: None,
        };
        match mx_state(&lookup, &[host]) {
            MxState::Hosts { security, hosts } => {
                assert_eq!(security, expected, "NODATA {nodata:?}, {found:?}");
                assert_eq!(hosts.len(), 1);
                assert_eq!(hosts[0].name, domain);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn mx_state_builds_every_host_in_order() {
    let (mx1, mx2) = (name("mx1.example.test"), name("mx2.example.test"));
    let lookup = mx(
        Insecure,
        &[
            (10, MxTarget::Host(mx1.clone()), AliasCheck::NotAlias),
            (20, MxTarget::Host(mx2.clone()), AliasCheck::NotAlias),
        ],
    );
    let (secure, insecure) = (secure_host(), addresses(a(Insecure), no_aaaa(Insecure)));
    let usable = tlsa(Secure, Answer::Records(vec![record(3)]));
    let hosts = [
        HostLookups {
            name: &mx1,
            addresses: &secure,
            tlsa: Some(&usable),
        },
        HostLookups {
            name: &mx2,
            addresses: &insecure,
            tlsa: None,
        },
    ];
    assert_eq!(
        mx_state(&lookup, &hosts),
        MxState::Hosts {
            security: Insecure,
            hosts: vec![
                HostState {
                    name: mx1.clone(),
                    addresses: AddressState::Found { security: Secure },
                    tlsa: TlsaState::Usable,
                },
                HostState {
                    name: mx2.clone(),
                    addresses: AddressState::Found { security: Insecure },
                    tlsa: TlsaState::NotApplicable,
                },
            ],
        }
    );
    // The MX answer's 3600 s, the addresses' 300/600/60 s and the TLSA's 120 s.
    assert_eq!(mx_ttl(&lookup, &hosts).get(), Some(Duration::from_secs(60)));
    assert_eq!(
        mx_ttl(&lookup, &hosts[..1]).get(),
        Some(Duration::from_secs(120))
    );
    let failed: MxLookup = Err(servfail(RecordType::MX));
    assert_eq!(mx_ttl(&failed, &[]).get(), None);
}
