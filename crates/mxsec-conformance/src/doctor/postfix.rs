//! The Postfix checks: `main.cf` as `postconf` reports it (defaults included), judged by pure
//! functions, and the CA file it names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Finding, Severity};

/// Every parameter `postconf` prints, defaults included.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Postconf {
    params: BTreeMap<String, String>,
}

impl Postconf {
    /// Runs `postconf` (with `-c DIR` for a non-default instance) and parses its output.
    ///
    /// # Errors
    ///
    /// Why `postconf` could not run, or what it said when it failed.
    pub fn read(postconf: &Path, config_dir: Option<&Path>) -> Result<Self, String> {
        let mut command = Command::new(postconf);
        if let Some(dir) = config_dir {
            command.arg("-c").arg(dir);
        }
        let output = command
            .output()
            .map_err(|e| format!("{}: {e}", postconf.display()))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
        }
        Ok(Self::parse(&String::from_utf8_lossy(&output.stdout)))
    }

    /// Parses `name = value` lines.
    pub fn parse(text: &str) -> Self {
        let params = text
            .lines()
            .filter_map(|line| line.split_once(" ="))
            .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
            .collect();
        Self { params }
    }

    /// A parameter's value; empty when unset.
    pub fn get(&self, name: &str) -> &str {
        self.params.get(name).map_or("", String::as_str)
    }
}

/// A socketmap table of `smtp_tls_policy_maps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Socketmap {
    /// The table as written (`socketmap:inet:127.0.0.1:8461:postfix`).
    pub table: String,
    /// Where the server listens.
    pub endpoint: Endpoint,
    /// The map name, the first word of every request.
    pub name: String,
}

/// Where a socketmap server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// TCP, `HOST:PORT`.
    Inet(String),
    /// A Unix socket.
    Unix(PathBuf),
}

/// The socketmap tables of `smtp_tls_policy_maps` that name a map.
pub fn socketmaps(conf: &Postconf) -> Vec<Socketmap> {
    tables(conf)
        .filter_map(|table| parse_socketmap(table).ok())
        .collect()
}

fn tables(conf: &Postconf) -> impl Iterator<Item = &str> {
    conf.get("smtp_tls_policy_maps")
        .split([',', ' ', '\t'])
        .filter(|t| !t.is_empty())
}

/// Parses `socketmap:inet:HOST:PORT:NAME` or `socketmap:unix:PATH:NAME`; `Err(())` for
/// another table type, `Ok` with an empty name when the name is missing.
fn parse_socketmap(table: &str) -> Result<Socketmap, ()> {
    let rest = table.strip_prefix("socketmap:").ok_or(())?;
    let (endpoint, name) = if let Some(inet) = rest.strip_prefix("inet:") {
        // HOST:PORT:NAME, HOST possibly an IPv6 address in brackets.
        let (host, rest) = match inet.strip_prefix('[') {
            Some(bracketed) => {
                let (host, rest) = bracketed.split_once(']').ok_or(())?;
                (format!("[{host}]"), rest.strip_prefix(':').unwrap_or(rest))
            }
            None => {
                let (host, rest) = inet.split_once(':').ok_or(())?;
                (host.to_owned(), rest)
            }
        };
        let (port, name) = rest.split_once(':').unwrap_or((rest, ""));
        (Endpoint::Inet(format!("{host}:{port}")), name)
    } else if let Some(unix) = rest.strip_prefix("unix:") {
        match unix.rsplit_once(':') {
            Some((path, name)) => (Endpoint::Unix(PathBuf::from(path)), name),
            None => (Endpoint::Unix(PathBuf::from(unix)), ""),
        }
    } else {
        return Err(());
    };
    Ok(Socketmap {
        table: table.to_owned(),
        endpoint,
        name: name.to_owned(),
    })
}

