//! Socketmap request parsing on arbitrary payloads: no panic; a parsed request re-forms the
//! payload it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::postfix::socketmap::{SocketmapRequest, MAX_REQUEST_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = SocketmapRequest::parse(data) {
        assert!(data.len() <= MAX_REQUEST_LEN);
        assert!(!request.map().is_empty() && !request.map().contains(' '));
        assert_eq!(
            SocketmapRequest::payload(request.map(), request.raw_key()).as_bytes(),
            data
        );
    }
});
