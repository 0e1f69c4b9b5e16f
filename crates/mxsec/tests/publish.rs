//! The publishing commands, run as a user runs them: `mxsec tlsa`, `mxsec tlsa verify`,
//! `mxsec sts init`, `mxsec sts serve` (as a process, fetched by mxsec's own MTA-STS fetcher,
//! reloaded with SIGHUP, its certificate renewed on disk), `mxsec tlsrpt record` and
//! `mxsec tlsrpt read` over a directory of mixed reports.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use flate2::write::GzEncoder;
use flate2::Compression;
use mxsec_net::dial::{AddressMap, Dialer};
use mxsec_net::sts_fetch::{FetchFailure, FetchedPolicy, PolicyFetcher};
use mxsec_net::trust::TrustConfig;
use mxsec_proto::dane::matching::{self, ReferenceNames};
use mxsec_proto::dane::tlsa::TlsaRecord;
use mxsec_proto::dane::usable::{self, RrsetUsability};
use mxsec_proto::mta_sts::policy::Mode;
use mxsec_proto::name::DomainName;
use mxsec_proto::tlsrpt::report::{
    AppliedPolicy, DateRange, FailureDetail, PolicyResult, Report, ReportIp, Summary,
};
use mxsec_proto::tlsrpt::result_type::ResultType;
use mxsec_testbed::pki::{
    Intermediate, IssuedBy, Leaf, LeafKey, LeafSpec, ServedChain, TestPki, Validity,
};
use rustls_pki_types::UnixTime;

const APPENDIX_B: &str = include_str!("../../mxsec-proto/tests/data/rfc8460-appendix-b.json");

fn mxsec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn name(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn pki() -> TestPki {
    TestPki::generate(SystemTime::now()).unwrap()
}

// ---------------------------------------------------------------------------------------
// mxsec tlsa

fn write_chain(dir: &Path, file: &str, leaf: &Leaf) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, leaf.chain_pem(ServedChain::LeafAndIntermediate)).unwrap();
    path
}

/// The `u s m hex` part of the zone-file lines `mxsec tlsa` printed.
fn records_of(zone: &str) -> Vec<String> {
    zone.lines()
        .filter(|l| !l.starts_with(';'))
        .map(|l| l.split_once(" TLSA ").unwrap().1.to_owned())
        .collect()
}

