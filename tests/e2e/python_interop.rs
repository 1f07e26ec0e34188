//! Python from the same spec (issue 9), with real processes: a Rust daemon serves Python
//! apps and a Python daemon serves Rust apps (calls, the typed exception, events to every app
//! and to one, the daemon's application list), the pytest suite of `tests/python/` passes,
//! and the Python generated for every valid spec compiles and type-checks with `mypy
//! --strict`. All of it with the test venv's Python (`support::python_venv`); skipped, saying
//! so, only when `python3` is absent.

use std::process::Command;

use crate::support::{
    Spawned, StudentWorkspace, cargo_medium, checkout_root, gen_python, python_fixture,
    python_venv, run_ok, student_scenario, valid_specs,
};

/// What the Rust app prints for the student `update s1 Ada` stored.
const ADA_RUST: &str = r#"student: Student { id: "s1", first_name: "Ada", last_name: "Lovelace", age: 36, photo: [1, 2, 3] }"#;
/// What the Python app prints for it.
const ADA_PYTHON: &str = "student: s1 Ada Lovelace 36 [1, 2, 3]";

#[test]
fn rust_daemon_serves_python_apps_and_python_daemon_serves_rust_apps() {
    let Some(python) = python_venv::python() else {
        return;
    };
    let workspace = StudentWorkspace::new("python-interop");
    workspace.write_student_programs();
    run_ok(
        "cargo build",
        workspace.cargo().run(["build", "--workspace"]),
    );
    let generated = tempfile::tempdir().unwrap();
    gen_python(&workspace.root().join("student.lmspc"), generated.path());

    let sockets = tempfile::tempdir().unwrap();
    let rust = |binary: String| {
        let mut command = Command::new(workspace.binary(&binary));
        command.env("MEDIUM_SOCKET_DIR", sockets.path());
        command
    };
    let python_script =
        |fixture: &str| python_fixture(python, fixture, generated.path(), sockets.path());

    // A Rust daemon, Python apps.
    let mut daemon = Spawned::spawn("Rust daemon", &mut rust(workspace.package("daemon")));
    student_scenario(
        &mut daemon,
        &|name| Spawned::spawn(name, &mut python_script("student_app.py")),
        ADA_PYTHON,
    );
    drop(daemon);

    // A Python daemon, Rust apps. The killed Rust daemon left its socket: a stale one, which
    // the Python daemon replaces.
    let mut daemon = Spawned::spawn("Python daemon", &mut python_script("student_daemon.py"));
    student_scenario(
        &mut daemon,
        &|name| Spawned::spawn(name, &mut rust(workspace.package("app"))),
        ADA_RUST,
    );
}

#[test]
fn pytest_suite_of_the_generated_packages_passes() {
    let Some(python) = python_venv::python() else {
        return;
    };
    let binary = cargo_medium(&checkout_root()).get_program().to_owned();
    let output = Command::new(python)
        .current_dir(checkout_root())
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/python",
        ])
        .env("CARGO_MEDIUM", binary)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("the test venv's python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pytest failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" passed"), "{stdout}");
}

#[test]
fn python_for_every_valid_spec_compiles_and_passes_mypy_strict() {
    let Some(python) = python_venv::python() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    // The Python runtime's `fd` spec, kept beside its tests (`tests/python/test_descriptors.py`).
    let fd_spec = checkout_root().join("tests/specs/fd/descriptors.lmspc");
    for spec in valid_specs().into_iter().chain([fd_spec]) {
        gen_python(&spec, out.path());
    }
    let output = Command::new(python)
        .current_dir(out.path())
        .args(["-m", "compileall", "-q", "."])
        .output()
        .expect("the test venv's python runs");
    assert!(
        output.status.success(),
        "generated Python does not compile:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let output = Command::new(python)
        .current_dir(out.path())
        .args(["-m", "mypy", "--strict", "--no-incremental", "."])
        .output()
        .expect("the test venv's python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "mypy --strict failed:\n{stdout}");
    assert!(stdout.contains("Success: no issues found"), "{stdout}");
}
