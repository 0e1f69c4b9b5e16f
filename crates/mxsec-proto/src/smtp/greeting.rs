//! The server's greeting (RFC 5321 §4.2, §4.3.1), kept whole for reports, within fixed bounds.
//!
//! A greeting may span several lines (`220-mx.example.net ESMTP` then `220 ready`), and the
//! lines after the first are where operators and middleboxes say the most: a policy notice,
//! a load balancer's name, the asterisks of a masking firewall (SCENARIOS.md T-01). The reply
//! parser already bounds a reply to 64 KiB; a report keeps far less.
//!
//! | greeting | kept |
//! |---|---|
//! | up to [`MAX_GREETING_LINES`] lines | every line, as sent |
//! | more lines | the first [`MAX_GREETING_LINES`]; [`Greeting::omitted_lines`] counts the rest |
//! | a line longer than [`MAX_GREETING_LINE_LEN`] octets | cut at a character boundary at or below the limit, marked truncated |
//!
//! The text is untrusted: escape it before showing it.

use super::reply::{Reply, ReplyCode};

/// The most lines of a greeting kept.
pub const MAX_GREETING_LINES: usize = 16;

/// The most octets of one greeting line kept: RFC 5321 §4.5.3.1.5's limit for a whole reply
/// line, which a line's text alone therefore never needs to exceed.
pub const MAX_GREETING_LINE_LEN: usize = 512;

/// A server's greeting, bounded for reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Greeting {
    code: ReplyCode,
    lines: Vec<String>,
    omitted_lines: usize,
    truncated: bool,
}

impl Greeting {
    /// The greeting `reply`, within the bounds of this module.
    pub fn from_reply(reply: &Reply) -> Self {
        let all = reply.lines();
        let mut truncated = false;
        let lines = all
            .iter()
            .take(MAX_GREETING_LINES)
            .map(|line| {
                let cut = bounded(line);
                truncated |= cut.len() < line.len();
                cut.to_owned()
            })
            .collect();
        let omitted_lines = all.len().saturating_sub(MAX_GREETING_LINES);
        Self {
            code: reply.code(),
            lines,
            omitted_lines,
            truncated: truncated || omitted_lines > 0,
        }
    }

    /// The reply code: `220` for a server ready to talk, `554` or `421` for one that refuses.
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The text of each line kept, after the code and its separator; never empty.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// How many lines after the first [`MAX_GREETING_LINES`] were dropped.
    pub fn omitted_lines(&self) -> usize {
        self.omitted_lines
    }

    /// Whether anything was dropped: lines, or the end of a line too long.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

/// `line` cut to at most [`MAX_GREETING_LINE_LEN`] octets, at a character boundary.
fn bounded(line: &str) -> &str {
    if line.len() <= MAX_GREETING_LINE_LEN {
        return line;
    }
    let mut end = MAX_GREETING_LINE_LEN;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn greeting(wire: &str) -> Greeting {
        Greeting::from_reply(&Reply::parse(wire.as_bytes()).unwrap())
    }

    #[test]
    fn stt_01_rfc5321_4_2_multi_line_greeting_is_kept_whole() {
        let g = greeting("220-mx.example.net ESMTP\r\n220-No UBE\r\n220 ready\r\n");
        assert_eq!(g.code().get(), 220);
        assert_eq!(g.lines(), ["mx.example.net ESMTP", "No UBE", "ready"]);
        assert_eq!(g.omitted_lines(), 0);
        assert!(!g.is_truncated());
    }

    #[test]
    fn stt_01_rfc5321_4_3_1_refusing_greeting_keeps_its_code() {
        let g = greeting("554 5.7.1 no service\r\n");
        assert_eq!(g.code().get(), 554);
        assert_eq!(g.lines(), ["5.7.1 no service"]);
    }

    #[test]
    fn stt_01_greeting_with_too_many_lines_keeps_the_first_and_counts_the_rest() {
        let mut wire = String::new();
        for i in 0..40 {
            wire.push_str(&format!("220-line {i}\r\n"));
        }
        wire.push_str("220 last\r\n");
        let g = greeting(&wire);
        assert_eq!(g.lines().len(), MAX_GREETING_LINES);
        assert_eq!(g.lines()[0], "line 0");
        assert_eq!(g.omitted_lines(), 41 - MAX_GREETING_LINES);
        assert!(g.is_truncated());
    }

    #[test]
    fn stt_01_rfc5321_4_5_3_1_5_long_line_is_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_GREETING_LINE_LEN);
        let g = greeting(&format!("220 {long}\r\n"));
        let kept = &g.lines()[0];
        assert!(kept.len() <= MAX_GREETING_LINE_LEN);
        assert!(kept.len() > MAX_GREETING_LINE_LEN - 2);
        assert!(kept.chars().all(|c| c == 'é'));
        assert!(g.is_truncated());
        assert_eq!(g.omitted_lines(), 0);
    }
}
