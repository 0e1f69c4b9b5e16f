//! The verdict: what each kind of sender does with mail for the domain.
//!
//! The policy of a sender that enforces DANE and MTA-STS is the one decision function's
//! ([`mxsec_proto::decision::decide`]); the checker then applies it to what the probes saw.
//! The sender walks the MX hosts and skips every host that fails the policy (RFC 8461 §8.4,
//! RFC 7672 §2.2); what it guarantees is the weakest outcome among the hosts it may use, since
//! an attacker who blocks the better hosts gets the mail delivered at the weakest one.

use mxsec_proto::decision::{
    decide, DecisionConfig, MxState, Observations, StsState, TlsPolicy, TlsaState,
};
use mxsec_proto::dnssec::Security;

use super::hosts::HostFacts;
use crate::report::{
    DaneVerdict, Delivery, SenderOutcome, Senders, StsVerdict, TlsRptVerdict, Verdict,
};

pub(super) fn verdict(
    observations: &Observations,
    config: &DecisionConfig,
    facts: &[HostFacts],
    mta_sts: StsVerdict,
    dane: DaneVerdict,
    tls_rpt: TlsRptVerdict,
    policy: String,
) -> (Verdict, Senders) {
    let enforcing = outcome(observations, config, facts);

    // A DANE-only sender: no MTA-STS.
    let dane_only = Observations {
        sts: StsState::Absent,
        ..observations.clone()
    };
    // An MTA-STS-only sender: no DNSSEC, so no TLSA and no secure MX.
    let sts_only = Observations {
        mx: match &observations.mx {
            MxState::Hosts { hosts, .. } => MxState::Hosts {
                security: Security::Insecure,
                hosts: hosts
                    .iter()
                    .map(|h| mxsec_proto::decision::HostState {
                        tlsa: TlsaState::NotApplicable,
                        ..h.clone()
                    })
                    .collect(),
            },
            other => other.clone(),
        },
        ..observations.clone()
    };
    let senders = Senders {
        dane: outcome(&dane_only, config, facts),
        mta_sts: outcome(&sts_only, config, facts),
        opportunistic: opportunistic(observations, facts),
        dane_and_mta_sts: enforcing.clone(),
    };
    (
        Verdict {
            mta_sts,
            dane,
            tls_rpt,
            policy,
            delivery: enforcing.delivery,
        },
        senders,
    )
}

fn sender(delivery: Delivery, reason: impl Into<String>) -> SenderOutcome {
    SenderOutcome {
        delivery,
        reason: crate::finding::one_line(&reason.into()),
    }
}

/// Mail to a domain without mail hosts, or with a failed MX lookup.
fn no_hosts(mx: &MxState) -> Option<SenderOutcome> {
    match mx {
        MxState::NullMx { .. } => Some(sender(
            Delivery::NoMail,
            "null MX: the domain accepts no mail",
        )),
        MxState::NoSuchDomain { .. } => Some(sender(
            Delivery::NoMail,
            "the domain does not exist: mail bounces",
        )),
        MxState::Failed(why) => Some(sender(
            Delivery::Deferred,
            format!("the MX lookup fails ({why}): mail waits"),
        )),
        MxState::Hosts { .. } => None,
    }
}

fn opportunistic(observations: &Observations, facts: &[HostFacts]) -> SenderOutcome {
    if let Some(o) = no_hosts(&observations.mx) {
        return o;
    }
    let addresses: Vec<_> = facts.iter().flat_map(|h| &h.addresses).collect();
    let connected = addresses.iter().filter(|a| a.connected).count();
    let tls = addresses.iter().filter(|a| a.tls).count();
    if connected == 0 {
        return sender(Delivery::Deferred, "no MX host accepts connections");
    }
    sender(
        Delivery::Opportunistic,
        format!(
            "TLS on {tls} of {connected} reachable addresses; no authentication, cleartext where TLS fails"
        ),
    )
}

