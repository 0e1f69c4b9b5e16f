//! A bounded MIME reader for exactly what TLS-RPT needs: find the body parts of a message
//! (RFC 2045, RFC 2046 §5.1 multipart, RFC 2046 §5.2.1 `message/rfc822`), their content
//! types, file names and transfer encodings, and decode a part's body.
//!
//! It is not a general e-mail parser: it ignores everything but `Content-Type`,
//! `Content-Transfer-Encoding` and `Content-Disposition`, and does not decode RFC 2047
//! encoded words. It is bounded: at most [`MAX_DEPTH`] levels of nesting and [`MAX_PARTS`]
//! parts, linear in the input, and it returns an error rather than panicking on any input.

use base64::Engine;

/// The deepest nesting of multiparts and attached messages read.
pub const MAX_DEPTH: usize = 8;

/// The most body parts read from one message.
pub const MAX_PARTS: usize = 256;

/// Why a message could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MimeError {
    /// A `multipart/*` part without a `boundary` parameter (RFC 2046 §5.1.1).
    #[error("{part}: multipart without a `boundary` parameter")]
    MissingBoundary {
        /// Which part.
        part: String,
    },
    /// A multipart in which no boundary line appears.
    #[error("{part}: the boundary {boundary:?} never appears; the multipart has no parts")]
    NoParts {
        /// Which part.
        part: String,
        /// The boundary looked for.
        boundary: String,
    },
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("{part}: nested more than {MAX_DEPTH} levels deep")]
    TooDeep {
        /// Which part.
        part: String,
    },
    /// More than [`MAX_PARTS`] parts.
    #[error("more than {MAX_PARTS} body parts")]
    TooManyParts,
    /// A body that is not valid base64.
    #[error("{part}: the base64 body is invalid: {reason}")]
    Base64 {
        /// Which part.
        part: String,
        /// What the decoder said.
        reason: String,
    },
    /// A `Content-Transfer-Encoding` other than the RFC 2045 §6 ones.
    #[error("{part}: unknown Content-Transfer-Encoding {encoding:?}")]
    UnknownEncoding {
        /// Which part.
        part: String,
        /// The encoding as written.
        encoding: String,
    },
    /// The input is not a message: no header lines at all.
    #[error("not an e-mail message: it does not begin with header lines")]
    NotAMessage,
}

/// The transfer encoding of a part (RFC 2045 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferEncoding {
    /// `7bit`, `8bit` or `binary`: the body as is.
    Identity,
    /// `base64` (RFC 2045 §6.8).
    Base64,
    /// `quoted-printable` (RFC 2045 §6.7).
    QuotedPrintable,
}

/// A leaf body part (not a multipart, not an attached message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part<'a> {
    /// Where it is, e.g. `part 2` or `part 1.3`; `message body` for a single-part message.
    pub position: String,
    /// `type/subtype`, lower case; `text/plain` when absent (RFC 2045 §5.2).
    pub content_type: String,
    /// The file name from `Content-Disposition` or the `name` parameter of `Content-Type`.
    pub file_name: Option<String>,
    /// The transfer encoding.
    pub encoding: TransferEncoding,
    body: &'a [u8],
}

impl Part<'_> {
    /// The body with its transfer encoding undone.
    ///
    /// # Errors
    ///
    /// [`MimeError::Base64`] for an invalid base64 body, [`MimeError::UnknownEncoding`] for an
    /// encoding RFC 2045 does not define.
    pub fn decoded_body(&self) -> Result<Vec<u8>, MimeError> {
        match self.encoding {
            TransferEncoding::Identity => Ok(self.body.to_vec()),
            TransferEncoding::Base64 => {
                let compact: Vec<u8> = self
                    .body
                    .iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                base64::engine::general_purpose::STANDARD
                    .decode(&compact)
                    .map_err(|e| MimeError::Base64 {
                        part: self.describe(),
                        reason: e.to_string(),
                    })
            }
            TransferEncoding::QuotedPrintable => Ok(decode_quoted_printable(self.body)),
        }
    }

    /// The part for messages: position, content type and file name.
    pub fn describe(&self) -> String {
        match &self.file_name {
            Some(name) => format!("{} ({}, {name:?})", self.position, self.content_type),
            None => format!("{} ({})", self.position, self.content_type),
        }
    }
}

