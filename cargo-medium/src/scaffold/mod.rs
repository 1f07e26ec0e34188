//! `cargo medium new`: turns a checked spec into a plan — a new workspace, or new crates in an
//! existing one, placed where its `members` globs say
//! ([`crate::manifest::Membership::crate_folder`]) — and writes it through a
//! [`crate::writer::Writer`].
//!
//! Planning reads the destination but writes nothing, so a plan that fails (a non-empty
//! directory, a spec already recorded) leaves the disk untouched. The protocol crate is
//! generated; the daemon and app crates are the user's from the moment they are written, and
//! only `new` ever writes them — with `--systemd`, a socket-activated unit pair in the daemon
//! crate's `systemd/` folder too, which is why `sync` never touches them either. With
//! `--python`, the generated Python package goes in a directory of its own under the root and
//! is recorded next to the protocol crate, so `sync` keeps it fresh too. The daemon's and app's
//! sources are formatted with the user's rustfmt while planning (see [`UserRustfmt`]).

mod crate_files;
mod python_package;
mod scaffold_error;
mod scaffold_plan;
mod systemd_units;
mod user_rustfmt;
mod workspace_files;

pub use crate_files::{CrateFiles, Ownership};
pub use python_package::PythonPackage;
pub use scaffold_error::ScaffoldError;
pub use scaffold_plan::{Destination, NewOptions, Scaffold};
pub use systemd_units::UNIT_DIR;
pub use user_rustfmt::{RustfmtError, UserRustfmt};
