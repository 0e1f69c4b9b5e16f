//! `mxsec tlsa` and `mxsec tlsa verify` (RFC 7671, RFC 7672).

use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use mxsec_check::dane::{self, Usability};
use mxsec_net::dial::{ConnectPolicy, DialError};
use mxsec_net::dns::{Answer, DnsError};
use mxsec_net::observation::address_list;
use mxsec_net::smtp_probe::{probe_all, ProbeFailure, ProbeOptions};
use mxsec_net::tls::files::{read_pem, read_records, Pem};
use mxsec_net::tls::Verification;
use mxsec_proto::certificate;
use mxsec_proto::dane::matching::{MatchedAt, ReferenceNames};
use mxsec_proto::dane::publish::{self, answer_size_warning, PlanInput, RecordKind, DEFAULT_KINDS};
use mxsec_proto::dane::tlsa::TlsaRecord;
use mxsec_proto::dnssec::Security;
use mxsec_proto::name::DomainName;
use rustls_pki_types::{CertificateDer, UnixTime};

use crate::cli::{ConnectArgs, ResolveArgs, TlsaArgs, TlsaCommand, TlsaVerifyArgs};
use crate::config::{bogus_hint, explain_dns, network};

/// Runs `mxsec tlsa …`.
pub(crate) async fn run(args: TlsaArgs) -> Result<ExitCode> {
    match &args.verify {
        Some(TlsaCommand::Verify(verify_args)) => verify(verify_args).await,
        None => generate(&args).await,
    }
}

