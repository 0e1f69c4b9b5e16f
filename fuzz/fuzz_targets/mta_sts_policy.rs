//! MTA-STS policy files (RFC 8461 §3.2) on arbitrary bodies: no panic; a parsed policy's
//! canonical text parses back to the same policy; its patterns render and parse back; and
//! matching any host never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::mta_sts::{MxPattern, Policy};
use mxsec_proto::name::DomainName;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = Policy::parse(data) {
        let policy = parsed.value;
        let again = Policy::parse(policy.to_text().as_bytes()).expect("canonical policy parses");
        assert_eq!(again.value, policy);
        for pattern in &policy.mx {
            assert_eq!(MxPattern::parse(&pattern.to_string()).as_ref(), Ok(pattern));
        }
    }
    // The first line as a pattern, the second as a host.
    let text = String::from_utf8_lossy(data);
    let mut lines = text.splitn(3, '\n');
    if let (Some(pattern), Some(host)) = (lines.next(), lines.next()) {
        if let (Ok(pattern), Ok(host)) = (MxPattern::parse(pattern), DomainName::parse(host)) {
            let _ = pattern.matches(&host);
        }
    }
});
