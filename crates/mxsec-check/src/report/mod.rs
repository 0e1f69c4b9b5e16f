//! The report of one domain audit: the verdict, the findings and what was observed.
//!
//! The types here are plain data with serde derives; [`json`] documents the wire format and
//! holds its JSON Schema, [`text`] renders the human report for a terminal and [`html`] the
//! same report for the web page. The two human reports walk one layout and take their words
//! from one table, so they say the same thing. The web front end returns the same types.
//! [`summary`] counts many reports (a scan) and renders the counts as text, JSON and HTML.

pub mod html;
pub mod json;
mod labels;
mod layout;
pub mod summary;
pub mod text;

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use mxsec_proto::mta_sts::policy::Mode;
use mxsec_proto::name::DomainName;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::catalogue::Severity;
use crate::finding::Finding;

/// The version of the JSON report format; see [`json`] for what changes it.
pub const SCHEMA_VERSION: u32 = 1;

/// The complete audit of one domain.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`] of the format this report was written in.
    pub schema_version: u32,
    /// The audited domain.
    pub domain: DomainName,
    /// When the audit started.
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    /// How long the audit took, in milliseconds.
    pub duration_ms: u64,
    /// What senders will do, in one object (the fields and values are fixed, see [`Verdict`]).
    pub verdict: Verdict,
    /// What each kind of sender will do, with the reason.
    pub senders: Senders,
    /// How many findings of each severity.
    pub summary: Summary,
    /// Every finding, most serious first.
    pub findings: Vec<Finding>,
    /// The MX records, their hosts and addresses, and every per-address result.
    pub mx: MxSection,
    /// MTA-STS: the TXT record, the policy fetches and the policy.
    pub mta_sts: MtaStsSection,
    /// TLS-RPT: the reporting record.
    pub tls_rpt: TlsRptSection,
}

impl Report {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.summary.errors > 0
    }

    /// The exit status of `mxsec check` for this report: 0 without `error` findings, 1 with.
    /// (Status 2, "the check could not run", has no report.)
    pub fn exit_status(&self) -> u8 {
        u8::from(self.has_errors())
    }

    /// The distinct IDs of the findings with the given severities, sorted.
    pub fn finding_ids(&self, severities: &[Severity]) -> BTreeSet<&str> {
        self.findings
            .iter()
            .filter(|f| severities.contains(&f.severity))
            .map(|f| f.id.as_str())
            .collect()
    }
}

/// The verdict: the five answers a domain owner asks for first.
///
/// These fields and their values are fixed by the report format; a new value is a new
/// [`SCHEMA_VERSION`].
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Verdict {
    /// The MTA-STS state a sender discovers.
    pub mta_sts: StsVerdict,
    /// The DANE state a sender discovers.
    pub dane: DaneVerdict,
    /// Whether failure reports reach the domain.
    pub tls_rpt: TlsRptVerdict,
    /// The socketmap reply the mxsec daemon would send Postfix for this domain, exactly as
    /// `mxsec query` prints it.
    pub policy: String,
    /// What a sender that enforces DANE and MTA-STS will do.
    pub delivery: Delivery,
}

/// The MTA-STS state of a domain (RFC 8461).
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StsVerdict {
    /// A valid policy in mode `enforce`.
    Enforce,
    /// A valid policy in mode `testing`.
    Testing,
    /// A valid policy in mode `none`.
    None,
    /// No MTA-STS TXT record.
    Absent,
    /// A TXT record, but no usable policy: several or invalid records, the fetch fails, or
    /// the policy is invalid (RFC 8461 §3.3: senders then behave as if there were none).
    Invalid,
}

/// The DANE state of a domain (RFC 7672).
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DaneVerdict {
    /// At least one MX host has a DNSSEC-secure TLSA RRset with a usable record.
    Usable,
    /// Secure TLSA RRsets exist, but none has a usable record (RFC 7672 §2.2: mandatory TLS,
    /// no authentication).
    Unusable,
    /// TLSA records exist but are not DNSSEC-secure, so senders ignore them.
    Insecure,
    /// DNSSEC validation (or the lookup) fails for an answer DANE needs: senders defer.
    Bogus,
    /// No TLSA records.
    Absent,
}

/// The TLS-RPT state of a domain (RFC 8460).
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsRptVerdict {
    /// Exactly one valid `v=TLSRPTv1` record.
    Present,
    /// No record.
    Absent,
    /// Records exist but senders cannot use them (several, or invalid).
    Invalid,
}

