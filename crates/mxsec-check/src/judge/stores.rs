//! PKIX-01: one certificate chain, two root stores.
//!
//! MTA-STS senders validate the MX host's chain (RFC 8461 §4.2) and the policy host's chain
//! (RFC 8461 §3.3) with RFC 5280 §6 path validation against *their* root store. Senders do not
//! share one: some ship Mozilla's program (`webpki-roots`, as mxsec does), most use their
//! operating system's bundle, and the two differ after every inclusion or distrust event.
//! The checker therefore validates each recorded chain against both, and speaks only when
//! they disagree: a chain both reject is already reported by the usual findings.
//!
//! | Mozilla's roots | OS store | answer |
//! |---|---|---|
//! | accept | accept | [`StoreAgreement::Agree`] |
//! | reject | reject | [`StoreAgreement::Agree`] (M-06, STS-FETCH-01 say why) |
//! | accept | reject | [`StoreAgreement::OnlyOne`] `Mozilla`: senders using the OS store fail (PKIX-01) |
//! | reject | accept | [`StoreAgreement::OnlyOne`] `OperatingSystem`: senders using Mozilla's roots fail (PKIX-01) |
//!
//! Both stores contain the `--ca-file` CAs; name checks do not depend on the store and are
//! left to the PKIX verdict.

use std::fmt;

use mxsec_proto::certificate::{self, ChainError};
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};

use super::context::{push, Context};
use crate::catalogue::FindingKind;
use crate::finding::{Finding, Subject};
use crate::observed::Observed;

/// One of the two root stores compared.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Store {
    /// Mozilla's root program as `webpki-roots` ships it (with any `--ca-file`): the store of
    /// the verdicts.
    Mozilla,
    /// The operating system's store (with any `--ca-file`).
    OperatingSystem,
}

impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Mozilla => "Mozilla's roots (webpki-roots)",
            Self::OperatingSystem => "the operating system's root store",
        })
    }
}

/// Whether the two stores agree on a chain.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum StoreAgreement {
    /// Both accept it, or both reject it.
    Agree,
    /// Only `accepts` validates the chain; the other store rejects it with `other`.
    OnlyOne {
        /// The store that accepts the chain.
        accepts: Store,
        /// Why the other store rejects it.
        other: ChainError,
    },
}

impl StoreAgreement {
    /// The finding's message for a disagreement, `None` when the stores agree.
    pub(crate) fn message(&self) -> Option<String> {
        let Self::OnlyOne { accepts, other } = self else {
            return None;
        };
        let rejects = match accepts {
            Store::Mozilla => Store::OperatingSystem,
            Store::OperatingSystem => Store::Mozilla,
        };
        Some(format!(
            "the chain is accepted by {accepts} and rejected by {rejects}: {other}"
        ))
    }
}

/// PKIX-01 for the chain each policy fetch recorded (the MX chains are compared where each
/// address is judged). Nothing without an OS store.
pub(super) fn policy_host(observed: &Observed, cx: &Context<'_>, findings: &mut Vec<Finding>) {
    let Some(os) = cx.os_roots else {
        return;
    };
    for outcome in observed
        .sts
        .fetches
        .iter()
        .filter_map(|f| f.outcome.as_ref())
    {
        if let Some(message) = compare(&outcome.chain, cx.roots, os, cx.now).message() {
            push(
                findings,
                FindingKind::PkixStoresDisagree,
                Subject::address(&outcome.host, outcome.address),
                format!("policy host: {message}"),
            );
        }
    }
}

