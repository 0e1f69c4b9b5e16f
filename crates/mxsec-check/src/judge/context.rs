//! What every judge takes besides the gathered data: the time, the trust anchors and the
//! options ([`Context`]), and how a finding is recorded ([`push`]).

use rustls_pki_types::{TrustAnchor, UnixTime};
use time::OffsetDateTime;

use crate::catalogue::FindingKind;
use crate::finding::{Finding, Subject};
use crate::options::CheckOptions;

/// What judging needs besides the gathered data.
pub(crate) struct Context<'a> {
    /// The time certificates are judged at.
    pub(crate) now: UnixTime,
    /// When the audit started.
    pub(crate) started: OffsetDateTime,
    /// How long gathering took.
    pub(crate) duration_ms: u64,
    /// The WebPKI roots (plus any extra CA files).
    pub(crate) roots: &'a [TrustAnchor<'static>],
    /// The operating system's root store (plus any extra CA files), when loaded: every
    /// recorded chain is also validated against it (PKIX-01).
    pub(crate) os_roots: Option<&'a [TrustAnchor<'static>]>,
    /// The options of the run.
    pub(crate) options: &'a CheckOptions,
}

/// Pushes a finding.
pub(crate) fn push(
    findings: &mut Vec<Finding>,
    kind: FindingKind,
    subject: Subject,
    message: impl Into<String>,
) {
    findings.push(Finding::new(kind, subject, message));
}
