//! Netstring framing shared by the benchmark tools (the socketmap wire format).

/// Encodes `payload` as a netstring.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut out = format!("{}:", payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out.push(b',');
    out
}

/// The length of the complete netstring at the front of `buf`, if there is one, and its
/// payload; `Err` when `buf` cannot start a netstring of at most `max` octets.
pub fn decode(buf: &[u8], max: usize) -> Result<Option<(usize, &[u8])>, String> {
    let digits = buf.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 6 {
        return Err("netstring length too long".into());
    }
    let Some(&sep) = buf.get(digits) else {
        return Ok(None);
    };
    if digits == 0 || sep != b':' {
        return Err("not a netstring".into());
    }
    let len: usize = std::str::from_utf8(&buf[..digits])
        .map_err(|e| e.to_string())?
        .parse()
        .map_err(|e: std::num::ParseIntError| e.to_string())?;
    if len > max {
        return Err("netstring too long".into());
    }
    let end = digits + 1 + len;
    match buf.get(end) {
        None => Ok(None),
        Some(b',') => Ok(Some((end + 1, &buf[digits + 1..end]))),
        Some(_) => Err("netstring without ','".into()),
    }
}