/// What a sender does with mail for the domain.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delivery {
    /// Delivered over TLS to an authenticated server (DANE or MTA-STS).
    Authenticated,
    /// TLS is required but the server is not authenticated (e.g. all TLSA records unusable).
    Encrypted,
    /// TLS when offered, otherwise cleartext: nothing is enforced.
    Opportunistic,
    /// Not delivered now; the sender retries later.
    Deferred,
    /// The domain accepts no mail (null MX, RFC 7505).
    NoMail,
}

impl StsVerdict {
    /// The value as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Testing => "testing",
            Self::None => "none",
            Self::Absent => "absent",
            Self::Invalid => "invalid",
        }
    }
}

impl DaneVerdict {
    /// The value as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Usable => "usable",
            Self::Unusable => "unusable",
            Self::Insecure => "insecure",
            Self::Bogus => "bogus",
            Self::Absent => "absent",
        }
    }
}

impl TlsRptVerdict {
    /// The value as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Present => "present",
            Self::Absent => "absent",
            Self::Invalid => "invalid",
        }
    }
}

impl Delivery {
    /// The value as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authenticated => "authenticated",
            Self::Encrypted => "encrypted",
            Self::Opportunistic => "opportunistic",
            Self::Deferred => "deferred",
            Self::NoMail => "no-mail",
        }
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(StsVerdict, DaneVerdict, TlsRptVerdict, Delivery, DnsStatus);

/// What each kind of sender does with mail for the domain, and why.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Senders {
    /// A sender that enforces DANE and MTA-STS (the mxsec daemon with Postfix); its delivery
    /// is [`Verdict::delivery`].
    pub dane_and_mta_sts: SenderOutcome,
    /// A sender that does DANE only (e.g. Postfix with `smtp_tls_security_level = dane`).
    pub dane: SenderOutcome,
    /// A sender that does MTA-STS only (e.g. the large mailbox providers).
    pub mta_sts: SenderOutcome,
    /// A sender that uses STARTTLS when offered and never authenticates.
    pub opportunistic: SenderOutcome,
}

/// What one kind of sender does, and why.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct SenderOutcome {
    /// What happens to the mail.
    pub delivery: Delivery,
    /// One line saying why.
    pub reason: String,
}

/// How many findings of each severity a report has.
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
pub struct Summary {
    /// `error` findings.
    pub errors: usize,
    /// `warning` findings.
    pub warnings: usize,
    /// `info` findings.
    pub infos: usize,
    /// `pass` findings.
    pub passes: usize,
}

impl Summary {
    /// Counts the findings of each severity.
    pub fn of(findings: &[Finding]) -> Self {
        let mut s = Self::default();
        for f in findings {
            match f.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Info => s.infos += 1,
                Severity::Pass => s.passes += 1,
            }
        }
        s
    }
}

/// The outcome of one DNS lookup, as the report shows it.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DnsStatus {
    /// Validated from the trust anchor (RFC 4035 §4.3).
    Secure,
    /// Provably unsigned.
    Insecure,
    /// Signed, but validation fails.
    Bogus,
    /// Validation could not decide (treated as insecure, RFC 7672 §2.1.1).
    Indeterminate,
    /// The lookup failed (SERVFAIL, timeout, refused): no answer at all.
    Failed,
}

impl DnsStatus {
    /// The value as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Secure => "secure",
            Self::Insecure => "insecure",
            Self::Bogus => "bogus",
            Self::Indeterminate => "indeterminate",
            Self::Failed => "failed",
        }
    }
}

impl From<mxsec_proto::dnssec::Security> for DnsStatus {
    fn from(s: mxsec_proto::dnssec::Security) -> Self {
        use mxsec_proto::dnssec::Security;
        match s {
            Security::Secure => Self::Secure,
            Security::Insecure => Self::Insecure,
            Security::Bogus => Self::Bogus,
            Security::Indeterminate => Self::Indeterminate,
        }
    }
}

/// The MX records and everything learnt about each host.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct MxSection {
    /// What the MX lookup gave.
    pub kind: MxKind,
    /// The DNSSEC status of the MX answer (or of its denial).
    pub dnssec: DnsStatus,
    /// Where the DNSSEC chain breaks, when it does (the zone whose signatures or DS fail).
    pub broken_at: Option<String>,
    /// The MX hosts in preference order (for an implicit MX, the domain itself).
    pub hosts: Vec<MxHost>,
}

/// What the MX lookup of a domain gave.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MxKind {
    /// One or more MX records.
    Mx,
    /// Only a null MX (`0 .`, RFC 7505): no mail.
    NullMx,
    /// No MX records; the domain's own addresses are the mail host (RFC 5321 §5.1).
    Implicit,
    /// No MX records and no addresses.
    NoHost,
    /// The domain does not exist (NXDOMAIN).
    NxDomain,
    /// The lookup failed or did not validate.
    Failed,
}

