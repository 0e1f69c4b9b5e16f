//! Zone content as data: the builder a scenario uses to describe one zone.
//!
//! A [`Zone`] only records what the scenario asked for; nothing is parsed or signed until the
//! server starts ([`crate::dns::DnsServerBuilder::start`]), which reports every mistake as a
//! [`crate::dns::ZoneError`] naming the zone and the record.
//!
//! Owner names are absolute, written without the trailing dot (`"mx.x.test"`), and must lie
//! inside the zone and outside any child zone served by the same server. An owner name whose
//! leftmost label is `*` is a wildcard (RFC 4592): the server answers from it for the names
//! below its parent that do not exist.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hickory_proto::rr::RData;
use hickory_proto::rr::RecordType;
use mxsec_proto::dane::tlsa::TlsaRecord;

/// Default TTL of the records of a zone, in seconds.
pub const DEFAULT_TTL: u32 = 300;

/// How a zone is signed, and so what a validating resolver concludes about its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signing {
    /// Signed with one key (a CSK), with a matching DS in the parent zone: data is Secure.
    Secure,
    /// Unsigned, no DS in the parent; the parent proves the absence of the DS with a signed
    /// NSEC at the delegation (an insecure delegation, RFC 4035 §5.2): data is Insecure.
    Insecure,
    /// Broken on purpose (SCENARIOS.md D-05): a validating resolver must find it Bogus.
    Bogus(Bogus),
}

/// The algorithm and size of a signed zone's key (CONFORMANCE.md DNSSEC-ALG-01/02).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA P-256 with SHA-256 (algorithm 13, RFC 6605): the default.
    #[default]
    EcdsaP256Sha256,
    /// RSA/SHA-1 (algorithm 5, RFC 3110), not recommended for signing (RFC 8624 §3.1).
    RsaSha1 {
        /// The modulus size in bits.
        bits: usize,
    },
    /// RSA/SHA-256 (algorithm 8, RFC 5702).
    RsaSha256 {
        /// The modulus size in bits; 1024 makes the weak key of DNSSEC-ALG-02.
        bits: usize,
    },
}

/// The digest type of the DS the parent publishes for a signed zone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DsDigest {
    /// One DS with a SHA-256 digest (digest type 2, RFC 4509): the default.
    #[default]
    Sha256,
    /// One DS with a SHA-1 digest (digest type 1) and none other, which RFC 8624 §3.3 forbids
    /// (CONFORMANCE.md DNSSEC-DS-01).
    Sha1Only,
}

/// The ways a zone can be broken so that its data validates as Bogus (SCENARIOS.md D-05).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Bogus {
    /// The parent publishes a DS that matches no key of the zone (a registrar DS left over
    /// after a change of DNS provider).
    DsMismatch,
    /// Every RRSIG of the zone expired ten days ago.
    ExpiredSignatures,
    /// The parent publishes a DS but the zone serves no DNSKEY and no RRSIG.
    MissingSignatures,
}

/// What the server does to one query instead of (or before) answering it normally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with RCODE SERVFAIL and no records.
    ServFail,
    /// Answer with RCODE REFUSED and no records.
    Refused,
    /// Send nothing at all, over UDP and TCP (the client times out).
    Drop,
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Over UDP, answer with TC=1 and no records; over TCP, answer normally (RFC 7766).
    Truncate,
    /// Answer normally, but with an empty authority section: the NSEC or NSEC3 proof of a
    /// denial or of a wildcard expansion stripped on the way, as a forger would have to
    /// (RFC 4035 §5.3.4, §5.4).
    StripAuthority,
}

/// How a signed zone proves that a name or type does not exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// An NSEC chain over the owner names in canonical order (RFC 4034 §4): the default.
    #[default]
    Nsec,
    /// An NSEC3 chain over hashed owner names (RFC 5155), with an NSEC3PARAM at the apex.
    Nsec3(Nsec3),
}

/// The NSEC3 parameters of a zone. The hash is SHA-1 with no extra iterations and an empty
/// salt, as RFC 9276 §3.1 recommends; only opt-out is a choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Nsec3 {
    /// Leave insecure delegations (NS without DS) out of the chain and set the Opt-Out flag
    /// on every NSEC3 (RFC 5155 §6, §7.1).
    pub opt_out: bool,
}

