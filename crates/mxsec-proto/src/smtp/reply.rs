//! SMTP replies (RFC 5321 §4.2), parsed incrementally and within hard limits.
//!
//! ```text
//! Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//!              Reply-code [ SP textstring ] CRLF
//! Reply-code = %x32-35 %x30-35 %x30-39
//! ```
//!
//! [`ReplyParser`] takes bytes as they arrive and hands back one complete [`Reply`] at a time.
//! It never holds more than one line being assembled (at most [`MAX_LINE_LEN`] octets) and one
//! reply (at most [`MAX_REPLY_LEN`] octets in [`MAX_REPLY_LINES`] lines), whatever the peer
//! sends, and it fails with a [`ReplyError`], never a panic, on anything that is not a reply.
//!
//! Lines end in CRLF; a bare LF is tolerated, since some servers and middleboxes send one.
//! The text of a line is kept as sent (invalid UTF-8 replaced), so it is untrusted input:
//! escape it before showing it on a terminal or in HTML.

use std::fmt;

/// The longest line accepted, terminator included (RFC 5321 §4.5.3.1.5 sets 512 octets; mxsec
/// allows eight times that, as real servers exceed it, and bounds memory all the same).
pub const MAX_LINE_LEN: usize = 4096;
/// The most octets accepted in one reply, all lines and terminators included.
pub const MAX_REPLY_LEN: usize = 64 * 1024;
/// The most lines accepted in one reply.
pub const MAX_REPLY_LINES: usize = 256;

/// A three-digit SMTP reply code, `[2-5][0-5][0-9]` as RFC 5321 §4.2's ABNF allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct ReplyCode(u16);

/// The first digit of a reply code (RFC 5321 §4.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplyClass {
    /// `2yz`: the requested action has been completed.
    PositiveCompletion,
    /// `3yz`: accepted, more information is needed.
    PositiveIntermediate,
    /// `4yz`: not accepted, but the condition is temporary; try again.
    TransientNegative,
    /// `5yz`: not accepted, and it will not be.
    PermanentNegative,
}

/// An enhanced mail system status code (RFC 3463), such as `5.7.1`, as RFC 2034 places it at
/// the start of a reply's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EnhancedStatus {
    class: u8,
    subject: u16,
    detail: u16,
}

/// One complete SMTP reply: its code, its enhanced status code if any, and its text lines.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Reply {
    code: ReplyCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    enhanced: Option<EnhancedStatus>,
    lines: Vec<String>,
}

/// Why bytes from the server are not a valid SMTP reply.
///
/// Line numbers count from 1 within the reply. After an error the stream has lost its framing:
/// close the connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// A line does not start with a three-digit reply code in `200`–`559`.
    #[error("reply line {line} does not start with a reply code (2xx-5xx): {found:?}")]
    InvalidCode {
        /// The line number within the reply.
        line: usize,
        /// The start of the offending line, with non-printable octets escaped.
        found: String,
    },
    /// The code is followed by something other than a space, a hyphen or the line end.
    #[error("reply line {line}: code {code} is followed by {found:?}, not a space or '-'")]
    InvalidSeparator {
        /// The line number within the reply.
        line: usize,
        /// The reply code of the line.
        code: ReplyCode,
        /// The octet after the code, escaped.
        found: String,
    },
    /// A continuation line carries a different code from the first line (RFC 5321 §4.2.1).
    #[error("reply line {line} has code {found}, but the reply started with {expected}")]
    MixedCodes {
        /// The line number within the reply.
        line: usize,
        /// The code of the first line.
        expected: ReplyCode,
        /// The code of this line.
        found: ReplyCode,
    },
    /// A line is longer than [`MAX_LINE_LEN`].
    #[error("reply line {line} is longer than {limit} octets")]
    LineTooLong {
        /// The line number within the reply.
        line: usize,
        /// The limit, [`MAX_LINE_LEN`].
        limit: usize,
    },
    /// The reply is longer than [`MAX_REPLY_LEN`] octets.
    #[error("reply is longer than {limit} octets")]
    ReplyTooLong {
        /// The limit, [`MAX_REPLY_LEN`].
        limit: usize,
    },
    /// The reply has more than [`MAX_REPLY_LINES`] lines.
    #[error("reply has more than {limit} lines")]
    TooManyLines {
        /// The limit, [`MAX_REPLY_LINES`].
        limit: usize,
    },
    /// [`Reply::parse`] was given bytes that end before the reply does.
    #[error("the reply is incomplete: its last line is missing or does not end in CRLF")]
    Incomplete,
    /// [`Reply::parse`] was given bytes that go on after the reply ends.
    #[error("{0} octets follow the end of the reply")]
    TrailingData(usize),
}

