//! The catalogue of findings: one table from each kind of finding to its stable ID, area,
//! severity, RFC section, title and fix.
//!
//! IDs come from the conformance checklist (`STS-POL-05`, `DANE-DISC-04`, `RPT-TXT-03`, ...)
//! or, where a finding is the signature of a known real-world failure, from the scenario
//! catalogue (`T-01`, `M-05`, `D-01`, `R-01`, `N-01`). Several kinds may share one ID when
//! one rule covers several distinct situations (`N-01` covers every MX basics problem); the
//! kind then tells them apart. Every front end takes its words from here, so the terminal,
//! the JSON report and the web page never disagree.

use std::fmt;

use mxsec_proto::conformance::ConformanceId;
use serde::{Deserialize, Serialize};

/// How much a finding matters.
///
/// Ordered from most to least serious, so sorting findings by severity puts errors first.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Mail is deferred, refused or exposed, or the configuration breaks a MUST of an RFC.
    Error,
    /// Works today, but is fragile, weaker than it looks, or breaks at some senders.
    Warning,
    /// A fact or advice worth knowing; nothing is broken.
    Info,
    /// A check that passed.
    Pass,
}

impl Severity {
    /// The lower-case name used in JSON and in the terminal.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
            Self::Pass => "pass",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The part of the audit a finding belongs to; the human report groups findings by area.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Area {
    /// MX records, host addresses and the DNSSEC status of those answers.
    Mx,
    /// SMTP, STARTTLS and TLS on each address.
    Transport,
    /// DANE: TLSA records and their verdicts (RFC 7672).
    Dane,
    /// MTA-STS: TXT record, policy fetch, policy and MX coverage (RFC 8461).
    MtaSts,
    /// TLS-RPT: the reporting record (RFC 8460).
    TlsRpt,
}

impl Area {
    /// Every area, in the order the human report shows them.
    pub const ALL: [Self; 5] = [
        Self::Mx,
        Self::Transport,
        Self::Dane,
        Self::MtaSts,
        Self::TlsRpt,
    ];

