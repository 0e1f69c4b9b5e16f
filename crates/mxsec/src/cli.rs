//! Command-line arguments, as typed: syntax only. `config.rs` turns them into the objects the
//! libraries take, and fails loudly before any work if a file cannot be read.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
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
    /// Audit domains: MX and DNSSEC, every MX host and address (STARTTLS, TLS, certificate,
    /// DANE), MTA-STS and TLS-RPT, ending with what senders will do.
    ///
    /// Exit status: 0 when no report has an error finding, 1 when one has, 2 when a check
    /// could not run (an invalid domain name, an unreadable file, no DNS); the same with
    /// --summary. --summary-of exits 0 once the summary is printed, 2 when the file cannot be
    /// read.
    Check(Box<CheckArgs>),

    /// Print the TLS policy a sender must apply to DOMAIN, as the Postfix socketmap reply.
    ///
    /// DANE first, then MTA-STS; `TEMP` where a DNS failure could downgrade; `NOTFOUND ` when
    /// no policy applies.
    Query(QueryArgs),

    /// Run mxsec against a simulated internet built into the program: no network needed.
    ///
    /// Starts signed DNS, HTTPS policy hosts and SMTP servers on loopback, one domain per
    /// scenario (SCENARIOS.md), and shows what mxsec finds for each. With --serve, runs that
    /// internet on its published addresses and the standard ports for other programs
    /// (Postfix, dig, curl, a browser) until SIGINT or SIGTERM (docs/demo.md).
    Demo(DemoArgs),

    /// Serve the checker as a web page and a JSON API.
    ///
    /// The page has one input; the report streams in as checks finish, the verdict first.
    /// `/check/DOMAIN` is a permalink, `/api/v1/check/DOMAIN` returns the JSON of
    /// `mxsec check --json`, `/healthz` reports health. The server refuses to connect to
    /// loopback, private and other special-purpose addresses unless --allow-private.
    Web(WebArgs),

    /// Publish MTA-STS: write the policy and its TXT record, change its id, host the policy.
    #[command(subcommand)]
    Sts(StsCommand),
    /// Make TLSA records for a mail server from its certificate or key, or check published
    /// ones against a certificate.
    Tlsa(Box<TlsaArgs>),
    /// TLS reporting: write the `_smtp._tls` record, read the reports that arrive.
    #[command(subcommand)]
    Tlsrpt(TlsrptCommand),

    /// Run the Postfix TLS policy server: socketmap answers for `smtp_tls_policy_maps`, DANE
    /// first, then MTA-STS, with a persistent MTA-STS policy cache (docs/daemon.md).
    ///
    /// SIGTERM drains connections and exits; SIGHUP reloads the configuration.
    Daemon(DaemonArgs),

    /// Grade a sending MTA against every scenario of the simulated internet: does it defer
    /// where DANE or MTA-STS must stop delivery, and deliver where they hold?
    ///
    /// Runs the simulated internet in a network namespace with a validating resolver, hands
    /// the MTA one message per scenario over SMTP, watches which MX hosts receive which
    /// message over which TLS, and grades each: pass, unsafe, over-strict, no-result
    /// (docs/conformance.md). Needs root. Exit status: 0 when no scenario is unsafe, 1 when
    /// one is, 2 when the run could not be made.
    Conformance(ConformanceArgs),

    /// Check a running sender's setup and say what is wrong, with the fix: Postfix's TLS
    /// settings (through postconf), the resolver it trusts, the mxsec daemon it asks, its
    /// refresh, and the clock.
    ///
    /// Exit status: 0 when no finding is an error, 1 when one is.
    Doctor(DoctorArgs),
}

