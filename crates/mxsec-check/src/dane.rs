//! The checker's DANE judgement of one presented chain against a TLSA RRset (RFC 7672 §3,
//! RFC 7671 §8): which records a sender can use, which of those match the chain, whether the
//! server is authenticated, and which kinds of record match nothing (DANE-TLSA-04).
//!
//! `mxsec check` applies it to the chain of every MX address, and `mxsec tlsa verify` to the
//! chain it is given or fetches, so the two never judge DANE differently. The rules
//! themselves are the senders' ones from `mxsec-proto` ([`classify`], [`evaluate`]).

use mxsec_proto::dane::matching::{evaluate, DaneEvaluation, ReferenceNames};
use mxsec_proto::dane::publish::RecordKind;
use mxsec_proto::dane::tlsa::TlsaRecord;
use mxsec_proto::dane::usable::{classify, DroppedRecord, RrsetUsability, UsableSet};
use rustls_pki_types::{CertificateDer, UnixTime};

/// What a TLSA RRset says about one presented chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainJudgement {
    /// The records a sender does not use, with the reason (RFC 7672 §3.1, RFC 7671 §9).
    pub dropped: Vec<DroppedRecord>,
    /// Whether any record is usable.
    pub usability: Usability,
    /// Every usable record against the chain; empty unless [`Usability::Usable`].
    pub evaluation: DaneEvaluation,
}

/// Whether a TLSA RRset has a record a sender can use (RFC 7672 §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usability {
    /// At least one usable record: DANE authentication is required (DANE-DISC-04).
    Usable,
    /// Records, none usable: TLS is required, without authentication (DANE-DISC-05).
    AllUnusable,
    /// No records.
    Empty,
}

impl ChainJudgement {
    /// Whether a usable record authenticates the server (DANE-AUTH-06: else a DANE sender
    /// does not deliver to it).
    pub fn authenticated(&self) -> bool {
        self.evaluation.verdict().is_ok()
    }

    /// Whether some usable record of `kind` matches the chain.
    pub fn kind_matches(&self, kind: RecordKind) -> bool {
        self.evaluation
            .records
            .iter()
            .any(|v| v.result.is_ok() && RecordKind::of(&v.record) == kind)
    }

    /// DANE-TLSA-04 (RFC 7671 §8): every (usage, selector, matching type) present must match
    /// the chain in service; a kind that matches nothing stands alone for a past or future
    /// chain. The kinds of usable record that match nothing, in RRset order.
    pub fn unmatched_kinds(&self) -> Vec<RecordKind> {
        let mut kinds: Vec<RecordKind> = Vec::new();
        for verdict in &self.evaluation.records {
            let kind = RecordKind::of(&verdict.record);
            if !kinds.contains(&kind) && !self.kind_matches(kind) {
                kinds.push(kind);
            }
        }
        kinds
    }
}

/// Judges `chain` (leaf first) against the TLSA `records` of a host, with the DANE-TA
/// reference `names`, at `now`.
pub fn judge_chain(
    records: &[TlsaRecord],
    chain: &[CertificateDer<'_>],
    names: &ReferenceNames,
    now: UnixTime,
) -> ChainJudgement {
    let classification = classify(records);
    let (usability, evaluation) = match &classification.usability {
        RrsetUsability::Usable(set) => (Usability::Usable, evaluate(chain, set, names, now)),
        RrsetUsability::AllUnusable => (Usability::AllUnusable, no_evaluation()),
        RrsetUsability::Empty => (Usability::Empty, no_evaluation()),
    };
    ChainJudgement {
        dropped: classification.dropped,
        usability,
        evaluation,
    }
}

/// Judges `chain` against the usable records of a host already classified.
pub(crate) fn judge_usable(
    set: &UsableSet,
    chain: &[CertificateDer<'_>],
    names: &ReferenceNames,
    now: UnixTime,
) -> ChainJudgement {
    ChainJudgement {
        dropped: Vec::new(),
        usability: Usability::Usable,
        evaluation: evaluate(chain, set, names, now),
    }
}

fn no_evaluation() -> DaneEvaluation {
    DaneEvaluation {
        records: Vec::new(),
    }
}