/// Which RRSIG of an RRset to break on purpose, in an otherwise secure zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SigBreak {
    /// The signature bytes are altered, so the RRSIG does not verify.
    Corrupt,
    /// The RRSIG expired ten days ago.
    Expired,
}

/// The content of one zone, built with chained calls.
///
/// ```
/// use std::net::Ipv4Addr;
/// use mxsec_testbed::dns::{RecordType, Zone};
/// use mxsec_proto::dane::tlsa::{CertUsage, MatchingType, Selector, TlsaRecord};
///
/// let tlsa = TlsaRecord {
///     usage: CertUsage::DaneEe,
///     selector: Selector::Spki,
///     matching: MatchingType::Sha256,
///     data: vec![0x2a; 32],
/// };
/// let zone = Zone::new("dane-ee.test")
///     .mx(10, "mx.dane-ee.test")
///     .a("mx.dane-ee.test", Ipv4Addr::new(127, 0, 1, 25))
///     .tlsa("_25._tcp.mx.dane-ee.test", &tlsa)
///     .txt("_mta-sts.dane-ee.test", &["v=STSv1; id=20260101"])
///     .corrupt_rrsig("mx.dane-ee.test", RecordType::A);
/// # let _ = zone;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Zone {
    pub(crate) origin: String,
    pub(crate) signing: Signing,
    pub(crate) algorithm: KeyAlgorithm,
    pub(crate) ds_digest: DsDigest,
    pub(crate) denial: Denial,
    pub(crate) ttl: u32,
    pub(crate) records: Vec<(String, Data)>,
    pub(crate) sig_breaks: Vec<(String, RecordType, SigBreak)>,
    pub(crate) faults: Vec<(String, Option<RecordType>, Fault)>,
}

