//! The day's reports (RFC 8460 §4; RPT-JSON-01..03, RPT-TIME-01): one per policy domain with
//! something recorded that day, built from the [`ReportStore`], with its file name
//! (RPT-DEL-01) and, for sending, the `rua` of the domain's `_smtp._tls` record (§3).
//!
//! No report is built for the submitter's own domain or one below it.

use std::path::{Path, PathBuf};

use mxsec_proto::name::DomainName;
use mxsec_proto::tlsrpt::aggregate::{file_name, reportable, Reporter};
use mxsec_proto::tlsrpt::delivery::gzip_report;
use mxsec_proto::tlsrpt::record::{txt_owner, ReportUri, TlsRptRecord};
use mxsec_proto::tlsrpt::Report;
use time::Date;

use crate::dns::{Answer, Dns};
use crate::store::{ReportStore, StoreError};

/// One domain's report for the day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltReport {
    /// The policy domain it is about.
    pub policy_domain: DomainName,
    /// The report.
    pub report: Report,
    /// Its file name (RPT-DEL-01).
    pub file_name: String,
}

/// A report and where the policy domain wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressedReport {
    /// The report.
    pub built: BuiltReport,
    /// The `rua` URIs of the domain's TLS-RPT record, in record order.
    pub rua: Vec<ReportUri>,
}

/// The report id of `domain`'s report of `day`: the same for every build of it, so that a
/// retried delivery carries the same id.
fn report_id(day: Date, domain: &DomainName, submitter: &DomainName) -> String {
    format!("{day}_{domain}@{submitter}")
}

/// Builds the reports of `day` from `store`, sorted by policy domain.
///
/// # Errors
///
/// Fails if the store cannot be read.
pub async fn build_day(
    store: &dyn ReportStore,
    day: Date,
    reporter: &Reporter,
) -> Result<Vec<BuiltReport>, StoreError> {
    let mut records = store.day(day).await?;
    records.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(records
        .into_iter()
        .filter(|(domain, _)| reportable(domain, &reporter.submitter))
        .filter_map(|(domain, record)| {
            let id = report_id(day, &domain, &reporter.submitter);
            let report = record.report(domain.clone(), day).build(reporter, &id)?;
            Some(BuiltReport {
                file_name: file_name(&reporter.submitter, &report, &domain),
                policy_domain: domain,
                report,
            })
        })
        .collect())
}

/// The reports of a day sorted by where they can go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Addressed {
    /// Reports with the `rua` of their domain.
    pub addressed: Vec<AddressedReport>,
    /// Domains that publish no usable TLS-RPT record: nobody to send to.
    pub without_record: Vec<DomainName>,
    /// Reports whose lookup failed (logged), to look up again later.
    pub failed: Vec<BuiltReport>,
}

/// Looks up the TLS-RPT record of each report's policy domain (RFC 8460 §3; RPT-TXT-04).
pub async fn address(dns: &Dns, built: Vec<BuiltReport>) -> Addressed {
    let mut out = Addressed::default();
    for report in built {
        match rua(dns, &report.policy_domain).await {
            Ok(Some(rua)) => out.addressed.push(AddressedReport { built: report, rua }),
            Ok(None) => out.without_record.push(report.policy_domain),
            Err(error) => {
                tracing::warn!(
                    domain = %report.policy_domain,
                    %error,
                    "no TLS report yet: the _smtp._tls lookup failed"
                );
                out.failed.push(report);
            }
        }
    }
    out
}

/// The `rua` of `domain`'s TLS-RPT record; `None` if it publishes none usable.
async fn rua(dns: &Dns, domain: &DomainName) -> Result<Option<Vec<ReportUri>>, String> {
    let owner = txt_owner(domain).map_err(|e| e.to_string())?;
    let resolved = dns.txt(&owner).await.map_err(|e| e.to_string())?;
    let Answer::Records(records) = resolved.into_answer().into_parts().1 else {
        return Ok(None);
    };
    Ok(TlsRptRecord::from_txt_rrset(&records)
        .ok()
        .map(|parsed| parsed.value.rua))
}

/// Writes each report as its gzip-compressed `.json.gz` file in `dir` (RPT-DEL-01); returns
/// the paths written.
///
/// # Errors
///
/// Fails if a file cannot be written.
pub fn write_files(dir: &Path, reports: &[BuiltReport]) -> std::io::Result<Vec<PathBuf>> {
    reports
        .iter()
        .map(|r| {
            let path = dir.join(&r.file_name);
            std::fs::write(&path, gzip_report(&r.report)).map(|()| path)
        })
        .collect()
}

#[cfg(test)]
mod tests;