/// `mxsec doctor`.
#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// The Postfix configuration directory (`postconf -c DIR`); the default instance without.
    #[arg(long, value_name = "DIR")]
    pub(crate) config_dir: Option<PathBuf>,

    /// The postconf program.
    #[arg(long, value_name = "PATH", default_value = "postconf")]
    pub(crate) postconf: PathBuf,

    /// The resolv.conf Postfix's resolver library reads.
    #[arg(long, value_name = "FILE", default_value = "/etc/resolv.conf")]
    pub(crate) resolv_conf: PathBuf,

    /// A DNSSEC-signed name the resolver must validate (AD bit).
    #[arg(long, value_name = "NAME", default_value = "isc.org")]
    pub(crate) signed: String,

    /// A name with deliberately broken DNSSEC, which the resolver must answer SERVFAIL.
    #[arg(long, value_name = "NAME", default_value = "dnssec-failed.org")]
    pub(crate) broken: String,

    /// mxsec daemon's configuration file, to check that its policy store is writable, and
    /// to find its metrics address (`listen.metrics`), whose `/status` says whether its
    /// refresh runs and which policy hosts it fetched from (checked against Postfix's CA file
    /// and for the clock).
    #[arg(long, value_name = "FILE")]
    pub(crate) daemon_config: Option<PathBuf>,

    /// Instead of checking the setup, ask the running daemon why it answers as it does for
    /// DOMAIN: the reasons with their IDs, the lookups and fetch behind them, the cache age.
    #[arg(long, value_name = "DOMAIN")]
    pub(crate) why: Option<String>,

    /// The daemon's metrics address (`listen.metrics`), which serves `/status` and `/why`;
    /// read from --daemon-config when given, else (for --why) 127.0.0.1:9461.
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics: Option<SocketAddr>,

    /// With --why: the map name Postfix uses, for its zone's options.
    #[arg(long, value_name = "NAME", requires = "why")]
    pub(crate) map: Option<String>,

    /// Seconds one DNS query or policy lookup may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub(crate) timeout: u64,

    /// Print the findings (or the reasons, with --why) as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `mxsec conformance`.
#[derive(Debug, Args)]
pub(crate) struct ConformanceArgs {
    /// The MTA under test: a private Postfix instance set up by mxsec, or your own MTA running
    /// in the namespace (the harness prints what it must be configured with).
    #[arg(long, value_enum, default_value = "postfix")]
    pub(crate) mta: MtaArg,

    /// With --mta postfix: the TLS policy server Postfix asks (`smtp_tls_policy_maps`).
    #[arg(long, value_enum, default_value = "mxsec")]
    pub(crate) policy: PolicyArg,

    /// With --mta external: where your MTA accepts messages over SMTP, inside the namespace.
    #[arg(long, value_name = "HOST:PORT", required_if_eq("mta", "external"))]
    pub(crate) inject: Option<SocketAddr>,

    /// Use this existing network namespace instead of creating one (docs/demo.md sets one up).
    #[arg(long, value_name = "NAME")]
    pub(crate) netns: Option<String>,

    /// Grade only this scenario (its key, or its domain); repeatable.
    #[arg(long = "scenario", value_name = "KEY")]
    pub(crate) scenarios: Vec<String>,

    /// How long to wait for the outcomes after the last message was handed over.
    #[arg(long, value_name = "SECONDS", default_value_t = 180)]
    pub(crate) time_limit: u64,

    /// Where postfix-mta-sts-resolver is installed from PyPI (a Python virtual environment,
    /// made when missing).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/var/cache/mxsec/postfix-mta-sts-resolver"
    )]
    pub(crate) venv: PathBuf,

    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `mxsec conformance --mta`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum MtaArg {
    /// A private Postfix instance (`postfix -c DIR`), DANE on.
    Postfix,
    /// Your own MTA, running in the namespace.
    External,
}

/// `mxsec conformance --policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum PolicyArg {
    /// Postfix alone (`smtp_tls_security_level = dane`).
    None,
    /// `mxsec daemon`.
    Mxsec,
    /// postfix-mta-sts-resolver, installed from PyPI.
    PostfixMtaStsResolver,
}

