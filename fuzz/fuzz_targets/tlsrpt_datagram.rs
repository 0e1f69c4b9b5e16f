//! libtlsrpt datagrams on arbitrary bytes: no panic, and the policies of a datagram that
//! parses aggregate into a report that reads back as a valid RFC 8460 report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::tlsrpt::aggregate::{DayReport, Reporter};
use mxsec_proto::tlsrpt::datagram::Datagram;
use mxsec_proto::tlsrpt::Report;

fuzz_target!(|data: &[u8]| {
    let Ok(datagram) = Datagram::parse(data) else {
        return;
    };
    let day = time::macros::date!(2026 - 12 - 05);
    let mut report = DayReport::new(datagram.domain.clone(), day, Vec::new());
    for policy in &datagram.policies {
        report.add_datagram(policy);
    }
    let reporter = Reporter {
        organization_name: "fuzz".into(),
        contact_info: "fuzz@example.org".into(),
        submitter: mxsec_proto::name::DomainName::parse("example.org").expect("a name"),
        sending_ip: None,
    };
    let report = report.build(&reporter, "fuzz").expect("a datagram has a policy");
    let json = serde_json::to_vec(&report).expect("a report serialises");
    Report::from_json(&json).expect("a built report reads back");
});
