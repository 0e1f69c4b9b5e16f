//! Postfix `smtp(8)` log lines that say how a TLS session went, for TLS-RPT (RFC 8460 §4.3).
//!
//! Postfix (3.4 and later, with `smtp_tls_loglevel = 1`) writes, per delivery attempt, in
//! this order (texts from `src/tls/tls_misc.c`, `src/tls/tls_verify.c`,
//! `src/smtp/smtp_proto.c`, `src/smtp/smtp_connect.c` and `src/smtp/smtp_trouble.c`):
//!
//! ```text
//! [server |CA ]certificate verification failed for mx.example[192.0.2.1]:25: certificate has expired
//! Untrusted TLS connection established to mx.example[192.0.2.1]:25: TLSv1.3 with cipher ...
//! 4Q1xyz: Server certificate not verified                      (not the last MX host)
//! 4Q1xyz: to=<a@example.org>, relay=mx.example[192.0.2.1]:25, ..., status=deferred (Server certificate not verified)
//! warning: TLS policy lookup for example.org/mx.example: TLSA lookup error for mx.example:25
//! ```
//!
//! [`parse_line`] reads one line (syslog or `maillog_file` format: a BSD or RFC 3339 time
//! stamp, the host, `program[pid]: `) into an [`Event`]; lines that say nothing about TLS are
//! `None`. It never panics, allocates only for the texts it keeps, and ignores what follows
//! [`MAX_LINE`] bytes. Joining the events of one process into sessions is
//! [`super::sessions`]'s job.

use std::net::IpAddr;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::name::DomainName;

/// The longest line read, in bytes; the rest is ignored (Postfix's own record limit is 2 KiB
/// of message text, `MSG_LOGGER_RECLEN`).
pub const MAX_LINE: usize = 8 * 1024;

/// One log line that matters for TLS reporting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// When it was logged.
    pub time: LogTime,
    /// The process that logged it: program name (`postfix/smtp`) and process id.
    pub process: Process,
    /// What it says.
    pub event: Event,
}

/// The process that wrote a line: `postfix/smtp[1234]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Process {
    /// The program name as logged (`postfix/smtp`, `postfix-out/smtp`, a `master.cf` name).
    pub program: String,
    /// The process id.
    pub pid: u32,
}

/// A log time stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogTime {
    /// An RFC 3339 stamp (`2026-12-06T00:00:24.123456+00:00`, rsyslog's high-precision format).
    Exact(OffsetDateTime),
    /// A BSD syslog / Postfix `maillog_file` stamp (`Dec  6 00:00:24`): local time, no year.
    Bsd {
        /// Month.
        month: Month,
        /// Day of the month.
        day: u8,
        /// Time of day.
        time: Time,
    },
}

/// An SMTP server as Postfix names it: `host[address]` with an optional `:port`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Relay {
    /// The host name (as in the MX record), or the address when Postfix had no name.
    pub host: String,
    /// The address connected to.
    pub ip: IpAddr,
}

/// How far Postfix trusted the server certificate of an established session
/// (`tls_log_summary`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    /// No certificate (anonymous cipher suite).
    Anonymous,
    /// A certificate that did not verify.
    Untrusted,
    /// The chain verified, the name was not (or need not be) checked.
    Trusted,
    /// Verified and matched as the policy requires (DANE or `secure`/`verify`).
    Verified,
}

/// Why Postfix did not accept a server certificate (`tls_log_verify_error`), or why TLS did not
/// happen; the kinds [`super::aggregate`] maps to RFC 8460 result types.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum TlsFailure {
    /// `certificate has expired` (X509_V_ERR_CERT_HAS_EXPIRED).
    Expired,
    /// `certificate not yet valid` (X509_V_ERR_CERT_NOT_YET_VALID).
    NotYetValid,
    /// `untrusted issuer …` (X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY).
    UntrustedIssuer,
    /// `self-signed certificate` (X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT).
    SelfSigned,
    /// `not trusted by local or TLSA policy` (X509_V_ERR_CERT_UNTRUSTED).
    NotTrusted,
    /// `not designated for use as a server certificate` (X509_V_ERR_INVALID_PURPOSE).
    InvalidPurpose,
    /// `certificate chain longer than limit(N)` (X509_V_ERR_CERT_CHAIN_TOO_LONG).
    ChainTooLong,
    /// `num=62:hostname mismatch` (X509_V_ERR_HOSTNAME_MISMATCH).
    HostMismatch,
    /// `num=65:No matching DANE TLSA records` (X509_V_ERR_DANE_NO_MATCH).
    DaneNoMatch,
    /// Another OpenSSL verification error: `num=N:text`.
    OtherVerify(i32),
    /// `Server certificate not verified` with no earlier verification error for the session.
    NotVerified,
    /// `TLS is required, but was not offered by host …`.
    StarttlsNotOffered,
    /// `TLS is required, but host … refused to start TLS: …`.
    StarttlsRefused,
    /// `Cannot start TLS: handshake failure`.
    HandshakeFailure,
    /// `TLSA lookup error for host:port` (the TLSA lookup failed, DNSSEC or otherwise).
    TlsaLookupError,
    /// `no TLSA records found` / `non DNSSEC destination` under `dane-only`.
    DaneRequired,
}

