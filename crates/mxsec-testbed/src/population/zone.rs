//! The DNS records of the population: one [`LazyZone`] per [`DnsClass`], whose children are
//! the class's domains.

use std::net::Ipv4Addr;

use hickory_proto::rr::rdata::{A, MX, TXT};
use hickory_proto::rr::{Name, RData, Record};

use super::providers::{self, PROVIDERS};
use super::{label, DnsClass, Population, Sts, TlsRpt};
use crate::dns::{Bogus, LazyZone, Signing, DEFAULT_TTL};

/// The addresses of the shared policy hosting service, `127.77.200.1` to `.4`: many domains'
/// `mta-sts` hosts share an address, as at a hosting provider.
pub(crate) const POLICY_ADDRESSES: u8 = 4;

/// The published address of domain `number`'s policy host.
pub(crate) fn policy_address(number: u64) -> Ipv4Addr {
    let last = u8::try_from(number % u64::from(POLICY_ADDRESSES)).unwrap_or(0) + 1;
    Ipv4Addr::new(127, 77, 200, last)
}

/// The domains of one class, as the children of the class's parent zone.
#[derive(Debug)]
pub(crate) struct ClassZone {
    pub(crate) population: Population,
    pub(crate) class: DnsClass,
}

impl LazyZone for ClassZone {
    fn origin(&self) -> &str {
        self.class.zone()
    }

    fn signing(&self) -> Signing {
        match self.class {
            DnsClass::Signed => Signing::Secure,
            DnsClass::Unsigned => Signing::Insecure,
            DnsClass::Bogus => Signing::Bogus(Bogus::ExpiredSignatures),
        }
    }

    fn children(&self) -> u64 {
        self.population.count(self.class)
    }

    fn label(&self, index: u64) -> String {
        label(index)
    }

    fn records(&self, index: u64) -> Vec<Record> {
        let domain = Population::name(self.class, index);
        let profile = self.population.profile(self.class, index);
        let name = |prefix: &str| Name::from_ascii(format!("{prefix}{domain}.")).ok();
        let record = |owner: Option<Name>, data: RData| {
            owner.map(|owner| Record::from_rdata(owner, DEFAULT_TTL, data))
        };
        let txt = |text: &str| RData::TXT(TXT::new(vec![text.to_owned()]));
        let mut records = Vec::new();
        let provider = PROVIDERS.get(profile.provider).copied();
        for host in 0..provider.map_or(0, |p| p.hosts) {
            let exchange =
                Name::from_ascii(format!("{}.", providers::host_name(profile.provider, host)));
            if let Ok(exchange) = exchange {
                let preference = 10 * u16::from(host + 1);
                records.extend(record(name(""), RData::MX(MX::new(preference, exchange))));
            }
        }
        if let Some(sts) = profile.sts {
            let id = match sts {
                Sts::TxtWithoutId => "v=STSv1;",
                _ => "v=STSv1; id=20260101T000000",
            };
            records.extend(record(name("_mta-sts."), txt(id)));
            if sts != Sts::NoPolicyHost {
                records.extend(record(
                    name("mta-sts."),
                    RData::A(A::from(policy_address(index))),
                ));
            }
        }
        if let Some(rpt) = profile.tlsrpt {
            let text = match rpt {
                TlsRpt::Valid => format!("v=TLSRPTv1; rua=mailto:tlsrpt@{domain}"),
                TlsRpt::NoRua => "v=TLSRPTv1;".to_owned(),
            };
            records.extend(record(name("_smtp._tls."), txt(&text)));
        }
        records
    }
}
