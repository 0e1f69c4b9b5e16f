//! Never downgrade, proven over the decision's whole abstract input space (POSTFIX.md §4.5).
//!
//! Every combination of MX status (secure, insecure, indeterminate, bogus, failed, secure and
//! insecure NXDOMAIN and null MX) × one to three MX hosts × per host {address state, TLSA
//! state} × MTA-STS {absent, none, testing, testing under `strict_testing`, enforce fresh,
//! enforce cached (also what a failed fetch leaves), enforce with `max_age: 0`, policy cache
//! unreadable} × which hosts the policy covers is decided by [`decide`], and the rendered
//! answer is played by the Postfix model of `model/postfix.rs` against an attacker who
//! forges any DNS data that is not DNSSEC-secure, strips STARTTLS, and presents any
//! certificate that is neither PKIX-valid for a victim's name nor matched by the victim's
//! secure TLSA.
//!
//! The invariants (safety, DANE precedence, availability) and the worlds each observation is
//! consistent with are those of `model/attack.rs`.
//!
//! The model and the enumeration share no code with `decide`; the mutant tests at the end
//! show that reintroducing each defect the issue named makes the enumeration fail.

mod model {
    pub(crate) mod attack;
    pub(crate) mod postfix;
}

use model::attack::{broken, Broken};
use mxsec_proto::decision::{
    decide, ActiveSts, AddressState, DecisionConfig, HostState, LookupFailure, MxState,
    Observations, StsSource, StsState, TlsaState,
};
use mxsec_proto::dnssec::Security;
use mxsec_proto::mta_sts::matcher::MxPattern;
use mxsec_proto::mta_sts::policy::Mode;
use mxsec_proto::name::{Destination, DomainName};

const HOST_NAMES: [&str; 3] = [
    "mx1.victim.example",
    "mx2.victim.example",
    "mx3.victim.example",
];

/// The per-host situations: address lookups and TLSA as the decision receives them.
fn host_cases() -> Vec<(AddressState, TlsaState)> {
    let secure = AddressState::Found {
        security: Security::Secure,
    };
    let mut cases: Vec<(AddressState, TlsaState)> = [
        TlsaState::Absent,
        TlsaState::Insecure,
        TlsaState::Usable,
        TlsaState::AllUnusable,
        TlsaState::Failed(LookupFailure::Transient("timeout".into())),
        TlsaState::Failed(LookupFailure::Bogus("bad signature".into())),
    ]
    .into_iter()
    .map(|tlsa| (secure.clone(), tlsa))
    .collect();
    // TLSA states a caller should not pass for insecure addresses (DANE-DNS-06), which the
    // decision must still answer safely.
    for tlsa in [TlsaState::Usable, TlsaState::AllUnusable] {
        cases.push((
            AddressState::Found {
                security: Security::Insecure,
            },
            tlsa,
        ));
    }
    for addresses in [
        AddressState::Found {
            security: Security::Insecure,
        },
        AddressState::Found {
            security: Security::Indeterminate,
        },
        AddressState::Found {
            security: Security::Bogus,
        },
        AddressState::None,
        AddressState::Failed(LookupFailure::Transient("SERVFAIL".into())),
        AddressState::Failed(LookupFailure::Bogus("bad signature".into())),
    ] {
        cases.push((addresses, TlsaState::NotApplicable));
    }
    cases
}

/// Every MX host list of one to three hosts.
fn host_lists() -> Vec<Vec<HostState>> {
    let cases = host_cases();
    let mut lists: Vec<Vec<HostState>> = vec![Vec::new()];
    let mut all = Vec::new();
    for host_name in HOST_NAMES {
        let mut longer = Vec::new();
        for list in &lists {
            for (addresses, tlsa) in &cases {
                let mut next = list.clone();
                next.push(HostState {
                    name: name(host_name),
                    addresses: addresses.clone(),
                    tlsa: tlsa.clone(),
                });
                longer.push(next);
            }
        }
        all.extend(longer.iter().cloned());
        lists = longer;
    }
    all
}

