//! The SMTP reply parser on arbitrary bytes, fed in arbitrary pieces: no panic, the same
//! replies whatever the piece size, every reply within the limits, and every reply re-encodes
//! to wire form that parses back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::smtp::ehlo::EhloResponse;
use mxsec_proto::smtp::reply::{
    Reply, ReplyError, ReplyParser, MAX_LINE_LEN, MAX_REPLY_LEN, MAX_REPLY_LINES,
};

fuzz_target!(|data: &[u8]| {
    let (piece, input) = match data.split_first() {
        Some((first, rest)) => (usize::from(*first).max(1), rest),
        None => return,
    };
    let whole = parse(input, input.len().max(1));
    let pieces = parse(input, piece);
    assert_eq!(whole, pieces);
    for reply in &whole.0 {
        assert!(!reply.lines().is_empty() && reply.lines().len() <= MAX_REPLY_LINES);
        let wire = reply.to_wire();
        match Reply::parse(&wire) {
            Ok(again) => assert_eq!(&again, reply),
            // Invalid UTF-8 became U+FFFD (three octets), which can push a line over a limit.
            Err(ReplyError::LineTooLong { .. } | ReplyError::ReplyTooLong { .. }) => {
                assert!(wire.len() > MAX_LINE_LEN || wire.len() > MAX_REPLY_LEN);
            }
            Err(other) => panic!("{reply:?} re-encoded to {wire:?}: {other}"),
        }
        if let Ok(ehlo) = EhloResponse::from_reply(reply) {
            let _ = (ehlo.offers_starttls(), ehlo.masked_starttls());
        }
    }
});

/// Feeds `input` in pieces of `piece` octets; returns the replies and the error, if any.
fn parse(input: &[u8], piece: usize) -> (Vec<Reply>, Option<ReplyError>) {
    let mut parser = ReplyParser::new();
    let mut replies = Vec::new();
    for chunk in input.chunks(piece) {
        let mut rest = chunk;
        while !rest.is_empty() {
            match parser.feed(rest) {
                Ok(progress) => {
                    assert!(progress.consumed <= rest.len());
                    // Only a completed reply stops the parser before the input ends.
                    assert!(progress.consumed == rest.len() || progress.reply.is_some());
                    rest = &rest[progress.consumed..];
                    replies.extend(progress.reply);
                }
                Err(err) => {
                    // The error is final.
                    assert_eq!(parser.feed(b"250 ok\r\n"), Err(err.clone()));
                    return (replies, Some(err));
                }
            }
        }
    }
    (replies, None)
}
