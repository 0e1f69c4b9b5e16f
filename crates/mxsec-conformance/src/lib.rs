//! Is a sending MTA right? The harness behind `mxsec conformance`.
//!
//! It runs the simulated internet of `mxsec-testbed` on its published addresses inside a
//! network namespace, with unbound as the validating resolver, hands the MTA under test one
//! message per scenario over SMTP, watches which of the testbed's MX hosts receive which
//! message and over which TLS, and grades each scenario against what a sender enforcing DANE
//! (RFC 7672) and MTA-STS (RFC 8461) does, as the scenario catalogue says
//! ([`mxsec_testbed::scenario::ExpectedDelivery`]). Ready-made setups: a private Postfix
//! instance alone, asking `mxsec daemon`, or asking postfix-mta-sts-resolver; or any MTA the
//! user runs in the namespace.
//!
//! [`doctor`] checks a live sender's setup instead: Postfix, its resolver, its policy daemon.
//!
//! The pieces are public so that the Postfix end-to-end tests share them: [`netns`],
//! [`process`], [`postfix`].

pub mod doctor;
pub mod grade;
pub mod harness;
pub mod inject;
pub mod netns;
pub mod policy;
pub mod postfix;
pub mod process;
pub mod report;

use std::path::{Path, PathBuf};

pub use grade::Grade;
pub use harness::{run, Environment, Mta, Options};
pub use policy::Policy;
pub use report::Report;

/// Why the harness could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Network namespaces and ports 25, 53 and 443 need root.
    #[error("this needs root (network namespaces, ports 25, 53 and 443)")]
    NotRoot,
    /// A program is not installed.
    #[error("{program} is not installed (Debian package {package})")]
    Missing {
        /// The program.
        program: String,
        /// The Debian package that has it.
        package: &'static str,
    },
    /// The named network namespace does not exist.
    #[error("there is no network namespace {0} (ip netns add {0})")]
    NoNetns(String),
    /// The named namespace's `resolv.conf` does not name the harness's resolver.
    #[error(
        "{path} must name the validating resolver first: printf 'nameserver {resolver}\\noptions trust-ad\\n' > {path}"
    )]
    ResolvConf {
        /// The file.
        path: PathBuf,
        /// The resolver it must name.
        resolver: String,
    },
    /// A command failed.
    #[error("{command} failed: {output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status and output, or why it could not start.
        output: String,
    },
    /// A program did not come up.
    #[error("{program} {why}; its output:\n{output}")]
    NotReady {
        /// The program.
        program: String,
        /// What it did not do.
        why: String,
        /// What it printed.
        output: String,
    },
    /// A file or directory could not be used.
    #[error("cannot use {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The simulated internet did not start.
    #[error("the simulated internet did not start")]
    Testbed(#[from] mxsec_testbed::scenario::TestbedError),
    /// The validating resolver did not start.
    #[error("the validating resolver did not start")]
    Resolver(#[from] mxsec_testbed::dns::UnboundError),
    /// The harness's own thread failed.
    #[error("the harness thread panicked")]
    Panicked,
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}
