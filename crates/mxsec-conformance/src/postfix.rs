//! A private sending Postfix instance (`postfix -c DIR`): its configuration, starting and
//! stopping it, and what its log says of each recipient.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::netns::Netns;
use crate::process::run;
use crate::Error;

/// What a private Postfix instance is configured with.
#[derive(Clone, Debug)]
pub struct PostfixSetup {
    /// The directory that holds its configuration (`postfix/`), queue, data and log.
    pub base: PathBuf,
    /// `smtp_tls_CAfile`: the roots it trusts for `secure` and `verify`.
    pub ca_file: PathBuf,
    /// `smtp_tls_policy_maps`, if any (`socketmap:inet:127.0.0.1:8461:postfix`).
    pub policy_map: Option<String>,
    /// Where its `smtpd` accepts messages to send, if anywhere (loopback only).
    pub listen: Option<SocketAddr>,
}

impl PostfixSetup {
    /// Postfix's log file.
    pub fn maillog(&self) -> PathBuf {
        self.base.join("maillog")
    }

    /// The configuration directory, for `postfix -c`, `postconf -c` and `sendmail -C`.
    pub fn config_dir(&self) -> PathBuf {
        self.base.join("postfix")
    }

    /// Writes `main.cf` and `master.cf` as docs/daemon.md configures a sender, DANE on
    /// (`smtp_dns_support_level = dnssec`, `smtp_tls_security_level = dane`), and creates the
    /// queue and data directories beside them; returns the configuration directory.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a file or directory cannot be written, [`Error::Command`] when the
    /// data directory cannot be given to the `postfix` user.
    pub fn write(&self) -> Result<PathBuf, Error> {
        let config = self.config_dir();
        let queue = self.base.join("queue");
        let data = self.base.join("data");
        // Postfix's programs run as the postfix user and must reach the queue and the log.
        std::fs::create_dir_all(&self.base).map_err(|e| Error::io(&self.base, e))?;
        set_mode(&self.base, 0o755)?;
        for dir in [&config, &queue, &data] {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            set_mode(dir, 0o755)?;
        }
        run(Command::new("chown").arg("postfix").arg(&data))?;
        let mut main_cf = format!(
            "compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = sender.mxsec.invalid
mydestination =
inet_interfaces = loopback-only
inet_protocols = all
mynetworks = 127.0.0.0/8 [::1]/128
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
maillog_file = {log}
maillog_file_prefixes = {base}
# Send at once, and do not retry a deferred message while the harness watches.
minimal_backoff_time = 1h
maximal_backoff_time = 1h
smtp_connect_timeout = 10s
# IPv6 first, where the catalogue's address-family faults are (t02, d10): with Postfix's
# default, `any`, each delivery picks a family at random, and those rows would be graded by a
# coin toss.
smtp_address_preference = ipv6
# The main.cf lines of docs/daemon.md.
smtp_dns_support_level = dnssec
smtp_tls_security_level = dane
smtp_tls_CAfile = {ca}
smtp_tls_loglevel = 1
",
            queue = queue.display(),
            data = data.display(),
            log = self.maillog().display(),
            base = self.base.display(),
            ca = self.ca_file.display(),
        );
        if let Some(map) = &self.policy_map {
            main_cf.push_str(&format!("smtp_tls_policy_maps = {map}\n"));
        }
        let main = config.join("main.cf");
        std::fs::write(&main, main_cf).map_err(|e| Error::io(&main, e))?;
        let mut master_cf = MASTER_CF.to_owned();
        if let Some(listen) = self.listen {
            master_cf.push_str(&format!(
                "{listen} inet  n       -       n       -       -       smtpd\n"
            ));
        }
        let master = config.join("master.cf");
        std::fs::write(&master, master_cf).map_err(|e| Error::io(&master, e))?;
        Ok(config)
    }
}

/// A running private Postfix instance; stopped (`postfix abort`) on drop.
#[derive(Debug)]
pub struct Postfix {
    setup: PostfixSetup,
    stop: Command,
}

