//! Report delivery (RFC 8460 §5; CONFORMANCE.md RPT-DEL-01..07) against the testbed SMTP
//! server as relay and mailbox.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mail_auth::common::crypto::{DkimKey, Ed25519Key};
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::hickory_resolver::config::{ResolverConfig, ResolverOpts};
use mail_auth::{
    AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, ResolverCache, Txt,
};
use mxsec_net::proto::name::DomainName;
use mxsec_net::proto::tlsrpt::aggregate::{day_range, file_name};
use mxsec_net::proto::tlsrpt::ingest::{read, Container};
use mxsec_net::proto::tlsrpt::record::ReportUri;
use mxsec_net::proto::tlsrpt::report::{AppliedPolicy, PolicyResult, Summary};
use mxsec_net::proto::tlsrpt::Report;
use mxsec_net::tlsrpt::deliver::{
    https_client, report_tls, Delivered, Deliverer, DeliveryError, MailSetup, Outgoing,
};
use mxsec_net::tlsrpt::mail::{dkim_key_from_pem, Dkim};
use mxsec_testbed::https::{HttpsServer, PolicyHost, Reply};
use mxsec_testbed::pki::{LeafSpec, ServedChain};
use mxsec_testbed::smtp::{MxBehaviour, SmtpServer, StartTls};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use time::macros::{date, datetime};

const SELECTOR: &str = "tlsrpt";

fn name(text: &str) -> DomainName {
    text.parse().expect("domain name")
}

fn report() -> Report {
    Report {
        organization_name: "Example Net".into(),
        date_range: day_range(date!(2026 - 12 - 05)),
        contact_info: "tlsrpt@example.net".into(),
        report_id: "2026-12-05T00:00:00Z_example.org".into(),
        policies: vec![PolicyResult {
            policy: AppliedPolicy::no_policy_found(name("example.org")),
            summary: Summary {
                total_successful_session_count: 7,
                total_failure_session_count: 1,
            },
            failure_details: None,
        }],
    }
}

/// A TXT cache holding the published `_domainkey` record, as mail-auth looks it up.
#[derive(Default)]
struct Published(Mutex<HashMap<Box<str>, Txt>>);

impl ResolverCache<Box<str>, Txt> for Published {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().ok()?.get(name).cloned()
    }

    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().ok()?.remove(name)
    }

    fn insert(&self, key: Box<str>, value: Txt, _: Instant) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(key, value);
        }
    }
}

/// An Ed25519 signer for example.net and the TXT record that publishes its key.
fn ed25519_dkim() -> (Dkim, String) {
    let pkcs8 = Ed25519Key::generate_pkcs8().expect("generate");
    let key = Ed25519Key::from_pkcs8_der(&pkcs8).expect("key");
    let record = format!(
        "v=DKIM1; k=ed25519; s=tlsrpt; p={}",
        data_encoding::BASE64.encode(&key.public_key())
    );
    (
        Dkim::new(DkimKey::Ed25519(key), &name("example.net"), SELECTOR),
        record,
    )
}

async fn dkim_verifies(message: &[u8], record: &str) -> bool {
    let published = Published::default();
    published.insert(
        format!("{SELECTOR}._domainkey.example.net.").into(),
        Txt::DomainKey(Arc::new(
            DomainKey::parse(record.as_bytes()).expect("record"),
        )),
        Instant::now(),
    );
    let parsed = AuthenticatedMessage::parse(message).expect("message parses");
    let authenticator =
        MessageAuthenticator::new(ResolverConfig::default(), ResolverOpts::default())
            .expect("authenticator");
    let outputs = authenticator
        .verify_dkim(Parameters::new(&parsed).with_txt_cache(&published))
        .await;
    !outputs.is_empty() && outputs.iter().all(|o| o.result() == &DkimResult::Pass)
}

fn empty_roots() -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}

fn deliverer(relay: SocketAddr, dkim: Dkim) -> Deliverer {
    Deliverer {
        submitter: name("example.net"),
        mail: Some(MailSetup {
            relay: relay.to_string(),
            ehlo: name("reporter.example.net"),
            from: "tlsrpt-noreply@example.net".into(),
            dkim,
        }),
        http: https_client(empty_roots()).expect("client"),
    }
}

