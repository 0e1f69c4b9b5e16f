//! The chain of trust under hickory's validator: DNSKEY, DS and NS answers kept for their
//! TTL, and fetched together as soon as an answer names its signer.
//!
//! hickory's `DnssecDnsHandle` (hickory-net 0.26.3) proves an RRset one link at a time: it
//! asks for the DNSKEY RRset of the RRSIG's signer, and to trust that, for the zone's DS
//! RRset at the parent, then the parent's DNSKEY RRset, and so on up to the trust anchor
//! (RFC 4035 §5), each query sent when the one before has been answered. An unsigned answer
//! makes it look for the zone cut with NS queries, from the name upwards, and then for the
//! DS RRset that proves the delegation insecure (RFC 4035 §5.2). It keeps proofs, not
//! responses, so every answer it validates costs another DNSKEY query. [`ChainHandle`] sits
//! under it and:
//!
//! - keeps the responses to DNSKEY, DS and NS queries (the raw responses: the validator
//!   checks them every time they are used, so keeping them trusts nothing new) for their
//!   TTL, at most one per [`VALIDATION_ENTRIES_PER_RESPONSE`] entries of the validation
//!   cache (so the one setting bounds both) of at most [`MAX_KEPT_RESPONSE`] octets each, the
//!   shortest-lived going first when full, and lets concurrent identical queries share one
//!   exchange;
//! - as soon as a response carries signatures, asks at once for the DNSKEY and DS RRsets of
//!   every zone from each signer (RFC 4034 §3.1.7) up to the root, and, for a response
//!   without any, for the NS and DS RRsets of every ancestor of the name asked: the queries
//!   the validator is about to send one after another are then in flight or answered by the
//!   time it sends them. A first answer costs two round trips, not two per zone.

use std::collections::{BTreeSet, HashMap};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt, Shared};
use futures::stream::{self, Stream};
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{DnsRequest, DnsRequestOptions, DnsResponse, Edns, Query};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_resolver::net::xfer::{DnsHandle, FirstAnswer};
use hickory_resolver::net::{DnsError as HickoryDnsError, NetError};

use crate::ttl_cache::{TtlCache, TtlLimits};

/// How many entries of the validation cache (`DnsConfig::validation_cache_entries`) allow
/// one DNSKEY, DS or NS response kept: 1,024 responses for the default 8,192 proofs. A
/// response kept is up to [`MAX_KEPT_RESPONSE`] octets, a proof far less.
pub(crate) const VALIDATION_ENTRIES_PER_RESPONSE: usize = 8;
/// The largest response kept, in octets on the wire; a larger one is used and not kept.
pub(crate) const MAX_KEPT_RESPONSE: usize = 4_096;
/// The most authority records of a denial kept (an SOA and the NSEC or NSEC3 records that
/// prove it, with their signatures, are far fewer).
const MAX_KEPT_DENIAL_RECORDS: usize = 16;
/// The longest a response is kept, whatever its TTL.
const MAX_KEPT: Duration = Duration::from_secs(3_600);
/// The most names whose chain one response makes [`ChainHandle`] fetch.
const MAX_PREFETCH_NAMES: usize = 16;

/// A response, or the denial hickory reports as an error, as the layers above expect it.
type Outcome = Result<DnsResponse, NetError>;
type Flight = Shared<BoxFuture<'static, Outcome>>;

/// DNSKEY, DS and NS responses kept and prefetched under the validator; see the
/// [module docs](self).
#[derive(Clone)]
pub(crate) struct ChainHandle<H> {
    inner: H,
    state: Arc<State>,
}

struct State {
    kept: TtlCache<(LowerName, RecordType), Outcome>,
    flights: Mutex<HashMap<(LowerName, RecordType), Flight>>,
}

