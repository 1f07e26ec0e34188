//! `cargo medium sync`: regenerates protocol crates, and nothing else.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::{cargo_medium, example_spec};

/// A method the example spec does not have, to make its protocol crate stale.
pub(crate) const NEW_METHOD: &str = "method count_students(): uint32\n";

/// A workspace made by `new` from the example spec, and its root.
pub(crate) fn scaffolded() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .arg("new")
        .arg(example_spec())
        .args(["ws", "--vcs", "none"])
        .assert()
        .success();
    let root = dir.path().join("ws");
    (dir, root)
}

pub(crate) fn append(path: &Path, text: &str) {
    let mut contents = fs::read_to_string(path).unwrap();
    contents.push_str(text);
    fs::write(path, contents).unwrap();
}

/// Every file of a crate with its contents, sorted by path.
pub(crate) fn snapshot(dir: &Path) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                let contents = fs::read_to_string(&path).unwrap();
                out.push((path, contents));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

#[test]
fn sync_right_after_new_finds_everything_fresh_from_a_subdirectory() {
    let (_dir, root) = scaffolded();
    cargo_medium(&root.join("student-system-daemon/src"))
        .arg("sync")
        .assert()
        .success()
        .stderr("       Fresh student-system-protocol\n");
    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .success()
        .stderr("       Fresh every generated crate matches its spec\n");
}

#[test]
fn check_fails_listing_stale_files_and_passes_after_sync() {
    let (_dir, root) = scaffolded();
    append(&root.join("student.lmspc"), NEW_METHOD);
    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .code(101)
        .stderr(predicate::str::starts_with("error: "))
        .stderr(predicate::str::contains("out of date with the specs:\n"))
        .stderr(predicate::str::contains("    student-system-protocol/"))
        .stderr(predicate::str::ends_with(
            "note: run `cargo medium sync` to update them\n",
        ));
    cargo_medium(&root)
        .arg("sync")
        .assert()
        .success()
        .stderr(predicate::str::starts_with(
            "    Updating student-system-protocol (",
        ))
        .stderr(predicate::str::contains(
            "note: `count_students` was added to student.lmspc: implement it in \
             `student-system-daemon`\n",
        ));
    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .success();
}

#[test]
fn sync_leaves_user_daemon_and_app_untouched() {
    let (_dir, root) = scaffolded();
    // The user edits their crates, then the spec.
    append(&root.join("student-system-daemon/Cargo.toml"), "# mine\n");
    append(&root.join("student-system-app/Cargo.toml"), "# mine\n");
    let daemon = snapshot(&root.join("student-system-daemon"));
    let app = snapshot(&root.join("student-system-app"));
    append(&root.join("student.lmspc"), NEW_METHOD);
    cargo_medium(&root).arg("sync").assert().success();
    assert_eq!(snapshot(&root.join("student-system-daemon")), daemon);
    assert_eq!(snapshot(&root.join("student-system-app")), app);
}

#[test]
fn dry_run_lists_what_would_change_and_writes_nothing() {
    let (_dir, root) = scaffolded();
    append(&root.join("student.lmspc"), NEW_METHOD);
    let protocol = snapshot(&root.join("student-system-protocol"));
    cargo_medium(&root)
        .args(["sync", "--dry-run"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "     Writing student-system-protocol/",
        ))
        .stderr(predicate::str::ends_with(
            "warning: aborting due to dry run: nothing was written\n",
        ));
    assert_eq!(snapshot(&root.join("student-system-protocol")), protocol);
    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .code(101);
}

#[test]
fn spec_error_aborts_with_the_diagnostic_and_writes_nothing() {
    let (_dir, root) = scaffolded();
    append(&root.join("student.lmspc"), NEW_METHOD);
    append(&root.join("student.lmspc"), "event broken(x: nothing)\n");
    let before = snapshot(&root);
    cargo_medium(&root)
        .arg("sync")
        .assert()
        .code(101)
        .stderr(predicate::str::contains("student.lmspc:"))
        .stderr(predicate::str::contains("nothing"))
        .stderr(predicate::str::ends_with(
            "error: could not sync: fix the spec errors above; nothing was written\n",
        ));
    assert_eq!(snapshot(&root), before);
}

/// Runs `sync` in the workspace at `root`, where `file` replaced a generated file, and checks
/// that it refuses, names the file and writes nothing.
pub(crate) fn assert_sync_refuses_to_overwrite(root: &Path, file: &Path) {
    let before = snapshot(root);
    cargo_medium(root)
        .arg("sync")
        .assert()
        .code(101)
        .stderr(format!(
            "error: `{}` would be overwritten, but it was not generated (it has no `@generated by \
             cargo-medium` header); cargo-medium never overwrites your files: move it out of the \
             way and run the command again\n",
            file.display()
        ));
    assert_eq!(snapshot(root), before);
}

#[test]
fn sync_refuses_to_overwrite_a_file_that_was_not_generated() {
    let (_dir, root) = scaffolded();
    let lib = root.join("student-system-protocol/src/lib.rs");
    fs::write(&lib, "// my own code\n").unwrap();
    assert_sync_refuses_to_overwrite(&root, &lib);
}