/// `mxsec check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The domains to check.
    #[arg(
        value_name = "DOMAIN",
        required_unless_present_any = ["file", "worker", "collect", "summary_of"]
    )]
    pub(crate) domains: Vec<String>,

    /// Read domains from FILE, one per line (`#` starts a comment); `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,

    /// Write one JSON object per domain and line (docs/report-json.md) instead of the report.
    #[arg(long)]
    pub(crate) json: bool,

    /// Print a summary of the scan instead of each report: counts and percentages per
    /// verdict, the most frequent problems by finding ID, the most used MX providers and how
    /// each fares. FORMAT: `text` (the default), `json`, or `html` (a page that needs nothing
    /// else, charts in inline SVG). It counts the domains checked in this run: after
    /// --resume, --summary-of the results file counts them all.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "text",
        conflicts_with_all = ["json", "passes"]
    )]
    pub(crate) summary: Option<SummaryFormat>,

    /// Summarise the results of a finished scan (the JSON lines of `--json`; `-` reads
    /// standard input) without checking anything again, in the format of --summary (text
    /// unless given). Reads the file as a stream: memory does not grow with its length.
    #[arg(
        long,
        value_name = "RESULTS",
        conflicts_with_all = ["domains", "file", "resume", "json", "passes"]
    )]
    pub(crate) summary_of: Option<PathBuf>,

    /// Colour: `auto` (when standard output is a terminal and NO_COLOR is not set), `always`
    /// or `never`.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub(crate) color: ColorChoice,

    /// List every passed check instead of counting them.
    #[arg(long)]
    pub(crate) passes: bool,

    /// The order of the reports: `input` (the order of the domains given) or `completion`
    /// (as each check ends, so that no domain waits for a slower one).
    #[arg(long, value_enum, default_value_t = OrderChoice::Input, value_name = "ORDER")]
    pub(crate) order: OrderChoice,

    /// Skip the domains this JSON-lines results file already holds (a previous `--json`
    /// run), to carry on a scan that stopped: `mxsec check --json --file LIST --resume
    /// OUT.jsonl >> OUT.jsonl`.
    #[arg(long, value_name = "RESULTS")]
    pub(crate) resume: Option<PathBuf>,

    /// At most N new SMTP connections per second, over the whole run.
    #[arg(long, value_name = "N")]
    pub(crate) rate: Option<u32>,

    /// At most N SMTP connections to one address at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub(crate) per_address: usize,

    /// How many domains to check at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(crate) concurrency: u16,

    /// The name to announce in EHLO.
    #[arg(long, value_name = "NAME", default_value = "mxsec.invalid")]
    pub(crate) ehlo: String,

    /// Compute the Postfix answer with the >= 3.10 TLSRPT attributes, as `mxsec query --tlsrpt`.
    #[arg(long)]
    pub(crate) tlsrpt: bool,

    /// Compute the Postfix answer treating MTA-STS `testing` as `enforce`.
    #[arg(long)]
    pub(crate) strict_testing: bool,

    #[command(flatten)]
    pub(crate) queue: QueueArgs,

    #[command(flatten)]
    pub(crate) connect: ConnectArgs,

    #[command(flatten)]
    pub(crate) resolve: ResolveArgs,
}

/// `mxsec check` on several machines: a queue of domains on a Redis server
/// (docs/scan-queue.md).
#[derive(Clone, Debug, Args)]
pub(crate) struct QueueArgs {
    /// Spread the scan over several machines through the Redis server at URL
    /// (`redis://[:PASSWORD@]HOST:PORT/DB`, or `rediss://` for TLS), with one of --enqueue,
    /// --worker or --collect.
    #[arg(long = "queue", value_name = "URL", requires = "queue_role")]
    pub(crate) url: Option<String>,

    /// The name of the queue on the server (keys `mxsec:scan:NAME:*`): one per scan.
    #[arg(long = "queue-name", value_name = "NAME", default_value = "scan")]
    pub(crate) name: String,

    /// Put the domains (DOMAIN and --file) on the queue, skipping those in --resume, then
    /// close it.
    #[arg(long, group = "queue_role", requires = "url")]
    pub(crate) enqueue: bool,

    /// Check domains from the queue, --concurrency at a time, until every domain has a
    /// result.
    #[arg(long, group = "queue_role", requires = "url", conflicts_with_all = ["domains", "file", "resume"])]
    pub(crate) worker: bool,

    /// Print every result of the queue as a JSON line, as they are written, until every
    /// domain has one.
    #[arg(long, group = "queue_role", requires = "url", conflicts_with_all = ["domains", "file", "resume"])]
    pub(crate) collect: bool,

    /// With --worker: its name in the queue's consumer group, unique per worker
    /// (default: HOST-PID).
    #[arg(long, value_name = "NAME", requires = "url", conflicts_with_all = ["enqueue", "collect"])]
    pub(crate) consumer: Option<String>,

    /// With --worker: take over domains whose worker has been silent this many seconds (a
    /// working worker renews its claims three times in this time).
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    pub(crate) claim_idle: Duration,

    /// With a rediss:// --queue: verify the server's certificate with the CA certificates of
    /// this PEM file instead of the system's roots.
    #[arg(long, value_name = "PATH", requires = "url")]
    pub(crate) redis_ca_file: Option<PathBuf>,

    /// With a rediss:// --queue: the client certificate (PEM) for a server that requires
    /// one, with --redis-client-key.
    #[arg(long, value_name = "PATH", requires_all = ["url", "redis_client_key"])]
    pub(crate) redis_client_cert: Option<PathBuf>,

    /// The private key (PEM) of --redis-client-cert.
    #[arg(long, value_name = "PATH", requires_all = ["url", "redis_client_cert"])]
    pub(crate) redis_client_key: Option<PathBuf>,
}

