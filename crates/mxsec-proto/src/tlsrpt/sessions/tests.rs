use super::super::postfix_log::parse_line;
use super::*;

/// Feeds `log` (one line per line) to a fresh tracker; returns every session.
fn sessions(log: &str) -> Vec<Session> {
    let mut tracker = SessionTracker::new();
    log.lines()
        .filter_map(|l| parse_line(l.trim().as_bytes()))
        .flat_map(|l| tracker.handle(l))
        .collect()
}

fn summary(sessions: &[Session]) -> Vec<(String, String, SessionOutcome)> {
    sessions
        .iter()
        .map(|s| (s.domain.to_string(), s.mx_host.clone(), s.outcome.clone()))
        .collect()
}

const EST: &str = "TLS connection established to";
const CIPHER: &str = "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)";

#[test]
fn rpt_json_02_verified_session_counts_once_for_many_recipients() {
    let log = format!(
        "Dec 06 10:00:00 h postfix/smtp[1]: Verified {EST} mx.a.example[192.0.2.1]:25: {CIPHER}
         Dec 06 10:00:01 h postfix/smtp[1]: AAAAA1: to=<x@a.example>, relay=mx.a.example[192.0.2.1]:25, delay=1, dsn=2.0.0, status=sent (250 ok)
         Dec 06 10:00:01 h postfix/smtp[1]: AAAAA1: to=<y@a.example>, relay=mx.a.example[192.0.2.1]:25, delay=1, dsn=2.0.0, status=sent (250 ok)"
    );
    assert_eq!(
        summary(&sessions(&log)),
        [(
            "a.example".into(),
            "mx.a.example".into(),
            SessionOutcome::Tls {
                trust: Trust::Verified,
                verify: None
            }
        )]
    );
}

#[test]
fn rpt_res_01_verification_failure_then_not_verified() {
    let log = format!(
        "Dec 06 10:00:00 h postfix/smtp[1]: server certificate verification failed for mx1.b.example[192.0.2.1]:25: certificate has expired
         Dec 06 10:00:00 h postfix/smtp[1]: Untrusted {EST} mx1.b.example[192.0.2.1]:25: {CIPHER}
         Dec 06 10:00:00 h postfix/smtp[1]: BBBBB1: Server certificate not verified
         Dec 06 10:00:01 h postfix/smtp[1]: Verified {EST} mx2.b.example[192.0.2.2]:25: {CIPHER}
         Dec 06 10:00:01 h postfix/smtp[1]: BBBBB1: to=<x@b.example>, relay=mx2.b.example[192.0.2.2]:25, delay=1, dsn=2.0.0, status=sent (250 ok)"
    );
    assert_eq!(
        summary(&sessions(&log)),
        [
            (
                "b.example".into(),
                "mx1.b.example".into(),
                SessionOutcome::Failed(TlsFailure::Expired)
            ),
            (
                "b.example".into(),
                "mx2.b.example".into(),
                SessionOutcome::Tls {
                    trust: Trust::Verified,
                    verify: None
                }
            )
        ]
    );
}

#[test]
fn rpt_res_01_final_failures_and_no_starttls() {
    let log = format!(
        "Dec 06 10:00:00 h postfix/smtp[1]: server certificate verification failed for mx.c.example[192.0.2.1]:25: num=62:hostname mismatch
         Dec 06 10:00:00 h postfix/smtp[1]: Untrusted {EST} mx.c.example[192.0.2.1]:25: {CIPHER}
         Dec 06 10:00:00 h postfix/smtp[1]: CCCCC1: to=<x@c.example>, relay=mx.c.example[192.0.2.1]:25, delay=1, dsn=4.7.5, status=deferred (Server certificate not verified)
         Dec 06 10:00:00 h postfix/smtp[2]: DDDDD1: to=<x@d.example>, relay=mx.d.example[192.0.2.4]:25, delay=1, dsn=4.7.4, status=deferred (TLS is required, but was not offered by host mx.d.example[192.0.2.4])"
    );
    assert_eq!(
        summary(&sessions(&log)),
        [
            (
                "c.example".into(),
                "mx.c.example".into(),
                SessionOutcome::Failed(TlsFailure::HostMismatch)
            ),
            (
                "d.example".into(),
                "mx.d.example".into(),
                SessionOutcome::Failed(TlsFailure::StarttlsNotOffered)
            )
        ]
    );
}

