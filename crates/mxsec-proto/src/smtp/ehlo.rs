//! The EHLO response and its service extension keywords (RFC 5321 §4.1.1.1).
//!
//! ```text
//! ehlo-ok-rsp  = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
//!                / ( "250-" Domain [ SP ehlo-greet ] CRLF
//!                    *( "250-" ehlo-line CRLF )
//!                    "250" SP ehlo-line CRLF )
//! ehlo-line    = ehlo-keyword *( SP ehlo-param )
//! ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//! ehlo-param   = 1*(%d33-126)
//! ```
//!
//! Keywords are case-insensitive (RFC 5321 §2.4); mxsec stores them in upper case.

use super::reply::{Reply, ReplyCode};

/// The keyword of the STARTTLS extension (RFC 3207 §4, STT-01).
pub const STARTTLS: &str = "STARTTLS";

/// A positive (`250`) reply to EHLO, split into the greeting and the extensions.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EhloResponse {
    greeting: String,
    extensions: Vec<Extension>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unparsed: Vec<String>,
}

/// One service extension line of an EHLO response: a keyword and its parameters.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Extension {
    keyword: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    params: Vec<String>,
}

/// Why a reply cannot be read as a positive EHLO response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EhloError {
    /// The reply code is not `250` (RFC 5321 §4.1.1.1): EHLO was refused.
    #[error("EHLO was answered {0}, not 250")]
    NotAccepted(ReplyCode),
}

impl EhloResponse {
    /// Reads a reply to EHLO.
    ///
    /// Lines after the first that are not `keyword *(SP param)` are kept apart, in
    /// [`unparsed`](Self::unparsed), rather than failing the whole response.
    ///
    /// # Errors
    ///
    /// [`EhloError::NotAccepted`] when the code is not `250`.
    pub fn from_reply(reply: &Reply) -> Result<Self, EhloError> {
        if reply.code().get() != 250 {
            return Err(EhloError::NotAccepted(reply.code()));
        }
        let (greeting, lines) = match reply.lines().split_first() {
            Some((first, rest)) => (first.clone(), rest),
            None => (String::new(), &[][..]),
        };
        let mut extensions = Vec::new();
        let mut unparsed = Vec::new();
        for line in lines {
            match Extension::parse(line) {
                Some(ext) => extensions.push(ext),
                None => unparsed.push(line.clone()),
            }
        }
        Ok(Self {
            greeting,
            extensions,
            unparsed,
        })
    }

    /// The first line: the server's domain and optional greeting text.
    pub fn greeting(&self) -> &str {
        &self.greeting
    }

    /// The extensions, in the order advertised.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// Lines that do not have the syntax of an extension line (e.g. `********`).
    pub fn unparsed(&self) -> &[String] {
        &self.unparsed
    }

    /// The extension with this keyword (compared without regard to case), if advertised.
    pub fn extension(&self, keyword: &str) -> Option<&Extension> {
        self.extensions
            .iter()
            .find(|e| e.keyword.eq_ignore_ascii_case(keyword))
    }

    /// Whether the extension with this keyword (compared without regard to case) is advertised.
    pub fn has(&self, keyword: &str) -> bool {
        self.extension(keyword).is_some()
    }

    /// Whether `STARTTLS` is advertised (RFC 3207 §4, STT-01).
    pub fn offers_starttls(&self) -> bool {
        self.has(STARTTLS)
    }

    /// A keyword that looks like `STARTTLS` masked by a middlebox, such as `XXXXXXXA`.
    ///
    /// SCENARIOS.md T-01, STT-05: ESMTP inspection in Cisco PIX/ASA firewalls overwrites
    /// keywords it does not know with a string of the same length, so that TCP sequence numbers
    /// stay valid: `STARTTLS` becomes `XXXXXXXA`. A token counts as masked when it has the
    /// length of `STARTTLS` and its first seven characters are all `X` (any case) or all `*`.
    /// This is a hint, not proof: [`super::client`] sends `STARTTLS` anyway to confirm.
    pub fn masked_starttls(&self) -> Option<&str> {
        let keywords = self.extensions.iter().map(|e| e.keyword.as_str());
        let unparsed = self
            .unparsed
            .iter()
            .filter_map(|l| l.split_ascii_whitespace().next());
        keywords.chain(unparsed).find(|t| is_masked_starttls(t))
    }
}

