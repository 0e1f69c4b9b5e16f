//! Hostile SMTP servers against the STARTTLS probe: endless multi-line replies, a 1 MB line,
//! a greeting that never comes, and garbage instead of a TLS handshake after `220`. The probe
//! must give up within its step timeouts having buffered no more than the reply limits of
//! [`mxsec_net::proto::smtp::reply`] (4 KiB per line, 64 KiB per reply).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mxsec_net::dial::{AddressMap, Dialer};
use mxsec_net::proto::name::DomainName;
use mxsec_net::smtp_probe::{
    probe, NoTlsReason, ProbeFailure, ProbeOptions, ProbeReport, ProbeStep, ProbeTimeouts,
};
use mxsec_net::tls::Verification;
use mxsec_testbed::smtp::{Hostile, MxBehaviour, SmtpServer, StartTls};

use crate::meter::{measure, run, Measured, KIB, MIB};

/// Each step's timeout in these tests (a sender's is 30 s or more).
pub(crate) const STEP: Duration = Duration::from_secs(2);

/// Time allowed beyond the step timeout that should fire.
pub(crate) const SLACK: Duration = Duration::from_secs(2);

/// The memory one probe may take: the reply limits, a TLS session and the buffers around it.
const MEMORY: usize = 256 * KIB;

/// Probes one MX host behaving as `behaviour`, with `verification`, measured. The server
/// starts before the measurement.
pub(crate) async fn probe_mx(
    behaviour: MxBehaviour,
    sni: &str,
    verification: Verification,
) -> Measured<ProbeReport> {
    let server = SmtpServer::start("127.0.0.1:0".parse().unwrap(), behaviour)
        .await
        .unwrap();
    let published: IpAddr = "192.0.2.25".parse().unwrap();
    let mut map = AddressMap::new();
    map.insert(SocketAddr::new(published, 25), server.local_addr())
        .unwrap();
    let dialer = Dialer::new(STEP).with_address_map(map);
    let name = |s: &str| DomainName::parse(s).unwrap();
    let mut options = ProbeOptions::new(name("probe.mxsec.test"), name(sni), verification);
    options.timeouts = ProbeTimeouts {
        banner: STEP,
        command: STEP,
        handshake: STEP,
        total: 5 * STEP,
    };
    measure(probe(&dialer, published, &options)).await
}

fn unauthenticated() -> Verification {
    Verification::Observe {
        dane: None,
        pkix: None,
    }
}

fn hostile(kind: Hostile) -> MxBehaviour {
    MxBehaviour::new("mx.example.test", StartTls::NotOffered).hostile(kind)
}

#[test]
fn hostile_smtp_endless_multiline_reply() {
    run(async {
        let measured = probe_mx(
            hostile(Hostile::EndlessEhlo),
            "mx.example.test",
            unauthenticated(),
        )
        .await;
        measured.assert_within("SMTP, endless multi-line EHLO reply", STEP + SLACK, MEMORY);
        let result = &measured.value.result;
        assert!(matches!(result, Err(ProbeFailure::Reply(_))), "{result:?}");
    });
}

#[test]
fn hostile_smtp_one_megabyte_line() {
    run(async {
        let measured = probe_mx(
            hostile(Hostile::LongGreeting { length: MIB }),
            "mx.example.test",
            unauthenticated(),
        )
        .await;
        measured.assert_within("SMTP, 1 MB greeting line", STEP + SLACK, MEMORY);
        let result = &measured.value.result;
        assert!(matches!(result, Err(ProbeFailure::Reply(_))), "{result:?}");
    });
}

#[test]
fn hostile_smtp_greeting_never_comes() {
    run(async {
        let measured = probe_mx(
            hostile(Hostile::SilentGreeting),
            "mx.example.test",
            unauthenticated(),
        )
        .await;
        measured.assert_within("SMTP, greeting never comes", STEP + SLACK, 64 * KIB);
        let result = &measured.value.result;
        assert!(
            matches!(
                result,
                Err(ProbeFailure::Timeout {
                    step: ProbeStep::Banner,
                    ..
                })
            ),
            "{result:?}"
        );
        assert!(measured.elapsed >= STEP);
    });
}

#[test]
fn hostile_smtp_garbage_instead_of_tls_after_220() {
    run(async {
        let behaviour = MxBehaviour::new("mx.example.test", StartTls::GarbageAfterReady);
        let measured = probe_mx(behaviour, "mx.example.test", unauthenticated()).await;
        measured.assert_within("SMTP, garbage after 220", STEP + SLACK, MEMORY);
        let result = &measured.value.result;
        assert!(
            matches!(result, Err(ProbeFailure::Handshake { .. })),
            "{result:?}"
        );
    });
}

#[test]
fn hostile_smtp_starttls_refused_is_not_a_timeout() {
    // The control case: a server that simply refuses STARTTLS is answered at once.
    run(async {
        let behaviour = MxBehaviour::new("mx.example.test", StartTls::Unavailable);
        let measured = probe_mx(behaviour, "mx.example.test", unauthenticated()).await;
        measured.assert_within("SMTP, STARTTLS refused (control)", SLACK, MEMORY);
        let result = &measured.value.result;
        assert!(
            matches!(result, Err(ProbeFailure::NoTls(NoTlsReason::Unavailable))),
            "{result:?}"
        );
    });
}
