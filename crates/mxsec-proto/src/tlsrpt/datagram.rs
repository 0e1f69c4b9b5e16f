//! The datagrams libtlsrpt sends (Postfix ≥ 3.10 built with TLSRPT support).
//!
//! An MTA linked with libtlsrpt (sys4, `libtlsrpt.c`, datagram protocol version 1) sends one
//! Unix datagram per delivery request: a JSON object, written by `tlsrpt_init_delivery_request`,
//! `tlsrpt_init_policy`, `tlsrpt_add_policy_string`, `tlsrpt_add_mx_host_pattern`,
//! `tlsrpt_add_delivery_request_failure` and `tlsrpt_finish_policy`:
//!
//! ```text
//! {"dpv": "1","d": "example.org","pr": "v=TLSRPTv1; rua=mailto:tlsrpt@example.org",
//!  "policies":[{"policy-type":2,"policy-domain": "example.org",
//!               "policy-string":["version: STSv1","mode: testing",…],
//!               "mx-host":["*.mail.example.org"],
//!               "failure-details":[{"c":204,"s": "192.0.2.1","n": "mx.example.org",
//!                                   "h": "mx", "r": "198.51.100.25","a": "…","f": "…"}],
//!               "t":1,"f":1}]}
//! ```
//!
//! `policy-type` is 1 (`tlsa`), 2 (`sts`) or 9 (`no-policy-found`); `c` is the failure code
//! (201–205 negotiation, 301–303 MTA-STS, 304–306 DANE; `tlsrpt.h`); `t` counts the failure
//! details and `f` is the policy's final result, 0 success and 1 failure. Each policy of a
//! datagram is one session (Postfix reports one final outcome per MTA it connects to).
//!
//! [`Datagram::parse`] is bounded by [`MAX_DATAGRAM`] and never panics.

use crate::name::DomainName;

use super::report::{AppliedPolicy, FailureDetail, PolicyType, ReportIp};
use super::result_type::ResultType;

/// The largest datagram accepted, in bytes (a Linux Unix datagram socket's default limit is
/// about 208 KiB).
pub const MAX_DATAGRAM: usize = 256 * 1024;

/// The datagram protocol version this parser reads (`dpv`).
pub const PROTOCOL_VERSION: &str = "1";

/// One delivery request as libtlsrpt reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// The recipient domain (`d`).
    pub domain: DomainName,
    /// The domain's `_smtp._tls` record as the MTA found it (`pr`).
    pub record: String,
    /// The policies tried, each one session.
    pub policies: Vec<DatagramPolicy>,
}

/// One policy of a delivery request, and how its session ended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DatagramPolicy {
    /// The policy (its domain defaults to the request's).
    pub policy: AppliedPolicy,
    /// Whether the session failed (`f` = 1).
    pub failed: bool,
    /// The failures, each counting one session.
    pub failures: Vec<FailureDetail>,
}

/// Why a datagram was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatagramError {
    /// Larger than [`MAX_DATAGRAM`].
    #[error("the datagram is {0} bytes; the limit is {MAX_DATAGRAM}")]
    TooLarge(usize),
    /// Not JSON, or not of the shape libtlsrpt writes.
    #[error("not a libtlsrpt datagram: {0}")]
    Json(#[from] serde_json::Error),
    /// A `dpv` other than [`PROTOCOL_VERSION`].
    #[error("datagram protocol version {0:?} is not supported (only \"1\")")]
    Version(String),
    /// `d` or `policy-domain` is not a domain name.
    #[error("{0:?} is not a domain name")]
    Domain(String),
    /// An unknown `policy-type`.
    #[error("unknown policy type {0}")]
    PolicyType(i64),
    /// An unknown failure code `c`.
    #[error("unknown failure code {0}")]
    FailureCode(i64),
    /// An IP address field (`s`, `r`) that is not an address.
    #[error("{0:?} is not an IP address")]
    Address(String),
    /// No policy at all (libtlsrpt never sends such a datagram).
    #[error("the datagram holds no policy")]
    NoPolicy,
}

#[derive(serde::Deserialize)]
struct Wire {
    dpv: String,
    d: String,
    #[serde(default)]
    pr: String,
    #[serde(default)]
    policies: Vec<WirePolicy>,
}