async fn mailbox() -> SmtpServer {
    SmtpServer::start(
        "127.0.0.1:0".parse().expect("address"),
        MxBehaviour::new("mx.example.org", StartTls::NotOffered),
    )
    .await
    .expect("smtp server")
}

#[tokio::test]
async fn rpt_del_02_03_mailed_report_is_signed_multipart_report_with_the_report() {
    let server = mailbox().await;
    let (dkim, record) = ed25519_dkim();
    let deliverer = deliverer(server.local_addr(), dkim);
    let report = report();
    let domain = name("example.org");
    let rua = [ReportUri::parse("mailto:tlsrpt@example.org").expect("uri")];
    let file = file_name(&name("example.net"), &report, &domain);
    let delivered = deliverer
        .deliver(
            &Outgoing {
                policy_domain: &domain,
                rua: &rua,
                report: &report,
                file_name: &file,
            },
            datetime!(2026-12-06 01:00 UTC),
        )
        .await
        .expect("delivered");
    assert_eq!(delivered.uri, "mailto:tlsrpt@example.org");
    assert!(delivered.relay_reply.is_some());

    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.mail_from, "<tlsrpt-noreply@example.net>");
    assert_eq!(message.rcpt_to, ["<tlsrpt@example.org>"]);
    assert!(
        !message.over_tls(),
        "RPT-DEL-04: plain submission to the relay"
    );
    // Headers unfolded (RFC 5322 §2.2.3).
    let text = String::from_utf8_lossy(&message.data)
        .replace("\r\n ", " ")
        .replace("\r\n\t", " ");
    assert!(text.contains("multipart/report"), "{text}");
    assert!(text.contains("report-type=\"tlsrpt\"") || text.contains("report-type=tlsrpt"));
    assert!(text.contains("application/tlsrpt+gzip"));
    assert!(text.contains("TLS-Report-Domain: example.org"));
    assert!(text.contains("TLS-Report-Submitter: example.net"));
    assert!(text.contains(
        "Subject: Report Domain: example.org Submitter: example.net Report-ID: <2026-12-05T00:00:00Z_example.org>"
    ), "{text}");
    let dkim_header = text
        .lines()
        .find(|l| l.starts_with("DKIM-Signature:"))
        .expect("DKIM-Signature");
    assert!(
        !text.contains(" l="),
        "RPT-DEL-03: no l= tag: {dkim_header}"
    );
    assert!(dkim_verifies(&message.data, &record).await, "DKIM verifies");

    let reports = read(&message.data, Container::Email).expect("report part");
    assert_eq!(reports, [report]);
}

#[tokio::test]
async fn rpt_del_03_tampered_report_fails_dkim() {
    let server = mailbox().await;
    let (dkim, record) = ed25519_dkim();
    let deliverer = deliverer(server.local_addr(), dkim);
    let report = report();
    let domain = name("example.org");
    let rua = [ReportUri::parse("mailto:tlsrpt@example.org").expect("uri")];
    deliverer
        .deliver(
            &Outgoing {
                policy_domain: &domain,
                rua: &rua,
                report: &report,
                file_name: "x.json.gz",
            },
            datetime!(2026-12-06 01:00 UTC),
        )
        .await
        .expect("delivered");
    let mut data = server.messages()[0].data.clone();
    let at = data
        .windows(19)
        .position(|w| w == b"TLS-Report-Domain: ")
        .expect("header");
    data[at + 19] = b'X';
    assert!(!dkim_verifies(&data, &record).await);
}

#[tokio::test]
async fn rpt_del_07_second_rua_takes_the_report_when_the_first_fails() {
    let server = mailbox().await;
    let (dkim, _) = ed25519_dkim();
    let deliverer = deliverer(server.local_addr(), dkim);
    let report = report();
    let domain = name("example.org");
    // Nothing listens on port 9 of 127.0.0.2: the POST fails, the mail goes through.
    let rua = [
        ReportUri::parse("https://127.0.0.2:9/tlsrpt").expect("uri"),
        ReportUri::parse("mailto:second@example.org").expect("uri"),
    ];
    let delivered = deliverer
        .deliver(
            &Outgoing {
                policy_domain: &domain,
                rua: &rua,
                report: &report,
                file_name: "x.json.gz",
            },
            datetime!(2026-12-06 01:00 UTC),
        )
        .await
        .expect("delivered");
    assert_eq!(delivered.uri, "mailto:second@example.org");
    assert_eq!(server.messages()[0].rcpt_to, ["<second@example.org>"]);
}

