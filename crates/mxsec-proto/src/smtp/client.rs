//! The STARTTLS dialogue (RFC 3207) as a state machine without I/O.
//!
//! [`Client`] knows nothing of sockets, TLS libraries or clocks. The caller reads replies
//! (with [`super::reply::ReplyParser`]), writes commands, performs the TLS handshake when told
//! to, and applies its own timeouts. The methods follow quinn-proto's naming: `handle_*` feed
//! an input in, [`poll`](Client::poll) says what to do next.
//!
//! ```text
//!  banner 220 ─► EHLO ─► 250 + STARTTLS (or masked keyword) ─► STARTTLS ─► 220 ─► TLS
//!      │           │            │ no keyword                        │ 4xx/5xx      │
//!      ▼           ▼            ▼                                   ▼              ▼
//!  BannerRefused EhloRefused NotOffered        StartTlsUnavailable/Refused/Masked  EHLO ─► QUIT
//! ```
//!
//! Every path that leaves the session open ends with `QUIT` (RFC 5321 §4.1.1.10), except after
//! `421`/`221` (the server is closing the channel, §3.8) and after a failed handshake.
//!
//! ```
//! use mxsec_proto::name::DomainName;
//! use mxsec_proto::smtp::client::{Client, Command, Next, Outcome};
//! use mxsec_proto::smtp::reply::Reply;
//!
//! let mut client = Client::new(DomainName::parse("probe.example").unwrap());
//! let mut script = [
//!     &b"220 mx.example.net ESMTP\r\n"[..],
//!     b"250-mx.example.net\r\n250 STARTTLS\r\n",
//!     b"220 2.0.0 Ready to start TLS\r\n",
//!     b"250-mx.example.net\r\n250 PIPELINING\r\n",
//!     b"221 2.0.0 Bye\r\n",
//! ]
//! .into_iter();
//! loop {
//!     match client.poll() {
//!         Next::Send(command) => { /* write command.to_wire() */ }
//!         Next::ReadReply => {
//!             let reply = Reply::parse(script.next().unwrap()).unwrap();
//!             client.handle_reply(reply).unwrap();
//!         }
//!         Next::StartTls => { /* TLS handshake */ client.handle_tls_established().unwrap() }
//!         Next::Done => break,
//!     }
//! }
//! assert!(matches!(client.outcome(), Some(Outcome::Tls { .. })));
//! assert_eq!(client.outcome().unwrap().starttls_advertised_after_tls(), Some(false));
//! ```

use std::fmt;

use super::ehlo::EhloResponse;
use super::greeting::Greeting;
use super::reply::{Reply, ReplyClass};
use crate::name::DomainName;
use crate::tlsrpt::result_type::ResultType;

/// The client side of an SMTP session up to and through STARTTLS.
#[derive(Clone, Debug)]
pub struct Client {
    ehlo_name: DomainName,
    state: State,
    outcome: Option<Outcome>,
    greeting: Option<Greeting>,
}

/// What the caller should do next, as [`Client::poll`] says.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Next {
    /// Write this command, then poll again.
    Send(Command),
    /// Read one complete reply and pass it to [`Client::handle_reply`] (or, if the connection
    /// ends first, call [`Client::handle_closed`]).
    ReadReply,
    /// Start the TLS handshake on the connection now, then call
    /// [`Client::handle_tls_established`], [`Client::handle_tls_insufficient`] or
    /// [`Client::handle_tls_failed`]. Discard anything buffered from before the handshake
    /// (RFC 3207 §4.2, STT-06).
    StartTls,
    /// The dialogue is over: read [`Client::outcome`] and close the connection.
    Done,
}

/// A command the client sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `EHLO <domain>` (RFC 5321 §4.1.1.1).
    Ehlo(DomainName),
    /// `STARTTLS`, without parameters (RFC 3207 §4, STT-01).
    StartTls,
    /// `QUIT` (RFC 5321 §4.1.1.10).
    Quit,
}

/// How the EHLO response before TLS announced STARTTLS.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Advertisement {
    /// The `STARTTLS` keyword was advertised.
    Offered,
    /// No `STARTTLS`, but a keyword of the shape a middlebox leaves when it masks it, such as
    /// `XXXXXXXA` (SCENARIOS.md T-01, STT-05); STARTTLS was sent anyway to confirm.
    MaskedKeyword {
        /// The keyword as advertised.
        keyword: String,
    },
}

