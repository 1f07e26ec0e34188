//! A workspace with its own `rustfmt.toml`: `cargo fmt` and `cargo medium sync --check` agree,
//! so a CI that runs both can never loop (rustfmt skips generated modules; the user's rustfmt
//! lays out the daemon and app once, at `new`).

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::sync::{NEW_METHOD, append, scaffolded};
use crate::{cargo_medium, example_spec};

/// Far from rustfmt's defaults, as a team's configuration may be.
const RUSTFMT_TOML: &str = "max_width = 60\nhard_tabs = true\n";

/// `cargo fmt` over the workspace's own members (not `--all`, which would also format the
/// path dependency on this checkout's runtime), with `--check` when asked.
fn cargo_fmt(root: &Path, check: bool) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.arg("fmt").current_dir(root);
    if check {
        cmd.arg("--check");
    }
    cmd.output().expect("cargo fmt runs")
}

fn assert_fmt_clean(root: &Path, when: &str) {
    let output = cargo_fmt(root, true);
    assert!(
        output.status.success(),
        "{when}, `cargo fmt --check` wants changes:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn sync_check_and_cargo_fmt_agree_under_a_custom_rustfmt_config() {
    let (_dir, root) = scaffolded();
    fs::write(root.join("rustfmt.toml"), RUSTFMT_TOML).unwrap();
    let formatted = cargo_fmt(&root, false);
    assert!(formatted.status.success(), "cargo fmt fails: {formatted:?}");

    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .success();
    cargo_medium(&root).arg("sync").assert().success();
    assert_fmt_clean(&root, "after `sync`");

    append(&root.join("student.lmspc"), NEW_METHOD);
    cargo_medium(&root).arg("sync").assert().success();
    assert_fmt_clean(&root, "after a spec change and `sync`");
    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .success();
}

#[test]
fn new_inside_a_workspace_with_its_own_rustfmt_config_is_fmt_clean_at_once() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("Cargo.toml"),
        "[workspace]\nmembers = []\nresolver = \"3\"\n",
    )
    .unwrap();
    fs::write(dir.path().join("rustfmt.toml"), RUSTFMT_TOML).unwrap();
    cargo_medium(dir.path())
        .arg("new")
        .arg(example_spec())
        .assert()
        .success();
    assert_fmt_clean(dir.path(), "right after `new`");
}