/// Whether a command that audits mail servers may connect to special-purpose addresses.
#[derive(Clone, Copy, Debug, Args)]
pub(crate) struct ConnectArgs {
    /// Connect to loopback, private, link-local and other special-purpose addresses (RFC 6890)
    /// too, to audit a private network from inside it. Off by default: only addresses that
    /// senders on the internet can reach are probed. Such addresses stay noted (N-01).
    #[arg(long)]
    pub(crate) allow_private: bool,
}

/// The format of a scan summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SummaryFormat {
    /// Plain text for a terminal.
    Text,
    /// One JSON object.
    Json,
    /// A whole HTML page.
    Html,
}

/// The order of `mxsec check`'s reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum OrderChoice {
    /// The order of the input.
    Input,
    /// As each check ends.
    Completion,
}

/// When to colour the human report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    /// When standard output is a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `mxsec demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Show this scenario in full (its key, e.g. `t01-masked-starttls`, or its domain).
    pub(crate) scenario: Option<String>,

    /// Serve the simulated internet until SIGINT or SIGTERM: DNS on port 53 of --dns, every
    /// policy host on port 443 and every MX host on port 25 of the addresses its zone
    /// publishes (127.0.1.0/24 and up, fd6d:7873:6563::/48), so that other programs can use
    /// it without mxsec. Prints the trust anchor and CA files to configure them with. Needs
    /// root, and a network namespace of its own (docs/demo.md).
    #[arg(long, conflicts_with = "scenario")]
    pub(crate) serve: bool,

    /// With --serve: the address of the authoritative DNS server (UDP and TCP, port 53).
    #[arg(
        long,
        value_name = "IP",
        default_value = "127.0.0.53",
        requires = "serve"
    )]
    pub(crate) dns: IpAddr,

    /// With --serve: also run a validating resolver (unbound) on port 53 of this IPv4
    /// address, forwarding to the DNS server and validating from its trust anchor. Programs
    /// that trust the AD bit of their resolver, like Postfix, need it in /etc/resolv.conf
    /// (with `options trust-ad`).
    #[arg(long, value_name = "IPV4", requires = "serve")]
    pub(crate) validating_resolver: Option<Ipv4Addr>,
}

/// `mxsec daemon`.
#[derive(Debug, Args)]
pub(crate) struct DaemonArgs {
    /// The configuration file (TOML) [default: /etc/mxsec/mxsec.toml].
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// Check the configuration file, print whether it is valid, and exit.
    #[arg(long)]
    pub(crate) check_config: bool,

    /// Connection address map for the simulated internet (see `mxsec query --help`).
    #[arg(long, value_name = "FILE", hide = true)]
    pub(crate) connect_map: Option<PathBuf>,
}

/// `mxsec web`.
#[derive(Debug, Args)]
pub(crate) struct WebArgs {
    /// The address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,

    /// Serve against the simulated internet built into the program, with its scenarios listed
    /// on the front page. Implies --allow-private; the trust and DNS options are ignored.
    #[arg(long)]
    pub(crate) demo: bool,

    /// Let checks connect to loopback, private, link-local and other special-purpose
    /// addresses. Off by default: the server connects wherever its visitors ask.
    #[arg(long)]
    pub(crate) allow_private: bool,

    /// The most checks running at once; beyond it visitors are told when to retry.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub(crate) max_checks: usize,

    /// The checks one client (an IPv4 address, or an IPv6 /64) may ask for per minute
    /// [default: 10, or 120 with --demo, where a visitor clicks through every scenario].
    #[arg(long, value_name = "N")]
    pub(crate) rate_limit: Option<u32>,

    /// The time limit of one check, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    pub(crate) check_timeout: Duration,

    /// Show the summary of a finished scan (the JSON lines of `mxsec check --json`) at
    /// `/scan`, and as JSON at `/api/v1/scan`. The file is read once, at start.
    #[arg(long, value_name = "RESULTS")]
    pub(crate) scan: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) resolve: ResolveArgs,
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

    /// Ask a running `mxsec daemon` instead: HOST:PORT, or the path of its Unix socket.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["json", "tlsrpt", "strict_testing"])]
    pub(crate) daemon: Option<String>,

    /// With --daemon, the socketmap map name, which selects the daemon's zone.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "postfix",
        requires = "daemon"
    )]
    pub(crate) map: String,

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
#[derive(Clone, Debug, Args)]
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

    /// The operating system's root store, a PEM bundle or a directory of PEM files (default:
    /// the system's). `check` and `web` validate every chain against it as well as against
    /// Mozilla's roots and report when only one accepts it (PKIX-01); the --ca-file CAs
    /// count for both. Verdicts always use Mozilla's roots.
    #[arg(long, value_name = "FILE|DIR")]
    pub(crate) os_store: Option<PathBuf>,

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
        .parse::<IpAddr>()
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

