//! MX providers: MX hosts grouped by registered domain, and the most used of them counted in
//! bounded memory.
//!
//! A provider is the registrable domain of the host name by the Public Suffix List
//! ([`provider_of`]): `mx1.mail.example.com` → `example.com`, `mx.example.co.uk` →
//! `example.co.uk`. A name under a suffix the list does not know counts as under a one-label
//! suffix (the list's default rule `*`).
//!
//! A scan of many self-hosted domains meets as many providers as domains, so the table keeps
//! at most [`PROVIDER_CAPACITY`] of them with the Space-Saving algorithm (Metwally, Agrawal
//! and El Abbadi, "Efficient computation of frequent and top-k elements in data streams",
//! ICDT 2005): a provider not in a full table takes the place of the one with the smallest
//! count, inheriting that count as an upper bound of what it may have missed. A provider
//! used by more than 1/capacity of the domains is never dropped, so the most used ones come
//! out exactly as long as few providers share the top.

use std::collections::{BTreeSet, HashMap};

use mxsec_proto::name::DomainName;

use super::{DomainFacts, ProviderSummary, Share, Tally};
use crate::report::Delivery;

/// The most providers a summary keeps at once.
pub const PROVIDER_CAPACITY: usize = 10_000;

/// The provider of an MX host: its registrable domain by the Public Suffix List,
/// `mx1.mail.example.com` → `example.com`, `mx.example.co.uk` → `example.co.uk`. A name that
/// is itself a public suffix, or has one label, is its own provider.
pub fn provider_of(host: &DomainName) -> String {
    let name = host.as_str().trim_end_matches('.');
    match psl::domain_str(name) {
        Some(registrable) => registrable.to_owned(),
        None => name.to_owned(),
    }
}

/// The figures of one provider since it last entered the table.
#[derive(Debug)]
struct Entry {
    /// The Space-Saving estimate: `floor` plus the domains counted since it entered.
    estimate: u64,
    /// The estimate of the provider it replaced: at most this many of its domains went
    /// uncounted.
    floor: u64,
    delivery: Tally<Delivery>,
    dane_usable: u64,
    sts_enforce: u64,
    with_errors: u64,
}

/// The providers table: at most `capacity` entries, the least used dropped first.
#[derive(Debug)]
pub(super) struct TopProviders {
    capacity: usize,
    entries: HashMap<String, Entry>,
    /// `(estimate, name)` of every entry, to find the smallest.
    order: BTreeSet<(u64, String)>,
    dropped: u64,
}

impl TopProviders {
    /// An empty table of at most `capacity` providers (at least one).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: BTreeSet::new(),
            dropped: 0,
        }
    }

    /// Counts one domain under `name`.
    pub(super) fn add(&mut self, name: String, facts: DomainFacts) {
        if let Some(entry) = self.entries.get_mut(&name) {
            self.order.remove(&(entry.estimate, name.clone()));
            entry.estimate += 1;
            tally(entry, facts);
            self.order.insert((entry.estimate, name));
            return;
        }
        let mut floor = 0;
        if self.entries.len() >= self.capacity {
            if let Some((smallest, dropped)) = self.order.pop_first() {
                self.entries.remove(&dropped);
                self.dropped += 1;
                floor = smallest;
            }
        }
        let mut entry = Entry {
            estimate: floor + 1,
            floor,
            delivery: Tally::default(),
            dane_usable: 0,
            sts_enforce: 0,
            with_errors: 0,
        };
        tally(&mut entry, facts);
        self.order.insert((entry.estimate, name.clone()));
        self.entries.insert(name, entry);
    }

    /// How many times a provider was dropped for another.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The `n` providers with the most domains, by name on a tie.
    pub(super) fn top(&self, n: usize) -> Vec<ProviderSummary> {
        let mut top: Vec<(&String, &Entry)> = self.entries.iter().collect();
        top.sort_by(|a, b| b.1.estimate.cmp(&a.1.estimate).then(a.0.cmp(b.0)));
        top.into_iter()
            .take(n)
            .map(|(name, e)| {
                let domains = e.estimate - e.floor;
                ProviderSummary {
                    provider: name.clone(),
                    domains,
                    uncounted_at_most: e.floor,
                    delivery: e.delivery.rows(domains),
                    dane_usable: Share::of(e.dane_usable, domains),
                    mta_sts_enforce: Share::of(e.sts_enforce, domains),
                    with_errors: Share::of(e.with_errors, domains),
                }
            })
            .collect()
    }
}

fn tally(entry: &mut Entry, facts: DomainFacts) {
    entry.delivery.add(facts.delivery);
    entry.dane_usable += u64::from(facts.dane_usable);
    entry.sts_enforce += u64::from(facts.sts_enforce);
    entry.with_errors += u64::from(facts.has_errors);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    fn facts(delivery: Delivery) -> DomainFacts {
        DomainFacts {
            delivery,
            dane_usable: delivery == Delivery::Authenticated,
            sts_enforce: false,
            has_errors: delivery == Delivery::Deferred,
        }
    }

    #[test]
    fn providers_are_registrable_domains() {
        assert_eq!(provider_of(&name("aspmx.l.google.com")), "google.com");
        assert_eq!(provider_of(&name("MX1.Example.NL.")), "example.nl");
        assert_eq!(provider_of(&name("example.com")), "example.com");
        assert_eq!(provider_of(&name("localhost")), "localhost");
        assert_eq!(provider_of(&name("mx.example.co.uk")), "example.co.uk");
        assert_eq!(provider_of(&name("mx1.example.test")), "example.test");
        assert_eq!(provider_of(&name("co.uk")), "co.uk");
    }

    #[test]
    fn a_table_below_capacity_counts_exactly() {
        let mut table = TopProviders::new(10);
        for _ in 0..3 {
            table.add("big.example".into(), facts(Delivery::Authenticated));
        }
        table.add("big.example".into(), facts(Delivery::Deferred));
        table.add("small.example".into(), facts(Delivery::Opportunistic));
        let top = table.top(5);
        assert_eq!(table.dropped(), 0);
        assert_eq!(top.len(), 2);
        assert_eq!(top[0].provider, "big.example");
        assert_eq!(top[0].domains, 4);
        assert_eq!(top[0].uncounted_at_most, 0);
        assert_eq!(top[0].delivery[0].count, 3);
        assert_eq!(top[0].delivery[0].percent, 75.0);
        assert_eq!(top[0].dane_usable.count, 3);
        assert_eq!(top[0].with_errors.count, 1);
        assert_eq!(top[1].provider, "small.example");
        assert_eq!(top[1].domains, 1);
    }

    #[test]
    fn a_full_table_drops_the_least_used_and_keeps_the_frequent_ones_exact() {
        let mut table = TopProviders::new(3);
        // One frequent provider among a stream of providers seen once each.
        for i in 0..100 {
            table.add("frequent.example".into(), facts(Delivery::Authenticated));
            table.add(format!("once{i}.example"), facts(Delivery::Opportunistic));
        }
        assert_eq!(table.entries.len(), 3);
        assert!(table.dropped() > 90);
        let top = table.top(1);
        assert_eq!(top[0].provider, "frequent.example");
        assert_eq!(top[0].domains, 100);
        assert_eq!(top[0].uncounted_at_most, 0);
        // A newcomer inherits the smallest count as its bound of what it missed.
        let rest = table.top(3);
        assert!(rest[1..].iter().all(|p| p.domains == 1));
        assert!(rest[1..].iter().all(|p| p.uncounted_at_most > 0));
    }
}
