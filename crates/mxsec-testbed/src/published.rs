//! The testbed on its published addresses and the standard ports, for programs other than
//! mxsec (Postfix, dig, curl, a browser): what `mxsec demo --serve` starts and tells its user.

use std::fmt;

use crate::dns::Unbound;
use crate::scenario::Scenario;
use crate::Testbed;

/// The port of the DNS server and of the validating resolver.
pub const DNS_PORT: u16 = 53;

/// The commands that give the simulated internet a network namespace of its own, for when a
/// port cannot be bound (docs/demo.md explains them).
pub const NAMESPACE_HINT: &str = "\
Run it as root in a network namespace of its own, where ports 25, 53 and 443 are free and the
testbed's IPv6 addresses are local (docs/demo.md):
    ip netns add mxsec
    ip -n mxsec link set lo up
    ip -n mxsec -6 route add local fd6d:7873:6563::/48 dev lo
    ip netns exec mxsec sysctl -qw net.ipv6.ip_nonlocal_bind=1
    ip netns exec mxsec mxsec demo --serve";

/// Why a listening socket could not be opened, in plain words, from the operating system's
/// error at the root of `err`.
pub fn bind_failure(err: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    Some("Ports below 1024 need root (or CAP_NET_BIND_SERVICE).")
                }
                std::io::ErrorKind::AddrInUse => Some(
                    "Another program listens there (a local DNS resolver, mail or web server).",
                ),
                std::io::ErrorKind::AddrNotAvailable => {
                    Some("The address is not local here (the IPv6 addresses need a local route).")
                }
                _ => None,
            };
        }
        cause = e.source();
    }
    None
}

/// What a published testbed offers and how to use it: its servers, the files to configure
/// other programs with, and example commands.
pub struct Usage<'a> {
    /// The running testbed.
    pub testbed: &'a Testbed,
    /// The validating resolver in front of it, if one runs.
    pub resolver: Option<&'a Unbound>,
}

impl fmt::Display for Usage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let files = self.testbed.files();
        let count = |port: u16| {
            self.testbed
                .routes()
                .iter()
                .filter(|r| r.published.port() == port)
                .count()
        };
        let dns = self.testbed.dns_addr();
        let ca = files.ca_file.display();
        writeln!(
            f,
            "mxsec demo: the simulated internet is up: {} scenarios, each a domain <key>.test \
             (`mxsec demo` lists them)\n",
            Scenario::all().len()
        )?;
        writeln!(
            f,
            "  DNS server (authoritative, signed)  {} port {}, UDP and TCP",
            dns.ip(),
            dns.port()
        )?;
        if let Some(resolver) = self.resolver {
            let addr = resolver.addr();
            writeln!(
                f,
                "  validating resolver (unbound)       {} port {}",
                addr.ip(),
                addr.port()
            )?;
        }
        writeln!(
            f,
            "  DNSSEC trust anchor (DS)            {}",
            files.trust_anchor.display()
        )?;
        writeln!(
            f,
            "  DNSSEC trust anchor (DNSKEY)        {}",
            files.trust_anchor_dnskey.display()
        )?;
        writeln!(f, "  CA certificate (PEM)                {ca}")?;
        writeln!(
            f,
            "  OS root store (PEM)                 {}",
            files.os_store.display()
        )?;
        writeln!(
            f,
            "  MTA-STS policy hosts                {} addresses, port 443",
            count(443)
        )?;
        writeln!(
            f,
            "  MX hosts                            {} addresses, port 25\n",
            count(25)
        )?;
        writeln!(f, "Use it:")?;
        writeln!(f, "  dig @{} +dnssec MX dane-ee.test", dns.ip())?;
        writeln!(
            f,
            "  mxsec query --resolver {} --trust-anchor {} --ca-file {ca} sts-enforce.test",
            dns.ip(),
            files.trust_anchor.display()
        )?;
        writeln!(
            f,
            "  mxsec check --allow-private --resolver {} --trust-anchor {} --ca-file {ca} \
             --os-store {} healthy.test",
            dns.ip(),
            files.trust_anchor.display(),
            files.os_store.display()
        )?;
        match self.resolver {
            Some(resolver) => {
                writeln!(
                    f,
                    "  /etc/resolv.conf: nameserver {}\n                    options trust-ad",
                    resolver.addr().ip()
                )?;
            }
            None => {
                writeln!(
                    f,
                    "  /etc/resolv.conf: nameserver {} (with --validating-resolver, a resolver \
                     that sets the AD bit)",
                    dns.ip()
                )?;
            }
        }
        writeln!(
            f,
            "  curl --cacert {ca} https://mta-sts.sts-enforce.test/.well-known/mta-sts.txt"
        )?;
        writeln!(
            f,
            "  Postfix main.cf: smtp_dns_support_level = dnssec, smtp_tls_security_level = dane,\n\
             \x20                  smtp_tls_CAfile = {ca}\n"
        )?;
        writeln!(f, "Serving until SIGINT (Ctrl-C) or SIGTERM.")
    }
}