async fn generate(args: &TlsaArgs) -> Result<ExitCode> {
    let mut current = Pem::default();
    let mut from_mx_host = Vec::new();
    if let Some(host) = &args.from_mx {
        let host = DomainName::parse(host).with_context(|| format!("--from-mx {host}"))?;
        let chains = live_chains(&args.resolve, args.connect, &host).await?;
        let mut served = chains.into_iter();
        let Some((first_address, first)) = served.next() else {
            bail!("{host}: no address completed a TLS handshake");
        };
        let first_key = first
            .first()
            .and_then(|c| certificate::spki(c.as_ref()).map(<[u8]>::to_vec));
        for (address, chain) in served {
            let key = chain
                .first()
                .and_then(|c| certificate::spki(c.as_ref()).map(<[u8]>::to_vec));
            if key != first_key {
                eprintln!(
                    "warning: {address} serves a different key than {first_address}; records are made \
                     for {first_address}, and every address must match them (SCENARIOS.md D-10)"
                );
            }
        }
        current.certs = first;
        from_mx_host.push(host.to_string());
    } else if args.files.is_empty() {
        bail!("give the server's certificate chain or key as a PEM file, or --from-mx HOST");
    }
    for file in &args.files {
        current.extend(read_pem(file)?);
    }
    let next = args
        .next_key
        .iter()
        .map(|f| read_pem(f).and_then(|p| p.credentials(f)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut issuers = Vec::new();
    for file in &args.issuer {
        let pem = read_pem(file)?;
        if pem.certs.is_empty() {
            bail!("--issuer {}: no CERTIFICATE in the file", file.display());
        }
        issuers.extend(pem.certs);
    }
    let kinds = if args.kinds.is_empty() {
        DEFAULT_KINDS.to_vec()
    } else {
        args.kinds
            .iter()
            .map(|k| {
                RecordKind::parse(k).with_context(|| {
                    format!("--type {k:?}: expected three numbers, e.g. \"3 1 1\"")
                })
            })
            .collect::<Result<Vec<_>>>()?
    };
    let leaf_names = current
        .certs
        .first()
        .map(certificate::dns_names)
        .unwrap_or_default();
    let input = PlanInput {
        current: current.credentials(
            args.files
                .first()
                .map_or(Path::new("--from-mx"), |p| p.as_path()),
        )?,
        next,
        issuers,
        kinds,
    };
    let plan = publish::plan(&input)?;
    let given_hosts = if args.host.is_empty() {
        &from_mx_host
    } else {
        &args.host
    };
    let hosts = hosts(given_hosts, &leaf_names)?;
    let records: Vec<TlsaRecord> = plan.value.iter().map(|p| p.record.clone()).collect();
    let mut warnings: Vec<String> = plan.warnings.iter().map(ToString::to_string).collect();
    for host in &hosts {
        let owner = publish::owner(host, args.port)?;
        println!(
            "; TLSA records for {host}, port {} (RFC 7672): publish them in the DNSSEC-signed zone",
            args.port
        );
        print!("{}", publish::zone_lines(&owner, args.ttl, &plan.value));
        if let Some(w) = answer_size_warning(&owner, &records) {
            warnings.push(w.to_string());
        }
    }
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The host names to write records for: `--host`, else the certificate's names without
/// wildcards.
fn hosts(given: &[String], leaf_names: &[String]) -> Result<Vec<DomainName>> {
    if !given.is_empty() {
        return given
            .iter()
            .map(|h| DomainName::parse(h).with_context(|| format!("--host {h}")))
            .collect();
    }
    let names: Vec<DomainName> = leaf_names
        .iter()
        .filter(|n| !n.starts_with('*'))
        .filter_map(|n| DomainName::parse(n).ok())
        .collect();
    if names.is_empty() {
        bail!("give the mail server's name with --host (the input has no certificate with a DNS name)");
    }
    Ok(names)
}

async fn verify(args: &TlsaVerifyArgs) -> Result<ExitCode> {
    let host = DomainName::parse(&args.host).with_context(|| format!("--host {}", args.host))?;
    let mut base = host.clone();
    let records = match &args.records {
        Some(file) => read_records(file)?,
        None => {
            let resolving = network(&args.resolve, ConnectPolicy::AnyAddress).await?;
            let lookup = resolving.dns.tlsa(&host, args.port).await.map_err(|e| {
                anyhow::anyhow!("TLSA lookup for {host}: {}", explain_dns(&e, &args.resolve))
            })?;
            let answer = lookup.answer.answer();
            if answer.security() != Security::Secure {
                eprintln!(
                    "warning: the TLSA RRset at {} is {:?}, not DNSSEC-secure: senders ignore it \
                     (DANE-DNS-05, DANE-DNS-06)",
                    lookup.owner,
                    answer.security()
                );
            }
            base = lookup.base_domain.clone();
            match answer.value_ignoring_security() {
                Answer::Records(records) => records.clone(),
                Answer::NoData | Answer::NxDomain => bail!("no TLSA records at {}", lookup.owner),
            }
        }
    };
    let chains: Vec<(String, Vec<CertificateDer<'static>>)> = match &args.cert {
        Some(file) => {
            let chain = read_pem(file)?.certs;
            if chain.is_empty() {
                bail!("{}: no CERTIFICATE in the file", file.display());
            }
            vec![(file.display().to_string(), chain)]
        }
        None => live_chains(&args.resolve, args.connect, &host)
            .await?
            .into_iter()
            .map(|(address, chain)| (address.to_string(), chain))
            .collect(),
    };
    let names = ReferenceNames::new(base).with(host.clone());
    let mut all = !chains.is_empty();
    for (label, chain) in &chains {
        if chains.len() > 1 || args.cert.is_none() {
            println!("{label}:");
        }
        all &= judge(&records, chain, &names);
    }
    let issuers: Vec<&CertificateDer<'_>> = chains
        .iter()
        .flat_map(|(_, chain)| chain.iter().skip(1))
        .collect();
    let owner = publish::owner(&host, args.port)?;
    let warnings = publish::lint(&records, &issuers)
        .into_iter()
        .chain(answer_size_warning(&owner, &records));
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    if all {
        println!("{host}: authenticated by DANE");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{host}: NOT authenticated: DANE senders will not deliver to this server (DANE-AUTH-06)");
        Ok(ExitCode::from(1))
    }
}

/// Prints which record matches which certificate of `chain`, as the checker judges it
/// ([`dane::judge_chain`]); whether one authenticates it.
fn judge(records: &[TlsaRecord], chain: &[CertificateDer<'_>], names: &ReferenceNames) -> bool {
    let judgement = dane::judge_chain(records, chain, names, UnixTime::now());
    for dropped in &judgement.dropped {
        println!("{}: not usable: {}", short(&dropped.record), dropped.reason);
    }
    match judgement.usability {
        Usability::Usable => {}
        Usability::AllUnusable => println!(
            "no usable record: DANE senders require TLS but cannot authenticate the server (DANE-DISC-05)"
        ),
        Usability::Empty => println!("no records"),
    }
    for verdict in &judgement.evaluation.records {
        match &verdict.result {
            Ok(m) => {
                let (position, what) = match m.at {
                    MatchedAt::Presented(0) => (0, "the server certificate".to_owned()),
                    MatchedAt::Presented(i) => (
                        i,
                        format!(
                            "issuer {}",
                            chain.get(i).map(publish::subject_of).unwrap_or_default()
                        ),
                    ),
                    MatchedAt::Record => (0, "the key in the record itself".to_owned()),
                };
                let name = m
                    .name
                    .as_ref()
                    .map(|n| format!(", name {n} checked"))
                    .unwrap_or_default();
                println!(
                    "{}: matches {what} (certificate {} of the chain){name}",
                    short(&verdict.record),
                    position + 1
                );
            }
            Err(failure) => {
                let note = if judgement.kind_matches(RecordKind::of(&verdict.record)) {
                    " (another record of this kind matches: fine for a pre-published next key or another issuing CA; otherwise remove it)"
                } else {
                    ""
                };
                println!(
                    "{}: does not match: {failure}{note}",
                    short(&verdict.record)
                );
            }
        }
    }
    for kind in judgement.unmatched_kinds() {
        eprintln!(
            "warning: no `{kind}` record matches the current chain; records of a kind must \
             match the chain in service at every moment (DANE-TLSA-04)"
        );
    }
    judgement.authenticated()
}

/// The chain each address of `host` presents on port 25 after STARTTLS, in address order;
/// addresses that do not complete a handshake are reported on stderr and left out.
/// Special-purpose addresses are connected to only with `--allow-private`, the rule of
/// `mxsec check` (SCENARIOS.md N-01).
async fn live_chains(
    resolve: &ResolveArgs,
    connect: ConnectArgs,
    host: &DomainName,
) -> Result<Vec<(IpAddr, Vec<CertificateDer<'static>>)>> {
    let resolving = network(
        resolve,
        ConnectPolicy::allowing_private(connect.allow_private),
    )
    .await?;
    let found = resolving.dns.addresses(host).await;
    let addresses = address_list(&found);
    let failures: Vec<&DnsError> = [found.ipv4.as_ref().err(), found.ipv6.as_ref().err()]
        .into_iter()
        .flatten()
        .collect();
    if addresses.is_empty() {
        // Say why: a failed lookup is not an absent address, and a bogus one above all,
        // whose data is withheld (RFC 4035 §5.5).
        if failures.is_empty() {
            bail!("{host} has no address (A or AAAA)");
        }
        let text: Vec<String> = failures.iter().map(ToString::to_string).collect();
        let hint = if failures.iter().any(|e| e.is_bogus()) {
            format!("; {}", bogus_hint(resolve))
        } else {
            String::new()
        };
        bail!(
            "the address lookup of {host} failed: {}{hint}",
            text.join("; ")
        );
    }
    for failure in &failures {
        eprintln!("warning: {failure}");
    }
    // No certificate check: the point is to see what the server presents.
    let observe = Verification::Observe {
        dane: None,
        pkix: None,
    };
    let ehlo = DomainName::parse("localhost").context("EHLO name")?;
    let options = ProbeOptions::new(ehlo, host.clone(), observe);
    let mut chains = Vec::new();
    let mut refused = false;
    for report in probe_all(&resolving.dialer, &addresses, &options).await {
        match (report.tls, report.result) {
            (Some(tls), _) => chains.push((report.address.ip(), tls.chain)),
            (None, Err(failure)) => {
                refused |= matches!(failure, ProbeFailure::Connect(DialError::Refused { .. }));
                eprintln!("warning: {}: {failure}", report.address);
            }
            (None, Ok(())) => eprintln!("warning: {}: no TLS session", report.address),
        }
    }
    if chains.is_empty() {
        if refused {
            bail!(
                "no address of {host} completed a TLS handshake; special-purpose addresses \
                 are connected to only with --allow-private (N-01)"
            );
        }
        bail!("no address of {host} completed a TLS handshake");
    }
    Ok(chains)
}

/// `u s m` and the first 16 hex digits, for messages.
fn short(record: &TlsaRecord) -> String {
    let text = record.to_string();
    match text.char_indices().nth(6 + 16) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}