/// The leaf body parts of a message, in order, multiparts and attached messages opened.
///
/// # Errors
///
/// A [`MimeError`] for a message without headers, a multipart without boundary or parts,
/// too deep a nesting, too many parts, or an unknown transfer encoding.
pub fn leaf_parts(message: &[u8]) -> Result<Vec<Part<'_>>, MimeError> {
    let (headers, _) = split_entity(message);
    if headers.is_empty() {
        return Err(MimeError::NotAMessage);
    }
    let mut parts = Vec::new();
    walk(message, String::new(), 0, &mut parts)?;
    Ok(parts)
}

fn walk<'a>(
    entity: &'a [u8],
    position: String,
    depth: usize,
    out: &mut Vec<Part<'a>>,
) -> Result<(), MimeError> {
    let label = if position.is_empty() {
        "message body".to_owned()
    } else {
        format!("part {position}")
    };
    if depth > MAX_DEPTH {
        return Err(MimeError::TooDeep { part: label });
    }
    let (headers, body) = split_entity(entity);
    let headers = Headers::parse(headers);
    let content_type = headers.get("content-type").map(ContentType::parse);
    let (media, params) = match content_type {
        Some(ct) => (ct.media, ct.params),
        None => ("text/plain".to_owned(), Vec::new()),
    };
    if media.starts_with("multipart/") {
        let Some(boundary) = param(&params, "boundary") else {
            return Err(MimeError::MissingBoundary { part: label });
        };
        let children = split_multipart(body, boundary.as_bytes());
        if children.is_empty() {
            return Err(MimeError::NoParts {
                part: label,
                boundary,
            });
        }
        for (index, child) in children.into_iter().enumerate() {
            let child_position = if position.is_empty() {
                (index + 1).to_string()
            } else {
                format!("{position}.{}", index + 1)
            };
            walk(child, child_position, depth + 1, out)?;
        }
        return Ok(());
    }
    if media == "message/rfc822" {
        let inner = if position.is_empty() {
            "1".to_owned()
        } else {
            format!("{position}.1")
        };
        return walk(body, inner, depth + 1, out);
    }
    if out.len() >= MAX_PARTS {
        return Err(MimeError::TooManyParts);
    }
    let encoding_name = headers
        .get("content-transfer-encoding")
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let encoding = match encoding_name.as_str() {
        "" | "7bit" | "8bit" | "binary" => TransferEncoding::Identity,
        "base64" => TransferEncoding::Base64,
        "quoted-printable" => TransferEncoding::QuotedPrintable,
        other => {
            return Err(MimeError::UnknownEncoding {
                part: label,
                encoding: other.to_owned(),
            })
        }
    };
    let disposition = headers.get("content-disposition").map(ContentType::parse);
    let file_name = disposition
        .as_ref()
        .and_then(|d| file_name(&d.params, "filename"))
        .or_else(|| file_name(&params, "name"));
    out.push(Part {
        position: label,
        content_type: media,
        file_name,
        encoding,
        body,
    });
    Ok(())
}

/// Splits an entity into its header block and its body at the first empty line (RFC 5322
/// §2.1). Without an empty line, everything is header.
fn split_entity(entity: &[u8]) -> (&[u8], &[u8]) {
    let mut offset = 0;
    for line in entity.split_inclusive(|b| *b == b'\n') {
        let content = strip_eol(line);
        if content.is_empty() {
            let (headers, rest) = entity.split_at(offset);
            return (headers, rest.get(line.len()..).unwrap_or_default());
        }
        offset += line.len();
    }
    (entity, &[])
}

