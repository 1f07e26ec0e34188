//! `cargo medium check`.

use predicates::prelude::*;

use crate::{cargo_medium, example_spec};

#[test]
fn good_spec_prints_a_one_line_summary() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(example_spec(), dir.path().join("student.lmspc")).unwrap();
    cargo_medium(dir.path())
        .args(["check", "student.lmspc"])
        .assert()
        .success()
        .stdout("")
        .stderr("     Checked student.lmspc: 1 model, 1 exception, 2 methods, 1 event\n");
}

#[test]
fn canonical_prints_the_text_the_fingerprint_hashes_and_nothing_for_a_bad_spec() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.lmspc"), "class C\n").unwrap();
    let example = std::fs::read_to_string(example_spec()).unwrap();
    let spec = cargo_medium::check::check_source("student.lmspc", &example).unwrap();
    // The fingerprint is the SHA-256 of exactly these bytes (the canonical vectors check that).
    cargo_medium(dir.path())
        .args(["check", "--canonical", "bad.lmspc"])
        .arg(example_spec())
        .assert()
        .code(101)
        .stdout(spec.canonical());
}

#[test]
fn canonical_shows_each_items_effective_access_rule_with_its_terms_sorted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vault.lmspc"),
        "namespace a.b\n@allow(owner)\nclass C\nmethod read()\n\
         @allow(uid = 1000, root, group = \"ops\", uid = 7)\nmethod wipe()\n",
    )
    .unwrap();
    cargo_medium(dir.path())
        .args(["check", "--canonical", "vault.lmspc"])
        .assert()
        .success()
        .stdout(
            "namespace a.b\nclass C\n@allow(owner)\nmethod read()\n\
             @allow(root, uid = 7, uid = 1000, group = \"ops\")\nmethod wipe()\n",
        );
}

#[test]
fn quiet_check_of_a_good_spec_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .arg("-q")
        .arg("check")
        .arg(example_spec())
        .assert()
        .success()
        .stderr("");
}

#[test]
fn bad_spec_prints_a_rustc_style_diagnostic_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.lmspc"),
        "namespace a.b\nclass C\nmodel M{\n    age: unit8\n}\n",
    )
    .unwrap();
    cargo_medium(dir.path())
        .args(["check", "bad.lmspc"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains("unknown type `unit8`"))
        .stderr(predicate::str::contains("--> bad.lmspc:4:10"))
        .stderr(predicate::str::contains("    age: unit8"))
        .stderr(predicate::str::contains("^^^^^"))
        .stderr(predicate::str::contains("`uint8`"))
        .stderr(predicate::str::contains(
            "error: could not check `bad.lmspc` due to 1 previous error",
        ));
}

#[test]
fn every_file_is_checked_even_after_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.lmspc"), "class C\n").unwrap();
    std::fs::copy(example_spec(), dir.path().join("good.lmspc")).unwrap();
    cargo_medium(dir.path())
        .args(["check", "bad.lmspc", "good.lmspc"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains("could not check `bad.lmspc`"))
        .stderr(predicate::str::contains("     Checked good.lmspc: "));
}

#[test]
fn missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .args(["check", "nope.lmspc"])
        .assert()
        .code(101)
        .stderr(predicate::str::starts_with(
            "error: could not read spec `nope.lmspc`: No such file or directory",
        ));
}

#[test]
fn non_utf8_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("latin1.lmspc"), b"namespace caf\xe9\n").unwrap();
    cargo_medium(dir.path())
        .args(["check", "latin1.lmspc"])
        .assert()
        .code(101)
        .stderr("error: spec `latin1.lmspc` is not valid UTF-8 (invalid byte at offset 13)\n");
}

#[test]
fn check_without_files_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    cargo_medium(dir.path())
        .arg("check")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("<FILE>..."));
}
