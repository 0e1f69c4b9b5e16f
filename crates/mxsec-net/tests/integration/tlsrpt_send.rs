//! Sending the day's reports (RFC 8460 §4.1, §5.5; RPT-TIME-01, RPT-DEL-06) from a real store
//! (SQLite file, `redis-server`), with the `rua` looked up in the testbed's signed DNS, mail
//! submitted to the testbed SMTP server as relay and POSTs to the testbed HTTPS server. Time
//! is a value: each step is given the instant it runs at.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mail_auth::common::crypto::{DkimKey, Ed25519Key};
use mxsec_net::dns::{Backend, Dns, DnsConfig, TrustAnchorSource};
use mxsec_net::proto::name::DomainName;
use mxsec_net::proto::tlsrpt::aggregate::Reporter;
use mxsec_net::proto::tlsrpt::ingest::{read, Container};
use mxsec_net::proto::tlsrpt::outbox::DeliveryStatus;
use mxsec_net::proto::tlsrpt::postfix_log::{LogTime, Relay, Trust};
use mxsec_net::proto::tlsrpt::sessions::{Session, SessionOutcome};
use mxsec_net::store::{RedisStore, ReportBatch, ReportStore, SqliteStore};
use mxsec_net::tlsrpt::deliver::{Deliverer, MailSetup};
use mxsec_net::tlsrpt::mail::Dkim;
use mxsec_net::tlsrpt::send::{Outcome, Progress, ReportSender, Transport};
use mxsec_testbed::dns::{DnsServer, Zone};
use mxsec_testbed::https::HttpsServer;
use mxsec_testbed::redis::RedisServer;
use mxsec_testbed::smtp::{MxBehaviour, SmtpServer, StartTls};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

use crate::tlsrpt_deliver::report_receiver;

const DAY: Date = date!(2026 - 12 - 05);
/// With a jitter of one half of four hours, the reports of `DAY` go out at 02:00 the day after.
const SEND_AT: OffsetDateTime = datetime!(2026-12-06 02:00 UTC);
const JITTER: f64 = 0.5;
const MAX_DELAY: Duration = Duration::from_secs(4 * 3600);

fn name(text: &str) -> DomainName {
    text.parse().expect("domain name")
}

/// A free loopback port, for a relay that is not there yet.
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
}

async fn relay_at(addr: SocketAddr) -> SmtpServer {
    SmtpServer::start(
        addr,
        MxBehaviour::new("relay.reporter.test", StartTls::NotOffered),
    )
    .await
    .expect("smtp relay")
}

/// The testbed's DNS, the HTTPS report receiver, and what the reporter needs to use them.
struct World {
    _dns_server: DnsServer,
    dns: Arc<Dns>,
    receiver: HttpsServer,
    http: reqwest::Client,
}

impl World {
    /// `mailto.test` wants mail, `https.test` POSTs; the submitter's own domain and one below
    /// it publish records too.
    async fn start() -> Self {
        let (receiver, http, uri) = report_receiver(200).await;
        let rua = |rua: &str| format!("v=TLSRPTv1; rua={rua}");
        let server = DnsServer::builder()
            .zone(Zone::new("mailto.test").txt(
                "_smtp._tls.mailto.test",
                &[&rua("mailto:tlsrpt@mailto.test")],
            ))
            .zone(Zone::new("https.test").txt("_smtp._tls.https.test", &[&rua(&uri)]))
            .zone(Zone::new("norecord.test"))
            .zone(
                Zone::new("reporter.test")
                    .txt(
                        "_smtp._tls.reporter.test",
                        &[&rua("mailto:tlsrpt@reporter.test")],
                    )
                    .txt(
                        "_smtp._tls.sub.reporter.test",
                        &[&rua("mailto:tlsrpt@reporter.test")],
                    ),
            )
            .start()
            .await
            .expect("dns server");
        let anchor = server.trust_anchor().dnskey_line().to_owned();
        let config = DnsConfig::builder()
            .backend(Backend::Validate)
            .nameserver(server.addr())
            .trust_anchor(TrustAnchorSource::Text(anchor))
            .timeout(Duration::from_secs(3))
            .build();
        let dns = Arc::new(Dns::new(&config).await.expect("dns"));
        Self {
            _dns_server: server,
            dns,
            receiver,
            http,
        }
    }

    fn sender(&self, store: Arc<dyn ReportStore>, relay: SocketAddr) -> ReportSender {
        self.sender_drawing(store, relay, JITTER)
    }

    /// A sender whose random share of the delay is `jitter`.
    fn sender_drawing(
        &self,
        store: Arc<dyn ReportStore>,
        relay: SocketAddr,
        jitter: f64,
    ) -> ReportSender {
        let pkcs8 = Ed25519Key::generate_pkcs8().expect("generate");
        let key = Ed25519Key::from_pkcs8_der(&pkcs8).expect("key");
        let submitter = name("reporter.test");
        let deliverer = Deliverer {
            submitter: submitter.clone(),
            mail: Some(MailSetup {
                relay: relay.to_string(),
                ehlo: submitter.clone(),
                from: "tlsrpt-noreply@reporter.test".into(),
                dkim: Dkim::new(DkimKey::Ed25519(key), &submitter, "tlsrpt"),
            }),
            http: self.http.clone(),
        };
        let reporter = Reporter {
            organization_name: "Reporter".into(),
            contact_info: "tlsrpt@reporter.test".into(),
            submitter,
            sending_ip: None,
        };
        ReportSender::new(
            store,
            self.dns.clone(),
            deliverer,
            reporter,
            MAX_DELAY,
            jitter,
        )
    }
}

