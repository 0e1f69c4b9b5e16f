use proptest::prelude::*;

use super::*;

const T0: u64 = 1_700_000_000;
const WEEK: u64 = 604_800;

fn domain() -> DomainName {
    match DomainName::parse("example.com") {
        Ok(d) => d,
        Err(e) => panic!("test domain: {e}"),
    }
}

fn id(s: &str) -> PolicyId {
    match PolicyId::parse(s) {
        Ok(id) => id,
        Err(e) => panic!("test id {s:?}: {e}"),
    }
}

fn record(s: &str) -> TxtLookup {
    TxtLookup::Record(id(s))
}

/// A valid policy fetched at `fetched_at` for the TXT id `id_str`.
fn policy(id_str: &str, mode: Mode, max_age: u64, fetched_at: u64) -> CachedPolicy {
    let body = format!("version: STSv1\nmode: {mode}\nmx: mail.example.com\nmax_age: {max_age}\n");
    match CachedPolicy::parse(id(id_str), body, fetched_at) {
        Ok(p) => p,
        Err(e) => panic!("test policy: {e}"),
    }
}

fn enforce(id_str: &str, max_age: u64, fetched_at: u64) -> CachedPolicy {
    policy(id_str, Mode::Enforce, max_age, fetched_at)
}

/// An entry holding an enforce policy with id "a", fetched at `T0`, valid for a week.
fn cached() -> CacheEntry {
    let mut entry = CacheEntry::new(domain());
    assert!(entry.record_success(enforce("a", WEEK, T0)));
    entry
}

#[test]
fn sts_fetch_06_nothing_cached_valid_txt_means_fetch() {
    let entry = CacheEntry::new(domain());
    assert_eq!(entry.plan(&record("a"), T0), Action::Fetch { id: id("a") });
}

#[test]
fn sts_fetch_06_fetch_failure_with_nothing_cached_means_no_policy() {
    let mut entry = CacheEntry::new(domain());
    entry.record_failure(&id("a"), T0);
    assert_eq!(entry.live_policy(T0), None);
    assert_eq!(
        entry.plan(&record("a"), T0 + 1),
        Action::NoPolicy(NoPolicyReason::RetryWait {
            id: id("a"),
            retry_at: T0 + 300
        })
    );
}

#[test]
fn sts_txt_05_no_record_and_nothing_cached_means_no_policy() {
    let entry = CacheEntry::new(domain());
    assert_eq!(
        entry.plan(&TxtLookup::NoRecord, T0),
        Action::NoPolicy(NoPolicyReason::NoRecord)
    );
    assert_eq!(
        entry.plan(&TxtLookup::LookupFailed, T0),
        Action::NoPolicy(NoPolicyReason::LookupFailed)
    );
}

#[test]
fn sts_fetch_07_cached_policy_applies_when_txt_lookup_fails() {
    let entry = cached();
    let now = T0 + 3_600;
    assert_eq!(entry.plan(&TxtLookup::LookupFailed, now), Action::UseCached);
    assert_eq!(entry.live_policy(now).map(|p| p.id().as_str()), Some("a"));
}

#[test]
fn sts_txt_07_missing_or_garbled_txt_record_does_not_evict() {
    let entry = cached();
    let now = T0 + 3_600;
    assert_eq!(entry.plan(&TxtLookup::NoRecord, now), Action::UseCached);
    assert!(entry.live_policy(now).is_some());
}

#[test]
fn sts_fetch_07_policy_usable_until_exactly_max_age() {
    let entry = cached();
    let expiry = T0 + WEEK;
    assert_eq!(entry.policy().map(CachedPolicy::expires_at), Some(expiry));
    assert!(entry.live_policy(expiry - 1).is_some());
    assert_eq!(entry.live_policy(expiry), None);
    assert_eq!(
        entry.plan(&TxtLookup::LookupFailed, expiry),
        Action::NoPolicy(NoPolicyReason::LookupFailed)
    );
    assert_eq!(
        entry.plan(&record("a"), expiry),
        Action::Fetch { id: id("a") }
    );
}

#[test]
fn sts_fetch_07_failed_fetch_never_evicts_cached_policy() {
    let mut entry = cached();
    let now = T0 + 86_400;
    entry.record_failure(&id("a"), now);
    assert_eq!(
        entry.live_policy(now).map(CachedPolicy::fetched_at),
        Some(T0)
    );
    entry.record_failure(&id("b"), now + 1);
    assert_eq!(
        entry.live_policy(now + 1).map(|p| p.id().as_str()),
        Some("a")
    );
}

