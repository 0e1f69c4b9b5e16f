//! One module per subcommand, each with a `run` function.

mod check;
mod conformance;
pub(crate) mod daemon;
mod demo;
mod doctor;
mod query;
mod sts;
mod summary;
mod tlsa;
mod tlsrpt;
mod web;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::Command;

/// Runs a subcommand.
pub(crate) async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Check(args) => check::run(*args).await,
        Command::Query(args) => query::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Sts(args) => sts::run(args).await,
        Command::Tlsa(args) => tlsa::run(*args).await,
        Command::Tlsrpt(args) => tlsrpt::run(args).await,
        Command::Daemon(args) => daemon::run(args).await,
        Command::Web(args) => web::run(args).await,
        Command::Conformance(args) => conformance::run(args).await,
        Command::Doctor(args) => doctor::run(args).await,
    }
}
