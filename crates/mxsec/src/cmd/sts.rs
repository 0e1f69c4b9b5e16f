//! `mxsec sts init`, `mxsec sts bump` and `mxsec sts serve` (RFC 8461).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use mxsec_net::dial::ConnectPolicy;
use mxsec_net::dns::{Answer, MxSet, MxTarget};
use mxsec_proto::mta_sts::policy::{policy_url, Policy, MAX_POLICY_SIZE};
use mxsec_proto::mta_sts::publish::{self, ENFORCE_MAX_AGE, TESTING_MAX_AGE};
use mxsec_proto::mta_sts::record::PolicyId;
use mxsec_proto::name::DomainName;
use mxsec_server::policy_host::{PolicyServer, ReloadOutcome, ServeOptions, Site};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

use crate::cli::{StsBumpArgs, StsCommand, StsInitArgs, StsServeArgs};
use crate::config::{explain_dns, network};

/// Runs `mxsec sts …`.
pub(crate) async fn run(command: StsCommand) -> Result<ExitCode> {
    match command {
        StsCommand::Init(args) => init(&args).await,
        StsCommand::Bump(args) => bump(&args),
        StsCommand::Serve(args) => serve(args).await,
    }
}

async fn init(args: &StsInitArgs) -> Result<ExitCode> {
    let domain = parse_domain(&args.domain)?;
    let mx = if args.mx.is_empty() {
        current_mx(&domain, args).await?
    } else {
        args.mx
            .iter()
            .map(|h| DomainName::parse(h).with_context(|| format!("--mx {h}")))
            .collect::<Result<Vec<_>>>()?
    };
    let policy = publish::initial_policy(&mx)?;
    let id = publish::new_id(OffsetDateTime::now_utc());
    let url = policy_url(&domain)?;
    let text = policy.to_text();
    match &args.write {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("# Policy written to {}: serve it at {url}", path.display());
        }
        None => {
            println!("# 1. The policy: serve it at {url}");
            print!("{}", text.replace("\r\n", "\n"));
        }
    }
    println!();
    println!("# 2. Once the policy is served, publish this TXT record:");
    println!("{}", publish::txt_line(&domain, args.ttl, &id)?);
    println!();
    println!("{}", next_steps(&domain));
    Ok(ExitCode::SUCCESS)
}

/// The domain's MX hosts, from DNS, in preference order (RFC 5321 §5.1). A null MX
/// (RFC 7505) has nothing to protect; without MX records the domain itself is the mail host.
async fn current_mx(domain: &DomainName, args: &StsInitArgs) -> Result<Vec<DomainName>> {
    let resolving = network(&args.resolve, ConnectPolicy::AnyAddress).await?;
    let resolved = resolving.dns.mx(domain).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot look up the MX records of {domain}: {}; or give them with --mx",
            explain_dns(&e, &args.resolve)
        )
    })?;
    let hosts = match resolved.answer().value_ignoring_security() {
        Answer::Records(MxSet::NullMx) => {
            bail!("{domain} has a null MX (RFC 7505): it accepts no mail, and needs no MTA-STS policy")
        }
        Answer::Records(MxSet::Exchanges(list)) => {
            let mut hosts = Vec::new();
            for exchange in list {
                match &exchange.target {
                    MxTarget::Host(host) => hosts.push(host.clone()),
                    other => eprintln!(
                        "warning: {domain}: MX target {other:?} is not a host name and is left out"
                    ),
                }
            }
            hosts
        }
        Answer::NoData | Answer::NxDomain => {
            eprintln!("warning: {domain} has no MX records; senders deliver to the domain itself, so the policy lists it");
            vec![domain.clone()]
        }
    };
    if hosts.is_empty() {
        bail!("{domain}: no usable MX host; give them with --mx");
    }
    Ok(hosts)
}

/// The way from `testing` to `enforce` (RFC 8461 §5, §8; STS-OPS-01).
fn next_steps(domain: &DomainName) -> String {
    format!(
        "# 3. The policy host mta-sts.{domain} needs a certificate for that name from a public CA\n\
         #    (STS-FETCH-01); `mxsec sts serve` can host it. Publish TLS-RPT too\n\
         #    (`mxsec tlsrpt record`), so that senders report failures.\n\
         # 4. Mode testing: senders deliver as before and report what would fail (STS-APP-02).\n\
         #    Read the reports for at least two weeks (`mxsec tlsrpt read`) and check the domain\n\
         #    with `mxsec check {domain}`.\n\
         # 5. When no failures are reported, change the policy to `mode: enforce` and\n\
         #    `max_age: {ENFORCE_MAX_AGE}`, serve it, then run `mxsec sts bump {domain}` and\n\
         #    publish the new TXT record: first the policy, then the id (STS-OPS-01).\n\
         # 6. Whenever the MX set changes: add the new host to the policy, serve it, bump the id,\n\
         #    and only then change the MX records. Senders may keep the old policy for\n\
         #    max_age seconds ({TESTING_MAX_AGE} while testing)."
    )
}

