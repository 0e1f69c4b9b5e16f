//! TLSA records in presentation and wire form: no panic, both forms round-trip, and the
//! usability check (which parses certificates and keys given in full) accepts any record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::dane::tlsa::TlsaRecord;
use mxsec_proto::dane::usable::classify;

fuzz_target!(|data: &[u8]| {
    let mut records = Vec::new();
    if let Ok(record) = TlsaRecord::from_wire(data) {
        assert_eq!(record.to_wire(), data);
        records.push(record);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(record) = TlsaRecord::parse(text) {
            let again = TlsaRecord::parse(&record.to_string()).expect("rendered TLSA parses");
            assert_eq!(again, record);
            records.push(record);
        }
    }
    let _ = classify(&records);
});