    /// The heading of the area in the human report.
    pub fn title(self) -> &'static str {
        match self {
            Self::Mx => "MX and DNSSEC",
            Self::Transport => "SMTP and TLS",
            Self::Dane => "DANE",
            Self::MtaSts => "MTA-STS",
            Self::TlsRpt => "TLS-RPT",
        }
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// What the catalogue says about one kind of finding.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Entry {
    /// The stable ID from CONFORMANCE.md or SCENARIOS.md.
    pub id: ConformanceId,
    /// The area of the audit.
    pub area: Area,
    /// How much it matters.
    pub severity: Severity,
    /// The RFC section that sets the rule.
    pub rfc: &'static str,
    /// A one-line description of the kind, independent of any instance.
    pub title: &'static str,
    /// What to do about it, in plain words.
    pub fix: &'static str,
}

/// The fix text of every `pass` finding.
const NOTHING_TO_DO: &str = "Nothing to do.";

macro_rules! catalogue {
    ($(
        $(#[doc = $doc:literal])*
        $kind:ident {
            id: $id:ident,
            area: $area:ident,
            severity: $sev:ident,
            rfc: $rfc:literal,
            title: $title:literal,
            fix: $fix:expr $(,)?
        }
    )*) => {
        /// Every kind of finding the audit can report.
        ///
        /// In JSON a kind is its name in kebab case, e.g. `sts-policy-mode`.
        #[derive(
            Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize,
        )]
        #[serde(rename_all = "kebab-case")]
        #[non_exhaustive]
        pub enum FindingKind {
            $(
                $(#[doc = $doc])*
                $kind,
            )*
        }

        impl FindingKind {
            /// Every kind, in catalogue order.
            pub const ALL: &'static [Self] = &[$(Self::$kind),*];

            /// The catalogue entry of this kind.
            pub fn entry(self) -> Entry {
                match self {
                    $(Self::$kind => Entry {
                        id: ConformanceId::$id,
                        area: Area::$area,
                        severity: Severity::$sev,
                        rfc: $rfc,
                        title: $title,
                        fix: $fix,
                    },)*
                }
            }
        }
    };
}

catalogue! {
    // ---- MX and DNSSEC ---------------------------------------------------------------------

    /// The MX RRset validated as DNSSEC-secure (RFC 7672 §2.2.1, DANE-DISC-01).
    MxSecure {
        id: DaneDisc01, area: Mx, severity: Pass, rfc: "RFC 7672 §2.2.1",
        title: "MX records are DNSSEC-signed and validate",
        fix: NOTHING_TO_DO,
    }
    /// The MX RRset is provably unsigned (RFC 7672 §2.2.1, DANE-DISC-01).
    MxInsecure {
        id: DaneDisc01, area: Mx, severity: Info, rfc: "RFC 7672 §2.2.1",
        title: "MX records are not DNSSEC-signed",
        fix: "Sign the zone with DNSSEC and publish its DS record at the parent zone, so that \
              senders can trust the MX answer and DANE can apply.",
    }
    /// DNSSEC validation of an answer the delivery needs failed (RFC 7672 §2.1.1, D-05).
    DnssecBogus {
        id: D05, area: Mx, severity: Error, rfc: "RFC 7672 §2.1.1",
        title: "DNSSEC validation fails (bogus)",
        fix: "Repair the DNSSEC chain at the name shown: re-sign expired signatures, or make \
              the DS record at the parent match the zone's current DNSKEY. Until then every \
              validating sender defers the mail.",
    }
    /// A DNS lookup the delivery needs failed (SERVFAIL, timeout) (RFC 7672 §2.1.2,
    /// DANE-DNS-03).
    DnsLookupFailed {
        id: DaneDns03, area: Mx, severity: Error, rfc: "RFC 7672 §2.1.2",
        title: "DNS lookup fails",
        fix: "Make the authoritative name servers answer this query; SERVFAIL and timeouts \
              make senders defer the mail, they never skip the step.",
    }
    /// A zone on the chain is signed with an algorithm RFC 8624 §3.1 forbids for signing
    /// (RSAMD5, DSA, DSA-NSEC3-SHA1, ECC-GOST) (DNSSEC-ALG-01).
    DnssecAlgorithmForbidden {
        id: DnssecAlg01, area: Mx, severity: Error, rfc: "RFC 8624 §3.1",
        title: "zone signed with an algorithm that must not be used",
        fix: "Roll the zone over to ECDSAP256SHA256 (13) or ED25519 (15) and replace the DS \
              record at the parent; validators may treat the zone as unsigned, which turns \
              DANE off.",
    }
    /// A zone on the chain is signed with RSA/SHA-1 (RSASHA1, RSASHA1-NSEC3-SHA1), NOT
    /// RECOMMENDED by RFC 8624 §3.1 (DNSSEC-ALG-01).
    DnssecAlgorithmSha1 {
        id: DnssecAlg01, area: Mx, severity: Warning, rfc: "RFC 8624 §3.1",
        title: "zone signed with RSA/SHA-1",
        fix: "Roll the zone over to ECDSAP256SHA256 (13) or ED25519 (15) and replace the DS \
              record at the parent: validators that refuse SHA-1 treat this zone as \
              unsigned, which silently turns DANE off for their senders.",
    }
    /// An RSA zone key on the chain is shorter than 2048 bits (RFC 8624 §3.1, DNSSEC-ALG-02).
    DnssecRsaKeyShort {
        id: DnssecAlg02, area: Mx, severity: Warning, rfc: "RFC 8624 §3.1",
        title: "RSA zone key shorter than 2048 bits",
        fix: "Replace the key with an RSA key of at least 2048 bits, or better roll the zone \
              over to ECDSAP256SHA256 (13) or ED25519 (15).",
    }
    /// A delegation on the chain has only SHA-1 DS records (RFC 8624 §3.3, DNSSEC-DS-01).
    DnssecDsSha1Only {
        id: DnssecDs01, area: Mx, severity: Error, rfc: "RFC 8624 §3.3",
        title: "delegation secured by a SHA-1 DS record alone",
        fix: "Publish a DS record with a SHA-256 digest (digest type 2) at the parent, \
              through the registrar, then withdraw the SHA-1 one.",
    }
    /// The domain does not exist (NXDOMAIN) (RFC 5321 §5.1, N-01).
    DomainNotFound {
        id: N01, area: Mx, severity: Error, rfc: "RFC 5321 §5.1",
        title: "the domain does not exist",
        fix: "Check the spelling, or publish the domain in DNS with MX records for its mail \
              servers.",
    }
    /// The domain publishes a null MX and accepts no mail (RFC 7505 §3, N-01).
    NullMx {
        id: N01, area: Mx, severity: Info, rfc: "RFC 7505 §3",
        title: "null MX: the domain accepts no mail",
        fix: "Nothing, if the domain should receive no mail; otherwise replace the null MX \
              record with MX records for the mail servers.",
    }
    /// A null MX is published next to real MX records (RFC 7505 §3, N-01).
    NullMxMixed {
        id: N01, area: Mx, severity: Error, rfc: "RFC 7505 §3",
        title: "null MX mixed with other MX records",
        fix: "Remove either the null MX record (`0 .`) or the other MX records: a null MX must \
              be the only MX record of the domain.",
    }
    /// There is no MX record; senders use the domain's own addresses (RFC 5321 §5.1, N-01).
    ImplicitMx {
        id: N01, area: Mx, severity: Warning, rfc: "RFC 5321 §5.1",
        title: "no MX record: the domain itself is the mail host (implicit MX)",
        fix: "Publish an explicit MX record for the mail server; with none, senders fall back \
              to the domain's own A/AAAA records.",
    }
    /// There is neither an MX record nor an address for the domain (RFC 5321 §5.1, N-01).
    NoMailHost {
        id: N01, area: Mx, severity: Error, rfc: "RFC 5321 §5.1",
        title: "no MX record and no address: mail cannot be delivered",
        fix: "Publish MX records that point to the mail servers, or a null MX (`0 .`) if the \
              domain should receive no mail.",
    }
    /// An MX record points at an alias (CNAME) (RFC 2181 §10.3, N-01).
    MxIsCname {
        id: N01, area: Mx, severity: Warning, rfc: "RFC 2181 §10.3",
        title: "MX record points at an alias (CNAME)",
        fix: "Point the MX record at the canonical host name; an MX target must not be an \
              alias.",
    }
    /// An MX record names an IP address instead of a host (RFC 5321 §5.1, N-01).
    MxIsIpLiteral {
        id: N01, area: Mx, severity: Error, rfc: "RFC 5321 §5.1",
        title: "MX record names an IP address",
        fix: "Replace the address in the MX record with a host name that has A/AAAA records.",
    }
    /// An MX host has no A or AAAA record (RFC 5321 §5.1, N-01).
    MxNoAddress {
        id: N01, area: Mx, severity: Error, rfc: "RFC 5321 §5.1",
        title: "MX host has no address",
        fix: "Publish A and/or AAAA records for the MX host, or remove it from the MX records.",
    }
    /// An MX host address lies in special-purpose space (RFC 6890 §2.2, N-01).
    SpecialPurposeAddress {
        id: N01, area: Mx, severity: Error, rfc: "RFC 6890 §2.2",
        title: "MX host address is a special-purpose address",
        fix: "Publish only globally reachable addresses for the MX host; senders cannot reach \
              a private, loopback or documentation address. It was not probed: to audit a \
              private network, check from inside it with --allow-private.",
    }
    /// An MX host address lies in special-purpose space and was probed, because the connect
    /// policy allows it (`--allow-private`): fine inside a private network, unreachable from
    /// the internet (RFC 6890 §2.2, N-01).
    SpecialPurposeAddressProbed {
        id: N01, area: Mx, severity: Info, rfc: "RFC 6890 §2.2",
        title: "MX host address is not reachable from the internet",
        fix: "None inside a private network; for mail from the internet, publish a public \
              address.",
    }
    /// An address does not accept TCP connections on port 25 (RFC 5321 §5.1, N-01).
    AddressUnreachable {
        id: N01, area: Mx, severity: Warning, rfc: "RFC 5321 §5.1",
        title: "port 25 unreachable on this address",
        fix: "Open port 25 on this address, or remove the address from DNS; senders waste a \
              timeout on it before they try the next one.",
    }
    /// No MX host accepts connections at all (RFC 5321 §5.1, N-01).
    NoMxReachable {
        id: N01, area: Mx, severity: Error, rfc: "RFC 5321 §5.1",
        title: "no MX host accepts connections",
        fix: "Make at least one MX host accept SMTP connections on port 25.",
    }

    // ---- SMTP and TLS ----------------------------------------------------------------------

    /// The address offers STARTTLS (RFC 3207 §4, STT-01).
    StarttlsOffered {
        id: Stt01, area: Transport, severity: Pass, rfc: "RFC 3207 §4",
        title: "STARTTLS offered",
        fix: NOTHING_TO_DO,
    }
    /// The STARTTLS keyword is masked as `XXXXXXXA` by a middlebox (RFC 3207 §4, T-01).
    StarttlsMasked {
        id: T01, area: Transport, severity: Error, rfc: "RFC 3207 §4",
        title: "STARTTLS masked (XXXXXXXA): a firewall inspects ESMTP",
        fix: "Turn off SMTP/ESMTP inspection (\"fixup\") for port 25 on the firewall in front \
              of this server; it hides STARTTLS, so all mail arrives in cleartext or is \
              deferred by senders that require TLS.",
    }
    /// The address does not offer STARTTLS (RFC 3207 §4, T-02).
    StarttlsNotOffered {
        id: T02, area: Transport, severity: Warning, rfc: "RFC 3207 §4",
        title: "STARTTLS not offered",
        fix: "Enable STARTTLS on this server with a certificate and key (Postfix: \
              smtpd_tls_security_level = may, smtpd_tls_chain_files = ...).",
    }
    /// STARTTLS is advertised, but the command is refused (RFC 3207 §4, STT-01).
    StarttlsRefused {
        id: Stt01, area: Transport, severity: Warning, rfc: "RFC 3207 §4",
        title: "STARTTLS advertised but refused",
        fix: "Check the server's TLS configuration: the certificate and key must be readable \
              by the SMTP server; a 454 reply means TLS is temporarily unavailable.",
    }
    /// The TLS handshake after STARTTLS fails (RFC 8461 §7.2, T-03).
    TlsHandshakeFailed {
        id: T03, area: Transport, severity: Warning, rfc: "RFC 8461 §7.2",
        title: "TLS handshake fails after STARTTLS",
        fix: "Offer TLS 1.2 or 1.3 with current cipher suites, and serve a certificate even \
              when the client sends no SNI or an unknown one.",
    }
    /// The certificate expires soon (RFC 8461 §4.2, STS-VAL-02).
    CertExpiresSoon {
        id: StsVal02, area: Transport, severity: Warning, rfc: "RFC 8461 §4.2",
        title: "certificate expires soon",
        fix: "Renew the certificate, and check that automatic renewal runs and reloads the \
              mail server.",
    }

    // ---- DANE ------------------------------------------------------------------------------

    /// No MX host publishes TLSA records (RFC 7672 §2.2, DANE-DISC-06).
    DaneAbsent {
        id: DaneDisc06, area: Dane, severity: Info, rfc: "RFC 7672 §2.2",
        title: "no TLSA records: DANE not deployed",
        fix: "Sign the zone, then publish a `3 1 1` TLSA record at _25._tcp.<mx host> for \
              each MX host, so that DNSSEC-validating senders authenticate your servers.",
    }
    /// One MX host lacks TLSA records while others have them (RFC 7672 §2.2.1, D-09).
    DaneHostWithoutTlsa {
        id: D09, area: Dane, severity: Warning, rfc: "RFC 7672 §2.2.1",
        title: "MX host without TLSA records while other MX hosts have them",
        fix: "Publish TLSA records for this MX host too: an MX host without them is a \
              downgrade path for the whole domain.",
    }
    /// TLSA records exist but are not DNSSEC-secure, so senders ignore them (RFC 7672 §2.2,
    /// D-06).
    TlsaInsecure {
        id: D06, area: Dane, severity: Warning, rfc: "RFC 7672 §2.2",
        title: "TLSA records are not DNSSEC-secure: every sender ignores them",
        fix: "Sign the zone that holds the MX host's address and TLSA records (and every \
              CNAME on the way), and publish its DS record at the parent.",
    }
    /// The signed TLSA answer is larger than 1232 octets and needs TCP (RFC 6891 §6.2.5,
    /// DANE-TLSA-08).
    DaneTlsaLarge {
        id: DaneTlsa08, area: Dane, severity: Warning, rfc: "RFC 6891 §6.2.5",
        title: "signed TLSA answer larger than 1232 octets: it needs TCP",
        fix: "Keep the TLSA RRset small: one or two `3 1 1` or `2 1 1` records per host. \
              Resolvers or firewalls that break TCP or fragmented UDP fail the lookup, and \
              senders then defer the mail.",
    }
    /// The TLSA lookup fails validation (RFC 7672 §2.1.1, D-05).
    TlsaBogus {
        id: D05, area: Dane, severity: Error, rfc: "RFC 7672 §2.1.1",
        title: "TLSA records fail DNSSEC validation",
        fix: "Repair the DNSSEC signatures of the TLSA records (re-sign the zone); DANE \
              senders treat this MX host as unreachable until then.",
    }
    /// The TLSA lookup fails (SERVFAIL, timeout) (RFC 7672 §2.1.2, D-08).
    TlsaLookupFailed {
        id: D08, area: Dane, severity: Error, rfc: "RFC 7672 §2.1.2",
        title: "TLSA lookup fails",
        fix: "Make the authoritative name servers answer TLSA (type 52) queries, with a \
              signed denial when there are none; DANE senders treat this MX host as \
              unreachable until then.",
    }
    /// A TLSA record is malformed or uses unknown parameters (RFC 7671 §9, DANE-TLSA-01).
    TlsaRecordMalformed {
        id: DaneTlsa01, area: Dane, severity: Warning, rfc: "RFC 6698 §4.1",
        title: "TLSA record unusable: unknown parameter or malformed data",
        fix: "Replace the record with a `3 1 1` record (SHA2-256 of the server's public key, \
              32 octets).",
    }
    /// A TLSA record uses PKIX-TA(0) or PKIX-EE(1), undefined for SMTP (RFC 7672 §3.1.3,
    /// DANE-TLSA-02).
    TlsaPkixUsage {
        id: DaneTlsa02, area: Dane, severity: Warning, rfc: "RFC 7672 §3.1.3",
        title: "TLSA record with PKIX usage (0 or 1): unusable for SMTP",
        fix: "Replace the record with a DANE-EE `3 1 1` or DANE-TA `2 1 1` record; usages 0 \
              and 1 only force unauthenticated TLS at senders such as Postfix.",
    }
    /// Every TLSA record of a host is unusable (RFC 7672 §2.2, D-12).
    TlsaAllUnusable {
        id: D12, area: Dane, severity: Warning, rfc: "RFC 7672 §2.2",
        title: "no usable TLSA record: senders require TLS but cannot authenticate",
        fix: "Publish at least one usable record, preferably `3 1 1` for the server's current \
              key.",
    }
    /// The address authenticates against the TLSA records (RFC 7672 §3, DANE-AUTH-01).
    DaneAuthenticated {
        id: DaneAuth01, area: Dane, severity: Pass, rfc: "RFC 7672 §3.1",
        title: "certificate matches a TLSA record",
        fix: NOTHING_TO_DO,
    }
    /// No usable TLSA record matches the served key or certificate (RFC 7671 §5.1, D-01).
    DaneMismatch {
        id: D01, area: Dane, severity: Error, rfc: "RFC 7671 §5.1",
        title: "no TLSA record matches the served certificate",
        fix: "Publish a TLSA record for the key the server presents now (or deploy the key the \
              record names). Keep the key across certificate renewals, and publish the next \
              key's record two TTLs before switching.",
    }
    /// A DANE-TA record names a trust anchor the server does not send (RFC 7671 §5.2.2, D-03).
    DaneTaNotInChain {
        id: D03, area: Dane, severity: Error, rfc: "RFC 7671 §5.2.2",
        title: "DANE-TA trust anchor not in the served chain",
        fix: "Make the server send the certificate that the `2 x x` record names in its \
              chain, or pin the issuing intermediate that it does send.",
    }
    /// Under DANE-TA, the certificate fails the name or validity checks (RFC 7672 §3.2.1,
    /// D-04).
    DaneTaNameOrExpiry {
        id: D04, area: Dane, severity: Error, rfc: "RFC 7672 §3.2.1",
        title: "DANE-TA: certificate name or validity check fails",
        fix: "Serve a certificate, valid now, whose DNS names include the MX host name (or \
              the recipient domain); DANE-TA, unlike DANE-EE, checks names and dates.",
    }
    /// Some addresses of one host match the TLSA records and others do not (D-10).
    DaneAddressDrift {
        id: D10, area: Dane, severity: Error, rfc: "RFC 7672 §3",
        title: "TLSA matches on some addresses of the host but not on others",
        fix: "Deploy the same certificate and key on every address of the MX host (each IPv4 \
              and IPv6 listener, every pool member).",
    }
    /// A kind of usable TLSA record (usage, selector, matching type) matches nothing in the
    /// chain, while the server is authenticated by another kind (RFC 7671 §8, DANE-TLSA-04).
    DaneKindUnmatched {
        id: DaneTlsa04, area: Dane, severity: Warning, rfc: "RFC 7671 §8",
        title: "a kind of TLSA record matches nothing in the served chain",
        fix: "Make every kind of record match the chain in service: update the stale record \
              to the current key or issuer, or remove it. Records of a kind that match only \
              a past or future chain must not stand alone.",
    }
    /// A DANE-EE record pins the whole certificate (`3 0 x`) (RFC 7671 §8.1, D-01).
    DaneCertPinned {
        id: D01, area: Dane, severity: Warning, rfc: "RFC 7671 §8.1",
        title: "`3 0 x` record: breaks at every certificate renewal",
        fix: "Publish `3 1 1` (the public key) instead of `3 0 x` (the whole certificate), and \
              keep the key across renewals (certbot: --reuse-key).",
    }
    /// DANE-TA pins one of a CA's several issuing intermediates (RFC 7671 §5.2, D-02).
    DaneSingleIntermediate {
        id: D02, area: Dane, severity: Warning, rfc: "RFC 7671 §5.2",
        title: "`2 x x` pins only one issuing intermediate",
        fix: "CAs issue from several intermediates and pick one at renewal: publish a `2 1 1` \
              record for each of the CA's current issuing intermediates, or a `3 1 1` record \
              for your own key.",
    }
    /// Too many TLSA records for one host (DANE-OPS-04, D-13).
    DaneTooManyRecords {
        id: D13, area: Dane, severity: Warning, rfc: "RFC 7671 §10.1",
        title: "too many TLSA records",
        fix: "Keep at most a few records per MX host (the current and the next key); some \
              large senders were seen to fail with more than about a dozen.",
    }
    /// Only one DANE-EE record: no next key pre-published (RFC 7671 §8.1, D-14).
    DaneNoNextKey {
        id: D14, area: Dane, severity: Info, rfc: "RFC 7671 §8.1",
        title: "no pre-published next key",
        fix: "Publish the TLSA record of the next key (or of a second issuer) alongside the \
              current one, at least two TTLs before a key change.",
    }
    /// TLSA records sit at a name senders never look up (RFC 7672 §2.2.3, D-07).
    DaneWrongOwner {
        id: D07, area: Dane, severity: Warning, rfc: "RFC 7672 §2.2.3",
        title: "TLSA records at the wrong owner name",
        fix: "Publish the records at _25._tcp.<mx host name> (port 25, the MX host, not the \
              mail domain or a web port); for an MX host that is an alias, at the name senders \
              use, which the finding names, and remove the records that are never read.",
    }
    /// Secure TLSA records while the MX RRset is insecure (RFC 7672 §2.2.1, DANE-DISC-01).
    DaneInsecureMx {
        id: DaneDisc01, area: Dane, severity: Info, rfc: "RFC 7672 §2.2.1",
        title: "TLSA records secure, MX records not: only some senders use them",
        fix: "Sign the mail domain's zone too, so that every DANE sender trusts the MX answer \
              and applies the TLSA records.",
    }
    /// Usable TLSA records, but no TLS session on the address (RFC 7672 §2.2, DANE-DISC-04).
    DaneNoTls {
        id: DaneDisc04, area: Dane, severity: Error, rfc: "RFC 7672 §2.2",
        title: "TLSA published but no TLS session: DANE senders defer",
        fix: "Offer STARTTLS with the certificate the TLSA records name; publishing TLSA \
              promises TLS (RFC 7671 §10.3).",
    }

    // ---- MTA-STS ---------------------------------------------------------------------------

    /// No MTA-STS record (RFC 8461 §3.1, STS-TXT-01).
    StsAbsent {
        id: StsTxt01, area: MtaSts, severity: Info, rfc: "RFC 8461 §3.1",
        title: "no MTA-STS record",
        fix: "To protect mail from senders that do not do DANE, publish a TXT record at \
              _mta-sts.<domain> and a policy at \
              https://mta-sts.<domain>/.well-known/mta-sts.txt.",
    }
    /// The `_mta-sts` TXT lookup fails (RFC 8461 §3.1, STS-TXT-01).
    StsTxtLookupFailed {
        id: StsTxt01, area: MtaSts, severity: Warning, rfc: "RFC 8461 §3.1",
        title: "MTA-STS record lookup fails",
        fix: "Make the name servers answer TXT queries for _mta-sts.<domain>; senders without \
              a cached policy fall back to no policy.",
    }
    /// The TXT record is not `v=STSv1; id=...` (RFC 8461 §3.1, STS-TXT-02).
    StsTxtSyntax {
        id: StsTxt02, area: MtaSts, severity: Error, rfc: "RFC 8461 §3.1",
        title: "MTA-STS record syntax error",
        fix: "Publish exactly `v=STSv1; id=<1-32 letters and digits>;`, starting with v=STSv1.",
    }
    /// The TXT record's `id` is missing or invalid (RFC 8461 §3.1, STS-TXT-03).
    StsTxtId {
        id: StsTxt03, area: MtaSts, severity: Error, rfc: "RFC 8461 §3.1",
        title: "MTA-STS record id missing or invalid",
        fix: "Use an id of 1 to 32 letters and digits only (no `-`, `_`, `.` or `:`), e.g. a \
              date such as 20240115T1200.",
    }
    /// Whitespace before the first `;`, or a near-miss record ignored next to the valid one
    /// (RFC 8461 §3.1 and erratum 6285, STS-TXT-05).
    StsTxtWhitespace {
        id: StsTxt05, area: MtaSts, severity: Warning, rfc: "RFC 8461 §3.1",
        title: "MTA-STS record that some senders ignore",
        fix: "Begin the record exactly with `v=STSv1;`, and delete TXT records at \
              _mta-sts.<domain> that only resemble it.",
    }
    /// The `id` field appears twice (RFC 8461 §3.1, STS-TXT-03).
    StsTxtDuplicateId {
        id: StsTxt03, area: MtaSts, severity: Warning, rfc: "RFC 8461 §3.1",
        title: "MTA-STS record has two id fields",
        fix: "Publish one `id` field; senders use the first.",
    }
    /// The record sits at `_mta-sts.mta-sts.<domain>`, where senders never look (M-07).
    StsTxtWrongOwner {
        id: M07, area: MtaSts, severity: Error, rfc: "RFC 8461 §3.1",
        title: "MTA-STS record at the wrong name",
        fix: "Publish the record at _mta-sts.<domain>; a DNS console that appends the zone \
              name made it _mta-sts.mta-sts.<domain> (enter only `_mta-sts`).",
    }
    /// Several `v=STSv1` records: no policy at all (RFC 8461 §3.1, STS-TXT-05).
    StsTxtMultiple {
        id: StsTxt05, area: MtaSts, severity: Error, rfc: "RFC 8461 §3.1",
        title: "several MTA-STS records: senders see no policy at all",
        fix: "Delete all but one `v=STSv1` TXT record at _mta-sts.<domain>.",
    }
    /// The policy host has no address (RFC 8461 §3.3, M-01).
    StsHostNoAddress {
        id: M01, area: MtaSts, severity: Error, rfc: "RFC 8461 §3.3",
        title: "MTA-STS policy host has no address",
        fix: "Publish A/AAAA records (or a CNAME) for mta-sts.<domain> pointing at the web \
              server that serves the policy.",
    }
    /// The policy fetch fails: connection, timeout, HTTP status or redirect (RFC 8461 §3.3,
    /// M-01).
    StsFetchFailed {
        id: M01, area: MtaSts, severity: Error, rfc: "RFC 8461 §3.3",
        title: "MTA-STS policy cannot be fetched",
        fix: "Serve the policy with status 200 at exactly \
              https://mta-sts.<domain>/.well-known/mta-sts.txt; senders do not follow \
              redirects.",
    }
    /// The policy host's certificate fails WebPKI validation (RFC 8461 §3.3, M-02).
    StsWebpkiInvalid {
        id: M02, area: MtaSts, severity: Error, rfc: "RFC 8461 §3.3",
        title: "MTA-STS policy host certificate invalid",
        fix: "Serve a certificate from a public CA that is valid now, names \
              mta-sts.<domain> (even when the host is delegated to a provider), and comes \
              with its intermediate certificates.",
    }
    /// The policy is served with a media type other than `text/plain` (RFC 8461 §3.2, M-03);
    /// mxsec, like many senders, then uses no policy.
    StsContentType {
        id: M03, area: MtaSts, severity: Error, rfc: "RFC 8461 §3.2",
        title: "MTA-STS policy not served as text/plain: senders reject it",
        fix: "Serve the policy file with Content-Type: text/plain (and not an HTML error page \
              with status 200); senders that check the type ignore the policy.",
    }
    /// The fetch works over one address family only (M-12).
    StsFetchFamilyDiffers {
        id: M12, area: MtaSts, severity: Warning, rfc: "RFC 8461 §3.3",
        title: "MTA-STS policy fetch works over one address family only",
        fix: "Fix the policy host's IPv4 or IPv6 address (or remove the broken A/AAAA record); \
              senders that use the other family cannot fetch the policy.",
    }
    /// A policy line is malformed (RFC 8461 §3.2, STS-POL-03).
    StsPolicySyntax {
        id: StsPol03, area: MtaSts, severity: Error, rfc: "RFC 8461 §3.2",
        title: "MTA-STS policy syntax error",
        fix: "Write one `key: value` pair per line (version, mode, mx, max_age), in US-ASCII, \
              with no leading or trailing spaces.",
    }
    /// `version: STSv1` missing or wrong (RFC 8461 §3.2, STS-POL-04).
    StsPolicyVersion {
        id: StsPol04, area: MtaSts, severity: Error, rfc: "RFC 8461 §3.2",
        title: "MTA-STS policy version missing or wrong",
        fix: "Add the line `version: STSv1` (case-sensitive).",
    }
    /// `mode` missing or not one of enforce, testing, none (RFC 8461 §3.2, STS-POL-05).
    StsPolicyMode {
        id: StsPol05, area: MtaSts, severity: Error, rfc: "RFC 8461 §3.2",
        title: "MTA-STS policy mode missing or invalid",
        fix: "Write `mode: enforce`, `mode: testing` or `mode: none`, exactly so, in lower \
              case.",
    }
    /// `max_age` missing or not 1 to 10 digits (RFC 8461 §3.2, STS-POL-06).
    StsPolicyMaxAge {
        id: StsPol06, area: MtaSts, severity: Error, rfc: "RFC 8461 §3.2",
        title: "MTA-STS policy max_age missing or invalid",
        fix: "Write `max_age: <seconds>` with digits only, e.g. `max_age: 1209600` (two \
              weeks).",
    }
    /// `max_age` above 31557600 (RFC 8461 §3.2, STS-POL-06).
    StsMaxAgeTooLarge {
        id: StsPol06, area: MtaSts, severity: Warning, rfc: "RFC 8461 §3.2",
        title: "MTA-STS max_age above one year: senders cut it to 31557600",
        fix: "Use a max_age of at most 31557600 seconds (one year).",
    }
    /// `max_age` too short for an enforce policy (RFC 8461 §10.2, M-10).
    StsMaxAgeShort {
        id: M10, area: MtaSts, severity: Warning, rfc: "RFC 8461 §10.2",
        title: "MTA-STS max_age short for an enforce policy",
        fix: "Use a max_age of weeks (at least 1209600, two weeks; many use 31557600), so \
              that an attacker who blocks policy discovery cannot wait out the cache.",
    }
    /// A malformed `mx` pattern, which invalidates the policy, or no `mx` line in a policy
    /// whose mode needs one, which leaves it covering no MX host (RFC 8461 §3.2, STS-POL-07).
    StsPolicyMx {
        id: StsPol07, area: MtaSts, severity: Error, rfc: "RFC 8461 §3.2",
        title: "MTA-STS policy mx patterns missing or invalid",
        fix: "Add one `mx:` line per MX host name (or `*.` + parent domain), using A-labels.",
    }
    /// An `mx` value that no MX host name can match, such as an IP address or a single label:
    /// senders leave it out of matching (RFC 8461 §4.1, STS-POL-09).
    StsPatternUnmatchable {
        id: StsPol09, area: MtaSts, severity: Warning, rfc: "RFC 8461 §4.1",
        title: "MTA-STS mx pattern that can never match an MX host",
        fix: "Write the MX host name as the MX record gives it (or `*.` + its parent domain), \
              never an address; an enforce policy left with no pattern that matches defers \
              all mail.",
    }
    /// A repeated or unknown key, which senders ignore (RFC 8461 §3.2, STS-POL-08).
    StsPolicyIgnoredField {
        id: StsPol08, area: MtaSts, severity: Warning, rfc: "RFC 8461 §3.2",
        title: "MTA-STS policy line ignored by senders",
        fix: "Remove the repeated or unknown line (field names are case-sensitive); senders \
              use the first occurrence of a key and ignore unknown ones.",
    }
    /// A line that parses but that strict senders reject: blank line, trailing whitespace
    /// (RFC 8461 §3.2, STS-POL-03).
    StsPolicyStyle {
        id: StsPol03, area: MtaSts, severity: Warning, rfc: "RFC 8461 §3.2",
        title: "MTA-STS policy line that strict senders reject",
        fix: "Remove blank lines and trailing whitespace from the policy file.",
    }
    /// An `mx` line that parses with a remark: trailing dot, repeated pattern (RFC 8461 §3.2,
    /// STS-POL-07).
    StsPolicyMxStyle {
        id: StsPol07, area: MtaSts, severity: Warning, rfc: "RFC 8461 §3.2",
        title: "MTA-STS mx line with a trailing dot or repeated",
        fix: "Write each MX host name once, without a trailing dot.",
    }
    /// The policy body exceeds 64 KiB (RFC 8461 §3.3, STS-FETCH-04).
    StsPolicyTooLarge {
        id: StsFetch04, area: MtaSts, severity: Error, rfc: "RFC 8461 §3.3",
        title: "MTA-STS policy larger than 64 KiB",
        fix: "Serve only the policy lines at /.well-known/mta-sts.txt; a policy is a few \
              hundred bytes.",
    }
    /// The policy is valid (RFC 8461 §3.2, STS-POL-03).
    StsPolicyValid {
        id: StsPol03, area: MtaSts, severity: Pass, rfc: "RFC 8461 §3.2",
        title: "MTA-STS policy fetched and valid",
        fix: NOTHING_TO_DO,
    }
    /// Mode `testing`: failures are reported, not enforced (RFC 8461 §5, STS-APP-02).
    StsModeTesting {
        id: StsApp02, area: MtaSts, severity: Info, rfc: "RFC 8461 §5",
        title: "MTA-STS in testing mode: nothing is enforced yet",
        fix: "When the TLS-RPT reports show no failures, switch to `mode: enforce` and change \
              the TXT record's id.",
    }
    /// Mode `none`: no active policy (RFC 8461 §5, STS-APP-03).
    StsModeNone {
        id: StsApp03, area: MtaSts, severity: Info, rfc: "RFC 8461 §5",
        title: "MTA-STS mode none: the policy is retired",
        fix: "Nothing, if MTA-STS is being retired (RFC 8461 §8.3); otherwise publish \
              `mode: testing` or `mode: enforce`.",
    }
    /// The MX host matches a policy pattern (RFC 8461 §4.1, STS-VAL-01).
    StsMxCovered {
        id: StsVal01, area: MtaSts, severity: Pass, rfc: "RFC 8461 §4.1",
        title: "MX host covered by an MTA-STS mx pattern",
        fix: NOTHING_TO_DO,
    }
    /// Under `enforce`, the MX host matches no pattern: senders skip it (RFC 8461 §4.1, M-05).
    StsMxNotCovered {
        id: M05, area: MtaSts, severity: Error, rfc: "RFC 8461 §4.1",
        title: "MX host not covered by the enforce policy: senders skip it",
        fix: "Add an `mx:` line for this host to the policy (a `*.` pattern matches exactly one \
              label), then change the TXT record's id.",
    }
    /// Under `testing`, the MX host matches no pattern (RFC 8461 §4.1, M-05).
    StsMxNotCoveredTesting {
        id: M05, area: MtaSts, severity: Warning, rfc: "RFC 8461 §4.1",
        title: "MX host not covered by the testing policy",
        fix: "Add an `mx:` line for this host before switching to enforce, then change the \
              TXT record's id.",
    }
    /// Under `enforce`, the address's certificate fails WebPKI validation for the MX name
    /// (RFC 8461 §4.2, M-06).
    StsMxCertInvalid {
        id: M06, area: MtaSts, severity: Error, rfc: "RFC 8461 §4.2",
        title: "MX certificate invalid under the enforce policy: senders defer",
        fix: "Serve a certificate from a public CA that is valid now and names the MX host \
              name itself (not only the provider's name).",
    }
    /// Under `testing`, the address's certificate fails WebPKI validation (RFC 8461 §4.2, M-06).
    StsMxCertInvalidTesting {
        id: M06, area: MtaSts, severity: Warning, rfc: "RFC 8461 §4.2",
        title: "MX certificate would fail an enforce policy",
        fix: "Serve a certificate from a public CA that is valid now and names the MX host \
              name, before switching to enforce.",
    }
    /// Under `enforce`, the address offers no usable TLS: senders defer (RFC 8461 §4.2,
    /// STS-VAL-02).
    StsMxNoTls {
        id: StsVal02, area: MtaSts, severity: Error, rfc: "RFC 8461 §4.2",
        title: "no TLS session under the enforce policy: senders defer",
        fix: "Offer STARTTLS with a valid certificate for the MX host name on every address.",
    }
    /// Under `testing`, the address offers no usable TLS (RFC 8461 §4.2, STS-VAL-02).
    StsMxNoTlsTesting {
        id: StsVal02, area: MtaSts, severity: Warning, rfc: "RFC 8461 §4.2",
        title: "no TLS session: would fail an enforce policy",
        fix: "Offer STARTTLS with a valid certificate for the MX host name on every address, \
              before switching to enforce.",
    }
    /// The address passes MTA-STS validation (RFC 8461 §4.2, STS-VAL-02).
    StsMxPasses {
        id: StsVal02, area: MtaSts, severity: Pass, rfc: "RFC 8461 §4.2",
        title: "MX passes MTA-STS validation",
        fix: NOTHING_TO_DO,
    }
    /// A recorded chain validates against Mozilla's roots or the operating system's store but
    /// not both (RFC 8461 §4.2, RFC 5280 §6, PKIX-01): senders using the other store fail it.
    PkixStoresDisagree {
        id: Pkix01, area: MtaSts, severity: Warning, rfc: "RFC 8461 §4.2; RFC 5280 §6",
        title: "certificate chain trusted by only one of two widely used root stores",
        fix: "Serve a chain, intermediates included, that ends at a root present both in \
              Mozilla's program and in the operating systems' bundles (for a new root, the \
              cross-signed intermediate too); until then MTA-STS senders using the other store \
              defer or skip this host.",
    }
    /// A broad `*.` pattern (RFC 8461 §10.4, STS-SEC-01).
    StsBroadPattern {
        id: StsSec01, area: MtaSts, severity: Warning, rfc: "RFC 8461 §10.4",
        title: "broad MTA-STS mx pattern",
        fix: "List the MX host names themselves: a `*.` pattern lets any host in that domain \
              with a public certificate receive the domain's mail.",
    }
    /// No TXT record, but the policy host still serves a policy (RFC 8461 §8.3, M-11).
    StsOrphanPolicy {
        id: M11, area: MtaSts, severity: Warning, rfc: "RFC 8461 §8.3",
        title: "MTA-STS policy served without a TXT record",
        fix: "To retire MTA-STS, publish `mode: none` with a new id and keep both the TXT \
              record and the policy until every max_age served before has passed; to keep it, \
              restore the TXT record.",
    }

    // ---- TLS-RPT ---------------------------------------------------------------------------

    /// A valid TLS-RPT record (RFC 8460 §3, RPT-TXT-02).
    RptValid {
        id: RptTxt02, area: TlsRpt, severity: Pass, rfc: "RFC 8460 §3",
        title: "TLS-RPT record valid",
        fix: NOTHING_TO_DO,
    }
    /// No TLS-RPT record (RFC 8460 §3, RPT-TXT-01).
    RptAbsent {
        id: RptTxt01, area: TlsRpt, severity: Info, rfc: "RFC 8460 §3",
        title: "no TLS-RPT record",
        fix: "Publish `v=TLSRPTv1; rua=mailto:<address>` at _smtp._tls.<domain> to receive \
              daily reports of TLS failures from senders.",
    }
    /// The `_smtp._tls` TXT lookup fails (RFC 8460 §3, RPT-TXT-01).
    RptLookupFailed {
        id: RptTxt01, area: TlsRpt, severity: Warning, rfc: "RFC 8460 §3",
        title: "TLS-RPT record lookup fails",
        fix: "Make the name servers answer TXT queries for _smtp._tls.<domain>.",
    }
    /// The record sits at the draft-era name `_smtp-tlsrpt` (RFC 8460 §3, R-01).
    RptLegacyName {
        id: R01, area: TlsRpt, severity: Warning, rfc: "RFC 8460 §3",
        title: "TLS-RPT record at the draft-era name _smtp-tlsrpt",
        fix: "Move the record to _smtp._tls.<domain>; no sender looks at _smtp-tlsrpt.",
    }
    /// The record is not `v=TLSRPTv1; rua=...` (RFC 8460 §3, RPT-TXT-02).
    RptSyntax {
        id: RptTxt02, area: TlsRpt, severity: Error, rfc: "RFC 8460 §3",
        title: "TLS-RPT record syntax error",
        fix: "Publish `v=TLSRPTv1; rua=mailto:<address>`, starting with v=TLSRPTv1.",
    }
    /// A `rua` URI is invalid (RFC 8460 §3, RPT-TXT-03).
    RptBadRua {
        id: RptTxt03, area: TlsRpt, severity: Error, rfc: "RFC 8460 §3",
        title: "TLS-RPT rua URI invalid",
        fix: "Write each rua target as a mailto: or https: URI, separated by commas, with `,`, \
              `!` and `;` inside a URI percent-encoded.",
    }
    /// A near-miss record next to the valid one, or whitespace before the first `;`
    /// (RFC 8460 §3, RPT-TXT-04).
    RptIgnoredRecord {
        id: RptTxt04, area: TlsRpt, severity: Warning, rfc: "RFC 8460 §3",
        title: "TLS-RPT record that some senders ignore",
        fix: "Begin the record exactly with `v=TLSRPTv1;`, and delete TXT records at \
              _smtp._tls.<domain> that only resemble it.",
    }
    /// Several `rua` fields in one record (RFC 8460 §3, RPT-TXT-02).
    RptSeveralRua {
        id: RptTxt02, area: TlsRpt, severity: Warning, rfc: "RFC 8460 §3",
        title: "several rua fields in the TLS-RPT record",
        fix: "List every URI in one rua field, separated by commas.",
    }
    /// Several `v=TLSRPTv1` records: no reporting (RFC 8460 §3, RPT-TXT-04).
    RptMultiple {
        id: RptTxt04, area: TlsRpt, severity: Error, rfc: "RFC 8460 §3",
        title: "several TLS-RPT records: senders send no reports",
        fix: "Keep exactly one `v=TLSRPTv1` record at _smtp._tls.<domain>; list several \
              targets in its rua field instead.",
    }
    /// MTA-STS or DANE is enforced without TLS-RPT (RFC 8460 §1, R-04).
    RptMissingWhileEnforced {
        id: R04, area: TlsRpt, severity: Warning, rfc: "RFC 8460 §1",
        title: "DANE or MTA-STS enforced without TLS-RPT: failures stay invisible",
        fix: "Publish `v=TLSRPTv1; rua=mailto:<address>` at _smtp._tls.<domain>, so that \
              senders tell you when they cannot deliver.",
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.entry().title)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// The prefixes of the conformance and scenario IDs.
    const ID_PREFIXES: [&str; 11] = [
        "STS-", "DANE-", "RPT-", "STT-", "T-", "M-", "D-", "R-", "N-", "PKIX-", "DNSSEC-",
    ];

    #[test]
    fn every_entry_has_a_known_id_an_rfc_and_a_fix() {
        for kind in FindingKind::ALL {
            let e = kind.entry();
            assert!(
                ID_PREFIXES.iter().any(|p| e.id.as_str().starts_with(p)),
                "{kind:?}: {}",
                e.id
            );
            assert!(e.rfc.starts_with("RFC "), "{kind:?}: {}", e.rfc);
            assert!(e.rfc.contains('§'), "{kind:?}: {}", e.rfc);
            assert!(!e.fix.is_empty() && !e.title.is_empty(), "{kind:?}");
            assert!(!e.title.ends_with('.'), "{kind:?}: titles are fragments");
            assert!(e.fix.ends_with('.'), "{kind:?}: fixes are sentences");
            assert_eq!(
                e.severity == Severity::Pass,
                e.fix == NOTHING_TO_DO,
                "{kind:?}: only passes have nothing to do"
            );
        }
    }

    #[test]
    fn kinds_are_unique_in_json() {
        let names: HashSet<String> = FindingKind::ALL
            .iter()
            .map(|k| serde_json::to_string(k).unwrap())
            .collect();
        assert_eq!(names.len(), FindingKind::ALL.len());
        assert_eq!(
            serde_json::to_string(&FindingKind::StsMxNotCoveredTesting).unwrap(),
            "\"sts-mx-not-covered-testing\""
        );
    }
}