#[test]
fn rpt_res_01_testing_mode_delivery_keeps_the_verification_error() {
    // At the `may` level (the daemon's answer for an MTA-STS `testing` policy) an untrusted
    // certificate does not stop delivery; the report still needs to know.
    let log = format!(
        "Dec 06 10:00:00 h postfix/smtp[1]: certificate verification failed for mx.e.example[192.0.2.1]:25: self-signed certificate
         Dec 06 10:00:00 h postfix/smtp[1]: Untrusted {EST} mx.e.example[192.0.2.1]:25: {CIPHER}
         Dec 06 10:00:01 h postfix/smtp[1]: EEEEE1: to=<x@e.example>, relay=mx.e.example[192.0.2.1]:25, delay=1, dsn=2.0.0, status=sent (250 ok)"
    );
    assert_eq!(
        summary(&sessions(&log)),
        [(
            "e.example".into(),
            "mx.e.example".into(),
            SessionOutcome::Tls {
                trust: Trust::Untrusted,
                verify: Some(TlsFailure::SelfSigned)
            }
        )]
    );
}

#[test]
fn rpt_res_05_plaintext_reuse_and_network_failures() {
    let log = "Dec 06 10:00:00 h postfix/smtp[1]: FFFFF1: to=<x@f.example>, relay=mx.f.example[192.0.2.1]:25, delay=1, dsn=2.0.0, status=sent (250 ok)
         Dec 06 10:00:00 h postfix/smtp[1]: FFFFF2: to=<x@f.example>, relay=mx.f.example[192.0.2.1]:25, conn_use=2, delay=1, dsn=2.0.0, status=sent (250 ok)
         Dec 06 10:00:00 h postfix/smtp[1]: FFFFF3: to=<x@g.example>, relay=none, delay=1, dsn=4.4.1, status=deferred (connect to mx.g.example[192.0.2.7]:25: Connection refused)";
    assert_eq!(
        summary(&sessions(log)),
        [(
            "f.example".into(),
            "mx.f.example".into(),
            SessionOutcome::Plaintext
        )]
    );
}

#[test]
fn rpt_res_02_policy_lookup_failure_is_a_session_of_its_destination() {
    let log = "Dec 06 10:00:00 h postfix/smtp[1]: warning: TLS policy lookup for h.example/mx.h.example: TLSA lookup error for mx.h.example:25
         Dec 06 10:00:00 h postfix/smtp[1]: HHHHH1: to=<x@h.example>, relay=none, delay=1, dsn=4.7.5, status=deferred (TLSA lookup error for mx.h.example:25)";
    assert_eq!(
        summary(&sessions(log)),
        [(
            "h.example".into(),
            "mx.h.example".into(),
            SessionOutcome::Failed(TlsFailure::TlsaLookupError)
        )]
    );
}

#[test]
fn interleaved_processes_do_not_mix() {
    let log = format!(
        "Dec 06 10:00:00 h postfix/smtp[1]: Verified {EST} mx.a.example[192.0.2.1]:25: {CIPHER}
         Dec 06 10:00:00 h postfix/smtp[2]: server certificate verification failed for mx.c.example[192.0.2.3]:25: certificate has expired
         Dec 06 10:00:00 h postfix/smtp[2]: Untrusted {EST} mx.c.example[192.0.2.3]:25: {CIPHER}
         Dec 06 10:00:01 h postfix/smtp[1]: AAAAA1: to=<x@a.example>, relay=mx.a.example[192.0.2.1]:25, delay=1, dsn=2.0.0, status=sent (250 ok)
         Dec 06 10:00:01 h postfix/smtp[2]: CCCCC1: to=<x@c.example>, relay=mx.c.example[192.0.2.3]:25, delay=1, dsn=4.7.5, status=deferred (Server certificate not verified)"
    );
    assert_eq!(
        summary(&sessions(&log)),
        [
            (
                "a.example".into(),
                "mx.a.example".into(),
                SessionOutcome::Tls {
                    trust: Trust::Verified,
                    verify: None
                }
            ),
            (
                "c.example".into(),
                "mx.c.example".into(),
                SessionOutcome::Failed(TlsFailure::Expired)
            )
        ]
    );
}

#[test]
fn state_is_bounded() {
    let mut tracker = SessionTracker::new();
    for pid in 0..(MAX_PROCESSES as u32 + 100) {
        let line = format!(
            "Dec 06 10:00:00 h postfix/smtp[{pid}]: Q{pid:05}: Server certificate not verified"
        );
        tracker.handle(parse_line(line.as_bytes()).unwrap());
    }
    assert_eq!(tracker.processes.len(), MAX_PROCESSES);
    for n in 0..(MAX_WAITING + 10) {
        let line =
            format!("Dec 06 10:00:00 h postfix/smtp[1]: Q{n:05}: Server certificate not verified");
        tracker.handle(parse_line(line.as_bytes()).unwrap());
    }
    assert!(tracker
        .processes
        .values()
        .all(|p| p.waiting.len() <= MAX_WAITING));
}