fn bump(args: &StsBumpArgs) -> Result<ExitCode> {
    let domain = parse_domain(&args.domain)?;
    if let Some(path) = &args.policy {
        check_policy(path)?;
    }
    let current = args
        .current_id
        .as_deref()
        .map(|id| PolicyId::parse(id).with_context(|| format!("--current-id {id}")))
        .transpose()?;
    let id = publish::next_id(OffsetDateTime::now_utc(), current.as_ref());
    println!("{}", publish::txt_line(&domain, args.ttl, &id)?);
    Ok(ExitCode::SUCCESS)
}

/// Checks a policy file with the parser senders use, printing its warnings.
fn check_policy(path: &Path) -> Result<Policy> {
    let body = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if body.len() > MAX_POLICY_SIZE {
        bail!(
            "{}: larger than {MAX_POLICY_SIZE} bytes (STS-FETCH-04)",
            path.display()
        );
    }
    let parsed =
        Policy::parse(&body).with_context(|| format!("{}: invalid policy", path.display()))?;
    for warning in &parsed.warnings {
        eprintln!("warning: {}: {warning}", path.display());
    }
    Ok(parsed.value)
}

async fn serve(args: StsServeArgs) -> Result<ExitCode> {
    let sites = sites(&args)?;
    let options = ServeOptions {
        watch_interval: Duration::from_secs(args.watch_interval.max(1)),
        ..ServeOptions::default()
    };
    let (server, warnings) = PolicyServer::load(sites, options)?;
    for (domain, warning) in warnings {
        eprintln!("warning: {domain}: {warning}");
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let hosts: Vec<String> = server.hosts().iter().map(ToString::to_string).collect();
    tracing::info!(address = %listener.local_addr()?, hosts = %hosts.join(" "), "serving MTA-STS policies");
    eprintln!(
        "mxsec: serving {} on {}",
        hosts.join(", "),
        listener.local_addr()?
    );

    let mut hangup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let reloader = server.clone();
    let reloads = tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            for outcome in reloader.reload() {
                match outcome {
                    ReloadOutcome::Reloaded { domain, warnings } => {
                        eprintln!("mxsec: {domain}: policy reloaded");
                        for w in warnings {
                            eprintln!("warning: {domain}: {w}");
                        }
                    }
                    ReloadOutcome::Failed { domain, error } => {
                        eprintln!("mxsec: {domain}: policy not reloaded, the previous one is still served: {error}");
                    }
                    ReloadOutcome::Unchanged { .. } => {}
                    other => eprintln!("mxsec: {other:?}"),
                }
            }
        }
    });
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    };
    server.serve(listener, shutdown).await?;
    reloads.abort();
    Ok(ExitCode::SUCCESS)
}

/// The sites to serve: one from `--domain`, or one per subdirectory of `--sites`.
fn sites(args: &StsServeArgs) -> Result<Vec<Site>> {
    if let (Some(domain), Some(policy), Some(cert), Some(key)) =
        (&args.domain, &args.policy, &args.cert, &args.key)
    {
        return Ok(vec![Site {
            domain: parse_domain(domain)?,
            policy: policy.clone(),
            cert: cert.clone(),
            key: key.clone(),
        }]);
    }
    let Some(dir) = &args.sites else {
        bail!("give --sites DIR, or --domain with --policy, --cert and --key");
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    let mut sites = Vec::new();
    for entry in entries {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let domain = DomainName::parse(&name).with_context(|| {
            format!(
                "{}: the directory name must be the policy domain",
                entry.display()
            )
        })?;
        sites.push(Site {
            domain,
            policy: entry.join("mta-sts.txt"),
            cert: entry.join("fullchain.pem"),
            key: entry.join("privkey.pem"),
        });
    }
    if sites.is_empty() {
        bail!("{}: no site directories (one per policy domain, with mta-sts.txt, fullchain.pem and privkey.pem)", dir.display());
    }
    Ok(sites)
}

fn parse_domain(text: &str) -> Result<DomainName> {
    DomainName::parse(text).with_context(|| format!("{text:?} is not a domain name"))
}
