//! The grade of one scenario: what a correct sender does (the scenario catalogue's
//! [`ExpectedDelivery`]) against what the sender under test did. Pure: no I/O, no clock.

use std::fmt;
use std::net::SocketAddr;

use mxsec_testbed::scenario::{Avoid, Delivery, ExpectedDelivery};
use mxsec_testbed::smtp::TlsUsed;
use serde::Serialize;

/// How the sender under test did on one scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grade {
    /// Delivered over the TLS the scenario requires, or deferred or returned where it must be.
    Pass,
    /// Delivered where it must not be, or with less protection than required: in clear, or
    /// to a host the policy does not authenticate.
    Unsafe,
    /// Not delivered where a correct sender delivers, or returned where it retries.
    OverStrict,
    /// Nothing to grade within the time limit.
    NoResult,
}

impl Grade {
    /// The word of tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Unsafe => "unsafe",
            Self::OverStrict => "over-strict",
            Self::NoResult => "no-result",
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message one of the scenario's MX host listeners accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// The MX host it stands for.
    pub host: String,
    /// Its published address.
    pub address: SocketAddr,
    /// The TLS it came over (version, SNI); `None` in clear.
    pub tls: Option<TlsUsed>,
}

impl fmt::Display for Arrival {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.host, self.address.ip())?;
        match &self.tls {
            Some(TlsUsed {
                version,
                sni: Some(sni),
            }) => write!(f, " over {version}, SNI {sni}"),
            Some(TlsUsed { version, sni: None }) => write!(f, " over {version}, no SNI"),
            None => f.write_str(" in clear"),
        }
    }
}

/// What the sender's own log says became of the message, when the harness can read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SenderSays {
    /// It was accepted by an MX host.
    Sent,
    /// It is kept for a later try, for this reason.
    Deferred(String),
    /// It was returned, for this reason.
    Bounced(String),
}

/// Everything seen of one scenario's message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// Why the message could not be handed to the sender, if it could not.
    pub injection_error: Option<String>,
    /// The listeners that accepted it.
    pub arrivals: Vec<Arrival>,
    /// The sender's own account, if known.
    pub sender: Option<SenderSays>,
}

impl Observed {
    /// Whether the outcome is known: it arrived, the sender said what became of it, or it
    /// was never handed over.
    pub fn settled(&self) -> bool {
        self.injection_error.is_some() || !self.arrivals.is_empty() || self.sender.is_some()
    }
}

/// A scenario's grade, with what was observed and why it earns the grade.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graded {
    /// The grade.
    pub grade: Grade,
    /// What happened, in a few words.
    pub observed: String,
    /// Why that earns the grade; empty for a pass.
    pub why: String,
}

/// Grades what was `observed` of the message to `domain` against `expected`. Silence where the
/// message must not be delivered is a pass: the harness waited its time limit for it.
pub fn grade(expected: &ExpectedDelivery, domain: &str, observed: &Observed) -> Graded {
    let delivery = expected.delivery;
    if let Some(error) = &observed.injection_error {
        return graded(
            Grade::NoResult,
            "not handed to the sender".to_owned(),
            error.clone(),
        );
    }
    if !observed.arrivals.is_empty() {
        let words = observed
            .arrivals
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let observed_words = format!("delivered to {words}");
        if !delivery.delivers() {
            return graded(
                Grade::Unsafe,
                observed_words,
                format!(
                    "delivered where a correct sender's message is {}",
                    delivery.as_str()
                ),
            );
        }
        for arrival in &observed.arrivals {
            if delivery.needs_tls() && arrival.tls.is_none() {
                return graded(
                    Grade::Unsafe,
                    observed_words,
                    format!(
                        "delivered in clear to {}, where TLS is required",
                        arrival.host
                    ),
                );
            }
            if let Some(avoid) = expected
                .avoid
                .iter()
                .find(|avoid| avoided(avoid, domain, arrival))
            {
                let whom = match avoid {
                    Avoid::Host(_) => arrival.host.clone(),
                    Avoid::Ipv6(_) => format!("the IPv6 address of {}", arrival.host),
                };
                return graded(
                    Grade::Unsafe,
                    observed_words,
                    format!("delivered to {whom}, which must never receive it"),
                );
            }
        }
        return graded(Grade::Pass, observed_words, String::new());
    }
    match &observed.sender {
        Some(SenderSays::Deferred(reason)) => {
            let words = format!("deferred ({reason})");
            match delivery {
                Delivery::Deferred => graded(Grade::Pass, words, String::new()),
                Delivery::Bounced => graded(
                    Grade::OverStrict,
                    words,
                    "the domain accepts no mail: a correct sender returns the message".to_owned(),
                ),
                _ => graded(
                    Grade::OverStrict,
                    words,
                    "a correct sender delivers it".to_owned(),
                ),
            }
        }
        Some(SenderSays::Bounced(reason)) => {
            let words = format!("bounced ({reason})");
            match delivery {
                Delivery::Bounced => graded(Grade::Pass, words, String::new()),
                Delivery::Deferred => graded(
                    Grade::OverStrict,
                    words,
                    "returned where a correct sender defers and tries again".to_owned(),
                ),
                _ => graded(
                    Grade::OverStrict,
                    words,
                    "a correct sender delivers it".to_owned(),
                ),
            }
        }
        Some(SenderSays::Sent) => graded(
            Grade::NoResult,
            "the sender says sent, but no MX host of the scenario received it".to_owned(),
            "the message went somewhere else".to_owned(),
        ),
        None if delivery.delivers() => graded(
            Grade::NoResult,
            "nothing arrived".to_owned(),
            "no MX host received it within the time limit, and the sender said nothing".to_owned(),
        ),
        None => graded(Grade::Pass, "nothing arrived".to_owned(), String::new()),
    }
}

