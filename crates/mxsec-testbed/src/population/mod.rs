//! A synthetic population of mail domains, for benchmarks of `mxsec check` at census scale.
//!
//! [`Population::new`] describes `size` domains from a seed: which mail [`providers`] each
//! uses, whether its zone is signed, and whether it publishes MTA-STS and TLS-RPT, each with
//! the misconfigurations of the scenario catalogue at the rates published measurements give
//! (below). Nothing is stored per domain: every property is a hash of the seed and the
//! domain's number, so the same seed gives the same population, and the servers
//! ([`serve::PopulationServer`]) compute each domain's records and policy when a client asks.
//!
//! # Names
//!
//! Domains are `d<number>.<zone>`, numbered from 0 in each of three parent zones by DNSSEC
//! status ([`DnsClass`]): `pop-signed.test`, `pop-unsigned.test` and `pop-bogus.test`. Each
//! parent is a [`crate::dns::LazyZone`]. [`Population::names`] lists all of them, the classes
//! interleaved evenly.
//!
//! # Rates, and where they come from
//!
//! - DNSSEC: 60 % of domains signed, the share of .nl domains signed in December 2022 (SIDN,
//!   "Majority of Dutch domains and internet users have DNSSEC security": "nearly 60 per cent
//!   of all .nl domains"). Of the signed ones 0.37 % are bogus (expired signatures,
//!   SCENARIOS.md D-05): 388 domains with bad DNSSEC among ~106,000 DANE domains in Dukhovni's
//!   survey (dane-users, January 2017).
//! - DANE: a property of the provider ([`providers`], 17.54 % of domains); it protects the
//!   domains whose own zone is signed.
//! - MTA-STS: 2.2 % of domains publish a record (a scan of the Tranco top 10,000: "97.8 % of the
//!   top 10,000 domains have no MTA-STS", V. Ivanov on dev.to, a June scan whose year the post
//!   does not give). Of those, 29.6 % are misconfigured and 3.2 % would make MTA-STS senders
//!   fail delivery (Ashiq, Fiebig, Chung et al.,
//!   "Unraveling the Complexities of MTA-STS Deployment and Management in Securing Email",
//!   2025: 68 K domains with a record). The split of the misconfigured ones over the failures
//!   the operator write-ups rank highest (SCENARIOS.md §3.1) is this model's: no policy host
//!   (M-01) 10 %, policy not found (M-01) 6 %, policy host certificate for another name (M-02)
//!   5 %, TXT record without `id` (M-07) 5.4 %, and an enforce policy not covering the MX
//!   hosts (M-05) 3.2 %, the delivery failures. The healthy 70.4 % are 40 % enforce, 25.4 %
//!   testing and 5 % none (an assumption).
//! - TLS-RPT: 2.9 % of domains ("97.1 % of domains had no TLS-RPT record either", same scan),
//!   one in ten of them without a `rua` (R-02, an assumption).

pub mod providers;
pub mod serve;
mod zone;

pub use serve::{PopulationError, PopulationServer, PopulationStats};

/// The DNSSEC status of a domain's zone, which is also its parent zone in the population.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DnsClass {
    /// Signed, with a chain of trust from the root.
    Signed,
    /// Not signed (an insecure delegation).
    Unsigned,
    /// Signed with expired signatures: bogus (D-05).
    Bogus,
}

impl DnsClass {
    /// Every class.
    pub const ALL: [Self; 3] = [Self::Signed, Self::Unsigned, Self::Bogus];

    /// The parent zone of the class's domains.
    pub fn zone(self) -> &'static str {
        match self {
            Self::Signed => "pop-signed.test",
            Self::Unsigned => "pop-unsigned.test",
            Self::Bogus => "pop-bogus.test",
        }
    }

    fn salt(self) -> u64 {
        match self {
            Self::Signed => 0x5167_6e65_6400_0001,
            Self::Unsigned => 0x556e_7369_676e_0002,
            Self::Bogus => 0x426f_6775_7300_0003,
        }
    }
}