/// How the dialogue ended.
///
/// Every variant past the banner carries the EHLO response before TLS, which an active
/// attacker can modify (RFC 3207 §6, STT-05): it is evidence, not truth.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
#[non_exhaustive]
pub enum Outcome {
    /// The greeting was not `220` (RFC 5321 §3.1, §4.3.2: `554` no service, `421` closing).
    BannerRefused {
        /// The greeting.
        reply: Reply,
    },
    /// EHLO was answered other than `250`.
    ///
    /// mxsec does not fall back to HELO (RFC 5321 §4.1.4 allows it): HELO offers no service
    /// extensions, so the session could not reach STARTTLS (RFC 3207 §4) either way, and the
    /// answer to "is STARTTLS available" is the same: no.
    EhloRefused {
        /// The reply to EHLO.
        reply: Reply,
    },
    /// EHLO succeeded without `STARTTLS` or any masked-looking keyword (STT-01), so STARTTLS
    /// was not sent.
    NotOffered {
        /// The EHLO response.
        ehlo: EhloResponse,
    },
    /// STARTTLS is hidden by a middlebox (SCENARIOS.md T-01, STT-01, STT-05): the command was
    /// answered `500` (command unrecognised, RFC 5321 §4.2.4), after either a masked keyword
    /// such as `XXXXXXXA` or a `STARTTLS` keyword whose command the path does not let through.
    Masked {
        /// The EHLO response.
        ehlo: EhloResponse,
        /// What the EHLO response showed.
        advertisement: Advertisement,
        /// The reply to STARTTLS.
        reply: Reply,
    },
    /// STARTTLS was answered with a transient failure, usually `454 TLS not available due to
    /// temporary reason` (RFC 3207 §4, STT-01).
    StartTlsUnavailable {
        /// The EHLO response.
        ehlo: EhloResponse,
        /// What the EHLO response showed.
        advertisement: Advertisement,
        /// The reply to STARTTLS.
        reply: Reply,
    },
    /// STARTTLS was answered with a permanent failure other than `500` (for example `501`
    /// syntax error, `502` not implemented, `554`) or with an unexpected positive code.
    StartTlsRefused {
        /// The EHLO response.
        ehlo: EhloResponse,
        /// What the EHLO response showed.
        advertisement: Advertisement,
        /// The reply to STARTTLS.
        reply: Reply,
    },
    /// STARTTLS was accepted (`220`) but the caller reported the TLS handshake failed.
    TlsFailed {
        /// The EHLO response before TLS.
        ehlo: EhloResponse,
        /// What the EHLO response showed.
        advertisement: Advertisement,
    },
    /// STARTTLS was accepted (`220`) and TLS established.
    Tls {
        /// The EHLO response before TLS.
        ehlo: EhloResponse,
        /// What the EHLO response before TLS showed.
        advertisement: Advertisement,
        /// What happened inside TLS.
        after_tls: AfterTls,
    },
    /// The server closed the connection before the dialogue ended.
    Closed {
        /// What the client was waiting for.
        stage: Stage,
    },
}

/// What happened after the TLS handshake (RFC 3207 §4.2, STT-03).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum AfterTls {
    /// EHLO was sent again and accepted.
    Ehlo {
        /// The EHLO response inside TLS.
        ehlo: EhloResponse,
    },
    /// EHLO inside TLS was answered other than `250`.
    EhloRefused {
        /// The reply.
        reply: Reply,
    },
    /// The caller judged the session insufficient and sent QUIT at once (STT-04).
    QuitAtOnce,
    /// The server closed the connection before answering EHLO.
    Closed,
}

/// Where in the dialogue the server closed the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Waiting for the greeting.
    Banner,
    /// Waiting for the reply to EHLO.
    Ehlo,
    /// Waiting for the reply to STARTTLS.
    StartTls,
    /// During the TLS handshake.
    TlsHandshake,
}

