//! The world a real Postfix runs in: a network namespace of its own holding the simulated
//! internet on its published addresses (`mxsec demo --serve`, with unbound as the validating
//! resolver of `/etc/resolv.conf`), `mxsec daemon`, and optionally a sending Postfix instance
//! with its own configuration directory. Everything is torn down when the [`World`] is
//! dropped, whether the test passed or not.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The validating resolver inside the namespace (`/etc/resolv.conf`).
pub(crate) const RESOLVER: &str = "127.0.0.1";
/// The authoritative DNS server of the simulated internet inside the namespace.
const DNS: &str = "127.0.0.53";
/// Where `mxsec daemon` answers socketmap requests over TCP inside the namespace.
const SOCKETMAP_TCP: &str = "127.0.0.1:8461";
/// The prefix of the namespaces these tests create; a leftover one of a killed test run is
/// removed by the next run.
const NETNS_PREFIX: &str = "mxsec-e2e-";
/// How long a program may take to come up.
const STARTUP: Duration = Duration::from_secs(120);

static INSTANCE: AtomicUsize = AtomicUsize::new(0);

/// A network namespace with loopback up, the testbed's IPv6 prefix local, and its own
/// `/etc/resolv.conf` (`/etc/netns/NAME/resolv.conf`, which `ip netns exec` mounts).
/// Dropping it kills every process inside, deletes it and its `/etc/netns` directory.
pub(crate) struct Netns {
    name: String,
}

impl Netns {
    /// Creates the namespace. Panics, saying what to install, without root or `ip`.
    pub(crate) fn create() -> Self {
        require_root();
        remove_leftovers();
        let name = format!(
            "{NETNS_PREFIX}{}-{}",
            std::process::id(),
            INSTANCE.fetch_add(1, Ordering::Relaxed)
        );
        let etc = Path::new("/etc/netns").join(&name);
        std::fs::create_dir_all(&etc).expect("create /etc/netns/NAME");
        // Postfix trusts the AD bit of its resolver (DANE-DNS-01); glibc passes it on only
        // with trust-ad.
        std::fs::write(
            etc.join("resolv.conf"),
            format!("nameserver {RESOLVER}\noptions trust-ad\n"),
        )
        .expect("write resolv.conf");
        run(Command::new(program("ip")).args(["netns", "add", &name]));
        let netns = Self { name };
        run(netns.ip(&["link", "set", "lo", "up"]));
        // The testbed publishes MX and policy hosts in fd6d:7873:6563::/48; a local route
        // makes them this namespace's own, and non-local binds let the servers bind them.
        run(netns.ip(&[
            "-6",
            "route",
            "add",
            "local",
            "fd6d:7873:6563::/48",
            "dev",
            "lo",
        ]));
        run(netns
            .exec("sh")
            .args(["-c", "echo 1 > /proc/sys/net/ipv6/ip_nonlocal_bind"]));
        netns
    }

    /// `ip -n NAME ARGS...`.
    pub(crate) fn ip(&self, args: &[&str]) -> Command {
        let mut command = Command::new(program("ip"));
        command.arg("-n").arg(&self.name).args(args);
        command
    }

    /// A command that runs `program` inside the namespace.
    pub(crate) fn exec(&self, program_name: &str) -> Command {
        let mut command = Command::new(program("ip"));
        command
            .args(["netns", "exec", &self.name])
            .arg(program(program_name));
        command
    }

    /// Kills every process in the namespace, by id, until none is left.
    fn kill_all(&self) {
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
        self.kill_all();
        let _ = Command::new(program("ip"))
            .args(["netns", "del", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(&self.name));
    }
}

/// The ids of the processes in namespace `name`.
fn netns_pids(name: &str) -> Vec<String> {
    Command::new(program("ip"))
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

/// Deletes namespaces left by test processes that no longer run (killed before their drop).
fn remove_leftovers() {
    let Ok(list) = Command::new(program("ip")).args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&list.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(owner) = name
            .strip_prefix(NETNS_PREFIX)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if Path::new("/proc").join(owner).exists() {
            continue;
        }
        drop(Netns {
            name: name.to_owned(),
        });
    }
}

/// Fails the test unless it runs as root (network namespaces, ports 25, 53 and 443).
fn require_root() {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    assert_eq!(
        uid, "0",
        "the Postfix end-to-end tests need root (network namespaces, ports 25, 53 and 443): \
         run scripts/test as root"
    );
}

/// The path of a program, from `PATH` or the system directories; panics, saying which
/// Debian package to install, when it is missing.
pub(crate) fn program(name: &str) -> PathBuf {
    if name.contains('/') {
        return PathBuf::from(name);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            let package = match name {
                "ip" => "iproute2",
                "unbound" => "unbound",
                _ => "postfix",
            };
            panic!(
                "{name} is not installed: the Postfix end-to-end tests need the Debian package \
                 {package} (scripts/test installs it when run as root)"
            )
        })
}

