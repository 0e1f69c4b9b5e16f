use proptest::prelude::*;
use time::macros::{datetime, offset, time};

use super::*;

fn relay(host: &str, ip: &str) -> Relay {
    Relay {
        host: host.to_owned(),
        ip: ip.parse().unwrap(),
    }
}

fn event(line: &str) -> Event {
    parse_line(line.as_bytes())
        .unwrap_or_else(|| panic!("not parsed: {line}"))
        .event
}

#[test]
fn rpt_res_01_established_lines_of_each_trust_level() {
    for (word, trust) in [
        ("Verified", Trust::Verified),
        ("Trusted", Trust::Trusted),
        ("Untrusted", Trust::Untrusted),
        ("Anonymous", Trust::Anonymous),
    ] {
        let line = format!(
            "Dec 06 00:00:24 sender postfix/smtp[4242]: {word} TLS connection established to \
             mx.example.org[192.0.2.25]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 \
             (256/256 bits) key-exchange X25519 server-signature ECDSA (P-256) server-digest SHA256"
        );
        let parsed = parse_line(line.as_bytes()).unwrap();
        assert_eq!(
            parsed.process,
            Process {
                program: "postfix/smtp".into(),
                pid: 4242
            }
        );
        assert_eq!(
            parsed.event,
            Event::TlsEstablished {
                relay: relay("mx.example.org", "192.0.2.25"),
                trust
            }
        );
    }
}

#[test]
fn rpt_res_01_ipv6_relay_and_rfc3339_stamp() {
    let line = "2026-12-06T00:00:24.123456+00:00 sender postfix-out/smtp[7]: Verified TLS \
                connection established to mx.example.org[2001:db8::25]:25: TLSv1.2 with cipher \
                ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)";
    let parsed = parse_line(line.as_bytes()).unwrap();
    assert_eq!(
        parsed.time,
        LogTime::Exact(datetime!(2026-12-06 00:00:24.123456 UTC))
    );
    assert_eq!(parsed.process.program, "postfix-out/smtp");
    assert_eq!(
        parsed.event,
        Event::TlsEstablished {
            relay: relay("mx.example.org", "2001:db8::25"),
            trust: Trust::Verified
        }
    );
}

#[test]
fn rpt_res_01_certificate_verification_failures() {
    for (why, failure) in [
        ("certificate has expired", TlsFailure::Expired),
        ("certificate not yet valid", TlsFailure::NotYetValid),
        ("self-signed certificate", TlsFailure::SelfSigned),
        (
            "not trusted by local or TLSA policy",
            TlsFailure::NotTrusted,
        ),
        (
            "untrusted issuer /CN=Some CA/O=Example",
            TlsFailure::UntrustedIssuer,
        ),
        (
            "not designated for use as a server certificate",
            TlsFailure::InvalidPurpose,
        ),
        (
            "certificate chain longer than limit(9)",
            TlsFailure::ChainTooLong,
        ),
        ("num=62:hostname mismatch", TlsFailure::HostMismatch),
        (
            "num=65:No matching DANE TLSA records",
            TlsFailure::DaneNoMatch,
        ),
        ("num=10:certificate has expired", TlsFailure::Expired),
        (
            "num=26:unsuitable certificate purpose",
            TlsFailure::OtherVerify(26),
        ),
    ] {
        for prefix in ["server ", "CA ", ""] {
            let line = format!(
                "Dec  6 00:00:24 sender postfix/smtp[9]: {prefix}certificate verification failed \
                 for mx.example.org[192.0.2.25]:25: {why}"
            );
            assert_eq!(
                event(&line),
                Event::VerifyFailed {
                    relay: relay("mx.example.org", "192.0.2.25"),
                    failure: failure.clone()
                },
                "{line}"
            );
        }
    }
}

