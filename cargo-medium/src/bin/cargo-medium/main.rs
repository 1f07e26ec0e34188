//! The `cargo-medium` binary: parses the command line, runs one command, maps the outcome to
//! cargo's exit codes (0 success, 1 usage error, 101 failure; a closed stdout is a success). All logic lives in the library;
//! this is the only place `anyhow` is used.

mod cli;
mod commands;

use std::ffi::OsString;
use std::process::ExitCode;

use cargo_medium::shell::{Shell, StdoutError};
use clap::Parser;

use crate::cli::Cli;

/// Exit code for a command that ran and failed, as cargo uses.
const FAILURE: u8 = 101;
/// Exit code for a command line that could not be parsed.
const USAGE: u8 = 1;
/// Exit code of `diff --exit-code` when the specs differ, as git's.
const DIFFERENT: u8 = 1;

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(args_without_subcommand_name(std::env::args_os())) {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { USAGE } else { 0 };
            // Help and version go to stdout; usage errors to stderr, both formatted by clap.
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let mut shell = Shell::new(cli.global.verbosity(), cli.global.color.into());
    match commands::run(&cli, &mut shell) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<commands::ProtocolsDiffer>() => ExitCode::from(DIFFERENT),
        // The reader of stdout (`| head`) has what it wanted: not a failure, nothing to say.
        Err(err) if err.downcast_ref().is_some_and(StdoutError::is_closed) => ExitCode::SUCCESS,
        Err(err) => {
            if !err.is::<commands::AlreadyReported>() {
                shell.error(format!("{err:#}"));
            }
            ExitCode::from(FAILURE)
        }
    }
}

/// Cargo runs `cargo medium x` as `cargo-medium medium x`; drop that `medium` so both spellings
/// parse the same.
fn args_without_subcommand_name(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if args.get(1).is_some_and(|arg| arg == "medium") {
        args.remove(1);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_style_invocation_drops_the_subcommand_name() {
        let args = ["cargo-medium", "medium", "check", "a.lmspc"].map(OsString::from);
        assert_eq!(
            args_without_subcommand_name(args),
            ["cargo-medium", "check", "a.lmspc"].map(OsString::from)
        );
    }

    #[test]
    fn direct_invocation_is_left_alone() {
        let args = ["cargo-medium", "check", "medium"].map(OsString::from);
        assert_eq!(args_without_subcommand_name(args.clone()), args);
    }
}