/// Records one verified TLS session to each of `domains` on `DAY`.
async fn record(store: &dyn ReportStore, domains: &[&str]) {
    let mut batch = ReportBatch::default();
    for domain in domains {
        let session = Session {
            time: LogTime::Exact(datetime!(2026-12-05 10:00 UTC)),
            domain: name(domain),
            mx_host: format!("mx.{domain}"),
            relay: Some(Relay {
                host: format!("mx.{domain}"),
                ip: "192.0.2.25".parse().expect("address"),
            }),
            outcome: SessionOutcome::Tls {
                trust: Trust::Verified,
                verify: None,
            },
        };
        batch.change(DAY, name(domain), move |r| r.add_session(&session));
    }
    store.apply(batch).await.expect("record");
}

async fn sqlite() -> (Arc<dyn ReportStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(dir.path().join("policies.sqlite"))
        .await
        .expect("open SQLite store");
    (Arc::new(store), dir)
}

async fn redis(server: &RedisServer) -> Arc<dyn ReportStore> {
    Arc::new(
        RedisStore::connect(&server.url(), "mxsec-test:sts:")
            .await
            .expect("connect to redis-server"),
    )
}

fn sent(progress: &Progress) -> Vec<(String, Transport)> {
    progress
        .attempts
        .iter()
        .filter_map(|a| match &a.outcome {
            Outcome::Sent { transport, .. } => Some((a.policy_domain.to_string(), *transport)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_time_01_reports_go_out_after_the_random_delay_and_once() {
    let world = World::start().await;
    let relay = relay_at("127.0.0.1:0".parse().expect("address")).await;
    let (store, _dir) = sqlite().await;
    record(
        store.as_ref(),
        &["mailto.test", "https.test", "norecord.test"],
    )
    .await;
    let mut sender = world.sender(store.clone(), relay.local_addr());
    assert_eq!(sender.send_time(DAY), SEND_AT);

    // Before the day ends, and after midnight but before the delay: nothing.
    for now in [
        datetime!(2026-12-05 23:59 UTC),
        datetime!(2026-12-06 01:59:59 UTC),
    ] {
        let progress = sender.step(now).await.expect("step");
        assert_eq!(progress, Progress::default(), "{now}");
    }
    assert!(relay.messages().is_empty());

    let progress = sender.step(SEND_AT).await.expect("step");
    assert_eq!(progress.built, 3);
    assert_eq!(progress.unaddressed, [name("norecord.test")]);
    assert_eq!(
        sent(&progress),
        [
            ("https.test".to_owned(), Transport::Https),
            ("mailto.test".to_owned(), Transport::Mailto),
        ]
    );
    assert_eq!(progress.pending, 0);

    let messages = relay.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].rcpt_to, ["<tlsrpt@mailto.test>"]);
    let mailed = read(&messages[0].data, Container::Email).expect("mailed report");
    assert_eq!(
        mailed[0].policies[0].policy.policy_domain.as_str(),
        "mailto.test"
    );
    let posts = world.receiver.requests();
    assert_eq!(posts.len(), 1);
    let posted = read(&posts[0].body, Container::Gzip).expect("posted report");
    assert_eq!(
        posted[0].policies[0].policy.policy_domain.as_str(),
        "https.test"
    );

    // Delivered: later steps, and a restarted sender, send nothing again.
    let later = sender
        .step(datetime!(2026-12-06 03:00 UTC))
        .await
        .expect("step");
    assert!(later.attempts.is_empty() && later.pending == 0, "{later:?}");
    let mut restarted = world.sender(store.clone(), relay.local_addr());
    let again = restarted
        .step(datetime!(2026-12-06 03:00 UTC))
        .await
        .expect("step");
    assert_eq!(again.built, 3);
    assert!(again.attempts.is_empty(), "{again:?}");
    assert_eq!(relay.messages().len(), 1);
    assert_eq!(world.receiver.requests().len(), 1);
    let states = store.deliveries(DAY).await.expect("deliveries");
    assert!(states.iter().all(|(_, s)| s.status == DeliveryStatus::Sent));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_time_01_no_report_about_the_submitters_own_domains() {
    let world = World::start().await;
    let relay = relay_at("127.0.0.1:0".parse().expect("address")).await;
    let (store, _dir) = sqlite().await;
    record(store.as_ref(), &["reporter.test", "sub.reporter.test"]).await;
    let mut sender = world.sender(store, relay.local_addr());
    let progress = sender.step(SEND_AT).await.expect("step");
    assert_eq!(progress, Progress::default());
    assert!(relay.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_del_06_relay_down_is_retried_with_back_off_then_delivered() {
    let world = World::start().await;
    let relay_addr = free_port();
    let (store, _dir) = sqlite().await;
    record(store.as_ref(), &["mailto.test"]).await;
    let mut sender = world.sender(store.clone(), relay_addr);

    let first = sender.step(SEND_AT).await.expect("step");
    let [attempt] = first.attempts.as_slice() else {
        panic!("one attempt: {first:?}");
    };
    let Outcome::Retry { at, failures } = &attempt.outcome else {
        panic!("a retry: {attempt:?}");
    };
    assert_eq!(*at, datetime!(2026-12-06 02:05 UTC));
    assert_eq!(failures[0].transport, Some(Transport::Mailto));
    assert_eq!(first.pending, 1);

    // Not before the back-off is over.
    let early = sender
        .step(datetime!(2026-12-06 02:04 UTC))
        .await
        .expect("step");
    assert!(early.attempts.is_empty());
    assert_eq!(early.pending, 1);

    let relay = relay_at(relay_addr).await;
    let second = sender.step(*at).await.expect("step");
    assert_eq!(
        sent(&second),
        [("mailto.test".to_owned(), Transport::Mailto)]
    );
    assert_eq!(second.pending, 0);
    assert_eq!(relay.messages().len(), 1);
    let states = store.deliveries(DAY).await.expect("deliveries");
    assert_eq!(states[0].1.attempts, 2);
    assert_eq!(states[0].1.status, DeliveryStatus::Sent);
    assert_eq!(
        states[0].1.delivered_to.as_deref(),
        Some("mailto:tlsrpt@mailto.test")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_del_06_gives_up_after_24_hours() {
    let world = World::start().await;
    let (store, _dir) = sqlite().await;
    record(store.as_ref(), &["mailto.test"]).await;
    let mut sender = world.sender(store.clone(), free_port());
    let mut now = SEND_AT;
    let mut attempts = 0;
    loop {
        let progress = sender.step(now).await.expect("step");
        let [attempt] = progress.attempts.as_slice() else {
            panic!("one attempt at {now}: {progress:?}");
        };
        attempts += 1;
        match &attempt.outcome {
            Outcome::Retry { at, .. } => {
                assert_eq!(progress.pending, 1);
                now = *at;
            }
            Outcome::GaveUp { failures } => {
                assert_eq!(failures.len(), 1);
                assert_eq!(progress.pending, 0);
                break;
            }
            other => panic!("{other:?}"),
        }
        assert!(attempts < 32);
    }
    assert!(now <= SEND_AT + time::Duration::hours(24), "{now}");
    assert!(attempts >= 8, "{attempts}");
    let states = store.deliveries(DAY).await.expect("deliveries");
    assert_eq!(states[0].1.status, DeliveryStatus::Failed);
    assert_eq!(states[0].1.attempts, attempts);
    // Nothing more, to the end of the window.
    let after = sender
        .step(datetime!(2026-12-07 23:59 UTC))
        .await
        .expect("step");
    assert!(after.attempts.is_empty() && after.pending == 0, "{after:?}");
}

/// A daemon restarted while a report waits for its retry takes it up from the shared store at
/// the retry time, and sends it once; two reporters sharing the store send it once too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpt_del_06_restart_mid_retry_resumes_from_the_store_without_duplicate() {
    let world = World::start().await;
    let redis_server = match RedisServer::start() {
        Ok(server) => server,
        Err(e) => panic!("the Redis store tests need a real redis-server: {e}"),
    };
    let store = redis(&redis_server).await;
    record(store.as_ref(), &["mailto.test"]).await;
    let relay_addr = free_port();
    let mut before = world.sender(store.clone(), relay_addr);
    let first = before.step(SEND_AT).await.expect("step");
    assert!(matches!(first.attempts[0].outcome, Outcome::Retry { .. }));
    drop(before);

    let relay = relay_at(relay_addr).await;
    // The restarted senders drew another delay (send time 03:36): the day's delivery has
    // begun, so its retry does not wait for it.
    let mut one = world.sender_drawing(redis(&redis_server).await, relay_addr, 0.9);
    let mut two = world.sender_drawing(redis(&redis_server).await, relay_addr, 0.9);
    assert_eq!(one.send_time(DAY), datetime!(2026-12-06 03:36 UTC));
    // Restarted before the retry time: it waits.
    let waiting = one
        .step(datetime!(2026-12-06 02:03 UTC))
        .await
        .expect("step");
    assert!(waiting.attempts.is_empty());
    assert_eq!(waiting.pending, 1);
    let retry = datetime!(2026-12-06 02:05 UTC);
    let (a, b) = tokio::join!(one.step(retry), two.step(retry));
    let (a, b) = (a.expect("step"), b.expect("step"));
    let sends = sent(&a).len() + sent(&b).len();
    assert_eq!(sends, 1, "{a:?} {b:?}");
    assert_eq!(relay.messages().len(), 1);
    for sender in [&mut one, &mut two] {
        let later = sender
            .step(datetime!(2026-12-06 12:00 UTC))
            .await
            .expect("step");
        assert!(later.attempts.is_empty(), "{later:?}");
    }
    assert_eq!(relay.messages().len(), 1);
}
