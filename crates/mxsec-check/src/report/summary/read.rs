//! Reading a results file into a [`Summarizer`], a line at a time.

use tokio::io::AsyncBufRead;

use super::Summarizer;
use crate::scan::input::read_line;

/// The longest results line read whole. A report of a domain with many MX hosts and
/// addresses, each with its certificate chain, is tens of kilobytes; a longer line is no
/// report `mxsec check` wrote: cut short, it is no JSON object, and counts as unreadable.
const MAX_LINE_BYTES: u64 = 4 << 20;

/// Summarises the JSON-lines results of `mxsec check --json` ([`crate::report::json`]) as they
/// are read: memory holds one line (at most 4 MiB) and the counters, however
/// long the file.
///
/// # Errors
///
/// When reading fails.
pub async fn read<R>(mut reader: R, summary: &mut Summarizer) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin,
{
    while let Some(line) = read_line(&mut reader, MAX_LINE_BYTES).await? {
        summary.add_line(&line);
    }
    Ok(())
}