/// A call that does not fit the state of the dialogue: a bug in the caller, or a server that
/// sent a reply nobody asked for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A reply arrived when none was expected (the last poll was not [`Next::ReadReply`]).
    #[error("unexpected SMTP reply {reply} while {state}")]
    UnexpectedReply {
        /// What the client was doing.
        state: &'static str,
        /// The reply, for the message.
        reply: Box<Reply>,
    },
    /// A TLS result was reported when no handshake was asked for ([`Next::StartTls`]).
    #[error("TLS handshake result reported while {state}")]
    NotInHandshake {
        /// What the client was doing.
        state: &'static str,
    },
}

#[derive(Clone, Debug)]
enum State {
    AwaitBanner,
    SendEhlo,
    AwaitEhlo,
    SendStartTls(PreTls),
    AwaitStartTls(PreTls),
    Handshake(PreTls),
    SendEhloAfterTls(PreTls),
    AwaitEhloAfterTls(PreTls),
    SendQuit,
    AwaitQuit,
    Done,
}

/// What the EHLO response before TLS showed; the states from STARTTLS on carry it.
#[derive(Clone, Debug)]
struct PreTls {
    ehlo: EhloResponse,
    advertisement: Advertisement,
}

impl Client {
    /// A client at the start of a connection, waiting for the greeting; `ehlo_name` is the
    /// domain it announces in EHLO.
    pub fn new(ehlo_name: DomainName) -> Self {
        Self {
            ehlo_name,
            state: State::AwaitBanner,
            outcome: None,
            greeting: None,
        }
    }

    /// What to do next. Polling again without handling an input returns the same answer, except
    /// that a [`Next::Send`] is returned once.
    pub fn poll(&mut self) -> Next {
        let (next, state) = match std::mem::replace(&mut self.state, State::Done) {
            State::SendEhlo => (
                Next::Send(Command::Ehlo(self.ehlo_name.clone())),
                State::AwaitEhlo,
            ),
            State::SendStartTls(pre) => (Next::Send(Command::StartTls), State::AwaitStartTls(pre)),
            State::SendEhloAfterTls(pre) => (
                Next::Send(Command::Ehlo(self.ehlo_name.clone())),
                State::AwaitEhloAfterTls(pre),
            ),
            State::SendQuit => (Next::Send(Command::Quit), State::AwaitQuit),
            State::Handshake(pre) => (Next::StartTls, State::Handshake(pre)),
            State::Done => (Next::Done, State::Done),
            waiting => (Next::ReadReply, waiting),
        };
        self.state = state;
        next
    }

