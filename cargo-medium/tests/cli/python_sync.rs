//! `cargo medium new --python` and `sync` on the recorded Python package: written and recorded
//! by `new`, kept fresh by `sync` like the protocol crate, and nothing the user (or Python's
//! tools) put next to it is ever overwritten or removed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use cargo_medium::check::check_source;
use cargo_medium::codegen::python;
use predicates::prelude::*;

use crate::sync::{NEW_METHOD, append, assert_sync_refuses_to_overwrite, snapshot};
use crate::{cargo_medium, example_spec, python_venv};

/// The package's files for the example spec, relative to its folder and sorted: what
/// `gen python` writes (`__init__.py`, `py.typed`, `pyproject.toml` and the runtime's
/// `_medium/*.py`).
fn package_files() -> Vec<String> {
    let text = fs::read_to_string(example_spec()).unwrap();
    let spec = check_source("student.lmspc", &text).expect("the example spec is valid");
    let mut files: Vec<String> = python::package(&spec)
        .iter()
        .map(|file| file.path.display().to_string())
        .collect();
    files.sort();
    files
}

/// A workspace made by `new --python` from a copy of the example spec, and its root.
fn scaffolded_with_python() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(example_spec(), dir.path().join("student.lmspc")).unwrap();
    cargo_medium(dir.path())
        .args(["new", "student.lmspc", "ws", "--python", "--vcs", "none"])
        .assert()
        .success();
    let root = dir.path().join("ws");
    (dir, root)
}

/// The `[[workspace.metadata.medium.protocols]]` record of the workspace at `root`.
fn record(root: &Path) -> toml_edit::Table {
    let manifest: toml_edit::DocumentMut = fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    manifest["workspace"]["metadata"]["medium"]["protocols"]
        .as_array_of_tables()
        .unwrap()
        .get(0)
        .unwrap()
        .clone()
}

/// Every file under `dir`, relative to it, sorted.
fn file_names(dir: &Path) -> Vec<String> {
    snapshot(dir)
        .into_iter()
        .map(|(path, _)| path.strip_prefix(dir).unwrap().display().to_string())
        .collect()
}

#[test]
fn new_with_python_writes_the_package_gen_python_writes_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(example_spec(), dir.path().join("student.lmspc")).unwrap();
    // The runtime named, so no note names this machine's checkout.
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../medium-runtime");
    let output = cargo_medium(dir.path())
        .args(["new", "student.lmspc", "ws", "--python", "--vcs", "none"])
        .arg("--runtime")
        .arg(runtime)
        .assert()
        .success()
        .get_output()
        .clone();
    insta::assert_snapshot!(
        "new_with_python_status",
        String::from_utf8(output.stderr).unwrap()
    );
    let root = dir.path().join("ws");
    assert_eq!(file_names(&root.join("student_system")), package_files());
    assert_eq!(record(&root)["python"].as_str(), Some("student_system"));

    // The same bytes as `gen python` run on the workspace's spec.
    cargo_medium(&root)
        .args(["gen", "python", "student.lmspc", "-o", "../gen"])
        .assert()
        .success();
    assert_eq!(
        snapshot(&root.join("student_system"))
            .into_iter()
            .map(|(_, contents)| contents)
            .collect::<Vec<_>>(),
        snapshot(&dir.path().join("gen/student_system"))
            .into_iter()
            .map(|(_, contents)| contents)
            .collect::<Vec<_>>(),
    );
    cargo_medium(&root)
        .arg("sync")
        .assert()
        .success()
        .stderr("       Fresh student-system-protocol\n       Fresh student_system\n");
}

#[test]
fn new_workspace_readme_and_gitignore_cover_the_python_package() {
    let (_dir, root) = scaffolded_with_python();
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains("pip install ./student_system\n"),
        "{readme}"
    );
    let gitignore = fs::read_to_string(root.join(".gitignore")).unwrap();
    assert_eq!(
        gitignore,
        "/target\n__pycache__/\n*.egg-info/\n/student_system/build/\n"
    );
}

#[test]
fn sync_check_names_the_stale_python_file_and_sync_adds_the_new_method() {
    let (_dir, root) = scaffolded_with_python();
    append(&root.join("student.lmspc"), NEW_METHOD);
    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains("out of date with the specs:\n"))
        .stderr(predicate::str::contains("    student_system/__init__.py\n"))
        .stderr(predicate::str::ends_with(
            "note: run `cargo medium sync` to update them\n",
        ));
    let init = root.join("student_system/__init__.py");
    assert!(
        !fs::read_to_string(&init)
            .unwrap()
            .contains("count_students")
    );

    let output = cargo_medium(&root)
        .arg("sync")
        .assert()
        .success()
        .get_output()
        .clone();
    insta::assert_snapshot!(
        "sync_with_python_after_a_new_method",
        String::from_utf8(output.stderr).unwrap()
    );
    assert!(
        fs::read_to_string(&init)
            .unwrap()
            .contains("    def count_students(self) -> int:\n"),
    );
    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .success();
}

