//! MTA-STS policy files (RFC 8461 §3.2) on arbitrary bodies: no panic; a parsed policy's
//! canonical text parses back to the same policy; its patterns render and parse back; matching
//! any host never panics. And the property of issue 18: a policy with every required field and
//! a valid `mx:` pattern is never rejected because of another line, unless RFC 8461 rejects
//! that line, and the error names it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mxsec_proto::mta_sts::matcher::{MxValue, Unmatchable};
use mxsec_proto::mta_sts::policy::{PolicyError, MAX_POLICY_SIZE};
use mxsec_proto::mta_sts::{MxPattern, Policy};
use mxsec_proto::name::DomainName;

/// The required lines, with a valid pattern, inserted among the fuzz input's lines.
const REQUIRED: [&str; 4] = [
    "version: STSv1",
    "mode: enforce",
    "mx: mx.example.com",
    "max_age: 86400",
];

fuzz_target!(|data: &[u8]| {
    round_trip(data);
    other_lines_never_void_the_policy(data);
    // The first line as a pattern, the second as a host.
    let text = String::from_utf8_lossy(data);
    let mut lines = text.splitn(3, '\n');
    if let (Some(pattern), Some(host)) = (lines.next(), lines.next()) {
        if let (Ok(pattern), Ok(host)) = (MxPattern::parse(pattern), DomainName::parse(host)) {
            let _ = pattern.matches(&host);
        }
    }
});

/// A parsed policy's canonical text gives the same policy, line numbers aside.
fn round_trip(data: &[u8]) {
    let Ok(parsed) = Policy::parse(data) else {
        return;
    };
    let policy = parsed.value;
    let again = Policy::parse(policy.to_text().as_bytes())
        .expect("canonical policy parses")
        .value;
    assert_eq!(
        (again.mode, again.max_age, &again.mx),
        (policy.mode, policy.max_age, &policy.mx)
    );
    assert_eq!(unmatchable(&again), unmatchable(&policy));
    for pattern in &policy.mx {
        assert_eq!(MxPattern::parse(&pattern.to_string()).as_ref(), Ok(pattern));
    }
    for u in &policy.unmatchable_mx {
        assert_eq!(
            MxValue::parse(u.value.value()),
            Ok(MxValue::Unmatchable(u.value.clone()))
        );
    }
}

fn unmatchable(policy: &Policy) -> Vec<&Unmatchable> {
    policy.unmatchable_mx.iter().map(|u| &u.value).collect()
}

/// The input's lines with the required ones inserted at the place the first byte picks: the
/// policy keeps the valid pattern, or the error names an input line the RFC rejects.
fn other_lines_never_void_the_policy(data: &[u8]) {
    let Some((at, rest)) = data.split_first() else {
        return;
    };
    let mut lines: Vec<&[u8]> = rest.split(|b| *b == b'\n').collect();
    let at = usize::from(*at).min(lines.len());
    lines.splice(at..at, REQUIRED.iter().map(|l| l.as_bytes()));
    let mut body = lines.join(&b'\n');
    body.push(b'\n');
    match Policy::parse(&body) {
        Ok(parsed) => {
            let mx = MxPattern::parse("mx.example.com").expect("valid pattern");
            assert!(parsed.value.mx.contains(&mx), "the valid pattern is kept");
        }
        Err(PolicyError::TooLarge { size }) => assert!(size > MAX_POLICY_SIZE),
        Err(error) => {
            let line = error.line().expect("the error names its line");
            let index = line - 1;
            assert!(
                !(at..at + REQUIRED.len()).contains(&index),
                "{error}: blames a required line"
            );
            let mut seen = Vec::new();
            let verdicts: Vec<bool> = lines.iter().map(|l| rfc_rejects(l, &mut seen)).collect();
            assert!(
                verdicts[index],
                "{error}: RFC 8461 accepts line {line}: {:?}",
                String::from_utf8_lossy(lines[index])
            );
        }
    }
}

/// Whether RFC 8461 §3.2 rejects this line, written from the ABNF alone: not a field, a
/// standard field whose value is outside its rule (for `version`, `mode` and `max_age`, only
/// their first occurrence: later ones "SHALL be ignored", and need only be a field), or an
/// extension value with control characters. Blank lines, which the ABNF does not have, count
/// as rejected: mxsec may accept more than the ABNF, never less.
fn rfc_rejects(raw: &[u8], seen: &mut Vec<&'static str>) -> bool {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let Ok(line) = std::str::from_utf8(raw) else {
        return true;
    };
    let line = line.trim_end_matches([' ', '\t']);
    let Some((name, value)) = line.split_once(':') else {
        return true;
    };
    if !field_name(name) {
        return true;
    }
    let value = value.trim_start_matches([' ', '\t']);
    let single = match name {
        "version" => Some(("version", value == "STSv1")),
        "mode" => Some(("mode", matches!(value, "enforce" | "testing" | "none"))),
        "max_age" => Some((
            "max_age",
            (1..=10).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()),
        )),
        _ => None,
    };
    match single {
        // A repeated field is ignored, but its line must still be a field.
        Some((field, _)) if seen.contains(&field) => !extension_value(value),
        Some((field, valid)) => {
            seen.push(field);
            !valid
        }
        None if name == "mx" => !mx_value(value),
        None => !extension_value(value),
    }
}

/// `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`.
fn field_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 32
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// `["*."] Domain`, RFC 5321 `Domain = sub-domain *("." sub-domain)`,
/// `sub-domain = Let-dig [Ldh-str]`.
fn mx_value(value: &str) -> bool {
    let domain = value.strip_prefix("*.").unwrap_or(value);
    domain.split('.').all(|label| {
        let ends = [label.chars().next(), label.chars().last()];
        ends.iter()
            .all(|c| c.is_some_and(|c| c.is_ascii_alphanumeric()))
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// `sts-policy-vchar [*(%x20 / sts-policy-vchar) sts-policy-vchar]`: printable ASCII or
/// UTF-8, no control characters, no leading or trailing space.
fn extension_value(value: &str) -> bool {
    let vchar = |c: char| !c.is_ascii() || ('\x21'..='\x7e').contains(&c);
    !value.is_empty()
        && value.chars().all(|c| c == ' ' || vchar(c))
        && value.starts_with(vchar)
        && value.ends_with(vchar)
}
