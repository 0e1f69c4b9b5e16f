//! Trust anchor files: DNSKEY or DS records in zone-file syntax (RFC 1035 §5, RFC 4034 §2.2
//! and §5.3).
//!
//! hickory 0.26.3 parses only DNSKEY lines, and ignores `ResolverOpts.trust_anchor`
//! (RUST-STACK.md §1.5), so mxsec reads the file itself. Accepted, one record per entry:
//!
//! ```text
//! ; comments run to the end of the line
//! .        3600 IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+ KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==
//! .             IN DS     20326 8 2 ( E06D44B80B8F1D39A95C0B0D7C65D08458E8
//!                                     80409BBC683457104237C7F8EC8D )
//! ```
//!
//! TTL and class are optional and may come in either order; parentheses continue an entry
//! over several lines. A DS anchor is turned into keys when the resolver starts: the DNSKEY
//! RRset of the owner is fetched and the keys whose digest matches are kept.

use hickory_proto::dnssec::rdata::{DNSKEY, DS};
use hickory_proto::dnssec::{Algorithm, DigestType, PublicKeyBuf};
use hickory_proto::rr::Name;

/// The largest trust anchor file read.
pub const MAX_ANCHOR_FILE: usize = 64 * 1024;
/// The most entries in one trust anchor file.
pub const MAX_ANCHORS: usize = 64;

/// One entry of a trust anchor file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnchorEntry {
    /// A DNSKEY: trusted as it is.
    Dnskey {
        /// The zone the key belongs to.
        owner: Name,
        /// The key.
        key: DNSKEY,
    },
    /// A DS: trusts the key of `owner` whose digest it is.
    Ds {
        /// The zone the DS is for.
        owner: Name,
        /// The digest.
        ds: DS,
    },
}

/// Why a trust anchor file cannot be used. Says which line and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustAnchorError {
    /// The file is larger than [`MAX_ANCHOR_FILE`].
    #[error("trust anchor file is {0} bytes; the limit is 65536")]
    TooLarge(usize),
    /// More entries than [`MAX_ANCHORS`].
    #[error("trust anchor file has more than {MAX_ANCHORS} entries")]
    TooMany,
    /// No DNSKEY or DS record at all.
    #[error("trust anchor file has no DNSKEY or DS record")]
    Empty,
    /// A parenthesis opened and never closed.
    #[error("line {line}: '(' is never closed")]
    Unclosed {
        /// The line where the entry starts.
        line: usize,
    },
    /// An entry that cannot be parsed.
    #[error("line {line}: {detail}")]
    Syntax {
        /// The line where the entry starts (1-based).
        line: usize,
        /// What is wrong, and what was expected.
        detail: String,
    },
}

/// Parses a trust anchor file's text.
///
/// # Errors
///
/// A [`TrustAnchorError`] naming the line and what is wrong.
pub fn parse(text: &str) -> Result<Vec<AnchorEntry>, TrustAnchorError> {
    if text.len() > MAX_ANCHOR_FILE {
        return Err(TrustAnchorError::TooLarge(text.len()));
    }
    let mut entries = Vec::new();
    for (line, tokens) in logical_entries(text)? {
        if tokens.is_empty() {
            continue;
        }
        if entries.len() == MAX_ANCHORS {
            return Err(TrustAnchorError::TooMany);
        }
        entries.push(parse_entry(line, &tokens)?);
    }
    if entries.is_empty() {
        return Err(TrustAnchorError::Empty);
    }
    Ok(entries)
}

/// Splits the text into entries (joining parenthesised continuations), each with the line it
/// starts on and its tokens, comments removed.
fn logical_entries(text: &str) -> Result<Vec<(usize, Vec<String>)>, TrustAnchorError> {
    let mut out = Vec::new();
    let mut current: Option<(usize, Vec<String>)> = None;
    let mut depth = 0usize;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.split(';').next().unwrap_or("");
        let spaced = content.replace('(', " ( ").replace(')', " ) ");
        let entry = current.get_or_insert_with(|| (line, Vec::new()));
        for token in spaced.split_whitespace() {
            match token {
                "(" => depth += 1,
                ")" => {
                    depth = depth.checked_sub(1).ok_or(TrustAnchorError::Syntax {
                        line,
                        detail: "')' without '('".to_owned(),
                    })?;
                }
                other => entry.1.push(other.to_owned()),
            }
        }
        if depth == 0 {
            if let Some(done) = current.take() {
                out.push(done);
            }
        }
    }
    if let Some((line, _)) = current.filter(|_| depth > 0) {
        return Err(TrustAnchorError::Unclosed { line });
    }
    Ok(out)
}

fn parse_entry(line: usize, tokens: &[String]) -> Result<AnchorEntry, TrustAnchorError> {
    let syntax = |detail: String| TrustAnchorError::Syntax { line, detail };
    let mut rest = tokens.iter().map(String::as_str);
    let owner_text = rest
        .next()
        .ok_or_else(|| syntax("empty entry".to_owned()))?;
    let owner_fqdn = if owner_text.ends_with('.') {
        owner_text.to_owned()
    } else {
        format!("{owner_text}.")
    };
    let owner = Name::from_ascii(&owner_fqdn)
        .map_err(|e| syntax(format!("owner {owner_text:?} is not a domain name: {e}")))?
        .to_lowercase();

    // Optional TTL and class, in either order, then the type.
    let mut rtype = None;
    for token in rest.by_ref() {
        let upper = token.to_ascii_uppercase();
        if token.chars().all(|c| c.is_ascii_digit()) || upper == "IN" {
            continue;
        }
        rtype = Some(upper);
        break;
    }
    let rtype = rtype.ok_or_else(|| syntax("expected a DNSKEY or DS record".to_owned()))?;
    let fields: Vec<&str> = rest.collect();
    match rtype.as_str() {
        "DNSKEY" => parse_dnskey(&fields)
            .map(|key| AnchorEntry::Dnskey { owner, key })
            .map_err(syntax),
        "DS" => parse_ds(&fields)
            .map(|ds| AnchorEntry::Ds { owner, ds })
            .map_err(syntax),
        other => Err(syntax(format!(
            "record type {other} is not a trust anchor; expected DNSKEY or DS"
        ))),
    }
}

