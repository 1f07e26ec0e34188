//! The Python the tests run generated packages with: a virtual environment in the checkout's
//! `target/python-venv/`, holding the pinned packages of `tests/python/requirements.txt`
//! (msgpack, pytest, mypy), so the tests need nothing of the machine but `python3` with its
//! `venv` module. Included with `#[path]` from cargo-medium's CLI tests and the root end-to-end
//! tests, which share one venv.
//!
//! The venv is made once, then reused while it was built from the same requirements by the same
//! `python3` (recorded in its `built-from.txt`), and made again when either changes. It is built
//! in a sibling folder and renamed into place only when complete, so tests in other threads or
//! processes never see half of one; a folder left by an interrupted build is removed by the next
//! build once its process is gone. (A renamed venv works as the tests run it, `bin/python -m
//! pytest`; its `bin/pytest` script names the build folder.) Only a machine without `python3`
//! skips the Python tests; a venv that cannot be made (no network, a pip error) fails them,
//! saying what to do.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The requirements file, relative to the checkout.
const REQUIREMENTS: &str = "tests/python/requirements.txt";
/// The file in a complete venv that records what it was built from.
const BUILT_FROM: &str = "built-from.txt";
/// What the venv's sibling folders are for: a venv being built, an outdated one being removed.
const SIBLINGS: [&str; 2] = ["partial", "outdated"];

/// The checkout's test venv interpreter, made by the first test of this binary that asks;
/// `None`, saying so on stderr, where `python3` is not installed.
///
/// # Panics
///
/// When the venv cannot be made, with the reason and what to do.
pub fn python() -> Option<&'static Path> {
    static PYTHON: OnceLock<Result<Option<PathBuf>, String>> = OnceLock::new();
    let python = PYTHON.get_or_init(|| {
        let root = checkout_root();
        PythonVenv::new(root.join("target/python-venv"), root.join(REQUIREMENTS)).ensure()
    });
    match python {
        Ok(Some(python)) => Some(python),
        Ok(None) => {
            eprintln!("skipping: python3 is not installed");
            None
        }
        Err(message) => panic!("{message}"),
    }
}

/// The checkout: the nearest folder above this test crate holding the requirements file.
fn checkout_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join(REQUIREMENTS).is_file())
        .unwrap_or_else(|| panic!("no {REQUIREMENTS} above {}", env!("CARGO_MANIFEST_DIR")))
}

/// A virtual environment at `dir`, made by `python3` with the packages of `requirements`.
#[derive(Debug)]
pub struct PythonVenv {
    dir: PathBuf,
    requirements: PathBuf,
}

impl PythonVenv {
    pub fn new(dir: PathBuf, requirements: PathBuf) -> PythonVenv {
        PythonVenv { dir, requirements }
    }

    /// The venv's interpreter, after making the venv unless it was built from the current
    /// requirements by the current `python3`; `None` where `python3` is not installed. Safe to
    /// call from several threads and processes at once.
    pub fn ensure(&self) -> Result<Option<PathBuf>, String> {
        let Some(base) = base_python()? else {
            return Ok(None);
        };
        let requirements = fs::read_to_string(&self.requirements)
            .map_err(|err| format!("cannot read {}: {err}", self.requirements.display()))?;
        let built_from = format!("# python3: {base}\n{requirements}");
        if !holds(&self.dir, &built_from) {
            self.build(&built_from)
                .map_err(|err| format!("cannot make the Python test venv: {err}"))?;
        }
        Ok(Some(interpreter(&self.dir)))
    }

    /// Builds the venv in a sibling folder of its own, then renames it into place, replacing
    /// an outdated one, unless another builder got there first.
    fn build(&self, built_from: &str) -> Result<(), String> {
        self.remove_abandoned_siblings();
        let partial = self.sibling("partial");
        remove_dir(&partial)?;
        let built = self.install(&partial, built_from);
        if built.is_err() {
            // Best effort: the build's error matters more than a leftover folder.
            let _ = remove_dir(&partial);
        }
        built?;
        loop {
            let err = match fs::rename(&partial, &self.dir) {
                Ok(()) => return Ok(()),
                Err(err) => err,
            };
            if !self.dir.is_dir() {
                return Err(format!(
                    "cannot rename {} to {}: {err}",
                    partial.display(),
                    self.dir.display()
                ));
            }
            if holds(&self.dir, built_from) {
                // Another thread or process finished first: use its venv.
                return remove_dir(&partial);
            }
            // An outdated venv: move it aside (a rename, so a racing builder's venv is never
            // half removed), then try again.
            let outdated = self.sibling("outdated");
            match fs::rename(&self.dir, &outdated) {
                Ok(()) => remove_dir(&outdated)?,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(format!("cannot move {} aside: {err}", self.dir.display())),
            }
        }
    }