/// Validates `chain` (leaf first) against both stores at `now` and compares the answers.
/// An empty chain has nothing to compare.
pub(crate) fn compare(
    chain: &[CertificateDer<'_>],
    mozilla: &[TrustAnchor<'_>],
    os: &[TrustAnchor<'_>],
    now: UnixTime,
) -> StoreAgreement {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return StoreAgreement::Agree;
    };
    agreement(
        certificate::validate_path(leaf, intermediates, mozilla, now),
        certificate::validate_path(leaf, intermediates, os, now),
    )
}

/// The table of the module documentation, over the two path validation results.
fn agreement(mozilla: Result<(), ChainError>, os: Result<(), ChainError>) -> StoreAgreement {
    match (mozilla, os) {
        (Ok(()), Err(other)) => StoreAgreement::OnlyOne {
            accepts: Store::Mozilla,
            other,
        },
        (Err(other), Ok(())) => StoreAgreement::OnlyOne {
            accepts: Store::OperatingSystem,
            other,
        },
        (Ok(()), Ok(())) | (Err(_), Err(_)) => StoreAgreement::Agree,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::SystemTime;

    use mxsec_net::trust::TrustConfig;
    use mxsec_testbed::pki::{CaCert, IssuedBy, LeafSpec, ServedChain, TestPki, Validity};

    use super::*;

    fn anchors(roots: &[&CaCert]) -> Vec<TrustAnchor<'static>> {
        roots
            .iter()
            .fold(TrustConfig::empty(), |trust, root| {
                trust
                    .add_ca_pem(Path::new("root.pem"), root.pem().as_bytes())
                    .unwrap()
            })
            .trust_anchors()
            .to_vec()
    }

    fn now(pki: &TestPki) -> UnixTime {
        UnixTime::since_unix_epoch(pki.now().duration_since(SystemTime::UNIX_EPOCH).unwrap())
    }

    fn chain(pki: &TestPki, spec: LeafSpec) -> Vec<CertificateDer<'static>> {
        pki.issue(&spec)
            .unwrap()
            .served_chain(ServedChain::LeafAndIntermediate)
    }

    fn spec() -> LeafSpec {
        LeafSpec::new(["mx.example.test"])
    }

    #[test]
    fn pkix_01_both_stores_accept_a_chain_to_a_shared_root() {
        let pki = TestPki::generate(SystemTime::now()).unwrap();
        // The testbed root is a --ca-file: in both stores.
        let mozilla = anchors(&[pki.root()]);
        let os = anchors(&[pki.os_store_root(), pki.root()]);
        let c = chain(&pki, spec());
        assert_eq!(compare(&c, &mozilla, &os, now(&pki)), StoreAgreement::Agree);
        assert_eq!(StoreAgreement::Agree.message(), None);
    }

    #[test]
    fn pkix_01_only_the_os_store_accepts() {
        let pki = TestPki::generate(SystemTime::now()).unwrap();
        let mozilla = anchors(&[pki.root()]);
        let os = anchors(&[pki.os_store_root(), pki.root()]);
        let c = chain(&pki, spec().issued_by(IssuedBy::OsStoreRoot));
        let got = compare(&c, &mozilla, &os, now(&pki));
        assert_eq!(
            got,
            StoreAgreement::OnlyOne {
                accepts: Store::OperatingSystem,
                other: ChainError::UnknownIssuer,
            }
        );
        let message = got.message().unwrap();
        assert!(
            message.starts_with(
                "the chain is accepted by the operating system's root store and rejected by \
                 Mozilla's roots (webpki-roots): the chain does not lead"
            ),
            "{message}"
        );
    }

    #[test]
    fn pkix_01_only_mozilla_accepts() {
        let pki = TestPki::generate(SystemTime::now()).unwrap();
        let mozilla = anchors(&[pki.root()]);
        let os = anchors(&[pki.os_store_root()]);
        let c = chain(&pki, spec().issued_by(IssuedBy::IntermediateB));
        let got = compare(&c, &mozilla, &os, now(&pki));
        assert_eq!(
            got,
            StoreAgreement::OnlyOne {
                accepts: Store::Mozilla,
                other: ChainError::UnknownIssuer,
            }
        );
        assert!(got
            .message()
            .unwrap()
            .starts_with("the chain is accepted by Mozilla's roots (webpki-roots) and rejected by the operating system's root store"));
    }

    #[test]
    fn pkix_01_chains_both_reject_are_left_to_the_other_findings() {
        let pki = TestPki::generate(SystemTime::now()).unwrap();
        let mozilla = anchors(&[pki.root()]);
        let os = anchors(&[pki.os_store_root(), pki.root()]);
        for c in [
            chain(&pki, spec().issued_by(IssuedBy::SelfSigned)),
            chain(&pki, spec().validity(Validity::Expired)),
            pki.issue(&spec())
                .unwrap()
                .served_chain(ServedChain::LeafOnly),
            Vec::new(),
        ] {
            assert_eq!(compare(&c, &mozilla, &os, now(&pki)), StoreAgreement::Agree);
        }
    }

    #[test]
    fn pkix_01_an_expired_chain_is_not_blamed_on_a_store() {
        let pki = TestPki::generate(SystemTime::now()).unwrap();
        let mozilla = anchors(&[pki.root()]);
        let os = anchors(&[pki.os_store_root(), pki.root()]);
        // Trusted by the OS store only, and expired: the OS store rejects it too.
        let c = chain(
            &pki,
            spec()
                .issued_by(IssuedBy::OsStoreRoot)
                .validity(Validity::Expired),
        );
        assert_eq!(compare(&c, &mozilla, &os, now(&pki)), StoreAgreement::Agree);
    }
}
