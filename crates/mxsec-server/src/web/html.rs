//! HTML escaping. Every piece of text that did not come from this program's own string
//! literals (the domain typed by a user, banners, TXT records, certificate names, messages
//! that quote them) is written through [`Text`], so no input is ever reflected unescaped.

use std::fmt;

/// Text escaped for HTML element content and quoted attribute values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Text<'a>(pub(crate) &'a str);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(|c: char| {
            matches!(c, '&' | '<' | '>' | '"' | '\'') || c.is_control() && c != '\n'
        }) {
            f.write_str(&rest[..i])?;
            // `find` returned the index of a character, so one is there.
            let c = rest[i..].chars().next().unwrap_or(' ');
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                // Other control characters (NUL, escape, ...) are shown as a space.
                _ => f.write_str(" ")?,
            }
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// Escapes `text` for HTML.
pub(crate) fn escape(text: &str) -> String {
    Text(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\"\u{1b}[31m\0"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot; [31m "
        );
        assert_eq!(escape("plain ünïcode text"), "plain ünïcode text");
        assert_eq!(escape(""), "");
    }
}
