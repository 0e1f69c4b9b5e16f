//! `mxsec tlsrpt record`, `mxsec tlsrpt read` and `mxsec tlsrpt report` (RFC 8460).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use mxsec_net::tlsrpt::files;
use mxsec_proto::name::DomainName;
use mxsec_proto::tlsrpt::record::{render_record, txt_owner};
use mxsec_proto::tlsrpt::summary::{Aggregate, Aggregator, DomainDay, UNKNOWN};

use crate::cli::{TlsrptCommand, TlsrptReadArgs, TlsrptRecordArgs, TlsrptReportArgs};

/// Runs `mxsec tlsrpt …`.
pub(crate) async fn run(command: TlsrptCommand) -> Result<ExitCode> {
    match command {
        TlsrptCommand::Record(args) => record(&args),
        TlsrptCommand::Read(args) => tokio::task::spawn_blocking(move || read(&args))
            .await
            .context("the report reader stopped")?,
        TlsrptCommand::Report(args) => report(&args).await,
    }
}

async fn report(args: &TlsrptReportArgs) -> Result<ExitCode> {
    use mxsec_server::socketmap::config::DEFAULT_PATH;
    use mxsec_server::socketmap::tlsrpt::write_day_reports;
    use mxsec_server::socketmap::DaemonConfig;

    let day = match &args.date {
        Some(date) => time::Date::parse(
            date,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .with_context(|| format!("--date {date}: expected YYYY-MM-DD"))?,
        None => time::OffsetDateTime::now_utc()
            .date()
            .previous_day()
            .context("no previous day")?,
    };
    let path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    let config = DaemonConfig::load(&path)?;
    let Some(out) = args.out.as_ref().filter(|_| args.dry_run) else {
        return send(&config, day).await;
    };
    std::fs::create_dir_all(out).with_context(|| format!("--out {}", out.display()))?;
    let written = write_day_reports(&config, day, out).await?;
    for file in &written {
        println!("{}", file.display());
    }
    eprintln!(
        "mxsec: {} report(s) for {day} written to {}",
        written.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn print_failures(failures: &[mxsec_net::tlsrpt::send::UriFailure]) {
    for failure in failures {
        println!("  {}: {}", failure.uri, failure.error);
    }
}

/// Sends the reports of `day` not sent yet, as the daemon does, and says what happened to
/// each; fails (exit 1) if one is not delivered.
async fn send(config: &mxsec_server::socketmap::DaemonConfig, day: time::Date) -> Result<ExitCode> {
    use mxsec_net::tlsrpt::send::Outcome;

    let progress = mxsec_server::socketmap::tlsrpt::send_day_reports(config, day).await?;
    let mut undelivered = 0usize;
    for attempt in &progress.attempts {
        let domain = &attempt.policy_domain;
        match &attempt.outcome {
            Outcome::Sent {
                uri, relay_reply, ..
            } => match relay_reply {
                Some(reply) => println!("{domain}: sent to {uri} ({reply})"),
                None => println!("{domain}: sent to {uri}"),
            },
            Outcome::Retry { at, failures } => {
                undelivered += 1;
                println!("{domain}: not delivered; the daemon tries again from {at}");
                print_failures(failures);
            }
            Outcome::GaveUp { failures } => {
                undelivered += 1;
                println!("{domain}: not delivered; given up after 24 hours of attempts");
                print_failures(failures);
            }
            Outcome::ClaimedElsewhere => {
                println!("{domain}: being sent by another reporter sharing the store");
            }
        }
    }
    for domain in &progress.unaddressed {
        println!("{domain}: no report sent: no usable _smtp._tls record (or its lookup failed)");
    }
    eprintln!(
        "mxsec: {} report(s) for {day} built, {} attempted, {} waiting for a retry",
        progress.built,
        progress.attempts.len(),
        progress.pending
    );
    Ok(if undelivered == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn record(args: &TlsrptRecordArgs) -> Result<ExitCode> {
    let uris: Vec<String> = args.rua.iter().flat_map(|v| split_uris(v)).collect();
    let record = render_record(&uris).context("--rua")?;
    match &args.domain {
        Some(domain) => {
            let domain = DomainName::parse(domain).with_context(|| format!("--domain {domain}"))?;
            let owner = txt_owner(&domain)?;
            let ttl = args.ttl.map(|t| format!(" {t}")).unwrap_or_default();
            println!("{}{ttl} IN TXT \"{record}\"", owner.to_fqdn());
        }
        None => println!("{record}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Splits a `--rua` value at the commas that start a new URI (followed by `mailto:` or
/// `https:`); other commas belong to the URI and are percent-encoded (RPT-TXT-03).
fn split_uris(value: &str) -> Vec<String> {
    let mut uris = Vec::new();
    let mut current = String::new();
    let mut rest = value;
    while let Some((head, tail)) = rest.split_once(',') {
        current.push_str(head);
        let lower = tail.trim_start().to_ascii_lowercase();
        if lower.starts_with("mailto:") || lower.starts_with("https:") {
            uris.push(std::mem::take(&mut current).trim().to_owned());
        } else {
            current.push(',');
        }
        rest = tail;
    }
    current.push_str(rest);
    uris.push(current.trim().to_owned());
    uris
}

fn read(args: &TlsrptReadArgs) -> Result<ExitCode> {
    let mut files = Vec::new();
    let mut failures = 0usize;
    for path in &args.paths {
        if let Err(error) = files::collect(path, &mut files) {
            eprintln!("mxsec: {}: {error}", path.display());
            failures += 1;
        }
    }
    let mut aggregator = Aggregator::new();
    for file in &files {
        match files::read(file) {
            Ok(reports) => {
                for report in &reports {
                    aggregator.add(report);
                }
            }
            Err(error) => {
                eprintln!("mxsec: {}: {error}", file.display());
                failures += 1;
            }
        }
    }
    let aggregate = aggregator.finish();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&aggregate)?);
    } else {
        print!("{}", render(&aggregate, files.len(), failures));
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The text summary: per domain and day, then what to fix first.
fn render(aggregate: &Aggregate, files: usize, failures: usize) -> String {
    let mut out = String::new();
    for day in &aggregate.days {
        render_day(&mut out, day);
    }
    if !aggregate.fix_first.is_empty() {
        out.push_str("What to fix first:\n");
        for (i, fix) in aggregate.fix_first.iter().enumerate() {
            let days = fix.days.len();
            let _ = writeln!(
                out,
                "  {}. {}: {} at {}: {} failed session{} on {} day{}",
                i + 1,
                fix.policy_domain,
                fix.result_type,
                fix.receiving_mx,
                fix.failed_sessions,
                plural(fix.failed_sessions),
                days,
                plural(u64::try_from(days).unwrap_or(u64::MAX)),
            );
            if !fix.reason_codes.is_empty() {
                let _ = writeln!(out, "     reason codes: {}", counts(&fix.reason_codes));
            }
            let _ = writeln!(out, "     fix: {}", fix.fix);
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} report{} from {} file{}{}{}.",
        aggregate.reports,
        plural(u64::try_from(aggregate.reports).unwrap_or(u64::MAX)),
        files,
        plural(u64::try_from(files).unwrap_or(u64::MAX)),
        if aggregate.duplicates > 0 {
            format!(
                ", {} duplicate{} skipped",
                aggregate.duplicates,
                plural(u64::try_from(aggregate.duplicates).unwrap_or(u64::MAX))
            )
        } else {
            String::new()
        },
        if failures > 0 {
            format!(", {failures} unreadable (see above)")
        } else {
            String::new()
        },
    );
    out
}

fn render_day(out: &mut String, day: &DomainDay) {
    let types: Vec<&str> = day.policy_types.iter().map(|t| t.as_str()).collect();
    let reporters: Vec<&str> = day.reporters.iter().map(String::as_str).collect();
    let _ = writeln!(out, "{} {}", day.policy_domain, day.day);
    let _ = writeln!(
        out,
        "  sessions: {} successful, {} failed ({:.1} % failed); policy: {}; reported by {}",
        day.successful_sessions,
        day.failed_sessions,
        day.failure_percent(),
        types.join(", "),
        reporters.join(", ")
    );
    if day.failed_sessions > 0 {
        let mut by_type: Vec<(String, u64)> = day
            .by_result_type
            .iter()
            .map(|(t, n)| (t.to_string(), *n))
            .collect();
        if day.unclassified_failures > 0 {
            by_type.push(("not detailed".to_owned(), day.unclassified_failures));
        }
        let _ = writeln!(out, "  failures by result type: {}", ranked(by_type));
        let _ = writeln!(
            out,
            "  failures by receiving MX: {}",
            counts(&day.by_receiving_mx)
        );
        let _ = writeln!(
            out,
            "  failures by sending IP: {}",
            counts(&day.by_sending_ip)
        );
    }
    out.push('\n');
}

/// `name count, ...`, largest first.
fn counts(map: &std::collections::BTreeMap<String, u64>) -> String {
    ranked(map.iter().map(|(k, v)| (k.clone(), *v)).collect())
}

fn ranked(mut items: Vec<(String, u64)>) -> String {
    items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if items.is_empty() {
        return UNKNOWN.to_owned();
    }
    items
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpt_txt_03_rua_lists_split_at_schemes_only() {
        assert_eq!(
            split_uris("mailto:tlsrpt@example.com,https://r.example/v1,a"),
            ["mailto:tlsrpt@example.com", "https://r.example/v1,a"]
        );
        assert_eq!(
            split_uris("mailto:a@example.com, HTTPS://b.example"),
            ["mailto:a@example.com", "HTTPS://b.example"]
        );
        assert_eq!(split_uris("mailto:a@example.com"), ["mailto:a@example.com"]);
    }
}