/// The checks of `main.cf` alone: DOC-PFX-01, -02, -03 and -05.
pub fn check(conf: &Postconf) -> Vec<Finding> {
    let mut findings = Vec::new();
    let dns = conf.get("smtp_dns_support_level");
    if dns != "dnssec" {
        findings.push(Finding::new(
            "DOC-PFX-01",
            Severity::Error,
            "smtp_dns_support_level",
            format!(
                "is {:?}: Postfix does not ask for DNSSEC validation, so it never finds a \
                 TLSA record usable and does no DANE (RFC 7672 §2.1)",
                dns
            ),
            "postconf -e smtp_dns_support_level=dnssec",
        ));
    }
    let level = conf.get("smtp_tls_security_level");
    if !matches!(level, "dane" | "dane-only") {
        findings.push(Finding::new(
            "DOC-PFX-02",
            Severity::Error,
            "smtp_tls_security_level",
            format!(
                "is {:?}: destinations the policy daemon answers NOTFOUND for get no DANE \
                 (POSTFIX.md §4.2)",
                level
            ),
            "postconf -e smtp_tls_security_level=dane",
        ));
    }
    let maps: Vec<&str> = tables(conf).collect();
    let sockets: Vec<Socketmap> = maps
        .iter()
        .filter_map(|t| parse_socketmap(t).ok())
        .collect();
    if sockets.is_empty() {
        findings.push(Finding::new(
            "DOC-PFX-03",
            Severity::Warning,
            "smtp_tls_policy_maps",
            if maps.is_empty() {
                "is empty: no MTA-STS policy is ever applied (RFC 8461 §5)".to_owned()
            } else {
                format!(
                    "has no socketmap table ({}): no MTA-STS policy daemon is asked",
                    maps.join(", ")
                )
            },
            "run mxsec daemon and postconf -e \
             smtp_tls_policy_maps=socketmap:inet:127.0.0.1:8461:postfix",
        ));
    }
    for socket in sockets.iter().filter(|s| s.name.is_empty()) {
        findings.push(Finding::new(
            "DOC-PFX-03",
            Severity::Error,
            "smtp_tls_policy_maps",
            format!(
                "{} has no map name: Postfix cannot open it and defers every message \
                 (socketmap_table(5))",
                socket.table
            ),
            format!("end the table with the map name: {}:postfix", socket.table),
        ));
    }
    findings
}

/// Whether Postfix's SMTP client is linked with the TLSRPT client library (libtlsrpt), which
/// `smtp_tlsrpt_enable` needs (Postfix 3.10 built with `-DUSE_TLSRPT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsrptBuild {
    /// `smtp(8)` or Postfix's TLS library names libtlsrpt.
    Linked,
    /// Neither does: built without TLSRPT support (or with the library linked statically).
    NotLinked,
    /// The programs could not be read.
    Unknown,
}

/// The largest program file searched for the TLSRPT library's name.
const MAX_PROGRAM: u64 = 64 << 20;

/// Looks for libtlsrpt among the libraries `smtp(8)` (in `daemon_directory`) and Postfix's TLS
/// library (in `shlib_directory`) are linked with.
pub fn tlsrpt_build(conf: &Postconf) -> TlsrptBuild {
    let mut programs = vec![Path::new(conf.get("daemon_directory")).join("smtp")];
    let shlib = conf.get("shlib_directory");
    if let (false, Ok(entries)) = (shlib.is_empty() || shlib == "no", std::fs::read_dir(shlib)) {
        programs.extend(
            entries
                .flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("libpostfix-tls")
                })
                .map(|e| e.path()),
        );
    }
    let mut read_any = false;
    for program in programs {
        let mut bytes = Vec::new();
        let read = std::fs::File::open(&program).and_then(|file| {
            std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_PROGRAM), &mut bytes)
        });
        if read.is_ok() {
            read_any = true;
            if bytes.windows(9).any(|w| w == b"libtlsrpt") {
                return TlsrptBuild::Linked;
            }
        }
    }
    if read_any {
        TlsrptBuild::NotLinked
    } else {
        TlsrptBuild::Unknown
    }
}