#[derive(serde::Deserialize)]
struct WirePolicy {
    #[serde(rename = "policy-type")]
    policy_type: i64,
    #[serde(rename = "policy-domain")]
    policy_domain: Option<String>,
    #[serde(rename = "policy-string", default)]
    policy_string: Vec<String>,
    #[serde(rename = "mx-host", default)]
    mx_host: Vec<String>,
    #[serde(rename = "failure-details", default)]
    failure_details: Vec<WireFailure>,
    f: i64,
}

#[derive(serde::Deserialize)]
struct WireFailure {
    c: i64,
    s: Option<String>,
    n: Option<String>,
    h: Option<String>,
    r: Option<String>,
    a: Option<String>,
    f: Option<String>,
}

impl Datagram {
    /// Reads one datagram.
    ///
    /// # Errors
    ///
    /// A [`DatagramError`] for oversized input, JSON that is not a version 1 datagram, an
    /// invalid domain, address, policy type or failure code, or no policy.
    pub fn parse(bytes: &[u8]) -> Result<Self, DatagramError> {
        if bytes.len() > MAX_DATAGRAM {
            return Err(DatagramError::TooLarge(bytes.len()));
        }
        let wire: Wire = serde_json::from_slice(bytes)?;
        if wire.dpv != PROTOCOL_VERSION {
            return Err(DatagramError::Version(wire.dpv));
        }
        let domain = domain(&wire.d)?;
        if wire.policies.is_empty() {
            return Err(DatagramError::NoPolicy);
        }
        let policies = wire
            .policies
            .into_iter()
            .map(|p| policy(p, &domain))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            domain,
            record: wire.pr,
            policies,
        })
    }
}

fn policy(p: WirePolicy, request_domain: &DomainName) -> Result<DatagramPolicy, DatagramError> {
    let policy_type = match p.policy_type {
        1 => PolicyType::Tlsa,
        2 => PolicyType::Sts,
        9 => PolicyType::NoPolicyFound,
        n => return Err(DatagramError::PolicyType(n)),
    };
    let policy_domain = match p.policy_domain.as_deref() {
        Some(d) => domain(d)?,
        None => request_domain.clone(),
    };
    let failures = p
        .failure_details
        .into_iter()
        .map(failure)
        .collect::<Result<_, _>>()?;
    Ok(DatagramPolicy {
        policy: AppliedPolicy {
            policy_type,
            policy_string: (!p.policy_string.is_empty()).then_some(p.policy_string),
            policy_domain,
            mx_host: (!p.mx_host.is_empty()).then_some(p.mx_host),
        },
        failed: p.f != 0,
        failures,
    })
}

fn failure(f: WireFailure) -> Result<FailureDetail, DatagramError> {
    Ok(FailureDetail {
        result_type: result_type(f.c)?,
        sending_mta_ip: f.s.map(ip).transpose()?,
        receiving_mx_hostname: f.n,
        receiving_mx_helo: f.h,
        receiving_ip: f.r.map(ip).transpose()?,
        failed_session_count: 1,
        additional_information: f.a,
        failure_reason_code: f.f,
    })
}

/// libtlsrpt's `tlsrpt_failure_t` codes.
fn result_type(code: i64) -> Result<ResultType, DatagramError> {
    Ok(match code {
        201 => ResultType::StarttlsNotSupported,
        202 => ResultType::CertificateHostMismatch,
        203 => ResultType::CertificateNotTrusted,
        204 => ResultType::CertificateExpired,
        205 => ResultType::ValidationFailure,
        301 => ResultType::StsPolicyFetchError,
        302 => ResultType::StsPolicyInvalid,
        303 => ResultType::StsWebpkiInvalid,
        304 => ResultType::TlsaInvalid,
        305 => ResultType::DnssecInvalid,
        306 => ResultType::DaneRequired,
        n => return Err(DatagramError::FailureCode(n)),
    })
}

fn domain(d: &str) -> Result<DomainName, DatagramError> {
    DomainName::parse(d).map_err(|_| DatagramError::Domain(d.to_owned()))
}

fn ip(s: String) -> Result<ReportIp, DatagramError> {
    s.parse::<std::net::IpAddr>()
        .map(ReportIp::from)
        .map_err(|_| DatagramError::Address(s))
}

#[cfg(test)]
mod tests;
