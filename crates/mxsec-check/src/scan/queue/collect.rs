//! The collector: every result of the queue, in the order they were written, until every
//! domain of the closed queue has its result.

use futures::stream::{self, Stream};
use redis::aio::ConnectionManager;

use super::{field, millis, redis_error, Entry, Queue, QueueError, BLOCK};

/// How many results one read takes.
const READ_COUNT: usize = 256;

/// Where the collector is.
struct Cursor {
    queue: Queue,
    reader: ConnectionManager,
    /// The id of the last result read (`0`: none yet).
    last: String,
    /// Results read so far.
    seen: u64,
    /// Results read and not yet yielded.
    pending: std::vec::IntoIter<String>,
}

impl Queue {
    /// Every result of the queue as one JSON line each (without the line break), from the
    /// first written, waiting for new ones until the queue is closed and as many results
    /// were read as domains were enqueued. A second collector reads the same results again.
    ///
    /// # Errors
    ///
    /// Connecting for the blocking reads fails with [`QueueError::Redis`]; a later Redis
    /// failure is yielded and ends the stream.
    pub async fn collect(
        &self,
    ) -> Result<impl Stream<Item = Result<String, QueueError>>, QueueError> {
        let cursor = Cursor {
            queue: self.clone(),
            reader: self.blocking_connection().await?,
            last: String::from("0"),
            seen: 0,
            pending: Vec::new().into_iter(),
        };
        Ok(stream::try_unfold(cursor, |mut cursor| async move {
            loop {
                if let Some(line) = cursor.pending.next() {
                    return Ok(Some((line, cursor)));
                }
                let state = cursor.queue.state().await?;
                if state.closed && cursor.seen >= state.enqueued {
                    return Ok(None);
                }
                let entries = cursor.read().await?;
                if let Some((id, _)) = entries.last() {
                    cursor.last.clone_from(id);
                }
                cursor.seen += u64::try_from(entries.len()).unwrap_or(u64::MAX);
                cursor.pending = entries
                    .into_iter()
                    .filter_map(|(_, fields)| field(&fields, "result").map(str::to_owned))
                    .collect::<Vec<_>>()
                    .into_iter();
            }
        }))
    }
}

impl Cursor {
    /// The next results after `last`, waiting up to [`BLOCK`] for one.
    async fn read(&mut self) -> Result<Vec<Entry>, QueueError> {
        let reply: Option<Vec<(String, Vec<Entry>)>> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(READ_COUNT)
            .arg("BLOCK")
            .arg(millis(BLOCK))
            .arg("STREAMS")
            .arg(&self.queue.keys.results)
            .arg(&self.last)
            .query_async(&mut self.reader)
            .await
            .map_err(redis_error("XREAD"))?;
        Ok(reply
            .into_iter()
            .flatten()
            .flat_map(|(_, entries)| entries)
            .collect())
    }
}
