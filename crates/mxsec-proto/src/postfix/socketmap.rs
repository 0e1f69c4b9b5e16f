//! Socketmap requests and replies (PFX-01, PFX-02; POSTFIX.md §4.4; Postfix
//! `socketmap_table(5)`, the same protocol as Sendmail's socket map).
//!
//! Each request and each reply is one netstring (see [`super::netstring`]):
//!
//! ```text
//! request payload:  <map name> SP <key>          e.g. "tlspolicy example.com"
//! reply payload:    "OK" SP <data>               found; data is the policy text
//!                   "NOTFOUND" SP                not found (trailing space for Sendmail)
//!                   "TEMP" SP <reason>           temporary failure: Postfix defers
//!                   "TIMEOUT" SP <reason>        temporary failure: Postfix defers
//!                   "PERM" SP <reason>           permanent failure (a table error)
//! ```
//!
//! A reply payload is at most [`MAX_REPLY_LEN`] octets, framing excluded.

use crate::name::{Destination, NameError};

/// The largest reply payload Postfix accepts, framing excluded (PFX-02, `socketmap_table(5)`).
pub const MAX_REPLY_LEN: usize = 100_000;

/// The largest request payload mxsec accepts: a map name and a key.
///
/// A key is a next-hop destination: at most 253 octets as A-labels, but up to four octets per
/// character when Postfix passes an internationalised domain in UTF-8, plus brackets and a
/// port. 2048 octets covers that with room to spare and still bounds what a client can make
/// the server buffer.
pub const MAX_REQUEST_LEN: usize = 2048;

/// A lookup request: which map, and the destination looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketmapRequest {
    map: String,
    raw_key: String,
    key: Destination,
}

/// Why a request payload is not `<map name> SP <key>` with a valid key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The payload is longer than [`MAX_REQUEST_LEN`].
    #[error("socketmap request of {len} octets exceeds the limit of {max}")]
    TooLong {
        /// The payload length.
        len: usize,
        /// The limit, [`MAX_REQUEST_LEN`].
        max: usize,
    },
    /// The payload is not UTF-8.
    #[error("socketmap request is not valid UTF-8")]
    NotUtf8,
    /// The payload has no space, so no key (`tlspolicy` alone, or an empty payload).
    #[error("socketmap request {payload:?} has no key; expected '<map name> <key>'")]
    MissingKey {
        /// The payload.
        payload: String,
    },
    /// The map name is empty or holds a character other than printable ASCII.
    #[error("socketmap map name {map:?} must be non-empty printable ASCII without spaces")]
    InvalidMapName {
        /// The map name as sent.
        map: String,
    },
    /// The key is not a valid next-hop destination.
    #[error("socketmap key {key:?} in map {map:?} is not a valid destination: {source}")]
    InvalidKey {
        /// The map name.
        map: String,
        /// The key as sent.
        key: String,
        /// Why the key is not a destination.
        source: NameError,
    },
}

/// A reply to a lookup (PFX-02).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocketmapReply {
    /// `OK <data>`: found; the data is the policy text (POSTFIX.md §4.2).
    Ok(String),
    /// `NOTFOUND `: no policy; Postfix applies its default (`smtp_tls_security_level`).
    NotFound,
    /// `TEMP <reason>`: temporary failure; Postfix defers the delivery (PFX-04).
    Temp(String),
    /// `TIMEOUT <reason>`: temporary failure, a time-out.
    Timeout(String),
    /// `PERM <reason>`: permanent failure, which Postfix treats as a table error.
    Perm(String),
}

/// Why a reply payload is not one of the five socketmap replies.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SocketmapReplyError {
    /// The payload is longer than [`MAX_REPLY_LEN`].
    #[error("socketmap reply of {len} octets exceeds the limit of {max}")]
    TooLong {
        /// The payload length.
        len: usize,
        /// The limit, [`MAX_REPLY_LEN`].
        max: usize,
    },
    /// The payload is not UTF-8.
    #[error("socketmap reply is not valid UTF-8")]
    NotUtf8,
    /// The first word is not `OK`, `NOTFOUND`, `TEMP`, `TIMEOUT` or `PERM` (Postfix treats
    /// such a reply like `TEMP`).
    #[error("socketmap reply status {status:?} is not OK, NOTFOUND, TEMP, TIMEOUT or PERM")]
    UnknownStatus {
        /// The first word, at most 32 characters of it.
        status: String,
    },
}

