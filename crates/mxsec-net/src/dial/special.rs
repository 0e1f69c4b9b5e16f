//! Special-purpose IP addresses: the blocks of the IANA IPv4 and IPv6 Special-Purpose Address
//! Registries (RFC 6890) that are not globally reachable, plus the other addresses a server on
//! the internet must never be asked to connect to (multicast, reserved space, IPv6 outside
//! global unicast).
//!
//! [`special_purpose`] is a pure function of the address. The [`Dialer`](super::Dialer)
//! applies it, through a [`ConnectPolicy`](super::ConnectPolicy), to the address a connection
//! actually goes to; the audit applies it to DNS answers so that it can say early and clearly
//! why an address is not probed (SCENARIOS.md N-01, RFC 6890 §2.2).
//!
//! Addresses that embed an IPv4 address are judged by what they reach: an IPv4-mapped IPv6
//! address (`::ffff:0:0/96`, RFC 4291 §2.5.5.2) is a connection over IPv4 to the embedded
//! address, and a NAT64 address in the well-known prefix (`64:ff9b::/96`, RFC 6052 §2.1) is
//! translated to it. A mapped address is never accepted (no DNS answer legitimately contains
//! one); a NAT64 address is accepted exactly when its embedded IPv4 address is.
//!
//! # What is refused, row by row
//!
//! The two IANA registries give each block a "Globally Reachable" flag (RFC 8190 §2.1 added
//! it to the RFC 6890 columns). The rule here follows the flag, and decides the rows whose
//! flag is "N/A":
//!
//! - every block flagged `False` is refused: in IPv4 `0.0.0.0/8`, `10.0.0.0/8`,
//!   `100.64.0.0/10`, `127.0.0.0/8`, `169.254.0.0/16`, `172.16.0.0/12`, `192.0.0.0/24` (with
//!   its service continuity, dummy and NAT64 discovery entries), `192.0.2.0/24`,
//!   `192.168.0.0/16`, `198.18.0.0/15`, `198.51.100.0/24`, `203.0.113.0/24`, `240.0.0.0/4`,
//!   `255.255.255.255/32`; in IPv6 `::/128`, `::1/128`, `::ffff:0:0/96`, `64:ff9b:1::/48`,
//!   `100::/64`, `2001::/23`, `2001:2::/48`, `2001:10::/28`, `2001:db8::/32`, `3fff::/20`,
//!   `5f00::/16`, `fc00::/7`, `fe80::/10`;
//! - the blocks flagged `True` are accepted: `192.0.0.9`, `192.0.0.10`, `192.31.196.0/24`,
//!   `192.52.193.0/24`, `192.175.48.0/24`, `2001:1::1`–`2001:1::3`, `2001:3::/32`,
//!   `2001:4:112::/48`, `2001:20::/28`, `2001:30::/28`, `2620:4f:8000::/48`, and
//!   `64:ff9b::/96` when the IPv4 address it embeds is itself accepted (RFC 6052 §3.1 forbids
//!   the well-known prefix for non-global IPv4 addresses);
//! - the "N/A" rows are refused: `192.88.99.0/24` (the deprecated 6to4 relay anycast,
//!   RFC 7526), `2002::/16` (6to4, which reaches whatever IPv4 address it embeds through a
//!   relay, `2002:0a00:1::` reaching `10.0.0.1`) and `2001::/32` (Teredo, whose embedded
//!   addresses are obfuscated and reached through a relay); none is a mail or policy server's
//!   address;
//! - outside the special-purpose registries: multicast (`224.0.0.0/4`, RFC 5771;
//!   `ff00::/8`), the deprecated site-local `fec0::/10` (RFC 3879) and all IPv6 space outside
//!   global unicast `2000::/3` (RFC 4291 §2.4; IPv4-compatible `::a.b.c.d` included) are
//!   refused.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a special-purpose address block is for.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum AddressKind {
    /// The unspecified address (`0.0.0.0`, `::`).
    Unspecified,
    /// "This network" (`0.0.0.0/8`), which reaches the local host on many systems.
    ThisNetwork,
    /// Loopback (`127.0.0.0/8`, `::1`).
    Loopback,
    /// Private-use space (RFC 1918).
    Private,
    /// Carrier-grade NAT shared address space (`100.64.0.0/10`).
    Shared,
    /// Link-local unicast (`169.254.0.0/16`, `fe80::/10`).
    LinkLocal,
    /// IPv6 unique local addresses (`fc00::/7`).
    UniqueLocal,
    /// Deprecated IPv6 site-local addresses (`fec0::/10`).
    SiteLocal,
    /// IETF protocol assignments (`192.0.0.0/24`, `2001::/23`) not marked globally reachable.
    ProtocolAssignment,
    /// Addresses reserved for documentation and examples.
    Documentation,
    /// Benchmarking of network devices (`198.18.0.0/15`, `2001:2::/48`).
    Benchmarking,
    /// Multicast (`224.0.0.0/4`, `ff00::/8`).
    Multicast,
    /// The limited broadcast address `255.255.255.255`.
    Broadcast,
    /// Reserved or unallocated space (`240.0.0.0/4`, IPv6 outside `2000::/3`).
    Reserved,
    /// The deprecated 6to4 relay anycast block (`192.88.99.0/24`).
    Relay6to4,
    /// 6to4 addresses (`2002::/16`), which embed an arbitrary IPv4 address.
    SixToFour,
    /// Teredo addresses (`2001::/32`), which embed arbitrary IPv4 addresses.
    Teredo,
    /// IPv4-mapped IPv6 addresses (`::ffff:0:0/96`).
    Ipv4Mapped,
    /// Local-use IPv4/IPv6 translation (`64:ff9b:1::/48`).
    LocalTranslation,
    /// The IPv6 discard-only block (`100::/64`).
    DiscardOnly,
}

