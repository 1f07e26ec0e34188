//! [`ScaffoldError`]: why `cargo medium new` refused to plan or write.

use std::path::PathBuf;

use crate::manifest::{ManifestError, PlacementError, WorkspaceError};
use crate::templates::TemplateError;

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "`{0}` is not a valid crate name: use ASCII letters, digits and `-`, starting with a letter"
    )]
    InvalidName(String),
    #[error("destination `{}` already exists and is not an empty directory", .0.display())]
    NotEmpty(PathBuf),
    #[error("`{}` already exists in the workspace; pick another base name with `--name`", .0.display())]
    CrateDirTaken(PathBuf),
    #[error(
        "the workspace already has a package named `{name}` (`{}`); pick another base name with \
         `--name`",
        manifest.display()
    )]
    PackageNameTaken { name: String, manifest: PathBuf },
    #[error(transparent)]
    Placement(#[from] PlacementError),
    #[error("the new crates and Python package cannot go where the workspace puts them: {0}")]
    Overlap(String),
    #[error(
        "`{}` already exists in the workspace and is where the Python package would go; move it \
         out of the way, or leave out `--python`",
        .0.display()
    )]
    PythonDirTaken(PathBuf),
    #[error(
        "`{spec}` is already recorded in `{}`; run `cargo medium sync` to regenerate its crate",
        manifest.display()
    )]
    AlreadyRecorded { spec: String, manifest: PathBuf },
    #[error("`{}` already exists and is a different spec", .0.display())]
    SpecNameTaken(PathBuf),
    #[error(
        "the spec's file name `{0}` is also the name of a file or crate of the new workspace; \
         rename the spec"
    )]
    SpecNameClash(String),
    #[error("could not read `{}`", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error("the workspace manifest template is invalid")]
    ManifestTemplate(#[from] ManifestError),
    #[error(transparent)]
    Template(#[from] TemplateError),
}