#[test]
fn sts_fetch_07_older_policy_never_replaces_newer() {
    let mut entry = cached();
    assert!(!entry.record_success(enforce("b", WEEK, T0 - 1)));
    assert_eq!(entry.policy().map(|p| p.id().as_str()), Some("a"));
    assert!(entry.record_success(enforce("b", WEEK, T0 + 1)));
    assert_eq!(entry.policy().map(|p| p.id().as_str()), Some("b"));
}

#[test]
fn sts_txt_03_new_id_triggers_fetch_before_answering() {
    let entry = cached();
    assert_eq!(
        entry.plan(&record("b"), T0 + 60),
        Action::Fetch { id: id("b") }
    );
}

#[test]
fn sts_fetch_07_failed_fetch_for_new_id_keeps_cached_policy() {
    let mut entry = cached();
    let now = T0 + 60;
    entry.record_failure(&id("b"), now);
    assert_eq!(entry.live_policy(now).map(|p| p.id().as_str()), Some("a"));
    // Within the retry wait the new id is not fetched again, and the cached policy applies.
    assert_eq!(entry.plan(&record("b"), now + 299), Action::UseCached);
    assert_eq!(
        entry.plan(&record("b"), now + 300),
        Action::Fetch { id: id("b") }
    );
}

#[test]
fn sts_fetch_03_no_retry_within_five_minutes_for_the_same_id() {
    let mut entry = CacheEntry::new(domain());
    entry.record_failure(&id("a"), T0);
    assert!(!entry.may_fetch(&id("a"), T0));
    assert!(!entry.may_fetch(&id("a"), T0 + 299));
    assert!(entry.may_fetch(&id("a"), T0 + 300));
    assert_eq!(
        entry.plan(&record("a"), T0 + 300),
        Action::Fetch { id: id("a") }
    );
}

#[test]
fn sts_fetch_03_retry_wait_is_per_policy_id() {
    let mut entry = CacheEntry::new(domain());
    entry.record_failure(&id("a"), T0);
    entry.record_failure(&id("b"), T0 + 10);
    assert!(entry.may_fetch(&id("c"), T0 + 10));
    assert!(!entry.may_fetch(&id("a"), T0 + 20));
    assert!(!entry.may_fetch(&id("b"), T0 + 20));
    assert_eq!(
        entry.plan(&record("c"), T0 + 20),
        Action::Fetch { id: id("c") }
    );
    assert_eq!(entry.failures().len(), 2);
}

#[test]
fn sts_fetch_03_success_clears_the_failure_for_that_id() {
    let mut entry = CacheEntry::new(domain());
    entry.record_failure(&id("a"), T0);
    entry.record_failure(&id("b"), T0 + 1);
    assert!(entry.record_success(enforce("a", WEEK, T0 + 400)));
    let ids: Vec<&str> = entry.failures().iter().map(|f| f.id().as_str()).collect();
    assert_eq!(ids, ["b"]);
}

#[test]
fn sts_fetch_03_expired_failures_are_forgotten_and_the_list_is_bounded() {
    let mut entry = CacheEntry::new(domain());
    entry.record_failure(&id("old"), T0);
    entry.record_failure(&id("new"), T0 + 300);
    let ids: Vec<&str> = entry.failures().iter().map(|f| f.id().as_str()).collect();
    assert_eq!(ids, ["new"]);
    for i in 0..40u64 {
        entry.record_failure(&id(&format!("id{i}")), T0 + 301 + i);
    }
    assert_eq!(entry.failures().len(), MAX_FAILURES_KEPT);
    assert_eq!(
        entry.failures().last().map(|f| f.id().as_str()),
        Some("id39")
    );
}

#[test]
fn sts_fetch_08_refresh_due_daily_whatever_the_txt_record_says() {
    let entry = cached();
    assert_eq!(entry.refresh_at(), Some(T0 + 86_400));
    let before = T0 + 86_399;
    let due = T0 + 86_400;
    for txt in [record("a"), TxtLookup::NoRecord, TxtLookup::LookupFailed] {
        assert_eq!(entry.plan(&txt, before), Action::UseCached, "{txt:?}");
        assert_eq!(
            entry.plan(&txt, due),
            Action::UseCachedAndRefresh { id: id("a") },
            "{txt:?}"
        );
    }
}

