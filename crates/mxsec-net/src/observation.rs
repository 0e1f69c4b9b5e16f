//! From DNS answers to the input of the policy decision ([`mxsec_proto::decision`]).
//!
//! This module is the only code that turns MX, A/AAAA and TLSA answers into [`MxState`],
//! [`HostState`], [`AddressState`], [`TlsaState`] and [`LookupFailure`]. The destination
//! resolver (the Postfix policy daemon, `mxsec query`) and the checker both build their
//! decision input here, so a DNS answer means the same to both. Everything is a pure function
//! of the answers, which carry their DNSSEC status, denials included.
//!
//! | DNS answer | decision input | rule |
//! |---|---|---|
//! | any lookup bogus | [`LookupFailure::Bogus`] | DANE-DNS-03, DANE-DNS-05 |
//! | any lookup SERVFAIL, REFUSED, timeout, ... | [`LookupFailure::Transient`] | DANE-DNS-03 (RFC 7672 §2.1.2) |
//! | MX lookup failed | [`MxState::Failed`] | DANE-DNS-03 |
//! | MX NXDOMAIN | [`MxState::NoSuchDomain`], with the status of the denial | DANE-DISC-02 |
//! | MX `0 .` | [`MxState::NullMx`], with the status of the RRset | DANE-DISC-02 (RFC 7505) |
//! | MX NODATA | implicit MX: the domain is the one host; status the weaker of the NODATA and of the domain's address records | DANE-DISC-02 (RFC 5321 §5.1) |
//! | MX records | one host per exchange that is a host name, in MX order, with the RRset's status; `.`, IP literals and invalid names are no host | DANE-DISC-02 (RFC 5321 §5.1, RFC 7505 §3) |
//! | A or AAAA bogus | [`AddressState::Failed`] (bogus), whatever the other family gave | DANE-DNS-03 |
//! | A and/or AAAA records | [`AddressState::Found`], the weaker status of the families with records; a family that failed transiently is not used | RFC 7672 §2.2.1 (maddy #292) |
//! | no records, a family failed | [`AddressState::Failed`] (transient) | DANE-DNS-03 |
//! | A and AAAA denied | [`AddressState::None`] | RFC 5321 §5.1 |
//! | addresses not secure | [`TlsaState::NotApplicable`]; TLSA need not be looked up | DANE-DNS-06 (RFC 7672 §2.2.2) |
//! | TLSA lookup failed | [`TlsaState::Failed`] | DANE-DNS-04 |
//! | TLSA NXDOMAIN or NODATA | [`TlsaState::Absent`] | DANE-DISC-06 |
//! | TLSA records, not secure | [`TlsaState::Insecure`]: ignored | DANE-DNS-05 |
//! | secure TLSA, some record usable | [`TlsaState::Usable`] | DANE-DISC-04 |
//! | secure TLSA, no record usable | [`TlsaState::AllUnusable`] | DANE-DISC-05 |
//!
//! A lookup is made by the caller: the resolver looks TLSA up only where
//! [`tlsa_applies`], the checker always (it reports what is published), and both hand the
//! answers to [`mx_state`].

use std::net::IpAddr;

use mxsec_proto::dane::usable::{classify, RrsetUsability};
use mxsec_proto::decision::{AddressState, HostState, LookupFailure, MxState, TlsaState};
use mxsec_proto::dnssec::Security;
use mxsec_proto::name::DomainName;

use crate::dns::{
    Addresses, AliasCheck, Answer, DnsError, LowestTtl, MxSet, MxTarget, Resolved, TlsaLookup,
};

/// An MX lookup, as [`crate::dns::Dns::mx`] returns it.
pub type MxLookup = Result<Resolved<MxSet>, DnsError>;

/// A TLSA lookup, as [`crate::dns::Dns::tlsa`] returns it.
pub type TlsaResult = Result<TlsaLookup, DnsError>;

/// One host that an MX answer sends mail to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailHost {
    /// The MX preference; `None` for the implicit MX (RFC 5321 §5.1).
    pub preference: Option<u16>,
    /// The host name.
    pub name: DomainName,
    /// Whether the exchange is an alias (a CNAME, which RFC 2181 §10.3 forbids; its TLSA base
    /// domain may be the alias target, RFC 7672 §2.2.3).
    pub alias: bool,
}

/// The lookups made for one MX host, as [`host_state`] and [`mx_state`] take them.
#[derive(Clone, Copy, Debug)]
pub struct HostLookups<'a> {
    /// The host name.
    pub name: &'a DomainName,
    /// Its A and AAAA lookups.
    pub addresses: &'a Addresses,
    /// Its TLSA lookup; `None` when it was not looked up, which only hosts whose addresses
    /// are not secure may be (DANE-DNS-06).
    pub tlsa: Option<&'a TlsaResult>,
}