/// The final status of one recipient's delivery attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// `status=sent`.
    Sent,
    /// `status=deferred`.
    Deferred,
    /// `status=bounced`.
    Bounced,
}

/// What a line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `… TLS connection established to host[ip]:port: …` (`reused` sessions too).
    TlsEstablished {
        /// The server.
        relay: Relay,
        /// What Postfix made of its certificate.
        trust: Trust,
    },
    /// `… certificate verification failed for host[ip]:port: …`.
    VerifyFailed {
        /// The server.
        relay: Relay,
        /// Why.
        failure: TlsFailure,
    },
    /// `QUEUEID: <reason>`: an attempt failed and Postfix tries the next MX host.
    AttemptFailed {
        /// The queue id.
        queue_id: String,
        /// The server, when the reason names it.
        relay: Option<Relay>,
        /// Why.
        failure: TlsFailure,
    },
    /// `warning: TLS policy lookup for dest/host: <reason>`: no connection was made.
    PolicyFailed {
        /// The next-hop destination (the recipient domain for MX delivery).
        destination: String,
        /// The MX host name.
        host: String,
        /// Why, when it is a TLS-RPT failure (a `TEMP` from the policy server is `None`:
        /// the daemon records those itself).
        failure: Option<TlsFailure>,
    },
    /// `QUEUEID: from=<sender>, size=…` (`qmgr`): the envelope sender of a queued message,
    /// by which report mails are told apart (RFC 8460 §5.3.1).
    Sender {
        /// The queue id.
        queue_id: String,
        /// The envelope sender, lower case (empty for the null sender `<>`).
        sender: String,
    },
    /// `QUEUEID: to=<rcpt>, relay=…, …, status=… (reason)`.
    Delivery {
        /// The queue id.
        queue_id: String,
        /// The recipient's domain.
        domain: DomainName,
        /// The server, `None` for `relay=none` (no connection).
        relay: Option<Relay>,
        /// `conn_use=N` when the connection was reused (N ≥ 2): not a new session.
        conn_use: u32,
        /// The status.
        status: Status,
        /// The reason's TLS failure, if it is one.
        failure: Option<TlsFailure>,
    },
}

/// Reads one log line; `None` when it is not one [`Event`] describes.
pub fn parse_line(line: &[u8]) -> Option<LogLine> {
    let line = &line[..line.len().min(MAX_LINE)];
    let line = String::from_utf8_lossy(line);
    let line = line.trim_end_matches(['\r', '\n']);
    let (time, rest) = parse_time(line)?;
    // The host name, then `program[pid]: `.
    let (_host, rest) = rest.trim_start().split_once(' ')?;
    let (tag, message) = rest.split_once(": ")?;
    let (program, pid) = tag.strip_suffix(']')?.rsplit_once('[')?;
    let pid = pid.parse().ok()?;
    if program.is_empty() || program.contains(' ') {
        return None;
    }
    let event = parse_message(message)?;
    Some(LogLine {
        time,
        process: Process {
            program: program.to_owned(),
            pid,
        },
        event,
    })
}

