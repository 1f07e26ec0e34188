//! `cargo medium new` lays the daemon and app out with the user's rustfmt, as `cargo new`
//! does: their `rustfmt.toml` applies, so `cargo fmt --check` passes right after `new`; without
//! a working rustfmt they are written as generated, with a note. rustfmt never touches the
//! protocol crate, so `cargo fmt` and `cargo medium sync --check` can never fight.

use std::fs;
use std::path::Path;
use std::process::Command;

use predicates::prelude::*;

use crate::sync::{NEW_METHOD, append, scaffolded};
use crate::{cargo_medium, example_spec};

const USER_CRATES: [&str; 2] = ["student-system-daemon", "student-system-app"];

/// A configuration far from rustfmt's defaults.
const CONFIG: &str = "max_width = 60\nhard_tabs = true\n";

/// `cargo fmt --check` on the daemon and app of the workspace at `root` (the protocol crate is
/// generated: rustfmt never touches it).
fn assert_cargo_fmt_leaves_user_crates_alone(root: &Path) {
    let mut fmt = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    fmt.current_dir(root).args(["fmt", "--check"]);
    for name in USER_CRATES {
        fmt.args(["-p", name]);
    }
    let output = fmt.output().unwrap();
    assert!(
        output.status.success(),
        "cargo fmt would change the daemon or app:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn daemon_main(root: &Path) -> String {
    fs::read_to_string(root.join("student-system-daemon/src/main.rs")).unwrap()
}

#[test]
fn new_workspace_is_formatted_with_the_config_above_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("rustfmt.toml"), CONFIG).unwrap();
    cargo_medium(dir.path())
        .arg("new")
        .arg(example_spec())
        .args(["ws", "--vcs", "none"])
        .assert()
        .success()
        .stderr(predicate::str::contains("not formatted").not());
    let root = dir.path().join("ws");
    assert!(daemon_main(&root).contains("\n\tasync fn get_student(\n\t\t&self,\n"));
    assert_cargo_fmt_leaves_user_crates_alone(&root);
}

#[test]
fn new_crates_in_a_workspace_follow_its_config_and_edition() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nresolver = \"2\"\nmembers = []\n\n\
         [workspace.package]\nversion = \"1.0.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    fs::write(root.join(".rustfmt.toml"), CONFIG).unwrap();
    cargo_medium(root)
        .arg("new")
        .arg(example_spec())
        .assert()
        .success();
    assert!(daemon_main(root).contains("\n\tasync fn get_student(\n\t\t&self,\n"));
    assert_cargo_fmt_leaves_user_crates_alone(root);
}

#[test]
fn without_rustfmt_the_crates_are_written_as_generated_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let note = "note: the daemon and app are written as generated, not formatted: could not run \
                `/nonexistent/rustfmt`: ";
    // A dry run takes the same path.
    cargo_medium(dir.path())
        .arg("new")
        .arg(example_spec())
        .args(["ws", "--vcs", "none", "--dry-run"])
        .env("RUSTFMT", "/nonexistent/rustfmt")
        .assert()
        .success()
        .stderr(predicate::str::contains(note));
    cargo_medium(dir.path())
        .arg("new")
        .arg(example_spec())
        .args(["ws", "--vcs", "none"])
        .env("RUSTFMT", "/nonexistent/rustfmt")
        .assert()
        .success()
        .stderr(predicate::str::contains(note));
    let daemon = daemon_main(&dir.path().join("ws"));
    assert!(
        daemon.contains(
            "\n        Err(medium_runtime::HandlerError::NotImplemented { method: \"get_student\" })\n"
        ),
        "{daemon}"
    );
}

#[test]
fn a_broken_rustfmt_config_is_named_in_the_note() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("rustfmt.toml"), "max_width = \"wide\"\n").unwrap();
    cargo_medium(dir.path())
        .arg("new")
        .arg(example_spec())
        .args(["ws", "--vcs", "none"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "note: the daemon and app are written as generated, not formatted: `rustfmt` failed: ",
        ))
        .stderr(predicate::str::contains(
            dir.path().join("rustfmt.toml").display().to_string(),
        ));
    assert!(
        dir.path()
            .join("ws/student-system-app/src/main.rs")
            .is_file()
    );
}

/// `cargo fmt` over the workspace's own members (not `--all`, which would also format the path
/// dependency on this checkout's runtime), with `--check` when asked.
fn cargo_fmt_workspace(root: &Path, check: bool) -> std::process::Output {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.arg("fmt").current_dir(root);
    if check {
        cmd.arg("--check");
    }
    cmd.output().unwrap()
}

fn assert_workspace_fmt_clean(root: &Path, when: &str) {
    let output = cargo_fmt_workspace(root, true);
    assert!(
        output.status.success(),
        "{when}, `cargo fmt --check` wants changes:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn sync_check_and_cargo_fmt_agree_under_a_custom_config_also_after_a_spec_change() {
    let (_dir, root) = scaffolded();
    fs::write(root.join("rustfmt.toml"), CONFIG).unwrap();
    let formatted = cargo_fmt_workspace(&root, false);
    assert!(formatted.status.success(), "cargo fmt fails: {formatted:?}");

    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .success();
    cargo_medium(&root).arg("sync").assert().success();
    assert_workspace_fmt_clean(&root, "after `sync`");

    append(&root.join("student.lmspc"), NEW_METHOD);
    cargo_medium(&root).arg("sync").assert().success();
    assert_workspace_fmt_clean(&root, "after a spec change and `sync`");
    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .success();
}
