//! The layout the human reports share: the summary, then one section per area in the order
//! of [`Area::ALL`], each with its observations and then its findings. The terminal report
//! ([`super::text`]) and the web page ([`super::html`]) are two printers of this one walk.

use super::Report;
use crate::catalogue::Area;

/// A printer of the human report: one method per part of the layout.
pub(super) trait Layout {
    /// The summary: status, verdict, what senders do, the problems.
    fn summary(&mut self, report: &Report);
    /// The start of an area's section, with its heading.
    fn area_start(&mut self, area: Area);
    /// MX records and DNSSEC.
    fn mx(&mut self, report: &Report);
    /// SMTP and TLS on every address.
    fn transport(&mut self, report: &Report);
    /// TLSA records.
    fn dane(&mut self, report: &Report);
    /// The MTA-STS record, fetches and policy.
    fn mta_sts(&mut self, report: &Report);
    /// The TLS-RPT record.
    fn tls_rpt(&mut self, report: &Report);
    /// The findings of an area.
    fn findings(&mut self, report: &Report, area: Area);
    /// The end of an area's section.
    fn area_end(&mut self, area: Area);
}

/// Walks `report` through `printer` in the order of the layout.
pub(super) fn print(printer: &mut impl Layout, report: &Report) {
    printer.summary(report);
    for area in Area::ALL {
        printer.area_start(area);
        match area {
            Area::Mx => printer.mx(report),
            Area::Transport => printer.transport(report),
            Area::Dane => printer.dane(report),
            Area::MtaSts => printer.mta_sts(report),
            Area::TlsRpt => printer.tls_rpt(report),
        }
        printer.findings(report, area);
        printer.area_end(area);
    }
}
