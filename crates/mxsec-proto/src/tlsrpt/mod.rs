//! SMTP TLS Reporting (RFC 8460).

pub mod result_type;
