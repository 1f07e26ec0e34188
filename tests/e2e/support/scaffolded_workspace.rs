//! [`ScaffoldedWorkspace`]: a workspace made by the real `cargo medium new` from a spec in a
//! temp dir, with per-test package names, built into the shared target dir, and the user's
//! programs written into its daemon and app crates from `fixtures/`.

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::{Cargo, cargo_medium, checkout_root, run_ok, shared_target_dir, unique_name};

/// A scaffolded workspace, removed on drop.
#[derive(Debug)]
pub struct ScaffoldedWorkspace {
    _dir: TempDir,
    root: PathBuf,
    stem: String,
    /// The protocol crate's name as `new` gives it without `--name` (what fixtures use).
    default_protocol_crate: String,
}

impl ScaffoldedWorkspace {
    /// Runs `cargo medium new` on `spec` (relative to the checkout) with package names unique
    /// to `test`; the fixtures are written against `default_protocol_crate`, the protocol
    /// crate's name without `--name` (`student_system_protocol`).
    pub fn new(test: &str, spec: &str, default_protocol_crate: &str) -> ScaffoldedWorkspace {
        let dir = tempfile::Builder::new()
            .prefix("medium-e2e-")
            .tempdir()
            .expect("temp dir can be created");
        let file_name = Path::new(spec)
            .file_name()
            .expect("the spec has a file name");
        let stem = unique_name(test, &file_name.to_string_lossy().replace(".lmspc", ""));
        fs::copy(checkout_root().join(spec), dir.path().join(file_name))
            .expect("the spec can be copied");
        run_ok(
            "cargo medium new",
            cargo_medium(dir.path())
                .arg("new")
                .arg(file_name)
                .args(["ws", "--vcs", "none", "--name"])
                .arg(&stem)
                .output()
                .expect("cargo-medium runs"),
        );
        let root = dir.path().join("ws");
        // The checkout's versions, so the offline build finds every crate in the cache.
        fs::copy(checkout_root().join("Cargo.lock"), root.join("Cargo.lock"))
            .expect("the checkout's Cargo.lock can be copied");
        ScaffoldedWorkspace {
            _dir: dir,
            root,
            stem,
            default_protocol_crate: default_protocol_crate.to_owned(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The package of a role: `protocol`, `daemon` or `app`.
    pub fn package(&self, role: &str) -> String {
        format!("{}-{role}", self.stem)
    }

    /// A cargo runner for the workspace.
    pub fn cargo(&self) -> Cargo {
        Cargo::new(&self.root)
    }

    /// The path of a binary built from this workspace.
    pub fn binary(&self, name: &str) -> PathBuf {
        shared_target_dir().join("debug").join(name)
    }

    /// Writes a file of a user-owned crate (`role`), written against the protocol crate of a
    /// default `new`, as if the user had typed it into this workspace.
    pub fn write_user_file(&self, role: &str, path: &str, fixture: &str) {
        let protocol_crate = self.package("protocol").replace('-', "_");
        let path = self.root.join(self.package(role)).join(path);
        fs::write(
            &path,
            fixture.replace(&self.default_protocol_crate, &protocol_crate),
        )
        .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
    }
}