    /// Takes the reply to the greeting or to the last command sent.
    ///
    /// # Errors
    ///
    /// [`ClientError::UnexpectedReply`] when no reply was awaited; the state is unchanged.
    pub fn handle_reply(&mut self, reply: Reply) -> Result<(), ClientError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitBanner => {
                self.greeting = Some(Greeting::from_reply(&reply));
                if reply.code().get() == 220 {
                    self.state = State::SendEhlo;
                } else {
                    self.finish_after(
                        &reply,
                        Outcome::BannerRefused {
                            reply: reply.clone(),
                        },
                    );
                }
            }
            State::AwaitEhlo => self.handle_ehlo(reply),
            State::AwaitStartTls(pre) => self.handle_starttls(pre, reply),
            State::AwaitEhloAfterTls(pre) => {
                let after_tls = match EhloResponse::from_reply(&reply) {
                    Ok(ehlo) => AfterTls::Ehlo { ehlo },
                    Err(_) => AfterTls::EhloRefused {
                        reply: reply.clone(),
                    },
                };
                self.finish_after(&reply, pre.into_tls_outcome(after_tls));
            }
            State::AwaitQuit => self.state = State::Done,
            other => {
                let state = other.describe();
                self.state = other;
                return Err(ClientError::UnexpectedReply {
                    state,
                    reply: Box::new(reply),
                });
            }
        }
        Ok(())
    }

    /// The TLS handshake completed and the session goes on: EHLO again (RFC 3207 §4.2,
    /// STT-03), then QUIT.
    ///
    /// # Errors
    ///
    /// [`ClientError::NotInHandshake`] unless the last poll was [`Next::StartTls`].
    pub fn handle_tls_established(&mut self) -> Result<(), ClientError> {
        let pre = self.take_handshake()?;
        self.state = State::SendEhloAfterTls(pre);
        Ok(())
    }

    /// The TLS handshake completed but gave less security than the caller requires: send QUIT
    /// at once (RFC 3207 §4.1, STT-04).
    ///
    /// # Errors
    ///
    /// [`ClientError::NotInHandshake`] unless the last poll was [`Next::StartTls`].
    pub fn handle_tls_insufficient(&mut self) -> Result<(), ClientError> {
        let pre = self.take_handshake()?;
        self.outcome = Some(pre.into_tls_outcome(AfterTls::QuitAtOnce));
        self.state = State::SendQuit;
        Ok(())
    }

    /// The TLS handshake failed; the connection is unusable and is not spoken to again.
    ///
    /// # Errors
    ///
    /// [`ClientError::NotInHandshake`] unless the last poll was [`Next::StartTls`].
    pub fn handle_tls_failed(&mut self) -> Result<(), ClientError> {
        let pre = self.take_handshake()?;
        self.outcome = Some(Outcome::TlsFailed {
            ehlo: pre.ehlo,
            advertisement: pre.advertisement,
        });
        self.state = State::Done;
        Ok(())
    }

    /// The connection ended (end of stream or an I/O error) before the dialogue did.
    ///
    /// An outcome already reached stands; otherwise the outcome is [`Outcome::Closed`], or
    /// [`AfterTls::Closed`] when TLS had been established.
    pub fn handle_closed(&mut self) {
        let state = std::mem::replace(&mut self.state, State::Done);
        if self.outcome.is_some() {
            return;
        }
        let stage = match state {
            State::SendEhloAfterTls(pre) | State::AwaitEhloAfterTls(pre) => {
                self.outcome = Some(pre.into_tls_outcome(AfterTls::Closed));
                return;
            }
            State::AwaitBanner => Stage::Banner,
            State::SendEhlo | State::AwaitEhlo => Stage::Ehlo,
            State::SendStartTls(_) | State::AwaitStartTls(_) => Stage::StartTls,
            State::Handshake(_) => Stage::TlsHandshake,
            // These states only follow a recorded outcome.
            State::SendQuit | State::AwaitQuit | State::Done => return,
        };
        self.outcome = Some(Outcome::Closed { stage });
    }

    /// The outcome, once the dialogue has reached one (possibly before QUIT is sent).
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The server's greeting, whole and bounded ([`Greeting`]), once it has arrived: the
    /// `220` of a server ready to talk, or the refusal (RFC 5321 §3.1, §4.2).
    pub fn greeting(&self) -> Option<&Greeting> {
        self.greeting.as_ref()
    }

    /// The outcome, consuming the client.
    pub fn into_outcome(self) -> Option<Outcome> {
        self.outcome
    }

    fn handle_ehlo(&mut self, reply: Reply) {
        let Ok(ehlo) = EhloResponse::from_reply(&reply) else {
            self.finish_after(
                &reply,
                Outcome::EhloRefused {
                    reply: reply.clone(),
                },
            );
            return;
        };
        let advertisement = if ehlo.offers_starttls() {
            Some(Advertisement::Offered)
        } else {
            ehlo.masked_starttls()
                .map(|keyword| Advertisement::MaskedKeyword {
                    keyword: keyword.to_owned(),
                })
        };
        match advertisement {
            Some(advertisement) => {
                self.state = State::SendStartTls(PreTls {
                    ehlo,
                    advertisement,
                });
            }
            None => self.finish_after(&reply, Outcome::NotOffered { ehlo }),
        }
    }

    fn handle_starttls(&mut self, pre: PreTls, reply: Reply) {
        if reply.code().get() == 220 {
            self.state = State::Handshake(pre);
            return;
        }
        let PreTls {
            ehlo,
            advertisement,
        } = pre;
        let code = reply.code();
        let closing = reply.clone();
        let outcome = if code.get() == 500 {
            Outcome::Masked {
                ehlo,
                advertisement,
                reply,
            }
        } else if code.class() == ReplyClass::TransientNegative {
            Outcome::StartTlsUnavailable {
                ehlo,
                advertisement,
                reply,
            }
        } else {
            Outcome::StartTlsRefused {
                ehlo,
                advertisement,
                reply,
            }
        };
        self.finish_after(&closing, outcome);
    }

    /// Records the outcome; QUIT follows unless `reply` says the server is closing.
    fn finish_after(&mut self, reply: &Reply, outcome: Outcome) {
        self.outcome = Some(outcome);
        self.state = if matches!(reply.code().get(), 221 | 421) {
            State::Done
        } else {
            State::SendQuit
        };
    }

    fn take_handshake(&mut self) -> Result<PreTls, ClientError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Handshake(pre) => Ok(pre),
            other => {
                let state = other.describe();
                self.state = other;
                Err(ClientError::NotInHandshake { state })
            }
        }
    }
}

