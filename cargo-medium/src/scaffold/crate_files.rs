//! [`CrateFiles`]: the files of one crate, still in memory, and who owns them.

use crate::codegen::GeneratedFile;

/// Who may rewrite a crate's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Rewritten by `cargo medium sync` whenever the spec changes.
    Generated,
    /// Written once by `cargo medium new`, then the user's.
    User,
}

/// One crate about to be written: its name and its directory.
#[derive(Debug, Clone)]
pub struct CrateFiles {
    pub name: String,
    /// Relative to the workspace root, `/`-separated.
    pub dir: String,
    pub ownership: Ownership,
    pub files: Vec<GeneratedFile>,
}
