//! The checker the tests of this crate run on the testbed, set up as `mxsec check` is for a
//! private namespace: the testbed's DNS with its trust anchor and in-process validation, the
//! testbed CA as a `--ca-file` beside the testbed's OS store (the PKI's second root, PKIX-01),
//! and the testbed's routes from published to local addresses.

use std::path::Path;
use std::time::Duration;

use mxsec_check::{CheckOptions, Checker};
use mxsec_net::dial::{AddressMap, ConnectPolicy, Dialer};
use mxsec_net::dns::{Backend, Dns, DnsConfig, TrustAnchorSource};
use mxsec_net::trust::{OsStore, TrustConfig};
use mxsec_proto::name::DomainName;
use mxsec_testbed::Testbed;

/// Every network step's time limit; a probe as a whole gets [`PROBE_TOTAL`].
const STEP: Duration = Duration::from_secs(3);
const PROBE_TOTAL: Duration = Duration::from_secs(8);

/// A checker on `testbed` whose dialer obeys `policy`; `adjust` sets what a test varies in
/// the options (the prober, for one).
pub(crate) async fn checker_on(
    testbed: &Testbed,
    policy: ConnectPolicy,
    adjust: impl FnOnce(&mut CheckOptions),
) -> Checker {
    let config = DnsConfig::builder()
        .backend(Backend::Validate)
        .nameserver(testbed.dns_addr())
        .trust_anchor(TrustAnchorSource::File(
            testbed.files().trust_anchor.clone(),
        ))
        .timeout(Duration::from_secs(5))
        .build();
    let dns = Dns::new(&config).await.unwrap();
    let trust = TrustConfig::empty()
        .add_ca_pem(Path::new("testbed-ca.pem"), testbed.ca_pem().as_bytes())
        .unwrap()
        .with_os_store(&OsStore::Path(testbed.files().os_store.clone()))
        .unwrap();
    let mut map = AddressMap::new();
    for route in testbed.routes() {
        map.insert(route.published, route.local).unwrap();
    }
    let dialer = Dialer::new(STEP).with_address_map(map).with_policy(policy);
    let mut options = CheckOptions::new(DomainName::parse("checker.invalid").unwrap());
    options.probe_timeouts.banner = STEP;
    options.probe_timeouts.command = STEP;
    options.probe_timeouts.handshake = STEP;
    options.probe_timeouts.total = PROBE_TOTAL;
    adjust(&mut options);
    Checker::new(dns, &trust, dialer, options).unwrap()
}
