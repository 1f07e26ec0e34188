//! [`FileChange`]: one file of a protocol crate or Python package that sync must create,
//! rewrite or remove.

use std::path::{Path, PathBuf};

use crate::writer::{WriteError, Writer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// A generated file that does not exist yet.
    Create { path: PathBuf, contents: String },
    /// A generated file whose contents changed.
    Update { path: PathBuf, contents: String },
    /// A file generated earlier that the generator no longer produces.
    Remove { path: PathBuf },
}

impl FileChange {
    pub fn path(&self) -> &Path {
        match self {
            FileChange::Create { path, .. }
            | FileChange::Update { path, .. }
            | FileChange::Remove { path } => path,
        }
    }

    /// The status verb for this change: `Creating`, `Writing` or `Removing`.
    pub fn verb(&self) -> &'static str {
        match self {
            FileChange::Create { .. } => "Creating",
            FileChange::Update { .. } => "Writing",
            FileChange::Remove { .. } => "Removing",
        }
    }

    pub(super) fn apply(&self, writer: &Writer) -> Result<(), WriteError> {
        match self {
            FileChange::Create { path, contents } | FileChange::Update { path, contents } => {
                writer.write_file(path, contents)
            }
            FileChange::Remove { path } => writer.remove_file(path),
        }
    }
}