impl PreTls {
    fn into_tls_outcome(self, after_tls: AfterTls) -> Outcome {
        Outcome::Tls {
            ehlo: self.ehlo,
            advertisement: self.advertisement,
            after_tls,
        }
    }
}

impl Command {
    /// The command line as sent, CRLF included.
    pub fn to_wire(&self) -> Vec<u8> {
        format!("{self}\r\n").into_bytes()
    }
}

impl fmt::Display for Command {
    /// The command line without its CRLF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ehlo(name) => write!(f, "EHLO {name}"),
            Self::StartTls => f.write_str("STARTTLS"),
            Self::Quit => f.write_str("QUIT"),
        }
    }
}

impl Outcome {
    /// Whether the server accepted STARTTLS (`220`), whatever became of the handshake.
    pub fn starttls_accepted(&self) -> bool {
        matches!(self, Self::Tls { .. } | Self::TlsFailed { .. })
    }

    /// Whether STARTTLS was masked, either in the EHLO response or by a `500` to the command
    /// (SCENARIOS.md T-01).
    pub fn is_masked(&self) -> bool {
        match self {
            Self::Masked { .. } => true,
            Self::StartTlsUnavailable { advertisement, .. }
            | Self::StartTlsRefused { advertisement, .. }
            | Self::TlsFailed { advertisement, .. }
            | Self::Tls { advertisement, .. } => {
                matches!(advertisement, Advertisement::MaskedKeyword { .. })
            }
            _ => false,
        }
    }

    /// Whether `STARTTLS` was advertised again inside TLS, which RFC 3207 §4.2 forbids
    /// (STT-03); `None` when no EHLO response inside TLS was received.
    pub fn starttls_advertised_after_tls(&self) -> Option<bool> {
        match self {
            Self::Tls {
                after_tls: AfterTls::Ehlo { ehlo },
                ..
            } => Some(ehlo.offers_starttls()),
            _ => None,
        }
    }

    /// The RFC 8460 §4.3.2.1 result type when the outcome alone proves a TLS failure: every
    /// way STARTTLS could not be used is `starttls-not-supported`. `None` for sessions that
    /// reached TLS (their certificate verdict decides), and for a refused banner or a closed
    /// connection, which are not TLS failures.
    pub fn result_type(&self) -> Option<ResultType> {
        match self {
            Self::EhloRefused { .. }
            | Self::NotOffered { .. }
            | Self::Masked { .. }
            | Self::StartTlsUnavailable { .. }
            | Self::StartTlsRefused { .. } => Some(ResultType::StarttlsNotSupported),
            _ => None,
        }
    }
}

impl State {
    fn describe(&self) -> &'static str {
        match self {
            Self::AwaitBanner => "waiting for the greeting",
            Self::SendEhlo | Self::SendEhloAfterTls(_) => "about to send EHLO",
            Self::AwaitEhlo => "waiting for the EHLO reply",
            Self::SendStartTls(_) => "about to send STARTTLS",
            Self::AwaitStartTls(_) => "waiting for the STARTTLS reply",
            Self::Handshake(_) => "in the TLS handshake",
            Self::AwaitEhloAfterTls(_) => "waiting for the EHLO reply inside TLS",
            Self::SendQuit => "about to send QUIT",
            Self::AwaitQuit => "waiting for the QUIT reply",
            Self::Done => "done",
        }
    }
}

#[cfg(test)]
mod tests;