/// The MX situations.
fn mx_cases() -> Vec<MxCase> {
    let mut cases = vec![
        MxCase::Hosts(Security::Secure),
        MxCase::Hosts(Security::Insecure),
        MxCase::Hosts(Security::Indeterminate),
        MxCase::Hosts(Security::Bogus),
        MxCase::Failed(LookupFailure::Transient("timeout".into())),
        MxCase::Failed(LookupFailure::Bogus("bad signature".into())),
    ];
    for security in [Security::Secure, Security::Insecure, Security::Bogus] {
        cases.push(MxCase::NoSuchDomain(security));
        cases.push(MxCase::NullMx(security));
    }
    cases
}

#[derive(Clone, Debug)]
enum MxCase {
    Hosts(Security),
    Failed(LookupFailure),
    NoSuchDomain(Security),
    NullMx(Security),
}

/// One MTA-STS situation with the local `strict_testing` option.
#[derive(Clone, Debug)]
struct StsCase {
    state: StsState,
    strict_testing: bool,
}

/// The MTA-STS situations for a host list: every coverage for `enforce`.
fn sts_cases(hosts: usize) -> Vec<StsCase> {
    let plain = |state| StsCase {
        state,
        strict_testing: false,
    };
    let mut cases = vec![
        plain(StsState::Absent),
        plain(StsState::Unknown("policy store read failed".into())),
        plain(active(
            Mode::None,
            &["*.victim.example"],
            StsSource::Fresh,
            3600,
        )),
        plain(active(
            Mode::Testing,
            &["*.victim.example"],
            StsSource::Fresh,
            3600,
        )),
        StsCase {
            state: active(
                Mode::Testing,
                &["mx1.victim.example"],
                StsSource::Cached,
                3600,
            ),
            strict_testing: true,
        },
    ];
    let mut coverages: Vec<Vec<&str>> = vec![vec!["*.victim.example"]];
    for mask in 0..(1u32 << hosts.max(1)) {
        coverages.push(
            (0..hosts)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| HOST_NAMES[i])
                .collect(),
        );
    }
    for patterns in &coverages {
        // Fresh, cached (also what a failed refetch leaves in force), and `max_age: 0`:
        // applied to this lookup only.
        for (source, ttl) in [
            (StsSource::Fresh, 3600),
            (StsSource::Cached, 3600),
            (StsSource::Fresh, 1),
        ] {
            cases.push(plain(active(Mode::Enforce, patterns, source, ttl)));
        }
    }
    cases
}

fn active(mode: Mode, patterns: &[&str], source: StsSource, ttl: u32) -> StsState {
    StsState::Active(ActiveSts {
        policy_domain: name("victim.example"),
        mode,
        mx_patterns: patterns
            .iter()
            .map(|p| MxPattern::parse(p).expect("pattern"))
            .collect(),
        policy_lines: vec!["version: STSv1".into(), format!("mode: {}", mode.as_str())],
        source,
        ttl,
    })
}

fn name(s: &str) -> DomainName {
    DomainName::parse(s).expect("name")
}

/// A broken invariant, with the situation that breaks it.
#[derive(Debug)]
struct Counterexample {
    invariant: Broken,
    mx: MxCase,
    hosts: Vec<HostState>,
    sts: StsCase,
    answer: String,
}

impl Counterexample {
    /// One line: the invariant, the MX, each host, the MTA-STS state and the answer.
    fn summary(&self) -> String {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .map(|h| format!("{}:{:?}/{:?}", h.name, h.addresses, h.tlsa))
            .collect();
        let sts = match &self.sts.state {
            StsState::Active(a) => format!(
                "{} {:?} patterns {:?} ttl {} strict {}",
                a.mode.as_str(),
                a.source,
                a.mx_patterns
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
                a.ttl,
                self.sts.strict_testing
            ),
            other => format!("{other:?}"),
        };
        format!(
            "{:?} | MX {:?} | {} | {sts} | {}",
            self.invariant,
            self.mx,
            hosts.join(", "),
            self.answer
        )
    }
}