/// What a domain publishes for MTA-STS (RFC 8461).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sts {
    /// A policy in `enforce` mode covering the MX hosts.
    Enforce,
    /// A policy in `testing` mode covering the MX hosts.
    Testing,
    /// A policy in `none` mode.
    NoneMode,
    /// The TXT record, but `mta-sts.<domain>` has no address (M-01).
    NoPolicyHost,
    /// The TXT record and the host, which answers 404 (M-01).
    PolicyNotFound,
    /// The policy host presents a certificate for another name (M-02).
    WrongCertificate,
    /// The TXT record has no `id` (M-07); the policy is fine.
    TxtWithoutId,
    /// An `enforce` policy whose `mx` patterns match none of the MX hosts (M-05).
    MxMismatch,
}

/// What a domain publishes for TLS-RPT (RFC 8460).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsRpt {
    /// `v=TLSRPTv1; rua=mailto:...`.
    Valid,
    /// `v=TLSRPTv1;` without `rua`.
    NoRua,
}

/// Everything about one domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Its mail provider (index into [`providers::PROVIDERS`]).
    pub provider: usize,
    /// Its MTA-STS, if any.
    pub sts: Option<Sts>,
    /// Its TLS-RPT record, if any.
    pub tlsrpt: Option<TlsRpt>,
}

/// Per 100,000 domains: signed zones.
const SIGNED: u64 = 60_000;
/// Per 100,000 signed zones: bogus ones.
const BOGUS_OF_SIGNED: u64 = 370;
/// Per 100,000 domains: an MTA-STS record.
const STS: u64 = 2_200;
/// Per 100,000 domains: a TLS-RPT record.
const TLSRPT: u64 = 2_900;
/// Per 1,000 MTA-STS domains: each kind, cumulative order as [`Sts`] lists them.
const STS_SPLIT: [(Sts, u64); 8] = [
    (Sts::Enforce, 400),
    (Sts::Testing, 254),
    (Sts::NoneMode, 50),
    (Sts::NoPolicyHost, 100),
    (Sts::PolicyNotFound, 60),
    (Sts::WrongCertificate, 50),
    (Sts::TxtWithoutId, 54),
    (Sts::MxMismatch, 32),
];

/// A population of `size` domains drawn from a seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Population {
    seed: u64,
    counts: [u64; 3],
}

impl Population {
    /// `size` domains from `seed`.
    pub fn new(size: u64, seed: u64) -> Self {
        let signed_all = size * SIGNED / 100_000;
        let bogus = signed_all * BOGUS_OF_SIGNED / 100_000;
        Self {
            seed,
            counts: [signed_all - bogus, size - signed_all, bogus],
        }
    }

    /// How many domains there are.
    pub fn len(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many domains of `class` there are.
    pub fn count(&self, class: DnsClass) -> u64 {
        self.counts[class_index(class)]
    }

    /// The name of domain `number` of `class`, e.g. `d0000042.pop-signed.test`.
    pub fn name(class: DnsClass, number: u64) -> String {
        format!("{}.{}", label(number), class.zone())
    }

    /// The class and number of a domain name of the population (in lower case, without the
    /// trailing dot), if it is one.
    pub fn parse(&self, name: &str) -> Option<(DnsClass, u64)> {
        let (first, parent) = name.split_once('.')?;
        let class = DnsClass::ALL.into_iter().find(|c| c.zone() == parent)?;
        let digits = first.strip_prefix('d')?;
        if digits.len() != LABEL_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let number: u64 = digits.parse().ok()?;
        (number < self.count(class)).then_some((class, number))
    }

    /// Every domain name, the classes interleaved evenly, as they are needed.
    pub fn names(&self) -> impl Iterator<Item = String> + '_ {
        let mut emitted = [0u64; 3];
        std::iter::from_fn(move || {
            let next = DnsClass::ALL
                .into_iter()
                .filter(|c| emitted[class_index(*c)] < self.count(*c))
                .min_by(|a, b| {
                    let position = |c: DnsClass| {
                        (2 * emitted[class_index(c)] + 1) as f64 / self.count(c) as f64
                    };
                    position(*a).total_cmp(&position(*b))
                })?;
            let number = emitted[class_index(next)];
            emitted[class_index(next)] += 1;
            Some(Self::name(next, number))
        })
    }