    /// Makes a venv at `dir` with `python3 -m venv`, installs the requirements with its pip,
    /// and records `built_from` in it last.
    fn install(&self, dir: &Path, built_from: &str) -> Result<(), String> {
        // Past the test harness's capture: the first run pauses here while pip downloads.
        let _ = writeln!(
            io::stderr(),
            "making the Python test venv {} (pip install -r {})",
            self.dir.display(),
            self.requirements.display()
        );
        let venv = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(dir)
            .output();
        succeeded("python3 -m venv", venv).map_err(|err| {
            format!(
                "{err}\nThe Python tests need python3 with its venv module and pip (on Debian \
                 and Ubuntu: `apt install python3-venv`)."
            )
        })?;
        let pip = Command::new(interpreter(dir))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg("--requirement")
            .arg(&self.requirements)
            .output();
        succeeded("pip install", pip).map_err(|err| {
            format!(
                "{err}\nThe Python tests install the packages of {} from the package index \
                 (PyPI, or pip's configured index) into {}: check the network connection, \
                 then run the tests again.",
                self.requirements.display(),
                self.dir.display()
            )
        })?;
        fs::write(dir.join(BUILT_FROM), built_from)
            .map_err(|err| format!("cannot write {}: {err}", dir.join(BUILT_FROM).display()))
    }

    /// A sibling folder of the venv for `purpose` (one of [`SIBLINGS`]), unique to this process
    /// and call: `python-venv.partial-<pid>-<n>`.
    fn sibling(&self, purpose: &str) -> PathBuf {
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, Ordering::Relaxed);
        let mut name = self.dir.file_name().unwrap().to_owned();
        name.push(format!(".{purpose}-{}-{call}", std::process::id()));
        self.dir.with_file_name(name)
    }

    /// Removes the sibling folders of processes that are gone (an interrupted build leaves
    /// its folder). Only where `/proc` tells which processes run.
    fn remove_abandoned_siblings(&self) {
        let (Some(parent), Some(name)) = (self.dir.parent(), self.dir.file_name()) else {
            return;
        };
        let (Ok(entries), true) = (fs::read_dir(parent), Path::new("/proc/self").exists()) else {
            return;
        };
        let prefix = format!("{}.", name.to_string_lossy());
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let pid = file_name.strip_prefix(&prefix).and_then(|rest| {
                let mut parts = rest.split('-');
                let purpose = parts.next()?;
                let pid: u32 = parts.next()?.parse().ok()?;
                SIBLINGS.contains(&purpose).then_some(pid)
            });
            if pid.is_some_and(|pid| !Path::new("/proc").join(pid.to_string()).exists()) {
                // Best effort: a folder that stays is only disk space.
                let _ = remove_dir(&entry.path());
            }
        }
    }
}

/// The `python3` on PATH, as `<sys.executable> <version>`; `None` where there is none.
fn base_python() -> Result<Option<String>, String> {
    let run = Command::new("python3")
        .args([
            "-c",
            "import platform, sys; print(sys.executable, platform.python_version())",
        ])
        .output();
    match run {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        run => {
            let output = succeeded("python3", run)?;
            Ok(Some(
                String::from_utf8_lossy(&output.stdout).trim().to_owned(),
            ))
        }
    }
}

/// Whether `dir` holds a complete venv built from `built_from`.
fn holds(dir: &Path, built_from: &str) -> bool {
    fs::read_to_string(dir.join(BUILT_FROM)).is_ok_and(|text| text == built_from)
        && interpreter(dir).is_file()
}

/// The interpreter of the venv at `dir`.
fn interpreter(dir: &Path) -> PathBuf {
    dir.join("bin").join("python")
}

/// The output of a command that succeeded, or an error naming it with its output.
fn succeeded(what: &str, run: io::Result<Output>) -> Result<Output, String> {
    let output = run.map_err(|err| format!("cannot run {what}: {err}"))?;
    if output.status.success() {
        return Ok(output);
    }
    Err(format!(
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// Removes the folder at `dir` and everything in it, if it exists.
fn remove_dir(dir: &Path) -> Result<(), String> {
    match fs::remove_dir_all(dir) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => {
            Err(format!("cannot remove {}: {err}", dir.display()))
        }
        _ => Ok(()),
    }
}
