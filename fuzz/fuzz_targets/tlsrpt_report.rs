//! TLS-RPT JSON reports (RFC 8460 §4) on arbitrary bytes: no panic, and a report that parses
//! serialises to JSON that parses back to the same report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::tlsrpt::Report;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = Report::from_json(data) {
        let json = serde_json::to_vec(&report).expect("a report serialises");
        let again = Report::from_json(&json).expect("a serialised report parses");
        assert_eq!(again, report);
    }
});
