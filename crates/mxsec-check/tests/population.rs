//! The scan engine over the testbed's synthetic population (`mxsec_testbed::population`):
//! every domain's verdict is what its profile says, a check of a domain alone gives the same
//! verdict, and the shared prober probes each MX address once for the whole population.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, TryStreamExt};
use mxsec_check::prober::{ProbeLimits, Prober};
use mxsec_check::report::{DaneVerdict, Delivery, StsVerdict, TlsRptVerdict};
use mxsec_check::scan::{self, Done, Order, Outcome, Progress, ScanOptions};
use mxsec_check::{CheckOptions, Checker, Report};
use mxsec_net::dial::{AddressMap, Dialer};
use mxsec_net::dns::{Backend, Dns, DnsConfig, TrustAnchorSource};
use mxsec_net::trust::TrustConfig;
use mxsec_proto::name::DomainName;
use mxsec_testbed::population::providers::{Dane, MxTls, PROVIDERS};
use mxsec_testbed::population::{DnsClass, Population, PopulationServer, Sts, TlsRpt};

async fn checker(server: &PopulationServer, prober: Prober) -> Checker {
    let config = DnsConfig::builder()
        .backend(Backend::Validate)
        .nameserver(server.dns_addr())
        .trust_anchor(TrustAnchorSource::File(server.files().trust_anchor.clone()))
        .timeout(Duration::from_secs(5))
        .build();
    let dns = Dns::new(&config).await.unwrap();
    let ca = std::fs::read(&server.files().ca_file).unwrap();
    let trust = TrustConfig::empty()
        .add_ca_pem(Path::new("testbed-ca.pem"), &ca)
        .unwrap();
    let mut map = AddressMap::new();
    for route in server.routes() {
        map.insert(route.published, route.local).unwrap();
    }
    let dialer = Dialer::new(Duration::from_secs(3)).with_address_map(map);
    let mut options = CheckOptions::new(DomainName::parse("checker.invalid").unwrap());
    options.probe_timeouts.total = Duration::from_secs(8);
    options.prober = prober;
    Checker::new(dns, &trust, dialer, options).unwrap()
}

/// What the profile of a domain says its verdict must be, where it says something.
fn expect(population: &Population, report: &Report) {
    let name = report.domain.as_str();
    let (class, number) = population.parse(name).unwrap();
    let profile = population.profile(class, number);
    let provider = PROVIDERS[profile.provider];
    let verdict = &report.verdict;
    if class == DnsClass::Bogus {
        // RFC 7672 §2.1: a bogus MX answer defers, it never downgrades (DANE-DNS-05).
        assert_eq!(verdict.delivery, Delivery::Deferred, "{name}");
        return;
    }
    let sts = match profile.sts {
        None => StsVerdict::Absent,
        Some(Sts::Enforce | Sts::MxMismatch) => StsVerdict::Enforce,
        Some(Sts::Testing) => StsVerdict::Testing,
        Some(Sts::NoneMode) => StsVerdict::None,
        Some(
            Sts::NoPolicyHost | Sts::PolicyNotFound | Sts::WrongCertificate | Sts::TxtWithoutId,
        ) => StsVerdict::Invalid,
    };
    assert_eq!(verdict.mta_sts, sts, "{name}: {:?}", profile.sts);
    let rpt = match profile.tlsrpt {
        None => TlsRptVerdict::Absent,
        Some(TlsRpt::Valid) => TlsRptVerdict::Present,
        Some(TlsRpt::NoRua) => TlsRptVerdict::Invalid,
    };
    assert_eq!(verdict.tls_rpt, rpt, "{name}: {:?}", profile.tlsrpt);
    if class == DnsClass::Signed && provider.dane == Dane::Matching {
        assert_eq!(verdict.dane, DaneVerdict::Usable, "{name}");
        assert_eq!(verdict.delivery, Delivery::Authenticated, "{name}");
    }
    if provider.dane == Dane::None {
        assert_eq!(verdict.dane, DaneVerdict::Absent, "{name}");
    }
    if profile.sts == Some(Sts::Enforce) && provider.tls == MxTls::Valid {
        assert_eq!(verdict.delivery, Delivery::Authenticated, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_of_the_population_follows_each_profile_and_equals_single_checks() {
    let population = Population::new(800, 11);
    let server = PopulationServer::start(population, Duration::ZERO)
        .await
        .unwrap();
    let prober = Prober::shared(ProbeLimits::default());
    let checker = checker(&server, prober.clone()).await;
    let names: Vec<String> = population.names().collect();
    let options = ScanOptions {
        concurrency: 32,
        order: Order::Completion,
    };
    let inputs = stream::iter(names.clone().into_iter().map(Ok));
    let progress = Arc::new(Progress::default());
    let outcomes: Vec<Outcome> = scan::scan(checker, inputs, Done::default(), options, progress)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(outcomes.len(), names.len());
    let reports: Vec<&Report> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Report(r) => r.as_ref(),
            Outcome::Failure(f) => panic!("{}: {}", f.input, f.error),
        })
        .collect();
    for report in &reports {
        expect(&population, report);
    }

    // Each (address, SNI name) once: at most every MX address of every provider.
    let addresses: u64 = PROVIDERS
        .iter()
        .map(|p| u64::from(p.hosts) * if p.ipv6 { 2 } else { 1 })
        .sum();
    let stats = prober.stats();
    assert!(stats.run <= addresses, "{stats:?}");
    assert!(stats.requested > 4 * stats.run, "{stats:?}");

    // A sample checked alone, with fresh caches and no shared prober.
    let alone = checker_alone(&server).await;
    for report in reports.iter().step_by(40) {
        let single = alone.check(&report.domain).await;
        assert_eq!(single.verdict, report.verdict, "{}", report.domain.as_str());
    }
}

async fn checker_alone(server: &PopulationServer) -> Checker {
    checker(server, Prober::direct()).await
}
