//! Netstrings, the framing of the socketmap protocol (PFX-01; POSTFIX.md §4.4).
//!
//! D. J. Bernstein's definition (`netstrings.txt`, 1997):
//!
//! ```text
//! Any string of 8-bit bytes may be encoded as [len]":"[string]",". Here [string] is the
//! string and [len] is a nonempty sequence of ASCII digits giving the length of [string] in
//! decimal. [...] Extra zeros at the front of [len] are prohibited: [len] begins with <30>
//! exactly when [string] is empty.
//! ```
//!
//! Leading zeros: the decoder follows the definition and rejects them
//! ([`NetstringError::LeadingZero`]), although Postfix's own reader accepts them, because
//! Postfix and Sendmail always write canonical lengths; refusing them also keeps the length
//! prefix short. The encoder writes canonical lengths only.
//!
//! The decoder is bounded: it fails as soon as the length prefix exceeds the configured
//! maximum, before the payload arrives, so a peer cannot make the caller buffer more than
//! [`NetstringDecoder::max_frame_len`] octets.

use std::fmt::Write as _;

/// Decodes netstrings from the front of a byte buffer, up to a maximum payload length.
///
/// ```
/// use mxsec_proto::postfix::netstring::NetstringDecoder;
///
/// let decoder = NetstringDecoder::new(1024);
/// assert_eq!(decoder.decode(b"21:tlspolicy exam").unwrap(), None);
/// let frame = decoder.decode(b"21:tlspolicy example.com,21:...").unwrap().unwrap();
/// assert_eq!(frame.payload, b"tlspolicy example.com");
/// assert_eq!(frame.consumed, 25);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetstringDecoder {
    max_len: usize,
}

/// One complete netstring at the front of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The payload, between the `:` and the `,`.
    pub payload: &'a [u8],
    /// The length of the whole netstring; the caller drops that many octets from its buffer.
    pub consumed: usize,
}

/// Why the front of a buffer is not a valid netstring.
///
/// After an error the stream has lost its framing: close the connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetstringError {
    /// The netstring does not start with a decimal digit.
    #[error("a netstring must start with its length in decimal digits, found {found:?}")]
    InvalidLength {
        /// The offending octet, escaped.
        found: String,
    },
    /// The length has a leading zero (`012:`), which the definition prohibits.
    #[error("the netstring length has a leading zero; write the length without it")]
    LeadingZero,
    /// The length exceeds the maximum the decoder accepts.
    #[error("the netstring length exceeds the maximum of {max} octets")]
    TooLong {
        /// The maximum payload length.
        max: usize,
    },
    /// The digits of the length are followed by something other than `:`.
    #[error("the netstring length must be followed by ':', found {found:?}")]
    MissingColon {
        /// The offending octet, escaped.
        found: String,
    },
    /// The payload is followed by something other than `,`.
    #[error("the netstring payload of {len} octets must be followed by ',', found {found:?}")]
    MissingComma {
        /// The payload length the netstring declared.
        len: usize,
        /// The offending octet, escaped.
        found: String,
    },
}

impl NetstringDecoder {
    /// A decoder that accepts payloads of at most `max_len` octets.
    pub fn new(max_len: usize) -> Self {
        Self { max_len }
    }

    /// The maximum payload length.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The longest complete netstring this decoder accepts, framing included: the most a
    /// caller ever needs to buffer.
    pub fn max_frame_len(&self) -> usize {
        decimal_len(self.max_len)
            .saturating_add(2)
            .saturating_add(self.max_len)
    }

    /// Decodes the netstring at the front of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` holds only the beginning of a valid netstring: read more
    /// and call again with the longer buffer.
    ///
    /// # Errors
    ///
    /// A [`NetstringError`] as soon as the octets seen cannot start a valid netstring of at
    /// most [`max_len`](Self::max_len) octets.
    pub fn decode<'a>(&self, buf: &'a [u8]) -> Result<Option<Frame<'a>>, NetstringError> {
        let mut len: usize = 0;
        let mut digits = 0;
        for &byte in buf {
            if !byte.is_ascii_digit() {
                break;
            }
            if digits == 1 && len == 0 {
                return Err(NetstringError::LeadingZero);
            }
            len = len
                .checked_mul(10)
                .and_then(|l| l.checked_add(usize::from(byte - b'0')))
                .filter(|l| *l <= self.max_len)
                .ok_or(NetstringError::TooLong { max: self.max_len })?;
            digits += 1;
        }
        let Some(&separator) = buf.get(digits) else {
            return Ok(None);
        };
        if digits == 0 {
            return Err(NetstringError::InvalidLength {
                found: escape(separator),
            });
        }
        if separator != b':' {
            return Err(NetstringError::MissingColon {
                found: escape(separator),
            });
        }
        let start = digits + 1;
        let end = start + len;
        let (Some(payload), Some(&terminator)) = (buf.get(start..end), buf.get(end)) else {
            return Ok(None);
        };
        if terminator != b',' {
            return Err(NetstringError::MissingComma {
                len,
                found: escape(terminator),
            });
        }
        Ok(Some(Frame {
            payload,
            consumed: end + 1,
        }))
    }
}

