//! `new` and `sync` in workspaces whose `members` are globs: the crates go where the globs say,
//! the user's membership lists stay as written, and `sync` finds the crates there.

use std::fs;
use std::path::Path;

use predicates::prelude::*;

use crate::sync::{NEW_METHOD, append, scaffolded};
use crate::{cargo_medium, example_spec};

const CRATES: [&str; 3] = [
    "student-system-protocol",
    "student-system-daemon",
    "student-system-app",
];

/// A workspace with `manifest` as its root manifest, a library crate `tool` in `tool_dir`,
/// and the example spec in `specs/`.
fn workspace(manifest: &str, tool_dir: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("Cargo.toml"), manifest).unwrap();
    fs::create_dir_all(root.join(tool_dir).join("src")).unwrap();
    fs::write(
        root.join(tool_dir).join("Cargo.toml"),
        "[package]\nname = \"tool\"\nedition = \"2024\"\n",
    )
    .unwrap();
    fs::write(root.join(tool_dir).join("src/lib.rs"), "").unwrap();
    fs::create_dir(root.join("specs")).unwrap();
    fs::copy(example_spec(), root.join("specs/student.lmspc")).unwrap();
    dir
}

/// The member packages `cargo metadata` lists, sorted by name.
fn cargo_members(root: &Path) -> Vec<String> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .current_dir(root)
        .no_deps()
        .other_options(vec!["--offline".to_owned()])
        .exec()
        .unwrap();
    let mut names: Vec<String> = metadata
        .workspace_packages()
        .into_iter()
        .map(|package| package.name.clone())
        .collect();
    names.sort();
    names
}

fn record(root: &Path) -> toml_edit::Table {
    let manifest: toml_edit::DocumentMut = fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    manifest["workspace"]["metadata"]["medium"]["protocols"][0]
        .as_table()
        .unwrap()
        .clone()
}

#[test]
fn new_puts_the_crates_where_the_members_glob_says_and_sync_finds_them_there() {
    let before = "[workspace]\nmembers = [ \"crates/*\" ]   # every crate\nresolver = \"3\"\n";
    let dir = workspace(before, "crates/tool");
    let root = dir.path();
    cargo_medium(root)
        .args(["new", "specs/student.lmspc"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "     Created crates/student-system-protocol (generated from specs/student.lmspc)\n",
        ))
        .stderr(predicate::str::contains("member").not());

    for name in CRATES {
        assert!(root.join("crates").join(name).join("Cargo.toml").is_file());
        assert!(!root.join(name).exists(), "{name} at the top level");
    }
    // The `[workspace]` table is left as written; everything new comes after it.
    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(manifest.starts_with(before), "{manifest}");
    assert!(
        manifest
            .contains("student-system-protocol = { path = \"crates/student-system-protocol\" }\n"),
        "{manifest}"
    );
    let record = record(root);
    for (key, name) in ["protocol_dir", "daemon_dir", "app_dir"]
        .into_iter()
        .zip(CRATES)
    {
        assert_eq!(
            record[key].as_str(),
            Some(format!("crates/{name}").as_str())
        );
    }
    assert_eq!(
        cargo_members(root),
        [
            "student-system-app",
            "student-system-daemon",
            "student-system-protocol",
            "tool"
        ]
    );

    append(&root.join("specs/student.lmspc"), NEW_METHOD);
    cargo_medium(root)
        .arg("sync")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "    Updating student-system-protocol (",
        ));
    let recorded = root.join("crates/student-system-protocol/src/spec.lmspc");
    assert!(
        fs::read_to_string(recorded)
            .unwrap()
            .contains("count_students"),
    );
    assert!(!root.join("student-system-protocol").exists());
    assert_eq!(
        fs::read_to_string(root.join("Cargo.toml")).unwrap(),
        manifest
    );

    // With the protocol crate gone cargo cannot load the workspace; sync still finds its
    // record and recreates the crate where it was.
    fs::remove_dir_all(root.join("crates/student-system-protocol")).unwrap();
    cargo_medium(&root.join("crates/student-system-daemon"))
        .arg("sync")
        .assert()
        .success();
    assert!(
        root.join("crates/student-system-protocol/src/lib.rs")
            .is_file()
    );
    cargo_medium(root)
        .args(["sync", "--check"])
        .assert()
        .success();
}

#[test]
fn sync_regenerates_a_protocol_crate_recorded_in_a_folder_of_its_own() {
    let (_dir, root) = scaffolded();
    fs::create_dir(root.join("proto")).unwrap();
    fs::rename(
        root.join("student-system-protocol"),
        root.join("proto/student-system-protocol"),
    )
    .unwrap();
    let manifest = fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .replace(
            "\"student-system-protocol\",",
            "\"proto/student-system-protocol\",",
        )
        .replace(
            "{ path = \"student-system-protocol\" }",
            "{ path = \"proto/student-system-protocol\" }",
        )
        .replace(
            "app = \"student-system-app\"\n",
            "app = \"student-system-app\"\nprotocol_dir = \"proto/student-system-protocol\"\n",
        );
    fs::write(root.join("Cargo.toml"), &manifest).unwrap();
    append(&root.join("student.lmspc"), NEW_METHOD);

    cargo_medium(&root)
        .arg("sync")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "    Updating student-system-protocol (",
        ));
    let recorded = root.join("proto/student-system-protocol/src/spec.lmspc");
    assert!(
        fs::read_to_string(recorded)
            .unwrap()
            .contains("count_students")
    );
    assert!(!root.join("student-system-protocol").exists());
    assert_eq!(
        fs::read_to_string(root.join("Cargo.toml")).unwrap(),
        manifest
    );
}

