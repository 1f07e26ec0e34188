//! [`TestWorkspace`]: a Cargo workspace holding generated crates, with the root manifest
//! `cargo medium new` would write (runtime by path, shared dependencies).
//!
//! It lives at a fixed place under the shared target dir (`target/e2e/workspaces/<name>`) and
//! files are only rewritten when their content changes, so a rerun rebuilds only what changed
//! instead of every generated crate.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cargo_medium::codegen::GeneratedFile;

use super::{Cargo, checkout_root, runtime_path, shared_target_dir};

/// A workspace under the shared target dir, named uniquely by its test.
#[derive(Debug)]
pub struct TestWorkspace {
    dir: PathBuf,
    members: Vec<String>,
    protocols: Vec<String>,
}

impl TestWorkspace {
    /// The workspace `name` (use [`super::unique_name`]); created when missing.
    pub fn new(name: &str) -> TestWorkspace {
        let dir = shared_target_dir().join("workspaces").join(name);
        std::fs::create_dir_all(&dir).expect("workspace dir can be created");
        let lock = dir.join("Cargo.lock");
        if !lock.exists() {
            // Same versions as the checkout, so offline builds find every crate in the cache.
            std::fs::copy(checkout_root().join("Cargo.lock"), &lock)
                .expect("the checkout's Cargo.lock can be copied");
        }
        TestWorkspace {
            dir,
            members: Vec::new(),
            protocols: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The protocol crates among the members, in the order they were added.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// Writes a crate's files into `<workspace>/<name>/` and makes it a member.
    pub fn add_crate(&mut self, name: &str, files: &[GeneratedFile]) {
        for file in files {
            let path = self.path().join(name).join(&file.path);
            let parent = path.parent().expect("generated paths have a parent");
            std::fs::create_dir_all(parent).expect("crate dir can be created");
            write_if_changed(&path, &file.contents);
        }
        self.members.push(name.to_owned());
    }

    /// Like [`TestWorkspace::add_crate`], and lists the crate in `[workspace.dependencies]`
    /// so daemon and app crates can use it with `.workspace = true`.
    pub fn add_protocol_crate(&mut self, name: &str, files: &[GeneratedFile]) {
        self.add_crate(name, files);
        self.protocols.push(name.to_owned());
    }

    /// Writes the root `Cargo.toml` and returns a cargo runner for the workspace.
    pub fn finish(&self) -> Cargo {
        let mut manifest = String::from("[workspace]\nresolver = \"3\"\nmembers = [\n");
        for member in &self.members {
            writeln!(manifest, "    \"{member}\",").expect("writing to a String");
        }
        manifest += "]\n\n[workspace.package]\nversion = \"0.1.0\"\nedition = \"2024\"\n\n";
        manifest += "[workspace.dependencies]\n";
        writeln!(
            manifest,
            "medium-runtime = {{ path = {:?} }}",
            runtime_path().display().to_string()
        )
        .expect("writing to a String");
        manifest += "futures = \"0.3\"\ntokio = { version = \"1\", features = [\"full\"] }\n";
        manifest += "tracing = \"0.1\"\ntracing-subscriber = \"0.3\"\n";
        for protocol in &self.protocols {
            writeln!(manifest, "{protocol} = {{ path = \"{protocol}\" }}")
                .expect("writing to a String");
        }
        write_if_changed(&self.path().join("Cargo.toml"), &manifest);
        Cargo::new(self.path())
    }
}

/// Writes `contents` unless the file already holds exactly that (keeping its mtime, which
/// cargo's freshness check uses).
fn write_if_changed(path: &Path, contents: &str) {
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return;
    }
    std::fs::write(path, contents)
        .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
}