/// Reads the message text after `program[pid]: `.
pub fn parse_message(message: &str) -> Option<Event> {
    if let Some(rest) = message.strip_prefix("warning: TLS policy lookup for ") {
        let (target, reason) = rest.split_once(": ")?;
        let (destination, host) = target.split_once('/')?;
        return Some(Event::PolicyFailed {
            destination: destination.to_owned(),
            host: host.to_owned(),
            failure: reason_failure(reason),
        });
    }
    for trust in [
        ("Verified", Trust::Verified),
        ("Trusted", Trust::Trusted),
        ("Untrusted", Trust::Untrusted),
        ("Anonymous", Trust::Anonymous),
    ] {
        if let Some(rest) = message.strip_prefix(trust.0) {
            let rest = rest
                .strip_prefix(" TLS connection established to ")
                .or_else(|| rest.strip_prefix(" TLS connection reused to "))?;
            let (relay, _) = rest.split_once(": ")?;
            return Some(Event::TlsEstablished {
                relay: parse_relay(relay)?,
                trust: trust.1,
            });
        }
    }
    if let Some(at) = message.find("certificate verification failed for ") {
        let prefix = &message[..at];
        if !matches!(prefix, "" | "server " | "CA ") {
            return None;
        }
        let rest = &message[at + "certificate verification failed for ".len()..];
        let (relay, why) = rest.split_once(": ")?;
        return Some(Event::VerifyFailed {
            relay: parse_relay(relay)?,
            failure: verify_failure(why)?,
        });
    }
    let (queue_id, rest) = message.split_once(": ")?;
    if !is_queue_id(queue_id) || matches!(queue_id, "warning" | "error" | "fatal" | "panic") {
        return None;
    }
    if let Some(rest) = rest.strip_prefix("to=<") {
        return parse_delivery(queue_id, rest);
    }
    if let Some(rest) = rest.strip_prefix("from=<") {
        let (sender, _) = rest.split_once(">, ")?;
        return Some(Event::Sender {
            queue_id: queue_id.to_owned(),
            sender: sender.to_ascii_lowercase(),
        });
    }
    let failure = reason_failure(rest)?;
    Some(Event::AttemptFailed {
        queue_id: queue_id.to_owned(),
        relay: reason_relay(rest),
        failure,
    })
}

/// `rcpt>, [orig_to=<…>, ]relay=…, [conn_use=N, ]delay=…, …, status=word (reason)`.
fn parse_delivery(queue_id: &str, rest: &str) -> Option<Event> {
    let (recipient, mut fields) = rest.split_once(">, ")?;
    let domain = DomainName::parse(recipient.rsplit_once('@')?.1).ok()?;
    let mut relay = None;
    let mut conn_use = 1;
    loop {
        if let Some(status) = fields.strip_prefix("status=") {
            let (word, reason) = status.split_once(' ').unwrap_or((status, ""));
            let status = match word {
                "sent" => Status::Sent,
                "deferred" => Status::Deferred,
                "bounced" => Status::Bounced,
                _ => return None,
            };
            let reason = reason
                .strip_prefix('(')
                .map_or(reason, |r| r.strip_suffix(')').unwrap_or(r));
            return Some(Event::Delivery {
                queue_id: queue_id.to_owned(),
                domain,
                relay,
                conn_use,
                status,
                failure: reason_failure(reason),
            });
        }
        let (field, next) = fields.split_once(", ")?;
        if let Some(value) = field.strip_prefix("relay=") {
            relay = if value == "none" {
                None
            } else {
                parse_relay(value)
            };
        } else if let Some(value) = field.strip_prefix("conn_use=") {
            conn_use = value.parse().ok()?;
        }
        fields = next;
    }
}

/// The TLS failure a delivery or attempt reason states, if any.
fn reason_failure(reason: &str) -> Option<TlsFailure> {
    let reason = reason.trim();
    Some(
        if reason.starts_with("TLS is required, but was not offered by host ") {
            TlsFailure::StarttlsNotOffered
        } else if reason.starts_with("TLS is required, but host ")
            && reason.contains(" refused to start TLS")
        {
            TlsFailure::StarttlsRefused
        } else if reason == "Server certificate not verified" {
            TlsFailure::NotVerified
        } else if reason.starts_with("Cannot start TLS: handshake failure") {
            TlsFailure::HandshakeFailure
        } else if reason.starts_with("TLSA lookup error for ") {
            TlsFailure::TlsaLookupError
        } else if reason == "no TLSA records found" || reason == "non DNSSEC destination" {
            TlsFailure::DaneRequired
        } else {
            return None;
        },
    )
}

