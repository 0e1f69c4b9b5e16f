//! mxsec's own hickory handle stack for the `validate` back end.
//!
//! hickory-resolver 0.26.3's `Resolver` builds `NameServerPool` → `RetryDnsHandle` →
//! `DnssecDnsHandle` → `CachingClient` (`resolver.rs`, `ResolverBuilder::build`) and gives no
//! way to size the validator's cache: `DnssecDnsHandle`'s `validation_cache`, an LRU of one
//! proof per validated RRset, is then 1,048,576 entries, and an expired entry leaves only
//! when the LRU pushes it out. [`ValidatingStack`] builds the same layers itself, with the
//! same options as `Resolver` (EDNS(0) with the DO bit, hickory's default 1,232-octet UDP
//! payload, one attempt per query, the lookup timeout per exchange, UDP with TCP on
//! truncation, the CNAME chain and its intermediate records kept, no response cache), and
//! calls `DnssecDnsHandle::validation_cache_size` with the configured capacity. Under the
//! validator, [`ChainHandle`] keeps and prefetches the DNSKEY, DS and NS answers it needs.
//! The same validator, without the CNAME layer, answers [`ValidatingStack::response`] (the
//! wildcard re-check of `wildcard.rs`), so one configured bound covers every validation cache.
//!
//! What `Resolver` adds and mxsec does not need is left out: search domains (names are
//! always fully qualified here) and `/etc/hosts` (a static host entry carries no DNSSEC
//! status).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::dnssec::TrustAnchors;
use hickory_proto::op::{DnsRequestOptions, DnsResponse, Query};
use hickory_proto::rr::{Name, RecordType};
use hickory_resolver::caching_client::CachingClient;
use hickory_resolver::config::{NameServerConfig, ResolverOpts};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::net::dnssec::DnssecDnsHandle;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::xfer::{DnsHandle, FirstAnswer, RetryDnsHandle};
use hickory_resolver::net::{DnsError as HickoryDnsError, NetError};
use hickory_resolver::{NameServerPool, PoolContext, TlsConfig};

use super::chain::{ChainHandle, VALIDATION_ENTRIES_PER_RESPONSE};
use super::config::DnsConfigError;

/// The validator and the layers under it: the chain of trust kept and prefetched
/// ([`ChainHandle`]), retries, the name servers.
type Validator = DnssecDnsHandle<Chain>;

/// The chain of trust kept and prefetched, over retries and the name servers.
type Chain = ChainHandle<RetryDnsHandle<NameServerPool<TokioRuntimeProvider>>>;

/// The whole stack: CNAME chasing over the [`Validator`].
type Client = CachingClient<Validator>;

/// Validating lookups through mxsec's own hickory stack, with a validation cache of a
/// configured size.
#[derive(Clone)]
pub(crate) struct ValidatingStack {
    client: Client,
    /// A clone of the client's validator: clones share one validation cache and one
    /// [`ChainHandle`].
    validator: Validator,
    /// A clone of the validator's [`ChainHandle`], for its size.
    chain: Chain,
    options: DnsRequestOptions,
}

impl ValidatingStack {
    /// Builds the stack over `servers`, trusting `anchors`, keeping at most
    /// `validation_entries` RRset proofs and one DNSKEY, DS or NS response per
    /// [`VALIDATION_ENTRIES_PER_RESPONSE`] of them.
    pub(crate) fn new(
        servers: &[SocketAddr],
        timeout: Duration,
        anchors: Arc<TrustAnchors>,
        validation_entries: usize,
    ) -> Result<Self, DnsConfigError> {
        let name_servers = servers.iter().map(|addr| {
            let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
            for connection in &mut ns.connections {
                connection.port = addr.port();
            }
            ns
        });
        let mut opts = ResolverOpts::default();
        // mxsec caches above this layer (and must see every status change): hickory's
        // response cache is off.
        opts.cache_size = 0;
        opts.timeout = timeout;
        opts.attempts = 1;
        opts.preserve_intermediates = true;
        opts.edns0 = true;
        opts.validate = true;
        let options = request_options(&opts);
        let tls = TlsConfig::new().map_err(|e| DnsConfigError::Resolver(e.to_string()))?;
        let context = Arc::new(PoolContext::new(opts, tls));
        let pool =
            NameServerPool::from_config(name_servers, context, TokioRuntimeProvider::default());
        let chain = ChainHandle::new(
            RetryDnsHandle::new(pool, 1),
            validation_entries / VALIDATION_ENTRIES_PER_RESPONSE,
        );
        let validator = DnssecDnsHandle::with_trust_anchor(chain.clone(), anchors)
            .validation_cache_size(validation_entries);
        Ok(Self {
            client: CachingClient::new(0, validator.clone(), true),
            validator,
            chain,
            options,
        })
    }

