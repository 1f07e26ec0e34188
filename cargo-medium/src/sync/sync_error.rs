//! [`SyncError`]: why `cargo medium sync` wrote nothing.

use std::path::PathBuf;

use crate::diagnostic::Diagnostics;
use crate::manifest::{RequirementsError, WorkspaceError};
use crate::spec_file::SpecFileError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(
        "`{}` records no protocols (no `[[workspace.metadata.medium.protocols]]`); \
         add one with `cargo medium new SPEC`",
        .0.display()
    )]
    NoProtocols(PathBuf),
    #[error(transparent)]
    SpecFile(#[from] SpecFileError),
    /// The specs that failed to check, each with every error found in it.
    #[error("{} spec(s) have errors", .0.len())]
    InvalidSpecs(Vec<Diagnostics>),
    #[error(
        "`{}` would be overwritten, but it was not generated (it has no `@generated` header); \
         sync never overwrites your files: move it out of the way and run `cargo medium sync` again",
        .0.display()
    )]
    UserFile(PathBuf),
    #[error("could not read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Requirements(#[from] RequirementsError),
}