/// The server a reason names: `… by host NAME[ADDR]` or `… host NAME[ADDR] refused …`.
fn reason_relay(reason: &str) -> Option<Relay> {
    let at = reason.find("host ")? + "host ".len();
    let rest = &reason[at..];
    let end = rest.find(']')? + 1;
    parse_relay(&rest[..end])
}

/// `tls_log_verify_error`'s texts.
fn verify_failure(why: &str) -> Option<TlsFailure> {
    Some(match why {
        "certificate has expired" => TlsFailure::Expired,
        "certificate not yet valid" => TlsFailure::NotYetValid,
        "self-signed certificate" => TlsFailure::SelfSigned,
        "not trusted by local or TLSA policy" => TlsFailure::NotTrusted,
        _ if why.starts_with("untrusted issuer ") => TlsFailure::UntrustedIssuer,
        _ if why.starts_with("not designated for use as a ") => TlsFailure::InvalidPurpose,
        _ if why.starts_with("certificate chain longer than limit") => TlsFailure::ChainTooLong,
        _ => {
            let (num, _) = why.strip_prefix("num=")?.split_once(':')?;
            match num.parse().ok()? {
                10 => TlsFailure::Expired,
                9 => TlsFailure::NotYetValid,
                62 => TlsFailure::HostMismatch,
                65 => TlsFailure::DaneNoMatch,
                n => TlsFailure::OtherVerify(n),
            }
        }
    })
}

/// `host[address]` or `host[address]:port`.
fn parse_relay(text: &str) -> Option<Relay> {
    let open = text.find('[')?;
    let close = open + text[open..].find(']')?;
    let tail = &text[close + 1..];
    if !(tail.is_empty()
        || tail
            .strip_prefix(':')
            .is_some_and(|p| p.parse::<u16>().is_ok()))
    {
        return None;
    }
    let host = &text[..open];
    let address = &text[open + 1..close];
    let ip = address
        .strip_prefix("IPv6:")
        .unwrap_or(address)
        .parse()
        .ok()?;
    if host.is_empty() || host.contains([' ', '[', ']']) {
        return None;
    }
    Some(Relay {
        host: host.trim_end_matches('.').to_ascii_lowercase(),
        ip,
    })
}

/// Postfix queue ids: short (hexadecimal) or long (`enable_long_queue_ids`) form.
fn is_queue_id(s: &str) -> bool {
    (5..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A leading time stamp and what follows it.
fn parse_time(line: &str) -> Option<(LogTime, &str)> {
    let (stamp, rest) = line.split_once(' ')?;
    if let Ok(t) = OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339) {
        return Some((LogTime::Exact(t), rest));
    }
    let month = month(stamp)?;
    let rest = rest.trim_start_matches(' ');
    let (day, rest) = rest.split_once(' ')?;
    let day: u8 = day.parse().ok()?;
    let (clock, rest) = rest.split_once(' ')?;
    let clock = clock.split_once('.').map_or(clock, |(c, _)| c);
    let mut parts = clock.split(':').map(str::parse::<u8>);
    let (Some(Ok(h)), Some(Ok(m)), Some(Ok(s)), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if !(1..=31).contains(&day) {
        return None;
    }
    let time = Time::from_hms(h, m, s).ok()?;
    Some((LogTime::Bsd { month, day, time }, rest))
}

fn month(s: &str) -> Option<Month> {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let i = NAMES.iter().position(|n| *n == s)?;
    Month::try_from(u8::try_from(i + 1).ok()?).ok()
}

impl LogTime {
    /// The instant, given the time the line was read (`now`) and the offset of the local time
    /// BSD stamps are written in: the year is the latest that does not put the line more than
    /// a day after `now`.
    pub fn resolve(self, now: OffsetDateTime, local: UtcOffset) -> Option<OffsetDateTime> {
        match self {
            Self::Exact(t) => Some(t),
            Self::Bsd { month, day, time } => {
                let local_now = now.to_offset(local);
                [local_now.year(), local_now.year() - 1]
                    .into_iter()
                    .filter_map(|year| {
                        let date = Date::from_calendar_date(year, month, day).ok()?;
                        Some(PrimitiveDateTime::new(date, time).assume_offset(local))
                    })
                    .find(|t| *t <= now + time::Duration::DAY)
            }
        }
    }
}

#[cfg(test)]
mod tests;
