//! `GET /why?domain=DOMAIN[&map=NAME]` on the metrics listener (loopback only, like
//! `/metrics`): the reasons behind the daemon's answer for a destination, for
//! `mxsec doctor --why`.
//!
//! The answer is the cached one when there is one, else the destination is looked up as a
//! socketmap request would (sharing a lookup in flight), so the reply is always the answer
//! Postfix gets now. The JSON names the answer, the decision's reasons with their conformance
//! IDs, a bounded summary of the DNS lookups and the MTA-STS fetch behind it, how long ago it
//! was looked up and how long it stays cached.
//!
//! | status | when |
//! |---|---|
//! | 200 | the answer, as JSON |
//! | 400 | no `domain`, or one that is not a destination name |
//! | 504 | the lookup did not finish within `limits.query_timeout` |

use mxsec_net::resolver::{HostReport, MxReport, Resolution, StsReport};
use mxsec_proto::decision::Reason;
use serde::Serialize;

/// The most MX hosts a summary keeps.
const MAX_HOSTS: usize = 16;
/// The most TLSA records or policy lines a summary keeps per list.
const MAX_LINES: usize = 16;
/// The most characters of one error message a summary keeps.
const MAX_TEXT: usize = 512;

/// What was looked up and fetched for an answer, bounded in size whatever the DNS and the
/// policy host served: at most [`MAX_HOSTS`] hosts, [`MAX_LINES`] records or lines per list,
/// [`MAX_TEXT`] characters per message.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Lookups {
    /// The MX lookup.
    mx: MxReport,
    /// The MX hosts, in MX order.
    hosts: Vec<HostReport>,
    /// How many hosts were left out.
    hosts_left_out: usize,
    /// The MTA-STS discovery, cache and fetch.
    mta_sts: StsReport,
}

impl Lookups {
    /// The bounded summary of `resolution`.
    pub(crate) fn of(resolution: &Resolution) -> Self {
        let mut mx = resolution.mx.clone();
        bound_option(&mut mx.error);
        let hosts = resolution
            .hosts
            .iter()
            .take(MAX_HOSTS)
            .map(|host| {
                let mut host = host.clone();
                host.addresses.truncate(MAX_LINES);
                host.address_errors.truncate(MAX_LINES);
                host.address_errors.iter_mut().for_each(bound_text);
                host.tlsa_records.truncate(MAX_LINES);
                host.tlsa_records.iter_mut().for_each(bound_text);
                bound_option(&mut host.tlsa_error);
                host
            })
            .collect();
        let mut mta_sts = resolution.mta_sts.clone();
        bound_option(&mut mta_sts.txt_problem);
        bound_option(&mut mta_sts.store_error);
        bound_option(&mut mta_sts.id);
        if let mxsec_net::resolver::FetchReport::Failed { error, .. } = &mut mta_sts.fetch {
            bound_text(error);
        }
        if let Some(lines) = &mut mta_sts.policy {
            lines.truncate(MAX_LINES);
            lines.iter_mut().for_each(bound_text);
        }
        Self {
            mx,
            hosts,
            hosts_left_out: resolution.hosts.len().saturating_sub(MAX_HOSTS),
            mta_sts,
        }
    }
}

fn bound_option(text: &mut Option<String>) {
    if let Some(text) = text {
        bound_text(text);
    }
}

fn bound_text(text: &mut String) {
    if let Some((at, _)) = text.char_indices().nth(MAX_TEXT) {
        text.truncate(at);
        text.push('…');
    }
}

/// The reasons behind one answer, as `/why` serves them.
#[derive(Debug, Serialize)]
pub(crate) struct Why {
    /// The destination, as normalised.
    pub(crate) destination: String,
    /// The map name whose zone options the answer is for.
    pub(crate) map: String,
    /// The kind of answer: `dane-only`, `dane`, `encrypt`, `secure`, `notfound` or `temp`.
    pub(crate) kind: &'static str,
    /// The socketmap reply, as Postfix reads it (`TEMP <reason>`, `OK dane-only`, ...).
    pub(crate) reply: String,
    /// The decision's reasons, each with the conformance ID of its rule.
    pub(crate) reasons: Vec<Reason>,
    /// The lookups and the fetch the answer was decided from: kept for a `TEMP` answer or one
    /// reached after a failure, absent (`null`) for others.
    pub(crate) lookups: Option<Lookups>,
    /// Whether the answer was in the cache when asked (else it was looked up for this request).
    pub(crate) cached: bool,
    /// Seconds since the lookup.
    pub(crate) age_seconds: u64,
    /// Seconds the answer stays cached; `None` when it is not cached.
    pub(crate) expires_in_seconds: Option<u64>,
}

/// Why a `/why` request got no answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WhyError {
    /// The lookup did not finish within `limits.query_timeout`.
    Timeout,
}
