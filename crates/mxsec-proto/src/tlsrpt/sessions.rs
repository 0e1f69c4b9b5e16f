//! From Postfix log events to TLS sessions (RFC 8460 §4.4 counts sessions, not messages).
//!
//! One `smtp(8)` process delivers one message at a time and logs, for each connection, the
//! verification error (if any) and the `… TLS connection established` line before the
//! outcome; the recipient, and so the policy domain, appears only in the final
//! `to=<…>, relay=…, status=…` lines. [`SessionTracker`] keeps, per process, the connection
//! in progress and the failed attempts of the message it is delivering, and emits a
//! [`Session`] once its domain is known:
//!
//! - a session is counted once, however many recipients share it, and a connection reused
//!   from the cache (`conn_use=2` and later, or a second message over the same TLS
//!   connection) is not a new session;
//! - a delivery that made no connection (`relay=none`: DNS or connection failures) is no
//!   session, as transient network failures need not be reported (RPT-RES-05);
//! - a TLS policy lookup warning (`TLSA lookup error`, `dane-only` with no TLSA) is a failed
//!   session for its destination at once: Postfix made no connection because of it.
//!
//! - report mails are no sessions to report on (RFC 8460 §5.3.1; RPT-DEL-04): lines of a
//!   program with a [`REPORT_SERVICE`] component before its own name (`postfix/tlsrpt/smtp`,
//!   the `syslog_name` of a `tlsrpt` transport in `master.cf`) are skipped, and so are the
//!   deliveries of messages whose envelope sender (the queue manager's `from=<…>` line) is the
//!   report sender given to [`SessionTracker::skipping_sender`].
//!
//! State is bounded: at most [`MAX_PROCESSES`] processes, [`MAX_WAITING`] attempts each,
//! [`MAX_REPORT_QUEUE_IDS`] queue ids of report mails; the oldest is forgotten first.

use std::collections::{BTreeMap, VecDeque};

use crate::name::DomainName;

use super::postfix_log::{Event, LogLine, LogTime, Process, Relay, TlsFailure, Trust};

/// The most processes followed at once.
pub const MAX_PROCESSES: usize = 4096;
/// The most failed attempts kept per process while its message's recipient is unknown.
pub const MAX_WAITING: usize = 64;
/// The most queue ids of report mails remembered.
pub const MAX_REPORT_QUEUE_IDS: usize = 1024;
/// The `syslog_name` component that marks the transport of report mails:
/// `-o syslog_name=postfix/tlsrpt` logs as `postfix/tlsrpt/smtp`.
pub const REPORT_SERVICE: &str = "tlsrpt";

/// How one session went, before any policy is applied to it.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum SessionOutcome {
    /// TLS was established and Postfix's checks, if any, passed.
    Tls {
        /// What Postfix made of the certificate.
        trust: Trust,
        /// The verification error Postfix logged, if it was not `Verified` (at the `may`
        /// level, an untrusted chain does not stop delivery).
        verify: Option<TlsFailure>,
    },
    /// The session went on without TLS.
    Plaintext,
    /// TLS was required and failed, or a policy lookup stopped the session.
    Failed(TlsFailure),
}

/// One session, with its recipient domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// When it ended (the time of the line that completed it).
    pub time: LogTime,
    /// The recipient domain (Postfix's next-hop destination).
    pub domain: DomainName,
    /// The MX host name.
    pub mx_host: String,
    /// The server, when Postfix connected.
    pub relay: Option<Relay>,
    /// How it went.
    pub outcome: SessionOutcome,
}

/// The connection a process has open.
#[derive(Clone, Debug)]
struct Connection {
    relay: Relay,
    trust: Option<Trust>,
    verify: Option<TlsFailure>,
    /// Already counted (a later recipient or message uses the same session).
    counted: bool,
}

/// A failed attempt waiting for its message's recipient domain.
#[derive(Clone, Debug)]
struct Waiting {
    queue_id: String,
    time: LogTime,
    relay: Option<Relay>,
    failure: TlsFailure,
}

#[derive(Clone, Debug, Default)]
struct ProcessState {
    connection: Option<Connection>,
    waiting: VecDeque<Waiting>,
    /// For eviction: the sequence number of the last line.
    last_seen: u64,
}

/// Joins log events into sessions; see the module documentation.
#[derive(Clone, Debug, Default)]
pub struct SessionTracker {
    processes: BTreeMap<Process, ProcessState>,
    seq: u64,
    /// The envelope sender of report mails, lower case.
    report_sender: Option<String>,
    /// Queue ids of report mails, oldest first.
    report_queue_ids: VecDeque<String>,
}

impl SessionTracker {
    /// A tracker that knows no process yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Leaves out the sessions of messages from `sender` (the `From` of report mails),
    /// compared without regard to case.
    #[must_use]
    pub fn skipping_sender(mut self, sender: &str) -> Self {
        self.report_sender = Some(sender.to_ascii_lowercase());
        self
    }

    /// Forgets every process's state (another log file begins), keeping the report sender
    /// and the queue ids of report mails.
    pub fn forget_processes(&mut self) {
        self.processes.clear();
    }

