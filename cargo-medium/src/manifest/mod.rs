//! The workspace root manifest (`Cargo.toml`): finding it, reading its membership and the
//! protocols recorded in `[workspace.metadata.medium]`, and adding members, dependencies and
//! records to it.
//!
//! Edits go through `toml_edit` and only ever *add*: the user's comments, key order and formatting
//! survive byte for byte, and a table we did not create is never reformatted. Apart from reading
//! manifests and running `cargo metadata` while locating the workspace, this module does no I/O;
//! writing is the caller's job.

mod cargo_view;
mod dependency;
mod membership;
mod protocol_entry;
mod requirements;
mod workspace;
mod workspace_manifest;

pub use cargo_view::{CargoMetadataError, MemberPackage};
pub use dependency::{DependencySource, RuntimeSource, RuntimeSourceError};
pub use membership::{Membership, PlacementError, crate_dir};
pub use protocol_entry::ProtocolEntry;
pub use requirements::Requirements;
pub use workspace::{ManifestUpdate, Workspace, WorkspaceError};
pub use workspace_manifest::{ManifestChange, ManifestError, WorkspaceManifest};
