//! Command-line arguments, as typed: syntax only. `config.rs` turns them into the objects the
//! libraries take, and fails loudly before any work if a file cannot be read.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Authenticated TLS for SMTP: DANE and MTA-STS, for senders and for domain owners.
#[derive(Debug, Parser)]
#[command(name = "mxsec", version, about, long_about = None)]
pub(crate) struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); `MXSEC_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the TLS policy a sender must apply to DOMAIN, as the Postfix socketmap reply.
    ///
    /// DANE first, then MTA-STS; `TEMP` where a DNS failure could downgrade; `NOTFOUND ` when
    /// no policy applies.
    Query(QueryArgs),

    /// Run mxsec against a simulated internet built into the program: no network needed.
    ///
    /// Starts signed DNS, HTTPS policy hosts and SMTP servers on loopback, one domain per
    /// scenario (SCENARIOS.md), and shows what mxsec finds for each.
    Demo(DemoArgs),
}

/// `mxsec demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Show this scenario in full (its key, e.g. `t01-masked-starttls`, or its domain).
    pub(crate) scenario: Option<String>,
}

/// `mxsec query`.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// The destination: a domain, `[host]`, `[host]:port` or an address literal.
    pub(crate) destination: String,

    /// Print the whole typed outcome as JSON instead of the socketmap reply.
    #[arg(long)]
    pub(crate) json: bool,

    /// Add the Postfix >= 3.10 TLSRPT attributes to MTA-STS answers.
    #[arg(long)]
    pub(crate) tlsrpt: bool,

    /// Treat MTA-STS `testing` policies as `enforce`.
    #[arg(long)]
    pub(crate) strict_testing: bool,

    #[command(flatten)]
    pub(crate) resolve: ResolveArgs,
}

/// How DNSSEC validation is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DnssecMode {
    /// Validate in process from a trust anchor (the IANA root unless --trust-anchor).
    Validate,
    /// Trust the AD bit of a validating resolver on loopback, as Postfix does.
    TrustAd,
}

/// Options shared by every command that resolves destinations.
#[derive(Debug, Args)]
pub(crate) struct ResolveArgs {
    /// DNS resolver to ask, IP[:PORT] (default: the nameservers of /etc/resolv.conf).
    #[arg(long, value_name = "IP[:PORT]", value_parser = parse_resolver)]
    pub(crate) resolver: Option<SocketAddr>,

    /// DNSSEC: validate in process, or trust the AD bit of a loopback resolver.
    #[arg(long, value_enum, default_value_t = DnssecMode::Validate)]
    pub(crate) dnssec: DnssecMode,

    /// Trust anchor file: DS or DNSKEY records in zone-file syntax (default: the IANA root).
    #[arg(long, value_name = "FILE")]
    pub(crate) trust_anchor: Option<PathBuf>,

    /// With --dnssec trust-ad, accept a resolver that is not on loopback. The AD bit is only
    /// as trustworthy as the path to the resolver (RFC 7672 §2.1.3, DANE-DNS-01).
    #[arg(long)]
    pub(crate) trust_remote_resolver: bool,

    /// Extra CA certificates (PEM) to trust besides the WebPKI roots; repeatable.
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_file: Vec<PathBuf>,

    /// Timeout for each network operation, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub(crate) timeout: Duration,

    /// Connection address map for the simulated internet of `mxsec demo --serve` and the
    /// tests: lines `PUBLISHED-ADDR:PORT LOCAL-ADDR:PORT`. Changes where connections go,
    /// never what is checked.
    #[arg(long, value_name = "FILE", hide = true)]
    pub(crate) connect_map: Option<PathBuf>,
}

fn parse_resolver(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    text.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("{text:?} is not IP or IP:PORT (use [v6]:port for IPv6 with a port)"))
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 3600.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{text:?} is not a number of seconds between 0 and 3600"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn resolver_forms() {
        assert_eq!(
            parse_resolver("127.0.0.1").unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_resolver("127.0.0.1:5353").unwrap(),
            "127.0.0.1:5353".parse().unwrap()
        );
        assert_eq!(parse_resolver("::1").unwrap(), "[::1]:53".parse().unwrap());
        assert_eq!(
            parse_resolver("[::1]:5353").unwrap(),
            "[::1]:5353".parse().unwrap()
        );
        assert!(parse_resolver("localhost").is_err());
    }

    #[test]
    fn query_parses_shared_options() {
        let cli = Cli::try_parse_from([
            "mxsec",
            "query",
            "example.com",
            "--resolver",
            "127.0.0.53",
            "--dnssec",
            "trust-ad",
            "--ca-file",
            "a.pem",
            "--ca-file",
            "b.pem",
            "--timeout",
            "2.5",
        ])
        .unwrap();
        let Command::Query(q) = cli.command else {
            panic!("not a query command");
        };
        assert_eq!(q.resolve.dnssec, DnssecMode::TrustAd);
        assert_eq!(q.resolve.ca_file.len(), 2);
        assert_eq!(q.resolve.timeout, Duration::from_millis(2500));
    }
}
