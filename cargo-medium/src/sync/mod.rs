//! `cargo medium sync`: regenerates every protocol crate recorded in the workspace manifest from
//! its spec, and the Python package where one is recorded, and works out which files changed,
//! then writes only those.
//!
//! Every spec is checked before anything is generated, and everything is planned before
//! anything is written: a spec error or a conflict leaves the disk untouched. Only files of
//! protocol crates and Python packages are ever written, plus additions to the workspace
//! manifest; daemon and app
//! crates are the user's and are never opened for writing. A file that would be rewritten but
//! does not carry the `@generated` header is the user's too: sync refuses instead of overwriting
//! it. Files in a protocol crate or Python package that carry the header but are no longer
//! generated are removed; files without it are left alone, and so are build and cache
//! directories (`target/`, `__pycache__/`, `build/`, `*.egg-info/`, hidden ones).

mod dir_sync;
mod file_change;
mod sync_error;
mod sync_plan;

pub use dir_sync::DirSync;
pub use file_change::FileChange;
pub use sync_error::SyncError;
pub use sync_plan::{CrateSync, SyncPlan};
