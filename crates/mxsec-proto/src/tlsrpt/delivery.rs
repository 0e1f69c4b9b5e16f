//! What report delivery needs without I/O: the gzip body (RFC 8460 §5.1, RPT-DEL-01), the
//! mail subject (§5.3, RPT-DEL-02), when the day's reports go out (§4.1, RPT-TIME-01) and
//! when a failed delivery is tried again (§5.5, RPT-DEL-06).

use std::io::Write;
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;
use time::{Date, OffsetDateTime, Time};

use crate::name::DomainName;
use crate::tlsrpt::report::Report;

/// The media type of a gzip-compressed report (RFC 8460 §6.4, RPT-DEL-02/05).
pub const GZIP_MEDIA_TYPE: &str = "application/tlsrpt+gzip";

/// How long a failed delivery is tried again, from the first attempt (RFC 8460 §5.5: "up to
/// 24 hours", RPT-DEL-06).
pub const RETRY_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The wait after the first failed attempt; each later wait doubles it (RPT-DEL-06).
pub const FIRST_RETRY: Duration = Duration::from_secs(5 * 60);

/// The longest single wait between two attempts.
pub const LONGEST_RETRY: Duration = Duration::from_secs(4 * 3600);

/// The report as JSON, gzip-compressed (RFC 8460 §5.1: "SHOULD be compressed", RPT-DEL-01).
pub fn gzip_report(report: &Report) -> Vec<u8> {
    let json = serde_json::to_vec(report).unwrap_or_default();
    let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 4 + 64), Compression::best());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(&json);
    encoder.finish().unwrap_or_default()
}

/// The mail subject RFC 8460 §5.3 recommends (RPT-DEL-02):
/// `Report Domain: <policy domain> Submitter: <submitter> Report-ID: <<id>>`.
pub fn subject(policy_domain: &DomainName, submitter: &DomainName, report: &Report) -> String {
    format!(
        "Report Domain: {policy_domain} Submitter: {submitter} Report-ID: <{}>",
        report.report_id
    )
}

/// When the reports of `day` are first sent: midnight UTC after that day, plus a random
/// share `jitter` (in `[0, 1)`, drawn by the caller) of `max_delay` (RFC 8460 §4.1: "a
/// randomized delay", RPT-TIME-01). Out-of-range `jitter` is clamped.
pub fn send_time(day: Date, jitter: f64, max_delay: Duration) -> OffsetDateTime {
    let midnight = day
        .next_day()
        .unwrap_or(day)
        .with_time(Time::MIDNIGHT)
        .assume_utc();
    let share = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    midnight + max_delay.mul_f64(share)
}

/// When to try a failed delivery again: `failures` attempts have failed so far, the first at
/// `first_attempt`. The waits double from [`FIRST_RETRY`] up to [`LONGEST_RETRY`]
/// (exponential back-off); `None` once the next attempt would fall outside
/// [`RETRY_WINDOW`], and the report is given up (RFC 8460 §5.5, RPT-DEL-06).
pub fn next_attempt(
    first_attempt: OffsetDateTime,
    failures: u32,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    if failures == 0 {
        return Some(now);
    }
    let doublings = failures.saturating_sub(1).min(16);
    let wait = FIRST_RETRY
        .saturating_mul(1u32 << doublings)
        .min(LONGEST_RETRY);
    let at = now + wait;
    (at <= first_attempt + RETRY_WINDOW).then_some(at)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use time::macros::{date, datetime};

    use super::*;
    use crate::tlsrpt::aggregate::day_range;

    fn report() -> Report {
        Report {
            organization_name: "Example".into(),
            date_range: day_range(date!(2026 - 12 - 05)),
            contact_info: "tlsrpt@example.net".into(),
            report_id: "2026-12-05T00:00:00Z_example.org".into(),
            policies: Vec::new(),
        }
    }

    #[test]
    fn rpt_del_01_gzip_body_reads_back() {
        let gz = gzip_report(&report());
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(gz.as_slice())
            .read_to_end(&mut json)
            .expect("gunzip");
        assert_eq!(Report::from_json(&json).expect("report"), report());
    }

    #[test]
    fn rpt_del_02_subject_names_domain_submitter_and_id() {
        let domain: DomainName = "example.org".parse().expect("name");
        let submitter: DomainName = "example.net".parse().expect("name");
        assert_eq!(
            subject(&domain, &submitter, &report()),
            "Report Domain: example.org Submitter: example.net \
             Report-ID: <2026-12-05T00:00:00Z_example.org>"
        );
    }

    #[test]
    fn rpt_time_01_send_time_is_after_midnight_within_the_delay() {
        let four_hours = Duration::from_secs(4 * 3600);
        let day = date!(2026 - 12 - 05);
        assert_eq!(
            send_time(day, 0.0, four_hours),
            datetime!(2026-12-06 00:00 UTC)
        );
        assert_eq!(
            send_time(day, 0.5, four_hours),
            datetime!(2026-12-06 02:00 UTC)
        );
        assert_eq!(
            send_time(day, 7.0, four_hours),
            datetime!(2026-12-06 04:00 UTC)
        );
        assert_eq!(
            send_time(day, f64::NAN, four_hours),
            datetime!(2026-12-06 00:00 UTC)
        );
    }

    #[test]
    fn rpt_del_06_back_off_doubles_and_stops_after_24_hours() {
        let first = datetime!(2026-12-06 01:00 UTC);
        assert_eq!(next_attempt(first, 0, first), Some(first));
        assert_eq!(
            next_attempt(first, 1, first),
            Some(datetime!(2026-12-06 01:05 UTC))
        );
        let second = datetime!(2026-12-06 01:05 UTC);
        assert_eq!(
            next_attempt(first, 2, second),
            Some(datetime!(2026-12-06 01:15 UTC))
        );
        // The waits never exceed four hours.
        let late = datetime!(2026-12-06 10:00 UTC);
        assert_eq!(
            next_attempt(first, 12, late),
            Some(datetime!(2026-12-06 14:00 UTC))
        );
        // Nothing after 24 hours from the first attempt.
        let last = datetime!(2026-12-06 22:00 UTC);
        assert_eq!(next_attempt(first, 12, last), None);
        assert_eq!(
            next_attempt(first, u32::MAX, first),
            Some(first + LONGEST_RETRY)
        );
    }

    #[test]
    fn rpt_del_06_attempts_in_a_day_are_bounded() {
        let first = datetime!(2026-12-06 00:00 UTC);
        let mut now = first;
        let mut failures = 0;
        while let Some(at) = next_attempt(first, failures, now) {
            assert!(at >= now);
            now = at;
            failures += 1;
            assert!(failures < 32);
        }
        assert!(now <= first + RETRY_WINDOW);
        assert!(failures >= 8);
    }
}