#[test]
fn sts_fetch_08_short_max_age_refreshes_before_expiry() {
    let mut entry = CacheEntry::new(domain());
    assert!(entry.record_success(enforce("a", 3_600, T0)));
    assert_eq!(entry.refresh_at(), Some(T0 + 1_800));
    assert_eq!(
        entry.plan(&record("a"), T0 + 1_800),
        Action::UseCachedAndRefresh { id: id("a") }
    );
    // A tiny max_age is never refreshed more often than the retry wait.
    let mut tiny = CacheEntry::new(domain());
    assert!(tiny.record_success(enforce("a", 10, T0)));
    assert_eq!(tiny.refresh_at(), Some(T0 + 300));
    assert_eq!(
        tiny.plan(&record("a"), T0 + 10),
        Action::Fetch { id: id("a") }
    );
}

#[test]
fn sts_fetch_08_failed_refresh_waits_five_minutes_and_keeps_policy() {
    let mut entry = cached();
    let due = T0 + 86_400;
    entry.record_failure(&id("a"), due);
    assert_eq!(entry.refresh_at(), Some(due + 300));
    assert_eq!(entry.plan(&record("a"), due + 299), Action::UseCached);
    assert_eq!(
        entry.plan(&record("a"), due + 300),
        Action::UseCachedAndRefresh { id: id("a") }
    );
}

#[test]
fn sts_fetch_08_refresh_failure_alerts_unless_mode_none() {
    assert!(enforce("a", WEEK, T0).alerts_on_refresh_failure());
    assert!(policy("a", Mode::Testing, WEEK, T0).alerts_on_refresh_failure());
    assert!(!policy("a", Mode::None, WEEK, T0).alerts_on_refresh_failure());
}

#[test]
fn sts_fetch_08_new_id_in_retry_wait_does_not_refresh_the_old_one() {
    let mut entry = cached();
    let due = T0 + 86_400;
    entry.record_failure(&id("b"), due);
    assert_eq!(entry.plan(&record("b"), due + 1), Action::UseCached);
}

#[test]
fn sts_pol_06_entry_expires_after_policy_and_retry_wait() {
    let mut entry = cached();
    assert_eq!(entry.expires_at(), Some(T0 + WEEK));
    entry.record_failure(&id("b"), T0 + WEEK - 1);
    assert_eq!(entry.expires_at(), Some(T0 + WEEK + 299));
    assert_eq!(CacheEntry::new(domain()).expires_at(), None);
}

#[test]
fn sts_fetch_03_from_parts_keeps_the_latest_failure_per_id() {
    let entry = CacheEntry::from_parts(
        domain(),
        None,
        vec![
            FetchFailure::new(id("a"), T0 + 5),
            FetchFailure::new(id("b"), T0),
            FetchFailure::new(id("a"), T0 + 1),
        ],
    );
    let got: Vec<(&str, u64)> = entry
        .failures()
        .iter()
        .map(|f| (f.id().as_str(), f.at()))
        .collect();
    assert_eq!(got, [("b", T0), ("a", T0 + 5)]);
}

fn fetched(policy: CachedPolicy) -> FetchRecord {
    FetchRecord::Fetched(policy)
}

fn failed(id_str: &str, at: u64) -> FetchRecord {
    FetchRecord::Failed(FetchFailure::new(id(id_str), at))
}

#[test]
fn sts_fetch_07_fetch_recorded_after_a_newer_one_never_replaces_it() {
    // Two lookups fetch concurrently; the one that started first finishes last.
    let mut entry = CacheEntry::new(domain());
    assert!(entry.record(&fetched(enforce("b", WEEK, T0 + 10))));
    assert!(!entry.record(&fetched(enforce("a", WEEK, T0))));
    assert_eq!(entry.policy().map(|p| p.id().as_str()), Some("b"));
}

#[test]
fn sts_fetch_07_failure_recorded_into_a_live_policy_keeps_it() {
    let mut entry = cached();
    assert!(entry.record(&failed("b", T0 + 60)));
    assert_eq!(
        entry.live_policy(T0 + 60).map(|p| p.id().as_str()),
        Some("a")
    );
    assert!(!entry.may_fetch(&id("b"), T0 + 60));
}

