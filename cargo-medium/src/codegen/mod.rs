//! Code generation: checked spec → crates and files in memory. Never touches the disk: the
//! scaffold and sync stages decide where (and whether) the returned files are written.

mod crate_manifest;
mod crate_names;
mod dependency;
mod generated_crate;
mod generated_file;
mod package_key;
pub mod python;
pub mod rust;

pub use crate_manifest::CrateManifest;
pub use crate_names::CrateNames;
pub use dependency::Dependency;
pub use generated_crate::GeneratedCrate;
pub use generated_file::GeneratedFile;
pub use package_key::PackageKey;
