//! Scan summaries: `mxsec check --summary`, `mxsec check --summary-of RESULTS` and the page of
//! `mxsec web --scan RESULTS` ([`mxsec_check::report::summary`]).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use mxsec_check::report::summary::{self, ScanSummary, Summarizer};
use tokio::io::BufReader;

use crate::cli::SummaryFormat;

/// Summarises a results file (`-`: standard input) as it is read.
pub(crate) async fn read(path: &Path) -> Result<ScanSummary> {
    let mut summarizer = Summarizer::default();
    if path == Path::new("-") {
        summary::read(BufReader::new(tokio::io::stdin()), &mut summarizer).await
    } else {
        let file = tokio::fs::File::open(path)
            .await
            .with_context(|| format!("cannot open {}", path.display()))?;
        summary::read(BufReader::new(file), &mut summarizer).await
    }
    .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(summarizer.finish())
}

/// The summary in `format`, ending with a line break.
pub(crate) fn render(summary: &ScanSummary, format: SummaryFormat) -> String {
    match format {
        SummaryFormat::Text => summary::text::render(summary),
        SummaryFormat::Json => summary.to_json() + "\n",
        SummaryFormat::Html => summary::html::page(summary),
    }
}

/// `mxsec check --summary-of RESULTS`: prints the summary of a finished scan.
pub(crate) async fn summary_of(path: &Path, format: SummaryFormat) -> Result<ExitCode> {
    let summary = read(path).await?;
    let mut out = std::io::stdout().lock();
    out.write_all(render(&summary, format).as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