#[test]
fn rpt_res_01_attempt_failures_before_the_last_mx() {
    assert_eq!(
        event(
            "Dec  6 00:00:24 sender postfix/smtp[9]: 4F9D62C0A1B: TLS is required, but was not \
             offered by host mx1.example.org[192.0.2.26]"
        ),
        Event::AttemptFailed {
            queue_id: "4F9D62C0A1B".into(),
            relay: Some(relay("mx1.example.org", "192.0.2.26")),
            failure: TlsFailure::StarttlsNotOffered
        }
    );
    assert_eq!(
        event("Dec  6 00:00:24 sender postfix/smtp[9]: 4Q9tJx2zRbz9sWK: Server certificate not verified"),
        Event::AttemptFailed {
            queue_id: "4Q9tJx2zRbz9sWK".into(),
            relay: None,
            failure: TlsFailure::NotVerified
        }
    );
    assert_eq!(
        event(
            "Dec  6 00:00:24 sender postfix/smtp[9]: 4F9D62C0A1B: TLS is required, but host \
             mx1.example.org[192.0.2.26] refused to start TLS: 454 4.7.0 TLS not available"
        ),
        Event::AttemptFailed {
            queue_id: "4F9D62C0A1B".into(),
            relay: Some(relay("mx1.example.org", "192.0.2.26")),
            failure: TlsFailure::StarttlsRefused
        }
    );
}

#[test]
fn rpt_res_01_delivery_status_lines() {
    assert_eq!(
        event(
            "Dec  6 00:00:25 sender postfix/smtp[9]: 4F9D62C0A1B: to=<postmaster@Example.ORG>, \
             relay=mx.example.org[192.0.2.25]:25, delay=0.31, delays=0.02/0.01/0.2/0.08, \
             dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 1234)"
        ),
        Event::Delivery {
            queue_id: "4F9D62C0A1B".into(),
            domain: DomainName::parse("example.org").unwrap(),
            relay: Some(relay("mx.example.org", "192.0.2.25")),
            conn_use: 1,
            status: Status::Sent,
            failure: None
        }
    );
    assert_eq!(
        event(
            "Dec  6 00:00:25 sender postfix/smtp[9]: 4F9D62C0A1B: to=<a@example.org>, \
             orig_to=<b@example.net>, relay=mx.example.org[192.0.2.25]:25, conn_use=2, \
             delay=0.31, delays=0.02/0.01/0.2/0.08, dsn=4.7.5, status=deferred (Server \
             certificate not verified)"
        ),
        Event::Delivery {
            queue_id: "4F9D62C0A1B".into(),
            domain: DomainName::parse("example.org").unwrap(),
            relay: Some(relay("mx.example.org", "192.0.2.25")),
            conn_use: 2,
            status: Status::Deferred,
            failure: Some(TlsFailure::NotVerified)
        }
    );
    assert_eq!(
        event(
            "Dec  6 00:00:25 sender postfix/smtp[9]: 4F9D62C0A1B: to=<a@example.org>, \
             relay=none, delay=0.31, delays=0.02/0.01/0.2/0, dsn=4.7.5, status=deferred (TLSA \
             lookup error for mx.example.org:25)"
        ),
        Event::Delivery {
            queue_id: "4F9D62C0A1B".into(),
            domain: DomainName::parse("example.org").unwrap(),
            relay: None,
            conn_use: 1,
            status: Status::Deferred,
            failure: Some(TlsFailure::TlsaLookupError)
        }
    );
}

#[test]
fn rpt_res_02_policy_lookup_warnings() {
    assert_eq!(
        event(
            "Dec  6 00:00:25 sender postfix/smtp[9]: warning: TLS policy lookup for \
             example.org/mx.example.org: TLSA lookup error for mx.example.org:25"
        ),
        Event::PolicyFailed {
            destination: "example.org".into(),
            host: "mx.example.org".into(),
            failure: Some(TlsFailure::TlsaLookupError)
        }
    );
    assert_eq!(
        event(
            "Dec  6 00:00:25 sender postfix/smtp[9]: warning: TLS policy lookup for \
             example.org/mx.example.org: client TLS configuration problem"
        ),
        Event::PolicyFailed {
            destination: "example.org".into(),
            host: "mx.example.org".into(),
            failure: None
        }
    );
}