#[test]
fn sync_leaves_user_files_and_python_build_output_in_the_package_alone() {
    let (_dir, root) = scaffolded_with_python();
    let package = root.join("student_system");
    let generated_init = fs::read_to_string(package.join("__init__.py")).unwrap();
    // What the user and `pip install ./student_system` leave in the package: a module of
    // their own, byte-code caches, and build copies that carry the generated marker.
    fs::write(
        package.join("helpers.py"),
        "def helper() -> int:\n    return 1\n",
    )
    .unwrap();
    for dir in [
        "__pycache__",
        "build/lib/student_system",
        "student_system.egg-info",
    ] {
        fs::create_dir_all(package.join(dir)).unwrap();
    }
    fs::write(package.join("__pycache__/__init__.cpython-311.pyc"), "\0\0").unwrap();
    fs::write(
        package.join("build/lib/student_system/__init__.py"),
        &generated_init,
    )
    .unwrap();
    fs::write(
        package.join("student_system.egg-info/PKG-INFO"),
        "Name: x\n",
    )
    .unwrap();
    let generated = package_files();
    let user_files = |package: &Path| {
        snapshot(package)
            .into_iter()
            .filter(|(path, _)| {
                let relative = path.strip_prefix(package).unwrap();
                !generated.iter().any(|file| relative == Path::new(file))
            })
            .collect::<Vec<_>>()
    };
    let before = user_files(&package);
    assert_eq!(before.len(), 4, "{before:?}");

    // Nothing of it makes the package stale ...
    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .success();
    // ... nor survives sync any less after a spec change.
    append(&root.join("student.lmspc"), NEW_METHOD);
    cargo_medium(&root)
        .args(["sync", "-v"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "    Updating student_system (1 file)\n\
             \x20    Writing student_system/__init__.py\n",
        ))
        .stderr(predicate::str::contains("Removing").not());
    assert_eq!(user_files(&package), before);
}

#[test]
fn sync_warns_about_an_edited_python_file_it_overwrites() {
    let (_dir, root) = scaffolded_with_python();
    append(&root.join("student_system/__init__.py"), "# my fix\n");
    append(&root.join("student.lmspc"), NEW_METHOD);
    cargo_medium(&root)
        .arg("sync")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: `student_system/__init__.py` had local edits, which sync overwrote: \
             change the spec instead\n",
        ))
        .stderr(predicate::str::contains("_medium.py` had").not());
}

#[test]
fn sync_refuses_to_overwrite_a_python_file_without_the_marker() {
    let (_dir, root) = scaffolded_with_python();
    // An empty `py.typed`, as packages written by hand have it.
    let typed = root.join("student_system/py.typed");
    fs::write(&typed, "").unwrap();
    assert_sync_refuses_to_overwrite(&root, &typed);
}

#[test]
fn sync_removes_generated_python_files_the_generator_no_longer_makes() {
    let (_dir, root) = scaffolded_with_python();
    let legacy = root.join("student_system/legacy.py");
    fs::write(
        &legacy,
        "# @generated by cargo-medium from student.lmspc.\nOLD = 1\n",
    )
    .unwrap();
    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains("    student_system/legacy.py\n"));
    cargo_medium(&root)
        .args(["sync", "-v"])
        .assert()
        .success()
        .stderr(
            "       Fresh student-system-protocol\n\
             \x20   Updating student_system (1 file)\n\
             \x20   Removing student_system/legacy.py\n",
        );
    assert!(!legacy.exists());
}

/// A package generated before the runtime became the `_medium/` subpackage: the runtime in
/// one `_medium.py`, and a `pyproject.toml` that installs the package alone.
fn make_single_file_runtime_layout(package: &Path) {
    fs::remove_dir_all(package.join("_medium")).unwrap();
    fs::write(
        package.join("_medium.py"),
        "# @generated by cargo-medium (the medium runtime for Python). Do not edit:\n\
         # regenerate with `cargo medium sync` (in a workspace) or `cargo medium gen python`.\n\
         \"\"\"The medium wire protocol (PROTOCOL.md, version 1) for Python.\"\"\"\n",
    )
    .unwrap();
    let pyproject = package.join("pyproject.toml");
    let new_packages = "packages = [\"student_system\", \"student_system._medium\"]\n";
    let contents = fs::read_to_string(&pyproject).unwrap();
    assert!(contents.contains(new_packages), "{contents}");
    // As that version wrote it: its header named no version.
    let old = contents
        .replace(new_packages, "packages = [\"student_system\"]\n")
        .replace(cargo_medium::codegen::GENERATOR, "cargo-medium");
    fs::write(&pyproject, old).unwrap();
}

