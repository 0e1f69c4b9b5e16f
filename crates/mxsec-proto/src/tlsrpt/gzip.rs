//! A report as it is sent: its JSON, gzip-compressed (RFC 8460 §5.1; RPT-DEL-01).

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::report::Report;

/// The report's JSON, gzip-compressed: the content of its `.json.gz` file.
pub fn compress(report: &Report) -> Vec<u8> {
    let json = serde_json::to_vec(report).unwrap_or_default();
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(&json);
    encoder.finish().unwrap_or_default()
}