/// Decides every situation with `answer_for` and checks the invariants; returns the
/// counterexamples (at most `limit`) and the number of situations checked.
fn check_all(
    answer_for: &dyn Fn(&Observations, &DecisionConfig) -> String,
    limit: usize,
) -> (Vec<Counterexample>, usize) {
    let lists = host_lists();
    let mut found = Vec::new();
    let mut checked = 0;
    for mx in mx_cases() {
        let host_lists: &[Vec<HostState>] = match mx {
            MxCase::Hosts(_) => &lists,
            _ => &lists[..1],
        };
        for hosts in host_lists {
            for sts in sts_cases(hosts.len()) {
                let obs = Observations {
                    destination: Destination::Domain(name("victim.example")),
                    mx: match &mx {
                        MxCase::Hosts(security) => MxState::Hosts {
                            security: *security,
                            hosts: hosts.clone(),
                        },
                        MxCase::Failed(f) => MxState::Failed(f.clone()),
                        MxCase::NoSuchDomain(security) => MxState::NoSuchDomain {
                            security: *security,
                        },
                        MxCase::NullMx(security) => MxState::NullMx {
                            security: *security,
                        },
                    },
                    sts: sts.state.clone(),
                };
                let config = DecisionConfig {
                    strict_testing: sts.strict_testing,
                    tlsrpt: false,
                };
                let answer = answer_for(&obs, &config);
                checked += 1;
                if let Some(invariant) = broken(&obs, &config, &answer) {
                    found.push(Counterexample {
                        invariant,
                        mx: mx.clone(),
                        hosts: hosts.clone(),
                        sts: sts.clone(),
                        answer,
                    });
                    if found.len() >= limit {
                        return (found, checked);
                    }
                }
            }
        }
    }
    (found, checked)
}

fn real_answer(obs: &Observations, config: &DecisionConfig) -> String {
    decide(obs, config).socketmap_payload(config)
}

#[test]
fn pfx_04_sts_app_01_never_downgrade_over_the_whole_input_space() {
    let (found, checked) = check_all(&real_answer, 20);
    assert!(
        found.is_empty(),
        "{} counterexamples of {checked} situations:\n{}",
        found.len(),
        found
            .iter()
            .map(Counterexample::summary)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(checked > 100_000, "only {checked} situations");
    eprintln!("{checked} situations decided, every invariant holds");
}

/// Whether the observations show a host with secure addresses and `tlsa`.
fn has_host(obs: &Observations, tlsa: &TlsaState) -> bool {
    let MxState::Hosts { hosts, .. } = &obs.mx else {
        return false;
    };
    hosts.iter().any(|h| {
        h.tlsa == *tlsa
            && h.addresses
                == AddressState::Found {
                    security: Security::Secure,
                }
    })
}

/// Runs the enumeration over a decision with a defect put back, and expects it caught.
fn assert_caught(defect: &str, mutant: &dyn Fn(&Observations, &DecisionConfig) -> String) {
    let (found, _) = check_all(mutant, 1);
    let first = found
        .first()
        .unwrap_or_else(|| panic!("{defect}: not caught by the enumeration"));
    assert!(first.invariant.is_safety(), "{defect}: {}", first.summary());
}

/// Defect 1: DANE answered before MTA-STS coverage under an insecure MX.
#[test]
fn mutant_insecure_mx_dane_over_enforce_is_caught() {
    assert_caught("defect 1", &|obs, config| {
        let answer = real_answer(obs, config);
        if answer.starts_with("OK secure") && has_host(obs, &TlsaState::Usable) {
            "OK dane".to_owned()
        } else {
            answer
        }
    });
}

/// Defect 2: partial DANE with an enforce policy answered `dane`.
#[test]
fn mutant_partial_dane_under_enforce_is_caught() {
    assert_caught("defect 2", &|obs, config| {
        let answer = real_answer(obs, config);
        let partial = has_host(obs, &TlsaState::Absent) || has_host(obs, &TlsaState::Insecure);
        if answer == "OK dane-only" && partial {
            "OK dane".to_owned()
        } else {
            answer
        }
    });
}

/// Defect 3: all-unusable TLSA with an enforce policy answered `encrypt`.
#[test]
fn mutant_unusable_tlsa_under_enforce_is_caught() {
    assert_caught("defect 3", &|obs, config| {
        let answer = real_answer(obs, config);
        if answer.starts_with("OK secure") && has_host(obs, &TlsaState::AllUnusable) {
            "OK encrypt".to_owned()
        } else {
            answer
        }
    });
}

/// Defect 5: an unsigned NXDOMAIN or null MX answered `NOTFOUND ` despite a cached policy.
#[test]
fn mutant_unsigned_denial_is_caught() {
    assert_caught("defect 5", &|obs, config| match obs.mx {
        MxState::NoSuchDomain { .. } | MxState::NullMx { .. } => "NOTFOUND ".to_owned(),
        _ => real_answer(obs, config),
    });
}
