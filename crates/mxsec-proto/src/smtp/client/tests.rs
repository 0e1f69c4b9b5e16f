//! Every path of the STARTTLS dialogue, driven in memory with scripted server replies.

use super::*;

/// What the scripted TLS handshake does.
#[derive(Clone, Copy)]
enum Handshake {
    Established,
    Insufficient,
    Failed,
}

/// Runs the client against `replies` (the server's side, in order; the connection closes when
/// they run out) and returns the commands sent (`<TLS>` marks the handshake) and the outcome.
fn drive(replies: &[&str], handshake: Handshake) -> (Vec<String>, Outcome) {
    let mut client = Client::new(DomainName::parse("probe.example").unwrap());
    let mut replies = replies.iter();
    let mut sent = Vec::new();
    for _ in 0..64 {
        match client.poll() {
            Next::Send(command) => sent.push(command.to_string()),
            Next::ReadReply => match replies.next() {
                Some(wire) => client
                    .handle_reply(Reply::parse(wire.as_bytes()).unwrap())
                    .unwrap(),
                None => client.handle_closed(),
            },
            Next::StartTls => {
                sent.push("<TLS>".to_owned());
                match handshake {
                    Handshake::Established => client.handle_tls_established(),
                    Handshake::Insufficient => client.handle_tls_insufficient(),
                    Handshake::Failed => client.handle_tls_failed(),
                }
                .unwrap();
            }
            Next::Done => {
                assert_eq!(replies.next(), None, "script not used up");
                return (sent, client.into_outcome().unwrap());
            }
        }
    }
    panic!("the dialogue did not end");
}

const BANNER: &str = "220 mx.example.net ESMTP\r\n";
const EHLO_STARTTLS: &str = "250-mx.example.net\r\n250-PIPELINING\r\n250 STARTTLS\r\n";
const EHLO_PLAIN: &str = "250-mx.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
const EHLO_MASKED: &str = "250-mx.example.net\r\n250-PIPELINING\r\n250 XXXXXXXA\r\n";
const GO_AHEAD: &str = "220 2.0.0 Ready to start TLS\r\n";
const EHLO_TLS: &str = "250-mx.example.net\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n";
const BYE: &str = "221 2.0.0 Bye\r\n";

fn code(reply: &Reply) -> u16 {
    reply.code().get()
}

#[test]
fn stt_01_starttls_offered_and_accepted() {
    let (sent, outcome) = drive(
        &[BANNER, EHLO_STARTTLS, GO_AHEAD, EHLO_TLS, BYE],
        Handshake::Established,
    );
    assert_eq!(
        sent,
        [
            "EHLO probe.example",
            "STARTTLS",
            "<TLS>",
            "EHLO probe.example",
            "QUIT"
        ]
    );
    let Outcome::Tls {
        advertisement,
        after_tls: AfterTls::Ehlo { ehlo },
        ..
    } = &outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(advertisement, &Advertisement::Offered);
    assert!(ehlo.has("AUTH"));
    assert!(outcome.starttls_accepted());
    assert!(!outcome.is_masked());
    assert_eq!(outcome.starttls_advertised_after_tls(), Some(false));
    assert_eq!(outcome.result_type(), None);
}

#[test]
fn stt_03_starttls_advertised_again_after_tls() {
    let (_, outcome) = drive(
        &[BANNER, EHLO_STARTTLS, GO_AHEAD, EHLO_STARTTLS, BYE],
        Handshake::Established,
    );
    assert_eq!(outcome.starttls_advertised_after_tls(), Some(true));
}

#[test]
fn stt_03_ehlo_refused_inside_tls() {
    let (sent, outcome) = drive(
        &[
            BANNER,
            EHLO_STARTTLS,
            GO_AHEAD,
            "503 5.5.1 bad sequence\r\n",
            BYE,
        ],
        Handshake::Established,
    );
    assert_eq!(sent.last().unwrap(), "QUIT");
    let Outcome::Tls {
        after_tls: AfterTls::EhloRefused { reply },
        ..
    } = &outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(code(reply), 503);
    assert_eq!(outcome.starttls_advertised_after_tls(), None);
}

