//! [`CargoView`]: a workspace as cargo itself loads it, from `cargo metadata --no-deps
//! --offline` (through the `cargo_metadata` crate): its root, found by cargo's own rules
//! (`package.workspace`, `exclude`), and its member packages.
//!
//! `--no-deps` resolves nothing and `--offline` forbids the network, so this reads manifests
//! only and never writes a `Cargo.lock`. It fails whenever cargo cannot load the workspace —
//! a member directory is missing, a `members` glob matches nothing yet, a member manifest is
//! invalid, cargo is not installed — and [`super::Workspace`] then falls back to reading the
//! manifests itself.

use std::path::{Path, PathBuf};

use cargo_metadata::MetadataCommand;

/// A package cargo counts as a member of the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPackage {
    pub name: String,
    pub manifest_path: PathBuf,
}

/// Why `cargo metadata` could not load a workspace: cargo's own message (its first line
/// without the `error: ` prefix, then its `Caused by:` lines), or why cargo did not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CargoMetadataError(String);

/// What `cargo metadata` says about the workspace of one manifest.
#[derive(Debug, Clone)]
pub(super) struct CargoView {
    /// The workspace root; the package's own directory when it belongs to no workspace.
    pub root: PathBuf,
    pub members: Vec<MemberPackage>,
}

impl CargoView {
    /// Runs `cargo metadata` on `manifest_path` (a workspace's or a package's), from its
    /// directory so that cargo reads the configuration a build there would.
    pub fn load(manifest_path: &Path) -> Result<CargoView, CargoMetadataError> {
        let manifest_path =
            std::path::absolute(manifest_path).unwrap_or_else(|_| manifest_path.to_owned());
        let mut command = MetadataCommand::new();
        command
            .manifest_path(&manifest_path)
            .no_deps()
            .other_options(vec!["--offline".to_owned()])
            // Cargo's message ends up in ours: no colour codes in it.
            .env("CARGO_TERM_COLOR", "never");
        if let Some(dir) = manifest_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            command.current_dir(dir);
        }
        let metadata = command.exec().map_err(|err| match err {
            cargo_metadata::Error::CargoMetadata { stderr } => {
                let message = stderr.trim();
                CargoMetadataError(
                    message
                        .strip_prefix("error: ")
                        .unwrap_or(message)
                        .to_owned(),
                )
            }
            other => CargoMetadataError(other.to_string()),
        })?;
        let members = metadata
            .workspace_packages()
            .into_iter()
            .map(|package| MemberPackage {
                name: package.name.clone(),
                manifest_path: package.manifest_path.clone().into(),
            })
            .collect();
        Ok(CargoView {
            root: metadata.workspace_root.into(),
            members,
        })
    }
}
