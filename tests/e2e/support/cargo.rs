//! [`Cargo`]: cargo commands on a test workspace, offline when the local registry has
//! everything, with output captured for assertion messages.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Output};

use super::shared_target_dir;

/// Builds and runs cargo commands in one directory with the shared target dir.
#[derive(Debug, Clone)]
pub struct Cargo {
    dir: PathBuf,
}

impl Cargo {
    pub fn new(dir: impl Into<PathBuf>) -> Cargo {
        Cargo { dir: dir.into() }
    }

    /// `cargo <args>` in the directory, tried `--offline` first (test workspaces reuse the
    /// checkout's lock file, so the registry cache usually has every crate) and online only
    /// when cargo says the offline attempt lacked something.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let offline = self.command().arg("--offline").args(&args).output();
        let offline = offline.unwrap_or_else(|err| panic!("cannot run cargo: {err}"));
        if offline.status.success() || !String::from_utf8_lossy(&offline.stderr).contains("offline")
        {
            return offline;
        }
        self.command()
            .args(&args)
            .output()
            .unwrap_or_else(|err| panic!("cannot run cargo: {err}"))
    }

    /// One `cargo build` and one `cargo clippy -D warnings` of every target of the workspace,
    /// panicking with cargo's output if either fails.
    pub fn assert_builds_and_lints_clean(&self) {
        run_ok(
            "cargo build",
            self.run(["build", "--workspace", "--all-targets"]),
        );
        run_ok(
            "cargo clippy",
            self.run([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
        );
    }

    fn command(&self) -> Command {
        // `CARGO` is the cargo running this test, so the same toolchain builds the workspace.
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .current_dir(&self.dir)
            .env("CARGO_TARGET_DIR", shared_target_dir())
            // What the tests build is run once and thrown away: debug info and incremental
            // caches were most of the shared target dir's size, and none of its use.
            .env("CARGO_PROFILE_DEV_DEBUG", "0")
            .env("CARGO_INCREMENTAL", "0")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        command
    }
}

/// Panics with the command's output unless it succeeded; returns its stdout.
pub fn run_ok(what: &str, output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
