//! Code generation tests: every valid spec in `tests/specs/valid/` generates a protocol crate
//! and user-owned crates that are snapshotted, and a protocol crate that no rustfmt
//! configuration changes; so do random valid specs (`shared/spec_strategy.rs`). (That they
//! compile and pass clippy is checked by the root package's e2e suite.)

mod python_snapshots;
mod rustfmt_proof;
mod snapshots;
#[path = "../shared/spec_strategy.rs"]
mod spec_strategy;
mod support;
mod user_crates;
