//! The builder a scenario uses to describe its part of the simulated internet.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use mxsec_proto::dane::tlsa::{CertUsage, MatchingType, Selector, TlsaRecord};
use ring::digest;

use crate::dns::Zone;
use crate::https::{PolicyHost, Reply};
use crate::pki::{Leaf, LeafSpec, ServedChain, TestPki};
use crate::smtp::{Credentials, MxBehaviour, StartTls, TlsIdentity};

use super::error::TestbedError;

/// What one address of an MX host does on port 25.
#[derive(Clone, Debug)]
pub enum Listener {
    /// STARTTLS, then TLS with this certificate and chain shape.
    Tls(Leaf, ServedChain),
    /// Any other STARTTLS behaviour (not offered, masked, failing after `220`, ...).
    Other(StartTls),
}

impl Listener {
    /// STARTTLS with `leaf`, sending leaf and intermediate.
    pub fn tls(leaf: &Leaf) -> Self {
        Self::Tls(leaf.clone(), ServedChain::LeafAndIntermediate)
    }
}

/// One SMTP server to start: the address it is published at and its behaviour.
#[derive(Clone, Debug)]
pub(crate) struct MxServerSpec {
    pub(crate) published: SocketAddr,
    pub(crate) behaviour: MxBehaviour,
}

/// Hands out published addresses: IPv4 in 127.0.1.0–127.0.255.255 and IPv6 in the ULA prefix
/// `fd6d:7873:6563::/48` ("mxsec"), so nothing published is ever a public address. Inside
/// one process the servers listen on ephemeral loopback ports and the published addresses
/// reach them through an address map; `mxsec demo --serve` binds the published addresses
/// themselves ([`super::TestbedBuilder::published`]).
#[derive(Debug, Default)]
pub(crate) struct Allocator {
    next: u32,
}

impl Allocator {
    /// The next pair of published addresses.
    pub(crate) fn next_pair(&mut self) -> (Ipv4Addr, Ipv6Addr) {
        self.next += 1;
        let n = self.next;
        let v4 = Ipv4Addr::new(127, 0, 1 + (n / 250) as u8, (n % 250) as u8 + 1);
        let v6 = Ipv6Addr::new(0xfd6d, 0x7873, 0x6563, 0, 0, 0, (n >> 16) as u16, n as u16);
        (v4, v6)
    }
}

/// Collects the zones, policy hosts and MX servers of one scenario.
pub struct Builder<'a> {
    pub(crate) pki: &'a TestPki,
    pub(crate) domain: String,
    pub(crate) zones: Vec<Zone>,
    pub(crate) policy_hosts: Vec<(PolicyHost, Vec<IpAddr>)>,
    pub(crate) mx_servers: Vec<MxServerSpec>,
    pub(crate) alloc: &'a mut Allocator,
}

impl<'a> Builder<'a> {
    pub(crate) fn new(pki: &'a TestPki, domain: String, alloc: &'a mut Allocator) -> Self {
        let zone = Zone::new(&domain);
        Self {
            pki,
            domain,
            zones: vec![zone],
            policy_hosts: Vec::new(),
            mx_servers: Vec::new(),
            alloc,
        }
    }

    /// The scenario's domain, e.g. `dane-ee.test`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// `label.<domain>`.
    pub fn name(&self, label: &str) -> String {
        format!("{label}.{}", self.domain)
    }

    /// The test PKI.
    pub fn pki(&self) -> &TestPki {
        self.pki
    }

    /// Issues a leaf certificate.
    ///
    /// # Errors
    ///
    /// When the PKI cannot issue it.
    pub fn leaf(&self, spec: LeafSpec) -> Result<Leaf, TestbedError> {
        Ok(self.pki.issue(&spec)?)
    }

    /// A valid leaf for `name`, issued by intermediate A.
    ///
    /// # Errors
    ///
    /// When the PKI cannot issue it.
    pub fn valid_leaf(&self, name: &str) -> Result<Leaf, TestbedError> {
        self.leaf(LeafSpec::new([name]))
    }

