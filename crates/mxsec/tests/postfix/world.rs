//! The world a real Postfix runs in: a network namespace of its own holding the simulated
//! internet on its published addresses (`mxsec demo --serve`, with unbound as the validating
//! resolver of `/etc/resolv.conf`), `mxsec daemon`, and optionally a sending Postfix instance
//! with its own configuration directory. The namespace, the daemon and the Postfix instance
//! are the `mxsec-conformance` harness's own, so that these tests and `mxsec conformance`
//! share one implementation. Everything is torn down when the [`World`] is dropped, whether
//! the test passed or not.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

pub(crate) use mxsec_conformance::netns::Netns;
use mxsec_conformance::policy::{start_mxsec, DaemonListen};
use mxsec_conformance::postfix::{Postfix, PostfixSetup};
pub(crate) use mxsec_conformance::process::{run, Process};
use mxsec_testbed::scenario::Scenario;

/// The validating resolver inside the namespace (`/etc/resolv.conf`).
pub(crate) const RESOLVER: &str = "127.0.0.1";
/// The authoritative DNS server of the simulated internet inside the namespace.
const DNS: &str = "127.0.0.53";
/// The prefix of the namespaces these tests create; a leftover one of a killed test run is
/// removed by the next run.
const NETNS_PREFIX: &str = "mxsec-e2e-";
/// How long a program may take to come up.
pub(crate) const STARTUP: Duration = Duration::from_secs(120);

/// A namespace of these tests; panics, saying what is missing, without root or `ip`.
pub(crate) fn netns() -> Netns {
    Netns::create(NETNS_PREFIX, RESOLVER).unwrap_or_else(|e| {
        panic!("the Postfix end-to-end tests need root, iproute2, postfix and unbound: {e}")
    })
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
/// Fields drop in order: Postfix stops before the namespace goes.
pub(crate) struct World {
    postfix: Option<Postfix>,
    setup: PostfixSetup,
    listen: DaemonListen,
    daemon: Process,
    demo: Process,
    dir: tempfile::TempDir,
    netns: Netns,
}

impl World {
    /// Starts the namespace, `mxsec demo --serve` with its validating resolver, and
    /// `mxsec daemon` asking that resolver and listening on `transport`; returns once both
    /// are ready.
    pub(crate) fn start(transport: Transport) -> Self {
        let netns = netns();
        let dir = tempfile::tempdir().expect("temporary directory");
        // Postfix's programs run as the postfix user and must reach the queue and the log.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod the temporary directory");

        let mxsec = env!("CARGO_BIN_EXE_mxsec");
        let mut demo = Process::spawn(
            "mxsec demo --serve",
            netns.exec(mxsec).expect("ip").args([
                "demo",
                "--serve",
                "--dns",
                DNS,
                "--validating-resolver",
                RESOLVER,
            ]),
        )
        .expect("start mxsec demo --serve");
        demo.wait_for("Serving until", STARTUP)
            .unwrap_or_else(|e| panic!("{e}"));
        let ca_file = demo
            .output()
            .lines()
            .find_map(|l| l.trim().strip_prefix("CA certificate (PEM)"))
            .map(|path| PathBuf::from(path.trim()))
            .unwrap_or_else(|| panic!("no CA file printed:\n{}", demo.output()));

        let listen = match transport {
            Transport::Tcp => DaemonListen::Tcp,
            Transport::Unix => DaemonListen::Unix(dir.path().join("socketmap.sock")),
        };
        let resolver = format!("{RESOLVER}:53").parse().expect("an address");
        let daemon = start_mxsec(
            &netns,
            mxsec.as_ref(),
            dir.path(),
            &listen,
            resolver,
            &ca_file,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let setup = PostfixSetup {
            base: dir.path().to_owned(),
            ca_file,
            policy_map: Some(listen.policy_map()),
            listen: None,
        };
        Self {
            postfix: None,
            setup,
            listen,
            daemon,
            demo,
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
        self.listen.policy_map()
    }

    /// Writes a Postfix configuration directory (`main.cf`, `master.cf`) for a sending
    /// instance that asks `mxsec daemon` for TLS policy, as docs/daemon.md says, and returns
    /// it. Its queue and log live beside it.
    pub(crate) fn postfix_config(&self) -> PathBuf {
        self.setup.write().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts a Postfix instance with the configuration of [`World::postfix_config`].
    pub(crate) fn start_postfix(&mut self) -> PathBuf {
        let postfix =
            Postfix::start(&self.netns, self.setup.clone()).unwrap_or_else(|e| panic!("{e}"));
        self.postfix = Some(postfix);
        self.setup.config_dir()
    }

    /// Postfix's log so far.
    pub(crate) fn maillog_text(&self) -> String {
        std::fs::read_to_string(self.setup.maillog()).unwrap_or_default()
    }

    /// The directory of the daemon's configuration (`mxsec.toml`) and Postfix's files.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The simulated internet's CA file.
    pub(crate) fn ca_file(&self) -> &Path {
        &self.setup.ca_file
    }

    /// Rewrites the daemon's configuration with `edit` and has the daemon reload it
    /// (`SIGHUP`); returns once it says so.
    pub(crate) fn reload_daemon(&mut self, edit: impl FnOnce(String) -> String) {
        let path = self.dir.path().join("mxsec.toml");
        let config = std::fs::read_to_string(&path).expect("read the daemon configuration");
        std::fs::write(&path, edit(config)).expect("write the daemon configuration");
        self.daemon.hang_up().unwrap_or_else(|e| panic!("{e}"));
        self.daemon
            .wait_for("configuration reloaded", STARTUP)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Stops `mxsec daemon`.
    pub(crate) fn stop_daemon(&mut self) {
        self.daemon.stop();
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
        // Postfix first, then the daemon, the demo (and its unbound) and anything left.
        self.postfix = None;
        self.netns.kill_all();
    }
}

/// Sends one message to the scenario's domain with `sendmail`.
pub(crate) fn send(netns: &Netns, config: &Path, scenario: &Scenario) {
    let mut sendmail = netns
        .exec("sendmail")
        .expect("ip netns exec")
        .arg("-C")
        .arg(config)
        .args(["-f", "<>", "--", &recipient(scenario)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sendmail");
    let message = format!(
        "From: mxsec test <test@sender.mxsec.invalid>\nTo: {}\nSubject: {}\n\n{}\n",
        recipient(scenario),
        scenario.key,
        scenario.title
    );
    sendmail
        .stdin
        .take()
        .expect("stdin")
        .write_all(message.as_bytes())
        .expect("write the message");
    let output = sendmail.wait_with_output().expect("sendmail finishes");
    assert!(
        output.status.success(),
        "sendmail for {}: {}",
        scenario.key,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The recipient of the message sent to a scenario's domain.
pub(crate) fn recipient(scenario: &Scenario) -> String {
    format!("postmaster@{}", scenario.domain())
}
