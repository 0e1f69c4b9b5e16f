//! One verdict per side: what mxsec's validator and what Unbound say about `(name, type)`.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use hickory_net::xfer::FirstAnswer;
use hickory_net::DnsHandle;
use hickory_proto::op::ResponseCode;
use hickory_proto::op::{DnsRequest, DnsRequestOptions, DnsResponse, Edns, Message, Query};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::{Name, RData, RecordType};
use mxsec_net::dns::{Answer, Dns, DnsError};
use mxsec_net::proto::dnssec::Security;
use mxsec_net::proto::name::DomainName;

/// The EDNS option code of Extended DNS Errors (RFC 8914 §2).
const EDE_OPTION: u16 = 15;

/// What a validator concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// An answer: records, NODATA or NXDOMAIN at the end of the CNAME chain.
    Answer {
        /// The status of the whole answer (chain and final RRset).
        security: Security,
        /// The last CNAME target, or the name asked.
        canonical: String,
        /// What was found there.
        found: Found,
    },
    /// The data did not validate (RFC 4035 §5.5; SERVFAIL with a DNSSEC extended error).
    Bogus(String),
    /// No answer for another reason (SERVFAIL, timeout, ...).
    Failed(String),
}

/// The content of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// The records, each in presentation format, sorted.
    Records(Vec<String>),
    /// NOERROR without data.
    NoData,
    /// The name does not exist.
    NxDomain,
}

impl Verdict {
    /// Whether two verdicts agree: equal, or both failures other than bogus data.
    pub(crate) fn agrees_with(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Bogus(_), Self::Bogus(_)) | (Self::Failed(_), Self::Failed(_)) => true,
            _ => self == other,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Answer {
                security,
                canonical,
                found,
            } => {
                write!(f, "{} ", security.as_str())?;
                match found {
                    Found::Records(records) => write!(f, "{records:?}")?,
                    Found::NoData => f.write_str("NODATA")?,
                    Found::NxDomain => f.write_str("NXDOMAIN")?,
                }
                write!(f, " at {canonical}")
            }
            Self::Bogus(reason) => write!(f, "bogus ({reason})"),
            Self::Failed(reason) => write!(f, "failed ({reason})"),
        }
    }
}

/// mxsec's verdict: [`Dns::lookup`], which follows CNAMEs.
pub(crate) async fn mxsec(dns: &Dns, name: &str, rtype: RecordType) -> Verdict {
    let domain = match DomainName::parse(name) {
        Ok(domain) => domain,
        Err(e) => return Verdict::Failed(format!("not a domain name: {e}")),
    };
    match dns.lookup(&domain, rtype).await {
        Ok(resolved) => {
            let found = match resolved.answer().value_ignoring_security() {
                Answer::Records(records) => Found::Records(sorted(records.iter())),
                Answer::NoData => Found::NoData,
                Answer::NxDomain => Found::NxDomain,
            };
            Verdict::Answer {
                security: resolved.answer().security(),
                canonical: resolved.canonical().to_string(),
                found,
            }
        }
        Err(e @ DnsError::Bogus { .. }) => Verdict::Bogus(e.to_string()),
        Err(e) => Verdict::Failed(e.to_string()),
    }
}

/// Unbound's verdict: one recursive query with DO=1; AD=1 means secure (RFC 6840 §5.7), a
/// SERVFAIL with a DNSSEC extended error (RFC 8914 §4.2–4.13) means bogus.
pub(crate) async fn unbound(
    resolver: SocketAddr,
    name: &str,
    rtype: RecordType,
    timeout: Duration,
) -> Verdict {
    let qname = match Name::from_ascii(format!("{}.", name.trim_end_matches('.'))) {
        Ok(qname) => qname,
        Err(e) => return Verdict::Failed(format!("not a domain name: {e}")),
    };
    let response = match ask(resolver, qname.clone(), rtype, timeout).await {
        Ok(response) => response,
        Err(e) => return Verdict::Failed(e),
    };
    let found = match response.response_code {
        ResponseCode::NoError => None,
        ResponseCode::NXDomain => Some(Found::NxDomain),
        ResponseCode::ServFail => {
            return match dnssec_error(&response) {
                Some(code) => Verdict::Bogus(format!("SERVFAIL, extended error {code}")),
                None => Verdict::Failed("SERVFAIL".to_owned()),
            }
        }
        other => return Verdict::Failed(format!("RCODE {other}")),
    };
    let mut canonical = qname.to_lowercase();
    for _ in 0..16 {
        let next = response.answers.iter().find_map(|r| match &r.data {
            RData::CNAME(target)
                if r.name.to_lowercase() == canonical && rtype != RecordType::CNAME =>
            {
                Some(target.0.to_lowercase())
            }
            _ => None,
        });
        match next {
            Some(target) => canonical = target,
            None => break,
        }
    }
    let records: Vec<&RData> = response
        .answers
        .iter()
        .filter(|r| r.name.to_lowercase() == canonical && r.record_type() == rtype)
        .map(|r| &r.data)
        .collect();
    let found = found.unwrap_or(if records.is_empty() {
        Found::NoData
    } else {
        Found::Records(sorted(records.into_iter()))
    });
    Verdict::Answer {
        security: if response.authentic_data {
            Security::Secure
        } else {
            Security::Insecure
        },
        canonical: canonical.to_ascii().trim_end_matches('.').to_owned(),
        found,
    }
}

fn sorted<'a>(records: impl Iterator<Item = &'a RData>) -> Vec<String> {
    let mut out: Vec<String> = records.map(ToString::to_string).collect();
    out.sort();
    out
}

/// The DNSSEC extended error of a response (INFO-CODE 1 to 12), if any.
fn dnssec_error(response: &DnsResponse) -> Option<u16> {
    let edns = response.edns.as_ref()?;
    edns.options().options.iter().find_map(|(code, option)| {
        let (EdnsCode::Unknown(EDE_OPTION), EdnsOption::Unknown(_, data)) = (code, option) else {
            return None;
        };
        let info = u16::from_be_bytes([*data.first()?, *data.get(1)?]);
        (1..=12).contains(&info).then_some(info)
    })
}

/// One query, RD=1 and DO=1, over UDP and again over TCP when truncated.
async fn ask(
    server: SocketAddr,
    name: Name,
    rtype: RecordType,
    timeout: Duration,
) -> Result<DnsResponse, String> {
    let mut message = Message::query();
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(name, rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.set_dnssec_ok(true);
    message.set_edns(edns);
    let mut options = DnsRequestOptions::default();
    options.use_edns = true;
    options.edns_set_dnssec_ok = true;
    options.edns_payload_len = 1232;
    options.recursion_desired = true;
    let provider = TokioRuntimeProvider::default();
    let udp = UdpClientStream::builder(server, provider.clone())
        .with_timeout(Some(timeout))
        .exchange();
    let response = udp
        .send(DnsRequest::new(message.clone(), options))
        .first_answer()
        .await
        .map_err(|e| e.to_string())?;
    if !response.truncation {
        return Ok(response);
    }
    let tcp = TcpClientStream::exchange(server, None, timeout, None, provider)
        .await
        .map_err(|e| e.to_string())?;
    tcp.send(DnsRequest::new(message, options))
        .first_answer()
        .await
        .map_err(|e| e.to_string())
}
