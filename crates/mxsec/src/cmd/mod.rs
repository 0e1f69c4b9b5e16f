//! One module per subcommand, each with a `run` function.

mod demo;
mod query;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::Command;

/// Runs a subcommand.
pub(crate) async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Query(args) => query::run(args).await,
        Command::Demo(args) => demo::run(args).await,
    }
}