impl SocketmapRequest {
    /// Parses a request payload, `<map name> SP <key>`, and normalises the key with
    /// [`Destination::parse`] (lower case, no trailing dot, A-labels; `[host]`, `[host]:port`,
    /// `host:port`, IP literals, `[ipv6:...]`), PFX-01 and PFX-08.
    ///
    /// # Errors
    ///
    /// A [`RequestError`] that names the offending part.
    pub fn parse(payload: &[u8]) -> Result<Self, RequestError> {
        if payload.len() > MAX_REQUEST_LEN {
            return Err(RequestError::TooLong {
                len: payload.len(),
                max: MAX_REQUEST_LEN,
            });
        }
        let text = std::str::from_utf8(payload).map_err(|_| RequestError::NotUtf8)?;
        let Some((map, raw_key)) = text.split_once(' ').filter(|(_, key)| !key.is_empty()) else {
            return Err(RequestError::MissingKey {
                payload: text.to_owned(),
            });
        };
        if map.is_empty() || !map.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(RequestError::InvalidMapName {
                map: map.to_owned(),
            });
        }
        let key = Destination::parse(raw_key).map_err(|source| RequestError::InvalidKey {
            map: map.to_owned(),
            key: raw_key.to_owned(),
            source,
        })?;
        Ok(Self {
            map: map.to_owned(),
            raw_key: raw_key.to_owned(),
            key,
        })
    }

    /// The map name, the first word of the request.
    pub fn map(&self) -> &str {
        &self.map
    }

    /// The key as Postfix sent it.
    pub fn raw_key(&self) -> &str {
        &self.raw_key
    }

    /// The key, normalised.
    pub fn key(&self) -> &Destination {
        &self.key
    }

    /// The request payload for `map` and `key`, as Postfix would send it.
    pub fn payload(map: &str, key: &str) -> String {
        format!("{map} {key}")
    }
}

impl SocketmapReply {
    /// The reply payload, never longer than [`MAX_REPLY_LEN`] octets.
    ///
    /// - `NOTFOUND ` keeps its trailing space, for Sendmail (PFX-02).
    /// - Reasons have control characters replaced by spaces (Postfix logs them, and a NUL would
    ///   cut them short) and are truncated, at a character boundary, to fit the limit.
    /// - Policy data cannot be shortened without changing its meaning, so data that does not
    ///   fit, or that holds a control character other than tab, is answered as `TEMP` with the
    ///   reason: the delivery is deferred, never downgraded (PFX-04).
    pub fn to_payload(&self) -> String {
        match self {
            Self::Ok(data) => {
                if let Some(problem) = data_problem(data) {
                    return Self::Temp(problem).to_payload();
                }
                format!("OK {data}")
            }
            Self::NotFound => "NOTFOUND ".to_owned(),
            Self::Temp(reason) => with_reason("TEMP", reason),
            Self::Timeout(reason) => with_reason("TIMEOUT", reason),
            Self::Perm(reason) => with_reason("PERM", reason),
        }
    }

    /// The reply as a netstring, ready to write.
    pub fn to_netstring(&self) -> Vec<u8> {
        super::netstring::encode(self.to_payload().as_bytes())
    }

    /// Parses a reply payload (for `mxsec query --daemon` and tests).
    ///
    /// The status is the text before the first space (or all of it); what follows that space
    /// is the data or reason. `NOTFOUND` is accepted with or without its trailing space, and
    /// any text after it is ignored, as Postfix does.
    ///
    /// # Errors
    ///
    /// A [`SocketmapReplyError`] for an over-long payload, one that is not UTF-8, or an unknown
    /// status word.
    pub fn parse(payload: &[u8]) -> Result<Self, SocketmapReplyError> {
        if payload.len() > MAX_REPLY_LEN {
            return Err(SocketmapReplyError::TooLong {
                len: payload.len(),
                max: MAX_REPLY_LEN,
            });
        }
        let text = std::str::from_utf8(payload).map_err(|_| SocketmapReplyError::NotUtf8)?;
        let (status, rest) = text.split_once(' ').unwrap_or((text, ""));
        let rest = rest.to_owned();
        Ok(match status {
            "OK" => Self::Ok(rest),
            "NOTFOUND" => Self::NotFound,
            "TEMP" => Self::Temp(rest),
            "TIMEOUT" => Self::Timeout(rest),
            "PERM" => Self::Perm(rest),
            other => {
                return Err(SocketmapReplyError::UnknownStatus {
                    status: other.chars().take(32).collect(),
                })
            }
        })
    }
}

