//! Splits a log read in chunks into lines, bounded, keeping the offset reached after each
//! complete line: the position a log follower stores so that a restart resumes exactly after
//! the last line counted.
//!
//! A line longer than [`MAX_LINE`](super::postfix_log::MAX_LINE) is skipped whole (its bytes
//! are not kept), and a line without its newline yet waits for the next chunk.

use super::postfix_log::MAX_LINE;

/// Lines out of chunks; see the module documentation.
#[derive(Clone, Debug, Default)]
pub struct LineSplitter {
    /// The kept bytes of the unfinished line (none once it is over [`MAX_LINE`]).
    pending: Vec<u8>,
    /// The length of the unfinished line so far, kept or not.
    unfinished: u64,
    /// The offset after the last complete line.
    offset: u64,
}

/// The result of feeding a chunk: the complete lines, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lines {
    /// Each complete line, without its newline; over-long lines are absent.
    pub lines: Vec<Vec<u8>>,
    /// Over-long lines skipped in this chunk.
    pub skipped: u64,
}

impl LineSplitter {
    /// A splitter whose next byte is at `offset` of the file, at a line start.
    pub fn at(offset: u64) -> Self {
        Self {
            offset,
            ..Self::default()
        }
    }

    /// The offset just after the last complete line: where reading resumes.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Takes the next bytes of the file; returns the lines they complete.
    pub fn feed(&mut self, chunk: &[u8]) -> Lines {
        let mut out = Lines::default();
        let mut rest = chunk;
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            let head = &rest[..i];
            self.take(head);
            if self.too_long() {
                out.skipped += 1;
            } else {
                out.lines.push(std::mem::take(&mut self.pending));
            }
            self.offset = self.offset.saturating_add(self.unfinished + 1);
            self.pending.clear();
            self.unfinished = 0;
            rest = &rest[i + 1..];
        }
        self.take(rest);
        out
    }

    /// Adds bytes of the unfinished line, keeping them while it is short enough.
    fn take(&mut self, bytes: &[u8]) {
        self.unfinished = self.unfinished.saturating_add(bytes.len() as u64);
        if self.too_long() {
            self.pending = Vec::new();
        } else {
            self.pending.extend_from_slice(bytes);
        }
    }

    fn too_long(&self) -> bool {
        self.unfinished > MAX_LINE as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_chunks_and_offsets_follow_complete_lines() {
        let mut s = LineSplitter::at(10);
        let out = s.feed(b"one\ntw");
        assert_eq!(out.lines, vec![b"one".to_vec()]);
        assert_eq!(s.offset(), 14);
        let out = s.feed(b"o\n\nthree");
        assert_eq!(out.lines, vec![b"two".to_vec(), Vec::new()]);
        assert_eq!(s.offset(), 19);
    }

    #[test]
    fn over_long_lines_are_skipped_whole_even_across_chunks() {
        let mut s = LineSplitter::default();
        let long = vec![b'x'; MAX_LINE];
        assert!(s.feed(&long).lines.is_empty());
        let out = s.feed(b"yy\nok\n");
        assert_eq!(out.lines, vec![b"ok".to_vec()]);
        assert_eq!(out.skipped, 1);
        assert_eq!(s.offset(), MAX_LINE as u64 + 3 + 3);
        // Exactly MAX_LINE bytes is still a line.
        let out = s.feed(&[long.as_slice(), b"\n"].concat());
        assert_eq!(out.lines.len(), 1);
    }
}
