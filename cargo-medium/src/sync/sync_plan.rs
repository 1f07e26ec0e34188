//! [`SyncPlan`]: what `cargo medium sync` would change, worked out in memory.

use std::path::{Path, PathBuf};

use super::server_methods::server_methods;
use super::{FileChange, SyncError};
use crate::check::CheckedSpec;
use crate::codegen::{self, CrateNames, GeneratedFile};
use crate::manifest::{ManifestUpdate, ProtocolEntry, Requirements, RuntimeSource, Workspace};
use crate::spec_file::SpecFile;
use crate::writer::{WriteError, Writer};

/// The marker every generated file carries near its top; files without it are the user's.
const GENERATED_MARKER: &str = "@generated";
/// How many lines from the top the marker may appear on (after a shebang, an attribute…).
const MARKER_LINES: usize = 5;

/// One protocol crate and what sync would change in it.
#[derive(Debug, Clone)]
pub struct CrateSync {
    pub entry: ProtocolEntry,
    /// Changed or missing files in generation order, then obsolete ones; empty when the crate
    /// is fresh.
    pub changes: Vec<FileChange>,
    /// Server methods the spec gained since the crate was last generated: the daemon must now
    /// implement them.
    pub added_methods: Vec<String>,
}

/// A planned `cargo medium sync`.
#[derive(Debug, Clone)]
pub struct SyncPlan {
    pub crates: Vec<CrateSync>,
    /// Members, dependencies or records the workspace manifest lacks.
    pub manifest_update: Option<ManifestUpdate>,
}

impl SyncPlan {
    /// Checks every recorded spec, then regenerates each protocol crate in memory and compares
    /// it with the disk. Reads only.
    pub fn plan(workspace: &Workspace, runtime: &RuntimeSource) -> Result<SyncPlan, SyncError> {
        let entries = workspace.protocols()?;
        if entries.is_empty() {
            return Err(SyncError::NoProtocols(workspace.manifest_path.clone()));
        }

        let mut specs = Vec::new();
        let mut invalid = Vec::new();
        for entry in &entries {
            let spec_file = SpecFile::read(&entry.spec_path(&workspace.root))?;
            match spec_file.check() {
                // Generated headers name the spec as recorded, whatever directory sync runs in.
                Ok(spec) => specs.push(CheckedSpec {
                    source_name: entry.spec.clone(),
                    ..spec
                }),
                Err(diagnostics) => invalid.push(diagnostics),
            }
        }
        if !invalid.is_empty() {
            return Err(SyncError::InvalidSpecs(invalid));
        }

        let mut crates = Vec::new();
        let mut requirements = Vec::new();
        for (entry, spec) in entries.into_iter().zip(&specs) {
            let names = crate_names(&entry, spec);
            let files = codegen::rust::protocol_crate(spec, &names);
            let manifest = files
                .iter()
                .find(|file| file.path == Path::new("Cargo.toml"))
                .map_or("", |file| file.contents.as_str());
            requirements.push(Requirements::of_crates(
                &[(&entry.protocol, manifest)],
                runtime,
            )?);
            crates.push(compare(&workspace.root, entry, &spec.class, &files)?);
        }
        let manifest_update =
            workspace.manifest_update(requirements.iter().zip(crates.iter().map(|c| &c.entry)))?;
        Ok(SyncPlan {
            crates,
            manifest_update,
        })
    }

    pub fn is_fresh(&self) -> bool {
        self.manifest_update.is_none() && self.crates.iter().all(|c| c.changes.is_empty())
    }

    /// Every file sync would write or remove.
    pub fn stale_paths(&self) -> Vec<&Path> {
        let files = self
            .crates
            .iter()
            .flat_map(|c| &c.changes)
            .map(FileChange::path);
        files
            .chain(self.manifest_update.iter().map(|u| u.path.as_path()))
            .collect()
    }

    /// Writes each changed file atomically and removes obsolete ones, the manifest last.
    pub fn write(&self, writer: &Writer) -> Result<(), WriteError> {
        for change in self.crates.iter().flat_map(|c| &c.changes) {
            change.apply(writer)?;
        }
        if let Some(update) = &self.manifest_update {
            writer.write_file(&update.path, &update.contents)?;
        }
        Ok(())
    }
}

