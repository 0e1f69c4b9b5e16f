//! The never-downgrade invariants of POSTFIX.md §4.5, checked for one decision's input and
//! answer against the Postfix model of `postfix.rs` (which must be included beside this file
//! as `mod postfix`).
//!
//! For the observations, every state of the world they are consistent with is considered: a
//! failed lookup may hide anything, and Postfix makes its own lookups after the answer, so
//! an MX RRset or denial that is not DNSSEC-secure may be forged into any MX set, including
//! a host of the attacker's.
//!
//! - **Safety** (PFX-04, STS-APP-01, DANE-DISC-04): where an MTA-STS `enforce` policy
//!   applies (or may: the cache was unreadable), or DANE applies to the destination (a
//!   secure MX whose reachable hosts all have usable TLSA), the attacker receives the
//!   message at no host Postfix may use; and behind a secure MX, never at a host with usable
//!   TLSA.
//! - **Precedence** (STS-APP-06, PFX-05): a secure MX with a usable-TLSA host is answered at
//!   a DANE level (or `TEMP`), never by MTA-STS.
//! - **Availability**: a correctly configured destination (no failure; every host
//!   authenticates, by DANE or by a covering `enforce` policy) is never answered `TEMP`,
//!   and Postfix delivers to one of its hosts with authentication.
//!
//! Written from §4.5 alone: nothing here calls `mxsec_proto::decision::decide`. Shared by the
//! `never_downgrade` test and the `decision` fuzz target, which each use part of it.

#![allow(dead_code)]

use mxsec_proto::decision::{
    ActiveSts, AddressState, DecisionConfig, HostState, LookupFailure, MxState, Observations,
    StsState, TlsaState,
};
use mxsec_proto::dnssec::Security;
use mxsec_proto::mta_sts::matcher::MxPattern;
use mxsec_proto::mta_sts::policy::Mode;
use mxsec_proto::name::{Destination, DomainName};

use super::postfix::{attacker_wins, honest_delivery, Delivery, Level, Owner, Peer, Tlsa};

/// The name of the attacker's own MX host, in a signed zone of theirs.
pub(crate) const ATTACKER_HOST: &str = "mx.attacker.example";

/// The most MX hosts whose worlds are enumerated (each multiplies them by up to five).
pub(crate) const MAX_HOSTS: usize = 4;

/// Which invariant an answer breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Broken {
    /// The attacker receives mail although DANE or an `enforce` policy applies.
    Safety,
    /// The attacker receives mail at a host with usable TLSA behind a secure MX.
    DaneHost,
    /// MTA-STS is answered where DANE applies.
    Precedence,
    /// A correctly configured destination is not delivered.
    Availability,
}

impl Broken {
    /// Whether an attacker gains from it (as opposed to mail waiting, or a rule of order).
    pub(crate) fn is_safety(self) -> bool {
        matches!(self, Self::Safety | Self::DaneHost)
    }
}

