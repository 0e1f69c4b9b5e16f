//! The domain list, read as a stream: one domain per line, of any length of list.

use futures::stream::{self, Stream};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The longest line kept whole. A domain name has at most 253 characters (RFC 1035 §2.3.4);
/// the margin leaves room for comments. A longer line is cut here and the rest of it skipped,
/// so that one line without a break cannot hold the whole input in memory.
pub const MAX_LINE_BYTES: u64 = 4096;

/// The domains of `reader`, one per line, as they are read: blank lines and `#` comments are
/// skipped, and surrounding white space trimmed. A read error ends the stream after it is
/// yielded.
pub fn lines<R>(reader: R) -> impl Stream<Item = std::io::Result<String>>
where
    R: AsyncBufRead + Unpin,
{
    stream::unfold(Some(reader), |state| async move {
        let mut reader = state?;
        loop {
            match read_line(&mut reader, MAX_LINE_BYTES).await {
                Ok(None) => return None,
                Ok(Some(line)) => {
                    if let Some(domain) = entry(&line) {
                        return Some((Ok(domain.to_owned()), Some(reader)));
                    }
                }
                Err(e) => return Some((Err(e), None)),
            }
        }
    })
}

/// One line, without its break and cut at `limit` bytes; `None` at the end of input.
pub(crate) async fn read_line<R>(reader: &mut R, limit: u64) -> std::io::Result<Option<String>>
where
    R: AsyncBufRead + Unpin,
{
    let mut buf = Vec::new();
    let n = (&mut *reader)
        .take(limit)
        .read_until(b'\n', &mut buf)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        // Cut: skip to the end of the line, a buffer at a time.
        loop {
            let available = reader.fill_buf().await?;
            if available.is_empty() {
                break;
            }
            match available.iter().position(|b| *b == b'\n') {
                Some(i) => {
                    reader.consume(i + 1);
                    break;
                }
                None => {
                    let len = available.len();
                    reader.consume(len);
                }
            }
        }
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// The domain on a line: what precedes any `#`, trimmed; `None` when that is empty.
fn entry(line: &str) -> Option<&str> {
    let kept = line.split('#').next().unwrap_or("").trim();
    (!kept.is_empty()).then_some(kept)
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;

    #[tokio::test]
    async fn domain_lists_skip_blank_lines_and_comments() {
        let text: &[u8] =
            b"a.example\n\n# all of b\nb.example  # the second\n  c.example\r\nd.example";
        let got: Vec<String> = lines(text).try_collect().await.unwrap();
        assert_eq!(got, ["a.example", "b.example", "c.example", "d.example"]);
    }

    #[tokio::test]
    async fn an_overlong_line_is_cut_and_the_next_line_read() {
        let mut text = vec![b'x'; 10_000];
        text.extend_from_slice(b"\nnext.example\n");
        let got: Vec<String> = lines(&text[..]).try_collect().await.unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), 4096);
        assert_eq!(got[1], "next.example");
    }
}
