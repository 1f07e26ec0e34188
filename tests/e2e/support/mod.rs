//! Helpers shared by the end-to-end tests: where things are, how to run cargo on a test
//! workspace, and how to give each test its own package names.
//!
//! Every test workspace builds into one shared target dir (`target/e2e` of this checkout), so
//! tokio and the runtime compile once, not once per test. Package names are unique per test
//! so tests running in parallel never overwrite each other's artifacts there.

mod cargo;
mod cargo_medium;
pub mod descriptors;
mod fixture_programs;
mod python_package;
/// The Python tests' venv, shared with cargo-medium's CLI tests.
#[path = "../../../cargo-medium/tests/shared/python_venv.rs"]
pub mod python_venv;
mod scaffolded_workspace;
mod spawned;
/// Random valid specs, shared with cargo-medium's front-end property tests.
#[path = "../../../cargo-medium/tests/shared/spec_strategy.rs"]
pub mod spec_strategy;
mod student_scenario;
mod student_workspace;
mod test_workspace;
pub mod vectors;

pub use cargo::{Cargo, run_ok};
pub use cargo_medium::cargo_medium;
pub use fixture_programs::{FixturePrograms, build_fixture_programs};
pub use python_package::{gen_python, python_fixture};
pub use scaffolded_workspace::ScaffoldedWorkspace;
pub use spawned::Spawned;
pub use student_scenario::student_scenario;
pub use student_workspace::StudentWorkspace;
pub use test_workspace::TestWorkspace;

use std::path::PathBuf;

/// The root of this checkout (the workspace and test package).
pub fn checkout_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `medium-runtime` crate of this checkout, which test workspaces depend on by path.
pub fn runtime_path() -> PathBuf {
    checkout_root().join("medium-runtime")
}

/// The target dir every test workspace shares.
pub fn shared_target_dir() -> PathBuf {
    checkout_root().join("target").join("e2e")
}

/// The valid specs of `tests/specs/valid`, sorted by file name.
pub fn valid_specs() -> Vec<PathBuf> {
    let dir = checkout_root().join("tests").join("specs").join("valid");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry is readable").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "lmspc"))
        .collect();
    specs.sort();
    specs
}

/// A package-name stem unique to one test and one subject (e.g. a spec file), in kebab case:
/// `unique_name("codegen", "grammar_layout")` is `codegen-grammar-layout`.
pub fn unique_name(test: &str, subject: &str) -> String {
    format!("{test}-{subject}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}