/// The first invariant that `payload`, the socketmap reply for `obs`, breaks; `None` when
/// all hold, or when the observations are out of the model's reach (a non-domain next hop,
/// more than [`MAX_HOSTS`] hosts, or a policy that itself covers the attacker's host).
pub(crate) fn broken(obs: &Observations, config: &DecisionConfig, payload: &str) -> Option<Broken> {
    if !matches!(obs.destination, Destination::Domain(_)) {
        return None;
    }
    let hosts: &[HostState] = match &obs.mx {
        MxState::Hosts { hosts, .. } if hosts.len() > MAX_HOSTS => return None,
        MxState::Hosts { hosts, .. } => hosts,
        _ => &[],
    };
    let enforce = enforce(&obs.sts, config);
    // A policy that itself lets the attacker's host in, as MTA-STS or as Postfix reads its
    // `*.x` patterns (`.x`, any depth: POSTFIX.md §4.5 accepts that widening where no MX host
    // can be named), is no attack on the policy.
    let attacker = DomainName::parse(ATTACKER_HOST).ok()?;
    if let Some(Some(policy)) = enforce {
        let admits = |p: &MxPattern| {
            p.matches(&attacker)
                || (p.is_broad() && attacker.as_str().ends_with(&format!(".{}", p.domain())))
        };
        if policy.mx_patterns.iter().any(admits) {
            return None;
        }
    }
    let level = Level::parse(payload);
    for world in worlds(&obs.mx, hosts) {
        let reachable: Vec<&Peer> = world.peers.iter().flatten().collect();
        let dane_destination = world.mx_secure
            && !reachable.is_empty()
            && reachable.iter().all(|p| p.tlsa == Tlsa::Usable);
        let mut candidates: Vec<Peer> = reachable.iter().map(|p| (*p).clone()).collect();
        if world.forgeable {
            candidates.extend(attacker_peers());
        }
        if (enforce.is_some() || dane_destination)
            && candidates.iter().any(|p| attacker_wins(&level, p))
        {
            return Some(Broken::Safety);
        }
        if world.mx_secure
            && reachable
                .iter()
                .any(|p| p.tlsa == Tlsa::Usable && attacker_wins(&level, p))
        {
            return Some(Broken::DaneHost);
        }
    }
    let secure_mx = matches!(
        obs.mx,
        MxState::Hosts {
            security: Security::Secure,
            ..
        }
    );
    if secure_mx
        && hosts
            .iter()
            .any(|h| h.tlsa == TlsaState::Usable && is_secure(&h.addresses))
        && !matches!(level, Level::Dane | Level::DaneOnly | Level::Temp)
    {
        return Some(Broken::Precedence);
    }
    if correctly_configured(&obs.mx, hosts, enforce) {
        let delivered = hosts.iter().any(|h| {
            possible_tlsa(h).into_iter().flatten().any(|tlsa| {
                honest_delivery(&level, &victim(h.name.as_str(), tlsa)) == Delivery::Authenticated
            })
        });
        if level == Level::Temp || !delivered {
            return Some(Broken::Availability);
        }
    }
    None
}

/// Whether an `enforce` policy applies (`Some(Some(policy))`), or may because the policy
/// cache could not be read (`Some(None)`).
fn enforce<'a>(sts: &'a StsState, config: &DecisionConfig) -> Option<Option<&'a ActiveSts>> {
    match sts {
        StsState::Unknown(_) => Some(None),
        StsState::Active(a) if a.mode == Mode::Enforce => Some(Some(a)),
        StsState::Active(a) if a.mode == Mode::Testing && config.strict_testing => Some(Some(a)),
        StsState::Active(_) | StsState::Absent => None,
    }
}

fn is_secure(addresses: &AddressState) -> bool {
    *addresses
        == AddressState::Found {
            security: Security::Secure,
        }
}

/// What Postfix's own lookups may find for a host the decision saw as `host`: a TLSA
/// result, or `None` when Postfix cannot reach it.
fn possible_tlsa(host: &HostState) -> Vec<Option<Tlsa>> {
    let any = vec![
        Some(Tlsa::Usable),
        Some(Tlsa::Unusable),
        Some(Tlsa::None),
        Some(Tlsa::LookupFails),
    ];
    match &host.addresses {
        AddressState::Found {
            security: Security::Secure,
        } => match host.tlsa {
            TlsaState::Usable => vec![Some(Tlsa::Usable)],
            TlsaState::AllUnusable => vec![Some(Tlsa::Unusable)],
            // Postfix's own lookup may work, and find anything.
            TlsaState::Failed(_) => any,
            TlsaState::Absent | TlsaState::Insecure | TlsaState::NotApplicable => {
                vec![Some(Tlsa::None)]
            }
        },
        // Postfix does not look up TLSA for insecure addresses.
        AddressState::Found {
            security: Security::Insecure | Security::Indeterminate,
        } => vec![Some(Tlsa::None)],
        // A transient failure may clear up for Postfix's own lookup, showing anything.
        AddressState::Failed(LookupFailure::Transient(_)) => {
            let mut all = any;
            all.push(None);
            all
        }
        // No address, or bogus: Postfix's validating lookup fails too.
        AddressState::Found {
            security: Security::Bogus,
        }
        | AddressState::None
        | AddressState::Failed(LookupFailure::Bogus(_)) => vec![None],
    }
}