/// `mxsec tlsa`.
///
/// Prints zone-file lines for `_25._tcp.HOST`: by default `3 1 1` for the server's key and
/// `2 1 1` for the issuer of its certificate (RFC 7672 §3.1), with warnings about what would
/// break (D-01 `3 0 x`, D-02 one of several intermediates, D-13 too many records).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct TlsaArgs {
    #[command(subcommand)]
    pub(crate) verify: Option<TlsaCommand>,

    /// PEM files: the server's certificate chain, leaf first (`fullchain.pem`), or its public
    /// or private key.
    #[arg(value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,

    /// The mail server's host name (repeatable); default: the names in its certificate.
    #[arg(long, value_name = "HOST")]
    pub(crate) host: Vec<String>,

    /// The SMTP port of the TLSA owner name `_PORT._tcp.HOST`.
    #[arg(long, default_value_t = 25)]
    pub(crate) port: u16,

    /// The next key (PEM public or private key, or certificate) of a planned rollover, to
    /// publish at least two TTLs ahead (DANE-OPS-01); repeatable.
    #[arg(long, value_name = "FILE")]
    pub(crate) next_key: Vec<PathBuf>,

    /// Another issuing intermediate of the CA to pin with `2 1 1` (PEM); repeatable (D-02).
    #[arg(long, value_name = "FILE")]
    pub(crate) issuer: Vec<PathBuf>,

    /// A record kind to make instead of the default `3 1 1` and `2 1 1`, e.g. "3 1 1";
    /// repeatable.
    #[arg(long = "type", value_name = "\"U S M\"")]
    pub(crate) kinds: Vec<String>,

    /// TTL to write in the zone-file lines.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) ttl: Option<u32>,

    /// Take the chain from the live mail server instead of files: every address of HOST,
    /// port 25, over STARTTLS.
    #[arg(long, value_name = "HOST", conflicts_with = "files")]
    pub(crate) from_mx: Option<String>,

    #[command(flatten)]
    pub(crate) connect: ConnectArgs,

    #[command(flatten)]
    pub(crate) resolve: ResolveArgs,
}

/// `mxsec tlsa verify`.
#[derive(Debug, Subcommand)]
pub(crate) enum TlsaCommand {
    /// Check TLSA records against a certificate chain: which record matches which
    /// certificate. Exit status 0 when a usable record authenticates the chain, 1 when none
    /// does.
    Verify(TlsaVerifyArgs),
}

/// `mxsec tlsa verify`.
#[derive(Debug, Args)]
pub(crate) struct TlsaVerifyArgs {
    /// The mail server's host name: the TLSA base domain, and the name a DANE-TA chain must
    /// carry.
    #[arg(long, value_name = "HOST")]
    pub(crate) host: String,

    /// The records: zone-file lines (`... IN TLSA 3 1 1 ...`) or bare `3 1 1 HEX` lines;
    /// default: the TLSA RRset of `_PORT._tcp.HOST` in DNS.
    #[arg(long, value_name = "FILE")]
    pub(crate) records: Option<PathBuf>,

    /// The certificate chain, PEM, leaf first; default: the live server, every address of
    /// HOST on port 25 over STARTTLS.
    #[arg(long, value_name = "FILE")]
    pub(crate) cert: Option<PathBuf>,

    /// The port of the TLSA owner name.
    #[arg(long, default_value_t = 25)]
    pub(crate) port: u16,

    #[command(flatten)]
    pub(crate) connect: ConnectArgs,

    #[command(flatten)]
    pub(crate) resolve: ResolveArgs,
}

/// `mxsec sts`.
#[derive(Debug, Subcommand)]
pub(crate) enum StsCommand {
    /// Write a first MTA-STS policy (mode testing) for DOMAIN's MX hosts and its TXT record
    /// with a fresh id, and explain the way to enforce.
    Init(StsInitArgs),
    /// Print the TXT record with a new id, after the policy file changed (STS-OPS-01).
    Bump(StsBumpArgs),
    /// Serve policies over HTTPS at https://mta-sts.DOMAIN/.well-known/mta-sts.txt.
    ///
    /// Certificates are reloaded when their files change; policies on SIGHUP.
    Serve(StsServeArgs),
}

/// `mxsec sts init`.
#[derive(Debug, Args)]
pub(crate) struct StsInitArgs {
    /// The policy domain (the part after `@`).
    pub(crate) domain: String,

    /// An MX host of the domain (repeatable); default: the domain's MX records, looked up.
    #[arg(long, value_name = "HOST")]
    pub(crate) mx: Vec<String>,