/// One MX host.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct MxHost {
    /// The host name as the MX record gives it.
    pub name: DomainName,
    /// The MX preference; `null` for an implicit MX.
    pub preference: Option<u16>,
    /// The canonical name when the MX target is an alias (CNAME).
    pub canonical_name: Option<DomainName>,
    /// The DNSSEC status of the host's address records (the weaker of A and AAAA).
    pub dnssec: DnsStatus,
    /// Every address, with its probe results.
    pub addresses: Vec<AddressReport>,
    /// The TLSA records at `_25._tcp.<host>`.
    pub tlsa: TlsaSet,
    /// Whether the MTA-STS policy covers this host; `null` without a policy.
    pub mta_sts: Option<StsCoverage>,
}

/// The TLSA RRset of one MX host.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct TlsaSet {
    /// The owner name queried, `_25._tcp.<TLSA base domain>`.
    pub owner: String,
    /// The DNSSEC status of the answer (or of the denial).
    pub dnssec: DnsStatus,
    /// The records, in presentation form with usability.
    pub records: Vec<TlsaEntry>,
}

/// One TLSA record, with whether a DANE sender can use it.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct TlsaEntry {
    /// `usage selector matching-type hex-data`, e.g. `3 1 1 0c72…`.
    pub record: String,
    /// Whether the record is usable for SMTP (RFC 7672 §3.1, RFC 6698 §4.1).
    pub usable: bool,
    /// Why it is not usable.
    pub reason: Option<String>,
}

/// Whether the MTA-STS policy covers an MX host (RFC 8461 §4.1).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct StsCoverage {
    /// The first `mx` pattern that matches the host, if any.
    pub pattern: Option<String>,
}

/// Everything learnt about one address of an MX host.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct AddressReport {
    /// The address.
    pub address: IpAddr,
    /// The TCP connection to port 25.
    pub tcp: TcpOutcome,
    /// Time to connect, in milliseconds.
    pub connect_ms: Option<u64>,
    /// The SMTP greeting, every line as sent (`220-first`, ..., `220 last`), one per line,
    /// control characters replaced and bounded as [`mxsec_proto::smtp::greeting::Greeting`]
    /// says; `None` when none arrived.
    pub banner: Option<String>,
    /// What became of STARTTLS.
    pub starttls: StarttlsOutcome,
    /// The TLS session, when a handshake was attempted.
    pub tls: Option<TlsReport>,
    /// The DANE verdict for this address, when the host has usable TLSA records.
    pub dane: Option<AddressDane>,
    /// The MTA-STS verdict for this address, when a policy applies.
    pub mta_sts: Option<AddressSts>,
    /// Why the probe stopped early, when it did.
    pub error: Option<String>,
}

/// The TCP connection to port 25 of one address.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TcpOutcome {
    /// Connected.
    Connected,
    /// Refused, unreachable or timed out.
    Failed,
    /// Not attempted (e.g. a special-purpose address).
    Skipped,
}

/// What became of STARTTLS on one address (RFC 3207).
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StarttlsOutcome {
    /// Advertised and accepted (`220`).
    Offered,
    /// Not advertised.
    NotOffered,
    /// Masked by a middlebox (`XXXXXXXA`).
    Masked,
    /// Advertised, but the command was refused.
    Refused,
    /// The dialogue did not get that far.
    NotReached,
}

/// One TLS handshake and the certificate it presented.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct TlsReport {
    /// The negotiated protocol version, e.g. `TLSv1.3`.
    pub version: Option<String>,
    /// The negotiated cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: Option<String>,
    /// The presented chain, leaf first.
    pub chain: Vec<CertSummary>,
    /// WebPKI validation for the MX host name (what MTA-STS requires, RFC 8461 §4.2).
    pub pkix: PkixResult,
    /// Whether the leaf names the MX host (RFC 6125 rules).
    pub name_matches: Option<bool>,
    /// Whole days until the leaf expires (negative when expired).
    pub days_to_expiry: Option<i64>,
    /// Why the handshake failed, when it did.
    pub error: Option<String>,
}

/// One certificate of a presented chain.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct CertSummary {
    /// The subject distinguished name.
    pub subject: String,
    /// The issuer distinguished name.
    pub issuer: String,
    /// The DNS names of the subjectAltName extension.
    pub dns_names: Vec<String>,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// SHA2-256 of the SubjectPublicKeyInfo, hex: the data of a `x 1 1` TLSA record.
    pub spki_sha256: String,
}

