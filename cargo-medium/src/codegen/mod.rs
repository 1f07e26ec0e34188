//! Code generation: checked spec → files in memory. Never touches the disk: the scaffold and
//! sync stages decide where (and whether) the returned files are written.

mod crate_names;
mod generated_file;
pub mod python;
pub mod rust;

pub use crate_names::CrateNames;
pub use generated_file::GeneratedFile;
