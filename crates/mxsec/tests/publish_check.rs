//! What mxsec publishes passes mxsec's own checker. Each test builds a domain on the testbed
//! (a signed zone, an MX host with STARTTLS on IPv4 and IPv6, a policy host), lets
//! `mxsec tlsa` or `mxsec sts init` produce the records and the policy, publishes exactly that
//! output, and runs `mxsec check --json` against the domain as a user would. The deliberately
//! wrong variants must fail with the finding ID of the catalogue that names the mistake.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::SystemTime;

use mxsec_check::report::{DaneVerdict, Delivery, StsVerdict};
use mxsec_check::Report;
use mxsec_check::Severity;
use mxsec_proto::conformance::ConformanceId;
use mxsec_proto::dane::tlsa::TlsaRecord;
use mxsec_testbed::dns::{DnsServer, Zone};
use mxsec_testbed::https::{HttpsServer, PolicyHost, Reply};
use mxsec_testbed::pki::{Leaf, LeafKey, LeafSpec, ServedChain, TestPki};
use mxsec_testbed::smtp::{Credentials, MxBehaviour, SmtpServer, TlsIdentity};

/// Published addresses of the MX host and the policy host. They are loopback and
/// unique-local addresses like the testbed's own, reached through the address map.
const MX_V4: Ipv4Addr = Ipv4Addr::new(127, 0, 77, 25);
const MX_V6: Ipv6Addr = Ipv6Addr::new(0xfd6d, 0x7873, 0x6563, 0x77, 0, 0, 0, 0x25);
const STS_V4: Ipv4Addr = Ipv4Addr::new(127, 0, 77, 43);

/// A domain of the testbed that publishes what the test puts into it.
struct Site {
    domain: String,
    mx: String,
    pki: TestPki,
    leaf: Leaf,
    dns: DnsServer,
    /// The SMTP servers behind the MX host's IPv4 and IPv6 addresses.
    smtp: Vec<SmtpServer>,
    /// The testbed policy host, if the test serves the policy with one.
    https: Option<HttpsServer>,
    /// Where the policy host's published address leads, once there is one.
    policy_host: Option<SocketAddr>,
    /// The TLSA records at `_25._tcp.<mx>`.
    tlsa: Vec<TlsaRecord>,
    /// The TXT records at `_mta-sts.<domain>`.
    sts_txt: Vec<String>,
    dir: tempfile::TempDir,
}

impl Site {
    /// A signed zone with one MX host `mx.<domain>` on IPv4 and IPv6, presenting a valid
    /// certificate (leaf and intermediate) after STARTTLS. No TLSA, no MTA-STS yet.
    async fn start(domain: &str) -> Self {
        let pki = TestPki::generate(SystemTime::now()).unwrap();
        let mx = format!("mx.{domain}");
        let leaf = pki.issue(&LeafSpec::new([mx.as_str()])).unwrap();
        let smtp = serve_mx(&mx, &leaf).await;
        let mut site = Self {
            domain: domain.to_owned(),
            mx,
            pki,
            leaf,
            dns: DnsServer::builder()
                .zone(Zone::new(domain))
                .start()
                .await
                .unwrap(),
            smtp,
            https: None,
            policy_host: None,
            tlsa: Vec::new(),
            sts_txt: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        };
        site.publish();
        site
    }

    /// The zone as it stands: MX, addresses, and whatever TLSA and TXT records were added.
    fn zone(&self) -> Zone {
        let mut zone = Zone::new(&self.domain)
            .mx(10, &self.mx)
            .a(&self.mx, MX_V4)
            .aaaa(&self.mx, MX_V6);
        let tlsa_owner = format!("_25._tcp.{}", self.mx);
        for record in &self.tlsa {
            zone = zone.tlsa(&tlsa_owner, record);
        }
        if self.policy_host.is_some() {
            zone = zone.a(&format!("mta-sts.{}", self.domain), STS_V4);
        }
        let txt_owner = format!("_mta-sts.{}", self.domain);
        for text in &self.sts_txt {
            zone = zone.txt(&txt_owner, &[text.as_str()]);
        }
        zone
    }

