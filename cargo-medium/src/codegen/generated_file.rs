//! [`GeneratedFile`]: one file of a generated crate, still in memory.

use std::path::PathBuf;

/// A file the code generator produced, to be written by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the crate's directory, e.g. `src/lib.rs`.
    pub path: PathBuf,
    pub contents: String,
}

impl GeneratedFile {
    pub(crate) fn new(path: impl Into<PathBuf>, contents: String) -> GeneratedFile {
        GeneratedFile {
            path: path.into(),
            contents,
        }
    }
}