/// Encodes `payload` as a netstring with a canonical length.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + decimal_len(payload.len()) + 2);
    encode_into(payload, &mut out);
    out
}

/// Appends `payload`, encoded as a netstring with a canonical length, to `out`.
pub fn encode_into(payload: &[u8], out: &mut Vec<u8>) {
    let mut prefix = String::new();
    // Writing to a String cannot fail.
    let _ = write!(prefix, "{}:", payload.len());
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(payload);
    out.push(b',');
}

fn decimal_len(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

fn escape(byte: u8) -> String {
    std::ascii::escape_default(byte).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECODER: NetstringDecoder = NetstringDecoder { max_len: 100 };

    #[test]
    fn pfx_01_round_trip() {
        for payload in [
            &b""[..],
            b"x",
            b"tlspolicy example.com",
            &[0u8, 255, b',', b':'],
        ] {
            let wire = encode(payload);
            let frame = DECODER.decode(&wire).unwrap().unwrap();
            assert_eq!(frame.payload, payload);
            assert_eq!(frame.consumed, wire.len());
        }
        assert_eq!(encode(b"hello world!"), b"12:hello world!,");
        assert_eq!(encode(b""), b"0:,");
    }

    #[test]
    fn pfx_01_incremental_decoding() {
        let wire = b"21:tlspolicy example.com,";
        for cut in 0..wire.len() {
            assert_eq!(DECODER.decode(&wire[..cut]), Ok(None), "cut at {cut}");
        }
        let mut two = encode(b"a");
        encode_into(b"bc", &mut two);
        let first = DECODER.decode(&two).unwrap().unwrap();
        assert_eq!((first.payload, first.consumed), (&b"a"[..], 4));
        let second = DECODER.decode(&two[first.consumed..]).unwrap().unwrap();
        assert_eq!(second.payload, b"bc");
    }

    #[test]
    fn pfx_01_rejects_malformed() {
        let cases: [(&[u8], NetstringError); 7] = [
            (
                b":abc,",
                NetstringError::InvalidLength { found: ":".into() },
            ),
            (b"x", NetstringError::InvalidLength { found: "x".into() }),
            (b"-1:", NetstringError::InvalidLength { found: "-".into() }),
            (
                b"3;abc,",
                NetstringError::MissingColon { found: ";".into() },
            ),
            (
                b"3 :abc,",
                NetstringError::MissingColon { found: " ".into() },
            ),
            (
                b"3:abcd",
                NetstringError::MissingComma {
                    len: 3,
                    found: "d".into(),
                },
            ),
            (
                b"0:\n",
                NetstringError::MissingComma {
                    len: 0,
                    found: "\\n".into(),
                },
            ),
        ];
        for (wire, err) in cases {
            assert_eq!(DECODER.decode(wire), Err(err), "{wire:?}");
        }
    }

    #[test]
    fn pfx_01_leading_zero_policy() {
        assert_eq!(DECODER.decode(b"0:,").unwrap().unwrap().payload, b"");
        assert_eq!(DECODER.decode(b"00:,"), Err(NetstringError::LeadingZero));
        assert_eq!(DECODER.decode(b"01:a,"), Err(NetstringError::LeadingZero));
        // Detected before the rest arrives.
        assert_eq!(DECODER.decode(b"05"), Err(NetstringError::LeadingZero));
    }

    #[test]
    fn pfx_01_length_cap_trips_early() {
        assert!(DECODER.decode(&encode(&[b'a'; 100])).unwrap().is_some());
        assert_eq!(
            DECODER.decode(b"101"),
            Err(NetstringError::TooLong { max: 100 })
        );
        // No overflow on absurd lengths, and no waiting for the payload.
        let huge = "9".repeat(40);
        assert_eq!(
            NetstringDecoder::new(usize::MAX).decode(huge.as_bytes()),
            Err(NetstringError::TooLong { max: usize::MAX })
        );
        assert_eq!(
            NetstringDecoder::new(0)
                .decode(b"0:,")
                .unwrap()
                .unwrap()
                .consumed,
            3
        );
        assert_eq!(
            NetstringDecoder::new(0).decode(b"1"),
            Err(NetstringError::TooLong { max: 0 })
        );
    }

    #[test]
    fn pfx_01_max_frame_len() {
        assert_eq!(DECODER.max_frame_len(), 3 + 2 + 100);
        assert_eq!(NetstringDecoder::new(0).max_frame_len(), 3);
        assert_eq!(NetstringDecoder::new(9).max_frame_len(), 12);
        assert_eq!(NetstringDecoder::new(100_000).max_frame_len(), 100_008);
        assert_eq!(
            NetstringDecoder::new(usize::MAX).max_frame_len(),
            usize::MAX
        );
    }
}
