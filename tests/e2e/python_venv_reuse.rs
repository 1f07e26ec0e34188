//! The Python tests' venv (`support::python_venv`), made in a temporary folder from
//! requirements files that need no network: reused while its requirements stay the same, made
//! again when they change, made once by racing builders, and never left half made.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Barrier;

use crate::support::python_venv::PythonVenv;

/// A venv at `dir/venv` from `dir/requirements.txt`, which holds `requirements`.
fn venv_with_requirements(dir: &Path, requirements: &str) -> PythonVenv {
    fs::write(dir.join("requirements.txt"), requirements).unwrap();
    PythonVenv::new(dir.join("venv"), dir.join("requirements.txt"))
}

/// `venv.ensure()`'s interpreter; None, saying so, where `python3` is not installed.
fn ensured(venv: &PythonVenv) -> Option<PathBuf> {
    let python = venv.ensure().unwrap_or_else(|err| panic!("{err}"));
    if python.is_none() {
        eprintln!("skipping: python3 is not installed");
    }
    python
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let entries = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name());
    let sorted: BTreeSet<String> = entries.map(|name| name.to_string_lossy().into()).collect();
    sorted.into_iter().collect()
}

#[test]
fn venv_is_reused_until_its_requirements_change() {
    let dir = tempfile::tempdir().unwrap();
    let venv = venv_with_requirements(dir.path(), "# no packages\n");
    // What an interrupted build of a process that is gone left behind.
    fs::create_dir_all(dir.path().join("venv.partial-4294967295-0/bin")).unwrap();
    let Some(python) = ensured(&venv) else {
        return;
    };
    assert_eq!(python, dir.path().join("venv/bin/python"));
    assert_eq!(names(dir.path()), ["requirements.txt", "venv"]);
    let mark = dir.path().join("venv/mark");
    fs::write(&mark, "").unwrap();

    assert_eq!(ensured(&venv), Some(python.clone()));
    assert!(mark.exists(), "the venv was made again");

    fs::write(
        dir.path().join("requirements.txt"),
        "# no packages\n# still none\n",
    )
    .unwrap();
    assert_eq!(ensured(&venv), Some(python.clone()));
    assert!(!mark.exists(), "the outdated venv was reused");
    assert_eq!(
        fs::read_to_string(dir.path().join("venv/built-from.txt"))
            .unwrap()
            .lines()
            .skip(1)
            .collect::<Vec<_>>(),
        ["# no packages", "# still none"]
    );
    assert_eq!(names(dir.path()), ["requirements.txt", "venv"]);
}

#[test]
fn racing_builders_make_one_venv_and_leave_no_other_folder() {
    let dir = tempfile::tempdir().unwrap();
    let venv = venv_with_requirements(dir.path(), "# no packages\n");
    let start = Barrier::new(2);
    let pythons: Vec<Option<PathBuf>> = std::thread::scope(|scope| {
        let builders: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    ensured(&venv)
                })
            })
            .collect();
        builders
            .into_iter()
            .map(|builder| builder.join().unwrap())
            .collect()
    });
    if pythons[0].is_none() {
        return;
    }
    assert!(
        pythons
            .iter()
            .all(|python| python.as_deref() == Some(&*dir.path().join("venv/bin/python"))),
        "{pythons:?}"
    );
    assert_eq!(names(dir.path()), ["requirements.txt", "venv"]);
}

#[test]
fn venv_pip_cannot_build_fails_with_what_to_do_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let venv = venv_with_requirements(dir.path(), "not a requirement!\n");
    let err = match venv.ensure() {
        Ok(None) => {
            eprintln!("skipping: python3 is not installed");
            return;
        }
        Ok(Some(python)) => panic!("made a venv from a broken requirement: {python:?}"),
        Err(err) => err,
    };
    assert!(
        err.starts_with("cannot make the Python test venv: pip install failed (exit status: 1):\n"),
        "{err}"
    );
    assert!(
        err.contains("Invalid requirement: 'not a requirement!'"),
        "pip's error is missing: {err}"
    );
    assert!(
        err.ends_with("check the network connection, then run the tests again."),
        "{err}"
    );
    assert_eq!(names(dir.path()), ["requirements.txt"]);
}
