//! Network namespaces (ip-netns(8)): a private loopback where the simulated internet binds its
//! published addresses and the standard ports, and where the MTA under test, its policy
//! server and the validating resolver run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::process::{program, run};
use crate::Error;

/// The IPv6 prefix of the simulated internet's MX and policy hosts.
pub const TESTBED_IPV6_PREFIX: &str = "fd6d:7873:6563::/48";

static INSTANCE: AtomicUsize = AtomicUsize::new(0);

/// A network namespace with loopback up, the testbed's IPv6 prefix local, and its own
/// `/etc/resolv.conf` (`/etc/netns/NAME/resolv.conf`, which `ip netns exec` mounts).
///
/// One that [`Netns::create`] made is deleted on drop, with every process inside it killed;
/// one the user named ([`Netns::attach`]) is left as it was found, less the processes this
/// program started in it.
#[derive(Debug)]
pub struct Netns {
    name: String,
    owned: bool,
}

impl Netns {
    /// Creates a namespace named `<prefix><pid>-<n>` whose resolver is `resolver` (with
    /// `options trust-ad`, so that glibc passes the AD bit on to Postfix). Namespaces with the
    /// same prefix left by processes that no longer run are deleted first.
    ///
    /// # Errors
    ///
    /// [`Error::NotRoot`] without root, [`Error::Missing`] without `ip`, [`Error::Command`]
    /// when `ip` fails.
    pub fn create(prefix: &str, resolver: &str) -> Result<Self, Error> {
        require_root()?;
        remove_leftovers(prefix)?;
        let name = format!(
            "{prefix}{}-{}",
            std::process::id(),
            INSTANCE.fetch_add(1, Ordering::Relaxed)
        );
        let etc = Path::new("/etc/netns").join(&name);
        std::fs::create_dir_all(&etc).map_err(|e| Error::io(&etc, e))?;
        let resolv = etc.join("resolv.conf");
        std::fs::write(
            &resolv,
            format!("nameserver {resolver}\noptions trust-ad\n"),
        )
        .map_err(|e| Error::io(&resolv, e))?;
        run(Command::new(program("ip")?).args(["netns", "add", &name]))?;
        let netns = Self { name, owned: true };
        run(netns.ip(&["link", "set", "lo", "up"])?)?;
        // A local route makes the testbed's IPv6 addresses this namespace's own, and
        // non-local binds let the servers bind them before the route is used.
        run(netns.ip(&[
            "-6",
            "route",
            "add",
            "local",
            TESTBED_IPV6_PREFIX,
            "dev",
            "lo",
        ])?)?;
        run(netns
            .exec("sh")?
            .args(["-c", "echo 1 > /proc/sys/net/ipv6/ip_nonlocal_bind"]))?;
        Ok(netns)
    }

    /// A namespace that exists already (`ip netns add NAME`), set up as docs/demo.md says,
    /// whose `/etc/netns/NAME/resolv.conf` names `resolver` first.
    ///
    /// # Errors
    ///
    /// [`Error::NotRoot`] without root, [`Error::NoNetns`] when there is no such namespace,
    /// [`Error::ResolvConf`] when its `resolv.conf` names another resolver or none.
    pub fn attach(name: &str, resolver: &str) -> Result<Self, Error> {
        require_root()?;
        if !Path::new("/run/netns").join(name).exists() {
            return Err(Error::NoNetns(name.to_owned()));
        }
        let resolv = Path::new("/etc/netns").join(name).join("resolv.conf");
        let first = std::fs::read_to_string(&resolv).ok().and_then(|text| {
            text.lines().find_map(|l| {
                l.trim()
                    .strip_prefix("nameserver")
                    .map(|r| r.trim().to_owned())
            })
        });
        if first.as_deref() != Some(resolver) {
            return Err(Error::ResolvConf {
                path: resolv,
                resolver: resolver.to_owned(),
            });
        }
        Ok(Self {
            name: name.to_owned(),
            owned: false,
        })
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NAME ARGS...`.
    ///
    /// # Errors
    ///
    /// [`Error::Missing`] without `ip`.
    pub fn ip(&self, args: &[&str]) -> Result<Command, Error> {
        let mut command = Command::new(program("ip")?);
        command.arg("-n").arg(&self.name).args(args);
        Ok(command)
    }

    /// A command that runs `program_name` inside the namespace, with its `/etc/resolv.conf`.
    ///
    /// # Errors
    ///
    /// [`Error::Missing`] when `ip` or the program is not installed.
    pub fn exec(&self, program_name: impl AsRef<Path>) -> Result<Command, Error> {
        exec_in(&self.name, program_name.as_ref())
    }

    /// Moves the calling thread into the namespace (setns(2)). Threads it starts afterwards,
    /// a tokio runtime's workers among them, and the processes they spawn, are inside too;
    /// other threads are not.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the namespace cannot be opened or entered.
    pub fn enter_this_thread(&self) -> Result<(), Error> {
        let path = Path::new("/run/netns").join(&self.name);
        let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&file),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .map_err(|e| Error::io(&path, e.into()))
    }

    /// Kills every process in the namespace, by id, until none is left (ten seconds at most).
    pub fn kill_all(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let pids = netns_pids(&self.name);
            if pids.is_empty() {
                return;
            }
            // The shell's own `kill` (procps may be missing); a process may exit by itself
            // meanwhile, so errors are expected.
            let _ = Command::new("sh")
                .arg("-c")
                .arg("kill -KILL \"$@\" 2>/dev/null")
                .arg("sh")
                .args(&pids)
                .status();
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        self.kill_all();
        if let Ok(ip) = program("ip") {
            let _ = Command::new(ip).args(["netns", "del", &self.name]).status();
        }
        let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(&self.name));
    }
}

/// A command that runs `program_name` inside namespace `name`.
fn exec_in(name: &str, program_name: &Path) -> Result<Command, Error> {
    let resolved: PathBuf = match program_name.to_str() {
        Some(bare) if !bare.contains('/') => program(bare)?,
        _ => program_name.to_owned(),
    };
    let mut command = Command::new(program("ip")?);
    command.args(["netns", "exec", name]).arg(resolved);
    Ok(command)
}

/// The ids of the processes in namespace `name`.
fn netns_pids(name: &str) -> Vec<String> {
    let Ok(ip) = program("ip") else {
        return Vec::new();
    };
    Command::new(ip)
        .args(["netns", "pids", name])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Deletes namespaces `<prefix><pid>-<n>` whose process no longer runs (killed before it
/// could delete them).
fn remove_leftovers(prefix: &str) -> Result<(), Error> {
    let list = Command::new(program("ip")?)
        .args(["netns", "list"])
        .output()
        .map_err(|e| Error::io(Path::new("ip"), e))?;
    for line in String::from_utf8_lossy(&list.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(owner) = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if owner.is_empty() || Path::new("/proc").join(owner).exists() {
            continue;
        }
        drop(Netns {
            name: name.to_owned(),
            owned: true,
        });
    }
    Ok(())
}

/// Fails unless this process runs as root (network namespaces, ports 25, 53 and 443).
fn require_root() -> Result<(), Error> {
    if rustix::process::geteuid().is_root() {
        Ok(())
    } else {
        Err(Error::NotRoot)
    }
}