/// What one call of [`ReplyParser::feed`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Progress {
    /// How many octets of the input were used; the caller drops them from its buffer.
    pub consumed: usize,
    /// The reply completed by these octets, if one was.
    pub reply: Option<Reply>,
}

/// Incremental parser of SMTP replies.
///
/// The caller owns the read buffer, in the `fill_buf`/`consume` style of
/// `std::io::BufRead`: it passes whatever it has to [`feed`](Self::feed), drops the octets
/// consumed, and reads more when no reply came out. `feed` stops right after the end of a
/// reply, so octets the server sent too early (for instance after `220` to `STARTTLS`, before
/// the TLS handshake; STT-06) stay in the caller's buffer, where it can see and discard them.
///
/// ```
/// use mxsec_proto::smtp::reply::ReplyParser;
///
/// let mut parser = ReplyParser::new();
/// let input = b"250-mx.example.net\r\n250 STARTTLS\r\n";
/// let progress = parser.feed(&input[..10]).unwrap();
/// assert_eq!((progress.consumed, progress.reply), (10, None));
/// let progress = parser.feed(&input[10..]).unwrap();
/// let reply = progress.reply.unwrap();
/// assert_eq!(reply.code().get(), 250);
/// assert_eq!(reply.lines(), ["mx.example.net", "STARTTLS"]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ReplyParser {
    /// The line being assembled (without its terminator once complete).
    line: Vec<u8>,
    /// The lines of the reply so far.
    lines: Vec<String>,
    /// The code of the first line of the reply so far.
    code: Option<ReplyCode>,
    /// The enhanced status code of the first line.
    enhanced: Option<EnhancedStatus>,
    /// Octets of the reply so far, terminators included.
    reply_len: usize,
    /// The error that broke the framing, returned again by every later call.
    failed: Option<ReplyError>,
}

impl ReplyCode {
    /// The code, if it is a valid reply code under RFC 5321 §4.2 (`[2-5][0-5][0-9]`).
    pub fn new(code: u16) -> Option<Self> {
        let (first, second) = (code / 100, code / 10 % 10);
        ((2..=5).contains(&first) && second <= 5).then_some(Self(code))
    }

    /// The code as a number.
    pub fn get(self) -> u16 {
        self.0
    }

    /// The class the first digit gives.
    pub fn class(self) -> ReplyClass {
        match self.0 / 100 {
            2 => ReplyClass::PositiveCompletion,
            3 => ReplyClass::PositiveIntermediate,
            4 => ReplyClass::TransientNegative,
            // `new` admits only 2xx-5xx.
            _ => ReplyClass::PermanentNegative,
        }
    }

    fn from_digits(digits: [u8; 3]) -> Option<Self> {
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let [a, b, c] = digits.map(|d| u16::from(d - b'0'));
        Self::new(a * 100 + b * 10 + c)
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl EnhancedStatus {
    /// An enhanced status code `class.subject.detail`, if valid under RFC 3463 §2 (class 2, 4
    /// or 5; subject and detail of one to three digits).
    pub fn new(class: u8, subject: u16, detail: u16) -> Option<Self> {
        (matches!(class, 2 | 4 | 5) && subject <= 999 && detail <= 999).then_some(Self {
            class,
            subject,
            detail,
        })
    }

    /// Parses `class.subject.detail` (for example `5.7.1`).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let class = parse_status_part(parts.next()?, 1)?;
        let subject = parse_status_part(parts.next()?, 3)?;
        let detail = parse_status_part(parts.next()?, 3)?;
        if parts.next().is_some() {
            return None;
        }
        Self::new(u8::try_from(class).ok()?, subject, detail)
    }

    /// The class: 2 success, 4 persistent transient failure, 5 permanent failure.
    pub fn class(self) -> u8 {
        self.class
    }

    /// The subject (RFC 3463 §3), e.g. 7 for security or policy status.
    pub fn subject(self) -> u16 {
        self.subject
    }

    /// The detail within the subject.
    pub fn detail(self) -> u16 {
        self.detail
    }
}

fn parse_status_part(text: &str, max_digits: usize) -> Option<u16> {
    if text.is_empty() || text.len() > max_digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl serde::Serialize for EnhancedStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Reply {
    /// A reply with the given code and text lines (at least one; an empty list gives one
    /// empty line). The enhanced status code is taken from the first line, as when parsing.
    pub fn new(code: ReplyCode, lines: Vec<String>) -> Self {
        let lines = if lines.is_empty() {
            vec![String::new()]
        } else {
            lines
        };
        let enhanced = lines.first().and_then(|l| enhanced_status(code, l));
        Self {
            code,
            enhanced,
            lines,
        }
    }

    /// Parses exactly one complete reply.
    ///
    /// # Errors
    ///
    /// As [`ReplyParser::feed`], plus [`ReplyError::Incomplete`] when the input ends inside the
    /// reply and [`ReplyError::TrailingData`] when octets follow it.
    pub fn parse(input: &[u8]) -> Result<Self, ReplyError> {
        let progress = ReplyParser::new().feed(input)?;
        match progress.reply {
            None => Err(ReplyError::Incomplete),
            Some(_) if progress.consumed < input.len() => {
                Err(ReplyError::TrailingData(input.len() - progress.consumed))
            }
            Some(reply) => Ok(reply),
        }
    }

    /// The reply code.
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The enhanced status code at the start of the first line, when there is one whose class
    /// agrees with the reply code (RFC 2034 §4: `250 2.0.0 Ok`).
    pub fn enhanced(&self) -> Option<EnhancedStatus> {
        self.enhanced
    }

    /// The text of each line, after the code and its separator; never empty.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// All lines joined with a space, for messages.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }

    /// The reply as it would be sent: `250-first\r\n250 last\r\n`.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            out.extend_from_slice(format!("{}{sep}{line}\r\n", self.code).as_bytes());
        }
        out
    }
}

