//! CLI tests: run the real `cargo-medium` binary and check what a user sees — stdout, stderr and
//! the exit code. One test binary; one module per command.

mod check;
mod diff;
mod error_messages;
mod gen_python;
mod global;
mod inspect;
mod members;
mod new;
mod nothing_lost;
mod python_sync;
#[path = "../shared/python_venv.rs"]
mod python_venv;
mod rustfmt;
mod sync;
mod sync_faults;
mod systemd;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// `cargo-medium` with colour off and run from `dir`, so output is stable.
pub fn cargo_medium(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("cargo-medium").unwrap();
    cmd.current_dir(dir).env("CARGO_TERM_COLOR", "never");
    cmd
}

/// The repository's example spec.
pub fn example_spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/student.lmspc")
}