#[test]
fn rpt_del_04_report_transport_sessions_are_not_counted() {
    let log = format!(
        "Dec 06 10:00:00 h postfix/tlsrpt/smtp[7]: Untrusted {EST} mx.r.example[192.0.2.9]:25: {CIPHER}
         Dec 06 10:00:01 h postfix/tlsrpt/smtp[7]: RRRRR1: to=<tlsrpt@r.example>, relay=mx.r.example[192.0.2.9]:25, delay=1, dsn=2.0.0, status=sent (250 ok)
         Dec 06 10:00:02 h postfix/tlsrpt/smtp[7]: warning: TLS policy lookup for r.example/mx.r.example: TLSA lookup error for mx.r.example:25
         Dec 06 10:00:03 h postfix/smtp[8]: Verified {EST} mx.a.example[192.0.2.1]:25: {CIPHER}
         Dec 06 10:00:03 h postfix/smtp[8]: AAAAA1: to=<x@a.example>, relay=mx.a.example[192.0.2.1]:25, delay=1, dsn=2.0.0, status=sent (250 ok)"
    );
    assert_eq!(
        summary(&sessions(&log)),
        [(
            "a.example".into(),
            "mx.a.example".into(),
            SessionOutcome::Tls {
                trust: Trust::Verified,
                verify: None
            }
        )]
    );
    // A program merely named like the service, or a service of another name, counts.
    assert!(is_report_service("postfix/tlsrpt/smtp"));
    assert!(is_report_service("postfix-out/tlsrpt/smtp"));
    assert!(!is_report_service("postfix/smtp"));
    assert!(!is_report_service("tlsrpt"));
    assert!(!is_report_service("postfix/tlsrpt"));
}

#[test]
fn rpt_del_04_sessions_of_mail_from_the_report_sender_are_not_counted() {
    let log = format!(
        "Dec 06 10:00:00 h postfix/qmgr[2]: RRRRR1: from=<TLSRPT-noreply@submitter.example>, size=3000, nrcpt=1 (queue active)
         Dec 06 10:00:00 h postfix/qmgr[2]: AAAAA1: from=<someone@submitter.example>, size=300, nrcpt=1 (queue active)
         Dec 06 10:00:01 h postfix/smtp[7]: server certificate verification failed for mx1.r.example[192.0.2.8]:25: certificate has expired
         Dec 06 10:00:01 h postfix/smtp[7]: RRRRR1: Server certificate not verified
         Dec 06 10:00:02 h postfix/smtp[7]: Untrusted {EST} mx2.r.example[192.0.2.9]:25: {CIPHER}
         Dec 06 10:00:02 h postfix/smtp[7]: RRRRR1: to=<tlsrpt@r.example>, relay=mx2.r.example[192.0.2.9]:25, delay=1, dsn=2.0.0, status=sent (250 ok)
         Dec 06 10:00:03 h postfix/smtp[7]: AAAAA1: to=<x@r.example>, relay=mx2.r.example[192.0.2.9]:25, conn_use=2, delay=1, dsn=2.0.0, status=sent (250 ok)
         Dec 06 10:00:04 h postfix/smtp[8]: Verified {EST} mx.a.example[192.0.2.1]:25: {CIPHER}
         Dec 06 10:00:04 h postfix/smtp[8]: AAAAA1: to=<x@a.example>, relay=mx.a.example[192.0.2.1]:25, delay=1, dsn=2.0.0, status=sent (250 ok)"
    );
    let mut tracker = SessionTracker::new().skipping_sender("tlsrpt-noreply@submitter.example");
    let got: Vec<Session> = log
        .lines()
        .filter_map(|l| parse_line(l.trim().as_bytes()))
        .flat_map(|l| tracker.handle(l))
        .collect();
    // The report mail's failed attempt and its session are left out, and so is the reuse of
    // its connection by another message; the other message's own session counts.
    assert_eq!(
        summary(&got),
        [(
            "a.example".into(),
            "mx.a.example".into(),
            SessionOutcome::Tls {
                trust: Trust::Verified,
                verify: None
            }
        )]
    );
    // Without the sender, all three sessions count.
    assert_eq!(sessions(&log).len(), 3);
}
