//! `mxsec demo --serve`: the simulated internet on its published addresses and the standard
//! ports, for programs other than mxsec (Postfix, dig, curl, a browser), until SIGINT or
//! SIGTERM.

use std::io::Write;
use std::net::{SocketAddr, SocketAddrV4};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use mxsec_testbed::dns::Unbound;
use mxsec_testbed::scenario::Scenario;
use mxsec_testbed::Testbed;
use tokio::signal::unix::{signal, SignalKind};

use crate::cli::DemoArgs;

/// The port of the DNS server and of the validating resolver.
const DNS_PORT: u16 = 53;

/// The commands that give the simulated internet a network namespace of its own, printed when
/// a port cannot be bound (docs/demo.md explains them).
const NAMESPACE_HINT: &str = "\
Run it as root in a network namespace of its own, where ports 25, 53 and 443 are free and the
testbed's IPv6 addresses are local (docs/demo.md):
    ip netns add mxsec
    ip -n mxsec link set lo up
    ip -n mxsec -6 route add local fd6d:7873:6563::/48 dev lo
    ip netns exec mxsec sysctl -qw net.ipv6.ip_nonlocal_bind=1
    ip netns exec mxsec mxsec demo --serve";

pub(crate) async fn run(args: &DemoArgs) -> Result<ExitCode> {
    let dns = SocketAddr::new(args.dns, DNS_PORT);
    let testbed = match Testbed::builder().published(dns).start().await {
        Ok(testbed) => testbed,
        Err(err) => bail!(
            "cannot serve the simulated internet: {err}\n{}{NAMESPACE_HINT}",
            bind_failure(&err).map_or(String::new(), |why| format!("{why}\n"))
        ),
    };
    let resolver = match args.validating_resolver {
        Some(ip) => Some(
            Unbound::start_at(testbed.dns(), SocketAddrV4::new(ip, DNS_PORT))
                .await
                .with_context(|| format!("cannot run the validating resolver on {ip} port 53"))?,
        ),
        None => None,
    };
    print_summary(&testbed, resolver.as_ref())?;

    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    drop(resolver);
    drop(testbed);
    eprintln!("mxsec demo: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Why a listening socket could not be opened, in plain words, from the operating system's
/// error at the root of `err`.
fn bind_failure(err: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
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

fn print_summary(testbed: &Testbed, resolver: Option<&Unbound>) -> Result<()> {
    let files = testbed.files();
    let count = |port: u16| {
        testbed
            .routes()
            .iter()
            .filter(|r| r.published.port() == port)
            .count()
    };
    let dns = testbed.dns_addr();
    let ca = files.ca_file.display();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "mxsec demo: the simulated internet is up: {} scenarios, each a domain <key>.test \
         (`mxsec demo` lists them)\n",
        Scenario::all().len()
    )?;
    writeln!(
        out,
        "  DNS server (authoritative, signed)  {} port {}, UDP and TCP",
        dns.ip(),
        dns.port()
    )?;
    if let Some(resolver) = resolver {
        let addr = resolver.addr();
        writeln!(
            out,
            "  validating resolver (unbound)       {} port {}",
            addr.ip(),
            addr.port()
        )?;
    }
    writeln!(
        out,
        "  DNSSEC trust anchor (DS)            {}",
        files.trust_anchor.display()
    )?;
    writeln!(
        out,
        "  DNSSEC trust anchor (DNSKEY)        {}",
        files.trust_anchor_dnskey.display()
    )?;
    writeln!(out, "  CA certificate (PEM)                {ca}")?;
    writeln!(
        out,
        "  OS root store (PEM)                 {}",
        files.os_store.display()
    )?;
    writeln!(
        out,
        "  MTA-STS policy hosts                {} addresses, port 443",
        count(443)
    )?;
    writeln!(
        out,
        "  MX hosts                            {} addresses, port 25\n",
        count(25)
    )?;
    writeln!(out, "Use it:")?;
    writeln!(out, "  dig @{} +dnssec MX dane-ee.test", dns.ip())?;
    writeln!(
        out,
        "  mxsec query --resolver {} --trust-anchor {} --ca-file {ca} sts-enforce.test",
        dns.ip(),
        files.trust_anchor.display()
    )?;
    writeln!(
        out,
        "  mxsec check --allow-private --resolver {} --trust-anchor {} --ca-file {ca} \
         --os-store {} healthy.test",
        dns.ip(),
        files.trust_anchor.display(),
        files.os_store.display()
    )?;
    match resolver {
        Some(resolver) => {
            writeln!(
                out,
                "  /etc/resolv.conf: nameserver {}\n                    options trust-ad",
                resolver.addr().ip()
            )?;
        }
        None => {
            writeln!(
                out,
                "  /etc/resolv.conf: nameserver {} (with --validating-resolver, a resolver \
                 that sets the AD bit)",
                dns.ip()
            )?;
        }
    }
    writeln!(
        out,
        "  curl --cacert {ca} https://mta-sts.sts-enforce.test/.well-known/mta-sts.txt"
    )?;
    writeln!(
        out,
        "  Postfix main.cf: smtp_dns_support_level = dnssec, smtp_tls_security_level = dane,\n\
         \x20                  smtp_tls_CAfile = {ca}\n"
    )?;
    writeln!(out, "Serving until SIGINT (Ctrl-C) or SIGTERM.")?;
    out.flush()?;
    Ok(())
}