    /// Write the policy file here instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub(crate) write: Option<PathBuf>,

    /// TTL to write in the TXT record line.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) ttl: Option<u32>,

    #[command(flatten)]
    pub(crate) resolve: ResolveArgs,
}

/// `mxsec sts bump`.
#[derive(Debug, Args)]
pub(crate) struct StsBumpArgs {
    /// The policy domain.
    pub(crate) domain: String,

    /// The new policy file: checked before the record is printed (update the policy first,
    /// then the id; STS-OPS-01).
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,

    /// The id published now, so that the new one surely differs.
    #[arg(long, value_name = "ID")]
    pub(crate) current_id: Option<String>,

    /// TTL to write in the TXT record line.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) ttl: Option<u32>,
}

/// `mxsec sts serve`.
#[derive(Debug, Args)]
pub(crate) struct StsServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "[::]:443")]
    pub(crate) listen: SocketAddr,

    /// A directory with one subdirectory per policy domain, each holding `mta-sts.txt`,
    /// `fullchain.pem` and `privkey.pem` (certificate for mta-sts.DOMAIN).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["domain", "policy", "cert", "key"])]
    pub(crate) sites: Option<PathBuf>,

    /// One policy domain to serve (with --policy, --cert and --key).
    #[arg(long, value_name = "DOMAIN", requires_all = ["policy", "cert", "key"])]
    pub(crate) domain: Option<String>,

    /// The policy file of --domain.
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,

    /// The certificate chain for mta-sts.DOMAIN, PEM, leaf first.
    #[arg(long, value_name = "FILE")]
    pub(crate) cert: Option<PathBuf>,

    /// Its private key, PEM.
    #[arg(long, value_name = "FILE")]
    pub(crate) key: Option<PathBuf>,

    /// How often to check certificate files for changes, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub(crate) watch_interval: u64,
}

/// `mxsec tlsrpt`.
#[derive(Debug, Subcommand)]
pub(crate) enum TlsrptCommand {
    /// Print the `_smtp._tls` TXT record for the reporting URIs, percent-encoded as RFC 8460
    /// §3 requires (RPT-TXT-03).
    Record(TlsrptRecordArgs),
    /// Summarise TLS-RPT reports: .json, .json.gz and .eml files, or directories of them.
    ///
    /// Exit status 0 when every file was read, 1 when some could not be (each is named on
    /// stderr with what is wrong; the others are still counted).
    Read(TlsrptReadArgs),
    /// Build the day's reports (one per policy domain, RFC 8460 §4) from what `mxsec daemon`
    /// recorded, and write them as .json.gz files named per RFC 8460 §5.1 (RPT-DEL-01).
    Report(TlsrptReportArgs),
}

/// `mxsec tlsrpt record`.
#[derive(Debug, Args)]
pub(crate) struct TlsrptRecordArgs {
    /// Reporting URIs, `mailto:` or `https:`, repeatable or comma-separated; commas inside a
    /// URI are kept when not followed by a scheme.
    #[arg(long, value_name = "URI[,URI...]", required = true)]
    pub(crate) rua: Vec<String>,

    /// The policy domain: print a zone-file line for `_smtp._tls.DOMAIN`.
    #[arg(long, value_name = "DOMAIN")]
    pub(crate) domain: Option<String>,

    /// TTL to write in the zone-file line.
    #[arg(long, value_name = "SECONDS", requires = "domain")]
    pub(crate) ttl: Option<u32>,
}

/// `mxsec tlsrpt report`.
#[derive(Debug, Args)]
pub(crate) struct TlsrptReportArgs {
    /// Write the reports to --out instead of sending them.
    #[arg(long, requires = "out")]
    pub(crate) dry_run: bool,

    /// The UTC day to report on, YYYY-MM-DD (default: yesterday).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub(crate) date: Option<String>,

    /// With --dry-run: the directory the report files are written to.
    #[arg(long, value_name = "DIR", requires = "dry_run")]
    pub(crate) out: Option<PathBuf>,

    /// The daemon's configuration file: its [tlsrpt] section and store.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

/// `mxsec tlsrpt read`.
#[derive(Debug, Args)]
pub(crate) struct TlsrptReadArgs {
    /// Report files or directories (read recursively).
    #[arg(value_name = "FILE|DIR", required = true)]
    pub(crate) paths: Vec<PathBuf>,

