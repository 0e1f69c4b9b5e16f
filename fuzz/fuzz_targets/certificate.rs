//! Certificate inspection on arbitrary DER (a presented chain is network input): reading the
//! validity window, DNS names and SubjectPublicKeyInfo, and name matching, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::certificate::{dns_names, first_matching_name, spki, Validity};
use mxsec_proto::name::DomainName;
use rustls_pki_types::{CertificateDer, UnixTime};

fuzz_target!(|data: &[u8]| {
    let cert = CertificateDer::from(data);
    if let Some(validity) = Validity::of(&cert) {
        for secs in [0, 1_700_000_000, u64::MAX] {
            let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
            let _ = (validity.check(now), validity.days_left(now));
        }
    }
    if let Some(key) = spki(data) {
        assert!(key.len() <= data.len());
    }
    let names: Vec<DomainName> = dns_names(&cert)
        .iter()
        .filter_map(|n| DomainName::parse(n.trim_start_matches("*.")).ok())
        .collect();
    let _ = first_matching_name(&cert, &names);
});