impl AddressKind {
    /// A few words naming the kind, e.g. `private address`.
    pub fn description(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified address",
            Self::ThisNetwork => "\"this network\" address",
            Self::Loopback => "loopback address",
            Self::Private => "private address",
            Self::Shared => "shared (carrier-grade NAT) address",
            Self::LinkLocal => "link-local address",
            Self::UniqueLocal => "unique local address",
            Self::SiteLocal => "site-local address",
            Self::ProtocolAssignment => "IETF protocol assignment address",
            Self::Documentation => "documentation address",
            Self::Benchmarking => "benchmarking address",
            Self::Multicast => "multicast address",
            Self::Broadcast => "broadcast address",
            Self::Reserved => "reserved address",
            Self::Relay6to4 => "6to4 relay anycast address",
            Self::SixToFour => "6to4 address",
            Self::Teredo => "Teredo address",
            Self::Ipv4Mapped => "IPv4-mapped address",
            Self::LocalTranslation => "local-use translation address",
            Self::DiscardOnly => "discard-only address",
        }
    }
}

/// How an IPv6 address embeds the IPv4 address that was judged.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum Embedding {
    /// An IPv4-mapped IPv6 address (`::ffff:0:0/96`, RFC 4291 §2.5.5.2).
    Ipv4Mapped(Ipv4Addr),
    /// A NAT64 address in the well-known prefix (`64:ff9b::/96`, RFC 6052 §2.1).
    Nat64(Ipv4Addr),
}

/// Why an address is special-purpose: its kind, the block it lies in and the RFC that
/// reserves the block.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct SpecialPurpose {
    /// What the block is for.
    pub kind: AddressKind,
    /// The block, e.g. `10.0.0.0/8`.
    pub block: &'static str,
    /// The RFC that reserves it, e.g. `RFC 1918`.
    pub rfc: &'static str,
    /// When the address is IPv6 and the verdict is about the IPv4 address it embeds.
    pub embedded: Option<Embedding>,
}

impl fmt::Display for SpecialPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, {})",
            self.kind.description(),
            self.block,
            self.rfc
        )?;
        match self.embedded {
            Some(Embedding::Ipv4Mapped(v4)) => write!(f, " in IPv4-mapped form ({v4})"),
            Some(Embedding::Nat64(v4)) => write!(f, " behind the NAT64 prefix 64:ff9b::/96 ({v4})"),
            None => Ok(()),
        }
    }
}

