//! Helpers over DNS messages that both resolver backends (`ad_bit`, `validating`) and the
//! lookups in `dns` share: TTLs of answers and denials (RFC 2308 §5), errors from response
//! codes and malformed answers, and name conversion between hickory and [`DomainName`].

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use mxsec_proto::name::DomainName;

use super::types::DnsError;

/// The lowest TTL of `records`, signatures excluded.
pub(crate) fn lowest_ttl<'a>(records: impl Iterator<Item = &'a Record>) -> Option<u32> {
    records
        .filter(|r| r.record_type() != RecordType::RRSIG)
        .map(|r| r.ttl)
        .min()
}

/// The negative TTL of a denial: the lesser of the SOA record's TTL and its MINIMUM field
/// (RFC 2308 §5), from the authority section.
pub(crate) fn negative_ttl<'a>(authorities: impl Iterator<Item = &'a Record>) -> Option<u32> {
    authorities
        .filter_map(|r| match &r.data {
            RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
            _ => None,
        })
        .min()
}

/// The error for a response code that is neither an answer nor a denial.
pub(crate) fn rcode_error(name: &DomainName, rtype: RecordType, code: ResponseCode) -> DnsError {
    match code {
        ResponseCode::ServFail => DnsError::ServFail {
            name: name.clone(),
            rtype,
        },
        ResponseCode::Refused => DnsError::Refused {
            name: name.clone(),
            rtype,
        },
        other => DnsError::ResponseCode {
            name: name.clone(),
            rtype,
            code: u16::from(other),
        },
    }
}

/// The error for an answer that does not make sense.
pub(crate) fn malformed(name: &DomainName, rtype: RecordType, detail: &str) -> DnsError {
    DnsError::Malformed {
        name: name.clone(),
        rtype,
        detail: detail.to_owned(),
    }
}

/// A name for hickory: the normalised name with its trailing dot.
pub(crate) fn to_name(name: &DomainName, rtype: RecordType) -> Result<Name, DnsError> {
    Name::from_ascii(name.to_fqdn()).map_err(|e| DnsError::Other {
        name: name.clone(),
        rtype,
        detail: e.to_string(),
    })
}

/// A name from an answer, normalised; one that is not a domain name makes the answer
/// malformed.
pub(crate) fn domain(
    name: &DomainName,
    rtype: RecordType,
    found: &Name,
) -> Result<DomainName, DnsError> {
    DomainName::parse(&found.to_ascii()).map_err(|e| {
        malformed(
            name,
            rtype,
            &format!("{found} in the answer is not a domain name: {e}"),
        )
    })
}