impl fmt::Display for Reply {
    /// The code and the text, on one line (`554 5.7.1 no service`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.text())
    }
}

impl ReplyParser {
    /// A parser at the start of a reply.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses octets from the server, up to the end of the first reply they complete.
    ///
    /// Returns how many octets were consumed (all of them, unless a reply ended before the
    /// input did) and the reply, if one was completed.
    ///
    /// # Errors
    ///
    /// A [`ReplyError`] when the input is not a reply or breaks a limit. The error is final:
    /// every later call returns it again.
    pub fn feed(&mut self, input: &[u8]) -> Result<Progress, ReplyError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.feed_inner(input);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    /// Whether part of a reply has been received (a line or more without the last line).
    pub fn is_mid_reply(&self) -> bool {
        !self.line.is_empty() || !self.lines.is_empty()
    }

    fn feed_inner(&mut self, input: &[u8]) -> Result<Progress, ReplyError> {
        let mut consumed = 0;
        while consumed < input.len() {
            let rest = input.get(consumed..).unwrap_or_default();
            let (chunk, line_ends) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (rest.get(..=i).unwrap_or(rest), true),
                None => (rest, false),
            };
            consumed += chunk.len();
            if self.line.len() + chunk.len() > MAX_LINE_LEN {
                return Err(ReplyError::LineTooLong {
                    line: self.lines.len() + 1,
                    limit: MAX_LINE_LEN,
                });
            }
            self.line.extend_from_slice(chunk);
            if line_ends {
                if let Some(reply) = self.finish_line()? {
                    return Ok(Progress {
                        consumed,
                        reply: Some(reply),
                    });
                }
            }
        }
        Ok(Progress {
            consumed,
            reply: None,
        })
    }

    /// Handles the complete line in `self.line` (terminator included).
    fn finish_line(&mut self) -> Result<Option<Reply>, ReplyError> {
        let number = self.lines.len() + 1;
        self.reply_len += self.line.len();
        if self.reply_len > MAX_REPLY_LEN {
            return Err(ReplyError::ReplyTooLong {
                limit: MAX_REPLY_LEN,
            });
        }
        if number > MAX_REPLY_LINES {
            return Err(ReplyError::TooManyLines {
                limit: MAX_REPLY_LINES,
            });
        }
        let line = std::mem::take(&mut self.line);
        let content = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(&line);
        let code = match content {
            [a, b, c, ..] => ReplyCode::from_digits([*a, *b, *c]),
            _ => None,
        }
        .ok_or_else(|| ReplyError::InvalidCode {
            line: number,
            found: escape(content.get(..content.len().min(16)).unwrap_or(content)),
        })?;
        if let Some(expected) = self.code {
            if expected != code {
                return Err(ReplyError::MixedCodes {
                    line: number,
                    expected,
                    found: code,
                });
            }
        }
        let after = content.get(3..).unwrap_or_default();
        let (last, text) = match after.split_first() {
            None => (true, &[][..]),
            Some((b' ', text)) => (true, text),
            Some((b'-', text)) => (false, text),
            Some((other, _)) => {
                return Err(ReplyError::InvalidSeparator {
                    line: number,
                    code,
                    found: escape(std::slice::from_ref(other)),
                })
            }
        };
        let text = String::from_utf8_lossy(text).into_owned();
        if self.code.is_none() {
            self.code = Some(code);
            self.enhanced = enhanced_status(code, &text);
        }
        self.lines.push(text);
        if !last {
            return Ok(None);
        }
        let reply = Reply {
            code,
            enhanced: self.enhanced.take(),
            lines: std::mem::take(&mut self.lines),
        };
        self.code = None;
        self.reply_len = 0;
        Ok(Some(reply))
    }
}

