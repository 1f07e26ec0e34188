//! Every error path says each cause once: a message either shows its cause or returns it from
//! `source()`, and the binary prints the chain, so an error that did both printed
//! `could not read spec …: No such file or directory (os error 2): No such file or directory
//! (os error 2)`, and a TOML error three times.

use std::fs;
use std::path::Path;

use crate::{cargo_medium, example_spec};

/// Asserts that `stderr` names `cause` and says nothing twice: no line appears twice, and no
/// line repeats a `: `-separated part of itself.
fn assert_each_cause_once(stderr: &str, cause: &str) {
    assert!(
        stderr.contains(cause),
        "the cause `{cause}` is missing:\n{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    for (i, line) in lines.iter().enumerate() {
        assert!(
            !lines[..i].contains(line),
            "repeated line {line:?}:\n{stderr}"
        );
        let parts: Vec<&str> = line.split(": ").collect();
        for (j, part) in parts.iter().enumerate() {
            assert!(
                !parts[..j].contains(part),
                "repeated cause {part:?}:\n{stderr}"
            );
        }
    }
}

/// Runs `cargo medium ARGS` in `dir`, expects it to fail, and checks its stderr.
fn fails_naming_each_cause_once(dir: &Path, args: &[&str], cause: &str) {
    let output = cargo_medium(dir).args(args).output().unwrap();
    assert_eq!(output.status.code(), Some(101), "{args:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_each_cause_once(&stderr, cause);
}

/// A workspace directory under `dir` whose `Cargo.toml` is `manifest`.
fn workspace(dir: &Path, name: &str, manifest: &str) -> std::path::PathBuf {
    let root = dir.join(name);
    fs::create_dir(&root).unwrap();
    fs::write(root.join("Cargo.toml"), manifest).unwrap();
    root
}

#[test]
fn unreadable_specs_name_the_os_error_once() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(example_spec(), dir.path().join("student.lmspc")).unwrap();
    // A directory is unreadable as a spec even for root, unlike a file without permissions.
    fs::create_dir(dir.path().join("folder.lmspc")).unwrap();
    let missing = "No such file or directory (os error 2)";
    let folder = "Is a directory (os error 21)";
    for (args, cause) in [
        (&["check", "missing.lmspc"][..], missing),
        (&["check", "folder.lmspc"], folder),
        (&["new", "missing.lmspc", "x"], missing),
        (&["new", "folder.lmspc", "x"], folder),
        (&["diff", "missing.lmspc", "student.lmspc"], missing),
        (&["gen", "python", "missing.lmspc"], missing),
        (&["describe", "missing.lmspc"], missing),
        (
            &["call", "get_student", "\"1\"", "--spec", "missing.lmspc"],
            missing,
        ),
        (&["monitor", "--spec", "folder.lmspc"], folder),
    ] {
        fails_naming_each_cause_once(dir.path(), args, cause);
    }
}

#[test]
fn bad_manifests_name_their_problem_once() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(example_spec(), dir.path().join("student.lmspc")).unwrap();
    let not_toml = workspace(dir.path(), "not-toml", "[workspace\nmembers = []\n");
    let bad_members = workspace(dir.path(), "bad-members", "[workspace]\nmembers = 5\n");
    let bad_record = workspace(
        dir.path(),
        "bad-record",
        "[workspace]\nmembers = []\n\n[[workspace.metadata.medium.protocols]]\nspec = 5\n",
    );
    let missing_spec = workspace(
        dir.path(),
        "missing-spec",
        "[workspace]\nmembers = []\n\n[[workspace.metadata.medium.protocols]]\n\
         spec = \"gone.lmspc\"\nprotocol = \"gone-protocol\"\n",
    );
    let spec = "../student.lmspc";
    for (root, args, cause) in [
        (&not_toml, &["new", spec][..], "invalid table header"),
        (&not_toml, &["sync"], "invalid table header"),
        (
            &bad_members,
            &["new", spec],
            "`workspace.members` is not an array",
        ),
        (&bad_record, &["sync"], "`spec` is not a string"),
        (
            &missing_spec,
            &["sync"],
            "No such file or directory (os error 2)",
        ),
    ] {
        fails_naming_each_cause_once(root, args, cause);
    }
}

#[test]
fn bad_manifest_paths_and_destinations_name_their_problem_once() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(example_spec(), dir.path().join("student.lmspc")).unwrap();
    fs::create_dir_all(dir.path().join("taken")).unwrap();
    fs::write(dir.path().join("taken/file"), "").unwrap();
    fs::write(dir.path().join("file"), "").unwrap();
    for (args, cause) in [
        (
            &["--manifest-path", "nowhere/Cargo.toml", "sync"][..],
            "No such file or directory (os error 2)",
        ),
        (
            &["--manifest-path", "taken", "sync"],
            "Is a directory (os error 21)",
        ),
        (
            &[
                "--manifest-path",
                "nowhere/Cargo.toml",
                "new",
                "student.lmspc",
            ],
            "No such file or directory (os error 2)",
        ),
        (
            &["new", "student.lmspc", "taken"],
            "already exists and is not an empty directory",
        ),
        (
            &["describe", "--socket", "file/socket"],
            "Not a directory (os error 20)",
        ),
    ] {
        fails_naming_each_cause_once(dir.path(), args, cause);
    }
}