    /// Changes the scenario's own zone (signing, faults, ...).
    pub fn zone(&mut self, f: impl FnOnce(Zone) -> Zone) {
        let zone = self.zones.remove(0);
        self.zones.insert(0, f(zone));
    }

    /// Adds another zone (e.g. a provider's unsigned zone) that this scenario publishes.
    pub fn extra_zone(&mut self, zone: Zone) {
        self.zones.push(zone);
    }

    /// Applies `f` to the zone that holds `owner` (the deepest zone of this scenario whose
    /// origin is a suffix of it).
    pub fn at(&mut self, owner: &str, f: impl FnOnce(Zone) -> Zone) {
        let index = self
            .zones
            .iter()
            .enumerate()
            .filter(|(_, z)| owner == z.origin() || owner.ends_with(&format!(".{}", z.origin())))
            .max_by_key(|(_, z)| z.origin().len())
            .map_or(0, |(i, _)| i);
        let zone = self.zones.remove(index);
        self.zones.insert(index, f(zone));
    }

    /// Adds an MX record for the scenario domain.
    pub fn mx_record(&mut self, preference: u16, host: &str) {
        let domain = self.domain.clone();
        self.zone(|z| z.mx_at(&domain, preference, host));
    }

    /// Publishes host `name` with an IPv4 and (if `v6` is given) an IPv6 address, each served
    /// by an SMTP server with the given behaviour.
    pub fn host(&mut self, name: &str, v4: Option<Listener>, v6: Option<Listener>) {
        self.host_at(name, name, v4, v6);
    }

    /// Publishes host `name` like [`Builder::host`], but with its address records at the
    /// wildcard `owner` (`*.<ancestor of name>`), so that the DNS answers for `name` are
    /// synthesised from it (RFC 4592).
    pub fn wildcard_host(
        &mut self,
        owner: &str,
        name: &str,
        v4: Option<Listener>,
        v6: Option<Listener>,
    ) {
        self.host_at(owner, name, v4, v6);
    }

    fn host_at(&mut self, owner: &str, name: &str, v4: Option<Listener>, v6: Option<Listener>) {
        let (ip4, ip6) = self.alloc.next_pair();
        if let Some(listener) = v4 {
            self.at(owner, |z| z.a(owner, ip4));
            self.mx_servers.push(MxServerSpec {
                published: SocketAddr::new(IpAddr::V4(ip4), 25),
                behaviour: behaviour(name, listener),
            });
        }
        if let Some(listener) = v6 {
            self.at(owner, |z| z.aaaa(owner, ip6));
            self.mx_servers.push(MxServerSpec {
                published: SocketAddr::new(IpAddr::V6(ip6), 25),
                behaviour: behaviour(name, listener),
            });
        }
    }

    /// An MX record plus the host, with the same listener on IPv4 and IPv6.
    pub fn mx(&mut self, preference: u16, name: &str, listener: Listener) {
        self.mx_record(preference, name);
        self.host(name, Some(listener.clone()), Some(listener));
    }

    /// A TLSA record at `_25._tcp.<host>`.
    pub fn tlsa(&mut self, host: &str, record: &TlsaRecord) {
        let owner = format!("_25._tcp.{host}");
        self.at(&owner, |z| z.tlsa(&owner, record));
    }

    /// A TXT record.
    pub fn txt(&mut self, owner: &str, strings: &[&str]) {
        self.at(owner, |z| z.txt(owner, strings));
    }

    /// Publishes the `_mta-sts` TXT record `v=STSv1; id=<id>;`.
    pub fn sts_record(&mut self, id: &str) {
        let owner = self.name("_mta-sts");
        self.txt(&owner, &[&format!("v=STSv1; id={id};")]);
    }

    /// Publishes `mta-sts.<domain>` (IPv4 and IPv6) with a valid certificate, answering
    /// `reply` at the policy path.
    ///
    /// # Errors
    ///
    /// When the PKI cannot issue the certificate.
    pub fn policy_host(&mut self, reply: Reply) -> Result<(), TestbedError> {
        let name = self.name("mta-sts");
        let leaf = self.valid_leaf(&name)?;
        self.custom_policy_host(PolicyHost::new(&name, &leaf, ServedChain::default(), reply));
        Ok(())
    }

