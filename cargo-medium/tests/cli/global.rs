//! Behaviour shared by every command: help, version, usage errors, `cargo medium` spelling.

use predicates::prelude::*;

use crate::cargo_medium;

#[test]
fn help_lists_every_command() {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Usage: cargo medium"))
        .stdout(predicate::str::contains("new"))
        .stdout(predicate::str::contains("sync"))
        .stdout(predicate::str::contains("check"));
}

#[test]
fn version_names_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("cargo-medium {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn cargo_passes_the_subcommand_name_first() {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .args(["medium", "--version"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("cargo-medium "));
}

#[test]
fn unknown_flag_is_a_usage_error_with_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .args(["check", "--frobnicate"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "error: unexpected argument '--frobnicate'",
        ));
}

#[test]
fn missing_subcommand_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Usage: cargo medium"));
}

#[test]
fn color_always_colours_errors() {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .args(["--color", "always", "check", "missing.lmspc"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains("\u{1b}[1m\u{1b}[31merror"));
}

#[test]
fn cargo_term_color_never_keeps_output_plain() {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .args(["check", "missing.lmspc"])
        .assert()
        .code(101)
        .stderr(
            predicate::str::starts_with("error: ").and(predicate::str::contains("\u{1b}").not()),
        );
}