#[test]
fn rpt_del_04_queue_manager_sender_lines() {
    assert_eq!(
        event(
            "Dec  6 00:00:24 sender postfix/qmgr[1]: 4F9D62C0A1B: \
             from=<TLSRPT-noreply@Example.NET>, size=3000, nrcpt=1 (queue active)"
        ),
        Event::Sender {
            queue_id: "4F9D62C0A1B".into(),
            sender: "tlsrpt-noreply@example.net".into()
        }
    );
    assert_eq!(
        event("Dec  6 00:00:24 sender postfix/qmgr[1]: 4F9D62C0A1B: from=<>, size=300, nrcpt=1 (queue active)"),
        Event::Sender {
            queue_id: "4F9D62C0A1B".into(),
            sender: String::new()
        }
    );
}

#[test]
fn lines_that_say_nothing_about_tls_are_ignored() {
    for line in [
        "",
        "garbage",
        "Dec  6 00:00:24 sender postfix/qmgr[1]: 4F9D62C0A1B: from=<unterminated",
        "Dec  6 00:00:24 sender postfix/smtp[9]: connect to mx.example.org[192.0.2.25]:25: Connection refused",
        "Dec  6 00:00:24 sender postfix/smtp[9]: warning: something else",
        "Dec  6 00:00:24 sender postfix/smtp[x]: Verified TLS connection established to a[192.0.2.1]:25: x",
        "Dec 32 00:00:24 sender postfix/smtp[9]: Verified TLS connection established to a[192.0.2.1]:25: x",
        "Dec  6 25:00:24 sender postfix/smtp[9]: Verified TLS connection established to a[192.0.2.1]:25: x",
        "Dec  6 00:00:24 sender postfix/smtp[9]: Verified TLS connection established to a[not-ip]:25: x",
        "Dec  6 00:00:24 sender postfix/smtp[9]: 4F9D62C0A1B: to=<a@example.org>, relay=x[192.0.2.1]:25, status=queued (x)",
        "Dec  6 00:00:24 sender postfix/smtp[9]: 4F9D62C0A1B: to=<nodomain>, relay=x[192.0.2.1]:25, status=sent (x)",
    ] {
        assert_eq!(parse_line(line.as_bytes()), None, "{line}");
    }
}

#[test]
fn rpt_time_01_bsd_stamps_resolve_to_the_latest_sensible_year() {
    let now = datetime!(2027-01-01 00:30 UTC);
    let stamp = LogTime::Bsd {
        month: Month::December,
        day: 31,
        time: time!(23:59:59),
    };
    assert_eq!(
        stamp.resolve(now, UtcOffset::UTC),
        Some(datetime!(2026-12-31 23:59:59 UTC))
    );
    let stamp = LogTime::Bsd {
        month: Month::January,
        day: 1,
        time: time!(00:10),
    };
    assert_eq!(
        stamp.resolve(now, offset!(+1)),
        Some(datetime!(2027-01-01 00:10 +1))
    );
    // 29 February exists only in leap years: the latest one before now.
    let stamp = LogTime::Bsd {
        month: Month::February,
        day: 29,
        time: time!(12:00),
    };
    assert_eq!(stamp.resolve(now, UtcOffset::UTC), None);
    assert_eq!(
        stamp.resolve(datetime!(2028-03-01 00:00 UTC), UtcOffset::UTC),
        Some(datetime!(2028-02-29 12:00 UTC))
    );
}

proptest! {
    #[test]
    fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_line(&bytes);
    }

    #[test]
    fn parser_never_panics_on_mutated_lines(index in 0usize..200, byte in any::<u8>()) {
        let mut line = b"Dec  6 00:00:25 sender postfix/smtp[9]: 4F9D62C0A1B: to=<a@example.org>, \
            relay=mx.example.org[192.0.2.25]:25, conn_use=2, delay=0.31, dsn=4.7.5, \
            status=deferred (Server certificate not verified)".to_vec();
        let i = index % line.len();
        line[i] = byte;
        let _ = parse_line(&line);
    }
}
