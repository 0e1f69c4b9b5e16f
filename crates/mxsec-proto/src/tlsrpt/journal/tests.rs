use time::macros::datetime;

use super::super::postfix_log::{Event, Relay, Trust};
use super::*;

/// An entry as `journalctl --output=json` prints it for a Postfix line (fields abridged).
fn entry(cursor: &str, micros: &str, identifier: &str, pid: &str, message: &str) -> String {
    serde_json::json!({
        "__CURSOR": cursor,
        "__REALTIME_TIMESTAMP": micros,
        "__MONOTONIC_TIMESTAMP": "81234567",
        "_BOOT_ID": "5d3b9f0c8a5e4c4f9c2d0b6f1e2a3b4c",
        "PRIORITY": "6",
        "SYSLOG_FACILITY": "2",
        "SYSLOG_IDENTIFIER": identifier,
        "SYSLOG_PID": pid,
        "_PID": pid,
        "_COMM": "smtp",
        "_SYSTEMD_UNIT": "postfix@-.service",
        "_TRANSPORT": "syslog",
        "MESSAGE": message,
    })
    .to_string()
}

const CURSOR: &str = "s=0f3c6a1d;i=1a2b;b=5d3b9f0c;m=4d7a5c7;t=6442b7e1c8a00;x=9e1f";

#[test]
fn rpt_res_01_journal_entry_of_an_established_session() {
    let line = entry(
        CURSOR,
        "1796551200250000",
        "postfix/smtp",
        "4242",
        "Verified TLS connection established to mx.a.example[192.0.2.1]:25: TLSv1.3 with \
         cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
    );
    let parsed = parse_entry(line.as_bytes()).expect("an entry");
    assert_eq!(parsed.cursor, CURSOR);
    let line = parsed.line.expect("a TLS line");
    assert_eq!(
        line.time,
        LogTime::Exact(datetime!(2026-12-06 10:00:00.25 UTC))
    );
    assert_eq!(
        line.process,
        Process {
            program: "postfix/smtp".into(),
            pid: 4242
        }
    );
    assert_eq!(
        line.event,
        Event::TlsEstablished {
            relay: Relay {
                host: "mx.a.example".into(),
                ip: "192.0.2.1".parse().unwrap()
            },
            trust: Trust::Verified
        }
    );
}

#[test]
fn rpt_res_01_journal_fields_as_octet_arrays_and_repeated_values() {
    let message = "AAAAA1: to=<x@a.example>, relay=mx.a.example[192.0.2.1]:25, delay=1, \
                   dsn=2.0.0, status=sent (250 ok)";
    let line = serde_json::json!({
        "__CURSOR": CURSOR,
        "__REALTIME_TIMESTAMP": "1796551200000000",
        "SYSLOG_IDENTIFIER": ["postfix/smtp", "postfix/smtp"],
        "_PID": "7",
        "MESSAGE": message.as_bytes(),
    })
    .to_string();
    let parsed = parse_entry(line.as_bytes()).expect("an entry");
    let line = parsed.line.expect("a TLS line");
    assert_eq!(line.process.pid, 7);
    assert!(matches!(line.event, Event::Delivery { .. }), "{line:?}");
}

#[test]
fn rpt_res_01_journal_entries_that_are_no_tls_line_keep_their_cursor() {
    for line in [
        entry(
            CURSOR,
            "1796551200000000",
            "postfix/smtp",
            "9",
            "connect to x: refused",
        ),
        entry(
            CURSOR,
            "1796551200000000",
            "sshd",
            "9",
            "Accepted publickey for root",
        ),
        entry(
            CURSOR,
            "not-a-number",
            "postfix/smtp",
            "9",
            "Verified TLS connection established to a[192.0.2.1]:25: x",
        ),
        entry(
            CURSOR,
            "1796551200000000",
            "postfix/smtp",
            "x",
            "Verified TLS connection established to a[192.0.2.1]:25: x",
        ),
        entry(
            CURSOR,
            "1796551200000000",
            "",
            "9",
            "Verified TLS connection established to a[192.0.2.1]:25: x",
        ),
        serde_json::json!({"__CURSOR": CURSOR, "MESSAGE": null}).to_string(),
    ] {
        let parsed = parse_entry(line.as_bytes()).unwrap_or_else(|| panic!("an entry: {line}"));
        assert_eq!(parsed.cursor, CURSOR);
        assert_eq!(parsed.line, None, "{line}");
    }
}

#[test]
fn journal_garbage_and_oversized_lines_are_no_entries() {
    let long = entry(
        CURSOR,
        "1796551200000000",
        "postfix/smtp",
        "9",
        &"x".repeat(MAX_ENTRY),
    );
    for line in [
        "",
        "garbage",
        "{}",
        "[1,2,3]",
        "{\"__CURSOR\": 5}",
        "-- No entries --",
        long.as_str(),
    ] {
        assert_eq!(parse_entry(line.as_bytes()), None, "{line}");
    }
}

proptest::proptest! {
    #[test]
    fn journal_parser_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
        let _ = parse_entry(&bytes);
    }
}