    /// Serves the current zone and writes the files the command line needs: the trust
    /// anchor, the CA and the address map.
    fn publish(&mut self) {
        self.dns.set_zones(&[self.zone()]).unwrap();
        self.dns
            .trust_anchor()
            .write_files(self.dir.path())
            .unwrap();
        std::fs::write(self.ca_file(), self.pki.root_pem()).unwrap();
        let mut map = format!(
            "{} {}\n{} {}\n",
            SocketAddr::new(IpAddr::V4(MX_V4), 25),
            self.smtp[0].local_addr(),
            SocketAddr::new(IpAddr::V6(MX_V6), 25),
            self.smtp[1].local_addr(),
        );
        if let Some(local) = self.policy_host {
            map.push_str(&format!(
                "{} {local}\n",
                SocketAddr::new(IpAddr::V4(STS_V4), 443),
            ));
        }
        std::fs::write(self.connect_map(), map).unwrap();
    }

    fn trust_anchor(&self) -> PathBuf {
        self.dir.path().join("root-ds.key")
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn connect_map(&self) -> PathBuf {
        self.dir.path().join("connect-map.txt")
    }

    /// Publishes the TLSA records of `mxsec tlsa` output (zone-file lines), exactly as
    /// printed.
    fn publish_tlsa(&mut self, zone_lines: &str) {
        let owner = format!("_25._tcp.{}. ", self.mx);
        self.tlsa = zone_lines
            .lines()
            .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
            .map(|l| {
                assert!(l.starts_with(&owner), "{l}");
                let (_, rdata) = l.split_once(" IN TLSA ").unwrap();
                rdata.parse().unwrap()
            })
            .collect();
        self.publish();
    }

    /// Starts the policy host `mta-sts.<domain>`, with a valid certificate, serving `policy`
    /// as `text/plain`, and publishes `txt` at `_mta-sts.<domain>`.
    async fn publish_sts(&mut self, policy: Vec<u8>, txt: &[&str]) {
        let host = format!("mta-sts.{}", self.domain);
        let leaf = self.pki.issue(&LeafSpec::new([host.as_str()])).unwrap();
        let policy_host = PolicyHost::new(
            &host,
            &leaf,
            ServedChain::LeafAndIntermediate,
            Reply::policy(policy),
        );
        let https = HttpsServer::start("127.0.0.1:0".parse().unwrap(), vec![policy_host], None)
            .await
            .unwrap();
        self.route_policy_host(https.local_addr(), txt);
        self.https = Some(https);
    }

    /// Publishes `mta-sts.<domain>`, served by the listener at `local`, and `txt` at
    /// `_mta-sts.<domain>`.
    fn route_policy_host(&mut self, local: SocketAddr, txt: &[&str]) {
        self.policy_host = Some(local);
        self.sts_txt = txt.iter().map(|t| (*t).to_owned()).collect();
        self.publish();
    }

    /// Replaces the MX host's servers by ones presenting `leaf` (a certificate renewal).
    async fn serve_leaf(&mut self, leaf: Leaf) {
        self.smtp = serve_mx(&self.mx, &leaf).await;
        self.leaf = leaf;
        self.publish();
    }

    /// Runs `mxsec ARGS` with this site's DNS, trust anchor, CA and address map.
    async fn mxsec(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mxsec"));
        command
            .args(args)
            .args(["--resolver", &self.dns.addr().to_string()])
            .arg("--trust-anchor")
            .arg(self.trust_anchor())
            .arg("--ca-file")
            .arg(self.ca_file())
            .arg("--connect-map")
            .arg(self.connect_map())
            .args(["--timeout", "5"]);
        // The servers run on this test's runtime; the command blocks another thread.
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    }

    /// `mxsec check --json DOMAIN`, parsed.
    async fn check(&self) -> (Report, Output) {
        let out = self
            .mxsec(&["check", "--allow-private", "--json", &self.domain])
            .await;
        let report: Report = serde_json::from_str(stdout(&out).trim())
            .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
        (report, out)
    }

    /// `mxsec sts init DOMAIN --write FILE`, from the domain's MX records: the policy file
    /// and the TXT record, exactly as printed.
    async fn sts_init(&self, extra: &[&str]) -> (Vec<u8>, String) {
        let file = self.dir.path().join("mta-sts.txt");
        let mut args = vec!["sts", "init", &self.domain, "--write", path_str(&file)];
        args.extend_from_slice(extra);
        let out = self.mxsec(&args).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        let prefix = format!("_mta-sts.{}. IN TXT \"", self.domain);
        let txt = text
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap_or_else(|| panic!("no TXT record line in {text}"))
            .to_owned();
        (std::fs::read(&file).unwrap(), txt)
    }
}

/// SMTP servers for `mx` on IPv4 and IPv6 loopback, presenting `leaf` and its intermediate
/// after STARTTLS.
async fn serve_mx(mx: &str, leaf: &Leaf) -> Vec<SmtpServer> {
    let identity = TlsIdentity::new(Credentials::new(
        leaf.served_chain(ServedChain::LeafAndIntermediate),
        leaf.private_key_der(),
    ));
    let mut servers = Vec::new();
    for bind in ["127.0.0.1:0", "[::1]:0"] {
        let behaviour = MxBehaviour::tls(mx, identity.clone());
        servers.push(
            SmtpServer::start(bind.parse().unwrap(), behaviour)
                .await
                .unwrap(),
        );
    }
    servers
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn errors(report: &Report) -> Vec<&str> {
    report.finding_ids(&[Severity::Error]).into_iter().collect()
}

/// Every finding, one per line, for assertion messages.
fn findings(report: &Report) -> String {
    report
        .findings
        .iter()
        .map(|f| format!("{} {:?} {:?}: {}\n", f.id, f.severity, f.kind, f.message))
        .collect()
}

/// Whether the report has a finding with this ID and severity.
fn has(report: &Report, id: ConformanceId, severity: Severity) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.id == id && f.severity == severity)
}

