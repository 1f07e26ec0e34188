//! One module per subcommand; each turns parsed arguments into library calls and prints
//! through the [`Shell`].

mod check;
mod new;
mod report;
mod sync;

use cargo_medium::shell::Shell;

use crate::cli::{Cli, Command};

/// Returned by a command that already printed its errors (diagnostics), so `main` only has to
/// set the exit code.
#[derive(Debug, thiserror::Error)]
#[error("errors were already reported")]
pub struct AlreadyReported;

pub fn run(cli: &Cli, shell: &mut Shell) -> anyhow::Result<()> {
    match &cli.command {
        Command::New(args) => new::run(args, &cli.global, shell),
        Command::Sync(args) => sync::run(args, &cli.global, shell),
        Command::Check(args) => check::run(args, shell),
    }
}
