//! One module per subcommand; each turns parsed arguments into library calls and prints
//! through the [`Shell`].

mod call;
mod check;
mod daemon;
mod describe;
mod diff;
mod generate;
mod monitor;
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

/// Returned by `diff --exit-code` when the specs differ: not a failure, so `main` exits with 1
/// (as `git diff --exit-code`) instead of 101.
#[derive(Debug, thiserror::Error)]
#[error("the protocols differ")]
pub struct ProtocolsDiffer;

/// An error and its causes on one line, `a: b: c`, as `main` prints a command's error (messages
/// leave their cause to `source()`, so printing only the error would drop it).
pub fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(error) = cause {
        text = format!("{text}: {error}");
        cause = error.source();
    }
    text
}

pub fn run(cli: &Cli, shell: &mut Shell) -> anyhow::Result<()> {
    match &cli.command {
        Command::New(args) => new::run(args, &cli.global, shell),
        Command::Sync(args) => sync::run(args, &cli.global, shell),
        Command::Check(args) => check::run(args, shell),
        Command::Diff(args) => diff::run(args, shell),
        Command::Gen(args) => generate::run(args, shell),
        Command::Describe(args) => describe::run(args, &cli.global, shell),
        Command::Call(args) => call::run(args, &cli.global, shell),
        Command::Monitor(args) => monitor::run(args, &cli.global, shell),
    }
}
