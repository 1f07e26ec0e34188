//! [`TestWorkspace`]: a temporary Cargo workspace holding generated crates, with the root
//! manifest `cargo medium new` would write (runtime by path, shared dependencies).

use std::fmt::Write as _;
use std::path::Path;

use cargo_medium::codegen::GeneratedFile;
use tempfile::TempDir;

use super::{Cargo, checkout_root, runtime_path};

/// A workspace in a temp dir, removed on drop.
#[derive(Debug)]
pub struct TestWorkspace {
    dir: TempDir,
    members: Vec<String>,
    protocols: Vec<String>,
}

impl TestWorkspace {
    pub fn new() -> TestWorkspace {
        let dir = tempfile::Builder::new()
            .prefix("medium-e2e-")
            .tempdir()
            .expect("temp dir can be created");
        // Same versions as the checkout, so offline builds find every crate in the cache.
        std::fs::copy(
            checkout_root().join("Cargo.lock"),
            dir.path().join("Cargo.lock"),
        )
        .expect("the checkout's Cargo.lock can be copied");
        TestWorkspace {
            dir,
            members: Vec::new(),
            protocols: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The member packages, in the order they were added.
    pub fn members(&self) -> &[String] {
        &self.members
    }

    /// Writes a crate's files into `<workspace>/<name>/` and makes it a member.
    pub fn add_crate(&mut self, name: &str, files: &[GeneratedFile]) {
        for file in files {
            let path = self.path().join(name).join(&file.path);
            let parent = path.parent().expect("generated paths have a parent");
            std::fs::create_dir_all(parent).expect("crate dir can be created");
            std::fs::write(&path, &file.contents).expect("generated file can be written");
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
        std::fs::write(self.path().join("Cargo.toml"), manifest).expect("manifest can be written");
        Cargo::new(self.path())
    }
}
