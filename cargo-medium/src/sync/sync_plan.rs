//! [`SyncPlan`]: what `cargo medium sync` would change, worked out in memory.

use std::path::{Path, PathBuf};

use super::dir_sync::generated_by_this_version;
use super::{DirSync, FileChange, SyncError};
use crate::check::{self, CheckedSpec};
use crate::codegen::{self, CrateNames, GeneratedFile};
use crate::diff::SpecDiff;
use crate::manifest::{ManifestUpdate, ProtocolEntry, Requirements, RuntimeSource, Workspace};
use crate::spec_file::SpecFile;
use crate::writer::{WriteError, Writer};

/// One protocol crate (and its Python package, if recorded) and what sync would change in it.
#[derive(Debug, Clone)]
pub struct CrateSync {
    pub entry: ProtocolEntry,
    /// Changed or missing files in generation order, then obsolete ones; empty when the crate
    /// is fresh.
    pub changes: Vec<FileChange>,
    /// The same for the recorded Python package; empty when it is fresh or none is recorded.
    pub python_changes: Vec<FileChange>,
    /// How the protocol changed since the crate was last generated, when it did and the crate
    /// records the spec it was generated from.
    pub spec_diff: Option<SpecDiff>,
    /// Files sync rewrites that were edited by hand: they differ from what the recorded spec
    /// generates. Empty when the crate records no spec, since then nothing tells; files another
    /// version of cargo-medium generated (their header names it) are not judged.
    pub edited: Vec<PathBuf>,
}

/// A planned `cargo medium sync`.
#[derive(Debug, Clone)]
pub struct SyncPlan {
    pub crates: Vec<CrateSync>,
    /// Members, dependencies or records the workspace manifest lacks.
    pub manifest_update: Option<ManifestUpdate>,
}

impl CrateSync {
    /// Methods the spec gained since the crate was last generated: the daemon must now
    /// implement them.
    pub fn added_methods(&self) -> impl Iterator<Item = &str> {
        self.spec_diff.iter().flat_map(SpecDiff::added_methods)
    }

    /// The crate's changes, then the Python package's.
    pub fn all_changes(&self) -> impl Iterator<Item = &FileChange> {
        self.changes.iter().chain(&self.python_changes)
    }
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
            let protocol = codegen::rust::protocol_crate(spec, &names)?;
            let mut needs =
                Requirements::of_crates(&[(&protocol, entry.protocol_folder())], runtime);
            // The daemon and app are not regenerated, but they inherit the protocol crate.
            needs.require_member_dependency(&entry.protocol, entry.protocol_folder());
            requirements.push(needs);
            crates.push(compare(
                &workspace.root,
                entry,
                spec,
                &names,
                &protocol.files,
            )?);
        }
        let manifest_update =
            workspace.manifest_update(requirements.iter().zip(crates.iter().map(|c| &c.entry)))?;
        Ok(SyncPlan {
            crates,
            manifest_update,
        })
    }

    pub fn is_fresh(&self) -> bool {
        self.manifest_update.is_none() && self.crates.iter().all(|c| c.all_changes().count() == 0)
    }

    /// Every file sync would write or remove.
    pub fn stale_paths(&self) -> Vec<&Path> {
        let files = self
            .crates
            .iter()
            .flat_map(CrateSync::all_changes)
            .map(FileChange::path);
        files
            .chain(self.manifest_update.iter().map(|u| u.path.as_path()))
            .collect()
    }

    /// Writes each changed file atomically and removes obsolete ones, the manifest last.
    pub fn write(&self, writer: &Writer) -> Result<(), WriteError> {
        for change in self.crates.iter().flat_map(CrateSync::all_changes) {
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

/// Compares freshly generated `files` with the protocol crate on disk, and the recorded Python
/// package with a freshly generated one.
fn compare(
    root: &Path,
    entry: ProtocolEntry,
    spec: &CheckedSpec,
    names: &CrateNames,
    files: &[GeneratedFile],
) -> Result<CrateSync, SyncError> {
    let protocol_dir = entry.protocol_dir(root);
    let rust = DirSync::plan(&protocol_dir, files)?;
    // The crate records the spec it was generated from (as a spec file, so it reads back with
    // the spec's own parser). A crate from an older cargo-medium has none: no report then.
    let recorded = protocol_dir.join(codegen::rust::RECORDED_SPEC);
    let old_spec = rust
        .old_files
        .iter()
        .find(|(path, _)| *path == recorded)
        .and_then(|(_, old)| check::check_source(&entry.spec, old).ok());
    let spec_diff = old_spec
        .as_ref()
        .map(|old| SpecDiff::between(old, spec))
        .filter(|diff| !diff.is_empty());
    let python = match entry.python_dir(root) {
        Some(dir) => Some((DirSync::plan(&dir, &codegen::python::package(spec))?, dir)),
        None => None,
    };
    // What sync would write over is a hand edit when it is not what the recorded spec
    // generates: a file left as generated equals that, whatever the spec became since.
    let mut edited = Vec::new();
    if let Some(old_spec) = &old_spec {
        let old_crate = codegen::rust::protocol_crate(old_spec, names)?;
        edited.extend(edited_files(&rust, &protocol_dir, &old_crate.files));
        if let Some((python, dir)) = &python {
            edited.extend(edited_files(
                python,
                dir,
                &codegen::python::package(old_spec),
            ));
        }
    }
    Ok(CrateSync {
        entry,
        changes: rust.changes,
        python_changes: python.map(|(python, _)| python.changes).unwrap_or_default(),
        spec_diff,
        edited,
    })
}

/// The files `dir_sync` rewrites whose contents on disk are not `old_generated`, what the
/// spec they were generated from generates into `dir`. Only files this version of cargo-medium
/// generated are judged: another version's output differs without any hand edit.
fn edited_files(dir_sync: &DirSync, dir: &Path, old_generated: &[GeneratedFile]) -> Vec<PathBuf> {
    dir_sync
        .changes
        .iter()
        .filter_map(|change| match change {
            FileChange::Update { path, .. } => Some(path),
            FileChange::Create { .. } | FileChange::Remove { .. } => None,
        })
        .filter(|path| {
            let on_disk = dir_sync.old_files.iter().find(|(p, _)| p == *path);
            let generated = old_generated.iter().find(|f| dir.join(&f.path) == **path);
            matches!((on_disk, generated), (Some((_, old)), Some(f))
                if *old != f.contents && generated_by_this_version(old))
        })
        .cloned()
        .collect()
}
