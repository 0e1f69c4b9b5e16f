//! The policies a policy server answered for a destination, as TLS-RPT records them
//! (RFC 8460 §4.4; RPT-JSON-02, RPT-RES-02, RPT-RES-03): from the decision's observations
//! and the outcome of the MTA-STS fetch made for them.
//!
//! - an MTA-STS policy in force (`enforce` or `testing`; `none` is no policy), with its
//!   lines and `mx` patterns;
//! - a DANE (`tlsa`) policy per MX host whose TLSA lookup was secure, with its TLSA records
//!   in presentation form as its `policy-string` (RFC 8460 §4.3); all records unusable adds
//!   `tlsa-invalid`, a bogus TLSA lookup `dnssec-invalid`;
//! - a failed policy fetch adds its result type to the MTA-STS policy (the cached one that
//!   still applies, or one without policy string);
//! - a bogus MX lookup adds `dnssec-invalid`;
//! - with none of these, `no-policy-found`.
//!
//! The TLSA records themselves are not part of the observations: the caller gives them per
//! MX host ([`TlsaRecords`]); a host it gives none for has a `tlsa` policy without
//! `policy-string`.

use crate::decision::{LookupFailure, MxState, Observations, StsState, TlsaState};
use crate::mta_sts::policy::Mode;
use crate::name::{Destination, DomainName};

use super::aggregate::{PolicyFailure, RecordedPolicy};
use super::report::{AppliedPolicy, PolicyType};
use super::result_type::ResultType;

/// The TLSA records of each MX host, in presentation form (`3 1 1 <hex>`), as looked up:
/// the `policy-string` of the host's `tlsa` policy (RFC 8460 §4.3).
pub type TlsaRecords<'a> = &'a [(DomainName, Vec<String>)];

/// The recipient domain and the policies answered for it; `None` for a destination that is
/// not a domain (`[host]`, an address literal), which has no policy domain to report to.
/// `tlsa_records` gives the TLSA records of the MX hosts.
pub fn answered(
    observations: &Observations,
    fetch_failure: Option<ResultType>,
    tlsa_records: TlsaRecords<'_>,
) -> Option<(DomainName, Vec<RecordedPolicy>)> {
    let Destination::Domain(domain) = &observations.destination else {
        return None;
    };
    let mut policies = Vec::new();
    let mut sts = match &observations.sts {
        StsState::Active(active) if active.mode != Mode::None => Some(RecordedPolicy {
            policy: AppliedPolicy {
                policy_type: PolicyType::Sts,
                policy_string: Some(active.policy_lines.clone()),
                policy_domain: active.policy_domain.clone(),
                mx_host: Some(active.mx_patterns.iter().map(ToString::to_string).collect()),
            },
            testing: active.mode == Mode::Testing,
            failures: Vec::new(),
        }),
        _ => None,
    };
    if let Some(result_type) = fetch_failure {
        sts.get_or_insert_with(|| RecordedPolicy {
            policy: AppliedPolicy {
                policy_type: PolicyType::Sts,
                policy_string: None,
                policy_domain: domain.clone(),
                mx_host: None,
            },
            testing: false,
            failures: Vec::new(),
        })
        .failures
        .push(failure(result_type, None));
    }
    match &observations.mx {
        MxState::Hosts { hosts, .. } => {
            for host in hosts {
                let failure = match &host.tlsa {
                    TlsaState::Usable => None,
                    TlsaState::AllUnusable => {
                        Some(failure(ResultType::TlsaInvalid, Some("all-tlsa-unusable")))
                    }
                    TlsaState::Failed(LookupFailure::Bogus(_)) => {
                        Some(failure(ResultType::DnssecInvalid, Some("tlsa-bogus")))
                    }
                    _ => continue,
                };
                let policy_string = tlsa_records
                    .iter()
                    .find(|(name, records)| *name == host.name && !records.is_empty())
                    .map(|(_, records)| records.clone());
                policies.push(RecordedPolicy {
                    policy: AppliedPolicy {
                        policy_type: PolicyType::Tlsa,
                        policy_string,
                        policy_domain: domain.clone(),
                        mx_host: Some(vec![host.name.to_string()]),
                    },
                    testing: false,
                    failures: failure.into_iter().collect(),
                });
            }
        }
        MxState::Failed(LookupFailure::Bogus(_)) => {
            policies.push(RecordedPolicy {
                policy: AppliedPolicy::no_policy_found(domain.clone()),
                testing: false,
                failures: vec![failure(ResultType::DnssecInvalid, Some("mx-bogus"))],
            });
        }
        _ => {}
    }
    policies.extend(sts);
    if policies.is_empty() {
        policies.push(RecordedPolicy {
            policy: AppliedPolicy::no_policy_found(domain.clone()),
            testing: false,
            failures: Vec::new(),
        });
    }
    Some((domain.clone(), policies))
}

