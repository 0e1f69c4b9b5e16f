//! The strength of a zone's DNSSEC: its key algorithms, RSA key sizes, DS digests, and the
//! size of a signed answer (CONFORMANCE.md §2.4b).
//!
//! Pure functions over the numbers and bytes of DNSKEY, DS and TLSA records, so that the
//! checker's rules are tested without DNS.
//!
//! | situation | answer |
//! |---|---|
//! | zone key of algorithm RSAMD5 (1), DSA (3), DSA-NSEC3-SHA1 (6) or ECC-GOST (12) | [`AlgorithmStatus::MustNotSign`] (RFC 8624 §3.1, DNSSEC-ALG-01, error) |
//! | zone key of algorithm RSASHA1 (5) or RSASHA1-NSEC3-SHA1 (7) | [`AlgorithmStatus::Sha1`] (RFC 8624 §3.1 "NOT RECOMMENDED", DNSSEC-ALG-01, warning) |
//! | any other algorithm | [`AlgorithmStatus::Acceptable`] |
//! | RSA zone key with a modulus under 2048 bits | [`is_short_rsa`] (RFC 8624 §3.1, NIST SP 800-57, DNSSEC-ALG-02) |
//! | DS RRset whose every digest is SHA-1 (1) | [`only_sha1_ds`] (RFC 8624 §3.3 "MUST NOT" rely on SHA-1 alone, DNSSEC-DS-01) |
//! | signed TLSA answer over 1232 octets | [`exceeds_udp_limit`] (RFC 6891 §6.2.5, DNS flag day 2020, DANE-TLSA-08) |

/// The largest DNS message a resolver can expect over UDP without fragmentation: the EDNS
/// buffer size of DNS flag day 2020 (RFC 6891 §6.2.5 leaves the value to operators).
pub const UDP_SAFE_SIZE: usize = 1232;

/// The smallest RSA modulus, in bits, not reported as weak (DNSSEC-ALG-02).
pub const MIN_RSA_BITS: usize = 2048;

/// What RFC 8624 §3.1 says of signing a zone with an algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlgorithmStatus {
    /// MUST NOT be used for signing: RSAMD5, DSA, DSA-NSEC3-SHA1, ECC-GOST.
    MustNotSign,
    /// NOT RECOMMENDED: RSA with SHA-1, which validators that refuse SHA-1 treat as insecure.
    Sha1,
    /// Allowed.
    Acceptable,
}

/// RFC 8624 §3.1's verdict on signing with DNSSEC algorithm number `algorithm`.
pub fn algorithm_status(algorithm: u8) -> AlgorithmStatus {
    match algorithm {
        1 | 3 | 6 | 12 => AlgorithmStatus::MustNotSign,
        5 | 7 => AlgorithmStatus::Sha1,
        _ => AlgorithmStatus::Acceptable,
    }
}

/// The mnemonic of a DNSSEC algorithm number (IANA registry), or its number.
pub fn algorithm_name(algorithm: u8) -> String {
    let name = match algorithm {
        1 => "RSAMD5",
        3 => "DSA",
        5 => "RSASHA1",
        6 => "DSA-NSEC3-SHA1",
        7 => "RSASHA1-NSEC3-SHA1",
        8 => "RSASHA256",
        10 => "RSASHA512",
        12 => "ECC-GOST",
        13 => "ECDSAP256SHA256",
        14 => "ECDSAP384SHA384",
        15 => "ED25519",
        16 => "ED448",
        other => return format!("algorithm {other}"),
    };
    name.to_owned()
}

/// Whether algorithm number `algorithm` is RSA (RSAMD5, RSASHA1, RSASHA1-NSEC3-SHA1,
/// RSASHA256, RSASHA512).
pub fn is_rsa(algorithm: u8) -> bool {
    matches!(algorithm, 1 | 5 | 7 | 8 | 10)
}

/// The modulus size in bits of an RSA DNSKEY public key (RFC 3110 §2: exponent length in one
/// octet, or zero and two octets, then the exponent, then the modulus), or `None` when the
/// bytes are not such a key.
pub fn rsa_modulus_bits(public_key: &[u8]) -> Option<usize> {
    let (&first, rest) = public_key.split_first()?;
    let (exponent_len, rest) = if first == 0 {
        let (len, rest) = rest.split_at_checked(2)?;
        (usize::from(u16::from_be_bytes([len[0], len[1]])), rest)
    } else {
        (usize::from(first), rest)
    };
    let modulus = rest.get(exponent_len..)?;
    let start = modulus.iter().position(|&b| b != 0)?;
    let leading = usize::try_from(modulus[start].leading_zeros()).ok()?;
    Some((modulus.len() - start) * 8 - leading)
}

/// Whether a zone key of `algorithm` with `public_key` is RSA with a modulus shorter than
/// [`MIN_RSA_BITS`] (DNSSEC-ALG-02); the size is returned when it is.
pub fn is_short_rsa(algorithm: u8, public_key: &[u8]) -> Option<usize> {
    if !is_rsa(algorithm) {
        return None;
    }
    rsa_modulus_bits(public_key).filter(|&bits| bits < MIN_RSA_BITS)
}

/// Whether a DS RRset with these digest types relies on SHA-1 (digest type 1) alone
/// (RFC 8624 §3.3, DNSSEC-DS-01). An empty RRset relies on nothing.
pub fn only_sha1_ds(digest_types: &[u8]) -> bool {
    !digest_types.is_empty() && digest_types.iter().all(|&t| t == 1)
}