    /// Print the aggregate as JSON.
    #[arg(long)]
    pub(crate) json: bool,
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
    fn demo_serve_options() {
        let cli = Cli::try_parse_from(["mxsec", "demo", "--serve"]).unwrap();
        let Command::Demo(args) = cli.command else {
            panic!("not a demo command");
        };
        assert!(args.serve);
        assert_eq!(args.dns, IpAddr::from([127, 0, 0, 53]));
        assert_eq!(args.validating_resolver, None);
        let cli = Cli::try_parse_from([
            "mxsec",
            "demo",
            "--serve",
            "--dns",
            "127.0.0.2",
            "--validating-resolver",
            "127.0.0.1",
        ])
        .unwrap();
        let Command::Demo(args) = cli.command else {
            panic!("not a demo command");
        };
        assert_eq!(args.dns, IpAddr::from([127, 0, 0, 2]));
        assert_eq!(args.validating_resolver, Some(Ipv4Addr::LOCALHOST));
        assert!(Cli::try_parse_from(["mxsec", "demo", "--dns", "127.0.0.2"]).is_err());
        assert!(Cli::try_parse_from(["mxsec", "demo", "healthy", "--serve"]).is_err());
        assert!(
            Cli::try_parse_from(["mxsec", "demo", "--serve", "--validating-resolver", "::1"])
                .is_err()
        );
    }