/// The enhanced status code that starts `text`, if its class is the reply code's first digit.
fn enhanced_status(code: ReplyCode, text: &str) -> Option<EnhancedStatus> {
    let word = text.split(' ').next()?;
    EnhancedStatus::parse(word).filter(|s| u16::from(s.class) == code.get() / 100)
}

/// Printable ASCII as is, everything else as `\xNN`.
fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Reply>, ReplyError> {
        let mut parser = ReplyParser::new();
        let mut rest = input;
        let mut out = Vec::new();
        while !rest.is_empty() {
            let progress = parser.feed(rest)?;
            rest = &rest[progress.consumed..];
            out.extend(progress.reply);
        }
        Ok(out)
    }

    #[test]
    fn smtp_reply_single_line() {
        let reply = Reply::parse(b"220 mx.example.net ESMTP\r\n").unwrap();
        assert_eq!(reply.code().get(), 220);
        assert_eq!(reply.code().class(), ReplyClass::PositiveCompletion);
        assert_eq!(reply.lines(), ["mx.example.net ESMTP"]);
        assert_eq!(reply.enhanced(), None);
        assert_eq!(reply.to_string(), "220 mx.example.net ESMTP");
    }

    #[test]
    fn smtp_reply_code_alone_and_empty_text() {
        let reply = Reply::parse(b"250\r\n").unwrap();
        assert_eq!(reply.lines(), [""]);
        let reply = Reply::parse(b"250-\r\n250 \r\n").unwrap();
        assert_eq!(reply.lines(), ["", ""]);
    }

    #[test]
    fn smtp_reply_multi_line() {
        let wire =
            b"250-mx.example.net Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n";
        let reply = Reply::parse(wire).unwrap();
        assert_eq!(
            reply.lines(),
            [
                "mx.example.net Hello",
                "PIPELINING",
                "SIZE 10240000",
                "STARTTLS"
            ]
        );
        assert_eq!(reply.to_wire(), wire);
    }

    #[test]
    fn smtp_reply_bare_lf_tolerated() {
        let reply = Reply::parse(b"250-a\n250 b\n").unwrap();
        assert_eq!(reply.lines(), ["a", "b"]);
    }

    #[test]
    fn smtp_reply_byte_at_a_time() {
        let wire = b"220 hi\r\n250-x\r\n250 y\r\n554 5.7.1 no\r\n";
        let mut parser = ReplyParser::new();
        let mut replies = Vec::new();
        for b in wire {
            let progress = parser.feed(std::slice::from_ref(b)).unwrap();
            assert_eq!(progress.consumed, 1);
            replies.extend(progress.reply);
        }
        assert!(!parser.is_mid_reply());
        assert_eq!(replies.len(), 3);
        assert_eq!(replies[2].code().get(), 554);
        assert_eq!(replies[2].enhanced(), EnhancedStatus::new(5, 7, 1));
        assert_eq!(replies, parse_all(wire).unwrap());
    }

    #[test]
    fn stt_06_feed_stops_at_end_of_reply() {
        // Octets after the STARTTLS go-ahead must stay visible to the caller.
        let wire = b"220 2.0.0 Ready to start TLS\r\n250 injected\r\n";
        let progress = ReplyParser::new().feed(wire).unwrap();
        assert_eq!(progress.consumed, 30);
        assert_eq!(
            progress.reply.unwrap().lines(),
            ["2.0.0 Ready to start TLS"]
        );
        assert!(matches!(
            Reply::parse(wire),
            Err(ReplyError::TrailingData(14))
        ));
    }

    #[test]
    fn smtp_reply_enhanced_status() {
        let reply = Reply::parse(b"454 4.7.0 TLS not available due to local problem\r\n").unwrap();
        let status = reply.enhanced().unwrap();
        assert_eq!(
            (status.class(), status.subject(), status.detail()),
            (4, 7, 0)
        );
        assert_eq!(status.to_string(), "4.7.0");
        // The class must agree with the reply code.
        assert_eq!(Reply::parse(b"250 5.0.0 odd\r\n").unwrap().enhanced(), None);
        // Cisco's "#5.5.1" is not an RFC 3463 code.
        assert_eq!(
            Reply::parse(b"500 #5.5.1 command not recognized\r\n")
                .unwrap()
                .enhanced(),
            None
        );
        for bad in ["5.1234.1", "5..1", "3.0.0", "5.0.0.0", "x.0.0", "5.0"] {
            assert_eq!(EnhancedStatus::parse(bad), None, "{bad}");
        }
        assert_eq!(
            EnhancedStatus::parse("2.123.999"),
            EnhancedStatus::new(2, 123, 999)
        );
    }

    #[test]
    fn smtp_reply_rejects_bad_codes() {
        for wire in [
            &b"hello\r\n"[..],
            b"\r\n",
            b"25\r\n",
            b"099 x\r\n",
            b"600 x\r\n",
            b"160 x\r\n",
            b"260 x\r\n",
            b" 250 x\r\n",
            b"2x0 x\r\n",
        ] {
            assert!(
                matches!(
                    Reply::parse(wire),
                    Err(ReplyError::InvalidCode { line: 1, .. })
                ),
                "{wire:?}"
            );
        }
        assert!(matches!(
            Reply::parse(b"250-a\r\nxyz\r\n"),
            Err(ReplyError::InvalidCode { line: 2, .. })
        ));
    }

    #[test]
    fn smtp_reply_rejects_bad_separator() {
        let err = Reply::parse(b"250xSTARTTLS\r\n").unwrap_err();
        assert_eq!(
            err,
            ReplyError::InvalidSeparator {
                line: 1,
                code: ReplyCode::new(250).unwrap(),
                found: "x".into()
            }
        );
        assert!(err.to_string().contains("250"));
    }

    #[test]
    fn smtp_reply_rejects_mixed_codes() {
        let err = Reply::parse(b"250-a\r\n251 b\r\n").unwrap_err();
        assert_eq!(
            err,
            ReplyError::MixedCodes {
                line: 2,
                expected: ReplyCode::new(250).unwrap(),
                found: ReplyCode::new(251).unwrap()
            }
        );
    }

    #[test]
    fn smtp_reply_line_cap() {
        let mut ok = b"250 ".to_vec();
        ok.resize(MAX_LINE_LEN - 2, b'a');
        ok.extend_from_slice(b"\r\n");
        assert!(Reply::parse(&ok).is_ok());
        let mut parser = ReplyParser::new();
        // The cap trips before any line end arrives.
        let long = vec![b'a'; MAX_LINE_LEN + 1];
        assert_eq!(
            parser.feed(&long),
            Err(ReplyError::LineTooLong {
                line: 1,
                limit: MAX_LINE_LEN
            })
        );
        // And the error is final.
        assert!(parser.feed(b"250 ok\r\n").is_err());
    }

    #[test]
    fn smtp_reply_total_caps() {
        let line = format!("250-{}\r\n", "a".repeat(1000));
        let many = line.repeat(70);
        assert_eq!(
            Reply::parse(many.as_bytes()),
            Err(ReplyError::ReplyTooLong {
                limit: MAX_REPLY_LEN
            })
        );
        let short = "250-a\r\n".repeat(MAX_REPLY_LINES);
        assert_eq!(Reply::parse(short.as_bytes()), Err(ReplyError::Incomplete));
        let too_many = format!("{short}250 a\r\n");
        assert_eq!(
            Reply::parse(too_many.as_bytes()),
            Err(ReplyError::TooManyLines {
                limit: MAX_REPLY_LINES
            })
        );
    }

    #[test]
    fn smtp_reply_incomplete_and_non_utf8() {
        assert_eq!(Reply::parse(b"250 ok"), Err(ReplyError::Incomplete));
        assert_eq!(Reply::parse(b"250-ok\r\n"), Err(ReplyError::Incomplete));
        let reply = Reply::parse(b"250 caf\xe9\r\n").unwrap();
        assert_eq!(reply.lines(), ["caf\u{fffd}"]);
    }

    #[test]
    fn smtp_reply_code_validation() {
        assert!(ReplyCode::new(220).is_some());
        assert!(ReplyCode::new(559).is_some());
        assert!(ReplyCode::new(560).is_none());
        assert!(ReplyCode::new(199).is_none());
        assert_eq!(
            ReplyCode::new(454).unwrap().class(),
            ReplyClass::TransientNegative
        );
        assert_eq!(
            ReplyCode::new(354).unwrap().class(),
            ReplyClass::PositiveIntermediate
        );
    }
}
