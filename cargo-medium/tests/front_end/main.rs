//! Front-end tests through the public API: every broken spec in `tests/specs/invalid/` against
//! its reviewed diagnostic snapshot, every valid spec through parse and check, the
//! fingerprint's sensitivity and the canonical-spec vectors of `tests/vectors/canonical/`;
//! property tests on random valid specs.

mod canonical_vectors;
mod fingerprint;
mod fuzz_regressions;
mod invalid_specs;
mod properties;
#[path = "../shared/spec_strategy.rs"]
mod spec_strategy;
mod valid_specs;

use std::path::{Path, PathBuf};

/// The repository's `tests/specs/<kind>/` folder.
fn specs_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/specs")
        .join(kind)
}

/// Every `.lmspc` file directly in `dir`, sorted by name.
fn spec_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "lmspc"))
        .collect();
    files.sort();
    files
}
