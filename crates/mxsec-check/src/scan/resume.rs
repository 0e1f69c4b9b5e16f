//! `--resume`: the domains a results file already holds, so that a scan that stopped carries
//! on where it was.

use std::collections::HashSet;

use serde::Deserialize;
use tokio::io::AsyncBufRead;

use super::input::read_line;

/// The longest results line read whole: a report of a domain with many MX hosts and addresses,
/// each with its certificate chain, is tens of kilobytes. A longer line is not a report this
/// program wrote, and is ignored.
const MAX_RESULT_LINE_BYTES: u64 = 4 << 20;

/// The inputs already answered: the `domain` of every report line and the `input` of every
/// failure line of a JSON-lines results file ([`crate::report::json`]). Lines that are not such
/// objects, such as a last line cut short when the scan was stopped, are ignored, so that
/// their domain is checked again.
#[derive(Clone, Debug, Default)]
pub struct Done {
    names: HashSet<String>,
}

/// The one field of a results line that says which input it answers.
#[derive(Deserialize)]
struct Line {
    domain: Option<String>,
    input: Option<String>,
}

impl Done {
    /// Reads a results file.
    ///
    /// # Errors
    ///
    /// When the file cannot be read.
    pub async fn read<R>(mut reader: R) -> std::io::Result<Self>
    where
        R: AsyncBufRead + Unpin,
    {
        let mut names = HashSet::new();
        while let Some(line) = read_line(&mut reader, MAX_RESULT_LINE_BYTES).await? {
            if let Ok(Line { domain, input }) = serde_json::from_str::<Line>(&line) {
                names.extend(domain.or(input));
            }
        }
        Ok(Self { names })
    }

    /// Whether the input `line` (a domain as read, or its normalised name) is answered.
    pub fn contains(&self, line: &str) -> bool {
        self.names.contains(line)
    }

    /// How many inputs are answered.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no input is answered.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_and_failures_count_and_a_cut_last_line_does_not() {
        let text: &[u8] = b"{\"schema_version\":1,\"domain\":\"a.example\",\"verdict\":{}}\n\
            {\"schema_version\":1,\"input\":\"not a name\",\"error\":\"bad\"}\n\
            {\"schema_version\":1,\"domain\":\"c.exa";
        let done = Done::read(text).await.unwrap();
        assert!(done.contains("a.example"));
        assert!(done.contains("not a name"));
        assert!(!done.contains("c.example"));
        assert_eq!(done.len(), 2);
    }
}