/// The kind of failure of a lookup: bogus (the zone is broken or attacked) or transient
/// (DANE-DNS-03).
pub fn failure(err: &DnsError) -> LookupFailure {
    if err.is_bogus() {
        LookupFailure::Bogus(err.to_string())
    } else {
        LookupFailure::Transient(err.to_string())
    }
}

/// The hosts that the MX answer for `domain` sends mail to, best first: the exchanges that are
/// host names, or the domain itself when it has no MX RRset (implicit MX, RFC 5321 §5.1,
/// DANE-DISC-02). None for a failed lookup, NXDOMAIN or a null MX (RFC 7505). An exchange
/// that is `.`, an IP literal or an invalid name is no host: no sender can use it.
pub fn mail_hosts(domain: &DomainName, mx: &MxLookup) -> Vec<MailHost> {
    let Ok(resolved) = mx else {
        return Vec::new();
    };
    match resolved.answer().value_ignoring_security() {
        Answer::NxDomain | Answer::Records(MxSet::NullMx) => Vec::new(),
        Answer::NoData => vec![MailHost {
            preference: None,
            name: domain.clone(),
            alias: false,
        }],
        Answer::Records(MxSet::Exchanges(list)) => list
            .iter()
            .filter_map(|exchange| match &exchange.target {
                MxTarget::Host(name) => Some(MailHost {
                    preference: Some(exchange.preference),
                    name: name.clone(),
                    alias: matches!(exchange.alias, AliasCheck::Alias(_)),
                }),
                MxTarget::Root | MxTarget::IpLiteral(_) | MxTarget::Invalid(_) => None,
            })
            .collect(),
    }
}