/// One state of the world consistent with the observations: the MX hosts Postfix sees
/// (`None`: unreachable), whether that MX set is DNSSEC-secure, and whether an attacker can
/// forge it.
struct World {
    peers: Vec<Option<Peer>>,
    mx_secure: bool,
    forgeable: bool,
}

/// Every world consistent with the MX observation.
fn worlds(mx: &MxState, hosts: &[HostState]) -> Vec<World> {
    let forged = || World {
        peers: Vec::new(),
        mx_secure: false,
        forgeable: true,
    };
    match mx {
        // Postfix's own validating lookup fails too, or proves there is no mail host:
        // nothing is delivered.
        MxState::Failed(LookupFailure::Bogus(_))
        | MxState::Hosts {
            security: Security::Bogus,
            ..
        }
        | MxState::NoSuchDomain {
            security: Security::Secure | Security::Bogus,
        }
        | MxState::NullMx {
            security: Security::Secure | Security::Bogus,
        } => Vec::new(),
        MxState::NoSuchDomain { .. } | MxState::NullMx { .. } => vec![forged()],
        // Postfix's lookup may work and find a secure MX with a host of any kind, or an
        // insecure one.
        MxState::Failed(LookupFailure::Transient(_)) => {
            let mut out: Vec<World> = [Tlsa::Usable, Tlsa::Unusable, Tlsa::None]
                .into_iter()
                .map(|tlsa| World {
                    peers: vec![Some(victim("mx.unknown.example", tlsa))],
                    mx_secure: true,
                    forgeable: false,
                })
                .collect();
            out.push(forged());
            out
        }
        MxState::Hosts { security, .. } => {
            let secure = *security == Security::Secure;
            let mut combos: Vec<Vec<Option<Peer>>> = vec![Vec::new()];
            for host in hosts {
                let mut next = Vec::new();
                for combo in &combos {
                    for tlsa in possible_tlsa(host) {
                        let mut c = combo.clone();
                        c.push(tlsa.map(|t| victim(host.name.as_str(), t)));
                        next.push(c);
                    }
                }
                combos = next;
            }
            combos
                .into_iter()
                .map(|peers| World {
                    peers,
                    mx_secure: secure,
                    forgeable: !secure,
                })
                .collect()
        }
    }
}

fn victim(name: &str, tlsa: Tlsa) -> Peer {
    Peer {
        name: name.to_owned(),
        tlsa,
        owner: Owner::Victim,
    }
}

/// The hosts an attacker who forges the MX RRset can make Postfix use: theirs, with TLSA of
/// their own or none.
fn attacker_peers() -> [Peer; 2] {
    [Tlsa::Usable, Tlsa::None].map(|tlsa| Peer {
        name: ATTACKER_HOST.to_owned(),
        tlsa,
        owner: Owner::Attacker,
    })
}

/// No failure, and every host authenticates: by an `enforce` policy that covers it, or by
/// usable TLSA where DANE can be relied on (a secure MX) or no policy says otherwise (an
/// `enforce` policy that does not list a host behind an insecure MX disowns it).
fn correctly_configured(
    mx: &MxState,
    hosts: &[HostState],
    enforce: Option<Option<&ActiveSts>>,
) -> bool {
    let mx_secure = match mx {
        MxState::Hosts {
            security: Security::Secure,
            ..
        } => true,
        MxState::Hosts {
            security: Security::Insecure,
            ..
        } => false,
        _ => return false,
    };
    let policy = match enforce {
        Some(None) => return false,
        Some(Some(policy)) => Some(policy),
        None => None,
    };
    !hosts.is_empty()
        && hosts.iter().all(|h| {
            let AddressState::Found { security } = h.addresses else {
                return false;
            };
            let dane = security == Security::Secure
                && h.tlsa == TlsaState::Usable
                && (mx_secure || policy.is_none());
            let covered =
                policy.is_some_and(|p| p.mx_patterns.iter().any(|pat| pat.matches(&h.name)));
            security != Security::Bogus
                && !matches!(h.tlsa, TlsaState::Failed(_))
                && (dane || covered)
        })
}