fn avoided(avoid: &Avoid, domain: &str, arrival: &Arrival) -> bool {
    let (label, v6_only) = match avoid {
        Avoid::Host(label) => (label, false),
        Avoid::Ipv6(label) => (label, true),
    };
    arrival
        .host
        .eq_ignore_ascii_case(&format!("{label}.{domain}"))
        && (!v6_only || arrival.address.is_ipv6())
}

fn graded(grade: Grade, observed: String, why: String) -> Graded {
    Graded {
        grade,
        observed,
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mxsec_testbed::scenario::Scenario;
    use mxsec_testbed::smtp::TlsVersion;

    fn expected(key: &str) -> &'static ExpectedDelivery {
        Scenario::find(key)
            .and_then(Scenario::expected_delivery)
            .expect("a scenario with an expected delivery")
    }

    fn arrival(host: &str, address: &str, tls: Option<TlsVersion>) -> Arrival {
        Arrival {
            host: host.to_owned(),
            address: address.parse().expect("an address"),
            tls: tls.map(|version| TlsUsed {
                version,
                sni: Some(host.to_owned()),
            }),
        }
    }

    fn arrived(arrivals: Vec<Arrival>) -> Observed {
        Observed {
            arrivals,
            ..Observed::default()
        }
    }

    #[test]
    fn sts_app_06_delivery_where_dane_fails_is_unsafe() {
        let got = grade(
            expected("dane-fails-sts-passes"),
            "dane-fails-sts-passes.test",
            &arrived(vec![arrival(
                "mx.dane-fails-sts-passes.test",
                "127.0.1.9:25",
                Some(TlsVersion::Tls13),
            )]),
        );
        assert_eq!(got.grade, Grade::Unsafe, "{got:?}");
    }

    #[test]
    fn sts_app_01_delivery_in_clear_under_a_policy_is_unsafe() {
        let got = grade(
            expected("partial-dane-enforce"),
            "partial-dane-enforce.test",
            &arrived(vec![arrival(
                "mx1.partial-dane-enforce.test",
                "127.0.1.9:25",
                None,
            )]),
        );
        assert_eq!(got.grade, Grade::Unsafe, "{got:?}");
        assert!(got.why.contains("in clear"), "{got:?}");
    }

    #[test]
    fn dane_auth_01_delivery_to_an_avoided_ipv6_address_is_unsafe_and_ipv4_passes() {
        let domain = "d10-ipv6-old-cert.test";
        let host = "mx.d10-ipv6-old-cert.test";
        let v6 = grade(
            expected("d10-ipv6-old-cert"),
            domain,
            &arrived(vec![arrival(
                host,
                "[fd6d:7873:6563::9]:25",
                Some(TlsVersion::Tls13),
            )]),
        );
        assert_eq!(v6.grade, Grade::Unsafe, "{v6:?}");
        let v4 = grade(
            expected("d10-ipv6-old-cert"),
            domain,
            &arrived(vec![arrival(host, "127.0.1.9:25", Some(TlsVersion::Tls12))]),
        );
        assert_eq!(v4.grade, Grade::Pass, "{v4:?}");
    }

    #[test]
    fn deferral_passes_where_required_and_is_over_strict_where_delivery_is_due() {
        let deferred = Observed {
            sender: Some(SenderSays::Deferred("policy lookup".to_owned())),
            ..Observed::default()
        };
        assert_eq!(
            grade(
                expected("d08-tlsa-servfail"),
                "d08-tlsa-servfail.test",
                &deferred
            )
            .grade,
            Grade::Pass
        );
        assert_eq!(
            grade(expected("plain"), "plain.test", &deferred).grade,
            Grade::OverStrict
        );
        assert_eq!(
            grade(expected("null-mx"), "null-mx.test", &deferred).grade,
            Grade::OverStrict
        );
    }

    #[test]
    fn silence_is_no_result_where_delivery_is_due_and_a_pass_where_it_is_not() {
        let silent = Observed::default();
        assert_eq!(
            grade(expected("sts-enforce"), "sts-enforce.test", &silent).grade,
            Grade::NoResult
        );
        assert_eq!(
            grade(expected("m06-mx-expired"), "m06-mx-expired.test", &silent).grade,
            Grade::Pass
        );
    }

    #[test]
    fn dane_disc_05_encrypted_delivery_passes_and_clear_is_unsafe() {
        let host = "mx.d12-unusable-only.test";
        let tls = arrived(vec![arrival(host, "127.0.1.9:25", Some(TlsVersion::Tls13))]);
        let clear = arrived(vec![arrival(host, "127.0.1.9:25", None)]);
        let e = expected("d12-unusable-only");
        assert_eq!(grade(e, "d12-unusable-only.test", &tls).grade, Grade::Pass);
        assert_eq!(
            grade(e, "d12-unusable-only.test", &clear).grade,
            Grade::Unsafe
        );
    }
}