/// The body parts of a multipart body (RFC 2046 §5.1.1): the text between delimiter lines
/// `--boundary`, up to the close delimiter `--boundary--` or, leniently, the end of input.
/// The line break before a delimiter belongs to the delimiter.
fn split_multipart<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut offset = 0;
    for line in body.split_inclusive(|b| *b == b'\n') {
        let line_start = offset;
        offset += line.len();
        let Some(kind) = delimiter(strip_eol(line), boundary) else {
            continue;
        };
        if let Some(s) = start {
            let end = line_start.saturating_sub(eol_len_before(body, line_start));
            parts.push(body.get(s..end.max(s)).unwrap_or_default());
        }
        match kind {
            Delimiter::Close => return parts,
            Delimiter::Open => start = Some(offset),
        }
    }
    if let Some(s) = start {
        parts.push(body.get(s..).unwrap_or_default());
    }
    parts
}

enum Delimiter {
    Open,
    Close,
}

fn delimiter(line: &[u8], boundary: &[u8]) -> Option<Delimiter> {
    let rest = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    let (close, rest) = match rest.strip_prefix(b"--") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    // Transport padding: only linear whitespace may follow (RFC 2046 §5.1.1).
    if !rest.iter().all(|b| *b == b' ' || *b == b'\t') {
        return None;
    }
    Some(if close {
        Delimiter::Close
    } else {
        Delimiter::Open
    })
}

fn eol_len_before(body: &[u8], index: usize) -> usize {
    match body.get(..index) {
        Some(before) if before.ends_with(b"\r\n") => 2,
        Some(before) if before.ends_with(b"\n") => 1,
        _ => 0,
    }
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Unfolded header fields, names in lower case.
struct Headers {
    fields: Vec<(String, String)>,
}

impl Headers {
    fn parse(block: &[u8]) -> Self {
        let mut fields: Vec<(String, String)> = Vec::new();
        for raw in block.split_inclusive(|b| *b == b'\n') {
            let line = String::from_utf8_lossy(strip_eol(raw));
            if line.starts_with([' ', '\t']) {
                // A folded continuation (RFC 5322 §2.2.3).
                if let Some((_, value)) = fields.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if let Some((name, value)) = line.split_once(':') {
                fields.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        Self { fields }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A `Content-Type` (or `Content-Disposition`) value: the first token, lower case, and its
/// parameters, names in lower case (RFC 2045 §5.1).
struct ContentType {
    media: String,
    params: Vec<(String, String)>,
}

impl ContentType {
    fn parse(value: &str) -> Self {
        let mut segments = split_unquoted(value, ';').into_iter();
        let media = segments
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let params = segments
            .filter_map(|segment| {
                let (name, raw) = segment.split_once('=')?;
                Some((name.trim().to_ascii_lowercase(), unquote(raw.trim())))
            })
            .collect();
        Self { media, params }
    }
}

/// Splits at `separator` outside double quotes.
fn split_unquoted(value: &str, separator: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                out.push(value.get(start..i).unwrap_or_default());
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(value.get(start..).unwrap_or_default());
    out
}

/// A parameter value: a token as is, or a quoted-string without its quotes and escapes.
fn unquote(raw: &str) -> String {
    let Some(inner) = raw.strip_prefix('"') else {
        return raw.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

fn param(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// A file name parameter, plain or in RFC 2231 form (`filename*=utf-8''report.json.gz`).
fn file_name(params: &[(String, String)], name: &str) -> Option<String> {
    if let Some(plain) = param(params, name) {
        return Some(plain);
    }
    let extended = param(params, &format!("{name}*"))?;
    // charset'language'percent-encoded-value
    let value = extended.splitn(3, '\'').nth(2).unwrap_or(&extended);
    Some(percent_decode(value))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            if let Some(v) = bytes.get(i + 1..i + 3).and_then(hex_pair) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Quoted-printable (RFC 2045 §6.7): `=XX` octets and `=` soft line breaks; anything
/// malformed is kept as written, as the RFC recommends for robustness.
fn decode_quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        if b == b'=' {
            if body.get(i + 1..i + 3) == Some(b"\r\n") {
                i += 3;
                continue;
            }
            if body.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if let Some(v) = body.get(i + 1..i + 3).and_then(hex_pair) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

fn hex_pair(pair: &[u8]) -> Option<u8> {
    let digit = |b: &u8| char::from(*b).to_digit(16);
    match pair {
        [hi, lo] => Some(u8::try_from(digit(hi)? * 16 + digit(lo)?).ok()?),
        _ => None,
    }
}
