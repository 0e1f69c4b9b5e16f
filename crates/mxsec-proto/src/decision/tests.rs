//! One test per row of POSTFIX.md §4.5, plus the edge cases around them.

use super::*;

fn name(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

fn pattern(s: &str) -> MxPattern {
    MxPattern::parse(s).unwrap()
}

fn host(n: &str, addr: Security, tlsa: TlsaState) -> HostState {
    HostState {
        name: name(n),
        addresses: AddressState::Found { security: addr },
        tlsa,
    }
}

fn sts(mode: Mode, patterns: &[&str]) -> StsState {
    StsState::Active(ActiveSts {
        policy_domain: name("example.com"),
        mode,
        mx_patterns: patterns.iter().map(|p| pattern(p)).collect(),
        policy_lines: vec![
            "version: STSv1".into(),
            format!("mode: {}", mode.as_str()),
            "mx: mx1.example.com".into(),
            "max_age: 604800".into(),
        ],
        source: StsSource::Fresh,
        ttl: 3600,
    })
}

fn obs(mx: MxState, sts: StsState) -> Observations {
    Observations {
        destination: Destination::Domain(name("example.com")),
        mx,
        sts,
    }
}

fn hosts(security: Security, hosts: Vec<HostState>) -> MxState {
    MxState::Hosts { security, hosts }
}

fn answer(o: &Observations) -> String {
    decide(o, &DecisionConfig::default()).socketmap_payload(&DecisionConfig::default())
}

fn secure_dane_host(n: &str) -> HostState {
    host(n, Security::Secure, TlsaState::Usable)
}

#[test]
fn pfx_08_address_literals_and_explicit_hosts_get_notfound() {
    for dest in [
        "[192.0.2.1]",
        "[ipv6:2001:db8::1]",
        "[mx.example.com]:587",
        "[mx.example.com]",
    ] {
        let mut o = obs(
            hosts(Security::Secure, vec![secure_dane_host("mx.example.com")]),
            sts(Mode::Enforce, &["mx.example.com"]),
        );
        o.destination = Destination::parse(dest).unwrap();
        assert_eq!(answer(&o), "NOTFOUND ", "{dest}");
    }
}

#[test]
fn dane_dns_03_mx_lookup_failure_is_temp() {
    for failure in [
        LookupFailure::Transient("SERVFAIL".into()),
        LookupFailure::Transient("timeout".into()),
        LookupFailure::Bogus("RRSIG expired".into()),
    ] {
        let o = obs(
            MxState::Failed(failure),
            sts(Mode::Enforce, &["mx.example.com"]),
        );
        assert!(
            answer(&o).starts_with("TEMP MX lookup failed"),
            "{}",
            answer(&o)
        );
    }
}

#[test]
fn dane_dns_03_bogus_address_lookup_is_temp_even_for_insecure_mx() {
    let mut h = host(
        "mx.example.com",
        Security::Insecure,
        TlsaState::NotApplicable,
    );
    h.addresses = AddressState::Failed(LookupFailure::Bogus("bad signature".into()));
    let o = obs(hosts(Security::Insecure, vec![h]), StsState::Absent);
    assert!(answer(&o).starts_with("TEMP address lookup for mx.example.com failed"));
}

/// Found by the `decision` fuzz target: an RRset that carries the status bogus (rather than
/// a failed lookup) fell through to `NOTFOUND `.
#[test]
fn dane_dns_03_rrsets_marked_bogus_are_temp_not_notfound() {
    let o = obs(
        hosts(
            Security::Bogus,
            vec![host(
                "mx.example.com",
                Security::Insecure,
                TlsaState::Absent,
            )],
        ),
        StsState::Absent,
    );
    assert_eq!(answer(&o), "TEMP MX lookup failed: DNSSEC bogus");
    let o = obs(
        hosts(
            Security::Insecure,
            vec![host(
                "mx.example.com",
                Security::Bogus,
                TlsaState::NotApplicable,
            )],
        ),
        StsState::Absent,
    );
    assert_eq!(
        answer(&o),
        "TEMP address lookup for mx.example.com failed: DNSSEC bogus"
    );
}

#[test]
fn dane_dns_03_address_lookup_failure_under_secure_mx_is_temp() {
    let mut h = host(
        "mx2.example.com",
        Security::Secure,
        TlsaState::NotApplicable,
    );
    h.addresses = AddressState::Failed(LookupFailure::Transient("SERVFAIL".into()));
    let o = obs(
        hosts(
            Security::Secure,
            vec![secure_dane_host("mx1.example.com"), h],
        ),
        StsState::Absent,
    );
    assert!(answer(&o).starts_with("TEMP "), "{}", answer(&o));
}

#[test]
fn dane_dns_03_transient_address_failure_under_insecure_mx_leaves_host_unreachable() {
    let mut h = host(
        "mx2.example.com",
        Security::Insecure,
        TlsaState::NotApplicable,
    );
    h.addresses = AddressState::Failed(LookupFailure::Transient("timeout".into()));
    let o = obs(
        hosts(
            Security::Insecure,
            vec![
                host(
                    "mx1.example.com",
                    Security::Insecure,
                    TlsaState::NotApplicable,
                ),
                h,
            ],
        ),
        sts(Mode::Enforce, &["mx1.example.com", "mx2.example.com"]),
    );
    assert_eq!(
        answer(&o),
        "OK secure match=mx1.example.com:mx2.example.com servername=hostname"
    );
}

#[test]
fn pfx_05_secure_mx_all_hosts_usable_tlsa_is_dane_only() {
    let o = obs(
        hosts(
            Security::Secure,
            vec![
                secure_dane_host("mx1.example.com"),
                secure_dane_host("mx2.example.com"),
            ],
        ),
        StsState::Absent,
    );
    assert_eq!(answer(&o), "OK dane-only");
}

#[test]
fn sts_app_06_dane_wins_over_sts_enforce() {
    let o = obs(
        hosts(Security::Secure, vec![secure_dane_host("mx1.example.com")]),
        sts(Mode::Enforce, &["mx1.example.com"]),
    );
    let d = decide(&o, &DecisionConfig::default());
    assert_eq!(d.policy, TlsPolicy::DaneOnly);
    assert!(d.reasons.iter().any(|r| r.rule == ConformanceId::StsApp06));
}

#[test]
fn dane_dns_04_tlsa_lookup_failure_is_temp_never_sts() {
    let o = obs(
        hosts(
            Security::Secure,
            vec![host(
                "mx1.example.com",
                Security::Secure,
                TlsaState::Failed(LookupFailure::Transient("SERVFAIL".into())),
            )],
        ),
        sts(Mode::Enforce, &["mx1.example.com"]),
    );
    assert!(answer(&o).starts_with("TEMP TLSA lookup for mx1.example.com failed"));
}

#[test]
fn dane_dns_05_bogus_tlsa_is_temp() {
    let o = obs(
        hosts(
            Security::Secure,
            vec![host(
                "mx1.example.com",
                Security::Secure,
                TlsaState::Failed(LookupFailure::Bogus("no valid RRSIG".into())),
            )],
        ),
        StsState::Absent,
    );
    assert!(answer(&o).starts_with("TEMP "));
}

#[test]
fn dane_disc_01_partial_dane_without_enforce_is_dane() {
    let o = obs(
        hosts(
            Security::Secure,
            vec![
                secure_dane_host("mx1.example.com"),
                host("mx2.example.com", Security::Secure, TlsaState::Absent),
            ],
        ),
        sts(Mode::Testing, &["*.example.com"]),
    );
    let d = decide(&o, &DecisionConfig::default());
    assert_eq!(d.policy, TlsPolicy::Dane);
    assert!(d.reasons.iter().any(|r| r.rule == ConformanceId::DaneOps03));
}

/// Defect: `dane` let Postfix deliver to mx2 opportunistically, so stripping STARTTLS there
/// (and blocking mx1) got cleartext despite the enforce policy.
#[test]
fn sts_app_01_partial_dane_with_enforce_is_dane_only() {
    for sts in [
        sts(Mode::Enforce, &["*.example.com"]),
        sts(Mode::Enforce, &["mx2.example.com"]),
        unknown(),
    ] {
        let o = obs(
            hosts(
                Security::Secure,
                vec![
                    host("mx0.example.com", Security::Secure, TlsaState::Absent),
                    secure_dane_host("mx1.example.com"),
                    host(
                        "mx2.example.com",
                        Security::Insecure,
                        TlsaState::NotApplicable,
                    ),
                ],
            ),
            sts,
        );
        assert_eq!(answer(&o), "OK dane-only");
    }
}

/// Defect: an insecure MX pointing at a host with secure TLSA was answered `dane`, so an
/// attacker forging the MX to a host of their own, with TLSA of their own, got the mail.
#[test]
fn dane_disc_01_insecure_mx_with_enforce_ignores_tlsa() {
    let dane_host = || {
        hosts(
            Security::Insecure,
            vec![secure_dane_host("mx1.provider.net")],
        )
    };
    let covered = obs(dane_host(), sts(Mode::Enforce, &["mx1.provider.net"]));
    assert_eq!(
        answer(&covered),
        "OK secure match=mx1.provider.net servername=hostname"
    );
    let uncovered = obs(dane_host(), sts(Mode::Enforce, &["mx.example.com"]));
    assert!(
        answer(&uncovered).starts_with("TEMP "),
        "{}",
        answer(&uncovered)
    );
    let unknown = obs(dane_host(), unknown());
    assert!(
        answer(&unknown).starts_with("TEMP "),
        "{}",
        answer(&unknown)
    );
    let unusable = obs(
        hosts(
            Security::Insecure,
            vec![host(
                "mx1.provider.net",
                Security::Secure,
                TlsaState::AllUnusable,
            )],
        ),
        sts(Mode::Enforce, &["*.provider.net"]),
    );
    assert_eq!(
        answer(&unusable),
        "OK secure match=mx1.provider.net servername=hostname"
    );
}

#[test]
fn dane_disc_01_insecure_mx_with_secure_tlsa_is_dane() {
    let o = obs(
        hosts(
            Security::Insecure,
            vec![secure_dane_host("mx1.provider.net")],
        ),
        StsState::Absent,
    );
    assert_eq!(answer(&o), "OK dane");
}

#[test]
fn dane_disc_05_all_unusable_is_encrypt_never_dane_only() {
    let o = obs(
        hosts(
            Security::Secure,
            vec![host(
                "mx1.example.com",
                Security::Secure,
                TlsaState::AllUnusable,
            )],
        ),
        sts(Mode::Testing, &["mx1.example.com"]),
    );
    assert_eq!(answer(&o), "OK encrypt");
}

/// Defect: `encrypt` gave no authentication at all where MTA-STS demands PKIX.
#[test]
fn sts_app_01_all_unusable_tlsa_with_enforce_is_secure() {
    let unusable = || {
        hosts(
            Security::Secure,
            vec![
                host("mx1.example.com", Security::Secure, TlsaState::AllUnusable),
                host("mx2.example.com", Security::Secure, TlsaState::Absent),
            ],
        )
    };
    let o = obs(unusable(), sts(Mode::Enforce, &["mx1.example.com"]));
    assert_eq!(
        answer(&o),
        "OK secure match=mx1.example.com servername=hostname"
    );
    let none = obs(unusable(), sts(Mode::Enforce, &["mx9.example.com"]));
    assert!(answer(&none).starts_with("TEMP "));
    assert!(answer(&obs(unusable(), unknown())).starts_with("TEMP "));
    assert_eq!(answer(&obs(unusable(), StsState::Absent)), "OK dane");
}

#[test]
fn dane_disc_05_mixed_usable_and_unusable_is_dane() {
    let o = obs(
        hosts(
            Security::Secure,
            vec![
                secure_dane_host("mx1.example.com"),
                host("mx2.example.com", Security::Secure, TlsaState::AllUnusable),
            ],
        ),
        StsState::Absent,
    );
    assert_eq!(answer(&o), "OK dane");
}

#[test]
fn dane_dns_05_insecure_tlsa_is_ignored() {
    let o = obs(
        hosts(
            Security::Secure,
            vec![host(
                "mx1.example.com",
                Security::Secure,
                TlsaState::Insecure,
            )],
        ),
        StsState::Absent,
    );
    assert_eq!(answer(&o), "NOTFOUND ");
}

#[test]
fn dane_dns_06_insecure_host_means_no_dane_then_sts() {
    let o = obs(
        hosts(
            Security::Secure,
            vec![host(
                "mx1.example.com",
                Security::Insecure,
                TlsaState::NotApplicable,
            )],
        ),
        sts(Mode::Enforce, &["mx1.example.com"]),
    );
    assert_eq!(
        answer(&o),
        "OK secure match=mx1.example.com servername=hostname"
    );
}

#[test]
fn pfx_06_sts_enforce_is_secure_with_exact_covered_hosts() {
    let o = obs(
        hosts(
            Security::Insecure,
            vec![
                host(
                    "mx1.example.com",
                    Security::Insecure,
                    TlsaState::NotApplicable,
                ),
                host(
                    "a.b.example.com",
                    Security::Insecure,
                    TlsaState::NotApplicable,
                ),
                host(
                    "mx2.example.com",
                    Security::Insecure,
                    TlsaState::NotApplicable,
                ),
            ],
        ),
        sts(Mode::Enforce, &["*.example.com"]),
    );
    // STS-VAL-01: `*.example.com` covers one label only, so a.b.example.com is left out, and
    // the answer lists exact names rather than Postfix's any-depth `.example.com`.
    assert_eq!(
        answer(&o),
        "OK secure match=mx1.example.com:mx2.example.com servername=hostname"
    );
}

#[test]
fn pfx_06_tlsrpt_attributes_when_asked() {
    let o = obs(
        hosts(
            Security::Insecure,
            vec![host(
                "mx1.example.com",
                Security::Insecure,
                TlsaState::NotApplicable,
            )],
        ),
        sts(Mode::Enforce, &["mx1.example.com"]),
    );
    let config = DecisionConfig {
        tlsrpt: true,
        ..DecisionConfig::default()
    };
    assert_eq!(
        decide(&o, &config).socketmap_payload(&config),
        "OK secure match=mx1.example.com servername=hostname policy_type=sts \
         policy_domain=example.com policy_ttl=3600 mx_host_pattern=mx1.example.com \
         { policy_string = version: STSv1 } { policy_string = mode: enforce } \
         { policy_string = mx: mx1.example.com } { policy_string = max_age: 604800 }"
    );
}

#[test]
fn sts_app_01_enforce_covering_no_mx_is_temp() {
    let o = obs(
        hosts(
            Security::Insecure,
            vec![host(
                "smtp.google.com",
                Security::Insecure,
                TlsaState::NotApplicable,
            )],
        ),
        sts(Mode::Enforce, &["mx.example.com"]),
    );
    assert!(answer(&o).starts_with("TEMP MTA-STS enforce policy of example.com covers none"));
}

#[test]
fn sts_app_02_testing_is_notfound_unless_strict() {
    let o = obs(
        hosts(
            Security::Insecure,
            vec![host(
                "mx1.example.com",
                Security::Insecure,
                TlsaState::NotApplicable,
            )],
        ),
        sts(Mode::Testing, &["mx1.example.com"]),
    );
    assert_eq!(answer(&o), "NOTFOUND ");
    let strict = DecisionConfig {
        strict_testing: true,
        ..DecisionConfig::default()
    };
    assert_eq!(
        decide(&o, &strict).socketmap_payload(&strict),
        "OK secure match=mx1.example.com servername=hostname"
    );
}

#[test]
fn sts_app_03_none_and_sts_fetch_06_absent_are_notfound() {
    for state in [sts(Mode::None, &[]), StsState::Absent] {
        let o = obs(
            hosts(
                Security::Insecure,
                vec![host(
                    "mx1.example.com",
                    Security::Insecure,
                    TlsaState::NotApplicable,
                )],
            ),
            state,
        );
        assert_eq!(answer(&o), "NOTFOUND ");
    }
}

#[test]
fn sts_fetch_07_cached_enforce_is_applied() {
    let StsState::Active(mut active) = sts(Mode::Enforce, &["mx1.example.com"]) else {
        unreachable!()
    };
    active.source = StsSource::Cached;
    let o = obs(
        hosts(
            Security::Insecure,
            vec![host(
                "mx1.example.com",
                Security::Insecure,
                TlsaState::NotApplicable,
            )],
        ),
        StsState::Active(active),
    );
    assert_eq!(
        answer(&o),
        "OK secure match=mx1.example.com servername=hostname"
    );
}

#[test]
fn dane_disc_02_null_mx_and_nxdomain_are_notfound() {
    assert_eq!(
        answer(&obs(
            MxState::NullMx {
                security: Security::Secure
            },
            StsState::Absent
        )),
        "NOTFOUND "
    );
    assert_eq!(
        answer(&obs(
            MxState::NoSuchDomain {
                security: Security::Secure
            },
            StsState::Absent
        )),
        "NOTFOUND "
    );
}

#[test]
fn pfx_02_temp_reason_is_one_printable_line() {
    let o = obs(
        MxState::Failed(LookupFailure::Transient(format!(
            "bad\r\nline{}",
            "x".repeat(500)
        ))),
        StsState::Absent,
    );
    let a = answer(&o);
    assert!(a.len() <= 205);
    assert!(a.chars().all(|c| (' '..='~').contains(&c)));
}

/// Found by the `decision` fuzz target: a `secure` answer with the TLSRPT attributes of a
/// policy with thousands of `mx:` lines outgrew Postfix's 100000-octet reply limit.
#[test]
fn pfx_02_secure_answer_too_long_for_socketmap_defers() {
    let patterns: Vec<String> = (0..5000).map(|i| format!("mx{i}.example.com")).collect();
    let refs: Vec<&str> = patterns.iter().map(String::as_str).collect();
    let o = obs(
        hosts(
            Security::Insecure,
            vec![host(
                "mx1.example.com",
                Security::Insecure,
                TlsaState::NotApplicable,
            )],
        ),
        sts(Mode::Enforce, &refs),
    );
    let config = DecisionConfig {
        tlsrpt: true,
        ..DecisionConfig::default()
    };
    let payload = decide(&o, &config).socketmap_payload(&config);
    assert!(payload.len() <= crate::postfix::socketmap::MAX_REPLY_LEN);
    assert!(
        payload.starts_with("TEMP policy answer of "),
        "{payload:.80}"
    );
}

/// A policy cache that cannot be read may hold an enforce policy: defer rather than answer
/// `NOTFOUND `, unless DANE decides the destination anyway.
#[test]
fn sts_fetch_07_unreadable_policy_cache_defers_unless_dane_applies() {
    let unknown = || StsState::Unknown("redis: connection refused".into());
    let o = obs(
        hosts(
            Security::Insecure,
            vec![host(
                "mx.example.com",
                Security::Insecure,
                TlsaState::NotApplicable,
            )],
        ),
        unknown(),
    );
    let payload = answer(&o);
    assert!(
        payload.starts_with("TEMP MTA-STS policy cache unavailable (redis: connection refused)"),
        "{payload}"
    );
    let o = obs(
        hosts(Security::Secure, vec![secure_dane_host("mx.example.com")]),
        unknown(),
    );
    assert_eq!(answer(&o), "OK dane-only");
    let o = obs(
        MxState::NullMx {
            security: Security::Secure,
        },
        unknown(),
    );
    assert_eq!(answer(&o), "NOTFOUND ");
}

fn unknown() -> StsState {
    StsState::Unknown("policy store read failed".into())
}

/// Defect: an unsigned NXDOMAIN, null MX or NODATA carried no DNSSEC status, so a forged
/// denial answered `NOTFOUND ` while Postfix's own lookup could see a forged MX. A cached
/// enforce policy still applies, from its own patterns (PFX-04, STS-FETCH-07).
#[test]
fn pfx_04_unsigned_denial_with_enforce_answers_the_policy() {
    for security in [Security::Insecure, Security::Indeterminate] {
        for mx in [
            MxState::NoSuchDomain { security },
            MxState::NullMx { security },
        ] {
            let o = obs(
                mx.clone(),
                sts(Mode::Enforce, &["mx1.example.com", "*.mail.example.com"]),
            );
            assert_eq!(
                answer(&o),
                "OK secure match=mx1.example.com:.mail.example.com servername=hostname"
            );
            assert!(answer(&obs(mx.clone(), unknown())).starts_with("TEMP "));
            assert!(answer(&obs(mx.clone(), sts(Mode::Enforce, &[]))).starts_with("TEMP "));
            assert_eq!(answer(&obs(mx.clone(), StsState::Absent)), "NOTFOUND ");
            assert_eq!(
                answer(&obs(mx, sts(Mode::Testing, &["mx1.example.com"]))),
                "NOTFOUND "
            );
        }
    }
    let proven = obs(
        MxState::NoSuchDomain {
            security: Security::Secure,
        },
        sts(Mode::Enforce, &["mx1.example.com"]),
    );
    assert_eq!(answer(&proven), "NOTFOUND ");
    let bogus = obs(
        MxState::NullMx {
            security: Security::Bogus,
        },
        StsState::Absent,
    );
    assert!(answer(&bogus).starts_with("TEMP "));
}

/// Postfix's `.domain` is broader than MTA-STS's `*.domain`: any depth, never the domain
/// itself (POSTFIX.md §4.2).
#[test]
fn pfx_06_match_names_as_postfix_reads_them() {
    let below = MatchName::Below(name("example.com"));
    assert_eq!(below.postfix_form(), ".example.com");
    assert!(below.matches(&name("mx.example.com")));
    assert!(below.matches(&name("a.b.example.com")));
    assert!(!below.matches(&name("example.com")));
    assert!(!below.matches(&name("badexample.com")));
    let host = MatchName::Host(name("mx.example.com"));
    assert!(host.matches(&name("mx.example.com")));
    assert!(!host.matches(&name("a.mx.example.com")));
}

/// Found by the `decision` fuzz target: a host whose addresses are not secure cannot have
/// DANE, whatever TLSA state it comes with (DANE-DNS-06); `dane-only` for it made an enforce
/// policy that covers it undeliverable.
#[test]
fn dane_dns_06_tlsa_of_a_host_with_insecure_addresses_never_counts() {
    for addr in [Security::Insecure, Security::Indeterminate] {
        let o = obs(
            hosts(
                Security::Secure,
                vec![host("a.b.example.com", addr, TlsaState::Usable)],
            ),
            sts(Mode::Enforce, &["*.b.example.com"]),
        );
        assert_eq!(
            answer(&o),
            "OK secure match=a.b.example.com servername=hostname"
        );
    }
}
