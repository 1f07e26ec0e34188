//! `cargo medium diff OLD NEW`.

use std::path::Path;

use predicates::prelude::*;

use crate::sync::scaffolded;
use crate::{cargo_medium, example_spec};

/// Writes the example spec as `old.lmspc`, and as `new.lmspc` with `edit` applied.
fn old_and_new(dir: &Path, edit: impl FnOnce(String) -> String) {
    let old = std::fs::read_to_string(example_spec()).unwrap();
    std::fs::write(dir.join("new.lmspc"), edit(old.clone())).unwrap();
    std::fs::write(dir.join("old.lmspc"), old).unwrap();
}

#[test]
fn unchanged_protocol_says_so_and_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    old_and_new(dir.path(), |spec| {
        format!("// A comment is no change.\n{spec}")
    });
    cargo_medium(dir.path())
        .args(["diff", "old.lmspc", "new.lmspc", "--exit-code"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "no protocol changes (fingerprint ",
        ))
        .stderr("");
}

#[test]
fn changes_are_listed_on_stdout_and_succeed() {
    let dir = tempfile::tempdir().unwrap();
    old_and_new(dir.path(), |spec| {
        spec.replace("age: uint8", "age: uint16\nemail: string")
            .replace("method update_student(info: Student)\n", "")
            + "method remove_student(id: string): boolean\nexception ReadOnly\n"
    });
    let output = cargo_medium(dir.path())
        .args(["diff", "old.lmspc", "new.lmspc"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    let stdout = String::from_utf8(output.stdout).unwrap();
    // The fingerprints are hashes; the snapshot shows where they go, not their digits.
    let (body, fingerprint) = stdout.trim_end().rsplit_once('\n').unwrap();
    insta::assert_snapshot!("diff_of_student_spec", body);
    assert!(
        fingerprint.starts_with("fingerprint ")
            && fingerprint.ends_with(": rebuild the daemon and every app together"),
        "{fingerprint}"
    );
}

#[test]
fn exit_code_flag_makes_changes_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    old_and_new(dir.path(), |spec| {
        spec + "event student_removed(id: string)\n"
    });
    cargo_medium(dir.path())
        .args(["diff", "--exit-code", "old.lmspc", "new.lmspc"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "+ event student_removed(id: string)\nfingerprint ",
        ))
        .stderr("");
}

#[test]
fn bad_specs_print_diagnostics_for_both_and_fail() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.lmspc"), "class C\n").unwrap();
    std::fs::write(
        dir.path().join("new.lmspc"),
        "namespace a.b\nclass C\nmethod m(x: unit8)\n",
    )
    .unwrap();
    cargo_medium(dir.path())
        .args(["diff", "old.lmspc", "new.lmspc"])
        .assert()
        .code(101)
        .stdout("")
        .stderr(predicate::str::contains("--> old.lmspc"))
        .stderr(predicate::str::contains("unknown type `unit8`"))
        .stderr(predicate::str::contains(
            "error: could not compare the specs: fix the errors above",
        ));
}

#[test]
fn missing_spec_is_named_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .arg("diff")
        .arg(example_spec())
        .arg("absent.lmspc")
        .assert()
        .code(101)
        .stderr(predicate::str::starts_with(
            "error: could not read spec `absent.lmspc`: ",
        ));
}

#[test]
fn sync_and_sync_check_print_what_changed_since_generation() {
    let (_dir, root) = scaffolded();
    let spec = root.join("student.lmspc");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, text.replace("photo: binary\n", "")).unwrap();
    let report = "     Changed student.lmspc since student-system-protocol was last generated:\n\
                  \x20            ~ model Student\n\
                  \x20                - field photo: binary\n\
                  \x20            fingerprint ";
    for args in [&["sync", "--check"][..], &["sync"]] {
        cargo_medium(&root)
            .args(args)
            .assert()
            .stderr(predicate::str::contains(report))
            .stderr(predicate::str::contains(
                ": rebuild the daemon and every app together\n",
            ));
    }
    // Once synced, the crate records the new spec: nothing is reported any more.
    cargo_medium(&root)
        .arg("sync")
        .assert()
        .success()
        .stderr("       Fresh student-system-protocol\n");
}