/// The recorded names; ones not recorded (no app) fall back to those derived from the class.
fn crate_names(entry: &ProtocolEntry, spec: &CheckedSpec) -> CrateNames {
    let derived = CrateNames::from_class(&spec.class);
    CrateNames {
        protocol: entry.protocol.clone(),
        daemon: entry.daemon.clone().unwrap_or(derived.daemon),
        app: entry.app.clone().unwrap_or(derived.app),
    }
}

/// Compares freshly generated `files` with the protocol crate on disk.
fn compare(
    root: &Path,
    entry: ProtocolEntry,
    class: &str,
    files: &[GeneratedFile],
) -> Result<CrateSync, SyncError> {
    let dir = entry.protocol_dir(root);
    let mut changes = Vec::new();
    // The Rust sources as they are on disk, changed or not: the trait may live in a file that
    // did not change.
    let mut old_sources = Vec::new();
    for file in files {
        let path = dir.join(&file.path);
        let old = match std::fs::read_to_string(&path) {
            Ok(old) => Some(old),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(SyncError::Io { path, source }),
        };
        let unchanged = old.as_ref() == Some(&file.contents);
        if let Some(old) = &old {
            if !unchanged && !is_generated(old) {
                return Err(SyncError::UserFile(path));
            }
        }
        if !unchanged {
            let contents = file.contents.clone();
            changes.push(match &old {
                Some(_) => FileChange::Update { path, contents },
                None => FileChange::Create { path, contents },
            });
        }
        if let Some(old) = old.filter(|_| is_rust(&file.path)) {
            old_sources.push(old);
        }
    }
    for (path, old) in obsolete_files(&dir, files)? {
        if is_rust(&path) {
            old_sources.push(old);
        }
        changes.push(FileChange::Remove { path });
    }
    let new_sources = files
        .iter()
        .filter(|file| is_rust(&file.path))
        .map(|file| file.contents.as_str());
    let old_sources = old_sources.iter().map(String::as_str);
    let added_methods = match (
        server_methods(old_sources, class),
        server_methods(new_sources, class),
    ) {
        (Some(old), Some(new)) => new.difference(&old).cloned().collect(),
        _ => Vec::new(),
    };
    Ok(CrateSync {
        entry,
        changes,
        added_methods,
    })
}

/// Files under the crate directory that carry the generated marker but are no longer generated
/// (a newer cargo-medium laid the crate out differently), with their contents, sorted. Build
/// output and hidden directories are not looked into.
fn obsolete_files(
    dir: &Path,
    files: &[GeneratedFile],
) -> Result<Vec<(PathBuf, String)>, SyncError> {
    let mut obsolete = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(SyncError::Io {
                    path: current,
                    source,
                });
            }
        };
        for entry in entries {
            let entry = entry.map_err(|source| SyncError::Io {
                path: current.clone(),
                source,
            })?;
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && !name.to_string_lossy().starts_with('.') {
                    pending.push(path);
                }
                continue;
            }
            let relative = path.strip_prefix(dir).unwrap_or(&path);
            if files.iter().any(|file| file.path == relative) {
                continue;
            }
            // Unreadable or binary files are not ours to judge, so they stay.
            if let Ok(contents) = std::fs::read_to_string(&path) {
                if is_generated(&contents) {
                    obsolete.push((path, contents));
                }
            }
        }
    }
    obsolete.sort();
    Ok(obsolete)
}

fn is_generated(contents: &str) -> bool {
    contents
        .lines()
        .take(MARKER_LINES)
        .any(|line| line.contains(GENERATED_MARKER))
}

fn is_rust(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "rs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_marker_is_looked_for_near_the_top_only() {
        assert!(is_generated(
            "// @generated by cargo-medium from a.lmspc\nfn x() {}"
        ));
        assert!(is_generated("#![allow(x)]\n\n# @generated\n"));
        assert!(!is_generated("fn x() {}\n\n\n\n\n// @generated\n"));
    }
}