/// Why policy data cannot be sent as it is, if it cannot.
fn data_problem(data: &str) -> Option<String> {
    let len = "OK ".len() + data.len();
    if len > MAX_REPLY_LEN {
        return Some(format!(
            "policy answer of {len} octets exceeds the socketmap limit of {MAX_REPLY_LEN}"
        ));
    }
    if data.chars().any(|c| c.is_control() && c != '\t') {
        return Some("policy answer contains a control character".to_owned());
    }
    None
}

fn with_reason(status: &str, reason: &str) -> String {
    let mut out = String::with_capacity(status.len() + 1 + reason.len().min(MAX_REPLY_LEN));
    out.push_str(status);
    out.push(' ');
    for c in reason.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if out.len() + c.len_utf8() > MAX_REPLY_LEN {
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::DomainName;

    #[test]
    fn pfx_01_request_parsed_and_key_normalised() {
        let request = SocketmapRequest::parse(b"tlspolicy Example.COM.").unwrap();
        assert_eq!(request.map(), "tlspolicy");
        assert_eq!(request.raw_key(), "Example.COM.");
        assert_eq!(
            request.key(),
            &Destination::Domain(DomainName::parse("example.com").unwrap())
        );
        let idn = SocketmapRequest::parse("tlspolicy bücher.example".as_bytes()).unwrap();
        assert_eq!(
            idn.key(),
            &Destination::Domain(DomainName::parse("xn--bcher-kva.example").unwrap())
        );
    }

    #[test]
    fn pfx_08_request_keys_with_brackets_ports_and_literals() {
        let host = SocketmapRequest::parse(b"tlspolicy [MX.example.com]:587").unwrap();
        assert_eq!(
            host.key(),
            &Destination::Host {
                host: DomainName::parse("mx.example.com").unwrap(),
                port: Some(587)
            }
        );
        let v6 = SocketmapRequest::parse(b"tlspolicy [ipv6:2001:db8::1]").unwrap();
        assert_eq!(
            v6.key(),
            &Destination::Address("2001:db8::1".parse().unwrap())
        );
        let v4 = SocketmapRequest::parse(b"tlspolicy 192.0.2.1").unwrap();
        assert_eq!(
            v4.key(),
            &Destination::Address("192.0.2.1".parse().unwrap())
        );
    }

    #[test]
    fn pfx_01_malformed_requests() {
        assert_eq!(
            SocketmapRequest::parse(b""),
            Err(RequestError::MissingKey {
                payload: String::new()
            })
        );
        assert_eq!(
            SocketmapRequest::parse(b"tlspolicy"),
            Err(RequestError::MissingKey {
                payload: "tlspolicy".into()
            })
        );
        assert!(matches!(
            SocketmapRequest::parse(b"tlspolicy "),
            Err(RequestError::MissingKey { .. })
        ));
        assert_eq!(
            SocketmapRequest::parse(b" example.com"),
            Err(RequestError::InvalidMapName { map: String::new() })
        );
        assert_eq!(
            SocketmapRequest::parse(b"tls\tpolicy example.com"),
            Err(RequestError::InvalidMapName {
                map: "tls\tpolicy".into()
            })
        );
        assert_eq!(
            SocketmapRequest::parse(b"tlspolicy \xff"),
            Err(RequestError::NotUtf8)
        );
        let err = SocketmapRequest::parse(b"tlspolicy a..b").unwrap_err();
        assert!(
            matches!(&err, RequestError::InvalidKey { map, key, .. } if map == "tlspolicy" && key == "a..b")
        );
        assert!(err.to_string().contains("a..b"));
        assert!(matches!(
            SocketmapRequest::parse(b"tlspolicy example.com extra"),
            Err(RequestError::InvalidKey { .. })
        ));
        let long = vec![b'a'; MAX_REQUEST_LEN + 1];
        assert_eq!(
            SocketmapRequest::parse(&long),
            Err(RequestError::TooLong {
                len: MAX_REQUEST_LEN + 1,
                max: MAX_REQUEST_LEN
            })
        );
    }

    #[test]
    fn pfx_02_reply_payloads_are_exact() {
        assert_eq!(SocketmapReply::NotFound.to_payload(), "NOTFOUND ");
        assert_eq!(
            SocketmapReply::Ok("secure match=mx.example.net servername=hostname".into())
                .to_payload(),
            "OK secure match=mx.example.net servername=hostname"
        );
        assert_eq!(
            SocketmapReply::Temp("DNS SERVFAIL for example.com".into()).to_payload(),
            "TEMP DNS SERVFAIL for example.com"
        );
        assert_eq!(
            SocketmapReply::Timeout("MX lookup timed out".into()).to_payload(),
            "TIMEOUT MX lookup timed out"
        );
        assert_eq!(
            SocketmapReply::Perm("bad map".into()).to_payload(),
            "PERM bad map"
        );
        assert_eq!(SocketmapReply::NotFound.to_netstring(), b"9:NOTFOUND ,");
    }

    #[test]
    fn pfx_02_reasons_sanitised_and_truncated() {
        assert_eq!(
            SocketmapReply::Temp("a\r\nb\0c".into()).to_payload(),
            "TEMP a  b c"
        );
        let long = "é".repeat(MAX_REPLY_LEN);
        for reply in [
            SocketmapReply::Temp(long.clone()),
            SocketmapReply::Timeout(long.clone()),
            SocketmapReply::Perm(long),
        ] {
            let payload = reply.to_payload();
            assert!(payload.len() <= MAX_REPLY_LEN);
            assert!(payload.len() >= MAX_REPLY_LEN - 1, "{}", payload.len());
        }
    }

    #[test]
    fn pfx_04_unsendable_policy_defers_instead() {
        let huge = SocketmapReply::Ok("x".repeat(MAX_REPLY_LEN));
        let payload = huge.to_payload();
        assert!(payload.starts_with("TEMP policy answer of 100003 octets"));
        let fits = SocketmapReply::Ok("x".repeat(MAX_REPLY_LEN - 3)).to_payload();
        assert_eq!(fits.len(), MAX_REPLY_LEN);
        assert!(fits.starts_with("OK "));
        let nul = SocketmapReply::Ok("secure\0match=x".into()).to_payload();
        assert_eq!(nul, "TEMP policy answer contains a control character");
        let tab = SocketmapReply::Ok("secure\tmatch=x".into()).to_payload();
        assert_eq!(tab, "OK secure\tmatch=x");
    }

    #[test]
    fn pfx_02_replies_parse_back() {
        for reply in [
            SocketmapReply::Ok("dane-only".into()),
            SocketmapReply::Ok(String::new()),
            SocketmapReply::NotFound,
            SocketmapReply::Temp("try later".into()),
            SocketmapReply::Timeout("slow".into()),
            SocketmapReply::Perm("no".into()),
        ] {
            assert_eq!(
                SocketmapReply::parse(reply.to_payload().as_bytes()),
                Ok(reply)
            );
        }
        assert_eq!(
            SocketmapReply::parse(b"NOTFOUND"),
            Ok(SocketmapReply::NotFound)
        );
        assert_eq!(
            SocketmapReply::parse(b"TEMP"),
            Ok(SocketmapReply::Temp(String::new()))
        );
        assert_eq!(
            SocketmapReply::parse(b"MAYBE x"),
            Err(SocketmapReplyError::UnknownStatus {
                status: "MAYBE".into()
            })
        );
        assert_eq!(
            SocketmapReply::parse(b"ok x"),
            Err(SocketmapReplyError::UnknownStatus {
                status: "ok".into()
            })
        );
        assert_eq!(
            SocketmapReply::parse(b"OK \xff"),
            Err(SocketmapReplyError::NotUtf8)
        );
        assert!(matches!(
            SocketmapReply::parse(&vec![b'O'; MAX_REPLY_LEN + 1]),
            Err(SocketmapReplyError::TooLong { .. })
        ));
    }

    #[test]
    fn pfx_01_request_payload_helper() {
        let payload = SocketmapRequest::payload("tlspolicy", "example.com");
        assert_eq!(payload, "tlspolicy example.com");
        assert_eq!(
            super::super::netstring::encode(payload.as_bytes()),
            b"21:tlspolicy example.com,"
        );
    }
}
