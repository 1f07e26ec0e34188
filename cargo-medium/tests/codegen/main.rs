//! Code generation tests: every valid spec in `tests/specs/valid/` generates a protocol crate
//! and user-owned crates that are snapshotted and formatted the way rustfmt wants them, and
//! so do random valid specs (`shared/spec_strategy.rs`). (That they compile and pass clippy
//! is checked by the root package's e2e suite.)

mod formatting;
mod python_snapshots;
mod snapshots;
#[path = "../shared/spec_strategy.rs"]
mod spec_strategy;
mod support;