impl Extension {
    /// Parses one extension line, `keyword *(SP param)`; `None` if it is not one.
    ///
    /// Runs of spaces or tabs are accepted between words, as some servers send them.
    pub fn parse(line: &str) -> Option<Self> {
        let mut words = line.split_ascii_whitespace();
        let keyword = words.next()?;
        let valid_keyword = keyword
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
            && keyword
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid_keyword {
            return None;
        }
        let params: Vec<String> = words.map(str::to_owned).collect();
        if !params
            .iter()
            .all(|p| p.bytes().all(|b| (33..=126).contains(&b)))
        {
            return None;
        }
        Some(Self {
            keyword: keyword.to_ascii_uppercase(),
            params,
        })
    }

    /// The keyword, in upper case.
    pub fn keyword(&self) -> &str {
        &self.keyword
    }

    /// The parameters, as sent.
    pub fn params(&self) -> &[String] {
        &self.params
    }
}

/// Whether a keyword looks like `STARTTLS` overwritten by a middlebox (see
/// [`EhloResponse::masked_starttls`]).
pub fn is_masked_starttls(token: &str) -> bool {
    let bytes = token.as_bytes();
    let Some((first, rest)) = bytes.split_first() else {
        return false;
    };
    let mask = first.to_ascii_uppercase();
    bytes.len() == STARTTLS.len()
        && (mask == b'X' || mask == b'*')
        && rest
            .get(..STARTTLS.len() - 2)
            .is_some_and(|middle| middle.iter().all(|b| b.to_ascii_uppercase() == mask))
        && rest
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ehlo(wire: &str) -> EhloResponse {
        EhloResponse::from_reply(&Reply::parse(wire.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn stt_01_starttls_keyword_found_case_insensitively() {
        let r =
            ehlo("250-mx.example.net Hi\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250 starttls\r\n");
        assert_eq!(r.greeting(), "mx.example.net Hi");
        assert!(r.offers_starttls());
        assert!(r.has("StartTLS"));
        assert_eq!(r.extension("size").unwrap().params(), ["10240000"]);
        assert_eq!(r.extension("starttls").unwrap().keyword(), "STARTTLS");
        assert_eq!(r.masked_starttls(), None);
    }

    #[test]
    fn stt_01_single_line_ehlo_has_no_extensions() {
        let r = ehlo("250 mx.example.net\r\n");
        assert!(r.extensions().is_empty());
        assert!(!r.offers_starttls());
    }

    #[test]
    fn smtp_ehlo_params_and_unparsed_lines() {
        let r = ehlo("250-mx\r\n250-AUTH PLAIN  LOGIN\r\n250-AUTH=LOGIN\r\n250-\r\n250 -X\r\n");
        assert_eq!(r.extension("auth").unwrap().params(), ["PLAIN", "LOGIN"]);
        assert_eq!(r.unparsed(), ["AUTH=LOGIN", "", "-X"]);
    }

    #[test]
    fn smtp_ehlo_refused_is_an_error() {
        let reply = Reply::parse(b"502 5.5.2 Error: command not recognized\r\n").unwrap();
        assert_eq!(
            EhloResponse::from_reply(&reply),
            Err(EhloError::NotAccepted(reply.code()))
        );
    }

    #[test]
    fn t_01_masked_keyword_detected() {
        let r = ehlo("250-mx.example.net\r\n250-PIPELINING\r\n250 XXXXXXXA\r\n");
        assert!(!r.offers_starttls());
        assert_eq!(r.masked_starttls(), Some("XXXXXXXA"));
        let r = ehlo("250-mx.example.net\r\n250 ********\r\n");
        assert_eq!(r.masked_starttls(), Some("********"));
    }

    #[test]
    fn t_01_mask_shape() {
        for masked in [
            "XXXXXXXA", "XXXXXXXB", "xxxxxxxa", "XXXXXXXX", "********", "*******A", "XXXXXXX9",
        ] {
            assert!(is_masked_starttls(masked), "{masked}");
        }
        for plain in [
            "",
            "X",
            "XXXXXXA",
            "XXXXXXXXA",
            "CHUNKING",
            "STARTTLS",
            "XXXXXX*A",
            "XXXXXXX-",
            "XXXXXXXé",
        ] {
            assert!(!is_masked_starttls(plain), "{plain}");
        }
    }
}