/// DOC-PFX-05: what this Postfix version, as built, cannot do: the MTA-STS attributes and
/// pattern checks of 3.10 and 3.10.5, and TLS-RPT (`smtp_tlsrpt_enable`, 3.10 built with
/// libtlsrpt; RFC 8460). Where Postfix cannot report, mxsec daemon's log follower can.
pub fn version_findings(conf: &Postconf, tlsrpt: TlsrptBuild) -> Vec<Finding> {
    let version = conf.get("mail_version");
    let mut numbers = version
        .split(['.', '-'])
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let parsed = (
        numbers.next().unwrap_or(0),
        numbers.next().unwrap_or(0),
        numbers.next().unwrap_or(0),
    );
    let finding = |message: String, fix: &str| {
        Finding::new("DOC-PFX-05", Severity::Info, "mail_version", message, fix)
    };
    if parsed < (3, 10, 0) {
        return vec![finding(
            format!(
                "Postfix {version} cannot take the TLSRPT/MTA-STS attributes (policy_type=sts, \
                 mx_host_pattern=, policy_ttl=) from the policy daemon, checks an MTA-STS \
                 certificate against the match= names, not the MX host patterns (POSTFIX.md \
                 §4.3), and cannot report TLS results itself (smtp_tlsrpt_enable, 3.10; \
                 RFC 8460)"
            ),
            "upgrade to Postfix 3.10.5 or later; until then mxsec daemon answers exact MX \
             names in match=, and writes the TLS-RPT reports from Postfix's log: [tlsrpt] \
             maillog = \"/var/log/mail.log\" with smtp_tls_loglevel = 1 (docs/tlsrpt.md)",
        )];
    }
    let mut findings = Vec::new();
    if parsed < (3, 10, 5) {
        findings.push(finding(
            format!(
                "Postfix {version} takes the TLSRPT attributes, but does not yet enforce the \
                 policy's MX host patterns (smtp_tls_enforce_sts_mx_patterns, 3.10.5)"
            ),
            "upgrade to Postfix 3.10.5 or later",
        ));
    }
    match tlsrpt {
        TlsrptBuild::NotLinked => findings.push(finding(
            format!(
                "Postfix {version} is built without TLSRPT support (smtp(8) is not linked \
                 with libtlsrpt): smtp_tlsrpt_enable cannot be used (RFC 8460)"
            ),
            "use a Postfix package built with TLSRPT, or let mxsec daemon write the reports \
             from Postfix's log: [tlsrpt] maillog = \"/var/log/mail.log\" \
             (docs/tlsrpt.md)",
        )),
        TlsrptBuild::Linked if conf.get("smtp_tlsrpt_enable") != "yes" => {
            findings.push(finding(
                format!(
                    "Postfix {version} can report TLS results (TLSRPT, RFC 8460), but \
                     smtp_tlsrpt_enable is off"
                ),
                "postconf -e smtp_tlsrpt_enable=yes \
                 smtp_tlsrpt_socket_name=run/tlsrpt/tlsrpt.sock, and in mxsec's [tlsrpt]: \
                 datagram_socket = \"/var/spool/postfix/run/tlsrpt/tlsrpt.sock\" \
                 (docs/tlsrpt.md)",
            ));
        }
        TlsrptBuild::Linked | TlsrptBuild::Unknown => {}
    }
    findings
}

