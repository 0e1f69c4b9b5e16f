//! The resolver checks: Postfix trusts the AD bit of the resolver in `resolv.conf` (RFC 7672
//! §2.1, RFC 6698 §4), so that resolver must be on loopback, validate, refuse bogus answers,
//! and answer over TCP.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::{Finding, Severity};

/// The first `nameserver` of a `resolv.conf` text.
pub fn first_nameserver(text: &str) -> Option<IpAddr> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("nameserver"))
        .find_map(|rest| rest.trim().split('%').next()?.parse().ok())
}

/// DOC-RES-01..04 for the first resolver of `resolv_conf`.
pub async fn check(
    resolv_conf: &Path,
    signed: &str,
    broken: &str,
    timeout: Duration,
) -> Vec<Finding> {
    let subject = resolv_conf.display().to_string();
    let Some(ip) = std::fs::read_to_string(resolv_conf)
        .ok()
        .as_deref()
        .and_then(first_nameserver)
    else {
        return vec![Finding::new(
            "DOC-RES-01",
            Severity::Error,
            subject,
            "names no resolver: Postfix cannot look up MX, TLSA or addresses",
            "run a validating resolver on loopback (unbound) and write nameserver 127.0.0.1",
        )];
    };
    let server = SocketAddr::new(ip, 53);
    let mut findings = Vec::new();
    if !ip.is_loopback() {
        findings.push(Finding::new(
            "DOC-RES-01",
            Severity::Warning,
            format!("resolver {ip}"),
            "is not on loopback: Postfix trusts its AD bit, which nothing protects on the \
             way from another host (RFC 4035 §4.9.3)",
            "run a validating resolver on this host (unbound) and write nameserver 127.0.0.1",
        ));
    }
    match ask(server, signed, RecordType::MX, Transport::Udp, timeout).await {
        Err(why) => findings.push(Finding::new(
            "DOC-RES-02",
            Severity::Error,
            format!("resolver {ip}"),
            format!("does not answer: {why}"),
            "start the resolver, or fix the nameserver line",
        )),
        Ok(answer) if !(answer.code == ResponseCode::NoError && answer.authentic) => {
            findings.push(Finding::new(
                "DOC-RES-02",
                Severity::Error,
                format!("resolver {ip}"),
                format!(
                    "does not validate: the signed name {signed} came back {} without the \
                     AD bit, so Postfix finds no TLSA record usable (RFC 7672 §2.1)",
                    answer.code
                ),
                "use a validating resolver (unbound with auto-trust-anchor-file)",
            ));
        }
        Ok(_) => {}
    }
    match ask(server, broken, RecordType::MX, Transport::Udp, timeout).await {
        Ok(answer) if answer.code != ResponseCode::ServFail => findings.push(Finding::new(
            "DOC-RES-03",
            Severity::Error,
            format!("resolver {ip}"),
            format!(
                "answered {} for {broken}, whose DNSSEC is broken: a validating resolver \
                 answers SERVFAIL, and a forged answer gets through this one (RFC 4035 §5.5)",
                answer.code
            ),
            "use a validating resolver (unbound with auto-trust-anchor-file)",
        )),
        _ => {}
    }
    let tlsa = format!("_25._tcp.{signed}");
    if let Err(why) = ask(server, &tlsa, RecordType::TLSA, Transport::Tcp, timeout).await {
        findings.push(Finding::new(
            "DOC-RES-04",
            Severity::Error,
            format!("resolver {ip}"),
            format!(
                "does not answer a TLSA query over TCP ({why}): large TLSA answers need TCP \
                 (RFC 7766)"
            ),
            "let the resolver accept TCP on port 53 (unbound: do-tcp: yes)",
        ));
    }
    findings
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

/// The parts of an answer the checks look at.
struct Answer {
    code: ResponseCode,
    authentic: bool,
}

/// One query with RD=1, AD=1 and DO=1 (RFC 6840 §5.7: AD=1 asks for the validation status).
async fn ask(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    transport: Transport,
    timeout: Duration,
) -> Result<Answer, String> {
    let name = Name::from_str(&format!("{}.", name.trim_end_matches('.')))
        .map_err(|e| format!("{name}: {e}"))?;
    let mut query = Message::query();
    query.metadata.id = 0x6d78;
    query.metadata.recursion_desired = true;
    query.metadata.authentic_data = true;
    query.add_query(Query::query(name, rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.set_dnssec_ok(true);
    query.set_edns(edns);
    let bytes = query.to_vec().map_err(|e| e.to_string())?;
    let exchange = async {
        match transport {
            Transport::Udp => udp(server, &bytes).await,
            Transport::Tcp => tcp(server, &bytes).await,
        }
    };
    let reply = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer within {timeout:?}"))??;
    let message = Message::from_vec(&reply).map_err(|e| format!("an unreadable answer: {e}"))?;
    if message.metadata.id != query.metadata.id {
        return Err("an answer to another query".to_owned());
    }
    Ok(Answer {
        code: message.metadata.response_code,
        authentic: message.metadata.authentic_data,
    })
}

async fn udp(server: SocketAddr, query: &[u8]) -> Result<Vec<u8>, String> {
    let bind: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
    socket.connect(server).await.map_err(|e| e.to_string())?;
    socket.send(query).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 4096];
    let len = socket.recv(&mut buf).await.map_err(|e| e.to_string())?;
    buf.truncate(len);
    Ok(buf)
}

async fn tcp(server: SocketAddr, query: &[u8]) -> Result<Vec<u8>, String> {
    let mut stream = TcpStream::connect(server)
        .await
        .map_err(|e| e.to_string())?;
    let len = u16::try_from(query.len()).map_err(|e| e.to_string())?;
    stream
        .write_all(&len.to_be_bytes())
        .await
        .map_err(|e| e.to_string())?;
    stream.write_all(query).await.map_err(|e| e.to_string())?;
    let len = stream.read_u16().await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; usize::from(len)];
    stream
        .read_exact(&mut buf)
        .await
        .map_err(|e| e.to_string())?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_nameserver_line_counts() {
        let text = "# a comment\nsearch example\nnameserver 127.0.0.1\nnameserver 192.0.2.1\n";
        assert_eq!(first_nameserver(text), Some([127, 0, 0, 1].into()));
        assert_eq!(
            first_nameserver("nameserver fe80::1%eth0\n"),
            "fe80::1".parse().ok()
        );
        assert_eq!(first_nameserver("options trust-ad\n"), None);
    }
}