impl<H: DnsHandle> ChainHandle<H> {
    /// Wraps `inner`, the handle that reaches the name servers, keeping at most `capacity`
    /// responses.
    pub(crate) fn new(inner: H, capacity: usize) -> Self {
        Self {
            inner,
            state: Arc::new(State {
                kept: TtlCache::new(TtlLimits {
                    max_ttl: MAX_KEPT,
                    max_negative_ttl: MAX_KEPT,
                    ..TtlLimits::with_capacity(capacity)
                }),
                flights: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The handle that reaches the name servers, for queries that need no chain of trust.
    pub(crate) fn inner(&self) -> &H {
        &self.inner
    }

    /// The number of responses and denials kept now.
    pub(crate) fn len(&self) -> usize {
        self.state.kept.len()
    }

    /// The kept response to `(name, rtype)`, or the exchange that will give it, started now
    /// unless one is in flight.
    fn chain_query(&self, name: &Name, rtype: RecordType, options: DnsRequestOptions) -> Flight {
        let key = (LowerName::from(name), rtype);
        if let Some((outcome, _)) = self.state.kept.get(&key, Instant::now()) {
            return futures::future::ready(outcome).boxed().shared();
        }
        let mut flights = self
            .state
            .flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(flight) = flights.get(&key) {
            return flight.clone();
        }
        let request = validator_request(Query::query(name.clone(), rtype), options);
        let exchange = self.inner.send(request).first_answer();
        let (handle, state) = (self.clone(), self.state.clone());
        let flight_key = key.clone();
        let flight = async move {
            let outcome = exchange.await;
            handle.prefetch_for(rtype, &flight_key.0, &outcome, options);
            state.keep(&flight_key, &outcome);
            state
                .flights
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&flight_key);
            outcome
        }
        .boxed()
        .shared();
        flights.insert(key, flight.clone());
        drop(flights);
        // Driven to its end even if every asker gives up, so that it leaves `flights`.
        tokio::spawn(flight.clone());
        flight
    }

    /// Starts the queries the validator will send to prove `outcome`, the answer to
    /// `(qname, qtype)` or its denial.
    fn prefetch_for(
        &self,
        qtype: RecordType,
        qname: &Name,
        outcome: &Outcome,
        options: DnsRequestOptions,
    ) {
        let records: Vec<&Record> = match outcome {
            Ok(response) => response.all_sections().collect(),
            Err(NetError::Dns(HickoryDnsError::NoRecordsFound(no))) => {
                no.authorities.iter().flat_map(|a| a.iter()).collect()
            }
            Err(_) => return,
        };
        let signers: BTreeSet<Name> = records
            .iter()
            .filter_map(|record| match &record.data {
                RData::DNSSEC(DNSSECRData::RRSIG(sig)) => Some(sig.input().signer_name.clone()),
                _ => None,
            })
            .take(MAX_PREFETCH_NAMES)
            .collect();
        let mut wanted: Vec<(Name, RecordType)> = Vec::new();
        if signers.is_empty() {
            if matches!(qtype, RecordType::NS | RecordType::DS | RecordType::DNSKEY) {
                return;
            }
            for name in ancestors(qname) {
                wanted.push((name.clone(), RecordType::NS));
                if !name.is_root() {
                    wanted.push((name, RecordType::DS));
                }
            }
        } else {
            for signer in &signers {
                for name in ancestors(signer) {
                    if !name.is_root() {
                        wanted.push((name.clone(), RecordType::DS));
                    }
                    wanted.push((name, RecordType::DNSKEY));
                }
            }
        }
        wanted.sort();
        wanted.dedup();
        for (name, rtype) in wanted.into_iter().take(2 * MAX_PREFETCH_NAMES) {
            if (&name, rtype) != (qname, qtype) {
                drop(self.chain_query(&name, rtype, options));
            }
        }
    }
}

impl State {
    /// Keeps a response for the lowest TTL of its records, or a denial for its negative TTL
    /// (RFC 2308 §5), when it is small enough; a failure is not kept.
    fn keep(&self, key: &(LowerName, RecordType), outcome: &Outcome) {
        let now = Instant::now();
        match outcome {
            Ok(response) if response.as_buffer().len() <= MAX_KEPT_RESPONSE => {
                let ttl = response.all_sections().map(|r| r.ttl).min().unwrap_or(0);
                let ttl = Duration::from_secs(ttl.into());
                self.kept.insert(key.clone(), outcome.clone(), ttl, now);
            }
            Err(NetError::Dns(HickoryDnsError::NoRecordsFound(no)))
                if no.authorities.as_ref().map_or(0, |a| a.len()) <= MAX_KEPT_DENIAL_RECORDS =>
            {
                let ttl = no
                    .negative_ttl
                    .or_else(|| no.soa.as_ref().map(|soa| soa.ttl.min(soa.data.minimum)))
                    .unwrap_or(0);
                let ttl = Duration::from_secs(ttl.into());
                self.kept
                    .insert_negative(key.clone(), outcome.clone(), ttl, now);
            }
            Ok(_) | Err(_) => {}
        }
    }
}

impl<H: DnsHandle> DnsHandle for ChainHandle<H> {
    type Response = Pin<Box<dyn Stream<Item = Outcome> + Send + Unpin>>;
    type Runtime = H::Runtime;

    fn is_verifying_dnssec(&self) -> bool {
        self.inner.is_verifying_dnssec()
    }

    fn send(&self, request: DnsRequest) -> Self::Response {
        let Some(query) = request.queries.first().cloned() else {
            return Box::pin(self.inner.send(request));
        };
        let options = *request.options();
        let (name, rtype) = (query.name().clone(), query.query_type());
        if matches!(rtype, RecordType::DNSKEY | RecordType::DS | RecordType::NS) {
            return Box::pin(stream::once(self.chain_query(&name, rtype, options)));
        }
        let exchange = self.inner.send(request).first_answer();
        let handle = self.clone();
        Box::pin(stream::once(
            async move {
                let outcome = exchange.await;
                handle.prefetch_for(rtype, &name, &outcome, options);
                outcome
            }
            .boxed(),
        ))
    }
}

/// The request the validator would send for `query`: DO set, AD set, CD clear, as
/// `DnssecDnsHandle::send` makes it (RFC 4035 §3.2, RFC 6840 §5.7).
fn validator_request(query: Query, options: DnsRequestOptions) -> DnsRequest {
    let mut request = DnsRequest::from_query(query, options);
    request.edns.get_or_insert_with(Edns::new).enable_dnssec();
    request.metadata.authentic_data = true;
    request.metadata.checking_disabled = false;
    request
}

/// `name` and every name above it, the root last, at most [`MAX_PREFETCH_NAMES`].
fn ancestors(name: &Name) -> Vec<Name> {
    let mut out = Vec::new();
    let mut current = name.clone();
    loop {
        if out.len() == MAX_PREFETCH_NAMES {
            break;
        }
        out.push(current.clone());
        if current.is_root() {
            break;
        }
        current = current.base_name();
    }
    out
}
