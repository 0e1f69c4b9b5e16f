//! DANE for SMTP (RFC 7672, with RFC 6698 and RFC 7671).

pub mod tlsa;