/// The length of an RRSIG's signature field made by a key of `algorithm` whose public key is
/// `public_key` (RFC 3110 §3, RFC 6605 §4, RFC 8080 §4), or `None` for algorithms whose
/// signature size is not fixed by the key.
pub fn signature_len(algorithm: u8, public_key: &[u8]) -> Option<usize> {
    match algorithm {
        a if is_rsa(a) => rsa_modulus_bits(public_key).map(|bits| bits.div_ceil(8)),
        13 | 15 => Some(64),
        14 => Some(96),
        16 => Some(114),
        _ => None,
    }
}

/// The size in octets of the smallest DNS response that carries an RRset and its RRSIGs:
/// header (12), question, each record with a compressed owner name (2 + 10 + RDATA), each
/// RRSIG (2 + 10 + 18 + signer name + signature) and an OPT record (11) (RFC 1035 §4.1,
/// RFC 4034 §3.1, RFC 6891 §6.1.2). A server that adds authority or additional records sends
/// more.
///
/// `owner_wire_len` and `signer_wire_len` are the lengths of the names in wire format
/// ([`wire_len`]).
pub fn signed_answer_len(
    owner_wire_len: usize,
    rdata_lens: impl IntoIterator<Item = usize>,
    signer_wire_len: usize,
    signature_lens: impl IntoIterator<Item = usize>,
) -> usize {
    let header = 12;
    let question = owner_wire_len + 4;
    let records: usize = rdata_lens.into_iter().map(|len| 12 + len).sum();
    let rrsigs: usize = signature_lens
        .into_iter()
        .map(|len| 12 + 18 + signer_wire_len + len)
        .sum();
    let opt = 11;
    header + question + records + rrsigs + opt
}

/// The length of a domain name in DNS wire format, uncompressed: each label with its length
/// octet, and the root label (RFC 1035 §3.1). `name` is written without the trailing dot.
pub fn wire_len(name: &str) -> usize {
    if name.is_empty() {
        return 1;
    }
    name.split('.').map(|label| label.len() + 1).sum::<usize>() + 1
}

/// Whether a response of `len` octets exceeds [`UDP_SAFE_SIZE`] and so needs TCP at
/// resolvers that follow DNS flag day 2020 (DANE-TLSA-08).
pub fn exceeds_udp_limit(len: usize) -> bool {
    len > UDP_SAFE_SIZE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dnssec_alg_01_statuses_follow_rfc8624_table() {
        for a in [1, 3, 6, 12] {
            assert_eq!(algorithm_status(a), AlgorithmStatus::MustNotSign, "{a}");
        }
        for a in [5, 7] {
            assert_eq!(algorithm_status(a), AlgorithmStatus::Sha1, "{a}");
        }
        for a in [8, 10, 13, 14, 15, 16] {
            assert_eq!(algorithm_status(a), AlgorithmStatus::Acceptable, "{a}");
        }
        assert_eq!(algorithm_name(5), "RSASHA1");
        assert_eq!(algorithm_name(200), "algorithm 200");
    }

    fn rsa_key(exponent: &[u8], modulus: &[u8]) -> Vec<u8> {
        let mut key = vec![u8::try_from(exponent.len()).unwrap()];
        key.extend_from_slice(exponent);
        key.extend_from_slice(modulus);
        key
    }

    #[test]
    fn dnssec_alg_02_rsa_modulus_bits_from_rfc3110_key() {
        let mut modulus = vec![0xff; 128];
        assert_eq!(rsa_modulus_bits(&rsa_key(&[1, 0, 1], &modulus)), Some(1024));
        modulus[0] = 0x40;
        assert_eq!(rsa_modulus_bits(&rsa_key(&[1, 0, 1], &modulus)), Some(1023));
        // The long form of the exponent length (RFC 3110 §2).
        let mut long = vec![0, 0, 3, 1, 0, 1];
        long.extend_from_slice(&[0x80; 256]);
        assert_eq!(rsa_modulus_bits(&long), Some(2048));
        assert_eq!(rsa_modulus_bits(&[]), None);
        assert_eq!(rsa_modulus_bits(&[5, 1, 0]), None);
    }

    #[test]
    fn dnssec_alg_02_only_short_rsa_keys() {
        let short = rsa_key(&[1, 0, 1], &[0xc0; 128]);
        let long = rsa_key(&[1, 0, 1], &[0xc0; 256]);
        assert_eq!(is_short_rsa(8, &short), Some(1024));
        assert_eq!(is_short_rsa(5, &short), Some(1024));
        assert_eq!(is_short_rsa(8, &long), None);
        assert_eq!(is_short_rsa(13, &short), None, "not RSA");
    }

    #[test]
    fn dnssec_ds_01_sha1_alone_only() {
        assert!(only_sha1_ds(&[1]));
        assert!(only_sha1_ds(&[1, 1]));
        assert!(!only_sha1_ds(&[1, 2]));
        assert!(!only_sha1_ds(&[2]));
        assert!(!only_sha1_ds(&[]));
    }

    #[test]
    fn dane_tlsa_08_answer_size() {
        assert_eq!(wire_len(""), 1);
        assert_eq!(wire_len("_25._tcp.mx.example"), 21);
        // One `3 1 1` record (3 + 32 octets) signed with ECDSA P-256 by `example`.
        let len = signed_answer_len(21, [35], wire_len("example"), [64]);
        assert_eq!(len, 12 + 25 + 47 + (30 + 9 + 64) + 11);
        assert!(!exceeds_udp_limit(len));
        assert!(exceeds_udp_limit(1233));
        assert!(!exceeds_udp_limit(1232));
        assert_eq!(signature_len(13, &[]), Some(64));
        assert_eq!(signature_len(8, &rsa_key(&[3], &[0xff; 128])), Some(128));
        assert_eq!(signature_len(3, &[]), None);
    }
}