/// `flags protocol algorithm base64-key...` (RFC 4034 §2.2).
fn parse_dnskey(fields: &[&str]) -> Result<DNSKEY, String> {
    let [flags, protocol, algorithm, key @ ..] = fields else {
        return Err("DNSKEY needs flags, protocol, algorithm and key".to_owned());
    };
    let flags: u16 = flags
        .parse()
        .map_err(|_| format!("DNSKEY flags {flags:?} is not a number"))?;
    if *protocol != "3" {
        return Err(format!("DNSKEY protocol is {protocol:?}; it must be 3"));
    }
    let algorithm = number(algorithm, "DNSKEY algorithm")?;
    let key = data_encoding::BASE64
        .decode(key.concat().as_bytes())
        .map_err(|e| format!("DNSKEY key is not base64: {e}"))?;
    if key.is_empty() {
        return Err("DNSKEY key is empty".to_owned());
    }
    if flags & 0x0100 == 0 {
        return Err(format!(
            "DNSKEY flags {flags} lack the Zone Key bit (256); use 256 or 257"
        ));
    }
    Ok(DNSKEY::with_flags(
        flags,
        PublicKeyBuf::new(key, Algorithm::from_u8(algorithm)),
    ))
}

/// `key-tag algorithm digest-type hex-digest...` (RFC 4034 §5.3).
fn parse_ds(fields: &[&str]) -> Result<DS, String> {
    let [tag, algorithm, digest_type, digest @ ..] = fields else {
        return Err("DS needs key tag, algorithm, digest type and digest".to_owned());
    };
    let tag: u16 = tag
        .parse()
        .map_err(|_| format!("DS key tag {tag:?} is not a number"))?;
    let algorithm = number(algorithm, "DS algorithm")?;
    let digest_type = DigestType::from(number(digest_type, "DS digest type")?);
    let digest = data_encoding::HEXUPPER_PERMISSIVE
        .decode(digest.concat().to_ascii_uppercase().as_bytes())
        .map_err(|e| format!("DS digest is not hexadecimal: {e}"))?;
    let expected = match digest_type {
        DigestType::SHA1 => 20,
        DigestType::SHA256 => 32,
        DigestType::SHA384 => 48,
        _ => return Err(format!("DS digest type {digest_type:?} is not supported")),
    };
    if digest.len() != expected {
        return Err(format!(
            "DS digest is {} octets; digest type {} needs {expected}",
            digest.len(),
            u8::from(digest_type)
        ));
    }
    Ok(DS::new(
        tag,
        Algorithm::from_u8(algorithm),
        digest_type,
        digest,
    ))
}

fn number(text: &str, what: &str) -> Result<u8, String> {
    text.parse()
        .map_err(|_| format!("{what} {text:?} is not a number from 0 to 255"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT_KSK: &str = ". 172800 IN DNSKEY 257 3 8 AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU=";

    #[test]
    fn dane_dns_01_reads_the_iana_root_ksk_as_dnskey() {
        let entries = parse(ROOT_KSK).unwrap();
        let [AnchorEntry::Dnskey { owner, key }] = entries.as_slice() else {
            panic!("{entries:?}");
        };
        assert!(owner.is_root());
        assert_eq!(key.calculate_key_tag().unwrap(), 20326);
    }

    #[test]
    fn dane_dns_01_reads_a_multi_line_ds_with_comments() {
        let text = "; root KSK-2017\n. IN 3600 DS 20326 8 2 ( E06D44B80B8F1D39A95C0B0D7C65D08458E8 ; first half\n 80409BBC683457104237C7F8EC8D )\n";
        let entries = parse(text).unwrap();
        let [AnchorEntry::Ds { owner, ds }] = entries.as_slice() else {
            panic!("{entries:?}");
        };
        assert!(owner.is_root());
        assert_eq!(ds.key_tag(), 20326);
        assert_eq!(ds.digest().len(), 32);
    }

    #[test]
    fn dane_dns_01_errors_name_the_line() {
        let err = parse("\n\nexample. IN A 192.0.2.1\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: record type A is not a trust anchor; expected DNSKEY or DS"
        );
        let err = parse(". DS 1 13 2 abcd\n").unwrap_err();
        assert!(err.to_string().contains("needs 32"), "{err}");
        let err = parse(". DS 1 13 2 ( abcd\n").unwrap_err();
        assert_eq!(err, TrustAnchorError::Unclosed { line: 1 });
        assert_eq!(parse("; nothing\n").unwrap_err(), TrustAnchorError::Empty);
        let err = parse(". DNSKEY 1 3 13 AAAA").unwrap_err();
        assert!(err.to_string().contains("Zone Key"), "{err}");
        assert!(matches!(
            parse(&"x".repeat(MAX_ANCHOR_FILE + 1)),
            Err(TrustAnchorError::TooLarge(_))
        ));
    }

    #[test]
    fn dane_dns_01_arbitrary_text_never_panics() {
        for text in [
            "(",
            ")",
            ". ( ( )",
            "DS",
            ". IN",
            ". 3600",
            "\u{1f600} DS 1 2 3 4",
        ] {
            let _ = parse(text);
        }
    }
}
