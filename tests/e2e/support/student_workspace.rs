//! [`StudentWorkspace`]: a workspace made by the real `cargo medium new` from the student
//! example in a temp dir, with per-test package names, built into the shared target dir.

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::{Cargo, cargo_medium, checkout_root, run_ok, shared_target_dir, unique_name};

/// The protocol crate name user code is written against in the fixtures: what `new` names it
/// without `--name`. Replaced by the test's own name when a fixture is installed.
const FIXTURE_PROTOCOL_CRATE: &str = "student_system_protocol";

/// A scaffolded student workspace, removed on drop.
#[derive(Debug)]
pub struct StudentWorkspace {
    _dir: TempDir,
    root: PathBuf,
    stem: String,
}

impl StudentWorkspace {
    /// Runs `cargo medium new` on `examples/student.lmspc` with package names unique to `test`.
    pub fn new(test: &str) -> StudentWorkspace {
        let dir = tempfile::Builder::new()
            .prefix("medium-e2e-")
            .tempdir()
            .expect("temp dir can be created");
        let stem = unique_name(test, "student");
        fs::copy(
            checkout_root().join("examples/student.lmspc"),
            dir.path().join("student.lmspc"),
        )
        .expect("the example spec can be copied");
        run_ok(
            "cargo medium new",
            cargo_medium(dir.path())
                .args(["new", "student.lmspc", "ws", "--vcs", "none", "--name"])
                .arg(&stem)
                .output()
                .expect("cargo-medium runs"),
        );
        let root = dir.path().join("ws");
        // The checkout's versions, so the offline build finds every crate in the cache.
        fs::copy(checkout_root().join("Cargo.lock"), root.join("Cargo.lock"))
            .expect("the checkout's Cargo.lock can be copied");
        StudentWorkspace {
            _dir: dir,
            root,
            stem,
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
            fixture.replace(FIXTURE_PROTOCOL_CRATE, &protocol_crate),
        )
        .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
    }

    /// The `FINGERPRINT` constant of the generated protocol crate as it is now.
    pub fn fingerprint(&self) -> String {
        let spec_rs = self.root.join(self.package("protocol")).join("src/spec.rs");
        let spec_rs = fs::read_to_string(&spec_rs).expect("the protocol crate has a spec.rs");
        let (_, rest) = spec_rs
            .split_once("pub const FINGERPRINT: &str = \"")
            .unwrap_or_else(|| panic!("no FINGERPRINT constant in:\n{spec_rs}"));
        let (fingerprint, _) = rest.split_once('"').expect("the constant is a string");
        assert!(
            fingerprint.len() == 64 && fingerprint.bytes().all(|b| b.is_ascii_hexdigit()),
            "not a SHA-256 in hex: {fingerprint}"
        );
        fingerprint.to_owned()
    }
}
