//! TLS-RPT TXT records (RFC 8460 §3) on arbitrary text and arbitrary RRsets: no panic, and a
//! parsed record renders to text that parses back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::tlsrpt::record::ReportUri;
use mxsec_proto::tlsrpt::TlsRptRecord;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(parsed) = TlsRptRecord::parse(text) {
            let again =
                TlsRptRecord::parse(&parsed.value.to_string()).expect("rendered record parses");
            assert_eq!(again.value, parsed.value);
        }
        if let Ok(uri) = ReportUri::parse(text) {
            assert_eq!(ReportUri::parse(&uri.to_string()).as_ref(), Ok(&uri));
        }
    }
    // Records separated by newlines, each made of strings separated by NUL.
    let rrset: Vec<Vec<Vec<u8>>> = data
        .split(|b| *b == b'\n')
        .map(|record| record.split(|b| *b == 0).map(<[u8]>::to_vec).collect())
        .collect();
    let _ = TlsRptRecord::from_txt_rrset(&rrset);
});