#[test]
fn sts_fetch_03_stale_failure_after_a_later_success_of_the_same_id_is_ignored() {
    // A fetch of "a" failed at T0 - 5, but reached the store after another lookup (or MTA of
    // the fleet) stored the policy "a" fetched at T0: no retry wait for a policy just fetched.
    let mut entry = cached();
    assert!(!entry.record(&failed("a", T0 - 5)));
    assert!(!entry.record(&failed("a", T0)));
    assert!(entry.failures().is_empty());
    assert!(entry.may_fetch(&id("a"), T0 + 1));
    // A failure after the fetch is news.
    assert!(entry.record(&failed("a", T0 + 1)));
    assert!(!entry.may_fetch(&id("a"), T0 + 2));
    // An older failure of the same id adds nothing.
    assert!(!entry.record(&failed("a", T0 + 1)));
}

#[test]
fn sts_fetch_03_success_clears_only_failures_no_later_than_its_fetch() {
    let mut entry = CacheEntry::new(domain());
    assert!(entry.record(&failed("a", T0 + 100)));
    // A fetch of "a" that ended before that failure was recorded late: the failure stays.
    assert!(entry.record(&fetched(enforce("a", WEEK, T0))));
    assert!(!entry.may_fetch(&id("a"), T0 + 101));
    assert!(entry.record(&fetched(enforce("a", WEEK, T0 + 200))));
    assert!(entry.failures().is_empty());
}

#[test]
fn sts_pol_06_max_age_zero_policy_is_recorded_but_never_live() {
    // RFC 8461 §3.2: max_age 0 means "do not cache". The entry records the fetch (it replaces
    // the older policy), but holds nothing live, so a store keeps nothing.
    let mut entry = cached();
    assert!(entry.record(&fetched(enforce("b", 0, T0 + 60))));
    assert_eq!(entry.live_policy(T0 + 60), None);
    assert_eq!(entry.expires_at(), Some(T0 + 60));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// STS-FETCH-07: fetch outcomes merged into an entry in any order (concurrent lookups, a
    /// refresh, other MTAs of the fleet) leave the policy of the latest successful fetch, and
    /// a failure never removes it.
    #[test]
    fn sts_fetch_07_merge_order_never_loses_the_latest_policy(
        outcomes in prop::collection::vec((0..3u8, any::<bool>(), 1..(2 * WEEK)), 1..12),
        order in prop::collection::vec(any::<prop::sample::Index>(), 12),
    ) {
        // Distinct times, so that "latest" is well defined.
        let records: Vec<FetchRecord> = outcomes
            .iter()
            .enumerate()
            .map(|(i, &(which, ok, max_age))| {
                let at = T0 + 10 * i as u64;
                let name = format!("id{which}");
                if ok {
                    fetched(enforce(&name, max_age, at))
                } else {
                    failed(&name, at)
                }
            })
            .collect();
        let latest = records
            .iter()
            .filter_map(|r| match r {
                FetchRecord::Fetched(p) => Some(p.clone()),
                FetchRecord::Failed(_) => None,
            })
            .max_by_key(CachedPolicy::fetched_at);
        let mut pending = records;
        let mut entry = CacheEntry::new(domain());
        for index in &order {
            if pending.is_empty() {
                break;
            }
            let record = pending.remove(index.index(pending.len()));
            entry.record(&record);
        }
        for record in pending {
            entry.record(&record);
        }
        prop_assert_eq!(entry.policy(), latest.as_ref());
    }
}

/// One moment in a simulated life of the cache: time passes, the TXT lookup gives a result,
/// and if the plan calls for a fetch, HTTPS gives a valid policy or fails.
#[derive(Clone, Debug)]
struct Step {
    advance: u64,
    txt: TxtLookup,
    https: Option<(Mode, u64)>,
}

