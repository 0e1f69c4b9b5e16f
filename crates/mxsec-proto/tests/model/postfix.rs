//! A model of Postfix applying one TLS policy answer, played against an on-path attacker.
//!
//! Written from POSTFIX.md §4.2 and §4.5 alone, independently of `mxsec_proto::decision`: it
//! reads the socketmap reply as Postfix does and says, for one MX host that Postfix may
//! connect to, whether the attacker gets the message, and whether an honest host gets it.
//!
//! Postfix's levels, as they act per MX host (§4.5):
//!
//! | level | host with usable TLSA | TLSA, none usable | no TLSA | TLSA lookup fails |
//! |---|---|---|---|---|
//! | `dane-only` | DANE | skipped | skipped | skipped |
//! | `dane` | DANE | TLS, no authentication | opportunistic | skipped |
//! | `encrypt` | TLS, no authentication | same | same | same |
//! | `secure match=…` | PKIX for a `match=` name | same | same | same |
//! | `NOTFOUND ` | Postfix's default level, taken as `may`: the answer alone must protect | | | |
//! | `TEMP` | deferred | | | |
//!
//! The attacker is on the path to every host: they strip STARTTLS, and present any
//! certificate that is neither PKIX-valid for a name of the victim's nor matched by the
//! victim's secure TLSA. They hold a signed zone of their own, so a host of theirs can have
//! usable TLSA and a PKIX certificate for its own name. Where the MX RRset is not
//! DNSSEC-secure, they can make Postfix see such a host as an MX.
//!
//! Shared by the `never_downgrade` test and the `decision` fuzz target, which each use part
//! of it.

#![allow(dead_code)]

/// Postfix's policy for one next hop, as read from a socketmap reply payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// `NOTFOUND `: Postfix's default, taken as `may`.
    NotFound,
    /// `TEMP …`: the delivery is deferred.
    Temp,
    /// `OK dane`.
    Dane,
    /// `OK dane-only`.
    DaneOnly,
    /// `OK encrypt`.
    Encrypt,
    /// `OK secure match=a:b`: the `match=` names as written (`host` or `.domain`).
    Secure(Vec<String>),
}

impl Level {
    /// Reads a socketmap reply payload. Panics on a reply Postfix would not act on as a
    /// policy: the model is a test oracle.
    pub(crate) fn parse(payload: &str) -> Self {
        if payload == "NOTFOUND " {
            return Self::NotFound;
        }
        if payload.starts_with("TEMP ") {
            return Self::Temp;
        }
        let policy = payload
            .strip_prefix("OK ")
            .unwrap_or_else(|| panic!("not a socketmap policy reply: {payload:?}"));
        let mut words = policy.split_whitespace();
        match words.next() {
            Some("dane") => Self::Dane,
            Some("dane-only") => Self::DaneOnly,
            Some("encrypt") => Self::Encrypt,
            Some("secure") => {
                let names = words
                    .find_map(|w| w.strip_prefix("match="))
                    .unwrap_or_else(|| panic!("secure without match=: {payload:?}"));
                Self::Secure(names.split(':').map(str::to_owned).collect())
            }
            _ => panic!("unexpected policy: {payload:?}"),
        }
    }
}

/// What Postfix's own TLSA lookup finds for a host it connects to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tlsa {
    /// A secure TLSA RRset with a usable record.
    Usable,
    /// A secure TLSA RRset, every record unusable.
    Unusable,
    /// No TLSA that counts: none, not secure, or not looked up (insecure addresses).
    None,
    /// The lookup fails.
    LookupFails,
}

/// Who answers at a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// The domain's own server, with a PKIX-valid certificate for its name that its usable
    /// TLSA records match.
    Victim,
    /// The attacker's server; its name, TLSA and certificate are the attacker's own.
    Attacker,
}

/// One MX host as Postfix meets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Peer {
    /// The MX host name.
    pub(crate) name: String,
    /// What Postfix's TLSA lookup finds.
    pub(crate) tlsa: Tlsa,
    /// Who answers there.
    pub(crate) owner: Owner,
}

/// How a message to one host ends without an attacker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Delivery {
    /// Not sent to this host.
    Skipped,
    /// Sent, TLS not required.
    Opportunistic,
    /// Sent over TLS, not authenticated.
    Encrypted,
    /// Sent over TLS authenticated by DANE or PKIX.
    Authenticated,
}

/// Whether Postfix, under `level`, lets the on-path attacker receive a message meant for
/// `peer` (in cleartext, over unauthenticated TLS, or at a host of theirs).
pub(crate) fn attacker_wins(level: &Level, peer: &Peer) -> bool {
    let own_host = peer.owner == Owner::Attacker;
    match level {
        Level::Temp => false,
        // `may`: the attacker strips STARTTLS.
        Level::NotFound | Level::Encrypt => true,
        Level::Dane => match peer.tlsa {
            Tlsa::Usable => own_host,
            Tlsa::Unusable | Tlsa::None => true,
            Tlsa::LookupFails => false,
        },
        Level::DaneOnly => peer.tlsa == Tlsa::Usable && own_host,
        Level::Secure(names) => own_host && names.iter().any(|n| name_matches(n, &peer.name)),
    }
}

/// What Postfix, under `level`, does with a message for an honest `peer`.
pub(crate) fn honest_delivery(level: &Level, peer: &Peer) -> Delivery {
    match level {
        Level::Temp => Delivery::Skipped,
        Level::NotFound => Delivery::Opportunistic,
        Level::Encrypt => Delivery::Encrypted,
        Level::Dane => match peer.tlsa {
            Tlsa::Usable => Delivery::Authenticated,
            Tlsa::Unusable => Delivery::Encrypted,
            Tlsa::None => Delivery::Opportunistic,
            Tlsa::LookupFails => Delivery::Skipped,
        },
        Level::DaneOnly => match peer.tlsa {
            Tlsa::Usable => Delivery::Authenticated,
            _ => Delivery::Skipped,
        },
        Level::Secure(names) => {
            if names.iter().any(|n| name_matches(n, &peer.name)) {
                Delivery::Authenticated
            } else {
                Delivery::Skipped
            }
        }
    }
}

/// Postfix's `match=` rule (§4.2): `host` exactly, `.domain` any name below the domain.
pub(crate) fn name_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix('.') {
        Some(domain) => host
            .strip_suffix(domain)
            .is_some_and(|front| front.len() > 1 && front.ends_with('.')),
        None => pattern == host,
    }
}
