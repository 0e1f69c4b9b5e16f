//! The TLS policy decision over arbitrary observations, with its invariants as assertions:
//!
//! - a failed MX lookup for a domain is always `TEMP` (DANE-DNS-03);
//! - a bogus DNSSEC answer anywhere never yields `NOTFOUND ` (PFX-04, DANE-DNS-03/04/05);
//! - a host with secure addresses and a secure TLSA RRset (usable or all unusable) is never
//!   answered `NOTFOUND ` (PFX-05, DANE-DISC-04/05, DANE-DNS-06);
//! - never downgrade (POSTFIX.md §4.5): the answer, played by the Postfix model of
//!   `crates/mxsec-proto/tests/model/` against an attacker who forges any DNS data that is
//!   not DNSSEC-secure, strips STARTTLS and presents any certificate not authenticated for
//!   the victim, keeps the safety, DANE precedence and availability invariants of the
//!   `never_downgrade` test (PFX-04, STS-APP-01, STS-APP-06);
//! - a policy cache that could not be read never yields `NOTFOUND ` for a domain with MX
//!   hosts: a cached `enforce` policy may exist (STS-FETCH-07, PFX-04);
//! - a `secure` answer names only MX hosts that the policy's patterns cover, or the policy's
//!   own wildcard patterns (STS-VAL-01);
//! - the rendered socketmap reply parses back with the same status, within 100000 octets
//!   (PFX-02).
//!
//! The observations are built by hand from the fuzz bytes, with host names and patterns drawn
//! mostly from a small pool so that patterns and hosts often match.
#![no_main]

use std::sync::OnceLock;

#[path = "../../crates/mxsec-proto/tests/model"]
mod model {
    pub(crate) mod attack;
    pub(crate) mod postfix;
}

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use mxsec_proto::decision::{
    decide, ActiveSts, AddressState, DecisionConfig, HostState, LookupFailure, MatchName,
    MxState, Observations, StsSource, StsState, TlsPolicy, TlsaState,
};
use mxsec_proto::dnssec::Security;
use mxsec_proto::mta_sts::matcher::MxPattern;
use mxsec_proto::mta_sts::policy::Mode;
use mxsec_proto::name::{Destination, DomainName};
use mxsec_proto::postfix::socketmap::{SocketmapReply, MAX_REPLY_LEN};

const NAMES: &[&str] = &[
    "example.com",
    "mx1.example.com",
    "mx2.example.com",
    "a.b.example.com",
    "mail.example.net",
    "xn--bcher-kva.example",
];

const PATTERNS: &[&str] = &[
    "*.example.com",
    "mx1.example.com",
    "example.com",
    "*.b.example.com",
    "mail.example.net",
    "*.example.net",
];

const DESTINATIONS: &[&str] = &[
    "example.com",
    "[mx1.example.com]",
    "[mx1.example.com]:587",
    "[192.0.2.1]",
    "[ipv6:2001:db8::1]",
];

/// The pools, parsed once: parsing them per input would dominate the run time.
struct Pools {
    names: Vec<DomainName>,
    patterns: Vec<MxPattern>,
}

fn pools() -> &'static Pools {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    POOLS.get_or_init(|| Pools {
        names: NAMES
            .iter()
            .map(|n| DomainName::parse(n).expect("pool name"))
            .collect(),
        patterns: PATTERNS
            .iter()
            .map(|p| MxPattern::parse(p).expect("pool pattern"))
            .collect(),
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok((obs, config)) = observations(&mut u) else {
        return;
    };
    check(&obs, &config);
});

