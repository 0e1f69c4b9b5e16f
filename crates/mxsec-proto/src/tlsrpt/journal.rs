//! Postfix's log lines as systemd's journal holds them: one JSON object per line, as
//! `journalctl --output=json` prints each entry (systemd's "Journal JSON Format").
//!
//! An entry carries its position (`__CURSOR`, which `journalctl --after-cursor` resumes
//! after), its time in microseconds since the epoch (`__REALTIME_TIMESTAMP`), the program
//! name (`SYSLOG_IDENTIFIER`, `postfix/smtp`), the process id (`SYSLOG_PID`, else `_PID`) and
//! the text after `program[pid]: ` (`MESSAGE`). `journalctl` writes a field value as a
//! string, as an array of octets when it is not UTF-8, and as an array of such values when
//! the field occurs more than once in the entry; all these are read.
//!
//! [`parse_entry`] never panics and reads at most [`MAX_ENTRY`] octets; the message is
//! read by the same [`parse_message`] as a log file's lines.

use time::OffsetDateTime;

use super::postfix_log::{parse_message, LogLine, LogTime, Process, MAX_LINE};

/// The longest JSON line read, in octets, the bound of a log file's lines; longer ones are
/// skipped. Postfix's messages are at most 2 KiB (`MSG_LOGGER_RECLEN`), the journal's own
/// fields a few hundred octets.
pub const MAX_ENTRY: usize = MAX_LINE;

/// One journal entry: its position, and the log line when it is one that matters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    /// The entry's cursor: the position to resume after.
    pub cursor: String,
    /// The Postfix line it holds, when it says something about TLS.
    pub line: Option<LogLine>,
}

/// The fields read, each as `journalctl` writes it.
#[derive(serde::Deserialize)]
struct Fields {
    #[serde(rename = "__CURSOR")]
    cursor: String,
    #[serde(rename = "__REALTIME_TIMESTAMP", default)]
    realtime: Option<serde_json::Value>,
    #[serde(rename = "SYSLOG_IDENTIFIER", default)]
    identifier: Option<serde_json::Value>,
    #[serde(rename = "SYSLOG_PID", default)]
    syslog_pid: Option<serde_json::Value>,
    #[serde(rename = "_PID", default)]
    pid: Option<serde_json::Value>,
    #[serde(rename = "MESSAGE", default)]
    message: Option<serde_json::Value>,
}

/// Reads one line of `journalctl --output=json`; `None` when it is no journal entry (no
/// JSON object, no `__CURSOR`, or over [`MAX_ENTRY`] octets).
pub fn parse_entry(line: &[u8]) -> Option<JournalEntry> {
    if line.len() > MAX_ENTRY {
        return None;
    }
    let fields: Fields = serde_json::from_slice(line).ok()?;
    let line = log_line(&fields);
    Some(JournalEntry {
        cursor: fields.cursor,
        line,
    })
}

/// The Postfix line of an entry, if it is one that matters.
fn log_line(fields: &Fields) -> Option<LogLine> {
    let micros: i128 = text(fields.realtime.as_ref()?)?.parse().ok()?;
    let time = OffsetDateTime::from_unix_timestamp_nanos(micros.checked_mul(1000)?).ok()?;
    let program = text(fields.identifier.as_ref()?)?;
    if program.is_empty() || program.contains([' ', '[', ']']) {
        return None;
    }
    let pid = fields
        .syslog_pid
        .as_ref()
        .or(fields.pid.as_ref())
        .and_then(text)?
        .parse()
        .ok()?;
    let event = parse_message(&text(fields.message.as_ref()?)?)?;
    Some(LogLine {
        time: LogTime::Exact(time),
        process: Process { program, pid },
        event,
    })
}

/// A field's value as text: a string, an array of octets (lossily decoded), or the first of
/// several values.
fn text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(items) => {
            if items.iter().all(serde_json::Value::is_u64) {
                let bytes: Option<Vec<u8>> = items
                    .iter()
                    .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                    .collect();
                Some(String::from_utf8_lossy(&bytes?).into_owned())
            } else {
                items.first().and_then(text)
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
