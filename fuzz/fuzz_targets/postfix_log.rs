//! Postfix log lines (TLS-RPT collection) on arbitrary bytes: each line through the parser
//! of log files and that of `journalctl --output=json` entries,
//! the parsed lines through the session tracker, and every session into a day's report, which
//! must read back as a valid RFC 8460 report. No panic anywhere.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::tlsrpt::aggregate::{DayReport, Reporter};
use mxsec_proto::tlsrpt::journal::parse_entry;
use mxsec_proto::tlsrpt::postfix_log::parse_line;
use mxsec_proto::tlsrpt::sessions::SessionTracker;
use mxsec_proto::tlsrpt::Report;

fuzz_target!(|data: &[u8]| {
    let mut tracker = SessionTracker::new().skipping_sender("tlsrpt-noreply@example.org");
    let mut report: Option<DayReport> = None;
    let day = time::macros::date!(2026 - 12 - 05);
    for line in data.split(|b| *b == b'\n') {
        let Some(line) = parse_line(line).or_else(|| parse_entry(line)?.line) else {
            continue;
        };
        for session in tracker.handle(line) {
            report
                .get_or_insert_with(|| DayReport::new(session.domain.clone(), day, Vec::new()))
                .add_session(&session);
        }
    }
    let reporter = Reporter {
        organization_name: "fuzz".into(),
        contact_info: "fuzz@example.org".into(),
        submitter: mxsec_proto::name::DomainName::parse("example.org").expect("a name"),
        sending_ip: None,
    };
    if let Some(report) = report.and_then(|r| r.build(&reporter, "fuzz")) {
        let json = serde_json::to_vec(&report).expect("a report serialises");
        Report::from_json(&json).expect("a built report reads back");
    }
});