#[test]
fn sync_recreates_a_deleted_protocol_crate_and_its_membership() {
    let (_dir, root) = scaffolded();
    let protocol = snapshot(&root.join("student-system-protocol"));
    fs::remove_dir_all(root.join("student-system-protocol")).unwrap();
    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let without_member = manifest.replace("    \"student-system-protocol\",\n", "");
    assert_ne!(without_member, manifest);
    fs::write(root.join("Cargo.toml"), without_member).unwrap();
    cargo_medium(&root)
        .arg("sync")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "    Updating Cargo.toml: added member `student-system-protocol`\n",
        ));
    assert_eq!(snapshot(&root.join("student-system-protocol")), protocol);
    assert_eq!(fs::read_to_string(root.join("Cargo.toml")).unwrap(), manifest.replace(
        "    \"student-system-protocol\",\n    \"student-system-daemon\",\n    \"student-system-app\",\n",
        "    \"student-system-daemon\",\n    \"student-system-app\",\n    \"student-system-protocol\",\n",
    ));
}

#[test]
fn sync_restores_the_protocol_crate_the_daemon_and_app_inherit() {
    let (_dir, root) = scaffolded();
    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let entry = "student-system-protocol = { path = \"student-system-protocol\" }\n";
    let without_entry = manifest.replace(entry, "");
    assert_ne!(without_entry, manifest);
    fs::write(root.join("Cargo.toml"), &without_entry).unwrap();
    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .code(101);
    cargo_medium(&root).arg("sync").assert().success();
    // Additions go at the end of the user's table, leaving the rest as it was.
    let restored = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let last_dependency =
        "tracing-subscriber = { version = \"0.3\", features = [\"env-filter\"] }\n";
    assert_eq!(
        restored,
        without_entry.replace(last_dependency, &format!("{last_dependency}{entry}"))
    );
}

#[test]
fn sync_with_manifest_path_works_from_anywhere() {
    let (dir, root) = scaffolded();
    append(&root.join("student.lmspc"), NEW_METHOD);
    cargo_medium(dir.path())
        .args(["sync", "--manifest-path", "ws/Cargo.toml"])
        .assert()
        .success();
    cargo_medium(dir.path())
        .args([
            "sync",
            "--check",
            "--manifest-path",
            "ws/student-system-app/Cargo.toml",
        ])
        .assert()
        .success();
}

#[test]
fn sync_outside_a_workspace_says_so() {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .arg("sync")
        .assert()
        .code(101)
        .stderr(format!(
            "error: could not find a workspace `Cargo.toml` in `{}` or any parent directory\n",
            dir.path().display()
        ));
}

#[test]
fn sync_in_a_workspace_without_protocols_says_how_to_add_one() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("Cargo.toml"), "[workspace]\n").unwrap();
    cargo_medium(dir.path())
        .arg("sync")
        .assert()
        .code(101)
        .stderr(predicate::str::contains(
            "records no protocols (no `[[workspace.metadata.medium.protocols]]`); add one with \
             `cargo medium new SPEC`\n",
        ));
}

#[test]
fn sync_removes_generated_files_the_generator_no_longer_makes_and_keeps_others() {
    let (_dir, root) = scaffolded();
    let src = root.join("student-system-protocol/src");
    let obsolete = src.join("legacy.rs");
    fs::write(
        &obsolete,
        "// @generated by cargo-medium from student.lmspc\npub struct Old;\n",
    )
    .unwrap();
    fs::write(src.join("notes.md"), "my notes\n").unwrap();
    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains(
            "    student-system-protocol/src/legacy.rs\n",
        ));
    cargo_medium(&root)
        .args(["sync", "-v"])
        .assert()
        .success()
        .stderr(
            "    Updating student-system-protocol (1 file)\n\
             \x20   Removing student-system-protocol/src/legacy.rs\n",
        );
    assert!(!obsolete.exists());
    assert_eq!(
        fs::read_to_string(src.join("notes.md")).unwrap(),
        "my notes\n"
    );
}

#[test]
fn sync_warns_naming_each_generated_file_it_overwrites_that_was_edited_by_hand() {
    let (_dir, root) = scaffolded();
    let models = root.join("student-system-protocol/src/models.rs");
    append(&models, "// my fix\n");
    append(&root.join("student.lmspc"), NEW_METHOD);
    let output = cargo_medium(&root).arg("sync").assert().success();
    let stderr = String::from_utf8(output.get_output().stderr.clone()).unwrap();
    // Files the spec change rewrites but nobody edited are not named.
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        warnings,
        [
            "warning: `student-system-protocol/src/models.rs` had local edits, which sync \
          overwrote: change the spec instead"
        ],
        "{stderr}"
    );
    assert!(!fs::read_to_string(&models).unwrap().contains("my fix"));
}

#[test]
fn sync_warns_about_an_edited_file_when_the_spec_did_not_change() {
    let (_dir, root) = scaffolded();
    append(
        &root.join("student-system-protocol/Cargo.toml"),
        "[features]\nx = []\n",
    );
    cargo_medium(&root)
        .arg("sync")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: `student-system-protocol/Cargo.toml` had local edits, which sync \
             overwrote: change the spec instead\n",
        ));
}