/// The MX state of the destination from its MX lookup and the lookups of the hosts that
/// [`mail_hosts`] gave for it, in that order.
///
/// NXDOMAIN and a null MX keep the DNSSEC status of their denial or RRset: an insecure one can
/// be forged. For an implicit MX the status is [`implicit_mx_security`].
pub fn mx_state(mx: &MxLookup, hosts: &[HostLookups<'_>]) -> MxState {
    let resolved = match mx {
        Ok(resolved) => resolved,
        Err(err) => return MxState::Failed(failure(err)),
    };
    let security = resolved.answer().security();
    let security = match resolved.answer().value_ignoring_security() {
        Answer::NxDomain => return MxState::NoSuchDomain { security },
        Answer::Records(MxSet::NullMx) => return MxState::NullMx { security },
        Answer::NoData => hosts.first().map_or(security, |implicit| {
            implicit_mx_security(security, implicit.addresses)
        }),
        Answer::Records(MxSet::Exchanges(_)) => security,
    };
    MxState::Hosts {
        security,
        hosts: hosts.iter().map(host_state).collect(),
    }
}

/// The DNSSEC status of an implicit MX (RFC 5321 §5.1, DANE-DISC-02): the weaker of the
/// status of the MX NODATA answer and that of the domain's address records. Either can be
/// forged when it is not secure: an insecure NODATA can be replaced by a forged MX RRset, and
/// insecure address records by forged addresses. When the address lookup failed, the failure
/// is the host's ([`AddressState::Failed`]) and the NODATA's status stands.
pub fn implicit_mx_security(nodata: Security, addresses: &Addresses) -> Security {
    address_security(addresses).map_or(nodata, |records| nodata.min(records))
}

/// The decision's view of one MX host.
pub fn host_state(host: &HostLookups<'_>) -> HostState {
    let addresses = address_state(host.addresses);
    let tlsa = tlsa_state(&addresses, host.tlsa);
    HostState {
        name: host.name.clone(),
        addresses,
        tlsa,
    }
}

/// The address state of a host from its A and AAAA lookups, the two families judged apart
/// (RFC 7672 §2.2.1, maddy #292): a bogus answer for either is a failure, never ignored
/// (DANE-DNS-03); otherwise the records found, with the weaker status of the families that
/// have records, so that a host with secure IPv4 and a failing IPv6 lookup keeps its secure
/// addresses; with no records, a transient failure of either family, else no address.
pub fn address_state(addresses: &Addresses) -> AddressState {
    let families = [family(&addresses.ipv4), family(&addresses.ipv6)];
    let mut bogus = None;
    let mut transient = None;
    let mut found: Option<Security> = None;
    for outcome in families {
        match outcome {
            Family::Records(security) => {
                found = Some(found.map_or(security, |other| other.min(security)));
            }
            Family::Denied(_) => {}
            Family::Failed(err) if err.is_bogus() => {
                bogus.get_or_insert_with(|| failure(err));
            }
            Family::Failed(err) => {
                transient.get_or_insert_with(|| failure(err));
            }
        }
    }
    match (bogus, found, transient) {
        (Some(bogus), _, _) => AddressState::Failed(bogus),
        (None, Some(security), _) => AddressState::Found { security },
        (None, None, Some(transient)) => AddressState::Failed(transient),
        (None, None, None) => AddressState::None,
    }
}

/// The DNSSEC status of a host's address records: that of the records found, or with none,
/// the weaker status of the two denials. The failure when [`address_state`] is a failure.
///
/// # Errors
///
/// The [`LookupFailure`] of [`AddressState::Failed`].
pub fn address_security(addresses: &Addresses) -> Result<Security, LookupFailure> {
    match address_state(addresses) {
        AddressState::Found { security } => Ok(security),
        AddressState::Failed(failure) => Err(failure),
        AddressState::None => Ok([family(&addresses.ipv4), family(&addresses.ipv6)]
            .into_iter()
            .filter_map(|outcome| match outcome {
                Family::Denied(security) | Family::Records(security) => Some(security),
                Family::Failed(_) => None,
            })
            .fold(Security::Secure, Security::min)),
    }
}

/// Every address found, IPv4 first, whatever its DNSSEC status (the status is judged by
/// [`address_state`]).
pub fn address_list(addresses: &Addresses) -> Vec<IpAddr> {
    let v4 = records(&addresses.ipv4).iter().map(|ip| IpAddr::V4(*ip));
    let v6 = records(&addresses.ipv6).iter().map(|ip| IpAddr::V6(*ip));
    v4.chain(v6).collect()
}

/// Whether the TLSA records of a host count (DANE-DNS-06, RFC 7672 §2.2.2): only when its
/// address records are secure. A sender need not look TLSA up otherwise.
pub fn tlsa_applies(addresses: &AddressState) -> bool {
    matches!(
        addresses,
        AddressState::Found {
            security: Security::Secure
        }
    )
}

/// The TLSA state of a host as a sender sees it: TLSA counts only when the host's addresses
/// are secure (DANE-DNS-06) and the RRset is secure (DANE-DNS-05); a failed lookup makes the
/// host unreachable (DANE-DNS-04); a secure RRset is usable or all unusable by
/// [`classify`] (DANE-DISC-04/05). `tlsa` is `None` when it was not looked up: for a host
/// whose addresses are secure that is a failure, never "no DANE".
pub fn tlsa_state(addresses: &AddressState, tlsa: Option<&TlsaResult>) -> TlsaState {
    if !tlsa_applies(addresses) {
        return TlsaState::NotApplicable;
    }
    let lookup = match tlsa {
        None => {
            return TlsaState::Failed(LookupFailure::Transient(
                "TLSA not looked up for a host with secure addresses".to_owned(),
            ))
        }
        Some(Err(err)) => return TlsaState::Failed(failure(err)),
        Some(Ok(lookup)) => lookup,
    };
    let answer = lookup.answer.answer();
    match answer.value_ignoring_security() {
        Answer::NoData | Answer::NxDomain => TlsaState::Absent,
        Answer::Records(_) if !answer.security().is_secure() => TlsaState::Insecure,
        Answer::Records(records) => match classify(records).usability {
            RrsetUsability::Usable(_) => TlsaState::Usable,
            RrsetUsability::AllUnusable | RrsetUsability::Empty => TlsaState::AllUnusable,
        },
    }
}

/// The lowest TTL of the answers behind [`mx_state`]: the MX lookup and every host's address
/// and TLSA lookups. Failed lookups have none.
pub fn mx_ttl(mx: &MxLookup, hosts: &[HostLookups<'_>]) -> LowestTtl {
    let mut ttl = LowestTtl::default();
    if let Ok(resolved) = mx {
        ttl.note(resolved.ttl());
    }
    for host in hosts {
        ttl.note(host.addresses.ttl());
        if let Some(Ok(lookup)) = host.tlsa {
            ttl.note(lookup.ttl);
        }
    }
    ttl
}

/// What one address family's lookup gave.
enum Family<'a> {
    /// Records, with their status.
    Records(Security),
    /// NXDOMAIN or NODATA, with the status of the denial.
    Denied(Security),
    /// The lookup failed.
    Failed(&'a DnsError),
}

fn family<T>(lookup: &Result<Resolved<Vec<T>>, DnsError>) -> Family<'_> {
    match lookup {
        Err(err) => Family::Failed(err),
        Ok(resolved) => {
            let security = resolved.answer().security();
            match resolved.answer().value_ignoring_security() {
                Answer::Records(list) if !list.is_empty() => Family::Records(security),
                Answer::Records(_) | Answer::NoData | Answer::NxDomain => Family::Denied(security),
            }
        }
    }
}

fn records<T>(lookup: &Result<Resolved<Vec<T>>, DnsError>) -> &[T] {
    lookup
        .as_ref()
        .ok()
        .and_then(|resolved| resolved.answer().value_ignoring_security().records())
        .map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests;