/// What a sender applying `decide` to these observations does.
fn outcome(
    observations: &Observations,
    config: &DecisionConfig,
    facts: &[HostFacts],
) -> SenderOutcome {
    if let Some(o) = no_hosts(&observations.mx) {
        return o;
    }
    let decision = decide(observations, config);
    if let Some(o) = forgeable_dane(observations, &decision.policy) {
        return o;
    }
    let mut used: Vec<(Delivery, &str)> = Vec::new();
    let mut skipped: Vec<&str> = Vec::new();
    for host in facts {
        let connected = host.addresses.iter().any(|a| a.connected);
        let tls = host.addresses.iter().any(|a| a.tls);
        let level = match &decision.policy {
            TlsPolicy::TempFail(why) => {
                return sender(Delivery::Deferred, format!("the policy is TEMP: {why}"));
            }
            TlsPolicy::NoPolicy => connected.then_some(Delivery::Opportunistic),
            TlsPolicy::Secure(secure) => {
                let covered = secure.matches.iter().any(|m| m.matches(&host.name));
                let passes = host.addresses.iter().any(|a| a.tls && a.pkix);
                (covered && passes).then_some(Delivery::Authenticated)
            }
            TlsPolicy::Dane | TlsPolicy::DaneOnly | TlsPolicy::Encrypt => match host.state.tlsa {
                TlsaState::Usable => host
                    .addresses
                    .iter()
                    .any(|a| a.dane == Some(true))
                    .then_some(Delivery::Authenticated),
                TlsaState::AllUnusable => tls.then_some(Delivery::Encrypted),
                _ if decision.policy == TlsPolicy::Dane => {
                    connected.then_some(Delivery::Opportunistic)
                }
                _ => None,
            },
        };
        match level {
            Some(level) => used.push((level, host.name.as_str())),
            None => skipped.push(host.name.as_str()),
        }
    }
    let Some(weakest) = used.iter().map(|(l, _)| *l).min_by_key(|l| rank(*l)) else {
        let why = match &decision.policy {
            TlsPolicy::NoPolicy => "no MX host accepts connections".to_owned(),
            p => format!(
                "policy {}: no MX host passes it ({} skipped)",
                p.level(),
                skipped.join(", ")
            ),
        };
        return sender(Delivery::Deferred, why);
    };
    let at: Vec<&str> = used
        .iter()
        .filter(|(l, _)| *l == weakest)
        .map(|(_, h)| *h)
        .collect();
    let mut reason = match weakest {
        Delivery::Authenticated => format!(
            "policy {}: {} authenticate{}",
            decision.policy.level(),
            at.join(", "),
            if at.len() == 1 { "s" } else { "" }
        ),
        Delivery::Encrypted => format!("TLS required, not authenticated at {}", at.join(", ")),
        _ => format!("nothing enforced at {}", at.join(", ")),
    };
    if !skipped.is_empty() {
        reason.push_str(&format!("; skips {}", skipped.join(", ")));
    }
    sender(weakest, reason)
}

/// `dane` behind an MX RRset that is not DNSSEC-secure: an attacker who forges the MX points
/// it at a host without TLSA, where `dane` is opportunistic (DANE-DISC-01, POSTFIX.md §4.5).
fn forgeable_dane(observations: &Observations, policy: &TlsPolicy) -> Option<SenderOutcome> {
    let MxState::Hosts { security, .. } = &observations.mx else {
        return None;
    };
    (*policy == TlsPolicy::Dane && !security.is_secure()).then(|| {
        sender(
            Delivery::Opportunistic,
            format!(
                "policy dane, but the MX RRset is DNSSEC-{security}: a forged MX gets \
                 opportunistic TLS"
            ),
        )
    })
}

/// Weakest first.
fn rank(d: Delivery) -> u8 {
    match d {
        Delivery::Opportunistic => 0,
        Delivery::Encrypted => 1,
        Delivery::Authenticated => 2,
        Delivery::Deferred | Delivery::NoMail => 3,
    }
}