    /// The profile of domain `number` of `class`.
    pub fn profile(&self, class: DnsClass, number: u64) -> Profile {
        let mut draws = Draws::new(self.seed ^ class.salt(), number);
        let provider = providers::by_share(u32::try_from(draws.below(100_000)).unwrap_or(0));
        let sts = (draws.below(100_000) < STS).then(|| {
            let point = draws.below(1_000);
            let mut upto = 0;
            STS_SPLIT
                .iter()
                .find(|(_, share)| {
                    upto += share;
                    point < upto
                })
                .map_or(Sts::Enforce, |(sts, _)| *sts)
        });
        let tlsrpt = (draws.below(100_000) < TLSRPT).then(|| {
            if draws.below(10) == 0 {
                TlsRpt::NoRua
            } else {
                TlsRpt::Valid
            }
        });
        Profile {
            provider,
            sts,
            tlsrpt,
        }
    }
}

/// Digits in a domain's first label: room for ten million domains per class, and labels of
/// one length, so that their byte order is their numeric order (RFC 4034 §6.1).
const LABEL_DIGITS: usize = 7;

/// The first label of domain `number`.
fn label(number: u64) -> String {
    format!("d{number:0width$}", width = LABEL_DIGITS)
}

fn class_index(class: DnsClass) -> usize {
    match class {
        DnsClass::Signed => 0,
        DnsClass::Unsigned => 1,
        DnsClass::Bogus => 2,
    }
}

/// A stream of pseudo-random numbers from a seed and a domain number (SplitMix64).
struct Draws {
    state: u64,
}

impl Draws {
    fn new(seed: u64, number: u64) -> Self {
        Self {
            state: seed ^ number.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_population() {
        let a = Population::new(1_000, 7);
        let b = Population::new(1_000, 7);
        let c = Population::new(1_000, 8);
        let profiles = |p: &Population| -> Vec<Profile> {
            (0..200).map(|n| p.profile(DnsClass::Signed, n)).collect()
        };
        assert_eq!(profiles(&a), profiles(&b));
        assert_ne!(profiles(&a), profiles(&c));
    }

    #[test]
    fn names_list_every_domain_once_and_parse_back() {
        let population = Population::new(10_000, 1);
        let names: Vec<String> = population.names().collect();
        assert_eq!(names.len(), 10_000);
        let mut seen = std::collections::HashSet::new();
        for name in &names {
            assert!(population.parse(name).is_some(), "{name}");
            assert!(seen.insert(name.clone()));
        }
        assert_eq!(population.count(DnsClass::Signed), 5_978);
        assert_eq!(population.count(DnsClass::Bogus), 22);
        assert!(population.parse("d0000000.pop-bogus.test").is_some());
        assert!(population.parse("d0000022.pop-bogus.test").is_none());
        assert!(population.parse("d12.pop-signed.test").is_none());
    }

    #[test]
    fn rates_come_out_near_the_measured_ones() {
        let population = Population::new(100_000, 3);
        let profiles: Vec<Profile> = (0..population.count(DnsClass::Signed))
            .map(|n| population.profile(DnsClass::Signed, n))
            .collect();
        let share = |f: &dyn Fn(&Profile) -> bool| {
            profiles.iter().filter(|p| f(p)).count() as f64 / profiles.len() as f64
        };
        let sts = share(&|p| p.sts.is_some());
        let rpt = share(&|p| p.tlsrpt.is_some());
        let dane = share(&|p| providers::PROVIDERS[p.provider].dane != providers::Dane::None);
        assert!((0.018..0.026).contains(&sts), "{sts}");
        assert!((0.025..0.033).contains(&rpt), "{rpt}");
        assert!((0.165..0.185).contains(&dane), "{dane}");
    }
}