#[test]
fn new_refuses_a_place_the_workspace_excludes_and_writes_nothing() {
    let before =
        "[workspace]\nmembers = [\"crates/*\"]\nexclude = [\"crates/student-system-daemon\"]\n";
    let dir = workspace(before, "crates/tool");
    let root = dir.path();
    cargo_medium(root)
        .args(["new", "specs/student.lmspc"])
        .assert()
        .code(101)
        .stderr(
            "error: the new crate `student-system-daemon` would go in \
             `crates/student-system-daemon` (where the `members` pattern `crates/*` puts it), \
             but the workspace's `exclude` lists `crates/student-system-daemon`: pick other \
             crate names with `--name`, or change `exclude`\n",
        );
    assert_eq!(fs::read_to_string(root.join("Cargo.toml")).unwrap(), before);
    for name in CRATES {
        assert!(!root.join("crates").join(name).exists());
        assert!(!root.join(name).exists());
    }
}

#[test]
fn a_nested_members_glob_asks_for_a_folder_then_new_uses_the_one_given() {
    let before = "[workspace]\nmembers = [\"services/*/crates/*\"]\n";
    let dir = workspace(before, "services/billing/crates/tool");
    let root = dir.path();
    cargo_medium(root)
        .args(["new", "specs/student.lmspc"])
        .assert()
        .code(101)
        .stderr(
            "error: the `members` pattern `services/*/crates/*` matches crates in several \
             folders, so it does not say which one new crates go in: add the folder you want to \
             `members` (for example `\"services/student-system/crates/*\"`), then run \
             `cargo medium new` again\n",
        );
    assert_eq!(fs::read_to_string(root.join("Cargo.toml")).unwrap(), before);
    assert!(!root.join("services/student-system").exists());

    // As suggested. Until the crates exist the new pattern matches nothing, so cargo cannot
    // load the workspace: `new` reads the manifest itself.
    let given =
        "[workspace]\nmembers = [\"services/*/crates/*\", \"services/student-system/crates/*\"]\n";
    fs::write(root.join("Cargo.toml"), given).unwrap();
    cargo_medium(root)
        .args(["new", "specs/student.lmspc"])
        .assert()
        .success();
    for name in CRATES {
        let crate_dir = root.join("services/student-system/crates").join(name);
        assert!(crate_dir.join("Cargo.toml").is_file(), "{name}");
    }
    assert!(
        fs::read_to_string(root.join("Cargo.toml"))
            .unwrap()
            .starts_with(given)
    );
    assert_eq!(cargo_members(root).len(), 4);
}

#[test]
fn new_leaves_default_members_alone_and_says_so() {
    let before = "[workspace]\nmembers = [\"crates/*\"]\ndefault-members = [\"crates/tool\"]\n";
    let dir = workspace(before, "crates/tool");
    let root = dir.path();
    cargo_medium(root)
        .args(["new", "specs/student.lmspc"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "note: the workspace's `default-members` leave the new crates out, so a plain \
             `cargo build` in its root skips them; `-p` selects them\n",
        ));
    assert!(
        fs::read_to_string(root.join("Cargo.toml"))
            .unwrap()
            .starts_with(before)
    );
}

#[test]
fn new_refuses_a_crate_name_another_member_package_has() {
    let before = "[workspace]\nmembers = [\"crates/*\"]\n";
    let dir = workspace(before, "crates/old-app");
    let root = dir.path();
    let tool_manifest = root.join("crates/old-app/Cargo.toml");
    fs::write(
        &tool_manifest,
        "[package]\nname = \"student-system-app\"\nedition = \"2024\"\n",
    )
    .unwrap();
    cargo_medium(root)
        .args(["new", "specs/student.lmspc"])
        .assert()
        .code(101)
        .stderr(format!(
            "error: the workspace already has a package named `student-system-app` (`{}`); pick \
             another base name with `--name`\n",
            tool_manifest.display()
        ));
    assert_eq!(fs::read_to_string(root.join("Cargo.toml")).unwrap(), before);
    assert!(!root.join("crates/student-system-protocol").exists());
}

#[test]
fn next_steps_name_the_daemon_s_folder() {
    let dir = workspace("[workspace]\nmembers = [\"crates/*\"]\n", "crates/tool");
    let root = dir.path();
    cargo_medium(root)
        .args(["new", "specs/student.lmspc", "--systemd"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "`cargo install --path crates/student-system-daemon`",
        ))
        .stderr(predicate::str::contains(
            "in `crates/student-system-daemon/systemd`",
        ));
}

#[test]
fn a_rustfmt_config_in_the_crates_folder_formats_the_new_crates() {
    let dir = workspace("[workspace]\nmembers = [\"crates/*\"]\n", "crates/tool");
    let root = dir.path();
    fs::write(root.join("crates/rustfmt.toml"), "hard_tabs = true\n").unwrap();
    cargo_medium(root)
        .args(["new", "specs/student.lmspc"])
        .assert()
        .success();
    let main = fs::read_to_string(root.join("crates/student-system-daemon/src/main.rs")).unwrap();
    assert!(main.contains("\n\tasync fn get_student("), "{main}");
}