fn check(obs: &Observations, config: &DecisionConfig) {
    let decision = decide(obs, config);
    let policy = &decision.policy;
    assert!(!decision.reasons.is_empty(), "a decision always says why");

    if matches!(obs.destination, Destination::Domain(_)) {
        if let MxState::Failed(_) = obs.mx {
            assert!(
                matches!(policy, TlsPolicy::TempFail(_)),
                "failed MX lookup answered {policy:?}"
            );
        }
        if has_bogus(&obs.mx) {
            assert!(
                *policy != TlsPolicy::NoPolicy,
                "bogus answer downgraded to NOTFOUND: {obs:?}"
            );
        }
        if matches!(obs.sts, StsState::Unknown(_)) && has_hosts(&obs.mx) {
            assert!(
                *policy != TlsPolicy::NoPolicy,
                "unreadable policy cache downgraded to NOTFOUND: {obs:?}"
            );
        }
        if dane_applies(&obs.mx) {
            assert!(
                *policy != TlsPolicy::NoPolicy,
                "DANE host, yet answered NOTFOUND: {obs:?}"
            );
        }
    }

    if let TlsPolicy::Secure(secure) = policy {
        let StsState::Active(sts) = &obs.sts else {
            panic!("secure without an MTA-STS policy");
        };
        assert!(!secure.matches.is_empty());
        for name in &secure.matches {
            let covered = match name {
                MatchName::Host(host) => sts.mx_patterns.iter().any(|p| p.matches(host)),
                MatchName::Below(domain) => sts
                    .mx_patterns
                    .iter()
                    .any(|p| p.is_broad() && p.domain() == domain),
            };
            assert!(covered, "{name:?} is not covered");
        }
    }

    let payload = decision.socketmap_payload(config);
    // A policy too long for a socketmap reply defers by design (PFX-02, asserted below): the
    // model judges the policies that can be sent.
    let sendable = policy
        .postfix_policy(config)
        .is_none_or(|text| "OK ".len() + text.len() <= MAX_REPLY_LEN);
    if sendable {
        if let Some(broken) = model::attack::broken(obs, config, &payload) {
            panic!("{broken:?}: answered {payload:?} for {obs:?} ({config:?})");
        }
    }
    assert!(
        payload.len() <= MAX_REPLY_LEN,
        "reply of {} octets",
        payload.len()
    );
    let parsed = SocketmapReply::parse(payload.as_bytes()).expect("rendered reply parses");
    match (policy, &parsed) {
        (TlsPolicy::NoPolicy, SocketmapReply::NotFound) => {}
        (TlsPolicy::TempFail(_), SocketmapReply::Temp(_)) => {}
        (_, SocketmapReply::Ok(data)) => {
            assert_eq!(Some(data), policy.postfix_policy(config).as_ref());
        }
        // Policy text that cannot be sent within the limit defers, never downgrades.
        (_, SocketmapReply::Temp(_)) => {
            let text = policy.postfix_policy(config).expect("an OK policy");
            assert!(
                "OK ".len() + text.len() > MAX_REPLY_LEN,
                "{policy:?} became TEMP"
            );
        }
        (policy, parsed) => panic!("{policy:?} rendered as {parsed:?}"),
    }
}

/// Whether any lookup of a domain destination came back bogus.
fn has_bogus(mx: &MxState) -> bool {
    match mx {
        MxState::Failed(failure) => is_bogus(failure),
        MxState::NoSuchDomain { .. } | MxState::NullMx { .. } => false,
        MxState::Hosts { security, hosts } => {
            *security == Security::Bogus
                || hosts.iter().any(|h| {
                    matches!(
                        h.addresses,
                        AddressState::Found {
                            security: Security::Bogus
                        }
                    ) || matches!(&h.addresses, AddressState::Failed(f) if is_bogus(f))
                        || matches!(&h.tlsa, TlsaState::Failed(f) if is_bogus(f))
                })
        }
    }
}

fn is_bogus(failure: &LookupFailure) -> bool {
    matches!(failure, LookupFailure::Bogus(_))
}

/// Whether the MX lookup found hosts to deliver to.
fn has_hosts(mx: &MxState) -> bool {
    matches!(mx, MxState::Hosts { hosts, .. } if !hosts.is_empty())
}

/// Whether a host with secure addresses has a secure TLSA RRset, usable or all unusable (TLSA
/// counts for no other host, DANE-DNS-06).
fn dane_applies(mx: &MxState) -> bool {
    let MxState::Hosts { hosts, .. } = mx else {
        return false;
    };
    hosts.iter().any(|h| {
        h.addresses
            == AddressState::Found {
                security: Security::Secure,
            }
            && matches!(h.tlsa, TlsaState::Usable | TlsaState::AllUnusable)
    })
}