impl Zone {
    /// A new, empty, secure zone. The server adds its SOA, its apex NS (`ns.test`) and, when
    /// signed, its DNSKEY, NSEC (or NSEC3) chain and RRSIGs.
    pub fn new(origin: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            signing: Signing::Secure,
            algorithm: KeyAlgorithm::default(),
            ds_digest: DsDigest::default(),
            denial: Denial::default(),
            ttl: DEFAULT_TTL,
            records: Vec::new(),
            sig_breaks: Vec::new(),
            faults: Vec::new(),
        }
    }

    /// Signs the zone, with a matching DS in its parent (the default).
    pub fn secure(mut self) -> Self {
        self.signing = Signing::Secure;
        self
    }

    /// Leaves the zone unsigned, with no DS in its parent (an insecure delegation).
    pub fn insecure(mut self) -> Self {
        self.signing = Signing::Insecure;
        self
    }

    /// Breaks the zone so that its data validates as Bogus.
    pub fn bogus(mut self, how: Bogus) -> Self {
        self.signing = Signing::Bogus(how);
        self
    }

    /// Signs the zone with a key of this algorithm and size (default ECDSA P-256).
    pub fn key_algorithm(mut self, algorithm: KeyAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Sets the digest type of the DS in the parent (default SHA-256).
    pub fn ds_digest(mut self, digest: DsDigest) -> Self {
        self.ds_digest = digest;
        self
    }

    /// Proves denials with NSEC3 instead of NSEC (RFC 5155), with these parameters.
    pub fn nsec3(self, parameters: Nsec3) -> Self {
        self.denial(Denial::Nsec3(parameters))
    }

    /// Proves denials with NSEC (the default) or NSEC3.
    pub fn denial(mut self, denial: Denial) -> Self {
        self.denial = denial;
        self
    }

    /// Sets the TTL of every record of the zone (default [`DEFAULT_TTL`]); it is also the SOA
    /// minimum, i.e. the negative-caching TTL (RFC 2308).
    pub fn ttl(mut self, seconds: u32) -> Self {
        self.ttl = seconds;
        self
    }

    /// An A record.
    pub fn a(self, owner: &str, address: Ipv4Addr) -> Self {
        self.rdata(owner, RData::A(address.into()))
    }

    /// An AAAA record.
    pub fn aaaa(self, owner: &str, address: Ipv6Addr) -> Self {
        self.rdata(owner, RData::AAAA(address.into()))
    }

    /// An MX record at the zone apex; `exchange` `"."` makes the null MX of RFC 7505.
    pub fn mx(self, preference: u16, exchange: &str) -> Self {
        let owner = self.origin.clone();
        self.mx_at(&owner, preference, exchange)
    }

    /// An MX record at any owner name of the zone.
    pub fn mx_at(mut self, owner: &str, preference: u16, exchange: &str) -> Self {
        self.records
            .push((owner.to_owned(), Data::Mx(preference, exchange.to_owned())));
        self
    }

    /// The RFC 7505 null MX (`0 .`) at the zone apex: the domain accepts no mail.
    pub fn null_mx(self) -> Self {
        self.mx(0, ".")
    }

    /// A TXT record made of the given character-strings (each at most 255 octets), kept as
    /// separate strings on the wire (STS-TXT-06 tests concatenation).
    pub fn txt(self, owner: &str, strings: &[&str]) -> Self {
        let bytes: Vec<&[u8]> = strings.iter().map(|s| s.as_bytes()).collect();
        self.rdata(
            owner,
            RData::TXT(hickory_proto::rr::rdata::TXT::from_bytes(bytes)),
        )
    }

    /// A TXT record from raw character-strings, for hostile content (non-UTF-8 bytes, or
    /// hundreds of strings so that the answer needs TCP).
    pub fn txt_bytes(self, owner: &str, strings: &[Vec<u8>]) -> Self {
        let bytes: Vec<&[u8]> = strings.iter().map(Vec::as_slice).collect();
        self.rdata(
            owner,
            RData::TXT(hickory_proto::rr::rdata::TXT::from_bytes(bytes)),
        )
    }

    /// A TLSA record (RFC 6698); the owner is `_<port>._tcp.<host>` (RFC 7672 §2.2.3).
    pub fn tlsa(self, owner: &str, record: &TlsaRecord) -> Self {
        use hickory_proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};
        let tlsa = hickory_proto::rr::rdata::TLSA::new(
            CertUsage::from(u8::from(record.usage)),
            Selector::from(u8::from(record.selector)),
            Matching::from(u8::from(record.matching)),
            record.data.clone(),
        );
        self.rdata(owner, RData::TLSA(tlsa))
    }

    /// A CNAME record. The server follows it within its own zones as long as the target has
    /// data of the queried type (see [`crate::dns`] for where the chain stops).
    pub fn cname(mut self, owner: &str, target: &str) -> Self {
        self.records
            .push((owner.to_owned(), Data::Cname(target.to_owned())));
        self
    }

    /// An NS record at a name of the zone. It is served as plain data: the testbed gives no
    /// referrals. The apex NS of every zone, and the NS of each delegation to a child zone of
    /// the same server, are added by the server.
    pub fn ns(mut self, owner: &str, target: &str) -> Self {
        self.records
            .push((owner.to_owned(), Data::Ns(target.to_owned())));
        self
    }

    /// Any record data, for answers the other methods cannot express.
    pub fn rdata(mut self, owner: &str, data: RData) -> Self {
        self.records.push((owner.to_owned(), Data::Ready(data)));
        self
    }

    /// Alters the signature bytes of the RRSIG over one RRset, so that it does not verify.
    pub fn corrupt_rrsig(mut self, owner: &str, rtype: RecordType) -> Self {
        self.sig_breaks
            .push((owner.to_owned(), rtype, SigBreak::Corrupt));
        self
    }

    /// Signs one RRset with an RRSIG that expired ten days ago.
    pub fn expire_rrsig(mut self, owner: &str, rtype: RecordType) -> Self {
        self.sig_breaks
            .push((owner.to_owned(), rtype, SigBreak::Expired));
        self
    }

    /// Applies a fault to every query for `(name, rtype)`, whether or not the name exists.
    pub fn fault(mut self, name: &str, rtype: RecordType, fault: Fault) -> Self {
        self.faults.push((name.to_owned(), Some(rtype), fault));
        self
    }

    /// Applies a fault to every query for `name`, whatever its type.
    pub fn fault_all_types(mut self, name: &str, fault: Fault) -> Self {
        self.faults.push((name.to_owned(), None, fault));
        self
    }

    /// The zone's origin as given.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// Record data as the scenario gave it; names inside it are parsed when the server starts.
#[derive(Clone, Debug)]
pub(crate) enum Data {
    /// Data with no embedded name, or given as hickory data.
    Ready(RData),
    /// MX preference and exchange.
    Mx(u16, String),
    /// CNAME target.
    Cname(String),
    /// NS target.
    Ns(String),
}

/// `text` with a trailing dot, as hickory's name parser wants absolute names.
pub(crate) fn fqdn(text: &str) -> String {
    if text.ends_with('.') {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}
