//! The STARTTLS state machine driven by arbitrary server replies and arbitrary handshake
//! results: no panic, the dialogue always ends with an outcome, within a bounded number of
//! steps, and misplaced calls are refused without changing the state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::name::DomainName;
use mxsec_proto::smtp::client::{Client, Next};
use mxsec_proto::smtp::reply::{Reply, ReplyParser};

fuzz_target!(|data: &[u8]| {
    let (choices, wire) = match data {
        [a, b, rest @ ..] => ([*a, *b], rest),
        _ => return,
    };
    let mut replies = Vec::new();
    let mut parser = ReplyParser::new();
    let mut rest = wire;
    while let Ok(progress) = parser.feed(rest) {
        replies.extend(progress.reply);
        rest = &rest[progress.consumed..];
        if progress.consumed == 0 {
            break;
        }
    }
    let mut replies = replies.into_iter();
    let Ok(name) = DomainName::parse("probe.example") else {
        return;
    };
    let mut client = Client::new(name);
    // Banner, EHLO, STARTTLS, EHLO, QUIT, plus the handshake: the dialogue never takes more.
    for step in 0..16 {
        let next = client.poll();
        // Misplaced calls are refused, and the state stays as it was.
        if choices[1] & (1 << (step % 8)) != 0 {
            if matches!(next, Next::StartTls | Next::Done) {
                let stray = Reply::parse(b"250 stray\r\n").expect("valid reply");
                assert!(client.handle_reply(stray).is_err());
            }
            if next != Next::StartTls {
                assert!(client.handle_tls_established().is_err());
            }
            assert_eq!(client.poll(), next_after(&next));
        }
        match next {
            Next::Send(_) => {}
            Next::ReadReply => match replies.next() {
                Some(reply) => client.handle_reply(reply).expect("a reply was awaited"),
                None => client.handle_closed(),
            },
            Next::StartTls => match choices[0] % 4 {
                0 => client.handle_tls_established().expect("in handshake"),
                1 => client.handle_tls_insufficient().expect("in handshake"),
                2 => client.handle_tls_failed().expect("in handshake"),
                _ => client.handle_closed(),
            },
            Next::Done => {
                let outcome = client.outcome().expect("an ended dialogue has an outcome");
                let _ = (
                    outcome.result_type(),
                    outcome.is_masked(),
                    outcome.starttls_advertised_after_tls(),
                );
                return;
            }
        }
    }
    panic!("the dialogue did not end within 16 steps");
});

/// What polling again returns after `next` was returned: a command is handed out once.
fn next_after(next: &Next) -> Next {
    match next {
        Next::Send(_) => Next::ReadReply,
        other => other.clone(),
    }
}