#[test]
fn sync_moves_a_package_with_the_single_file_runtime_to_the_runtime_subpackage() {
    let (_dir, root) = scaffolded_with_python();
    let package = root.join("student_system");
    make_single_file_runtime_layout(&package);
    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains("    student_system/_medium.py\n"))
        .stderr(predicate::str::contains(
            "    student_system/_medium/__init__.py\n",
        ));

    let output = cargo_medium(&root)
        .args(["sync", "-v"])
        .assert()
        .success()
        .get_output()
        .clone();
    insta::assert_snapshot!(
        "sync_from_the_single_file_runtime",
        String::from_utf8(output.stderr).unwrap()
    );
    assert!(!package.join("_medium.py").exists());
    assert_eq!(file_names(&package), package_files());
    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .success();
    if let Some(stdout) = python_output(
        &root,
        "import student_system as s; print(s.StudentSystemConnection.__mro__[1].__module__)",
    ) {
        assert_eq!(stdout, "student_system._medium.blocking_client\n");
    }
}

#[test]
fn dry_runs_of_new_and_sync_with_python_list_the_package_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(example_spec(), dir.path().join("student.lmspc")).unwrap();
    cargo_medium(dir.path())
        .args(["new", "student.lmspc", "ws", "--python", "--dry-run"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "     Created student_system (Python package, generated from student.lmspc)\n",
        ))
        .stderr(predicate::str::contains(
            "     Writing ws/student_system/__init__.py\n",
        ))
        .stderr(predicate::str::ends_with(
            "warning: aborting due to dry run: nothing was written\n",
        ));
    assert!(!dir.path().join("ws").exists());

    let (_dir, root) = scaffolded_with_python();
    append(&root.join("student.lmspc"), NEW_METHOD);
    let before = snapshot(&root);
    cargo_medium(&root)
        .args(["sync", "--dry-run"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "    Updating student_system (1 file)\n\
             \x20    Writing student_system/__init__.py\n",
        ));
    assert_eq!(snapshot(&root), before);
}

#[test]
fn new_with_python_and_no_app_in_an_existing_workspace_adds_the_package_at_its_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
    fs::copy(example_spec(), root.join("student.lmspc")).unwrap();
    cargo_medium(root)
        .args(["new", "student.lmspc", "--python", "--no-app"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "     Created student_system (Python package, generated from student.lmspc)\n",
        ));
    assert_eq!(file_names(&root.join("student_system")), package_files());
    let record = record(root);
    assert_eq!(record["python"].as_str(), Some("student_system"));
    assert!(record.get("app").is_none());
    cargo_medium(root)
        .args(["sync", "--check"])
        .assert()
        .success();
}

#[test]
fn new_with_python_refuses_a_taken_package_directory_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("Cargo.toml"), "[workspace]\n").unwrap();
    fs::copy(example_spec(), root.join("student.lmspc")).unwrap();
    fs::create_dir(root.join("student_system")).unwrap();
    fs::write(root.join("student_system/mine.py"), "").unwrap();
    let before = snapshot(root);
    cargo_medium(root)
        .args(["new", "student.lmspc", "--python"])
        .assert()
        .code(101)
        .stderr(format!(
            "error: `{}` already exists in the workspace and is where the Python package would \
             go; move it out of the way, or leave out `--python`\n",
            root.join("student_system").display()
        ));
    assert_eq!(snapshot(root), before);
}

#[test]
fn a_python_record_added_by_hand_makes_sync_generate_the_package_there() {
    let (_dir, root) = crate::sync::scaffolded();
    let manifest = root.join("Cargo.toml");
    append(&manifest, "python = \"clients/student_system\"\n");
    cargo_medium(&root)
        .args(["sync", "--check"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains(
            "    clients/student_system/__init__.py\n",
        ));
    cargo_medium(&root)
        .arg("sync")
        .assert()
        .success()
        .stderr(format!(
            "       Fresh student-system-protocol\n\
         \x20   Updating clients/student_system ({} files)\n",
            package_files().len()
        ));
    assert_eq!(
        file_names(&root.join("clients/student_system")),
        package_files()
    );
}

#[test]
fn a_python_record_outside_the_workspace_is_refused() {
    let (_dir, root) = crate::sync::scaffolded();
    append(&root.join("Cargo.toml"), "python = \"../elsewhere\"\n");
    cargo_medium(&root)
        .arg("sync")
        .assert()
        .code(101)
        .stderr(predicate::str::ends_with(
            "record 1 of `[[workspace.metadata.medium.protocols]]` is invalid: `python` must be a \
             directory inside the workspace, relative to its root and `/`-separated, not \
             `../elsewhere`\n",
        ));
    assert!(!root.join("../elsewhere").exists());
}

/// What `python -c script` prints, run in `dir` by the test venv's Python; None, saying so,
/// where `python3` is not installed (the e2e suite runs the generated Python for real).
fn python_output(dir: &Path, script: &str) -> Option<String> {
    let output = Command::new(python_venv::python()?)
        .args(["-c", script])
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("the test venv's python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).unwrap())
}

#[test]
fn synced_python_package_imports_with_the_new_method() {
    let (_dir, root) = scaffolded_with_python();
    append(&root.join("student.lmspc"), NEW_METHOD);
    cargo_medium(&root).arg("sync").assert().success();
    if let Some(stdout) = python_output(
        &root,
        "import student_system as s; print(s.StudentSystemConnection.count_students.__name__)",
    ) {
        assert_eq!(stdout, "count_students\n");
    }
}