fn failure(result_type: ResultType, code: Option<&str>) -> PolicyFailure {
    PolicyFailure {
        result_type,
        reason_code: code.map(str::to_owned),
        count: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{ActiveSts, AddressState, HostState, StsSource};
    use crate::dnssec::Security;
    use crate::mta_sts::matcher::MxPattern;

    fn name(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    fn observations(sts: StsState, tlsa: TlsaState) -> Observations {
        Observations {
            destination: Destination::Domain(name("a.example")),
            mx: MxState::Hosts {
                security: Security::Secure,
                hosts: vec![HostState {
                    name: name("mx.a.example"),
                    addresses: AddressState::Found {
                        security: Security::Secure,
                    },
                    tlsa,
                }],
            },
            sts,
        }
    }

    fn testing() -> StsState {
        StsState::Active(ActiveSts {
            policy_domain: name("a.example"),
            mode: Mode::Testing,
            mx_patterns: vec![MxPattern::parse("*.a.example").unwrap()],
            policy_lines: vec![
                "version: STSv1".into(),
                "mode: testing".into(),
                "mx: *.a.example".into(),
                "max_age: 86400".into(),
            ],
            source: StsSource::Cached,
            ttl: 300,
        })
    }

    #[test]
    fn sts_app_02_testing_policy_is_recorded_with_a_fetch_failure() {
        let obs = observations(testing(), TlsaState::Absent);
        let (domain, policies) =
            answered(&obs, Some(ResultType::StsPolicyFetchError), &[]).unwrap();
        assert_eq!(domain.as_str(), "a.example");
        let [p] = policies.as_slice() else {
            panic!("one policy: {policies:?}")
        };
        assert!(p.testing);
        assert_eq!(p.policy.policy_type, PolicyType::Sts);
        assert_eq!(
            p.policy.mx_host.as_deref(),
            Some(["*.a.example".to_owned()].as_slice())
        );
        assert_eq!(p.failures[0].result_type, ResultType::StsPolicyFetchError);
    }

    #[test]
    fn rpt_res_02_tlsa_policies_per_host_with_their_failures() {
        let (_, policies) = answered(
            &observations(StsState::Absent, TlsaState::Usable),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(policies[0].policy.policy_type, PolicyType::Tlsa);
        assert_eq!(
            policies[0].policy.mx_host.as_deref(),
            Some(["mx.a.example".to_owned()].as_slice())
        );
        assert!(policies[0].failures.is_empty());
        assert_eq!(policies[0].policy.policy_string, None);
        let (_, policies) = answered(
            &observations(
                StsState::Absent,
                TlsaState::Failed(LookupFailure::Bogus("bad signature".into())),
            ),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(
            policies[0].failures[0].result_type,
            ResultType::DnssecInvalid
        );
        let (_, policies) = answered(
            &observations(StsState::Absent, TlsaState::AllUnusable),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(policies[0].failures[0].result_type, ResultType::TlsaInvalid);
    }

    #[test]
    fn rpt_json_02_nothing_is_no_policy_found_and_hosts_have_no_policy_domain() {
        let (_, policies) = answered(
            &observations(StsState::Absent, TlsaState::Absent),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(policies[0].policy.policy_type, PolicyType::NoPolicyFound);
        let mut obs = observations(StsState::Absent, TlsaState::Absent);
        obs.destination = Destination::parse("[192.0.2.1]").unwrap();
        assert!(answered(&obs, None, &[]).is_none());
    }

    #[test]
    fn rpt_json_02_tlsa_policy_string_is_the_hosts_tlsa_records() {
        let records = vec![
            "3 1 1 8D02536C887482BC34FF54E41D2BA659BF85B341A0A20AFADB5813DCFBCF286D".to_owned(),
            "2 0 1 1F850A337E6DB9C609C522D136A475638CC43E1ED424F8EEC8513D747D1D085D".to_owned(),
        ];
        let tlsa = [
            (name("other.a.example"), vec!["3 1 1 00".to_owned()]),
            (name("mx.a.example"), records.clone()),
        ];
        let (_, policies) = answered(
            &observations(StsState::Absent, TlsaState::Usable),
            None,
            &tlsa,
        )
        .unwrap();
        let [p] = policies.as_slice() else {
            panic!("one policy: {policies:?}")
        };
        assert_eq!(p.policy.policy_type, PolicyType::Tlsa);
        assert_eq!(p.policy.policy_string.as_deref(), Some(records.as_slice()));
        let (_, policies) = answered(
            &observations(StsState::Absent, TlsaState::AllUnusable),
            None,
            &tlsa,
        )
        .unwrap();
        assert_eq!(
            policies[0].policy.policy_string.as_deref(),
            Some(records.as_slice())
        );
    }
}