fn observations(u: &mut Unstructured<'_>) -> Result<(Observations, DecisionConfig)> {
    let config = DecisionConfig {
        strict_testing: u.arbitrary()?,
        tlsrpt: u.arbitrary()?,
    };
    let destination = if u.ratio(1, 8)? {
        let text: &str = u.arbitrary()?;
        match Destination::parse(text) {
            Ok(d) => d,
            Err(_) => Destination::parse(u.choose(DESTINATIONS)?).map_err(|_| bad())?,
        }
    } else {
        Destination::parse(u.choose(DESTINATIONS)?).map_err(|_| bad())?
    };
    let mx = match u.int_in_range(0..=5u8)? {
        0 => MxState::Failed(failure(u)?),
        1 => MxState::NoSuchDomain {
            security: security(u)?,
        },
        2 => MxState::NullMx {
            security: security(u)?,
        },
        _ => {
            let security = security(u)?;
            let count = u.int_in_range(0..=u8::MAX)?;
            let mut hosts = Vec::new();
            for _ in 0..count {
                if u.is_empty() {
                    break;
                }
                hosts.push(host(u)?);
            }
            MxState::Hosts { security, hosts }
        }
    };
    let sts = match u.int_in_range(0..=3u8)? {
        0 => StsState::Absent,
        1 => StsState::Unknown(String::from(u.arbitrary::<&str>()?)),
        _ => StsState::Active(active_sts(u)?),
    };
    Ok((
        Observations {
            destination,
            mx,
            sts,
        },
        config,
    ))
}

fn host(u: &mut Unstructured<'_>) -> Result<HostState> {
    let addresses = match u.int_in_range(0..=3u8)? {
        0 => AddressState::None,
        1 => AddressState::Failed(failure(u)?),
        _ => AddressState::Found {
            security: security(u)?,
        },
    };
    let tlsa = match u.int_in_range(0..=5u8)? {
        0 => TlsaState::NotApplicable,
        1 => TlsaState::Absent,
        2 => TlsaState::Insecure,
        3 => TlsaState::Usable,
        4 => TlsaState::AllUnusable,
        _ => TlsaState::Failed(failure(u)?),
    };
    Ok(HostState {
        name: name(u)?,
        addresses,
        tlsa,
    })
}

fn active_sts(u: &mut Unstructured<'_>) -> Result<ActiveSts> {
    let mode = *u.choose(&[Mode::Enforce, Mode::Testing, Mode::None])?;
    let mut mx_patterns = Vec::new();
    // Up to a few thousand patterns: a 64 KiB policy holds that many, and with the TLSRPT
    // attributes they can outgrow the socketmap reply limit.
    // Once the input runs out, the pool fills the rest, so short inputs reach large counts.
    let count = if u.ratio(1, 16)? {
        u.int_in_range(0..=4096u16)?
    } else {
        u.int_in_range(0..=8u16)?
    };
    for i in 0..usize::from(count) {
        let pool = &pools().patterns;
        let pattern = if u.is_empty() {
            pool.get(i % pool.len()).cloned()
        } else if u.ratio(1, 8)? {
            MxPattern::parse(u.arbitrary()?).ok()
        } else {
            Some(u.choose(pool)?.clone())
        };
        mx_patterns.extend(pattern);
    }
    let mut policy_lines = Vec::new();
    for _ in 0..u.int_in_range(0..=u8::MAX)? {
        if u.is_empty() {
            break;
        }
        policy_lines.push(String::from(u.arbitrary::<&str>()?));
    }
    Ok(ActiveSts {
        policy_domain: name(u)?,
        mode,
        mx_patterns,
        policy_lines,
        source: *u.choose(&[StsSource::Fresh, StsSource::Cached])?,
        ttl: u.arbitrary()?,
    })
}

fn name(u: &mut Unstructured<'_>) -> Result<DomainName> {
    if u.ratio(1, 8)? {
        if let Ok(name) = DomainName::parse(u.arbitrary()?) {
            return Ok(name);
        }
    }
    u.choose(&pools().names).cloned()
}

fn security(u: &mut Unstructured<'_>) -> Result<Security> {
    u.choose(&[
        Security::Secure,
        Security::Insecure,
        Security::Bogus,
        Security::Indeterminate,
    ])
    .copied()
}

fn failure(u: &mut Unstructured<'_>) -> Result<LookupFailure> {
    let why = String::from(u.arbitrary::<&str>()?);
    Ok(if u.arbitrary()? {
        LookupFailure::Bogus(why)
    } else {
        LookupFailure::Transient(why)
    })
}

fn bad() -> libfuzzer_sys::arbitrary::Error {
    libfuzzer_sys::arbitrary::Error::IncorrectFormat
}