    /// Publishes `mta-sts.<domain>` as a CNAME to `target`, a provider's host with an IPv4
    /// address and no IPv6 (its AAAA lookup is NODATA through the alias), serving a valid
    /// certificate for `mta-sts.<domain>` and `reply` at the policy path.
    ///
    /// # Errors
    ///
    /// When the PKI cannot issue the certificate.
    pub fn aliased_policy_host(&mut self, target: &str, reply: Reply) -> Result<(), TestbedError> {
        let name = self.name("mta-sts");
        let leaf = self.valid_leaf(&name)?;
        let (ip4, _) = self.alloc.next_pair();
        self.at(&name, |z| z.cname(&name, target));
        self.at(target, |z| z.a(target, ip4));
        self.policy_hosts.push((
            PolicyHost::new(&name, &leaf, ServedChain::default(), reply),
            vec![IpAddr::V4(ip4)],
        ));
        Ok(())
    }

    /// Publishes a policy host as given, at a fresh IPv4 and IPv6 address.
    pub fn custom_policy_host(&mut self, host: PolicyHost) {
        let name = host.name().to_owned();
        let (ip4, ip6) = self.alloc.next_pair();
        self.at(&name, |z| z.a(&name, ip4).aaaa(&name, ip6));
        self.policy_hosts
            .push((host, vec![IpAddr::V4(ip4), IpAddr::V6(ip6)]));
    }

    /// The usual MTA-STS setup: TXT record with `id` and a policy host serving `policy`.
    ///
    /// # Errors
    ///
    /// When the PKI cannot issue the certificate.
    pub fn sts(&mut self, id: &str, policy: &str) -> Result<(), TestbedError> {
        self.sts_record(id);
        self.policy_host(Reply::policy(policy.as_bytes().to_vec()))
    }

    /// The `_smtp._tls` TLS-RPT record `v=TLSRPTv1; rua=<rua>`.
    pub fn tlsrpt(&mut self, rua: &str) {
        let owner = self.name("_smtp._tls");
        self.txt(&owner, &[&format!("v=TLSRPTv1; rua={rua}")]);
    }
}

fn behaviour(host: &str, listener: Listener) -> MxBehaviour {
    match listener {
        Listener::Tls(leaf, served) => MxBehaviour::tls(
            host,
            TlsIdentity::new(Credentials::new(
                leaf.served_chain(served),
                leaf.private_key_der(),
            )),
        ),
        Listener::Other(starttls) => MxBehaviour::new(host, starttls),
    }
}

/// A TLSA record computed from DER data: `usage selector matching` over a certificate (for
/// selector `FullCert`) or a SubjectPublicKeyInfo (for `Spki`).
pub fn tlsa_for(
    usage: CertUsage,
    selector: Selector,
    matching: MatchingType,
    der: &[u8],
) -> TlsaRecord {
    let data = match matching {
        MatchingType::Sha256 => digest::digest(&digest::SHA256, der).as_ref().to_vec(),
        MatchingType::Sha512 => digest::digest(&digest::SHA512, der).as_ref().to_vec(),
        MatchingType::Full | MatchingType::Unassigned(_) => der.to_vec(),
    };
    TlsaRecord {
        usage,
        selector,
        matching,
        data,
    }
}

/// `3 1 1` for a leaf's key (DANE-TLSA-03).
pub fn dane_ee_spki(leaf: &Leaf) -> TlsaRecord {
    tlsa_for(
        CertUsage::DaneEe,
        Selector::Spki,
        MatchingType::Sha256,
        &leaf.key().spki_der(),
    )
}

/// `3 0 1` for a leaf certificate.
pub fn dane_ee_cert(leaf: &Leaf) -> TlsaRecord {
    tlsa_for(
        CertUsage::DaneEe,
        Selector::FullCert,
        MatchingType::Sha256,
        leaf.cert_der(),
    )
}
