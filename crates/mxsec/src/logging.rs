//! Logs, through `tracing`, on stderr: terse for the commands, and for the daemon in a form
//! journald reads well.
//!
//! Under systemd (`JOURNAL_STREAM` is set) each line starts with its syslog priority in the
//! `<N>` form of `sd-daemon(3)`, which journald turns into the entry's priority, and carries
//! no timestamp or colour, which journald adds or does not need. Elsewhere lines have an RFC
//! 3339 timestamp and the level. The default level is `info`; `-v` raises it, and `MXSEC_LOG`
//! (an `EnvFilter` directive such as `mxsec=debug`) overrides both.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Installs the log subscriber of every command but the daemon: warnings only by default,
/// without hickory's.
pub(crate) fn init(verbose: u8) {
    // hickory logs every bogus answer at WARN; mxsec reports those itself, as findings.
    let default = match verbose {
        0 => "warn,hickory_net=error,hickory_proto=error,hickory_resolver=error",
        1 => "info,hickory_net=warn,hickory_proto=warn,hickory_resolver=warn",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("MXSEC_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Installs the daemon's log subscriber.
pub(crate) fn init_daemon(verbose: u8) {
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("MXSEC_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.event_format(Journald).init();
    } else {
        builder.with_ansi(false).init();
    }
}

/// `<priority>message key=value ...`, one line per event (`sd-daemon(3)`).
struct Journald;

impl<S, N> FormatEvent<S, N> for Journald
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "<{}>", priority(*event.metadata().level()))?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// The syslog priority of a level: error 3, warning 4, info 6, debug 7.
fn priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_priorities() {
        assert_eq!(priority(Level::ERROR), 3);
        assert_eq!(priority(Level::WARN), 4);
        assert_eq!(priority(Level::INFO), 6);
        assert_eq!(priority(Level::DEBUG), 7);
        assert_eq!(priority(Level::TRACE), 7);
    }
}
