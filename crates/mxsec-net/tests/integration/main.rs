//! mxsec-net against the testbed on loopback: one test binary, a module per topic.

mod dane;
mod faults;
mod pkix;
mod ssrf;
mod starttls;
mod support;
mod tlsrpt_deliver;
mod tlsrpt_send;
mod verifier;