impl Postfix {
    /// Writes the configuration of `setup` and starts the instance inside `netns`.
    ///
    /// # Errors
    ///
    /// As [`PostfixSetup::write`], and [`Error::Command`] with Postfix's log when
    /// `postfix start` fails.
    pub fn start(netns: &Netns, setup: PostfixSetup) -> Result<Self, Error> {
        let config = setup.write()?;
        let mut stop = netns.exec("postfix")?;
        stop.arg("-c")
            .arg(&config)
            .arg("abort")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let started = run(netns.exec("postfix")?.arg("-c").arg(&config).arg("start"));
        let postfix = Self { setup, stop };
        match started {
            Ok(_) => Ok(postfix),
            Err(Error::Command { command, output }) => Err(Error::Command {
                command,
                output: format!("{output}\nmaillog:\n{}", postfix.maillog_text()),
            }),
            Err(other) => Err(other),
        }
    }

    /// Its setup.
    pub fn setup(&self) -> &PostfixSetup {
        &self.setup
    }

    /// Its log so far.
    pub fn maillog_text(&self) -> String {
        std::fs::read_to_string(self.setup.maillog()).unwrap_or_default()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = self.stop.status();
    }
}

/// What Postfix last logged for a recipient (`status=`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The delivery status.
    pub status: DeliveryStatus,
    /// The rest of the line: the reply or the reason, in parentheses.
    pub detail: String,
}

/// The delivery statuses of Postfix's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// `sent`: an MX host accepted it.
    Sent,
    /// `deferred`: kept for a later try.
    Deferred,
    /// `bounced`: returned to the sender.
    Bounced,
    /// Another status (`expired`, `undeliverable`, ...).
    Other(String),
}

impl DeliveryStatus {
    fn parse(word: &str) -> Self {
        match word {
            "sent" => Self::Sent,
            "deferred" => Self::Deferred,
            "bounced" => Self::Bounced,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// The last `status=` Postfix logged for each recipient, by address.
pub fn statuses(log: &str) -> BTreeMap<String, Status> {
    let mut statuses = BTreeMap::new();
    for line in log.lines() {
        let Some(to) = between(line, " to=<", ">") else {
            continue;
        };
        let Some(rest) = line.split_once(" status=").map(|(_, rest)| rest) else {
            continue;
        };
        let (status, detail) = rest.split_once(' ').unwrap_or((rest, ""));
        statuses.insert(
            to.to_ascii_lowercase(),
            Status {
                status: DeliveryStatus::parse(status),
                detail: detail.to_owned(),
            },
        );
    }
    statuses
}

/// Whether Postfix logged a `Verified TLS connection` to a host of `domain`: the domain itself,
/// a name below it, or a name below its provider zone `provider-<domain>`.
pub fn verified_tls(log: &str, domain: &str) -> bool {
    log.lines()
        .filter_map(|line| between(line, "Verified TLS connection established to ", "["))
        .any(|host| {
            host == domain
                || host.ends_with(&format!(".{domain}"))
                || host.ends_with(&format!(".provider-{domain}"))
        })
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let rest = text.get(from..)?;
    rest.get(..rest.find(end)?)
}

fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(path, e))
}

/// The services a sending instance needs; nothing runs chrooted, and only the `smtpd` that
/// [`PostfixSetup::listen`] adds listens, on loopback.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_keep_the_last_status_of_each_recipient() {
        let log = "\
Dec  6 postfix/smtp[1]: 1A: to=<postmaster@a.test>, relay=none, delay=1, status=deferred (TLS is required)
Dec  6 postfix/smtp[1]: 1B: to=<postmaster@b.test>, relay=mx.b.test[127.0.1.2]:25, status=sent (250 2.0.0 Ok: queued)
Dec  6 postfix/smtp[1]: 1A: to=<Postmaster@A.test>, relay=none, delay=2, status=bounced (host said no)
Dec  6 postfix/smtp[1]: Verified TLS connection established to mx.provider-b.test[127.0.1.2]:25: TLSv1.3
";
        let statuses = statuses(log);
        assert_eq!(
            statuses["postmaster@a.test"].status,
            DeliveryStatus::Bounced
        );
        assert_eq!(statuses["postmaster@b.test"].status, DeliveryStatus::Sent);
        assert!(verified_tls(log, "b.test"));
        assert!(!verified_tls(log, "a.test"));
    }
}
