//! The netstring decoder on arbitrary bytes: no panic, bounded, and consistent with the encoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::postfix::netstring::{encode, NetstringDecoder};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the maximum length, so small limits get exercised too.
    let (max_len, input) = match data.split_first() {
        Some((first, rest)) => (usize::from(*first) * 4, rest),
        None => (0, data),
    };
    let decoder = NetstringDecoder::new(max_len);
    let mut rest = input;
    while let Ok(Some(frame)) = decoder.decode(rest) {
        assert!(frame.payload.len() <= max_len);
        assert!(frame.consumed <= decoder.max_frame_len());
        // A valid netstring is canonical, so it re-encodes to exactly the octets consumed.
        assert_eq!(encode(frame.payload), &rest[..frame.consumed]);
        rest = &rest[frame.consumed..];
    }
    // Any payload survives a round trip.
    let wire = encode(input);
    let frame = NetstringDecoder::new(input.len())
        .decode(&wire)
        .expect("encoded netstring decodes")
        .expect("encoded netstring is complete");
    assert_eq!(frame.payload, input);
    assert_eq!(frame.consumed, wire.len());
});