#[test]
fn dane_tlsa_03_tlsa_prints_3_1_1_and_2_1_1_that_verify_against_the_server() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let leaf = pki.issue(&LeafSpec::new(["mx.example.test"])).unwrap();
    let chain = write_chain(dir.path(), "fullchain.pem", &leaf);
    let out = mxsec(&["tlsa", path_str(&chain), "--ttl", "3600"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let zone = stdout(&out);
    let lines: Vec<&str> = zone.lines().filter(|l| !l.starts_with(';')).collect();
    assert_eq!(lines.len(), 2, "{zone}");
    assert!(
        lines[0].starts_with("_25._tcp.mx.example.test. 3600 IN TLSA 3 1 1 "),
        "{zone}"
    );
    assert!(
        lines[1].starts_with("_25._tcp.mx.example.test. 3600 IN TLSA 2 1 1 "),
        "{zone}"
    );
    assert!(stderr(&out).contains("DANE-OPS-01"), "{}", stderr(&out));

    // The records authenticate the server under the matcher senders use, and `tlsa verify`
    // says which record matches which certificate.
    let records: Vec<TlsaRecord> = records_of(&zone)
        .iter()
        .map(|r| r.parse().unwrap())
        .collect();
    let RrsetUsability::Usable(set) = usable::classify(&records).usability else {
        panic!("unusable")
    };
    let presented = leaf.served_chain(ServedChain::LeafAndIntermediate);
    let names = ReferenceNames::new(name("mx.example.test"));
    assert!(matching::verify(&presented, &set, &names, UnixTime::now()).is_ok());
    let zone_file = dir.path().join("tlsa.zone");
    std::fs::write(&zone_file, &zone).unwrap();
    let out = mxsec(&[
        "tlsa",
        "verify",
        "--host",
        "mx.example.test",
        "--records",
        path_str(&zone_file),
        "--cert",
        path_str(&chain),
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("3 1 1 ")
            && text.contains("matches the server certificate (certificate 1 of the chain)"),
        "{text}"
    );
    assert!(
        text.contains("matches issuer")
            && text.contains("(certificate 2 of the chain), name mx.example.test checked"),
        "{text}"
    );
    assert!(
        text.contains("mx.example.test: authenticated by DANE"),
        "{text}"
    );
}

#[test]
fn d_01_renewal_with_a_new_key_fails_3_1_1_unless_the_next_key_was_pre_published() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let leaf = pki.issue(&LeafSpec::new(["mx.example.test"])).unwrap();
    let chain = write_chain(dir.path(), "fullchain.pem", &leaf);
    let next_key = LeafKey::generate(Default::default()).unwrap();
    let next_file = dir.path().join("next.key");
    std::fs::write(&next_file, next_key.private_key_pem()).unwrap();

    // Only 3 1 1, without and with the next key.
    let only_ee = mxsec(&["tlsa", path_str(&chain), "--type", "3 1 1"]);
    let with_next = mxsec(&[
        "tlsa",
        path_str(&chain),
        "--type",
        "3 1 1",
        "--next-key",
        path_str(&next_file),
    ]);
    assert!(with_next.status.success(), "{}", stderr(&with_next));
    assert!(!stderr(&with_next).contains("DANE-OPS-01"));
    assert_eq!(records_of(&stdout(&with_next)).len(), 2);

    let renewed = pki
        .issue(&LeafSpec::new(["mx.example.test"]).key(next_key))
        .unwrap();
    let renewed_chain = write_chain(dir.path(), "renewed.pem", &renewed);
    let verify = |zone: &str| {
        let file = dir.path().join("records.zone");
        std::fs::write(&file, zone).unwrap();
        mxsec(&[
            "tlsa",
            "verify",
            "--host",
            "mx.example.test",
            "--records",
            path_str(&file),
            "--cert",
            path_str(&renewed_chain),
        ])
    };
    let failed = verify(&stdout(&only_ee));
    assert_eq!(failed.status.code(), Some(1), "{}", stdout(&failed));
    assert!(
        stdout(&failed).contains("NOT authenticated"),
        "{}",
        stdout(&failed)
    );
    assert!(
        stderr(&failed).contains("DANE-TLSA-04"),
        "{}",
        stderr(&failed)
    );
    let passed = verify(&stdout(&with_next));
    assert!(passed.status.success(), "{}", stdout(&passed));
    assert!(
        stdout(&passed).contains("another record of this kind matches"),
        "{}",
        stdout(&passed)
    );

    // `3 0 1` is generated on request, with the D-01 warning, and breaks on a same-key reissue.
    let full = mxsec(&["tlsa", path_str(&chain), "--type", "3 0 1"]);
    assert!(stderr(&full).contains("(D-01)"), "{}", stderr(&full));
    let reissued = pki.reissue(&leaf, Validity::Valid).unwrap();
    let reissued_chain = write_chain(dir.path(), "reissued.pem", &reissued);
    let file = dir.path().join("full.zone");
    std::fs::write(&file, stdout(&full)).unwrap();
    let out = mxsec(&[
        "tlsa",
        "verify",
        "--host",
        "mx.example.test",
        "--records",
        path_str(&file),
        "--cert",
        path_str(&reissued_chain),
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn d_02_renewal_from_the_other_intermediate_matches_only_if_both_are_pinned() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let leaf = pki.issue(&LeafSpec::new(["mx.example.test"])).unwrap();
    let chain = write_chain(dir.path(), "fullchain.pem", &leaf);
    let other = dir.path().join("intermediate-b.pem");
    std::fs::write(&other, pki.intermediate(Intermediate::B).pem()).unwrap();
    let one = mxsec(&["tlsa", path_str(&chain), "--type", "2 1 1"]);
    let both = mxsec(&[
        "tlsa",
        path_str(&chain),
        "--type",
        "2 1 1",
        "--issuer",
        path_str(&other),
    ]);
    assert!(both.status.success(), "{}", stderr(&both));
    assert!(
        stdout(&both)
            .contains("; other issuing CA: O=mxsec testbed, CN=mxsec testbed issuing CA B"),
        "{}",
        stdout(&both)
    );

    let renewed = pki
        .issue(&LeafSpec::new(["mx.example.test"]).issued_by(IssuedBy::IntermediateB))
        .unwrap();
    let renewed_chain = write_chain(dir.path(), "renewed.pem", &renewed);
    let verify = |zone: &str| {
        let file = dir.path().join("records.zone");
        std::fs::write(&file, zone).unwrap();
        mxsec(&[
            "tlsa",
            "verify",
            "--host",
            "mx.example.test",
            "--records",
            path_str(&file),
            "--cert",
            path_str(&renewed_chain),
        ])
    };
    assert_eq!(verify(&stdout(&one)).status.code(), Some(1));
    let out = verify(&stdout(&both));
    assert!(out.status.success(), "{}", stdout(&out));
}

#[test]
fn d_13_many_records_are_flagged() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let leaf = pki.issue(&LeafSpec::new(["mx.example.test"])).unwrap();
    let chain = write_chain(dir.path(), "fullchain.pem", &leaf);
    let out = mxsec(&[
        "tlsa",
        path_str(&chain),
        "--type",
        "3 0 0",
        "--type",
        "2 0 0",
        "--type",
        "3 1 0",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("DANE-TLSA-06"), "{err}");
    assert!(err.contains("(D-13)") || err.contains("D-13"), "{err}");
}

// ---------------------------------------------------------------------------------------
// mxsec sts init / bump / serve

/// The published address of every policy host; the fetcher's dialer maps it to the server.
const PUBLISHED: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

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

fn start_serve(sites: &Path) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args([
            "sts",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--watch-interval",
            "1",
            "--sites",
            path_str(sites),
        ])
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
    // Keep reading stderr so that the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Served { child, addr }
}

fn fetcher(pki: &TestPki, addr: SocketAddr) -> PolicyFetcher {
    let trust = TrustConfig::empty()
        .add_ca_pem(Path::new("testbed-root.pem"), pki.root_pem().as_bytes())
        .unwrap();
    let mut map = AddressMap::new();
    map.insert(SocketAddr::new(PUBLISHED, 443), addr).unwrap();
    PolicyFetcher::new(
        &trust,
        Dialer::new(Duration::from_secs(5)).with_address_map(map),
    )
    .unwrap()
    .timeout(Duration::from_secs(5))
}

async fn fetch(fetcher: &PolicyFetcher, domain: &str) -> Result<FetchedPolicy, FetchFailure> {
    fetcher
        .fetch(&name(domain), PUBLISHED)
        .await
        .unwrap()
        .result
}

async fn eventually<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match probe().await {
            Ok(()) => return,
            Err(e) => assert!(Instant::now() < deadline, "{what}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn site_dir(root: &Path, domain: &str, leaf: &Leaf) -> PathBuf {
    let dir = root.join(domain);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("fullchain.pem"),
        leaf.chain_pem(ServedChain::LeafAndIntermediate),
    )
    .unwrap();
    std::fs::write(dir.join("privkey.pem"), leaf.key().private_key_pem()).unwrap();
    dir
}

#[tokio::test]
async fn sts_ops_02_sts_serve_hosts_init_policies_by_sni_reloads_on_sighup_and_renews_certificates()
{
    let pki = pki();
    let root = tempfile::tempdir().unwrap();
    // a.test: the policy written by `mxsec sts init`.
    let a = site_dir(
        root.path(),
        "a.test",
        &pki.issue(&LeafSpec::new(["mta-sts.a.test"])).unwrap(),
    );
    let init = mxsec(&[
        "sts",
        "init",
        "a.test",
        "--mx",
        "mx1.a.test",
        "--mx",
        "mx2.a.test",
        "--write",
        path_str(&a.join("mta-sts.txt")),
    ]);
    assert!(init.status.success(), "{}", stderr(&init));
    let text = stdout(&init);
    let txt = text
        .lines()
        .find(|l| l.starts_with("_mta-sts.a.test. IN TXT "))
        .unwrap();
    let record = txt.split('"').nth(1).unwrap();
    assert!(
        mxsec_proto::mta_sts::record::StsRecord::parse(record).is_ok(),
        "{record}"
    );
    assert!(
        text.contains("mode: enforce") && text.contains("STS-OPS-01"),
        "{text}"
    );
    // b.test: its certificate has expired.
    let b = site_dir(
        root.path(),
        "b.test",
        &pki.issue(&LeafSpec::new(["mta-sts.b.test"]).validity(Validity::Expired))
            .unwrap(),
    );
    std::fs::write(
        b.join("mta-sts.txt"),
        "version: STSv1\nmode: enforce\nmx: mx.b.test\nmax_age: 2419200\n",
    )
    .unwrap();

    let served = start_serve(root.path());
    let fetcher = fetcher(&pki, served.addr);
    let policy = fetch(&fetcher, "a.test").await.unwrap();
    assert_eq!(policy.policy.mode, Mode::Testing);
    assert_eq!(policy.policy.max_age, 86_400);
    assert!(policy.policy.matches(&name("mx2.a.test")));
    assert!(policy.warnings.is_empty(), "{:?}", policy.warnings);
    let failure = fetch(&fetcher, "b.test").await.unwrap_err();
    assert_eq!(
        failure.result_type(),
        ResultType::StsWebpkiInvalid,
        "{failure}"
    );

    // testing -> enforce, then SIGHUP: the new policy is served without a restart.
    let enforced = std::fs::read_to_string(a.join("mta-sts.txt"))
        .unwrap()
        .replace("mode: testing", "mode: enforce");
    std::fs::write(a.join("mta-sts.txt"), enforced).unwrap();
    let hup = Command::new("kill")
        .args(["-HUP", &served.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    eventually("policy reload on SIGHUP", || async {
        match fetch(&fetcher, "a.test").await {
            Ok(p) if p.policy.mode == Mode::Enforce => Ok(()),
            Ok(p) => Err(format!("still {}", p.policy.mode)),
            Err(e) => Err(e.to_string()),
        }
    })
    .await;

    // The ACME client renews b.test's certificate: picked up without a restart.
    let renewed = pki.issue(&LeafSpec::new(["mta-sts.b.test"])).unwrap();
    std::fs::write(b.join("privkey.pem"), renewed.key().private_key_pem()).unwrap();
    std::fs::write(
        b.join("fullchain.pem"),
        renewed.chain_pem(ServedChain::LeafAndIntermediate),
    )
    .unwrap();
    eventually("certificate renewal", || async {
        fetch(&fetcher, "b.test")
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
    assert!(fetch(&fetcher, "a.test").await.is_ok());
}

#[test]
fn sts_ops_01_bump_checks_the_policy_and_changes_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("mta-sts.txt");
    std::fs::write(
        &policy,
        "version: STSv1\nmode: enforced\nmx: mx.example.test\nmax_age: 86400\n",
    )
    .unwrap();
    let out = mxsec(&["sts", "bump", "example.test", "--policy", path_str(&policy)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("enforced"), "{}", stderr(&out));
    std::fs::write(
        &policy,
        "version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: 2419200\n",
    )
    .unwrap();
    let first = mxsec(&["sts", "bump", "example.test", "--policy", path_str(&policy)]);
    assert!(first.status.success(), "{}", stderr(&first));
    let line = stdout(&first);
    let id = line
        .split("id=")
        .nth(1)
        .unwrap()
        .trim()
        .trim_end_matches('"')
        .to_owned();
    let second = mxsec(&["sts", "bump", "example.test", "--current-id", &id]);
    assert!(
        !stdout(&second).contains(&format!("id={id}\"")),
        "{}",
        stdout(&second)
    );
}

// ---------------------------------------------------------------------------------------
// mxsec tlsrpt

#[test]
fn rpt_txt_03_record_is_percent_encoded_and_parses() {
    let out = mxsec(&[
        "tlsrpt",
        "record",
        "--rua",
        "mailto:tls,rpt@example.test,https://r.example.test/v1;x",
        "--domain",
        "example.test",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line = stdout(&out);
    assert_eq!(
        line.trim(),
        "_smtp._tls.example.test. IN TXT \"v=TLSRPTv1; rua=mailto:tls%2Crpt@example.test,https://r.example.test/v1%3Bx\""
    );
    let record = line.split('"').nth(1).unwrap();
    let parsed = mxsec_proto::tlsrpt::record::TlsRptRecord::parse(record).unwrap();
    assert_eq!(parsed.value.rua.len(), 2);
    let bad = mxsec(&["tlsrpt", "record", "--rua", "tls@example.test"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("no scheme"), "{}", stderr(&bad));
}

/// A report as a sending MTA writes it after a DANE failure it observed: the result type and
/// reason code come from mxsec's matcher run on testbed certificates.
fn dane_failure_report(
    pki: &TestPki,
    id: &str,
    renewed: &Leaf,
    records: &[TlsaRecord],
    sessions: u64,
) -> Report {
    let RrsetUsability::Usable(set) = usable::classify(records).usability else {
        panic!()
    };
    let names = ReferenceNames::new(name("mx.example.test"));
    let chain = renewed.served_chain(ServedChain::LeafAndIntermediate);
    let failure = matching::verify(&chain, &set, &names, UnixTime::now()).unwrap_err();
    let start = time::OffsetDateTime::from(pki.now()).replace_time(time::Time::MIDNIGHT);
    Report {
        organization_name: "sender.example".to_owned(),
        date_range: DateRange {
            start_datetime: start,
            end_datetime: start + time::Duration::seconds(86_399),
        },
        contact_info: "mailto:tlsrpt@sender.example".to_owned(),
        report_id: id.to_owned(),
        policies: vec![PolicyResult {
            policy: AppliedPolicy::tlsa(name("example.test"), &name("mx.example.test"), records),
            summary: Summary {
                total_successful_session_count: 0,
                total_failure_session_count: sessions,
            },
            failure_details: Some(vec![FailureDetail {
                result_type: failure.result_type(),
                sending_mta_ip: Some(ReportIp::from("192.0.2.25".parse::<IpAddr>().unwrap())),
                receiving_mx_hostname: Some("mx.example.test".to_owned()),
                receiving_mx_helo: None,
                receiving_ip: Some(ReportIp::from("127.0.0.1".parse::<IpAddr>().unwrap())),
                failed_session_count: sessions,
                additional_information: None,
                failure_reason_code: Some(failure.reason_code().to_owned()),
            }]),
        }],
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn email(report_gz: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(report_gz);
    let body: String = b64
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect();
    format!(
        "From: noreply@company-x.example\r\nSubject: Report Domain: company-y.example\r\n\
         TLS-Report-Domain: company-y.example\r\nTLS-Report-Submitter: company-x.example\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nA TLS report.\r\n\
         --b\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"company-x.example!company-y.example!1459468800!1459555199.json.gz\"\r\n\r\n\
         {body}--b--\r\n"
    )
}

#[test]
fn rpt_json_02_tlsrpt_read_summarises_a_directory_of_mixed_reports_some_malformed() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // D-01: `3 1 1` published, the certificate renewed with a new key.
    let leaf = pki.issue(&LeafSpec::new(["mx.example.test"])).unwrap();
    let renewed = pki.reissue_with_new_key(&leaf, Validity::Valid).unwrap();
    let ee = TlsaRecord {
        usage: 3.into(),
        selector: 1.into(),
        matching: 1.into(),
        data: <sha2::Sha256 as sha2::Digest>::digest(leaf.key().spki_der()).to_vec(),
    };
    let d01 = dane_failure_report(&pki, "d01", &renewed, &[ee], 40);
    assert_eq!(
        d01.policies[0].failure_details.as_ref().unwrap()[0].result_type,
        ResultType::TlsaInvalid
    );

    std::fs::create_dir_all(d.join("dane")).unwrap();
    std::fs::write(
        d.join("dane/sender.example!example.test!1!2.json.gz"),
        gzip(serde_json::to_string(&d01).unwrap().as_bytes()),
    )
    .unwrap();
    std::fs::create_dir_all(d.join("mail")).unwrap();
    std::fs::write(
        d.join("mail/report.eml"),
        email(&gzip(APPENDIX_B.as_bytes())),
    )
    .unwrap();
    // The same report as a plain file: counted once.
    std::fs::write(d.join("mail/appendix-b.json"), APPENDIX_B).unwrap();
    std::fs::create_dir_all(d.join("broken")).unwrap();
    std::fs::write(
        d.join("broken/bad-count.json"),
        APPENDIX_B.replace(
            "\"failed-session-count\": 200",
            "\"failed-session-count\": \"many\"",
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("broken/no-report.eml"),
        "From: x@example.test\r\nContent-Type: text/plain\r\n\r\nhello\r\n",
    )
    .unwrap();
    std::fs::write(d.join("broken/notes.txt"), "not a report").unwrap();

    let out = mxsec(&["tlsrpt", "read", path_str(d)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("bad-count.json")
            && err.contains("policies[0].failure-details[1].failed-session-count"),
        "{err}"
    );
    assert!(
        err.contains("no-report.eml") && err.contains("text/plain"),
        "{err}"
    );
    assert!(!err.contains("notes.txt"), "{err}");
    let text = stdout(&out);
    assert!(text.contains("company-y.example 2016-04-01"), "{text}");
    assert!(text.contains("5326 successful, 303 failed"), "{text}");
    assert!(text.contains("example.test "), "{text}");
    assert!(text.contains("tlsa-invalid 40"), "{text}");
    let fix_first = text.split("What to fix first:").nth(1).unwrap();
    let first = fix_first.lines().nth(1).unwrap();
    assert!(
        first.contains("starttls-not-supported at mx2.mail.company-y.example: 200"),
        "{text}"
    );
    assert!(
        fix_first.contains("tlsa-invalid at mx.example.test: 40 failed sessions"),
        "{text}"
    );
    assert!(
        fix_first.contains("reason codes: dane-ee-mismatch 40"),
        "{text}"
    );
    assert!(
        text.contains("2 reports from 5 files, 1 duplicate skipped, 2 unreadable"),
        "{text}"
    );

    let out = mxsec(&[
        "tlsrpt",
        "read",
        "--json",
        path_str(&d.join("dane")),
        path_str(&d.join("mail")),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["reports"], 2);
    assert_eq!(json["duplicates"], 1);
    assert_eq!(json["days"].as_array().unwrap().len(), 2);
    assert_eq!(
        json["fix_first"][0]["result_type"],
        "starttls-not-supported"
    );
}

// ---------------------------------------------------------------------------------------
// mxsec sts init from the domain's MX records, on the testbed

/// The testbed's DNS server and files, on a runtime of its own that lives as long as the test
/// process.
fn testbed() -> &'static (SocketAddr, mxsec_testbed::scenario::TestbedFiles) {
    static TESTBED: std::sync::OnceLock<(SocketAddr, mxsec_testbed::scenario::TestbedFiles)> =
        std::sync::OnceLock::new();
    TESTBED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
            runtime.block_on(async move {
                let testbed = mxsec_testbed::Testbed::start()
                    .await
                    .expect("testbed starts");
                tx.send((testbed.dns_addr(), testbed.files().clone()))
                    .expect("send");
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("testbed started")
    })
}

#[test]
fn sts_pol_07_sts_init_takes_the_mx_set_from_dns() {
    let (dns, files) = testbed();
    let out = Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args([
            "sts",
            "init",
            "healthy.test",
            "--resolver",
            &dns.to_string(),
        ])
        .arg("--trust-anchor")
        .arg(&files.trust_anchor)
        .args(["--timeout", "5"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let policy: String = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty() && !l.starts_with('_'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        policy,
        "version: STSv1\nmode: testing\nmx: mx1.healthy.test\nmx: mx2.healthy.test\nmax_age: 86400\n",
        "{text}"
    );
    let parsed = mxsec_proto::mta_sts::policy::Policy::parse(policy.as_bytes()).unwrap();
    assert!(parsed.warnings.is_empty());
    assert!(
        text.contains("_mta-sts.healthy.test. IN TXT \"v=STSv1; id="),
        "{text}"
    );
}

/// `mxsec` with the testbed's DNS, trust anchor, CA and address map, allowed to connect to
/// its private addresses.
fn mxsec_on_testbed(args: &[&str]) -> Output {
    let (dns, files) = testbed();
    Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args(args)
        .arg("--allow-private")
        .args(["--resolver", &dns.to_string()])
        .arg("--trust-anchor")
        .arg(&files.trust_anchor)
        .arg("--ca-file")
        .arg(&files.ca_file)
        .arg("--connect-map")
        .arg(&files.connect_map)
        .args(["--timeout", "5"])
        .output()
        .unwrap()
}

#[test]
fn dane_auth_01_tlsa_from_the_live_mx_matches_what_the_testbed_publishes() {
    let out = mxsec_on_testbed(&["tlsa", "--from-mx", "mx1.healthy.test", "--type", "3 1 1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let zone = stdout(&out);
    let [record] = records_of(&zone)
        .try_into()
        .unwrap_or_else(|r| panic!("{r:?}"));
    assert!(
        zone.contains("_25._tcp.mx1.healthy.test. IN TLSA 3 1 1 "),
        "{zone}"
    );

    // DNS records against the live server: the generated record is among the published ones.
    let out = mxsec_on_testbed(&["tlsa", "verify", "--host", "mx1.healthy.test"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "{}…: matches the server certificate",
            &record[..22]
        )),
        "{record}\n{text}"
    );
    assert!(
        text.contains("mx1.healthy.test: authenticated by DANE"),
        "{text}"
    );

    // A deliberately wrong record fails against the same live server.
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong.zone");
    std::fs::write(&wrong, format!("3 1 1 {}\n", "00".repeat(32))).unwrap();
    let out = mxsec_on_testbed(&[
        "tlsa",
        "verify",
        "--host",
        "mx1.healthy.test",
        "--records",
        path_str(&wrong),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("NOT authenticated"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("DANE-TLSA-04"), "{}", stderr(&out));
}

/// `mxsec ARGS` against the testbed's DNS and address map, with the CA file, but with neither
/// its trust anchor nor `--allow-private`: what a new user types first.
fn mxsec_on_testbed_as_typed(args: &[&str]) -> Output {
    let (dns, files) = testbed();
    Command::new(env!("CARGO_BIN_EXE_mxsec"))
        .args(args)
        .args(["--resolver", &dns.to_string()])
        .arg("--ca-file")
        .arg(&files.ca_file)
        .arg("--connect-map")
        .arg(&files.connect_map)
        .args(["--timeout", "5"])
        .output()
        .unwrap()
}

#[test]
fn dane_dns_05_every_command_names_a_bogus_lookup_its_trust_anchor_and_the_fix() {
    // The private namespace validated from the IANA root: bogus, not "no address".
    let out = mxsec_on_testbed_as_typed(&["tlsa", "--from-mx", "mx1.healthy.test"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(!err.contains("has no address"), "{err}");
    for words in [
        "address lookup of mx1.healthy.test failed",
        "bogus",
        "IANA root",
        "--trust-anchor FILE",
        "--dnssec trust-ad",
    ] {
        assert!(err.contains(words), "{words:?} missing from: {err}");
    }

    // The same for the TLSA lookup of `tlsa verify` and the MX lookup of `sts init`.
    let out = mxsec_on_testbed_as_typed(&["tlsa", "verify", "--host", "mx1.healthy.test"]);
    let err = stderr(&out);
    assert!(
        err.contains("bogus") && err.contains("IANA root") && err.contains("--trust-anchor"),
        "{err}"
    );
    let out = mxsec_on_testbed_as_typed(&["sts", "init", "healthy.test"]);
    let err = stderr(&out);
    assert!(
        err.contains("bogus") && err.contains("IANA root") && err.contains("--trust-anchor"),
        "{err}"
    );

    // `mxsec query` answers TEMP, and says why on stderr.
    let out = mxsec_on_testbed_as_typed(&["query", "healthy.test"]);
    assert!(stdout(&out).starts_with("TEMP "), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("bogus") && err.contains("IANA root") && err.contains("--trust-anchor"),
        "{err}"
    );

    // `mxsec check` reports D-05 and says once which option fixes it.
    let out = mxsec_on_testbed_as_typed(&["check", "--json", "healthy.test"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("bogus") && err.contains("IANA root") && err.contains("--trust-anchor FILE"),
        "{err}"
    );
}

#[test]
fn n_01_private_addresses_are_connected_to_only_with_allow_private() {
    let (_, files) = testbed();
    let anchor = files.trust_anchor.display().to_string();

    // tlsa --from-mx: refused before connecting, and the error names the option.
    let out = mxsec_on_testbed_as_typed(&[
        "tlsa",
        "--from-mx",
        "mx1.healthy.test",
        "--trust-anchor",
        &anchor,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("special-purpose") && err.contains("--allow-private"),
        "{err}"
    );

    // check: N-01 errors for every address, delivery deferred, and the option named.
    let out =
        mxsec_on_testbed_as_typed(&["check", "--json", "healthy.test", "--trust-anchor", &anchor]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["verdict"]["delivery"], "deferred", "{report}");
    let kinds: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"special-purpose-address"), "{kinds:?}");
    assert!(
        !kinds.contains(&"special-purpose-address-probed"),
        "{kinds:?}"
    );
    assert!(stderr(&out).contains("--allow-private"), "{}", stderr(&out));

    // check --allow-private: probed, N-01 kept as a note, a clean verdict.
    let out = mxsec_on_testbed_as_typed(&[
        "check",
        "--allow-private",
        "--json",
        "healthy.test",
        "--trust-anchor",
        &anchor,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["verdict"]["delivery"], "authenticated", "{report}");
    let notes: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "special-purpose-address-probed")
        .collect();
    assert!(!notes.is_empty(), "{report}");
    for note in notes {
        assert_eq!(note["id"], "N-01");
        assert_eq!(note["severity"], "info");
    }
    assert!(
        !stderr(&out).contains("--allow-private"),
        "{}",
        stderr(&out)
    );
}