#[tokio::test]
async fn rpt_del_04_relay_down_is_an_error_for_every_rua() {
    let (dkim, _) = ed25519_dkim();
    let deliverer = deliverer("127.0.0.1:9".parse().expect("address"), dkim);
    let report = report();
    let domain = name("example.org");
    let rua = [ReportUri::parse("mailto:tlsrpt@example.org").expect("uri")];
    let failures = deliverer
        .deliver(
            &Outgoing {
                policy_domain: &domain,
                rua: &rua,
                report: &report,
                file_name: "x.json.gz",
            },
            datetime!(2026-12-06 01:00 UTC),
        )
        .await
        .expect_err("relay down");
    assert_eq!(failures.len(), 1);
    assert!(
        matches!(failures[0].1, DeliveryError::Relay { .. }),
        "{failures:?}"
    );
}

/// A report receiver at `https://reports.example.org:<port>/tlsrpt` answering `status`, and a
/// client that trusts the testbed root and reaches it on loopback.
pub(crate) async fn report_receiver(status: u16) -> (HttpsServer, reqwest::Client, String) {
    let pki = crate::support::pki();
    let leaf = crate::support::leaf(&pki, LeafSpec::new(["reports.example.org"]));
    let host = PolicyHost::new(
        "reports.example.org",
        &leaf,
        ServedChain::LeafAndIntermediate,
        Reply::body(status, None, ""),
    )
    .path("/tlsrpt")
    .accepts_post();
    let server = HttpsServer::start("127.0.0.1:0".parse().expect("address"), vec![host], None)
        .await
        .expect("https server");
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki.root_pem().as_bytes()).expect("root"))
        .expect("root");
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .resolve("reports.example.org", server.local_addr())
        .build()
        .expect("client");
    let uri = format!(
        "https://reports.example.org:{}/tlsrpt",
        server.local_addr().port()
    );
    (server, http, uri)
}

async fn post_to(
    status: u16,
) -> (
    HttpsServer,
    String,
    Result<Delivered, Vec<(String, DeliveryError)>>,
) {
    let (server, http, uri) = report_receiver(status).await;
    let (dkim, _) = ed25519_dkim();
    let mut deliverer = deliverer("127.0.0.1:9".parse().expect("address"), dkim);
    deliverer.http = http;
    let domain = name("example.org");
    let rua = [ReportUri::parse(&uri).expect("uri")];
    let result = deliverer
        .deliver(
            &Outgoing {
                policy_domain: &domain,
                rua: &rua,
                report: &report(),
                file_name: "x.json.gz",
            },
            datetime!(2026-12-06 01:00 UTC),
        )
        .await;
    (server, uri, result)
}

#[tokio::test]
async fn rpt_del_05_https_post_sends_the_gzip_report() {
    let (server, uri, result) = post_to(201).await;
    let delivered = result.expect("delivered");
    assert_eq!(delivered.uri, uri);
    assert_eq!(delivered.relay_reply, None);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(
        requests[0].header("content-type"),
        Some("application/tlsrpt+gzip")
    );
    assert_eq!(
        read(&requests[0].body, Container::Gzip).expect("gzip report"),
        [report()]
    );
}

#[tokio::test]
async fn rpt_del_05_non_2xx_status_is_a_failure() {
    let (_server, _, result) = post_to(503).await;
    let failures = result.expect_err("503");
    assert!(
        matches!(failures[0].1, DeliveryError::Status { status: 503, .. }),
        "{failures:?}"
    );
}

/// A signer from PEM files made as docs/tlsrpt.md says (`openssl genpkey`), and its record.
fn dkim_from_pem(pem: &str, p: &str, k: &str) -> (Dkim, String) {
    let key = dkim_key_from_pem(pem.as_bytes()).expect("PEM key");
    let record = format!("v=DKIM1; k={k}; s=tlsrpt; p={}", p.trim());
    (Dkim::new(key, &name("example.net"), SELECTOR), record)
}

