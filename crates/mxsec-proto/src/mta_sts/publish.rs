//! Writing an MTA-STS policy and its TXT record (RFC 8461 §3.1, §3.2, §8).
//!
//! [`initial_policy`] makes the policy for a domain's MX hosts: one exact `mx:` line per host
//! (no wildcard, which would let any host of the domain with a public certificate receive
//! mail; STS-SEC-01), `mode: testing` and a one-day `max_age`, so that a mistake costs at most
//! a day at senders that cached it. [`new_id`] makes a fresh `id` from the time, which only
//! goes forward; [`next_id`] makes sure it differs from the id published now
//! (STS-OPS-01). [`txt_line`] renders the `_mta-sts` record for a zone file.

use time::{OffsetDateTime, UtcOffset};

use super::matcher::{MxPattern, PatternError};
use super::policy::{Mode, Policy};
use super::record::{txt_owner, PolicyId, StsRecord};
use crate::name::{DomainName, NameError};

/// `max_age` while testing: one day, so that the switch to `enforce` reaches every sender
/// within a day (STS-POL-06).
pub const TESTING_MAX_AGE: u64 = 86_400;

/// `max_age` for `enforce`: four weeks, above the two-week and 28-day thresholds checkers use
/// (STS-POL-06, RFC 8461 §10.2: long values protect against blocked policy discovery).
pub const ENFORCE_MAX_AGE: u64 = 2_419_200;

/// Why a policy could not be written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// No MX host: an `enforce` or `testing` policy needs at least one (STS-POL-07).
    #[error(
        "no MX host given; a policy in mode testing or enforce lists at least one (STS-POL-07)"
    )]
    NoMx,
    /// An MX host cannot be a pattern.
    #[error("MX host {host}: {source}")]
    Pattern {
        /// The host.
        host: DomainName,
        /// Why it is not a valid pattern.
        source: PatternError,
    },
}

/// The policy for `mx_hosts`: one exact pattern per host, in the order given, without
/// duplicates (STS-POL-07).
///
/// # Errors
///
/// [`InitError::NoMx`] when `mx_hosts` is empty and the mode is not `none`.
pub fn policy_for(mode: Mode, max_age: u64, mx_hosts: &[DomainName]) -> Result<Policy, InitError> {
    if mx_hosts.is_empty() && mode != Mode::None {
        return Err(InitError::NoMx);
    }
    let mut mx: Vec<MxPattern> = Vec::with_capacity(mx_hosts.len());
    for host in mx_hosts {
        let pattern = MxPattern::parse(host.as_str()).map_err(|source| InitError::Pattern {
            host: host.clone(),
            source,
        })?;
        if !mx.contains(&pattern) {
            mx.push(pattern);
        }
    }
    Ok(Policy {
        mode,
        max_age: max_age.min(super::policy::MAX_MAX_AGE),
        mx,
        unmatchable_mx: Vec::new(),
    })
}

/// The first policy for a domain: `mode: testing`, `max_age: 86400` (RFC 8461 §5: testing
/// lets TLS-RPT show failures before anything is refused).
///
/// # Errors
///
/// As [`policy_for`].
pub fn initial_policy(mx_hosts: &[DomainName]) -> Result<Policy, InitError> {
    policy_for(Mode::Testing, TESTING_MAX_AGE, mx_hosts)
}

/// A fresh policy id: the UTC time as `YYYYMMDDhhmmss` (14 digits; STS-TXT-03 allows 1–32
/// letters and digits). Ids have no order for senders; a timestamp only makes them unique and
/// readable.
pub fn new_id(now: OffsetDateTime) -> PolicyId {
    let t = now.to_offset(UtcOffset::UTC);
    let text = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year().clamp(0, 9999),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    // Fourteen ASCII digits always make a valid id.
    PolicyId::parse(&text).unwrap_or_else(|_| unreachable!("{text} is a valid policy id"))
}

/// A new id that differs from `current`, the id published now (STS-OPS-01: senders refetch
/// only when the id changes). Within the same second as `current`, a counter suffix is added.
pub fn next_id(now: OffsetDateTime, current: Option<&PolicyId>) -> PolicyId {
    let fresh = new_id(now);
    let Some(current) = current else {
        return fresh;
    };
    if fresh != *current {
        return fresh;
    }
    (1u32..)
        .map(|n| format!("{fresh}{n}"))
        .filter_map(|text| PolicyId::parse(&text).ok())
        .find(|id| id != current)
        .unwrap_or_else(|| unreachable!("a 15-digit id differs from a 14-digit one"))
}

/// The `_mta-sts` TXT record as a zone-file line:
/// `_mta-sts.example.com. 3600 IN TXT "v=STSv1; id=20261129120000"`.
///
/// # Errors
///
/// Fails when `_mta-sts.<domain>` would be too long a name.
pub fn txt_line(domain: &DomainName, ttl: Option<u32>, id: &PolicyId) -> Result<String, NameError> {
    let owner = txt_owner(domain)?;
    let ttl = ttl.map(|t| format!(" {t}")).unwrap_or_default();
    Ok(format!(
        "{}{ttl} IN TXT \"{}\"",
        owner.to_fqdn(),
        StsRecord::new(id.clone())
    ))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::mta_sts::record::StsRecord;

    fn name(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    #[test]
    fn sts_pol_07_one_exact_pattern_per_mx_and_the_policy_parses_back() {
        let hosts = [
            name("mx1.example.com"),
            name("MX2.Example.com."),
            name("mx1.example.com"),
        ];
        let policy = initial_policy(&hosts).unwrap();
        let text = policy.to_text();
        assert_eq!(
            text,
            "version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\nmx: mx2.example.com\r\nmax_age: 86400\r\n"
        );
        let parsed = Policy::parse(text.as_bytes()).unwrap();
        assert!(parsed.warnings.is_empty());
        assert_eq!(parsed.value, policy);
        for host in &hosts {
            assert!(policy.matches(host));
        }
        assert!(!policy.matches(&name("other.example.com")));
    }

    #[test]
    fn sts_pol_07_no_mx_only_for_mode_none() {
        assert_eq!(initial_policy(&[]), Err(InitError::NoMx));
        let none = policy_for(Mode::None, 86_400, &[]).unwrap();
        assert!(Policy::parse(none.to_text().as_bytes()).is_ok());
        let clamped = policy_for(Mode::Enforce, u64::MAX, &[name("mx.example.com")]).unwrap();
        assert_eq!(clamped.max_age, crate::mta_sts::policy::MAX_MAX_AGE);
    }

    #[test]
    fn sts_txt_03_ids_are_valid_and_change() {
        let t = datetime!(2026-11-29 12:34:56 +01:00);
        let id = new_id(t);
        assert_eq!(id.as_str(), "20261129113456");
        assert_eq!(next_id(t, None), id);
        let bumped = next_id(t, Some(&id));
        assert_ne!(bumped, id);
        assert_eq!(bumped.as_str(), "202611291134561");
        assert_eq!(
            next_id(t + time::Duration::SECOND, Some(&id)).as_str(),
            "20261129113457"
        );
        let line = txt_line(&name("example.com"), Some(300), &id).unwrap();
        assert_eq!(
            line,
            "_mta-sts.example.com. 300 IN TXT \"v=STSv1; id=20261129113456\""
        );
        let record = line.split('"').nth(1).unwrap();
        assert_eq!(StsRecord::parse(record).unwrap().value.id, id);
    }
}
