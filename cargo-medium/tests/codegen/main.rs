//! Code generation tests: every valid spec in `tests/specs/valid/` generates a protocol crate
//! and user-owned crates, snapshotted. (That they compile and pass clippy, for these specs and
//! random ones, is checked by the root package's e2e suite.)

mod python_snapshots;
mod snapshots;
mod support;