#[tokio::test]
async fn rpt_del_03_openssl_rsa_and_ed25519_keys_sign_verifiable_mails() {
    let signers = [
        (
            include_str!("data/dkim-rsa.pem"),
            include_str!("data/dkim-rsa.p"),
            "rsa",
            "a=rsa-sha256",
        ),
        (
            include_str!("data/dkim-ed25519.pem"),
            include_str!("data/dkim-ed25519.p"),
            "ed25519",
            "a=ed25519-sha256",
        ),
    ];
    for (pem, p, k, algorithm) in signers {
        let server = mailbox().await;
        let (dkim, record) = dkim_from_pem(pem, p, k);
        let deliverer = deliverer(server.local_addr(), dkim);
        let domain = name("example.org");
        let rua = [ReportUri::parse("mailto:tlsrpt@example.org").expect("uri")];
        deliverer
            .deliver(
                &Outgoing {
                    policy_domain: &domain,
                    rua: &rua,
                    report: &report(),
                    file_name: "x.json.gz",
                },
                datetime!(2026-12-06 01:00 UTC),
            )
            .await
            .expect("delivered");
        let data = &server.messages()[0].data;
        assert!(String::from_utf8_lossy(data).contains(algorithm), "{k}");
        assert!(dkim_verifies(data, &record).await, "{k} signature verifies");
    }
}

#[test]
fn rpt_del_03_pem_without_a_key_is_refused() {
    assert!(dkim_key_from_pem(b"not a key").is_err());
}

/// RPT-DEL-05: a reporter MAY ignore certificate errors on POST. The receiver at
/// `https://127.0.0.1:<port>/` shows a certificate for another name from the testbed CA:
/// refused with the WebPKI roots and with the testbed root trusted (the name does not match),
/// accepted with `https_ignore_certificate_errors`.
#[tokio::test]
async fn rpt_del_05_certificate_errors_are_ignored_only_when_configured() {
    let pki = crate::support::pki();
    let leaf = crate::support::leaf(&pki, LeafSpec::new(["reports.example.org"]));
    let host = PolicyHost::new(
        "reports.example.org",
        &leaf,
        ServedChain::LeafAndIntermediate,
        Reply::body(200, None, ""),
    )
    .path("/tlsrpt")
    .accepts_post();
    let server = HttpsServer::start(
        "127.0.0.1:0".parse().expect("address"),
        Vec::new(),
        Some(host),
    )
    .await
    .expect("https server");
    let uri = format!("https://127.0.0.1:{}/tlsrpt", server.local_addr().port());
    let testbed_root = mxsec_net::trust::TrustConfig::webpki_roots()
        .add_ca_pem(
            std::path::Path::new("testbed-root.pem"),
            pki.root_pem().as_bytes(),
        )
        .expect("root");
    let domain = name("example.org");
    let rua = [ReportUri::parse(&uri).expect("uri")];
    let report = report();
    let outgoing = Outgoing {
        policy_domain: &domain,
        rua: &rua,
        report: &report,
        file_name: "x.json.gz",
    };
    for (trust, ignore, delivered) in [
        (mxsec_net::trust::TrustConfig::webpki_roots(), false, false),
        (testbed_root.clone(), false, false),
        (mxsec_net::trust::TrustConfig::webpki_roots(), true, true),
    ] {
        let (dkim, _) = ed25519_dkim();
        let mut deliverer = deliverer("127.0.0.1:9".parse().expect("address"), dkim);
        deliverer.http = https_client(report_tls(&trust, ignore).expect("tls")).expect("client");
        let result = deliverer
            .deliver(&outgoing, datetime!(2026-12-06 01:00 UTC))
            .await;
        assert_eq!(result.is_ok(), delivered, "ignore {ignore}: {result:?}");
        if let Err(failures) = result {
            assert!(
                matches!(failures[0].1, DeliveryError::Http { .. }),
                "{failures:?}"
            );
        }
    }
    assert_eq!(
        server.requests().len(),
        1,
        "only the ignoring client got through"
    );
}