#[test]
fn stt_04_insufficient_tls_quits_at_once() {
    let (sent, outcome) = drive(
        &[BANNER, EHLO_STARTTLS, GO_AHEAD, BYE],
        Handshake::Insufficient,
    );
    assert_eq!(sent, ["EHLO probe.example", "STARTTLS", "<TLS>", "QUIT"]);
    assert!(matches!(
        outcome,
        Outcome::Tls {
            after_tls: AfterTls::QuitAtOnce,
            ..
        }
    ));
}

#[test]
fn stt_01_tls_handshake_failed() {
    let (sent, outcome) = drive(&[BANNER, EHLO_STARTTLS, GO_AHEAD], Handshake::Failed);
    // Nothing more is said on a connection whose handshake failed.
    assert_eq!(sent, ["EHLO probe.example", "STARTTLS", "<TLS>"]);
    assert!(matches!(
        outcome,
        Outcome::TlsFailed {
            advertisement: Advertisement::Offered,
            ..
        }
    ));
    assert!(outcome.starttls_accepted());
    assert_eq!(outcome.result_type(), None);
}

#[test]
fn smtp_banner_554_refused_then_quit() {
    let (sent, outcome) = drive(
        &["554 5.7.1 no SMTP service here\r\n", BYE],
        Handshake::Established,
    );
    assert_eq!(sent, ["QUIT"]);
    let Outcome::BannerRefused { reply } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(code(reply), 554);
    assert_eq!(outcome.result_type(), None);
}

#[test]
fn smtp_banner_421_refused_without_quit() {
    let (sent, outcome) = drive(&["421 4.3.2 too busy, closing\r\n"], Handshake::Established);
    assert!(sent.is_empty());
    assert!(matches!(outcome, Outcome::BannerRefused { .. }));
}

#[test]
fn stt_01_ehlo_refused_no_helo_fallback() {
    let (sent, outcome) = drive(
        &[BANNER, "502 5.5.2 command not recognized\r\n", BYE],
        Handshake::Established,
    );
    assert_eq!(sent, ["EHLO probe.example", "QUIT"]);
    let Outcome::EhloRefused { reply } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(code(reply), 502);
    assert_eq!(
        outcome.result_type(),
        Some(ResultType::StarttlsNotSupported)
    );
}

#[test]
fn stt_01_ehlo_421_closes_without_quit() {
    let (sent, outcome) = drive(&[BANNER, "421 4.4.2 timeout\r\n"], Handshake::Established);
    assert_eq!(sent, ["EHLO probe.example"]);
    assert!(matches!(outcome, Outcome::EhloRefused { .. }));
}

#[test]
fn stt_05_starttls_not_offered() {
    let (sent, outcome) = drive(&[BANNER, EHLO_PLAIN, BYE], Handshake::Established);
    // Without the keyword or a masked one, STARTTLS is not sent.
    assert_eq!(sent, ["EHLO probe.example", "QUIT"]);
    let Outcome::NotOffered { ehlo } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(ehlo.has("8BITMIME"));
    assert!(!outcome.is_masked());
    assert_eq!(
        outcome.result_type(),
        Some(ResultType::StarttlsNotSupported)
    );
}

#[test]
fn t_01_masked_keyword_confirmed_by_500() {
    let (sent, outcome) = drive(
        &[
            BANNER,
            EHLO_MASKED,
            "500 #5.5.1 command not recognized\r\n",
            BYE,
        ],
        Handshake::Established,
    );
    assert_eq!(sent, ["EHLO probe.example", "STARTTLS", "QUIT"]);
    let Outcome::Masked {
        advertisement,
        reply,
        ..
    } = &outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        advertisement,
        &Advertisement::MaskedKeyword {
            keyword: "XXXXXXXA".into()
        }
    );
    assert_eq!(code(reply), 500);
    assert!(outcome.is_masked());
    assert!(!outcome.starttls_accepted());
    assert_eq!(
        outcome.result_type(),
        Some(ResultType::StarttlsNotSupported)
    );
}

#[test]
fn t_01_advertised_but_command_answered_500() {
    let (sent, outcome) = drive(
        &[
            BANNER,
            EHLO_STARTTLS,
            "500 5.5.1 unrecognized command\r\n",
            BYE,
        ],
        Handshake::Established,
    );
    assert_eq!(sent, ["EHLO probe.example", "STARTTLS", "QUIT"]);
    assert!(matches!(
        outcome,
        Outcome::Masked {
            advertisement: Advertisement::Offered,
            ..
        }
    ));
    assert!(outcome.is_masked());
}