    /// Takes one log line; returns the sessions it completes.
    pub fn handle(&mut self, line: LogLine) -> Vec<Session> {
        if is_report_service(&line.process.program) {
            return Vec::new();
        }
        if let Event::Sender { queue_id, sender } = &line.event {
            if self.report_sender.as_deref() == Some(sender.as_str())
                && !self.report_queue_ids.contains(queue_id)
            {
                if self.report_queue_ids.len() >= MAX_REPORT_QUEUE_IDS {
                    self.report_queue_ids.pop_front();
                }
                self.report_queue_ids.push_back(queue_id.clone());
            }
            return Vec::new();
        }
        self.seq += 1;
        let seq = self.seq;
        if !self.processes.contains_key(&line.process) && self.processes.len() >= MAX_PROCESSES {
            self.evict();
        }
        let state = self.processes.entry(line.process).or_default();
        state.last_seen = seq;
        let time = line.time;
        match line.event {
            Event::VerifyFailed { relay, failure } => {
                state.connection = Some(Connection {
                    relay,
                    trust: None,
                    verify: Some(failure),
                    counted: false,
                });
                Vec::new()
            }
            Event::TlsEstablished { relay, trust } => {
                match &mut state.connection {
                    Some(c) if c.relay == relay && c.trust.is_none() && !c.counted => {
                        c.trust = Some(trust);
                    }
                    _ => {
                        state.connection = Some(Connection {
                            relay,
                            trust: Some(trust),
                            verify: None,
                            counted: false,
                        });
                    }
                }
                Vec::new()
            }
            Event::AttemptFailed { queue_id, .. } if self.report_queue_ids.contains(&queue_id) => {
                state.connection = None;
                Vec::new()
            }
            Event::AttemptFailed {
                queue_id,
                relay,
                failure,
            } => {
                let connection = state.connection.take();
                let (relay, failure) = match connection {
                    Some(c) if relay.as_ref().is_none_or(|r| *r == c.relay) => {
                        let failure = refine(failure, c.verify);
                        (Some(c.relay), failure)
                    }
                    _ => (relay, failure),
                };
                if state.waiting.len() >= MAX_WAITING {
                    state.waiting.pop_front();
                }
                state.waiting.push_back(Waiting {
                    queue_id,
                    time,
                    relay,
                    failure,
                });
                Vec::new()
            }
            Event::PolicyFailed {
                destination,
                host,
                failure,
            } => {
                let (Some(failure), Ok(domain)) = (failure, DomainName::parse(&destination)) else {
                    return Vec::new();
                };
                vec![Session {
                    time,
                    domain,
                    mx_host: host,
                    relay: None,
                    outcome: SessionOutcome::Failed(failure),
                }]
            }
            Event::Delivery {
                queue_id, relay, ..
            } if self.report_queue_ids.contains(&queue_id) => {
                state.waiting.retain(|w| w.queue_id != queue_id);
                match (&mut state.connection, relay) {
                    // A later message over this connection is no new session either.
                    (Some(c), Some(relay)) if c.relay == relay => c.counted = true,
                    _ => state.connection = None,
                }
                Vec::new()
            }
            Event::Sender { .. } => Vec::new(),
            Event::Delivery {
                queue_id,
                domain,
                relay,
                conn_use,
                status: _,
                failure,
            } => {
                let mut sessions = Vec::new();
                let mut kept = VecDeque::with_capacity(state.waiting.len());
                for w in state.waiting.drain(..) {
                    if w.queue_id == queue_id {
                        sessions.push(Session {
                            time: w.time,
                            domain: domain.clone(),
                            mx_host: w.relay.as_ref().map(|r| r.host.clone()).unwrap_or_default(),
                            relay: w.relay,
                            outcome: SessionOutcome::Failed(w.failure),
                        });
                    } else {
                        kept.push_back(w);
                    }
                }
                state.waiting = kept;
                let Some(relay) = relay else {
                    return sessions;
                };
                let outcome = match &mut state.connection {
                    Some(c) if c.relay == relay => {
                        if c.counted {
                            None
                        } else {
                            c.counted = true;
                            Some(match (failure, c.trust) {
                                (Some(f), _) => SessionOutcome::Failed(refine(f, c.verify.clone())),
                                (None, Some(trust)) => SessionOutcome::Tls {
                                    trust,
                                    verify: c.verify.clone(),
                                },
                                (None, None) => c
                                    .verify
                                    .clone()
                                    .map_or(SessionOutcome::Plaintext, SessionOutcome::Failed),
                            })
                        }
                    }
                    _ => {
                        state.connection = None;
                        match failure {
                            Some(f) => Some(SessionOutcome::Failed(f)),
                            None if conn_use > 1 => None,
                            // Delivered, or refused by the server, in plaintext.
                            None => Some(SessionOutcome::Plaintext),
                        }
                    }
                };
                if let Some(outcome) = outcome {
                    sessions.push(Session {
                        time,
                        domain,
                        mx_host: relay.host.clone(),
                        relay: Some(relay),
                        outcome,
                    });
                }
                sessions
            }
        }
    }

    /// Forgets the process seen least recently.
    fn evict(&mut self) {
        if let Some(oldest) = self
            .processes
            .iter()
            .min_by_key(|(_, s)| s.last_seen)
            .map(|(p, _)| p.clone())
        {
            self.processes.remove(&oldest);
        }
    }
}

/// Whether `program` (`postfix/tlsrpt/smtp`) is the transport of report mails: a
/// [`REPORT_SERVICE`] component before the program's own name.
fn is_report_service(program: &str) -> bool {
    let mut components = program.rsplit('/');
    components.next();
    components.any(|c| c == REPORT_SERVICE)
}

/// `Server certificate not verified` says less than the verification error logged before it.
fn refine(failure: TlsFailure, verify: Option<TlsFailure>) -> TlsFailure {
    match (failure, verify) {
        (TlsFailure::NotVerified, Some(v)) => v,
        (f, _) => f,
    }
}

#[cfg(test)]
mod tests;