/// Runs a command to completion; panics with its output if it fails.
pub(crate) fn run(mut command: impl std::borrow::BorrowMut<Command>) -> Output {
    let command = command.borrow_mut();
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A long-running program inside the namespace, with its output collected line by line.
pub(crate) struct Process {
    name: &'static str,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    lines: Receiver<String>,
}

impl Process {
    /// Starts `command` with its output collected.
    pub(crate) fn spawn(name: &'static str, command: &mut Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        for stream in [stdout, stderr].into_iter().flatten() {
            let (tx, log) = (tx.clone(), log.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    log.lock().unwrap().push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        Self {
            name,
            child,
            log,
            lines,
        }
    }

    /// Waits for a line containing `text`; panics with the output so far if it does not come.
    pub(crate) fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + STARTUP;
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) if line.contains(text) => return,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "{} did not print {text:?} (exit status {:?}); its output:\n{}",
                    self.name,
                    self.child.try_wait().ok().flatten(),
                    self.output()
                ),
            }
        }
    }

    /// Everything the program printed so far.
    pub(crate) fn output(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How Postfix reaches `mxsec daemon`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    /// TCP on loopback (`socketmap:inet:127.0.0.1:8461:postfix`).
    Tcp,
    /// A Unix socket of mode 0660 and group `postfix` (`socketmap:unix:PATH:postfix`).
    Unix,
}

/// The namespace, the simulated internet, `mxsec daemon`, and optionally a sending Postfix.
pub(crate) struct World {
    transport: Transport,
    postfix: Option<PathBuf>,
    daemon: Process,
    demo: Process,
    ca_file: PathBuf,
    dir: tempfile::TempDir,
    netns: Netns,
}

impl World {
    /// Starts the namespace, `mxsec demo --serve` with its validating resolver, and
    /// `mxsec daemon` asking that resolver and listening on `transport`; returns once both
    /// are ready.
    pub(crate) fn start(transport: Transport) -> Self {
        program("postfix");
        program("unbound");
        let netns = Netns::create();
        let dir = tempfile::tempdir().expect("temporary directory");
        // Postfix's programs run as the postfix user and must reach the queue and the log.
        set_mode(dir.path(), 0o755);

        let mxsec = env!("CARGO_BIN_EXE_mxsec");
        let mut demo = Process::spawn(
            "mxsec demo --serve",
            netns.exec(mxsec).args([
                "demo",
                "--serve",
                "--dns",
                DNS,
                "--validating-resolver",
                RESOLVER,
            ]),
        );
        demo.wait_for("Serving until");
        let ca_file = demo
            .output()
            .lines()
            .find_map(|l| l.trim().strip_prefix("CA certificate (PEM)"))
            .map(|path| PathBuf::from(path.trim()))
            .unwrap_or_else(|| panic!("no CA file printed:\n{}", demo.output()));

        let config = dir.path().join("mxsec.toml");
        let store = dir.path().join("policies.sqlite3");
        let listen = match transport {
            Transport::Tcp => format!("tcp = [\"{SOCKETMAP_TCP}\"]"),
            // As docs/daemon.md sets it up for Postfix's delivery agents (user postfix).
            Transport::Unix => format!(
                "tcp = []\nunix = \"{}\"\nunix_mode = \"0660\"\nunix_group = \"postfix\"",
                dir.path().join("socketmap.sock").display()
            ),
        };
        std::fs::write(
            &config,
            format!(
                r#"[listen]
{listen}

[dns]
dnssec = "trust-ad"
resolver = "{RESOLVER}:53"
timeout = 5

[tls]
ca_files = ["{ca}"]

[cache]
store = "{store}"

[refresh]
interval = 3600
"#,
                ca = ca_file.display(),
                store = store.display(),
            ),
        )
        .expect("write mxsec.toml");
        let mut daemon = Process::spawn(
            "mxsec daemon",
            netns
                .exec(mxsec)
                .arg("daemon")
                .arg("--config")
                .arg(&config)
                .env("MXSEC_LOG", "info")
                .env_remove("JOURNAL_STREAM"),
        );
        daemon.wait_for("mxsec daemon ready");
        Self {
            transport,
            postfix: None,
            daemon,
            demo,
            ca_file,
            dir,
            netns,
        }
    }

