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

/// Who generated a file, as its `@generated` header names it: the tool and its version, so
/// `sync` tells a hand edit (the file differs from what this version generates from the
/// recorded spec) from the output of another version.
pub const GENERATOR: &str = concat!("cargo-medium ", env!("CARGO_PKG_VERSION"));
pub use package_key::PackageKey;
