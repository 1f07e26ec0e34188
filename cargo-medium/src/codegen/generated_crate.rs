//! [`GeneratedCrate`]: one crate the generator made, still in memory.

use super::{CrateManifest, GeneratedFile};

/// A generated crate: its files, and the data its `Cargo.toml` was rendered from, which says
/// what the crate inherits from the workspace (so the workspace manifest can be completed
/// without reading the rendered text back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedCrate {
    /// The package name (also its directory under the workspace root, unless the workspace's
    /// `members` globs place it in a folder).
    pub name: String,
    pub manifest: CrateManifest,
    /// Every file, `Cargo.toml` included.
    pub files: Vec<GeneratedFile>,
}
