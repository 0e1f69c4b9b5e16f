//! Hands one message to the MTA under test over SMTP (RFC 5321), as any mail client would.
//! Every read is bounded in time and length.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long one reply or the connection may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest reply line read (RFC 5321 §4.5.3.1.5 allows 512 octets).
const MAX_LINE: u64 = 4096;
/// The most lines one reply may have.
const MAX_LINES: usize = 100;

/// A message to hand over: a null reverse path (RFC 5321 §4.5.5, so that nothing bounces
/// back), one recipient, and a body.
#[derive(Clone, Debug)]
pub struct Message {
    /// The recipient address.
    pub rcpt: String,
    /// The subject line.
    pub subject: String,
    /// The body text.
    pub body: String,
}

impl Message {
    /// The message in the DATA phase, dot-stuffed, ending with `.` (RFC 5321 §4.5.2).
    fn data(&self) -> String {
        let mut data = format!(
            "From: mxsec conformance <conformance@sender.mxsec.invalid>\r\nTo: <{}>\r\n\
             Subject: {}\r\n\r\n",
            self.rcpt, self.subject
        );
        for line in self.body.lines() {
            if line.starts_with('.') {
                data.push('.');
            }
            data.push_str(line);
            data.push_str("\r\n");
        }
        data.push_str(".\r\n");
        data
    }
}

/// Hands `message` to the SMTP server at `server`.
///
/// # Errors
///
/// A description of the step that failed: the connection, a timeout, or a reply other than
/// the one expected, quoted.
pub async fn inject(server: SocketAddr, message: &Message) -> Result<(), String> {
    let stream = tokio::time::timeout(STEP_TIMEOUT, TcpStream::connect(server))
        .await
        .map_err(|_| format!("connecting to {server}: timed out"))?
        .map_err(|e| format!("connecting to {server}: {e}"))?;
    let mut io = BufReader::new(stream);
    expect(&mut io, None, 220).await?;
    let rcpt = format!("RCPT TO:<{}>\r\n", message.rcpt);
    for (command, code) in [
        ("EHLO conformance.mxsec.invalid\r\n", 250),
        ("MAIL FROM:<>\r\n", 250),
        (rcpt.as_str(), 250),
        ("DATA\r\n", 354),
    ] {
        expect(&mut io, Some(command), code).await?;
    }
    expect(&mut io, Some(&message.data()), 250).await?;
    // The message is queued; a failing QUIT changes nothing.
    let _ = expect(&mut io, Some("QUIT\r\n"), 221).await;
    Ok(())
}

/// Sends `command`, if any, and reads the reply, which must have code `code`.
async fn expect(
    io: &mut BufReader<TcpStream>,
    command: Option<&str>,
    code: u16,
) -> Result<(), String> {
    let what = command.map_or("greeting".to_owned(), |c| {
        c.lines().next().unwrap_or_default().to_owned()
    });
    if let Some(command) = command {
        tokio::time::timeout(STEP_TIMEOUT, io.get_mut().write_all(command.as_bytes()))
            .await
            .map_err(|_| format!("{what}: timed out writing"))?
            .map_err(|e| format!("{what}: {e}"))?;
    }
    let reply = tokio::time::timeout(STEP_TIMEOUT, read_reply(io))
        .await
        .map_err(|_| format!("{what}: no reply within {STEP_TIMEOUT:?}"))??;
    if reply.starts_with(&code.to_string()) {
        Ok(())
    } else {
        Err(format!(
            "{what}: the server answered {:?}",
            reply.trim_end()
        ))
    }
}

/// Reads one reply, all its lines (`250-...` up to `250 ...`).
async fn read_reply(io: &mut BufReader<TcpStream>) -> Result<String, String> {
    let mut reply = String::new();
    for _ in 0..MAX_LINES {
        let mut line = Vec::new();
        let read = (&mut *io)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| format!("reading a reply: {e}"))?;
        if read == 0 || !line.ends_with(b"\n") {
            return Err("the connection closed, or a reply line was too long".to_owned());
        }
        let line = String::from_utf8_lossy(&line);
        reply.push_str(&line);
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(reply);
        }
    }
    Err(format!("a reply of more than {MAX_LINES} lines"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mxsec_testbed::smtp::{MxBehaviour, SmtpServer, StartTls};

    #[test]
    fn data_is_dot_stuffed_and_ends_with_a_dot_line() {
        let message = Message {
            rcpt: "postmaster@plain.test".to_owned(),
            subject: "plain".to_owned(),
            body: ".hidden\nshown".to_owned(),
        };
        let data = message.data();
        assert!(data.contains("\r\n..hidden\r\nshown\r\n.\r\n"), "{data}");
    }

    /// STT-02: the message reaches a real SMTP server (the testbed's), envelope and body intact.
    #[tokio::test]
    async fn stt_02_a_message_is_handed_over_with_a_null_reverse_path() {
        let server = SmtpServer::start(
            "127.0.0.1:0".parse().expect("an address"),
            MxBehaviour::new("mx.inject.test", StartTls::NotOffered),
        )
        .await
        .expect("an SMTP server");
        let message = Message {
            rcpt: "postmaster@plain.test".to_owned(),
            subject: "mxsec conformance: plain".to_owned(),
            body: ".a dot line".to_owned(),
        };
        inject(server.local_addr(), &message)
            .await
            .expect("handed over");
        let received = server.messages();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].mail_from, "<>");
        assert_eq!(received[0].rcpt_to, ["<postmaster@plain.test>"]);
        let data = String::from_utf8_lossy(&received[0].data);
        assert!(data.contains("Subject: mxsec conformance: plain"), "{data}");
        assert!(data.contains("\r\n.a dot line\r\n"), "{data}");
        assert!(!received[0].over_tls());
    }

    /// Nothing listening: the failure names the step.
    #[tokio::test]
    async fn a_refused_connection_is_reported() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        let error = inject(
            address,
            &Message {
                rcpt: "postmaster@plain.test".to_owned(),
                subject: String::new(),
                body: String::new(),
            },
        )
        .await
        .expect_err("nothing listens");
        assert!(error.starts_with("connecting to"), "{error}");
    }
}