/// Whether `address` is special-purpose, and why; `None` for a globally reachable unicast
/// address.
pub fn special_purpose(address: IpAddr) -> Option<SpecialPurpose> {
    match address {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

/// One block of a table: network, prefix length, kind, presentation, RFC.
type Block<T> = (T, u8, AddressKind, &'static str, &'static str);

/// IPv4 blocks, more specific first where blocks overlap (IANA IPv4 Special-Purpose Address
/// Registry, RFC 6890 §2.2.2, and the multicast, reserved and broadcast space).
const V4_BLOCKS: &[Block<u32>] = {
    use AddressKind::*;
    &[
        (0x0000_0000, 32, Unspecified, "0.0.0.0/32", "RFC 1122"),
        (0x0000_0000, 8, ThisNetwork, "0.0.0.0/8", "RFC 791"),
        (0x0a00_0000, 8, Private, "10.0.0.0/8", "RFC 1918"),
        (0x6440_0000, 10, Shared, "100.64.0.0/10", "RFC 6598"),
        (0x7f00_0000, 8, Loopback, "127.0.0.0/8", "RFC 1122"),
        (0xa9fe_0000, 16, LinkLocal, "169.254.0.0/16", "RFC 3927"),
        (0xac10_0000, 12, Private, "172.16.0.0/12", "RFC 1918"),
        (
            0xc000_0000,
            24,
            ProtocolAssignment,
            "192.0.0.0/24",
            "RFC 6890",
        ),
        (0xc000_0200, 24, Documentation, "192.0.2.0/24", "RFC 5737"),
        (0xc058_6300, 24, Relay6to4, "192.88.99.0/24", "RFC 7526"),
        (0xc0a8_0000, 16, Private, "192.168.0.0/16", "RFC 1918"),
        (0xc612_0000, 15, Benchmarking, "198.18.0.0/15", "RFC 2544"),
        (
            0xc633_6400,
            24,
            Documentation,
            "198.51.100.0/24",
            "RFC 5737",
        ),
        (0xcb00_7100, 24, Documentation, "203.0.113.0/24", "RFC 5737"),
        (0xe000_0000, 4, Multicast, "224.0.0.0/4", "RFC 5771"),
        (0xffff_ffff, 32, Broadcast, "255.255.255.255/32", "RFC 919"),
        (0xf000_0000, 4, Reserved, "240.0.0.0/4", "RFC 1112"),
    ]
};

/// Addresses inside [`V4_BLOCKS`] that the registry marks globally reachable: the PCP and
/// TURN anycast addresses (RFC 7723, RFC 8155).
const V4_GLOBAL_EXCEPTIONS: &[u32] = &[0xc000_0009, 0xc000_000a];

/// IPv6 blocks, more specific first where blocks overlap (IANA IPv6 Special-Purpose Address
/// Registry, RFC 6890 §2.2.3). Space outside `2000::/3` not listed here is reserved.
const V6_BLOCKS: &[Block<u128>] = {
    use AddressKind::*;
    &[
        (0, 128, Unspecified, "::/128", "RFC 4291"),
        (1, 128, Loopback, "::1/128", "RFC 4291"),
        (
            0x0064_ff9b_0001 << 80,
            48,
            LocalTranslation,
            "64:ff9b:1::/48",
            "RFC 8215",
        ),
        (0x0100 << 112, 64, DiscardOnly, "100::/64", "RFC 6666"),
        (0x2001_0000 << 96, 32, Teredo, "2001::/32", "RFC 4380"),
        (
            0x2001_0002 << 96,
            48,
            Benchmarking,
            "2001:2::/48",
            "RFC 5180",
        ),
        (
            0x2001_0db8 << 96,
            32,
            Documentation,
            "2001:db8::/32",
            "RFC 3849",
        ),
        (
            0x2001 << 112,
            23,
            ProtocolAssignment,
            "2001::/23",
            "RFC 2928",
        ),
        (0x2002 << 112, 16, SixToFour, "2002::/16", "RFC 3056"),
        (0x3fff << 112, 20, Documentation, "3fff::/20", "RFC 9637"),
        (0xfc00 << 112, 7, UniqueLocal, "fc00::/7", "RFC 4193"),
        (0xfe80 << 112, 10, LinkLocal, "fe80::/10", "RFC 4291"),
        (0xfec0 << 112, 10, SiteLocal, "fec0::/10", "RFC 3879"),
        (0xff00 << 112, 8, Multicast, "ff00::/8", "RFC 4291"),
    ]
};

/// Blocks inside `2001::/23` that the registry marks globally reachable: PCP, TURN and DNS-SD
/// SRP anycast (RFC 7723, RFC 8155, RFC 9665), AMT (RFC 7450), AS112-v6 (RFC 7535),
/// ORCHIDv2 (RFC 7343) and DRIP entity tags (RFC 9374).
const V6_GLOBAL_EXCEPTIONS: &[(u128, u8)] = &[
    ((0x2001_0001 << 96) | 1, 128),
    ((0x2001_0001 << 96) | 2, 128),
    ((0x2001_0001 << 96) | 3, 128),
    (0x2001_0003 << 96, 32),
    (0x2001_0004_0112 << 80, 48),
    (0x2001_0020 << 96, 28),
    (0x2001_0030 << 96, 28),
];

fn in_block<T>(address: T, network: T, prefix: u8, bits: u32) -> bool
where
    T: Copy + Eq + std::ops::Shr<u32, Output = T>,
{
    let shift = bits - u32::from(prefix);
    // A /0 block (shift == bits) would overflow the shift; no table has one.
    shift < bits && address >> shift == network >> shift
}

fn special_v4(address: Ipv4Addr) -> Option<SpecialPurpose> {
    let bits = u32::from(address);
    if V4_GLOBAL_EXCEPTIONS.contains(&bits) {
        return None;
    }
    V4_BLOCKS
        .iter()
        .find(|(network, prefix, ..)| in_block(bits, *network, *prefix, 32))
        .map(|&(_, _, kind, block, rfc)| SpecialPurpose {
            kind,
            block,
            rfc,
            embedded: None,
        })
}

fn special_v6(address: Ipv6Addr) -> Option<SpecialPurpose> {
    let bits = u128::from(address);
    if let Some(v4) = address.to_ipv4_mapped() {
        let verdict = special_v4(v4).unwrap_or(SpecialPurpose {
            kind: AddressKind::Ipv4Mapped,
            block: "::ffff:0:0/96",
            rfc: "RFC 4291",
            embedded: None,
        });
        return Some(SpecialPurpose {
            embedded: Some(Embedding::Ipv4Mapped(v4)),
            ..verdict
        });
    }
    if in_block(bits, 0x0064_ff9b << 96, 96, 128) {
        // The low 32 bits are the IPv4 address (RFC 6052 §2.2, /96 prefix).
        let v4 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
        return special_v4(v4).map(|verdict| SpecialPurpose {
            embedded: Some(Embedding::Nat64(v4)),
            ..verdict
        });
    }
    if V6_GLOBAL_EXCEPTIONS
        .iter()
        .any(|&(network, prefix)| in_block(bits, network, prefix, 128))
    {
        return None;
    }
    let listed = V6_BLOCKS
        .iter()
        .find(|(network, prefix, ..)| in_block(bits, *network, *prefix, 128))
        .map(|&(_, _, kind, block, rfc)| SpecialPurpose {
            kind,
            block,
            rfc,
            embedded: None,
        });
    if listed.is_some() {
        return listed;
    }
    if in_block(bits, 0x2000 << 112, 3, 128) {
        None
    } else {
        Some(SpecialPurpose {
            kind: AddressKind::Reserved,
            block: "outside 2000::/3",
            rfc: "RFC 4291",
            embedded: None,
        })
    }
}

#[cfg(test)]
mod tests;
