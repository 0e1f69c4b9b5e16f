//! The TLS policy servers a private Postfix can ask (`smtp_tls_policy_maps`): none, `mxsec
//! daemon`, or postfix-mta-sts-resolver, installed from PyPI into a private virtual
//! environment.

use std::fmt;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::netns::Netns;
use crate::process::{program, run, Process};
use crate::Error;

/// Where the policy server answers socketmap requests inside the namespace.
pub const SOCKETMAP: &str = "127.0.0.1:8461";
/// Where `mxsec daemon` serves `/metrics`, `/why` and `/status` inside the namespace.
pub const METRICS: &str = "127.0.0.1:9461";
/// The postfix-mta-sts-resolver release the harness grades (PyPI).
pub const MTA_STS_RESOLVER: &str = "postfix-mta-sts-resolver==1.5.1";
/// How long a policy server may take to come up.
const STARTUP: Duration = Duration::from_secs(60);

/// Which policy server Postfix asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// None: Postfix alone, with `smtp_tls_security_level = dane`.
    None,
    /// `mxsec daemon`, as docs/daemon.md configures it.
    Mxsec,
    /// postfix-mta-sts-resolver's `mta-sts-daemon`, with its default settings.
    MtaStsResolver,
}

impl Policy {
    /// The name of the command line and the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Mxsec => "mxsec",
            Self::MtaStsResolver => "postfix-mta-sts-resolver",
        }
    }

    /// `smtp_tls_policy_maps` for this server.
    pub fn policy_map(self) -> Option<String> {
        match self {
            Self::None => None,
            Self::Mxsec | Self::MtaStsResolver => Some(DaemonListen::Tcp.policy_map()),
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Makes a Python virtual environment at `venv` and installs [`MTA_STS_RESOLVER`] into it,
/// unless its `mta-sts-daemon` is there already; returns the path of `mta-sts-daemon`. Needs
/// the network (PyPI), so it runs outside the namespace.
///
/// # Errors
///
/// [`Error::Missing`] without `python3`, [`Error::Command`] when `venv` or `pip` fails.
pub fn install_mta_sts_resolver(venv: &Path) -> Result<PathBuf, Error> {
    let daemon = venv.join("bin").join("mta-sts-daemon");
    if daemon.is_file() {
        return Ok(daemon);
    }
    run(Command::new(program("python3")?)
        .args(["-m", "venv"])
        .arg(venv))?;
    run(Command::new(venv.join("bin").join("pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        MTA_STS_RESOLVER,
    ]))?;
    Ok(daemon)
}

/// Where `mxsec daemon` answers Postfix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaemonListen {
    /// TCP on loopback, [`SOCKETMAP`] (`socketmap:inet:127.0.0.1:8461:postfix`).
    Tcp,
    /// A Unix socket of mode 0660 and group `postfix`, as docs/daemon.md sets it up for
    /// Postfix's delivery agents (`socketmap:unix:PATH:postfix`).
    Unix(PathBuf),
}

impl DaemonListen {
    /// `smtp_tls_policy_maps` for this socket.
    pub fn policy_map(&self) -> String {
        match self {
            Self::Tcp => format!("socketmap:inet:{SOCKETMAP}:postfix"),
            Self::Unix(path) => format!("socketmap:unix:{}:postfix", path.display()),
        }
    }

    fn config(&self) -> String {
        match self {
            Self::Tcp => format!("tcp = [\"{SOCKETMAP}\"]"),
            Self::Unix(path) => format!(
                "tcp = []\nunix = \"{}\"\nunix_mode = \"0660\"\nunix_group = \"postfix\"",
                path.display()
            ),
        }
    }
}

/// Starts `mxsec daemon` (the program at `mxsec`) inside `netns`, listening on `listen`,
/// asking the validating resolver at `resolver` (trusting its AD bit) and trusting the roots
/// of `ca_file`; its configuration and store go in `dir`. Returns once it is ready.
///
/// # Errors
///
/// [`Error::Io`] when the configuration cannot be written, [`Error::NotReady`] with its output
/// when it does not come up.
pub fn start_mxsec(
    netns: &Netns,
    mxsec: &Path,
    dir: &Path,
    listen: &DaemonListen,
    resolver: SocketAddr,
    ca_file: &Path,
) -> Result<Process, Error> {
    start_mxsec_with(netns, mxsec, dir, listen, resolver, ca_file, "")
}

/// [`start_mxsec`] with `extra` appended to the configuration file (further sections, such as
/// `[tlsrpt]`).
///
/// # Errors
///
/// As [`start_mxsec`].
pub fn start_mxsec_with(
    netns: &Netns,
    mxsec: &Path,
    dir: &Path,
    listen: &DaemonListen,
    resolver: SocketAddr,
    ca_file: &Path,
    extra: &str,
) -> Result<Process, Error> {
    let config = dir.join("mxsec.toml");
    std::fs::write(
        &config,
        format!(
            r#"[listen]
{listen}
metrics = "{metrics}"

[dns]
dnssec = "trust-ad"
resolver = "{resolver}"
timeout = 5

[tls]
ca_files = ["{ca}"]

[cache]
store = "{store}"

[refresh]
interval = 3600
{extra}"#,
            listen = listen.config(),
            metrics = METRICS,
            ca = ca_file.display(),
            store = dir.join("policies.sqlite3").display(),
        ),
    )
    .map_err(|e| Error::io(&config, e))?;
    let mut daemon = Process::spawn(
        "mxsec daemon",
        netns
            .exec(mxsec)?
            .arg("daemon")
            .arg("--config")
            .arg(&config)
            .env("MXSEC_LOG", "info")
            .env_remove("JOURNAL_STREAM"),
    )?;
    daemon.wait_for("mxsec daemon ready", STARTUP)?;
    Ok(daemon)
}

/// Starts postfix-mta-sts-resolver's `mta-sts-daemon` (at `daemon`) inside `netns` with its
/// default settings, answering on [`SOCKETMAP`]; it resolves through the namespace's
/// `/etc/resolv.conf` and trusts the roots of `ca_file` (`SSL_CERT_FILE`). Its configuration
/// goes in `dir`. Returns once it accepts connections.
///
/// # Errors
///
/// [`Error::Io`] when the configuration cannot be written, [`Error::NotReady`] with its output
/// when it does not come up.
pub fn start_mta_sts_resolver(
    netns: &Netns,
    daemon: &Path,
    dir: &Path,
    ca_file: &Path,
) -> Result<Process, Error> {
    let config = dir.join("mta-sts-daemon.yml");
    let (host, port) = SOCKETMAP.split_once(':').unwrap_or((SOCKETMAP, "8461"));
    std::fs::write(
        &config,
        format!(
            "host: {host}\nport: {port}\ncache:\n  type: internal\ndefault_zone:\n  timeout: 4\n"
        ),
    )
    .map_err(|e| Error::io(&config, e))?;
    let mut process = Process::spawn(
        "mta-sts-daemon",
        netns
            .exec(daemon)?
            .arg("-c")
            .arg(&config)
            .env("SSL_CERT_FILE", ca_file),
    )?;
    let address: SocketAddr = SOCKETMAP
        .parse()
        .map_err(|_| process.not_ready("an invalid listening address"))?;
    let deadline = Instant::now() + STARTUP;
    // The caller runs inside the namespace, so this reaches the daemon's port.
    while TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err() {
        if Instant::now() > deadline {
            return Err(process.not_ready("does not accept connections"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(process)
}