    /// The namespace.
    pub(crate) fn netns(&self) -> &Netns {
        &self.netns
    }

    /// The `smtp_tls_policy_maps` table that asks `mxsec daemon`.
    pub(crate) fn policy_map(&self) -> String {
        match self.transport {
            Transport::Tcp => format!("socketmap:inet:{SOCKETMAP_TCP}:postfix"),
            Transport::Unix => format!(
                "socketmap:unix:{}:postfix",
                self.dir.path().join("socketmap.sock").display()
            ),
        }
    }

    /// Writes a Postfix configuration directory (`main.cf`, `master.cf`) for a sending
    /// instance that asks `mxsec daemon` for TLS policy, as docs/daemon.md says, and returns
    /// it. Its queue and log live beside it.
    pub(crate) fn postfix_config(&self) -> PathBuf {
        let base = self.dir.path();
        let config = base.join("postfix");
        let queue = base.join("queue");
        let data = base.join("data");
        for dir in [&config, &queue, &data] {
            std::fs::create_dir_all(dir).expect("create a Postfix directory");
            set_mode(dir, 0o755);
        }
        run(Command::new("chown").arg("postfix").arg(&data));
        std::fs::write(
            config.join("main.cf"),
            format!(
                "compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = sender.mxsec.invalid
mydestination =
inet_interfaces = loopback-only
inet_protocols = all
alias_maps =
alias_database =
maillog_file = {log}
maillog_file_prefixes = {base}
# Send at once, and do not hold a failed destination back from the next message.
minimal_backoff_time = 1h
maximal_backoff_time = 1h
smtp_connect_timeout = 10s
# The main.cf lines of docs/daemon.md.
smtp_dns_support_level = dnssec
smtp_tls_security_level = dane
smtp_tls_policy_maps = {map}
smtp_tls_CAfile = {ca}
smtp_tls_loglevel = 1
",
                queue = queue.display(),
                data = data.display(),
                log = self.maillog().display(),
                base = base.display(),
                ca = self.ca_file.display(),
                map = self.policy_map(),
            ),
        )
        .expect("write main.cf");
        std::fs::write(config.join("master.cf"), MASTER_CF).expect("write master.cf");
        config
    }

    /// Starts a Postfix instance with the configuration of [`World::postfix_config`].
    pub(crate) fn start_postfix(&mut self) -> PathBuf {
        let config = self.postfix_config();
        let output = self
            .netns
            .exec("postfix")
            .arg("-c")
            .arg(&config)
            .arg("start")
            .output()
            .expect("run postfix start");
        self.postfix = Some(config.clone());
        assert!(
            output.status.success(),
            "postfix -c {} start failed: {}{}\nmaillog:\n{}",
            config.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.maillog_text()
        );
        config
    }

    /// Postfix's log file.
    pub(crate) fn maillog(&self) -> PathBuf {
        self.dir.path().join("maillog")
    }

    /// Postfix's log so far.
    pub(crate) fn maillog_text(&self) -> String {
        std::fs::read_to_string(self.maillog()).unwrap_or_default()
    }

    /// What the simulated internet and the daemon printed, for failure messages.
    pub(crate) fn diagnostics(&self) -> String {
        format!(
            "mxsec demo --serve:\n{}\n\nmxsec daemon:\n{}",
            self.demo.output(),
            self.daemon.output()
        )
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(config) = &self.postfix {
            let _ = self
                .netns
                .exec("postfix")
                .arg("-c")
                .arg(config)
                .arg("abort")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        // The daemon, the demo (and its unbound) and any Postfix process left.
        self.netns.kill_all();
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// The services a sending instance needs; nothing runs chrooted, nothing listens on the
/// network.
const MASTER_CF: &str = "\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
";
