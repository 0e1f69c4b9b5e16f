//! TLS-RPT reports as they arrive (a JSON file, gzip, or a whole e-mail with a MIME report
//! part) on arbitrary bytes: no panic, whatever the container, and any reports read can be
//! summarised.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::tlsrpt::ingest::{read, Container};
use mxsec_proto::tlsrpt::summary::summarise;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the container; 0 lets the content decide.
    let Some((choice, input)) = data.split_first() else {
        return;
    };
    let container = match choice % 4 {
        1 => Container::Json,
        2 => Container::Gzip,
        3 => Container::Email,
        _ => Container::sniff(input),
    };
    if let Ok(reports) = read(input, container) {
        let aggregate = summarise(&reports);
        assert!(aggregate.reports <= reports.len());
    }
});
