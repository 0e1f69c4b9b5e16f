//! SMTP TLS Reporting (RFC 8460).
//!
//! - [`record`]: the `_smtp._tls` TXT record, its selection rules and its rendering (§3).
//! - [`report`]: the JSON aggregate report (§4).
//! - [`result_type`]: the `result-type` vocabulary (§4.3).

pub mod record;
pub mod report;
pub mod result_type;

pub use record::TlsRptRecord;
pub use report::Report;
pub use result_type::ResultType;
