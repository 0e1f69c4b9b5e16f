//! Domain name and destination parsing on arbitrary text: no panic, normalised output within
//! the RFC 1035 limits, and normalisation is idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::name::{Destination, DomainName, MAX_LABEL_LEN, MAX_NAME_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(name) = DomainName::parse(text) {
        check_name(&name);
    }
    match Destination::parse(text) {
        Ok(Destination::Domain(name)) | Ok(Destination::Host { host: name, .. }) => {
            check_name(&name)
        }
        Ok(Destination::Address(_)) | Err(_) => {}
    }
});

fn check_name(name: &DomainName) {
    let text = name.as_str();
    assert!(!text.is_empty() && text.len() <= MAX_NAME_LEN);
    assert!(text.is_ascii() && !text.ends_with('.'));
    assert_eq!(text, text.to_ascii_lowercase());
    assert!(name
        .labels()
        .all(|l| !l.is_empty() && l.len() <= MAX_LABEL_LEN));
    assert_eq!(DomainName::parse(text).as_ref(), Ok(name));
    assert_eq!(DomainName::parse(&name.to_fqdn()).as_ref(), Ok(name));
}
