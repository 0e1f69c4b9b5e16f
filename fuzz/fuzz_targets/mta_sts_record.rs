//! MTA-STS TXT records (RFC 8461 §3.1) on arbitrary text and arbitrary RRsets: no panic, and a
//! parsed record renders to text that parses back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::mta_sts::StsRecord;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(parsed) = StsRecord::parse(text) {
            let again =
                StsRecord::parse(&parsed.value.to_string()).expect("rendered record parses");
            assert_eq!(again.value, parsed.value);
        }
    }
    // Records separated by newlines, each made of strings separated by NUL.
    let rrset: Vec<Vec<Vec<u8>>> = data
        .split(|b| *b == b'\n')
        .map(|record| record.split(|b| *b == 0).map(<[u8]>::to_vec).collect())
        .collect();
    let _ = StsRecord::from_txt_rrset(&rrset);
});
