//! SMTP TLS Reporting (RFC 8460).
//!
//! - [`record`]: the `_smtp._tls` TXT record, its selection rules and its rendering (§3).
//! - [`report`]: the JSON aggregate report (§4).
//! - [`ingest`]: reports as files (`.json`, `.json.gz`) and e-mail messages (§5).
//! - [`result_type`]: the `result-type` vocabulary (§4.3).
//! - [`aggregate`]: one day's report for one policy domain, from the policies applied and
//!   the sessions seen; the report file name.
//! - [`answered`]: the policies a policy server answered, as TLS-RPT records them.
//! - [`lines`]: a log read in chunks, split into bounded lines with the offset reached.
//! - [`postfix_log`]: Postfix `smtp(8)` log lines about TLS sessions.
//! - [`journal`]: the same lines as `journalctl --output=json` entries, with their cursor.
//! - [`sessions`]: those lines joined into sessions with their recipient domain.
//! - [`datagram`]: the datagrams libtlsrpt (Postfix ≥ 3.10) sends.
//! - [`delivery`]: the gzip body, mail subject, send time and retry schedule of a report.
//! - [`day_record`]: what a store keeps per policy domain and day until the report is sent.
//! - [`outbox`]: where the delivery of a day's report stands: pending, sent, given up.
//! - [`summary`]: what a domain owner learns from the reports received: sessions per domain and
//!   day, failures by result type, MX and sending IP, and what to fix first.

pub mod aggregate;
pub mod answered;
pub mod datagram;
pub mod day_record;
pub mod delivery;
pub mod ingest;
pub mod journal;
pub mod lines;
pub mod outbox;
pub mod postfix_log;
pub mod record;
pub mod report;
pub mod result_type;
pub mod sessions;
pub mod summary;

pub use record::TlsRptRecord;
pub use report::Report;
pub use result_type::ResultType;
