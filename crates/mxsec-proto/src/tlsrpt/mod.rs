//! SMTP TLS Reporting (RFC 8460).
//!
//! - [`record`]: the `_smtp._tls` TXT record, its selection rules and its rendering (§3).
//! - [`report`]: the JSON aggregate report (§4).
//! - [`ingest`]: reports as files (`.json`, `.json.gz`) and e-mail messages (§5).
//! - [`result_type`]: the `result-type` vocabulary (§4.3).
//! - [`summary`]: what a domain owner learns from the reports received: sessions per domain and
//!   day, failures by result type, MX and sending IP, and what to fix first.

pub mod ingest;
pub mod record;
pub mod report;
pub mod result_type;
pub mod summary;

pub use record::TlsRptRecord;
pub use report::Report;
pub use result_type::ResultType;