/// The WebPKI verdict on a presented chain.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PkixResult {
    /// Chains to a trusted root, valid now, names the MX host.
    Valid,
    /// Expired (or not yet valid).
    Expired,
    /// Does not name the MX host.
    NameMismatch,
    /// Does not chain to a trusted root (self-signed, private CA, missing intermediate).
    Untrusted,
    /// Not evaluated (no handshake).
    NotChecked,
}

impl PkixResult {
    /// The value as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expired => "expired",
            Self::NameMismatch => "name-mismatch",
            Self::Untrusted => "untrusted",
            Self::NotChecked => "not-checked",
        }
    }
}

/// The DANE result on one address (RFC 7672 §3).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct AddressDane {
    /// The overall result.
    pub result: DaneResult,
    /// The result of each TLSA record, in the order of [`TlsaSet::records`].
    pub records: Vec<RecordResult>,
}

/// The DANE result on one address.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DaneResult {
    /// A usable record matched: the server is authenticated.
    Authenticated,
    /// No usable record matched: DANE senders do not deliver to this address.
    Failed,
    /// The TLSA RRset has no usable record: TLS required, no authentication.
    Unauthenticated,
    /// No TLS session, so nothing to authenticate: DANE senders do not deliver here.
    NoTls,
}

impl DaneResult {
    /// The value as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authenticated => "authenticated",
            Self::Failed => "failed",
            Self::Unauthenticated => "unauthenticated",
            Self::NoTls => "no-tls",
        }
    }
}

/// The result of one TLSA record against the presented chain.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct RecordResult {
    /// The record, as in [`TlsaEntry::record`].
    pub record: String,
    /// Whether it matched (and, for DANE-TA, passed the name and date checks).
    pub matched: bool,
    /// Why it did not match, when it did not.
    pub detail: Option<String>,
}

/// The MTA-STS result on one address (RFC 8461 §4).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct AddressSts {
    /// Whether an MTA-STS sender accepts this address.
    pub pass: bool,
    /// Why not, when it does not.
    pub reason: Option<String>,
}

/// MTA-STS: the TXT record, the policy fetches and the policy.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct MtaStsSection {
    /// The TXT records at `_mta-sts.<domain>`.
    pub txt: TxtLookup,
    /// The policy `id` of the one valid TXT record.
    pub id: Option<String>,
    /// The policy host, `mta-sts.<domain>` (RFC 8461 §3.2).
    pub policy_host: String,
    /// One fetch per address family of the policy host.
    pub fetches: Vec<PolicyFetch>,
    /// The policy, when one was fetched and parsed.
    pub policy: Option<PolicyReport>,
}

/// The TXT records found at one name.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct TxtLookup {
    /// The name queried.
    pub name: String,
    /// The DNSSEC status of the answer.
    pub dnssec: DnsStatus,
    /// Every TXT record, its strings concatenated.
    pub records: Vec<String>,
}

/// The policy fetch over one address family.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct PolicyFetch {
    /// The address family.
    pub family: Family,
    /// The address used, when the policy host has one in this family.
    pub address: Option<IpAddr>,
    /// Whether a policy body was obtained (status 200, WebPKI valid, within limits).
    pub ok: bool,
    /// The HTTP status, when a response arrived.
    pub http_status: Option<u16>,
    /// The Content-Type header, when a response arrived.
    pub content_type: Option<String>,
    /// The body size in bytes.
    pub bytes: Option<u64>,
    /// How long the fetch took, in milliseconds.
    pub duration_ms: Option<u64>,
    /// What went wrong, when something did.
    pub error: Option<String>,
}

/// An IP address family.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl Family {
    /// The family of an address.
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => Self::Ipv4,
            IpAddr::V6(_) => Self::Ipv6,
        }
    }

    /// `IPv4` or `IPv6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ipv4 => "IPv4",
            Self::Ipv6 => "IPv6",
        }
    }
}

/// A parsed MTA-STS policy.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct PolicyReport {
    /// `enforce`, `testing` or `none`.
    pub mode: Mode,
    /// The max_age in seconds, as published (before any clamping).
    pub max_age: u64,
    /// The `mx` patterns, in order.
    pub mx: Vec<String>,
}

/// TLS-RPT: the reporting record.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct TlsRptSection {
    /// The TXT records at `_smtp._tls.<domain>`.
    pub txt: TxtLookup,
    /// The `rua` URIs of the one valid record.
    pub rua: Vec<String>,
    /// The TXT records at the draft-era name `_smtp-tlsrpt.<domain>`, if any.
    pub legacy_records: Vec<String>,
}

#[cfg(test)]
mod tests;