    #[test]
    fn check_queue_roles() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["mxsec", "check"], args].concat());
        let url = "redis://127.0.0.1/";
        let Command::Check(args) = parse(&["--queue", url, "--worker", "--claim-idle", "2.5"])
            .unwrap()
            .command
        else {
            panic!("not a check command");
        };
        assert!(args.queue.worker && !args.queue.enqueue && !args.queue.collect);
        assert_eq!(args.queue.claim_idle, Duration::from_millis(2500));
        assert_eq!(args.queue.name, "scan");
        assert!(parse(&["--queue", url, "--collect", "--queue-name", "nl"]).is_ok());
        assert!(parse(&["--queue", url, "--enqueue", "--file", "list.txt"]).is_ok());
        assert!(parse(&["--queue", url, "--enqueue", "a.example"]).is_ok());
        // A role needs the queue, the queue needs a role, and there is one role at a time.
        assert!(parse(&["--worker"]).is_err());
        assert!(parse(&["--queue", url, "a.example"]).is_err());
        assert!(parse(&["--queue", url, "--worker", "--collect"]).is_err());
        // TLS settings go with a queue, and a client certificate with its key.
        let tls = parse(&[
            "--queue",
            "rediss://h/",
            "--worker",
            "--redis-ca-file",
            "ca.pem",
        ]);
        let Command::Check(args) = tls.unwrap().command else {
            panic!("not a check command");
        };
        assert_eq!(
            crate::config::redis_tls(&args.queue).ca_file,
            Some(PathBuf::from("ca.pem"))
        );
        assert!(parse(&["a.example", "--redis-ca-file", "ca.pem"]).is_err());
        assert!(parse(&["--queue", url, "--worker", "--redis-client-cert", "c.pem"]).is_err());
        // Workers and the collector take their domains from the queue.
        assert!(parse(&["--queue", url, "--worker", "a.example"]).is_err());
        assert!(parse(&["--queue", url, "--collect", "--file", "list.txt"]).is_err());
        assert!(parse(&["--queue", url, "--enqueue"]).is_err());
        assert!(parse(&["--queue", url, "--collect", "--consumer", "w1"]).is_err());
        assert!(parse(&["--consumer", "w1", "a.example"]).is_err());
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

    #[test]
    fn dane_tlsa_03_tlsa_and_tlsa_verify_parse() {
        let cli = Cli::try_parse_from(["mxsec", "tlsa", "fullchain.pem", "--next-key", "next.pem"])
            .unwrap();
        let Command::Tlsa(args) = cli.command else {
            panic!()
        };
        assert!(args.verify.is_none());
        assert_eq!(args.files, [PathBuf::from("fullchain.pem")]);
        let cli = Cli::try_parse_from([
            "mxsec",
            "tlsa",
            "verify",
            "--host",
            "mx.example.com",
            "--records",
            "r.zone",
            "--cert",
            "c.pem",
        ])
        .unwrap();
        let Command::Tlsa(args) = cli.command else {
            panic!()
        };
        assert!(matches!(args.verify, Some(TlsaCommand::Verify(_))));
    }

    #[test]
    fn sts_ops_02_serve_takes_a_sites_directory_or_one_domain() {
        assert!(
            Cli::try_parse_from(["mxsec", "sts", "serve", "--sites", "/etc/mxsec/sites"]).is_ok()
        );
        assert!(Cli::try_parse_from([
            "mxsec",
            "sts",
            "serve",
            "--domain",
            "example.com",
            "--policy",
            "p",
            "--cert",
            "c",
            "--key",
            "k"
        ])
        .is_ok());
        assert!(Cli::try_parse_from(["mxsec", "sts", "serve", "--domain", "example.com"]).is_err());
        assert!(Cli::try_parse_from([
            "mxsec",
            "sts",
            "serve",
            "--sites",
            "d",
            "--domain",
            "example.com",
            "--policy",
            "p",
            "--cert",
            "c",
            "--key",
            "k"
        ])
        .is_err());
    }

    #[test]
    fn rpt_txt_03_record_and_read_parse() {
        assert!(Cli::try_parse_from(["mxsec", "tlsrpt", "record"]).is_err());
        assert!(Cli::try_parse_from([
            "mxsec",
            "tlsrpt",
            "record",
            "--rua",
            "mailto:a@example.com"
        ])
        .is_ok());
        assert!(Cli::try_parse_from(["mxsec", "tlsrpt", "read"]).is_err());
        assert!(Cli::try_parse_from(["mxsec", "tlsrpt", "read", "--json", "reports/"]).is_ok());
    }

    #[test]
    fn check_parses_domains_file_and_output_options() {
        let cli = Cli::try_parse_from([
            "mxsec",
            "check",
            "a.example",
            "b.example",
            "--json",
            "--concurrency",
            "3",
            "--color",
            "never",
            "--ca-file",
            "ca.pem",
        ])
        .unwrap();
        let Command::Check(c) = cli.command else {
            panic!("parsed as check");
        };
        assert_eq!(c.domains, ["a.example", "b.example"]);
        assert!(c.json);
        assert_eq!(c.concurrency, 3);
        assert_eq!(c.color, ColorChoice::Never);
        assert_eq!(c.resolve.ca_file.len(), 1);

        let cli = Cli::try_parse_from(["mxsec", "check", "--file", "-"]).unwrap();
        let Command::Check(c) = cli.command else {
            panic!("parsed as check");
        };
        assert_eq!(c.file, Some(PathBuf::from("-")));
        assert!(c.domains.is_empty());

        assert!(Cli::try_parse_from(["mxsec", "check"]).is_err());

        let cli = Cli::try_parse_from(["mxsec", "check", "--file", "l", "--summary"]).unwrap();
        let Command::Check(c) = cli.command else {
            panic!("parsed as check");
        };
        assert_eq!(c.summary, Some(SummaryFormat::Text));
        let cli = Cli::try_parse_from([
            "mxsec",
            "check",
            "--summary-of",
            "r.jsonl",
            "--summary=html",
        ])
        .unwrap();
        let Command::Check(c) = cli.command else {
            panic!("parsed as check");
        };
        assert_eq!(c.summary, Some(SummaryFormat::Html));
        assert_eq!(c.summary_of, Some(PathBuf::from("r.jsonl")));
        // `--summary json` would take `json` for a domain: the format needs `=`.
        let cli = Cli::try_parse_from(["mxsec", "check", "--summary", "x.example"]).unwrap();
        let Command::Check(c) = cli.command else {
            panic!("parsed as check");
        };
        assert_eq!(c.domains, ["x.example"]);
        for conflicting in [
            &["mxsec", "check", "--summary", "--json", "x.example"][..],
            &["mxsec", "check", "--summary-of", "r.jsonl", "x.example"],
            &["mxsec", "check", "--summary-of", "r.jsonl", "--file", "l"],
        ] {
            assert!(Cli::try_parse_from(conflicting).is_err(), "{conflicting:?}");
        }
        assert!(
            Cli::try_parse_from(["mxsec", "check", "x.example", "--concurrency", "0"]).is_err()
        );
    }

    #[test]
    fn daemon_and_query_daemon_parse() {
        let cli = Cli::try_parse_from([
            "mxsec",
            "daemon",
            "--config",
            "/tmp/m.toml",
            "--check-config",
        ])
        .unwrap();
        let Command::Daemon(d) = cli.command else {
            panic!("parsed as daemon");
        };
        assert_eq!(d.config, Some(PathBuf::from("/tmp/m.toml")));
        assert!(d.check_config);

        let cli = Cli::try_parse_from([
            "mxsec",
            "query",
            "--daemon",
            "127.0.0.1:8461",
            "example.com",
        ])
        .unwrap();
        let Command::Query(q) = cli.command else {
            panic!("parsed as query");
        };
        assert_eq!(q.daemon.as_deref(), Some("127.0.0.1:8461"));
        assert_eq!(q.map, "postfix");
        assert!(Cli::try_parse_from(["mxsec", "query", "--map", "x", "example.com"]).is_err());
    }
}