#[test]
fn t_01_masked_keyword_but_command_works() {
    let (sent, outcome) = drive(
        &[BANNER, EHLO_MASKED, GO_AHEAD, EHLO_TLS, BYE],
        Handshake::Established,
    );
    assert_eq!(sent.len(), 5);
    assert!(matches!(
        outcome,
        Outcome::Tls {
            advertisement: Advertisement::MaskedKeyword { .. },
            ..
        }
    ));
    // The advertisement was tampered with even though TLS works.
    assert!(outcome.is_masked());
}

#[test]
fn stt_01_starttls_454_is_temporary() {
    let (sent, outcome) = drive(
        &[
            BANNER,
            EHLO_STARTTLS,
            "454 4.7.0 TLS not available due to local problem\r\n",
            BYE,
        ],
        Handshake::Established,
    );
    assert_eq!(sent, ["EHLO probe.example", "STARTTLS", "QUIT"]);
    let Outcome::StartTlsUnavailable { reply, .. } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(code(reply), 454);
    assert_eq!(
        outcome.result_type(),
        Some(ResultType::StarttlsNotSupported)
    );
}

#[test]
fn stt_01_starttls_421_no_quit() {
    let (sent, outcome) = drive(
        &[BANNER, EHLO_STARTTLS, "421 4.3.0 shutting down\r\n"],
        Handshake::Established,
    );
    assert_eq!(sent, ["EHLO probe.example", "STARTTLS"]);
    assert!(matches!(outcome, Outcome::StartTlsUnavailable { .. }));
}

#[test]
fn stt_01_starttls_refused_permanently() {
    for wire in [
        "501 5.5.4 Syntax error (no parameters allowed)\r\n",
        "502 5.5.1 not implemented\r\n",
        "554 5.7.3 TLS not available\r\n",
        "250 2.0.0 what\r\n",
    ] {
        let (sent, outcome) = drive(&[BANNER, EHLO_STARTTLS, wire, BYE], Handshake::Established);
        assert_eq!(sent, ["EHLO probe.example", "STARTTLS", "QUIT"], "{wire}");
        assert!(
            matches!(outcome, Outcome::StartTlsRefused { .. }),
            "{wire}: {outcome:?}"
        );
        assert!(!outcome.is_masked());
    }
}

#[test]
fn smtp_closed_at_each_stage() {
    let cases: [(&[&str], Stage); 3] = [
        (&[], Stage::Banner),
        (&[BANNER], Stage::Ehlo),
        (&[BANNER, EHLO_STARTTLS], Stage::StartTls),
    ];
    for (script, stage) in cases {
        let (_, outcome) = drive(script, Handshake::Established);
        assert_eq!(outcome, Outcome::Closed { stage });
        assert_eq!(outcome.result_type(), None);
    }
    let (_, outcome) = drive(&[BANNER, EHLO_STARTTLS, GO_AHEAD], Handshake::Established);
    assert!(matches!(
        outcome,
        Outcome::Tls {
            after_tls: AfterTls::Closed,
            ..
        }
    ));
}

#[test]
fn smtp_closed_during_handshake() {
    let mut client = Client::new(DomainName::parse("probe.example").unwrap());
    for wire in [BANNER, EHLO_STARTTLS, GO_AHEAD] {
        while client.poll() != Next::ReadReply {}
        client
            .handle_reply(Reply::parse(wire.as_bytes()).unwrap())
            .unwrap();
    }
    assert_eq!(client.poll(), Next::StartTls);
    client.handle_closed();
    assert_eq!(client.poll(), Next::Done);
    assert_eq!(
        client.outcome(),
        Some(&Outcome::Closed {
            stage: Stage::TlsHandshake
        })
    );
}

#[test]
fn smtp_closed_before_quit_reply_keeps_outcome() {
    let (sent, outcome) = drive(&[BANNER, EHLO_PLAIN], Handshake::Established);
    assert_eq!(sent, ["EHLO probe.example", "QUIT"]);
    assert!(matches!(outcome, Outcome::NotOffered { .. }));
}

