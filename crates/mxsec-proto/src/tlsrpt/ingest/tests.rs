//! Reports as files and as e-mail messages, well-formed and not.

use std::io::Write;

use base64::Engine;
use flate2::write::GzEncoder;
use flate2::Compression;
use proptest::prelude::*;

use super::mime::{MAX_DEPTH, MAX_PARTS};
use super::*;

const APPENDIX_B: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/rfc8460-appendix-b.json"
));

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn base64_lines(bytes: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    text.as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect()
}

/// A report message as RFC 8460 §5.3 describes it (RPT-DEL-02).
fn report_email(part_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: tlsrpt-noreply@company-x.example\r\n\
         To: tlsrpt@company-y.example\r\n\
         Subject: Report Domain: company-y.example\r\n \
         Submitter: company-x.example Report-ID: <5065427c-23d3-47ca-b6e0-946ea0e8c4be>\r\n\
         TLS-Report-Domain: company-y.example\r\n\
         TLS-Report-Submitter: company-x.example\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n\
         \tboundary=\"----=_Part_1; x\"\r\n\
         \r\n\
         This is a multi-part message in MIME format.\r\n\
         ------=_Part_1; x\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n\
         This is an aggregate TLS report from company-x.example\r\n\
         ------=_Part_1; x\r\n\
         {part_headers}\r\n\
         \r\n\
         {body}\r\n\
         ------=_Part_1; x--\r\n\
         epilogue\r\n"
    )
    .into_bytes()
}

fn expect_appendix_b(reports: Vec<Report>) {
    let [report] = reports.as_slice() else {
        panic!("one report expected, got {}", reports.len())
    };
    assert_eq!(report, &Report::from_json(APPENDIX_B.as_bytes()).unwrap());
}

#[test]
fn rpt_del_01_json_and_json_gz_files() {
    expect_appendix_b(read(APPENDIX_B.as_bytes(), Container::Json).unwrap());
    expect_appendix_b(read(&gzip(APPENDIX_B.as_bytes()), Container::Gzip).unwrap());
}

#[test]
fn rpt_del_01_container_from_name_and_content() {
    for (name, expected) in [
        (
            "google.com!example.com!1700000000!1700086399!001.json.gz",
            Some(Container::Gzip),
        ),
        ("REPORT.JSON", Some(Container::Json)),
        ("report.eml", Some(Container::Email)),
        ("notes.txt", None),
    ] {
        assert_eq!(Container::from_file_name(name), expected, "{name}");
    }
    assert_eq!(Container::sniff(&gzip(b"{}")), Container::Gzip);
    assert_eq!(Container::sniff(b"\n  {\"a\":1}"), Container::Json);
    assert_eq!(Container::sniff(b"From: x\r\n"), Container::Email);
}

#[test]
fn rpt_del_02_email_with_base64_gzip_part() {
    let headers = "Content-Type: application/tlsrpt+gzip\r\n\
                   Content-Transfer-Encoding: base64\r\n\
                   Content-Disposition: attachment;\r\n \
                   filename=\"company-x.example!company-y.example!1459468800!1459555199.json.gz\"";
    let message = report_email(headers, &base64_lines(&gzip(APPENDIX_B.as_bytes())));
    expect_appendix_b(read(&message, Container::Email).unwrap());
}

#[test]
fn rpt_del_02_email_with_plain_json_part() {
    let message = report_email("Content-Type: application/tlsrpt+json", APPENDIX_B);
    expect_appendix_b(read(&message, Container::Email).unwrap());
    // LF line endings, as saved by some mail clients.
    let lf = String::from_utf8(message).unwrap().replace("\r\n", "\n");
    expect_appendix_b(read(lf.as_bytes(), Container::Email).unwrap());
}

#[test]
fn rpt_del_02_email_with_quoted_printable_json_part() {
    let qp = APPENDIX_B.replace('=', "=3D").replace(
        "\"policy-type\": \"sts\",",
        "\"policy-type\":=\r\n \"sts\",",
    );
    let message = report_email(
        "Content-Type: application/tlsrpt+json\r\nContent-Transfer-Encoding: Quoted-Printable",
        &qp,
    );
    expect_appendix_b(read(&message, Container::Email).unwrap());
}

#[test]
fn rpt_del_02_mislabelled_part_accepted_by_file_name() {
    let headers = "Content-Type: application/octet-stream\r\n\
                   Content-Transfer-Encoding: base64\r\n\
                   Content-Disposition: attachment; filename*=utf-8''report%21one.json.gz";
    let message = report_email(headers, &base64_lines(&gzip(APPENDIX_B.as_bytes())));
    expect_appendix_b(read(&message, Container::Email).unwrap());
    // The same part without a report-like file name is not a report.
    let headers = "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64";
    let message = report_email(headers, &base64_lines(&gzip(APPENDIX_B.as_bytes())));
    let err = read(&message, Container::Email).unwrap_err();
    assert!(
        matches!(&err, IngestError::NoReportPart { found } if found == &["text/plain", "application/octet-stream"]),
        "{err}"
    );
}