// ---- DANE: mxsec tlsa ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dane_tlsa_03_records_from_the_live_mx_published_pass_check() {
    let mut site = Site::start("tlsa-ok.test").await;
    let out = site
        .mxsec(&["tlsa", "--from-mx", &site.mx, "--allow-private"])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    site.publish_tlsa(&stdout(&out));
    // The default pair: 3 1 1 for the key and 2 1 1 for the issuer (DANE-TLSA-03).
    let kinds: Vec<String> = site
        .tlsa
        .iter()
        .map(|r| r.to_string()[..5].to_owned())
        .collect();
    assert_eq!(kinds, ["3 1 1", "2 1 1"]);

    let (report, out) = site.check().await;
    assert_eq!(out.status.code(), Some(0), "{}", findings(&report));
    assert!(errors(&report).is_empty(), "{}", findings(&report));
    assert_eq!(report.verdict.dane, DaneVerdict::Usable);
    assert_eq!(report.verdict.delivery, Delivery::Authenticated);
    // Both addresses of the MX host authenticate (DANE-AUTH-01), and nothing in the DANE
    // area is even a warning.
    let authenticated = report
        .findings
        .iter()
        .filter(|f| f.id == ConformanceId::DaneAuth01 && f.severity == Severity::Pass)
        .count();
    assert_eq!(authenticated, 2, "{}", findings(&report));
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.area == mxsec_check::catalogue::Area::Dane
                && matches!(f.severity, Severity::Warning | Severity::Error)),
        "{}",
        findings(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dane_tlsa_03_records_from_the_certificate_file_published_pass_check() {
    let mut site = Site::start("tlsa-file.test").await;
    let chain = site.dir.path().join("fullchain.pem");
    std::fs::write(
        &chain,
        site.leaf.chain_pem(ServedChain::LeafAndIntermediate),
    )
    .unwrap();
    let out = site.mxsec(&["tlsa", path_str(&chain)]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    site.publish_tlsa(&stdout(&out));
    assert_eq!(site.tlsa.len(), 2);

    let (report, out) = site.check().await;
    assert_eq!(out.status.code(), Some(0), "{}", findings(&report));
    assert!(errors(&report).is_empty(), "{}", findings(&report));
    assert_eq!(report.verdict.dane, DaneVerdict::Usable);
    assert_eq!(report.verdict.delivery, Delivery::Authenticated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dane_tlsa_04_record_for_another_key_fails_check_with_d_01() {
    let mut site = Site::start("tlsa-wrong.test").await;
    // A certificate for the same name with another key: what an administrator has after a
    // renewal that changed the key, or from the wrong server.
    let other = site.pki.issue(&LeafSpec::new([site.mx.as_str()])).unwrap();
    assert_ne!(other.key().spki_der(), site.leaf.key().spki_der());
    let pem = site.dir.path().join("other.pem");
    std::fs::write(&pem, other.chain_pem(ServedChain::LeafOnly)).unwrap();
    let out = site
        .mxsec(&["tlsa", path_str(&pem), "--type", "3 1 1"])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    site.publish_tlsa(&stdout(&out));
    assert_eq!(site.tlsa.len(), 1);

    let (report, out) = site.check().await;
    assert_eq!(out.status.code(), Some(1), "{}", findings(&report));
    // D-01: no TLSA record matches the served certificate, on both addresses.
    assert!(
        has(&report, ConformanceId::D01, Severity::Error),
        "{}",
        findings(&report)
    );
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.id == ConformanceId::DaneAuth01),
        "{}",
        findings(&report)
    );
    // The records are usable, so a DANE sender requires them and defers (DANE-AUTH-06).
    assert_eq!(report.verdict.dane, DaneVerdict::Usable);
    assert_eq!(report.verdict.delivery, Delivery::Deferred);
}

// ---- MTA-STS: mxsec sts init --------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_pol_07_policy_and_record_from_sts_init_published_pass_check() {
    let mut site = Site::start("sts-ok.test").await;
    let (policy, txt) = site.sts_init(&[]).await;
    site.publish_sts(policy, &[&txt]).await;

    let (report, out) = site.check().await;
    assert_eq!(out.status.code(), Some(0), "{}", findings(&report));
    assert!(errors(&report).is_empty(), "{}", findings(&report));
    // `sts init` starts in testing mode (STS-OPS-01), and the policy covers the MX host
    // (STS-VAL-01) whose certificate passes on both addresses (STS-VAL-02).
    assert_eq!(report.verdict.mta_sts, StsVerdict::Testing);
    assert!(
        has(&report, ConformanceId::StsVal01, Severity::Pass),
        "{}",
        findings(&report)
    );
    let passes = report
        .findings
        .iter()
        .filter(|f| f.id == ConformanceId::StsVal02 && f.severity == Severity::Pass)
        .count();
    assert_eq!(passes, 2, "{}", findings(&report));
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.area == mxsec_check::catalogue::Area::MtaSts
                && matches!(f.severity, Severity::Warning | Severity::Error)),
        "{}",
        findings(&report)
    );
    // The checker fetched the policy from the policy host the test started.
    assert!(!site.https.as_ref().unwrap().requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_val_01_policy_whose_mx_does_not_cover_the_mx_fails_check_with_m_05() {
    let mut site = Site::start("sts-mx.test").await;
    // The policy written for another MX set: the domain's real MX host matches no pattern.
    let (policy, txt) = site.sts_init(&["--mx", "mail.sts-mx.test"]).await;
    assert!(String::from_utf8_lossy(&policy).contains("mx: mail.sts-mx.test"));
    site.publish_sts(policy, &[&txt]).await;

    let (report, _) = site.check().await;
    assert_eq!(report.verdict.mta_sts, StsVerdict::Testing);
    // Under `testing` the uncovered MX host is a warning (M-05); nothing says it is covered.
    assert!(
        has(&report, ConformanceId::M05, Severity::Warning),
        "{}",
        findings(&report)
    );
    assert!(
        !has(&report, ConformanceId::StsVal01, Severity::Pass),
        "{}",
        findings(&report)
    );

    // The same mistake under `enforce` is an error: senders skip the host.
    let enforce = String::from_utf8(std::fs::read(site.dir.path().join("mta-sts.txt")).unwrap())
        .unwrap()
        .replace("mode: testing", "mode: enforce");
    let mut site = Site::start("sts-mx-enforce.test").await;
    site.publish_sts(
        enforce
            .replace("sts-mx.test", "sts-mx-enforce.test")
            .into_bytes(),
        &[&txt],
    )
    .await;
    let (report, out) = site.check().await;
    assert_eq!(out.status.code(), Some(1), "{}", findings(&report));
    assert_eq!(report.verdict.mta_sts, StsVerdict::Enforce);
    assert!(
        has(&report, ConformanceId::M05, Severity::Error),
        "{}",
        findings(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_txt_03_record_with_a_broken_id_fails_check_with_sts_txt_03() {
    let mut site = Site::start("sts-id.test").await;
    let (policy, txt) = site.sts_init(&[]).await;
    // A hyphen in the id, as a date typed by hand would have it.
    let (head, _) = txt.split_once("id=").unwrap();
    let broken = format!("{head}id=2026-11-29;");
    site.publish_sts(policy, &[&broken]).await;

    let (report, out) = site.check().await;
    assert_eq!(out.status.code(), Some(1), "{}", findings(&report));
    assert!(
        has(&report, ConformanceId::StsTxt03, Severity::Error),
        "{}",
        findings(&report)
    );
    assert_eq!(report.verdict.mta_sts, StsVerdict::Invalid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_txt_02_record_with_broken_syntax_fails_check_with_sts_txt_02() {
    let mut site = Site::start("sts-syntax.test").await;
    let (policy, txt) = site.sts_init(&[]).await;
    // The version field moved behind the id: the record no longer begins with `v=STSv1`.
    let id = txt.split_once("id=").unwrap().1.trim_end_matches(';');
    let broken = format!("id={id}; v=STSv1;");
    site.publish_sts(policy, &[&broken]).await;

    let (report, out) = site.check().await;
    assert_eq!(out.status.code(), Some(1), "{}", findings(&report));
    assert!(
        has(&report, ConformanceId::StsTxt02, Severity::Error),
        "{}",
        findings(&report)
    );
    assert_eq!(report.verdict.mta_sts, StsVerdict::Invalid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dane_ops_01_next_key_published_ahead_passes_check_before_and_after_the_rollover() {
    let mut site = Site::start("rollover.test").await;
    let chain = site.dir.path().join("fullchain.pem");
    std::fs::write(
        &chain,
        site.leaf.chain_pem(ServedChain::LeafAndIntermediate),
    )
    .unwrap();
    let next_key = LeafKey::generate(Default::default()).unwrap();
    let next_file = site.dir.path().join("next.key");
    std::fs::write(&next_file, next_key.private_key_pem()).unwrap();
    let out = site
        .mxsec(&["tlsa", path_str(&chain), "--next-key", path_str(&next_file)])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    site.publish_tlsa(&stdout(&out));
    let ee = site
        .tlsa
        .iter()
        .filter(|r| r.to_string().starts_with("3 1 1 "))
        .count();
    assert_eq!((site.tlsa.len(), ee), (3, 2), "{}", stdout(&out));

    // Before the rollover: the current key authenticates, and the next one is in place
    // (no D-14 note).
    let (report, out) = site.check().await;
    assert_eq!(out.status.code(), Some(0), "{}", findings(&report));
    assert_eq!(report.verdict.delivery, Delivery::Authenticated);
    assert!(
        !has(&report, ConformanceId::D14, Severity::Info),
        "{}",
        findings(&report)
    );

    // The renewal switches to the next key; the records published ahead still pass.
    let renewed = site
        .pki
        .issue(&LeafSpec::new([site.mx.as_str()]).key(next_key))
        .unwrap();
    site.serve_leaf(renewed).await;
    let (report, out) = site.check().await;
    assert_eq!(out.status.code(), Some(0), "{}", findings(&report));
    assert!(errors(&report).is_empty(), "{}", findings(&report));
    let authenticated = report
        .findings
        .iter()
        .filter(|f| f.id == ConformanceId::DaneAuth01 && f.severity == Severity::Pass)
        .count();
    assert_eq!(authenticated, 2, "{}", findings(&report));
    assert_eq!(report.verdict.delivery, Delivery::Authenticated);

    // Had only the old key's `3 1 1` been published, the renewal breaks DANE: D-01.
    let out = site
        .mxsec(&["tlsa", path_str(&chain), "--type", "3 1 1"])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    site.publish_tlsa(&stdout(&out));
    let (report, out) = site.check().await;
    assert_eq!(out.status.code(), Some(1), "{}", findings(&report));
    assert!(
        has(&report, ConformanceId::D01, Severity::Error),
        "{}",
        findings(&report)
    );
    assert_eq!(report.verdict.delivery, Delivery::Deferred);
}

/// A running `mxsec sts serve`, stopped when dropped.
struct Served {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `mxsec sts serve --sites DIR` on an ephemeral loopback port.
fn start_serve(sites: &Path) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args(["sts", "serve", "--listen", "127.0.0.1:0", "--sites"])
        .arg(sites)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let line = lines.next().expect("sts serve printed nothing").unwrap();
    let addr = line
        .rsplit_once(" on ")
        .and_then(|(_, a)| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line: {line}"));
    // Keep reading standard error so that the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Served { child, addr }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_ops_02_policy_from_sts_init_hosted_by_sts_serve_passes_check() {
    let mut site = Site::start("served.test").await;
    let sites = site.dir.path().join("sites");
    let dir = sites.join("served.test");
    std::fs::create_dir_all(&dir).unwrap();
    let host = site
        .pki
        .issue(&LeafSpec::new(["mta-sts.served.test"]))
        .unwrap();
    std::fs::write(
        dir.join("fullchain.pem"),
        host.chain_pem(ServedChain::LeafAndIntermediate),
    )
    .unwrap();
    std::fs::write(dir.join("privkey.pem"), host.key().private_key_pem()).unwrap();
    let (policy, txt) = site.sts_init(&[]).await;
    std::fs::write(dir.join("mta-sts.txt"), &policy).unwrap();
    let served = tokio::task::spawn_blocking(move || start_serve(&sites))
        .await
        .unwrap();
    site.route_policy_host(served.addr, &[&txt]);

    let (report, out) = site.check().await;
    assert_eq!(out.status.code(), Some(0), "{}", findings(&report));
    assert!(errors(&report).is_empty(), "{}", findings(&report));
    assert_eq!(report.verdict.mta_sts, StsVerdict::Testing);
    // The policy host is published on IPv4 only; that fetch succeeds.
    let fetched: Vec<bool> = report
        .mta_sts
        .fetches
        .iter()
        .filter(|f| f.address.is_some())
        .map(|f| f.ok)
        .collect();
    assert_eq!(fetched, [true], "{:?}", report.mta_sts.fetches);
    let passes = report
        .findings
        .iter()
        .filter(|f| f.id == ConformanceId::StsVal02 && f.severity == Severity::Pass)
        .count();
    assert_eq!(passes, 2, "{}", findings(&report));
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.area == mxsec_check::catalogue::Area::MtaSts
                && matches!(f.severity, Severity::Warning | Severity::Error)),
        "{}",
        findings(&report)
    );
}