    /// Looks up `(name, rtype)`, validated, following CNAMEs as hickory does.
    pub(crate) async fn lookup(&self, name: Name, rtype: RecordType) -> Result<Lookup, NetError> {
        self.client
            .lookup(Query::query(name, rtype), self.options)
            .await
    }

    /// The DNSKEY, DS and NS responses and denials the chain layer keeps now.
    pub(crate) fn chain_entries(&self) -> usize {
        self.chain.len()
    }

    /// The response to `(name, rtype)` from the name servers, not validated and CNAMEs not
    /// followed: for names below a delegation proven insecure ([`super::insecure_cut`]).
    pub(crate) async fn unvalidated(
        &self,
        name: &Name,
        rtype: RecordType,
    ) -> Result<DnsResponse, NetError> {
        let query = Query::query(name.clone(), rtype);
        self.chain
            .inner()
            .lookup(query, self.options)
            .first_answer()
            .await
    }

    /// Whether the name servers give an NS RRset owned by `name`: a zone cut, as hickory's
    /// validator looks for one (unvalidated; the chain layer keeps the answer).
    pub(crate) async fn has_ns(&self, name: &Name) -> bool {
        let query = Query::query(name.clone(), RecordType::NS);
        match self.chain.lookup(query, self.options).first_answer().await {
            Ok(response) => response
                .all_sections()
                .any(|r| r.record_type() == RecordType::NS && r.name == *name),
            Err(_) => false,
        }
    }

    /// The response to `(name, rtype)` when hickory's validator accepts it whole (answers
    /// validated, a denial proven), each record with its proof; `None` otherwise.
    pub(crate) async fn accepted(&self, name: &Name, rtype: RecordType) -> Option<DnsResponse> {
        let query = Query::query(name.clone(), rtype);
        self.validator
            .lookup(query, self.options)
            .first_answer()
            .await
            .ok()
    }

    /// The validated response to `(name, rtype)` from the validator alone, CNAMEs not
    /// followed: one response, each record with its own proof, also when hickory finds its
    /// proof of denial or of no closer match bogus; `None` when no response came (a network
    /// error).
    pub(crate) async fn response(&self, name: &Name, rtype: RecordType) -> Option<DnsResponse> {
        let query = Query::query(name.clone(), rtype);
        match self
            .validator
            .lookup(query, self.options)
            .first_answer()
            .await
        {
            Ok(response) => Some(response),
            Err(NetError::Dns(HickoryDnsError::Nsec { response, .. })) => Some(*response),
            Err(_) => None,
        }
    }
}

/// The per-request options `Resolver` derives from its `ResolverOpts`
/// (`Resolver::request_options` in hickory-resolver 0.26.3): EDNS(0) with its payload size,
/// recursion desired, and the DO bit since the answers are validated (RFC 4035 §3.2.1).
fn request_options(opts: &ResolverOpts) -> DnsRequestOptions {
    let mut options = DnsRequestOptions::default();
    options.recursion_desired = opts.recursion_desired;
    options.use_edns = opts.edns0;
    options.edns_payload_len = opts.edns_payload_len;
    options.case_randomization = opts.case_randomization;
    options.edns_set_dnssec_ok = opts.validate;
    options
}