#[test]
fn rpt_del_02_forwarded_report_inside_message_rfc822() {
    let inner = String::from_utf8(report_email(
        "Content-Type: application/tlsrpt+json",
        APPENDIX_B,
    ))
    .unwrap();
    let outer = format!(
        "From: postmaster@company-y.example\r\n\
         Content-Type: multipart/mixed; boundary=outer\r\n\
         \r\n\
         --outer\r\n\
         Content-Type: text/plain\r\n\
         \r\n\
         Forwarded report.\r\n\
         --outer\r\n\
         Content-Type: message/rfc822\r\n\
         \r\n\
         {inner}\r\n\
         --outer--\r\n"
    );
    expect_appendix_b(read(outer.as_bytes(), Container::Email).unwrap());
}

#[test]
fn rpt_json_02_malformed_report_in_email_names_part_and_member() {
    let broken = APPENDIX_B.replace(
        "\"total-failure-session-count\": 303",
        "\"total-failure-session-count\": \"303\"",
    );
    let message = report_email("Content-Type: application/tlsrpt+json", &broken);
    let err = read(&message, Container::Email).unwrap_err().to_string();
    assert!(err.contains("part 2 (application/tlsrpt+json)"), "{err}");
    assert!(
        err.contains("policies[0].summary.total-failure-session-count"),
        "{err}"
    );
}

#[test]
fn rpt_del_02_broken_messages_are_errors() {
    let no_boundary = b"Content-Type: multipart/report\r\n\r\nbody\r\n";
    assert!(matches!(
        read(no_boundary, Container::Email),
        Err(IngestError::Mime(MimeError::MissingBoundary { .. }))
    ));
    let no_parts = b"Content-Type: multipart/report; boundary=b\r\n\r\nbody\r\n";
    assert!(matches!(
        read(no_parts, Container::Email),
        Err(IngestError::Mime(MimeError::NoParts { .. }))
    ));
    assert!(matches!(
        read(b"\r\n{}", Container::Email),
        Err(IngestError::Mime(MimeError::NotAMessage))
    ));
    let bad_base64 = report_email(
        "Content-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64",
        "!!!not base64!!!",
    );
    let err = read(&bad_base64, Container::Email).unwrap_err();
    assert!(
        matches!(err, IngestError::Mime(MimeError::Base64 { .. })),
        "{err}"
    );
    let unknown = report_email(
        "Content-Type: application/tlsrpt+json\r\nContent-Transfer-Encoding: x-uuencode",
        APPENDIX_B,
    );
    assert!(matches!(
        read(&unknown, Container::Email),
        Err(IngestError::Mime(MimeError::UnknownEncoding { .. }))
    ));
    let mut deep = String::new();
    for i in 0..=MAX_DEPTH + 1 {
        deep.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
        ));
    }
    assert!(matches!(
        read(deep.as_bytes(), Container::Email),
        Err(IngestError::Mime(MimeError::TooDeep { .. }))
    ));
    let many: String =
        std::iter::once("Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_owned())
            .chain((0..=MAX_PARTS).map(|_| "--b\r\n\r\nx\r\n".to_owned()))
            .collect();
    assert!(matches!(
        read(many.as_bytes(), Container::Email),
        Err(IngestError::Mime(MimeError::TooManyParts))
    ));
}

#[test]
fn rpt_del_01_corrupt_and_oversized_gzip() {
    let mut corrupt = gzip(APPENDIX_B.as_bytes());
    let middle = corrupt.len() / 2;
    corrupt.truncate(middle);
    assert!(matches!(
        read(&corrupt, Container::Gzip),
        Err(IngestError::Gzip { .. })
    ));
    let bomb = gzip(&vec![b' '; MAX_REPORT_SIZE + 1]);
    assert!(bomb.len() < 1024 * 1024);
    assert!(matches!(
        read(&bomb, Container::Gzip),
        Err(IngestError::DecompressedTooLarge { .. })
    ));
    let big = vec![b' '; MAX_INPUT_SIZE + 1];
    assert!(matches!(
        read(&big, Container::Json),
        Err(IngestError::TooLarge { .. })
    ));
}

proptest! {
    #[test]
    fn rpt_del_02_email_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read(&bytes, Container::Email);
        let _ = read(&bytes, Container::Gzip);
    }

    #[test]
    fn rpt_del_02_email_reader_never_panics_on_mutated_messages(
        index in 0..2000usize, byte in any::<u8>()
    ) {
        let mut message = report_email(
            "Content-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64",
            &base64_lines(&gzip(APPENDIX_B.as_bytes())),
        );
        let i = index % message.len();
        message[i] = byte;
        let _ = read(&message, Container::Email);
    }
}
