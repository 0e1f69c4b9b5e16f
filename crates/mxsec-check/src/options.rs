//! How the audit runs: the options of a [`crate::Checker`].

use mxsec_net::smtp_probe::ProbeTimeouts;
use mxsec_proto::decision::DecisionConfig;
use mxsec_proto::name::DomainName;

use crate::prober::Prober;

/// How the audit runs.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// The name announced in EHLO.
    pub ehlo_name: DomainName,
    /// The local policy of the decision, as `mxsec query` uses it, so that the report's
    /// `policy` is the daemon's answer.
    pub decision: DecisionConfig,
    /// Time limits of each SMTP probe.
    pub probe_timeouts: ProbeTimeouts,
    /// Warn when a WebPKI-valid MX certificate expires within this many days.
    pub expiry_warning_days: i64,
    /// Runs the STARTTLS probes: directly, or shared across the checks of a scan.
    pub prober: Prober,
}

impl CheckOptions {
    /// Options with the defaults: 14 days of expiry warning, default probe timeouts and the
    /// default decision configuration, every probe made directly.
    pub fn new(ehlo_name: DomainName) -> Self {
        Self {
            ehlo_name,
            decision: DecisionConfig::default(),
            probe_timeouts: ProbeTimeouts::default(),
            expiry_warning_days: 14,
            prober: Prober::direct(),
        }
    }
}