fn step() -> impl Strategy<Value = Step> {
    let advance = prop_oneof![0..600u64, 0..(3 * 86_400u64)];
    let txt = prop_oneof![
        (0..3u8).prop_map(|i| TxtLookup::Record(id(&format!("id{i}")))),
        Just(TxtLookup::NoRecord),
        Just(TxtLookup::LookupFailed),
    ];
    let mode = prop_oneof![Just(Mode::Enforce), Just(Mode::Testing), Just(Mode::None)];
    let max_age = prop_oneof![1..700u64, 0..(4 * 86_400u64), Just(31_557_600u64)];
    let https = prop::option::weighted(0.6, (mode, max_age));
    (advance, txt, https).prop_map(|(advance, txt, https)| Step {
        advance,
        txt,
        https,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// STS-FETCH-07, STS-TXT-07, STS-FETCH-03: whatever DNS and HTTPS do over time, the policy
    /// applied is the one from the last successful fetch until `max_age` has passed since that
    /// fetch, it is replaced only by a newer valid policy, and a failed id is not fetched
    /// again within five minutes.
    #[test]
    fn sts_fetch_07_cached_policy_applies_until_max_age_whatever_dns_and_https_do(
        steps in prop::collection::vec(step(), 1..80),
    ) {
        let mut entry = CacheEntry::new(domain());
        let mut now = T0;
        let mut last_valid: Option<CachedPolicy> = None;
        let mut last_failure: std::collections::HashMap<PolicyId, u64> = Default::default();
        for step in steps {
            now += step.advance;
            let action = entry.plan(&step.txt, now);
            // What the plan saw: a refresh may replace the policy with one that is already
            // dead (max_age 0), so the plan is judged against the entry before the fetch.
            let live_at_plan = entry.live_policy(now).is_some();
            let fetch = match &action {
                Action::Fetch { id } | Action::UseCachedAndRefresh { id } => Some(id.clone()),
                Action::UseCached | Action::NoPolicy(_) => None,
            };
            if let Some(id) = fetch {
                if let Some(at) = last_failure.get(&id) {
                    prop_assert!(now >= at + FETCH_RETRY_INTERVAL, "{id} refetched too soon");
                }
                match step.https {
                    Some((mode, max_age)) => {
                        let fetched = policy(id.as_str(), mode, max_age, now);
                        prop_assert!(entry.record_success(fetched.clone()));
                        last_valid = Some(fetched);
                    }
                    None => {
                        entry.record_failure(&id, now);
                        last_failure.insert(id, now);
                    }
                }
            }
            let expected = last_valid
                .as_ref()
                .filter(|p| now < p.fetched_at() + p.max_age());
            prop_assert_eq!(entry.live_policy(now), expected);
            match action {
                Action::UseCached | Action::UseCachedAndRefresh { .. } => {
                    prop_assert!(live_at_plan);
                }
                Action::NoPolicy(_) => prop_assert!(!live_at_plan && expected.is_none()),
                Action::Fetch { .. } => {}
            }
        }
    }

    /// STS-FETCH-08: a live policy whose refresh is due, and whose id is not in its retry
    /// wait, is always refreshed, whatever the TXT lookup says.
    #[test]
    fn sts_fetch_08_due_refresh_is_never_skipped(
        max_age in 1..(4 * 86_400u64),
        age in 0..(4 * 86_400u64),
        txt in prop_oneof![
            Just(record("a")),
            Just(TxtLookup::NoRecord),
            Just(TxtLookup::LookupFailed),
        ],
    ) {
        let mut entry = CacheEntry::new(domain());
        prop_assert!(entry.record_success(enforce("a", max_age, T0)));
        let now = T0 + age;
        let action = entry.plan(&txt, now);
        let live = age < max_age;
        let due = age >= (max_age / 2).clamp(300, 86_400);
        match (live, due) {
            (true, true) => prop_assert_eq!(action, Action::UseCachedAndRefresh { id: id("a") }),
            (true, false) => prop_assert_eq!(action, Action::UseCached),
            (false, _) => {
                let fetch_or_none = matches!(action, Action::Fetch { .. } | Action::NoPolicy(_));
                prop_assert!(fetch_or_none, "expired policy planned {:?}", action);
            }
        }
    }
}

#[test]
fn sts_pol_09_stored_bodies_reload_with_unmatchable_values_set_aside() {
    // A store keeps the body as served and rebuilds the entry with CachedPolicy::parse. The
    // parser now accepts more than before and never less, so whatever an earlier mxsec
    // stored still loads; a body with an address next to the real MX loads with that MX
    // alone as the pattern, and the address still in the policy's lines.
    let body =
        "version: STSv1\nmode: enforce\nmx: 192.0.2.25\nmx: mail.example.com\nmax_age: 604800\n";
    let cached = match CachedPolicy::parse(id("a"), body, T0) {
        Ok(p) => p,
        Err(e) => panic!("stored policy: {e}"),
    };
    assert_eq!(cached.body(), body);
    let mx: Vec<String> = cached.policy().mx.iter().map(ToString::to_string).collect();
    assert_eq!(mx, ["mail.example.com"]);
    assert!(cached
        .policy()
        .lines()
        .contains(&"mx: 192.0.2.25".to_owned()));
    let mut entry = CacheEntry::new(domain());
    assert!(entry.record_success(cached));
    assert!(entry.live_policy(T0 + 1).is_some());
}
