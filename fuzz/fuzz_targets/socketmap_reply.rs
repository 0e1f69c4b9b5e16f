//! Socketmap replies: parsing arbitrary payloads never panics, and rendering any reply, with
//! any text, stays within Postfix's 100000-octet limit and parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::postfix::socketmap::{SocketmapReply, MAX_REPLY_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(reply) = SocketmapReply::parse(data) {
        check_rendering(&reply);
    }
    let text = String::from_utf8_lossy(data).into_owned();
    for reply in [
        SocketmapReply::Ok(text.clone()),
        SocketmapReply::NotFound,
        SocketmapReply::Temp(text.clone()),
        SocketmapReply::Timeout(text.clone()),
        SocketmapReply::Perm(text),
    ] {
        check_rendering(&reply);
    }
});

fn check_rendering(reply: &SocketmapReply) {
    let payload = reply.to_payload();
    assert!(payload.len() <= MAX_REPLY_LEN);
    let parsed = SocketmapReply::parse(payload.as_bytes()).expect("rendered reply parses");
    match (reply, &parsed) {
        // Data that cannot be sent as it is turns into TEMP (never a downgrade).
        (SocketmapReply::Ok(_), SocketmapReply::Ok(_) | SocketmapReply::Temp(_)) => {}
        (SocketmapReply::Ok(_), other) => panic!("OK rendered as {other:?}"),
        (original, parsed) => {
            assert_eq!(
                std::mem::discriminant(original),
                std::mem::discriminant(parsed)
            );
        }
    }
}
