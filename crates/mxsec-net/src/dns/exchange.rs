//! One query to one server with hickory-net's low-level client: UDP first, TCP when the
//! answer is truncated (RFC 7766 §5). hickory-net checks the source address, the message ID
//! and the question of every UDP reply.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use hickory_net::xfer::FirstAnswer;
use hickory_net::{DnsHandle, NetError};
use hickory_proto::op::{
    DnsRequest, DnsRequestOptions, DnsResponse, Edns, Message, Query, ResponseCode,
};
use hickory_proto::rr::{Name, RecordType};

/// The UDP payload size mxsec advertises (DNS flag day 2020).
const EDNS_PAYLOAD: u16 = 1232;

/// The header bits of a query.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Flags {
    /// AD=1 asks the resolver to report whether it validated the answer (RFC 6840 §5.7).
    pub(crate) authentic_data: bool,
    /// CD=1 asks the resolver not to validate (RFC 4035 §3.2.2).
    pub(crate) checking_disabled: bool,
}

impl Flags {
    /// CD=1 asks a validating resolver for the data without validating it (RFC 4035 §3.2.2):
    /// the retry after a SERVFAIL that tells a validation failure apart from another one.
    pub(crate) const UNCHECKED: Self = Self {
        authentic_data: false,
        checking_disabled: true,
    };
}

/// Why a lookup is bogus when a validating resolver answered SERVFAIL and then answered the
/// same query with CD=1 (RFC 4035 §5.5): its own validation failed.
pub(crate) const BOGUS_UPSTREAM: &str =
    "the resolver answers SERVFAIL, and answers with checking disabled (CD=1): its validation failed";

/// Whether the CD=1 retry of a query that got SERVFAIL was answered (NOERROR or NXDOMAIN),
/// which shows that the resolver's validation failed. Nothing of the unchecked answer is used.
pub(crate) fn answered_unchecked(retry: &DnsResponse) -> bool {
    matches!(
        retry.response_code,
        ResponseCode::NoError | ResponseCode::NXDomain
    )
}

/// Sends one query (RD=1, EDNS with DO=1) and returns the first matching response.
pub(crate) async fn exchange(
    server: SocketAddr,
    name: Name,
    rtype: RecordType,
    flags: Flags,
    timeout: Duration,
) -> Result<DnsResponse, NetError> {
    let message = query_message(name, rtype, flags);
    let mut options = DnsRequestOptions::default();
    options.use_edns = true;
    options.edns_set_dnssec_ok = true;
    options.edns_payload_len = EDNS_PAYLOAD;
    options.recursion_desired = true;

    let provider = TokioRuntimeProvider::default();
    let udp = UdpClientStream::builder(server, provider.clone())
        .with_timeout(Some(timeout))
        .exchange();
    let response = udp
        .send(DnsRequest::new(message.clone(), options))
        .first_answer()
        .await?;
    if !response.truncation {
        return Ok(response);
    }
    let tcp = TcpClientStream::exchange(server, None, timeout, None, provider).await?;
    tcp.send(DnsRequest::new(message, options))
        .first_answer()
        .await
}

fn query_message(name: Name, rtype: RecordType, flags: Flags) -> Message {
    let mut message = Message::query();
    message.metadata.recursion_desired = true;
    message.metadata.authentic_data = flags.authentic_data;
    message.metadata.checking_disabled = flags.checking_disabled;
    message.add_query(Query::query(name, rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    edns.set_dnssec_ok(true);
    message.set_edns(edns);
    message
}