/// DOC-PFX-04: Postfix has roots to check MTA-STS certificates with (the `secure` level needs
/// them), and can read them.
pub fn check_ca(conf: &Postconf) -> Vec<Finding> {
    let (file, path) = (conf.get("smtp_tls_CAfile"), conf.get("smtp_tls_CApath"));
    if file.is_empty() && path.is_empty() {
        return vec![Finding::new(
            "DOC-PFX-04",
            Severity::Error,
            "smtp_tls_CAfile",
            "neither smtp_tls_CAfile nor smtp_tls_CApath is set: every MTA-STS destination \
             (level secure) fails certificate verification and is deferred",
            "postconf -e smtp_tls_CAfile=/etc/ssl/certs/ca-certificates.crt",
        )];
    }
    let mut findings = Vec::new();
    if !file.is_empty() {
        let problem = match std::fs::read_to_string(file) {
            Err(e) => Some(format!("cannot be read: {e}")),
            Ok(text) if !text.contains("-----BEGIN CERTIFICATE-----") => {
                Some("holds no certificate".to_owned())
            }
            Ok(_) => None,
        };
        if let Some(problem) = problem {
            findings.push(Finding::new(
                "DOC-PFX-04",
                Severity::Error,
                "smtp_tls_CAfile",
                format!("{file} {problem}: MTA-STS destinations fail certificate verification"),
                "point smtp_tls_CAfile at a PEM bundle of WebPKI roots \
                 (/etc/ssl/certs/ca-certificates.crt on Debian)",
            ));
        }
    }
    if !path.is_empty() && std::fs::read_dir(path).is_err() {
        findings.push(Finding::new(
            "DOC-PFX-04",
            Severity::Error,
            "smtp_tls_CApath",
            format!("{path} cannot be read"),
            "point smtp_tls_CApath at a hashed certificate directory (/etc/ssl/certs)",
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
mail_version = 3.7.11
smtp_dns_support_level = dnssec
smtp_tls_security_level = dane
smtp_tls_policy_maps = socketmap:inet:127.0.0.1:8461:postfix
";

    fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.id).collect()
    }

    #[test]
    fn a_correct_main_cf_has_nothing_to_fix() {
        assert!(check(&Postconf::parse(GOOD)).is_empty());
    }

    #[test]
    fn pfx_06_version_and_tlsrpt_build_are_noted() {
        let old = version_findings(&Postconf::parse(GOOD), TlsrptBuild::NotLinked);
        assert_eq!(ids(&old), ["DOC-PFX-05"]);
        assert!(old[0].fix.contains("[tlsrpt]"), "{old:?}");
        let current = Postconf::parse(&GOOD.replace("3.7.11", "3.10.5"));
        assert_eq!(
            ids(&version_findings(&current, TlsrptBuild::NotLinked)),
            ["DOC-PFX-05"]
        );
        assert_eq!(
            ids(&version_findings(&current, TlsrptBuild::Linked)),
            ["DOC-PFX-05"]
        );
        let enabled = Postconf::parse(&format!(
            "{}smtp_tlsrpt_enable = yes\n",
            GOOD.replace("3.7.11", "3.10.5")
        ));
        assert!(version_findings(&enabled, TlsrptBuild::Linked).is_empty());
        assert!(version_findings(&current, TlsrptBuild::Unknown).is_empty());
        let early = Postconf::parse(&GOOD.replace("3.7.11", "3.10.2"));
        assert_eq!(version_findings(&early, TlsrptBuild::Unknown).len(), 1);
    }

    #[test]
    fn dane_dns_01_dns_support_level_and_security_level_are_required() {
        let conf = Postconf::parse(
            &GOOD
                .replace("= dnssec", "= enabled")
                .replace("= dane\n", "= may\n"),
        );
        assert_eq!(ids(&check(&conf)), ["DOC-PFX-01", "DOC-PFX-02"]);
    }

    #[test]
    fn pfx_01_socketmap_tables_are_parsed_and_a_missing_name_is_an_error() {
        let conf = Postconf::parse(
            "smtp_tls_policy_maps = hash:/etc/postfix/tls, socketmap:unix:/run/mxsec.sock:postfix socketmap:inet:[::1]:8461",
        );
        let maps = socketmaps(&conf);
        assert_eq!(maps[0].endpoint, Endpoint::Unix("/run/mxsec.sock".into()));
        assert_eq!(maps[0].name, "postfix");
        assert_eq!(maps[1].name, "");
        let errors: Vec<_> = check(&conf)
            .into_iter()
            .filter(|f| f.id == "DOC-PFX-03")
            .collect();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].severity, Severity::Error);
    }
}
