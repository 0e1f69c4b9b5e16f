//! `mxsec demo --serve`: the simulated internet on its published addresses and the standard
//! ports, for programs other than mxsec (Postfix, dig, curl, a browser), until SIGINT or
//! SIGTERM.

use std::io::Write;
use std::net::{SocketAddr, SocketAddrV4};
use std::process::ExitCode;

use anyhow::{Context, Result};
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
run it as root in a network namespace of its own, where ports 25, 53 and 443 of loopback are
free and the testbed's IPv6 addresses are local:
    ip netns add mxsec
    ip -n mxsec link set lo up
    ip -n mxsec -6 route add local fd6d:7873:6563::/48 dev lo
    ip netns exec mxsec sysctl -qw net.ipv6.ip_nonlocal_bind=1
    ip netns exec mxsec mxsec demo --serve
(docs/demo.md)";

pub(crate) async fn run(args: &DemoArgs) -> Result<ExitCode> {
    let dns = SocketAddr::new(args.dns, DNS_PORT);
    let testbed = Testbed::builder()
        .published(dns)
        .start()
        .await
        .map_err(|err| bind_failure(anyhow::Error::new(err)))
        .context("cannot serve the simulated internet")?;
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

/// Adds to a bind error what to do about it.
fn bind_failure(err: anyhow::Error) -> anyhow::Error {
    let Some(io) = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<std::io::Error>())
    else {
        return err;
    };
    let why = match io.kind() {
        std::io::ErrorKind::PermissionDenied => {
            "ports below 1024 need root (or CAP_NET_BIND_SERVICE)"
        }
        std::io::ErrorKind::AddrInUse => {
            "another program listens there (a local DNS resolver, mail or web server)"
        }
        std::io::ErrorKind::AddrNotAvailable => {
            "the address is not local here (the IPv6 addresses need a local route)"
        }
        _ => "a listening socket could not be opened",
    };
    err.context(format!("{why}; {NAMESPACE_HINT}"))
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