#[test]
fn smtp_client_rejects_calls_out_of_order() {
    let mut client = Client::new(DomainName::parse("probe.example").unwrap());
    assert_eq!(
        client.handle_tls_established(),
        Err(ClientError::NotInHandshake {
            state: "waiting for the greeting"
        })
    );
    client
        .handle_reply(Reply::parse(BANNER.as_bytes()).unwrap())
        .unwrap();
    // EHLO has not been polled yet, so no reply is due.
    let err = client
        .handle_reply(Reply::parse(EHLO_STARTTLS.as_bytes()).unwrap())
        .unwrap_err();
    assert!(matches!(err, ClientError::UnexpectedReply { .. }));
    assert!(err.to_string().contains("about to send EHLO"));
    // The state is unchanged by the error.
    assert!(matches!(client.poll(), Next::Send(Command::Ehlo(_))));
    assert_eq!(client.poll(), Next::ReadReply);
    assert_eq!(client.poll(), Next::ReadReply);
    assert!(client.handle_tls_failed().is_err());
    assert!(client.handle_tls_insufficient().is_err());
}

#[test]
fn smtp_poll_is_stable_while_waiting() {
    let mut client = Client::new(DomainName::parse("probe.example").unwrap());
    for wire in [BANNER, EHLO_STARTTLS, GO_AHEAD] {
        while client.poll() != Next::ReadReply {}
        client
            .handle_reply(Reply::parse(wire.as_bytes()).unwrap())
            .unwrap();
    }
    assert_eq!(client.poll(), Next::StartTls);
    assert_eq!(client.poll(), Next::StartTls);
    assert_eq!(client.outcome(), None);
    client.handle_tls_failed().unwrap();
    assert_eq!(client.poll(), Next::Done);
    assert_eq!(client.poll(), Next::Done);
    assert!(client
        .handle_reply(Reply::parse(BYE.as_bytes()).unwrap())
        .is_err());
}

#[test]
fn smtp_command_wire_format() {
    let name = DomainName::parse("Probe.Example").unwrap();
    assert_eq!(Command::Ehlo(name).to_wire(), b"EHLO probe.example\r\n");
    assert_eq!(Command::StartTls.to_wire(), b"STARTTLS\r\n");
    assert_eq!(Command::Quit.to_wire(), b"QUIT\r\n");
}

#[test]
fn t_01_outcome_serialises_with_its_evidence() {
    let (_, outcome) = drive(
        &[
            BANNER,
            EHLO_MASKED,
            "500 #5.5.1 command not recognized\r\n",
            BYE,
        ],
        Handshake::Established,
    );
    let json = serde_json::to_value(&outcome).unwrap();
    assert_eq!(json["outcome"], "masked");
    assert_eq!(json["advertisement"]["kind"], "masked-keyword");
    assert_eq!(json["advertisement"]["keyword"], "XXXXXXXA");
    assert_eq!(json["reply"]["code"], 500);
    assert_eq!(json["ehlo"]["extensions"][1]["keyword"], "XXXXXXXA");
}

/// RFC 5321 §4.2: a multi-line `220` greeting is kept whole, and the dialogue goes on.
#[test]
fn stt_01_rfc5321_4_2_multi_line_greeting_is_kept() {
    let mut client = Client::new(DomainName::parse("probe.example").unwrap());
    assert!(client.greeting().is_none());
    assert_eq!(client.poll(), Next::ReadReply);
    let banner = "220-mx.example.net ESMTP\r\n220-Unsolicited mail refused\r\n220 ready\r\n";
    client
        .handle_reply(Reply::parse(banner.as_bytes()).unwrap())
        .unwrap();
    let greeting = client.greeting().expect("the greeting is kept");
    assert_eq!(greeting.code().get(), 220);
    assert_eq!(
        greeting.lines(),
        ["mx.example.net ESMTP", "Unsolicited mail refused", "ready"]
    );
    assert!(matches!(client.poll(), Next::Send(Command::Ehlo(_))));
}

/// RFC 5321 §3.1: a refusing greeting is kept too, beside the outcome.
#[test]
fn stt_01_rfc5321_3_1_refusing_greeting_is_kept() {
    let mut client = Client::new(DomainName::parse("probe.example").unwrap());
    assert_eq!(client.poll(), Next::ReadReply);
    client
        .handle_reply(Reply::parse(b"554 5.7.1 no service\r\n").unwrap())
        .unwrap();
    assert_eq!(client.greeting().map(|g| g.code().get()), Some(554));
    assert!(matches!(
        client.outcome(),
        Some(Outcome::BannerRefused { .. })
    ));
}
